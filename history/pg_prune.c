/*
 * Retention in PostgreSQL: this monitor's rows only (each monitor prunes its
 * own), changes in whole checkpoint intervals (whole blocks: a block never
 * spans a checkpoint), short bounded statements.  What is counted and
 * bounded is records: a block counts its changes.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_int.h"

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

/* Bytes this monitor's rows take: for changes, each block's stored body
 * (pg_column_size: compressed, out of line, read from the TOAST pointer
 * without fetching it) plus its row, its TOAST chunk headers and its index
 * entry; for the other tables, live rows times their average footprint (a
 * sample's row size, with the table's share of index pages).  Not
 * pg_total_relation_size alone: PostgreSQL keeps a table's pages after a
 * DELETE and reuses them, so that figure never goes down by pruning. */
static int64_t used_bytes(struct pg *g, char *err, size_t errlen)
{
	char sql[1024];

	snprintf(sql, sizeof(sql),
		 "WITH t(rel, rows, width) AS ("
		 " SELECT 'alarms'::regclass, (SELECT count(*) FROM alarms WHERE monitor = %1$d),"
		 "  (SELECT avg(pg_column_size(s.*)) FROM (SELECT * FROM alarms LIMIT 1000) s)"
		 " UNION ALL SELECT 'configs'::regclass, (SELECT count(*) FROM configs WHERE monitor = %1$d),"
		 "  (SELECT avg(pg_column_size(s.*)) FROM (SELECT * FROM configs LIMIT 1000) s)"
		 " UNION ALL SELECT 'pair_windows'::regclass, (SELECT count(*) FROM pair_windows"
		 "  WHERE monitor = %1$d),"
		 "  (SELECT avg(pg_column_size(s.*)) FROM (SELECT * FROM pair_windows LIMIT 1000) s)"
		 " UNION ALL SELECT 'faults'::regclass, (SELECT count(*) FROM faults"
		 "  WHERE monitor = %1$d),"
		 "  (SELECT avg(pg_column_size(s.*)) FROM (SELECT * FROM faults LIMIT 1000) s))"
		 " SELECT (coalesce(sum(rows * (width + 28) * pg_total_relation_size(rel)"
		 "  / greatest(pg_relation_size(rel), 1)), 0)"
		 "  + (SELECT coalesce(sum(pg_column_size(body) * 1.03 + 120), 0) FROM change_blocks"
		 "  WHERE monitor = %1$d) + (SELECT coalesce(sum(pg_column_size(body)"
		 "  + 28), 0) FROM checkpoints WHERE monitor = %1$d))::bigint FROM t",
		 (int)g->id);
	return count_of(g, sql, 0, NULL, err, errlen);
}

/* Deletes this monitor's oldest blocks ending at or before cut_seq, as
 * many as hold at most `limit` changes: a block goes whole, so a bound
 * below its count (PG_BLOCK_CHANGES at most; the writer's is 20,000)
 * leaves it for a later call.  Returns the changes deleted, or -1. */
static int64_t prune_blocks(struct pg *g, const char *seq, int64_t limit, char *err,
			    size_t errlen)
{
	char id[16], lim[24];
	const char *v[3] = {id, seq, lim};

	snprintf(id, sizeof(id), "%" PRId32, g->id);
	snprintf(lim, sizeof(lim), "%" PRId64, limit);
	return count_of(g,
			"WITH d AS (DELETE FROM change_blocks WHERE monitor = $1 AND ctid = ANY(ARRAY("
			"SELECT ctid FROM (SELECT ctid, sum(n) OVER (ORDER BY first_seq) AS upto"
			" FROM change_blocks WHERE monitor = $1 AND last_seq <= $2) s"
			" WHERE upto <= $3)) RETURNING n) SELECT coalesce(sum(n), 0) FROM d",
			3, v, err, errlen);
}

/* Deletes up to `limit` records (a change counts one) before checkpoint
 * (cut_seq, cut_when) and, for the tables without seq, before `before`.
 * Returns the records deleted. */
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
		/* a fault still located keeps its row: a restart restores it */
		"DELETE FROM faults WHERE ctid = ANY(ARRAY(SELECT ctid FROM faults f"
		" WHERE monitor = $1 AND when_ns < $2 AND EXISTS (SELECT 1 FROM faults c"
		" WHERE c.monitor = f.monitor AND c.fault_id = f.fault_id AND c.located = 0)"
		" LIMIT $3))",
	};

	snprintf(id, sizeof(id), "%" PRId32, g->id);
	pg_u64_text(seq, sizeof(seq), cut_seq);
	pg_u64_text(cw, sizeof(cw), cut_when);
	pg_u64_text(bf, sizeof(bf), before);
	for (int step = 0; step < 6 && total < limit; step++) {
		snprintf(lim, sizeof(lim), "%" PRId64, limit - total);
		const char *sql;
		if (step == 0) {
			if (!cut_seq)
				continue;
			sql = NULL; /* prune_blocks */
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
		int64_t n = step == 0 ? prune_blocks(g, seq, limit - total, err, errlen)
				      : count_of(g, sql, 3, v, err, errlen);
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
	pg_u64_text(ts, sizeof(ts), t);
	PGresult *r =
		pg_query(g,
			 oldest ? "SELECT last_seq, when_ns FROM checkpoints WHERE"
				  " monitor = $1 ORDER BY when_ns OFFSET 1 LIMIT 1"
				: "SELECT last_seq, when_ns FROM checkpoints WHERE"
				  " monitor = $1 AND when_ns <= $2 ORDER BY when_ns DESC LIMIT 1",
			 oldest ? 1 : 2, v, err, errlen);
	if (!r)
		return -1;
	*found = PQntuples(r) == 1;
	*seq = *found ? pg_int(r, 0, 0) : 0;
	*when = *found ? pg_int(r, 0, 1) : 0;
	PQclear(r);
	return 0;
}

int64_t pg_prune(void *conn, uint64_t before_ns, uint64_t max_bytes, uint64_t max_rows, char *err,
		 size_t errlen)
{
	struct pg *g = conn;
	int64_t limit = max_rows && max_rows < INT64_MAX ? (int64_t)max_rows : INT64_MAX;
	int64_t total = 0, n;
	uint64_t seq, when;
	bool found;

	if (g->read_only) {
		hist_errf(err, errlen, "postgresql store: opened read-only");
		return -1;
	}
	if (pg_ensure(g, err, errlen))
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

