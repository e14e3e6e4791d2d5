/*
 * config_load_text on any bytes (not NUL-terminated: libFuzzer's buffer is
 * exactly the input).  It must not crash or leak, and a configuration it
 * accepts must keep config.h's promises and the checks config.c makes:
 * VPNs sorted by index with unique indexes, names and default MDTs; names of
 * 1..VPN_NAME_MAX bytes of UTF-8 with no control character or quote;
 * multicast default MDTs beyond link scope; expected PEs unicast, none a
 * loopback, link-local, unspecified or IPv4-mapped address, and unique; probed VPNs with the global probe settings, an IPv4 default
 * MDT, sorted unique IPv4 unicast senders and receivers, options within
 * their ranges; tunnels sorted by PE, IPv4 unicast ends; thresholds whose
 * falling level is below a non-zero rising one; at most one capture source.
 * And whatever the input did, the next load of a good file gives what it
 * always gives: a bad file refused at reload leaves nothing behind (in
 * libconfuse's lexer state, say) that changes the one after it.
 */
#include <stdarg.h>

#include "../../agent/config.h"
#include "../../mib/log.h"
#include "fuzz.h"

static void quiet(int priority, const char *fmt, va_list ap)
{
	(void)priority;
	(void)fmt;
	(void)ap;
}

/* An address a PE may have: unicast, routable beyond the link, not the
 * host itself (RFC 6890's special-purpose blocks that say so). */
static bool ref_unicast(const struct inet_addr *a)
{
	const uint8_t *b = a->bytes;

	if (a->type == INET_IPV4)
		return b[0] != 0 && b[0] != 127 && b[0] < 224 && !(b[0] == 169 && b[1] == 254);
	if (a->type != INET_IPV6 || b[0] == 0xff || (b[0] == 0xfe && b[1] >= 0x80 && b[1] <= 0xbf))
		return false;
	for (int i = 0; i < 10; i++)
		if (b[i])
			return true;
	/* ::/80 prefixes: the unspecified, loopback and IPv4-mapped addresses are
	 * there, and nothing else a PE would have. */
	return !(b[10] == 0xff && b[11] == 0xff) && !(b[10] == 0 && b[11] == 0 && b[12] == 0 &&
						      b[13] == 0 && b[14] == 0 && b[15] <= 1);
}

/* A group routed beyond one link: not 224.0.0.0/24, not IPv6 scope 0-2. */
static bool ref_mdt(const struct inet_addr *a)
{
	if (!ref_multicast(a))
		return false;
	if (a->type == INET_IPV4)
		return !(a->bytes[0] == 224 && a->bytes[1] == 0 && a->bytes[2] == 0);
	return (a->bytes[1] & 0x0f) > 2;
}

/* A name: 1..64 bytes, each code point U+0020..U+007E or U+00A0 and above
 * (decoded here, not validated by the loader's tables), no quote. */
static bool ref_name(const char *name)
{
	const unsigned char *u = (const unsigned char *)name;
	size_t len = strlen(name), i = 0;

	if (len < 1 || len > VPN_NAME_MAX)
		return false;
	while (i < len) {
		unsigned cp, n = u[i] < 0x80 ? 0 : u[i] < 0xe0 ? 1 : u[i] < 0xf0 ? 2 : 3;
		unsigned min[4] = {0, 0x80, 0x800, 0x10000};
		cp = n == 0 ? u[i] : u[i] & (0x3f >> n);
		if ((u[i] >= 0x80 && u[i] < 0xc0) || u[i] >= 0xf8 || (n && i + n >= len))
			return false;
		for (unsigned k = 1; k <= n; k++) {
			if ((u[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (u[i + k] & 0x3f);
		}
		if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp == '"' || cp == '\'')
			return false;
		i += n + 1;
	}
	return true;
}

static int addr_order(const struct inet_addr *a, const struct inet_addr *b)
{
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	return memcmp(a->bytes, b->bytes, a->type == INET_IPV4 ? 4 : 16);
}

/* Strictly increasing (so also unique), each a unicast IPv4 address. */
static void check_ipv4_list(const struct inet_addr *a, size_t n)
{
	FUZZ_CHECK(n == 0 || a != NULL);
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(a[i].type == INET_IPV4 && ref_unicast(&a[i]));
		FUZZ_CHECK(i == 0 || addr_order(&a[i - 1], &a[i]) < 0);
	}
}

static void check_probe(const struct config *c, const struct vpn_config *v)
{
	const struct probe_config *p = &v->probe;

	if (!p->enabled) {
		FUZZ_CHECK(p->senders == NULL && p->receivers == NULL);
		return;
	}
	FUZZ_CHECK(c->probe_interface != NULL && c->probe_local.type == INET_IPV4);
	FUZZ_CHECK(ref_unicast(&c->probe_local));
	FUZZ_CHECK(v->default_mdt.type == INET_IPV4);
	FUZZ_CHECK(p->rate >= 1 && p->rate <= 10000 && p->size >= 32 && p->size <= 1400);
	FUZZ_CHECK(p->window >= 1 && p->window <= 3600 && p->port >= 1 && p->port <= 65535);
	FUZZ_CHECK(p->igmp_version == 2 || p->igmp_version == 3);
	FUZZ_CHECK((uint64_t)p->rate * p->window <= 1000000);
	check_ipv4_list(p->senders, p->n_senders);
	check_ipv4_list(p->receivers, p->n_receivers);
}

static void check_vpn(const struct config *c, const struct vpn_config *v)
{
	FUZZ_CHECK(strnlen(v->name, sizeof(v->name)) < sizeof(v->name) && ref_name(v->name));
	FUZZ_CHECK(v->index >= 1);
	FUZZ_CHECK(ref_mdt(&v->default_mdt));
	FUZZ_CHECK(v->n_expected == 0 || v->expected_pes != NULL);
	for (size_t i = 0; i < v->n_expected; i++) {
		FUZZ_CHECK(ref_unicast(&v->expected_pes[i]));
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(addr_order(&v->expected_pes[j], &v->expected_pes[i]) != 0);
	}
	for (int k = 0; k < METRICS; k++) {
		const struct threshold *t = &v->thresholds.t[k];
		FUZZ_CHECK(t->rising == 0 || t->falling < t->rising);
	}
	check_probe(c, v);
}

static void check_config(const struct config *c)
{
	FUZZ_CHECK(c->agentx_ping_interval <= 3600 && c->startup_grace <= 86400);
	FUZZ_CHECK(c->change_log_size >= 1 && c->change_log_size <= 10000000);
	FUZZ_CHECK(c->max_pes_per_vpn >= 1 && c->max_cgroups_per_vpn >= 1 &&
		   c->max_data_mdts_per_vpn >= 1);
	FUZZ_CHECK(c->pe_check_interval >= 1 && c->pe_check_interval <= 3600);
	FUZZ_CHECK(c->notify_rate_interval >= 1 && c->notify_rate_limit <= 10000);
	FUZZ_CHECK(c->probe_loss_timeout >= 1 && c->probe_loss_timeout <= 60);
	FUZZ_CHECK(c->probe_unreachable_time >= 1 && c->igmp_report_interval >= 1);
	FUZZ_CHECK(c->echo_interval_ms >= 10 && c->echo_interval_ms <= 60000);
	FUZZ_CHECK(!(c->capture_interface && c->capture_file));
	FUZZ_CHECK(c->n_vpns == 0 || c->vpns != NULL);
	for (size_t i = 0; i < c->n_vpns; i++) {
		check_vpn(c, &c->vpns[i]);
		FUZZ_CHECK(i == 0 || c->vpns[i - 1].index < c->vpns[i].index);
		for (size_t j = 0; j < i; j++) {
			FUZZ_CHECK(strcmp(c->vpns[j].name, c->vpns[i].name) != 0);
			FUZZ_CHECK(addr_order(&c->vpns[j].default_mdt, &c->vpns[i].default_mdt) != 0);
		}
	}
	FUZZ_CHECK(c->n_tunnels == 0 || c->tunnels != NULL);
	for (size_t i = 0; i < c->n_tunnels; i++) {
		const struct tunnel_config *t = &c->tunnels[i];
		FUZZ_CHECK(t->pe.type == INET_IPV4 && ref_unicast(&t->pe));
		FUZZ_CHECK(t->remote.type == INET_IPV4 && ref_unicast(&t->remote));
		FUZZ_CHECK(i == 0 || addr_order(&c->tunnels[i - 1].pe, &t->pe) < 0);
	}
}

/* The next file after the input: a little of everything the lexer does
 * (a comment, both quotes, a list, a section in a section). */
static void check_next_load(void)
{
	static const char next[] = "# next\nstartup-grace = 7\n"
				   "vpn 'a' { index = 3 default-mdt = \"239.1.1.1\"\n"
				   "  expected-pes = { \"198.18.0.1\", '198.18.0.2' }\n"
				   "  thresholds { loss-rising = 2 loss-falling = 1 } }\n";
	struct config *c = config_load_text("next.conf", next, sizeof(next) - 1);

	FUZZ_CHECK(c != NULL && c->startup_grace == 7 && c->n_vpns == 1);
	FUZZ_CHECK(c->vpns[0].index == 3 && strcmp(c->vpns[0].name, "a") == 0);
	FUZZ_CHECK(c->vpns[0].n_expected == 2 && c->vpns[0].thresholds.t[0].rising == 20000);
	config_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *c;

	mvpn_log_set_sink(quiet);
	c = config_load_text("fuzz.conf", (const char *)data, size);
	if (c) {
		check_config(c);
		config_free(c);
	}
	check_next_load();
	return 0;
}
