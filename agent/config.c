#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../mib/log.h"
#include "config_text.h"

/* The probe header of an IPv4 sender (probe/wire.h): the smallest probe payload. */
#define PROBE_MIN_SIZE 32

/* One load: the file's name for messages and whether it failed.  Only the
 * first problem is reported (later ones may be its consequences). */
struct load {
	const char *file;
	bool failed;
};

static void fail(struct load *ld, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(struct load *ld, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (ld->failed)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mvpn_log(LOG_ERR, "%s:%d: %s", ld->file, line, msg);
	ld->failed = true;
}

/* ---- the schema: what each section may hold ---- */

enum kind { K_INT, K_FLOAT, K_BOOL, K_STR, K_LIST, K_SECTION, K_TITLED };

#define NO_FIELD ((size_t)-1)

/* An option; K_INT options with a field are unsigned members of the struct
 * being filled, with a default and limits that keep a typo from asking for
 * absurd memory or timers. */
struct opt {
	const char *name;
	enum kind kind;
	size_t field;
	long long def, lo, hi;
};

#define INT_OPT(n, s, f, d, l, h) {n, K_INT, offsetof(struct s, f), d, l, h}

/* The order is the order of the set[] slots below; vpn first, as most items are VPNs. */
enum { T_VPN, T_TUNNEL, T_PE, T_THRESHOLDS, T_HISTORY, T_BMP, T_AGENTX_SOCKET, T_USER,
       T_CAPTURE_IF, T_CAPTURE_FILE, T_PROBE_IF, T_PROBE_LOCAL, T_FIRST_INT };
static const struct opt top_opts[] = {
	{"vpn", K_TITLED, NO_FIELD, 0, 0, 0},
	{"tunnel", K_TITLED, NO_FIELD, 0, 0, 0},
	{"pe", K_TITLED, NO_FIELD, 0, 0, 0},
	{"thresholds", K_SECTION, NO_FIELD, 0, 0, 0},
	{"history", K_SECTION, NO_FIELD, 0, 0, 0},
	{"bmp", K_SECTION, NO_FIELD, 0, 0, 0},
	{"agentx-socket", K_STR, offsetof(struct config, agentx_socket), 0, 0, 0},
	{"user", K_STR, offsetof(struct config, user), 0, 0, 0},
	{"capture-interface", K_STR, offsetof(struct config, capture_interface), 0, 0, 0},
	{"capture-file", K_STR, offsetof(struct config, capture_file), 0, 0, 0},
	{"probe-interface", K_STR, offsetof(struct config, probe_interface), 0, 0, 0},
	{"probe-local-address", K_STR, NO_FIELD, 0, 0, 0},
	INT_OPT("agentx-ping-interval", config, agentx_ping_interval, 5, 0, 3600),
	INT_OPT("startup-grace", config, startup_grace, 105, 0, 86400),
	INT_OPT("change-log-size", config, change_log_size, 10000, 1, 10000000),
	INT_OPT("max-pes-per-vpn", config, max_pes_per_vpn, 1000, 1, 100000000),
	INT_OPT("max-cgroups-per-vpn", config, max_cgroups_per_vpn, 100000, 1, 100000000),
	INT_OPT("max-data-mdts-per-vpn", config, max_data_mdts_per_vpn, 10000, 1, 100000000),
	INT_OPT("notification-rate-limit", config, notify_rate_limit, 10, 0, 10000),
	INT_OPT("notification-rate-interval", config, notify_rate_interval, 60, 1, 86400),
	INT_OPT("pe-check-interval", config, pe_check_interval, 10, 1, 3600),
	INT_OPT("probe-loss-timeout", config, probe_loss_timeout, 2, 1, 60),
	INT_OPT("probe-unreachable-time", config, probe_unreachable_time, 10, 1, 86400),
	INT_OPT("echo-interval", config, echo_interval_ms, 1000, 10, 60000),
	INT_OPT("igmp-report-interval", config, igmp_report_interval, 60, 1, 3600),
};

enum { V_INDEX, V_DEFAULT_MDT, V_EXPECTED, V_PROBE, V_THRESHOLDS, V_RDS };
static const struct opt vpn_opts[] = {
	{"index", K_INT, NO_FIELD, 0, 1, 4294967295LL},
	{"default-mdt", K_STR, NO_FIELD, 0, 0, 0},
	{"expected-pes", K_LIST, NO_FIELD, 0, 0, 0},
	{"probe", K_SECTION, NO_FIELD, 0, 0, 0},
	{"thresholds", K_SECTION, NO_FIELD, 0, 0, 0},
	{"rds", K_LIST, NO_FIELD, 0, 0, 0},
};

enum { P_ENABLED, P_SENDERS, P_RECEIVERS, P_FIRST_INT };
static const struct opt probe_opts[] = {
	{"enabled", K_BOOL, NO_FIELD, 0, 0, 0},
	{"senders", K_LIST, NO_FIELD, 0, 0, 0},
	{"receivers", K_LIST, NO_FIELD, 0, 0, 0},
	INT_OPT("rate", probe_config, rate, 10, 1, 10000),
	INT_OPT("size", probe_config, size, 64, PROBE_MIN_SIZE, 1400),
	INT_OPT("window", probe_config, window, 60, 1, 3600),
	INT_OPT("port", probe_config, port, 5010, 1, 65535),
	INT_OPT("igmp-version", probe_config, igmp_version, 3, 2, 3),
};

/* Rising then falling, per metric (enum metric's order). */
static const struct opt threshold_opts[2 * METRICS] = {
	{"loss-rising", K_FLOAT, NO_FIELD, 0, 0, 0},   {"loss-falling", K_FLOAT, NO_FIELD, 0, 0, 0},
	{"delay-rising", K_FLOAT, NO_FIELD, 0, 0, 0},  {"delay-falling", K_FLOAT, NO_FIELD, 0, 0, 0},
	{"jitter-rising", K_FLOAT, NO_FIELD, 0, 0, 0}, {"jitter-falling", K_FLOAT, NO_FIELD, 0, 0, 0},
};

enum { H_FILE, H_POSTGRES, H_MONITOR, H_FIRST_INT };
static const struct opt history_opts[] = {
	{"file", K_STR, NO_FIELD, 0, 0, 0},
	{"postgres", K_STR, NO_FIELD, 0, 0, 0},
	{"monitor", K_STR, NO_FIELD, 0, 0, 0},
	INT_OPT("flush-interval", history_config, flush_interval_ms, 1000, 10, 600000),
	INT_OPT("queue", history_config, queue, 1000000, 1000, 100000000),
	INT_OPT("batch", history_config, batch, 10000, 1, 1000000),
	INT_OPT("checkpoint-interval", history_config, checkpoint_interval, 300, 10, 86400),
	INT_OPT("retain-days", history_config, retain_days, 0, 0, 36500),
	INT_OPT("retain-mb", history_config, retain_mb, 0, 0, 100000000),
};

enum { B_LISTEN, B_ALLOW, B_DISCOVER, B_FIRST_INT };
static const struct opt bmp_opts[] = {
	{"listen", K_STR, NO_FIELD, 0, 0, 0},
	{"allow", K_LIST, NO_FIELD, 0, 0, 0},
	{"discover", K_BOOL, NO_FIELD, 0, 0, 0},
	INT_OPT("max-routes-per-router", bmp_config, max_routes_per_router, 1000000, 1, 100000000),
	INT_OPT("max-routers", bmp_config, max_routers, 64, 1, 1000),
	INT_OPT("max-peers-per-router", bmp_config, max_peers_per_router, 1000, 1, 100000),
	INT_OPT("settle", bmp_config, settle, 60, 0, 86400),
	INT_OPT("max-discovered-vpns", bmp_config, max_discovered_vpns, 1000, 1, 100000),
};

static const struct opt tunnel_opts[] = {{"remote", K_STR, NO_FIELD, 0, 0, 0}};
static const struct opt pe_opts[] = {{"name", K_STR, NO_FIELD, 0, 0, 0}};

#define N_OPTS(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_OPTS 32

/* A section's items by option: set[i] is the item for opts[i] (for a titled
 * section kind, the first of them), or NULL. */
struct bound {
	const struct conf_item *set[MAX_OPTS];
	size_t count[MAX_OPTS];
};

static bool kind_fits(struct load *ld, const struct opt *o, const struct conf_item *it)
{
	bool sec = o->kind == K_SECTION || o->kind == K_TITLED;

	if (sec && !it->section)
		fail(ld, it->line, "%s is a section: %s%s { ... }", o->name, o->name,
		     o->kind == K_TITLED ? " \"NAME\"" : "");
	else if (!sec && it->section)
		fail(ld, it->line, "%s is an option: %s = ...", o->name, o->name);
	else if (o->kind == K_TITLED && !it->title)
		fail(ld, it->line, "%s needs a name: %s \"NAME\" { ... }", o->name, o->name);
	else if (o->kind == K_SECTION && it->title)
		fail(ld, it->line, "%s takes no name: %s { ... }", o->name, o->name);
	else if (!sec && o->kind != K_LIST && it->list)
		fail(ld, it->line, "%s takes one value, not a list", o->name);
	return !ld->failed;
}

/* Sorts a section's items by option, refusing what the section cannot hold
 * and anything but a titled section given twice. */
static bool bind(struct load *ld, const struct conf_item *items, const struct opt *opts,
		 size_t n, struct bound *b)
{
	memset(b, 0, sizeof(*b));
	for (const struct conf_item *it = items; it; it = it->next) {
		size_t i = 0;

		while (i < n && strcmp(opts[i].name, it->name) != 0)
			i++;
		if (i == n) {
			fail(ld, it->line, "no such option '%s'", it->name);
			return false;
		}
		if (!kind_fits(ld, &opts[i], it))
			return false;
		if (b->set[i] && opts[i].kind != K_TITLED) {
			if (it->section)
				fail(ld, it->line, "more than one %s section (the first is on line %d)",
				     it->name, b->set[i]->line);
			else
				fail(ld, it->line, "%s is set twice (first on line %d)", it->name,
				     b->set[i]->line);
			return false;
		}
		if (!b->set[i])
			b->set[i] = it;
		b->count[i]++;
	}
	return true;
}

/* ---- values ---- */

static const struct conf_value *value_of(const struct conf_item *it)
{
	return it->values;
}

static bool get_int(struct load *ld, const struct conf_item *it, const struct opt *o,
		    long long *out)
{
	const struct conf_value *v = value_of(it);
	char *end;

	errno = 0;
	*out = strtoll(v->text, &end, 0);
	if (errno || end == v->text || *end) {
		fail(ld, v->line, "%s = \"%s\" is not a whole number", o->name, v->text);
		return false;
	}
	if (*out < o->lo || *out > o->hi) {
		fail(ld, v->line, "%s = %lld is out of range (%lld..%lld)", o->name, *out, o->lo,
		     o->hi);
		return false;
	}
	return true;
}

/* The K_INT options of a section into their unsigned fields, defaults for those absent. */
static bool fill_ints(struct load *ld, const struct bound *b, const struct opt *opts, size_t first,
		      size_t n, void *base)
{
	for (size_t i = first; i < n; i++) {
		long long v = opts[i].def;

		if (b->set[i] && !get_int(ld, b->set[i], &opts[i], &v))
			return false;
		*(unsigned *)((char *)base + opts[i].field) = (unsigned)v;
	}
	return true;
}

static bool get_bool(struct load *ld, const struct conf_item *it, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};
	const struct conf_value *v = value_of(it);

	for (size_t i = 0; i < 3; i++) {
		if (strcasecmp(v->text, yes[i]) == 0 || strcasecmp(v->text, no[i]) == 0) {
			*out = strcasecmp(v->text, yes[i]) == 0;
			return true;
		}
	}
	fail(ld, v->line, "%s = \"%s\" is not true or false", it->name, v->text);
	return false;
}

static bool dup_str(struct load *ld, const struct conf_item *it, char **out)
{
	*out = strdup(value_of(it)->text);
	if (!*out)
		fail(ld, it->line, "out of memory");
	return *out != NULL;
}

/* ---- addresses: what each role may be ---- */

/*
 * Why a is never a PE, a tunnel's end or the monitor's own address (NULL: it
 * may be): no router sends PIM Hellos from these or ends a GRE tunnel there.
 */
static const char *not_a_pe(const struct inet_addr *a)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	const uint8_t *b = a->bytes;

	if (inet_addr_is_multicast(a))
		return "a multicast group";
	if (a->type == INET_IPV4) {
		if (b[0] == 0)
			return "in 0.0.0.0/8, \"this network\" (RFC 1122 3.2.1.3)";
		if (b[0] == 127)
			return "a loopback address";
		if (b[0] == 169 && b[1] == 254)
			return "a link-local address (RFC 3927)";
		if (b[0] >= 240)
			return "in 240.0.0.0/4, reserved, or the broadcast address";
		return NULL;
	}
	static const uint8_t zero[16], loopback[16] = {[15] = 1};
	if (memcmp(b, zero, 16) == 0)
		return "the unspecified address";
	if (memcmp(b, loopback, 16) == 0)
		return "a loopback address";
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
		return "a link-local address (fe80::/10)";
	if (memcmp(b, mapped, 12) == 0)
		return "IPv4-mapped: write the IPv4 address";
	return NULL;
}

/*
 * Why a is never a default MDT (NULL: it may be).  A default MDT is a
 * provider group routed across the core, so a group whose scope ends at the
 * link (or the node) can never be one: RFC 5771 section 4 (224.0.0.0/24, the
 * local network control block), RFC 4291 section 2.7 (IPv6 scopes 0, 1, 2).
 */
static const char *not_an_mdt(const struct inet_addr *a)
{
	static const char *const v6_scope[3] = {"reserved scope 0", "interface-local scope",
						"link-local scope"};

	if (!inet_addr_is_multicast(a))
		return "not an IPv4 or IPv6 multicast group";
	if (a->type == INET_IPV4 && a->bytes[0] == 224 && a->bytes[1] == 0 && a->bytes[2] == 0)
		return "in 224.0.0.0/24, link-local (RFC 5771 4), never forwarded by a router";
	if (a->type == INET_IPV6 && (a->bytes[1] & 0x0f) < 3)
		return v6_scope[a->bytes[1] & 0x0f];
	return NULL;
}

/* An address for a PE's role (or for the role of the monitor's own end,
 * mine): parsed, IPv4 if it must be, and possible. */
static bool host_addr(struct load *ld, const char *what, const struct conf_value *v, bool ipv4,
		      bool mine, struct inet_addr *a)
{
	const char *why;

	if (!inet_addr_parse(a, v->text) || (ipv4 && a->type != INET_IPV4)) {
		fail(ld, v->line, "%s: \"%s\" is not a unicast %s address", what, v->text,
		     ipv4 ? "IPv4" : "IPv4 or IPv6");
		return false;
	}
	if ((why = not_a_pe(a)) != NULL) {
		fail(ld, v->line, "%s: \"%s\" is %s, never %s", what, v->text, why,
		     mine ? "the monitor's tunnel address" : "a PE");
		return false;
	}
	return true;
}

static bool pe_addr(struct load *ld, const char *what, const struct conf_value *v, bool ipv4,
		    struct inet_addr *a)
{
	return host_addr(ld, what, v, ipv4, false, a);
}

static int addr_cmp_qsort(const void *a, const void *b)
{
	return inet_addr_cmp(a, b);
}

/* The value of list it that is the second to equal a (its line is the one to blame). */
static const struct conf_value *second_equal(const struct conf_item *it, const struct inet_addr *a)
{
	struct inet_addr x;
	bool seen = false;

	for (const struct conf_value *v = it->values; v; v = v->next) {
		inet_addr_parse(&x, v->text);
		if (inet_addr_eq(&x, a)) {
			if (seen)
				return v;
			seen = true;
		}
	}
	return it->values;
}

/* A list of PE addresses into a sorted array (owned by the caller), none twice. */
static bool pe_list(struct load *ld, const struct conf_item *it, bool ipv4, struct inet_addr **out,
		    size_t *n_out)
{
	size_t n = it->n_values, i = 0;
	struct inet_addr *a = n ? calloc(n, sizeof(*a)) : NULL;

	*out = a;
	*n_out = n;
	if (n && !a) {
		fail(ld, it->line, "out of memory");
		return false;
	}
	for (const struct conf_value *v = it->values; v; v = v->next, i++)
		if (!pe_addr(ld, it->name, v, ipv4, &a[i]))
			return false;
	if (n)
		qsort(a, n, sizeof(*a), addr_cmp_qsort);
	for (i = 1; i < n; i++) {
		if (inet_addr_eq(&a[i - 1], &a[i])) {
			const struct conf_value *v = second_equal(it, &a[i]);
			fail(ld, v->line, "%s: \"%s\" is listed twice", it->name, v->text);
			return false;
		}
	}
	return true;
}

/* ---- thresholds ---- */

/* A thresholds section's values, or the global defaults' (rising, falling per metric). */
struct thr_set {
	bool has[2 * METRICS];
	double v[2 * METRICS];
	int line[2 * METRICS];
};

static bool read_thresholds(struct load *ld, const struct conf_item *sec, struct thr_set *t)
{
	struct bound b;

	memset(t, 0, sizeof(*t));
	if (!sec)
		return true;
	if (!bind(ld, sec->items, threshold_opts, N_OPTS(threshold_opts), &b))
		return false;
	for (size_t i = 0; i < 2 * METRICS; i++) {
		const struct conf_value *v;
		bool loss = i / 2 == METRIC_LOSS;
		double hi = loss ? 100.0 : 3600000.0;
		char *end;

		if (!b.set[i])
			continue;
		v = value_of(b.set[i]);
		errno = 0;
		t->v[i] = strtod(v->text, &end);
		if (errno || end == v->text || *end || !(t->v[i] >= 0 && t->v[i] <= hi)) {
			fail(ld, v->line, "%s = \"%s\" is not a number from 0 to %g (%s)",
			     threshold_opts[i].name, v->text, hi, loss ? "percent" : "milliseconds");
			return false;
		}
		t->has[i] = true;
		t->line[i] = v->line;
	}
	return true;
}

/* MIB units per configured unit: ppm per percent, us per ms. */
static const double threshold_scale[METRICS] = {10000.0, 1000.0, 1000.0};

/* A configured threshold in the MIB's units, as the alarms compare it. */
static uint32_t threshold_units(int k, double v)
{
	return (uint32_t)llround(v * threshold_scale[k]);
}

/*
 * Rising and falling thresholds as they combine, a VPN's own (own) over the
 * global defaults (global; NULL when own is the global section): each needs
 * the other, and falling < rising.  Fills out in the MIB's units.
 */
static bool merge_thresholds(struct load *ld, const char *where, const struct thr_set *own,
			     const struct thr_set *global, struct thresholds *out)
{
	static const struct thr_set none;

	if (!global)
		global = &none;
	memset(out, 0, sizeof(*out));
	for (int k = 0; k < METRICS; k++) {
		int r = 2 * k, f = 2 * k + 1;
		const struct thr_set *rs = own->has[r] ? own : global, *fs = own->has[f] ? own : global;
		bool has_r = rs->has[r], has_f = fs->has[f];
		double rising = rs->v[r], falling = fs->v[f];
		const char *rn = threshold_opts[r].name, *fn = threshold_opts[f].name;

		if (has_f && !has_r) {
			fail(ld, fs->line[f], "%s: %s is set but %s is not", where, fn, rn);
			return false;
		}
		if (has_r && rising > 0 && !has_f) {
			fail(ld, rs->line[r], "%s: %s needs %s (the level at which the alarm clears)",
			     where, rn, fn);
			return false;
		}
		/* Compared as the alarms will compare them: two levels closer than
		 * a ppm or a microsecond would be one level, and no hysteresis. */
		if (has_r && rising > 0 &&
		    (falling >= rising || threshold_units(k, falling) >= threshold_units(k, rising))) {
			/* Blame the VPN's own line if it has one, else the falling line. */
			bool blame_rising = rs == own && fs != own;
			fail(ld, blame_rising ? rs->line[r] : fs->line[f],
			     "%s: %s = %g must be below %s = %g%s", where, fn, falling, rn, rising,
			     falling < rising ? " by at least 1 ppm (loss) or 1 us" : "");
			return false;
		}
		out->t[k].rising = has_r ? threshold_units(k, rising) : 0;
		out->t[k].falling = has_f ? threshold_units(k, falling) : 0;
	}
	return true;
}

/* ---- VPNs ---- */

/* The line of option name inside section it (the section's own if absent). */
static int line_of(const struct conf_item *it, const char *name)
{
	for (const struct conf_item *o = it->items; o; o = o->next)
		if (strcmp(o->name, name) == 0)
			return o->line;
	return it->line;
}

/*
 * Names go into mvpnVpnName and mvpnPeName (SnmpAdminString: UTF-8, and the
 * size counts octets, RFC 3411), log lines, notifications and Prometheus
 * labels, quoted: so 1 to max bytes of UTF-8 (the lexer has checked the
 * encoding), no control character (RFC 3411 SnmpAdminString discourages
 * them; C0, DEL and C1, U+0080..U+009F) and no quote.  what: "vpn" or "pe".
 */
static bool check_name(struct load *ld, const char *what, const struct conf_value *t, size_t max)
{
	const unsigned char *u = (const unsigned char *)t->text;
	size_t chars = 0;

	conf_utf8_valid(t->text, t->len, &chars);
	if (t->len == 0 || t->len > max) {
		fail(ld, t->line, "%s name is %zu bytes of UTF-8 (%zu characters): it must be 1 to "
		     "%zu bytes (mvpn%sName's size)", what, t->len, chars, max,
		     strcmp(what, "vpn") == 0 ? "Vpn" : "Pe");
		return false;
	}
	for (size_t i = 0; i < t->len; i++) {
		if (u[i] == '"' || u[i] == '\'' || u[i] < 0x20 || u[i] == 0x7f ||
		    (u[i] == 0xc2 && i + 1 < t->len && u[i + 1] <= 0x9f)) {
			fail(ld, t->line, "%s name \"%s\" has a %s: names are printable UTF-8 "
			     "without quotes", what, t->text, u[i] == '"' || u[i] == '\'' ? "quote"
			     : "control character");
			return false;
		}
	}
	return true;
}

/* Absent or empty senders or receivers: every expected PE, which must then be IPv4. */
static bool probe_expected(struct load *ld, int line, const char *where,
			   const struct vpn_config *v, struct inet_addr **out, size_t *n_out)
{
	size_t n = v->n_expected;

	for (size_t j = 0; j < n; j++) {
		if (v->expected_pes[j].type != INET_IPV4) {
			fail(ld, line, "%s: probing reaches PEs over IPv4 tunnels; list IPv4 senders "
			     "and receivers, since expected-pes has IPv6 addresses", where);
			return false;
		}
	}
	*n_out = n;
	*out = n ? malloc(n * sizeof(**out)) : NULL;
	if (n && !*out) {
		fail(ld, line, "out of memory");
		return false;
	}
	if (n)
		memcpy(*out, v->expected_pes, n * sizeof(**out));
	return true;
}

/* What probing a VPN needs of the rest of the file. */
static bool probe_possible(struct load *ld, const struct conf_item *vsec,
			   const struct conf_item *sec, const struct bound *top, const char *where,
			   const struct vpn_config *v)
{
	if (!top->set[T_PROBE_IF] || !top->set[T_PROBE_LOCAL])
		fail(ld, sec->line, "%s is probed: probe-interface and probe-local-address must be "
		     "set", where);
	else if (v->default_mdt.type != INET_IPV4)
		fail(ld, line_of(vsec, "default-mdt"), "%s: probing needs an IPv4 default-mdt", where);
	else if ((uint64_t)v->probe.rate * v->probe.window > 1000000)
		fail(ld, sec->line, "%s: rate x window is over 1,000,000 probes per pair; shorten "
		     "the window", where);
	return !ld->failed;
}

/* A VPN's probe section (in vsec, the VPN's), into v->probe. */
static bool convert_probe(struct load *ld, const struct conf_item *vsec,
			  const struct conf_item *sec, const struct bound *top, struct vpn_config *v)
{
	struct probe_config *out = &v->probe;
	struct bound b;
	bool enabled = true;
	char where[VPN_NAME_MAX + 16];

	memset(out, 0, sizeof(*out));
	if (!sec)
		return true;
	if (!bind(ld, sec->items, probe_opts, N_OPTS(probe_opts), &b) ||
	    (b.set[P_ENABLED] && !get_bool(ld, b.set[P_ENABLED], &enabled)))
		return false;
	if (!enabled)
		return true;
	out->enabled = true;
	snprintf(where, sizeof(where), "vpn \"%s\"", v->name);
	if (!fill_ints(ld, &b, probe_opts, P_FIRST_INT, N_OPTS(probe_opts), out))
		return false;
	const struct conf_item *lists[2] = {b.set[P_SENDERS], b.set[P_RECEIVERS]};
	struct inet_addr **arrays[2] = {&out->senders, &out->receivers};
	size_t *counts[2] = {&out->n_senders, &out->n_receivers};
	for (int i = 0; i < 2; i++)
		if (lists[i] && lists[i]->n_values && !pe_list(ld, lists[i], true, arrays[i], counts[i]))
			return false;
	if (!probe_possible(ld, vsec, sec, top, where, v))
		return false;
	for (int i = 0; i < 2; i++)
		if (!(lists[i] && lists[i]->n_values) &&
		    !probe_expected(ld, sec->line, where, v, arrays[i], counts[i]))
			return false;
	return true;
}

/*
 * A Route Distinguisher as operators write it (RFC 4364 4.2): "ASN:N" is
 * type 0 (a 2-byte ASN, a 4-byte number) or, for an ASN past 65535, type 2
 * (4-byte ASN, 2-byte number); "a.b.c.d:N" is type 1 (IPv4, 2-byte number).
 * Into the 8 bytes read as one big-endian number.
 */
static bool parse_rd(const char *text, uint64_t *out)
{
	const char *colon = strrchr(text, ':');
	char head[64], *end;
	struct inet_addr a;
	unsigned long long asn, num;

	if (!colon || colon == text || (size_t)(colon - text) >= sizeof(head) || !colon[1])
		return false;
	memcpy(head, text, (size_t)(colon - text));
	head[colon - text] = '\0';
	errno = 0;
	num = strtoull(colon + 1, &end, 10);
	if (*end || errno || colon[1] == '-' || colon[1] == '+')
		return false;
	if (inet_addr_parse(&a, head)) {
		if (a.type != INET_IPV4 || num > 0xffff)
			return false;
		*out = 1ull << 48 | (uint64_t)a.bytes[0] << 40 | (uint64_t)a.bytes[1] << 32 |
		       (uint64_t)a.bytes[2] << 24 | (uint64_t)a.bytes[3] << 16 | num;
		return true;
	}
	asn = strtoull(head, &end, 10);
	if (*end || errno || head[0] == '-' || head[0] == '+' || asn > 0xffffffffull)
		return false;
	if (asn <= 0xffff && num <= 0xffffffffull)
		*out = (uint64_t)asn << 32 | num;
	else if (num <= 0xffff)
		*out = 2ull << 48 | asn << 16 | num;
	else
		return false;
	return true;
}

static int rd_cmp(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

static bool rd_list(struct load *ld, const struct conf_item *it, uint64_t **out, size_t *n_out)
{
	size_t n = it->n_values, i = 0;
	uint64_t *v = n ? calloc(n, sizeof(*v)) : NULL;

	*out = v;
	*n_out = n;
	if (!n) {
		fail(ld, it->line, "rds: list at least one route distinguisher");
		return false;
	}
	if (!v) {
		fail(ld, it->line, "out of memory");
		return false;
	}
	for (const struct conf_value *c = it->values; c; c = c->next, i++)
		if (!parse_rd(c->text, &v[i])) {
			fail(ld, c->line, "rds: \"%s\" is not a route distinguisher ASN:N or "
			     "IPv4:N (RFC 4364 4.2)", c->text);
			return false;
		}
	qsort(v, n, sizeof(*v), rd_cmp);
	for (i = 1; i < n; i++)
		if (v[i - 1] == v[i]) {
			fail(ld, it->line, "rds: a route distinguisher is listed twice");
			return false;
		}
	return true;
}

/* expected-pes = { ADDR, ... }, or expected-pes = bgp: the PEs BGP's MDT SAFI
 * advertises in the default MDT, which takes a bmp section to learn. */
static bool expected_pes(struct load *ld, const struct conf_item *it, const struct bound *top,
			 const char *where, struct vpn_config *v)
{
	if (!it->list && it->n_values == 1 && strcmp(it->values->text, "bgp") == 0) {
		if (v->n_rds) {
			fail(ld, it->line, "%s: a VPN signalled by BGP has BGP's PEs already; "
			     "expected-pes lists those it should have", where);
			return false;
		}
		if (!top->set[T_BMP]) {
			fail(ld, it->line, "%s: expected-pes = bgp needs a bmp section to learn "
			     "BGP's routes from", where);
			return false;
		}
		v->expect_bgp = true;
		return true;
	}
	return pe_list(ld, it, false, &v->expected_pes, &v->n_expected);
}

static bool convert_vpn(struct load *ld, const struct conf_item *it, const struct bound *top,
			const struct thr_set *global, struct vpn_config *v)
{
	struct bound b;
	struct thr_set own;
	long long index;
	const char *why = NULL;
	char where[VPN_NAME_MAX + 16];

	if (!check_name(ld, "vpn", it->title, VPN_NAME_MAX))
		return false;
	memcpy(v->name, it->title->text, it->title->len + 1);
	v->line = it->line;
	snprintf(where, sizeof(where), "vpn \"%s\"", v->name);
	if (!bind(ld, it->items, vpn_opts, N_OPTS(vpn_opts), &b))
		return false;
	if (b.set[V_INDEX] && !get_int(ld, b.set[V_INDEX], &vpn_opts[V_INDEX], &index))
		return false;
	if (!b.set[V_INDEX] || (!b.set[V_DEFAULT_MDT] && !b.set[V_RDS])) {
		fail(ld, it->line, "%s needs index, and default-mdt (draft-rosen) or rds (BGP MVPN, "
		     "RFC 6514)", where);
		return false;
	}
	if (b.set[V_DEFAULT_MDT] && b.set[V_RDS]) {
		fail(ld, b.set[V_RDS]->line, "%s: default-mdt and rds: a VPN is signalled by PIM on "
		     "its default MDT or by BGP, not both", where);
		return false;
	}
	v->index = (uint32_t)index;
	if (b.set[V_RDS]) {
		if (!rd_list(ld, b.set[V_RDS], &v->rds, &v->n_rds))
			return false;
		if (b.set[V_PROBE]) {
			fail(ld, b.set[V_PROBE]->line, "%s: a VPN signalled by BGP is not probed (its "
			     "P-tunnels are not the GRE the probes ride)", where);
			return false;
		}
	} else {
		const struct conf_value *mdt = value_of(b.set[V_DEFAULT_MDT]);
		if (!inet_addr_parse(&v->default_mdt, mdt->text) ||
		    (why = not_an_mdt(&v->default_mdt)) != NULL) {
			fail(ld, mdt->line, "default-mdt \"%s\" is %s", mdt->text,
			     why ? why : "not an IPv4 or IPv6 multicast group");
			return false;
		}
	}
	if (b.set[V_EXPECTED] && !expected_pes(ld, b.set[V_EXPECTED], top, where, v))
		return false;
	return read_thresholds(ld, b.set[V_THRESHOLDS], &own) &&
	       merge_thresholds(ld, where, &own, global, &v->thresholds) &&
	       convert_probe(ld, it, b.set[V_PROBE], top, v);
}

/* A VPN and its section, to find what is used twice and say where. */
struct vpn_ref {
	struct vpn_config *v;
	const struct conf_item *it;
};

static int ref_line_cmp(const struct vpn_ref *a, const struct vpn_ref *b)
{
	return a->it->line < b->it->line ? -1 : a->it->line > b->it->line;
}

static int ref_index_cmp(const void *x, const void *y)
{
	const struct vpn_ref *a = x, *b = y;
	if (a->v->index != b->v->index)
		return a->v->index < b->v->index ? -1 : 1;
	return ref_line_cmp(a, b);
}

static int ref_name_cmp(const void *x, const void *y)
{
	const struct vpn_ref *a = x, *b = y;
	int c = strcmp(a->v->name, b->v->name);
	return c ? c : ref_line_cmp(a, b);
}

static int ref_mdt_cmp(const void *x, const void *y)
{
	const struct vpn_ref *a = x, *b = y;
	int c = inet_addr_cmp(&a->v->default_mdt, &b->v->default_mdt);
	return c ? c : ref_line_cmp(a, b);
}

/*
 * Index, name and default MDT each name one VPN.  Sorted by each in turn
 * (ties in file order), a value used twice is two neighbours, and the later
 * one in the file is the one to blame: O(n log n), where comparing every pair
 * was O(n^2).
 */
struct rd_ref {
	uint64_t rd;
	const struct vpn_ref *ref;
};

static int rd_ref_cmp(const void *x, const void *y)
{
	const struct rd_ref *a = x, *b = y;

	if (a->rd != b->rd)
		return a->rd < b->rd ? -1 : 1;
	return ref_line_cmp(a->ref, b->ref);
}

/* A route distinguisher names one BGP-signalled VPN: O(r log r) in all of them. */
static bool check_rds_unique(struct load *ld, const struct vpn_ref *refs, size_t n)
{
	size_t total = 0, k = 0;
	struct rd_ref *all;
	bool ok = true;

	for (size_t i = 0; i < n; i++)
		total += refs[i].v->n_rds;
	if (total < 2)
		return true;
	if (!(all = malloc(total * sizeof(*all)))) {
		fail(ld, 0, "out of memory");
		return false;
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < refs[i].v->n_rds; j++)
			all[k++] = (struct rd_ref){refs[i].v->rds[j], &refs[i]};
	qsort(all, total, sizeof(*all), rd_ref_cmp);
	for (size_t i = 1; ok && i < total; i++)
		if (all[i - 1].rd == all[i].rd) {
			fail(ld, line_of(all[i].ref->it, "rds"), "vpn \"%s\": a route distinguisher "
			     "of rds is already vpn \"%s\"'s", all[i].ref->v->name,
			     all[i - 1].ref->v->name);
			ok = false;
		}
	free(all);
	return ok;
}

static bool check_unique(struct load *ld, struct vpn_ref *refs, size_t n)
{
	char mdt[INET_ADDR_STRLEN];

	if (n < 2) /* and qsort(NULL, 0) is undefined */
		return true;
	qsort(refs, n, sizeof(*refs), ref_name_cmp);
	for (size_t i = 1; i < n; i++)
		if (strcmp(refs[i - 1].v->name, refs[i].v->name) == 0) {
			fail(ld, refs[i].it->line, "duplicate title '%s' (vpn \"%s\" is on line %d)",
			     refs[i].v->name, refs[i].v->name, refs[i - 1].it->line);
			return false;
		}
	qsort(refs, n, sizeof(*refs), ref_mdt_cmp);
	for (size_t i = 1; i < n; i++)
		if (refs[i].v->default_mdt.type != INET_UNKNOWN && /* BGP's have none */
		    inet_addr_eq(&refs[i - 1].v->default_mdt, &refs[i].v->default_mdt)) {
			fail(ld, line_of(refs[i].it, "default-mdt"),
			     "vpn \"%s\": default-mdt %s is already used by vpn \"%s\"", refs[i].v->name,
			     inet_addr_format(&refs[i].v->default_mdt, mdt), refs[i - 1].v->name);
			return false;
		}
	qsort(refs, n, sizeof(*refs), ref_index_cmp);
	for (size_t i = 1; i < n; i++)
		if (refs[i - 1].v->index == refs[i].v->index) {
			fail(ld, line_of(refs[i].it, "index"),
			     "vpn \"%s\": index %u is already used by vpn \"%s\"", refs[i].v->name,
			     refs[i].v->index, refs[i - 1].v->name);
			return false;
		}
	return true;
}

static int vpn_config_cmp(const void *a, const void *b)
{
	const struct vpn_config *x = a, *y = b;
	return x->index < y->index ? -1 : x->index > y->index;
}

static bool convert_vpns(struct load *ld, const struct conf_item *items, const struct bound *top,
			 const struct thr_set *global, struct config *c)
{
	size_t n = top->count[T_VPN], i = 0;
	struct vpn_ref *refs = n ? calloc(n, sizeof(*refs)) : NULL;
	bool ok = true;

	c->vpns = n ? calloc(n, sizeof(*c->vpns)) : NULL;
	if (n && (!refs || !c->vpns)) {
		free(refs);
		fail(ld, 1, "out of memory for %zu VPNs", n);
		return false;
	}
	for (const struct conf_item *it = items; it && ok; it = it->next) {
		if (!it->section || strcmp(it->name, "vpn") != 0)
			continue;
		refs[i] = (struct vpn_ref){&c->vpns[i], it};
		c->n_vpns = ++i; /* owned from here on, freed on failure */
		ok = convert_vpn(ld, it, top, global, refs[i - 1].v);
	}
	ok = ok && check_unique(ld, refs, n) && check_rds_unique(ld, refs, n);
	free(refs);
	if (ok && n) /* qsort(NULL, 0) is undefined */
		qsort(c->vpns, n, sizeof(*c->vpns), vpn_config_cmp);
	return ok;
}

/* ---- tunnels ---- */

static int tunnel_config_cmp(const void *a, const void *b)
{
	const struct tunnel_config *x = a, *y = b;
	int d = inet_addr_cmp(&x->pe, &y->pe);
	return d ? d : x->line < y->line ? -1 : x->line > y->line;
}

static bool convert_tunnel(struct load *ld, const struct conf_item *it, struct tunnel_config *t)
{
	struct bound b;
	char what[64];

	t->line = it->line;
	snprintf(what, sizeof(what), "tunnel \"%.40s\"", it->title->text);
	if (!pe_addr(ld, what, it->title, true, &t->pe) ||
	    !bind(ld, it->items, tunnel_opts, N_OPTS(tunnel_opts), &b))
		return false;
	if (!b.set[0]) {
		fail(ld, it->line, "%s needs remote", what);
		return false;
	}
	return pe_addr(ld, "remote", value_of(b.set[0]), true, &t->remote);
}

static bool convert_tunnels(struct load *ld, const struct conf_item *items,
			    const struct bound *top, struct config *c)
{
	size_t n = top->count[T_TUNNEL];
	char pe[INET_ADDR_STRLEN];

	c->tunnels = n ? calloc(n, sizeof(*c->tunnels)) : NULL;
	if (n && !c->tunnels) {
		fail(ld, 1, "out of memory");
		return false;
	}
	for (const struct conf_item *it = items; it; it = it->next)
		if (it->section && strcmp(it->name, "tunnel") == 0 &&
		    !convert_tunnel(ld, it, &c->tunnels[c->n_tunnels++]))
			return false;
	if (n) /* qsort's base must not be NULL, even for 0 elements */
		qsort(c->tunnels, n, sizeof(*c->tunnels), tunnel_config_cmp);
	for (size_t i = 1; i < n; i++) {
		if (inet_addr_eq(&c->tunnels[i - 1].pe, &c->tunnels[i].pe)) {
			fail(ld, c->tunnels[i].line, "tunnel \"%s\" is defined twice (first on line %d)",
			     inet_addr_format(&c->tunnels[i].pe, pe), c->tunnels[i - 1].line);
			return false;
		}
	}
	return true;
}

static int tunnel_pe_cmp(const void *key, const void *elem)
{
	return inet_addr_cmp(key, &((const struct tunnel_config *)elem)->pe);
}

struct inet_addr config_tunnel_remote(const struct config *c, const struct inet_addr *pe)
{
	const struct tunnel_config *t =
		c->n_tunnels ? bsearch(pe, c->tunnels, c->n_tunnels, sizeof(*t), tunnel_pe_cmp) : NULL;

	return t ? t->remote : *pe;
}

/* ---- PE names ---- */

static int pe_config_cmp(const void *a, const void *b)
{
	const struct pe_config *x = a, *y = b;
	int d = inet_addr_cmp(&x->addr, &y->addr);
	return d ? d : x->line < y->line ? -1 : x->line > y->line;
}

static bool convert_pe(struct load *ld, const struct conf_item *it, struct pe_config *p)
{
	struct bound b;
	char what[64];

	p->line = it->line;
	snprintf(what, sizeof(what), "pe \"%.40s\"", it->title->text);
	if (!pe_addr(ld, what, it->title, false, &p->addr) ||
	    !bind(ld, it->items, pe_opts, N_OPTS(pe_opts), &b))
		return false;
	if (!b.set[0]) {
		fail(ld, it->line, "%s needs name", what);
		return false;
	}
	const struct conf_value *name = value_of(b.set[0]);
	if (!check_name(ld, "pe", name, PE_NAME_MAX))
		return false;
	memcpy(p->name, name->text, name->len + 1);
	return true;
}

/* Two names for one address would make its label depend on the order of the
 * file; two addresses may share a name (a router's IPv4 and IPv6 ends). */
static bool convert_pes(struct load *ld, const struct conf_item *items, const struct bound *top,
			struct config *c)
{
	size_t n = top->count[T_PE];
	char pe[INET_ADDR_STRLEN];

	c->pes = n ? calloc(n, sizeof(*c->pes)) : NULL;
	if (n && !c->pes) {
		fail(ld, 1, "out of memory");
		return false;
	}
	for (const struct conf_item *it = items; it; it = it->next)
		if (it->section && strcmp(it->name, "pe") == 0 &&
		    !convert_pe(ld, it, &c->pes[c->n_pes++]))
			return false;
	if (n) /* qsort's base must not be NULL, even for 0 elements */
		qsort(c->pes, n, sizeof(*c->pes), pe_config_cmp);
	for (size_t i = 1; i < n; i++) {
		if (inet_addr_eq(&c->pes[i - 1].addr, &c->pes[i].addr)) {
			fail(ld, c->pes[i].line, "pe \"%s\" is defined twice (first on line %d)",
			     inet_addr_format(&c->pes[i].addr, pe), c->pes[i - 1].line);
			return false;
		}
	}
	return true;
}

/* ---- the history store ---- */

/* A monitor's name is a label in a shared store and in the client's output:
 * printable, no quotes, as short as a VPN's name. */
static bool monitor_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > VPN_NAME_MAX)
		return false;
	for (const char *p = name; *p; p++)
		if ((unsigned char)*p < 0x21 || *p == 0x7f || *p == '"' || *p == '\\')
			return false;
	return true;
}

static bool convert_history(struct load *ld, const struct conf_item *sec, struct history_config *h)
{
	struct bound b;
	char host[256];

	if (!sec)
		return true;
	if (!bind(ld, sec->items, history_opts, N_OPTS(history_opts), &b) ||
	    !fill_ints(ld, &b, history_opts, H_FIRST_INT, N_OPTS(history_opts), h))
		return false;
	if (!b.set[H_FILE] == !b.set[H_POSTGRES]) {
		fail(ld, sec->line, "history needs exactly one of file (SQLite) and postgres");
		return false;
	}
	if ((b.set[H_FILE] && !dup_str(ld, b.set[H_FILE], &h->file)) ||
	    (b.set[H_POSTGRES] && !dup_str(ld, b.set[H_POSTGRES], &h->postgres)))
		return false;
	if (h->file && h->file[0] != '/') {
		fail(ld, b.set[H_FILE]->line, "history file \"%s\" must be an absolute path", h->file);
		return false;
	}
	if (b.set[H_MONITOR]) {
		if (!dup_str(ld, b.set[H_MONITOR], &h->monitor))
			return false;
	} else if (gethostname(host, sizeof(host)) == 0) {
		host[sizeof(host) - 1] = '\0';
		h->monitor = strdup(host);
	}
	if (!h->monitor || !monitor_name_ok(h->monitor)) {
		fail(ld, b.set[H_MONITOR] ? b.set[H_MONITOR]->line : sec->line,
		     "history monitor \"%s\" must be 1 to %d printable characters without "
		     "spaces or quotes", h->monitor ? h->monitor : "", VPN_NAME_MAX);
		return false;
	}
	if (h->batch > h->queue) {
		fail(ld, sec->line, "history batch (%u) is larger than its queue (%u)", h->batch,
		     h->queue);
		return false;
	}
	h->enabled = true;
	return true;
}

/* ---- the BMP collector ---- */

/* "ADDR:PORT" or "[IPV6]:PORT"; the port 1..65535. */
static bool parse_listen(const char *text, struct inet_addr *a, unsigned *port)
{
	char host[INET_ADDR_STRLEN + 2], *end;
	const char *colon = strrchr(text, ':');
	size_t n;
	unsigned long p;
	bool bracketed = text[0] == '[';

	if (!colon || colon == text)
		return false;
	n = (size_t)(colon - text);
	if (bracketed) {
		if (n < 3 || text[n - 1] != ']')
			return false;
		text++, n -= 2;
	}
	if (n >= sizeof(host))
		return false;
	memcpy(host, text, n);
	host[n] = '\0';
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || p < 1 || p > 65535 || !inet_addr_parse(a, host))
		return false;
	/* IPv6 needs its brackets: "::1:179" would be ambiguous. */
	if ((a->type == INET_IPV6) != bracketed)
		return false;
	*port = (unsigned)p;
	return true;
}

/* "ADDR" or "ADDR/LEN" with no host bits set. */
static bool parse_prefix(const char *text, struct addr_prefix *out)
{
	char host[INET_ADDR_STRLEN + 1], *end;
	const char *slash = strchr(text, '/');
	size_t n = slash ? (size_t)(slash - text) : strlen(text);
	unsigned long len;

	if (n >= sizeof(host))
		return false;
	memcpy(host, text, n);
	host[n] = '\0';
	if (!inet_addr_parse(&out->addr, host))
		return false;
	len = inet_addr_len(&out->addr) * 8;
	if (slash) {
		errno = 0;
		unsigned long l = strtoul(slash + 1, &end, 10);
		if (errno || *end || end == slash + 1 || l > len)
			return false;
		len = l;
	}
	out->len = (uint8_t)len;
	for (unsigned bit = out->len; bit < inet_addr_len(&out->addr) * 8; bit++)
		if (out->addr.bytes[bit / 8] & (0x80 >> (bit % 8)))
			return false;
	return true;
}

static bool prefix_has(const struct addr_prefix *p, const struct inet_addr *a)
{
	if (p->addr.type != a->type)
		return false;
	for (unsigned bit = 0; bit < p->len; bit++) {
		uint8_t m = (uint8_t)(0x80 >> (bit % 8));
		if ((p->addr.bytes[bit / 8] & m) != (a->bytes[bit / 8] & m))
			return false;
	}
	return true;
}

bool config_bmp_allowed(const struct bmp_config *b, const struct inet_addr *a)
{
	for (size_t i = 0; i < b->n_allow; i++)
		if (prefix_has(&b->allow[i], a))
			return true;
	return false;
}

static bool bmp_allow(struct load *ld, const struct conf_item *it, struct bmp_config *b)
{
	size_t i = 0;

	if (!it || it->n_values == 0) {
		fail(ld, it ? it->line : b->line,
		     "bmp needs allow = { \"ADDR[/LEN]\", ... }: the routers that may connect");
		return false;
	}
	if (!(b->allow = calloc(it->n_values, sizeof(*b->allow)))) {
		fail(ld, it->line, "out of memory");
		return false;
	}
	for (const struct conf_value *v = it->values; v; v = v->next, i++) {
		if (!parse_prefix(v->text, &b->allow[i])) {
			fail(ld, v->line, "bmp allow: \"%s\" is not an IPv4 or IPv6 address or "
			     "prefix ADDR/LEN without host bits", v->text);
			return false;
		}
	}
	b->n_allow = i;
	return true;
}

static bool convert_bmp(struct load *ld, const struct conf_item *sec, struct bmp_config *b)
{
	struct bound bd;

	if (!sec)
		return true;
	b->line = sec->line;
	if (!bind(ld, sec->items, bmp_opts, N_OPTS(bmp_opts), &bd) ||
	    !fill_ints(ld, &bd, bmp_opts, B_FIRST_INT, N_OPTS(bmp_opts), b))
		return false;
	if (!bd.set[B_LISTEN]) {
		fail(ld, sec->line, "bmp needs listen = \"ADDR:PORT\"");
		return false;
	}
	if (!parse_listen(value_of(bd.set[B_LISTEN])->text, &b->listen, &b->port)) {
		fail(ld, value_of(bd.set[B_LISTEN])->line,
		     "bmp listen = \"%s\" is not ADDR:PORT (IPv6 as [ADDR]:PORT, port 1-65535)",
		     value_of(bd.set[B_LISTEN])->text);
		return false;
	}
	if (!bmp_allow(ld, bd.set[B_ALLOW], b) ||
	    (bd.set[B_DISCOVER] && !get_bool(ld, bd.set[B_DISCOVER], &b->discover)))
		return false;
	b->enabled = true;
	return true;
}

/* ---- the top level ---- */

/* The user to run as must exist now, not only when the daemon drops to it.
 * getpwnam_r: a load may run on any thread. */
static bool check_user(struct load *ld, const struct conf_item *it)
{
	const struct conf_value *v = value_of(it);
	struct passwd pw, *found = NULL;
	char buf[16384], err[128];
	int rc = getpwnam_r(v->text, &pw, buf, sizeof(buf), &found);

	if (rc == 0 && found)
		return true;
	fail(ld, v->line, "user = \"%s\": %s", v->text,
	     rc ? strerror_r(rc, err, sizeof(err)) : "no such user");
	return false;
}

static bool convert_top(struct load *ld, const struct bound *b, struct config *c)
{
	for (size_t i = T_AGENTX_SOCKET; i < T_FIRST_INT; i++)
		if (b->set[i] && top_opts[i].field != NO_FIELD &&
		    !dup_str(ld, b->set[i], (char **)((char *)c + top_opts[i].field)))
			return false;
	if (b->set[T_USER] && !check_user(ld, b->set[T_USER]))
		return false;
	if (b->set[T_PROBE_LOCAL] &&
	    !host_addr(ld, "probe-local-address", value_of(b->set[T_PROBE_LOCAL]), true, true,
		       &c->probe_local))
		return false;
	if (b->set[T_CAPTURE_IF] && b->set[T_CAPTURE_FILE]) {
		fail(ld, b->set[T_CAPTURE_FILE]->line,
		     "capture-file and capture-interface are both set; choose one");
		return false;
	}
	return fill_ints(ld, b, top_opts, T_FIRST_INT, N_OPTS(top_opts), c);
}

static struct config *convert(struct load *ld, const struct conf_item *items)
{
	struct config *c = calloc(1, sizeof(*c));
	struct bound top;
	struct thresholds unused;
	struct thr_set global;

	if (!c) {
		fail(ld, 1, "out of memory");
		return NULL;
	}
	if (!bind(ld, items, top_opts, N_OPTS(top_opts), &top) || !convert_top(ld, &top, c) ||
	    !read_thresholds(ld, top.set[T_THRESHOLDS], &global) ||
	    !merge_thresholds(ld, "thresholds", &global, NULL, &unused) ||
	    !convert_history(ld, top.set[T_HISTORY], &c->history) ||
	    !convert_bmp(ld, top.set[T_BMP], &c->bmp) ||
	    !convert_tunnels(ld, items, &top, c) || !convert_pes(ld, items, &top, c) ||
	    !convert_vpns(ld, items, &top, &global, c)) {
		config_free(c);
		return NULL;
	}
	return c;
}

/* ---- files ---- */

/* A configuration of RFC 4834's 100,000 VPNs is about 20 MB; four times
 * more is a mistake, not a configuration. */
#define CONFIG_MAX_BYTES (64u << 20)

static void read_error(const char *path, const char *what, int err)
{
	char buf[128];

	mvpn_log(LOG_ERR, "%s: cannot read configuration: %s", path,
		 what ? what : strerror_r(err, buf, sizeof(buf)));
}

/* Reads to the end, or past CONFIG_MAX_BYTES, into *buf (of *cap bytes,
 * grown by doubling); false with errno on an error. */
static bool read_all(int fd, char **buf, size_t *cap, size_t *len)
{
	while (*len <= CONFIG_MAX_BYTES) {
		if (*len == *cap) {
			size_t grown = *cap * 2 > CONFIG_MAX_BYTES + 1 ? CONFIG_MAX_BYTES + 1 : *cap * 2;
			char *p = realloc(*buf, grown);
			if (!p) {
				errno = ENOMEM;
				return false;
			}
			*buf = p;
			*cap = grown;
		}
		ssize_t n = read(fd, *buf + *len, *cap - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0;
		*len += (size_t)n;
	}
	return true;
}

/* The whole file, in one buffer of its size when it is a regular file. */
static char *read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	size_t cap;
	char *buf;
	bool ok;

	if (fd < 0) {
		read_error(path, NULL, errno);
		return NULL;
	}
	cap = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size < CONFIG_MAX_BYTES
		      ? (size_t)st.st_size + 1 : 65536;
	buf = malloc(cap);
	*len = 0;
	ok = buf && read_all(fd, &buf, &cap, len);
	if (!ok || *len > CONFIG_MAX_BYTES) {
		read_error(path, ok ? "larger than 64 MiB, not a configuration" : NULL,
			   buf ? errno : ENOMEM);
		free(buf);
		buf = NULL;
	}
	close(fd);
	return buf;
}


struct config *config_load_text(const char *name, const char *text, size_t len)
{
	struct load ld = {.file = name};
	struct conf_tree *tree = conf_parse(name, text, len);
	struct config *c = tree ? convert(&ld, conf_items(tree)) : NULL;

	conf_free(tree);
	return c;
}

struct config *config_load(const char *path)
{
	size_t len = 0;
	char *raw = read_file(path, &len);
	struct config *c = raw ? config_load_text(path, raw, len) : NULL;

	free(raw);
	return c;
}

void config_free(struct config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_vpns; i++) {
		free(c->vpns[i].expected_pes);
		free(c->vpns[i].rds);
		free(c->vpns[i].probe.senders);
		free(c->vpns[i].probe.receivers);
	}
	free(c->vpns);
	free(c->tunnels);
	free(c->pes);
	free(c->probe_interface);
	free(c->agentx_socket);
	free(c->user);
	free(c->capture_interface);
	free(c->capture_file);
	free(c->history.file);
	free(c->history.postgres);
	free(c->history.monitor);
	free(c->bmp.allow);
	free(c);
}
