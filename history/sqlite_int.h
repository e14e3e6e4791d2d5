/*
 * What the SQLite backend's files share (sqlite.c: open, write;
 * sqlite_read.c: reads; sqlite_prune.c: retention).  Not for other modules.
 */
#ifndef MVPN_HIST_SQLITE_INT_H
#define MVPN_HIST_SQLITE_INT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "backend.h"
#include "sqlite_schema.h"

struct sq {
	sqlite3 *db;
	char *path;          /* owned: for messages */
	bool read_only;
	bool broken;         /* corrupt or unreadable: reopen rather than retry */
	int64_t monitor;     /* writing: this monitor's id */
	dev_t dev;           /* writing: the file opened, to notice it deleted or replaced */
	ino_t ino;
	sqlite3_stmt *begin, *commit, *rollback;
	sqlite3_stmt *ins_change, *ins_alarm, *ins_config, *ins_pair, *ins_cp, *ins_fault;
};

/* The first id of monitor m's changes: (m - 1) << 48. */
static inline int64_t sq_change_base(int64_t monitor)
{
	return (int64_t)((uint64_t)(monitor - 1) << HIST_SEQ_BITS);
}

/* A time or count for an INTEGER column: SQLite's are signed. */
static inline int64_t sq_i64(uint64_t v)
{
	return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

/* Writes "history file PATH: DOING: why (sqlite's words)" into err, marks
 * the connection broken when retrying cannot help, and returns -1. */
int sq_fail(struct sq *q, int rc, const char *doing, char *err, size_t errlen);
/* err for a problem of ours, not SQLite's.  Returns -1. */
int sq_say(struct sq *q, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Prepares sql, or fails as sq_fail does. */
int sq_prepare(struct sq *q, const char *sql, sqlite3_stmt **st, char *err, size_t errlen);
/* Runs a statement returning nothing (one step, then reset). */
int sq_step_done(struct sq *q, sqlite3_stmt *st, const char *doing, char *err, size_t errlen);

/* A monitor's id by name (NULL or "": the only monitor there is).  0 found;
 * 1 no such monitor (err says so); -1 error. */
int sq_monitor_id(struct sq *q, const char *name, int64_t *id, char *err, size_t errlen);
/* Every monitor's id, in name order (*ids malloc'd, the caller's). */
int sq_monitor_ids(struct sq *q, int64_t **ids, size_t *n, char *err, size_t errlen);
/* The name of monitor id into buf ("" when unknown). */
void sq_monitor_name(struct sq *q, int64_t id, char *buf, size_t len);

int sq_read(void *conn, uint8_t type, const struct hist_query *qu, hist_row_cb cb, void *arg,
	    char *err, size_t errlen);
int sq_checkpoint_at(void *conn, const char *monitor, uint64_t at_ns,
		     struct hist_checkpoint **out, uint64_t *when_ns, char *err, size_t errlen);
int sq_checkpoint_after(void *conn, const char *monitor, uint64_t at_ns, uint64_t *when_ns,
			char *err, size_t errlen);
int sq_changes_after(void *conn, const char *monitor, uint64_t after_seq, uint64_t until_ns,
		     hist_row_cb cb, void *arg, char *err, size_t errlen);
int sq_monitors(void *conn, char ***names, size_t *n, char *err, size_t errlen);
int64_t sq_prune(void *conn, uint64_t before_ns, uint64_t max_bytes, uint64_t max_rows,
		 char *err, size_t errlen);

#endif
