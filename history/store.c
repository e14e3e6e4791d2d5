/*
 * store.h on top of a backend (backend.h): the dispatch on the location's
 * backend, and the one thing no backend does itself, rebuilding the state
 * at T from a checkpoint and the changes after it (state.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "backend.h"
#include "state.h"
#include "store.h"

struct hist_store {
	const struct hist_backend *b;
	void *conn; /* the backend's */
};

/* pg.c may be absent from a build (no libpq): a weak reference is NULL
 * then, and asking for PostgreSQL says so instead of failing to link. */
extern const struct hist_backend *hist_pg_backend(void) __attribute__((weak));

void hist_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static const struct hist_backend *backend_for(const struct hist_location *loc, char *err,
					      size_t errlen)
{
	switch (loc->backend) {
	case HIST_SQLITE:
		return hist_sqlite_backend();
	case HIST_POSTGRES:
		if (hist_pg_backend)
			return hist_pg_backend();
		hist_errf(err, errlen, "history: this mvpnmond was built without PostgreSQL support");
		return NULL;
	}
	hist_errf(err, errlen, "history: unknown backend %d", (int)loc->backend);
	return NULL;
}

struct hist_store *hist_store_open(const struct hist_location *loc, char *err, size_t errlen)
{
	const struct hist_backend *b = backend_for(loc, err, errlen);
	struct hist_store *s;

	if (!b)
		return NULL;
	if (!(s = calloc(1, sizeof(*s)))) {
		hist_errf(err, errlen, "history: out of memory");
		return NULL;
	}
	s->b = b;
	if (!(s->conn = b->open(loc, err, errlen))) {
		free(s);
		return NULL;
	}
	return s;
}

void hist_store_close(struct hist_store *s)
{
	if (!s)
		return;
	s->b->close(s->conn);
	free(s);
}

bool hist_store_usable(const struct hist_store *s)
{
	return !s->b->usable || s->b->usable(s->conn);
}

int hist_store_write(struct hist_store *s, const struct hist_record *recs, size_t n, char *err,
		     size_t errlen)
{
	return n ? s->b->write(s->conn, recs, n, err, errlen) : 0;
}

int64_t hist_store_prune(struct hist_store *s, uint64_t before_ns, uint64_t max_bytes,
			 uint64_t max_rows, char *err, size_t errlen)
{
	return s->b->prune(s->conn, before_ns, max_bytes, max_rows, err, errlen);
}

int hist_store_read(struct hist_store *s, uint8_t type, const struct hist_query *q,
		    hist_row_cb cb, void *arg, char *err, size_t errlen)
{
	return s->b->read(s->conn, type, q, cb, arg, err, errlen);
}

int hist_store_monitors(struct hist_store *s, char ***names, size_t *n, char *err, size_t errlen)
{
	return s->b->monitors(s->conn, names, n, err, errlen);
}

void hist_store_names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

struct replay {
	struct hist_state *st;
	uint64_t at_ns;
	size_t applied;
	uint64_t newest_ns; /* of the changes applied */
	bool oom;
};

/* Changes come in seq order up to the checkpoint after T; the ones dated
 * after T are skipped, not a reason to stop (an expiry is dated at its
 * deadline, a little before the changes recorded around it). */
static int replay_one(void *arg, const struct hist_row *row)
{
	struct replay *r = arg;

	if (row->rec.when_ns > r->at_ns)
		return 0;
	if (hist_state_apply(r->st, &row->rec) < 0) {
		r->oom = true;
		return 1;
	}
	r->applied++;
	if (row->rec.when_ns > r->newest_ns)
		r->newest_ns = row->rec.when_ns;
	return 0;
}

int hist_store_state_at(struct hist_store *s, const char *monitor, uint64_t at_ns,
			uint32_t vpn_index, struct hist_checkpoint **out, char *err, size_t errlen)
{
	struct hist_checkpoint *cp = NULL;
	uint64_t cp_when = 0;
	struct replay r = {.at_ns = at_ns};

	*out = NULL;
	int rc = s->b->checkpoint_at(s->conn, monitor, at_ns, &cp, &cp_when, err, errlen);
	if (rc < 0)
		return -1;
	uint64_t after = cp ? cp->last_change_seq : 0;
	bool found = cp != NULL;
	if (!(r.st = hist_state_new(cp, vpn_index))) {
		hist_errf(err, errlen, "history: out of memory rebuilding the state");
		return -1;
	}
	if (s->b->changes_after(s->conn, monitor, after, at_ns, replay_one, &r, err, errlen) < 0 ||
	    r.oom) {
		if (r.oom)
			hist_errf(err, errlen, "history: out of memory rebuilding the state");
		hist_state_free(r.st);
		return -1;
	}
	if (!found && !r.applied) {
		hist_state_free(r.st);
		return 1;
	}
	if (!(*out = hist_state_finish(r.st))) {
		hist_errf(err, errlen, "history: out of memory rebuilding the state");
		return -1;
	}
	(*out)->when_ns = r.newest_ns > cp_when ? r.newest_ns : cp_when;
	return 0;
}

int hist_store_next_checkpoint(struct hist_store *s, const char *monitor, uint64_t at_ns,
			       uint64_t *when_ns, char *err, size_t errlen)
{
	return s->b->checkpoint_after(s->conn, monitor, at_ns, when_ns, err, errlen);
}
