/* Internet addresses as the MIB sees them: an InetAddressType plus 0, 4 or 16 bytes. */
#ifndef MVPN_ADDR_H
#define MVPN_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Values are INET-ADDRESS-MIB's InetAddressType, so they go on the wire unchanged. */
enum inet_type { INET_UNKNOWN = 0, INET_IPV4 = 1, INET_IPV6 = 2 };

struct inet_addr {
	uint8_t type;      /* enum inet_type */
	uint8_t bytes[16]; /* network order; only inet_addr_len() of them are meaningful */
};

#define INET_ADDR_STRLEN 46 /* INET6_ADDRSTRLEN */

static inline size_t inet_addr_len(const struct inet_addr *a)
{
	return a->type == INET_IPV4 ? 4 : a->type == INET_IPV6 ? 16 : 0;
}

void inet_addr_v4(struct inet_addr *a, const uint8_t bytes[4]);
void inet_addr_v6(struct inet_addr *a, const uint8_t bytes[16]);
/* Parses dotted-quad or RFC 4291 text. Returns false (and leaves *a unknown) otherwise. */
bool inet_addr_parse(struct inet_addr *a, const char *text);
/* Writes "" for an unknown address. Returns buf. */
const char *inet_addr_format(const struct inet_addr *a, char buf[INET_ADDR_STRLEN]);
bool inet_addr_is_multicast(const struct inet_addr *a);
/* In the source-specific multicast range: 232/8 and FF3x::/32 (RFC 4607 1). */
bool inet_addr_is_ssm(const struct inet_addr *a);
bool inet_addr_is_unicast(const struct inet_addr *a); /* neither multicast, unspecified, nor broadcast */
/*
 * The order of SNMP index OIDs: type, then length, then bytes (the type
 * decides the length, so comparing types first orders lengths too).  Inline,
 * with IPv4 compared as one number: every lookup in the model and in the
 * engines compares addresses, and a call to memcmp for 4 bytes was the
 * larger part of each comparison.
 */
static inline int inet_addr_cmp(const struct inet_addr *a, const struct inet_addr *b)
{
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	if (a->type == INET_IPV4) {
		uint32_t x = (uint32_t)a->bytes[0] << 24 | (uint32_t)a->bytes[1] << 16 |
			     (uint32_t)a->bytes[2] << 8 | a->bytes[3];
		uint32_t y = (uint32_t)b->bytes[0] << 24 | (uint32_t)b->bytes[1] << 16 |
			     (uint32_t)b->bytes[2] << 8 | b->bytes[3];
		return x < y ? -1 : x > y;
	}
	return memcmp(a->bytes, b->bytes, inet_addr_len(a));
}

static inline bool inet_addr_eq(const struct inet_addr *a, const struct inet_addr *b)
{
	return inet_addr_cmp(a, b) == 0;
}

#endif
