#include "model.h"
#include "seek.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The deadline a timer of the model stands for: its owner's. */
static mtime_t timer_due(const struct timer *t)
{
	switch (timer_kind(t)) {
	case TIMER_PE:
		return TIMER_OWNER(t, struct pe)->expires;
	case TIMER_ROW:
		return TIMER_OWNER(t, struct cgpe)->expires;
	case TIMER_DATA_MDT:
		return TIMER_OWNER(t, struct flow)->data_expires;
	}
	return MTIME_NEVER;
}

void model_observer_due(struct model *m, mtime_t now)
{
	if (m->observer.due && now >= m->observer.due_at)
		m->observer.due(m->observer.ctx, m, now);
}

void model_change_recorded(struct model *m, const struct change *c)
{
	if (m->observer.change)
		m->observer.change(m->observer.ctx, m, c);
}

struct model *model_new(bool offline)
{
	struct model *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	if (offline)
		mclock_init_offline(&m->clock);
	else
		mclock_init_live(&m->clock);
	m->capture = CAPTURE_OFF;
	timers_init(&m->timers, timer_due);
	cgroup_pool_init(&m->cg_pool);
	probing_init(&m->probing);
	/* Alarm indexes run on from the real start time, replaying or not. */
	alarms_init(&m->alarms,
		    alarm_index_base(mclock_real_wall_ns(&m->clock, m->clock.started)));
	m->settings.pe_check_interval = 10 * MTIME_SEC; /* the config's default, until one is applied */
	return m;
}

static void vpn_free(struct vpn *v)
{
	pe_table_free(&v->pes);
	cgroup_free(&v->cg);
	vpn_probe_free(v->probing);
	free(v->expected_pes);
	free(v);
}

/*
 * A row a reload no longer wants.  Its alarm, if it has one, stays in the
 * table for alarms_reconfigured to clear (it has no owner now); the VPN's
 * count of PEs with an alarm drops here, so that nothing counts them again.
 */
static void vpn_drop_pe(struct vpn *v, struct pe *pe)
{
	v->n_pe_alarms -= pe->alarm_index != 0;
	pe_delete(&v->pes, pe);
}

void vpn_forget(struct vpn *v)
{
	cgroup_free(&v->cg);
	/* Deletes first, while the C-address index still matches the rows... */
	for (size_t i = v->pes.n; i-- > 0;)
		if (!v->pes.v[i]->expected || v->expect_bgp) /* BGP's: of the old MDT */
			vpn_drop_pe(v, v->pes.v[i]);
	/* ...then the expected PEs forget what was heard (and the index is rebuilt). */
	for (size_t i = 0; i < v->pes.n; i++) {
		struct pe *pe = v->pes.v[i];
		pe_unschedule(&v->pes, pe);
		/* It keeps its alarm: still expected, and now not heard. */
		*pe = (struct pe){.vpn_index = pe->vpn_index, .addr = pe->addr, .expected = true,
				  .alarm_index = pe->alarm_index, .alarm_kind = pe->alarm_kind,
				  .timer = pe->timer /* disarmed, still held */};
	}
	pe_reindex_caddr(&v->pes);
	/* What BGP said was of the old MDT: bgpmdt_resync() counts the new one's. */
	v->n_bgp_pes = 0;
	v->bgp_since = 0;
	if (v->passive == PASSIVE_ACTIVE)
		v->passive = PASSIVE_WAITING;
}

static void timers_ahead(void *reserve, void *addr, size_t len)
{
	slab_reserve_ahead(reserve, addr, len);
}

bool model_start_reserve(struct model *m)
{
	if (!m->reserve && !(m->reserve = slab_reserve_start()))
		return false;
	m->cg_pool.rows.reserve = m->cg_pool.flows.reserve = m->reserve;
	timers_set_ahead(&m->timers, timers_ahead, m->reserve); /* the heap's growth too */
	return true;
}

void model_free(struct model *m)
{
	if (!m)
		return;
	m->cg_pool.rows.reserve = m->cg_pool.flows.reserve = NULL;
	timers_set_ahead(&m->timers, NULL, NULL);
	slab_reserve_stop(m->reserve);
	for (size_t i = 0; i < m->n_vpns; i++)
		vpn_free(m->vpns[i]);
	free(m->vpns);
	changelog_free(&m->changes);
	probing_free(&m->probing);
	alarms_free(&m->alarms);
	timers_free(&m->timers); /* the VPNs removed theirs */
	pe_names_free(&m->pe_names);
	cgroup_pool_free(&m->cg_pool); /* and freed their rows and flows */
	free(m);
}

mtime_t model_next_deadline(const struct model *m)
{
	mtime_t next = timers_next(&m->timers);

	if (m->alarms.next_pe_check < next)
		next = m->alarms.next_pe_check;
	if (m->alarms.next_threshold_check < next)
		next = m->alarms.next_threshold_check;
	return next;
}

struct vpn_key {
	const struct model *m;
	uint32_t index;
};

static bool vpn_at_or_past(const void *ctx, size_t i)
{
	const struct vpn_key *k = ctx;

	return k->m->vpns[i]->index >= k->index;
}

size_t vpn_position(const struct model *m, uint32_t index)
{
	struct vpn_key k = {m, index};

	return seek_first(m->n_vpns, &k, vpn_at_or_past);
}

struct vpn *vpn_find(const struct model *m, uint32_t index)
{
	size_t pos = vpn_position(m, index);

	if (pos < m->n_vpns && m->vpns[pos]->index == index)
		return m->vpns[pos];
	return NULL;
}

static bool vpn_array_reserve(struct model *m)
{
	if (m->n_vpns < m->cap_vpns)
		return true;
	size_t cap = m->cap_vpns ? m->cap_vpns * 2 : 16;
	struct vpn **grown = realloc(m->vpns, cap * sizeof(*grown));
	if (!grown)
		return false;
	m->vpns = grown;
	m->cap_vpns = cap;
	return true;
}

/* A VPN as it starts: nothing learned, not yet configured, in no array. */
static struct vpn *vpn_new(struct model *m, uint32_t index)
{
	struct vpn *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->index = index;
	pe_table_init(&v->pes, &m->timers);
	cgroup_init(&v->cg, &m->timers, &m->cg_pool);
	v->passive = m->capture == CAPTURE_OFF ? PASSIVE_DISABLED : PASSIVE_WAITING;
	v->probe = PROBE_DISABLED;
	return v;
}

struct vpn *vpn_get(struct model *m, uint32_t index)
{
	size_t pos = vpn_position(m, index);

	if (pos < m->n_vpns && m->vpns[pos]->index == index)
		return m->vpns[pos];
	if (!vpn_array_reserve(m))
		return NULL;
	struct vpn *v = vpn_new(m, index);
	if (!v)
		return NULL;
	memmove(&m->vpns[pos + 1], &m->vpns[pos], (m->n_vpns - pos) * sizeof(*m->vpns));
	m->vpns[pos] = v;
	m->n_vpns++;
	return v;
}

void vpn_remove(struct model *m, uint32_t index)
{
	size_t pos = vpn_position(m, index);

	if (pos >= m->n_vpns || m->vpns[pos]->index != index)
		return;
	vpn_probe_stop(m, m->vpns[pos]); /* its located faults are announced cleared */
	vpn_free(m->vpns[pos]);
	memmove(&m->vpns[pos], &m->vpns[pos + 1], (m->n_vpns - pos - 1) * sizeof(*m->vpns));
	m->n_vpns--;
}

/*
 * Fills next[0..n) for indexes[0..n): the model's VPN where it has one, else
 * a new one.  False when out of memory or when indexes do not increase; the
 * new VPNs made so far are then freed again, and the model is as it was.
 */
static bool merge_fill(struct model *m, const uint32_t *indexes, size_t n, struct vpn **next)
{
	size_t j = 0, k = 0;

	for (; k < n; k++) {
		if (k && indexes[k] <= indexes[k - 1])
			break;
		while (j < m->n_vpns && m->vpns[j]->index < indexes[k])
			j++;
		if (j < m->n_vpns && m->vpns[j]->index == indexes[k])
			next[k] = m->vpns[j++];
		else if (!(next[k] = vpn_new(m, indexes[k])))
			break;
	}
	if (k == n)
		return true;
	/* Undo: the new ones are those the old array does not hold. */
	for (size_t x = 0, y = 0; x < k; x++) {
		while (y < m->n_vpns && m->vpns[y]->index < next[x]->index)
			y++;
		if (y == m->n_vpns || m->vpns[y] != next[x])
			vpn_free(next[x]);
	}
	return false;
}

bool model_set_vpns(struct model *m, const uint32_t *indexes, size_t n,
		    void (*gone)(void *arg, const struct vpn *v), void *arg)
{
	size_t cap = n > 16 ? n : 16;
	struct vpn **next = malloc(cap * sizeof(*next));

	if (!next || !merge_fill(m, indexes, n, next)) {
		free(next);
		return false;
	}
	/* Nothing can fail from here: the VPNs next does not hold go. */
	for (size_t j = 0, k = 0; j < m->n_vpns; j++) {
		struct vpn *v = m->vpns[j];
		while (k < n && indexes[k] < v->index)
			k++;
		if (k < n && next[k] == v)
			continue;
		if (gone)
			gone(arg, v);
		vpn_probe_stop(m, v); /* its located faults are announced cleared */
		vpn_free(v);
	}
	free(m->vpns);
	m->vpns = next;
	m->n_vpns = n;
	m->cap_vpns = cap;
	return true;
}

static int addr_qsort_cmp(const void *a, const void *b)
{
	return inet_addr_cmp(a, b);
}

/*
 * Every expected PE has a row (missing until heard); rows neither expected nor
 * ever heard go.  A row that stays expected is kept as it is, heard or not: a
 * reload that does not change a PE must not change its row, nor its alarm.
 */
static bool vpn_sync_expected_pes(struct vpn *v)
{
	for (size_t i = 0; i < v->pes.n; i++)
		v->pes.v[i]->expected = v->expect_bgp && v->pes.v[i]->bgp_advertised;
	for (size_t i = 0; i < v->n_expected; i++) {
		struct pe *pe = pe_find(&v->pes, &v->expected_pes[i]);
		if (!pe)
			pe = pe_insert(&v->pes, v->index, &v->expected_pes[i]);
		if (!pe)
			return false;
		pe->expected = true;
	}
	for (size_t i = v->pes.n; i-- > 0;) {
		struct pe *pe = v->pes.v[i];
		if (!pe->expected && !pe->first_seen && !pe->bgp_advertised)
			vpn_drop_pe(v, pe);
	}
	return true;
}

/* Is this what the VPN is configured as already (expected in the order kept)? */
static bool vpn_configured_as(const struct vpn *v, const char *name,
			      const struct inet_addr *default_mdt,
			      const struct inet_addr *expected, size_t n_expected)
{
	if (!v->configured || v->n_expected != n_expected ||
	    !inet_addr_eq(&v->default_mdt, default_mdt) || strcmp(v->name, name) != 0)
		return false;
	for (size_t i = 0; i < n_expected; i++)
		if (!inet_addr_eq(&v->expected_pes[i], &expected[i]))
			return false;
	return true;
}

bool vpn_configure(struct vpn *v, const char *name, const struct inet_addr *default_mdt,
		   const struct inet_addr *expected, size_t n_expected)
{
	struct inet_addr *copy = NULL;

	/* A reload leaves most VPNs as they are: then touch nothing, not even
	 * the PE rows (a reload of 100,000 VPNs spent most of its time here). */
	if (vpn_configured_as(v, name, default_mdt, expected, n_expected))
		return true;
	if (n_expected) {
		copy = malloc(n_expected * sizeof(*copy));
		if (!copy)
			return false;
		memcpy(copy, expected, n_expected * sizeof(*copy));
		qsort(copy, n_expected, sizeof(*copy), addr_qsort_cmp);
	}
	free(v->expected_pes);
	v->expected_pes = copy;
	v->n_expected = n_expected;
	snprintf(v->name, sizeof(v->name), "%s", name);
	v->default_mdt = *default_mdt;
	v->configured = vpn_sync_expected_pes(v);
	return v->configured;
}

bool vpn_bgp_judged(const struct vpn *v)
{
	return v->expect_bgp || v->n_bgp_pes > 0 || v->bgp_signalled;
}

enum pe_judging vpn_pe_judging(const struct vpn *v)
{
	if (v->bgp_signalled)
		return JUDGE_BGP;
	return vpn_bgp_judged(v) ? JUDGE_PIM_BGP : JUDGE_PIM;
}

bool vpn_expects(const struct vpn *v, const struct inet_addr *pe)
{
	/* bsearch's array is nonnull even for no element (C11 7.22.5). */
	return v->n_expected &&
	       bsearch(pe, v->expected_pes, v->n_expected, sizeof(*pe), addr_qsort_cmp) != NULL;
}

void vpn_pe_counts(const struct model *m, const struct vpn *v, struct pe_counts *out)
{
	enum pe_judging judged = vpn_pe_judging(v);

	(void)m;
	*out = (struct pe_counts){.expected = v->expect_bgp ? v->n_bgp_pes : (uint32_t)v->n_expected};
	for (size_t i = 0; i < v->pes.n; i++) {
		const struct pe *pe = v->pes.v[i];
		enum pe_status st = pe_status(pe, judged);
		out->active += judged == JUDGE_BGP ? pe->bgp_advertised : pe->alive;
		out->missing += st == PE_MISSING;
		out->unexpected += st == PE_UNEXPECTED;
		out->bgp_silent += st == PE_BGP_SILENT;
		out->not_in_bgp += st == PE_NOT_IN_BGP;
		out->bgp += pe->bgp_advertised;
	}
}

enum config_status vpn_config_status(const struct model *m, const struct vpn *v)
{
	struct pe_counts pc;
	mtime_t now = mclock_now(&m->clock);

	/* The grace runs from the clock origin: start-up live, the first packet offline. */
	if (now < m->clock.origin + m->settings.startup_grace)
		return CONFIG_PENDING;
	vpn_pe_counts(m, v, &pc);
	return pc.missing == 0 && pc.unexpected == 0 && pc.bgp_silent == 0 && pc.not_in_bgp == 0
		       ? CONFIG_MATCH
		       : CONFIG_MISMATCH;
}

void vpn_oidx(const struct vpn *v, struct oidx *out)
{
	oidx_reset(out);
	oidx_push(out, v->index);
}

const struct vpn *vpn_seek(const struct model *m, const uint32_t *want, size_t wlen, bool after)
{
	/* Rows have one-sub-id indexes: the answer is the lower bound of want[0], or the one after it. */
	if (wlen == 0)
		return m->n_vpns ? m->vpns[0] : NULL;
	size_t pos = vpn_position(m, want[0]);
	if (pos < m->n_vpns && m->vpns[pos]->index == want[0]) {
		/* A row equal to want[0] is "after" a want of just [idx] only if want has no more sub-ids. */
		struct oidx row;
		vpn_oidx(m->vpns[pos], &row);
		if (!oidx_seek_ok(&row, want, wlen, after))
			pos++;
	}
	return pos < m->n_vpns ? m->vpns[pos] : NULL;
}

const void *model_seek_rows(const struct model *m, vpn_rows_seek_fn seek, const uint32_t *want,
			    size_t wlen, bool after)
{
	for (size_t i = wlen ? vpn_position(m, want[0]) : 0; i < m->n_vpns; i++) {
		const struct vpn *v = m->vpns[i];
		const void *row = wlen && v->index == want[0] ? seek(v, want + 1, wlen - 1, after)
							       : seek(v, NULL, 0, false);
		if (row)
			return row;
	}
	return NULL;
}
