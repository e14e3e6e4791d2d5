/* agent/config: what a good file yields, and that every bad one names file:line. */
#include "unit.h"

#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../agent/config.h"
#include "../../agent/config_text.h"
#include "../../mib/log.h"

static char last_error[1024];

static void capture_log(int priority, const char *fmt, va_list ap)
{
	(void)priority;
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
}

static char path[] = "/tmp/mvpnmon-test-config-XXXXXX";

static struct config *load_text(const char *text)
{
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");

	fputs(text, f);
	fclose(f);
	last_error[0] = '\0';
	struct config *c = config_load(path);
	unlink(path);
	strcpy(path + strlen(path) - 6, "XXXXXX");
	return c;
}

static const char good[] =
	"# a comment on line 1\n"
	"agentx-socket = \"/run/agentx/master\"\n"
	"agentx-ping-interval = 2 // another comment style\n"
	"vpn \"blue\" {\n"
	"  index = 20\n"
	"  default-mdt = \"ff3e::8000:20\"\n"
	"}\n"
	"/* a block\n   comment */\n"
	"vpn \"red\" {\n"
	"  index = 10\n"
	"  default-mdt = \"239.192.0.10\"\n"
	"  expected-pes = { \"198.18.0.2\", # comment inside a list\n"
	"                   \"198.18.0.1\", \"2001:db8::5\" }\n"
	"}\n";

TEST(good_file_gives_sorted_vpns_and_defaults)
{
	struct config *c = load_text(good);
	char buf[INET_ADDR_STRLEN];

	CHECK(c != NULL);
	CHECK_EQ_STR(c->agentx_socket, "/run/agentx/master");
	CHECK_EQ_INT(c->agentx_ping_interval, 2);
	CHECK_EQ_INT(c->startup_grace, 105);
	CHECK_EQ_INT(c->change_log_size, 10000);
	CHECK(c->capture_interface == NULL && c->capture_file == NULL);
	CHECK_EQ_INT(c->n_vpns, 2);
	CHECK_EQ_INT(c->vpns[0].index, 10);
	CHECK_EQ_STR(c->vpns[0].name, "red");
	CHECK_EQ_STR(inet_addr_format(&c->vpns[0].default_mdt, buf), "239.192.0.10");
	CHECK_EQ_INT(c->vpns[0].n_expected, 3);
	CHECK_EQ_STR(inet_addr_format(&c->vpns[0].expected_pes[2], buf), "2001:db8::5");
	CHECK_EQ_INT(c->vpns[1].index, 20);
	CHECK_EQ_INT(c->vpns[1].default_mdt.type, INET_IPV6);
	CHECK_EQ_INT(c->vpns[1].n_expected, 0);
	config_free(c);
}

struct bad_case {
	const char *from, *to; /* one substitution into `good` */
	int line;
	const char *says;
};

static const struct bad_case bad_cases[] = {
	{"\"239.192.0.10\"", "\"198.18.0.10\"", 12, "not an IPv4 or IPv6 multicast group"},
	{"index = 10", "index = 20", 11, "index 20 is already used by vpn \"blue\""},
	{"index = 10", "index = 0", 11, "out of range"},
	{"index = 10", "index = ten", 11, "not a whole number"},
	{"index = 10", "indx = 10", 11, "no such option 'indx'"},
	{"  index = 10\n", "", 10, "needs index, and default-mdt (draft-rosen) or rds (BGP MVPN, RFC 6514)"},
	{"\"2001:db8::5\"", "\"198.18.0.2\"", 14, "\"198.18.0.2\" is listed twice"},
	{"\"198.18.0.1\"", "\"pe1.example\"", 14, "not a unicast IPv4 or IPv6 address"},
	{"\"ff3e::8000:20\"", "\"239.192.0.10\"", 12, "default-mdt 239.192.0.10 is already used"},
	{"vpn \"red\"", "vpn \"blue\"", 10, "duplicate title 'blue'"},
	{"agentx-ping-interval = 2", "agentx-ping-interval = 99999", 3, "out of range"},
	{"agentx-ping-interval = 2", "capture-file = \"/x\" capture-interface = \"eth0\"", 3,
	 "both set"},
	/* A syntax error anywhere comes before what the file means. */
	{"  index = 10\n", "  index = 10\n}\n", 16, "unexpected closing brace"},
	{"}\n/*", "}}\n/*", 7, "unexpected closing brace"},
	/* active probing */
	{"  index = 10\n", "  index = 10\n probe { rate = 10 }\n", 12,
	 "probe-interface and probe-local-address must be set"},
	{"  index = 10\n", "  index = 10\n probe {\n rate = 0 }\n", 13, "rate = 0 is out of range"},
	{"  index = 10\n", "  index = 10\n probe {\n senders = { \"198.18.0.1\", \"2001:db8::1\" } }\n",
	 13, "not a unicast IPv4 address"},
	{"agentx-ping-interval = 2", "tunnel \"198.18.0.1\" { }", 3, "needs remote"},
	{"agentx-ping-interval = 2", "probe-local-address = \"239.1.1.1\"", 3,
	 "probe-local-address: \"239.1.1.1\" is a multicast group, never the monitor's"},
	/* thresholds */
	{"agentx-ping-interval = 2", "thresholds { loss-rising = 4 }", 3,
	 "loss-rising needs loss-falling"},
	{"agentx-ping-interval = 2", "thresholds { loss-rising = 4 loss-falling = 5 }", 3,
	 "thresholds: loss-falling = 5 must be below loss-rising = 4"},
	{"agentx-ping-interval = 2", "thresholds { delay-falling = 5 }", 3,
	 "delay-falling is set but delay-rising is not"},
	{"agentx-ping-interval = 2", "thresholds { loss-rising = 101 }", 3,
	 "not a number from 0 to 100 (percent)"},
	{"agentx-ping-interval = 2", "thresholds { jitter-rising = -1 }", 3,
	 "not a number from 0 to 3.6e+06 (milliseconds)"},
	{"  index = 10\n", "  index = 10\n thresholds {\n loss-rising = 4\n loss-falling = 5 }\n", 14,
	 "vpn \"red\": loss-falling = 5 must be below loss-rising = 4"},
	{"  index = 10\n", "  index = 10\n thresholds { }\n thresholds { }\n", 13,
	 "more than one thresholds section (the first is on line 12)"},
	{"agentx-ping-interval = 2", "pe-check-interval = 0", 3, "out of range"},
	/* fuzz_config's invariant (tests/fuzz/regressions/config/threshold-rounding):
	 * distinct in the file, one level in ppm or us */
	{"agentx-ping-interval = 2", "thresholds { loss-rising = 1.00004 loss-falling = 1.00001 }", 3,
	 "loss-falling = 1.00001 must be below loss-rising = 1.00004 by at least 1 ppm"},
	{"  index = 10\n", "  index = 10\n thresholds {\n delay-rising = 0.0004\n delay-falling = 0 }\n",
	 14, "delay-falling = 0 must be below delay-rising = 0.0004 by at least"},
	/* Read whole or refused: nothing cut off, nothing left open. */
	{"vpn \"red\"", "/* red: re-provisioning\nvpn \"red\"", 10,
	 "comment opened here is never closed"},
	{"\"2001:db8::5\" }\n}\n", "\"2001:db8::5\" }\n", 10,
	 "vpn \"red\" is not closed: no } before the end of the file"},
	{"\"2001:db8::5\" }\n}\n", "\"2001:db8::5\",\n", 13,
	 "the list of expected-pes is not closed"},
	{"  index = 10\n", "  index = 10\n  index = 11\n", 12, "index is set twice (first on line 11)"},
	{"\"/run/agentx/master\"", "\"/run/agentx/master", 2, "string not closed"},
	{"index = 10", "index = 10 =", 11, "expected an option or a section, not '='"},
	{"index = 10", "index 10", 11, "expected { after index \"10\", not 'default-mdt'"},
	/* Names: UTF-8 bytes that fit mvpnVpnName, printable, no quote. */
	{"vpn \"blue\"", "vpn \""
	 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	 "\"", 4,
	 "vpn name is 80 bytes of UTF-8 (40 characters): it must be 1 to 64 bytes"},
	{"vpn \"blue\"", "vpn \"bl\nue\"", 4, "string not closed: no \" before the end of the line"},
	{"vpn \"blue\"", "vpn \"bl\\\"ue\"", 4, "vpn name \"bl\"ue\" has a quote"},
	{"vpn \"blue\"", "vpn 'bl\"ue'", 4, "has a quote"},
	{"vpn \"blue\"", "vpn \"bl\xffue\"", 4, "is not valid UTF-8"},
	{"vpn \"blue\"", "vpn \"bl\xc0\xafue\"", 4, "is not valid UTF-8"}, /* overlong '/' */
	{"vpn \"blue\"", "vpn \"bl\\x00ue\"", 4, "unknown escape \\x in a string"},
	{"vpn \"blue\"", "vpn \"bl\tue\"", 4, "control character 0x09 in a string"},
	{"vpn \"blue\"", "vpn \"bl\xc2\x85ue\"", 4, "has a control character"}, /* C1 NEL */
	{"vpn \"blue\"", "vpn \"\"", 4, "vpn name is 0 bytes"},
	/* Groups that never leave a link are never a default MDT (RFC 5771 4, RFC 4291 2.7). */
	{"\"239.192.0.10\"", "\"224.0.0.13\"", 12, "default-mdt \"224.0.0.13\" is in 224.0.0.0/24"},
	{"\"239.192.0.10\"", "\"224.0.0.1\"", 12, "\"224.0.0.1\" is in 224.0.0.0/24"},
	{"\"ff3e::8000:20\"", "\"ff02::1\"", 6, "default-mdt \"ff02::1\" is link-local scope"},
	{"\"ff3e::8000:20\"", "\"ff01::8000:20\"", 6, "is interface-local scope"},
	{"\"ff3e::8000:20\"", "\"ff30::8000:20\"", 6, "is reserved scope 0"},
	/* Addresses no PE has, wherever a PE's address goes. */
	{"\"198.18.0.1\"", "\"127.0.0.1\"", 14, "expected-pes: \"127.0.0.1\" is a loopback address, never a PE"},
	{"\"2001:db8::5\"", "\"::1\"", 14, "\"::1\" is a loopback address"},
	{"\"2001:db8::5\"", "\"fe80::1\"", 14, "\"fe80::1\" is a link-local address"},
	{"\"2001:db8::5\"", "\"::\"", 14, "\"::\" is the unspecified address"},
	{"\"198.18.0.1\"", "\"0.0.0.0\"", 14, "\"0.0.0.0\" is in 0.0.0.0/8"},
	{"\"198.18.0.1\"", "\"169.254.0.1\"", 14, "is a link-local address"},
	{"\"198.18.0.1\"", "\"255.255.255.255\"", 14, "or the broadcast address, never a PE"},
	{"\"198.18.0.1\"", "\"239.1.1.1\"", 14, "is a multicast group, never a PE"},
	{"\"2001:db8::5\"", "\"::ffff:198.18.0.9\"", 14, "IPv4-mapped"},
	{"agentx-ping-interval = 2", "tunnel \"198.18.0.1\" { remote = \"127.0.0.1\" }", 3,
	 "remote: \"127.0.0.1\" is a loopback address"},
	{"agentx-ping-interval = 2", "tunnel \"169.254.9.9\" { remote = \"198.18.0.1\" }", 3,
	 "tunnel \"169.254.9.9\": \"169.254.9.9\" is a link-local address"},
	{"agentx-ping-interval = 2", "probe-local-address = \"127.0.0.1\"", 3,
	 "probe-local-address: \"127.0.0.1\" is a loopback address, never the monitor's"},
	{"  index = 10\n", "  index = 10\n probe {\n receivers = { \"198.18.0.1\", \"127.0.0.9\" } }\n",
	 13, "receivers: \"127.0.0.9\" is a loopback address"},
	/* The history store: one backend, an absolute file, a name a shared store can list. */
	{"agentx-ping-interval = 2", "history { monitor = \"m1\" }", 3,
	 "history needs exactly one of file (SQLite) and postgres"},
	{"agentx-ping-interval = 2",
	 "history {\n file = \"/var/lib/h.db\"\n postgres = \"dbname=x\" }", 3,
	 "history needs exactly one of file"},
	{"agentx-ping-interval = 2", "history { file = \"h.db\" }", 3,
	 "history file \"h.db\" must be an absolute path"},
	{"agentx-ping-interval = 2", "history {\n file = \"/h.db\"\n monitor = \"a b\" }", 5,
	 "history monitor \"a b\" must be 1 to 64 printable characters"},
	{"agentx-ping-interval = 2", "history {\n file = \"/h.db\"\n queue = 5000\n batch = 6000 }",
	 3, "history batch (6000) is larger than its queue (5000)"},
	{"agentx-ping-interval = 2", "history {\n file = \"/h.db\"\n flush-interval = 5 }", 5,
	 "flush-interval = 5 is out of range (10..600000)"},
	{"agentx-ping-interval = 2", "history { file = \"/h.db\" }\nhistory { file = \"/i.db\" }",
	 4, "more than one history section (the first is on line 3)"},
	{"agentx-ping-interval = 2", "tunnel \"198.18.0.1\" { remote = \"198.18.1.1\" }\n"
	 "tunnel \"198.18.0.1\" { remote = \"198.18.1.2\" }", 4,
	 "tunnel \"198.18.0.1\" is defined twice (first on line 3)"},
	{"agentx-ping-interval = 2", "pe \"198.18.0.1\" { }", 3, "pe \"198.18.0.1\" needs name"},
	{"agentx-ping-interval = 2", "pe \"198.18.0.1\" {\n name = \"nyc\" }\n"
	 "pe \"198.18.0.1\" { name = \"sfo\" }", 5,
	 "pe \"198.18.0.1\" is defined twice (first on line 3)"},
	{"agentx-ping-interval = 2", "pe \"127.0.0.1\" { name = \"lo\" }", 3,
	 "pe \"127.0.0.1\": \"127.0.0.1\" is a loopback address"},
	{"agentx-ping-interval = 2", "pe \"239.1.1.1\" { name = \"m\" }", 3,
	 "\"239.1.1.1\" is a multicast group, never a PE"},
	{"agentx-ping-interval = 2", "pe \"nyc-pe1\" { name = \"m\" }", 3,
	 "is not a unicast IPv4 or IPv6 address"},
	{"agentx-ping-interval = 2", "pe \"198.18.0.1\" {\n name = \"it's\" }", 4,
	 "pe name \"it's\" has a quote"},
	{"agentx-ping-interval = 2", "pe \"198.18.0.1\" { name = \"\" }", 3,
	 "pe name is 0 bytes of UTF-8 (0 characters): it must be 1 to 64 bytes (mvpnPeName's size)"},
	{"agentx-ping-interval = 2", "pe \"198.18.0.1\" { name = \"a\" nick = \"b\" }", 3,
	 "nick"},
	/* The BMP collector: where it listens, who may connect, its caps. */
	{"agentx-ping-interval = 2", "bmp {\n allow = { \"127.0.0.1\" } }", 3,
	 "bmp needs listen = \"ADDR:PORT\""},
	{"agentx-ping-interval = 2", "bmp {\n listen = \"127.0.0.1\"\n allow = { \"127.0.0.1\" } }", 4,
	 "bmp listen = \"127.0.0.1\" is not ADDR:PORT"},
	{"agentx-ping-interval = 2", "bmp {\n listen = \"::1:11019\"\n allow = { \"::1\" } }", 4,
	 "is not ADDR:PORT (IPv6 as [ADDR]:PORT"},
	{"agentx-ping-interval = 2", "bmp {\n listen = \"127.0.0.1:70000\"\n allow = { \"::1\" } }",
	 4, "is not ADDR:PORT"},
	{"agentx-ping-interval = 2", "bmp {\n listen = \"127.0.0.1:11019\" }", 3,
	 "bmp needs allow = {"},
	{"agentx-ping-interval = 2", "bmp {\n listen = \"127.0.0.1:11019\"\n allow = {\n"
	 " \"127.0.0.1\",\n \"198.18.0.1/15\" } }", 7,
	 "bmp allow: \"198.18.0.1/15\" is not an IPv4 or IPv6 address or prefix"},
	{"agentx-ping-interval = 2", "bmp {\n listen = \"127.0.0.1:11019\"\n allow = { \"::1/129\" } }",
	 5, "bmp allow: \"::1/129\""},
	{"agentx-ping-interval = 2", "bmp {\n listen = \"127.0.0.1:11019\"\n allow = { \"::1\" }\n"
	 " max-routes-per-router = 0 }", 6, "max-routes-per-router = 0 is out of range"},
	{"agentx-ping-interval = 2", "bmp {\n listen = \"[::1]:11019\"\n allow = { \"::1\" }\n"
	 " peers = 3 }", 6, "no such option 'peers'"},
};

static char *substitute(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	char *out = malloc(strlen(text) + strlen(to) + 1);

	if (!at || !out)
		abort();
	size_t head = (size_t)(at - text);
	memcpy(out, text, head);
	strcpy(out + head, to);
	strcat(out, at + strlen(from));
	return out;
}

TEST(every_bad_file_is_refused_with_its_line)
{
	mvpn_log_set_sink(capture_log);
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *b = &bad_cases[i];
		char *text = substitute(good, b->from, b->to);
		char want[64];
		struct config *c = load_text(text);

		free(text);
		snprintf(want, sizeof(want), ":%d: ", b->line);
		if (c || !strstr(last_error, want) || !strstr(last_error, b->says))
			printf("#   case %zu: got \"%s\"\n", i, last_error);
		CHECK(c == NULL);
		CHECK(strstr(last_error, "/tmp/mvpnmon-test-config-") == last_error);
		CHECK(strstr(last_error, want) != NULL);
		CHECK(strstr(last_error, b->says) != NULL);
	}
	mvpn_log_set_sink(NULL);
}

TEST(bmp_section_listens_and_allows_prefixes)
{
	static const char text[] =
		"bmp {\n"
		"  listen = \"[::1]:11019\"\n"
		"  allow = { \"127.0.0.1\", \"198.18.0.0/15\", \"2001:db8::/32\" }\n"
		"  max-routes-per-router = 500\n"
		"}\n";
	struct config *c = config_load_text("bmp.conf", text, strlen(text));
	struct inet_addr a;
	char b[INET_ADDR_STRLEN];

	CHECK(c != NULL);
	CHECK(c->bmp.enabled);
	CHECK_EQ_STR(inet_addr_format(&c->bmp.listen, b), "::1");
	CHECK_EQ_INT(c->bmp.port, 11019);
	CHECK_EQ_INT(c->bmp.n_allow, 3);
	CHECK_EQ_INT(c->bmp.max_routes_per_router, 500);
	CHECK_EQ_INT(c->bmp.max_routers, 64);
	CHECK_EQ_INT(c->bmp.settle, 60);
	CHECK(!c->bmp.discover);
	CHECK_EQ_INT(c->bmp.max_discovered_vpns, 1000);
	static const struct {
		const char *addr;
		bool allowed;
	} probes[] = {{"127.0.0.1", true},  {"127.0.0.2", false}, {"198.19.255.255", true},
		      {"198.20.0.0", false}, {"2001:db8:1::1", true}, {"2001:db9::1", false},
		      {"::ffff:127.0.0.1", false}};
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		CHECK(inet_addr_parse(&a, probes[i].addr));
		CHECK_EQ_INT(config_bmp_allowed(&c->bmp, &a), probes[i].allowed);
	}
	config_free(c);
	c = config_load_text("none.conf", "", 0);
	CHECK(c != NULL && !c->bmp.enabled);
	config_free(c);
}

TEST(expected_pes_bgp_takes_the_pes_from_the_bmp_section_it_needs)
{
	static const char text[] =
		"bmp { listen = \"127.0.0.1:11019\"  allow = { \"127.0.0.1\" }\n"
		"      settle = 0  discover = yes  max-discovered-vpns = 5 }\n"
		"vpn \"blue\" { index = 2  default-mdt = \"239.192.0.4\"  expected-pes = bgp }\n"
		"vpn \"red\" { index = 1  default-mdt = \"239.192.0.1\"\n"
		"  expected-pes = { \"198.18.0.1\" } }\n";
	struct config *c = config_load_text("bgp.conf", text, strlen(text));

	CHECK(c != NULL);
	CHECK_EQ_INT(c->bmp.settle, 0);
	CHECK(c->bmp.discover);
	CHECK_EQ_INT(c->bmp.max_discovered_vpns, 5);
	CHECK(!c->vpns[0].expect_bgp && c->vpns[0].n_expected == 1);
	CHECK(c->vpns[1].expect_bgp && c->vpns[1].n_expected == 0);
	config_free(c);

	static const char alone[] =
		"startup-grace = 5\n"
		"vpn \"blue\" { index = 2  default-mdt = \"239.192.0.4\"\n"
		"  expected-pes = bgp }\n";
	mvpn_log_set_sink(capture_log);
	c = config_load_text("alone.conf", alone, strlen(alone));
	mvpn_log_set_sink(NULL);
	CHECK(c == NULL);
	CHECK_EQ_STR(last_error, "alone.conf:3: vpn \"blue\": expected-pes = bgp needs a bmp "
				 "section to learn BGP's routes from");
	/* A VPN signalled by BGP: its RDs, in the three forms of RFC 4364 4.2. */
	static const char mvpn[] =
		"vpn \"green\" { index = 3\n"
		"  rds = { \"65000:7\", \"198.18.0.1:9\", \"4200000000:5\" }\n"
		"  expected-pes = { \"198.18.0.1\" } }\n";
	c = config_load_text("mvpn.conf", mvpn, strlen(mvpn));
	CHECK(c != NULL);
	CHECK_EQ_INT(c->vpns[0].n_rds, 3);
	CHECK(c->vpns[0].rds[0] == 0x0000fde800000007ull);
	CHECK(c->vpns[0].rds[1] == 0x0001c61200010009ull);
	CHECK(c->vpns[0].rds[2] == 0x0002fa56ea000005ull);
	CHECK_EQ_INT(c->vpns[0].default_mdt.type, INET_UNKNOWN);
	config_free(c);
	static const struct {
		const char *text;
		const char *says;
	} bad[] = {
		{"vpn \"g\" { index = 3\n rds = { \"65000:1\" }\n default-mdt = \"239.192.0.1\" }",
		 "mvpn.conf:2: vpn \"g\": default-mdt and rds: a VPN is signalled by PIM"},
		{"vpn \"g\" { index = 3\n rds = { \"65000:99999999999\" } }",
		 "mvpn.conf:2: rds: \"65000:99999999999\" is not a route distinguisher"},
		{"vpn \"g\" { index = 3\n rds = { \"4200000000:70000\" } }",
		 "mvpn.conf:2: rds: \"4200000000:70000\" is not"},
		{"vpn \"g\" { index = 3\n rds = { \"::1:5\" } }", "mvpn.conf:2: rds: \"::1:5\""},
		{"vpn \"g\" { index = 3  rds = { \"65000:1\" } }\n"
		 "vpn \"h\" { index = 4\n rds = { \"65000:1\" } }",
		 "mvpn.conf:3: vpn \"h\": a route distinguisher of rds is already vpn \"g\"'s"},
		{"vpn \"g\" { index = 3\n rds = { \"65000:1\" }\n probe { } }",
		 "mvpn.conf:3: vpn \"g\": a VPN signalled by BGP is not probed"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mvpn_log_set_sink(capture_log);
		c = config_load_text("mvpn.conf", bad[i].text, strlen(bad[i].text));
		mvpn_log_set_sink(NULL);
		if (c || strstr(last_error, bad[i].says) != last_error)
			printf("#   case %zu: got \"%s\"\n", i, last_error);
		CHECK(c == NULL);
		CHECK(strstr(last_error, bad[i].says) == last_error);
	}
	/* In a list, "bgp" is an address like any other: refused as one. */
	static const char listed[] =
		"vpn \"blue\" { index = 2  default-mdt = \"239.192.0.4\"\n"
		"  expected-pes = { \"bgp\" } }\n";
	mvpn_log_set_sink(capture_log);
	c = config_load_text("listed.conf", listed, strlen(listed));
	mvpn_log_set_sink(NULL);
	CHECK(c == NULL);
	CHECK(strstr(last_error, "listed.conf:2: ") == last_error);
}

TEST(unreadable_file_says_why)
{
	mvpn_log_set_sink(capture_log);
	struct config *c = config_load("/nonexistent/mvpnmond.conf");
	mvpn_log_set_sink(NULL);
	CHECK(c == NULL);
	CHECK(strstr(last_error, "/nonexistent/mvpnmond.conf: cannot read") != NULL);
	CHECK(strstr(last_error, "No such file") != NULL);
}

TEST(text_in_memory_loads_like_a_file_and_names_itself)
{
	static const char bad[] = "vpn \"x\" {\n index = 0 }";
	struct config *c = config_load_text("mem.conf", good, strlen(good));

	CHECK(c != NULL);
	CHECK_EQ_INT(c->n_vpns, 2);
	CHECK_EQ_STR(c->vpns[0].name, "red");
	config_free(c);
	mvpn_log_set_sink(capture_log);
	c = config_load_text("mem.conf", bad, strlen(bad));
	mvpn_log_set_sink(NULL);
	CHECK(c == NULL);
	CHECK(strstr(last_error, "mem.conf:2: index = 0 is out of range") == last_error);
}

/* Found by fuzz_config (tests/fuzz/regressions/config/empty): no VPN and no
 * tunnel once handed qsort a NULL array, undefined even for 0 elements. */
TEST(empty_text_is_a_config_of_defaults)
{
	struct config *c = config_load_text("empty.conf", "", 0);

	CHECK(c != NULL);
	CHECK(c->n_vpns == 0 && c->vpns == NULL && c->n_tunnels == 0 && c->tunnels == NULL);
	CHECK_EQ_INT(c->startup_grace, 105);
	config_free(c);
}

/* The tree's items and values carry their lines through every kind of comment. */
TEST(comments_are_skipped_and_lines_kept)
{
	const char *text = "a = \"x#y//z\" # c\n/* 1\n2 */ b = 'q#' // end\n"
			   "s \"t\" {\n l = { 1, /* x */\n 2, } }\n/*/ c = 1 */d = \"\"";
	struct conf_tree *t = conf_parse("t.conf", text, strlen(text));

	CHECK(t != NULL);
	const struct conf_item *a = conf_items(t), *b = a->next, *sec = b->next, *d = sec->next;
	CHECK_EQ_STR(a->name, "a");
	CHECK_EQ_STR(a->values->text, "x#y//z");
	CHECK_EQ_INT(a->line, 1);
	CHECK_EQ_STR(b->name, "b");
	CHECK_EQ_STR(b->values->text, "q#");
	CHECK_EQ_INT(b->line, 3);
	CHECK(sec->section && !sec->list);
	CHECK_EQ_STR(sec->title->text, "t");
	CHECK_EQ_INT(sec->line, 4);
	CHECK(sec->items->list);
	CHECK_EQ_INT(sec->items->n_values, 2);
	CHECK_EQ_INT(sec->items->values->next->line, 6);
	/* Slash, star, slash does not close the comment it opens (as in C). */
	CHECK_EQ_STR(d->name, "d");
	CHECK_EQ_INT(d->line, 7);
	CHECK_EQ_INT(d->values->len, 0);
	CHECK(d->next == NULL);
	conf_free(t);
}

/* Found by fuzz_config (tests/fuzz/regressions/config/unterminated-comment):
 * a comment still open at the end of text that is not NUL-terminated was
 * read one byte past the end.  It is now an error, and reads nothing past len. */
TEST(an_open_comment_is_an_error_and_read_within_len)
{
	char *text = malloc(2);

	memcpy(text, "/*", 2); /* exactly 2 bytes, as config_load_text may get them */
	mvpn_log_set_sink(capture_log);
	CHECK(conf_parse("c.conf", text, 2) == NULL);
	mvpn_log_set_sink(NULL);
	free(text);
	CHECK(strstr(last_error, "c.conf:1: comment opened here is never closed") == last_error);
}

/* A NUL byte once ended a name early (libconfuse's \x00); now it is refused. */
TEST(a_nul_byte_is_refused_with_its_line)
{
	static const char text[] = "vpn \"a\" {\n index = 1 default-mdt = \"239.192.0.1\"\n}\n"
				   "vpn \"b\0c\" {\n index = 2 default-mdt = \"239.192.0.2\" }\n";

	mvpn_log_set_sink(capture_log);
	struct config *c = config_load_text("nul.conf", text, sizeof(text) - 1);
	mvpn_log_set_sink(NULL);
	CHECK(c == NULL);
	CHECK(strstr(last_error, "nul.conf:4: control character 0x00 in a string") == last_error);
}

/* Names are characters of UTF-8 and fit in mvpnVpnName's 64 octets. */
TEST(utf8_names_are_accepted_up_to_64_bytes)
{
	char text[512], name[80] = "";
	size_t chars = 0;

	for (int i = 0; i < 32; i++)
		strcat(name, "\xc3\xa9"); /* 32 x U+00E9: 64 bytes */
	snprintf(text, sizeof(text), "vpn \"%s\" { index = 1 default-mdt = \"239.192.0.1\" }\n"
		 "vpn \"\xe6\x9d\xb1\xe4\xba\xac\" { index = 2 default-mdt = \"ff3e::1\" }\n", name);
	struct config *c = config_load_text("utf8.conf", text, strlen(text));

	CHECK(c != NULL);
	CHECK_EQ_STR(c->vpns[0].name, name);
	CHECK_EQ_STR(c->vpns[1].name, "\xe6\x9d\xb1\xe4\xba\xac");
	config_free(c);
	CHECK(conf_utf8_valid(name, strlen(name), &chars) && chars == 32);
	CHECK(!conf_utf8_valid("\xed\xa0\x80", 3, &chars)); /* a surrogate */
	CHECK(!conf_utf8_valid("\xf4\x90\x80\x80", 4, &chars)); /* above U+10FFFF */
	CHECK(!conf_utf8_valid("\xe6\x9d", 2, &chars)); /* cut short */
}

TEST(pe_sections_give_names_sorted_by_address)
{
	static const char text[] =
		"pe \"2001:db8::5\" { name = \"nyc-pe1\" }\n"
		"pe \"198.18.0.9\" { name = \"sfo-pe2\" }\n"
		"pe \"198.18.0.1\" { name = \"nyc-pe1\" } # a router's two ends share a name\n";
	struct config *c = config_load_text("names.conf", text, strlen(text));

	CHECK(c != NULL);
	CHECK_EQ_INT(c->n_pes, 3);
	char a[INET_ADDR_STRLEN];
	CHECK_EQ_STR(inet_addr_format(&c->pes[0].addr, a), "198.18.0.1");
	CHECK_EQ_STR(c->pes[0].name, "nyc-pe1");
	CHECK_EQ_INT(c->pes[0].line, 3);
	CHECK_EQ_STR(inet_addr_format(&c->pes[1].addr, a), "198.18.0.9");
	CHECK_EQ_STR(c->pes[1].name, "sfo-pe2");
	CHECK_EQ_STR(inet_addr_format(&c->pes[2].addr, a), "2001:db8::5");
	config_free(c);
}

TEST(pe_names_are_found_by_address)
{
	struct pe_names t = {0};
	struct pe_name *v = calloc(2, sizeof(*v));
	struct inet_addr x;

	CHECK(v != NULL);
	inet_addr_parse(&v[0].addr, "198.18.0.1");
	strcpy(v[0].name, "nyc-pe1");
	inet_addr_parse(&v[1].addr, "2001:db8::5");
	strcpy(v[1].name, "lon-pe3");
	inet_addr_parse(&x, "198.18.0.2");
	CHECK(pe_names_find(&t, &x) == NULL); /* empty */
	pe_names_set(&t, v, 2);
	CHECK(pe_names_find(&t, &x) == NULL);
	CHECK_EQ_STR(pe_names_find(&t, &v[1].addr), "lon-pe3");
	inet_addr_parse(&x, "198.18.0.1");
	CHECK_EQ_STR(pe_names_find(&t, &x), "nyc-pe1");
	pe_names_free(&t);
	CHECK(t.n == 0 && t.v == NULL);
}

TEST(thresholds_merge_the_vpn_over_the_global_defaults)
{
	static const char text[] =
		"thresholds { loss-rising = 5  loss-falling = 1\n"
		"             delay-rising = 50 delay-falling = 30 }\n"
		"vpn \"red\" { index = 1  default-mdt = \"239.192.0.1\"\n"
		"  thresholds { loss-rising = 10\n jitter-rising = 2.5  jitter-falling = 0 } }\n"
		"vpn \"blue\" { index = 2  default-mdt = \"239.192.0.2\"\n"
		"  thresholds { delay-rising = 0 } }\n";
	struct config *c = load_text(text);

	CHECK(c != NULL);
	const struct thresholds *red = &c->vpns[0].thresholds, *blue = &c->vpns[1].thresholds;
	CHECK_EQ_INT(red->t[METRIC_LOSS].rising, 100000); /* ppm */
	CHECK_EQ_INT(red->t[METRIC_LOSS].falling, 10000);
	CHECK_EQ_INT(red->t[METRIC_DELAY].rising, 50000); /* us */
	CHECK_EQ_INT(red->t[METRIC_DELAY].falling, 30000);
	CHECK_EQ_INT(red->t[METRIC_JITTER].rising, 2500);
	CHECK_EQ_INT(red->t[METRIC_JITTER].falling, 0);
	CHECK_EQ_INT(blue->t[METRIC_LOSS].rising, 50000);
	CHECK_EQ_INT(blue->t[METRIC_DELAY].rising, 0); /* switched off for blue */
	CHECK_EQ_INT(blue->t[METRIC_JITTER].rising, 0);
	CHECK_EQ_INT(c->pe_check_interval, 10);
	config_free(c);
}

TEST(history_section_gives_its_settings_and_defaults)
{
	struct config *c = load_text("history {\n file = \"/var/lib/mvpnmon/history.db\"\n"
				     " monitor = \"nyc-mon1\"\n checkpoint-interval = 60\n}\n");
	CHECK(c != NULL);
	CHECK(c->history.enabled);
	CHECK_EQ_STR(c->history.file, "/var/lib/mvpnmon/history.db");
	CHECK(c->history.postgres == NULL);
	CHECK_EQ_STR(c->history.monitor, "nyc-mon1");
	CHECK_EQ_INT(c->history.checkpoint_interval, 60);
	CHECK_EQ_INT(c->history.flush_interval_ms, 1000);
	CHECK_EQ_INT(c->history.queue, 1000000);
	CHECK_EQ_INT(c->history.batch, 10000);
	CHECK_EQ_INT(c->history.retain_days, 0);
	config_free(c);
	/* No section: no history; the monitor's name defaults to the host's. */
	c = load_text("agentx-ping-interval = 2\n");
	CHECK(c != NULL && !c->history.enabled && c->history.monitor == NULL);
	config_free(c);
	c = load_text("history { postgres = \"host=/tmp dbname=mvpnmon\" }\n");
	CHECK(c != NULL && c->history.enabled && c->history.postgres && !c->history.file);
	CHECK(c->history.monitor != NULL && c->history.monitor[0] != '\0');
	config_free(c);
}

UNIT_MAIN("config", T(good_file_gives_sorted_vpns_and_defaults),
	  T(every_bad_file_is_refused_with_its_line), T(unreadable_file_says_why),
	  T(bmp_section_listens_and_allows_prefixes),
	  T(expected_pes_bgp_takes_the_pes_from_the_bmp_section_it_needs),
	  T(text_in_memory_loads_like_a_file_and_names_itself), T(empty_text_is_a_config_of_defaults),
	  T(comments_are_skipped_and_lines_kept), T(an_open_comment_is_an_error_and_read_within_len),
	  T(a_nul_byte_is_refused_with_its_line), T(utf8_names_are_accepted_up_to_64_bytes),
	  T(pe_sections_give_names_sorted_by_address), T(pe_names_are_found_by_address),
	  T(thresholds_merge_the_vpn_over_the_global_defaults),
	  T(history_section_gives_its_settings_and_defaults))
