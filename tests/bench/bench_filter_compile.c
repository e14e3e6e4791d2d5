/*
 * What compiling the live capture's per-group filter costs: capture_configure
 * does it on every reload of a live capture, on the engine thread, holding the
 * model.  No interface needed (pcap_open_dead, Ethernet).
 *
 *   bench_filter_compile [N ...]      (default: 10 100 300 1000)
 *
 * For each N groups (never_block.py's plan: 239.192.x.y), libpcap's
 * pcap_compile of capture_filter_text, unoptimized and optimized: wall
 * seconds and the program's length (the kernel takes at most 4,096).
 */
#include <stdio.h>
#include <stdlib.h>

#include <pcap/pcap.h>

#include "../../capture/engine.h"
#include "bench.h"

static void one(pcap_t *p, const char *text, unsigned n, int optimize)
{
	struct bpf_program prog;
	uint64_t t0 = wall_now();
	int rc = pcap_compile(p, &prog, text, optimize, PCAP_NETMASK_UNKNOWN);
	double s = (double)(wall_now() - t0) / 1e9;

	printf("%8u %9s %10.3f %10u%s\n", n, optimize ? "yes" : "no", s, rc == 0 ? prog.bf_len : 0,
	       rc == 0 ? "" : " (refused)");
	fflush(stdout);
	if (rc == 0)
		pcap_freecode(&prog);
}

int main(int argc, char **argv)
{
	static const char *const fallback[] = {"10", "100", "300", "1000"};
	const char *const *sizes = argc > 1 ? (const char *const *)argv + 1 : fallback;
	int n_sizes = argc > 1 ? argc - 1 : 4;
	pcap_t *p = pcap_open_dead(DLT_EN10MB, 65535);

	printf("%8s %9s %10s %10s\n", "groups", "optimize", "seconds", "insns");
	for (int k = 0; k < n_sizes; k++) {
		unsigned n = (unsigned)strtoul(sizes[k], NULL, 10);
		struct capture c = {.dlt = DLT_EN10MB, .n_routes = n};
		c.routes = calloc(n ? n : 1, sizeof(*c.routes));
		for (unsigned i = 0; i < n; i++) {
			unsigned v = i + 1;
			struct inet_addr *g = &c.routes[i].group;
			g->type = INET_IPV4;
			g->bytes[0] = 239;
			g->bytes[1] = (uint8_t)(192 + (v >> 16));
			g->bytes[2] = (uint8_t)(v >> 8);
			g->bytes[3] = (uint8_t)v;
		}
		char *text = capture_filter_text(&c);
		if (!text)
			return 1;
		one(p, text, n, 0);
		one(p, text, n, 1);
		free(text);
		free(c.routes);
	}
	pcap_close(p);
	return 0;
}
