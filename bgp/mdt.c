#include "mdt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../mib/bgpmdt.h"
#include "../mib/log.h"
#include "../mib/seek.h"

void bgp_mdt_init(struct bgp_mdt *b, struct model *m)
{
	memset(b, 0, sizeof(*b));
	b->m = m;
	b->max_discovered = 1000;
}

void bgp_mdt_free(struct bgp_mdt *b)
{
	free(b->by_group);
	b->by_group = NULL;
	b->n = b->cap = 0;
	refused_free(&b->not_counted);
}

static uint32_t v4_of(const struct inet_addr *a)
{
	return (uint32_t)a->bytes[0] << 24 | (uint32_t)a->bytes[1] << 16 |
	       (uint32_t)a->bytes[2] << 8 | a->bytes[3];
}

uint32_t bgp_mdt_discovered_index(uint32_t group)
{
	return group; /* a multicast group is never 0: a valid index */
}

static int by_group_cmp(const void *x, const void *y)
{
	const struct mdt_vpn *a = x, *b = y;

	return a->group < b->group ? -1 : a->group > b->group;
}

bool bgp_mdt_reindex(struct bgp_mdt *b)
{
	const struct model *m = b->m;
	struct mdt_vpn *v = m->n_vpns ? malloc(m->n_vpns * sizeof(*v)) : NULL;
	size_t n = 0;

	if (m->n_vpns && !v)
		return false;
	b->discovered = 0;
	for (size_t i = 0; i < m->n_vpns; i++) {
		const struct vpn *vpn = m->vpns[i];
		b->discovered += vpn->discovered;
		/* RFC 6037's MDT SAFI carries IPv4 groups only (AFI 1). */
		if (vpn->default_mdt.type == INET_IPV4)
			v[n++] = (struct mdt_vpn){.group = v4_of(&vpn->default_mdt),
						  .vpn_index = vpn->index};
	}
	if (n)
		qsort(v, n, sizeof(*v), by_group_cmp);
	free(b->by_group);
	b->by_group = v;
	b->n = b->cap = n;
	return true;
}

static struct vpn *vpn_of_group(const struct bgp_mdt *b, uint32_t group)
{
	struct mdt_vpn key = {.group = group};
	const struct mdt_vpn *hit = b->n ? bsearch(&key, b->by_group, b->n, sizeof(key),
						   by_group_cmp)
					 : NULL;

	return hit ? vpn_find(b->m, hit->vpn_index) : NULL;
}

struct group_key {
	const struct bgp_mdt *b;
	uint32_t group;
};

static bool group_at_or_past(const void *ctx, size_t i)
{
	const struct group_key *k = ctx;

	return k->b->by_group[i].group >= k->group;
}

static bool index_add(struct bgp_mdt *b, uint32_t group, uint32_t index)
{
	size_t pos;

	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		struct mdt_vpn *grown = realloc(b->by_group, cap * sizeof(*grown));
		if (!grown)
			return false;
		b->by_group = grown, b->cap = cap;
	}
	pos = seek_first(b->n, &(struct group_key){b, group}, group_at_or_past);
	memmove(b->by_group + pos + 1, b->by_group + pos, (b->n - pos) * sizeof(*b->by_group));
	b->by_group[pos] = (struct mdt_vpn){.group = group, .vpn_index = index};
	b->n++;
	return true;
}

/* Logged at powers of two: a flood of refusals does not flood the log. */
static void refuse(struct bgp_mdt *b, const struct inet_addr *group, const char *why)
{
	char g[INET_ADDR_STRLEN];
	uint64_t n = ++b->refused;

	if ((n & (n - 1)) == 0)
		mvpn_log(LOG_WARNING, "bmp: default MDT %s not discovered: %s (%llu so far)",
			 inet_addr_format(group, g), why, (unsigned long long)b->refused);
}

/* A VPN row for a default MDT that BGP advertises and no VPN has. */
static struct vpn *discover(struct bgp_mdt *b, const struct inet_addr *group, mtime_t now)
{
	uint32_t index = bgp_mdt_discovered_index(v4_of(group));
	char name[VPN_NAME_MAX + 1], g[INET_ADDR_STRLEN];
	struct vpn *v;

	if (b->discovered >= b->max_discovered) {
		refuse(b, group, "max-discovered-vpns reached");
		return NULL;
	}
	if (vpn_find(b->m, index)) {
		refuse(b, group, "a configured VPN has its index");
		return NULL;
	}
	snprintf(name, sizeof(name), "mdt-%s", inet_addr_format(group, g));
	if (!(v = vpn_get(b->m, index)) || !vpn_configure(v, name, group, NULL, 0) ||
	    !index_add(b, v4_of(group), index)) {
		if (v)
			vpn_remove(b->m, index);
		refuse(b, group, "out of memory");
		return NULL;
	}
	v->discovered = true;
	vpn_set_expect_bgp(b->m, v, true, now);
	b->discovered++;
	b->vpns_changed = true;
	mvpn_log(LOG_INFO, "bmp: vpn \"%s\" (index %u) discovered from BGP's MDT SAFI", name,
		 index);
	return v;
}

static void count_route(struct bgp_mdt *b, const struct route *r, bool add)
{
	struct mvpn_route mr;
	mtime_t now = mclock_now(&b->m->clock);
	struct vpn *v;

	if (bgp_nlri_decode(BGP_FAM_MDT, route_key(r), r->key_len, &mr) != BGP_OK ||
	    mr.group.type != INET_IPV4 || mr.origin.type != INET_IPV4) {
		b->undecodable++; /* the collector stores only what decoded */
		return;
	}
	b->routes += add ? 1 : -1;
	v = vpn_of_group(b, v4_of(&mr.group));
	if (!v && add && b->discover)
		v = discover(b, &mr.group, now);
	if (!v) {
		b->unmatched += add ? 1 : -1;
		return;
	}
	/* A route a full table refused takes back nothing: not another's count. */
	if (!add && refused_take(&b->not_counted, r))
		return;
	if (!vpn_bgp_route(b->m, v, &mr.origin, add, now) && add)
		refused_add(&b->not_counted, r);
}

void bgp_mdt_on_change(void *arg, const struct route_change *ch)
{
	struct bgp_mdt *b = arg;

	/* A replaced route is the same NLRI with other attributes: the same PE. */
	if (ch->route->family != BGP_FAM_MDT)
		return;
	if (ch->ev == ROUTE_EV_REPLACE) {
		refused_replace(&b->not_counted, ch->old, ch->route);
		return;
	}
	count_route(b, ch->route, ch->ev == ROUTE_EV_ADD);
}

static void recount_one(void *arg, const struct bmp_router *r, const struct bmp_peer *p,
			const struct route *route)
{
	(void)r, (void)p;
	count_route(arg, route, true);
}

void bgp_mdt_resync(struct bgp_mdt *b, const struct bmp_collector *c)
{
	b->routes = b->unmatched = 0;
	refused_clear(&b->not_counted); /* each is tried again */
	if (c)
		bmp_collector_foreach(c, BGP_FAM_MDT, false, 0, recount_one, b);
}
