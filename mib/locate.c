#include "locate.h"
#include "seek.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "model.h"

void location_describe(const struct alarm_location *loc, char *out, size_t len)
{
	char a[INET_ADDR_STRLEN], b[INET_ADDR_STRLEN];

	switch (loc->kind) {
	case FAULT_SENDER_SIDE:
		snprintf(out, len, "sender side of PE %s", inet_addr_format(&loc->pe, a));
		break;
	case FAULT_RECEIVER_SIDE:
		snprintf(out, len, "receiver side of PE %s", inet_addr_format(&loc->pe, a));
		break;
	case FAULT_PATH:
		snprintf(out, len, "path %s -> %s", inet_addr_format(&loc->pe, a),
			 inet_addr_format(&loc->peer, b));
		break;
	case FAULT_MONITOR_LINK:
		snprintf(out, len, "the monitor's own link (probing figures unreliable)");
		break;
	default:
		snprintf(out, len, "nowhere");
	}
}

static struct alarm_location location_of(const struct fault *f)
{
	return (struct alarm_location){.kind = f->kind, .pe = f->pe_addr, .peer = f->peer_addr};
}

/* ---- notices ---- */

static void fault_notice(struct model *m, uint32_t vpn_index, const char *vpn_name,
			 const struct fault *f, enum notice_kind kind, mtime_t now)
{
	struct notice n = {.kind = kind, .vpn_index = vpn_index, .at = now, .addr = f->pe_addr,
			   .peer = f->peer_addr};
	char what[256];

	snprintf(n.vpn_name, sizeof(n.vpn_name), "%s", vpn_name);
	n.fault = (struct notice_fault){.kind = f->kind, .metric = f->metric, .flags = f->flags,
					.loss_ppm = f->loss_ppm, .low_ppm = f->low_ppm,
					.high_ppm = f->high_ppm, .echo_loss_ppm = f->echo_loss_ppm,
					.pairs = f->pairs, .shift_us = f->shift_us, .since = f->since};
	notice_describe(&n, what, sizeof(what));
	if (m->observer.fault)
		m->observer.fault(m->observer.ctx, m, vpn_index, f, kind == NOTICE_FAULT_LOCATED,
				  now);
	if (kind == NOTICE_FAULT_LOCATED)
		mvpn_log(LOG_WARNING, "fault located: %s (%u pairs; loss %u ppm in [%u, %u], "
			 "shift %lld us)", what, f->pairs, f->loss_ppm, f->low_ppm, f->high_ppm,
			 (long long)f->shift_us);
	else
		mvpn_log(LOG_NOTICE, "fault cleared: %s", what);
	notice_post(m, &n);
}

static bool same_fault(const struct fault *a, const struct fault *b)
{
	return a->kind == b->kind && a->metric == b->metric &&
	       inet_addr_eq(&a->pe_addr, &b->pe_addr) && inet_addr_eq(&a->peer_addr, &b->peer_addr);
}

static bool published(const struct fault *f)
{
	return f->flags & FAULT_PUBLISHED;
}

static bool listed(const struct fault *f, const struct fault *v, size_t n, bool only_published)
{
	for (size_t i = 0; i < n; i++)
		if (same_fault(f, &v[i]) && (!only_published || published(&v[i])))
			return true;
	return false;
}

/* A path of metric k is blamed for what remains: moved pairs no PE side
 * explains yet. */
static bool residual_of(const struct faultloc *fl, uint8_t metric)
{
	for (size_t i = 0; i < fl->n; i++)
		if (fl->v[i].metric == metric && fl->v[i].flags & FAULT_RESIDUAL)
			return true;
	return false;
}

/*
 * A fault located for a tomography block (at least) is published; a path
 * blamed for what remains, only once it has lasted a whole window.  So is
 * a PE side while pairs of its metric are left to residual paths: the
 * explanation is not settled.  When the monitor's own link starts losing,
 * every pair moves at once, but the sides' estimates clear a third of the
 * threshold one by one over the window: the first side located explains
 * a few of the moved pairs, the rest are residual, until every side is
 * implicated and the monitor's link explains them all.  A single PE's
 * side, once located, leaves no residual path: it is published as soon.
 * A fault published stays published while it is located.
 */
static void publish(struct vpn_probe *vp, mtime_t now)
{
	const struct faultloc *fl = &vp->faults;
	mtime_t window = (mtime_t)vp->cfg.window * MTIME_SEC;

	for (size_t i = 0; i < fl->n; i++) {
		struct fault *f = &vp->faults.v[i];
		bool side = f->kind == FAULT_SENDER_SIDE || f->kind == FAULT_RECEIVER_SIDE;
		bool unsettled = f->flags & FAULT_RESIDUAL || (side && residual_of(fl, f->metric));
		mtime_t hold = unsettled ? window : window / TOMO_BLOCKS_DEFAULT;
		if (now >= f->since + hold || listed(f, fl->prev, fl->n_prev, true))
			f->flags |= FAULT_PUBLISHED;
	}
}

/* A new fault's id: never 0, never one an earlier run gave (alarms.h). */
static uint32_t fault_id(struct model *m)
{
	uint32_t id = m->alarms.next_fault_id++;

	if (!m->alarms.next_fault_id)
		m->alarms.next_fault_id = 1;
	return id ? id : fault_id(m);
}

/* After a run, faultloc's prev is the run before: what came, what went. */
static void announce(struct model *m, const struct vpn *v, struct faultloc *f, mtime_t now)
{
	for (size_t i = 0; i < f->n_prev; i++)
		if (published(&f->prev[i]) && !listed(&f->prev[i], f->v, f->n, false))
			fault_notice(m, v->index, v->name, &f->prev[i], NOTICE_FAULT_CLEARED, now);
	for (size_t i = 0; i < f->n; i++)
		if (published(&f->v[i]) && !listed(&f->v[i], f->prev, f->n_prev, true)) {
			f->v[i].id = fault_id(m);
			fault_notice(m, v->index, v->name, &f->v[i], NOTICE_FAULT_LOCATED, now);
		}
}

void locate_forget(struct model *m, struct vpn *v, struct vpn_probe *vp)
{
	mtime_t now = mclock_now(&m->clock);

	for (size_t i = 0; i < vp->faults.n; i++)
		if (published(&vp->faults.v[i]))
			fault_notice(m, v->index, v->name, &vp->faults.v[i], NOTICE_FAULT_CLEARED,
				     now);
	faultloc_reset(&vp->faults);
}

bool locate_unreliable(const struct vpn_probe *vp)
{
	for (size_t i = 0; vp && i < vp->faults.n; i++)
		if (vp->faults.v[i].kind == FAULT_MONITOR_LINK && published(&vp->faults.v[i]))
			return true;
	return false;
}

/* ---- a run ---- */

void locate_pair(const struct vpn_probe *vp, enum metric k, const struct pair *pr,
		 struct alarm_location *out)
{
	static const uint8_t order[] = {FAULT_MONITOR_LINK, FAULT_SENDER_SIDE,
					FAULT_RECEIVER_SIDE, FAULT_PATH};

	memset(out, 0, sizeof(*out));
	if (!vp)
		return;
	for (size_t o = 0; o < sizeof(order); o++)
		for (size_t i = 0; i < vp->faults.n; i++) {
			const struct fault *f = &vp->faults.v[i];
			bool explains;
			if (f->metric != k || f->kind != order[o] || !published(f))
				continue;
			switch (f->kind) {
			case FAULT_SENDER_SIDE: explains = inet_addr_eq(&f->pe_addr, &pr->src); break;
			case FAULT_RECEIVER_SIDE: explains = inet_addr_eq(&f->pe_addr, &pr->dst); break;
			case FAULT_PATH:
				explains = inet_addr_eq(&f->pe_addr, &pr->src) &&
					   inet_addr_eq(&f->peer_addr, &pr->dst);
				break;
			default: explains = true;
			}
			if (explains) {
				*out = location_of(f);
				return;
			}
		}
}

/* The estimates change only when the tomography's block does. */
static const struct tomo_result *estimates(struct vpn_probe *vp, mtime_t now)
{
	mtime_t span = (mtime_t)vp->cfg.window * MTIME_SEC / TOMO_BLOCKS_DEFAULT;
	uint64_t block = span ? now / span : 0;

	if (!vp->tomo)
		return NULL;
	if (!vp->estimates || block != vp->estimated_block) {
		vp->estimates = tomo_estimate(vp->tomo, now);
		vp->estimated_block = block;
	}
	return vp->estimates;
}

static void pair_inputs(struct model *m, struct vpn_probe *vp, struct faultloc_pair *in,
			mtime_t now)
{
	for (size_t c = 0; c < vp->n * vp->n; c++) {
		struct pair *pr = vp->pairs[c];
		memset(&in[c], 0, sizeof(in[c]));
		if (!pr || !pair_window_full(&m->probing, pr, now))
			continue;
		const struct pair_figures *f = pair_figures(&m->probing, pr, now);
		for (enum metric k = 0; k < METRICS; k++)
			in[c].have[k] = pair_metric_value(f, k, &in[c].value[k]);
	}
}

static void echo_inputs(const struct model *m, const struct vpn_probe *vp,
			struct faultloc_echo *echo)
{
	for (size_t i = 0; i < vp->n; i++) {
		const struct tunnel *t = tunnel_find(&m->probing.tunnels, &vp->pes[i]);
		echo[i] = t ? (struct faultloc_echo){(uint32_t)t->outcomes.len, t->outcomes.n_received}
			    : (struct faultloc_echo){0, 0};
	}
}

/* Every raised pair alarm of v names where its cause lies now. */
static void relocate_alarms(struct model *m, const struct vpn_probe *vp)
{
	for (size_t c = 0; c < vp->n * vp->n; c++) {
		const struct pair *pr = vp->pairs[c];
		for (enum metric k = 0; pr && k < METRICS; k++) {
			struct alarm *al = pr->alarm_index[k]
						   ? alarm_find(&m->alarms.table, pr->alarm_index[k])
						   : NULL;
			if (al)
				locate_pair(vp, k, pr, &al->location);
		}
	}
}

/* Every pair of vp is judged: its window has filled. */
static bool windows_full(struct model *m, const struct vpn_probe *vp, mtime_t now)
{
	for (size_t c = 0; c < vp->n * vp->n; c++)
		if (vp->pairs[c] && !pair_window_full(&m->probing, vp->pairs[c], now))
			return false;
	return true;
}

/* The first run over full windows after a restart has judged the faults
 * restored (f->prev now): said once, for the operator and the tests. */
static void restored_judged(const struct vpn *v, const struct faultloc *f, size_t restored)
{
	size_t kept = 0;

	for (size_t i = 0; i < f->n_prev; i++)
		kept += listed(&f->prev[i], f->v, f->n, false);
	mvpn_log(LOG_NOTICE, "vpn %s: the %zu faults restored at start judged over full windows: "
		 "%zu found again and kept, %zu cleared", v->name, restored, kept, restored - kept);
}

void locate_run(struct model *m, struct vpn *v, mtime_t now)
{
	struct vpn_probe *vp = v->probing;
	struct faultloc_pair *pairs;
	struct faultloc_echo *echo;
	bool was_unreliable;

	if (!vp || !vp->n)
		return;
	/* Faults restored at start stand, unjudged, until every window has
	 * filled again: the first run then keeps those it finds, silently, and
	 * clears the others. */
	if (vp->faults.restored && !windows_full(m, vp, now)) {
		relocate_alarms(m, vp);
		return;
	}
	size_t restored = vp->faults.restored ? vp->faults.n : 0;
	vp->faults.restored = false;
	pairs = malloc(vp->n * vp->n * sizeof(*pairs));
	echo = malloc(vp->n * sizeof(*echo));
	if (!pairs || !echo) {
		free(pairs);
		free(echo);
		return; /* the last run's faults stand */
	}
	pair_inputs(m, vp, pairs, now);
	echo_inputs(m, vp, echo);
	struct faultloc_input in = {.n = vp->n, .pes = vp->pes, .roles = vp->roles, .pairs = pairs,
				    .th = &v->thresholds, .tomo = estimates(vp, now), .echo = echo};
	was_unreliable = vp->faults.unreliable;
	if (faultloc_run(&vp->faults, &in, now)) {
		publish(vp, now);
		announce(m, v, &vp->faults, now);
		if (vp->faults.unreliable != was_unreliable)
			mvpn_log(vp->faults.unreliable ? LOG_WARNING : LOG_NOTICE,
				 "vpn %s: probing figures %s", v->name,
				 vp->faults.unreliable ? "unreliable: the monitor's own link loses"
						       : "reliable again");
		relocate_alarms(m, vp);
		if (restored)
			restored_judged(v, &vp->faults, restored);
	} else {
		mvpn_log(LOG_ERR, "vpn %s: out of memory locating faults; the last ones stand",
			 v->name);
	}
	free(pairs);
	free(echo);
}

/* ---- a restart ---- */

/* Where f's PEs sit in vp, and whether vp still has f's component: its
 * PE with the side's role, its pair, or (the monitor's link) any pair. */
static bool place(const struct vpn_probe *vp, struct fault *f)
{
	long i = f->pe_addr.type ? vpn_probe_pe_index(vp, &f->pe_addr) : -1;
	long j = f->peer_addr.type ? vpn_probe_pe_index(vp, &f->peer_addr) : -1;

	f->pe = i >= 0 ? (size_t)i : FAULT_NO_PE;
	f->peer = j >= 0 ? (size_t)j : FAULT_NO_PE;
	switch (f->kind) {
	case FAULT_SENDER_SIDE:
		return i >= 0 && !f->peer_addr.type && vp->roles[i] & ROLE_SENDER;
	case FAULT_RECEIVER_SIDE:
		return i >= 0 && !f->peer_addr.type && vp->roles[i] & ROLE_RECEIVER;
	case FAULT_PATH:
		return i >= 0 && j >= 0 && vp->pairs[(size_t)i * vp->n + (size_t)j];
	case FAULT_MONITOR_LINK:
		return !f->pe_addr.type && !f->peer_addr.type && f->metric == METRIC_LOSS;
	}
	return false;
}

static bool already(const struct faultloc *fl, const struct fault *f)
{
	return listed(f, fl->v, fl->n, false);
}

bool locate_restore(struct model *m, uint32_t vpn_index, const char *vpn_name,
		    const struct fault *saved)
{
	struct vpn *v = vpn_find(m, vpn_index);
	struct vpn_probe *vp = v ? v->probing : NULL;
	struct fault f = *saved;
	bool ok;

	if (f.id >= m->alarms.next_fault_id) /* never give its id again */
		m->alarms.next_fault_id = f.id + 1 ? f.id + 1 : 1;
	f.flags = (uint8_t)((f.flags & (FAULT_RESIDUAL | FAULT_NO_REFERENCE)) | FAULT_PUBLISHED);
	ok = vp && f.metric < METRICS && v->thresholds.t[f.metric].rising && place(vp, &f) &&
	     !already(&vp->faults, &f) && faultloc_insert(&vp->faults, &f);
	if (ok) {
		vp->faults.restored = true;
		return true;
	}
	/* Its VPN, its PEs or its threshold are no longer configured: it is
	 * over, and said so now, under the VPN's name as it was. */
	fault_notice(m, vpn_index, v ? v->name : vpn_name ? vpn_name : "", &f,
		     NOTICE_FAULT_CLEARED, mclock_now(&m->clock));
	return false;
}

/* ---- SNMP order ---- */

void fault_oidx(const struct fault *f, struct oidx *out)
{
	oidx_push(out, (uint32_t)f->metric + 1); /* MIB: loss(1), delay(2), jitter(3) */
	oidx_push(out, f->kind);
	oidx_push_addr(out, &f->pe_addr);
	oidx_push_addr(out, &f->peer_addr);
}

struct fault_key {
	const struct faultloc *f;
	const uint32_t *want;
	size_t wlen;
	bool after;
};

static bool fault_oid_ok(const void *ctx, size_t i)
{
	const struct fault_key *k = ctx;
	struct oidx x;

	oidx_reset(&x);
	fault_oidx(&k->f->v[i], &x);
	return oidx_seek_ok(&x, k->want, k->wlen, k->after);
}

/* faultloc sorts by metric, kind, PE position, peer position: PEs are in
 * address order and the only faults without a PE (the monitor's link) or
 * peer (the sides) are alone of their metric and kind, or all alike: the
 * list is in index order. */
const struct fault *fault_seek(const struct vpn_probe *vp, const uint32_t *want, size_t wlen,
			       bool after)
{
	struct fault_key k = {&vp->faults, want, wlen, after};
	size_t pos = seek_first(vp->faults.n, &k, fault_oid_ok);

	while (pos < vp->faults.n && !published(&vp->faults.v[pos]))
		pos++;
	return pos < vp->faults.n ? &vp->faults.v[pos] : NULL;
}
