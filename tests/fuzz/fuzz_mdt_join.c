/*
 * mdt_join_parse against a reference walk of RFC 6037's TLVs (type 1 length
 * 16, type 4 length 40, C-group and P-group multicast): same verdict, the
 * same TLVs in order, and none at all from a refused datagram.
 */
#include "fuzz.h"

struct tlvs {
	struct mdt_join *t;
	size_t n, cap, seen;
};

static bool ref_mdt(const uint8_t *p, size_t len, struct tlvs *out)
{
	size_t at = 0;

	if (len == 0)
		return false;
	while (at < len) {
		struct mdt_join j;
		size_t want, alen;
		const uint8_t *v;

		if (len - at < 4)
			return false;
		if (p[at] != 1 && p[at] != 4)
			return false;
		want = p[at] == 1 ? 16 : 40;
		alen = p[at] == 1 ? 4 : 16;
		if (be16(p + at + 1) != want || len - at < want)
			return false;
		v = p + at + 4;
		memset(&j, 0, sizeof(j));
		j.c_source.type = j.c_group.type = alen == 4 ? INET_IPV4 : INET_IPV6;
		memcpy(j.c_source.bytes, v, alen);
		memcpy(j.c_group.bytes, v + alen, alen);
		j.p_group.type = INET_IPV4;
		memcpy(j.p_group.bytes, v + 2 * alen, 4);
		if (!ref_multicast(&j.c_group) || !ref_multicast(&j.p_group))
			return false;
		FUZZ_CHECK(out->n < out->cap); /* a TLV takes 16 bytes at least */
		out->t[out->n++] = j;
		at += want;
	}
	return true;
}

static bool same_addr(const struct inet_addr *a, const struct inet_addr *b)
{
	return a->type == b->type && memcmp(a->bytes, b->bytes, a->type == INET_IPV4 ? 4 : 16) == 0;
}

static void on_tlv(void *arg, const struct mdt_join *tlv)
{
	struct tlvs *want = arg;
	const struct mdt_join *w;

	FUZZ_CHECK(tlv != NULL && want->seen < want->n);
	w = &want->t[want->seen++];
	FUZZ_CHECK(tlv->c_source.type == tlv->c_group.type && tlv->p_group.type == INET_IPV4);
	FUZZ_CHECK(ref_multicast(&tlv->c_group) && ref_multicast(&tlv->p_group));
	FUZZ_CHECK(same_addr(&tlv->c_source, &w->c_source) && same_addr(&tlv->c_group, &w->c_group) &&
		   same_addr(&tlv->p_group, &w->p_group));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tlvs want = {.cap = size / 16 + 1};
	enum parse_error e;
	bool ok;

	want.t = calloc(want.cap, sizeof(*want.t));
	FUZZ_CHECK(want.t != NULL);
	ok = ref_mdt(data, size, &want);
	if (!ok)
		want.n = 0; /* a refused datagram reports nothing */
	e = mdt_join_parse(data, size, on_tlv, &want);
	FUZZ_CHECK(parse_error_valid(e));
	FUZZ_CHECK((e == PARSE_OK) == ok);
	FUZZ_CHECK(want.seen == want.n);
	FUZZ_CHECK(mdt_join_parse(data, size, NULL, NULL) == e);
	free(want.t);
	return 0;
}
