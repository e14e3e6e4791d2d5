/*
 * pim_hello_parse against a reference walk of RFC 7761 4.9.2's option list:
 * same verdict, same result field by field; and a refused Hello fills
 * nothing (parse_pim.c: nothing a parser reports is partial).
 */
#include "fuzz.h"

static bool ref_hello(const uint8_t *p, size_t len, struct pim_hello *h)
{
	size_t at = 4;

	memset(h, 0, sizeof(*h));
	if (len < 4 || p[0] != (2 << 4 | PIM_HELLO))
		return false;
	while (at < len) {
		uint16_t type, olen;

		if (len - at < 4)
			return false;
		type = be16(p + at);
		olen = be16(p + at + 2);
		at += 4;
		if (len - at < olen)
			return false;
		h->options++;
		switch (type) {
		case 1: /* Hold Time */
			if (olen != 2)
				return false;
			h->has_holdtime = true;
			h->holdtime = be16(p + at);
			break;
		case 2: /* LAN Prune Delay */
			if (olen != 4)
				return false;
			break;
		case 19: /* DR Priority */
			if (olen != 4)
				return false;
			h->has_dr_priority = true;
			h->dr_priority = be32(p + at);
			break;
		case 20: /* Generation ID */
			if (olen != 4)
				return false;
			h->has_generation_id = true;
			h->generation_id = be32(p + at);
			break;
		default:
			h->unknown_options++;
			break;
		}
		at += olen;
	}
	return true;
}

static bool same_hello(const struct pim_hello *a, const struct pim_hello *b)
{
	return a->has_holdtime == b->has_holdtime && a->has_dr_priority == b->has_dr_priority &&
	       a->has_generation_id == b->has_generation_id && a->holdtime == b->holdtime &&
	       a->dr_priority == b->dr_priority && a->generation_id == b->generation_id &&
	       a->options == b->options && a->unknown_options == b->unknown_options;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct pim_hello none;
	struct pim_hello h, want;
	bool ok = ref_hello(data, size, &want);
	enum parse_error e = pim_hello_parse(data, size, &h);

	FUZZ_CHECK(parse_error_valid(e));
	FUZZ_CHECK((e == PARSE_OK) == ok);
	FUZZ_CHECK(same_hello(&h, ok ? &want : &none));
	return 0;
}
