/* mib/faultloc on hand-made windows: which pairs moved together for delay
 * and jitter, "nearly all" of a PE's pairs, the monitor link only with the
 * echoes, residual paths, thresholds not judged, and since across runs. */
#include "unit.h"

#include "../../mib/faultloc.h"

#define S MTIME_SEC
#define MAXPE 12

struct window {
	size_t n;
	struct inet_addr pes[MAXPE];
	uint8_t roles[MAXPE];
	struct faultloc_pair pairs[MAXPE * MAXPE];
	struct faultloc_echo echo[MAXPE];
	struct thresholds th;
	struct tomo_result tomo;
	struct tomo_estimate sender[MAXPE], receiver[MAXPE], path[MAXPE * MAXPE];
};

/* n PEs, each a sender and a receiver; every metric judged at `base`. */
static void window_init(struct window *w, size_t n, uint32_t base)
{
	memset(w, 0, sizeof(*w));
	w->n = n;
	for (size_t k = 0; k < n; k++) {
		w->pes[k] = (struct inet_addr){.type = INET_IPV4, .bytes = {198, 18, 0, (uint8_t)(k + 1)}};
		w->roles[k] = TOMO_SENDER | TOMO_RECEIVER;
		w->echo[k] = (struct faultloc_echo){60, 60};
		for (size_t j = 0; j < n; j++)
			if (j != k)
				w->pairs[k * n + j] = (struct faultloc_pair){
					.have = {true, true, true}, .value = {0, base, 500}};
	}
	w->th.t[METRIC_LOSS].rising = 20000;
	w->th.t[METRIC_DELAY].rising = 25000;
	w->th.t[METRIC_JITTER].rising = 5000;
	w->tomo = (struct tomo_result){.n = n, .sender = w->sender, .receiver = w->receiver,
				       .path = w->path};
	for (size_t x = 0; x < n * n; x++)
		w->path[x] = (struct tomo_estimate){.status = TOMO_OK, .high_ppm = 3000};
	for (size_t k = 0; k < n; k++)
		w->sender[k] = w->receiver[k] = w->path[0];
}

static struct faultloc_input input(const struct window *w, bool tomo, bool echo)
{
	return (struct faultloc_input){.n = w->n, .pes = w->pes, .roles = w->roles,
				       .pairs = w->pairs, .th = &w->th,
				       .tomo = tomo ? &w->tomo : NULL, .echo = echo ? w->echo : NULL};
}

static void set(struct window *w, size_t i, size_t j, enum metric k, uint32_t v)
{
	w->pairs[i * w->n + j].value[k] = v;
}

TEST(jitter_on_every_pair_from_one_pe_is_its_sender_side)
{
	struct window w;
	struct faultloc f;
	struct faultloc_input in;

	window_init(&w, 4, 500);
	for (size_t j = 0; j < 4; j++)
		if (j != 1)
			set(&w, 1, j, METRIC_JITTER, 8000 + 100 * (uint32_t)j);
	in = input(&w, true, true);
	faultloc_init(&f);
	CHECK(faultloc_run(&f, &in, 10 * S));
	CHECK_EQ_INT(f.n, 1);
	CHECK_EQ_INT(f.v[0].metric, METRIC_JITTER);
	CHECK_EQ_INT(f.v[0].kind, FAULT_SENDER_SIDE);
	CHECK_EQ_INT(f.v[0].pe, 1);
	CHECK(inet_addr_eq(&f.v[0].pe_addr, &w.pes[1]));
	CHECK_EQ_INT(f.v[0].pairs, 3);
	CHECK_EQ_INT(f.v[0].shift_us, 7500 + 200); /* median of 7500, 7700, 7800 */
	CHECK_EQ_INT(f.v[0].flags, 0);
	faultloc_free(&f);
}

TEST(delay_on_every_pair_into_one_pe_is_its_receiver_side)
{
	struct window w;
	struct faultloc f;
	struct faultloc_input in;

	window_init(&w, 5, 10000);
	for (size_t i = 0; i < 5; i++)
		if (i != 3)
			set(&w, i, 3, METRIC_DELAY, 40000);
	set(&w, 0, 1, METRIC_DELAY, 30000); /* and one path on its own */
	in = input(&w, true, true);
	faultloc_init(&f);
	CHECK(faultloc_run(&f, &in, 10 * S));
	CHECK_EQ_INT(f.n, 2);
	CHECK_EQ_INT(f.v[0].kind, FAULT_RECEIVER_SIDE);
	CHECK_EQ_INT(f.v[0].pe, 3);
	CHECK_EQ_INT(f.v[0].shift_us, 30000);
	CHECK_EQ_INT(f.v[1].kind, FAULT_PATH);
	CHECK_EQ_INT(f.v[1].pe, 0);
	CHECK_EQ_INT(f.v[1].peer, 1);
	CHECK_EQ_INT(f.v[1].shift_us, 20000);
	faultloc_free(&f);
}

TEST(nearly_all_is_all_but_one_in_ten)
{
	struct window w;
	struct faultloc f;
	struct faultloc_input in;

	window_init(&w, 12, 10000);
	for (size_t j = 1; j < 12; j++)
		set(&w, 0, j, METRIC_DELAY, j == 5 ? 24000 : 40000); /* 10 of 11 moved */
	in = input(&w, true, true);
	faultloc_init(&f);
	CHECK(faultloc_run(&f, &in, 10 * S));
	CHECK_EQ_INT(f.n, 1);
	CHECK_EQ_INT(f.v[0].kind, FAULT_SENDER_SIDE);
	CHECK_EQ_INT(f.v[0].pairs, 10);
	set(&w, 0, 6, METRIC_DELAY, 24000); /* 9 of 11: paths */
	CHECK(faultloc_run(&f, &in, 20 * S));
	CHECK_EQ_INT(f.n, 9);
	for (size_t x = 0; x < f.n; x++)
		CHECK_EQ_INT(f.v[x].kind, FAULT_PATH);
	faultloc_free(&f);
}

/* Every side lossy, every pair over: the monitor's link if the echoes lose too. */
static void everything_lossy(struct window *w)
{
	window_init(w, 4, 10000);
	for (size_t k = 0; k < 4; k++) {
		w->sender[k] = w->receiver[k] =
			(struct tomo_estimate){TOMO_OK, 30000, 25000, 35000};
		for (size_t j = 0; j < 4; j++)
			if (j != k)
				set(w, k, j, METRIC_LOSS, 59000);
	}
}

TEST(monitor_link_needs_the_echoes_to_lose_together)
{
	struct window w;
	struct faultloc f;
	struct faultloc_input in;

	everything_lossy(&w);
	for (size_t k = 0; k < 4; k++)
		w.echo[k] = (struct faultloc_echo){60, k == 2 ? 60 : 56}; /* one of them clean */
	in = input(&w, true, true);
	faultloc_init(&f);
	CHECK(faultloc_run(&f, &in, 10 * S));
	CHECK_EQ_INT(f.n, 1);
	CHECK_EQ_INT(f.v[0].kind, FAULT_MONITOR_LINK);
	CHECK_EQ_INT(f.v[0].loss_ppm, 50000); /* 12 of 240 */
	CHECK(f.v[0].low_ppm > 20000 / 3 && f.v[0].high_ppm > 50000);
	CHECK_EQ_INT(f.v[0].pairs, 12);
	CHECK(f.unreliable);
	/* 0 of 60 is no proof a tunnel is clean; 0 of 6,000 is */
	w.echo[2] = (struct faultloc_echo){6000, 6000};
	CHECK(faultloc_run(&f, &in, 20 * S));
	CHECK(!f.unreliable);
	CHECK_EQ_INT(f.n, 4); /* then four sender sides explain every pair */
	CHECK_EQ_INT(f.v[0].kind, FAULT_SENDER_SIDE);
	/* without echoes, the same */
	in = input(&w, true, false);
	CHECK(faultloc_run(&f, &in, 30 * S));
	CHECK(!f.unreliable);
	CHECK_EQ_INT(f.n, 4);
	faultloc_free(&f);
}

TEST(a_side_below_the_share_is_not_blamed)
{
	struct window w;
	struct faultloc f;
	struct faultloc_input in;

	window_init(&w, 4, 10000);
	for (size_t j = 1; j < 4; j++)
		set(&w, 0, j, METRIC_LOSS, 30000);
	w.sender[0] = (struct tomo_estimate){TOMO_OK, 8000, 5000, 11000}; /* low under 6,666 */
	w.path[0 * 4 + 1] = (struct tomo_estimate){TOMO_OK, 22000, 15000, 29000};
	in = input(&w, true, true);
	faultloc_init(&f);
	CHECK(faultloc_run(&f, &in, 10 * S));
	CHECK_EQ_INT(f.n, 3);
	CHECK_EQ_INT(f.v[0].kind, FAULT_PATH);
	CHECK_EQ_INT(f.v[0].flags, 0); /* its own estimate is above the share */
	CHECK_EQ_INT(f.v[0].loss_ppm, 22000);
	CHECK_EQ_INT(f.v[1].flags, FAULT_RESIDUAL);
	CHECK_EQ_INT(f.v[2].flags, FAULT_RESIDUAL);
	/* without estimates, by pattern only: the sender side */
	in = input(&w, false, true);
	CHECK(faultloc_run(&f, &in, 20 * S));
	CHECK_EQ_INT(f.n, 1);
	CHECK_EQ_INT(f.v[0].kind, FAULT_SENDER_SIDE);
	CHECK_EQ_INT(f.v[0].high_ppm, 1000000);
	faultloc_free(&f);
}

TEST(unjudged_metrics_and_pairs_locate_nothing)
{
	struct window w;
	struct faultloc f;
	struct faultloc_input in;

	window_init(&w, 3, 90000); /* every delay far over */
	for (size_t x = 0; x < 9; x++)
		w.pairs[x].value[METRIC_JITTER] = 90000; /* and every jitter */
	w.th.t[METRIC_DELAY].rising = 0;
	for (size_t x = 0; x < 9; x++)
		w.pairs[x].have[METRIC_JITTER] = false;
	in = input(&w, true, true);
	faultloc_init(&f);
	CHECK(faultloc_run(&f, &in, 10 * S));
	CHECK_EQ_INT(f.n, 0);
	CHECK(!f.unreliable);
	faultloc_free(&f);
}

TEST(since_is_kept_while_the_fault_stays)
{
	struct window w;
	struct faultloc f;
	struct faultloc_input in;

	window_init(&w, 3, 10000);
	set(&w, 2, 0, METRIC_DELAY, 50000);
	in = input(&w, true, true);
	faultloc_init(&f);
	CHECK(faultloc_run(&f, &in, 10 * S));
	CHECK(faultloc_run(&f, &in, 70 * S));
	CHECK_EQ_INT(f.n, 1);
	CHECK_EQ_INT(f.v[0].since, 10 * S);
	set(&w, 2, 0, METRIC_DELAY, 10000);
	CHECK(faultloc_run(&f, &in, 130 * S));
	CHECK_EQ_INT(f.n, 0);
	set(&w, 2, 0, METRIC_DELAY, 50000);
	CHECK(faultloc_run(&f, &in, 190 * S));
	CHECK_EQ_INT(f.v[0].since, 190 * S);
	faultloc_reset(&f);
	CHECK(faultloc_run(&f, &in, 250 * S));
	CHECK_EQ_INT(f.v[0].since, 250 * S);
	faultloc_free(&f);
}

UNIT_MAIN("faultloc", T(jitter_on_every_pair_from_one_pe_is_its_sender_side),
	  T(delay_on_every_pair_into_one_pe_is_its_receiver_side),
	  T(nearly_all_is_all_but_one_in_ten), T(monitor_link_needs_the_echoes_to_lose_together),
	  T(a_side_below_the_share_is_not_blamed), T(unjudged_metrics_and_pairs_locate_nothing),
	  T(since_is_kept_while_the_fault_stays))
