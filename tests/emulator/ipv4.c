/* IPv4 headers, the Internet checksum and the packet fingerprint. */
#include <arpa/inet.h>
#include <string.h>

#include "cursor.h"
#include "wire.h"

static uint32_t checksum_sum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;
	size_t i;
	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)((p[i] << 8) | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

uint16_t inet_checksum(const uint8_t *p, size_t len)
{
	return (uint16_t)~checksum_sum(p, len);
}

uint64_t fnv1a64(const uint8_t *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

int addr_is_multicast(uint32_t addr)
{
	return (ntohl(addr) & 0xf0000000u) == 0xe0000000u;
}

int addr_is_link_local_multicast(uint32_t addr)
{
	return (ntohl(addr) & 0xffffff00u) == 0xe0000000u;
}

static int ipv4_read_fixed(struct cursor *c, struct ipv4_view *v, uint16_t *total)
{
	uint8_t vihl, ttl, proto;
	uint16_t checksum;
	if (cur_u8(c, &vihl) || cur_u8(c, &v->tos) || cur_u16(c, total) ||
	    cur_u16(c, &v->ident) || cur_u16(c, &v->frag) || cur_u8(c, &ttl) ||
	    cur_u8(c, &proto) || cur_u16(c, &checksum) || cur_addr(c, &v->src) ||
	    cur_addr(c, &v->dst))
		return IPV4_SHORT;
	if ((vihl >> 4) != 4)
		return IPV4_VERSION;
	v->header_len = (size_t)(vihl & 0x0f) * 4;
	v->ttl = ttl;
	v->proto = proto;
	return IPV4_OK;
}

int ipv4_parse(const uint8_t *p, size_t len, struct ipv4_view *v)
{
	struct cursor c;
	uint16_t total;
	int err;

	memset(v, 0, sizeof(*v));
	cur_init(&c, p, len);
	err = ipv4_read_fixed(&c, v, &total);
	if (err)
		return err;
	if (v->header_len < 20)
		return IPV4_HEADER_LENGTH;
	if (v->header_len > len)
		return IPV4_SHORT;
	if (total < v->header_len || total > len)
		return IPV4_TOTAL_LENGTH;
	if (inet_checksum(p, v->header_len) != 0)
		return IPV4_CHECKSUM;
	v->packet = p;
	v->packet_len = total;
	v->payload = p + v->header_len;
	v->payload_len = total - v->header_len;
	return IPV4_OK;
}

const char *ipv4_error_name(int err)
{
	switch (err) {
	case IPV4_SHORT: return "short";
	case IPV4_VERSION: return "version";
	case IPV4_HEADER_LENGTH: return "header-length";
	case IPV4_TOTAL_LENGTH: return "total-length";
	case IPV4_CHECKSUM: return "checksum";
	default: return "ok";
	}
}

int ipv4_is_fragment(const struct ipv4_view *v)
{
	return (v->frag & 0x3fff) != 0; /* MF set or a non-zero offset */
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void ipv4_fix_checksum(uint8_t *h, size_t header_len)
{
	put16(h + 10, 0);
	put16(h + 10, inet_checksum(h, header_len));
}

void ipv4_write_header(uint8_t *h, size_t header_len, uint8_t tos, size_t total_len,
		       uint16_t ident, uint8_t ttl, uint8_t proto, uint32_t src, uint32_t dst)
{
	h[0] = (uint8_t)(0x40 | (header_len / 4));
	h[1] = tos;
	put16(h + 2, (uint16_t)total_len);
	put16(h + 4, ident);
	put16(h + 6, 0);
	h[8] = ttl;
	h[9] = proto;
	memcpy(h + 12, &src, 4);
	memcpy(h + 16, &dst, 4);
	ipv4_fix_checksum(h, header_len);
}
