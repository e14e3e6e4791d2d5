/*
 * Reading the SQLite store: rows back into records, and the seeks that
 * keep a query by time off the history before it.  Changes are found by
 * key ((monitor, seq) is the rowid): the checkpoint before a time gives
 * the seq to start from, the first checkpoint after the end of a query the
 * seq to stop at, so a query costs what it returns plus at most one
 * checkpoint interval on each side.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encode.h"
#include "sqlite_int.h"

#define MONITOR_NAME_MAX 128

/* ---- monitors ---- */

int sq_monitor_id(struct sq *q, const char *name, int64_t *id, char *err, size_t errlen)
{
	bool any = !name || !*name;
	sqlite3_stmt *st;
	int rc, rows = 0;

	if (sq_prepare(q, any ? "SELECT id FROM monitors LIMIT 2"
			      : "SELECT id FROM monitors WHERE name = ?",
		       &st, err, errlen) < 0)
		return -1;
	if (!any)
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		rows++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return sq_fail(q, rc, "reading the monitors", err, errlen);
	if (rows == 1)
		return 0;
	if (any && rows)
		sq_say(q, err, errlen, "several monitors wrote here: name one");
	else if (any)
		sq_say(q, err, errlen, "no monitor has written here yet");
	else
		sq_say(q, err, errlen, "no monitor named \"%s\"", name);
	return 1;
}

int sq_monitor_ids(struct sq *q, int64_t **ids, size_t *n, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int rc;

	*ids = NULL;
	*n = 0;
	if (sq_prepare(q, "SELECT id FROM monitors ORDER BY name", &st, err, errlen) < 0)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t *p = realloc(*ids, (*n + 1) * sizeof(**ids));
		if (!p) {
			rc = SQLITE_NOMEM;
			break;
		}
		*ids = p;
		(*ids)[(*n)++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return 0;
	free(*ids);
	*ids = NULL;
	*n = 0;
	return sq_fail(q, rc, "reading the monitors", err, errlen);
}

void sq_monitor_name(struct sq *q, int64_t id, char *buf, size_t len)
{
	sqlite3_stmt *st;

	buf[0] = 0;
	if (sqlite3_prepare_v2(q->db, "SELECT name FROM monitors WHERE id = ?", -1, &st, NULL))
		return;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(buf, len, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

int sq_monitors(void *conn, char ***names, size_t *n, char *err, size_t errlen)
{
	struct sq *q = conn;
	sqlite3_stmt *st;
	int rc;

	*names = NULL;
	*n = 0;
	if (sq_prepare(q, "SELECT name FROM monitors ORDER BY name", &st, err, errlen) < 0)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		char **p = realloc(*names, (*n + 1) * sizeof(**names));
		if (!p || !(p[*n] = strdup(name ? name : ""))) {
			if (p)
				*names = p;
			rc = SQLITE_NOMEM;
			break;
		}
		*names = p;
		(*n)++;
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return 0;
	hist_store_names_free(*names, *n);
	*names = NULL;
	*n = 0;
	return sq_fail(q, rc, "reading the monitors", err, errlen);
}

/* ---- checkpoints as seek points ---- */

/* The last_seq of the checkpoint nearest `at` on one side: before (when_ns
 * < at, or <= at when inclusive) or after (when_ns > at).  0 found; 1 none. */
static int cp_seq(struct sq *q, int64_t monitor, uint64_t at, int side, uint64_t *seq,
		  char *err, size_t errlen)
{
	static const char *sql[] = {
		"SELECT last_seq FROM checkpoints WHERE monitor = ? AND when_ns < ?"
		" ORDER BY when_ns DESC, last_seq DESC LIMIT 1",
		"SELECT last_seq FROM checkpoints WHERE monitor = ? AND when_ns > ?"
		" ORDER BY when_ns, last_seq LIMIT 1",
	};
	sqlite3_stmt *st;

	if (sq_prepare(q, sql[side], &st, err, errlen) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, monitor);
	sqlite3_bind_int64(st, 2, sq_i64(at));
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*seq = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? 1 : sq_fail(q, rc, "reading the checkpoints", err, errlen);
}

/* ---- rows into records ---- */

static int col_addr(sqlite3_stmt *st, int col, struct inet_addr *a)
{
	const void *p = sqlite3_column_blob(st, col);
	return hist_addr_decode(p, p ? (size_t)sqlite3_column_bytes(st, col) : 0, a);
}

static int col_value(sqlite3_stmt *st, int col, uint8_t kind, union change_value *v)
{
	const void *p = sqlite3_column_blob(st, col);
	return hist_value_decode(kind, p, p ? (size_t)sqlite3_column_bytes(st, col) : 0, v);
}

/* id, when_ns, vpn, kind, pe, peer, c_source, c_group, p_group, prev, cur */
static int change_row(sqlite3_stmt *st, struct hist_record *r)
{
	struct change *c = &r->u.change;

	memset(r, 0, sizeof(*r));
	r->type = HIST_CHANGE;
	r->seq = (uint64_t)sqlite3_column_int64(st, 0) & HIST_SEQ_MASK;
	r->when_ns = (uint64_t)sqlite3_column_int64(st, 1);
	c->index = (uint32_t)r->seq;
	c->vpn_index = (uint32_t)sqlite3_column_int64(st, 2);
	c->kind = (uint8_t)sqlite3_column_int(st, 3);
	if (col_addr(st, 4, &c->pe) || col_addr(st, 5, &c->peer) ||
	    col_addr(st, 6, &c->c_source) || col_addr(st, 7, &c->c_group) ||
	    col_addr(st, 8, &c->p_group) || col_value(st, 9, c->kind, &c->previous) ||
	    col_value(st, 10, c->kind, &c->current))
		return -1;
	return 0;
}

/* monitor, when_ns, alarm_index, kind, raised, vpn, addr, peer, value, threshold */
static int alarm_row(sqlite3_stmt *st, struct hist_record *r)
{
	struct hist_alarm *a = &r->u.alarm;

	memset(r, 0, sizeof(*r));
	r->type = HIST_ALARM;
	r->when_ns = (uint64_t)sqlite3_column_int64(st, 1);
	a->index = (uint32_t)sqlite3_column_int64(st, 2);
	a->kind = (uint8_t)sqlite3_column_int(st, 3);
	a->raised = (uint8_t)sqlite3_column_int(st, 4);
	a->vpn_index = (uint32_t)sqlite3_column_int64(st, 5);
	a->value = (uint32_t)sqlite3_column_int64(st, 8);
	a->threshold = (uint32_t)sqlite3_column_int64(st, 9);
	return col_addr(st, 6, &a->addr) || col_addr(st, 7, &a->peer) ? -1 : 0;
}

/* monitor, when_ns, ok, vpns, added, removed, changed */
static int config_row(sqlite3_stmt *st, struct hist_record *r)
{
	struct hist_config *c = &r->u.config;

	memset(r, 0, sizeof(*r));
	r->type = HIST_CONFIG;
	r->when_ns = (uint64_t)sqlite3_column_int64(st, 1);
	c->ok = (uint8_t)sqlite3_column_int(st, 2);
	c->vpns = (uint32_t)sqlite3_column_int64(st, 3);
	c->added = (uint32_t)sqlite3_column_int64(st, 4);
	c->removed = (uint32_t)sqlite3_column_int64(st, 5);
	c->changed = (uint32_t)sqlite3_column_int64(st, 6);
	return 0;
}

/* monitor, when_ns, vpn, src, dst, sent, received, lost, delay_min_us,
 * delay_avg_us, delay_p99_us, jitter_us, status */
static int pair_row(sqlite3_stmt *st, struct hist_record *r)
{
	struct hist_pair_window *p = &r->u.pair;

	memset(r, 0, sizeof(*r));
	r->type = HIST_PAIR_WINDOW;
	r->when_ns = (uint64_t)sqlite3_column_int64(st, 1);
	p->vpn_index = (uint32_t)sqlite3_column_int64(st, 2);
	p->sent = (uint32_t)sqlite3_column_int64(st, 5);
	p->received = (uint32_t)sqlite3_column_int64(st, 6);
	p->lost = (uint32_t)sqlite3_column_int64(st, 7);
	p->delay_min_us = (uint32_t)sqlite3_column_int64(st, 8);
	p->delay_avg_us = (uint32_t)sqlite3_column_int64(st, 9);
	p->delay_p99_us = (uint32_t)sqlite3_column_int64(st, 10);
	p->jitter_us = (uint32_t)sqlite3_column_int64(st, 11);
	p->status = (uint8_t)sqlite3_column_int(st, 12);
	return col_addr(st, 3, &p->src) || col_addr(st, 4, &p->dst) ? -1 : 0;
}

/* monitor, when_ns, fault_id, located, vpn, metric, kind, flags, pe, peer,
 * loss_ppm, low_ppm, high_ppm, echo_loss_ppm, shift_us, pairs, since_ns */
static int fault_row(sqlite3_stmt *st, struct hist_record *r)
{
	struct hist_fault *f = &r->u.fault;

	memset(r, 0, sizeof(*r));
	r->type = HIST_FAULT;
	r->when_ns = (uint64_t)sqlite3_column_int64(st, 1);
	f->id = (uint32_t)sqlite3_column_int64(st, 2);
	f->located = (uint8_t)sqlite3_column_int(st, 3);
	f->vpn_index = (uint32_t)sqlite3_column_int64(st, 4);
	f->metric = (uint8_t)sqlite3_column_int(st, 5);
	f->kind = (uint8_t)sqlite3_column_int(st, 6);
	f->flags = (uint8_t)sqlite3_column_int(st, 7);
	f->loss_ppm = (uint32_t)sqlite3_column_int64(st, 10);
	f->low_ppm = (uint32_t)sqlite3_column_int64(st, 11);
	f->high_ppm = (uint32_t)sqlite3_column_int64(st, 12);
	f->echo_loss_ppm = (uint32_t)sqlite3_column_int64(st, 13);
	f->shift_us = sqlite3_column_int64(st, 14);
	f->pairs = (uint32_t)sqlite3_column_int64(st, 15);
	f->since_ns = (uint64_t)sqlite3_column_int64(st, 16);
	return col_addr(st, 8, &f->pe) || col_addr(st, 9, &f->peer) ? -1 : 0;
}

/* ---- the scans ---- */

struct scan {
	struct sq *q;
	const char *sql;
	int (*decode)(sqlite3_stmt *st, struct hist_record *r);
	hist_row_cb cb;
	void *arg;
	const char *monitor;
};

/* Steps st, handing each row to the callback; st is finalized. */
static int scan_rows(struct scan *s, sqlite3_stmt *st, char *err, size_t errlen)
{
	struct hist_row row = {.monitor = s->monitor};
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (s->decode(st, &row.rec) < 0) {
			sqlite3_finalize(st);
			return sq_say(s->q, err, errlen, "a row that does not decode (corrupt?)");
		}
		if (s->cb(s->arg, &row))
			break;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_fail(s->q, rc, "reading", err, errlen);
	return 0;
}

static void bind_pe_filter(sqlite3_stmt *st, int col, const struct inet_addr *pe)
{
	const uint8_t *b;
	size_t n = pe ? hist_addr_bytes(pe, &b) : 0;

	if (n)
		sqlite3_bind_blob(st, col, b, (int)n, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, col);
}

/* Filters as parameters, so one statement serves every query: ?5 vpn (0
 * any), ?6 kind (0 any), ?7 the PE (NULL any) as pe or peer. */
static const char CHANGES_SQL[] =
	"SELECT id, when_ns, vpn, kind, pe, peer, c_source, c_group, p_group, prev, cur"
	" FROM change_log WHERE id > ?1 AND id <= ?2 AND when_ns >= ?3 AND when_ns <= ?4"
	" AND (?5 = 0 OR vpn = ?5) AND (?6 = 0 OR kind = ?6)"
	" AND (?7 IS NULL OR pe = ?7 OR peer = ?7) ORDER BY id";

static int read_changes(struct scan *s, int64_t monitor, const struct hist_query *qu,
			char *err, size_t errlen)
{
	uint64_t from = 0, to = HIST_SEQ_MASK;
	sqlite3_stmt *st;

	/* the checkpoint strictly before `since` holds every change before it */
	if (qu->since_ns && cp_seq(s->q, monitor, qu->since_ns, 0, &from, err, errlen) < 0)
		return -1;
	if (qu->until_ns != UINT64_MAX &&
	    cp_seq(s->q, monitor, qu->until_ns, 1, &to, err, errlen) < 0)
		return -1;
	if (sq_prepare(s->q, CHANGES_SQL, &st, err, errlen) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, sq_change_base(monitor) + (int64_t)from);
	sqlite3_bind_int64(st, 2, sq_change_base(monitor) + (int64_t)(to & HIST_SEQ_MASK));
	sqlite3_bind_int64(st, 3, sq_i64(qu->since_ns));
	sqlite3_bind_int64(st, 4, sq_i64(qu->until_ns));
	sqlite3_bind_int64(st, 5, qu->vpn_index);
	sqlite3_bind_int(st, 6, qu->change_kind);
	bind_pe_filter(st, 7, qu->pe);
	return scan_rows(s, st, err, errlen);
}

static int read_others(struct scan *s, int64_t monitor, const struct hist_query *qu,
		       char *err, size_t errlen)
{
	sqlite3_stmt *st;

	if (sq_prepare(s->q, s->sql, &st, err, errlen) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, monitor);
	sqlite3_bind_int64(st, 2, sq_i64(qu->since_ns));
	sqlite3_bind_int64(st, 3, sq_i64(qu->until_ns));
	sqlite3_bind_int64(st, 4, qu->vpn_index);
	bind_pe_filter(st, 5, qu->pe);
	return scan_rows(s, st, err, errlen);
}

static const char ALARMS_SQL[] =
	"SELECT monitor, when_ns, alarm_index, kind, raised, vpn, addr, peer, value, threshold"
	" FROM alarms WHERE monitor = ?1 AND when_ns >= ?2 AND when_ns <= ?3"
	" AND (?4 = 0 OR vpn = ?4) AND (?5 IS NULL OR addr = ?5 OR peer = ?5)"
	" ORDER BY when_ns, alarm_index";
static const char CONFIGS_SQL[] =
	"SELECT monitor, when_ns, ok, vpns, added, removed, changed"
	" FROM configs WHERE monitor = ?1 AND when_ns >= ?2 AND when_ns <= ?3"
	" AND ?4 = ?4 AND ?5 IS ?5 ORDER BY when_ns, rowid";
static const char PAIRS_SQL[] =
	"SELECT monitor, when_ns, vpn, src, dst, sent, received, lost, delay_min_us,"
	" delay_avg_us, delay_p99_us, jitter_us, status"
	" FROM pair_windows WHERE monitor = ?1 AND when_ns >= ?2 AND when_ns <= ?3"
	" AND (?4 = 0 OR vpn = ?4) AND (?5 IS NULL OR src = ?5 OR dst = ?5)"
	" ORDER BY when_ns, vpn, src, dst"; /* as pg_read.c orders them: the same answer */

static const char FAULTS_SQL[] =
	"SELECT monitor, when_ns, fault_id, located, vpn, metric, kind, flags, pe, peer,"
	" loss_ppm, low_ppm, high_ppm, echo_loss_ppm, shift_us, pairs, since_ns"
	" FROM faults WHERE monitor = ?1 AND when_ns >= ?2 AND when_ns <= ?3"
	" AND (?4 = 0 OR vpn = ?4) AND (?5 IS NULL OR pe = ?5 OR peer = ?5)"
	" ORDER BY when_ns, fault_id, located DESC";

static int scan_for(struct scan *s, uint8_t type)
{
	switch (type) {
	case HIST_CHANGE:
		s->decode = change_row;
		return 0;
	case HIST_ALARM:
		s->sql = ALARMS_SQL;
		s->decode = alarm_row;
		return 0;
	case HIST_CONFIG:
		s->sql = CONFIGS_SQL;
		s->decode = config_row;
		return 0;
	case HIST_PAIR_WINDOW:
		s->sql = PAIRS_SQL;
		s->decode = pair_row;
		return 0;
	case HIST_FAULT:
		s->sql = FAULTS_SQL;
		s->decode = fault_row;
		return 0;
	}
	return -1;
}

int sq_read(void *conn, uint8_t type, const struct hist_query *qu, hist_row_cb cb, void *arg,
	    char *err, size_t errlen)
{
	struct sq *q = conn;
	struct scan s = {.q = q, .cb = cb, .arg = arg};
	char name[MONITOR_NAME_MAX];
	int64_t *ids = NULL, one;
	size_t n = 0;
	int rc = 0;

	if (scan_for(&s, type) < 0)
		return sq_say(q, err, errlen, "no records of type %u to read", type);
	if (qu->monitor && *qu->monitor) {
		if (sq_monitor_id(q, qu->monitor, &one, err, errlen) != 0)
			return -1;
		ids = &one;
		n = 1;
	} else if (sq_monitor_ids(q, &ids, &n, err, errlen) < 0) {
		return -1;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		sq_monitor_name(q, ids[i], name, sizeof(name));
		s.monitor = name;
		rc = type == HIST_CHANGE ? read_changes(&s, ids[i], qu, err, errlen)
					 : read_others(&s, ids[i], qu, err, errlen);
	}
	if (ids != &one)
		free(ids);
	return rc;
}

/* The one checkpoint row of the monitor that sql selects (the monitor's id
 * and at_ns bound first and second): 0 with *st on the row, for the caller
 * to finalize; 1 when there is none; -1 on an error. */
static int checkpoint_row(struct sq *q, const char *monitor, uint64_t at_ns, const char *sql,
			  sqlite3_stmt **st, char *err, size_t errlen)
{
	int64_t id;
	int rc;

	*st = NULL;
	if (sq_monitor_id(q, monitor, &id, err, errlen) != 0 || sq_prepare(q, sql, st, err, errlen) < 0)
		return -1;
	sqlite3_bind_int64(*st, 1, id);
	sqlite3_bind_int64(*st, 2, sq_i64(at_ns));
	if ((rc = sqlite3_step(*st)) == SQLITE_ROW)
		return 0;
	sqlite3_finalize(*st);
	*st = NULL;
	return rc == SQLITE_DONE ? 1 : sq_fail(q, rc, "reading the checkpoints", err, errlen);
}

int sq_checkpoint_at(void *conn, const char *monitor, uint64_t at_ns,
		     struct hist_checkpoint **out, uint64_t *when_ns, char *err, size_t errlen)
{
	struct sq *q = conn;
	sqlite3_stmt *st;
	int rc;

	*out = NULL;
	rc = checkpoint_row(q, monitor, at_ns,
			    "SELECT when_ns, last_seq, body FROM checkpoints WHERE monitor = ?"
			    " AND when_ns <= ? ORDER BY when_ns DESC, last_seq DESC LIMIT 1",
			    &st, err, errlen);
	if (rc != 0)
		return rc;
	*when_ns = (uint64_t)sqlite3_column_int64(st, 0);
	uint64_t last = (uint64_t)sqlite3_column_int64(st, 1);
	const void *body = sqlite3_column_blob(st, 2);
	size_t len = body ? (size_t)sqlite3_column_bytes(st, 2) : 0;
	rc = hist_checkpoint_decode(body, len, out);
	sqlite3_finalize(st);
	if (rc < 0 || (*out)->last_change_seq != last) {
		hist_checkpoint_free(*out);
		*out = NULL;
		return sq_say(q, err, errlen, "the checkpoint at %llu ns does not decode",
			      (unsigned long long)*when_ns);
	}
	return 0;
}

int sq_checkpoint_after(void *conn, const char *monitor, uint64_t at_ns, uint64_t *when_ns,
			char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int rc = checkpoint_row(conn, monitor, at_ns,
				"SELECT when_ns FROM checkpoints WHERE monitor = ? AND when_ns >= ?"
				" ORDER BY when_ns LIMIT 1",
				&st, err, errlen);

	if (rc == 0) {
		*when_ns = (uint64_t)sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	return rc;
}

int sq_changes_after(void *conn, const char *monitor, uint64_t after_seq, uint64_t until_ns,
		     hist_row_cb cb, void *arg, char *err, size_t errlen)
{
	struct sq *q = conn;
	struct hist_query qu = {.until_ns = UINT64_MAX};
	char name[MONITOR_NAME_MAX];
	uint64_t to = HIST_SEQ_MASK;
	int64_t id;
	sqlite3_stmt *st;

	if (sq_monitor_id(q, monitor, &id, err, errlen) != 0)
		return -1;
	if (until_ns != UINT64_MAX && cp_seq(q, id, until_ns, 1, &to, err, errlen) < 0)
		return -1;
	sq_monitor_name(q, id, name, sizeof(name));
	struct scan s = {.q = q, .decode = change_row, .cb = cb, .arg = arg, .monitor = name};
	if (sq_prepare(q, CHANGES_SQL, &st, err, errlen) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, sq_change_base(id) + (int64_t)(after_seq & HIST_SEQ_MASK));
	sqlite3_bind_int64(st, 2, sq_change_base(id) + (int64_t)(to & HIST_SEQ_MASK));
	sqlite3_bind_int64(st, 3, 0);
	sqlite3_bind_int64(st, 4, sq_i64(qu.until_ns));
	sqlite3_bind_int64(st, 5, 0);
	sqlite3_bind_int(st, 6, 0);
	sqlite3_bind_null(st, 7);
	return scan_rows(&s, st, err, errlen);
}
