#include "mvpn.h"

#include <stdlib.h>
#include <string.h>

#include "../mib/bgpmdt.h"

void bgp_mvpn_init(struct bgp_mvpn *b, struct model *m)
{
	memset(b, 0, sizeof(*b));
	b->m = m;
}

void bgp_mvpn_free(struct bgp_mvpn *b)
{
	free(b->by_rd);
	b->by_rd = NULL;
	b->n = 0;
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

static void count_route(struct bgp_mvpn *b, const struct route *r, bool add)
{
	struct mvpn_route mr;
	struct vpn *v;

	if (bgp_nlri_decode(r->family, route_key(r), r->key_len, &mr) != BGP_OK)
		return; /* the collector keeps only what decoded */
	if (mr.type != MVPN_INTRA_AS_IPMSI_AD) {
		b->not_applied += add ? 1 : -1;
		return;
	}
	b->ipmsi += add ? 1 : -1;
	if (!(v = vpn_of_rd(b, mr.rd))) {
		b->unmatched += add ? 1 : -1;
		return;
	}
	vpn_bgp_route(b->m, v, &mr.origin, add, mclock_now(&b->m->clock));
}

void bgp_mvpn_on_change(void *arg, const struct route_change *ch)
{
	/* A replaced route is the same NLRI (the same PE) with other attributes. */
	if ((ch->route->family != BGP_FAM_MVPN4 && ch->route->family != BGP_FAM_MVPN6) ||
	    ch->ev == ROUTE_EV_REPLACE)
		return;
	count_route(arg, ch->route, ch->ev == ROUTE_EV_ADD);
}

static void recount_one(void *arg, const struct bmp_router *r, const struct bmp_peer *p,
			const struct route *route)
{
	(void)r, (void)p;
	if (route->family == BGP_FAM_MVPN4 || route->family == BGP_FAM_MVPN6)
		count_route(arg, route, true);
}

void bgp_mvpn_resync(struct bgp_mvpn *b, const struct bmp_collector *c)
{
	b->ipmsi = b->unmatched = b->not_applied = 0;
	if (c)
		bmp_collector_foreach(c, BGP_FAM_COUNT, false, 0, recount_one, b);
}
