#include "hist_client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "state_view.h"
#include "timearg.h"

bool hist_args_option(struct hist_args *a, int opt, const char *arg)
{
	switch (opt) {
	case OPT_DB: a->db = arg; return true;
	case OPT_PG: a->pg = arg; return true;
	case OPT_MONITOR: a->monitor = arg; return true;
	default: return false;
	}
}

int hist_client_range(struct cli *c, const char *since, const char *until,
		      struct hist_query *q)
{
	char err[256];

	if (!since) {
		cli_error(c, "--since TIME is required");
		return CLI_USAGE;
	}
	q->until_ns = UINT64_MAX;
	if (timearg_parse(since, c->now_ns, &q->since_ns, err, sizeof(err)) < 0 ||
	    (until && timearg_parse(until, c->now_ns, &q->until_ns, err, sizeof(err)) < 0)) {
		cli_error(c, "%s", err);
		return CLI_USAGE;
	}
	if (q->until_ns < q->since_ns) {
		cli_error(c, "--until %s is before --since %s", until, since);
		return CLI_USAGE;
	}
	return CLI_OK;
}

static int location(struct cli *c, const struct hist_args *a, struct hist_location *loc)
{
	struct stat st;

	if (a->db && a->pg) {
		cli_error(c, "--db and --pg name two stores: give one");
		return CLI_USAGE;
	}
	*loc = (struct hist_location){.read_only = true};
	if (a->pg) {
		loc->backend = HIST_POSTGRES;
		loc->target = a->pg;
		return CLI_OK;
	}
	loc->backend = HIST_SQLITE;
	loc->target = a->db ? a->db : HIST_DEFAULT_DB;
	/* Read-only, SQLite would say "unable to open database file": say which. */
	if (stat(loc->target, &st) < 0) {
		cli_error(c, "history store %s: %s%s", loc->target, strerror(errno),
			  a->db ? "" : " (the default; --db FILE or --pg CONNINFO names another)");
		return CLI_FAIL;
	}
	if (!S_ISREG(st.st_mode)) {
		cli_error(c, "history store %s: not a file", loc->target);
		return CLI_FAIL;
	}
	return CLI_OK;
}

static int pick_monitors(struct cli *c, const struct hist_args *a, struct hist_client *h,
			 const char *where)
{
	char err[256], list[512] = "";

	if (hist_store_monitors(h->store, &h->monitors, &h->n_names, err, sizeof(err)) < 0) {
		cli_error(c, "history store %s: %s", where, err);
		return CLI_FAIL;
	}
	h->n_monitors = h->n_names;
	if (h->n_names == 0) {
		cli_error(c, "history store %s: empty (no monitor has written to it)", where);
		return CLI_FAIL;
	}
	if (!a->monitor)
		return CLI_OK;
	for (size_t i = 0; i < h->n_names; i++) {
		if (strcmp(h->monitors[i], a->monitor) != 0)
			continue;
		/* That one alone: first, and the only one read. */
		char *keep = h->monitors[i];
		h->monitors[i] = h->monitors[0];
		h->monitors[0] = keep;
		h->n_monitors = 1;
		return CLI_OK;
	}
	for (size_t i = 0; i < h->n_names; i++) {
		size_t len = strlen(list);
		snprintf(list + len, sizeof(list) - len, "%s\"%s\"", i ? ", " : "", h->monitors[i]);
	}
	cli_error(c, "no monitor \"%s\" in history store %s (it has %s)", a->monitor, where, list);
	return CLI_FAIL;
}

int hist_client_open(struct cli *c, const struct hist_args *a, struct hist_client *h)
{
	struct hist_location loc;
	char err[256];
	int rc;

	memset(h, 0, sizeof(*h));
	if ((rc = location(c, a, &loc)) != CLI_OK)
		return rc;
	const char *where = loc.backend == HIST_SQLITE ? loc.target : "(PostgreSQL)";
	h->store = hist_store_open(&loc, err, sizeof(err));
	if (!h->store) {
		cli_error(c, "cannot read history store %s: %s", where, err);
		return CLI_FAIL;
	}
	if ((rc = pick_monitors(c, a, h, where)) != CLI_OK) {
		hist_client_close(h);
		return rc;
	}
	return CLI_OK;
}

void hist_client_close(struct hist_client *h)
{
	if (h->monitors)
		hist_store_names_free(h->monitors, h->n_names);
	if (h->store)
		hist_store_close(h->store);
	memset(h, 0, sizeof(*h));
}

/* The monitor's state at `at`: 0, 1 when there is none yet, -1 after saying why. */
static int state_at(struct cli *c, struct hist_client *h, const char *monitor, uint64_t at,
		    struct hist_checkpoint **cp)
{
	char err[256];
	int rc = hist_store_state_at(h->store, monitor, at, 0, cp, err, sizeof(err));

	if (rc < 0)
		cli_error(c, "monitor \"%s\": %s", monitor, err);
	return rc;
}

int hist_client_vpn(struct cli *c, struct hist_client *h, const char *monitor, const char *vpn,
		    uint64_t at, uint32_t *index)
{
	struct hist_checkpoint *cp = NULL;
	const struct hist_vpn_row *row;
	int rc = state_at(c, h, monitor, at, &cp);

	if (rc != 0)
		return rc;
	row = checkpoint_vpn_arg(cp, vpn);
	rc = row ? 0 : 1;
	if (row)
		*index = row->index;
	hist_checkpoint_free(cp);
	return rc;
}

int hist_client_vpn_range(struct cli *c, struct hist_client *h, const char *monitor,
			  const char *vpn, uint64_t since, uint64_t until, uint32_t *index)
{
	int rc = hist_client_vpn(c, h, monitor, vpn, until, index);

	return rc == 1 ? hist_client_vpn(c, h, monitor, vpn, since, index) : rc;
}

int vpn_names_add(struct cli *c, struct hist_client *h, const char *monitor, uint64_t at,
		  struct vpn_names *names)
{
	struct hist_checkpoint *cp = NULL;
	int rc = state_at(c, h, monitor, at, &cp);

	if (rc != 0)
		return rc < 0 ? -1 : 0;
	struct vpn_name *v = realloc(names->v, (names->n + cp->n_vpns + 1) * sizeof(*v));
	if (!v) {
		hist_checkpoint_free(cp);
		cli_error(c, "out of memory");
		return -1;
	}
	names->v = v;
	for (size_t i = 0; i < cp->n_vpns; i++) {
		if (vpn_names_find(names, cp->vpns[i].index))
			continue;
		v[names->n].index = cp->vpns[i].index;
		memcpy(v[names->n].name, cp->vpns[i].name, sizeof(v->name));
		v[names->n].name[sizeof(v->name) - 1] = '\0';
		names->n++;
	}
	hist_checkpoint_free(cp);
	return 0;
}

const char *vpn_names_find(const struct vpn_names *names, uint32_t index)
{
	for (size_t i = 0; i < names->n; i++)
		if (names->v[i].index == index)
			return names->v[i].name;
	return NULL;
}

void vpn_names_free(struct vpn_names *names)
{
	free(names->v);
	memset(names, 0, sizeof(*names));
}

struct read_ctx {
	struct hist_rows *out;
	size_t monitor;
	bool oom;
};

static int collect(void *arg, const struct hist_row *row)
{
	struct read_ctx *x = arg;
	struct hist_rows *r = x->out;

	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 256;
		struct hist_got *v = realloc(r->v, cap * sizeof(*v));
		if (!v) {
			x->oom = true;
			return 1;
		}
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n++] = (struct hist_got){.monitor = x->monitor, .rec = row->rec};
	return 0;
}

int hist_client_read(struct cli *c, struct hist_client *h, size_t m, uint8_t type,
		     const struct hist_query *q, struct hist_rows *out)
{
	struct read_ctx x = {.out = out, .monitor = m};
	struct hist_query mq = *q;
	char err[256];

	mq.monitor = h->monitors[m];
	if (hist_store_read(h->store, type, &mq, collect, &x, err, sizeof(err)) < 0) {
		cli_error(c, "monitor \"%s\": %s", h->monitors[m], err);
		return -1;
	}
	if (x.oom) {
		cli_error(c, "out of memory");
		return -1;
	}
	return 0;
}

void hist_rows_free(struct hist_rows *r)
{
	free(r->v);
	memset(r, 0, sizeof(*r));
}
