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
#include <arpa/inet.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "encode.h"

#define PG_SCHEMA_VERSION 1
#define PG_FETCH_ROWS 10000
#define PG_COPY_CHUNK (256 * 1024)
/* pg_advisory_xact_lock key: monitors creating the schema at once wait in turn. */
#define PG_SCHEMA_LOCK 0x6d76706e /* "mvpn" */

/* ---- a byte buffer (COPY data, digests) ---- */

struct buf {
	uint8_t *p;
	size_t len, cap;
	bool oom;
};

static bool buf_room(struct buf *b, size_t n)
{
	if (b->oom)
		return false;
	if (b->cap - b->len >= n)
		return true;
	size_t cap = b->cap ? b->cap : 64 * 1024;
	while (cap - b->len < n)
		cap *= 2;
	uint8_t *p = realloc(b->p, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

static void put_bytes(struct buf *b, const void *p, size_t n)
{
	if (buf_room(b, n)) {
		memcpy(b->p + b->len, p, n);
		b->len += n;
	}
}

static void put_be(struct buf *b, uint64_t v, unsigned n)
{
	if (!buf_room(b, n))
		return;
	for (unsigned i = 0; i < n; i++)
		b->p[b->len++] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/* Binary COPY: a tuple is its field count, then each field's length (-1:
 * NULL) and bytes, integers big endian. */
static void f_tuple(struct buf *b, unsigned fields) { put_be(b, fields, 2); }
static void f_i16(struct buf *b, uint16_t v) { put_be(b, 2, 4); put_be(b, v, 2); }
static void f_i32(struct buf *b, uint32_t v) { put_be(b, 4, 4); put_be(b, v, 4); }
static void f_i64(struct buf *b, uint64_t v) { put_be(b, 8, 4); put_be(b, v, 8); }

static void f_bytes(struct buf *b, const uint8_t *p, size_t n)
{
	if (!n) {
		put_be(b, UINT32_MAX, 4); /* -1: NULL */
		return;
	}
	put_be(b, n, 4);
	put_bytes(b, p, n);
}

static void f_addr(struct buf *b, const struct inet_addr *a)
{
	f_bytes(b, a->bytes, inet_addr_len(a));
}

static const uint8_t copy_header[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";

/* FNV-1a: what identifies a record already sent (its encoded row). */
static uint64_t digest(uint8_t type, const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325u ^ type;

	h *= 0x100000001b3u;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3u;
	}
	return h;
}

/* ---- the connection ---- */

enum { T_CHANGES, T_ALARMS, T_CONFIGS, T_PAIRS, T_COUNT };

static const char *const copy_sql[T_COUNT] = {
	NULL, /* the monitor's partition: made at open */
	"COPY alarms (monitor, when_ns, alarm_index, kind, raised, vpn, addr, peer, value,"
	" threshold) FROM STDIN (FORMAT binary)",
	"COPY configs (monitor, when_ns, ok, vpns, added, removed, changed) FROM STDIN"
	" (FORMAT binary)",
	"COPY pair_windows (monitor, when_ns, vpn, src, dst, sent, received, lost, delay_min_us,"
	" delay_avg_us, delay_p99_us, jitter_us, status) FROM STDIN (FORMAT binary)",
};

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
	struct buf t[T_COUNT];
	/* A transaction that may or may not have committed (token `maybe_batch`),
	 * and records known committed that the caller has not yet been told of
	 * (its retries still carry them). */
	bool maybe;
	int64_t maybe_batch;
	uint64_t maybe_seq; /* the last_seq it would have set */
	struct sent_set maybe_set, known;
};

static void say(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

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
static void pg_say(struct pg *g, char *err, size_t errlen, const char *what, const char *why)
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
	say(err, errlen, "postgresql store \"%s\" on %s%s%s: %s: %s", db ? db : "?",
	    host && *host ? host : "the default socket", port && *port ? ":" : "",
	    port && *port ? port : "", what, reason);
}

static void pg_fail(struct pg *g, char *err, size_t errlen, const char *what)
{
	pg_say(g, err, errlen, what, g->c ? PQerrorMessage(g->c) : "not connected");
}

static bool connected(const struct pg *g)
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
static int run_as(struct pg *g, const char *sql, const char *what, char *err, size_t errlen)
{
	PGresult *r = PQexec(g->c, sql);
	int ok = r && (PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK);

	if (!ok)
		pg_fail(g, err, errlen, what);
	PQclear(r);
	return ok ? 0 : -1;
}

static int run(struct pg *g, const char *sql, char *err, size_t errlen)
{
	return run_as(g, sql, sql, err, errlen);
}

/* A parameterised query (text parameters, binary results).  NULL with err. */
static PGresult *query(struct pg *g, const char *sql, int n, const char *const *vals,
		       char *err, size_t errlen)
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

static void rollback(struct pg *g)
{
	if (connected(g) && PQtransactionStatus(g->c) != PQTRANS_IDLE)
		PQclear(PQexec(g->c, "ROLLBACK"));
}

/* Binary result fields, their lengths checked: a column of another type
 * (a store made by something else) reads as 0, never past its bytes. */
static uint64_t get_int(const PGresult *r, int row, int col)
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

static const uint8_t *get_bytes(const PGresult *r, int row, int col, size_t *n)
{
	if (PQgetisnull(r, row, col)) {
		*n = 0;
		return NULL;
	}
	*n = (size_t)PQgetlength(r, row, col);
	return (const uint8_t *)PQgetvalue(r, row, col);
}

static int get_addr(const PGresult *r, int row, int col, struct inet_addr *a)
{
	size_t n;
	const uint8_t *p = get_bytes(r, row, col, &n);

	return hist_addr_decode(p, n, a);
}

static int get_value(const PGresult *r, int row, int col, uint8_t kind, union change_value *v)
{
	size_t n;
	const uint8_t *p = get_bytes(r, row, col, &n);

	return hist_value_decode(kind, p, n, v);
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
	PGresult *r = query(g, "SELECT to_regclass('meta') IS NOT NULL", 0, NULL, err, errlen);
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
	if (run(g, "BEGIN", err, errlen) || run_as(g, lock, "waiting for the schema", err, errlen) ||
	    schema_version(g, &version, err, errlen) || check_version(g, version, err, errlen) ||
	    run_as(g, schema_sql, "creating the schema", err, errlen))
		goto fail;
	r = query(g, "INSERT INTO monitors(name) VALUES ($1) ON CONFLICT (name) DO NOTHING", 1,
		  name, err, errlen);
	if (!r)
		goto fail;
	PQclear(r);
	if (!(r = query(g, "SELECT id FROM monitors WHERE name = $1", 1, name, err, errlen)))
		goto fail;
	g->id = PQntuples(r) == 1 ? (int32_t)get_int(r, 0, 0) : 0;
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
	if (run_as(g, sql, "registering the monitor", err, errlen))
		goto fail;
	snprintf(id, sizeof(id), "%" PRId32, g->id);
	name[0] = id;
	if (!(r = query(g, "SELECT batch, last_seq FROM monitor_writes WHERE monitor = $1", 1, name,
			err, errlen)))
		goto fail;
	if (PQntuples(r) == 1) {
		g->batch = (int64_t)get_int(r, 0, 0);
		g->last_seq = get_int(r, 0, 1);
	}
	PQclear(r);
	if (run(g, "COMMIT", err, errlen))
		goto fail;
	snprintf(g->changes_copy, sizeof(g->changes_copy),
		 "COPY changes_%" PRId32 " FROM STDIN (FORMAT binary)", g->id);
	return 0;
fail:
	rollback(g);
	return -1;
}

/* (Re)connects; a writer also creates the schema and registers itself. */
static int pg_connect(struct pg *g, char *err, size_t errlen)
{
	/* Later keywords override earlier ones: the operator's conninfo
	 * (expanded from dbname) overrides these defaults. */
	const char *keys[] = {"application_name", "connect_timeout", "dbname", NULL};
	const char *vals[] = {g->read_only ? "mvpnmon" : "mvpnmond", "10", g->conninfo, NULL};
	int version;

	if (g->c)
		PQfinish(g->c);
	g->c = PQconnectdbParams(keys, vals, 1);
	if (!g->c) {
		say(err, errlen, "postgresql store: out of memory connecting");
		return -1;
	}
	if (PQstatus(g->c) != CONNECTION_OK) {
		pg_fail(g, err, errlen, "cannot connect");
		return -1;
	}
	PQsetNoticeProcessor(g->c, quiet, NULL);
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
		say(err, errlen, "postgresql store: out of memory");
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
static int ensure(struct pg *g, char *err, size_t errlen)
{
	if (connected(g))
		return 0;
	return pg_connect(g, err, errlen);
}

static bool pg_usable(void *conn)
{
	(void)conn;
	return true; /* a lost connection is reopened by the next call */
}

/* ---- writing ---- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int set_add(struct sent_set *s, uint64_t d)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		uint64_t *p = realloc(s->d, cap * sizeof(*p));
		if (!p)
			return -1;
		s->d = p;
		s->cap = cap;
	}
	s->d[s->n++] = d;
	return 0;
}

/* Takes one unused copy of d out of the sorted set (used[] marks those this
 * batch has matched already).  True when there was one. */
static bool set_take(const struct sent_set *s, bool *used, uint64_t d)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) { /* the first index whose digest is >= d */
		size_t mid = lo + (hi - lo) / 2;
		if (s->d[mid] < d)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < s->n && s->d[lo] == d; lo++)
		if (!used[lo]) {
			used[lo] = true;
			return true;
		}
	return false;
}

/* One record into its table's COPY data (changes, alarms, configs, pair
 * windows).  Returns the table, or -1 for a value encode.c refuses. */
static int encode_row(struct pg *g, const struct hist_record *r)
{
	uint8_t prev[HIST_VALUE_MAX], cur[HIST_VALUE_MAX];
	struct buf *b;

	switch (r->type) {
	case HIST_CHANGE: {
		const struct change *c = &r->u.change;
		int np = hist_value_encode(c->kind, &c->previous, prev);
		int nc = hist_value_encode(c->kind, &c->current, cur);
		if (np < 0 || nc < 0)
			return -1;
		b = &g->t[T_CHANGES];
		f_tuple(b, 12);
		f_i32(b, (uint32_t)g->id);
		f_i64(b, r->seq);
		f_i64(b, r->when_ns);
		f_i64(b, c->vpn_index);
		f_i16(b, c->kind);
		f_addr(b, &c->pe);
		f_addr(b, &c->peer);
		f_addr(b, &c->c_source);
		f_addr(b, &c->c_group);
		f_addr(b, &c->p_group);
		f_bytes(b, prev, (size_t)np);
		f_bytes(b, cur, (size_t)nc);
		return T_CHANGES;
	}
	case HIST_ALARM: {
		const struct hist_alarm *a = &r->u.alarm;
		b = &g->t[T_ALARMS];
		f_tuple(b, 10);
		f_i32(b, (uint32_t)g->id);
		f_i64(b, r->when_ns);
		f_i64(b, a->index);
		f_i16(b, a->kind);
		f_i16(b, a->raised);
		f_i64(b, a->vpn_index);
		f_addr(b, &a->addr);
		f_addr(b, &a->peer);
		f_i64(b, a->value);
		f_i64(b, a->threshold);
		return T_ALARMS;
	}
	case HIST_CONFIG: {
		const struct hist_config *c = &r->u.config;
		b = &g->t[T_CONFIGS];
		f_tuple(b, 7);
		f_i32(b, (uint32_t)g->id);
		f_i64(b, r->when_ns);
		f_i16(b, c->ok);
		f_i64(b, c->vpns);
		f_i64(b, c->added);
		f_i64(b, c->removed);
		f_i64(b, c->changed);
		return T_CONFIGS;
	}
	case HIST_PAIR_WINDOW: {
		const struct hist_pair_window *p = &r->u.pair;
		b = &g->t[T_PAIRS];
		f_tuple(b, 13);
		f_i32(b, (uint32_t)g->id);
		f_i64(b, r->when_ns);
		f_i64(b, p->vpn_index);
		f_addr(b, &p->src);
		f_addr(b, &p->dst);
		f_i64(b, p->sent);
		f_i64(b, p->received);
		f_i64(b, p->lost);
		f_i64(b, p->delay_min_us);
		f_i64(b, p->delay_avg_us);
		f_i64(b, p->delay_p99_us);
		f_i64(b, p->jitter_us);
		f_i16(b, p->status);
		return T_PAIRS;
	}
	}
	return -1;
}

/* One table's rows through COPY, in chunks.  0, or -1 with err. */
static int copy_in(struct pg *g, const char *sql, const struct buf *b, char *err, size_t errlen)
{
	PGresult *r = PQexec(g->c, sql);
	int bad = 0;

	if (PQresultStatus(r) != PGRES_COPY_IN) {
		pg_fail(g, err, errlen, "starting COPY");
		PQclear(r);
		return -1;
	}
	PQclear(r);
	for (size_t off = 0; off < b->len && !bad; off += PG_COPY_CHUNK) {
		size_t n = b->len - off < PG_COPY_CHUNK ? b->len - off : PG_COPY_CHUNK;
		bad = PQputCopyData(g->c, (const char *)b->p + off, (int)n) != 1;
	}
	uint8_t trailer[2] = {0xff, 0xff};
	if (!bad)
		bad = PQputCopyData(g->c, (const char *)trailer, 2) != 1;
	if (PQputCopyEnd(g->c, bad ? "mvpnmond: sending failed" : NULL) != 1)
		bad = 1;
	while ((r = PQgetResult(g->c))) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			bad = 1;
		PQclear(r);
	}
	if (bad)
		pg_fail(g, err, errlen, "COPY");
	return bad ? -1 : 0;
}

static int insert_checkpoint(struct pg *g, const struct hist_record *r, const uint8_t *blob,
			     size_t len, char *err, size_t errlen)
{
	uint32_t id = htonl((uint32_t)g->id);
	uint8_t when[8], seq[8];
	const char *vals[4] = {(const char *)&id, (const char *)when, (const char *)seq,
			       (const char *)blob};
	int lens[4] = {4, 8, 8, (int)len}, fmts[4] = {1, 1, 1, 1};

	for (int i = 0; i < 8; i++) {
		when[i] = (uint8_t)(r->when_ns >> (56 - 8 * i));
		seq[i] = (uint8_t)(r->u.checkpoint->last_change_seq >> (56 - 8 * i));
	}
	PGresult *res = PQexecParams(g->c, "INSERT INTO checkpoints VALUES ($1::integer,"
				     " $2::bigint, $3::bigint, $4::bytea)", 4, NULL, vals, lens,
				     fmts, 1);
	int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok)
		pg_fail(g, err, errlen, "storing a checkpoint");
	PQclear(res);
	return ok ? 0 : -1;
}

/* A transaction whose COMMIT went unanswered: did it commit?  Its token is
 * in monitor_writes if it did; FOR UPDATE waits for the old session, in
 * case the server is still finishing it.  Inside the caller's transaction. */
static int resolve_maybe(struct pg *g, char *err, size_t errlen)
{
	char id[16];
	const char *v[1] = {id};

	snprintf(id, sizeof(id), "%" PRId32, g->id);
	PGresult *r = query(g, "SELECT batch, last_seq FROM monitor_writes WHERE monitor = $1"
			    " FOR UPDATE", 1, v, err, errlen);
	if (!r)
		return -1;
	bool committed = PQntuples(r) == 1 && (int64_t)get_int(r, 0, 0) == g->maybe_batch;
	PQclear(r);
	if (committed) {
		g->last_seq = g->maybe_seq;
		for (size_t i = 0; i < g->maybe_set.n; i++)
			if (set_add(&g->known, g->maybe_set.d[i])) {
				say(err, errlen, "postgresql store: out of memory");
				return -1;
			}
		qsort(g->known.d, g->known.n, sizeof(*g->known.d), cmp_u64);
	}
	g->maybe = false;
	g->maybe_set.n = 0;
	return 0;
}

/* Encodes what this batch must still write: changes above the committed
 * seq, other records unless known committed.  sent: the digests of the
 * non-change records it writes; *top the highest seq.  0, or -1 with err. */
static int encode_batch(struct pg *g, const struct hist_record *recs, size_t n, bool *used,
			struct sent_set *sent, uint64_t *top, char *err, size_t errlen)
{
	int rc = 0;

	for (int i = 0; i < T_COUNT; i++) {
		g->t[i].len = 0;
		put_bytes(&g->t[i], copy_header, sizeof(copy_header));
	}
	*top = g->last_seq;
	for (size_t i = 0; i < n && !rc; i++) {
		const struct hist_record *r = &recs[i];
		if (r->type == HIST_CHANGE && r->seq <= g->last_seq)
			continue; /* committed before */
		if (r->type == HIST_CHECKPOINT)
			continue; /* written apart, below */
		size_t at[T_COUNT];
		for (int t = 0; t < T_COUNT; t++)
			at[t] = g->t[t].len;
		int t = encode_row(g, r);
		if (t < 0) {
			say(err, errlen, "postgresql store: record %zu (type %u) cannot be encoded", i,
			    r->type);
			rc = -1;
			break;
		}
		if (r->type == HIST_CHANGE) {
			if (r->seq > *top)
				*top = r->seq;
			continue;
		}
		uint64_t d = digest(r->type, g->t[t].p + at[t], g->t[t].len - at[t]);
		if (used && set_take(&g->known, used, d))
			g->t[t].len = at[t]; /* committed before: take it out again */
		else if (set_add(sent, d))
			rc = -1;
	}
	for (int t = 0; t < T_COUNT; t++)
		if (g->t[t].oom)
			rc = -1;
	if (rc && !*err)
		say(err, errlen, "postgresql store: out of memory");
	return rc;
}

static int write_checkpoints(struct pg *g, const struct hist_record *recs, size_t n,
			     struct sent_set *sent, bool *used, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		const struct hist_record *r = &recs[i];
		uint8_t *blob;
		size_t len;

		if (r->type != HIST_CHECKPOINT)
			continue;
		if (!r->u.checkpoint || hist_checkpoint_encode(r->u.checkpoint, &blob, &len)) {
			say(err, errlen, "postgresql store: checkpoint %zu cannot be encoded", i);
			return -1;
		}
		uint64_t d = digest(HIST_CHECKPOINT, blob, len) ^ r->when_ns;
		int rc = 0;
		if (!(used && set_take(&g->known, used, d))) {
			rc = insert_checkpoint(g, r, blob, len, err, errlen);
			if (!rc && set_add(sent, d)) {
				say(err, errlen, "postgresql store: out of memory");
				rc = -1;
			}
		}
		free(blob);
		if (rc)
			return -1;
	}
	return 0;
}

/* The end of a batch: its token and the monitor's last seq, then COMMIT.
 * A COMMIT whose answer is lost leaves the batch in doubt (g->maybe). */
static int commit_batch(struct pg *g, struct sent_set *sent, uint64_t top, char *err,
			size_t errlen)
{
	char id[16], tok[24], seq[24];
	const char *v[3] = {id, tok, seq};
	int64_t token = g->batch + 1;

	snprintf(id, sizeof(id), "%" PRId32, g->id);
	snprintf(tok, sizeof(tok), "%" PRId64, token);
	snprintf(seq, sizeof(seq), "%" PRIu64, top);
	PGresult *r = query(g, "UPDATE monitor_writes SET batch = $2, last_seq = $3,"
			    " when_ns = (extract(epoch from clock_timestamp()) * 1e9)::bigint"
			    " WHERE monitor = $1", 3, v, err, errlen);
	if (!r)
		return -1;
	PQclear(r);
	g->batch = token;
	r = PQexec(g->c, "COMMIT");
	if (r && PQresultStatus(r) == PGRES_COMMAND_OK) {
		PQclear(r);
		g->last_seq = top;
		g->known.n = 0; /* the caller lets go of everything it sent */
		return 0;
	}
	PQclear(r);
	if (!connected(g)) {
		/* In doubt: remember what it held, resolved at the next write. */
		free(g->maybe_set.d);
		g->maybe_set = *sent;
		memset(sent, 0, sizeof(*sent));
		qsort(g->maybe_set.d, g->maybe_set.n, sizeof(*g->maybe_set.d), cmp_u64);
		g->maybe = true;
		g->maybe_batch = token;
		g->maybe_seq = top;
		pg_fail(g, err, errlen, "connection lost at COMMIT (checked before the next write)");
		return -1;
	}
	pg_fail(g, err, errlen, "COMMIT");
	return -1;
}

static int pg_write(void *conn, const struct hist_record *recs, size_t n, char *err,
		    size_t errlen)
{
	struct pg *g = conn;
	struct sent_set sent = {0};
	bool *used = NULL;
	uint64_t top;
	int rc = -1;

	if (errlen)
		*err = '\0';
	if (g->read_only) {
		say(err, errlen, "postgresql store: opened read-only");
		return -1;
	}
	if (ensure(g, err, errlen) || run(g, "BEGIN", err, errlen))
		return -1;
	if (g->maybe && resolve_maybe(g, err, errlen))
		goto out;
	if (g->known.n && !(used = calloc(g->known.n, sizeof(bool)))) {
		say(err, errlen, "postgresql store: out of memory");
		goto out;
	}
	if (encode_batch(g, recs, n, used, &sent, &top, err, errlen))
		goto out;
	for (int t = 0; t < T_COUNT; t++)
		if (g->t[t].len > sizeof(copy_header) &&
		    copy_in(g, t == T_CHANGES ? g->changes_copy : copy_sql[t], &g->t[t], err, errlen))
			goto out;
	if (write_checkpoints(g, recs, n, &sent, used, err, errlen))
		goto out;
	rc = commit_batch(g, &sent, top, err, errlen);
out:
	if (rc)
		rollback(g);
	free(used);
	free(sent.d);
	return rc;
}

/* ---- reading ---- */

static void u64_text(char *out, size_t len, uint64_t v)
{
	snprintf(out, len, "%" PRIu64, v > INT64_MAX ? (uint64_t)INT64_MAX : v);
}

struct monitor_list {
	int32_t *ids;
	char **names;
	size_t n;
};

static void monitors_free(struct monitor_list *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->names[i]);
	free(m->names);
	free(m->ids);
	memset(m, 0, sizeof(*m));
}

/* The monitors by name (only `name` when it is not NULL or ""). */
static int monitors_load(struct pg *g, const char *name, struct monitor_list *m, char *err,
			 size_t errlen)
{
	const char *v[1] = {name};
	bool one = name && *name;
	PGresult *r = query(g, one ? "SELECT id, name FROM monitors WHERE name = $1"
				   : "SELECT id, name FROM monitors ORDER BY name",
			    one ? 1 : 0, one ? v : NULL, err, errlen);

	memset(m, 0, sizeof(*m));
	if (!r)
		return -1;
	size_t n = (size_t)PQntuples(r);
	m->ids = calloc(n + 1, sizeof(*m->ids));
	m->names = calloc(n + 1, sizeof(*m->names));
	if (!m->ids || !m->names)
		goto oom;
	for (size_t i = 0; i < n; i++) {
		size_t len;
		const uint8_t *p = get_bytes(r, (int)i, 1, &len);
		m->ids[i] = (int32_t)get_int(r, (int)i, 0);
		if (!(m->names[i] = strndup(p ? (const char *)p : "", len)))
			goto oom;
		m->n = i + 1;
	}
	PQclear(r);
	return 0;
oom:
	PQclear(r);
	monitors_free(m);
	say(err, errlen, "postgresql store: out of memory");
	return -1;
}

typedef int (*decode_fn)(const PGresult *r, int row, struct hist_record *rec);

static int decode_change(const PGresult *r, int row, struct hist_record *rec)
{
	struct change *c = &rec->u.change;

	memset(rec, 0, sizeof(*rec));
	rec->type = HIST_CHANGE;
	rec->seq = get_int(r, row, 0);
	rec->when_ns = get_int(r, row, 1);
	c->index = (uint32_t)rec->seq; /* mvpnChangeIndex: seq's low 32 bits */
	c->vpn_index = (uint32_t)get_int(r, row, 2);
	c->kind = (uint8_t)get_int(r, row, 3);
	if (get_addr(r, row, 4, &c->pe) || get_addr(r, row, 5, &c->peer) ||
	    get_addr(r, row, 6, &c->c_source) || get_addr(r, row, 7, &c->c_group) ||
	    get_addr(r, row, 8, &c->p_group) || get_value(r, row, 9, c->kind, &c->previous) ||
	    get_value(r, row, 10, c->kind, &c->current))
		return -1;
	return 0;
}

static int decode_alarm(const PGresult *r, int row, struct hist_record *rec)
{
	struct hist_alarm *a = &rec->u.alarm;

	memset(rec, 0, sizeof(*rec));
	rec->type = HIST_ALARM;
	rec->when_ns = get_int(r, row, 0);
	a->index = (uint32_t)get_int(r, row, 1);
	a->kind = (uint8_t)get_int(r, row, 2);
	a->raised = (uint8_t)get_int(r, row, 3);
	a->vpn_index = (uint32_t)get_int(r, row, 4);
	a->value = (uint32_t)get_int(r, row, 7);
	a->threshold = (uint32_t)get_int(r, row, 8);
	return get_addr(r, row, 5, &a->addr) || get_addr(r, row, 6, &a->peer) ? -1 : 0;
}

static int decode_config(const PGresult *r, int row, struct hist_record *rec)
{
	memset(rec, 0, sizeof(*rec));
	rec->type = HIST_CONFIG;
	rec->when_ns = get_int(r, row, 0);
	rec->u.config.ok = (uint8_t)get_int(r, row, 1);
	rec->u.config.vpns = (uint32_t)get_int(r, row, 2);
	rec->u.config.added = (uint32_t)get_int(r, row, 3);
	rec->u.config.removed = (uint32_t)get_int(r, row, 4);
	rec->u.config.changed = (uint32_t)get_int(r, row, 5);
	return 0;
}

static int decode_pair(const PGresult *r, int row, struct hist_record *rec)
{
	struct hist_pair_window *p = &rec->u.pair;

	memset(rec, 0, sizeof(*rec));
	rec->type = HIST_PAIR_WINDOW;
	rec->when_ns = get_int(r, row, 0);
	p->vpn_index = (uint32_t)get_int(r, row, 1);
	p->sent = (uint32_t)get_int(r, row, 4);
	p->received = (uint32_t)get_int(r, row, 5);
	p->lost = (uint32_t)get_int(r, row, 6);
	p->delay_min_us = (uint32_t)get_int(r, row, 7);
	p->delay_avg_us = (uint32_t)get_int(r, row, 8);
	p->delay_p99_us = (uint32_t)get_int(r, row, 9);
	p->jitter_us = (uint32_t)get_int(r, row, 10);
	p->status = (uint8_t)get_int(r, row, 11);
	return get_addr(r, row, 2, &p->src) || get_addr(r, row, 3, &p->dst) ? -1 : 0;
}

#define CHANGE_COLS "seq, when_ns, vpn, kind, pe, peer, c_source, c_group, p_group, prev, cur"

/* Runs a SELECT through a binary cursor, PG_FETCH_ROWS at a time, so a
 * long history never sits in memory whole.  cb non-zero stops (0). */
static int cursor_read(struct pg *g, const char *select, int n, const char *const *vals,
		       decode_fn decode, const char *monitor, hist_row_cb cb, void *arg,
		       char *err, size_t errlen)
{
	size_t len = strlen(select) + 64;
	char *sql = malloc(len);
	struct hist_row row = {.monitor = monitor};
	int rc = -1, stop = 0;
	PGresult *r;

	if (!sql) {
		say(err, errlen, "postgresql store: out of memory");
		return -1;
	}
	snprintf(sql, len, "DECLARE hist_rows BINARY NO SCROLL CURSOR FOR %s", select);
	if (run(g, "BEGIN READ ONLY", err, errlen))
		goto out;
	if (!(r = query(g, sql, n, vals, err, errlen)))
		goto out;
	PQclear(r);
	for (;;) {
		char fetch[64];
		snprintf(fetch, sizeof(fetch), "FETCH FORWARD %d FROM hist_rows", PG_FETCH_ROWS);
		if (!(r = query(g, fetch, 0, NULL, err, errlen)))
			goto out;
		int rows = PQntuples(r);
		for (int i = 0; i < rows && !stop; i++) {
			if (decode(r, i, &row.rec)) {
				pg_say(g, err, errlen, "reading", "a row the encoding cannot decode");
				PQclear(r);
				goto out;
			}
			stop = cb(arg, &row);
		}
		PQclear(r);
		if (stop || rows < PG_FETCH_ROWS)
			break;
	}
	rc = run(g, "COMMIT", err, errlen);
out:
	if (rc)
		rollback(g);
	free(sql);
	return rc;
}

/* A checkpoint's last_seq: the last strictly before t (before = true: a
 * change dated t may be in a checkpoint dated t), or the first after t.
 * *found false when there is none. */
static int checkpoint_seq(struct pg *g, int32_t id, uint64_t t, bool before, uint64_t *seq,
			  bool *found, char *err, size_t errlen)
{
	char ids[16], ts[24];
	const char *v[2] = {ids, ts};

	snprintf(ids, sizeof(ids), "%" PRId32, id);
	u64_text(ts, sizeof(ts), t);
	PGresult *r = query(g, before ? "SELECT last_seq FROM checkpoints WHERE monitor = $1 AND"
					" when_ns < $2 ORDER BY when_ns DESC LIMIT 1"
				      : "SELECT last_seq FROM checkpoints WHERE monitor = $1 AND"
					" when_ns > $2 ORDER BY when_ns LIMIT 1",
			    2, v, err, errlen);
	if (!r)
		return -1;
	*found = PQntuples(r) == 1;
	*seq = *found ? get_int(r, 0, 0) : 0;
	PQclear(r);
	return 0;
}

/* Text parameters for one read: $1 monitor, then what the query adds. */
struct params {
	char text[8][48];
	const char *v[8];
	int n;
};

static const char *param(struct params *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static const char *param(struct params *p, const char *fmt, ...)
{
	static const char *const names[] = {"$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8"};
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->text[p->n], sizeof(p->text[0]), fmt, ap);
	va_end(ap);
	p->v[p->n] = p->text[p->n];
	return names[p->n++];
}

/* An address parameter: bytea's hex form. */
static const char *param_addr(struct params *p, const struct inet_addr *a)
{
	char hex[40] = "\\x";
	size_t n = inet_addr_len(a);

	for (size_t i = 0; i < n; i++)
		snprintf(hex + 2 + 2 * i, 3, "%02x", a->bytes[i]);
	return param(p, "%s", hex);
}

static int read_one(struct pg *g, int32_t id, const char *name, uint8_t type,
		    const struct hist_query *q, hist_row_cb cb, void *arg, char *err, size_t errlen)
{
	static const char *const pe_cols[][2] = {
		[HIST_CHANGE] = {"pe", "peer"}, [HIST_ALARM] = {"addr", "peer"},
		[HIST_PAIR_WINDOW] = {"src", "dst"}};
	struct params p = {.n = 0};
	char sql[1024];
	size_t o;
	decode_fn decode;
	uint64_t from = 0, to = 0;
	bool bounded = false;

	param(&p, "%" PRId32, id);
	switch (type) {
	case HIST_CHANGE:
		/* By seq, from the checkpoint before since_ns to the first after
		 * until_ns: a read by time never scans the history outside it. */
		if (checkpoint_seq(g, id, q->since_ns, true, &from, &bounded, err, errlen) ||
		    (q->until_ns != UINT64_MAX &&
		     checkpoint_seq(g, id, q->until_ns, false, &to, &bounded, err, errlen)))
			return -1;
		if (q->until_ns == UINT64_MAX)
			bounded = false;
		o = (size_t)snprintf(sql, sizeof(sql), "SELECT " CHANGE_COLS " FROM changes WHERE"
				     " monitor = $1 AND seq > %s", param(&p, "%" PRIu64, from));
		if (bounded)
			o += (size_t)snprintf(sql + o, sizeof(sql) - o, " AND seq <= %s",
					      param(&p, "%" PRIu64, to));
		if (q->change_kind)
			o += (size_t)snprintf(sql + o, sizeof(sql) - o, " AND kind = %s",
					      param(&p, "%u", q->change_kind));
		decode = decode_change;
		break;
	case HIST_ALARM:
		o = (size_t)snprintf(sql, sizeof(sql), "SELECT when_ns, alarm_index, kind, raised,"
				     " vpn, addr, peer, value, threshold FROM alarms WHERE monitor = $1");
		decode = decode_alarm;
		break;
	case HIST_CONFIG:
		o = (size_t)snprintf(sql, sizeof(sql), "SELECT when_ns, ok, vpns, added, removed,"
				     " changed FROM configs WHERE monitor = $1");
		decode = decode_config;
		break;
	case HIST_PAIR_WINDOW:
		o = (size_t)snprintf(sql, sizeof(sql), "SELECT when_ns, vpn, src, dst, sent,"
				     " received, lost, delay_min_us, delay_avg_us, delay_p99_us,"
				     " jitter_us, status FROM pair_windows WHERE monitor = $1");
		decode = decode_pair;
		break;
	default:
		say(err, errlen, "postgresql store: no records of type %u to read", type);
		return -1;
	}
	char since[24], until[24];
	u64_text(since, sizeof(since), q->since_ns);
	u64_text(until, sizeof(until), q->until_ns);
	o += (size_t)snprintf(sql + o, sizeof(sql) - o, " AND when_ns >= %s",
			      param(&p, "%s", since));
	o += (size_t)snprintf(sql + o, sizeof(sql) - o, " AND when_ns <= %s",
			      param(&p, "%s", until));
	if (q->vpn_index && type != HIST_CONFIG)
		o += (size_t)snprintf(sql + o, sizeof(sql) - o, " AND vpn = %s",
				      param(&p, "%" PRIu32, q->vpn_index));
	if (q->pe && type != HIST_CONFIG) {
		const char *a = param_addr(&p, q->pe);
		o += (size_t)snprintf(sql + o, sizeof(sql) - o, " AND (%s = %s OR %s = %s)",
				      pe_cols[type][0], a, pe_cols[type][1], a);
	}
	snprintf(sql + o, sizeof(sql) - o, "%s",
		 type == HIST_CHANGE ? " ORDER BY seq"
		 : type == HIST_ALARM ? " ORDER BY when_ns, alarm_index"
		 : type == HIST_PAIR_WINDOW ? " ORDER BY when_ns, vpn, src, dst"
					    : " ORDER BY when_ns");
	return cursor_read(g, sql, p.n, p.v, decode, name, cb, arg, err, errlen);
}

/* Stops the monitor loop when a callback asked to stop. */
struct stop_watch {
	hist_row_cb cb;
	void *arg;
	bool stopped;
};

static int watch_cb(void *arg, const struct hist_row *row)
{
	struct stop_watch *w = arg;
	int rc = w->cb(w->arg, row);

	if (rc)
		w->stopped = true;
	return rc;
}

static int pg_read(void *conn, uint8_t type, const struct hist_query *q, hist_row_cb cb,
		   void *arg, char *err, size_t errlen)
{
	struct pg *g = conn;
	struct monitor_list m;
	struct stop_watch w = {.cb = cb, .arg = arg};
	int rc = 0;

	if (ensure(g, err, errlen) || monitors_load(g, q->monitor, &m, err, errlen))
		return -1;
	for (size_t i = 0; i < m.n && !rc && !w.stopped; i++)
		rc = read_one(g, m.ids[i], m.names[i], type, q, watch_cb, &w, err, errlen);
	monitors_free(&m);
	return rc;
}

/* The monitor state_at means: the named one, or the only one. 0 with *id
 * (0: none such); -1 with err. */
static int monitor_for_state(struct pg *g, const char *monitor, int32_t *id, char *err,
			     size_t errlen)
{
	struct monitor_list m;

	*id = 0;
	if (monitors_load(g, monitor, &m, err, errlen))
		return -1;
	if (m.n > 1) {
		char names[256] = "";
		size_t o = 0;
		for (size_t i = 0; i < m.n && o < sizeof(names); i++)
			o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s", i ? ", " : "",
					      m.names[i]);
		say(err, errlen, "postgresql store: %zu monitors wrote here (%s): name one", m.n,
		    names);
		monitors_free(&m);
		return -1;
	}
	if (m.n == 1)
		*id = m.ids[0];
	monitors_free(&m);
	return 0;
}

static int pg_checkpoint_at(void *conn, const char *monitor, uint64_t at_ns,
			    struct hist_checkpoint **out, uint64_t *when_ns, char *err,
			    size_t errlen)
{
	struct pg *g = conn;
	char ids[16], ts[24];
	const char *v[2] = {ids, ts};
	int32_t id;

	*out = NULL;
	*when_ns = 0;
	if (ensure(g, err, errlen) || monitor_for_state(g, monitor, &id, err, errlen))
		return -1;
	if (!id)
		return 1;
	snprintf(ids, sizeof(ids), "%" PRId32, id);
	u64_text(ts, sizeof(ts), at_ns);
	PGresult *r = query(g, "SELECT when_ns, body FROM checkpoints WHERE monitor = $1 AND"
			    " when_ns <= $2 ORDER BY when_ns DESC LIMIT 1", 2, v, err, errlen);
	if (!r)
		return -1;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return 1;
	}
	size_t len;
	const uint8_t *body = get_bytes(r, 0, 1, &len);
	*when_ns = get_int(r, 0, 0);
	int rc = hist_checkpoint_decode(body, len, out);
	PQclear(r);
	if (rc) {
		pg_say(g, err, errlen, "reading a checkpoint", "its body cannot be decoded");
		return -1;
	}
	return 0;
}

static int pg_changes_after(void *conn, const char *monitor, uint64_t after_seq,
			    uint64_t until_ns, hist_row_cb cb, void *arg, char *err,
			    size_t errlen)
{
	struct pg *g = conn;
	struct params p = {.n = 0};
	char sql[256];
	uint64_t to;
	bool bounded;
	int32_t id;

	if (ensure(g, err, errlen) || monitor_for_state(g, monitor, &id, err, errlen))
		return -1;
	if (!id)
		return 0;
	if (checkpoint_seq(g, id, until_ns, false, &to, &bounded, err, errlen))
		return -1;
	param(&p, "%" PRId32, id);
	int o = snprintf(sql, sizeof(sql), "SELECT " CHANGE_COLS " FROM changes WHERE monitor = $1"
			 " AND seq > %s", param(&p, "%" PRIu64, after_seq));
	if (bounded)
		o += snprintf(sql + o, sizeof(sql) - (size_t)o, " AND seq <= %s",
			      param(&p, "%" PRIu64, to));
	snprintf(sql + o, sizeof(sql) - (size_t)o, " ORDER BY seq");
	return cursor_read(g, sql, p.n, p.v, decode_change, monitor, cb, arg, err, errlen);
}

static int pg_monitors(void *conn, char ***names, size_t *n, char *err, size_t errlen)
{
	struct pg *g = conn;
	struct monitor_list m;

	*names = NULL;
	*n = 0;
	if (ensure(g, err, errlen) || monitors_load(g, NULL, &m, err, errlen))
		return -1;
	*names = m.names;
	*n = m.n;
	free(m.ids);
	return 0;
}

/* ---- retention (this monitor's rows only: each monitor prunes its own) ---- */

/* A statement returning a count (DELETE ... or SELECT count).  -1 with err. */
static int64_t count_of(struct pg *g, const char *sql, int n, const char *const *v, char *err,
			size_t errlen)
{
	PGresult *r = PQexecParams(g->c, sql, n, NULL, v, NULL, NULL, 0);
	int64_t rows = -1;

	if (PQresultStatus(r) == PGRES_COMMAND_OK)
		rows = strtoll(PQcmdTuples(r), NULL, 10);
	else if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		rows = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	else
		pg_fail(g, err, errlen, "pruning");
	PQclear(r);
	return rows;
}

/* Bytes this monitor's rows take: live rows times their average footprint
 * (a sample's row size, with the table's share of index pages).  Not
 * pg_total_relation_size alone: PostgreSQL keeps a table's pages after a
 * DELETE and reuses them, so that figure never goes down by pruning. */
static int64_t used_bytes(struct pg *g, char *err, size_t errlen)
{
	char sql[1024];

	snprintf(sql, sizeof(sql),
		 "WITH t(rel, rows, width) AS ("
		 " SELECT 'changes_%1$d'::regclass, (SELECT n_live_tup FROM pg_stat_user_tables"
		 "  WHERE relid = 'changes_%1$d'::regclass),"
		 "  (SELECT avg(pg_column_size(s.*)) FROM (SELECT * FROM changes_%1$d LIMIT 1000) s)"
		 " UNION ALL SELECT 'alarms'::regclass, (SELECT count(*) FROM alarms WHERE monitor = %1$d),"
		 "  (SELECT avg(pg_column_size(s.*)) FROM (SELECT * FROM alarms LIMIT 1000) s)"
		 " UNION ALL SELECT 'configs'::regclass, (SELECT count(*) FROM configs WHERE monitor = %1$d),"
		 "  (SELECT avg(pg_column_size(s.*)) FROM (SELECT * FROM configs LIMIT 1000) s)"
		 " UNION ALL SELECT 'pair_windows'::regclass, (SELECT count(*) FROM pair_windows"
		 "  WHERE monitor = %1$d),"
		 "  (SELECT avg(pg_column_size(s.*)) FROM (SELECT * FROM pair_windows LIMIT 1000) s))"
		 " SELECT (coalesce(sum(rows * (width + 28) * pg_total_relation_size(rel)"
		 "  / greatest(pg_relation_size(rel), 1)), 0) + (SELECT coalesce(sum(pg_column_size(body)"
		 "  + 28), 0) FROM checkpoints WHERE monitor = %1$d))::bigint FROM t",
		 (int)g->id);
	return count_of(g, sql, 0, NULL, err, errlen);
}

/* Deletes up to `limit` rows before checkpoint (cut_seq, cut_when) and,
 * for the tables without seq, before `before`.  Returns the rows deleted. */
static int64_t prune_to(struct pg *g, uint64_t cut_seq, uint64_t cut_when, uint64_t before,
			int64_t limit, char *err, size_t errlen)
{
	char id[16], seq[24], cw[24], bf[24], lim[24];
	const char *v[3] = {id, NULL, lim};
	int64_t total = 0;
	static const char *const other[] = {
		"DELETE FROM alarms WHERE ctid = ANY(ARRAY(SELECT ctid FROM alarms"
		" WHERE monitor = $1 AND when_ns < $2 LIMIT $3))",
		"DELETE FROM configs WHERE ctid = ANY(ARRAY(SELECT ctid FROM configs"
		" WHERE monitor = $1 AND when_ns < $2 LIMIT $3))",
		"DELETE FROM pair_windows WHERE ctid = ANY(ARRAY(SELECT ctid FROM pair_windows"
		" WHERE monitor = $1 AND when_ns < $2 LIMIT $3))",
	};

	snprintf(id, sizeof(id), "%" PRId32, g->id);
	u64_text(seq, sizeof(seq), cut_seq);
	u64_text(cw, sizeof(cw), cut_when);
	u64_text(bf, sizeof(bf), before);
	for (int step = 0; step < 5 && total < limit; step++) {
		snprintf(lim, sizeof(lim), "%" PRId64, limit - total);
		const char *sql;
		if (step == 0) {
			if (!cut_seq)
				continue;
			v[1] = seq;
			sql = "DELETE FROM changes WHERE monitor = $1 AND ctid = ANY(ARRAY("
			      "SELECT ctid FROM changes WHERE monitor = $1 AND seq <= $2 LIMIT $3))";
		} else if (step == 1) {
			if (!cut_when)
				continue;
			v[1] = cw; /* the checkpoints before the one kept */
			sql = "DELETE FROM checkpoints WHERE ctid = ANY(ARRAY(SELECT ctid FROM"
			      " checkpoints WHERE monitor = $1 AND when_ns < $2 LIMIT $3))";
		} else {
			v[1] = bf;
			sql = other[step - 2];
		}
		int64_t n = count_of(g, sql, 3, v, err, errlen);
		if (n < 0)
			return -1;
		total += n;
	}
	return total;
}

/* The checkpoint a cut keeps: the last at or before t (oldest: the one
 * after the oldest instead, so one interval goes).  *found false if none. */
static int cut_point(struct pg *g, uint64_t t, bool oldest, uint64_t *seq, uint64_t *when,
		     bool *found, char *err, size_t errlen)
{
	char id[16], ts[24];
	const char *v[2] = {id, ts};

	snprintf(id, sizeof(id), "%" PRId32, g->id);
	u64_text(ts, sizeof(ts), t);
	PGresult *r = query(g, oldest ? "SELECT last_seq, when_ns FROM checkpoints WHERE"
					" monitor = $1 ORDER BY when_ns OFFSET 1 LIMIT 1"
				      : "SELECT last_seq, when_ns FROM checkpoints WHERE"
					" monitor = $1 AND when_ns <= $2 ORDER BY when_ns DESC LIMIT 1",
			    oldest ? 1 : 2, v, err, errlen);
	if (!r)
		return -1;
	*found = PQntuples(r) == 1;
	*seq = *found ? get_int(r, 0, 0) : 0;
	*when = *found ? get_int(r, 0, 1) : 0;
	PQclear(r);
	return 0;
}

static int64_t pg_prune(void *conn, uint64_t before_ns, uint64_t max_bytes, uint64_t max_rows,
			char *err, size_t errlen)
{
	struct pg *g = conn;
	int64_t limit = max_rows && max_rows < INT64_MAX ? (int64_t)max_rows : INT64_MAX;
	int64_t total = 0, n;
	uint64_t seq, when;
	bool found;

	if (g->read_only) {
		say(err, errlen, "postgresql store: opened read-only");
		return -1;
	}
	if (ensure(g, err, errlen))
		return -1;
	if (before_ns) { /* by age: changes up to the last checkpoint at or before it */
		if (cut_point(g, before_ns, false, &seq, &when, &found, err, errlen) ||
		    (n = prune_to(g, found ? seq : 0, found ? when : 0, before_ns, limit, err,
				  errlen)) < 0)
			return -1;
		total += n;
	}
	/* by size: one checkpoint interval, the oldest, per step */
	if (max_bytes && total < limit) {
		int64_t used = used_bytes(g, err, errlen);
		if (used < 0)
			return -1;
		if ((uint64_t)used > max_bytes) {
			if (cut_point(g, 0, true, &seq, &when, &found, err, errlen))
				return -1;
			if (found && (n = prune_to(g, seq, when, when, limit - total, err, errlen)) < 0)
				return -1;
			total += found ? n : 0;
		}
	}
	return total;
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
	.changes_after = pg_changes_after,
	.monitors = pg_monitors,
};

const struct hist_backend *hist_pg_backend(void)
{
	return &pg_backend;
}
