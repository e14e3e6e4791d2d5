/*
 * What the passive engine tells the model, one record at a time, and what the
 * model makes of it (patent claim 1): a record that restates known state is a
 * refresh (counted, otherwise dropped); one that changes state is a change
 * (counted, the previous record written to the change log, then applied).
 * Caps from the configuration bound every table: what does not fit is counted
 * as a state-limit drop, and nothing already known is evicted.
 */
#ifndef MVPN_PASSIVE_H
#define MVPN_PASSIVE_H

#include "model.h"

/* RFC 7761 4.11: a Hello without the Hold Time option means 3.5 x 30 s. */
#define HELLO_DEFAULT_HOLDTIME 105
/* RFC 7761 4.9.5: a Join/Prune Hold Time of 0xFFFF holds the state until a
 * Join/Prune cancels it; a C-multicast route's row is held so (its route). */
#define JP_HOLD_FOREVER 0xFFFF
/* RFC 6037 as deployed: receivers keep a data-MDT announcement this long. */
#define DATA_MDT_HOLD_SECONDS 180

struct hello_event {
	struct inet_addr pe;    /* outer source: the PE's provider address */
	struct inet_addr caddr; /* inner source: its address in the C-instance */
	bool has_holdtime, has_genid, has_dr_priority;
	uint16_t holdtime;
	uint32_t genid, dr_priority;
};

struct jp_event {
	struct inet_addr sender;   /* provider address of the PE that sent it: downstream */
	struct inet_addr upstream; /* the upstream neighbor named (a C-instance address) */
	uint16_t holdtime;
	struct inet_addr group, source; /* source: the RP for (*,G) */
	uint8_t kind;                   /* enum cg_kind */
	bool join;
};

struct mdt_event {
	struct inet_addr announcer; /* provider address of the PE that sent it */
	struct inet_addr c_source, c_group, p_group;
};

void passive_hello(struct model *m, struct vpn *v, const struct hello_event *e);
/* Once per Join/Prune message, before its records. */
void passive_jp_message(struct model *m, struct vpn *v, const struct inet_addr *sender);
void passive_jp_record(struct model *m, struct vpn *v, const struct jp_event *e);
void passive_mdt_join(struct model *m, struct vpn *v, const struct mdt_event *e);
/*
 * A C-multicast route (RFC 6514 4.6, 11.1.3) of a BGP-signalled VPN: a
 * Join held by BGP.  e->sender is the downstream PE that advertised it,
 * e->upstream the PE its Route Target names, e->holdtime is ignored.  A
 * route (add) joins as a Join/Prune record with Hold Time JP_HOLD_FOREVER
 * would, and counts on the downstream row; when the last route holding a
 * row is withdrawn, the row is held settings.bgp_settle more, then expires
 * (a route back in time refreshes it), as a PE's advertisement does
 * (mib/bgpmdt.h): a BMP session that restarts changes nothing.  False: an
 * added route was not counted (a cap refused its rows); its withdrawal must
 * then not be given (bgp/refused.h).
 */
bool passive_bgp_join(struct model *m, struct vpn *v, const struct jp_event *e, bool add);
/* Every route counted again (a reload): begin forgets the rows' counts, the
 * routes are joined again (while m->bgp_recounting a route that restates a
 * row only counts: no refresh, no record), end holds for settle a row no
 * route counted.  Called by bgpmdt_recount_begin/_end. */
void passive_bgp_recount_begin(struct model *m);
void passive_bgp_recount_end(struct model *m, mtime_t now);
/* Expires every PE, row and data MDT whose time has come by now (deadline <=
 * now), soonest first, across all VPNs.  Cheap to call per packet: one
 * comparison when nothing is due, O(log n) per expiry in the n timers armed,
 * whatever the number of VPNs.  model_next_deadline() says when to call it. */
void passive_expire(struct model *m, mtime_t now);

/* A change, as the engines' verbs record it (passive_record_change). */
struct change_what {
	uint8_t kind;
	bool not_counted; /* an expiry or a reclaimed row: logged, but no message changed it */
	const struct inet_addr *pe, *c_source, *c_group, *p_group;
	const union change_value *previous, *current; /* NULL: nothing */
};

/* Writes the change into the log (and to the observer), counts it for the VPN
 * and, unless not_counted, for the PE that caused it; marks a PE that came up
 * or went down for the alarms. */
void passive_record_change(struct model *m, struct vpn *v, const struct change_what *w,
			   mtime_t now);
/* The PE's row, made if need be: a full table gives up its oldest departed PE
 * first (logged as peReclaimed).  NULL, counted as a state-limit drop, when
 * there is no room or no memory. */
struct pe *passive_pe_row(struct model *m, struct vpn *v, const struct inet_addr *addr,
			  mtime_t now);

/* A PE's, a downstream row's and a flow's state as a change records it
 * (mib/changelog.h): what the history's checkpoints store too. */
union change_value passive_pe_value(const struct pe *pe);
union change_value passive_row_value(const struct cgpe *r);
union change_value passive_flow_value(const struct flow *f);

/* What the history knew before a restart, put back without recording a
 * change: a PE (its value as a change records it), a downstream C-group->PE
 * row (its upstream row follows), a flow on a data MDT.  Live ones count as
 * refreshed at now.  False when a cap or memory refused it. */
bool passive_restore_pe(struct model *m, struct vpn *v, const struct inet_addr *addr,
			const struct change_pe_value *val, mtime_t first_seen, mtime_t now);
bool passive_restore_row(struct model *m, struct vpn *v, const struct inet_addr *source,
			 const struct inet_addr *group, const struct inet_addr *pe,
			 const struct change_row_value *val, mtime_t now);
bool passive_restore_flow(struct model *m, struct vpn *v, const struct inet_addr *source,
			  const struct inet_addr *group, const struct change_flow_value *val,
			  mtime_t now);

#endif
