/*
 * Every deadline of the model in one structure: PE hold times, C-group->PE
 * join states, data MDTs, across all VPNs.  Expiry pops only what is due and
 * the next deadline is read in O(1), whatever the number of VPNs.
 *
 * Why a binary min-heap with back-indexes, not a timing wheel:
 *  - deadlines are exact nanoseconds on the model clock (a replay expires a
 *    row at its deadline, not at the next tick); a wheel rounds them to its
 *    tick, or needs sorted slots to fire them in order within one;
 *  - hold times run from 1 s to 18 h: a wheel spanning that needs levels
 *    and cascading, and its next deadline is a search, not one read;
 *  - refreshes outnumber expiries by far.  A refresh moves a deadline, most
 *    often to the latest of all (same hold time as the others): the entry
 *    sifts down from where it is, and most entries of a heap sit within a
 *    level or two of the leaves, so that is O(log n) at worst and a few
 *    steps on average, touching only the array (no allocation: every timer
 *    holds its slot in the array from creation, see timers_add).
 * An expiry costs O(log n) in the number of armed timers, independent of how
 * many VPNs share them.
 *
 * Order: by deadline; equal deadlines fire by VPN index, then by kind (PEs,
 * then rows, then data MDTs), then in the order they were set: as they did
 * when each VPN kept its own lists and expiry went VPN by VPN.
 *
 * Ownership: the model owns the heap; each timer is embedded in what it times
 * (struct pe, cgpe, flow), which must timers_remove() it before it is freed.
 */
#ifndef MVPN_TIMERS_H
#define MVPN_TIMERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"

/* Also the firing order at equal deadlines within a VPN. */
enum timer_kind { TIMER_PE = 0, TIMER_ROW = 1, TIMER_DATA_MDT = 2 };

struct vpn;

struct timer {
	struct vpn *vpn; /* whose deadline: the order of ties, and the way back at expiry */
	uint32_t pos;    /* 1 + its place in the heap; 0 while not armed */
	uint8_t kind;    /* enum timer_kind */
};

struct timer_slot {
	mtime_t when;
	uint64_t seq; /* when it was set: first set, first fired among equals */
	struct timer *t;
};

struct timers {
	struct timer_slot *v; /* the heap: v[0] is the soonest */
	size_t n;             /* armed */
	size_t added, cap;    /* timers that exist, armed or not; cap >= added */
	uint64_t seq;
};

void timers_init(struct timers *h);
/* Every timer must have been removed first. */
void timers_free(struct timers *h);
/* A new timer, not armed, with its slot reserved so that arming it never
 * allocates.  False when out of memory (then t is untouched). */
bool timers_add(struct timers *h, struct timer *t, struct vpn *vpn, enum timer_kind kind);
/* Disarms t and gives its slot back: before t's owner is freed. */
void timers_remove(struct timers *h, struct timer *t);
/* Arms t for `when`, or moves it there if armed: O(log n), no allocation. */
void timers_set(struct timers *h, struct timer *t, mtime_t when);
void timers_cancel(struct timers *h, struct timer *t);
/* Takes off and returns the soonest timer if it is due by now (when <= now),
 * else NULL.  The caller acts on it; it is no longer armed. */
struct timer *timers_pop_due(struct timers *h, mtime_t now);

/* The PE, row or flow (type) that the timer t is embedded in, as its member `timer`. */
#define TIMER_OWNER(t, type) ((type *)(void *)((char *)(t) - offsetof(type, timer)))

static inline bool timer_armed(const struct timer *t)
{
	return t->pos != 0;
}

/* When the armed timer t fires. */
static inline mtime_t timer_when(const struct timers *h, const struct timer *t)
{
	return h->v[t->pos - 1].when;
}

/* The soonest deadline, MTIME_NEVER when none is armed: O(1). */
static inline mtime_t timers_next(const struct timers *h)
{
	return h->n ? h->v[0].when : MTIME_NEVER;
}

/* For tests and the model fuzzer: the heap order holds and every back-index
 * points at its own slot. */
bool timers_valid(const struct timers *h);

#endif
