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
	{"  index = 10\n", "", 10, "needs both index and default-mdt"},
	{"\"2001:db8::5\"", "\"198.18.0.2\"", 14, "\"198.18.0.2\" is listed twice"},
	{"\"198.18.0.1\"", "\"pe1.example\"", 14, "not a unicast IPv4 or IPv6 address"},
	{"\"ff3e::8000:20\"", "\"239.192.0.10\"", 12, "default-mdt 239.192.0.10 is already used"},
	{"vpn \"red\"", "vpn \"blue\"", 10, "duplicate title 'blue'"},
	{"agentx-ping-interval = 2", "agentx-ping-interval = 99999", 3, "out of range"},
	{"agentx-ping-interval = 2", "capture-file = \"/x\" capture-interface = \"eth0\"", 3,
	 "both set"},
	{"  index = 10\n", "  index = 10\n}\n", 13, "no such option 'default-mdt'"},
	{"}\n/*", "}}\n/*", 7, "unexpected closing brace"},
	/* active probing */
	{"  index = 10\n", "  index = 10\n probe { rate = 10 }\n", 10,
	 "probe-interface and probe-local-address must be set"},
	{"  index = 10\n", "  index = 10\n probe {\n rate = 0 }\n", 13, "rate = 0 is out of range"},
	{"  index = 10\n", "  index = 10\n probe {\n senders = { \"198.18.0.1\", \"2001:db8::1\" } }\n",
	 13, "not a unicast IPv4 address"},
	{"agentx-ping-interval = 2", "tunnel \"198.18.0.1\" { }", 3, "needs remote"},
	{"agentx-ping-interval = 2", "probe-local-address = \"239.1.1.1\"", 3,
	 "not a unicast IPv4 address"},
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
	{"  index = 10\n", "  index = 10\n thresholds { }\n thresholds { }\n", 10,
	 "more than one thresholds section"},
	{"agentx-ping-interval = 2", "pe-check-interval = 0", 3, "out of range"},
	/* fuzz_config's invariant (tests/fuzz/regressions/config/threshold-rounding):
	 * distinct in the file, one level in ppm or us */
	{"agentx-ping-interval = 2", "thresholds { loss-rising = 1.00004 loss-falling = 1.00001 }", 3,
	 "loss-falling = 1.00001 must be below loss-rising = 1.00004 by at least 1 ppm"},
	{"  index = 10\n", "  index = 10\n thresholds {\n delay-rising = 0.0004\n delay-falling = 0 }\n",
	 14, "delay-falling = 0 must be below delay-rising = 0.0004 by at least"},
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

TEST(strip_keeps_lines_and_quoted_hashes)
{
	const char *text = "a = \"x#y//z\" # c\n/* 1\n2 */ b = 'q#'\n// end";
	char *s = config_text_strip(text, strlen(text));

	CHECK(s != NULL);
	CHECK_EQ_INT(strlen(s), strlen(text));
	CHECK(strstr(s, "\"x#y//z\"") != NULL);
	CHECK(strstr(s, "'q#'") != NULL);
	CHECK(strchr(s, 'c') == NULL && strstr(s, "end") == NULL && strchr(s, '1') == NULL);
	int lines = 0;
	for (const char *p = s; *p; p++)
		lines += *p == '\n';
	CHECK_EQ_INT(lines, 3);
	free(s);
}

/* Found by fuzz_config (tests/fuzz/regressions/config/unterminated-comment):
 * a comment still open at the end of text that is not NUL-terminated made
 * strip compare "* /" one byte past the end. */
TEST(strip_reads_nothing_past_len)
{
	char *text = malloc(2), *s;

	memcpy(text, "/*", 2); /* exactly 2 bytes, as config_load_text may get them */
	s = config_text_strip(text, 2);
	CHECK(s != NULL);
	CHECK_EQ_STR(s, "  ");
	free(s);
	free(text);
}

/* A block comment ends at a "* /" after its opening: "/ * /" does not close
 * itself (as in C and in libconfuse's own lexer). */
TEST(strip_does_not_close_a_comment_with_its_own_star)
{
	const char *text = "/*/ a = 1 */b";
	char *s = config_text_strip(text, strlen(text));

	CHECK(s != NULL);
	CHECK_EQ_STR(s, "            b");
	free(s);
}

TEST(section_and_option_lines_are_found)
{
	const char *text = "x = 1\nvpn \"a\" {\n index = 1\n}\nvpn b {\n\n index = 2\n}\n";

	CHECK_EQ_INT(config_text_section_line(text, "vpn", "a"), 2);
	CHECK_EQ_INT(config_text_section_line(text, "vpn", "b"), 5);
	CHECK_EQ_INT(config_text_section_line(text, "vpn", "c"), 0);
	CHECK_EQ_INT(config_text_option_line(text, "vpn", "b", "index"), 7);
	CHECK_EQ_INT(config_text_option_line(text, "vpn", "a", "default-mdt"), 2);
	CHECK_EQ_INT(config_text_option_line(text, NULL, NULL, "x"), 1);
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
	CHECK_EQ_INT(config_text_sub_option_line(text, "vpn", "red", "thresholds", "jitter-rising"), 5);
	CHECK_EQ_INT(config_text_sub_option_line(text, NULL, NULL, "thresholds", "delay-rising"), 2);
	CHECK_EQ_INT(config_text_sub_option_line(text, "vpn", "blue", "thresholds", "loss-rising"), 7);
	config_free(c);
}

UNIT_MAIN("config", T(good_file_gives_sorted_vpns_and_defaults),
	  T(every_bad_file_is_refused_with_its_line), T(unreadable_file_says_why),
	  T(text_in_memory_loads_like_a_file_and_names_itself), T(empty_text_is_a_config_of_defaults),
	  T(strip_keeps_lines_and_quoted_hashes), T(strip_reads_nothing_past_len),
	  T(strip_does_not_close_a_comment_with_its_own_star),
	  T(section_and_option_lines_are_found),
	  T(thresholds_merge_the_vpn_over_the_global_defaults))
