/*
 * One monitor's state at a time T as the MIB's tables showed it, made from
 * the checkpoint hist_store_state_at() returns: mvpnVpnTable's identity and
 * state columns, mvpnPeTable, mvpnCGroupPeTable and mvpnCGroupPGroupTable,
 * each in its SNMP index order.
 *
 * A checkpoint keeps only what cannot be derived.  Derived here, as the
 * daemon's model keeps them (mib/passive.c, mib/cgroup.h, mib/model.c):
 *  - the upstream C-group->PE rows: one per (VPN, group, source, kind,
 *    upstream PE) named by downstream rows, joiners = how many name it;
 *  - the C-group->P-group rows: every flow with a C-group->PE row (on the
 *    VPN's default MDT) and every flow on a data MDT;
 *  - each VPN's PE counts, C-groups, data MDTs and configuration status;
 *  - each PE's mvpnPeStatus from expected and alive (mib/pe.c pe_status).
 * An upstream row's Other, hold time and RP are its latest joiner's, which a
 * checkpoint does not say when several joiners disagree: then *_known is
 * false and the client shows "-".
 */
#ifndef MVPN_CLIENT_STATE_VIEW_H
#define MVPN_CLIENT_STATE_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../history/record.h"

struct sv_vpn {
	const struct hist_vpn_row *row;
	uint32_t expected, active, missing, unexpected;
	uint32_t cgroups, data_mdts;
	uint8_t config; /* enum config_status: match or mismatch (pending is not recorded) */
};

struct sv_pe {
	const struct hist_pe_row *row;
	uint8_t status; /* enum pe_status */
};

struct sv_cgpe {
	uint32_t vpn_index;
	struct inet_addr group, source, pe;
	uint8_t kind, role, state; /* enum cg_kind, cg_role, cg_state */
	uint32_t joiners;          /* 1 for a downstream row */
	struct inet_addr other, rp, p_group;
	uint16_t holdtime;
	bool other_known, rp_known, hold_known;
};

struct sv_flow {
	uint32_t vpn_index;
	struct inet_addr group, source;
	uint8_t mdt_type; /* enum mdt_type */
	struct inet_addr p_group;
	struct inet_addr announcer; /* unknown on the default MDT */
};

struct state_view {
	struct sv_vpn *vpns;
	struct sv_pe *pes;
	struct sv_cgpe *cgpes;
	struct sv_flow *flows;
	size_t n_vpns, n_pes, n_cgpes, n_flows;
};

/* Builds the tables of cp (which must outlive sv), for one VPN or, with
 * vpn_index 0, for all.  Returns 0, or -1 when out of memory. */
int state_view_build(struct state_view *sv, const struct hist_checkpoint *cp, uint32_t vpn_index);
void state_view_free(struct state_view *sv);

/* The VPN row of that index in a checkpoint, or NULL. */
const struct hist_vpn_row *checkpoint_vpn(const struct hist_checkpoint *cp, uint32_t index);
/* The VPN row of that name, or NULL. */
const struct hist_vpn_row *checkpoint_vpn_named(const struct hist_checkpoint *cp,
						const char *name);
/* A --vpn argument: the VPN of that name, else, for a number, the VPN of that
 * index; NULL if neither. */
const struct hist_vpn_row *checkpoint_vpn_arg(const struct hist_checkpoint *cp, const char *arg);

#endif
