/* The Internet checksum (RFC 1071) and the IPv4/IPv6 pseudo-header sums. */
#include "checksum.h"

uint32_t in_cksum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	while (len >= 2) {
		sum += (uint32_t)p[0] << 8 | p[1];
		p += 2;
		len -= 2;
		/* Fold early so that any length, not only IP's 64 KiB, cannot overflow. */
		if (sum & 0x80000000u)
			sum = (sum & 0xffff) + (sum >> 16);
	}
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

uint16_t in_cksum_finish(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint32_t in_cksum_pseudo(const struct inet_addr *src, const struct inet_addr *dst,
			 uint8_t proto, uint32_t len)
{
	uint32_t sum = 0;

	sum = in_cksum_add(sum, src->bytes, inet_addr_len(src));
	sum = in_cksum_add(sum, dst->bytes, inet_addr_len(dst));
	/*
	 * Zero bytes add nothing, so both layouts reduce to: the length as 16-bit
	 * words (one word for IPv4, whose length field is 16 bits; two for IPv6's
	 * 32-bit field) plus the protocol as the low byte of a word.
	 */
	sum += len >> 16;
	sum += len & 0xffff;
	sum += proto;
	return sum;
}
