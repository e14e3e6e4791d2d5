/*
 * What the engine benchmarks share: clocks, memory figures, the address plan
 * (the ranges of /work/shared/design/testing.md) and a plain pcap writer.
 * Header-only so each bench program stays one file.  No engine code here:
 * the generators encode packets on their own, from the RFCs and probe/wire.h's
 * layout, so the engines are measured on bytes they did not write.
 */
#ifndef MVPN_BENCH_H
#define MVPN_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- clocks ---- */

static inline uint64_t bench_clock(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t wall_now(void)
{
	return bench_clock(CLOCK_MONOTONIC);
}

static inline uint64_t cpu_now(void)
{
	return bench_clock(CLOCK_PROCESS_CPUTIME_ID);
}

/* ---- memory: a line of /proc/self/status in kB ("VmRSS", "VmHWM"), 0 if absent ---- */

static inline long status_kb(const char *field)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	size_t n = strlen(field);
	long kb = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, n) == 0 && line[n] == ':') {
			kb = strtol(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

/* ---- numbers from the command line ---- */

static inline unsigned long long arg_num(const char *text, const char *what)
{
	char *end;
	unsigned long long v = strtoull(text, &end, 0);

	if (*text == '\0' || *end != '\0') {
		fprintf(stderr, "bad %s: %s\n", what, text);
		exit(2);
	}
	return v;
}

/* ---- the address plan (IPv4, host byte order) ----
 * VPN v (0-based; SNMP index v + 1): default MDT 239.192.0.0 + v + 1.
 * PE k of VPN v: one of a pool of 4096 PE routers 198.18.0.1..198.18.16.0,
 *   (13 v + 7 k) mod 4096: distinct within a VPN (7 is prime to 4096), shared
 *   between VPNs as real PEs are (RFC 4834: hundreds of VPNs per PE).
 * C-group g: 233.252.0.(g mod 254 + 1) (MCAST-TEST-NET).
 * C-source s: 192.0.2.(s mod 254 + 1).
 * The probe monitor: 198.18.255.254.  Pool size bounds PEs per VPN at 4096. */
#define PLAN_PE_POOL 4096u
#define PLAN_MDT_BASE 0xefc00000u    /* 239.192.0.0 */
#define PLAN_PE_BASE 0xc6120000u     /* 198.18.0.0 */
#define PLAN_CGROUP_BASE 0xe9fc0000u /* 233.252.0.0 */
#define PLAN_CSOURCE_BASE 0xc0000200u /* 192.0.2.0 */
#define PLAN_MONITOR 0xc612fffeu     /* 198.18.255.254 */
#define PLAN_ALL_PIM 0xe000000du     /* 224.0.0.13 */

static inline uint32_t plan_mdt(uint32_t v)
{
	return PLAN_MDT_BASE + v + 1;
}

static inline uint32_t plan_pe(uint32_t v, uint32_t k)
{
	return PLAN_PE_BASE + (13u * v + 7u * k) % PLAN_PE_POOL + 1;
}

static inline uint32_t plan_cgroup(uint32_t g)
{
	return PLAN_CGROUP_BASE + g % 254 + 1;
}

static inline uint32_t plan_csource(uint32_t s)
{
	return PLAN_CSOURCE_BASE + s % 254 + 1;
}

static inline void plan_text(uint32_t a, char out[16])
{
	snprintf(out, 16, "%u.%u.%u.%u", a >> 24, a >> 16 & 0xff, a >> 8 & 0xff, a & 0xff);
}

/* ---- bytes ---- */

static inline uint8_t *put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static inline uint8_t *put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return p + 4;
}

static inline uint8_t *put64(uint8_t *p, uint64_t v)
{
	return put32(put32(p, (uint32_t)(v >> 32)), (uint32_t)v);
}

/* RFC 1071 over len bytes, added to sum (not folded). */
static inline uint32_t sum16(uint32_t sum, const uint8_t *p, size_t len)
{
	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static inline uint16_t fold16(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* An IPv4 header (20 bytes, no options) with its checksum; returns the end. */
static inline uint8_t *put_ipv4(uint8_t *p, uint16_t total_len, uint16_t id, uint8_t ttl,
				uint8_t proto, uint32_t src, uint32_t dst)
{
	uint8_t *h = p;

	*p++ = 0x45;
	*p++ = 0;
	p = put16(p, total_len);
	p = put16(p, id);
	p = put16(p, 0);
	*p++ = ttl;
	*p++ = proto;
	p = put16(p, 0);
	p = put32(p, src);
	p = put32(p, dst);
	put16(h + 10, fold16(sum16(0, h, 20)));
	return p;
}

/* Ethernet II to/from locally administered addresses, type IPv4. */
static inline uint8_t *put_ether(uint8_t *p)
{
	static const uint8_t macs[12] = {2, 0, 0, 0, 0, 0x64, 2, 0, 0, 0, 0, 0xfe};

	memcpy(p, macs, sizeof(macs));
	return put16(p + 12, 0x0800);
}

/* ---- a pcap file, nanosecond timestamps, Ethernet ---- */

struct pcap_out {
	FILE *f;
	char *buf;
};

static inline bool pcap_out_open(struct pcap_out *w, const char *path)
{
	uint8_t h[24];

	w->f = fopen(path, "wb");
	if (!w->f)
		return false;
	w->buf = malloc(1 << 22);
	if (w->buf)
		setvbuf(w->f, w->buf, _IOFBF, 1 << 22);
	/* Written in host order, as libpcap does; magic a1b23c4d: nanoseconds. */
	uint32_t magic = 0xa1b23c4d, snaplen = 65535, dlt = 1, zero = 0;
	uint16_t major = 2, minor = 4;
	memcpy(h, &magic, 4);
	memcpy(h + 4, &major, 2);
	memcpy(h + 6, &minor, 2);
	memcpy(h + 8, &zero, 4);
	memcpy(h + 12, &zero, 4);
	memcpy(h + 16, &snaplen, 4);
	memcpy(h + 20, &dlt, 4);
	return fwrite(h, 1, sizeof(h), w->f) == sizeof(h);
}

static inline void pcap_out_write(struct pcap_out *w, uint64_t ts_ns, const uint8_t *pkt,
				  uint32_t len)
{
	uint32_t rec[4] = {(uint32_t)(ts_ns / 1000000000u), (uint32_t)(ts_ns % 1000000000u), len,
			   len};

	fwrite(rec, 1, sizeof(rec), w->f);
	fwrite(pkt, 1, len, w->f);
}

static inline bool pcap_out_close(struct pcap_out *w)
{
	bool ok = !ferror(w->f);

	ok = fclose(w->f) == 0 && ok;
	free(w->buf);
	return ok;
}

#endif
