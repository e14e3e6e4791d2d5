/*
 * The AgentX master as this subagent knows it: whether a session is open,
 * and the master's sysUpTime, which every TimeStamp is counted in (RFC 2579),
 * as the sysUpTime.0 the master itself puts in each notification it sends on
 * our behalf is.  RFC 2741 6.2.16: the master's sysUpTime is in each of its
 * Response-PDUs; it is learnt from a Ping sent without waiting as soon as a
 * session opens, and again every MASTER_PING_SECONDS.
 */
#ifndef MVPN_MASTER_H
#define MVPN_MASTER_H

#include <stdbool.h>

struct daemon;

#define MASTER_PING_SECONDS 30
/* A re-learnt uptime that disagrees by more than this replaces the one in
 * force (the master restarted, or a clock stepped); less is ignored, so that
 * a TimeStamp, once read, never moves. */
#define MASTER_UPTIME_TOLERANCE_CS 50

/* Follows the AgentX session; call after init_agent(), before init_snmp(). */
void master_init(struct daemon *d);
bool master_connected(void);
/* Pings the master now (unless a ping is already waiting for its answer). */
void master_ping(void);
/* The open session to the master, NULL when there is none. */
struct snmp_session *master_session(void);

#endif
