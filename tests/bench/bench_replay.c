/*
 * bench_replay: the passive engine reading a capture file, as `mvpnmond -r`
 * does, without the agent around it; and the ceiling, libpcap alone.
 *
 *	bench_replay engine FILE VPNS PES [FILTER_PREFIX]
 *	bench_replay libpcap FILE FILTER_FILE
 *
 * engine: a model configured as the daemon configures it from gen_capture's
 *   OUT.conf (VPNS VPNs of PES expected PEs, the configuration's default caps
 *   and change-log size), then capture_open_file and capture_read in batches
 *   of 4,096 packets until the file ends: agent/loop.c's replay loop.  Then
 *   every counter and the table sizes are checked against FILE.expect (what
 *   the generator says the model must hold); a mismatch fails the run.
 *   FILTER_PREFIX.replay receives, as text, the BPF filter the engine installs
 *   for a file (GRE only: capture/engine.c), FILTER_PREFIX.live the one it
 *   installs live (GRE to the configured groups, else any GRE, cut short).
 * libpcap: the same file through a filter, opened as the engine opens it (a
 *   1 MiB stdio buffer), each packet handed to a callback that only adds up
 *   its length: what reading the file costs.
 *
 * Prints key=value lines: packets, wall_s, cpu_s, pps (by wall time).
 */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../capture/engine.h"
#include "../../mib/log.h"
#include "../../mib/model.h"
#include "bench.h"
#include "bench_engine.h"

#define REPLAY_BATCH 4096 /* agent/loop.c's */
#define FILE_BUFFER_BYTES (1 << 20) /* capture/engine.c's */

/* The configuration's defaults (agent/config.c), applied as daemon.c does. */
static struct model *configured_model(uint32_t vpns, uint32_t pes)
{
	struct model *m = model_new(true);
	struct inet_addr *expected = calloc(pes, sizeof(*expected));

	if (!m || !expected || !changelog_resize(&m->changes, 10000))
		return NULL;
	m->settings = bench_default_settings();
	for (uint32_t v = 0; v < vpns; v++) {
		char name[32], text[16];
		struct inet_addr mdt;
		for (uint32_t k = 0; k < pes; k++) {
			plan_text(plan_pe(v, k), text);
			inet_addr_parse(&expected[k], text);
		}
		plan_text(plan_mdt(v), text);
		inet_addr_parse(&mdt, text);
		snprintf(name, sizeof(name), "bench-%u", v + 1);
		struct vpn *vp = vpn_get(m, v + 1);
		if (!vp || !vpn_configure(vp, name, &mdt, expected, pes))
			return NULL;
	}
	free(expected);
	return m;
}

static unsigned long long expect_value(const char *path, const char *key)
{
	FILE *f = fopen(path, "r");
	char line[128];
	size_t n = strlen(key);

	if (!f) {
		perror(path);
		exit(1);
	}
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, n) == 0 && line[n] == '=') {
			fclose(f);
			return strtoull(line + n + 1, NULL, 10);
		}
	fprintf(stderr, "%s: no %s\n", path, key);
	exit(1);
}

static int check(const char *what, unsigned long long got, unsigned long long want)
{
	if (got == want)
		return 0;
	fprintf(stderr, "bench_replay: %s is %llu, the generator says %llu\n", what, got, want);
	return 1;
}

static int verify(const struct model *m, const char *file)
{
	char path[4096];
	unsigned long long rows = 0, alive = 0;
	int bad = 0;

	snprintf(path, sizeof(path), "%s.expect", file);
	for (size_t i = 0; i < m->n_vpns; i++) {
		rows += m->vpns[i]->cg.n_rows;
		for (size_t k = 0; k < m->vpns[i]->pes.n; k++)
			alive += m->vpns[i]->pes.v[k]->alive;
	}
	bad |= check("packets seen", m->g.packets_seen, expect_value(path, "packets"));
	bad |= check("data discarded", m->g.data_discarded, expect_value(path, "data"));
	bad |= check("control", m->g.control, expect_value(path, "control"));
	bad |= check("malformed", m->g.malformed, 0);
	bad |= check("unknown MDT", m->g.unknown_mdt, 0);
	bad |= check("limit drops", m->g.limit_drops, 0);
	bad |= check("PEs alive", alive, expect_value(path, "pes_up"));
	bad |= check("C-group->PE rows", rows, expect_value(path, "rows"));
	bad |= check("changes", m->g.changes, expect_value(path, "changes"));
	bad |= check("refreshes", m->g.refreshes, expect_value(path, "refreshes"));
	return bad;
}

static int write_text(const char *prefix, const char *suffix, const char *text)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s.%s", prefix, suffix);
	if (!text || !(f = fopen(path, "w")))
		return 1;
	fprintf(f, "%s\n", text);
	return fclose(f) == 0 ? 0 : 1;
}

static int write_filters(const struct capture *c, const char *prefix)
{
	/* What the engine's program falls through to for GRE to no configured
	 * group: such packets are kept, cut short. */
	char *any = capture_any_gre_text(c->dlt), *groups = capture_filter_text(c);
	size_t size = (groups ? strlen(groups) : 0) + (any ? strlen(any) : 0) + 16;
	char *live = malloc(size);
	int bad = 0;

	if (!any || !groups || !live) {
		free(any);
		free(groups);
		free(live);
		return 1;
	}
	/* Live, the program runs the groups' filter, else any GRE (cut to 96 bytes). */
	snprintf(live, size, "(%s) or (%s)", groups, any);
	bad |= write_text(prefix, "replay", any);
	bad |= write_text(prefix, "live", live);
	free(any);
	free(groups);
	free(live);
	return bad;
}

static void report(uint64_t packets, uint64_t wall, uint64_t cpu)
{
	printf("packets=%llu\nwall_s=%.6f\ncpu_s=%.6f\npps=%.0f\n", (unsigned long long)packets,
	       wall / 1e9, cpu / 1e9, packets / (wall / 1e9));
}

static int run_engine(const char *file, uint32_t vpns, uint32_t pes, const char *filter_prefix)
{
	struct capture c;
	struct model *m = configured_model(vpns, pes);

	if (!m) {
		fprintf(stderr, "bench_replay: out of memory\n");
		return 1;
	}
	uint64_t w0 = wall_now(), c0 = cpu_now();
	if (capture_open_file(&c, m, file) < 0) {
		fprintf(stderr, "bench_replay: %s\n", c.error);
		return 1;
	}
	int n;
	while ((n = capture_read(&c, REPLAY_BATCH)) > 0)
		;
	uint64_t wall = wall_now() - w0, cpu = cpu_now() - c0;
	if (n < 0) {
		fprintf(stderr, "bench_replay: %s\n", c.error);
		return 1;
	}
	report(c.packets_read, wall, cpu);
	int bad = verify(m, file) | (filter_prefix ? write_filters(&c, filter_prefix) : 0);
	capture_close(&c);
	model_free(m);
	return bad;
}

static int run_libpcap(const char *file, const char *filter_file)
{
	char errbuf[PCAP_ERRBUF_SIZE], *text = NULL;
	size_t size = 0;
	FILE *f = fopen(filter_file, "r");
	struct bpf_program prog;
	uint64_t sum[2] = {0, 0};

	if (!f || getdelim(&text, &size, '\0', f) < 0) {
		perror(filter_file);
		return 1;
	}
	fclose(f);
	uint64_t w0 = wall_now(), c0 = cpu_now();
	FILE *in = fopen(file, "rb");
	char *buf = malloc(FILE_BUFFER_BYTES);
	if (!in || !buf) {
		perror(file);
		return 1;
	}
	setvbuf(in, buf, _IOFBF, FILE_BUFFER_BYTES);
	pcap_t *p = pcap_fopen_offline_with_tstamp_precision(in, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (!p || pcap_compile(p, &prog, text, 1, PCAP_NETMASK_UNKNOWN) < 0 ||
	    pcap_setfilter(p, &prog) < 0) {
		fprintf(stderr, "bench_replay: %s\n", p ? pcap_geterr(p) : errbuf);
		return 1;
	}
	int n;
	while ((n = pcap_dispatch(p, REPLAY_BATCH, bench_count_frame, (u_char *)sum)) > 0)
		;
	uint64_t wall = wall_now() - w0, cpu = cpu_now() - c0;
	if (n < 0) {
		fprintf(stderr, "bench_replay: %s\n", pcap_geterr(p));
		return 1;
	}
	report(sum[0], wall, cpu);
	printf("bytes=%llu\n", (unsigned long long)sum[1]);
	pcap_freecode(&prog);
	pcap_close(p);
	free(buf);
	free(text);
	return 0;
}

int main(int argc, char **argv)
{
	mvpn_log_set_sink(bench_quiet);
	if ((argc == 5 || argc == 6) && strcmp(argv[1], "engine") == 0)
		return run_engine(argv[2], (uint32_t)arg_num(argv[3], "VPNS"),
				  (uint32_t)arg_num(argv[4], "PES"), argc == 6 ? argv[5] : NULL);
	if (argc == 4 && strcmp(argv[1], "libpcap") == 0)
		return run_libpcap(argv[2], argv[3]);
	fprintf(stderr, "usage: bench_replay engine FILE VPNS PES [FILTER_PREFIX]\n"
			"       bench_replay libpcap FILE FILTER_FILE\n");
	return 2;
}
