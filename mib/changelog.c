#include "changelog.h"

#include <stdlib.h>
#include <string.h>

static struct change *at(const struct changelog *log, uint32_t i)
{
	return &log->ring[(log->head + i) % log->capacity];
}

bool changelog_resize(struct changelog *log, uint32_t capacity)
{
	if (capacity == log->capacity)
		return true;
	struct change *ring = calloc(capacity, sizeof(*ring));
	if (!ring)
		return false;
	/* Keep the newest entries that fit. */
	uint32_t keep = log->count < capacity ? log->count : capacity;
	for (uint32_t i = 0; i < keep; i++)
		ring[i] = *at(log, log->count - keep + i);
	log->dropped += log->count - keep;
	free(log->ring);
	log->ring = ring;
	log->capacity = capacity;
	log->head = 0;
	log->count = keep;
	return true;
}

void changelog_free(struct changelog *log)
{
	free(log->ring);
	memset(log, 0, sizeof(*log));
}

struct change *changelog_append(struct changelog *log, mtime_t when)
{
	struct change *c;

	if (!log->capacity)
		return NULL;
	if (log->count == log->capacity) {
		c = at(log, 0);
		log->head = (log->head + 1) % log->capacity;
		log->dropped++;
	} else {
		c = at(log, log->count);
		log->count++;
	}
	memset(c, 0, sizeof(*c));
	/* mvpnChangeIndex runs 1..4294967295 and then starts again at 1. */
	if (++log->next_index == 0)
		log->next_index = 1;
	c->index = log->next_index;
	c->when = when;
	return c;
}

void change_oidx(const struct change *c, struct oidx *out)
{
	oidx_reset(out);
	oidx_push(out, c->index);
}

const struct change *changelog_seek(const struct changelog *log, const uint32_t *want, size_t wlen,
				    bool after)
{
	/* Entries are in index order from head to tail (until the index wraps). */
	uint32_t lo = 0, hi = log->count;
	struct oidx x;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		change_oidx(at(log, mid), &x);
		if (oidx_seek_ok(&x, want, wlen, after))
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo < log->count ? at(log, lo) : NULL;
}
