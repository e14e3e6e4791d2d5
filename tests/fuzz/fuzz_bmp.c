/*
 * The BMP collector's decoders and state (bgp/) on a byte stream as a router
 * would send it.  Input: a mode byte (low 3 bits: the size of the reads the
 * stream is cut into, 1 << (2 * bits)), then the BMP stream.
 *
 * Checked besides ASan/UBSan:
 *  - framing against a reference (RFC 7854 4.1: version 3, length >= 6,
 *    the collector's cap), message by message;
 *  - each Route Monitoring's UPDATE: the verdict is the same with and
 *    without a callback; a refused UPDATE gives no route; every route's NLRI
 *    lies inside the UPDATE, its span is what its own length field says
 *    (reference: RFC 6037 5's 17 bytes, RFC 6514 4's 2 + length), and an
 *    exact-size copy decodes to the same route;
 *  - the collector, fed the stream by two routers, one in reads of the
 *    mode's size and one in a single read: per router and per family, the
 *    route counts equal what the peers' tables hold, never above the cap,
 *    after every read that took a message; both routers end with the same
 *    peers, routes (PMSI values included) and counters, whatever the reads;
 *    the totals add up; after every router disconnects no route is left;
 *    nothing leaks.
 */
#include "fuzz.h"

#include "../../bgp/bmp.h"
#include "../../bgp/collector.h"

/* Routes per router, by mode bits 3-5: 40 for the seeds' modes, small caps
 * the fixtures' streams reach, and one no input of 8 KB can. */
static const size_t cap_routes[8] = {40, 1, 2, 3, 5, 8, 16, 1024};

/* What the collector's listener (on_change) has heard, per router: every
 * route it names is in its peer's table at the time, and the adds less the
 * withdrawals are what the router holds. */
struct heard {
	const struct bmp_router *r[2];
	size_t live[2];
	size_t cap;
};

static void on_change(void *arg, const struct route_change *ch)
{
	struct heard *h = arg;
	const struct route *in;
	const struct route *x = ch->route;
	unsigned k = ch->router == h->r[1];
	bool peer_up = false;

	FUZZ_CHECK(ch->router == h->r[0] || ch->router == h->r[1]);
	for (size_t i = 0; i < ch->router->n_peers; i++)
		peer_up |= ch->router->peers[i] == ch->peer;
	FUZZ_CHECK(peer_up && ch->peer->status == BMP_ROUTER_UP && ch->peer->router == ch->router);
	in = route_table_find(&ch->peer->routes, x->family, x->view, route_key(x), x->key_len);
	FUZZ_CHECK(in == x);
	switch (ch->ev) {
	case ROUTE_EV_ADD: h->live[k]++; break;
	case ROUTE_EV_REPLACE: break;
	case ROUTE_EV_WITHDRAW: FUZZ_CHECK(h->live[k] > 0); h->live[k]--; break;
	default: FUZZ_CHECK(!"an event route_event does not have");
	}
}

static uint32_t ref_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* RFC 7854 4.1, and the collector's own cap: 0 wait, -1 refuse, else the length. */
static long ref_frame(const uint8_t *p, size_t len)
{
	if (len < 6)
		return 0;
	uint32_t l = ref_be32(p + 1);
	if (p[0] != 3 || l < 6 || l > BMP_MAX_MSG)
		return -1;
	return (long)l;
}

static size_t ref_span(enum bgp_family f, const uint8_t *p)
{
	return f == BGP_FAM_MDT ? 17 : 2 + (size_t)p[1];
}

struct seen {
	const uint8_t *upd;
	size_t len;
	unsigned routes;
};

static bool same_route(const struct mvpn_route *a, const struct mvpn_route *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

static void on_route(void *arg, const struct bgp_route_event *ev)
{
	struct seen *s = arg;
	struct mvpn_route again;
	uint8_t *copy;

	FUZZ_CHECK(ev->family < BGP_FAM_COUNT);
	FUZZ_CHECK(fuzz_within(ev->nlri, ev->nlri_len, s->upd, s->len));
	FUZZ_CHECK(ev->nlri_len == ref_span(ev->family, ev->nlri));
	copy = malloc(ev->nlri_len);
	memcpy(copy, ev->nlri, ev->nlri_len);
	FUZZ_CHECK(bgp_nlri_decode(ev->family, copy, ev->nlri_len, &again) == BGP_OK);
	FUZZ_CHECK(same_route(&again, ev->route));
	free(copy);
	if (ev->action == BGP_ANNOUNCE && ev->info->has_pmsi)
		FUZZ_CHECK(fuzz_within(ev->info->pmsi_raw, ev->info->pmsi_raw_len, s->upd, s->len));
	s->routes++;
}

/* ---- reference decoders (share nothing with bgp/ but struct mvpn_route) ---- */

static void ref_addr(struct inet_addr *a, const uint8_t *p, size_t n)
{
	memset(a, 0, sizeof(*a));
	if (n == 4 || n == 16) {
		a->type = n == 4 ? INET_IPV4 : INET_IPV6;
		memcpy(a->bytes, p, n);
	}
}

static uint64_t ref_rd(const uint8_t *p)
{
	return (uint64_t)ref_be32(p) << 32 | ref_be32(p + 4);
}

/* A C-address of length in bits (0 or the family's) at p[*at]; false if not. */
static bool ref_c_addr(const uint8_t *p, size_t len, size_t *at, unsigned fam, struct inet_addr *a)
{
	if (*at >= len)
		return false;
	unsigned bits = p[*at];
	size_t n = bits / 8;
	if (bits != 0 && bits != (fam == BGP_FAM_MVPN6 ? 128u : 32u))
		return false;
	if (len - *at - 1 < n)
		return false;
	ref_addr(a, p + *at + 1, n);
	*at += 1 + n;
	return true;
}

static bool ref_origin(const uint8_t *p, size_t len, size_t at, struct inet_addr *a)
{
	if (len - at != 4 && len - at != 16)
		return false;
	ref_addr(a, p + at, len - at);
	return true;
}

/* The value of an MCAST-VPN route of type t (v: exactly its bytes). */
static bool ref_value(const uint8_t *v, size_t n, unsigned t, unsigned fam, struct mvpn_route *r)
{
	size_t at = 8;

	r->type = (uint8_t)t;
	if (t == 4) {
		struct mvpn_route k;
		if (n < 2 || (v[0] != 1 && v[0] != 3) || n - 2 < v[1])
			return false;
		memset(&k, 0, sizeof(k));
		if (!ref_value(v + 2, v[1], v[0], fam, &k))
			return false;
		r->key_type = v[0], r->key_rd = k.rd, r->key_source = k.source;
		r->key_group = k.group, r->key_origin = k.origin;
		return ref_origin(v, n, 2 + (size_t)v[1], &r->origin);
	}
	if (n < 8)
		return false;
	r->rd = ref_rd(v);
	switch (t) {
	case 1: return ref_origin(v, n, 8, &r->origin);
	case 2:
		if (n != 12)
			return false;
		r->source_as = ref_be32(v + 8);
		return true;
	case 3:
		return ref_c_addr(v, n, &at, fam, &r->source) && ref_c_addr(v, n, &at, fam, &r->group) &&
		       ref_origin(v, n, at, &r->origin);
	case 5:
		return ref_c_addr(v, n, &at, fam, &r->source) && ref_c_addr(v, n, &at, fam, &r->group) &&
		       at == n;
	case 6:
	case 7:
		if (n < 12)
			return false;
		r->source_as = ref_be32(v + 8);
		at = 12;
		return ref_c_addr(v, n, &at, fam, &r->source) && ref_c_addr(v, n, &at, fam, &r->group) &&
		       at == n;
	default: return false;
	}
}

static bool ref_nlri(unsigned fam, const uint8_t *p, size_t len, struct mvpn_route *r)
{
	memset(r, 0, sizeof(*r));
	r->family = (enum bgp_family)fam;
	if (fam == BGP_FAM_MDT) {
		if (len != 17 || p[0] != 128)
			return false;
		r->rd = ref_rd(p + 1);
		ref_addr(&r->origin, p + 9, 4);
		ref_addr(&r->group, p + 13, 4);
		return ref_multicast(&r->group);
	}
	if (len < 2 || p[1] != len - 2)
		return false;
	return ref_value(p + 2, len - 2, p[0], fam, r);
}

static void check_nlri(unsigned fam, const uint8_t *p, size_t len)
{
	struct mvpn_route got, want;
	size_t span;
	uint8_t *copy = malloc(len + 1);

	memcpy(copy, p, len);
	bool ok = ref_nlri(fam, copy, len, &want);
	enum bgp_error e = bgp_nlri_decode((enum bgp_family)fam, copy, len, &got);
	FUZZ_CHECK(ok == (e == BGP_OK));
	if (ok) {
		FUZZ_CHECK(same_route(&got, &want));
		FUZZ_CHECK(bgp_nlri_span((enum bgp_family)fam, copy, len, &span) == BGP_OK && span == len);
	}
	free(copy);
}

static void check_pmsi(const uint8_t *p, size_t len)
{
	struct pmsi_tunnel t;
	bool ok = true;
	uint8_t *copy = malloc(len + 1);

	memcpy(copy, p, len);
	enum bgp_error e = bgp_pmsi_decode(copy, len, &t);
	if (len < 5) {
		FUZZ_CHECK(e != BGP_OK);
		free(copy);
		return;
	}
	size_t n = len - 5;
	const uint8_t *id = copy + 5;
	FUZZ_CHECK(e != BGP_OK || (t.flags == copy[0] && t.type == copy[1] &&
				   t.label == (ref_be32(copy + 1) & 0xffffff) >> 4));
	switch (copy[1]) {
	case 1: /* P2MP ID, 2 zero, Tunnel ID, Extended Tunnel ID 4/16 */
		ok = n == 12 || n == 24;
		if (ok && e == BGP_OK)
			FUZZ_CHECK(t.p2mp_id == ref_be32(id) && t.tunnel_id == be16(id + 6) &&
				   inet_addr_len(&t.sender) == n - 8 && !memcmp(t.sender.bytes, id + 8, n - 8));
		break;
	case 2:
	case 7: { /* FEC type, AF, address length, root, opaque length, opaque */
		size_t alen = n >= 4 ? id[3] : 0;
		unsigned af = n >= 4 ? be16(id + 1) : 0;
		ok = n >= 4 && ((af == 1 && alen == 4) || (af == 2 && alen == 16)) && n >= 6 + alen &&
		     be16(id + 4 + alen) == n - 6 - alen;
		if (ok && e == BGP_OK)
			FUZZ_CHECK(t.opaque == id + 6 + alen && t.opaque_len == n - 6 - alen &&
				   !memcmp(t.sender.bytes, id + 4, alen));
		break;
	}
	case 3:
	case 4:
	case 5: {
		struct inet_addr g;
		ok = n == 8 || n == 32;
		if (ok) {
			ref_addr(&g, id + n / 2, n / 2);
			ok = ref_multicast(&g);
		}
		if (ok && e == BGP_OK)
			FUZZ_CHECK(!memcmp(t.sender.bytes, id, n / 2) && !memcmp(t.group.bytes, id + n / 2, n / 2));
		break;
	}
	case 6:
		ok = n == 4 || n == 16;
		if (ok && e == BGP_OK)
			FUZZ_CHECK(inet_addr_len(&t.sender) == n && !memcmp(t.sender.bytes, id, n));
		break;
	default: ok = true; /* no tunnel information, or a type read no further */
	}
	FUZZ_CHECK(ok == (e == BGP_OK));
	free(copy);
}

static void check_update(const struct bmp_msg *m)
{
	struct bgp_session_opts o = {.as4 = !(m->peer.flags & BMP_PEER_FLAG_A)};
	struct bgp_update_info info;
	struct seen s = {0};
	enum bgp_error e1, e2;

	if (bmp_route_monitoring(m, &s.upd, &s.len) != BGP_OK)
		return;
	e1 = bgp_update_parse(s.upd, s.len, &o, NULL, NULL, NULL);
	e2 = bgp_update_parse(s.upd, s.len, &o, on_route, &s, &info);
	FUZZ_CHECK(e1 == e2);
	FUZZ_CHECK(e2 == BGP_OK || s.routes == 0);
	if (e2 == BGP_OK)
		FUZZ_CHECK(s.routes == info.announced + info.withdrawn);
}

static void check_messages(const uint8_t *p, size_t len)
{
	struct bmp_msg m;
	uint32_t mlen;

	while (len > 0) {
		long want = ref_frame(p, len);
		enum bgp_error e = bmp_frame(p, len, &mlen);
		FUZZ_CHECK((want == 0) == (e == BGP_TRUNCATED));
		FUZZ_CHECK((want < 0) == (e != BGP_OK && e != BGP_TRUNCATED));
		if (want <= 0 || (size_t)want > len)
			return;
		FUZZ_CHECK(mlen == (uint32_t)want);
		if (bmp_parse(p, mlen, &m) == BGP_OK) {
			FUZZ_CHECK(fuzz_within(m.body, m.body_len, p, mlen));
			if (m.type == BMP_ROUTE_MONITORING)
				check_update(&m);
		}
		p += mlen, len -= mlen;
	}
}

static void check_router(const struct bmp_router *r, const struct heard *h)
{
	size_t fam[BGP_FAM_COUNT] = {0}, n = 0, up = 0;

	for (size_t i = 0; i < r->n_peers; i++) {
		const struct route_table *t = &r->peers[i]->routes;
		for (unsigned f = 0; f < BGP_FAM_COUNT; f++)
			fam[f] += t->by_family[f];
		n += t->n;
		/* A row kept down holds no routes; its counts are its sessions. */
		up += r->peers[i]->status == BMP_ROUTER_UP;
		FUZZ_CHECK(r->peers[i]->status == BMP_ROUTER_UP || t->n == 0);
		FUZZ_CHECK(r->peers[i]->ups >= r->peers[i]->downs + (r->peers[i]->status == BMP_ROUTER_UP));
		FUZZ_CHECK(r->peers[i]->status == BMP_ROUTER_UP || r->peers[i]->has_down);
		FUZZ_CHECK(r->peers[i]->router == r);
		if (i > 0)
			FUZZ_CHECK(r->peers[i - 1]->distinguisher < r->peers[i]->distinguisher ||
				   (r->peers[i - 1]->distinguisher == r->peers[i]->distinguisher &&
				    inet_addr_cmp(&r->peers[i - 1]->addr, &r->peers[i]->addr) < 0));
	}
	FUZZ_CHECK(up == bmp_router_peers_up(r) && (r->status == BMP_ROUTER_UP || r->n_peers == 0));
	FUZZ_CHECK(n == r->routes && n <= h->cap);
	FUZZ_CHECK(h->live[r == h->r[1]] == n);
	for (unsigned f = 0; f < BGP_FAM_COUNT; f++)
		FUZZ_CHECK(fam[f] == r->by_family[f]);
}

/* The stream in reads of chunk bytes, as from a socket.  Nothing changes
 * while a read only completes part of a message (nothing was taken): the
 * router is checked after each read that took whole messages. */
static void feed(struct bmp_collector *c, struct bmp_router *r, const uint8_t *p, size_t len,
		 size_t chunk, const struct heard *h)
{
	uint8_t *buf = malloc(len + 1);
	size_t have = 0, off = 0;
	bool close = false;

	while (off < len && !close) {
		size_t n = len - off < chunk ? len - off : chunk;
		memcpy(buf + have, p + off, n);
		have += n, off += n;
		size_t used = bmp_router_input(c, r, buf, have, off, &close);
		FUZZ_CHECK(used <= have);
		if (used == 0 && !close)
			continue;
		memmove(buf, buf + used, have - used);
		have -= used;
		check_router(r, h);
	}
	free(buf);
	if (close)
		bmp_router_disconnect(c, r, off);
}

static void in_other(void *arg, const struct route *r)
{
	const struct route_table *t = arg;
	const struct route *o = route_table_find(t, r->family, r->view, route_key(r), r->key_len);

	FUZZ_CHECK(o && o->attr_len == r->attr_len &&
		   !memcmp(route_attrs(o), route_attrs(r), r->attr_len));
}

/* Two routers fed the same stream, one in reads of the mode's size and one
 * in a single read, end with the same routes and the same counts: what the
 * collector makes of a stream does not depend on where the reads cut it. */
static void same_router(const struct bmp_router *a, const struct bmp_router *b)
{
	FUZZ_CHECK(a->routes == b->routes && a->n_peers == b->n_peers);
	FUZZ_CHECK(!memcmp(a->by_family, b->by_family, sizeof(a->by_family)));
	FUZZ_CHECK(!memcmp(&a->c, &b->c, sizeof(a->c)));
	FUZZ_CHECK(a->status == b->status && a->initiated == b->initiated);
	for (size_t i = 0; i < a->n_peers; i++) {
		const struct bmp_peer *p = a->peers[i], *q = b->peers[i];
		FUZZ_CHECK(p->distinguisher == q->distinguisher && !inet_addr_cmp(&p->addr, &q->addr));
		FUZZ_CHECK(p->routes.n == q->routes.n);
		FUZZ_CHECK(p->status == q->status && p->ups == q->ups && p->downs == q->downs);
		FUZZ_CHECK(p->has_down == q->has_down && p->last_down.reason == q->last_down.reason &&
			   p->last_down.fsm_event == q->last_down.fsm_event &&
			   p->last_down.code == q->last_down.code &&
			   p->last_down.subcode == q->last_down.subcode);
		FUZZ_CHECK(!memcmp(p->routes.by_family, q->routes.by_family, sizeof(p->routes.by_family)));
		route_table_foreach(&p->routes, in_other, (void *)&q->routes);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bmp_limits lim = {0, 4, 2};
	struct heard h = {0};
	struct inet_addr a = {.type = INET_IPV4, .bytes = {127, 0, 0, 1}};
	struct bmp_collector *c;
	struct bmp_router *r1, *r2;

	if (size < 1)
		return 0;
	if ((data[0] & 0xc0) == 0x40) {
		check_nlri((data[0] & 3) % 3, data + 1, size - 1);
		return 0;
	}
	if ((data[0] & 0xc0) == 0xc0) {
		check_pmsi(data + 1, size - 1);
		return 0;
	}
	size_t chunk = (size_t)1 << (2 * (data[0] & 7));
	lim.max_routes_per_router = h.cap = cap_routes[data[0] >> 3 & 7];
	data++, size--;
	check_messages(data, size);
	c = bmp_collector_new(&lim);
	c->on_change = on_change;
	c->change_arg = &h;
	r1 = bmp_router_connect(c, &a, 1, 0);
	a.bytes[3] = 2;
	r2 = bmp_router_connect(c, &a, 1, 0);
	FUZZ_CHECK(r1 && r2);
	h.r[0] = r1, h.r[1] = r2;
	feed(c, r1, data, size, chunk, &h);
	feed(c, r2, data, size, size, &h);
	FUZZ_CHECK(c->t.routes == r1->routes + r2->routes);
	same_router(r1, r2);
	bmp_router_disconnect(c, r1, 1);
	bmp_router_disconnect(c, r2, 1);
	FUZZ_CHECK(c->t.routes == 0 && c->t.routers_up == 0);
	FUZZ_CHECK(h.live[0] == 0 && h.live[1] == 0);
	bmp_collector_free(c);
	return 0;
}
