#include "faultloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum side { SIDE_SENDER, SIDE_RECEIVER };

/* One run's view: the input, the metric being located, its threshold. */
struct run {
	struct faultloc *f;
	const struct faultloc_input *in;
	enum metric k;
	uint32_t rising, share;
	bool oom;
};

void faultloc_init(struct faultloc *f)
{
	memset(f, 0, sizeof(*f));
}

void faultloc_free(struct faultloc *f)
{
	free(f->v);
	free(f->prev);
	free(f->moved);
	free(f->explained);
	free(f->scratch);
	memset(f, 0, sizeof(*f));
}

void faultloc_reset(struct faultloc *f)
{
	f->n = f->n_prev = 0;
	f->unreliable = f->restored = false;
}

static bool reserve(struct fault **v, size_t *cap, size_t want)
{
	struct fault *nv;

	if (want <= *cap)
		return true;
	nv = realloc(*v, want * sizeof(*nv));
	if (!nv)
		return false;
	*v = nv;
	*cap = want;
	return true;
}

static bool scratch_reserve(struct faultloc *f, size_t n)
{
	uint8_t *a, *b;
	int64_t *s;

	if (n <= f->scratch_n)
		return true;
	a = realloc(f->moved, n * n);
	if (a)
		f->moved = a;
	b = realloc(f->explained, n * n);
	if (b)
		f->explained = b;
	s = realloc(f->scratch, 2 * n * sizeof(*s));
	if (s)
		f->scratch = s;
	if (!a || !b || !s)
		return false;
	f->scratch_n = n;
	return true;
}

/* ---- small helpers ---- */

static size_t cell(const struct run *r, enum side s, size_t pe, size_t other)
{
	return s == SIDE_SENDER ? pe * r->in->n + other : other * r->in->n + pe;
}

static bool judged(const struct run *r, size_t x)
{
	return r->in->pairs[x].have[r->k];
}

static uint32_t ppm_ratio(uint64_t part, uint64_t whole)
{
	return whole ? (uint32_t)(part * 1000000u / whole) : 0;
}

static int64_t median(int64_t *v, size_t n)
{
	/* insertion sort: n is a VPN's PEs, and this runs once a window */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j && v[j - 1] > v[j]; j--) {
			int64_t t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static struct fault *add(struct run *r, uint8_t kind, size_t pe, size_t peer)
{
	struct faultloc *f = r->f;
	struct fault *x;

	if (!reserve(&f->v, &f->cap, f->n + 1)) {
		r->oom = true;
		return NULL;
	}
	x = &f->v[f->n++];
	memset(x, 0, sizeof(*x));
	x->kind = kind;
	x->metric = (uint8_t)r->k;
	x->pe = pe;
	x->peer = peer;
	if (pe != FAULT_NO_PE)
		x->pe_addr = r->in->pes[pe];
	if (peer != FAULT_NO_PE)
		x->peer_addr = r->in->pes[peer];
	return x;
}

/* ---- the monitor's link ---- */

/* Wilson score interval (95 %) of a loss of `lost` in `n`, in ppm. */
static void wilson(uint64_t lost, uint64_t n, uint32_t *low, uint32_t *high)
{
	const double z = 1.96;
	double p = (double)lost / (double)n, d = 1 + z * z / (double)n;
	double c = (p + z * z / (2.0 * (double)n)) / d;
	double h = z * sqrt(p * (1 - p) / (double)n + z * z / (4.0 * (double)n * (double)n)) / d;

	*low = c - h > 0 ? (uint32_t)llround((c - h) * 1e6) : 0;
	*high = c + h < 1 ? (uint32_t)llround((c + h) * 1e6) : 1000000;
}

/* Every estimated side of one kind implicated, at least two of them. */
static bool side_all_implicated(const struct run *r, const struct tomo_estimate *e,
				uint8_t role)
{
	size_t seen = 0;

	for (size_t p = 0; p < r->in->n; p++) {
		if (!(r->in->roles[p] & role))
			continue;
		if (e[p].status == TOMO_OK || e[p].status == TOMO_ALL_LOST) {
			if (e[p].low_ppm <= r->share)
				return false;
			seen++;
		}
	}
	return seen >= 2;
}

/* The tunnels' echoes lose together: pooled above the share, none clearly clean. */
static bool echoes_together(const struct run *r, uint64_t *sent, uint64_t *lost)
{
	const struct faultloc_echo *e = r->in->echo;
	uint32_t low, high;
	size_t tunnels = 0;

	*sent = *lost = 0;
	for (size_t p = 0; p < r->in->n; p++) {
		if (!e[p].sent)
			continue;
		wilson(e[p].sent - e[p].received, e[p].sent, &low, &high);
		if (high < r->share)
			return false;
		*sent += e[p].sent;
		*lost += e[p].sent - e[p].received;
		tunnels++;
	}
	if (tunnels < 2)
		return false;
	wilson(*lost, *sent, &low, &high);
	return low > r->share;
}

static bool monitor_link(struct run *r)
{
	const struct tomo_result *t = r->in->tomo;
	uint64_t sent, lost;
	struct fault *x;

	if (!t || !r->in->echo)
		return false;
	if (!side_all_implicated(r, t->sender, TOMO_SENDER) &&
	    !side_all_implicated(r, t->receiver, TOMO_RECEIVER))
		return false;
	if (!echoes_together(r, &sent, &lost))
		return false;
	x = add(r, FAULT_MONITOR_LINK, FAULT_NO_PE, FAULT_NO_PE);
	if (!x)
		return true;
	x->loss_ppm = x->echo_loss_ppm = ppm_ratio(lost, sent);
	wilson(lost, sent, &x->low_ppm, &x->high_ppm);
	for (size_t c = 0; c < r->in->n * r->in->n; c++)
		x->pairs += r->f->moved[c];
	r->f->unreliable = true;
	return true;
}

/* ---- shifts (delay, jitter) ---- */

/* Median of the judged, unmoved pairs at end `pe` on side s (other than
 * `skip` at the far end), into *out; false if there is none. */
static bool reference(const struct run *r, enum side s, size_t pe, size_t skip, int64_t *out)
{
	int64_t *v = r->f->scratch;
	size_t m = 0;

	for (size_t other = 0; other < r->in->n; other++) {
		size_t c = cell(r, s, pe, other);
		if (other == skip || other == pe || !judged(r, c) || r->f->moved[c])
			continue;
		v[m++] = r->in->pairs[c].value[r->k];
	}
	if (!m)
		return false;
	*out = median(v, m);
	return true;
}

/* A moved pair's value over its reference: the unmoved pairs into the same
 * receiver (SIDE_RECEIVER first) or from the same sender. */
static bool excess(const struct run *r, size_t i, size_t j, bool receiver_first, bool sender_too,
		   int64_t *out)
{
	int64_t ref;
	bool ok = receiver_first ? reference(r, SIDE_RECEIVER, j, i, &ref) : false;

	if (!ok && sender_too)
		ok = reference(r, SIDE_SENDER, i, j, &ref);
	if (ok)
		*out = (int64_t)r->in->pairs[i * r->in->n + j].value[r->k] - ref;
	return ok;
}

/* The moved cells a fault speaks for: its side's, or its path's. */
static bool fault_cell(const struct run *r, const struct fault *x, size_t c)
{
	size_t n = r->in->n;

	if (!r->f->moved[c])
		return false;
	switch (x->kind) {
	case FAULT_SENDER_SIDE:
		return c / n == x->pe;
	case FAULT_RECEIVER_SIDE:
		return c % n == x->pe;
	case FAULT_PATH:
		return c == x->pe * n + x->peer;
	default:
		return false;
	}
}

/* The common shift of a fault's moved pairs over their references. */
static void set_shift(const struct run *r, struct fault *x)
{
	size_t n = r->in->n, m = 0;
	int64_t *ex = r->f->scratch + n, e;
	bool sender_side = x->kind == FAULT_SENDER_SIDE, path = x->kind == FAULT_PATH;

	for (size_t c = 0; c < n * n && m < n; c++)
		if (fault_cell(r, x, c) && excess(r, c / n, c % n, sender_side || path, !sender_side, &e))
			ex[m++] = e;
	if (!m) {
		x->flags |= FAULT_NO_REFERENCE;
		for (size_t c = 0; c < n * n && m < n; c++)
			if (fault_cell(r, x, c))
				ex[m++] = (int64_t)r->in->pairs[c].value[r->k] - r->rising;
	}
	x->shift_us = m ? median(ex, m) : 0;
}

/* ---- PE-level explanations, then paths ---- */

static const struct tomo_estimate *side_estimate(const struct run *r, enum side s, size_t pe)
{
	const struct tomo_result *t = r->in->tomo;

	if (!t)
		return NULL;
	return s == SIDE_SENDER ? &t->sender[pe] : &t->receiver[pe];
}

/* Two pairs or more, nearly all moved (at most one in ten under), and for
 * loss the side's own estimate above the share. */
static bool side_qualifies(const struct run *r, enum side s, size_t pe)
{
	const struct tomo_estimate *e;
	size_t pairs = 0, moved = 0;

	if (!(r->in->roles[pe] & (s == SIDE_SENDER ? TOMO_SENDER : TOMO_RECEIVER)))
		return false;
	for (size_t other = 0; other < r->in->n; other++) {
		size_t c = cell(r, s, pe, other);
		if (other == pe || !judged(r, c))
			continue;
		pairs++;
		moved += r->f->moved[c];
	}
	if (pairs < 2 || moved < pairs - pairs / 10)
		return false;
	e = r->k == METRIC_LOSS ? side_estimate(r, s, pe) : NULL;
	if (!e)
		return true;
	return (e->status == TOMO_OK || e->status == TOMO_ALL_LOST) && e->low_ppm > r->share;
}

static size_t unexplained(const struct run *r, enum side s, size_t pe)
{
	size_t u = 0;

	for (size_t other = 0; other < r->in->n; other++) {
		size_t c = cell(r, s, pe, other);
		u += other != pe && r->f->moved[c] && !r->f->explained[c];
	}
	return u;
}

static void blame_side(struct run *r, enum side s, size_t pe, size_t count)
{
	struct fault *x = add(r, s == SIDE_SENDER ? FAULT_SENDER_SIDE : FAULT_RECEIVER_SIDE, pe,
			      FAULT_NO_PE);
	const struct tomo_estimate *e = side_estimate(r, s, pe);
	const struct faultloc_echo *echo = r->in->echo;

	for (size_t other = 0; other < r->in->n; other++)
		if (other != pe)
			r->f->explained[cell(r, s, pe, other)] = 1;
	if (!x)
		return;
	x->pairs = (uint32_t)count;
	if (echo && echo[pe].sent)
		x->echo_loss_ppm = ppm_ratio(echo[pe].sent - echo[pe].received, echo[pe].sent);
	if (r->k != METRIC_LOSS)
		set_shift(r, x);
	else if (e)
		x->loss_ppm = e->loss_ppm, x->low_ppm = e->low_ppm, x->high_ppm = e->high_ppm;
	else
		x->high_ppm = 1000000;
}

/* Greedy set cover: the side explaining the most unexplained moved pairs,
 * while one explains two or more. */
static void pe_level(struct run *r)
{
	for (;;) {
		size_t best = r->in->n, best_count = 1;
		enum side best_side = SIDE_SENDER;
		for (int s = SIDE_SENDER; s <= SIDE_RECEIVER; s++)
			for (size_t pe = 0; pe < r->in->n; pe++) {
				size_t u = unexplained(r, (enum side)s, pe);
				if (u > best_count && side_qualifies(r, (enum side)s, pe))
					best = pe, best_count = u, best_side = (enum side)s;
			}
		if (best == r->in->n)
			return;
		blame_side(r, best_side, best, best_count);
	}
}

static void blame_path(struct run *r, size_t i, size_t j)
{
	const struct tomo_estimate *e = r->in->tomo ? &r->in->tomo->path[i * r->in->n + j] : NULL;
	struct fault *x = add(r, FAULT_PATH, i, j);

	if (!x)
		return;
	x->pairs = 1;
	if (r->k != METRIC_LOSS) {
		set_shift(r, x);
		return;
	}
	if (e && e->status == TOMO_OK) {
		x->loss_ppm = e->loss_ppm, x->low_ppm = e->low_ppm, x->high_ppm = e->high_ppm;
		if (e->low_ppm <= r->share)
			x->flags |= FAULT_RESIDUAL;
		return;
	}
	x->loss_ppm = r->in->pairs[i * r->in->n + j].value[METRIC_LOSS];
	x->high_ppm = 1000000;
	x->flags |= FAULT_RESIDUAL;
}

static void locate(struct run *r)
{
	size_t n = r->in->n, moved = 0;

	for (size_t c = 0; c < n * n; c++) {
		r->f->moved[c] = c / n != c % n && judged(r, c) &&
				 r->in->pairs[c].value[r->k] >= r->rising;
		r->f->explained[c] = 0;
		moved += r->f->moved[c];
	}
	if (!moved || (r->k == METRIC_LOSS && monitor_link(r)))
		return;
	pe_level(r);
	for (size_t c = 0; c < n * n; c++)
		if (r->f->moved[c] && !r->f->explained[c])
			blame_path(r, c / n, c % n);
}

/* ---- a run ---- */

static int fault_cmp(const void *pa, const void *pb)
{
	const struct fault *a = pa, *b = pb;

	if (a->metric != b->metric)
		return a->metric < b->metric ? -1 : 1;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if (a->pe != b->pe)
		return a->pe < b->pe ? -1 : 1;
	return a->peer < b->peer ? -1 : a->peer > b->peer;
}

static bool same_fault(const struct fault *a, const struct fault *b)
{
	return a->kind == b->kind && a->metric == b->metric && inet_addr_eq(&a->pe_addr, &b->pe_addr) &&
	       inet_addr_eq(&a->peer_addr, &b->peer_addr);
}

static void carry_since(struct faultloc *f, mtime_t now)
{
	for (size_t i = 0; i < f->n; i++) {
		f->v[i].since = now;
		for (size_t k = 0; k < f->n_prev; k++)
			if (same_fault(&f->v[i], &f->prev[k])) {
				f->v[i].since = f->prev[k].since;
				f->v[i].id = f->prev[k].id;
				break;
			}
	}
}

static void swap_lists(struct faultloc *f)
{
	struct fault *v = f->v;
	size_t n = f->n, cap = f->cap;

	f->v = f->prev, f->n = f->n_prev, f->cap = f->cap_prev;
	f->prev = v, f->n_prev = n, f->cap_prev = cap;
}

bool faultloc_run(struct faultloc *f, const struct faultloc_input *in, mtime_t now)
{
	bool unreliable = f->unreliable, oom = false;

	if (!scratch_reserve(f, in->n ? in->n : 1))
		return false;
	swap_lists(f);
	f->n = 0;
	f->unreliable = false;
	for (int k = 0; k < METRICS; k++) {
		struct run r = {.f = f, .in = in, .k = (enum metric)k, .rising = in->th->t[k].rising};
		if (!r.rising)
			continue;
		r.share = r.rising / 3;
		locate(&r);
		oom |= r.oom;
	}
	if (oom) {
		swap_lists(f);
		f->unreliable = unreliable;
		return false;
	}
	if (f->n)
		qsort(f->v, f->n, sizeof(*f->v), fault_cmp);
	carry_since(f, now);
	return true;
}

bool faultloc_insert(struct faultloc *f, const struct fault *x)
{
	size_t at = 0;

	if (!reserve(&f->v, &f->cap, f->n + 1))
		return false;
	while (at < f->n && fault_cmp(&f->v[at], x) < 0)
		at++;
	memmove(&f->v[at + 1], &f->v[at], (f->n - at) * sizeof(*x));
	f->v[at] = *x;
	f->n++;
	f->unreliable |= x->kind == FAULT_MONITOR_LINK;
	return true;
}
