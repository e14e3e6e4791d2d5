/* A peer's routes: open addressing, linear probing, backward-shift deletion. */
#include "routes.h"

#include <stdlib.h>
#include <string.h>

#define MIN_CAP 16

void route_table_init(struct route_table *t)
{
	memset(t, 0, sizeof(*t));
}

/* FNV-1a over the family, the view and the key (keys are short), mixed. */
static uint32_t route_hash(uint8_t family, uint8_t view, const uint8_t *key, size_t len)
{
	uint32_t h = 2166136261u;

	h = (h ^ family) * 16777619u;
	h = (h ^ view) * 16777619u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ key[i]) * 16777619u;
	/* FNV's low bits cluster on keys that differ in a byte or two; the slot is
	 * taken from them: mix (MurmurHash3's finaliser). */
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h ? h : 1; /* a tag of 0 marks an empty slot */
}

static bool same(const struct route *r, uint8_t family, uint8_t view, const uint8_t *key,
		 size_t len)
{
	return r->family == family && r->view == view && r->key_len == len &&
	       memcmp(r->data, key, len) == 0;
}

/* The slot holding the route, or the empty slot where it would go. */
static size_t probe(const struct route_table *t, uint32_t h, uint8_t family, uint8_t view,
		    const uint8_t *key, size_t len)
{
	size_t mask = t->cap - 1, i = h & mask;

	/* Tags first: a probe touches a route only when its whole hash matches. */
	while (t->tag[i] && (t->tag[i] != h || !same(t->slot[i], family, view, key, len)))
		i = (i + 1) & mask;
	return i;
}

/* Slots and tags in one allocation: the slots, then the tags. */
static bool grow(struct route_table *t)
{
	size_t cap = t->cap ? t->cap * 2 : MIN_CAP;
	struct route **slot = calloc(cap, sizeof(*slot) + sizeof(uint32_t));
	uint32_t *tag;

	if (!slot)
		return false;
	tag = (uint32_t *)(slot + cap);
	for (size_t i = 0; i < t->cap; i++) {
		if (!t->slot[i])
			continue;
		size_t j = t->tag[i] & (cap - 1);
		while (tag[j])
			j = (j + 1) & (cap - 1);
		slot[j] = t->slot[i];
		tag[j] = t->tag[i];
	}
	free(t->slot);
	t->slot = slot;
	t->tag = tag;
	t->cap = cap;
	return true;
}

/* ---- kept attributes: (code, length, value) ---- */

const uint8_t *route_attr(const struct route *r, uint8_t code, size_t *len)
{
	const uint8_t *p = route_attrs(r);
	size_t left = r->attr_len;

	/* Written by route_attrs_encode: each length fits, but read as if not. */
	while (left >= 2 && (size_t)p[1] + 2 <= left) {
		if (p[0] == code) {
			*len = p[1];
			return p + 2;
		}
		left -= (size_t)p[1] + 2;
		p += (size_t)p[1] + 2;
	}
	return NULL;
}

static size_t put_attr(uint8_t *out, size_t at, uint8_t code, const uint8_t *v, size_t n)
{
	if (n > 255 || at + 2 + n > ROUTE_ATTRS_MAX)
		return at; /* does not fit: not kept */
	out[at] = code;
	out[at + 1] = (uint8_t)n;
	memcpy(out + at + 2, v, n);
	return at + 2 + n;
}

size_t route_attrs_encode(const struct bgp_update_info *in, uint8_t route_type,
			  uint8_t out[ROUTE_ATTRS_MAX])
{
	size_t n = 0;
	/* Who is behind a route its NLRI does not name: the upstream PE of a
	 * C-multicast route (RFC 6514 11.1.3), the originator of it and of a
	 * Source Active route (RFC 6514 4.5, 4.6 carry no originating router). */
	bool names_pes = route_type == MVPN_SOURCE_ACTIVE_AD ||
			 route_type == MVPN_SHARED_TREE_JOIN || route_type == MVPN_SOURCE_TREE_JOIN;

	if (names_pes && in->originator.type != INET_UNKNOWN)
		n = put_attr(out, n, ROUTE_ATTR_ORIGINATOR, in->originator.bytes, 4);
	if (names_pes && in->import_rt.type != INET_UNKNOWN)
		n = put_attr(out, n, ROUTE_ATTR_IMPORT_RT, in->import_rt.bytes,
			     inet_addr_len(&in->import_rt));
	if (in->has_pmsi)
		n = put_attr(out, n, ROUTE_ATTR_PMSI, in->pmsi_raw, in->pmsi_raw_len);
	return n;
}

/* ---- the table ---- */

static struct route *route_new(uint8_t family, uint8_t view, const uint8_t *key, size_t key_len,
			       const uint8_t *attrs, size_t attr_len)
{
	struct route *r = malloc(sizeof(*r) + key_len + attr_len);

	if (!r)
		return NULL;
	r->family = family, r->view = view;
	r->key_len = (uint8_t)key_len, r->attr_len = (uint8_t)attr_len;
	memcpy(r->data, key, key_len);
	if (attr_len)
		memcpy(r->data + key_len, attrs, attr_len);
	return r;
}

enum route_put route_table_put(struct route_table *t, uint8_t family, uint8_t view,
			       const uint8_t *key, size_t key_len, const uint8_t *attrs,
			       size_t attr_len, const struct route **stored,
			       struct route **replaced)
{
	uint32_t h = route_hash(family, view, key, key_len);
	struct route *r;
	size_t i;

	*replaced = NULL;
	if (key_len > ROUTE_KEY_MAX || family >= BGP_FAM_COUNT || attr_len > ROUTE_ATTRS_MAX)
		return ROUTE_NOMEM;
	/* Load at most 1/2: probes stay short for a route's few tens of bytes' cost. */
	if ((t->n + 1) * 2 > t->cap && !grow(t))
		return ROUTE_NOMEM;
	i = probe(t, h, family, view, key, key_len);
	if ((r = t->slot[i])) {
		if (r->attr_len == attr_len &&
		    (!attr_len || memcmp(route_attrs(r), attrs, attr_len) == 0)) {
			*stored = r;
			return ROUTE_UNCHANGED;
		}
		if (!(r = route_new(family, view, key, key_len, attrs, attr_len)))
			return ROUTE_NOMEM;
		*replaced = t->slot[i];
		*stored = t->slot[i] = r;
		return ROUTE_REPLACED;
	}
	if (!(r = route_new(family, view, key, key_len, attrs, attr_len)))
		return ROUTE_NOMEM;
	*stored = t->slot[i] = r;
	t->tag[i] = h;
	t->n++;
	t->by_family[family]++;
	return ROUTE_ADDED;
}

const struct route *route_table_find(const struct route_table *t, uint8_t family, uint8_t view,
				     const uint8_t *key, size_t key_len)
{
	if (!t->cap)
		return NULL;
	return t->slot[probe(t, route_hash(family, view, key, key_len), family, view, key, key_len)];
}

/* Knuth's algorithm R (TAOCP 6.4): close the gap so no probe sequence breaks. */
static void shift_back(struct route_table *t, size_t gap)
{
	size_t mask = t->cap - 1, i = gap;

	for (;;) {
		i = (i + 1) & mask;
		struct route *r = t->slot[i];
		if (!t->tag[i])
			break;
		size_t home = t->tag[i] & mask;
		/* r may move into the gap if its home is not cyclically in (gap, i]. */
		bool stays = gap <= i ? (home > gap && home <= i) : (home > gap || home <= i);
		if (stays)
			continue;
		t->slot[gap] = r;
		t->tag[gap] = t->tag[i];
		t->slot[i] = NULL;
		t->tag[i] = 0;
		gap = i;
	}
}

bool route_table_del(struct route_table *t, uint8_t family, uint8_t view, const uint8_t *key,
		     size_t key_len, route_fn fn, void *arg)
{
	size_t i;
	struct route *r;

	if (!t->cap)
		return false;
	i = probe(t, route_hash(family, view, key, key_len), family, view, key, key_len);
	if (!(r = t->slot[i]))
		return false;
	if (fn)
		fn(arg, r);
	t->slot[i] = NULL;
	t->tag[i] = 0;
	t->n--;
	t->by_family[r->family]--;
	free(r);
	shift_back(t, i);
	return true;
}

void route_table_foreach(const struct route_table *t, route_fn fn, void *arg)
{
	for (size_t i = 0; i < t->cap; i++)
		if (t->slot[i])
			fn(arg, t->slot[i]);
}

void route_table_clear(struct route_table *t, route_fn fn, void *arg)
{
	for (size_t i = 0; i < t->cap; i++) {
		if (!t->slot[i])
			continue;
		if (fn)
			fn(arg, t->slot[i]);
		free(t->slot[i]);
	}
	free(t->slot);
	route_table_init(t);
}

/* glibc's chunk: the request plus 8 bytes, rounded up to 16, at least 32. */
static size_t chunk(size_t n)
{
	size_t c = (n + 8 + 15) & ~(size_t)15;
	return c < 32 ? 32 : c;
}

size_t route_table_bytes(const struct route_table *t)
{
	size_t b = t->cap ? chunk(t->cap * (sizeof(*t->slot) + sizeof(*t->tag))) : 0;

	for (size_t i = 0; i < t->cap; i++)
		if (t->slot[i])
			b += chunk(sizeof(struct route) + t->slot[i]->key_len + t->slot[i]->attr_len);
	return b;
}
