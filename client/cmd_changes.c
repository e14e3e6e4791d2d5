/* mvpnmon changes --since T1 [--until T2] [--vpn V] [--pe ADDR] [--kind K]:
 * the change history, one line per change. */
#include <stdlib.h>
#include <string.h>

#include "../agent/change_text.h"
#include "commands.h"
#include "hist_client.h"
#include "json.h"
#include "table.h"
#include "timearg.h"

struct changes_args {
	const char *since, *until, *vpn, *pe, *kind;
	struct hist_query q;
	struct inet_addr pe_addr;
};

static void changes_usage(FILE *f)
{
	fputs("usage: mvpnmon [--db FILE | --pg CONNINFO] [--monitor NAME] [--json] [--utc]\n"
	      "               changes --since TIME [--until TIME] [--vpn NAME|INDEX] [--pe ADDR]\n"
	      "                       [--kind KIND]\n"
	      "Every change recorded from --since to --until (default: now), in the order they\n"
	      "happened.  KIND: peUp, peDown, peRestart, peChange, join, prune, expiry,\n"
	      "dataMdtUp, dataMdtSwitch, dataMdtDown, pairStatus, tunnelStatus, configReload,\n"
	      "peReclaimed, peBgp.  --pe matches a change's PE or its peer.\n", f);
}

/* The command line as a query; CLI_USAGE after saying what is wrong. */
static int changes_query(struct cli *c, struct changes_args *a)
{
	int rc = hist_client_range(c, a->since, a->until, &a->q);

	if (rc != CLI_OK)
		return rc;
	if (a->pe) {
		if (!inet_addr_parse(&a->pe_addr, a->pe)) {
			cli_error(c, "--pe: \"%s\" is not an IPv4 or IPv6 address", a->pe);
			return CLI_USAGE;
		}
		a->q.pe = &a->pe_addr;
	}
	if (a->kind && !(a->q.change_kind = change_kind_parse(a->kind))) {
		cli_error(c, "--kind: unknown kind \"%s\" (mvpnmon changes --help lists them)",
			  a->kind);
		return CLI_USAGE;
	}
	return CLI_OK;
}

/* Reads every monitor's changes and the names of their VPNs. */
static int changes_load(struct cli *c, struct hist_client *h, struct changes_args *a,
			struct hist_rows *rows, struct vpn_names *names, size_t *start)
{
	uint64_t end = a->q.until_ns == UINT64_MAX ? c->now_ns : a->q.until_ns;
	size_t with_vpn = 0;

	for (size_t m = 0; m < h->n_monitors; m++) {
		struct hist_query q = a->q;
		start[m] = rows->n;
		if (vpn_names_add(c, h, h->monitors[m], end, &names[m]) < 0 ||
		    vpn_names_add(c, h, h->monitors[m], a->q.since_ns, &names[m]) < 0)
			return CLI_FAIL;
		if (a->vpn) {
			int rc = hist_client_vpn_range(c, h, h->monitors[m], a->vpn, a->q.since_ns,
						       end, &q.vpn_index);
			if (rc < 0)
				return CLI_FAIL;
			if (rc == 1)
				continue;
			with_vpn++;
		}
		if (hist_client_read(c, h, m, HIST_CHANGE, &q, rows) < 0)
			return CLI_FAIL;
	}
	start[h->n_monitors] = rows->n;
	if (a->vpn && with_vpn == 0) {
		cli_error(c, "no VPN \"%s\" between --since and --until", a->vpn);
		return CLI_FAIL;
	}
	return CLI_OK;
}

/*
 * One monitor's changes are in the order they happened (an expiry is dated at
 * its deadline, so time alone does not say it); several monitors' are merged
 * by time, keeping each one's order.  Returns the rows' order, or NULL.
 */
static size_t *merge(const struct hist_rows *rows, const size_t *start, size_t n_mon)
{
	size_t *order = malloc((rows->n + 1) * sizeof(*order));
	size_t *next = calloc(n_mon + 1, sizeof(*next));

	if (!order || !next) {
		free(order);
		free(next);
		return NULL;
	}
	memcpy(next, start, n_mon * sizeof(*next));
	for (size_t k = 0; k < rows->n; k++) {
		size_t best = SIZE_MAX;
		for (size_t m = 0; m < n_mon; m++)
			if (next[m] < start[m + 1] &&
			    (best == SIZE_MAX ||
			     rows->v[next[m]].rec.when_ns < rows->v[next[best]].rec.when_ns))
				best = m;
		order[k] = next[best]++;
	}
	free(next);
	return order;
}

static const char *vpn_label(const struct vpn_names *names, uint32_t index, char *buf,
			     size_t size)
{
	const char *name = index ? vpn_names_find(names, index) : "";
	if (name)
		return name;
	snprintf(buf, size, "#%u", index); /* a VPN no checkpoint in the range names */
	return buf;
}

static int changes_text(struct cli *c, const struct hist_client *h, const struct hist_rows *rows,
			const size_t *order, const struct vpn_names *names)
{
	static const struct table_column cols[] = {
		{"Time", TABLE_LEFT},	  {"Monitor", TABLE_LEFT},  {"VPN", TABLE_LEFT},
		{"Kind", TABLE_LEFT},	  {"PE", TABLE_LEFT},	    {"C-source", TABLE_LEFT},
		{"C-group", TABLE_LEFT}, {"P-group", TABLE_LEFT}, {"Previous -> New", TABLE_LEFT}};
	struct table_column use[9];
	bool with_monitor = h->n_monitors > 1;
	size_t n = 0;

	for (size_t i = 0; i < 9; i++)
		if (i != 1 || with_monitor)
			use[n++] = cols[i];
	struct table *t = table_new(use, n);
	for (size_t k = 0; t && k < rows->n; k++) {
		const struct hist_got *g = &rows->v[order[k]];
		const struct change *ch = &g->rec.u.change;
		char when[TIMEARG_TEXT_MAX], a[INET_ADDR_STRLEN], prev[256], cur[256], idx[16];

		timearg_format(g->rec.when_ns, c->utc, when, sizeof(when));
		table_cell(t, when);
		if (with_monitor)
			table_cell(t, h->monitors[g->monitor]);
		table_cell(t, vpn_label(&names[g->monitor], ch->vpn_index, idx, sizeof(idx)));
		table_cell(t, change_kind_name(ch->kind));
		table_cell(t, inet_addr_format(&ch->pe, a));
		table_cell(t, inet_addr_format(&ch->c_source, a));
		table_cell(t, inet_addr_format(&ch->c_group, a));
		table_cell(t, inet_addr_format(&ch->p_group, a));
		change_value_text(ch, &ch->previous, prev, sizeof(prev));
		change_value_text(ch, &ch->current, cur, sizeof(cur));
		/* "" is nothing, or a PE that is down (change_text.h) */
		table_cellf(t, "%s -> %s", prev[0] ? prev : "(none)", cur[0] ? cur : "(none)");
	}
	int rc = t ? table_print(t, c->out) : -1;
	table_free(t);
	return rc;
}

static void json_value(struct json *j, const char *key, const struct change *ch,
		       const union change_value *v)
{
	char text[256];

	json_key(j, key);
	if (!v->present) {
		json_null(j);
		return;
	}
	change_value_text(ch, v, text, sizeof(text));
	json_string(j, text);
}

static int changes_json(struct cli *c, const struct hist_client *h, const struct hist_rows *rows,
			const size_t *order, const struct vpn_names *names,
			const struct changes_args *a)
{
	struct json j;

	json_init(&j, c->out);
	json_object_begin(&j);
	json_time_range(&j, a->q.since_ns, a->q.until_ns);
	json_key(&j, "changes");
	json_array_begin(&j);
	for (size_t k = 0; k < rows->n; k++) {
		const struct hist_got *g = &rows->v[order[k]];
		const struct change *ch = &g->rec.u.change;
		const char *name = vpn_names_find(&names[g->monitor], ch->vpn_index);

		json_object_begin(&j);
		json_key(&j, "monitor");
		json_string(&j, h->monitors[g->monitor]);
		json_key(&j, "seq");
		json_uint(&j, g->rec.seq);
		json_time(&j, "time", g->rec.when_ns);
		json_key(&j, "vpn_index");
		json_uint(&j, ch->vpn_index);
		json_key(&j, "vpn");
		name ? json_string(&j, name) : json_null(&j);
		json_key(&j, "kind");
		json_string(&j, change_kind_name(ch->kind));
		json_key(&j, "pe");
		json_addr(&j, &ch->pe);
		json_key(&j, "peer");
		json_addr(&j, &ch->peer);
		json_key(&j, "c_source");
		json_addr(&j, &ch->c_source);
		json_key(&j, "c_group");
		json_addr(&j, &ch->c_group);
		json_key(&j, "p_group");
		json_addr(&j, &ch->p_group);
		json_value(&j, "previous", ch, &ch->previous);
		json_value(&j, "new", ch, &ch->current);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_object_end(&j);
	return json_finish(&j);
}

int cmd_changes(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"since", required_argument, NULL, OPT_SINCE},
		{"until", required_argument, NULL, OPT_UNTIL},
		{"vpn", required_argument, NULL, OPT_VPN},
		{"pe", required_argument, NULL, OPT_PE},
		{"kind", required_argument, NULL, OPT_KIND},
		CLI_COMMON_OPTIONS, CLI_STORE_OPTIONS, {NULL, 0, NULL, 0}};
	struct changes_args a = {0};
	struct hist_args ha = {0};
	struct hist_client h;
	int opt, rc;

	while ((opt = cli_getopt(c, argc, argv, opts)) != -1) {
		if (cli_common_option(c, opt) || hist_args_option(&ha, opt, optarg))
			continue;
		switch (opt) {
		case OPT_SINCE: a.since = optarg; break;
		case OPT_UNTIL: a.until = optarg; break;
		case OPT_VPN: a.vpn = optarg; break;
		case OPT_PE: a.pe = optarg; break;
		case OPT_KIND: a.kind = optarg; break;
		case OPT_HELP: changes_usage(c->out); return CLI_OK;
		default: return CLI_USAGE;
		}
	}
	if ((rc = changes_query(c, &a)) != CLI_OK)
		return rc;
	if ((rc = hist_client_open(c, &ha, &h)) != CLI_OK)
		return rc;
	struct hist_rows rows = {0};
	struct vpn_names *names = calloc(h.n_monitors, sizeof(*names));
	size_t *start = calloc(h.n_monitors + 1, sizeof(*start)), *order = NULL;
	rc = names && start ? changes_load(c, &h, &a, &rows, names, start) : CLI_FAIL;
	if (rc == CLI_OK && !(order = merge(&rows, start, h.n_monitors)))
		rc = CLI_FAIL;
	if (rc == CLI_OK && (c->json ? changes_json(c, &h, &rows, order, names, &a)
				     : changes_text(c, &h, &rows, order, names)) < 0) {
		cli_error(c, "cannot write the output");
		rc = CLI_FAIL;
	}
	for (size_t m = 0; names && m < h.n_monitors; m++)
		vpn_names_free(&names[m]);
	free(names);
	free(start);
	free(order);
	hist_rows_free(&rows);
	hist_client_close(&h);
	return rc;
}
