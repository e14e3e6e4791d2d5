/*
 * A bounds-checked reading cursor over a packet buffer.  Every byte the
 * parsers read goes through one of these getters: each one checks that the
 * bytes are there first and, when they are not, returns false without reading
 * or moving.  So a parser can be written as a straight sequence of reads whose
 * failures all mean "the packet ended early" (tcpdump's GET_ and ND_TCHECK
 * discipline).  Lengths taken from the packet are only ever used as arguments
 * to these getters, never to index the buffer directly.
 *
 * Invariant: off <= len.
 */
#ifndef MVPN_CURSOR_H
#define MVPN_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct cursor {
	const uint8_t *p;
	size_t len, off;
};

static inline void cursor_init(struct cursor *c, const uint8_t *p, size_t len)
{
	c->p = p;
	c->len = p ? len : 0; /* a NULL buffer has nothing to read */
	c->off = 0;
}

static inline size_t cursor_left(const struct cursor *c)
{
	return c->len - c->off;
}

/* Written as "n > left" rather than "off + n > len" so a huge n cannot wrap. */
static inline bool cursor_has(const struct cursor *c, size_t n)
{
	return n <= cursor_left(c);
}

/* Where the next read would start (valid to dereference only if cursor_left() > 0). */
static inline const uint8_t *cursor_here(const struct cursor *c)
{
	return c->p + c->off;
}

static inline bool cursor_skip(struct cursor *c, size_t n)
{
	if (!cursor_has(c, n))
		return false;
	c->off += n;
	return true;
}

static inline bool cursor_bytes(struct cursor *c, void *dst, size_t n)
{
	if (!cursor_has(c, n))
		return false;
	if (n)
		memcpy(dst, c->p + c->off, n);
	c->off += n;
	return true;
}

static inline bool cursor_u8(struct cursor *c, uint8_t *v)
{
	if (!cursor_has(c, 1))
		return false;
	*v = c->p[c->off];
	c->off += 1;
	return true;
}

/* Network byte order. */
static inline bool cursor_u16(struct cursor *c, uint16_t *v)
{
	if (!cursor_has(c, 2))
		return false;
	*v = (uint16_t)((unsigned)c->p[c->off] << 8 | c->p[c->off + 1]);
	c->off += 2;
	return true;
}

/* Network byte order. */
static inline bool cursor_u32(struct cursor *c, uint32_t *v)
{
	if (!cursor_has(c, 4))
		return false;
	*v = (uint32_t)c->p[c->off] << 24 | (uint32_t)c->p[c->off + 1] << 16 |
	     (uint32_t)c->p[c->off + 2] << 8 | c->p[c->off + 3];
	c->off += 4;
	return true;
}

/*
 * Carves the next n bytes off as a cursor of their own (a TLV's value, an
 * extension header) and advances past them, so a nested parser cannot read
 * beyond the length its container gave it.
 */
static inline bool cursor_sub(struct cursor *c, size_t n, struct cursor *sub)
{
	if (!cursor_has(c, n))
		return false;
	cursor_init(sub, c->p ? c->p + c->off : NULL, n);
	c->off += n;
	return true;
}

#endif
