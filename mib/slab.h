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
 * costs the engine thread nothing.  Its chunks come 32 to a 2 MiB region
 * advised huge pages (slab.c): one fault where transparent huge pages are on.  The thread keeps a few chunks ready and
 * refills behind each one taken; it never holds the taker up: with none
 * ready, a slab gets its chunk from malloc and faults it in itself, as
 * without a reserve.  One taker at a time (the model's lock serializes the
 * engines); any number of slabs may share a reserve.
 */
struct slab_reserve_stats {
	uint64_t taken;   /* chunks a slab took ready */
	uint64_t missed;  /* chunks a slab found none ready for, and made itself */
	uint64_t ahead_done;    /* ranges faulted in for slab_reserve_ahead */
	uint64_t ahead_dropped; /* ranges asked for with its queue full: not faulted in */
	uint64_t regions;       /* 2 MiB regions made */
	uint64_t cpu_ns;        /* the thread's CPU time so far */
};

/* Starts the thread; NULL when it cannot (out of memory, no thread). */
struct slab_reserve *slab_reserve_start(void);
/* Stops the thread and frees the chunks it still holds (the slabs keep theirs).
 * No slab may take from it afterwards.  r may be NULL. */
void slab_reserve_stop(struct slab_reserve *r);
struct slab_reserve_stats slab_reserve_stats(const struct slab_reserve *r);
/* A ready chunk (64 KiB less 64 bytes, carved from a 2 MiB region of huge
 * pages; the taker's, to give back with slab_chunk_free), or NULL: none ready
 * (never waits).  For slab.c and tests. */
void *slab_reserve_take(struct slab_reserve *r);
/* Gives back a chunk slab_reserve_take gave (any thread); NULL: nothing. */
void slab_chunk_free(void *chunk);
/* Asks the thread to fault in [addr, addr + len) ahead of the taker's first
 * writes there (the model's timer heap as it grows: timers_set_ahead).  The
 * pages get the kernel's zeros where none are mapped yet; contents are never
 * touched, so a range unmapped or moved since costs nothing.  Never waits: with
 * the thread's queue of such ranges full, the range is dropped (counted). */
void slab_reserve_ahead(struct slab_reserve *r, void *addr, size_t len);

#endif
