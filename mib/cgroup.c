#include "cgroup.h"

#include <stdlib.h>
#include <string.h>

/* Orders flows as their SNMP index does: group, then source. */
static int flow_cmp(const struct flow *a, const struct flow *b)
{
	int c = inet_addr_cmp(&a->group, &b->group);
	return c ? c : inet_addr_cmp(&a->source, &b->source);
}

/* Orders a flow's rows as the rest of their SNMP index does: kind, PE, role. */
static int cgpe_cmp(const struct cgpe *a, const struct cgpe *b)
{
	int c;

	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	c = inet_addr_cmp(&a->pe, &b->pe);
	if (c)
		return c;
	return a->role == b->role ? 0 : a->role < b->role ? -1 : 1;
}

RB_GENERATE_STATIC(flow_tree, flow, node, flow_cmp)
RB_GENERATE_STATIC(cgpe_tree, cgpe, node, cgpe_cmp)

void cgroup_pool_init(struct cgroup_pool *p)
{
	slab_init(&p->flows, sizeof(struct flow), _Alignof(struct flow));
	slab_init(&p->rows, sizeof(struct cgpe), _Alignof(struct cgpe));
}

void cgroup_pool_free(struct cgroup_pool *p)
{
	slab_destroy(&p->flows);
	slab_destroy(&p->rows);
}

void cgroup_init(struct cgroup_state *cg, struct timers *timers, struct cgroup_pool *pool)
{
	memset(cg, 0, sizeof(*cg));
	RB_INIT(&cg->flows);
	cg->timers = timers;
	cg->pool = pool;
}

/* ---- the flows' hash, by (group, source) ---- */

/* The meaningful bytes only (inet_addr_len): equal addresses hash alike. */
static inline uint64_t addr_hash(const struct inet_addr *a, uint64_t h)
{
	if (a->type == INET_IPV4) {
		uint32_t x;
		memcpy(&x, a->bytes, 4);
		return (h ^ x ^ (uint64_t)INET_IPV4 << 32) * 0x9e3779b97f4a7c15ull;
	}
	if (a->type == INET_IPV6) {
		uint64_t x, y;
		memcpy(&x, a->bytes, 8);
		memcpy(&y, a->bytes + 8, 8);
		h = (h ^ x) * 0x9e3779b97f4a7c15ull;
		return (h ^ y ^ (uint64_t)INET_IPV6 << 32) * 0xc2b2ae3d27d4eb4full;
	}
	return (h ^ a->type) * 0x9e3779b97f4a7c15ull;
}

/* A product's low bits depend only on the multiplicand's low bits, so the
 * words' high bytes (the last of an address, read little-endian: what varies
 * most between flows) reach the bucket's bits only through this finish,
 * MurmurHash3's: without it, IPv6 groups that differ in their last two bytes
 * shared a bucket, and a flood of them made every lookup walk them all. */
static inline uint64_t hash_finish(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	return h ^ h >> 33;
}

static inline uint32_t flow_bucket(const struct cgroup_state *cg, const struct inet_addr *group,
				   const struct inet_addr *source)
{
	return (uint32_t)hash_finish(addr_hash(source, addr_hash(group, 0))) & (cg->n_buckets - 1);
}

/* Room in the hash for one flow more: it keeps at least a bucket a flow.
 * False only when it has no bucket at all and none can be had. */
static bool hash_reserve(struct cgroup_state *cg)
{
	if (cg->n_flows < cg->n_buckets)
		return true;
	uint32_t n = cg->n_buckets ? 2 * cg->n_buckets : 16;
	struct flow **b = n > cg->n_buckets ? calloc(n, sizeof(*b)) : NULL;
	if (!b)
		return cg->n_buckets > 0; /* longer chains, still right */
	uint32_t old_n = cg->n_buckets;
	struct flow **old = cg->buckets;
	cg->buckets = b;
	cg->n_buckets = n;
	for (uint32_t i = 0; i < old_n; i++)
		for (struct flow *f = old[i], *next; f; f = next) {
			next = f->hnext;
			uint32_t at = flow_bucket(cg, &f->group, &f->source);
			f->hnext = b[at];
			b[at] = f;
		}
	free(old);
	return true;
}

/* inet_addr_eq without ordering: the meaningful bytes compared as words. */
static inline bool addr_same(const struct inet_addr *a, const struct inet_addr *b)
{
	if (a->type != b->type)
		return false;
	if (a->type == INET_IPV4) {
		uint32_t x, y;
		memcpy(&x, a->bytes, 4);
		memcpy(&y, b->bytes, 4);
		return x == y;
	}
	if (a->type == INET_IPV6) {
		uint64_t x[2], y[2];
		memcpy(x, a->bytes, 16);
		memcpy(y, b->bytes, 16);
		return ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
	}
	return true; /* unknown: no bytes */
}

static void hash_remove(struct cgroup_state *cg, struct flow *f)
{
	struct flow **p = &cg->buckets[flow_bucket(cg, &f->group, &f->source)];

	while (*p != f)
		p = &(*p)->hnext;
	*p = f->hnext;
}

void cgroup_free(struct cgroup_state *cg)
{
	struct cgpe *r, *rnext;
	struct flow *f, *fnext;

	RB_FOREACH_SAFE(f, flow_tree, &cg->flows, fnext) {
		RB_FOREACH_SAFE(r, cgpe_tree, &f->row_tree, rnext) {
			RB_REMOVE(cgpe_tree, &f->row_tree, r);
			timers_remove(cg->timers, &r->timer);
			slab_free(&cg->pool->rows, r);
		}
		RB_REMOVE(flow_tree, &cg->flows, f);
		timers_remove(cg->timers, &f->timer);
		slab_free(&cg->pool->flows, f);
	}
	free(cg->buckets);
	cgroup_init(cg, cg->timers, cg->pool);
}

/*
 * The flow (group, source) from the hash if it is there; else NULL, with at
 * set (by one descent of the tree) to where it would go.  The key is compared
 * in place: no struct flow to build.
 */
static struct flow *flow_descend(struct cgroup_state *cg, const struct inet_addr *group,
				 const struct inet_addr *source, struct flow_pos *at);

struct flow *flow_lookup(struct cgroup_state *cg, const struct inet_addr *group,
			 const struct inet_addr *source, struct flow_pos *at)
{
	if (cg->n_buckets)
		for (struct flow *f = cg->buckets[flow_bucket(cg, group, source)]; f; f = f->hnext)
			if (addr_same(group, &f->group) && addr_same(source, &f->source))
				return f;
	return at ? flow_descend(cg, group, source, at) : NULL;
}

/* Where a flow not in the tree goes: one descent. */
static __attribute__((noinline)) struct flow *flow_descend(struct cgroup_state *cg,
							   const struct inet_addr *group,
							   const struct inet_addr *source,
							   struct flow_pos *at)
{
	struct flow *n = RB_ROOT(&cg->flows), *parent = NULL;
	int c = 0;

	while (n) {
		c = inet_addr_cmp(group, &n->group);
		if (!c)
			c = inet_addr_cmp(source, &n->source);
		if (!c)
			return n; /* not reached: the hash holds every flow of the tree */
		parent = n;
		n = c < 0 ? RB_LEFT(n, node) : RB_RIGHT(n, node);
	}
	*at = (struct flow_pos){.parent = parent, .side = c};
	return NULL;
}

struct flow *flow_find(struct cgroup_state *cg, const struct inet_addr *group,
		       const struct inet_addr *source)
{
	return flow_lookup(cg, group, source, NULL);
}

struct flow *flow_insert_at(struct cgroup_state *cg, const struct flow_pos *at, uint32_t vpn_index,
			    const struct inet_addr *group, const struct inet_addr *source,
			    mtime_t now)
{
	if (!hash_reserve(cg))
		return NULL;
	struct flow *f = slab_alloc(&cg->pool->flows);

	if (!f || !timers_add(cg->timers, &f->timer, vpn_index, TIMER_DATA_MDT)) {
		slab_free(&cg->pool->flows, f);
		return NULL;
	}
	RB_INIT(&f->row_tree);
	f->vpn_index = vpn_index;
	f->group = *group;
	f->source = *source;
	f->first_seen = now;
	uint32_t b = flow_bucket(cg, group, source);
	f->hnext = cg->buckets[b];
	cg->buckets[b] = f;
	RB_SET(f, at->parent, node);
	if (!at->parent)
		RB_ROOT(&cg->flows) = f;
	else if (at->side < 0)
		RB_LEFT(at->parent, node) = f;
	else
		RB_RIGHT(at->parent, node) = f;
	flow_tree_RB_INSERT_COLOR(&cg->flows, f);
	cg->n_flows++;
	return f;
}

struct flow *flow_get(struct cgroup_state *cg, uint32_t vpn_index, const struct inet_addr *group,
		      const struct inet_addr *source, mtime_t now)
{
	struct flow_pos at;
	struct flow *f = flow_lookup(cg, group, source, &at);

	return f ? f : flow_insert_at(cg, &at, vpn_index, group, source, now);
}

void flow_unschedule(struct cgroup_state *cg, struct flow *f)
{
	timers_cancel(cg->timers, &f->timer);
}

void flow_schedule(struct cgroup_state *cg, struct flow *f, mtime_t was)
{
	timers_move(cg->timers, &f->timer, was, f->data_expires);
}

void flow_release(struct cgroup_state *cg, struct flow *f)
{
	if (f->rows > 0 || f->on_data_mdt)
		return;
	timers_remove(cg->timers, &f->timer);
	hash_remove(cg, f);
	RB_REMOVE(flow_tree, &cg->flows, f);
	cg->n_flows--;
	slab_free(&cg->pool->flows, f);
}

/* A row's key against a row of the same flow, in the tree's order (cgpe_cmp's). */
static inline int cgpe_key_cmp(uint8_t kind, const struct inet_addr *pe, uint8_t role,
			       const struct cgpe *n)
{
	int c;

	if (kind != n->kind)
		return kind < n->kind ? -1 : 1;
	c = inet_addr_cmp(pe, &n->pe);
	if (c)
		return c;
	return role == n->role ? 0 : role < n->role ? -1 : 1;
}

struct cgpe *cgpe_lookup(struct cgroup_state *cg, struct flow *f, uint8_t kind,
			 const struct inet_addr *pe, uint8_t role, struct cgpe_pos *at)
{
	struct cgpe *n = RB_ROOT(&f->row_tree), *parent = NULL;
	int c = 0;

	(void)cg;
	while (n) {
		c = cgpe_key_cmp(kind, pe, role, n);
		if (!c)
			return n;
		parent = n;
		n = c < 0 ? RB_LEFT(n, node) : RB_RIGHT(n, node);
	}
	if (at)
		*at = (struct cgpe_pos){.parent = parent, .side = c};
	return NULL;
}

struct cgpe *cgpe_find(struct cgroup_state *cg, struct flow *f, uint8_t kind,
		       const struct inet_addr *pe, uint8_t role)
{
	return cgpe_lookup(cg, f, kind, pe, role, NULL);
}

struct cgpe *cgpe_find_upstream(struct cgroup_state *cg, struct flow *f, uint8_t kind,
				const struct inet_addr *pe)
{
	struct cgpe *r = f->last_up;

	if (r && r->kind == kind && inet_addr_eq(&r->pe, pe))
		return r;
	r = cgpe_find(cg, f, kind, pe, CG_UPSTREAM);
	if (r)
		f->last_up = r;
	return r;
}

struct cgpe *cgpe_insert_at(struct cgroup_state *cg, const struct cgpe_pos *at, struct flow *f,
			    uint8_t kind, const struct inet_addr *pe, uint8_t role, mtime_t now)
{
	struct cgpe *r = slab_alloc(&cg->pool->rows);

	if (!r || !timers_add(cg->timers, &r->timer, f->vpn_index, TIMER_ROW)) {
		slab_free(&cg->pool->rows, r);
		return NULL;
	}
	r->flow = f;
	r->kind = kind;
	r->pe = *pe;
	r->role = role;
	r->first_seen = now;
	r->last_refresh = now;
	RB_SET(r, at->parent, node);
	if (!at->parent)
		RB_ROOT(&f->row_tree) = r;
	else if (at->side < 0)
		RB_LEFT(at->parent, node) = r;
	else
		RB_RIGHT(at->parent, node) = r;
	cgpe_tree_RB_INSERT_COLOR(&f->row_tree, r);
	if (role == CG_UPSTREAM)
		f->last_up = r;
	if (f->rows++ == 0)
		cg->n_joined++;
	cg->n_rows++;
	return r;
}

struct cgpe *cgpe_insert(struct cgroup_state *cg, struct flow *f, uint8_t kind,
			 const struct inet_addr *pe, uint8_t role, mtime_t now)
{
	struct cgpe_pos at;

	if (cgpe_lookup(cg, f, kind, pe, role, &at))
		return NULL; /* there already: callers look first */
	return cgpe_insert_at(cg, &at, f, kind, pe, role, now);
}

void cgpe_delete(struct cgroup_state *cg, struct cgpe *r)
{
	struct flow *f = r->flow;

	if (f->last_up == r)
		f->last_up = NULL;
	timers_remove(cg->timers, &r->timer);
	RB_REMOVE(cgpe_tree, &f->row_tree, r);
	cg->n_rows--;
	slab_free(&cg->pool->rows, r);
	if (--f->rows == 0)
		cg->n_joined--;
	flow_release(cg, f);
}

void cgpe_schedule(struct cgroup_state *cg, struct cgpe *r, mtime_t was)
{
	if (r->expires == MTIME_NEVER) { /* held until cancelled: nothing to wait for */
		timers_cancel(cg->timers, &r->timer);
		return;
	}
	timers_move(cg->timers, &r->timer, was, r->expires);
}

struct cgpe *cgpe_first_of_flow(struct cgroup_state *cg, struct flow *f, uint8_t kind)
{
	/* The smallest possible PE address and role for this (flow, kind). */
	struct cgpe key = {.flow = f, .kind = kind, .role = 0};
	struct cgpe *r = RB_NFIND(cgpe_tree, &f->row_tree, &key);

	(void)cg;
	return r && r->kind == kind ? r : NULL;
}

struct cgpe *cgpe_next_same_flow(struct cgroup_state *cg, struct cgpe *r)
{
	(void)cg;
	struct cgpe *n = RB_NEXT(cgpe_tree, &r->flow->row_tree, r);
	return n && n->kind == r->kind ? n : NULL;
}

/* The first row of f or of a flow after it; NULL: none. */
static struct cgpe *first_row_from(const struct flow *f)
{
	for (; f; f = RB_NEXT(flow_tree, NULL, (struct flow *)f))
		if (RB_ROOT(&f->row_tree))
			return RB_MIN(cgpe_tree, (struct cgpe_tree *)&f->row_tree);
	return NULL;
}

struct cgpe *cgpe_first(const struct cgroup_state *cg)
{
	return first_row_from(RB_MIN(flow_tree, (struct flow_tree *)&cg->flows));
}

struct cgpe *cgpe_next(const struct cgpe *r)
{
	struct cgpe *n = RB_NEXT(cgpe_tree, NULL, (struct cgpe *)r);

	return n ? n : first_row_from(RB_NEXT(flow_tree, NULL, r->flow));
}

struct flow *flow_first(const struct cgroup_state *cg)
{
	return RB_MIN(flow_tree, (struct flow_tree *)&cg->flows);
}

struct flow *flow_next(const struct flow *f)
{
	return RB_NEXT(flow_tree, NULL, (struct flow *)f);
}

void flow_oidx(const struct flow *f, struct oidx *out)
{
	oidx_push_addr(out, &f->group);
	oidx_push_addr(out, &f->source);
}

void cgpe_oidx(const struct cgpe *r, struct oidx *out)
{
	flow_oidx(r->flow, out);
	oidx_push(out, r->kind);
	oidx_push_addr(out, &r->pe);
	oidx_push(out, r->role);
}

/*
 * Lower bound by encoded index.  The trees' order is the index order (see the
 * cmps), so one descent finds the first node at (or after) want: O(log n)
 * nodes encoded, each a few dozen sub-identifiers.  ok must be false up to some
 * node of the tree's order and true from there on.
 */
#define DEFINE_OIDX_LOWER_BOUND(fn, type, ok)                                            \
	static struct type *fn(struct type *n, const uint32_t *want, size_t wlen, bool after) \
	{                                                                                 \
		struct type *best = NULL;                                                 \
		struct oidx x;                                                            \
		while (n) {                                                               \
			oidx_reset(&x);                                                   \
			type##_oidx(n, &x);                                               \
			if (ok(&x, want, wlen, after)) {                                  \
				best = n;                                                 \
				n = RB_LEFT(n, node);                                     \
			} else {                                                          \
				n = RB_RIGHT(n, node);                                    \
			}                                                                 \
		}                                                                         \
		return best;                                                              \
	}

DEFINE_OIDX_LOWER_BOUND(flow_lower_bound, flow, oidx_seek_ok)
DEFINE_OIDX_LOWER_BOUND(row_lower_bound, cgpe, oidx_seek_ok)

/*
 * Could a row of this flow be at or after want?  Its index starts with the
 * flow's, so yes when the flow's index is at or after as much of want as it is
 * long.  False up to a flow and true from there on: two flows' indexes are
 * never a prefix of one another (each address is typed and length-prefixed).
 */
static bool flow_may_hold(const struct oidx *flow, const uint32_t *want, size_t wlen, bool after)
{
	(void)after;
	return oidx_cmp(flow->sub, flow->len, want, wlen < flow->len ? wlen : flow->len) >= 0;
}

DEFINE_OIDX_LOWER_BOUND(flow_holding_lower_bound, flow, flow_may_hold)

const struct flow *flow_seek(const struct cgroup_state *cg, const uint32_t *want, size_t wlen,
			     bool after)
{
	return flow_lower_bound(RB_ROOT(&cg->flows), want, wlen, after);
}

/* The first flow that may hold the row sought: its rows, searched in turn; a
 * flow past it has every row after want, and the first such row is the answer. */
const struct cgpe *cgpe_seek(const struct cgroup_state *cg, const uint32_t *want, size_t wlen,
			     bool after)
{
	const struct flow *f = flow_holding_lower_bound(RB_ROOT(&cg->flows), want, wlen, after);
	const struct cgpe *r = f ? row_lower_bound(RB_ROOT(&f->row_tree), want, wlen, after) : NULL;

	return r ? r : f ? first_row_from(RB_NEXT(flow_tree, NULL, (struct flow *)f)) : NULL;
}
