#include "agentx.h"

#include <stdio.h>
#include <stdlib.h>

#include "daemon.h"
#include "master.h"
#include "../mib/log.h"

static void snmp_sink(int priority, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	snmp_log(priority, "%s\n", msg);
}

void agentx_log_to_snmp(void)
{
	mvpn_log_set_sink(snmp_sink);
}

int agentx_start(struct daemon *d)
{
	const char *socket = d->agentx_socket_arg ? d->agentx_socket_arg : d->config->agentx_socket;

	netsnmp_ds_set_boolean(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_ROLE, 1);
	if (socket)
		netsnmp_ds_set_string(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_X_SOCKET, socket);
	/* Timers run from our select loop, not from SIGALRM. */
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_ALARM_DONT_USE_SIG, 1);
	/* Our configuration is our own file; keep net-snmp from writing state anywhere. */
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
	if (init_agent("mvpnmond") != 0) {
		snmp_log(LOG_ERR, "cannot initialise the AgentX subagent\n");
		return -1;
	}
	/*
	 * The ping interval is what makes the subagent notice a dead master and
	 * reconnect (re-registering everything).  init_agent() resets it to its
	 * default, so it is set here, after init_agent() and before init_snmp().
	 */
	netsnmp_ds_set_int(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_AGENTX_PING_INTERVAL,
			   (int)d->config->agentx_ping_interval);
	master_init(d); /* before init_snmp(), which connects */
	if (views_register(d) < 0) {
		snmp_log(LOG_ERR, "cannot register MVPN-MONITOR-MIB\n");
		return -1;
	}
	/* The daemon never reads MIB text; loading it only fills the log with noise. */
	setenv("MIBS", "", 1);
	init_snmp("mvpnmond");
	snmp_log(LOG_INFO, "mvpnmond %s: AgentX subagent on %s\n", MVPN_VERSION,
		 socket ? socket : "net-snmp's default socket");
	return 0;
}

void agentx_stop(void)
{
	snmp_shutdown("mvpnmond");
	shutdown_agent();
}
