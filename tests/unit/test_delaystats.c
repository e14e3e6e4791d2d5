/* mib/delaystats: every window figure against a brute-force reference, the
 * since-start summary against exact figures and the histogram's error bound. */
#include "unit.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "../../mib/delaystats.h"

#define MS 1000000ll
#define US 1000ll

/* ---- helpers: a seeded generator and the reference computations ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t below(uint64_t n)
{
	return rnd() % n;
}

static double unit_interval(void)
{
	return (double)((rnd() >> 11) + 1) / 9007199254740993.0; /* (0, 1] */
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Rounded to nearest, halves away from zero, from a floored quotient. */
static int64_t ref_mean(__int128 sum, uint64_t n)
{
	if (!n)
		return 0;
	__int128 q = sum / (__int128)n;
	if (q * (__int128)n > sum)
		q--;
	__int128 twice_rest = 2 * (sum - q * (__int128)n);
	if (twice_rest > (__int128)n || (twice_rest == (__int128)n && sum > 0))
		q++;
	return q > INT64_MAX ? INT64_MAX : (int64_t)q;
}

/* Nearest rank by its definition: the first rank with rank/n >= pct/100. */
static int64_t ref_percentile(const int64_t *sorted, size_t n, unsigned pct)
{
	size_t rank = 1;
	while ((unsigned long long)rank * 100 < (unsigned long long)n * pct)
		rank++;
	return sorted[rank - 1];
}

/* Every figure over samples v[0..n) in arrival order; IPDV by exhaustive search. */
static void ref_summary(const struct delay_sample *v, size_t n, struct delay_summary *out)
{
	int64_t *sorted = malloc((n ? n : 1) * sizeof(*sorted));
	__int128 sum = 0, ipdv = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		sorted[i] = v[i].delay_ns;
		sum += v[i].delay_ns;
	}
	qsort(sorted, n, sizeof(*sorted), cmp_i64);
	if (n) {
		out->count = n;
		out->min_ns = sorted[0];
		out->max_ns = sorted[n - 1];
		out->avg_ns = ref_mean(sum, n);
		out->p50_ns = ref_percentile(sorted, n, 50);
		out->p99_ns = ref_percentile(sorted, n, 99);
	}
	for (size_t i = 0; i < n; i++) {
		bool first = true;
		for (size_t k = 0; k < i && first; k++)
			first = v[k].seq != v[i].seq;
		if (!first || v[i].seq == UINT64_MAX)
			continue;
		for (size_t j = 0; j < n; j++)
			if (v[j].seq == v[i].seq + 1) { /* the first copy of the next probe */
				__int128 d = (__int128)v[j].delay_ns - v[i].delay_ns;
				ipdv += d < 0 ? -d : d;
				out->ipdv_count++;
				break;
			}
	}
	out->jitter_ns = ref_mean(ipdv, out->ipdv_count);
	free(sorted);
}

static int summary_diff(const struct delay_summary *a, const struct delay_summary *b)
{
	if (a->count != b->count || a->min_ns != b->min_ns || a->max_ns != b->max_ns ||
	    a->avg_ns != b->avg_ns || a->p50_ns != b->p50_ns || a->p99_ns != b->p99_ns ||
	    a->ipdv_count != b->ipdv_count || a->jitter_ns != b->jitter_ns) {
		printf("#   got  n=%llu min=%lld max=%lld avg=%lld p50=%lld p99=%lld ipdv=%llu jit=%lld\n",
		       (unsigned long long)a->count, (long long)a->min_ns, (long long)a->max_ns,
		       (long long)a->avg_ns, (long long)a->p50_ns, (long long)a->p99_ns,
		       (unsigned long long)a->ipdv_count, (long long)a->jitter_ns);
		printf("#   want n=%llu min=%lld max=%lld avg=%lld p50=%lld p99=%lld ipdv=%llu jit=%lld\n",
		       (unsigned long long)b->count, (long long)b->min_ns, (long long)b->max_ns,
		       (long long)b->avg_ns, (long long)b->p50_ns, (long long)b->p99_ns,
		       (unsigned long long)b->ipdv_count, (long long)b->jitter_ns);
		return 1;
	}
	return 0;
}

/* ---- generated traffic ---- */

enum dist { CONSTANT, UNIFORM, HEAVY_TAIL, FEW_VALUES };
enum order { IN_ORDER, REORDERED, RESTART, WILD_SEQ };

static int64_t draw_delay(enum dist d)
{
	switch (d) {
	case CONSTANT:
		return 5 * MS;
	case UNIFORM:
		return (int64_t)below(10 * MS);
	case HEAVY_TAIL: { /* Pareto, alpha 1, from 200 us; capped at about 30 min */
		double x = 200.0 * US / unit_interval();
		return x > 1.8e12 ? (int64_t)1.8e12 : (int64_t)x;
	}
	case FEW_VALUES:
		return (int64_t)below(4) * US;
	}
	return 0;
}

/* n samples: losses (gaps in sequence), duplicates, local reordering, and a
 * sequence restart or random 64-bit sequences as asked; 'at' never decreases. */
static struct delay_sample *traffic(size_t n, enum dist d, enum order o)
{
	struct delay_sample *v = calloc(n, sizeof(*v));
	uint64_t seq = o == WILD_SEQ ? rnd() : 1000000;
	mtime_t at = 1000 * MTIME_SEC;

	for (size_t i = 0; i < n; i++) {
		if (o != IN_ORDER && below(10) == 0)
			seq += 1 + below(3); /* lost probes */
		if (o == RESTART && i == n / 2)
			seq = 0;
		if (o == WILD_SEQ && below(500) == 0)
			seq = rnd();
		v[i].seq = seq++;
		if (o != IN_ORDER && i && below(50) == 0)
			v[i].seq = v[i - 1 - below(i < 5 ? i : 5)].seq; /* a duplicate */
		v[i].delay_ns = draw_delay(d);
		at += below(4) == 0 ? 0 : below(2 * MS); /* some arrive together */
		v[i].at = at;
	}
	if (o != IN_ORDER) /* reorder: swap with one of the next few (times stay in order) */
		for (size_t i = 0; i + 8 < n; i++)
			if (below(8) == 0) {
				size_t j = i + 1 + below(7);
				uint64_t s = v[i].seq;
				int64_t dl = v[i].delay_ns;
				v[i].seq = v[j].seq, v[i].delay_ns = v[j].delay_ns;
				v[j].seq = s, v[j].delay_ns = dl;
			}
	return v;
}

/* Adds the traffic to a window, expiring and summarising as it goes; the
 * reference window is the suffix not yet expired and within the last cap. */
static int window_against_reference(enum dist d, enum order o, size_t n, size_t cap, mtime_t span)
{
	struct delay_sample *v = traffic(n, d, o);
	struct delay_window w;
	int64_t *scratch = malloc(cap * sizeof(*scratch));
	struct delay_summary got, want;
	size_t expired_to = 0; /* first sample not expired by time */
	uint64_t dropped = 0;
	int bad = 0;

	if (delay_window_init(&w, span, cap) != 0)
		abort();
	for (size_t i = 0; i < n && !bad; i++) {
		if (i >= cap && i - cap >= expired_to)
			dropped++; /* sample i - cap is still there and is pushed out */
		delay_window_add(&w, &v[i]);
		if (below(7) == 0) {
			mtime_t now = v[i].at + (below(3) == 0 ? below(span + span / 2) : 0);
			delay_window_expire(&w, now);
			while (expired_to <= i && v[expired_to].at + span <= now)
				expired_to++;
		}
		if (i % 41 == 0 || i + 1 == n) {
			size_t from = expired_to > i + 1 - (i + 1 < cap ? i + 1 : cap) ?
					      expired_to : i + 1 - (i + 1 < cap ? i + 1 : cap);
			delay_window_summary(&w, scratch, cap, &got);
			ref_summary(v + from, i + 1 - from, &want);
			if (summary_diff(&got, &want) || w.dropped != dropped || w.len != i + 1 - from) {
				printf("#   dist %d order %d after sample %zu (len %zu dropped %llu)\n", d, o,
				       i, w.len, (unsigned long long)w.dropped);
				bad = 1;
			}
		}
	}
	delay_window_free(&w);
	free(scratch);
	free(v);
	return bad;
}

static struct delay_summary window_of(const int64_t *delays, const uint64_t *seqs, size_t n)
{
	struct delay_window w;
	int64_t scratch[256];
	struct delay_summary s;

	if (n > 256 || delay_window_init(&w, 10 * MTIME_SEC, 256) != 0)
		abort();
	for (size_t i = 0; i < n; i++) {
		struct delay_sample x = {.at = MTIME_SEC + i, .delay_ns = delays[i],
					 .seq = seqs ? seqs[i] : i};
		delay_window_add(&w, &x);
	}
	delay_window_summary(&w, scratch, sizeof(scratch) / sizeof(*scratch), &s);
	delay_window_free(&w);
	return s;
}

/* ---- the window ---- */

TEST(nearest_rank_percentiles_on_hand_checked_cases)
{
	int64_t d[200];
	struct delay_summary s;

	for (int i = 0; i < 100; i++)
		d[i] = 100 - i; /* 1..100, given backwards */
	s = window_of(d, NULL, 100);
	CHECK_EQ_INT(s.p50_ns, 50);
	CHECK_EQ_INT(s.p99_ns, 99);
	CHECK_EQ_INT(s.min_ns, 1);
	CHECK_EQ_INT(s.max_ns, 100);
	CHECK_EQ_INT(s.avg_ns, 51); /* 50.5 rounds away from zero */
	for (int i = 0; i < 200; i++)
		d[i] = i + 1;
	s = window_of(d, NULL, 200);
	CHECK_EQ_INT(s.p50_ns, 100);
	CHECK_EQ_INT(s.p99_ns, 198);
	s = window_of(d, NULL, 101); /* rank ceil(50.5) = 51, ceil(99.99) = 100 */
	CHECK_EQ_INT(s.p50_ns, 51);
	CHECK_EQ_INT(s.p99_ns, 100);
	s = window_of((int64_t[]){20, 10}, NULL, 2);
	CHECK_EQ_INT(s.p50_ns, 10);
	CHECK_EQ_INT(s.p99_ns, 20);
	CHECK_EQ_INT(s.avg_ns, 15);
	s = window_of((int64_t[]){3, 1, 2}, NULL, 3);
	CHECK_EQ_INT(s.p50_ns, 2);
	CHECK_EQ_INT(s.p99_ns, 3);
	s = window_of((int64_t[]){7, 7, 7, 1, 7}, NULL, 5);
	CHECK_EQ_INT(s.p50_ns, 7);
	CHECK_EQ_INT(s.min_ns, 1);
}

TEST(empty_window_summarises_to_zero)
{
	struct delay_window w;
	int64_t scratch[8];
	struct delay_summary s, zero = {0};

	CHECK_EQ_INT(delay_window_init(&w, MTIME_SEC, 8), 0);
	delay_window_summary(&w, scratch, sizeof(scratch) / sizeof(*scratch), &s);
	CHECK(memcmp(&s, &zero, sizeof(s)) == 0);
	delay_window_add(&w, &(struct delay_sample){.at = 5, .delay_ns = 9, .seq = 1});
	delay_window_expire(&w, 5 + MTIME_SEC);
	CHECK_EQ_INT(w.len, 0);
	delay_window_summary(&w, scratch, sizeof(scratch) / sizeof(*scratch), &s);
	CHECK(memcmp(&s, &zero, sizeof(s)) == 0);
	delay_window_free(&w);
	CHECK(w.ring == NULL);
	errno = 0;
	CHECK_EQ_INT(delay_window_init(&w, MTIME_SEC, 0), -1);
	CHECK_EQ_INT(errno, EINVAL);
}

TEST(single_sample_is_every_figure)
{
	struct delay_summary s = window_of((int64_t[]){1234567}, (uint64_t[]){42}, 1);

	CHECK_EQ_INT(s.count, 1);
	CHECK_EQ_INT(s.min_ns, 1234567);
	CHECK_EQ_INT(s.max_ns, 1234567);
	CHECK_EQ_INT(s.avg_ns, 1234567);
	CHECK_EQ_INT(s.p50_ns, 1234567);
	CHECK_EQ_INT(s.p99_ns, 1234567);
	CHECK_EQ_INT(s.ipdv_count, 0);
	CHECK_EQ_INT(s.jitter_ns, 0);
}

TEST(expiry_forgets_samples_at_exactly_at_plus_span)
{
	struct delay_window w;
	int64_t scratch[8];
	struct delay_summary s;

	CHECK_EQ_INT(delay_window_init(&w, 10 * MTIME_SEC, 8), 0);
	for (uint64_t i = 1; i <= 3; i++)
		delay_window_add(&w, &(struct delay_sample){.at = i * MTIME_SEC, .delay_ns = (int64_t)i * 100,
							       .seq = i});
	delay_window_expire(&w, 11 * MTIME_SEC);
	CHECK_EQ_INT(w.len, 2);
	delay_window_expire(&w, 12 * MTIME_SEC - 1);
	CHECK_EQ_INT(w.len, 2);
	delay_window_summary(&w, scratch, sizeof(scratch) / sizeof(*scratch), &s);
	CHECK_EQ_INT(s.min_ns, 200);
	CHECK_EQ_INT(s.avg_ns, 250);
	CHECK_EQ_INT(s.ipdv_count, 1);
	CHECK_EQ_INT(s.jitter_ns, 100);
	delay_window_expire(&w, 12 * MTIME_SEC);
	CHECK_EQ_INT(w.len, 1);
	delay_window_expire(&w, 0); /* a time before everything expires nothing */
	CHECK_EQ_INT(w.len, 1);
	delay_window_expire(&w, MTIME_NEVER);
	CHECK_EQ_INT(w.len, 0);
	CHECK_EQ_INT(w.dropped, 0);
	delay_window_free(&w);
}

TEST(full_ring_pushes_out_the_oldest_and_counts_it)
{
	struct delay_window w;
	int64_t scratch[4];
	struct delay_summary s;

	CHECK_EQ_INT(delay_window_init(&w, 100 * MTIME_SEC, 4), 0);
	for (uint64_t i = 1; i <= 10; i++)
		delay_window_add(&w, &(struct delay_sample){.at = i, .delay_ns = (int64_t)(i * i), .seq = i});
	CHECK_EQ_INT(w.len, 4);
	CHECK_EQ_INT(w.dropped, 6);
	delay_window_summary(&w, scratch, sizeof(scratch) / sizeof(*scratch), &s);
	CHECK_EQ_INT(s.count, 4);
	CHECK_EQ_INT(s.min_ns, 49);
	CHECK_EQ_INT(s.max_ns, 100);
	CHECK_EQ_INT(s.avg_ns, 74); /* (49 + 64 + 81 + 100) / 4 = 73.5 */
	CHECK_EQ_INT(s.ipdv_count, 3);
	CHECK_EQ_INT(s.jitter_ns, 17); /* (15 + 17 + 19) / 3 */
	delay_window_free(&w);
}

TEST(window_ipdv_pairs_consecutive_sequences_in_any_arrival_order)
{
	struct delay_summary s;

	/* 2 then 1 then 3: pairs (1,2) = 30 and (2,3) = 15; 22.5 rounds to 23. */
	s = window_of((int64_t[]){10, 40, 25}, (uint64_t[]){2, 1, 3}, 3);
	CHECK_EQ_INT(s.ipdv_count, 2);
	CHECK_EQ_INT(s.jitter_ns, 23);
	/* A duplicate counts by its first copy: 1=100, 2=300, 3=200. */
	s = window_of((int64_t[]){100, 300, 1000, 200}, (uint64_t[]){1, 2, 1, 3}, 4);
	CHECK_EQ_INT(s.ipdv_count, 2);
	CHECK_EQ_INT(s.jitter_ns, 150);
	/* Gaps: nothing consecutive. */
	s = window_of((int64_t[]){1, 2, 3}, (uint64_t[]){1, 3, 5}, 3);
	CHECK_EQ_INT(s.ipdv_count, 0);
	CHECK_EQ_INT(s.jitter_ns, 0);
	/* No pair across the end of the sequence space. */
	s = window_of((int64_t[]){1, 2}, (uint64_t[]){UINT64_MAX, 0}, 2);
	CHECK_EQ_INT(s.ipdv_count, 0);
}

TEST(extreme_delays_neither_overflow_nor_crash)
{
	struct delay_summary s = window_of((int64_t[]){INT64_MAX, INT64_MIN}, NULL, 2);

	CHECK_EQ_INT(s.avg_ns, -1); /* -0.5 rounds away from zero */
	CHECK_EQ_INT(s.min_ns, INT64_MIN);
	CHECK_EQ_INT(s.max_ns, INT64_MAX);
	CHECK_EQ_INT(s.ipdv_count, 1);
	CHECK_EQ_INT(s.jitter_ns, INT64_MAX); /* 2^64 - 1 does not fit: clamped */
	s = window_of((int64_t[]){INT64_MAX, INT64_MAX, INT64_MAX}, NULL, 3);
	CHECK_EQ_INT(s.avg_ns, INT64_MAX);
	CHECK_EQ_INT(s.jitter_ns, 0);
}

TEST(window_matches_brute_force_over_random_traffic)
{
	static const enum dist dists[] = {CONSTANT, UNIFORM, HEAVY_TAIL, FEW_VALUES};
	static const enum order orders[] = {IN_ORDER, REORDERED, RESTART, WILD_SEQ};

	rng_state = 20240601;
	for (size_t i = 0; i < sizeof(dists) / sizeof(dists[0]); i++)
		for (size_t j = 0; j < sizeof(orders) / sizeof(orders[0]); j++) {
			/* About 300 samples within the span; the ring sometimes overflows. */
			CHECK(!window_against_reference(dists[i], orders[j], 3000, 400, 300 * MS));
			/* A small ring that overflows constantly, a span that rarely matters. */
			CHECK(!window_against_reference(dists[i], orders[j], 1500, 37, 60 * MTIME_SEC));
		}
}

TEST(window_sorts_long_reversed_and_adversarial_runs)
{
	/* Sequences far out of order (the heapsort path) and delay patterns that
	 * defeat a median-of-three pivot (the quickselect fallback). */
	enum { N = 3000 };
	static struct delay_sample v[N];
	struct delay_window w;
	static int64_t scratch[N];
	struct delay_summary got, want;

	for (int pattern = 0; pattern < 4; pattern++) {
		CHECK_EQ_INT(delay_window_init(&w, MTIME_NEVER, N), 0);
		for (size_t i = 0; i < N; i++) {
			v[i].at = i;
			v[i].seq = pattern == 0 ? N - i : pattern == 1 ? (i * 7919) % N : i;
			v[i].delay_ns = pattern == 2 ? (int64_t)(i % 2 ? i : N - i) : /* organ pipe */
					pattern == 3 ? (int64_t)((i * i) % 1009) : (int64_t)i;
			delay_window_add(&w, &v[i]);
		}
		delay_window_summary(&w, scratch, N, &got);
		ref_summary(v, N, &want);
		delay_window_free(&w);
		CHECK(!summary_diff(&got, &want));
	}
}

/* ---- since start ---- */

/* The value the histogram reports for a bucket: the percentile of {v, huge}. */
static int64_t reported_for(int64_t v)
{
	struct delay_total t;
	struct delay_summary s;

	delay_total_init(&t);
	delay_total_add(&t, &(struct delay_sample){.delay_ns = v, .seq = 1});
	delay_total_add(&t, &(struct delay_sample){.delay_ns = INT64_MAX, .seq = 5});
	delay_total_summary(&t, &s);
	return s.p50_ns;
}

TEST(histogram_layout_is_exactly_the_documented_buckets)
{
	int64_t v = 0;
	unsigned buckets = 0;

	CHECK_EQ_INT(DELAY_HIST_BUCKETS, 832);
	CHECK_EQ_INT(reported_for(0), 999);
	CHECK_EQ_INT(reported_for(63999), 63999);
	CHECK_EQ_INT(reported_for(64000), 65999);
	CHECK_EQ_INT(reported_for(127999), 127999);
	CHECK_EQ_INT(reported_for(128000), 131999);
	for (;;) {
		int64_t top = reported_for(v);
		if (top == INT64_MAX)
			break; /* the open last bucket */
		int64_t width = top + 1 - v;
		CHECK(width % 1000 == 0);
		CHECK(reported_for(top) == top);
		if (v < 64 * US)
			CHECK_EQ_INT(width, 1000);
		else
			CHECK(32 * width <= v && v < 64 * width);
		buckets++;
		v = top + 1;
	}
	CHECK_EQ_INT(buckets, DELAY_HIST_BUCKETS - 1);
	CHECK_EQ_INT(v, ((1ll << 30) - (1ll << 24)) * US);
	CHECK_EQ_INT(reported_for(1ll << 50), INT64_MAX);
}

TEST(total_ipdv_pairs_only_probes_received_in_order)
{
	struct delay_total t;
	struct delay_summary s;
	static const uint64_t seq[] = {1, 2, 4, 3, 5, 5, 6};
	static const int64_t d[] = {10, 20, 40, 30, 55, 999, 50};

	delay_total_init(&t);
	for (size_t i = 0; i < 7; i++)
		delay_total_add(&t, &(struct delay_sample){.at = i, .delay_ns = d[i], .seq = seq[i]});
	delay_total_summary(&t, &s);
	/* (1,2) = 10, (4,5) = 15, (5,6) = 5 with 5's first copy. */
	CHECK_EQ_INT(s.ipdv_count, 3);
	CHECK_EQ_INT(s.jitter_ns, 10);
	CHECK_EQ_INT(s.count, 7);
	CHECK_EQ_INT(s.min_ns, 10);
	CHECK_EQ_INT(s.max_ns, 999);
	CHECK_EQ_INT(s.avg_ns, 172); /* 1204 / 7 */
	/* No pair across the end of the sequence space, as in the window. */
	delay_total_init(&t);
	delay_total_add(&t, &(struct delay_sample){.delay_ns = 1, .seq = UINT64_MAX});
	delay_total_add(&t, &(struct delay_sample){.delay_ns = 2, .seq = 0});
	delay_total_summary(&t, &s);
	CHECK_EQ_INT(s.ipdv_count, 0);
}

TEST(empty_total_summarises_to_zero)
{
	struct delay_total t;
	struct delay_summary s, zero = {0};

	delay_total_init(&t);
	delay_total_summary(&t, &s);
	CHECK(memcmp(&s, &zero, sizeof(s)) == 0);
	delay_total_add(&t, &(struct delay_sample){.delay_ns = 777, .seq = 9});
	delay_total_summary(&t, &s);
	CHECK_EQ_INT(s.count, 1);
	CHECK_EQ_INT(s.p50_ns, 777); /* the bucket bound is clipped to [min, max] */
	CHECK_EQ_INT(s.p99_ns, 777);
	CHECK_EQ_INT(s.avg_ns, 777);
	CHECK_EQ_INT(s.ipdv_count, 0);
}

TEST(negative_delays_go_to_the_first_bucket)
{
	struct delay_total t;
	struct delay_summary s;

	delay_total_init(&t);
	delay_total_add(&t, &(struct delay_sample){.delay_ns = -5000, .seq = 1});
	delay_total_add(&t, &(struct delay_sample){.delay_ns = INT64_MIN, .seq = 2});
	delay_total_add(&t, &(struct delay_sample){.delay_ns = 500, .seq = 3});
	delay_total_add(&t, &(struct delay_sample){.delay_ns = 900000, .seq = 4});
	delay_total_summary(&t, &s);
	CHECK_EQ_INT(t.hist[0], 3);
	CHECK_EQ_INT(s.min_ns, INT64_MIN);
	CHECK_EQ_INT(s.p50_ns, 999);
	CHECK_EQ_INT(s.ipdv_count, 3);
}

static int64_t draw_million(int kind)
{
	switch (kind) {
	case 0:
		return (int64_t)below(200 * MS);
	case 1: { /* Pareto from 50 us, alpha 1: most values low, a long tail */
		double x = 50.0 * US / unit_interval();
		return x > 4e18 ? (int64_t)4e18 : (int64_t)x;
	}
	case 2: { /* about log-uniform from 1 us to 2^31 us: every octave, and the open bucket */
		uint64_t octave = 1ull << below(31);
		return (int64_t)(octave + below(octave)) * US + (int64_t)below(US);
	}
	default:
		return 3 * MS;
	}
}

static bool within_bound(int64_t got, int64_t exact, int64_t max)
{
	if (got < exact || got > max)
		return false;
	if (exact < 64 * US)
		return got - exact < 1000;
	if (exact < ((1ll << 30) - (1ll << 24)) * US)
		return 32 * (got - exact) < exact;
	return got == max;
}

TEST(total_is_exact_and_its_percentiles_within_the_bound_on_a_million)
{
	enum { N = 1000000 };
	int64_t *all = malloc(N * sizeof(*all));
	struct delay_total t;
	struct delay_summary s;

	rng_state = 77;
	for (int kind = 0; kind < 4; kind++) {
		__int128 sum = 0, ipdv = 0;
		uint64_t npairs = 0, top = 0;
		int64_t top_delay = 0;

		delay_total_init(&t);
		for (size_t i = 0; i < N; i++) {
			uint64_t seq = i + (below(20) == 0 ? 3 : 0); /* now and then a late one */
			all[i] = draw_million(kind);
			delay_total_add(&t, &(struct delay_sample){.at = i, .delay_ns = all[i], .seq = seq});
			sum += all[i];
			if (i && seq == top + 1) {
				__int128 d = (__int128)all[i] - top_delay;
				ipdv += d < 0 ? -d : d;
				npairs++;
			}
			if (!i || seq > top)
				top = seq, top_delay = all[i];
		}
		delay_total_summary(&t, &s);
		qsort(all, N, sizeof(*all), cmp_i64);
		CHECK_EQ_INT(s.count, N);
		CHECK_EQ_INT(s.min_ns, all[0]);
		CHECK_EQ_INT(s.max_ns, all[N - 1]);
		CHECK_EQ_INT(s.avg_ns, ref_mean(sum, N));
		CHECK_EQ_INT(s.ipdv_count, npairs);
		CHECK_EQ_INT(s.jitter_ns, ref_mean(ipdv, npairs));
		for (unsigned pct = 50; pct <= 99; pct += 49) {
			int64_t exact = ref_percentile(all, N, pct), got = pct == 50 ? s.p50_ns : s.p99_ns;
			if (!within_bound(got, exact, s.max_ns))
				printf("#   kind %d p%u: %lld for %lld\n", kind, pct, (long long)got,
				       (long long)exact);
			CHECK(within_bound(got, exact, s.max_ns));
		}
	}
	free(all);
}

TEST(total_matches_brute_force_over_random_traffic)
{
	rng_state = 99;
	for (int d = CONSTANT; d <= FEW_VALUES; d++)
		for (int o = IN_ORDER; o <= WILD_SEQ; o++) {
			enum { N = 5000 };
			struct delay_sample *v = traffic(N, d, o);
			struct delay_total t;
			struct delay_summary got, want;

			delay_total_init(&t);
			for (size_t i = 0; i < N; i++)
				delay_total_add(&t, &v[i]);
			delay_total_summary(&t, &got);
			ref_summary(v, N, &want);
			/* In-order IPDV: seq one above the highest seen so far. */
			__int128 ipdv = 0;
			uint64_t pairs = 0, top = v[0].seq;
			int64_t top_delay = v[0].delay_ns;
			for (size_t i = 1; i < N; i++) {
				if (top != UINT64_MAX && v[i].seq == top + 1) {
					__int128 x = (__int128)v[i].delay_ns - top_delay;
					ipdv += x < 0 ? -x : x;
					pairs++;
				}
				if (v[i].seq > top)
					top = v[i].seq, top_delay = v[i].delay_ns;
			}
			free(v);
			CHECK_EQ_INT(got.count, want.count);
			CHECK_EQ_INT(got.min_ns, want.min_ns);
			CHECK_EQ_INT(got.max_ns, want.max_ns);
			CHECK_EQ_INT(got.avg_ns, want.avg_ns);
			CHECK_EQ_INT(got.ipdv_count, pairs);
			CHECK_EQ_INT(got.jitter_ns, ref_mean(ipdv, pairs));
			CHECK(within_bound(got.p50_ns, want.p50_ns, got.max_ns));
			CHECK(within_bound(got.p99_ns, want.p99_ns, got.max_ns));
		}
}

/* ---- cost ---- */

static double ns_per_summary(size_t n, enum order o)
{
	struct delay_window w;
	int64_t *scratch = malloc(n * sizeof(*scratch));
	struct delay_sample *v = traffic(n, UNIFORM, o);
	struct delay_summary s;
	struct timespec a, b;
	unsigned runs = 0;
	double ns;

	if (delay_window_init(&w, MTIME_NEVER, n) != 0)
		abort();
	for (size_t i = 0; i < n; i++)
		delay_window_add(&w, &v[i]);
	clock_gettime(CLOCK_MONOTONIC, &a);
	do {
		delay_window_summary(&w, scratch, n, &s);
		runs++;
		clock_gettime(CLOCK_MONOTONIC, &b);
		ns = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
	} while (ns < 2e8 && runs < 100000);
	delay_window_free(&w);
	free(scratch);
	free(v);
	return ns / runs;
}

TEST(summary_cost)
{
	/* Measured, not asserted: a timing limit would fail under valgrind. */
	rng_state = 5;
	for (size_t n = 600; n <= 6000; n *= 10)
		printf("# window summary of %zu samples: %.0f ns in order, %.0f ns reordered, "
		       "%.0f ns after a sequence restart\n",
		       n, ns_per_summary(n, IN_ORDER), ns_per_summary(n, REORDERED),
		       ns_per_summary(n, RESTART));
	printf("# sizeof(struct delay_total) = %zu bytes\n", sizeof(struct delay_total));
	CHECK(sizeof(struct delay_total) < 3500);
}

UNIT_MAIN("delaystats", T(nearest_rank_percentiles_on_hand_checked_cases),
	  T(empty_window_summarises_to_zero), T(single_sample_is_every_figure),
	  T(expiry_forgets_samples_at_exactly_at_plus_span),
	  T(full_ring_pushes_out_the_oldest_and_counts_it),
	  T(window_ipdv_pairs_consecutive_sequences_in_any_arrival_order),
	  T(extreme_delays_neither_overflow_nor_crash), T(window_matches_brute_force_over_random_traffic),
	  T(window_sorts_long_reversed_and_adversarial_runs),
	  T(histogram_layout_is_exactly_the_documented_buckets),
	  T(total_ipdv_pairs_only_probes_received_in_order), T(empty_total_summarises_to_zero),
	  T(negative_delays_go_to_the_first_bucket),
	  T(total_is_exact_and_its_percentiles_within_the_bound_on_a_million),
	  T(total_matches_brute_force_over_random_traffic), T(summary_cost))
