/*
 * capture/parse_pim: the PIMv2 header and checksum, Hello options and
 * Join/Prune, from hand-assembled messages (RFC 7761 4.9).  The checksums in
 * the fixtures were computed independently of capture/checksum.c.
 */
#include "unit.h"

#include <stdlib.h>

#include "../../capture/parse.h"
#include "parse_helpers.h"

/* ---- fixtures ---- */

/* A Hello carrying every option a PE sends on a default MDT. */
static const uint8_t hello_v4[] = {
	0x20, 0x00, 0xde, 0x43, /* version 2, type 0 Hello; reserved; checksum 0xde43 */
	0x00, 0x01, 0x00, 0x02, 0x00, 0x69, /* option 1 Hold Time, length 2: 105 s */
	0x00, 0x02, 0x00, 0x04, 0x01, 0xf4, 0x09, 0xc4, /* 2 LAN Prune Delay, 4: delay 500, override 2500 ms */
	0x00, 0x13, 0x00, 0x04, 0x00, 0x00, 0x00, 0x64, /* 19 DR Priority, 4: 100 */
	0x00, 0x14, 0x00, 0x04, 0x12, 0x34, 0x56, 0x78, /* 20 Generation ID, 4: 0x12345678 */
	0x00, 0x15, 0x00, 0x04, 0x01, 0x3c, 0x00, 0x00, /* 21 State Refresh, 4: version 1, 60 s */
	0x00, 0x16, 0x00, 0x00,                         /* 22 Bidir Capable, 0 */
	0x00, 0x18, 0x00, 0x06, 0x01, 0x00, 0xc6, 0x12, /* 24 Address List, 6: Encoded-Unicast */
	0x00, 0x63,                                     /*   198.18.0.99 */
	0xfd, 0xe9, 0x00, 0x06, 0x01, 0x00, 0xc6, 0x12, /* 65001 Cisco old address list, 6: */
	0x00, 0x64,                                     /*   198.18.0.100 */
	0xfd, 0xec, 0x00, 0x00,                         /* 65004 Cisco RPF proxy vector, 0 */
};
/* The offsets where hello_v4 could end between two options. */
static const size_t hello_v4_boundaries[] = {4, 10, 18, 26, 34, 42, 46, 56, 66, 70};

/* Checksummed with the IPv6 pseudo-header fe80::1 -> ff02::d, next header 103, length 18. */
static const uint8_t hello_v6[] = {
	0x20, 0x00, 0x16, 0xda,             /* version 2, type 0 Hello; reserved; checksum 0x16da */
	0x00, 0x01, 0x00, 0x02, 0xff, 0xff, /* option 1 Hold Time, length 2: 0xffff, never expire */
	0x00, 0x14, 0x00, 0x04, 0xca, 0xfe, 0x00, 0x01, /* 20 Generation ID, 4: 0xcafe0001 */
};

/* Register: the checksum covers only the 8-byte header (RFC 7761 4.9.3). */
static const uint8_t register_v4_header_sum[] = {
	0x21, 0x00, 0xde, 0xff, /* version 2, type 1 Register; reserved; checksum 0xdeff */
	0x00, 0x00, 0x00, 0x00, /* Register flags: B 0, N 0 */
	0x45, 0x00, 0x00, 0x18, /* the data packet, not covered by the checksum: */
	0x00, 0x00, 0x00, 0x00, /*   IPv4 192.0.2.1 -> 233.252.0.1, UDP, */
	0x40, 0x11, 0xce, 0xd6, /*   4 bytes of data */
	0xc0, 0x00, 0x02, 0x01,
	0xe9, 0xfc, 0x00, 0x01,
	0xc0, 0xff, 0xee, 0x00,
};
/* The same Register, checksummed over the whole message (accepted for interoperability). */
static const uint8_t register_v4_whole_sum[] = {
	0x21, 0x00, 0x2f, 0xff, /* version 2, type 1 Register; reserved; checksum 0x2fff */
	0x00, 0x00, 0x00, 0x00, /* Register flags */
	0x45, 0x00, 0x00, 0x18, /* the same data packet, covered this time */
	0x00, 0x00, 0x00, 0x00,
	0x40, 0x11, 0xce, 0xd6,
	0xc0, 0x00, 0x02, 0x01,
	0xe9, 0xfc, 0x00, 0x01,
	0xc0, 0xff, 0xee, 0x00,
};
/* IPv6 2001:db8::1 -> 2001:db8::2: header checksum with a pseudo-header of length 8. */
static const uint8_t register_v6_header_sum[] = {
	0x21, 0x00, 0x83, 0x1b, /* version 2, type 1 Register; reserved; checksum 0x831b */
	0x00, 0x00, 0x00, 0x00, /* Register flags */
	0x45, 0x00, 0x00, 0x18, /* the data packet, not covered */
	0x00, 0x00, 0x00, 0x00,
	0x40, 0x11, 0xce, 0xd6,
	0xc0, 0x00, 0x02, 0x01,
	0xe9, 0xfc, 0x00, 0x01,
	0xc0, 0xff, 0xee, 0x00,
};

/* Two groups, all three kinds, joins and prunes. */
static const uint8_t jp_v4[] = {
	0x23, 0x00, 0x1d, 0xe9, /* 0: version 2, type 3 Join/Prune; reserved; checksum 0x1de9 */
	0x01, 0x00, 0xc6, 0x12, 0x00, 0x02, /* 4: upstream: Encoded-Unicast IPv4, native, 198.18.0.2 */
	0x00, 0x02, 0x00, 0xd2, /* 10: reserved; 2 groups; hold time 210 s */
	0x01, 0x00, 0x00, 0x20, 0xe9, 0xfc, 0x00, 0x01, /* 14: group IPv4, native, flags 0, /32, 233.252.0.1 */
	0x00, 0x02, 0x00, 0x01, /* 22: 2 joined, 1 pruned */
	0x01, 0x00, 0x07, 0x20, 0xc0, 0x00, 0x02, 0x64, /* 26: join S|W|R /32 192.0.2.100 (RP): (*,G) */
	0x01, 0x00, 0x04, 0x20, 0xc0, 0x00, 0x02, 0x01, /* 34: join S /32 192.0.2.1: (S,G) */
	0x01, 0x00, 0x05, 0x20, 0xc0, 0x00, 0x02, 0x02, /* 42: prune S|R /32 192.0.2.2: (S,G,rpt) */
	0x01, 0x00, 0x00, 0x20, 0xe9, 0xfc, 0x00, 0x02, /* 50: group 233.252.0.2/32 */
	0x00, 0x00, 0x00, 0x01, /* 58: 0 joined, 1 pruned */
	0x01, 0x00, 0x04, 0x20, 0xc0, 0x00, 0x02, 0x03, /* 62: prune S /32 192.0.2.3: (S,G) */
};

/* Checksummed with the IPv6 pseudo-header fe80::2 -> ff02::d, next header 103, length 90. */
static const uint8_t jp_v6[] = {
	0x23, 0x00, 0xbf, 0xd8, /* version 2, type 3 Join/Prune; reserved; checksum 0xbfd8 */
	0x02, 0x00, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, /* upstream: Encoded-Unicast IPv6, native, */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /*   2001:db8::2 */
	0x00, 0x02,
	0x00, 0x01, 0x00, 0xd2, /* reserved; 1 group; hold time 210 s */
	0x02, 0x00, 0x00, 0x80, 0xff, 0x3e, 0x00, 0x00, /* group IPv6, native, flags 0, /128, */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /*   ff3e::8000:1 */
	0x80, 0x00, 0x00, 0x01,
	0x00, 0x01, 0x00, 0x01, /* 1 joined, 1 pruned */
	0x02, 0x00, 0x04, 0x80, 0x20, 0x01, 0x0d, 0xb8, /* join S /128 2001:db8::10: (S,G) */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x10,
	0x02, 0x00, 0x07, 0x80, 0x20, 0x01, 0x0d, 0xb8, /* prune S|W|R /128 2001:db8::100 (RP): (*,G) */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x01, 0x00,
};

/* ---- helpers ---- */

static struct ip_packet pim_ip(const uint8_t *msg, size_t len, const char *src, const char *dst)
{
	struct ip_packet ip;

	memset(&ip, 0, sizeof(ip));
	inet_addr_parse(&ip.src, src);
	inet_addr_parse(&ip.dst, dst);
	ip.proto = 103;
	ip.ttl = 1;
	ip.payload = msg;
	ip.payload_len = len;
	return ip;
}

#define MAX_RECORDS 8

struct jp_log {
	size_t n;
	struct pim_jp_header hdr;
	struct pim_jp_record rec[MAX_RECORDS];
};

static void jp_collect(void *arg, const struct pim_jp_header *hdr, const struct pim_jp_record *rec)
{
	struct jp_log *log = arg;

	log->hdr = *hdr;
	if (log->n < MAX_RECORDS)
		log->rec[log->n] = *rec;
	log->n++;
}

static enum parse_error jp_parse_copy(const uint8_t *p, size_t len, struct jp_log *log)
{
	uint8_t *q = dup_exact(p, len);
	enum parse_error e;

	memset(log, 0, sizeof(*log));
	e = pim_jp_parse(q, len, jp_collect, log);
	free(q);
	return e;
}

static bool record_is(const struct pim_jp_record *r, const char *group, const char *source,
		      enum pim_kind kind, bool join)
{
	return addr_is(&r->group, group) && addr_is(&r->source, source) && r->kind == kind &&
	       r->join == join;
}

/* ---- header ---- */

TEST(header_accepts_v4_hello_and_join_prune)
{
	struct ip_packet ip = pim_ip(hello_v4, sizeof(hello_v4), "198.18.0.1", "224.0.0.13");
	enum pim_type type = PIM_ASSERT;

	CHECK_EQ_INT(pim_parse_header(&ip, &type), PARSE_OK);
	CHECK_EQ_INT(type, PIM_HELLO);
	ip = pim_ip(jp_v4, sizeof(jp_v4), "198.18.0.1", "224.0.0.13");
	CHECK_EQ_INT(pim_parse_header(&ip, &type), PARSE_OK);
	CHECK_EQ_INT(type, PIM_JOIN_PRUNE);
}

TEST(header_refuses_a_flipped_bit)
{
	uint8_t m[sizeof(hello_v4)];
	struct ip_packet ip;
	enum pim_type type;

	memcpy(m, hello_v4, sizeof(m));
	ip = pim_ip(m, sizeof(m), "198.18.0.1", "224.0.0.13");
	m[9] ^= 0x01; /* hold time 105 -> 104 */
	CHECK_EQ_INT(pim_parse_header(&ip, &type), PARSE_BAD_CHECKSUM);
}

/* IPv6 sums the pseudo-header too: the same bytes from another source fail. */
TEST(header_checks_the_ipv6_pseudo_header)
{
	struct ip_packet ip = pim_ip(hello_v6, sizeof(hello_v6), "fe80::1", "ff02::d");
	enum pim_type type;

	CHECK_EQ_INT(pim_parse_header(&ip, &type), PARSE_OK);
	CHECK_EQ_INT(type, PIM_HELLO);
	ip = pim_ip(hello_v6, sizeof(hello_v6), "fe80::3", "ff02::d");
	CHECK_EQ_INT(pim_parse_header(&ip, &type), PARSE_BAD_CHECKSUM);
	ip = pim_ip(jp_v6, sizeof(jp_v6), "fe80::2", "ff02::d");
	CHECK_EQ_INT(pim_parse_header(&ip, &type), PARSE_OK);
	CHECK_EQ_INT(type, PIM_JOIN_PRUNE);
	/* Summed without a pseudo-header (as if IPv4), it is wrong. */
	ip = pim_ip(jp_v6, sizeof(jp_v6), "198.18.0.1", "224.0.0.13");
	CHECK_EQ_INT(pim_parse_header(&ip, &type), PARSE_BAD_CHECKSUM);
}

TEST(header_refuses_other_versions_before_the_checksum)
{
	uint8_t m[sizeof(hello_v4)];
	struct ip_packet ip;
	enum pim_type type;

	memcpy(m, hello_v4, sizeof(m));
	ip = pim_ip(m, sizeof(m), "198.18.0.1", "224.0.0.13");
	m[0] = 0x10; /* version 1, type 0 */
	CHECK_EQ_INT(pim_parse_header(&ip, &type), PARSE_BAD_VERSION);
	m[0] = 0x30; /* version 3 */
	CHECK_EQ_INT(pim_parse_header(&ip, &type), PARSE_BAD_VERSION);
}

TEST(header_refuses_short_and_non_pim)
{
	struct ip_packet ip = pim_ip(hello_v4, 3, "198.18.0.1", "224.0.0.13");
	enum pim_type type;

	CHECK_EQ_INT(pim_parse_header(&ip, &type), PARSE_TRUNCATED);
	ip = pim_ip(hello_v4, sizeof(hello_v4), "198.18.0.1", "224.0.0.13");
	ip.proto = 17;
	CHECK_EQ_INT(pim_parse_header(&ip, &type), PARSE_UNSUPPORTED);
	ip = pim_ip(NULL, 0, "198.18.0.1", "224.0.0.13");
	CHECK_EQ_INT(pim_parse_header(&ip, &type), PARSE_TRUNCATED);
}

TEST(register_checksum_covers_the_header_or_the_whole_message)
{
	uint8_t m[sizeof(register_v4_header_sum)];
	struct ip_packet ip = pim_ip(register_v4_header_sum, sizeof(m), "198.18.0.1", "198.18.0.9");
	enum pim_type type;

	CHECK_EQ_INT(pim_parse_header(&ip, &type), PARSE_OK);
	CHECK_EQ_INT(type, PIM_REGISTER);
	ip.payload = register_v4_whole_sum;
	CHECK_EQ_INT(pim_parse_header(&ip, &type), PARSE_OK);
	/* The data packet is not covered: changing it changes nothing. */
	memcpy(m, register_v4_header_sum, sizeof(m));
	m[20] ^= 0xff;
	ip.payload = m;
	CHECK_EQ_INT(pim_parse_header(&ip, &type), PARSE_OK);
	/* The Register flags are. */
	m[4] = 0x40;
	CHECK_EQ_INT(pim_parse_header(&ip, &type), PARSE_BAD_CHECKSUM);
	/* A Register shorter than its 8-byte header. */
	ip.payload = register_v4_header_sum;
	ip.payload_len = 6;
	CHECK_EQ_INT(pim_parse_header(&ip, &type), PARSE_TRUNCATED);
	ip = pim_ip(register_v6_header_sum, sizeof(register_v6_header_sum), "2001:db8::1",
		    "2001:db8::2");
	CHECK_EQ_INT(pim_parse_header(&ip, &type), PARSE_OK);
	CHECK_EQ_INT(type, PIM_REGISTER);
}

/* ---- Hello ---- */

TEST(hello_reads_every_option)
{
	struct pim_hello h;

	CHECK_EQ_INT(pim_hello_parse(hello_v4, sizeof(hello_v4), &h), PARSE_OK);
	CHECK(h.has_holdtime && h.has_dr_priority && h.has_generation_id);
	CHECK_EQ_INT(h.holdtime, 105);
	CHECK_EQ_INT(h.dr_priority, 100);
	CHECK_EQ_INT(h.generation_id, 0x12345678);
	CHECK_EQ_INT(h.options, 9);
	CHECK_EQ_INT(h.unknown_options, 5); /* 21, 22, 24, 65001, 65004 */
}

TEST(hello_v6_holdtime_forever)
{
	struct pim_hello h;

	CHECK_EQ_INT(pim_hello_parse(hello_v6, sizeof(hello_v6), &h), PARSE_OK);
	CHECK(h.has_holdtime && h.has_generation_id && !h.has_dr_priority);
	CHECK_EQ_INT(h.holdtime, PIM_HOLDTIME_FOREVER);
	CHECK_EQ_INT(h.generation_id, 0xcafe0001);
	CHECK_EQ_INT(h.options, 2);
	CHECK_EQ_INT(h.unknown_options, 0);
}

TEST(hello_without_options_has_no_fields)
{
	static const uint8_t m[] = {
		0x20, 0x00, 0x00, 0x00, /* Hello; checksum not checked here */
	};
	struct pim_hello h;

	CHECK_EQ_INT(pim_hello_parse(m, sizeof(m), &h), PARSE_OK);
	CHECK(!h.has_holdtime && !h.has_dr_priority && !h.has_generation_id);
	CHECK_EQ_INT(h.options, 0);
}

/* A known option with another length than its own is refused, whichever it is. */
TEST(hello_refuses_known_options_of_the_wrong_length)
{
	static const uint8_t holdtime4[] = {
		0x20, 0x00, 0x00, 0x00, /* Hello */
		0x00, 0x01, 0x00, 0x04, 0x00, 0x69, 0x00, 0x00, /* Hold Time with length 4 */
	};
	static const uint8_t prune_delay2[] = {
		0x20, 0x00, 0x00, 0x00, /* Hello */
		0x00, 0x02, 0x00, 0x02, 0x01, 0xf4, /* LAN Prune Delay with length 2 */
	};
	static const uint8_t dr_priority2[] = {
		0x20, 0x00, 0x00, 0x00, /* Hello */
		0x00, 0x13, 0x00, 0x02, 0x00, 0x64, /* DR Priority with length 2 */
	};
	static const uint8_t genid0[] = {
		0x20, 0x00, 0x00, 0x00, /* Hello */
		0x00, 0x01, 0x00, 0x02, 0x00, 0x69, /* Hold Time 105 (fine) */
		0x00, 0x14, 0x00, 0x00, /* Generation ID with length 0 */
	};
	struct pim_hello h;

	CHECK_EQ_INT(pim_hello_parse(holdtime4, sizeof(holdtime4), &h), PARSE_BAD_LENGTH);
	CHECK_EQ_INT(pim_hello_parse(prune_delay2, sizeof(prune_delay2), &h), PARSE_BAD_LENGTH);
	CHECK_EQ_INT(pim_hello_parse(dr_priority2, sizeof(dr_priority2), &h), PARSE_BAD_LENGTH);
	CHECK_EQ_INT(pim_hello_parse(genid0, sizeof(genid0), &h), PARSE_BAD_LENGTH);
	/* Refused means nothing reported, not the options before the bad one. */
	CHECK(!h.has_holdtime);
}

TEST(hello_refuses_an_option_running_past_the_end)
{
	static const uint8_t past_end[] = {
		0x20, 0x00, 0x00, 0x00, /* Hello */
		0x00, 0x01, 0x00, 0x02, 0x00, 0x69, /* Hold Time 105 */
		0x00, 0x18, 0x00, 0x08, 0x01, 0x00, 0xc6, 0x12, /* Address List, length 8, 4 bytes there */
	};
	static const uint8_t half_header[] = {
		0x20, 0x00, 0x00, 0x00, /* Hello */
		0x00, 0x01, 0x00,       /* three bytes of an option header */
	};
	static const uint8_t huge_unknown[] = {
		0x20, 0x00, 0x00, 0x00, /* Hello */
		0xff, 0xff, 0xff, 0xff, /* unknown option 65535, length 65535 */
	};
	struct pim_hello h;

	CHECK_EQ_INT(pim_hello_parse(past_end, sizeof(past_end), &h), PARSE_TRUNCATED);
	CHECK(!h.has_holdtime);
	CHECK_EQ_INT(pim_hello_parse(half_header, sizeof(half_header), &h), PARSE_TRUNCATED);
	CHECK_EQ_INT(pim_hello_parse(huge_unknown, sizeof(huge_unknown), &h), PARSE_TRUNCATED);
}

TEST(hello_parser_checks_version_and_type)
{
	uint8_t m[sizeof(hello_v4)];
	struct pim_hello h;

	memcpy(m, hello_v4, sizeof(m));
	m[0] = 0x10; /* version 1 */
	CHECK_EQ_INT(pim_hello_parse(m, sizeof(m), &h), PARSE_BAD_VERSION);
	CHECK_EQ_INT(pim_hello_parse(jp_v4, sizeof(jp_v4), &h), PARSE_UNSUPPORTED);
	CHECK_EQ_INT(pim_hello_parse(hello_v4, 3, &h), PARSE_TRUNCATED);
}

/*
 * A Hello has no length of its own (the IP layer gives it one), so a prefix
 * that ends between two options is a shorter valid Hello; every other prefix
 * ends inside something and is PARSE_TRUNCATED.  Each prefix is an exact heap
 * copy, so valgrind proves no read past the end.
 */
TEST(hello_every_prefix)
{
	size_t b = 0;

	for (size_t n = 0; n <= sizeof(hello_v4); n++) {
		uint8_t *q = dup_exact(hello_v4, n);
		struct pim_hello h;
		enum parse_error e = pim_hello_parse(q, n, &h);

		free(q);
		if (b < sizeof(hello_v4_boundaries) / sizeof(hello_v4_boundaries[0]) &&
		    n == hello_v4_boundaries[b]) {
			CHECK_EQ_INT(e, PARSE_OK);
			CHECK_EQ_INT(h.options, b);
			b++;
		} else {
			CHECK_EQ_INT(e, PARSE_TRUNCATED);
		}
	}
}

/* ---- Join/Prune ---- */

TEST(jp_v4_reports_all_three_kinds_in_order)
{
	struct jp_log log;

	CHECK_EQ_INT(jp_parse_copy(jp_v4, sizeof(jp_v4), &log), PARSE_OK);
	CHECK_EQ_INT(log.n, 4);
	CHECK(addr_is(&log.hdr.upstream, "198.18.0.2"));
	CHECK_EQ_INT(log.hdr.holdtime, 210);
	CHECK_EQ_INT(log.hdr.n_groups, 2);
	CHECK(record_is(&log.rec[0], "233.252.0.1", "192.0.2.100", PIM_KIND_STAR_G, true));
	CHECK(record_is(&log.rec[1], "233.252.0.1", "192.0.2.1", PIM_KIND_SG, true));
	CHECK(record_is(&log.rec[2], "233.252.0.1", "192.0.2.2", PIM_KIND_SG_RPT, false));
	CHECK(record_is(&log.rec[3], "233.252.0.2", "192.0.2.3", PIM_KIND_SG, false));
	CHECK_EQ_INT(log.rec[0].group_mask_len, 32);
	CHECK_EQ_INT(log.rec[0].source_mask_len, 32);
}

TEST(jp_v6_join_and_prune)
{
	struct jp_log log;

	CHECK_EQ_INT(jp_parse_copy(jp_v6, sizeof(jp_v6), &log), PARSE_OK);
	CHECK_EQ_INT(log.n, 2);
	CHECK(addr_is(&log.hdr.upstream, "2001:db8::2"));
	CHECK_EQ_INT(log.hdr.holdtime, 210);
	CHECK(record_is(&log.rec[0], "ff3e::8000:1", "2001:db8::10", PIM_KIND_SG, true));
	CHECK(record_is(&log.rec[1], "ff3e::8000:1", "2001:db8::100", PIM_KIND_STAR_G, false));
	CHECK_EQ_INT(log.rec[1].group_mask_len, 128);
}

/* Patches one byte of jp_v4 (offsets in its comments) and expects error e, no record. */
static enum parse_error jp_patched(size_t at, uint8_t value, struct jp_log *log)
{
	uint8_t m[sizeof(jp_v4)];

	memcpy(m, jp_v4, sizeof(m));
	m[at] = value;
	return jp_parse_copy(m, sizeof(m), log);
}

TEST(jp_refuses_bad_families_and_encodings)
{
	struct jp_log log;

	CHECK_EQ_INT(jp_patched(4, 3, &log), PARSE_BAD_FAMILY);  /* upstream family 3 */
	CHECK_EQ_INT(jp_patched(5, 1, &log), PARSE_BAD_FAMILY);  /* upstream encoding 1 */
	CHECK_EQ_INT(jp_patched(14, 0, &log), PARSE_BAD_FAMILY); /* group family 0 */
	CHECK_EQ_INT(jp_patched(15, 1, &log), PARSE_BAD_FAMILY); /* group encoding 1 */
	CHECK_EQ_INT(jp_patched(27, 1, &log), PARSE_BAD_FAMILY); /* source encoding 1 (RFC 5384) */
	/* An IPv6 source under an IPv4 group: 16 bytes are there, but no (S,G). */
	CHECK_EQ_INT(jp_patched(26, 2, &log), PARSE_BAD_FAMILY);
	CHECK_EQ_INT(log.n, 0);
}

TEST(jp_refuses_bad_groups_and_masks)
{
	struct jp_log log;

	CHECK_EQ_INT(jp_patched(18, 198, &log), PARSE_BAD_ADDRESS); /* group 198.252.0.1 */
	CHECK_EQ_INT(jp_patched(17, 33, &log), PARSE_BAD_ADDRESS);  /* group mask /33 */
	CHECK_EQ_INT(jp_patched(29, 33, &log), PARSE_BAD_ADDRESS);  /* source mask /33 */
	CHECK_EQ_INT(jp_patched(54, 10, &log), PARSE_BAD_ADDRESS);  /* second group 10.252.0.2 */
	CHECK_EQ_INT(log.n, 0); /* the first group was valid, yet nothing is reported */
}

TEST(jp_ignores_group_flags_and_the_sparse_bit)
{
	struct jp_log log;

	CHECK_EQ_INT(jp_patched(16, 0xff, &log), PARSE_OK); /* B, Z and reserved bits */
	CHECK_EQ_INT(jp_patched(36, 0x00, &log), PARSE_OK); /* second join without S */
	CHECK_EQ_INT(jp_patched(36, 0xf8, &log), PARSE_OK); /* reserved source bits */
	CHECK(record_is(&log.rec[1], "233.252.0.1", "192.0.2.1", PIM_KIND_SG, true));
}

TEST(jp_refuses_wildcard_without_rpt)
{
	struct jp_log log;

	CHECK_EQ_INT(jp_patched(36, 0x06, &log), PARSE_BAD_FLAGS); /* S|W */
	CHECK_EQ_INT(jp_patched(44, 0x02, &log), PARSE_BAD_FLAGS); /* W, on a prune */
	CHECK_EQ_INT(log.n, 0);
}

TEST(jp_counts_promising_more_than_there_is_are_truncated)
{
	struct jp_log log;

	CHECK_EQ_INT(jp_patched(61, 2, &log), PARSE_TRUNCATED); /* 2 prunes in the last group */
	CHECK_EQ_INT(log.n, 0);
	CHECK_EQ_INT(jp_patched(11, 3, &log), PARSE_TRUNCATED); /* 3 groups */
	CHECK_EQ_INT(log.n, 0);
}

TEST(a_jp_whose_last_group_is_truncated_yields_no_record)
{
	struct jp_log log;

	/* Cut inside the last group's only prune: the first group is whole. */
	CHECK_EQ_INT(jp_parse_copy(jp_v4, sizeof(jp_v4) - 3, &log), PARSE_TRUNCATED);
	CHECK_EQ_INT(log.n, 0);
	/* And in the IPv6 message, inside the prune's address. */
	CHECK_EQ_INT(jp_parse_copy(jp_v6, sizeof(jp_v6) - 1, &log), PARSE_TRUNCATED);
	CHECK_EQ_INT(log.n, 0);
}

TEST(jp_ignores_bytes_after_the_last_group)
{
	uint8_t m[sizeof(jp_v4) + 3];
	struct jp_log log;

	memcpy(m, jp_v4, sizeof(jp_v4));
	m[sizeof(jp_v4)] = 0xde; /* three bytes no count accounts for */
	m[sizeof(jp_v4) + 1] = 0xad;
	m[sizeof(jp_v4) + 2] = 0x01;
	CHECK_EQ_INT(jp_parse_copy(m, sizeof(m), &log), PARSE_OK);
	CHECK_EQ_INT(log.n, 4);
}

TEST(jp_with_no_groups_has_no_records)
{
	struct jp_log log;

	CHECK_EQ_INT(jp_patched(11, 0, &log), PARSE_OK);
	CHECK_EQ_INT(log.n, 0);
	/* Validation alone (no callback) is allowed. */
	CHECK_EQ_INT(pim_jp_parse(jp_v4, sizeof(jp_v4), NULL, NULL), PARSE_OK);
}

TEST(jp_header_alone)
{
	struct pim_jp_header hdr;
	uint8_t m[sizeof(jp_v4)];

	CHECK_EQ_INT(pim_jp_parse_header(jp_v6, sizeof(jp_v6), &hdr), PARSE_OK);
	CHECK(addr_is(&hdr.upstream, "2001:db8::2"));
	CHECK_EQ_INT(hdr.holdtime, 210);
	CHECK_EQ_INT(hdr.n_groups, 1);
	/* Only the fixed part is checked: the first 14 bytes of jp_v4 will do. */
	CHECK_EQ_INT(pim_jp_parse_header(jp_v4, 14, &hdr), PARSE_OK);
	CHECK_EQ_INT(hdr.n_groups, 2);
	CHECK_EQ_INT(pim_jp_parse_header(jp_v4, 13, &hdr), PARSE_TRUNCATED);
	memcpy(m, jp_v4, sizeof(m));
	m[4] = 7; /* upstream family 7 */
	CHECK_EQ_INT(pim_jp_parse_header(m, sizeof(m), &hdr), PARSE_BAD_FAMILY);
	CHECK_EQ_INT(hdr.upstream.type, INET_UNKNOWN);
}

TEST(jp_parser_checks_version_and_type)
{
	struct jp_log log;

	CHECK_EQ_INT(jp_patched(0, 0x13, &log), PARSE_BAD_VERSION);
	CHECK_EQ_INT(jp_patched(0, 0x25, &log), PARSE_UNSUPPORTED); /* an Assert */
	CHECK_EQ_INT(jp_parse_copy(hello_v4, sizeof(hello_v4), &log), PARSE_UNSUPPORTED);
}

/* Join/Prune describes its own length with counts: every prefix is refused,
 * and none of them reports a single record. */
TEST(jp_every_prefix_is_refused_without_records)
{
	const struct {
		const uint8_t *p;
		size_t len;
	} msgs[] = {{jp_v4, sizeof(jp_v4)}, {jp_v6, sizeof(jp_v6)}};

	for (size_t m = 0; m < 2; m++) {
		for (size_t n = 0; n < msgs[m].len; n++) {
			struct jp_log log;

			CHECK(jp_parse_copy(msgs[m].p, n, &log) != PARSE_OK);
			CHECK_EQ_INT(log.n, 0);
		}
	}
}

/* The header parser on every prefix: never a read past the end; below 4
 * bytes always PARSE_TRUNCATED.  (A longer prefix can still sum right, for
 * instance without hello_v4's final zero bytes: the IP length is what stops
 * those, see test_parse_gre's frame prefixes.) */
TEST(header_every_prefix_is_safe)
{
	for (size_t n = 0; n <= sizeof(jp_v4); n++) {
		uint8_t *q = dup_exact(jp_v4, n);
		struct ip_packet ip = pim_ip(q, n, "198.18.0.1", "224.0.0.13");
		enum pim_type type;
		enum parse_error e = pim_parse_header(&ip, &type);

		free(q);
		if (n < 4)
			CHECK_EQ_INT(e, PARSE_TRUNCATED);
		else if (n == sizeof(jp_v4))
			CHECK_EQ_INT(e, PARSE_OK);
		else
			CHECK(e == PARSE_OK || e == PARSE_BAD_CHECKSUM);
	}
}

UNIT_MAIN("parse_pim", T(header_accepts_v4_hello_and_join_prune), T(header_refuses_a_flipped_bit),
	  T(header_checks_the_ipv6_pseudo_header), T(header_refuses_other_versions_before_the_checksum),
	  T(header_refuses_short_and_non_pim), T(register_checksum_covers_the_header_or_the_whole_message),
	  T(hello_reads_every_option), T(hello_v6_holdtime_forever), T(hello_without_options_has_no_fields),
	  T(hello_refuses_known_options_of_the_wrong_length),
	  T(hello_refuses_an_option_running_past_the_end), T(hello_parser_checks_version_and_type),
	  T(hello_every_prefix), T(jp_v4_reports_all_three_kinds_in_order), T(jp_v6_join_and_prune),
	  T(jp_refuses_bad_families_and_encodings), T(jp_refuses_bad_groups_and_masks),
	  T(jp_ignores_group_flags_and_the_sparse_bit), T(jp_refuses_wildcard_without_rpt),
	  T(jp_counts_promising_more_than_there_is_are_truncated),
	  T(a_jp_whose_last_group_is_truncated_yields_no_record),
	  T(jp_ignores_bytes_after_the_last_group), T(jp_with_no_groups_has_no_records),
	  T(jp_header_alone), T(jp_parser_checks_version_and_type), T(jp_every_prefix_is_refused_without_records),
	  T(header_every_prefix_is_safe))
