#include "alarms.h"
#include "seek.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "locate.h"
#include "bgpmdt.h"
#include "log.h"
#include "model.h"

static const char *const notice_names[NOTICE_KINDS + 1] = {
	"", "mvpnPeMissing", "mvpnPeUnexpected", "mvpnVpnConfigMatch",
	"mvpnPairLossRising", "mvpnPairLossFalling", "mvpnPairDelayRising",
	"mvpnPairDelayFalling", "mvpnPairJitterRising", "mvpnPairJitterFalling",
	"mvpnAgentStart", "mvpnAlarmCleared", "mvpnHistoryLosing", "mvpnHistoryResumed",
	"mvpnFaultLocated", "mvpnFaultCleared", "mvpnPeBgpSilent", "mvpnPeNotInBgp",
	"mvpnBmpRouterUp", "mvpnBmpRouterDown", "mvpnBmpPeerUp", "mvpnBmpPeerDown"};

const char *notice_name(enum notice_kind kind)
{
	return kind >= 1 && kind <= NOTICE_KINDS ? notice_names[kind] : "?";
}

uint32_t alarm_index_base(uint64_t wall_ns)
{
	uint64_t secs = wall_ns / MTIME_SEC;
	uint64_t base = secs > ALARM_INDEX_EPOCH ? (secs - ALARM_INDEX_EPOCH) * ALARM_INDEX_PER_SECOND
						 : 0;

	/* Unsigned32 lasts 17 years at 8 a second; after that, wrap past 0. */
	return (uint32_t)(base % UINT32_MAX) + 1;
}

void alarms_init(struct alarms *a, uint32_t first_index)
{
	memset(a, 0, sizeof(*a));
	a->table.next_index = first_index ? first_index : 1;
	a->next_fault_id = a->table.next_index;
}

static void limiter_free(struct rate_limiter *l)
{
	for (size_t k = 0; k <= NOTICE_KINDS; k++) {
		free(l->sent[k]);
		l->sent[k] = NULL;
		l->head[k] = l->len[k] = 0;
	}
}

void alarms_free(struct alarms *a)
{
	free(a->table.v);
	a->table.v = NULL;
	free(a->dirty);
	a->dirty = NULL;
	a->n_dirty = a->cap_dirty = 0;
	a->table.n = a->table.cap = 0;
	limiter_free(&a->limiter);
}

bool alarms_set_rate_limit(struct alarms *a, uint32_t limit, mtime_t interval)
{
	struct rate_limiter *l = &a->limiter;

	if (l->limit == limit && l->interval == interval)
		return true; /* keep the history: a reload must not open the gate */
	limiter_free(l);
	l->limit = limit;
	l->interval = interval;
	for (size_t k = 1; limit && k <= NOTICE_KINDS; k++) {
		l->sent[k] = calloc(limit, sizeof(*l->sent[k]));
		if (!l->sent[k]) {
			limiter_free(l);
			l->limit = 0;
			mvpn_log(LOG_ERR, "out of memory for the notification rate limit: unlimited");
			return false;
		}
	}
	return true;
}

/* May a notice of this kind go now?  Records it if so. */
static bool limiter_admit(struct rate_limiter *l, enum notice_kind k, mtime_t now)
{
	size_t cap = l->limit;

	if (!cap)
		return true;
	if (l->len[k] == cap) {
		mtime_t oldest = l->sent[k][l->head[k]];
		if (now < oldest + l->interval)
			return false;
		l->head[k] = (l->head[k] + 1) % cap;
		l->len[k]--;
	}
	l->sent[k][(l->head[k] + l->len[k]) % cap] = now;
	l->len[k]++;
	return true;
}

/* ---- the notice queue ---- */

void notice_describe(const struct notice *n, char *out, size_t len)
{
	char a[INET_ADDR_STRLEN] = "", b[INET_ADDR_STRLEN] = "";

	if (n->addr.type)
		inet_addr_format(&n->addr, a);
	if (n->peer.type)
		inet_addr_format(&n->peer, b);
	switch (n->kind) {
	case NOTICE_PE_MISSING:
	case NOTICE_PE_UNEXPECTED:
	case NOTICE_PE_BGP_SILENT:
	case NOTICE_PE_NOT_IN_BGP:
		snprintf(out, len, "vpn \"%s\" (%u) pe %s", n->vpn_name, n->vpn_index, a);
		break;
	case NOTICE_VPN_MATCH:
		snprintf(out, len, "vpn \"%s\" (%u): %u expected, %u active", n->vpn_name,
			 n->vpn_index, n->expected, n->active);
		break;
	case NOTICE_ALARM_CLEARED:
		snprintf(out, len, "alarm %u: ", n->alarm_index);
		size_t used = strlen(out);
		notice_alarm_describe(n, out + used, len - used);
		break;
	case NOTICE_HISTORY_LOSING:
	case NOTICE_HISTORY_RESUMED:
		snprintf(out, len, "history: %llu records lost, %u waiting",
			 (unsigned long long)n->dropped, n->value);
		break;
	case NOTICE_BMP_ROUTER_UP:
		snprintf(out, len, "router %s: session began", a);
		break;
	case NOTICE_BMP_ROUTER_DOWN:
		snprintf(out, len, "router %s: session ended, its peers and routes gone", a);
		break;
	case NOTICE_BMP_PEER_UP:
		snprintf(out, len, "router %s: peer %s (AS %u) up", a, b, n->bmp.as);
		break;
	case NOTICE_BMP_PEER_DOWN: /* RFC 7854 4.9's reason; code/subcode: RFC 4271 4.5 */
		snprintf(out, len, "router %s: peer %s (AS %u) down: reason %u, NOTIFICATION %u/%u, "
			 "FSM event %u", a, b, n->bmp.as, n->bmp.reason, n->bmp.code, n->bmp.subcode,
			 n->bmp.fsm_event);
		break;
	case NOTICE_FAULT_LOCATED:
	case NOTICE_FAULT_CLEARED: {
		struct alarm_location loc = {.kind = n->fault.kind, .pe = n->addr, .peer = n->peer};
		char where[160];
		location_describe(&loc, where, sizeof(where));
		snprintf(out, len, "vpn \"%s\" (%u) %s: %s", n->vpn_name, n->vpn_index,
			 metric_name(n->fault.metric), where);
		break;
	}
	default:
		snprintf(out, len, "vpn \"%s\" (%u) pair %s -> %s: %u (threshold %u)", n->vpn_name,
			 n->vpn_index, a, b, n->value, n->threshold);
	}
}

static void queue_push(struct model *m, const struct notice *n)
{
	struct alarms *a = &m->alarms;
	struct notice_queue *q = &a->queue;
	char what[256];

	if (!limiter_admit(&a->limiter, n->kind, n->at)) {
		a->limiter.suppressed[n->kind]++;
		m->g.notifications_suppressed++;
		notice_describe(n, what, sizeof(what));
		mvpn_log(LOG_NOTICE, "%s not sent: rate limit of %u per %llu s reached (%llu of "
			 "this kind held back so far): %s", notice_name(n->kind), a->limiter.limit,
			 (unsigned long long)(a->limiter.interval / MTIME_SEC),
			 (unsigned long long)a->limiter.suppressed[n->kind], what);
		return;
	}
	if (q->len == NOTICE_QUEUE_CAP) {
		notice_describe(&q->ring[q->head], what, sizeof(what));
		mvpn_log(LOG_ERR, "%s lost: %u notifications wait for the master agent: %s",
			 notice_name(q->ring[q->head].kind), NOTICE_QUEUE_CAP, what);
		q->head = (q->head + 1) % NOTICE_QUEUE_CAP;
		q->len--;
		a->lost++;
		m->g.notifications_lost++;
	}
	q->ring[(q->head + q->len) % NOTICE_QUEUE_CAP] = *n;
	q->len++;
}

void notice_post(struct model *m, const struct notice *n)
{
	queue_push(m, n);
}

bool notice_pop(struct alarms *a, struct notice *out)
{
	struct notice_queue *q = &a->queue;

	if (!q->len)
		return false;
	*out = q->ring[q->head];
	q->head = (q->head + 1) % NOTICE_QUEUE_CAP;
	q->len--;
	return true;
}

static struct notice notice_for(const struct vpn *v, enum notice_kind kind, mtime_t now)
{
	struct notice n = {.kind = kind, .vpn_index = v->index, .at = now};

	snprintf(n.vpn_name, sizeof(n.vpn_name), "%s", v->name);
	return n;
}

/* ---- the alarm table ---- */

struct alarm_key {
	const struct alarm_table *t;
	uint32_t index;
};

static bool alarm_at_or_past(const void *ctx, size_t i)
{
	const struct alarm_key *k = ctx;

	return k->t->v[i].index >= k->index;
}

static size_t alarm_position(const struct alarm_table *t, uint32_t index)
{
	struct alarm_key k = {t, index};

	return seek_first(t->n, &k, alarm_at_or_past);
}

struct alarm *alarm_find(struct alarm_table *t, uint32_t index)
{
	size_t pos = alarm_position(t, index);

	return pos < t->n && t->v[pos].index == index ? &t->v[pos] : NULL;
}

/* Adds a row; returns its index, or 0 when out of memory (logged). */
static uint32_t alarm_add(struct model *m, const struct alarm *proto)
{
	struct alarm_table *t = &m->alarms.table;
	char descr[ALARM_DESCR_MAX];

	alarm_describe(proto, descr, sizeof(descr));
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct alarm *grown = realloc(t->v, cap * sizeof(*grown));
		if (!grown) {
			mvpn_log(LOG_ERR, "out of memory: alarm not entered in the table: %s",
				 descr);
			return 0;
		}
		t->v = grown;
		t->cap = cap;
	}
	t->v[t->n] = *proto;
	t->v[t->n].index = t->next_index++;
	if (t->next_index == 0) /* 2^32 alarms later: 0 means "none" */
		t->next_index = 1;
	mvpn_log(LOG_WARNING, "alarm %u raised: %s", t->v[t->n].index, descr);
	if (m->observer.alarm)
		m->observer.alarm(m->observer.ctx, m, &t->v[t->n], true, proto->raised);
	return t->v[t->n++].index;
}

/* Takes the row out of the table into *out; false if there is none. */
static bool alarm_remove(struct model *m, uint32_t index, const char *why, struct alarm *out)
{
	struct alarm_table *t = &m->alarms.table;
	size_t pos = alarm_position(t, index);

	char descr[ALARM_DESCR_MAX];

	if (pos >= t->n || t->v[pos].index != index)
		return false;
	alarm_describe(&t->v[pos], descr, sizeof(descr));
	mvpn_log(LOG_NOTICE, "alarm %u cleared (%s): %s", index, why, descr);
	*out = t->v[pos];
	memmove(&t->v[pos], &t->v[pos + 1], (t->n - pos - 1) * sizeof(*t->v));
	t->n--;
	if (m->observer.alarm)
		m->observer.alarm(m->observer.ctx, m, out, false, mclock_now(&m->clock));
	return true;
}

/* The alarm's identity, which every notice about it carries. */
static void notice_about(struct notice *n, const struct alarm *al)
{
	n->alarm_index = al->index;
	n->alarm_kind = al->kind;
	n->raised = al->raised;
	n->alarm_value = al->value;
	n->alarm_threshold = al->threshold;
	n->location = al->location;
}

/* Removes an alarm and announces its clear (mvpnAlarmCleared), for every
 * alarm whose end is not a threshold's falling notice.  v may be gone (a
 * reload removed the VPN): the notice then gives the name it had. */
static void clear_alarm(struct model *m, const struct vpn *v, uint32_t index, const char *why,
			mtime_t now)
{
	struct alarm al;
	struct notice n = {.kind = NOTICE_ALARM_CLEARED, .at = now};

	if (!alarm_remove(m, index, why, &al))
		return;
	n.vpn_index = al.vpn_index;
	memcpy(n.vpn_name, v ? v->name : al.vpn_name, sizeof(n.vpn_name));
	n.addr = al.addr;
	n.peer = al.peer;
	notice_about(&n, &al);
	queue_push(m, &n);
}

void alarm_oidx(const struct alarm *al, struct oidx *out)
{
	oidx_reset(out);
	oidx_push(out, al->index);
}

const struct alarm *alarm_seek(const struct alarm_table *t, const uint32_t *want, size_t wlen,
			       bool after)
{
	size_t pos;

	if (wlen == 0)
		return t->n ? &t->v[0] : NULL;
	pos = alarm_position(t, want[0]);
	if (pos < t->n && t->v[pos].index == want[0]) {
		struct oidx row;
		alarm_oidx(&t->v[pos], &row);
		if (!oidx_seek_ok(&row, want, wlen, after))
			pos++;
	}
	return pos < t->n ? &t->v[pos] : NULL;
}

static const char *const metric_names[METRICS] = {"loss", "delay", "jitter"};
static const char *const metric_units[METRICS] = {"ppm", "us", "us"};

const char *metric_name(enum metric k)
{
	return k < METRICS ? metric_names[k] : "?";
}

void alarm_describe(const struct alarm *al, char *out, size_t len)
{
	char a[INET_ADDR_STRLEN], b[INET_ADDR_STRLEN];

	if (alarm_kind_is_pe(al->kind)) {
		static const char *const form[] = {
			[ALARM_PE_MISSING] = "vpn %s: expected PE %s is not active",
			[ALARM_PE_UNEXPECTED] = "vpn %s: PE %s is active but not expected",
			[ALARM_PE_BGP_SILENT] = "vpn %s: BGP advertises PE %s, which sends no Hello",
			[ALARM_PE_NOT_IN_BGP] = "vpn %s: PE %s is active but BGP does not advertise it",
		};
		snprintf(out, len, form[al->kind], al->vpn_name, inet_addr_format(&al->addr, a));
		return;
	}
	if (al->kind < ALARM_PAIR_LOSS || al->kind > ALARM_PAIR_JITTER) {
		snprintf(out, len, "alarm %u", al->index);
		return;
	}
	enum metric k = al->kind - ALARM_PAIR_LOSS;
	int used = snprintf(out, len, "vpn %s: pair %s -> %s %s %u %s reached %u", al->vpn_name,
			    inet_addr_format(&al->addr, a), inet_addr_format(&al->peer, b),
			    metric_names[k], al->value, metric_units[k], al->threshold);
	if (al->location.kind && used >= 0 && (size_t)used < len) {
		char where[160];
		location_describe(&al->location, where, sizeof(where));
		snprintf(out + used, len - (size_t)used, "; located: %s", where);
	}
}

void notice_alarm_describe(const struct notice *n, char *out, size_t len)
{
	struct alarm al = {.index = n->alarm_index, .kind = n->alarm_kind,
			   .vpn_index = n->vpn_index, .addr = n->addr, .peer = n->peer,
			   .value = n->alarm_value, .threshold = n->alarm_threshold,
			   .location = n->location};

	memcpy(al.vpn_name, n->vpn_name, sizeof(al.vpn_name));
	alarm_describe(&al, out, len);
}

/* ---- expected vs active PEs ---- */

bool alarm_kind_is_pe(enum alarm_kind k)
{
	return k == ALARM_PE_MISSING || k == ALARM_PE_UNEXPECTED || k == ALARM_PE_BGP_SILENT ||
	       k == ALARM_PE_NOT_IN_BGP;
}

/*
 * The alarm the PE's status calls for, once it has held long enough: a
 * missing or BGP-silent PE not before the start-up grace has passed, and BGP's
 * word (an advertisement, a withdrawal, the VPN's first BGP PE) not before it
 * has held for bgp_settle, so that a BMP session's restart, or the first
 * seconds of a table dump, page nobody.
 */
static enum alarm_kind pe_alarm_wanted(struct model *m, const struct vpn *v,
				       const struct pe *pe, mtime_t now, bool grace_over)
{
	mtime_t settled = pe->bgp_changed + m->settings.bgp_settle;

	switch (pe_status(pe, vpn_pe_judging(v))) {
	case PE_MISSING:
		return grace_over ? ALARM_PE_MISSING : 0;
	case PE_UNEXPECTED:
		return ALARM_PE_UNEXPECTED;
	case PE_NOT_IN_BGP:
		if (v->bgp_since > pe->bgp_changed)
			settled = v->bgp_since + m->settings.bgp_settle;
		/* fall through */
	case PE_BGP_SILENT:
		if (now < settled) {
			alarms_wake_pe_check(m, settled);
			return 0;
		}
		if (!grace_over)
			return 0; /* the grace's end is a PE check of its own */
		return pe->bgp_advertised ? ALARM_PE_BGP_SILENT : ALARM_PE_NOT_IN_BGP;
	default:
		return 0;
	}
}

void alarms_wake_pe_check(struct model *m, mtime_t at)
{
	if (at < m->alarms.next_pe_check)
		m->alarms.next_pe_check = at;
}

static enum notice_kind pe_alarm_notice(enum alarm_kind kind)
{
	switch (kind) {
	case ALARM_PE_MISSING: return NOTICE_PE_MISSING;
	case ALARM_PE_BGP_SILENT: return NOTICE_PE_BGP_SILENT;
	case ALARM_PE_NOT_IN_BGP: return NOTICE_PE_NOT_IN_BGP;
	default: return NOTICE_PE_UNEXPECTED;
	}
}

static void raise_pe_alarm(struct model *m, struct vpn *v, struct pe *pe, enum alarm_kind kind,
			   mtime_t now)
{
	struct alarm al = {.kind = kind, .vpn_index = v->index, .addr = pe->addr, .raised = now};
	struct notice n = notice_for(v, pe_alarm_notice(kind), now);

	memcpy(al.vpn_name, v->name, sizeof(al.vpn_name));
	pe->alarm_index = alarm_add(m, &al);
	v->mismatch_announced = true;
	n.addr = pe->addr;
	al.index = pe->alarm_index;
	notice_about(&n, &al);
	queue_push(m, &n);
}

/* Brings one PE's alarm in line with its state. */
static void judge_pe(struct model *m, struct vpn *v, struct pe *pe, mtime_t now, bool grace_over)
{
	enum alarm_kind want = pe_alarm_wanted(m, v, pe, now, grace_over);

	if (pe->alarm_index && pe->alarm_kind != want) {
		clear_alarm(m, v, pe->alarm_index, "the PE's state changed", now);
		pe->alarm_index = 0;
		pe->alarm_kind = 0;
		v->n_pe_alarms--;
	}
	if (want && !pe->alarm_index) {
		raise_pe_alarm(m, v, pe, want, now);
		if (pe->alarm_index) {
			pe->alarm_kind = (uint8_t)want;
			v->n_pe_alarms++;
		}
	}
}

/* Once a VPN that raised PE alarms has none left: one "match" notice. */
static void announce_match(struct model *m, struct vpn *v, mtime_t now)
{
	struct pe_counts pc;
	struct notice n;

	if (v->n_pe_alarms || !v->mismatch_announced)
		return;
	n = notice_for(v, NOTICE_VPN_MATCH, now);
	vpn_pe_counts(m, v, &pc);
	n.expected = pc.expected;
	n.active = pc.active;
	mvpn_log(LOG_NOTICE, "vpn %s matches its configuration again", v->name);
	v->mismatch_announced = false;
	queue_push(m, &n);
}

static void check_vpn_pes(struct model *m, struct vpn *v, mtime_t now, bool grace_over)
{
	vpn_bgp_settle(m, v, now);
	for (size_t i = 0; i < v->pes.n; i++)
		judge_pe(m, v, v->pes.v[i], now, grace_over);
	announce_match(m, v, now);
}

#define DIRTY_PES_MAX 4096

void alarms_pe_changed(struct model *m, struct vpn *v, struct pe *pe)
{
	struct alarms *a = &m->alarms;

	if (!pe || a->dirty_overflow)
		return;
	if (a->n_dirty == a->cap_dirty) {
		size_t cap = a->cap_dirty ? a->cap_dirty * 2 : 64;
		struct dirty_pe *grown = cap <= DIRTY_PES_MAX ? realloc(a->dirty, cap * sizeof(*grown))
							      : NULL;
		if (!grown) {
			a->dirty_overflow = true; /* judge everything instead */
			return;
		}
		a->dirty = grown;
		a->cap_dirty = cap;
	}
	a->dirty[a->n_dirty++] = (struct dirty_pe){.vpn = v, .pe = pe};
}

void alarms_pe_removed(struct model *m, struct vpn *v, struct pe *pe, const char *why)
{
	struct alarms *a = &m->alarms;

	if (pe->alarm_index) {
		clear_alarm(m, v, pe->alarm_index, why, mclock_now(&m->clock));
		pe->alarm_index = 0;
		pe->alarm_kind = 0;
		v->n_pe_alarms--;
	}
	for (size_t i = 0; i < a->n_dirty; i++)
		if (a->dirty[i].pe == pe)
			a->dirty[i].pe = NULL;
}

static void forget_dirty(struct alarms *a)
{
	a->n_dirty = 0;
	a->dirty_overflow = false;
}

/* Every VPN (all), or only the PEs that changed. */
static void check_pes(struct model *m, mtime_t now, bool all)
{
	struct alarms *a = &m->alarms;
	mtime_t grace_end = m->clock.origin + m->settings.startup_grace;
	bool grace_over = now >= grace_end;

	/* Without a capture nothing is ever heard: every PE would be "missing"
	 * (but in a VPN signalled by BGP, whose PEs BGP's routes make). */
	bool judging = m->capture != CAPTURE_OFF;

	if (all) {
		a->next_pe_check = now + m->settings.pe_check_interval;
		if (!grace_over && grace_end < a->next_pe_check)
			a->next_pe_check = grace_end;
		for (size_t i = 0; i < m->n_vpns; i++)
			if (judging || m->vpns[i]->bgp_signalled)
				check_vpn_pes(m, m->vpns[i], now, grace_over);
	} else {
		for (size_t i = 0; i < a->n_dirty; i++)
			if (a->dirty[i].pe && (judging || a->dirty[i].vpn->bgp_signalled))
				judge_pe(m, a->dirty[i].vpn, a->dirty[i].pe, now, grace_over);
		for (size_t i = 0; i < a->n_dirty; i++)
			announce_match(m, a->dirty[i].vpn, now);
	}
	forget_dirty(a);
}

/* ---- thresholds on probed pairs ---- */

static const enum notice_kind rising_notice[METRICS] = {NOTICE_LOSS_RISING, NOTICE_DELAY_RISING,
							NOTICE_JITTER_RISING};
static const enum notice_kind falling_notice[METRICS] = {
	NOTICE_LOSS_FALLING, NOTICE_DELAY_FALLING, NOTICE_JITTER_FALLING};
static const enum alarm_kind metric_alarm[METRICS] = {ALARM_PAIR_LOSS, ALARM_PAIR_DELAY,
						      ALARM_PAIR_JITTER};

static uint32_t us_clamped(int64_t ns)
{
	int64_t us = (ns + 500) / 1000;
	return ns <= 0 ? 0 : us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

bool pair_metric_value(const struct pair_figures *f, enum metric k, uint32_t *out)
{
	switch (k) {
	case METRIC_LOSS:
		*out = f->loss_ppm;
		return f->window_sent > 0;
	case METRIC_DELAY: /* the provider's delay: corrected for the tunnels */
		*out = us_clamped(f->window.avg_ns - f->correction_ns);
		return f->window.count > 0 && f->have_correction;
	case METRIC_JITTER:
		*out = us_clamped(f->window.jitter_ns);
		return f->window.ipdv_count > 0;
	default:
		return false;
	}
}

static void pair_notice(struct model *m, const struct vpn *v, const struct pair *pr,
			enum notice_kind kind, uint32_t value, uint32_t threshold,
			const struct alarm *al, mtime_t now)
{
	struct notice n = notice_for(v, kind, now);

	notice_about(&n, al);
	n.addr = pr->src;
	n.peer = pr->dst;
	n.value = value;
	n.threshold = threshold;
	queue_push(m, &n);
}

static void raise_pair_alarm(struct model *m, const struct vpn *v, struct pair *pr,
			     enum metric k, uint32_t value, uint32_t rising, mtime_t now)
{
	struct alarm al = {.kind = metric_alarm[k], .vpn_index = v->index, .addr = pr->src,
			   .peer = pr->dst, .value = value, .threshold = rising, .raised = now};

	memcpy(al.vpn_name, v->name, sizeof(al.vpn_name));
	locate_pair(v->probing, k, pr, &al.location);
	pr->alarm_index[k] = alarm_add(m, &al);
	al.index = pr->alarm_index[k];
	pair_notice(m, v, pr, rising_notice[k], value, rising, &al, now);
}

/* RMON hysteresis, startup alarm "rising": see the file's comment in alarms.h. */
static bool judge_metric(struct model *m, const struct vpn *v, struct pair *pr, enum metric k,
			 const struct pair_figures *f, mtime_t now)
{
	const struct threshold *t = &v->thresholds.t[k];
	uint32_t value;

	if (!t->rising || !pair_metric_value(f, k, &value))
		return false;
	if (!pr->alarm_index[k] && value >= t->rising) {
		raise_pair_alarm(m, v, pr, k, value, t->rising, now);
		return true;
	}
	if (pr->alarm_index[k] && value <= t->falling) {
		struct alarm al;
		/* The falling notice is this alarm's clear. */
		if (alarm_remove(m, pr->alarm_index[k], "fell to the falling threshold", &al))
			pair_notice(m, v, pr, falling_notice[k], value, t->falling, &al, now);
		pr->alarm_index[k] = 0;
		return true;
	}
	return false;
}

static bool judged(const struct thresholds *t)
{
	return t->t[METRIC_LOSS].rising || t->t[METRIC_DELAY].rising || t->t[METRIC_JITTER].rising;
}

static void check_vpn_pairs(struct model *m, struct vpn *v, mtime_t now)
{
	struct vpn_probe *vp = v->probing;

	if (!vp || !judged(&v->thresholds))
		return;
	locate_run(m, v, now); /* first: a rising alarm then says where its cause is */
	for (size_t i = 0; i < vp->n * vp->n; i++) {
		struct pair *pr = vp->pairs[i];
		bool changed = false;
		if (!pr || !pair_window_full(&m->probing, pr, now))
			continue;
		const struct pair_figures *f = pair_figures(&m->probing, pr, now);
		for (enum metric k = 0; k < METRICS; k++)
			changed |= judge_metric(m, v, pr, k, f, now);
		if (changed)
			pair_update_status(&m->probing, m, pr, now);
	}
}

static void check_pairs(struct model *m, mtime_t now)
{
	m->alarms.next_threshold_check = now + MTIME_SEC;
	for (size_t i = 0; i < m->n_vpns; i++)
		check_vpn_pairs(m, m->vpns[i], now);
}

void alarms_run(struct model *m, mtime_t now)
{
	struct alarms *a = &m->alarms;

	if (now >= a->next_pe_check || a->dirty_overflow)
		check_pes(m, now, true);
	else if (a->n_dirty)
		check_pes(m, now, false);
	if (now >= a->next_threshold_check)
		check_pairs(m, now);
}

/* ---- reconfiguration ---- */

/* Does the alarm still have its owner, and is the owner still judged? */
static bool alarm_owned(const struct model *m, const struct alarm *al)
{
	const struct vpn *v = vpn_find(m, al->vpn_index);

	if (!v)
		return false;
	if (alarm_kind_is_pe(al->kind)) {
		const struct pe *pe = pe_find(&v->pes, &al->addr);
		return pe && pe->alarm_index == al->index;
	}
	const struct vpn_probe *vp = v->probing;
	long i = vp ? vpn_probe_pe_index(vp, &al->addr) : -1;
	long j = vp ? vpn_probe_pe_index(vp, &al->peer) : -1;
	const struct pair *pr = i >= 0 && j >= 0 ? vp->pairs[i * (long)vp->n + j] : NULL;
	enum metric k = al->kind - ALARM_PAIR_LOSS;
	return pr && pr->alarm_index[k] == al->index && v->thresholds.t[k].rising;
}

/* A pair whose metric is no longer judged forgets its alarm. */
static void disarm_unjudged(struct model *m)
{
	for (size_t i = 0; i < m->n_vpns; i++) {
		struct vpn *v = m->vpns[i];
		struct vpn_probe *vp = v->probing;
		for (size_t p = 0; vp && p < vp->n * vp->n; p++)
			for (enum metric k = 0; vp->pairs[p] && k < METRICS; k++)
				if (!v->thresholds.t[k].rising)
					vp->pairs[p]->alarm_index[k] = 0;
	}
}

void alarms_reconfigured(struct model *m)
{
	struct alarm_table *t = &m->alarms.table;

	for (size_t i = t->n; i-- > 0;)
		if (!alarm_owned(m, &t->v[i]))
			clear_alarm(m, vpn_find(m, t->v[i].vpn_index), t->v[i].index,
				    "no longer configured", mclock_now(&m->clock));
	disarm_unjudged(m);
	/* PEs may have been freed (each VPN's n_pe_alarms was kept as they
	 * went): judge everything afresh. */
	forget_dirty(&m->alarms);
	m->alarms.next_pe_check = 0;
	m->alarms.next_threshold_check = 0;
}

/* ---- restoring what the history knew (at start) ---- */

/* The row the alarm belongs to, where its index is kept; NULL if none. */
static uint32_t *alarm_owner_slot(struct model *m, struct vpn *v, const struct alarm *al)
{
	if (alarm_kind_is_pe(al->kind)) {
		struct pe *pe = pe_find(&v->pes, &al->addr);
		return pe ? &pe->alarm_index : NULL;
	}
	if (al->kind < ALARM_PAIR_LOSS || al->kind > ALARM_PAIR_JITTER || !v->probing)
		return NULL;
	struct vpn_probe *vp = v->probing;
	long i = vpn_probe_pe_index(vp, &al->addr), j = vpn_probe_pe_index(vp, &al->peer);
	struct pair *pr = i >= 0 && j >= 0 ? vp->pairs[i * (long)vp->n + j] : NULL;
	(void)m;
	return pr ? &pr->alarm_index[al->kind - ALARM_PAIR_LOSS] : NULL;
}

bool alarms_restore(struct model *m, const struct alarm *al)
{
	struct vpn *v = vpn_find(m, al->vpn_index);
	struct alarm_table *t = &m->alarms.table;
	uint32_t *slot = v ? alarm_owner_slot(m, v, al) : NULL;

	if (!slot || *slot || (t->n && t->v[t->n - 1].index >= al->index))
		return false; /* gone with its owner, or out of order: judged afresh */
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct alarm *grown = realloc(t->v, cap * sizeof(*grown));
		if (!grown)
			return false;
		t->v = grown;
		t->cap = cap;
	}
	t->v[t->n] = *al;
	memcpy(t->v[t->n].vpn_name, v->name, sizeof(t->v[t->n].vpn_name));
	t->n++;
	*slot = al->index;
	if (alarm_kind_is_pe(al->kind)) {
		pe_find(&v->pes, &al->addr)->alarm_kind = (uint8_t)al->kind;
		v->n_pe_alarms++;
		v->mismatch_announced = true;
	}
	if (t->next_index <= al->index) /* a clock stepped back: never reuse an index */
		t->next_index = al->index + 1 ? al->index + 1 : 1;
	return true;
}
