/* The BMP collector's sessions, peers and routes (rules: collector.h). */
#include "collector.h"

#include <stdlib.h>
#include <string.h>

struct bmp_collector *bmp_collector_new(const struct bmp_limits *lim)
{
	struct bmp_collector *c = calloc(1, sizeof(*c));

	if (c)
		c->lim = *lim;
	return c;
}

void bmp_collector_set_limits(struct bmp_collector *c, const struct bmp_limits *lim)
{
	c->lim = *lim;
}

/* ---- peers ---- */

static int peer_cmp(bgp_rd d, const struct inet_addr *a, const struct bmp_peer *p)
{
	if (d != p->distinguisher)
		return d < p->distinguisher ? -1 : 1;
	return inet_addr_cmp(a, &p->addr);
}

/* The index of the peer, or where it would go (*found false). */
static size_t peer_pos(const struct bmp_router *r, bgp_rd d, const struct inet_addr *a, bool *found)
{
	size_t lo = 0, hi = r->n_peers;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int k = peer_cmp(d, a, r->peers[mid]);
		if (k == 0) {
			*found = true;
			return mid;
		}
		if (k < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* The peer if it is up (its row may be down). */
static struct bmp_peer *peer_find_up(struct bmp_router *r, const struct bmp_peer_hdr *h)
{
	struct bmp_peer *p = r->last_peer;
	bool found;
	size_t i;

	if (!p || peer_cmp(h->distinguisher, &h->addr, p) != 0) {
		i = peer_pos(r, h->distinguisher, &h->addr, &found);
		if (!found)
			return NULL;
		p = r->last_peer = r->peers[i];
	}
	return p->status == BMP_ROUTER_UP ? p : NULL;
}

struct flush {
	struct bmp_collector *c;
	struct bmp_router *r;
	struct bmp_peer *p;
};

static void notify(struct bmp_collector *c, enum route_event ev, const struct bmp_router *r,
		   const struct bmp_peer *p, const struct route *route, const struct route *old)
{
	struct route_change ch = {.ev = ev, .router = r, .peer = p, .route = route, .old = old};

	if (c->on_change)
		c->on_change(c->change_arg, &ch);
}

static void event(struct bmp_collector *c, enum bmp_event_kind kind, const struct bmp_router *r,
		  const struct bmp_peer *p)
{
	struct bmp_event ev = {.kind = kind, .router = r, .peer = p};

	if (c->on_event)
		c->on_event(c->event_arg, &ev);
}

static void flush_one(void *arg, const struct route *route)
{
	struct flush *f = arg;

	notify(f->c, ROUTE_EV_WITHDRAW, f->r, f->p, route, NULL);
}

/* The peer's routes leave its router's and the collector's counts. */
static void peer_clear_routes(struct bmp_collector *c, struct bmp_router *r, struct bmp_peer *p)
{
	struct flush f = {c, r, p};

	for (unsigned k = 0; k < BGP_FAM_COUNT; k++)
		r->by_family[k] -= p->routes.by_family[k];
	r->routes -= p->routes.n;
	c->t.routes -= p->routes.n;
	route_table_clear(&p->routes, c->on_change ? flush_one : NULL, &f);
}

static void peer_remove(struct bmp_collector *c, struct bmp_router *r, size_t i)
{
	struct bmp_peer *p = r->peers[i];

	peer_clear_routes(c, r, p);
	if (p->status == BMP_ROUTER_UP)
		r->n_peers_up--;
	memmove(&r->peers[i], &r->peers[i + 1], (r->n_peers - i - 1) * sizeof(*r->peers));
	r->n_peers--;
	if (r->last_peer == p)
		r->last_peer = NULL;
	free(p);
}

/* The down row that has been down longest; n_peers if none. */
static size_t peer_down_longest(const struct bmp_router *r)
{
	size_t best = r->n_peers;

	for (size_t i = 0; i < r->n_peers; i++)
		if (r->peers[i]->status != BMP_ROUTER_UP &&
		    (best == r->n_peers || r->peers[i]->down_since < r->peers[best]->down_since))
			best = i;
	return best;
}

static struct bmp_peer *peer_add(struct bmp_collector *c, struct bmp_router *r,
				 const struct bmp_peer_hdr *h, size_t at, mtime_t now)
{
	struct bmp_peer *p;
	size_t down;

	if (r->n_peers >= c->lim.max_peers_per_router) {
		if ((down = peer_down_longest(r)) == r->n_peers)
			return NULL;
		peer_remove(c, r, down);
		if (down < at)
			at--;
	}
	if (r->n_peers == r->cap_peers) {
		size_t cap = r->cap_peers ? r->cap_peers * 2 : 8;
		struct bmp_peer **np = realloc(r->peers, cap * sizeof(*np));
		if (!np)
			return NULL;
		r->peers = np, r->cap_peers = cap;
	}
	if (!(p = calloc(1, sizeof(*p))))
		return NULL;
	p->distinguisher = h->distinguisher;
	p->addr = h->addr;
	p->router = r;
	p->made = now;
	memmove(&r->peers[at + 1], &r->peers[at], (r->n_peers - at) * sizeof(*r->peers));
	r->peers[at] = p;
	r->n_peers++;
	return p;
}

size_t bmp_router_peers_up(const struct bmp_router *r)
{
	return r->n_peers_up;
}

/* ---- messages ---- */

static void malformed(struct bmp_collector *c, struct bmp_router *r, enum bgp_error e)
{
	r->c.malformed++;
	c->t.malformed++;
	r->last_error = (uint8_t)e;
}

static void copy_info(char *dst, const uint8_t *src, size_t len)
{
	size_t n = len < BMP_INFO_MAX ? len : BMP_INFO_MAX;

	if (!src)
		return;
	memcpy(dst, src, n);
	dst[n] = '\0';
	/* SnmpAdminString is UTF-8 text: control characters would not show. */
	for (size_t i = 0; i < n; i++)
		if ((uint8_t)dst[i] < 0x20 || dst[i] == 0x7f)
			dst[i] = '?';
}

static bool on_info(struct bmp_collector *c, struct bmp_router *r, const struct bmp_msg *m)
{
	struct bmp_info info;
	enum bgp_error e;

	if ((e = bmp_info_parse(m, &info)) != BGP_OK) {
		malformed(c, r, e);
		return m->type != BMP_TERMINATION;
	}
	if (m->type == BMP_TERMINATION) {
		r->has_term_reason = info.has_reason;
		r->term_reason = info.reason;
		return false; /* 4.5: the router closes the session after it */
	}
	copy_info(r->sys_name, info.sys_name, info.sys_name_len);
	copy_info(r->sys_descr, info.sys_descr, info.sys_descr_len);
	if (!r->initiated) /* a second Initiation only updates the strings */
		event(c, BMP_EV_ROUTER_UP, r, NULL);
	r->initiated = true;
	return true;
}

static void on_peer_up(struct bmp_collector *c, struct bmp_router *r, const struct bmp_msg *m,
		       mtime_t now)
{
	struct bmp_peer_up up;
	struct bmp_peer *p;
	enum bgp_error e;
	bool found;
	size_t i;

	if ((e = bmp_peer_up_parse(m, &up)) != BGP_OK) {
		malformed(c, r, e);
		return;
	}
	i = peer_pos(r, m->peer.distinguisher, &m->peer.addr, &found);
	if (found) {
		p = r->peers[i]; /* up: a new session without a Peer Down between, start afresh */
		peer_clear_routes(c, r, p);
	} else if (!(p = peer_add(c, r, &m->peer, i, now))) {
		r->c.peer_drops++;
		return;
	}
	if (p->status != BMP_ROUTER_UP)
		r->n_peers_up++;
	p->status = BMP_ROUTER_UP;
	p->ups++;
	p->type = m->peer.type;
	p->as = m->peer.as;
	p->bgp_id = m->peer.bgp_id;
	p->as4_negotiated = up.sent.as4 && up.received.as4; /* RFC 6793 4 */
	p->add_path = up.sent.add_path || up.received.add_path;
	p->up_since = now;
	r->c.peer_ups++;
	event(c, BMP_EV_PEER_UP, r, p);
}

static void on_peer_down(struct bmp_collector *c, struct bmp_router *r, const struct bmp_msg *m,
			 mtime_t now)
{
	struct bmp_peer_down down;
	struct bmp_peer *p;
	enum bgp_error e;

	if ((e = bmp_peer_down_parse(m, &down)) != BGP_OK) {
		/* 4.9: the peer is down whatever the data after the reason says
		 * (the reason, read first, is kept if there was one). */
		malformed(c, r, e);
	}
	if (!(p = peer_find_up(r, &m->peer))) {
		r->c.unknown_peer++;
		return;
	}
	peer_clear_routes(c, r, p);
	p->status = BMP_ROUTER_DOWN;
	p->down_since = now;
	p->downs++;
	p->has_down = true;
	p->last_down = down;
	r->n_peers_up--;
	r->c.peer_downs++;
	event(c, BMP_EV_PEER_DOWN, r, p);
}

struct apply {
	struct bmp_collector *c;
	struct bmp_router *r;
	struct bmp_peer *p;
	uint8_t view;
};

static void withdraw_one(void *arg, const struct route *route)
{
	struct apply *a = arg;

	notify(a->c, ROUTE_EV_WITHDRAW, a->r, a->p, route, NULL);
	a->r->by_family[route->family]--;
	a->r->routes--;
	a->c->t.routes--;
}

static void announce(struct apply *a, const struct bgp_route_event *ev)
{
	struct bmp_router *r = a->r;
	const struct bgp_update_info *in = ev->info;
	const struct route *stored;
	struct route *replaced;
	uint8_t kept[ROUTE_ATTRS_MAX];
	size_t kept_len = route_attrs_encode(in, ev->route->type, kept);
	enum route_put put;

	if (r->routes >= a->c->lim.max_routes_per_router &&
	    !route_table_find(&a->p->routes, ev->family, a->view, ev->nlri, ev->nlri_len)) {
		r->c.route_drops++; /* the cap: new routes are refused, known ones kept */
		a->c->t.route_drops++;
		return;
	}
	put = route_table_put(&a->p->routes, ev->family, a->view, ev->nlri, ev->nlri_len, kept,
			      kept_len, &stored, &replaced);
	if (put == ROUTE_NOMEM) {
		r->c.route_drops++;
		a->c->t.route_drops++;
		return;
	}
	if (put == ROUTE_ADDED) {
		r->by_family[ev->family]++;
		r->routes++;
		a->c->t.routes++;
	}
	if (put != ROUTE_UNCHANGED)
		notify(a->c, put == ROUTE_ADDED ? ROUTE_EV_ADD : ROUTE_EV_REPLACE, r, a->p, stored,
		       replaced);
	free(replaced);
}

static void apply_route(void *arg, const struct bgp_route_event *ev)
{
	struct apply *a = arg;

	if (ev->action == BGP_ANNOUNCE) {
		a->r->c.announced++;
		announce(a, ev);
		return;
	}
	a->r->c.withdrawn++;
	route_table_del(&a->p->routes, ev->family, a->view, ev->nlri, ev->nlri_len, withdraw_one, a);
}

static void on_route_monitoring(struct bmp_collector *c, struct bmp_router *r,
				const struct bmp_msg *m)
{
	struct apply a = {.c = c, .r = r, .view = m->peer.flags & ROUTE_VIEW_MASK};
	/* RFC 7854 4.2 A flag: the AS_PATH's width as this message carries it. */
	struct bgp_session_opts o = {.as4 = !(m->peer.flags & BMP_PEER_FLAG_A)};
	struct bgp_update_info info;
	const uint8_t *upd;
	size_t len;
	enum bgp_error e;

	if (!(a.p = peer_find_up(r, &m->peer))) {
		r->c.unknown_peer++;
		return;
	}
	if ((e = bmp_route_monitoring(m, &upd, &len)) != BGP_OK ||
	    (e = bgp_update_parse(upd, len, &o, apply_route, &a, &info)) != BGP_OK) {
		malformed(c, r, e);
		return;
	}
	r->c.other_family += info.other_family;
}

static void on_stats(struct bmp_collector *c, struct bmp_router *r, const struct bmp_msg *m)
{
	struct bmp_stats s;
	enum bgp_error e;

	if ((e = bmp_stats_parse(m, &s)) != BGP_OK)
		malformed(c, r, e);
}

/* One framed message; false: end the session. */
static bool on_message(struct bmp_collector *c, struct bmp_router *r, const uint8_t *p,
		       size_t len, mtime_t now)
{
	struct bmp_msg m;
	enum bgp_error e;

	r->c.messages++;
	c->t.messages++;
	r->last_message = now;
	if ((e = bmp_parse(p, len, &m)) != BGP_OK) {
		r->c.by_type[BMP_TYPE_COUNT]++;
		malformed(c, r, e);
		return true;
	}
	r->c.by_type[m.type < BMP_TYPE_COUNT ? m.type : BMP_TYPE_COUNT]++;
	if (!r->initiated && m.type != BMP_INITIATION) {
		malformed(c, r, BGP_BAD_TYPE); /* 4.3: Initiation comes first */
		return false;
	}
	switch (m.type) {
	case BMP_INITIATION:
	case BMP_TERMINATION: return on_info(c, r, &m);
	case BMP_PEER_UP: on_peer_up(c, r, &m, now); break;
	case BMP_PEER_DOWN: on_peer_down(c, r, &m, now); break;
	case BMP_ROUTE_MONITORING: on_route_monitoring(c, r, &m); break;
	case BMP_STATISTICS: on_stats(c, r, &m); break;
	default: break; /* Route Mirroring, unknown types: counted, skipped (4.7) */
	}
	return true;
}

size_t bmp_router_input(struct bmp_collector *c, struct bmp_router *r, const uint8_t *p,
			size_t len, mtime_t now, bool *close)
{
	size_t off = 0;
	uint32_t mlen;
	enum bgp_error e;

	*close = false;
	while (off < len) {
		e = bmp_frame(p + off, len - off, &mlen);
		if (e == BGP_TRUNCATED)
			break;
		if (e != BGP_OK) { /* 4.1: the stream cannot be framed any more */
			malformed(c, r, e);
			c->t.closed_malformed++;
			*close = true;
			break;
		}
		if (mlen > len - off)
			break;
		if (!on_message(c, r, p + off, mlen, now)) {
			*close = true;
			off += mlen;
			break;
		}
		off += mlen;
	}
	return off;
}

/* ---- routers ---- */

static size_t router_pos(const struct bmp_collector *c, const struct inet_addr *a, bool *found)
{
	size_t lo = 0, hi = c->n_routers;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int k = inet_addr_cmp(a, &c->routers[mid]->addr);
		if (k == 0) {
			*found = true;
			return mid;
		}
		if (k < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static void router_free(struct bmp_collector *c, struct bmp_router *r)
{
	while (r->n_peers)
		peer_remove(c, r, r->n_peers - 1);
	free(r->peers);
	free(r);
}

/* The down row that has been down longest; n_routers if none. */
static size_t oldest_down(const struct bmp_collector *c)
{
	size_t best = c->n_routers;

	for (size_t i = 0; i < c->n_routers; i++)
		if (c->routers[i]->status == BMP_ROUTER_DOWN &&
		    (best == c->n_routers || c->routers[i]->down_since < c->routers[best]->down_since))
			best = i;
	return best;
}

static bool make_room(struct bmp_collector *c)
{
	size_t i;

	if (c->n_routers < c->lim.max_routers) {
		if (c->n_routers < c->cap_routers)
			return true;
		size_t cap = c->cap_routers ? c->cap_routers * 2 : 8;
		struct bmp_router **nr = realloc(c->routers, cap * sizeof(*nr));
		if (!nr)
			return false;
		c->routers = nr, c->cap_routers = cap;
		return true;
	}
	if ((i = oldest_down(c)) == c->n_routers)
		return false;
	bmp_router_forget(c, c->routers[i], 0); /* down: nothing to end */
	return true;
}

static void session_start(struct bmp_collector *c, struct bmp_router *r, uint16_t port, mtime_t now)
{
	r->port = port;
	r->status = BMP_ROUTER_UP;
	r->initiated = false;
	r->has_term_reason = false;
	r->up_since = now;
	r->c.sessions++;
	c->t.accepted++;
	c->t.routers_up++;
}

struct bmp_router *bmp_router_connect(struct bmp_collector *c, const struct inet_addr *a,
				      uint16_t port, mtime_t now)
{
	struct bmp_router *r;
	bool found;
	size_t i = router_pos(c, a, &found);

	if (found) {
		r = c->routers[i];
		if (r->status == BMP_ROUTER_UP)
			bmp_router_disconnect(c, r, now); /* the old session is stale */
		session_start(c, r, port, now);
		return r;
	}
	if (!make_room(c)) {
		c->t.refused_full++;
		return NULL;
	}
	if (!(r = calloc(1, sizeof(*r)))) {
		c->t.refused_full++;
		return NULL;
	}
	r->addr = *a;
	r->made = now;
	i = router_pos(c, a, &found); /* make_room may have moved rows */
	memmove(&c->routers[i + 1], &c->routers[i], (c->n_routers - i) * sizeof(*c->routers));
	c->routers[i] = r;
	c->n_routers++;
	session_start(c, r, port, now);
	return r;
}

void bmp_router_disconnect(struct bmp_collector *c, struct bmp_router *r, mtime_t now)
{
	if (r->status != BMP_ROUTER_UP)
		return;
	while (r->n_peers)
		peer_remove(c, r, r->n_peers - 1);
	r->status = BMP_ROUTER_DOWN;
	r->down_since = now;
	c->t.routers_up--;
	if (r->initiated) /* a session that never began ends unannounced */
		event(c, BMP_EV_ROUTER_DOWN, r, NULL);
}

void bmp_router_forget(struct bmp_collector *c, struct bmp_router *r, mtime_t now)
{
	bool found;
	size_t i = router_pos(c, &r->addr, &found); /* found: r is a row of c */

	bmp_router_disconnect(c, r, now);
	router_free(c, r);
	memmove(&c->routers[i], &c->routers[i + 1], (c->n_routers - i - 1) * sizeof(*c->routers));
	c->n_routers--;
}

void bmp_collector_free(struct bmp_collector *c)
{
	if (!c)
		return;
	c->on_change = NULL; /* nobody hears a shutdown */
	c->on_event = NULL;
	for (size_t i = 0; i < c->n_routers; i++)
		router_free(c, c->routers[i]);
	free(c->routers);
	free(c);
}

const struct bmp_router *bmp_router_seek(const struct bmp_collector *c, const struct inet_addr *a,
					 bool after)
{
	bool found;
	size_t i = router_pos(c, a, &found);

	if (found && after)
		i++;
	return i < c->n_routers ? c->routers[i] : NULL;
}

struct each {
	const struct bmp_router *r;
	const struct bmp_peer *p;
	unsigned family;
	bool rd_only;
	bgp_rd rd;
	bmp_route_fn fn;
	void *arg;
};

static void each_route(void *arg, const struct route *route)
{
	struct each *e = arg;
	struct mvpn_route d;

	if (e->family < BGP_FAM_COUNT && route->family != e->family)
		return;
	if (e->rd_only && (bgp_nlri_decode(route->family, route_key(route), route->key_len, &d) !=
				   BGP_OK ||
			   (d.type == MVPN_LEAF_AD ? d.key_rd : d.rd) != e->rd))
		return;
	e->fn(e->arg, e->r, e->p, route);
}

void bmp_collector_foreach(const struct bmp_collector *c, unsigned family, bool rd_only, bgp_rd rd,
			   bmp_route_fn fn, void *arg)
{
	struct each e = {.family = family, .rd_only = rd_only, .rd = rd, .fn = fn, .arg = arg};

	for (size_t i = 0; i < c->n_routers; i++) {
		e.r = c->routers[i];
		for (size_t j = 0; j < e.r->n_peers; j++) {
			e.p = e.r->peers[j];
			route_table_foreach(&e.p->routes, each_route, &e);
		}
	}
}

size_t bmp_collector_route_bytes(const struct bmp_collector *c)
{
	size_t b = 0;

	for (size_t i = 0; i < c->n_routers; i++)
		for (size_t j = 0; j < c->routers[i]->n_peers; j++)
			b += route_table_bytes(&c->routers[i]->peers[j]->routes);
	return b;
}
