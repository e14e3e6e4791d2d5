/*
 * The BGP Monitoring Protocol (RFC 7854), version 3: framing a byte stream
 * into messages and reading each kind.  Pure, bounded, as bgp.h's parsers.
 */
#ifndef MVPN_BMP_H
#define MVPN_BMP_H

#include "bgp.h"

#define BMP_VERSION 3
#define BMP_COMMON_LEN 6 /* RFC 7854 4.1: version (1), length (4), type (1) */
#define BMP_PEER_LEN 42  /* RFC 7854 4.2 */
/* The largest message taken: a Peer Up with two extended OPENs, or a Route
 * Monitoring with an extended UPDATE (RFC 8654), fits with room to spare.
 * A longer one is malformed (the stream cannot be resynchronised: closed). */
#define BMP_MAX_MSG (4 * BGP_MAX_MSG)

enum bmp_type {
	BMP_ROUTE_MONITORING = 0,
	BMP_STATISTICS = 1,
	BMP_PEER_DOWN = 2,
	BMP_PEER_UP = 3,
	BMP_INITIATION = 4,
	BMP_TERMINATION = 5,
	BMP_ROUTE_MIRRORING = 6,
	BMP_TYPE_COUNT
};

/* Per-peer header flags (RFC 7854 4.2; O: RFC 8671). */
#define BMP_PEER_FLAG_V 0x80 /* the peer address is IPv6 */
#define BMP_PEER_FLAG_L 0x40 /* post-policy Adj-RIB-In */
#define BMP_PEER_FLAG_A 0x20 /* AS_PATH in the legacy 2-byte format */
#define BMP_PEER_FLAG_O 0x10 /* Adj-RIB-Out */

struct bmp_peer_hdr {
	uint8_t type, flags;
	bgp_rd distinguisher;
	struct inet_addr addr;
	uint32_t as, bgp_id;
	uint32_t ts_sec, ts_usec;
};

struct bmp_msg {
	uint8_t type;      /* enum bmp_type, or another value (counted, skipped) */
	bool has_peer;     /* types 0-3 and 6 carry the per-peer header */
	struct bmp_peer_hdr peer;
	const uint8_t *body; /* after the per-peer header, inside the caller's buffer */
	size_t body_len;
};

/*
 * Framing: the next message's length from the common header at p.
 * BGP_TRUNCATED: fewer than BMP_COMMON_LEN bytes yet (read more).
 * BGP_BAD_VERSION, BGP_BAD_LENGTH (< BMP_COMMON_LEN or > BMP_MAX_MSG): the
 * stream is lost (RFC 7854 gives no way to resynchronise).
 */
enum bgp_error bmp_frame(const uint8_t *p, size_t len, uint32_t *msg_len);

/* One whole message (len its length): the common and per-peer headers. */
enum bgp_error bmp_parse(const uint8_t *p, size_t len, struct bmp_msg *out);

/* Initiation (RFC 7854 4.3) and Termination (4.5) information TLVs. */
struct bmp_info {
	const uint8_t *sys_name, *sys_descr; /* inside the caller's buffer; NULL if absent */
	size_t sys_name_len, sys_descr_len;
	bool has_reason;
	uint16_t reason; /* Termination: 0 administratively closed ... 4 (4.5) */
	unsigned strings;
};
enum bgp_error bmp_info_parse(const struct bmp_msg *m, struct bmp_info *out);

/* Peer Up (RFC 7854 4.10): local address and ports, both OPENs. */
struct bmp_peer_up {
	struct inet_addr local;
	uint16_t local_port, remote_port;
	struct bgp_open sent, received;
};
enum bgp_error bmp_peer_up_parse(const struct bmp_msg *m, struct bmp_peer_up *out);

/* Peer Down (RFC 7854 4.9): reasons 1-5; a NOTIFICATION's code for 1 and 3,
 * the FSM event for 2. */
struct bmp_peer_down {
	uint8_t reason;
	uint16_t fsm_event;
	uint8_t code, subcode;
};
enum bgp_error bmp_peer_down_parse(const struct bmp_msg *m, struct bmp_peer_down *out);

/* Statistics Report (RFC 7854 4.8): the TLVs the count announces, each of
 * its type's size; types 0-8 kept, others skipped. */
#define BMP_STAT_KEPT 9
struct bmp_stats {
	uint32_t count;
	uint32_t seen; /* bit per kept type */
	uint64_t value[BMP_STAT_KEPT];
};
enum bgp_error bmp_stats_parse(const struct bmp_msg *m, struct bmp_stats *out);

/* Route Monitoring (RFC 7854 4.6): the BGP UPDATE PDU it carries. */
enum bgp_error bmp_route_monitoring(const struct bmp_msg *m, const uint8_t **update, size_t *len);

#endif
