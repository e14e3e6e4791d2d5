/*
 * bench_state: the state engine alone.  Join/Prune records applied per second
 * into the model (passive_jp_record, as capture/engine.c calls it for each
 * joined or pruned source), and the memory a C-group->PE row takes.
 *
 *	bench_state VPNS PES CGROUPS JOINERS [messages|shuffled] [history]
 *
 * VPNS VPNs of PES PEs (each comes up with a Hello first); in each VPN, C-group
 * c (an (S,G)) is joined by JOINERS PEs, all towards the same upstream PE: the
 * model then holds VPNS x CGROUPS x JOINERS downstream rows and VPNS x CGROUPS
 * upstream rows.  1000 100 100 10 is RFC 4834's scale (section 4.2: thousands
 * of VPNs, hundreds of PEs each, hundreds of streams per VPN).  The records
 * come as Join/Prune messages carry them (messages, the default: VPN after
 * VPN, each joiner's records together, as its periodic message lists them)
 * or in a shuffled order (fixed seed: every record lands somewhere else in
 * memory, the worst case); the model clock moves 1 us per record, and
 * nothing expires.  Four passes over the same records:
 *   create   every record a join that makes a row (and its upstream row)
 *   refresh  the same joins again: each restates its row
 *   prune    every record a prune: the rows go
 *   recreate the joins again, into the memory the prunes freed: the creates
 *            of a daemon that has run a while, where create pays for the
 *            model's growth too (on this VM a first touch of a page costs
 *            5-11 us: about half of a create's time)
 * Memory: VmRSS before and after the create pass, over the rows it made.
 *
 * The model faults its new rows' memory in ahead of need on a thread of its
 * own, as the daemon's does (model_start_reserve); BENCH_STATE_NO_RESERVE=1
 * leaves it out, so that the engine thread faults every page itself.
 *
 * Each pass is timed twice: the process's CPU time (NAME_per_s) and the
 * calling thread's (NAME_thread_per_s, CLOCK_THREAD_CPUTIME_ID).  The thread
 * is the engine's, the one that must keep up with packets, and its rate is
 * the one the goal is judged on; the process's adds what other threads did
 * for it (the slab's reserve faulting chunks in ahead of need).  NAME_thread_faults
 * is the page faults the calling thread took in the pass: each is memory the
 * reserve did not have ready (reserve_missed chunks of 16 pages, and heap
 * ranges it was not asked for in time).  The reserve's own figures: chunks
 * taken and missed, 2 MiB regions made, the timer heap's ranges it faulted in
 * (reserve_ahead_done), its thread's CPU time over the whole run and per 2 MiB
 * (reserve_us_per_region: what backing new memory costs here, the supply's
 * limit), and AnonHugePages after the create pass (huge pages in use).
 *
 * history: the model has an observer that does per change what the daemon's
 * does on the engine thread (agent/history.c's on_change, the writer's
 * hist_writer_put_change): the change written into its slot of the history
 * queue by the real hist_queue_put_change (history/queue.c), with the
 * change's wall time and a coarse clock read.  The writer thread's part is
 * left out: when the queue is full (10,000 records, the default batch) it is
 * taken whole through the consumer's own calls (hist_queue_front, _drop), as
 * a writer keeping up would, and that time is not counted (drain_s says how
 * much it was; writer_drain is a function of its own for callgrind).  The
 * queue is touched before the passes, so the memory figures stay the rows'.
 *
 * Each pass is a function of its own (create_pass, refresh_pass, prune_pass,
 * recreate_pass):
 * valgrind --tool=callgrind --toggle-collect='create_pass*' counts one alone.
 *
 * The reference, in the same process and on the same records: a plain
 * ordered store, glibc's tsearch(3) (a red-black tree), of one malloc'd
 * record per (VPN, group, source, kind, PE, role) holding the row's columns
 * (the other end, hold time, first seen, last refresh, expiry, refreshes);
 * create = tsearch, refresh = tfind + update, prune = tdelete + free.  It
 * keeps no upstream rows, no flows, no expiry order, no change log, no
 * counters: what the model adds over the least an ordered table must do.
 *
 * Every pass is checked (rows, refresh and change counters); a mismatch fails
 * the run.  Prints key=value lines.
 */
#include <search.h>
#include <sys/resource.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../mib/log.h"
#include "../../mib/model.h"
#include "../../mib/passive.h"
#include "../../history/queue.h"
#include "bench.h"
#include "bench_engine.h"

#define T0 (1767225600ull * MTIME_SEC)
#define JP_HOLD 210

struct plan {
	uint32_t vpns, pes, cgroups, joiners;
};

/* C-group c's upstream PE, and its joiners: the JOINERS PEs after it. */
static uint32_t upstream_of(const struct plan *pl, uint32_t c)
{
	return (c * 7) % pl->pes;
}

/* Record r (a packed v, c, j) as the engine would hand it to the model. */
static void make_event(const struct plan *pl, uint64_t r, bool join, struct jp_event *e)
{
	uint32_t j = (uint32_t)(r % pl->joiners), c = (uint32_t)(r / pl->joiners % pl->cgroups);
	uint32_t v = (uint32_t)(r / pl->joiners / pl->cgroups), up = upstream_of(pl, c);

	*e = (struct jp_event){.sender = bench_v4(plan_pe(v, (up + 1 + j) % pl->pes)),
			       .upstream = bench_v4(plan_pe(v, up)),
			       .holdtime = JP_HOLD,
			       .group = bench_v4(plan_cgroup(c % 254)),
			       .source = bench_v4(plan_csource(c / 254)),
			       .kind = CG_SG,
			       .join = join};
}

static uint32_t vpn_of(const struct plan *pl, uint64_t r)
{
	return (uint32_t)(r / pl->joiners / pl->cgroups);
}

/* ---- history on: the engine thread's side of the history writer ---- */

#define HIST_QUEUE 10000

struct hist_sink {
	struct hist_queue q;
	uint64_t put, batches, drain_ns, drain_thread_ns;
};

/* CPU time of the process and of the calling (engine) thread, and the page
 * faults the thread took (each one it takes is one the reserve did not). */
struct cpu {
	uint64_t proc, thread, faults;
};

static uint64_t thread_faults(void)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	return (uint64_t)ru.ru_minflt + (uint64_t)ru.ru_majflt;
}

static struct cpu cpu_both(void)
{
	return (struct cpu){cpu_now(), bench_clock(CLOCK_THREAD_CPUTIME_ID), thread_faults()};
}

static struct cpu cpu_since(struct cpu t0)
{
	struct cpu t = cpu_both();
	return (struct cpu){t.proc - t0.proc, t.thread - t0.thread, t.faults - t0.faults};
}

static uint64_t coarse_ms(void) /* as history/writer.c reads it per put */
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The writer thread's part, as if it kept up: everything queued is taken. */
static __attribute__((noinline)) void writer_drain(struct hist_sink *h)
{
	struct cpu t0 = cpu_both();
	const struct hist_record *first;
	size_t n;

	while ((n = hist_queue_front(&h->q, &first, HIST_QUEUE)))
		hist_queue_drop(&h->q, n);
	h->batches++;
	struct cpu d = cpu_since(t0);
	h->drain_ns += d.proc;
	h->drain_thread_ns += d.thread;
}

/* agent/history.c's on_change, through hist_writer_put_change's queue put. */
static void hist_on_change(void *ctx, const struct model *m, const struct change *c)
{
	struct hist_sink *h = ctx;
	uint64_t when_ns = mclock_wall_ns(&m->clock, c->when);

	while (!hist_queue_put_change(&h->q, c, when_ns, coarse_ms()))
		writer_drain(h);
	h->put++;
}

static bool hist_attach(struct model *m, struct hist_sink *h)
{
	if (hist_queue_init(&h->q, HIST_QUEUE) < 0)
		return false;
	/* resident before the passes */
	memset(h->q.slots, 0xff, HIST_QUEUE * sizeof(*h->q.slots));
	memset((void *)h->q.put_ms, 0xff, HIST_QUEUE * sizeof(*h->q.put_ms));
	m->observer = (struct model_observer){.ctx = h, .change = hist_on_change};
	return true;
}

/* ---- the model ---- */

static struct model *configured_model(const struct plan *pl, struct vpn **vpns)
{
	struct model *m = model_new(true);
	struct inet_addr *expected = calloc(pl->pes, sizeof(*expected));

	if (!m || !expected || !changelog_resize(&m->changes, 10000))
		return NULL;
	m->settings = bench_default_settings();
	mclock_advance(&m->clock, T0);
	for (uint32_t v = 0; v < pl->vpns; v++) {
		char name[32];
		struct inet_addr mdt = bench_v4(plan_mdt(v));
		for (uint32_t k = 0; k < pl->pes; k++)
			expected[k] = bench_v4(plan_pe(v, k));
		snprintf(name, sizeof(name), "bench-%u", v + 1);
		vpns[v] = vpn_get(m, v + 1);
		if (!vpns[v] || !vpn_configure(vpns[v], name, &mdt, expected, pl->pes))
			return NULL;
	}
	free(expected);
	return m;
}

/* Every PE says Hello, so upstream neighbors map to PEs. */
static struct cpu hellos(struct model *m, const struct plan *pl, struct vpn **vpns)
{
	struct cpu t0 = cpu_both();

	for (uint32_t v = 0; v < pl->vpns; v++)
		for (uint32_t k = 0; k < pl->pes; k++) {
			struct inet_addr pe = bench_v4(plan_pe(v, k));
			struct hello_event h = {.pe = pe, .caddr = pe,
						.has_holdtime = true, .holdtime = 0xffff,
						.has_genid = true, .genid = k + 1};
			passive_hello(m, vpns[v], &h);
		}
	return cpu_since(t0);
}

static struct cpu model_pass(struct model *m, const struct plan *pl, struct vpn **vpns,
			     const uint32_t *order, uint64_t n, bool join, mtime_t *clock)
{
	struct jp_event e;
	struct hist_sink *h = m->observer.ctx;
	uint64_t drained = h ? h->drain_ns : 0, drained_thread = h ? h->drain_thread_ns : 0;
	struct cpu t0 = cpu_both();

	for (uint64_t i = 0; i < n; i++) {
		/* As capture_handle_frame does before each packet. */
		mclock_advance(&m->clock, *clock += 1000);
		passive_expire(m, mclock_now(&m->clock));
		make_event(pl, order[i], join, &e);
		passive_jp_record(m, vpns[vpn_of(pl, order[i])], &e);
	}
	/* Less the writer's part (writer_drain): another thread's in the daemon. */
	struct cpu d = cpu_since(t0);
	if (h) {
		d.proc -= h->drain_ns - drained;
		d.thread -= h->drain_thread_ns - drained_thread;
	}
	return d;
}

static uint64_t model_rows(const struct model *m, uint64_t *flows)
{
	uint64_t rows = 0;

	*flows = 0;
	for (size_t i = 0; i < m->n_vpns; i++) {
		rows += m->vpns[i]->cg.n_rows;
		*flows += m->vpns[i]->cg.n_flows;
	}
	return rows;
}

/* Named apart so that a profiler can count one pass alone; each notes its name
 * (a volatile store), which also keeps the compiler from folding the create
 * and refresh passes, of identical code, into one function. */
static const char *volatile bench_phase;

static __attribute__((noinline)) struct cpu create_pass(struct model *m, const struct plan *pl,
						      struct vpn **vpns, const uint32_t *order,
						      uint64_t n, mtime_t *clock)
{
	bench_phase = "create";
	return model_pass(m, pl, vpns, order, n, true, clock);
}

static __attribute__((noinline)) struct cpu refresh_pass(struct model *m, const struct plan *pl,
						       struct vpn **vpns, const uint32_t *order,
						       uint64_t n, mtime_t *clock)
{
	bench_phase = "refresh";
	return model_pass(m, pl, vpns, order, n, true, clock);
}

static __attribute__((noinline)) struct cpu prune_pass(struct model *m, const struct plan *pl,
						     struct vpn **vpns, const uint32_t *order,
						     uint64_t n, mtime_t *clock)
{
	bench_phase = "prune";
	return model_pass(m, pl, vpns, order, n, false, clock);
}

static __attribute__((noinline)) struct cpu recreate_pass(struct model *m, const struct plan *pl,
							struct vpn **vpns, const uint32_t *order,
							uint64_t n, mtime_t *clock)
{
	bench_phase = "recreate";
	return model_pass(m, pl, vpns, order, n, true, clock);
}

/* ---- the reference: tsearch(3) ---- */

struct ref_row {
	/* the key */
	uint32_t vpn;
	struct inet_addr group, source;
	uint8_t kind, role;
	struct inet_addr pe;
	/* the columns */
	struct inet_addr other;
	uint16_t holdtime;
	mtime_t first_seen, last_refresh, expires;
	uint64_t refreshes;
};

#define REF_KEY_END offsetof(struct ref_row, other)

static int ref_cmp(const void *a, const void *b)
{
	return memcmp(a, b, REF_KEY_END);
}

static void ref_key(const struct plan *pl, uint64_t r, const struct jp_event *e, struct ref_row *k)
{
	memset(k, 0, sizeof(*k));
	k->vpn = vpn_of(pl, r);
	k->group = e->group;
	k->source = e->source;
	k->kind = e->kind;
	k->role = CG_DOWNSTREAM;
	k->pe = e->sender;
}

static struct cpu ref_pass(void **root, const struct plan *pl, const uint32_t *order, uint64_t n,
			   int pass, mtime_t *clock, uint64_t *bad)
{
	struct jp_event e;
	struct ref_row key;
	struct cpu t0 = cpu_both();

	for (uint64_t i = 0; i < n; i++) {
		mtime_t now = *clock += 1000;
		make_event(pl, order[i], pass != 2, &e);
		ref_key(pl, order[i], &e, &key);
		if (pass == 0) {
			struct ref_row *row = malloc(sizeof(*row));
			*row = key;
			row->other = e.upstream;
			row->holdtime = e.holdtime;
			row->first_seen = row->last_refresh = now;
			row->expires = now + (mtime_t)e.holdtime * MTIME_SEC;
			struct ref_row **at = tsearch(row, root, ref_cmp);
			if (!at || *at != row)
				(*bad)++, free(row);
		} else if (pass == 1) {
			struct ref_row **at = tfind(&key, root, ref_cmp);
			if (!at) {
				(*bad)++;
				continue;
			}
			(*at)->last_refresh = now;
			(*at)->expires = now + (mtime_t)e.holdtime * MTIME_SEC;
			(*at)->refreshes++;
		} else {
			struct ref_row **at = tfind(&key, root, ref_cmp);
			struct ref_row *row = at ? *at : NULL;
			if (!row || !tdelete(&key, root, ref_cmp))
				(*bad)++;
			free(row);
		}
	}
	return cpu_since(t0);
}

/* ---- the run ---- */

static int check(const char *what, unsigned long long got, unsigned long long want)
{
	if (got == want)
		return 0;
	fprintf(stderr, "bench_state: %s is %llu, should be %llu\n", what, got, want);
	return 1;
}

static void rate(const char *name, uint64_t n, struct cpu t)
{
	printf("%s_s=%.6f\n%s_per_s=%.0f\n", name, t.proc / 1e9, name, n / (t.proc / 1e9));
	printf("%s_thread_s=%.6f\n%s_thread_per_s=%.0f\n", name, t.thread / 1e9, name,
	       n / (t.thread / 1e9));
	printf("%s_thread_faults=%llu\n", name, (unsigned long long)t.faults);
}

/* A field of /proc/self/smaps_rollup, in kB (AnonHugePages: the huge pages mapped). */
static long rollup_kb(const char *field)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "r");
	char line[256];
	size_t n = strlen(field);
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, n) == 0 && line[n] == ':') {
			kb = strtol(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

int main(int argc, char **argv)
{
	bool history = argc == 7 && strcmp(argv[6], "history") == 0;
	bool shuffled = argc >= 6 && strcmp(argv[5], "shuffled") == 0;
	if (argc != 5 && !((argc == 6 || history) && (shuffled || strcmp(argv[5], "messages") == 0))) {
		fprintf(stderr,
			"usage: bench_state VPNS PES CGROUPS JOINERS [messages|shuffled] [history]\n");
		return 2;
	}
	struct plan pl = {(uint32_t)arg_num(argv[1], "VPNS"), (uint32_t)arg_num(argv[2], "PES"),
			  (uint32_t)arg_num(argv[3], "CGROUPS"), (uint32_t)arg_num(argv[4], "JOINERS")};
	if (!pl.vpns || pl.pes < 2 || pl.pes > PLAN_PE_POOL || !pl.cgroups ||
	    pl.cgroups > 254 * 254 || !pl.joiners || pl.joiners >= pl.pes) {
		fprintf(stderr, "bench_state: need 0 < JOINERS < PES <= %u, 0 < CGROUPS <= 64516\n",
			PLAN_PE_POOL);
		return 2;
	}
	mvpn_log_set_sink(bench_quiet);
	uint64_t n = (uint64_t)pl.vpns * pl.cgroups * pl.joiners, flows;
	uint32_t *order = malloc(n * sizeof(*order));
	struct vpn **vpns = calloc(pl.vpns, sizeof(*vpns));
	if (!order || !vpns || n > UINT32_MAX) {
		fprintf(stderr, "bench_state: too big\n");
		return 1;
	}
	if (shuffled) {
		uint64_t rng = 4834;
		for (uint64_t i = 0; i < n; i++)
			order[i] = (uint32_t)i;
		for (uint64_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
			rng = rng * 6364136223846793005ull + 1442695040888963407ull;
			uint64_t j = (rng >> 33) % (i + 1);
			uint32_t t = order[i];
			order[i] = order[j], order[j] = t;
		}
	} else {
		/* As Join/Prune messages carry them: VPN by VPN, each joiner's records
		 * together (its periodic message lists all it has joined). */
		uint64_t i = 0;
		for (uint64_t v = 0; v < pl.vpns; v++)
			for (uint64_t j = 0; j < pl.joiners; j++)
				for (uint64_t c = 0; c < pl.cgroups; c++)
					order[i++] = (uint32_t)((v * pl.cgroups + c) * pl.joiners + j);
	}
	long rss_start = status_kb("VmRSS");
	struct model *m = configured_model(&pl, vpns);
	if (!m) {
		fprintf(stderr, "bench_state: out of memory\n");
		return 1;
	}
	const char *no_reserve = getenv("BENCH_STATE_NO_RESERVE");
	bool reserve = !(no_reserve && *no_reserve == '1');
	if (reserve && !model_start_reserve(m)) {
		fprintf(stderr, "bench_state: no reserve thread\n");
		return 1;
	}
	struct hist_sink sink = {0};
	if (history && !hist_attach(m, &sink)) {
		fprintf(stderr, "bench_state: out of memory\n");
		return 1;
	}
	struct cpu hello_t = hellos(m, &pl, vpns);
	uint64_t changes0 = m->g.changes, refreshes0 = m->g.refreshes;
	mtime_t clock = T0;
	int bad = 0;

	/* ours: create, memory, refresh */
	long rss0 = status_kb("VmRSS");
	struct cpu create_ns = create_pass(m, &pl, vpns, order, n, &clock);
	long rss1 = status_kb("VmRSS"), huge1 = rollup_kb("AnonHugePages");
	uint64_t rows = model_rows(m, &flows);
	bad |= check("rows after create", rows, n + (uint64_t)pl.vpns * pl.cgroups);
	bad |= check("changes after create", m->g.changes - changes0, n);
	bad |= check("limit drops", m->g.limit_drops, 0);
	struct cpu refresh_ns = refresh_pass(m, &pl, vpns, order, n, &clock);
	bad |= check("refreshes", m->g.refreshes - refreshes0, n);
	bad |= check("rows after refresh", model_rows(m, &flows), rows);

	/* the reference: create, memory, refresh */
	void *root = NULL;
	uint64_t ref_bad = 0;
	mtime_t ref_clock = T0;
	long rss2 = status_kb("VmRSS");
	struct cpu ref_create_ns = ref_pass(&root, &pl, order, n, 0, &ref_clock, &ref_bad);
	long rss3 = status_kb("VmRSS");
	struct cpu ref_refresh_ns = ref_pass(&root, &pl, order, n, 1, &ref_clock, &ref_bad);

	/* prunes, both */
	struct cpu prune_ns = prune_pass(m, &pl, vpns, order, n, &clock);
	bad |= check("rows after prune", model_rows(m, &flows), 0);
	bad |= check("flows after prune", flows, 0);
	struct cpu ref_prune_ns = ref_pass(&root, &pl, order, n, 2, &ref_clock, &ref_bad);
	bad |= check("reference misses", ref_bad, 0);
	bad |= check("reference rows left", root != NULL, 0);

	/* creates again, both, into what the prunes freed */
	struct cpu recreate_ns = recreate_pass(m, &pl, vpns, order, n, &clock);
	bad |= check("rows after re-create", model_rows(m, &flows), rows);
	struct cpu ref_recreate_ns = ref_pass(&root, &pl, order, n, 0, &ref_clock, &ref_bad);
	bad |= check("reference misses on re-create", ref_bad, 0);
	tdestroy(root, free);

	if (history)
		bad |= check("history records", sink.put, m->g.changes - changes0 + pl.vpns * pl.pes);
	bad |= check("changes after re-create", m->g.changes - changes0, 3 * n);
	printf("history=%d\nhistory_records=%llu\n", history, (unsigned long long)sink.put);
	printf("drain_s=%.6f\n", sink.drain_ns / 1e9);
	printf("goal_judged_on=thread\n");
	struct slab_reserve_stats rs = slab_reserve_stats(m->reserve);
	printf("reserve=%d\nreserve_taken=%llu\nreserve_missed=%llu\n", reserve,
	       (unsigned long long)rs.taken, (unsigned long long)rs.missed);
	printf("reserve_ahead_done=%llu\nreserve_ahead_dropped=%llu\n",
	       (unsigned long long)rs.ahead_done, (unsigned long long)rs.ahead_dropped);
	/* What the reserve's thread spends per 2 MiB it makes ready (huge pages
	 * faulted in, and the heap's ranges): its supply with a core of its own. */
	printf("reserve_regions=%llu\nreserve_cpu_s=%.6f\nreserve_us_per_region=%.1f\n",
	       (unsigned long long)rs.regions, rs.cpu_ns / 1e9,
	       rs.regions ? rs.cpu_ns / 1e3 / (double)(rs.regions + rs.ahead_done) : 0.0);
	printf("anon_huge_kb_after_create=%ld\n", huge1);
	printf("records=%llu\nrows=%llu\ndown_rows=%llu\nup_rows=%llu\nflows=%llu\npes=%llu\n",
	       (unsigned long long)n, (unsigned long long)rows, (unsigned long long)n,
	       (unsigned long long)(rows - n), (unsigned long long)pl.vpns * pl.cgroups,
	       (unsigned long long)pl.vpns * pl.pes);
	rate("hello", (uint64_t)pl.vpns * pl.pes, hello_t);
	rate("create", n, create_ns);
	rate("refresh", n, refresh_ns);
	rate("prune", n, prune_ns);
	rate("recreate", n, recreate_ns);
	rate("ref_create", n, ref_create_ns);
	rate("ref_refresh", n, ref_refresh_ns);
	rate("ref_prune", n, ref_prune_ns);
	rate("ref_recreate", n, ref_recreate_ns);
	printf("rss_start_kb=%ld\nrss_before_kb=%ld\nrss_after_kb=%ld\nrss_peak_kb=%ld\n", rss_start,
	       rss0, rss1, status_kb("VmHWM"));
	printf("model_kb=%ld\n", rss1 - rss_start);
	printf("bytes_per_row=%.1f\n", (rss1 - rss0) * 1024.0 / (double)rows);
	printf("bytes_per_record=%.1f\n", (rss1 - rss0) * 1024.0 / (double)n);
	printf("ref_bytes_per_record=%.1f\n", (rss3 - rss2) * 1024.0 / (double)n);
	printf("sizeof_cgpe=%zu\nsizeof_flow=%zu\nsizeof_ref_row=%zu\n", sizeof(struct cgpe),
	       sizeof(struct flow), sizeof(struct ref_row));
	m->observer = (struct model_observer){0};
	model_free(m);
	if (history)
		hist_queue_free(&sink.q);
	free(order);
	free(vpns);
	return bad;
}
