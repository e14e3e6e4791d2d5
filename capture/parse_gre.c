/*
 * GRE (RFC 2784, with RFC 2890's Key and Sequence Number).  The header is
 * 4 bytes plus one optional 4-byte word per flag, in the order checksum +
 * reserved1, key, sequence number: real default MDTs carry keyed GRE, so the
 * payload offset always comes from the flags, never from a fixed size.
 */
#include <string.h>

#include "checksum.h"
#include "cursor.h"
#include "parse.h"

#define GRE_CHECKSUM 0x8000 /* C */
#define GRE_ROUTING 0x4000  /* R: RFC 1701 source routing */
#define GRE_KEY 0x2000      /* K: RFC 2890 */
#define GRE_SEQUENCE 0x1000 /* S: RFC 2890 */
#define GRE_STRICT 0x0800   /* s: RFC 1701 strict source route */
#define GRE_RECUR_HI 0x0400 /* top bit of RFC 1701's recursion control */
#define GRE_VERSION 0x0007

/*
 * RFC 2784 2.3: a receiver that does not implement RFC 1701 MUST discard a
 * packet with any of bits 1-5 set.  RFC 2890 gave bits 2 and 3 (K, S) a
 * meaning, which leaves R, s and the first recursion-control bit.  Bits 6-12
 * MUST be ignored on receipt, so they are not looked at.
 */
#define GRE_MUST_BE_ZERO (GRE_ROUTING | GRE_STRICT | GRE_RECUR_HI)

static enum parse_error gre_options(struct cursor *c, uint16_t flags, struct gre_packet *out)
{
	if (flags & GRE_CHECKSUM) {
		/* The checksum itself is verified over the whole packet, later. */
		if (!cursor_skip(c, 4))
			return PARSE_TRUNCATED;
		out->has_checksum = true;
	}
	if (flags & GRE_KEY) {
		if (!cursor_u32(c, &out->key))
			return PARSE_TRUNCATED;
		out->has_key = true;
	}
	if (flags & GRE_SEQUENCE) {
		if (!cursor_u32(c, &out->sequence))
			return PARSE_TRUNCATED;
		out->has_sequence = true;
	}
	return PARSE_OK;
}

enum parse_error gre_parse(const uint8_t *p, size_t len, struct gre_packet *out)
{
	struct gre_packet g;
	struct cursor c;
	uint16_t flags;
	enum parse_error e;

	memset(out, 0, sizeof(*out));
	memset(&g, 0, sizeof(g));
	cursor_init(&c, p, len);
	if (!cursor_u16(&c, &flags) || !cursor_u16(&c, &g.proto))
		return PARSE_TRUNCATED;
	/* Version first: PPTP's enhanced GRE (version 1) reuses the flag bits. */
	if (flags & GRE_VERSION)
		return PARSE_BAD_VERSION;
	if (flags & GRE_MUST_BE_ZERO)
		return PARSE_BAD_FLAGS;
	if ((e = gre_options(&c, flags, &g)) != PARSE_OK)
		return e;
	/* RFC 2784: the checksum covers the GRE header and the payload, with the
	 * checksum field in place, so a right one sums to zero.  All len bytes
	 * are the caller's buffer (the IP layer bounded len). */
	if (g.has_checksum && in_cksum_finish(in_cksum_add(0, p, len)) != 0)
		return PARSE_BAD_CHECKSUM;
	g.payload = cursor_here(&c);
	g.payload_len = cursor_left(&c);
	*out = g;
	return PARSE_OK;
}
