/*
 * The process around the daemon.  Its log: -Lf files are appended to, and
 * reopened after a rotation.
 */
#ifndef MVPN_PROCESS_H
#define MVPN_PROCESS_H

/* Before the options are parsed: -Lf appends (net-snmp truncates unless told),
 * so that a restart, or a second instance refused at the pidfile, never empties
 * the log another one writes. */
void process_log_init(void);
/* Reopens every -Lf file by its name, so that the lines after a rotation go
 * to the new file; a file that cannot be opened keeps the old one in use.
 * The SIGHUP handler calls it.  Returns 0, or -1 if one could not be reopened. */
int process_reopen_log(void);

#endif
