/* net-snmp set-up as an AgentX subagent; nothing else in agent/ calls init_*. */
#ifndef MVPN_AGENTX_H
#define MVPN_AGENTX_H

struct daemon;

/* Before anything logs: send mvpn_log() through snmp_log. */
void agentx_log_to_snmp(void);
/* Connects (or keeps trying to) to the master and registers the MIB. */
int agentx_start(struct daemon *d);
void agentx_stop(void);

#endif
