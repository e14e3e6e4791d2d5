/*
 * What a history backend implements (sqlite.c, pg.c).  store.c holds one
 * backend and its connection and puts the store.h functions on top; nothing
 * but store.c calls these.  Every function is blocking and is called from
 * one thread at a time (the writer thread, or the client).
 *
 * Each backend keeps its connection in a struct of its own behind `void *`
 * (one struct tag per backend would be two definitions of one type in one
 * program).  Errors are written to err (at most errlen bytes, always
 * terminated) in words an operator can act on: what, which store, why.
 */
#ifndef MVPN_HIST_BACKEND_H
#define MVPN_HIST_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"
#include "store.h"

struct hist_backend {
	const char *name; /* "sqlite", "postgresql": for messages */

	/* Connects, and when !loc->read_only creates or checks the schema
	 * (schema.md) and registers loc->monitor.  NULL with err on failure. */
	void *(*open)(const struct hist_location *loc, char *err, size_t errlen);
	void (*close)(void *conn);

	/* All n records in one transaction, or none.  0, or -1 with err (the
	 * caller keeps the records and retries).  A change whose (monitor, seq)
	 * is already stored is skipped, not an error: a batch sent again after
	 * an ambiguous failure must not fail forever on its first row.  The
	 * writer relies on it so: it retries the oldest records first, and keeps
	 * the connection while usable() says so (pg.c checks a batch whose
	 * COMMIT answer was lost on that connection's next write). */
	int (*write)(void *conn, const struct hist_record *recs, size_t n, char *err,
		     size_t errlen);

	/* False once the connection cannot recover by itself (a corrupt file,
	 * a server gone): the writer then closes and opens again.  NULL: always
	 * usable. */
	bool (*usable)(void *conn);

	/* One bounded step of retention (store.h hist_store_prune): deletes at
	 * most max_rows rows (0: no bound) in short transactions.  Returns the
	 * rows deleted, or -1 with err. */
	int64_t (*prune)(void *conn, uint64_t before_ns, uint64_t max_bytes, uint64_t max_rows,
			 char *err, size_t errlen);

	/* Records of one type (HIST_CHANGE, HIST_ALARM, HIST_CONFIG,
	 * HIST_PAIR_WINDOW, HIST_FAULT) matching q, in time order then index order; changes
	 * by seq from the checkpoint before q->since_ns.  cb returning non-zero
	 * stops the read (0 returned).  0, or -1 with err. */
	int (*read)(void *conn, uint8_t type, const struct hist_query *q, hist_row_cb cb,
		    void *arg, char *err, size_t errlen);

	/* The last checkpoint of `monitor` with when_ns <= at_ns, decoded into
	 * *out (the caller's); *when_ns its time.  0; 1 when there is none
	 * (*out NULL); -1 with err. */
	int (*checkpoint_at)(void *conn, const char *monitor, uint64_t at_ns,
			     struct hist_checkpoint **out, uint64_t *when_ns, char *err,
			     size_t errlen);

	/* The time of the first checkpoint of `monitor` with when_ns >=
	 * at_ns, in *when_ns.  0; 1 when there is none; -1 with err. */
	int (*checkpoint_after)(void *conn, const char *monitor, uint64_t at_ns,
				uint64_t *when_ns, char *err, size_t errlen);

	/* The changes of `monitor` with seq > after_seq, in seq order, up to the
	 * first checkpoint after until_ns (its last_seq bounds the scan, so the
	 * read costs one checkpoint interval, not the history); the caller
	 * filters when_ns <= until_ns.  cb as for read.  0, or -1 with err. */
	int (*changes_after)(void *conn, const char *monitor, uint64_t after_seq,
			     uint64_t until_ns, hist_row_cb cb, void *arg, char *err,
			     size_t errlen);

	/* The names in the monitors table, sorted; *names and each name owned
	 * by the caller (malloc).  0, or -1 with err. */
	int (*monitors)(void *conn, char ***names, size_t *n, char *err, size_t errlen);
};

const struct hist_backend *hist_sqlite_backend(void);
/* pg.c; store.c references it weakly, so a build without pg.c (or without
 * libpq) links and says so when a PostgreSQL store is asked for. */
const struct hist_backend *hist_pg_backend(void);

/* Writes an operator's message into err (errlen 0: nowhere), as every
 * backend and store.c report their failures. */
void hist_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
