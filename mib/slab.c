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

#define RESERVE_CHUNKS 32 /* 2 MiB ready: about 10,000 rows */

struct slab_reserve {
	pthread_t thread;
	sem_t wake;                  /* the thread waits on it, full or out of memory */
	atomic_bool stop;
	_Atomic uint64_t head, tail; /* chunks taken, chunks made: ring[head..tail) ready */
	_Atomic uint64_t missed;
	void *ring[RESERVE_CHUNKS];  /* indexed modulo RESERVE_CHUNKS */
};

static void *reserve_main(void *arg)
{
	struct slab_reserve *r = arg;
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);

	while (!atomic_load(&r->stop)) {
		while (!atomic_load_explicit(&r->stop, memory_order_relaxed) &&
		       tail - atomic_load_explicit(&r->head, memory_order_acquire) < RESERVE_CHUNKS) {
			char *chunk = malloc(CHUNK_BYTES);
			if (!chunk)
				break; /* a taker's miss wakes us to try again */
			prefault(chunk, CHUNK_BYTES);
			touch(chunk, CHUNK_BYTES);
			r->ring[tail % RESERVE_CHUNKS] = chunk;
			atomic_store_explicit(&r->tail, ++tail, memory_order_release);
		}
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
		free(r->ring[i % RESERVE_CHUNKS]);
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

struct slab_reserve_stats slab_reserve_stats(const struct slab_reserve *r)
{
	if (!r)
		return (struct slab_reserve_stats){0};
	return (struct slab_reserve_stats){
		.taken = atomic_load_explicit(&r->head, memory_order_relaxed),
		.missed = atomic_load_explicit(&r->missed, memory_order_relaxed)};
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

	if (!chunk) {
		if (!(chunk = malloc(CHUNK_BYTES)))
			return false;
		prefault(chunk, CHUNK_BYTES);
	}
	memcpy(chunk, &s->chunks, sizeof(s->chunks));
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
		free(chunk);
	}
	memset(s, 0, sizeof(*s));
	s->size = size;
	s->per_chunk = per_chunk;
	s->reserve = reserve;
}
