/*
 * gre_parse against a reference decoder written from RFC 2784/2890: the two
 * must agree on whether a header is acceptable, and on every field of one
 * that is.  The payload is the rest of the buffer, after exactly the words
 * the C, K and S bits announce.
 */
#include "fuzz.h"

struct ref_gre {
	bool ok;
	bool c, k, s;
	size_t hlen;
};

static struct ref_gre ref_gre(const uint8_t *p, size_t len)
{
	struct ref_gre r = {0};
	uint16_t flags;

	if (len < 4)
		return r;
	flags = be16(p);
	/* Version 0 only; R, s and the top recursion bit must be clear
	 * (RFC 2784 2.3); bits 6-12 are ignored. */
	if ((flags & 0x0007) || (flags & 0x4c00))
		return r;
	r.c = flags & 0x8000;
	r.k = flags & 0x2000;
	r.s = flags & 0x1000;
	r.hlen = 4 + 4 * ((size_t)r.c + r.k + r.s);
	if (len < r.hlen)
		return r;
	if (r.c && !ref_sum_ok(ref_sum(0, p, len)))
		return r;
	r.ok = true;
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gre_packet g;
	struct ref_gre r = ref_gre(data, size);
	enum parse_error e = gre_parse(data, size, &g);
	size_t at = 4;

	FUZZ_CHECK(parse_error_valid(e));
	FUZZ_CHECK((e == PARSE_OK) == r.ok);
	if (e != PARSE_OK)
		return 0;
	FUZZ_CHECK(g.proto == be16(data + 2));
	FUZZ_CHECK(g.has_checksum == r.c && g.has_key == r.k && g.has_sequence == r.s);
	FUZZ_CHECK(g.payload == data + r.hlen && g.payload_len == size - r.hlen);
	FUZZ_CHECK(fuzz_within(g.payload, g.payload_len, data, size));
	if (r.c)
		at += 4;
	if (r.k) {
		FUZZ_CHECK(g.key == be32(data + at));
		at += 4;
	} else {
		FUZZ_CHECK(g.key == 0);
	}
	FUZZ_CHECK(r.s ? g.sequence == be32(data + at) : g.sequence == 0);
	return 0;
}
