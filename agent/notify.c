#include "notify.h"

#include <string.h>

#include "daemon.h" /* net-snmp's headers first, as agent_callbacks.h needs them */
#include <net-snmp/agent/agent_callbacks.h>

#include "oids.h"
#include "../mib/log.h"

static bool master_connected;

/* The subagent calls INDEX_START when its session to the master opens, and
 * INDEX_STOP when the master goes away (before it reconnects). */
static int session_started(int major, int minor, void *server_arg, void *client_arg)
{
	(void)major, (void)minor, (void)server_arg, (void)client_arg;
	master_connected = true;
	return 0;
}

static int session_stopped(int major, int minor, void *server_arg, void *client_arg)
{
	(void)major, (void)minor, (void)server_arg, (void)client_arg;
	master_connected = false;
	return 0;
}

void notify_init(struct daemon *d)
{
	(void)d;
	snmp_register_callback(SNMP_CALLBACK_APPLICATION, SNMPD_CALLBACK_INDEX_START,
			       session_started, NULL);
	snmp_register_callback(SNMP_CALLBACK_APPLICATION, SNMPD_CALLBACK_INDEX_STOP,
			       session_stopped, NULL);
}

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

/* The varbinds of one notice, in the order of its NOTIFICATION-TYPE's OBJECTS. */
static netsnmp_variable_list *notice_vars(const struct notice *n)
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
	add_address(&vars, NOTIFY_ADDR_TYPE, NOTIFY_ADDR, &n->addr);
	if (n->kind == NOTICE_PE_MISSING || n->kind == NOTICE_PE_UNEXPECTED)
		return vars;
	u_long value = n->value, threshold = n->threshold;
	add_address(&vars, NOTIFY_PEER_ADDR_TYPE, NOTIFY_PEER_ADDR, &n->peer);
	add_notify_object(&vars, NOTIFY_VALUE, ASN_UNSIGNED, &value, sizeof(value));
	add_notify_object(&vars, NOTIFY_THRESHOLD, ASN_UNSIGNED, &threshold, sizeof(threshold));
	return vars;
}

void notify_drain(struct daemon *d)
{
	struct model *m = d->model;
	struct notice n;
	char what[256];

	while (master_connected && notice_pop(&m->alarms, &n)) {
		netsnmp_variable_list *vars = notice_vars(&n);
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
