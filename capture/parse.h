/*
 * Packet parsers for what a monitor sees on a default MDT.  Every parser takes
 * (const uint8_t *p, size_t len), reads through a bounds-checked cursor
 * (cursor.h), never allocates, never touches global state, and returns
 * PARSE_OK or the reason the input was refused (counted by the caller).
 */
#ifndef MVPN_PARSE_H
#define MVPN_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../mib/addr.h"

enum parse_error {
	PARSE_OK = 0,
	PARSE_TRUNCATED,     /* a read would pass the end of the buffer */
	PARSE_BAD_VERSION,   /* IP version, GRE version, PIM version */
	PARSE_BAD_LENGTH,    /* a length field inconsistent with the buffer or the protocol */
	PARSE_BAD_CHECKSUM,  /* IPv4 header, GRE (if present), PIM, UDP (if non-zero) */
	PARSE_BAD_FAMILY,    /* encoded address family/encoding type not IPv4/IPv6/native */
	PARSE_BAD_FLAGS,     /* e.g. PIM WC without RPT, GRE routing bit, reserved bits */
	PARSE_BAD_ADDRESS,   /* e.g. a non-multicast group, mask length out of range */
	PARSE_FRAGMENT,      /* an IP fragment: ip_fragment_parse reads it, reasm.h reassembles */
	PARSE_UNSUPPORTED,   /* well-formed but not something the monitor reads (link type, GRE payload) */
	PARSE_ERROR_COUNT
};

/* A short stable name for logs and counters ("truncated", "bad-checksum", ...). */
const char *parse_error_name(enum parse_error e);

/* Link layer: offset of the network-layer header in a frame of pcap link type dlt.
 * Handles DLT_EN10MB and DLT_LINUX_SLL/SLL2 (each with up to LINK_MAX_TAGS
 * 802.1Q/802.1ad tags), DLT_RAW, DLT_IPV4, DLT_IPV6, DLT_NULL and DLT_LOOP.
 * PARSE_UNSUPPORTED: not IPv4/IPv6 (another ethertype or family, more tags),
 * or an unknown link type.  A raw record is taken for IP here. */
#define LINK_MAX_TAGS 2
enum parse_error link_parse(int dlt, const uint8_t *p, size_t len, size_t *ip_offset);

struct ip_packet {
	struct inet_addr src, dst;
	uint8_t proto;     /* upper-layer protocol after any IPv6 extension headers */
	uint8_t ttl;       /* hop limit for IPv6 */
	const uint8_t *payload; /* inside the caller's buffer */
	size_t payload_len;     /* from the IP length field (trailing padding dropped) */
};

/* IPv4 (header checksum verified, options skipped) or IPv6 (hop-by-hop, routing,
 * destination options skipped; a fragment header gives PARSE_FRAGMENT). */
enum parse_error ip_parse(const uint8_t *p, size_t len, struct ip_packet *out);

/* The largest IPv4 datagram (total length) or IPv6 payload (payload length). */
#define IP_DATAGRAM_MAX 65535u

/*
 * One fragment of an IPv4 datagram (MF set or a non-zero offset) or an IPv6
 * packet with a Fragment header (RFC 8200 4.5), as reassembly needs it.  The
 * key is (src, dst, id, proto); proto is the IPv4 protocol or the Fragment
 * header's Next Header, the same in every fragment of a datagram.
 */
struct ip_fragment {
	struct inet_addr src, dst;
	uint32_t id;       /* IPv4: the 16-bit identification */
	uint8_t proto;
	uint32_t offset;   /* bytes, into the fragmentable part */
	bool more;         /* MF / M flag */
	const uint8_t *header;  /* IPv4: the header with options; IPv6: the fixed 40 bytes */
	size_t header_len;
	const uint8_t *data;    /* the fragment's share of the fragmentable part */
	size_t data_len;
};

/* p/len as for ip_parse.  PARSE_OK only for a fragment; the checks before the
 * fragment fields are ip_parse's.  A fragment with more to follow whose length
 * is not a multiple of 8, or one ending past IP_DATAGRAM_MAX, is PARSE_BAD_LENGTH. */
enum parse_error ip_fragment_parse(const uint8_t *p, size_t len, struct ip_fragment *out);

#define GRE_PROTO_IPV4 0x0800
#define GRE_PROTO_IPV6 0x86dd

struct gre_packet {
	uint16_t proto;
	bool has_checksum, has_key, has_sequence;
	uint32_t key, sequence;
	const uint8_t *payload;
	size_t payload_len;
};

/* RFC 2784 + RFC 2890: version 0 only; the checksum is verified when present. */
enum parse_error gre_parse(const uint8_t *p, size_t len, struct gre_packet *out);

struct udp_packet {
	uint16_t sport, dport;
	const uint8_t *payload;
	size_t payload_len;
};

/* The UDP length must fit the buffer; a non-zero checksum is verified against the
 * pseudo-header of ip (mandatory for IPv6: zero is refused there). */
enum parse_error udp_parse(const struct ip_packet *ip, struct udp_packet *out);

/* ---- PIMv2 (RFC 7761 section 4.9) ---- */

enum pim_type {
	PIM_HELLO = 0,
	PIM_REGISTER = 1,
	PIM_REGISTER_STOP = 2,
	PIM_JOIN_PRUNE = 3,
	PIM_BOOTSTRAP = 4,
	PIM_ASSERT = 5,
	PIM_GRAFT = 6,
	PIM_GRAFT_ACK = 7,
	PIM_CRP_ADV = 8,
};

/* Version 2 and the checksum (over the whole message; with the IPv6 pseudo-header
 * for IPv6; Register messages checksum only their 8-byte header). */
enum parse_error pim_parse_header(const struct ip_packet *ip, enum pim_type *type);

#define PIM_HOLDTIME_FOREVER 0xffff

struct pim_hello {
	bool has_holdtime, has_dr_priority, has_generation_id;
	uint16_t holdtime;      /* seconds */
	uint32_t dr_priority;
	uint32_t generation_id;
	uint16_t options;       /* options read, known or not */
	uint16_t unknown_options;
};

/* p/len: the whole PIM message (header included).  Unknown options are skipped
 * by their length; an option running past the end, or a known option with the
 * wrong length (Hold Time 2, DR Priority 4, Generation ID 4, LAN Prune Delay 4), is refused. */
enum parse_error pim_hello_parse(const uint8_t *p, size_t len, struct pim_hello *out);

enum pim_kind { PIM_KIND_STAR_G = 1, PIM_KIND_SG = 2, PIM_KIND_SG_RPT = 3 };

struct pim_jp_header {
	struct inet_addr upstream; /* Encoded-Unicast upstream neighbor */
	uint16_t holdtime;         /* seconds */
	uint8_t n_groups;
};

struct pim_jp_record {
	struct inet_addr group;
	uint8_t group_mask_len;
	struct inet_addr source;   /* the RP for PIM_KIND_STAR_G */
	uint8_t source_mask_len;
	enum pim_kind kind;        /* W+R: (*,G); R: (S,G,rpt); neither: (S,G); W alone: refused */
	bool join;                 /* false: prune */
};

typedef void (*pim_jp_record_fn)(void *arg, const struct pim_jp_header *hdr,
				 const struct pim_jp_record *rec);

/* Validates the WHOLE message first (every count, length, family, flag); only when
 * all of it is valid does it call fn once per joined and pruned source, in message
 * order.  So a truncated or partly bad Join/Prune yields no record at all. */
enum parse_error pim_jp_parse(const uint8_t *p, size_t len, pim_jp_record_fn fn, void *arg);

/* The fixed part only (header, upstream neighbor, group count, hold time), for a
 * caller that wants the upstream of a message with no group.  It validates only
 * those bytes: pim_jp_parse is what says whether the message is whole. */
enum parse_error pim_jp_parse_header(const uint8_t *p, size_t len, struct pim_jp_header *out);

/* ---- MDT Join TLV (RFC 6037 data-MDT announcement, UDP port 3232) ---- */

#define MDT_JOIN_PORT 3232

struct mdt_join {
	struct inet_addr c_source, c_group, p_group;
};

typedef void (*mdt_join_fn)(void *arg, const struct mdt_join *tlv);

/* The UDP payload: one or more TLVs.  Type 1 (length 16: IPv4 C-source, C-group,
 * P-group) and type 4 (length 40: IPv6 C-source and C-group, IPv4 P-group).  The
 * whole datagram is validated first; fn is called per TLV only if all are valid.
 * The C-group and P-group must be multicast. */
enum parse_error mdt_join_parse(const uint8_t *p, size_t len, mdt_join_fn fn, void *arg);

/* ---- One captured frame, classified ---- */

enum frame_class {
	FRAME_NOT_GRE,      /* outer protocol is not GRE: not ours (the BPF should keep these out) */
	FRAME_PIM,          /* inner PIM to ALL-PIM-ROUTERS (224.0.0.13 / ff02::d) */
	FRAME_MDT_JOIN,     /* inner UDP 3232 -> 3232 */
	FRAME_CUSTOMER_DATA /* anything else inside the tunnel: never read further */
};

struct frame {
	struct ip_packet outer; /* src: the PE's provider address; dst: the P-group */
	bool outer_fragment;     /* PARSE_FRAGMENT came from the outer header: frag is it */
	struct ip_fragment frag;
	struct gre_packet gre;
	struct ip_packet inner; /* valid for PIM, MDT_JOIN and CUSTOMER_DATA */
	enum frame_class cls;
};

/* Link layer, outer IP, GRE, inner IP header; classifies without reading any
 * customer payload.  The PIM and MDT Join payloads are parsed by the caller with
 * the functions above (inner.payload / inner.payload_len).  An outer fragment
 * gives PARSE_FRAGMENT with out->outer_fragment set and out->frag filled (a
 * broken one: its own error); the caller reassembles it and parses the whole
 * datagram with DLT_RAW.  An inner fragment gives PARSE_FRAGMENT alone. */
enum parse_error frame_parse(int dlt, const uint8_t *p, size_t len, struct frame *out);

#endif
