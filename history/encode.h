/*
 * The compact encoding both history backends store (schema.md has the byte
 * layouts): a change's previous and current values as a short byte string
 * (absent, stored as NULL, when present is 0), addresses as their 4 or 16
 * raw bytes (absent for type 0), and a whole checkpoint as one blob with a
 * versioned header.  Pure functions: no global state; decoders take
 * (p, len), check the length before every read and reject what does not
 * add up exactly (trailing bytes included).
 */
#ifndef MVPN_HIST_ENCODE_H
#define MVPN_HIST_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "../mib/addr.h"
#include "../mib/changelog.h"
#include "record.h"

/* The longest encoded change value (a PE value with an IPv6 C-address). */
#define HIST_VALUE_MAX 48

/* The checkpoint blob's first bytes and version. */
#define HIST_CP_MAGIC "MVCK"
#define HIST_CP_VERSION 1

/* A change value of `kind` into out (HIST_VALUE_MAX bytes).  Returns its
 * length, 0 when !v->present (store NULL), or -1 for a kind it does not
 * know. */
int hist_value_encode(uint8_t kind, const union change_value *v, uint8_t *out);
/* The inverse: len 0 (NULL) gives present 0.  0, or -1 when the bytes are
 * not a value of `kind`. */
int hist_value_decode(uint8_t kind, const uint8_t *p, size_t len, union change_value *v);

/* An address column: its bytes (into a's own storage) and their count, 0
 * for type 0 (store NULL). */
static inline size_t hist_addr_bytes(const struct inet_addr *a, const uint8_t **bytes)
{
	*bytes = a->bytes;
	return inet_addr_len(a);
}
/* 0 bytes: type 0; 4: IPv4; 16: IPv6; anything else -1. */
int hist_addr_decode(const uint8_t *p, size_t len, struct inet_addr *a);

/* The checkpoint as one blob in *out (malloc, the caller's).  0, or -1 when
 * out of memory or a row does not fit the format (a name over 64 bytes). */
int hist_checkpoint_encode(const struct hist_checkpoint *cp, uint8_t **out, size_t *len);
/* A blob back into a checkpoint (*out the caller's, hist_checkpoint_free).
 * 0, or -1: truncated, wrong magic or version, counts the bytes cannot
 * hold, a bad value, bytes left over, or out of memory. */
int hist_checkpoint_decode(const uint8_t *p, size_t len, struct hist_checkpoint **out);

/* ---- change blocks: consecutive changes of one monitor as one blob ----
 * (schema.md, "Change blocks").  A block's row holds first_seq, last_seq,
 * the change count and the least and greatest when_ns; its body the
 * changes in seq order, each relative to the one before it. */

/* The longest change record in a block body. */
#define HIST_CHANGE_MAX 224

/* Change r (HIST_CHANGE) as the record following a change at (prev_seq,
 * prev_when), or for the first of a block (first_seq, t_min), into out
 * (HIST_CHANGE_MAX bytes).  Returns its length, or -1: a value encode.c
 * refuses, or a seq below prev_seq. */
int hist_change_encode(const struct hist_record *r, uint64_t prev_seq, uint64_t prev_when,
		       uint8_t *out);

/* Reading a block body, a change at a time; never allocates. */
struct hist_block_rd {
	const uint8_t *p;
	size_t len, off;
	uint64_t seq, when;           /* the last change read (first: first_seq, t_min) */
	uint64_t last_seq, t_min, t_max;
	uint64_t left;                /* changes still to read */
};

void hist_block_start(struct hist_block_rd *b, const uint8_t *p, size_t len, uint64_t first_seq,
		      uint64_t last_seq, uint64_t t_min, uint64_t t_max, uint64_t n);
/* 1 with the next change in *rec; 0 at the end, which must be the body's
 * end after n changes, the last one at last_seq; -1 when the bytes are not
 * such a block (a short or long body, a time outside [t_min, t_max], a seq
 * going back or past last_seq, a value that does not decode). */
int hist_block_next(struct hist_block_rd *b, struct hist_record *rec);

#endif
