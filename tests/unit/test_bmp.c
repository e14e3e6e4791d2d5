/*
 * bgp/: the BMP framer and parsers, the UPDATE and NLRI decoder, the route
 * store and the collector, on the streams tests/fixtures/gen_bmp.py encodes
 * independently (bmp_fixtures.h; tshark agrees with them field by field).
 */
#include "unit.h"

#include <inttypes.h>
#include <stdlib.h>

#include "../../bgp/bmp.h"
#include "../../bgp/collector.h"
#include "bmp_fixtures.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *addr_or_dash(const struct inet_addr *a, char buf[INET_ADDR_STRLEN])
{
	return a->type == INET_UNKNOWN ? "-" : inet_addr_format(a, buf);
}

static const char *const fam_name[BGP_FAM_COUNT] = {"mdt", "mvpn4", "mvpn6"};

struct lines {
	char text[64][640];
	size_t n;
	const struct bmp_msg *m;
};

static void format_pmsi(const struct bgp_update_info *in, char *out, size_t len)
{
	char s[INET_ADDR_STRLEN], g[INET_ADDR_STRLEN];
	const struct pmsi_tunnel *t = &in->pmsi;

	if (!in->has_pmsi) {
		snprintf(out, len, "-");
		return;
	}
	snprintf(out, len, "%u/%u/%" PRIu32 "/%s/%s", t->type, t->flags, t->label,
		 addr_or_dash(&t->sender, s), addr_or_dash(&t->group, g));
}

static void on_route(void *arg, const struct bgp_route_event *ev)
{
	struct lines *l = arg;
	const struct mvpn_route *r = ev->route;
	char pa[INET_ADDR_STRLEN], o[INET_ADDR_STRLEN], s[INET_ADDR_STRLEN], g[INET_ADDR_STRLEN];
	char ks[INET_ADDR_STRLEN], kg[INET_ADDR_STRLEN], ko[INET_ADDR_STRLEN], key[200], pm[120];
	char rt[INET_ADDR_STRLEN], orig[INET_ADDR_STRLEN];
	/* What a withdrawal's attributes say is not its own (RFC 4760 4). */
	static const struct inet_addr none;
	bool ann = ev->action == BGP_ANNOUNCE;

	if (l->n >= N(l->text))
		return;
	snprintf(key, sizeof(key), "-");
	if (r->type == MVPN_LEAF_AD)
		snprintf(key, sizeof(key), "%u/%016" PRIx64 "/%s/%s/%s", r->key_type, r->key_rd,
			 addr_or_dash(&r->key_source, ks), addr_or_dash(&r->key_group, kg),
			 addr_or_dash(&r->key_origin, ko));
	if (ev->action == BGP_ANNOUNCE)
		format_pmsi(ev->info, pm, sizeof(pm));
	else
		snprintf(pm, sizeof(pm), "-");
	snprintf(l->text[l->n++], sizeof(l->text[0]),
		 "%s %s %s %s type=%u rd=%016" PRIx64 " origin=%s source=%s group=%s as=%" PRIu32
		 " key=%s pmsi=%s rt=%s originator=%s",
		 inet_addr_format(&l->m->peer.addr, pa),
		 l->m->peer.flags & BMP_PEER_FLAG_L ? "post" : "pre",
		 ev->action == BGP_ANNOUNCE ? "announce" : "withdraw", fam_name[ev->family], r->type,
		 r->rd, addr_or_dash(&r->origin, o), addr_or_dash(&r->source, s),
		 addr_or_dash(&r->group, g), r->source_as, key, pm,
		 addr_or_dash(ann ? &ev->info->import_rt : &none, rt),
		 addr_or_dash(ann ? &ev->info->originator : &none, orig));
}

/* Calls fn on each message of a stream; false if the stream does not frame. */
static bool each_message(const uint8_t *p, size_t len, void (*fn)(void *, const uint8_t *, size_t),
			 void *arg)
{
	uint32_t mlen;

	while (len > 0) {
		if (bmp_frame(p, len, &mlen) != BGP_OK || mlen > len)
			return false;
		fn(arg, p, mlen);
		p += mlen, len -= mlen;
	}
	return true;
}

static void decode_routes(void *arg, const uint8_t *p, size_t len)
{
	struct lines *l = arg;
	struct bmp_msg m;
	const uint8_t *upd;
	size_t ulen;

	if (bmp_parse(p, len, &m) != BGP_OK || m.type != BMP_ROUTE_MONITORING)
		return;
	struct bgp_session_opts o = {.as4 = !(m.peer.flags & BMP_PEER_FLAG_A)};
	l->m = &m;
	if (bmp_route_monitoring(&m, &upd, &ulen) == BGP_OK)
		bgp_update_parse(upd, ulen, &o, on_route, l, NULL);
}

TEST(routes_decode_as_the_encoder_wrote_them)
{
	static struct lines l;
	size_t want = N(bmp_expected_lines);

	l.n = 0;
	for (size_t i = 0; i < N(bmp_steps); i++)
		CHECK(each_message(bmp_steps[i].p, bmp_steps[i].len, decode_routes, &l));
	CHECK_EQ_INT(l.n, want);
	for (size_t i = 0; i < want; i++)
		CHECK_EQ_STR(l.text[i], bmp_expected_lines[i]);
}

TEST(initiation_gives_sysname_and_sysdescr)
{
	struct bmp_msg m;
	struct bmp_info info;

	CHECK_EQ_INT(bmp_parse(bmp_step_01_init, sizeof(bmp_step_01_init), &m), BGP_OK);
	CHECK_EQ_INT(m.type, BMP_INITIATION);
	CHECK(!m.has_peer);
	CHECK_EQ_INT(bmp_info_parse(&m, &info), BGP_OK);
	CHECK(info.sys_name_len == 6 && memcmp(info.sys_name, "pe-rr1", 6) == 0);
	CHECK(info.sys_descr_len == 26 && memcmp(info.sys_descr, "mvpnmon BMP fixture router", 26) == 0);
	CHECK_EQ_INT(info.strings, 1);
}

struct ups {
	struct bmp_peer_up up[4];
	struct bmp_peer_hdr hdr[4];
	size_t n;
};

static void peer_ups(void *arg, const uint8_t *p, size_t len)
{
	struct ups *u = arg;
	struct bmp_msg m;

	if (u->n < 4 && bmp_parse(p, len, &m) == BGP_OK &&
	    bmp_peer_up_parse(&m, &u->up[u->n]) == BGP_OK)
		u->hdr[u->n++] = m.peer;
}

TEST(peer_up_reads_both_opens_and_4_octet_as)
{
	struct ups u = {.n = 0};
	char b[INET_ADDR_STRLEN];

	CHECK(each_message(bmp_step_02_peerup, sizeof(bmp_step_02_peerup), peer_ups, &u));
	CHECK_EQ_INT(u.n, 3);
	CHECK_EQ_STR(inet_addr_format(&u.hdr[0].addr, b), "198.18.0.1");
	CHECK(u.up[0].sent.as4 && u.up[0].received.as4);
	CHECK_EQ_INT(u.up[0].received.as, 65000);
	CHECK_EQ_INT(u.up[0].received.families, 7); /* MDT, MVPN4, MVPN6 */
	CHECK_EQ_STR(inet_addr_format(&u.hdr[1].addr, b), "2001:db8::2");
	CHECK_EQ_STR(inet_addr_format(&u.up[1].local, b), "2001:db8::100");
	CHECK_EQ_INT(u.hdr[1].as, 4200000001u);
	CHECK_EQ_INT(u.up[1].received.as, 4200000001u); /* the capability's, not AS_TRANS */
	CHECK(!u.up[2].sent.as4 && !u.up[2].received.as4);
	CHECK_EQ_INT(u.up[2].received.as, 65003);
	CHECK_EQ_INT(u.up[0].local_port, 179);
	CHECK_EQ_INT(u.up[0].received.hold_time, 90);
}

/* ---- every truncation of every valid message ---- */

struct cuts {
	int bad; /* a truncation taken as valid where it could not be */
	size_t tried;
};

static enum bgp_error parse_all(const uint8_t *p, size_t len)
{
	struct bmp_msg m;
	union {
		struct bmp_info info;
		struct bmp_peer_up up;
		struct bmp_peer_down down;
		struct bmp_stats stats;
	} u;
	const uint8_t *upd;
	size_t ulen;
	enum bgp_error e;
	struct bgp_session_opts o = {.as4 = true};

	if ((e = bmp_parse(p, len, &m)) != BGP_OK)
		return e;
	switch (m.type) {
	case BMP_INITIATION:
	case BMP_TERMINATION: return bmp_info_parse(&m, &u.info);
	case BMP_PEER_UP: return bmp_peer_up_parse(&m, &u.up);
	case BMP_PEER_DOWN: return bmp_peer_down_parse(&m, &u.down);
	case BMP_STATISTICS: return bmp_stats_parse(&m, &u.stats);
	case BMP_ROUTE_MONITORING:
		o.as4 = !(m.peer.flags & BMP_PEER_FLAG_A);
		if ((e = bmp_route_monitoring(&m, &upd, &ulen)) != BGP_OK)
			return e;
		return bgp_update_parse(upd, ulen, &o, NULL, NULL, NULL);
	default: return BGP_OK;
	}
}

static void cut_each(void *arg, const uint8_t *p, size_t len)
{
	struct cuts *c = arg;
	uint32_t mlen;

	for (size_t cut = 0; cut < len; cut++) {
		/* As a stream: the framer waits for the rest. */
		enum bgp_error fe = bmp_frame(p, cut, &mlen);
		if (!(fe == BGP_TRUNCATED || (fe == BGP_OK && mlen > cut)))
			c->bad++;
		if (cut < BMP_COMMON_LEN)
			continue;
		/* As a message whose length says it ends there: an exact-size copy,
		 * so a read past it is ASan's to see. */
		uint8_t *m = malloc(cut);
		memcpy(m, p, cut);
		m[1] = (uint8_t)(cut >> 24), m[2] = (uint8_t)(cut >> 16);
		m[3] = (uint8_t)(cut >> 8), m[4] = (uint8_t)cut;
		enum bgp_error e = parse_all(m, cut);
		/* Only Initiation and Termination may end at a TLV boundary. */
		if (e == BGP_OK && p[5] != BMP_INITIATION && p[5] != BMP_TERMINATION)
			c->bad++;
		c->tried++;
		free(m);
	}
}

TEST(every_truncation_is_refused_or_waited_for)
{
	struct cuts c = {0, 0};

	for (size_t i = 0; i < N(bmp_steps); i++)
		CHECK(each_message(bmp_steps[i].p, bmp_steps[i].len, cut_each, &c));
	CHECK(c.tried > 3000);
	CHECK_EQ_INT(c.bad, 0);
}

/* ---- one way broken each ---- */

TEST(malformed_messages_say_why)
{
	static const struct {
		const char *name;
		enum bgp_error e;
	} want[] = {
		{"attr-length-long", BGP_BAD_LENGTH}, {"bad-marker", BGP_BAD_MARKER},
		{"bmp-version-2", BGP_BAD_VERSION},   {"ext-communities-length-20", BGP_BAD_LENGTH},
		{"ext-communities-well-known", BGP_BAD_FLAGS},
		{"ipv6-ext-communities-length-24", BGP_BAD_LENGTH},
		{"mdt-bits-96", BGP_BAD_NLRI},
		{"mp-reach-transitive", BGP_BAD_FLAGS}, {"mp-reach-twice", BGP_BAD_ATTR},
		{"mvpn-source-24", BGP_BAD_NLRI},     {"origin-optional", BGP_BAD_FLAGS},
		{"originator-id-length-3", BGP_BAD_LENGTH},
		{"originator-id-transitive", BGP_BAD_FLAGS},
		{"peer-up-short", BGP_TRUNCATED},     {"pmsi-unicast-group", BGP_BAD_ATTR},
	};
	CHECK_EQ_INT(N(bmp_malformed), N(want));
	for (size_t i = 0; i < N(want); i++) {
		CHECK_EQ_STR(bmp_malformed[i].name, want[i].name);
		enum bgp_error e = parse_all(bmp_malformed[i].p, bmp_malformed[i].len);
		if (e != want[i].e)
			printf("#   %s: %s\n", want[i].name, bgp_error_name(e));
		CHECK_EQ_INT(e, want[i].e);
	}
}

static uint8_t *update_of(const uint8_t *attrs, size_t alen, size_t *len)
{
	uint8_t *u = calloc(1, 23 + alen);

	memset(u, 0xff, 16);
	*len = 23 + alen;
	u[16] = (uint8_t)(*len >> 8), u[17] = (uint8_t)*len, u[18] = 2;
	u[21] = (uint8_t)(alen >> 8), u[22] = (uint8_t)alen;
	if (alen)
		memcpy(u + 23, attrs, alen);
	return u;
}

TEST(attribute_flags_and_lengths_follow_rfc_4271)
{
	static const struct {
		uint8_t attr[12];
		size_t len;
		enum bgp_error e;
	} cases[] = {
		{{0x40, 1, 1, 0}, 4, BGP_OK},                  /* ORIGIN IGP */
		{{0x40, 1, 1, 3}, 4, BGP_BAD_ATTR},            /* ORIGIN 3 */
		{{0x40, 1, 2, 0, 0}, 5, BGP_BAD_LENGTH},       /* ORIGIN of 2 bytes */
		{{0x60, 1, 1, 0}, 4, BGP_BAD_FLAGS},           /* well-known with Partial */
		{{0x00, 1, 1, 0}, 4, BGP_BAD_FLAGS},           /* well-known, not transitive */
		{{0xc0, 4, 4, 0, 0, 0, 1}, 7, BGP_BAD_FLAGS},  /* MED transitive */
		{{0x80, 4, 4, 0, 0, 0, 1}, 7, BGP_OK},         /* MED */
		{{0x40, 2, 6, 2, 1, 0, 0, 0xfd, 0xe8}, 9, BGP_OK},     /* AS_SEQUENCE 65000 */
		{{0x40, 2, 6, 2, 2, 0, 0, 0xfd, 0xe8}, 9, BGP_BAD_ATTR}, /* count 2, one AS */
		{{0x40, 2, 6, 9, 1, 0, 0, 0xfd, 0xe8}, 9, BGP_BAD_ATTR}, /* segment type 9 */
		{{0x40, 99, 0}, 3, BGP_BAD_FLAGS},             /* unknown well-known */
		{{0xc0, 99, 0}, 3, BGP_OK},                    /* unknown optional: skipped */
		{{0x50, 1, 0, 1, 0}, 5, BGP_OK},               /* extended length */
		{{0x40, 1, 5, 0}, 4, BGP_TRUNCATED},           /* longer than the attributes */
		{{0xc0, 22, 4, 0, 3, 0, 0}, 7, BGP_BAD_ATTR},  /* PMSI shorter than 5 */
		{{0xc0, 8, 3, 0, 0, 0}, 6, BGP_BAD_LENGTH},    /* COMMUNITIES not 4k */
	};
	struct bgp_session_opts o = {.as4 = true};

	for (size_t i = 0; i < N(cases); i++) {
		size_t len;
		uint8_t *u = update_of(cases[i].attr, cases[i].len, &len);
		enum bgp_error e = bgp_update_parse(u, len, &o, NULL, NULL, NULL);
		free(u);
		if (e != cases[i].e)
			printf("#   case %zu: %s\n", i, bgp_error_name(e));
		CHECK_EQ_INT(e, cases[i].e);
	}
}

TEST(as_path_width_follows_the_session)
{
	static const uint8_t as2[] = {0x40, 2, 4, 2, 1, 0xfd, 0xeb};
	struct bgp_session_opts two = {.as4 = false}, four = {.as4 = true};
	struct bgp_update_info info;
	size_t len;
	uint8_t *u = update_of(as2, sizeof(as2), &len);

	CHECK_EQ_INT(bgp_update_parse(u, len, &two, NULL, NULL, &info), BGP_OK);
	CHECK_EQ_INT(info.origin_as, 65003);
	CHECK_EQ_INT(bgp_update_parse(u, len, &four, NULL, NULL, &info), BGP_BAD_ATTR);
	free(u);
}

TEST(end_of_rib_is_recognised)
{
	static const uint8_t eor[] = {0x80, 15, 3, 0, 1, 5};
	struct bgp_session_opts o = {.as4 = true};
	struct bgp_update_info info;
	size_t len;
	uint8_t *u = update_of(eor, sizeof(eor), &len);

	CHECK_EQ_INT(bgp_update_parse(u, len, &o, NULL, NULL, &info), BGP_OK);
	CHECK(info.end_of_rib);
	free(u);
	u = update_of(NULL, 0, &len);
	CHECK_EQ_INT(bgp_update_parse(u, len, &o, NULL, NULL, &info), BGP_OK);
	CHECK(info.end_of_rib);
	free(u);
}

/* ---- the route store ---- */

TEST(route_table_agrees_with_a_plain_list)
{
	enum { KEYS = 3000 };
	static bool in[KEYS];
	struct route_table t;
	const struct route *r;
	struct route *old;
	unsigned seed = 6037;

	route_table_init(&t);
	memset(in, 0, sizeof(in));
	for (int step = 0; step < 60000; step++) {
		seed = seed * 1103515245u + 12345u;
		uint32_t k = (seed >> 8) % KEYS;
		uint8_t key[6] = {7, 4, (uint8_t)(k >> 8), (uint8_t)k, 0, 1};
		if ((seed >> 20) & 1) {
			enum route_put p = route_table_put(&t, BGP_FAM_MVPN4, 0, key, 6, NULL, 0, &r, &old);
			CHECK_EQ_INT(p, in[k] ? ROUTE_UNCHANGED : ROUTE_ADDED);
			in[k] = true;
		} else {
			CHECK_EQ_INT(route_table_del(&t, BGP_FAM_MVPN4, 0, key, 6, NULL, NULL), in[k]);
			in[k] = false;
		}
	}
	size_t n = 0;
	for (uint32_t k = 0; k < KEYS; k++) {
		uint8_t key[6] = {7, 4, (uint8_t)(k >> 8), (uint8_t)k, 0, 1};
		CHECK_EQ_INT(route_table_find(&t, BGP_FAM_MVPN4, 0, key, 6) != NULL, in[k]);
		CHECK(route_table_find(&t, BGP_FAM_MVPN4, ROUTE_POST_POLICY, key, 6) == NULL);
		n += in[k];
	}
	CHECK_EQ_INT(t.n, n);
	CHECK_EQ_INT(t.by_family[BGP_FAM_MVPN4], n);
	route_table_clear(&t, NULL, NULL);
	CHECK_EQ_INT(t.n, 0);
}

/* ---- the collector ---- */

static const struct bmp_limits lim = {1000, 16, 4};

static struct inet_addr v4(const char *s)
{
	struct inet_addr a;
	inet_addr_parse(&a, s);
	return a;
}

static void check_counts(const struct bmp_router *r, const unsigned want[3], int *unit_failed_)
{
	CHECK_EQ_INT(r->by_family[BGP_FAM_MDT], want[0]);
	CHECK_EQ_INT(r->by_family[BGP_FAM_MVPN4], want[1]);
	CHECK_EQ_INT(r->by_family[BGP_FAM_MVPN6], want[2]);
	CHECK_EQ_INT(r->routes, want[0] + want[1] + want[2]);
}

struct tally {
	long adds, withdraws;
};

static void count_change(void *arg, const struct route_change *ch)
{
	struct tally *t = arg;

	if (ch->ev == ROUTE_EV_ADD)
		t->adds++;
	else if (ch->ev == ROUTE_EV_WITHDRAW)
		t->withdraws++;
}

/* Feeds in pieces of `chunk` bytes, as reads from a socket would come, at now. */
static bool feed_at(struct bmp_collector *c, struct bmp_router *r, const uint8_t *p, size_t len,
		    size_t chunk, mtime_t now)
{
	static uint8_t buf[1 << 16];
	size_t have = 0, off = 0;
	bool close = false;

	while (off < len && !close) {
		size_t n = len - off < chunk ? len - off : chunk;
		memcpy(buf + have, p + off, n);
		have += n, off += n;
		size_t used = bmp_router_input(c, r, buf, have, now, &close);
		memmove(buf, buf + used, have - used);
		have -= used;
	}
	return close;
}

static bool feed(struct bmp_collector *c, struct bmp_router *r, const uint8_t *p, size_t len,
		 size_t chunk)
{
	return feed_at(c, r, p, len, chunk, 1);
}

TEST(collector_follows_the_steps)
{
	struct bmp_collector *c = bmp_collector_new(&lim);
	struct inet_addr a = v4("127.0.0.1");
	struct tally t = {0, 0};
	struct bmp_router *r;

	c->on_change = count_change, c->change_arg = &t;
	CHECK((r = bmp_router_connect(c, &a, 40000, 1)) != NULL);
	for (size_t i = 0; i < N(bmp_steps); i++) {
		bool closed = feed(c, r, bmp_steps[i].p, bmp_steps[i].len, i % 2 ? 7 : 4096);
		CHECK_EQ_INT(closed, i == N(bmp_steps) - 1); /* Termination ends it */
		if (closed)
			bmp_router_disconnect(c, r, 2);
		check_counts(r, bmp_step_routes[i], unit_failed_);
		if (*unit_failed_)
			return;
		if (i == 0)
			CHECK_EQ_STR(r->sys_name, "pe-rr1");
		if (i == 1)
			CHECK_EQ_INT(bmp_router_peers_up(r), 3);
		if (i == 4)
			CHECK_EQ_INT(bmp_router_peers_up(r), 2);
	}
	CHECK_EQ_INT(r->status, BMP_ROUTER_DOWN);
	CHECK_EQ_INT(r->c.malformed, 0);
	CHECK_EQ_INT(c->t.routes, 0);
	CHECK_EQ_INT(t.adds, t.withdraws);
	CHECK(r->has_term_reason && r->term_reason == 0);
	CHECK_EQ_INT(r->c.other_family, 1);
	bmp_collector_free(c);
}

TEST(collector_cap_keeps_known_routes_and_counts_drops)
{
	struct bmp_limits small = {5, 16, 4};
	struct bmp_collector *c = bmp_collector_new(&small);
	struct inet_addr a = v4("127.0.0.1");
	struct bmp_router *r = bmp_router_connect(c, &a, 1, 1);

	for (size_t i = 0; i < 3; i++)
		feed(c, r, bmp_steps[i].p, bmp_steps[i].len, 4096);
	CHECK_EQ_INT(r->routes, 5);
	CHECK_EQ_INT(r->c.route_drops, 37 - 5);
	CHECK_EQ_INT(c->t.route_drops, 37 - 5);
	/* The withdrawal of a kept MDT route (65000:3) frees room. */
	feed(c, r, bmp_steps[3].p, bmp_steps[3].len, 4096);
	CHECK_EQ_INT(r->routes, 4);
	/* Replaying the routes: known ones are unchanged, one new one fits. */
	feed(c, r, bmp_steps[2].p, bmp_steps[2].len, 4096);
	CHECK_EQ_INT(r->routes, 5);
	bmp_collector_free(c);
}

TEST(collector_closes_without_initiation_or_on_bad_framing)
{
	struct bmp_collector *c = bmp_collector_new(&lim);
	struct inet_addr a = v4("127.0.0.1");
	struct bmp_router *r = bmp_router_connect(c, &a, 1, 1);
	static const uint8_t v2[] = {2, 0, 0, 0, 6, 4};
	bool close;

	CHECK(feed(c, r, bmp_step_02_peerup, sizeof(bmp_step_02_peerup), 4096));
	CHECK_EQ_INT(r->c.malformed, 1);
	bmp_router_disconnect(c, r, 2);
	r = bmp_router_connect(c, &a, 2, 3);
	CHECK_EQ_INT(r->c.sessions, 2);
	bmp_router_input(c, r, v2, sizeof(v2), 4, &close);
	CHECK(close);
	CHECK_EQ_INT(c->t.closed_malformed, 1);
	bmp_collector_free(c);
}

TEST(collector_counts_malformed_and_keeps_going)
{
	struct bmp_collector *c = bmp_collector_new(&lim);
	struct inet_addr a = v4("127.0.0.1");
	struct bmp_router *r = bmp_router_connect(c, &a, 1, 1);

	feed(c, r, bmp_step_01_init, sizeof(bmp_step_01_init), 4096);
	feed(c, r, bmp_step_02_peerup, sizeof(bmp_step_02_peerup), 4096);
	size_t bad = 0;
	for (size_t i = 0; i < N(bmp_malformed); i++) {
		if (strcmp(bmp_malformed[i].name, "bmp-version-2") == 0)
			continue; /* that one ends the session: above */
		CHECK(!feed(c, r, bmp_malformed[i].p, bmp_malformed[i].len, 4096));
		bad++;
	}
	CHECK_EQ_INT(r->c.malformed, bad);
	CHECK_EQ_INT(r->routes, 0); /* nothing partial */
	feed(c, r, bmp_step_03_routes, sizeof(bmp_step_03_routes), 4096);
	check_counts(r, bmp_step_routes[2], unit_failed_);
	bmp_collector_free(c);
}

TEST(two_routers_keep_their_own_routes)
{
	struct bmp_collector *c = bmp_collector_new(&lim);
	struct inet_addr a = v4("127.0.0.1"), b = v4("127.0.0.2");
	struct bmp_router *ra = bmp_router_connect(c, &a, 1, 1);
	struct bmp_router *rb = bmp_router_connect(c, &b, 1, 1);

	for (size_t i = 0; i < 3; i++) {
		feed(c, ra, bmp_steps[i].p, bmp_steps[i].len, 4096);
		feed(c, rb, bmp_steps[i].p, bmp_steps[i].len, 4096);
	}
	CHECK_EQ_INT(c->t.routes, 2 * 37);
	CHECK_EQ_INT(c->t.routers_up, 2);
	bmp_router_disconnect(c, ra, 2);
	CHECK_EQ_INT(ra->routes, 0);
	check_counts(rb, bmp_step_routes[2], unit_failed_);
	CHECK_EQ_INT(c->t.routes, 37);
	CHECK(bmp_router_seek(c, &a, false) == ra && bmp_router_seek(c, &a, true) == rb);
	/* A reconnection from b replaces its stale session. */
	rb = bmp_router_connect(c, &b, 2, 3);
	CHECK_EQ_INT(rb->routes, 0);
	CHECK_EQ_INT(rb->c.sessions, 2);
	bmp_collector_free(c);
}

/* max_routers rows, up or down: a new router takes the row down longest,
 * and is refused while every row is up. */
TEST(router_rows_past_the_cap_reclaim_the_one_down_longest)
{
	static const struct bmp_limits two = {1000, 16, 2};
	struct bmp_collector *c = bmp_collector_new(&two);
	struct inet_addr a = v4("127.0.0.1"), b = v4("127.0.0.2"), d = v4("127.0.0.4");
	struct bmp_router *ra = bmp_router_connect(c, &a, 1, 1);
	struct bmp_router *rb = bmp_router_connect(c, &b, 1, 1);

	CHECK(bmp_router_connect(c, &d, 1, 2) == NULL);
	CHECK_EQ_INT(c->t.refused_full, 1);
	feed(c, rb, bmp_steps[0].p, bmp_steps[0].len, 4096);
	bmp_router_disconnect(c, rb, 3); /* down longest */
	bmp_router_disconnect(c, ra, 4);
	struct bmp_router *rd = bmp_router_connect(c, &d, 1, 5);
	CHECK(rd != NULL);
	CHECK_EQ_INT(c->n_routers, 2);
	CHECK(bmp_router_seek(c, &a, false) == ra);         /* a stays */
	CHECK(bmp_router_seek(c, &a, true) == rd);          /* b went; order kept */
	CHECK_EQ_INT(c->t.refused_full, 1);
	CHECK_EQ_INT(c->t.routers_up, 1);
	/* A known router comes back into its own row, even at the cap. */
	CHECK(bmp_router_connect(c, &a, 2, 6) == ra);
	CHECK_EQ_INT(ra->c.sessions, 2);
	CHECK_EQ_INT(ra->made, 1);  /* the same row: its counters go on */
	CHECK_EQ_INT(rd->made, 5);
	CHECK(bmp_router_connect(c, &b, 2, 7) == NULL); /* both up again */
	CHECK_EQ_INT(c->t.refused_full, 2);
	bmp_collector_free(c);
}

/* A reload's retirement of a router: the row goes with its routes (each
 * withdrawn to the listeners), up or down, and comes back new. */
TEST(a_forgotten_router_takes_its_row_and_routes)
{
	struct bmp_collector *c = bmp_collector_new(&lim);
	struct inet_addr a = v4("127.0.0.1"), b = v4("127.0.0.2");
	struct tally t = {0, 0};
	struct bmp_router *ra = bmp_router_connect(c, &a, 1, 1);
	struct bmp_router *rb = bmp_router_connect(c, &b, 1, 1);

	c->on_change = count_change, c->change_arg = &t;
	for (size_t i = 0; i < 3; i++) {
		feed(c, ra, bmp_steps[i].p, bmp_steps[i].len, 4096);
		feed(c, rb, bmp_steps[i].p, bmp_steps[i].len, 4096);
	}
	CHECK_EQ_INT(t.adds, 2 * 37);
	bmp_router_forget(c, ra, 2); /* up: its session ends first */
	CHECK_EQ_INT(t.withdraws, 37);
	CHECK_EQ_INT(c->n_routers, 1);
	CHECK_EQ_INT(c->t.routers_up, 1);
	CHECK_EQ_INT(c->t.routes, 37);
	CHECK(bmp_router_seek(c, &a, false) == rb);
	bmp_router_disconnect(c, rb, 3);
	bmp_router_forget(c, rb, 4); /* down */
	CHECK_EQ_INT(t.withdraws, 2 * 37);
	CHECK_EQ_INT(c->n_routers, 0);
	CHECK(bmp_router_seek(c, &a, false) == NULL);
	ra = bmp_router_connect(c, &a, 2, 5); /* back: a new row, counted from zero */
	CHECK_EQ_INT(ra->made, 5);
	CHECK_EQ_INT(ra->c.sessions, 1);
	CHECK_EQ_INT(ra->c.messages, 0);
	bmp_collector_free(c);
}

static void count_rd(void *arg, const struct bmp_router *r, const struct bmp_peer *p,
		     const struct route *route)
{
	(void)r, (void)p, (void)route;
	(*(int *)arg)++;
}

TEST(routes_of_an_rd_can_be_walked)
{
	struct bmp_collector *c = bmp_collector_new(&lim);
	struct inet_addr a = v4("127.0.0.1");
	struct bmp_router *r = bmp_router_connect(c, &a, 1, 1);
	int n = 0;

	for (size_t i = 0; i < 3; i++)
		feed(c, r, bmp_steps[i].p, bmp_steps[i].len, 4096);
	/* RD 65000:1 in the MDT SAFI: A pre, A post, B, C. */
	bmp_collector_foreach(c, BGP_FAM_MDT, true, 0x0000fde800000001ull, count_rd, &n);
	CHECK_EQ_INT(n, 4);
	n = 0;
	bmp_collector_foreach(c, BGP_FAM_COUNT, false, 0, count_rd, &n);
	CHECK_EQ_INT(n, 37);
	bmp_collector_free(c);
}

static const struct bmp_peer *peer_row(const struct bmp_router *r, const char *addr)
{
	struct inet_addr a = v4(addr);

	for (size_t i = 0; i < r->n_peers; i++)
		if (inet_addr_cmp(&r->peers[i]->addr, &a) == 0)
			return r->peers[i];
	return NULL;
}

struct nth {
	size_t want, seen;
	const uint8_t *p;
	size_t len;
	const char *peer; /* count the messages of this peer (NULL: none) */
	size_t of_peer;
};

static void pick_nth(void *arg, const uint8_t *p, size_t len)
{
	struct nth *n = arg;
	struct bmp_msg m;
	struct inet_addr a;

	if (n->seen++ == n->want)
		n->p = p, n->len = len;
	if (n->peer && bmp_parse(p, len, &m) == BGP_OK && m.has_peer) {
		a = v4(n->peer);
		n->of_peer += inet_addr_cmp(&m.peer.addr, &a) == 0;
	}
}

/* Message k of fixture step i. */
static struct nth step_message(size_t i, size_t k)
{
	struct nth n = {.want = k};

	each_message(bmp_steps[i].p, bmp_steps[i].len, pick_nth, &n);
	return n;
}

/* gen_bmp.py's peers and its Peer Down: B, reason 3 (RFC 7854 4.9: remote
 * system closed, NOTIFICATION follows) with PEER_DOWN_NOTIFICATION. */
#define PEER_B "2001:db8::2"

TEST(peer_down_keeps_its_row_with_the_reason)
{
	struct bmp_collector *c = bmp_collector_new(&lim);
	struct inet_addr a = v4("127.0.0.1");
	struct bmp_router *r = bmp_router_connect(c, &a, 1, 1);
	struct nth b_msgs = {.want = SIZE_MAX, .peer = PEER_B};
	const struct bmp_peer *b;
	uint64_t unknown;

	for (size_t i = 0; i < 4; i++)
		feed_at(c, r, bmp_steps[i].p, bmp_steps[i].len, 4096, 1);
	CHECK((b = peer_row(r, PEER_B)) != NULL);
	CHECK(b->routes.n > 0 && b->status == BMP_ROUTER_UP && !b->has_down);
	feed_at(c, r, bmp_steps[4].p, bmp_steps[4].len, 4096, 5); /* 05-peerdown */
	CHECK(peer_row(r, PEER_B) == b);
	CHECK_EQ_INT(b->status, BMP_ROUTER_DOWN);
	CHECK_EQ_INT(b->down_since, 5);
	CHECK(b->has_down);
	CHECK_EQ_INT(b->last_down.reason, 3);
	CHECK_EQ_INT(b->last_down.code, 6);
	CHECK_EQ_INT(b->last_down.subcode, 2);
	CHECK_EQ_INT(b->ups, 1);
	CHECK_EQ_INT(b->downs, 1);
	CHECK_EQ_INT(b->routes.n, 0);
	CHECK_EQ_INT(b->as, 4200000001u);
	CHECK_EQ_INT(b->bgp_id, 0xc6120002u); /* 198.18.0.2 */
	CHECK_EQ_INT(r->n_peers, 3);
	CHECK_EQ_INT(bmp_router_peers_up(r), 2);

	/* Route Monitoring and Peer Down for a peer that is down: counted, dropped. */
	unknown = r->c.unknown_peer;
	each_message(bmp_steps[2].p, bmp_steps[2].len, pick_nth, &b_msgs);
	CHECK(b_msgs.of_peer > 0);
	feed_at(c, r, bmp_steps[2].p, bmp_steps[2].len, 4096, 6);
	feed_at(c, r, bmp_steps[4].p, bmp_steps[4].len, 4096, 7);
	CHECK_EQ_INT(r->c.unknown_peer, unknown + b_msgs.of_peer + 1);
	CHECK_EQ_INT(b->routes.n, 0);
	CHECK_EQ_INT(b->downs, 1);
	CHECK_EQ_INT(b->down_since, 5);

	/* Its next Peer Up brings the same row up; the last Peer Down stays told. */
	feed_at(c, r, bmp_steps[1].p, bmp_steps[1].len, 4096, 9);
	CHECK(peer_row(r, PEER_B) == b);
	CHECK_EQ_INT(b->status, BMP_ROUTER_UP);
	CHECK_EQ_INT(b->up_since, 9);
	CHECK_EQ_INT(b->ups, 2);
	CHECK(b->has_down && b->last_down.reason == 3);
	CHECK_EQ_INT(bmp_router_peers_up(r), 3);
	CHECK_EQ_INT(r->c.peer_downs, 1);

	/* The session's end takes every peer row. */
	CHECK(feed_at(c, r, bmp_steps[5].p, bmp_steps[5].len, 4096, 10));
	bmp_router_disconnect(c, r, 10);
	CHECK_EQ_INT(r->n_peers, 0);
	CHECK_EQ_INT(bmp_router_peers_up(r), 0);
	bmp_collector_free(c);
}

TEST(peer_rows_past_the_cap_reclaim_one_down)
{
	const struct bmp_limits two = {1000, 2, 4};
	struct bmp_collector *c = bmp_collector_new(&two);
	struct inet_addr a = v4("127.0.0.1");
	struct bmp_router *r = bmp_router_connect(c, &a, 1, 1);
	struct nth up_a = step_message(1, 0), up_b = step_message(1, 1), up_c = step_message(1, 2);

	CHECK(up_a.p && up_b.p && up_c.p);
	feed_at(c, r, bmp_steps[0].p, bmp_steps[0].len, 4096, 1);
	feed_at(c, r, up_a.p, up_a.len, 4096, 1);
	feed_at(c, r, up_b.p, up_b.len, 4096, 1);
	feed_at(c, r, up_c.p, up_c.len, 4096, 1); /* no room, none down: refused */
	CHECK_EQ_INT(r->n_peers, 2);
	CHECK_EQ_INT(r->c.peer_drops, 1);
	CHECK(peer_row(r, "198.18.0.3") == NULL);

	feed_at(c, r, bmp_steps[4].p, bmp_steps[4].len, 4096, 3); /* B down */
	feed_at(c, r, up_c.p, up_c.len, 4096, 4);                 /* takes B's row */
	CHECK_EQ_INT(r->n_peers, 2);
	CHECK_EQ_INT(r->c.peer_drops, 1);
	CHECK(peer_row(r, PEER_B) == NULL);
	CHECK(peer_row(r, "198.18.0.3") != NULL);
	CHECK_EQ_INT(bmp_router_peers_up(r), 2);
	/* Rows stay in index order across the reclaim. */
	CHECK(r->peers[0]->distinguisher < r->peers[1]->distinguisher ||
	      inet_addr_cmp(&r->peers[0]->addr, &r->peers[1]->addr) < 0);

	feed_at(c, r, up_b.p, up_b.len, 4096, 5); /* both up: refused again */
	CHECK_EQ_INT(r->c.peer_drops, 2);
	CHECK(peer_row(r, PEER_B) == NULL);
	bmp_collector_free(c);
}

struct events {
	char seen[16][48];
	size_t n;
	int wrong_state; /* events whose router or peer was not in the state told */
};

static void record_event(void *arg, const struct bmp_event *ev)
{
	static const char *const kind[] = {"router up", "router down", "peer up", "peer down"};
	struct events *e = arg;
	char a[INET_ADDR_STRLEN];

	if (e->n < 16)
		snprintf(e->seen[e->n++], sizeof(e->seen[0]), "%s%s%s", kind[ev->kind],
			 ev->peer ? " " : "", ev->peer ? inet_addr_format(&ev->peer->addr, a) : "");
	/* Told in its new state. */
	if (ev->peer)
		e->wrong_state += ev->peer->status !=
				  (ev->kind == BMP_EV_PEER_UP ? BMP_ROUTER_UP : BMP_ROUTER_DOWN);
	else
		e->wrong_state += ev->router->status !=
				  (ev->kind == BMP_EV_ROUTER_UP ? BMP_ROUTER_UP : BMP_ROUTER_DOWN);
}

TEST(sessions_and_peers_are_told_as_they_come_and_go)
{
	static const char *const want[] = {"router up", "peer up 198.18.0.1",
					   "peer up 2001:db8::2", "peer up 198.18.0.3",
					   "peer down 2001:db8::2", "router down"};
	struct bmp_collector *c = bmp_collector_new(&lim);
	struct inet_addr a = v4("127.0.0.1");
	struct events e = {.n = 0, .wrong_state = 0};
	struct bmp_router *r;

	c->on_event = record_event, c->event_arg = &e;
	r = bmp_router_connect(c, &a, 1, 1);
	for (size_t i = 0; i < N(bmp_steps); i++)
		if (feed(c, r, bmp_steps[i].p, bmp_steps[i].len, 4096))
			bmp_router_disconnect(c, r, 2);
	CHECK_EQ_INT(e.n, N(want));
	CHECK_EQ_INT(e.wrong_state, 0);
	for (size_t i = 0; i < N(want) && i < e.n; i++)
		CHECK_EQ_STR(e.seen[i], want[i]);

	/* A session that ends before its Initiation was never up: nothing told. */
	e.n = 0;
	r = bmp_router_connect(c, &a, 2, 3);
	bmp_router_disconnect(c, r, 4);
	CHECK_EQ_INT(e.n, 0);
	/* A reconnection ends the session it replaces: told down, then up. */
	r = bmp_router_connect(c, &a, 3, 5);
	feed(c, r, bmp_steps[0].p, bmp_steps[0].len, 4096);
	feed(c, r, bmp_steps[0].p, bmp_steps[0].len, 4096); /* a second Initiation: no news */
	r = bmp_router_connect(c, &a, 4, 6);
	CHECK_EQ_INT(e.n, 2);
	CHECK_EQ_STR(e.seen[0], "router up");
	CHECK_EQ_STR(e.seen[1], "router down");
	bmp_collector_free(c); /* a shutdown tells nothing */
	CHECK_EQ_INT(e.n, 2);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"routes_decode_as_the_encoder_wrote_them", routes_decode_as_the_encoder_wrote_them},
		{"initiation_gives_sysname_and_sysdescr", initiation_gives_sysname_and_sysdescr},
		{"peer_up_reads_both_opens_and_4_octet_as", peer_up_reads_both_opens_and_4_octet_as},
		{"every_truncation_is_refused_or_waited_for", every_truncation_is_refused_or_waited_for},
		{"malformed_messages_say_why", malformed_messages_say_why},
		{"attribute_flags_and_lengths_follow_rfc_4271", attribute_flags_and_lengths_follow_rfc_4271},
		{"as_path_width_follows_the_session", as_path_width_follows_the_session},
		{"end_of_rib_is_recognised", end_of_rib_is_recognised},
		{"route_table_agrees_with_a_plain_list", route_table_agrees_with_a_plain_list},
		{"collector_follows_the_steps", collector_follows_the_steps},
		{"collector_cap_keeps_known_routes_and_counts_drops",
		 collector_cap_keeps_known_routes_and_counts_drops},
		{"collector_closes_without_initiation_or_on_bad_framing",
		 collector_closes_without_initiation_or_on_bad_framing},
		{"collector_counts_malformed_and_keeps_going", collector_counts_malformed_and_keeps_going},
		{"two_routers_keep_their_own_routes", two_routers_keep_their_own_routes},
		{"router_rows_past_the_cap_reclaim_the_one_down_longest",
		 router_rows_past_the_cap_reclaim_the_one_down_longest},
		{"a_forgotten_router_takes_its_row_and_routes", a_forgotten_router_takes_its_row_and_routes},
		{"routes_of_an_rd_can_be_walked", routes_of_an_rd_can_be_walked},
		{"peer_down_keeps_its_row_with_the_reason", peer_down_keeps_its_row_with_the_reason},
		{"peer_rows_past_the_cap_reclaim_one_down", peer_rows_past_the_cap_reclaim_one_down},
		{"sessions_and_peers_are_told_as_they_come_and_go",
		 sessions_and_peers_are_told_as_they_come_and_go},
	};
	return unit_main("bmp", tests, N(tests));
}
