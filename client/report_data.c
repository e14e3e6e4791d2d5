#include "report_data.h"

#include <stdlib.h>
#include <string.h>

#include "../mib/pe.h"

/* ---- the PE timeline ---- */

/* The lane of pe, or where it would go. */
static size_t lane_pos(const struct rp_timeline *tl, const struct inet_addr *pe, bool *found)
{
	size_t lo = 0, hi = tl->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = inet_addr_cmp(&tl->lanes[mid].pe, pe);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static struct rp_lane *lane_get(struct rp_timeline *tl, const struct inet_addr *pe)
{
	bool found;
	size_t i = lane_pos(tl, pe, &found);

	if (found)
		return &tl->lanes[i];
	if (tl->n == tl->cap) {
		size_t cap = tl->cap ? tl->cap * 2 : 16;
		struct rp_lane *v = realloc(tl->lanes, cap * sizeof(*v));
		if (!v)
			return NULL;
		tl->lanes = v;
		tl->cap = cap;
	}
	memmove(&tl->lanes[i + 1], &tl->lanes[i], (tl->n - i) * sizeof(*tl->lanes));
	tl->n++;
	tl->lanes[i] = (struct rp_lane){.pe = *pe, .status = RP_ABSENT, .since_ns = tl->start_ns};
	return &tl->lanes[i];
}

/* The status the lane's facts give, as the daemon's pe_status does. */
static uint8_t lane_status(const struct rp_lane *l)
{
	if (!l->have)
		return RP_ABSENT;
	struct pe pe = {.expected = l->expected, .alive = l->alive};
	return (uint8_t)pe_status(&pe, JUDGE_PIM);
}

static uint64_t clamp(const struct rp_timeline *tl, uint64_t t)
{
	return t < tl->start_ns ? tl->start_ns : t > tl->end_ns ? tl->end_ns : t;
}

/* Ends the lane's current segment at t when its status is no longer that. */
static int lane_update(struct rp_lane *l, uint64_t t)
{
	uint8_t now = lane_status(l);

	if (now == l->status)
		return 0;
	if (t > l->since_ns && l->status != RP_ABSENT) {
		if (l->n == l->cap) {
			size_t cap = l->cap ? l->cap * 2 : 8;
			struct rp_segment *v = realloc(l->seg, cap * sizeof(*v));
			if (!v)
				return -1;
			l->seg = v;
			l->cap = cap;
		}
		l->seg[l->n++] = (struct rp_segment){l->since_ns, t, l->status};
	}
	if (t > l->since_ns) /* an expiry is dated a little before changes around it */
		l->since_ns = t;
	l->status = now;
	return 0;
}

/* The rows of cp for the VPN become the lanes' facts at time t. */
static int load_state(struct rp_timeline *tl, const struct hist_checkpoint *cp, uint64_t t)
{
	for (size_t i = 0; cp && i < cp->n_pes; i++) {
		const struct hist_pe_row *row = &cp->pes[i];
		if (row->vpn_index != tl->vpn_index)
			continue;
		struct rp_lane *l = lane_get(tl, &row->addr);
		if (!l)
			return -1;
		l->have = true;
		l->expected = row->expected;
		l->alive = row->value.present && row->value.alive;
		if (lane_update(l, t) < 0)
			return -1;
	}
	return 0;
}

int rp_timeline_start(struct rp_timeline *tl, uint32_t vpn_index, uint64_t start_ns,
		      uint64_t end_ns, const struct hist_checkpoint *cp)
{
	*tl = (struct rp_timeline){.vpn_index = vpn_index, .start_ns = start_ns,
				   .end_ns = end_ns < start_ns ? start_ns : end_ns};
	return load_state(tl, cp, start_ns);
}

int rp_timeline_change(struct rp_timeline *tl, const struct hist_record *r)
{
	const struct change *c = &r->u.change;
	bool removed;

	if (r->type != HIST_CHANGE || c->vpn_index != tl->vpn_index)
		return 0;
	switch (c->kind) {
	case CHANGE_PE_UP: case CHANGE_PE_DOWN: case CHANGE_PE_RESTART: case CHANGE_PE_CHANGE:
		removed = !c->current.present;
		break;
	case CHANGE_PE_RECLAIMED:
		removed = true;
		break;
	default:
		return 0;
	}
	struct rp_lane *l = lane_get(tl, &c->pe);
	if (!l)
		return -1;
	if (removed) {
		l->have = false;
	} else {
		if (!l->have)
			l->expected = 0; /* a new row: the configuration named it not */
		l->have = true;
		l->alive = c->current.pe.alive;
	}
	tl->changes++;
	return lane_update(l, clamp(tl, r->when_ns));
}

int rp_timeline_rebase(struct rp_timeline *tl, const struct hist_checkpoint *cp, uint64_t at_ns)
{
	uint64_t t = clamp(tl, at_ns);

	for (size_t i = 0; i < tl->n; i++)
		tl->lanes[i].have = false;
	if (load_state(tl, cp, t) < 0)
		return -1;
	for (size_t i = 0; i < tl->n; i++)
		if (!tl->lanes[i].have && lane_update(&tl->lanes[i], t) < 0)
			return -1;
	return 0;
}

int rp_timeline_finish(struct rp_timeline *tl)
{
	for (size_t i = 0; i < tl->n; i++) {
		struct rp_lane *l = &tl->lanes[i];
		bool have = l->have;
		l->have = false; /* closes the open segment at the end */
		if (lane_update(l, tl->end_ns) < 0)
			return -1;
		l->have = have;
	}
	return 0;
}

void rp_timeline_free(struct rp_timeline *tl)
{
	for (size_t i = 0; i < tl->n; i++)
		free(tl->lanes[i].seg);
	free(tl->lanes);
	memset(tl, 0, sizeof(*tl));
}

/* ---- windows summed ---- */

void rp_agg_add(struct rp_agg *a, const struct hist_pair_window *w, uint64_t when_ns)
{
	a->sent += w->sent;
	a->received += w->received;
	a->lost += w->lost;
	a->delay_sum += (uint64_t)w->delay_avg_us * w->received;
	a->jitter_sum += (uint64_t)w->jitter_us * w->received;
	if (!a->windows || when_ns < a->first_ns)
		a->first_ns = when_ns;
	if (when_ns > a->last_ns)
		a->last_ns = when_ns;
	a->windows++;
}

/* num / den rounded half up, at most UINT32_MAX. */
static uint32_t ratio(uint64_t num, uint64_t den)
{
	uint64_t q = num / den, r = num % den;

	q += r >= den - r;
	return q > UINT32_MAX ? UINT32_MAX : (uint32_t)q;
}

bool rp_agg_loss_ppm(const struct rp_agg *a, uint32_t *ppm)
{
	if (!a->sent)
		return false;
	/* lost <= 2^32 * windows: times a million stays far below 2^64 */
	*ppm = ratio(a->lost * 1000000, a->sent);
	return true;
}

bool rp_agg_delay_us(const struct rp_agg *a, uint32_t *us)
{
	if (!a->received)
		return false;
	*us = ratio(a->delay_sum, a->received);
	return true;
}

bool rp_agg_jitter_us(const struct rp_agg *a, uint32_t *us)
{
	if (!a->received)
		return false;
	*us = ratio(a->jitter_sum, a->received);
	return true;
}

/* ---- the pair matrix and the series ---- */

static const struct hist_rows *sort_rows;

static int by_pair_then_time(const void *a_, const void *b_)
{
	const struct hist_got *a = &sort_rows->v[*(const size_t *)a_];
	const struct hist_got *b = &sort_rows->v[*(const size_t *)b_];
	int c;

	if ((c = inet_addr_cmp(&a->rec.u.pair.src, &b->rec.u.pair.src)) ||
	    (c = inet_addr_cmp(&a->rec.u.pair.dst, &b->rec.u.pair.dst)))
		return c;
	if (a->rec.when_ns != b->rec.when_ns)
		return a->rec.when_ns < b->rec.when_ns ? -1 : 1;
	return a < b ? -1 : a > b;
}

static int addr_cmp(const void *a, const void *b)
{
	return inet_addr_cmp(a, b);
}

/* The distinct ends of the pairs in order, sorted. */
static int collect_pes(struct rp_pairs *p, const struct hist_rows *rows, const size_t *order,
		       size_t n)
{
	p->pes = calloc(2 * n + 1, sizeof(*p->pes));
	if (!p->pes)
		return -1;
	for (size_t k = 0; k < n; k++) {
		p->pes[p->n_pes++] = rows->v[order[k]].rec.u.pair.src;
		p->pes[p->n_pes++] = rows->v[order[k]].rec.u.pair.dst;
	}
	qsort(p->pes, p->n_pes, sizeof(*p->pes), addr_cmp);
	size_t u = 0;
	for (size_t i = 0; i < p->n_pes; i++)
		if (u == 0 || !inet_addr_eq(&p->pes[u - 1], &p->pes[i]))
			p->pes[u++] = p->pes[i];
	p->n_pes = u;
	return 0;
}

static size_t pe_index(const struct rp_pairs *p, const struct inet_addr *a)
{
	const struct inet_addr *f = bsearch(a, p->pes, p->n_pes, sizeof(*a), addr_cmp);
	return (size_t)(f - p->pes); /* every end is there */
}

/* One series from the pair's windows order[first..first+n), in time order. */
static int series_fill(struct rp_series *s, const struct hist_rows *rows, const size_t *order,
		       size_t n)
{
	const struct hist_pair_window *w0 = &rows->v[order[0]].rec.u.pair;

	s->src = w0->src;
	s->dst = w0->dst;
	s->per_point = (n + RP_MAX_POINTS - 1) / RP_MAX_POINTS;
	s->points = calloc((n + s->per_point - 1) / s->per_point + 1, sizeof(*s->points));
	if (!s->points)
		return -1;
	for (size_t k = 0; k < n; k++) {
		const struct hist_got *g = &rows->v[order[k]];
		rp_agg_add(&s->points[k / s->per_point], &g->rec.u.pair, g->rec.when_ns);
		rp_agg_add(&s->total, &g->rec.u.pair, g->rec.when_ns);
	}
	s->n_points = (n + s->per_point - 1) / s->per_point;
	return 0;
}

static int pairs_fill(struct rp_pairs *p, const struct hist_rows *rows, const size_t *order,
		      size_t n)
{
	if (collect_pes(p, rows, order, n) < 0)
		return -1;
	p->cells = calloc(p->n_pes * p->n_pes + 1, sizeof(*p->cells));
	p->series = calloc(n + 1, sizeof(*p->series));
	if (!p->cells || !p->series)
		return -1;
	for (size_t k = 0; k < n;) {
		const struct hist_pair_window *w = &rows->v[order[k]].rec.u.pair;
		size_t j = k;
		while (j < n && inet_addr_eq(&rows->v[order[j]].rec.u.pair.src, &w->src) &&
		       inet_addr_eq(&rows->v[order[j]].rec.u.pair.dst, &w->dst))
			j++;
		struct rp_series *s = &p->series[p->n_series++];
		if (series_fill(s, rows, order + k, j - k) < 0)
			return -1;
		p->cells[pe_index(p, &w->src) * p->n_pes + pe_index(p, &w->dst)] = s->total;
		k = j;
	}
	p->windows = n;
	return 0;
}

int rp_pairs_build(struct rp_pairs *p, const struct hist_rows *rows, size_t m)
{
	size_t *order = malloc((rows->n + 1) * sizeof(*order)), n = 0;

	memset(p, 0, sizeof(*p));
	if (!order)
		return -1;
	for (size_t i = 0; i < rows->n; i++)
		if (rows->v[i].monitor == m && rows->v[i].rec.type == HIST_PAIR_WINDOW)
			order[n++] = i;
	sort_rows = rows;
	qsort(order, n, sizeof(*order), by_pair_then_time);
	int rc = pairs_fill(p, rows, order, n);
	free(order);
	if (rc < 0)
		rp_pairs_free(p);
	return rc;
}

void rp_pairs_free(struct rp_pairs *p)
{
	for (size_t i = 0; p->series && i < p->n_series; i++)
		free(p->series[i].points);
	free(p->series);
	free(p->cells);
	free(p->pes);
	memset(p, 0, sizeof(*p));
}

static const struct rp_pairs *pick_pairs;

/* Worst first: the higher loss, then the higher delay; then pair order. */
static int by_badness(const void *a_, const void *b_)
{
	size_t a = *(const size_t *)a_, b = *(const size_t *)b_;
	const struct rp_agg *x = &pick_pairs->series[a].total, *y = &pick_pairs->series[b].total;
	uint32_t lx = 0, ly = 0, dx = 0, dy = 0;

	rp_agg_loss_ppm(x, &lx);
	rp_agg_loss_ppm(y, &ly);
	rp_agg_delay_us(x, &dx);
	rp_agg_delay_us(y, &dy);
	if (lx != ly)
		return lx > ly ? -1 : 1;
	if (dx != dy)
		return dx > dy ? -1 : 1;
	return a < b ? -1 : a > b;
}

static int by_index(const void *a_, const void *b_)
{
	size_t a = *(const size_t *)a_, b = *(const size_t *)b_;
	return a < b ? -1 : a > b;
}

size_t rp_pairs_pick(const struct rp_pairs *p, size_t max, size_t **order)
{
	size_t n = p->n_series;

	*order = malloc((n + 1) * sizeof(**order));
	if (!*order)
		return 0;
	for (size_t i = 0; i < n; i++)
		(*order)[i] = i;
	if (n > max) {
		pick_pairs = p;
		qsort(*order, n, sizeof(**order), by_badness);
		n = max;
		qsort(*order, n, sizeof(**order), by_index);
	}
	return n;
}
