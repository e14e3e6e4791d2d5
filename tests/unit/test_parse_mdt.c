/*
 * capture/parse_mdt: MDT Join TLVs (RFC 6037 data-MDT announcements), alone
 * and as a whole frame from a default MDT.
 */
#include "unit.h"

#include <pcap/dlt.h>
#include <stdlib.h>

#include "../../capture/parse.h"
#include "parse_helpers.h"

/* ---- fixtures ---- */

static const uint8_t mdt_v4[] = {
	0x01, 0x00, 0x10, 0x00, /* 0: type 1 (IPv4), length 16, reserved */
	0xc0, 0x00, 0x02, 0x01, /* 4: C-source 192.0.2.1 */
	0xe9, 0xfc, 0x00, 0x01, /* 8: C-group 233.252.0.1 */
	0xef, 0xc0, 0x01, 0x01, /* 12: P-group 239.192.1.1 (the data MDT) */
};

static const uint8_t mdt_v6[] = {
	0x04, 0x00, 0x28, 0x00, /* type 4 (IPv6 C-addresses), length 40, reserved */
	0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, /* C-source 2001:db8::1 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0xff, 0x3e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* C-group ff3e::8000:1 */
	0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x01,
	0xef, 0xc0, 0x01, 0x02, /* P-group 239.192.1.2 (IPv4 in both types) */
};

/* An announcement on the default MDT 239.192.0.10; UDP checksum computed
 * independently of capture/checksum.c. */
static const uint8_t frame_mdt[] = {
	0x01, 0x00, 0x5e, 0x40, 0x00, 0x0a, /* Ethernet destination: 239.192.0.10's MAC */
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01, /* source */
	0x08, 0x00,                         /* IPv4 */
	0x45, 0x00, 0x00, 0x44, /* outer IPv4: IHL 5; total length 68 */
	0x00, 0x06, 0x00, 0x00, /* identification 6; no fragment */
	0xfe, 0x2f, 0x06, 0xa7, /* TTL 254; protocol 47 GRE; header checksum 0x06a7 */
	0xc6, 0x12, 0x00, 0x01, /* source 198.18.0.1 (the PE) */
	0xef, 0xc0, 0x00, 0x0a, /* destination 239.192.0.10 (the default MDT) */
	0x00, 0x00, 0x08, 0x00, /* GRE: no options; protocol IPv4 */
	0x45, 0x00, 0x00, 0x2c, /* inner IPv4: IHL 5; total length 44 */
	0x00, 0x05, 0x00, 0x00, /* identification 5; no fragment */
	0x01, 0x11, 0x16, 0xb1, /* TTL 1; protocol 17 UDP; header checksum 0x16b1 */
	0xc0, 0x00, 0x02, 0xfe, /* source 192.0.2.254 */
	0xe0, 0x00, 0x00, 0x0d, /* destination 224.0.0.13 */
	0x0c, 0xa0, 0x0c, 0xa0, /* UDP: 3232 -> 3232 */
	0x00, 0x18, 0x95, 0xb0, /* length 24; checksum 0x95b0 */
	0x01, 0x00, 0x10, 0x00, /* MDT Join TLV: type 1, length 16, reserved */
	0xc0, 0x00, 0x02, 0x01, /* C-source 192.0.2.1 */
	0xe9, 0xfc, 0x00, 0x01, /* C-group 233.252.0.1 */
	0xef, 0xc0, 0x01, 0x01, /* P-group 239.192.1.1 */
};

/* ---- helpers ---- */

struct mdt_log {
	size_t n;
	struct mdt_join tlv[4];
};

static void mdt_collect(void *arg, const struct mdt_join *tlv)
{
	struct mdt_log *log = arg;

	if (log->n < 4)
		log->tlv[log->n] = *tlv;
	log->n++;
}

static enum parse_error mdt_parse_copy(const uint8_t *p, size_t n, struct mdt_log *log)
{
	uint8_t *q = dup_exact(p, n);
	enum parse_error e;

	memset(log, 0, sizeof(*log));
	e = mdt_join_parse(q, n, mdt_collect, log);
	free(q);
	return e;
}

/* Copies two TLVs back to back into m; returns their total length. */
static size_t two_tlvs(uint8_t *m, const uint8_t *first, size_t first_len, const uint8_t *second,
		       size_t second_len)
{
	memcpy(m, first, first_len);
	memcpy(m + first_len, second, second_len);
	return first_len + second_len;
}

static enum parse_error mdt_patched(size_t at, uint8_t value, struct mdt_log *log)
{
	uint8_t m[sizeof(mdt_v4)];

	memcpy(m, mdt_v4, sizeof(m));
	m[at] = value;
	return mdt_parse_copy(m, sizeof(m), log);
}

/* ---- tests ---- */

TEST(mdt_ipv4_tlv)
{
	struct mdt_log log;

	CHECK_EQ_INT(mdt_parse_copy(mdt_v4, sizeof(mdt_v4), &log), PARSE_OK);
	CHECK_EQ_INT(log.n, 1);
	CHECK(addr_is(&log.tlv[0].c_source, "192.0.2.1"));
	CHECK(addr_is(&log.tlv[0].c_group, "233.252.0.1"));
	CHECK(addr_is(&log.tlv[0].p_group, "239.192.1.1"));
}

TEST(mdt_ipv6_tlv_has_an_ipv4_p_group)
{
	struct mdt_log log;

	CHECK_EQ_INT(mdt_parse_copy(mdt_v6, sizeof(mdt_v6), &log), PARSE_OK);
	CHECK_EQ_INT(log.n, 1);
	CHECK(addr_is(&log.tlv[0].c_source, "2001:db8::1"));
	CHECK(addr_is(&log.tlv[0].c_group, "ff3e::8000:1"));
	CHECK(addr_is(&log.tlv[0].p_group, "239.192.1.2"));
}

TEST(mdt_several_tlvs_in_order)
{
	uint8_t m[sizeof(mdt_v4) + sizeof(mdt_v6)];
	size_t n = two_tlvs(m, mdt_v6, sizeof(mdt_v6), mdt_v4, sizeof(mdt_v4));
	struct mdt_log log;

	CHECK_EQ_INT(mdt_parse_copy(m, n, &log), PARSE_OK);
	CHECK_EQ_INT(log.n, 2);
	CHECK(addr_is(&log.tlv[0].c_group, "ff3e::8000:1"));
	CHECK(addr_is(&log.tlv[1].c_group, "233.252.0.1"));
	/* Validation alone is allowed. */
	CHECK_EQ_INT(mdt_join_parse(m, n, NULL, NULL), PARSE_OK);
}

TEST(mdt_refuses_unknown_types_and_wrong_lengths)
{
	struct mdt_log log;

	CHECK_EQ_INT(mdt_patched(0, 2, &log), PARSE_UNSUPPORTED); /* type 2 */
	CHECK_EQ_INT(mdt_patched(0, 0, &log), PARSE_UNSUPPORTED); /* type 0 */
	CHECK_EQ_INT(mdt_patched(2, 20, &log), PARSE_BAD_LENGTH); /* type 1, length 20 */
	CHECK_EQ_INT(mdt_patched(2, 4, &log), PARSE_BAD_LENGTH);  /* length 4: would never advance */
	CHECK_EQ_INT(mdt_patched(0, 4, &log), PARSE_BAD_LENGTH);  /* type 4 with length 16 */
	CHECK_EQ_INT(log.n, 0);
}

TEST(mdt_refuses_groups_that_are_not_multicast)
{
	struct mdt_log log;

	CHECK_EQ_INT(mdt_patched(8, 192, &log), PARSE_BAD_ADDRESS);  /* C-group 192.252.0.1 */
	CHECK_EQ_INT(mdt_patched(12, 198, &log), PARSE_BAD_ADDRESS); /* P-group 198.192.1.1 */
	CHECK_EQ_INT(log.n, 0);
}

/* The datagram is validated whole: a bad second TLV drops the good first one. */
TEST(mdt_one_bad_tlv_refuses_the_datagram)
{
	uint8_t m[sizeof(mdt_v4) * 2];
	size_t n = two_tlvs(m, mdt_v4, sizeof(mdt_v4), mdt_v4, sizeof(mdt_v4));
	struct mdt_log log;

	m[16] = 9; /* second TLV: type 9 */
	CHECK_EQ_INT(mdt_parse_copy(m, n, &log), PARSE_UNSUPPORTED);
	CHECK_EQ_INT(log.n, 0);
	m[16] = 1;
	m[16 + 12] = 10; /* second TLV: P-group 10.192.1.1 */
	CHECK_EQ_INT(mdt_parse_copy(m, n, &log), PARSE_BAD_ADDRESS);
	CHECK_EQ_INT(log.n, 0);
	/* A valid TLV followed by 3 stray bytes. */
	CHECK_EQ_INT(mdt_parse_copy(m, sizeof(mdt_v4) + 3, &log), PARSE_TRUNCATED);
	CHECK_EQ_INT(log.n, 0);
}

TEST(mdt_empty_datagram_is_truncated)
{
	struct mdt_log log;

	CHECK_EQ_INT(mdt_parse_copy(mdt_v4, 0, &log), PARSE_TRUNCATED);
	CHECK_EQ_INT(mdt_join_parse(NULL, 0, mdt_collect, &log), PARSE_TRUNCATED);
	CHECK_EQ_INT(log.n, 0);
}

/* Each prefix of one TLV is refused with no TLV reported; with two TLVs, the
 * prefix that ends exactly after the first is a valid one-TLV datagram (the
 * UDP length is what rules that out on the wire). */
TEST(mdt_every_prefix)
{
	uint8_t m[sizeof(mdt_v4) + sizeof(mdt_v6)];
	size_t two = two_tlvs(m, mdt_v4, sizeof(mdt_v4), mdt_v6, sizeof(mdt_v6));
	struct mdt_log log;

	for (size_t n = 0; n < sizeof(mdt_v4); n++) {
		CHECK_EQ_INT(mdt_parse_copy(mdt_v4, n, &log), PARSE_TRUNCATED);
		CHECK_EQ_INT(log.n, 0);
	}
	for (size_t n = 0; n < sizeof(mdt_v6); n++) {
		CHECK_EQ_INT(mdt_parse_copy(mdt_v6, n, &log), PARSE_TRUNCATED);
		CHECK_EQ_INT(log.n, 0);
	}
	for (size_t n = 0; n < two; n++) {
		enum parse_error e = mdt_parse_copy(m, n, &log);

		if (n == sizeof(mdt_v4)) {
			CHECK_EQ_INT(e, PARSE_OK);
			CHECK_EQ_INT(log.n, 1);
		} else {
			CHECK_EQ_INT(e, PARSE_TRUNCATED);
			CHECK_EQ_INT(log.n, 0);
		}
	}
}

/* The whole path the engine takes: frame, UDP, TLVs. */
TEST(mdt_join_frame_end_to_end)
{
	struct frame f;
	struct udp_packet udp;
	struct mdt_log log;

	CHECK_EQ_INT(frame_parse(DLT_EN10MB, frame_mdt, sizeof(frame_mdt), &f), PARSE_OK);
	CHECK_EQ_INT(f.cls, FRAME_MDT_JOIN);
	CHECK(addr_is(&f.outer.src, "198.18.0.1"));
	CHECK_EQ_INT(udp_parse(&f.inner, &udp), PARSE_OK);
	CHECK_EQ_INT(udp.payload_len, 16);
	memset(&log, 0, sizeof(log));
	CHECK_EQ_INT(mdt_join_parse(udp.payload, udp.payload_len, mdt_collect, &log), PARSE_OK);
	CHECK_EQ_INT(log.n, 1);
	CHECK(addr_is(&log.tlv[0].p_group, "239.192.1.1"));
}

TEST(mdt_frame_with_a_bad_udp_checksum)
{
	uint8_t m[sizeof(frame_mdt)];
	struct frame f;
	struct udp_packet udp;

	memcpy(m, frame_mdt, sizeof(m));
	m[sizeof(m) - 1] ^= 0x01; /* P-group 239.192.1.0: still multicast, sum now wrong */
	CHECK_EQ_INT(frame_parse(DLT_EN10MB, m, sizeof(m), &f), PARSE_OK);
	CHECK_EQ_INT(f.cls, FRAME_MDT_JOIN); /* classified from the ports alone */
	CHECK_EQ_INT(udp_parse(&f.inner, &udp), PARSE_BAD_CHECKSUM);
}

UNIT_MAIN("parse_mdt", T(mdt_ipv4_tlv), T(mdt_ipv6_tlv_has_an_ipv4_p_group), T(mdt_several_tlvs_in_order),
	  T(mdt_refuses_unknown_types_and_wrong_lengths), T(mdt_refuses_groups_that_are_not_multicast),
	  T(mdt_one_bad_tlv_refuses_the_datagram), T(mdt_empty_datagram_is_truncated), T(mdt_every_prefix),
	  T(mdt_join_frame_end_to_end), T(mdt_frame_with_a_bad_udp_checksum))
