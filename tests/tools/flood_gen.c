/*
 * flood_gen: writes the capture of a control-plane flood on one default MDT,
 * for tests/integration/test_flood.py.  Standalone on purpose: it builds every
 * byte itself and shares no code with mvpnmond (whose parsers read what it
 * writes); test_flood.py checks a small output against tshark's decoding.
 *
 *	flood_gen [--spoofed-pes N] [--joins N] [--per-msg N] [--upstream legit|absent] OUT.pcap
 *
 * Ethernet / IPv4 (PE -> 239.192.0.1) / GRE / IPv6 C-PIM (to ff02::d), an
 * IPv6 customer instance, so that a million distinct customer (S,G) fit in
 * documentation space.  Times are seconds after T0 = 1767225600 (2026-01-01).
 *
 *   t = 0.0 .. 0.3   legitimate PEs 198.18.0.1-4 (C-address 2001:db8::1-4) say Hello:
 *                    hold time 105, generation ID 0x60370000 + i, DR priority 10 * i
 *   t = 1.0 .. 1.3   their joins, hold time 210:
 *                      .1 -> up .2   ff3e:20:2001:db8::10  (2001:db8:10::1, G)
 *                      .3 -> up .2   ff3e:20:2001:db8::10  (2001:db8:10::1, G)
 *                      .2 -> up .1   ff3e:20:2001:db8::20  (*, G) RP 2001:db8::250
 *                      .4 -> up .1   ff3e:20:2001:db8::40  (2001:db8:10::4, G) (2001:db8:10::5, G)
 *   t = 2.0 .. 22.0  the flood, evenly spaced and interleaved:
 *                    --joins distinct (S,G) joins, --per-msg per Join/Prune (one group
 *                    per message; 69, the default, is what one 1500-byte frame holds),
 *                    record r = (2001:db8:1::/96 + r, ff3e:20:2001:db8::1:0 + message),
 *                    message m sent by spoofed PE m mod --spoofed-pes, naming as
 *                    upstream the legitimate .2 (legit) or 2001:db8:ffff::1, which
 *                    no PE has (absent: the daemon must search every PE for it);
 *                    --spoofed-pes Hellos, spoofed PE i = 198.18.1.0 + i
 *                    (C-address 2001:db8:2::/96 + i), hold 105, generation ID i, DR 1
 *   t = 30.0 .. 30.3 the legitimate Hellos again (refreshes)
 *   t = 31.0 .. 31.3 the legitimate joins again (refreshes)
 *   t = 32.0         .4 -> up .2: (2001:db8:10::1, ff3e:20:2001:db8::10), a new join whose
 *                    upstream row exists: it needs one C-group->PE row, not two
 *
 * Prints one JSON object: what was written, counted by kind.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1767225600u
#define USEC 1000000ull
#define MTU 1500
#define HOLD_HELLO 105
#define HOLD_JP 210
#define N_LEGIT 4
#define FLOOD_START (2 * USEC)
#define FLOOD_SPAN (20 * USEC)

enum { KIND_SG, KIND_STARG };

struct writer {
	FILE *f;
	uint16_t ip_id;
	unsigned long packets;
	uint8_t frame[65536];
};

struct counts {
	unsigned long legit_hellos, legit_jps, legit_records;
	unsigned long spoofed_hellos, spoofed_jps, spoofed_records;
};

/* ---- bytes ---- */

static uint8_t *put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	p = put16(p, (uint16_t)(v >> 16));
	return put16(p, (uint16_t)v);
}

static uint8_t *put(uint8_t *p, const void *src, size_t n)
{
	memcpy(p, src, n);
	return p + n;
}

static void le32(FILE *f, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	fwrite(b, 1, 4, f);
}

static uint32_t sum16(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* ---- addresses ---- */

static void v4(uint8_t out[4], uint32_t host)
{
	put32(out, host);
}

/* prefix (the first 12 bytes of text's address) with the last 4 bytes = n */
static void v6(uint8_t out[16], const uint8_t prefix[12], uint32_t n)
{
	memcpy(out, prefix, 12);
	put32(out + 12, n);
}

static const uint8_t DOC[12] = {0x20, 0x01, 0x0d, 0xb8};                   /* 2001:db8:: */
static const uint8_t SPOOF_SRC[12] = {0x20, 0x01, 0x0d, 0xb8, 0, 1};       /* 2001:db8:1:: */
static const uint8_t SPOOF_CADDR[12] = {0x20, 0x01, 0x0d, 0xb8, 0, 2};     /* 2001:db8:2:: */
static const uint8_t LEGIT_SRC[12] = {0x20, 0x01, 0x0d, 0xb8, 0, 0x10};    /* 2001:db8:10:: */
static const uint8_t ABSENT_UP[12] = {0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff}; /* 2001:db8:ffff:: */
/* RFC 3306 unicast-prefix-based groups from 2001:db8::/32: ff3e:20:2001:db8::/96 */
static const uint8_t GROUPS[12] = {0xff, 0x3e, 0, 0x20, 0x20, 0x01, 0x0d, 0xb8};
static const uint8_t ALL_PIM[16] = {0xff, 0x02, [15] = 0x0d};

#define MDT_GROUP 0xefc00001u   /* 239.192.0.1 */
#define LEGIT_PE(i) (0xc6120000u + (i)) /* 198.18.0.i */
#define SPOOF_PE(i) (0xc6120100u + (i)) /* 198.18.1.0 + i */

/* ---- framing: Ethernet / IPv4 / GRE / IPv6 / PIM ---- */

static void write_record(struct writer *w, uint64_t t_us, size_t len)
{
	le32(w->f, T0 + (uint32_t)(t_us / USEC));
	le32(w->f, (uint32_t)(t_us % USEC));
	le32(w->f, (uint32_t)len);
	le32(w->f, (uint32_t)len);
	fwrite(w->frame, 1, len, w->f);
	w->packets++;
}

/* pim: the PIM message with a zero checksum, at w->frame + 14 + 20 + 4 + 40. */
static void send_pim(struct writer *w, uint64_t t_us, uint32_t pe, const uint8_t caddr[16],
		     size_t pim_len)
{
	uint8_t *eth = w->frame, *ip = eth + 14, *gre = ip + 20, *ip6 = gre + 4, *pim = ip6 + 40;
	uint8_t pe_bytes[4], grp[4];
	uint8_t *p;

	/* PIM checksum over the IPv6 pseudo-header (RFC 7761 4.9) and the message */
	uint8_t pseudo[40];
	memcpy(pseudo, caddr, 16);
	memcpy(pseudo + 16, ALL_PIM, 16);
	put32(pseudo + 32, (uint32_t)pim_len);
	memset(pseudo + 36, 0, 3);
	pseudo[39] = 103;
	put16(pim + 2, fold(sum16(sum16(0, pseudo, 40), pim, pim_len)));

	p = put32(ip6, 0x60000000u);
	p = put16(p, (uint16_t)pim_len);
	*p++ = 103; /* next header: PIM */
	*p++ = 1;   /* hop limit */
	p = put(p, caddr, 16);
	put(p, ALL_PIM, 16);

	put32(gre, 0x000086dd); /* no flags, version 0, IPv6 */

	v4(pe_bytes, pe);
	v4(grp, MDT_GROUP);
	size_t ip_len = 20 + 4 + 40 + pim_len;
	p = ip;
	*p++ = 0x45;
	*p++ = 0xc0; /* CS6: network control */
	p = put16(p, (uint16_t)ip_len);
	p = put16(p, ++w->ip_id);
	p = put16(p, 0);
	*p++ = 64;
	*p++ = 47; /* GRE */
	p = put16(p, 0);
	p = put(p, pe_bytes, 4);
	put(p, grp, 4);
	put16(ip + 10, fold(sum16(0, ip, 20)));

	static const uint8_t dst_mac[6] = {0x01, 0x00, 0x5e, 0x40, 0x00, 0x01};
	p = put(eth, dst_mac, 6);
	*p++ = 0x02;
	*p++ = 0x00;
	p = put(p, pe_bytes, 4);
	put16(p, 0x0800);
	write_record(w, t_us, 14 + ip_len);
}

static uint8_t *pim_payload(struct writer *w)
{
	return w->frame + 14 + 20 + 4 + 40;
}

static void hello(struct writer *w, uint64_t t_us, uint32_t pe, const uint8_t caddr[16],
		  uint32_t genid, uint32_t dr)
{
	uint8_t *pim = pim_payload(w), *p = pim;

	*p++ = 0x20; /* version 2, type 0: Hello */
	*p++ = 0;
	p = put16(p, 0);
	p = put16(put16(p, 1), 2); /* Hold Time */
	p = put16(p, HOLD_HELLO);
	p = put16(put16(p, 19), 4); /* DR Priority */
	p = put32(p, dr);
	p = put16(put16(p, 20), 4); /* Generation ID */
	p = put32(p, genid);
	send_pim(w, t_us, pe, caddr, (size_t)(p - pim));
}

static uint8_t *encoded_v6(uint8_t *p, uint8_t flags, uint8_t mask, const uint8_t a[16],
			   bool with_flags)
{
	*p++ = 2; /* IANA family: IPv6 */
	*p++ = 0; /* native encoding */
	if (with_flags) {
		*p++ = flags;
		*p++ = mask;
	}
	return put(p, a, 16);
}

/* The fixed part of a one-group Join/Prune; returns where its sources go. */
static uint8_t *jp_start(struct writer *w, const uint8_t up[16], const uint8_t group[16],
			 uint16_t n_joins)
{
	uint8_t *p = pim_payload(w);

	*p++ = 0x23; /* version 2, type 3: Join/Prune */
	*p++ = 0;
	p = put16(p, 0);
	p = encoded_v6(p, 0, 0, up, false);
	*p++ = 0; /* reserved */
	*p++ = 1; /* one group */
	p = put16(p, HOLD_JP);
	p = encoded_v6(p, 0, 128, group, true);
	p = put16(p, n_joins);
	return put16(p, 0);
}

static uint8_t *jp_source(uint8_t *p, int kind, const uint8_t a[16])
{
	/* S (sparse) always; W and R for (*,G), whose address is the RP */
	return encoded_v6(p, kind == KIND_STARG ? 0x07 : 0x04, 128, a, true);
}

/* ---- the scenario ---- */

static void legit_addrs(int i, uint8_t caddr[16])
{
	v6(caddr, DOC, (uint32_t)i);
}

static void legit_hellos(struct writer *w, struct counts *n, uint64_t t_us)
{
	for (int i = 1; i <= N_LEGIT; i++) {
		uint8_t c[16];
		legit_addrs(i, c);
		hello(w, t_us + (uint64_t)(i - 1) * USEC / 10, LEGIT_PE(i), c, 0x60370000u + (uint32_t)i,
		      10u * (uint32_t)i);
		n->legit_hellos++;
	}
}

/* One legitimate join message: from PE from, to PE up, in group g (2001:db8 ff3e::g). */
static void legit_jp(struct writer *w, struct counts *n, uint64_t t_us, int from, int up,
		     uint32_t g, int kind, const uint32_t *sources, int n_sources)
{
	uint8_t c[16], u[16], grp[16], s[16];

	legit_addrs(from, c);
	legit_addrs(up, u);
	v6(grp, GROUPS, g);
	uint8_t *p = jp_start(w, u, grp, (uint16_t)n_sources);
	for (int k = 0; k < n_sources; k++) {
		if (kind == KIND_STARG)
			v6(s, DOC, sources[k]);
		else
			v6(s, LEGIT_SRC, sources[k]);
		p = jp_source(p, kind, s);
	}
	send_pim(w, t_us, LEGIT_PE(from), c, (size_t)(p - pim_payload(w)));
	n->legit_jps++;
	n->legit_records += (unsigned long)n_sources;
}

static void legit_joins(struct writer *w, struct counts *n, uint64_t t_us)
{
	static const uint32_t s1[] = {1}, rp[] = {0x250}, s45[] = {4, 5};

	legit_jp(w, n, t_us, 1, 2, 0x10, KIND_SG, s1, 1);
	legit_jp(w, n, t_us + USEC / 10, 3, 2, 0x10, KIND_SG, s1, 1);
	legit_jp(w, n, t_us + 2 * USEC / 10, 2, 1, 0x20, KIND_STARG, rp, 1);
	legit_jp(w, n, t_us + 3 * USEC / 10, 4, 1, 0x40, KIND_SG, s45, 2);
}

struct flood {
	unsigned long pes, joins, per_msg;
	bool upstream_legit;
};

static void spoofed_jp(struct writer *w, struct counts *n, const struct flood *fl, uint64_t t_us,
		       unsigned long msg, unsigned long first, unsigned long count)
{
	uint8_t c[16], up[16], grp[16], s[16];
	uint32_t sender = (uint32_t)(fl->pes ? msg % fl->pes : msg);

	v6(c, SPOOF_CADDR, sender);
	if (fl->upstream_legit)
		legit_addrs(2, up);
	else
		v6(up, ABSENT_UP, 1);
	v6(grp, GROUPS, 0x10000u + (uint32_t)msg);
	uint8_t *p = jp_start(w, up, grp, (uint16_t)count);
	for (unsigned long r = first; r < first + count; r++) {
		v6(s, SPOOF_SRC, (uint32_t)r);
		p = jp_source(p, KIND_SG, s);
	}
	send_pim(w, t_us, SPOOF_PE(sender), c, (size_t)(p - pim_payload(w)));
	n->spoofed_jps++;
	n->spoofed_records += count;
}

/* Join messages and Hellos interleaved evenly, over FLOOD_SPAN. */
static void flood(struct writer *w, struct counts *n, const struct flood *fl)
{
	unsigned long msgs = (fl->joins + fl->per_msg - 1) / fl->per_msg;
	unsigned long total = msgs + fl->pes, jp = 0, he = 0;

	for (unsigned long k = 0; k < total; k++) {
		uint64_t t_us = FLOOD_START + (uint64_t)((double)FLOOD_SPAN * (double)k / (double)total);
		/* a Hello whenever Hellos are behind their share of the packets so far */
		bool send_hello = he < fl->pes && (jp >= msgs || he * msgs <= jp * fl->pes);
		if (send_hello) {
			uint8_t c[16];
			v6(c, SPOOF_CADDR, (uint32_t)he);
			hello(w, t_us, SPOOF_PE(he), c, (uint32_t)he, 1);
			n->spoofed_hellos++;
			he++;
		} else {
			unsigned long first = jp * fl->per_msg;
			unsigned long count = fl->joins - first < fl->per_msg ? fl->joins - first : fl->per_msg;
			spoofed_jp(w, n, fl, t_us, jp, first, count);
			jp++;
		}
	}
}

static void late_join(struct writer *w, struct counts *n, uint64_t t_us)
{
	static const uint32_t s1[] = {1};

	legit_jp(w, n, t_us, 4, 2, 0x10, KIND_SG, s1, 1);
}

static unsigned long number(const char *opt, const char *text)
{
	char *end;
	unsigned long v = strtoul(text, &end, 10);

	if (!*text || *end) {
		fprintf(stderr, "flood_gen: %s wants a number, not \"%s\"\n", opt, text);
		exit(2);
	}
	return v;
}

static void usage(void)
{
	fprintf(stderr, "usage: flood_gen [--spoofed-pes N] [--joins N] [--per-msg N] "
			"[--upstream legit|absent] OUT.pcap\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct flood fl = {.pes = 100000, .joins = 1000000, .per_msg = 0, .upstream_legit = false};
	/* one group, IPv6: 20 bytes a source after 114 of headers, in a 1500-byte frame */
	const unsigned long fit = (MTU - 20 - 4 - 40 - 4 - 18 - 4 - 20 - 4) / 20;
	const char *out = NULL;

	for (int i = 1; i < argc; i++) {
		if (i + 1 < argc && !strcmp(argv[i], "--spoofed-pes"))
			fl.pes = number(argv[i], argv[i + 1]), i++;
		else if (i + 1 < argc && !strcmp(argv[i], "--joins"))
			fl.joins = number(argv[i], argv[i + 1]), i++;
		else if (i + 1 < argc && !strcmp(argv[i], "--per-msg"))
			fl.per_msg = number(argv[i], argv[i + 1]), i++;
		else if (i + 1 < argc && !strcmp(argv[i], "--upstream"))
			fl.upstream_legit = !strcmp(argv[++i], "legit");
		else if (argv[i][0] != '-' && !out)
			out = argv[i];
		else
			usage();
	}
	if (!out)
		usage();
	if (!fl.per_msg)
		fl.per_msg = fit;
	if (fl.per_msg > 65535 || fl.per_msg * 20 + 114 > 65535) {
		fprintf(stderr, "flood_gen: --per-msg %lu does not fit one IP packet\n", fl.per_msg);
		return 2;
	}

	static struct writer w;
	struct counts n = {0};
	w.f = fopen(out, "wb");
	if (!w.f) {
		perror(out);
		return 1;
	}
	le32(w.f, 0xa1b2c3d4); /* pcap, microseconds */
	fwrite("\x02\x00\x04\x00", 1, 4, w.f);
	le32(w.f, 0);
	le32(w.f, 0);
	le32(w.f, 65535);
	le32(w.f, 1); /* Ethernet */

	legit_hellos(&w, &n, 0);
	legit_joins(&w, &n, 1 * USEC);
	flood(&w, &n, &fl);
	legit_hellos(&w, &n, 30 * USEC);
	legit_joins(&w, &n, 31 * USEC);
	late_join(&w, &n, 32 * USEC);
	if (fclose(w.f) != 0) {
		perror(out);
		return 1;
	}
	printf("{\"packets\": %lu, \"legit_hellos\": %lu, \"legit_jps\": %lu, \"legit_records\": %lu, "
	       "\"spoofed_hellos\": %lu, \"spoofed_jps\": %lu, \"spoofed_records\": %lu, "
	       "\"per_msg\": %lu, \"upstream\": \"%s\"}\n",
	       w.packets, n.legit_hellos, n.legit_jps, n.legit_records, n.spoofed_hellos,
	       n.spoofed_jps, n.spoofed_records, fl.per_msg,
	       fl.upstream_legit ? "legit" : "absent");
	return 0;
}
