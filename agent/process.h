/*
 * The process around the daemon: the paths it was given, made absolute before
 * it leaves its working directory; the pidfile, locked for the whole life of
 * the process so that a second instance refuses to start; detaching, with the
 * parent waiting until the daemon has started and exiting with its status;
 * and the -Lf log file, reopened after a rotation.
 */
#ifndef MVPN_PROCESS_H
#define MVPN_PROCESS_H

#include <stdbool.h>

struct config;
struct daemon;

enum process_path { PROCESS_CONFIG, PROCESS_CAPTURE, PROCESS_SOCKET, PROCESS_PIDFILE,
		    PROCESS_PATHS };

struct process {
	char *paths[PROCESS_PATHS]; /* absolute forms of relative paths; owned */
	const char *pidfile;        /* as locked: absolute */
	int pidfile_fd;             /* holds the lock; -1 without a pidfile */
	int ready_fd;               /* detached: tells the waiting parent we started */
	bool detached;
};

#define PROCESS_INIT {.pidfile_fd = -1, .ready_fd = -1}

/* Before the options are parsed: -Lf appends (net-snmp truncates unless told),
 * so that a restart, or a second instance refused at the pidfile, never empties
 * the log another one writes. */
void process_log_init(void);
/* Makes the command line's paths absolute (the configuration, -r, -x when it
 * names a unix socket, -p, every -Lf file), repointing d's at p's copies. */
int process_resolve_options(struct process *p, struct daemon *d);
/* The same for what the configuration names: its capture-file (through
 * *file, when the command line gave no capture source) and agentx-socket
 * (into d->agentx_socket_arg, when -x did not override it). */
int process_resolve_config(struct process *p, struct daemon *d, const struct config *c,
			   const char **file);
/* Locks the pidfile, or says which process holds it; call before anything
 * else is opened.  Returns 0, or -1 after logging why. */
int process_lock_pidfile(struct process *p, const char *path);
/* Forks; the parent waits until the child calls process_started() and exits
 * 0, or exits with the child's status if it ended first; never returns in the
 * parent.  The child leaves its session and its working directory. */
int process_detach(struct process *p, bool keep_stdin);
/* Writes the running process's id into the locked pidfile. */
int process_write_pidfile(struct process *p);
/* Up and serving: let the waiting parent go, and let go of the terminal. */
void process_started(struct process *p);
/* On the way out: removes the pidfile if it is still the one we locked, and
 * frees what p owns. */
void process_end(struct process *p);
/* Reopens every -Lf file by its name, so that the lines after a rotation go
 * to the new file; a file that cannot be opened keeps the old one in use.
 * The SIGHUP handler calls it.  Returns 0, or -1 if one could not be reopened. */
int process_reopen_log(void);

#endif
