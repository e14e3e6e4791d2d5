/* mib/probing: per-pair accounting of probes (loss, duplicates, reordering,
 * late and forged sequences), tunnel echoes, the VMScope correction, status
 * changes, reconfiguration that keeps what stays, and the pair table order. */
#include "unit.h"

#include <stdlib.h>

#include "../../mib/model.h"

#define S MTIME_SEC
#define MS (MTIME_SEC / 1000)

static struct inet_addr A(const char *text)
{
	struct inet_addr a;
	if (!inet_addr_parse(&a, text))
		abort();
	return a;
}

static const struct inet_addr *pes3(void)
{
	static struct inet_addr v[3];
	v[0] = A("198.18.1.1"), v[1] = A("198.18.1.2"), v[2] = A("198.18.1.3");
	return v;
}

static struct probe_settings settings(const struct inet_addr *pes, size_t n, uint32_t rate)
{
	return (struct probe_settings){.rate = rate, .size = 64, .window = 60, .port = 5010,
				       .igmp_version = 3, .senders = pes, .n_senders = n,
				       .receivers = pes, .n_receivers = n};
}

/* A live-clock model whose time the test sets by hand through `now` arguments. */
static struct model *probed_model(uint32_t rate)
{
	struct model *m = model_new(false);
	struct inet_addr mdt = A("239.192.1.1");
	struct probe_settings s = settings(pes3(), 3, rate);

	changelog_resize(&m->changes, 100);
	m->probing.timing = (struct probe_timing){.loss_timeout = 2 * S, .unreachable_time = 5 * S};
	vpn_configure(vpn_get(m, 1), "red", &mdt, pes3(), 3);
	if (!vpn_probe_configure(m, vpn_find(m, 1), &s, 1 * S))
		abort();
	return m;
}

static struct pair *pair_of(struct model *m, const char *src, const char *dst)
{
	struct vpn_probe *vp = vpn_find(m, 1)->probing;
	long i = vpn_probe_pe_index(vp, &(struct inet_addr){0});
	struct inet_addr a = A(src), b = A(dst);

	(void)i;
	i = vpn_probe_pe_index(vp, &a);
	long j = vpn_probe_pe_index(vp, &b);
	return i < 0 || j < 0 ? NULL : vp->pairs[(size_t)i * vp->n + (size_t)j];
}

/* Sender position of a PE. */
static size_t sender(struct model *m, const char *pe)
{
	struct inet_addr a = A(pe);
	return (size_t)vpn_probe_pe_index(vpn_find(m, 1)->probing, &a);
}

/* Wall-clock stamps: the test uses ms since an arbitrary epoch. */
static int64_t wall(int64_t ms)
{
	return 1700000000000000000ll + ms * 1000000;
}

static enum probe_rx_result rx(struct model *m, const char *from, uint64_t seq, const char *to,
			       int64_t wall_ms, mtime_t now)
{
	struct inet_addr s = A(from), r = A(to);
	return probing_rx(&m->probing, m, 1, &s, seq, &r, wall(wall_ms), now);
}

TEST(every_ordered_pair_exists_and_none_to_itself)
{
	struct model *m = probed_model(10);
	struct vpn_probe *vp = vpn_find(m, 1)->probing;
	int pairs = 0;

	for (size_t i = 0; i < vp->n * vp->n; i++)
		pairs += vp->pairs[i] != NULL;
	CHECK_EQ_INT(pairs, 6);
	CHECK(pair_of(m, "198.18.1.1", "198.18.1.1") == NULL);
	CHECK(pair_of(m, "198.18.1.3", "198.18.1.1") != NULL);
	model_free(m);
}

TEST(loss_is_decided_after_the_timeout_and_only_for_the_missing_receiver)
{
	struct model *m = probed_model(10);
	struct vpn_probe *vp = vpn_find(m, 1)->probing;
	size_t a = sender(m, "198.18.1.1");

	for (int k = 0; k < 10; k++) /* seq 1..10 at t = 1.0, 1.1, ... */
		probing_tx(&m->probing, vp, a, 1 * S + (mtime_t)k * 100 * MS, wall(k * 100));
	for (uint64_t seq = 1; seq <= 10; seq++) {
		/* .2 gets everything, .3 misses 4 and 7 */
		CHECK_EQ_INT(rx(m, "198.18.1.1", seq, "198.18.1.2", (int64_t)(seq - 1) * 100 + 20, 2 * S),
			     PROBE_RX_OK);
		if (seq != 4 && seq != 7)
			CHECK_EQ_INT(rx(m, "198.18.1.1", seq, "198.18.1.3",
					(int64_t)(seq - 1) * 100 + 30, 2 * S),
				     PROBE_RX_OK);
	}
	struct pair *p12 = pair_of(m, "198.18.1.1", "198.18.1.2");
	struct pair *p13 = pair_of(m, "198.18.1.1", "198.18.1.3");
	probing_tick(&m->probing, m, 3 * S + 350 * MS); /* seq 1..4 are past 2 s */
	CHECK_EQ_INT(p13->lost, 1);
	CHECK_EQ_INT(p12->lost, 0);
	probing_tick(&m->probing, m, 10 * S);
	CHECK_EQ_INT(p13->lost, 2);
	CHECK_EQ_INT(p13->received, 8);
	CHECK_EQ_INT(p13->sent, 10);
	CHECK_EQ_INT(p12->received, 10);
	const struct pair_figures *f = pair_figures(&m->probing, p13, 10 * S);
	CHECK_EQ_INT(f->window_sent, 10);
	CHECK_EQ_INT(f->window_received, 8);
	CHECK_EQ_INT(f->loss_ppm, 200000);
	CHECK_EQ_INT(f->window.avg_ns, 30 * MS);
	model_free(m);
}

/* A sender stalled between taking a sequence and sending it: the loss timeout
 * runs from the send, so the reply that comes soon after it is no loss. */
TEST(the_loss_timeout_runs_from_the_send_not_from_the_sequence)
{
	struct model *m = probed_model(10);
	struct vpn_probe *vp = vpn_find(m, 1)->probing;
	size_t a = sender(m, "198.18.1.1");
	struct pair *p12 = pair_of(m, "198.18.1.1", "198.18.1.2");

	uint64_t seq = probing_tx(&m->probing, vp, a, 1 * S, wall(0));
	probing_tx_sent(vp, a, seq, 2500 * MS); /* stalled 1.5 s before the send */
	probing_tick(&m->probing, m, 3200 * MS);  /* 2.2 s after the sequence, 0.7 s after the send */
	CHECK_EQ_INT(p12->lost, 0);
	CHECK_EQ_INT(rx(m, "198.18.1.1", seq, "198.18.1.2", 1520, 3300 * MS), PROBE_RX_OK);
	probing_tick(&m->probing, m, 10 * S);
	CHECK_EQ_INT(p12->lost, 0);
	CHECK_EQ_INT(p12->received, 1);
	/* Without the send time, the same tick would have judged it lost. */
	seq = probing_tx(&m->probing, vp, a, 11 * S, wall(10000));
	probing_tick(&m->probing, m, 13200 * MS);
	CHECK_EQ_INT(p12->lost, 1);
	model_free(m);
}

TEST(duplicates_reordering_late_and_forged_sequences)
{
	struct model *m = probed_model(10);
	struct vpn_probe *vp = vpn_find(m, 1)->probing;
	size_t a = sender(m, "198.18.1.1");

	for (int k = 0; k < 5; k++)
		probing_tx(&m->probing, vp, a, 1 * S, wall(0));
	CHECK_EQ_INT(rx(m, "198.18.1.1", 2, "198.18.1.2", 5, 1 * S), PROBE_RX_OK);
	CHECK_EQ_INT(rx(m, "198.18.1.1", 1, "198.18.1.2", 5, 1 * S), PROBE_RX_OK); /* reordered */
	CHECK_EQ_INT(rx(m, "198.18.1.1", 2, "198.18.1.2", 5, 1 * S), PROBE_RX_DUPLICATE);
	CHECK_EQ_INT(rx(m, "198.18.1.1", 6, "198.18.1.2", 5, 1 * S), PROBE_RX_OUT_OF_WINDOW);
	CHECK_EQ_INT(rx(m, "198.18.1.1", 0, "198.18.1.2", 5, 1 * S), PROBE_RX_OUT_OF_WINDOW);
	CHECK_EQ_INT(rx(m, "198.18.1.1", 1ull << 40, "198.18.1.2", 5, 1 * S), PROBE_RX_OUT_OF_WINDOW);
	CHECK_EQ_INT(rx(m, "198.18.1.9", 1, "198.18.1.2", 5, 1 * S), PROBE_RX_UNKNOWN_SENDER);
	CHECK_EQ_INT(rx(m, "198.18.1.1", 1, "198.18.1.9", 5, 1 * S), PROBE_RX_UNKNOWN_RECEIVER);
	CHECK_EQ_INT(rx(m, "198.18.1.1", 1, "198.18.1.1", 5, 1 * S), PROBE_RX_UNKNOWN_RECEIVER);
	struct inet_addr s = A("198.18.1.1"), r = A("198.18.1.2");
	CHECK_EQ_INT(probing_rx(&m->probing, m, 99, &s, 1, &r, wall(5), 1 * S), PROBE_RX_UNKNOWN_VPN);
	probing_tick(&m->probing, m, 4 * S); /* 3, 4, 5 lost */
	CHECK_EQ_INT(rx(m, "198.18.1.1", 3, "198.18.1.2", 3000, 4 * S), PROBE_RX_LATE);
	struct pair *p = pair_of(m, "198.18.1.1", "198.18.1.2");
	CHECK_EQ_INT(p->received, 2);
	CHECK_EQ_INT(p->reordered, 1);
	CHECK_EQ_INT(p->duplicates, 1);
	CHECK_EQ_INT(p->lost, 3);
	CHECK_EQ_INT(p->late, 1);
	CHECK_EQ_INT(m->probing.rx_result[PROBE_RX_OUT_OF_WINDOW], 3);
	model_free(m);
}

TEST(a_ring_overrun_sequence_is_out_of_window)
{
	struct model *m = probed_model(10);
	struct vpn_probe *vp = vpn_find(m, 1)->probing;
	size_t a = sender(m, "198.18.1.1");
	size_t cap = vp->streams[a].cap;

	for (size_t k = 0; k < cap + 3; k++)
		probing_tx(&m->probing, vp, a, 1 * S, wall(0));
	/* seq 1 shares its slot with seq cap + 1: the slot no longer holds it. */
	CHECK_EQ_INT(rx(m, "198.18.1.1", 1, "198.18.1.2", 1, 1 * S), PROBE_RX_OUT_OF_WINDOW);
	CHECK_EQ_INT(rx(m, "198.18.1.1", cap + 1, "198.18.1.2", 1, 1 * S), PROBE_RX_OK);
	model_free(m);
}

/* Tunnel i: round trip rtt_ms through echoes sent at `at`. */
static void echoes(struct model *m, const char *pe, int64_t rtt_ms, int n, mtime_t at)
{
	struct inet_addr a = A(pe);
	struct tunnel *t = tunnel_find(&m->probing.tunnels, &a);
	for (int k = 0; k < n; k++) {
		uint16_t seq = (uint16_t)(t->echo_sent + 1);
		tunnel_echo_sent(t, seq, at, wall(k * 10));
		tunnel_echo_reply(t, seq, wall(k * 10 + rtt_ms), at);
	}
}

static void want_tunnels(struct model *m)
{
	struct inet_addr local = A("198.18.1.254");

	probing_tunnels_begin(&m->probing);
	for (int i = 0; i < 3; i++)
		probing_tunnel_want(&m->probing, &pes3()[i], &local, &pes3()[i], 60 * S, 1 * S);
	probing_tunnels_end(&m->probing);
}

TEST(correction_subtracts_half_of_each_tunnel_round_trip)
{
	struct model *m = probed_model(10);
	struct vpn_probe *vp = vpn_find(m, 1)->probing;
	size_t a = sender(m, "198.18.1.1");

	want_tunnels(m);
	echoes(m, "198.18.1.1", 10, 4, 1 * S); /* 5 ms each way */
	echoes(m, "198.18.1.2", 30, 4, 1 * S); /* 15 ms each way */
	probing_tx(&m->probing, vp, a, 1 * S, wall(0));
	/* pair delay 20 ms + tunnels 5 + 15 = 40 ms raw */
	CHECK_EQ_INT(rx(m, "198.18.1.1", 1, "198.18.1.2", 40, 1 * S), PROBE_RX_OK);
	const struct pair_figures *f = pair_figures(&m->probing, pair_of(m, "198.18.1.1", "198.18.1.2"),
						    2 * S);
	CHECK(f->have_correction);
	CHECK_EQ_INT(f->window.avg_ns, 40 * MS);
	CHECK_EQ_INT(f->window.avg_ns - f->correction_ns, 20 * MS);
	CHECK(f->have_total_correction);
	CHECK_EQ_INT(f->total.avg_ns - f->total_correction_ns, 20 * MS);
	model_free(m);
}

/* The demo's settings (issue 11): probes at 20/s over a 5 s window, echoes
 * every 200 ms.  A tunnel's echo window spans max(60 s, the pair window), so
 * 300 round trips outnumber the largest pair window (189 samples); the shared
 * scratch must be sized for them too (it was not: a heap overflow at 39 s). */
TEST(a_tunnel_window_larger_than_every_pair_window_is_summarised_whole)
{
	struct model *m = model_new(false);
	struct inet_addr mdt = A("239.192.1.1"), local = A("198.18.1.254"), a = A("198.18.1.1");
	struct probe_settings s = settings(pes3(), 3, 20);
	struct delay_summary sum;

	s.window = 5;
	vpn_configure(vpn_get(m, 1), "red", &mdt, pes3(), 3);
	CHECK(vpn_probe_configure(m, vpn_find(m, 1), &s, 1 * S));
	probing_tunnels_begin(&m->probing);
	for (int i = 0; i < 3; i++)
		probing_tunnel_want(&m->probing, &pes3()[i], &local, &pes3()[i], 60 * S, 1 * S);
	probing_tunnels_end(&m->probing);
	struct tunnel *t = tunnel_find(&m->probing.tunnels, &a);
	for (int k = 0; k < 300; k++) {
		mtime_t at = 1 * S + (mtime_t)k * 200 * MS;
		tunnel_echo_sent(t, (uint16_t)(k + 1), at, wall(k * 200));
		tunnel_echo_reply(t, (uint16_t)(k + 1), wall(k * 200 + 2 + k % 3), at);
	}
	CHECK_EQ_INT(t->rtt.len, 300);
	CHECK(m->probing.scratch_len >= t->rtt.cap);
	CHECK(probing_window_summary(&m->probing, &t->rtt, &sum));
	CHECK_EQ_INT(sum.count, 300);
	CHECK_EQ_INT(sum.min_ns, 2 * MS);
	CHECK_EQ_INT(sum.max_ns, 4 * MS);
	CHECK_EQ_INT(sum.avg_ns, 3 * MS);
	model_free(m);
}

TEST(loss_correction_divides_out_the_tunnels_one_way_loss)
{
	struct model *m = probed_model(100);
	struct vpn_probe *vp = vpn_find(m, 1)->probing;
	size_t a = sender(m, "198.18.1.1");
	struct inet_addr pe1 = A("198.18.1.1");
	struct tunnel *t1;

	want_tunnels(m);
	t1 = tunnel_find(&m->probing.tunnels, &pe1);
	/* tunnel .1 answers 81 of 100 echoes: 0.9 one way; tunnel .2 all of them */
	for (int k = 0; k < 100; k++) {
		tunnel_echo_sent(t1, (uint16_t)(k + 1), 1 * S, wall(0));
		if (k < 81)
			tunnel_echo_reply(t1, (uint16_t)(k + 1), wall(1), 1 * S);
	}
	echoes(m, "198.18.1.2", 2, 100, 1 * S);
	/* the pair gets 72 of 100: 0.72 = 0.9 x 0.8, so 20 % is inside the VPN */
	for (int k = 0; k < 100; k++)
		probing_tx(&m->probing, vp, a, 1 * S, wall(0));
	for (uint64_t seq = 1; seq <= 72; seq++)
		rx(m, "198.18.1.1", seq, "198.18.1.2", 3, 1 * S);
	probing_tick(&m->probing, m, 4 * S);
	const struct pair_figures *f = pair_figures(&m->probing, pair_of(m, "198.18.1.1", "198.18.1.2"),
						    4 * S);
	CHECK_EQ_INT(f->loss_ppm, 280000);
	CHECK_EQ_INT(f->corr_loss_ppm, 200000);
	model_free(m);
}

TEST(status_goes_starting_ok_unreachable_ok_and_is_logged)
{
	struct model *m = probed_model(10);
	struct vpn_probe *vp = vpn_find(m, 1)->probing;
	size_t a = sender(m, "198.18.1.1");
	struct pair *p = pair_of(m, "198.18.1.1", "198.18.1.2");
	uint32_t before = m->changes.count;

	CHECK_EQ_INT(p->status, PAIR_STARTING);
	probing_tx(&m->probing, vp, a, 1 * S, wall(0));
	rx(m, "198.18.1.1", 1, "198.18.1.2", 3, 1 * S);
	probing_tick(&m->probing, m, 1 * S + 100 * MS);
	CHECK_EQ_INT(p->status, PAIR_OK);
	for (int k = 1; k <= 7; k++) { /* sent, never back */
		probing_tx(&m->probing, vp, a, (1 + (mtime_t)k) * S, wall(k * 1000));
		probing_tick(&m->probing, m, (1 + (mtime_t)k) * S);
	}
	CHECK_EQ_INT(p->status, PAIR_UNREACHABLE);
	probing_tx(&m->probing, vp, a, 9 * S, wall(8000));
	rx(m, "198.18.1.1", 9, "198.18.1.2", 8003, 9 * S);
	probing_tick(&m->probing, m, 9 * S);
	CHECK_EQ_INT(p->status, PAIR_OK);
	CHECK_EQ_INT(p->changes, 3);
	CHECK(m->changes.count >= before + 3);
	model_free(m);
}

TEST(a_tunnel_that_never_answers_is_unreachable)
{
	struct model *m = probed_model(10);
	struct inet_addr pe1 = A("198.18.1.1");
	struct tunnel *t;

	want_tunnels(m);
	t = tunnel_find(&m->probing.tunnels, &pe1);
	for (int k = 0; k < 7; k++) {
		tunnel_echo_sent(t, (uint16_t)(k + 1), (1 + (mtime_t)k) * S, wall(k * 1000));
		probing_tick(&m->probing, m, (1 + (mtime_t)k) * S);
	}
	CHECK_EQ_INT(t->status, TUNNEL_UNREACHABLE);
	CHECK_EQ_INT(outcome_loss_ppm(&t->outcomes), 1000000);
	model_free(m);
}

TEST(reconfiguring_keeps_pairs_that_stay_and_drops_the_rest)
{
	struct model *m = probed_model(10);
	struct vpn_probe *vp = vpn_find(m, 1)->probing;
	size_t a = sender(m, "198.18.1.1");
	struct inet_addr two[] = {A("198.18.1.1"), A("198.18.1.2")};
	struct probe_settings s = settings(two, 2, 10);

	probing_tx(&m->probing, vp, a, 1 * S, wall(0));
	rx(m, "198.18.1.1", 1, "198.18.1.2", 3, 1 * S);
	CHECK(vpn_probe_configure(m, vpn_find(m, 1), &s, 2 * S));
	struct pair *p = pair_of(m, "198.18.1.1", "198.18.1.2");
	CHECK(p != NULL);
	CHECK_EQ_INT(p->received, 1);
	CHECK(pair_of(m, "198.18.1.1", "198.18.1.3") == NULL);
	/* the sender's stream went with its pairs: seq 2 is next */
	CHECK_EQ_INT(probing_tx(&m->probing, vpn_find(m, 1)->probing, sender(m, "198.18.1.1"), 2 * S,
				wall(1000)),
		     2);
	/* a new rate is a new measurement */
	s.rate = 20;
	CHECK(vpn_probe_configure(m, vpn_find(m, 1), &s, 3 * S));
	CHECK_EQ_INT(pair_of(m, "198.18.1.1", "198.18.1.2")->received, 0);
	CHECK(vpn_probe_configure(m, vpn_find(m, 1), NULL, 3 * S));
	CHECK(vpn_find(m, 1)->probing == NULL);
	model_free(m);
}

TEST(pairs_seek_in_oid_order)
{
	struct model *m = probed_model(10);
	struct vpn_probe *vp = vpn_find(m, 1)->probing;
	struct oidx prev = {0}, cur;
	const struct pair *p = pair_seek(vp, NULL, 0, false);
	int n = 0;

	while (p) {
		oidx_reset(&cur);
		pair_oidx(p, &cur);
		CHECK(n == 0 || oidx_cmp(prev.sub, prev.len, cur.sub, cur.len) < 0);
		/* a GET of the row's own index finds it; GETNEXT finds the next */
		CHECK(pair_seek(vp, cur.sub, cur.len, false) == p);
		prev = cur;
		p = pair_seek(vp, cur.sub, cur.len, true);
		n++;
	}
	CHECK_EQ_INT(n, 6);
	model_free(m);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"every_ordered_pair_exists_and_none_to_itself",
		 every_ordered_pair_exists_and_none_to_itself},
		{"loss_is_decided_after_the_timeout_and_only_for_the_missing_receiver",
		 loss_is_decided_after_the_timeout_and_only_for_the_missing_receiver},
		{"duplicates_reordering_late_and_forged_sequences",
		 duplicates_reordering_late_and_forged_sequences},
		{"a_ring_overrun_sequence_is_out_of_window", a_ring_overrun_sequence_is_out_of_window},
		{"correction_subtracts_half_of_each_tunnel_round_trip",
		 correction_subtracts_half_of_each_tunnel_round_trip},
		{"a_tunnel_window_larger_than_every_pair_window_is_summarised_whole",
		 a_tunnel_window_larger_than_every_pair_window_is_summarised_whole},
		{"loss_correction_divides_out_the_tunnels_one_way_loss",
		 loss_correction_divides_out_the_tunnels_one_way_loss},
		{"status_goes_starting_ok_unreachable_ok_and_is_logged",
		 status_goes_starting_ok_unreachable_ok_and_is_logged},
		{"a_tunnel_that_never_answers_is_unreachable", a_tunnel_that_never_answers_is_unreachable},
		{"reconfiguring_keeps_pairs_that_stay_and_drops_the_rest",
		 reconfiguring_keeps_pairs_that_stay_and_drops_the_rest},
		{"pairs_seek_in_oid_order", pairs_seek_in_oid_order},
		{"the_loss_timeout_runs_from_the_send_not_from_the_sequence",
		 the_loss_timeout_runs_from_the_send_not_from_the_sequence},
	};
	return unit_main("probing", tests, sizeof(tests) / sizeof(tests[0]));
}
