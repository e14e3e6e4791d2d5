/* The one event loop: net-snmp's sessions and alarms, plus our own descriptors. */
#ifndef MVPN_LOOP_H
#define MVPN_LOOP_H

struct daemon;

/* Blocks SIGHUP/SIGTERM/SIGINT into a signalfd; call before any other thread or fork. */
int loop_signals_open(struct daemon *d);
/* Runs until SIGTERM or SIGINT. */
void loop_run(struct daemon *d);

#endif
