/* Wire formats the emulator reads and writes: IPv4, GRE (RFC 2784/2890),
 * IGMPv2/v3 and ICMP echo.  Parsers take (const uint8_t *p, size_t len),
 * check every length before reading, never allocate and return 0 or an
 * error code whose name is what the log says.  Addresses stay in network
 * byte order (as in_addr_t). */
#ifndef EMU_WIRE_H
#define EMU_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define IPPROTO_NUM_ICMP 1
#define IPPROTO_NUM_IGMP 2
#define IPPROTO_NUM_GRE 47
#define ETHERTYPE_IPV4 0x0800
#define OUTER_HEADER_LEN 24 /* IPv4 without options + basic GRE */

/* Ones' complement checksum as it goes into a header (0 when p holds a correct one). */
uint16_t inet_checksum(const uint8_t *p, size_t len);
uint64_t fnv1a64(const uint8_t *p, size_t len);

int addr_is_multicast(uint32_t addr);
int addr_is_link_local_multicast(uint32_t addr);

/* --- IPv4 ------------------------------------------------------------- */
enum ipv4_error {
	IPV4_OK = 0,
	IPV4_SHORT,
	IPV4_VERSION,
	IPV4_HEADER_LENGTH,
	IPV4_TOTAL_LENGTH,
	IPV4_CHECKSUM,
};

struct ipv4_view {
	const uint8_t *packet;   /* the header's first byte */
	size_t packet_len;       /* total length from the header (trailing bytes cut) */
	size_t header_len;
	uint8_t tos;
	uint16_t ident;
	uint16_t frag;           /* flags and fragment offset */
	uint8_t ttl;
	uint8_t proto;
	uint32_t src, dst;
	const uint8_t *payload;
	size_t payload_len;
};

int ipv4_parse(const uint8_t *p, size_t len, struct ipv4_view *v);
const char *ipv4_error_name(int err);
int ipv4_is_fragment(const struct ipv4_view *v);
/* Writes the 20 fixed bytes of a header at h (options, if header_len > 20,
 * must already sit at h + 20) and its checksum. */
void ipv4_write_header(uint8_t *h, size_t header_len, uint8_t tos, size_t total_len,
		       uint16_t ident, uint8_t ttl, uint8_t proto, uint32_t src, uint32_t dst);
/* Rewrites the header checksum of a packet whose header was changed in place. */
void ipv4_fix_checksum(uint8_t *h, size_t header_len);

/* --- GRE -------------------------------------------------------------- */
enum gre_error {
	GRE_OK = 0,
	GRE_SHORT,
	GRE_VERSION,
	GRE_FLAGS,
	GRE_CHECKSUM,
};

struct gre_view {
	uint16_t flags_version;
	uint16_t proto;
	int has_checksum, has_key, has_seq;
	uint32_t key, seq;
	const uint8_t *payload;
	size_t payload_len;
};

int gre_parse(const uint8_t *p, size_t len, struct gre_view *v);
const char *gre_error_name(int err);
/* Outer IPv4 + basic GRE (protocol 0x0800) + inner into out; returns the
 * length, or 0 when it does not fit in cap. */
size_t gre_encapsulate(uint8_t *out, size_t cap, uint32_t src, uint32_t dst, uint16_t ident,
		       const uint8_t *inner, size_t inner_len);

/* --- IGMP ------------------------------------------------------------- */
enum igmp_type {
	IGMP_QUERY = 0x11,
	IGMP_V1_REPORT = 0x12,
	IGMP_V2_REPORT = 0x16,
	IGMP_V2_LEAVE = 0x17,
	IGMP_V3_REPORT = 0x22,
};

enum igmp_error {
	IGMP_OK = 0,
	IGMP_SHORT,
	IGMP_CHECKSUM,
	IGMP_RECORD_SHORT,
	IGMP_GROUP,
};

struct igmp_view {
	uint8_t type;
	uint32_t group;               /* v2 report/leave */
	uint16_t n_records;           /* v3 report */
	const uint8_t *records;
	size_t records_len;
};

struct igmp_record {
	uint8_t type;
	uint16_t n_sources;
	uint32_t group;
};

enum igmp_action { IGMP_NOTHING, IGMP_JOIN, IGMP_LEAVE };

struct igmp_record_iter {
	const uint8_t *p;
	size_t len, off;
	uint16_t left;
};

/* Checks the checksum and, for a v3 report, that every record fits. */
int igmp_parse(const uint8_t *p, size_t len, struct igmp_view *v);
const char *igmp_error_name(int err);
void igmp_records_begin(struct igmp_record_iter *it, const struct igmp_view *v);
/* 1: *r holds the next record; 0: no more; -1: malformed. */
int igmp_records_next(struct igmp_record_iter *it, struct igmp_record *r);
enum igmp_action igmp_record_action(const struct igmp_record *r);
/* A General Query in an IPv4 packet with Router Alert, TTL 1, to 224.0.0.1. */
size_t igmp_build_query(uint8_t *out, size_t cap, uint32_t src, int version,
			unsigned interval_s, uint16_t ident);

/* --- ICMP echo -------------------------------------------------------- */
enum icmp_error {
	ICMP_OK = 0,
	ICMP_SHORT,
	ICMP_CHECKSUM,
	ICMP_NOT_ECHO_REQUEST,
};

struct echo_view {
	uint16_t ident, seq;
	const uint8_t *message;   /* the whole ICMP message */
	size_t message_len;
};

int icmp_parse_echo_request(const uint8_t *p, size_t len, struct echo_view *v);
const char *icmp_error_name(int err);
/* The reply as an IPv4 packet from src to the request's source. */
size_t icmp_build_echo_reply(uint8_t *out, size_t cap, const struct ipv4_view *request,
			     const struct echo_view *echo, uint32_t src, uint16_t ident);

#endif
