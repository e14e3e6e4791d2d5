/*
 * bench_probe: the probe engine's receive path on one core, fed from a
 * capture of returning probes (gen_capture probe), so no emulator's cost is
 * in the figure; and the ceiling, libpcap alone reading the same file.
 *
 *	bench_probe engine FILE VPNS PES RATE
 *	bench_probe libpcap FILE
 *
 * engine: the model configured as probe/engine.c's prober_configure leaves it
 *   (VPNS VPNs, each probing a full mesh of its PES PEs at RATE probes a
 *   second per sender, 64-byte probes, a 10 s window, the default 2 s loss
 *   timeout; one tunnel per PE), then the file through on_frame below, a copy
 *   of probe/engine.c's on_frame (which is static there, as are its tunnel and
 *   VPN lists): tunnel_rx_parse, the tunnel by its remote end and the VPN by
 *   its index (linear scans, as there), probing_rx; and probing_tick every
 *   100 ms of capture time, as prober_run calls it.  What is timed: reading,
 *   parsing, accounting and ticks.  What is not: the sender side
 *   (probing_tx, once per probe sent, for all of its copies), done in
 *   batches 100 ms ahead of the capture's clock and timed apart.  Every frame
 *   must come out a new, in-window reception (PROBE_RX_OK), or the run fails.
 * libpcap: the same file read with a callback that only adds up lengths.
 * Both open the file as capture/engine.c does (a 1 MiB stdio buffer).
 *
 * Prints key=value lines: frames, cpu_s, wall_s, per_s (by CPU time).
 */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../mib/log.h"
#include "../../mib/model.h"
#include "../../probe/wire.h"
#include "bench.h"
#include "bench_engine.h"
#include "probe_plan.h"

#define FILE_BUFFER_BYTES (1 << 20) /* capture/engine.c's */
#define TICK_NS (MTIME_SEC / 10)    /* probe/engine.c's TICK_INTERVAL */
#define SEND_AHEAD_NS (MTIME_SEC / 10)
#define WINDOW_S 10

struct btunnel {
	struct inet_addr pe, remote;
};

struct bvpn {
	uint32_t vpn_index;
	struct inet_addr group;
	uint16_t port;
	struct vpn *v;
	size_t *pos; /* PE k's position in the vpn_probe */
};

struct bench {
	struct probe_plan plan;
	struct model *m;
	int dlt;
	struct btunnel *tunnels;
	size_t n_tunnels;
	struct bvpn *vpns;
	size_t n_vpns;
	uint64_t next_slot; /* the next probe to send, in gen_capture's slot order */
	mtime_t next_send;  /* when it leaves */
	mtime_t next_tick;
	uint64_t tx_cpu_ns, sent, frames, malformed, other, bad_seq;
};

static int setup(struct bench *b)
{
	const struct probe_plan *pp = &b->plan;
	struct probing *pr;
	mtime_t now = PROBE_PLAN_T0_NS;
	struct inet_addr monitor = bench_v4(PLAN_MONITOR);

	b->m = model_new(true);
	if (!b->m || !changelog_resize(&b->m->changes, 10000))
		return -1;
	mclock_advance(&b->m->clock, now);
	pr = &b->m->probing;
	pr->timing = (struct probe_timing){.loss_timeout = 2 * MTIME_SEC,
					   .unreachable_time = 10 * MTIME_SEC};
	b->n_vpns = pp->vpns;
	b->n_tunnels = (size_t)pp->vpns * pp->pes;
	b->vpns = calloc(b->n_vpns, sizeof(*b->vpns));
	b->tunnels = calloc(b->n_tunnels, sizeof(*b->tunnels));
	struct inet_addr *pes = calloc(pp->pes, sizeof(*pes));
	if (!b->vpns || !b->tunnels || !pes)
		return -1;
	probing_tunnels_begin(pr);
	for (uint32_t v = 0; v < pp->vpns; v++) {
		struct bvpn *bv = &b->vpns[v];
		char name[32];
		for (uint32_t k = 0; k < pp->pes; k++) {
			pes[k] = bench_v4(probe_plan_pe(v, k));
			b->tunnels[(size_t)v * pp->pes + k] = (struct btunnel){pes[k], pes[k]};
			if (!probing_tunnel_want(pr, &pes[k], &monitor, &pes[k], 60 * MTIME_SEC, now))
				return -1;
		}
		struct probe_settings s = {.rate = pp->rate, .size = PROBE_PLAN_SIZE,
					   .window = WINDOW_S, .port = PROBE_PLAN_PORT,
					   .igmp_version = 3, .senders = pes, .receivers = pes,
					   .n_senders = pp->pes, .n_receivers = pp->pes};
		bv->vpn_index = v + 1;
		bv->group = bench_v4(plan_mdt(v));
		bv->port = PROBE_PLAN_PORT;
		snprintf(name, sizeof(name), "probe-%u", v + 1);
		bv->v = vpn_get(b->m, v + 1);
		bv->pos = calloc(pp->pes, sizeof(*bv->pos));
		if (!bv->v || !bv->pos || !vpn_configure(bv->v, name, &bv->group, pes, pp->pes) ||
		    !vpn_probe_configure(b->m, bv->v, &s, now))
			return -1;
		for (uint32_t k = 0; k < pp->pes; k++)
			bv->pos[k] = (size_t)vpn_probe_pe_index(bv->v->probing, &pes[k]);
	}
	probing_tunnels_end(pr);
	free(pes);
	b->next_tick = now + TICK_NS;
	return 0;
}

/* The sender side, ahead of the capture's clock: every probe that leaves by
 * until, in gen_capture's order, told to the model as probe/engine.c's
 * send_probe does. */
static void send_until(struct bench *b, mtime_t until)
{
	const struct probe_plan *pp = &b->plan;
	uint64_t per_round = (uint64_t)pp->vpns * pp->pes, t0 = cpu_now();

	for (;; b->next_slot++) {
		uint64_t seq = b->next_slot / per_round + 1;
		uint32_t who = (uint32_t)(b->next_slot % per_round);
		uint32_t v = who / pp->pes, k = who % pp->pes;
		mtime_t at = probe_send_ns(pp, v, k, seq);
		if (at > until) {
			b->next_send = at;
			break;
		}
		struct bvpn *bv = &b->vpns[v];
		uint64_t got = probing_tx(&b->m->probing, bv->v->probing, bv->pos[k], at, (int64_t)at);
		b->bad_seq += got != seq;
		b->sent++;
	}
	b->tx_cpu_ns += cpu_now() - t0;
}

/* ---- probe/engine.c's receive path, as it is there ---- */

static struct btunnel *ptunnel_by_remote(struct bench *b, const struct inet_addr *remote)
{
	for (size_t i = 0; i < b->n_tunnels; i++)
		if (inet_addr_eq(&b->tunnels[i].remote, remote))
			return &b->tunnels[i];
	return NULL;
}

static struct bvpn *pvpn_find(struct bench *b, uint32_t index)
{
	for (size_t i = 0; i < b->n_vpns; i++)
		if (b->vpns[i].vpn_index == index)
			return &b->vpns[i];
	return NULL;
}

static void on_probe(struct bench *b, struct btunnel *t, const struct tunnel_rx *rx, int64_t rx_ns,
		     mtime_t now)
{
	struct bvpn *v = pvpn_find(b, rx->probe.vpn_index);
	struct probing *pr = &b->m->probing;

	if (!v || !inet_addr_eq(&rx->inner_dst, &v->group) || rx->udp_dport != v->port) {
		pr->rx_result[PROBE_RX_UNKNOWN_VPN]++;
		return;
	}
	probing_rx(pr, b->m, v->vpn_index, &rx->probe.sender, rx->probe.seq, &t->pe, rx_ns, now);
}

static void on_frame(u_char *arg, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct bench *b = (struct bench *)arg;
	struct probing *pr = &b->m->probing;
	int64_t rx_ns = (int64_t)h->ts.tv_sec * 1000000000 + h->ts.tv_usec; /* nano precision */
	struct tunnel_rx rx;
	enum probe_error perr = PROBE_OK;
	struct btunnel *t;

	if ((mtime_t)rx_ns >= b->next_send)
		send_until(b, (mtime_t)rx_ns + SEND_AHEAD_NS); /* not timed as ours */
	/* Offline, the capture's clock is the model's; live it is the monotonic clock. */
	mclock_advance(&b->m->clock, (mtime_t)rx_ns);
	mtime_t now = mclock_now(&b->m->clock);
	if (now >= b->next_tick) {
		probing_tick(pr, b->m, now);
		b->next_tick = now + TICK_NS;
	}
	b->frames++;
	if (tunnel_rx_parse(b->dlt, bytes, h->caplen, 0, &rx, &perr) != PARSE_OK || perr != PROBE_OK) {
		pr->rx_malformed++;
		return;
	}
	t = ptunnel_by_remote(b, &rx.outer_src);
	if (!t) {
		pr->rx_other++;
		return;
	}
	if (rx.kind == TUNNEL_RX_PROBE)
		on_probe(b, t, &rx, rx_ns, now);
	else
		pr->rx_other++;
}

/* ---- the runs ---- */

static pcap_t *open_file(const char *file, char **buf)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	FILE *f = fopen(file, "rb");

	*buf = malloc(FILE_BUFFER_BYTES);
	if (!f || !*buf) {
		perror(file);
		return NULL;
	}
	setvbuf(f, *buf, _IOFBF, FILE_BUFFER_BYTES);
	pcap_t *p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (!p)
		fprintf(stderr, "bench_probe: %s: %s\n", file, errbuf);
	return p;
}

static int check(const char *what, unsigned long long got, unsigned long long want)
{
	if (got == want)
		return 0;
	fprintf(stderr, "bench_probe: %s is %llu, should be %llu\n", what, got, want);
	return 1;
}

static int run_engine(const char *file, const struct probe_plan *pp)
{
	struct bench b = {.plan = *pp};
	char *buf;
	int bad = 0;

	mvpn_log_set_sink(bench_quiet);
	if (setup(&b) < 0) {
		fprintf(stderr, "bench_probe: out of memory\n");
		return 1;
	}
	uint64_t w0 = wall_now(), c0 = cpu_now();
	pcap_t *p = open_file(file, &buf);
	if (!p)
		return 1;
	b.dlt = pcap_datalink(p);
	/* In batches of 256, as prober_read takes them. */
	int n;
	while ((n = pcap_dispatch(p, 256, on_frame, (u_char *)&b)) > 0)
		;
	uint64_t wall = wall_now() - w0, cpu = cpu_now() - c0;
	if (n < 0) {
		fprintf(stderr, "bench_probe: %s\n", pcap_geterr(p));
		return 1;
	}
	const struct probing *pr = &b.m->probing;
	uint64_t received = 0;
	for (size_t v = 0; v < b.n_vpns; v++) {
		const struct vpn_probe *vp = b.vpns[v].v->probing;
		for (size_t i = 0; i < vp->n * vp->n; i++)
			received += vp->pairs[i] ? vp->pairs[i]->received : 0;
	}
	bad |= check("receptions ok", pr->rx_result[PROBE_RX_OK], b.frames);
	bad |= check("pairs' received", received, b.frames);
	bad |= check("malformed", pr->rx_malformed, 0);
	bad |= check("other", pr->rx_other, 0);
	bad |= check("sequence mismatches", b.bad_seq, 0);
	cpu -= b.tx_cpu_ns;
	printf("frames=%llu\nsent=%llu\npairs=%llu\ntunnels=%zu\ncpu_s=%.6f\nwall_s=%.6f\n"
	       "tx_cpu_s=%.6f\nper_s=%.0f\n",
	       (unsigned long long)b.frames, (unsigned long long)b.sent,
	       (unsigned long long)pp->vpns * pp->pes * (pp->pes - 1), b.n_tunnels, cpu / 1e9,
	       wall / 1e9, b.tx_cpu_ns / 1e9, b.frames / (cpu / 1e9));
	pcap_close(p);
	free(buf);
	model_free(b.m);
	for (size_t v = 0; v < b.n_vpns; v++)
		free(b.vpns[v].pos);
	free(b.vpns);
	free(b.tunnels);
	return bad;
}

static int run_libpcap(const char *file)
{
	uint64_t sum[2] = {0, 0};
	char *buf;
	uint64_t w0 = wall_now(), c0 = cpu_now();
	pcap_t *p = open_file(file, &buf);
	int n;

	if (!p)
		return 1;
	while ((n = pcap_dispatch(p, 256, bench_count_frame, (u_char *)sum)) > 0)
		;
	uint64_t wall = wall_now() - w0, cpu = cpu_now() - c0;
	printf("frames=%llu\nbytes=%llu\ncpu_s=%.6f\nwall_s=%.6f\nper_s=%.0f\n",
	       (unsigned long long)sum[0], (unsigned long long)sum[1], cpu / 1e9, wall / 1e9,
	       sum[0] / (cpu / 1e9));
	pcap_close(p);
	free(buf);
	return n < 0;
}

int main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "engine") == 0) {
		struct probe_plan pp = {.vpns = (uint32_t)arg_num(argv[3], "VPNS"),
					.pes = (uint32_t)arg_num(argv[4], "PES"),
					.rate = (uint32_t)arg_num(argv[5], "RATE")};
		if (probe_plan_valid(&pp))
			return run_engine(argv[2], &pp);
	}
	if (argc == 3 && strcmp(argv[1], "libpcap") == 0)
		return run_libpcap(argv[2]);
	fprintf(stderr, "usage: bench_probe engine FILE VPNS PES RATE\n"
			"       bench_probe libpcap FILE\n");
	return 2;
}
