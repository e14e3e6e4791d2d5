/* mvpnmon pairs --vpn V --since T1 [--until T2]: each probed pair's loss and
 * delay, window by window, from the history store. */
#include <stdlib.h>
#include <string.h>

#include "../mib/probing.h"
#include "commands.h"
#include "hist_client.h"
#include "json.h"
#include "table.h"
#include "timearg.h"

static void pairs_usage(FILE *f)
{
	fputs("usage: mvpnmon [--db FILE | --pg CONNINFO] [--monitor NAME] [--json] [--utc]\n"
	      "               pairs --vpn NAME|INDEX --since TIME [--until TIME]\n"
	      "Each probed pair's figures window by window: probes sent, received and lost,\n"
	      "loss, corrected one-way delay (min, average, 99th percentile) and jitter.\n", f);
}

/* Pair by pair (source, destination), then window by window. */
static const struct hist_rows *sort_rows;

static int by_pair(const void *a_, const void *b_)
{
	const struct hist_got *a = &sort_rows->v[*(const size_t *)a_];
	const struct hist_got *b = &sort_rows->v[*(const size_t *)b_];
	const struct hist_pair_window *x = &a->rec.u.pair, *y = &b->rec.u.pair;
	int c;

	if (a->monitor != b->monitor)
		return a->monitor < b->monitor ? -1 : 1;
	if ((c = inet_addr_cmp(&x->src, &y->src)) || (c = inet_addr_cmp(&x->dst, &y->dst)))
		return c;
	if (a->rec.when_ns != b->rec.when_ns)
		return a->rec.when_ns < b->rec.when_ns ? -1 : 1;
	return a < b ? -1 : a > b; /* the store's order */
}

static size_t *pair_order(const struct hist_rows *rows)
{
	size_t *order = malloc((rows->n + 1) * sizeof(*order));

	if (!order)
		return NULL;
	for (size_t i = 0; i < rows->n; i++)
		order[i] = i;
	sort_rows = rows;
	qsort(order, rows->n, sizeof(*order), by_pair);
	return order;
}

static double loss_pct(const struct hist_pair_window *p)
{
	return p->sent ? 100.0 * p->lost / p->sent : 0.0;
}

static int pairs_text(struct cli *c, const struct hist_client *h, const struct hist_rows *rows,
		      const size_t *order)
{
	static const struct table_column cols[] = {
		{"Monitor", TABLE_LEFT},	{"Source PE", TABLE_LEFT},
		{"Destination PE", TABLE_LEFT}, {"Window end", TABLE_LEFT},
		{"Sent", TABLE_RIGHT},		{"Received", TABLE_RIGHT},
		{"Lost", TABLE_RIGHT},		{"Loss %", TABLE_RIGHT},
		{"Delay min ms", TABLE_RIGHT},	{"avg ms", TABLE_RIGHT},
		{"p99 ms", TABLE_RIGHT},	{"Jitter ms", TABLE_RIGHT},
		{"Status", TABLE_LEFT}};
	bool with_monitor = h->n_monitors > 1;
	struct table *t = table_new(cols + !with_monitor, 13 - !with_monitor);

	for (size_t k = 0; t && k < rows->n; k++) {
		const struct hist_got *g = &rows->v[order[k]];
		const struct hist_pair_window *p = &g->rec.u.pair;
		char when[TIMEARG_TEXT_MAX], a[INET_ADDR_STRLEN];

		if (with_monitor)
			table_cell(t, h->monitors[g->monitor]);
		table_cell(t, inet_addr_format(&p->src, a));
		table_cell(t, inet_addr_format(&p->dst, a));
		timearg_format(g->rec.when_ns, c->utc, when, sizeof(when));
		table_cell(t, when);
		table_cellf(t, "%u", p->sent);
		table_cellf(t, "%u", p->received);
		table_cellf(t, "%u", p->lost);
		if (p->sent)
			table_cellf(t, "%.2f", loss_pct(p));
		else
			table_cell(t, "");
		table_cellf(t, "%.3f", p->delay_min_us / 1000.0);
		table_cellf(t, "%.3f", p->delay_avg_us / 1000.0);
		table_cellf(t, "%.3f", p->delay_p99_us / 1000.0);
		table_cellf(t, "%.3f", p->jitter_us / 1000.0);
		table_cell(t, pair_status_name(p->status));
	}
	int rc = t ? table_print(t, c->out) : -1;
	table_free(t);
	return rc;
}

static void json_window(struct json *j, const struct hist_got *g)
{
	const struct hist_pair_window *p = &g->rec.u.pair;

	json_object_begin(j);
	json_time(j, "time", g->rec.when_ns);
	json_key(j, "sent");
	json_uint(j, p->sent);
	json_key(j, "received");
	json_uint(j, p->received);
	json_key(j, "lost");
	json_uint(j, p->lost);
	json_key(j, "loss_pct");
	p->sent ? json_double(j, loss_pct(p), 4) : json_null(j);
	json_key(j, "delay_min_us");
	json_uint(j, p->delay_min_us);
	json_key(j, "delay_avg_us");
	json_uint(j, p->delay_avg_us);
	json_key(j, "delay_p99_us");
	json_uint(j, p->delay_p99_us);
	json_key(j, "jitter_us");
	json_uint(j, p->jitter_us);
	json_key(j, "status");
	json_string(j, pair_status_name(p->status));
	json_object_end(j);
}

static bool same_pair(const struct hist_got *a, const struct hist_got *b)
{
	return a->monitor == b->monitor && inet_addr_eq(&a->rec.u.pair.src, &b->rec.u.pair.src) &&
	       inet_addr_eq(&a->rec.u.pair.dst, &b->rec.u.pair.dst);
}

static int pairs_json(struct cli *c, const struct hist_client *h, const struct hist_rows *rows,
		      const size_t *order, const char *vpn, const struct hist_query *q)
{
	struct json j;

	json_init(&j, c->out);
	json_object_begin(&j);
	json_key(&j, "vpn");
	json_string(&j, vpn);
	json_time_range(&j, q->since_ns, q->until_ns);
	json_key(&j, "pairs");
	json_array_begin(&j);
	for (size_t k = 0; k < rows->n; k++) {
		const struct hist_got *g = &rows->v[order[k]];
		if (k == 0 || !same_pair(g, &rows->v[order[k - 1]])) {
			if (k)
				json_array_end(&j), json_object_end(&j);
			json_object_begin(&j);
			json_key(&j, "monitor");
			json_string(&j, h->monitors[g->monitor]);
			json_key(&j, "vpn_index");
			json_uint(&j, g->rec.u.pair.vpn_index);
			json_key(&j, "source");
			json_addr(&j, &g->rec.u.pair.src);
			json_key(&j, "destination");
			json_addr(&j, &g->rec.u.pair.dst);
			json_key(&j, "windows");
			json_array_begin(&j);
		}
		json_window(&j, g);
	}
	if (rows->n)
		json_array_end(&j), json_object_end(&j);
	json_array_end(&j);
	json_object_end(&j);
	return json_finish(&j);
}

static int pairs_load(struct cli *c, struct hist_client *h, const char *vpn,
		      const struct hist_query *q, struct hist_rows *rows)
{
	uint64_t end = q->until_ns == UINT64_MAX ? c->now_ns : q->until_ns;
	size_t with_vpn = 0;

	for (size_t m = 0; m < h->n_monitors; m++) {
		struct hist_query mq = *q;
		int rc = hist_client_vpn_range(c, h, h->monitors[m], vpn, q->since_ns, end,
					       &mq.vpn_index);
		if (rc < 0)
			return CLI_FAIL;
		if (rc == 1)
			continue;
		with_vpn++;
		if (hist_client_read(c, h, m, HIST_PAIR_WINDOW, &mq, rows) < 0)
			return CLI_FAIL;
	}
	if (with_vpn == 0) {
		cli_error(c, "no VPN \"%s\" between --since and --until", vpn);
		return CLI_FAIL;
	}
	return CLI_OK;
}

int cmd_pairs(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"since", required_argument, NULL, OPT_SINCE},
		{"until", required_argument, NULL, OPT_UNTIL},
		{"vpn", required_argument, NULL, OPT_VPN},
		CLI_COMMON_OPTIONS, CLI_STORE_OPTIONS, {NULL, 0, NULL, 0}};
	const char *since = NULL, *until = NULL, *vpn = NULL;
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
		case OPT_VPN: vpn = optarg; break;
		case OPT_HELP: pairs_usage(c->out); return CLI_OK;
		default: return CLI_USAGE;
		}
	}
	if (!vpn) {
		cli_error(c, "--vpn NAME|INDEX is required");
		return CLI_USAGE;
	}
	if ((rc = hist_client_range(c, since, until, &q)) != CLI_OK)
		return rc;
	if ((rc = hist_client_open(c, &ha, &h)) != CLI_OK)
		return rc;
	struct hist_rows rows = {0};
	size_t *order = NULL;
	rc = pairs_load(c, &h, vpn, &q, &rows);
	if (rc == CLI_OK && !(order = pair_order(&rows)))
		rc = CLI_FAIL;
	if (rc == CLI_OK && (c->json ? pairs_json(c, &h, &rows, order, vpn, &q)
				     : pairs_text(c, &h, &rows, order)) < 0) {
		cli_error(c, "cannot write the output");
		rc = CLI_FAIL;
	}
	free(order);
	hist_rows_free(&rows);
	hist_client_close(&h);
	return rc;
}
