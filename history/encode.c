/*
 * The shared encoding of change values, addresses and checkpoints
 * (schema.md, "Blob layouts").  Integers that are usually small are LEB128
 * varints, so a typical join costs 10 bytes; fixed-width fields are big
 * endian.  Reading goes through struct rd, whose getters fail (and stay
 * failed) on a short buffer, so a decoder checks once at the end.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "encode.h"

/* ---- reading ---- */

struct rd {
	const uint8_t *p;
	size_t len, off;
	bool bad;
};

static size_t rd_left(const struct rd *r)
{
	return r->bad ? 0 : r->len - r->off;
}

static uint8_t rd_u8(struct rd *r)
{
	if (rd_left(r) < 1) {
		r->bad = true;
		return 0;
	}
	return r->p[r->off++];
}

static uint64_t rd_be(struct rd *r, unsigned n)
{
	uint64_t v = 0;

	if (rd_left(r) < n) {
		r->bad = true;
		return 0;
	}
	for (unsigned i = 0; i < n; i++)
		v = v << 8 | r->p[r->off++];
	return v;
}

/* A varint no larger than max: more than 10 bytes, or a value over max, is
 * a malformed field, never truncated silently. */
static uint64_t rd_var(struct rd *r, uint64_t max)
{
	uint64_t v = 0;

	for (unsigned shift = 0; shift < 64; shift += 7) {
		uint8_t b = rd_u8(r);
		if (r->bad)
			return 0;
		if (shift == 63 && b > 1)
			break;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			if (v > max)
				break;
			return v;
		}
	}
	r->bad = true;
	return 0;
}

static void rd_addr(struct rd *r, struct inet_addr *a)
{
	uint8_t type = rd_u8(r);
	size_t n = type == INET_IPV4 ? 4 : type == INET_IPV6 ? 16 : 0;

	memset(a, 0, sizeof(*a));
	if (type > INET_IPV6 || rd_left(r) < n) {
		r->bad = true;
		return;
	}
	a->type = type;
	memcpy(a->bytes, r->p + r->off, n);
	r->off += n;
}

/* ---- writing: a buffer that grows (checkpoints) or is fixed (values) ---- */

struct wr {
	uint8_t *p;
	size_t cap, off;
	bool grows, bad;
};

static bool wr_room(struct wr *w, size_t n)
{
	if (w->bad)
		return false;
	if (w->cap - w->off >= n)
		return true;
	if (!w->grows) {
		w->bad = true;
		return false;
	}
	size_t cap = w->cap ? w->cap : 256;
	while (cap - w->off < n)
		cap *= 2;
	uint8_t *p = realloc(w->p, cap);
	if (!p) {
		w->bad = true;
		return false;
	}
	w->p = p;
	w->cap = cap;
	return true;
}

static void wr_u8(struct wr *w, uint8_t v)
{
	if (wr_room(w, 1))
		w->p[w->off++] = v;
}

static void wr_be(struct wr *w, uint64_t v, unsigned n)
{
	if (!wr_room(w, n))
		return;
	for (unsigned i = 0; i < n; i++)
		w->p[w->off++] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static void wr_var(struct wr *w, uint64_t v)
{
	do {
		uint8_t b = v & 0x7f;
		v >>= 7;
		wr_u8(w, v ? b | 0x80 : b);
	} while (v);
}

static void wr_bytes(struct wr *w, const void *p, size_t n)
{
	if (wr_room(w, n)) {
		memcpy(w->p + w->off, p, n);
		w->off += n;
	}
}

static void wr_addr(struct wr *w, const struct inet_addr *a)
{
	size_t n = inet_addr_len(a);

	wr_u8(w, n ? a->type : INET_UNKNOWN);
	wr_bytes(w, a->bytes, n);
}

/* ---- change values: the body after `present`, by kind ---- */

enum value_form { FORM_NONE, FORM_PE, FORM_ROW, FORM_FLOW, FORM_STATUS, FORM_RECLAIM, FORM_CONFIG };

static enum value_form form_of(uint8_t kind)
{
	switch (kind) {
	case CHANGE_PE_UP: case CHANGE_PE_DOWN: case CHANGE_PE_RESTART: case CHANGE_PE_CHANGE:
		return FORM_PE;
	case CHANGE_JOIN: case CHANGE_PRUNE: case CHANGE_EXPIRY:
		return FORM_ROW;
	case CHANGE_DATA_MDT_UP: case CHANGE_DATA_MDT_SWITCH: case CHANGE_DATA_MDT_DOWN:
		return FORM_FLOW;
	case CHANGE_PAIR_STATUS: case CHANGE_TUNNEL_STATUS: case CHANGE_PE_BGP:
		return FORM_STATUS;
	case CHANGE_PE_RECLAIMED:
		return FORM_RECLAIM;
	case CHANGE_CONFIG_RELOAD:
		return FORM_CONFIG;
	}
	return FORM_NONE;
}

static void put_body(struct wr *w, enum value_form form, const union change_value *v)
{
	switch (form) {
	case FORM_PE:
		wr_u8(w, (uint8_t)((v->pe.alive ? 1 : 0) | (v->pe.has_genid ? 2 : 0)));
		wr_var(w, v->pe.holdtime);
		if (v->pe.has_genid)
			wr_be(w, v->pe.genid, 4);
		wr_var(w, v->pe.dr_priority);
		wr_addr(w, &v->pe.caddr);
		break;
	case FORM_ROW:
		wr_u8(w, v->row.cg_kind);
		wr_u8(w, v->row.state);
		wr_var(w, v->row.holdtime);
		wr_addr(w, &v->row.upstream);
		wr_addr(w, &v->row.rp);
		break;
	case FORM_FLOW:
		wr_addr(w, &v->flow.p_group);
		wr_addr(w, &v->flow.announcer);
		break;
	case FORM_STATUS:
		wr_u8(w, v->status.status);
		break;
	case FORM_RECLAIM:
		wr_var(w, v->reclaim.hellos);
		break;
	case FORM_CONFIG:
		wr_var(w, v->config.vpns);
		wr_var(w, v->config.added);
		wr_var(w, v->config.removed);
		wr_var(w, v->config.changed);
		break;
	case FORM_NONE:
		w->bad = true;
		break;
	}
}

static void get_body(struct rd *r, enum value_form form, union change_value *v)
{
	memset(v, 0, sizeof(*v));
	switch (form) {
	case FORM_PE: {
		uint8_t flags = rd_u8(r);
		if (flags > 3)
			r->bad = true;
		v->pe.alive = flags & 1;
		v->pe.has_genid = (flags >> 1) & 1;
		v->pe.holdtime = (uint16_t)rd_var(r, UINT16_MAX);
		if (v->pe.has_genid)
			v->pe.genid = (uint32_t)rd_be(r, 4);
		v->pe.dr_priority = (uint32_t)rd_var(r, UINT32_MAX);
		rd_addr(r, &v->pe.caddr);
		break;
	}
	case FORM_ROW:
		v->row.cg_kind = rd_u8(r);
		v->row.state = rd_u8(r);
		v->row.holdtime = (uint16_t)rd_var(r, UINT16_MAX);
		rd_addr(r, &v->row.upstream);
		rd_addr(r, &v->row.rp);
		break;
	case FORM_FLOW:
		rd_addr(r, &v->flow.p_group);
		rd_addr(r, &v->flow.announcer);
		break;
	case FORM_STATUS:
		v->status.status = rd_u8(r);
		break;
	case FORM_RECLAIM:
		v->reclaim.hellos = rd_var(r, UINT64_MAX);
		break;
	case FORM_CONFIG:
		v->config.vpns = (uint32_t)rd_var(r, UINT32_MAX);
		v->config.added = (uint32_t)rd_var(r, UINT32_MAX);
		v->config.removed = (uint32_t)rd_var(r, UINT32_MAX);
		v->config.changed = (uint32_t)rd_var(r, UINT32_MAX);
		break;
	case FORM_NONE:
		r->bad = true;
		break;
	}
	v->present = 1; /* after the union's other members were written */
}

int hist_value_encode(uint8_t kind, const union change_value *v, uint8_t *out)
{
	struct wr w = {.p = out, .cap = HIST_VALUE_MAX};
	enum value_form form = form_of(kind);

	if (form == FORM_NONE)
		return -1;
	if (!v->present)
		return 0;
	put_body(&w, form, v);
	return w.bad ? -1 : (int)w.off;
}

int hist_value_decode(uint8_t kind, const uint8_t *p, size_t len, union change_value *v)
{
	struct rd r = {.p = p, .len = len};
	enum value_form form = form_of(kind);

	memset(v, 0, sizeof(*v));
	if (form == FORM_NONE)
		return -1;
	if (len == 0)
		return 0;
	get_body(&r, form, v);
	return r.bad || r.off != len ? -1 : 0;
}

int hist_addr_decode(const uint8_t *p, size_t len, struct inet_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (len == 4)
		inet_addr_v4(a, p);
	else if (len == 16)
		inet_addr_v6(a, p);
	else if (len != 0)
		return -1;
	return 0;
}

/* ---- checkpoints ---- */

/* header: magic, version, reserved, last_change_seq, four counts */
#define CP_HEADER_LEN (4 + 1 + 1 + 8 + 4 * 4)
/* The fewest bytes each row can take: what bounds a count read from a blob. */
enum { MIN_VPN = 4, MIN_PE = 5, MIN_CGPE = 5, MIN_FLOW = 4 };

static void put_optional(struct wr *w, uint8_t kind, const union change_value *v)
{
	wr_u8(w, v->present ? 1 : 0);
	if (v->present)
		put_body(w, form_of(kind), v);
}

static void get_optional(struct rd *r, uint8_t kind, union change_value *v)
{
	uint8_t present = rd_u8(r);

	memset(v, 0, sizeof(*v));
	if (present > 1)
		r->bad = true;
	else if (present)
		get_body(r, form_of(kind), v);
}

static void put_vpn(struct wr *w, const struct hist_vpn_row *v)
{
	size_t n = strnlen(v->name, sizeof(v->name));

	if (n >= sizeof(v->name)) { /* not terminated: not a name we wrote */
		w->bad = true;
		return;
	}
	wr_var(w, v->index);
	wr_u8(w, (uint8_t)n);
	wr_bytes(w, v->name, n);
	wr_addr(w, &v->default_mdt);
	wr_var(w, v->n_expected);
}

static void get_vpn(struct rd *r, struct hist_vpn_row *v)
{
	memset(v, 0, sizeof(*v));
	v->index = (uint32_t)rd_var(r, UINT32_MAX);
	size_t n = rd_u8(r);
	if (n >= sizeof(v->name) || rd_left(r) < n) {
		r->bad = true;
		return;
	}
	memcpy(v->name, r->p + r->off, n);
	r->off += n;
	if (strlen(v->name) != n) /* a NUL inside would cut the name short */
		r->bad = true;
	rd_addr(r, &v->default_mdt);
	v->n_expected = (uint32_t)rd_var(r, UINT32_MAX);
}

static void put_pe(struct wr *w, const struct hist_pe_row *pe)
{
	union change_value v = {.pe = pe->value};

	wr_var(w, pe->vpn_index);
	wr_addr(w, &pe->addr);
	wr_u8(w, pe->expected ? 1 : 0);
	put_optional(w, CHANGE_PE_CHANGE, &v);
	wr_var(w, pe->first_seen_ns);
}

static void get_pe(struct rd *r, struct hist_pe_row *pe)
{
	union change_value v;

	memset(pe, 0, sizeof(*pe));
	pe->vpn_index = (uint32_t)rd_var(r, UINT32_MAX);
	rd_addr(r, &pe->addr);
	pe->expected = rd_u8(r);
	if (pe->expected > 1)
		r->bad = true;
	get_optional(r, CHANGE_PE_CHANGE, &v);
	pe->value = v.pe;
	pe->first_seen_ns = rd_var(r, UINT64_MAX);
}

static void put_cgpe(struct wr *w, const struct hist_cgpe_row *c)
{
	union change_value v = {.row = c->value};

	wr_var(w, c->vpn_index);
	wr_addr(w, &c->c_source);
	wr_addr(w, &c->c_group);
	wr_addr(w, &c->pe);
	put_optional(w, CHANGE_JOIN, &v);
}

static void get_cgpe(struct rd *r, struct hist_cgpe_row *c)
{
	union change_value v;

	memset(c, 0, sizeof(*c));
	c->vpn_index = (uint32_t)rd_var(r, UINT32_MAX);
	rd_addr(r, &c->c_source);
	rd_addr(r, &c->c_group);
	rd_addr(r, &c->pe);
	get_optional(r, CHANGE_JOIN, &v);
	c->value = v.row;
}

static void put_flow(struct wr *w, const struct hist_flow_row *f)
{
	union change_value v = {.flow = f->value};

	wr_var(w, f->vpn_index);
	wr_addr(w, &f->c_source);
	wr_addr(w, &f->c_group);
	put_optional(w, CHANGE_DATA_MDT_UP, &v);
}

static void get_flow(struct rd *r, struct hist_flow_row *f)
{
	union change_value v;

	memset(f, 0, sizeof(*f));
	f->vpn_index = (uint32_t)rd_var(r, UINT32_MAX);
	rd_addr(r, &f->c_source);
	rd_addr(r, &f->c_group);
	get_optional(r, CHANGE_DATA_MDT_UP, &v);
	f->value = v.flow;
}

int hist_checkpoint_encode(const struct hist_checkpoint *cp, uint8_t **out, size_t *len)
{
	struct wr w = {.grows = true};

	*out = NULL;
	*len = 0;
	if (cp->n_vpns > UINT32_MAX || cp->n_pes > UINT32_MAX || cp->n_cgpes > UINT32_MAX ||
	    cp->n_flows > UINT32_MAX)
		return -1;
	wr_bytes(&w, HIST_CP_MAGIC, 4);
	wr_u8(&w, HIST_CP_VERSION);
	wr_u8(&w, 0);
	wr_be(&w, cp->last_change_seq, 8);
	wr_be(&w, cp->n_vpns, 4);
	wr_be(&w, cp->n_pes, 4);
	wr_be(&w, cp->n_cgpes, 4);
	wr_be(&w, cp->n_flows, 4);
	for (size_t i = 0; i < cp->n_vpns && !w.bad; i++)
		put_vpn(&w, &cp->vpns[i]);
	for (size_t i = 0; i < cp->n_pes && !w.bad; i++)
		put_pe(&w, &cp->pes[i]);
	for (size_t i = 0; i < cp->n_cgpes && !w.bad; i++)
		put_cgpe(&w, &cp->cgpes[i]);
	for (size_t i = 0; i < cp->n_flows && !w.bad; i++)
		put_flow(&w, &cp->flows[i]);
	if (w.bad) {
		free(w.p);
		return -1;
	}
	*out = w.p;
	*len = w.off;
	return 0;
}

/* calloc(0) may return NULL: an empty array is NULL, which is not a failure. */
#define ALLOC_ROWS(arr, n) ((((arr) = (n) ? calloc((n), sizeof(*(arr))) : NULL)) || !(n))

static int cp_header(struct rd *r, struct hist_checkpoint *cp)
{
	if (rd_left(r) < CP_HEADER_LEN || memcmp(r->p, HIST_CP_MAGIC, 4) != 0)
		return -1;
	r->off = 4;
	if (rd_u8(r) != HIST_CP_VERSION || rd_u8(r) != 0)
		return -1;
	cp->last_change_seq = rd_be(r, 8);
	cp->n_vpns = (size_t)rd_be(r, 4);
	cp->n_pes = (size_t)rd_be(r, 4);
	cp->n_cgpes = (size_t)rd_be(r, 4);
	cp->n_flows = (size_t)rd_be(r, 4);
	/* Counts the rest of the blob cannot hold are refused before any
	 * allocation: a corrupt count must not become a 64 GB calloc. */
	uint64_t least = (uint64_t)cp->n_vpns * MIN_VPN + (uint64_t)cp->n_pes * MIN_PE +
			 (uint64_t)cp->n_cgpes * MIN_CGPE + (uint64_t)cp->n_flows * MIN_FLOW;
	return least > rd_left(r) ? -1 : 0;
}

int hist_checkpoint_decode(const uint8_t *p, size_t len, struct hist_checkpoint **out)
{
	struct rd r = {.p = p, .len = len};
	struct hist_checkpoint *cp = calloc(1, sizeof(*cp));

	*out = NULL;
	if (!cp)
		return -1;
	if (cp_header(&r, cp) < 0 || !ALLOC_ROWS(cp->vpns, cp->n_vpns) ||
	    !ALLOC_ROWS(cp->pes, cp->n_pes) || !ALLOC_ROWS(cp->cgpes, cp->n_cgpes) ||
	    !ALLOC_ROWS(cp->flows, cp->n_flows))
		goto bad;
	for (size_t i = 0; i < cp->n_vpns && !r.bad; i++)
		get_vpn(&r, &cp->vpns[i]);
	for (size_t i = 0; i < cp->n_pes && !r.bad; i++)
		get_pe(&r, &cp->pes[i]);
	for (size_t i = 0; i < cp->n_cgpes && !r.bad; i++)
		get_cgpe(&r, &cp->cgpes[i]);
	for (size_t i = 0; i < cp->n_flows && !r.bad; i++)
		get_flow(&r, &cp->flows[i]);
	if (r.bad || r.off != len)
		goto bad;
	*out = cp;
	return 0;
bad:
	hist_checkpoint_free(cp);
	return -1;
}

/* ---- change blocks ---- */

/* Signed deltas (times: an expiry is dated at its deadline, a little
 * before the changes logged around it) as zigzag varints: small either way. */
static uint64_t zigzag(uint64_t to, uint64_t from)
{
	int64_t d = (int64_t)(to - from);

	return ((uint64_t)d << 1) ^ (uint64_t)(d >> 63);
}

int hist_change_encode(const struct hist_record *r, uint64_t prev_seq, uint64_t prev_when,
		       uint8_t *out)
{
	const struct change *c = &r->u.change;
	struct wr w = {.p = out, .cap = HIST_CHANGE_MAX};
	uint8_t prev[HIST_VALUE_MAX], cur[HIST_VALUE_MAX];
	int np = hist_value_encode(c->kind, &c->previous, prev);
	int nc = hist_value_encode(c->kind, &c->current, cur);

	if (r->type != HIST_CHANGE || np < 0 || nc < 0 || r->seq < prev_seq)
		return -1;
	wr_var(&w, r->seq - prev_seq);
	wr_var(&w, zigzag(r->when_ns, prev_when));
	wr_u8(&w, c->kind);
	wr_var(&w, c->vpn_index);
	wr_addr(&w, &c->pe);
	wr_addr(&w, &c->peer);
	wr_addr(&w, &c->c_source);
	wr_addr(&w, &c->c_group);
	wr_addr(&w, &c->p_group);
	wr_var(&w, (uint64_t)np);
	wr_bytes(&w, prev, (size_t)np);
	wr_var(&w, (uint64_t)nc);
	wr_bytes(&w, cur, (size_t)nc);
	return w.bad ? -1 : (int)w.off;
}

void hist_block_start(struct hist_block_rd *b, const uint8_t *p, size_t len, uint64_t first_seq,
		      uint64_t last_seq, uint64_t t_min, uint64_t t_max, uint64_t n)
{
	*b = (struct hist_block_rd){.p = p, .len = len, .seq = first_seq, .when = t_min,
				    .last_seq = last_seq, .t_min = t_min, .t_max = t_max, .left = n};
}

/* A value: its length (0: none), then its bytes, decoded by kind. */
static void get_value(struct rd *r, uint8_t kind, union change_value *v)
{
	uint64_t n = rd_var(r, HIST_VALUE_MAX);

	memset(v, 0, sizeof(*v));
	if (r->bad || rd_left(r) < n || hist_value_decode(kind, r->p + r->off, (size_t)n, v)) {
		r->bad = true;
		return;
	}
	r->off += (size_t)n;
}

int hist_block_next(struct hist_block_rd *b, struct hist_record *rec)
{
	struct rd r = {.p = b->p, .len = b->len, .off = b->off};
	struct change *c = &rec->u.change;

	if (!b->left)
		return b->off == b->len && b->seq == b->last_seq ? 0 : -1;
	memset(rec, 0, sizeof(*rec));
	uint64_t dseq = rd_var(&r, UINT64_MAX), dt = rd_var(&r, UINT64_MAX);
	int64_t d = (int64_t)(dt >> 1) ^ -(int64_t)(dt & 1);
	rec->type = HIST_CHANGE;
	rec->seq = b->seq + dseq;
	rec->when_ns = b->when + (uint64_t)d;
	c->index = (uint32_t)rec->seq; /* mvpnChangeIndex: seq's low 32 bits */
	c->kind = rd_u8(&r);
	c->vpn_index = (uint32_t)rd_var(&r, UINT32_MAX);
	rd_addr(&r, &c->pe);
	rd_addr(&r, &c->peer);
	rd_addr(&r, &c->c_source);
	rd_addr(&r, &c->c_group);
	rd_addr(&r, &c->p_group);
	get_value(&r, c->kind, &c->previous);
	get_value(&r, c->kind, &c->current);
	if (r.bad || rec->seq < b->seq || rec->seq > b->last_seq || rec->when_ns < b->t_min ||
	    rec->when_ns > b->t_max)
		return -1;
	b->off = r.off;
	b->seq = rec->seq;
	b->when = rec->when_ns;
	b->left--;
	return 1;
}
