/* history/sqlite*.c through store.h, on real files in a temporary
 * directory: what is written reads back exactly, queries by time seek from
 * checkpoints, the state at T is right at every T, retention keeps what it
 * must, and bad files fail with a message that says what is wrong. */
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../history/state.h"
#include "../../history/store.h"
#include "unit.h"

#define T0 1764547200000000000ull
#define SEC 1000000000ull
#define N_CHANGES 1000
#define CP_EVERY 100

static char dir[64];

static const char *path(const char *name)
{
	static char buf[128];
	snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	return buf;
}

static struct inet_addr ip(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	struct inet_addr x;
	inet_addr_v4(&x, (const uint8_t[4]){a, b, c, d});
	return x;
}

/* Change i (from 1): a join of group i % 250 by PE i / 250 in VPN 1 + i % 2,
 * at T0 + i seconds. */
static struct hist_record change(uint64_t i)
{
	struct hist_record r = {.type = HIST_CHANGE, .seq = i, .when_ns = T0 + i * SEC};
	r.u.change = (struct change){.index = (uint32_t)i, .vpn_index = 1 + (uint32_t)(i % 2),
				     .kind = CHANGE_JOIN, .pe = ip(198, 18, 0, (uint8_t)(i / 250)),
				     .c_source = ip(10, 0, 0, 1),
				     .c_group = ip(232, 1, 0, (uint8_t)(i % 250))};
	r.u.change.current.row = (struct change_row_value){.present = 1, .cg_kind = 2, .state = 1,
							   .holdtime = 210,
							   .upstream = ip(198, 18, 1, 1)};
	return r;
}

/* The checkpoint after change k, made the way state.c makes states. */
static struct hist_record checkpoint(uint64_t k)
{
	struct hist_state *st = hist_state_new(NULL, 0);
	for (uint64_t i = 1; i <= k; i++) {
		struct hist_record c = change(i);
		hist_state_apply(st, &c);
	}
	struct hist_record r = {.type = HIST_CHECKPOINT, .when_ns = T0 + k * SEC + SEC / 2};
	r.u.checkpoint = hist_state_finish(st);
	r.u.checkpoint->vpns = calloc(2, sizeof(struct hist_vpn_row));
	r.u.checkpoint->n_vpns = 2;
	r.u.checkpoint->vpns[0] = (struct hist_vpn_row){.index = 1, .name = "red"};
	r.u.checkpoint->vpns[1] = (struct hist_vpn_row){.index = 2, .name = "blue"};
	return r;
}

static struct hist_store *open_rw(const char *file, const char *monitor, char *err)
{
	struct hist_location loc = {.backend = HIST_SQLITE, .target = file, .monitor = monitor};
	return hist_store_open(&loc, err, 256);
}

/* The history every test starts from: 1,000 changes, a checkpoint every
 * 100 (the first at 0), an alarm, a configuration load, a pair window. */
static int fill(struct hist_store *s, char *err)
{
	struct hist_record *recs = calloc(N_CHANGES + N_CHANGES / CP_EVERY + 8, sizeof(*recs));
	size_t n = 0;

	recs[n++] = checkpoint(0);
	recs[n - 1].when_ns = T0;
	for (uint64_t i = 1; i <= N_CHANGES; i++) {
		recs[n++] = change(i);
		if (i % CP_EVERY == 0)
			recs[n++] = checkpoint(i);
	}
	recs[n++] = (struct hist_record){.type = HIST_ALARM, .when_ns = T0 + 5 * SEC,
					 .u.alarm = {.index = 770484153, .kind = 2, .raised = 1,
						     .vpn_index = 1, .addr = ip(198, 18, 0, 66),
						     .value = 7, .threshold = 5}};
	recs[n++] = (struct hist_record){.type = HIST_CONFIG, .when_ns = T0 + 6 * SEC,
					 .u.config = {.ok = 1, .vpns = 2, .added = 2}};
	recs[n++] = (struct hist_record){.type = HIST_PAIR_WINDOW, .when_ns = T0 + 7 * SEC,
					 .u.pair = {.vpn_index = 2, .src = ip(198, 18, 0, 1),
						    .dst = ip(198, 18, 0, 2), .sent = 100,
						    .received = 98, .lost = 2, .delay_min_us = 9000,
						    .delay_avg_us = 10013, .delay_p99_us = 12000,
						    .jitter_us = 150, .status = 3}};
	int rc = hist_store_write(s, recs, n, err, 256);
	for (size_t i = 0; i < n; i++)
		if (recs[i].type == HIST_CHECKPOINT)
			hist_checkpoint_free(recs[i].u.checkpoint);
	free(recs);
	return rc;
}

struct collect {
	size_t n;
	uint64_t first, last, sum;
	struct hist_record last_rec;
	char monitor[32];
};

static int collect(void *arg, const struct hist_row *row)
{
	struct collect *c = arg;
	if (!c->n)
		c->first = row->rec.seq;
	c->n++;
	c->last = row->rec.seq;
	c->sum += row->rec.seq;
	c->last_rec = row->rec;
	snprintf(c->monitor, sizeof(c->monitor), "%s", row->monitor);
	return 0;
}

static struct hist_store *fresh(const char *name, char *err)
{
	unlink(path(name));
	struct hist_store *s = open_rw(path(name), "east", err);
	if (s && fill(s, err) < 0) {
		hist_store_close(s);
		return NULL;
	}
	return s;
}

TEST(changes_read_back_exactly)
{
	char err[256] = "";
	struct hist_store *s = fresh("rw.db", err);
	struct hist_query q = {.until_ns = UINT64_MAX};
	struct collect c = {0};

	CHECK(s);
	CHECK_EQ_INT(hist_store_read(s, HIST_CHANGE, &q, collect, &c, err, sizeof(err)), 0);
	CHECK_EQ_INT(c.n, N_CHANGES);
	CHECK_EQ_INT(c.first, 1);
	CHECK_EQ_INT(c.last, N_CHANGES);
	CHECK_EQ_STR(c.monitor, "east");
	CHECK_EQ_INT(c.last_rec.u.change.kind, CHANGE_JOIN);
	CHECK_EQ_INT(c.last_rec.u.change.current.row.holdtime, 210);
	CHECK_EQ_INT(c.last_rec.u.change.previous.present, 0);
	CHECK(c.last_rec.when_ns == T0 + N_CHANGES * SEC);
	CHECK_EQ_INT(c.last_rec.u.change.pe.bytes[3], 4);
	/* the same batch again: skipped, never doubled */
	CHECK_EQ_INT(fill(s, err), 0);
	memset(&c, 0, sizeof(c));
	CHECK_EQ_INT(hist_store_read(s, HIST_CHANGE, &q, collect, &c, err, sizeof(err)), 0);
	CHECK_EQ_INT(c.n, N_CHANGES);
	hist_store_close(s);
}

TEST(changes_by_time_vpn_kind_and_pe)
{
	char err[256] = "";
	struct hist_store *s = fresh("query.db", err);
	struct hist_query q = {.since_ns = T0 + 250 * SEC, .until_ns = T0 + 260 * SEC};
	struct collect c = {0};
	struct inet_addr pe = ip(198, 18, 0, 1);

	CHECK(s);
	CHECK_EQ_INT(hist_store_read(s, HIST_CHANGE, &q, collect, &c, err, sizeof(err)), 0);
	CHECK_EQ_INT(c.n, 11); /* 250..260 inclusive */
	CHECK_EQ_INT(c.first, 250);
	CHECK_EQ_INT(c.last, 260);
	q.vpn_index = 2; /* odd seqs */
	memset(&c, 0, sizeof(c));
	CHECK_EQ_INT(hist_store_read(s, HIST_CHANGE, &q, collect, &c, err, sizeof(err)), 0);
	CHECK_EQ_INT(c.n, 5);
	CHECK_EQ_INT(c.first, 251);
	q = (struct hist_query){.until_ns = UINT64_MAX, .pe = &pe}; /* seqs 250..499 */
	memset(&c, 0, sizeof(c));
	CHECK_EQ_INT(hist_store_read(s, HIST_CHANGE, &q, collect, &c, err, sizeof(err)), 0);
	CHECK_EQ_INT(c.n, 250);
	CHECK_EQ_INT(c.first, 250);
	q.change_kind = CHANGE_PRUNE;
	memset(&c, 0, sizeof(c));
	CHECK_EQ_INT(hist_store_read(s, HIST_CHANGE, &q, collect, &c, err, sizeof(err)), 0);
	CHECK_EQ_INT(c.n, 0);
	hist_store_close(s);
}

static int keep_last(void *arg, const struct hist_row *row)
{
	*(struct hist_record *)arg = row->rec;
	return 0;
}

TEST(alarms_configs_pairs_read_back)
{
	char err[256] = "";
	struct hist_store *s = fresh("side.db", err);
	struct hist_query q = {.until_ns = UINT64_MAX};
	struct hist_record r = {0};

	CHECK(s);
	CHECK_EQ_INT(hist_store_read(s, HIST_ALARM, &q, keep_last, &r, err, sizeof(err)), 0);
	CHECK_EQ_INT(r.type, HIST_ALARM);
	CHECK_EQ_INT(r.u.alarm.index, 770484153);
	CHECK_EQ_INT(r.u.alarm.addr.bytes[3], 66);
	CHECK_EQ_INT(r.u.alarm.peer.type, INET_UNKNOWN);
	CHECK_EQ_INT(r.u.alarm.threshold, 5);
	CHECK_EQ_INT(hist_store_read(s, HIST_CONFIG, &q, keep_last, &r, err, sizeof(err)), 0);
	CHECK_EQ_INT(r.type, HIST_CONFIG);
	CHECK_EQ_INT(r.u.config.added, 2);
	CHECK_EQ_INT(hist_store_read(s, HIST_PAIR_WINDOW, &q, keep_last, &r, err, sizeof(err)), 0);
	CHECK_EQ_INT(r.type, HIST_PAIR_WINDOW);
	CHECK_EQ_INT(r.u.pair.delay_avg_us, 10013);
	CHECK_EQ_INT(r.u.pair.dst.bytes[3], 2);
	CHECK_EQ_INT(r.u.pair.status, 3);
	memset(&r, 0, sizeof(r));
	q.since_ns = T0 + 8 * SEC; /* after all three */
	CHECK_EQ_INT(hist_store_read(s, HIST_PAIR_WINDOW, &q, keep_last, &r, err, sizeof(err)), 0);
	CHECK_EQ_INT(r.type, 0);
	hist_store_close(s);
}

/* The state at T from the store equals the state built from nothing with
 * every change up to T, at every second and between. */
TEST(state_at_every_time)
{
	char err[256] = "";
	struct hist_store *s = fresh("state.db", err);
	struct hist_checkpoint *cp;

	CHECK(s);
	for (uint64_t k = 0; k <= N_CHANGES; k += 37) {
		CHECK_EQ_INT(hist_store_state_at(s, "east", T0 + k * SEC + SEC / 4, 0, &cp, err,
						 sizeof(err)), 0);
		struct hist_record want = checkpoint(k);
		CHECK_EQ_INT(cp->n_cgpes, want.u.checkpoint->n_cgpes);
		CHECK_EQ_INT(cp->last_change_seq, k);
		for (size_t i = 0; i < cp->n_cgpes; i++)
			CHECK(inet_addr_eq(&cp->cgpes[i].c_group, &want.u.checkpoint->cgpes[i].c_group) &&
			      inet_addr_eq(&cp->cgpes[i].pe, &want.u.checkpoint->cgpes[i].pe));
		CHECK_EQ_INT(cp->n_vpns, 2);
		hist_checkpoint_free(want.u.checkpoint);
		hist_checkpoint_free(cp);
	}
	/* VPN 2 alone, at the end: the odd changes */
	CHECK_EQ_INT(hist_store_state_at(s, NULL, UINT64_MAX - 1, 2, &cp, err, sizeof(err)), 0);
	CHECK_EQ_INT(cp->n_vpns, 1);
	CHECK_EQ_INT(cp->n_cgpes, 500);
	hist_checkpoint_free(cp);
	/* before anything */
	CHECK_EQ_INT(hist_store_state_at(s, "east", T0 - 1, 0, &cp, err, sizeof(err)), 1);
	CHECK(cp == NULL);
	CHECK_EQ_INT(hist_store_state_at(s, "west", T0, 0, &cp, err, sizeof(err)), -1);
	CHECK(strstr(err, "no monitor named \"west\""));
	hist_store_close(s);
}

/* The first checkpoint at or after a time: the checkpoints are at T0 and
 * every CP_EVERY changes, half a second after the change. */
TEST(next_checkpoint_at_or_after)
{
	char err[256] = "";
	struct hist_store *s = fresh("next.db", err);
	uint64_t when = 0;

	CHECK(s);
	CHECK_EQ_INT(hist_store_next_checkpoint(s, "east", 0, &when, err, sizeof(err)), 0);
	CHECK(when == T0);
	CHECK_EQ_INT(hist_store_next_checkpoint(s, NULL, T0 + 1, &when, err, sizeof(err)), 0);
	CHECK(when == T0 + CP_EVERY * SEC + SEC / 2);
	CHECK_EQ_INT(hist_store_next_checkpoint(s, "east", when, &when, err, sizeof(err)), 0);
	CHECK(when == T0 + CP_EVERY * SEC + SEC / 2); /* at: that one */
	CHECK_EQ_INT(hist_store_next_checkpoint(s, "east", T0 + N_CHANGES * SEC + SEC, &when, err,
					       sizeof(err)), 1);
	CHECK_EQ_INT(hist_store_next_checkpoint(s, "west", T0, &when, err, sizeof(err)), -1);
	CHECK(strstr(err, "no monitor named \"west\""));
	hist_store_close(s);
}

TEST(read_only_client_and_monitors)
{
	char err[256] = "";
	struct hist_store *s = fresh("multi.db", err);
	CHECK(s);
	hist_store_close(s);
	s = open_rw(path("multi.db"), "west", err); /* a second monitor, same file */
	CHECK(s);
	struct hist_record r = change(1);
	CHECK_EQ_INT(hist_store_write(s, &r, 1, err, sizeof(err)), 0);
	hist_store_close(s);

	struct hist_location loc = {.backend = HIST_SQLITE, .target = path("multi.db"),
				    .read_only = true};
	s = hist_store_open(&loc, err, sizeof(err));
	CHECK(s);
	char **names;
	size_t n;
	CHECK_EQ_INT(hist_store_monitors(s, &names, &n, err, sizeof(err)), 0);
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_STR(names[0], "east");
	CHECK_EQ_STR(names[1], "west");
	hist_store_names_free(names, n);
	struct hist_query q = {.until_ns = UINT64_MAX};
	struct collect c = {0};
	CHECK_EQ_INT(hist_store_read(s, HIST_CHANGE, &q, collect, &c, err, sizeof(err)), 0);
	CHECK_EQ_INT(c.n, N_CHANGES + 1);
	CHECK_EQ_STR(c.monitor, "west"); /* east's, then west's */
	struct hist_checkpoint *cp;
	CHECK_EQ_INT(hist_store_state_at(s, NULL, T0, 0, &cp, err, sizeof(err)), -1);
	CHECK(strstr(err, "several monitors"));
	CHECK_EQ_INT(hist_store_write(s, &r, 1, err, sizeof(err)), -1);
	hist_store_close(s);
}

static int64_t count(const char *file, const char *sql)
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

static struct hist_record fault(uint64_t when, uint32_t id, uint8_t located)
{
	struct hist_record r = {.type = HIST_FAULT, .when_ns = when};
	r.u.fault = (struct hist_fault){.id = id, .located = located, .vpn_index = 2, .metric = 2,
					.kind = 3, .flags = 3, .pe = ip(198, 18, 0, 1),
					.peer = ip(198, 18, 0, 4), .loss_ppm = 80000,
					.low_ppm = 61000, .high_ppm = 99000,
					.echo_loss_ppm = 1234, .shift_us = -30000, .pairs = 1,
					.since_ns = T0 + 3 * SEC};
	return r;
}

/* Every field of a fault record reads back; the located one of a fault
 * still located (no cleared record) outlives retention, the two records of
 * a cleared one go by their time; and a store made before the faults table
 * existed gets it at its next open. */
TEST(faults_read_back_and_a_located_one_outlives_retention)
{
	char err[256] = "";
	struct hist_store *s = fresh("faults.db", err);
	struct hist_query q = {.until_ns = UINT64_MAX};
	struct hist_record r = {0};
	sqlite3 *db;

	CHECK(s);
	hist_store_close(s);
	CHECK(sqlite3_open(path("faults.db"), &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "DROP TABLE faults", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	CHECK((s = open_rw(path("faults.db"), "east", err)) != NULL);
	struct hist_record recs[] = {fault(T0 + 4 * SEC, 7, 1), fault(T0 + 9 * SEC, 7, 0),
				     fault(T0 + 5 * SEC, 8, 1)};
	CHECK_EQ_INT(hist_store_write(s, recs, 3, err, sizeof(err)), 0);
	CHECK_EQ_INT(hist_store_read(s, HIST_FAULT, &q, keep_last, &r, err, sizeof(err)), 0);
	CHECK_EQ_INT(r.type, HIST_FAULT);
	CHECK_EQ_INT(r.when_ns, T0 + 9 * SEC); /* in time order: the clear last */
	CHECK_EQ_INT(r.u.fault.id, 7);
	CHECK_EQ_INT(r.u.fault.located, 0);
	CHECK_EQ_INT(r.u.fault.vpn_index, 2);
	CHECK_EQ_INT(r.u.fault.metric, 2);
	CHECK_EQ_INT(r.u.fault.kind, 3);
	CHECK_EQ_INT(r.u.fault.flags, 3);
	CHECK(inet_addr_eq(&r.u.fault.pe, &recs[0].u.fault.pe));
	CHECK(inet_addr_eq(&r.u.fault.peer, &recs[0].u.fault.peer));
	CHECK_EQ_INT(r.u.fault.loss_ppm, 80000);
	CHECK_EQ_INT(r.u.fault.low_ppm, 61000);
	CHECK_EQ_INT(r.u.fault.high_ppm, 99000);
	CHECK_EQ_INT(r.u.fault.echo_loss_ppm, 1234);
	CHECK_EQ_INT(r.u.fault.shift_us, -30000);
	CHECK_EQ_INT(r.u.fault.pairs, 1);
	CHECK_EQ_INT(r.u.fault.since_ns, T0 + 3 * SEC);
	/* a VPN filter, and the PE filter on pe or peer */
	struct inet_addr other = ip(198, 18, 0, 9);
	q.vpn_index = 1;
	memset(&r, 0, sizeof(r));
	CHECK_EQ_INT(hist_store_read(s, HIST_FAULT, &q, keep_last, &r, err, sizeof(err)), 0);
	CHECK_EQ_INT(r.type, 0);
	q.vpn_index = 0;
	q.pe = &other;
	CHECK_EQ_INT(hist_store_read(s, HIST_FAULT, &q, keep_last, &r, err, sizeof(err)), 0);
	CHECK_EQ_INT(r.type, 0);
	q.pe = &recs[0].u.fault.peer;
	CHECK_EQ_INT(hist_store_read(s, HIST_FAULT, &q, keep_last, &r, err, sizeof(err)), 0);
	CHECK_EQ_INT(r.type, HIST_FAULT);
	while (hist_store_prune(s, T0 + 600 * SEC, 0, 0, err, sizeof(err)) > 0)
		;
	CHECK_EQ_INT(count(path("faults.db"), "SELECT count(*) FROM faults"), 1);
	CHECK_EQ_INT(count(path("faults.db"), "SELECT fault_id FROM faults WHERE located = 1"), 8);
	hist_store_close(s);
}

TEST(prune_by_age_keeps_the_checkpoint_before)
{
	char err[256] = "";
	struct hist_store *s = fresh("prune.db", err);
	struct hist_checkpoint *cp;

	CHECK(s);
	/* bounded steps: 100 rows a call */
	CHECK_EQ_INT(hist_store_prune(s, T0 + 550 * SEC, 0, 100, err, sizeof(err)), 100);
	int64_t total = 100, got;
	while ((got = hist_store_prune(s, T0 + 550 * SEC, 0, 100, err, sizeof(err))) > 0)
		total += got;
	CHECK_EQ_INT(got, 0);
	/* changes 1..500, checkpoints at 0..400, the alarm, the config and the
	 * pair window (all before 550 s) */
	CHECK_EQ_INT(total, 500 + 5 + 3);
	CHECK_EQ_INT(count(path("prune.db"), "SELECT min(seq) FROM changes"), 501);
	CHECK_EQ_INT(count(path("prune.db"), "SELECT count(*) FROM checkpoints"), 6);
	/* what is kept still rebuilds */
	CHECK_EQ_INT(hist_store_state_at(s, "east", T0 + 550 * SEC, 0, &cp, err, sizeof(err)), 0);
	CHECK_EQ_INT(cp->last_change_seq, 550);
	CHECK_EQ_INT(cp->n_cgpes, 550); /* every change made a row of its own */
	hist_checkpoint_free(cp);
	hist_store_close(s);
}

TEST(prune_by_size_takes_the_oldest_intervals)
{
	char err[256] = "";
	struct hist_store *s = fresh("size.db", err);
	CHECK(s);
	int64_t pages = count(path("size.db"), "PRAGMA page_count");
	int64_t page = count(path("size.db"), "PRAGMA page_size");
	uint64_t limit = (uint64_t)(pages * page) / 2;
	int64_t got = hist_store_prune(s, 0, limit, 0, err, sizeof(err));
	CHECK(got > 0);
	int64_t used = count(path("size.db"), "PRAGMA page_count") -
		       count(path("size.db"), "PRAGMA freelist_count");
	CHECK((uint64_t)(used * page) <= limit);
	/* whole intervals: the oldest change kept follows a kept checkpoint */
	int64_t first = count(path("size.db"), "SELECT min(seq) FROM changes");
	CHECK_EQ_INT(count(path("size.db"), "SELECT min(last_seq) FROM checkpoints"), first - 1);
	hist_store_close(s);
}

/* ---- files that are not what they should be ---- */

TEST(corrupt_file_refused_clearly)
{
	char err[256] = "";
	struct hist_store *s = fresh("corrupt.db", err);
	CHECK(s);
	hist_store_close(s);
	int fd = open(path("corrupt.db"), O_WRONLY);
	CHECK(fd >= 0);
	CHECK(pwrite(fd, "this is not sqlite, no, not at all", 34, 0) == 34);
	close(fd);
	s = open_rw(path("corrupt.db"), "east", err);
	CHECK(s == NULL);
	CHECK(strstr(err, "corrupt.db"));
	CHECK(strstr(err, "corrupt or is not a database"));
}

TEST(foreign_and_newer_files_refused)
{
	char err[256] = "";
	sqlite3 *db;
	unlink(path("foreign.db"));
	CHECK(sqlite3_open(path("foreign.db"), &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	CHECK(open_rw(path("foreign.db"), "east", err) == NULL);
	CHECK(strstr(err, "not a history store"));

	struct hist_store *s = fresh("newer.db", err);
	CHECK(s);
	hist_store_close(s);
	CHECK(sqlite3_open(path("newer.db"), &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "UPDATE meta SET value = '99' WHERE key = 'schema_version'", NULL,
			   NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	CHECK(open_rw(path("newer.db"), "east", err) == NULL);
	CHECK(strstr(err, "schema version 99 is newer"));
}

/* Read-only as the daemon's user sees it: root writes anything, so the
 * check runs in a child that has become nobody. */
TEST(read_only_file_refused_clearly)
{
	char err[256] = "";
	struct hist_store *s = fresh("ro.db", err);
	CHECK(s);
	hist_store_close(s);
	CHECK(chmod(path("ro.db"), 0444) == 0);
	CHECK(chmod(dir, 0755) == 0);
	fflush(stdout); /* else the child may print the plan again */
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		if (getuid() == 0 && setuid(65534) != 0)
			_exit(2);
		s = open_rw(path("ro.db"), "east", err);
		_exit(!s && strstr(err, "read-only") ? 0 : 1);
	}
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	CHECK_EQ_INT(WEXITSTATUS(status), 0);
}

static void cleanup(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

int main(void)
{
	static const struct unit_test tests[] = {
		T(changes_read_back_exactly), T(changes_by_time_vpn_kind_and_pe),
		T(alarms_configs_pairs_read_back), T(state_at_every_time), T(next_checkpoint_at_or_after),
		T(read_only_client_and_monitors), T(prune_by_age_keeps_the_checkpoint_before),
		T(prune_by_size_takes_the_oldest_intervals), T(corrupt_file_refused_clearly),
		T(foreign_and_newer_files_refused), T(read_only_file_refused_clearly),
		T(faults_read_back_and_a_located_one_outlives_retention),
	};
	snprintf(dir, sizeof(dir), "/tmp/test_history_sqlite.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	int rc = unit_main("history_sqlite", tests, sizeof(tests) / sizeof(tests[0]));
	cleanup();
	return rc;
}
