/*
 * What mvpnmon report draws, computed from the records the store gives back
 * (no text here: report_html.c draws it):
 *
 *  - a timeline per PE of one VPN: the PE's mvpnPeStatus from T1 to T2, made
 *    of the state at T1 and the PE changes after it, folded as the store's
 *    own state.c folds them (a new row is unexpected; a row keeps its
 *    expected flag); a checkpoint rebases it (the expected PEs change with a
 *    configuration load, which no change records);
 *  - the pair matrix: per ordered pair, the windows of the period summed;
 *  - per pair, its windows over time, in at most RP_MAX_POINTS points.
 *
 * Aggregating windows: loss = sum lost / sum sent, in ppm; delay and jitter
 * the windows' averages weighted by what each received.  Integers, rounded
 * half up, so that a reader of the store gets the same numbers.
 */
#ifndef MVPN_CLIENT_REPORT_DATA_H
#define MVPN_CLIENT_REPORT_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../history/record.h"
#include "hist_client.h"

/* A lane's status when the VPN has no row for the PE (never seen, or its
 * row removed); otherwise enum pe_status. */
#define RP_ABSENT 0

struct rp_segment {
	uint64_t from_ns, to_ns; /* [from, to) */
	uint8_t status;          /* enum pe_status; RP_ABSENT is not stored */
};

struct rp_lane {
	struct inet_addr pe;
	bool have;          /* the VPN has a row for it now */
	uint8_t expected, alive;
	uint8_t status;     /* now: enum pe_status or RP_ABSENT */
	uint64_t since_ns;  /* of status */
	struct rp_segment *seg; /* owned */
	size_t n, cap;
};

struct rp_timeline {
	uint32_t vpn_index;
	uint64_t start_ns, end_ns;
	struct rp_lane *lanes; /* sorted by address; owned */
	size_t n, cap;
	size_t changes;        /* PE changes applied */
};

/* Starts at start_ns from cp (the VPN's state then; NULL: nothing yet).
 * 0, or -1 out of memory. */
int rp_timeline_start(struct rp_timeline *tl, uint32_t vpn_index, uint64_t start_ns,
		      uint64_t end_ns, const struct hist_checkpoint *cp);
/* A change (others than the VPN's PE changes are ignored), in seq order;
 * its time is taken within [start, end].  0, or -1 out of memory. */
int rp_timeline_change(struct rp_timeline *tl, const struct hist_record *r);
/* The state cp holds at at_ns replaces what the changes made. */
int rp_timeline_rebase(struct rp_timeline *tl, const struct hist_checkpoint *cp, uint64_t at_ns);
/* Closes every lane's last segment at end_ns. */
int rp_timeline_finish(struct rp_timeline *tl);
void rp_timeline_free(struct rp_timeline *tl);

/* Windows summed. */
struct rp_agg {
	uint64_t sent, received, lost;
	uint64_t delay_sum, jitter_sum; /* each window's average times its received */
	uint64_t first_ns, last_ns;     /* window end times */
	uint32_t windows;
};

void rp_agg_add(struct rp_agg *a, const struct hist_pair_window *w, uint64_t when_ns);
/* False when there is nothing to say (nothing sent; nothing received). */
bool rp_agg_loss_ppm(const struct rp_agg *a, uint32_t *ppm);
bool rp_agg_delay_us(const struct rp_agg *a, uint32_t *us);
bool rp_agg_jitter_us(const struct rp_agg *a, uint32_t *us);

/* A chart of one pair: its windows, RP_MAX_POINTS points at most (then each
 * point sums `per_point` consecutive windows). */
#define RP_MAX_POINTS 240

struct rp_series {
	struct inet_addr src, dst;
	struct rp_agg total;
	struct rp_agg *points; /* owned */
	size_t n_points, per_point;
};

/* The pair matrix: the PEs that are a pair's end, sorted, and n x n cells
 * (row: source, column: destination). */
struct rp_pairs {
	struct inet_addr *pes;
	size_t n_pes;
	struct rp_agg *cells;   /* n_pes * n_pes */
	struct rp_series *series; /* one per pair with windows, by (source, destination) */
	size_t n_series;
	size_t windows;
};

/* From one monitor's pair windows (rows m only).  0, or -1 out of memory. */
int rp_pairs_build(struct rp_pairs *p, const struct hist_rows *rows, size_t m);
void rp_pairs_free(struct rp_pairs *p);

/* Which series to draw when there are more than `max`: the worst, by loss
 * then delay, given back in (source, destination) order.  *order (the
 * caller's) holds indexes into p->series; returns how many. */
size_t rp_pairs_pick(const struct rp_pairs *p, size_t max, size_t **order);

#endif
