/* The one daemon context, passed explicitly everywhere in agent/. */
#ifndef MVPN_DAEMON_H
#define MVPN_DAEMON_H

#include "../bgp/mdt.h"
#include "../bgp/mvpn.h"
#include <pthread.h>
#include <stdbool.h>

#include "../mib/model.h"
#include "config.h"
#include "table_view.h"

#ifndef MVPN_VERSION
#define MVPN_VERSION "0.0.0"
#endif

enum view_id { VIEW_GLOBALS, VIEW_VPN, VIEW_PE, VIEW_CGROUP_PE, VIEW_CGROUP_PGROUP, VIEW_CHANGE,
	       VIEW_PAIR, VIEW_TUNNEL, VIEW_ALARM, VIEW_PROBE_PE, VIEW_FAULT, VIEW_BMP_GLOBALS,
	       VIEW_BMP_ROUTER, VIEW_PTUNNEL, VIEW_BMP_PEER, VIEW_COUNT };

struct capture;
struct prober;
struct history;
struct bmp_server;

/* A reload's parse runs on a thread of its own, so that a big file (or one
 * that never ends) never holds the engines; the engine thread applies the
 * result when the parse says it is done. */
struct reloader {
	pthread_t thread;
	int done_fd[2]; /* the parse writes its result here: one struct config * */
	bool have_pipe;
	bool running;
	bool again; /* SIGHUP during the parse: read the file once more after it */
};

struct daemon {
	const char *config_path;
	const char *agentx_socket_arg; /* -x, overrides the config */
	const char *pidfile;
	bool foreground;
	bool check_only;           /* -n: load the configuration, report, exit */
	struct config *config; /* in force; owned */
	struct config *retired; /* replaced by a reload, freed once the model is let go */
	struct model *model;   /* owned */
	int signal_fd;
	bool stopping;
	struct capture *capture; /* NULL when passive capture is off; owned */
	const char *capture_file_arg;      /* -r */
	const char *capture_interface_arg; /* -i */
	struct prober *prober; /* NULL when no VPN is probed; owned */
	struct history *history; /* NULL when no history is configured; owned */
	struct bmp_server *bmp;  /* NULL unless a bmp section is configured; owned */
	struct bgp_mdt mdt;      /* BGP's MDT SAFI routes, into the model (bgp/mdt.h) */
	struct bgp_mvpn mvpn;    /* BGP MVPN's routes, into the model (bgp/mvpn.h) */
	struct table_view views[VIEW_COUNT];
	struct reloader reload;
	mtime_t next_tick;   /* engine thread: the next once-a-second chores */
	size_t notices_seen; /* engine thread: notices queued at its last turn */
	int64_t longest_turn; /* engine thread: ns the model was held, the longest turn
			       * since the last SIGUSR1 summary (which reports it) */
};

/* Applies a loaded configuration to the model and takes ownership of it; the
 * one it replaces waits in d->retired for daemon_free_retired. */
void daemon_apply_config(struct daemon *d, struct config *c);
/* Discovery made VPN rows from BGP (d->mdt.vpns_changed): the capture joins
 * their groups and its filter takes them. */
void daemon_vpns_discovered(struct daemon *d);
/* What the tables and notifications show for a PE: its configured name,
 * else its address (dotted, or RFC 5952) written into buf; "" for no
 * address.  Model locked. */
const char *pe_display_name(const struct model *m, const struct inet_addr *a,
			    char buf[INET_ADDR_STRLEN]);
/* The same as a cell (mvpnPeName, mvpnPairSrcName, ...). */
void cell_pe_name(struct cell *c, const struct model *m, const struct inet_addr *a);
/* Frees the configuration a reload replaced: needs no lock (only the engine
 * thread ever held it), so a big one is freed without holding SNMP. */
void daemon_free_retired(struct daemon *d);
/* SIGHUP: parse the file whole on the reload thread; swap it in only if it
 * is valid (daemon_reload_done, when daemon_reload_fd is readable). */
void daemon_request_reload(struct daemon *d);
/* Readable when a parse has finished; -1 when none runs. */
int daemon_reload_fd(const struct daemon *d);
void daemon_reload_done(struct daemon *d);
/* Lets a running parse go: it is never waited for (it may be stuck on a FIFO). */
void daemon_reload_abandon(struct daemon *d);
/* At exit: abandons a running parse, closes what the reloads opened. */
void daemon_reload_close(struct daemon *d);
/* Once a second, live: capture retry, kernel drop counts. */
void daemon_tick(struct daemon *d);
/* Passive capture from a file or an interface (exactly one non-NULL). */
int daemon_open_capture(struct daemon *d, const char *file, const char *iface);
void daemon_close_capture(struct daemon *d);
/* Live capture failed (interface gone or down): suspend it, retry every second. */
void daemon_capture_lost(struct daemon *d);
/* Active probing as the configuration says (opened on first need). */
void daemon_apply_probes(struct daemon *d, const struct config *c);
void daemon_close_prober(struct daemon *d);

/* views.c: register the MIB's views of the model. */
int views_register(struct daemon *d);
/* views_passive.c: the passive engine's tables. */
void views_passive_init(struct daemon *d);
/* views_probe.c: the active engine's tables. */
void views_probe_init(struct daemon *d);
/* views_alarm.c: the active alarm table. */
void views_alarm_init(struct daemon *d);
/* views_locate.c: the probed PEs' sides and the located faults. */
void views_locate_init(struct daemon *d);
/* The path columns of mvpnPairTable (loss_ppm: the pair's window loss);
 * false for any other column. */
struct pair;
bool pair_locate_cell(struct model *m, const struct pair *pr, uint32_t loss_ppm, unsigned col,
		      struct cell *c);
/* views_bmp.c: the BMP collector's scalars and router table. */
void views_bmp_init(struct daemon *d);
/* Places a view under mvpnObjects.arc (its entry, for a table). */
void view_at(struct table_view *tv, const char *name, unsigned arc, bool table);
/* A table view under arc with accessible columns first..last, read with d. */
void view_table(struct table_view *tv, struct daemon *d, const char *name, unsigned arc,
		unsigned first, unsigned last);
/* Seconds left until t, rounded up; 0 once passed or when t is 0. */
uint32_t seconds_until(const struct model *m, mtime_t t);

#endif
