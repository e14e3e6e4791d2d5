/*
 * A reload's apply at 1,000, 10,000 and 100,000 VPNs: what the engine thread
 * does between reading the parsed configuration and letting the model go
 * (daemon_apply_config, then the turn's alarms_run), which is how long a
 * reload holds the engines and SNMP.  The files are never_block.py's
 * (section 3): distinct default MDTs, 3 expected PEs each out of a pool of
 * 1,000, startup-grace 3600; "changed" has 10 % of the VPNs on new default
 * MDTs and 10 % gone, "back" is the first file again (10 % added, 10 % MDTs
 * changed back).  The model is idle (no capture), as in never_block.py.
 *
 * In one process, without snmpd: the parse happens before the clock starts,
 * the caches are emptied (a 64 MiB write) as an idle daemon's would be by
 * other work, and each figure is the least of ROUNDS (the wall time of the apply, which
 * on an idle thread is its CPU time; other work on the machine only ever adds
 * to it), beside the median.  never_block.py measures the same stall through
 * a running daemon and SNMP; this one is steadier, and goes to sizes a
 * daemon behind snmpd would take minutes to start with.
 *
 * -c CAPTURE: the daemon also has a capture file open (nothing is read from
 * it), so that each reload also rebuilds the capture's MDT routes and the
 * turn judges every VPN's PEs, as a replaying daemon's reload does.
 *
 *   bench_reload [-o FILE] [-r ROUNDS] [-c CAPTURE] [N ...]   default: 1000 10000 100000
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../agent/config.h"
#include "../../agent/daemon.h"
#include "../../mib/log.h"
#include "bench.h"

#define MAX_SIZES 8
#define MAX_ROUNDS 64
#define PE_POOL 1000
#define PES_PER_VPN 3

static void quiet(int priority, const char *fmt, va_list ap)
{
	(void)priority, (void)fmt, (void)ap;
}

/* never_block.py's reload_config(n, variant): 'b' moves every VPN with
 * index % 10 == 1 to a new default MDT and drops those with index % 10 == 2. */
static char *config_text(unsigned n, char variant, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);

	if (!f)
		abort();
	fprintf(f, "startup-grace = 3600\n");
	for (unsigned i = 1; i <= n; i++) {
		unsigned mdt = i;
		if (variant == 'b' && i % 10 == 2)
			continue;
		if (variant == 'b' && i % 10 == 1)
			mdt = n + i;
		fprintf(f, "vpn \"v%u\" {\n\tindex = %u\n\tdefault-mdt = \"239.%u.%u.%u\"\n"
			"\texpected-pes = {", i, i, 192 + (mdt >> 16), (mdt >> 8) & 255, mdt & 255);
		for (unsigned k = 0; k < PES_PER_VPN; k++) {
			unsigned j = (i * PES_PER_VPN + k) % PE_POOL;
			fprintf(f, "%s \"198.18.%u.%u\"", k ? "," : "", j / 250, j % 250 + 1);
		}
		fprintf(f, " }\n}\n");
	}
	fclose(f);
	return text;
}

static struct config *parse(const char *text, size_t len)
{
	struct config *c = config_load_text("bench.conf", text, len);

	if (!c) {
		fprintf(stderr, "bench_reload: the generated file does not load\n");
		exit(1);
	}
	return c;
}

/* A daemon idles between reloads, and other work takes the caches: they are
 * emptied before each apply by writing more than any of them holds. */
#define EVICT_BYTES (64u << 20)

static void evict_caches(void)
{
	static volatile unsigned char *scratch;

	if (!scratch && !(scratch = malloc(EVICT_BYTES)))
		abort();
	for (size_t i = 0; i < EVICT_BYTES; i += 64)
		scratch[i] = (unsigned char)i;
}

/* One reload's hold of the model: the apply and the end of its turn (ns). */
static uint64_t timed_apply(struct daemon *d, const char *text, size_t len)
{
	struct config *c = parse(text, len);

	evict_caches();
	uint64_t t0 = wall_now();

	daemon_apply_config(d, c);
	alarms_run(d->model, mclock_now(&d->model->clock));
	uint64_t t = wall_now() - t0;
	daemon_free_retired(d); /* after the model is let go, as the loop does */
	return t;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

enum { SAME, CHANGED, BACK, KINDS };
static const char *const kind_name[KINDS] = {
	"same file", "10 % new MDTs, 10 % gone", "first file back: 10 % added, 10 % MDTs back"};

struct result {
	unsigned n;
	uint64_t min[KINDS], median[KINDS];
};

static const char *capture_file;

static void run(unsigned n, int rounds, struct result *r)
{
	size_t len_a, len_b;
	char *a = config_text(n, 'a', &len_a), *b = config_text(n, 'b', &len_b);
	struct daemon d = {.config_path = "bench.conf", .model = model_new(capture_file != NULL),
			   .signal_fd = -1};
	uint64_t t[KINDS][MAX_ROUNDS];

	if (!d.model)
		abort();
	daemon_apply_config(&d, parse(a, len_a));
	if (capture_file && daemon_open_capture(&d, capture_file, NULL) < 0)
		exit(1);
	for (int i = 0; i < rounds; i++) {
		t[SAME][i] = timed_apply(&d, a, len_a);
		t[CHANGED][i] = timed_apply(&d, b, len_b);
		t[BACK][i] = timed_apply(&d, a, len_a);
	}
	r->n = n;
	for (int k = 0; k < KINDS; k++) {
		qsort(t[k], (size_t)rounds, sizeof(t[k][0]), cmp_u64);
		r->min[k] = t[k][0];
		r->median[k] = t[k][rounds / 2];
	}
	daemon_close_capture(&d);
	config_free(d.config);
	bgp_mdt_free(&d.mdt);
	bgp_mvpn_free(&d.mvpn);
	model_free(d.model);
	free(a);
	free(b);
}

int main(int argc, char **argv)
{
	const char *out = NULL;
	int rounds = 5, opt;
	unsigned sizes[MAX_SIZES], n_sizes = 0;
	struct result res[MAX_SIZES];

	while ((opt = getopt(argc, argv, "c:o:r:")) != -1) {
		if (opt == 'c')
			capture_file = optarg;
		else if (opt == 'o')
			out = optarg;
		else if (opt == 'r')
			rounds = atoi(optarg);
		else
			return 2;
	}
	if (rounds < 1 || rounds > MAX_ROUNDS)
		return 2;
	for (; optind < argc && n_sizes < MAX_SIZES; optind++)
		sizes[n_sizes++] = (unsigned)strtoul(argv[optind], NULL, 10);
	if (!n_sizes) {
		sizes[0] = 1000, sizes[1] = 10000, sizes[2] = 100000;
		n_sizes = 3;
	}
	mvpn_log_set_sink(quiet);
	for (unsigned s = 0; s < n_sizes; s++)
		run(sizes[s], rounds, &res[s]);

	char *text = NULL;
	size_t len;
	FILE *f = open_memstream(&text, &len);
	double load[3] = {0};
	getloadavg(load, 3);
	fprintf(f, "bench_reload (make bench-reload): a reload's hold of the model, apply + the "
		"turn's alarms_run;\nthe least of %d rounds (median in brackets), ms, and ns per VPN "
		"of the file in force after it;\ncaches emptied before each; %s; load average at the "
		"end %.1f\n\n", rounds, capture_file ? "a capture file open (routes rebuilt, PEs "
		"judged)" : "no capture (as never_block.py's daemon)", load[0]);
	fprintf(f, "%-9s  %-44s  %16s  %10s\n", "VPNs", "reload", "held ms (median)", "ns/VPN");
	for (unsigned s = 0; s < n_sizes; s++)
		for (int k = 0; k < KINDS; k++)
			fprintf(f, "%-9u  %-44s  %7.2f (%6.2f)  %10.0f\n", res[s].n, kind_name[k],
				(double)res[s].min[k] / 1e6, (double)res[s].median[k] / 1e6,
				(double)res[s].min[k] / res[s].n);
	for (unsigned s = 1; s < n_sizes; s++) {
		fprintf(f, "growth %u -> %u VPNs (x%.0f):", res[s - 1].n, res[s].n,
			(double)res[s].n / res[s - 1].n);
		for (int k = 0; k < KINDS; k++)
			fprintf(f, "%s %s x%.1f", k ? "," : "", kind_name[k],
				(double)res[s].min[k] / (double)res[s - 1].min[k]);
		fprintf(f, "\n");
	}
	fclose(f);
	fputs(text, stdout);
	if (out) {
		FILE *o = fopen(out, "w");
		if (!o || fputs(text, o) < 0 || fclose(o) != 0) {
			perror(out);
			return 1;
		}
	}
	free(text);
	return 0;
}
