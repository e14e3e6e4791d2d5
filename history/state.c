/*
 * State at T: a checkpoint plus the changes after it (state.h).  Three of
 * the checkpoint's tables move with changes (PEs, downstream C-group->PE
 * rows, flows on data MDTs); the VPN table changes only with a
 * configuration load, after which the daemon writes a checkpoint.  Each
 * moving table is handled by the same generic code: rows of row_size
 * bytes, a key order, and a fold that applies one operation to the row of
 * its key (or to its absence).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"

/* One change, reduced to what it does to the row of one key. */
struct op {
	uint64_t when_ns;
	uint64_t ord; /* the change's place in the sequence: ties of a key keep it */
	bool del;     /* the row goes; else the row below is its new image */
};

struct table_kind {
	size_t row_size;
	int (*cmp)(const void *a, const void *b); /* key order */
	uint32_t (*vpn)(const void *row);
	/* Applies op (with its row image) to *row, which exists when *have. */
	void (*fold)(void *row, bool *have, const struct op *op, const void *image);
};

struct table {
	const struct table_kind *k;
	uint8_t *ops; /* owned: struct op then the row image, stride apart */
	size_t n, cap, stride;
};

struct hist_state {
	struct hist_checkpoint *base; /* owned */
	uint32_t vpn;
	uint64_t ord, last_seq;
	struct table pes, cgpes, flows;
};

/* ---- keys: each table in its SNMP index order within a VPN ---- */

static int cmp_u32(uint32_t a, uint32_t b)
{
	return a < b ? -1 : a > b;
}

static int pe_cmp(const void *a, const void *b)
{
	const struct hist_pe_row *x = a, *y = b;
	int c = cmp_u32(x->vpn_index, y->vpn_index);
	return c ? c : inet_addr_cmp(&x->addr, &y->addr);
}

static int cgpe_cmp(const void *a, const void *b)
{
	const struct hist_cgpe_row *x = a, *y = b;
	int c = cmp_u32(x->vpn_index, y->vpn_index);
	if (!c)
		c = inet_addr_cmp(&x->c_group, &y->c_group);
	if (!c)
		c = inet_addr_cmp(&x->c_source, &y->c_source);
	if (!c)
		c = cmp_u32(x->value.cg_kind, y->value.cg_kind);
	return c ? c : inet_addr_cmp(&x->pe, &y->pe);
}

static int flow_cmp(const void *a, const void *b)
{
	const struct hist_flow_row *x = a, *y = b;
	int c = cmp_u32(x->vpn_index, y->vpn_index);
	if (!c)
		c = inet_addr_cmp(&x->c_group, &y->c_group);
	return c ? c : inet_addr_cmp(&x->c_source, &y->c_source);
}

static int vpn_cmp(const void *a, const void *b)
{
	const struct hist_vpn_row *x = a, *y = b;
	return cmp_u32(x->index, y->index);
}

static uint32_t pe_vpn(const void *r) { return ((const struct hist_pe_row *)r)->vpn_index; }
static uint32_t cgpe_vpn(const void *r) { return ((const struct hist_cgpe_row *)r)->vpn_index; }
static uint32_t flow_vpn(const void *r) { return ((const struct hist_flow_row *)r)->vpn_index; }

/* ---- folds ---- */

/* A PE change sets the value; a new row is unexpected and first seen now.
 * The row's expected flag and first sighting belong to the row, not to
 * the change, so they survive it. */
static void pe_fold(void *row, bool *have, const struct op *op, const void *image)
{
	struct hist_pe_row *r = row;
	const struct hist_pe_row *im = image;

	if (op->del) {
		*have = false;
		return;
	}
	if (!*have) {
		*r = *im;
		r->expected = 0;
		r->first_seen_ns = op->when_ns;
		*have = true;
		return;
	}
	r->value = im->value;
	if (!r->first_seen_ns)
		r->first_seen_ns = op->when_ns;
}

/* C-group rows and flows: the change's current value is the row. */
static void replace_fold(void *row, bool *have, const struct op *op, const void *image,
			 size_t size)
{
	*have = !op->del;
	if (*have)
		memcpy(row, image, size);
}

static void cgpe_fold(void *row, bool *have, const struct op *op, const void *image)
{
	replace_fold(row, have, op, image, sizeof(struct hist_cgpe_row));
}

static void flow_fold(void *row, bool *have, const struct op *op, const void *image)
{
	replace_fold(row, have, op, image, sizeof(struct hist_flow_row));
}

static const struct table_kind PE_TABLE = {sizeof(struct hist_pe_row), pe_cmp, pe_vpn, pe_fold};
static const struct table_kind CGPE_TABLE = {sizeof(struct hist_cgpe_row), cgpe_cmp, cgpe_vpn,
					     cgpe_fold};
static const struct table_kind FLOW_TABLE = {sizeof(struct hist_flow_row), flow_cmp, flow_vpn,
					     flow_fold};

/* ---- operations ---- */

static void table_init(struct table *t, const struct table_kind *k)
{
	size_t hdr = (sizeof(struct op) + 7) & ~(size_t)7;

	memset(t, 0, sizeof(*t));
	t->k = k;
	t->stride = hdr + ((k->row_size + 7) & ~(size_t)7);
}

static struct op *op_at(const struct table *t, size_t i)
{
	return (struct op *)(void *)(t->ops + i * t->stride);
}

static void *op_image(const struct op *op)
{
	return (uint8_t *)op + ((sizeof(struct op) + 7) & ~(size_t)7);
}

static int table_push(struct table *t, struct hist_state *st, uint64_t when_ns, bool del,
		      const void *image)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 1024;
		uint8_t *p = realloc(t->ops, cap * t->stride);
		if (!p)
			return -1;
		t->ops = p;
		t->cap = cap;
	}
	struct op *op = op_at(t, t->n++);
	*op = (struct op){.when_ns = when_ns, .ord = st->ord++, .del = del};
	memcpy(op_image(op), image, t->k->row_size);
	return 0;
}

/* ---- changes into operations ---- */

static int apply_pe(struct hist_state *st, const struct hist_record *r, bool del)
{
	const struct change *c = &r->u.change;
	struct hist_pe_row row = {.vpn_index = c->vpn_index, .addr = c->pe};

	if (!del)
		row.value = c->current.pe;
	return table_push(&st->pes, st, r->when_ns, del, &row);
}

static int apply_row(struct hist_state *st, const struct hist_record *r)
{
	const struct change *c = &r->u.change;
	bool del = !c->current.present;
	struct hist_cgpe_row row = {.vpn_index = c->vpn_index, .c_source = c->c_source,
				    .c_group = c->c_group, .pe = c->pe};

	/* The kind is part of the key: a removal names it in its previous value. */
	row.value = del ? c->previous.row : c->current.row;
	return table_push(&st->cgpes, st, r->when_ns, del, &row);
}

static int apply_flow(struct hist_state *st, const struct hist_record *r)
{
	const struct change *c = &r->u.change;
	bool del = !c->current.present;
	struct hist_flow_row row = {.vpn_index = c->vpn_index, .c_source = c->c_source,
				    .c_group = c->c_group};

	if (!del)
		row.value = c->current.flow;
	return table_push(&st->flows, st, r->when_ns, del, &row);
}

int hist_state_apply(struct hist_state *st, const struct hist_record *r)
{
	const struct change *c = &r->u.change;

	if (r->type != HIST_CHANGE)
		return 0;
	if (r->seq > st->last_seq)
		st->last_seq = r->seq;
	if (st->vpn && c->vpn_index != st->vpn)
		return 0;
	switch (c->kind) {
	case CHANGE_PE_UP: case CHANGE_PE_DOWN: case CHANGE_PE_RESTART: case CHANGE_PE_CHANGE:
		return apply_pe(st, r, !c->current.present);
	case CHANGE_PE_RECLAIMED:
		return apply_pe(st, r, true);
	case CHANGE_JOIN: case CHANGE_PRUNE: case CHANGE_EXPIRY:
		return apply_row(st, r);
	case CHANGE_DATA_MDT_UP: case CHANGE_DATA_MDT_SWITCH: case CHANGE_DATA_MDT_DOWN:
		return apply_flow(st, r);
	default: /* pair and tunnel status, configuration loads: no row of the state */
		return 0;
	}
}

/* ---- finishing: sort, then merge the checkpoint's rows with the operations ---- */

static int op_cmp(const void *a, const void *b, void *arg)
{
	const struct table *t = arg;
	const struct op *x = a, *y = b;
	int c = t->k->cmp(op_image(x), op_image(y));
	return c ? c : x->ord < y->ord ? -1 : x->ord > y->ord;
}

static bool keep_vpn(const struct hist_state *st, uint32_t vpn)
{
	return !st->vpn || st->vpn == vpn;
}

/* Merges the n_base rows at base with t's operations into a new array in
 * *out (its count in *n_out).  base is sorted here. */
static int table_merge(struct hist_state *st, struct table *t, void *base, size_t n_base,
		       void **out, size_t *n_out)
{
	const struct table_kind *k = t->k;
	size_t i = 0, j = 0, n = 0, total = n_base + t->n;
	uint8_t *res = total ? malloc(total * k->row_size) : NULL;

	if (total && !res)
		return -1;
	/* qsort of NULL, even for 0 elements, is undefined (UBSan says so) */
	if (n_base > 1)
		qsort(base, n_base, k->row_size, k->cmp);
	if (t->n > 1)
		qsort_r(t->ops, t->n, t->stride, op_cmp, t);
	while (i < n_base || j < t->n) {
		const uint8_t *b = i < n_base ? (uint8_t *)base + i * k->row_size : NULL;
		const void *im = j < t->n ? op_image(op_at(t, j)) : NULL;
		int c = !b ? 1 : !im ? -1 : k->cmp(b, im);
		uint8_t *row = res + n * k->row_size;
		bool have = c <= 0;
		if (have) {
			memcpy(row, b, k->row_size);
			i++;
		}
		/* every operation on this key, in sequence */
		for (; c >= 0 && j < t->n && k->cmp(im, op_image(op_at(t, j))) == 0; j++)
			k->fold(row, &have, op_at(t, j), op_image(op_at(t, j)));
		if (have && keep_vpn(st, k->vpn(row)))
			n++;
	}
	*out = res;
	*n_out = n;
	return 0;
}

static int finish_vpns(struct hist_state *st, struct hist_checkpoint *cp)
{
	size_t n = 0;

	if (cp->n_vpns > 1)
		qsort(cp->vpns, cp->n_vpns, sizeof(*cp->vpns), vpn_cmp);
	for (size_t i = 0; i < cp->n_vpns; i++)
		if (keep_vpn(st, cp->vpns[i].index))
			cp->vpns[n++] = cp->vpns[i];
	cp->n_vpns = n;
	return 0;
}

struct hist_checkpoint *hist_state_finish(struct hist_state *st)
{
	struct hist_checkpoint *base = st->base, *cp = calloc(1, sizeof(*cp));
	void *pes = NULL, *cgpes = NULL, *flows = NULL;

	if (!cp || table_merge(st, &st->pes, base->pes, base->n_pes, &pes, &cp->n_pes) < 0 ||
	    table_merge(st, &st->cgpes, base->cgpes, base->n_cgpes, &cgpes, &cp->n_cgpes) < 0 ||
	    table_merge(st, &st->flows, base->flows, base->n_flows, &flows, &cp->n_flows) < 0) {
		free(pes);
		free(cgpes);
		free(flows);
		free(cp);
		hist_state_free(st);
		return NULL;
	}
	cp->pes = pes;
	cp->cgpes = cgpes;
	cp->flows = flows;
	/* The VPN rows move over from the checkpoint as they are. */
	cp->vpns = base->vpns;
	cp->n_vpns = base->n_vpns;
	base->vpns = NULL;
	finish_vpns(st, cp);
	cp->last_change_seq = st->last_seq;
	hist_state_free(st);
	return cp;
}

struct hist_state *hist_state_new(struct hist_checkpoint *base, uint32_t vpn_index)
{
	struct hist_state *st = calloc(1, sizeof(*st));

	if (!base)
		base = calloc(1, sizeof(*base));
	if (!st || !base) {
		free(st);
		hist_checkpoint_free(base);
		return NULL;
	}
	st->base = base;
	st->vpn = vpn_index;
	st->last_seq = base->last_change_seq;
	table_init(&st->pes, &PE_TABLE);
	table_init(&st->cgpes, &CGPE_TABLE);
	table_init(&st->flows, &FLOW_TABLE);
	return st;
}

void hist_state_free(struct hist_state *st)
{
	if (!st)
		return;
	hist_checkpoint_free(st->base);
	free(st->pes.ops);
	free(st->cgpes.ops);
	free(st->flows.ops);
	free(st);
}
