/*
 * Shared by the fuzz harnesses (tests/fuzz/fuzz_*.c).  A harness is one
 * LLVMFuzzerTestOneInput: libFuzzer drives it under clang (make fuzz), and
 * replay.c drives it under the ordinary build over tests/fuzz/regressions/
 * (make check).  Besides not crashing, every harness checks what the
 * parser's header promises; FUZZ_CHECK aborts on a broken promise, which
 * libFuzzer reports as a crash with the input that did it.
 *
 * The reference helpers here (checksum, big-endian reads, address classes)
 * are written again on purpose rather than taken from capture/: an oracle
 * that shares the parser's code shares its bugs.
 */
#ifndef MVPN_FUZZ_H
#define MVPN_FUZZ_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/dlt.h>

#include "../../capture/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                  \
	do {                                                                              \
		if (!(cond)) {                                                            \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, \
				#cond);                                                   \
			abort();                                                          \
		}                                                                         \
	} while (0)

/* The log sink of the harnesses that run the model: nothing per input. */
static inline void fuzz_log_silent(int priority, const char *fmt, va_list ap)
{
	(void)priority, (void)fmt, (void)ap;
}

/* An address the harness writes as text. */
static inline struct inet_addr fuzz_addr(const char *text)
{
	struct inet_addr a;

	FUZZ_CHECK(inet_addr_parse(&a, text));
	return a;
}

/* [p, p + n) lies within [base, base + len). */
static inline bool fuzz_within(const uint8_t *p, size_t n, const uint8_t *base, size_t len)
{
	uintptr_t a = (uintptr_t)p, b = (uintptr_t)base;

	return a >= b && a - b <= len && n <= len - (a - b);
}

/* An exact-size heap copy: a parser handed it cannot read past n unseen
 * (ASan), which it could inside the larger buffer the slice came from. */
static inline uint8_t *fuzz_copy(const uint8_t *p, size_t n)
{
	uint8_t *q = calloc(n ? n : 1, 1);

	FUZZ_CHECK(q != NULL);
	if (n)
		memcpy(q, p, n);
	return q;
}

static inline uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* RFC 1071 one's-complement sum, 16 bits at a time. */
static inline uint64_t ref_sum(uint64_t acc, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		acc += be16(p + i);
	if (n & 1)
		acc += (uint64_t)p[n - 1] << 8;
	return acc;
}

/* A region whose checksum field is right sums to 0xffff. */
static inline bool ref_sum_ok(uint64_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return acc == 0xffff;
}

/* The pseudo-header of an upper-layer checksum (RFC 768, RFC 8200 8.1). */
static inline uint64_t ref_pseudo(const struct inet_addr *src, const struct inet_addr *dst,
				  uint8_t proto, uint32_t len)
{
	size_t n = src->type == INET_IPV4 ? 4 : 16;
	uint64_t acc = ref_sum(ref_sum(0, src->bytes, n), dst->bytes, n);

	return acc + proto + (len >> 16) + (len & 0xffff);
}

static inline bool ref_multicast(const struct inet_addr *a)
{
	return (a->type == INET_IPV4 && a->bytes[0] >= 224 && a->bytes[0] <= 239) ||
	       (a->type == INET_IPV6 && a->bytes[0] == 0xff);
}

static inline bool addr_bytes_are(const struct inet_addr *a, uint8_t type, const uint8_t *b)
{
	return a->type == type && memcmp(a->bytes, b, type == INET_IPV4 ? 4 : 16) == 0;
}

static inline bool parse_error_valid(enum parse_error e)
{
	return (unsigned)e < PARSE_ERROR_COUNT;
}

/* The link types the capture engine accepts (link_parse), and one it does
 * not; fuzz_frame and fuzz_probe take the first input byte modulo
 * FUZZ_DLT_COUNT as an index here (tests/fuzz/seeds.py writes it). */
enum {
	FUZZ_DLT_EN10MB, FUZZ_DLT_RAW, FUZZ_DLT_IPV4, FUZZ_DLT_IPV6, FUZZ_DLT_LINUX_SLL,
	FUZZ_DLT_LINUX_SLL2, FUZZ_DLT_NULL, FUZZ_DLT_LOOP, FUZZ_DLT_PPP, FUZZ_DLT_COUNT
};

static inline int fuzz_dlt(unsigned selector)
{
	static const int dlts[FUZZ_DLT_COUNT] = {
		[FUZZ_DLT_EN10MB] = DLT_EN10MB, [FUZZ_DLT_RAW] = DLT_RAW,
		[FUZZ_DLT_IPV4] = DLT_IPV4, [FUZZ_DLT_IPV6] = DLT_IPV6,
		[FUZZ_DLT_LINUX_SLL] = DLT_LINUX_SLL, [FUZZ_DLT_LINUX_SLL2] = DLT_LINUX_SLL2,
		[FUZZ_DLT_NULL] = DLT_NULL, [FUZZ_DLT_LOOP] = DLT_LOOP, [FUZZ_DLT_PPP] = DLT_PPP,
	};

	return dlts[selector % FUZZ_DLT_COUNT];
}

/* What parse.h promises of every Join/Prune record, whoever asked for it. */
static inline void fuzz_check_jp_record(const struct pim_jp_header *hdr,
					const struct pim_jp_record *rec)
{
	FUZZ_CHECK(hdr != NULL && rec != NULL);
	FUZZ_CHECK(hdr->upstream.type == INET_IPV4 || hdr->upstream.type == INET_IPV6);
	FUZZ_CHECK(rec->group.type == INET_IPV4 || rec->group.type == INET_IPV6);
	FUZZ_CHECK(rec->source.type == rec->group.type);
	FUZZ_CHECK(ref_multicast(&rec->group));
	FUZZ_CHECK(rec->group_mask_len <= (rec->group.type == INET_IPV4 ? 32 : 128));
	FUZZ_CHECK(rec->source_mask_len <= (rec->source.type == INET_IPV4 ? 32 : 128));
	FUZZ_CHECK(rec->kind == PIM_KIND_STAR_G || rec->kind == PIM_KIND_SG ||
		   rec->kind == PIM_KIND_SG_RPT);
}

#endif
