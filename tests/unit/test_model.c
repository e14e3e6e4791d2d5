/* mib/model: the VPN table, its seek semantics, and the clock conversions. */
#include "unit.h"

#include <stdlib.h>
#include <time.h>

#include "../../mib/model.h"

static struct model *model_with(const uint32_t *indexes, size_t n)
{
	struct model *m = model_new(false);
	struct inet_addr mdt;

	inet_addr_parse(&mdt, "239.192.0.1");
	for (size_t i = 0; i < n; i++)
		vpn_configure(vpn_get(m, indexes[i]), "v", &mdt, NULL, 0);
	return m;
}

TEST(vpns_stay_sorted_by_index)
{
	const uint32_t idx[] = {30, 10, 4294967295u, 20, 1};
	struct model *m = model_with(idx, 5);

	CHECK_EQ_INT(m->n_vpns, 5);
	for (size_t i = 1; i < m->n_vpns; i++)
		CHECK(m->vpns[i - 1]->index < m->vpns[i]->index);
	CHECK(vpn_find(m, 20) && !vpn_find(m, 21));
	vpn_remove(m, 20);
	CHECK(!vpn_find(m, 20) && m->n_vpns == 4);
	CHECK(vpn_get(m, 10) == vpn_find(m, 10)); /* get does not duplicate */
	CHECK_EQ_INT(m->n_vpns, 4);
	model_free(m);
}

/* What model_set_vpns's gone callback saw: the indexes, in order. */
struct gone_log {
	uint32_t idx[64];
	size_t n;
};

static void note_gone(void *arg, const struct vpn *v)
{
	struct gone_log *g = arg;

	if (g->n < 64)
		g->idx[g->n++] = v->index;
}

/*
 * A reload's merge, against a reference: 300 random sets of VPN indexes in
 * turn.  Every VPN carries a mark of its own (a counter and a PE row, which
 * holds a timer); a VPN that stays must be the same struct with its mark,
 * one that comes must be new and empty, one that goes must be reported once
 * and freed (its timer with it).  Losing a kept VPN's state, renumbering,
 * or keeping one too many fails here.
 */
TEST(a_reload_merge_keeps_what_stays_and_makes_only_what_comes)
{
	struct model *m = model_new(false);
	struct vpn *had[40] = {0}; /* by index: the VPN before this round */
	struct inet_addr mdt, pe;

	inet_addr_parse(&mdt, "239.192.0.1");
	srand(12);
	for (int round = 0; round < 300; round++) {
		uint32_t want[40];
		size_t n = 0;
		for (uint32_t i = 1; i < 40; i++)
			if (rand() % 3)
				want[n++] = i * 1000;
		struct gone_log gone = {.n = 0};
		CHECK(model_set_vpns(m, want, n, note_gone, &gone));
		CHECK_EQ_INT(m->n_vpns, n);
		size_t g = 0;
		for (uint32_t i = 1; i < 40; i++) {
			struct vpn *v = vpn_find(m, i * 1000);
			bool wanted = v != NULL;
			if (had[i] && !wanted)
				CHECK(g < gone.n && gone.idx[g++] == i * 1000);
			if (had[i] && wanted) {
				CHECK(v == had[i]); /* the same VPN, not a copy */
				CHECK_EQ_INT(v->counters.packets, i * 7);
				CHECK(v->pes.n == 1 && v->pes.v[0]->expected);
			}
			if (!had[i] && wanted) {
				CHECK_EQ_INT(v->counters.packets, 0);
				CHECK_EQ_INT(v->pes.n, 0);
				CHECK_EQ_INT(v->passive, PASSIVE_DISABLED);
				v->counters.packets = i * 7;
				inet_addr_parse(&pe, "198.18.0.1");
				CHECK(vpn_configure(v, "v", &mdt, &pe, 1));
			}
			had[i] = v;
		}
		CHECK_EQ_INT(gone.n, g); /* reported once, and only what went */
		for (size_t k = 0; k < n; k++)
			CHECK_EQ_INT(m->vpns[k]->index, want[k]);
		CHECK_EQ_INT(m->timers.added, n); /* one PE timer per VPN: none left behind */
	}
	/* Indexes that do not increase change nothing. */
	struct vpn *first = m->vpns[0];
	size_t before = m->n_vpns;
	const uint32_t bad[] = {5, 5000, 4000};
	CHECK(!model_set_vpns(m, bad, 3, NULL, NULL));
	CHECK(m->n_vpns == before && m->vpns[0] == first && !vpn_find(m, 5));
	CHECK(model_set_vpns(m, NULL, 0, NULL, NULL));
	CHECK_EQ_INT(m->n_vpns, 0);
	CHECK_EQ_INT(m->timers.added, 0);
	model_free(m);
}

/* Reference: the first row whose one-sub-id index compares >= (or >) want. */
static const struct vpn *brute_seek(const struct model *m, const uint32_t *want, size_t wlen,
				    bool after)
{
	for (size_t i = 0; i < m->n_vpns; i++) {
		struct oidx row;
		vpn_oidx(m->vpns[i], &row);
		if (oidx_seek_ok(&row, want, wlen, after))
			return m->vpns[i];
	}
	return NULL;
}

TEST(seek_matches_a_linear_scan)
{
	const uint32_t idx[] = {2, 5, 6, 9, 100};
	struct model *m = model_with(idx, 5);

	srand(7);
	for (int i = 0; i < 5000; i++) {
		uint32_t want[3];
		size_t wlen = (size_t)(rand() % 4);
		bool after = rand() % 2;
		for (size_t k = 0; k < wlen; k++)
			want[k] = (uint32_t)(rand() % 12);
		CHECK(vpn_seek(m, want, wlen, after) == brute_seek(m, want, wlen, after));
	}
	model_free(m);
}

TEST(expected_pes_are_looked_up_in_any_order)
{
	struct model *m = model_new(false);
	struct inet_addr mdt, pes[3], probe;
	struct vpn *v = vpn_get(m, 1);

	inet_addr_parse(&mdt, "239.192.0.1");
	inet_addr_parse(&pes[0], "198.18.0.9");
	inet_addr_parse(&pes[1], "2001:db8::1");
	inet_addr_parse(&pes[2], "198.18.0.1");
	CHECK(vpn_configure(v, "red", &mdt, pes, 3));
	CHECK(vpn_expects(v, &pes[1]));
	inet_addr_parse(&probe, "198.18.0.1");
	CHECK(vpn_expects(v, &probe));
	inet_addr_parse(&probe, "198.18.0.2");
	CHECK(!vpn_expects(v, &probe));
	model_free(m);
}

TEST(config_status_is_pending_during_the_grace)
{
	struct model *m = model_new(false);
	struct inet_addr mdt, pe;
	struct vpn *v = vpn_get(m, 1);

	inet_addr_parse(&mdt, "239.192.0.1");
	inet_addr_parse(&pe, "198.18.0.1");
	vpn_configure(v, "red", &mdt, &pe, 1);
	m->settings.startup_grace = 3600 * MTIME_SEC;
	CHECK_EQ_INT(vpn_config_status(m, v), CONFIG_PENDING);
	m->settings.startup_grace = 0;
	/* Nothing seen yet, one PE expected: it is missing. */
	CHECK_EQ_INT(vpn_config_status(m, v), CONFIG_MISMATCH);
	vpn_configure(v, "red", &mdt, NULL, 0);
	CHECK_EQ_INT(vpn_config_status(m, v), CONFIG_MATCH);
	model_free(m);
}

TEST(offline_clock_follows_the_capture_and_never_goes_back)
{
	struct mclock c;

	mclock_init_offline(&c);
	CHECK_EQ_INT(mclock_now(&c), 0);
	mclock_advance(&c, 1000 * MTIME_SEC);
	mclock_advance(&c, 1005 * MTIME_SEC);
	mclock_advance(&c, 1003 * MTIME_SEC); /* out of order packet */
	CHECK(mclock_now(&c) == 1005 * MTIME_SEC);
	/* Capture time is before any master could know of it: RFC 2579's 0, even
	 * with the master's uptime known; the DateAndTime columns carry it. */
	mclock_set_master_uptime(&c, 7 * MTIME_SEC, 5000, 100);
	CHECK_EQ_INT(mclock_timestamp_cs(&c, 1005 * MTIME_SEC), 0);
	CHECK(mclock_wall_ns(&c, 1005 * MTIME_SEC) == 1005 * MTIME_SEC);
}

static uint64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * MTIME_SEC + (uint64_t)ts.tv_nsec;
}

TEST(live_clock_maps_to_wall_time)
{
	struct mclock c;

	/*
	 * Bracketed by readings of the wall clock, so no scheduling delay can
	 * fail it (a 1 s margin could).  Init reads the monotonic clock, then the
	 * wall clock: the mapping runs ahead by the gap between the two reads,
	 * at most init_after - init_before.  So the wall time of "now" lies in
	 * [before, after + that gap], give or take the two clocks' rate
	 * difference while NTP slews (at most 500 ppm of the time elapsed).
	 */
	uint64_t init_before = real_ns();
	mclock_init_live(&c);
	uint64_t init_after = real_ns();
	uint64_t before = real_ns();
	uint64_t wall = mclock_wall_ns(&c, mclock_now(&c));
	uint64_t after = real_ns();
	uint64_t slew = (after - init_before) / 2000 + 1;
	CHECK(wall + slew >= before);
	CHECK(wall <= after + (init_after - init_before) + slew);
}

/* RFC 2579: a TimeStamp is the master's sysUpTime at the event; the master
 * said 23926 cs at monotonic 1000 s (it had been up 239.26 s before us). */
TEST(timestamps_are_the_masters_sysuptime_at_the_event)
{
	struct mclock c = {0};
	const mtime_t at = 1000 * MTIME_SEC, cs = MTIME_SEC / 100;

	c.origin = 990 * MTIME_SEC;
	CHECK_EQ_INT(mclock_timestamp_cs(&c, at), 0); /* master not known yet */
	CHECK(mclock_set_master_uptime(&c, at, 23926, 100));
	CHECK_EQ_INT(mclock_timestamp_cs(&c, at), 23926);
	CHECK_EQ_INT(mclock_timestamp_cs(&c, at + 5 * MTIME_SEC), 24426);
	CHECK_EQ_INT(mclock_timestamp_cs(&c, at + cs - 1), 23926); /* whole ticks */
	/* Our start-up, 10 s before: the master was up, so it has a TimeStamp. */
	CHECK_EQ_INT(mclock_timestamp_cs(&c, c.origin), 22926);
	CHECK_EQ_INT(mclock_timestamp_cs(&c, at - 1), 23925); /* floor, not towards 0 */
	/* Before the master's own start: 0. */
	CHECK_EQ_INT(mclock_timestamp_cs(&c, at - 240 * MTIME_SEC), 0);
	CHECK_EQ_INT(mclock_timestamp_cs(&c, 0), 0); /* never */

	/* A later answer within the tolerance changes nothing a manager read. */
	CHECK(!mclock_set_master_uptime(&c, at + 60 * MTIME_SEC, 29926 + 3, 100));
	CHECK_EQ_INT(mclock_timestamp_cs(&c, at + 5 * MTIME_SEC), 24426);
	/* The master restarted (its uptime went back): events before are 0. */
	CHECK(mclock_set_master_uptime(&c, at + 100 * MTIME_SEC, 150, 100));
	CHECK_EQ_INT(mclock_timestamp_cs(&c, at + 5 * MTIME_SEC), 0);
	CHECK_EQ_INT(mclock_timestamp_cs(&c, at + 99 * MTIME_SEC), 50);
	CHECK_EQ_INT(mclock_timestamp_cs(&c, at + 101 * MTIME_SEC), 250);
	/* The session closed: unknown, so 0, until the master answers again. */
	mclock_forget_master(&c);
	CHECK_EQ_INT(mclock_timestamp_cs(&c, at + 101 * MTIME_SEC), 0);
	/* TimeTicks wrap at 2^32 as sysUpTime does. */
	CHECK(mclock_set_master_uptime(&c, at, 4294967290u, 100));
	CHECK_EQ_INT(mclock_timestamp_cs(&c, at + 10 * cs), 4);
}

/* The hash by provider address agrees with a linear scan through inserts and
 * deletes: IPv4 and IPv6, enough PEs to grow the table and share slots. */
TEST(pes_are_found_by_address_as_a_scan_would)
{
	struct pe_table t;
	struct timers timers;
	struct inet_addr a;
	char text[64];

	timers_init(&timers, NULL); /* no timer is armed here */
	pe_table_init(&t, &timers);
	srand(4834);
	for (int round = 0; round < 20000; round++) {
		int k = rand() % 400;
		if (k % 3)
			snprintf(text, sizeof(text), "198.18.%d.%d", k / 200, k % 200);
		else
			snprintf(text, sizeof(text), "2001:db8::%x", k);
		inet_addr_parse(&a, text);
		struct pe *pe = pe_find(&t, &a);
		if (!pe)
			CHECK(pe_insert(&t, 1, &a) != NULL);
		else if (rand() % 3 == 0)
			pe_delete(&t, pe);
		for (int probe = 0; probe < 4; probe++) {
			k = rand() % 400;
			if (k % 3)
				snprintf(text, sizeof(text), "198.18.%d.%d", k / 200, k % 200);
			else
				snprintf(text, sizeof(text), "2001:db8::%x", k);
			inet_addr_parse(&a, text);
			struct pe *want = NULL;
			for (size_t i = 0; i < t.n && !want; i++)
				if (inet_addr_eq(&t.v[i]->addr, &a))
					want = t.v[i];
			CHECK(pe_find(&t, &a) == want);
		}
	}
	CHECK(t.n > 100);
	for (size_t i = 0; i < t.n; i++)
		CHECK(pe_find(&t, &t.v[i]->addr) == t.v[i]);
	pe_table_free(&t);
	CHECK_EQ_INT(timers.added, 0);
	timers_free(&timers);
}

/* The C-address index agrees with a linear scan through inserts, changes and deletes. */
TEST(pes_are_found_by_c_address_as_a_scan_would)
{
	struct pe_table t;
	struct timers timers;
	struct inet_addr a, c;
	char text[64];

	timers_init(&timers, NULL); /* no timer is armed here */
	pe_table_init(&t, &timers);
	srand(6037);
	for (int round = 0; round < 3000; round++) {
		snprintf(text, sizeof(text), "198.18.0.%d", rand() % 60);
		inet_addr_parse(&a, text);
		snprintf(text, sizeof(text), "2001:db8::%x", rand() % 40);
		inet_addr_parse(&c, text);
		struct pe *pe = pe_find(&t, &a);
		if (!pe)
			pe = pe_insert(&t, 1, &a);
		else if (rand() % 4 == 0) {
			pe_delete(&t, pe);
			pe = NULL;
		}
		if (pe)
			pe_set_caddr(&t, pe, &c);
		snprintf(text, sizeof(text), "2001:db8::%x", rand() % 40);
		inet_addr_parse(&c, text);
		struct pe *want = NULL;
		for (size_t i = 0; i < t.n && !want; i++)
			if (inet_addr_eq(&t.v[i]->caddr, &c))
				want = t.v[i];
		CHECK(pe_find_by_caddr(&t, &c) == want);
	}
	CHECK(t.n > 10);
	pe_table_free(&t);
	CHECK_EQ_INT(timers.added, 0);
	timers_free(&timers);
}

UNIT_MAIN("model", T(a_reload_merge_keeps_what_stays_and_makes_only_what_comes),
	  T(pes_are_found_by_address_as_a_scan_would),
	  T(pes_are_found_by_c_address_as_a_scan_would), T(vpns_stay_sorted_by_index), T(seek_matches_a_linear_scan),
	  T(expected_pes_are_looked_up_in_any_order), T(config_status_is_pending_during_the_grace),
	  T(offline_clock_follows_the_capture_and_never_goes_back), T(live_clock_maps_to_wall_time),
	  T(timestamps_are_the_masters_sysuptime_at_the_event))
