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

struct slab {
	size_t size;        /* of an object, rounded up to its alignment */
	size_t per_chunk;   /* objects a chunk holds */
	void *free;         /* freed objects, each holding the next one's address */
	char *next, *end;   /* what the newest chunk has not handed out yet */
	void *chunks;       /* the newest chunk; each starts with the previous one's address */
	size_t in_use;      /* objects handed out and not freed */
};

/* Objects of size bytes aligned to align (a power of two, at most 16). */
void slab_init(struct slab *s, size_t size, size_t align);
/* A zeroed object; NULL when out of memory. */
void *slab_alloc(struct slab *s);
/* p from slab_alloc(s), or NULL. */
void slab_free(struct slab *s, void *p);
/* Frees every chunk: every object must have been freed first. */
void slab_destroy(struct slab *s);

#endif
