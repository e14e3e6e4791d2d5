/*
 * PIMv2 (RFC 7761 section 4.9): the common header and its checksum, Hello
 * options, and Join/Prune with its encoded addresses (4.9.1).
 *
 * Nothing a parser reports is partial: Hello fills its result only when the
 * whole option list is valid, and Join/Prune walks the message twice, once to
 * validate every byte and once, only if that succeeded, to report records.
 * A router would act on part of a broken message; a monitor that counts
 * neighbours and joins must not invent state from half of one.
 */
#include <string.h>

#include "checksum.h"
#include "cursor.h"
#include "parse.h"

#define PIM_VERSION 2
#define IPPROTO_PIM_ 103
#define PIM_HEADER 4
#define PIM_REGISTER_HEADER 8

#define AFI_IPV4 1 /* IANA address family numbers, as PIM encodes them */
#define AFI_IPV6 2
#define ENCODING_NATIVE 0

#define SOURCE_W 0x02 /* wildcard: the address is the RP */
#define SOURCE_R 0x01 /* RPT: the join or prune is for the shared tree */

enum hello_option {
	HELLO_HOLDTIME = 1,
	HELLO_LAN_PRUNE_DELAY = 2,
	HELLO_DR_PRIORITY = 19,
	HELLO_GENERATION_ID = 20,
};

/* ---- header ---- */

/* The checksum over the first n bytes of the PIM message; for IPv6 the
 * pseudo-header's upper-layer length is n too (RFC 7761 4.9). */
static bool pim_sum_ok(const struct ip_packet *ip, size_t n)
{
	uint32_t sum = 0;

	if (ip->src.type == INET_IPV6)
		sum = in_cksum_pseudo(&ip->src, &ip->dst, IPPROTO_PIM_, (uint32_t)n);
	return in_cksum_finish(in_cksum_add(sum, ip->payload, n)) == 0;
}

enum parse_error pim_parse_header(const struct ip_packet *ip, enum pim_type *type)
{
	struct cursor c;
	uint8_t vt;

	if (ip->proto != IPPROTO_PIM_)
		return PARSE_UNSUPPORTED;
	cursor_init(&c, ip->payload, ip->payload_len);
	if (!cursor_u8(&c, &vt) || !cursor_skip(&c, PIM_HEADER - 1))
		return PARSE_TRUNCATED;
	*type = (enum pim_type)(vt & 0x0f); /* even on a bad version: callers log it */
	if (vt >> 4 != PIM_VERSION)
		return PARSE_BAD_VERSION;
	if (*type != PIM_REGISTER)
		return pim_sum_ok(ip, ip->payload_len) ? PARSE_OK : PARSE_BAD_CHECKSUM;
	/*
	 * RFC 7761 4.9.3: a Register's checksum covers only its 8-byte header
	 * (and, for IPv6, a pseudo-header of length 8); one computed over the
	 * whole message "should also be accepted" for interoperability.
	 */
	if (!cursor_skip(&c, PIM_REGISTER_HEADER - PIM_HEADER))
		return PARSE_TRUNCATED;
	if (pim_sum_ok(ip, PIM_REGISTER_HEADER) || pim_sum_ok(ip, ip->payload_len))
		return PARSE_OK;
	return PARSE_BAD_CHECKSUM;
}

/* The message-level parsers take the raw message: check that it says what
 * the caller thinks it is, since they may be handed bytes from anywhere. */
static enum parse_error pim_expect(struct cursor *c, enum pim_type want)
{
	uint8_t vt;

	if (!cursor_u8(c, &vt) || !cursor_skip(c, PIM_HEADER - 1))
		return PARSE_TRUNCATED;
	if (vt >> 4 != PIM_VERSION)
		return PARSE_BAD_VERSION;
	return (vt & 0x0f) == want ? PARSE_OK : PARSE_UNSUPPORTED;
}

/* ---- Hello ---- */

/* A known option must have its defined length: a DR Priority of 2 bytes is
 * not a DR Priority, and guessing would put a wrong value in the MIB. */
static enum parse_error hello_option(struct pim_hello *h, uint16_t type, struct cursor *v)
{
	size_t want;

	switch (type) {
	case HELLO_HOLDTIME:
		want = 2;
		break;
	case HELLO_LAN_PRUNE_DELAY:
	case HELLO_DR_PRIORITY:
	case HELLO_GENERATION_ID:
		want = 4;
		break;
	default:
		/* RFC 7761 4.9.2: unknown options MUST be ignored (21 State Refresh,
		 * 22 Bidir, 24 Address List, Cisco's 65001 and 65004, ...). */
		h->unknown_options++;
		return PARSE_OK;
	}
	if (cursor_left(v) != want)
		return PARSE_BAD_LENGTH;
	switch (type) {
	case HELLO_HOLDTIME:
		h->has_holdtime = cursor_u16(v, &h->holdtime);
		break;
	case HELLO_DR_PRIORITY:
		h->has_dr_priority = cursor_u32(v, &h->dr_priority);
		break;
	case HELLO_GENERATION_ID:
		h->has_generation_id = cursor_u32(v, &h->generation_id);
		break;
	default: /* LAN Prune Delay: length checked, value not kept */
		break;
	}
	return PARSE_OK;
}

/* An option whose length runs past the end of the message is PARSE_TRUNCATED
 * (the message ends before the option does), like any other short read.  If
 * an option appears twice, the last one wins. */
enum parse_error pim_hello_parse(const uint8_t *p, size_t len, struct pim_hello *out)
{
	struct pim_hello h;
	struct cursor c, value;
	uint16_t type, olen;
	enum parse_error e;

	memset(out, 0, sizeof(*out));
	memset(&h, 0, sizeof(h));
	cursor_init(&c, p, len);
	if ((e = pim_expect(&c, PIM_HELLO)) != PARSE_OK)
		return e;
	while (cursor_left(&c) > 0) {
		if (!cursor_u16(&c, &type) || !cursor_u16(&c, &olen) ||
		    !cursor_sub(&c, olen, &value))
			return PARSE_TRUNCATED;
		h.options++;
		if ((e = hello_option(&h, type, &value)) != PARSE_OK)
			return e;
	}
	*out = h;
	return PARSE_OK;
}

/* ---- encoded addresses (RFC 7761 4.9.1) ---- */

/* Family and encoding type; anything but native IPv4/IPv6 leaves the address
 * length unknown, so the rest of the message cannot be walked. */
static enum parse_error read_family(struct cursor *c, uint8_t *type)
{
	uint8_t family, encoding;

	if (!cursor_u8(c, &family) || !cursor_u8(c, &encoding))
		return PARSE_TRUNCATED;
	if (encoding != ENCODING_NATIVE)
		return PARSE_BAD_FAMILY;
	if (family == AFI_IPV4)
		*type = INET_IPV4;
	else if (family == AFI_IPV6)
		*type = INET_IPV6;
	else
		return PARSE_BAD_FAMILY;
	return PARSE_OK;
}

static enum parse_error read_address(struct cursor *c, uint8_t type, struct inet_addr *a)
{
	uint8_t b[16];

	if (!cursor_bytes(c, b, type == INET_IPV4 ? 4 : 16))
		return PARSE_TRUNCATED;
	if (type == INET_IPV4)
		inet_addr_v4(a, b);
	else
		inet_addr_v6(a, b);
	return PARSE_OK;
}

static uint8_t max_mask_len(uint8_t type)
{
	return type == INET_IPV4 ? 32 : 128;
}

static enum parse_error read_unicast(struct cursor *c, struct inet_addr *a)
{
	uint8_t type;
	enum parse_error e;

	if ((e = read_family(c, &type)) != PARSE_OK)
		return e;
	return read_address(c, type, a);
}

/* Encoded-Group: the flags (B bidir, Z admin scope, the rest reserved and
 * ignored on receipt) change nothing a monitor records. */
static enum parse_error read_group(struct cursor *c, struct inet_addr *a, uint8_t *mask_len)
{
	uint8_t type, flags;
	enum parse_error e;

	if ((e = read_family(c, &type)) != PARSE_OK)
		return e;
	if (!cursor_u8(c, &flags) || !cursor_u8(c, mask_len))
		return PARSE_TRUNCATED;
	if ((e = read_address(c, type, a)) != PARSE_OK)
		return e;
	if (*mask_len > max_mask_len(type) || !inet_addr_is_multicast(a))
		return PARSE_BAD_ADDRESS;
	return PARSE_OK;
}

/* W and R say what the entry is (RFC 7761 4.9.5); W without R names nothing. */
static enum parse_error source_kind(uint8_t flags, enum pim_kind *kind)
{
	switch (flags & (SOURCE_W | SOURCE_R)) {
	case SOURCE_W | SOURCE_R:
		*kind = PIM_KIND_STAR_G;
		return PARSE_OK;
	case SOURCE_R:
		*kind = PIM_KIND_SG_RPT;
		return PARSE_OK;
	case 0:
		*kind = PIM_KIND_SG;
		return PARSE_OK;
	default:
		return PARSE_BAD_FLAGS;
	}
}

/* Encoded-Source; S (sparse) and the reserved bits are ignored on receipt. */
static enum parse_error read_source(struct cursor *c, struct pim_jp_record *rec)
{
	uint8_t type, flags;
	enum parse_error e;

	if ((e = read_family(c, &type)) != PARSE_OK)
		return e;
	if (!cursor_u8(c, &flags) || !cursor_u8(c, &rec->source_mask_len))
		return PARSE_TRUNCATED;
	if ((e = read_address(c, type, &rec->source)) != PARSE_OK)
		return e;
	if (rec->source_mask_len > max_mask_len(type))
		return PARSE_BAD_ADDRESS;
	/* An (S,G) whose S and G are of different families is no entry at all. */
	if (rec->source.type != rec->group.type)
		return PARSE_BAD_FAMILY;
	return source_kind(flags, &rec->kind);
}

/* ---- Join/Prune (RFC 7761 4.9.5) ---- */

/* One group and its joined then pruned sources; fn may be NULL (validate only). */
static enum parse_error jp_group(struct cursor *c, const struct pim_jp_header *hdr,
				 pim_jp_record_fn fn, void *arg)
{
	struct pim_jp_record rec;
	uint16_t n_joined, n_pruned;
	uint32_t i;
	enum parse_error e;

	memset(&rec, 0, sizeof(rec));
	if ((e = read_group(c, &rec.group, &rec.group_mask_len)) != PARSE_OK)
		return e;
	if (!cursor_u16(c, &n_joined) || !cursor_u16(c, &n_pruned))
		return PARSE_TRUNCATED;
	/* Counts are only loop bounds: each source is a bounds-checked read, so
	 * a count promising more than the message holds ends in PARSE_TRUNCATED. */
	for (i = 0; i < (uint32_t)n_joined + n_pruned; i++) {
		rec.join = i < n_joined;
		if ((e = read_source(c, &rec)) != PARSE_OK)
			return e;
		if (fn)
			fn(arg, hdr, &rec);
	}
	return PARSE_OK;
}

/* Header, upstream neighbor, reserved byte, group count, hold time. */
static enum parse_error jp_fixed(struct cursor *c, struct pim_jp_header *hdr)
{
	enum parse_error e;

	memset(hdr, 0, sizeof(*hdr));
	if ((e = pim_expect(c, PIM_JOIN_PRUNE)) != PARSE_OK)
		return e;
	if ((e = read_unicast(c, &hdr->upstream)) != PARSE_OK)
		return e;
	if (!cursor_skip(c, 1) || !cursor_u8(c, &hdr->n_groups) || !cursor_u16(c, &hdr->holdtime))
		return PARSE_TRUNCATED;
	return PARSE_OK;
}

/*
 * Bytes left after the last group are ignored, as tcpdump does: the message
 * is fully described by its counts, and RFC 7761 defines nothing after the
 * groups.
 */
static enum parse_error jp_walk(const uint8_t *p, size_t len, pim_jp_record_fn fn, void *arg)
{
	struct pim_jp_header hdr;
	struct cursor c;
	unsigned g;
	enum parse_error e;

	cursor_init(&c, p, len);
	if ((e = jp_fixed(&c, &hdr)) != PARSE_OK)
		return e;
	for (g = 0; g < hdr.n_groups; g++)
		if ((e = jp_group(&c, &hdr, fn, arg)) != PARSE_OK)
			return e;
	return PARSE_OK;
}

enum parse_error pim_jp_parse(const uint8_t *p, size_t len, pim_jp_record_fn fn, void *arg)
{
	enum parse_error e;

	if ((e = jp_walk(p, len, NULL, NULL)) != PARSE_OK || !fn)
		return e;
	return jp_walk(p, len, fn, arg);
}

enum parse_error pim_jp_parse_header(const uint8_t *p, size_t len, struct pim_jp_header *out)
{
	struct pim_jp_header hdr;
	struct cursor c;
	enum parse_error e;

	memset(out, 0, sizeof(*out));
	cursor_init(&c, p, len);
	if ((e = jp_fixed(&c, &hdr)) != PARSE_OK)
		return e;
	*out = hdr;
	return PARSE_OK;
}
