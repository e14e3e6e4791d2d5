/* The passive engine's tables: PEs, C-group to PE, C-group to P-group, changes. */
#include "change_text.h"
#include "daemon.h"
#include "oids.h"

#include "../bgp/bgp.h"
#include "../mib/passive.h"

static const struct model *model_of(void *ctx)
{
	return ((const struct daemon *)ctx)->model;
}

/* ---- mvpnPeTable {vpn, pe} ---- */

static const void *pe_rows(const struct vpn *v, const uint32_t *want, size_t wlen, bool after)
{
	return pe_seek(&v->pes, want, wlen, after);
}

static const void *pe_view_seek(void *ctx, const uint32_t *want, size_t wlen, bool after)
{
	return model_seek_rows(model_of(ctx), pe_rows, want, wlen, after);
}

static void pe_view_index(const void *row, struct oidx *out)
{
	const struct pe *pe = row;

	oidx_reset(out);
	oidx_push(out, pe->vpn_index);
	pe_oidx(pe, out);
}

static bool pe_view_get(void *ctx, const void *row, unsigned col, struct cell *c)
{
	const struct model *m = model_of(ctx);
	const struct pe *pe = row;
	const struct vpn *v;

	switch (col) {
	case COL_PE_STATUS:
		v = vpn_find(m, pe->vpn_index);
		cell_int(c, pe_status(pe, v ? vpn_pe_judging(v) : JUDGE_PIM));
		break;
	case COL_PE_EXPECTED: cell_truth(c, pe->expected); break;
	case COL_PE_FIRST_SEEN: cell_timestamp(c, &m->clock, pe->first_seen); break;
	case COL_PE_FIRST_SEEN_DATE: cell_date(c, &m->clock, pe->first_seen); break;
	case COL_PE_LAST_HELLO: cell_timestamp(c, &m->clock, pe->last_hello); break;
	case COL_PE_LAST_HELLO_DATE: cell_date(c, &m->clock, pe->last_hello); break;
	case COL_PE_HOLD_TIME: cell_gauge(c, pe->holdtime); break;
	case COL_PE_EXPIRES_IN:
		cell_gauge(c, pe->alive && pe->holdtime != PE_HOLDTIME_FOREVER
				      ? seconds_until(m, pe->expires) : 0);
		break;
	case COL_PE_GENERATION_ID: cell_gauge(c, pe->genid); break;
	case COL_PE_DR_PRIORITY: cell_gauge(c, pe->dr_priority); break;
	case COL_PE_RESTARTS: cell_counter64(c, pe->restarts); break;
	case COL_PE_HELLOS: cell_counter64(c, pe->hellos); break;
	case COL_PE_JOIN_PRUNES: cell_counter64(c, pe->join_prunes); break;
	case COL_PE_STATE_CHANGES: cell_counter64(c, pe->changes); break;
	case COL_PE_CADDR_TYPE: cell_addr_type(c, &pe->caddr); break;
	case COL_PE_CADDR: cell_addr(c, &pe->caddr); break;
	case COL_PE_NAME: cell_pe_name(c, m, &pe->addr); break;
	case COL_PE_BGP_ADVERTISED: cell_truth(c, pe->bgp_advertised); break;
	case COL_PE_BGP_ROUTES: cell_gauge(c, pe->bgp_routes); break;
	default: return false;
	}
	return true;
}

/* ---- mvpnCGroupPeTable {vpn, group, source, kind, pe, role} ---- */

static const void *cgpe_rows(const struct vpn *v, const uint32_t *want, size_t wlen, bool after)
{
	return cgpe_seek(&v->cg, want, wlen, after);
}

static const void *cgpe_view_seek(void *ctx, const uint32_t *want, size_t wlen, bool after)
{
	return model_seek_rows(model_of(ctx), cgpe_rows, want, wlen, after);
}

static void cgpe_view_index(const void *row, struct oidx *out)
{
	const struct cgpe *r = row;

	oidx_reset(out);
	oidx_push(out, r->flow->vpn_index);
	cgpe_oidx(r, out);
}

/* The provider group a flow rides on: its data MDT, or its VPN's default MDT. */
static const struct inet_addr *flow_pgroup(const struct model *m, const struct flow *f)
{
	static const struct inet_addr none;
	const struct vpn *v;

	if (f->on_data_mdt)
		return &f->p_group;
	v = vpn_find(m, f->vpn_index);
	return v ? &v->default_mdt : &none;
}

static bool cgpe_view_get(void *ctx, const void *row, unsigned col, struct cell *c)
{
	const struct model *m = model_of(ctx);
	const struct cgpe *r = row;

	switch (col) {
	case COL_CGPE_STATE: cell_int(c, r->state); break;
	case COL_CGPE_OTHER_TYPE: cell_addr_type(c, &r->other); break;
	case COL_CGPE_OTHER: cell_addr(c, &r->other); break;
	case COL_CGPE_JOINERS: cell_gauge(c, r->role == CG_UPSTREAM ? r->joiners : 1); break;
	case COL_CGPE_RP_TYPE: cell_addr_type(c, &r->rp); break;
	case COL_CGPE_RP: cell_addr(c, &r->rp); break;
	case COL_CGPE_PGROUP_TYPE: cell_addr_type(c, flow_pgroup(m, r->flow)); break;
	case COL_CGPE_PGROUP: cell_addr(c, flow_pgroup(m, r->flow)); break;
	case COL_CGPE_HOLD_TIME: cell_gauge(c, r->holdtime); break;
	case COL_CGPE_EXPIRES_IN: cell_gauge(c, seconds_until(m, r->expires)); break;
	case COL_CGPE_FIRST_SEEN: cell_timestamp(c, &m->clock, r->first_seen); break;
	case COL_CGPE_LAST_REFRESH: cell_timestamp(c, &m->clock, r->last_refresh); break;
	case COL_CGPE_LAST_REFRESH_DATE: cell_date(c, &m->clock, r->last_refresh); break;
	case COL_CGPE_REFRESHES: cell_counter64(c, r->refreshes); break;
	case COL_CGPE_FIRST_SEEN_DATE: cell_date(c, &m->clock, r->first_seen); break;
	case COL_CGPE_BGP_ROUTES: cell_gauge(c, r->bgp_routes); break;
	default: return false;
	}
	return true;
}

/* ---- mvpnCGroupPGroupTable {vpn, group, source} ---- */

static const void *flow_rows(const struct vpn *v, const uint32_t *want, size_t wlen, bool after)
{
	return flow_seek(&v->cg, want, wlen, after);
}

static const void *flow_view_seek(void *ctx, const uint32_t *want, size_t wlen, bool after)
{
	return model_seek_rows(model_of(ctx), flow_rows, want, wlen, after);
}

static void flow_view_index(const void *row, struct oidx *out)
{
	const struct flow *f = row;

	oidx_reset(out);
	oidx_push(out, f->vpn_index);
	flow_oidx(f, out);
}

/*
 * The flow's P-tunnel as RFC 8502 (and RFC 6514 5) represents a PIM one: the
 * tunnel type, PIM-SSM when the P-group is in RFC 4607's range and PIM-SM
 * otherwise, and the identifier, sender then P-group.  A data MDT's sender is
 * the PE that announced it; on the default MDT any PE of the VPN sends: the
 * unspecified address.  A VPN with no default MDT (signalled by BGP) has no
 * PIM P-group here: noTunnelInfo(0), its tunnels are in mvpnPTunnelTable.
 */
static uint8_t flow_tunnel(const struct model *m, const struct flow *f, uint8_t *id,
			   size_t *id_len)
{
	const struct inet_addr *group = flow_pgroup(m, f);
	size_t len = inet_addr_len(group);

	*id_len = 0;
	if (group->type == INET_UNKNOWN)
		return PMSI_NONE;
	if (f->on_data_mdt && f->announcer.type == group->type)
		memcpy(id, f->announcer.bytes, len);
	else
		memset(id, 0, len);
	memcpy(id + len, group->bytes, len);
	*id_len = 2 * len;
	return inet_addr_is_ssm(group) ? PMSI_PIM_SSM : PMSI_PIM_SM;
}

static bool flow_view_get(void *ctx, const void *row, unsigned col, struct cell *c)
{
	static const struct inet_addr none;
	const struct model *m = model_of(ctx);
	const struct flow *f = row;
	const struct inet_addr *announcer = f->on_data_mdt ? &f->announcer : &none;

	switch (col) {
	case COL_CGPG_MDT_TYPE: cell_int(c, f->on_data_mdt ? MDT_DATA : MDT_DEFAULT); break;
	case COL_CGPG_PGROUP_TYPE: cell_addr_type(c, flow_pgroup(m, f)); break;
	case COL_CGPG_PGROUP: cell_addr(c, flow_pgroup(m, f)); break;
	case COL_CGPG_PE_TYPE: cell_addr_type(c, announcer); break;
	case COL_CGPG_PE: cell_addr(c, announcer); break;
	case COL_CGPG_FIRST_SEEN: cell_timestamp(c, &m->clock, f->first_seen); break;
	case COL_CGPG_LAST_ANNOUNCED: cell_timestamp(c, &m->clock, f->last_announced); break;
	case COL_CGPG_LAST_ANNOUNCED_DATE: cell_date(c, &m->clock, f->last_announced); break;
	case COL_CGPG_EXPIRES_IN:
		cell_gauge(c, f->on_data_mdt ? seconds_until(m, f->data_expires) : 0);
		break;
	case COL_CGPG_ANNOUNCEMENTS: cell_counter64(c, f->announcements); break;
	case COL_CGPG_SWITCHES: cell_counter64(c, f->switches); break;
	case COL_CGPG_FIRST_SEEN_DATE: cell_date(c, &m->clock, f->first_seen); break;
	case COL_CGPG_TUNNEL_TYPE:
	case COL_CGPG_TUNNEL_ID: {
		size_t id_len; /* the identifier is built in the cell's own buffer */
		uint8_t type = flow_tunnel(m, f, c->buf, &id_len);
		if (col == COL_CGPG_TUNNEL_TYPE)
			cell_int(c, type);
		else
			cell_bytes(c, c->buf, id_len);
		break;
	}
	default: return false;
	}
	return true;
}

/* ---- mvpnChangeTable {index} ---- */

static const void *change_view_seek(void *ctx, const uint32_t *want, size_t wlen, bool after)
{
	return changelog_seek(&model_of(ctx)->changes, want, wlen, after);
}

static void change_view_index(const void *row, struct oidx *out)
{
	change_oidx(row, out);
}

static bool change_view_get(void *ctx, const void *row, unsigned col, struct cell *c)
{
	const struct model *m = model_of(ctx);
	const struct change *ch = row;

	switch (col) {
	case COL_CHANGE_TIME: cell_timestamp(c, &m->clock, ch->when); break;
	case COL_CHANGE_DATE: cell_date(c, &m->clock, ch->when); break;
	case COL_CHANGE_VPN_INDEX: cell_gauge(c, ch->vpn_index); break;
	case COL_CHANGE_KIND: cell_int(c, ch->kind); break;
	case COL_CHANGE_PE_TYPE: cell_addr_type(c, &ch->pe); break;
	case COL_CHANGE_PE: cell_addr(c, &ch->pe); break;
	case COL_CHANGE_CSOURCE_TYPE: cell_addr_type(c, &ch->c_source); break;
	case COL_CHANGE_CSOURCE: cell_addr(c, &ch->c_source); break;
	case COL_CHANGE_CGROUP_TYPE: cell_addr_type(c, &ch->c_group); break;
	case COL_CHANGE_CGROUP: cell_addr(c, &ch->c_group); break;
	case COL_CHANGE_PGROUP_TYPE: cell_addr_type(c, &ch->p_group); break;
	case COL_CHANGE_PGROUP: cell_addr(c, &ch->p_group); break;
	case COL_CHANGE_PREVIOUS:
	case COL_CHANGE_NEW:
		change_value_text(ch, col == COL_CHANGE_NEW ? &ch->current : &ch->previous,
				  (char *)c->buf, sizeof(c->buf));
		cell_string(c, (char *)c->buf);
		break;
	default: return false;
	}
	return true;
}

void views_passive_init(struct daemon *d)
{
	struct table_view *tv;

	tv = &d->views[VIEW_PE];
	view_table(tv, d, "mvpnPeTable", ARC_PE_TABLE, COL_PE_STATUS, COL_PE_LAST);
	tv->seek = pe_view_seek, tv->row_index = pe_view_index, tv->get = pe_view_get;

	tv = &d->views[VIEW_CGROUP_PE];
	view_table(tv, d, "mvpnCGroupPeTable", ARC_CGROUP_PE_TABLE, COL_CGPE_STATE, COL_CGPE_LAST);
	tv->seek = cgpe_view_seek, tv->row_index = cgpe_view_index, tv->get = cgpe_view_get;

	tv = &d->views[VIEW_CGROUP_PGROUP];
	view_table(tv, d, "mvpnCGroupPGroupTable", ARC_CGROUP_PGROUP_TABLE, COL_CGPG_MDT_TYPE,
	      COL_CGPG_LAST);
	tv->seek = flow_view_seek, tv->row_index = flow_view_index, tv->get = flow_view_get;

	tv = &d->views[VIEW_CHANGE];
	view_table(tv, d, "mvpnChangeTable", ARC_CHANGE_TABLE, COL_CHANGE_TIME, COL_CHANGE_LAST);
	tv->seek = change_view_seek, tv->row_index = change_view_index, tv->get = change_view_get;
}
