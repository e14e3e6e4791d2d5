#include "notify.h"

#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "daemon.h"
#include "master.h"
#include "modellock.h"
#include "oids.h"
#include "../mib/locate.h"
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

/* A PE's address, then its name (mvpnNotifyName or mvpnNotifyPeerName: the
 * three objects follow one another in mvpnNotifyObjects). */
static void add_pe(netsnmp_variable_list **vars, const struct model *m, unsigned type_obj,
		   const struct inet_addr *a)
{
	long type = a->type;
	char buf[INET_ADDR_STRLEN];
	const char *name = pe_display_name(m, a, buf);
	unsigned name_obj = type_obj == NOTIFY_ADDR_TYPE ? NOTIFY_NAME : NOTIFY_PEER_NAME;

	add_notify_object(vars, type_obj, ASN_INTEGER, &type, sizeof(type));
	add_notify_object(vars, type_obj + 1, ASN_OCTET_STR, a->bytes, inet_addr_len(a));
	add_notify_object(vars, name_obj, ASN_OCTET_STR, name, strlen(name));
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
	char descr[ALARM_DESCR_MAX];
	notice_alarm_describe(n, descr, sizeof(descr));
	add_alarm_column(vars, COL_ALARM_DESCR, n->alarm_index, ASN_OCTET_STR, descr,
			 strlen(descr));
}

/* A scalar of mvpnGlobals, as a varbind. */
static void add_global(netsnmp_variable_list **vars, unsigned col, u_char type, const void *value,
		       size_t len)
{
	oid name[] = {MVPN_OID_OBJECTS, ARC_GLOBALS, col, 0};

	add_var(vars, name, OID_LENGTH(name), type, value, len);
}

/* A column of the fault's row in mvpnFaultTable (a cleared fault's row is
 * gone: the instance is the index it had). */
static void add_fault_column(netsnmp_variable_list **vars, const struct notice *n, unsigned col,
			     u_char type, const void *value, size_t len)
{
	struct fault f = {.metric = n->fault.metric, .kind = n->fault.kind, .pe_addr = n->addr,
			  .peer_addr = n->peer};
	const oid prefix[] = {MVPN_OID_OBJECTS, ARC_FAULT_TABLE, 1, col, n->vpn_index};
	oid name[MAX_OID_LEN];
	size_t at = OID_LENGTH(prefix);
	struct oidx idx;

	memcpy(name, prefix, sizeof(prefix));

	oidx_reset(&idx);
	fault_oidx(&f, &idx);
	for (size_t i = 0; i < idx.len && at < MAX_OID_LEN; i++)
		name[at++] = idx.sub[i];
	add_var(vars, name, at, type, value, len);
}

/* mvpnFaultLocated, mvpnFaultCleared. */
static void add_fault(netsnmp_variable_list **vars, const struct model *m, const struct notice *n)
{
	long metric = n->fault.metric + 1, kind = n->fault.kind;
	u_long loss = n->fault.loss_ppm, low = n->fault.low_ppm, high = n->fault.high_ppm;
	u_long echo = n->fault.echo_loss_ppm, pairs = n->fault.pairs;
	int64_t shift = n->fault.shift_us;
	long shift32 = shift < INT32_MIN ? INT32_MIN : shift > INT32_MAX ? INT32_MAX : (long)shift;
	struct cell since;

	add_notify_object(vars, NOTIFY_METRIC, ASN_INTEGER, &metric, sizeof(metric));
	add_notify_object(vars, NOTIFY_FAULT_KIND, ASN_INTEGER, &kind, sizeof(kind));
	add_pe(vars, m, NOTIFY_ADDR_TYPE, &n->addr);
	add_pe(vars, m, NOTIFY_PEER_ADDR_TYPE, &n->peer);
	add_fault_column(vars, n, COL_FAULT_LOSS_PPM, ASN_GAUGE, &loss, sizeof(loss));
	add_fault_column(vars, n, COL_FAULT_LOSS_LOW, ASN_GAUGE, &low, sizeof(low));
	add_fault_column(vars, n, COL_FAULT_LOSS_HIGH, ASN_GAUGE, &high, sizeof(high));
	add_fault_column(vars, n, COL_FAULT_SHIFT, ASN_INTEGER, &shift32, sizeof(shift32));
	add_fault_column(vars, n, COL_FAULT_ECHO_LOSS_PPM, ASN_GAUGE, &echo, sizeof(echo));
	add_fault_column(vars, n, COL_FAULT_PAIRS, ASN_GAUGE, &pairs, sizeof(pairs));
	cell_date(&since, &m->clock, n->fault.since);
	add_fault_column(vars, n, COL_FAULT_SINCE_DATE, ASN_OCTET_STR, since.bytes, since.len);
}

/* A column of the router's row in mvpnBmpRouterTable, or (with_peer) of the
 * peer's in mvpnBmpPeerTable, the instance being the row's index: the row
 * may be gone by now, as a cleared alarm's is. */
static void add_bmp_column(netsnmp_variable_list **vars, const struct notice *n, bool with_peer,
			   unsigned col, u_char type, const void *value, size_t len)
{
	const oid prefix[] = {MVPN_OID_OBJECTS,
			      with_peer ? ARC_BMP_PEER_TABLE : ARC_BMP_ROUTER_TABLE, 1, col};
	oid name[MAX_OID_LEN];
	size_t at = OID_LENGTH(prefix);
	struct oidx idx;

	memcpy(name, prefix, sizeof(prefix));
	oidx_reset(&idx);
	oidx_push_addr(&idx, &n->addr);
	if (with_peer) {
		oidx_push_octets8(&idx, n->bmp.distinguisher);
		oidx_push_addr(&idx, &n->peer);
	}
	for (size_t i = 0; i < idx.len && at < MAX_OID_LEN; i++)
		name[at++] = idx.sub[i];
	add_var(vars, name, at, type, value, len);
}

/* mvpnBmpRouterUp/Down: the router's status; mvpnBmpPeerUp/Down: the peer's
 * status, AS and BGP Identifier, and for a Peer Down what it said. */
static void add_bmp(netsnmp_variable_list **vars, const struct notice *n)
{
	bool up = n->kind == NOTICE_BMP_ROUTER_UP || n->kind == NOTICE_BMP_PEER_UP;
	long status = up ? BMP_ROUTER_UP : BMP_ROUTER_DOWN;
	u_long as = n->bmp.as, reason = n->bmp.reason, fsm = 0;
	u_char bgp_id[4], error[2] = {n->bmp.code, n->bmp.subcode};

	if (n->kind == NOTICE_BMP_ROUTER_UP || n->kind == NOTICE_BMP_ROUTER_DOWN) {
		add_bmp_column(vars, n, false, COL_BMP_ROUTER_STATUS, ASN_INTEGER, &status,
			       sizeof(status));
		return;
	}
	for (int i = 0; i < 4; i++)
		bgp_id[i] = (u_char)(n->bmp.bgp_id >> (24 - 8 * i));
	add_bmp_column(vars, n, true, COL_BMP_PEER_STATUS, ASN_INTEGER, &status, sizeof(status));
	add_bmp_column(vars, n, true, COL_BMP_PEER_AS, ASN_UNSIGNED, &as, sizeof(as));
	add_bmp_column(vars, n, true, COL_BMP_PEER_BGP_ID, ASN_IPADDRESS, bgp_id, sizeof(bgp_id));
	if (up)
		return;
	if (reason == 2)
		fsm = n->bmp.fsm_event;
	add_bmp_column(vars, n, true, COL_BMP_PEER_LAST_DOWN_REASON, ASN_UNSIGNED, &reason,
		       sizeof(reason));
	/* RFC 7854 4.9: reasons 1 and 3 carry the NOTIFICATION. */
	add_bmp_column(vars, n, true, COL_BMP_PEER_LAST_DOWN_ERROR, ASN_OCTET_STR, error,
		       reason == 1 || reason == 3 ? sizeof(error) : 0);
	add_bmp_column(vars, n, true, COL_BMP_PEER_LAST_DOWN_FSM_EVENT, ASN_UNSIGNED, &fsm,
		       sizeof(fsm));
}

/* The varbinds of one notice, in the order of its NOTIFICATION-TYPE's OBJECTS. */
static netsnmp_variable_list *notice_vars(const struct model *m, const struct notice *n)
{
	const struct mclock *clk = &m->clock;
	netsnmp_variable_list *vars = NULL;
	oid trap[] = {MVPN_OID_NOTIFICATIONS, n->kind};
	u_long vpn_index = n->vpn_index;

	add_var(&vars, snmp_trap_oid, OID_LENGTH(snmp_trap_oid), ASN_OBJECT_ID, trap, sizeof(trap));
	if (n->kind == NOTICE_HISTORY_LOSING || n->kind == NOTICE_HISTORY_RESUMED) {
		struct counter64 dropped = {.high = n->dropped >> 32, .low = n->dropped & 0xffffffff};
		u_long queued = n->value;
		add_global(&vars, COL_HISTORY_DROPPED, ASN_COUNTER64, &dropped, sizeof(dropped));
		add_global(&vars, COL_HISTORY_QUEUED, ASN_GAUGE, &queued, sizeof(queued));
		return vars;
	}
	if (n->kind >= NOTICE_BMP_ROUTER_UP && n->kind <= NOTICE_BMP_PEER_DOWN) {
		add_bmp(&vars, n);
		return vars;
	}
	add_notify_object(&vars, NOTIFY_VPN_INDEX, ASN_UNSIGNED, &vpn_index, sizeof(vpn_index));
	add_vpn_column(&vars, COL_VPN_NAME, n->vpn_index, ASN_OCTET_STR, n->vpn_name,
		       strlen(n->vpn_name));
	if (n->kind == NOTICE_FAULT_LOCATED || n->kind == NOTICE_FAULT_CLEARED) {
		add_fault(&vars, m, n);
		return vars;
	}
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
	add_pe(&vars, m, NOTIFY_ADDR_TYPE, &n->addr);
	if (n->kind == NOTICE_ALARM_CLEARED)
		add_pe(&vars, m, NOTIFY_PEER_ADDR_TYPE, &n->peer);
	if (n->kind != NOTICE_PE_MISSING && n->kind != NOTICE_PE_UNEXPECTED &&
	    n->kind != NOTICE_PE_BGP_SILENT && n->kind != NOTICE_PE_NOT_IN_BGP &&
	    n->kind != NOTICE_ALARM_CLEARED) {
		u_long value = n->value, threshold = n->threshold;
		add_pe(&vars, m, NOTIFY_PEER_ADDR_TYPE, &n->peer);
		add_notify_object(&vars, NOTIFY_VALUE, ASN_UNSIGNED, &value, sizeof(value));
		add_notify_object(&vars, NOTIFY_THRESHOLD, ASN_UNSIGNED, &threshold,
				  sizeof(threshold));
	}
	add_alarm_identity(&vars, clk, n);
	return vars;
}


/*
 * The outbox: notifications handed to the master and not yet acknowledged.
 * RFC 2741 7.1.10: the master answers each Notify-PDU with a Response-PDU,
 * so a notification counts as sent (mvpnNotificationsSent) only when that
 * answer says noError.  One not answered stays here: never sent twice on
 * one session (a stream loses nothing; the master has it), and sent again
 * on the next session once this one is lost (the master stopped, hung, or
 * dropped it); one the master refuses is logged and counted lost.  What
 * waits here and in the model's queue is mvpnNotificationsWaiting; the
 * model's queue is bounded, and what falls out of it is counted lost.  A
 * master that reads a dead session's notification after it came back may
 * so send it twice, once from each session: never zero times while it is
 * counted.
 */
#define AGENTX_NOTIFY_PDU 12 /* RFC 2741 6.1; see master.c for why not protocol.h */
#define OUTBOX_CAP 16

/* READY: to send on the open session.  IN_FLIGHT: sent, not answered.
 * UNANSWERED: not answered in time; the master still has it on this session
 * (a stream loses nothing), so it is sent again only on the next session. */
enum slot_state { SLOT_FREE, SLOT_READY, SLOT_IN_FLIGHT, SLOT_UNANSWERED };

struct slot {
	enum slot_state state;
	unsigned gen;                /* which send an answer belongs to */
	uint64_t seq;                /* the order notices were queued in */
	uint64_t sent_mark;          /* box.sends when it was last sent */
	netsnmp_variable_list *vars; /* owned */
	bool is_start;
	const char *name;
	char what[256];
};

static struct {
	struct slot slot[OUTBOX_CAP];
	atomic_uint used; /* slots not free: read by the engine thread too */
	uint64_t next_seq;
	uint64_t sends; /* Notify-PDUs written so far, on any session */
	bool start_queued, start_acked;
	struct daemon *d;
} box;

#define MAGIC_SLOT_BITS 5 /* 2^5 > OUTBOX_CAP */

static struct slot *free_slot(void)
{
	for (size_t i = 0; i < OUTBOX_CAP; i++)
		if (box.slot[i].state == SLOT_FREE)
			return &box.slot[i];
	return NULL;
}

static void release(struct slot *sl)
{
	snmp_free_varbind(sl->vars);
	sl->vars = NULL;
	sl->state = SLOT_FREE;
	atomic_fetch_sub(&box.used, 1);
}

/* Counts a notification the master took, and frees its slot. */
static void taken(struct slot *sl, const char *how)
{
	model_lock();
	box.d->model->g.notifications_sent++;
	model_unlock();
	mvpn_log(LOG_INFO, "sent %s%s: %s", sl->name, how, sl->what);
	if (sl->is_start)
		box.start_acked = true;
	release(sl);
}

uint64_t notify_send_mark(void)
{
	return box.sends;
}

/*
 * The master answered a request written after send `mark` on this session.
 * It reads and handles a session's PDUs in order (RFC 2741 7.1: one stream),
 * so every Notify-PDU written before it was handled too: one whose own
 * answer came too late (net-snmp had given up on it) was taken all the same.
 */
void notify_master_answered(uint64_t mark)
{
	for (size_t i = 0; i < OUTBOX_CAP; i++) {
		struct slot *sl = &box.slot[i];
		if (sl->state == SLOT_UNANSWERED && sl->sent_mark <= mark)
			taken(sl, " (its answer came late; a later one vouches for it)");
	}
}

bool notify_unanswered(void)
{
	for (size_t i = 0; i < OUTBOX_CAP; i++)
		if (box.slot[i].state == SLOT_UNANSWERED)
			return true;
	return false;
}

static int answered(int op, netsnmp_session *s, int reqid, netsnmp_pdu *pdu, void *magic)
{
	uintptr_t m = (uintptr_t)magic;
	struct slot *sl = &box.slot[m & ((1u << MAGIC_SLOT_BITS) - 1)];
	struct model *model = box.d->model;

	(void)s, (void)reqid;
	if (sl->state != SLOT_IN_FLIGHT || sl->gen != (unsigned)(m >> MAGIC_SLOT_BITS))
		return 1; /* an answer to a send already given up (the session was lost) */
	if (op == NETSNMP_CALLBACK_OP_SEND_FAILED) {
		sl->state = SLOT_READY; /* never left: try again */
		return 1;
	}
	if (op != NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE || !pdu) {
		mvpn_log(LOG_WARNING, "%s not acknowledged by the master in time; it waits, and "
			 "is sent again if the session is lost", sl->name);
		sl->state = SLOT_UNANSWERED;
		return 1;
	}
	if (pdu->errstat == SNMP_ERR_NOERROR) {
		taken(sl, "");
		return 1;
	}
	model_lock();
	model->g.notifications_lost++;
	model_unlock();
	mvpn_log(LOG_ERR, "the master refused %s (AgentX error %ld): %s", sl->name, pdu->errstat,
		 sl->what);
	if (sl->is_start)
		box.start_acked = true;
	release(sl);
	return 1;
}

static bool send_slot(struct slot *sl)
{
	netsnmp_session *session = master_session();
	netsnmp_pdu *pdu;

	if (!session || !(pdu = snmp_pdu_create(AGENTX_NOTIFY_PDU)))
		return false;
	pdu->variables = snmp_clone_varbind(sl->vars);
	pdu->sessid = session->sessid;
	sl->gen = (sl->gen + 1) & (UINT_MAX >> MAGIC_SLOT_BITS);
	uintptr_t magic = ((uintptr_t)sl->gen << MAGIC_SLOT_BITS) | (uintptr_t)(sl - box.slot);
	if (!pdu->variables || snmp_async_send(session, pdu, answered, (void *)magic) == 0) {
		snmp_free_pdu(pdu);
		return false;
	}
	sl->state = SLOT_IN_FLIGHT;
	sl->sent_mark = ++box.sends;
	return true;
}

/* Sends what is ready, oldest first; stops at the first that cannot go. */
static void send_ready(void)
{
	for (;;) {
		struct slot *oldest = NULL;
		for (size_t i = 0; i < OUTBOX_CAP; i++) {
			struct slot *sl = &box.slot[i];
			if (sl->state == SLOT_READY && (!oldest || sl->seq < oldest->seq))
				oldest = sl;
		}
		if (!oldest || !send_slot(oldest))
			return;
	}
}

static void fill_slot(struct slot *sl, netsnmp_variable_list *vars, const char *name,
		      bool is_start)
{
	sl->vars = vars;
	sl->name = name;
	sl->is_start = is_start;
	sl->seq = box.next_seq++;
	sl->state = SLOT_READY;
	atomic_fetch_add(&box.used, 1);
}

/* mvpnAgentStart, once per process: its counters began at zero.  It waits
 * for the master's sysUpTime, which mvpnCounterDiscontinuityTime is in, and
 * goes before every other notification: they wait until the master took it.
 * Called with the model locked. */
static void queue_start(struct model *m)
{
	struct cell started, date;
	netsnmp_variable_list *vars = NULL;
	oid trap[] = {MVPN_OID_NOTIFICATIONS, NOTIFICATION_AGENT_START};
	struct slot *sl = free_slot();

	if (box.start_queued || !m->clock.master_known || !sl)
		return;
	box.start_queued = true;
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
		box.start_acked = true;
		return;
	}
	fill_slot(sl, vars, "mvpnAgentStart", true);
	snprintf(sl->what, sizeof(sl->what), "counters began at sysUpTime %lu", ticks);
}

/* Moves notices from the model's queue into free slots.  Model locked. */
static void take_notices(struct model *m)
{
	struct slot *sl;
	struct notice n;

	while ((sl = free_slot()) && notice_pop(&m->alarms, &n)) {
		netsnmp_variable_list *vars = notice_vars(m, &n);
		char what[sizeof(sl->what)];
		notice_describe(&n, what, sizeof(what));
		if (!vars) {
			mvpn_log(LOG_ERR, "out of memory: %s not sent: %s", notice_name(n.kind), what);
			m->g.notifications_lost++;
			continue;
		}
		fill_slot(sl, vars, notice_name(n.kind), false);
		memcpy(sl->what, what, sizeof(what));
	}
}

void notify_drain(struct daemon *d)
{
	struct model *m = d->model;

	box.d = d;
	if (!master_connected())
		return;
	if (!box.start_queued) {
		model_lock();
		queue_start(m);
		model_unlock();
	}
	send_ready();
	if (notify_unanswered())
		master_ping(); /* its answer tells whether they were taken */
	if (!box.start_acked)
		return;
	model_lock();
	take_notices(m);
	model_unlock();
	send_ready();
}

void notify_session_lost(void)
{
	for (size_t i = 0; i < OUTBOX_CAP; i++)
		if (box.slot[i].state == SLOT_IN_FLIGHT || box.slot[i].state == SLOT_UNANSWERED) {
			box.slot[i].state = SLOT_READY;
			box.slot[i].gen++; /* a late answer to the old send is ignored */
		}
}

unsigned notify_waiting(const struct model *m)
{
	return (unsigned)m->alarms.queue.len + atomic_load(&box.used);
}

void notify_shutdown(void)
{
	for (size_t i = 0; i < OUTBOX_CAP; i++)
		if (box.slot[i].state != SLOT_FREE) {
			mvpn_log(LOG_WARNING, "stopping: %s not acknowledged by the master: %s",
				 box.slot[i].name, box.slot[i].what);
			release(&box.slot[i]);
		}
}
