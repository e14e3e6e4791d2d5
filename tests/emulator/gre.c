/* GRE as RFC 2784 defines it, with the optional key and sequence number of
 * RFC 2890 accepted and ignored; a present checksum is verified. */
#include <string.h>

#include "cursor.h"
#include "wire.h"

#define GRE_C 0x8000u
#define GRE_R 0x4000u      /* RFC 1701 routing: unsupported */
#define GRE_K 0x2000u
#define GRE_S 0x1000u
#define GRE_SSR 0x0800u    /* RFC 1701 strict source route: unsupported */
#define GRE_RECUR0 0x0400u /* bit 5: RFC 2784 says discard when set */
#define GRE_VERSION_MASK 0x0007u

int gre_parse(const uint8_t *p, size_t len, struct gre_view *v)
{
	struct cursor c;
	memset(v, 0, sizeof(*v));
	cur_init(&c, p, len);
	if (cur_u16(&c, &v->flags_version) || cur_u16(&c, &v->proto))
		return GRE_SHORT;
	if (v->flags_version & GRE_VERSION_MASK)
		return GRE_VERSION;
	if (v->flags_version & (GRE_R | GRE_SSR | GRE_RECUR0))
		return GRE_FLAGS;
	v->has_checksum = (v->flags_version & GRE_C) != 0;
	v->has_key = (v->flags_version & GRE_K) != 0;
	v->has_seq = (v->flags_version & GRE_S) != 0;
	if (v->has_checksum && cur_skip(&c, 4)) /* checksum + reserved1 */
		return GRE_SHORT;
	if (v->has_key && cur_u32(&c, &v->key))
		return GRE_SHORT;
	if (v->has_seq && cur_u32(&c, &v->seq))
		return GRE_SHORT;
	if (v->has_checksum && inet_checksum(p, len) != 0)
		return GRE_CHECKSUM;
	v->payload = cur_here(&c);
	v->payload_len = cur_left(&c);
	return GRE_OK;
}

const char *gre_error_name(int err)
{
	switch (err) {
	case GRE_SHORT: return "gre-short";
	case GRE_VERSION: return "gre-version";
	case GRE_FLAGS: return "gre-flags";
	case GRE_CHECKSUM: return "gre-checksum";
	default: return "ok";
	}
}

size_t gre_encapsulate(uint8_t *out, size_t cap, uint32_t src, uint32_t dst, uint16_t ident,
		       const uint8_t *inner, size_t inner_len)
{
	size_t total = OUTER_HEADER_LEN + inner_len;
	if (total > cap || total > 0xffff)
		return 0;
	ipv4_write_header(out, 20, 0, total, ident, 64, IPPROTO_NUM_GRE, src, dst);
	out[20] = 0;
	out[21] = 0;
	out[22] = (uint8_t)(ETHERTYPE_IPV4 >> 8);
	out[23] = (uint8_t)ETHERTYPE_IPV4;
	memcpy(out + OUTER_HEADER_LEN, inner, inner_len);
	return total;
}
