#include "bgpmdt.h"

#include "passive.h"

/* Every PE of the VPN judged again: whether BGP is compared at all changed. */
static void all_pes_changed(struct model *m, struct vpn *v)
{
	for (size_t i = 0; i < v->pes.n; i++)
		alarms_pe_changed(m, v, v->pes.v[i]);
}

static void set_advertised(struct model *m, struct vpn *v, struct pe *pe, bool on, mtime_t now)
{
	bool was_judged = vpn_bgp_judged(v);
	uint8_t routes = pe->bgp_routes > 255 ? 255 : (uint8_t)pe->bgp_routes;
	union change_value before = {.status = {.present = pe->bgp_advertised, .status = 0}};
	union change_value after = {.status = {.present = on, .status = routes}};

	pe->bgp_advertised = on;
	pe->bgp_changed = now;
	pe->bgp_settling = false;
	if (on)
		v->n_bgp_pes++;
	else
		v->n_bgp_pes--;
	if (v->expect_bgp)
		pe->expected = on;
	passive_record_change(m, v, &(struct change_what){.kind = CHANGE_PE_BGP, .pe = &pe->addr,
				.previous = before.present ? &before : NULL,
				.current = on ? &after : NULL}, now);
	if (vpn_bgp_judged(v) != was_judged) {
		v->bgp_since = now;
		all_pes_changed(m, v);
	} else {
		alarms_pe_changed(m, v, pe);
	}
}

/* A row nothing keeps (not configured, never heard, not advertised) goes. */
static bool drop_if_unkept(struct model *m, struct vpn *v, struct pe *pe)
{
	if (pe->expected || pe->first_seen || pe->bgp_advertised)
		return false;
	alarms_pe_removed(m, v, pe, "BGP no longer advertises the PE");
	pe_delete(&v->pes, pe);
	return true;
}

static void withdraw(struct model *m, struct vpn *v, struct pe *pe, mtime_t now)
{
	set_advertised(m, v, pe, false, now);
	drop_if_unkept(m, v, pe);
}

/* The last route went: the withdrawal waits for settle, and a PE check is due then. */
static void start_settling(struct model *m, struct vpn *v, struct pe *pe, mtime_t now)
{
	pe->bgp_settling = true;
	pe->bgp_lost = now;
	if (!m->settings.bgp_settle)
		withdraw(m, v, pe, now);
	else
		alarms_wake_pe_check(m, now + m->settings.bgp_settle);
}

bool vpn_bgp_route(struct model *m, struct vpn *v, const struct inet_addr *addr, bool add,
		   mtime_t now)
{
	struct pe *pe = pe_find(&v->pes, addr);

	if (!add) {
		/* A route counted nowhere (its row found no room) withdraws nothing. */
		if (!pe || !pe->bgp_routes)
			return true;
		if (--pe->bgp_routes == 0 && pe->bgp_advertised)
			start_settling(m, v, pe, now);
		return true;
	}
	if (!pe && !(pe = passive_pe_row(m, v, addr, now)))
		return false;
	pe->bgp_routes++;
	pe->bgp_settling = false;
	if (!pe->bgp_advertised)
		set_advertised(m, v, pe, true, now);
	return true;
}

void vpn_bgp_settle(struct model *m, struct vpn *v, mtime_t now)
{
	if (!v->n_bgp_pes)
		return;
	for (size_t i = v->pes.n; i-- > 0;) { /* backwards: a row may go */
		struct pe *pe = v->pes.v[i];
		if (!pe->bgp_settling)
			continue;
		if (now - pe->bgp_lost >= m->settings.bgp_settle)
			withdraw(m, v, pe, now);
		else
			alarms_wake_pe_check(m, pe->bgp_lost + m->settings.bgp_settle);
	}
}

void vpn_set_expect_bgp(struct model *m, struct vpn *v, bool on, mtime_t now)
{
	bool was_judged = vpn_bgp_judged(v);

	if (v->expect_bgp == on)
		return;
	v->expect_bgp = on;
	if (vpn_bgp_judged(v) != was_judged)
		v->bgp_since = now;
	for (size_t i = v->pes.n; i-- > 0;) {
		struct pe *pe = v->pes.v[i];
		pe->expected = on ? pe->bgp_advertised : vpn_expects(v, &pe->addr);
		if (!drop_if_unkept(m, v, pe))
			alarms_pe_changed(m, v, pe);
	}
}

void bgpmdt_recount_begin(struct model *m)
{
	passive_bgp_recount_begin(m);
	for (size_t i = 0; i < m->n_vpns; i++) {
		struct vpn *v = m->vpns[i];
		for (size_t k = 0; v->n_bgp_pes && k < v->pes.n; k++)
			v->pes.v[k]->bgp_routes = 0;
	}
}

void bgpmdt_recount_end(struct model *m, mtime_t now)
{
	passive_bgp_recount_end(m, now);
	for (size_t i = 0; i < m->n_vpns; i++) {
		struct vpn *v = m->vpns[i];
		for (size_t k = v->pes.n; v->n_bgp_pes && k-- > 0;) {
			struct pe *pe = v->pes.v[k];
			if (!pe->bgp_advertised || pe->bgp_routes || pe->bgp_settling)
				continue;
			start_settling(m, v, pe, now);
		}
	}
}
