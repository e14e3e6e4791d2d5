/*
 * Link layer, IPv4, IPv6 and UDP: find the network-layer header in a captured
 * frame, check the IP header, and hand back the upper-layer payload bounded by
 * the IP length field (never by the capture length alone: Ethernet pads short
 * frames, and the padding is not payload).
 *
 * Error codes, as used in every capture/ parser:
 *   PARSE_TRUNCATED   the buffer (already bounded by the enclosing layer) ends
 *                     before a fixed field, an option or a counted item does;
 *   PARSE_BAD_LENGTH  a length field holds a value the protocol does not allow,
 *                     or a layer's own length field (IPv4 total length, IPv6
 *                     payload length, UDP length) claims more than the buffer.
 */
#include <pcap/dlt.h>
#include <string.h>

#include "checksum.h"
#include "cursor.h"
#include "parse.h"

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100 /* 802.1Q */
#define ETHERTYPE_QINQ 0x88a8 /* 802.1ad service tag */

#define IPV4_HEADER_MIN 20
#define IPV4_MF 0x2000
#define IPV4_OFFSET_MASK 0x1fff
#define IPV6_HEADER 40

#define IPPROTO_HOPOPTS_ 0
#define IPPROTO_ROUTING_ 43
#define IPPROTO_FRAGMENT_ 44
#define IPPROTO_DSTOPTS_ 60
#define IPPROTO_UDP_ 17
#define UDP_HEADER 8

/* Address family values a DLT_NULL/DLT_LOOP header may carry: the capturing
 * host's AF_INET / AF_INET6, which differ between systems. */
#define BSD_AF_INET 2
#define BSD_AF_INET6_LINUX 10
#define BSD_AF_INET6_BSD 24
#define BSD_AF_INET6_FREEBSD 28
#define BSD_AF_INET6_DARWIN 30

static bool ethertype_is_ip(uint16_t type)
{
	return type == ETHERTYPE_IPV4 || type == ETHERTYPE_IPV6;
}

/*
 * 802.1Q / 802.1ad tags (4 bytes each: TCI, then the next type) between a
 * link header and IP.  A provider's P-network commonly arrives tagged,
 * sometimes twice (QinQ); deeper stacks are refused as unsupported.
 */
static enum parse_error skip_tags(struct cursor *c, uint16_t type)
{
	for (int tags = 0; type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ; tags++) {
		if (tags == LINK_MAX_TAGS)
			return PARSE_UNSUPPORTED;
		if (!cursor_skip(c, 2) || !cursor_u16(c, &type))
			return PARSE_TRUNCATED;
	}
	return ethertype_is_ip(type) ? PARSE_OK : PARSE_UNSUPPORTED;
}

static enum parse_error ether_parse(struct cursor *c)
{
	uint16_t type;

	if (!cursor_skip(c, 12) || !cursor_u16(c, &type))
		return PARSE_TRUNCATED;
	return skip_tags(c, type);
}

/*
 * Linux "cooked" captures (-i any): v1 carries the protocol last, v2 first.
 * libpcap puts a VLAN tag the kernel took off back after the header, with the
 * protocol then 0x8100 (as Ethernet has it); the tags follow the header.
 */
static enum parse_error sll_parse(struct cursor *c, size_t proto_at, size_t header_len)
{
	struct cursor at = *c;
	uint16_t type;

	if (!cursor_skip(&at, proto_at) || !cursor_u16(&at, &type) || !cursor_skip(c, header_len))
		return PARSE_TRUNCATED;
	return skip_tags(c, type);
}

static bool null_family_is_ip(uint32_t family)
{
	return family == BSD_AF_INET || family == BSD_AF_INET6_LINUX ||
	       family == BSD_AF_INET6_BSD || family == BSD_AF_INET6_FREEBSD ||
	       family == BSD_AF_INET6_DARWIN;
}

/* DLT_NULL's family is in the capturing host's byte order, so accept either;
 * DLT_LOOP's is always in network order. */
static enum parse_error null_parse(struct cursor *c, bool either_order)
{
	uint32_t family, swapped;

	if (!cursor_u32(c, &family))
		return PARSE_TRUNCATED;
	swapped = (family >> 24) | ((family >> 8) & 0xff00) | ((family << 8) & 0xff0000) |
		  (family << 24);
	if (null_family_is_ip(family) || (either_order && null_family_is_ip(swapped)))
		return PARSE_OK;
	return PARSE_UNSUPPORTED;
}

enum parse_error link_parse(int dlt, const uint8_t *p, size_t len, size_t *ip_offset)
{
	struct cursor c;
	enum parse_error e;

	*ip_offset = 0;
	cursor_init(&c, p, len);
	switch (dlt) {
	case DLT_EN10MB:
		e = ether_parse(&c);
		break;
	case DLT_LINUX_SLL:
		e = sll_parse(&c, 14, 16);
		break;
#ifdef DLT_LINUX_SLL2
	case DLT_LINUX_SLL2:
		e = sll_parse(&c, 0, 20);
		break;
#endif
	case DLT_NULL:
		e = null_parse(&c, true);
		break;
	case DLT_LOOP:
		e = null_parse(&c, false);
		break;
	case DLT_RAW:
#ifdef DLT_IPV4
	case DLT_IPV4:
#endif
#ifdef DLT_IPV6
	case DLT_IPV6:
#endif
		e = PARSE_OK;
		break;
	default:
		return PARSE_UNSUPPORTED;
	}
	if (e == PARSE_OK)
		*ip_offset = c.off;
	return e;
}

/* The fields of a checked IPv4 header that its users need. */
struct ipv4_header {
	uint8_t ttl, proto, src[4], dst[4];
	uint16_t id, frag;
	size_t hlen, total;
};

/* Everything ip_parse checks of an IPv4 header, fragment or not. */
static enum parse_error ipv4_header(const uint8_t *p, size_t len, struct ipv4_header *h)
{
	struct cursor c;
	uint8_t vhl;
	uint16_t total;

	cursor_init(&c, p, len);
	if (!cursor_u8(&c, &vhl) || !cursor_skip(&c, 1) || !cursor_u16(&c, &total) ||
	    !cursor_u16(&c, &h->id) || !cursor_u16(&c, &h->frag) || !cursor_u8(&c, &h->ttl) ||
	    !cursor_u8(&c, &h->proto) || !cursor_skip(&c, 2) || !cursor_bytes(&c, h->src, 4) ||
	    !cursor_bytes(&c, h->dst, 4))
		return PARSE_TRUNCATED;
	h->hlen = (size_t)(vhl & 0x0f) * 4;
	if (h->hlen < IPV4_HEADER_MIN)
		return PARSE_BAD_LENGTH;
	if (!cursor_skip(&c, h->hlen - IPV4_HEADER_MIN)) /* options: skipped, never read */
		return PARSE_TRUNCATED;
	/* The header is in the buffer (checked just above): sum it where it lies.
	 * A header that fails its checksum has untrustworthy length fields, so
	 * this comes before they are used. */
	if (in_cksum_finish(in_cksum_add(0, p, h->hlen)) != 0)
		return PARSE_BAD_CHECKSUM;
	if (total < h->hlen || total > len)
		return PARSE_BAD_LENGTH;
	h->total = total;
	return PARSE_OK;
}

static bool ipv4_is_fragment(const struct ipv4_header *h)
{
	return (h->frag & (IPV4_MF | IPV4_OFFSET_MASK)) != 0;
}

static enum parse_error ipv4_parse(const uint8_t *p, size_t len, struct ip_packet *out)
{
	struct ipv4_header h;
	enum parse_error e = ipv4_header(p, len, &h);

	if (e != PARSE_OK)
		return e;
	/* Only a datagram with MF clear and offset 0 is whole; the rest is
	 * for reassembly (ip_fragment_parse). */
	if (ipv4_is_fragment(&h))
		return PARSE_FRAGMENT;
	inet_addr_v4(&out->src, h.src);
	inet_addr_v4(&out->dst, h.dst);
	out->proto = h.proto;
	out->ttl = h.ttl;
	out->payload = p + h.hlen;
	out->payload_len = h.total - h.hlen;
	return PARSE_OK;
}

/* RFC 791 3.1: the offset counts 8-byte units; every fragment but the last
 * carries a multiple of 8 bytes, and the whole must fit its length field. */
static enum parse_error fragment_check(const struct ip_fragment *f, size_t limit)
{
	if (f->more && (f->data_len % 8 != 0 || f->data_len == 0))
		return PARSE_BAD_LENGTH;
	if (f->offset + f->data_len > limit)
		return PARSE_BAD_LENGTH;
	return PARSE_OK;
}

static enum parse_error ipv4_fragment_parse(const uint8_t *p, size_t len, struct ip_fragment *out)
{
	struct ipv4_header h;
	enum parse_error e = ipv4_header(p, len, &h);

	if (e != PARSE_OK)
		return e;
	if (!ipv4_is_fragment(&h))
		return PARSE_UNSUPPORTED; /* whole: ip_parse's */
	inet_addr_v4(&out->src, h.src);
	inet_addr_v4(&out->dst, h.dst);
	out->id = h.id;
	out->proto = h.proto;
	out->offset = (uint32_t)(h.frag & IPV4_OFFSET_MASK) * 8;
	out->more = (h.frag & IPV4_MF) != 0;
	out->header = p;
	out->header_len = h.hlen;
	out->data = p + h.hlen;
	out->data_len = h.total - h.hlen;
	return fragment_check(out, IP_DATAGRAM_MAX - h.hlen);
}

/*
 * Skips hop-by-hop, routing and destination options headers by their own
 * length (8-byte units, not counting the first 8), each bounded by the payload
 * length.  A routing header with segments left is refused: the packet is not
 * at its final destination, so its destination address is not the one its
 * upper-layer checksum covers (RFC 8200 8.1), and it is not addressed to us.
 */
static enum parse_error ipv6_skip_extensions(struct cursor *c, uint8_t *nh)
{
	while (*nh == IPPROTO_HOPOPTS_ || *nh == IPPROTO_ROUTING_ || *nh == IPPROTO_DSTOPTS_) {
		struct cursor ext;
		uint8_t next, units, routing_type, segments_left;

		if (!cursor_sub(c, 2, &ext) || !cursor_u8(&ext, &next) || !cursor_u8(&ext, &units))
			return PARSE_TRUNCATED;
		/* The 2 bytes just read are part of the header's (units + 1) * 8. */
		if (!cursor_sub(c, (size_t)units * 8 + 6, &ext))
			return PARSE_TRUNCATED;
		if (*nh == IPPROTO_ROUTING_) {
			if (!cursor_u8(&ext, &routing_type) || !cursor_u8(&ext, &segments_left))
				return PARSE_TRUNCATED;
			if (segments_left != 0)
				return PARSE_UNSUPPORTED;
		}
		*nh = next;
	}
	return *nh == IPPROTO_FRAGMENT_ ? PARSE_FRAGMENT : PARSE_OK;
}

/* The fixed header, and the payload its length field bounds; then the
 * extension headers up to the upper layer or a Fragment header. */
static enum parse_error ipv6_header(const uint8_t *p, size_t len, struct ip_packet *out,
				    struct cursor *payload)
{
	struct cursor c;
	uint8_t nh, hlim, src[16], dst[16];
	uint16_t plen;

	cursor_init(&c, p, len);
	if (!cursor_skip(&c, 4) || !cursor_u16(&c, &plen) || !cursor_u8(&c, &nh) ||
	    !cursor_u8(&c, &hlim) || !cursor_bytes(&c, src, 16) || !cursor_bytes(&c, dst, 16))
		return PARSE_TRUNCATED;
	/* Payload length 0 with a jumbo option (RFC 2675) is not supported: it
	 * fails below as a header that does not fit in an empty payload. */
	if (!cursor_sub(&c, plen, payload))
		return PARSE_BAD_LENGTH;
	inet_addr_v6(&out->src, src);
	inet_addr_v6(&out->dst, dst);
	out->ttl = hlim;
	out->proto = nh;
	return ipv6_skip_extensions(payload, &out->proto);
}

static enum parse_error ipv6_parse(const uint8_t *p, size_t len, struct ip_packet *out)
{
	struct cursor payload;
	enum parse_error e = ipv6_header(p, len, out, &payload);

	if (e != PARSE_OK)
		return e;
	out->payload = cursor_here(&payload);
	out->payload_len = cursor_left(&payload);
	return PARSE_OK;
}

/* RFC 8200 4.5: Next Header, reserved, offset (13 bits, 8-byte units) with
 * the M flag, identification; the fragmentable part follows. */
static enum parse_error ipv6_fragment_parse(const uint8_t *p, size_t len, struct ip_fragment *out)
{
	struct ip_packet ip = {0};
	struct cursor payload;
	uint16_t offlg;
	enum parse_error e = ipv6_header(p, len, &ip, &payload);

	if (e != PARSE_FRAGMENT)
		return e == PARSE_OK ? PARSE_UNSUPPORTED : e; /* whole: ip_parse's */
	if (!cursor_u8(&payload, &out->proto) || !cursor_skip(&payload, 1) ||
	    !cursor_u16(&payload, &offlg) || !cursor_u32(&payload, &out->id))
		return PARSE_TRUNCATED;
	out->src = ip.src;
	out->dst = ip.dst;
	out->offset = (uint32_t)(offlg & 0xfff8);
	out->more = (offlg & 1) != 0;
	out->header = p;
	out->header_len = IPV6_HEADER;
	out->data = cursor_here(&payload);
	out->data_len = cursor_left(&payload);
	/* The unfragmentable part is not kept (the 40-byte header is): the
	 * reassembled payload is the fragmentable part alone. */
	return fragment_check(out, IP_DATAGRAM_MAX);
}

/* The IP version in the first nibble; -1 when the packet is empty. */
static int ip_version(const uint8_t *p, size_t len)
{
	return len ? p[0] >> 4 : -1;
}

enum parse_error ip_fragment_parse(const uint8_t *p, size_t len, struct ip_fragment *out)
{
	memset(out, 0, sizeof(*out));
	switch (ip_version(p, len)) {
	case -1: return PARSE_TRUNCATED;
	case 4: return ipv4_fragment_parse(p, len, out);
	case 6: return ipv6_fragment_parse(p, len, out);
	default: return PARSE_BAD_VERSION;
	}
}

enum parse_error ip_parse(const uint8_t *p, size_t len, struct ip_packet *out)
{
	memset(out, 0, sizeof(*out));
	switch (ip_version(p, len)) {
	case -1: return PARSE_TRUNCATED;
	case 4: return ipv4_parse(p, len, out);
	case 6: return ipv6_parse(p, len, out);
	default: return PARSE_BAD_VERSION;
	}
}

enum parse_error udp_parse(const struct ip_packet *ip, struct udp_packet *out)
{
	struct cursor c;
	uint16_t ulen, sum;
	uint32_t pseudo;

	memset(out, 0, sizeof(*out));
	if (ip->proto != IPPROTO_UDP_)
		return PARSE_UNSUPPORTED;
	cursor_init(&c, ip->payload, ip->payload_len);
	if (!cursor_u16(&c, &out->sport) || !cursor_u16(&c, &out->dport) ||
	    !cursor_u16(&c, &ulen) || !cursor_u16(&c, &sum))
		return PARSE_TRUNCATED;
	if (ulen < UDP_HEADER || ulen > ip->payload_len)
		return PARSE_BAD_LENGTH;
	/* Zero means "no checksum" for IPv4; IPv6 makes the checksum mandatory
	 * (RFC 8200 8.1), and a monitor has no tunnel exemption to apply. */
	if (sum == 0 && ip->src.type == INET_IPV6)
		return PARSE_BAD_CHECKSUM;
	if (sum != 0) {
		/* ulen bytes are in the buffer: ulen <= payload_len was checked. */
		pseudo = in_cksum_pseudo(&ip->src, &ip->dst, IPPROTO_UDP_, ulen);
		if (in_cksum_finish(in_cksum_add(pseudo, ip->payload, ulen)) != 0)
			return PARSE_BAD_CHECKSUM;
	}
	out->payload = ip->payload + UDP_HEADER;
	out->payload_len = ulen - UDP_HEADER;
	return PARSE_OK;
}
