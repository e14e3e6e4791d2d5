/*
 * What the PostgreSQL backend's files share (pg.c: the connection and the
 * schema; pg_write.c; pg_read.c; pg_prune.c).  Nothing outside history/pg*.c
 * includes it (but the PostgreSQL bench, for PG_BLOCK_CHANGES): store.c
 * knows the backend through hist_pg_backend() alone.
 */
#ifndef MVPN_HIST_PG_INT_H
#define MVPN_HIST_PG_INT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"

#define PG_FETCH_ROWS 10000        /* rows a read holds at once */
#define PG_FETCH_BLOCKS 16         /* change blocks a read holds at once */
/* Changes a block holds at most: 40-odd kB, TOASTed in 2 kB chunks that fill
 * their pages; a read by seq decodes at most one block it does not need at
 * each end of its range. */
#define PG_BLOCK_CHANGES 1024
#define PG_COPY_CHUNK (256 * 1024) /* bytes a PQputCopyData sends at once */

/* A growing byte buffer: one table's COPY data. */
struct pg_buf {
	uint8_t *p;
	size_t len, cap;
	bool oom;
};

enum { T_CHANGES, T_ALARMS, T_CONFIGS, T_PAIRS, T_FAULTS, T_COUNT };

/* Records sent in a transaction whose COMMIT went unanswered: by digest,
 * sorted, so that a later batch can skip those the server has. */
struct sent_set {
	uint64_t *d;
	size_t n, cap;
};

struct pg {
	PGconn *c;
	char *conninfo;
	char *monitor; /* writing: this monitor's name */
	bool read_only;
	int32_t id;    /* writing: its monitors.id */
	char changes_copy[96];
	uint64_t last_seq;  /* the highest seq committed for this monitor */
	int64_t batch;      /* the last token used */
	struct pg_buf t[T_COUNT];
	struct pg_buf body; /* the change block being made */
	/* A transaction that may or may not have committed (token `maybe_batch`),
	 * and records known committed that the caller has not yet been told of
	 * (its retries still carry them). */
	bool maybe;
	int64_t maybe_batch;
	uint64_t maybe_seq; /* the last_seq it would have set */
	struct sent_set maybe_set, known;
};

/* ---- pg.c: messages, statements, result fields ---- */

/* "postgresql store DB on HOST:PORT: what: why" (never the conninfo). */
void pg_say(struct pg *g, char *err, size_t errlen, const char *what, const char *why);
/* As pg_say, why being libpq's last error. */
void pg_fail(struct pg *g, char *err, size_t errlen, const char *what);
bool pg_connected(const struct pg *g);
/* Reconnects a connection that broke (a writer registers again). */
int pg_ensure(struct pg *g, char *err, size_t errlen);
/* A statement without rows to read; `what` names it in err. */
int pg_run_as(struct pg *g, const char *sql, const char *what, char *err, size_t errlen);
int pg_run(struct pg *g, const char *sql, char *err, size_t errlen);
/* Text parameters, binary results.  NULL with err. */
PGresult *pg_query(struct pg *g, const char *sql, int n, const char *const *vals, char *err,
		   size_t errlen);
void pg_rollback(struct pg *g);
/* Binary result fields, lengths checked: a smallint, integer or bigint (0
 * for NULL or another type); a bytea (NULL, *n 0 for NULL). */
uint64_t pg_int(const PGresult *r, int row, int col);
const uint8_t *pg_bytes(const PGresult *r, int row, int col, size_t *n);
int pg_addr(const PGresult *r, int row, int col, struct inet_addr *a);
int pg_value(const PGresult *r, int row, int col, uint8_t kind, union change_value *v);
/* A time or seq as a bigint parameter (UINT64_MAX and above INT64_MAX: INT64_MAX). */
void pg_u64_text(char *out, size_t len, uint64_t v);

/* ---- the backend's entry points (backend.h) ---- */

int pg_write(void *conn, const struct hist_record *recs, size_t n, char *err, size_t errlen);
int pg_read(void *conn, uint8_t type, const struct hist_query *q, hist_row_cb cb, void *arg,
	    char *err, size_t errlen);
int pg_checkpoint_at(void *conn, const char *monitor, uint64_t at_ns, struct hist_checkpoint **out,
		     uint64_t *when_ns, char *err, size_t errlen);
int pg_checkpoint_after(void *conn, const char *monitor, uint64_t at_ns, uint64_t *when_ns,
			char *err, size_t errlen);
int pg_changes_after(void *conn, const char *monitor, uint64_t after_seq, uint64_t until_ns,
		     hist_row_cb cb, void *arg, char *err, size_t errlen);
int pg_monitors(void *conn, char ***names, size_t *n, char *err, size_t errlen);
int64_t pg_prune(void *conn, uint64_t before_ns, uint64_t max_bytes, uint64_t max_rows, char *err,
		 size_t errlen);

#endif
