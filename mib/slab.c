#include "slab.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

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

static bool grow(struct slab *s)
{
	char *chunk = malloc(CHUNK_HEADER + s->per_chunk * s->size);

	if (!chunk)
		return false;
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
