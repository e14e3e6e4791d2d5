/* mib/timers: the heap of every deadline, against a plain list of the same timers. */
#include "unit.h"

#include <stdlib.h>

#include "../../mib/model.h"

#define N 300

/* The reference: what each timer is set to, and when it was set. */
struct ref {
	bool armed;
	mtime_t when;
	uint64_t set_at;
};

/* Does timer i fire before timer j (deadline, VPN index, kind, order of setting)? */
static bool ref_before(const struct timer *t, const struct ref *r, size_t i, size_t j)
{
	if (r[i].when != r[j].when)
		return r[i].when < r[j].when;
	if (t[i].vpn->index != t[j].vpn->index)
		return t[i].vpn->index < t[j].vpn->index;
	if (t[i].kind != t[j].kind)
		return t[i].kind < t[j].kind;
	return r[i].set_at < r[j].set_at;
}

/* The timer the reference says fires first; N when none is armed. */
static size_t ref_first(const struct timer *t, const struct ref *r)
{
	size_t best = N;

	for (size_t i = 0; i < N; i++)
		if (r[i].armed && (best == N || ref_before(t, r, i, best)))
			best = i;
	return best;
}

/* Sets, refreshes (later and earlier), cancels and pops at random, deadlines
 * often equal: the heap pops exactly what the reference says, in its order. */
TEST(pops_in_deadline_order_through_random_refreshes)
{
	static struct vpn vpns[5] = {{.index = 40}, {.index = 3}, {.index = 17}, {.index = 8},
				     {.index = 25}};
	static struct timer t[N];
	static struct ref r[N];
	struct timers h;
	uint64_t set_count = 0;
	mtime_t now = 0;

	timers_init(&h);
	srand(6037);
	for (size_t i = 0; i < N; i++)
		CHECK(timers_add(&h, &t[i], &vpns[i % 5], (enum timer_kind)(i / 5 % 3)));
	for (int op = 0; op < 60000; op++) {
		size_t i = (size_t)rand() % N;
		int what = rand() % 10;
		if (what < 6) { /* set or refresh: ties on purpose (deadlines on a coarse grid) */
			r[i] = (struct ref){true, now + (mtime_t)(rand() % 40) * 1000, set_count++};
			timers_set(&h, &t[i], r[i].when);
		} else if (what < 7) {
			r[i].armed = false;
			timers_cancel(&h, &t[i]);
		} else {
			now += (mtime_t)(rand() % 3) * 1000;
			struct timer *got;
			while ((got = timers_pop_due(&h, now))) {
				size_t want = ref_first(t, r);
				CHECK(want < N && got == &t[want] && r[want].when <= now);
				r[want].armed = false;
			}
			size_t next = ref_first(t, r);
			CHECK(next == N || r[next].when > now);
		}
		CHECK(timers_valid(&h));
		size_t first = ref_first(t, r);
		CHECK_EQ_INT(timers_next(&h), first == N ? MTIME_NEVER : r[first].when);
		CHECK_EQ_INT(timer_armed(&t[i]), r[i].armed);
	}
	for (size_t i = 0; i < N; i++)
		timers_remove(&h, &t[i]);
	CHECK_EQ_INT(h.n, 0);
	CHECK_EQ_INT(h.added, 0);
	timers_free(&h);
}

/* Exactly at the deadline it is due; one nanosecond before, it is not. */
TEST(due_at_the_deadline_not_a_tick_before)
{
	static struct vpn v = {.index = 1};
	struct timers h;
	struct timer t;

	timers_init(&h);
	CHECK(timers_add(&h, &t, &v, TIMER_ROW));
	CHECK_EQ_INT(timers_next(&h), MTIME_NEVER);
	timers_set(&h, &t, 5 * MTIME_SEC);
	CHECK(timers_pop_due(&h, 5 * MTIME_SEC - 1) == NULL);
	CHECK(timer_armed(&t));
	CHECK(timers_pop_due(&h, 5 * MTIME_SEC) == &t);
	CHECK(!timer_armed(&t) && timers_next(&h) == MTIME_NEVER);
	timers_remove(&h, &t);
	timers_free(&h);
}

/* A refresh moves the entry in place: the array is neither grown nor moved. */
TEST(refreshes_never_allocate)
{
	static struct vpn v = {.index = 1};
	static struct timer t[1000];
	struct timers h;

	timers_init(&h);
	for (size_t i = 0; i < 1000; i++) {
		CHECK(timers_add(&h, &t[i], &v, TIMER_ROW));
		timers_set(&h, &t[i], i * MTIME_SEC);
	}
	const struct timer_slot *array = h.v;
	size_t cap = h.cap;
	for (size_t round = 0; round < 50; round++)
		for (size_t i = 0; i < 1000; i++)
			timers_set(&h, &t[i], (1000 * (round + 1) + i) * MTIME_SEC);
	CHECK(h.v == array && h.cap == cap && h.n == 1000 && timers_valid(&h));
	CHECK_EQ_INT(timers_next(&h), 50000 * MTIME_SEC);
	for (size_t i = 0; i < 1000; i++)
		timers_remove(&h, &t[i]);
	timers_free(&h);
}

UNIT_MAIN("timers", T(pops_in_deadline_order_through_random_refreshes),
	  T(due_at_the_deadline_not_a_tick_before), T(refreshes_never_allocate))
