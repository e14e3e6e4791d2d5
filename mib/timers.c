#include "timers.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "hugemap.h"

#if defined(__SANITIZE_ADDRESS__)
#define TIMERS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TIMERS_ASAN 1
#endif
#endif

/* Four children a node: half the depth of a binary heap, so half the moves
 * (each a write into a timer's owner, far away in memory) per pop, and the
 * four children share a cache line or two. */
#define ARITY 4
#define PARENT(i) (((i) - 1) / ARITY)

void timers_init(struct timers *h, timer_due_fn due)
{
	memset(h, 0, sizeof(*h));
	h->due = due;
}

void timers_free(struct timers *h)
{
	timer_ahead_fn ahead = h->ahead;
	void *ctx = h->ahead_ctx;

	if (h->mapped)
		munmap(h->v, h->mapped);
	else
		free(h->v);
	timers_init(h, h->due);
	timers_set_ahead(h, ahead, ctx);
}

void timers_set_ahead(struct timers *h, timer_ahead_fn ahead, void *ctx)
{
	h->ahead = ahead;
	h->ahead_ctx = ctx;
	h->ahead_at = 0;
#ifdef MADV_HUGEPAGE
	if (ahead && h->mapped)
		(void)madvise(h->v, h->mapped, MADV_HUGEPAGE);
#endif
}

/*
 * The array.  A model of a million rows has a heap of 24 MB, written entry
 * after entry as rows are made: from malloc, 6,000 first writes of a page by
 * the engine thread (5-11 us each on the benchmarks' VM, 60 ns a create).
 * Past HUGE bytes it is a mapping of its own, aligned to 2 MiB, and each
 * 2 MiB is faulted in ahead by another thread (timers_set_ahead), advised
 * huge pages: one fault a 2 MiB, taken by that thread, compaction and all.
 * Without such a thread the pages stay 4 KiB: a huge page's fault on the
 * engine thread may compact memory first (defrag "madvise"), a stall.  It
 * grows by mremap to a fresh aligned place: no copy, huge pages moved whole.
 * Under AddressSanitizer it stays malloc's.
 */
#define HUGE HUGEMAP_ALIGN


/* The array at cap entries (more than now), its entries kept; false: out of
 * memory.  Out of line: timers_add's common case then saves no registers. */
static __attribute__((noinline, cold)) bool resize(struct timers *h, size_t cap)
{
	size_t bytes = cap * sizeof(*h->v);
#ifndef TIMERS_ASAN
	if (bytes >= HUGE) {
		char *p = hugemap(bytes, h->ahead != NULL);
		if (!p)
			return false;
		if (h->mapped) {
			void *moved = mremap(h->v, h->mapped, bytes, MREMAP_MAYMOVE | MREMAP_FIXED, p);
			if (moved == MAP_FAILED) {
				munmap(p, bytes);
				return false;
			}
		} else {
			memcpy(p, h->v, h->n * sizeof(*h->v));
			free(h->v);
		}
		h->v = (struct timer_slot *)(void *)p;
		h->mapped = bytes;
		h->cap = cap;
		h->ahead_at = 0; /* ask for the block after the heap's end again */
		return true;
	}
#endif
	struct timer_slot *grown = realloc(h->v, bytes);
	if (!grown)
		return false;
	h->v = grown;
	h->cap = cap;
	return true;
}

/* Entry h->n is placed next: past ahead_at, it has reached a new block of the
 * array, and the block after it is asked for. */
static void ask_ahead(struct timers *h)
{
	size_t block = (h->n * sizeof(*h->v)) / HUGE + 1, from = block * HUGE;

	h->ahead_at = (from + sizeof(*h->v) - 1) / sizeof(*h->v);
	if (from < h->mapped)
		h->ahead(h->ahead_ctx, (char *)h->v + from,
			 h->mapped - from < HUGE ? h->mapped - from : HUGE);
}

static uint32_t vpn_of(const struct timer_slot *s)
{
	return s->t ? s->t->vpn_index : 0; /* an emptied entry: any fixed order will do */
}

/* Does slot a come before slot b? */
static bool before(const struct timer_slot *a, const struct timer_slot *b)
{
	if (a->when != b->when)
		return a->when < b->when;
	/* Equal keys: read the timers (rare enough not to matter). */
	uint32_t va = vpn_of(a), vb = vpn_of(b);
	if (va != vb)
		return va < vb;
	return a->seq < b->seq;
}

static void place(struct timers *h, size_t i, const struct timer_slot *s)
{
	h->v[i] = *s;
	if (s->t)
		s->t->pos = (uint32_t)(i + 1);
}

/* Moves the slot at i towards the root while it comes before its parent. */
static void sift_up(struct timers *h, size_t i)
{
	struct timer_slot s = h->v[i];

	while (i > 0 && before(&s, &h->v[PARENT(i)])) {
		place(h, i, &h->v[PARENT(i)]);
		i = PARENT(i);
	}
	place(h, i, &s);
}

/* Moves the slot at i towards the leaves while a child comes before it. */
static void sift_down(struct timers *h, size_t i)
{
	struct timer_slot s = h->v[i];

	for (;;) {
		size_t first = ARITY * i + 1, c = first;
		if (first >= h->n)
			break;
		for (size_t k = first + 1; k < first + ARITY && k < h->n; k++)
			if (before(&h->v[k], &h->v[c]))
				c = k;
		if (!before(&h->v[c], &s))
			break;
		place(h, i, &h->v[c]);
		i = c;
	}
	place(h, i, &s);
}

/* Takes the root off. */
static void pop_root(struct timers *h)
{
	if (h->v[0].t)
		h->v[0].t->pos = 0;
	else
		h->emptied--;
	if (--h->n == 0)
		return;
	place(h, 0, &h->v[h->n]);
	sift_down(h, 0);
}

/* Drops every emptied entry and rebuilds the heap: O(n), when the array is
 * full, which timers_add's reserve makes happen only after n / 2 cancels. */
static void purge(struct timers *h)
{
	size_t kept = 0;

	for (size_t i = 0; i < h->n; i++)
		if (h->v[i].t)
			place(h, kept++, &h->v[i]);
	h->n = kept;
	h->emptied = 0;
	h->ahead_at = 0;
	for (size_t i = kept / ARITY + 1; i-- > 0;)
		sift_down(h, i);
}

bool timers_add(struct timers *h, struct timer *t, uint32_t vpn_index, enum timer_kind kind)
{
	if (2 * (h->added + 1) > h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		if (cap > UINT32_MAX || !resize(h, cap))
			return false;
	}
	h->added++;
	*t = (struct timer){.seq = (uint64_t)kind << TIMER_KIND_SHIFT, .vpn_index = vpn_index};
	return true;
}

void timers_remove(struct timers *h, struct timer *t)
{
	timers_cancel(h, t);
	h->added--;
}

static void stamp(struct timers *h, struct timer *t)
{
	t->seq = (t->seq >> TIMER_KIND_SHIFT << TIMER_KIND_SHIFT) | h->seq++;
}

void timers_set(struct timers *h, struct timer *t, mtime_t when)
{
	stamp(h, t);
	struct timer_slot s = {.when = when, .seq = t->seq, .t = t};

	if (!timer_armed(t)) {
		if (h->n == h->cap)
			purge(h); /* half of it or more is emptied entries */
		if (h->n >= h->ahead_at && h->mapped && h->ahead)
			ask_ahead(h);
		size_t i = h->n++;
		/* Most often the latest deadline (now plus a hold time): it stays a
		 * leaf, and one comparison with its parent says so. */
		if (i == 0 || !before(&s, &h->v[PARENT(i)]))
			place(h, i, &s);
		else {
			h->v[i] = s;
			sift_up(h, i);
		}
	} else if (when < h->v[t->pos - 1].when) {
		h->v[t->pos - 1] = s;
		sift_up(h, t->pos - 1);
	}
	/* Later (or the same deadline, set again): the old key stays, earlier
	 * than the real one, until it comes due (timers_pop_due). */
}

void timers_move(struct timers *h, struct timer *t, mtime_t from, mtime_t to)
{
	/* Armed, its key is at most from, so at most to: nothing to move. */
	if (timer_armed(t) && to >= from)
		stamp(h, t);
	else
		timers_set(h, t, to);
}

void timers_cancel(struct timers *h, struct timer *t)
{
	if (!timer_armed(t))
		return;
	size_t i = t->pos - 1;
	h->v[i].t = NULL;
	h->emptied++;
	t->pos = 0;
	/* Emptied, it sorts first among equal deadlines: above a parent with the
	 * same deadline, if it has one (children cannot come before it now). */
	if (i > 0 && before(&h->v[i], &h->v[PARENT(i)]))
		sift_up(h, i);
}

struct timer *timers_pop_due_slow(struct timers *h, mtime_t now)
{
	while (h->n && h->v[0].when <= now) {
		struct timer_slot *top = &h->v[0];
		struct timer *t = top->t;
		if (!t) {
			pop_root(h);
			continue;
		}
		mtime_t due = h->due(t);
		if (due == top->when && t->seq == top->seq) {
			pop_root(h);
			return t;
		}
		/* Moved later since it was keyed: key it as it is now, look again. */
		top->when = due;
		top->seq = t->seq;
		sift_down(h, 0);
	}
	return NULL;
}

bool timers_valid(const struct timers *h)
{
	size_t emptied = 0;

	if (h->n > h->cap || h->n - h->emptied > h->added || 2 * h->added > h->cap)
		return false;
	for (size_t i = 0; i < h->n; i++) {
		const struct timer_slot *s = &h->v[i];
		if (i > 0 && before(s, &h->v[PARENT(i)]))
			return false;
		if (!s->t) {
			emptied++;
			continue;
		}
		if (s->t->pos != i + 1 || s->when > h->due(s->t) || s->seq > s->t->seq)
			return false;
	}
	return emptied == h->emptied;
}
