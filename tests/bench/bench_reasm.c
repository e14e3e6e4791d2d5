/*
 * bench_reasm: what outer reassembly costs the passive engine.  The same
 * Join/Prune (150 groups, 3,014 bytes of PIM: 3,058 bytes of outer IPv4
 * datagram) handled whole, and cut into three fragments at a 1,500-byte MTU,
 * by capture_handle_frame on one configured VPN; after the first round every
 * record is a refresh, the steady state.  The reference is the whole message,
 * measured in the same run.
 *
 *	bench_reasm DATAGRAMS
 *
 * Prints key=value lines: datagrams, whole_cpu_s, fragmented_cpu_s, ratio
 * (fragmented / whole, per datagram), and the engine's counters, which the
 * caller checks (every datagram reassembled, no fragment dropped).
 */
#include <pcap/dlt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../capture/engine.h"
#include "../../mib/log.h"
#include "../../mib/model.h"
#include "bench.h"
#include "bench_engine.h"

#define GROUPS 150
#define MTU_DATA 1480 /* a 1,500-byte MTU less the outer header */
#define DGRAM_MAX 3200

/* PIM Join/Prune (RFC 7761 4.9.5): upstream PE 2's C-address, GROUPS groups,
 * one (S,G) join each; checksummed.  Returns its length. */
static size_t put_join_prune(uint8_t *p)
{
	uint8_t *s = p;

	p = put16(p, 0x2300), p = put16(p, 0);                /* v2, type 3; checksum */
	*p++ = 1, *p++ = 0, p = put32(p, plan_pe(0, 1));       /* Encoded-Unicast upstream */
	*p++ = 0, *p++ = GROUPS, p = put16(p, 210);           /* reserved, groups, hold time */
	for (uint32_t g = 0; g < GROUPS; g++) {
		*p++ = 1, *p++ = 0, *p++ = 0, *p++ = 32, p = put32(p, plan_cgroup(g));
		p = put16(p, 1), p = put16(p, 0);             /* one join, no prune */
		*p++ = 1, *p++ = 0, *p++ = 4, *p++ = 32, p = put32(p, plan_csource(0));
	}
	put16(s + 2, fold16(sum16(0, s, (size_t)(p - s))));
	return (size_t)(p - s);
}

/* Outer IPv4 from PE 1 to VPN 1's MDT, GRE, inner IPv4 to ALL-PIM-ROUTERS. */
static size_t put_datagram(uint8_t *p, uint16_t id)
{
	uint8_t pim[DGRAM_MAX];
	size_t n = put_join_prune(pim);
	uint8_t *q = put_ipv4(p, (uint16_t)(20 + 4 + 20 + n), id, 64, 47, plan_pe(0, 0),
			      plan_mdt(0));

	q = put16(q, 0), q = put16(q, 0x0800);
	q = put_ipv4(q, (uint16_t)(20 + n), 0, 1, 103, plan_pe(0, 0), PLAN_ALL_PIM);
	memcpy(q, pim, n);
	return (size_t)(q + n - p);
}

/* Fragment k of a datagram (its header copied, MF and offset set). */
static size_t put_fragment(uint8_t *out, const uint8_t *d, size_t len, size_t off, bool *last)
{
	size_t data = len - 20 - off > MTU_DATA ? MTU_DATA : len - 20 - off;

	*last = off + data == len - 20;
	memcpy(out, d, 20);
	memcpy(out + 20, d + 20 + off, data);
	put16(out + 2, (uint16_t)(20 + data));
	put16(out + 6, (uint16_t)((*last ? 0 : 0x2000) | off / 8));
	put16(out + 10, 0);
	put16(out + 10, fold16(sum16(0, out, 20)));
	return 20 + data;
}

static struct model *one_vpn(void)
{
	struct model *m = model_new(true);
	struct inet_addr mdt = bench_v4(plan_mdt(0));
	struct inet_addr pes[2] = {bench_v4(plan_pe(0, 0)), bench_v4(plan_pe(0, 1))};
	struct vpn *v = m ? vpn_get(m, 1) : NULL;

	if (!v || !vpn_configure(v, "bench-1", &mdt, pes, 2))
		return NULL;
	m->settings = bench_default_settings();
	return m;
}

/* CPU ns to hand n datagrams to the engine, whole or in fragments. */
static uint64_t run(struct capture *c, unsigned long long n, bool fragmented)
{
	static uint8_t d[DGRAM_MAX], f[DGRAM_MAX];
	mtime_t t = 1767225600ull * MTIME_SEC;
	uint64_t start = cpu_now();

	for (unsigned long long i = 0; i < n; i++, t += MTIME_SEC / 1000) {
		size_t len = put_datagram(d, (uint16_t)i);
		bool last = !fragmented;
		if (!fragmented)
			capture_handle_frame(c, d, len, t);
		for (size_t off = 0; !last; off += MTU_DATA)
			capture_handle_frame(c, f, put_fragment(f, d, len, off, &last), t);
	}
	return cpu_now() - start;
}

int main(int argc, char **argv)
{
	unsigned long long n = argc > 1 ? arg_num(argv[1], "DATAGRAMS") : 100000;
	struct capture c;
	struct model *m = one_vpn();

	mvpn_log_set_sink(bench_quiet);
	if (!m)
		return 1;
	memset(&c, 0, sizeof(c));
	c.model = m;
	c.dlt = DLT_RAW;
	c.offline = true;
	if (capture_configure(&c) < 0)
		return 1;
	run(&c, 1000, false); /* the rows exist: what follows are refreshes */
	uint64_t whole = run(&c, n, false), frag = run(&c, n, true);
	printf("datagrams=%llu\nwhole_cpu_s=%.6f\nfragmented_cpu_s=%.6f\nratio=%.3f\n", n,
	       whole / 1e9, frag / 1e9, (double)frag / (double)whole);
	printf("reassembled=%llu\nfragment_drops=%llu\nrefreshes=%llu\nmalformed=%llu\n",
	       (unsigned long long)m->g.frag_reassembled,
	       (unsigned long long)(m->g.frag_cap_drops + m->g.frag_bad + m->g.frag_timeouts),
	       (unsigned long long)m->g.refreshes, (unsigned long long)m->g.malformed);
	capture_close(&c);
	model_free(m);
	return 0;
}
