/*
 * Fixed-size objects carved from large chunks, with a free list: the model's
 * C-group->PE rows and flows, made and freed by the hundred thousand.  An
 * allocation is a pop or a bump of a pointer, where calloc cost ~260
 * instructions and 8 bytes of header per row; a freed object is reused by the
 * next allocation.  Chunks go back to the system only with slab_destroy.
 *
 * Under AddressSanitizer each object is its own calloc, so that a use after
 * free or an overflow is still caught where it happens.
 */
#ifndef MVPN_SLAB_H
#define MVPN_SLAB_H

#include <stddef.h>
#include <stdint.h>

struct slab_reserve;

struct slab {
	size_t size;        /* of an object, rounded up to its alignment */
	size_t per_chunk;   /* objects a chunk holds */
	void *free;         /* freed objects, each holding the next one's address */
	char *next, *end;   /* what the newest chunk has not handed out yet */
	void *chunks;       /* the newest chunk; each starts with the previous one's address */
	size_t in_use;      /* objects handed out and not freed */
	struct slab_reserve *reserve; /* where new chunks come from first; NULL: none */
};

/* Objects of size bytes aligned to align (a power of two, at most 16). */
void slab_init(struct slab *s, size_t size, size_t align);
/* A zeroed object; NULL when out of memory. */
void *slab_alloc(struct slab *s);
/* p from slab_alloc(s), or NULL. */
void slab_free(struct slab *s, void *p);
/* Frees every chunk: every object must have been freed first. */
void slab_destroy(struct slab *s);

/*
 * Chunks faulted in ahead of need, by a thread of its own.  A first touch of
 * a page costs the thread that makes it (7-13 us a page on the benchmarks'
 * VM, most of a growing model's create); touched by the reserve's thread, it
 * costs the engine thread nothing.  The thread keeps a few chunks ready and
 * refills behind each one taken; it never holds the taker up: with none
 * ready, a slab gets its chunk from malloc and faults it in itself, as
 * without a reserve.  One taker at a time (the model's lock serializes the
 * engines); any number of slabs may share a reserve.
 */
struct slab_reserve_stats {
	uint64_t taken;   /* chunks a slab took ready */
	uint64_t missed;  /* chunks a slab found none ready for, and made itself */
};

/* Starts the thread; NULL when it cannot (out of memory, no thread). */
struct slab_reserve *slab_reserve_start(void);
/* Stops the thread and frees the chunks it still holds (the slabs keep theirs).
 * No slab may take from it afterwards.  r may be NULL. */
void slab_reserve_stop(struct slab_reserve *r);
struct slab_reserve_stats slab_reserve_stats(const struct slab_reserve *r);
/* A ready chunk (from malloc, 64 KiB less 64 bytes, the taker's to free), or
 * NULL: none ready (never waits).  For slab.c and tests. */
void *slab_reserve_take(struct slab_reserve *r);

#endif
