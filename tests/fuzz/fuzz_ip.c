/*
 * ip_parse (IPv4 and IPv6), then udp_parse and pim_parse_header on what it
 * returned, each against a reference decoder written from the RFCs.  The
 * upper layers get an exact-size copy of the IP payload, so a read past
 * payload_len (into bytes that are in the buffer but not in the packet, such
 * as Ethernet padding) is an ASan report rather than a silent success.
 */
#include "fixup.h"

#define PROTO_UDP 17
#define PROTO_PIM 103

struct ref_ip {
	bool ok;
	uint8_t type, proto, ttl;
	const uint8_t *src, *dst;
	size_t off, len; /* payload */
};

static struct ref_ip ref_ipv4(const uint8_t *p, size_t len)
{
	struct ref_ip r = {.type = INET_IPV4};
	size_t hlen, total;

	if (len < 20)
		return r;
	hlen = (size_t)(p[0] & 0x0f) * 4;
	total = be16(p + 2);
	if (hlen < 20 || len < hlen || !ref_sum_ok(ref_sum(0, p, hlen)))
		return r;
	if (total < hlen || total > len || (be16(p + 6) & 0x3fff))
		return r;
	r.ok = true;
	r.ttl = p[8];
	r.proto = p[9];
	r.src = p + 12;
	r.dst = p + 16;
	r.off = hlen;
	r.len = total - hlen;
	return r;
}

/* RFC 8200 4: hop-by-hop (0), routing (43, only with no segments left) and
 * destination options (60) are walked by their length; a fragment (44) is
 * not reassembled. */
static struct ref_ip ref_ipv6(const uint8_t *p, size_t len)
{
	struct ref_ip r = {.type = INET_IPV6};
	size_t at = 40, end;
	uint8_t nh;

	if (len < 40 || be16(p + 4) > len - 40)
		return r;
	end = 40 + (size_t)be16(p + 4);
	nh = p[6];
	while (nh == 0 || nh == 43 || nh == 60) {
		size_t ext;

		if (end - at < 2)
			return r;
		ext = ((size_t)p[at + 1] + 1) * 8;
		if (end - at < ext || (nh == 43 && p[at + 3] != 0))
			return r;
		nh = p[at];
		at += ext;
	}
	if (nh == 44)
		return r;
	r.ok = true;
	r.ttl = p[7];
	r.proto = nh;
	r.src = p + 8;
	r.dst = p + 24;
	r.off = at;
	r.len = end - at;
	return r;
}

static void check_udp(const struct ip_packet *ip)
{
	struct udp_packet u;
	enum parse_error e = udp_parse(ip, &u);
	const uint8_t *p = ip->payload;
	size_t n = ip->payload_len, ulen;
	bool ok;

	FUZZ_CHECK(parse_error_valid(e));
	if (ip->proto != PROTO_UDP) {
		FUZZ_CHECK(e == PARSE_UNSUPPORTED);
		return;
	}
	ulen = n >= 8 ? be16(p + 4) : 0;
	ok = n >= 8 && ulen >= 8 && ulen <= n;
	if (ok && be16(p + 6) == 0)
		ok = ip->src.type == INET_IPV4; /* IPv6 makes the checksum mandatory */
	else if (ok)
		ok = ref_sum_ok(ref_sum(ref_pseudo(&ip->src, &ip->dst, PROTO_UDP, (uint32_t)ulen),
					p, ulen));
	FUZZ_CHECK((e == PARSE_OK) == ok);
	if (!ok)
		return;
	FUZZ_CHECK(u.sport == be16(p) && u.dport == be16(p + 2));
	FUZZ_CHECK(u.payload == p + 8 && u.payload_len == ulen - 8);
}

/* RFC 7761 4.9: version 2; the checksum covers the whole message (with the
 * IPv6 pseudo-header), a Register's only its 8-byte header, or the whole. */
static bool ref_pim_sum(const struct ip_packet *ip, size_t n)
{
	uint64_t acc = 0;

	if (ip->src.type == INET_IPV6)
		acc = ref_pseudo(&ip->src, &ip->dst, PROTO_PIM, (uint32_t)n);
	return ref_sum_ok(ref_sum(acc, ip->payload, n));
}

static void check_pim_header(const struct ip_packet *ip)
{
	enum pim_type type;
	enum parse_error e = pim_parse_header(ip, &type);
	const uint8_t *p = ip->payload;
	size_t n = ip->payload_len;
	bool ok;

	FUZZ_CHECK(parse_error_valid(e));
	if (ip->proto != PROTO_PIM) {
		FUZZ_CHECK(e == PARSE_UNSUPPORTED);
		return;
	}
	ok = n >= 4 && p[0] >> 4 == 2;
	if (ok && (p[0] & 0x0f) == PIM_REGISTER)
		ok = n >= 8 && (ref_pim_sum(ip, 8) || ref_pim_sum(ip, n));
	else if (ok)
		ok = ref_pim_sum(ip, n);
	FUZZ_CHECK((e == PARSE_OK) == ok);
	if (ok)
		FUZZ_CHECK(type == (enum pim_type)(p[0] & 0x0f));
}

static void check_ip(const uint8_t *data, size_t size)
{
	struct ip_packet ip, inner;
	struct ref_ip r = {0};
	enum parse_error e = ip_parse(data, size, &ip);
	uint8_t *copy;

	FUZZ_CHECK(parse_error_valid(e));
	if (size && data[0] >> 4 == 4)
		r = ref_ipv4(data, size);
	else if (size && data[0] >> 4 == 6)
		r = ref_ipv6(data, size);
	FUZZ_CHECK((e == PARSE_OK) == r.ok);
	if (e != PARSE_OK)
		return;
	FUZZ_CHECK(addr_bytes_are(&ip.src, r.type, r.src) && addr_bytes_are(&ip.dst, r.type, r.dst));
	FUZZ_CHECK(ip.proto == r.proto && ip.ttl == r.ttl);
	FUZZ_CHECK(ip.payload == data + r.off && ip.payload_len == r.len);
	FUZZ_CHECK(fuzz_within(ip.payload, ip.payload_len, data, size));

	copy = fuzz_copy(ip.payload, ip.payload_len);
	inner = ip;
	inner.payload = copy;
	check_udp(&inner);
	check_pim_header(&inner);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ip_packet ip;
	uint8_t *p;

	if (size < 1)
		return 0;
	p = fuzz_copy(data + 1, size - 1);
	if (data[0] & 1) {
		fix_ipv4_header(p, size - 1);
		if (ip_parse(p, size - 1, &ip) == PARSE_OK)
			fix_upper(&ip, p + (ip.payload - p));
	}
	check_ip(p, size - 1);
	free(p);
	return 0;
}
