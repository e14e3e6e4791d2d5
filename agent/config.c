#include "config.h"

#include <confuse.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../mib/log.h"
#include "config_text.h"

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
	{"notification-rate-limit", 0, 1000000},
	{"notification-rate-interval", 1, 86400},
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

static int parse_expected_pe(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	struct inet_addr a, earlier;
	unsigned n = cfg_opt_size(opt); /* already counts this value's slot */

	if (!inet_addr_parse(&a, value) || !inet_addr_is_unicast(&a)) {
		cfg_error(cfg, "%s: \"%s\" is not a unicast IPv4 or IPv6 address", opt->name, value);
		return -1;
	}
	for (unsigned i = 0; i + 1 < n; i++) {
		inet_addr_parse(&earlier, cfg_opt_getnstr(opt, i));
		if (inet_addr_eq(&a, &earlier)) {
			cfg_error(cfg, "%s: \"%s\" is listed twice", opt->name, value);
			return -1;
		}
	}
	*(const char **)result = value;
	return 0;
}

static cfg_t *config_schema(void)
{
	static cfg_opt_t vpn_opts[] = {
		CFG_INT_CB("index", 0, CFGF_NODEFAULT, parse_int),
		CFG_STR_CB("default-mdt", NULL, CFGF_NODEFAULT, parse_default_mdt),
		CFG_STR_LIST_CB("expected-pes", "{}", CFGF_NONE, parse_expected_pe),
		CFG_END()};
	static cfg_opt_t opts[] = {
		CFG_STR("agentx-socket", NULL, CFGF_NODEFAULT),
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

static int convert_vpn(cfg_t *sec, struct vpn_config *out)
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
	return 0;
}

static struct config *convert(cfg_t *cfg)
{
	struct config *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->agentx_socket = dup_opt(cfg, "agentx-socket");
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
	c->n_vpns = cfg_size(cfg, "vpn");
	c->vpns = c->n_vpns ? calloc(c->n_vpns, sizeof(*c->vpns)) : NULL;
	if (c->n_vpns && !c->vpns)
		goto fail;
	for (size_t i = 0; i < c->n_vpns; i++)
		if (convert_vpn(cfg_getnsec(cfg, "vpn", (unsigned)i), &c->vpns[i]) < 0)
			goto fail;
	qsort(c->vpns, c->n_vpns, sizeof(*c->vpns), vpn_config_cmp);
	return c;
fail:
	config_free(c);
	return NULL;
}

/* Checks that need more than one value; each names the line to blame. */
static int check_whole(const char *path, const char *text, cfg_t *cfg)
{
	unsigned n = cfg_size(cfg, "vpn");

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

struct config *config_load(const char *path)
{
	struct config *c = NULL;
	size_t len = 0;
	char *raw = read_file(path, &len);
	char *text = raw ? config_text_strip(raw, len) : NULL;
	cfg_t *cfg = text ? config_schema() : NULL;

	if (cfg && parse_text(cfg, path, text, len) == 0 && check_whole(path, text, cfg) == 0) {
		c = convert(cfg);
		if (!c)
			mvpn_log(LOG_ERR, "%s: out of memory loading the configuration", path);
	}
	if (cfg)
		cfg_free(cfg);
	free(text);
	free(raw);
	return c;
}

void config_free(struct config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_vpns; i++)
		free(c->vpns[i].expected_pes);
	free(c->vpns);
	free(c->agentx_socket);
	free(c->capture_interface);
	free(c->capture_file);
	free(c);
}
