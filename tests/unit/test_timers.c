/* mib/timers: the heap of every deadline, against a plain list of the same timers. */
#include "unit.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../mib/timers.h"

#define N 300

/* The reference: what each timer is set to, and when it was set. */
struct ref {
	bool armed;
	mtime_t when;
	uint64_t set_at;
};

/* The timers under test, and their deadlines as their owners know them. */
static struct timer t[N];
static struct ref r[N];

static mtime_t ref_due(const struct timer *timer)
{
	return r[timer - t].when;
}

static const uint32_t vpn_of[5] = {40, 3, 17, 8, 25};

/* Does timer i fire before timer j (deadline, VPN index, kind, order of setting)? */
static bool ref_before(size_t i, size_t j)
{
	if (r[i].when != r[j].when)
		return r[i].when < r[j].when;
	if (t[i].vpn_index != t[j].vpn_index)
		return t[i].vpn_index < t[j].vpn_index;
	if (timer_kind(&t[i]) != timer_kind(&t[j]))
		return timer_kind(&t[i]) < timer_kind(&t[j]);
	return r[i].set_at < r[j].set_at;
}

/* The timer the reference says fires first; N when none is armed. */
static size_t ref_first(void)
{
	size_t best = N;

	for (size_t i = 0; i < N; i++)
		if (r[i].armed && (best == N || ref_before(i, best)))
			best = i;
	return best;
}

/* Sets, refreshes (later and earlier), cancels and pops at random, deadlines
 * often equal: the heap pops exactly what the reference says, in its order. */
TEST(pops_in_deadline_order_through_random_refreshes)
{
	struct timers h;
	uint64_t set_count = 0;
	mtime_t now = 0;

	timers_init(&h, ref_due);
	memset(r, 0, sizeof(r));
	srand(6037);
	for (size_t i = 0; i < N; i++)
		CHECK(timers_add(&h, &t[i], vpn_of[i % 5], (enum timer_kind)(i / 5 % 3)));
	for (int op = 0; op < 60000; op++) {
		size_t i = (size_t)rand() % N;
		int what = rand() % 10;
		if (what < 6) { /* set, or move later or earlier: ties on purpose (a coarse grid) */
			struct ref was = r[i];
			r[i] = (struct ref){true, now + (mtime_t)(rand() % 40) * 1000, set_count++};
			if (rand() % 2)
				timers_set(&h, &t[i], r[i].when);
			else
				timers_move(&h, &t[i], was.when, r[i].when);
		} else if (what < 7) {
			r[i].armed = false;
			timers_cancel(&h, &t[i]);
		} else {
			now += (mtime_t)(rand() % 3) * 1000;
			struct timer *got;
			while ((got = timers_pop_due(&h, now))) {
				size_t want = ref_first();
				CHECK(want < N && got == &t[want] && r[want].when <= now);
				r[want].armed = false;
			}
			size_t next = ref_first();
			CHECK(next == N || r[next].when > now);
		}
		CHECK(timers_valid(&h));
		size_t first = ref_first();
		/* Never late; early only by a timer since moved later. */
		CHECK(timers_next(&h) <= (first == N ? MTIME_NEVER : r[first].when));
		CHECK_EQ_INT(timer_armed(&t[i]), r[i].armed);
	}
	for (size_t i = 0; i < N; i++)
		timers_remove(&h, &t[i]);
	CHECK_EQ_INT(timers_count(&h), 0);
	CHECK_EQ_INT(h.added, 0);
	timers_free(&h);
}

/* Exactly at the deadline it is due; one nanosecond before, it is not. */
TEST(due_at_the_deadline_not_a_tick_before)
{
	struct timers h;

	timers_init(&h, ref_due);
	CHECK(timers_add(&h, &t[0], 1, TIMER_ROW));
	CHECK_EQ_INT(timers_next(&h), MTIME_NEVER);
	r[0].when = 5 * MTIME_SEC;
	timers_set(&h, &t[0], r[0].when);
	CHECK(timers_pop_due(&h, 5 * MTIME_SEC - 1) == NULL);
	CHECK(timer_armed(&t[0]));
	CHECK(timers_pop_due(&h, 5 * MTIME_SEC) == &t[0]);
	CHECK(!timer_armed(&t[0]) && timers_next(&h) == MTIME_NEVER);
	timers_remove(&h, &t[0]);
	timers_free(&h);
}

/* A move later leaves the heap as it is (O(1)); when the old key comes due the
 * entry is re-keyed, not fired, and fires at its new deadline exactly.  A move
 * earlier takes effect at once. */
TEST(a_move_later_waits_for_the_old_key)
{
	struct timers h;

	timers_init(&h, ref_due);
	for (size_t i = 0; i < 3; i++) {
		CHECK(timers_add(&h, &t[i], 1, TIMER_ROW));
		r[i].when = (10 + i) * MTIME_SEC;
		timers_set(&h, &t[i], r[i].when);
	}
	struct timer_slot root = h.v[0];
	r[0].when = 20 * MTIME_SEC;
	timers_set(&h, &t[0], r[0].when);
	CHECK(h.v[0].t == root.t && h.v[0].when == root.when && t[0].pos == 1);
	CHECK_EQ_INT(timers_next(&h), 10 * MTIME_SEC); /* early, never late */
	CHECK(timers_pop_due(&h, 10 * MTIME_SEC) == NULL);
	CHECK_EQ_INT(timers_next(&h), 11 * MTIME_SEC);
	CHECK(timers_pop_due(&h, 12 * MTIME_SEC) == &t[1]);
	CHECK(timers_pop_due(&h, 12 * MTIME_SEC) == &t[2]);
	CHECK(timers_pop_due(&h, 20 * MTIME_SEC - 1) == NULL);
	r[0].when = 15 * MTIME_SEC; /* earlier than its key now: moved at once */
	timers_set(&h, &t[0], r[0].when);
	CHECK_EQ_INT(timers_next(&h), 15 * MTIME_SEC);
	CHECK(timers_pop_due(&h, 15 * MTIME_SEC) == &t[0]);
	for (size_t i = 0; i < 3; i++)
		timers_remove(&h, &t[i]);
	timers_free(&h);
}

/* A refresh moves the entry in place: the array is neither grown nor moved. */
TEST(refreshes_never_allocate)
{
	struct timers h;

	timers_init(&h, ref_due);
	for (size_t i = 0; i < N; i++) {
		CHECK(timers_add(&h, &t[i], 1, TIMER_ROW));
		r[i].when = (N - i) * MTIME_SEC;
		timers_set(&h, &t[i], r[i].when);
	}
	const struct timer_slot *array = h.v;
	size_t cap = h.cap;
	for (size_t round = 0; round < 50; round++)
		for (size_t i = 0; i < N; i++) { /* later and earlier in turn */
			mtime_t was = r[i].when;
			r[i].when = (round % 2 ? 2000 - i : 1000 + i) * MTIME_SEC;
			timers_move(&h, &t[i], was, r[i].when);
		}
	CHECK(h.v == array && h.cap == cap && timers_count(&h) == N && timers_valid(&h));
	for (size_t i = 0; i < N; i++)
		timers_remove(&h, &t[i]);
	timers_free(&h);
}

/* Cancels only empty entries; when the array fills they are purged in one
 * pass, without growing it, and what is armed still pops in order. */
TEST(cancels_are_purged_without_growing)
{
	struct timers h;

	timers_init(&h, ref_due);
	for (size_t i = 0; i < N; i++)
		CHECK(timers_add(&h, &t[i], 1, TIMER_ROW));
	const struct timer_slot *array = h.v;
	size_t cap = h.cap;
	for (size_t round = 0; round < 20; round++)
		for (size_t i = 0; i < N; i++) {
			r[i].when = (round * N + (i * 7919) % N) * MTIME_SEC;
			timers_set(&h, &t[i], r[i].when);
			if (i % 3)
				timers_cancel(&h, &t[i]);
			CHECK(timers_valid(&h));
		}
	CHECK(h.v == array && h.cap == cap && h.n <= h.cap);
	CHECK_EQ_INT(timers_count(&h), N / 3);
	mtime_t last = 0;
	for (size_t k = 0; k < N / 3; k++) {
		struct timer *got = timers_pop_due(&h, MTIME_NEVER - 1);
		CHECK(got && (got - t) % 3 == 0 && ref_due(got) >= last);
		last = ref_due(got);
	}
	CHECK(timers_pop_due(&h, MTIME_NEVER - 1) == NULL && h.n == 0 && h.emptied == 0);
	for (size_t i = 0; i < N; i++)
		timers_remove(&h, &t[i]);
	timers_free(&h);
}

/* ---- a heap past 2 MiB: its own mapping, faulted in ahead ---- */

#if defined(__SANITIZE_ADDRESS__)
#define UNIT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNIT_ASAN 1
#endif
#endif

#define BIG 400000 /* 9.6 MB of entries: the array is mapped, and grown twice as such */

static struct timer *big;
static mtime_t *big_when;

static mtime_t big_due(const struct timer *timer)
{
	return big_when[timer - big];
}

struct asked {
	size_t calls, bad;
	const struct timers *h;
};

/* Each range asked for lies in the array, starts on a 2 MiB boundary of it,
 * and is past the entries already placed. */
static void note_ahead(void *ctx, void *addr, size_t len)
{
	struct asked *a = ctx;
	size_t off = (size_t)((char *)addr - (char *)a->h->v);

	a->calls++;
	if ((char *)addr < (char *)a->h->v || off + len > a->h->mapped || off % (2u << 20) ||
	    off < a->h->n * sizeof(*a->h->v) || len == 0)
		a->bad++;
}

/* Grown past 2 MiB the array moves to a mapping of its own (entries kept,
 * then moved whole by mremap); each 2 MiB the heap reaches asks once for the
 * next; the heap stays valid and pops in order; freeing unmaps it. */
TEST(a_big_heap_is_mapped_and_asked_ahead)
{
	struct timers h;
	struct asked a = {.h = &h};

	big = calloc(BIG, sizeof(*big));
	big_when = calloc(BIG, sizeof(*big_when));
	CHECK(big && big_when);
	timers_init(&h, big_due);
	timers_set_ahead(&h, note_ahead, &a);
	for (size_t i = 0; i < BIG; i++) {
		CHECK(timers_add(&h, &big[i], 1, TIMER_ROW));
		big_when[i] = ((i * 7919) % BIG + 1) * MTIME_SEC;
		timers_set(&h, &big[i], big_when[i]);
	}
	CHECK(timers_valid(&h));
#ifdef UNIT_ASAN /* the array stays malloc's, for ASan to watch: nothing asked */
	CHECK(h.mapped == 0 && a.calls == 0);
#else
	CHECK(h.mapped >= BIG * sizeof(*h.v) && h.mapped == h.cap * sizeof(*h.v));
	CHECK((uintptr_t)h.v % (2u << 20) == 0);
	/* One ask per 2 MiB reached (and one more after each move of the array). */
	size_t blocks = BIG * sizeof(*h.v) / (2u << 20);
	CHECK(a.calls >= blocks && a.calls <= blocks + 4);
	CHECK_EQ_INT(a.bad, 0);
#endif
	mtime_t last = 0;
	for (size_t k = 0; k < BIG; k++) {
		struct timer *got = timers_pop_due(&h, MTIME_NEVER - 1);
		CHECK(got && big_due(got) >= last);
		last = big_due(got);
	}
	CHECK(timers_pop_due(&h, MTIME_NEVER - 1) == NULL);
	for (size_t i = 0; i < BIG; i++)
		timers_remove(&h, &big[i]);
	timers_free(&h);
	CHECK(h.v == NULL && h.mapped == 0 && h.ahead == note_ahead); /* the hook stays */
	free(big);
	free(big_when);
}

UNIT_MAIN("timers", T(pops_in_deadline_order_through_random_refreshes),
	  T(due_at_the_deadline_not_a_tick_before), T(a_move_later_waits_for_the_old_key),
	  T(refreshes_never_allocate), T(cancels_are_purged_without_growing),
	  T(a_big_heap_is_mapped_and_asked_ahead))
