/* The one daemon context, passed explicitly everywhere in agent/. */
#ifndef MVPN_DAEMON_H
#define MVPN_DAEMON_H

#include <stdbool.h>

#include "../mib/model.h"
#include "config.h"
#include "table_view.h"

#ifndef MVPN_VERSION
#define MVPN_VERSION "0.0.0"
#endif

enum view_id { VIEW_GLOBALS, VIEW_VPN, VIEW_PE, VIEW_CGROUP_PE, VIEW_CGROUP_PGROUP, VIEW_CHANGE,
	       VIEW_PAIR, VIEW_TUNNEL, VIEW_ALARM, VIEW_COUNT };

struct capture;
struct prober;

struct daemon {
	const char *config_path;
	const char *agentx_socket_arg; /* -x, overrides the config */
	const char *pidfile;
	bool foreground;
	bool check_only;           /* -n: load the configuration, report, exit */
	struct config *config; /* in force; owned */
	struct model *model;   /* owned */
	int signal_fd;
	bool stopping;
	struct capture *capture; /* NULL when passive capture is off; owned */
	const char *capture_file_arg;      /* -r */
	const char *capture_interface_arg; /* -i */
	struct prober *prober; /* NULL when no VPN is probed; owned */
	struct table_view views[VIEW_COUNT];
};

/* Applies a loaded configuration to the model and takes ownership of it. */
void daemon_apply_config(struct daemon *d, struct config *c);
/* SIGHUP: parse the file whole; swap it in only if it is valid. */
void daemon_reload(struct daemon *d);
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
/* Places a view under mvpnObjects.arc (its entry, for a table). */
void view_at(struct table_view *tv, const char *name, unsigned arc, bool table);
/* A table view under arc with accessible columns first..last, read with d. */
void view_table(struct table_view *tv, struct daemon *d, const char *name, unsigned arc,
		unsigned first, unsigned last);
/* Seconds left until t, rounded up; 0 once passed or when t is 0. */
uint32_t seconds_until(const struct model *m, mtime_t t);

#endif
