/*
 * History records for tests and benchmarks: a deterministic generator (seed,
 * position) covering every record type, every change kind and both address
 * families, and one canonical line of text per record, so that what a store
 * gives back can be compared with what was written, field by field.
 * Header-only: the PostgreSQL test driver and the bench each stay one file.
 */
#ifndef MVPN_HIST_GEN_H
#define MVPN_HIST_GEN_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../history/record.h"

/* splitmix64: one step per value, the same on every machine. */
static inline uint64_t gen_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/* Addresses from the test ranges only: 198.18.0.0/15 for PEs, 192.0.2.0/24 for
 * C-sources, 233.252.0.0/24 for C-groups, 239.192.0.0/14 for P-groups (and
 * 2001:db8::/32 for IPv6).  v6 picks the family. */
static inline void gen_addr(struct inet_addr *a, char role, uint32_t n, int v6)
{
	memset(a, 0, sizeof(*a));
	if (v6) {
		static const uint8_t doc[4] = {0x20, 0x01, 0x0d, 0xb8};
		a->type = INET_IPV6;
		memcpy(a->bytes, doc, 4);
		a->bytes[4] = (uint8_t)role;
		a->bytes[12] = (uint8_t)(n >> 24);
		a->bytes[13] = (uint8_t)(n >> 16);
		a->bytes[14] = (uint8_t)(n >> 8);
		a->bytes[15] = (uint8_t)n;
		return;
	}
	a->type = INET_IPV4;
	switch (role) {
	case 'p': a->bytes[0] = 198; a->bytes[1] = (uint8_t)(18 + ((n >> 16) & 1)); break;
	case 's': a->bytes[0] = 192; a->bytes[1] = 0; a->bytes[2] = 2; a->bytes[3] = (uint8_t)n; return;
	case 'g': a->bytes[0] = 233; a->bytes[1] = 252; a->bytes[2] = 0; a->bytes[3] = (uint8_t)n; return;
	default: a->bytes[0] = 239; a->bytes[1] = (uint8_t)(192 + ((n >> 16) & 3)); break;
	}
	a->bytes[2] = (uint8_t)(n >> 8);
	a->bytes[3] = (uint8_t)n;
}

/* A value of the form `kind` takes, present or not. */
static inline void gen_value(union change_value *v, uint8_t kind, int present, uint64_t *s)
{
	uint64_t r = gen_next(s);
	int v6 = (r & 7) == 0;

	memset(v, 0, sizeof(*v));
	if (!present)
		return;
	switch (kind) {
	case CHANGE_PE_UP: case CHANGE_PE_DOWN: case CHANGE_PE_RESTART: case CHANGE_PE_CHANGE:
		v->pe.alive = (uint8_t)((r >> 3) & 1);
		v->pe.has_genid = (uint8_t)((r >> 4) & 1);
		v->pe.holdtime = (uint16_t)(r >> 8);
		v->pe.genid = v->pe.has_genid ? (uint32_t)(r >> 24) : 0;
		v->pe.dr_priority = (uint32_t)(r >> 40) & 0xffff;
		gen_addr(&v->pe.caddr, 's', (uint32_t)r, v6);
		break;
	case CHANGE_JOIN: case CHANGE_PRUNE: case CHANGE_EXPIRY:
		v->row.cg_kind = (uint8_t)(1 + (r >> 3) % 3);
		v->row.state = (uint8_t)(1 + ((r >> 5) & 1));
		v->row.holdtime = (uint16_t)(r >> 8);
		gen_addr(&v->row.upstream, 'p', (uint32_t)(r >> 24), v6);
		if (v->row.cg_kind == 1)
			gen_addr(&v->row.rp, 'p', (uint32_t)(r >> 40), v6);
		break;
	case CHANGE_DATA_MDT_UP: case CHANGE_DATA_MDT_SWITCH: case CHANGE_DATA_MDT_DOWN:
		gen_addr(&v->flow.p_group, 'm', (uint32_t)(r >> 8), 0);
		gen_addr(&v->flow.announcer, 'p', (uint32_t)(r >> 32), v6);
		break;
	case CHANGE_PAIR_STATUS: case CHANGE_TUNNEL_STATUS:
		v->status.status = (uint8_t)(1 + (r >> 3) % 6);
		break;
	case CHANGE_PE_RECLAIMED:
		v->reclaim.hellos = r >> 3;
		break;
	case CHANGE_CONFIG_RELOAD:
		v->config.vpns = (uint32_t)(r >> 3) & 0xfffff;
		v->config.added = (uint32_t)(r >> 23) & 0xff;
		v->config.removed = (uint32_t)(r >> 31) & 0xff;
		v->config.changed = (uint32_t)(r >> 39) & 0xff;
		break;
	}
	v->present = 1;
}

/* Change number i (seq first_seq + i) of a history; every kind in turn. */
static inline void gen_change(struct hist_record *rec, uint64_t seed, uint64_t seq, uint64_t t0_ns)
{
	uint64_t s = seed * 0x100000001b3u ^ seq;
	uint64_t r = gen_next(&s);
	struct change *c = &rec->u.change;
	uint8_t kind = (uint8_t)(1 + seq % 14);
	int v6 = (r & 15) == 0;

	memset(rec, 0, sizeof(*rec));
	rec->type = HIST_CHANGE;
	rec->seq = seq;
	rec->when_ns = t0_ns + seq * 1000 + (r >> 60); /* 1 us apart, a few ns of jitter */
	c->index = (uint32_t)seq;
	c->vpn_index = (uint32_t)(1 + (r >> 8) % 1000);
	c->kind = kind;
	c->when = rec->when_ns;
	gen_addr(&c->pe, 'p', (uint32_t)(r >> 16), v6);
	if (kind == CHANGE_PAIR_STATUS || (r & 0x30) == 0x30)
		gen_addr(&c->peer, 'p', (uint32_t)(r >> 24), v6);
	if (kind >= CHANGE_JOIN && kind <= CHANGE_DATA_MDT_DOWN) {
		if (((r >> 6) & 3) != 0)
			gen_addr(&c->c_source, 's', (uint32_t)(r >> 32), v6);
		gen_addr(&c->c_group, 'g', (uint32_t)(r >> 40), v6);
	}
	if (kind >= CHANGE_DATA_MDT_UP && kind <= CHANGE_DATA_MDT_DOWN)
		gen_addr(&c->p_group, 'm', (uint32_t)(r >> 44), 0);
	/* Creations have no previous value, removals no current one. */
	int prev = kind != CHANGE_PE_UP && kind != CHANGE_DATA_MDT_UP && kind != CHANGE_CONFIG_RELOAD;
	int cur = kind != CHANGE_DATA_MDT_DOWN && kind != CHANGE_PE_RECLAIMED && kind != CHANGE_EXPIRY;
	gen_value(&c->previous, kind, prev, &s);
	gen_value(&c->current, kind, cur, &s);
}

/* A small whole state (vpns VPNs, a few rows of each table per VPN). */
static inline struct hist_checkpoint *gen_checkpoint(uint64_t seed, uint64_t last_seq, size_t vpns)
{
	struct hist_checkpoint *cp = calloc(1, sizeof(*cp));
	uint64_t s = seed ^ 0xc0ffee;

	if (!cp)
		return NULL;
	cp->last_change_seq = last_seq;
	cp->vpns = calloc(vpns ? vpns : 1, sizeof(*cp->vpns));
	cp->pes = calloc(vpns * 3 + 1, sizeof(*cp->pes));
	cp->cgpes = calloc(vpns * 4 + 1, sizeof(*cp->cgpes));
	cp->flows = calloc(vpns + 1, sizeof(*cp->flows));
	if (!cp->vpns || !cp->pes || !cp->cgpes || !cp->flows) {
		hist_checkpoint_free(cp);
		return NULL;
	}
	for (size_t v = 0; v < vpns; v++) {
		struct hist_vpn_row *vr = &cp->vpns[cp->n_vpns++];
		uint32_t vi = (uint32_t)(v + 1);
		vr->index = vi;
		snprintf(vr->name, sizeof(vr->name), "vpn-%zu-%" PRIu64, v, seed % 1000);
		gen_addr(&vr->default_mdt, 'm', vi, 0);
		vr->n_expected = 2;
		for (int k = 0; k < 3; k++) {
			struct hist_pe_row *pr = &cp->pes[cp->n_pes++];
			pr->vpn_index = vi;
			gen_addr(&pr->addr, 'p', vi * 8 + (uint32_t)k, k == 2);
			pr->expected = k < 2;
			union change_value v;
			gen_value(&v, CHANGE_PE_UP, k != 1, &s);
			pr->value = v.pe;
			pr->first_seen_ns = k != 1 ? 1700000000000000000u + gen_next(&s) % 1000000 : 0;
		}
		for (int k = 0; k < 4; k++) {
			struct hist_cgpe_row *cr = &cp->cgpes[cp->n_cgpes++];
			cr->vpn_index = vi;
			if (k)
				gen_addr(&cr->c_source, 's', (uint32_t)k, 0);
			gen_addr(&cr->c_group, 'g', vi + (uint32_t)k, 0);
			gen_addr(&cr->pe, 'p', vi * 8 + (uint32_t)(k & 1), 0);
			union change_value v;
			gen_value(&v, CHANGE_JOIN, 1, &s);
			cr->value = v.row;
		}
		struct hist_flow_row *fr = &cp->flows[cp->n_flows++];
		fr->vpn_index = vi;
		gen_addr(&fr->c_source, 's', vi, 0);
		gen_addr(&fr->c_group, 'g', vi, 0);
		union change_value v;
		gen_value(&v, CHANGE_DATA_MDT_UP, 1, &s);
		fr->value = v.flow;
	}
	return cp;
}

/* Record i of a mixed history: mostly changes, then alarms, config loads and
 * pair windows, and a checkpoint every `cp_every` (0: never).  Changes carry
 * seq first_seq + (their number); *seq is the next seq to use. */
static inline void gen_record(struct hist_record *rec, uint64_t seed, uint64_t i, uint64_t *seq,
			      uint64_t t0_ns, uint64_t cp_every)
{
	uint64_t s = seed * 31 + i;
	uint64_t r = gen_next(&s);
	uint64_t when = t0_ns + *seq * 1000 + 500;

	if (cp_every && i % cp_every == cp_every - 1) {
		memset(rec, 0, sizeof(*rec));
		rec->type = HIST_CHECKPOINT;
		/* After the last change it holds, before the next one. */
		rec->when_ns = t0_ns + (*seq - 1) * 1000 + 500;
		rec->u.checkpoint = gen_checkpoint(seed + i, *seq - 1, 1 + r % 4);
		return;
	}
	switch (i % 10) {
	case 7:
		if (i % 20 == 17) {
			memset(rec, 0, sizeof(*rec));
			rec->type = HIST_FAULT;
			rec->when_ns = when;
			rec->u.fault.id = (uint32_t)(r >> 32);
			rec->u.fault.located = (uint8_t)((r >> 4) & 1);
			rec->u.fault.vpn_index = (uint32_t)(1 + (r >> 8) % 100);
			rec->u.fault.metric = (uint8_t)(1 + r % 3);
			rec->u.fault.kind = (uint8_t)(1 + (r >> 2) % 4);
			rec->u.fault.flags = (uint8_t)((r >> 6) & 3);
			if (rec->u.fault.kind != 4)
				gen_addr(&rec->u.fault.pe, 'p', (uint32_t)(r >> 12), (r & 32) != 0);
			if (rec->u.fault.kind == 3)
				gen_addr(&rec->u.fault.peer, 'p', (uint32_t)(r >> 20), (r & 32) != 0);
			rec->u.fault.loss_ppm = (uint32_t)(r >> 16) % 1000001;
			rec->u.fault.low_ppm = (uint32_t)(r >> 24) % 1000001;
			rec->u.fault.high_ppm = (uint32_t)(r >> 40) % 1000001;
			rec->u.fault.echo_loss_ppm = (uint32_t)(r >> 28) % 1000001;
			rec->u.fault.shift_us = (int64_t)(r >> 44) - (1ll << 19); /* either sign */
			rec->u.fault.pairs = (uint32_t)(r >> 56);
			rec->u.fault.since_ns = when - (r >> 50) * 1000;
			return;
		}
		memset(rec, 0, sizeof(*rec));
		rec->type = HIST_ALARM;
		rec->when_ns = when;
		rec->u.alarm.index = (uint32_t)(r >> 32);
		rec->u.alarm.kind = (uint8_t)(1 + r % 5);
		rec->u.alarm.raised = (uint8_t)((r >> 4) & 1);
		rec->u.alarm.vpn_index = (uint32_t)(1 + (r >> 8) % 100);
		gen_addr(&rec->u.alarm.addr, 'p', (uint32_t)(r >> 12), (r & 32) != 0);
		if (r & 64)
			gen_addr(&rec->u.alarm.peer, 'p', (uint32_t)(r >> 20), (r & 32) != 0);
		rec->u.alarm.value = (uint32_t)(r >> 16);
		rec->u.alarm.threshold = (uint32_t)(r >> 40);
		return;
	case 8:
		if (i % 20 == 8) {
			memset(rec, 0, sizeof(*rec));
			rec->type = HIST_CONFIG;
			rec->when_ns = when;
			rec->u.config.ok = (uint8_t)(r & 1);
			rec->u.config.vpns = (uint32_t)(r >> 8) & 0xffff;
			rec->u.config.added = (uint32_t)(r >> 24) & 0xff;
			rec->u.config.removed = (uint32_t)(r >> 32) & 0xff;
			rec->u.config.changed = (uint32_t)(r >> 40) & 0xff;
			return;
		}
		memset(rec, 0, sizeof(*rec));
		rec->type = HIST_PAIR_WINDOW;
		rec->when_ns = when;
		rec->u.pair.vpn_index = (uint32_t)(1 + (r >> 8) % 100);
		gen_addr(&rec->u.pair.src, 'p', (uint32_t)(r >> 16), (r & 2) != 0);
		gen_addr(&rec->u.pair.dst, 'p', (uint32_t)(r >> 24), (r & 2) != 0);
		rec->u.pair.sent = 1000;
		rec->u.pair.lost = (uint32_t)(r >> 32) % 100;
		rec->u.pair.received = 1000 - rec->u.pair.lost;
		rec->u.pair.delay_min_us = (uint32_t)(r >> 40) % 5000;
		rec->u.pair.delay_avg_us = rec->u.pair.delay_min_us + 100;
		rec->u.pair.delay_p99_us = rec->u.pair.delay_min_us + 900;
		rec->u.pair.jitter_us = (uint32_t)(r >> 52);
		rec->u.pair.status = (uint8_t)(1 + r % 6);
		return;
	default:
		gen_change(rec, seed, (*seq)++, t0_ns);
	}
}

static inline void gen_free(struct hist_record *recs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (recs[i].type == HIST_CHECKPOINT) {
			hist_checkpoint_free(recs[i].u.checkpoint);
			recs[i].u.checkpoint = NULL;
		}
}

/* ---- canonical text: one line, every stored field ---- */

static inline void put_addr(FILE *f, const char *name, const struct inet_addr *a)
{
	fprintf(f, " %s=", name);
	if (a->type == INET_IPV4)
		fprintf(f, "%u.%u.%u.%u", a->bytes[0], a->bytes[1], a->bytes[2], a->bytes[3]);
	else if (a->type == INET_IPV6)
		for (int i = 0; i < 16; i++)
			fprintf(f, "%02x%s", a->bytes[i], i == 15 ? "" : (i & 1) ? ":" : "");
	else if (a->type == INET_UNKNOWN)
		fputs("-", f);
	else
		fprintf(f, "type%u", a->type);
}

static inline void put_value(FILE *f, const char *name, uint8_t kind, const union change_value *v)
{
	fprintf(f, " %s=", name);
	if (!v->present) {
		fputs("none", f);
		return;
	}
	switch (kind) {
	case CHANGE_PE_UP: case CHANGE_PE_DOWN: case CHANGE_PE_RESTART: case CHANGE_PE_CHANGE:
		fprintf(f, "{alive=%u genid=%u/%" PRIu32 " hold=%u dr=%" PRIu32, v->pe.alive,
			v->pe.has_genid, v->pe.genid, v->pe.holdtime, v->pe.dr_priority);
		put_addr(f, "caddr", &v->pe.caddr);
		break;
	case CHANGE_JOIN: case CHANGE_PRUNE: case CHANGE_EXPIRY:
		fprintf(f, "{kind=%u state=%u hold=%u", v->row.cg_kind, v->row.state, v->row.holdtime);
		put_addr(f, "up", &v->row.upstream);
		put_addr(f, "rp", &v->row.rp);
		break;
	case CHANGE_DATA_MDT_UP: case CHANGE_DATA_MDT_SWITCH: case CHANGE_DATA_MDT_DOWN:
		fputs("{", f);
		put_addr(f, "pgroup", &v->flow.p_group);
		put_addr(f, "by", &v->flow.announcer);
		break;
	case CHANGE_PAIR_STATUS: case CHANGE_TUNNEL_STATUS:
		fprintf(f, "{status=%u", v->status.status);
		break;
	case CHANGE_PE_RECLAIMED:
		fprintf(f, "{hellos=%" PRIu64, v->reclaim.hellos);
		break;
	case CHANGE_CONFIG_RELOAD:
		fprintf(f, "{vpns=%" PRIu32 " +%" PRIu32 " -%" PRIu32 " ~%" PRIu32, v->config.vpns,
			v->config.added, v->config.removed, v->config.changed);
		break;
	default:
		fputs("{?", f);
	}
	fputs("}", f);
}

static inline void put_checkpoint(FILE *f, const struct hist_checkpoint *cp)
{
	fprintf(f, " last_seq=%" PRIu64 " vpns=%zu pes=%zu cgpes=%zu flows=%zu", cp->last_change_seq,
		cp->n_vpns, cp->n_pes, cp->n_cgpes, cp->n_flows);
	for (size_t i = 0; i < cp->n_vpns; i++) {
		fprintf(f, " | vpn %" PRIu32 " %s expected=%" PRIu32, cp->vpns[i].index, cp->vpns[i].name,
			cp->vpns[i].n_expected);
		put_addr(f, "mdt", &cp->vpns[i].default_mdt);
	}
	for (size_t i = 0; i < cp->n_pes; i++) {
		fprintf(f, " | pe %" PRIu32 " expected=%u first=%" PRIu64, cp->pes[i].vpn_index,
			cp->pes[i].expected, cp->pes[i].first_seen_ns);
		put_addr(f, "addr", &cp->pes[i].addr);
		union change_value v = {.pe = cp->pes[i].value};
		put_value(f, "v", CHANGE_PE_UP, &v);
	}
	for (size_t i = 0; i < cp->n_cgpes; i++) {
		fprintf(f, " | cgpe %" PRIu32, cp->cgpes[i].vpn_index);
		put_addr(f, "s", &cp->cgpes[i].c_source);
		put_addr(f, "g", &cp->cgpes[i].c_group);
		put_addr(f, "pe", &cp->cgpes[i].pe);
		union change_value v = {.row = cp->cgpes[i].value};
		put_value(f, "v", CHANGE_JOIN, &v);
	}
	for (size_t i = 0; i < cp->n_flows; i++) {
		fprintf(f, " | flow %" PRIu32, cp->flows[i].vpn_index);
		put_addr(f, "s", &cp->flows[i].c_source);
		put_addr(f, "g", &cp->flows[i].c_group);
		union change_value v = {.flow = cp->flows[i].value};
		put_value(f, "v", CHANGE_DATA_MDT_UP, &v);
	}
}

/* The record as one line (no newline).  monitor may be NULL. */
static inline void put_record(FILE *f, const char *monitor, const struct hist_record *r)
{
	fprintf(f, "%s t=%" PRIu64, monitor ? monitor : "-", r->when_ns);
	switch (r->type) {
	case HIST_CHANGE: {
		const struct change *c = &r->u.change;
		fprintf(f, " change seq=%" PRIu64 " vpn=%" PRIu32 " kind=%u", r->seq, c->vpn_index, c->kind);
		put_addr(f, "pe", &c->pe);
		put_addr(f, "peer", &c->peer);
		put_addr(f, "s", &c->c_source);
		put_addr(f, "g", &c->c_group);
		put_addr(f, "pg", &c->p_group);
		put_value(f, "prev", c->kind, &c->previous);
		put_value(f, "cur", c->kind, &c->current);
		break;
	}
	case HIST_ALARM: {
		const struct hist_alarm *a = &r->u.alarm;
		fprintf(f, " alarm index=%" PRIu32 " kind=%u raised=%u vpn=%" PRIu32 " value=%" PRIu32
			" threshold=%" PRIu32, a->index, a->kind, a->raised, a->vpn_index, a->value,
			a->threshold);
		put_addr(f, "addr", &a->addr);
		put_addr(f, "peer", &a->peer);
		break;
	}
	case HIST_CONFIG:
		fprintf(f, " config ok=%u vpns=%" PRIu32 " +%" PRIu32 " -%" PRIu32 " ~%" PRIu32,
			r->u.config.ok, r->u.config.vpns, r->u.config.added, r->u.config.removed,
			r->u.config.changed);
		break;
	case HIST_PAIR_WINDOW: {
		const struct hist_pair_window *p = &r->u.pair;
		fprintf(f, " pair vpn=%" PRIu32 " sent=%" PRIu32 " rx=%" PRIu32 " lost=%" PRIu32
			" delay=%" PRIu32 "/%" PRIu32 "/%" PRIu32 " jitter=%" PRIu32 " status=%u",
			p->vpn_index, p->sent, p->received, p->lost, p->delay_min_us, p->delay_avg_us,
			p->delay_p99_us, p->jitter_us, p->status);
		put_addr(f, "src", &p->src);
		put_addr(f, "dst", &p->dst);
		break;
	}
	case HIST_FAULT: {
		const struct hist_fault *x = &r->u.fault;
		fprintf(f, " fault id=%" PRIu32 " located=%u vpn=%" PRIu32 " metric=%u kind=%u"
			" flags=%u loss=%" PRIu32 "/%" PRIu32 "/%" PRIu32 " echo=%" PRIu32
			" shift=%" PRId64 " pairs=%" PRIu32 " since=%" PRIu64, x->id, x->located,
			x->vpn_index, x->metric, x->kind, x->flags, x->loss_ppm, x->low_ppm,
			x->high_ppm, x->echo_loss_ppm, x->shift_us, x->pairs, x->since_ns);
		put_addr(f, "pe", &x->pe);
		put_addr(f, "peer", &x->peer);
		break;
	}
	case HIST_CHECKPOINT:
		fputs(" checkpoint", f);
		if (r->u.checkpoint)
			put_checkpoint(f, r->u.checkpoint);
		break;
	default:
		fprintf(f, " type%u", r->type);
	}
}

#endif
