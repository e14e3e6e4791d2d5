#include "master.h"

#include "daemon.h" /* net-snmp's headers first, as agent_callbacks.h needs them */
#include <net-snmp/agent/agent_callbacks.h>

#include "modellock.h"
#include "notify.h"
#include "../mib/log.h"

/* RFC 2741 6.1: agentx-Ping-PDU.  net-snmp keeps its AgentX constants in a
 * header it does not install (agentx/protocol.h), with this value. */
#define AGENTX_PING_PDU 13

static struct daemon *the_daemon;
static netsnmp_session *session; /* the subagent's session; net-snmp owns it */
static bool ping_pending;
static mtime_t ping_sent_at;
static uint64_t ping_notify_mark; /* notify_send_mark() when the ping was sent */

static int ping_answered(int op, netsnmp_session *s, int reqid, netsnmp_pdu *pdu, void *magic)
{
	struct mclock *clk = &the_daemon->model->clock;
	mtime_t now = mclock_monotonic();

	(void)s, (void)reqid, (void)magic;
	ping_pending = false;
	if (op != NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE || !pdu || pdu->errstat != SNMP_ERR_NOERROR)
		return 1;
	notify_master_answered(ping_notify_mark);
	model_lock();
	/* The master read its clock between our send and its answer: take the
	 * middle, off by at most half a round trip on a local socket. */
	mtime_t at = ping_sent_at + (now - ping_sent_at) / 2;
	uint32_t uptime = (uint32_t)pdu->time;
	bool was_known = clk->master_known;
	if (mclock_set_master_uptime(clk, at, uptime, MASTER_UPTIME_TOLERANCE_CS))
		mvpn_log(LOG_INFO, "master sysUpTime %lu.%02lu s%s", (unsigned long)(uptime / 100),
			 (unsigned long)(uptime % 100),
			 was_known ? " (it moved: TimeStamps follow it from now)" : "");
	model_unlock();
	return 1;
}

/* Sends an AgentX Ping and returns at once; the answer comes through snmp_read. */
void master_ping(void)
{
	netsnmp_pdu *pdu;

	if (!session || ping_pending)
		return;
	pdu = snmp_pdu_create(AGENTX_PING_PDU);
	if (!pdu)
		return;
	pdu->sessid = session->sessid;
	ping_sent_at = mclock_monotonic();
	ping_notify_mark = notify_send_mark();
	if (snmp_async_send(session, pdu, ping_answered, NULL) == 0) {
		snmp_free_pdu(pdu);
		return;
	}
	ping_pending = true;
}

static void ping_alarm(unsigned int reg, void *arg)
{
	(void)reg, (void)arg;
	master_ping();
}

/* The subagent calls INDEX_START when its session to the master opens, and
 * INDEX_STOP when the master goes away (before it reconnects). */
static int session_started(int major, int minor, void *server_arg, void *client_arg)
{
	(void)major, (void)minor, (void)client_arg;
	session = server_arg;
	ping_pending = false;
	master_ping();
	return 0;
}

static int session_stopped(int major, int minor, void *server_arg, void *client_arg)
{
	(void)major, (void)minor, (void)server_arg, (void)client_arg;
	session = NULL;
	ping_pending = false; /* net-snmp drops the request with the session */
	notify_session_lost();
	model_lock();
	mclock_forget_master(&the_daemon->model->clock);
	model_unlock();
	return 0;
}

void master_init(struct daemon *d)
{
	the_daemon = d;
	snmp_register_callback(SNMP_CALLBACK_APPLICATION, SNMPD_CALLBACK_INDEX_START,
			       session_started, NULL);
	snmp_register_callback(SNMP_CALLBACK_APPLICATION, SNMPD_CALLBACK_INDEX_STOP,
			       session_stopped, NULL);
	snmp_alarm_register(MASTER_PING_SECONDS, SA_REPEAT, ping_alarm, NULL);
}

netsnmp_session *master_session(void)
{
	return session;
}

bool master_connected(void)
{
	return session != NULL;
}
