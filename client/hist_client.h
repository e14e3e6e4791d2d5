/*
 * The history store as the client's commands read it: the store options
 * (--db FILE, --pg CONNINFO, --monitor NAME), the monitors a command reads
 * (every monitor in the store unless --monitor names one), and VPN names.
 */
#ifndef MVPN_CLIENT_HIST_CLIENT_H
#define MVPN_CLIENT_HIST_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../history/store.h"
#include "cli.h"

/* Where the daemon keeps its history unless configured otherwise. */
#define HIST_DEFAULT_DB "/var/lib/mvpnmon/history.db"

struct hist_args {
	const char *db, *pg, *monitor;
};

struct hist_client {
	struct hist_store *store;
	char **monitors;   /* every monitor in the store, sorted; with --monitor, */
	size_t n_monitors; /* that one first and alone read */
	size_t n_names;    /* all of them, for freeing */
};

/* Takes a store option; false if opt is not one. */
bool hist_args_option(struct hist_args *a, int opt, const char *arg);

/* --since (required) and --until (default: no end) into q.  Returns CLI_OK,
 * or CLI_USAGE after saying what is wrong. */
int hist_client_range(struct cli *c, const char *since, const char *until,
		      struct hist_query *q);

/* Opens the store read-only and lists the monitors to read.  Returns CLI_OK,
 * or CLI_FAIL / CLI_USAGE after saying what is wrong. */
int hist_client_open(struct cli *c, const struct hist_args *a, struct hist_client *h);
void hist_client_close(struct hist_client *h);

/*
 * A --vpn argument as one monitor's VPN index, from that monitor's state at
 * `at` (its latest checkpoint at or before it, and the changes since): a VPN
 * of that name, else a number taken as the index if such a VPN exists.
 * Returns 0 with *index set, 1 when the monitor had no such VPN then (or no
 * history yet), -1 after saying what failed.
 */
int hist_client_vpn(struct cli *c, struct hist_client *h, const char *monitor, const char *vpn,
		    uint64_t at, uint32_t *index);

/* The same for a time range: the VPN by that name (or index) at its end,
 * else at its start. */
int hist_client_vpn_range(struct cli *c, struct hist_client *h, const char *monitor,
			  const char *vpn, uint64_t since, uint64_t until, uint32_t *index);

/* The names of one monitor's VPNs, for showing changes: index -> name. */
struct vpn_names {
	size_t n;
	struct vpn_name { uint32_t index; char name[65]; } *v;
};

/* Adds the VPNs of the monitor's state at `at` that are not there yet.
 * Returns 0, or -1 after saying what failed. */
int vpn_names_add(struct cli *c, struct hist_client *h, const char *monitor, uint64_t at,
		  struct vpn_names *names);
/* The name, or NULL. */
const char *vpn_names_find(const struct vpn_names *names, uint32_t index);
void vpn_names_free(struct vpn_names *names);

/* Records read back, with the monitor (an index into monitors) of each. */
struct hist_rows {
	struct hist_got {
		size_t monitor;
		struct hist_record rec;
	} *v;
	size_t n, cap;
};

/* Appends monitor m's records of `type` matching q (its monitor ignored), in
 * the store's order.  Returns 0, or -1 after saying what failed. */
int hist_client_read(struct cli *c, struct hist_client *h, size_t m, uint8_t type,
		     const struct hist_query *q, struct hist_rows *out);
void hist_rows_free(struct hist_rows *r);

#endif
