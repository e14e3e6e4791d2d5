#include "slab.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "hugemap.h"

/* 64 KiB less malloc's own header: a chunk stays under its mmap threshold. */
#define CHUNK_BYTES (64 * 1024 - 64)
#define CHUNK_HEADER 16 /* the previous chunk's address, keeping objects 16-aligned */

#if defined(__SANITIZE_ADDRESS__)
#define SLAB_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLAB_ASAN 1
#endif
#endif

void slab_init(struct slab *s, size_t size, size_t align)
{
	memset(s, 0, sizeof(*s));
	/* At least a pointer, for the free list; malloc would have taken 16 more
	 * bytes of a 152-byte row than this. */
	if (align < sizeof(void *))
		align = sizeof(void *);
	s->size = (size + align - 1) & ~(align - 1);
	s->per_chunk = (CHUNK_BYTES - CHUNK_HEADER) / s->size;
}

/*
 * Faults a new chunk's pages in with one call, before any object in it is
 * touched.  A first touch of a page traps on its own; on the 2-core VM the
 * benchmarks run on (a Firecracker guest) that costs 10-12 us a page, and
 * the call 0.6 us a page.  Pages already there (memory malloc had before)
 * cost nothing; a kernel older than 5.14 refuses the call, and the first
 * touches do it.
 */
static void prefault(char *chunk, size_t len)
{
#ifdef MADV_POPULATE_WRITE
	const uintptr_t page = 4096;
	uintptr_t from = ((uintptr_t)chunk + page - 1) & ~(page - 1);
	uintptr_t to = ((uintptr_t)chunk + len) & ~(page - 1);

	if (to > from)
		(void)madvise((void *)from, to - from, MADV_POPULATE_WRITE);
#else
	(void)chunk, (void)len;
#endif
}

/*
 * Writes a byte into each page.  On that VM a page the call faulted in still
 * costs its first write 5-6 us (the host backs the guest's page only then,
 * unseen by the guest's fault counters): the reserve's thread pays that too,
 * and a slab's first writes then cost what writes to cold memory cost.
 */
static void touch(char *chunk, size_t len)
{
	volatile char *p = chunk;

	for (size_t at = 0; at < len; at += 4096)
		p[at] = 0;
	p[len - 1] = 0;
}

/* ---- the reserve ---- */

/*
 * The reserve makes its chunks 32 at a time, carved from a region of 2 MiB:
 * one mapping, 2 MiB-aligned and advised MADV_HUGEPAGE, so that where
 * transparent huge pages are on ("madvise" or "always") one fault maps it all.
 * On the benchmarks' VM a 4 KiB page costs 5-6 us on its first write even
 * after MADV_POPULATE_WRITE faulted it in (and 11 us touched alone); a huge
 * page populated by the call is written for 0.04 us a 4 KiB (tests/bench's
 * notes in the README).  A fault that makes a huge page may compact memory
 * first (defrag "madvise"): it is the reserve's thread that waits, never the
 * engine's.  Where huge pages are off the region is 512 pages, faulted in and
 * written as chunks were before.
 *
 * Chunk i of a region starts CHUNK_OFFSET bytes into its 64 KiB: the region's
 * own header (how many of its chunks are not freed yet) fits before chunk 0,
 * and every chunk is CHUNK_BYTES long, as one from malloc.  A chunk's region
 * is its address rounded down to 2 MiB; the last of a region's chunks freed
 * unmaps it (slab_chunk_free), whichever thread frees it.  A slab notes in
 * each chunk's header where the chunk came from (CHUNK_FROM: the reserve, or
 * malloc when none was ready).
 */
#define REGION_BYTES HUGEMAP_ALIGN
#define CHUNK_STRIDE (64u * 1024)
#define REGION_CHUNKS (REGION_BYTES / CHUNK_STRIDE)
#define CHUNK_OFFSET 64
#define CHUNK_FROM 8 /* where in a chunk's header: 1 from a region, 0 from malloc */

_Static_assert(CHUNK_OFFSET + CHUNK_BYTES <= CHUNK_STRIDE, "a chunk fits its stride");
_Static_assert(CHUNK_FROM < CHUNK_HEADER, "the chunk's origin fits its header");

struct region {
	_Atomic uint32_t live; /* chunks not freed yet, handed out or not */
};

/* 2 MiB, aligned to 2 MiB, faulted in and written; NULL: out of memory. */
static struct region *map_region(void)
{
	char *p = hugemap(REGION_BYTES, true);

	if (!p)
		return NULL;
	prefault(p, REGION_BYTES);
	touch(p, REGION_BYTES);
	struct region *g = (struct region *)(void *)p;
	atomic_init(&g->live, REGION_CHUNKS);
	return g;
}

/* Gives back n of the region's chunks; the last unmaps it. */
static void region_put(struct region *g, uint32_t n)
{
	if (n && atomic_fetch_sub_explicit(&g->live, n, memory_order_acq_rel) == n)
		munmap(g, REGION_BYTES);
}

void slab_chunk_free(void *chunk)
{
	if (chunk)
		region_put((struct region *)((uintptr_t)chunk & ~(uintptr_t)(REGION_BYTES - 1)), 1);
}

#define RESERVE_CHUNKS REGION_CHUNKS /* 2 MiB ready: about 13,000 rows */
#define AHEAD_SLOTS 8

struct ahead {
	void *addr;
	size_t len;
};

struct slab_reserve {
	pthread_t thread;
	sem_t wake;                  /* the thread waits on it, full or out of memory */
	atomic_bool stop;
	_Atomic uint64_t head, tail; /* chunks taken, chunks made: ring[head..tail) ready */
	_Atomic uint64_t missed;
	void *ring[RESERVE_CHUNKS];  /* indexed modulo RESERVE_CHUNKS */
	/* Ranges to fault in for a taker (slab_reserve_ahead): [ahead_head..ahead_tail). */
	_Atomic uint64_t ahead_head, ahead_tail;
	_Atomic uint64_t ahead_done, ahead_dropped;
	_Atomic uint64_t regions;
	struct ahead aheads[AHEAD_SLOTS];
	/* The thread's own, then slab_reserve_stop's: the region being carved. */
	struct region *carving;
	uint32_t carved; /* of its chunks */
};

/* The ranges takers asked for, faulted in with the kernel's zeros: a range's
 * contents are never read or written here, so a range its owner has since
 * moved or unmapped costs nothing but the call's error. */
static void serve_aheads(struct slab_reserve *r)
{
	uint64_t head = atomic_load_explicit(&r->ahead_head, memory_order_relaxed);

	while (head != atomic_load_explicit(&r->ahead_tail, memory_order_acquire)) {
		struct ahead a = r->aheads[head % AHEAD_SLOTS];
		prefault(a.addr, a.len);
		atomic_store_explicit(&r->ahead_head, ++head, memory_order_release);
		atomic_fetch_add_explicit(&r->ahead_done, 1, memory_order_relaxed);
	}
}

/* A new region to carve; false: out of memory. */
static bool next_region(struct slab_reserve *r)
{
	struct region *g = map_region();

	if (!g)
		return false;
	r->carving = g;
	r->carved = 0;
	atomic_fetch_add_explicit(&r->regions, 1, memory_order_relaxed);
	return true;
}

/* The next chunk of the region being carved (a new region when it is all
 * handed out); NULL: out of memory. */
static char *carve(struct slab_reserve *r)
{
	if ((!r->carving || r->carved == REGION_CHUNKS) && !next_region(r))
		return NULL;
	return (char *)r->carving + r->carved++ * CHUNK_STRIDE + CHUNK_OFFSET;
}

static void *reserve_main(void *arg)
{
	struct slab_reserve *r = arg;
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);

	while (!atomic_load(&r->stop)) {
		serve_aheads(r);
		while (!atomic_load_explicit(&r->stop, memory_order_relaxed) &&
		       tail - atomic_load_explicit(&r->head, memory_order_acquire) < RESERVE_CHUNKS) {
			char *chunk = carve(r);
			if (!chunk)
				break; /* a taker's miss wakes us to try again */
			r->ring[tail % RESERVE_CHUNKS] = chunk;
			atomic_store_explicit(&r->tail, ++tail, memory_order_release);
			if (r->carved == REGION_CHUNKS)
				serve_aheads(r); /* between regions, not after all of them */
		}
		/* The ring is full: the next region is made now, while the taker
		 * lives on the ring, so that the ring is refilled without waiting
		 * for one (2 MiB populated takes 0.1-2.3 ms on the benchmarks' VM,
		 * about what half the ring lasts a model growing at 4M rows/s). */
		if (!atomic_load_explicit(&r->stop, memory_order_relaxed) &&
		    (!r->carving || r->carved == REGION_CHUNKS))
			(void)next_region(r);
		while (sem_wait(&r->wake) < 0 && errno == EINTR)
			;
	}
	return NULL;
}

struct slab_reserve *slab_reserve_start(void)
{
	struct slab_reserve *r = calloc(1, sizeof(*r));
	sigset_t all, old;

	if (!r || sem_init(&r->wake, 0, 0) < 0) {
		free(r);
		return NULL;
	}
	/* The thread takes no signal: the engine thread's signalfd owns them all. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = pthread_create(&r->thread, NULL, reserve_main, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		sem_destroy(&r->wake);
		free(r);
		return NULL;
	}
	return r;
}

void slab_reserve_stop(struct slab_reserve *r)
{
	if (!r)
		return;
	atomic_store(&r->stop, true);
	sem_post(&r->wake);
	pthread_join(r->thread, NULL);
	for (uint64_t i = r->head; i < r->tail; i++)
		slab_chunk_free(r->ring[i % RESERVE_CHUNKS]);
	if (r->carving)
		region_put(r->carving, REGION_CHUNKS - r->carved);
	sem_destroy(&r->wake);
	free(r);
}

void *slab_reserve_take(struct slab_reserve *r)
{
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);

	if (head == tail) {
		atomic_fetch_add_explicit(&r->missed, 1, memory_order_relaxed);
		sem_post(&r->wake);
		return NULL;
	}
	void *chunk = r->ring[head % RESERVE_CHUNKS];
	atomic_store_explicit(&r->head, head + 1, memory_order_release);
	/* Woken once as the ready chunks fall to half: it refills them all. */
	if (tail - head - 1 == RESERVE_CHUNKS / 2)
		sem_post(&r->wake);
	return chunk;
}

void slab_reserve_ahead(struct slab_reserve *r, void *addr, size_t len)
{
	uint64_t tail = atomic_load_explicit(&r->ahead_tail, memory_order_relaxed);

	if (tail - atomic_load_explicit(&r->ahead_head, memory_order_acquire) >= AHEAD_SLOTS) {
		atomic_fetch_add_explicit(&r->ahead_dropped, 1, memory_order_relaxed);
		return; /* the taker faults it in itself, as without a reserve */
	}
	r->aheads[tail % AHEAD_SLOTS] = (struct ahead){addr, len};
	atomic_store_explicit(&r->ahead_tail, tail + 1, memory_order_release);
	sem_post(&r->wake);
}

static uint64_t thread_cpu_ns(pthread_t t)
{
	clockid_t clock;
	struct timespec ts;

	if (pthread_getcpuclockid(t, &clock) != 0 || clock_gettime(clock, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct slab_reserve_stats slab_reserve_stats(const struct slab_reserve *r)
{
	if (!r)
		return (struct slab_reserve_stats){0};
	return (struct slab_reserve_stats){
		.taken = atomic_load_explicit(&r->head, memory_order_relaxed),
		.missed = atomic_load_explicit(&r->missed, memory_order_relaxed),
		.ahead_done = atomic_load_explicit(&r->ahead_done, memory_order_relaxed),
		.ahead_dropped = atomic_load_explicit(&r->ahead_dropped, memory_order_relaxed),
		.regions = atomic_load_explicit(&r->regions, memory_order_relaxed),
		.cpu_ns = thread_cpu_ns(r->thread)};
}

/* ---- objects ---- */

#ifdef SLAB_ASAN

void *slab_alloc(struct slab *s)
{
	void *p = calloc(1, s->size);

	if (p)
		s->in_use++;
	return p;
}

void slab_free(struct slab *s, void *p)
{
	if (p)
		s->in_use--;
	free(p);
}

#else

static bool grow(struct slab *s)
{
	char *chunk = s->reserve ? slab_reserve_take(s->reserve) : NULL;
	char from = chunk != NULL;

	if (!chunk) {
		if (!(chunk = malloc(CHUNK_BYTES)))
			return false;
		prefault(chunk, CHUNK_BYTES);
	}
	memcpy(chunk, &s->chunks, sizeof(s->chunks));
	chunk[CHUNK_FROM] = from;
	s->chunks = chunk;
	s->next = chunk + CHUNK_HEADER;
	s->end = s->next + s->per_chunk * s->size;
	return true;
}

void *slab_alloc(struct slab *s)
{
	void *p = s->free;

	if (p) {
		memcpy(&s->free, p, sizeof(s->free));
	} else {
		if (s->next == s->end && !grow(s))
			return NULL;
		p = s->next;
		s->next += s->size;
	}
	s->in_use++;
	return memset(p, 0, s->size);
}

void slab_free(struct slab *s, void *p)
{
	if (!p)
		return;
	memcpy(p, &s->free, sizeof(s->free));
	s->free = p;
	s->in_use--;
}

#endif

void slab_destroy(struct slab *s)
{
	size_t size = s->size, per_chunk = s->per_chunk;
	struct slab_reserve *reserve = s->reserve;

	while (s->chunks) {
		void *chunk = s->chunks;
		memcpy(&s->chunks, chunk, sizeof(s->chunks));
		if (((char *)chunk)[CHUNK_FROM])
			slab_chunk_free(chunk);
		else
			free(chunk);
	}
	memset(s, 0, sizeof(*s));
	s->size = size;
	s->per_chunk = per_chunk;
	s->reserve = reserve;
}
