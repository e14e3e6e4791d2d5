/* mvpnmon report --vpn V --since T1 [--until T2]: one VPN over a period as a
 * self-contained HTML page (report_html.h), from the history store. */
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "hist_client.h"
#include "report_data.h"
#include "report_html.h"
#include "timearg.h"

static void report_usage(FILE *f)
{
	fputs("usage: mvpnmon [--db FILE | --pg CONNINFO] [--monitor NAME] [--utc]\n"
	      "               report --vpn NAME|INDEX --since TIME [--until TIME] > FILE.html\n"
	      "One HTML page (inline SVG, no script, nothing fetched): the VPN's PEs with their\n"
	      "status over the period, the probed pairs' loss and delay as a heat map, and\n"
	      "each pair's loss, delay and jitter window by window.\n", f);
}

/* The VPN's PE changes in the period, in seq order: the timeline's input. */
struct pe_changes {
	struct hist_record *v;
	size_t n, cap;
	bool oom;
};

static int keep_pe_change(void *arg, const struct hist_row *row)
{
	struct pe_changes *c = arg;
	uint8_t kind = row->rec.u.change.kind;

	if (!(kind >= CHANGE_PE_UP && kind <= CHANGE_PE_CHANGE) && kind != CHANGE_PE_RECLAIMED)
		return 0;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct hist_record *v = realloc(c->v, cap * sizeof(*v));
		if (!v) {
			c->oom = true;
			return 1;
		}
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n++] = row->rec;
	return 0;
}

static int cmp_u64(const void *a_, const void *b_)
{
	uint64_t a = *(const uint64_t *)a_, b = *(const uint64_t *)b_;
	return a < b ? -1 : a > b;
}

/*
 * When the timeline must take the store's state again: a configuration load
 * changes the expected PEs with no change record, and the checkpoint after
 * it is the first state that shows them; with nothing recorded at the
 * start, the first checkpoint in the period.  Sorted, in *at (the caller's).
 */
static int rebase_times(struct cli *c, struct hist_client *h, const char *monitor,
			const struct rp_section *s, bool from_nothing, uint64_t **at, size_t *n)
{
	char err[256];

	*n = 0;
	*at = malloc((s->n_loads + 2) * sizeof(**at));
	if (!*at) {
		cli_error(c, "out of memory");
		return -1;
	}
	for (size_t i = 0; i <= s->n_loads; i++) {
		uint64_t from = i < s->n_loads ? s->loads[i] : s->tl.start_ns, cp;
		if (i == s->n_loads && !from_nothing)
			break;
		int rc = hist_store_next_checkpoint(h->store, monitor, from, &cp, err, sizeof(err));
		if (rc < 0) {
			cli_error(c, "monitor \"%s\": %s", monitor, err);
			return -1;
		}
		if (rc == 0 && cp <= s->tl.end_ns)
			(*at)[(*n)++] = cp;
	}
	qsort(*at, *n, sizeof(**at), cmp_u64);
	return 0;
}

static int rebase(struct cli *c, struct hist_client *h, const char *monitor,
		  struct rp_section *s, uint64_t at)
{
	struct hist_checkpoint *cp = NULL;
	char err[256];
	int rc = hist_store_state_at(h->store, monitor, at, s->vpn_index, &cp, err, sizeof(err));

	if (rc < 0) {
		cli_error(c, "monitor \"%s\": %s", monitor, err);
		return -1;
	}
	rc = rp_timeline_rebase(&s->tl, cp, at);
	hist_checkpoint_free(cp);
	if (rc < 0)
		cli_error(c, "out of memory");
	return rc;
}

/* The changes, with the state taken again at each rebase time on the way. */
static int fold_changes(struct cli *c, struct hist_client *h, const char *monitor,
			struct rp_section *s, const struct pe_changes *ch, const uint64_t *at,
			size_t n_at)
{
	size_t next = 0;

	for (size_t k = 0; k <= ch->n; k++) {
		uint64_t t = k < ch->n ? ch->v[k].when_ns : UINT64_MAX;
		for (; next < n_at && at[next] < t; next++)
			if (rebase(c, h, monitor, s, at[next]) < 0)
				return -1;
		if (k < ch->n && rp_timeline_change(&s->tl, &ch->v[k]) < 0) {
			cli_error(c, "out of memory");
			return -1;
		}
	}
	if (rp_timeline_finish(&s->tl) < 0) {
		cli_error(c, "out of memory");
		return -1;
	}
	return 0;
}

static int load_loads(struct cli *c, struct hist_client *h, size_t m, const struct hist_query *q,
		      struct rp_section *s)
{
	struct hist_rows rows = {0};

	if (hist_client_read(c, h, m, HIST_CONFIG, q, &rows) < 0)
		return -1;
	s->loads = malloc((rows.n + 1) * sizeof(*s->loads));
	if (!s->loads) {
		hist_rows_free(&rows);
		cli_error(c, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < rows.n; i++)
		if (rows.v[i].rec.u.config.ok)
			s->loads[s->n_loads++] = rows.v[i].rec.when_ns;
	hist_rows_free(&rows);
	return 0;
}

static int load_timeline(struct cli *c, struct hist_client *h, size_t m,
			 const struct hist_query *q, struct rp_section *s)
{
	const char *monitor = h->monitors[m];
	struct hist_checkpoint *cp = NULL;
	struct pe_changes ch = {0};
	struct hist_query mq = *q;
	uint64_t *at = NULL;
	size_t n_at = 0;
	char err[256];
	int rc = hist_store_state_at(h->store, monitor, q->since_ns, s->vpn_index, &cp, err,
				     sizeof(err));

	if (rc < 0) {
		cli_error(c, "monitor \"%s\": %s", monitor, err);
		return -1;
	}
	if (rp_timeline_start(&s->tl, s->vpn_index, q->since_ns, q->until_ns, cp) < 0) {
		hist_checkpoint_free(cp);
		cli_error(c, "out of memory");
		return -1;
	}
	hist_checkpoint_free(cp);
	mq.monitor = monitor;
	if (rebase_times(c, h, monitor, s, rc == 1, &at, &n_at) < 0) {
		free(at);
		return -1;
	}
	if (hist_store_read(h->store, HIST_CHANGE, &mq, keep_pe_change, &ch, err, sizeof(err)) < 0)
		cli_error(c, "monitor \"%s\": %s", monitor, err), rc = -1;
	else if (ch.oom)
		cli_error(c, "out of memory"), rc = -1;
	else
		rc = fold_changes(c, h, monitor, s, &ch, at, n_at);
	free(at);
	free(ch.v);
	return rc;
}

/* One monitor's section; 1 when it has no such VPN in the period. */
static int load_section(struct cli *c, struct hist_client *h, size_t m, const char *vpn,
			const struct hist_query *q, struct rp_section *s)
{
	struct hist_query mq = *q;
	struct vpn_names names = {0};
	struct hist_rows rows = {0};
	int rc = hist_client_vpn_range(c, h, h->monitors[m], vpn, q->since_ns, q->until_ns,
				       &mq.vpn_index);

	if (rc != 0)
		return rc;
	s->monitor = h->monitors[m];
	s->vpn_index = mq.vpn_index;
	if (vpn_names_add(c, h, s->monitor, q->until_ns, &names) < 0 ||
	    vpn_names_add(c, h, s->monitor, q->since_ns, &names) < 0) {
		vpn_names_free(&names);
		return -1;
	}
	const char *name = vpn_names_find(&names, s->vpn_index);
	snprintf(s->vpn_name, sizeof(s->vpn_name), "%s", name ? name : "");
	vpn_names_free(&names);
	if (load_loads(c, h, m, q, s) < 0 || load_timeline(c, h, m, &mq, s) < 0 ||
	    hist_client_read(c, h, m, HIST_PAIR_WINDOW, &mq, &rows) < 0)
		return -1;
	rc = rp_pairs_build(&s->pairs, &rows, m);
	hist_rows_free(&rows);
	if (rc < 0)
		cli_error(c, "out of memory");
	return rc;
}

static void sections_free(struct rp_page *pg)
{
	for (size_t i = 0; pg->sections && i < pg->n; i++) {
		rp_timeline_free(&pg->sections[i].tl);
		rp_pairs_free(&pg->sections[i].pairs);
		free(pg->sections[i].loads);
	}
	free(pg->sections);
	pg->sections = NULL;
	pg->n = 0;
}

static int report_load(struct cli *c, struct hist_client *h, const struct hist_query *q,
		       struct rp_page *pg)
{
	pg->sections = calloc(h->n_monitors + 1, sizeof(*pg->sections));
	if (!pg->sections) {
		cli_error(c, "out of memory");
		return CLI_FAIL;
	}
	for (size_t m = 0; m < h->n_monitors; m++) {
		struct rp_section *s = &pg->sections[pg->n];
		int rc = load_section(c, h, m, pg->vpn, q, s);
		if (rc < 0) {
			pg->n++; /* to free what it holds */
			return CLI_FAIL;
		}
		if (rc == 0)
			pg->n++;
	}
	if (pg->n == 0) {
		cli_error(c, "no VPN \"%s\" between --since and --until", pg->vpn);
		return CLI_FAIL;
	}
	return CLI_OK;
}

int cmd_report(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"since", required_argument, NULL, OPT_SINCE},
		{"until", required_argument, NULL, OPT_UNTIL},
		{"vpn", required_argument, NULL, OPT_VPN},
		CLI_COMMON_OPTIONS, CLI_STORE_OPTIONS, {NULL, 0, NULL, 0}};
	const char *since = NULL, *until = NULL;
	struct rp_page pg = {.made_ns = c->now_ns};
	struct hist_query q = {.until_ns = UINT64_MAX};
	struct hist_args ha = {0};
	struct hist_client h;
	int opt, rc;

	while ((opt = cli_getopt(c, argc, argv, opts)) != -1) {
		if (cli_common_option(c, opt) || hist_args_option(&ha, opt, optarg))
			continue;
		switch (opt) {
		case OPT_SINCE: since = optarg; break;
		case OPT_UNTIL: until = optarg; break;
		case OPT_VPN: pg.vpn = optarg; break;
		case OPT_HELP: report_usage(c->out); return CLI_OK;
		default: return CLI_USAGE;
		}
	}
	if (c->json) {
		cli_error(c, "--json: a report is HTML (mvpnmon pairs --json gives the figures)");
		return CLI_USAGE;
	}
	if (!pg.vpn) {
		cli_error(c, "--vpn NAME|INDEX is required");
		return CLI_USAGE;
	}
	if ((rc = hist_client_range(c, since, until, &q)) != CLI_OK)
		return rc;
	if (q.until_ns == UINT64_MAX) /* a page draws a period: up to now */
		q.until_ns = c->now_ns > q.since_ns ? c->now_ns : q.since_ns;
	pg.since_ns = q.since_ns;
	pg.until_ns = q.until_ns;
	pg.utc = c->utc;
	if ((rc = hist_client_open(c, &ha, &h)) != CLI_OK)
		return rc;
	rc = report_load(c, &h, &q, &pg);
	if (rc == CLI_OK && report_html(c->out, &pg) < 0) {
		cli_error(c, "cannot write the output");
		rc = CLI_FAIL;
	}
	sections_free(&pg);
	hist_client_close(&h);
	return rc;
}
