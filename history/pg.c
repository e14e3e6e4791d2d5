/*
 * The PostgreSQL history backend (backend.h): one central store several
 * monitors write to, each under its own name (the monitors table).  The
 * logical tables and columns are schema.md's; what differs here:
 *
 * - changes are stored in blocks (change_blocks, partitioned by monitor:
 *   change_blocks_<id>, made when a monitor registers): a row per run of
 *   consecutive changes of one batch, at most PG_BLOCK_CHANGES, never across
 *   a checkpoint's last_seq, holding first_seq, last_seq, the count, the
 *   least and greatest when_ns and the changes in encode.c's block encoding.
 *   One row per change cost 106 bytes a change, 28 of them PostgreSQL's
 *   tuple header and line pointer; a block pays them once.  Reads by time go
 *   through the checkpoints (their when_ns and last_seq) to a seq range, as
 *   schema.md has it, then a B-tree on first_seq to the blocks, decoded and
 *   filtered here.  A view, changes, gives psql the logical rows (decoded
 *   in PL/pgSQL: for operators, not for mvpnmon).
 * - A batch is one transaction: binary COPY of its blocks into the monitor's
 *   partition and of its rows into the other tables, then one row of monitor_writes (the batch's token and
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

/* 2: changes in blocks.  Version 1 stored a row per change; nothing reads
 * or converts it (no store of it was ever deployed). */
#define PG_SCHEMA_VERSION 2
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
	"CREATE TABLE IF NOT EXISTS change_blocks(monitor integer NOT NULL, n integer NOT NULL,"
	" first_seq bigint NOT NULL, last_seq bigint NOT NULL, t_min bigint NOT NULL,"
	" t_max bigint NOT NULL, body bytea NOT NULL) PARTITION BY LIST (monitor);"
	"CREATE INDEX IF NOT EXISTS change_blocks_first ON change_blocks(first_seq);"
	/* psql's view of the blocks: schema.md's changes, a row per change. */
	"CREATE OR REPLACE FUNCTION change_varint(body bytea, INOUT o integer, OUT v bigint)"
	" LANGUAGE plpgsql IMMUTABLE STRICT AS $f$ DECLARE b integer; sh integer := 0;"
	" BEGIN v := 0; LOOP b := get_byte(body, o); o := o + 1;"
	" v := v | ((b & 127)::bigint << sh); EXIT WHEN b < 128; sh := sh + 7; END LOOP;"
	" END $f$;"
	"CREATE OR REPLACE FUNCTION change_rows(first_seq bigint, t_min bigint, body bytea)"
	" RETURNS TABLE(seq bigint, when_ns bigint, vpn bigint, kind smallint, pe bytea,"
	" peer bytea, c_source bytea, c_group bytea, p_group bytea, prev bytea, cur bytea)"
	" LANGUAGE plpgsql IMMUTABLE STRICT AS $f$ DECLARE o integer := 0; v bigint;"
	" a bytea[]; al integer; BEGIN seq := first_seq; when_ns := t_min;"
	" WHILE o < length(body) LOOP"
	"  SELECT * INTO o, v FROM change_varint(body, o); seq := seq + v;"
	"  SELECT * INTO o, v FROM change_varint(body, o);"
	"  when_ns := when_ns + ((v >> 1) # -(v & 1));"
	"  kind := get_byte(body, o); o := o + 1;"
	"  SELECT * INTO o, vpn FROM change_varint(body, o);"
	"  FOR i IN 1..5 LOOP al := CASE get_byte(body, o) WHEN 1 THEN 4 WHEN 2 THEN 16"
	"   ELSE 0 END; a[i] := CASE WHEN al > 0 THEN substring(body FROM o + 2 FOR al) END;"
	"   o := o + 1 + al; END LOOP;"
	"  pe := a[1]; peer := a[2]; c_source := a[3]; c_group := a[4]; p_group := a[5];"
	"  SELECT * INTO o, v FROM change_varint(body, o);"
	"  prev := CASE WHEN v > 0 THEN substring(body FROM o + 1 FOR v::integer) END;"
	"  o := o + v::integer;"
	"  SELECT * INTO o, v FROM change_varint(body, o);"
	"  cur := CASE WHEN v > 0 THEN substring(body FROM o + 1 FOR v::integer) END;"
	"  o := o + v::integer;"
	"  RETURN NEXT; END LOOP; END $f$;"
	"CREATE OR REPLACE VIEW changes AS SELECT b.monitor, r.* FROM change_blocks b"
	" CROSS JOIN LATERAL change_rows(b.first_seq, b.t_min, b.body) r;"
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
	/* Added to version 2 since: older programs never read it. */
	"CREATE TABLE IF NOT EXISTS faults(monitor integer NOT NULL, when_ns bigint NOT NULL,"
	" fault_id bigint NOT NULL, located smallint NOT NULL, vpn bigint NOT NULL,"
	" metric smallint NOT NULL, kind smallint NOT NULL, flags smallint, pe bytea, peer bytea,"
	" loss_ppm bigint, low_ppm bigint, high_ppm bigint, echo_loss_ppm bigint,"
	" shift_us bigint, pairs bigint, since_ns bigint);"
	"CREATE INDEX IF NOT EXISTS faults_when ON faults(monitor, when_ns);"
	"INSERT INTO meta VALUES ('schema_version', '2'), ('encoding', 'mvpnmon-1')"
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
	char why[160];

	if (version == PG_SCHEMA_VERSION)
		return 0;
	if (version > PG_SCHEMA_VERSION)
		snprintf(why, sizeof(why), "its schema is version %d, newer than this mvpnmon's %d",
			 version, PG_SCHEMA_VERSION);
	else
		snprintf(why, sizeof(why),
			 "its schema is version %d (a row per change), which this mvpnmon"
			 " (version %d, changes in blocks) neither reads nor converts: use"
			 " another database", version, PG_SCHEMA_VERSION);
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
	    schema_version(g, &version, err, errlen) ||
	    (version && check_version(g, version, err, errlen)) ||
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
		 "CREATE TABLE IF NOT EXISTS change_blocks_%" PRId32 " PARTITION OF change_blocks"
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
		 "COPY change_blocks_%" PRId32 " FROM STDIN (FORMAT binary)", g->id);
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
	free(g->body.p);
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

