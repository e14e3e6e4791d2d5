/*
 * What the active engine puts on the wire and reads back: GRE (RFC 2784, no
 * options) over IPv4 from the monitor to a PE's tunnel endpoint, carrying
 *   - UDP probes to a VPN's default-MDT group (payload: struct probe_header,
 *     padded to the configured size),
 *   - IGMPv2/v3 membership reports and leaves for that group (RFC 2236/3376:
 *     TTL 1, Router Alert option),
 *   - ICMP echo requests to the PE's tunnel endpoint (RFC 792).
 * Builders write a whole outer IPv4 packet (for a raw IP_HDRINCL socket) and
 * return its length, or 0 (having written nothing) when cap is too small or
 * the arguments cannot make a packet: tunnel ends not IPv4, a group not IPv4
 * multicast, a payload shorter than the probe header, more than an IPv4
 * packet holds.  ip_id goes in both the outer and the inner IPv4 header;
 * neither sets DF, and the outer TOS is 0.  Parsers take
 * (const uint8_t *p, size_t len), check the length before every read and
 * never allocate.  Tunnels are IPv4 in this version; C-side addresses too.
 */
#ifndef MVPN_PROBE_WIRE_H
#define MVPN_PROBE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../capture/parse.h"
#include "../mib/addr.h"

/* ---- the probe payload (ours; network byte order) ----
 *  0  magic "MVPb" (0x4d565062)
 *  4  version (1)
 *  5  sender address family (1 = IPv4, 2 = IPv6: INET-ADDRESS-MIB values)
 *  6  reserved, zero
 *  8  VPN index
 * 12  sequence number (64 bits), per (VPN, sender), from 1
 * 20  send time, ns on the sender's CLOCK_MONOTONIC (64 bits)
 * 28  sender PE address: 4 or 16 bytes
 * then padding (zeros) to the configured probe size. */
#define PROBE_MAGIC 0x4d565062u
#define PROBE_VERSION 1
#define PROBE_FIXED_LEN 28
#define PROBE_HEADER_MAX (PROBE_FIXED_LEN + 16)

struct probe_header {
	uint32_t vpn_index;
	uint64_t seq;
	uint64_t send_ns;
	struct inet_addr sender;
};

/* Bytes of the probe header for this sender (32 or 44; 0 if it is neither
 * IPv4 nor IPv6). */
size_t probe_header_len(const struct inet_addr *sender);

/* ---- builders ---- */

struct tunnel_ends {
	struct inet_addr local;  /* the monitor's address: outer source, inner source */
	struct inet_addr remote; /* the PE's tunnel endpoint: outer destination */
};

/* Outer IPv4 (TTL 64, DF clear, id from the caller) + GRE + inner IPv4 (TTL
 * inner_ttl, TOS 0) + UDP (checksum computed) from port to group:port, payload
 * = header padded with zeros to payload_len (at least probe_header_len()). */
size_t probe_build(uint8_t *buf, size_t cap, const struct tunnel_ends *t, uint16_t ip_id,
		   const struct inet_addr *group, uint16_t port, uint8_t inner_ttl,
		   const struct probe_header *h, size_t payload_len);

/* Rewrites the send time of a packet made by probe_build (and fixes the UDP
 * checksum incrementally, RFC 1624), so the stamp can be taken as late as
 * possible.  A packet too short to hold the stamp is left alone. */
void probe_restamp(uint8_t *pkt, size_t len, uint64_t send_ns);

enum igmp_message {
	IGMP_V2_REPORT,   /* type 0x16 to the group */
	IGMP_V2_LEAVE,    /* type 0x17 to 224.0.0.2 */
	IGMP_V3_JOIN,     /* type 0x22 to 224.0.0.22, one record CHANGE_TO_EXCLUDE {} */
	IGMP_V3_LEAVE,    /* type 0x22 to 224.0.0.22, one record CHANGE_TO_INCLUDE {} */
	IGMP_V3_CURRENT,  /* type 0x22 to 224.0.0.22, MODE_IS_EXCLUDE {} records: the answer to a query */
};

/* Inner IPv4 with Router Alert, TTL 1, TOS 0xc0 (RFC 3376 4 asks for it; Linux
 * sends v2 so too); IGMP checksum computed.  IGMP_V3_* messages carry n_groups
 * records (usually 1 for JOIN/LEAVE), all of the same type; v2 messages use
 * groups[0].  n_groups 0 makes no message.  Splitting a long report to fit
 * the MTU (RFC 3376 4.2.16) is the caller's business. */
size_t igmp_build(uint8_t *buf, size_t cap, const struct tunnel_ends *t, uint16_t ip_id,
		  enum igmp_message kind, const struct inet_addr *groups, size_t n_groups);

/* ICMP echo request from t->local to t->remote, inner TTL 64, TOS 0,
 * identifier/sequence as given, payload_len bytes of payload (zeros), checksum
 * computed. */
size_t echo_build(uint8_t *buf, size_t cap, const struct tunnel_ends *t, uint16_t ip_id,
		  uint16_t ident, uint16_t seq, size_t payload_len);

/* ---- reading what comes back through a tunnel ---- */

enum tunnel_rx_kind {
	TUNNEL_RX_PROBE,       /* UDP to a group and probe_port (see probe_err) */
	TUNNEL_RX_ECHO_REPLY,  /* ICMP echo reply from the tunnel endpoint */
	TUNNEL_RX_IGMP_QUERY,  /* IGMP membership query (v1, v2 or v3) */
	TUNNEL_RX_OTHER,       /* anything else (customer data): not read further */
};

enum probe_error {
	PROBE_OK = 0,
	PROBE_TRUNCATED,   /* UDP payload shorter than the probe header (magic,
			    * version and family are judged first, as soon as read) */
	PROBE_BAD_MAGIC,
	PROBE_BAD_VERSION,
	PROBE_BAD_FAMILY,
};

struct tunnel_rx {
	enum tunnel_rx_kind kind;
	struct inet_addr outer_src;  /* the PE's tunnel endpoint */
	struct inet_addr inner_src, inner_dst;
	/* TUNNEL_RX_PROBE */
	uint16_t udp_dport;
	struct probe_header probe;
	size_t probe_len;            /* UDP payload bytes */
	/* TUNNEL_RX_ECHO_REPLY */
	uint16_t echo_ident, echo_seq;
	/* TUNNEL_RX_IGMP_QUERY */
	uint8_t igmp_version;        /* RFC 3376 7.1: 8 bytes = v2, or v1 if the code is 0;
				      * >= 12 = v3; 9-11 bytes: PARSE_BAD_LENGTH */
	struct inet_addr query_group; /* 0.0.0.0 for a general query */
	uint32_t max_resp_ms;        /* v1: 10000 (RFC 2236 4); v3: code decoded (RFC 3376 4.1.1) */
};

/* Parses a frame of link type dlt: link, outer IPv4, GRE, inner IPv4, then the
 * kind.  Returns the PARSE_* error of the first layer that is refused, or
 * PARSE_OK; a frame whose outer packet is not GRE is PARSE_UNSUPPORTED.  A UDP
 * datagram to a multicast group and probe_port (0: any port) is kind TUNNEL_RX_PROBE (its
 * UDP checksum verified), and *probe_err says whether its payload is a valid
 * probe header (PROBE_OK) or why not; for every other kind *probe_err is
 * PROBE_OK.  Echo replies and queries have their checksums verified; other
 * UDP, ICMP and IGMP, and inner IPv6, are TUNNEL_RX_OTHER.  outer_src is set
 * whenever the outer header was valid; when an error is returned after the
 * kind was known, kind still says it (else it is TUNNEL_RX_OTHER).
 * probe_err may be NULL. */
enum parse_error tunnel_rx_parse(int dlt, const uint8_t *p, size_t len, uint16_t probe_port,
				 struct tunnel_rx *out, enum probe_error *probe_err);

/* The probe header alone, from a UDP payload. */
enum probe_error probe_header_parse(const uint8_t *p, size_t len, struct probe_header *out);

const char *probe_error_name(enum probe_error e);

#endif
