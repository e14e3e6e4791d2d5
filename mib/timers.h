/*
 * Every deadline of the model in one structure: PE hold times, C-group->PE
 * join states, data MDTs, across all VPNs.  Expiry pops only what is due and
 * the next deadline is read in O(1), whatever the number of VPNs.
 *
 * Why a min-heap with back-indexes (four children a node, timers.c), not a
 * timing wheel:
 *  - deadlines are exact nanoseconds on the model clock (a replay expires a
 *    row at its deadline, not at the next tick); a wheel rounds them to its
 *    tick, or needs sorted slots to fire them in order within one;
 *  - hold times run from 1 s to 18 h: a wheel spanning that needs levels
 *    and cascading, and its next deadline is a search, not one read.
 * Refreshes outnumber expiries by far, and most move a deadline later (a
 * Join/Prune or Hello restating state).  Such a move leaves the heap alone
 * (timers_move touches only the timer): the entry keeps its old, earlier key,
 * and when that key comes due the entry is re-keyed to the owner's real
 * deadline (one sift-down from the root) instead of firing.  So a refresh
 * costs O(1) and a timer is re-keyed at most once per hold time, however
 * often it is refreshed; a move earlier sifts up at once (O(log n)).
 * Likewise a cancel (a prune, a row freed) only empties its entry, which is
 * dropped when its key comes to the root: the sift-down happens there, along
 * the heap's hot top, not from a cold place in the middle.  Emptied entries
 * are purged in one O(n) pass when the array fills, which timers_add makes
 * rare by keeping it at least twice the timers that exist.  Nothing
 * allocates after timers_add.  An expiry costs O(log n) in the entries,
 * independent of how many VPNs share them.
 *
 * Keys are never later than the real deadlines, and a timer fires only once
 * its key is its real deadline and the smallest of all, so everything fires
 * exactly at its deadline and in order.  Equal deadlines fire by VPN index,
 * then kind (PEs, rows, data MDTs), then in the order they were last set: as
 * they did when each VPN kept its own lists and expiry went VPN by VPN.
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

#define TIMER_KIND_SHIFT 62 /* a sequence number's top bits: the kind sorts first */

struct timer {
	uint64_t seq;       /* kind << TIMER_KIND_SHIFT | when it was last set */
	uint32_t pos;       /* 1 + its place in the heap; 0 while not armed */
	uint32_t vpn_index; /* whose: the order of equal deadlines */
};

/* An entry's key: (when, the timer's VPN index, seq).  Never later than the
 * timer's own deadline and seq; equal to them once re-keyed or moved earlier.
 * t is NULL once the timer was cancelled: the entry waits to be dropped. */
struct timer_slot {
	mtime_t when;
	uint64_t seq;
	struct timer *t;
};

/* The real deadline of an armed timer: its owner's (pe->expires, ...). */
typedef mtime_t (*timer_due_fn)(const struct timer *t);

/* Asked to fault in [addr, addr + len) of the heap's array before the heap
 * first writes there (timers_set_ahead). */
typedef void (*timer_ahead_fn)(void *ctx, void *addr, size_t len);

struct timers {
	struct timer_slot *v; /* the heap: v[0] has the smallest key */
	size_t n;             /* entries: armed timers and emptied entries */
	size_t emptied;       /* entries whose timer was cancelled */
	size_t added, cap;    /* timers that exist, armed or not; cap >= 2 added */
	uint64_t seq;
	timer_due_fn due;
	/* Past 2 MiB the array is a mapping of its own (0: from malloc), advised
	 * huge pages while there is an ahead; each time the heap reaches a new
	 * 2 MiB of it, ahead is asked for the next 2 MiB. */
	size_t mapped;   /* bytes */
	size_t ahead_at; /* the entry whose placing asks for the next block */
	timer_ahead_fn ahead;
	void *ahead_ctx;
};

void timers_init(struct timers *h, timer_due_fn due);
/* Every timer must have been removed first. */
void timers_free(struct timers *h);
/* From now on the heap's array, once mapped, is faulted in ahead of its growth
 * by ahead(ctx, ...) (the model's slab reserve: its thread takes the page
 * faults, not the engine's); NULL: no longer. */
void timers_set_ahead(struct timers *h, timer_ahead_fn ahead, void *ctx);
/* A new timer, not armed, with its slot reserved so that arming it never
 * allocates.  False when out of memory (then t is untouched). */
bool timers_add(struct timers *h, struct timer *t, uint32_t vpn_index, enum timer_kind kind);
/* Disarms t and gives its slot back: before t's owner is freed. */
void timers_remove(struct timers *h, struct timer *t);
/* The owner's deadline is now `when` (h->due(t) must say so from now on):
 * arms t, or moves it; O(log n), no allocation. */
void timers_set(struct timers *h, struct timer *t, mtime_t when);
/* The same, knowing the deadline it had (`from`, armed or not): a move later
 * (the common refresh) touches only t, O(1). */
void timers_move(struct timers *h, struct timer *t, mtime_t from, mtime_t to);
void timers_cancel(struct timers *h, struct timer *t);
/* Takes off and returns the timer whose deadline comes first if it is due by
 * now (deadline <= now), else NULL.  The caller acts on it; it is disarmed. */
struct timer *timers_pop_due_slow(struct timers *h, mtime_t now);
/* The same, with its common case inline: nothing is due (once per packet). */
static inline struct timer *timers_pop_due(struct timers *h, mtime_t now)
{
	return h->n && h->v[0].when <= now ? timers_pop_due_slow(h, now) : NULL;
}

static inline bool timer_armed(const struct timer *t)
{
	return t->pos != 0;
}

/* Timers armed. */
static inline size_t timers_count(const struct timers *h)
{
	return h->n - h->emptied;
}

static inline enum timer_kind timer_kind(const struct timer *t)
{
	return (enum timer_kind)(t->seq >> TIMER_KIND_SHIFT);
}

/* The PE, row or flow (type) that the timer t is embedded in, as its member `timer`. */
#define TIMER_OWNER(t, type) ((type *)(void *)((char *)(t) - offsetof(type, timer)))

/* No deadline comes before this, MTIME_NEVER when none is armed: O(1).  It
 * may come early (the old deadline of a timer since moved later or
 * cancelled): waking then costs a re-key, never a missed expiry. */
static inline mtime_t timers_next(const struct timers *h)
{
	return h->n ? h->v[0].when : MTIME_NEVER;
}

/* For tests and the model fuzzer: the heap order holds, every back-index
 * points at its own slot, no key is later than its timer's deadline, and the
 * counts add up. */
bool timers_valid(const struct timers *h);

#endif
