/* mib/passive: refresh vs change (patent claim 1), expiry, caps, and table order. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>

#include "../../agent/change_text.h"
#include "../../mib/passive.h"

/* A change's two sides as mvpnChangePrevious and mvpnChangeNew show them. */
static const char *prev_text(const struct change *c)
{
	static char buf[96];
	change_value_text(c, &c->previous, buf, sizeof(buf));
	return buf;
}

static const char *cur_text(const struct change *c)
{
	static char buf[96];
	change_value_text(c, &c->current, buf, sizeof(buf));
	return buf;
}

static struct inet_addr A(const char *text)
{
	struct inet_addr a;
	if (!inet_addr_parse(&a, text))
		abort();
	return a;
}

static struct model *offline_model(void)
{
	struct model *m = model_new(true);
	struct inet_addr mdt = A("239.192.0.1"), expected[] = {A("198.18.0.1"), A("198.18.0.5")};

	m->settings.max_pes_per_vpn = 100;
	m->settings.max_cgroups_per_vpn = 1000;
	m->settings.max_data_mdts_per_vpn = 100;
	changelog_resize(&m->changes, 1000);
	vpn_configure(vpn_get(m, 7), "red", &mdt, expected, 2);
	mclock_advance(&m->clock, 1000 * MTIME_SEC);
	return m;
}

static void at(struct model *m, unsigned seconds)
{
	mclock_advance(&m->clock, (1000ull + seconds) * MTIME_SEC);
	passive_expire(m, mclock_now(&m->clock));
}

static void hello(struct model *m, const char *pe, uint16_t hold, uint32_t genid)
{
	struct hello_event e = {.pe = A(pe), .caddr = A(pe), .has_holdtime = true,
				.holdtime = hold, .has_genid = true, .genid = genid};
	passive_hello(m, vpn_find(m, 7), &e);
}

static void jp(struct model *m, const char *from, const char *up, const char *group,
	       const char *source, uint8_t kind, bool join, uint16_t hold)
{
	struct jp_event e = {.sender = A(from), .upstream = A(up), .holdtime = hold,
			     .group = A(group), .source = A(source), .kind = kind, .join = join};
	passive_jp_record(m, vpn_find(m, 7), &e);
}

TEST(hellos_restate_or_change_pe_state)
{
	struct model *m = offline_model();
	struct vpn *v = vpn_find(m, 7);

	hello(m, "198.18.0.1", 105, 1);            /* up: a change */
	hello(m, "198.18.0.1", 105, 1);            /* the same again: a refresh */
	hello(m, "198.18.0.1", 105, 2);            /* new generation ID: a restart */
	hello(m, "198.18.0.1", 210, 2);            /* new hold time: a change */
	struct pe *pe = pe_find(&v->pes, &(struct inet_addr){0});
	CHECK(pe == NULL);
	pe = pe_find(&v->pes, &v->expected_pes[0]);
	CHECK(pe && pe->alive && pe->expected);
	CHECK_EQ_INT(pe->hellos, 4);
	CHECK_EQ_INT(pe->restarts, 1);
	CHECK_EQ_INT(pe->changes, 3);
	CHECK_EQ_INT(v->counters.refreshes, 1);
	CHECK_EQ_INT(v->counters.changes, 3);
	CHECK_EQ_INT(m->changes.count, 3);
	CHECK_EQ_INT(m->changes.ring[1].kind, CHANGE_PE_RESTART);
	CHECK_EQ_STR(prev_text(&m->changes.ring[1]), "hold 105s genid 0x00000001 dr 1");
	CHECK_EQ_STR(cur_text(&m->changes.ring[1]), "hold 105s genid 0x00000002 dr 1");
	model_free(m);
}

TEST(pes_expire_by_hold_time_and_counts_follow)
{
	struct model *m = offline_model();
	struct vpn *v = vpn_find(m, 7);
	struct pe_counts pc;

	hello(m, "198.18.0.1", 105, 1);
	hello(m, "198.18.0.66", 105, 9); /* not expected */
	vpn_pe_counts(m, v, &pc);
	CHECK(pc.expected == 2 && pc.active == 2 && pc.missing == 1 && pc.unexpected == 1);
	at(m, 104);
	hello(m, "198.18.0.1", 105, 1);
	at(m, 106); /* .66 is past its hold time; .1 was refreshed at 104 */
	vpn_pe_counts(m, v, &pc);
	CHECK(pc.active == 1 && pc.missing == 1 && pc.unexpected == 0);
	struct inet_addr intruder = A("198.18.0.66");
	CHECK_EQ_INT(pe_status(pe_find(&v->pes, &intruder), JUDGE_PIM), PE_DEPARTED);
	CHECK_EQ_INT(pe_status(pe_find(&v->pes, &v->expected_pes[1]), JUDGE_PIM), PE_MISSING);
	/* A hold time of 0 says goodbye at once. */
	hello(m, "198.18.0.1", 0, 1);
	CHECK_EQ_INT(pe_status(pe_find(&v->pes, &v->expected_pes[0]), JUDGE_PIM), PE_MISSING);
	CHECK_EQ_INT(m->changes.ring[m->changes.count - 1].kind, CHANGE_PE_DOWN);
	model_free(m);
}

TEST(joins_make_downstream_and_upstream_rows)
{
	struct model *m = offline_model();
	struct vpn *v = vpn_find(m, 7);

	hello(m, "198.18.0.2", 105, 1);
	jp(m, "198.18.0.1", "198.18.0.2", "233.252.0.10", "192.0.2.10", CG_SG, true, 210);
	jp(m, "198.18.0.3", "198.18.0.2", "233.252.0.10", "192.0.2.10", CG_SG, true, 210);
	jp(m, "198.18.0.1", "198.18.0.2", "233.252.0.10", "192.0.2.10", CG_SG, true, 210);
	CHECK_EQ_INT(v->cg.n_rows, 3); /* .1 and .3 downstream, .2 upstream */
	CHECK_EQ_INT(v->cg.n_flows, 1);
	struct flow *f = flow_find(&v->cg, &(struct inet_addr){0}, &(struct inet_addr){0});
	CHECK(f == NULL);
	struct inet_addr g = A("233.252.0.10"), s = A("192.0.2.10"), up = A("198.18.0.2"),
			 d1 = A("198.18.0.1");
	f = flow_find(&v->cg, &g, &s);
	CHECK(f != NULL);
	struct cgpe *u = cgpe_find(&v->cg, f, CG_SG, &up, CG_UPSTREAM);
	CHECK(u && u->joiners == 2);
	struct cgpe *r = cgpe_find(&v->cg, f, CG_SG, &d1, CG_DOWNSTREAM);
	CHECK(r && r->refreshes == 1 && inet_addr_eq(&r->other, &up));
	CHECK_EQ_INT(v->counters.refreshes, 1);
	/* A prune removes .1's row; the upstream row stays for .3. */
	jp(m, "198.18.0.1", "198.18.0.2", "233.252.0.10", "192.0.2.10", CG_SG, false, 210);
	CHECK_EQ_INT(v->cg.n_rows, 2);
	CHECK_EQ_INT(u->joiners, 1);
	/* .3's row expires; the upstream row and the flow go with it. */
	at(m, 211);
	CHECK_EQ_INT(v->cg.n_rows, 0);
	CHECK_EQ_INT(v->cg.n_flows, 0);
	CHECK_EQ_INT(m->changes.ring[m->changes.count - 1].kind, CHANGE_EXPIRY);
	model_free(m);
}

TEST(star_g_keeps_the_rp_and_sg_rpt_prunes_are_state)
{
	struct model *m = offline_model();
	struct vpn *v = vpn_find(m, 7);
	struct inet_addr g = A("233.252.0.20"), s = A("192.0.2.21"), none = {0}, d1 = A("198.18.0.1");

	jp(m, "198.18.0.1", "198.18.0.2", "233.252.0.20", "192.0.2.250", CG_STAR_G, true, 210);
	jp(m, "198.18.0.1", "198.18.0.2", "233.252.0.20", "192.0.2.21", CG_SG_RPT, false, 210);
	struct flow *star = flow_find(&v->cg, &g, &none), *sg = flow_find(&v->cg, &g, &s);
	CHECK(star && sg);
	struct cgpe *r = cgpe_find(&v->cg, star, CG_STAR_G, &d1, CG_DOWNSTREAM);
	CHECK(r && inet_addr_eq(&r->rp, &(struct inet_addr){.type = INET_IPV4, .bytes = {192, 0, 2, 250}}));
	struct cgpe *p = cgpe_find(&v->cg, sg, CG_SG_RPT, &d1, CG_DOWNSTREAM);
	CHECK(p && p->state == CG_PRUNED);
	/* Joining (S,G,rpt) again removes the prune state. */
	jp(m, "198.18.0.1", "198.18.0.2", "233.252.0.20", "192.0.2.21", CG_SG_RPT, true, 210);
	CHECK(flow_find(&v->cg, &g, &s) == NULL);
	/* A new upstream for the (*,G) is a change, not a refresh. */
	uint64_t changes = v->counters.changes;
	jp(m, "198.18.0.1", "198.18.0.66", "233.252.0.20", "192.0.2.250", CG_STAR_G, true, 210);
	CHECK_EQ_INT(v->counters.changes, changes + 1);
	CHECK_EQ_INT(v->cg.n_rows, 2); /* .1 downstream, .66 upstream; .2's upstream row gone */
	model_free(m);
}

TEST(caps_drop_new_state_and_keep_the_old)
{
	struct model *m = offline_model();
	struct vpn *v = vpn_find(m, 7);

	m->settings.max_cgroups_per_vpn = 4;
	m->settings.max_pes_per_vpn = 3; /* the two expected rows + one */
	jp(m, "198.18.0.1", "198.18.0.2", "233.252.0.1", "192.0.2.1", CG_SG, true, 210);
	jp(m, "198.18.0.1", "198.18.0.2", "233.252.0.2", "192.0.2.1", CG_SG, true, 210);
	jp(m, "198.18.0.1", "198.18.0.2", "233.252.0.3", "192.0.2.1", CG_SG, true, 210);
	CHECK_EQ_INT(v->cg.n_rows, 4);
	CHECK_EQ_INT(v->counters.limit_drops, 1);
	/* Known state is still refreshed at the cap. */
	jp(m, "198.18.0.1", "198.18.0.2", "233.252.0.1", "192.0.2.1", CG_SG, true, 210);
	CHECK_EQ_INT(v->counters.refreshes, 1);
	hello(m, "198.18.0.9", 105, 1);
	hello(m, "198.18.0.10", 105, 1);
	CHECK_EQ_INT(v->pes.n, 3);
	CHECK_EQ_INT(v->counters.limit_drops, 2);
	CHECK_EQ_INT(m->g.limit_drops, 2);
	model_free(m);
}

static const struct change *last_change(const struct model *m, unsigned back)
{
	const struct changelog *l = &m->changes;
	return &l->ring[(l->head + l->count - 1 - back) % l->capacity];
}

/* At the cap, a new PE takes the row of the unexpected PE gone longest; expected
 * PEs and PEs heard again are never given up; with none departed it is dropped. */
TEST(a_full_pe_table_gives_up_the_longest_departed_unexpected_pe)
{
	struct model *m = offline_model();
	struct vpn *v = vpn_find(m, 7);
	struct inet_addr nine = A("198.18.0.9"), ten = A("198.18.0.10"), eleven = A("198.18.0.11");

	m->settings.max_pes_per_vpn = 5; /* the two expected rows + three */
	hello(m, "198.18.0.1", 1, 1);   /* expected: gone first, at 1 s, but never given up */
	hello(m, "198.18.0.9", 10, 1);
	at(m, 2);
	hello(m, "198.18.0.10", 10, 1);
	hello(m, "198.18.0.11", 10, 1);
	hello(m, "198.18.0.12", 105, 1); /* full: refused */
	CHECK_EQ_INT(v->counters.limit_drops, 1);
	at(m, 13);                       /* .9 went at 10 s, .10 and .11 at 12 s */
	hello(m, "198.18.0.11", 0, 1);   /* a goodbye from one already gone keeps its place */
	hello(m, "198.18.0.9", 10, 1);   /* heard again: no longer departed */
	uint64_t changes = v->counters.changes;
	hello(m, "198.18.0.12", 105, 1);
	CHECK(pe_find(&v->pes, &ten) == NULL);
	CHECK(pe_find(&v->pes, &nine) && pe_find(&v->pes, &eleven));
	CHECK_EQ_INT(v->pes.n, 5);
	CHECK_EQ_INT(m->g.pe_rows_reclaimed, 1);
	CHECK_EQ_INT(v->counters.limit_drops, 1);
	CHECK_EQ_INT(v->counters.changes, changes + 1); /* .12 came up; the reclaim is not a change */
	CHECK_EQ_INT(last_change(m, 1)->kind, CHANGE_PE_RECLAIMED);
	CHECK(inet_addr_eq(&last_change(m, 1)->pe, &ten));
	CHECK_EQ_STR(prev_text(last_change(m, 1)), "departed after 1 hellos");
	CHECK_EQ_INT(last_change(m, 0)->kind, CHANGE_PE_UP);
	hello(m, "198.18.0.13", 105, 1); /* takes .11's row */
	CHECK(pe_find(&v->pes, &eleven) == NULL);
	hello(m, "198.18.0.14", 105, 1); /* only the expected .1 is gone: refused */
	CHECK_EQ_INT(m->g.pe_rows_reclaimed, 2);
	CHECK_EQ_INT(v->counters.limit_drops, 2);
	CHECK(pe_find(&v->pes, &v->expected_pes[0]) != NULL);
	model_free(m);
}

/* A join onto an upstream row another joiner made needs one row, not two: it fits the last one. */
TEST(caps_count_only_the_rows_a_join_needs)
{
	struct model *m = offline_model();
	struct vpn *v = vpn_find(m, 7);

	m->settings.max_cgroups_per_vpn = 4;
	jp(m, "198.18.0.1", "198.18.0.2", "233.252.0.1", "192.0.2.1", CG_SG, true, 210);
	jp(m, "198.18.0.3", "198.18.0.2", "233.252.0.1", "192.0.2.1", CG_SG, true, 210);
	CHECK_EQ_INT(v->cg.n_rows, 3); /* .1 and .3 downstream, .2 upstream */
	/* A new flow needs a downstream and an upstream row: only one is left. */
	jp(m, "198.18.0.1", "198.18.0.2", "233.252.0.2", "192.0.2.1", CG_SG, true, 210);
	CHECK_EQ_INT(v->cg.n_rows, 3);
	CHECK_EQ_INT(v->counters.limit_drops, 1);
	/* .4 joins through .2 too: the upstream row is there, so its one row fits. */
	jp(m, "198.18.0.4", "198.18.0.2", "233.252.0.1", "192.0.2.1", CG_SG, true, 210);
	CHECK_EQ_INT(v->cg.n_rows, 4);
	CHECK_EQ_INT(v->counters.limit_drops, 1);
	struct inet_addr g = A("233.252.0.1"), s = A("192.0.2.1"), up = A("198.18.0.2");
	struct cgpe *u = cgpe_find(&v->cg, flow_find(&v->cg, &g, &s), CG_SG, &up, CG_UPSTREAM);
	CHECK(u && u->joiners == 3);
	model_free(m);
}

/* A known row moving to another upstream neighbor may need a new upstream row: it must fit too. */
TEST(caps_hold_when_a_join_moves_upstream)
{
	struct model *m = offline_model();
	struct vpn *v = vpn_find(m, 7);
	struct inet_addr g = A("233.252.0.1"), s = A("192.0.2.1"), d1 = A("198.18.0.1"),
			 d3 = A("198.18.0.3"), u2 = A("198.18.0.2"), u66 = A("198.18.0.66");

	m->settings.max_cgroups_per_vpn = 3;
	jp(m, "198.18.0.1", "198.18.0.2", "233.252.0.1", "192.0.2.1", CG_SG, true, 210);
	jp(m, "198.18.0.3", "198.18.0.2", "233.252.0.1", "192.0.2.1", CG_SG, true, 210);
	CHECK_EQ_INT(v->cg.n_rows, 3);
	/* .1 moves to .66: .2's row stays for .3, and there is no room for .66's. */
	at(m, 10);
	uint64_t changes = v->counters.changes;
	jp(m, "198.18.0.1", "198.18.0.66", "233.252.0.1", "192.0.2.1", CG_SG, true, 210);
	CHECK_EQ_INT(v->cg.n_rows, 3);
	CHECK_EQ_INT(v->counters.limit_drops, 1);
	CHECK_EQ_INT(v->counters.changes, changes);
	struct flow *f = flow_find(&v->cg, &g, &s);
	struct cgpe *r1 = cgpe_find(&v->cg, f, CG_SG, &d1, CG_DOWNSTREAM);
	CHECK(r1 && inet_addr_eq(&r1->other, &u2) && r1->last_refresh == 1000 * MTIME_SEC);
	CHECK(cgpe_find(&v->cg, f, CG_SG, &u66, CG_UPSTREAM) == NULL);
	/* .3 prunes: .1 is .2's last joiner, so moving frees the row it needs. */
	jp(m, "198.18.0.3", "198.18.0.2", "233.252.0.1", "192.0.2.1", CG_SG, false, 210);
	CHECK(cgpe_find(&v->cg, f, CG_SG, &d3, CG_DOWNSTREAM) == NULL);
	jp(m, "198.18.0.1", "198.18.0.66", "233.252.0.1", "192.0.2.1", CG_SG, true, 210);
	CHECK_EQ_INT(v->cg.n_rows, 2);
	CHECK_EQ_INT(v->counters.limit_drops, 1);
	CHECK(inet_addr_eq(&r1->other, &u66));
	CHECK(cgpe_find(&v->cg, f, CG_SG, &u66, CG_UPSTREAM) != NULL);
	CHECK(cgpe_find(&v->cg, f, CG_SG, &u2, CG_UPSTREAM) == NULL);
	model_free(m);
}

TEST(data_mdt_announce_refresh_switch_and_expire)
{
	struct model *m = offline_model();
	struct vpn *v = vpn_find(m, 7);
	struct mdt_event e = {.announcer = A("198.18.0.2"), .c_source = A("192.0.2.10"),
			      .c_group = A("233.252.0.10"), .p_group = A("239.192.1.1")};

	passive_mdt_join(m, v, &e);
	at(m, 60);
	passive_mdt_join(m, v, &e);
	e.p_group = A("239.192.1.2");
	at(m, 120);
	passive_mdt_join(m, v, &e);
	struct flow *f = flow_find(&v->cg, &e.c_group, &e.c_source);
	CHECK(f && f->on_data_mdt && f->announcements == 3 && f->switches == 1);
	CHECK(inet_addr_eq(&f->p_group, &e.p_group));
	CHECK_EQ_INT(v->cg.n_data, 1);
	at(m, 299);
	CHECK(flow_find(&v->cg, &e.c_group, &e.c_source) != NULL);
	at(m, 300);
	CHECK(flow_find(&v->cg, &e.c_group, &e.c_source) == NULL);
	CHECK_EQ_INT(v->cg.n_data, 0);
	const struct change *last = &m->changes.ring[m->changes.count - 1];
	CHECK_EQ_INT(last->kind, CHANGE_DATA_MDT_DOWN);
	CHECK(last->when == 1300 * MTIME_SEC); /* the moment it expired, not the sweep's */
	model_free(m);
}

TEST(change_log_is_a_ring_with_a_dropped_count)
{
	struct changelog log = {0};

	CHECK(changelog_resize(&log, 3));
	for (int i = 0; i < 5; i++)
		changelog_append(&log, (mtime_t)i);
	CHECK_EQ_INT(log.count, 3);
	CHECK_EQ_INT(log.dropped, 2);
	uint32_t want = 0;
	const struct change *c = changelog_seek(&log, &want, 1, true);
	CHECK(c && c->index == 3);
	want = 4;
	c = changelog_seek(&log, &want, 1, true);
	CHECK(c && c->index == 5);
	CHECK(changelog_seek(&log, &c->index, 1, true) == NULL);
	CHECK(changelog_resize(&log, 2)); /* shrinking keeps the newest */
	CHECK(log.count == 2 && log.dropped == 3 && changelog_seek(&log, NULL, 0, false)->index == 4);
	changelog_free(&log);
}

static struct inet_addr random_addr(bool v6)
{
	uint8_t b[16] = {0};
	struct inet_addr a;

	for (int i = 0; i < 16; i++)
		b[i] = (uint8_t)(rand() % 3);
	if (v6) {
		b[0] = 0xff;
		inet_addr_v6(&a, b);
	} else {
		b[0] = 233;
		inet_addr_v4(&a, b);
	}
	return a;
}

/* Walking the tree by repeated seeks must give every row once, in strict OID order. */
TEST(cgroup_rows_seek_in_oid_order)
{
	struct model *m = offline_model();
	struct vpn *v = vpn_find(m, 7);
	struct oidx prev = {.len = 0}, x;

	m->settings.max_cgroups_per_vpn = 100000;
	srand(3);
	for (int i = 0; i < 3000; i++) {
		struct jp_event e = {.sender = random_addr(rand() % 2), .upstream = random_addr(0),
				     .holdtime = 210, .group = random_addr(rand() % 2),
				     .source = random_addr(rand() % 2), .kind = (uint8_t)(1 + rand() % 3),
				     .join = true};
		e.sender.bytes[0] = 198;
		passive_jp_record(m, v, &e);
	}
	size_t walked = 0;
	for (const struct cgpe *r = cgpe_seek(&v->cg, NULL, 0, false); r;
	     r = cgpe_seek(&v->cg, x.sub, x.len, true)) {
		oidx_reset(&x);
		cgpe_oidx(r, &x);
		CHECK(walked == 0 || oidx_cmp(prev.sub, prev.len, x.sub, x.len) < 0);
		prev = x;
		walked++;
	}
	CHECK_EQ_INT(walked, v->cg.n_rows);
	CHECK(walked > 3000);
	model_free(m);
}

/* The first row at or after want (after: past it), by reading every row in
 * turn: what cgpe_seek must answer, however the rows are kept. */
static const struct cgpe *seek_by_scan(const struct vpn *v, const uint32_t *want, size_t wlen,
				       bool after)
{
	struct oidx x;

	for (const struct cgpe *r = cgpe_first(&v->cg); r; r = cgpe_next(r)) {
		oidx_reset(&x);
		cgpe_oidx(r, &x);
		if (oidx_seek_ok(&x, want, wlen, after))
			return r;
	}
	return NULL;
}

/* Seeks for any OID, a row's, a part of one, one between rows, land where a
 * scan of every row does; flows with no rows (only on a data MDT) in between
 * are passed over, and rows are in OID order across flows. */
TEST(cgroup_rows_seek_anywhere_as_a_scan_finds)
{
	struct model *m = offline_model();
	struct vpn *v = vpn_find(m, 7);
	struct oidx prev = {.len = 0}, x, want;

	m->settings.max_cgroups_per_vpn = 100000;
	m->settings.max_data_mdts_per_vpn = 100000;
	srand(11);
	for (int i = 0; i < 600; i++) {
		struct jp_event e = {.sender = random_addr(rand() % 2), .upstream = random_addr(0),
				     .holdtime = 210, .group = random_addr(rand() % 2),
				     .source = random_addr(rand() % 2), .kind = (uint8_t)(1 + rand() % 3),
				     .join = true};
		e.sender.bytes[0] = 198;
		passive_jp_record(m, v, &e);
		if (i % 3 == 0) { /* a flow of its own, with no rows */
			struct mdt_event d = {.announcer = A("198.18.0.1"),
					      .c_source = random_addr(rand() % 2),
					      .c_group = random_addr(rand() % 2),
					      .p_group = A("239.1.1.1")};
			passive_mdt_join(m, v, &d);
		}
	}
	CHECK(v->cg.n_flows > v->cg.n_joined); /* some flows have no rows */
	size_t walked = 0;
	for (const struct cgpe *r = cgpe_first(&v->cg); r; r = cgpe_next(r)) {
		oidx_reset(&x);
		cgpe_oidx(r, &x);
		CHECK(walked == 0 || oidx_cmp(prev.sub, prev.len, x.sub, x.len) < 0);
		prev = x;
		walked++;
	}
	CHECK_EQ_INT(walked, v->cg.n_rows);
	for (const struct cgpe *r = cgpe_first(&v->cg); r; r = cgpe_next(r)) {
		oidx_reset(&x);
		cgpe_oidx(r, &x);
		for (int k = 0; k < 4; k++) {
			want = x;
			want.len = 1 + (size_t)rand() % x.len; /* a part of it */
			if (k >= 2 && want.len > 0) /* a little before or after it */
				want.sub[want.len - 1] += k == 2 ? (uint32_t)-1 : 1;
			for (int after = 0; after < 2; after++)
				CHECK(cgpe_seek(&v->cg, want.sub, want.len, after) ==
				      seek_by_scan(v, want.sub, want.len, after));
		}
	}
	CHECK(cgpe_seek(&v->cg, NULL, 0, false) == cgpe_first(&v->cg));
	model_free(m);
}

/* The change log's typed values, shown as text by the agent
 * (agent/change_text.c), read as they always have, at the extremes too. */
TEST(change_texts_read_as_printf_would_write_them)
{
	struct model *m = offline_model();
	struct vpn *v = vpn_find(m, 7);
	char want[96];
	struct hello_event h = {.pe = A("198.18.0.1"), .caddr = A("198.18.0.1"), .has_holdtime = true,
				.holdtime = 65534, .has_genid = true, .genid = 0xffffffffu,
				.has_dr_priority = true, .dr_priority = 4294967295u};

	passive_hello(m, v, &h);
	snprintf(want, sizeof(want), "hold %us genid 0x%08x dr %u", 65534u, 0xffffffffu, 4294967295u);
	CHECK_EQ_STR(cur_text(&m->changes.ring[0]), want);
	h.has_genid = false;
	h.holdtime = 0xffff;
	h.dr_priority = 0;
	passive_hello(m, v, &h);
	CHECK_EQ_STR(cur_text(&m->changes.ring[1]), "hold 65535s dr 0");
	jp(m, "198.18.0.5", "255.255.255.254", "233.252.0.1", "192.0.2.1", CG_SG, true, 65535);
	CHECK_EQ_STR(cur_text(&m->changes.ring[2]), "joined via 255.255.255.254 hold 65535s");
	jp(m, "198.18.0.5", "2001:db8::ffff:0:1", "ff3e::1", "2001:db8::10", CG_SG, true, 0);
	CHECK_EQ_STR(cur_text(&m->changes.ring[3]), "joined via 2001:db8::ffff:0:1 hold 0s");
	jp(m, "198.18.0.5", "0.0.0.0", "233.252.0.1", "192.0.2.1", CG_SG_RPT, false, 9);
	CHECK_EQ_STR(cur_text(&m->changes.ring[4]), "pruned via 0.0.0.0 hold 9s");
	struct mdt_event d = {.announcer = A("198.18.0.1"), .c_source = A("192.0.2.1"),
			      .c_group = A("233.252.0.1"), .p_group = A("239.255.255.255")};
	passive_mdt_join(m, v, &d);
	CHECK_EQ_STR(cur_text(&m->changes.ring[5]), "data MDT 239.255.255.255 from 198.18.0.1");
	CHECK_EQ_INT(m->changes.count, 6);
	model_free(m);
}

/* What a restart puts back from the history is state, not news: the Hello,
 * Join or MDT Join that refreshes it is a refresh, and the values are those
 * recorded; live rows count as refreshed at the restart. */
TEST(restored_state_is_refreshed_not_created_again)
{
	struct model *m = offline_model();
	struct vpn *v = vpn_find(m, 7);
	struct inet_addr pe1 = A("198.18.0.1"), pe5 = A("198.18.0.5"), up = A("198.18.0.5");
	struct inet_addr src = A("192.0.2.1"), grp = A("233.252.0.1"), pgrp = A("239.192.1.9");
	mtime_t now = mclock_now(&m->clock);
	struct change_pe_value pv = {.present = 1, .alive = 1, .has_genid = 1, .holdtime = 105,
				     .genid = 7, .dr_priority = 1, .caddr = pe1};
	struct change_row_value rv = {.present = 1, .cg_kind = CG_SG, .state = CG_JOINED,
				      .holdtime = 210, .upstream = up};
	struct change_flow_value fv = {.present = 1, .p_group = pgrp, .announcer = pe5};

	CHECK(passive_restore_pe(m, v, &pe1, &pv, 3 * MTIME_SEC, now));
	CHECK(passive_restore_row(m, v, &src, &grp, &pe1, &rv, now));
	CHECK(passive_restore_flow(m, v, &src, &grp, &fv, now));
	CHECK_EQ_INT(m->changes.count, 0);
	struct pe *pe = pe_find(&v->pes, &pe1);
	CHECK(pe && pe->alive && pe->genid == 7 && pe->expires == now + 105 * MTIME_SEC);
	CHECK_EQ_INT(pe->first_seen, 3 * MTIME_SEC);
	struct flow *f = flow_find(&v->cg, &grp, &src);
	CHECK(f && f->on_data_mdt && inet_addr_eq(&f->p_group, &pgrp));
	CHECK_EQ_INT(v->cg.n_data, 1);
	CHECK_EQ_INT(v->cg.n_rows, 2); /* the downstream row and its upstream row */
	struct cgpe *upr = cgpe_find(&v->cg, f, CG_SG, &up, CG_UPSTREAM);
	CHECK(upr && upr->joiners == 1);
	hello(m, "198.18.0.1", 105, 7); /* the same PE, the same values: a refresh */
	jp(m, "198.18.0.1", "198.18.0.5", "233.252.0.1", "192.0.2.1", CG_SG, true, 210);
	struct mdt_event d = {.announcer = pe5, .c_source = src, .c_group = grp, .p_group = pgrp};
	passive_mdt_join(m, v, &d);
	CHECK_EQ_INT(m->changes.count, 0);
	CHECK_EQ_INT(v->counters.refreshes, 3);
	hello(m, "198.18.0.1", 105, 8); /* a new generation: news again */
	CHECK_EQ_INT(m->changes.count, 1);
	CHECK_EQ_INT(m->changes.ring[0].kind, CHANGE_PE_RESTART);
	/* An alive PE the history knew expires one hold time after the restart. */
	at(m, 105 + 1);
	CHECK(!pe_find(&v->pes, &pe1)->alive);
	model_free(m);
}

/* RFC 7761 4.9.5: a Hold Time of 0xFFFF holds the row until a prune. */
TEST(a_join_held_forever_never_expires_and_a_prune_cancels_it)
{
	struct model *m = offline_model();
	struct vpn *v = vpn_find(m, 7);
	struct inet_addr g = A("233.252.0.10"), s = A("192.0.2.10"), d1 = A("198.18.0.1"),
			 up = A("198.18.0.2");

	jp(m, "198.18.0.1", "198.18.0.2", "233.252.0.10", "192.0.2.10", CG_SG, true,
	   JP_HOLD_FOREVER);
	struct flow *f = flow_find(&v->cg, &g, &s);
	struct cgpe *r = f ? cgpe_find(&v->cg, f, CG_SG, &d1, CG_DOWNSTREAM) : NULL;
	CHECK(r && r->expires == MTIME_NEVER && r->holdtime == JP_HOLD_FOREVER);
	CHECK(!timer_armed(&r->timer));
	CHECK(cgpe_find(&v->cg, f, CG_SG, &up, CG_UPSTREAM)->expires == MTIME_NEVER);
	at(m, 10u * 86400u); /* ten days on: still there */
	CHECK_EQ_INT(v->cg.n_rows, 2);
	CHECK(timers_next(&m->timers) == MTIME_NEVER); /* no timer armed for it */
	/* A finite hold time again arms it; then a prune ends it. */
	jp(m, "198.18.0.1", "198.18.0.2", "233.252.0.10", "192.0.2.10", CG_SG, true, 210);
	CHECK(timer_armed(&r->timer) && r->expires == mclock_now(&m->clock) + 210 * MTIME_SEC);
	jp(m, "198.18.0.1", "198.18.0.2", "233.252.0.10", "192.0.2.10", CG_SG, true,
	   JP_HOLD_FOREVER);
	CHECK(!timer_armed(&r->timer));
	jp(m, "198.18.0.1", "198.18.0.2", "233.252.0.10", "192.0.2.10", CG_SG, false,
	   JP_HOLD_FOREVER);
	CHECK_EQ_INT(v->cg.n_rows, 0);
	CHECK_EQ_INT(m->changes.ring[m->changes.count - 1].kind, CHANGE_PRUNE);
	model_free(m);
}

static void bgp_join(struct model *m, const char *down, const char *up, const char *group,
		     const char *source, uint8_t kind, bool add)
{
	struct jp_event e = {.sender = A(down), .upstream = A(up), .group = A(group),
			     .source = A(source), .kind = kind};
	passive_bgp_join(m, vpn_find(m, 7), &e, add);
}

/* C-multicast routes (RFC 6514 4.6): rows held while a route holds them, then
 * for bgp_settle, then expired; a route back in time changes nothing. */
TEST(c_multicast_routes_hold_rows_and_the_last_withdrawal_settles)
{
	struct model *m = offline_model();
	struct vpn *v = vpn_find(m, 7);
	struct inet_addr g = A("233.252.0.10"), s = A("192.0.2.10"), d1 = A("198.18.0.1"),
			 up = A("198.18.0.2"), rp = A("192.0.2.250"), g50 = A("233.252.0.50");

	m->settings.bgp_settle = 60 * MTIME_SEC;
	/* Two route reflectors report .1's Source Tree Join. */
	bgp_join(m, "198.18.0.1", "198.18.0.2", "233.252.0.10", "192.0.2.10", CG_SG, true);
	bgp_join(m, "198.18.0.1", "198.18.0.2", "233.252.0.10", "192.0.2.10", CG_SG, true);
	struct flow *f = flow_find(&v->cg, &g, &s);
	struct cgpe *r = f ? cgpe_find(&v->cg, f, CG_SG, &d1, CG_DOWNSTREAM) : NULL;
	CHECK(r && r->bgp_routes == 2 && r->expires == MTIME_NEVER && r->state == CG_JOINED);
	struct cgpe *u = cgpe_find(&v->cg, f, CG_SG, &up, CG_UPSTREAM);
	CHECK(u && u->joiners == 1 && inet_addr_eq(&u->other, &d1));
	CHECK_EQ_INT(m->changes.count, 1); /* one join; the second route is a refresh */
	CHECK_EQ_INT(m->changes.ring[0].kind, CHANGE_JOIN);
	CHECK_EQ_INT(v->counters.refreshes, 1);
	/* One goes: the other still holds it. */
	bgp_join(m, "198.18.0.1", "198.18.0.2", "233.252.0.10", "192.0.2.10", CG_SG, false);
	CHECK(r->bgp_routes == 1 && r->expires == MTIME_NEVER);
	/* The last goes at t=100: held until 160, as the upstream row shows. */
	at(m, 100);
	bgp_join(m, "198.18.0.1", "198.18.0.2", "233.252.0.10", "192.0.2.10", CG_SG, false);
	mtime_t t100 = mclock_now(&m->clock);
	CHECK(r->bgp_routes == 0 && r->expires == t100 + 60 * MTIME_SEC);
	CHECK_EQ_INT(u->expires, t100 + 60 * MTIME_SEC);
	/* Back at 159 (a BMP session that restarted): a refresh, nothing recorded. */
	at(m, 159);
	bgp_join(m, "198.18.0.1", "198.18.0.2", "233.252.0.10", "192.0.2.10", CG_SG, true);
	CHECK(r->bgp_routes == 1 && r->expires == MTIME_NEVER);
	CHECK_EQ_INT(m->changes.count, 1);
	at(m, 1000);
	CHECK_EQ_INT(v->cg.n_rows, 2);
	/* Gone for good at 1000: still there at 1059 s 999 ms, expired at 1060 exactly. */
	bgp_join(m, "198.18.0.1", "198.18.0.2", "233.252.0.10", "192.0.2.10", CG_SG, false);
	mclock_advance(&m->clock, (1000ull + 1060) * MTIME_SEC - MTIME_SEC / 1000);
	passive_expire(m, mclock_now(&m->clock));
	CHECK_EQ_INT(v->cg.n_rows, 2);
	at(m, 1060);
	CHECK_EQ_INT(v->cg.n_rows, 0);
	CHECK_EQ_INT(m->changes.count, 2);
	CHECK_EQ_INT(m->changes.ring[1].kind, CHANGE_EXPIRY);
	CHECK_EQ_INT(m->changes.ring[1].when, (1000ull + 1060) * MTIME_SEC);
	/* A Shared Tree Join: (*,G) towards its C-RP; a withdrawal of a route no
	 * row counts (a cap refused it) changes nothing. */
	bgp_join(m, "198.18.0.3", "198.18.0.2", "233.252.0.50", "192.0.2.250", CG_STAR_G, true);
	struct inet_addr d3 = A("198.18.0.3");
	f = flow_find(&v->cg, &g50, &(struct inet_addr){0});
	r = f ? cgpe_find(&v->cg, f, CG_STAR_G, &d3, CG_DOWNSTREAM) : NULL;
	CHECK(r && inet_addr_eq(&r->rp, &rp) && r->bgp_routes == 1);
	bgp_join(m, "198.18.0.4", "198.18.0.2", "233.252.0.50", "192.0.2.250", CG_STAR_G, false);
	CHECK_EQ_INT(v->cg.n_rows, 2);
	CHECK_EQ_INT(m->changes.count, 3);
	model_free(m);
}

/* The same route with another upstream (its Route Target changed): the row
 * moves upstream, recorded as a change; the old upstream row goes. */
TEST(a_c_multicast_route_whose_upstream_changes_moves_its_row)
{
	struct model *m = offline_model();
	struct vpn *v = vpn_find(m, 7);
	struct inet_addr g = A("233.252.0.10"), s = A("192.0.2.10"), d1 = A("198.18.0.1"),
			 up2 = A("198.18.0.2"), up3 = A("198.18.0.3");

	m->settings.bgp_settle = 60 * MTIME_SEC;
	bgp_join(m, "198.18.0.1", "198.18.0.2", "233.252.0.10", "192.0.2.10", CG_SG, true);
	/* As bgp/mvpn.c applies a replaced route: the new one held, the old one gone. */
	bgp_join(m, "198.18.0.1", "198.18.0.3", "233.252.0.10", "192.0.2.10", CG_SG, true);
	bgp_join(m, "198.18.0.1", "198.18.0.2", "233.252.0.10", "192.0.2.10", CG_SG, false);
	struct flow *f = flow_find(&v->cg, &g, &s);
	struct cgpe *r = cgpe_find(&v->cg, f, CG_SG, &d1, CG_DOWNSTREAM);
	CHECK(r && inet_addr_eq(&r->other, &up3) && r->bgp_routes == 1 &&
	      r->expires == MTIME_NEVER);
	CHECK(cgpe_find(&v->cg, f, CG_SG, &up2, CG_UPSTREAM) == NULL);
	CHECK(cgpe_find(&v->cg, f, CG_SG, &up3, CG_UPSTREAM) != NULL);
	CHECK_EQ_INT(m->changes.count, 2);
	CHECK_EQ_INT(v->cg.n_rows, 2);
	model_free(m);
}

/* A restored row a C-multicast route held waits, as a withdrawn one, for its
 * route; one PIM held forever stays held. */
TEST(restored_rows_held_forever_wait_for_bgp_for_settle)
{
	struct model *m = offline_model();
	struct vpn *v = vpn_find(m, 7);
	struct inet_addr pe1 = A("198.18.0.1"), up = A("198.18.0.5");
	struct inet_addr src = A("192.0.2.1"), grp = A("233.252.0.1");
	mtime_t now = mclock_now(&m->clock);
	struct change_row_value rv = {.present = 1, .cg_kind = CG_SG, .state = CG_JOINED,
				      .holdtime = JP_HOLD_FOREVER, .upstream = up};

	m->settings.bgp_settle = 60 * MTIME_SEC;
	CHECK(passive_restore_row(m, v, &src, &grp, &pe1, &rv, now));
	struct flow *f = flow_find(&v->cg, &grp, &src);
	CHECK(cgpe_find(&v->cg, f, CG_SG, &pe1, CG_DOWNSTREAM)->expires == MTIME_NEVER);
	model_free(m);

	m = offline_model();
	v = vpn_find(m, 7);
	v->bgp_signalled = true;
	m->settings.bgp_settle = 60 * MTIME_SEC;
	now = mclock_now(&m->clock);
	CHECK(passive_restore_row(m, v, &src, &grp, &pe1, &rv, now));
	f = flow_find(&v->cg, &grp, &src);
	struct cgpe *r = cgpe_find(&v->cg, f, CG_SG, &pe1, CG_DOWNSTREAM);
	CHECK(r && r->bgp_routes == 0 && r->expires == now + 60 * MTIME_SEC);
	/* Its route again: a refresh, held by it from now on. */
	bgp_join(m, "198.18.0.1", "198.18.0.5", "233.252.0.1", "192.0.2.1", CG_SG, true);
	CHECK(r->bgp_routes == 1 && r->expires == MTIME_NEVER);
	CHECK_EQ_INT(m->changes.count, 0);
	model_free(m);
}

UNIT_MAIN("passive", T(hellos_restate_or_change_pe_state), T(pes_expire_by_hold_time_and_counts_follow),
	  T(joins_make_downstream_and_upstream_rows), T(star_g_keeps_the_rp_and_sg_rpt_prunes_are_state),
	  T(caps_drop_new_state_and_keep_the_old), T(caps_count_only_the_rows_a_join_needs),
	  T(caps_hold_when_a_join_moves_upstream),
	  T(a_full_pe_table_gives_up_the_longest_departed_unexpected_pe),
	  T(data_mdt_announce_refresh_switch_and_expire),
	  T(change_log_is_a_ring_with_a_dropped_count), T(cgroup_rows_seek_in_oid_order),
	  T(cgroup_rows_seek_anywhere_as_a_scan_finds),
	  T(change_texts_read_as_printf_would_write_them),
	  T(restored_state_is_refreshed_not_created_again),
	  T(a_join_held_forever_never_expires_and_a_prune_cancels_it),
	  T(c_multicast_routes_hold_rows_and_the_last_withdrawal_settles),
	  T(a_c_multicast_route_whose_upstream_changes_moves_its_row),
	  T(restored_rows_held_forever_wait_for_bgp_for_settle))
