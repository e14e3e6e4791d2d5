/*
 * The packets the active engine sends, whole, for a raw IPv4 socket with
 * IP_HDRINCL: outer IPv4 (to the PE's tunnel endpoint), GRE (RFC 2784, no
 * options), then an inner IPv4 packet carrying a probe, an IGMP message or an
 * ICMP echo request.  Every size is checked against cap (and against IPv4's
 * 16-bit length fields) before the first byte is written, so a builder either
 * writes a whole packet or nothing.
 */
#include <string.h>

#include "../capture/checksum.h"
#include "wire.h"

#define IPV4_HEADER 20
#define GRE_HEADER 4
#define TUNNEL_HEADERS (IPV4_HEADER + GRE_HEADER)
#define IPV4_MAX_TOTAL 65535
#define UDP_HEADER 8
#define ICMP_ECHO_HEADER 8
#define IGMP_V2_LEN 8
#define IGMP_V3_REPORT_HEADER 8
#define IGMP_V3_RECORD 8

#define IPPROTO_ICMP_ 1
#define IPPROTO_IGMP_ 2
#define IPPROTO_UDP_ 17
#define IPPROTO_GRE_ 47

#define OUTER_TTL 64
#define ECHO_TTL 64
#define IGMP_TTL 1
#define TOS_INTERNETWORK_CONTROL 0xc0 /* RFC 3376 4: "IP Precedence of Internetwork Control" */

#define ICMP_ECHO_REQUEST 8
#define IGMP_V2_MEMBERSHIP_REPORT 0x16
#define IGMP_V2_LEAVE_GROUP 0x17
#define IGMP_V3_MEMBERSHIP_REPORT 0x22
#define IGMP_MODE_IS_EXCLUDE 2
#define IGMP_CHANGE_TO_INCLUDE_MODE 3
#define IGMP_CHANGE_TO_EXCLUDE_MODE 4

/* RFC 2113: type 148 (copied, class 0, number 20), length 4, value 0 ("every
 * router shall examine the packet"). */
static const uint8_t router_alert[4] = {0x94, 0x04, 0x00, 0x00};
static const uint8_t all_routers[4] = {224, 0, 0, 2};      /* RFC 2236 3: Leave */
static const uint8_t igmpv3_routers[4] = {224, 0, 0, 22}; /* RFC 3376 4.2.14 */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static bool is_v4(const struct inet_addr *a)
{
	return a && a->type == INET_IPV4;
}

static bool is_v4_multicast(const struct inet_addr *a)
{
	return is_v4(a) && inet_addr_is_multicast(a);
}

static bool tunnel_ok(const struct tunnel_ends *t)
{
	return t && is_v4(&t->local) && is_v4(&t->remote);
}

/*
 * The whole packet's length for an inner packet of inner_len bytes, or 0 if
 * it would not fit cap or an IPv4 total length.  inner_len is checked before
 * it is added to, so no sum can wrap.
 */
static size_t tunnel_total(size_t inner_len, size_t cap)
{
	size_t total;

	if (inner_len > IPV4_MAX_TOTAL - TUNNEL_HEADERS)
		return 0;
	total = TUNNEL_HEADERS + inner_len;
	return total <= cap ? total : 0;
}

struct ipv4_fields {
	uint8_t tos, ttl, proto;
	uint16_t id;
	const uint8_t *src, *dst;
	const uint8_t *options; /* a multiple of 4 bytes */
	size_t options_len;
};

/* An IPv4 header for a packet of total bytes (DF clear, not a fragment), its
 * checksum computed.  Returns the header's length. */
static size_t put_ipv4(uint8_t *p, const struct ipv4_fields *f, size_t total)
{
	size_t hlen = IPV4_HEADER + f->options_len;

	p[0] = (uint8_t)(0x40 | hlen / 4);
	p[1] = f->tos;
	put16(p + 2, (uint16_t)total);
	put16(p + 4, f->id);
	put16(p + 6, 0);
	p[8] = f->ttl;
	p[9] = f->proto;
	put16(p + 10, 0);
	memcpy(p + 12, f->src, 4);
	memcpy(p + 16, f->dst, 4);
	if (f->options_len)
		memcpy(p + IPV4_HEADER, f->options, f->options_len);
	put16(p + 10, in_cksum_finish(in_cksum_add(0, p, hlen)));
	return hlen;
}

/* Outer IPv4 and GRE around an inner packet of total - TUNNEL_HEADERS bytes;
 * returns where the inner packet starts. */
static uint8_t *put_tunnel(uint8_t *buf, const struct tunnel_ends *t, uint16_t id, size_t total)
{
	struct ipv4_fields outer = {
		.ttl = OUTER_TTL,
		.proto = IPPROTO_GRE_,
		.id = id,
		.src = t->local.bytes,
		.dst = t->remote.bytes,
	};
	uint8_t *gre = buf + put_ipv4(buf, &outer, total);

	put16(gre, 0); /* no C, K or S; version 0 */
	put16(gre + 2, GRE_PROTO_IPV4);
	return gre + GRE_HEADER;
}

size_t probe_header_len(const struct inet_addr *sender)
{
	size_t n = sender ? inet_addr_len(sender) : 0;

	return n ? PROBE_FIXED_LEN + n : 0;
}

static void put_probe_header(uint8_t *p, const struct probe_header *h)
{
	put32(p, PROBE_MAGIC);
	p[4] = PROBE_VERSION;
	p[5] = h->sender.type;
	put16(p + 6, 0);
	put32(p + 8, h->vpn_index);
	put64(p + 12, h->seq);
	put64(p + 20, h->send_ns);
	memcpy(p + PROBE_FIXED_LEN, h->sender.bytes, inet_addr_len(&h->sender));
}

/* RFC 768: a computed zero is sent as all ones; zero means "no checksum". */
static uint16_t udp_checksum_value(uint16_t sum)
{
	return sum ? sum : 0xffff;
}

size_t probe_build(uint8_t *buf, size_t cap, const struct tunnel_ends *t, uint16_t ip_id,
		   const struct inet_addr *group, uint16_t port, uint8_t inner_ttl,
		   const struct probe_header *h, size_t payload_len)
{
	size_t hlen = h ? probe_header_len(&h->sender) : 0;
	size_t total, udp_len;
	uint8_t *inner, *udp;
	struct ipv4_fields ip = {.ttl = inner_ttl, .proto = IPPROTO_UDP_, .id = ip_id};

	if (!buf || !tunnel_ok(t) || !is_v4_multicast(group) || hlen == 0 || payload_len < hlen ||
	    payload_len > IPV4_MAX_TOTAL)
		return 0;
	udp_len = UDP_HEADER + payload_len;
	if ((total = tunnel_total(IPV4_HEADER + udp_len, cap)) == 0)
		return 0;
	inner = put_tunnel(buf, t, ip_id, total);
	ip.src = t->local.bytes;
	ip.dst = group->bytes;
	udp = inner + put_ipv4(inner, &ip, IPV4_HEADER + udp_len);
	put16(udp, port);
	put16(udp + 2, port);
	put16(udp + 4, (uint16_t)udp_len);
	put16(udp + 6, 0);
	put_probe_header(udp + UDP_HEADER, h);
	memset(udp + UDP_HEADER + hlen, 0, payload_len - hlen);
	put16(udp + 6, udp_checksum_value(in_cksum_finish(in_cksum_add(
			       in_cksum_pseudo(&t->local, group, IPPROTO_UDP_, (uint32_t)udp_len),
			       udp, udp_len))));
	return total;
}

/*
 * Where the UDP header of a packet from probe_build starts, found from the
 * header lengths in the packet itself (bounded by len), or 0 when the packet
 * is too short to hold a probe's fixed header.
 */
static size_t probe_udp_offset(const uint8_t *pkt, size_t len)
{
	size_t outer_hlen, inner_at, inner_hlen, udp_at;

	if (len < 1)
		return 0;
	outer_hlen = (size_t)(pkt[0] & 0x0f) * 4;
	inner_at = outer_hlen + GRE_HEADER;
	if (inner_at >= len)
		return 0;
	inner_hlen = (size_t)(pkt[inner_at] & 0x0f) * 4;
	udp_at = inner_at + inner_hlen;
	if (udp_at > len || len - udp_at < UDP_HEADER + PROBE_FIXED_LEN)
		return 0;
	return udp_at;
}

/*
 * RFC 1624 (eqn. 3) incremental update: HC' = ~(~HC + ~m + m') over the four
 * 16-bit words of the stamp, so restamping costs the same for any probe size.
 */
void probe_restamp(uint8_t *pkt, size_t len, uint64_t send_ns)
{
	size_t udp_at = pkt ? probe_udp_offset(pkt, len) : 0;
	uint8_t *udp, *stamp;
	uint32_t sum;
	uint16_t old_sum;

	if (udp_at == 0)
		return;
	udp = pkt + udp_at;
	stamp = udp + UDP_HEADER + 20;
	old_sum = (uint16_t)(udp[6] << 8 | udp[7]);
	sum = (uint16_t)~old_sum;
	for (int i = 0; i < 8; i += 2)
		sum += (uint16_t)~(stamp[i] << 8 | stamp[i + 1]);
	put64(stamp, send_ns);
	for (int i = 0; i < 8; i += 2)
		sum += (uint32_t)(stamp[i] << 8 | stamp[i + 1]);
	if (old_sum != 0) /* zero: sent without a checksum, and stays so */
		put16(udp + 6, udp_checksum_value(in_cksum_finish(sum)));
}

/* ---- IGMP ---- */

static bool igmp_args_ok(enum igmp_message kind, const struct inet_addr *groups, size_t n_groups)
{
	if (!groups || n_groups == 0)
		return false;
	switch (kind) {
	case IGMP_V2_REPORT:
	case IGMP_V2_LEAVE:
		return is_v4_multicast(&groups[0]);
	case IGMP_V3_JOIN:
	case IGMP_V3_LEAVE:
	case IGMP_V3_CURRENT:
		for (size_t i = 0; i < n_groups; i++)
			if (!is_v4_multicast(&groups[i]))
				return false;
		return true;
	}
	return false;
}

static size_t igmp_len(enum igmp_message kind, size_t n_groups)
{
	if (kind == IGMP_V2_REPORT || kind == IGMP_V2_LEAVE)
		return IGMP_V2_LEN;
	/* The record count is a 16-bit field. */
	if (n_groups > UINT16_MAX)
		return 0;
	return IGMP_V3_REPORT_HEADER + n_groups * IGMP_V3_RECORD;
}

static const uint8_t *igmp_destination(enum igmp_message kind, const struct inet_addr *groups)
{
	switch (kind) {
	case IGMP_V2_REPORT:
		return groups[0].bytes;
	case IGMP_V2_LEAVE:
		return all_routers;
	default:
		return igmpv3_routers;
	}
}

static uint8_t igmpv3_record_type(enum igmp_message kind)
{
	switch (kind) {
	case IGMP_V3_JOIN:
		return IGMP_CHANGE_TO_EXCLUDE_MODE; /* EXCLUDE {}: every source */
	case IGMP_V3_LEAVE:
		return IGMP_CHANGE_TO_INCLUDE_MODE; /* INCLUDE {}: no source */
	default:
		return IGMP_MODE_IS_EXCLUDE;
	}
}

/* The IGMP message itself (checksum computed); msg_len from igmp_len(). */
static void put_igmp(uint8_t *p, size_t msg_len, enum igmp_message kind,
		     const struct inet_addr *groups, size_t n_groups)
{
	if (kind == IGMP_V2_REPORT || kind == IGMP_V2_LEAVE) {
		p[0] = kind == IGMP_V2_REPORT ? IGMP_V2_MEMBERSHIP_REPORT : IGMP_V2_LEAVE_GROUP;
		p[1] = 0; /* Max Resp Time: meaningful only in queries */
		put16(p + 2, 0);
		memcpy(p + 4, groups[0].bytes, 4);
	} else {
		p[0] = IGMP_V3_MEMBERSHIP_REPORT;
		p[1] = 0;
		put16(p + 2, 0);
		put16(p + 4, 0);
		put16(p + 6, (uint16_t)n_groups);
		for (size_t i = 0; i < n_groups; i++) {
			uint8_t *r = p + IGMP_V3_REPORT_HEADER + i * IGMP_V3_RECORD;

			r[0] = igmpv3_record_type(kind);
			r[1] = 0;       /* Aux Data Len */
			put16(r + 2, 0); /* Number of Sources */
			memcpy(r + 4, groups[i].bytes, 4);
		}
	}
	put16(p + 2, in_cksum_finish(in_cksum_add(0, p, msg_len)));
}

size_t igmp_build(uint8_t *buf, size_t cap, const struct tunnel_ends *t, uint16_t ip_id,
		  enum igmp_message kind, const struct inet_addr *groups, size_t n_groups)
{
	const size_t hlen = IPV4_HEADER + sizeof(router_alert);
	struct ipv4_fields ip = {
		.tos = TOS_INTERNETWORK_CONTROL,
		.ttl = IGMP_TTL,
		.proto = IPPROTO_IGMP_,
		.id = ip_id,
		.options = router_alert,
		.options_len = sizeof(router_alert),
	};
	size_t msg_len, total;
	uint8_t *inner;

	if (!buf || !tunnel_ok(t) || !igmp_args_ok(kind, groups, n_groups))
		return 0;
	if ((msg_len = igmp_len(kind, n_groups)) == 0)
		return 0;
	if ((total = tunnel_total(hlen + msg_len, cap)) == 0)
		return 0;
	inner = put_tunnel(buf, t, ip_id, total);
	ip.src = t->local.bytes;
	ip.dst = igmp_destination(kind, groups);
	put_igmp(inner + put_ipv4(inner, &ip, hlen + msg_len), msg_len, kind, groups, n_groups);
	return total;
}

/* ---- ICMP echo ---- */

size_t echo_build(uint8_t *buf, size_t cap, const struct tunnel_ends *t, uint16_t ip_id,
		  uint16_t ident, uint16_t seq, size_t payload_len)
{
	struct ipv4_fields ip = {.ttl = ECHO_TTL, .proto = IPPROTO_ICMP_, .id = ip_id};
	size_t msg_len, total;
	uint8_t *icmp;

	if (!buf || !tunnel_ok(t) || payload_len > IPV4_MAX_TOTAL)
		return 0;
	msg_len = ICMP_ECHO_HEADER + payload_len;
	if ((total = tunnel_total(IPV4_HEADER + msg_len, cap)) == 0)
		return 0;
	ip.src = t->local.bytes;
	ip.dst = t->remote.bytes;
	icmp = put_tunnel(buf, t, ip_id, total);
	icmp += put_ipv4(icmp, &ip, IPV4_HEADER + msg_len);
	icmp[0] = ICMP_ECHO_REQUEST;
	icmp[1] = 0;
	put16(icmp + 2, 0);
	put16(icmp + 4, ident);
	put16(icmp + 6, seq);
	memset(icmp + ICMP_ECHO_HEADER, 0, payload_len);
	put16(icmp + 2, in_cksum_finish(in_cksum_add(0, icmp, msg_len)));
	return total;
}
