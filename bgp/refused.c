#include "refused.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../mib/seek.h"

struct refused_key {
	const struct refused_set *s;
	uintptr_t at;
};

static bool at_or_past(const void *ctx, size_t i)
{
	const struct refused_key *k = ctx;

	return (uintptr_t)k->s->v[i] >= k->at;
}

static size_t pos(const struct refused_set *s, const struct route *r)
{
	struct refused_key k = {s, (uintptr_t)r};

	return seek_first(s->n, &k, at_or_past);
}

bool refused_add(struct refused_set *s, const struct route *r)
{
	size_t i = pos(s, r);

	if (i < s->n && s->v[i] == r)
		return true;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 16;
		const struct route **grown = realloc(s->v, cap * sizeof(*grown));
		if (!grown)
			return false;
		s->v = grown, s->cap = cap;
	}
	memmove(s->v + i + 1, s->v + i, (s->n - i) * sizeof(*s->v));
	s->v[i] = r;
	s->n++;
	return true;
}

bool refused_take(struct refused_set *s, const struct route *r)
{
	size_t i = pos(s, r);

	if (i == s->n || s->v[i] != r)
		return false;
	memmove(s->v + i, s->v + i + 1, (s->n - i - 1) * sizeof(*s->v));
	s->n--;
	return true;
}

void refused_replace(struct refused_set *s, const struct route *old, const struct route *new_route)
{
	if (refused_take(s, old))
		refused_add(s, new_route);
}

void refused_clear(struct refused_set *s)
{
	s->n = 0;
}

void refused_free(struct refused_set *s)
{
	free(s->v);
	*s = (struct refused_set){0};
}
