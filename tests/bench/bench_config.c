/*
 * config_load() at RFC 4834 sizes: 1,000, 10,000 and 100,000 VPNs (each with
 * four expected PEs, every tenth with its own thresholds, every hundredth
 * probed), the way mvpnmond loads a file at start-up and at each reload.
 *
 * Each load runs in a process of its own, so its peak RSS (wait4's
 * ru_maxrss) is the load's and nothing else's.  The reference, measured in
 * the same run on the same file, is the floor of any loader: reading the file
 * and finding its lines (fread + memchr).  Times are CPU time (user + system)
 * of the loading process, as the engine benchmarks take theirs, so other work
 * on the machine moves them little.  Reported, not asserted: the time,
 * the ratio to the reference, the growth of the time per VPN for 10x the
 * VPNs (1.00 is linear), and the peak RSS.
 *
 *   bench_config [-o FILE] [-r ROUNDS] [N ...]      default: 1000 10000 100000
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../agent/config.h"
#include "bench.h"

#define MAX_SIZES 8

/* The address plan of testing.md: default MDTs in 239.192.0.0/14, PEs in 198.18.0.0/15. */
static void write_vpn(FILE *f, unsigned i)
{
	fprintf(f, "vpn \"customer-%06u\" {  # provisioned by the bench\n", i);
	fprintf(f, "  index = %u\n", i);
	fprintf(f, "  default-mdt = \"239.%u.%u.%u\"\n", 192 + (i >> 16), (i >> 8) & 255, i & 255);
	fprintf(f, "  expected-pes = {");
	for (unsigned k = 0; k < 4; k++) {
		unsigned pe = (i * 4 + k) % 60000 + 1;
		fprintf(f, "%s \"198.18.%u.%u\"", k ? "," : "", pe >> 8, pe & 255);
	}
	fprintf(f, " }\n");
	if (i % 10 == 0)
		fprintf(f, "  thresholds { loss-rising = 5  loss-falling = 1 }\n");
	if (i % 100 == 0)
		fprintf(f, "  probe { rate = 10  window = 60 }\n");
	fprintf(f, "}\n");
}

static size_t write_config(const char *path, unsigned n)
{
	FILE *f = fopen(path, "w");
	long size;

	if (!f) {
		perror(path);
		exit(1);
	}
	fprintf(f, "/* %u VPNs */\nstartup-grace = 105\nprobe-interface = \"eth1\"\n"
		   "probe-local-address = \"198.19.255.1\"\n"
		   "thresholds { delay-rising = 50  delay-falling = 30 }\n", n);
	for (unsigned i = 1; i <= n; i++)
		write_vpn(f, i);
	size = ftell(f);
	fclose(f);
	return (size_t)size;
}

/* The reference: read the file whole and count its lines. */
static size_t read_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	size_t lines = 0, len;
	char *buf;

	if (!f)
		return 0;
	fseek(f, 0, SEEK_END);
	len = (size_t)ftell(f);
	rewind(f);
	buf = malloc(len + 1);
	if (buf && fread(buf, 1, len, f) == len)
		for (const char *p = buf; (p = memchr(p, '\n', len - (size_t)(p - buf))); p++)
			lines++;
	free(buf);
	fclose(f);
	return lines;
}

struct run {
	double seconds;
	long maxrss_kb;
};

/* One load (or the reference) in a child; the child checks what it loaded. */
static struct run run_child(const char *path, unsigned n, bool reference)
{
	struct run r = {0, 0};
	struct rusage ru;
	int fd[2], status;
	pid_t pid;

	if (pipe(fd) < 0 || (pid = fork()) < 0) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		uint64_t t0 = cpu_now();
		bool ok;
		if (reference) {
			ok = read_lines(path) > n;
		} else {
			struct config *c = config_load(path);
			ok = c && c->n_vpns == n;
			config_free(c);
		}
		double s = (double)(cpu_now() - t0) / 1e9;
		ssize_t w = write(fd[1], &s, sizeof(s));
		_exit(ok && w == (ssize_t)sizeof(s) ? 0 : 1);
	}
	close(fd[1]);
	if (read(fd[0], &r.seconds, sizeof(r.seconds)) != (ssize_t)sizeof(r.seconds))
		r.seconds = -1;
	close(fd[0]);
	if (wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "bench_config: the load of %u VPNs failed\n", n);
		exit(1);
	}
	r.maxrss_kb = ru.ru_maxrss;
	return r;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

struct result {
	unsigned n;
	size_t bytes;
	double load, ref; /* medians, seconds */
	long rss_kb, ref_rss_kb;
};

static struct result measure(unsigned n, int rounds)
{
	char path[] = "/tmp/mvpnmon-bench-config-XXXXXX";
	int fd = mkstemp(path);
	double load[16], ref[16];
	struct result res = {.n = n};

	if (fd < 0) {
		perror("mkstemp");
		exit(1);
	}
	close(fd);
	res.bytes = write_config(path, n);
	for (int i = 0; i < rounds; i++) { /* interleaved: the load of the machine hits both */
		struct run l = run_child(path, n, false), r = run_child(path, n, true);
		load[i] = l.seconds;
		ref[i] = r.seconds;
		res.rss_kb = l.maxrss_kb > res.rss_kb ? l.maxrss_kb : res.rss_kb;
		res.ref_rss_kb = r.maxrss_kb > res.ref_rss_kb ? r.maxrss_kb : res.ref_rss_kb;
	}
	unlink(path);
	qsort(load, (size_t)rounds, sizeof(double), cmp_double);
	qsort(ref, (size_t)rounds, sizeof(double), cmp_double);
	res.load = load[rounds / 2];
	res.ref = ref[rounds / 2];
	return res;
}

static void report(FILE *out, const struct result *r, size_t n, int rounds)
{
	fprintf(out, "# config_load() at RFC 4834 sizes (tests/bench/bench_config.c)\n\n"
		     "Each VPN: index, default MDT, 4 expected PEs; every 10th its own thresholds, every "
		     "100th probed.\nCPU time, median of %d loads, each in a fresh process; peak RSS is that "
		     "process's (ru_maxrss).\nReference, same file, same run: reading it whole and "
		     "counting its lines.\n\n"
		     "| VPNs | file | load | per VPN | reference | ratio | peak RSS | reference RSS |\n"
		     "|---:|---:|---:|---:|---:|---:|---:|---:|\n", rounds);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "| %u | %.2f MB | %.4f s | %.2f us | %.4f s | %.1fx | %.1f MB | %.1f MB |\n",
			r[i].n, r[i].bytes / 1e6, r[i].load, r[i].load / r[i].n * 1e6, r[i].ref,
			r[i].load / r[i].ref, r[i].rss_kb / 1024.0, r[i].ref_rss_kb / 1024.0);
	fprintf(out, "\nGrowth of the time per VPN for 10x the VPNs (1.00 is linear):");
	for (size_t i = 1; i < n; i++)
		fprintf(out, " %u -> %u: x%.2f (reference x%.2f);", r[i - 1].n, r[i].n,
			(r[i].load / r[i].n) / (r[i - 1].load / r[i - 1].n),
			(r[i].ref / r[i].n) / (r[i - 1].ref / r[i - 1].n));
	fprintf(out, "\n");
}

int main(int argc, char **argv)
{
	unsigned sizes[MAX_SIZES] = {1000, 10000, 100000};
	size_t n_sizes = 3;
	int rounds = 5, opt;
	const char *out_path = NULL;
	struct result res[MAX_SIZES];

	while ((opt = getopt(argc, argv, "o:r:")) != -1) {
		if (opt == 'o')
			out_path = optarg;
		else if (opt == 'r' && atoi(optarg) >= 1 && atoi(optarg) <= 15)
			rounds = atoi(optarg);
		else
			return fprintf(stderr, "usage: %s [-o FILE] [-r 1..15] [N ...]\n", argv[0]), 2;
	}
	if (optind < argc)
		n_sizes = 0;
	for (int i = optind; i < argc && n_sizes < MAX_SIZES; i++)
		sizes[n_sizes++] = (unsigned)strtoul(argv[i], NULL, 10);
	for (size_t i = 0; i < n_sizes; i++)
		res[i] = measure(sizes[i], rounds);
	report(stdout, res, n_sizes, rounds);
	if (out_path) {
		FILE *f = fopen(out_path, "w");
		if (!f)
			return perror(out_path), 1;
		report(f, res, n_sizes, rounds);
		fclose(f);
	}
	return 0;
}
