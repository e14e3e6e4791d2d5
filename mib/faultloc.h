/*
 * Where a probed VPN's problem is: the smallest set of components that
 * explains every pair over its rising threshold.  Pure logic: no I/O, no
 * net-snmp, no text.  Run once per window, after tomo_estimate().
 *
 * Components (see mib/tomography.h for the tree): the sender side of PE i
 * (explains every pair i -> *), the receiver side of PE j (every pair * ->
 * j), the path i -> j (that pair alone), and the monitor's own link (every
 * tunnel, so every pair).
 *
 * Loss (rising threshold L ppm).  A pair has moved when its loss reaches L.
 *  1. The monitor's link (it needs the estimates and the echoes): when
 *     every sender side or every receiver side (at least two PEs) is implicated (estimate's interval above L/3, or all
 *     lost) and the tunnels' echoes lose together (the echoes of all
 *     tunnels pooled: Wilson interval above L/3; and no tunnel's echoes
 *     clearly clean: each one's interval reaches L/3).  Then that is the
 *     one fault: nothing else is blamed, and `unreliable` is set: the
 *     figures are the monitor's, not the provider's.
 *  2. Else PE-level explanations, greedily, the one explaining the most
 *     unexplained moved pairs first, while one explains two or more.  A
 *     side of PE p qualifies when (a) it has two pairs or more, (b) nearly
 *     all of them moved: at most one in ten (rounded down) may stay under
 *     L, so all of them below ten pairs, and (c) its own estimate's
 *     interval lies above L/3.  L/3 is the threshold share: a pair crosses
 *     three components, and if the pair loses L, one of them loses at least
 *     about L/3 (1 - (1-a)(1-b)(1-c) <= a + b + c).
 *  3. Every moved pair still unexplained is its path's.  A path whose own
 *     estimate is not above L/3 (or that has none) is flagged
 *     FAULT_RESIDUAL: blamed because it is what remains.
 *
 * Delay and jitter (rising threshold in us): a pair has moved when it
 * reaches the threshold.  The same greedy rule on which pairs moved
 * together (conditions (a) and (b); no estimate: a mean one-way delay
 * cannot be split among segments, only the pattern of pairs can), then
 * paths.  The shift reported is the median, over the fault's moved pairs,
 * of the pair's value minus a reference: the median of the unmoved pairs
 * that share the pair's other end (into the same receiver from other
 * senders for a sender side; from the same sender to other receivers for a
 * receiver side; either, in that order, for a path).  Without any such
 * pair the shift is over the threshold and FAULT_NO_REFERENCE is set.
 *
 * `since`: a fault located in the previous run too (same kind, metric and
 * addresses) keeps its since and its id; a new one starts now, id 0.
 *
 * Ownership: the caller owns struct faultloc; it owns its arrays.
 */
#ifndef MVPN_FAULTLOC_H
#define MVPN_FAULTLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "alarms.h"
#include "clock.h"
#include "tomography.h"

/* A pair's window figures in the MIB's units (loss ppm, corrected delay us,
 * jitter us), as the alarms judge them; have[k] false: not judged (no pair,
 * window not full, no value). */
struct faultloc_pair {
	bool have[METRICS];
	uint32_t value[METRICS];
};

/* A tunnel's echoes decided over its window. */
struct faultloc_echo {
	uint32_t sent, received;
};

struct faultloc_input {
	size_t n;                          /* PEs (vp->n) */
	const struct inet_addr *pes;       /* [n], vp->pes */
	const uint8_t *roles;              /* [n], enum tomo_role bits */
	const struct faultloc_pair *pairs; /* [n * n], row = sender */
	const struct thresholds *th;       /* the VPN's: rising 0 = metric not judged */
	const struct tomo_result *tomo;    /* NULL: no estimates (loss then by pattern only) */
	const struct faultloc_echo *echo;  /* [n] or NULL */
};

enum fault_kind {
	FAULT_SENDER_SIDE = 1,
	FAULT_RECEIVER_SIDE = 2,
	FAULT_PATH = 3,
	FAULT_MONITOR_LINK = 4,
};

#define FAULT_RESIDUAL 0x1     /* a path blamed for what remains */
#define FAULT_NO_REFERENCE 0x2 /* shift measured from the threshold: nothing unmoved to compare */

#define FAULT_NO_PE ((size_t)-1)

struct fault {
	uint8_t kind;   /* enum fault_kind */
	uint8_t metric; /* enum metric */
	uint8_t flags;
	size_t pe, peer;                  /* positions; path pe -> peer; FAULT_NO_PE if none */
	struct inet_addr pe_addr, peer_addr; /* zero where no PE */
	uint32_t loss_ppm, low_ppm, high_ppm; /* loss: the component's estimate and interval */
	uint32_t echo_loss_ppm;           /* PE sides: its tunnel's echo loss; monitor: pooled */
	int64_t shift_us;                 /* delay, jitter: the common shift */
	uint32_t pairs;                   /* moved pairs it explains */
	mtime_t since;
	uint32_t id; /* its history records' key (mib/locate.c), carried with since; 0: none */
};

struct faultloc {
	struct fault *v;    /* sorted by metric, kind, pe, peer */
	size_t n, cap;
	bool unreliable;    /* the monitor's link loses: probing figures are not the provider's */
	bool restored;      /* v holds faults put back after a restart (mib/locate.c) */
	struct fault *prev; /* the previous run's, for since */
	size_t n_prev, cap_prev;
	uint8_t *moved, *explained; /* [n * n] scratch */
	int64_t *scratch;           /* [2n] */
	size_t scratch_n;
};

void faultloc_init(struct faultloc *f);
void faultloc_free(struct faultloc *f);
/* Forgets the located faults (their since, and any restored): after a
 * reconfiguration. */
void faultloc_reset(struct faultloc *f);
/* Locates the faults of one window into f->v.  False when out of memory
 * (the previous list is kept). */
bool faultloc_run(struct faultloc *f, const struct faultloc_input *in, mtime_t now);
/* Puts x in f->v in its place (the list's order), as if the last run had
 * located it; positions pe and peer set.  False when out of memory. */
bool faultloc_insert(struct faultloc *f, const struct fault *x);

#endif
