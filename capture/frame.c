/*
 * One captured frame from a default MDT: link layer, outer IP, GRE, inner IP,
 * then a class.  The class is decided from the inner IP header alone (plus,
 * for UDP to ALL-PIM-ROUTERS, the 4 port bytes): a customer's payload is
 * never read, only counted.
 */
#include <string.h>

#include "cursor.h"
#include "parse.h"

#define IPPROTO_GRE_ 47
#define IPPROTO_PIM_ 103
#define IPPROTO_UDP_ 17

static const char *const error_names[PARSE_ERROR_COUNT] = {
	[PARSE_OK] = "ok",
	[PARSE_TRUNCATED] = "truncated",
	[PARSE_BAD_VERSION] = "bad-version",
	[PARSE_BAD_LENGTH] = "bad-length",
	[PARSE_BAD_CHECKSUM] = "bad-checksum",
	[PARSE_BAD_FAMILY] = "bad-family",
	[PARSE_BAD_FLAGS] = "bad-flags",
	[PARSE_BAD_ADDRESS] = "bad-address",
	[PARSE_FRAGMENT] = "fragment",
	[PARSE_UNSUPPORTED] = "unsupported",
};

const char *parse_error_name(enum parse_error e)
{
	if ((unsigned)e >= PARSE_ERROR_COUNT || !error_names[e])
		return "unknown";
	return error_names[e];
}

/* 224.0.0.13 or ff02::d: where C-PIM and MDT Join TLVs are sent. */
static bool is_all_pim_routers(const struct inet_addr *a)
{
	static const uint8_t v4[4] = {224, 0, 0, 13};
	static const uint8_t v6[16] = {0xff, 0x02, [15] = 0x0d};

	if (a->type == INET_IPV4)
		return memcmp(a->bytes, v4, sizeof(v4)) == 0;
	if (a->type == INET_IPV6)
		return memcmp(a->bytes, v6, sizeof(v6)) == 0;
	return false;
}

/*
 * An MDT Join travels as UDP 3232 -> 3232 to ALL-PIM-ROUTERS (RFC 6037).  Only
 * the ports are read, and only for datagrams to that address, so a customer's
 * UDP is not touched; a datagram too short to hold them is not an MDT Join.
 */
static bool is_mdt_join(const struct ip_packet *inner)
{
	struct cursor c;
	uint16_t sport, dport;

	if (inner->proto != IPPROTO_UDP_ || !is_all_pim_routers(&inner->dst))
		return false;
	cursor_init(&c, inner->payload, inner->payload_len);
	if (!cursor_u16(&c, &sport) || !cursor_u16(&c, &dport))
		return false;
	return sport == MDT_JOIN_PORT && dport == MDT_JOIN_PORT;
}

/* PIM to any other destination (a unicast Register, say) is the customer's. */
static enum frame_class classify(const struct ip_packet *inner)
{
	if (inner->proto == IPPROTO_PIM_ && is_all_pim_routers(&inner->dst))
		return FRAME_PIM;
	if (is_mdt_join(inner))
		return FRAME_MDT_JOIN;
	return FRAME_CUSTOMER_DATA;
}

/* The GRE protocol type and the inner header's version must agree. */
static bool inner_matches(uint16_t gre_proto, const struct ip_packet *inner)
{
	return gre_proto == GRE_PROTO_IPV4 ? inner->src.type == INET_IPV4
					   : inner->src.type == INET_IPV6;
}

/* out->cls is meaningful only when PARSE_OK is returned. */
enum parse_error frame_parse(int dlt, const uint8_t *p, size_t len, struct frame *out)
{
	size_t off;
	enum parse_error e;

	memset(out, 0, sizeof(*out));
	out->cls = FRAME_NOT_GRE;
	if (p == NULL)
		return PARSE_TRUNCATED;
	if ((e = link_parse(dlt, p, len, &off)) != PARSE_OK)
		return e;
	e = ip_parse(p + off, len - off, &out->outer);
	if (e == PARSE_FRAGMENT) {
		e = ip_fragment_parse(p + off, len - off, &out->frag);
		out->outer_fragment = e == PARSE_OK;
		return e == PARSE_OK ? PARSE_FRAGMENT : e;
	}
	if (e != PARSE_OK)
		return e;
	if (out->outer.proto != IPPROTO_GRE_)
		return PARSE_OK;
	if ((e = gre_parse(out->outer.payload, out->outer.payload_len, &out->gre)) != PARSE_OK)
		return e;
	if (out->gre.proto != GRE_PROTO_IPV4 && out->gre.proto != GRE_PROTO_IPV6)
		return PARSE_UNSUPPORTED;
	if ((e = ip_parse(out->gre.payload, out->gre.payload_len, &out->inner)) != PARSE_OK)
		return e;
	if (!inner_matches(out->gre.proto, &out->inner))
		return PARSE_BAD_VERSION;
	out->cls = classify(&out->inner);
	return PARSE_OK;
}
