/*
 * Retention in the SQLite store.  Changes go in whole checkpoint intervals:
 * up to the last checkpoint at or before the age limit (that checkpoint
 * stays: it is what the state after it is rebuilt from), or, over the size
 * limit, up to the oldest checkpoint that has anything before it.  Side
 * tables (alarms, configuration loads, pair windows) go by their own time.
 * Every DELETE is its own short transaction of at most CHUNK rows, and one
 * call stops after max_rows, so pruning a year never holds the writer.
 * Freed pages go to SQLite's freelist and are reused by new rows: the size
 * measured is the pages in use, not the file's length.
 */
#include <stdlib.h>

#include "sqlite_int.h"

#define CHUNK 10000

struct budget {
	uint64_t left; /* rows this call may still delete; UINT64_MAX: no bound */
	int64_t done;
};

static uint64_t take(const struct budget *b)
{
	return b->left < CHUNK ? b->left : CHUNK;
}

static void spent(struct budget *b, int64_t n)
{
	b->done += n;
	if (b->left != UINT64_MAX)
		b->left -= (uint64_t)n < b->left ? (uint64_t)n : b->left;
}

static int run_delete(struct sq *q, const char *sql, int64_t a, int64_t b, int64_t c,
		      struct budget *bu, char *err, size_t errlen)
{
	sqlite3_stmt *st;

	if (sq_prepare(q, sql, &st, err, errlen) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, a);
	sqlite3_bind_int64(st, 2, b);
	sqlite3_bind_int64(st, 3, c);
	int rc = sq_step_done(q, st, "pruning", err, errlen);
	sqlite3_finalize(st);
	if (rc == 0)
		spent(bu, sqlite3_changes(q->db));
	return rc;
}

/* Deletes changes of `monitor` with seq <= last_seq, oldest first.  The
 * keys are dense, so a range of CHUNK keys is at most CHUNK rows. */
static int prune_changes(struct sq *q, int64_t monitor, uint64_t last_seq, struct budget *bu,
			 char *err, size_t errlen)
{
	int64_t base = sq_change_base(monitor), end = base + (int64_t)(last_seq & HIST_SEQ_MASK);
	sqlite3_stmt *st;

	while (bu->left) {
		if (sq_prepare(q, "SELECT min(id) FROM change_log WHERE id >= ? AND id <= ?", &st,
			       err, errlen) < 0)
			return -1;
		sqlite3_bind_int64(st, 1, base);
		sqlite3_bind_int64(st, 2, end);
		int rc = sqlite3_step(st);
		bool none = rc == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_NULL;
		int64_t lo = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
		sqlite3_finalize(st);
		if (rc != SQLITE_ROW)
			return sq_fail(q, rc, "pruning", err, errlen);
		if (none)
			return 0;
		int64_t hi = lo + (int64_t)take(bu) - 1;
		if (run_delete(q, "DELETE FROM change_log WHERE id >= ?1 AND id <= ?2 AND id <= ?3",
			       lo, hi < end ? hi : end, end, bu, err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* Side tables and older checkpoints, by time, in chunks. */
static int prune_by_time(struct sq *q, int64_t monitor, uint64_t before_ns, struct budget *bu,
			 char *err, size_t errlen)
{
	static const char *sql[] = {
		"DELETE FROM alarms WHERE rowid IN (SELECT rowid FROM alarms"
		" WHERE monitor = ?1 AND when_ns < ?2 LIMIT ?3)",
		"DELETE FROM configs WHERE rowid IN (SELECT rowid FROM configs"
		" WHERE monitor = ?1 AND when_ns < ?2 LIMIT ?3)",
		"DELETE FROM pair_windows WHERE rowid IN (SELECT rowid FROM pair_windows"
		" WHERE monitor = ?1 AND when_ns < ?2 LIMIT ?3)",
		/* a fault still located keeps its row: a restart restores it */
		"DELETE FROM faults WHERE rowid IN (SELECT rowid FROM faults f"
		" WHERE monitor = ?1 AND when_ns < ?2 AND EXISTS (SELECT 1 FROM faults c"
		" WHERE c.monitor = f.monitor AND c.fault_id = f.fault_id AND c.located = 0)"
		" LIMIT ?3)",
	};

	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		int64_t before;
		do {
			before = bu->done;
			if (bu->left && run_delete(q, sql[i], monitor, sq_i64(before_ns),
						   (int64_t)take(bu), bu, err, errlen) < 0)
				return -1;
		} while (bu->left && bu->done - before == (int64_t)CHUNK);
	}
	return 0;
}

/* The checkpoint to keep for an age limit: the last one at or before it. */
static int keep_point(struct sq *q, int64_t monitor, uint64_t before_ns, uint64_t *when,
		      uint64_t *seq, char *err, size_t errlen)
{
	sqlite3_stmt *st;

	if (sq_prepare(q, "SELECT when_ns, last_seq FROM checkpoints WHERE monitor = ?"
			  " AND when_ns <= ? ORDER BY when_ns DESC, last_seq DESC LIMIT 1",
		       &st, err, errlen) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, monitor);
	sqlite3_bind_int64(st, 2, sq_i64(before_ns));
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*when = (uint64_t)sqlite3_column_int64(st, 0);
		*seq = (uint64_t)sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? 1 : sq_fail(q, rc, "pruning", err, errlen);
}

/* Everything of `monitor` before its last checkpoint at or before
 * before_ns; with no such checkpoint, changes stay (nothing could rebuild
 * the state after them) and only the side tables are pruned. */
static int prune_monitor(struct sq *q, int64_t monitor, uint64_t before_ns, struct budget *bu,
			 char *err, size_t errlen)
{
	uint64_t when = 0, seq = 0;
	int rc = keep_point(q, monitor, before_ns, &when, &seq, err, errlen);

	if (rc < 0)
		return -1;
	if (rc == 0) {
		if (prune_changes(q, monitor, seq, bu, err, errlen) < 0)
			return -1;
		/* Older checkpoints go only once their changes have. */
		if (bu->left && run_delete(q, "DELETE FROM checkpoints WHERE monitor = ?1"
					      " AND when_ns < ?2 AND ?3 = ?3",
					   monitor, sq_i64(when), 0, bu, err, errlen) < 0)
			return -1;
	}
	return prune_by_time(q, monitor, before_ns, bu, err, errlen);
}

static int64_t pragma(struct sq *q, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	if (sqlite3_prepare_v2(q->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Bytes in pages that hold data: the file less its free pages. */
static uint64_t used_bytes(struct sq *q)
{
	int64_t pages = pragma(q, "PRAGMA page_count"), free_pages = pragma(q, "PRAGMA freelist_count");
	int64_t size = pragma(q, "PRAGMA page_size");

	if (pages < 0 || free_pages < 0 || size < 0)
		return 0;
	return (uint64_t)(pages - free_pages) * (uint64_t)size;
}

/* Over the size limit: the time before which to prune, the oldest
 * checkpoint with anything of the monitor before it.  0: nothing to give. */
static uint64_t size_cut(struct sq *q, int64_t monitor)
{
	sqlite3_stmt *st;
	uint64_t cut = 0;

	/* the oldest checkpoint if a change lies before it, else the second */
	if (sqlite3_prepare_v2(q->db,
			       "SELECT when_ns FROM checkpoints WHERE monitor = ?1 ORDER BY when_ns"
			       " LIMIT 1 OFFSET (SELECT CASE WHEN EXISTS (SELECT 1 FROM change_log"
			       " WHERE id >= ?2 AND id <= ?2 + (SELECT min(last_seq) FROM checkpoints"
			       " WHERE monitor = ?1)) THEN 0 ELSE 1 END)",
			       -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_int64(st, 1, monitor);
	sqlite3_bind_int64(st, 2, sq_change_base(monitor));
	if (sqlite3_step(st) == SQLITE_ROW)
		cut = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return cut;
}

int64_t sq_prune(void *conn, uint64_t before_ns, uint64_t max_bytes, uint64_t max_rows,
		 char *err, size_t errlen)
{
	struct sq *q = conn;
	struct budget bu = {.left = max_rows ? max_rows : UINT64_MAX};
	int64_t *ids;
	size_t n;

	if (q->read_only)
		return sq_say(q, err, errlen, "opened read-only");
	if (sq_monitor_ids(q, &ids, &n, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < n && bu.left && before_ns; i++)
		if (prune_monitor(q, ids[i], before_ns, &bu, err, errlen) < 0)
			goto fail;
	/* Then the oldest interval at a time, while the pages in use are over. */
	for (size_t i = 0; i < n && bu.left && max_bytes; i++) {
		uint64_t cut;
		while (bu.left && used_bytes(q) > max_bytes && (cut = size_cut(q, ids[i]))) {
			int64_t before = bu.done;
			if (prune_monitor(q, ids[i], cut, &bu, err, errlen) < 0)
				goto fail;
			if (bu.done == before)
				break;
		}
	}
	free(ids);
	return bu.done;
fail:
	free(ids);
	return -1;
}
