/* mib/tomography and mib/faultloc against an independent simulator: five PEs,
 * each a sender and a receiver, 100 probes/s per sender for a 60 s window,
 * Bernoulli loss and fixed delays per segment of each probe's tree (tunnel
 * up to PE i, PE i's ingress onto the MDT, path i -> j, PE j's egress, the
 * tunnel back from j), echoes through every tunnel once a second.  Six
 * induced faults, twenty fixed seeds each: the located faults must be
 * exactly the induced ones in every seed, and the estimates' intervals must
 * cover the true rates in at least 95 % of (seed, estimate) cases.  Then the
 * edge cases.  All on the model clock: no sleeps. */
#include "unit.h"

#include <math.h>
#include <stdlib.h>

#include "../../mib/faultloc.h"
#include "../../mib/tomography.h"

#define S MTIME_SEC
#define MS (MTIME_SEC / 1000)
#define NPE 5
#define RATE 100
#define WINDOW 60
#define T0 (600 * S) /* the window's start: a whole number of blocks */
#define SEEDS 20

/* ---- the simulator's own RNG (splitmix64) ---- */

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double rng_unit(uint64_t *s)
{
	return (double)(rng_next(s) >> 11) / 9007199254740992.0;
}

static bool pass(uint64_t *s, double loss)
{
	return loss <= 0 || rng_unit(s) >= loss;
}

/* ---- the network: loss and delay (us) per segment ---- */

struct net {
	double up[NPE], in[NPE], eg[NPE], down[NPE], path[NPE][NPE];   /* loss */
	double d_up[NPE], d_in[NPE], d_eg[NPE], d_down[NPE], d_path[NPE][NPE]; /* us */
};

#define BG_TUNNEL 0.002 /* background loss of each tunnel direction */
#define BG_PE 0.001     /* of each PE's ingress and egress */

static double combine(double a, double b)
{
	return 1 - (1 - a) * (1 - b);
}

/* Background loss on the identifiable segments, none on the paths (the
 * assumption the receiver/path split rests on), random base delays. */
static void net_base(struct net *n, uint64_t *rng)
{
	for (int k = 0; k < NPE; k++) {
		n->up[k] = n->down[k] = BG_TUNNEL;
		n->in[k] = n->eg[k] = BG_PE;
		n->d_up[k] = 1000 + 2000 * rng_unit(rng);
		n->d_down[k] = n->d_up[k] + 400 * rng_unit(rng) - 200;
		n->d_in[k] = 100 + 400 * rng_unit(rng);
		n->d_eg[k] = 100 + 400 * rng_unit(rng);
		for (int j = 0; j < NPE; j++) {
			n->path[k][j] = 0;
			n->d_path[k][j] = 3000 + 12000 * rng_unit(rng);
		}
	}
}

/* ---- what the monitor sees ---- */

struct seen {
	struct faultloc_pair pairs[NPE * NPE];
	struct faultloc_echo echo[NPE];
	double rtt[NPE]; /* us */
};

struct pair_acc {
	uint32_t rx;
	double sum, ipdv;
	uint32_t n_ipdv;
	bool have_prev;
	double prev;
};

/* One probe of sender i: its tree, drawn segment by segment. */
static void probe_once(const struct net *n, uint64_t *rng, int i, uint64_t *bits,
		       struct pair_acc *acc)
{
	bool root = pass(rng, n->up[i]) && pass(rng, n->in[i]);

	*bits = 0;
	for (int j = 0; j < NPE; j++) {
		struct pair_acc *a = &acc[i * NPE + j];
		if (j == i)
			continue;
		bool got = root && pass(rng, n->path[i][j]) && pass(rng, n->eg[j]) &&
			   pass(rng, n->down[j]);
		double d = n->d_up[i] + n->d_in[i] + n->d_path[i][j] + n->d_eg[j] + n->d_down[j] +
			   1000 * rng_unit(rng);
		if (got) {
			*bits |= 1ull << j;
			a->rx++;
			a->sum += d;
			if (a->have_prev)
				a->ipdv += fabs(d - a->prev), a->n_ipdv++;
			a->prev = d;
		}
		a->have_prev = got;
	}
}

static void echoes(const struct net *n, uint64_t *rng, struct seen *sn)
{
	for (int k = 0; k < NPE; k++) {
		double sum = 0;
		sn->echo[k] = (struct faultloc_echo){.sent = WINDOW};
		for (int e = 0; e < WINDOW; e++)
			if (pass(rng, n->up[k]) && pass(rng, n->down[k])) {
				sn->echo[k].received++;
				sum += n->d_up[k] + n->d_down[k] + 20 * rng_unit(rng);
			}
		sn->rtt[k] = sn->echo[k].received ? sum / sn->echo[k].received : 0;
	}
}

/* The pair figures as probing and the alarms compute them. */
static void figures(const struct pair_acc *acc, struct seen *sn)
{
	const uint32_t sent = RATE * WINDOW;

	for (int i = 0; i < NPE; i++)
		for (int j = 0; j < NPE; j++) {
			const struct pair_acc *a = &acc[i * NPE + j];
			struct faultloc_pair *p = &sn->pairs[i * NPE + j];
			*p = (struct faultloc_pair){0};
			if (i == j)
				continue;
			p->have[METRIC_LOSS] = true;
			p->value[METRIC_LOSS] = (uint32_t)((uint64_t)(sent - a->rx) * 1000000u / sent);
			p->have[METRIC_DELAY] = a->rx > 0;
			p->value[METRIC_DELAY] =
				(uint32_t)llround(a->sum / a->rx - (sn->rtt[i] + sn->rtt[j]) / 2);
			p->have[METRIC_JITTER] = a->n_ipdv > 0;
			p->value[METRIC_JITTER] = a->n_ipdv ? (uint32_t)llround(a->ipdv / a->n_ipdv) : 0;
		}
}

/* Runs the window through a fresh accumulator; returns it (caller frees). */
static struct tomo *simulate(const struct net *n, uint64_t seed, struct seen *sn)
{
	static const uint8_t roles[NPE] = {3, 3, 3, 3, 3};
	struct tomo *t = tomo_new(NPE, roles, WINDOW * S, 10);
	struct pair_acc acc[NPE * NPE] = {{0}};
	uint64_t rng = seed;

	for (int p = 0; p < RATE * WINDOW; p++)
		for (int i = 0; i < NPE; i++) {
			uint64_t bits;
			probe_once(n, &rng, i, &bits, acc);
			tomo_probe_decided(t, (size_t)i, T0 + (mtime_t)p * (S / RATE) + (mtime_t)i * MS,
					   &bits);
		}
	echoes(n, &rng, sn);
	figures(acc, sn);
	return t;
}

/* ---- the scenarios ---- */

static const struct thresholds TH = {{[METRIC_LOSS] = {20000, 10000},
				      [METRIC_DELAY] = {25000, 20000},
				      [METRIC_JITTER] = {5000, 4000}}};

/* PE numbers are 1-based as in the issue: PE k is position k - 1. */
struct expect {
	uint8_t metric, kind;
	int pe, peer; /* 0: none */
};

struct scenario {
	const char *name;
	void (*induce)(struct net *n);
	struct expect want[3];
	size_t n_want;
	bool unreliable;
};

static void sender2_up(struct net *n) { n->up[1] = combine(n->up[1], 0.05); }
static void receiver3_down(struct net *n) { n->down[2] = combine(n->down[2], 0.05); }
static void path_1_4(struct net *n) { n->path[0][3] = 0.08; }
static void delay_pe2(struct net *n) { n->d_in[1] += 30000; }

static void monitor_link(struct net *n)
{
	for (int k = 0; k < NPE; k++) {
		n->up[k] = combine(n->up[k], 0.03);
		n->down[k] = combine(n->down[k], 0.03);
	}
}

static void sender2_and_path_3_5(struct net *n)
{
	sender2_up(n);
	n->path[2][4] = 0.08;
}

static struct inet_addr pe_addr(int k)
{
	return (struct inet_addr){.type = INET_IPV4, .bytes = {198, 18, 0, (uint8_t)k}};
}

static double truth_sender(const struct net *n, int i) { return combine(n->up[i], n->in[i]); }
static double truth_receiver(const struct net *n, int j) { return combine(n->eg[j], n->down[j]); }

struct tally {
	unsigned cases, covered, induced, induced_covered;
};

static void count(struct tally *t, const struct tomo_estimate *e, double truth, double base)
{
	double ppm = truth * 1e6;
	bool ok = e->status == TOMO_OK && e->low_ppm <= ppm + 0.5 && ppm - 0.5 <= e->high_ppm;

	t->cases++;
	t->covered += ok;
	if (fabs(truth - base) > 1e-12) {
		t->induced++;
		t->induced_covered += ok;
	}
}

/* Every estimate of the window against the truth (and the base, to tell induced ones). */
static void coverage(struct tally *t, const struct tomo_result *r, const struct net *n,
		     const struct net *base)
{
	for (int k = 0; k < NPE; k++) {
		count(t, &r->sender[k], truth_sender(n, k), truth_sender(base, k));
		count(t, &r->receiver[k], truth_receiver(n, k), truth_receiver(base, k));
		for (int j = 0; j < NPE; j++)
			if (j != k)
				count(t, &r->path[k * NPE + j], n->path[k][j], base->path[k][j]);
	}
}

static void print_faults(const struct faultloc *f)
{
	for (size_t x = 0; x < f->n; x++)
		printf("#     metric %u kind %u pe %zu peer %zu loss %u [%u, %u] shift %lld flags %u\n",
		       f->v[x].metric, f->v[x].kind, f->v[x].pe, f->v[x].peer, f->v[x].loss_ppm,
		       f->v[x].low_ppm, f->v[x].high_ppm, (long long)f->v[x].shift_us, f->v[x].flags);
}

static bool exactly(const struct faultloc *f, const struct scenario *sc)
{
	if (f->n != sc->n_want || f->unreliable != sc->unreliable)
		return false;
	for (size_t x = 0; x < f->n; x++) {
		const struct expect *w = &sc->want[x];
		const struct fault *v = &f->v[x];
		size_t pe = w->pe ? (size_t)w->pe - 1 : FAULT_NO_PE;
		size_t peer = w->peer ? (size_t)w->peer - 1 : FAULT_NO_PE;
		if (v->metric != w->metric || v->kind != w->kind || v->pe != pe || v->peer != peer ||
		    (v->flags & FAULT_RESIDUAL))
			return false;
	}
	return true;
}

static struct faultloc_input input_of(const struct seen *sn, const struct tomo_result *r)
{
	static const uint8_t roles[NPE] = {3, 3, 3, 3, 3};
	static struct inet_addr pes[NPE];

	for (int k = 0; k < NPE; k++)
		pes[k] = pe_addr(k + 1);
	return (struct faultloc_input){.n = NPE, .pes = pes, .roles = roles, .pairs = sn->pairs,
				       .th = &TH, .tomo = r, .echo = sn->echo};
}

/* One seed: simulate, estimate, locate; false if the faults are not exactly the induced ones. */
static bool one_seed(const struct scenario *sc, uint64_t seed, struct tally *t)
{
	struct net base, n;
	struct seen sn;
	uint64_t rng = seed ^ 0xba5eull;
	struct tomo *tm;
	struct faultloc f;
	struct faultloc_input in;
	bool ok;

	net_base(&base, &rng);
	n = base;
	sc->induce(&n);
	tm = simulate(&n, seed, &sn);
	if (!tm)
		return false;
	const struct tomo_result *r = tomo_estimate(tm, T0 + WINDOW * S);
	coverage(t, r, &n, &base);
	in = input_of(&sn, r);
	faultloc_init(&f);
	ok = faultloc_run(&f, &in, T0 + WINDOW * S) && exactly(&f, sc);
	if (!ok) {
		printf("#   %s seed %llu located:\n", sc->name, (unsigned long long)seed);
		print_faults(&f);
	}
	faultloc_free(&f);
	tomo_free(tm);
	return ok;
}

static struct tally all_tally;

static void run_scenario(const struct scenario *sc, unsigned salt, int *unit_failed_)
{
	struct tally t = {0};
	unsigned exact = 0;

	for (unsigned s = 1; s <= SEEDS; s++)
		exact += one_seed(sc, 0x5eed0000ull + salt * 1000 + s, &t);
	printf("# %s: exact in %u/%u seeds; coverage %u/%u (%.1f %%), induced rates %u/%u\n",
	       sc->name, exact, SEEDS, t.covered, t.cases, 100.0 * t.covered / t.cases,
	       t.induced_covered, t.induced);
	all_tally.cases += t.cases, all_tally.covered += t.covered;
	all_tally.induced += t.induced, all_tally.induced_covered += t.induced_covered;
	CHECK_EQ_INT(exact, SEEDS);
	CHECK(t.covered * 100 >= t.cases * 95);
}

TEST(loss_on_tunnel_to_pe2_is_its_sender_side)
{
	static const struct scenario sc = {"5% on PE 2's tunnel up", sender2_up,
					   {{METRIC_LOSS, FAULT_SENDER_SIDE, 2, 0}}, 1, false};
	run_scenario(&sc, 1, unit_failed_);
}

TEST(loss_on_tunnel_back_from_pe3_is_its_receiver_side)
{
	static const struct scenario sc = {"5% on PE 3's tunnel down", receiver3_down,
					   {{METRIC_LOSS, FAULT_RECEIVER_SIDE, 3, 0}}, 1, false};
	run_scenario(&sc, 2, unit_failed_);
}

TEST(loss_on_one_path_is_that_path)
{
	static const struct scenario sc = {"8% on path 1 -> 4", path_1_4,
					   {{METRIC_LOSS, FAULT_PATH, 1, 4}}, 1, false};
	run_scenario(&sc, 3, unit_failed_);
}

TEST(loss_on_every_tunnel_is_the_monitor_link_alone)
{
	static const struct scenario sc = {"3% on every tunnel", monitor_link,
					   {{METRIC_LOSS, FAULT_MONITOR_LINK, 0, 0}}, 1, true};
	run_scenario(&sc, 4, unit_failed_);
}

TEST(delay_step_on_pe2_sending_is_its_sender_side)
{
	static const struct scenario sc = {"30 ms on what PE 2 sends", delay_pe2,
					   {{METRIC_DELAY, FAULT_SENDER_SIDE, 2, 0}}, 1, false};
	run_scenario(&sc, 5, unit_failed_);
}

TEST(two_faults_at_once_are_both_located)
{
	static const struct scenario sc = {"PE 2 sender side + path 3 -> 5", sender2_and_path_3_5,
					   {{METRIC_LOSS, FAULT_SENDER_SIDE, 2, 0},
					    {METRIC_LOSS, FAULT_PATH, 3, 5}},
					   2,
					   false};
	run_scenario(&sc, 6, unit_failed_);
}

/* The requirement: in every scenario, at least 95 % of the (seed, estimate)
 * cases covered, each estimate against its true rate (induced, background or
 * none).  The faulted components alone are 300 cases, over which a calibrated
 * 95 % interval covers 95 % +- 1.3 % (one standard deviation): measured
 * offline over 300 seeds per scenario (4,500 such cases), 95.3 %, the misses
 * split evenly low and high.  That share is printed, and held to 90 %: below
 * that the intervals would be miscalibrated, not unlucky. */
TEST(coverage_over_all_scenarios)
{
	printf("# all scenarios: coverage %u/%u (%.1f %%), induced rates %u/%u (%.1f %%)\n",
	       all_tally.covered, all_tally.cases, 100.0 * all_tally.covered / all_tally.cases,
	       all_tally.induced_covered, all_tally.induced,
	       100.0 * all_tally.induced_covered / all_tally.induced);
	CHECK(all_tally.covered * 100 >= all_tally.cases * 95);
	CHECK(all_tally.induced_covered * 100 >= all_tally.induced * 90);
}

/* ---- edge cases, with hand-made reception patterns ---- */

/* Feeds `per_block` probes of sender i into each of the 10 blocks of the
 * window from T0, bits from pattern(k) for the k-th probe of the block. */
static void feed(struct tomo *t, size_t i, unsigned per_block, uint64_t (*pattern)(unsigned k))
{
	for (unsigned b = 0; b < 10; b++)
		for (unsigned k = 0; k < per_block; k++) {
			uint64_t bits = pattern(k);
			tomo_probe_decided(t, i, T0 + b * 6 * S + (mtime_t)k * (6 * S / per_block), &bits);
		}
}

/* Per 1000: 100 lost before the MDT; of 900, 648 reach both receivers, 72
 * only PE 1, 162 only PE 2, 18 neither: A = 0.9, beta = 0.8 and 0.9. */
static uint64_t two_receivers(unsigned k)
{
	return k < 100 ? 0 : k < 748 ? 6 : k < 820 ? 2 : k < 982 ? 4 : 0;
}

TEST(two_receivers_give_the_closed_form)
{
	static const uint8_t roles[3] = {TOMO_SENDER, TOMO_RECEIVER, TOMO_RECEIVER};
	struct tomo *t = tomo_new(3, roles, WINDOW * S, 10);
	const struct tomo_result *r;

	CHECK(t);
	feed(t, 0, 1000, two_receivers);
	r = tomo_estimate(t, T0 + WINDOW * S);
	CHECK_EQ_INT(r->blocks, 10);
	CHECK_EQ_INT(r->probes, 10000);
	CHECK_EQ_INT(r->sender[0].status, TOMO_OK);
	CHECK_EQ_INT(r->sender[0].loss_ppm, 100000); /* 1 - 0.72 * 0.81 / 0.648 */
	CHECK_EQ_INT(r->sender[0].low_ppm, 100000);  /* every block alike: no spread */
	CHECK_EQ_INT(r->sender[0].high_ppm, 100000);
	CHECK_EQ_INT(r->sender[1].status, TOMO_NONE);
	CHECK_EQ_INT(r->receiver[1].status, TOMO_UNIDENTIFIED); /* one sender into it */
	CHECK_EQ_INT(r->path[0 * 3 + 1].status, TOMO_OK);
	CHECK_EQ_INT(r->path[0 * 3 + 1].loss_ppm, 200000);
	CHECK_EQ_INT(r->path[0 * 3 + 2].loss_ppm, 100000);
	CHECK_EQ_INT(r->path[1 * 3 + 0].status, TOMO_NONE);
	tomo_free(t);
}

static uint64_t every_20th_lost_at_pe1(unsigned k)
{
	return k % 20 ? 2 : 0;
}

TEST(one_receiver_leaves_the_sender_side_unidentified)
{
	static const uint8_t roles[2] = {3, 3};
	struct tomo *t = tomo_new(2, roles, WINDOW * S, 10);
	const struct tomo_result *r;

	CHECK(t);
	feed(t, 0, 600, every_20th_lost_at_pe1);
	r = tomo_estimate(t, T0 + WINDOW * S);
	CHECK_EQ_INT(r->sender[0].status, TOMO_UNIDENTIFIED);
	CHECK_EQ_INT(r->receiver[1].status, TOMO_UNIDENTIFIED);
	CHECK_EQ_INT(r->path[0 * 2 + 1].status, TOMO_OK); /* the branch carries it all */
	CHECK_EQ_INT(r->path[0 * 2 + 1].loss_ppm, 50000);
	CHECK_EQ_INT(r->sender[1].status, TOMO_NO_DATA);  /* PE 2 sent nothing */
	CHECK_EQ_INT(r->path[1 * 2 + 0].status, TOMO_NO_DATA);
	tomo_free(t);
}

TEST(no_probes_is_no_data)
{
	static const uint8_t roles[NPE] = {3, 3, 3, 3, 3};
	struct tomo *t = tomo_new(NPE, roles, WINDOW * S, 0);
	const struct tomo_result *r;

	CHECK(t);
	r = tomo_estimate(t, T0 + WINDOW * S);
	CHECK_EQ_INT(r->blocks, 0);
	CHECK_EQ_INT(r->probes, 0);
	for (int k = 0; k < NPE; k++) {
		CHECK_EQ_INT(r->sender[k].status, TOMO_NO_DATA);
		CHECK_EQ_INT(r->receiver[k].status, TOMO_NO_DATA);
		CHECK_EQ_INT(r->path[k * NPE + (k + 1) % NPE].status, TOMO_NO_DATA);
		CHECK_EQ_INT(r->path[k * NPE + k].status, TOMO_NONE);
	}
	CHECK(!tomo_new(NPE, roles, WINDOW * S, TOMO_BLOCKS_MAX + 1));
	tomo_free(t);
}

static uint64_t nothing(unsigned k)
{
	(void)k;
	return 0;
}

static uint64_t everyone(unsigned k)
{
	(void)k;
	return ~0ull; /* the sender's own bit too: ignored */
}

TEST(all_lost_is_blamed_on_the_sender_side)
{
	static const uint8_t roles[NPE] = {3, 3, 3, 3, 3};
	struct tomo *t = tomo_new(NPE, roles, WINDOW * S, 10);
	struct seen sn = {0};
	struct faultloc f;
	struct faultloc_input in;
	const struct tomo_result *r;

	CHECK(t);
	feed(t, 0, 600, nothing);
	for (size_t i = 1; i < NPE; i++)
		feed(t, i, 600, everyone);
	r = tomo_estimate(t, T0 + WINDOW * S);
	CHECK_EQ_INT(r->sender[0].status, TOMO_ALL_LOST);
	CHECK_EQ_INT(r->sender[0].loss_ppm, 1000000);
	CHECK_EQ_INT(r->path[0 * NPE + 1].status, TOMO_ALL_LOST);
	CHECK_EQ_INT(r->sender[1].status, TOMO_OK);
	CHECK_EQ_INT(r->sender[1].loss_ppm, 0);
	CHECK_EQ_INT(r->receiver[1].status, TOMO_OK); /* three senders into it still */
	CHECK_EQ_INT(r->receiver[1].loss_ppm, 0);
	CHECK_EQ_INT(r->path[1 * NPE + 1].status, TOMO_NONE); /* no pair i -> i */
	for (int i = 0; i < NPE; i++)
		for (int j = 0; j < NPE; j++)
			if (i != j)
				sn.pairs[i * NPE + j] = (struct faultloc_pair){
					.have = {true}, .value = {i == 0 ? 1000000 : 0}};
	for (int k = 0; k < NPE; k++)
		sn.echo[k] = (struct faultloc_echo){60, 60};
	in = input_of(&sn, r);
	faultloc_init(&f);
	CHECK(faultloc_run(&f, &in, T0 + WINDOW * S));
	CHECK_EQ_INT(f.n, 1);
	CHECK_EQ_INT(f.v[0].kind, FAULT_SENDER_SIDE);
	CHECK_EQ_INT(f.v[0].pe, 0);
	CHECK_EQ_INT(f.v[0].pairs, 4);
	CHECK(!f.unreliable);
	faultloc_free(&f);
	tomo_free(t);
}

TEST(the_window_is_the_complete_blocks_before_now)
{
	static const uint8_t roles[3] = {3, 3, 3};
	struct tomo *t = tomo_new(3, roles, WINDOW * S, 10);
	const struct tomo_result *r;
	uint64_t all = ~0ull;

	CHECK(t);
	/* 70 s of one probe a second, from T0 */
	for (mtime_t s = 0; s < 70; s++)
		tomo_probe_decided(t, 0, T0 + s * S, &all);
	r = tomo_estimate(t, T0 + 70 * S + 500 * MS); /* now in the block [66 s, 72 s) */
	CHECK_EQ_INT(r->from, T0 + 6 * S);
	CHECK_EQ_INT(r->to, T0 + 66 * S);
	CHECK_EQ_INT(r->probes, 60);
	/* a probe older than every block kept is dropped, not counted */
	tomo_probe_decided(t, 0, T0, &all);
	CHECK_EQ_INT(tomo_dropped(t), 1);
	CHECK_EQ_INT(tomo_estimate(t, T0 + 70 * S)->probes, 60);
	tomo_free(t);
}

UNIT_MAIN("tomography", T(loss_on_tunnel_to_pe2_is_its_sender_side),
	  T(loss_on_tunnel_back_from_pe3_is_its_receiver_side), T(loss_on_one_path_is_that_path),
	  T(loss_on_every_tunnel_is_the_monitor_link_alone),
	  T(delay_step_on_pe2_sending_is_its_sender_side), T(two_faults_at_once_are_both_located),
	  T(coverage_over_all_scenarios), T(two_receivers_give_the_closed_form),
	  T(one_receiver_leaves_the_sender_side_unidentified), T(no_probes_is_no_data),
	  T(all_lost_is_blamed_on_the_sender_side), T(the_window_is_the_complete_blocks_before_now))
