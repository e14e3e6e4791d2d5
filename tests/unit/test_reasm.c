/*
 * capture/reasm and ip_fragment_parse: outer IPv4 and IPv6 datagrams cut into
 * fragments here (by byte arithmetic, not by the code under test), fed back in
 * any order, and compared byte for byte with the datagram they were cut from.
 * Times are model-clock nanoseconds, passed in: the timeout is tested exactly
 * at its limit and one nanosecond past it.
 */
#include "unit.h"

#include <stdlib.h>

#include "../../capture/reasm.h"
#include "parse_helpers.h"

#define T0 (1767225600ull * MTIME_SEC)

/* A fragment as a caller might hand one over (not from ip_fragment_parse). */
static struct ip_fragment raw_fragment(const uint8_t *header, const uint8_t *data, uint32_t offset,
				       size_t len, bool more)
{
	struct ip_fragment f = {.id = 1, .proto = 47, .offset = offset, .more = more,
				.header = header, .header_len = 20, .data = data, .data_len = len};

	inet_addr_parse(&f.src, "198.18.0.1");
	inet_addr_parse(&f.dst, "239.192.0.1");
	return f;
}
#define MAXF 64

/* A datagram: IPv4 198.18.0.1 -> 239.192.0.1, protocol 47, id 0x6037, n
 * payload bytes (a pattern), header checksum right. */
static size_t ipv4_datagram(uint8_t *p, size_t n, uint16_t id)
{
	static const uint8_t h[20] = {0x45, 0, 0, 0, 0, 0, 0, 0, 64, 47, 0, 0,
				      198, 18, 0, 1, 239, 192, 0, 1};

	memcpy(p, h, 20);
	p[2] = (uint8_t)((20 + n) >> 8), p[3] = (uint8_t)(20 + n);
	p[4] = (uint8_t)(id >> 8), p[5] = (uint8_t)id;
	for (size_t i = 0; i < n; i++)
		p[20 + i] = (uint8_t)(i * 7 + 3);
	ipv4_fix_checksum(p);
	return 20 + n;
}

/* Fragment k of an IPv4 datagram: payload bytes [off, off + n), MF as told. */
static size_t ipv4_fragment(uint8_t *out, const uint8_t *dgram, size_t off, size_t n, bool more)
{
	memcpy(out, dgram, 20);
	memcpy(out + 20, dgram + 20 + off, n);
	out[2] = (uint8_t)((20 + n) >> 8), out[3] = (uint8_t)(20 + n);
	uint16_t frag = (uint16_t)((more ? 0x2000 : 0) | (off / 8));
	out[6] = (uint8_t)(frag >> 8), out[7] = (uint8_t)frag;
	ipv4_fix_checksum(out);
	return 20 + n;
}

/* IPv6 2001:db8::1 -> ff3e::1 with a Fragment header (next header GRE). */
static size_t ipv6_fragment(uint8_t *out, const uint8_t *payload, size_t off, size_t n, bool more,
			    uint32_t id)
{
	static const uint8_t h[40] = {0x60, 0, 0, 0, 0, 0, 44, 64,
				      0x20, 0x01, 0x0d, 0xb8, [23] = 1,
				      0xff, 0x3e, [39] = 1};

	memcpy(out, h, 40);
	out[4] = (uint8_t)((8 + n) >> 8), out[5] = (uint8_t)(8 + n);
	uint16_t offlg = (uint16_t)(off | (more ? 1 : 0));
	uint8_t fh[8] = {47, 0, (uint8_t)(offlg >> 8), (uint8_t)offlg,
			 (uint8_t)(id >> 24), (uint8_t)(id >> 16), (uint8_t)(id >> 8), (uint8_t)id};
	memcpy(out + 40, fh, 8);
	memcpy(out + 48, payload + off, n);
	return 48 + n;
}

struct harness {
	struct reasm r;
	uint8_t frag[MAXF][1600];
	size_t frag_len[MAXF];
	size_t timeouts;
	const uint8_t *out;
	size_t out_len;
};

static enum reasm_result feed(struct harness *h, const uint8_t *p, size_t n, mtime_t now)
{
	struct ip_fragment f;
	uint8_t *copy = dup_exact(p, n);
	enum reasm_result r;

	if (ip_fragment_parse(copy, n, &f) != PARSE_OK) {
		free(copy);
		return (enum reasm_result)-1;
	}
	r = reasm_add(&h->r, &f, now, &h->timeouts, &h->out, &h->out_len);
	free(copy); /* the table must have copied what it keeps */
	return r;
}

/* Cuts an IPv4 datagram of n payload bytes into pieces of `each` bytes. */
static size_t cut_ipv4(struct harness *h, const uint8_t *dgram, size_t n, size_t each)
{
	size_t k = 0;

	for (size_t off = 0; off < n; off += each, k++) {
		size_t len = n - off < each ? n - off : each;
		h->frag_len[k] = ipv4_fragment(h->frag[k], dgram, off, len, off + len < n);
	}
	return k;
}

static struct harness *harness_new(size_t max_datagrams, size_t max_bytes)
{
	struct harness *h = calloc(1, sizeof(*h));

	reasm_init(&h->r, max_datagrams, max_bytes, REASM_TIMEOUT);
	return h;
}

static void harness_free(struct harness *h)
{
	reasm_free(&h->r);
	free(h);
}

TEST(fragments_in_order_give_back_the_datagram)
{
	static uint8_t d[3100];
	struct harness *h = harness_new(REASM_MAX_DATAGRAMS, REASM_MAX_BYTES);
	size_t n = ipv4_datagram(d, 3014 - 20, 0x6037), k = cut_ipv4(h, d, n - 20, 1480);

	CHECK_EQ_INT(k, 3);
	CHECK_EQ_INT(feed(h, h->frag[0], h->frag_len[0], T0), REASM_PENDING);
	CHECK_EQ_INT(feed(h, h->frag[1], h->frag_len[1], T0), REASM_PENDING);
	CHECK_EQ_INT(feed(h, h->frag[2], h->frag_len[2], T0), REASM_DONE);
	CHECK_EQ_INT(h->out_len, n);
	CHECK(memcmp(h->out, d, n) == 0); /* header rewritten to the original, checksum too */
	CHECK_EQ_INT(h->r.n_datagrams, 0);
	CHECK_EQ_INT(h->r.bytes, 0);
	harness_free(h);
}

TEST(fragments_in_any_order_give_back_the_datagram)
{
	static uint8_t d[3100];
	static const int orders[][4] = {{3, 2, 1, 0}, {1, 3, 0, 2}, {2, 0, 3, 1}};
	struct harness *h = harness_new(REASM_MAX_DATAGRAMS, REASM_MAX_BYTES);
	size_t n = ipv4_datagram(d, 2000, 7);

	CHECK_EQ_INT(cut_ipv4(h, d, n - 20, 504), 4);
	for (size_t o = 0; o < 3; o++) {
		for (int i = 0; i < 3; i++)
			CHECK_EQ_INT(feed(h, h->frag[orders[o][i]], h->frag_len[orders[o][i]], T0),
				     REASM_PENDING);
		CHECK_EQ_INT(feed(h, h->frag[orders[o][3]], h->frag_len[orders[o][3]], T0), REASM_DONE);
		CHECK(h->out_len == n && memcmp(h->out, d, n) == 0);
	}
	harness_free(h);
}

TEST(an_exact_duplicate_is_dropped_and_the_datagram_kept)
{
	static uint8_t d[3100];
	struct harness *h = harness_new(REASM_MAX_DATAGRAMS, REASM_MAX_BYTES);
	size_t n = ipv4_datagram(d, 1500, 9);

	CHECK_EQ_INT(cut_ipv4(h, d, n - 20, 1000), 2);
	CHECK_EQ_INT(feed(h, h->frag[1], h->frag_len[1], T0), REASM_PENDING);
	CHECK_EQ_INT(feed(h, h->frag[1], h->frag_len[1], T0), REASM_DUPLICATE);
	CHECK_EQ_INT(feed(h, h->frag[0], h->frag_len[0], T0), REASM_DONE);
	CHECK(h->out_len == n && memcmp(h->out, d, n) == 0);
	harness_free(h);
}

TEST(overlapping_fragments_abandon_the_datagram)
{
	static uint8_t d[3100], other[1600];
	struct harness *h = harness_new(REASM_MAX_DATAGRAMS, REASM_MAX_BYTES);
	size_t n = ipv4_datagram(d, 1500, 11);

	CHECK_EQ_INT(cut_ipv4(h, d, n - 20, 1000), 2);
	/* [0, 1000) held; [504, 1504) overlaps it in part: abandoned. */
	CHECK_EQ_INT(feed(h, h->frag[0], h->frag_len[0], T0), REASM_PENDING);
	size_t m = ipv4_fragment(other, d, 504, 1000 - 504 + 496, false);
	CHECK_EQ_INT(feed(h, other, m, T0), REASM_BAD);
	CHECK_EQ_INT(h->r.n_datagrams, 0);
	/* The same range with different bytes is an overlap too. */
	CHECK_EQ_INT(feed(h, h->frag[0], h->frag_len[0], T0), REASM_PENDING);
	memcpy(other, h->frag[0], h->frag_len[0]);
	other[100] ^= 0xff;
	CHECK_EQ_INT(feed(h, other, h->frag_len[0], T0), REASM_BAD);
	/* What came before the overlap is gone: the last piece alone completes nothing. */
	CHECK_EQ_INT(feed(h, h->frag[1], h->frag_len[1], T0), REASM_PENDING);
	CHECK_EQ_INT(h->r.n_datagrams, 1);
	harness_free(h);
}

TEST(two_different_ends_abandon_the_datagram)
{
	static uint8_t d[3100], other[1600];
	struct harness *h = harness_new(REASM_MAX_DATAGRAMS, REASM_MAX_BYTES);
	size_t n = ipv4_datagram(d, 1500, 12);

	CHECK_EQ_INT(cut_ipv4(h, d, n - 20, 1000), 2);
	CHECK_EQ_INT(feed(h, h->frag[1], h->frag_len[1], T0), REASM_PENDING); /* ends at 1500 */
	size_t m = ipv4_fragment(other, d, 1000, 400, false);                  /* ends at 1400 */
	CHECK_EQ_INT(feed(h, other, m, T0), REASM_BAD);
	/* A fragment reaching past a known end is bad as well. */
	CHECK_EQ_INT(feed(h, other, m, T0), REASM_PENDING);
	CHECK_EQ_INT(feed(h, h->frag[0], h->frag_len[0], T0), REASM_DONE); /* 1000 + 400 */
	CHECK_EQ_INT(feed(h, other, m, T0), REASM_PENDING);
	m = ipv4_fragment(other, d, 1400, 8, true);
	CHECK_EQ_INT(feed(h, other, m, T0), REASM_BAD);
	harness_free(h);
}

/* RFC 8200 4.5: abandoned when not whole within 60 s of the first fragment. */
TEST(timeout_exactly_at_the_limit_still_completes)
{
	static uint8_t d[3100];
	struct harness *h = harness_new(REASM_MAX_DATAGRAMS, REASM_MAX_BYTES);
	size_t n = ipv4_datagram(d, 1500, 13);

	cut_ipv4(h, d, n - 20, 1000);
	CHECK_EQ_INT(feed(h, h->frag[0], h->frag_len[0], T0), REASM_PENDING);
	CHECK_EQ_INT(reasm_expire(&h->r, T0 + REASM_TIMEOUT), 0);
	CHECK_EQ_INT(feed(h, h->frag[1], h->frag_len[1], T0 + REASM_TIMEOUT), REASM_DONE);
	CHECK_EQ_INT(h->timeouts, 0);
	harness_free(h);
}

TEST(timeout_one_tick_past_the_limit_abandons)
{
	static uint8_t d[3100];
	struct harness *h = harness_new(REASM_MAX_DATAGRAMS, REASM_MAX_BYTES);
	size_t n = ipv4_datagram(d, 1500, 14);

	cut_ipv4(h, d, n - 20, 1000);
	CHECK_EQ_INT(feed(h, h->frag[0], h->frag_len[0], T0), REASM_PENDING);
	/* The late piece finds its datagram gone and starts a new one. */
	CHECK_EQ_INT(feed(h, h->frag[1], h->frag_len[1], T0 + REASM_TIMEOUT + 1), REASM_PENDING);
	CHECK_EQ_INT(h->timeouts, 1);
	CHECK_EQ_INT(h->r.n_datagrams, 1);
	/* Expiry on its own, as the engine runs it per packet. */
	CHECK_EQ_INT(reasm_expire(&h->r, T0 + 2 * REASM_TIMEOUT + 1), 0);
	CHECK_EQ_INT(reasm_expire(&h->r, T0 + 2 * REASM_TIMEOUT + 2), 1);
	CHECK_EQ_INT(h->r.n_datagrams, 0);
	CHECK_EQ_INT(h->r.bytes, 0);
	harness_free(h);
}

TEST(the_datagram_cap_refuses_new_datagrams_and_keeps_old_ones)
{
	static uint8_t d[3100];
	struct harness *h = harness_new(2, REASM_MAX_BYTES);

	for (uint16_t id = 1; id <= 3; id++) {
		size_t n = ipv4_datagram(d, 1500, id);
		cut_ipv4(h, d, n - 20, 1000);
		CHECK_EQ_INT(feed(h, h->frag[0], h->frag_len[0], T0), id <= 2 ? REASM_PENDING : REASM_FULL);
	}
	CHECK_EQ_INT(h->r.n_datagrams, 2);
	/* The ones held still complete; then there is room again. */
	size_t n = ipv4_datagram(d, 1500, 1);
	cut_ipv4(h, d, n - 20, 1000);
	CHECK_EQ_INT(feed(h, h->frag[1], h->frag_len[1], T0), REASM_DONE);
	n = ipv4_datagram(d, 1500, 3);
	cut_ipv4(h, d, n - 20, 1000);
	CHECK_EQ_INT(feed(h, h->frag[0], h->frag_len[0], T0), REASM_PENDING);
	harness_free(h);
}

TEST(the_byte_cap_refuses_what_would_pass_it)
{
	static uint8_t d[3100];
	/* Room for one datagram's record and 2 KiB of data, not 4 KiB. */
	struct harness *h = harness_new(16, 4096);
	size_t n = ipv4_datagram(d, 3000, 21);

	cut_ipv4(h, d, n - 20, 1480);
	CHECK_EQ_INT(feed(h, h->frag[0], h->frag_len[0], T0), REASM_PENDING);
	CHECK_EQ_INT(feed(h, h->frag[1], h->frag_len[1], T0), REASM_FULL);
	CHECK(h->r.bytes <= 4096);
	harness_free(h);
}

TEST(ipv6_fragments_give_back_the_packet)
{
	static uint8_t payload[3000], want[3040];
	struct harness *h = harness_new(REASM_MAX_DATAGRAMS, REASM_MAX_BYTES);

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 13 + 1);
	h->frag_len[0] = ipv6_fragment(h->frag[0], payload, 0, 1448, true, 0xdeadbeef);
	h->frag_len[1] = ipv6_fragment(h->frag[1], payload, 1448, 1448, true, 0xdeadbeef);
	h->frag_len[2] = ipv6_fragment(h->frag[2], payload, 2896, 104, false, 0xdeadbeef);
	CHECK_EQ_INT(feed(h, h->frag[2], h->frag_len[2], T0), REASM_PENDING);
	CHECK_EQ_INT(feed(h, h->frag[0], h->frag_len[0], T0), REASM_PENDING);
	CHECK_EQ_INT(feed(h, h->frag[1], h->frag_len[1], T0), REASM_DONE);
	/* The fixed header with Next Header GRE and the whole payload's length. */
	memcpy(want, h->frag[0], 40);
	want[4] = 3000 >> 8, want[5] = 3000 & 0xff, want[6] = 47;
	memcpy(want + 40, payload, 3000);
	CHECK_EQ_INT(h->out_len, 3040);
	CHECK(memcmp(h->out, want, 3040) == 0);
	struct ip_packet ip;
	CHECK_EQ_INT(ip_parse(h->out, h->out_len, &ip), PARSE_OK);
	CHECK_EQ_INT(ip.proto, 47);
	harness_free(h);
}

/* A different identification, source or protocol is another datagram. */
TEST(the_key_is_source_destination_id_and_protocol)
{
	static uint8_t d[3100], e[3100];
	struct harness *h = harness_new(REASM_MAX_DATAGRAMS, REASM_MAX_BYTES);
	size_t n = ipv4_datagram(d, 1500, 30);

	cut_ipv4(h, d, n - 20, 1000);
	CHECK_EQ_INT(feed(h, h->frag[0], h->frag_len[0], T0), REASM_PENDING);
	memcpy(e, h->frag[1], h->frag_len[1]);
	e[15] = 2; /* from 198.18.0.2 */
	ipv4_fix_checksum(e);
	CHECK_EQ_INT(feed(h, e, h->frag_len[1], T0), REASM_PENDING);
	e[15] = 1, e[9] = 17; /* UDP */
	ipv4_fix_checksum(e);
	CHECK_EQ_INT(feed(h, e, h->frag_len[1], T0), REASM_PENDING);
	CHECK_EQ_INT(h->r.n_datagrams, 3);
	CHECK_EQ_INT(feed(h, h->frag[1], h->frag_len[1], T0), REASM_DONE);
	harness_free(h);
}

TEST(an_atomic_ipv6_fragment_is_whole_at_once)
{
	static uint8_t payload[100];
	struct harness *h = harness_new(REASM_MAX_DATAGRAMS, REASM_MAX_BYTES);

	h->frag_len[0] = ipv6_fragment(h->frag[0], payload, 0, 100, false, 5);
	CHECK_EQ_INT(feed(h, h->frag[0], h->frag_len[0], T0), REASM_DONE);
	CHECK_EQ_INT(h->out_len, 140);
	CHECK_EQ_INT(h->r.n_datagrams, 0);
	harness_free(h);
}

/* The table checks what it is given: a share off the 8-byte grid, or past
 * the largest datagram, would index its bitmap wrongly. */
TEST(the_table_refuses_fragments_no_parser_would_give)
{
	static uint8_t d[3100], data[2000];
	struct harness *h = harness_new(REASM_MAX_DATAGRAMS, REASM_MAX_BYTES);
	struct ip_fragment f;

	ipv4_datagram(d, 100, 1);
	f = raw_fragment(d, data, 4, 16, true); /* offset not a multiple of 8 */
	CHECK_EQ_INT(reasm_add(&h->r, &f, T0, &h->timeouts, &h->out, &h->out_len), REASM_BAD);
	f = raw_fragment(d, data, 65528, 16, false); /* ends past 65535 */
	CHECK_EQ_INT(reasm_add(&h->r, &f, T0, &h->timeouts, &h->out, &h->out_len), REASM_BAD);
	f = raw_fragment(d, data, 0, 0, true); /* empty */
	CHECK_EQ_INT(reasm_add(&h->r, &f, T0, &h->timeouts, &h->out, &h->out_len), REASM_BAD);
	CHECK_EQ_INT(h->r.n_datagrams, 0);
	f = raw_fragment(d, data, 8, 16, true);
	CHECK_EQ_INT(reasm_add(&h->r, &f, T0, &h->timeouts, &h->out, &h->out_len), REASM_PENDING);
	harness_free(h);
}

TEST(fragment_parse_refuses_what_cannot_be_a_fragment)
{
	static uint8_t d[3100], f[1600];
	struct ip_fragment frag;
	size_t n = ipv4_datagram(d, 1500, 40), m;

	m = ipv4_fragment(f, d, 0, 1001, true); /* more to come, not a multiple of 8 */
	CHECK_EQ_INT(ip_fragment_parse(f, m, &frag), PARSE_BAD_LENGTH);
	m = ipv4_fragment(f, d, 1000, 500, false);
	f[6] = 0x1f, f[7] = 0xff; /* offset 65528: ends past 65535 */
	ipv4_fix_checksum(f);
	CHECK_EQ_INT(ip_fragment_parse(f, m, &frag), PARSE_BAD_LENGTH);
	CHECK_EQ_INT(ip_fragment_parse(d, n, &frag), PARSE_UNSUPPORTED); /* whole */
	m = ipv4_fragment(f, d, 1000, 500, false);
	CHECK_EQ_INT(ip_fragment_parse(f, m, &frag), PARSE_OK);
	CHECK_EQ_INT(frag.offset, 1000);
	CHECK_EQ_INT(frag.id, 40);
	CHECK_EQ_INT(frag.proto, 47);
	CHECK(!frag.more && frag.data_len == 500 && frag.header_len == 20);
	for (size_t cut = 0; cut < m; cut++) { /* every truncation refused, never read past */
		uint8_t *q = dup_exact(f, cut);
		CHECK(ip_fragment_parse(q, cut, &frag) != PARSE_OK);
		free(q);
	}
}


int main(void)
{
	static const struct unit_test tests[] = {
		T(fragments_in_order_give_back_the_datagram),
		T(fragments_in_any_order_give_back_the_datagram),
		T(an_exact_duplicate_is_dropped_and_the_datagram_kept),
		T(overlapping_fragments_abandon_the_datagram),
		T(two_different_ends_abandon_the_datagram),
		T(timeout_exactly_at_the_limit_still_completes),
		T(timeout_one_tick_past_the_limit_abandons),
		T(the_datagram_cap_refuses_new_datagrams_and_keeps_old_ones),
		T(the_byte_cap_refuses_what_would_pass_it),
		T(ipv6_fragments_give_back_the_packet),
		T(the_key_is_source_destination_id_and_protocol),
		T(an_atomic_ipv6_fragment_is_whole_at_once),
		T(the_table_refuses_fragments_no_parser_would_give),
		T(fragment_parse_refuses_what_cannot_be_a_fragment),
	};
	return unit_main("reasm", tests, sizeof(tests) / sizeof(tests[0]));
}
