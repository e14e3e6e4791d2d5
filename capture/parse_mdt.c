/*
 * The MDT Join TLV (RFC 6037 data-MDT announcement; RFC 6513 7.4.2.2 and RFC
 * 6516 call it the UDP-based S-PMSI Join): the payload of a UDP datagram from
 * port 3232 to port 3232, one or more of
 *
 *	type (8) | length (16, the whole TLV) | reserved (8) | value
 *	type 1, length 16: C-source (4)  C-group (4)  P-group (4)
 *	type 4, length 40: C-source (16) C-group (16) P-group (4)
 *
 * No public dissector exists for it, so these rules are strict: an unknown
 * type or a length that does not match its type refuses the whole datagram
 * rather than guess where the next TLV starts.
 */
#include "cursor.h"
#include "parse.h"

#define MDT_TLV_IPV4 1
#define MDT_TLV_IPV6 4
#define MDT_TLV_IPV4_LEN 16
#define MDT_TLV_IPV6_LEN 40
#define MDT_TLV_HEADER 4

static bool read_addr(struct cursor *c, size_t n, struct inet_addr *a)
{
	uint8_t b[16];

	if (!cursor_bytes(c, b, n))
		return false;
	if (n == 4)
		inet_addr_v4(a, b);
	else
		inet_addr_v6(a, b);
	return true;
}

static enum parse_error mdt_tlv(struct cursor *c, struct mdt_join *out)
{
	struct cursor v;
	uint8_t type;
	uint16_t length;
	size_t want, c_addr_len;

	if (!cursor_u8(c, &type) || !cursor_u16(c, &length) || !cursor_skip(c, 1))
		return PARSE_TRUNCATED;
	switch (type) {
	case MDT_TLV_IPV4:
		want = MDT_TLV_IPV4_LEN;
		c_addr_len = 4;
		break;
	case MDT_TLV_IPV6:
		want = MDT_TLV_IPV6_LEN;
		c_addr_len = 16;
		break;
	default:
		return PARSE_UNSUPPORTED;
	}
	if (length != want)
		return PARSE_BAD_LENGTH;
	if (!cursor_sub(c, want - MDT_TLV_HEADER, &v))
		return PARSE_TRUNCATED;
	/* v holds exactly the value, whose size the type fixed: these cannot fail. */
	if (!read_addr(&v, c_addr_len, &out->c_source) || !read_addr(&v, c_addr_len, &out->c_group) ||
	    !read_addr(&v, 4, &out->p_group))
		return PARSE_TRUNCATED;
	if (!inet_addr_is_multicast(&out->c_group) || !inet_addr_is_multicast(&out->p_group))
		return PARSE_BAD_ADDRESS;
	return PARSE_OK;
}

/* fn may be NULL: validate only. */
static enum parse_error mdt_walk(const uint8_t *p, size_t len, mdt_join_fn fn, void *arg)
{
	struct cursor c;
	struct mdt_join tlv;
	enum parse_error e;

	cursor_init(&c, p, len);
	/* An announcement that announces nothing is a short datagram. */
	if (cursor_left(&c) == 0)
		return PARSE_TRUNCATED;
	while (cursor_left(&c) > 0) {
		if ((e = mdt_tlv(&c, &tlv)) != PARSE_OK)
			return e;
		if (fn)
			fn(arg, &tlv);
	}
	return PARSE_OK;
}

enum parse_error mdt_join_parse(const uint8_t *p, size_t len, mdt_join_fn fn, void *arg)
{
	enum parse_error e;

	if ((e = mdt_walk(p, len, NULL, NULL)) != PARSE_OK || !fn)
		return e;
	return mdt_walk(p, len, fn, arg);
}
