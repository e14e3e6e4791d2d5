/*
 * net-snmp as an AgentX subagent, on a thread of its own; nothing else in
 * agent/ calls init_*.
 *
 * Why a thread: net-snmp's subagent opens its session, registers and pings
 * the master synchronously (snmp_synch_response), so a master that is
 * stopped, slow or hung would hold whatever thread runs it for seconds or
 * for good.  That must never be the thread that reads packets, sends probes
 * and keeps the timers (issue 12): the engines run on the main thread, and
 * this thread serves the MIB from the model under model_lock().
 */
#ifndef MVPN_AGENTX_H
#define MVPN_AGENTX_H

#include <stdbool.h>

struct daemon;

/* Before anything logs: send mvpn_log() through snmp_log. */
void agentx_log_to_snmp(void);
/* Starts the AgentX thread: it connects (or keeps trying to) to the master,
 * registers the MIB and serves it until agentx_thread_stop(). */
int agentx_thread_start(struct daemon *d);
/* True once the AgentX thread gave up starting (net-snmp could not be set up). */
bool agentx_failed(void);
/* Tells the AgentX thread that notices wait in the model: cheap, never blocks. */
void agentx_wake(void);
/* Asks the AgentX thread to close its session and end, and waits for it up
 * to timeout_ms; false when it did not end (stuck on a master that does not
 * answer): the caller then leaves without freeing what it reads. */
bool agentx_thread_stop(int timeout_ms);

#endif
