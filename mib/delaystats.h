/*
 * Delay statistics of one probed PE pair: a sliding window of the most recent
 * samples (exact min/avg/max/percentiles/jitter over the window) and a
 * since-start summary (exact min/avg/max/jitter; percentiles from a
 * log-linear histogram with bounded relative error).
 *
 * A sample is (time it was received, one-way delay in ns, probe sequence).
 * Jitter is RFC 3393 IPDV: for consecutive probes of the pair (by sequence,
 * seq == previous seq + 1, received in any order), the absolute difference
 * of their delays; reported as the mean of those absolute differences.
 * Samples whose sequence has no received predecessor contribute no IPDV.
 * A sequence received more than once counts by its first copy.
 *
 * No allocation after init; every struct is owned by its pair.
 */
#ifndef MVPN_DELAYSTATS_H
#define MVPN_DELAYSTATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"

struct delay_sample {
	mtime_t at;       /* when it was received (model clock) */
	int64_t delay_ns; /* may be negative for corrected delays; raw ones are >= 0 */
	uint64_t seq;
};

struct delay_summary {
	uint64_t count;     /* samples summarised */
	int64_t min_ns, max_ns, avg_ns, p50_ns, p99_ns;
	uint64_t ipdv_count; /* IPDV pairs found */
	int64_t jitter_ns;  /* mean |IPDV|; 0 when ipdv_count is 0 */
};

/* ---- the sliding window: samples received within the last span ns ---- */

struct delay_window {
	mtime_t span;
	struct delay_sample *ring; /* capacity cap, oldest at head */
	size_t cap, head, len;
	uint64_t dropped;          /* samples pushed out early because the ring was full */
};

/* cap: the most samples the window can hold (rate x span, with headroom). */
int delay_window_init(struct delay_window *w, mtime_t span, size_t cap);
void delay_window_free(struct delay_window *w);
/* Samples must arrive in non-decreasing 'at' order. */
void delay_window_add(struct delay_window *w, const struct delay_sample *s);
/* Forgets samples with at + span <= now. */
void delay_window_expire(struct delay_window *w, mtime_t now);
/* Exact figures over what the window holds (expire first).  Percentiles are
 * nearest-rank (RFC 2330 style: the smallest value with at least p% of the
 * samples at or below it).  scratch holds scratch_len int64_t; no allocation.
 * The owner sizes it to w->cap when it creates w; a scratch shorter than the
 * window's samples is refused (false, zero summary), never written past. */
bool delay_window_summary(const struct delay_window *w, int64_t *scratch, size_t scratch_len,
			  struct delay_summary *out);

/* ---- since start ---- */

/* Histogram of non-negative delays, in whole microseconds (u = ns / 1000):
 * 64 linear 1-us buckets for u < 64, then 32 buckets per power of two of u
 * (relative width 1/32) for the 24 octaves 2^6 <= u < 2^30 (2^30 us is about
 * 17.9 min); larger values go to the last bucket, negative ones to the first.
 * Percentiles are the bucket's largest ns clipped to [min, max]: never below
 * the exact nearest-rank value, and above it by less than 1 us below 64 us,
 * by less than 1/32 (3.1 %) of it above; in the last bucket (from 2^30 - 2^24
 * us up) it is max.  (64 + 32 x 24 = 832 buckets, 3.3 KB per pair.) */
#define DELAY_HIST_SUB 32
#define DELAY_HIST_BUCKETS (64 + DELAY_HIST_SUB * 24)

struct delay_total {
	uint64_t count;
	int64_t min_ns, max_ns;
	__int128 sum_ns;      /* exact: integers, no floating point */
	uint64_t ipdv_count;
	__int128 ipdv_sum_ns;
	uint64_t last_seq;   /* highest sequence seen, and its delay, for IPDV */
	int64_t last_delay_ns;
	bool have_last;
	uint32_t hist[DELAY_HIST_BUCKETS];
};

void delay_total_init(struct delay_total *t);
/* IPDV since start: taken between s and the previous sample when
 * s->seq == last_seq + 1 (consecutive probes received in order). */
void delay_total_add(struct delay_total *t, const struct delay_sample *s);
void delay_total_summary(const struct delay_total *t, struct delay_summary *out);

#endif
