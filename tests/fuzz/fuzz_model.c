/*
 * Frames into a live model, the way a replay feeds them
 * (capture_handle_frame: clock, expiries, the frame, then the alarms), so the
 * state machine of mib/passive.c and mib/alarms.c meets what the parsers let
 * through, not only the parsers.  Two VPNs (default MDTs 239.192.0.1 and
 * 239.192.0.2, the first expecting 198.18.0.1 and .2) under small caps (4 PEs,
 * 8 C-group rows, 2 data MDTs per VPN; a change log of 16), so the caps, the
 * reclaiming of departed PEs and the ring's wrap come early.
 *
 * Input: a flags byte (bit 0: make every frame's checksums right first),
 * then records of [seconds to advance, 0-255 in quarter seconds][length, 2
 * bytes big-endian][that many bytes of a raw IP packet (DLT_RAW)]; a last
 * record cut short takes what is left.
 *
 * Checked after every frame: each VPN's PE table is sorted, its C-address
 * index holds every PE, no more rows than the cap allows (expected PEs
 * aside); exactly the alive mortal PEs have a timer armed, and the departed
 * list holds exactly the PEs heard and gone; the C-group rows within their
 * cap; the model's heap in order, keyed no later than each deadline, holding
 * only timers of live PEs, downstream rows and data MDTs, one per data MDT; every PE alarm belongs to a PE that wants it, and each VPN's
 * count of them is right; nothing is left to judge; the change log within
 * its capacity; the counters add up.  Then everything is freed (LeakSanitizer).
 */
#include "fixup.h"

#include "../../capture/engine.h"
#include "../../mib/log.h"
#include "../../mib/model.h"
#include "../../mib/passive.h"

#define MAX_PES 4
#define MAX_ROWS 8
#define CHANGE_LOG 16
#define T0 (1767225600ll * MTIME_SEC)

static struct model *two_vpns(void)
{
	struct model *m = model_new(true);
	struct inet_addr mdt1 = fuzz_addr("239.192.0.1"), mdt2 = fuzz_addr("239.192.0.2");
	struct inet_addr expected[2] = {fuzz_addr("198.18.0.1"), fuzz_addr("198.18.0.2")};

	FUZZ_CHECK(m && changelog_resize(&m->changes, CHANGE_LOG));
	m->settings.max_pes_per_vpn = MAX_PES;
	m->settings.max_cgroups_per_vpn = MAX_ROWS;
	m->settings.max_data_mdts_per_vpn = 2;
	m->settings.startup_grace = 10 * MTIME_SEC;
	m->capture = CAPTURE_RUNNING;
	FUZZ_CHECK(vpn_configure(vpn_get(m, 1), "one", &mdt1, expected, 2));
	FUZZ_CHECK(vpn_configure(vpn_get(m, 2), "two", &mdt2, NULL, 0));
	mclock_advance(&m->clock, T0);
	return m;
}

static void check_pes(const struct vpn *v)
{
	const struct pe_table *t = &v->pes;
	size_t n_expected = 0, n_alarms = 0, n_gone = 0;
	const struct pe *pe;

	for (size_t i = 0; i < t->n; i++) {
		pe = t->v[i];
		FUZZ_CHECK(i == 0 || inet_addr_cmp(&t->v[i - 1]->addr, &pe->addr) < 0);
		FUZZ_CHECK(pe_find(t, &pe->addr) == pe);
		const struct pe *by_c = pe_find_by_caddr(t, pe->caddr.type ? &pe->caddr : &pe->addr);
		FUZZ_CHECK(by_c != NULL);
		n_expected += pe->expected;
		n_alarms += pe->alarm_index != 0;
		n_gone += !pe->alive && pe->first_seen != 0;
		FUZZ_CHECK(pe->expected || pe->first_seen); /* rows unheard exist only if expected */
	}
	FUZZ_CHECK(t->n <= MAX_PES || t->n == n_expected);
	FUZZ_CHECK(n_alarms == v->n_pe_alarms);
	for (size_t i = 0; i < t->n; i++) {
		pe = t->v[i];
		bool mortal = pe->alive && pe->holdtime != PE_HOLDTIME_FOREVER;
		FUZZ_CHECK(timer_armed(&pe->timer) == mortal && pe->timer.vpn_index == v->index);
	}
	TAILQ_FOREACH(pe, &t->departed, gone) {
		FUZZ_CHECK(!pe->alive && pe->first_seen && pe_find(t, &pe->addr) == pe);
		n_gone--;
	}
	FUZZ_CHECK(n_gone == 0);
}

static void check_alarms(const struct model *m)
{
	const struct alarm_table *t = &m->alarms.table;

	FUZZ_CHECK(m->alarms.n_dirty == 0 && !m->alarms.dirty_overflow);
	for (size_t i = 0; i < t->n; i++) {
		const struct alarm *al = &t->v[i];
		if (al->kind != ALARM_PE_MISSING && al->kind != ALARM_PE_UNEXPECTED)
			continue;
		const struct vpn *v = vpn_find(m, al->vpn_index);
		FUZZ_CHECK(v != NULL);
		const struct pe *pe = pe_find(&v->pes, &al->addr);
		FUZZ_CHECK(pe && pe->alarm_index == al->index && pe->alarm_kind == al->kind);
		FUZZ_CHECK(al->kind == ALARM_PE_MISSING ? pe->expected && !pe->alive
							: !pe->expected && pe->alive);
	}
}

/* Every armed timer belongs to a live PE, downstream row or data MDT of its
 * VPN, keyed no later than that one's expiry time (timers_valid); each VPN
 * has one per data MDT. */
static void check_timers(const struct model *m)
{
	const struct timers *h = &m->timers;
	size_t n_data = 0;

	FUZZ_CHECK(timers_valid(h));
	for (size_t i = 0; i < h->n; i++) {
		struct timer *t = h->v[i].t;
		if (!t)
			continue; /* cancelled, waiting to be dropped */
		struct vpn *v = vpn_find(m, t->vpn_index);
		FUZZ_CHECK(v != NULL);
		if (timer_kind(t) == TIMER_PE) {
			const struct pe *pe = TIMER_OWNER(t, struct pe);
			FUZZ_CHECK(pe_find(&v->pes, &pe->addr) == pe);
		} else if (timer_kind(t) == TIMER_ROW) {
			struct cgpe *r = TIMER_OWNER(t, struct cgpe);
			FUZZ_CHECK(cgpe_find(&v->cg, r->flow, r->kind, &r->pe, r->role) == r);
			FUZZ_CHECK(r->role == CG_DOWNSTREAM);
		} else {
			struct flow *f = TIMER_OWNER(t, struct flow);
			FUZZ_CHECK(flow_find(&v->cg, &f->group, &f->source) == f && f->on_data_mdt);
			n_data++;
		}
	}
	for (size_t i = 0; i < m->n_vpns; i++)
		n_data -= m->vpns[i]->cg.n_data;
	FUZZ_CHECK(n_data == 0);
}

static void check_model(const struct model *m)
{
	uint64_t packets = 0, malformed = 0, drops = 0, changes = 0, refreshes = 0;

	for (size_t i = 0; i < m->n_vpns; i++) {
		const struct vpn *v = m->vpns[i];
		check_pes(v);
		FUZZ_CHECK(v->cg.n_rows <= MAX_ROWS);
		packets += v->counters.packets;
		malformed += v->counters.malformed;
		drops += v->counters.limit_drops;
		changes += v->counters.changes;
		refreshes += v->counters.refreshes;
	}
	check_alarms(m);
	check_timers(m);
	FUZZ_CHECK(m->changes.count <= m->changes.capacity);
	FUZZ_CHECK(packets + m->g.unknown_mdt <= m->g.packets_seen);
	FUZZ_CHECK(malformed <= m->g.malformed && m->g.malformed <= m->g.packets_seen);
	FUZZ_CHECK(drops == m->g.limit_drops && changes == m->g.changes &&
		   refreshes == m->g.refreshes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct model *m;
	struct capture c;
	mtime_t now = T0;
	bool fix = size > 0 && (data[0] & 1);
	size_t at = 1;

	mvpn_log_set_sink(fuzz_log_silent);
	m = two_vpns();
	memset(&c, 0, sizeof(c));
	c.model = m;
	c.dlt = DLT_RAW;
	c.offline = true;
	FUZZ_CHECK(capture_configure(&c) == 0);
	while (at + 3 <= size) {
		size_t len = (size_t)data[at + 1] << 8 | data[at + 2];
		now += (mtime_t)data[at] * (MTIME_SEC / 4);
		at += 3;
		if (len > size - at)
			len = size - at;
		uint8_t *frame = fuzz_copy(data + at, len);
		if (fix)
			fuzz_fix_checksums(DLT_RAW, frame, len);
		capture_handle_frame(&c, frame, len, now);
		free(frame);
		check_model(m);
		at += len;
	}
	capture_close(&c);
	model_free(m);
	return 0;
}
