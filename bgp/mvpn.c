#include "mvpn.h"

#include <stdlib.h>
#include <string.h>

#include "../mib/bgpmdt.h"
#include "../mib/passive.h"
#include "../mib/seek.h"

void bgp_mvpn_init(struct bgp_mvpn *b, struct model *m)
{
	memset(b, 0, sizeof(*b));
	b->m = m;
}

static void tunnels_clear(struct bgp_mvpn *b)
{
	for (size_t i = 0; i < b->n_tunnels; i++) {
		free(b->tunnels[i]->holders);
		free(b->tunnels[i]);
	}
	b->n_tunnels = 0;
}

void bgp_mvpn_free(struct bgp_mvpn *b)
{
	free(b->by_rd);
	b->by_rd = NULL;
	b->n = 0;
	tunnels_clear(b);
	refused_free(&b->not_counted);
	free(b->tunnels);
	b->tunnels = NULL;
	b->cap_tunnels = 0;
}

/* ---- mvpnPTunnelTable ---- */

/* What a route of types 1, 3, 4 or 5 makes a row of: its index and the
 * Leaf A-D's key origin. */
struct ptunnel_id {
	uint8_t route_type;
	struct inet_addr source, group, origin, key_origin;
};

static void ptunnel_key(uint32_t vpn, const struct ptunnel_id *id, struct oidx *out)
{
	oidx_reset(out);
	oidx_push(out, vpn);
	oidx_push(out, id->route_type);
	oidx_push_addr(out, &id->source);
	oidx_push_addr(out, &id->group);
	oidx_push_addr(out, &id->origin);
}

struct ptunnel_key {
	const struct bgp_mvpn *b;
	const uint32_t *key;
	size_t len;
	bool after;
};

static bool ptunnel_at_or_past(const void *ctx, size_t i)
{
	const struct ptunnel_key *k = ctx;

	return oidx_seek_ok(&k->b->tunnels[i]->index, k->key, k->len, k->after);
}

/* Position of the first row whose index is >= key (> key if after). */
static size_t ptunnel_pos(const struct bgp_mvpn *b, const uint32_t *key, size_t len, bool after)
{
	struct ptunnel_key k = {b, key, len, after};

	return seek_first(b->n_tunnels, &k, ptunnel_at_or_past);
}

const struct ptunnel *bgp_mvpn_ptunnel_seek(const struct bgp_mvpn *b, const uint32_t *want,
					    size_t wlen, bool after)
{
	size_t i = ptunnel_pos(b, want, wlen, after);

	return i < b->n_tunnels ? b->tunnels[i] : NULL;
}

/* The attribute as the route carries it: RFC 6514 5 (flags, type, label, id). */
static void ptunnel_show(struct ptunnel *t, const uint8_t *raw, size_t len)
{
	struct pmsi_tunnel pt;

	t->has_pmsi = raw && len >= 5 && bgp_pmsi_decode(raw, len, &pt) == BGP_OK;
	t->tunnel_type = t->has_pmsi ? pt.type : PMSI_NONE;
	t->flags = t->has_pmsi ? pt.flags : 0;
	t->label = t->has_pmsi ? pt.label : 0;
	t->id_len = t->has_pmsi ? len - 5 : 0;
	if (t->id_len)
		memcpy(t->id, raw + 5, t->id_len);
}

static const uint8_t *route_pmsi_of(const struct route *r, size_t *len)
{
	*len = 0;
	return route_attr(r, ROUTE_ATTR_PMSI, len);
}

/* The holder of this attribute (len 0: none), or n_holders. */
static size_t holder_find(const struct ptunnel *t, const uint8_t *raw, size_t len)
{
	size_t i = 0;

	while (i < t->n_holders && (t->holders[i].len != len ||
				    (len && memcmp(t->holders[i].pmsi, raw, len))))
		i++;
	return i;
}

/* The row shows the attribute heard last among those its routes still carry. */
static void ptunnel_show_last(struct ptunnel *t)
{
	const struct pmsi_holder *h = t->n_holders ? &t->holders[t->n_holders - 1] : NULL;

	ptunnel_show(t, h ? h->pmsi : NULL, h ? h->len : 0);
}

/* One more route carries this attribute: it becomes the one shown. */
static bool holder_add(struct ptunnel *t, const struct route *r)
{
	size_t len, i;
	const uint8_t *raw = route_pmsi_of(r, &len);
	struct pmsi_holder h = {0};

	if ((i = holder_find(t, raw, len)) < t->n_holders) {
		h = t->holders[i];
		memmove(t->holders + i, t->holders + i + 1, (t->n_holders - i - 1) * sizeof(h));
		t->n_holders--;
	} else {
		h.len = (uint8_t)len;
		if (len)
			memcpy(h.pmsi, raw, len);
	}
	struct pmsi_holder *grown = realloc(t->holders, (t->n_holders + 1) * sizeof(h));
	if (!grown)
		return false;
	t->holders = grown;
	h.routes++;
	t->holders[t->n_holders++] = h;
	ptunnel_show_last(t);
	return true;
}

/* A route that carried this attribute went. */
static void holder_del(struct ptunnel *t, const struct route *r)
{
	size_t len, i;
	const uint8_t *raw = route_pmsi_of(r, &len);

	if ((i = holder_find(t, raw, len)) == t->n_holders)
		return;
	if (--t->holders[i].routes == 0) {
		memmove(t->holders + i, t->holders + i + 1,
			(t->n_holders - i - 1) * sizeof(*t->holders));
		t->n_holders--;
	}
	ptunnel_show_last(t);
}

/* The row with this key: its position, and whether it is there. */
static bool ptunnel_at(const struct bgp_mvpn *b, const struct oidx *key, size_t *i)
{
	*i = ptunnel_pos(b, key->sub, key->len, false);
	return *i < b->n_tunnels &&
	       oidx_cmp(b->tunnels[*i]->index.sub, b->tunnels[*i]->index.len, key->sub,
			key->len) == 0;
}

static void ptunnel_add(struct bgp_mvpn *b, uint32_t vpn, const struct ptunnel_id *id,
			const struct route *r)
{
	struct oidx key;
	size_t i;
	struct ptunnel *t;

	ptunnel_key(vpn, id, &key);
	if (ptunnel_at(b, &key, &i)) {
		if (holder_add(b->tunnels[i], r)) {
			b->tunnels[i]->routes++;
			b->tunnels[i]->key_origin = id->key_origin;
		}
		return;
	}
	if (b->n_tunnels == b->cap_tunnels) {
		size_t cap = b->cap_tunnels ? b->cap_tunnels * 2 : 16;
		struct ptunnel **grown = realloc(b->tunnels, cap * sizeof(*grown));
		if (!grown)
			return; /* the row is missing, the PE counted: a table is not a PE */
		b->tunnels = grown, b->cap_tunnels = cap;
	}
	if (!(t = calloc(1, sizeof(*t))))
		return;
	*t = (struct ptunnel){.index = key, .vpn_index = vpn, .route_type = id->route_type,
			      .source = id->source, .group = id->group, .origin = id->origin,
			      .key_origin = id->key_origin, .routes = 1};
	if (!holder_add(t, r)) {
		free(t);
		return;
	}
	memmove(b->tunnels + i + 1, b->tunnels + i, (b->n_tunnels - i) * sizeof(*b->tunnels));
	b->tunnels[i] = t;
	b->n_tunnels++;
}

static void ptunnel_withdraw(struct bgp_mvpn *b, uint32_t vpn, const struct ptunnel_id *id,
			     const struct route *r)
{
	struct oidx key;
	size_t i;

	ptunnel_key(vpn, id, &key);
	if (!ptunnel_at(b, &key, &i))
		return; /* never made (no memory) */
	holder_del(b->tunnels[i], r);
	if (--b->tunnels[i]->routes)
		return;
	free(b->tunnels[i]->holders);
	free(b->tunnels[i]);
	memmove(b->tunnels + i, b->tunnels + i + 1, (b->n_tunnels - i - 1) * sizeof(*b->tunnels));
	b->n_tunnels--;
}

static int rd_cmp(const void *x, const void *y)
{
	const struct mvpn_rd *a = x, *b = y;

	return a->rd < b->rd ? -1 : a->rd > b->rd;
}

bool bgp_mvpn_set_rds(struct bgp_mvpn *b, const struct mvpn_rd *rds, size_t n)
{
	struct mvpn_rd *copy = n ? malloc(n * sizeof(*copy)) : NULL;

	if (n && !copy)
		return false;
	if (n) {
		memcpy(copy, rds, n * sizeof(*copy));
		qsort(copy, n, sizeof(*copy), rd_cmp);
	}
	free(b->by_rd);
	b->by_rd = copy;
	b->n = n;
	return true;
}

static struct vpn *vpn_of_rd(const struct bgp_mvpn *b, bgp_rd rd)
{
	struct mvpn_rd key = {.rd = rd};
	const struct mvpn_rd *hit = b->n ? bsearch(&key, b->by_rd, b->n, sizeof(key), rd_cmp)
					 : NULL;
	struct vpn *v = hit ? vpn_find(b->m, hit->vpn_index) : NULL;

	return v && v->bgp_signalled ? v : NULL;
}

/*
 * Who stands behind a route whose NLRI names no originating router (Source
 * Active, C-multicast: RFC 6514 4.5, 4.6): the ORIGINATOR_ID a route
 * reflector put on it (RFC 4456 8), else the peer the monitored router heard
 * it from.
 */
static struct inet_addr advertiser(const struct route *r, const struct bmp_peer *p)
{
	size_t len = 0;
	const uint8_t *id = route_attr(r, ROUTE_ATTR_ORIGINATOR, &len);
	struct inet_addr a = p->addr;

	if (id && len == 4)
		inet_addr_v4(&a, id);
	return a;
}

/* The upstream PE a C-multicast route's C-multicast Import RT names
 * (RFC 6514 11.1.3); false when it carries none. */
static bool upstream_of(const struct route *r, struct inet_addr *out)
{
	size_t len = 0;
	const uint8_t *rt = route_attr(r, ROUTE_ATTR_IMPORT_RT, &len);

	if (rt && len == 4)
		inet_addr_v4(out, rt);
	else if (rt && len == 16)
		inet_addr_v6(out, rt);
	return rt && (len == 4 || len == 16);
}

/* Types 6 and 7 (RFC 6514 4.6): a downstream PE joins a C-tree through the
 * upstream PE, in the C-group->PE rows. */
static void cmcast_route(struct bgp_mvpn *b, struct vpn *v, const struct mvpn_route *mr,
			 const struct route *r, const struct bmp_peer *p, int step)
{
	struct jp_event e = {.sender = advertiser(r, p), .group = mr->group};

	b->cmcast += (size_t)step;
	if (!v || !upstream_of(r, &e.upstream)) {
		b->not_applied += (size_t)step;
		return;
	}
	/* A Shared Tree Join's C-source is the C-RP (RFC 6514 4.6, 11.1.1). */
	e.kind = mr->type == MVPN_SHARED_TREE_JOIN ? CG_STAR_G : CG_SG;
	e.source = mr->source;
	if (step < 0 && refused_take(&b->not_counted, r))
		return; /* a cap refused it: it takes back nothing */
	if (!passive_bgp_join(b->m, v, &e, step > 0) && step > 0)
		refused_add(&b->not_counted, r);
}

/* The mvpnPTunnelTable row of types 1 and 3 (the route's own C-(S,G) and
 * originating router), 4 (its route key's C-(S,G), the leaf), 5 (its
 * C-(S,G), the advertiser), and the VPN whose RD the route (4: its key)
 * carries. */
static struct vpn *ptunnel_id_of(const struct bgp_mvpn *b, const struct mvpn_route *mr,
				 const struct route *r, const struct bmp_peer *p,
				 struct ptunnel_id *id)
{
	*id = (struct ptunnel_id){.route_type = mr->type, .source = mr->source,
				  .group = mr->group, .origin = mr->origin};
	if (mr->type == MVPN_LEAF_AD) {
		id->source = mr->key_source, id->group = mr->key_group;
		id->key_origin = mr->key_origin;
		return vpn_of_rd(b, mr->key_rd);
	}
	if (mr->type == MVPN_SOURCE_ACTIVE_AD)
		id->origin = advertiser(r, p);
	return vpn_of_rd(b, mr->rd);
}

/*
 * One route held (step 1) or gone (step -1).  Type 1 makes a PE of the VPN (RFC
 * 6514 9.1.1); types 1, 3, 4 and 5 rows of mvpnPTunnelTable; 6 and 7
 * C-group->PE rows; type 2 (Inter-AS) is counted.
 */
static void count_route(struct bgp_mvpn *b, const struct route *r, const struct bmp_peer *p,
			int step)
{
	struct mvpn_route mr;
	struct ptunnel_id id;
	struct vpn *v;

	if (bgp_nlri_decode(r->family, route_key(r), r->key_len, &mr) != BGP_OK)
		return; /* the collector keeps only what decoded */
	if (mr.type == MVPN_INTER_AS_IPMSI_AD) {
		b->not_applied += (size_t)step;
		return;
	}
	if (mr.type == MVPN_SHARED_TREE_JOIN || mr.type == MVPN_SOURCE_TREE_JOIN) {
		if (step)
			cmcast_route(b, vpn_of_rd(b, mr.rd), &mr, r, p, step);
		return;
	}
	v = ptunnel_id_of(b, &mr, r, p, &id);
	if (v && step > 0)
		ptunnel_add(b, v->index, &id, r);
	else if (v && step < 0)
		ptunnel_withdraw(b, v->index, &id, r);
	if (!v && mr.type != MVPN_INTRA_AS_IPMSI_AD)
		b->not_applied += (size_t)step;
	if (mr.type != MVPN_INTRA_AS_IPMSI_AD || !step)
		return;
	b->ipmsi += (size_t)step;
	if (!v)
		b->unmatched += (size_t)step;
	else if (step < 0 && refused_take(&b->not_counted, r))
		return; /* a full PE table refused it: it takes back nothing */
	else if (!vpn_bgp_route(b->m, v, &mr.origin, step > 0, mclock_now(&b->m->clock)) && step > 0)
		refused_add(&b->not_counted, r);
}

void bgp_mvpn_on_change(void *arg, const struct route_change *ch)
{
	struct bgp_mvpn *b = arg;

	if (ch->route->family != BGP_FAM_MVPN4 && ch->route->family != BGP_FAM_MVPN6)
		return;
	if (ch->ev != ROUTE_EV_REPLACE) {
		count_route(b, ch->route, ch->peer, ch->ev == ROUTE_EV_ADD ? 1 : -1);
		return;
	}
	/* The same NLRI with other attributes (a P-tunnel, or for Source Active
	 * and C-multicast routes, the PEs they name): the new one held, then the
	 * old one gone, so a row that stays is never let go in between. */
	count_route(b, ch->route, ch->peer, 1);
	if (ch->old)
		count_route(b, ch->old, ch->peer, -1);
}

static void recount_one(void *arg, const struct bmp_router *r, const struct bmp_peer *p,
			const struct route *route)
{
	(void)r;
	if (route->family == BGP_FAM_MVPN4 || route->family == BGP_FAM_MVPN6)
		count_route(arg, route, p, 1);
}

void bgp_mvpn_resync(struct bgp_mvpn *b, const struct bmp_collector *c)
{
	b->ipmsi = b->unmatched = b->not_applied = b->cmcast = 0;
	refused_clear(&b->not_counted); /* each is tried again */
	tunnels_clear(b);
	if (c)
		bmp_collector_foreach(c, BGP_FAM_COUNT, false, 0, recount_one, b);
}
