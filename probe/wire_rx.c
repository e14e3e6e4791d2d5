/*
 * What comes back to the monitor through a PE's tunnel: probes (ours, sent
 * by another PE's copy of the default MDT), echo replies from the tunnel
 * endpoint, and IGMP queries from the PE's C-side.  The layers up to the
 * inner IP header are capture/frame.c's; only the inner packet's first bytes
 * decide the kind, and a customer's datagram is never read beyond them.
 */
#include <string.h>

#include "../capture/checksum.h"
#include "../capture/cursor.h"
#include "wire.h"

#define IPPROTO_ICMP_ 1
#define IPPROTO_IGMP_ 2
#define IPPROTO_UDP_ 17

#define ICMP_ECHO_REPLY 0
#define IGMP_MEMBERSHIP_QUERY 0x11
#define IGMP_V2_QUERY_LEN 8
#define IGMP_V3_QUERY_MIN 12

/* RFC 2236 4: a v1 router's query (Max Resp Time 0) means 10 s. */
#define IGMP_V1_MAX_RESP_MS 10000
/* Max Resp Time and Code count tenths of a second. */
#define IGMP_TENTH_MS 100

static const char *const probe_error_names[] = {
	[PROBE_OK] = "ok",
	[PROBE_TRUNCATED] = "truncated",
	[PROBE_BAD_MAGIC] = "bad-magic",
	[PROBE_BAD_VERSION] = "bad-version",
	[PROBE_BAD_FAMILY] = "bad-family",
};

const char *probe_error_name(enum probe_error e)
{
	if ((unsigned)e >= sizeof(probe_error_names) / sizeof(probe_error_names[0]))
		return "unknown";
	return probe_error_names[e];
}

static bool cursor_u64(struct cursor *c, uint64_t *v)
{
	uint32_t hi = 0, lo = 0; /* cursor_has() above: both are read */

	if (!cursor_has(c, 8))
		return false;
	cursor_u32(c, &hi);
	cursor_u32(c, &lo);
	*v = (uint64_t)hi << 32 | lo;
	return true;
}

/*
 * Magic, version and family are judged as soon as they can be read, before
 * the length: a datagram that is not a probe of ours is "bad magic" however
 * short it is, and a later version may lay the rest out differently.
 */
enum probe_error probe_header_parse(const uint8_t *p, size_t len, struct probe_header *out)
{
	struct probe_header h;
	struct cursor c;
	uint32_t magic;
	uint8_t version, family, addr[16];

	memset(out, 0, sizeof(*out));
	memset(&h, 0, sizeof(h));
	cursor_init(&c, p, len);
	if (!cursor_u32(&c, &magic))
		return PROBE_TRUNCATED;
	if (magic != PROBE_MAGIC)
		return PROBE_BAD_MAGIC;
	if (!cursor_u8(&c, &version))
		return PROBE_TRUNCATED;
	if (version != PROBE_VERSION)
		return PROBE_BAD_VERSION;
	if (!cursor_u8(&c, &family))
		return PROBE_TRUNCATED;
	if (family != INET_IPV4 && family != INET_IPV6)
		return PROBE_BAD_FAMILY;
	/* The reserved bytes are ignored on receipt. */
	if (!cursor_skip(&c, 2) || !cursor_u32(&c, &h.vpn_index) || !cursor_u64(&c, &h.seq) ||
	    !cursor_u64(&c, &h.send_ns) || !cursor_bytes(&c, addr, family == INET_IPV4 ? 4 : 16))
		return PROBE_TRUNCATED;
	if (family == INET_IPV4)
		inet_addr_v4(&h.sender, addr);
	else
		inet_addr_v6(&h.sender, addr);
	*out = h;
	return PROBE_OK;
}

/* Only the destination port is read before the datagram is known to be a
 * probe: any other UDP is the customer's. */
static enum parse_error rx_udp(const struct ip_packet *inner, uint16_t probe_port,
			       struct tunnel_rx *out, enum probe_error *probe_err)
{
	struct cursor c;
	struct udp_packet udp;
	uint16_t sport, dport;
	enum parse_error e;

	cursor_init(&c, inner->payload, inner->payload_len);
	if (!cursor_u16(&c, &sport) || !cursor_u16(&c, &dport) || (probe_port && dport != probe_port) ||
	    !inet_addr_is_multicast(&inner->dst))
		return PARSE_OK;
	out->kind = TUNNEL_RX_PROBE;
	out->udp_dport = dport;
	if ((e = udp_parse(inner, &udp)) != PARSE_OK)
		return e;
	out->probe_len = udp.payload_len;
	*probe_err = probe_header_parse(udp.payload, udp.payload_len, &out->probe);
	return PARSE_OK;
}

static enum parse_error rx_icmp(const struct ip_packet *inner, struct tunnel_rx *out)
{
	struct cursor c;
	uint8_t type, code;
	uint16_t sum;

	cursor_init(&c, inner->payload, inner->payload_len);
	if (!cursor_u8(&c, &type) || type != ICMP_ECHO_REPLY)
		return PARSE_OK;
	out->kind = TUNNEL_RX_ECHO_REPLY;
	if (!cursor_u8(&c, &code) || !cursor_u16(&c, &sum) || !cursor_u16(&c, &out->echo_ident) ||
	    !cursor_u16(&c, &out->echo_seq))
		return PARSE_TRUNCATED;
	/* RFC 792: over the whole message; payload_len bytes are in the buffer. */
	if (in_cksum_finish(in_cksum_add(0, inner->payload, inner->payload_len)) != 0)
		return PARSE_BAD_CHECKSUM;
	return PARSE_OK;
}

/* RFC 3376 4.1.1: below 128 the code is the time; above, a float with a 3-bit
 * exponent and a 4-bit mantissa.  Both count tenths of a second. */
static uint32_t igmpv3_max_resp_ms(uint8_t code)
{
	uint32_t tenths;

	if (code < 128)
		tenths = code;
	else
		tenths = (uint32_t)((code & 0x0f) | 0x10) << (((code >> 4) & 0x07) + 3);
	return tenths * IGMP_TENTH_MS;
}

/* The v3 fields after the group: flags, QQIC, and the sources they count,
 * which must all be there even though they are not kept. */
static bool igmpv3_sources_fit(struct cursor *c)
{
	uint16_t n_sources;

	return cursor_skip(c, 2) && cursor_u16(c, &n_sources) &&
	       cursor_skip(c, (size_t)n_sources * 4);
}

static enum parse_error rx_igmp(const struct ip_packet *inner, struct tunnel_rx *out)
{
	struct cursor c;
	uint8_t type, code, group[4];
	size_t len = inner->payload_len;

	cursor_init(&c, inner->payload, len);
	if (!cursor_u8(&c, &type) || type != IGMP_MEMBERSHIP_QUERY)
		return PARSE_OK;
	out->kind = TUNNEL_RX_IGMP_QUERY;
	if (!cursor_u8(&c, &code) || !cursor_skip(&c, 2) || !cursor_bytes(&c, group, 4))
		return PARSE_TRUNCATED;
	/* RFC 3376 4.1.10: the checksum covers the whole message, extra octets too. */
	if (in_cksum_finish(in_cksum_add(0, inner->payload, len)) != 0)
		return PARSE_BAD_CHECKSUM;
	/* RFC 3376 7.1: the version is told by the length (and v1 from v2 by the
	 * code); any other length "MUST be silently ignored". */
	if (len == IGMP_V2_QUERY_LEN) {
		out->igmp_version = code ? 2 : 1;
		out->max_resp_ms = code ? (uint32_t)code * IGMP_TENTH_MS : IGMP_V1_MAX_RESP_MS;
	} else if (len >= IGMP_V3_QUERY_MIN) {
		if (!igmpv3_sources_fit(&c))
			return PARSE_TRUNCATED;
		out->igmp_version = 3;
		out->max_resp_ms = igmpv3_max_resp_ms(code);
	} else {
		return PARSE_BAD_LENGTH;
	}
	inet_addr_v4(&out->query_group, group);
	/* 0.0.0.0 is a general query; anything else names a group. */
	if (memcmp(group, "\0\0\0\0", 4) != 0 && !inet_addr_is_multicast(&out->query_group))
		return PARSE_BAD_ADDRESS;
	return PARSE_OK;
}

enum parse_error tunnel_rx_parse(int dlt, const uint8_t *p, size_t len, uint16_t probe_port,
				 struct tunnel_rx *out, enum probe_error *probe_err)
{
	enum probe_error unused;
	struct frame f;
	enum parse_error e;

	if (!probe_err)
		probe_err = &unused;
	*probe_err = PROBE_OK;
	memset(out, 0, sizeof(*out));
	out->kind = TUNNEL_RX_OTHER;
	e = frame_parse(dlt, p, len, &f);
	/* frame_parse keeps the outer header whenever it was valid: errors
	 * inside the tunnel can then be charged to the PE. */
	out->outer_src = f.outer.src;
	if (e != PARSE_OK)
		return e;
	if (f.cls == FRAME_NOT_GRE)
		return PARSE_UNSUPPORTED;
	out->inner_src = f.inner.src;
	out->inner_dst = f.inner.dst;
	if (f.inner.src.type != INET_IPV4)
		return PARSE_OK; /* an IPv6 C-instance's data: the probes are IPv4 */
	switch (f.inner.proto) {
	case IPPROTO_UDP_:
		return rx_udp(&f.inner, probe_port, out, probe_err);
	case IPPROTO_ICMP_:
		return rx_icmp(&f.inner, out);
	case IPPROTO_IGMP_:
		return rx_igmp(&f.inner, out);
	default:
		return PARSE_OK;
	}
}
