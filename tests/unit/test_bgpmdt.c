/*
 * BGP's MDT SAFI against PIM (mib/bgpmdt.c, bgp/mdt.c), on the model clock:
 * the new PE statuses and their alarms, the settle time that keeps a BMP
 * session's restart from paging anybody, routes counted over routers and
 * views, expected-pes = bgp, the recount after a reload, and the engine fed
 * by the collector with the streams tests/fixtures/gen_bmp.py encodes
 * (bmp_fixtures.h), discovery included.
 */
#include "unit.h"

#include <stdlib.h>

#include "../../bgp/mdt.h"
#include "../../bgp/mvpn.h"
#include "../../mib/bgpmdt.h"
#include "../../mib/log.h"
#include "../../mib/passive.h"
#include "bmp_fixtures.h"

#define S MTIME_SEC
#define T0 (1767225600ull * S)

static struct inet_addr A(const char *text)
{
	struct inet_addr a;
	if (!inet_addr_parse(&a, text))
		abort();
	return a;
}

static void quiet(int priority, const char *fmt, va_list ap)
{
	(void)priority, (void)fmt, (void)ap;
}

/* VPN red (index 1, 239.192.0.1) expecting .1 and .2; grace 10 s, PE checks
 * every 10 s, settle 60 s. */
static struct model *bgp_model(void)
{
	struct model *m = model_new(true);
	struct inet_addr mdt = A("239.192.0.1"), exp[2] = {A("198.18.0.1"), A("198.18.0.2")};

	mvpn_log_set_sink(quiet);
	changelog_resize(&m->changes, 1000);
	m->capture = CAPTURE_RUNNING;
	m->settings.startup_grace = 10 * S;
	m->settings.max_pes_per_vpn = 100;
	m->settings.max_cgroups_per_vpn = 1000;
	m->settings.pe_check_interval = 10 * S;
	m->settings.bgp_settle = 60 * S;
	vpn_configure(vpn_get(m, 1), "red", &mdt, exp, 2);
	mclock_advance(&m->clock, T0);
	return m;
}

static mtime_t when(double t)
{
	return T0 + (mtime_t)(t * 1e9);
}

/* Time moves to t (seconds after T0): timers run, and the model judges. */
static void at(struct model *m, double t)
{
	mclock_advance(&m->clock, when(t));
	passive_expire(m, when(t));
	alarms_run(m, when(t));
}

static void hello(struct model *m, double t, const char *pe)
{
	struct hello_event e = {.pe = A(pe), .caddr = A(pe), .has_holdtime = true,
				.holdtime = 3600};
	at(m, t);
	passive_hello(m, vpn_find(m, 1), &e);
	alarms_run(m, when(t));
}

static void route(struct model *m, double t, const char *pe, bool add)
{
	struct inet_addr a = A(pe);

	at(m, t);
	vpn_bgp_route(m, vpn_find(m, 1), &a, add, when(t));
	alarms_run(m, when(t));
}

/* The notices waiting, as "kind:last octet" words. */
static const char *drain(struct model *m)
{
	static char out[512];
	struct notice n;
	size_t len = 0;

	out[0] = '\0';
	while (notice_pop(&m->alarms, &n) && len < sizeof(out) - 16)
		len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%d:%u", len ? " " : "",
					n.kind, n.addr.type ? n.addr.bytes[3] : 0);
	return out;
}

static int status(struct model *m, const char *pe)
{
	struct vpn *v = vpn_find(m, 1);
	struct inet_addr a = A(pe);
	struct pe *p = pe_find(&v->pes, &a);

	return p ? (int)pe_status(p, vpn_pe_judging(v)) : 0;
}

/* The CHANGE_PE_BGP records, as "+N" (advertised, N routes) and "-" words. */
static const char *bgp_changes(struct model *m)
{
	static char out[256];
	size_t len = 0;
	const struct changelog *l = &m->changes;

	out[0] = '\0';
	for (uint32_t i = 0; i < l->count && len < sizeof(out) - 16; i++) {
		const struct change *c = &l->ring[(l->head + i) % l->capacity];
		if (c->kind != CHANGE_PE_BGP)
			continue;
		if (c->current.present)
			len += (size_t)snprintf(out + len, sizeof(out) - len, "%s+%u.%u",
						len ? " " : "", c->current.status.status,
						c->pe.bytes[3]);
		else
			len += (size_t)snprintf(out + len, sizeof(out) - len, "%s-%u", len ? " " : "",
						c->pe.bytes[3]);
	}
	return out;
}

TEST(a_pe_bgp_advertises_that_sends_no_hello_is_paged_after_grace_and_settle)
{
	struct model *m = bgp_model();

	hello(m, 0, "198.18.0.1");
	hello(m, 0, "198.18.0.2");
	route(m, 1, "198.18.0.1", true);
	route(m, 1, "198.18.0.2", true);
	route(m, 1, "198.18.0.3", true); /* configured nowhere, silent */
	CHECK_EQ_INT(status(m, "198.18.0.3"), PE_BGP_SILENT);
	CHECK_EQ_INT(status(m, "198.18.0.1"), PE_ACTIVE);
	CHECK_EQ_STR(bgp_changes(m), "+1.1 +1.2 +1.3");
	at(m, 60.9);
	CHECK_EQ_STR(drain(m), ""); /* settle: 60 s after the advertisement */
	at(m, 61);
	CHECK_EQ_STR(drain(m), "16:3");
	CHECK_EQ_INT(m->alarms.table.n, 1);
	CHECK_EQ_INT(m->alarms.table.v[0].kind, ALARM_PE_BGP_SILENT);
	char text[ALARM_DESCR_MAX];
	alarm_describe(&m->alarms.table.v[0], text, sizeof(text));
	CHECK_EQ_STR(text, "vpn red: BGP advertises PE 198.18.0.3, which sends no Hello");
	CHECK_EQ_INT(vpn_config_status(m, vpn_find(m, 1)), CONFIG_MISMATCH);
	/* Its Hellos arrive: it is now unexpected (the configuration does not list it). */
	hello(m, 70, "198.18.0.3");
	CHECK_EQ_STR(drain(m), "11:3 2:3");
	model_free(m);
}

TEST(a_pe_in_pim_that_bgp_does_not_advertise_waits_for_the_vpns_first_route_to_settle)
{
	struct model *m = bgp_model();

	hello(m, 0, "198.18.0.1");
	hello(m, 0, "198.18.0.2");
	at(m, 30);
	CHECK_EQ_STR(drain(m), "");
	/* No route yet: the VPN is not compared with BGP. */
	CHECK_EQ_INT(status(m, "198.18.0.2"), PE_ACTIVE);
	route(m, 40, "198.18.0.1", true);
	CHECK_EQ_INT(status(m, "198.18.0.2"), PE_NOT_IN_BGP);
	struct pe_counts pc;
	vpn_pe_counts(m, vpn_find(m, 1), &pc);
	CHECK_EQ_INT(pc.not_in_bgp, 1);
	CHECK_EQ_INT(pc.bgp, 1);
	at(m, 99.9); /* the table dump's first minute: nobody paged */
	CHECK_EQ_STR(drain(m), "");
	at(m, 100);
	CHECK_EQ_STR(drain(m), "17:2");
	/* BGP learns it: cleared, and the VPN matches again. */
	route(m, 105, "198.18.0.2", true);
	CHECK_EQ_STR(drain(m), "11:2 3:0");
	CHECK_EQ_INT(vpn_config_status(m, vpn_find(m, 1)), CONFIG_MATCH);
	model_free(m);
}

TEST(a_bmp_session_that_restarts_within_settle_pages_nobody_and_records_nothing)
{
	struct model *m = bgp_model();

	hello(m, 0, "198.18.0.1");
	hello(m, 0, "198.18.0.2");
	route(m, 1, "198.18.0.1", true);
	route(m, 1, "198.18.0.2", true);
	at(m, 100);
	CHECK_EQ_STR(drain(m), "");
	route(m, 200, "198.18.0.1", false);
	route(m, 200, "198.18.0.2", false);
	CHECK_EQ_INT(status(m, "198.18.0.1"), PE_ACTIVE); /* still advertised: settling */
	at(m, 230);
	route(m, 231, "198.18.0.2", true);
	route(m, 231, "198.18.0.1", true);
	at(m, 400);
	CHECK_EQ_STR(drain(m), "");
	CHECK_EQ_STR(bgp_changes(m), "+1.1 +1.2");
	model_free(m);
}

TEST(a_withdrawal_takes_effect_after_settle_at_a_pe_check_and_a_row_bgp_made_goes)
{
	struct model *m = bgp_model();

	hello(m, 0, "198.18.0.1");
	route(m, 1, "198.18.0.1", true);
	route(m, 1, "198.18.0.3", true);
	at(m, 61);
	CHECK_EQ_STR(drain(m), "1:2 16:3"); /* .2: missing at the grace's end; .3: BGP-silent */
	route(m, 100, "198.18.0.3", false);
	at(m, 159);
	CHECK_EQ_INT(status(m, "198.18.0.3"), PE_BGP_SILENT);
	at(m, 160); /* settle passed: withdrawn at this check; the row goes */
	CHECK_EQ_INT(status(m, "198.18.0.3"), 0);
	CHECK_EQ_STR(drain(m), "11:3");
	CHECK_EQ_STR(bgp_changes(m), "+1.1 +1.3 -3");
	/* A PE that sent Hellos keeps its row, now not advertised. */
	route(m, 200, "198.18.0.1", false);
	at(m, 260);
	CHECK_EQ_INT(status(m, "198.18.0.1"), PE_ACTIVE); /* no BGP PE left: not compared */
	CHECK_EQ_INT(vpn_find(m, 1)->n_bgp_pes, 0);
	model_free(m);
}

TEST(routes_are_counted_over_routers_and_views_and_the_last_one_withdraws)
{
	struct model *m = bgp_model();
	struct inet_addr a = A("198.18.0.1");

	hello(m, 0, "198.18.0.1");
	route(m, 1, "198.18.0.1", true);
	route(m, 1, "198.18.0.1", true);
	route(m, 1, "198.18.0.1", true);
	CHECK_EQ_INT(pe_find(&vpn_find(m, 1)->pes, &a)->bgp_routes, 3);
	route(m, 2, "198.18.0.1", false);
	route(m, 2, "198.18.0.1", false);
	at(m, 100);
	CHECK(pe_find(&vpn_find(m, 1)->pes, &a)->bgp_advertised);
	CHECK(!pe_find(&vpn_find(m, 1)->pes, &a)->bgp_settling);
	/* A withdrawal of a route never counted (its row had no room) is nothing. */
	route(m, 101, "198.18.0.9", false);
	CHECK_EQ_INT(status(m, "198.18.0.9"), 0);
	route(m, 102, "198.18.0.1", false);
	CHECK(pe_find(&vpn_find(m, 1)->pes, &a)->bgp_settling);
	model_free(m);
}

TEST(with_expected_pes_bgp_the_advertised_pes_are_the_expected_ones)
{
	struct model *m = bgp_model();
	struct inet_addr mdt = A("239.192.0.1");
	struct vpn *v = vpn_find(m, 1);
	struct pe_counts pc;

	vpn_configure(v, "red", &mdt, NULL, 0);
	vpn_set_expect_bgp(m, v, true, when(0));
	CHECK_EQ_INT(v->pes.n, 0); /* the configured .1 and .2 went: never heard */
	hello(m, 0, "198.18.0.1");
	route(m, 1, "198.18.0.1", true);
	route(m, 1, "198.18.0.2", true);
	vpn_pe_counts(m, v, &pc);
	CHECK_EQ_INT(pc.expected, 2);
	CHECK_EQ_INT(pc.bgp_silent, 1);
	CHECK_EQ_INT(pc.missing, 0);
	CHECK_EQ_INT(status(m, "198.18.0.1"), PE_ACTIVE);
	/* Hellos from a PE BGP does not advertise: compared even with no route at all. */
	hello(m, 2, "198.18.0.7");
	CHECK_EQ_INT(status(m, "198.18.0.7"), PE_NOT_IN_BGP);
	at(m, 61);
	CHECK_EQ_STR(drain(m), "16:2 17:7");
	/* Back to the configured list: .2 (BGP's only) stays as BGP-silent, .7 is unexpected. */
	vpn_configure(v, "red", &mdt, (struct inet_addr[]){A("198.18.0.1")}, 1);
	vpn_set_expect_bgp(m, v, false, when(62));
	CHECK_EQ_INT(status(m, "198.18.0.7"), PE_NOT_IN_BGP);
	vpn_pe_counts(m, v, &pc);
	CHECK_EQ_INT(pc.expected, 1);
	model_free(m);
}

TEST(a_recount_that_finds_the_same_routes_records_nothing_and_a_lost_one_settles)
{
	struct model *m = bgp_model();
	struct inet_addr one = A("198.18.0.1"), two = A("198.18.0.2");

	hello(m, 0, "198.18.0.1");
	hello(m, 0, "198.18.0.2");
	route(m, 1, "198.18.0.1", true);
	route(m, 1, "198.18.0.2", true);
	at(m, 100);
	bgpmdt_recount_begin(m);
	vpn_bgp_route(m, vpn_find(m, 1), &one, true, when(100));
	bgpmdt_recount_end(m, when(100));
	CHECK_EQ_STR(bgp_changes(m), "+1.1 +1.2");
	CHECK_EQ_INT(pe_find(&vpn_find(m, 1)->pes, &one)->bgp_routes, 1);
	CHECK(pe_find(&vpn_find(m, 1)->pes, &two)->bgp_settling);
	at(m, 160);
	CHECK_EQ_STR(bgp_changes(m), "+1.1 +1.2 -2");
	at(m, 220);
	CHECK_EQ_STR(drain(m), "17:2");
	model_free(m);
}

/* ---- the engine, fed by the collector ---- */

struct feed {
	struct model *m;
	struct bmp_collector *c;
	struct bgp_mdt b;
	struct bmp_router *r;
};

static void feed_open(struct feed *f, bool discover, size_t max_discovered)
{
	struct bmp_limits lim = {.max_routes_per_router = 1000, .max_peers_per_router = 10,
				 .max_routers = 4};
	struct inet_addr a = A("192.0.2.1");

	f->m = bgp_model();
	f->c = bmp_collector_new(&lim);
	bgp_mdt_init(&f->b, f->m);
	f->b.discover = discover;
	f->b.max_discovered = max_discovered;
	bgp_mdt_reindex(&f->b);
	f->c->on_change = bgp_mdt_on_change;
	f->c->change_arg = &f->b;
	f->r = bmp_router_connect(f->c, &a, 40000, 1);
}

static void feed_close(struct feed *f)
{
	bmp_collector_free(f->c);
	bgp_mdt_free(&f->b);
	model_free(f->m);
}

static bool feed_step(struct feed *f, size_t step)
{
	bool close = false;

	return bmp_router_input(f->c, f->r, bmp_steps[step].p, bmp_steps[step].len, 2, &close) ==
		       bmp_steps[step].len &&
	       !close;
}

static uint32_t routes_of(struct model *m, uint32_t vpn, const char *pe)
{
	struct vpn *v = vpn_find(m, vpn);
	struct inet_addr a = A(pe);
	struct pe *p = v ? pe_find(&v->pes, &a) : NULL;

	return p ? p->bgp_routes : 0;
}

#define IDX(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

TEST(the_collectors_mdt_routes_reach_the_vpn_with_that_default_mdt)
{
	struct feed f;

	feed_open(&f, false, 0);
	for (size_t s = 0; s < 3; s++)
		CHECK(feed_step(&f, s));
	/* 03-routes, as gen_bmp.py states them: 239.192.0.1 from .1 (pre and post),
	 * .2 and .3 once each; 239.192.0.2 and .3 are nobody's. */
	CHECK_EQ_INT(routes_of(f.m, 1, "198.18.0.1"), 2);
	CHECK_EQ_INT(routes_of(f.m, 1, "198.18.0.2"), 1);
	CHECK_EQ_INT(routes_of(f.m, 1, "198.18.0.3"), 1);
	CHECK_EQ_INT(f.b.routes, 8);
	CHECK_EQ_INT(f.b.unmatched, 4);
	CHECK_EQ_INT(f.m->n_vpns, 1);
	/* The session ends: every route goes, and the PEs settle. */
	bmp_router_disconnect(f.c, f.r, 3);
	CHECK_EQ_INT(f.b.routes, 0);
	CHECK_EQ_INT(f.b.unmatched, 0);
	CHECK_EQ_INT(routes_of(f.m, 1, "198.18.0.1"), 0);
	struct inet_addr one = A("198.18.0.1");
	CHECK(pe_find(&vpn_find(f.m, 1)->pes, &one)->bgp_settling);
	feed_close(&f);
}

TEST(discovery_makes_a_vpn_of_each_unknown_default_mdt_with_the_groups_index)
{
	struct feed f;
	struct vpn *v;

	feed_open(&f, true, 1);
	for (size_t s = 0; s < 3; s++)
		CHECK(feed_step(&f, s));
	CHECK_EQ_INT(f.m->n_vpns, 2);
	CHECK((v = vpn_find(f.m, IDX(239, 192, 0, 2))) != NULL);
	CHECK_EQ_STR(v->name, "mdt-239.192.0.2");
	CHECK(v->discovered && v->expect_bgp);
	CHECK_EQ_INT(routes_of(f.m, IDX(239, 192, 0, 2), "198.18.0.1"), 2);
	CHECK_EQ_INT(routes_of(f.m, IDX(239, 192, 0, 2), "198.18.0.2"), 1);
	struct pe_counts pc;
	vpn_pe_counts(f.m, v, &pc);
	CHECK_EQ_INT(pc.expected, 2);
	CHECK(f.b.vpns_changed);
	/* max-discovered-vpns 1: 239.192.0.3 refused, once per route, its route unmatched. */
	CHECK_EQ_INT(f.b.refused, 1);
	CHECK_EQ_INT(f.b.unmatched, 1);
	CHECK(vpn_find(f.m, IDX(239, 192, 0, 3)) == NULL);
	/* The recount (a reload) finds the same: nothing more discovered, nothing lost. */
	bgp_mdt_reindex(&f.b);
	bgpmdt_recount_begin(f.m);
	bgp_mdt_resync(&f.b, f.c);
	bgpmdt_recount_end(f.m, when(0));
	CHECK_EQ_INT(f.b.routes, 8);
	CHECK_EQ_INT(f.b.unmatched, 1);
	CHECK_EQ_INT(f.b.refused, 2);
	CHECK_EQ_INT(routes_of(f.m, IDX(239, 192, 0, 2), "198.18.0.1"), 2);
	feed_close(&f);
}

TEST(a_discovered_index_that_a_configured_vpn_has_is_refused)
{
	struct feed f;
	struct inet_addr other = A("239.192.9.9");

	feed_open(&f, true, 10);
	vpn_configure(vpn_get(f.m, IDX(239, 192, 0, 2)), "blue", &other, NULL, 0);
	bgp_mdt_reindex(&f.b);
	for (size_t s = 0; s < 3; s++)
		CHECK(feed_step(&f, s));
	CHECK_EQ_STR(vpn_find(f.m, IDX(239, 192, 0, 2))->name, "blue");
	CHECK_EQ_INT(vpn_find(f.m, IDX(239, 192, 0, 2))->pes.n, 0);
	CHECK(vpn_find(f.m, IDX(239, 192, 0, 3)) != NULL);
	CHECK_EQ_INT(f.b.refused, 3); /* the three routes of 239.192.0.2 */
	feed_close(&f);
}

/* ---- a VPN signalled by BGP (RFC 6514): its I-PMSI A-D routes are its PEs ---- */

TEST(a_bgp_signalled_vpns_pes_are_its_ipmsi_routes_against_the_expected_list)
{
	struct bmp_limits lim = {.max_routes_per_router = 1000, .max_peers_per_router = 10,
				 .max_routers = 4};
	struct model *m = bgp_model();
	struct bmp_collector *c = bmp_collector_new(&lim);
	struct inet_addr none = {0}, exp[3] = {A("198.18.0.1"), A("198.18.0.2"), A("198.18.0.9")};
	struct inet_addr router = A("192.0.2.1");
	struct bgp_mvpn b;
	struct vpn *v = vpn_get(m, 3);
	bool close = false;

	vpn_remove(m, 1); /* green alone */
	vpn_configure(v, "green", &none, exp, 3);
	v->bgp_signalled = true;
	bgp_mvpn_init(&b, m);
	/* RD 65000:1 and 65000:11, as gen_bmp.py's step 03 uses them. */
	struct mvpn_rd rds[2] = {{0x0000fde80000000bull, 3}, {0x0000fde800000001ull, 3}};
	CHECK(bgp_mvpn_set_rds(&b, rds, 2));
	c->on_change = bgp_mvpn_on_change;
	c->change_arg = &b;
	struct bmp_router *r = bmp_router_connect(c, &router, 40000, 1);
	for (size_t s = 0; s < 3; s++)
		CHECK(bmp_router_input(c, r, bmp_steps[s].p, bmp_steps[s].len, 2, &close) ==
		      bmp_steps[s].len);
	/* Type 1: RD 1 from .1 and .2, RD 11 from 2001:db8::1; five more of
	 * other RDs; 13 routes of the other types. */
	CHECK_EQ_INT(b.ipmsi, 8);
	CHECK_EQ_INT(b.unmatched, 5);
	/* Fill nothing: the Inter-AS route, and six C-multicast routes with no
	 * IP-address-specific Route Target to name their upstream PE. */
	CHECK_EQ_INT(b.not_applied, 7);
	CHECK_EQ_INT(b.cmcast, 12);
	/* The six that name one are joins: a downstream and an upstream row each. */
	CHECK_EQ_INT(v->cg.n_rows, 12);
	CHECK_EQ_INT(v->cg.n_flows, 6);
	char g[INET_ADDR_STRLEN];
	/* Reflected (ORIGINATOR_ID .5) towards .2, the first IP-address-specific RT. */
	struct inet_addr c12 = A("233.252.0.12"), s12 = A("192.0.2.12"), d5 = A("198.18.0.5");
	struct flow *fl = flow_find(&v->cg, &c12, &s12);
	struct cgpe *row = fl ? cgpe_find(&v->cg, fl, CG_SG, &d5, CG_DOWNSTREAM) : NULL;
	CHECK(row && row->bgp_routes == 1 && row->expires == MTIME_NEVER &&
	      row->holdtime == JP_HOLD_FOREVER);
	CHECK_EQ_STR(row ? inet_addr_format(&row->other, g) : "", "198.18.0.2");
	/* A Shared Tree Join: (*,G), its C-source the C-RP. */
	struct inet_addr c51 = A("233.252.0.51"), rp51 = A("192.0.2.251");
	fl = flow_find(&v->cg, &c51, &none);
	row = fl ? cgpe_find(&v->cg, fl, CG_STAR_G, &d5, CG_DOWNSTREAM) : NULL;
	CHECK(row && inet_addr_eq(&row->rp, &rp51));
	/* No ORIGINATOR_ID: the peer (2001:db8::2) sent it; upstream from the
	 * IPv6-address-specific RT (attribute 25, RFC 5701). */
	struct inet_addr c13 = A("ff3e::8000:13"), s13 = A("2001:db8:1::13"),
			 b2 = A("2001:db8::2"), up3 = A("2001:db8::3");
	fl = flow_find(&v->cg, &c13, &s13);
	row = fl ? cgpe_find(&v->cg, fl, CG_SG, &b2, CG_DOWNSTREAM) : NULL;
	CHECK(row && inet_addr_eq(&row->other, &up3));
	CHECK(fl && cgpe_find(&v->cg, fl, CG_SG, &up3, CG_UPSTREAM) != NULL);
	/* Its A-D routes: the three type 1 routes, three type 3 (RD 1 with
	 * RSVP-TE, RD 11 with PIM-SSM, RD 11's wildcard with no attribute), two
	 * Leaf A-D (their keys: RD 1's and RD 11's S-PMSI) and three Source
	 * Active (one with ORIGINATOR_ID .6). */
	CHECK_EQ_INT(b.n_tunnels, 11);
	uint32_t sa6[] = {3, 5, 1, 4, 192, 0, 2, 12, 1, 4, 233, 252, 0, 12, 1, 4, 198, 18, 0, 6};
	const struct ptunnel *t6 = bgp_mvpn_ptunnel_seek(&b, sa6, 20, false);
	CHECK(t6 && t6->route_type == 5 && t6->index.len == 20 &&
	      oidx_cmp(t6->index.sub, t6->index.len, sa6, 20) == 0);
	uint32_t want[] = {3, 3, 1, 4, 192, 0, 2, 10};
	const struct ptunnel *t = bgp_mvpn_ptunnel_seek(&b, want, 8, false);
	CHECK(t != NULL && t->route_type == 3 && t->tunnel_type == PMSI_RSVP_P2MP);
	CHECK_EQ_INT(t->flags, PMSI_FLAG_LEAF_INFO_REQUIRED);
	CHECK_EQ_INT(t->id_len, 12); /* P2MP ID, 0, Tunnel ID, Extended Tunnel ID */
	CHECK_EQ_INT(t->routes, 1);
	CHECK_EQ_STR(inet_addr_format(&t->group, g), "233.252.0.10");
	/* The Leaf A-D of RD 1's S-PMSI: the leaf .4 joined .1's tunnel, by
	 * ingress replication (its own PMSI Tunnel attribute, label 1001). */
	uint32_t leaf[] = {3, 4, 1, 4, 192, 0, 2, 10, 1, 4, 233, 252, 0, 10};
	t = bgp_mvpn_ptunnel_seek(&b, leaf, 14, false);
	CHECK(t != NULL && t->route_type == 4 && t->tunnel_type == PMSI_INGRESS_REPL);
	CHECK_EQ_STR(inet_addr_format(&t->origin, g), "198.18.0.4");
	CHECK_EQ_STR(inet_addr_format(&t->key_origin, g), "198.18.0.1");
	CHECK_EQ_INT(t->label, 1001);
	/* Source Active: no originating router in the NLRI, so its advertiser:
	 * no ORIGINATOR_ID, the peer. */
	uint32_t sa[] = {3, 5, 1, 4, 192, 0, 2, 10};
	t = bgp_mvpn_ptunnel_seek(&b, sa, 8, false);
	CHECK(t != NULL && t->route_type == 5 && !t->has_pmsi);
	CHECK_EQ_STR(inet_addr_format(&t->origin, g), "198.18.0.1");
	CHECK_EQ_INT(t->key_origin.type, INET_UNKNOWN);
	/* In the table's order: type 1 rows first (wildcard C-source and C-group). */
	t = bgp_mvpn_ptunnel_seek(&b, NULL, 0, false);
	CHECK(t && t->route_type == 1 && t->tunnel_type == PMSI_PIM_SSM && t->id_len == 8);
	CHECK_EQ_STR(inet_addr_format(&t->origin, g), "198.18.0.1");
	struct inet_addr six = A("2001:db8::1");
	CHECK_EQ_INT(pe_status(pe_find(&v->pes, &exp[0]), vpn_pe_judging(v)), PE_ACTIVE);
	CHECK_EQ_INT(pe_status(pe_find(&v->pes, &exp[1]), vpn_pe_judging(v)), PE_ACTIVE);
	CHECK_EQ_INT(pe_status(pe_find(&v->pes, &exp[2]), vpn_pe_judging(v)), PE_MISSING);
	CHECK_EQ_INT(pe_status(pe_find(&v->pes, &six), vpn_pe_judging(v)), PE_UNEXPECTED);
	struct pe_counts pc;
	vpn_pe_counts(m, v, &pc);
	CHECK_EQ_INT(pc.active, 3);
	CHECK_EQ_INT(pc.missing, 1);
	CHECK_EQ_INT(pc.unexpected, 1);
	at(m, 11); /* the grace (10 s) is over: .9 missing, 2001:db8::1 unexpected */
	CHECK_EQ_STR(drain(m), "1:9 2:184"); /* 184: 2001:0db8::1's fourth byte */
	/* A reload counts every route again: the same rows, the same counts,
	 * nothing recorded, no refresh. */
	uint32_t changes = m->changes.count;
	uint64_t refreshes = v->counters.refreshes;
	bgpmdt_recount_begin(m);
	bgp_mvpn_resync(&b, c);
	bgpmdt_recount_end(m, when(11));
	CHECK_EQ_INT(v->cg.n_rows, 12);
	CHECK_EQ_INT(m->changes.count, changes);
	CHECK_EQ_INT(v->counters.refreshes, refreshes);
	fl = flow_find(&v->cg, &c12, &s12);
	row = fl ? cgpe_find(&v->cg, fl, CG_SG, &d5, CG_DOWNSTREAM) : NULL;
	CHECK(row && row->bgp_routes == 1 && row->expires == MTIME_NEVER);
	CHECK_EQ_INT(b.cmcast, 12);
	/* The router goes: after settle, every PE BGP gave is gone; .1 and .2 missing. */
	bmp_router_disconnect(c, r, 3);
	CHECK_EQ_INT(b.ipmsi, 0);
	CHECK_EQ_INT(b.n_tunnels, 0);
	CHECK_EQ_INT(b.cmcast, 0);
	CHECK_EQ_INT(v->cg.n_rows, 12); /* held for settle (60 s from 11 s) */
	at(m, 70.999);
	CHECK_EQ_INT(v->cg.n_rows, 12);
	at(m, 71);
	CHECK_EQ_INT(v->cg.n_rows, 0);
	CHECK_EQ_INT(pe_status(pe_find(&v->pes, &exp[0]), vpn_pe_judging(v)), PE_MISSING);
	CHECK(pe_find(&v->pes, &six) == NULL);
	CHECK_EQ_STR(drain(m), "11:184 1:1 1:2");
	bmp_collector_free(c);
	bgp_mvpn_free(&b);
	model_free(m);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"a_pe_bgp_advertises_that_sends_no_hello_is_paged_after_grace_and_settle",
		 a_pe_bgp_advertises_that_sends_no_hello_is_paged_after_grace_and_settle},
		{"a_pe_in_pim_that_bgp_does_not_advertise_waits_for_the_vpns_first_route_to_settle",
		 a_pe_in_pim_that_bgp_does_not_advertise_waits_for_the_vpns_first_route_to_settle},
		{"a_bmp_session_that_restarts_within_settle_pages_nobody_and_records_nothing",
		 a_bmp_session_that_restarts_within_settle_pages_nobody_and_records_nothing},
		{"a_withdrawal_takes_effect_after_settle_at_a_pe_check_and_a_row_bgp_made_goes",
		 a_withdrawal_takes_effect_after_settle_at_a_pe_check_and_a_row_bgp_made_goes},
		{"routes_are_counted_over_routers_and_views_and_the_last_one_withdraws",
		 routes_are_counted_over_routers_and_views_and_the_last_one_withdraws},
		{"with_expected_pes_bgp_the_advertised_pes_are_the_expected_ones",
		 with_expected_pes_bgp_the_advertised_pes_are_the_expected_ones},
		{"a_recount_that_finds_the_same_routes_records_nothing_and_a_lost_one_settles",
		 a_recount_that_finds_the_same_routes_records_nothing_and_a_lost_one_settles},
		{"the_collectors_mdt_routes_reach_the_vpn_with_that_default_mdt",
		 the_collectors_mdt_routes_reach_the_vpn_with_that_default_mdt},
		{"discovery_makes_a_vpn_of_each_unknown_default_mdt_with_the_groups_index",
		 discovery_makes_a_vpn_of_each_unknown_default_mdt_with_the_groups_index},
		{"a_discovered_index_that_a_configured_vpn_has_is_refused",
		 a_discovered_index_that_a_configured_vpn_has_is_refused},
		{"a_bgp_signalled_vpns_pes_are_its_ipmsi_routes_against_the_expected_list",
		 a_bgp_signalled_vpns_pes_are_its_ipmsi_routes_against_the_expected_list},
	};
	return unit_main("bgpmdt", tests, sizeof(tests) / sizeof(tests[0]));
}
