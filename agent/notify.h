/*
 * The model's notices (mib/alarms.h) as SNMPv2 notifications, handed to the
 * master agent over AgentX; the master sends them to its trap sinks.
 * Everything here runs on the AgentX thread (agentx.h).
 */
#ifndef MVPN_NOTIFY_H
#define MVPN_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

struct daemon;
struct model;

/* Hands waiting notices to the master, if a session is open. */
void notify_drain(struct daemon *d);
/* The session is gone: what was in flight is sent again on the next one. */
void notify_session_lost(void);
/* Notices not yet acknowledged: in the model's queue and in flight.  Any
 * thread, with the model locked. */
unsigned notify_waiting(const struct model *m);
/* How many Notify-PDUs have been written so far (to mark a later request). */
uint64_t notify_send_mark(void);
/* The master answered a request written after notify_send_mark() was `mark`:
 * what was sent up to then and left unanswered was taken. */
void notify_master_answered(uint64_t mark);
/* Whether a notification waits for an answer that came too late. */
bool notify_unanswered(void);
/* At exit: logs and frees what was never acknowledged. */
void notify_shutdown(void);

#endif
