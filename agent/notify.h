/*
 * The model's notices (mib/alarms.h) as SNMPv2 notifications, handed to the
 * master agent over AgentX; the master sends them to its trap sinks.
 * Notices wait in the model while no master is connected.
 */
#ifndef MVPN_NOTIFY_H
#define MVPN_NOTIFY_H

struct daemon;

/* Sends every waiting notice, if a master is connected. */
void notify_drain(struct daemon *d);

#endif
