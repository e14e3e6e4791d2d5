/*
 * Writing a batch to PostgreSQL: one transaction, a binary COPY per table,
 * checkpoints as parameters, then the monitor's token row (pg.c says why).
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encode.h"
#include "pg_int.h"

static bool buf_room(struct pg_buf *b, size_t n)
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

static void put_bytes(struct pg_buf *b, const void *p, size_t n)
{
	if (buf_room(b, n)) {
		memcpy(b->p + b->len, p, n);
		b->len += n;
	}
}

static void put_be(struct pg_buf *b, uint64_t v, unsigned n)
{
	if (!buf_room(b, n))
		return;
	for (unsigned i = 0; i < n; i++)
		b->p[b->len++] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/* Binary COPY: a tuple is its field count, then each field's length (-1:
 * NULL) and bytes, integers big endian. */
static void f_tuple(struct pg_buf *b, unsigned fields) { put_be(b, fields, 2); }
static void f_i16(struct pg_buf *b, uint16_t v) { put_be(b, 2, 4); put_be(b, v, 2); }
static void f_i32(struct pg_buf *b, uint32_t v) { put_be(b, 4, 4); put_be(b, v, 4); }
static void f_i64(struct pg_buf *b, uint64_t v) { put_be(b, 8, 4); put_be(b, v, 8); }

static void f_bytes(struct pg_buf *b, const uint8_t *p, size_t n)
{
	if (!n) {
		put_be(b, UINT32_MAX, 4); /* -1: NULL */
		return;
	}
	put_be(b, n, 4);
	put_bytes(b, p, n);
}

static void f_addr(struct pg_buf *b, const struct inet_addr *a)
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


static const char *const copy_sql[T_COUNT] = {
	NULL, /* the monitor's partition: made at open */
	"COPY alarms (monitor, when_ns, alarm_index, kind, raised, vpn, addr, peer, value,"
	" threshold) FROM STDIN (FORMAT binary)",
	"COPY configs (monitor, when_ns, ok, vpns, added, removed, changed) FROM STDIN"
	" (FORMAT binary)",
	"COPY pair_windows (monitor, when_ns, vpn, src, dst, sent, received, lost, delay_min_us,"
	" delay_avg_us, delay_p99_us, jitter_us, status) FROM STDIN (FORMAT binary)",
	"COPY faults (monitor, when_ns, fault_id, located, vpn, metric, kind, flags, pe, peer,"
	" loss_ppm, low_ppm, high_ppm, echo_loss_ppm, shift_us, pairs, since_ns) FROM STDIN"
	" (FORMAT binary)",
};

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

/* One record into its table's COPY data (alarms, configs, pair windows;
 * changes go in blocks, below).  Returns the table, or -1. */
static int encode_row(struct pg *g, const struct hist_record *r)
{
	struct pg_buf *b;

	switch (r->type) {
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
	case HIST_FAULT: {
		const struct hist_fault *f = &r->u.fault;
		b = &g->t[T_FAULTS];
		f_tuple(b, 17);
		f_i32(b, (uint32_t)g->id);
		f_i64(b, r->when_ns);
		f_i64(b, f->id);
		f_i16(b, f->located);
		f_i64(b, f->vpn_index);
		f_i16(b, f->metric);
		f_i16(b, f->kind);
		f_i16(b, f->flags);
		f_addr(b, &f->pe);
		f_addr(b, &f->peer);
		f_i64(b, f->loss_ppm);
		f_i64(b, f->low_ppm);
		f_i64(b, f->high_ppm);
		f_i64(b, f->echo_loss_ppm);
		f_i64(b, (uint64_t)f->shift_us);
		f_i64(b, f->pairs);
		f_i64(b, f->since_ns);
		return T_FAULTS;
	}
	}
	return -1;
}

/* ---- changes, in blocks ---- */

static int cmp_seq(const void *a, const void *b)
{
	const struct hist_record *x = *(const struct hist_record *const *)a;
	const struct hist_record *y = *(const struct hist_record *const *)b;

	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x < y ? -1 : x > y; /* the batch's order: the records are one array */
}

/* Whether a block ending at seq `last` must end before `next`: a
 * checkpoint's last_seq lies between (cuts sorted, *k moving forward), so
 * that a read from a checkpoint never decodes the interval before it and
 * retention deletes whole blocks. */
static bool cut_between(const uint64_t *cuts, size_t n, size_t *k, uint64_t last, uint64_t next)
{
	while (*k < n && cuts[*k] < last)
		(*k)++;
	return *k < n && cuts[*k] < next;
}

/* One block: chg[0..n) (seq order) into the monitor's COPY data.  0, or -1
 * for a change encode.c refuses. */
static int put_block(struct pg *g, const struct hist_record *const *chg, size_t n)
{
	struct pg_buf *b = &g->t[T_CHANGES];
	uint64_t t_min = chg[0]->when_ns, t_max = t_min, seq = chg[0]->seq, when;

	for (size_t i = 1; i < n; i++) {
		t_min = chg[i]->when_ns < t_min ? chg[i]->when_ns : t_min;
		t_max = chg[i]->when_ns > t_max ? chg[i]->when_ns : t_max;
	}
	when = t_min;
	g->body.len = 0;
	for (size_t i = 0; i < n; i++) {
		if (!buf_room(&g->body, HIST_CHANGE_MAX))
			return 0; /* out of memory: the caller sees oom */
		int len = hist_change_encode(chg[i], seq, when, g->body.p + g->body.len);
		if (len < 0)
			return -1;
		g->body.len += (size_t)len;
		seq = chg[i]->seq;
		when = chg[i]->when_ns;
	}
	f_tuple(b, 7);
	f_i32(b, (uint32_t)g->id);
	f_i32(b, (uint32_t)n);
	f_i64(b, chg[0]->seq);
	f_i64(b, chg[n - 1]->seq);
	f_i64(b, t_min);
	f_i64(b, t_max);
	f_bytes(b, g->body.p, g->body.len);
	return 0;
}

/* The batch's changes above the committed seq, in seq order, as blocks of
 * at most PG_BLOCK_CHANGES, cut at each checkpoint of the batch.  *top: the
 * highest seq.  0, or -1 with err. */
static int encode_changes(struct pg *g, const struct hist_record *recs, size_t n, uint64_t *top,
			  char *err, size_t errlen)
{
	const struct hist_record **chg = NULL;
	uint64_t *cuts = NULL;
	size_t nc = 0, ncut = 0, k = 0;
	int rc = -1;

	*top = g->last_seq;
	if (!n)
		return 0;
	chg = malloc(n * sizeof(*chg));
	cuts = malloc(n * sizeof(*cuts));
	if (!chg || !cuts) {
		hist_errf(err, errlen, "postgresql store: out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (recs[i].type == HIST_CHANGE && recs[i].seq > g->last_seq)
			chg[nc++] = &recs[i]; /* at or below: committed before */
		else if (recs[i].type == HIST_CHECKPOINT && recs[i].u.checkpoint)
			cuts[ncut++] = recs[i].u.checkpoint->last_change_seq;
	}
	qsort(chg, nc, sizeof(*chg), cmp_seq);
	qsort(cuts, ncut, sizeof(*cuts), cmp_u64);
	for (size_t at = 0, end; at < nc; at = end) {
		for (end = at + 1; end < nc && end - at < PG_BLOCK_CHANGES &&
				   !cut_between(cuts, ncut, &k, chg[end - 1]->seq, chg[end]->seq);
		     end++)
			;
		if (put_block(g, chg + at, end - at)) {
			hist_errf(err, errlen, "postgresql store: change seq %" PRIu64
				  " cannot be encoded", chg[at]->seq);
			goto out;
		}
	}
	if (nc)
		*top = chg[nc - 1]->seq;
	rc = 0;
out:
	free(chg);
	free(cuts);
	return rc;
}

/* One table's rows through COPY, in chunks.  0, or -1 with err. */
static int copy_in(struct pg *g, const char *sql, const struct pg_buf *b, char *err, size_t errlen)
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
	if (pg_run_as(g, "SET LOCAL lock_timeout = '30s'", "checking a batch in doubt", err, errlen))
		return -1;
	PGresult *r = pg_query(g,
			       "SELECT batch, last_seq FROM monitor_writes WHERE monitor = $1"
			       " FOR UPDATE",
			       1, v, err, errlen);
	if (!r)
		return -1;
	bool committed = PQntuples(r) == 1 && (int64_t)pg_int(r, 0, 0) == g->maybe_batch;
	PQclear(r);
	if (committed) {
		g->last_seq = g->maybe_seq;
		for (size_t i = 0; i < g->maybe_set.n; i++)
			if (set_add(&g->known, g->maybe_set.d[i])) {
				hist_errf(err, errlen, "postgresql store: out of memory");
				return -1;
			}
		qsort(g->known.d, g->known.n, sizeof(*g->known.d), cmp_u64);
	}
	g->maybe = false;
	g->maybe_set.n = 0;
	return 0;
}

/* Encodes what this batch must still write: changes above the committed
 * seq (in blocks), other records unless known committed.  sent: the digests
 * of the non-change records it writes; *top the highest seq.  0, or -1
 * with err. */
static int encode_batch(struct pg *g, const struct hist_record *recs, size_t n, bool *used,
			struct sent_set *sent, uint64_t *top, char *err, size_t errlen)
{
	int rc = 0;

	for (int i = 0; i < T_COUNT; i++) {
		g->t[i].len = 0;
		put_bytes(&g->t[i], copy_header, sizeof(copy_header));
	}
	rc = encode_changes(g, recs, n, top, err, errlen);
	for (size_t i = 0; i < n && !rc; i++) {
		const struct hist_record *r = &recs[i];
		if (r->type == HIST_CHANGE || r->type == HIST_CHECKPOINT)
			continue; /* in blocks, above; written apart, below */
		size_t at[T_COUNT];
		for (int t = 0; t < T_COUNT; t++)
			at[t] = g->t[t].len;
		int t = encode_row(g, r);
		if (t < 0) {
			hist_errf(err, errlen,
				"postgresql store: record %zu (type %u) cannot be encoded", i,
				r->type);
			rc = -1;
			break;
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
	if (g->body.oom) {
		g->body.oom = false; /* the next batch tries again */
		rc = -1;
	}
	if (rc && errlen && !*err)
		hist_errf(err, errlen, "postgresql store: out of memory");
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
			hist_errf(err, errlen, "postgresql store: checkpoint %zu cannot be encoded", i);
			return -1;
		}
		uint64_t d = digest(HIST_CHECKPOINT, blob, len) ^ r->when_ns;
		int rc = 0;
		if (!(used && set_take(&g->known, used, d))) {
			rc = insert_checkpoint(g, r, blob, len, err, errlen);
			if (!rc && set_add(sent, d)) {
				hist_errf(err, errlen, "postgresql store: out of memory");
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
	PGresult *r = pg_query(g,
			       "UPDATE monitor_writes SET batch = $2, last_seq = $3,"
			       " when_ns = (extract(epoch from clock_timestamp()) * 1e9)::bigint"
			       " WHERE monitor = $1",
			       3, v, err, errlen);
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
	if (!pg_connected(g)) {
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

int pg_write(void *conn, const struct hist_record *recs, size_t n, char *err, size_t errlen)
{
	struct pg *g = conn;
	struct sent_set sent = {0};
	bool *used = NULL;
	uint64_t top;
	int rc = -1;

	if (errlen)
		*err = '\0';
	if (g->read_only) {
		hist_errf(err, errlen, "postgresql store: opened read-only");
		return -1;
	}
	if (pg_ensure(g, err, errlen) || pg_run(g, "BEGIN", err, errlen))
		return -1;
	if (g->maybe && resolve_maybe(g, err, errlen))
		goto out;
	if (g->known.n && !(used = calloc(g->known.n, sizeof(bool)))) {
		hist_errf(err, errlen, "postgresql store: out of memory");
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
		pg_rollback(g);
	free(used);
	free(sent.d);
	return rc;
}

