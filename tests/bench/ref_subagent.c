/*
 * The walk benchmark's reference: a minimal AgentX subagent built the way
 * net-snmp suggests for big tables, on its own table_container helper (rows in
 * a sorted binary array, keyed by their index OID).  It serves, under
 * mvpnCGroupPeTable's OID, the rows gen_walk_capture.py makes mvpnmond learn:
 * same index (VPN, group, source, kind, PE, role), same columns and types, in
 * the same order.  It runs against its own private snmpd, never beside
 * mvpnmond, since both register the same OID.
 *
 *     ref_subagent -x AGENTX_SOCKET -n ROWS [-L LOGFILE]
 *
 * Stops on SIGTERM or SIGINT.  Shares no code with mvpnmond.
 */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* gen_walk_capture.py's rule: 20 PEs; flow f = (192.0.2.(f%250+1), 233.252.0.(f/250)). */
enum { N_PES = 20, SOURCES_PER_GROUP = 250, ROWS_PER_FLOW = N_PES, JP_HOLD = 210 };
enum { COL_FIRST = 9, COL_LAST = 22 }; /* mvpnCGroupPeState .. mvpnCGroupPeFirstSeenDate */
enum { INDEX_LEN = 1 + 6 + 6 + 1 + 6 + 1 };

static const oid table_oid[] = {1, 3, 6, 1, 3, 6037, 1, 4};

struct row {
	netsnmp_index key; /* first: the container compares rows as netsnmp_index */
	oid sub[INDEX_LEN];
	long state, joiners;
	u_char other[4], pgroup[4];
	unsigned long holdtime, expires;
	struct counter64 refreshes;
	u_char first_seen_date[11];
};

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static oid *push_addr(oid *p, const u_char a[4])
{
	*p++ = 1; /* ipv4 */
	*p++ = 4;
	for (int i = 0; i < 4; i++)
		*p++ = a[i];
	return p;
}

static void fill_row(struct row *r, unsigned long flow, unsigned pe)
{
	unsigned group = (unsigned)(flow / SOURCES_PER_GROUP);
	unsigned up = group % N_PES;
	u_char g[4] = {233, 252, 0, (u_char)group};
	u_char s[4] = {192, 0, 2, (u_char)(flow % SOURCES_PER_GROUP + 1)};
	u_char p[4] = {198, 18, 0, (u_char)(pe + 1)};
	/* The upstream row's latest joiner: the last PE to send its joins. */
	unsigned latest = up == N_PES - 1 ? N_PES - 2 : N_PES - 1;
	u_char other[4] = {198, 18, 0, (u_char)((pe == up ? latest : up) + 1)};
	static const u_char date[11] = {0x07, 0xea, 1, 1, 0, 0, 0, 0, '+', 0, 0};
	oid *o = r->sub;

	*o++ = 1; /* the VPN */
	o = push_addr(o, g);
	o = push_addr(o, s);
	*o++ = 2; /* sg */
	o = push_addr(o, p);
	*o++ = pe == up ? 2 : 1;
	r->key.oids = r->sub;
	r->key.len = INDEX_LEN;
	r->state = 1;
	r->joiners = pe == up ? N_PES - 1 : 1;
	memcpy(r->other, other, 4);
	memcpy(r->pgroup, (u_char[4]){239, 192, 0, 1}, 4);
	r->holdtime = JP_HOLD;
	r->expires = JP_HOLD;
	r->refreshes.high = r->refreshes.low = 0;
	memcpy(r->first_seen_date, date, sizeof(date));
}

static void set_int(netsnmp_variable_list *vb, u_char type, long v)
{
	snmp_set_var_typed_value(vb, type, &v, sizeof(v));
}

static int handler(netsnmp_mib_handler *h, netsnmp_handler_registration *reg,
		   netsnmp_agent_request_info *reqinfo, netsnmp_request_info *requests)
{
	(void)h, (void)reg;
	if (reqinfo->mode != MODE_GET)
		return SNMP_ERR_NOERROR; /* the helper turned every GETNEXT into a GET */
	for (netsnmp_request_info *req = requests; req; req = req->next) {
		const struct row *r = netsnmp_container_table_row_extract(req);
		netsnmp_table_request_info *ti = netsnmp_extract_table_info(req);
		netsnmp_variable_list *vb = req->requestvb;
		unsigned long now = 0; /* seconds since the rows were learned */

		if (req->processed)
			continue;
		if (!r || !ti) {
			netsnmp_set_request_error(reqinfo, req, SNMP_NOSUCHINSTANCE);
			continue;
		}
		switch (ti->colnum) {
		case 9: set_int(vb, ASN_INTEGER, r->state); break;
		case 10: set_int(vb, ASN_INTEGER, 1); break;
		case 11: snmp_set_var_typed_value(vb, ASN_OCTET_STR, r->other, 4); break;
		case 12: set_int(vb, ASN_GAUGE, r->joiners); break;
		case 13: set_int(vb, ASN_INTEGER, 0); break;
		case 14: snmp_set_var_typed_value(vb, ASN_OCTET_STR, "", 0); break;
		case 15: set_int(vb, ASN_INTEGER, 1); break;
		case 16: snmp_set_var_typed_value(vb, ASN_OCTET_STR, r->pgroup, 4); break;
		case 17: set_int(vb, ASN_UNSIGNED, (long)r->holdtime); break;
		case 18: set_int(vb, ASN_UNSIGNED, (long)(r->expires - now)); break;
		case 19: set_int(vb, ASN_TIMETICKS, 0); break;
		case 20: set_int(vb, ASN_TIMETICKS, 0); break;
		case 21:
			snmp_set_var_typed_value(vb, ASN_COUNTER64, &r->refreshes,
						 sizeof(r->refreshes));
			break;
		case 22:
			snmp_set_var_typed_value(vb, ASN_OCTET_STR, r->first_seen_date,
						 sizeof(r->first_seen_date));
			break;
		default: netsnmp_set_request_error(reqinfo, req, SNMP_NOSUCHOBJECT); break;
		}
	}
	return SNMP_ERR_NOERROR;
}

static netsnmp_container *fill(unsigned long rows)
{
	netsnmp_container *c = netsnmp_container_find("table_container");
	struct row *all = calloc(rows, sizeof(*all));

	if (!c || !all)
		return NULL;
	for (unsigned long i = 0; i < rows; i++) {
		fill_row(&all[i], i / ROWS_PER_FLOW, (unsigned)(i % ROWS_PER_FLOW));
		if (CONTAINER_INSERT(c, &all[i]) != 0)
			return NULL;
	}
	return c;
}

static int register_table(netsnmp_container *c)
{
	netsnmp_handler_registration *reg = netsnmp_create_handler_registration(
		"refCGroupPeTable", handler, table_oid, OID_LENGTH(table_oid), HANDLER_CAN_RONLY);
	netsnmp_table_registration_info *ti = SNMP_MALLOC_TYPEDEF(netsnmp_table_registration_info);

	if (!reg || !ti)
		return -1;
	netsnmp_table_helper_add_indexes(ti, ASN_UNSIGNED,		      /* mvpnVpnIndex */
					 ASN_INTEGER, ASN_OCTET_STR,  /* group */
					 ASN_INTEGER, ASN_OCTET_STR,  /* source */
					 ASN_INTEGER,		      /* kind */
					 ASN_INTEGER, ASN_OCTET_STR,  /* PE */
					 ASN_INTEGER,		      /* role */
					 0);
	ti->min_column = COL_FIRST;
	ti->max_column = COL_LAST;
	return netsnmp_container_table_register(reg, ti, c, TABLE_CONTAINER_KEY_NETSNMP_INDEX) ==
			       MIB_REGISTERED_OK
		       ? 0
		       : -1;
}

int main(int argc, char **argv)
{
	const char *socket = NULL, *log = NULL;
	unsigned long rows = 0;
	int opt;

	while ((opt = getopt(argc, argv, "x:n:L:")) != -1) {
		switch (opt) {
		case 'x': socket = optarg; break;
		case 'n': rows = strtoul(optarg, NULL, 10); break;
		case 'L': log = optarg; break;
		default: goto usage;
		}
	}
	if (!socket || rows == 0 || rows % ROWS_PER_FLOW ||
	    rows / ROWS_PER_FLOW > 256ul * SOURCES_PER_GROUP)
		goto usage;
	if (log)
		snmp_enable_filelog(log, 0);
	else
		snmp_enable_stderrlog();
	/* As mvpnmond sets net-snmp up: AgentX subagent, timers from select, no state files. */
	netsnmp_ds_set_boolean(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_ROLE, 1);
	netsnmp_ds_set_string(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_X_SOCKET, socket);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_ALARM_DONT_USE_SIG, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
	setenv("MIBS", "", 1);
	if (init_agent("ref_subagent") != 0)
		return 1;
	netsnmp_ds_set_int(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_AGENTX_PING_INTERVAL, 5);
	netsnmp_container *c = fill(rows);
	if (!c || register_table(c) < 0) {
		snmp_log(LOG_ERR, "ref_subagent: cannot build or register the table\n");
		return 1;
	}
	init_snmp("ref_subagent");
	snmp_log(LOG_INFO, "ref_subagent: serving %lu rows\n", rows);

	struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: select returns */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	while (!stopping)
		agent_check_and_process(1);
	snmp_shutdown("ref_subagent");
	return 0;
usage:
	fprintf(stderr, "usage: ref_subagent -x AGENTX_SOCKET -n ROWS (a multiple of %d, at most "
			"%lu) [-L LOGFILE]\n", ROWS_PER_FLOW,
		256ul * SOURCES_PER_GROUP * ROWS_PER_FLOW);
	return 2;
}
