/*
 * The Internet checksum (RFC 1071), computed in pieces so that a pseudo-header
 * and a message can be summed without copying them together.
 *
 *	uint32_t sum = in_cksum_pseudo(&ip->src, &ip->dst, 103, len);
 *	sum = in_cksum_add(sum, msg, len);
 *	ok = in_cksum_finish(sum) == 0;   (the sum includes the checksum field)
 *
 * Every piece but the last must have an even length: a 16-bit word must not
 * straddle two pieces.  The pseudo-headers always do.
 */
#ifndef MVPN_CHECKSUM_H
#define MVPN_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

#include "../mib/addr.h"

/* Adds len bytes (big-endian 16-bit words, an odd last byte padded with zero). */
uint32_t in_cksum_add(uint32_t sum, const uint8_t *p, size_t len);

/* Folds the carries and complements: the value to put in a checksum field, or,
 * over data that includes its checksum field, 0 when that checksum is right. */
uint16_t in_cksum_finish(uint32_t sum);

/*
 * The sum of the pseudo-header an upper-layer checksum covers: for IPv4
 * (RFC 768) source, destination, zero, protocol, 16-bit length; for IPv6
 * (RFC 8200 8.1) source, destination, 32-bit upper-layer length, three zero
 * bytes, next header.  src and dst must be of the same family; an unknown
 * family contributes only proto and len (the caller refused such packets).
 */
uint32_t in_cksum_pseudo(const struct inet_addr *src, const struct inet_addr *dst,
			 uint8_t proto, uint32_t len);

#endif
