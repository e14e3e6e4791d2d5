/*
 * Downstream of the BMP collector: the engines its route changes feed
 * (bgp/mdt.c, bgp/mvpn.c) and what they write into a live model
 * (mib/bgpmdt.c's per-PE route counts and settling, mib/passive.c's rows
 * held by C-multicast routes, their expiry), wired as the daemon wires them
 * (agent/bmp_listen.c route_changed(), agent/daemon.c apply_bgp()).
 *
 * Input: two mode bytes, then a BMP stream that two routers send (as
 * fuzz_bmp's), each in reads of its own size, one read of each in turn.
 *   byte 0: bits 0-2 router 1's read size, 1 << (2 * bits) (1 byte to 16 KB);
 *           bits 3-5 router 2's; bit 6 discovery of VPNs from the MDT SAFI;
 *           bit 7 tight caps (2 PEs and 8 C-group rows a VPN, 2 discovered
 *           VPNs, 16 routes a router) instead of caps no input reaches.
 *   byte 1: bits 0-2 how far the model clock moves after each read that took
 *           a message (0 to 10 minutes, clock_steps[]); bits 3-4 the settle
 *           time (0, 1 s, 60 s, 10 s); bits 5-6 a reload (apply_bgp: reindex,
 *           recount begin, both resyncs, recount end) every 1, 4 or 16 such
 *           reads, or never (0).
 * After each tick the clock's due work runs: passive_expire(), every VPN's
 * vpn_bgp_settle(), alarms_run().
 *
 * The model: VPN 1 (draft-rosen, default MDT 239.192.0.1, expects .1 and
 * .2), VPN 2 (239.192.0.2, expected-pes = bgp), VPN 3 (BGP-signalled, RDs
 * 65000:1 and 65000:11, expects .1 and .9), VPN 4 (BGP-signalled, RDs
 * 65000:2 and 65000:12), and a VPN whose index is 239.192.0.3's as a number,
 * so that discovery must refuse that group (tests/fixtures/gen_bmp.py's
 * scenario uses these groups and RDs).
 *
 * Checked besides ASan/UBSan and LeakSanitizer:
 *  1. After every read that changed a route, after every reload, at the end
 *     of the stream and after each router goes (the first disconnects, the
 *     second is retired as a reload retires it), the incremental state
 *     equals a fresh recount: a second model configured
 *     alike (caps no input reaches, discovery unlimited) and a second engine
 *     pair resynced from the same collector.  Equal: the MDT SAFI's routes;
 *     the MCAST-VPN counters (I-PMSI routes, unmatched, C-multicast, not
 *     applied); mvpnPTunnelTable row by row (index, VPN, type, C-source,
 *     C-group, origin, route count, sorted), and for a row one route holds,
 *     its tunnel (PMSI present, type, flags, label, identifier) and Leaf
 *     A-D key origin; every PE's bgp_routes and every downstream C-group->PE
 *     row's bgp_routes, in every VPN; the MDT SAFI's unmatched routes, less
 *     those of the groups whose VPN only the recount discovered.
 *     What may differ, and why:
 *      - PEs and rows settling (advertised, or held, with no route left) are
 *        in the model and not in the recount: it never saw their routes;
 *      - VPNs discovered whose routes have gone stay in the model, and the
 *        recount makes no row of them;
 *      - with tight caps, which rows a cap refused depends on the order the
 *        routes came in (and a refused route is never counted, even once its
 *        row exists): in a VPN that counted a state-limit drop, each count is
 *        at most the recount's; and discovery refused past its cap (the
 *        recount has none) leaves those groups' routes unmatched;
 *      - a P-tunnel row several routes hold shows the attribute last heard,
 *        which depends on the order; the recount's is the last it walked;
 *      - the upstream named by a downstream row several routes hold is the
 *        last one heard, for the same reason (not compared);
 *      - bgp_mdt.refused counts attempts, and a recount attempts again.
 *     With caps no input reaches, no state-limit drop and no refused
 *     discovery happen at all (checked).
 *  2. The model holds together after every step: each VPN's n_bgp_pes is
 *     its advertised PEs; a PE with routes is advertised and not settling,
 *     an advertised PE without routes is settling; a PE row is configured
 *     or advertised (no Hello is heard here); expected is what the
 *     configuration (or, with expected-pes = bgp, BGP) says; only
 *     BGP-signalled VPNs have C-group rows, and a downstream row routes hold
 *     never expires while one with none has its timer armed (held settle
 *     more, no later); timers_valid().  After the due work, also: nothing
 *     is left to judge, every PE alarm is its PE's, and each VPN counts its
 *     PEs with one.
 *  3. After both routers are gone: every count is 0, the P-tunnel table is
 *     empty, no PE and no row has bgp_routes; once the clock passes the
 *     settle time and the due work runs, no VPN has a PE BGP made, an
 *     advertised PE, or a C-group row.  Then everything is freed.
 *  4. Every route change moves the model's total of route counts by what
 *     that route adds or takes back: a route counts once or not at all, and
 *     its withdrawal takes back its own count only (see count_step()).
 */
#include "fuzz.h"

#include "../../bgp/collector.h"
#include "../../bgp/mdt.h"
#include "../../bgp/mvpn.h"
#include "../../mib/bgpmdt.h"
#include "../../mib/log.h"
#include "../../mib/model.h"
#include "../../mib/passive.h"

#define T0 (1767225600ull * MTIME_SEC)
#define IDX(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define RD0(as, n) ((uint64_t)(as) << 32 | (uint32_t)(n)) /* RFC 4364 4.2 type 0 */
#define NO_CAP 1000000u

enum { RED = 1, BLUE = 2, GREEN = 3, YELLOW = 4 };
#define TAKEN IDX(239, 192, 0, 3) /* what discovery would make of 239.192.0.3 */

static const struct mvpn_rd rds[] = {
	{RD0(65000, 1), GREEN}, {RD0(65000, 11), GREEN},
	{RD0(65000, 2), YELLOW}, {RD0(65000, 12), YELLOW},
};

static const mtime_t clock_steps[8] = {
	0, MTIME_SEC / 4, MTIME_SEC, 5 * MTIME_SEC, 11 * MTIME_SEC, 30 * MTIME_SEC,
	61 * MTIME_SEC, 600 * MTIME_SEC,
};
static const mtime_t settles[4] = {0, MTIME_SEC, 60 * MTIME_SEC, 10 * MTIME_SEC};
static const unsigned reload_every[4] = {0, 1, 4, 16};

struct engines {
	struct bgp_mdt mdt;
	struct bgp_mvpn mvpn;
};

struct run {
	struct model *m;
	struct engines e;
	struct bmp_collector *c;
	bool tight, discover;
	mtime_t settle, step;
	unsigned reload_every, reads;
	bool changed; /* a route changed since the last comparison */
	struct counted *counted;
};

/* The VPNs, as a configuration load leaves them (agent/daemon.c). */
static void configure_vpns(struct model *m)
{
	struct inet_addr none = {0}, mdt1 = fuzz_addr("239.192.0.1"), mdt2 = fuzz_addr("239.192.0.2");
	struct inet_addr other = fuzz_addr("239.192.9.9");
	struct inet_addr exp1[2] = {fuzz_addr("198.18.0.1"), fuzz_addr("198.18.0.2")};
	struct inet_addr exp3[2] = {fuzz_addr("198.18.0.1"), fuzz_addr("198.18.0.9")};
	struct vpn *v;

	FUZZ_CHECK((v = vpn_get(m, RED)) && vpn_configure(v, "red", &mdt1, exp1, 2));
	FUZZ_CHECK((v = vpn_get(m, BLUE)) && vpn_configure(v, "blue", &mdt2, NULL, 0));
	vpn_set_expect_bgp(m, v, true, mclock_now(&m->clock));
	FUZZ_CHECK((v = vpn_get(m, GREEN)) && vpn_configure(v, "green", &none, exp3, 2));
	v->bgp_signalled = true;
	FUZZ_CHECK((v = vpn_get(m, YELLOW)) && vpn_configure(v, "yellow", &none, NULL, 0));
	v->bgp_signalled = true;
	FUZZ_CHECK((v = vpn_get(m, TAKEN)) && vpn_configure(v, "taken", &other, NULL, 0));
}

static struct model *model_of(bool tight, mtime_t settle, bool log)
{
	struct model *m = model_new(true);

	FUZZ_CHECK(m != NULL);
	if (log)
		FUZZ_CHECK(changelog_resize(&m->changes, 64));
	m->capture = CAPTURE_RUNNING;
	m->settings.startup_grace = 10 * MTIME_SEC;
	m->settings.pe_check_interval = 10 * MTIME_SEC;
	m->settings.bgp_settle = settle;
	m->settings.max_pes_per_vpn = tight ? 2 : NO_CAP;
	m->settings.max_cgroups_per_vpn = tight ? 8 : NO_CAP;
	m->settings.max_data_mdts_per_vpn = 2;
	mclock_advance(&m->clock, T0);
	configure_vpns(m);
	return m;
}

static void engines_open(struct engines *e, struct model *m, bool discover, size_t max_discovered)
{
	bgp_mdt_init(&e->mdt, m);
	bgp_mvpn_init(&e->mvpn, m);
	e->mdt.discover = discover;
	e->mdt.max_discovered = max_discovered;
	FUZZ_CHECK(bgp_mdt_reindex(&e->mdt));
	FUZZ_CHECK(bgp_mvpn_set_rds(&e->mvpn, rds, sizeof(rds) / sizeof(rds[0])));
}

static void engines_free(struct engines *e)
{
	bgp_mdt_free(&e->mdt);
	bgp_mvpn_free(&e->mvpn);
}

/* What apply_bgp() does on a reload: every count again from the routes. */
static void recount(struct engines *e, const struct bmp_collector *c)
{
	struct model *m = e->mdt.m;

	FUZZ_CHECK(bgp_mdt_reindex(&e->mdt));
	FUZZ_CHECK(bgp_mvpn_set_rds(&e->mvpn, rds, sizeof(rds) / sizeof(rds[0])));
	bgpmdt_recount_begin(m);
	bgp_mdt_resync(&e->mdt, c);
	bgp_mvpn_resync(&e->mvpn, c);
	bgpmdt_recount_end(m, mclock_now(&m->clock));
}

/* ---- 4: a route counts once, and takes back only its own count ---- */

/*
 * The routes the model counted (on a PE or a row): a set of their
 * identities (router, peer, family, view, NLRI), a hash of them.  Each route
 * change moves the model's total of counts by what that route adds or takes
 * back: an add by 0 (not counted: of no VPN, or refused by a cap) or 1; a
 * withdrawal by -1 if the route was counted, else 0 ("a route counted
 * nowhere withdraws nothing", mib/bgpmdt.h, mib/passive.h), whatever rows
 * other routes made since; a replace (the same NLRI) keeps it counted or
 * not, or counts it anew (a C-multicast route naming another row).  After a
 * reload under tight caps the recount may have counted other routes than
 * before: the set is no longer known, and the check stops.
 */
#define COUNTED_SLOTS 8192 /* a power of two, > 4 x 2 routers' 1,024 routes */
#define COUNTED_GONE 2     /* a deleted slot; identities are odd */

struct counted {
	uint64_t slot[COUNTED_SLOTS]; /* 0: empty */
	size_t used;                  /* slots ever filled */
	bool known;
};

static uint64_t route_id(const struct route_change *ch)
{
	const struct route *r = ch->route;
	uintptr_t ptrs[2] = {(uintptr_t)ch->router, (uintptr_t)ch->peer};
	uint8_t head[3] = {r->family, r->view, r->key_len};
	uint64_t h = 14695981039346656037ull; /* FNV-1a */

	for (size_t i = 0; i < sizeof(ptrs); i++)
		h = (h ^ ((const uint8_t *)ptrs)[i]) * 1099511628211ull;
	for (size_t i = 0; i < sizeof(head); i++)
		h = (h ^ head[i]) * 1099511628211ull;
	for (size_t i = 0; i < r->key_len; i++)
		h = (h ^ route_key(r)[i]) * 1099511628211ull;
	return h | 1;
}

/* The slot of id, or the empty one where it would go. */
static size_t counted_slot(const struct counted *c, uint64_t id)
{
	size_t i = (size_t)(id >> 17) & (COUNTED_SLOTS - 1);

	while (c->slot[i] && c->slot[i] != id)
		i = (i + 1) & (COUNTED_SLOTS - 1);
	return i;
}

static void counted_set(struct counted *c, uint64_t id, bool on)
{
	size_t i = counted_slot(c, id);

	if (!on && c->slot[i])
		c->slot[i] = COUNTED_GONE;
	else if (on && !c->slot[i]) {
		c->slot[i] = id;
		if (++c->used > COUNTED_SLOTS / 2)
			c->known = false; /* too full to probe fast: stop (never with 8 KB) */
	}
}

static uint64_t total_counts(const struct model *m)
{
	uint64_t n = 0;

	for (size_t i = 0; i < m->n_vpns; i++) {
		const struct vpn *v = m->vpns[i];
		for (size_t k = 0; k < v->pes.n; k++)
			n += v->pes.v[k]->bgp_routes;
		for (const struct cgpe *r = cgpe_first(&v->cg); r; r = cgpe_next(r))
			n += r->bgp_routes;
	}
	return n;
}

static void count_step(struct counted *c, const struct route_change *ch, int64_t delta)
{
	uint64_t id = route_id(ch);
	int64_t was = c->slot[counted_slot(c, id)] == id;

	switch (ch->ev) {
	case ROUTE_EV_ADD:
		FUZZ_CHECK(!was && (delta == 0 || delta == 1));
		counted_set(c, id, delta == 1);
		break;
	case ROUTE_EV_WITHDRAW:
		FUZZ_CHECK(delta == -was);
		counted_set(c, id, false);
		break;
	default:
		FUZZ_CHECK(delta + was == 0 || delta + was == 1);
		counted_set(c, id, delta + was == 1);
	}
}

/* As route_changed() in agent/bmp_listen.c. */
static void route_changed(void *arg, const struct route_change *ch)
{
	struct run *s = arg;
	uint64_t before = s->counted->known ? total_counts(s->m) : 0;

	bgp_mdt_on_change(&s->e.mdt, ch);
	bgp_mvpn_on_change(&s->e.mvpn, ch);
	s->changed = true;
	if (s->counted->known)
		count_step(s->counted, ch, (int64_t)(total_counts(s->m) - before));
}

/* ---- 2: the model holds together ---- */

/* Is a on the VPN's configured list?  Not vpn_expects(): it passes a
 * list of none to bsearch() as NULL, which UBSan refuses (see the README). */
static bool configured_pe(const struct vpn *v, const struct inet_addr *a)
{
	for (size_t i = 0; i < v->n_expected; i++)
		if (inet_addr_eq(&v->expected_pes[i], a))
			return true;
	return false;
}

static void check_vpn(const struct model *m, struct vpn *v)
{
	uint32_t advertised = 0;
	mtime_t now = mclock_now(&m->clock);

	for (size_t i = 0; i < v->pes.n; i++) {
		const struct pe *pe = v->pes.v[i];
		advertised += pe->bgp_advertised;
		if (pe->bgp_routes)
			FUZZ_CHECK(pe->bgp_advertised && !pe->bgp_settling);
		else if (pe->bgp_advertised)
			FUZZ_CHECK(pe->bgp_settling && m->settings.bgp_settle);
		if (pe->bgp_settling)
			FUZZ_CHECK(pe->bgp_lost <= now);
		/* No Hello here: a row is configured or BGP's. */
		FUZZ_CHECK(!pe->first_seen && (pe->expected || pe->bgp_advertised));
		FUZZ_CHECK(pe->expected == (v->expect_bgp ? pe->bgp_advertised
							  : configured_pe(v, &pe->addr)));
	}
	FUZZ_CHECK(advertised == v->n_bgp_pes);
	if (!v->bgp_signalled)
		FUZZ_CHECK(v->cg.n_rows == 0 && v->cg.n_flows == 0);
	for (struct cgpe *r = cgpe_first(&v->cg); r; r = cgpe_next(r)) {
		if (r->role != CG_DOWNSTREAM)
			continue;
		FUZZ_CHECK(r->kind == CG_STAR_G || r->kind == CG_SG);
		if (r->bgp_routes)
			FUZZ_CHECK(r->expires == MTIME_NEVER && !timer_armed(&r->timer));
		else /* its last route went: held settle more, then it expires */
			FUZZ_CHECK(r->expires != MTIME_NEVER && timer_armed(&r->timer) &&
				   r->expires <= now + m->settings.bgp_settle);
	}
}

static void check_model(const struct run *s)
{
	FUZZ_CHECK(timers_valid(&s->m->timers));
	for (size_t i = 0; i < s->m->n_vpns; i++)
		check_vpn(s->m, s->m->vpns[i]);
	if (!s->tight) /* caps no input reaches: no row is ever refused */
		FUZZ_CHECK(s->m->g.limit_drops == 0);
}

/* After the clock's due work (alarms_run): nothing left to judge, every PE
 * alarm is its PE's, and each VPN counts its PEs with one. */
static void check_alarms(const struct model *m)
{
	const struct alarm_table *t = &m->alarms.table;
	size_t n_pe_alarms = 0, owned = 0;

	FUZZ_CHECK(m->alarms.n_dirty == 0 && !m->alarms.dirty_overflow);
	for (size_t i = 0; i < t->n; i++) {
		const struct alarm *al = &t->v[i];
		if (!alarm_kind_is_pe(al->kind))
			continue;
		const struct vpn *v = vpn_find(m, al->vpn_index);
		const struct pe *pe = v ? pe_find(&v->pes, &al->addr) : NULL;
		FUZZ_CHECK(pe && pe->alarm_index == al->index && pe->alarm_kind == al->kind);
		n_pe_alarms++;
	}
	for (size_t i = 0; i < m->n_vpns; i++) {
		const struct vpn *v = m->vpns[i];
		uint32_t n = 0;
		for (size_t k = 0; k < v->pes.n; k++)
			n += v->pes.v[k]->alarm_index != 0;
		FUZZ_CHECK(n == v->n_pe_alarms);
		owned += n;
	}
	FUZZ_CHECK(owned == n_pe_alarms);
}

/* ---- 1: the incremental state equals a fresh recount ---- */

static uint32_t pe_routes(const struct vpn *v, const struct inet_addr *a)
{
	const struct pe *pe = v ? pe_find(&v->pes, a) : NULL;

	return pe ? pe->bgp_routes : 0;
}

static uint32_t row_routes(struct vpn *v, const struct cgpe *like)
{
	struct flow *f = v ? flow_find(&v->cg, &like->flow->group, &like->flow->source) : NULL;
	const struct cgpe *r = f ? cgpe_find(&v->cg, f, like->kind, &like->pe, CG_DOWNSTREAM) : NULL;

	return r ? r->bgp_routes : 0;
}

/* A count the model has against the recount's: equal, or at most it where
 * a cap refused a route in that VPN. */
static void same_count(uint32_t got, uint32_t want, bool exact)
{
	if (exact)
		FUZZ_CHECK(got == want);
	else
		FUZZ_CHECK(got <= want);
}

static void compare_vpn(struct vpn *v, struct vpn *ref, bool tight)
{
	bool exact = !(tight && v->counters.limit_drops);

	for (size_t i = 0; i < v->pes.n; i++)
		same_count(v->pes.v[i]->bgp_routes, pe_routes(ref, &v->pes.v[i]->addr), exact);
	for (size_t i = 0; i < ref->pes.n; i++)
		same_count(pe_routes(v, &ref->pes.v[i]->addr), ref->pes.v[i]->bgp_routes, exact);
	for (struct cgpe *r = cgpe_first(&v->cg); r; r = cgpe_next(r))
		if (r->role == CG_DOWNSTREAM)
			same_count(r->bgp_routes, row_routes(ref, r), exact);
	for (struct cgpe *r = cgpe_first(&ref->cg); r; r = cgpe_next(r))
		if (r->role == CG_DOWNSTREAM)
			same_count(row_routes(v, r), r->bgp_routes, exact);
}

static void no_routes_left(const struct vpn *v)
{
	for (size_t i = 0; i < v->pes.n; i++)
		FUZZ_CHECK(v->pes.v[i]->bgp_routes == 0);
	for (struct cgpe *r = cgpe_first(&v->cg); r; r = cgpe_next(r))
		FUZZ_CHECK(r->bgp_routes == 0);
}

static bool same_addr(const struct inet_addr *a, const struct inet_addr *b)
{
	return a->type == b->type && inet_addr_eq(a, b);
}

static void compare_tunnels(const struct bgp_mvpn *b, const struct bgp_mvpn *ref)
{
	FUZZ_CHECK(b->n_tunnels == ref->n_tunnels);
	for (size_t i = 0; i < b->n_tunnels; i++) {
		const struct ptunnel *t = b->tunnels[i], *u = ref->tunnels[i];
		FUZZ_CHECK(i == 0 || oidx_cmp(b->tunnels[i - 1]->index.sub, b->tunnels[i - 1]->index.len,
					      t->index.sub, t->index.len) < 0);
		FUZZ_CHECK(oidx_cmp(t->index.sub, t->index.len, u->index.sub, u->index.len) == 0);
		FUZZ_CHECK(t->vpn_index == u->vpn_index && t->route_type == u->route_type);
		FUZZ_CHECK(same_addr(&t->source, &u->source) && same_addr(&t->group, &u->group) &&
			   same_addr(&t->origin, &u->origin));
		FUZZ_CHECK(t->routes >= 1 && t->routes == u->routes);
		if (t->routes > 1)
			continue; /* the attribute last heard of several: the order's */
		FUZZ_CHECK(same_addr(&t->key_origin, &u->key_origin));
		FUZZ_CHECK(t->has_pmsi == u->has_pmsi && t->tunnel_type == u->tunnel_type &&
			   t->flags == u->flags && t->label == u->label && t->id_len == u->id_len &&
			   !memcmp(t->id, u->id, t->id_len));
	}
}

static uint32_t all_pe_routes(const struct vpn *v)
{
	uint32_t n = 0;

	for (size_t i = 0; i < v->pes.n; i++)
		n += v->pes.v[i]->bgp_routes;
	return n;
}

/*
 * The reference model as a configuration load leaves it.  Not a model_new()
 * per comparison, nor per input: struct model is 250 KB that calloc() and
 * alarms_init() zero, a third of the time per input when the reference had
 * one of its own.  Fresh VPNs are all a recount reads or writes (its rows
 * are held forever and its PEs never heard: no timer, no alarm, no change
 * log), so one reference model serves every input, its VPNs made again for
 * each comparison; its settle time is the input's.
 */
static struct model *fresh_ref(struct run *s)
{
	static struct model *ref;

	if (!ref)
		ref = model_of(false, 0, false);
	ref->settings.bgp_settle = s->settle;
	FUZZ_CHECK(ref->timers.n == 0 && ref->alarms.table.n == 0);
	while (ref->n_vpns)
		vpn_remove(ref, ref->vpns[0]->index);
	ref->alarms.n_dirty = 0; /* PEs it named are gone; it is never run */
	ref->alarms.dirty_overflow = false;
	configure_vpns(ref);
	return ref;
}

static void compare(struct run *s)
{
	struct model *ref = fresh_ref(s);
	struct engines r;
	size_t lost = 0; /* MDT routes of the groups only the recount discovered a VPN for */

	engines_open(&r, ref, s->discover, (size_t)-1);
	recount(&r, s->c);
	FUZZ_CHECK(ref->g.limit_drops == 0);
	for (size_t i = 0; i < ref->n_vpns; i++) {
		struct vpn *u = ref->vpns[i], *v = vpn_find(s->m, u->index);
		if (!v) {
			FUZZ_CHECK(u->discovered && s->tight); /* refused past the cap */
			lost += all_pe_routes(u);
			continue;
		}
		FUZZ_CHECK(v->discovered == u->discovered && v->bgp_signalled == u->bgp_signalled);
		compare_vpn(v, u, s->tight);
	}
	for (size_t i = 0; i < s->m->n_vpns; i++) {
		const struct vpn *v = s->m->vpns[i];
		if (!vpn_find(ref, v->index)) {
			FUZZ_CHECK(v->discovered); /* its routes have gone */
			no_routes_left(v);
		}
	}
	FUZZ_CHECK(s->e.mdt.routes == r.mdt.routes);
	FUZZ_CHECK(s->e.mdt.unmatched == r.mdt.unmatched + lost);
	if (!s->tight)
		FUZZ_CHECK(lost == 0);
	FUZZ_CHECK(s->e.mvpn.ipmsi == r.mvpn.ipmsi && s->e.mvpn.unmatched == r.mvpn.unmatched);
	FUZZ_CHECK(s->e.mvpn.cmcast == r.mvpn.cmcast && s->e.mvpn.not_applied == r.mvpn.not_applied);
	compare_tunnels(&s->e.mvpn, &r.mvpn);
	engines_free(&r);
	s->changed = false;
}

/* ---- the clock, and reloads ---- */

static void tick(struct run *s, mtime_t by)
{
	struct model *m = s->m;
	mtime_t now = mclock_now(&m->clock) + by;

	mclock_advance(&m->clock, now);
	passive_expire(m, now);
	for (size_t i = 0; i < m->n_vpns; i++)
		vpn_bgp_settle(m, m->vpns[i], now);
	alarms_run(m, now);
	check_model(s);
	check_alarms(m);
}

/* After a read that took messages. */
static void after_read(struct run *s)
{
	check_model(s);
	if (s->changed)
		compare(s);
	tick(s, s->step);
	s->reads++;
	if (s->reload_every && s->reads % s->reload_every == 0) {
		recount(&s->e, s->c);
		if (s->tight)
			s->counted->known = false;
		check_model(s);
		compare(s);
	}
}

/* ---- the stream ---- */

struct feeder {
	struct bmp_router *r;
	const uint8_t *p;
	size_t len, off, chunk, have;
	uint8_t *buf;
	bool closed;
};

static bool feeder_done(const struct feeder *f)
{
	return f->closed || f->off == f->len;
}

/* One read of the router's size, as from its socket; true if it took messages. */
static bool feed_one(struct run *s, struct feeder *f)
{
	size_t n = f->len - f->off < f->chunk ? f->len - f->off : f->chunk;
	bool close = false;

	memcpy(f->buf + f->have, f->p + f->off, n);
	f->have += n, f->off += n;
	size_t used = bmp_router_input(s->c, f->r, f->buf, f->have, mclock_now(&s->m->clock), &close);
	FUZZ_CHECK(used <= f->have);
	if (used == 0 && !close)
		return false;
	memmove(f->buf, f->buf + used, f->have - used);
	f->have -= used;
	if (close) {
		bmp_router_disconnect(s->c, f->r, mclock_now(&s->m->clock));
		f->closed = true;
	}
	return true;
}

static void disconnect(struct run *s, struct feeder *f)
{
	if (!f->closed) {
		bmp_router_disconnect(s->c, f->r, mclock_now(&s->m->clock));
		f->closed = true;
	}
	check_model(s);
	compare(s);
}

/* A reload's retirement of a router (agent/bmp_listen.c drop_disallowed()):
 * its session, if still up, and its row go at once. */
static void retire(struct run *s, struct feeder *f)
{
	bmp_router_forget(s->c, f->r, mclock_now(&s->m->clock));
	f->r = NULL;
	f->closed = true;
	check_model(s);
	compare(s);
}

/* ---- 3: nothing outlives the routes ---- */

static void check_all_gone(struct run *s)
{
	struct model *m = s->m;

	FUZZ_CHECK(s->c->t.routes == 0);
	FUZZ_CHECK(s->e.mdt.routes == 0 && s->e.mdt.unmatched == 0);
	FUZZ_CHECK(s->e.mvpn.ipmsi == 0 && s->e.mvpn.unmatched == 0 && s->e.mvpn.cmcast == 0 &&
		   s->e.mvpn.not_applied == 0 && s->e.mvpn.n_tunnels == 0);
	for (size_t i = 0; i < m->n_vpns; i++)
		no_routes_left(m->vpns[i]);
	/* Past the settle time, and past the PE check that judges it. */
	tick(s, m->settings.bgp_settle + m->settings.pe_check_interval + MTIME_SEC);
	for (size_t i = 0; i < m->n_vpns; i++) {
		const struct vpn *v = m->vpns[i];
		FUZZ_CHECK(v->n_bgp_pes == 0 && v->cg.n_rows == 0 && v->cg.n_flows == 0);
		for (size_t k = 0; k < v->pes.n; k++) {
			const struct pe *pe = v->pes.v[k];
			FUZZ_CHECK(pe->expected && !pe->bgp_advertised && !pe->bgp_settling);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t router_routes[2] = {1024, 16};
	struct run s = {0};
	struct inet_addr a = {.type = INET_IPV4, .bytes = {127, 0, 0, 1}};
	struct feeder f[2] = {{0}};

	if (size < 2)
		return 0;
	mvpn_log_set_sink(fuzz_log_silent);
	s.tight = data[0] & 0x80;
	s.discover = data[0] & 0x40;
	s.step = clock_steps[data[1] & 7];
	s.settle = settles[data[1] >> 3 & 3];
	s.reload_every = reload_every[data[1] >> 5 & 3];
	struct bmp_limits lim = {router_routes[s.tight], 4, 2};
	s.m = model_of(s.tight, s.settle, true);
	s.counted = calloc(1, sizeof(*s.counted));
	FUZZ_CHECK(s.counted != NULL);
	s.counted->known = true;
	engines_open(&s.e, s.m, s.discover, s.tight ? 2 : 1000);
	s.c = bmp_collector_new(&lim);
	FUZZ_CHECK(s.c != NULL);
	s.c->on_change = route_changed;
	s.c->change_arg = &s;
	for (int i = 0; i < 2; i++) {
		a.bytes[3] = (uint8_t)(1 + i);
		f[i].r = bmp_router_connect(s.c, &a, 1, T0);
		FUZZ_CHECK(f[i].r != NULL);
		f[i].p = data + 2;
		f[i].len = size - 2;
		f[i].chunk = (size_t)1 << (2 * (data[0] >> (3 * i) & 7));
		f[i].buf = malloc(f[i].len + 1);
		FUZZ_CHECK(f[i].buf != NULL);
	}
	while (!feeder_done(&f[0]) || !feeder_done(&f[1]))
		for (int i = 0; i < 2; i++)
			if (!feeder_done(&f[i]) && feed_one(&s, &f[i]))
				after_read(&s);
	check_model(&s);
	compare(&s);
	disconnect(&s, &f[0]);
	retire(&s, &f[1]); /* the second router leaves by a reload */
	FUZZ_CHECK(s.c->n_routers == 1);
	check_all_gone(&s);
	bmp_collector_free(s.c);
	engines_free(&s.e);
	model_free(s.m);
	free(s.counted);
	free(f[0].buf);
	free(f[1].buf);
	return 0;
}
