/*
 * The history store: one small interface, two backends (sqlite.c, the
 * embedded default; pg.c, a central PostgreSQL several monitors write to,
 * each under its own monitor name).  Blocking calls: only the writer thread
 * (writer.h) and the client (mvpnmon) call them, never an engine.
 */
#ifndef MVPN_HIST_STORE_H
#define MVPN_HIST_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"

enum hist_backend_kind { HIST_SQLITE = 1, HIST_POSTGRES = 2 };

struct hist_location {
	enum hist_backend_kind backend;
	const char *target;  /* SQLite: the file's path; PostgreSQL: a libpq conninfo */
	const char *monitor; /* this monitor's name (writing, NULL or "": "default");
			      * reading, NULL or "": every monitor */
	bool read_only;      /* the client: never creates or migrates */
};

struct hist_store; /* opaque: the backend's connection and prepared statements */

/* Opens (creating the schema when writing and absent).  NULL with a message
 * in err on failure: a corrupt file, a server refusing, a newer schema. */
struct hist_store *hist_store_open(const struct hist_location *loc, char *err, size_t errlen);
void hist_store_close(struct hist_store *s);

/* Writes records in one transaction: all of them or none.  Returns 0, or -1
 * with the backend's message in err (the caller keeps the records to retry). */
int hist_store_write(struct hist_store *s, const struct hist_record *recs, size_t n, char *err,
		     size_t errlen);

/* False once the connection cannot recover by itself (a corrupt file, a
 * server gone): close and open again.  A locked or full store stays usable. */
bool hist_store_usable(const struct hist_store *s);

/* Retention: deletes what is older than before_ns (0: no age limit), then
 * the oldest until the store's pages in use are at most max_bytes (0: no
 * size limit).  Changes go in whole checkpoint intervals: never the last
 * checkpoint before what is kept, nor a change after it.  One bounded step:
 * at most max_rows rows (0: no bound), in short transactions, so that the
 * writer is never held long; call again while it returns max_rows.
 * Returns the rows deleted, or -1 with err. */
int64_t hist_store_prune(struct hist_store *s, uint64_t before_ns, uint64_t max_bytes,
			 uint64_t max_rows, char *err, size_t errlen);

/* ---- reading (the client, and the daemon's restore at start) ---- */

struct hist_query {
	const char *monitor;  /* NULL: every monitor */
	uint64_t since_ns;    /* inclusive */
	uint64_t until_ns;    /* inclusive; UINT64_MAX: no end */
	uint32_t vpn_index;   /* 0: every VPN */
	const struct inet_addr *pe; /* NULL: every PE (matches a change's pe or peer) */
	uint8_t change_kind;  /* 0: every kind */
};

/* A row read back: the record and the monitor that wrote it. */
struct hist_row {
	const char *monitor;
	struct hist_record rec;
};

/* Calls cb for each matching record of `type` (HIST_CHANGE, HIST_ALARM,
 * HIST_CONFIG, HIST_PAIR_WINDOW, HIST_FAULT), in time order then index order
 * (a fault's id, located before cleared); cb returns non-zero to stop.  Returns 0, or -1 with err.  Changes come in seq order
 * (the order they happened; when_ns follows it but for an expiry dated at
 * its deadline), read from the checkpoint before since_ns, so a query by
 * time never scans the history before it.  q->monitor NULL: one monitor
 * after the other, in name order.  row->monitor lives during the call. */
typedef int (*hist_row_cb)(void *arg, const struct hist_row *row);
int hist_store_read(struct hist_store *s, uint8_t type, const struct hist_query *q,
		    hist_row_cb cb, void *arg, char *err, size_t errlen);

/* The state of one monitor at time at_ns: the last checkpoint at or before it
 * plus the changes after it up to at_ns (state.c applies them).  *out is
 * owned by the caller (hist_checkpoint_free), its rows sorted by VPN then
 * SNMP index; its when_ns the time of the newest record it holds.  Returns 0; 1 when there is nothing at or before at_ns; -1
 * with err.  monitor NULL or "": the store's only monitor (an error when
 * there are several). */
int hist_store_state_at(struct hist_store *s, const char *monitor, uint64_t at_ns,
			uint32_t vpn_index, struct hist_checkpoint **out, char *err, size_t errlen);

/* When the state was next written whole: the time of the monitor's first
 * checkpoint at or after at_ns, in *when_ns.  A configuration load changes
 * the expected PEs without a change record; the checkpoint that follows it
 * is the first state that shows them.  Returns 0; 1 when there is none; -1
 * with err.  monitor as for hist_store_state_at. */
int hist_store_next_checkpoint(struct hist_store *s, const char *monitor, uint64_t at_ns,
			       uint64_t *when_ns, char *err, size_t errlen);

/* The monitors that wrote to this store, for "every monitor" readers:
 * sorted, *names and each name malloc'd, the caller's (hist_store_names_free). */
int hist_store_monitors(struct hist_store *s, char ***names, size_t *n, char *err, size_t errlen);
void hist_store_names_free(char **names, size_t n);

#endif
