/*
 * What an expiry costs as the number of VPNs grows: Join/Prune records driven
 * into the model as a replay feeds them (the clock to the packet's time, what
 * is due expires, the record applies), each record a new C-group->PE row with
 * the given hold time, then every row left expires.
 *
 *	bench_expiry VPNS RECORDS HOLD_SECONDS
 *
 * Record r goes to VPN r mod VPNS (so consecutive deadlines belong to
 * different VPNs, as they do when many VPNs are busy), from one of 8 PEs,
 * joining a C-group of its own towards the VPN's first PE; records are 50 us
 * apart on the model clock.  With a 1 s hold time each passive_expire call
 * after the first second finds a row due; with 210 s none is due until the
 * end, when all expire in one pass.
 *
 * Timed (CLOCK_MONOTONIC around every passive_expire call, the calls that find
 * nothing due included): expire_s, and per_expiry_ns = expire_s / expiries
 * (one expiry per record: its downstream row; the upstream row and the flow
 * go with it).  total_cpu_s is the CPU time of the whole drive, records and
 * expiries.  The run fails if any row is left or any record was dropped.
 * Only model verbs older than the heap are used, so the same program measures
 * the model before it.  Prints key=value lines.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../../mib/log.h"
#include "../../mib/model.h"
#include "../../mib/passive.h"
#include "bench.h"
#include "bench_engine.h"

#define T0 (1767225600ull * MTIME_SEC)
#define STEP_NS 50000ull
#define PES 8

static struct model *configured_model(uint32_t vpns, struct vpn **out)
{
	struct model *m = model_new(true);

	if (!m || !changelog_resize(&m->changes, 10000))
		return NULL;
	m->settings = bench_default_settings();
	mclock_advance(&m->clock, T0);
	for (uint32_t v = 0; v < vpns; v++) {
		char name[32];
		struct inet_addr mdt = bench_v4(plan_mdt(v));
		snprintf(name, sizeof(name), "bench-%u", v + 1);
		out[v] = vpn_get(m, v + 1);
		if (!out[v] || !vpn_configure(out[v], name, &mdt, NULL, 0))
			return NULL;
	}
	return m;
}

static void make_event(uint64_t r, uint32_t vpns, uint16_t hold, struct jp_event *e)
{
	uint32_t v = (uint32_t)(r % vpns), c = (uint32_t)(r / vpns);

	*e = (struct jp_event){.sender = bench_v4(plan_pe(v, 1 + c % (PES - 1))),
			       .upstream = bench_v4(plan_pe(v, 0)),
			       .holdtime = hold,
			       .group = bench_v4(plan_cgroup(c % 254)),
			       .source = bench_v4(plan_csource(c / 254)),
			       .kind = CG_SG,
			       .join = true};
}

/* passive_expire at now, its wall time added to *spent. */
static void timed_expire(struct model *m, mtime_t now, uint64_t *spent)
{
	uint64_t t0 = wall_now();

	passive_expire(m, now);
	*spent += wall_now() - t0;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: bench_expiry VPNS RECORDS HOLD_SECONDS\n");
		return 2;
	}
	uint32_t vpns = (uint32_t)arg_num(argv[1], "VPNS");
	uint64_t n = arg_num(argv[2], "RECORDS");
	uint16_t hold = (uint16_t)arg_num(argv[3], "HOLD_SECONDS");
	if (!vpns || !hold || n / vpns > 254 * 254) {
		fprintf(stderr, "bench_expiry: need VPNS > 0, HOLD > 0, RECORDS / VPNS <= 64516\n");
		return 2;
	}
	mvpn_log_set_sink(bench_quiet);
	struct vpn **v = calloc(vpns, sizeof(*v));
	struct model *m = v ? configured_model(vpns, v) : NULL;
	if (!m) {
		fprintf(stderr, "bench_expiry: out of memory\n");
		return 1;
	}
	uint64_t spent = 0, cpu0 = cpu_now();
	mtime_t now = T0;
	struct jp_event e;

	for (uint64_t r = 0; r < n; r++) {
		mclock_advance(&m->clock, now += STEP_NS);
		timed_expire(m, mclock_now(&m->clock), &spent);
		make_event(r, vpns, hold, &e);
		passive_jp_record(m, v[r % vpns], &e);
	}
	mclock_advance(&m->clock, now += (mtime_t)hold * MTIME_SEC);
	timed_expire(m, mclock_now(&m->clock), &spent);
	uint64_t cpu = cpu_now() - cpu0, rows = 0;
	for (uint32_t i = 0; i < vpns; i++)
		rows += v[i]->cg.n_rows;
	if (rows || m->g.limit_drops || m->g.changes != n) {
		fprintf(stderr, "bench_expiry: %llu rows left, %llu dropped, %llu changes of %llu\n",
			(unsigned long long)rows, (unsigned long long)m->g.limit_drops,
			(unsigned long long)m->g.changes, (unsigned long long)n);
		return 1;
	}
	printf("vpns=%u\nrecords=%llu\nhold_s=%u\nexpiries=%llu\n", vpns, (unsigned long long)n,
	       hold, (unsigned long long)n);
	printf("expire_s=%.6f\nper_expiry_ns=%.1f\ntotal_cpu_s=%.6f\n", spent / 1e9,
	       (double)spent / (double)n, cpu / 1e9);
	model_free(m);
	free(v);
	return 0;
}
