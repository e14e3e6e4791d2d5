/* history/encode.c: change values, addresses, checkpoints and change blocks
 * survive a round trip exactly, and what is not one of our encodings is
 * refused, never read past its end. */
#include <stdlib.h>
#include <string.h>

#include "../../history/encode.h"
#include "../tools/hist_gen.h"
#include "unit.h"

static struct inet_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	struct inet_addr x;
	inet_addr_v4(&x, (const uint8_t[4]){a, b, c, d});
	return x;
}

static struct inet_addr v6(uint8_t last)
{
	uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8};
	struct inet_addr x;
	b[15] = last;
	inet_addr_v6(&x, b);
	return x;
}

/* Encode, decode, and compare field by field through a fresh encoding of
 * the decoded value (struct padding makes memcmp of values meaningless). */
static int round_trip(uint8_t kind, const union change_value *v, union change_value *back)
{
	uint8_t buf[HIST_VALUE_MAX], again[HIST_VALUE_MAX];
	int n = hist_value_encode(kind, v, buf);
	if (n < 0 || hist_value_decode(kind, buf, (size_t)n, back) < 0)
		return -1;
	int m = hist_value_encode(kind, back, again);
	return m == n && memcmp(buf, again, (size_t)n) == 0 ? n : -1;
}

TEST(pe_values_round_trip)
{
	union change_value v = {.pe = {.present = 1, .alive = 1, .has_genid = 1, .holdtime = 105,
				       .genid = 0xdeadbeef, .dr_priority = 7, .caddr = v4(10, 0, 0, 2)}};
	union change_value b;
	int n;

	for (uint8_t k = CHANGE_PE_UP; k <= CHANGE_PE_CHANGE; k++) {
		CHECK((n = round_trip(k, &v, &b)) > 0);
		CHECK(n <= 16);
		CHECK_EQ_INT(b.pe.present, 1);
		CHECK_EQ_INT(b.pe.alive, 1);
		CHECK_EQ_INT(b.pe.has_genid, 1);
		CHECK_EQ_INT(b.pe.holdtime, 105);
		CHECK_EQ_INT(b.pe.genid, 0xdeadbeef);
		CHECK_EQ_INT(b.pe.dr_priority, 7);
		CHECK(inet_addr_eq(&b.pe.caddr, &v.pe.caddr));
	}
	v.pe.has_genid = 0;
	v.pe.genid = 0;
	v.pe.alive = 0;
	v.pe.holdtime = 65535;
	v.pe.dr_priority = UINT32_MAX;
	v.pe.caddr = v6(9);
	CHECK(round_trip(CHANGE_PE_DOWN, &v, &b) > 0);
	CHECK_EQ_INT(b.pe.holdtime, 65535);
	CHECK_EQ_INT(b.pe.dr_priority, UINT32_MAX);
	CHECK(inet_addr_eq(&b.pe.caddr, &v.pe.caddr));
}

TEST(row_flow_status_reclaim_config_round_trip)
{
	union change_value row = {.row = {.present = 1, .cg_kind = 2, .state = 1, .holdtime = 210,
					  .upstream = v4(192, 0, 2, 1)}};
	union change_value star = {.row = {.present = 1, .cg_kind = 1, .state = 1, .holdtime = 210,
					   .upstream = v6(1), .rp = v6(2)}};
	union change_value flow = {.flow = {.present = 1, .p_group = v4(239, 1, 1, 1),
					    .announcer = v4(192, 0, 2, 9)}};
	union change_value st = {.status = {.present = 1, .status = 4}};
	union change_value rc = {.reclaim = {.present = 1, .hellos = 1ull << 40}};
	union change_value cf = {.config = {.present = 1, .vpns = 10000, .added = 3, .removed = 2,
					    .changed = 1}};
	union change_value b;
	int n;

	for (uint8_t k = CHANGE_JOIN; k <= CHANGE_EXPIRY; k++) {
		CHECK((n = round_trip(k, &row, &b)) > 0);
		CHECK_EQ_INT(n, 10); /* what a join costs on disk */
		CHECK_EQ_INT(b.row.cg_kind, 2);
		CHECK_EQ_INT(b.row.holdtime, 210);
		CHECK(inet_addr_eq(&b.row.upstream, &row.row.upstream));
		CHECK_EQ_INT(b.row.rp.type, INET_UNKNOWN);
	}
	CHECK(round_trip(CHANGE_JOIN, &star, &b) > 0);
	CHECK(inet_addr_eq(&b.row.rp, &star.row.rp));
	for (uint8_t k = CHANGE_DATA_MDT_UP; k <= CHANGE_DATA_MDT_DOWN; k++) {
		CHECK(round_trip(k, &flow, &b) > 0);
		CHECK(inet_addr_eq(&b.flow.p_group, &flow.flow.p_group));
		CHECK(inet_addr_eq(&b.flow.announcer, &flow.flow.announcer));
	}
	CHECK_EQ_INT(round_trip(CHANGE_PAIR_STATUS, &st, &b), 1);
	CHECK_EQ_INT(b.status.status, 4);
	CHECK(round_trip(CHANGE_TUNNEL_STATUS, &st, &b) > 0);
	CHECK(round_trip(CHANGE_PE_RECLAIMED, &rc, &b) > 0);
	CHECK(b.reclaim.hellos == 1ull << 40);
	CHECK(round_trip(CHANGE_CONFIG_RELOAD, &cf, &b) > 0);
	CHECK_EQ_INT(b.config.vpns, 10000);
	CHECK_EQ_INT(b.config.added, 3);
	CHECK_EQ_INT(b.config.removed, 2);
	CHECK_EQ_INT(b.config.changed, 1);
}

TEST(absent_values_are_empty_and_unknown_kinds_refused)
{
	union change_value none = {.present = 0}, b = {.present = 1};
	uint8_t buf[HIST_VALUE_MAX];

	for (uint8_t k = CHANGE_PE_UP; k <= CHANGE_PE_RECLAIMED; k++) {
		CHECK_EQ_INT(hist_value_encode(k, &none, buf), 0);
		CHECK_EQ_INT(hist_value_decode(k, buf, 0, &b), 0);
		CHECK_EQ_INT(b.present, 0);
	}
	CHECK_EQ_INT(hist_value_encode(0, &none, buf), -1);
	CHECK_EQ_INT(hist_value_encode(99, &none, buf), -1);
	CHECK_EQ_INT(hist_value_decode(99, buf, 0, &b), -1);
}

TEST(malformed_values_refused)
{
	union change_value row = {.row = {.present = 1, .cg_kind = 2, .state = 1, .holdtime = 210,
					  .upstream = v6(1)}};
	union change_value b;
	uint8_t buf[HIST_VALUE_MAX + 1];
	int n = hist_value_encode(CHANGE_JOIN, &row, buf);

	CHECK(n > 0);
	/* every truncation, and one byte too many */
	for (int i = 1; i < n; i++)
		CHECK_EQ_INT(hist_value_decode(CHANGE_JOIN, buf, (size_t)i, &b), -1);
	buf[n] = 0;
	CHECK_EQ_INT(hist_value_decode(CHANGE_JOIN, buf, (size_t)n + 1, &b), -1);
	/* an address type that is not 0, 1 or 2 */
	const uint8_t badaddr[] = {2, 1, 0x80, 0x01, 3, 0};
	CHECK_EQ_INT(hist_value_decode(CHANGE_JOIN, badaddr, sizeof(badaddr), &b), -1);
	/* a hold time over 16 bits, and a varint that never ends */
	const uint8_t bighold[] = {2, 1, 0x80, 0x80, 0x04, 0, 0};
	CHECK_EQ_INT(hist_value_decode(CHANGE_JOIN, bighold, sizeof(bighold), &b), -1);
	uint8_t endless[12];
	memset(endless, 0xff, sizeof(endless));
	CHECK_EQ_INT(hist_value_decode(CHANGE_PE_RECLAIMED, endless, sizeof(endless), &b), -1);
	/* PE flags other than alive and has_genid */
	const uint8_t pe[] = {4, 105, 1, 0};
	CHECK_EQ_INT(hist_value_decode(CHANGE_PE_UP, pe, sizeof(pe), &b), -1);
}

TEST(addresses_by_length)
{
	struct inet_addr a;
	const uint8_t b[16] = {10, 1, 2, 3};

	CHECK_EQ_INT(hist_addr_decode(b, 0, &a), 0);
	CHECK_EQ_INT(a.type, INET_UNKNOWN);
	CHECK_EQ_INT(hist_addr_decode(b, 4, &a), 0);
	CHECK_EQ_INT(a.type, INET_IPV4);
	CHECK_EQ_INT(a.bytes[3], 3);
	CHECK_EQ_INT(hist_addr_decode(b, 16, &a), 0);
	CHECK_EQ_INT(a.type, INET_IPV6);
	CHECK_EQ_INT(hist_addr_decode(b, 5, &a), -1);
	CHECK_EQ_INT(hist_addr_decode(b, 15, &a), -1);
	const uint8_t *p;
	struct inet_addr none = {0};
	CHECK_EQ_INT(hist_addr_bytes(&none, &p), 0);
}

static struct hist_checkpoint *sample_checkpoint(void)
{
	struct hist_checkpoint *cp = calloc(1, sizeof(*cp));

	cp->last_change_seq = 123456789012ull;
	cp->n_vpns = 2;
	cp->n_pes = 3;
	cp->n_cgpes = 2;
	cp->n_flows = 1;
	cp->vpns = calloc(2, sizeof(*cp->vpns));
	cp->pes = calloc(3, sizeof(*cp->pes));
	cp->cgpes = calloc(2, sizeof(*cp->cgpes));
	cp->flows = calloc(1, sizeof(*cp->flows));
	cp->vpns[0] = (struct hist_vpn_row){.index = 1, .name = "red",
					    .default_mdt = v4(239, 0, 0, 1), .n_expected = 2};
	memset(cp->vpns[1].name, 'g', 64); /* the longest name */
	cp->vpns[1].index = 70000;
	cp->vpns[1].default_mdt = v6(7);
	cp->pes[0] = (struct hist_pe_row){.vpn_index = 1, .addr = v4(198, 18, 0, 1), .expected = 1,
					  .value = {.present = 1, .alive = 1, .holdtime = 105,
						    .has_genid = 1, .genid = 5, .dr_priority = 1,
						    .caddr = v4(10, 0, 0, 1)},
					  .first_seen_ns = 1764547200123456789ull};
	cp->pes[1] = (struct hist_pe_row){.vpn_index = 1, .addr = v4(198, 18, 0, 3), .expected = 1};
	cp->pes[2] = (struct hist_pe_row){.vpn_index = 70000, .addr = v6(3),
					  .value = {.present = 1, .holdtime = 0}, .first_seen_ns = 1};
	cp->cgpes[0] = (struct hist_cgpe_row){.vpn_index = 1, .c_source = v4(10, 1, 1, 1),
					      .c_group = v4(232, 1, 1, 1), .pe = v4(198, 18, 0, 1),
					      .value = {.present = 1, .cg_kind = 2, .state = 1,
							.holdtime = 210, .upstream = v4(198, 18, 0, 2)}};
	cp->cgpes[1] = (struct hist_cgpe_row){.vpn_index = 70000, .c_group = v6(0xff),
					      .pe = v6(3),
					      .value = {.present = 1, .cg_kind = 1, .state = 1,
							.holdtime = 210, .upstream = v6(4), .rp = v6(5)}};
	cp->flows[0] = (struct hist_flow_row){.vpn_index = 1, .c_source = v4(10, 1, 1, 1),
					      .c_group = v4(232, 1, 1, 1),
					      .value = {.present = 1, .p_group = v4(239, 2, 0, 1),
							.announcer = v4(198, 18, 0, 1)}};
	return cp;
}

TEST(checkpoint_round_trip)
{
	struct hist_checkpoint *cp = sample_checkpoint(), *back = NULL;
	uint8_t *blob = NULL, *again = NULL;
	size_t len, len2;

	CHECK_EQ_INT(hist_checkpoint_encode(cp, &blob, &len), 0);
	CHECK_EQ_INT(hist_checkpoint_decode(blob, len, &back), 0);
	CHECK(back->last_change_seq == 123456789012ull);
	CHECK_EQ_INT(back->n_vpns, 2);
	CHECK_EQ_INT(back->n_pes, 3);
	CHECK_EQ_INT(back->n_cgpes, 2);
	CHECK_EQ_INT(back->n_flows, 1);
	CHECK_EQ_STR(back->vpns[0].name, "red");
	CHECK_EQ_INT(strlen(back->vpns[1].name), 64);
	CHECK_EQ_INT(back->vpns[1].index, 70000);
	CHECK(back->pes[0].first_seen_ns == 1764547200123456789ull);
	CHECK_EQ_INT(back->pes[0].value.genid, 5);
	CHECK_EQ_INT(back->pes[1].value.present, 0);
	CHECK_EQ_INT(back->pes[1].expected, 1);
	CHECK(inet_addr_eq(&back->cgpes[1].value.rp, &cp->cgpes[1].value.rp));
	CHECK(inet_addr_eq(&back->flows[0].value.p_group, &cp->flows[0].value.p_group));
	/* the decoded checkpoint encodes to the same bytes */
	CHECK_EQ_INT(hist_checkpoint_encode(back, &again, &len2), 0);
	CHECK_EQ_INT(len2, len);
	CHECK(memcmp(blob, again, len) == 0);
	free(blob);
	free(again);
	hist_checkpoint_free(cp);
	hist_checkpoint_free(back);
}

TEST(empty_checkpoint_round_trip)
{
	struct hist_checkpoint cp = {.last_change_seq = 0}, *back = NULL;
	uint8_t *blob = NULL;
	size_t len;

	CHECK_EQ_INT(hist_checkpoint_encode(&cp, &blob, &len), 0);
	CHECK_EQ_INT(len, 30);
	CHECK_EQ_INT(hist_checkpoint_decode(blob, len, &back), 0);
	CHECK_EQ_INT(back->n_vpns + back->n_pes + back->n_cgpes + back->n_flows, 0);
	free(blob);
	hist_checkpoint_free(back);
}

TEST(malformed_checkpoints_refused)
{
	struct hist_checkpoint *cp = sample_checkpoint(), *back = NULL;
	uint8_t *blob = NULL, *copy;
	size_t len;

	CHECK_EQ_INT(hist_checkpoint_encode(cp, &blob, &len), 0);
	hist_checkpoint_free(cp);
	/* Every truncation, each in a buffer of exactly its length so that
	 * ASan sees any read past the end. */
	for (size_t i = 0; i < len; i++) {
		copy = malloc(i ? i : 1);
		memcpy(copy, blob, i);
		int rc = hist_checkpoint_decode(copy, i, &back);
		free(copy);
		CHECK_EQ_INT(rc, -1);
		CHECK(back == NULL);
	}
	copy = malloc(len + 1);
	memcpy(copy, blob, len);
	copy[len] = 0;
	CHECK_EQ_INT(hist_checkpoint_decode(copy, len + 1, &back), -1); /* trailing byte */
	copy[4] = 2;
	CHECK_EQ_INT(hist_checkpoint_decode(copy, len, &back), -1); /* version 2 */
	copy[4] = HIST_CP_VERSION;
	copy[0] = 'X';
	CHECK_EQ_INT(hist_checkpoint_decode(copy, len, &back), -1); /* magic */
	copy[0] = 'M';
	memset(copy + 22, 0xff, 4); /* n_cgpes = 4 billion */
	CHECK_EQ_INT(hist_checkpoint_decode(copy, len, &back), -1);
	memcpy(copy, blob, len);
	copy[14 + 3] = 0x40; /* n_vpns = 64: more than the bytes can hold */
	CHECK_EQ_INT(hist_checkpoint_decode(copy, len, &back), -1);
	/* Every single byte flipped: decoded or refused, never a crash. */
	for (size_t i = 0; i < len; i++) {
		memcpy(copy, blob, len);
		copy[i] ^= 0xa5;
		if (hist_checkpoint_decode(copy, len, &back) == 0)
			hist_checkpoint_free(back);
	}
	free(copy);
	free(blob);
}

/* ---- change blocks ---- */

#define BLOCK_N 300

struct block {
	uint8_t body[BLOCK_N * HIST_CHANGE_MAX];
	size_t len;
	uint64_t first, last, t_min, t_max;
	struct hist_record recs[BLOCK_N];
};

/* BLOCK_N changes of every kind, some IPv6, with seq gaps and an expiry
 * dated before the change logged ahead of it, as one block. */
static bool make_block(struct block *b)
{
	uint64_t seq = 1000, t0 = 1700000000000000000ull;

	for (int i = 0; i < BLOCK_N; i++) {
		seq += i % 50 == 49 ? 7 : 1;
		gen_change(&b->recs[i], 3, seq, t0);
	}
	b->recs[100].when_ns -= 5000000; /* 5 ms before its neighbours */
	b->first = b->recs[0].seq;
	b->last = b->recs[BLOCK_N - 1].seq;
	b->t_min = b->t_max = b->recs[0].when_ns;
	for (int i = 0; i < BLOCK_N; i++) {
		b->t_min = b->recs[i].when_ns < b->t_min ? b->recs[i].when_ns : b->t_min;
		b->t_max = b->recs[i].when_ns > b->t_max ? b->recs[i].when_ns : b->t_max;
	}
	uint64_t ps = b->first, pw = b->t_min;
	b->len = 0;
	for (int i = 0; i < BLOCK_N; i++) {
		int n = hist_change_encode(&b->recs[i], ps, pw, b->body + b->len);
		if (n <= 0)
			return false;
		b->len += (size_t)n;
		ps = b->recs[i].seq;
		pw = b->recs[i].when_ns;
	}
	return true;
}

static char *record_text(const struct hist_record *r)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	put_record(f, NULL, r);
	fclose(f);
	return text;
}

/* Decodes a block; the number of changes read, or -1 when refused. */
static int read_block(const uint8_t *p, size_t len, uint64_t first, uint64_t last, uint64_t t_min,
		      uint64_t t_max, uint64_t n, struct hist_record *out)
{
	struct hist_block_rd rd;
	struct hist_record r;
	int got, count = 0;

	hist_block_start(&rd, p, len, first, last, t_min, t_max, n);
	while ((got = hist_block_next(&rd, &r)) == 1)
		if (out)
			out[count++] = r;
		else
			count++;
	return got < 0 ? -1 : count;
}

TEST(change_block_round_trip)
{
	static struct block b;
	static struct hist_record back[BLOCK_N];

	CHECK(make_block(&b));
	CHECK(b.len < (size_t)BLOCK_N * 48); /* compact: well under 48 bytes a change */
	CHECK_EQ_INT(read_block(b.body, b.len, b.first, b.last, b.t_min, b.t_max, BLOCK_N, back),
		     BLOCK_N);
	for (int i = 0; i < BLOCK_N; i++) {
		char *want = record_text(&b.recs[i]), *got = record_text(&back[i]);
		CHECK(strcmp(want, got) == 0);
		CHECK_EQ_INT(back[i].u.change.index, (uint32_t)b.recs[i].seq);
		free(want);
		free(got);
	}
	/* A seq going back is not a block. */
	uint8_t out[HIST_CHANGE_MAX];
	CHECK_EQ_INT(hist_change_encode(&b.recs[0], b.recs[0].seq + 1, 0, out), -1);
}

TEST(malformed_change_blocks_refused)
{
	static struct block b;
	uint8_t *copy;

	CHECK(make_block(&b));
	/* Every truncation, in a buffer of exactly its length (ASan). */
	for (size_t i = 0; i < b.len; i++) {
		copy = malloc(i ? i : 1);
		memcpy(copy, b.body, i);
		CHECK_EQ_INT(read_block(copy, i, b.first, b.last, b.t_min, b.t_max, BLOCK_N, NULL), -1);
		free(copy);
	}
	copy = malloc(b.len + 1);
	memcpy(copy, b.body, b.len);
	copy[b.len] = 0;
	CHECK_EQ_INT(read_block(copy, b.len + 1, b.first, b.last, b.t_min, b.t_max, BLOCK_N, NULL),
		     -1); /* a trailing byte */
	CHECK_EQ_INT(read_block(copy, b.len, b.first, b.last, b.t_min, b.t_max, BLOCK_N + 1, NULL),
		     -1); /* a count too high */
	CHECK_EQ_INT(read_block(copy, b.len, b.first, b.last, b.t_min, b.t_max, BLOCK_N - 1, NULL),
		     -1); /* too low: bytes left */
	CHECK_EQ_INT(read_block(copy, b.len, b.first, b.last + 1, b.t_min, b.t_max, BLOCK_N, NULL),
		     -1); /* the last seq is not last_seq */
	CHECK_EQ_INT(read_block(copy, b.len, b.first, b.last - 1, b.t_min, b.t_max, BLOCK_N, NULL),
		     -1); /* past last_seq */
	CHECK_EQ_INT(read_block(copy, b.len, b.first, b.last, b.t_min, b.t_max - 1, BLOCK_N, NULL),
		     -1); /* a time past t_max */
	CHECK_EQ_INT(read_block(copy, b.len, b.first, b.last, b.t_min + 1, b.t_max, BLOCK_N, NULL),
		     -1); /* before t_min (the base moves with it) */
	/* Every single byte flipped: decoded or refused, never a crash. */
	for (size_t i = 0; i < b.len; i++) {
		memcpy(copy, b.body, b.len);
		copy[i] ^= 0xa5;
		(void)read_block(copy, b.len, b.first, b.last, b.t_min, b.t_max, BLOCK_N, NULL);
	}
	free(copy);
}

UNIT_MAIN("history_encode", T(pe_values_round_trip), T(row_flow_status_reclaim_config_round_trip),
	  T(absent_values_are_empty_and_unknown_kinds_refused), T(malformed_values_refused),
	  T(addresses_by_length), T(checkpoint_round_trip), T(empty_checkpoint_round_trip),
	  T(malformed_checkpoints_refused), T(change_block_round_trip),
	  T(malformed_change_blocks_refused))
