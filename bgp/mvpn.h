/*
 * BGP MVPN (RFC 6513/6514, IPv4 and IPv6 per RFC 6515) from the routes the
 * collector holds, into the model: a VPN the configuration knows by the Route
 * Distinguishers of its PEs (rds = { ... }) has as PEs the originating routers
 * of its Intra-AS I-PMSI A-D routes (type 1, RFC 6514 4.1), counted per PE as
 * the MDT SAFI's are (mib/bgpmdt.h).  An engine like capture/: it reads
 * routes and calls the model's verbs, never net-snmp.
 *
 * The other route types are held and counted by the collector and not yet
 * put into the VPN's tables (mvpnBmpMvpnRoutesNotApplied says how many).
 */
#ifndef MVPN_BGP_MVPN_H
#define MVPN_BGP_MVPN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../mib/model.h"
#include "collector.h"

struct mvpn_rd {
	bgp_rd rd;
	uint32_t vpn_index;
};

struct bgp_mvpn {
	struct model *m;        /* not owned */
	struct mvpn_rd *by_rd;  /* sorted by rd; owned */
	size_t n;
	size_t ipmsi, unmatched; /* type 1 routes held; of them, of no VPN's RD */
	size_t not_applied;      /* routes of the other types held */
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

#endif
