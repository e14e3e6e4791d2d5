/*
 * Loss tomography of one probed VPN: where the probes are lost, from the
 * joint reception pattern of each probe.  Pure arithmetic: no I/O, no
 * net-snmp, no text; the probe accounting (mib/probing.c) feeds it each
 * probe's fate as it is decided, and asks for estimates once per window.
 *
 * The tree.  A probe of sender PE i goes monitor -> tunnel to PE i -> PE i's
 * ingress onto the default MDT (the *sender side* of i, shared by all of i's
 * receivers), then, per receiver PE j, across the provider core (the *path*
 * i -> j), then PE j's egress and its tunnel back to the monitor (the
 * *receiver side* of j, shared by every sender's path into j).  Each probe
 * is one draw of a one-level multicast tree: root segment pass rate A_i,
 * branch pass rate beta_ij = P_ij * R_j, losses independent across segments.
 *
 * Sender side, by MINC (R. Caceres, N. G. Duffield, J. Horowitz, D. Towsley,
 * "Multicast-based inference of network-internal loss characteristics", IEEE
 * Trans. Information Theory 45(7), 1999).  Over N probes of sender i, let
 * gamma = N_any / N (probes some receiver got) and gamma_j = n_ij / N.  The
 * maximum-likelihood A_i solves
 *         1 - gamma / A = prod_j (1 - gamma_j / A)
 * (for two receivers: A = gamma_j gamma_k / gamma_jk); its root above gamma
 * is unique when sum_j gamma_j > gamma (some probe reached two receivers).
 * Then beta_ij = gamma_j / A_i.  It needs two receivers or more: with one,
 * sender side and branch are one product and cannot be split (the estimate
 * is then TOMO_UNIDENTIFIED and beta_ij = gamma_j: the branch carries all).
 *
 * Receiver side and path: beta_ij = P_ij R_j is a product of two factors no
 * reception pattern separates (a probe crosses one receiver side per
 * branch; different senders' probes into j never share a draw).  The
 * identifiability assumption is the smallest explanation: most paths into
 * j are lossless.  R_j is the mean of beta_ij (weighted by probes) over the
 * "clean" senders: those whose beta_ij is not significantly below the best
 * one (within 3 standard errors of the difference); P_ij = beta_ij / R_j.
 * A loss common to every path into j is thus put on j's receiver side; one
 * path worse than the others is put on that path.  With fewer than two
 * senders into j, R_j is TOMO_UNIDENTIFIED and P_ij = beta_ij.
 *
 * Intervals: delete-one-block jackknife.  The window is cut into K blocks
 * of equal time; every estimate is recomputed K times, each time without
 * one block (all senders together, so R_j and P_ij use coherent replicates),
 * var = (K-1)/K sum_b (theta_(b) - mean)^2, and the 95 % interval is
 * theta +- t(0.975, K-1) sqrt(var) (Student's t: K is small), its upper
 * loss bound raised to the log scale's, loss exp(t sqrt(var) / loss), when
 * higher (a rare loss is skewed).  Blocks make the interval honest under
 * loss that is bursty within a block.  Coverage, measured against an
 * independent simulator (tests/unit/test_tomography.c): 95-97 %.
 *
 * Estimates are loss (1 - pass rate) in ppm, as the MIB shows loss, with
 * low/high bounds clamped to [0, 1e6].  The window is the K complete blocks
 * before the block that holds `now` (the pair window's length; it lags the
 * pair figures by at most one block).
 *
 * Ownership: the caller owns the struct tomo (tomo_new/tomo_free); it owns
 * everything inside, including the result tomo_estimate() returns, which
 * stays valid until the next tomo_estimate() or tomo_free().  No allocation
 * after tomo_new().
 */
#ifndef MVPN_TOMOGRAPHY_H
#define MVPN_TOMOGRAPHY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"

/* A PE's roles: the values of enum pe_role (mib/probing.h), so vp->roles fits. */
enum tomo_role { TOMO_SENDER = 1, TOMO_RECEIVER = 2 };

#define TOMO_BLOCKS_DEFAULT 10
#define TOMO_BLOCKS_MAX 64

enum tomo_status {
	TOMO_NONE = 0,         /* no such component (not a sender / receiver / pair) */
	TOMO_OK = 1,           /* an estimate with its interval */
	TOMO_NO_DATA = 2,      /* no probe decided in the window */
	TOMO_UNIDENTIFIED = 3, /* too few receivers (sender side) or senders (receiver side) */
	TOMO_ALL_LOST = 4,     /* no receiver got any probe: nothing to split */
};

/* TOMO_OK: loss and its interval.  Otherwise loss 0 within [0, 1e6] (not
 * known), but TOMO_NONE: all 0, and a sender side TOMO_ALL_LOST: 1e6 within
 * [1e6, 1e6], the smallest explanation of nothing received (its paths are
 * TOMO_ALL_LOST, unknown). */
struct tomo_estimate {
	uint8_t status;           /* enum tomo_status */
	uint32_t loss_ppm;        /* point estimate */
	uint32_t low_ppm, high_ppm; /* 95 % interval */
};

struct tomo_result {
	size_t n;                 /* PEs, positions as given to tomo_new */
	mtime_t from, to;         /* the window estimated: [from, to) */
	unsigned blocks;          /* non-empty blocks used (jackknife K) */
	uint64_t probes;          /* probes decided in the window, all senders */
	struct tomo_estimate *sender;   /* [n]: sender side of PE i */
	struct tomo_estimate *receiver; /* [n]: receiver side of PE j */
	struct tomo_estimate *path;     /* [n * n], row = sender: path i -> j */
};

struct tomo;

/* n PEs (vp->n), their roles (n bytes, enum tomo_role bits), the pair
 * window, K blocks (0: TOMO_BLOCKS_DEFAULT; at most TOMO_BLOCKS_MAX).
 * NULL when out of memory or with no window. */
struct tomo *tomo_new(size_t n, const uint8_t *roles, mtime_t window, unsigned blocks);
void tomo_free(struct tomo *t);

/* uint64_t words of a reception bitset: (n + 63) / 64. */
size_t tomo_rx_words(const struct tomo *t);

/* A probe of PE `sender` was decided at `at` (its send time plus the loss
 * timeout, the time probing.c's stream_decide gives its outcomes).  Bit j of
 * rx (tomo_rx_words() words) is set if receiver PE j got it.  Bits of PEs
 * that are not receivers, and bit `sender`, are ignored.  A probe older than
 * the blocks kept is ignored (counted in tomo_dropped()).  O(words + bits). */
void tomo_probe_decided(struct tomo *t, size_t sender, mtime_t at, const uint64_t *rx);
uint64_t tomo_dropped(const struct tomo *t);

/* The estimates over the window before now's block.  O(K n^2). */
const struct tomo_result *tomo_estimate(struct tomo *t, mtime_t now);

#endif
