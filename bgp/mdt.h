/*
 * Draft-rosen from BGP: the MDT SAFI routes the collector holds (RFC 6037 5:
 * RD, the PE's address, the default-MDT group), given to the model's VPN with
 * that default MDT (mib/bgpmdt.h).  An engine like capture/: it reads routes
 * and calls the model's verbs, never net-snmp.
 *
 * The VPN is found by its default MDT through a sorted array of (group,
 * index), rebuilt when the VPNs change (bgp_mdt_reindex).  A group that no
 * VPN has is counted as unmatched or, with discovery on, becomes a VPN row:
 * its index is the group's IPv4 address as a number in network order
 * (239.1.1.1 -> 4009820417: the same on every run and every monitor), its
 * name "mdt-GROUP", its expected PEs BGP's.
 */
#ifndef MVPN_BGP_MDT_H
#define MVPN_BGP_MDT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../mib/model.h"
#include "collector.h"
#include "refused.h"

struct mdt_vpn {
	uint32_t group; /* IPv4, host order */
	uint32_t vpn_index;
};

struct bgp_mdt {
	struct model *m; /* not owned */
	struct mdt_vpn *by_group; /* sorted by group; owned */
	size_t n, cap;
	bool discover;
	size_t max_discovered;
	size_t discovered;        /* VPN rows it made */
	size_t routes, unmatched; /* MDT SAFI routes held; of them, of no VPN */
	uint64_t refused;         /* routes whose group discovery could not make a VPN of */
	uint64_t undecodable;     /* stored routes that did not decode (never expected) */
	bool vpns_changed;        /* discovery made a VPN: the capture has a group to join */
	struct refused_set not_counted; /* routes a full PE table refused */
};

/* Owner: the caller.  Zeroed, then init. */
void bgp_mdt_init(struct bgp_mdt *b, struct model *m);
void bgp_mdt_free(struct bgp_mdt *b);
/* The model's VPNs changed (a reload): the group index again.  False: no memory
 * (the old index stays). */
bool bgp_mdt_reindex(struct bgp_mdt *b);
/* The collector's route_change_fn (arg: the struct bgp_mdt). */
void bgp_mdt_on_change(void *arg, const struct route_change *ch);
/* Every count again from the routes the collector holds (c NULL: none, the
 * collector is gone): after a reload, after the collector closed.  Between
 * bgpmdt_recount_begin() and bgpmdt_recount_end() (mib/bgpmdt.h), with
 * bgp_mvpn_resync() if need be. */
void bgp_mdt_resync(struct bgp_mdt *b, const struct bmp_collector *c);

/* A discovered VPN's index and name for a group (IPv4, host order). */
uint32_t bgp_mdt_discovered_index(uint32_t group);

#endif
