/*
 * The history store's numbers (issue "lifetime history"), in one run:
 *  (a) the reference: raw SQLite, one prepared INSERT of the same change
 *      rows (same columns, same encoded bytes, encoded before the clock
 *      starts), WAL, synchronous=NORMAL, one transaction per 10,000 rows;
 *  (b) the same rows through hist_writer_put and the writer thread into
 *      the store's schema, timed from the first put to the last commit;
 *      the ratio b/a (target >= 0.8), rounds alternating a and b;
 *  (c) bytes per change on disk (the file after the run, no VACUUM);
 *  (d) the state at T on one growing history of 10M changes with 10,000
 *      rows of state and a checkpoint every N minutes of simulated time,
 *      queried at random T at 1M, 3M and 10M changes: the time must not
 *      grow with the history (target < 200 ms);
 *  (e) retention on that history in the writer's steps of 20,000 rows:
 *      how long one step holds the writer.
 * With -p CONNINFO, (d) and (e) only, on PostgreSQL (an empty database:
 * tests/bench/history_pg.py makes one); "MB" is then pg_total_relation_size
 * of change_blocks and checkpoints.
 *
 *   bench_history [-o FILE] [-n ROWS] [-r ROUNDS] [-m MAX_CHANGES] [-c CP_MINUTES]
 *                 [-s CHANGES_PER_SIM_SECOND] [-q QUERIES] [-d DIR] [-k: keep the files]
 *                 [-p CONNINFO]
 */
#include <getopt.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../history/encode.h"
#include "../../history/state.h"
#include "../../history/writer.h"
#include "bench.h"

#define T0 1764547200000000000ull /* 2025-12-01 00:00 UTC */
#define SEC 1000000000ull
#define TXN_ROWS 10000

static FILE *out;
static const char *pg_conninfo; /* -p: (d) and (e) on PostgreSQL */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
	if (out) {
		va_start(ap, fmt);
		vfprintf(out, fmt, ap);
		va_end(ap);
	}
}

static struct inet_addr v4(uint32_t x)
{
	struct inet_addr a;
	inet_addr_v4(&a, (const uint8_t[4]){x >> 24, x >> 16 & 255, x >> 8 & 255, x & 255});
	return a;
}

/* Change i of (a)/(b): joins and prunes of 1,000 VPNs' (S,G)s by 60 PEs,
 * a millisecond apart, as a busy monitor logs them. */
static struct hist_record bench_change(uint64_t i)
{
	struct hist_record r = {.type = HIST_CHANGE, .seq = i, .when_ns = T0 + i * 1000000};
	struct change *c = &r.u.change;
	c->vpn_index = 1 + (uint32_t)(i % 1000);
	c->kind = i % 4 == 3 ? CHANGE_PRUNE : CHANGE_JOIN;
	c->pe = v4(0xc6120000u + 1 + (uint32_t)(i % 60));           /* 198.18.0.x */
	c->c_source = v4(0x0a000000u + (uint32_t)(i % 5000));       /* 10.0.x.x */
	c->c_group = v4(0xe8010000u + (uint32_t)(i / 7 % 60000));   /* 232.1.x.x */
	union change_value v = {.row = {.present = 1, .cg_kind = 2, .state = 1, .holdtime = 210,
					.upstream = v4(0xc6120000u + 61 + (uint32_t)(i % 3))}};
	if (c->kind == CHANGE_PRUNE)
		c->previous = v;
	else
		c->current = v;
	return r;
}

static char dir[256];

static const char *file(const char *name)
{
	static char buf[4][300];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", dir, name);
	return buf[k];
}

static void remove_db(const char *path)
{
	char p[320];
	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

static long long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* ---- (a) raw SQLite ---- */

struct pre { /* one row's bytes, encoded before the clock starts */
	uint8_t cur[HIST_VALUE_MAX], prev[HIST_VALUE_MAX];
	int ncur, nprev;
};

static void bind_addr(sqlite3_stmt *st, int col, const struct inet_addr *a)
{
	size_t n = inet_addr_len(a);
	if (n)
		sqlite3_bind_blob(st, col, a->bytes, (int)n, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, col);
}

static void bind_value(sqlite3_stmt *st, int col, const uint8_t *p, int n)
{
	if (n)
		sqlite3_bind_blob(st, col, p, n, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, col);
}

static int exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "bench_history: %s: %s\n", sql, msg);
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static double raw_inserts(const struct hist_record *recs, const struct pre *pre, size_t n,
			  long long *bytes)
{
	const char *path = file("raw.db");
	sqlite3 *db;
	sqlite3_stmt *st;

	remove_db(path);
	if (sqlite3_open(path, &db) != SQLITE_OK || exec(db, "PRAGMA journal_mode=WAL") ||
	    exec(db, "PRAGMA synchronous=NORMAL") ||
	    exec(db, "CREATE TABLE raw(id INTEGER PRIMARY KEY, when_ns INTEGER, vpn INTEGER,"
		     " kind INTEGER, pe BLOB, peer BLOB, c_source BLOB, c_group BLOB, p_group BLOB,"
		     " prev BLOB, cur BLOB)") ||
	    sqlite3_prepare_v2(db, "INSERT INTO raw VALUES(?,?,?,?,?,?,?,?,?,?,?)", -1, &st, NULL))
		exit(1);
	uint64_t t = wall_now();
	for (size_t i = 0; i < n; i++) {
		const struct change *c = &recs[i].u.change;
		if (i % TXN_ROWS == 0)
			exec(db, "BEGIN");
		sqlite3_bind_int64(st, 1, (int64_t)recs[i].seq);
		sqlite3_bind_int64(st, 2, (int64_t)recs[i].when_ns);
		sqlite3_bind_int64(st, 3, c->vpn_index);
		sqlite3_bind_int(st, 4, c->kind);
		bind_addr(st, 5, &c->pe);
		bind_addr(st, 6, &c->peer);
		bind_addr(st, 7, &c->c_source);
		bind_addr(st, 8, &c->c_group);
		bind_addr(st, 9, &c->p_group);
		bind_value(st, 10, pre[i].prev, pre[i].nprev);
		bind_value(st, 11, pre[i].cur, pre[i].ncur);
		if (sqlite3_step(st) != SQLITE_DONE)
			exit(1);
		sqlite3_reset(st);
		if (i % TXN_ROWS == TXN_ROWS - 1 || i == n - 1)
			exec(db, "COMMIT");
	}
	double s = (double)(wall_now() - t) / 1e9;
	sqlite3_finalize(st);
	sqlite3_close(db);
	*bytes = file_size(path);
	return s;
}

/* ---- (b) the writer ---- */

static double writer_inserts(const struct hist_record *recs, size_t n, long long *bytes,
			     uint64_t *full_waits)
{
	const char *path = file("history.db");
	char err[256];
	struct hist_settings set = {.loc = {.backend = HIST_SQLITE, .target = path,
					    .monitor = "bench"},
				    .queue_cap = 100000, .flush_interval_ms = 100,
				    .batch_max = TXN_ROWS};
	struct hist_stats s;

	remove_db(path);
	struct hist_writer *w = hist_writer_start(&set, err, sizeof(err));
	if (!w) {
		fprintf(stderr, "bench_history: %s\n", err);
		exit(1);
	}
	*full_waits = 0;
	uint64_t t = wall_now();
	for (size_t i = 0; i < n; i++) {
		struct hist_record r = recs[i];
		/* a full queue: wait for the writer rather than measure drops */
		while (!hist_writer_put(w, &r)) {
			(*full_waits)++;
			usleep(200);
		}
	}
	do {
		hist_writer_stats(w, &s);
		if (s.persisted < n)
			usleep(200);
	} while (s.persisted < n);
	double secs = (double)(wall_now() - t) / 1e9;
	hist_writer_stats(w, &s);
	hist_writer_stop(w, 1000);
	if (s.write_failures)
		fprintf(stderr, "bench_history: %llu failures\n", (unsigned long long)s.write_failures);
	*bytes = file_size(path);
	return secs;
}

static void loadavg(const char *when)
{
	char buf[64] = "?";
	FILE *f = fopen("/proc/loadavg", "r");
	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			snprintf(buf, sizeof(buf), "?\n");
		fclose(f);
	}
	say("load average %s: %s", when, buf);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void throughput(size_t n, int rounds)
{
	struct hist_record *recs = malloc(n * sizeof(*recs));
	struct pre *pre = malloc(n * sizeof(*pre));
	double ratio[16];
	long long raw_bytes = 0, hist_bytes = 0;

	for (size_t i = 0; i < n; i++) {
		recs[i] = bench_change(i + 1);
		pre[i].ncur = hist_value_encode(recs[i].u.change.kind, &recs[i].u.change.current,
						pre[i].cur);
		pre[i].nprev = hist_value_encode(recs[i].u.change.kind,
						 &recs[i].u.change.previous, pre[i].prev);
	}
	say("(a)/(b) persisted changes: %zu rows, %d transaction rows, rounds alternating\n", n,
	    TXN_ROWS);
	say("  round   raw SQLite rows/s   writer rows/s   ratio   queue-full waits\n");
	for (int r = 0; r < rounds && r < 16; r++) {
		uint64_t waits;
		double a = raw_inserts(recs, pre, n, &raw_bytes);
		double b = writer_inserts(recs, n, &hist_bytes, &waits);
		ratio[r] = a / b;
		say("  %5d   %17.0f   %13.0f   %5.2f   %llu\n", r + 1, (double)n / a, (double)n / b,
		    ratio[r], (unsigned long long)waits);
	}
	qsort(ratio, (size_t)rounds, sizeof(double), cmp_double);
	say("  median ratio writer/raw: %.2f (target >= 0.80)\n\n", ratio[rounds / 2]);
	say("(c) on disk after %zu changes (no VACUUM, WAL checkpointed at close):\n", n);
	say("  store: %lld bytes = %.1f bytes/change (target <= 64)\n", hist_bytes,
	    (double)hist_bytes / (double)n);
	say("  raw table of the same columns: %lld bytes = %.1f bytes/row\n\n", raw_bytes,
	    (double)raw_bytes / (double)n);
	free(recs);
	free(pre);
}

/* ---- (d) state at T ---- */

#define SLOTS 10000

/* The simulated network: 10,000 downstream rows, 100 VPNs, each change a
 * re-join through another upstream (prev and cur), or a row pruned or
 * joined again (one in ten). */
struct sim {
	struct hist_cgpe_row rows[SLOTS];
	bool present[SLOTS];
	uint64_t seq, rng;
	uint32_t rate; /* changes per simulated second */
};

static uint64_t rnd(struct sim *s)
{
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 7;
	s->rng ^= s->rng << 17;
	return s->rng;
}

static uint64_t sim_time(const struct sim *s, uint64_t seq)
{
	return T0 + seq * (SEC / s->rate);
}

static struct hist_record sim_change(struct sim *s)
{
	uint32_t k = (uint32_t)(rnd(s) % SLOTS);
	struct hist_cgpe_row *row = &s->rows[k];
	struct hist_record r = {.type = HIST_CHANGE, .seq = ++s->seq};
	struct change *c = &r.u.change;

	r.when_ns = sim_time(s, r.seq);
	c->vpn_index = row->vpn_index;
	c->pe = row->pe;
	c->c_source = row->c_source;
	c->c_group = row->c_group;
	if (s->present[k])
		c->previous.row = row->value;
	bool toggle = rnd(s) % 10 == 0 || !s->present[k];
	if (toggle && s->present[k]) {
		c->kind = CHANGE_PRUNE;
		s->present[k] = false;
		return r;
	}
	c->kind = CHANGE_JOIN;
	row->value.upstream = v4(0xc6120000u + 100 + (uint32_t)(rnd(s) % 50));
	row->value.present = 1;
	c->current.row = row->value;
	s->present[k] = true;
	return r;
}

static struct hist_checkpoint *sim_checkpoint(const struct sim *s)
{
	struct hist_checkpoint *cp = calloc(1, sizeof(*cp));
	cp->last_change_seq = s->seq;
	cp->vpns = calloc(100, sizeof(*cp->vpns));
	cp->n_vpns = 100;
	for (uint32_t v = 0; v < 100; v++) {
		cp->vpns[v].index = v + 1;
		snprintf(cp->vpns[v].name, sizeof(cp->vpns[v].name), "customer-%03u", v + 1);
		cp->vpns[v].default_mdt = v4(0xefc00000u + v);
	}
	cp->cgpes = malloc(SLOTS * sizeof(*cp->cgpes));
	for (uint32_t k = 0; k < SLOTS; k++)
		if (s->present[k])
			cp->cgpes[cp->n_cgpes++] = s->rows[k];
	return cp;
}

static void sim_init(struct sim *s, uint32_t rate)
{
	memset(s, 0, sizeof(*s));
	s->rng = 0x9e3779b97f4a7c15ull;
	s->rate = rate;
	for (uint32_t k = 0; k < SLOTS; k++) {
		struct hist_cgpe_row *r = &s->rows[k];
		r->vpn_index = 1 + k % 100;
		r->c_source = v4(0x0a000000u + k);
		r->c_group = v4(0xe8020000u + k / 4);
		r->pe = v4(0xc6120000u + 1 + k % 4);
		r->value = (struct change_row_value){.present = 1, .cg_kind = 2, .state = 1,
						     .holdtime = 210, .upstream = v4(0xc6120000u + 100)};
	}
}

/* Appends changes up to `upto`, with a checkpoint each cp_ns of simulated
 * time, in transactions of TXN_ROWS records. */
static void sim_grow(struct sim *s, struct hist_store *st, uint64_t upto, uint64_t cp_ns,
		     uint64_t *next_cp)
{
	static struct hist_record batch[TXN_ROWS + 1];
	char err[256];
	size_t n = 0;

	while (s->seq < upto) {
		batch[n++] = sim_change(s);
		if (batch[n - 1].when_ns >= *next_cp) {
			batch[n] = (struct hist_record){.type = HIST_CHECKPOINT,
							.when_ns = batch[n - 1].when_ns,
							.u.checkpoint = sim_checkpoint(s)};
			n++;
			*next_cp += cp_ns;
		}
		if (n >= TXN_ROWS || s->seq == upto) {
			if (hist_store_write(st, batch, n, err, sizeof(err)) < 0) {
				fprintf(stderr, "bench_history: %s\n", err);
				exit(1);
			}
			for (size_t i = 0; i < n; i++)
				if (batch[i].type == HIST_CHECKPOINT)
					hist_checkpoint_free(batch[i].u.checkpoint);
			n = 0;
		}
	}
}

static size_t sim_rows(const struct sim *s)
{
	size_t n = 0;
	for (uint32_t k = 0; k < SLOTS; k++)
		n += s->present[k];
	return n;
}

/* Wall milliseconds of one query; *cpu_ms its thread's CPU time, which
 * other work on the machine moves less. */
static double query_ms(struct hist_store *rd, uint64_t at, size_t *rows, double *cpu_ms)
{
	char err[256];
	struct hist_checkpoint *cp;
	uint64_t t = wall_now(), c = bench_clock(CLOCK_THREAD_CPUTIME_ID);

	if (hist_store_state_at(rd, "bench", at, 0, &cp, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_history: state at %llu: %s\n", (unsigned long long)at, err);
		exit(1);
	}
	double ms = (double)(wall_now() - t) / 1e6;
	*cpu_ms = (double)(bench_clock(CLOCK_THREAD_CPUTIME_ID) - c) / 1e6;
	*rows = cp->n_cgpes;
	hist_checkpoint_free(cp);
	return ms;
}

/* (e) retention in the writer's steps: the first million changes of the
 * grown history pruned by age, 20,000 rows a step (what writer.c takes
 * between flushes), each step timed: how long one holds the writer. */
static void prune_steps(struct hist_store *st, const struct sim *s)
{
	char err[256];
	double ms[1024];
	int64_t n, total = 0;
	int steps = 0;

	if (s->seq < 2000000)
		return;
	do {
		uint64_t t = wall_now();
		n = hist_store_prune(st, sim_time(s, 1000000), 0, 20000, err, sizeof(err));
		if (n < 0) {
			fprintf(stderr, "bench_history: prune: %s\n", err);
			return;
		}
		ms[steps++] = (double)(wall_now() - t) / 1e6;
		total += n;
	} while (n == 20000 && steps < 1024);
	qsort(ms, (size_t)steps, sizeof(double), cmp_double);
	say("(e) retention: %lld rows (the first ~1M changes and their checkpoints) pruned by\n"
	    "    age in %d steps of at most 20,000 rows: a step takes median %.1f ms, max %.1f ms\n",
	    (long long)total, steps, ms[steps / 2], ms[steps - 1]);
}

/* What the history takes: the file, or PostgreSQL's changes and checkpoints. */
static long long store_size(const char *path)
{
	if (!pg_conninfo)
		return file_size(path);
	PGconn *c = PQconnectdb(pg_conninfo);
	PGresult *r = PQexec(c, "SELECT (SELECT sum(pg_total_relation_size(inhrelid)) FROM"
			     " pg_inherits WHERE inhparent = 'change_blocks'::regclass)"
			     " + pg_total_relation_size('checkpoints')");
	long long n = PQresultStatus(r) == PGRES_TUPLES_OK ? atoll(PQgetvalue(r, 0, 0)) : -1;
	PQclear(r);
	PQfinish(c);
	return n;
}

static void state_at(uint64_t max, uint32_t cp_minutes, uint32_t rate, int queries)
{
	static struct sim s;
	const char *path = file("state.db");
	char err[256];
	uint64_t cp_ns = (uint64_t)cp_minutes * 60 * SEC, next_cp = T0;
	const uint64_t lengths[] = {1000000, 3000000, 10000000};
	struct hist_location wl = {.backend = HIST_SQLITE, .target = path, .monitor = "bench"};
	struct hist_location rl = {.backend = HIST_SQLITE, .target = path, .read_only = true};

	if (pg_conninfo) {
		wl.backend = rl.backend = HIST_POSTGRES;
		wl.target = rl.target = pg_conninfo;
	}
	remove_db(path);
	sim_init(&s, rate);
	struct hist_store *st = hist_store_open(&wl, err, sizeof(err));
	if (!st) {
		fprintf(stderr, "bench_history: %s\n", err);
		exit(1);
	}
	say("(d) state at T: %d rows of state, %u changes per simulated second, a checkpoint\n"
	    "    every %u simulated minutes (%llu changes); %d queries at random T per length,\n"
	    "    then one just before a checkpoint (the most changes to replay)\n",
	    SLOTS, rate, cp_minutes, (unsigned long long)cp_minutes * 60 * rate, queries);
	say("  history   file MB  B/change   wall ms: median    p90    max  worst   cpu ms: median  worst   rows\n");
	for (size_t l = 0; l < sizeof(lengths) / sizeof(lengths[0]) && lengths[l] <= max; l++) {
		sim_grow(&s, st, lengths[l], cp_ns, &next_cp);
		struct hist_store *rd = hist_store_open(&rl, err, sizeof(err));
		double ms[64], cpu[64], worst, worst_cpu, c;
		size_t rows = 0;
		int q = queries < 64 ? queries : 64;
		for (int i = 0; i < q; i++) {
			uint64_t at = sim_time(&s, 1 + rnd(&s) % s.seq);
			ms[i] = query_ms(rd, at, &rows, &cpu[i]);
		}
		qsort(ms, (size_t)q, sizeof(double), cmp_double);
		qsort(cpu, (size_t)q, sizeof(double), cmp_double);
		/* the end of the history equals the simulation's own state */
		query_ms(rd, sim_time(&s, s.seq), &rows, &c);
		if (rows != sim_rows(&s))
			fprintf(stderr, "bench_history: %zu rows at the end, the simulation has %zu\n",
				rows, sim_rows(&s));
		worst = query_ms(rd, next_cp - cp_ns - 1, &rows, &worst_cpu);
		hist_store_close(rd);
		say("  %5lluM   %7.1f  %8.1f   %15.1f %6.1f %6.1f %6.1f   %14.1f %6.1f   %zu\n",
		    (unsigned long long)(lengths[l] / 1000000), (double)store_size(path) / 1e6,
		    (double)store_size(path) / (double)lengths[l],
		    ms[q / 2], ms[q * 9 / 10], ms[q - 1], worst, cpu[q / 2], worst_cpu, rows);
	}
	say("  (target < 200 ms, flat in the history's length; worst: T just before a\n"
	    "   checkpoint, a whole interval of changes to replay; B/change counts the\n"
	    "   checkpoints too, and these changes carry both a previous and a current value)\n");
	prune_steps(st, &s);
	hist_store_close(st);
}

int main(int argc, char **argv)
{
	size_t n = 1000000;
	int rounds = 5, queries = 20, opt;
	bool keep = false;
	uint64_t max = 10000000;
	uint32_t cp_minutes = 5, rate = 200;
	const char *outpath = NULL;

	snprintf(dir, sizeof(dir), "/tmp/bench_history.XXXXXX");
	while ((opt = getopt(argc, argv, "o:n:r:m:c:s:q:d:kp:")) != -1) {
		switch (opt) {
		case 'o': outpath = optarg; break;
		case 'n': n = strtoull(optarg, NULL, 10); break;
		case 'r': rounds = atoi(optarg); break;
		case 'm': max = strtoull(optarg, NULL, 10); break;
		case 'c': cp_minutes = (uint32_t)atoi(optarg); break;
		case 's': rate = (uint32_t)atoi(optarg); break;
		case 'q': queries = atoi(optarg); break;
		case 'd': snprintf(dir, sizeof(dir), "%s/bench_history.XXXXXX", optarg); break;
		case 'k': keep = true; break;
		case 'p': pg_conninfo = optarg; break;
		default:
			fprintf(stderr, "usage: bench_history [-o FILE] [-n ROWS] [-r ROUNDS] [-m MAX]"
					" [-c CP_MINUTES] [-s RATE] [-q QUERIES] [-d DIR] [-k]"
					" [-p CONNINFO]\n");
			return 2;
		}
	}
	if (!mkdtemp(dir) || (outpath && !(out = fopen(outpath, "w")))) {
		perror("bench_history");
		return 1;
	}
	if (rounds < 1)
		rounds = 1;
	if (pg_conninfo)
		say("bench_history: PostgreSQL (libpq %d), state at T and retention only\n",
		    PQlibVersion());
	else
		say("bench_history: SQLite %s, files in %s\n", sqlite3_libversion(), dir);
	loadavg("at start (a shared 2-core VM: other work moves wall times)");
	say("\n");
	if (!pg_conninfo)
		throughput(n, rounds);
	state_at(max, cp_minutes, rate, queries);
	loadavg("at end");
	if (!keep) {
		remove_db(file("raw.db"));
		remove_db(file("history.db"));
		remove_db(file("state.db"));
		rmdir(dir);
	}
	if (out)
		fclose(out);
	return 0;
}
