/*
 * gen_capture: writes the benchmark captures fast (millions of packets a
 * second), encoding every byte itself from the RFCs and probe/wire.h's layout:
 * it shares no code with the engines it feeds.
 *
 *	gen_capture passive OUT.pcap OUT.conf PACKETS [VPNS PES CGROUPS]
 *	gen_capture probe OUT.pcap FRAMES VPNS PES RATE
 *
 * passive: default-MDT traffic as the monitor sees it (defaults 1,000 VPNs, 8
 *   PEs each, 10 C-groups each).  Every 20th packet is C-PIM control (5 %), the
 *   rest customer data GRE-encapsulated to the default MDTs: Ethernet, IPv4,
 *   GRE, IPv4, UDP, 100 bytes a frame.  Control, VPN after VPN: each PE's
 *   Hello (hold time 105 s, DR priority 1, a Generation ID), then Join/Prunes:
 *   PE k joins (S,G) (192.0.2.g+1, 233.252.0.g+1), hold time 210 s, towards PE
 *   k+1, cycling through the C-groups; so after the first round everything is
 *   a refresh.  100,000 packets a second of capture time: no timer expires.
 *   Writes OUT.conf (one vpn section per VPN, its PEs expected) and
 *   OUT.pcap.expect: what the model must hold after the replay (key=value).
 *
 * probe: probes coming back through the PEs' GRE tunnels, as the monitor reads
 *   them (tests/fixtures/gen_probe_fixtures.py shows one).  VPNS VPNs of PES
 *   PEs, every PE both sender and receiver (a full mesh), RATE probes a second
 *   per sender (UDP port 5010, 64-byte payload), each returned by every other
 *   PE 1 ms (plus a few us per receiver) after it left; in order of arrival,
 *   FRAMES frames.  PE k of VPN v is 198.19.v.(k+1); the monitor 198.18.255.254.
 *   The send schedule is probe_send_ns() below, which the bench shares.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "probe_plan.h"

#define T0_NS (1767225600ull * 1000000000u) /* 2026-01-01T00:00:00Z */
#define PASSIVE_SPACING_NS 10000u           /* 100,000 packets a second */
#define CONTROL_EVERY 20                    /* 5 % */
#define DATA_FRAME 100
#define HELLO_HOLD 105
#define JP_HOLD 210
#define IPPROTO_GRE_ 47
#define IPPROTO_PIM_ 103
#define IPPROTO_UDP_ 17

struct passive_plan {
	uint32_t vpns, pes, cgroups;
};

/* Ethernet + outer IPv4 (PE -> MDT) + GRE (no options, IPv4); returns where
 * the inner packet goes. */
static uint8_t *put_tunnel(uint8_t *p, uint16_t inner_len, uint16_t id, uint32_t pe, uint32_t dst)
{
	p = put_ether(p);
	p = put_ipv4(p, (uint16_t)(20 + 4 + inner_len), id, 64, IPPROTO_GRE_, pe, dst);
	p = put16(p, 0);
	return put16(p, 0x0800);
}

/* RFC 7761 4.9.2: Hold Time, DR Priority, Generation ID. */
static size_t put_hello(uint8_t *pim, uint32_t genid)
{
	uint8_t *p = pim;

	p = put16(p, 0x2000); /* version 2, type 0 */
	p = put16(p, 0);
	p = put16(put16(put16(p, 1), 2), HELLO_HOLD);   /* Hold Time */
	p = put32(put16(put16(p, 19), 4), 1);           /* DR Priority */
	p = put32(put16(put16(p, 20), 4), genid);       /* Generation ID */
	put16(pim + 2, fold16(sum16(0, pim, (size_t)(p - pim))));
	return (size_t)(p - pim);
}

/* RFC 7761 4.9.5: one group, one joined (S,G) source, no prune. */
static size_t put_join(uint8_t *pim, uint32_t upstream, uint32_t group, uint32_t source)
{
	uint8_t *p = pim;

	p = put16(p, 0x2300); /* version 2, type 3 */
	p = put16(p, 0);
	*p++ = 1, *p++ = 0;   /* Encoded-Unicast: IPv4, native */
	p = put32(p, upstream);
	*p++ = 0, *p++ = 1;   /* reserved, one group */
	p = put16(p, JP_HOLD);
	*p++ = 1, *p++ = 0, *p++ = 0, *p++ = 32; /* Encoded-Group: IPv4, native, no flags, /32 */
	p = put32(p, group);
	p = put16(p, 1);      /* joined sources */
	p = put16(p, 0);      /* pruned sources */
	*p++ = 1, *p++ = 0, *p++ = 0x04, *p++ = 32; /* Encoded-Source: S bit, not W, not R */
	p = put32(p, source);
	put16(pim + 2, fold16(sum16(0, pim, (size_t)(p - pim))));
	return (size_t)(p - pim);
}

static uint32_t genid_of(uint32_t v, uint32_t k)
{
	return 0x9e3779b9u * (v * 4099u + k + 1);
}

static void write_conf(FILE *f, const struct passive_plan *pl)
{
	char a[16];

	fprintf(f, "# gen_capture passive: %u VPNs of %u PEs\n", pl->vpns, pl->pes);
	for (uint32_t v = 0; v < pl->vpns; v++) {
		plan_text(plan_mdt(v), a);
		fprintf(f, "vpn \"bench-%u\" {\n  index = %u\n  default-mdt = \"%s\"\n  expected-pes = {",
			v + 1, v + 1, a);
		for (uint32_t k = 0; k < pl->pes; k++) {
			plan_text(plan_pe(v, k), a);
			fprintf(f, "%s\"%s\"", k ? ", " : " ", a);
		}
		fprintf(f, " }\n}\n");
	}
}

static int gen_passive(const char *out, const char *conf, uint64_t packets,
		       const struct passive_plan *pl)
{
	struct pcap_out w;
	uint8_t pkt[256];
	uint64_t rng = 6037, data = 0, hellos = 0, joins = 0, rows = 0;
	size_t cells = (size_t)pl->vpns * pl->pes * pl->cgroups;
	uint8_t *joined = calloc(cells ? cells : 1, 1); /* (v, k, g) joined yet? */
	uint32_t *next_g = calloc((size_t)pl->vpns * pl->pes, sizeof(*next_g));
	FILE *cf = fopen(conf, "w");

	if (!joined || !next_g || !cf || !pcap_out_open(&w, out)) {
		fprintf(stderr, "gen_capture: %s: %s\n", out, strerror(errno));
		return 1;
	}
	write_conf(cf, pl);
	if (fclose(cf) != 0)
		return 1;
	for (uint64_t n = 0; n < packets; n++) {
		uint64_t ts = T0_NS + n * PASSIVE_SPACING_NS;
		uint16_t id = (uint16_t)n;
		uint8_t *inner;
		size_t len;

		if (n % CONTROL_EVERY == 0) {
			uint64_t c = n / CONTROL_EVERY;
			uint32_t v = (uint32_t)(c % pl->vpns);
			uint64_t step = c / pl->vpns;
			uint32_t k = (uint32_t)(step % pl->pes);
			uint32_t pe = plan_pe(v, k);
			uint8_t pim[64];
			size_t pim_len;

			if ((step / pl->pes) % 2 == 0) {
				pim_len = put_hello(pim, genid_of(v, k));
				hellos++;
			} else {
				uint32_t *g = &next_g[(size_t)v * pl->pes + k];
				size_t cell = ((size_t)v * pl->pes + k) * pl->cgroups + *g;
				pim_len = put_join(pim, plan_pe(v, (k + 1) % pl->pes), plan_cgroup(*g),
						   plan_csource(*g));
				rows += !joined[cell];
				joined[cell] = 1;
				*g = (*g + 1) % pl->cgroups;
				joins++;
			}
			inner = put_tunnel(pkt, (uint16_t)(20 + pim_len), id, pe, plan_mdt(v));
			inner = put_ipv4(inner, (uint16_t)(20 + pim_len), id, 1, IPPROTO_PIM_, pe,
					 PLAN_ALL_PIM);
			memcpy(inner, pim, pim_len);
			len = (size_t)(inner + pim_len - pkt);
		} else {
			rng = rng * 6364136223846793005ull + 1442695040888963407ull;
			uint32_t r = (uint32_t)(rng >> 33);
			uint32_t v = r % pl->vpns, k = (r >> 10) % pl->pes, g = r >> 20;
			uint16_t inner_len = DATA_FRAME - 14 - 20 - 4;
			uint32_t src = plan_csource(g), grp = plan_cgroup(g);

			inner = put_tunnel(pkt, inner_len, id, plan_pe(v, k), plan_mdt(v));
			inner = put_ipv4(inner, inner_len, id, 15, IPPROTO_UDP_, src, grp);
			inner = put16(put16(inner, 40000), 5001);
			inner = put16(put16(inner, (uint16_t)(inner_len - 20)), 0); /* no checksum */
			memset(inner, 0xa5, DATA_FRAME - (size_t)(inner - pkt));
			len = DATA_FRAME;
			data++;
		}
		pcap_out_write(&w, ts, pkt, (uint32_t)len);
	}
	if (!pcap_out_close(&w)) {
		fprintf(stderr, "gen_capture: %s: write failed\n", out);
		return 1;
	}
	/* What the replay must leave: a PE comes up at its first Hello (a change),
	 * a row at its first join (a change); everything after restates. */
	/* Hellos are the control steps 0..P-1, 2P..3P-1, ... of each VPN: PE k's first
	 * Hello is control packet c = k * VPNS + v. */
	uint64_t pes_up = 0;
	uint64_t controls = (packets + CONTROL_EVERY - 1) / CONTROL_EVERY;
	for (uint32_t v = 0; v < pl->vpns; v++)
		for (uint32_t k = 0; k < pl->pes; k++)
			pes_up += (uint64_t)k * pl->vpns + v < controls;
	char path[4096];
	snprintf(path, sizeof(path), "%s.expect", out);
	FILE *e = fopen(path, "w");
	if (!e)
		return 1;
	fprintf(e, "packets=%llu\ndata=%llu\ncontrol=%llu\nhellos=%llu\njoins=%llu\npes_up=%llu\n"
		   "down_rows=%llu\nrows=%llu\nchanges=%llu\nrefreshes=%llu\n",
		(unsigned long long)packets, (unsigned long long)data,
		(unsigned long long)(hellos + joins), (unsigned long long)hellos,
		(unsigned long long)joins, (unsigned long long)pes_up, (unsigned long long)rows,
		(unsigned long long)(2 * rows), (unsigned long long)(pes_up + rows),
		(unsigned long long)(hellos + joins - pes_up - rows));
	free(joined);
	free(next_g);
	return fclose(e) == 0 ? 0 : 1;
}

/* ---- returning probes ---- */

static size_t put_probe_frame(uint8_t *pkt, const struct probe_plan *pp, uint32_t v, uint32_t k,
			      uint32_t j, uint64_t seq)
{
	uint16_t payload = PROBE_PLAN_SIZE, udp_len = (uint16_t)(8 + payload);
	uint16_t inner_len = (uint16_t)(20 + udp_len), id = (uint16_t)seq;
	uint32_t group = plan_mdt(v), sender = probe_plan_pe(v, k);
	uint8_t *inner = put_tunnel(pkt, inner_len, id, probe_plan_pe(v, j), PLAN_MONITOR);
	uint8_t *udp = put_ipv4(inner, inner_len, id, 63, IPPROTO_UDP_, PLAN_MONITOR, group);
	uint8_t *p = put16(put16(udp, PROBE_PLAN_PORT), PROBE_PLAN_PORT);

	p = put16(put16(p, udp_len), 0);
	p = put32(p, 0x4d565062); /* "MVPb" */
	*p++ = 1;                 /* version */
	*p++ = 1;                 /* IPv4 sender */
	p = put16(p, 0);
	p = put32(p, v + 1);
	p = put64(p, seq);
	p = put64(p, probe_send_ns(pp, v, k, seq));
	p = put32(p, sender);
	memset(p, 0, (size_t)(udp + udp_len - p));
	/* RFC 768: pseudo-header (src, dst, proto, length) + the datagram. */
	uint8_t pseudo[12];
	put32(pseudo, PLAN_MONITOR);
	put32(pseudo + 4, group);
	pseudo[8] = 0, pseudo[9] = IPPROTO_UDP_;
	put16(pseudo + 10, udp_len);
	uint16_t sum = fold16(sum16(sum16(0, pseudo, 12), udp, udp_len));
	put16(udp + 6, sum ? sum : 0xffff);
	return (size_t)(udp + udp_len - pkt);
}

static int gen_probe(const char *out, uint64_t frames, const struct probe_plan *pp)
{
	struct pcap_out w;
	uint8_t pkt[256];
	uint64_t written = 0;

	if (!pcap_out_open(&w, out)) {
		fprintf(stderr, "gen_capture: %s: %s\n", out, strerror(errno));
		return 1;
	}
	/* Send slots in time order; each probe's copies arrive before the next slot's. */
	for (uint64_t slot = 0; written < frames; slot++) {
		uint64_t seq = slot / ((uint64_t)pp->vpns * pp->pes) + 1;
		uint32_t who = (uint32_t)(slot % ((uint64_t)pp->vpns * pp->pes));
		uint32_t v = who / pp->pes, k = who % pp->pes;

		for (uint32_t j = 0; j < pp->pes && written < frames; j++) {
			if (j == k)
				continue;
			size_t len = put_probe_frame(pkt, pp, v, k, j, seq);
			pcap_out_write(&w, probe_arrival_ns(pp, v, k, j, seq), pkt, (uint32_t)len);
			written++;
		}
	}
	return pcap_out_close(&w) ? 0 : 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: gen_capture passive OUT.pcap OUT.conf PACKETS [VPNS PES CGROUPS]\n"
			"       gen_capture probe OUT.pcap FRAMES VPNS PES RATE\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && strcmp(argv[1], "passive") == 0) {
		struct passive_plan pl = {.vpns = 1000, .pes = 8, .cgroups = 10};
		if (argc == 8) {
			pl.vpns = (uint32_t)arg_num(argv[5], "VPNS");
			pl.pes = (uint32_t)arg_num(argv[6], "PES");
			pl.cgroups = (uint32_t)arg_num(argv[7], "CGROUPS");
		} else if (argc != 5) {
			return usage();
		}
		if (!pl.vpns || !pl.pes || pl.pes > PLAN_PE_POOL || !pl.cgroups || pl.cgroups > 254)
			return usage();
		return gen_passive(argv[2], argv[3], arg_num(argv[4], "PACKETS"), &pl);
	}
	if (argc == 7 && strcmp(argv[1], "probe") == 0) {
		struct probe_plan pp = {.vpns = (uint32_t)arg_num(argv[4], "VPNS"),
					.pes = (uint32_t)arg_num(argv[5], "PES"),
					.rate = (uint32_t)arg_num(argv[6], "RATE")};
		if (!probe_plan_valid(&pp))
			return usage();
		return gen_probe(argv[2], arg_num(argv[3], "FRAMES"), &pp);
	}
	return usage();
}
