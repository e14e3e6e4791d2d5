/* IGMPv2 (RFC 2236) and IGMPv3 (RFC 3376) as a router on a point-to-point
 * link sees them: reports and leaves in, General Queries out. */
#include <arpa/inet.h>
#include <string.h>

#include "cursor.h"
#include "wire.h"

#define IGMP_HEADER_LEN 8
#define V3_RECORD_FIXED_LEN 8
#define ALL_SYSTEMS_GROUP 0xe0000001u /* 224.0.0.1 */
#define MAX_RESP_CODE 100             /* 10 s */
#define QUERY_QRV 2

enum v3_record_type {
	MODE_IS_INCLUDE = 1,
	MODE_IS_EXCLUDE = 2,
	CHANGE_TO_INCLUDE = 3,
	CHANGE_TO_EXCLUDE = 4,
	ALLOW_NEW_SOURCES = 5,
	BLOCK_OLD_SOURCES = 6,
};

static int record_group_ok(uint32_t group)
{
	return addr_is_multicast(group);
}

static int igmp_check_records(const struct igmp_view *v)
{
	struct igmp_record_iter it;
	struct igmp_record r;
	int got;
	igmp_records_begin(&it, v);
	while ((got = igmp_records_next(&it, &r)) == 1)
		if (!record_group_ok(r.group))
			return IGMP_GROUP;
	return got < 0 ? IGMP_RECORD_SHORT : IGMP_OK;
}

int igmp_parse(const uint8_t *p, size_t len, struct igmp_view *v)
{
	struct cursor c;
	uint8_t code;
	uint16_t checksum, reserved;

	memset(v, 0, sizeof(*v));
	cur_init(&c, p, len);
	if (cur_u8(&c, &v->type) || cur_u8(&c, &code) || cur_u16(&c, &checksum))
		return IGMP_SHORT;
	if (len < IGMP_HEADER_LEN)
		return IGMP_SHORT;
	if (inet_checksum(p, len) != 0)
		return IGMP_CHECKSUM;
	if (v->type == IGMP_V3_REPORT) {
		if (cur_u16(&c, &reserved) || cur_u16(&c, &v->n_records))
			return IGMP_SHORT;
		v->records = cur_here(&c);
		v->records_len = cur_left(&c);
		return igmp_check_records(v);
	}
	if (cur_addr(&c, &v->group))
		return IGMP_SHORT;
	if ((v->type == IGMP_V2_REPORT || v->type == IGMP_V2_LEAVE) && !addr_is_multicast(v->group))
		return IGMP_GROUP;
	return IGMP_OK;
}

const char *igmp_error_name(int err)
{
	switch (err) {
	case IGMP_SHORT: return "igmp-short";
	case IGMP_CHECKSUM: return "igmp-checksum";
	case IGMP_RECORD_SHORT: return "igmp-record-short";
	case IGMP_GROUP: return "igmp-group";
	default: return "ok";
	}
}

void igmp_records_begin(struct igmp_record_iter *it, const struct igmp_view *v)
{
	it->p = v->records;
	it->len = v->records_len;
	it->off = 0;
	it->left = v->n_records;
}

int igmp_records_next(struct igmp_record_iter *it, struct igmp_record *r)
{
	struct cursor c;
	uint8_t aux_words;

	if (it->left == 0)
		return 0;
	cur_init(&c, it->p, it->len);
	c.off = it->off;
	if (cur_u8(&c, &r->type) || cur_u8(&c, &aux_words) || cur_u16(&c, &r->n_sources) ||
	    cur_addr(&c, &r->group))
		return -1;
	if (cur_skip(&c, (size_t)r->n_sources * 4) || cur_skip(&c, (size_t)aux_words * 4))
		return -1;
	it->off = c.off;
	it->left--;
	return 1;
}

enum igmp_action igmp_record_action(const struct igmp_record *r)
{
	switch (r->type) {
	case MODE_IS_EXCLUDE:
	case CHANGE_TO_EXCLUDE:
		return IGMP_JOIN;
	case MODE_IS_INCLUDE:
	case CHANGE_TO_INCLUDE:
		/* INCLUDE{} is "no longer listening"; INCLUDE{S} listens to S */
		return r->n_sources ? IGMP_JOIN : IGMP_LEAVE;
	case ALLOW_NEW_SOURCES:
		return r->n_sources ? IGMP_JOIN : IGMP_NOTHING;
	case BLOCK_OLD_SOURCES:
		return IGMP_LEAVE;
	default:
		return IGMP_NOTHING; /* RFC 3376 4.2.12: unknown types are ignored */
	}
}

/* RFC 3376 4.1.7: codes from 128 are a floating point value. */
static uint8_t igmp_encode_qqic(unsigned seconds)
{
	if (seconds < 128)
		return (uint8_t)seconds;
	for (unsigned exp = 0; exp < 8; exp++) {
		unsigned mant = seconds >> (exp + 3);
		if (mant < 0x20)
			return (uint8_t)(0x80 | (exp << 4) | (mant & 0x0f));
	}
	return 0xff;
}

size_t igmp_build_query(uint8_t *out, size_t cap, uint32_t src, int version,
			unsigned interval_s, uint16_t ident)
{
	const size_t header_len = 24; /* with Router Alert */
	size_t igmp_len = version == 2 ? 8 : 12;
	uint8_t *igmp = out + header_len;
	uint32_t all_systems = htonl(ALL_SYSTEMS_GROUP);

	if (cap < header_len + igmp_len)
		return 0;
	memset(out, 0, header_len + igmp_len);
	out[20] = 0x94; /* Router Alert, RFC 2113 */
	out[21] = 0x04;
	igmp[0] = IGMP_QUERY;
	igmp[1] = MAX_RESP_CODE;
	if (version == 3) {
		igmp[8] = QUERY_QRV;
		igmp[9] = igmp_encode_qqic(interval_s);
	}
	uint16_t sum = inet_checksum(igmp, igmp_len);
	igmp[2] = (uint8_t)(sum >> 8);
	igmp[3] = (uint8_t)sum;
	ipv4_write_header(out, header_len, 0xc0, header_len + igmp_len, ident, 1,
			  IPPROTO_NUM_IGMP, src, all_systems);
	return header_len + igmp_len;
}
