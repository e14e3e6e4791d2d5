#include "history.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../capture/engine.h"
#include "daemon.h"
#include "../mib/locate.h"
#include "../mib/log.h"
#include "../mib/passive.h"
#include "../mib/probing.h"

/* Faults located and not cleared before the restart (restore_faults), put
 * back once the writer listens: one cleared at once is recorded so. */
struct saved_fault {
	uint32_t vpn_index;
	char vpn_name[NOTICE_NAME_MAX + 1]; /* from the last checkpoint: the VPN may be gone */
	struct fault f;
	uint64_t since_ns;
};

struct fault_set {
	struct saved_fault *v;
	size_t n, cap;
	bool failed;
};

struct history {
	struct hist_writer *writer;
	mtime_t checkpoint_every;
	mtime_t next_checkpoint; /* model time; 0: at the next turn */
	mtime_t next_windows;    /* model time of the next pair-window records */
	bool losing;             /* a loss notice was sent and no recovery since */
};

static uint64_t wall_ns(const struct model *m, mtime_t t)
{
	return mclock_wall_ns(&m->clock, t);
}

static void put(struct history *h, struct hist_record *r)
{
	hist_writer_put(h->writer, r); /* a full queue drops and counts: never waits */
}

/* ---- the model's events ---- */

static void on_change(void *ctx, const struct model *m, const struct change *c)
{
	struct history *h = ctx;

	/* Into its queue slot as it is: a full queue drops and counts, never waits. */
	hist_writer_put_change(h->writer, c, wall_ns(m, c->when));
}

static void on_alarm(void *ctx, const struct model *m, const struct alarm *al, bool raised,
		     mtime_t when)
{
	struct hist_record r = {.type = HIST_ALARM, .when_ns = wall_ns(m, when)};

	r.u.alarm = (struct hist_alarm){.index = al->index, .kind = (uint8_t)al->kind,
					.raised = raised, .vpn_index = al->vpn_index,
					.addr = al->addr, .peer = al->peer, .value = al->value,
					.threshold = al->threshold};
	put(ctx, &r);
}

static void on_fault(void *ctx, const struct model *m, uint32_t vpn_index, const struct fault *f,
		     bool located, mtime_t when)
{
	struct hist_record r = {.type = HIST_FAULT, .when_ns = wall_ns(m, when)};

	r.u.fault = (struct hist_fault){
		.id = f->id, .located = located, .vpn_index = vpn_index,
		.metric = (uint8_t)(f->metric + 1), .kind = f->kind,
		.flags = f->flags & (FAULT_RESIDUAL | FAULT_NO_REFERENCE), .pe = f->pe_addr,
		.peer = f->peer_addr, .loss_ppm = f->loss_ppm, .low_ppm = f->low_ppm,
		.high_ppm = f->high_ppm, .echo_loss_ppm = f->echo_loss_ppm, .shift_us = f->shift_us,
		.pairs = f->pairs, .since_ns = wall_ns(m, f->since)};
	put(ctx, &r);
}

/* ---- checkpoints: the whole state, so that "state at T" replays little ---- */

struct counts {
	size_t vpns, pes, cgpes, flows;
};

static void count_state(const struct model *m, struct counts *n)
{
	memset(n, 0, sizeof(*n));
	n->vpns = m->n_vpns;
	for (size_t i = 0; i < m->n_vpns; i++) {
		const struct vpn *v = m->vpns[i];
		n->pes += v->pes.n;
		for (const struct cgpe *r = cgpe_first(&v->cg); r; r = cgpe_next(r))
			n->cgpes += r->role == CG_DOWNSTREAM;
		n->flows += v->cg.n_data;
	}
}

static void snapshot_vpn(const struct model *m, const struct vpn *v, struct hist_checkpoint *cp)
{
	struct hist_vpn_row *vr = &cp->vpns[cp->n_vpns++];

	vr->index = v->index;
	memcpy(vr->name, v->name, sizeof(vr->name));
	vr->default_mdt = v->default_mdt;
	vr->n_expected = (uint32_t)v->n_expected;
	for (size_t i = 0; i < v->pes.n; i++) {
		const struct pe *pe = v->pes.v[i];
		struct hist_pe_row *pr = &cp->pes[cp->n_pes++];
		pr->vpn_index = v->index;
		pr->addr = pe->addr;
		pr->expected = pe->expected;
		if (pe->hellos)
			pr->value = passive_pe_value(pe).pe;
		pr->first_seen_ns = pe->first_seen ? wall_ns(m, pe->first_seen) : 0;
	}
	for (const struct cgpe *r = cgpe_first(&v->cg); r; r = cgpe_next(r)) {
		if (r->role != CG_DOWNSTREAM)
			continue;
		struct hist_cgpe_row *cr = &cp->cgpes[cp->n_cgpes++];
		cr->vpn_index = v->index;
		cr->c_source = r->flow->source;
		cr->c_group = r->flow->group;
		cr->pe = r->pe;
		cr->value = passive_row_value(r).row;
	}
	for (const struct flow *f = flow_first(&v->cg); f; f = flow_next(f)) {
		if (!f->on_data_mdt)
			continue;
		struct hist_flow_row *fr = &cp->flows[cp->n_flows++];
		fr->vpn_index = v->index;
		fr->c_source = f->source;
		fr->c_group = f->group;
		fr->value = passive_flow_value(f).flow;
	}
}

/* The model as it is now; NULL when out of memory (logged; the next one is
 * tried at the next interval). */
static struct hist_checkpoint *snapshot(const struct model *m)
{
	struct counts n;
	struct hist_checkpoint *cp = calloc(1, sizeof(*cp));

	count_state(m, &n);
	if (cp) {
		/* +1: calloc(0) may return NULL, which is not a failure here. */
		cp->vpns = calloc(n.vpns + 1, sizeof(*cp->vpns));
		cp->pes = calloc(n.pes + 1, sizeof(*cp->pes));
		cp->cgpes = calloc(n.cgpes + 1, sizeof(*cp->cgpes));
		cp->flows = calloc(n.flows + 1, sizeof(*cp->flows));
	}
	if (!cp || !cp->vpns || !cp->pes || !cp->cgpes || !cp->flows) {
		mvpn_log(LOG_ERR, "history: out of memory for a checkpoint of %zu rows",
			 n.pes + n.cgpes + n.flows);
		hist_checkpoint_free(cp);
		return NULL;
	}
	cp->last_change_seq = m->changes.last_seq;
	for (size_t i = 0; i < m->n_vpns; i++)
		snapshot_vpn(m, m->vpns[i], cp);
	return cp;
}

static void checkpoint(struct history *h, const struct model *m, mtime_t now)
{
	struct hist_checkpoint *cp = snapshot(m);
	struct hist_record r = {.type = HIST_CHECKPOINT, .when_ns = wall_ns(m, now)};

	if (!cp)
		return;
	r.u.checkpoint = cp;
	put(h, &r); /* the record owns cp from here, even when dropped */
}

/* ---- pair windows: VMScope's per-pair records, once per window ---- */

static uint32_t us_of(int64_t ns)
{
	if (ns <= 0)
		return 0;
	return ns / 1000 > UINT32_MAX ? UINT32_MAX : (uint32_t)(ns / 1000);
}

static void pair_window(struct history *h, struct model *m, struct pair *pr, mtime_t now)
{
	const struct pair_figures *f = pair_figures(&m->probing, pr, now);
	int64_t corr = f->have_correction ? f->correction_ns : 0;
	struct hist_record r = {.type = HIST_PAIR_WINDOW, .when_ns = wall_ns(m, now)};

	r.u.pair = (struct hist_pair_window){
		.vpn_index = pr->vpn_index, .src = pr->src, .dst = pr->dst,
		.sent = f->window_sent, .received = f->window_received,
		.lost = f->window_sent > f->window_received ? f->window_sent - f->window_received : 0,
		.status = (uint8_t)pr->status};
	if (f->window.count) {
		r.u.pair.delay_min_us = us_of(f->window.min_ns - corr);
		r.u.pair.delay_avg_us = us_of(f->window.avg_ns - corr);
		r.u.pair.delay_p99_us = us_of(f->window.p99_ns - corr);
		r.u.pair.jitter_us = us_of(f->window.jitter_ns);
	}
	put(h, &r);
}

/* Every probed pair's figures, when the shortest probed window has passed. */
static void pair_windows(struct history *h, struct model *m, mtime_t now)
{
	mtime_t shortest = MTIME_NEVER;

	for (size_t i = 0; i < m->n_vpns; i++) {
		struct vpn_probe *vp = m->vpns[i]->probing;
		if (!vp)
			continue;
		mtime_t span = (mtime_t)vp->cfg.window * MTIME_SEC;
		if (span < shortest)
			shortest = span;
		for (size_t s = 0; s < vp->n; s++)
			for (size_t d = 0; d < vp->n; d++)
				if (vp->pairs[s * vp->n + d])
					pair_window(h, m, vp->pairs[s * vp->n + d], now);
	}
	h->next_windows = now + (shortest == MTIME_NEVER ? 60 * MTIME_SEC : shortest);
}

/* The model's clock reached h's next due time: checkpoints, pair windows. */
static void on_due(void *ctx, struct model *m, mtime_t now)
{
	struct history *h = ctx;

	if (m->clock.offline && !m->clock.offline_started)
		return; /* a replay has no time before its first packet */
	if (now >= h->next_checkpoint) {
		checkpoint(h, m, now);
		h->next_checkpoint = now + h->checkpoint_every;
	}
	if (now >= h->next_windows)
		pair_windows(h, m, now);
	m->observer.due_at = h->next_checkpoint < h->next_windows ? h->next_checkpoint
								  : h->next_windows;
}

/* ---- restoring what the history knew: a restart is not news ---- */

/* Model time of a stored wall-clock time: a replay's clock is the capture's;
 * live, it is CLOCK_MONOTONIC, which began at boot (an earlier time is 1,
 * "before anything this boot knew"). */
static mtime_t model_time(const struct model *m, uint64_t wall)
{
	if (m->clock.offline)
		return wall;
	int64_t mono = (int64_t)wall - m->clock.real_wall_offset;
	return mono > 0 ? (mtime_t)mono : 1;
}

struct restored {
	size_t pes, rows, flows, alarms, refused;
};

static void restore_state(struct model *m, const struct hist_checkpoint *cp, mtime_t now,
			  struct restored *n)
{
	for (size_t i = 0; i < cp->n_pes; i++) {
		const struct hist_pe_row *r = &cp->pes[i];
		struct vpn *v = vpn_find(m, r->vpn_index);
		bool ok = v && passive_restore_pe(m, v, &r->addr, &r->value,
						  r->first_seen_ns ? model_time(m, r->first_seen_ns) : 0,
						  now);
		*(ok ? &n->pes : &n->refused) += r->value.present;
	}
	for (size_t i = 0; i < cp->n_cgpes; i++) {
		const struct hist_cgpe_row *r = &cp->cgpes[i];
		struct vpn *v = vpn_find(m, r->vpn_index);
		bool ok = v && passive_restore_row(m, v, &r->c_source, &r->c_group, &r->pe,
						   &r->value, now);
		*(ok ? &n->rows : &n->refused) += 1;
	}
	for (size_t i = 0; i < cp->n_flows; i++) {
		const struct hist_flow_row *r = &cp->flows[i];
		struct vpn *v = vpn_find(m, r->vpn_index);
		bool ok = v && passive_restore_flow(m, v, &r->c_source, &r->c_group, &r->value, now);
		*(ok ? &n->flows : &n->refused) += 1;
	}
}

/* The alarms raised and not cleared, in index order. */
struct raised_set {
	struct alarm *v;
	size_t n, cap;
	bool failed;
};

static int collect_alarm(void *arg, const struct hist_row *row)
{
	struct raised_set *set = arg;
	const struct hist_alarm *a = &row->rec.u.alarm;
	size_t i = 0;

	while (i < set->n && set->v[i].index != a->index)
		i++;
	if (!a->raised) {
		if (i < set->n)
			set->v[i] = set->v[--set->n]; /* order is restored below */
		return 0;
	}
	if (i < set->n)
		return 0;
	if (set->n == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 16;
		struct alarm *grown = realloc(set->v, cap * sizeof(*grown));
		if (!grown) {
			set->failed = true;
			return 1;
		}
		set->v = grown;
		set->cap = cap;
	}
	set->v[set->n++] = (struct alarm){.index = a->index, .kind = a->kind,
					  .vpn_index = a->vpn_index, .addr = a->addr,
					  .peer = a->peer, .value = a->value,
					  .threshold = a->threshold, .raised = row->rec.when_ns};
	return 0;
}

static int alarm_index_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct alarm *)a)->index, y = ((const struct alarm *)b)->index;
	return x < y ? -1 : x > y;
}

static int restore_alarms(struct model *m, struct hist_store *s, const char *monitor,
			  struct restored *n, char *err, size_t errlen)
{
	struct raised_set set = {0};
	struct hist_query q = {.monitor = monitor, .until_ns = UINT64_MAX};

	if (hist_store_read(s, HIST_ALARM, &q, collect_alarm, &set, err, errlen) < 0 ||
	    set.failed) {
		if (set.failed)
			snprintf(err, errlen, "out of memory reading the raised alarms");
		free(set.v);
		return -1;
	}
	if (set.n)
		qsort(set.v, set.n, sizeof(*set.v), alarm_index_cmp);
	for (size_t i = 0; i < set.n; i++) {
		set.v[i].raised = model_time(m, set.v[i].raised);
		*(alarms_restore(m, &set.v[i]) ? &n->alarms : &n->refused) += 1;
	}
	free(set.v);
	return 0;
}

/* The faults located and not cleared, by id; every id read is kept in
 * *max_id, so that none is given again. */
struct fault_read {
	struct fault_set *set;
	uint32_t max_id;
};

static int collect_fault(void *arg, const struct hist_row *row)
{
	struct fault_read *rd = arg;
	struct fault_set *set = rd->set;
	const struct hist_fault *a = &row->rec.u.fault;
	size_t i = 0;

	if (a->id > rd->max_id)
		rd->max_id = a->id;
	while (i < set->n && set->v[i].f.id != a->id)
		i++;
	if (!a->located) {
		if (i < set->n)
			set->v[i] = set->v[--set->n];
		return 0;
	}
	if (i < set->n || !a->metric || a->metric > METRICS)
		return 0;
	if (set->n == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 16;
		struct saved_fault *grown = realloc(set->v, cap * sizeof(*grown));
		if (!grown) {
			set->failed = true;
			return 1;
		}
		set->v = grown;
		set->cap = cap;
	}
	set->v[set->n++] = (struct saved_fault){
		.vpn_index = a->vpn_index, .since_ns = a->since_ns,
		.f = {.kind = a->kind, .metric = (uint8_t)(a->metric - 1), .flags = a->flags,
		      .pe = FAULT_NO_PE, .peer = FAULT_NO_PE, .pe_addr = a->pe, .peer_addr = a->peer,
		      .loss_ppm = a->loss_ppm, .low_ppm = a->low_ppm, .high_ppm = a->high_ppm,
		      .echo_loss_ppm = a->echo_loss_ppm, .shift_us = a->shift_us,
		      .pairs = a->pairs, .id = a->id}};
	return 0;
}

static int fault_id_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct saved_fault *)a)->f.id;
	uint32_t y = ((const struct saved_fault *)b)->f.id;
	return x < y ? -1 : x > y;
}

static int restore_faults(struct model *m, struct hist_store *s, const char *monitor,
			  const struct hist_checkpoint *cp, struct fault_set *set, char *err,
			  size_t errlen)
{
	struct fault_read rd = {.set = set};
	struct hist_query q = {.monitor = monitor, .until_ns = UINT64_MAX};

	if (hist_store_read(s, HIST_FAULT, &q, collect_fault, &rd, err, errlen) < 0 ||
	    set->failed) {
		if (set->failed)
			snprintf(err, errlen, "out of memory reading the located faults");
		set->n = 0;
		return -1;
	}
	if (rd.max_id >= m->alarms.next_fault_id)
		m->alarms.next_fault_id = rd.max_id + 1 ? rd.max_id + 1 : 1;
	if (set->n)
		qsort(set->v, set->n, sizeof(*set->v), fault_id_cmp);
	for (size_t i = 0; i < set->n; i++) {
		struct saved_fault *x = &set->v[i];
		x->f.since = model_time(m, x->since_ns);
		for (size_t k = 0; k < cp->n_vpns; k++)
			if (cp->vpns[k].index == x->vpn_index)
				snprintf(x->vpn_name, sizeof(x->vpn_name), "%s", cp->vpns[k].name);
	}
	return 0;
}

/* The faults read at start, into the model: those still configured stand
 * until their windows have filled; the others are cleared now, and
 * recorded so. */
static void put_back_faults(struct model *m, struct fault_set *set)
{
	size_t kept = 0;

	for (size_t i = 0; i < set->n; i++)
		kept += locate_restore(m, set->v[i].vpn_index, set->v[i].vpn_name, &set->v[i].f);
	if (set->n)
		mvpn_log(LOG_NOTICE, "history: restored %zu located faults, held until their "
			 "windows fill again; %zu no longer configured, cleared", kept,
			 set->n - kept);
	free(set->v);
	memset(set, 0, sizeof(*set));
}

/*
 * A replay into a store that already holds this monitor's history of it
 * (a run killed mid-file and started again) goes on where the store ends:
 * the restored state stands for the records before that time, which are
 * skipped; the records of that very instant are read again, and find the
 * state they made (refreshes, not changes).  The clock starts there.
 */
static void resume_replay(struct daemon *d, uint64_t when_ns)
{
	if (!d->capture || !when_ns)
		return;
	d->capture->resume_after = when_ns;
	mclock_advance(&d->model->clock, when_ns);
	mvpn_log(LOG_NOTICE, "history: this monitor's history ends at capture time %llu.%09llu: "
		 "the replay goes on from there", (unsigned long long)(when_ns / MTIME_SEC),
		 (unsigned long long)(when_ns % MTIME_SEC));
}

/* Puts back the monitor's last known state, its raised alarms and its change
 * sequence.  0 (nothing stored is not an error), or -1 with err. */
static int restore(struct daemon *d, const struct hist_location *loc, struct fault_set *faults,
		   char *err, size_t errlen)
{
	struct model *m = d->model;
	struct hist_store *s = hist_store_open(loc, err, errlen);
	struct hist_checkpoint *cp = NULL;
	struct restored n = {0};
	int rc;

	if (!s)
		return -1;
	rc = hist_store_state_at(s, loc->monitor, UINT64_MAX, 0, &cp, err, errlen);
	if (rc == 0) {
		if (m->clock.offline)
			resume_replay(d, cp->when_ns);
		mtime_t now = mclock_now(&m->clock);
		restore_state(m, cp, now, &n);
		/* The sequence goes on: (monitor, seq) keys a change for good. */
		m->changes.last_seq = cp->last_change_seq;
		m->changes.next_index = (uint32_t)cp->last_change_seq;
		rc = restore_alarms(m, s, loc->monitor, &n, err, errlen);
		if (rc == 0)
			rc = restore_faults(m, s, loc->monitor, cp, faults, err, errlen);
		if (rc == 0)
			mvpn_log(LOG_NOTICE, "history: restored %zu PEs, %zu C-group rows, %zu data "
				 "MDT flows and %zu raised alarms; changes continue after %llu%s",
				 n.pes, n.rows, n.flows, n.alarms,
				 (unsigned long long)cp->last_change_seq,
				 n.refused ? " (some refused: no longer configured, or over a cap)" : "");
	} else if (rc == 1) {
		rc = 0; /* a new store */
	}
	hist_checkpoint_free(cp);
	hist_store_close(s);
	return rc;
}

/* ---- the daemon's calls ---- */

/*
 * A change's seq keys it in the store for good, so a run never reuses one.
 * It goes on from the restored history; when the store could not be read at
 * start, it starts at 2^17 per second of wall clock since Unix time
 * 1,700,000,000, past every seq an earlier run gave unless that run averaged
 * more than 131,072 changes a second (and below 2^48, which the SQLite
 * layout's key leaves to a seq, until 2091).
 */
#define SEQ_EPOCH 1700000000ull
#define SEQ_PER_SECOND_BITS 17

static void seq_unread_store(struct model *m)
{
	uint64_t sec = mclock_real_wall_ns(&m->clock, mclock_monotonic()) / MTIME_SEC;
	uint64_t floor = sec > SEQ_EPOCH ? (sec - SEQ_EPOCH) << SEQ_PER_SECOND_BITS : 1;

	if (m->changes.last_seq < floor)
		m->changes.last_seq = floor;
}

int history_start(struct daemon *d, char *err, size_t errlen)
{
	const struct history_config *hc = &d->config->history;
	struct fault_set faults = {0};
	struct history *h;

	if (!hc->enabled)
		return 0;
	struct hist_settings s = {
		.loc = {.backend = hc->file ? HIST_SQLITE : HIST_POSTGRES,
			.target = hc->file ? hc->file : hc->postgres, .monitor = hc->monitor},
		.queue_cap = hc->queue, .flush_interval_ms = hc->flush_interval_ms,
		.batch_max = hc->batch, .retain_ns = (uint64_t)hc->retain_days * 86400 * MTIME_SEC,
		.retain_bytes = (uint64_t)hc->retain_mb << 20};
	/* A store that cannot be read now (corrupt, locked, down) costs the
	 * restore, never the monitoring: the writer keeps trying it. */
	if (restore(d, &s.loc, &faults, err, errlen) < 0) {
		mvpn_log(LOG_ERR, "history: nothing restored: %s", err);
		seq_unread_store(d->model);
	}
	if (!(h = calloc(1, sizeof(*h)))) {
		snprintf(err, errlen, "out of memory");
		free(faults.v);
		return -1;
	}
	if (!(h->writer = hist_writer_start(&s, err, errlen))) {
		free(faults.v);
		free(h);
		return -1;
	}
	if (err[0]) /* counted; the writer tries again every flush interval */
		mvpn_log(LOG_ERR, "history: %s; monitoring goes on, records wait (at most %u)",
			 err, s.queue_cap);
	h->checkpoint_every = (mtime_t)hc->checkpoint_interval * MTIME_SEC;
	d->history = h;
	d->model->observer = (struct model_observer){.ctx = h, .change = on_change,
						     .alarm = on_alarm, .fault = on_fault,
						     .due = on_due};
	put_back_faults(d->model, &faults);
	mvpn_log(LOG_INFO, "history: writing to %s %s as monitor \"%s\"",
		 hc->file ? "SQLite file" : "PostgreSQL", hc->file ? hc->file : "(conninfo)",
		 hc->monitor);
	return 0;
}

static void history_notice(struct daemon *d, bool losing, const struct hist_stats *st)
{
	struct notice n = {.kind = losing ? NOTICE_HISTORY_LOSING : NOTICE_HISTORY_RESUMED,
			   .at = mclock_now(&d->model->clock), .dropped = st->dropped,
			   .value = st->queued};

	notice_post(d->model, &n);
}

/* Records lost since the store was last healthy: said once when it starts,
 * once when the store has taken everything waiting again. */
static void watch_loss(struct daemon *d, struct history *h)
{
	struct hist_stats st;

	hist_writer_stats(h->writer, &st);
	if (st.losing && !h->losing) {
		h->losing = true;
		mvpn_log(LOG_ERR, "history: records are being lost (%llu so far; %u waiting): %s",
			 (unsigned long long)st.dropped, st.queued, st.last_error);
		history_notice(d, true, &st);
	} else if (!st.losing && h->losing) {
		h->losing = false;
		mvpn_log(LOG_NOTICE, "history: the store takes records again (%llu lost in all)",
			 (unsigned long long)st.dropped);
		history_notice(d, false, &st);
	}
}

void history_turn(struct daemon *d)
{
	struct history *h = d->history;

	if (!h)
		return;
	model_observer_due(d->model, mclock_now(&d->model->clock));
	watch_loss(d, h);
}

void history_config_loaded(struct daemon *d, bool ok, uint32_t added, uint32_t removed,
			   uint32_t changed)
{
	struct history *h = d->history;
	struct model *m = d->model;

	if (!h)
		return;
	/* Loads happen on the real clock, replaying or not. */
	struct hist_record r = {.type = HIST_CONFIG,
				.when_ns = mclock_real_wall_ns(&m->clock, mclock_monotonic())};
	r.u.config = (struct hist_config){.ok = ok, .vpns = (uint32_t)m->n_vpns, .added = added,
					  .removed = removed, .changed = changed};
	put(h, &r);
	if (ok) /* the VPN table changed: a checkpoint now, or at a replay's first packet */
		h->next_checkpoint = m->observer.due_at = 0;
}

bool history_stats(const struct daemon *d, struct hist_stats *out)
{
	if (!d->history)
		return false;
	hist_writer_stats(d->history->writer, out);
	return true;
}

void history_stopping(struct daemon *d)
{
	if (d->history)
		d->model->observer.fault = NULL;
}

void history_stop(struct daemon *d, uint32_t wait_ms)
{
	struct history *h = d->history;

	if (!h)
		return;
	if (!d->model->clock.offline || d->model->clock.offline_started)
		checkpoint(h, d->model, mclock_now(&d->model->clock)); /* a restart starts here */
	d->model->observer = (struct model_observer){0};
	hist_writer_stop(h->writer, wait_ms);
	d->history = NULL;
	free(h);
}
