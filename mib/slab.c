#include "slab.h"

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

/*
 * Faults a new chunk's pages in with one call, before any object in it is
 * touched.  A first touch of a page traps on its own; on the 2-core VM the
 * benchmarks run on that cost 12-13 us a page (a row's share of a page is
 * most of a growing model's create), and 7 us when the pages were faulted
 * in together.  Pages already there (memory malloc had before) cost nothing;
 * a kernel older than 5.14 refuses the call, and the first touches do it.
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

static bool grow(struct slab *s)
{
	char *chunk = malloc(CHUNK_HEADER + s->per_chunk * s->size);

	if (!chunk)
		return false;
	prefault(chunk, CHUNK_HEADER + s->per_chunk * s->size);
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

	while (s->chunks) {
		void *chunk = s->chunks;
		memcpy(&s->chunks, chunk, sizeof(s->chunks));
		free(chunk);
	}
	memset(s, 0, sizeof(*s));
	s->size = size;
	s->per_chunk = per_chunk;
}
