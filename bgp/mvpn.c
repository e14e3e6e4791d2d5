#include "mvpn.h"

#include <stdlib.h>
#include <string.h>

#include "../mib/bgpmdt.h"
#include "../mib/seek.h"

void bgp_mvpn_init(struct bgp_mvpn *b, struct model *m)
{
	memset(b, 0, sizeof(*b));
	b->m = m;
}

static void tunnels_clear(struct bgp_mvpn *b)
{
	for (size_t i = 0; i < b->n_tunnels; i++)
		free(b->tunnels[i]);
	b->n_tunnels = 0;
}

void bgp_mvpn_free(struct bgp_mvpn *b)
{
	free(b->by_rd);
	b->by_rd = NULL;
	b->n = 0;
	tunnels_clear(b);
	free(b->tunnels);
	b->tunnels = NULL;
	b->cap_tunnels = 0;
}

/* ---- mvpnPTunnelTable ---- */

static void ptunnel_key(uint32_t vpn, const struct mvpn_route *mr, struct oidx *out)
{
	oidx_reset(out);
	oidx_push(out, vpn);
	oidx_push(out, mr->type);
	oidx_push_addr(out, &mr->source);
	oidx_push_addr(out, &mr->group);
	oidx_push_addr(out, &mr->origin);
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
static void ptunnel_set_pmsi(struct ptunnel *t, const struct route *r)
{
	struct pmsi_tunnel pt;
	const uint8_t *raw = route_pmsi(r);

	t->has_pmsi = r->pmsi_len >= 5 && bgp_pmsi_decode(raw, r->pmsi_len, &pt) == BGP_OK;
	t->tunnel_type = t->has_pmsi ? pt.type : PMSI_NONE;
	t->flags = t->has_pmsi ? pt.flags : 0;
	t->label = t->has_pmsi ? pt.label : 0;
	t->id_len = t->has_pmsi ? (size_t)r->pmsi_len - 5 : 0;
	if (t->id_len)
		memcpy(t->id, raw + 5, t->id_len);
}

static void ptunnel_add(struct bgp_mvpn *b, uint32_t vpn, const struct mvpn_route *mr,
			const struct route *r)
{
	struct oidx key;
	size_t i;
	struct ptunnel *t;

	ptunnel_key(vpn, mr, &key);
	i = ptunnel_pos(b, key.sub, key.len, false);
	if (i < b->n_tunnels && oidx_cmp(b->tunnels[i]->index.sub, b->tunnels[i]->index.len,
					 key.sub, key.len) == 0) {
		b->tunnels[i]->routes++;
		ptunnel_set_pmsi(b->tunnels[i], r);
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
	*t = (struct ptunnel){.index = key, .vpn_index = vpn, .route_type = mr->type,
			      .source = mr->source, .group = mr->group, .origin = mr->origin,
			      .routes = 1};
	ptunnel_set_pmsi(t, r);
	memmove(b->tunnels + i + 1, b->tunnels + i, (b->n_tunnels - i) * sizeof(*b->tunnels));
	b->tunnels[i] = t;
	b->n_tunnels++;
}

static void ptunnel_update(struct bgp_mvpn *b, uint32_t vpn, const struct mvpn_route *mr,
			   const struct route *r, bool withdraw)
{
	struct oidx key;
	size_t i;

	ptunnel_key(vpn, mr, &key);
	i = ptunnel_pos(b, key.sub, key.len, false);
	if (i == b->n_tunnels ||
	    oidx_cmp(b->tunnels[i]->index.sub, b->tunnels[i]->index.len, key.sub, key.len) != 0)
		return; /* never made (no memory) */
	if (!withdraw) {
		ptunnel_set_pmsi(b->tunnels[i], r);
		return;
	}
	if (--b->tunnels[i]->routes)
		return;
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

static void tunnel_event(struct bgp_mvpn *b, uint32_t vpn, const struct mvpn_route *mr,
			 const struct route *r, enum route_event ev)
{
	if (ev == ROUTE_EV_ADD)
		ptunnel_add(b, vpn, mr, r);
	else
		ptunnel_update(b, vpn, mr, r, ev == ROUTE_EV_WITHDRAW);
}

/*
 * Type 1 makes a PE of the VPN (RFC 6514 9.1.1) and a row of its P-tunnels;
 * type 3 a row of its P-tunnels (RFC 6514 9.1.2); the others are counted.
 */
static void count_route(struct bgp_mvpn *b, const struct route *r, enum route_event ev)
{
	struct mvpn_route mr;
	struct vpn *v;
	int step = ev == ROUTE_EV_ADD ? 1 : ev == ROUTE_EV_WITHDRAW ? -1 : 0;

	if (bgp_nlri_decode(r->family, route_key(r), r->key_len, &mr) != BGP_OK)
		return; /* the collector keeps only what decoded */
	if (mr.type != MVPN_INTRA_AS_IPMSI_AD && mr.type != MVPN_SPMSI_AD) {
		b->not_applied += (size_t)step;
		return;
	}
	v = vpn_of_rd(b, mr.rd);
	if (v)
		tunnel_event(b, v->index, &mr, r, ev);
	if (mr.type != MVPN_INTRA_AS_IPMSI_AD || !step)
		return;
	b->ipmsi += (size_t)step;
	if (!v)
		b->unmatched += (size_t)step;
	else
		vpn_bgp_route(b->m, v, &mr.origin, step > 0, mclock_now(&b->m->clock));
}

void bgp_mvpn_on_change(void *arg, const struct route_change *ch)
{
	/* A replaced route is the same NLRI (the same PE) with another PMSI Tunnel. */
	if (ch->route->family != BGP_FAM_MVPN4 && ch->route->family != BGP_FAM_MVPN6)
		return;
	count_route(arg, ch->route, ch->ev);
}

static void recount_one(void *arg, const struct bmp_router *r, const struct bmp_peer *p,
			const struct route *route)
{
	(void)r, (void)p;
	if (route->family == BGP_FAM_MVPN4 || route->family == BGP_FAM_MVPN6)
		count_route(arg, route, ROUTE_EV_ADD);
}

void bgp_mvpn_resync(struct bgp_mvpn *b, const struct bmp_collector *c)
{
	b->ipmsi = b->unmatched = b->not_applied = 0;
	tunnels_clear(b);
	if (c)
		bmp_collector_foreach(c, BGP_FAM_COUNT, false, 0, recount_one, b);
}
