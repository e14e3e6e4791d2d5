/*
 * The SQLite backend, the embedded default: one file, WAL (a reader never
 * blocks the writer), synchronous=NORMAL (a power cut may lose the last
 * transactions, never the file; kill -9 loses nothing committed), prepared
 * statements, one transaction per batch.  The busy timeout is short on
 * purpose: a database another process holds locked fails the batch, which
 * the writer keeps and retries at its next flush, rather than hanging it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "encode.h"
#include "sqlite_int.h"

#define BUSY_TIMEOUT_MS 50

/* ---- errors ---- */

static const char *why(struct sq *q, int rc)
{
	switch (rc & 0xff) {
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		q->broken = true;
		return "the file is corrupt or is not a database";
	case SQLITE_READONLY:
		if (rc == SQLITE_READONLY_DBMOVED) { /* deleted or renamed under us */
			q->broken = true;
			return "the file was moved or deleted";
		}
		return "the file is read-only";
	case SQLITE_FULL:
		return "the disk is full";
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return "the database is locked by another connection";
	case SQLITE_CANTOPEN:
		q->broken = true;
		return "cannot open the file";
	case SQLITE_IOERR:
		q->broken = true;
		return "I/O error";
	case SQLITE_NOMEM:
		return "out of memory";
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return "permission denied";
	}
	return "error";
}

int sq_fail(struct sq *q, int rc, const char *doing, char *err, size_t errlen)
{
	const char *msg = q->db ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc);

	if (errlen)
		snprintf(err, errlen, "history file %s: %s: %s (%s)", q->path, doing, why(q, rc),
			 msg);
	return -1;
}

int sq_say(struct sq *q, char *err, size_t errlen, const char *fmt, ...)
{
	char what[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (errlen)
		snprintf(err, errlen, "history file %s: %s", q->path, what);
	return -1;
}

int sq_prepare(struct sq *q, const char *sql, sqlite3_stmt **st, char *err, size_t errlen)
{
	int rc = sqlite3_prepare_v2(q->db, sql, -1, st, NULL);

	return rc == SQLITE_OK ? 0 : sq_fail(q, rc, "preparing a statement", err, errlen);
}

int sq_step_done(struct sq *q, sqlite3_stmt *st, const char *doing, char *err, size_t errlen)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : sq_fail(q, rc, doing, err, errlen);
}

static int exec(struct sq *q, const char *sql, const char *doing, char *err, size_t errlen)
{
	int rc = sqlite3_exec(q->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : sq_fail(q, rc, doing, err, errlen);
}

/* ---- opening ---- */

/* The schema version in meta: 0 when the file has no tables at all (new),
 * -1 (err set) when it is not ours or cannot be read. */
static int schema_version(struct sq *q, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int rc, version = -1;

	if (sq_prepare(q, "SELECT (SELECT count(*) FROM sqlite_master),"
			  " (SELECT count(*) FROM sqlite_master WHERE name = 'meta')", &st, err,
		       errlen) < 0)
		return -1;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		return sq_fail(q, rc, "reading the schema", err, errlen);
	}
	int tables = sqlite3_column_int(st, 0), meta = sqlite3_column_int(st, 1);
	sqlite3_finalize(st);
	if (tables == 0)
		return 0;
	if (!meta)
		return sq_say(q, err, errlen, "a SQLite database, but not a history store");
	if (sq_prepare(q, "SELECT value FROM meta WHERE key = 'schema_version'", &st, err,
		       errlen) < 0)
		return -1;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_fail(q, rc, "reading the schema version", err, errlen);
	if (version < 1)
		return sq_say(q, err, errlen, "no schema version in its meta table");
	return version;
}

/* Creates the schema when the file is new; refuses a newer one. */
static int check_schema(struct sq *q, char *err, size_t errlen)
{
	if (!q->read_only && exec(q, "BEGIN IMMEDIATE", "creating the schema", err, errlen) < 0)
		return -1;
	int v = schema_version(q, err, errlen);
	if (v == 0 && q->read_only)
		v = sq_say(q, err, errlen, "an empty file, not a history store");
	else if (v == 0)
		v = exec(q, HIST_SQLITE_SCHEMA, "creating the schema", err, errlen) < 0 ? -1 : 1;
	else if (v > HIST_SCHEMA_VERSION)
		v = sq_say(q, err, errlen, "schema version %d is newer than this program's (%d)",
			   v, HIST_SCHEMA_VERSION);
	if (v > 0 && !q->read_only && exec(q, HIST_SQLITE_ADDED, "adding tables", err, errlen) < 0)
		v = -1;
	if (q->read_only)
		return v < 0 ? -1 : 0;
	if (v < 0) {
		sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return exec(q, "COMMIT", "creating the schema", err, errlen);
}

/* This monitor's row, created at its first write. */
static int register_monitor(struct sq *q, const char *name, char *err, size_t errlen)
{
	sqlite3_stmt *st;

	if (!name || !*name)
		name = "default";
	if (sq_prepare(q, "INSERT OR IGNORE INTO monitors(name) VALUES(?)", &st, err, errlen) < 0)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int rc = sq_step_done(q, st, "registering the monitor", err, errlen);
	sqlite3_finalize(st);
	if (rc < 0 || sq_monitor_id(q, name, &q->monitor, err, errlen) != 0)
		return -1;
	if (q->monitor > HIST_MAX_MONITORS)
		return sq_say(q, err, errlen, "more than %d monitors", HIST_MAX_MONITORS);
	return 0;
}

static int prepare_writes(struct sq *q, char *err, size_t errlen)
{
	static const struct {
		size_t off;
		const char *sql;
	} stmts[] = {
		{offsetof(struct sq, begin), "BEGIN IMMEDIATE"},
		{offsetof(struct sq, commit), "COMMIT"},
		{offsetof(struct sq, rollback), "ROLLBACK"},
		{offsetof(struct sq, ins_change),
		 "INSERT OR IGNORE INTO change_log(id, when_ns, vpn, kind, pe, peer, c_source,"
		 " c_group, p_group, prev, cur) VALUES(?,?,?,?,?,?,?,?,?,?,?)"},
		{offsetof(struct sq, ins_alarm),
		 "INSERT INTO alarms(monitor, when_ns, alarm_index, kind, raised, vpn, addr, peer,"
		 " value, threshold) VALUES(?,?,?,?,?,?,?,?,?,?)"},
		{offsetof(struct sq, ins_config),
		 "INSERT INTO configs(monitor, when_ns, ok, vpns, added, removed, changed)"
		 " VALUES(?,?,?,?,?,?,?)"},
		{offsetof(struct sq, ins_pair),
		 "INSERT INTO pair_windows(monitor, when_ns, vpn, src, dst, sent, received, lost,"
		 " delay_min_us, delay_avg_us, delay_p99_us, jitter_us, status)"
		 " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)"},
		{offsetof(struct sq, ins_cp),
		 "INSERT INTO checkpoints(monitor, when_ns, last_seq, body) VALUES(?,?,?,?)"},
		{offsetof(struct sq, ins_fault),
		 "INSERT INTO faults(monitor, when_ns, fault_id, located, vpn, metric, kind, flags,"
		 " pe, peer, loss_ppm, low_ppm, high_ppm, echo_loss_ppm, shift_us, pairs, since_ns)"
		 " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"},
	};

	for (size_t i = 0; i < sizeof(stmts) / sizeof(stmts[0]); i++)
		if (sq_prepare(q, stmts[i].sql, (sqlite3_stmt **)((char *)q + stmts[i].off), err,
			       errlen) < 0)
			return -1;
	return 0;
}

static void sq_close(void *conn)
{
	struct sq *q = conn;

	if (!q)
		return;
	sqlite3_stmt *all[] = {q->begin, q->commit, q->rollback, q->ins_change, q->ins_alarm,
			       q->ins_config, q->ins_pair, q->ins_cp, q->ins_fault};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		sqlite3_finalize(all[i]);
	sqlite3_close(q->db);
	free(q->path);
	free(q);
}

static int open_db(struct sq *q, char *err, size_t errlen)
{
	int flags = q->read_only ? SQLITE_OPEN_READONLY
				 : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	int rc = sqlite3_open_v2(q->path, &q->db, flags | SQLITE_OPEN_NOMUTEX, NULL);

	if (rc != SQLITE_OK)
		return sq_fail(q, rc, "opening", err, errlen);
	sqlite3_extended_result_codes(q->db, 1);
	sqlite3_busy_timeout(q->db, BUSY_TIMEOUT_MS);
	/* SQLite opens a file it may not write read-only without a word. */
	if (!q->read_only && sqlite3_db_readonly(q->db, "main") == 1)
		return sq_say(q, err, errlen,
			      "opening: the file is read-only (mvpnmond must be able to write it)");
	if (q->read_only)
		return 0;
	/* The first statement reads the header: a corrupt file fails here. */
	if (exec(q, "PRAGMA journal_mode=WAL", "opening", err, errlen) < 0 ||
	    exec(q, "PRAGMA synchronous=NORMAL", "opening", err, errlen) < 0)
		return -1;
	struct stat st;
	if (stat(q->path, &st) == 0) {
		q->dev = st.st_dev;
		q->ino = st.st_ino;
	}
	return 0;
}

/* A file deleted or replaced under an open connection takes writes that
 * nobody will read (in WAL mode SQLite does not notice), so each batch
 * checks first: the writer then opens the path again. */
static int still_there(struct sq *q, char *err, size_t errlen)
{
	struct stat st;

	if (stat(q->path, &st) == 0 && st.st_dev == q->dev && st.st_ino == q->ino)
		return 0;
	q->broken = true;
	return sq_say(q, err, errlen, "the file was moved or deleted; opening it again");
}

static void *sq_open(const struct hist_location *loc, char *err, size_t errlen)
{
	struct sq *q = calloc(1, sizeof(*q));

	if (!q || !loc->target || !(q->path = strdup(loc->target))) {
		if (errlen)
			snprintf(err, errlen, "history: %s", q ? "no file given" : "out of memory");
		free(q);
		return NULL;
	}
	q->read_only = loc->read_only;
	if (open_db(q, err, errlen) < 0 || check_schema(q, err, errlen) < 0 ||
	    (!q->read_only && (register_monitor(q, loc->monitor, err, errlen) < 0 ||
			       prepare_writes(q, err, errlen) < 0))) {
		sq_close(q);
		return NULL;
	}
	return q;
}

static bool sq_usable(void *conn)
{
	return !((struct sq *)conn)->broken;
}

/* ---- writing ---- */

static void bind_addr(sqlite3_stmt *st, int col, const struct inet_addr *a)
{
	const uint8_t *b;
	size_t n = hist_addr_bytes(a, &b);

	if (n)
		sqlite3_bind_blob(st, col, b, (int)n, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, col);
}

static int put_change(struct sq *q, const struct hist_record *r, char *err, size_t errlen)
{
	const struct change *c = &r->u.change;
	uint8_t prev[HIST_VALUE_MAX], cur[HIST_VALUE_MAX];
	int np = hist_value_encode(c->kind, &c->previous, prev);
	int nc = hist_value_encode(c->kind, &c->current, cur);
	sqlite3_stmt *st = q->ins_change;

	if (np < 0 || nc < 0)
		return sq_say(q, err, errlen, "change %llu: kind %u cannot be stored",
			      (unsigned long long)r->seq, c->kind);
	if (r->seq == 0 || r->seq > HIST_SEQ_MASK)
		return sq_say(q, err, errlen, "change seq %llu out of range",
			      (unsigned long long)r->seq);
	sqlite3_bind_int64(st, 1, sq_change_base(q->monitor) | (int64_t)r->seq);
	sqlite3_bind_int64(st, 2, sq_i64(r->when_ns));
	sqlite3_bind_int64(st, 3, c->vpn_index);
	sqlite3_bind_int(st, 4, c->kind);
	bind_addr(st, 5, &c->pe);
	bind_addr(st, 6, &c->peer);
	bind_addr(st, 7, &c->c_source);
	bind_addr(st, 8, &c->c_group);
	bind_addr(st, 9, &c->p_group);
	if (np)
		sqlite3_bind_blob(st, 10, prev, np, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 10);
	if (nc)
		sqlite3_bind_blob(st, 11, cur, nc, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 11);
	return sq_step_done(q, st, "writing a change", err, errlen);
}

static int put_alarm(struct sq *q, const struct hist_record *r, char *err, size_t errlen)
{
	const struct hist_alarm *a = &r->u.alarm;
	sqlite3_stmt *st = q->ins_alarm;

	sqlite3_bind_int64(st, 1, q->monitor);
	sqlite3_bind_int64(st, 2, sq_i64(r->when_ns));
	sqlite3_bind_int64(st, 3, a->index);
	sqlite3_bind_int(st, 4, a->kind);
	sqlite3_bind_int(st, 5, a->raised);
	sqlite3_bind_int64(st, 6, a->vpn_index);
	bind_addr(st, 7, &a->addr);
	bind_addr(st, 8, &a->peer);
	sqlite3_bind_int64(st, 9, a->value);
	sqlite3_bind_int64(st, 10, a->threshold);
	return sq_step_done(q, st, "writing an alarm", err, errlen);
}

static int put_fault(struct sq *q, const struct hist_record *r, char *err, size_t errlen)
{
	const struct hist_fault *f = &r->u.fault;
	sqlite3_stmt *st = q->ins_fault;

	sqlite3_bind_int64(st, 1, q->monitor);
	sqlite3_bind_int64(st, 2, sq_i64(r->when_ns));
	sqlite3_bind_int64(st, 3, f->id);
	sqlite3_bind_int(st, 4, f->located);
	sqlite3_bind_int64(st, 5, f->vpn_index);
	sqlite3_bind_int(st, 6, f->metric);
	sqlite3_bind_int(st, 7, f->kind);
	sqlite3_bind_int(st, 8, f->flags);
	bind_addr(st, 9, &f->pe);
	bind_addr(st, 10, &f->peer);
	sqlite3_bind_int64(st, 11, f->loss_ppm);
	sqlite3_bind_int64(st, 12, f->low_ppm);
	sqlite3_bind_int64(st, 13, f->high_ppm);
	sqlite3_bind_int64(st, 14, f->echo_loss_ppm);
	sqlite3_bind_int64(st, 15, f->shift_us);
	sqlite3_bind_int64(st, 16, f->pairs);
	sqlite3_bind_int64(st, 17, sq_i64(f->since_ns));
	return sq_step_done(q, st, "writing a fault", err, errlen);
}

static int put_config(struct sq *q, const struct hist_record *r, char *err, size_t errlen)
{
	const struct hist_config *c = &r->u.config;
	sqlite3_stmt *st = q->ins_config;

	sqlite3_bind_int64(st, 1, q->monitor);
	sqlite3_bind_int64(st, 2, sq_i64(r->when_ns));
	sqlite3_bind_int(st, 3, c->ok);
	sqlite3_bind_int64(st, 4, c->vpns);
	sqlite3_bind_int64(st, 5, c->added);
	sqlite3_bind_int64(st, 6, c->removed);
	sqlite3_bind_int64(st, 7, c->changed);
	return sq_step_done(q, st, "writing a configuration load", err, errlen);
}

static int put_pair(struct sq *q, const struct hist_record *r, char *err, size_t errlen)
{
	const struct hist_pair_window *p = &r->u.pair;
	sqlite3_stmt *st = q->ins_pair;

	sqlite3_bind_int64(st, 1, q->monitor);
	sqlite3_bind_int64(st, 2, sq_i64(r->when_ns));
	sqlite3_bind_int64(st, 3, p->vpn_index);
	bind_addr(st, 4, &p->src);
	bind_addr(st, 5, &p->dst);
	sqlite3_bind_int64(st, 6, p->sent);
	sqlite3_bind_int64(st, 7, p->received);
	sqlite3_bind_int64(st, 8, p->lost);
	sqlite3_bind_int64(st, 9, p->delay_min_us);
	sqlite3_bind_int64(st, 10, p->delay_avg_us);
	sqlite3_bind_int64(st, 11, p->delay_p99_us);
	sqlite3_bind_int64(st, 12, p->jitter_us);
	sqlite3_bind_int(st, 13, p->status);
	return sq_step_done(q, st, "writing a pair window", err, errlen);
}

static int put_checkpoint(struct sq *q, const struct hist_record *r, char *err, size_t errlen)
{
	const struct hist_checkpoint *cp = r->u.checkpoint;
	sqlite3_stmt *st = q->ins_cp;
	uint8_t *body;
	size_t len;

	if (!cp || hist_checkpoint_encode(cp, &body, &len) < 0)
		return sq_say(q, err, errlen, "a checkpoint that cannot be encoded");
	sqlite3_bind_int64(st, 1, q->monitor);
	sqlite3_bind_int64(st, 2, sq_i64(r->when_ns));
	sqlite3_bind_int64(st, 3, sq_i64(cp->last_change_seq));
	sqlite3_bind_blob64(st, 4, body, len, SQLITE_STATIC);
	int rc = sq_step_done(q, st, "writing a checkpoint", err, errlen);
	sqlite3_clear_bindings(st); /* body is freed below */
	free(body);
	return rc;
}

static int put_record(struct sq *q, const struct hist_record *r, char *err, size_t errlen)
{
	switch (r->type) {
	case HIST_CHANGE:
		return put_change(q, r, err, errlen);
	case HIST_ALARM:
		return put_alarm(q, r, err, errlen);
	case HIST_CONFIG:
		return put_config(q, r, err, errlen);
	case HIST_PAIR_WINDOW:
		return put_pair(q, r, err, errlen);
	case HIST_CHECKPOINT:
		return put_checkpoint(q, r, err, errlen);
	case HIST_FAULT:
		return put_fault(q, r, err, errlen);
	}
	return sq_say(q, err, errlen, "a record of unknown type %u", r->type);
}

static int sq_write(void *conn, const struct hist_record *recs, size_t n, char *err,
		    size_t errlen)
{
	struct sq *q = conn;

	if (q->read_only)
		return sq_say(q, err, errlen, "opened read-only");
	if (still_there(q, err, errlen) < 0 ||
	    sq_step_done(q, q->begin, "starting a transaction", err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (put_record(q, &recs[i], err, errlen) < 0)
			goto undo;
	}
	if (sq_step_done(q, q->commit, "committing", err, errlen) == 0)
		return 0;
undo:
	/* A failed COMMIT may have rolled back already: then this is a no-op. */
	if (!sqlite3_get_autocommit(q->db)) {
		sqlite3_step(q->rollback);
		sqlite3_reset(q->rollback);
	}
	return -1;
}

static const struct hist_backend SQLITE_BACKEND = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.write = sq_write,
	.usable = sq_usable,
	.prune = sq_prune,
	.read = sq_read,
	.checkpoint_at = sq_checkpoint_at,
	.checkpoint_after = sq_checkpoint_after,
	.changes_after = sq_changes_after,
	.monitors = sq_monitors,
};

const struct hist_backend *hist_sqlite_backend(void)
{
	return &SQLITE_BACKEND;
}
