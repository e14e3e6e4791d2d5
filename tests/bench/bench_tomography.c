/*
 * What loss tomography costs for one 100-PE VPN (every PE a sender and a
 * receiver: 9,900 pairs), 100 probes/s per sender: a 60 s window of
 * accumulation, then one estimate and one location, as CPU time and as a
 * share of one core over those 60 s (the goal: under 5 %).
 *
 * The reference, in the same run on the same receptions: what probing does
 * today per probe and receiver (mib/probing.c): set the pair's rx bit when
 * the probe comes back, then, at the loss timeout, read it back, count the
 * loss and clear it.  The tomography run does the same and, at the decision,
 * gathers those bits into a bitset over receivers and feeds it to
 * tomo_probe_decided(), as the wiring into stream_decide() would: the
 * difference is what tomography adds.  The receptions (1 % loss on each
 * branch, 0.5 % before the MDT) are drawn before the clock starts, so no
 * random draw is timed.  The per-pair outcome windows probing also keeps are
 * left out of the reference: at this size they are 1.2 GB.
 *
 *   bench_tomography [-o FILE] [-r ROUNDS] [-p PES]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../mib/faultloc.h"
#include "../../mib/tomography.h"
#include "bench.h"

#define RATE 100
#define WINDOW 60
#define LAG 200          /* probes in flight per sender: the 2 s loss timeout */
#define RING 1024        /* a sender stream's ring, as probing sizes it for 100/s */
#define PATTERNS 4096
#define MAXW 16

struct bench {
	size_t n, words;
	uint64_t *patterns;  /* PATTERNS x words: who got a probe */
	uint64_t *rx_bits;   /* n x n x RING/64: the pairs' rx bits */
	uint64_t lost;
	uint8_t *roles;
};

static uint64_t rng(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void bench_init(struct bench *b, size_t n)
{
	uint64_t s = 42;

	b->n = n;
	b->words = (n + 63) / 64;
	b->patterns = calloc(PATTERNS * b->words, sizeof(uint64_t));
	b->rx_bits = calloc(n * n * (RING / 64), sizeof(uint64_t));
	b->roles = malloc(n);
	if (!b->patterns || !b->rx_bits || !b->roles || b->words > MAXW)
		exit(1);
	memset(b->roles, 3, n);
	for (size_t p = 0; p < PATTERNS; p++) {
		if (rng(&s) % 1000 < 5)
			continue; /* lost before the MDT */
		for (size_t j = 0; j < n; j++)
			if (rng(&s) % 100)
				b->patterns[p * b->words + j / 64] |= 1ull << (j % 64);
	}
}

static void bench_free(struct bench *b)
{
	free(b->patterns);
	free(b->rx_bits);
	free(b->roles);
}

static uint64_t *pair_bits(struct bench *b, size_t i, size_t j)
{
	return &b->rx_bits[(i * b->n + j) * (RING / 64)];
}

/* Probe p of sender i came back to every receiver its pattern names. */
static void receive(struct bench *b, size_t i, uint64_t p)
{
	const uint64_t *pat = &b->patterns[((p * 131 + i * 17) % PATTERNS) * b->words];
	size_t slot = p % RING;

	for (size_t w = 0; w < b->words; w++)
		for (uint64_t bits = pat[w]; bits; bits &= bits - 1) {
			size_t j = w * 64 + (size_t)__builtin_ctzll(bits);
			if (j != i)
				pair_bits(b, i, j)[slot / 64] |= 1ull << (slot % 64);
		}
}

/* Probe p of sender i is decided: read every pair's bit, count, clear;
 * with t, gather them into a bitset and feed the tomography. */
static void decide(struct bench *b, size_t i, uint64_t p, struct tomo *t, mtime_t at)
{
	uint64_t got[MAXW] = {0};
	size_t slot = p % RING;

	for (size_t j = 0; j < b->n; j++) {
		if (j == i)
			continue;
		uint64_t *word = &pair_bits(b, i, j)[slot / 64];
		uint64_t bit = *word >> (slot % 64) & 1;
		b->lost += !bit;
		if (t)
			got[j / 64] |= bit << (j % 64);
		*word &= ~(1ull << (slot % 64));
	}
	if (t)
		tomo_probe_decided(t, i, at, got);
}

/* The window's traffic; returns CPU seconds. */
static double window(struct bench *b, struct tomo *t)
{
	uint64_t probes = (uint64_t)RATE * WINDOW, t0 = cpu_now();

	for (uint64_t p = 0; p < probes + LAG; p++)
		for (size_t i = 0; i < b->n; i++) {
			if (p < probes)
				receive(b, i, p);
			if (p >= LAG)
				decide(b, i, p - LAG, t, (mtime_t)(p - LAG) * (MTIME_SEC / RATE));
		}
	return (double)(cpu_now() - t0) / 1e9;
}

/* One location on the window's figures: every pair at 1 % loss, one PE's row over. */
static double locate(struct bench *b, const struct tomo_result *r)
{
	size_t n = b->n;
	struct faultloc_pair *pairs = calloc(n * n, sizeof(*pairs));
	struct inet_addr *pes = calloc(n, sizeof(*pes));
	struct thresholds th = {{{20000, 10000}, {50000, 40000}, {10000, 8000}}};
	struct faultloc f;
	uint64_t t0;
	double s;

	if (!pairs || !pes)
		exit(1);
	for (size_t x = 0; x < n * n; x++)
		pairs[x] = (struct faultloc_pair){.have = {true, true, true},
						  .value = {x / n == 7 ? 30000 : 10000, 20000, 500}};
	struct faultloc_input in = {.n = n, .pes = pes, .roles = b->roles, .pairs = pairs,
				    .th = &th, .tomo = r};
	faultloc_init(&f);
	t0 = cpu_now();
	if (!faultloc_run(&f, &in, 60 * MTIME_SEC))
		exit(1);
	s = (double)(cpu_now() - t0) / 1e9;
	faultloc_free(&f);
	free(pairs);
	free(pes);
	return s;
}

struct round {
	double ref, with, estimate, locate;
};

static struct round one_round(size_t n)
{
	struct bench b;
	struct round r;
	struct tomo *t;
	uint64_t t0;

	bench_init(&b, n);
	r.ref = window(&b, NULL);
	t = tomo_new(n, b.roles, WINDOW * MTIME_SEC, 10);
	if (!t)
		exit(1);
	r.with = window(&b, t);
	t0 = cpu_now();
	const struct tomo_result *res = tomo_estimate(t, (WINDOW + 2) * MTIME_SEC);
	r.estimate = (double)(cpu_now() - t0) / 1e9;
	if (res->probes < (uint64_t)n * RATE * (WINDOW - 6)) {
		fprintf(stderr, "bench_tomography: %llu probes in the window\n",
			(unsigned long long)res->probes);
		exit(1);
	}
	r.locate = locate(&b, res);
	tomo_free(t);
	bench_free(&b);
	return r;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median_of(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static void report(FILE *f, size_t n, int rounds, double ref, double with, double est, double loc)
{
	double added = with - ref + est + loc;

	fprintf(f, "# Loss tomography for one VPN (tests/bench/bench_tomography.c)\n\n");
	fprintf(f, "%zu PEs, each a sender and a receiver (%zu pairs), %d probes/s per sender, "
		   "a %d s window: %llu decided probes.\n", n, n * (n - 1), RATE, WINDOW,
		(unsigned long long)n * RATE * WINDOW);
	fprintf(f, "CPU time, median of %d rounds.  Reference: probing's rx bits set, read "
		   "back and counted per probe and receiver.\n\n", rounds);
	fprintf(f, "| part | CPU | share of one core over %d s |\n|---|---:|---:|\n", WINDOW);
	fprintf(f, "| reference: rx bits (probing today) | %.4f s | %.3f %% |\n", ref,
		100 * ref / WINDOW);
	fprintf(f, "| reference + tomo_probe_decided | %.4f s | %.3f %% |\n", with,
		100 * with / WINDOW);
	fprintf(f, "| one tomo_estimate (K = 10) | %.4f s | %.3f %% |\n", est, 100 * est / WINDOW);
	fprintf(f, "| one faultloc_run | %.4f s | %.3f %% |\n", loc, 100 * loc / WINDOW);
	fprintf(f, "| **tomography's own cost** (accumulation over the reference + estimate + "
		   "location) | %.4f s | **%.3f %%** (goal < 5 %%) |\n", added, 100 * added / WINDOW);
}

int main(int argc, char **argv)
{
	const char *out_path = NULL;
	size_t n = 100;
	int rounds = 3, c;
	double ref[15], with[15], est[15], loc[15];

	while ((c = getopt(argc, argv, "o:r:p:")) != -1) {
		if (c == 'o')
			out_path = optarg;
		else if (c == 'r')
			rounds = (int)arg_num(optarg, "rounds");
		else if (c == 'p')
			n = (size_t)arg_num(optarg, "PEs");
		else
			return fprintf(stderr, "usage: %s [-o FILE] [-r 1..15] [-p 2..1024]\n",
				       argv[0]), 2;
	}
	if (rounds < 1 || rounds > 15 || n < 2 || n > 64 * MAXW)
		return fprintf(stderr, "rounds 1..15, PEs 2..%d\n", 64 * MAXW), 2;
	for (int r = 0; r < rounds; r++) {
		struct round x = one_round(n);
		ref[r] = x.ref, with[r] = x.with, est[r] = x.estimate, loc[r] = x.locate;
	}
	double mr = median_of(ref, rounds), mw = median_of(with, rounds);
	double me = median_of(est, rounds), ml = median_of(loc, rounds);
	report(stdout, n, rounds, mr, mw, me, ml);
	if (out_path) {
		FILE *f = fopen(out_path, "w");
		if (!f)
			return perror(out_path), 1;
		report(f, n, rounds, mr, mw, me, ml);
		fclose(f);
	}
	return 0;
}
