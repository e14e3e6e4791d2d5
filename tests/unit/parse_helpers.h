/*
 * Helpers shared by the parser unit tests.  Every parser is fed an exact-size
 * heap copy of its input, so that valgrind reports any read past len.
 */
#ifndef MVPN_TEST_PARSE_HELPERS_H
#define MVPN_TEST_PARSE_HELPERS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../capture/checksum.h"
#include "../../capture/parse.h"

static inline uint8_t *dup_exact(const uint8_t *p, size_t n)
{
	uint8_t *q = malloc(n);

	if (q && n)
		memcpy(q, p, n);
	return q;
}

static inline bool addr_is(const struct inet_addr *a, const char *text)
{
	struct inet_addr b;

	return inet_addr_parse(&b, text) && inet_addr_eq(a, &b);
}

/* After patching a header field, make its checksum right again so that the
 * patched field, not the checksum, is what the parser meets. */
static inline void ipv4_fix_checksum(uint8_t *hdr)
{
	uint16_t sum;

	hdr[10] = hdr[11] = 0;
	sum = in_cksum_finish(in_cksum_add(0, hdr, (size_t)(hdr[0] & 0x0f) * 4));
	hdr[10] = (uint8_t)(sum >> 8);
	hdr[11] = (uint8_t)sum;
}

#endif
