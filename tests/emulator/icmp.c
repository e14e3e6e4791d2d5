/* ICMP echo: what a PE answers to the monitor's round-trip measurements. */
#include <string.h>

#include "cursor.h"
#include "wire.h"

#define ICMP_ECHO_REPLY 0
#define ICMP_ECHO_REQUEST 8
#define REPLY_TTL 64

int icmp_parse_echo_request(const uint8_t *p, size_t len, struct echo_view *v)
{
	struct cursor c;
	uint8_t type, code;
	uint16_t checksum;

	memset(v, 0, sizeof(*v));
	cur_init(&c, p, len);
	if (cur_u8(&c, &type) || cur_u8(&c, &code) || cur_u16(&c, &checksum) ||
	    cur_u16(&c, &v->ident) || cur_u16(&c, &v->seq))
		return ICMP_SHORT;
	if (inet_checksum(p, len) != 0)
		return ICMP_CHECKSUM;
	if (type != ICMP_ECHO_REQUEST)
		return ICMP_NOT_ECHO_REQUEST;
	v->message = p;
	v->message_len = len;
	return ICMP_OK;
}

const char *icmp_error_name(int err)
{
	switch (err) {
	case ICMP_SHORT: return "icmp-short";
	case ICMP_CHECKSUM: return "icmp-checksum";
	case ICMP_NOT_ECHO_REQUEST: return "icmp-not-echo-request";
	default: return "ok";
	}
}

size_t icmp_build_echo_reply(uint8_t *out, size_t cap, const struct ipv4_view *request,
			     const struct echo_view *echo, uint32_t src, uint16_t ident)
{
	size_t total = 20 + echo->message_len;
	uint8_t *icmp = out + 20;

	if (total > cap || total > 0xffff)
		return 0;
	memcpy(icmp, echo->message, echo->message_len);
	icmp[0] = ICMP_ECHO_REPLY;
	icmp[1] = 0;
	icmp[2] = 0;
	icmp[3] = 0;
	uint16_t sum = inet_checksum(icmp, echo->message_len);
	icmp[2] = (uint8_t)(sum >> 8);
	icmp[3] = (uint8_t)sum;
	ipv4_write_header(out, 20, request->tos, total, ident, REPLY_TTL, IPPROTO_NUM_ICMP,
			  src, request->src);
	return total;
}
