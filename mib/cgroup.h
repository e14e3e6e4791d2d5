/*
 * A VPN's customer multicast state.
 *  - flows: one per customer (S,G) or (*,G) known, with the provider group it
 *    rides on (the default MDT unless an MDT Join TLV moved it to a data MDT):
 *    mvpnCGroupPGroupTable.
 *  - rows: who joined what: one per (group, source, kind, PE, role):
 *    mvpnCGroupPeTable.  A downstream row is the PE that sent the Join/Prune;
 *    an upstream row is the PE it named, counting its downstream joiners.
 * Flows live in a red-black tree in SNMP index order, and in a hash by
 * (group, source) for a record's lookup (a tree walk was ~140 instructions of
 * a create, the hash ~40); each flow holds its rows in a tree of its own,
 * ordered by the rest of their index (kind, PE, role).
 * Rows in flow order, each flow's in its own order, are the SNMP index order,
 * so a lookup by index (and a GETNEXT) is O(log n); a record's row is sought
 * among its flow's dozen rows, not its VPN's thousands.  Flows are referenced
 * by their rows.
 */
#ifndef MVPN_CGROUP_H
#define MVPN_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "clock.h"
#include "oidx.h"
#include "rbtree.h"
#include "slab.h"
#include "timers.h"

/* Values of mvpnCGroupPeKind, mvpnCGroupPeRole, mvpnCGroupPeState, mvpnCGroupPGroupMdtType. */
enum cg_kind { CG_STAR_G = 1, CG_SG = 2, CG_SG_RPT = 3 };
enum cg_role { CG_DOWNSTREAM = 1, CG_UPSTREAM = 2 };
enum cg_state { CG_JOINED = 1, CG_PRUNED = 2 };
enum mdt_type { MDT_DEFAULT = 1, MDT_DATA = 2 };

RB_HEAD(cgpe_tree, cgpe);

struct flow {
	RB_ENTRY(flow) node;
	struct cgpe_tree row_tree;      /* its C-group->PE rows */
	struct timer timer; /* armed while on a data MDT, for data_expires */
	uint32_t vpn_index;
	struct inet_addr group, source; /* source unknown(0) for (*,G) */
	bool on_data_mdt;
	struct inet_addr p_group;       /* the data MDT, when on_data_mdt */
	struct inet_addr announcer;     /* the PE that announced it */
	uint32_t rows; /* C-group->PE rows referring to this flow (here: no padding) */
	mtime_t first_seen, last_announced, data_expires;
	uint64_t announcements, switches;
	struct cgpe *last_up; /* the upstream row last found or made: a hint, NULL once freed */
	struct flow *hnext;   /* the next in its hash bucket */
};

/* What a lookup reads of each row it passes (the tree's links, kind, PE,
 * role) comes first, in 52 bytes: one or two cache lines a row visited, where
 * spread over the row it was two or three. */
struct cgpe {
	RB_ENTRY(cgpe) node;
	struct inet_addr pe;      /* provider address (upstream: mapped from the C-address named) */
	uint8_t kind, role, state;
	uint16_t holdtime;
	struct inet_addr other;   /* downstream: the upstream named; upstream: latest joiner */
	struct inet_addr rp;      /* (*,G): the RP given as the source */
	uint32_t joiners;         /* upstream rows */
	uint32_t bgp_routes;      /* downstream rows: the C-multicast routes holding it */
	struct timer timer;       /* downstream rows: armed for expires */
	struct flow *flow;        /* not owned */
	mtime_t first_seen, last_refresh, expires;
	uint64_t refreshes;
};

RB_HEAD(flow_tree, flow);

/* Where every VPN's flows and rows are allocated: one pool for the model. */
struct cgroup_pool {
	struct slab flows, rows;
};

void cgroup_pool_init(struct cgroup_pool *p);
/* Every VPN's cgroup_state must have been freed first. */
void cgroup_pool_free(struct cgroup_pool *p);

struct cgroup_state {
	struct flow_tree flows;
	struct flow **buckets;    /* the flows by (group, source); owned; n_buckets of them */
	uint32_t n_buckets;       /* a power of two, at least n_flows; 0: none yet */
	struct timers *timers;    /* the model's: not owned */
	struct cgroup_pool *pool; /* the model's: not owned */
	uint32_t n_flows, n_rows, n_data;
	uint32_t n_joined; /* flows with at least one row: the C-groups PEs have joined */
};

void cgroup_init(struct cgroup_state *cg, struct timers *timers, struct cgroup_pool *pool);
void cgroup_free(struct cgroup_state *cg);

/* Where a flow or row not in its tree would go, as one descent found it: an
 * insert there needs no second descent.  Valid until that tree next changes. */
struct flow_pos {
	struct flow *parent; /* NULL: the tree is empty */
	int side;            /* < 0: its left child, else its right */
};
struct cgpe_pos {
	struct cgpe *parent; /* NULL: the flow has no rows */
	int side;
};

struct flow *flow_find(struct cgroup_state *cg, const struct inet_addr *group,
		       const struct inet_addr *source);
/* flow_find, and when there is none, where it would go (at may be NULL). */
struct flow *flow_lookup(struct cgroup_state *cg, const struct inet_addr *group,
			 const struct inet_addr *source, struct flow_pos *at);
/* A new flow at the place flow_lookup gave; NULL: out of memory. */
struct flow *flow_insert_at(struct cgroup_state *cg, const struct flow_pos *at, uint32_t vpn_index,
			    const struct inet_addr *group, const struct inet_addr *source,
			    mtime_t now);
struct flow *flow_get(struct cgroup_state *cg, uint32_t vpn_index, const struct inet_addr *group,
		      const struct inet_addr *source, mtime_t now); /* NULL: out of memory */
/* Frees the flow if nothing refers to it any more. */
void flow_release(struct cgroup_state *cg, struct flow *f);
/* Sets the flow's timer to its data_expires, which was `was` until now (a
 * move later is O(1)); unschedule disarms it. */
void flow_schedule(struct cgroup_state *cg, struct flow *f, mtime_t was);
void flow_unschedule(struct cgroup_state *cg, struct flow *f);

struct cgpe *cgpe_find(struct cgroup_state *cg, struct flow *f, uint8_t kind,
		       const struct inet_addr *pe, uint8_t role);
/* cgpe_find, and when there is none, where it would go (at may be NULL). */
struct cgpe *cgpe_lookup(struct cgroup_state *cg, struct flow *f, uint8_t kind,
			 const struct inet_addr *pe, uint8_t role, struct cgpe_pos *at);
/* cgpe_find of an upstream row, through the flow's hint first: each record of
 * a flow's joiners asks for the same upstream row (the record's, its refresh
 * or its prune), most often the one asked for last. */
struct cgpe *cgpe_find_upstream(struct cgroup_state *cg, struct flow *f, uint8_t kind,
				const struct inet_addr *pe);
/* A new row, which must not exist; NULL: out of memory. */
struct cgpe *cgpe_insert(struct cgroup_state *cg, struct flow *f, uint8_t kind,
			 const struct inet_addr *pe, uint8_t role, mtime_t now);
/* The same at the place cgpe_lookup gave. */
struct cgpe *cgpe_insert_at(struct cgroup_state *cg, const struct cgpe_pos *at, struct flow *f,
			    uint8_t kind, const struct inet_addr *pe, uint8_t role, mtime_t now);
void cgpe_delete(struct cgroup_state *cg, struct cgpe *r); /* releases its flow reference */
/* Sets the row's timer to its expires, which was `was` until now (a refresh,
 * moving it later, is O(1)); MTIME_NEVER disarms it. */
void cgpe_schedule(struct cgroup_state *cg, struct cgpe *r, mtime_t was);
/* The first row after r with the same group, source and kind, or NULL. */
struct cgpe *cgpe_next_same_flow(struct cgroup_state *cg, struct cgpe *r);
struct cgpe *cgpe_first_of_flow(struct cgroup_state *cg, struct flow *f, uint8_t kind);

/* Append the row's index (without the VPN index) to out. */
/* Every row, every flow, in table order (for a checkpoint of the whole state). */
struct cgpe *cgpe_first(const struct cgroup_state *cg);
struct cgpe *cgpe_next(const struct cgpe *r);
struct flow *flow_first(const struct cgroup_state *cg);
struct flow *flow_next(const struct flow *f);
void flow_oidx(const struct flow *f, struct oidx *out);
void cgpe_oidx(const struct cgpe *r, struct oidx *out);
const struct flow *flow_seek(const struct cgroup_state *cg, const uint32_t *want, size_t wlen,
			     bool after);
const struct cgpe *cgpe_seek(const struct cgroup_state *cg, const uint32_t *want, size_t wlen,
			     bool after);

#endif
