/* A bounds-checked reader over a packet: every getter fails on a short buffer
 * instead of reading past it, so a parser never trusts a length it has not
 * checked. */
#ifndef EMU_CURSOR_H
#define EMU_CURSOR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct cursor {
	const uint8_t *p;
	size_t len;
	size_t off;
};

static inline void cur_init(struct cursor *c, const uint8_t *p, size_t len)
{
	c->p = p;
	c->len = len;
	c->off = 0;
}

static inline size_t cur_left(const struct cursor *c)
{
	return c->len - c->off;
}

static inline const uint8_t *cur_here(const struct cursor *c)
{
	return c->p + c->off;
}

static inline int cur_skip(struct cursor *c, size_t n)
{
	if (cur_left(c) < n)
		return -1;
	c->off += n;
	return 0;
}

static inline int cur_u8(struct cursor *c, uint8_t *v)
{
	if (cur_left(c) < 1)
		return -1;
	*v = c->p[c->off++];
	return 0;
}

/* Network byte order in, host order out. */
static inline int cur_u16(struct cursor *c, uint16_t *v)
{
	if (cur_left(c) < 2)
		return -1;
	*v = (uint16_t)((c->p[c->off] << 8) | c->p[c->off + 1]);
	c->off += 2;
	return 0;
}

static inline int cur_u32(struct cursor *c, uint32_t *v)
{
	if (cur_left(c) < 4)
		return -1;
	*v = ((uint32_t)c->p[c->off] << 24) | ((uint32_t)c->p[c->off + 1] << 16) |
	     ((uint32_t)c->p[c->off + 2] << 8) | (uint32_t)c->p[c->off + 3];
	c->off += 4;
	return 0;
}

/* An IPv4 address kept as on the wire (network byte order), like in_addr_t. */
static inline int cur_addr(struct cursor *c, uint32_t *v)
{
	if (cur_left(c) < 4)
		return -1;
	memcpy(v, c->p + c->off, 4);
	c->off += 4;
	return 0;
}

#endif
