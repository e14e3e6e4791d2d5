#include "probing.h"
#include "seek.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "locate.h"
#include "log.h"
#include "model.h"

/* ---- outcome windows ---- */

static bool outcome_window_init(struct outcome_window *w, mtime_t span, size_t cap)
{
	memset(w, 0, sizeof(*w));
	w->span = span;
	w->cap = cap ? cap : 1;
	w->ring = calloc(w->cap, sizeof(*w->ring));
	return w->ring != NULL;
}

static void outcome_window_free(struct outcome_window *w)
{
	free(w->ring);
	w->ring = NULL;
}

static void outcome_window_expire(struct outcome_window *w, mtime_t now)
{
	while (w->len && w->ring[w->head].at + w->span <= now) {
		w->n_received -= w->ring[w->head].received;
		w->head = (w->head + 1) % w->cap;
		w->len--;
	}
}

static void outcome_window_add(struct outcome_window *w, mtime_t at, bool received)
{
	if (w->len == w->cap) { /* full: the oldest goes early */
		w->n_received -= w->ring[w->head].received;
		w->head = (w->head + 1) % w->cap;
		w->len--;
	}
	w->ring[(w->head + w->len) % w->cap] = (struct outcome){.at = at, .received = received};
	w->len++;
	w->n_received += received;
}

/* Parts per million of the window's decided outcomes that were lost. */
uint32_t outcome_loss_ppm(const struct outcome_window *w)
{
	if (!w->len)
		return 0;
	return (uint32_t)((uint64_t)(w->len - w->n_received) * 1000000u / w->len);
}

/* Headroom over rate x span so a burst does not push samples out early. */
static size_t window_capacity(uint32_t per_second, mtime_t span)
{
	uint64_t n = (uint64_t)per_second * (span / MTIME_SEC) * 5 / 4 + 64;
	return n > 1u << 22 ? 1u << 22 : (size_t)n;
}

/* ---- tunnels ---- */

/* The window scratch must hold the largest window of any pair or tunnel. */
static bool scratch_reserve(struct probing *p, size_t n)
{
	if (n <= p->scratch_len)
		return true;
	int64_t *s = realloc(p->scratch, n * sizeof(*s));
	if (!s)
		return false;
	p->scratch = s;
	p->scratch_len = n;
	return true;
}

/* Every delay window of pairs and tunnels is made here, so that the one
 * scratch their summaries share is sized from every window that uses it (a
 * tunnel's echo window, max(60 s, the pair window) at the echo rate, can be
 * larger than any pair's). */
static bool probing_window_init(struct probing *p, struct delay_window *w, mtime_t span,
				size_t cap)
{
	if (!scratch_reserve(p, cap))
		return false;
	return delay_window_init(w, span, cap) == 0;
}

bool probing_window_summary(const struct probing *p, const struct delay_window *w,
			    struct delay_summary *out)
{
	return delay_window_summary(w, p->scratch, p->scratch_len, out);
}

static bool tunnel_init(struct probing *p, struct tunnel *t, mtime_t window, mtime_t now)
{
	/* Echoes go out at most a few per second: 16/s of headroom. */
	size_t cap = window_capacity(16, window);

	t->status = TUNNEL_STARTING;
	t->created = now;
	delay_total_init(&t->rtt_total);
	if (!outcome_window_init(&t->outcomes, window, cap))
		return false;
	if (!probing_window_init(p, &t->rtt, window, cap)) {
		outcome_window_free(&t->outcomes);
		return false;
	}
	return true;
}

static void tunnel_free(struct tunnel *t)
{
	if (!t)
		return;
	outcome_window_free(&t->outcomes);
	delay_window_free(&t->rtt);
	free(t);
}

struct tunnel_key {
	const struct tunnel_table *t;
	const struct inet_addr *pe;
};

static bool tunnel_at_or_past(const void *ctx, size_t i)
{
	const struct tunnel_key *k = ctx;

	return inet_addr_cmp(&k->t->v[i]->pe, k->pe) >= 0;
}

static size_t tunnel_position(const struct tunnel_table *t, const struct inet_addr *pe)
{
	struct tunnel_key k = {t, pe};

	return seek_first(t->n, &k, tunnel_at_or_past);
}

struct tunnel *tunnel_find(const struct tunnel_table *t, const struct inet_addr *pe)
{
	size_t i = tunnel_position(t, pe);

	return i < t->n && inet_addr_eq(&t->v[i]->pe, pe) ? t->v[i] : NULL;
}

void probing_init(struct probing *p)
{
	memset(p, 0, sizeof(*p));
	p->timing.loss_timeout = 2 * MTIME_SEC;
	p->timing.unreachable_time = 10 * MTIME_SEC;
}

void probing_free(struct probing *p)
{
	for (size_t i = 0; i < p->tunnels.n; i++)
		tunnel_free(p->tunnels.v[i]);
	free(p->tunnels.v);
	free(p->scratch);
	memset(p, 0, sizeof(*p));
}

void probing_tunnels_begin(struct probing *p)
{
	for (size_t i = 0; i < p->tunnels.n; i++) {
		p->tunnels.v[i]->in_use = false;
		p->tunnels.v[i]->n_vpns = 0;
	}
}

struct tunnel *probing_tunnel_want(struct probing *p, const struct inet_addr *pe,
				   const struct inet_addr *local, const struct inet_addr *remote,
				   mtime_t window, mtime_t now)
{
	struct tunnel_table *tt = &p->tunnels;
	size_t i = tunnel_position(tt, pe);
	struct tunnel *t = i < tt->n && inet_addr_eq(&tt->v[i]->pe, pe) ? tt->v[i] : NULL;

	if (!t) {
		if (tt->n == tt->cap) {
			size_t cap = tt->cap ? tt->cap * 2 : 16;
			struct tunnel **v = realloc(tt->v, cap * sizeof(*v));
			if (!v)
				return NULL;
			tt->v = v;
			tt->cap = cap;
		}
		t = calloc(1, sizeof(*t));
		if (!t || !tunnel_init(p, t, window, now)) {
			free(t);
			return NULL;
		}
		t->pe = *pe;
		memmove(&tt->v[i + 1], &tt->v[i], (tt->n - i) * sizeof(*tt->v));
		tt->v[i] = t;
		tt->n++;
	}
	t->local = *local;
	t->remote = *remote;
	t->in_use = true;
	t->n_vpns++;
	return t;
}

void probing_tunnels_end(struct probing *p)
{
	struct tunnel_table *tt = &p->tunnels;
	size_t kept = 0;

	for (size_t i = 0; i < tt->n; i++) {
		if (tt->v[i]->in_use)
			tt->v[kept++] = tt->v[i];
		else
			tunnel_free(tt->v[i]);
	}
	tt->n = kept;
}

void tunnel_echo_sent(struct tunnel *t, uint16_t seq, mtime_t now, int64_t tx_wall_ns)
{
	struct echo_slot *s = &t->echo[seq % ECHO_SLOTS];

	/* A slot still pending here is an echo older than ECHO_SLOTS sends: lost. */
	if (s->pending)
		outcome_window_add(&t->outcomes, now, false);
	*s = (struct echo_slot){.seq = seq, .pending = true, .sent_at = now, .tx_wall_ns = tx_wall_ns};
	t->echo_sent++;
}

void tunnel_echo_stamp(struct tunnel *t, uint16_t seq, int64_t tx_wall_ns)
{
	struct echo_slot *s = &t->echo[seq % ECHO_SLOTS];

	if (s->pending && s->seq == seq)
		s->tx_wall_ns = tx_wall_ns;
}

bool tunnel_echo_reply(struct tunnel *t, uint16_t seq, int64_t rx_wall_ns, mtime_t now)
{
	struct echo_slot *s = &t->echo[seq % ECHO_SLOTS];
	struct delay_sample sample;

	if (!s->pending || s->seq != seq)
		return false;
	s->pending = false;
	sample = (struct delay_sample){.at = now, .delay_ns = rx_wall_ns - s->tx_wall_ns, .seq = seq};
	if (sample.delay_ns < 0)
		sample.delay_ns = 0; /* the wall clock stepped back */
	delay_window_add(&t->rtt, &sample);
	delay_total_add(&t->rtt_total, &sample);
	outcome_window_add(&t->outcomes, now, true);
	t->echo_received++;
	t->last_reply = now;
	return true;
}

static void tunnel_set_status(struct model *m, struct tunnel *t, enum tunnel_status st,
			      mtime_t now)
{
	char pe[INET_ADDR_STRLEN];
	struct change *c;

	if (t->status == st)
		return;
	c = changelog_append(&m->changes, now);
	if (c) {
		c->kind = CHANGE_TUNNEL_STATUS;
		c->pe = t->pe;
		c->previous.status = (struct change_status_value){.present = 1, .status = t->status};
		c->current.status = (struct change_status_value){.present = 1, .status = st};
		model_change_recorded(m, c);
	}
	mvpn_log(LOG_INFO, "tunnel to %s: %s -> %s", inet_addr_format(&t->pe, pe),
		 tunnel_status_name(t->status), tunnel_status_name(st));
	t->status = st;
	t->changes++;
}

static void tunnel_tick(struct probing *p, struct model *m, struct tunnel *t, mtime_t now)
{
	mtime_t timeout = p->timing.loss_timeout;
	mtime_t since;

	for (size_t i = 0; i < ECHO_SLOTS; i++) {
		struct echo_slot *s = &t->echo[i];
		if (s->pending && s->sent_at + timeout <= now) {
			s->pending = false;
			outcome_window_add(&t->outcomes, s->sent_at + timeout, false);
		}
	}
	outcome_window_expire(&t->outcomes, now);
	delay_window_expire(&t->rtt, now);
	since = t->last_reply ? t->last_reply : t->created;
	if (now >= since + p->timing.unreachable_time && t->echo_sent)
		tunnel_set_status(m, t, TUNNEL_UNREACHABLE, now);
	else if (t->last_reply && now < t->last_reply + p->timing.unreachable_time)
		tunnel_set_status(m, t, TUNNEL_UP, now);
}

/* Round-trip figures of a tunnel's window (avg), for the delay correction. */
static bool tunnel_window_rtt(struct probing *p, const struct tunnel *t, int64_t *avg)
{
	struct delay_summary s;

	if (!t || !t->rtt.len)
		return false;
	if (!probing_window_summary(p, &t->rtt, &s))
		return false;
	*avg = s.avg_ns;
	return true;
}

/* One-way delivery ratio of a tunnel, from its echoes' round-trip loss. */
static double tunnel_one_way_delivery(const struct tunnel *t)
{
	if (!t || !t->outcomes.len)
		return 1.0;
	return sqrt((double)t->outcomes.n_received / (double)t->outcomes.len);
}

/* ---- streams and pairs ---- */

static size_t pow2_at_least(size_t n)
{
	size_t p = 64;

	while (p < n)
		p <<= 1;
	return p;
}

/* Probes in flight per sender: enough for the loss timeout at the rate, twice over. */
static size_t stream_capacity(const struct probing *p, uint32_t rate)
{
	uint64_t n = (uint64_t)rate * (p->timing.loss_timeout / MTIME_SEC + 1) * 2;
	return pow2_at_least(n > 1u << 22 ? 1u << 22 : (size_t)n);
}

static bool stream_init(struct probe_stream *s, size_t cap)
{
	memset(s, 0, sizeof(*s));
	s->next_seq = 1;
	s->undecided = 1;
	s->cap = cap;
	s->ring = calloc(cap, sizeof(*s->ring));
	return s->ring != NULL;
}

static void pair_free(struct pair *pr)
{
	if (!pr)
		return;
	free(pr->rx_bits);
	outcome_window_free(&pr->outcomes);
	delay_window_free(&pr->delays);
	free(pr);
}

static struct pair *pair_new(struct probing *p, uint32_t vpn_index, const struct inet_addr *src,
			     const struct inet_addr *dst, const struct probe_settings *cfg,
			     size_t stream_cap, mtime_t now)
{
	struct pair *pr = calloc(1, sizeof(*pr));
	mtime_t span = (mtime_t)cfg->window * MTIME_SEC;
	size_t cap = window_capacity(cfg->rate, span);

	if (!pr)
		return NULL;
	pr->vpn_index = vpn_index;
	pr->src = *src;
	pr->dst = *dst;
	pr->status = PAIR_STARTING;
	pr->created = now;
	delay_total_init(&pr->total);
	pr->rx_bits = calloc((stream_cap + 63) / 64, sizeof(uint64_t));
	if (!pr->rx_bits || !outcome_window_init(&pr->outcomes, span, cap) ||
	    !probing_window_init(p, &pr->delays, span, cap)) {
		pair_free(pr);
		return NULL;
	}
	return pr;
}

void vpn_probe_free(struct vpn_probe *vp)
{
	if (!vp)
		return;
	for (size_t i = 0; vp->pairs && i < vp->n * vp->n; i++)
		pair_free(vp->pairs[i]);
	for (size_t i = 0; vp->streams && i < vp->n; i++)
		free(vp->streams[i].ring);
	free(vp->pairs);
	free(vp->streams);
	free(vp->pes);
	free(vp->roles);
	tomo_free(vp->tomo);
	free(vp->rx);
	faultloc_free(&vp->faults);
	free(vp);
}

struct probe_pe_key {
	const struct vpn_probe *vp;
	const struct inet_addr *pe;
};

static bool probe_pe_at_or_past(const void *ctx, size_t i)
{
	const struct probe_pe_key *k = ctx;

	return inet_addr_cmp(&k->vp->pes[i], k->pe) >= 0;
}

long vpn_probe_pe_index(const struct vpn_probe *vp, const struct inet_addr *pe)
{
	struct probe_pe_key k = {vp, pe};
	size_t pos = seek_first(vp->n, &k, probe_pe_at_or_past);

	return pos < vp->n && inet_addr_eq(&vp->pes[pos], pe) ? (long)pos : -1;
}

static void add_pe(struct vpn_probe *vp, const struct inet_addr *a, uint8_t role)
{
	long i = vpn_probe_pe_index(vp, a);

	if (i >= 0) {
		vp->roles[i] |= role;
		return;
	}
	size_t pos = 0;
	while (pos < vp->n && inet_addr_cmp(&vp->pes[pos], a) < 0)
		pos++;
	memmove(&vp->pes[pos + 1], &vp->pes[pos], (vp->n - pos) * sizeof(*vp->pes));
	memmove(&vp->roles[pos + 1], &vp->roles[pos], vp->n - pos);
	vp->pes[pos] = *a;
	vp->roles[pos] = role;
	vp->n++;
}

/* The new layout (PEs, roles), empty streams and pair slots. */
static struct vpn_probe *layout_new(uint32_t vpn_index, const struct probe_settings *s)
{
	struct vpn_probe *vp = calloc(1, sizeof(*vp));
	size_t most = s->n_senders + s->n_receivers;

	if (!vp)
		return NULL;
	vp->vpn_index = vpn_index;
	vp->cfg = *s;
	faultloc_init(&vp->faults);
	vp->pes = calloc(most ? most : 1, sizeof(*vp->pes));
	vp->roles = calloc(most ? most : 1, 1);
	if (!vp->pes || !vp->roles) {
		vpn_probe_free(vp);
		return NULL;
	}
	for (size_t i = 0; i < s->n_senders; i++)
		add_pe(vp, &s->senders[i], ROLE_SENDER);
	for (size_t i = 0; i < s->n_receivers; i++)
		add_pe(vp, &s->receivers[i], ROLE_RECEIVER);
	vp->streams = calloc(vp->n ? vp->n : 1, sizeof(*vp->streams));
	vp->pairs = calloc(vp->n ? vp->n * vp->n : 1, sizeof(*vp->pairs));
	if (!vp->streams || !vp->pairs) {
		vpn_probe_free(vp);
		return NULL;
	}
	/* The settings' lists now point at nothing the caller owns. */
	vp->cfg.senders = vp->cfg.receivers = NULL;
	return vp;
}

/* Can an old stream / pair be kept as it is under the new settings? */
static bool same_shape(const struct vpn_probe *old, const struct probe_settings *s)
{
	return old && old->cfg.rate == s->rate && old->cfg.window == s->window;
}

static bool fill_layout(struct probing *p, struct vpn_probe *vp, struct vpn_probe *old,
			mtime_t now)
{
	size_t cap = stream_capacity(p, vp->cfg.rate);
	bool keep = same_shape(old, &vp->cfg);

	for (size_t i = 0; i < vp->n; i++) {
		long oi = old ? vpn_probe_pe_index(old, &vp->pes[i]) : -1;
		if (!(vp->roles[i] & ROLE_SENDER))
			continue;
		if (keep && oi >= 0 && (old->roles[oi] & ROLE_SENDER)) {
			vp->streams[i] = old->streams[oi]; /* moved */
			old->streams[oi].ring = NULL;
		} else if (!stream_init(&vp->streams[i], cap)) {
			return false;
		}
	}
	for (size_t i = 0; i < vp->n; i++) {
		if (!(vp->roles[i] & ROLE_SENDER))
			continue;
		long oi = old ? vpn_probe_pe_index(old, &vp->pes[i]) : -1;
		for (size_t j = 0; j < vp->n; j++) {
			if (i == j || !(vp->roles[j] & ROLE_RECEIVER))
				continue;
			long oj = old ? vpn_probe_pe_index(old, &vp->pes[j]) : -1;
			struct pair **slot = keep && oi >= 0 && oj >= 0
						     ? &old->pairs[(size_t)oi * old->n + (size_t)oj]
						     : NULL;
			if (slot && *slot && vp->streams[i].ring && old->streams[oi].ring == NULL) {
				vp->pairs[i * vp->n + j] = *slot; /* moved with its stream */
				*slot = NULL;
				continue;
			}
			vp->pairs[i * vp->n + j] = pair_new(p, vp->vpn_index, &vp->pes[i], &vp->pes[j],
							    &vp->cfg, vp->streams[i].cap, now);
			if (!vp->pairs[i * vp->n + j])
				return false;
		}
	}
	return true;
}

bool vpn_probe_same_layout(const struct vpn_probe *a, const struct vpn_probe *b)
{
	if (a->n != b->n || a->cfg.window != b->cfg.window)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (!inet_addr_eq(&a->pes[i], &b->pes[i]) || a->roles[i] != b->roles[i])
			return false;
	return true;
}

/* The tomography and the located faults: kept when the PEs stay where they
 * were, made afresh (and the old faults announced cleared) otherwise. */
static void take_tomography(struct model *m, struct vpn *v, struct vpn_probe *vp,
			    struct vpn_probe *old)
{
	if (old && vpn_probe_same_layout(old, vp)) {
		vp->tomo = old->tomo, vp->rx = old->rx, vp->estimates = old->estimates;
		vp->estimated_block = old->estimated_block;
		vp->faults = old->faults;
		old->tomo = NULL, old->rx = NULL, old->estimates = NULL;
		faultloc_init(&old->faults);
		return;
	}
	if (old)
		locate_forget(m, v, old);
	vp->tomo = tomo_new(vp->n, vp->roles, (mtime_t)vp->cfg.window * MTIME_SEC, 0);
	vp->rx = vp->tomo ? calloc(tomo_rx_words(vp->tomo), sizeof(*vp->rx)) : NULL;
	if (!vp->rx) {
		tomo_free(vp->tomo);
		vp->tomo = NULL;
		mvpn_log(LOG_WARNING, "vpn %s: no loss tomography (out of memory or no window)",
			 v->name);
	}
	faultloc_reset(&vp->faults);
}

void vpn_probe_stop(struct model *m, struct vpn *v)
{
	if (v->probing)
		locate_forget(m, v, v->probing);
	vpn_probe_free(v->probing);
	v->probing = NULL;
	v->probe = PROBE_DISABLED;
}

bool vpn_probe_configure(struct model *m, struct vpn *v, const struct probe_settings *s,
			 mtime_t now)
{
	struct vpn_probe *old = v->probing, *vp;

	if (!s) {
		vpn_probe_stop(m, v);
		return true;
	}
	vp = layout_new(v->index, s);
	if (!vp || !fill_layout(&m->probing, vp, old, now)) {
		vpn_probe_free(vp);
		return false;
	}
	take_tomography(m, v, vp, old);
	vp->started = old && same_shape(old, s) ? old->started : now;
	vp->sent = old ? old->sent : 0;
	vpn_probe_free(old);
	v->probing = vp;
	if (v->probe == PROBE_DISABLED || v->probe == PROBE_FAILED)
		v->probe = PROBE_STARTING;
	return true;
}

uint64_t probing_tx(struct probing *p, struct vpn_probe *vp, size_t sender, mtime_t now,
		    int64_t tx_wall_ns)
{
	struct probe_stream *s = &vp->streams[sender];
	uint64_t seq = s->next_seq++;
	struct tx_slot *slot = &s->ring[seq & (s->cap - 1)];

	*slot = (struct tx_slot){.seq = seq, .sent_at = now, .tx_wall_ns = tx_wall_ns};
	for (size_t j = 0; j < vp->n; j++) {
		struct pair *pr = vp->pairs[sender * vp->n + j];
		if (!pr)
			continue;
		pr->rx_bits[(seq & (s->cap - 1)) / 64] &= ~(1ull << (seq & 63));
		pr->sent++;
	}
	s->sent++;
	vp->sent++;
	p->tx_total++;
	return seq;
}

void probing_tx_sent(struct vpn_probe *vp, size_t sender, uint64_t seq, mtime_t sent_at)
{
	struct probe_stream *s = &vp->streams[sender];
	struct tx_slot *slot = &s->ring[seq & (s->cap - 1)];

	if (slot->seq == seq && sent_at > slot->sent_at)
		slot->sent_at = sent_at;
}

void probing_tx_stamp(struct vpn_probe *vp, size_t sender, uint64_t seq, int64_t tx_wall_ns)
{
	struct probe_stream *s = &vp->streams[sender];
	struct tx_slot *slot = &s->ring[seq & (s->cap - 1)];

	if (slot->seq == seq)
		slot->tx_wall_ns = tx_wall_ns;
}

static bool rx_bit(const struct pair *pr, const struct probe_stream *s, uint64_t seq)
{
	return pr->rx_bits[(seq & (s->cap - 1)) / 64] >> (seq & 63) & 1;
}

static struct vpn_probe *probe_of(const struct model *m, uint32_t vpn_index)
{
	struct vpn *v = vpn_find(m, vpn_index);
	return v ? v->probing : NULL;
}

enum probe_rx_result probing_rx(struct probing *p, struct model *m, uint32_t vpn_index,
				const struct inet_addr *sender, uint64_t seq,
				const struct inet_addr *receiver, int64_t rx_wall_ns, mtime_t now)
{
	struct vpn_probe *vp = probe_of(m, vpn_index);
	enum probe_rx_result r = PROBE_RX_OK;
	long i, j;

	if (!vp)
		r = PROBE_RX_UNKNOWN_VPN;
	else if ((i = vpn_probe_pe_index(vp, sender)) < 0 || !(vp->roles[i] & ROLE_SENDER))
		r = PROBE_RX_UNKNOWN_SENDER;
	else if ((j = vpn_probe_pe_index(vp, receiver)) < 0 || !vp->pairs[i * vp->n + j])
		r = PROBE_RX_UNKNOWN_RECEIVER;
	else {
		struct probe_stream *s = &vp->streams[i];
		struct pair *pr = vp->pairs[i * vp->n + j];
		struct tx_slot *slot = &s->ring[seq & (s->cap - 1)];

		if (seq == 0 || seq >= s->next_seq || slot->seq != seq)
			r = PROBE_RX_OUT_OF_WINDOW;
		else if (rx_bit(pr, s, seq)) {
			r = PROBE_RX_DUPLICATE;
			pr->duplicates++;
		} else if (seq < s->undecided) {
			r = PROBE_RX_LATE;
			pr->late++;
		} else {
			struct delay_sample d = {.at = now, .delay_ns = rx_wall_ns - slot->tx_wall_ns,
						 .seq = seq};
			if (d.delay_ns < 0)
				d.delay_ns = 0; /* the wall clock stepped back */
			pr->rx_bits[(seq & (s->cap - 1)) / 64] |= 1ull << (seq & 63);
			pr->received++;
			if (seq < pr->highest_seq)
				pr->reordered++;
			else
				pr->highest_seq = seq;
			delay_window_add(&pr->delays, &d);
			delay_total_add(&pr->total, &d);
			pr->last_rx = now;
		}
	}
	p->rx_result[r]++;
	return r;
}

/* Every probe of the stream older than the loss timeout is decided for each pair. */
static void stream_decide(struct probing *p, struct vpn_probe *vp, size_t i, mtime_t now)
{
	struct probe_stream *s = &vp->streams[i];

	while (s->undecided < s->next_seq) {
		struct tx_slot *slot = &s->ring[s->undecided & (s->cap - 1)];
		mtime_t due = slot->sent_at + p->timing.loss_timeout;
		if (slot->seq == s->undecided && due > now)
			break;
		for (size_t j = 0; j < vp->n; j++) {
			struct pair *pr = vp->pairs[i * vp->n + j];
			if (!pr)
				continue;
			bool got = slot->seq == s->undecided && rx_bit(pr, s, s->undecided);
			if (!got)
				pr->lost++;
			else if (vp->rx)
				vp->rx[j / 64] |= 1ull << (j % 64);
			outcome_window_add(&pr->outcomes, due, got);
		}
		if (vp->tomo) {
			size_t words = tomo_rx_words(vp->tomo);
			tomo_probe_decided(vp->tomo, i, due, vp->rx);
			memset(vp->rx, 0, words * sizeof(*vp->rx));
		}
		s->undecided++;
	}
}

const char *pair_status_name(uint8_t status)
{
	static const char *const names[] = {"", "starting", "ok", "lossAlarm", "delayAlarm",
					    "jitterAlarm", "unreachable"};
	return status < sizeof(names) / sizeof(names[0]) ? names[status] : "";
}

const char *tunnel_status_name(uint8_t status)
{
	static const char *const names[] = {"", "starting", "up", "unreachable"};
	return status < sizeof(names) / sizeof(names[0]) ? names[status] : "";
}

static void pair_set_status(struct model *m, struct pair *pr, enum pair_status st, mtime_t now)
{
	char src[INET_ADDR_STRLEN], dst[INET_ADDR_STRLEN];
	struct change *c;

	if (pr->status == st)
		return;
	inet_addr_format(&pr->src, src);
	inet_addr_format(&pr->dst, dst);
	c = changelog_append(&m->changes, now);
	if (c) {
		c->kind = CHANGE_PAIR_STATUS;
		c->vpn_index = pr->vpn_index;
		c->pe = pr->src;
		c->peer = pr->dst;
		c->previous.status = (struct change_status_value){.present = 1, .status = pr->status};
		c->current.status = (struct change_status_value){.present = 1, .status = st};
		model_change_recorded(m, c);
	}
	mvpn_log(LOG_INFO, "vpn %u pair %s -> %s: %s -> %s", pr->vpn_index, src, dst,
		 pair_status_name(pr->status), pair_status_name(st));
	pr->status = st;
	pr->changes++;
}

void pair_update_status(struct probing *p, struct model *m, struct pair *pr, mtime_t now)
{
	mtime_t since = pr->last_rx ? pr->last_rx : pr->created;
	enum pair_status st = pr->status;

	if (now >= since + p->timing.unreachable_time && pr->sent)
		st = PAIR_UNREACHABLE;
	else if (pr->last_rx)
		st = pr->alarm_index[METRIC_LOSS]    ? PAIR_LOSS_ALARM
		   : pr->alarm_index[METRIC_DELAY]  ? PAIR_DELAY_ALARM
		   : pr->alarm_index[METRIC_JITTER] ? PAIR_JITTER_ALARM
						    : PAIR_OK;
	pair_set_status(m, pr, st, now);
}

bool pair_window_full(const struct probing *p, const struct pair *pr, mtime_t now)
{
	return now >= pr->created + pr->outcomes.span + p->timing.loss_timeout;
}

static void pair_tick(struct probing *p, struct model *m, struct pair *pr, mtime_t now)
{
	outcome_window_expire(&pr->outcomes, now);
	delay_window_expire(&pr->delays, now);
	pair_update_status(p, m, pr, now);
	pr->last_update = now;
}

void probing_tick(struct probing *p, struct model *m, mtime_t now)
{
	for (size_t t = 0; t < p->tunnels.n; t++)
		tunnel_tick(p, m, p->tunnels.v[t], now);
	for (size_t k = 0; k < m->n_vpns; k++) {
		struct vpn *v = m->vpns[k];
		struct vpn_probe *vp = v->probing;
		bool any_rx = false;
		if (!vp)
			continue;
		for (size_t i = 0; i < vp->n; i++)
			if (vp->roles[i] & ROLE_SENDER)
				stream_decide(p, vp, i, now);
		for (size_t i = 0; i < vp->n * vp->n; i++) {
			if (!vp->pairs[i])
				continue;
			pair_tick(p, m, vp->pairs[i], now);
			any_rx |= vp->pairs[i]->received > 0;
		}
		if (v->probe == PROBE_STARTING && any_rx)
			v->probe = PROBE_RUNNING;
	}
}

/* ---- the figures the agent shows ---- */

static uint32_t ppm_of(double lost_ratio)
{
	if (lost_ratio <= 0)
		return 0;
	if (lost_ratio >= 1)
		return 1000000;
	return (uint32_t)llround(lost_ratio * 1e6);
}

/* Loss inside the VPN: the pair's delivery ratio with each tunnel's one-way
 * delivery (from its echoes) divided out. */
static uint32_t corrected_loss_ppm(const struct pair *pr, const struct tunnel *ts,
				   const struct tunnel *td)
{
	double delivered, tunnels;

	if (!pr->outcomes.len)
		return 0;
	delivered = (double)pr->outcomes.n_received / (double)pr->outcomes.len;
	tunnels = tunnel_one_way_delivery(ts) * tunnel_one_way_delivery(td);
	if (tunnels <= 0)
		return 1000000;
	return ppm_of(1.0 - delivered / tunnels);
}

const struct pair_figures *pair_figures(struct probing *p, struct pair *pr, mtime_t now)
{
	struct pair_figures *f = &pr->fig;
	const struct tunnel *ts = tunnel_find(&p->tunnels, &pr->src);
	const struct tunnel *td = tunnel_find(&p->tunnels, &pr->dst);
	int64_t rs, rd;

	if (f->computed_at && now < f->computed_at + MTIME_SEC)
		return f;
	delay_window_expire(&pr->delays, now);
	outcome_window_expire(&pr->outcomes, now);
	probing_window_summary(p, &pr->delays, &f->window);
	delay_total_summary(&pr->total, &f->total);
	/* VMScope's correction: half of each tunnel's round trip. */
	f->have_correction = tunnel_window_rtt(p, ts, &rs) && tunnel_window_rtt(p, td, &rd);
	f->correction_ns = f->have_correction ? (rs + rd) / 2 : 0;
	f->have_total_correction = ts && td && ts->rtt_total.count && td->rtt_total.count;
	if (f->have_total_correction) {
		struct delay_summary a, b;
		delay_total_summary(&ts->rtt_total, &a);
		delay_total_summary(&td->rtt_total, &b);
		f->total_correction_ns = (a.avg_ns + b.avg_ns) / 2;
	}
	f->loss_ppm = outcome_loss_ppm(&pr->outcomes);
	f->corr_loss_ppm = corrected_loss_ppm(pr, ts, td);
	f->window_sent = (uint32_t)pr->outcomes.len;
	f->window_received = pr->outcomes.n_received;
	f->computed_at = now;
	return f;
}

/* ---- SNMP order ---- */

void tunnel_oidx(const struct tunnel *t, struct oidx *out)
{
	oidx_push_addr(out, &t->pe);
}

struct oid_key {
	const void *table;
	const uint32_t *want;
	size_t wlen;
	bool after;
};

static bool tunnel_oid_ok(const void *ctx, size_t i)
{
	const struct oid_key *k = ctx;
	const struct tunnel_table *t = k->table;
	struct oidx x;

	oidx_reset(&x);
	tunnel_oidx(t->v[i], &x);
	return oidx_seek_ok(&x, k->want, k->wlen, k->after);
}

const struct tunnel *tunnel_seek(const struct tunnel_table *t, const uint32_t *want, size_t wlen,
				 bool after)
{
	struct oid_key k = {t, want, wlen, after};
	size_t pos = seek_first(t->n, &k, tunnel_oid_ok);

	return pos < t->n ? t->v[pos] : NULL;
}

void pair_oidx(const struct pair *pr, struct oidx *out)
{
	oidx_push_addr(out, &pr->src);
	oidx_push_addr(out, &pr->dst);
}

/* pes are sorted in index order, so the n x n matrix row-major is index order:
 * binary search over its cells, skipping the empty ones forward. */
/* Cell `cell` of the n x n matrix, whose pair may not exist: its index all the same. */
static bool pair_oid_ok(const void *ctx, size_t cell)
{
	const struct oid_key *k = ctx;
	const struct vpn_probe *vp = k->table;
	struct pair key = {.src = vp->pes[cell / vp->n], .dst = vp->pes[cell % vp->n]};
	struct oidx x;

	oidx_reset(&x);
	pair_oidx(&key, &x);
	return oidx_seek_ok(&x, k->want, k->wlen, k->after);
}

const struct pair *pair_seek(const struct vpn_probe *vp, const uint32_t *want, size_t wlen,
			     bool after)
{
	size_t cells = vp->n * vp->n;
	struct oid_key k = {vp, want, wlen, after};
	size_t lo = seek_first(cells, &k, pair_oid_ok);

	while (lo < cells && !vp->pairs[lo])
		lo++;
	return lo < cells ? vp->pairs[lo] : NULL;
}
