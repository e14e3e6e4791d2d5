/*
 * hist_write FILE | --pg CONNINFO: writes the history records a script on
 * stdin describes into that store (SQLite file or PostgreSQL), through
 * hist_store_write(), for the
 * client's tests (tests/integration/test_client_history.py).  One record a
 * line; TIME is seconds since 1970, with a fraction if wanted:
 *
 *   monitor NAME                       the monitor writing what follows
 *   vpn INDEX NAME MDT [expected=N]    rows of the next checkpoint...
 *   pe VPN ADDR [expected=1] [absent] [alive=0|1] [hold=S] [genid=N] [dr=N] [caddr=A] [first=TIME]
 *   cgpe VPN SRC|* GROUP PE kind=sg|starG|sgRpt up=PE [rp=A] [hold=S] [state=joined|pruned]
 *   flow VPN SRC|* GROUP PGROUP ANNOUNCER
 *   checkpoint TIME SEQ                ...written as one checkpoint
 *   change TIME SEQ VPN KIND [pe= peer= src= grp= pgrp=] [prev.K=V...] [cur.K=V...]
 *   pair TIME VPN SRC DST sent= recv= lost= min= avg= p99= jitter= status=LABEL
 *
 * A change's values: PE kinds alive, hold, genid, dr, caddr; join, prune and
 * expiry kind, state, hold, up, rp; data-MDT kinds pgrp, ann; pair and
 * tunnel status: status.  Any prev.K or cur.K makes that side present.
 * Exits 1 with the line number on anything it cannot read or write.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../agent/change_text.h"
#include "../../history/store.h"
#include "../../mib/cgroup.h"
#include "../../mib/probing.h"

static int lineno;

static void die(const char *what, const char *arg)
{
	fprintf(stderr, "hist_write: line %d: %s%s%s\n", lineno, what, arg ? ": " : "",
		arg ? arg : "");
	exit(1);
}

static struct inet_addr addr(const char *s)
{
	struct inet_addr a = {0};
	if (strcmp(s, "*") != 0 && !inet_addr_parse(&a, s))
		die("not an address", s);
	return a;
}

static uint64_t when(const char *s)
{
	char *end;
	uint64_t sec = strtoull(s, &end, 10), ns = 0, scale = 100000000;

	if (*end == '.')
		for (end++; *end >= '0' && *end <= '9'; end++, scale /= 10)
			ns += (uint64_t)(*end - '0') * scale;
	if (*end)
		die("not a time", s);
	return sec * 1000000000ULL + ns;
}

static uint32_t num(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 0);
	if (*end || !*s)
		die("not a number", s);
	return (uint32_t)v;
}

static uint8_t label(const char *s, const char *const *names, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return (uint8_t)i;
	die("unknown label", s);
	return 0;
}

static const char *const cg_kinds[] = {"", "starG", "sg", "sgRpt"};
static const char *const cg_states[] = {"", "joined", "pruned"};

static uint8_t pair_status(const char *s)
{
	for (uint8_t i = 1; i < 16; i++)
		if (strcmp(pair_status_name(i), s) == 0)
			return i;
	die("unknown pair status", s);
	return 0;
}

/* key=value into the side of a change its kind says. */
static void change_value(uint8_t kind, union change_value *v, const char *key, const char *val)
{
	v->present = 1;
	switch (kind) {
	case CHANGE_PE_UP: case CHANGE_PE_DOWN: case CHANGE_PE_RESTART: case CHANGE_PE_CHANGE:
		if (!strcmp(key, "alive")) v->pe.alive = (uint8_t)num(val);
		else if (!strcmp(key, "hold")) v->pe.holdtime = (uint16_t)num(val);
		else if (!strcmp(key, "genid")) v->pe.genid = num(val), v->pe.has_genid = 1;
		else if (!strcmp(key, "dr")) v->pe.dr_priority = num(val);
		else if (!strcmp(key, "caddr")) v->pe.caddr = addr(val);
		else die("no such PE value", key);
		break;
	case CHANGE_JOIN: case CHANGE_PRUNE: case CHANGE_EXPIRY:
		if (!strcmp(key, "kind")) v->row.cg_kind = label(val, cg_kinds, 4);
		else if (!strcmp(key, "state")) v->row.state = label(val, cg_states, 3);
		else if (!strcmp(key, "hold")) v->row.holdtime = (uint16_t)num(val);
		else if (!strcmp(key, "up")) v->row.upstream = addr(val);
		else if (!strcmp(key, "rp")) v->row.rp = addr(val);
		else die("no such row value", key);
		break;
	case CHANGE_DATA_MDT_UP: case CHANGE_DATA_MDT_SWITCH: case CHANGE_DATA_MDT_DOWN:
		if (!strcmp(key, "pgrp")) v->flow.p_group = addr(val);
		else if (!strcmp(key, "ann")) v->flow.announcer = addr(val);
		else die("no such flow value", key);
		break;
	case CHANGE_PAIR_STATUS: case CHANGE_TUNNEL_STATUS:
		if (!strcmp(key, "status")) v->status.status = (uint8_t)num(val);
		else die("no such status value", key);
		break;
	default:
		die("values not supported for this kind", key);
	}
}

struct pending {
	struct hist_checkpoint cp;
	size_t cap_v, cap_p, cap_c, cap_f;
};

#define PUSH(arr, n, cap)                                                          \
	do {                                                                       \
		if ((n) == (cap)) {                                                \
			(cap) = (cap) ? (cap) * 2 : 16;                            \
			(arr) = realloc((arr), (cap) * sizeof(*(arr)));            \
			if (!(arr))                                                \
				die("out of memory", NULL);                        \
		}                                                                  \
		memset(&(arr)[(n)], 0, sizeof(*(arr)));                            \
	} while (0)

static char *tok[64];
static int ntok;

/* The value of key=... among the tokens from `from`, or NULL. */
static const char *opt(int from, const char *key)
{
	size_t k = strlen(key);
	for (int i = from; i < ntok; i++)
		if (strncmp(tok[i], key, k) == 0 && tok[i][k] == '=')
			return tok[i] + k + 1;
	return NULL;
}

static void need(int n)
{
	if (ntok < n)
		die("too few fields", tok[0]);
}

static void pe_line(struct pending *p)
{
	const char *v;
	need(3);
	PUSH(p->cp.pes, p->cp.n_pes, p->cap_p);
	struct hist_pe_row *r = &p->cp.pes[p->cp.n_pes++];
	r->vpn_index = num(tok[1]);
	r->addr = addr(tok[2]);
	r->expected = (v = opt(3, "expected")) ? (uint8_t)num(v) : 0;
	bool absent = false;
	for (int i = 3; i < ntok; i++)
		absent |= strcmp(tok[i], "absent") == 0;
	if (absent)
		return;
	r->value.present = 1;
	r->value.alive = (v = opt(3, "alive")) ? (uint8_t)num(v) : 1;
	r->value.holdtime = (v = opt(3, "hold")) ? (uint16_t)num(v) : 105;
	if ((v = opt(3, "genid")))
		r->value.genid = num(v), r->value.has_genid = 1;
	r->value.dr_priority = (v = opt(3, "dr")) ? num(v) : 1;
	r->value.caddr = (v = opt(3, "caddr")) ? addr(v) : r->addr;
	r->first_seen_ns = (v = opt(3, "first")) ? when(v) : 0;
}

static void cgpe_line(struct pending *p)
{
	const char *v;
	need(5);
	PUSH(p->cp.cgpes, p->cp.n_cgpes, p->cap_c);
	struct hist_cgpe_row *r = &p->cp.cgpes[p->cp.n_cgpes++];
	r->vpn_index = num(tok[1]);
	r->c_source = addr(tok[2]);
	r->c_group = addr(tok[3]);
	r->pe = addr(tok[4]);
	r->value.present = 1;
	r->value.cg_kind = (v = opt(5, "kind")) ? label(v, cg_kinds, 4) : CG_SG;
	r->value.state = (v = opt(5, "state")) ? label(v, cg_states, 3) : CG_JOINED;
	r->value.holdtime = (v = opt(5, "hold")) ? (uint16_t)num(v) : 210;
	if (!(v = opt(5, "up")))
		die("cgpe needs up=", NULL);
	r->value.upstream = addr(v);
	if ((v = opt(5, "rp")))
		r->value.rp = addr(v);
}

static void change_line(struct hist_record *rec)
{
	need(5);
	struct change *c = &rec->u.change;
	rec->type = HIST_CHANGE;
	rec->when_ns = when(tok[1]);
	rec->seq = strtoull(tok[2], NULL, 10);
	c->index = (uint32_t)rec->seq;
	c->vpn_index = num(tok[3]);
	if (!(c->kind = change_kind_parse(tok[4])))
		die("unknown change kind", tok[4]);
	for (int i = 5; i < ntok; i++) {
		char *eq = strchr(tok[i], '=');
		if (!eq)
			die("expected key=value", tok[i]);
		*eq = '\0';
		const char *k = tok[i], *val = eq + 1;
		if (!strcmp(k, "pe")) c->pe = addr(val);
		else if (!strcmp(k, "peer")) c->peer = addr(val);
		else if (!strcmp(k, "src")) c->c_source = addr(val);
		else if (!strcmp(k, "grp")) c->c_group = addr(val);
		else if (!strcmp(k, "pgrp")) c->p_group = addr(val);
		else if (!strncmp(k, "prev.", 5)) change_value(c->kind, &c->previous, k + 5, val);
		else if (!strncmp(k, "cur.", 4)) change_value(c->kind, &c->current, k + 4, val);
		else die("unknown key", k);
	}
}

static void pair_line(struct hist_record *rec)
{
	const char *v;
	need(5);
	rec->type = HIST_PAIR_WINDOW;
	rec->when_ns = when(tok[1]);
	struct hist_pair_window *p = &rec->u.pair;
	p->vpn_index = num(tok[2]);
	p->src = addr(tok[3]);
	p->dst = addr(tok[4]);
	p->sent = (v = opt(5, "sent")) ? num(v) : 0;
	p->received = (v = opt(5, "recv")) ? num(v) : 0;
	p->lost = (v = opt(5, "lost")) ? num(v) : 0;
	p->delay_min_us = (v = opt(5, "min")) ? num(v) : 0;
	p->delay_avg_us = (v = opt(5, "avg")) ? num(v) : 0;
	p->delay_p99_us = (v = opt(5, "p99")) ? num(v) : 0;
	p->jitter_us = (v = opt(5, "jitter")) ? num(v) : 0;
	p->status = (v = opt(5, "status")) ? pair_status(v) : PAIR_OK;
}

static const char *target;
static enum hist_backend_kind backend = HIST_SQLITE;

static struct hist_store *open_store(const char *monitor)
{
	struct hist_location loc = {.backend = backend, .target = target, .monitor = monitor};
	char err[256];
	struct hist_store *s = hist_store_open(&loc, err, sizeof(err));
	if (!s)
		die("cannot open the store", err);
	return s;
}

static void put(struct hist_store *s, const struct hist_record *rec)
{
	char err[256];
	if (hist_store_write(s, rec, 1, err, sizeof(err)) < 0)
		die("cannot write", err);
}

int main(int argc, char **argv)
{
	struct pending p = {0};
	struct hist_store *s = NULL;
	char line[1024];

	if (argc == 3 && strcmp(argv[1], "--pg") == 0) {
		backend = HIST_POSTGRES;
		target = argv[2];
	} else if (argc == 2) {
		target = argv[1];
	} else {
		fprintf(stderr, "usage: hist_write FILE | --pg CONNINFO < script\n");
		return 2;
	}
	while (fgets(line, sizeof(line), stdin)) {
		lineno++;
		ntok = 0;
		for (char *t = strtok(line, " \t\n"); t && ntok < 64; t = strtok(NULL, " \t\n"))
			tok[ntok++] = t;
		if (ntok == 0 || tok[0][0] == '#')
			continue;
		struct hist_record rec = {0};
		if (!strcmp(tok[0], "monitor")) {
			need(2);
			if (s)
				hist_store_close(s);
			s = open_store(tok[1]);
			continue;
		}
		if (!s)
			s = open_store(NULL);
		if (!strcmp(tok[0], "vpn")) {
			need(4);
			PUSH(p.cp.vpns, p.cp.n_vpns, p.cap_v);
			struct hist_vpn_row *v = &p.cp.vpns[p.cp.n_vpns++];
			v->index = num(tok[1]);
			snprintf(v->name, sizeof(v->name), "%s", tok[2]);
			v->default_mdt = addr(tok[3]);
			const char *e = opt(4, "expected");
			v->n_expected = e ? num(e) : 0;
		} else if (!strcmp(tok[0], "pe")) {
			pe_line(&p);
		} else if (!strcmp(tok[0], "cgpe")) {
			cgpe_line(&p);
		} else if (!strcmp(tok[0], "flow")) {
			need(6);
			PUSH(p.cp.flows, p.cp.n_flows, p.cap_f);
			struct hist_flow_row *f = &p.cp.flows[p.cp.n_flows++];
			f->vpn_index = num(tok[1]);
			f->c_source = addr(tok[2]);
			f->c_group = addr(tok[3]);
			f->value = (struct change_flow_value){.present = 1, .p_group = addr(tok[4]),
							      .announcer = addr(tok[5])};
		} else if (!strcmp(tok[0], "checkpoint")) {
			need(3);
			rec.type = HIST_CHECKPOINT;
			rec.when_ns = when(tok[1]);
			p.cp.last_change_seq = strtoull(tok[2], NULL, 10);
			rec.u.checkpoint = &p.cp;
			put(s, &rec);
			free(p.cp.vpns), free(p.cp.pes), free(p.cp.cgpes), free(p.cp.flows);
			memset(&p, 0, sizeof(p));
		} else if (!strcmp(tok[0], "change")) {
			change_line(&rec);
			put(s, &rec);
		} else if (!strcmp(tok[0], "pair")) {
			pair_line(&rec);
			put(s, &rec);
		} else {
			die("unknown record", tok[0]);
		}
	}
	if (s)
		hist_store_close(s);
	return 0;
}
