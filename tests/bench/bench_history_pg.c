/*
 * Persisted changes per second into PostgreSQL: the backend (history/pg.c)
 * beside a raw libpq COPY of the same rows, in the same run, on the same
 * server (tests/bench/history_pg.py starts it and writes the results).
 *
 *   bench_history_pg CONNINFO MODE ROWS BATCH
 *
 * MODE:
 *   raw        the reference: the change rows (schema.md's columns, values
 *              encoded by encode.c) through one binary COPY per batch, each
 *              batch its own transaction, into a plain table: no index, no
 *              partition, nothing but the rows
 *   raw-layout the same changes packed as the backend packs them (blocks of
 *              PG_BLOCK_CHANGES in encode.c's block encoding) through one
 *              binary COPY per batch into the backend's own layout (the
 *              monitor's partition of change_blocks, its index on
 *              first_seq): what the layout costs without the backend's
 *              bookkeeping
 *   backend    the same records through hist_pg_backend()->write, BATCH a call
 *   writer     the same records put one by one into the writer (writer.h: its
 *              queue, its thread, batches of BATCH), from the first put until
 *              the writer reports every record persisted
 *
 * Prints "rows=N seconds=S rate=R bytes_per_row=B" (R changes/s, encoding
 * included in each; B: pg_total_relation_size of what holds them, heap,
 * TOAST and indexes, over N).  Every mode starts from empty tables; the
 * records are made before the clock starts (tests/tools/hist_gen.h: every
 * change kind, some IPv6).  After the clock, every change is read back
 * (raw: counted; the others: through the backend's own read) and checked
 * present once, in seq order.
 */
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../history/backend.h"
#include "../../history/encode.h"
#include "../../history/pg_int.h" /* PG_BLOCK_CHANGES */
#include "../../history/writer.h"
#include "../tools/hist_gen.h"
#include "bench.h"

#define T0 1700000000000000000ull

static PGconn *conn;
static uint32_t monitor_id = 1; /* the monitor column of raw rows */

static void die(const char *what)
{
	fprintf(stderr, "bench_history_pg: %s: %s", what, conn ? PQerrorMessage(conn) : "");
	exit(1);
}

static void exec(const char *sql)
{
	PGresult *r = PQexec(conn, sql);

	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		die(sql);
	PQclear(r);
}

/* ---- the reference: a plain binary COPY ---- */

struct out {
	uint8_t *p;
	size_t len, cap;
};

static void out_put(struct out *o, const void *p, size_t n)
{
	if (o->len + n > o->cap) {
		while (o->len + n > o->cap)
			o->cap = o->cap ? o->cap * 2 : 1 << 20;
		if (!(o->p = realloc(o->p, o->cap)))
			die("out of memory");
	}
	memcpy(o->p + o->len, p, n);
	o->len += n;
}

static void out_be(struct out *o, uint64_t v, unsigned n)
{
	uint8_t b[8];

	for (unsigned i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	out_put(o, b, n);
}

static void out_int(struct out *o, uint64_t v, unsigned n)
{
	out_be(o, n, 4);
	out_be(o, v, n);
}

static void out_blob(struct out *o, const uint8_t *p, size_t n)
{
	if (!n) {
		out_be(o, 0xffffffffu, 4);
		return;
	}
	out_be(o, n, 4);
	out_put(o, p, n);
}

static void raw_row(struct out *o, const struct hist_record *r)
{
	const struct change *c = &r->u.change;
	uint8_t prev[HIST_VALUE_MAX], cur[HIST_VALUE_MAX];
	int np = hist_value_encode(c->kind, &c->previous, prev);
	int nc = hist_value_encode(c->kind, &c->current, cur);

	if (np < 0 || nc < 0)
		die("a value encode.c refuses");
	out_be(o, 12, 2);
	out_int(o, monitor_id, 4);
	out_int(o, r->seq, 8);
	out_int(o, r->when_ns, 8);
	out_int(o, c->vpn_index, 8);
	out_int(o, c->kind, 2);
	out_blob(o, c->pe.bytes, inet_addr_len(&c->pe));
	out_blob(o, c->peer.bytes, inet_addr_len(&c->peer));
	out_blob(o, c->c_source.bytes, inet_addr_len(&c->c_source));
	out_blob(o, c->c_group.bytes, inet_addr_len(&c->c_group));
	out_blob(o, c->p_group.bytes, inet_addr_len(&c->p_group));
	out_blob(o, prev, (size_t)np);
	out_blob(o, cur, (size_t)nc);
}

/* Changes [at, end) as the backend's blocks: PG_BLOCK_CHANGES a row. */
static void block_rows(struct out *o, const struct hist_record *recs, size_t at, size_t end)
{
	static uint8_t body[PG_BLOCK_CHANGES * HIST_CHANGE_MAX];

	for (size_t b = at; b < end; b += PG_BLOCK_CHANGES) {
		size_t e = b + PG_BLOCK_CHANGES < end ? b + PG_BLOCK_CHANGES : end, len = 0;
		uint64_t t_min = recs[b].when_ns, t_max = t_min, seq, when;
		for (size_t i = b; i < e; i++) {
			t_min = recs[i].when_ns < t_min ? recs[i].when_ns : t_min;
			t_max = recs[i].when_ns > t_max ? recs[i].when_ns : t_max;
		}
		seq = recs[b].seq;
		when = t_min;
		for (size_t i = b; i < e; i++) {
			int k = hist_change_encode(&recs[i], seq, when, body + len);
			if (k < 0)
				die("a change encode.c refuses");
			len += (size_t)k;
			seq = recs[i].seq;
			when = recs[i].when_ns;
		}
		out_be(o, 7, 2);
		out_int(o, monitor_id, 4);
		out_int(o, e - b, 4);
		out_int(o, recs[b].seq, 8);
		out_int(o, recs[e - 1].seq, 8);
		out_int(o, t_min, 8);
		out_int(o, t_max, 8);
		out_blob(o, body, len);
	}
}

static void raw_copy(const char *table, const struct hist_record *recs, size_t n, size_t batch,
		     bool blocks)
{
	static const uint8_t header[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
	struct out o = {0};
	char sql[128];

	snprintf(sql, sizeof(sql), "COPY %s FROM STDIN (FORMAT binary)", table);
	for (size_t at = 0; at < n; at += batch) {
		size_t end = at + batch < n ? at + batch : n;
		o.len = 0;
		out_put(&o, header, sizeof(header));
		if (blocks)
			block_rows(&o, recs, at, end);
		else
			for (size_t i = at; i < end; i++)
				raw_row(&o, &recs[i]);
		out_be(&o, 0xffff, 2);
		exec("BEGIN");
		PGresult *r = PQexec(conn, sql);
		if (PQresultStatus(r) != PGRES_COPY_IN)
			die("COPY");
		PQclear(r);
		for (size_t off = 0; off < o.len; off += 256 * 1024) {
			size_t len = o.len - off < 256 * 1024 ? o.len - off : 256 * 1024;
			if (PQputCopyData(conn, (const char *)o.p + off, (int)len) != 1)
				die("COPY data");
		}
		if (PQputCopyEnd(conn, NULL) != 1)
			die("COPY end");
		while ((r = PQgetResult(conn))) {
			if (PQresultStatus(r) != PGRES_COMMAND_OK)
				die("COPY result");
			PQclear(r);
		}
		exec("COMMIT");
	}
	free(o.p);
}

/* Puts every record, never faster than the queue drains (a full queue
 * drops), then waits until the writer has persisted them all. */
static int through_writer(const struct hist_location *loc, struct hist_record *recs, size_t n,
			  size_t batch)
{
	struct hist_settings set = {.loc = *loc, .queue_cap = 100000, .flush_interval_ms = 100,
				    .batch_max = (uint32_t)batch};
	struct hist_stats st;
	char err[512];
	struct hist_writer *w = hist_writer_start(&set, err, sizeof(err));

	if (!w) {
		fprintf(stderr, "bench_history_pg: %s\n", err);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (i % 1000 == 0)
			for (;;) {
				hist_writer_stats(w, &st);
				if (st.queued + 1000 <= set.queue_cap)
					break;
				struct timespec ms = {0, 1000000};
				nanosleep(&ms, NULL);
			}
		if (!hist_writer_put(w, &recs[i])) {
			fprintf(stderr, "bench_history_pg: the queue dropped record %zu\n", i);
			return -1;
		}
	}
	do {
		struct timespec ms = {0, 1000000};
		nanosleep(&ms, NULL);
		hist_writer_stats(w, &st);
	} while (st.persisted + st.dropped < n && st.store_ok);
	hist_writer_stop(w, 10000);
	if (st.persisted != n) {
		fprintf(stderr, "bench_history_pg: %" PRIu64 " persisted of %zu: %s\n", st.persisted, n,
			st.last_error);
		return -1;
	}
	return 0;
}

struct seen {
	uint64_t next; /* the seq expected next */
	bool bad;
};

static int seen_cb(void *arg, const struct hist_row *row)
{
	struct seen *s = arg;

	if (row->rec.seq != s->next) {
		fprintf(stderr, "bench_history_pg: read seq %" PRIu64 " where %" PRIu64
			" was due\n", row->rec.seq, s->next);
		s->bad = true;
		return 1;
	}
	s->next++;
	return 0;
}

/* Every change read back through the backend: seqs 1..n, each once, in order. */
static int read_back(const struct hist_location *wl, size_t n)
{
	struct hist_location rl = *wl;
	struct hist_query q = {.monitor = "bench", .until_ns = UINT64_MAX};
	struct seen s = {.next = 1};
	char err[512];
	const struct hist_backend *b = hist_pg_backend();
	void *rd;

	rl.read_only = true;
	if (!(rd = b->open(&rl, err, sizeof(err))) ||
	    b->read(rd, HIST_CHANGE, &q, seen_cb, &s, err, sizeof(err))) {
		fprintf(stderr, "bench_history_pg: reading back: %s\n", err);
		return -1;
	}
	b->close(rd);
	if (s.bad || s.next != n + 1) {
		fprintf(stderr, "bench_history_pg: %" PRIu64 " changes read back of %zu\n",
			s.next - 1, n);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: bench_history_pg CONNINFO raw|raw-layout|backend|writer ROWS BATCH\n");
		return 2;
	}
	const char *mode = argv[2];
	size_t n = (size_t)arg_num(argv[3], "ROWS"), batch = (size_t)arg_num(argv[4], "BATCH");
	struct hist_record *recs = calloc(n, sizeof(*recs));
	char err[512];
	void *store = NULL;
	const struct hist_backend *b = hist_pg_backend();

	if (!recs || !batch)
		die("out of memory");
	for (size_t i = 0; i < n; i++)
		gen_change(&recs[i], 1, i + 1, T0);
	conn = PQconnectdb(argv[1]);
	if (PQstatus(conn) != CONNECTION_OK)
		die("connect");
	/* Empty tables for every run; the backend's own are made by its open. */
	exec("SET client_min_messages = warning");
	exec("DROP TABLE IF EXISTS raw_changes");
	exec("CREATE TABLE raw_changes(monitor integer NOT NULL, seq bigint NOT NULL,"
	     " when_ns bigint NOT NULL, vpn bigint NOT NULL, kind smallint NOT NULL, pe bytea,"
	     " peer bytea, c_source bytea, c_group bytea, p_group bytea, prev bytea, cur bytea)");
	struct hist_location loc = {.backend = HIST_POSTGRES, .target = argv[1],
				    .monitor = "bench"};
	if (!(store = b->open(&loc, err, sizeof(err)))) {
		fprintf(stderr, "bench_history_pg: %s\n", err);
		return 1;
	}
	/* The backend remembers the last seq it wrote: start it afresh. */
	b->close(store);
	store = NULL;
	exec("TRUNCATE change_blocks, checkpoints, alarms, configs, pair_windows");
	PGresult *r = PQexec(conn, "UPDATE monitor_writes SET batch = 0, last_seq = 0 FROM monitors"
			     " WHERE monitors.name = 'bench' AND monitor = monitors.id"
			     " RETURNING monitors.id");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
		die("resetting the monitor");
	monitor_id = (uint32_t)strtoul(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	exec("CHECKPOINT");
	if (strcmp(mode, "backend") == 0 && !(store = b->open(&loc, err, sizeof(err)))) {
		fprintf(stderr, "bench_history_pg: %s\n", err);
		return 1;
	}
	char layout[64] = ""; /* the monitor's partition, as the backend made it */
	if (strcmp(mode, "raw-layout") == 0)
		snprintf(layout, sizeof(layout), "change_blocks_%" PRIu32, monitor_id);

	uint64_t t0 = wall_now();
	if (strcmp(mode, "raw") == 0)
		raw_copy("raw_changes", recs, n, batch, false);
	else if (*layout)
		raw_copy(layout, recs, n, batch, true);
	else if (strcmp(mode, "backend") == 0) {
		for (size_t at = 0; at < n; at += batch) {
			size_t len = at + batch < n ? batch : n - at;
			if (b->write(store, recs + at, len, err, sizeof(err))) {
				fprintf(stderr, "bench_history_pg: %s\n", err);
				return 1;
			}
		}
	} else if (strcmp(mode, "writer") == 0) {
		if (through_writer(&loc, recs, n, batch))
			return 1;
	} else {
		fprintf(stderr, "bench_history_pg: no mode %s\n", mode);
		return 2;
	}
	double secs = (double)(wall_now() - t0) / 1e9;

	/* What was stored: every change, once, in seq order. */
	if (strcmp(mode, "raw") == 0) {
		r = PQexec(conn, "SELECT count(*), count(DISTINCT seq) FROM raw_changes");
		if (PQresultStatus(r) != PGRES_TUPLES_OK)
			die("counting");
		if (strtoull(PQgetvalue(r, 0, 0), NULL, 10) != n ||
		    strtoull(PQgetvalue(r, 0, 1), NULL, 10) != n) {
			fprintf(stderr, "bench_history_pg: %s rows stored, %s seqs, for %zu written\n",
				PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), n);
			return 1;
		}
		PQclear(r);
	} else if (read_back(&loc, n))
		return 1;
	r = PQexec(conn, strcmp(mode, "raw") == 0 ? "SELECT pg_total_relation_size('raw_changes')"
		   : "SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits"
		     " WHERE inhparent = 'change_blocks'::regclass");
	uint64_t bytes = PQresultStatus(r) == PGRES_TUPLES_OK ? strtoull(PQgetvalue(r, 0, 0), NULL, 10)
							      : 0;
	PQclear(r);
	printf("rows=%zu seconds=%.3f rate=%.0f bytes_per_row=%.1f\n", n, secs, (double)n / secs,
	       (double)bytes / (double)n);
	if (store)
		b->close(store);
	PQfinish(conn);
	free(recs);
	return 0;
}
