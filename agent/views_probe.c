/* The active engine's tables: PE pairs and the tunnels to the PEs. */
#include "daemon.h"
#include "oids.h"

#include <limits.h>

static struct model *model_of(void *ctx)
{
	return ((struct daemon *)ctx)->model;
}

/* Delays are served in microseconds, rounded to nearest. */
static int64_t us_of(int64_t ns)
{
	return ns >= 0 ? (ns + 500) / 1000 : -((-ns + 500) / 1000);
}

static uint32_t gauge_us(int64_t ns)
{
	int64_t us = us_of(ns);
	return us < 0 ? 0 : us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static long integer_us(int64_t ns)
{
	int64_t us = us_of(ns);
	return us < INT32_MIN ? INT32_MIN : us > INT32_MAX ? INT32_MAX : (long)us;
}

/* ---- mvpnPairTable {vpn, source PE, destination PE} ---- */

static const void *pair_rows(const struct vpn *v, const uint32_t *want, size_t wlen, bool after)
{
	return v->probing ? pair_seek(v->probing, want, wlen, after) : NULL;
}

static const void *pair_view_seek(void *ctx, const uint32_t *want, size_t wlen, bool after)
{
	return model_seek_rows(model_of(ctx), pair_rows, want, wlen, after);
}

static void pair_view_index(const void *row, struct oidx *out)
{
	const struct pair *pr = row;

	oidx_reset(out);
	oidx_push(out, pr->vpn_index);
	pair_oidx(pr, out);
}

/* Min, avg, max, p50, p99 of a summary, in column order. */
static int64_t summary_stat(const struct delay_summary *s, unsigned k)
{
	const int64_t v[] = {s->min_ns, s->avg_ns, s->max_ns, s->p50_ns, s->p99_ns};
	return v[k];
}

/* A block of five delay columns: raw (Gauge32) or corrected by `correction` (Integer32). */
static bool delay_block(struct cell *c, const struct delay_summary *s, unsigned k, bool corrected,
			bool have_correction, int64_t correction)
{
	if (!corrected) {
		cell_gauge(c, s->count ? gauge_us(summary_stat(s, k)) : 0);
		return true;
	}
	cell_int(c, s->count && have_correction ? integer_us(summary_stat(s, k) - correction) : 0);
	return true;
}

static bool pair_delay_cell(const struct pair_figures *f, unsigned col, struct cell *c)
{
	if (col >= COL_PAIR_DELAY_MIN && col < COL_PAIR_DELAY_MIN + 5)
		return delay_block(c, &f->window, col - COL_PAIR_DELAY_MIN, false, false, 0);
	if (col >= COL_PAIR_CORR_DELAY_MIN && col < COL_PAIR_CORR_DELAY_MIN + 5)
		return delay_block(c, &f->window, col - COL_PAIR_CORR_DELAY_MIN, true,
				   f->have_correction, f->correction_ns);
	if (col >= COL_PAIR_TOTAL_DELAY_MIN && col < COL_PAIR_TOTAL_DELAY_MIN + 5)
		return delay_block(c, &f->total, col - COL_PAIR_TOTAL_DELAY_MIN, false, false, 0);
	if (col >= COL_PAIR_TOTAL_CORR_DELAY_MIN && col < COL_PAIR_TOTAL_CORR_DELAY_MIN + 5)
		return delay_block(c, &f->total, col - COL_PAIR_TOTAL_CORR_DELAY_MIN, true,
				   f->have_total_correction, f->total_correction_ns);
	return false;
}

static bool pair_view_get(void *ctx, const void *row, unsigned col, struct cell *c)
{
	struct model *m = model_of(ctx);
	struct pair *pr = (struct pair *)row; /* figures are a cache on the row */
	const struct pair_figures *f = pair_figures(&m->probing, pr, mclock_now(&m->clock));

	switch (col) {
	case COL_PAIR_STATUS: cell_int(c, pr->status); break;
	case COL_PAIR_SENT: cell_counter64(c, pr->sent); break;
	case COL_PAIR_RECEIVED: cell_counter64(c, pr->received); break;
	case COL_PAIR_LOST: cell_counter64(c, pr->lost); break;
	case COL_PAIR_DUPLICATES: cell_counter64(c, pr->duplicates); break;
	case COL_PAIR_REORDERED: cell_counter64(c, pr->reordered); break;
	case COL_PAIR_LOSS_PPM: cell_gauge(c, f->loss_ppm); break;
	case COL_PAIR_CORR_LOSS_PPM: cell_gauge(c, f->corr_loss_ppm); break;
	case COL_PAIR_JITTER: cell_gauge(c, gauge_us(f->window.jitter_ns)); break;
	case COL_PAIR_WINDOW_SENT: cell_gauge(c, f->window_sent); break;
	case COL_PAIR_WINDOW_RECEIVED: cell_gauge(c, f->window_received); break;
	case COL_PAIR_LAST_UPDATE: cell_timestamp(c, &m->clock, pr->last_update); break;
	case COL_PAIR_STATE_CHANGES: cell_counter64(c, pr->changes); break;
	case COL_PAIR_LAST_UPDATE_DATE: cell_date(c, &m->clock, pr->last_update); break;
	case COL_PAIR_TOTAL_JITTER: cell_gauge(c, gauge_us(f->total.jitter_ns)); break;
	case COL_PAIR_LATE: cell_counter64(c, pr->late); break;
	case COL_PAIR_SRC_NAME: cell_pe_name(c, m, &pr->src); break;
	case COL_PAIR_DST_NAME: cell_pe_name(c, m, &pr->dst); break;
	default:
		return pair_delay_cell(f, col, c) || pair_locate_cell(m, pr, f->loss_ppm, col, c);
	}
	return true;
}

/* ---- mvpnTunnelTable {pe} ---- */

static const void *tunnel_view_seek(void *ctx, const uint32_t *want, size_t wlen, bool after)
{
	return tunnel_seek(&model_of(ctx)->probing.tunnels, want, wlen, after);
}

static void tunnel_view_index(const void *row, struct oidx *out)
{
	oidx_reset(out);
	tunnel_oidx(row, out);
}

static bool tunnel_rtt_cell(struct model *m, const struct tunnel *t, unsigned col, struct cell *c)
{
	struct delay_summary s;

	probing_window_summary(&m->probing, &t->rtt, &s);
	switch (col) {
	case COL_TUNNEL_RTT_MIN: cell_gauge(c, s.count ? gauge_us(s.min_ns) : 0); break;
	case COL_TUNNEL_RTT_AVG: cell_gauge(c, s.count ? gauge_us(s.avg_ns) : 0); break;
	case COL_TUNNEL_RTT_MAX: cell_gauge(c, s.count ? gauge_us(s.max_ns) : 0); break;
	default: return false;
	}
	return true;
}

static bool tunnel_view_get(void *ctx, const void *row, unsigned col, struct cell *c)
{
	struct model *m = model_of(ctx);
	const struct tunnel *t = row;

	switch (col) {
	case COL_TUNNEL_LOCAL_TYPE: cell_addr_type(c, &t->local); break;
	case COL_TUNNEL_LOCAL: cell_addr(c, &t->local); break;
	case COL_TUNNEL_REMOTE_TYPE: cell_addr_type(c, &t->remote); break;
	case COL_TUNNEL_REMOTE: cell_addr(c, &t->remote); break;
	case COL_TUNNEL_STATUS: cell_int(c, t->status); break;
	case COL_TUNNEL_PE_NAME: cell_pe_name(c, m, &t->pe); break;
	case COL_TUNNEL_VPNS: cell_gauge(c, t->n_vpns); break;
	case COL_TUNNEL_ECHO_SENT: cell_counter64(c, t->echo_sent); break;
	case COL_TUNNEL_ECHO_RECEIVED: cell_counter64(c, t->echo_received); break;
	case COL_TUNNEL_LOSS_PPM: cell_gauge(c, outcome_loss_ppm(&t->outcomes)); break;
	case COL_TUNNEL_LAST_REPLY: cell_timestamp(c, &m->clock, t->last_reply); break;
	case COL_TUNNEL_LAST_REPLY_DATE: cell_date(c, &m->clock, t->last_reply); break;
	case COL_TUNNEL_STATE_CHANGES: cell_counter64(c, t->changes); break;
	default: return tunnel_rtt_cell(m, t, col, c);
	}
	return true;
}

void views_probe_init(struct daemon *d)
{
	struct table_view *tv;

	tv = &d->views[VIEW_PAIR];
	view_table(tv, d, "mvpnPairTable", ARC_PAIR_TABLE, COL_PAIR_STATUS, COL_PAIR_LAST);
	tv->seek = pair_view_seek, tv->row_index = pair_view_index, tv->get = pair_view_get;

	tv = &d->views[VIEW_TUNNEL];
	view_table(tv, d, "mvpnTunnelTable", ARC_TUNNEL_TABLE, COL_TUNNEL_LOCAL_TYPE,
		   COL_TUNNEL_LAST);
	tv->seek = tunnel_view_seek, tv->row_index = tunnel_view_index, tv->get = tunnel_view_get;
}
