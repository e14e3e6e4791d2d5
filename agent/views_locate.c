/* Where the probes are lost (mib/locate.h): the sides of each probed PE
 * (mvpnProbePeTable), the located faults (mvpnFaultTable), and the path
 * columns of mvpnPairTable. */
#include "daemon.h"
#include "oids.h"

#include <math.h>

#include "../mib/locate.h"
#include "../mib/seek.h"

static struct model *model_of(void *ctx)
{
	return ((struct daemon *)ctx)->model;
}

/* A row of these tables is a position in a VPN's probing, which no pointer
 * into the model carries with its VPN: the seek fills a cursor and returns
 * it.  table_view.c reads a row before it seeks again, and every request
 * holds the model lock, so one cursor per table serves. */
struct probe_pe_row {
	uint32_t vpn_index;
	const struct vpn_probe *vp;
	size_t i;
};

struct fault_row {
	uint32_t vpn_index;
	const struct vpn_probe *vp;
	const struct fault *f;
};

static struct probe_pe_row pe_cursor;
static struct fault_row fault_cursor;

/* ---- estimates as cells ---- */

enum side { SIDE_SENDER, SIDE_RECEIVER };

/* The estimate of a PE's side; before the first estimate, "no data". */
static struct tomo_estimate side_estimate(const struct vpn_probe *vp, enum side side, size_t i)
{
	uint8_t role = side == SIDE_SENDER ? ROLE_SENDER : ROLE_RECEIVER;

	if (!(vp->roles[i] & role))
		return (struct tomo_estimate){.status = TOMO_NONE};
	if (!vp->estimates)
		return (struct tomo_estimate){.status = TOMO_NO_DATA, .high_ppm = 1000000};
	return side == SIDE_SENDER ? vp->estimates->sender[i] : vp->estimates->receiver[i];
}

/* Status (MvpnEstimateStatus: none is notApplicable(5)), loss, low, high. */
static void estimate_cell(struct cell *c, const struct tomo_estimate *e, unsigned k)
{
	switch (k) {
	case 0: cell_int(c, e->status == TOMO_NONE ? 5 : e->status); break;
	case 1: cell_gauge(c, e->loss_ppm); break;
	case 2: cell_gauge(c, e->low_ppm); break;
	default: cell_gauge(c, e->high_ppm); break;
	}
}

/* ---- mvpnPairTable: the path columns ---- */

static double pass_of(const struct tomo_estimate *e)
{
	return e->status == TOMO_OK || e->status == TOMO_ALL_LOST ? 1.0 - e->loss_ppm / 1e6 : 1.0;
}

/* The pair's window loss with its two sides' estimated loss divided out. */
static uint32_t path_corr_loss_ppm(const struct vpn_probe *vp, size_t i, size_t j,
				   uint32_t loss_ppm)
{
	struct tomo_estimate s = side_estimate(vp, SIDE_SENDER, i);
	struct tomo_estimate r = side_estimate(vp, SIDE_RECEIVER, j);
	double sides = pass_of(&s) * pass_of(&r), lost;

	if (sides <= 0)
		return 1000000;
	lost = 1.0 - (1.0 - loss_ppm / 1e6) / sides;
	return lost <= 0 ? 0 : lost >= 1 ? 1000000 : (uint32_t)llround(lost * 1e6);
}

bool pair_locate_cell(struct model *m, const struct pair *pr, uint32_t loss_ppm, unsigned col,
		      struct cell *c)
{
	const struct vpn *v = vpn_find(m, pr->vpn_index);
	const struct vpn_probe *vp = v ? v->probing : NULL;
	long i = vp ? vpn_probe_pe_index(vp, &pr->src) : -1;
	long j = vp ? vpn_probe_pe_index(vp, &pr->dst) : -1;
	struct tomo_estimate e = {.status = TOMO_NO_DATA, .high_ppm = 1000000};

	if (col < COL_PAIR_PATH_LOSS_STATUS || col > COL_PAIR_PATH_CORR_LOSS_PPM || i < 0 || j < 0)
		return false;
	if (col == COL_PAIR_PATH_CORR_LOSS_PPM) {
		cell_gauge(c, path_corr_loss_ppm(vp, (size_t)i, (size_t)j, loss_ppm));
		return true;
	}
	if (vp->estimates)
		e = vp->estimates->path[(size_t)i * vp->n + (size_t)j];
	estimate_cell(c, &e, col - COL_PAIR_PATH_LOSS_STATUS);
	return true;
}

/* ---- mvpnProbePeTable {vpn, pe} ---- */

struct pe_key {
	const struct vpn_probe *vp;
	const uint32_t *want;
	size_t wlen;
	bool after;
};

static bool probe_pe_oid_ok(const void *ctx, size_t i)
{
	const struct pe_key *k = ctx;
	struct oidx x;

	oidx_reset(&x);
	oidx_push_addr(&x, &k->vp->pes[i]);
	return oidx_seek_ok(&x, k->want, k->wlen, k->after);
}

static const void *probe_pe_rows(const struct vpn *v, const uint32_t *want, size_t wlen,
				 bool after)
{
	const struct vpn_probe *vp = v->probing;
	struct pe_key k = {vp, want, wlen, after};
	size_t pos;

	if (!vp)
		return NULL;
	pos = seek_first(vp->n, &k, probe_pe_oid_ok); /* pes are in address order */
	if (pos >= vp->n)
		return NULL;
	pe_cursor = (struct probe_pe_row){v->index, vp, pos};
	return &pe_cursor;
}

static const void *probe_pe_view_seek(void *ctx, const uint32_t *want, size_t wlen, bool after)
{
	return model_seek_rows(model_of(ctx), probe_pe_rows, want, wlen, after);
}

static void probe_pe_view_index(const void *row, struct oidx *out)
{
	const struct probe_pe_row *r = row;

	oidx_reset(out);
	oidx_push(out, r->vpn_index);
	oidx_push_addr(out, &r->vp->pes[r->i]);
}

static bool probe_pe_view_get(void *ctx, const void *row, unsigned col, struct cell *c)
{
	const struct probe_pe_row *r = row;
	struct tomo_estimate e;

	if (col == COL_PROBE_PE_ROLE) {
		cell_int(c, r->vp->roles[r->i]); /* sender(1), receiver(2), both(3) */
	} else if (col == COL_PROBE_PE_NAME) {
		cell_pe_name(c, model_of(ctx), &r->vp->pes[r->i]);
	} else if (col >= COL_PROBE_PE_SENDER_STATUS && col < COL_PROBE_PE_RECEIVER_STATUS) {
		e = side_estimate(r->vp, SIDE_SENDER, r->i);
		estimate_cell(c, &e, col - COL_PROBE_PE_SENDER_STATUS);
	} else if (col >= COL_PROBE_PE_RECEIVER_STATUS && col < COL_PROBE_PE_NAME) {
		e = side_estimate(r->vp, SIDE_RECEIVER, r->i);
		estimate_cell(c, &e, col - COL_PROBE_PE_RECEIVER_STATUS);
	} else {
		return false;
	}
	return true;
}

/* ---- mvpnFaultTable {vpn, metric, kind, pe, peer} ---- */

static const void *fault_rows(const struct vpn *v, const uint32_t *want, size_t wlen, bool after)
{
	const struct fault *f = v->probing ? fault_seek(v->probing, want, wlen, after) : NULL;

	if (!f)
		return NULL;
	fault_cursor = (struct fault_row){v->index, v->probing, f};
	return &fault_cursor;
}

static const void *fault_view_seek(void *ctx, const uint32_t *want, size_t wlen, bool after)
{
	return model_seek_rows(model_of(ctx), fault_rows, want, wlen, after);
}

static void fault_view_index(const void *row, struct oidx *out)
{
	const struct fault_row *r = row;

	oidx_reset(out);
	oidx_push(out, r->vpn_index);
	fault_oidx(r->f, out);
}

static long clamp_i32(int64_t v)
{
	return v < INT32_MIN ? INT32_MIN : v > INT32_MAX ? INT32_MAX : (long)v;
}

static bool fault_view_get(void *ctx, const void *row, unsigned col, struct cell *c)
{
	const struct model *m = model_of(ctx);
	const struct fault *f = ((const struct fault_row *)row)->f;

	switch (col) {
	case COL_FAULT_LOSS_PPM: cell_gauge(c, f->loss_ppm); break;
	case COL_FAULT_LOSS_LOW: cell_gauge(c, f->low_ppm); break;
	case COL_FAULT_LOSS_HIGH: cell_gauge(c, f->high_ppm); break;
	case COL_FAULT_SHIFT: cell_int(c, clamp_i32(f->shift_us)); break;
	case COL_FAULT_ECHO_LOSS_PPM: cell_gauge(c, f->echo_loss_ppm); break;
	case COL_FAULT_PAIRS: cell_gauge(c, f->pairs); break;
	case COL_FAULT_RESIDUAL: cell_truth(c, f->flags & FAULT_RESIDUAL); break;
	case COL_FAULT_NO_REFERENCE: cell_truth(c, f->flags & FAULT_NO_REFERENCE); break;
	case COL_FAULT_SINCE: cell_timestamp(c, &m->clock, f->since); break;
	case COL_FAULT_SINCE_DATE: cell_date(c, &m->clock, f->since); break;
	case COL_FAULT_PE_NAME:
		if (f->pe_addr.type)
			cell_pe_name(c, m, &f->pe_addr);
		else
			cell_string(c, "");
		break;
	case COL_FAULT_PEER_NAME:
		if (f->peer_addr.type)
			cell_pe_name(c, m, &f->peer_addr);
		else
			cell_string(c, "");
		break;
	default: return false;
	}
	return true;
}

void views_locate_init(struct daemon *d)
{
	struct table_view *tv;

	tv = &d->views[VIEW_PROBE_PE];
	view_table(tv, d, "mvpnProbePeTable", ARC_PROBE_PE_TABLE, COL_PROBE_PE_ROLE,
		   COL_PROBE_PE_LAST);
	tv->seek = probe_pe_view_seek, tv->row_index = probe_pe_view_index;
	tv->get = probe_pe_view_get;

	tv = &d->views[VIEW_FAULT];
	view_table(tv, d, "mvpnFaultTable", ARC_FAULT_TABLE, COL_FAULT_LOSS_PPM, COL_FAULT_LAST);
	tv->seek = fault_view_seek, tv->row_index = fault_view_index, tv->get = fault_view_get;
}
