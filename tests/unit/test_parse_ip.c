/*
 * capture/parse_ip and capture/checksum: link layers, IPv4, IPv6 with
 * extension headers, UDP, the Internet checksum.  The fixtures' checksums
 * were computed independently (and match scapy's).
 */
#include "unit.h"

#include <pcap/dlt.h>
#include <stdlib.h>

#include "../../capture/parse.h"
#include "parse_helpers.h"

/* ---- fixtures ---- */

static const uint8_t ip4_udp[] = {
	0x45, 0x00, 0x00, 0x20, /* 0: IPv4: version 4, IHL 5; TOS 0; total length 32 */
	0x00, 0x01, 0x00, 0x00, /* 4: identification 1; flags 0, fragment offset 0 */
	0x01, 0x11, 0x13, 0xac, /* 8: TTL 1; protocol 17 UDP; header checksum 0x13ac */
	0xc6, 0x12, 0x00, 0x01, /* 12: source 198.18.0.1 */
	0xe0, 0x00, 0x00, 0x0d, /* 16: destination 224.0.0.13 */
	0x0c, 0xa0, 0x0c, 0xa0, /* 20: UDP: source port 3232, destination port 3232 */
	0x00, 0x0c, 0x3c, 0x6f, /* 24: length 12; checksum 0x3c6f */
	0x01, 0x02, 0x03, 0x04, /* 28: 4 bytes of data */
};

static const uint8_t ip4_options[] = {
	0x46, 0x00, 0x00, 0x1c, /* IPv4: version 4, IHL 6; TOS 0; total length 28 */
	0x00, 0x02, 0x00, 0x00, /* identification 2; flags 0, fragment offset 0 */
	0x01, 0x67, 0x7e, 0x54, /* TTL 1; protocol 103 PIM; header checksum 0x7e54 */
	0xc6, 0x12, 0x00, 0x01, /* source 198.18.0.1 */
	0xe0, 0x00, 0x00, 0x0d, /* destination 224.0.0.13 */
	0x94, 0x04, 0x00, 0x00, /* option: Router Alert (RFC 2113) */
	0x20, 0x00, 0xdf, 0xff, /* PIM Hello without options */
};

static const uint8_t ip6_udp[] = {
	0x60, 0x00, 0x00, 0x00, /* 0: IPv6: version 6, traffic class 0, flow label 0 */
	0x00, 0x0c, 0x11, 0x01, /* 4: payload length 12; next header 17 UDP; hop limit 1 */
	0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, /* 8: source 2001:db8::1 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 24: destination ff02::d */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0d,
	0x0c, 0xa0, 0x0c, 0xa0, /* 40: UDP: source port 3232, destination port 3232 */
	0x00, 0x0c, 0xb5, 0xc6, /* 44: length 12; checksum 0xb5c6 */
	0x01, 0x02, 0x03, 0x04, /* 48: 4 bytes of data */
};

/* The same datagram behind hop-by-hop, destination options and routing headers. */
static const uint8_t ip6_extensions[] = {
	0x60, 0x00, 0x00, 0x00, /* 0: IPv6: version 6, traffic class 0, flow label 0 */
	0x00, 0x34, 0x00, 0x01, /* 4: payload length 52; next header 0 hop-by-hop; hop limit 1 */
	0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, /* 8: source 2001:db8::1 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 24: destination ff02::d */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0d,
	0x3c, 0x00, 0x01, 0x04, /* 40: hop-by-hop: next 60, length 0 (8 bytes); PadN */
	0x00, 0x00, 0x00, 0x00, /*     of 4 */
	0x2b, 0x00, 0x01, 0x04, /* 48: destination options: next 43, length 0; PadN */
	0x00, 0x00, 0x00, 0x00, /*     of 4 */
	0x11, 0x02, 0x02, 0x00, /* 56: routing: next 17, length 2 (24 bytes), type 2, segments left 0 */
	0x00, 0x00, 0x00, 0x00, /* 60: reserved */
	0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, /* 64: address 2001:db8::99 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x99,
	0x0c, 0xa0, 0x0c, 0xa0, /* 80: UDP: source port 3232, destination port 3232 */
	0x00, 0x0c, 0xb5, 0xc6, /* 84: length 12; checksum 0xb5c6 */
	0x01, 0x02, 0x03, 0x04, /* 88: 4 bytes of data */
};

/* ---- helpers ---- */

static enum parse_error ip_parse_copy(const uint8_t *p, size_t n, struct ip_packet *out)
{
	uint8_t *q = dup_exact(p, n);
	enum parse_error e = ip_parse(q, n, out);

	free(q);
	return e;
}

static enum parse_error link_parse_copy(int dlt, const uint8_t *p, size_t n, size_t *off)
{
	uint8_t *q = dup_exact(p, n);
	enum parse_error e = link_parse(dlt, q, n, off);

	free(q);
	return e;
}

/* ---- checksum ---- */

/* RFC 1071 section 3's worked example. */
TEST(checksum_matches_rfc1071_example)
{
	static const uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};

	CHECK_EQ_INT(in_cksum_finish(in_cksum_add(0, b, sizeof(b))), (uint16_t)~0xddf2);
	/* In pieces of even length, the same. */
	CHECK_EQ_INT(in_cksum_finish(in_cksum_add(in_cksum_add(0, b, 2), b + 2, 6)),
		     (uint16_t)~0xddf2);
}

TEST(checksum_pads_an_odd_byte_and_handles_nothing)
{
	static const uint8_t b[] = {0x01};

	CHECK_EQ_INT(in_cksum_finish(in_cksum_add(0, b, 1)), 0xfeff);
	CHECK_EQ_INT(in_cksum_finish(in_cksum_add(0, b, 0)), 0xffff);
}

TEST(checksum_pseudo_headers_verify_independent_udp)
{
	struct inet_addr s, d;

	inet_addr_parse(&s, "198.18.0.1");
	inet_addr_parse(&d, "224.0.0.13");
	CHECK_EQ_INT(in_cksum_finish(in_cksum_add(in_cksum_pseudo(&s, &d, 17, 12), ip4_udp + 20, 12)),
		     0);
	inet_addr_parse(&s, "2001:db8::1");
	inet_addr_parse(&d, "ff02::d");
	CHECK_EQ_INT(in_cksum_finish(in_cksum_add(in_cksum_pseudo(&s, &d, 17, 12), ip6_udp + 40, 12)),
		     0);
	/* And the IPv4 header sums to zero with its checksum in place. */
	CHECK_EQ_INT(in_cksum_finish(in_cksum_add(0, ip4_udp, 20)), 0);
}

/* A long run of 0xff bytes: the early fold keeps the 32-bit sum from overflowing. */
TEST(checksum_survives_long_input)
{
	size_t n = 300000;
	uint8_t *b = malloc(n);

	CHECK(b != NULL);
	memset(b, 0xff, n);
	CHECK_EQ_INT(in_cksum_finish(in_cksum_add(0, b, n)), 0);
	free(b);
}

/* ---- IPv4 ---- */

TEST(ipv4_header_and_payload)
{
	struct ip_packet ip;

	CHECK_EQ_INT(ip_parse(ip4_udp, sizeof(ip4_udp), &ip), PARSE_OK);
	CHECK(addr_is(&ip.src, "198.18.0.1") && addr_is(&ip.dst, "224.0.0.13"));
	CHECK_EQ_INT(ip.proto, 17);
	CHECK_EQ_INT(ip.ttl, 1);
	CHECK(ip.payload == ip4_udp + 20);
	CHECK_EQ_INT(ip.payload_len, 12);
}

TEST(ipv4_options_are_skipped)
{
	struct ip_packet ip;

	CHECK_EQ_INT(ip_parse(ip4_options, sizeof(ip4_options), &ip), PARSE_OK);
	CHECK_EQ_INT(ip.proto, 103);
	CHECK(ip.payload == ip4_options + 24);
	CHECK_EQ_INT(ip.payload_len, 4);
}

/* Ethernet pads a 32-byte packet to 46: the padding is not payload. */
TEST(ipv4_drops_bytes_after_total_length)
{
	uint8_t m[sizeof(ip4_udp) + 14];
	struct ip_packet ip;

	memset(m, 0, sizeof(m));
	memcpy(m, ip4_udp, sizeof(ip4_udp));
	CHECK_EQ_INT(ip_parse(m, sizeof(m), &ip), PARSE_OK);
	CHECK_EQ_INT(ip.payload_len, 12);
}

static enum parse_error ipv4_patched(size_t at, uint8_t value, bool fix, size_t len)
{
	uint8_t m[sizeof(ip4_udp)];
	struct ip_packet ip;

	memcpy(m, ip4_udp, sizeof(m));
	m[at] = value;
	if (fix)
		ipv4_fix_checksum(m);
	return ip_parse_copy(m, len, &ip);
}

TEST(ipv4_refuses_bad_headers)
{
	size_t n = sizeof(ip4_udp);

	CHECK_EQ_INT(ipv4_patched(0, 0x55, false, n), PARSE_BAD_VERSION);
	CHECK_EQ_INT(ipv4_patched(0, 0x05, false, n), PARSE_BAD_VERSION);
	CHECK_EQ_INT(ipv4_patched(0, 0x44, false, n), PARSE_BAD_LENGTH);  /* IHL 4 */
	CHECK_EQ_INT(ipv4_patched(0, 0x4f, false, n), PARSE_TRUNCATED);   /* IHL 15: 60 > 32 */
	CHECK_EQ_INT(ipv4_patched(8, 0x02, false, n), PARSE_BAD_CHECKSUM); /* TTL changed */
	CHECK_EQ_INT(ipv4_patched(3, 19, true, n), PARSE_BAD_LENGTH);     /* total < header */
	CHECK_EQ_INT(ipv4_patched(3, 33, true, n), PARSE_BAD_LENGTH);     /* total > buffer */
	CHECK_EQ_INT(ipv4_patched(6, 0x20, true, n), PARSE_FRAGMENT);     /* MF */
	CHECK_EQ_INT(ipv4_patched(7, 0x01, true, n), PARSE_FRAGMENT);     /* offset 8 */
	CHECK_EQ_INT(ipv4_patched(6, 0x40, true, n), PARSE_OK);           /* DF is fine */
	CHECK_EQ_INT(ipv4_patched(0, 0x45, false, 19), PARSE_TRUNCATED);
	CHECK_EQ_INT(ipv4_patched(0, 0x45, false, 0), PARSE_TRUNCATED);
	CHECK_EQ_INT(ip_parse_copy(NULL, 0, &(struct ip_packet){0}), PARSE_TRUNCATED);
}

/* ---- IPv6 ---- */

TEST(ipv6_header_and_payload)
{
	struct ip_packet ip;

	CHECK_EQ_INT(ip_parse(ip6_udp, sizeof(ip6_udp), &ip), PARSE_OK);
	CHECK(addr_is(&ip.src, "2001:db8::1") && addr_is(&ip.dst, "ff02::d"));
	CHECK_EQ_INT(ip.proto, 17);
	CHECK_EQ_INT(ip.ttl, 1);
	CHECK(ip.payload == ip6_udp + 40);
	CHECK_EQ_INT(ip.payload_len, 12);
}

TEST(ipv6_skips_hop_by_hop_destination_and_routing_headers)
{
	struct ip_packet ip;
	struct udp_packet udp;

	CHECK_EQ_INT(ip_parse(ip6_extensions, sizeof(ip6_extensions), &ip), PARSE_OK);
	CHECK_EQ_INT(ip.proto, 17);
	CHECK(ip.payload == ip6_extensions + 80);
	CHECK_EQ_INT(ip.payload_len, 12);
	CHECK_EQ_INT(udp_parse(&ip, &udp), PARSE_OK);
	CHECK_EQ_INT(udp.sport, 3232);
}

static enum parse_error ipv6_patched(const uint8_t *p, size_t len, size_t at, uint8_t value)
{
	uint8_t m[sizeof(ip6_extensions)];
	struct ip_packet ip;

	memcpy(m, p, len);
	m[at] = value;
	return ip_parse_copy(m, len, &ip);
}

TEST(ipv6_refuses_fragments_bad_lengths_and_source_routes)
{
	size_t n = sizeof(ip6_extensions);

	CHECK_EQ_INT(ipv6_patched(ip6_udp, sizeof(ip6_udp), 6, 44), PARSE_FRAGMENT);
	CHECK_EQ_INT(ipv6_patched(ip6_extensions, n, 56, 44), PARSE_FRAGMENT); /* after the chain */
	CHECK_EQ_INT(ipv6_patched(ip6_udp, sizeof(ip6_udp), 5, 13), PARSE_BAD_LENGTH);
	CHECK_EQ_INT(ipv6_patched(ip6_extensions, n, 59, 1), PARSE_UNSUPPORTED); /* segments left */
	CHECK_EQ_INT(ipv6_patched(ip6_extensions, n, 41, 10), PARSE_TRUNCATED);  /* 88-byte HBH */
	CHECK_EQ_INT(ipv6_patched(ip6_extensions, n, 5, 4), PARSE_TRUNCATED);    /* plen 4 < HBH */
	CHECK_EQ_INT(ipv6_patched(ip6_extensions, n, 5, 9), PARSE_TRUNCATED);    /* ends in dstopts */
	CHECK_EQ_INT(ipv6_patched(ip6_udp, 39, 0, 0x60), PARSE_TRUNCATED);
}

TEST(ipv6_drops_bytes_after_payload_length)
{
	uint8_t m[sizeof(ip6_udp) + 6];
	struct ip_packet ip;

	memset(m, 0xee, sizeof(m));
	memcpy(m, ip6_udp, sizeof(ip6_udp));
	CHECK_EQ_INT(ip_parse(m, sizeof(m), &ip), PARSE_OK);
	CHECK_EQ_INT(ip.payload_len, 12);
}

/* Every prefix of a packet is refused: the IP length says more is due.
 * Exact heap copies let valgrind see any read past the end. */
TEST(ip_every_prefix_is_refused)
{
	const struct {
		const uint8_t *p;
		size_t len;
	} pkts[] = {{ip4_udp, sizeof(ip4_udp)},
		    {ip4_options, sizeof(ip4_options)},
		    {ip6_udp, sizeof(ip6_udp)},
		    {ip6_extensions, sizeof(ip6_extensions)}};

	for (size_t i = 0; i < sizeof(pkts) / sizeof(pkts[0]); i++) {
		struct ip_packet ip;

		for (size_t n = 0; n < pkts[i].len; n++)
			CHECK(ip_parse_copy(pkts[i].p, n, &ip) != PARSE_OK);
		CHECK_EQ_INT(ip_parse_copy(pkts[i].p, pkts[i].len, &ip), PARSE_OK);
	}
}

/* ---- UDP ---- */

TEST(udp_ports_and_payload)
{
	struct ip_packet ip;
	struct udp_packet udp;

	CHECK_EQ_INT(ip_parse(ip4_udp, sizeof(ip4_udp), &ip), PARSE_OK);
	CHECK_EQ_INT(udp_parse(&ip, &udp), PARSE_OK);
	CHECK_EQ_INT(udp.sport, MDT_JOIN_PORT);
	CHECK_EQ_INT(udp.dport, MDT_JOIN_PORT);
	CHECK(udp.payload == ip4_udp + 28);
	CHECK_EQ_INT(udp.payload_len, 4);
	CHECK_EQ_INT(ip_parse(ip6_udp, sizeof(ip6_udp), &ip), PARSE_OK);
	CHECK_EQ_INT(udp_parse(&ip, &udp), PARSE_OK);
	CHECK_EQ_INT(udp.payload_len, 4);
}

/* Parses ip4_udp (or ip6_udp) with one UDP byte patched. */
static enum parse_error udp_patched(bool v6, size_t at, uint8_t value)
{
	uint8_t m[sizeof(ip6_udp)];
	size_t len = v6 ? sizeof(ip6_udp) : sizeof(ip4_udp);
	struct ip_packet ip;
	struct udp_packet udp;

	memcpy(m, v6 ? ip6_udp : ip4_udp, len);
	m[(v6 ? 40 : 20) + at] = value;
	if (ip_parse(m, len, &ip) != PARSE_OK)
		return PARSE_ERROR_COUNT;
	return udp_parse(&ip, &udp);
}

TEST(udp_checksum_zero_is_none_for_ipv4_only)
{
	uint8_t m[sizeof(ip4_udp)];
	struct ip_packet ip;
	struct udp_packet udp;

	memcpy(m, ip4_udp, sizeof(m));
	m[26] = m[27] = 0; /* no checksum */
	m[31] = 0x99;      /* so the data may be anything */
	CHECK_EQ_INT(ip_parse(m, sizeof(m), &ip), PARSE_OK);
	CHECK_EQ_INT(udp_parse(&ip, &udp), PARSE_OK);
	/* IPv6 makes the checksum mandatory: zero is refused. */
	CHECK_EQ_INT(udp_patched(true, 6, 0), PARSE_BAD_CHECKSUM); /* first checksum byte */
	{
		uint8_t m6[sizeof(ip6_udp)];

		memcpy(m6, ip6_udp, sizeof(m6));
		m6[46] = m6[47] = 0;
		CHECK_EQ_INT(ip_parse(m6, sizeof(m6), &ip), PARSE_OK);
		CHECK_EQ_INT(udp_parse(&ip, &udp), PARSE_BAD_CHECKSUM);
	}
}

TEST(udp_refuses_bad_lengths_and_checksums)
{
	CHECK_EQ_INT(udp_patched(false, 11, 0x05), PARSE_BAD_CHECKSUM); /* data changed */
	CHECK_EQ_INT(udp_patched(true, 11, 0x05), PARSE_BAD_CHECKSUM);
	CHECK_EQ_INT(udp_patched(false, 5, 7), PARSE_BAD_LENGTH);  /* length 7 < header */
	CHECK_EQ_INT(udp_patched(false, 5, 13), PARSE_BAD_LENGTH); /* length 13 > IP payload */
	CHECK_EQ_INT(udp_patched(true, 5, 13), PARSE_BAD_LENGTH);
	CHECK_EQ_INT(udp_patched(false, 5, 10), PARSE_BAD_CHECKSUM); /* 10: a shorter sum */
}

TEST(udp_refuses_what_is_not_udp)
{
	struct ip_packet ip;
	struct udp_packet udp;

	CHECK_EQ_INT(ip_parse(ip4_options, sizeof(ip4_options), &ip), PARSE_OK);
	CHECK_EQ_INT(udp_parse(&ip, &udp), PARSE_UNSUPPORTED);
}

TEST(udp_every_prefix_is_refused)
{
	struct ip_packet ip;

	CHECK_EQ_INT(ip_parse(ip4_udp, sizeof(ip4_udp), &ip), PARSE_OK);
	for (size_t n = 0; n < 12; n++) {
		uint8_t *q = dup_exact(ip4_udp + 20, n);
		struct ip_packet cut = ip;
		struct udp_packet udp;
		enum parse_error e;

		cut.payload = q;
		cut.payload_len = n;
		e = udp_parse(&cut, &udp);
		free(q);
		CHECK_EQ_INT(e, n < 8 ? PARSE_TRUNCATED : PARSE_BAD_LENGTH);
	}
}

/* ---- link layers ---- */

static const uint8_t eth_plain[] = {
	0x01, 0x00, 0x5e, 0x40, 0x00, 0x0a, /* destination: 239.192.0.10's MAC */
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01, /* source */
	0x08, 0x00,                         /* IPv4 */
};
static const uint8_t eth_vlan[] = {
	0x01, 0x00, 0x5e, 0x40, 0x00, 0x0a, /* destination */
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01, /* source */
	0x81, 0x00, 0x00, 0x64,             /* 802.1Q, VLAN 100 */
	0x08, 0x00,                         /* IPv4 */
};
static const uint8_t eth_qinq[] = {
	0x01, 0x00, 0x5e, 0x40, 0x00, 0x0a, /* destination */
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01, /* source */
	0x88, 0xa8, 0x00, 0x0a,             /* 802.1ad, S-VLAN 10 */
	0x81, 0x00, 0x00, 0x64,             /* 802.1Q, C-VLAN 100 */
	0x86, 0xdd,                         /* IPv6 */
};
static const uint8_t eth_three_tags[] = {
	0x01, 0x00, 0x5e, 0x40, 0x00, 0x0a, /* destination */
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01, /* source */
	0x88, 0xa8, 0x00, 0x0a,             /* 802.1ad */
	0x81, 0x00, 0x00, 0x64,             /* 802.1Q */
	0x81, 0x00, 0x00, 0x65,             /* 802.1Q again: more than two tags */
	0x08, 0x00,                         /* IPv4 */
};
static const uint8_t eth_arp[] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* destination: broadcast */
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01, /* source */
	0x08, 0x06,                         /* ARP */
};
static const uint8_t sll_ipv4[] = {
	0x00, 0x00, 0x00, 0x01,             /* packet type 0 (to us); ARPHRD_ETHER */
	0x00, 0x06,                         /* link-layer address length 6 */
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01, /* address */
	0x00, 0x00,                         /* padding to 8 */
	0x08, 0x00,                         /* protocol: IPv4 */
};
static const uint8_t sll2_ipv6[] = {
	0x86, 0xdd, 0x00, 0x00,             /* protocol IPv6; reserved */
	0x00, 0x00, 0x00, 0x02,             /* interface index 2 */
	0x00, 0x01, 0x00, 0x06,             /* ARPHRD_ETHER; packet type 0; address length 6 */
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01, /* address */
	0x00, 0x00,                         /* padding to 8 */
};

TEST(link_ethernet_with_and_without_tags)
{
	size_t off = 99;

	CHECK_EQ_INT(link_parse(DLT_EN10MB, eth_plain, sizeof(eth_plain), &off), PARSE_OK);
	CHECK_EQ_INT(off, 14);
	CHECK_EQ_INT(link_parse(DLT_EN10MB, eth_vlan, sizeof(eth_vlan), &off), PARSE_OK);
	CHECK_EQ_INT(off, 18);
	CHECK_EQ_INT(link_parse(DLT_EN10MB, eth_qinq, sizeof(eth_qinq), &off), PARSE_OK);
	CHECK_EQ_INT(off, 22);
	CHECK_EQ_INT(link_parse(DLT_EN10MB, eth_three_tags, sizeof(eth_three_tags), &off),
		     PARSE_UNSUPPORTED);
	CHECK_EQ_INT(link_parse(DLT_EN10MB, eth_arp, sizeof(eth_arp), &off), PARSE_UNSUPPORTED);
}

TEST(link_linux_cooked_v1_and_v2)
{
	uint8_t m[sizeof(sll_ipv4)];
	size_t off;

	CHECK_EQ_INT(link_parse(DLT_LINUX_SLL, sll_ipv4, sizeof(sll_ipv4), &off), PARSE_OK);
	CHECK_EQ_INT(off, 16);
	CHECK_EQ_INT(link_parse(DLT_LINUX_SLL2, sll2_ipv6, sizeof(sll2_ipv6), &off), PARSE_OK);
	CHECK_EQ_INT(off, 20);
	memcpy(m, sll_ipv4, sizeof(m));
	m[15] = 0x06; /* ARP */
	CHECK_EQ_INT(link_parse(DLT_LINUX_SLL, m, sizeof(m), &off), PARSE_UNSUPPORTED);
}

/* -i any on a VLAN: libpcap puts the tag the kernel took off back after the
 * cooked header, whose protocol then says 802.1Q. */
static const uint8_t sll_vlan_ipv4[] = {
	0x00, 0x00, 0x00, 0x01,             /* packet type 0; ARPHRD_ETHER */
	0x00, 0x06,                         /* address length 6 */
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01, /* address */
	0x00, 0x00,                         /* padding to 8 */
	0x81, 0x00,                         /* protocol: 802.1Q */
	0x00, 0x64, 0x08, 0x00,             /* VLAN 100, then IPv4 */
};
static const uint8_t sll2_qinq_ipv6[] = {
	0x88, 0xa8, 0x00, 0x00,             /* protocol 802.1ad; reserved */
	0x00, 0x00, 0x00, 0x02,             /* interface index 2 */
	0x00, 0x01, 0x00, 0x06,             /* ARPHRD_ETHER; packet type 0; address length 6 */
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01, /* address */
	0x00, 0x00,                         /* padding to 8 */
	0x00, 0x0a, 0x81, 0x00,             /* S-VLAN 10, then 802.1Q */
	0x00, 0x64, 0x86, 0xdd,             /* C-VLAN 100, then IPv6 */
};

TEST(link_linux_cooked_with_tags)
{
	uint8_t m[sizeof(sll2_qinq_ipv6)];
	size_t off = 99;

	CHECK_EQ_INT(link_parse(DLT_LINUX_SLL, sll_vlan_ipv4, sizeof(sll_vlan_ipv4), &off), PARSE_OK);
	CHECK_EQ_INT(off, 20);
	CHECK_EQ_INT(link_parse(DLT_LINUX_SLL2, sll2_qinq_ipv6, sizeof(sll2_qinq_ipv6), &off),
		     PARSE_OK);
	CHECK_EQ_INT(off, 28);
	memcpy(m, sll2_qinq_ipv6, sizeof(m));
	m[26] = 0x81, m[27] = 0x00; /* a third tag would follow */
	CHECK_EQ_INT(link_parse(DLT_LINUX_SLL2, m, sizeof(m), &off), PARSE_UNSUPPORTED);
	for (size_t n = 16; n < sizeof(sll_vlan_ipv4); n++) {
		uint8_t *q = dup_exact(sll_vlan_ipv4, n);
		CHECK_EQ_INT(link_parse(DLT_LINUX_SLL, q, n, &off), PARSE_TRUNCATED);
		free(q);
	}
}

TEST(link_null_either_byte_order_loop_network_order)
{
	static const uint8_t af_inet_le[] = {0x02, 0x00, 0x00, 0x00};   /* AF_INET, little-endian host */
	static const uint8_t af_inet_be[] = {0x00, 0x00, 0x00, 0x02};   /* AF_INET, big-endian */
	static const uint8_t af_inet6_mac[] = {0x1e, 0x00, 0x00, 0x00}; /* Darwin AF_INET6 30 */
	static const uint8_t af_inet6_obsd[] = {0x00, 0x00, 0x00, 0x18}; /* OpenBSD AF_INET6 24 */
	static const uint8_t af_7[] = {0x07, 0x00, 0x00, 0x00};         /* not IP */
	size_t off;

	CHECK_EQ_INT(link_parse(DLT_NULL, af_inet_le, 4, &off), PARSE_OK);
	CHECK_EQ_INT(off, 4);
	CHECK_EQ_INT(link_parse(DLT_NULL, af_inet_be, 4, &off), PARSE_OK);
	CHECK_EQ_INT(link_parse(DLT_NULL, af_inet6_mac, 4, &off), PARSE_OK);
	CHECK_EQ_INT(link_parse(DLT_NULL, af_7, 4, &off), PARSE_UNSUPPORTED);
	CHECK_EQ_INT(link_parse(DLT_LOOP, af_inet_be, 4, &off), PARSE_OK);
	CHECK_EQ_INT(off, 4);
	CHECK_EQ_INT(link_parse(DLT_LOOP, af_inet6_obsd, 4, &off), PARSE_OK);
	CHECK_EQ_INT(link_parse(DLT_LOOP, af_inet_le, 4, &off), PARSE_UNSUPPORTED);
}

TEST(link_raw_types_start_at_zero_others_are_unsupported)
{
	size_t off = 99;

	CHECK_EQ_INT(link_parse(DLT_RAW, ip4_udp, sizeof(ip4_udp), &off), PARSE_OK);
	CHECK_EQ_INT(off, 0);
	CHECK_EQ_INT(link_parse(DLT_IPV4, ip4_udp, sizeof(ip4_udp), &off), PARSE_OK);
	CHECK_EQ_INT(link_parse(DLT_IPV6, ip6_udp, sizeof(ip6_udp), &off), PARSE_OK);
	CHECK_EQ_INT(link_parse(DLT_IEEE802_11, ip4_udp, sizeof(ip4_udp), &off), PARSE_UNSUPPORTED);
	CHECK_EQ_INT(link_parse(-1, ip4_udp, sizeof(ip4_udp), &off), PARSE_UNSUPPORTED);
}

TEST(link_every_prefix_of_a_header_is_truncated)
{
	const struct {
		int dlt;
		const uint8_t *p;
		size_t len;
	} hdrs[] = {{DLT_EN10MB, eth_plain, sizeof(eth_plain)},
		    {DLT_EN10MB, eth_qinq, sizeof(eth_qinq)},
		    {DLT_LINUX_SLL, sll_ipv4, sizeof(sll_ipv4)},
		    {DLT_LINUX_SLL2, sll2_ipv6, sizeof(sll2_ipv6)},
		    {DLT_NULL, (const uint8_t[]){2, 0, 0, 0}, 4},
		    {DLT_LOOP, (const uint8_t[]){0, 0, 0, 2}, 4}};

	for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
		size_t off;

		for (size_t n = 0; n < hdrs[i].len; n++)
			CHECK_EQ_INT(link_parse_copy(hdrs[i].dlt, hdrs[i].p, n, &off), PARSE_TRUNCATED);
		CHECK_EQ_INT(link_parse_copy(hdrs[i].dlt, hdrs[i].p, hdrs[i].len, &off), PARSE_OK);
		CHECK_EQ_INT(off, hdrs[i].len);
	}
}

/* ---- error names ---- */

TEST(every_error_has_a_distinct_name)
{
	for (int i = 0; i < PARSE_ERROR_COUNT; i++) {
		const char *a = parse_error_name((enum parse_error)i);

		CHECK(a && *a && strcmp(a, "unknown") != 0);
		for (int j = 0; j < i; j++)
			CHECK(strcmp(a, parse_error_name((enum parse_error)j)) != 0);
	}
	CHECK_EQ_STR(parse_error_name(PARSE_TRUNCATED), "truncated");
	CHECK_EQ_STR(parse_error_name(PARSE_BAD_CHECKSUM), "bad-checksum");
	CHECK_EQ_STR(parse_error_name(PARSE_BAD_VERSION), "bad-version");
	CHECK_EQ_STR(parse_error_name(PARSE_ERROR_COUNT), "unknown");
	CHECK_EQ_STR(parse_error_name((enum parse_error)-1), "unknown");
}

UNIT_MAIN("parse_ip", T(checksum_matches_rfc1071_example), T(checksum_pads_an_odd_byte_and_handles_nothing),
	  T(checksum_pseudo_headers_verify_independent_udp), T(checksum_survives_long_input),
	  T(ipv4_header_and_payload), T(ipv4_options_are_skipped), T(ipv4_drops_bytes_after_total_length),
	  T(ipv4_refuses_bad_headers), T(ipv6_header_and_payload),
	  T(ipv6_skips_hop_by_hop_destination_and_routing_headers),
	  T(ipv6_refuses_fragments_bad_lengths_and_source_routes), T(ipv6_drops_bytes_after_payload_length),
	  T(ip_every_prefix_is_refused), T(udp_ports_and_payload), T(udp_checksum_zero_is_none_for_ipv4_only),
	  T(udp_refuses_bad_lengths_and_checksums), T(udp_refuses_what_is_not_udp),
	  T(udp_every_prefix_is_refused), T(link_ethernet_with_and_without_tags),
	  T(link_linux_cooked_v1_and_v2), T(link_linux_cooked_with_tags),
	  T(link_null_either_byte_order_loop_network_order),
	  T(link_raw_types_start_at_zero_others_are_unsupported),
	  T(link_every_prefix_of_a_header_is_truncated), T(every_error_has_a_distinct_name))
