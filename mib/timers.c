#include "timers.h"

#include <stdlib.h>
#include <string.h>

#include "model.h"

#define SEQ_KIND_SHIFT 62 /* the kind sorts above the order of setting */

void timers_init(struct timers *h)
{
	memset(h, 0, sizeof(*h));
}

void timers_free(struct timers *h)
{
	free(h->v);
	timers_init(h);
}

static uint32_t vpn_order(const struct vpn *v)
{
	return v ? v->index : 0;
}

/* Does slot a fire before slot b? */
static bool before(const struct timer_slot *a, const struct timer_slot *b)
{
	if (a->when != b->when)
		return a->when < b->when;
	/* Equal deadlines: read the timers (rare enough not to matter). */
	if (a->t->vpn != b->t->vpn)
		return vpn_order(a->t->vpn) < vpn_order(b->t->vpn);
	return a->seq < b->seq;
}

static void place(struct timers *h, size_t i, const struct timer_slot *s)
{
	h->v[i] = *s;
	s->t->pos = (uint32_t)(i + 1);
}

/* Moves the slot at i towards the root while it fires before its parent. */
static void sift_up(struct timers *h, size_t i)
{
	struct timer_slot s = h->v[i];

	while (i > 0 && before(&s, &h->v[(i - 1) / 2])) {
		place(h, i, &h->v[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	place(h, i, &s);
}

/* Moves the slot at i towards the leaves while a child fires before it. */
static void sift_down(struct timers *h, size_t i)
{
	struct timer_slot s = h->v[i];

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && before(&h->v[c + 1], &h->v[c]))
			c++;
		if (!before(&h->v[c], &s))
			break;
		place(h, i, &h->v[c]);
		i = c;
	}
	place(h, i, &s);
}

/* After slot i changed its key (or was filled from the last one). */
static void restore(struct timers *h, size_t i)
{
	if (i > 0 && before(&h->v[i], &h->v[(i - 1) / 2]))
		sift_up(h, i);
	else
		sift_down(h, i);
}

bool timers_add(struct timers *h, struct timer *t, struct vpn *vpn, enum timer_kind kind)
{
	if (h->added == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		struct timer_slot *grown = cap <= UINT32_MAX ? realloc(h->v, cap * sizeof(*grown))
							    : NULL;
		if (!grown)
			return false;
		h->v = grown;
		h->cap = cap;
	}
	h->added++;
	*t = (struct timer){.vpn = vpn, .kind = (uint8_t)kind};
	return true;
}

void timers_remove(struct timers *h, struct timer *t)
{
	timers_cancel(h, t);
	h->added--;
}

void timers_set(struct timers *h, struct timer *t, mtime_t when)
{
	uint64_t seq = (uint64_t)t->kind << SEQ_KIND_SHIFT | h->seq++;
	struct timer_slot s = {.when = when, .seq = seq, .t = t};

	if (timer_armed(t)) {
		size_t i = t->pos - 1;
		h->v[i] = s;
		restore(h, i);
		return;
	}
	/* Room is there: timers_add reserved it. */
	place(h, h->n++, &s);
	sift_up(h, h->n - 1);
}

void timers_cancel(struct timers *h, struct timer *t)
{
	if (!timer_armed(t))
		return;
	size_t i = t->pos - 1;
	t->pos = 0;
	if (i == --h->n)
		return;
	place(h, i, &h->v[h->n]);
	restore(h, i);
}

struct timer *timers_pop_due(struct timers *h, mtime_t now)
{
	if (!h->n || h->v[0].when > now)
		return NULL;
	struct timer *t = h->v[0].t;
	timers_cancel(h, t);
	return t;
}

bool timers_valid(const struct timers *h)
{
	if (h->n > h->added || h->added > h->cap)
		return false;
	for (size_t i = 0; i < h->n; i++) {
		if (h->v[i].t->pos != i + 1)
			return false;
		if (i > 0 && before(&h->v[i], &h->v[(i - 1) / 2]))
			return false;
	}
	return true;
}
