/*
 * The model's notices (mib/alarms.h) as SNMPv2 notifications, handed to the
 * master agent over AgentX; the master sends them to its trap sinks.
 * Notices wait in the model while no master is connected.
 */
#ifndef MVPN_NOTIFY_H
#define MVPN_NOTIFY_H

struct daemon;

/* Follows the AgentX session (connected or not); call after init_agent(). */
void notify_init(struct daemon *d);
/* Sends every waiting notice, if a master is connected. */
void notify_drain(struct daemon *d);

#endif
