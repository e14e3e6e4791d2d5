#include "notify.h"

#include <string.h>

#include "daemon.h"
#include "master.h"
#include "oids.h"
#include "../mib/log.h"

static const oid snmp_trap_oid[] = {1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0};

static void add_var(netsnmp_variable_list **vars, const oid *name, size_t len, u_char type,
		    const void *value, size_t value_len)
{
	snmp_varlist_add_variable(vars, name, len, type, value, value_len);
}

/* mvpnNotifyObjects.which.0 */
static void add_notify_object(netsnmp_variable_list **vars, unsigned which, u_char type,
			      const void *value, size_t len)
{
	oid name[] = {MVPN_OID_OBJECTS, ARC_NOTIFY_OBJECTS, which, 0};

	add_var(vars, name, OID_LENGTH(name), type, value, len);
}

/* A column of the notice's row in mvpnVpnTable. */
static void add_vpn_column(netsnmp_variable_list **vars, unsigned col, uint32_t vpn_index,
			   u_char type, const void *value, size_t len)
{
	oid name[] = {MVPN_OID_OBJECTS, ARC_VPN_TABLE, 1, col, vpn_index};

	add_var(vars, name, OID_LENGTH(name), type, value, len);
}

static void add_address(netsnmp_variable_list **vars, unsigned type_obj, unsigned addr_obj,
			const struct inet_addr *a)
{
	long type = a->type;

	add_notify_object(vars, type_obj, ASN_INTEGER, &type, sizeof(type));
	add_notify_object(vars, addr_obj, ASN_OCTET_STR, a->bytes, inet_addr_len(a));
}

/* A column of the alarm's row in mvpnAlarmTable (the instance is its index;
 * a cleared alarm's row is gone, as in ALARM-MIB's clear notifications). */
static void add_alarm_column(netsnmp_variable_list **vars, unsigned col, uint32_t alarm_index,
			     u_char type, const void *value, size_t len)
{
	oid name[] = {MVPN_OID_OBJECTS, ARC_ALARM_TABLE, 1, col, alarm_index};

	add_var(vars, name, OID_LENGTH(name), type, value, len);
}

/* What identifies the alarm a notice raises or clears: mvpnAlarmRaisedDate
 * and mvpnAlarmDescr of its row, last in every alarm notification. */
static void add_alarm_identity(netsnmp_variable_list **vars, const struct mclock *clk,
			       const struct notice *n)
{
	struct cell date;

	if (!n->alarm_index)
		return;
	cell_date(&date, clk, n->raised);
	add_alarm_column(vars, COL_ALARM_RAISED_DATE, n->alarm_index, ASN_OCTET_STR, date.bytes,
			 date.len);
	add_alarm_column(vars, COL_ALARM_DESCR, n->alarm_index, ASN_OCTET_STR, n->descr,
			 strlen(n->descr));
}

/* The varbinds of one notice, in the order of its NOTIFICATION-TYPE's OBJECTS. */
static netsnmp_variable_list *notice_vars(const struct mclock *clk, const struct notice *n)
{
	netsnmp_variable_list *vars = NULL;
	oid trap[] = {MVPN_OID_NOTIFICATIONS, n->kind};
	u_long vpn_index = n->vpn_index;

	add_var(&vars, snmp_trap_oid, OID_LENGTH(snmp_trap_oid), ASN_OBJECT_ID, trap, sizeof(trap));
	add_notify_object(&vars, NOTIFY_VPN_INDEX, ASN_UNSIGNED, &vpn_index, sizeof(vpn_index));
	add_vpn_column(&vars, COL_VPN_NAME, n->vpn_index, ASN_OCTET_STR, n->vpn_name,
		       strlen(n->vpn_name));
	if (n->kind == NOTICE_VPN_MATCH) {
		u_long expected = n->expected, active = n->active;
		add_vpn_column(&vars, COL_VPN_EXPECTED_PES, n->vpn_index, ASN_GAUGE, &expected,
			       sizeof(expected));
		add_vpn_column(&vars, COL_VPN_ACTIVE_PES, n->vpn_index, ASN_GAUGE, &active,
			       sizeof(active));
		return vars;
	}
	if (n->kind == NOTICE_ALARM_CLEARED) {
		long kind = n->alarm_kind;
		add_alarm_column(&vars, COL_ALARM_KIND, n->alarm_index, ASN_INTEGER, &kind,
				 sizeof(kind));
	}
	add_address(&vars, NOTIFY_ADDR_TYPE, NOTIFY_ADDR, &n->addr);
	if (n->kind == NOTICE_ALARM_CLEARED)
		add_address(&vars, NOTIFY_PEER_ADDR_TYPE, NOTIFY_PEER_ADDR, &n->peer);
	if (n->kind != NOTICE_PE_MISSING && n->kind != NOTICE_PE_UNEXPECTED &&
	    n->kind != NOTICE_ALARM_CLEARED) {
		u_long value = n->value, threshold = n->threshold;
		add_address(&vars, NOTIFY_PEER_ADDR_TYPE, NOTIFY_PEER_ADDR, &n->peer);
		add_notify_object(&vars, NOTIFY_VALUE, ASN_UNSIGNED, &value, sizeof(value));
		add_notify_object(&vars, NOTIFY_THRESHOLD, ASN_UNSIGNED, &threshold,
				  sizeof(threshold));
	}
	add_alarm_identity(&vars, clk, n);
	return vars;
}

/* A scalar of mvpnGlobals, as a varbind. */
static void add_global(netsnmp_variable_list **vars, unsigned col, u_char type, const void *value,
		       size_t len)
{
	oid name[] = {MVPN_OID_OBJECTS, ARC_GLOBALS, col, 0};

	add_var(vars, name, OID_LENGTH(name), type, value, len);
}

/* mvpnAgentStart, once per process: its counters began at zero.  It waits
 * for the master's sysUpTime, which mvpnCounterDiscontinuityTime is in, and
 * goes before every other notification.  True once it has gone. */
static bool announce_start(struct daemon *d)
{
	static bool announced;
	struct model *m = d->model;
	struct cell started, date;
	netsnmp_variable_list *vars = NULL;
	oid trap[] = {MVPN_OID_NOTIFICATIONS, NOTIFICATION_AGENT_START};

	if (announced || !m->clock.master_known)
		return announced;
	cell_timestamp_real(&started, &m->clock, m->clock.started);
	cell_date_real(&date, &m->clock, m->clock.started);
	u_long ticks = (u_long)started.number;
	add_var(&vars, snmp_trap_oid, OID_LENGTH(snmp_trap_oid), ASN_OBJECT_ID, trap, sizeof(trap));
	add_global(&vars, COL_VERSION, ASN_OCTET_STR, MVPN_VERSION, strlen(MVPN_VERSION));
	add_global(&vars, COL_COUNTER_DISCONTINUITY_TIME, ASN_TIMETICKS, &ticks, sizeof(ticks));
	add_global(&vars, COL_AGENT_START_DATE, ASN_OCTET_STR, date.bytes, date.len);
	if (!vars) {
		mvpn_log(LOG_ERR, "out of memory: mvpnAgentStart not sent");
		m->g.notifications_lost++;
		return announced = true;
	}
	send_v2trap(vars);
	snmp_free_varbind(vars);
	m->g.notifications_sent++;
	announced = true;
	mvpn_log(LOG_INFO, "sent mvpnAgentStart: counters began at sysUpTime %lu", ticks);
	return true;
}

void notify_drain(struct daemon *d)
{
	struct model *m = d->model;
	struct notice n;
	char what[256];

	if (!master_connected() || !announce_start(d))
		return;

	while (notice_pop(&m->alarms, &n)) {
		netsnmp_variable_list *vars = notice_vars(&m->clock, &n);
		notice_describe(&n, what, sizeof(what));
		if (!vars) {
			mvpn_log(LOG_ERR, "out of memory: %s not sent: %s", notice_name(n.kind), what);
			m->g.notifications_lost++;
			continue;
		}
		send_v2trap(vars);
		snmp_free_varbind(vars);
		m->g.notifications_sent++;
		mvpn_log(LOG_INFO, "sent %s: %s", notice_name(n.kind), what);
	}
}
