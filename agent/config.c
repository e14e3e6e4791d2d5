#include "config.h"

#include <confuse.h>
#include <errno.h>
#include <math.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../mib/log.h"
#include "config_text.h"

/* The probe header of an IPv4 sender (probe/wire.h): the smallest probe payload. */
#define PROBE_MIN_SIZE 32

/* Limits that keep a typo from asking for absurd memory or timers. */
struct int_limit {
	const char *name;
	long lo, hi;
};

static const struct int_limit int_limits[] = {
	{"index", 1, 4294967295L},
	{"agentx-ping-interval", 0, 3600},
	{"startup-grace", 0, 86400},
	{"change-log-size", 1, 10000000L},
	{"max-pes-per-vpn", 1, 100000000L},
	{"max-cgroups-per-vpn", 1, 100000000L},
	{"max-data-mdts-per-vpn", 1, 100000000L},
	{"notification-rate-limit", 0, 10000},
	{"pe-check-interval", 1, 3600},
	{"notification-rate-interval", 1, 86400},
	{"probe-loss-timeout", 1, 60},
	{"probe-unreachable-time", 1, 86400},
	{"echo-interval", 10, 60000},
	{"igmp-report-interval", 1, 3600},
	{"rate", 1, 10000},
	{"size", PROBE_MIN_SIZE, 1400},
	{"window", 1, 3600},
	{"port", 1, 65535},
	{"igmp-version", 2, 3},
};

static void config_error_sink(cfg_t *cfg, const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (cfg && cfg->filename)
		mvpn_log(LOG_ERR, "%s:%d: %s", cfg->filename, cfg->line, msg);
	else
		mvpn_log(LOG_ERR, "config: %s", msg);
}

/*
 * Value callbacks run while the lexer still stands on the value's line (the
 * validate callbacks run only when a section closes), so every check that can
 * be made on one value is made here, and its message names the right line.
 */
static int parse_int(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(value, &end, 0);
	if (errno || end == value || *end) {
		cfg_error(cfg, "%s = \"%s\" is not a whole number", opt->name, value);
		return -1;
	}
	for (size_t i = 0; i < sizeof(int_limits) / sizeof(int_limits[0]); i++) {
		const struct int_limit *l = &int_limits[i];
		if (strcmp(l->name, opt->name) == 0 && (v < l->lo || v > l->hi)) {
			cfg_error(cfg, "%s = %ld is out of range (%ld..%ld)", opt->name, v, l->lo, l->hi);
			return -1;
		}
	}
	*(long *)result = v;
	return 0;
}

static int parse_default_mdt(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	struct inet_addr a;

	if (!inet_addr_parse(&a, value) || !inet_addr_is_multicast(&a)) {
		cfg_error(cfg, "%s \"%s\" is not an IPv4 or IPv6 multicast group", opt->name, value);
		return -1;
	}
	*(const char **)result = value;
	return 0;
}

/* Is a already in the list before this value's own slot?  Says so if it is. */
static bool listed_before(cfg_t *cfg, cfg_opt_t *opt, const struct inet_addr *a, const char *value)
{
	struct inet_addr earlier;
	unsigned n = cfg_opt_size(opt); /* already counts this value's slot */

	for (unsigned i = 0; i + 1 < n; i++) {
		inet_addr_parse(&earlier, cfg_opt_getnstr(opt, i));
		if (inet_addr_eq(a, &earlier)) {
			cfg_error(cfg, "%s: \"%s\" is listed twice", opt->name, value);
			return true;
		}
	}
	return false;
}

static int parse_expected_pe(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	struct inet_addr a;

	if (!inet_addr_parse(&a, value) || !inet_addr_is_unicast(&a)) {
		cfg_error(cfg, "%s: \"%s\" is not a unicast IPv4 or IPv6 address", opt->name, value);
		return -1;
	}
	if (listed_before(cfg, opt, &a, value))
		return -1;
	*(const char **)result = value;
	return 0;
}

/* A unicast IPv4 address: GRE tunnels and probes are IPv4 in this version. */
static int parse_ipv4_unicast(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	struct inet_addr a;

	if (!inet_addr_parse(&a, value) || a.type != INET_IPV4 || !inet_addr_is_unicast(&a)) {
		cfg_error(cfg, "%s: \"%s\" is not a unicast IPv4 address", opt->name, value);
		return -1;
	}
	*(const char **)result = value;
	return 0;
}

/* A list of IPv4 unicast addresses, none twice (senders, receivers). */
static int parse_probe_pe(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	struct inet_addr a;

	if (parse_ipv4_unicast(cfg, opt, value, result) < 0)
		return -1;
	inet_addr_parse(&a, value);
	return listed_before(cfg, opt, &a, value) ? -1 : 0;
}

/* Threshold options: loss in percent, delay and jitter in milliseconds. */
static int parse_threshold(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	bool loss = strncmp(opt->name, "loss-", 5) == 0;
	double hi = loss ? 100.0 : 3600000.0;
	char *end;
	double v;

	errno = 0;
	v = strtod(value, &end);
	if (errno || end == value || *end || !(v >= 0 && v <= hi)) {
		cfg_error(cfg, "%s = \"%s\" is not a number from 0 to %g (%s)", opt->name, value, hi,
			  loss ? "percent" : "milliseconds");
		return -1;
	}
	*(double *)result = v;
	return 0;
}

/* The user to run as must exist now, not only when the daemon drops to it. */
static int parse_user(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	errno = 0;
	if (!getpwnam(value)) {
		cfg_error(cfg, "%s = \"%s\": %s", opt->name, value,
			  errno ? strerror(errno) : "no such user");
		return -1;
	}
	*(const char **)result = value;
	return 0;
}

static cfg_t *config_schema(void)
{
	static cfg_opt_t threshold_opts[] = {
		CFG_FLOAT_CB("loss-rising", 0, CFGF_NODEFAULT, parse_threshold),
		CFG_FLOAT_CB("loss-falling", 0, CFGF_NODEFAULT, parse_threshold),
		CFG_FLOAT_CB("delay-rising", 0, CFGF_NODEFAULT, parse_threshold),
		CFG_FLOAT_CB("delay-falling", 0, CFGF_NODEFAULT, parse_threshold),
		CFG_FLOAT_CB("jitter-rising", 0, CFGF_NODEFAULT, parse_threshold),
		CFG_FLOAT_CB("jitter-falling", 0, CFGF_NODEFAULT, parse_threshold),
		CFG_END()};
	static cfg_opt_t probe_opts[] = {
		CFG_BOOL("enabled", cfg_true, CFGF_NONE),
		CFG_INT_CB("rate", 10, CFGF_NONE, parse_int),
		CFG_INT_CB("size", 64, CFGF_NONE, parse_int),
		CFG_INT_CB("window", 60, CFGF_NONE, parse_int),
		CFG_INT_CB("port", 5010, CFGF_NONE, parse_int),
		CFG_INT_CB("igmp-version", 3, CFGF_NONE, parse_int),
		CFG_STR_LIST_CB("senders", NULL, CFGF_NODEFAULT, parse_probe_pe),
		CFG_STR_LIST_CB("receivers", NULL, CFGF_NODEFAULT, parse_probe_pe),
		CFG_END()};
	static cfg_opt_t tunnel_opts[] = {
		CFG_STR_CB("remote", NULL, CFGF_NODEFAULT, parse_ipv4_unicast),
		CFG_END()};
	static cfg_opt_t vpn_opts[] = {
		CFG_INT_CB("index", 0, CFGF_NODEFAULT, parse_int),
		CFG_STR_CB("default-mdt", NULL, CFGF_NODEFAULT, parse_default_mdt),
		CFG_STR_LIST_CB("expected-pes", "{}", CFGF_NONE, parse_expected_pe),
		/* MULTI so that an absent section is absent (libconfuse would
		 * otherwise make a default one); more than one is refused below. */
		CFG_SEC("probe", probe_opts, CFGF_MULTI | CFGF_NODEFAULT),
		CFG_SEC("thresholds", threshold_opts, CFGF_MULTI | CFGF_NODEFAULT),
		CFG_END()};
	static cfg_opt_t opts[] = {
		CFG_STR("agentx-socket", NULL, CFGF_NODEFAULT),
		CFG_STR_CB("user", NULL, CFGF_NODEFAULT, parse_user),
		CFG_INT_CB("agentx-ping-interval", 5, CFGF_NONE, parse_int),
		CFG_STR("capture-interface", NULL, CFGF_NODEFAULT),
		CFG_STR("capture-file", NULL, CFGF_NODEFAULT),
		CFG_INT_CB("startup-grace", 105, CFGF_NONE, parse_int),
		CFG_INT_CB("change-log-size", 10000, CFGF_NONE, parse_int),
		CFG_INT_CB("max-pes-per-vpn", 1000, CFGF_NONE, parse_int),
		CFG_INT_CB("max-cgroups-per-vpn", 100000, CFGF_NONE, parse_int),
		CFG_INT_CB("max-data-mdts-per-vpn", 10000, CFGF_NONE, parse_int),
		CFG_INT_CB("notification-rate-limit", 10, CFGF_NONE, parse_int),
		CFG_INT_CB("notification-rate-interval", 60, CFGF_NONE, parse_int),
		CFG_INT_CB("pe-check-interval", 10, CFGF_NONE, parse_int),
		CFG_SEC("thresholds", threshold_opts, CFGF_MULTI | CFGF_NODEFAULT),
		CFG_STR("probe-interface", NULL, CFGF_NODEFAULT),
		CFG_STR_CB("probe-local-address", NULL, CFGF_NODEFAULT, parse_ipv4_unicast),
		CFG_INT_CB("probe-loss-timeout", 2, CFGF_NONE, parse_int),
		CFG_INT_CB("probe-unreachable-time", 10, CFGF_NONE, parse_int),
		CFG_INT_CB("echo-interval", 1000, CFGF_NONE, parse_int),
		CFG_INT_CB("igmp-report-interval", 60, CFGF_NONE, parse_int),
		CFG_SEC("tunnel", tunnel_opts, CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
		CFG_SEC("vpn", vpn_opts, CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
		CFG_END()};
	cfg_t *cfg = cfg_init(opts, CFGF_NONE);

	if (cfg)
		cfg_set_error_function(cfg, config_error_sink);
	return cfg;
}

static char *dup_opt(cfg_t *cfg, const char *name)
{
	return cfg_size(cfg, name) ? strdup(cfg_getstr(cfg, name)) : NULL;
}

static int vpn_config_cmp(const void *a, const void *b)
{
	const struct vpn_config *x = a, *y = b;
	return x->index < y->index ? -1 : x->index > y->index;
}

static int addr_cmp_qsort(const void *a, const void *b)
{
	return inet_addr_cmp(a, b);
}

/* A list option into a sorted array (a copy of fallback when it is absent or empty). */
static int convert_addr_list(cfg_t *sec, const char *name, const struct inet_addr *fallback,
			     size_t n_fallback, struct inet_addr **out, size_t *n_out)
{
	size_t n = cfg_size(sec, name);

	if (!n) { /* absent or empty: the fallback */
		n = n_fallback;
		*out = n ? calloc(n, sizeof(**out)) : NULL;
		if (n && !*out)
			return -1;
		if (n)
			memcpy(*out, fallback, n * sizeof(**out));
	} else {
		*out = n ? calloc(n, sizeof(**out)) : NULL;
		if (n && !*out)
			return -1;
		for (size_t i = 0; i < n; i++)
			inet_addr_parse(&(*out)[i], cfg_getnstr(sec, name, (unsigned)i));
	}
	*n_out = n;
	if (n)
		qsort(*out, n, sizeof(**out), addr_cmp_qsort);
	return 0;
}

static int convert_probe(cfg_t *vsec, const struct vpn_config *v, struct probe_config *out)
{
	cfg_t *sec = cfg_size(vsec, "probe") ? cfg_getsec(vsec, "probe") : NULL;

	memset(out, 0, sizeof(*out));
	if (!sec || !cfg_getbool(sec, "enabled"))
		return 0;
	out->enabled = true;
	out->rate = (unsigned)cfg_getint(sec, "rate");
	out->size = (unsigned)cfg_getint(sec, "size");
	out->window = (unsigned)cfg_getint(sec, "window");
	out->port = (unsigned)cfg_getint(sec, "port");
	out->igmp_version = (unsigned)cfg_getint(sec, "igmp-version");
	if (convert_addr_list(sec, "senders", v->expected_pes, v->n_expected, &out->senders,
			      &out->n_senders) < 0 ||
	    convert_addr_list(sec, "receivers", v->expected_pes, v->n_expected, &out->receivers,
			      &out->n_receivers) < 0)
		return -1;
	return 0;
}

static const char *const threshold_names[METRICS][2] = {
	{"loss-rising", "loss-falling"},
	{"delay-rising", "delay-falling"},
	{"jitter-rising", "jitter-falling"}};

/* MIB units per configured unit: ppm per percent, us per ms. */
static const double threshold_scale[METRICS] = {10000.0, 1000.0, 1000.0};

/* A configured threshold in the MIB's units, as the alarms compare it. */
static uint32_t threshold_units(int k, double v)
{
	return (uint32_t)llround(v * threshold_scale[k]);
}

static cfg_t *thresholds_of(cfg_t *sec)
{
	return sec && cfg_size(sec, "thresholds") ? cfg_getsec(sec, "thresholds") : NULL;
}

/* A threshold option for a VPN: its own, else the global one.  The section
 * it came from goes to *from (NULL: neither sets it). */
static bool threshold_opt(cfg_t *cfg, cfg_t *vsec, const char *name, double *out, cfg_t **from)
{
	cfg_t *own = thresholds_of(vsec), *global = thresholds_of(cfg);

	*from = own && cfg_size(own, name) ? vsec : global && cfg_size(global, name) ? cfg : NULL;
	if (*from)
		*out = cfg_getfloat(thresholds_of(*from), name);
	return *from != NULL;
}

static void convert_thresholds(cfg_t *cfg, cfg_t *vsec, struct thresholds *out)
{
	cfg_t *from;

	memset(out, 0, sizeof(*out));
	for (int k = 0; k < METRICS; k++) {
		double rising = 0, falling = 0;
		threshold_opt(cfg, vsec, threshold_names[k][0], &rising, &from);
		threshold_opt(cfg, vsec, threshold_names[k][1], &falling, &from);
		out->t[k].rising = threshold_units(k, rising);
		out->t[k].falling = threshold_units(k, falling);
	}
}

static int convert_vpn(cfg_t *cfg, cfg_t *sec, struct vpn_config *out)
{
	size_t n = cfg_size(sec, "expected-pes");

	out->index = (uint32_t)cfg_getint(sec, "index");
	snprintf(out->name, sizeof(out->name), "%s", cfg_title(sec));
	inet_addr_parse(&out->default_mdt, cfg_getstr(sec, "default-mdt"));
	out->n_expected = n;
	out->expected_pes = n ? calloc(n, sizeof(*out->expected_pes)) : NULL;
	if (n && !out->expected_pes)
		return -1;
	for (size_t i = 0; i < n; i++)
		inet_addr_parse(&out->expected_pes[i], cfg_getnstr(sec, "expected-pes", (unsigned)i));
	convert_thresholds(cfg, sec, &out->thresholds);
	return convert_probe(sec, out, &out->probe);
}

static int tunnel_config_cmp(const void *a, const void *b)
{
	const struct tunnel_config *x = a, *y = b;
	return inet_addr_cmp(&x->pe, &y->pe);
}

static int convert_tunnels(cfg_t *cfg, struct config *c)
{
	c->n_tunnels = cfg_size(cfg, "tunnel");
	c->tunnels = c->n_tunnels ? calloc(c->n_tunnels, sizeof(*c->tunnels)) : NULL;
	if (c->n_tunnels && !c->tunnels)
		return -1;
	for (size_t i = 0; i < c->n_tunnels; i++) {
		cfg_t *sec = cfg_getnsec(cfg, "tunnel", (unsigned)i);
		inet_addr_parse(&c->tunnels[i].pe, cfg_title(sec));
		inet_addr_parse(&c->tunnels[i].remote, cfg_getstr(sec, "remote"));
	}
	if (c->n_tunnels) /* qsort's base must not be NULL, even for 0 elements */
		qsort(c->tunnels, c->n_tunnels, sizeof(*c->tunnels), tunnel_config_cmp);
	return 0;
}

struct inet_addr config_tunnel_remote(const struct config *c, const struct inet_addr *pe)
{
	for (size_t i = 0; i < c->n_tunnels; i++)
		if (inet_addr_eq(&c->tunnels[i].pe, pe))
			return c->tunnels[i].remote;
	return *pe;
}

static struct config *convert(cfg_t *cfg)
{
	struct config *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->agentx_socket = dup_opt(cfg, "agentx-socket");
	c->user = dup_opt(cfg, "user");
	c->capture_interface = dup_opt(cfg, "capture-interface");
	c->capture_file = dup_opt(cfg, "capture-file");
	c->agentx_ping_interval = (unsigned)cfg_getint(cfg, "agentx-ping-interval");
	c->startup_grace = (unsigned)cfg_getint(cfg, "startup-grace");
	c->change_log_size = (unsigned)cfg_getint(cfg, "change-log-size");
	c->max_pes_per_vpn = (unsigned)cfg_getint(cfg, "max-pes-per-vpn");
	c->max_cgroups_per_vpn = (unsigned)cfg_getint(cfg, "max-cgroups-per-vpn");
	c->max_data_mdts_per_vpn = (unsigned)cfg_getint(cfg, "max-data-mdts-per-vpn");
	c->notify_rate_limit = (unsigned)cfg_getint(cfg, "notification-rate-limit");
	c->notify_rate_interval = (unsigned)cfg_getint(cfg, "notification-rate-interval");
	c->pe_check_interval = (unsigned)cfg_getint(cfg, "pe-check-interval");
	c->n_vpns = cfg_size(cfg, "vpn");
	c->vpns = c->n_vpns ? calloc(c->n_vpns, sizeof(*c->vpns)) : NULL;
	if (c->n_vpns && !c->vpns)
		goto fail;
	for (size_t i = 0; i < c->n_vpns; i++)
		if (convert_vpn(cfg, cfg_getnsec(cfg, "vpn", (unsigned)i), &c->vpns[i]) < 0)
			goto fail;
	if (c->n_vpns) /* qsort(NULL, 0) is undefined */
		qsort(c->vpns, c->n_vpns, sizeof(*c->vpns), vpn_config_cmp);
	c->probe_interface = dup_opt(cfg, "probe-interface");
	if (cfg_size(cfg, "probe-local-address"))
		inet_addr_parse(&c->probe_local, cfg_getstr(cfg, "probe-local-address"));
	c->probe_loss_timeout = (unsigned)cfg_getint(cfg, "probe-loss-timeout");
	c->probe_unreachable_time = (unsigned)cfg_getint(cfg, "probe-unreachable-time");
	c->echo_interval_ms = (unsigned)cfg_getint(cfg, "echo-interval");
	c->igmp_report_interval = (unsigned)cfg_getint(cfg, "igmp-report-interval");
	if (convert_tunnels(cfg, c) < 0)
		goto fail;
	return c;
fail:
	config_free(c);
	return NULL;
}

static bool all_ipv4(cfg_t *sec, const char *name)
{
	struct inet_addr a;

	for (unsigned i = 0; i < cfg_size(sec, name); i++)
		if (!inet_addr_parse(&a, cfg_getnstr(sec, name, i)) || a.type != INET_IPV4)
			return false;
	return true;
}

/* A probed VPN needs the global probe settings and IPv4 everywhere. */
static int check_probe(const char *path, const char *text, cfg_t *cfg, cfg_t *vsec)
{
	const char *name = cfg_title(vsec);
	cfg_t *sec = cfg_size(vsec, "probe") ? cfg_getsec(vsec, "probe") : NULL;
	int line = config_text_section_line(text, "vpn", name);
	struct inet_addr mdt;

	if (cfg_size(vsec, "probe") > 1) {
		mvpn_log(LOG_ERR, "%s:%d: vpn \"%s\" has more than one probe section", path, line,
			 name);
		return -1;
	}
	if (!sec || !cfg_getbool(sec, "enabled"))
		return 0;
	if (!cfg_size(cfg, "probe-interface") || !cfg_size(cfg, "probe-local-address")) {
		mvpn_log(LOG_ERR, "%s:%d: vpn \"%s\" is probed: probe-interface and "
			 "probe-local-address must be set", path, line, name);
		return -1;
	}
	inet_addr_parse(&mdt, cfg_getstr(vsec, "default-mdt"));
	if (mdt.type != INET_IPV4) {
		mvpn_log(LOG_ERR, "%s:%d: vpn \"%s\": probing needs an IPv4 default-mdt", path,
			 config_text_option_line(text, "vpn", name, "default-mdt"), name);
		return -1;
	}
	if ((!cfg_size(sec, "senders") || !cfg_size(sec, "receivers")) &&
	    !all_ipv4(vsec, "expected-pes")) {
		mvpn_log(LOG_ERR, "%s:%d: vpn \"%s\": probing reaches PEs over IPv4 tunnels; list "
			 "IPv4 senders and receivers, since expected-pes has IPv6 addresses", path,
			 line, name);
		return -1;
	}
	if (cfg_getint(sec, "rate") * cfg_getint(sec, "window") > 1000000) {
		mvpn_log(LOG_ERR, "%s:%d: vpn \"%s\": rate x window is over 1,000,000 probes per "
			 "pair; shorten the window", path, line, name);
		return -1;
	}
	return 0;
}

static int check_tunnels(const char *path, const char *text, cfg_t *cfg)
{
	struct inet_addr pe;

	for (unsigned i = 0; i < cfg_size(cfg, "tunnel"); i++) {
		cfg_t *sec = cfg_getnsec(cfg, "tunnel", i);
		const char *title = cfg_title(sec);
		int line = config_text_section_line(text, "tunnel", title);

		if (!inet_addr_parse(&pe, title) || pe.type != INET_IPV4 || !inet_addr_is_unicast(&pe)) {
			mvpn_log(LOG_ERR, "%s:%d: tunnel \"%s\": the title must be the PE's unicast "
				 "IPv4 address", path, line, title);
			return -1;
		}
		if (!cfg_size(sec, "remote")) {
			mvpn_log(LOG_ERR, "%s:%d: tunnel \"%s\" needs remote", path, line, title);
			return -1;
		}
	}
	return 0;
}

/* The line of a threshold option, in the section it came from. */
static int threshold_line(const char *text, cfg_t *cfg, cfg_t *from, const char *name)
{
	if (from == cfg)
		return config_text_sub_option_line(text, NULL, NULL, "thresholds", name);
	return config_text_sub_option_line(text, "vpn", cfg_title(from), "thresholds", name);
}

/* Rising and falling thresholds of a VPN (vsec) or the global defaults (vsec
 * NULL), as they combine: each needs the other, and falling < rising. */
static int check_thresholds(const char *path, const char *text, cfg_t *cfg, cfg_t *vsec)
{
	cfg_t *sec = vsec ? vsec : cfg;
	const char *who = vsec ? cfg_title(vsec) : NULL;
	char where[VPN_NAME_MAX + 16] = "thresholds";

	if (vsec)
		snprintf(where, sizeof(where), "vpn \"%s\"", who);
	if (cfg_size(sec, "thresholds") > 1) {
		mvpn_log(LOG_ERR, "%s:%d: %s: more than one thresholds section", path,
			 vsec ? config_text_section_line(text, "vpn", who)
			      : config_text_sub_option_line(text, NULL, NULL, "thresholds", "-"),
			 where);
		return -1;
	}
	for (int k = 0; k < METRICS; k++) {
		const char *rn = threshold_names[k][0], *fn = threshold_names[k][1];
		double rising, falling;
		cfg_t *rfrom, *ffrom;
		bool has_r = threshold_opt(cfg, vsec, rn, &rising, &rfrom);
		bool has_f = threshold_opt(cfg, vsec, fn, &falling, &ffrom);

		if (has_f && !has_r) {
			mvpn_log(LOG_ERR, "%s:%d: %s: %s is set but %s is not", path,
				 threshold_line(text, cfg, ffrom, fn), where, fn, rn);
			return -1;
		}
		if (has_r && rising > 0 && !has_f) {
			mvpn_log(LOG_ERR, "%s:%d: %s: %s needs %s (the level at which the alarm "
				 "clears)", path, threshold_line(text, cfg, rfrom, rn), where, rn, fn);
			return -1;
		}
		/* Compared as the alarms will compare them: two levels closer than
		 * a ppm or a microsecond would be one level, and no hysteresis. */
		if (has_r && rising > 0 &&
		    (falling >= rising || threshold_units(k, falling) >= threshold_units(k, rising))) {
			/* Blame the VPN's own line if it has one, else the global falling line. */
			bool blame_rising = vsec && rfrom == vsec && ffrom != vsec;
			mvpn_log(LOG_ERR, "%s:%d: %s: %s = %g must be below %s = %g%s", path,
				 blame_rising ? threshold_line(text, cfg, rfrom, rn)
					      : threshold_line(text, cfg, ffrom, fn),
				 where, fn, falling, rn, rising,
				 falling < rising ? " by at least 1 ppm (loss) or 1 us" : "");
			return -1;
		}
	}
	return 0;
}

/* Checks that need more than one value; each names the line to blame. */
static int check_whole(const char *path, const char *text, cfg_t *cfg)
{
	unsigned n = cfg_size(cfg, "vpn");

	if (check_tunnels(path, text, cfg) < 0 || check_thresholds(path, text, cfg, NULL) < 0)
		return -1;

	if (cfg_size(cfg, "capture-interface") && cfg_size(cfg, "capture-file")) {
		mvpn_log(LOG_ERR, "%s:%d: capture-file and capture-interface are both set; choose one",
			 path, config_text_option_line(text, NULL, NULL, "capture-file"));
		return -1;
	}
	for (unsigned i = 0; i < n; i++) {
		cfg_t *sec = cfg_getnsec(cfg, "vpn", i);
		const char *name = cfg_title(sec);
		int line = config_text_section_line(text, "vpn", name);
		struct inet_addr mdt, other;

		if (strlen(name) == 0 || strlen(name) > VPN_NAME_MAX) {
			mvpn_log(LOG_ERR, "%s:%d: vpn name \"%s\" must be 1 to %d characters", path,
				 line, name, VPN_NAME_MAX);
			return -1;
		}
		if (cfg_size(sec, "index") == 0 || cfg_size(sec, "default-mdt") == 0) {
			mvpn_log(LOG_ERR, "%s:%d: vpn \"%s\" needs both index and default-mdt", path,
				 line, name);
			return -1;
		}
		if (check_probe(path, text, cfg, sec) < 0 || check_thresholds(path, text, cfg, sec) < 0)
			return -1;
		inet_addr_parse(&mdt, cfg_getstr(sec, "default-mdt"));
		for (unsigned j = 0; j < i; j++) {
			cfg_t *prev = cfg_getnsec(cfg, "vpn", j);

			if (cfg_getint(prev, "index") == cfg_getint(sec, "index")) {
				mvpn_log(LOG_ERR, "%s:%d: vpn \"%s\": index %ld is already used by vpn \"%s\"",
					 path, config_text_option_line(text, "vpn", name, "index"), name,
					 cfg_getint(sec, "index"), cfg_title(prev));
				return -1;
			}
			inet_addr_parse(&other, cfg_getstr(prev, "default-mdt"));
			if (inet_addr_eq(&mdt, &other)) {
				mvpn_log(LOG_ERR,
					 "%s:%d: vpn \"%s\": default-mdt %s is already used by vpn \"%s\"",
					 path, config_text_option_line(text, "vpn", name, "default-mdt"),
					 name, cfg_getstr(sec, "default-mdt"), cfg_title(prev));
				return -1;
			}
		}
	}
	return 0;
}

/* Config files are small; a huge one is a mistake, not a config. */
#define CONFIG_MAX_BYTES (16u << 20)

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf;

	if (!f) {
		mvpn_log(LOG_ERR, "%s: cannot read configuration: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(CONFIG_MAX_BYTES + 1);
	*len = buf ? fread(buf, 1, CONFIG_MAX_BYTES + 1, f) : 0;
	if (buf && ferror(f)) {
		mvpn_log(LOG_ERR, "%s: cannot read configuration: %s", path, strerror(errno));
		free(buf);
		buf = NULL;
	} else if (buf && *len > CONFIG_MAX_BYTES) {
		mvpn_log(LOG_ERR, "%s: configuration larger than %u bytes", path, CONFIG_MAX_BYTES);
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf)
		buf[*len] = '\0';
	return buf;
}

static int parse_text(cfg_t *cfg, const char *path, char *text, size_t len)
{
	FILE *f = fmemopen(text, len, "r");
	int rc;

	if (!f) {
		mvpn_log(LOG_ERR, "%s: %s", path, strerror(errno));
		return -1;
	}
	cfg->filename = strdup(path); /* freed by cfg_free; used in every message */
	rc = cfg_parse_fp(cfg, f);
	fclose(f);
	return rc == CFG_SUCCESS ? 0 : -1;
}

struct config *config_load_text(const char *name, const char *text, size_t len)
{
	struct config *c = NULL;
	char *stripped = config_text_strip(text, len);
	cfg_t *cfg = stripped ? config_schema() : NULL;

	if (cfg && parse_text(cfg, name, stripped, len) == 0 &&
	    check_whole(name, stripped, cfg) == 0) {
		c = convert(cfg);
		if (!c)
			mvpn_log(LOG_ERR, "%s: out of memory loading the configuration", name);
	}
	if (cfg)
		cfg_free(cfg);
	free(stripped);
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
		free(c->vpns[i].probe.senders);
		free(c->vpns[i].probe.receivers);
	}
	free(c->vpns);
	free(c->tunnels);
	free(c->probe_interface);
	free(c->agentx_socket);
	free(c->user);
	free(c->capture_interface);
	free(c->capture_file);
	free(c);
}
