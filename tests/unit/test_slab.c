/* mib/slab: zeroed objects, reused after a free, never two alive at one place. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../mib/slab.h"
#include "unit.h"

#define OBJ 152 /* a struct cgpe's size: 8-aligned, not a multiple of 16 */
#define N 5000  /* several chunks */

static int by_address(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t) * (void *const *)a, y = (uintptr_t) * (void *const *)b;
	return x < y ? -1 : x > y;
}

static bool all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* Through allocations and frees in random order, every object comes zeroed,
 * is aligned, and no two live objects overlap; freed ones are reused. */
TEST(objects_come_zeroed_apart_and_are_reused)
{
	static void *live[N];
	struct slab s;

	slab_init(&s, OBJ, 8);
	srand(152);
	for (int round = 0; round < 4; round++) {
		for (size_t i = 0; i < N; i++) {
			if (live[i])
				continue;
			unsigned char *p = slab_alloc(&s);
			CHECK(p != NULL);
			CHECK((uintptr_t)p % 8 == 0);
			CHECK(all_zero(p, OBJ));
			memset(p, 0xa5, OBJ); /* dirty it: the next user must get zeros */
			live[i] = p;
		}
		CHECK_EQ_INT(s.in_use, N);
		void *sorted[N];
		memcpy(sorted, live, sizeof(sorted));
		qsort(sorted, N, sizeof(*sorted), by_address);
		for (size_t i = 1; i < N; i++)
			CHECK((char *)sorted[i] - (char *)sorted[i - 1] >= OBJ);
		for (size_t i = 0; i < N; i++)
			if (rand() % 2) {
				slab_free(&s, live[i]);
				live[i] = NULL;
			}
	}
	void *chunks = s.chunks;
	for (size_t i = 0; i < N; i++)
		slab_free(&s, live[i]), live[i] = NULL;
	CHECK_EQ_INT(s.in_use, 0);
	/* Everything freed: the next N come from the same chunks, none new. */
	for (size_t i = 0; i < N; i++)
		CHECK((live[i] = slab_alloc(&s)) != NULL);
	CHECK(s.chunks == chunks);
	for (size_t i = 0; i < N; i++)
		slab_free(&s, live[i]);
	slab_free(&s, NULL);
	slab_destroy(&s);
	CHECK(s.chunks == NULL);
	CHECK_EQ_INT(s.in_use, 0);
}

/* The reserve's thread makes chunks on its own time: wait for one (a stuck
 * thread fails the test after 10 s; the time is not what is tested). */
static void *take_when_ready(struct slab_reserve *r)
{
	for (int i = 0; i < 10000; i++) {
		void *chunk = slab_reserve_take(r);
		if (chunk)
			return chunk;
		nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
	}
	return NULL;
}

/* A reserve hands out whole chunks its thread made ready, never waits when
 * none is ready, and a slab fed by it gives out objects as without one; the
 * chunks still held are freed when it stops (ASan's build checks the leak). */
TEST(a_reserve_feeds_slabs_and_frees_what_it_holds)
{
	static void *live[N];
	struct slab_reserve *r = slab_reserve_start();
	struct slab s;

	CHECK(r != NULL);
	char *chunk = take_when_ready(r);
	CHECK(chunk != NULL);
	memset(chunk, 0x5a, 64 * 1024 - 64); /* all of it is the taker's */
	slab_chunk_free(chunk);
	CHECK(slab_reserve_stats(r).taken == 1);

	slab_init(&s, OBJ, 8);
	s.reserve = r;
	for (size_t i = 0; i < N; i++) {
		unsigned char *p = slab_alloc(&s);
		CHECK(p != NULL);
		CHECK(all_zero(p, OBJ));
		memset(p, 0xa5, OBJ);
		live[i] = p;
	}
	void *sorted[N];
	memcpy(sorted, live, sizeof(sorted));
	qsort(sorted, N, sizeof(*sorted), by_address);
	for (size_t i = 1; i < N; i++)
		CHECK((char *)sorted[i] - (char *)sorted[i - 1] >= OBJ);
	for (size_t i = 0; i < N; i++)
		slab_free(&s, live[i]);
	slab_destroy(&s);
	CHECK(s.reserve == r); /* still fed by it, if used again */
	slab_reserve_stop(r);
	slab_reserve_stop(NULL);
	CHECK(slab_reserve_stats(NULL).taken == 0);
}

/* The reserve carves its chunks 32 from each 2 MiB region: chunks apart, whole,
 * each freed on its own in any order (the last of a region unmaps it), some
 * taken and some still held when the reserve stops; a range asked ahead is
 * faulted in without its contents being touched. */
TEST(region_chunks_are_freed_one_by_one)
{
	enum { TAKE = 70 }; /* more than two regions */
	static char *taken[TAKE];
	struct slab_reserve *r = slab_reserve_start();

	CHECK(r != NULL);
	for (size_t i = 0; i < TAKE; i++) {
		CHECK((taken[i] = take_when_ready(r)) != NULL);
		memset(taken[i], (int)i, 64 * 1024 - 64);
	}
	for (size_t i = 0; i < TAKE; i++)
		for (size_t k = 0; k < 64 * 1024 - 64; k += 4096)
			CHECK((unsigned char)taken[i][k] == (unsigned char)i);
	void *sorted[TAKE];
	memcpy(sorted, taken, sizeof(sorted));
	qsort(sorted, TAKE, sizeof(*sorted), by_address);
	for (size_t i = 1; i < TAKE; i++)
		CHECK((char *)sorted[i] - (char *)sorted[i - 1] >= 64 * 1024 - 64);
	struct slab_reserve_stats st = slab_reserve_stats(r);
	CHECK(st.taken == TAKE && st.regions >= 3);
	/* Odd ones first, then the even ones backwards: regions go as their last goes. */
	for (size_t i = 1; i < TAKE; i += 2)
		slab_chunk_free(taken[i]);
	for (size_t i = TAKE - TAKE % 2; i-- > 0;)
		if (i % 2 == 0)
			slab_chunk_free(taken[i]);
	slab_chunk_free(NULL);

	/* A range asked ahead: the thread faults it in, its contents stay. */
	static char page_data[3 * 4096] __attribute__((aligned(4096)));
	page_data[0] = 42;
	slab_reserve_ahead(r, page_data, sizeof(page_data));
	for (int i = 0; i < 10000 && slab_reserve_stats(r).ahead_done == 0; i++)
		nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
	CHECK(slab_reserve_stats(r).ahead_done == 1 && page_data[0] == 42);
	char *one = take_when_ready(r);
	CHECK(one != NULL);
	slab_chunk_free(one);
	slab_reserve_stop(r); /* with chunks ready and a region partly carved */
}

UNIT_MAIN("slab", T(objects_come_zeroed_apart_and_are_reused),
	  T(a_reserve_feeds_slabs_and_frees_what_it_holds), T(region_chunks_are_freed_one_by_one))
