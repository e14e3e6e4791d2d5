/*
 * Reading from PostgreSQL: through binary cursors, a monitor at a time in
 * name order, changes by seq between the checkpoints around the times asked.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encode.h"
#include "pg_int.h"

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
	PGresult *r = pg_query(g,
			       one ? "SELECT id, name FROM monitors WHERE name = $1"
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
		const uint8_t *p = pg_bytes(r, (int)i, 1, &len);
		m->ids[i] = (int32_t)pg_int(r, (int)i, 0);
		if (!(m->names[i] = strndup(p ? (const char *)p : "", len)))
			goto oom;
		m->n = i + 1;
	}
	PQclear(r);
	return 0;
oom:
	PQclear(r);
	monitors_free(m);
	hist_errf(err, errlen, "postgresql store: out of memory");
	return -1;
}

typedef int (*decode_fn)(const PGresult *r, int row, struct hist_record *rec);

static int decode_alarm(const PGresult *r, int row, struct hist_record *rec)
{
	struct hist_alarm *a = &rec->u.alarm;

	memset(rec, 0, sizeof(*rec));
	rec->type = HIST_ALARM;
	rec->when_ns = pg_int(r, row, 0);
	a->index = (uint32_t)pg_int(r, row, 1);
	a->kind = (uint8_t)pg_int(r, row, 2);
	a->raised = (uint8_t)pg_int(r, row, 3);
	a->vpn_index = (uint32_t)pg_int(r, row, 4);
	a->value = (uint32_t)pg_int(r, row, 7);
	a->threshold = (uint32_t)pg_int(r, row, 8);
	return pg_addr(r, row, 5, &a->addr) || pg_addr(r, row, 6, &a->peer) ? -1 : 0;
}

static int decode_config(const PGresult *r, int row, struct hist_record *rec)
{
	memset(rec, 0, sizeof(*rec));
	rec->type = HIST_CONFIG;
	rec->when_ns = pg_int(r, row, 0);
	rec->u.config.ok = (uint8_t)pg_int(r, row, 1);
	rec->u.config.vpns = (uint32_t)pg_int(r, row, 2);
	rec->u.config.added = (uint32_t)pg_int(r, row, 3);
	rec->u.config.removed = (uint32_t)pg_int(r, row, 4);
	rec->u.config.changed = (uint32_t)pg_int(r, row, 5);
	return 0;
}

static int decode_pair(const PGresult *r, int row, struct hist_record *rec)
{
	struct hist_pair_window *p = &rec->u.pair;

	memset(rec, 0, sizeof(*rec));
	rec->type = HIST_PAIR_WINDOW;
	rec->when_ns = pg_int(r, row, 0);
	p->vpn_index = (uint32_t)pg_int(r, row, 1);
	p->sent = (uint32_t)pg_int(r, row, 4);
	p->received = (uint32_t)pg_int(r, row, 5);
	p->lost = (uint32_t)pg_int(r, row, 6);
	p->delay_min_us = (uint32_t)pg_int(r, row, 7);
	p->delay_avg_us = (uint32_t)pg_int(r, row, 8);
	p->delay_p99_us = (uint32_t)pg_int(r, row, 9);
	p->jitter_us = (uint32_t)pg_int(r, row, 10);
	p->status = (uint8_t)pg_int(r, row, 11);
	return pg_addr(r, row, 2, &p->src) || pg_addr(r, row, 3, &p->dst) ? -1 : 0;
}

static int decode_fault(const PGresult *r, int row, struct hist_record *rec)
{
	struct hist_fault *f = &rec->u.fault;

	memset(rec, 0, sizeof(*rec));
	rec->type = HIST_FAULT;
	rec->when_ns = pg_int(r, row, 0);
	f->id = (uint32_t)pg_int(r, row, 1);
	f->located = (uint8_t)pg_int(r, row, 2);
	f->vpn_index = (uint32_t)pg_int(r, row, 3);
	f->metric = (uint8_t)pg_int(r, row, 4);
	f->kind = (uint8_t)pg_int(r, row, 5);
	f->flags = (uint8_t)pg_int(r, row, 6);
	f->loss_ppm = (uint32_t)pg_int(r, row, 9);
	f->low_ppm = (uint32_t)pg_int(r, row, 10);
	f->high_ppm = (uint32_t)pg_int(r, row, 11);
	f->echo_loss_ppm = (uint32_t)pg_int(r, row, 12);
	f->shift_us = (int64_t)pg_int(r, row, 13);
	f->pairs = (uint32_t)pg_int(r, row, 14);
	f->since_ns = pg_int(r, row, 15);
	return pg_addr(r, row, 7, &f->pe) || pg_addr(r, row, 8, &f->peer) ? -1 : 0;
}

/* What a cursor does with each row it fetches: 0 on, 1 stop, -1 a row that
 * does not decode. */
typedef int (*row_fn)(void *ctx, const PGresult *r, int row);

/* Runs a SELECT through a binary cursor, `fetch` rows at a time, so a long
 * history never sits in memory whole.  each() returning 1 stops (0). */
static int cursor_read(struct pg *g, const char *select, int n, const char *const *vals,
		       int fetch, row_fn each, void *ctx, char *err, size_t errlen)
{
	size_t len = strlen(select) + 64;
	char *sql = malloc(len);
	int rc = -1, stop = 0;
	PGresult *r;

	if (!sql) {
		hist_errf(err, errlen, "postgresql store: out of memory");
		return -1;
	}
	snprintf(sql, len, "DECLARE hist_rows BINARY NO SCROLL CURSOR FOR %s", select);
	if (pg_run(g, "BEGIN READ ONLY", err, errlen))
		goto out;
	if (!(r = pg_query(g, sql, n, vals, err, errlen)))
		goto out;
	PQclear(r);
	for (;;) {
		char cmd[64];
		snprintf(cmd, sizeof(cmd), "FETCH FORWARD %d FROM hist_rows", fetch);
		if (!(r = pg_query(g, cmd, 0, NULL, err, errlen)))
			goto out;
		int rows = PQntuples(r);
		for (int i = 0; i < rows && !stop; i++)
			if ((stop = each(ctx, r, i)) < 0) {
				pg_say(g, err, errlen, "reading", "a row the encoding cannot decode");
				PQclear(r);
				goto out;
			}
		PQclear(r);
		if (stop || rows < fetch)
			break;
	}
	rc = pg_run(g, "COMMIT", err, errlen);
out:
	if (rc)
		pg_rollback(g);
	free(sql);
	return rc;
}

/* Rows of alarms, configs, pair windows: a record each. */
struct plain_read {
	decode_fn decode;
	struct hist_row row;
	hist_row_cb cb;
	void *arg;
};

static int plain_row(void *ctx, const PGresult *r, int row)
{
	struct plain_read *p = ctx;

	if (p->decode(r, row, &p->row.rec))
		return -1;
	return p->cb(p->arg, &p->row) ? 1 : 0;
}

/* Change blocks (seq order) decoded and filtered: seq in (from, to] (to 0:
 * no end), and what the query asks (q NULL: nothing more). */
struct block_read {
	uint64_t from, to;
	const struct hist_query *q;
	struct hist_row row;
	hist_row_cb cb;
	void *arg;
};

#define BLOCK_COLS "first_seq, last_seq, n, t_min, t_max, body"

static bool change_matches(const struct block_read *b, const struct hist_record *rec)
{
	const struct hist_query *q = b->q;
	const struct change *c = &rec->u.change;

	if (rec->seq <= b->from || (b->to && rec->seq > b->to))
		return false;
	if (!q)
		return true;
	if (rec->when_ns < q->since_ns || rec->when_ns > q->until_ns ||
	    (q->change_kind && c->kind != q->change_kind) ||
	    (q->vpn_index && c->vpn_index != q->vpn_index))
		return false;
	/* As the column comparison it replaces: no address equals nothing. */
	return !q->pe || (inet_addr_len(q->pe) &&
			  (inet_addr_eq(&c->pe, q->pe) || inet_addr_eq(&c->peer, q->pe)));
}

static int block_row(void *ctx, const PGresult *r, int row)
{
	struct block_read *b = ctx;
	struct hist_block_rd rd;
	size_t len;
	const uint8_t *body = pg_bytes(r, row, 5, &len);
	int got;

	if (!body)
		return -1;
	hist_block_start(&rd, body, len, pg_int(r, row, 0), pg_int(r, row, 1), pg_int(r, row, 3),
			 pg_int(r, row, 4), pg_int(r, row, 2));
	while ((got = hist_block_next(&rd, &b->row.rec)) == 1)
		if (change_matches(b, &b->row.rec) && b->cb(b->arg, &b->row))
			return 1;
	return got;
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
	pg_u64_text(ts, sizeof(ts), t);
	PGresult *r = pg_query(g,
			       before ? "SELECT last_seq FROM checkpoints WHERE monitor = $1 AND"
					" when_ns < $2 ORDER BY when_ns DESC LIMIT 1"
				      : "SELECT last_seq FROM checkpoints WHERE monitor = $1 AND"
					" when_ns > $2 ORDER BY when_ns LIMIT 1",
			       2, v, err, errlen);
	if (!r)
		return -1;
	*found = PQntuples(r) == 1;
	*seq = *found ? pg_int(r, 0, 0) : 0;
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

/* A monitor's changes with seq in (from, to] (bounded false: no end) that
 * match q (NULL: all), in seq order.  The blocks come through the index on
 * first_seq from the block holding from + 1: a range read from a checkpoint
 * costs its interval, whatever the history before or after. */
static int read_changes(struct pg *g, int32_t id, const char *name, uint64_t from, uint64_t to,
			bool bounded, const struct hist_query *q, hist_row_cb cb, void *arg,
			char *err, size_t errlen)
{
	struct block_read b = {.from = from, .to = bounded ? to : 0, .q = q,
			       .row = {.monitor = name}, .cb = cb, .arg = arg};
	struct params p = {.n = 0};
	char sql[640], since[24], until[24];
	const char *f;
	int o;

	if (bounded && to <= from)
		return 0;
	param(&p, "%" PRId32, id);
	f = param(&p, "%" PRIu64, from);
	o = snprintf(sql, sizeof(sql), "SELECT " BLOCK_COLS " FROM change_blocks WHERE monitor = $1"
		     " AND first_seq >= coalesce((SELECT max(first_seq) FROM change_blocks"
		     " WHERE monitor = $1 AND first_seq <= %s), 0) AND last_seq > %s", f, f);
	if (bounded)
		o += snprintf(sql + o, sizeof(sql) - (size_t)o, " AND first_seq <= %s",
			      param(&p, "%" PRIu64, to));
	if (q) {
		pg_u64_text(since, sizeof(since), q->since_ns);
		pg_u64_text(until, sizeof(until), q->until_ns);
		o += snprintf(sql + o, sizeof(sql) - (size_t)o, " AND t_max >= %s",
			      param(&p, "%s", since));
		o += snprintf(sql + o, sizeof(sql) - (size_t)o, " AND t_min <= %s",
			      param(&p, "%s", until));
	}
	snprintf(sql + o, sizeof(sql) - (size_t)o, " ORDER BY first_seq");
	return cursor_read(g, sql, p.n, p.v, PG_FETCH_BLOCKS, block_row, &b, err, errlen);
}

static int read_one(struct pg *g, int32_t id, const char *name, uint8_t type,
		    const struct hist_query *q, hist_row_cb cb, void *arg, char *err, size_t errlen)
{
	static const char *const pe_cols[][2] = {
		[HIST_ALARM] = {"addr", "peer"}, [HIST_PAIR_WINDOW] = {"src", "dst"},
		[HIST_FAULT] = {"pe", "peer"}};
	struct params p = {.n = 0};
	struct plain_read pr = {.row = {.monitor = name}, .cb = cb, .arg = arg};
	char sql[1024];
	size_t o;
	uint64_t from = 0, to = 0;
	bool bounded = false;

	switch (type) {
	case HIST_CHANGE:
		/* By seq, from the checkpoint before since_ns to the first after
		 * until_ns: a read by time never scans the history outside it. */
		if (checkpoint_seq(g, id, q->since_ns, true, &from, &bounded, err, errlen) ||
		    (q->until_ns != UINT64_MAX &&
		     checkpoint_seq(g, id, q->until_ns, false, &to, &bounded, err, errlen)))
			return -1;
		return read_changes(g, id, name, from, to, q->until_ns != UINT64_MAX && bounded, q,
				    cb, arg, err, errlen);
	case HIST_ALARM:
		o = (size_t)snprintf(sql, sizeof(sql), "SELECT when_ns, alarm_index, kind, raised,"
				     " vpn, addr, peer, value, threshold FROM alarms WHERE monitor = $1");
		pr.decode = decode_alarm;
		break;
	case HIST_CONFIG:
		o = (size_t)snprintf(sql, sizeof(sql), "SELECT when_ns, ok, vpns, added, removed,"
				     " changed FROM configs WHERE monitor = $1");
		pr.decode = decode_config;
		break;
	case HIST_PAIR_WINDOW:
		o = (size_t)snprintf(sql, sizeof(sql), "SELECT when_ns, vpn, src, dst, sent,"
				     " received, lost, delay_min_us, delay_avg_us, delay_p99_us,"
				     " jitter_us, status FROM pair_windows WHERE monitor = $1");
		pr.decode = decode_pair;
		break;
	case HIST_FAULT:
		o = (size_t)snprintf(sql, sizeof(sql), "SELECT when_ns, fault_id, located, vpn,"
				     " metric, kind, flags, pe, peer, loss_ppm, low_ppm, high_ppm,"
				     " echo_loss_ppm, shift_us, pairs, since_ns FROM faults"
				     " WHERE monitor = $1");
		pr.decode = decode_fault;
		break;
	default:
		hist_errf(err, errlen, "postgresql store: no records of type %u to read", type);
		return -1;
	}
	param(&p, "%" PRId32, id);
	char since[24], until[24];
	pg_u64_text(since, sizeof(since), q->since_ns);
	pg_u64_text(until, sizeof(until), q->until_ns);
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
		 type == HIST_ALARM ? " ORDER BY when_ns, alarm_index"
		 : type == HIST_PAIR_WINDOW ? " ORDER BY when_ns, vpn, src, dst"
		 : type == HIST_FAULT	    ? " ORDER BY when_ns, fault_id, located DESC"
					    : " ORDER BY when_ns");
	return cursor_read(g, sql, p.n, p.v, PG_FETCH_ROWS, plain_row, &pr, err, errlen);
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

int pg_read(void *conn, uint8_t type, const struct hist_query *q, hist_row_cb cb, void *arg,
	    char *err, size_t errlen)
{
	struct pg *g = conn;
	struct monitor_list m;
	struct stop_watch w = {.cb = cb, .arg = arg};
	int rc = 0;

	if (pg_ensure(g, err, errlen) || monitors_load(g, q->monitor, &m, err, errlen))
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
		hist_errf(err, errlen, "postgresql store: %zu monitors wrote here (%s): name one",
			m.n, names);
		monitors_free(&m);
		return -1;
	}
	if (m.n == 1)
		*id = m.ids[0];
	monitors_free(&m);
	return 0;
}

/* The one checkpoint row of the monitor that sql selects ($1 the monitor's
 * id, $2 at_ns): 0 with *out holding it, for the caller to clear; 1 when
 * there is none; -1 on an error. */
static int checkpoint_row(struct pg *g, const char *monitor, uint64_t at_ns, const char *sql,
			  PGresult **out, char *err, size_t errlen)
{
	char ids[16], ts[24];
	const char *v[2] = {ids, ts};
	int32_t id;

	*out = NULL;
	if (pg_ensure(g, err, errlen) || monitor_for_state(g, monitor, &id, err, errlen))
		return -1;
	if (!id)
		return 1;
	snprintf(ids, sizeof(ids), "%" PRId32, id);
	pg_u64_text(ts, sizeof(ts), at_ns);
	if (!(*out = pg_query(g, sql, 2, v, err, errlen)))
		return -1;
	if (PQntuples(*out) == 1)
		return 0;
	PQclear(*out);
	*out = NULL;
	return 1;
}

int pg_checkpoint_at(void *conn, const char *monitor, uint64_t at_ns, struct hist_checkpoint **out,
		     uint64_t *when_ns, char *err, size_t errlen)
{
	struct pg *g = conn;
	PGresult *r;

	*out = NULL;
	*when_ns = 0;
	int rc = checkpoint_row(g, monitor, at_ns,
				"SELECT when_ns, body FROM checkpoints WHERE monitor = $1 AND"
				" when_ns <= $2 ORDER BY when_ns DESC LIMIT 1",
				&r, err, errlen);
	if (rc != 0)
		return rc;
	size_t len;
	const uint8_t *body = pg_bytes(r, 0, 1, &len);
	*when_ns = pg_int(r, 0, 0);
	rc = hist_checkpoint_decode(body, len, out);
	PQclear(r);
	if (rc) {
		pg_say(g, err, errlen, "reading a checkpoint", "its body cannot be decoded");
		return -1;
	}
	return 0;
}

int pg_checkpoint_after(void *conn, const char *monitor, uint64_t at_ns, uint64_t *when_ns,
			char *err, size_t errlen)
{
	PGresult *r;
	int rc = checkpoint_row(conn, monitor, at_ns,
				"SELECT when_ns FROM checkpoints WHERE monitor = $1 AND"
				" when_ns >= $2 ORDER BY when_ns LIMIT 1",
				&r, err, errlen);

	if (rc == 0) {
		*when_ns = pg_int(r, 0, 0);
		PQclear(r);
	}
	return rc;
}

int pg_changes_after(void *conn, const char *monitor, uint64_t after_seq, uint64_t until_ns,
		     hist_row_cb cb, void *arg, char *err, size_t errlen)
{
	struct pg *g = conn;
	uint64_t to;
	bool bounded;
	int32_t id;

	if (pg_ensure(g, err, errlen) || monitor_for_state(g, monitor, &id, err, errlen))
		return -1;
	if (!id)
		return 0;
	if (checkpoint_seq(g, id, until_ns, false, &to, &bounded, err, errlen))
		return -1;
	return read_changes(g, id, monitor, after_seq, to, bounded, NULL, cb, arg, err, errlen);
}

int pg_monitors(void *conn, char ***names, size_t *n, char *err, size_t errlen)
{
	struct pg *g = conn;
	struct monitor_list m;

	*names = NULL;
	*n = 0;
	if (pg_ensure(g, err, errlen) || monitors_load(g, NULL, &m, err, errlen))
		return -1;
	*names = m.names;
	*n = m.n;
	free(m.ids);
	return 0;
}

