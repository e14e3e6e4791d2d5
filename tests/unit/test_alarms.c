/* mib/alarms: expected vs active PEs (grace, one notice per transition, one
 * "match" when the VPN matches again), RMON hysteresis on pair loss, the
 * sliding-window rate limit, the notice queue, and reconfiguration. */
#include "unit.h"

#include <stdlib.h>

#include "../../mib/log.h"
#include "../../mib/model.h"
#include "../../mib/passive.h"

#define S MTIME_SEC
#define MS (MTIME_SEC / 1000)
#define T0 (1767225600ull * S)

static struct inet_addr A(const char *text)
{
	struct inet_addr a;
	if (!inet_addr_parse(&a, text))
		abort();
	return a;
}

/* Every raise, clear and hold-back is logged; the checks here read the model. */
static void quiet(int priority, const char *fmt, va_list ap)
{
	(void)priority, (void)fmt, (void)ap;
}

/* A replay-clock model with one VPN expecting .1 and .2; grace 10 s. */
static struct model *pe_model(uint32_t limit, mtime_t interval)
{
	struct model *m = model_new(true);
	struct inet_addr mdt = A("239.192.0.1"), exp[2] = {A("198.18.0.1"), A("198.18.0.2")};

	mvpn_log_set_sink(quiet);
	changelog_resize(&m->changes, 1000);
	m->capture = CAPTURE_RUNNING;
	m->settings.startup_grace = 10 * S;
	m->settings.max_pes_per_vpn = 100;
	alarms_set_rate_limit(&m->alarms, limit, interval);
	vpn_configure(vpn_get(m, 1), "red", &mdt, exp, 2);
	return m;
}

/* Time moves to t (seconds after T0), timers run, and the model judges. */
static void at(struct model *m, double t)
{
	mtime_t now = T0 + (mtime_t)(t * 1e9);
	mclock_advance(&m->clock, now);
	passive_expire(m, now);
	alarms_run(m, now);
}

static void hello(struct model *m, double t, const char *pe, uint16_t hold)
{
	struct hello_event e = {.pe = A(pe), .caddr = A(pe), .has_holdtime = true,
				.holdtime = hold};
	at(m, t);
	passive_hello(m, vpn_find(m, 1), &e);
	alarms_run(m, mclock_now(&m->clock));
}

/* The notices waiting, as "kind:last octet of addr" words ("3:" for a match). */
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

/* RFC 3877's model: a receiver matches a clear with its raise by the alarm
 * index, and acts on either without walking the table: both carry the index,
 * the kind, when it was raised and the alarm's text. */
TEST(every_notice_of_an_alarm_carries_its_index_and_text_and_its_clear_the_same)
{
	struct model *m = pe_model(0, 60 * S);
	struct notice raise, clear;
	uint32_t first = m->alarms.table.next_index;

	hello(m, 0, "198.18.0.1", 105);
	hello(m, 2, "198.18.0.66", 105);
	CHECK(notice_pop(&m->alarms, &raise));
	CHECK_EQ_INT(raise.kind, NOTICE_PE_UNEXPECTED);
	CHECK_EQ_INT(raise.alarm_index, first);
	CHECK_EQ_INT(raise.alarm_kind, ALARM_PE_UNEXPECTED);
	CHECK_EQ_INT(raise.raised, T0 + 2 * S);
	char raise_text[ALARM_DESCR_MAX], row_text[ALARM_DESCR_MAX], clear_text[ALARM_DESCR_MAX];
	notice_alarm_describe(&raise, raise_text, sizeof(raise_text));
	alarm_describe(&m->alarms.table.v[0], row_text, sizeof(row_text));
	CHECK_EQ_STR(raise_text, "vpn red: PE 198.18.0.66 is active but not expected");
	CHECK_EQ_STR(raise_text, row_text);
	hello(m, 5, "198.18.0.66", 0);
	CHECK(notice_pop(&m->alarms, &clear));
	CHECK_EQ_INT(clear.kind, NOTICE_ALARM_CLEARED);
	CHECK_EQ_INT(clear.alarm_index, raise.alarm_index);
	CHECK_EQ_INT(clear.alarm_kind, ALARM_PE_UNEXPECTED);
	CHECK_EQ_INT(clear.raised, raise.raised);
	CHECK_EQ_INT(clear.at, T0 + 5 * S);
	notice_alarm_describe(&clear, clear_text, sizeof(clear_text));
	CHECK_EQ_STR(clear_text, raise_text);
	CHECK(inet_addr_eq(&clear.addr, &raise.addr));
	CHECK_EQ_STR(clear.vpn_name, "red");
	model_free(m);
}

/* Indexes are not stored across runs: each run starts at 8 a second of wall
 * clock since 1.7e9, so a later run never reuses an earlier run's index
 * unless that run raised more than 8 alarms a second of its life. */
TEST(alarm_indexes_of_a_later_run_start_past_an_earlier_runs)
{
	const uint64_t s = MTIME_SEC;

	CHECK_EQ_INT(alarm_index_base(0), 1);
	CHECK_EQ_INT(alarm_index_base(ALARM_INDEX_EPOCH * s), 1);
	CHECK_EQ_INT(alarm_index_base((ALARM_INDEX_EPOCH + 1) * s), 9);
	CHECK_EQ_INT(alarm_index_base((ALARM_INDEX_EPOCH + 1) * s + s - 1), 9);
	/* 2026-12-03 00:00:00 UTC = 1796256000 */
	CHECK_EQ_INT(alarm_index_base(1796256000ull * s), (1796256000ull - 1700000000ull) * 8 + 1);
	/* A run of an hour that raised 8 x 3600 alarms ends below the next base. */
	uint32_t earlier = alarm_index_base(1796256000ull * s);
	CHECK(earlier + 8 * 3600 - 1 < alarm_index_base((1796256000ull + 3600) * s));
	/* The model starts there (from the real clock, replaying or not). */
	struct model *m = model_new(true);
	CHECK(m->alarms.table.next_index >= alarm_index_base(1796256000ull * s));
	model_free(m);
}

TEST(missing_waits_for_the_grace_but_unexpected_does_not)
{
	struct model *m = pe_model(0, 60 * S);

	hello(m, 0, "198.18.0.1", 105);
	hello(m, 1, "198.18.0.66", 105);
	CHECK_EQ_STR(drain(m), "2:66");
	at(m, 9.9);
	CHECK_EQ_STR(drain(m), "");
	at(m, 10);
	CHECK_EQ_STR(drain(m), "1:2");
	CHECK_EQ_INT(m->alarms.table.n, 2);
	CHECK_EQ_INT(m->alarms.table.v[0].kind, ALARM_PE_UNEXPECTED);
	CHECK_EQ_INT(m->alarms.table.v[1].kind, ALARM_PE_MISSING);
	CHECK_EQ_INT(m->alarms.table.v[1].raised, T0 + 10 * S);
	/* Nothing more while nothing changes, however often it is judged. */
	for (int t = 11; t < 100; t += 3)
		at(m, t);
	CHECK_EQ_STR(drain(m), "");
	model_free(m);
}

/* A departed PE whose row is reclaimed before the model judged its departure:
 * its alarm goes with the row and nothing judges the freed row (ASan watches). */
TEST(a_reclaimed_pe_takes_its_alarm_and_leaves_no_pointer_behind)
{
	struct model *m = pe_model(0, 60 * S);
	struct inet_addr gone = A("198.18.0.7"), late = A("198.18.0.8");
	struct vpn *v = vpn_find(m, 1);

	m->settings.max_pes_per_vpn = 3; /* the two expected rows + one */
	hello(m, 0, "198.18.0.7", 5);
	CHECK_EQ_STR(drain(m), "2:7");
	CHECK_EQ_INT(v->n_pe_alarms, 1);
	/* Its hold time passes; the departure is noted but not yet judged... */
	mclock_advance(&m->clock, T0 + 6 * S);
	passive_expire(m, T0 + 6 * S);
	CHECK(pe_find(&v->pes, &gone)->alarm_index != 0);
	/* ...when a new PE needs the room. */
	passive_hello(m, v, &(struct hello_event){.pe = late, .caddr = late, .has_holdtime = true,
						  .holdtime = 105});
	CHECK(pe_find(&v->pes, &gone) == NULL);
	CHECK_EQ_INT(m->alarms.table.n, 0);
	CHECK_EQ_INT(v->n_pe_alarms, 0);
	at(m, 6.5);
	/* .7's alarm is cleared with its row (11); from one mismatch to another:
	 * no match between. */
	CHECK_EQ_STR(drain(m), "11:7 2:8");
	CHECK_EQ_INT(m->alarms.table.n, 1);
	CHECK(inet_addr_eq(&m->alarms.table.v[0].addr, &late));
	CHECK_EQ_INT(v->n_pe_alarms, 1);
	model_free(m);
}

TEST(a_pe_heard_within_the_grace_is_never_reported)
{
	struct model *m = pe_model(0, 60 * S);

	hello(m, 0, "198.18.0.1", 105);
	hello(m, 9, "198.18.0.2", 105);
	at(m, 50);
	CHECK_EQ_STR(drain(m), "");
	CHECK_EQ_INT(m->alarms.table.n, 0);
	model_free(m);
}

TEST(match_is_announced_once_when_every_alarm_of_the_vpn_has_cleared)
{
	struct model *m = pe_model(0, 60 * S);

	hello(m, 0, "198.18.0.1", 105);
	hello(m, 1, "198.18.0.66", 105);
	at(m, 10);
	CHECK_EQ_STR(drain(m), "2:66 1:2");
	hello(m, 20, "198.18.0.2", 105); /* missing clears; the intruder is still there */
	CHECK_EQ_STR(drain(m), "11:2");  /* its own clear, but no match yet */
	CHECK_EQ_INT(m->alarms.table.n, 1);
	hello(m, 30, "198.18.0.66", 0);  /* the intruder says goodbye */
	CHECK_EQ_STR(drain(m), "11:66 3:0");
	CHECK_EQ_INT(m->alarms.table.n, 0);
	at(m, 40);
	CHECK_EQ_STR(drain(m), "");
	model_free(m);
}

TEST(hold_time_expiry_makes_an_expected_pe_missing)
{
	struct model *m = pe_model(0, 60 * S);

	hello(m, 0, "198.18.0.1", 105);
	hello(m, 0.5, "198.18.0.2", 20);
	at(m, 20.4);
	CHECK_EQ_STR(drain(m), "");
	at(m, 20.5);
	CHECK_EQ_STR(drain(m), "1:2");
	hello(m, 21, "198.18.0.2", 20);
	CHECK_EQ_STR(drain(m), "11:2 3:0");
	model_free(m);
}

/*
 * Limit 2 per 10 s.  .2 comes up at each of `ups` and its 1 s hold time has
 * run out when it is next judged, 1.5 s later.  Missing at 10.5 (the grace is
 * over and .2 unheard), 12, 14, 16, 22.5, 24.5, 26; match at each up.  A
 * notice goes if fewer than 2 of its kind went in the 10 s before it:
 * missing 10.5, 12, 22.5, 24.5 go (14, 16, 26 held); match 10.5, 12.5, 21, 23
 * go (14.5, 24.5 held).  Each up also clears the missing alarm, at the
 * match's times: its clears (kind 11) go and are held as the matches are.
 */
TEST(the_rate_limit_is_a_sliding_window_per_kind_and_counts_what_it_holds)
{
	struct model *m = pe_model(2, 10 * S);
	const double ups[] = {10.5, 12.5, 14.5, 21, 23, 24.5};

	hello(m, 0, "198.18.0.1", 1000);
	for (size_t i = 0; i < sizeof(ups) / sizeof(ups[0]); i++) {
		hello(m, ups[i], "198.18.0.2", 1);
		at(m, ups[i] + 1.5);
	}
	CHECK_EQ_STR(drain(m), "1:2 11:2 3:0 1:2 11:2 3:0 11:2 3:0 1:2 11:2 3:0 1:2");
	CHECK_EQ_INT(m->g.notifications_suppressed, 7);
	CHECK_EQ_INT(m->alarms.limiter.suppressed[NOTICE_PE_MISSING], 3);
	CHECK_EQ_INT(m->alarms.limiter.suppressed[NOTICE_VPN_MATCH], 2);
	CHECK_EQ_INT(m->alarms.limiter.suppressed[NOTICE_ALARM_CLEARED], 2);
	/* The alarm table is the truth whatever was sent: .2 is missing now. */
	CHECK_EQ_INT(m->alarms.table.n, 1);
	model_free(m);
}

TEST(a_full_queue_drops_the_oldest_and_counts_it)
{
	struct model *m = pe_model(0, 60 * S);
	struct notice n;

	hello(m, 0, "198.18.0.1", 60000);
	at(m, 10); /* .2 missing: one notice */
	for (int i = 0; i < NOTICE_QUEUE_CAP; i++) {
		hello(m, 11 + i * 2, "198.18.0.2", 1); /* clear and match */
		at(m, 12 + i * 2);                     /* missing */
	}
	CHECK_EQ_INT(m->alarms.queue.len, NOTICE_QUEUE_CAP);
	/* 1 + 3 x CAP notices, the last CAP kept: the first kept is number
	 * 2 CAP + 1 (from 0), the third (the missing) of round (2 CAP) / 3. */
	CHECK_EQ_INT(m->g.notifications_lost, 3 * NOTICE_QUEUE_CAP + 1 - NOTICE_QUEUE_CAP);
	CHECK(notice_pop(&m->alarms, &n));
	CHECK_EQ_INT((2 * NOTICE_QUEUE_CAP) % 3, 2);
	CHECK_EQ_INT(n.kind, NOTICE_PE_MISSING);
	CHECK_EQ_INT(n.at, T0 + (mtime_t)(12 + (2 * NOTICE_QUEUE_CAP / 3) * 2) * S);
	model_free(m);
}

TEST(reconfiguration_drops_alarms_whose_pe_or_vpn_is_gone)
{
	struct model *m = pe_model(0, 60 * S);
	struct inet_addr mdt = A("239.192.0.1"), only = A("198.18.0.1");

	hello(m, 0, "198.18.0.1", 105);
	at(m, 10);
	CHECK_EQ_STR(drain(m), "1:2");
	/* .2 is no longer expected (and was never heard): its row and alarm go. */
	vpn_configure(vpn_find(m, 1), "red", &mdt, &only, 1);
	alarms_reconfigured(m);
	CHECK_EQ_INT(m->alarms.table.n, 0);
	at(m, 11);
	CHECK_EQ_STR(drain(m), "11:2 3:0"); /* the removed alarm's own clear, then the match */
	hello(m, 12, "198.18.0.66", 105);
	CHECK_EQ_STR(drain(m), "2:66");
	CHECK_EQ_INT(m->alarms.table.n, 1);
	vpn_remove(m, 1);
	alarms_reconfigured(m);
	CHECK_EQ_INT(m->alarms.table.n, 0);
	CHECK_EQ_STR(drain(m), "11:66");
	model_free(m);
}

/* A reload that leaves an expected PE as it was leaves its row and its alarm
 * as they were: no clear, no new raise, the same index (it used to delete the
 * row of a PE never heard and raise its alarm again under a new index). */
TEST(a_reload_that_keeps_an_expected_pe_keeps_its_alarm)
{
	struct model *m = pe_model(0, 60 * S);
	struct inet_addr mdt = A("239.192.0.1"), exp[2] = {A("198.18.0.1"), A("198.18.0.2")};

	hello(m, 0, "198.18.0.1", 105);
	at(m, 10);
	CHECK_EQ_STR(drain(m), "1:2"); /* .2, never heard, is missing */
	CHECK_EQ_INT(m->alarms.table.n, 1);
	uint32_t index = m->alarms.table.v[0].index;
	for (int reload = 0; reload < 3; reload++) {
		vpn_configure(vpn_find(m, 1), "red", &mdt, exp, 2);
		alarms_reconfigured(m);
		at(m, 11 + reload);
	}
	CHECK_EQ_STR(drain(m), "");
	CHECK_EQ_INT(m->alarms.table.n, 1);
	CHECK_EQ_INT(m->alarms.table.v[0].index, index);
	model_free(m);
}

TEST(no_capture_means_no_pe_alarms)
{
	struct model *m = pe_model(0, 60 * S);

	m->capture = CAPTURE_OFF;
	at(m, 0);
	at(m, 100);
	CHECK_EQ_STR(drain(m), "");
	model_free(m);
}

/* ---- loss thresholds on a probed pair ---- */

/* One sender (.1) and one receiver (.2), 10 probes a second, a 2 s window. */
static struct model *probed_model(uint32_t rising, uint32_t falling)
{
	struct model *m = model_new(false);
	struct inet_addr mdt = A("239.192.1.1"), s = A("198.18.1.1"), r = A("198.18.1.2");
	struct inet_addr both[2] = {s, r};
	struct probe_settings ps = {.rate = 10, .size = 64, .window = 2, .port = 5010,
				    .igmp_version = 3, .senders = &s, .n_senders = 1,
				    .receivers = &r, .n_receivers = 1};
	struct vpn *v;

	mvpn_log_set_sink(quiet);
	changelog_resize(&m->changes, 1000);
	m->probing.timing = (struct probe_timing){.loss_timeout = 1 * S, .unreachable_time = 5 * S};
	v = vpn_get(m, 1);
	vpn_configure(v, "red", &mdt, both, 2);
	v->thresholds.t[METRIC_LOSS] = (struct threshold){.rising = rising, .falling = falling};
	if (!vpn_probe_configure(m, v, &ps, 1 * S))
		abort();
	return m;
}

static struct pair *the_pair(struct model *m)
{
	struct vpn_probe *vp = vpn_find(m, 1)->probing;
	return vp->pairs[0 * vp->n + 1];
}

/* Sends probes for `seconds` from *t, losing `lost_per_10` of every 10. */
static void probe_for(struct model *m, mtime_t *t, int seconds, int lost_per_10)
{
	struct inet_addr s = A("198.18.1.1"), r = A("198.18.1.2");
	struct vpn_probe *vp = vpn_find(m, 1)->probing;

	for (int i = 0; i < seconds * 10; i++, *t += 100 * MS) {
		uint64_t seq = probing_tx(&m->probing, vp, 0, *t, (int64_t)*t);
		if (i % 10 >= lost_per_10)
			probing_rx(&m->probing, m, 1, &s, seq, &r, (int64_t)*t + 5000000, *t + 5 * MS);
		probing_tick(&m->probing, m, *t);
		alarms_run(m, *t);
	}
}

/* The threshold notices queued; the fault notices that come with them (a
 * single pair over its threshold is its path's fault) are test_locate's. */
static const char *kinds(struct model *m)
{
	static char out[256];
	struct notice n;
	size_t len = 0;

	out[0] = '\0';
	while (notice_pop(&m->alarms, &n) && len < sizeof(out) - 8)
		if (n.kind != NOTICE_FAULT_LOCATED && n.kind != NOTICE_FAULT_CLEARED)
			len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%d", len ? " " : "",
						n.kind);
	return out;
}

TEST(loss_follows_rmon_hysteresis_and_starts_armed_for_rising)
{
	/* rising 30 %, falling 10 %: losses of 0, 5, 2, 0, 5, 4 in 10. */
	struct model *m = probed_model(300000, 100000);
	mtime_t t = 1 * S;

	probe_for(m, &t, 5, 0);
	CHECK_EQ_STR(kinds(m), ""); /* no falling at start, though 0 <= falling */
	probe_for(m, &t, 5, 5);
	CHECK_EQ_STR(kinds(m), "4");
	CHECK_EQ_INT(the_pair(m)->status, PAIR_LOSS_ALARM);
	CHECK_EQ_INT(m->alarms.table.n, 1);
	CHECK(m->alarms.table.v[0].value >= 300000);
	CHECK_EQ_INT(m->alarms.table.v[0].threshold, 300000);
	probe_for(m, &t, 5, 2); /* 20 %: between the thresholds, nothing */
	CHECK_EQ_STR(kinds(m), "");
	probe_for(m, &t, 5, 0);
	CHECK_EQ_STR(kinds(m), "5");
	CHECK_EQ_INT(the_pair(m)->status, PAIR_OK);
	CHECK_EQ_INT(m->alarms.table.n, 0);
	probe_for(m, &t, 5, 4); /* 40 % */
	CHECK_EQ_STR(kinds(m), "4");
	model_free(m);
}

/* "Reaches" and "has fallen to" include equality (RMON: >= rising, <= falling). */
TEST(thresholds_are_crossed_at_equality)
{
	struct model *m = probed_model(300000, 100000);
	mtime_t t = 1 * S;

	probe_for(m, &t, 6, 3); /* exactly 30 % */
	CHECK_EQ_STR(kinds(m), "4");
	CHECK_EQ_INT(m->alarms.table.v[0].value, 300000);
	probe_for(m, &t, 6, 1); /* exactly 10 % */
	CHECK_EQ_STR(kinds(m), "5");
	model_free(m);
}

TEST(a_pair_is_not_judged_before_its_window_has_filled)
{
	struct model *m = probed_model(300000, 100000);
	mtime_t t = 1 * S;

	/* All lost from the start: the window fills at 1 + 2 + 1 s (timeout). */
	probe_for(m, &t, 2, 10);
	CHECK_EQ_STR(kinds(m), "");
	probe_for(m, &t, 2, 10);
	CHECK_EQ_STR(kinds(m), "4");
	model_free(m);
}

TEST(thresholds_switched_off_by_a_reload_clear_their_alarms_with_a_clear)
{
	struct model *m = probed_model(300000, 100000);
	mtime_t t = 1 * S;

	probe_for(m, &t, 6, 6);
	CHECK_EQ_STR(kinds(m), "4");
	vpn_find(m, 1)->thresholds.t[METRIC_LOSS].rising = 0;
	alarms_reconfigured(m);
	CHECK_EQ_INT(m->alarms.table.n, 0);
	CHECK_EQ_STR(kinds(m), "11");
	probe_for(m, &t, 2, 6);
	CHECK_EQ_STR(kinds(m), "");
	CHECK_EQ_INT(the_pair(m)->status, PAIR_OK);
	model_free(m);
}

UNIT_MAIN("alarms", T(missing_waits_for_the_grace_but_unexpected_does_not),
	  T(every_notice_of_an_alarm_carries_its_index_and_text_and_its_clear_the_same),
	  T(alarm_indexes_of_a_later_run_start_past_an_earlier_runs),
	  T(a_pe_heard_within_the_grace_is_never_reported),
	  T(a_reclaimed_pe_takes_its_alarm_and_leaves_no_pointer_behind),
	  T(match_is_announced_once_when_every_alarm_of_the_vpn_has_cleared),
	  T(hold_time_expiry_makes_an_expected_pe_missing),
	  T(the_rate_limit_is_a_sliding_window_per_kind_and_counts_what_it_holds),
	  T(a_full_queue_drops_the_oldest_and_counts_it),
	  T(reconfiguration_drops_alarms_whose_pe_or_vpn_is_gone),
	  T(a_reload_that_keeps_an_expected_pe_keeps_its_alarm),
	  T(no_capture_means_no_pe_alarms),
	  T(loss_follows_rmon_hysteresis_and_starts_armed_for_rising),
	  T(thresholds_are_crossed_at_equality),
	  T(a_pair_is_not_judged_before_its_window_has_filled),
	  T(thresholds_switched_off_by_a_reload_clear_their_alarms_with_a_clear))
