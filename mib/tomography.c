#include "tomography.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "probing.h"

_Static_assert((int)TOMO_SENDER == (int)ROLE_SENDER && (int)TOMO_RECEIVER == (int)ROLE_RECEIVER,
	       "tomography takes probing's roles as they are");

#define NO_BLOCK UINT64_MAX
#define CLEAN_Z 3.0 /* a path into j is "clean" within this many standard errors of the best */

/*
 * Counts of one block, in one array of `stride` uint32_t:
 *   [0, n)          probes of sender i decided in the block (N)
 *   [n, 2n)         of those, received by at least one receiver (N_any)
 *   [2n, 2n + n^2)  received by receiver j, row i (n_ij)
 */
struct tomo {
	size_t n, words, stride;
	unsigned k, slots;      /* blocks per window; slots kept (k + 1) */
	mtime_t block_span;
	uint8_t *roles;         /* n */
	uint64_t *rx_mask;      /* n x words: the receivers of sender i */
	size_t *n_receivers;    /* n */
	uint64_t *slot_block;   /* block number in each slot, NO_BLOCK if none */
	uint32_t *counts;       /* slots x stride */
	uint64_t newest, dropped;
	/* estimation scratch: replicate 0 is the whole window, r the window without used[r - 1] */
	unsigned *used;         /* k slots */
	double *tot;            /* stride */
	double *rep_n;          /* (k + 1) x n: probes decided */
	double *rep_a;          /* (k + 1) x n: sender-side pass rate */
	double *rep_beta;       /* (k + 1) x n x n: branch pass rate */
	double *rep_r;          /* (k + 1) x n: receiver-side pass rate */
	double *gj;             /* n */
	uint8_t *clean;         /* n */
	struct tomo_result res;
};

/* ---- life ---- */

static void set_masks(struct tomo *t)
{
	for (size_t i = 0; i < t->n; i++) {
		uint64_t *m = &t->rx_mask[i * t->words];
		for (size_t j = 0; j < t->n; j++) {
			if (j == i || !(t->roles[i] & TOMO_SENDER) || !(t->roles[j] & TOMO_RECEIVER))
				continue;
			m[j / 64] |= 1ull << (j % 64);
			t->n_receivers[i]++;
		}
	}
}

static bool tomo_alloc(struct tomo *t)
{
	size_t n = t->n ? t->n : 1, reps = t->k + 1;

	t->roles = calloc(n, 1);
	t->rx_mask = calloc(n * t->words, sizeof(*t->rx_mask));
	t->n_receivers = calloc(n, sizeof(*t->n_receivers));
	t->slot_block = calloc(t->slots, sizeof(*t->slot_block));
	t->counts = calloc(t->slots * t->stride, sizeof(*t->counts));
	t->used = calloc(t->k, sizeof(*t->used));
	t->tot = calloc(t->stride, sizeof(*t->tot));
	t->rep_n = calloc(reps * n, sizeof(double));
	t->rep_a = calloc(reps * n, sizeof(double));
	t->rep_beta = calloc(reps * n * n, sizeof(double));
	t->rep_r = calloc(reps * n, sizeof(double));
	t->gj = calloc(n, sizeof(double));
	t->clean = calloc(n, 1);
	t->res.sender = calloc(n, sizeof(*t->res.sender));
	t->res.receiver = calloc(n, sizeof(*t->res.receiver));
	t->res.path = calloc(n * n, sizeof(*t->res.path));
	return t->roles && t->rx_mask && t->n_receivers && t->slot_block && t->counts && t->used &&
	       t->tot && t->rep_n && t->rep_a && t->rep_beta && t->rep_r && t->gj && t->clean &&
	       t->res.sender && t->res.receiver && t->res.path;
}

struct tomo *tomo_new(size_t n, const uint8_t *roles, mtime_t window, unsigned blocks)
{
	struct tomo *t;

	if (!blocks)
		blocks = TOMO_BLOCKS_DEFAULT;
	if (blocks > TOMO_BLOCKS_MAX || window < blocks)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->n = n;
	t->words = (n + 63) / 64 ? (n + 63) / 64 : 1;
	t->stride = 2 * n + n * n ? 2 * n + n * n : 1;
	t->k = blocks;
	t->slots = blocks + 1;
	t->block_span = window / blocks;
	t->res.n = n;
	if (!tomo_alloc(t)) {
		tomo_free(t);
		return NULL;
	}
	if (n)
		memcpy(t->roles, roles, n);
	set_masks(t);
	for (unsigned s = 0; s < t->slots; s++)
		t->slot_block[s] = NO_BLOCK;
	return t;
}

void tomo_free(struct tomo *t)
{
	if (!t)
		return;
	free(t->roles);
	free(t->rx_mask);
	free(t->n_receivers);
	free(t->slot_block);
	free(t->counts);
	free(t->used);
	free(t->tot);
	free(t->rep_n);
	free(t->rep_a);
	free(t->rep_beta);
	free(t->rep_r);
	free(t->gj);
	free(t->clean);
	free(t->res.sender);
	free(t->res.receiver);
	free(t->res.path);
	free(t);
}

size_t tomo_rx_words(const struct tomo *t)
{
	return t->words;
}

uint64_t tomo_dropped(const struct tomo *t)
{
	return t->dropped;
}

/* ---- accumulation ---- */

/* The counts of the block holding `at`; a newer block takes the slot of the
 * oldest.  NULL for a time older than every block kept. */
static uint32_t *block_of(struct tomo *t, mtime_t at)
{
	uint64_t b = at / t->block_span;
	unsigned s = (unsigned)(b % t->slots);
	uint32_t *c = &t->counts[s * t->stride];

	if (t->slot_block[s] == b)
		return c;
	if (t->slot_block[s] != NO_BLOCK && t->slot_block[s] > b)
		return NULL;
	memset(c, 0, t->stride * sizeof(*c));
	t->slot_block[s] = b;
	return c;
}

void tomo_probe_decided(struct tomo *t, size_t sender, mtime_t at, const uint64_t *rx)
{
	const uint64_t *mask;
	uint32_t *c, *row;
	uint64_t any = 0;

	if (sender >= t->n || !t->n_receivers[sender])
		return;
	mask = &t->rx_mask[sender * t->words];
	c = block_of(t, at);
	if (!c) {
		t->dropped++;
		return;
	}
	row = &c[2 * t->n + sender * t->n];
	for (size_t w = 0; w < t->words; w++) {
		uint64_t bits = rx[w] & mask[w];
		any |= bits;
		while (bits) {
			row[w * 64 + (size_t)__builtin_ctzll(bits)]++;
			bits &= bits - 1;
		}
	}
	c[sender]++;
	c[t->n + sender] += any != 0;
}

/* ---- estimation ---- */

/* Student's t, 0.975 quantile, by degrees of freedom (the next row up past the table). */
static double t975(unsigned df)
{
	static const double t[] = {0,     12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365,
				   2.306, 2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
				   2.120, 2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069,
				   2.064, 2.060,  2.056, 2.052, 2.048, 2.045, 2.042};

	if (df < sizeof(t) / sizeof(t[0]))
		return t[df];
	return df <= 40 ? 2.042 : 2.021;
}

static uint32_t loss_ppm(double loss)
{
	if (!(loss > 0))
		return 0;
	if (loss >= 1)
		return 1000000;
	return (uint32_t)llround(loss * 1e6);
}

static struct tomo_estimate unknown(uint8_t status)
{
	return (struct tomo_estimate){.status = status, .high_ppm = status ? 1000000 : 0};
}

/* A pass rate and its jackknife standard error as loss ppm with a 95 %
 * interval: pass +- t se, its upper loss bound raised to the log scale's,
 * loss * exp(t se / loss) (delta method), when that is higher.  A rare loss
 * is a small count whose jackknife spread shrinks with it: the symmetric
 * interval then misses high far more often than low (seen in the tests'
 * background loss of 0.3 %); the log scale's is skewed as the count is. */
static struct tomo_estimate estimate_of(double pass, double se, double tq)
{
	double half = isfinite(se) ? tq * se : 2.0, loss = 1 - pass, high = loss + half;

	if (loss > 0 && isfinite(se) && tq * se / loss < 30)
		high = fmax(high, loss * exp(tq * se / loss));
	return (struct tomo_estimate){.status = TOMO_OK,
				      .loss_ppm = loss_ppm(loss),
				      .low_ppm = loss_ppm(loss - half),
				      .high_ppm = loss_ppm(high)};
}

/* Jackknife standard error of replicates v[step], ..., v[u * step] (v[0]: the whole window). */
static double jack_se(const double *v, size_t step, unsigned u)
{
	double mean = 0, ss = 0;

	if (u < 2)
		return INFINITY;
	for (unsigned r = 1; r <= u; r++)
		mean += v[r * step];
	mean /= u;
	for (unsigned r = 1; r <= u; r++)
		ss += (v[r * step] - mean) * (v[r * step] - mean);
	return sqrt(ss * (u - 1) / u);
}

/* The blocks of the window [now's block - k, now's block) that hold probes. */
static unsigned select_blocks(struct tomo *t, mtime_t now)
{
	uint64_t cur = now / t->block_span, first = cur >= t->k ? cur - t->k : 0;
	unsigned u = 0;

	t->res.from = first * t->block_span;
	t->res.to = cur * t->block_span;
	for (unsigned s = 0; s < t->slots; s++) {
		const uint32_t *c = &t->counts[s * t->stride];
		uint64_t decided = 0;
		if (t->slot_block[s] == NO_BLOCK || t->slot_block[s] < first || t->slot_block[s] >= cur)
			continue;
		for (size_t i = 0; i < t->n; i++)
			decided += c[i];
		if (decided)
			t->used[u++] = s;
	}
	return u;
}

static void sum_blocks(struct tomo *t, unsigned u)
{
	memset(t->tot, 0, t->stride * sizeof(*t->tot));
	for (unsigned r = 0; r < u; r++) {
		const uint32_t *c = &t->counts[t->used[r] * t->stride];
		for (size_t x = 0; x < t->stride; x++)
			t->tot[x] += c[x];
	}
}

/* Count x of replicate r: the window, without block used[r - 1] for r > 0. */
static double count_of(const struct tomo *t, unsigned r, size_t x)
{
	return t->tot[x] - (r ? t->counts[t->used[r - 1] * t->stride + x] : 0);
}

/* The first receiver of sender i at or after position `from`; n if none. */
static size_t next_receiver(const struct tomo *t, size_t i, size_t from)
{
	const uint64_t *mask = &t->rx_mask[i * t->words];
	size_t w = from / 64;
	uint64_t bits;

	if (from >= t->n)
		return t->n;
	bits = mask[w] & (~0ull << (from % 64));
	while (!bits) {
		if (++w == t->words)
			return t->n;
		bits = mask[w];
	}
	return w * 64 + (size_t)__builtin_ctzll(bits);
}

#define FOR_RECEIVERS(t, i, j) \
	for (size_t j = next_receiver(t, i, 0); j < (t)->n; j = next_receiver(t, i, j + 1))

static bool receives_from(const struct tomo *t, size_t i, size_t j)
{
	return t->rx_mask[i * t->words + j / 64] >> (j % 64) & 1;
}

/* MINC, one-level tree: the pass rate A of the shared segment, the root
 * x = 1/A in (0, 1/gamma] of 1 - gamma x = prod_j (1 - gamma_j x).  f(x) =
 * 1 - gamma x - prod is concave with f(0) = 0, f'(0) = sum gamma_j - gamma
 * and f(1/gamma) <= 0: one root, found by bisection.  No probe reached two
 * receivers (sum gamma_j == gamma): nothing is shared, A = 1. */
static double minc_pass(double gamma, const double *gj, size_t m)
{
	double sum = 0, lo = 0, hi = 1.0 / gamma;

	for (size_t j = 0; j < m; j++)
		sum += gj[j];
	if (sum <= gamma * (1 + 1e-12))
		return 1.0;
	for (int it = 0; it < 64; it++) {
		double x = (lo + hi) / 2, prod = 1;
		for (size_t j = 0; j < m; j++)
			prod *= 1 - gj[j] * x;
		if (1 - gamma * x - prod > 0)
			lo = x;
		else
			hi = x;
	}
	return 2.0 / (lo + hi);
}

static bool has_tree(uint8_t status)
{
	return status == TOMO_OK || status == TOMO_UNIDENTIFIED;
}

static uint8_t sender_status(const struct tomo *t, size_t i)
{
	if (!t->n_receivers[i])
		return TOMO_NONE;
	if (t->tot[i] <= 0)
		return TOMO_NO_DATA;
	if (t->tot[t->n + i] <= 0)
		return TOMO_ALL_LOST;
	return t->n_receivers[i] < 2 ? TOMO_UNIDENTIFIED : TOMO_OK;
}

/* Sender i's tree in replicate r: A_i and beta_ij.  A replicate left with no
 * probe received (a window of one busy block) repeats the whole window's. */
static void tree_replicate(struct tomo *t, unsigned r, size_t i)
{
	size_t n = t->n, m = 0;
	double N = count_of(t, r, i), any = count_of(t, r, n + i), a;
	double *beta = &t->rep_beta[(r * n + i) * n];

	if (r && (N <= 0 || any <= 0)) {
		t->rep_n[r * n + i] = t->rep_n[i];
		t->rep_a[r * n + i] = t->rep_a[i];
		memcpy(beta, &t->rep_beta[i * n], n * sizeof(*beta));
		return;
	}
	FOR_RECEIVERS(t, i, j)
		t->gj[m++] = count_of(t, r, 2 * n + i * n + j) / N;
	a = m >= 2 ? minc_pass(any / N, t->gj, m) : 1.0;
	t->rep_n[r * n + i] = N;
	t->rep_a[r * n + i] = a;
	m = 0;
	FOR_RECEIVERS(t, i, j)
		beta[j] = t->gj[m++] / a;
}

static void sender_sides(struct tomo *t, unsigned u, double tq)
{
	size_t n = t->n;

	for (size_t i = 0; i < n; i++) {
		uint8_t st = sender_status(t, i);
		if (!has_tree(st)) {
			t->res.sender[i] = unknown(st);
			if (st == TOMO_ALL_LOST) /* the smallest explanation of nothing at all */
				t->res.sender[i].loss_ppm = t->res.sender[i].low_ppm = 1000000;
			continue;
		}
		for (unsigned r = 0; r <= u; r++)
			tree_replicate(t, r, i);
		t->res.sender[i] = st == TOMO_OK ? estimate_of(t->rep_a[i], jack_se(&t->rep_a[i], n, u), tq)
						 : unknown(st);
	}
}

/* Marks the clean senders into j (t->clean): those whose beta_ij is within
 * CLEAN_Z standard errors (of the difference) of the best one's.  Returns
 * how many senders into j have a tree at all. */
static size_t mark_clean(struct tomo *t, unsigned u, size_t j)
{
	size_t n = t->n, best = n, count = 0;
	double se_best;

	for (size_t i = 0; i < n; i++) {
		t->clean[i] = 0;
		if (!receives_from(t, i, j) || !has_tree(t->res.sender[i].status))
			continue;
		count++;
		if (best == n || t->rep_beta[i * n + j] > t->rep_beta[best * n + j])
			best = i;
	}
	if (count < 2)
		return count;
	se_best = jack_se(&t->rep_beta[best * n + j], n * n, u);
	for (size_t i = 0; i < n; i++) {
		double se, gap;
		if (!receives_from(t, i, j) || !has_tree(t->res.sender[i].status))
			continue;
		se = jack_se(&t->rep_beta[i * n + j], n * n, u);
		gap = t->rep_beta[best * n + j] - t->rep_beta[i * n + j];
		t->clean[i] = gap <= CLEAN_Z * sqrt(se * se + se_best * se_best);
	}
	return count;
}

/* R_j per replicate: the probe-weighted mean of the clean senders' beta_ij. */
static void receiver_replicates(struct tomo *t, unsigned u, size_t j)
{
	size_t n = t->n;

	for (unsigned r = 0; r <= u; r++) {
		double sum = 0, weight = 0;
		for (size_t i = 0; i < n; i++) {
			if (!t->clean[i])
				continue;
			sum += t->rep_n[r * n + i] * t->rep_beta[(r * n + i) * n + j];
			weight += t->rep_n[r * n + i];
		}
		t->rep_r[r * n + j] = weight > 0 ? sum / weight : 1.0;
	}
}

static void receiver_sides(struct tomo *t, unsigned u, double tq)
{
	size_t n = t->n;

	for (size_t j = 0; j < n; j++) {
		bool fed = false;
		size_t count;
		for (size_t i = 0; i < n && !fed; i++)
			fed = receives_from(t, i, j);
		count = fed ? mark_clean(t, u, j) : 0;
		if (count >= 2) {
			receiver_replicates(t, u, j);
			t->res.receiver[j] =
				estimate_of(t->rep_r[j], jack_se(&t->rep_r[j], n, u), tq);
			continue;
		}
		for (unsigned r = 0; r <= u; r++)
			t->rep_r[r * n + j] = 1.0; /* not identifiable: the paths carry it */
		t->res.receiver[j] = unknown(!fed ? TOMO_NONE : count ? TOMO_UNIDENTIFIED : TOMO_NO_DATA);
	}
}

static void paths(struct tomo *t, unsigned u, double tq)
{
	size_t n = t->n;
	double v[TOMO_BLOCKS_MAX + 1];

	for (size_t x = 0; x < n * n; x++)
		t->res.path[x] = unknown(TOMO_NONE);
	for (size_t i = 0; i < n; i++) {
		uint8_t st = t->res.sender[i].status;
		FOR_RECEIVERS(t, i, j) {
			if (!has_tree(st)) {
				t->res.path[i * n + j] = unknown(st);
				continue;
			}
			for (unsigned r = 0; r <= u; r++)
				v[r] = t->rep_beta[(r * n + i) * n + j] / t->rep_r[r * n + j];
			t->res.path[i * n + j] = estimate_of(v[0], jack_se(v, 1, u), tq);
		}
	}
}

const struct tomo_result *tomo_estimate(struct tomo *t, mtime_t now)
{
	unsigned u = select_blocks(t, now);
	double tq = u >= 2 ? t975(u - 1) : 0;

	sum_blocks(t, u);
	t->res.blocks = u;
	t->res.probes = 0;
	for (size_t i = 0; i < t->n; i++)
		t->res.probes += (uint64_t)t->tot[i];
	sender_sides(t, u, tq);
	receiver_sides(t, u, tq);
	paths(t, u, tq);
	return &t->res;
}
