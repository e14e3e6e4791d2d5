/*
 * The PostgreSQL history backend (backend.h): one central store several
 * monitors write to, each under its own name (the monitors table).  The
 * logical tables and columns are schema.md's; what differs here:
 *
 * - changes is partitioned by monitor (changes_<id>, made when a monitor
 *   registers), each partition with a BRIN index on seq.  Rows arrive in seq
 *   order, so a BRIN range is a narrow seq range and costs next to nothing
 *   to keep; a B-tree on (monitor, seq) halved what COPY could write here.
 *   Reads by time go through the checkpoints (their when_ns and last_seq) to
 *   a seq range, as schema.md has it, so no index on when_ns.
 * - A batch is one transaction: binary COPY into the monitor's partition and
 *   the other tables, then one row of monitor_writes (the batch's token and
 *   the monitor's last seq) updated in the same transaction.
 * - Sending a batch again never stores it twice.  Changes at or below the
 *   monitor's last committed seq are skipped (seqs only grow).  When a
 *   connection drops after COMMIT was sent, nobody knows whether it
 *   committed: the batch's records are remembered by digest and its token is
 *   looked up (FOR UPDATE, waiting for the old session's transaction) before
 *   the next write, which then skips exactly what is already there.
 * - A lost connection is reopened at the next call; its error is returned
 *   (the writer keeps its records and retries).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encode.h"
#include "pg_int.h"

#define PG_SCHEMA_VERSION 1
/* pg_advisory_xact_lock key: monitors creating the schema at once wait in turn. */
#define PG_SCHEMA_LOCK 0x6d76706e /* "mvpn" */

/* ---- the connection ---- */

/* libpq's messages span lines ("...failed: FATAL: ...\n\tIs the server
 * running...?"): one line for a log. */
static void one_line(char *s)
{
	size_t w = 0;
	bool space = false;

	for (size_t r = 0; s[r]; r++) {
		char ch = s[r] == '\n' || s[r] == '\t' || s[r] == '\r' ? ' ' : s[r];
		if (ch == ' ' && (space || w == 0))
			continue;
		space = ch == ' ';
		s[w++] = ch;
	}
	while (w && s[w - 1] == ' ')
		w--;
	s[w] = '\0';
}

/* "postgresql store dbname on host:port: what: libpq's why".  Never the
 * conninfo itself: it may hold a password.  Of libpq's message, the first
 * line (the rest is advice), without the "connection to server on socket
 * ... failed:" that repeats where: the writer keeps 160 bytes of it. */
void pg_say(struct pg *g, char *err, size_t errlen, const char *what, const char *why)
{
	char reason[512];
	const char *db = g->c ? PQdb(g->c) : NULL, *host = g->c ? PQhost(g->c) : NULL;
	const char *port = g->c ? PQport(g->c) : NULL;
	const char *failed = why ? strstr(why, "\" failed: ") : NULL;

	if (why && failed && strncmp(why, "connection to server ", 21) == 0)
		why = failed + 10;
	snprintf(reason, sizeof(reason), "%s", why && *why ? why : "no reason given");
	reason[strcspn(reason, "\n")] = '\0';
	one_line(reason);
	hist_errf(err, errlen, "postgresql store \"%s\" on %s%s%s: %s: %s", db ? db : "?",
		host && *host ? host : "the default socket", port && *port ? ":" : "",
		port && *port ? port : "", what, reason);
}

void pg_fail(struct pg *g, char *err, size_t errlen, const char *what)
{
	pg_say(g, err, errlen, what, g->c ? PQerrorMessage(g->c) : "not connected");
}

bool pg_connected(const struct pg *g)
{
	return g->c && PQstatus(g->c) == CONNECTION_OK;
}

static void quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg; /* NOTICEs ("already exists, skipping") are no news */
}

/* A command that returns no rows; `what` names it in an error.  0, or -1
 * with err. */
int pg_run_as(struct pg *g, const char *sql, const char *what, char *err, size_t errlen)
{
	PGresult *r = PQexec(g->c, sql);
	int ok = r && (PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK);

	if (!ok)
		pg_fail(g, err, errlen, what);
	PQclear(r);
	return ok ? 0 : -1;
}

int pg_run(struct pg *g, const char *sql, char *err, size_t errlen)
{
	return pg_run_as(g, sql, sql, err, errlen);
}

/* A parameterised query (text parameters, binary results).  NULL with err. */
PGresult *pg_query(struct pg *g, const char *sql, int n, const char *const *vals, char *err,
		   size_t errlen)
{
	PGresult *r = PQexecParams(g->c, sql, n, NULL, vals, NULL, NULL, 1);

	char what[64];

	if (r && (PQresultStatus(r) == PGRES_TUPLES_OK || PQresultStatus(r) == PGRES_COMMAND_OK))
		return r;
	snprintf(what, sizeof(what), "%.40s%s", sql, strlen(sql) > 40 ? "..." : "");
	pg_fail(g, err, errlen, what);
	PQclear(r);
	return NULL;
}

void pg_rollback(struct pg *g)
{
	if (pg_connected(g) && PQtransactionStatus(g->c) != PQTRANS_IDLE)
		PQclear(PQexec(g->c, "ROLLBACK"));
}

/* Binary result fields, their lengths checked: a column of another type
 * (a store made by something else) reads as 0, never past its bytes. */
uint64_t pg_int(const PGresult *r, int row, int col)
{
	const uint8_t *p = (const uint8_t *)PQgetvalue(r, row, col);
	int n = PQgetlength(r, row, col);
	uint64_t v = 0;

	if (PQgetisnull(r, row, col) || (n != 2 && n != 4 && n != 8))
		return 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	if (n < 8 && (p[0] & 0x80)) /* a negative smallint or integer */
		v |= ~0ull << (8 * n);
	return v;
}

const uint8_t *pg_bytes(const PGresult *r, int row, int col, size_t *n)
{
	if (PQgetisnull(r, row, col)) {
		*n = 0;
		return NULL;
	}
	*n = (size_t)PQgetlength(r, row, col);
	return (const uint8_t *)PQgetvalue(r, row, col);
}

int pg_addr(const PGresult *r, int row, int col, struct inet_addr *a)
{
	size_t n;
	const uint8_t *p = pg_bytes(r, row, col, &n);

	return hist_addr_decode(p, n, a);
}

int pg_value(const PGresult *r, int row, int col, uint8_t kind, union change_value *v)
{
	size_t n;
	const uint8_t *p = pg_bytes(r, row, col, &n);

	return hist_value_decode(kind, p, n, v);
}

void pg_u64_text(char *out, size_t len, uint64_t v)
{
	snprintf(out, len, "%" PRIu64, v > INT64_MAX ? (uint64_t)INT64_MAX : v);
}

/* ---- the schema (schema.md's logical tables) ---- */

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS meta(key text PRIMARY KEY, value text NOT NULL);"
	"CREATE TABLE IF NOT EXISTS monitors(id integer GENERATED BY DEFAULT AS IDENTITY"
	" PRIMARY KEY, name text NOT NULL UNIQUE);"
	/* PostgreSQL only: what a writer last committed (see the top of this file). */
	"CREATE TABLE IF NOT EXISTS monitor_writes(monitor integer PRIMARY KEY REFERENCES"
	" monitors(id), batch bigint NOT NULL DEFAULT 0, last_seq bigint NOT NULL DEFAULT 0,"
	" when_ns bigint NOT NULL DEFAULT 0);"
	"CREATE TABLE IF NOT EXISTS changes(monitor integer NOT NULL, seq bigint NOT NULL,"
	" when_ns bigint NOT NULL, vpn bigint NOT NULL, kind smallint NOT NULL, pe bytea,"
	" peer bytea, c_source bytea, c_group bytea, p_group bytea, prev bytea, cur bytea)"
	" PARTITION BY LIST (monitor);"
	"CREATE INDEX IF NOT EXISTS changes_seq ON changes USING brin (seq);"
	"CREATE TABLE IF NOT EXISTS alarms(monitor integer NOT NULL, when_ns bigint NOT NULL,"
	" alarm_index bigint NOT NULL, kind smallint NOT NULL, raised smallint NOT NULL,"
	" vpn bigint NOT NULL, addr bytea, peer bytea, value bigint, threshold bigint);"
	"CREATE INDEX IF NOT EXISTS alarms_when ON alarms(monitor, when_ns);"
	"CREATE TABLE IF NOT EXISTS configs(monitor integer NOT NULL, when_ns bigint NOT NULL,"
	" ok smallint NOT NULL, vpns bigint, added bigint, removed bigint, changed bigint);"
	"CREATE INDEX IF NOT EXISTS configs_when ON configs(monitor, when_ns);"
	"CREATE TABLE IF NOT EXISTS pair_windows(monitor integer NOT NULL, when_ns bigint NOT NULL,"
	" vpn bigint NOT NULL, src bytea, dst bytea, sent bigint, received bigint, lost bigint,"
	" delay_min_us bigint, delay_avg_us bigint, delay_p99_us bigint, jitter_us bigint,"
	" status smallint);"
	"CREATE INDEX IF NOT EXISTS pair_windows_when ON pair_windows(monitor, when_ns);"
	"CREATE TABLE IF NOT EXISTS checkpoints(monitor integer NOT NULL, when_ns bigint NOT NULL,"
	" last_seq bigint NOT NULL, body bytea NOT NULL);"
	"CREATE INDEX IF NOT EXISTS checkpoints_when ON checkpoints(monitor, when_ns);"
	"CREATE INDEX IF NOT EXISTS checkpoints_seq ON checkpoints(monitor, last_seq);"
	"INSERT INTO meta VALUES ('schema_version', '1'), ('encoding', 'mvpnmon-1')"
	" ON CONFLICT (key) DO NOTHING;";

/* The store's schema version: 0 when there is none (no meta table). */
static int schema_version(struct pg *g, int *version, char *err, size_t errlen)
{
	PGresult *r = pg_query(g, "SELECT to_regclass('meta') IS NOT NULL", 0, NULL, err, errlen);
	bool have;

	if (!r)
		return -1;
	have = PQntuples(r) == 1 && *PQgetvalue(r, 0, 0);
	PQclear(r);
	*version = 0;
	if (!have)
		return 0;
	r = PQexec(g->c, "SELECT value FROM meta WHERE key = 'schema_version'");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		pg_fail(g, err, errlen, "reading the schema version");
		PQclear(r);
		return -1;
	}
	*version = PQntuples(r) == 1 ? atoi(PQgetvalue(r, 0, 0)) : 0;
	PQclear(r);
	return 0;
}

static int check_version(struct pg *g, int version, char *err, size_t errlen)
{
	char why[96];

	if (version <= PG_SCHEMA_VERSION)
		return 0;
	snprintf(why, sizeof(why), "its schema is version %d, newer than this mvpnmon's %d",
		 version, PG_SCHEMA_VERSION);
	pg_say(g, err, errlen, "refusing the store", why);
	return -1;
}

/* Creates what is absent, in one transaction under an advisory lock (two
 * monitors starting together would otherwise race on CREATE ... IF NOT
 * EXISTS), then registers this monitor and its partition of changes. */
static int create_and_register(struct pg *g, char *err, size_t errlen)
{
	char sql[512], lock[64], id[16];
	const char *name[1] = {g->monitor};
	PGresult *r;
	int version;

	snprintf(lock, sizeof(lock), "SELECT pg_advisory_xact_lock(%d)", PG_SCHEMA_LOCK);
	if (pg_run(g, "BEGIN", err, errlen) ||
	    pg_run_as(g, lock, "waiting for the schema", err, errlen) ||
	    schema_version(g, &version, err, errlen) || check_version(g, version, err, errlen) ||
	    pg_run_as(g, schema_sql, "creating the schema", err, errlen))
		goto fail;
	r = pg_query(g, "INSERT INTO monitors(name) VALUES ($1) ON CONFLICT (name) DO NOTHING", 1,
		     name, err, errlen);
	if (!r)
		goto fail;
	PQclear(r);
	if (!(r = pg_query(g, "SELECT id FROM monitors WHERE name = $1", 1, name, err, errlen)))
		goto fail;
	g->id = PQntuples(r) == 1 ? (int32_t)pg_int(r, 0, 0) : 0;
	PQclear(r);
	if (g->id <= 0) {
		pg_say(g, err, errlen, "registering the monitor", "no id for its name");
		goto fail;
	}
	snprintf(sql, sizeof(sql),
		 "CREATE TABLE IF NOT EXISTS changes_%" PRId32 " PARTITION OF changes"
		 " FOR VALUES IN (%" PRId32 ");"
		 "INSERT INTO monitor_writes(monitor) VALUES (%" PRId32 ") ON CONFLICT DO NOTHING",
		 g->id, g->id, g->id);
	if (pg_run_as(g, sql, "registering the monitor", err, errlen))
		goto fail;
	snprintf(id, sizeof(id), "%" PRId32, g->id);
	name[0] = id;
	if (!(r = pg_query(g, "SELECT batch, last_seq FROM monitor_writes WHERE monitor = $1", 1,
			   name, err, errlen)))
		goto fail;
	if (PQntuples(r) == 1) {
		g->batch = (int64_t)pg_int(r, 0, 0);
		g->last_seq = pg_int(r, 0, 1);
	}
	PQclear(r);
	if (pg_run(g, "COMMIT", err, errlen))
		goto fail;
	snprintf(g->changes_copy, sizeof(g->changes_copy),
		 "COPY changes_%" PRId32 " FROM STDIN (FORMAT binary)", g->id);
	return 0;
fail:
	pg_rollback(g);
	return -1;
}

/* (Re)connects; a writer also creates the schema and registers itself. */
static int pg_connect(struct pg *g, char *err, size_t errlen)
{
	/* Later keywords override earlier ones: the operator's conninfo
	 * (expanded from dbname) overrides these defaults. */
	/* Over TCP, a peer gone silent is noticed within a minute, not the
	 * kernel's two hours: the writer would wait on it meanwhile. */
	const char *keys[] = {"application_name", "connect_timeout", "keepalives_idle",
			      "keepalives_interval", "keepalives_count", "tcp_user_timeout",
			      "dbname", NULL};
	const char *vals[] = {g->read_only ? "mvpnmon" : "mvpnmond", "10", "30", "10", "3", "60000",
			      g->conninfo, NULL};
	int version;

	if (g->c)
		PQfinish(g->c);
	g->c = PQconnectdbParams(keys, vals, 1);
	if (!g->c) {
		hist_errf(err, errlen, "postgresql store: out of memory connecting");
		return -1;
	}
	if (PQstatus(g->c) != CONNECTION_OK) {
		pg_fail(g, err, errlen, "cannot connect");
		return -1;
	}
	PQsetNoticeProcessor(g->c, quiet, NULL);
	/* A session of ours cut off inside a transaction (the network, not the
	 * server, failing) must not hold its locks for long: the next session
	 * waits on them to learn whether a batch in doubt committed. */
	if (!g->read_only &&
	    pg_run_as(g, "SET idle_in_transaction_session_timeout = '60s'", "setting up the session",
		      err, errlen))
		return -1;
	if (!g->read_only)
		return create_and_register(g, err, errlen);
	if (schema_version(g, &version, err, errlen))
		return -1;
	if (!version) {
		pg_say(g, err, errlen, "no history here", "no mvpnmon schema in this database");
		return -1;
	}
	return check_version(g, version, err, errlen);
}

static void pg_close(void *conn)
{
	struct pg *g = conn;

	if (!g)
		return;
	if (g->c)
		PQfinish(g->c);
	for (int i = 0; i < T_COUNT; i++)
		free(g->t[i].p);
	free(g->maybe_set.d);
	free(g->known.d);
	free(g->conninfo);
	free(g->monitor);
	free(g);
}

static void *pg_open(const struct hist_location *loc, char *err, size_t errlen)
{
	struct pg *g = calloc(1, sizeof(*g));
	const char *name = loc->monitor && *loc->monitor ? loc->monitor : "default";

	if (!g || !(g->conninfo = strdup(loc->target ? loc->target : "")) ||
	    !(g->monitor = strdup(name))) {
		hist_errf(err, errlen, "postgresql store: out of memory");
		pg_close(g);
		return NULL;
	}
	g->read_only = loc->read_only;
	if (pg_connect(g, err, errlen)) {
		pg_close(g);
		return NULL;
	}
	return g;
}

/* Before each call: a connection that broke is opened again. */
int pg_ensure(struct pg *g, char *err, size_t errlen)
{
	if (pg_connected(g))
		return 0;
	return pg_connect(g, err, errlen);
}

static bool pg_usable(void *conn)
{
	(void)conn;
	return true; /* a lost connection is reopened by the next call */
}

static const struct hist_backend pg_backend = {
	.name = "postgresql",
	.open = pg_open,
	.close = pg_close,
	.write = pg_write,
	.usable = pg_usable,
	.prune = pg_prune,
	.read = pg_read,
	.checkpoint_at = pg_checkpoint_at,
	.checkpoint_after = pg_checkpoint_after,
	.changes_after = pg_changes_after,
	.monitors = pg_monitors,
};

const struct hist_backend *hist_pg_backend(void)
{
	return &pg_backend;
}

