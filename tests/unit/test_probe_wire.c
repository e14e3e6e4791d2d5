/*
 * probe/wire: the packets the active engine sends (probes, IGMP reports and
 * leaves, echo requests) and what it reads back through a tunnel (probes,
 * echo replies, IGMP queries).  Frames for the reading side are assembled
 * here byte by byte, not with the builders, and every parser is fed
 * exact-size heap copies so that valgrind sees any read past len.  The
 * builders' exact bytes are held against scapy's in
 * tests/integration/test_probe_wire.py.
 */
#include "unit.h"

#include <pcap/dlt.h>
#include <stdlib.h>

#include "../../capture/parse.h"
#include "../../probe/wire.h"
#include "parse_helpers.h"

#define PORT 9950
#define BUF 2048
#define OUTER 0          /* frames are DLT_RAW: the outer IPv4 header first */
#define GRE_AT 20
#define INNER 24
#define UDP_AT (INNER + 20)
#define PAYLOAD_AT (UDP_AT + 8)

/* ---- small helpers ---- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static struct inet_addr addr(const char *text)
{
	struct inet_addr a;

	inet_addr_parse(&a, text);
	return a;
}

static struct tunnel_ends ends(void)
{
	struct tunnel_ends t = {addr("198.18.0.100"), addr("198.18.0.1")};

	return t;
}

static struct probe_header header(const char *sender)
{
	struct probe_header h = {.vpn_index = 7,
				 .seq = 0x0102030405060708ull,
				 .send_ns = 0x1122334455667788ull,
				 .sender = addr(sender)};

	return h;
}

static size_t build_probe(uint8_t *buf, const char *sender, size_t payload_len)
{
	struct tunnel_ends t = ends();
	struct inet_addr g = addr("233.252.0.1");
	struct probe_header h = header(sender);

	return probe_build(buf, BUF, &t, 0x1234, &g, PORT, 16, &h, payload_len);
}

static enum parse_error rx_copy(int dlt, const uint8_t *p, size_t n, struct tunnel_rx *rx,
				enum probe_error *pe)
{
	uint8_t *q = dup_exact(p, n);
	enum parse_error e = tunnel_rx_parse(dlt, q, n, PORT, rx, pe);

	free(q);
	return e;
}

static enum probe_error header_copy(const uint8_t *p, size_t n, struct probe_header *h)
{
	uint8_t *q = dup_exact(p, n);
	enum probe_error e = probe_header_parse(q, n, h);

	free(q);
	return e;
}

/* The UDP checksum of the datagram at udp (IPv4 pseudo-header from the
 * inner header in front of it), computed from scratch. */
static uint16_t udp_sum(const uint8_t *inner)
{
	size_t hlen = (size_t)(inner[0] & 0x0f) * 4;
	const uint8_t *udp = inner + hlen;
	struct inet_addr s, d;

	inet_addr_v4(&s, inner + 12);
	inet_addr_v4(&d, inner + 16);
	return in_cksum_finish(in_cksum_add(in_cksum_pseudo(&s, &d, 17, get16(udp + 4)), udp,
					    get16(udp + 4)));
}

/*
 * A frame as a PE sends it back to the monitor: outer IPv4 198.18.0.1 ->
 * 198.18.0.100, GRE, inner IPv4 (src -> dst, protocol proto) carrying msg.
 * Assembled here, checksums from capture/checksum.c.  Returns its length.
 */
static size_t wrap(uint8_t *out, uint8_t proto, const char *src, const char *dst,
		   const uint8_t *msg, size_t n)
{
	static const uint8_t outer_tmpl[20] = {0x45, 0, 0, 0, 0, 9, 0, 0, 63, 47, 0, 0,
					       198, 18, 0, 1, 198, 18, 0, 100};
	struct inet_addr s = addr(src), d = addr(dst);
	uint8_t *in = out + INNER;

	memcpy(out, outer_tmpl, 20);
	put16(out + 2, (uint16_t)(INNER + 20 + n));
	ipv4_fix_checksum(out);
	memcpy(out + GRE_AT, "\x00\x00\x08\x00", 4);
	memset(in, 0, 20);
	in[0] = 0x45;
	put16(in + 2, (uint16_t)(20 + n));
	in[8] = 1;
	in[9] = proto;
	memcpy(in + 12, s.bytes, 4);
	memcpy(in + 16, d.bytes, 4);
	ipv4_fix_checksum(in);
	memcpy(in + 20, msg, n);
	return INNER + 20 + n;
}

/* A UDP datagram 192.0.2.254:PORT -> dst:dport with this payload, checksummed. */
static size_t wrap_udp(uint8_t *out, const char *dst, uint16_t dport, const uint8_t *payload,
		       size_t n)
{
	uint8_t msg[BUF];
	size_t len;

	put16(msg, PORT);
	put16(msg + 2, dport);
	put16(msg + 4, (uint16_t)(8 + n));
	put16(msg + 6, 0);
	memcpy(msg + 8, payload, n);
	len = wrap(out, 17, "192.0.2.254", dst, msg, 8 + n);
	put16(out + UDP_AT + 6, udp_sum(out + INNER));
	return len;
}

/* An IGMP or ICMP message of n bytes with its checksum (at bytes 2-3) computed. */
static size_t wrap_checksummed(uint8_t *out, uint8_t proto, const char *src, const char *dst,
			       uint8_t *msg, size_t n)
{
	put16(msg + 2, 0);
	put16(msg + 2, in_cksum_finish(in_cksum_add(0, msg, n)));
	return wrap(out, proto, src, dst, msg, n);
}

/* ---- probe header ---- */

/* 198.18.0.1 as a sender: 32 bytes, as the layout in wire.h says. */
static const uint8_t probe_v4[] = {
	0x4d, 0x56, 0x50, 0x62, /* 0: magic "MVPb" */
	0x01, 0x01, 0x00, 0x00, /* 4: version 1; family 1 IPv4; reserved */
	0x00, 0x00, 0x00, 0x07, /* 8: VPN index 7 */
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, /* 12: sequence */
	0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, /* 20: send time */
	0xc6, 0x12, 0x00, 0x01, /* 28: sender 198.18.0.1 */
};

static const uint8_t probe_v6[] = {
	0x4d, 0x56, 0x50, 0x62, /* 0: magic */
	0x01, 0x02, 0xff, 0xff, /* 4: version 1; family 2 IPv6; reserved (not zero: ignored) */
	0xff, 0xff, 0xff, 0xfe, /* 8: VPN index 0xfffffffe */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, /* 12: sequence 1 */
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* 20: send time */
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, /* 28: 2001:db8::2 */
};

TEST(probe_header_lengths)
{
	struct inet_addr none = {0};
	struct inet_addr v4 = addr("198.18.0.1"), v6 = addr("2001:db8::1");

	CHECK_EQ_INT(probe_header_len(&v4), 32);
	CHECK_EQ_INT(probe_header_len(&v6), 44);
	CHECK_EQ_INT(probe_header_len(&none), 0);
	CHECK_EQ_INT(PROBE_HEADER_MAX, 44);
}

TEST(probe_header_parses_both_families)
{
	struct probe_header h;

	CHECK_EQ_INT(header_copy(probe_v4, sizeof(probe_v4), &h), PROBE_OK);
	CHECK_EQ_INT(h.vpn_index, 7);
	CHECK(h.seq == 0x0102030405060708ull);
	CHECK(h.send_ns == 0x1122334455667788ull);
	CHECK(addr_is(&h.sender, "198.18.0.1"));
	CHECK_EQ_INT(header_copy(probe_v6, sizeof(probe_v6), &h), PROBE_OK);
	CHECK(h.vpn_index == 0xfffffffeu);
	CHECK(h.seq == 1);
	CHECK(h.send_ns == UINT64_MAX);
	CHECK(addr_is(&h.sender, "2001:db8::2"));
}

/* Every prefix of a header is PROBE_TRUNCATED and leaves nothing behind, and
 * padding after the header changes nothing. */
TEST(probe_header_every_prefix_is_truncated)
{
	const uint8_t *hdrs[] = {probe_v4, probe_v6};
	const size_t lens[] = {sizeof(probe_v4), sizeof(probe_v6)};
	uint8_t padded[64] = {0};
	struct probe_header h;

	for (size_t i = 0; i < 2; i++) {
		for (size_t n = 0; n < lens[i]; n++) {
			CHECK_EQ_INT(header_copy(hdrs[i], n, &h), PROBE_TRUNCATED);
			CHECK(h.seq == 0 && h.sender.type == INET_UNKNOWN);
		}
	}
	memcpy(padded, probe_v4, sizeof(probe_v4));
	CHECK_EQ_INT(header_copy(padded, sizeof(padded), &h), PROBE_OK);
	CHECK(addr_is(&h.sender, "198.18.0.1"));
	CHECK_EQ_INT(probe_header_parse(NULL, 0, &h), PROBE_TRUNCATED);
}

static enum probe_error header_patched(size_t at, uint8_t value, size_t len)
{
	uint8_t m[sizeof(probe_v4)];
	struct probe_header h;

	memcpy(m, probe_v4, sizeof(m));
	m[at] = value;
	return header_copy(m, len, &h);
}

/* Magic, version and family are judged as soon as they are there. */
TEST(probe_header_wrong_magic_version_family)
{
	for (size_t at = 0; at < 4; at++)
		CHECK_EQ_INT(header_patched(at, 0x00, sizeof(probe_v4)), PROBE_BAD_MAGIC);
	CHECK_EQ_INT(header_patched(0, 0x00, 4), PROBE_BAD_MAGIC);
	CHECK_EQ_INT(header_patched(0, 0x00, 3), PROBE_TRUNCATED);
	CHECK_EQ_INT(header_patched(4, 0, sizeof(probe_v4)), PROBE_BAD_VERSION);
	CHECK_EQ_INT(header_patched(4, 2, sizeof(probe_v4)), PROBE_BAD_VERSION);
	CHECK_EQ_INT(header_patched(4, 2, 5), PROBE_BAD_VERSION);
	CHECK_EQ_INT(header_patched(5, 0, sizeof(probe_v4)), PROBE_BAD_FAMILY);
	CHECK_EQ_INT(header_patched(5, 3, sizeof(probe_v4)), PROBE_BAD_FAMILY);
	CHECK_EQ_INT(header_patched(5, 3, 6), PROBE_BAD_FAMILY);
	/* Family 2 promises 16 address bytes; a 32-byte header has 4. */
	CHECK_EQ_INT(header_patched(5, 2, sizeof(probe_v4)), PROBE_TRUNCATED);
	CHECK_EQ_INT(header_patched(6, 0xaa, sizeof(probe_v4)), PROBE_OK);
}

TEST(probe_error_names)
{
	CHECK_EQ_STR(probe_error_name(PROBE_OK), "ok");
	CHECK_EQ_STR(probe_error_name(PROBE_TRUNCATED), "truncated");
	CHECK_EQ_STR(probe_error_name(PROBE_BAD_MAGIC), "bad-magic");
	CHECK_EQ_STR(probe_error_name(PROBE_BAD_VERSION), "bad-version");
	CHECK_EQ_STR(probe_error_name(PROBE_BAD_FAMILY), "bad-family");
	CHECK_EQ_STR(probe_error_name((enum probe_error)99), "unknown");
}

/* ---- builders ---- */

TEST(probe_build_writes_every_layer)
{
	uint8_t buf[BUF];
	size_t n = build_probe(buf, "198.18.0.1", 64);
	const uint8_t *o = buf, *in = buf + INNER, *udp = buf + UDP_AT;

	CHECK_EQ_INT(n, 20 + 4 + 20 + 8 + 64);
	/* outer: IHL 5, TOS 0, length, id, DF clear, TTL 64, GRE, the ends */
	CHECK(o[0] == 0x45 && o[1] == 0 && get16(o + 2) == n && get16(o + 4) == 0x1234);
	CHECK(get16(o + 6) == 0 && o[8] == 64 && o[9] == 47);
	CHECK(memcmp(o + 12, "\xc6\x12\x00\x64\xc6\x12\x00\x01", 8) == 0);
	CHECK_EQ_INT(in_cksum_finish(in_cksum_add(0, o, 20)), 0);
	CHECK(memcmp(buf + GRE_AT, "\x00\x00\x08\x00", 4) == 0);
	/* inner: monitor -> group, TTL as asked, UDP */
	CHECK(in[0] == 0x45 && in[1] == 0 && get16(in + 2) == n - INNER && get16(in + 4) == 0x1234);
	CHECK(get16(in + 6) == 0 && in[8] == 16 && in[9] == 17);
	CHECK(memcmp(in + 12, "\xc6\x12\x00\x64\xe9\xfc\x00\x01", 8) == 0);
	CHECK_EQ_INT(in_cksum_finish(in_cksum_add(0, in, 20)), 0);
	CHECK(get16(udp) == PORT && get16(udp + 2) == PORT && get16(udp + 4) == 8 + 64);
	CHECK(get16(udp + 6) != 0);
	CHECK_EQ_INT(udp_sum(in), 0);
	/* payload: the header, then zeros */
	CHECK(memcmp(buf + PAYLOAD_AT, probe_v4, sizeof(probe_v4)) == 0);
	for (size_t i = PAYLOAD_AT + sizeof(probe_v4); i < n; i++)
		CHECK_EQ_INT(buf[i], 0);
}

TEST(probe_round_trip)
{
	const struct {
		const char *sender;
		size_t payload;
	} cases[] = {{"198.18.0.1", 32}, {"198.18.0.1", 33}, {"198.18.0.1", 1400},
		     {"2001:db8::2", 44}, {"2001:db8::2", 200}};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t buf[BUF];
		struct tunnel_rx rx;
		enum probe_error pe = PROBE_BAD_MAGIC;
		size_t n = build_probe(buf, cases[i].sender, cases[i].payload);

		CHECK_EQ_INT(n, 52 + cases[i].payload);
		CHECK_EQ_INT(rx_copy(DLT_RAW, buf, n, &rx, &pe), PARSE_OK);
		CHECK_EQ_INT(pe, PROBE_OK);
		CHECK_EQ_INT(rx.kind, TUNNEL_RX_PROBE);
		CHECK(addr_is(&rx.outer_src, "198.18.0.100"));
		CHECK(addr_is(&rx.inner_src, "198.18.0.100") && addr_is(&rx.inner_dst, "233.252.0.1"));
		CHECK_EQ_INT(rx.udp_dport, PORT);
		CHECK_EQ_INT(rx.probe_len, cases[i].payload);
		CHECK_EQ_INT(rx.probe.vpn_index, 7);
		CHECK(rx.probe.seq == 0x0102030405060708ull);
		CHECK(rx.probe.send_ns == 0x1122334455667788ull);
		CHECK(addr_is(&rx.probe.sender, cases[i].sender));
	}
}

/* Over Ethernet with a VLAN tag, as a capture would show it. */
TEST(probe_round_trip_over_ethernet)
{
	uint8_t frame[BUF + 64] = {0x02, 0, 0, 0, 0, 0x64, 0x02, 0, 0, 0, 0, 0x01, 0x81, 0x00, 0x00, 0x0a,
			      0x08, 0x00};
	struct tunnel_rx rx;
	enum probe_error pe;
	size_t n = build_probe(frame + 18, "2001:db8::2", 100);

	CHECK(n > 0);
	CHECK_EQ_INT(rx_copy(DLT_EN10MB, frame, n + 18, &rx, &pe), PARSE_OK);
	CHECK(rx.kind == TUNNEL_RX_PROBE && pe == PROBE_OK);
	CHECK(addr_is(&rx.probe.sender, "2001:db8::2"));
	/* Ethernet padding after the packet is not payload. */
	memset(frame + 18 + n, 0xee, 20);
	CHECK_EQ_INT(rx_copy(DLT_EN10MB, frame, n + 38, &rx, &pe), PARSE_OK);
	CHECK_EQ_INT(rx.probe_len, 100);
}

/* The outer length makes a frame whole: every shorter prefix is refused. */
TEST(probe_every_prefix_is_refused)
{
	uint8_t buf[BUF];
	struct tunnel_rx rx;
	enum probe_error pe;

	for (int v6 = 0; v6 < 2; v6++) {
		size_t n = build_probe(buf, v6 ? "2001:db8::2" : "198.18.0.1", v6 ? 60 : 32);

		for (size_t k = 0; k < n; k++)
			CHECK(rx_copy(DLT_RAW, buf, k, &rx, &pe) != PARSE_OK);
		CHECK_EQ_INT(rx_copy(DLT_RAW, buf, n, &rx, &pe), PARSE_OK);
	}
	CHECK_EQ_INT(tunnel_rx_parse(DLT_RAW, NULL, 0, PORT, &rx, &pe), PARSE_TRUNCATED);
}

TEST(probe_build_refuses_bad_arguments)
{
	uint8_t buf[BUF];
	struct tunnel_ends t = ends(), t6 = {addr("2001:db8::100"), addr("2001:db8::1")};
	struct inet_addr g = addr("233.252.0.1"), unicast = addr("192.0.2.1"),
			 g6 = addr("ff3e::1");
	struct probe_header h = header("198.18.0.1"), none = header("198.18.0.1");

	none.sender.type = INET_UNKNOWN;
	CHECK_EQ_INT(probe_build(buf, BUF, &t, 1, &g, PORT, 1, &h, 32), 84);
	CHECK_EQ_INT(probe_build(buf, BUF, &t, 1, &g, PORT, 1, &h, 31), 0);
	CHECK_EQ_INT(probe_build(buf, BUF, &t, 1, &g, PORT, 1, &none, 64), 0);
	CHECK_EQ_INT(probe_build(buf, BUF, &t, 1, &unicast, PORT, 1, &h, 32), 0);
	CHECK_EQ_INT(probe_build(buf, BUF, &t, 1, &g6, PORT, 1, &h, 32), 0);
	CHECK_EQ_INT(probe_build(buf, BUF, &t6, 1, &g, PORT, 1, &h, 32), 0);
	CHECK_EQ_INT(probe_build(buf, BUF, NULL, 1, &g, PORT, 1, &h, 32), 0);
	CHECK_EQ_INT(probe_build(buf, BUF, &t, 1, &g, PORT, 1, NULL, 32), 0);
	CHECK_EQ_INT(probe_build(NULL, BUF, &t, 1, &g, PORT, 1, &h, 32), 0);
	/* IPv4's total length is 16 bits: 65535 - 52 is the most a payload can be. */
	CHECK_EQ_INT(probe_build(buf, SIZE_MAX, &t, 1, &g, PORT, 1, &h, 65535 - 51), 0);
	CHECK_EQ_INT(probe_build(buf, SIZE_MAX, &t, 1, &g, PORT, 1, &h, SIZE_MAX), 0);
}

TEST(probe_build_at_the_ipv4_limit)
{
	uint8_t *buf = malloc(65535);
	struct tunnel_ends t = ends();
	struct inet_addr g = addr("233.252.0.1");
	struct probe_header h = header("198.18.0.1");
	struct tunnel_rx rx;
	enum probe_error pe;
	size_t n;

	CHECK(buf);
	n = probe_build(buf, 65535, &t, 1, &g, PORT, 1, &h, 65535 - 52);
	CHECK_EQ_INT(n, 65535);
	CHECK_EQ_INT(tunnel_rx_parse(DLT_RAW, buf, n, PORT, &rx, &pe), PARSE_OK);
	CHECK_EQ_INT(pe, PROBE_OK);
	CHECK_EQ_INT(rx.probe_len, 65535 - 52);
	free(buf);
}

/* A builder either writes the whole packet into exactly cap bytes or writes
 * nothing: every cap below the size gets 0 and an untouched buffer. */
static bool refuses_every_short_cap(size_t (*build)(uint8_t *, size_t), size_t need)
{
	for (size_t cap = 0; cap <= need; cap++) {
		uint8_t *b = malloc(cap ? cap : 1);
		size_t got;
		bool untouched = true;

		memset(b, 0xa5, cap ? cap : 1);
		got = build(b, cap);
		for (size_t i = 0; i < cap; i++)
			untouched = untouched && b[i] == 0xa5;
		free(b);
		if (cap < need && (got != 0 || !untouched))
			return false;
		if (cap == need && got != need)
			return false;
	}
	return true;
}

static size_t cap_probe(uint8_t *b, size_t cap)
{
	struct tunnel_ends t = ends();
	struct inet_addr g = addr("233.252.0.1");
	struct probe_header h = header("2001:db8::2");

	return probe_build(b, cap, &t, 1, &g, PORT, 1, &h, 50);
}

static size_t cap_igmp_v2(uint8_t *b, size_t cap)
{
	struct tunnel_ends t = ends();
	struct inet_addr g = addr("233.252.0.1");

	return igmp_build(b, cap, &t, 1, IGMP_V2_LEAVE, &g, 1);
}

static size_t cap_igmp_v3(uint8_t *b, size_t cap)
{
	struct tunnel_ends t = ends();
	struct inet_addr g[3] = {addr("233.252.0.1"), addr("233.252.0.2"), addr("233.252.0.3")};

	return igmp_build(b, cap, &t, 1, IGMP_V3_CURRENT, g, 3);
}

static size_t cap_echo(uint8_t *b, size_t cap)
{
	struct tunnel_ends t = ends();

	return echo_build(b, cap, &t, 1, 2, 3, 17);
}

TEST(builders_return_0_when_cap_is_too_small)
{
	CHECK(refuses_every_short_cap(cap_probe, 52 + 50));
	CHECK(refuses_every_short_cap(cap_igmp_v2, 24 + 24 + 8));
	CHECK(refuses_every_short_cap(cap_igmp_v3, 24 + 24 + 8 + 3 * 8));
	CHECK(refuses_every_short_cap(cap_echo, 24 + 20 + 8 + 17));
}

/* ---- restamp ---- */

static bool udp_still_valid(const uint8_t *buf, size_t n)
{
	struct ip_packet ip;
	struct udp_packet udp;
	struct gre_packet gre;

	return ip_parse(buf, n, &ip) == PARSE_OK &&
	       gre_parse(ip.payload, ip.payload_len, &gre) == PARSE_OK &&
	       ip_parse(gre.payload, gre.payload_len, &ip) == PARSE_OK &&
	       udp_parse(&ip, &udp) == PARSE_OK && get16(buf + UDP_AT + 6) != 0;
}

TEST(probe_restamp_keeps_the_udp_checksum_valid)
{
	uint8_t buf[BUF], fresh[BUF];
	struct tunnel_ends t = ends();
	struct inet_addr g = addr("233.252.0.1");
	struct probe_header h = header("198.18.0.1");
	const uint64_t stamps[] = {0, 1, 0xffff, 0xffffffffffffffffull, 0x8000000000000000ull,
				   1767225600123456789ull};
	size_t n = build_probe(buf, "198.18.0.1", 100);

	for (size_t i = 0; i < sizeof(stamps) / sizeof(stamps[0]); i++) {
		probe_restamp(buf, n, stamps[i]);
		CHECK(get64(buf + PAYLOAD_AT + 20) == stamps[i]);
		CHECK(udp_still_valid(buf, n));
		/* The same bytes as a packet built with that stamp in the first place. */
		h.send_ns = stamps[i];
		CHECK_EQ_INT(probe_build(fresh, BUF, &t, 0x1234, &g, PORT, 16, &h, 100), n);
		CHECK(memcmp(fresh, buf, n) == 0);
	}
}

/* Every value of the stamp's last word: one of them makes the sum come out
 * as zero, which RFC 768 sends as 0xffff (0 would mean "no checksum"). */
TEST(probe_restamp_every_low_word)
{
	uint8_t buf[BUF];
	size_t n = build_probe(buf, "2001:db8::2", 44);
	int all_ones = 0;

	for (uint32_t w = 0; w <= 0xffff; w++) {
		probe_restamp(buf, n, 0xabcdef0000000000ull | w);
		CHECK(udp_still_valid(buf, n));
		all_ones += get16(buf + UDP_AT + 6) == 0xffff;
	}
	CHECK_EQ_INT(all_ones, 1);
}

TEST(probe_restamp_leaves_short_or_unchecked_packets)
{
	uint8_t buf[BUF], copy[BUF];
	size_t n = build_probe(buf, "198.18.0.1", 32);

	memcpy(copy, buf, n);
	/* Too short to hold the stamp: nothing is written (exact copies for valgrind). */
	for (size_t k = 0; k < PAYLOAD_AT + 28; k++) {
		uint8_t *q = dup_exact(buf, k);

		probe_restamp(q, k, 99);
		CHECK(k == 0 || memcmp(q, copy, k) == 0);
		free(q);
	}
	probe_restamp(NULL, 0, 99);
	/* A datagram sent without a checksum keeps none. */
	put16(buf + UDP_AT + 6, 0);
	probe_restamp(buf, n, 99);
	CHECK_EQ_INT(get16(buf + UDP_AT + 6), 0);
	CHECK(get64(buf + PAYLOAD_AT + 20) == 99);
}

/* ---- IGMP reports and leaves ---- */

struct built_igmp {
	struct ip_packet inner;
	const uint8_t *ip; /* the inner header */
};

/* Builds, and checks what every IGMP message shares: the outer layers,
 * IHL 6 with Router Alert, TOS 0xc0, TTL 1, protocol 2, the checksums. */
static bool igmp_common(uint8_t *buf, size_t n, size_t msg_len, struct built_igmp *out)
{
	struct frame f;
	const uint8_t *ip = buf + INNER;

	if (n != INNER + 24 + msg_len || frame_parse(DLT_RAW, buf, n, &f) != PARSE_OK)
		return false;
	out->inner = f.inner;
	out->ip = ip;
	return f.outer.ttl == 64 && f.outer.proto == 47 && ip[0] == 0x46 && ip[1] == 0xc0 &&
	       get16(ip + 6) == 0 && f.inner.ttl == 1 && f.inner.proto == 2 &&
	       memcmp(ip + 20, "\x94\x04\x00\x00", 4) == 0 && addr_is(&f.inner.src, "198.18.0.100") &&
	       f.inner.payload_len == msg_len &&
	       in_cksum_finish(in_cksum_add(0, f.inner.payload, msg_len)) == 0;
}

TEST(igmp_v2_report_and_leave)
{
	uint8_t buf[BUF];
	struct tunnel_ends t = ends();
	struct inet_addr g[2] = {addr("233.252.0.9"), addr("233.252.0.10")};
	struct built_igmp b;
	struct tunnel_rx rx;
	size_t n;

	n = igmp_build(buf, BUF, &t, 5, IGMP_V2_REPORT, g, 2); /* v2: groups[0] only */
	CHECK(igmp_common(buf, n, 8, &b));
	CHECK(addr_is(&b.inner.dst, "233.252.0.9"));
	CHECK(memcmp(b.inner.payload, "\x16\x00", 2) == 0);
	CHECK(memcmp(b.inner.payload + 4, "\xe9\xfc\x00\x09", 4) == 0);
	/* What a PE's report looks like to the reader: not a query. */
	CHECK_EQ_INT(rx_copy(DLT_RAW, buf, n, &rx, NULL), PARSE_OK);
	CHECK_EQ_INT(rx.kind, TUNNEL_RX_OTHER);

	n = igmp_build(buf, BUF, &t, 5, IGMP_V2_LEAVE, g, 1);
	CHECK(igmp_common(buf, n, 8, &b));
	CHECK(addr_is(&b.inner.dst, "224.0.0.2"));
	CHECK(memcmp(b.inner.payload, "\x17\x00", 2) == 0);
	CHECK(memcmp(b.inner.payload + 4, "\xe9\xfc\x00\x09", 4) == 0);
}

TEST(igmp_v3_reports_carry_one_record_per_group)
{
	const struct {
		enum igmp_message kind;
		uint8_t record;
	} kinds[] = {{IGMP_V3_JOIN, 4}, {IGMP_V3_LEAVE, 3}, {IGMP_V3_CURRENT, 2}};
	struct inet_addr g[3] = {addr("233.252.0.1"), addr("239.192.0.7"), addr("233.252.0.255")};
	struct tunnel_ends t = ends();

	for (size_t k = 0; k < 3; k++) {
		for (size_t ng = 1; ng <= 3; ng++) {
			uint8_t buf[BUF];
			struct built_igmp b;
			size_t n = igmp_build(buf, BUF, &t, 6, kinds[k].kind, g, ng);
			const uint8_t *m;

			CHECK(igmp_common(buf, n, 8 + 8 * ng, &b));
			m = b.inner.payload;
			CHECK(addr_is(&b.inner.dst, "224.0.0.22"));
			CHECK(m[0] == 0x22 && m[1] == 0 && get16(m + 4) == 0 && get16(m + 6) == ng);
			for (size_t i = 0; i < ng; i++) {
				const uint8_t *r = m + 8 + 8 * i;

				CHECK(r[0] == kinds[k].record && r[1] == 0 && get16(r + 2) == 0);
				CHECK(memcmp(r + 4, g[i].bytes, 4) == 0);
			}
		}
	}
}

TEST(igmp_build_refuses_bad_arguments)
{
	uint8_t buf[BUF];
	struct tunnel_ends t = ends();
	struct inet_addr g[2] = {addr("233.252.0.1"), addr("192.0.2.1")};
	struct inet_addr g6 = addr("ff3e::1");

	CHECK_EQ_INT(igmp_build(buf, BUF, &t, 1, IGMP_V3_JOIN, g, 0), 0);
	CHECK_EQ_INT(igmp_build(buf, BUF, &t, 1, IGMP_V2_REPORT, g, 0), 0);
	CHECK_EQ_INT(igmp_build(buf, BUF, &t, 1, IGMP_V2_REPORT, NULL, 1), 0);
	CHECK_EQ_INT(igmp_build(buf, BUF, &t, 1, IGMP_V2_REPORT, &g[1], 1), 0);
	CHECK_EQ_INT(igmp_build(buf, BUF, &t, 1, IGMP_V2_REPORT, &g6, 1), 0);
	CHECK_EQ_INT(igmp_build(buf, BUF, &t, 1, IGMP_V3_CURRENT, g, 2), 0); /* second is unicast */
	CHECK_EQ_INT(igmp_build(buf, BUF, &t, 1, IGMP_V3_CURRENT, g, 1), 24 + 24 + 16);
	CHECK_EQ_INT(igmp_build(buf, BUF, &t, 1, (enum igmp_message)42, g, 1), 0);
	t.remote = g6;
	CHECK_EQ_INT(igmp_build(buf, BUF, &t, 1, IGMP_V2_REPORT, g, 1), 0);
}

/* 65535 - 24 - 24 - 8 = 65479 bytes of records: 8184 groups fit, 8185 do not. */
TEST(igmp_v3_report_at_the_ipv4_limit)
{
	size_t most = (65535 - 24 - 24 - 8) / 8;
	struct inet_addr *g = malloc((most + 1) * sizeof(*g));
	uint8_t *buf = malloc(65535);
	struct tunnel_ends t = ends();

	CHECK(g && buf);
	for (size_t i = 0; i <= most; i++)
		g[i] = addr("233.252.0.1");
	CHECK_EQ_INT(igmp_build(buf, 65535, &t, 1, IGMP_V3_CURRENT, g, most), 56 + 8 * most);
	CHECK_EQ_INT(get16(buf + INNER + 24 + 6), most);
	CHECK_EQ_INT(igmp_build(buf, 65535, &t, 1, IGMP_V3_CURRENT, g, most + 1), 0);
	free(g);
	free(buf);
}

/* ---- echo ---- */

TEST(echo_request_fields)
{
	uint8_t buf[BUF];
	struct tunnel_ends t = ends();
	struct frame f;
	size_t n = echo_build(buf, BUF, &t, 77, 0xbeef, 0x0102, 56);
	const uint8_t *m;

	CHECK_EQ_INT(n, 24 + 20 + 8 + 56);
	CHECK_EQ_INT(frame_parse(DLT_RAW, buf, n, &f), PARSE_OK);
	CHECK(addr_is(&f.inner.src, "198.18.0.100") && addr_is(&f.inner.dst, "198.18.0.1"));
	CHECK(f.inner.ttl == 64 && f.inner.proto == 1 && buf[INNER] == 0x45 && buf[INNER + 1] == 0);
	CHECK_EQ_INT(get16(buf + INNER + 4), 77);
	m = f.inner.payload;
	CHECK(m[0] == 8 && m[1] == 0 && get16(m + 4) == 0xbeef && get16(m + 6) == 0x0102);
	CHECK_EQ_INT(in_cksum_finish(in_cksum_add(0, m, 64)), 0);
	for (size_t i = 8; i < 64; i++)
		CHECK_EQ_INT(m[i], 0);
	/* Odd payload lengths sum their last byte as a padded word. */
	n = echo_build(buf, BUF, &t, 77, 1, 1, 3);
	CHECK_EQ_INT(in_cksum_finish(in_cksum_add(0, buf + INNER + 20, 11)), 0);
	CHECK_EQ_INT(echo_build(buf, BUF, &t, 77, 1, 1, 65535 - 51), 0);
}

/* The request turned into the reply a PE sends back (type 0, the checksum
 * adjusted by the type's difference): the reader sees ident and seq. */
TEST(echo_round_trip)
{
	uint8_t buf[BUF];
	struct tunnel_ends t = ends();
	struct tunnel_rx rx;
	enum probe_error pe = PROBE_BAD_MAGIC;
	size_t n = echo_build(buf, BUF, &t, 1, 0xfffe, 9, 10);
	uint8_t *m = buf + INNER + 20;

	m[0] = 0;
	put16(m + 2, 0);
	put16(m + 2, in_cksum_finish(in_cksum_add(0, m, 18)));
	CHECK_EQ_INT(rx_copy(DLT_RAW, buf, n, &rx, &pe), PARSE_OK);
	CHECK_EQ_INT(rx.kind, TUNNEL_RX_ECHO_REPLY);
	CHECK_EQ_INT(pe, PROBE_OK);
	CHECK_EQ_INT(rx.echo_ident, 0xfffe);
	CHECK_EQ_INT(rx.echo_seq, 9);
	CHECK(addr_is(&rx.inner_src, "198.18.0.100"));
	/* The request itself is not a reply. */
	m[0] = 8;
	put16(m + 2, 0);
	put16(m + 2, in_cksum_finish(in_cksum_add(0, m, 18)));
	CHECK_EQ_INT(rx_copy(DLT_RAW, buf, n, &rx, &pe), PARSE_OK);
	CHECK_EQ_INT(rx.kind, TUNNEL_RX_OTHER);
}

/* ---- reading: echo replies ---- */

static size_t echo_reply(uint8_t *out, uint16_t ident, uint16_t seq, size_t payload)
{
	uint8_t m[BUF] = {0};

	put16(m + 4, ident);
	put16(m + 6, seq);
	for (size_t i = 0; i < payload; i++)
		m[8 + i] = (uint8_t)i;
	return wrap_checksummed(out, 1, "198.18.0.1", "198.18.0.100", m, 8 + payload);
}

TEST(echo_reply_is_read_and_checked)
{
	uint8_t f[BUF];
	struct tunnel_rx rx;
	size_t n = echo_reply(f, 4242, 65535, 7);

	CHECK_EQ_INT(rx_copy(DLT_RAW, f, n, &rx, NULL), PARSE_OK);
	CHECK_EQ_INT(rx.kind, TUNNEL_RX_ECHO_REPLY);
	CHECK(rx.echo_ident == 4242 && rx.echo_seq == 65535);
	CHECK(addr_is(&rx.outer_src, "198.18.0.1") && addr_is(&rx.inner_src, "198.18.0.1"));
	f[n - 1] ^= 0x40; /* payload is covered by the checksum */
	CHECK_EQ_INT(rx_copy(DLT_RAW, f, n, &rx, NULL), PARSE_BAD_CHECKSUM);
	CHECK_EQ_INT(rx.kind, TUNNEL_RX_ECHO_REPLY);
	CHECK(addr_is(&rx.outer_src, "198.18.0.1"));
}

TEST(echo_reply_every_prefix_is_refused)
{
	uint8_t f[BUF], m[8] = {0};
	struct tunnel_rx rx;
	size_t n = echo_reply(f, 1, 2, 0);

	for (size_t k = 0; k < n; k++)
		CHECK(rx_copy(DLT_RAW, f, k, &rx, NULL) != PARSE_OK);
	CHECK_EQ_INT(rx_copy(DLT_RAW, f, n, &rx, NULL), PARSE_OK);
	/* An ICMP message cut inside its header (the IP lengths say so). */
	for (size_t k = 1; k < 8; k++) {
		n = wrap(f, 1, "198.18.0.1", "198.18.0.100", m, k);
		CHECK_EQ_INT(rx_copy(DLT_RAW, f, n, &rx, NULL), PARSE_TRUNCATED);
		CHECK_EQ_INT(rx.kind, TUNNEL_RX_ECHO_REPLY);
	}
	/* No ICMP byte at all: nothing to classify. */
	n = wrap(f, 1, "198.18.0.1", "198.18.0.100", m, 0);
	CHECK_EQ_INT(rx_copy(DLT_RAW, f, n, &rx, NULL), PARSE_OK);
	CHECK_EQ_INT(rx.kind, TUNNEL_RX_OTHER);
}

/* ---- reading: IGMP queries ---- */

/* An IGMPv2-format query (8 bytes). */
static size_t query_v2(uint8_t *out, uint8_t code, const char *group, const char *dst)
{
	uint8_t m[8] = {0x11, code};
	struct inet_addr g = addr(group);

	memcpy(m + 4, g.bytes, 4);
	return wrap_checksummed(out, 2, "192.0.2.254", dst, m, 8);
}

/* An IGMPv3 query with n_sources sources and extra trailing octets. */
static size_t query_v3(uint8_t *out, uint8_t code, const char *group, uint16_t n_sources,
		       size_t sources_present, size_t extra)
{
	uint8_t m[BUF] = {0x11, code};
	struct inet_addr g = addr(group);
	size_t n = 12 + 4 * sources_present + extra;

	memcpy(m + 4, g.bytes, 4);
	m[8] = 0x02;  /* S 0, QRV 2 */
	m[9] = 125;   /* QQIC */
	put16(m + 10, n_sources);
	for (size_t i = 0; i < sources_present; i++)
		memcpy(m + 12 + 4 * i, "\xc0\x00\x02\x0a", 4);
	for (size_t i = 0; i < extra; i++)
		m[12 + 4 * sources_present + i] = 0x5a;
	return wrap_checksummed(out, 2, "192.0.2.254", "224.0.0.1", m, n);
}

static enum parse_error query(const uint8_t *f, size_t n, struct tunnel_rx *rx)
{
	enum probe_error pe = PROBE_BAD_MAGIC;
	enum parse_error e = rx_copy(DLT_RAW, f, n, rx, &pe);

	return pe == PROBE_OK ? e : PARSE_ERROR_COUNT;
}

TEST(igmp_v2_queries)
{
	uint8_t f[BUF];
	struct tunnel_rx rx;

	CHECK_EQ_INT(query(f, query_v2(f, 100, "0.0.0.0", "224.0.0.1"), &rx), PARSE_OK);
	CHECK_EQ_INT(rx.kind, TUNNEL_RX_IGMP_QUERY);
	CHECK_EQ_INT(rx.igmp_version, 2);
	CHECK(addr_is(&rx.query_group, "0.0.0.0"));
	CHECK_EQ_INT(rx.max_resp_ms, 10000);
	CHECK(addr_is(&rx.outer_src, "198.18.0.1") && addr_is(&rx.inner_dst, "224.0.0.1"));
	CHECK_EQ_INT(query(f, query_v2(f, 10, "233.252.0.1", "233.252.0.1"), &rx), PARSE_OK);
	CHECK_EQ_INT(rx.igmp_version, 2);
	CHECK(addr_is(&rx.query_group, "233.252.0.1"));
	CHECK_EQ_INT(rx.max_resp_ms, 1000);
	/* v2 codes are plain tenths, 255 included (no float as in v3). */
	CHECK_EQ_INT(query(f, query_v2(f, 255, "233.252.0.1", "233.252.0.1"), &rx), PARSE_OK);
	CHECK_EQ_INT(rx.max_resp_ms, 25500);
}

/* RFC 3376 7.1: 8 bytes with a zero code is an IGMPv1 query; RFC 2236 4 reads
 * its Max Response Time as 100 (10 s). */
TEST(igmp_v1_query)
{
	uint8_t f[BUF];
	struct tunnel_rx rx;

	CHECK_EQ_INT(query(f, query_v2(f, 0, "0.0.0.0", "224.0.0.1"), &rx), PARSE_OK);
	CHECK_EQ_INT(rx.kind, TUNNEL_RX_IGMP_QUERY);
	CHECK_EQ_INT(rx.igmp_version, 1);
	CHECK_EQ_INT(rx.max_resp_ms, 10000);
}

/*
 * RFC 3376 4.1.1: codes below 128 are tenths of a second; from 128 on,
 * 1|exp(3)|mant(4) means (mant | 0x10) << (exp + 3) tenths.  The expected
 * values are worked out by hand here:
 *   0x80: exp 0, mant 0:  16 <<  3 =   128 ->    12.8 s
 *   0x81: exp 0, mant 1:  17 <<  3 =   136 ->    13.6 s
 *   0x8a: exp 0, mant 10: 26 <<  3 =   208 ->    20.8 s
 *   0x9f: exp 1, mant 15: 31 <<  4 =   496 ->    49.6 s
 *   0xf0: exp 7, mant 0:  16 << 10 = 16384 ->  1638.4 s
 *   0xff: exp 7, mant 15: 31 << 10 = 31744 ->  3174.4 s
 */
TEST(igmp_v3_max_resp_code_decoding)
{
	const struct {
		uint8_t code;
		uint32_t ms;
	} cases[] = {{0, 0},          {1, 100},        {100, 10000},    {127, 12700},
		     {128, 12800},    {0x81, 13600},   {0x8a, 20800},   {0x9f, 49600},
		     {0xf0, 1638400}, {255, 3174400}};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t f[BUF];
		struct tunnel_rx rx;

		CHECK_EQ_INT(query(f, query_v3(f, cases[i].code, "0.0.0.0", 0, 0, 0), &rx), PARSE_OK);
		CHECK_EQ_INT(rx.kind, TUNNEL_RX_IGMP_QUERY);
		CHECK_EQ_INT(rx.igmp_version, 3);
		CHECK_EQ_INT(rx.max_resp_ms, cases[i].ms);
	}
}

TEST(igmp_v3_group_and_source_queries)
{
	uint8_t f[BUF];
	struct tunnel_rx rx;

	CHECK_EQ_INT(query(f, query_v3(f, 100, "233.252.0.7", 0, 0, 0), &rx), PARSE_OK);
	CHECK(rx.igmp_version == 3 && addr_is(&rx.query_group, "233.252.0.7"));
	CHECK_EQ_INT(query(f, query_v3(f, 100, "233.252.0.7", 3, 3, 0), &rx), PARSE_OK);
	CHECK(rx.igmp_version == 3 && addr_is(&rx.query_group, "233.252.0.7"));
	/* RFC 3376 4.1.10: extra octets are summed, then ignored. */
	CHECK_EQ_INT(query(f, query_v3(f, 100, "233.252.0.7", 1, 1, 5), &rx), PARSE_OK);
	CHECK_EQ_INT(query(f, query_v3(f, 100, "0.0.0.0", 0, 0, 1), &rx), PARSE_OK);
	CHECK_EQ_INT(rx.igmp_version, 3);
	/* More sources counted than the message holds. */
	CHECK_EQ_INT(query(f, query_v3(f, 100, "233.252.0.7", 3, 2, 0), &rx), PARSE_TRUNCATED);
	CHECK_EQ_INT(query(f, query_v3(f, 100, "233.252.0.7", 2, 1, 3), &rx), PARSE_TRUNCATED);
	CHECK_EQ_INT(rx.kind, TUNNEL_RX_IGMP_QUERY);
}

TEST(igmp_query_refusals)
{
	uint8_t f[BUF], m[16] = {0x11, 100};
	struct tunnel_rx rx;
	size_t n;

	/* RFC 3376 7.1: 9 to 11 octets matches no version. */
	for (size_t len = 9; len <= 11; len++) {
		n = wrap_checksummed(f, 2, "192.0.2.254", "224.0.0.1", m, len);
		CHECK_EQ_INT(query(f, n, &rx), PARSE_BAD_LENGTH);
		CHECK_EQ_INT(rx.kind, TUNNEL_RX_IGMP_QUERY);
	}
	/* Shorter than a v2 query: the IP lengths say the message ends there. */
	for (size_t len = 2; len < 8; len++) {
		n = wrap_checksummed(f, 2, "192.0.2.254", "224.0.0.1", m, len);
		CHECK_EQ_INT(query(f, n, &rx), PARSE_TRUNCATED);
	}
	n = query_v2(f, 100, "0.0.0.0", "224.0.0.1");
	f[n - 1] ^= 1;
	CHECK_EQ_INT(query(f, n, &rx), PARSE_BAD_CHECKSUM);
	n = query_v3(f, 100, "0.0.0.0", 0, 0, 4);
	f[n - 1] ^= 1; /* the extra octets are covered */
	CHECK_EQ_INT(query(f, n, &rx), PARSE_BAD_CHECKSUM);
	/* A group that is neither 0.0.0.0 nor multicast. */
	CHECK_EQ_INT(query(f, query_v2(f, 100, "192.0.2.1", "224.0.0.1"), &rx), PARSE_BAD_ADDRESS);
	CHECK_EQ_INT(query(f, query_v3(f, 100, "192.0.2.1", 0, 0, 0), &rx), PARSE_BAD_ADDRESS);
}

TEST(igmp_other_types_are_not_queries)
{
	uint8_t f[BUF], m[8] = {0x16, 0, 0, 0, 233, 252, 0, 1};
	struct tunnel_rx rx;

	CHECK_EQ_INT(query(f, wrap_checksummed(f, 2, "192.0.2.254", "233.252.0.1", m, 8), &rx),
		     PARSE_OK);
	CHECK_EQ_INT(rx.kind, TUNNEL_RX_OTHER);
	m[0] = 0x22; /* another host's v3 report: its checksum is not our business */
	m[2] = 0x12;
	CHECK_EQ_INT(query(f, wrap(f, 2, "192.0.2.254", "224.0.0.22", m, 8), &rx), PARSE_OK);
	CHECK_EQ_INT(rx.kind, TUNNEL_RX_OTHER);
	CHECK_EQ_INT(query(f, wrap(f, 2, "192.0.2.254", "224.0.0.22", m, 0), &rx), PARSE_OK);
	CHECK_EQ_INT(rx.kind, TUNNEL_RX_OTHER);
}

TEST(igmp_query_every_prefix_is_refused)
{
	uint8_t f[BUF];
	struct tunnel_rx rx;
	size_t lens[3], n;
	uint8_t frames[3][BUF];

	lens[0] = query_v2(frames[0], 100, "233.252.0.1", "233.252.0.1");
	lens[1] = query_v3(frames[1], 255, "233.252.0.1", 2, 2, 0);
	lens[2] = query_v3(frames[2], 128, "0.0.0.0", 0, 0, 0);
	for (size_t i = 0; i < 3; i++) {
		for (size_t k = 0; k < lens[i]; k++)
			CHECK(rx_copy(DLT_RAW, frames[i], k, &rx, NULL) != PARSE_OK);
		CHECK_EQ_INT(rx_copy(DLT_RAW, frames[i], lens[i], &rx, NULL), PARSE_OK);
	}
	/* And the message cut, the IP lengths made to agree: v3 with its two
	 * sources cut back to the v2 size is read as v2 (RFC 3376 7.1 goes by
	 * the length), and every other cut is refused. */
	for (size_t cut = 1; cut < 20; cut++) {
		uint8_t m[20];
		enum parse_error e;

		memcpy(m, frames[1] + INNER + 20, 20);
		n = wrap_checksummed(f, 2, "192.0.2.254", "224.0.0.1", m, 20 - cut);
		e = query(f, n, &rx);
		if (20 - cut == 8)
			CHECK(e == PARSE_OK && rx.igmp_version == 2);
		else
			CHECK(e != PARSE_OK);
	}
}

/* ---- reading: probes and what is not a probe ---- */

static enum parse_error probe_payload(const uint8_t *payload, size_t n, struct tunnel_rx *rx,
				      enum probe_error *pe)
{
	uint8_t f[BUF];

	return rx_copy(DLT_RAW, f, wrap_udp(f, "233.252.0.1", PORT, payload, n), rx, pe);
}

TEST(probe_errors_through_the_tunnel)
{
	uint8_t p[64] = {0};
	struct tunnel_rx rx;
	enum probe_error pe;

	memcpy(p, probe_v4, sizeof(probe_v4));
	CHECK_EQ_INT(probe_payload(p, 40, &rx, &pe), PARSE_OK);
	CHECK(rx.kind == TUNNEL_RX_PROBE && pe == PROBE_OK && rx.probe_len == 40);
	CHECK(addr_is(&rx.inner_src, "192.0.2.254") && addr_is(&rx.outer_src, "198.18.0.1"));
	/* Short payloads: every one, down to an empty datagram. */
	for (size_t n = 0; n < sizeof(probe_v4); n++) {
		CHECK_EQ_INT(probe_payload(p, n, &rx, &pe), PARSE_OK);
		CHECK(rx.kind == TUNNEL_RX_PROBE && pe == PROBE_TRUNCATED && rx.probe_len == n);
		CHECK(rx.probe.sender.type == INET_UNKNOWN);
	}
	p[0] = 'X';
	CHECK_EQ_INT(probe_payload(p, 40, &rx, &pe), PARSE_OK);
	CHECK(rx.kind == TUNNEL_RX_PROBE && pe == PROBE_BAD_MAGIC);
	p[0] = 0x4d;
	p[4] = 9;
	CHECK_EQ_INT(probe_payload(p, 40, &rx, &pe), PARSE_OK);
	CHECK(rx.kind == TUNNEL_RX_PROBE && pe == PROBE_BAD_VERSION);
	p[4] = 1;
	p[5] = 4;
	CHECK_EQ_INT(probe_payload(p, 40, &rx, &pe), PARSE_OK);
	CHECK(rx.kind == TUNNEL_RX_PROBE && pe == PROBE_BAD_FAMILY);
	p[5] = 2; /* IPv6 needs 44 bytes */
	CHECK_EQ_INT(probe_payload(p, 40, &rx, &pe), PARSE_OK);
	CHECK(rx.kind == TUNNEL_RX_PROBE && pe == PROBE_TRUNCATED);
	memcpy(p, probe_v6, sizeof(probe_v6));
	CHECK_EQ_INT(probe_payload(p, 44, &rx, &pe), PARSE_OK);
	CHECK(pe == PROBE_OK && addr_is(&rx.probe.sender, "2001:db8::2"));
}

TEST(probe_udp_checksum_and_length_are_checked)
{
	uint8_t f[BUF];
	struct tunnel_rx rx;
	enum probe_error pe;
	size_t n = wrap_udp(f, "233.252.0.1", PORT, probe_v4, sizeof(probe_v4));

	f[n - 1] ^= 0x01;
	CHECK_EQ_INT(rx_copy(DLT_RAW, f, n, &rx, &pe), PARSE_BAD_CHECKSUM);
	CHECK(rx.kind == TUNNEL_RX_PROBE && pe == PROBE_OK);
	/* No checksum is allowed over IPv4. */
	put16(f + UDP_AT + 6, 0);
	CHECK_EQ_INT(rx_copy(DLT_RAW, f, n, &rx, &pe), PARSE_OK);
	CHECK_EQ_INT(pe, PROBE_OK);
	/* A UDP length beyond the IP packet. */
	n = wrap_udp(f, "233.252.0.1", PORT, probe_v4, sizeof(probe_v4));
	put16(f + UDP_AT + 4, 8 + sizeof(probe_v4) + 1);
	CHECK_EQ_INT(rx_copy(DLT_RAW, f, n, &rx, &pe), PARSE_BAD_LENGTH);
	CHECK_EQ_INT(rx.kind, TUNNEL_RX_PROBE);
}

TEST(udp_that_is_not_a_probe_is_not_read)
{
	uint8_t f[BUF], m[4] = {0x26, 0xde, 0x26, 0xde}; /* ports only: 9950 -> 9950 */
	struct tunnel_rx rx;
	enum probe_error pe;
	size_t n = wrap_udp(f, "233.252.0.1", PORT + 1, probe_v4, sizeof(probe_v4));

	CHECK_EQ_INT(rx_copy(DLT_RAW, f, n, &rx, &pe), PARSE_OK);
	CHECK(rx.kind == TUNNEL_RX_OTHER && pe == PROBE_OK);
	/* A customer's broken datagram is not refused: it is not read. */
	f[n - 1] ^= 1;
	CHECK_EQ_INT(rx_copy(DLT_RAW, f, n, &rx, &pe), PARSE_OK);
	CHECK_EQ_INT(rx.kind, TUNNEL_RX_OTHER);
	/* To the probe port but to a unicast address: not to a group. */
	n = wrap_udp(f, "192.0.2.1", PORT, probe_v4, sizeof(probe_v4));
	CHECK_EQ_INT(rx_copy(DLT_RAW, f, n, &rx, &pe), PARSE_OK);
	CHECK_EQ_INT(rx.kind, TUNNEL_RX_OTHER);
	/* Too short to hold the ports, or just them. */
	for (size_t k = 0; k <= 4; k++) {
		n = wrap(f, 17, "192.0.2.254", "233.252.0.1", m, k);
		CHECK_EQ_INT(rx_copy(DLT_RAW, f, n, &rx, &pe), k < 4 ? PARSE_OK : PARSE_TRUNCATED);
		CHECK_EQ_INT(rx.kind, k < 4 ? TUNNEL_RX_OTHER : TUNNEL_RX_PROBE);
	}
	/* TCP, and anything else. */
	n = wrap(f, 6, "192.0.2.254", "233.252.0.1", m, 4);
	CHECK_EQ_INT(rx_copy(DLT_RAW, f, n, &rx, &pe), PARSE_OK);
	CHECK_EQ_INT(rx.kind, TUNNEL_RX_OTHER);
	CHECK(addr_is(&rx.inner_dst, "233.252.0.1"));
}

TEST(frames_refused_below_the_inner_packet)
{
	uint8_t f[BUF];
	struct tunnel_rx rx;
	enum probe_error pe;
	size_t n = build_probe(f, "198.18.0.1", 32);

	f[INNER + 8] = 9; /* inner TTL changed, checksum not fixed */
	CHECK_EQ_INT(rx_copy(DLT_RAW, f, n, &rx, &pe), PARSE_BAD_CHECKSUM);
	CHECK(addr_is(&rx.outer_src, "198.18.0.100"));
	CHECK_EQ_INT(rx.kind, TUNNEL_RX_OTHER);
	n = build_probe(f, "198.18.0.1", 32);
	f[9] = 17; /* outer protocol UDP: not a tunnel */
	ipv4_fix_checksum(f);
	CHECK_EQ_INT(rx_copy(DLT_RAW, f, n, &rx, &pe), PARSE_UNSUPPORTED);
	CHECK(addr_is(&rx.outer_src, "198.18.0.100"));
	f[9] = 47;
	ipv4_fix_checksum(f);
	f[GRE_AT + 1] = 1; /* GRE version 1 */
	CHECK_EQ_INT(rx_copy(DLT_RAW, f, n, &rx, &pe), PARSE_BAD_VERSION);
	f[GRE_AT + 1] = 0;
	f[GRE_AT + 2] = 0x88; /* GRE carrying something else */
	CHECK_EQ_INT(rx_copy(DLT_RAW, f, n, &rx, &pe), PARSE_UNSUPPORTED);
	f[0] = 0x55; /* neither 4 nor 6 */
	CHECK_EQ_INT(rx_copy(DLT_RAW, f, n, &rx, &pe), PARSE_BAD_VERSION);
	CHECK_EQ_INT(rx.outer_src.type, INET_UNKNOWN);
}

/* IPv6 inside the tunnel is an IPv6 C-instance's data, never a probe. */
TEST(inner_ipv6_is_other)
{
	static const uint8_t v6[] = {
		0x60, 0, 0, 0, 0x00, 0x08, 0x11, 0x01, /* payload 8, UDP, hop limit 1 */
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
		0xff, 0x3e, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
		0x26, 0xde, 0x26, 0xde, 0x00, 0x08, 0x00, 0x00, /* 9950 -> 9950, bad: not read */
	};
	uint8_t f[BUF];
	struct tunnel_rx rx;
	enum probe_error pe;
	size_t n = wrap(f, 0, "0.0.0.0", "0.0.0.0", v6, sizeof(v6)) - 20;

	/* GRE straight to the IPv6 packet: the IPv4 header wrap() put first goes. */
	memmove(f + INNER, f + INNER + 20, sizeof(v6));
	put16(f + 2, (uint16_t)n);
	ipv4_fix_checksum(f);
	f[GRE_AT + 2] = 0x86;
	f[GRE_AT + 3] = 0xdd;
	CHECK_EQ_INT(rx_copy(DLT_RAW, f, n, &rx, &pe), PARSE_OK);
	CHECK(rx.kind == TUNNEL_RX_OTHER && pe == PROBE_OK);
	CHECK(addr_is(&rx.inner_dst, "ff3e::1"));
}

UNIT_MAIN("probe_wire", T(probe_header_lengths), T(probe_header_parses_both_families),
	  T(probe_header_every_prefix_is_truncated), T(probe_header_wrong_magic_version_family),
	  T(probe_error_names), T(probe_build_writes_every_layer), T(probe_round_trip),
	  T(probe_round_trip_over_ethernet), T(probe_every_prefix_is_refused),
	  T(probe_build_refuses_bad_arguments), T(probe_build_at_the_ipv4_limit),
	  T(builders_return_0_when_cap_is_too_small), T(probe_restamp_keeps_the_udp_checksum_valid),
	  T(probe_restamp_every_low_word), T(probe_restamp_leaves_short_or_unchecked_packets),
	  T(igmp_v2_report_and_leave), T(igmp_v3_reports_carry_one_record_per_group),
	  T(igmp_build_refuses_bad_arguments), T(igmp_v3_report_at_the_ipv4_limit),
	  T(echo_request_fields), T(echo_round_trip), T(echo_reply_is_read_and_checked),
	  T(echo_reply_every_prefix_is_refused), T(igmp_v2_queries), T(igmp_v1_query),
	  T(igmp_v3_max_resp_code_decoding), T(igmp_v3_group_and_source_queries),
	  T(igmp_query_refusals), T(igmp_other_types_are_not_queries),
	  T(igmp_query_every_prefix_is_refused), T(probe_errors_through_the_tunnel),
	  T(probe_udp_checksum_and_length_are_checked), T(udp_that_is_not_a_probe_is_not_read),
	  T(frames_refused_below_the_inner_packet), T(inner_ipv6_is_other))
