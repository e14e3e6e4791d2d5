/*
 * pim_jp_parse against a reference walk of RFC 7761 4.9.5, with the parser's
 * documented choices (native encoding only; W without R refused; S and G of
 * one family; bytes after the last group ignored).  The two must agree on
 * the verdict and on every record, in order; a refused message must give no
 * record at all; pim_jp_parse_header must agree with the full parse.
 */
#include "fuzz.h"

struct walk {
	const uint8_t *p;
	size_t len, at;
};

static bool take(struct walk *w, size_t n, const uint8_t **out)
{
	if (w->len - w->at < n)
		return false;
	*out = w->p + w->at;
	w->at += n;
	return true;
}

/* Encoded-Unicast/Group/Source prefix: family, native encoding; the address. */
static bool ref_addr(struct walk *w, size_t extra, struct inet_addr *a, const uint8_t **mid)
{
	const uint8_t *fe, *b;
	uint8_t type;

	if (!take(w, 2, &fe) || fe[1] != 0 || (fe[0] != 1 && fe[0] != 2))
		return false;
	type = fe[0] == 1 ? INET_IPV4 : INET_IPV6;
	if (!take(w, extra, mid) || !take(w, type == INET_IPV4 ? 4 : 16, &b))
		return false;
	a->type = type;
	memset(a->bytes, 0, sizeof(a->bytes));
	memcpy(a->bytes, b, type == INET_IPV4 ? 4 : 16);
	return true;
}

struct records {
	struct pim_jp_header hdr;
	struct pim_jp_record *r;
	size_t n, cap, seen;
};

static bool ref_group(struct walk *w, struct records *out)
{
	struct pim_jp_record rec = {0};
	const uint8_t *mid, *counts;
	uint32_t total;

	if (!ref_addr(w, 2, &rec.group, &mid))
		return false;
	rec.group_mask_len = mid[1];
	if (rec.group_mask_len > (rec.group.type == INET_IPV4 ? 32 : 128) ||
	    !ref_multicast(&rec.group) || !take(w, 4, &counts))
		return false;
	total = (uint32_t)be16(counts) + be16(counts + 2);
	for (uint32_t i = 0; i < total; i++) {
		uint8_t wr;

		if (!ref_addr(w, 2, &rec.source, &mid))
			return false;
		rec.source_mask_len = mid[1];
		wr = mid[0] & 0x03;
		if (rec.source_mask_len > (rec.source.type == INET_IPV4 ? 32 : 128) ||
		    rec.source.type != rec.group.type || wr == 0x02)
			return false;
		rec.kind = wr == 0x03 ? PIM_KIND_STAR_G : wr == 0x01 ? PIM_KIND_SG_RPT : PIM_KIND_SG;
		rec.join = i < be16(counts);
		FUZZ_CHECK(out->n < out->cap); /* a source takes 8 bytes at least */
		out->r[out->n++] = rec;
	}
	return true;
}

static bool ref_jp(const uint8_t *p, size_t len, struct records *out)
{
	struct walk w = {p, len, 0};
	const uint8_t *b, *mid;

	if (!take(&w, 4, &b) || b[0] != (2 << 4 | PIM_JOIN_PRUNE))
		return false;
	if (!ref_addr(&w, 0, &out->hdr.upstream, &mid) || !take(&w, 4, &b))
		return false;
	out->hdr.n_groups = b[1];
	out->hdr.holdtime = be16(b + 2);
	for (unsigned g = 0; g < out->hdr.n_groups; g++)
		if (!ref_group(&w, out))
			return false;
	return true;
}

static bool same_addr(const struct inet_addr *a, const struct inet_addr *b)
{
	return a->type == b->type && memcmp(a->bytes, b->bytes, a->type == INET_IPV4 ? 4 : 16) == 0;
}

/* The parser's records, compared as they come with the reference's. */
static void on_record(void *arg, const struct pim_jp_header *hdr, const struct pim_jp_record *rec)
{
	struct records *want = arg;
	const struct pim_jp_record *w;

	fuzz_check_jp_record(hdr, rec);
	FUZZ_CHECK(want->seen < want->n);
	w = &want->r[want->seen++];
	FUZZ_CHECK(same_addr(&hdr->upstream, &want->hdr.upstream));
	FUZZ_CHECK(hdr->holdtime == want->hdr.holdtime && hdr->n_groups == want->hdr.n_groups);
	FUZZ_CHECK(same_addr(&rec->group, &w->group) && same_addr(&rec->source, &w->source));
	FUZZ_CHECK(rec->group_mask_len == w->group_mask_len);
	FUZZ_CHECK(rec->source_mask_len == w->source_mask_len);
	FUZZ_CHECK(rec->kind == w->kind && rec->join == w->join);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct records want = {.cap = size / 8 + 1};
	struct pim_jp_header hdr;
	enum parse_error e, eh, ev;
	bool ok;

	want.r = calloc(want.cap, sizeof(*want.r));
	FUZZ_CHECK(want.r != NULL);
	ok = ref_jp(data, size, &want);
	if (!ok)
		want.n = 0; /* a refused message reports nothing */
	e = pim_jp_parse(data, size, on_record, &want);
	FUZZ_CHECK(parse_error_valid(e));
	FUZZ_CHECK((e == PARSE_OK) == ok);
	FUZZ_CHECK(want.seen == want.n);

	ev = pim_jp_parse(data, size, NULL, NULL); /* validate only: same verdict */
	FUZZ_CHECK(ev == e);
	eh = pim_jp_parse_header(data, size, &hdr);
	FUZZ_CHECK(parse_error_valid(eh));
	if (e == PARSE_OK) {
		FUZZ_CHECK(eh == PARSE_OK);
		FUZZ_CHECK(same_addr(&hdr.upstream, &want.hdr.upstream));
		FUZZ_CHECK(hdr.holdtime == want.hdr.holdtime && hdr.n_groups == want.hdr.n_groups);
	}
	if (eh != PARSE_OK)
		FUZZ_CHECK(e == eh); /* the fixed part fails the same way either way */
	free(want.r);
	return 0;
}
