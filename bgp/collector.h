/*
 * The BMP collector's state: the routers that connected, the peers each
 * monitors, and the routes of our families each peer advertised.  Fed whole
 * byte streams by agent/bmp_listen.c (which owns the sockets); no I/O, no
 * net-snmp.  The model lock guards it as it guards mib/ (the engine thread
 * writes, the AgentX thread reads).
 *
 * Rules (RFC 7854):
 *  - 3.3, 4.3: a session starts with an Initiation; anything else first is a
 *    protocol error: counted, the session closed.
 *  - 4.1: a message whose common header is malformed (version, length)
 *    leaves the stream unframed: counted, the session closed.  A message
 *    framed well but malformed inside (a per-peer header, an OPEN, an UPDATE
 *    that fails RFC 4271/4760/6514 checks) is counted and dropped: a
 *    monitoring station sends nothing back (3.3), and the next message
 *    starts where the length said.
 *  - 4.10, 4.9: Peer Up creates a peer or brings its row up again, Peer Down
 *    takes its routes and leaves its row down with the reason; Route
 *    Monitoring or Peer Down for a peer that is not up is counted and dropped.
 *  - 4.5, 3.3: Termination, or the connection closing, ends the session:
 *    the router's peers and routes go, its row stays (status down).
 *  - Caps: routes per router (new routes past it are counted and dropped,
 *    known ones still update and withdraw), peer rows per router (a new peer
 *    reclaims the row down longest, else it is counted and dropped), routers.
 */
#ifndef MVPN_COLLECTOR_H
#define MVPN_COLLECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../mib/clock.h"
#include "bmp.h"
#include "routes.h"

#define BMP_INFO_MAX 255 /* sysName, sysDescr kept (SnmpAdminString (SIZE (0..255))) */

struct bmp_limits {
	size_t max_routes_per_router;
	size_t max_peers_per_router;
	size_t max_routers; /* rows kept, up or down; a down one is reclaimed first */
};

/* Values are the MIB's mvpnBmpRouterStatus and mvpnBmpPeerStatus. */
enum bmp_router_status { BMP_ROUTER_UP = 1, BMP_ROUTER_DOWN = 2 };

struct bmp_router;

/* A monitored peer's row: made by its first Peer Up, kept down after a Peer
 * Down (what went wrong is what a NOC asks the morning after), gone with its
 * router's session. */
struct bmp_peer {
	bgp_rd distinguisher;
	struct inet_addr addr;
	const struct bmp_router *router; /* the router that monitors it */
	uint8_t type;
	uint8_t status;      /* enum bmp_router_status: up, or down since down_since */
	uint32_t as, bgp_id;
	bool as4_negotiated; /* both OPENs carried the 4-octet AS capability */
	bool add_path;       /* either OPEN offered ADD-PATH (not decoded: see bgp.h) */
	mtime_t made, up_since, down_since; /* monotonic; ups and downs count from made */
	uint64_t ups, downs;
	bool has_down;                /* last_down holds the last Peer Down */
	struct bmp_peer_down last_down;
	struct route_table routes;    /* empty while down */
};

/* Counters of one router, since its row was made (Counter64 in the MIB). */
struct bmp_router_counters {
	uint64_t messages, by_type[BMP_TYPE_COUNT + 1]; /* the last: unknown types */
	uint64_t malformed, route_drops, unknown_peer, peer_ups, peer_downs, sessions;
	uint64_t announced, withdrawn, other_family, peer_drops;
};

struct bmp_router {
	struct inet_addr addr; /* the table's index */
	uint16_t port;
	uint8_t status;        /* enum bmp_router_status */
	bool initiated;
	char sys_name[BMP_INFO_MAX + 1], sys_descr[BMP_INFO_MAX + 1];
	struct bmp_peer **peers; /* up and down, sorted by (distinguisher, address) */
	size_t n_peers, cap_peers, n_peers_up;
	size_t routes, by_family[BGP_FAM_COUNT];
	struct bmp_router_counters c;
	mtime_t made;          /* monotonic: the row's counters count from then */
	mtime_t last_message, up_since, down_since; /* monotonic; 0: never */
	bool has_term_reason;
	uint16_t term_reason;
	uint8_t last_error; /* enum bgp_error of the last malformed message */
	struct bmp_peer *last_peer; /* lookup cache: Route Monitoring comes in runs */
};

enum route_event { ROUTE_EV_ADD, ROUTE_EV_REPLACE, ROUTE_EV_WITHDRAW };

/* What later consumers (VPN/PE discovery, MVPN tables) hear of every change;
 * a peer or router going away withdraws each of its routes through it. */
struct route_change {
	enum route_event ev;
	const struct bmp_router *router;
	const struct bmp_peer *peer;
	const struct route *route; /* valid during the call only */
	const struct route *old;   /* ROUTE_EV_REPLACE: the route it replaced; else NULL */
};
typedef void (*route_change_fn)(void *arg, const struct route_change *ch);

/* Sessions and peers coming and going, for notifications: a router's
 * session is up from its Initiation (RFC 7854 4.3) to its end, a peer from
 * its Peer Up to its Peer Down (the peers of a session that ends go with its
 * router's event, not one by one). */
enum bmp_event_kind { BMP_EV_ROUTER_UP, BMP_EV_ROUTER_DOWN, BMP_EV_PEER_UP, BMP_EV_PEER_DOWN };
struct bmp_event {
	enum bmp_event_kind kind;
	const struct bmp_router *router;
	const struct bmp_peer *peer; /* the peer events' */
};
typedef void (*bmp_event_fn)(void *arg, const struct bmp_event *ev);

struct bmp_totals {
	uint64_t accepted, refused_not_allowed, refused_full, messages, malformed, route_drops;
	uint64_t closed_malformed;
	size_t routes, routers_up;
};

struct bmp_collector {
	struct bmp_limits lim;
	struct bmp_router **routers; /* sorted by address */
	size_t n_routers, cap_routers;
	struct bmp_totals t;
	route_change_fn on_change; /* NULL: nobody listens */
	void *change_arg;
	bmp_event_fn on_event; /* NULL: nobody listens */
	void *event_arg;
};

/* Owner: the caller (bmp_collector_free). */
struct bmp_collector *bmp_collector_new(const struct bmp_limits *lim);
void bmp_collector_free(struct bmp_collector *c);
/* A reload may change the caps: routes past a lowered cap stay until withdrawn. */
void bmp_collector_set_limits(struct bmp_collector *c, const struct bmp_limits *lim);

/* A connection from an allowed address: its row, up, with a fresh session.
 * NULL (counted in refused_full) when max_routers rows are all up. */
struct bmp_router *bmp_router_connect(struct bmp_collector *c, const struct inet_addr *a,
				      uint16_t port, mtime_t now);
/* Whole messages from the start of p: how many bytes were taken (the rest is
 * an incomplete message).  *close: the session must end now (malformed
 * framing, no Initiation first, Termination); call bmp_router_disconnect. */
size_t bmp_router_input(struct bmp_collector *c, struct bmp_router *r, const uint8_t *p,
			size_t len, mtime_t now, bool *close);
/* The session ended: peers and routes go, the row stays down. */
void bmp_router_disconnect(struct bmp_collector *c, struct bmp_router *r, mtime_t now);

/* Forgets the row of a router the configuration no longer allows (a reload
 * is how a retired router's row goes): its session, if up, ends as
 * bmp_router_disconnect ends it, then the row and its counters go.  A later
 * connection from it makes a new row.  r is freed: the caller closes the
 * router's connection first. */
void bmp_router_forget(struct bmp_collector *c, struct bmp_router *r, mtime_t now);

/* Rows in address order: the first >= a (> a if after); NULL at the end. */
const struct bmp_router *bmp_router_seek(const struct bmp_collector *c, const struct inet_addr *a,
					 bool after);
size_t bmp_router_peers_up(const struct bmp_router *r);

/* Every stored route of family f (BGP_FAM_COUNT: all), of one RD if rd_only. */
typedef void (*bmp_route_fn)(void *arg, const struct bmp_router *r, const struct bmp_peer *p,
			     const struct route *route);
void bmp_collector_foreach(const struct bmp_collector *c, unsigned family, bool rd_only, bgp_rd rd,
			   bmp_route_fn fn, void *arg);
/* Bytes held by routes (estimate, as route_table_bytes). */
size_t bmp_collector_route_bytes(const struct bmp_collector *c);

#endif
