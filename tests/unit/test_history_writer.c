/* history/queue.c and writer.c on real SQLite files: every record put is
 * one row, none twice; a locked store makes batches wait and then all are
 * written; a full queue drops and counts; bad files fail the start with a
 * clear error; retention runs on the writer; a change put straight into its
 * slot is the row a change put as a record is. */
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../history/writer.h"
#include "unit.h"

#define SEC 1000000000ull

static char dir[64];

static const char *path(const char *name)
{
	static char buf[128];
	snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	unlink(buf);
	return buf;
}

static uint64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
}

static struct hist_record change(uint64_t seq, uint64_t when)
{
	struct hist_record r = {.type = HIST_CHANGE, .seq = seq, .when_ns = when};
	r.u.change.vpn_index = 1;
	r.u.change.kind = CHANGE_JOIN;
	inet_addr_v4(&r.u.change.pe, (const uint8_t[4]){198, 18, 0, (uint8_t)seq});
	inet_addr_v4(&r.u.change.c_group, (const uint8_t[4]){232, 1, (uint8_t)(seq >> 8), (uint8_t)seq});
	r.u.change.current.row = (struct change_row_value){.present = 1, .cg_kind = 2, .state = 1,
							   .holdtime = 210};
	return r;
}

static struct hist_record checkpoint(uint64_t last_seq, uint64_t when)
{
	struct hist_record r = {.type = HIST_CHECKPOINT, .when_ns = when};
	r.u.checkpoint = calloc(1, sizeof(struct hist_checkpoint));
	r.u.checkpoint->last_change_seq = last_seq;
	r.u.checkpoint->n_vpns = 1;
	r.u.checkpoint->vpns = calloc(1, sizeof(struct hist_vpn_row));
	r.u.checkpoint->vpns[0].index = 1;
	return r;
}

static struct hist_settings settings(const char *file)
{
	return (struct hist_settings){.loc = {.backend = HIST_SQLITE, .target = file,
					      .monitor = "east"},
				      .queue_cap = 100000, .flush_interval_ms = 20,
				      .batch_max = 1000};
}

static int64_t query(const char *file, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v = -1;

	if (sqlite3_open(file, &db) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* Waits (10 s at most) for cond over the writer's stats. */
#define WAIT_FOR(w, s, cond)                                                  \
	do {                                                                  \
		for (int i_ = 0; i_ < 1000; i_++) {                           \
			hist_writer_stats((w), &(s));                         \
			if (cond)                                             \
				break;                                        \
			usleep(10000);                                        \
		}                                                             \
		hist_writer_stats((w), &(s));                                 \
	} while (0)

TEST(records_in_rows_out_exactly)
{
	char err[256] = "";
	const char *file = path("exact.db");
	struct hist_settings set = settings(file);
	struct hist_writer *w = hist_writer_start(&set, err, sizeof(err));
	struct hist_stats s;
	uint64_t t = wall_ns();

	CHECK(w);
	for (uint64_t i = 1; i <= 25000; i++) {
		struct hist_record r = change(i, t + i);
		CHECK(hist_writer_put(w, &r));
		if (i % 5000 == 0) {
			r = checkpoint(i, t + i);
			CHECK(hist_writer_put(w, &r));
			CHECK(r.u.checkpoint == NULL); /* the queue owns it now */
		}
	}
	WAIT_FOR(w, s, s.persisted == 25005);
	CHECK_EQ_INT(s.persisted, 25005);
	CHECK_EQ_INT(s.queued, 0);
	CHECK_EQ_INT(s.dropped, 0);
	CHECK_EQ_INT(s.write_failures, 0);
	CHECK_EQ_INT(s.lag_ms, 0);
	CHECK(s.store_ok);
	CHECK(!s.losing);
	hist_writer_stop(w, 1000);
	CHECK_EQ_INT(query(file, "SELECT count(*) FROM changes"), 25000);
	CHECK_EQ_INT(query(file, "SELECT count(DISTINCT seq) FROM changes"), 25000);
	CHECK_EQ_INT(query(file, "SELECT sum(seq) FROM changes"), 25000ll * 25001 / 2);
	CHECK_EQ_INT(query(file, "SELECT count(*) FROM checkpoints"), 5);
}

TEST(stop_flushes_what_waits)
{
	char err[256] = "";
	const char *file = path("stop.db");
	struct hist_settings set = settings(file);

	set.flush_interval_ms = 60000; /* only the stop flushes */
	struct hist_writer *w = hist_writer_start(&set, err, sizeof(err));
	CHECK(w);
	for (uint64_t i = 1; i <= 500; i++) {
		struct hist_record r = change(i, wall_ns());
		CHECK(hist_writer_put(w, &r));
	}
	hist_writer_stop(w, 2000);
	CHECK_EQ_INT(query(file, "SELECT count(*) FROM changes"), 500);
}

/* Another process holds the database locked: every batch fails (and is
 * counted) within the busy timeout, nothing is lost, and once the lock goes
 * every record is written once. */
TEST(locked_database_waits_then_writes_all)
{
	char err[256] = "";
	const char *file = path("locked.db");
	struct hist_settings set = settings(file);
	struct hist_writer *w = hist_writer_start(&set, err, sizeof(err));
	struct hist_stats s;
	sqlite3 *other;

	CHECK(w);
	CHECK(sqlite3_open(file, &other) == SQLITE_OK);
	CHECK(sqlite3_exec(other, "BEGIN EXCLUSIVE", NULL, NULL, NULL) == SQLITE_OK);
	for (uint64_t i = 1; i <= 5000; i++) {
		struct hist_record r = change(i, wall_ns());
		CHECK(hist_writer_put(w, &r));
	}
	WAIT_FOR(w, s, s.write_failures >= 3);
	CHECK(s.write_failures >= 3);
	CHECK(!s.store_ok);
	CHECK_EQ_INT(s.persisted, 0);
	CHECK_EQ_INT(s.queued, 5000);
	CHECK(s.lag_ms > 0);
	CHECK(strstr(s.last_error, "locked"));
	CHECK(strstr(s.last_error, "locked.db"));
	CHECK(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(other);
	WAIT_FOR(w, s, s.persisted == 5000);
	CHECK_EQ_INT(s.persisted, 5000);
	CHECK(s.store_ok);
	CHECK_EQ_INT(s.dropped, 0);
	hist_writer_stop(w, 1000);
	CHECK_EQ_INT(query(file, "SELECT count(*) FROM changes"), 5000);
	CHECK_EQ_INT(query(file, "SELECT count(DISTINCT seq) FROM changes"), 5000);
}

TEST(full_queue_drops_and_counts)
{
	char err[256] = "";
	const char *file = path("full.db");
	struct hist_settings set = settings(file);
	struct hist_stats s;
	sqlite3 *other;

	set.queue_cap = 100;
	set.batch_max = 100;
	struct hist_writer *w = hist_writer_start(&set, err, sizeof(err));
	CHECK(w);
	CHECK(sqlite3_open(file, &other) == SQLITE_OK);
	CHECK(sqlite3_exec(other, "BEGIN EXCLUSIVE", NULL, NULL, NULL) == SQLITE_OK);
	int taken = 0;
	for (uint64_t i = 1; i <= 150; i++) {
		struct hist_record r = change(i, wall_ns());
		taken += hist_writer_put(w, &r);
	}
	struct hist_record cp = checkpoint(150, wall_ns());
	CHECK(!hist_writer_put(w, &cp)); /* refused, and freed */
	CHECK(cp.u.checkpoint == NULL);
	CHECK_EQ_INT(taken, 100);
	WAIT_FOR(w, s, s.losing);
	CHECK(s.losing);
	CHECK_EQ_INT(s.dropped, 51);
	CHECK_EQ_INT(s.queued, 100);
	sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(other);
	WAIT_FOR(w, s, !s.losing && s.persisted == 100);
	CHECK(!s.losing);
	CHECK_EQ_INT(s.persisted, 100);
	hist_writer_stop(w, 1000);
	CHECK_EQ_INT(query(file, "SELECT count(*) FROM changes"), 100);
	CHECK_EQ_INT(query(file, "SELECT max(seq) FROM changes"), 100);
}

/* The file deleted under a running writer (an operator's rm): the
 * connection cannot go on, so the writer opens the path again, which makes
 * a new store, and what waited is written there. */
TEST(deleted_file_is_opened_again)
{
	char err[256] = "", p[160];
	const char *file = path("moved.db");
	struct hist_settings set = settings(file);
	struct hist_stats s;
	struct hist_writer *w = hist_writer_start(&set, err, sizeof(err));

	CHECK(w);
	struct hist_record r = change(1, wall_ns());
	CHECK(hist_writer_put(w, &r));
	WAIT_FOR(w, s, s.persisted == 1);
	CHECK_EQ_INT(s.persisted, 1);
	unlink(file);
	snprintf(p, sizeof(p), "%s-wal", file);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", file);
	unlink(p);
	for (uint64_t i = 2; i <= 100; i++) {
		r = change(i, wall_ns());
		CHECK(hist_writer_put(w, &r));
	}
	WAIT_FOR(w, s, s.persisted == 100);
	CHECK_EQ_INT(s.persisted, 100);
	CHECK(s.write_failures >= 1);
	CHECK(strstr(s.last_error, "moved or deleted"));
	hist_writer_stop(w, 1000);
	CHECK_EQ_INT(query(file, "SELECT count(*) FROM changes"), 99);
	CHECK_EQ_INT(query(file, "SELECT min(seq) FROM changes"), 2);
}

TEST(corrupt_file_is_said_at_start_and_records_wait)
{
	char err[256] = "";
	const char *file = path("corrupt.db");
	struct hist_settings set = settings(file);
	struct hist_writer *w = hist_writer_start(&set, err, sizeof(err));

	CHECK(w);
	hist_writer_stop(w, 100);
	int fd = open(file, O_WRONLY);
	CHECK(fd >= 0);
	char junk[100];
	memset(junk, 0x5a, sizeof(junk));
	CHECK(pwrite(fd, junk, sizeof(junk), 0) == (ssize_t)sizeof(junk));
	close(fd);
	w = hist_writer_start(&set, err, sizeof(err));
	CHECK(w != NULL); /* monitoring goes on; its history waits */
	CHECK(strstr(err, "corrupt.db"));
	CHECK(strstr(err, "corrupt or is not a database"));
	struct hist_record r = {.type = HIST_CONFIG, .when_ns = 1};
	CHECK(hist_writer_put(w, &r));
	struct hist_stats s;
	hist_writer_stats(w, &s);
	CHECK(!s.store_ok && s.write_failures >= 1 && s.queued == 1);
	CHECK(strstr(s.last_error, "corrupt or is not a database"));
	hist_writer_stop(w, 100);
}

TEST(read_only_file_is_said_at_start)
{
	char err[256] = "";
	const char *file = path("ro.db");
	struct hist_settings set = settings(file);
	struct hist_writer *w = hist_writer_start(&set, err, sizeof(err));

	CHECK(w);
	hist_writer_stop(w, 100);
	CHECK(chmod(file, 0444) == 0);
	CHECK(chmod(dir, 0755) == 0);
	fflush(stdout); /* else the child may print the plan again */
	pid_t pid = fork(); /* as nobody: root may write anything */
	CHECK(pid >= 0);
	if (pid == 0) {
		if (getuid() == 0 && setuid(65534) != 0)
			_exit(2);
		w = hist_writer_start(&set, err, sizeof(err));
		struct hist_stats st;
		if (w)
			hist_writer_stats(w, &st);
		_exit(w && !st.store_ok && strstr(err, "read-only") ? 0 : 1);
	}
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(retention_runs_on_the_writer)
{
	char err[256] = "";
	const char *file = path("retain.db");
	struct hist_settings set = settings(file);
	struct hist_stats s;
	uint64_t now = wall_ns(), hour = 3600 * SEC;

	set.retain_ns = hour;
	set.prune_interval_ms = 50;
	struct hist_writer *w = hist_writer_start(&set, err, sizeof(err));
	CHECK(w);
	/* ten hours of history, a checkpoint each hour, 100 changes an hour */
	uint64_t seq = 0;
	for (int h = 10; h >= 0; h--) {
		uint64_t at = now - (uint64_t)h * hour;
		struct hist_record r = checkpoint(seq, at);
		CHECK(hist_writer_put(w, &r));
		for (int i = 1; i <= 100; i++) {
			r = change(++seq, at + (uint64_t)i * SEC);
			CHECK(hist_writer_put(w, &r));
		}
	}
	/* the checkpoint at now - 1 h stays, with all that follows it */
	WAIT_FOR(w, s, s.pruned >= 900 + 9);
	CHECK_EQ_INT(s.pruned, 900 + 9);
	hist_writer_stop(w, 1000);
	CHECK_EQ_INT(query(file, "SELECT count(*) FROM changes"), 200);
	CHECK_EQ_INT(query(file, "SELECT min(seq) FROM changes"), 901);
	CHECK_EQ_INT(query(file, "SELECT count(*) FROM checkpoints"), 2);
}

/* The same rows in two files differ in none, and both have n. */
static int64_t rows_differing(const char *a, const char *b, int64_t n)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v = -1;
	char sql[512];

	if (sqlite3_open(a, &db) != SQLITE_OK)
		return -1;
	snprintf(sql, sizeof(sql),
		 "ATTACH '%s' AS b; ", b);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db,
			       "SELECT (SELECT count(*) FROM (SELECT * FROM main.change_log EXCEPT"
			       " SELECT * FROM b.change_log)) + (SELECT count(*) FROM main.change_log)"
			       " + (SELECT count(*) FROM b.change_log)",
			       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0) - 2 * n;
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* hist_writer_put_change writes into a slot without clearing it: in a small
 * queue, between checkpoints and alarms that held the same slots before, its
 * changes are stored exactly as hist_writer_put stores the same changes. */
TEST(change_put_in_place_is_the_record_put)
{
	char err[256] = "";
	const char *files[2] = {strdup(path("as_record.db")), strdup(path("in_place.db"))};
	uint64_t t = wall_ns();

	for (int in_place = 0; in_place < 2; in_place++) {
		struct hist_settings set = settings(files[in_place]);
		set.queue_cap = 7; /* a prime: each change lands where other kinds were */
		struct hist_writer *w = hist_writer_start(&set, err, sizeof(err));
		struct hist_stats s;
		CHECK(w);
		for (uint64_t i = 1; i <= 300; i++) {
			struct hist_record r = change(i, t + i);
			inet_addr_v4(&r.u.change.c_source, (const uint8_t[4]){10, 0, 0, (uint8_t)i});
			r.u.change.when = (mtime_t)i;
			r.u.change.seq = i; /* the change's own, which the slot takes */
			while (!(in_place ? hist_writer_put_change(w, &r.u.change, t + i)
					  : hist_writer_put(w, &r)))
				usleep(1000);
			r = i % 3 ? (struct hist_record){.type = HIST_ALARM, .when_ns = t + i,
							 .u.alarm = {.index = (uint32_t)i, .kind = 1,
								     .raised = 1, .vpn_index = 1}}
				  : checkpoint(i, t + i);
			while (!hist_writer_put(w, &r)) {
				if (r.type == HIST_CHECKPOINT)
					r = checkpoint(i, t + i); /* a refused one was freed */
				usleep(1000);
			}
		}
		WAIT_FOR(w, s, s.queued == 0);
		hist_writer_stop(w, 1000);
		CHECK_EQ_INT(query(files[in_place], "SELECT count(*) FROM changes"), 300);
	}
	CHECK_EQ_INT(rows_differing(files[0], files[1], 300), 0);
	free((void *)files[0]);
	free((void *)files[1]);
}

int main(void)
{
	static const struct unit_test tests[] = {
		T(records_in_rows_out_exactly), T(stop_flushes_what_waits),
		T(locked_database_waits_then_writes_all), T(full_queue_drops_and_counts),
		T(deleted_file_is_opened_again),
		T(corrupt_file_is_said_at_start_and_records_wait), T(read_only_file_is_said_at_start),
		T(retention_runs_on_the_writer), T(change_put_in_place_is_the_record_put),
	};
	snprintf(dir, sizeof(dir), "/tmp/test_history_writer.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	int rc = unit_main("history_writer", tests, sizeof(tests) / sizeof(tests[0]));
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return rc;
}
