/* The BMP collector's scalars, router and peer tables (mvpnBmpGlobals,
 * mvpnBmpRouterTable, mvpnBmpPeerTable) and the BGP MVPN P-tunnels. */
#include "bmp_listen.h"
#include "daemon.h"
#include "oids.h"

#include "../mib/seek.h"

static const struct bmp_server *server_of(void *ctx)
{
	return ((struct daemon *)ctx)->bmp;
}

static const struct bmp_totals *totals(const struct bmp_server *s)
{
	static const struct bmp_totals none;

	return s ? &s->col->t : &none;
}

/* What the MDT SAFI's routes gave the VPNs (bgp/mdt.h), kept by the daemon
 * across a collector's reopening. */
static bool bgp_mdt_get(const struct daemon *d, unsigned col, struct cell *c)
{
	const struct bgp_mdt *b = &d->mdt;

	switch (col) {
	case COL_BMP_SETTLE: cell_gauge(c, d->config ? d->config->bmp.settle : 0); break;
	case COL_BMP_DISCOVER: cell_truth(c, b->discover); break;
	case COL_BMP_MDT_ROUTES: cell_gauge(c, (uint32_t)b->routes); break;
	case COL_BMP_MDT_UNMATCHED: cell_gauge(c, (uint32_t)b->unmatched); break;
	case COL_BMP_DISCOVERED_VPNS: cell_gauge(c, (uint32_t)b->discovered); break;
	case COL_BMP_DISCOVER_REFUSED: cell_counter64(c, b->refused); break;
	case COL_BMP_IPMSI_ROUTES: cell_gauge(c, (uint32_t)d->mvpn.ipmsi); break;
	case COL_BMP_IPMSI_UNMATCHED: cell_gauge(c, (uint32_t)d->mvpn.unmatched); break;
	case COL_BMP_MVPN_NOT_APPLIED: cell_gauge(c, (uint32_t)d->mvpn.not_applied); break;
	case COL_BMP_CMCAST_ROUTES: cell_gauge(c, (uint32_t)d->mvpn.cmcast); break;
	default: return false;
	}
	return true;
}

static bool bmp_globals_get(void *ctx, const void *row, unsigned col, struct cell *c)
{
	const struct bmp_server *s = server_of(ctx);
	const struct bmp_totals *t = totals(s);
	static const struct inet_addr unknown;

	(void)row;
	switch (col) {
	case COL_BMP_STATUS: cell_int(c, s ? 2 : 1); break;
	case COL_BMP_LISTEN_ADDR_TYPE: cell_addr_type(c, s ? &s->listen : &unknown); break;
	case COL_BMP_LISTEN_ADDR: cell_addr(c, s ? &s->listen : &unknown); break;
	case COL_BMP_LISTEN_PORT: cell_gauge(c, s ? s->port : 0); break;
	case COL_BMP_ROUTERS_UP: cell_gauge(c, (uint32_t)t->routers_up); break;
	case COL_BMP_SESSIONS_ACCEPTED: cell_counter64(c, t->accepted); break;
	case COL_BMP_SESSIONS_REFUSED: cell_counter64(c, t->refused_not_allowed); break;
	case COL_BMP_ROUTERS_REFUSED: cell_counter64(c, t->refused_full); break;
	case COL_BMP_MESSAGES: cell_counter64(c, t->messages); break;
	case COL_BMP_MALFORMED: cell_counter64(c, t->malformed); break;
	case COL_BMP_SESSIONS_CLOSED_MALFORMED: cell_counter64(c, t->closed_malformed); break;
	case COL_BMP_ROUTES: cell_gauge(c, (uint32_t)t->routes); break;
	case COL_BMP_ROUTE_LIMIT_DROPS: cell_counter64(c, t->route_drops); break;
	case COL_BMP_MAX_ROUTES_PER_ROUTER:
		cell_gauge(c, s ? (uint32_t)s->col->lim.max_routes_per_router : 0);
		break;
	default: return bgp_mdt_get(ctx, col, c);
	}
	return true;
}

/* ---- mvpnBmpRouterTable {address type, address}: rows sorted by address,
 * which is the index's order (type, then the length its type fixes). ---- */

struct router_key {
	const struct bmp_collector *col;
	const uint32_t *want;
	size_t wlen;
	bool after;
};

static bool router_ok(const void *ctx, size_t i)
{
	const struct router_key *k = ctx;
	struct oidx x;

	oidx_reset(&x);
	oidx_push_addr(&x, &k->col->routers[i]->addr);
	return oidx_seek_ok(&x, k->want, k->wlen, k->after);
}

static const void *router_seek(void *ctx, const uint32_t *want, size_t wlen, bool after)
{
	const struct bmp_server *s = server_of(ctx);
	struct router_key k;
	size_t i;

	if (!s)
		return NULL;
	k = (struct router_key){s->col, want, wlen, after};
	i = seek_first(s->col->n_routers, &k, router_ok);
	return i < s->col->n_routers ? s->col->routers[i] : NULL;
}

static void router_index(const void *row, struct oidx *out)
{
	oidx_reset(out);
	oidx_push_addr(out, &((const struct bmp_router *)row)->addr);
}

static bool router_get(void *ctx, const void *row, unsigned col, struct cell *c)
{
	const struct model *m = ((struct daemon *)ctx)->model;
	const struct bmp_router *r = row;

	switch (col) {
	case COL_BMP_ROUTER_STATUS: cell_int(c, r->status); break;
	case COL_BMP_ROUTER_PORT: cell_gauge(c, r->port); break;
	case COL_BMP_ROUTER_SYS_NAME: cell_string(c, r->sys_name); break;
	case COL_BMP_ROUTER_SYS_DESCR: cell_string(c, r->sys_descr); break;
	case COL_BMP_ROUTER_PEERS_UP: cell_gauge(c, (uint32_t)bmp_router_peers_up(r)); break;
	case COL_BMP_ROUTER_ROUTES: cell_gauge(c, (uint32_t)r->routes); break;
	case COL_BMP_ROUTER_MDT_ROUTES: cell_gauge(c, (uint32_t)r->by_family[BGP_FAM_MDT]); break;
	case COL_BMP_ROUTER_MVPN4_ROUTES: cell_gauge(c, (uint32_t)r->by_family[BGP_FAM_MVPN4]); break;
	case COL_BMP_ROUTER_MVPN6_ROUTES: cell_gauge(c, (uint32_t)r->by_family[BGP_FAM_MVPN6]); break;
	case COL_BMP_ROUTER_MESSAGES: cell_counter64(c, r->c.messages); break;
	case COL_BMP_ROUTER_ROUTE_MONITORINGS:
		cell_counter64(c, r->c.by_type[BMP_ROUTE_MONITORING]);
		break;
	case COL_BMP_ROUTER_MALFORMED: cell_counter64(c, r->c.malformed); break;
	case COL_BMP_ROUTER_ROUTE_LIMIT_DROPS: cell_counter64(c, r->c.route_drops); break;
	case COL_BMP_ROUTER_UNKNOWN_PEER: cell_counter64(c, r->c.unknown_peer); break;
	case COL_BMP_ROUTER_PEER_UPS: cell_counter64(c, r->c.peer_ups); break;
	case COL_BMP_ROUTER_PEER_DOWNS: cell_counter64(c, r->c.peer_downs); break;
	case COL_BMP_ROUTER_SESSIONS: cell_counter64(c, r->c.sessions); break;
	case COL_BMP_ROUTER_LAST_MESSAGE: cell_date_real(c, &m->clock, r->last_message); break;
	case COL_BMP_ROUTER_STATUS_CHANGE:
		cell_date_real(c, &m->clock,
			       r->status == BMP_ROUTER_UP ? r->up_since : r->down_since);
		break;
	case COL_BMP_ROUTER_OTHER_FAMILIES: cell_counter64(c, r->c.other_family); break;
	case COL_BMP_ROUTER_PEER_LIMIT_DROPS: cell_counter64(c, r->c.peer_drops); break;
	case COL_BMP_ROUTER_CREATED: cell_date_real(c, &m->clock, r->made); break;
	default: return false;
	}
	return true;
}

/* ---- mvpnBmpPeerTable {router address type, address, peer distinguisher,
 * peer address type, address}: the routers in index order, and each one's
 * peers in (distinguisher, address) order, which is the index's (the
 * distinguisher as 8 octets, most significant first, then the address as
 * the router's). ---- */

static void peer_index(const void *row, struct oidx *out)
{
	const struct bmp_peer *p = row;

	oidx_reset(out);
	oidx_push_addr(out, &p->router->addr);
	oidx_push_octets8(out, p->distinguisher);
	oidx_push_addr(out, &p->addr);
}

/* Router i's part of the index against as much of want: the routers that
 * can hold a row at or past want are the ones from the first it holds for. */
static bool router_part_ok(const void *ctx, size_t i)
{
	const struct router_key *k = ctx;
	struct oidx x;

	oidx_reset(&x);
	oidx_push_addr(&x, &k->col->routers[i]->addr);
	return oidx_cmp(x.sub, x.len, k->want, k->wlen < x.len ? k->wlen : x.len) >= 0;
}

struct peer_key {
	const struct bmp_router *r;
	const uint32_t *want;
	size_t wlen;
	bool after;
};

static bool peer_ok(const void *ctx, size_t i)
{
	const struct peer_key *k = ctx;
	struct oidx x;

	peer_index(k->r->peers[i], &x);
	return oidx_seek_ok(&x, k->want, k->wlen, k->after);
}

static const void *peer_seek(void *ctx, const uint32_t *want, size_t wlen, bool after)
{
	const struct bmp_server *s = server_of(ctx);
	struct router_key rk;

	if (!s)
		return NULL;
	rk = (struct router_key){s->col, want, wlen, after};
	/* Past the first router, every row is past want: its first row, if any. */
	for (size_t i = seek_first(s->col->n_routers, &rk, router_part_ok); i < s->col->n_routers;
	     i++) {
		const struct bmp_router *r = s->col->routers[i];
		struct peer_key pk = {r, want, wlen, after};
		size_t j = seek_first(r->n_peers, &pk, peer_ok);
		if (j < r->n_peers)
			return r->peers[j];
	}
	return NULL;
}

/* RFC 7854 4.9: the NOTIFICATION's code and subcode follow reasons 1 and 3. */
static bool down_has_notification(const struct bmp_peer *p)
{
	return p->has_down && (p->last_down.reason == 1 || p->last_down.reason == 3);
}

static bool peer_get(void *ctx, const void *row, unsigned col, struct cell *c)
{
	const struct model *m = ((struct daemon *)ctx)->model;
	const struct bmp_peer *p = row;
	const struct route_table *t = &p->routes;

	switch (col) {
	case COL_BMP_PEER_TYPE: cell_gauge(c, p->type); break;
	case COL_BMP_PEER_STATUS: cell_int(c, p->status); break;
	case COL_BMP_PEER_AS: cell_gauge(c, p->as); break;
	case COL_BMP_PEER_BGP_ID: cell_ipaddress(c, p->bgp_id); break;
	case COL_BMP_PEER_ROUTES: cell_gauge(c, (uint32_t)t->n); break;
	case COL_BMP_PEER_MDT_ROUTES: cell_gauge(c, (uint32_t)t->by_family[BGP_FAM_MDT]); break;
	case COL_BMP_PEER_MVPN4_ROUTES: cell_gauge(c, (uint32_t)t->by_family[BGP_FAM_MVPN4]); break;
	case COL_BMP_PEER_MVPN6_ROUTES: cell_gauge(c, (uint32_t)t->by_family[BGP_FAM_MVPN6]); break;
	case COL_BMP_PEER_UPS: cell_counter64(c, p->ups); break;
	case COL_BMP_PEER_DOWNS: cell_counter64(c, p->downs); break;
	case COL_BMP_PEER_STATUS_CHANGE:
		cell_date_real(c, &m->clock, p->status == BMP_ROUTER_UP ? p->up_since : p->down_since);
		break;
	case COL_BMP_PEER_LAST_DOWN_REASON: cell_gauge(c, p->has_down ? p->last_down.reason : 0); break;
	case COL_BMP_PEER_LAST_DOWN_ERROR:
		c->buf[0] = p->last_down.code, c->buf[1] = p->last_down.subcode;
		cell_bytes(c, c->buf, down_has_notification(p) ? 2 : 0);
		break;
	case COL_BMP_PEER_LAST_DOWN_FSM_EVENT:
		cell_gauge(c, p->has_down && p->last_down.reason == 2 ? p->last_down.fsm_event : 0);
		break;
	case COL_BMP_PEER_CREATED: cell_date_real(c, &m->clock, p->made); break;
	default: return false;
	}
	return true;
}

/* ---- mvpnPTunnelTable {vpn, route type, C-source, C-group, origin} ---- */

static const void *ptunnel_seek(void *ctx, const uint32_t *want, size_t wlen, bool after)
{
	return bgp_mvpn_ptunnel_seek(&((struct daemon *)ctx)->mvpn, want, wlen, after);
}

static void ptunnel_index(const void *row, struct oidx *out)
{
	*out = ((const struct ptunnel *)row)->index;
}

static bool ptunnel_get(void *ctx, const void *row, unsigned col, struct cell *c)
{
	const struct ptunnel *t = row;

	(void)ctx;
	switch (col) {
	case COL_PTUNNEL_TYPE: cell_int(c, t->tunnel_type); break;
	case COL_PTUNNEL_ID: cell_bytes(c, t->id, t->id_len); break;
	case COL_PTUNNEL_LABEL: cell_gauge(c, t->label); break;
	case COL_PTUNNEL_LEAF_INFO:
		cell_truth(c, (t->flags & PMSI_FLAG_LEAF_INFO_REQUIRED) != 0);
		break;
	case COL_PTUNNEL_ROUTES: cell_gauge(c, t->routes); break;
	case COL_PTUNNEL_KEY_ORIGIN_TYPE: cell_addr_type(c, &t->key_origin); break;
	case COL_PTUNNEL_KEY_ORIGIN: cell_addr(c, &t->key_origin); break;
	default: return false;
	}
	return true;
}

void views_bmp_init(struct daemon *d)
{
	struct table_view *tv = &d->views[VIEW_BMP_GLOBALS];

	view_at(tv, "mvpnBmpGlobals", ARC_BMP_GLOBALS, false);
	tv->first_col = COL_BMP_STATUS;
	tv->last_col = COL_BMP_GLOBALS_LAST;
	tv->get = bmp_globals_get;
	tv->ctx = d;

	tv = &d->views[VIEW_BMP_ROUTER];
	view_table(tv, d, "mvpnBmpRouterTable", ARC_BMP_ROUTER_TABLE, COL_BMP_ROUTER_STATUS,
		   COL_BMP_ROUTER_LAST);
	tv->seek = router_seek, tv->row_index = router_index, tv->get = router_get;

	tv = &d->views[VIEW_BMP_PEER];
	view_table(tv, d, "mvpnBmpPeerTable", ARC_BMP_PEER_TABLE, COL_BMP_PEER_TYPE,
		   COL_BMP_PEER_LAST);
	tv->seek = peer_seek, tv->row_index = peer_index, tv->get = peer_get;

	tv = &d->views[VIEW_PTUNNEL];
	view_table(tv, d, "mvpnPTunnelTable", ARC_PTUNNEL_TABLE, COL_PTUNNEL_TYPE,
		   COL_PTUNNEL_LAST);
	tv->seek = ptunnel_seek, tv->row_index = ptunnel_index, tv->get = ptunnel_get;
}
