/* mvpnmon state --at TIME [--vpn NAME|INDEX]: the MIB's tables as they were. */
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "hist_client.h"
#include "json.h"
#include "mibenum.h"
#include "state_view.h"
#include "table.h"
#include "timearg.h"

struct mon_state {
	const char *monitor;
	struct hist_checkpoint *cp; /* NULL: nothing recorded at that time */
	struct state_view sv;
};

struct state_out {
	struct cli *c;
	struct mon_state *ms;
	size_t n;
	bool monitor_column;
};

static const char *vpn_name(const struct hist_checkpoint *cp, uint32_t index)
{
	const struct hist_vpn_row *v = checkpoint_vpn(cp, index);
	return v ? v->name : "";
}

static void cell_addr(struct table *t, const struct inet_addr *a)
{
	char buf[INET_ADDR_STRLEN];
	table_cell(t, inet_addr_format(a, buf));
}

static void cell_time(struct table *t, uint64_t ns, bool utc)
{
	char buf[TIMEARG_TEXT_MAX];

	if (!ns) {
		table_cell(t, "");
		return;
	}
	timearg_format(ns, utc, buf, sizeof(buf));
	table_cell(t, buf);
}

/* A table's columns with "Monitor" first when several monitors are shown. */
static struct table *new_table(const struct state_out *o, const struct table_column *cols,
			       size_t n, struct table_column *buf)
{
	size_t k = 0;

	if (o->monitor_column)
		buf[k++] = (struct table_column){"Monitor", TABLE_LEFT};
	memcpy(buf + k, cols, n * sizeof(*cols));
	return table_new(buf, n + k);
}

static int print_table(struct state_out *o, const char *title, struct table *t)
{
	int rc;

	if (!t)
		return -1;
	fprintf(o->c->out, "\n%s\n", title);
	rc = table_print(t, o->c->out);
	table_free(t);
	return rc;
}

static int vpn_table(struct state_out *o)
{
	static const struct table_column cols[] = {
		{"Index", TABLE_RIGHT},	  {"Name", TABLE_LEFT},	    {"Default MDT", TABLE_LEFT},
		{"Expected", TABLE_RIGHT}, {"Active", TABLE_RIGHT},   {"Missing", TABLE_RIGHT},
		{"Unexpected", TABLE_RIGHT}, {"Config", TABLE_LEFT}, {"C-groups", TABLE_RIGHT},
		{"Data MDTs", TABLE_RIGHT}};
	struct table_column buf[16];
	struct table *t = new_table(o, cols, sizeof(cols) / sizeof(cols[0]), buf);

	for (size_t m = 0; t && m < o->n; m++)
		for (size_t i = 0; i < o->ms[m].sv.n_vpns; i++) {
			const struct sv_vpn *v = &o->ms[m].sv.vpns[i];
			if (o->monitor_column)
				table_cell(t, o->ms[m].monitor);
			table_cellf(t, "%u", v->row->index);
			table_cell(t, v->row->name);
			cell_addr(t, &v->row->default_mdt);
			table_cellf(t, "%u", v->expected);
			table_cellf(t, "%u", v->active);
			table_cellf(t, "%u", v->missing);
			table_cellf(t, "%u", v->unexpected);
			table_cell(t, mib_config_status_name(v->config));
			table_cellf(t, "%u", v->cgroups);
			table_cellf(t, "%u", v->data_mdts);
		}
	return print_table(o, "VPNs (mvpnVpnTable)", t);
}

static int pe_table(struct state_out *o)
{
	static const struct table_column cols[] = {
		{"VPN", TABLE_LEFT},	     {"PE", TABLE_LEFT},	  {"Status", TABLE_LEFT},
		{"Expected", TABLE_LEFT},    {"Hold", TABLE_RIGHT},	  {"Generation ID", TABLE_LEFT},
		{"DR priority", TABLE_RIGHT}, {"C-address", TABLE_LEFT}, {"First seen", TABLE_LEFT}};
	struct table_column buf[16];
	struct table *t = new_table(o, cols, sizeof(cols) / sizeof(cols[0]), buf);

	for (size_t m = 0; t && m < o->n; m++)
		for (size_t i = 0; i < o->ms[m].sv.n_pes; i++) {
			const struct sv_pe *p = &o->ms[m].sv.pes[i];
			const struct change_pe_value *v = &p->row->value;
			if (o->monitor_column)
				table_cell(t, o->ms[m].monitor);
			table_cell(t, vpn_name(o->ms[m].cp, p->row->vpn_index));
			cell_addr(t, &p->row->addr);
			table_cell(t, mib_pe_status_name(p->status));
			table_cell(t, p->row->expected ? "true" : "false");
			if (v->present) {
				table_cellf(t, "%u", v->holdtime);
				if (v->has_genid)
					table_cellf(t, "0x%08x", v->genid);
				else
					table_cell(t, "");
				table_cellf(t, "%u", v->dr_priority);
			} else {
				table_cell(t, "");
				table_cell(t, "");
				table_cell(t, "");
			}
			cell_addr(t, &v->caddr);
			cell_time(t, p->row->first_seen_ns, o->c->utc);
		}
	return print_table(o, "PEs (mvpnPeTable)", t);
}

static int cgpe_table(struct state_out *o)
{
	static const struct table_column cols[] = {
		{"VPN", TABLE_LEFT},   {"C-group", TABLE_LEFT},	 {"C-source", TABLE_LEFT},
		{"Kind", TABLE_LEFT},  {"PE", TABLE_LEFT},	 {"Role", TABLE_LEFT},
		{"State", TABLE_LEFT}, {"Other", TABLE_LEFT},	 {"Joiners", TABLE_RIGHT},
		{"RP", TABLE_LEFT},    {"P-group", TABLE_LEFT}, {"Hold", TABLE_RIGHT}};
	struct table_column buf[16];
	struct table *t = new_table(o, cols, sizeof(cols) / sizeof(cols[0]), buf);

	for (size_t m = 0; t && m < o->n; m++)
		for (size_t i = 0; i < o->ms[m].sv.n_cgpes; i++) {
			const struct sv_cgpe *r = &o->ms[m].sv.cgpes[i];
			if (o->monitor_column)
				table_cell(t, o->ms[m].monitor);
			table_cell(t, vpn_name(o->ms[m].cp, r->vpn_index));
			cell_addr(t, &r->group);
			cell_addr(t, &r->source);
			table_cell(t, mib_cg_kind_name(r->kind));
			cell_addr(t, &r->pe);
			table_cell(t, mib_cg_role_name(r->role));
			table_cell(t, mib_cg_state_name(r->state));
			if (r->other_known)
				cell_addr(t, &r->other);
			else
				table_cell(t, "");
			table_cellf(t, "%u", r->joiners);
			if (r->rp_known)
				cell_addr(t, &r->rp);
			else
				table_cell(t, "");
			cell_addr(t, &r->p_group);
			if (r->hold_known)
				table_cellf(t, "%u", r->holdtime);
			else
				table_cell(t, "");
		}
	return print_table(o, "C-group -> PE (mvpnCGroupPeTable)", t);
}

static int flow_table(struct state_out *o)
{
	static const struct table_column cols[] = {
		{"VPN", TABLE_LEFT}, {"C-group", TABLE_LEFT}, {"C-source", TABLE_LEFT},
		{"MDT", TABLE_LEFT}, {"P-group", TABLE_LEFT}, {"PE", TABLE_LEFT}};
	struct table_column buf[16];
	struct table *t = new_table(o, cols, sizeof(cols) / sizeof(cols[0]), buf);

	for (size_t m = 0; t && m < o->n; m++)
		for (size_t i = 0; i < o->ms[m].sv.n_flows; i++) {
			const struct sv_flow *f = &o->ms[m].sv.flows[i];
			if (o->monitor_column)
				table_cell(t, o->ms[m].monitor);
			table_cell(t, vpn_name(o->ms[m].cp, f->vpn_index));
			cell_addr(t, &f->group);
			cell_addr(t, &f->source);
			table_cell(t, mib_mdt_type_name(f->mdt_type));
			cell_addr(t, &f->p_group);
			cell_addr(t, &f->announcer);
		}
	return print_table(o, "C-group -> P-group (mvpnCGroupPGroupTable)", t);
}

static int print_text(struct state_out *o, uint64_t at)
{
	char when[TIMEARG_TEXT_MAX];

	timearg_format(at, o->c->utc, when, sizeof(when));
	fprintf(o->c->out, "State at %s\n", when);
	if (vpn_table(o) < 0 || pe_table(o) < 0 || cgpe_table(o) < 0 || flow_table(o) < 0)
		return -1;
	return ferror(o->c->out) ? -1 : 0;
}

/* ---- JSON: the same rows, each with its monitor and VPN ---- */

static void json_row_head(struct json *j, const struct mon_state *ms, uint32_t vpn)
{
	json_object_begin(j);
	json_key(j, "monitor");
	json_string(j, ms->monitor);
	json_key(j, "vpn_index");
	json_uint(j, vpn);
	json_key(j, "vpn");
	json_string(j, vpn_name(ms->cp, vpn));
}

static void json_kaddr(struct json *j, const char *key, const struct inet_addr *a, bool known)
{
	json_key(j, key);
	if (known)
		json_addr(j, a);
	else
		json_null(j);
}

static void json_kstr(struct json *j, const char *key, const char *s)
{
	json_key(j, key);
	json_string(j, s);
}

static void json_kuint(struct json *j, const char *key, uint64_t v)
{
	json_key(j, key);
	json_uint(j, v);
}

static void json_vpns(struct json *j, const struct state_out *o)
{
	json_key(j, "vpns");
	json_array_begin(j);
	for (size_t m = 0; m < o->n; m++)
		for (size_t i = 0; i < o->ms[m].sv.n_vpns; i++) {
			const struct sv_vpn *v = &o->ms[m].sv.vpns[i];
			json_row_head(j, &o->ms[m], v->row->index);
			json_kaddr(j, "default_mdt", &v->row->default_mdt, true);
			json_kuint(j, "expected_pes", v->expected);
			json_kuint(j, "active_pes", v->active);
			json_kuint(j, "missing_pes", v->missing);
			json_kuint(j, "unexpected_pes", v->unexpected);
			json_kstr(j, "config_status", mib_config_status_name(v->config));
			json_kuint(j, "cgroups", v->cgroups);
			json_kuint(j, "data_mdts", v->data_mdts);
			json_object_end(j);
		}
	json_array_end(j);
}

static void json_pes(struct json *j, const struct state_out *o)
{
	json_key(j, "pes");
	json_array_begin(j);
	for (size_t m = 0; m < o->n; m++)
		for (size_t i = 0; i < o->ms[m].sv.n_pes; i++) {
			const struct sv_pe *p = &o->ms[m].sv.pes[i];
			const struct change_pe_value *v = &p->row->value;
			json_row_head(j, &o->ms[m], p->row->vpn_index);
			json_kaddr(j, "pe", &p->row->addr, true);
			json_kstr(j, "status", mib_pe_status_name(p->status));
			json_key(j, "expected");
			json_bool(j, p->row->expected);
			json_key(j, "hold_time");
			v->present ? json_uint(j, v->holdtime) : json_null(j);
			json_key(j, "generation_id");
			v->present && v->has_genid ? json_uint(j, v->genid) : json_null(j);
			json_key(j, "dr_priority");
			v->present ? json_uint(j, v->dr_priority) : json_null(j);
			json_kaddr(j, "c_address", &v->caddr, true);
			if (p->row->first_seen_ns) {
				json_time(j, "first_seen", p->row->first_seen_ns);
			} else {
				json_key(j, "first_seen");
				json_null(j);
				json_key(j, "first_seen_ns");
				json_null(j);
			}
			json_object_end(j);
		}
	json_array_end(j);
}

static void json_cgpes(struct json *j, const struct state_out *o)
{
	json_key(j, "cgroup_pes");
	json_array_begin(j);
	for (size_t m = 0; m < o->n; m++)
		for (size_t i = 0; i < o->ms[m].sv.n_cgpes; i++) {
			const struct sv_cgpe *r = &o->ms[m].sv.cgpes[i];
			json_row_head(j, &o->ms[m], r->vpn_index);
			json_kaddr(j, "c_group", &r->group, true);
			json_kaddr(j, "c_source", &r->source, true);
			json_kstr(j, "kind", mib_cg_kind_name(r->kind));
			json_kaddr(j, "pe", &r->pe, true);
			json_kstr(j, "role", mib_cg_role_name(r->role));
			json_kstr(j, "state", mib_cg_state_name(r->state));
			json_kaddr(j, "other", &r->other, r->other_known);
			json_kuint(j, "joiners", r->joiners);
			json_kaddr(j, "rp", &r->rp, r->rp_known);
			json_kaddr(j, "p_group", &r->p_group, true);
			json_key(j, "hold_time");
			r->hold_known ? json_uint(j, r->holdtime) : json_null(j);
			json_object_end(j);
		}
	json_array_end(j);
}

static void json_flows(struct json *j, const struct state_out *o)
{
	json_key(j, "cgroup_pgroups");
	json_array_begin(j);
	for (size_t m = 0; m < o->n; m++)
		for (size_t i = 0; i < o->ms[m].sv.n_flows; i++) {
			const struct sv_flow *f = &o->ms[m].sv.flows[i];
			json_row_head(j, &o->ms[m], f->vpn_index);
			json_kaddr(j, "c_group", &f->group, true);
			json_kaddr(j, "c_source", &f->source, true);
			json_kstr(j, "mdt_type", mib_mdt_type_name(f->mdt_type));
			json_kaddr(j, "p_group", &f->p_group, true);
			json_kaddr(j, "pe", &f->announcer, true);
			json_object_end(j);
		}
	json_array_end(j);
}

static int print_json(struct state_out *o, uint64_t at)
{
	struct json j;

	json_init(&j, o->c->out);
	json_object_begin(&j);
	json_time(&j, "at", at);
	json_vpns(&j, o);
	json_pes(&j, o);
	json_cgpes(&j, o);
	json_flows(&j, o);
	json_object_end(&j);
	return json_finish(&j);
}

/* ---- the command ---- */

static void state_usage(FILE *f)
{
	fputs("usage: mvpnmon [--db FILE | --pg CONNINFO] [--monitor NAME] [--json] [--utc]\n"
	      "               state [--at TIME] [--vpn NAME|INDEX]\n"
	      "The VPN, PE, C-group -> PE and C-group -> P-group tables as they were at TIME\n"
	      "(default: now).  TIME: \"2026-12-01 03:00[:15]\" (local time), with Z or an\n"
	      "offset (+01:00), @SECONDS, now, -30m, -2h, -1d.\n", f);
}

/* The state of every monitor read; counts those with history and with the VPN. */
static int load(struct cli *c, struct hist_client *h, uint64_t at, const char *vpn,
		struct mon_state *ms, size_t *with_history, size_t *with_vpn)
{
	char err[256];

	for (size_t m = 0; m < h->n_monitors; m++) {
		uint32_t index = 0;
		ms[m].monitor = h->monitors[m];
		int rc = hist_store_state_at(h->store, ms[m].monitor, at, 0, &ms[m].cp, err,
					     sizeof(err));
		if (rc < 0) {
			cli_error(c, "monitor \"%s\": %s", ms[m].monitor, err);
			return CLI_FAIL;
		}
		if (rc == 1) {
			ms[m].cp = NULL;
			continue;
		}
		(*with_history)++;
		if (vpn) {
			const struct hist_vpn_row *row = checkpoint_vpn_arg(ms[m].cp, vpn);
			if (!row)
				continue; /* shown empty */
			index = row->index;
			(*with_vpn)++;
		}
		if (state_view_build(&ms[m].sv, ms[m].cp, vpn ? index : 0) < 0) {
			cli_error(c, "out of memory");
			return CLI_FAIL;
		}
	}
	return CLI_OK;
}

int cmd_state(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"at", required_argument, NULL, OPT_AT}, {"vpn", required_argument, NULL, OPT_VPN},
		CLI_COMMON_OPTIONS, CLI_STORE_OPTIONS, {NULL, 0, NULL, 0}};
	struct hist_args ha = {0};
	const char *at_text = "now", *vpn = NULL;
	struct hist_client h;
	char err[256], when[TIMEARG_TEXT_MAX];
	uint64_t at;
	int opt, rc;

	while ((opt = cli_getopt(c, argc, argv, opts)) != -1) {
		if (cli_common_option(c, opt) || hist_args_option(&ha, opt, optarg))
			continue;
		switch (opt) {
		case OPT_AT: at_text = optarg; break;
		case OPT_VPN: vpn = optarg; break;
		case OPT_HELP: state_usage(c->out); return CLI_OK;
		default: return CLI_USAGE;
		}
	}
	if (timearg_parse(at_text, c->now_ns, &at, err, sizeof(err)) < 0) {
		cli_error(c, "--at: %s", err);
		return CLI_USAGE;
	}
	if ((rc = hist_client_open(c, &ha, &h)) != CLI_OK)
		return rc;
	struct mon_state *ms = calloc(h.n_monitors, sizeof(*ms));
	size_t with_history = 0, with_vpn = 0;
	rc = ms ? load(c, &h, at, vpn, ms, &with_history, &with_vpn) : CLI_FAIL;
	timearg_format(at, c->utc, when, sizeof(when));
	if (rc == CLI_OK && with_history == 0) {
		cli_error(c, "nothing recorded at or before %s", when);
		rc = CLI_FAIL;
	} else if (rc == CLI_OK && vpn && with_vpn == 0) {
		cli_error(c, "no VPN \"%s\" at %s", vpn, when);
		rc = CLI_FAIL;
	}
	if (rc == CLI_OK) {
		struct state_out o = {.c = c, .ms = ms, .n = h.n_monitors,
				      .monitor_column = h.n_monitors > 1};
		if ((c->json ? print_json(&o, at) : print_text(&o, at)) < 0) {
			cli_error(c, "cannot write the output");
			rc = CLI_FAIL;
		}
	}
	for (size_t m = 0; ms && m < h.n_monitors; m++) {
		state_view_free(&ms[m].sv);
		if (ms[m].cp)
			hist_checkpoint_free(ms[m].cp);
	}
	free(ms);
	hist_client_close(&h);
	return rc;
}
