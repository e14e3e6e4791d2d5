/*
 * The live commands: vpns, pes, groups, pairs, tunnels and alarms, read from
 * a running agent (live.h) and shown as the history commands show theirs:
 * aligned tables or --json, addresses dotted or in RFC 5952 form, PEs by
 * their configured names (mvpnPeName and its kin), times from DateAndTime.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../agent/oids.h"
#include "commands.h"
#include "json.h"
#include "live.h"
#include "mibenum.h"
#include "table.h"
#include "timearg.h"

/* ---- values ---- */

static const char *addr_text(const struct inet_addr *a, char buf[INET_ADDR_STRLEN])
{
	return inet_addr_format(a, buf);
}

/* A DateAndTime (RFC 2579) as ns since the epoch; 0 for the all-zero "never". */
static uint64_t date_ns(const struct live_value *v)
{
	if (!v->present || v->len < 8)
		return 0;
	const uint8_t *d = v->bytes;
	struct tm tm = {.tm_year = (d[0] << 8 | d[1]) - 1900, .tm_mon = d[2] - 1, .tm_mday = d[3],
			.tm_hour = d[4], .tm_min = d[5], .tm_sec = d[6]};
	if (d[0] == 0 && d[1] == 0)
		return 0;
	time_t t = timegm(&tm);
	if (v->len >= 11) { /* the agent writes UTC, "+0:0"; any other offset is honoured */
		long off = (long)d[9] * 3600 + (long)d[10] * 60;
		t += d[8] == '+' ? -off : off;
	}
	return t < 0 ? 0 : (uint64_t)t * NS_PER_SEC + (uint64_t)d[7] * (NS_PER_SEC / 10);
}

/* A DateAndTime the agent gave as all zero ("never") is null in JSON. */
static void json_time_or_null(struct json *j, const char *key, uint64_t ns)
{
	if (ns)
		json_time(j, key, ns);
	else
		json_key(j, key), json_null(j);
}

static void cell_time(struct cli *c, struct table *t, uint64_t ns)
{
	char buf[TIMEARG_TEXT_MAX];

	if (!ns) {
		table_cell(t, "never");
		return;
	}
	timearg_format(ns, c->utc, buf, sizeof(buf));
	table_cell(t, buf);
}

static int64_t as_int32(const struct live_value *v)
{
	return (int64_t)(int32_t)(uint32_t)v->num;
}

static const char *label(const char *const *names, size_t n, uint64_t v)
{
	return v < n && names[v] ? names[v] : "?";
}
#define LABEL(names, v) label(names, sizeof(names) / sizeof(names[0]), v)

static const char *const passive_status[] = {NULL, "disabled", "waiting", "active"};
static const char *const probe_status[] = {NULL, "disabled", "starting", "running", "failed"};
static const char *const pair_status[] = {NULL, "starting", "ok", "lossAlarm", "delayAlarm",
					  "jitterAlarm", "unreachable"};
static const char *const tunnel_status[] = {NULL, "starting", "up", "unreachable"};
static const char *const alarm_kind[] = {NULL, "peMissing", "peUnexpected", "pairLoss",
					 "pairDelay", "pairJitter", "peBgpSilent", "peNotInBgp"};

static int print_table(struct cli *c, struct table *t)
{
	int rc = t && table_print(t, c->out) == 0 ? CLI_OK : CLI_FAIL;

	table_free(t);
	return rc;
}

/* ---- the VPN operand ---- */

struct vpn_ref {
	uint32_t index;
	char name[80];
};

/* The operand as a VPN: its name, or its index. */
static int find_vpn(struct cli *c, struct live_cmd *lc, struct vpn_ref *out)
{
	static const unsigned cols[] = {COL_VPN_NAME};
	struct live_table t = {0};

	if (lc->n_operands != 1) {
		cli_error(c, "name one VPN, by name or index (mvpnmon vpns lists them)");
		return CLI_USAGE;
	}
	const char *want = lc->operands[0];
	if (live_read(c, lc->l, ARC_VPN_TABLE, cols, 1, NULL, 0, &t) < 0)
		return CLI_FAIL;
	int rc = CLI_FAIL;
	for (size_t i = 0; i < t.n && rc != CLI_OK; i++) {
		char index[16];
		snprintf(index, sizeof(index), "%u", t.rows[i].idx[0]);
		if (strcmp(live_text(&t.rows[i].v[0]), want) == 0 || strcmp(index, want) == 0) {
			out->index = t.rows[i].idx[0];
			snprintf(out->name, sizeof(out->name), "%s", live_text(&t.rows[i].v[0]));
			rc = CLI_OK;
		}
	}
	if (rc != CLI_OK)
		cli_error(c, "no VPN \"%s\" on the agent (%zu VPNs)", want, t.n);
	live_table_free(&t);
	return rc;
}

static void json_vpn(struct json *j, const struct vpn_ref *v)
{
	json_key(j, "vpn");
	json_object_begin(j);
	json_key(j, "index");
	json_uint(j, v->index);
	json_key(j, "name");
	json_string(j, v->name);
	json_object_end(j);
}

/* A listing's output: rows into an aligned table, or items of a JSON array
 * named key (after the VPN's object, when there is one). */
struct listing {
	struct json j;
	struct table *tab;
};

static void listing_begin(struct cli *c, struct listing *o, const struct table_column *head,
			  size_t ncols, const struct vpn_ref *vpn, const char *key)
{
	o->tab = NULL;
	if (!c->json) {
		o->tab = table_new(head, ncols);
		return;
	}
	json_init(&o->j, c->out);
	json_object_begin(&o->j);
	if (vpn)
		json_vpn(&o->j, vpn);
	json_key(&o->j, key);
	json_array_begin(&o->j);
}

static int listing_end(struct cli *c, struct listing *o)
{
	if (!c->json)
		return print_table(c, o->tab);
	json_array_end(&o->j);
	json_object_end(&o->j);
	return json_finish(&o->j) == 0 ? CLI_OK : CLI_FAIL;
}

/* ---- vpns ---- */

int cmd_vpns(struct cli *c, struct live_cmd *lc)
{
	static const unsigned cols[] = {COL_VPN_NAME, COL_VPN_DEFAULT_MDT_TYPE, COL_VPN_DEFAULT_MDT,
					COL_VPN_EXPECTED_PES, COL_VPN_ACTIVE_PES, COL_VPN_MISSING_PES,
					COL_VPN_UNEXPECTED_PES, COL_VPN_CONFIG_STATUS, COL_VPN_CGROUPS,
					COL_VPN_DATA_MDTS, COL_VPN_PASSIVE_STATUS,
					COL_VPN_PROBE_STATUS};
	static const struct table_column head[] = {
		{"INDEX", TABLE_RIGHT}, {"NAME", TABLE_LEFT}, {"DEFAULT-MDT", TABLE_LEFT},
		{"EXPECTED", TABLE_RIGHT}, {"ACTIVE", TABLE_RIGHT}, {"MISSING", TABLE_RIGHT},
		{"UNEXPECTED", TABLE_RIGHT}, {"CONFIG", TABLE_LEFT}, {"C-GROUPS", TABLE_RIGHT},
		{"DATA-MDTS", TABLE_RIGHT}, {"PASSIVE", TABLE_LEFT}, {"PROBE", TABLE_LEFT}};
	struct live_table t = {0};
	char a[INET_ADDR_STRLEN];

	if (lc->n_operands) {
		cli_error(c, "takes no operand");
		return CLI_USAGE;
	}
	if (live_read(c, lc->l, ARC_VPN_TABLE, cols, 12, NULL, 0, &t) < 0) {
		live_table_free(&t);
		return CLI_FAIL;
	}
	struct listing o;
	listing_begin(c, &o, head, 12, NULL, "vpns");
	struct json *j = &o.j;
	struct table *tab = o.tab;
	for (size_t i = 0; i < t.n; i++) {
		const struct live_value *v = t.rows[i].v;
		struct inet_addr mdt;
		live_value_addr(&v[1], &v[2], &mdt);
		if (c->json) {
			json_object_begin(j);
			json_key(j, "index"), json_uint(j, t.rows[i].idx[0]);
			json_key(j, "name"), json_string(j, live_text(&v[0]));
			json_key(j, "default_mdt"), json_addr(j, &mdt);
			json_key(j, "expected_pes"), json_uint(j, v[3].num);
			json_key(j, "active_pes"), json_uint(j, v[4].num);
			json_key(j, "missing_pes"), json_uint(j, v[5].num);
			json_key(j, "unexpected_pes"), json_uint(j, v[6].num);
			json_key(j, "config_status"), json_string(j, mib_config_status_name((uint8_t)v[7].num));
			json_key(j, "cgroups"), json_uint(j, v[8].num);
			json_key(j, "data_mdts"), json_uint(j, v[9].num);
			json_key(j, "passive_status"), json_string(j, LABEL(passive_status, v[10].num));
			json_key(j, "probe_status"), json_string(j, LABEL(probe_status, v[11].num));
			json_object_end(j);
			continue;
		}
		table_cellf(tab, "%u", t.rows[i].idx[0]);
		table_cell(tab, live_text(&v[0]));
		table_cell(tab, addr_text(&mdt, a));
		for (int k = 3; k <= 6; k++)
			table_cellf(tab, "%llu", (unsigned long long)v[k].num);
		table_cell(tab, mib_config_status_name((uint8_t)v[7].num));
		table_cellf(tab, "%llu", (unsigned long long)v[8].num);
		table_cellf(tab, "%llu", (unsigned long long)v[9].num);
		table_cell(tab, LABEL(passive_status, v[10].num));
		table_cell(tab, LABEL(probe_status, v[11].num));
	}
	live_table_free(&t);
	return listing_end(c, &o);
}

/* ---- pes ---- */

int cmd_pes(struct cli *c, struct live_cmd *lc)
{
	static const unsigned cols[] = {COL_PE_NAME, COL_PE_STATUS, COL_PE_EXPECTED,
					COL_PE_CADDR_TYPE, COL_PE_CADDR, COL_PE_HOLD_TIME,
					COL_PE_EXPIRES_IN, COL_PE_GENERATION_ID, COL_PE_DR_PRIORITY,
					COL_PE_HELLOS, COL_PE_JOIN_PRUNES, COL_PE_LAST_HELLO_DATE};
	static const struct table_column head[] = {
		{"PE", TABLE_LEFT}, {"NAME", TABLE_LEFT}, {"STATUS", TABLE_LEFT},
		{"EXPECTED", TABLE_LEFT}, {"C-ADDRESS", TABLE_LEFT}, {"HOLD", TABLE_RIGHT},
		{"EXPIRES", TABLE_RIGHT}, {"GENID", TABLE_RIGHT}, {"DR", TABLE_RIGHT},
		{"HELLOS", TABLE_RIGHT}, {"JOIN/PRUNES", TABLE_RIGHT}, {"LAST-HELLO", TABLE_LEFT}};
	struct vpn_ref vpn;
	struct live_table t = {0};
	char a[INET_ADDR_STRLEN], ca[INET_ADDR_STRLEN];
	int rc = find_vpn(c, lc, &vpn);

	if (rc != CLI_OK)
		return rc;
	if (live_read(c, lc->l, ARC_PE_TABLE, cols, 12, &vpn.index, 1, &t) < 0) {
		live_table_free(&t);
		return CLI_FAIL;
	}
	struct listing o;
	listing_begin(c, &o, head, 12, &vpn, "pes");
	struct json *j = &o.j;
	struct table *tab = o.tab;
	for (size_t i = 0; i < t.n; i++) {
		const struct live_value *v = t.rows[i].v;
		struct inet_addr pe, caddr;
		size_t at = 1;
		if (!live_index_addr(&t.rows[i], &at, &pe))
			continue;
		live_value_addr(&v[3], &v[4], &caddr);
		uint64_t last = date_ns(&v[11]);
		const char *status = mib_pe_status_name((uint8_t)v[1].num);
		if (c->json) {
			json_object_begin(j);
			json_key(j, "address"), json_addr(j, &pe);
			json_key(j, "name"), json_string(j, live_text(&v[0]));
			json_key(j, "status"), json_string(j, status);
			json_key(j, "expected"), json_bool(j, v[2].num == 1);
			json_key(j, "c_address"), json_addr(j, &caddr);
			json_key(j, "hold_time_s"), json_uint(j, v[5].num);
			json_key(j, "expires_in_s"), json_uint(j, v[6].num);
			json_key(j, "generation_id"), json_uint(j, v[7].num);
			json_key(j, "dr_priority"), json_uint(j, v[8].num);
			json_key(j, "hellos"), json_uint(j, v[9].num);
			json_key(j, "join_prunes"), json_uint(j, v[10].num);
			json_time_or_null(j, "last_hello", last);
			json_object_end(j);
			continue;
		}
		table_cell(tab, addr_text(&pe, a));
		table_cell(tab, live_text(&v[0]));
		table_cell(tab, status);
		table_cell(tab, v[2].num == 1 ? "yes" : "no");
		table_cell(tab, addr_text(&caddr, ca));
		for (int k = 5; k <= 10; k++)
			table_cellf(tab, "%llu", (unsigned long long)v[k].num);
		cell_time(c, tab, last);
	}
	live_table_free(&t);
	return listing_end(c, &o);
}

/* ---- PE names, for the tables that show PEs of a VPN ---- */

struct pe_label {
	struct inet_addr addr;
	char name[80];
};

struct pe_labels {
	struct pe_label *v; /* in index order: inet_addr_cmp's */
	size_t n;
};

static int read_labels(struct cli *c, struct live_cmd *lc, uint32_t vpn, struct pe_labels *out)
{
	static const unsigned cols[] = {COL_PE_NAME};
	struct live_table t = {0};

	out->v = NULL, out->n = 0;
	if (live_read(c, lc->l, ARC_PE_TABLE, cols, 1, &vpn, 1, &t) < 0) {
		live_table_free(&t);
		return -1;
	}
	out->v = calloc(t.n ? t.n : 1, sizeof(*out->v));
	for (size_t i = 0; out->v && i < t.n; i++) {
		size_t at = 1;
		if (!live_index_addr(&t.rows[i], &at, &out->v[out->n].addr))
			continue;
		snprintf(out->v[out->n].name, sizeof(out->v[0].name), "%s", live_text(&t.rows[i].v[0]));
		out->n++;
	}
	live_table_free(&t);
	return out->v ? 0 : -1;
}

static int label_cmp(const void *key, const void *elem)
{
	return inet_addr_cmp(key, &((const struct pe_label *)elem)->addr);
}

/* The PE's name as the agent shows it; its address when the VPN has no row. */
static const char *pe_label(const struct pe_labels *l, const struct inet_addr *a,
			    char buf[INET_ADDR_STRLEN])
{
	const struct pe_label *found = l->n ? bsearch(a, l->v, l->n, sizeof(*l->v), label_cmp) : NULL;

	return found && found->name[0] ? found->name : inet_addr_format(a, buf);
}

/* ---- groups ---- */

int cmd_groups(struct cli *c, struct live_cmd *lc)
{
	static const unsigned cols[] = {COL_CGPE_STATE, COL_CGPE_JOINERS, COL_CGPE_PGROUP_TYPE,
					COL_CGPE_PGROUP, COL_CGPE_EXPIRES_IN, COL_CGPE_REFRESHES,
					COL_CGPE_BGP_ROUTES};
	static const struct table_column head[] = {
		{"C-GROUP", TABLE_LEFT}, {"C-SOURCE", TABLE_LEFT}, {"KIND", TABLE_LEFT},
		{"PE", TABLE_LEFT}, {"ROLE", TABLE_LEFT}, {"STATE", TABLE_LEFT},
		{"JOINERS", TABLE_RIGHT}, {"P-GROUP", TABLE_LEFT}, {"EXPIRES", TABLE_RIGHT},
		{"REFRESHES", TABLE_RIGHT}, {"BGP", TABLE_RIGHT}};
	/* mvpnCGroupPeExpiresIn while the row is held until cancelled (Hold Time
	 * 0xFFFF, or a C-multicast route holds it). */
	static const uint64_t held = 4294967295u;
	struct vpn_ref vpn;
	struct pe_labels labels = {0};
	struct live_table t = {0};
	char g[INET_ADDR_STRLEN], s[INET_ADDR_STRLEN], p[INET_ADDR_STRLEN], pg[INET_ADDR_STRLEN];
	int rc = find_vpn(c, lc, &vpn);

	if (rc != CLI_OK)
		return rc;
	if (read_labels(c, lc, vpn.index, &labels) < 0 ||
	    live_read(c, lc->l, ARC_CGROUP_PE_TABLE, cols, 7, &vpn.index, 1, &t) < 0) {
		free(labels.v);
		live_table_free(&t);
		return CLI_FAIL;
	}
	struct listing o;
	listing_begin(c, &o, head, 11, &vpn, "groups");
	struct json *j = &o.j;
	struct table *tab = o.tab;
	for (size_t i = 0; i < t.n; i++) {
		const struct live_row *r = &t.rows[i];
		struct inet_addr group, source, pe, pgroup;
		size_t at = 1;
		if (!live_index_addr(r, &at, &group) || !live_index_addr(r, &at, &source) ||
		    at >= r->idx_len)
			continue;
		uint32_t kind = r->idx[at++];
		if (!live_index_addr(r, &at, &pe) || at + 1 != r->idx_len)
			continue;
		uint32_t role = r->idx[at];
		live_value_addr(&r->v[2], &r->v[3], &pgroup);
		const char *pe_name = pe_label(&labels, &pe, p);
		if (c->json) {
			json_object_begin(j);
			json_key(j, "group"), json_addr(j, &group);
			json_key(j, "source"), json_addr(j, &source);
			json_key(j, "kind"), json_string(j, mib_cg_kind_name((uint8_t)kind));
			json_key(j, "pe"), json_addr(j, &pe);
			json_key(j, "pe_name"), json_string(j, pe_name);
			json_key(j, "role"), json_string(j, mib_cg_role_name((uint8_t)role));
			json_key(j, "state"), json_string(j, mib_cg_state_name((uint8_t)r->v[0].num));
			json_key(j, "joiners"), json_uint(j, r->v[1].num);
			json_key(j, "p_group"), json_addr(j, &pgroup);
			json_key(j, "expires_in_s");
			if (r->v[4].num == held)
				json_null(j);
			else
				json_uint(j, r->v[4].num);
			json_key(j, "refreshes"), json_uint(j, r->v[5].num);
			json_key(j, "bgp_routes"), json_uint(j, r->v[6].num);
			json_object_end(j);
			continue;
		}
		table_cell(tab, addr_text(&group, g));
		table_cell(tab, source.type ? addr_text(&source, s) : "*");
		table_cell(tab, mib_cg_kind_name((uint8_t)kind));
		table_cell(tab, pe_name);
		table_cell(tab, mib_cg_role_name((uint8_t)role));
		table_cell(tab, mib_cg_state_name((uint8_t)r->v[0].num));
		table_cellf(tab, "%llu", (unsigned long long)r->v[1].num);
		table_cell(tab, addr_text(&pgroup, pg));
		if (r->v[4].num == held)
			table_cell(tab, "held");
		else
			table_cellf(tab, "%llu", (unsigned long long)r->v[4].num);
		table_cellf(tab, "%llu", (unsigned long long)r->v[5].num);
		table_cellf(tab, "%llu", (unsigned long long)r->v[6].num);
	}
	live_table_free(&t);
	free(labels.v);
	return listing_end(c, &o);
}

/* ---- pairs: the N x N matrix ---- */

struct pair_cell {
	bool present;
	uint8_t status;
	uint32_t loss_ppm, jitter_us;
	int64_t delay_us; /* corrected one-way delay, average over the window; may be < 0 */
};

struct matrix {
	struct inet_addr *pes; /* sorted, distinct */
	size_t n;
	struct pair_cell *cells; /* n x n, [src * n + dst] */
};

static int addr_order(const void *a, const void *b)
{
	return inet_addr_cmp(a, b);
}

static size_t pe_position(const struct matrix *m, const struct inet_addr *a)
{
	const struct inet_addr *at = bsearch(a, m->pes, m->n, sizeof(*a), addr_order);
	return at ? (size_t)(at - m->pes) : m->n;
}

static int build_matrix(const struct live_table *t, struct matrix *m)
{
	m->pes = calloc(2 * t->n + 1, sizeof(*m->pes));
	if (!m->pes)
		return -1;
	for (size_t i = 0; i < t->n; i++) {
		size_t at = 1;
		struct inet_addr src, dst;
		if (live_index_addr(&t->rows[i], &at, &src) && live_index_addr(&t->rows[i], &at, &dst)) {
			m->pes[m->n++] = src;
			m->pes[m->n++] = dst;
		}
	}
	qsort(m->pes, m->n, sizeof(*m->pes), addr_order);
	size_t distinct = 0;
	for (size_t i = 0; i < m->n; i++)
		if (!distinct || !inet_addr_eq(&m->pes[distinct - 1], &m->pes[i]))
			m->pes[distinct++] = m->pes[i];
	m->n = distinct;
	m->cells = calloc(m->n * m->n + 1, sizeof(*m->cells));
	if (!m->cells)
		return -1;
	for (size_t i = 0; i < t->n; i++) {
		const struct live_row *r = &t->rows[i];
		size_t at = 1;
		struct inet_addr src, dst;
		if (!live_index_addr(r, &at, &src) || !live_index_addr(r, &at, &dst))
			continue;
		struct pair_cell *cell = &m->cells[pe_position(m, &src) * m->n + pe_position(m, &dst)];
		*cell = (struct pair_cell){.present = true, .status = (uint8_t)r->v[0].num,
					   .loss_ppm = (uint32_t)r->v[1].num,
					   .delay_us = as_int32(&r->v[2]),
					   .jitter_us = (uint32_t)r->v[3].num};
	}
	return 0;
}

/* ANSI colours by the pair's status: green ok, red an alarm, magenta
 * unreachable, dim still starting. */
static const char *status_colour(uint8_t status)
{
	switch (status) {
	case 2: return "\x1b[32m";
	case 3: case 4: case 5: return "\x1b[31m";
	case 6: return "\x1b[35m";
	default: return "\x1b[2m";
	}
}

#define CELL_WIDTH 8

/* One cell's text: loss in per cent or delay in ms; "." for a pair not
 * probed, nothing on the diagonal. */
static void grid_text(const struct pair_cell *cell, bool diagonal, bool delay, char *text,
		      size_t size)
{
	if (!cell->present) {
		snprintf(text, size, "%s", diagonal ? "" : ".");
	} else if (cell->status == 6 || cell->status == 1) {
		snprintf(text, size, "%s", cell->status == 6 ? "unreach" : "start");
	} else if (delay) {
		double ms = (double)cell->delay_us / 1000.0;
		snprintf(text, size, "%.1f", ms > -0.05 && ms < 0.05 ? 0.0 : ms); /* never "-0.0" */
	} else {
		snprintf(text, size, "%.2f", (double)cell->loss_ppm / 10000.0);
	}
}

static void print_grid(struct cli *c, struct live_cmd *lc, const struct matrix *m,
		       const char *title, bool delay)
{
	/* A row at a time, so that its trailing blanks can go. */
	size_t size = 16 + m->n * (CELL_WIDTH + 16);
	char *line = malloc(size);

	if (!line)
		return;
	fprintf(c->out, "%s\n%*s", title, 6, "");
	for (size_t d = 0; d < m->n; d++)
		fprintf(c->out, "%*zu", CELL_WIDTH, d + 1);
	fputc('\n', c->out);
	for (size_t s = 0; s < m->n; s++) {
		size_t used = (size_t)snprintf(line, size, "%5zu ", s + 1);
		for (size_t d = 0; d < m->n; d++) {
			const struct pair_cell *cell = &m->cells[s * m->n + d];
			char text[32];
			grid_text(cell, s == d, delay, text, sizeof(text));
			if (lc->color && cell->present)
				used += (size_t)snprintf(line + used, size - used, "%s%*s\x1b[0m",
							 status_colour(cell->status), CELL_WIDTH, text);
			else
				used += (size_t)snprintf(line + used, size - used, "%*s", CELL_WIDTH, text);
		}
		while (used && line[used - 1] == ' ')
			line[--used] = '\0';
		fprintf(c->out, "%s\n", line);
	}
	free(line);
}

static void pairs_json(struct cli *c, const struct vpn_ref *vpn, const struct matrix *m,
		       const struct pe_labels *labels, struct json *j)
{
	char buf[INET_ADDR_STRLEN];

	json_init(j, c->out);
	json_object_begin(j);
	json_vpn(j, vpn);
	json_key(j, "pes");
	json_array_begin(j);
	for (size_t i = 0; i < m->n; i++) {
		json_object_begin(j);
		json_key(j, "address"), json_addr(j, &m->pes[i]);
		json_key(j, "name"), json_string(j, pe_label(labels, &m->pes[i], buf));
		json_object_end(j);
	}
	json_array_end(j);
	json_key(j, "pairs");
	json_array_begin(j);
	for (size_t s = 0; s < m->n; s++)
		for (size_t d = 0; d < m->n; d++) {
			const struct pair_cell *cell = &m->cells[s * m->n + d];
			if (!cell->present)
				continue;
			json_object_begin(j);
			json_key(j, "src"), json_addr(j, &m->pes[s]);
			json_key(j, "dst"), json_addr(j, &m->pes[d]);
			json_key(j, "status"), json_string(j, LABEL(pair_status, cell->status));
			json_key(j, "loss_ppm"), json_uint(j, cell->loss_ppm);
			json_key(j, "delay_us"), json_int(j, cell->delay_us);
			json_key(j, "jitter_us"), json_uint(j, cell->jitter_us);
			json_object_end(j);
		}
	json_array_end(j);
	json_object_end(j);
}

int cmd_pairs_live(struct cli *c, struct live_cmd *lc)
{
	static const unsigned cols[] = {COL_PAIR_STATUS, COL_PAIR_LOSS_PPM,
					COL_PAIR_CORR_DELAY_MIN + 1, COL_PAIR_JITTER};
	struct vpn_ref vpn;
	struct pe_labels labels = {0};
	struct live_table t = {0};
	struct matrix m = {0};
	char buf[INET_ADDR_STRLEN];
	int rc = find_vpn(c, lc, &vpn);

	if (rc != CLI_OK)
		return rc;
	if (read_labels(c, lc, vpn.index, &labels) < 0 ||
	    live_read(c, lc->l, ARC_PAIR_TABLE, cols, 4, &vpn.index, 1, &t) < 0 ||
	    build_matrix(&t, &m) < 0) {
		rc = CLI_FAIL;
	} else if (c->json) {
		struct json j;
		pairs_json(c, &vpn, &m, &labels, &j);
		rc = json_finish(&j) == 0 ? CLI_OK : CLI_FAIL;
	} else {
		char title[160];
		snprintf(title, sizeof(title), "vpn %s: loss %% over the last window (row: from, "
			 "column: to)", vpn.name);
		print_grid(c, lc, &m, title, false);
		fputc('\n', c->out);
		snprintf(title, sizeof(title), "vpn %s: one-way delay, ms (average, corrected for "
			 "the tunnels)", vpn.name);
		print_grid(c, lc, &m, title, true);
		fputs("\nPEs:\n", c->out);
		for (size_t i = 0; i < m.n; i++) {
			const char *name = pe_label(&labels, &m.pes[i], buf);
			char a[INET_ADDR_STRLEN];
			inet_addr_format(&m.pes[i], a);
			size_t width;
			char *safe = table_cell_text(name, &width); /* the agent's text, escaped */
			fprintf(c->out, "%5zu %s", i + 1, safe ? safe : "?");
			free(safe);
			if (strcmp(name, a) != 0)
				fprintf(c->out, " (%s)", a);
			fputc('\n', c->out);
		}
		if (lc->color)
			fputs("\x1b[32mok\x1b[0m  \x1b[31malarm\x1b[0m  \x1b[35munreachable\x1b[0m  "
			      "\x1b[2mstarting\x1b[0m\n", c->out);
		rc = ferror(c->out) ? CLI_FAIL : CLI_OK;
	}
	free(m.pes);
	free(m.cells);
	free(labels.v);
	live_table_free(&t);
	return rc;
}

/* ---- tunnels ---- */

int cmd_tunnels(struct cli *c, struct live_cmd *lc)
{
	static const unsigned cols[] = {COL_TUNNEL_PE_NAME, COL_TUNNEL_REMOTE_TYPE,
					COL_TUNNEL_REMOTE, COL_TUNNEL_STATUS, COL_TUNNEL_VPNS,
					COL_TUNNEL_ECHO_SENT, COL_TUNNEL_ECHO_RECEIVED,
					COL_TUNNEL_LOSS_PPM, COL_TUNNEL_RTT_MIN, COL_TUNNEL_RTT_AVG,
					COL_TUNNEL_RTT_MAX, COL_TUNNEL_LAST_REPLY_DATE};
	static const struct table_column head[] = {
		{"PE", TABLE_LEFT}, {"NAME", TABLE_LEFT}, {"REMOTE", TABLE_LEFT},
		{"STATUS", TABLE_LEFT}, {"VPNS", TABLE_RIGHT}, {"ECHO-SENT", TABLE_RIGHT},
		{"ECHO-RCVD", TABLE_RIGHT}, {"LOSS%", TABLE_RIGHT}, {"RTT-MIN", TABLE_RIGHT},
		{"RTT-AVG", TABLE_RIGHT}, {"RTT-MAX", TABLE_RIGHT}, {"LAST-REPLY", TABLE_LEFT}};
	struct vpn_ref vpn;
	struct pe_labels labels = {0};
	struct live_table t = {0};
	char a[INET_ADDR_STRLEN], r[INET_ADDR_STRLEN];
	int rc = find_vpn(c, lc, &vpn);

	if (rc != CLI_OK)
		return rc;
	/* The tunnel table is the monitor's, not a VPN's: this VPN's are those
	 * to its PEs. */
	if (read_labels(c, lc, vpn.index, &labels) < 0 ||
	    live_read(c, lc->l, ARC_TUNNEL_TABLE, cols, 12, NULL, 0, &t) < 0) {
		free(labels.v);
		live_table_free(&t);
		return CLI_FAIL;
	}
	struct listing o;
	listing_begin(c, &o, head, 12, &vpn, "tunnels");
	struct json *j = &o.j;
	struct table *tab = o.tab;
	for (size_t i = 0; i < t.n; i++) {
		const struct live_value *v = t.rows[i].v;
		struct inet_addr pe, remote;
		size_t at = 0;
		if (!live_index_addr(&t.rows[i], &at, &pe) ||
		    !(labels.n && bsearch(&pe, labels.v, labels.n, sizeof(*labels.v), label_cmp)))
			continue;
		live_value_addr(&v[1], &v[2], &remote);
		uint64_t last = date_ns(&v[11]);
		if (c->json) {
			json_object_begin(j);
			json_key(j, "pe"), json_addr(j, &pe);
			json_key(j, "name"), json_string(j, live_text(&v[0]));
			json_key(j, "remote"), json_addr(j, &remote);
			json_key(j, "status"), json_string(j, LABEL(tunnel_status, v[3].num));
			json_key(j, "vpns"), json_uint(j, v[4].num);
			json_key(j, "echo_sent"), json_uint(j, v[5].num);
			json_key(j, "echo_received"), json_uint(j, v[6].num);
			json_key(j, "loss_ppm"), json_uint(j, v[7].num);
			json_key(j, "rtt_min_us"), json_uint(j, v[8].num);
			json_key(j, "rtt_avg_us"), json_uint(j, v[9].num);
			json_key(j, "rtt_max_us"), json_uint(j, v[10].num);
			json_time_or_null(j, "last_reply", last);
			json_object_end(j);
			continue;
		}
		table_cell(tab, addr_text(&pe, a));
		table_cell(tab, live_text(&v[0]));
		table_cell(tab, addr_text(&remote, r));
		table_cell(tab, LABEL(tunnel_status, v[3].num));
		for (int k = 4; k <= 6; k++)
			table_cellf(tab, "%llu", (unsigned long long)v[k].num);
		table_cellf(tab, "%.2f", (double)v[7].num / 10000.0);
		for (int k = 8; k <= 10; k++)
			table_cellf(tab, "%.3f", (double)v[k].num / 1000.0);
		cell_time(c, tab, last);
	}
	live_table_free(&t);
	free(labels.v);
	return listing_end(c, &o);
}

/* ---- alarms ---- */

/* A PE of an alarm by the name its VPN's table gives it, read for each VPN
 * that has alarms (few: alarms are few). */
static const char *alarm_pe_name(struct cli *c, struct live_cmd *lc, struct pe_labels *cache,
				 uint32_t *cached_vpn, uint32_t vpn, const struct inet_addr *a,
				 char buf[INET_ADDR_STRLEN])
{
	if (!a->type)
		return "";
	if (*cached_vpn != vpn) {
		free(cache->v);
		if (read_labels(c, lc, vpn, cache) < 0)
			cache->v = NULL, cache->n = 0;
		*cached_vpn = vpn;
	}
	return pe_label(cache, a, buf);
}

int cmd_alarms(struct cli *c, struct live_cmd *lc)
{
	static const unsigned cols[] = {COL_ALARM_RAISED_DATE, COL_ALARM_VPN_INDEX, COL_ALARM_KIND,
					COL_ALARM_ADDR_TYPE, COL_ALARM_ADDR, COL_ALARM_PEER_TYPE,
					COL_ALARM_PEER, COL_ALARM_VALUE, COL_ALARM_THRESHOLD,
					COL_ALARM_DESCR};
	static const unsigned vpn_cols[] = {COL_VPN_NAME};
	static const struct table_column head[] = {
		{"INDEX", TABLE_RIGHT}, {"RAISED", TABLE_LEFT}, {"VPN", TABLE_LEFT},
		{"KIND", TABLE_LEFT}, {"PE", TABLE_LEFT}, {"PEER", TABLE_LEFT},
		{"VALUE", TABLE_RIGHT}, {"THRESHOLD", TABLE_RIGHT}, {"DESCRIPTION", TABLE_LEFT}};
	struct live_table t = {0}, vpns = {0};
	struct pe_labels cache = {0};
	uint32_t cached_vpn = 0;
	char a[INET_ADDR_STRLEN], p[INET_ADDR_STRLEN];

	if (lc->n_operands) {
		cli_error(c, "takes no operand");
		return CLI_USAGE;
	}
	if (live_read(c, lc->l, ARC_ALARM_TABLE, cols, 10, NULL, 0, &t) < 0 ||
	    live_read(c, lc->l, ARC_VPN_TABLE, vpn_cols, 1, NULL, 0, &vpns) < 0) {
		live_table_free(&t);
		live_table_free(&vpns);
		return CLI_FAIL;
	}
	struct listing o;
	listing_begin(c, &o, head, 9, NULL, "alarms");
	struct json *j = &o.j;
	struct table *tab = o.tab;
	for (size_t i = 0; i < t.n; i++) {
		const struct live_value *v = t.rows[i].v;
		struct inet_addr addr, peer;
		uint32_t vpn = (uint32_t)v[1].num;
		const char *vpn_name = "";
		for (size_t k = 0; k < vpns.n; k++)
			if (vpns.rows[k].idx[0] == vpn)
				vpn_name = live_text(&vpns.rows[k].v[0]);
		live_value_addr(&v[3], &v[4], &addr);
		live_value_addr(&v[5], &v[6], &peer);
		/* Copies: the second lookup may read another VPN's names. */
		char addr_name[80], peer_name[80];
		snprintf(addr_name, sizeof(addr_name), "%s",
			 alarm_pe_name(c, lc, &cache, &cached_vpn, vpn, &addr, a));
		snprintf(peer_name, sizeof(peer_name), "%s",
			 alarm_pe_name(c, lc, &cache, &cached_vpn, vpn, &peer, p));
		uint64_t raised = date_ns(&v[0]);
		if (c->json) {
			json_object_begin(j);
			json_key(j, "index"), json_uint(j, t.rows[i].idx[0]);
			json_time_or_null(j, "raised", raised);
			json_key(j, "vpn_index"), json_uint(j, vpn);
			json_key(j, "vpn"), json_string(j, vpn_name);
			json_key(j, "kind"), json_string(j, LABEL(alarm_kind, v[2].num));
			json_key(j, "pe"), json_addr(j, &addr);
			json_key(j, "pe_name"), json_string(j, addr_name);
			json_key(j, "peer"), json_addr(j, &peer);
			json_key(j, "peer_name"), json_string(j, peer_name);
			json_key(j, "value"), json_uint(j, v[7].num);
			json_key(j, "threshold"), json_uint(j, v[8].num);
			json_key(j, "description"), json_string(j, live_text(&v[9]));
			json_object_end(j);
			continue;
		}
		table_cellf(tab, "%u", t.rows[i].idx[0]);
		cell_time(c, tab, raised);
		table_cell(tab, vpn_name);
		table_cell(tab, LABEL(alarm_kind, v[2].num));
		table_cell(tab, addr_name);
		table_cell(tab, peer_name);
		table_cellf(tab, "%llu", (unsigned long long)v[7].num);
		table_cellf(tab, "%llu", (unsigned long long)v[8].num);
		table_cell(tab, live_text(&v[9]));
	}
	free(cache.v);
	live_table_free(&t);
	live_table_free(&vpns);
	return listing_end(c, &o);
}

/* ---- bmp ---- */

static const char *const up_down[] = {NULL, "up", "down"};

/* A route distinguisher as RFC 4364 4.2 writes it, from its 8 octets. */
static const char *rd_text(const uint32_t *o, char *buf, size_t len)
{
	uint32_t type = o[0] << 8 | o[1];
	uint32_t as4 = o[2] << 24 | o[3] << 16 | o[4] << 8 | o[5], n2 = o[6] << 8 | o[7];
	uint32_t n4 = o[4] << 24 | o[5] << 16 | o[6] << 8 | o[7];

	if (type == 0)
		snprintf(buf, len, "%u:%u", o[2] << 8 | o[3], n4);
	else if (type == 1)
		snprintf(buf, len, "%u.%u.%u.%u:%u", o[2], o[3], o[4], o[5], n2);
	else
		snprintf(buf, len, "%u:%u%s", as4, n2, type == 2 ? "L" : "?");
	return buf;
}

/* What the last Peer Down said (RFC 7854 4.9; the NOTIFICATION's code,
 * RFC 4271 4.5, and a Cease's subcode, RFC 4486 4). */
static const char *down_text(uint64_t reason, const struct live_value *err, uint64_t fsm,
			     char *buf, size_t len)
{
	static const char *const codes[] = {NULL, "message header error", "OPEN error",
					    "UPDATE error", "hold timer expired", "FSM error",
					    "cease"};
	static const char *const cease[] = {NULL, "maximum prefixes", "administrative shutdown",
					    "peer de-configured", "administrative reset",
					    "connection rejected", "configuration change",
					    "connection collision", "out of resources"};
	const char *side = reason == 1 || reason == 2 ? "local" : "remote";

	if (reason == 0) {
		snprintf(buf, len, "-");
	} else if ((reason == 1 || reason == 3) && err->len == 2) {
		unsigned code = err->bytes[0], sub = err->bytes[1];
		snprintf(buf, len, "%s closed: %s%s%s (%u/%u)", side, LABEL(codes, code),
			 code == 6 && sub < 9 && cease[sub] ? ", " : "",
			 code == 6 && sub < 9 && cease[sub] ? cease[sub] : "", code, sub);
	} else if (reason == 2) {
		snprintf(buf, len, "local closed: FSM event %llu", (unsigned long long)fsm);
	} else if (reason == 4) {
		snprintf(buf, len, "remote closed, no NOTIFICATION");
	} else if (reason == 5) {
		snprintf(buf, len, "peer de-configured");
	} else {
		snprintf(buf, len, "reason %llu", (unsigned long long)reason);
	}
	return buf;
}

/* mvpnBmpPeerBgpId (an IpAddress: 4 octets) as an address to print. */
static struct inet_addr bmp_bgp_id(const struct live_value *v)
{
	struct inet_addr a = {.type = INET_IPV4};

	if (v->len == 4)
		memcpy(a.bytes, v->bytes, 4);
	return a;
}

struct bmp_live {
	struct live_table routers, peers;
};

static void bmp_peer_json(struct json *j, const struct live_row *row, const struct inet_addr *peer,
			  const char *rd, const char *down)
{
	const struct live_value *v = row->v;
	char id[INET_ADDR_STRLEN];
	struct inet_addr bgp_id = bmp_bgp_id(&v[3]);

	json_object_begin(j);
	json_key(j, "peer"), json_addr(j, peer);
	json_key(j, "distinguisher"), json_string(j, rd);
	json_key(j, "type"), json_uint(j, v[0].num);
	json_key(j, "status"), json_string(j, LABEL(up_down, v[1].num));
	json_key(j, "as"), json_uint(j, v[2].num);
	json_key(j, "bgp_id"), json_string(j, inet_addr_format(&bgp_id, id));
	json_key(j, "routes"), json_uint(j, v[4].num);
	json_key(j, "mdt_routes"), json_uint(j, v[5].num);
	json_key(j, "mvpn_ipv4_routes"), json_uint(j, v[6].num);
	json_key(j, "mvpn_ipv6_routes"), json_uint(j, v[7].num);
	json_key(j, "ups"), json_uint(j, v[8].num);
	json_key(j, "downs"), json_uint(j, v[9].num);
	json_time_or_null(j, "since", date_ns(&v[10]));
	json_key(j, "last_down_reason"), json_uint(j, v[11].num);
	json_key(j, "last_down"), json_string(j, down);
	json_object_end(j);
}

static void bmp_peer_cells(struct cli *c, struct table *tab, const struct live_row *row,
			   const struct inet_addr *peer, const char *rd, const char *down)
{
	const struct live_value *v = row->v;
	char a[INET_ADDR_STRLEN], id[INET_ADDR_STRLEN];
	struct inet_addr bgp_id = bmp_bgp_id(&v[3]);

	table_cell(tab, addr_text(peer, a));
	table_cell(tab, rd);
	table_cellf(tab, "%llu", (unsigned long long)v[2].num);
	table_cell(tab, inet_addr_format(&bgp_id, id));
	table_cell(tab, LABEL(up_down, v[1].num));
	cell_time(c, tab, date_ns(&v[10]));
	for (int k = 4; k <= 7; k++)
		table_cellf(tab, "%llu", (unsigned long long)v[k].num);
	table_cellf(tab, "%llu", (unsigned long long)v[9].num);
	table_cell(tab, down);
}

/* Is the peer row one of the router's: does its index start with the router's? */
static bool bmp_peer_of(const struct live_row *peer, const struct live_row *router)
{
	return peer->idx_len > router->idx_len &&
	       !memcmp(peer->idx, router->idx, router->idx_len * sizeof(uint32_t));
}

int cmd_bmp(struct cli *c, struct live_cmd *lc)
{
	static const unsigned router_cols[] = {COL_BMP_ROUTER_SYS_NAME, COL_BMP_ROUTER_STATUS,
					       COL_BMP_ROUTER_STATUS_CHANGE};
	static const unsigned peer_cols[] = {
		COL_BMP_PEER_TYPE, COL_BMP_PEER_STATUS, COL_BMP_PEER_AS, COL_BMP_PEER_BGP_ID,
		COL_BMP_PEER_ROUTES, COL_BMP_PEER_MDT_ROUTES, COL_BMP_PEER_MVPN4_ROUTES,
		COL_BMP_PEER_MVPN6_ROUTES, COL_BMP_PEER_UPS, COL_BMP_PEER_DOWNS,
		COL_BMP_PEER_STATUS_CHANGE, COL_BMP_PEER_LAST_DOWN_REASON,
		COL_BMP_PEER_LAST_DOWN_ERROR, COL_BMP_PEER_LAST_DOWN_FSM_EVENT};
	static const struct table_column head[] = {
		{"ROUTER", TABLE_LEFT}, {"SYSNAME", TABLE_LEFT}, {"PEER", TABLE_LEFT},
		{"RD", TABLE_LEFT}, {"AS", TABLE_RIGHT}, {"BGP-ID", TABLE_LEFT},
		{"STATUS", TABLE_LEFT}, {"SINCE", TABLE_LEFT}, {"ROUTES", TABLE_RIGHT},
		{"MDT", TABLE_RIGHT}, {"MVPN4", TABLE_RIGHT}, {"MVPN6", TABLE_RIGHT},
		{"DOWNS", TABLE_RIGHT}, {"LAST-DOWN", TABLE_LEFT}};
	struct bmp_live b = {0};
	char a[INET_ADDR_STRLEN], rd[40], down[120];

	if (lc->n_operands) {
		cli_error(c, "takes no operand");
		return CLI_USAGE;
	}
	if (live_read(c, lc->l, ARC_BMP_ROUTER_TABLE, router_cols, 3, NULL, 0, &b.routers) < 0 ||
	    live_read(c, lc->l, ARC_BMP_PEER_TABLE, peer_cols, 14, NULL, 0, &b.peers) < 0) {
		live_table_free(&b.routers);
		live_table_free(&b.peers);
		return CLI_FAIL;
	}
	struct listing o;
	listing_begin(c, &o, head, 14, NULL, "routers");
	for (size_t i = 0; i < b.routers.n; i++) {
		const struct live_row *r = &b.routers.rows[i];
		struct inet_addr router;
		size_t ri = 0, n_peers = 0;
		if (!live_index_addr(r, &ri, &router))
			continue;
		for (size_t k = 0; k < b.peers.n; k++)
			n_peers += bmp_peer_of(&b.peers.rows[k], r);
		if (c->json) {
			json_object_begin(&o.j);
			json_key(&o.j, "router"), json_addr(&o.j, &router);
			json_key(&o.j, "sys_name"), json_string(&o.j, live_text(&r->v[0]));
			json_key(&o.j, "status"), json_string(&o.j, LABEL(up_down, r->v[1].num));
			json_time_or_null(&o.j, "since", date_ns(&r->v[2]));
			json_key(&o.j, "peers"), json_array_begin(&o.j);
		} else if (!n_peers) { /* a router with no peer row: its own line */
			table_cell(o.tab, addr_text(&router, a));
			table_cell(o.tab, live_text(&r->v[0]));
			table_cell(o.tab, "-"), table_cell(o.tab, ""), table_cell(o.tab, "");
			table_cell(o.tab, "");
			table_cellf(o.tab, "router %s", LABEL(up_down, r->v[1].num));
			cell_time(c, o.tab, date_ns(&r->v[2]));
			for (int k = 0; k < 6; k++)
				table_cell(o.tab, "");
		}
		for (size_t k = 0; k < b.peers.n; k++) {
			const struct live_row *p = &b.peers.rows[k];
			struct inet_addr peer;
			size_t pi = ri + 8;
			if (!bmp_peer_of(p, r) || p->idx_len < pi || !live_index_addr(p, &pi, &peer))
				continue;
			rd_text(p->idx + ri, rd, sizeof(rd));
			down_text(p->v[11].num, &p->v[12], p->v[13].num, down, sizeof(down));
			if (c->json) {
				bmp_peer_json(&o.j, p, &peer, rd, down);
				continue;
			}
			table_cell(o.tab, addr_text(&router, a));
			table_cell(o.tab, live_text(&r->v[0]));
			bmp_peer_cells(c, o.tab, p, &peer, rd, down);
		}
		if (c->json)
			json_array_end(&o.j), json_object_end(&o.j);
	}
	live_table_free(&b.routers);
	live_table_free(&b.peers);
	return listing_end(c, &o);
}
