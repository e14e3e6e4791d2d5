/*
 * BGP as BMP carries it: the UPDATE decoder and the NLRI of the two families a
 * draft-rosen MVPN monitor reads.  Like capture/parse.h, every parser takes
 * (const uint8_t *p, size_t len), reads through the bounds-checked cursor
 * (capture/cursor.h), never allocates, never touches global state, and
 * returns BGP_OK or the reason the input was refused (counted by the caller).
 *
 *   MDT SAFI       AFI 1, SAFI 66 (RFC 6037 5): RD, the PE's IPv4 address,
 *                  the default-MDT group
 *   MCAST-VPN      AFI 1 and 2, SAFI 5 (RFC 6514 4, RFC 6515): route types
 *                  1-7 and the PMSI Tunnel attribute (RFC 6514 5)
 *
 * ADD-PATH (RFC 7911) is not decoded: an NLRI with a path identifier in front
 * reads as a malformed one (the Peer Up's OPENs say whether it was
 * negotiated; bgp_open.add_path records it).
 */
#ifndef MVPN_BGP_H
#define MVPN_BGP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../mib/addr.h"

enum bgp_error {
	BGP_OK = 0,
	BGP_TRUNCATED,   /* a read would pass the end of the buffer or of its container */
	BGP_BAD_VERSION, /* BMP version != 3, BGP OPEN version != 4 */
	BGP_BAD_LENGTH,  /* a length field inconsistent with the buffer or the protocol */
	BGP_BAD_TYPE,    /* a message type where another was required */
	BGP_BAD_MARKER,  /* a BGP header's marker is not all ones (RFC 4271 4.1) */
	BGP_BAD_FLAGS,   /* attribute flags wrong for a known attribute (RFC 4271 6.3) */
	BGP_BAD_ATTR,    /* an attribute's value, a duplicate MP_(UN)REACH (RFC 7606 3.g) */
	BGP_BAD_NLRI,    /* an NLRI's route type, address lengths, trailing bytes */
	BGP_UNSUPPORTED, /* well-formed, not something the collector reads */
	BGP_ERROR_COUNT
};

/* A short stable name for logs and counters ("truncated", "bad-flags", ...). */
const char *bgp_error_name(enum bgp_error e);

#define BGP_AFI_IPV4 1
#define BGP_AFI_IPV6 2
#define BGP_SAFI_MCAST_VPN 5  /* RFC 6514 */
#define BGP_SAFI_MDT 66       /* RFC 6037 */

/* The families the collector keeps; anything else is counted and skipped. */
enum bgp_family { BGP_FAM_MDT, BGP_FAM_MVPN4, BGP_FAM_MVPN6, BGP_FAM_COUNT };

/* enum bgp_family of an AFI/SAFI pair; BGP_FAM_COUNT when not one of ours. */
enum bgp_family bgp_family_of(uint16_t afi, uint8_t safi);

/* A Route Distinguisher (RFC 4364 4.2), its 8 bytes read as one big-endian number. */
typedef uint64_t bgp_rd;

/* MCAST-VPN route types (RFC 6514 4); 0 stands for an MDT SAFI route. */
enum mvpn_route_type {
	MVPN_MDT = 0,
	MVPN_INTRA_AS_IPMSI_AD = 1,
	MVPN_INTER_AS_IPMSI_AD = 2,
	MVPN_SPMSI_AD = 3,
	MVPN_LEAF_AD = 4,
	MVPN_SOURCE_ACTIVE_AD = 5,
	MVPN_SHARED_TREE_JOIN = 6,
	MVPN_SOURCE_TREE_JOIN = 7,
};

/*
 * One decoded NLRI.  Addresses a route type does not carry have type
 * INET_UNKNOWN; so do wildcards (a zero-length C-source or C-group, RFC 6625).
 */
struct mvpn_route {
	enum bgp_family family;
	uint8_t type;            /* enum mvpn_route_type */
	bgp_rd rd;
	struct inet_addr origin; /* 1, 3, 4: originating router; MDT: the PE */
	struct inet_addr source; /* 3, 5, 7: C-source; 6: the C-RP */
	struct inet_addr group;  /* 3, 5, 6, 7: C-group; MDT: the default-MDT group */
	uint32_t source_as;      /* 2, 6, 7 */
	/* 4 (Leaf A-D): the route key, itself an MCAST-VPN NLRI (RFC 6514 4.4):
	 * its type, RD, C-source, C-group and originating router. */
	uint8_t key_type;
	bgp_rd key_rd;
	struct inet_addr key_source, key_group, key_origin;
};

/* The NLRI's bytes as they were sent (for MCAST-VPN: type, length, value;
 * for the MDT SAFI: the length in bits, then 16 bytes), decoded.  len must be
 * exactly one NLRI. */
enum bgp_error bgp_nlri_decode(enum bgp_family f, const uint8_t *p, size_t len,
			       struct mvpn_route *out);
/* How many bytes the NLRI starting at p takes (its own length field read
 * with a bounds check); BGP_TRUNCATED when it runs past len. */
enum bgp_error bgp_nlri_span(enum bgp_family f, const uint8_t *p, size_t len, size_t *span);

/* PMSI Tunnel attribute (RFC 6514 5), tunnel types (IANA registry). */
enum pmsi_tunnel_type {
	PMSI_NONE = 0,       /* no tunnel information present */
	PMSI_RSVP_P2MP = 1,  /* RSVP-TE P2MP LSP: P2MP ID, Tunnel ID, Extended Tunnel ID */
	PMSI_MLDP_P2MP = 2,  /* mLDP P2MP LSP: P2MP FEC element (RFC 6388 2.2) */
	PMSI_PIM_SSM = 3,    /* sender address, P-multicast group */
	PMSI_PIM_SM = 4,
	PMSI_BIDIR_PIM = 5,
	PMSI_INGRESS_REPL = 6, /* unicast tunnel endpoint */
	PMSI_MLDP_MP2MP = 7, /* mLDP MP2MP LSP: MP2MP FEC element (RFC 6388 3.2) */
};
#define PMSI_FLAG_LEAF_INFO_REQUIRED 0x01

struct pmsi_tunnel {
	uint8_t flags, type;
	uint32_t label;           /* the 20-bit MPLS label (high 20 bits of 3 bytes) */
	struct inet_addr sender;  /* PIM: sender; IR: endpoint; mLDP: root; RSVP: ext. tunnel ID */
	struct inet_addr group;   /* PIM: the P-group */
	uint32_t p2mp_id;         /* RSVP */
	uint16_t tunnel_id;       /* RSVP */
	const uint8_t *opaque;    /* mLDP: the opaque value, inside the caller's buffer */
	size_t opaque_len;
};

/* The attribute's value (after flags, type and length).  Unknown tunnel
 * types keep their identifier unread (BGP_OK, type as sent). */
enum bgp_error bgp_pmsi_decode(const uint8_t *p, size_t len, struct pmsi_tunnel *out);

/* What the monitoring side of a session must know to read its UPDATEs. */
struct bgp_session_opts {
	bool as4; /* AS_PATH and AGGREGATOR carry 4-octet ASes (RFC 6793) */
};

/* What an UPDATE carried besides routes of our families. */
struct bgp_update_info {
	unsigned announced, withdrawn; /* routes of our families */
	unsigned other_family;         /* NLRI or MP_(UN)REACH of other families, skipped */
	bool end_of_rib;               /* RFC 4724 2: empty UPDATE or empty MP_UNREACH */
	bool has_pmsi;
	struct pmsi_tunnel pmsi;
	const uint8_t *pmsi_raw;       /* the PMSI Tunnel attribute's value, for the store */
	size_t pmsi_raw_len;
	uint32_t origin_as;            /* the AS_PATH's last AS (0: none) */
	unsigned path_len;             /* ASes in AS_SEQUENCE segments, one per AS_SET */
	struct inet_addr next_hop;     /* MP_REACH's next hop (the first of two for 32 bytes) */
	/* The first IP-address-specific Route Target (RFC 4360 3.2 in attribute 16,
	 * then RFC 5701 in attribute 25): a C-multicast route's upstream PE
	 * (RFC 6514 11.1.3).  INET_UNKNOWN: none. */
	struct inet_addr import_rt;
	struct inet_addr originator;   /* ORIGINATOR_ID (RFC 4456 8); INET_UNKNOWN: none */
};

enum bgp_action { BGP_ANNOUNCE, BGP_WITHDRAW };

struct bgp_route_event {
	enum bgp_action action;
	enum bgp_family family;
	const struct mvpn_route *route;
	const uint8_t *nlri; /* the NLRI's bytes inside the message: a store's key */
	size_t nlri_len;
	const struct bgp_update_info *info; /* attributes (announcements) */
};

typedef void (*bgp_route_fn)(void *arg, const struct bgp_route_event *ev);

/*
 * A whole BGP UPDATE message, BGP header included (RFC 4271 4.1, 4.3).  The
 * message is checked whole before fn sees any route, so a refused UPDATE
 * gives none (nothing partial).  fn may be NULL: validate only.  info may be NULL.
 * Attribute rules: RFC 4271 6.3 (flags of known attributes, lengths),
 * RFC 4760 (MP_REACH_NLRI, MP_UNREACH_NLRI), RFC 7606 3 (a second
 * MP_(UN)REACH refuses the message; other repeats are ignored), RFC 6793.
 */
enum bgp_error bgp_update_parse(const uint8_t *p, size_t len, const struct bgp_session_opts *o,
				bgp_route_fn fn, void *arg, struct bgp_update_info *info);

/* A BGP OPEN message (RFC 4271 4.2), BGP header included, and the
 * capabilities the collector cares about (RFC 5492; RFC 9072 extended
 * optional parameters). */
struct bgp_open {
	uint32_t as;     /* the 4-octet AS capability's if present (RFC 6793 3), else My AS */
	uint16_t hold_time;
	uint32_t bgp_id;
	bool as4;        /* the 4-octet AS capability (code 65) was present */
	bool add_path;   /* the ADD-PATH capability (code 69, RFC 7911) was present */
	unsigned families; /* bit (1 << enum bgp_family) per multiprotocol capability */
};
enum bgp_error bgp_open_parse(const uint8_t *p, size_t len, struct bgp_open *out);

/* The 19-byte BGP header (RFC 4271 4.1): marker, length == len, the type. */
#define BGP_HEADER_LEN 19
#define BGP_MSG_OPEN 1
#define BGP_MSG_UPDATE 2
#define BGP_MSG_NOTIFICATION 3
#define BGP_MAX_MSG 65535 /* RFC 8654 extended messages; RFC 4271's 4096 otherwise */
enum bgp_error bgp_header_check(const uint8_t *p, size_t len, uint8_t type);

#endif
