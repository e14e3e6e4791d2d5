/*
 * What BGP's MDT SAFI says of a VPN's PEs (RFC 6037 5; AFI 1, SAFI 66: RD,
 * the PE's address, the default-MDT group), next to what PIM shows on that
 * MDT.  The engine (bgp/mdt.c) finds the VPN by its default MDT and counts
 * each route here; this is the model's side: no I/O, no BGP encoding.
 *
 * A PE is advertised while at least one route names it (every router, peer
 * and RD that reports one counts, so two route reflectors reporting the same
 * route are one advertisement that ends with the last of them).  When the
 * last route goes, the PE stays advertised for settings.bgp_settle more (a
 * BMP session that restarts takes every route away and gives them back a
 * second later): then the withdrawal takes effect, at the next PE check.
 * Each change of advertisement is a CHANGE_PE_BGP in the change log.
 *
 * A row BGP alone made (never heard, not configured) goes when BGP stops
 * advertising it.  Rows are capped as Hellos' are (passive_pe_row).
 */
#ifndef MVPN_BGPMDT_H
#define MVPN_BGPMDT_H

#include <stdbool.h>

#include "model.h"

/* One route more (add) or one fewer names pe in v's default MDT.  False:
 * an added route found no room for a row (counted as a state-limit drop). */
bool vpn_bgp_route(struct model *m, struct vpn *v, const struct inet_addr *pe, bool add,
		   mtime_t now);
/* Withdrawals that have held for bgp_settle take effect (the alarms' PE check
 * calls it before it judges the VPN's PEs). */
void vpn_bgp_settle(struct model *m, struct vpn *v, mtime_t now);
/* expected-pes = bgp, on or off (after vpn_configure, which keeps the
 * configured list; with on, the list must be empty). */
void vpn_set_expect_bgp(struct model *m, struct vpn *v, bool on, mtime_t now);

/*
 * A recount from every route, after a reload (VPNs come and go, default MDTs
 * move): begin forgets every count, the engine gives every route again
 * through vpn_bgp_route (and passive_bgp_join), and end starts the settling
 * of the PEs and C-group->PE rows left with none.  What did not change
 * records nothing.
 */
void bgpmdt_recount_begin(struct model *m);
void bgpmdt_recount_end(struct model *m, mtime_t now);

#endif
