/*
 * The active engine's receive side (probe/wire.h).  The first input byte
 * chooses: even, probe_header_parse on the rest; odd, tunnel_rx_parse with
 * link type fuzz_dlt((byte >> 1) & 0x3f), probe port from the next two bytes
 * (0: any) and the frame after them; the byte's top bit asks for
 * fuzz_fix_checksums first.
 *
 * probe_header_parse is compared with a reference decoder, error for error
 * (the header fixes their order).  tunnel_rx_parse must agree with
 * frame_parse on the layers they share, and its kind and fields with a
 * reference reading of the inner packet: UDP probes (the probe header
 * re-parsed from an exact copy of the UDP payload), ICMP echo replies and
 * IGMP queries (RFC 2236/3376 7.1 versions, lengths, Max Resp Code).
 */
#include "fixup.h"

#include "../../probe/wire.h"

static enum probe_error ref_probe(const uint8_t *p, size_t len, struct probe_header *h)
{
	memset(h, 0, sizeof(*h));
	if (len < 4)
		return PROBE_TRUNCATED;
	if (be32(p) != PROBE_MAGIC)
		return PROBE_BAD_MAGIC;
	if (len < 5)
		return PROBE_TRUNCATED;
	if (p[4] != PROBE_VERSION)
		return PROBE_BAD_VERSION;
	if (len < 6)
		return PROBE_TRUNCATED;
	if (p[5] != INET_IPV4 && p[5] != INET_IPV6)
		return PROBE_BAD_FAMILY;
	if (len < (size_t)PROBE_FIXED_LEN + (p[5] == INET_IPV4 ? 4 : 16))
		return PROBE_TRUNCATED;
	h->vpn_index = be32(p + 8);
	h->seq = be64(p + 12);
	h->send_ns = be64(p + 20);
	h->sender.type = p[5];
	memcpy(h->sender.bytes, p + 28, p[5] == INET_IPV4 ? 4 : 16);
	return PROBE_OK;
}

static bool same_addr(const struct inet_addr *a, const struct inet_addr *b)
{
	return a->type == b->type && memcmp(a->bytes, b->bytes, inet_addr_len(a)) == 0;
}

static bool same_probe(const struct probe_header *a, const struct probe_header *b)
{
	return a->vpn_index == b->vpn_index && a->seq == b->seq && a->send_ns == b->send_ns &&
	       (a->sender.type == INET_UNKNOWN ? b->sender.type == INET_UNKNOWN
					       : same_addr(&a->sender, &b->sender));
}

static void check_probe_header(const uint8_t *p, size_t len)
{
	struct probe_header h, want;
	enum probe_error e = probe_header_parse(p, len, &h);

	FUZZ_CHECK(e == ref_probe(p, len, &want));
	FUZZ_CHECK(same_probe(&h, &want));
	if (e == PROBE_OK)
		FUZZ_CHECK(probe_header_len(&h.sender) <= len);
}

/* A probe: UDP to a multicast group and the port; its payload re-parsed
 * from an exact copy must give what tunnel_rx_parse said. */
static void check_rx_probe(const struct ip_packet *inner, uint16_t port, enum parse_error e,
			   const struct tunnel_rx *rx, enum probe_error perr)
{
	struct udp_packet udp;
	struct probe_header want;
	uint8_t *copy;

	FUZZ_CHECK(inner->payload_len >= 4 && ref_multicast(&inner->dst));
	FUZZ_CHECK(rx->udp_dport == be16(inner->payload + 2));
	FUZZ_CHECK(port == 0 || rx->udp_dport == port);
	FUZZ_CHECK(e == udp_parse(inner, &udp));
	if (e != PARSE_OK) {
		FUZZ_CHECK(perr == PROBE_OK);
		return;
	}
	FUZZ_CHECK(rx->probe_len == udp.payload_len);
	copy = fuzz_copy(udp.payload, udp.payload_len);
	FUZZ_CHECK(perr == ref_probe(copy, udp.payload_len, &want));
	FUZZ_CHECK(same_probe(&rx->probe, &want));
	free(copy);
}

static uint32_t ref_max_resp_ms(uint8_t code)
{
	uint32_t tenths = code;

	if (code >= 128) /* RFC 3376 4.1.1: exp = bits 4-6, mant = bits 0-3 */
		tenths = ((uint32_t)(code & 0x0f) | 0x10) << (((code >> 4) & 0x07) + 3);
	return tenths * 100;
}

static void check_rx_igmp(const struct ip_packet *inner, enum parse_error e,
			  const struct tunnel_rx *rx)
{
	const uint8_t *p = inner->payload;
	size_t n = inner->payload_len;
	bool ok = n >= 8 && ref_sum_ok(ref_sum(0, p, n));

	if (ok && n != 8)
		ok = n >= 12 && 12 + (size_t)be16(p + 10) * 4 <= n;
	if (ok)
		ok = be32(p + 4) == 0 || (p[4] >= 224 && p[4] <= 239);
	FUZZ_CHECK((e == PARSE_OK) == ok);
	if (!ok)
		return;
	FUZZ_CHECK(rx->igmp_version == (n == 8 ? (p[1] ? 2 : 1) : 3));
	FUZZ_CHECK(rx->max_resp_ms == (n != 8 ? ref_max_resp_ms(p[1]) : p[1] ? p[1] * 100u : 10000u));
	FUZZ_CHECK(rx->query_group.type == INET_IPV4 &&
		   memcmp(rx->query_group.bytes, p + 4, 4) == 0);
}

static void check_tunnel_rx(int dlt, uint16_t port, const uint8_t *p, size_t len)
{
	struct tunnel_rx rx, rx2;
	struct frame f;
	enum probe_error perr;
	enum parse_error e = tunnel_rx_parse(dlt, p, len, port, &rx, &perr);
	enum parse_error ef = frame_parse(dlt, p, len, &f);
	const struct ip_packet *in = &f.inner;

	FUZZ_CHECK(parse_error_valid(e));
	FUZZ_CHECK(rx.kind <= TUNNEL_RX_OTHER && (unsigned)perr <= PROBE_BAD_FAMILY);
	FUZZ_CHECK(rx.kind == TUNNEL_RX_PROBE || perr == PROBE_OK);
	/* probe_err may be NULL: the same answer without it. */
	FUZZ_CHECK(tunnel_rx_parse(dlt, p, len, port, &rx2, NULL) == e && rx2.kind == rx.kind);
	FUZZ_CHECK(same_addr(&rx.outer_src, &f.outer.src));
	if (ef != PARSE_OK || f.cls == FRAME_NOT_GRE) {
		FUZZ_CHECK(e == (ef != PARSE_OK ? ef : PARSE_UNSUPPORTED));
		FUZZ_CHECK(rx.kind == TUNNEL_RX_OTHER);
		return;
	}
	FUZZ_CHECK(same_addr(&rx.inner_src, &in->src) && same_addr(&rx.inner_dst, &in->dst));
	if (in->src.type != INET_IPV4) {
		FUZZ_CHECK(e == PARSE_OK && rx.kind == TUNNEL_RX_OTHER);
		return;
	}
	switch (rx.kind) {
	case TUNNEL_RX_PROBE:
		FUZZ_CHECK(in->proto == 17);
		check_rx_probe(in, port, e, &rx, perr);
		break;
	case TUNNEL_RX_ECHO_REPLY:
		FUZZ_CHECK(in->proto == 1 && in->payload_len >= 1 && in->payload[0] == 0);
		FUZZ_CHECK((e == PARSE_OK) ==
			   (in->payload_len >= 8 && ref_sum_ok(ref_sum(0, in->payload, in->payload_len))));
		if (e == PARSE_OK)
			FUZZ_CHECK(rx.echo_ident == be16(in->payload + 4) &&
				   rx.echo_seq == be16(in->payload + 6));
		break;
	case TUNNEL_RX_IGMP_QUERY:
		FUZZ_CHECK(in->proto == 2 && in->payload_len >= 1 && in->payload[0] == 0x11);
		check_rx_igmp(in, e, &rx);
		break;
	case TUNNEL_RX_OTHER:
		FUZZ_CHECK(e == PARSE_OK);
		/* Not a probe, an echo reply or a query: say why it is none of them. */
		if (in->proto == 17)
			FUZZ_CHECK(in->payload_len < 4 || !ref_multicast(&in->dst) ||
				   (port && be16(in->payload + 2) != port));
		if (in->proto == 1)
			FUZZ_CHECK(in->payload_len < 1 || in->payload[0] != 0);
		if (in->proto == 2)
			FUZZ_CHECK(in->payload_len < 1 || in->payload[0] != 0x11);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (!(data[0] & 1)) {
		check_probe_header(data + 1, size - 1);
		return 0;
	}
	if (size < 3)
		return 0;
	int dlt = fuzz_dlt((data[0] >> 1) & 0x3f);
	uint8_t *p = fuzz_copy(data + 3, size - 3);

	if (data[0] & 0x80)
		fuzz_fix_checksums(dlt, p, size - 3);
	check_tunnel_rx(dlt, be16(data + 1), p, size - 3);
	free(p);
	return 0;
}
