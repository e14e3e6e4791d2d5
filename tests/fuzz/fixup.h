/*
 * Checksum fix-up for the frame harnesses.  Nearly every mutation of a frame
 * breaks a checksum (outer and inner IPv4 header, GRE when present, PIM,
 * UDP, ICMP, IGMP), so a fuzzer left alone spends its time on the first
 * checksum test.  When the input asks for it, the harness rewrites every
 * checksum it can locate before parsing, layer by layer, so mutations reach
 * the layers behind them; the parsers still verify every checksum as usual.
 * Locating a layer uses the parsers themselves: a layer they refuse for
 * another reason is left as it is.
 */
#ifndef MVPN_FUZZ_FIXUP_H
#define MVPN_FUZZ_FIXUP_H

#include "fuzz.h"

static inline void put_sum(uint8_t *at, uint64_t acc)
{
	uint16_t v;

	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	v = (uint16_t)~acc;
	at[0] = (uint8_t)(v >> 8);
	at[1] = (uint8_t)v;
}

/* An IPv4 header whose length fits: its checksum made right. */
static inline void fix_ipv4_header(uint8_t *p, size_t len)
{
	size_t hlen;

	if (len < 20 || p[0] >> 4 != 4)
		return;
	hlen = (size_t)(p[0] & 0x0f) * 4;
	if (hlen < 20 || hlen > len)
		return;
	p[10] = p[11] = 0;
	put_sum(p + 10, ref_sum(0, p, hlen));
}

/* The upper-layer checksum of PIM (with the IPv6 pseudo-header), UDP (with
 * either pseudo-header; over the UDP length), ICMP and IGMP (none). */
static inline void fix_upper(const struct ip_packet *ip, uint8_t *p)
{
	size_t n = ip->payload_len;
	uint64_t acc = 0;

	switch (ip->proto) {
	case 1:
	case 2:
	case 103:
		if (n < 4)
			return;
		if (ip->proto == 103 && ip->src.type == INET_IPV6)
			acc = ref_pseudo(&ip->src, &ip->dst, 103, (uint32_t)n);
		p[2] = p[3] = 0;
		put_sum(p + 2, ref_sum(acc, p, n));
		break;
	case 17:
		if (n < 8 || be16(p + 4) < 8 || be16(p + 4) > n)
			return;
		n = be16(p + 4);
		p[6] = p[7] = 0;
		put_sum(p + 6, ref_sum(ref_pseudo(&ip->src, &ip->dst, 17, (uint32_t)n), p, n));
		if (p[6] == 0 && p[7] == 0) /* 0 means "none": RFC 768 sends all ones */
			p[6] = p[7] = 0xff;
		break;
	default:
		break;
	}
}

static inline void fix_gre(uint8_t *g, size_t len)
{
	if (len < 8 || !(g[0] & 0x80))
		return;
	g[4] = g[5] = 0;
	put_sum(g + 4, ref_sum(0, g, len));
}

/* p is the caller's own copy of the frame, len its size. */
static inline void fuzz_fix_checksums(int dlt, uint8_t *p, size_t len)
{
	struct ip_packet outer, inner;
	struct gre_packet gre;
	size_t off;
	uint8_t *g, *in;

	if (link_parse(dlt, p, len, &off) != PARSE_OK)
		return;
	fix_ipv4_header(p + off, len - off);
	if (ip_parse(p + off, len - off, &outer) != PARSE_OK || outer.proto != 47)
		return;
	g = p + (outer.payload - p);
	/* GRE's own checksum covers what follows it: made right once so that
	 * gre_parse finds the payload, and again after the payload changed. */
	fix_gre(g, outer.payload_len);
	if (gre_parse(g, outer.payload_len, &gre) != PARSE_OK)
		return;
	in = p + (gre.payload - p);
	fix_ipv4_header(in, gre.payload_len);
	if (ip_parse(in, gre.payload_len, &inner) == PARSE_OK)
		fix_upper(&inner, p + (inner.payload - p));
	fix_gre(g, outer.payload_len);
}

#endif
