#include "passive.h"

#include <string.h>

/* ---- counting and the change log ---- */

static void count_refresh(struct model *m, struct vpn *v)
{
	v->counters.refreshes++;
	m->g.refreshes++;
}

static void count_limit_drop(struct model *m, struct vpn *v)
{
	v->counters.limit_drops++;
	m->g.limit_drops++;
}

/* passive_record_change writes each field of a change (changelog_claim does not zero
 * the slot): a field added to struct change must be written there too. */
_Static_assert(sizeof(struct change) == 200, "record_change: write every field of struct change");

void passive_record_change(struct model *m, struct vpn *v, const struct change_what *w, mtime_t now)
{
	static const struct inet_addr none;
	struct change *c = changelog_claim(&m->changes, now);

	if (!w->not_counted) {
		/* Every message-caused change names the PE that sent the message. */
		struct pe *sender = w->pe ? pe_find(&v->pes, w->pe) : NULL;
		if (sender)
			sender->changes++;
		v->counters.changes++;
		m->g.changes++;
	}
	v->last_change = now;
	m->g.last_change = now;
	if ((w->kind == CHANGE_PE_UP || w->kind == CHANGE_PE_DOWN) && w->pe)
		alarms_pe_changed(m, v, pe_find(&v->pes, w->pe));
	if (!c)
		return;
	c->vpn_index = v->index;
	c->kind = w->kind;
	c->pe = w->pe ? *w->pe : none;
	c->peer = none;
	c->c_source = w->c_source ? *w->c_source : none;
	c->c_group = w->c_group ? *w->c_group : none;
	c->p_group = w->p_group ? *w->p_group : none;
	if (w->previous)
		c->previous = *w->previous;
	else
		memset(&c->previous, 0, sizeof(c->previous));
	if (w->current)
		c->current = *w->current;
	else
		memset(&c->current, 0, sizeof(c->current));
	model_change_recorded(m, c);
}

/* ---- PEs, from Hellos ---- */

/* The PE's state as a change records it. */
union change_value passive_pe_value(const struct pe *pe)
{
	return (union change_value){.pe = {.present = 1, .alive = pe->alive,
					   .has_genid = pe->has_genid, .holdtime = pe->holdtime,
					   .genid = pe->genid, .dr_priority = pe->dr_priority,
					   .caddr = pe->caddr}};
}

/* A full table gives up the unexpected PE gone longest for a new one: else
 * PEs that came and went (a spoofed flood that stopped, say) would keep a
 * real new PE out until a restart.  Logged as peReclaimed; not a state change. */
static bool reclaim_departed_pe(struct model *m, struct vpn *v, mtime_t now)
{
	struct pe *victim = pe_oldest_departed(&v->pes);

	if (!victim)
		return false;
	union change_value before = {.reclaim = {.present = 1, .hellos = victim->hellos}};
	passive_record_change(m, v, &(struct change_what){.kind = CHANGE_PE_RECLAIMED, .not_counted = true,
				.pe = &victim->addr, .previous = &before}, now);
	alarms_pe_removed(m, v, victim, "the PE's row was reclaimed");
	pe_delete(&v->pes, victim);
	m->g.pe_rows_reclaimed++;
	return true;
}

struct pe *passive_pe_row(struct model *m, struct vpn *v, const struct inet_addr *addr,
			  mtime_t now)
{
	struct pe *pe = pe_find(&v->pes, addr);

	if (pe)
		return pe;
	if ((v->pes.n >= m->settings.max_pes_per_vpn && !reclaim_departed_pe(m, v, now)) ||
	    !(pe = pe_insert(&v->pes, v->index, addr))) {
		count_limit_drop(m, v);
		return NULL;
	}
	return pe;
}

static uint8_t hello_change_kind(const struct pe *pe, const struct hello_event *e, uint16_t hold,
				 uint32_t dr)
{
	if (!pe->alive)
		return hold ? CHANGE_PE_UP : 0; /* a goodbye from a PE already gone restates that */
	if (hold == 0)
		return CHANGE_PE_DOWN;
	if (e->has_genid && pe->has_genid && e->genid != pe->genid)
		return CHANGE_PE_RESTART;
	if (hold != pe->holdtime || dr != pe->dr_priority || e->has_genid != pe->has_genid ||
	    !inet_addr_eq(&e->caddr, &pe->caddr))
		return CHANGE_PE_CHANGE;
	return 0;
}

void passive_hello(struct model *m, struct vpn *v, const struct hello_event *e)
{
	mtime_t now = mclock_now(&m->clock);
	struct pe *pe = passive_pe_row(m, v, &e->pe, now);
	union change_value before = {.present = 0}, after;

	if (!pe)
		return;
	uint16_t hold = e->has_holdtime ? e->holdtime : HELLO_DEFAULT_HOLDTIME;
	uint32_t dr = e->has_dr_priority ? e->dr_priority : 1; /* RFC 7761 default priority */
	uint8_t kind = hello_change_kind(pe, e, hold, dr);

	if (kind && pe->hellos) /* else a new row: nothing before */
		before = passive_pe_value(pe);
	pe->hellos++;
	if (kind == CHANGE_PE_RESTART)
		pe->restarts++;
	if (!pe->first_seen)
		pe->first_seen = now;
	pe->last_hello = now;
	pe_set_caddr(&v->pes, pe, &e->caddr);
	pe->holdtime = hold;
	pe->dr_priority = dr;
	pe->has_genid = e->has_genid;
	pe->genid = e->has_genid ? e->genid : 0;
	pe->alive = hold != 0;
	pe->expires = now + (mtime_t)hold * MTIME_SEC;
	pe_schedule(&v->pes, pe);
	if (!kind) {
		count_refresh(m, v);
		return;
	}
	after = passive_pe_value(pe);
	passive_record_change(m, v, &(struct change_what){.kind = kind, .pe = &pe->addr,
				.previous = &before, .current = &after}, now);
}

void passive_jp_message(struct model *m, struct vpn *v, const struct inet_addr *sender)
{
	struct pe *pe = pe_find(&v->pes, sender);

	(void)m;
	if (pe)
		pe->join_prunes++;
}

/* ---- C-group to PE rows, from Join/Prune records ---- */

/* "%s via %s hold %us": joined or pruned, the other end, the hold time. */
union change_value passive_row_value(const struct cgpe *r)
{
	return (union change_value){.row = {.present = 1, .cg_kind = (uint8_t)r->kind,
					    .state = (uint8_t)r->state, .holdtime = r->holdtime,
					    .upstream = r->other, .rp = r->rp}};
}

/* The upstream neighbor as a PE's provider address, when a Hello told us its C-address. */
static struct inet_addr upstream_pe(const struct vpn *v, const struct inet_addr *named)
{
	const struct pe *pe = pe_find_by_caddr(&v->pes, named);
	return pe ? pe->addr : *named;
}

/* The upstream row r (NULL: there is none yet, make it) gains the joiner down. */
static void upstream_add(struct vpn *v, struct cgpe *r, struct cgpe *down,
			 const struct inet_addr *up, mtime_t now)
{
	if (!r && !(r = cgpe_insert(&v->cg, down->flow, down->kind, up, CG_UPSTREAM, now)))
		return; /* out of memory: the downstream row still tells the story */
	r->state = down->state;
	r->joiners++;
	r->other = down->pe;
	r->rp = down->rp;
	r->holdtime = down->holdtime;
	r->last_refresh = now;
	if (down->expires > r->expires)
		r->expires = down->expires;
}

static void upstream_join(struct vpn *v, struct cgpe *down, const struct inet_addr *up, mtime_t now)
{
	upstream_add(v, cgpe_find_upstream(&v->cg, down->flow, down->kind, up), down, up, now);
}

static void upstream_refresh(struct vpn *v, struct cgpe *down, mtime_t now)
{
	struct cgpe *r = cgpe_find_upstream(&v->cg, down->flow, down->kind, &down->other);

	if (!r)
		return;
	r->other = down->pe;
	r->holdtime = down->holdtime;
	r->last_refresh = now;
	r->refreshes++;
	if (down->expires > r->expires)
		r->expires = down->expires;
}

/*
 * After a joiner left: the upstream row's latest joiner and expiry come from
 * those that remain.  They sit next to each other in the tree (same group,
 * source and kind), so this reads only that short run of rows.
 */
static void upstream_recompute(struct vpn *v, struct cgpe *up, const struct cgpe *leaving)
{
	const struct cgpe *latest = NULL;

	up->expires = 0;
	for (struct cgpe *r = cgpe_first_of_flow(&v->cg, up->flow, up->kind); r;
	     r = cgpe_next_same_flow(&v->cg, r)) {
		if (r == leaving || r->role != CG_DOWNSTREAM || !inet_addr_eq(&r->other, &up->pe))
			continue;
		if (!latest || r->last_refresh > latest->last_refresh)
			latest = r;
		if (r->expires > up->expires)
			up->expires = r->expires;
	}
	if (latest) {
		up->other = latest->pe;
		up->holdtime = latest->holdtime;
		up->last_refresh = latest->last_refresh;
	}
}

static void upstream_leave(struct vpn *v, struct cgpe *down)
{
	struct cgpe *r = cgpe_find_upstream(&v->cg, down->flow, down->kind, &down->other);

	if (!r)
		return;
	if (--r->joiners == 0)
		cgpe_delete(&v->cg, r);
	else
		upstream_recompute(v, r, down);
}

static void row_set_timers(struct vpn *v, struct cgpe *r, const struct jp_event *e, mtime_t now)
{
	r->holdtime = e->holdtime;
	r->last_refresh = now;
	mtime_t was = r->expires;
	r->expires = e->holdtime == JP_HOLD_FOREVER ? MTIME_NEVER
						    : now + (mtime_t)e->holdtime * MTIME_SEC;
	cgpe_schedule(&v->cg, r, was);
}

/* Would the rows a record adds still fit the cap? */
static bool rows_fit(const struct model *m, const struct vpn *v, uint32_t adding, uint32_t freeing)
{
	return (uint64_t)v->cg.n_rows - freeing + adding <= m->settings.max_cgroups_per_vpn;
}

/* Where a record's flow and downstream row are, or would go: one descent each. */
struct row_place {
	struct flow *flow; /* NULL: no such flow yet, flow_at says where it goes */
	struct flow_pos flow_at;
	struct cgpe_pos row_at; /* where the downstream row goes, when flow is set */
};

static void row_create(struct model *m, struct vpn *v, const struct row_place *pl,
		       const struct jp_event *e, const struct inet_addr *source,
		       const struct inet_addr *up, mtime_t now)
{
	/* A new downstream row, and its upstream row unless another joiner made it:
	 * room for both, or neither. */
	struct flow *f = pl->flow;
	struct cgpe *up_row = f ? cgpe_find_upstream(&v->cg, f, e->kind, up) : NULL;
	if (!rows_fit(m, v, up_row ? 1 : 2, 0)) {
		count_limit_drop(m, v);
		return;
	}
	if (!f)
		f = flow_insert_at(&v->cg, &pl->flow_at, v->index, &e->group, source, now);
	struct cgpe *r = !f ? NULL
		: pl->flow ? cgpe_insert_at(&v->cg, &pl->row_at, f, e->kind, &e->sender,
					    CG_DOWNSTREAM, now)
			   : cgpe_insert(&v->cg, f, e->kind, &e->sender, CG_DOWNSTREAM, now);
	union change_value after;

	if (!r) {
		if (f)
			flow_release(&v->cg, f);
		count_limit_drop(m, v);
		return;
	}
	r->state = e->kind == CG_SG_RPT ? CG_PRUNED : CG_JOINED;
	r->other = *up;
	if (e->kind == CG_STAR_G)
		r->rp = e->source;
	r->joiners = 1;
	row_set_timers(v, r, e, now);
	upstream_add(v, up_row, r, up, now); /* up_row NULL: none before, none now */
	after = passive_row_value(r);
	passive_record_change(m, v, &(struct change_what){
		.kind = e->kind == CG_SG_RPT ? CHANGE_PRUNE : CHANGE_JOIN, .pe = &e->sender,
		.c_source = source, .c_group = &e->group, .current = &after}, now);
}

static void row_restate(struct model *m, struct vpn *v, struct cgpe *r, const struct jp_event *e,
			const struct inet_addr *up, mtime_t now)
{
	bool same = inet_addr_eq(&r->other, up) &&
		    (e->kind != CG_STAR_G || inet_addr_eq(&r->rp, &e->source));
	union change_value before, after;

	if (same) {
		r->refreshes++;
		row_set_timers(v, r, e, now);
		upstream_refresh(v, r, now);
		count_refresh(m, v);
		return;
	}
	/* The PE now joins through another upstream neighbor (or towards another RP).
	 * A new upstream row must fit, counting the one this row leaves if it is the
	 * last joiner there; if it does not, the record is dropped and the row stays. */
	if (!cgpe_find_upstream(&v->cg, r->flow, r->kind, up)) {
		const struct cgpe *old = cgpe_find_upstream(&v->cg, r->flow, r->kind, &r->other);
		if (!rows_fit(m, v, 1, old && old->joiners == 1)) {
			count_limit_drop(m, v);
			return;
		}
	}
	before = passive_row_value(r);
	upstream_leave(v, r);
	r->other = *up;
	if (e->kind == CG_STAR_G)
		r->rp = e->source;
	row_set_timers(v, r, e, now);
	upstream_join(v, r, up, now);
	after = passive_row_value(r);
	passive_record_change(m, v, &(struct change_what){
		.kind = e->kind == CG_SG_RPT ? CHANGE_PRUNE : CHANGE_JOIN, .pe = &r->pe,
		.c_source = &r->flow->source, .c_group = &r->flow->group, .previous = &before,
		.current = &after}, now);
}

static void row_remove(struct model *m, struct vpn *v, struct cgpe *r, uint8_t kind, mtime_t now)
{
	bool not_counted = kind == CHANGE_EXPIRY;
	union change_value before;
	struct inet_addr pe = r->pe, group = r->flow->group, source = r->flow->source;

	before = passive_row_value(r);
	upstream_leave(v, r);
	cgpe_delete(&v->cg, r);
	passive_record_change(m, v, &(struct change_what){.kind = kind, .not_counted = not_counted, .pe = &pe,
				.c_source = &source, .c_group = &group, .previous = &before}, now);
}

void passive_jp_record(struct model *m, struct vpn *v, const struct jp_event *e)
{
	static const struct inet_addr no_source;
	mtime_t now = mclock_now(&m->clock);
	const struct inet_addr *source = e->kind == CG_STAR_G ? &no_source : &e->source;
	struct inet_addr up = upstream_pe(v, &e->upstream);
	/* Joins make (*,G)/(S,G) state; for (S,G,rpt) it is the prune that makes state. */
	bool makes_state = e->join != (e->kind == CG_SG_RPT);
	struct row_place pl;
	struct cgpe *r = NULL;

	pl.flow = flow_lookup(&v->cg, &e->group, source, &pl.flow_at);
	if (pl.flow)
		r = cgpe_lookup(&v->cg, pl.flow, e->kind, &e->sender, CG_DOWNSTREAM, &pl.row_at);

	if (makes_state && r)
		row_restate(m, v, r, e, &up, now);
	else if (makes_state)
		row_create(m, v, &pl, e, source, &up, now);
	else if (r)
		row_remove(m, v, r, e->kind == CG_SG_RPT ? CHANGE_JOIN : CHANGE_PRUNE, now);
	else
		count_refresh(m, v); /* removing state nobody holds restates what we know */
}

/* ---- C-multicast routes: rows BGP holds ---- */

static struct cgpe *downstream_row(struct vpn *v, const struct jp_event *e)
{
	static const struct inet_addr no_source;
	struct flow *f = flow_find(&v->cg, &e->group, e->kind == CG_STAR_G ? &no_source : &e->source);

	return f ? cgpe_find(&v->cg, f, e->kind, &e->sender, CG_DOWNSTREAM) : NULL;
}

/* The last route holding r went: it is held bgp_settle more, then expires. */
static void bgp_row_settle(struct model *m, struct vpn *v, struct cgpe *r, mtime_t now)
{
	mtime_t was = r->expires;

	r->expires = now + m->settings.bgp_settle;
	cgpe_schedule(&v->cg, r, was);
	struct cgpe *up = cgpe_find_upstream(&v->cg, r->flow, r->kind, &r->other);
	if (up)
		upstream_recompute(v, up, NULL);
}

/* The route restates what the row holds: the same upstream (and RP). */
static bool bgp_row_same(const struct cgpe *r, const struct jp_event *e)
{
	return inet_addr_eq(&r->other, &e->upstream) &&
	       (e->kind != CG_STAR_G || inet_addr_eq(&r->rp, &e->source));
}

bool passive_bgp_join(struct model *m, struct vpn *v, const struct jp_event *e, bool add)
{
	struct jp_event held = *e;
	struct cgpe *r = downstream_row(v, e);

	if (add && m->bgp_recounting && r && bgp_row_same(r, e) && r->expires == MTIME_NEVER) {
		r->bgp_routes++; /* counted again, not heard again */
		return true;
	}
	if (add) {
		held.holdtime = JP_HOLD_FOREVER;
		held.join = true;
		passive_jp_record(m, v, &held);
		if (!(r = downstream_row(v, &held)))
			return false; /* a cap refused it */
		r->bgp_routes++;
		/* Held by the route whatever the record did: a move upstream that the
		 * cap refused leaves a settling row's deadline otherwise. */
		if (r->expires != MTIME_NEVER) {
			mtime_t was = r->expires;
			r->expires = MTIME_NEVER;
			cgpe_schedule(&v->cg, r, was);
			struct cgpe *up = cgpe_find_upstream(&v->cg, r->flow, r->kind, &r->other);
			if (up)
				upstream_recompute(v, up, NULL);
		}
		return true;
	}
	/* A route counted on no row (a cap refused it) withdraws nothing. */
	if (!r || !r->bgp_routes || --r->bgp_routes)
		return true;
	bgp_row_settle(m, v, r, mclock_now(&m->clock));
	return true;
}

void passive_bgp_recount_begin(struct model *m)
{
	m->bgp_recounting = true;
	for (size_t i = 0; i < m->n_vpns; i++) {
		struct vpn *v = m->vpns[i];
		for (struct cgpe *r = v->bgp_signalled ? cgpe_first(&v->cg) : NULL; r; r = cgpe_next(r))
			r->bgp_routes = 0;
	}
}

void passive_bgp_recount_end(struct model *m, mtime_t now)
{
	m->bgp_recounting = false;
	for (size_t i = 0; i < m->n_vpns; i++) {
		struct vpn *v = m->vpns[i];
		for (struct cgpe *r = v->bgp_signalled ? cgpe_first(&v->cg) : NULL; r; r = cgpe_next(r))
			if (r->role == CG_DOWNSTREAM && !r->bgp_routes && r->expires == MTIME_NEVER)
				bgp_row_settle(m, v, r, now); /* moves no row: the walk goes on */
	}
}

/* ---- customer flows to data MDTs, from MDT Join TLVs ---- */

/* On the default MDT (present 0), or the data MDT and its announcer. */
union change_value passive_flow_value(const struct flow *f)
{
	if (!f->on_data_mdt)
		return (union change_value){.flow = {.present = 0}};
	return (union change_value){.flow = {.present = 1, .p_group = f->p_group,
					     .announcer = f->announcer}};
}

void passive_mdt_join(struct model *m, struct vpn *v, const struct mdt_event *e)
{
	mtime_t now = mclock_now(&m->clock);
	struct flow *f = flow_find(&v->cg, &e->c_group, &e->c_source);
	union change_value before, after;
	uint8_t kind;

	if (f && f->on_data_mdt && inet_addr_eq(&f->p_group, &e->p_group) &&
	    inet_addr_eq(&f->announcer, &e->announcer)) {
		f->announcements++;
		f->last_announced = now;
		mtime_t was = f->data_expires;
		f->data_expires = now + DATA_MDT_HOLD_SECONDS * MTIME_SEC;
		flow_schedule(&v->cg, f, was);
		count_refresh(m, v);
		return;
	}
	if (!(f && f->on_data_mdt) && v->cg.n_data >= m->settings.max_data_mdts_per_vpn) {
		count_limit_drop(m, v);
		return;
	}
	if (!f && !(f = flow_get(&v->cg, v->index, &e->c_group, &e->c_source, now))) {
		count_limit_drop(m, v);
		return;
	}
	before = passive_flow_value(f);
	if (f->on_data_mdt) {
		kind = CHANGE_DATA_MDT_SWITCH;
		f->switches++;
	} else {
		kind = CHANGE_DATA_MDT_UP;
		f->on_data_mdt = true;
		v->cg.n_data++;
	}
	f->p_group = e->p_group;
	f->announcer = e->announcer;
	f->announcements++;
	f->last_announced = now;
	mtime_t was = f->data_expires;
	f->data_expires = now + DATA_MDT_HOLD_SECONDS * MTIME_SEC;
	flow_schedule(&v->cg, f, was);
	after = passive_flow_value(f);
	passive_record_change(m, v, &(struct change_what){.kind = kind, .pe = &e->announcer,
				.c_source = &e->c_source, .c_group = &e->c_group,
				.p_group = &e->p_group, .previous = &before, .current = &after}, now);
}

/* ---- expiry ----
 * One heap holds every deadline of every VPN (timers.h): each pass pops only
 * what is due, in deadline order, and each timer leads back to its VPN. */

static void expire_pe(struct model *m, struct vpn *v, struct pe *pe)
{
	union change_value before = passive_pe_value(pe);

	pe->alive = false;
	pe_schedule(&v->pes, pe); /* onto the departed list */
	union change_value after = passive_pe_value(pe);
	passive_record_change(m, v, &(struct change_what){.kind = CHANGE_PE_DOWN, .not_counted = true,
				.pe = &pe->addr, .previous = &before, .current = &after},
		      pe->expires);
}

static void expire_data_mdt(struct model *m, struct vpn *v, struct flow *f)
{
	struct inet_addr group = f->group, source = f->source, pgroup = f->p_group,
			 announcer = f->announcer;
	mtime_t when = f->data_expires;
	union change_value before = passive_flow_value(f);

	f->on_data_mdt = false;
	v->cg.n_data--;
	flow_release(&v->cg, f);
	passive_record_change(m, v, &(struct change_what){.kind = CHANGE_DATA_MDT_DOWN,
				.not_counted = true, .pe = &announcer, .c_source = &source, .c_group = &group,
				.p_group = &pgroup, .previous = &before}, when);
}

void passive_expire(struct model *m, mtime_t now)
{
	struct timer *t;

	/* Nothing due: one comparison, the common case per packet. */
	while ((t = timers_pop_due(&m->timers, now))) {
		/* A binary search of the VPN array: the timer keeps an index, not a
		 * pointer, so that it stays 16 bytes inside every row. */
		struct vpn *v = vpn_find(m, t->vpn_index);
		switch (timer_kind(t)) {
		case TIMER_PE:
			expire_pe(m, v, TIMER_OWNER(t, struct pe));
			break;
		case TIMER_ROW: {
			struct cgpe *r = TIMER_OWNER(t, struct cgpe);
			row_remove(m, v, r, CHANGE_EXPIRY, r->expires);
			break;
		}
		case TIMER_DATA_MDT:
			expire_data_mdt(m, v, TIMER_OWNER(t, struct flow));
			break;
		}
	}
}

/* ---- restoring what the history knew (at start, agent/history.c) ----
 * No change is recorded and no counter moves: these rows existed before the
 * restart.  A live row is taken as refreshed at `now`, the restart: its last
 * refresh is not in the history, and an earlier guess would expire (and log
 * as gone) a row that its PE kept alive all along; a later expiry, by at most
 * one hold time, is the price. */

bool passive_restore_pe(struct model *m, struct vpn *v, const struct inet_addr *addr,
			const struct change_pe_value *val, mtime_t first_seen, mtime_t now)
{
	struct pe *pe = pe_find(&v->pes, addr);

	if (!val->present)
		return true; /* expected and never heard: the configuration made its row */
	if (!pe && (v->pes.n >= m->settings.max_pes_per_vpn ||
		    !(pe = pe_insert(&v->pes, v->index, addr))))
		return false;
	pe_set_caddr(&v->pes, pe, &val->caddr);
	pe->holdtime = val->holdtime;
	pe->dr_priority = val->dr_priority;
	pe->has_genid = val->has_genid;
	pe->genid = val->genid;
	pe->alive = val->alive;
	pe->hellos = 1; /* heard before: a Hello now is no new PE */
	pe->first_seen = first_seen ? first_seen : now;
	pe->last_hello = now;
	pe->expires = now + (mtime_t)val->holdtime * MTIME_SEC;
	pe_schedule(&v->pes, pe);
	return true;
}

bool passive_restore_row(struct model *m, struct vpn *v, const struct inet_addr *source,
			 const struct inet_addr *group, const struct inet_addr *pe_addr,
			 const struct change_row_value *val, mtime_t now)
{
	if (!val->present || !rows_fit(m, v, 2, 0))
		return !val->present;
	struct flow *f = flow_get(&v->cg, v->index, group, source, now);
	struct cgpe *r = f ? cgpe_insert(&v->cg, f, val->cg_kind, pe_addr, CG_DOWNSTREAM, now)
			   : NULL;
	if (!r) {
		if (f)
			flow_release(&v->cg, f);
		return false;
	}
	r->state = val->state;
	r->other = val->upstream;
	r->rp = val->rp;
	r->joiners = 1;
	r->holdtime = val->holdtime;
	r->last_refresh = now;
	mtime_t was = r->expires;
	/* A row held until cancelled stays so; one BGP held is held as a route
	 * withdrawn is, until its route is heard again (the routers reconnect). */
	if (val->holdtime != JP_HOLD_FOREVER)
		r->expires = now + (mtime_t)val->holdtime * MTIME_SEC;
	else
		r->expires = v->bgp_signalled ? now + m->settings.bgp_settle : MTIME_NEVER;
	cgpe_schedule(&v->cg, r, was);
	upstream_join(v, r, &val->upstream, now);
	return true;
}

bool passive_restore_flow(struct model *m, struct vpn *v, const struct inet_addr *source,
			  const struct inet_addr *group, const struct change_flow_value *val,
			  mtime_t now)
{
	if (!val->present)
		return true;
	if (v->cg.n_data >= m->settings.max_data_mdts_per_vpn)
		return false;
	struct flow *f = flow_get(&v->cg, v->index, group, source, now);
	if (!f)
		return false;
	if (!f->on_data_mdt)
		v->cg.n_data++;
	f->on_data_mdt = true;
	f->p_group = val->p_group;
	f->announcer = val->announcer;
	f->last_announced = now;
	mtime_t was = f->data_expires;
	f->data_expires = now + DATA_MDT_HOLD_SECONDS * MTIME_SEC;
	flow_schedule(&v->cg, f, was);
	return true;
}
