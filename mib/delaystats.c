#include "delaystats.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef __int128 i128;

/* sum / n rounded to the nearest ns, halves away from zero; clamped to int64. */
static int64_t mean_ns(i128 sum, uint64_t n)
{
	if (!n)
		return 0;
	i128 q = sum / (i128)n, r = sum % (i128)n;
	if (2 * (r < 0 ? -r : r) >= (i128)n)
		q += sum < 0 ? -1 : 1;
	if (q > INT64_MAX)
		return INT64_MAX;
	if (q < INT64_MIN)
		return INT64_MIN;
	return (int64_t)q;
}

static uint64_t abs_diff(int64_t a, int64_t b)
{
	/* Unsigned wrap-around gives the exact difference even across the int64 range. */
	return a > b ? (uint64_t)a - (uint64_t)b : (uint64_t)b - (uint64_t)a;
}

/* Nearest rank (RFC 2330): the smallest value with at least pct% at or below it. */
static size_t rank_index(size_t n, unsigned pct)
{
	size_t rank = (size_t)(((unsigned __int128)n * pct + 99) / 100);

	return rank ? rank - 1 : 0;
}

/* ---- the sliding window ---- */

int delay_window_init(struct delay_window *w, mtime_t span, size_t cap)
{
	memset(w, 0, sizeof(*w));
	if (!cap) {
		errno = EINVAL;
		return -1;
	}
	w->ring = calloc(cap, sizeof(*w->ring));
	if (!w->ring)
		return -1;
	w->span = span;
	w->cap = cap;
	return 0;
}

void delay_window_free(struct delay_window *w)
{
	free(w->ring);
	memset(w, 0, sizeof(*w));
}

/* The i-th oldest sample. */
static const struct delay_sample *nth(const struct delay_window *w, size_t i)
{
	size_t p = w->head + i;

	return &w->ring[p >= w->cap ? p - w->cap : p];
}

static void pop_oldest(struct delay_window *w)
{
	w->head = w->head + 1 == w->cap ? 0 : w->head + 1;
	w->len--;
}

void delay_window_add(struct delay_window *w, const struct delay_sample *s)
{
	if (!w->cap)
		return;
	if (w->len == w->cap) {
		pop_oldest(w);
		w->dropped++;
	}
	w->ring[(w->head + w->len) % w->cap] = *s;
	w->len++;
}

void delay_window_expire(struct delay_window *w, mtime_t now)
{
	/* at + span <= now, written so that neither side can overflow. */
	while (w->len && w->ring[w->head].at <= now && now - w->ring[w->head].at >= w->span)
		pop_oldest(w);
}

/*
 * Scratch entries are ordered either as plain values (w == NULL) or, for
 * IPDV, as window positions by (seq, arrival).  No qsort: glibc's may malloc.
 */
static bool before(const struct delay_window *w, int64_t a, int64_t b)
{
	if (!w)
		return a < b;
	uint64_t sa = nth(w, (size_t)a)->seq, sb = nth(w, (size_t)b)->seq;
	return sa < sb || (sa == sb && a < b);
}

static void sift_down(const struct delay_window *w, int64_t *v, size_t root, size_t n)
{
	for (size_t child; (child = 2 * root + 1) < n; root = child) {
		if (child + 1 < n && before(w, v[child], v[child + 1]))
			child++;
		if (!before(w, v[root], v[child]))
			return;
		int64_t t = v[root];
		v[root] = v[child];
		v[child] = t;
	}
}

static void heap_sort(const struct delay_window *w, int64_t *v, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift_down(w, v, i, n);
	for (size_t end = n; end-- > 1;) {
		int64_t t = v[0];
		v[0] = v[end];
		v[end] = t;
		sift_down(w, v, 0, end);
	}
}

/* Insertion sort, giving up (false) after 'budget' moves. */
static bool insertion_sort(const struct delay_window *w, int64_t *v, size_t n, size_t budget)
{
	size_t moves = 0;

	for (size_t i = 1; i < n; i++) {
		int64_t x = v[i];
		size_t j = i;
		while (j && before(w, x, v[j - 1])) {
			v[j] = v[j - 1];
			j--;
			moves++;
		}
		v[j] = x;
		if (moves > budget)
			return false;
	}
	return true;
}

/* Hoare partition of a[l..r] around a median of three: afterwards
 * a[l..*j] <= pivot <= a[*i..r], a[*j+1..*i-1] == pivot, and *j < *i. */
static void partition(int64_t *a, ptrdiff_t l, ptrdiff_t r, ptrdiff_t *pi, ptrdiff_t *pj)
{
	int64_t x = a[l], y = a[l + (r - l) / 2], z = a[r], pivot;
	ptrdiff_t i = l, j = r;

	if (x < y)
		pivot = y < z ? y : (x < z ? z : x);
	else
		pivot = x < z ? x : (y < z ? z : y);
	/* The pivot is in the range, so the scans stop without bounds checks. */
	do {
		while (a[i] < pivot)
			i++;
		while (pivot < a[j])
			j--;
		if (i <= j) {
			int64_t t = a[i];
			a[i++] = a[j];
			a[j--] = t;
		}
	} while (i <= j);
	*pi = i;
	*pj = j;
}

static unsigned depth_budget(size_t n)
{
	unsigned depth = 16;

	for (; n; n >>= 1)
		depth += 2;
	return depth;
}

/* Introsort: quicksort, heapsort when it recurses too deep, insertion sort last. */
static void quick_sort(int64_t *a, ptrdiff_t l, ptrdiff_t r, unsigned depth)
{
	while (r - l > 16) {
		if (!depth--) {
			heap_sort(NULL, a + l, (size_t)(r - l + 1));
			return;
		}
		ptrdiff_t i, j;
		partition(a, l, r, &i, &j);
		if (j - l < r - i) { /* recurse into the smaller side: O(log n) stack */
			quick_sort(a, l, j, depth);
			l = i;
		} else {
			quick_sort(a, i, r, depth);
			r = j;
		}
	}
}

/* O(n + displacement) on nearly sorted input, O(n log n) otherwise. */
static void adaptive_sort(const struct delay_window *w, int64_t *v, size_t n)
{
	if (insertion_sort(w, v, n, 4 * n + 64))
		return;
	if (w) {
		heap_sort(w, v, n);
		return;
	}
	quick_sort(v, 0, (ptrdiff_t)n - 1, depth_budget(n));
	insertion_sort(NULL, v, n, SIZE_MAX); /* ranges of up to 17 left unsorted */
}

/*
 * Puts the k-th smallest of a[0..n) at a[k], smaller-or-equal ones before it
 * and greater-or-equal ones after.  O(n) on average; should the range shrink
 * too slowly (adversarial input) the rest is heap-sorted: O(n log n) at worst.
 */
static void select_nth(int64_t *a, size_t n, size_t k)
{
	ptrdiff_t l = 0, r = (ptrdiff_t)n - 1, kk = (ptrdiff_t)k;
	unsigned budget = depth_budget(n);

	while (l < r) {
		if (!budget--) {
			heap_sort(NULL, a + l, (size_t)(r - l + 1));
			return;
		}
		ptrdiff_t i, j;
		partition(a, l, r, &i, &j);
		if (j < kk)
			l = i;
		if (kk < i)
			r = j;
	}
}

/*
 * IPDV over the window needs, for each sequence, the sample with the next
 * sequence.  The summary sorts the window by (seq, arrival) in the scratch
 * buffer and pairs neighbours.  When the window's sequences span less than
 * 2^(63 - position bits) the key is (seq - lowest) and the position packed in
 * one int64, compared directly; otherwise (random 64-bit sequences that
 * jumped) positions are sorted through the ring.  Probes mostly arrive in
 * order, so the adaptive sort is O(n) but for a few reordered probes.
 * Keeping a link to the previous sequence in each sample at add time instead
 * would need a lookup per add (the predecessor may arrive later) and a wider
 * ring; sorting once a second keeps the add O(1).
 */
static void sort_by_seq(const struct delay_window *w, int64_t *v, size_t n)
{
	uint64_t lo = UINT64_MAX, hi = 0;
	unsigned bits = 0;

	if (n < 2) {
		if (n)
			v[0] = 0;
		return;
	}
	while (bits < 63 && (n - 1) >> bits)
		bits++;
	for (size_t i = 0; i < n; i++) {
		uint64_t s = nth(w, i)->seq;
		lo = s < lo ? s : lo;
		hi = s > hi ? s : hi;
	}
	if (bits < 63 && (hi - lo) >> (63 - bits) == 0) {
		for (size_t i = 0; i < n; i++)
			v[i] = (int64_t)((nth(w, i)->seq - lo) << bits | i);
		adaptive_sort(NULL, v, n);
		for (size_t i = 0; i < n; i++)
			v[i] &= (int64_t)((1ull << bits) - 1);
	} else {
		for (size_t i = 0; i < n; i++)
			v[i] = (int64_t)i;
		adaptive_sort(w, v, n);
	}
}

static void window_ipdv(const struct delay_window *w, int64_t *scratch, struct delay_summary *out)
{
	const struct delay_sample *prev = NULL;
	unsigned __int128 sum = 0;
	uint64_t count = 0;

	sort_by_seq(w, scratch, w->len);
	for (size_t i = 0; i < w->len; i++) {
		const struct delay_sample *s = nth(w, (size_t)scratch[i]);
		if (prev && s->seq == prev->seq)
			continue; /* a later copy of the same probe */
		if (prev && s->seq - prev->seq == 1) {
			sum += abs_diff(s->delay_ns, prev->delay_ns);
			count++;
		}
		prev = s;
	}
	out->ipdv_count = count;
	out->jitter_ns = count ? mean_ns((i128)sum, count) : 0;
}

bool delay_window_summary(const struct delay_window *w, int64_t *scratch, size_t scratch_len,
			  struct delay_summary *out)
{
	size_t n = w->len;
	i128 sum = 0;

	memset(out, 0, sizeof(*out));
	if (n > scratch_len)
		return false;
	if (!n)
		return true;
	out->min_ns = INT64_MAX;
	out->max_ns = INT64_MIN;
	for (size_t i = 0; i < n; i++) {
		int64_t d = nth(w, i)->delay_ns;
		scratch[i] = d;
		sum += d;
		if (d < out->min_ns)
			out->min_ns = d;
		if (d > out->max_ns)
			out->max_ns = d;
	}
	out->count = n;
	out->avg_ns = mean_ns(sum, n);

	size_t k50 = rank_index(n, 50), k99 = rank_index(n, 99);
	select_nth(scratch, n, k50);
	out->p50_ns = scratch[k50];
	/* Everything from k50 on is >= p50, so p99 is selected among those. */
	select_nth(scratch + k50, n - k50, k99 - k50);
	out->p99_ns = scratch[k99];

	window_ipdv(w, scratch, out);
	return true;
}

/* ---- since start ---- */

#define HIST_LINEAR 64u  /* 1-us buckets below 64 us */
#define HIST_FIRST_OCTAVE 6u
#define HIST_OCTAVES ((DELAY_HIST_BUCKETS - HIST_LINEAR) / DELAY_HIST_SUB)
#define HIST_SUB_BITS 5u /* log2(DELAY_HIST_SUB) */

_Static_assert(DELAY_HIST_SUB == 1u << HIST_SUB_BITS, "DELAY_HIST_SUB is 2^HIST_SUB_BITS");
_Static_assert(HIST_LINEAR == 1u << HIST_FIRST_OCTAVE, "linear buckets end where octaves start");
_Static_assert(HIST_LINEAR + HIST_OCTAVES * DELAY_HIST_SUB == DELAY_HIST_BUCKETS,
	       "whole octaves");

static unsigned hist_bucket(int64_t delay_ns)
{
	if (delay_ns < 0)
		return 0;
	uint64_t us = (uint64_t)delay_ns / 1000;
	if (us < HIST_LINEAR)
		return (unsigned)us;
	unsigned octave = 63u - (unsigned)__builtin_clzll(us);
	if (octave >= HIST_FIRST_OCTAVE + HIST_OCTAVES)
		return DELAY_HIST_BUCKETS - 1;
	unsigned sub = (unsigned)(us >> (octave - HIST_SUB_BITS)) & (DELAY_HIST_SUB - 1);
	return HIST_LINEAR + (octave - HIST_FIRST_OCTAVE) * DELAY_HIST_SUB + sub;
}

/* The largest ns that falls in bucket b; INT64_MAX for the open last bucket. */
static int64_t hist_upper_ns(unsigned b)
{
	uint64_t end_us;

	if (b >= DELAY_HIST_BUCKETS - 1)
		return INT64_MAX;
	if (b < HIST_LINEAR) {
		end_us = b + 1;
	} else {
		unsigned octave = HIST_FIRST_OCTAVE + (b - HIST_LINEAR) / DELAY_HIST_SUB;
		uint64_t sub = (b - HIST_LINEAR) % DELAY_HIST_SUB;
		end_us = (DELAY_HIST_SUB + sub + 1) << (octave - HIST_SUB_BITS);
	}
	return (int64_t)(end_us * 1000 - 1);
}

void delay_total_init(struct delay_total *t)
{
	memset(t, 0, sizeof(*t));
	t->min_ns = INT64_MAX;
	t->max_ns = INT64_MIN;
}

void delay_total_add(struct delay_total *t, const struct delay_sample *s)
{
	int64_t d = s->delay_ns;

	t->count++;
	t->sum_ns += d;
	if (d < t->min_ns)
		t->min_ns = d;
	if (d > t->max_ns)
		t->max_ns = d;
	t->hist[hist_bucket(d)]++;
	/* Only the highest sequence so far is remembered: a late probe pairs with nothing. */
	if (t->have_last && s->seq == t->last_seq + 1 && t->last_seq != UINT64_MAX) {
		t->ipdv_sum_ns += abs_diff(d, t->last_delay_ns);
		t->ipdv_count++;
	}
	if (!t->have_last || s->seq > t->last_seq) {
		t->last_seq = s->seq;
		t->last_delay_ns = d;
		t->have_last = true;
	}
}

static int64_t hist_percentile(const struct delay_total *t, unsigned pct)
{
	uint64_t want = rank_index(t->count, pct) + 1, seen = 0;
	unsigned b = 0;

	for (; b < DELAY_HIST_BUCKETS - 1; b++) {
		seen += t->hist[b];
		if (seen >= want)
			break;
	}
	int64_t v = hist_upper_ns(b);
	return v < t->min_ns ? t->min_ns : v > t->max_ns ? t->max_ns : v;
}

void delay_total_summary(const struct delay_total *t, struct delay_summary *out)
{
	memset(out, 0, sizeof(*out));
	if (!t->count)
		return;
	out->count = t->count;
	out->min_ns = t->min_ns;
	out->max_ns = t->max_ns;
	out->avg_ns = mean_ns(t->sum_ns, t->count);
	out->p50_ns = hist_percentile(t, 50);
	out->p99_ns = hist_percentile(t, 99);
	out->ipdv_count = t->ipdv_count;
	out->jitter_ns = mean_ns(t->ipdv_sum_ns, t->ipdv_count);
}
