/* BMP version 3 (RFC 7854): framing and the message kinds a collector reads. */
#include "bmp.h"

#include "../capture/cursor.h"

enum bgp_error bmp_frame(const uint8_t *p, size_t len, uint32_t *msg_len)
{
	struct cursor c;
	uint8_t version;

	cursor_init(&c, p, len);
	if (!cursor_has(&c, BMP_COMMON_LEN))
		return BGP_TRUNCATED;
	cursor_u8(&c, &version);
	cursor_u32(&c, msg_len);
	if (version != BMP_VERSION)
		return BGP_BAD_VERSION; /* RFC 7854 4.1: version 3 */
	if (*msg_len < BMP_COMMON_LEN || *msg_len > BMP_MAX_MSG)
		return BGP_BAD_LENGTH;
	return BGP_OK;
}

static bool carries_peer(uint8_t type)
{
	return type <= BMP_PEER_UP || type == BMP_ROUTE_MIRRORING;
}

/* RFC 7854 4.2: an IPv4 peer address sits in the last 4 of 16 bytes. */
static bool peer_header(struct cursor *c, struct bmp_peer_hdr *h)
{
	uint8_t a[16];
	uint32_t hi, lo;

	if (!cursor_u8(c, &h->type) || !cursor_u8(c, &h->flags) || !cursor_u32(c, &hi) ||
	    !cursor_u32(c, &lo) || !cursor_bytes(c, a, 16) || !cursor_u32(c, &h->as) ||
	    !cursor_u32(c, &h->bgp_id) || !cursor_u32(c, &h->ts_sec) || !cursor_u32(c, &h->ts_usec))
		return false;
	h->distinguisher = (uint64_t)hi << 32 | lo;
	if (h->flags & BMP_PEER_FLAG_V)
		inet_addr_v6(&h->addr, a);
	else
		inet_addr_v4(&h->addr, a + 12);
	return true;
}

enum bgp_error bmp_parse(const uint8_t *p, size_t len, struct bmp_msg *out)
{
	struct cursor c;
	uint32_t msg_len;
	enum bgp_error e;

	memset(out, 0, sizeof(*out));
	if ((e = bmp_frame(p, len, &msg_len)) != BGP_OK)
		return e;
	if (msg_len != len)
		return BGP_BAD_LENGTH;
	cursor_init(&c, p, len);
	cursor_skip(&c, 5);
	cursor_u8(&c, &out->type);
	out->has_peer = carries_peer(out->type);
	if (out->has_peer && !peer_header(&c, &out->peer))
		return BGP_TRUNCATED;
	out->body = cursor_here(&c);
	out->body_len = cursor_left(&c);
	return BGP_OK;
}

/* Information TLVs: type (2), length (2), value (RFC 7854 4.4). */
enum bgp_error bmp_info_parse(const struct bmp_msg *m, struct bmp_info *out)
{
	struct cursor c, v;
	uint16_t type, len;
	bool term = m->type == BMP_TERMINATION;

	memset(out, 0, sizeof(*out));
	if (m->type != BMP_INITIATION && !term)
		return BGP_BAD_TYPE;
	cursor_init(&c, m->body, m->body_len);
	while (cursor_left(&c) > 0) {
		if (!cursor_u16(&c, &type) || !cursor_u16(&c, &len) || !cursor_sub(&c, len, &v))
			return BGP_TRUNCATED;
		if (type == 0) {
			out->strings++;
		} else if (term && type == 1) { /* 4.5: Reason, 2 bytes */
			if (len != 2)
				return BGP_BAD_LENGTH;
			cursor_u16(&v, &out->reason);
			out->has_reason = true;
		} else if (!term && type == 1) { /* 4.4: sysDescr */
			out->sys_descr = cursor_here(&v), out->sys_descr_len = len;
		} else if (!term && type == 2) { /* 4.4: sysName */
			out->sys_name = cursor_here(&v), out->sys_name_len = len;
		}
	}
	return BGP_OK;
}

/* A BGP message inside c: its header's length says how far it goes. */
static enum bgp_error bgp_pdu(struct cursor *c, const uint8_t **p, size_t *len)
{
	struct cursor h = *c;
	uint16_t blen;

	if (!cursor_skip(&h, 16) || !cursor_u16(&h, &blen))
		return BGP_TRUNCATED;
	if (blen < BGP_HEADER_LEN)
		return BGP_BAD_LENGTH;
	*p = cursor_here(c);
	*len = blen;
	return cursor_skip(c, blen) ? BGP_OK : BGP_TRUNCATED;
}

enum bgp_error bmp_peer_up_parse(const struct bmp_msg *m, struct bmp_peer_up *out)
{
	struct cursor c;
	uint8_t a[16];
	const uint8_t *pdu;
	size_t plen;
	enum bgp_error e;

	memset(out, 0, sizeof(*out));
	if (m->type != BMP_PEER_UP)
		return BGP_BAD_TYPE;
	cursor_init(&c, m->body, m->body_len);
	if (!cursor_bytes(&c, a, 16) || !cursor_u16(&c, &out->local_port) ||
	    !cursor_u16(&c, &out->remote_port))
		return BGP_TRUNCATED;
	if (m->peer.flags & BMP_PEER_FLAG_V)
		inet_addr_v6(&out->local, a);
	else
		inet_addr_v4(&out->local, a + 12);
	if ((e = bgp_pdu(&c, &pdu, &plen)) != BGP_OK ||
	    (e = bgp_open_parse(pdu, plen, &out->sent)) != BGP_OK)
		return e;
	if ((e = bgp_pdu(&c, &pdu, &plen)) != BGP_OK ||
	    (e = bgp_open_parse(pdu, plen, &out->received)) != BGP_OK)
		return e;
	return BGP_OK; /* information TLVs may follow (4.10): not read */
}

enum bgp_error bmp_peer_down_parse(const struct bmp_msg *m, struct bmp_peer_down *out)
{
	struct cursor c;
	const uint8_t *pdu;
	size_t plen;
	enum bgp_error e;

	memset(out, 0, sizeof(*out));
	if (m->type != BMP_PEER_DOWN)
		return BGP_BAD_TYPE;
	cursor_init(&c, m->body, m->body_len);
	if (!cursor_u8(&c, &out->reason))
		return BGP_TRUNCATED;
	switch (out->reason) {
	case 1: /* local system closed, NOTIFICATION follows */
	case 3: /* remote system closed, NOTIFICATION follows */
		if ((e = bgp_pdu(&c, &pdu, &plen)) != BGP_OK ||
		    (e = bgp_header_check(pdu, plen, BGP_MSG_NOTIFICATION)) != BGP_OK)
			return e;
		if (plen < BGP_HEADER_LEN + 2)
			return BGP_BAD_LENGTH; /* RFC 4271 4.5: code and subcode */
		out->code = pdu[BGP_HEADER_LEN], out->subcode = pdu[BGP_HEADER_LEN + 1];
		return BGP_OK;
	case 2: /* local system closed, the FSM event (2 bytes) */
		return cursor_u16(&c, &out->fsm_event) ? BGP_OK : BGP_TRUNCATED;
	case 4: /* remote closed without a NOTIFICATION */
	case 5: /* peer de-configured */
		return BGP_OK;
	default:
		return BGP_OK; /* later reasons (RFC 9069 ...): the peer is down all the same */
	}
}

/* 4.8: types 0-6 and 11-13 are 32-bit counters; 7, 8 64-bit gauges; 9, 10
 * and 14-17 an AFI/SAFI before a 64-bit gauge (RFC 8671 adds 14-17). */
static size_t stat_size(uint16_t type)
{
	if (type <= 6 || (type >= 11 && type <= 13))
		return 4;
	if (type == 7 || type == 8)
		return 8;
	if (type == 9 || type == 10 || (type >= 14 && type <= 17))
		return 11;
	return 0; /* unknown: any length */
}

enum bgp_error bmp_stats_parse(const struct bmp_msg *m, struct bmp_stats *out)
{
	struct cursor c, v;
	uint16_t type, len;
	uint32_t v32;

	memset(out, 0, sizeof(*out));
	if (m->type != BMP_STATISTICS)
		return BGP_BAD_TYPE;
	cursor_init(&c, m->body, m->body_len);
	if (!cursor_u32(&c, &out->count))
		return BGP_TRUNCATED;
	for (uint32_t i = 0; i < out->count; i++) {
		if (!cursor_u16(&c, &type) || !cursor_u16(&c, &len) || !cursor_sub(&c, len, &v))
			return BGP_TRUNCATED;
		size_t want = stat_size(type);
		if (want && len != want)
			return BGP_BAD_LENGTH;
		if (type >= BMP_STAT_KEPT)
			continue;
		out->seen |= 1u << type;
		/* v holds exactly 4 or 8 bytes here: these reads cannot fail. */
		out->value[type] = cursor_u32(&v, &v32) ? v32 : 0;
		if (want == 8 && cursor_u32(&v, &v32))
			out->value[type] = out->value[type] << 32 | v32;
	}
	return cursor_left(&c) == 0 ? BGP_OK : BGP_BAD_LENGTH;
}

enum bgp_error bmp_route_monitoring(const struct bmp_msg *m, const uint8_t **update, size_t *len)
{
	struct cursor c;
	enum bgp_error e;

	if (m->type != BMP_ROUTE_MONITORING)
		return BGP_BAD_TYPE;
	cursor_init(&c, m->body, m->body_len);
	if ((e = bgp_pdu(&c, update, len)) != BGP_OK)
		return e;
	/* RFC 7854 4.6: one BGP UPDATE PDU (TLVs after it are a later draft's). */
	return cursor_left(&c) == 0 ? BGP_OK : BGP_BAD_LENGTH;
}
