#include "changelog.h"
#include "seek.h"

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

struct change *changelog_claim(struct changelog *log, mtime_t when)
{
	uint64_t pos; /* head + count < 2 capacity: no overflow */

	if (!log->capacity)
		return NULL;
	/* head < capacity and count <= capacity: a wrap is one subtraction, not
	 * at()'s division (a change per created or pruned row). */
	if (log->count == log->capacity) {
		pos = log->head;
		if (++log->head == log->capacity)
			log->head = 0;
		log->dropped++;
	} else {
		pos = (uint64_t)log->head + log->count;
		if (pos >= log->capacity)
			pos -= log->capacity;
		log->count++;
	}
	struct change *c = &log->ring[pos];
	/* mvpnChangeIndex runs 1..4294967295 and then starts again at 1. */
	if (++log->next_index == 0)
		log->next_index = 1;
	c->index = log->next_index;
	c->seq = ++log->last_seq;
	c->when = when;
	return c;
}

struct change *changelog_append(struct changelog *log, mtime_t when)
{
	struct change *c = changelog_claim(log, when);

	if (c) {
		uint64_t seq = c->seq;
		uint32_t index = c->index;
		memset(c, 0, sizeof(*c));
		c->seq = seq;
		c->index = index;
		c->when = when;
	}
	return c;
}

void change_oidx(const struct change *c, struct oidx *out)
{
	oidx_reset(out);
	oidx_push(out, c->index);
}

struct change_key {
	const struct changelog *log;
	const uint32_t *want;
	size_t wlen;
	bool after;
};

static bool change_oid_ok(const void *ctx, size_t i)
{
	const struct change_key *k = ctx;
	struct oidx x;

	change_oidx(at(k->log, (uint32_t)i), &x);
	return oidx_seek_ok(&x, k->want, k->wlen, k->after);
}

const struct change *changelog_seek(const struct changelog *log, const uint32_t *want, size_t wlen,
				    bool after)
{
	/* Entries are in index order from head to tail (until the index wraps). */
	struct change_key k = {log, want, wlen, after};
	size_t pos = seek_first(log->count, &k, change_oid_ok);

	return pos < log->count ? at(log, (uint32_t)pos) : NULL;
}
