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

#endif
