#include "slab.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/*
 * Chunks come from mmap: 64 KiB first, each one twice the last up to 2 MiB,
 * so a small model stays small.  2 MiB chunks are aligned to 2 MiB and
 * advised MADV_HUGEPAGE: a model growing by the million then takes one page
 * fault per 2 MiB instead of one per 4 KiB (on the 2-core VM of the
 * benchmarks a first touch of a 4 KiB page costs 5-11 us, about half of a
 * create's time; where transparent huge pages are off the advice is moot).
 */
#define CHUNK_FIRST (64 * 1024)
#define CHUNK_MAX (2 * 1024 * 1024)

/* At the start of each chunk, keeping objects 16-aligned. */
struct chunk_header {
	void *prev;
	size_t bytes;
};

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
	s->chunk_bytes = CHUNK_FIRST;
	while (s->chunk_bytes < CHUNK_MAX && s->chunk_bytes < 16 * s->size)
		s->chunk_bytes *= 2;
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

/* bytes of fresh (zero) memory, aligned to bytes when that is CHUNK_MAX. */
static char *map_chunk(size_t bytes)
{
	size_t extra = bytes == CHUNK_MAX ? CHUNK_MAX : 0;
	char *p = mmap(NULL, bytes + extra, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (extra) {
		size_t head = (CHUNK_MAX - (uintptr_t)p % CHUNK_MAX) % CHUNK_MAX;
		if (head)
			munmap(p, head);
		munmap(p + head + bytes, extra - head);
		p += head;
		madvise(p, bytes, MADV_HUGEPAGE); /* advice: nothing to do if refused */
	}
	return p;
}

static bool grow(struct slab *s)
{
	char *chunk = map_chunk(s->chunk_bytes);

	if (!chunk)
		return false;
	struct chunk_header h = {.prev = s->chunks, .bytes = s->chunk_bytes};
	memcpy(chunk, &h, sizeof(h));
	s->chunks = chunk;
	s->next = chunk + sizeof(h);
	s->end = s->next + (s->chunk_bytes - sizeof(h)) / s->size * s->size;
	if (s->chunk_bytes < CHUNK_MAX)
		s->chunk_bytes *= 2;
	return true;
}

void *slab_alloc(struct slab *s)
{
	void *p = s->free;

	if (p) {
		memcpy(&s->free, p, sizeof(s->free));
		memset(p, 0, s->size);
	} else {
		if (s->end - s->next < (ptrdiff_t)s->size && !grow(s))
			return NULL;
		p = s->next; /* never handed out: still the zeros mmap gave */
		s->next += s->size;
	}
	s->in_use++;
	return p;
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
	size_t size = s->size;

	while (s->chunks) {
		struct chunk_header h;
		memcpy(&h, s->chunks, sizeof(h));
		munmap(s->chunks, h.bytes);
		s->chunks = h.prev;
	}
	memset(s, 0, sizeof(*s));
	s->size = size;
	s->chunk_bytes = CHUNK_FIRST;
}
