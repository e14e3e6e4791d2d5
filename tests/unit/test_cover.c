/*
 * capture/cover and the live filter built on it.  The cover's properties are
 * checked against a brute-force count written here; the filter's verdicts
 * come from libpcap's own interpreter (pcap_offline_filter) on Ethernet
 * frames built byte by byte in this file, so a group the cover missed, or a
 * program past the kernel's 4,096 instructions, fails here and not on a live
 * interface.
 */
#include "unit.h"

#include <stdlib.h>

#include <pcap/pcap.h>

#include "../../capture/cover.h"
#include "../../capture/engine.h"

#define KERNEL_MAX_INSNS 4096 /* BPF_MAXINSNS, linux/filter.h */

/* VPN i's group as never_block.py plans them: 239.(192+i/65536).(i/256).(i%256). */
static struct inet_addr plan_group(unsigned i)
{
	uint8_t b[4] = {239, (uint8_t)(192 + (i >> 16)), (uint8_t)(i >> 8), (uint8_t)i};
	struct inet_addr a;

	inet_addr_v4(&a, b);
	return a;
}

static bool prefix_holds(const struct addr_prefix *p, const struct inet_addr *a)
{
	if (p->net.type != a->type)
		return false;
	for (unsigned bit = 0; bit < p->len; bit++) {
		unsigned byte = bit / 8, shift = 7 - bit % 8;
		if (((p->net.bytes[byte] >> shift) & 1) != ((a->bytes[byte] >> shift) & 1))
			return false;
	}
	return true;
}

/* Distinct len-bit prefixes, counted pair by pair (quadratic, independent). */
static size_t brute_count(const struct inet_addr *a, size_t n, unsigned len)
{
	size_t count = 0;

	for (size_t i = 0; i < n; i++) {
		struct addr_prefix p = {.net = a[i], .len = (uint8_t)len};
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = prefix_holds(&p, &a[j]);
		count += !seen;
	}
	return count;
}

/* Every address in some prefix, no bit set past a prefix's length, at most
 * max prefixes, and the length the longest that fits. */
static bool cover_is_right(const struct inet_addr *orig, size_t n, size_t max,
			   const struct addr_prefix *out, size_t n_out)
{
	if (n_out == 0 || n_out > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool held = false;
		for (size_t k = 0; k < n_out && !held; k++)
			held = prefix_holds(&out[k], &orig[i]);
		if (!held)
			return false;
	}
	for (size_t k = 0; k < n_out; k++) {
		struct addr_prefix whole = {.net = out[k].net, .len = out[k].len};
		for (unsigned bit = out[k].len; bit < inet_addr_len(&out[k].net) * 8; bit++)
			if ((whole.net.bytes[bit / 8] >> (7 - bit % 8)) & 1)
				return false;
	}
	unsigned len = out[0].len, full = (unsigned)inet_addr_len(&orig[0]) * 8;
	return brute_count(orig, n, len) == n_out && (len == full || brute_count(orig, n, len + 1) > max);
}

TEST(few_groups_are_covered_by_their_own_host_prefixes)
{
	struct inet_addr g[3] = {plan_group(7), plan_group(1), plan_group(7)}, orig[3];
	struct addr_prefix out[4];

	memcpy(orig, g, sizeof(g));
	size_t n = addr_cover(g, 3, 4, out);
	CHECK_EQ_INT(n, 2); /* the duplicate once */
	CHECK_EQ_INT(out[0].len, 32);
	CHECK(inet_addr_eq(&out[0].net, &orig[1]));
	CHECK(inet_addr_eq(&out[1].net, &orig[0]));
	CHECK(cover_is_right(orig, 3, 4, out, n));
}

TEST(many_groups_are_covered_by_at_most_max_blocks)
{
	enum { N = 1000, MAX = 32 };
	struct inet_addr *g = malloc(N * sizeof(*g)), *orig = malloc(N * sizeof(*g));
	struct addr_prefix out[MAX];

	for (unsigned i = 0; i < N; i++)
		g[i] = orig[i] = plan_group((i * 7919u) % N + 1); /* not in order */
	size_t n = addr_cover(g, N, MAX, out);
	bool right = cover_is_right(orig, N, MAX, out, n);
	/* 1..1000: 239.192.0.1 .. 239.192.3.232: 32 blocks of /27 (0.0 .. 3.224). */
	unsigned len = out[0].len;
	free(g);
	free(orig);
	CHECK(right);
	CHECK_EQ_INT(len, 27);
	CHECK_EQ_INT(n, 32);
}

TEST(an_outlier_keeps_its_own_prefix)
{
	enum { N = 201, MAX = 8 };
	struct inet_addr g[N], orig[N];
	struct addr_prefix out[MAX];

	for (unsigned i = 0; i < N - 1; i++)
		g[i] = plan_group(i + 1);
	inet_addr_parse(&g[N - 1], "232.1.2.3");
	memcpy(orig, g, sizeof(g));
	size_t n = addr_cover(g, N, MAX, out);
	CHECK(cover_is_right(orig, N, MAX, out, n));
	/* 232/8 and 239/8 never share a block shorter than /4. */
	CHECK(out[0].len > 4);
	CHECK(!prefix_holds(&out[0], &orig[0]) || !prefix_holds(&out[0], &orig[N - 1]));
}

TEST(ipv6_groups_are_covered_too)
{
	enum { N = 300, MAX = 5 };
	struct inet_addr g[N], orig[N];
	struct addr_prefix out[MAX];

	for (unsigned i = 0; i < N; i++) {
		inet_addr_parse(&g[i], "ff3e::");
		g[i].bytes[14] = (uint8_t)(i >> 8), g[i].bytes[15] = (uint8_t)i;
	}
	inet_addr_parse(&g[7], "ff05::1:3");
	memcpy(orig, g, sizeof(g));
	size_t n = addr_cover(g, N, MAX, out);
	CHECK(cover_is_right(orig, N, MAX, out, n));
}

TEST(max_one_gives_the_single_common_block)
{
	struct inet_addr g[2], orig[2];
	struct addr_prefix out[1];

	inet_addr_parse(&g[0], "239.0.0.1");
	inet_addr_parse(&g[1], "224.0.1.1");
	memcpy(orig, g, sizeof(g));
	size_t n = addr_cover(g, 2, 1, out);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_INT(out[0].len, 4);
	CHECK(cover_is_right(orig, 2, 1, out, n));
	CHECK_EQ_INT(addr_cover(g, 0, 1, out), 0);
}

/* ---- the filter text, run by libpcap ---- */

/* Ethernet (optionally one 802.1Q tag), IPv4 198.18.0.1 -> dst, GRE 0x0800,
 * then an inner header's worth of zeros. */
static size_t gre_frame(uint8_t *f, const struct inet_addr *dst, bool tagged)
{
	static const uint8_t macs[12] = {1, 0, 0x5e, 0, 0, 1, 2, 0, 0, 0, 0, 1};
	size_t at = 12;

	memset(f, 0, 128);
	memcpy(f, macs, 12);
	if (tagged) {
		f[at++] = 0x81, f[at++] = 0x00, f[at++] = 0x00, f[at++] = 0x64;
	}
	f[at++] = 0x08, f[at++] = 0x00;
	uint8_t *ip = f + at;
	ip[0] = 0x45, ip[3] = 48, ip[8] = 64, ip[9] = 47;
	ip[12] = 198, ip[13] = 18, ip[14] = 0, ip[15] = 1;
	memcpy(ip + 16, dst->bytes, 4);
	ip[22] = 0x08, ip[23] = 0x00; /* GRE: no flags, IPv4 inside */
	return at + 48;
}

static unsigned verdict(const struct bpf_program *prog, const struct inet_addr *dst, bool tagged)
{
	uint8_t f[128];
	struct pcap_pkthdr h = {.caplen = (bpf_u_int32)gre_frame(f, dst, tagged)};

	h.len = h.caplen;
	return (unsigned)pcap_offline_filter(prog, &h, f);
}

/* capture_filter_text for groups 1..n of the plan, compiled for Ethernet. */
static int compile_plan(unsigned n, struct bpf_program *prog)
{
	struct capture c = {.dlt = DLT_EN10MB, .n_routes = n};
	pcap_t *p = pcap_open_dead(DLT_EN10MB, 65535);

	c.routes = calloc(n, sizeof(*c.routes));
	for (unsigned i = 0; i < n; i++)
		c.routes[i].group = plan_group(i + 1);
	char *text = capture_filter_text(&c);
	int rc = text ? pcap_compile(p, prog, text, 1, PCAP_NETMASK_UNKNOWN) : -1;
	free(text);
	free(c.routes);
	pcap_close(p);
	return rc;
}

TEST(the_filter_passes_every_configured_group_and_not_others)
{
	static const unsigned sizes[] = {10, 1000, 100000};

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		struct bpf_program prog;
		CHECK_EQ_INT(compile_plan(sizes[s], &prog), 0);
		unsigned len = prog.bf_len, passed = 0, passed_tagged = 0;
		for (unsigned i = 1; i <= sizes[s]; i++) {
			struct inet_addr g = plan_group(i);
			passed += verdict(&prog, &g, false) > 0;
			passed_tagged += verdict(&prog, &g, true) > 0;
		}
		struct inet_addr other;
		inet_addr_parse(&other, "232.0.0.9");
		unsigned other_verdict = verdict(&prog, &other, false);
		pcap_freecode(&prog);
		printf("# %u groups: %u instructions\n", sizes[s], len);
		CHECK(len <= KERNEL_MAX_INSNS);
		CHECK_EQ_INT(passed, sizes[s]);
		CHECK_EQ_INT(passed_tagged, sizes[s]);
		CHECK_EQ_INT(other_verdict, 0);
	}
}

TEST(with_few_groups_the_filter_is_exact)
{
	struct bpf_program prog;
	struct inet_addr next = plan_group(11);

	CHECK_EQ_INT(compile_plan(10, &prog), 0);
	unsigned v = verdict(&prog, &next, false);
	pcap_freecode(&prog);
	CHECK_EQ_INT(v, 0);
}

int main(void)
{
	static const struct unit_test tests[] = {
		T(few_groups_are_covered_by_their_own_host_prefixes),
		T(many_groups_are_covered_by_at_most_max_blocks),
		T(an_outlier_keeps_its_own_prefix),
		T(ipv6_groups_are_covered_too),
		T(max_one_gives_the_single_common_block),
		T(the_filter_passes_every_configured_group_and_not_others),
		T(with_few_groups_the_filter_is_exact),
	};
	return unit_main("cover", tests, sizeof(tests) / sizeof(tests[0]));
}
