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

struct daemon {
	const char *config_path;
	const char *agentx_socket_arg; /* -x, overrides the config */
	const char *pidfile;
	bool foreground;
	struct config *config; /* in force; owned */
	struct model *model;   /* owned */
	int signal_fd;
	bool stopping;
	struct table_view globals_view;
	struct table_view vpn_view;
};

/* Applies a loaded configuration to the model and takes ownership of it. */
void daemon_apply_config(struct daemon *d, struct config *c);
/* SIGHUP: parse the file whole; swap it in only if it is valid. */
void daemon_reload(struct daemon *d);

/* views.c: register the MIB's views of the model. */
int views_register(struct daemon *d);

#endif
