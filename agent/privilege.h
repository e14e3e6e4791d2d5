/*
 * Least privilege: once the capture handle and the probe sockets are open,
 * mvpnmond becomes an ordinary user (the config's `user`) and keeps one
 * capability, CAP_NET_RAW, only when it works live: a capture interface that
 * comes back, or probing started by a reload, opens raw sockets again.
 * Replaying a file it keeps none.  No new privileges can be gained afterwards
 * (PR_SET_NO_NEW_PRIVS), and getting root back is checked to fail.
 */
#ifndef MVPN_PRIVILEGE_H
#define MVPN_PRIVILEGE_H

#include <stdbool.h>

/* Returns 0, or -1 after logging why (the daemon must not go on then). */
int privilege_drop(const char *user, bool keep_net_raw);
/* Gives path (if it exists) to user and its group, before the drop: what the
 * daemon opened as root and must open again as the user (the SQLite history
 * file, which the writer reopens after a failure).  Logs a failure; 0 or -1. */
int privilege_give(const char *user, const char *path);

#endif
