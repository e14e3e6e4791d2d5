/* The MIB's scalar group and tables, read straight from the model. */
#include "daemon.h"
#include "history.h"
#include "notify.h"
#include "oids.h"

#include "../mib/locate.h"
#include "../probe/engine.h"

static const oid objects_oid[] = {MVPN_OID_OBJECTS};

const char *pe_display_name(const struct model *m, const struct inet_addr *a,
			    char buf[INET_ADDR_STRLEN])
{
	const char *name = pe_names_find(&m->pe_names, a);

	return name ? name : inet_addr_format(a, buf);
}

void cell_pe_name(struct cell *c, const struct model *m, const struct inet_addr *a)
{
	_Static_assert(sizeof(c->buf) >= INET_ADDR_STRLEN, "an address's text fits a cell");
	const char *text = pe_display_name(m, a, (char *)c->buf);

	cell_string(c, text);
}

/* mvpnHistoryStatus: off(1), ok(2), failing(3): the store refuses and
 * records wait, losing(4): records are being dropped. */
static void history_cell(const struct daemon *d, unsigned col, struct cell *c)
{
	struct hist_stats st;
	bool on = history_stats(d, &st);

	if (!on)
		memset(&st, 0, sizeof(st));
	switch (col) {
	case COL_HISTORY_STATUS: cell_int(c, !on ? 1 : st.losing ? 4 : !st.store_ok ? 3 : 2); break;
	case COL_HISTORY_QUEUED: cell_gauge(c, st.queued); break;
	case COL_HISTORY_PERSISTED: cell_counter64(c, st.persisted); break;
	case COL_HISTORY_DROPPED: cell_counter64(c, st.dropped); break;
	case COL_HISTORY_LAG: cell_gauge(c, st.lag_ms > UINT32_MAX ? UINT32_MAX : (uint32_t)st.lag_ms); break;
	case COL_HISTORY_WRITE_FAILURES: cell_counter64(c, st.write_failures); break;
	default: cell_counter64(c, st.pruned); break;
	}
}

static bool globals_get(void *ctx, const void *row, unsigned col, struct cell *c)
{
	const struct daemon *d = ctx;
	const struct model *m = d->model;
	const struct global_counters *g = &m->g;

	(void)row;
	switch (col) {
	case COL_VERSION: cell_string(c, MVPN_VERSION); break;
	case COL_VPN_COUNT: cell_gauge(c, (uint32_t)m->n_vpns); break;
	case COL_CAPTURE_SOURCE: cell_string(c, m->capture_source); break;
	case COL_PACKETS_SEEN: cell_counter64(c, g->packets_seen); break;
	case COL_CONTROL_PACKETS: cell_counter64(c, g->control); break;
	case COL_DATA_DISCARDED: cell_counter64(c, g->data_discarded); break;
	case COL_MALFORMED: cell_counter64(c, g->malformed); break;
	case COL_UNKNOWN_MDT: cell_counter64(c, g->unknown_mdt); break;
	case COL_STATE_REFRESHES: cell_counter64(c, g->refreshes); break;
	case COL_STATE_CHANGES: cell_counter64(c, g->changes); break;
	case COL_LAST_CHANGE: cell_timestamp(c, &m->clock, g->last_change); break;
	case COL_STATE_LIMIT_DROPS: cell_counter64(c, g->limit_drops); break;
	case COL_CHANGE_LOG_CAPACITY: cell_gauge(c, m->changes.capacity); break;
	case COL_CHANGE_LOG_ENTRIES: cell_gauge(c, m->changes.count); break;
	case COL_CHANGE_LOG_DROPPED: cell_counter64(c, m->changes.dropped); break;
	case COL_NOTIFICATIONS_SENT: cell_counter64(c, g->notifications_sent); break;
	case COL_NOTIFICATIONS_SUPPRESSED: cell_counter64(c, g->notifications_suppressed); break;
	case COL_NOTIFY_RATE_LIMIT: cell_gauge(c, m->settings.notify_rate_limit); break;
	case COL_NOTIFY_RATE_INTERVAL: cell_gauge(c, m->settings.notify_rate_interval); break;
	case COL_CONFIG_LOADS: cell_counter64(c, g->config_loads); break;
	case COL_CONFIG_LOAD_FAILURES: cell_counter64(c, g->config_load_failures); break;
	case COL_CONFIG_LAST_LOAD: cell_timestamp_real(c, &m->clock, g->config_last_load); break;
	case COL_CONFIG_LAST_LOAD_DATE: cell_date_real(c, &m->clock, g->config_last_load); break;
	case COL_COUNTER_DISCONTINUITY_TIME:
		cell_timestamp_real(c, &m->clock, m->clock.started);
		break;
	case COL_AGENT_START_DATE: cell_date_real(c, &m->clock, m->clock.started); break;
	case COL_LAST_CHANGE_DATE: cell_date(c, &m->clock, g->last_change); break;
	case COL_CAPTURE_RESTARTS: cell_counter64(c, g->capture_restarts); break;
	case COL_CAPTURE_KERNEL_DROPS: cell_counter64(c, g->capture_kernel_drops); break;
	case COL_PROBE_TX_TIMESTAMPING:
		cell_int(c, d->prober ? d->prober->stamping : TX_STAMP_NONE);
		break;
	case COL_CAPTURE_STATUS: cell_int(c, m->capture); break;
	case COL_PROBES_SENT: cell_counter64(c, m->probing.tx_total); break;
	case COL_PROBES_RECEIVED: cell_counter64(c, m->probing.rx_result[PROBE_RX_OK]); break;
	case COL_PROBE_RX_MALFORMED: cell_counter64(c, m->probing.rx_malformed); break;
	case COL_PROBE_RX_UNKNOWN:
		cell_counter64(c, m->probing.rx_result[PROBE_RX_UNKNOWN_VPN] +
				      m->probing.rx_result[PROBE_RX_UNKNOWN_SENDER] +
				      m->probing.rx_result[PROBE_RX_UNKNOWN_RECEIVER]);
		break;
	case COL_PROBE_RX_OUT_OF_WINDOW:
		cell_counter64(c, m->probing.rx_result[PROBE_RX_OUT_OF_WINDOW]);
		break;
	case COL_PROBE_RX_LATE: cell_counter64(c, m->probing.rx_result[PROBE_RX_LATE]); break;
	case COL_PROBE_RX_DUPLICATES:
		cell_counter64(c, m->probing.rx_result[PROBE_RX_DUPLICATE]);
		break;
	case COL_NOTIFICATIONS_LOST: cell_counter64(c, g->notifications_lost); break;
	case COL_NOTIFICATIONS_WAITING: cell_gauge(c, notify_waiting(m)); break;
	case COL_HISTORY_STATUS ... COL_HISTORY_PRUNED: history_cell(d, col, c); break;
	case COL_PE_ROWS_RECLAIMED: cell_counter64(c, g->pe_rows_reclaimed); break;
	case COL_CAPTURE_UNSUPPORTED_FRAMES: cell_counter64(c, g->capture_unsupported); break;
	case COL_FRAGMENTS_REASSEMBLED: cell_counter64(c, g->frag_reassembled); break;
	case COL_FRAGMENT_TIMEOUTS: cell_counter64(c, g->frag_timeouts); break;
	case COL_FRAGMENT_CAP_DROPS: cell_counter64(c, g->frag_cap_drops); break;
	case COL_FRAGMENTS_BAD: cell_counter64(c, g->frag_bad); break;
	case COL_FRAGMENT_DUPLICATES: cell_counter64(c, g->frag_duplicates); break;
	case COL_CAPTURE_TIMES_CLAMPED: cell_counter64(c, g->capture_times_clamped); break;
	default: return false;
	}
	return true;
}

static const void *vpn_view_seek(void *ctx, const uint32_t *want, size_t wlen, bool after)
{
	const struct daemon *d = ctx;
	return vpn_seek(d->model, want, wlen, after);
}

static void vpn_view_index(const void *row, struct oidx *out)
{
	vpn_oidx(row, out);
}

static bool vpn_pe_cell(const struct model *m, const struct vpn *v, unsigned col, struct cell *c)
{
	struct pe_counts pc;

	vpn_pe_counts(m, v, &pc);
	switch (col) {
	case COL_VPN_EXPECTED_PES: cell_gauge(c, pc.expected); break;
	case COL_VPN_ACTIVE_PES: cell_gauge(c, pc.active); break;
	case COL_VPN_MISSING_PES: cell_gauge(c, pc.missing); break;
	case COL_VPN_UNEXPECTED_PES: cell_gauge(c, pc.unexpected); break;
	case COL_VPN_BGP_PES: cell_gauge(c, pc.bgp); break;
	case COL_VPN_BGP_SILENT_PES: cell_gauge(c, pc.bgp_silent); break;
	case COL_VPN_NOT_IN_BGP_PES: cell_gauge(c, pc.not_in_bgp); break;
	default: return false;
	}
	return true;
}

static bool vpn_view_get(void *ctx, const void *row, unsigned col, struct cell *c)
{
	const struct daemon *d = ctx;
	const struct model *m = d->model;
	const struct vpn *v = row;
	const struct vpn_counters *k = &v->counters;

	switch (col) {
	case COL_VPN_NAME: cell_string(c, v->name); break;
	case COL_VPN_DEFAULT_MDT_TYPE: cell_addr_type(c, &v->default_mdt); break;
	case COL_VPN_DEFAULT_MDT: cell_addr(c, &v->default_mdt); break;
	case COL_VPN_EXPECTED_PES:
	case COL_VPN_ACTIVE_PES:
	case COL_VPN_MISSING_PES:
	case COL_VPN_UNEXPECTED_PES:
	case COL_VPN_BGP_PES:
	case COL_VPN_BGP_SILENT_PES:
	case COL_VPN_NOT_IN_BGP_PES: return vpn_pe_cell(m, v, col, c);
	case COL_VPN_ORIGIN: cell_int(c, v->discovered ? 2 : 1); break;
	case COL_VPN_EXPECTED_FROM: cell_int(c, v->expect_bgp ? 2 : 1); break;
	case COL_VPN_SIGNALLING: cell_int(c, v->bgp_signalled ? 2 : 1); break;
	case COL_VPN_CONFIG_STATUS: cell_int(c, vpn_config_status(m, v)); break;
	case COL_VPN_CGROUPS: cell_gauge(c, v->cg.n_joined); break;
	case COL_VPN_DATA_MDTS: cell_gauge(c, v->cg.n_data); break;
	case COL_VPN_PACKETS: cell_counter64(c, k->packets); break;
	case COL_VPN_CONTROL_PACKETS: cell_counter64(c, k->control); break;
	case COL_VPN_DATA_DISCARDED: cell_counter64(c, k->data_discarded); break;
	case COL_VPN_MALFORMED: cell_counter64(c, k->malformed); break;
	case COL_VPN_STATE_REFRESHES: cell_counter64(c, k->refreshes); break;
	case COL_VPN_STATE_CHANGES: cell_counter64(c, k->changes); break;
	case COL_VPN_STATE_LIMIT_DROPS: cell_counter64(c, k->limit_drops); break;
	case COL_VPN_LAST_CHANGE: cell_timestamp(c, &m->clock, v->last_change); break;
	case COL_VPN_LAST_CHANGE_DATE: cell_date(c, &m->clock, v->last_change); break;
	case COL_VPN_PASSIVE_STATUS: cell_int(c, v->passive); break;
	case COL_VPN_PROBE_STATUS: cell_int(c, v->probe); break;
	case COL_VPN_PROBING_UNRELIABLE: cell_truth(c, locate_unreliable(v->probing)); break;
	default: return false;
	}
	return true;
}

uint32_t seconds_until(const struct model *m, mtime_t t)
{
	mtime_t now = mclock_now(&m->clock);

	if (!t || t <= now)
		return 0;
	if (t == MTIME_NEVER)
		return UINT32_MAX; /* held until cancelled */
	return (uint32_t)((t - now + MTIME_SEC - 1) / MTIME_SEC);
}

void view_at(struct table_view *tv, const char *name, unsigned arc, bool table)
{
	size_t n = sizeof(objects_oid) / sizeof(objects_oid[0]);

	memcpy(tv->entry, objects_oid, sizeof(objects_oid));
	tv->entry[n++] = arc;
	if (table)
		tv->entry[n++] = 1; /* ...Entry */
	tv->entry_len = n;
	tv->name = name;
	tv->scalar = !table;
}

void view_table(struct table_view *tv, struct daemon *d, const char *name, unsigned arc,
		unsigned first, unsigned last)
{
	view_at(tv, name, arc, true);
	tv->first_col = first;
	tv->last_col = last;
	tv->ctx = d;
}

int views_register(struct daemon *d)
{
	struct table_view *g = &d->views[VIEW_GLOBALS], *v = &d->views[VIEW_VPN];

	view_at(g, "mvpnGlobals", ARC_GLOBALS, false);
	g->first_col = COL_VERSION;
	g->last_col = COL_GLOBALS_LAST;
	g->get = globals_get;
	g->ctx = d;

	view_at(v, "mvpnVpnTable", ARC_VPN_TABLE, true);
	v->first_col = COL_VPN_NAME;
	v->last_col = COL_VPN_LAST;
	v->seek = vpn_view_seek;
	v->row_index = vpn_view_index;
	v->get = vpn_view_get;
	v->ctx = d;

	views_passive_init(d);
	views_probe_init(d);
	views_alarm_init(d);
	views_locate_init(d);
	views_bmp_init(d);
	for (int i = 0; i < VIEW_COUNT; i++)
		if (table_view_register(&d->views[i]) < 0)
			return -1;
	return 0;
}
