/*
 * BGP MVPN (RFC 6513/6514, IPv4 and IPv6 per RFC 6515) from the routes the
 * collector holds, into the model: a VPN the configuration knows by the Route
 * Distinguishers of its PEs (rds = { ... }) has as PEs the originating routers
 * of its Intra-AS I-PMSI A-D routes (type 1, RFC 6514 4.1), counted per PE as
 * the MDT SAFI's are (mib/bgpmdt.h).  An engine like capture/: it reads
 * routes and calls the model's verbs, never net-snmp.
 *
 * Types 1 and 3 also give the VPN's P-tunnels, Leaf A-D routes (type 4) the
 * PEs that joined one and Source Active routes (type 5) the active
 * C-sources: a row of mvpnPTunnelTable each.  C-multicast routes (types 6
 * and 7) are joins held by BGP in the VPN's C-group->PE rows
 * (passive_bgp_join): the downstream PE is the route's advertiser, the
 * upstream PE the one its C-multicast Import RT names.  Inter-AS routes
 * (type 2) are held and counted (mvpnBmpMvpnNotApplied).
 */
#ifndef MVPN_BGP_MVPN_H
#define MVPN_BGP_MVPN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../mib/model.h"
#include "collector.h"
#include "refused.h"

struct mvpn_rd {
	bgp_rd rd;
	uint32_t vpn_index;
};

/*
 * A row of mvpnPTunnelTable: an A-D route of a BGP-signalled VPN and the
 * P-tunnel it announces (RFC 6514 5, its PMSI Tunnel attribute), as RFC 8502
 * represents one: the tunnel type and the tunnel identifier as the attribute
 * carries it.  I-PMSI (1) and S-PMSI (3) A-D routes by their own C-(S,G) and
 * originating router; Leaf A-D (4) by their route key's C-(S,G) and the
 * leaf; Source Active (5) by their C-(S,G) and advertiser.  Routes with the
 * same key from several routers, peers or views are one row that counts
 * them; the attribute shown is the last one heard of those its routes still
 * carry (a route's going never leaves a tunnel nobody announces).
 */
#define PTUNNEL_ID_MAX 255
/* A PMSI Tunnel attribute the row's routes carry, and how many carry it. */
struct pmsi_holder {
	uint32_t routes;
	uint8_t len; /* 0: the routes carry none */
	uint8_t pmsi[ROUTE_ATTRS_MAX];
};

struct ptunnel {
	struct oidx index;     /* {vpn, type, C-source, C-group, origin}: the table's order */
	uint32_t vpn_index;
	uint8_t route_type;    /* 1, 3, 4 or 5 */
	struct inet_addr source, group, origin; /* C-source and C-group: wildcards for type 1 */
	struct inet_addr key_origin; /* type 4: its route key's originating router */
	bool has_pmsi;
	uint8_t tunnel_type, flags;
	uint32_t label;
	uint8_t id[PTUNNEL_ID_MAX];
	size_t id_len;
	uint32_t routes;
	struct pmsi_holder *holders; /* owned; the last is the one shown */
	size_t n_holders;
};

struct bgp_mvpn {
	struct model *m;        /* not owned */
	struct ptunnel **tunnels; /* sorted by index; owned */
	size_t n_tunnels, cap_tunnels;
	struct mvpn_rd *by_rd;  /* sorted by rd; owned */
	size_t n;
	size_t ipmsi, unmatched; /* type 1 routes held; of them, of no VPN's RD */
	size_t cmcast;           /* C-multicast routes (6, 7) held */
	/* Routes held that fill no table: type 2, types 3-7 of no VPN's RD,
	 * C-multicast routes with no C-multicast Import RT */
	size_t not_applied;
	struct refused_set not_counted; /* routes a full PE or C-group table refused */
};

void bgp_mvpn_init(struct bgp_mvpn *b, struct model *m);
void bgp_mvpn_free(struct bgp_mvpn *b);
/* The configured VPNs' RDs (any order; each RD of one VPN): a copy is kept.
 * False: no memory (the old ones stay). */
bool bgp_mvpn_set_rds(struct bgp_mvpn *b, const struct mvpn_rd *rds, size_t n);
/* A route_change_fn (arg: the struct bgp_mvpn). */
void bgp_mvpn_on_change(void *arg, const struct route_change *ch);
/* Every count again from the collector's routes (NULL: none), as bgp_mdt_resync. */
void bgp_mvpn_resync(struct bgp_mvpn *b, const struct bmp_collector *c);
/* mvpnPTunnelTable: the first row >= want (> want if after); NULL at the end. */
const struct ptunnel *bgp_mvpn_ptunnel_seek(const struct bgp_mvpn *b, const uint32_t *want,
					    size_t wlen, bool after);

#endif
