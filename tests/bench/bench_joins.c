/*
 * What a reload's membership changes cost, alone: capture/joins.c on a real
 * interface (a veth in a network namespace of its own), against what
 * capture_configure did before, closing every membership socket and joining
 * every group again.  Root (or CAP_NET_ADMIN in the namespace).
 *
 *   bench_joins -i IFACE [-n 1000,10000,100000]
 *
 * For each size n: VPN i's group is 239.(192 + i/65536).(i/256 % 256).(i % 256),
 * as never_block.py has it; file "b" gives every VPN with i % 10 == 1 a new
 * group and drops those with i % 10 == 2.  Timed (wall, ms): the first join;
 * a sync to the same groups; to "b"; back to the first; then the old way
 * (every socket closed, every group joined again), and the old way's leave
 * alone (the close of every socket).
 */
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../../capture/joins.h"
#include "../../mib/log.h"
#include "bench.h"

static struct inet_addr group_of(unsigned v)
{
	struct inet_addr g = {.type = INET_IPV4};

	g.bytes[0] = 239;
	g.bytes[1] = (uint8_t)(192 + (v >> 16));
	g.bytes[2] = (uint8_t)(v >> 8);
	g.bytes[3] = (uint8_t)v;
	return g;
}

static size_t file_groups(struct inet_addr *out, unsigned n, bool b)
{
	size_t k = 0;

	for (unsigned i = 1; i <= n; i++) {
		if (b && i % 10 == 2)
			continue;
		out[k++] = group_of(b && i % 10 == 1 ? n + i : i);
	}
	return k;
}

static double sync_ms(struct joins *j, unsigned ifx, const char *ifname,
		      const struct inet_addr *g, size_t n)
{
	uint64_t t0 = wall_now();

	joins_sync(j, ifx, ifname, g, n, sizeof(*g));
	return (double)(wall_now() - t0) / 1e6;
}

static void quiet(int priority, const char *fmt, va_list ap)
{
	if (priority <= LOG_WARNING)
		vfprintf(stderr, fmt, ap), fputc('\n', stderr);
}

int main(int argc, char **argv)
{
	const char *ifname = NULL, *sizes = "1000,10000,100000";
	int opt;

	while ((opt = getopt(argc, argv, "i:n:")) != -1) {
		if (opt == 'i')
			ifname = optarg;
		else if (opt == 'n')
			sizes = optarg;
	}
	unsigned ifx = ifname ? if_nametoindex(ifname) : 0;
	if (!ifx) {
		fprintf(stderr, "usage: bench_joins -i IFACE [-n 1000,10000]\n");
		return 2;
	}
	mvpn_log_set_sink(quiet);
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	printf("# bench_joins on %s; RLIMIT_NOFILE soft %llu hard %llu at start\n", ifname,
	       (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
	printf("%8s %10s %10s %10s %10s %12s %12s %8s\n", "VPNs", "first", "same", "10%chg",
	       "back", "old:reload", "old:leave", "sockets");
	for (char *s = strdup(sizes), *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
		unsigned n = (unsigned)strtoul(tok, NULL, 10);
		struct inet_addr *a = calloc(n, sizeof(*a)), *b = calloc(n, sizeof(*b));
		size_t na = file_groups(a, n, false), nb = file_groups(b, n, true);
		struct joins j = {0};
		double first = sync_ms(&j, ifx, ifname, a, na);
		double same = sync_ms(&j, ifx, ifname, a, na);
		double chg = sync_ms(&j, ifx, ifname, b, nb);
		double back = sync_ms(&j, ifx, ifname, a, na);
		size_t socks = j.stats.sockets, held = j.stats.held;
		/* The old way: every socket closed (every group left), every group joined. */
		uint64_t t0 = wall_now();
		joins_clear(&j);
		double leave = (double)(wall_now() - t0) / 1e6;
		double old = leave + sync_ms(&j, ifx, ifname, a, na);
		printf("%8u %10.1f %10.1f %10.1f %10.1f %12.1f %12.1f %8zu%s\n", n, first, same, chg,
		       back, old, leave, socks, held == na ? "" : " (not all held)");
		fflush(stdout);
		joins_clear(&j);
		free(a);
		free(b);
	}
	return 0;
}
