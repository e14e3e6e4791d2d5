/* mib/passive + mib/timers: expiry on the model clock, across VPNs, exactly. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>

#include "../../mib/passive.h"

#define T0 (1000 * MTIME_SEC)
#define MS (MTIME_SEC / 1000)

static struct inet_addr A(const char *text)
{
	struct inet_addr a;
	if (!inet_addr_parse(&a, text))
		abort();
	return a;
}

static struct inet_addr v4(uint32_t x)
{
	return (struct inet_addr){.type = INET_IPV4,
				  .bytes = {x >> 24, x >> 16 & 0xff, x >> 8 & 0xff, x & 0xff}};
}

/* VPNs 1..n, VPN i on default MDT 239.192.0.i; the clock at T0. */
static struct model *model_of(unsigned n)
{
	struct model *m = model_new(true);

	m->settings.max_pes_per_vpn = 1000;
	m->settings.max_cgroups_per_vpn = 10000;
	m->settings.max_data_mdts_per_vpn = 1000;
	changelog_resize(&m->changes, 10000);
	for (unsigned i = 1; i <= n; i++) {
		struct inet_addr mdt = v4(0xefc00000u + i);
		vpn_configure(vpn_get(m, i), "v", &mdt, NULL, 0);
	}
	mclock_advance(&m->clock, T0);
	return m;
}

/* The clock to T0 + ns, and what is due expires: as a replay does per packet. */
static void at(struct model *m, mtime_t ns)
{
	mclock_advance(&m->clock, T0 + ns);
	passive_expire(m, mclock_now(&m->clock));
}

static void hello(struct model *m, uint32_t vpn, struct inet_addr pe, uint16_t hold)
{
	struct hello_event e = {.pe = pe, .caddr = pe, .has_holdtime = true, .holdtime = hold};
	passive_hello(m, vpn_find(m, vpn), &e);
}

static void join(struct model *m, uint32_t vpn, struct inet_addr from, struct inet_addr group,
		 uint16_t hold, bool join)
{
	struct jp_event e = {.sender = from, .upstream = A("198.18.255.1"), .holdtime = hold,
			     .group = group, .source = A("192.0.2.1"), .kind = CG_SG, .join = join};
	passive_jp_record(m, vpn_find(m, vpn), &e);
}

static void data_mdt(struct model *m, uint32_t vpn, struct inet_addr from, struct inet_addr group)
{
	struct mdt_event e = {.announcer = from, .c_source = A("192.0.2.1"), .c_group = group,
			      .p_group = A("239.193.0.1")};
	passive_mdt_join(m, vpn_find(m, vpn), &e);
}

static const struct change *change_at(const struct model *m, uint32_t i)
{
	return &m->changes.ring[(m->changes.head + i) % m->changes.capacity];
}

static const struct change *last_change(const struct model *m)
{
	return change_at(m, m->changes.count - 1);
}

/* PEs, rows and flows: each holds one timer slot (armed or not). */
static size_t timed_objects(const struct model *m)
{
	size_t n = 0;

	for (size_t i = 0; i < m->n_vpns; i++)
		n += m->vpns[i]->pes.n + m->vpns[i]->cg.n_rows + m->vpns[i]->cg.n_flows;
	return n;
}

/* A PE, a row and a data MDT each expire at their deadline to the nanosecond:
 * one nanosecond before it they are still there. */
TEST(expiry_comes_exactly_at_the_deadline)
{
	struct model *m = model_of(1);
	struct vpn *v = vpn_find(m, 1);
	struct inet_addr pe = A("198.18.0.1"), g = A("233.252.0.1"), g2 = A("233.252.0.2");

	hello(m, 1, pe, 105);
	join(m, 1, pe, g, 210, true);
	data_mdt(m, 1, pe, g2);
	CHECK_EQ_INT(timers_next(&m->timers), T0 + 105 * MTIME_SEC);

	at(m, 105 * MTIME_SEC - 1);
	CHECK(pe_find(&v->pes, &pe)->alive);
	at(m, 105 * MTIME_SEC);
	CHECK(!pe_find(&v->pes, &pe)->alive);
	CHECK_EQ_INT(last_change(m)->kind, CHANGE_PE_DOWN);
	CHECK_EQ_INT(last_change(m)->when, T0 + 105 * MTIME_SEC);

	at(m, 180 * MTIME_SEC - 1);
	CHECK_EQ_INT(v->cg.n_data, 1);
	at(m, 180 * MTIME_SEC);
	CHECK_EQ_INT(v->cg.n_data, 0);
	CHECK_EQ_INT(last_change(m)->kind, CHANGE_DATA_MDT_DOWN);

	at(m, 210 * MTIME_SEC - 1);
	CHECK_EQ_INT(v->cg.n_rows, 2);
	at(m, 210 * MTIME_SEC);
	CHECK_EQ_INT(v->cg.n_rows, 0);
	CHECK_EQ_INT(last_change(m)->kind, CHANGE_EXPIRY);
	CHECK_EQ_INT(last_change(m)->when, T0 + 210 * MTIME_SEC);
	CHECK_EQ_INT(timers_next(&m->timers), MTIME_NEVER);
	model_free(m);
}

/* A refresh moves a deadline later (the old one passes without expiry) or
 * earlier (a shorter hold time: it expires before the old deadline). */
TEST(refresh_moves_the_deadline_later_and_earlier)
{
	struct model *m = model_of(2);
	struct vpn *v = vpn_find(m, 1), *other = vpn_find(m, 2);
	struct inet_addr pe = A("198.18.0.1"), g = A("233.252.0.1");

	/* Others' deadlines around them: 50, 105 and 150 s, in another VPN. */
	join(m, 2, pe, A("233.252.0.50"), 50, true);
	join(m, 2, pe, A("233.252.0.105"), 105, true);
	join(m, 2, pe, A("233.252.0.150"), 150, true);
	join(m, 1, pe, g, 100, true);
	at(m, 10 * MTIME_SEC);
	join(m, 1, pe, g, 100, true); /* later: 110 s */
	at(m, 50 * MTIME_SEC);
	CHECK_EQ_INT(other->cg.n_rows, 4);
	at(m, 100 * MTIME_SEC);
	CHECK_EQ_INT(v->cg.n_rows, 2);
	at(m, 105 * MTIME_SEC);
	CHECK_EQ_INT(other->cg.n_rows, 2);
	at(m, 110 * MTIME_SEC - 1);
	CHECK_EQ_INT(v->cg.n_rows, 2);
	at(m, 110 * MTIME_SEC);
	CHECK_EQ_INT(v->cg.n_rows, 0);

	join(m, 1, pe, g, 100, true);  /* 210 s */
	hello(m, 1, pe, 105);           /* 215 s */
	at(m, 111 * MTIME_SEC);
	join(m, 1, pe, g, 5, true);    /* earlier: 116 s */
	hello(m, 1, pe, 3);             /* earlier: 114 s */
	CHECK_EQ_INT(timers_next(&m->timers), T0 + 114 * MTIME_SEC);
	at(m, 114 * MTIME_SEC - 1);
	CHECK(pe_find(&v->pes, &pe)->alive);
	at(m, 114 * MTIME_SEC);
	CHECK(!pe_find(&v->pes, &pe)->alive);
	at(m, 116 * MTIME_SEC - 1);
	CHECK_EQ_INT(v->cg.n_rows, 2);
	at(m, 116 * MTIME_SEC);
	CHECK_EQ_INT(v->cg.n_rows, 0);
	CHECK_EQ_INT(last_change(m)->when, T0 + 116 * MTIME_SEC);
	CHECK_EQ_INT(timers_next(&m->timers), T0 + 150 * MTIME_SEC);
	model_free(m);
}

#define VPNS 60
#define EVENTS 900

struct due {
	mtime_t when;
	uint32_t vpn;
	uint8_t kind; /* enum timer_kind: the order of equal deadlines in a VPN */
	uint32_t k;   /* the event that set it: the order of equal deadlines and kinds */
	struct inet_addr pe;
};

static int due_cmp(const void *a, const void *b)
{
	const struct due *x = a, *y = b;
	if (x->when != y->when)
		return x->when < y->when ? -1 : 1;
	if (x->vpn != y->vpn)
		return x->vpn < y->vpn ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return x->k < y->k ? -1 : x->k > y->k;
}

static bool is_expiry(uint8_t kind)
{
	return kind == CHANGE_PE_DOWN || kind == CHANGE_EXPIRY || kind == CHANGE_DATA_MDT_DOWN;
}

/* Sixty VPNs, 900 PEs, rows and data MDTs on a 100 ms grid with hold times of
 * 1-20 s (many deadlines equal, within and across VPNs), then one long jump:
 * every expiry is logged at its own deadline, in deadline order across VPNs,
 * equal deadlines by VPN index, then PE, row, data MDT, then order of setting. */
TEST(many_vpns_expire_in_deadline_order)
{
	struct model *m = model_of(VPNS);
	static struct due want[EVENTS];
	uint32_t n = 0, rng = 4834;

	for (uint32_t k = 0; k < EVENTS; k++) {
		rng = rng * 1103515245u + 12345u;
		uint32_t vpn = 1 + (rng >> 8) % VPNS, kind = (rng >> 20) % 7 == 0 ? 2 : (rng >> 4) % 2;
		uint16_t hold = (uint16_t)(1 + (rng >> 12) % 20);
		mtime_t now = (mtime_t)k * 100 * MS;
		struct inet_addr pe = v4(0xc6120000u + k + 1), group = v4(0xe9fc0000u + k + 1);

		at(m, now);
		if (kind == TIMER_PE)
			hello(m, vpn, pe, hold);
		else if (kind == TIMER_ROW)
			join(m, vpn, pe, group, hold, true);
		else
			data_mdt(m, vpn, pe, group);
		mtime_t deadline = T0 + now + (kind == TIMER_DATA_MDT ? DATA_MDT_HOLD_SECONDS : hold) *
						      MTIME_SEC;
		want[n++] = (struct due){deadline, vpn, (uint8_t)kind, k, pe};
		/* Nothing due is left, nothing not yet due has gone. */
		CHECK(timers_next(&m->timers) > T0 + now);
		CHECK(timers_valid(&m->timers));
	}
	at(m, 3600 * MTIME_SEC);
	qsort(want, n, sizeof(*want), due_cmp);
	uint32_t got = 0;
	for (uint32_t i = 0; i < m->changes.count; i++) {
		const struct change *c = change_at(m, i);
		if (!is_expiry(c->kind))
			continue;
		CHECK(got < n);
		CHECK_EQ_INT(c->when, want[got].when);
		CHECK_EQ_INT(c->vpn_index, want[got].vpn);
		CHECK(inet_addr_eq(&c->pe, &want[got].pe));
		got++;
	}
	CHECK_EQ_INT(got, n);
	CHECK_EQ_INT(timers_count(&m->timers), 0);
	model_free(m);
}

/* Removing a VPN, forgetting one, pruning a row: their timers go with them
 * (run under ASan, a timer left behind would be a use after free), and only
 * what remains expires. */
TEST(removal_takes_the_timers_along)
{
	struct model *m = model_of(3);

	for (uint32_t vpn = 1; vpn <= 3; vpn++) {
		hello(m, vpn, A("198.18.0.1"), 105);
		hello(m, vpn, A("198.18.0.2"), 105);
		join(m, vpn, A("198.18.0.1"), A("233.252.0.1"), 210, true);
		join(m, vpn, A("198.18.0.1"), A("233.252.0.2"), 210, true);
		join(m, vpn, A("198.18.0.2"), A("233.252.0.2"), 210, true);
		data_mdt(m, vpn, A("198.18.0.1"), A("233.252.0.3"));
	}
	CHECK_EQ_INT(timers_count(&m->timers), 3 * 6);
	CHECK_EQ_INT(m->timers.added, timed_objects(m));

	vpn_remove(m, 2);
	CHECK_EQ_INT(timers_count(&m->timers), 2 * 6);
	CHECK_EQ_INT(m->timers.added, timed_objects(m));
	vpn_forget(vpn_find(m, 3));
	CHECK_EQ_INT(timers_count(&m->timers), 6);
	CHECK_EQ_INT(m->timers.added, timed_objects(m));
	join(m, 1, A("198.18.0.1"), A("233.252.0.1"), 210, false); /* a prune */
	CHECK_EQ_INT(timers_count(&m->timers), 5);
	CHECK_EQ_INT(m->timers.added, timed_objects(m));
	CHECK(timers_valid(&m->timers));

	uint32_t before = m->changes.count;
	at(m, 3600 * MTIME_SEC);
	CHECK_EQ_INT(m->changes.count, before + 5);
	for (uint32_t i = before; i < m->changes.count; i++)
		CHECK_EQ_INT(change_at(m, i)->vpn_index, 1);
	CHECK_EQ_INT(timers_count(&m->timers), 0);
	/* Model_free with timers armed frees them all (LeakSanitizer). */
	join(m, 1, A("198.18.0.1"), A("233.252.0.1"), 210, true);
	hello(m, 3, A("198.18.0.1"), 105);
	model_free(m);
}

/* The next deadline is the soonest of the timers and the alarm checks. */
TEST(next_deadline_is_the_soonest_of_timers_and_checks)
{
	struct model *m = model_of(1);

	join(m, 1, A("198.18.0.1"), A("233.252.0.1"), 1, true); /* T0 + 1 s */
	CHECK_EQ_INT(model_next_deadline(m), 0); /* the first alarm run is due at once */
	at(m, 500 * MS);
	alarms_run(m, mclock_now(&m->clock)); /* thresholds next at T0 + 1.5 s */
	CHECK_EQ_INT(model_next_deadline(m), T0 + MTIME_SEC);
	at(m, MTIME_SEC);
	CHECK_EQ_INT(model_next_deadline(m), T0 + 1500 * MS);
	model_free(m);
}

UNIT_MAIN("expiry", T(expiry_comes_exactly_at_the_deadline),
	  T(refresh_moves_the_deadline_later_and_earlier), T(many_vpns_expire_in_deadline_order),
	  T(removal_takes_the_timers_along), T(next_deadline_is_the_soonest_of_timers_and_checks))
