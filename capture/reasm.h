/*
 * Reassembly of outer IP datagrams from their fragments (RFC 791 3.2,
 * RFC 8200 4.5).  A provider network fragments GRE: a full-size C-PIM packet
 * plus 24 bytes of outer headers no longer fits its MTU.
 *
 * Datagrams are keyed by (src, dst, id, proto).  The table is bounded in
 * datagrams and in bytes held; a fragment that would pass a bound is refused,
 * never someone else's datagram evicted.  A datagram not complete
 * REASM_TIMEOUT after its first fragment arrived is abandoned (RFC 8200's
 * 60 s, within RFC 791's bound), on the model's clock, so a replay times out
 * as live capture did.  Overlapping fragments abandon the datagram (RFC 5722
 * for IPv6; for IPv4 too, since an overlap is how a datagram is made to say
 * two things); an exact duplicate (every byte already held, the same) is
 * dropped and the datagram kept, as RFC 8200 4.5 allows.
 *
 * No I/O, no global state; times are passed in.
 */
#ifndef MVPN_REASM_H
#define MVPN_REASM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "../mib/clock.h"
#include "parse.h"

#define REASM_TIMEOUT (60 * MTIME_SEC)
#define REASM_MAX_DATAGRAMS 256
/* The bytes of datagram buffers held at once: 64 datagrams of the largest size. */
#define REASM_MAX_BYTES (64u * 65536u)

enum reasm_result {
	REASM_PENDING,   /* kept; the datagram is not complete yet */
	REASM_DONE,      /* the datagram is whole: see reasm_add */
	REASM_DUPLICATE, /* an exact duplicate of bytes held: dropped, the datagram kept */
	REASM_BAD,       /* overlaps or contradicts what was held: the datagram abandoned */
	REASM_FULL,      /* a bound was reached: the fragment refused */
};

struct reasm_datagram;

struct reasm {
	TAILQ_HEAD(, reasm_datagram) by_age; /* oldest first */
	size_t n_datagrams;
	size_t bytes;       /* buffers held, datagram headers included */
	size_t max_datagrams, max_bytes;
	mtime_t timeout;
	uint8_t *done;      /* the last datagram completed; owned */
	size_t done_len;
};

void reasm_init(struct reasm *r, size_t max_datagrams, size_t max_bytes, mtime_t timeout);
void reasm_free(struct reasm *r);

/* Abandons every datagram whose first fragment came more than the timeout
 * before now; returns how many. */
size_t reasm_expire(struct reasm *r, mtime_t now);

/*
 * Adds one fragment (from ip_fragment_parse) at time now, after expiring
 * what has timed out (counted in *timeouts).  On REASM_DONE, *out and *out_len
 * hold the whole datagram, a valid IPv4 or IPv6 packet (the first fragment's
 * header, lengths and checksum rewritten; IPv6: the fixed header, then the
 * fragmentable part), valid until the next call on r.  An atomic fragment
 * (IPv6, offset 0 and no more, RFC 6946) is DONE at once, with no state.
 */
enum reasm_result reasm_add(struct reasm *r, const struct ip_fragment *f, mtime_t now,
			    size_t *timeouts, const uint8_t **out, size_t *out_len);

#endif
