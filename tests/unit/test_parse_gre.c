/*
 * capture/parse_gre and capture/frame: GRE with and without its optional
 * words, and whole frames from a default MDT classified (PIM, MDT Join,
 * customer data, not GRE).  The checksums in the fixtures were computed
 * independently of capture/checksum.c.
 */
#include "unit.h"

#include <pcap/dlt.h>
#include <stdlib.h>

#include "../../capture/parse.h"
#include "parse_helpers.h"

/* ---- GRE fixtures ---- */

static const uint8_t gre_plain[] = {
	0x00, 0x00, 0x08, 0x00, /* flags 0, version 0; protocol IPv4 */
	0x45, 0x00, 0x00, 0x14, /* payload: 4 bytes */
};
static const uint8_t gre_key[] = {
	0x20, 0x00, 0x08, 0x00, /* K; protocol IPv4 */
	0x00, 0x00, 0x00, 0x28, /* key 40 */
	0x45, 0x00, 0x00, 0x14, /* payload */
};
static const uint8_t gre_seq[] = {
	0x10, 0x00, 0x08, 0x00, /* S; protocol IPv4 */
	0x00, 0x00, 0x00, 0x07, /* sequence 7 */
	0x45, 0x00, 0x00, 0x14, /* payload */
};
static const uint8_t gre_checksum[] = {
	0x80, 0x00, 0x08, 0x00, /* C; protocol IPv4 */
	0x32, 0xeb, 0x00, 0x00, /* checksum 0x32eb (header and payload); reserved1 */
	0x45, 0x00, 0x00, 0x14, /* payload */
};
/* All three optional words, in their RFC 2890 order. */
static const uint8_t gre_all[] = {
	0xb0, 0x00, 0x86, 0xdd, /* C|K|S; protocol IPv6 */
	0x84, 0x02, 0x00, 0x00, /* checksum 0x8402; reserved1 */
	0x00, 0x00, 0x00, 0x0a, /* key 10 */
	0x00, 0x00, 0x00, 0x01, /* sequence 1 */
	0x45, 0x00, 0x00, 0x14, /* payload */
};

/* ---- frame fixtures ---- */

/* A C-PIM Hello on a default MDT, as a P-router's port sees it. */
static const uint8_t frame_hello_v4[] = {
	0x01, 0x00, 0x5e, 0x40, 0x00, 0x0a, /* 0: Ethernet destination: 239.192.0.10's MAC */
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01, /* 6: source */
	0x81, 0x00, 0x00, 0x64,             /* 12: 802.1Q, VLAN 100 */
	0x08, 0x00,                         /* 16: IPv4 */
	0x45, 0x00, 0x00, 0x4a, /* 18: outer IPv4: IHL 5; total length 74 */
	0x00, 0x04, 0x00, 0x00, /* 22: identification 4; no fragment */
	0xfe, 0x2f, 0x06, 0xa3, /* 26: TTL 254; protocol 47 GRE; header checksum 0x06a3 */
	0xc6, 0x12, 0x00, 0x01, /* 30: source 198.18.0.1 (the PE) */
	0xef, 0xc0, 0x00, 0x0a, /* 34: destination 239.192.0.10 (the default MDT) */
	0x20, 0x00, 0x08, 0x00, /* 38: GRE: K; protocol IPv4 */
	0x00, 0x00, 0x00, 0x0a, /* 42: key 10 */
	0x45, 0x00, 0x00, 0x2e, /* 46: inner IPv4: IHL 5; total length 46 */
	0x00, 0x03, 0x00, 0x00, /* 50: identification 3; no fragment */
	0x01, 0x67, 0x16, 0x5b, /* 54: TTL 1; protocol 103 PIM; header checksum 0x165b */
	0xc0, 0x00, 0x02, 0xfe, /* 58: source 192.0.2.254 (the PE in the VRF) */
	0xe0, 0x00, 0x00, 0x0d, /* 62: destination 224.0.0.13 */
	0x20, 0x00, 0xe4, 0x6c, /* 66: PIM: version 2, Hello; reserved; checksum 0xe46c */
	0x00, 0x01, 0x00, 0x02, 0x00, 0x69,             /* 70: Hold Time 105 s */
	0x00, 0x14, 0x00, 0x04, 0x26, 0x01, 0xd4, 0xf5, /* 76: Generation ID 0x2601d4f5 */
	0x00, 0x13, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01, /* 84: DR Priority 1 */
};
#define OUTER_V4 18
#define INNER_V4 46

/* An IPv6 C-instance over an IPv6 P-network, captured without a link header. */
static const uint8_t frame_hello_v6[] = {
	0x60, 0x00, 0x00, 0x00, /* 0: outer IPv6 */
	0x00, 0x46, 0x2f, 0x40, /* 4: payload length 70; next header 47 GRE; hop limit 64 */
	0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0x00, 0x00, /* 8: source 2001:db8:ffff::1 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0xff, 0x3e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 24: destination ff3e::c0:a */
	0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x0a,
	0x00, 0x00, 0x86, 0xdd, /* 40: GRE: no options; protocol IPv6 */
	0x60, 0x00, 0x00, 0x00, /* 44: inner IPv6 */
	0x00, 0x1a, 0x67, 0x01, /* 48: payload length 26; next header 103 PIM; hop limit 1 */
	0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 52: source fe80::1 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 68: destination ff02::d */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0d,
	0x20, 0x00, 0xe6, 0x59, /* 84: PIM Hello; checksum 0xe659 (with the pseudo-header) */
	0x00, 0x01, 0x00, 0x02, 0x00, 0x69,             /* Hold Time 105 s */
	0x00, 0x14, 0x00, 0x04, 0x26, 0x01, 0xd4, 0xf5, /* Generation ID 0x2601d4f5 */
	0x00, 0x13, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01, /* DR Priority 1 */
};

/* ---- helpers ---- */

static enum parse_error gre_parse_copy(const uint8_t *p, size_t n, struct gre_packet *g)
{
	uint8_t *q = dup_exact(p, n);
	enum parse_error e = gre_parse(q, n, g);

	free(q);
	return e;
}

static enum parse_error frame_parse_copy(int dlt, const uint8_t *p, size_t n, struct frame *f)
{
	uint8_t *q = dup_exact(p, n);
	enum parse_error e = frame_parse(dlt, q, n, f);

	free(q);
	return e;
}

/* frame_hello_v4 with one byte patched, the header holding it re-checksummed. */
static enum parse_error frame_patched(size_t at, uint8_t value, struct frame *f)
{
	uint8_t m[sizeof(frame_hello_v4)];

	memcpy(m, frame_hello_v4, sizeof(m));
	m[at] = value;
	if (at >= OUTER_V4 && at < OUTER_V4 + 20)
		ipv4_fix_checksum(m + OUTER_V4);
	if (at >= INNER_V4 && at < INNER_V4 + 20)
		ipv4_fix_checksum(m + INNER_V4);
	return frame_parse_copy(DLT_EN10MB, m, sizeof(m), f);
}

/* ---- GRE ---- */

TEST(gre_without_options)
{
	struct gre_packet g;

	CHECK_EQ_INT(gre_parse(gre_plain, sizeof(gre_plain), &g), PARSE_OK);
	CHECK_EQ_INT(g.proto, GRE_PROTO_IPV4);
	CHECK(!g.has_checksum && !g.has_key && !g.has_sequence);
	CHECK(g.payload == gre_plain + 4);
	CHECK_EQ_INT(g.payload_len, 4);
}

TEST(gre_keyed_and_sequenced)
{
	struct gre_packet g;

	CHECK_EQ_INT(gre_parse(gre_key, sizeof(gre_key), &g), PARSE_OK);
	CHECK(g.has_key && !g.has_sequence && !g.has_checksum);
	CHECK_EQ_INT(g.key, 40);
	CHECK(g.payload == gre_key + 8);
	CHECK_EQ_INT(gre_parse(gre_seq, sizeof(gre_seq), &g), PARSE_OK);
	CHECK(g.has_sequence && !g.has_key);
	CHECK_EQ_INT(g.sequence, 7);
	CHECK(g.payload == gre_seq + 8);
}

TEST(gre_checksum_is_verified)
{
	uint8_t m[sizeof(gre_checksum)];
	struct gre_packet g;

	CHECK_EQ_INT(gre_parse(gre_checksum, sizeof(gre_checksum), &g), PARSE_OK);
	CHECK(g.has_checksum);
	CHECK(g.payload == gre_checksum + 8);
	memcpy(m, gre_checksum, sizeof(m));
	m[11] ^= 0x01; /* the payload is covered too */
	CHECK_EQ_INT(gre_parse(m, sizeof(m), &g), PARSE_BAD_CHECKSUM);
}

TEST(gre_with_every_option_in_order)
{
	struct gre_packet g;

	CHECK_EQ_INT(gre_parse(gre_all, sizeof(gre_all), &g), PARSE_OK);
	CHECK(g.has_checksum && g.has_key && g.has_sequence);
	CHECK_EQ_INT(g.proto, GRE_PROTO_IPV6);
	CHECK_EQ_INT(g.key, 10);
	CHECK_EQ_INT(g.sequence, 1);
	CHECK(g.payload == gre_all + 16);
	CHECK_EQ_INT(g.payload_len, 4);
}

static enum parse_error gre_first_bytes(const uint8_t *p, size_t len, uint8_t b0, uint8_t b1)
{
	uint8_t m[32];
	struct gre_packet g;

	memcpy(m, p, len);
	m[0] = b0;
	m[1] = b1;
	return gre_parse_copy(m, len, &g);
}

TEST(gre_refuses_other_versions_and_rfc1701_bits)
{
	CHECK_EQ_INT(gre_first_bytes(gre_plain, sizeof(gre_plain), 0x00, 0x01), PARSE_BAD_VERSION);
	CHECK_EQ_INT(gre_first_bytes(gre_key, sizeof(gre_key), 0x30, 0x81), PARSE_BAD_VERSION); /* PPTP */
	CHECK_EQ_INT(gre_first_bytes(gre_plain, sizeof(gre_plain), 0x40, 0x00), PARSE_BAD_FLAGS); /* R */
	CHECK_EQ_INT(gre_first_bytes(gre_plain, sizeof(gre_plain), 0x08, 0x00), PARSE_BAD_FLAGS); /* s */
	CHECK_EQ_INT(gre_first_bytes(gre_plain, sizeof(gre_plain), 0x04, 0x00), PARSE_BAD_FLAGS); /* recur */
	/* Bits 6-12 are ignored on receipt (RFC 2784 2.3). */
	CHECK_EQ_INT(gre_first_bytes(gre_plain, sizeof(gre_plain), 0x03, 0xf8), PARSE_OK);
}

TEST(gre_refuses_missing_optional_words)
{
	struct gre_packet g;

	CHECK_EQ_INT(gre_parse_copy(gre_key, 6, &g), PARSE_TRUNCATED);
	CHECK_EQ_INT(gre_parse_copy(gre_all, 15, &g), PARSE_TRUNCATED);
	CHECK_EQ_INT(gre_parse_copy(gre_plain, 3, &g), PARSE_TRUNCATED);
	CHECK_EQ_INT(gre_parse_copy(NULL, 0, &g), PARSE_TRUNCATED);
}

/* GRE has no length of its own: a prefix past the header is a shorter
 * payload, unless a checksum says otherwise.  Inside the header every prefix
 * is PARSE_TRUNCATED; with C set, every prefix is refused (this payload has
 * no zero tail that a sum could not see). */
TEST(gre_every_prefix)
{
	const struct {
		const uint8_t *p;
		size_t len, hdr;
		bool checksummed;
	} pkts[] = {{gre_plain, sizeof(gre_plain), 4, false},
		    {gre_key, sizeof(gre_key), 8, false},
		    {gre_seq, sizeof(gre_seq), 8, false},
		    {gre_checksum, sizeof(gre_checksum), 8, true},
		    {gre_all, sizeof(gre_all), 16, true}};

	for (size_t i = 0; i < sizeof(pkts) / sizeof(pkts[0]); i++) {
		for (size_t n = 0; n < pkts[i].len; n++) {
			struct gre_packet g;
			enum parse_error e = gre_parse_copy(pkts[i].p, n, &g);

			if (n < pkts[i].hdr)
				CHECK_EQ_INT(e, PARSE_TRUNCATED);
			else if (pkts[i].checksummed)
				CHECK_EQ_INT(e, PARSE_BAD_CHECKSUM);
			else
				CHECK(e == PARSE_OK && g.payload_len == n - pkts[i].hdr);
		}
	}
}

/* ---- frames ---- */

TEST(frame_pim_hello_over_keyed_gre)
{
	struct frame f;
	enum pim_type type;
	struct pim_hello h;

	CHECK_EQ_INT(frame_parse(DLT_EN10MB, frame_hello_v4, sizeof(frame_hello_v4), &f), PARSE_OK);
	CHECK_EQ_INT(f.cls, FRAME_PIM);
	CHECK(addr_is(&f.outer.src, "198.18.0.1") && addr_is(&f.outer.dst, "239.192.0.10"));
	CHECK(f.gre.has_key);
	CHECK_EQ_INT(f.gre.key, 10);
	CHECK(addr_is(&f.inner.src, "192.0.2.254") && addr_is(&f.inner.dst, "224.0.0.13"));
	CHECK(f.inner.payload == frame_hello_v4 + 66);
	CHECK_EQ_INT(f.inner.payload_len, 26);
	CHECK_EQ_INT(pim_parse_header(&f.inner, &type), PARSE_OK);
	CHECK_EQ_INT(type, PIM_HELLO);
	CHECK_EQ_INT(pim_hello_parse(f.inner.payload, f.inner.payload_len, &h), PARSE_OK);
	CHECK_EQ_INT(h.holdtime, 105);
	CHECK_EQ_INT(h.generation_id, 0x2601d4f5);
	CHECK_EQ_INT(h.dr_priority, 1);
}

TEST(frame_ipv6_in_ipv6)
{
	struct frame f;
	enum pim_type type;

	CHECK_EQ_INT(frame_parse(DLT_RAW, frame_hello_v6, sizeof(frame_hello_v6), &f), PARSE_OK);
	CHECK_EQ_INT(f.cls, FRAME_PIM);
	CHECK(addr_is(&f.outer.dst, "ff3e::c0:a"));
	CHECK_EQ_INT(f.gre.proto, GRE_PROTO_IPV6);
	CHECK(addr_is(&f.inner.src, "fe80::1") && addr_is(&f.inner.dst, "ff02::d"));
	CHECK_EQ_INT(pim_parse_header(&f.inner, &type), PARSE_OK);
	CHECK_EQ_INT(type, PIM_HELLO);
}

TEST(frame_pim_to_another_address_is_customer_data)
{
	struct frame f;

	CHECK_EQ_INT(frame_patched(INNER_V4 + 16, 198, &f), PARSE_OK); /* dst 198.0.0.13 */
	CHECK_EQ_INT(f.cls, FRAME_CUSTOMER_DATA);
	CHECK_EQ_INT(frame_patched(INNER_V4 + 9, 6, &f), PARSE_OK); /* TCP to 224.0.0.13 */
	CHECK_EQ_INT(f.cls, FRAME_CUSTOMER_DATA);
	/* UDP to 224.0.0.13 whose "ports" (the PIM bytes 0x2000, 0xe46c) are not 3232. */
	CHECK_EQ_INT(frame_patched(INNER_V4 + 9, 17, &f), PARSE_OK);
	CHECK_EQ_INT(f.cls, FRAME_CUSTOMER_DATA);
}

/* A UDP datagram to ALL-PIM-ROUTERS too short to hold its ports is data, and
 * classifying it reads nothing beyond the inner packet. */
TEST(frame_short_udp_is_customer_data)
{
	uint8_t m[sizeof(frame_hello_v4)];
	struct frame f;

	memcpy(m, frame_hello_v4, sizeof(m));
	m[INNER_V4 + 9] = 17;  /* UDP */
	m[INNER_V4 + 3] = 23;  /* inner total length 23: 3 bytes after the header */
	ipv4_fix_checksum(m + INNER_V4);
	CHECK_EQ_INT(frame_parse_copy(DLT_EN10MB, m, sizeof(m), &f), PARSE_OK);
	CHECK_EQ_INT(f.cls, FRAME_CUSTOMER_DATA);
	CHECK_EQ_INT(f.inner.payload_len, 3);
}

TEST(frame_not_gre_is_ok_and_says_so)
{
	struct frame f;

	CHECK_EQ_INT(frame_patched(OUTER_V4 + 9, 17, &f), PARSE_OK);
	CHECK_EQ_INT(f.cls, FRAME_NOT_GRE);
	CHECK(addr_is(&f.outer.src, "198.18.0.1"));
}

/* The engine charges a refused frame to the VPN of its outer destination:
 * the outer header must be there whenever it was valid. */
TEST(frame_errors_inside_the_tunnel_keep_the_outer_header)
{
	struct frame f;

	CHECK_EQ_INT(frame_patched(40, 0x89, &f), PARSE_UNSUPPORTED); /* GRE 0x8900 */
	CHECK(addr_is(&f.outer.dst, "239.192.0.10"));
	CHECK_EQ_INT(frame_patched(39, 0x01, &f), PARSE_BAD_VERSION); /* GRE version 1 */
	CHECK(addr_is(&f.outer.dst, "239.192.0.10"));
	CHECK_EQ_INT(frame_patched(41, 0xdd, &f), PARSE_UNSUPPORTED); /* GRE 0x08dd */
	CHECK_EQ_INT(frame_patched(INNER_V4 + 8, 2, &f), PARSE_OK);  /* TTL 2, fixed sum */
	CHECK_EQ_INT(f.cls, FRAME_PIM);
	{
		uint8_t m[sizeof(frame_hello_v4)];

		memcpy(m, frame_hello_v4, sizeof(m));
		m[INNER_V4 + 8] = 2; /* inner TTL changed, checksum not fixed */
		CHECK_EQ_INT(frame_parse_copy(DLT_EN10MB, m, sizeof(m), &f), PARSE_BAD_CHECKSUM);
		CHECK(addr_is(&f.outer.dst, "239.192.0.10"));
		m[40] = 0x86; /* GRE says IPv6 ... */
		m[41] = 0xdd;
		m[INNER_V4 + 8] = 1; /* ... over a valid IPv4 packet */
		CHECK_EQ_INT(frame_parse_copy(DLT_EN10MB, m, sizeof(m), &f), PARSE_BAD_VERSION);
	}
	/* The outer TTL is not the parser's business. */
	CHECK_EQ_INT(frame_patched(OUTER_V4 + 8, 0, &f), PARSE_OK);
}

TEST(frame_refuses_what_is_not_ip)
{
	uint8_t m[sizeof(frame_hello_v4)];
	struct frame f;

	memcpy(m, frame_hello_v4, sizeof(m));
	m[17] = 0x06; /* ARP */
	CHECK_EQ_INT(frame_parse(DLT_EN10MB, m, sizeof(m), &f), PARSE_UNSUPPORTED);
	CHECK_EQ_INT(frame_parse(DLT_EN10MB, NULL, 0, &f), PARSE_TRUNCATED);
	CHECK_EQ_INT(frame_parse(DLT_IEEE802_11, frame_hello_v4, sizeof(frame_hello_v4), &f),
		     PARSE_UNSUPPORTED);
}

/* The outer IP length is what makes a frame whole: every prefix is refused. */
TEST(frame_every_prefix_is_refused)
{
	struct frame f;

	for (size_t n = 0; n < sizeof(frame_hello_v4); n++)
		CHECK(frame_parse_copy(DLT_EN10MB, frame_hello_v4, n, &f) != PARSE_OK);
	for (size_t n = 0; n < sizeof(frame_hello_v6); n++)
		CHECK(frame_parse_copy(DLT_RAW, frame_hello_v6, n, &f) != PARSE_OK);
	CHECK_EQ_INT(frame_parse_copy(DLT_EN10MB, frame_hello_v4, sizeof(frame_hello_v4), &f),
		     PARSE_OK);
	CHECK_EQ_INT(frame_parse_copy(DLT_RAW, frame_hello_v6, sizeof(frame_hello_v6), &f), PARSE_OK);
}

UNIT_MAIN("parse_gre", T(gre_without_options), T(gre_keyed_and_sequenced), T(gre_checksum_is_verified),
	  T(gre_with_every_option_in_order), T(gre_refuses_other_versions_and_rfc1701_bits),
	  T(gre_refuses_missing_optional_words), T(gre_every_prefix), T(frame_pim_hello_over_keyed_gre),
	  T(frame_ipv6_in_ipv6), T(frame_pim_to_another_address_is_customer_data),
	  T(frame_short_udp_is_customer_data), T(frame_not_gre_is_ok_and_says_so),
	  T(frame_errors_inside_the_tunnel_keep_the_outer_header), T(frame_refuses_what_is_not_ip),
	  T(frame_every_prefix_is_refused))
