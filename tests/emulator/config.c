/* Line-based configuration: one statement a line, '#' starts a comment.
 * The file is parsed whole; any error leaves nothing half-applied. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "wire.h"

#define MAX_WORDS 16
#define MAX_DELAY_MS 3600000.0   /* an hour: keeps every sum far from overflow */
#define MAX_QUERY_INTERVAL 31744 /* the largest QQIC can say */
#define MAX_MEMBERSHIP_TIMEOUT 86400.0

enum singleton { SEEN_SEED, SEEN_MONITOR, SEEN_INTERVAL, SEEN_VERSION, SEEN_TIMEOUT, N_SINGLETONS };

struct parser {
	const char *path;
	int line;
	char *err;
	size_t errlen;
	struct config *c;
	int singleton_line[N_SINGLETONS];
	int up_line[MAX_PES], down_line[MAX_PES], ingress_line[MAX_PES];
	int *pair_line; /* MAX_PES * MAX_PES */
};

static int fail(struct parser *ps, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(ps->err, ps->errlen, "%s:%d: %s", ps->path, ps->line, msg);
	return -1;
}

static int parse_number(struct parser *ps, const char *what, const char *text, double lo,
			double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(text, &end);
	if (end == text || *end != '\0' || errno == ERANGE || !isfinite(v))
		return fail(ps, "%s: '%s' is not a number", what, text);
	if (v < lo || v > hi)
		return fail(ps, "%s %s is out of range (%.15g to %.15g)", what, text, lo, hi);
	*out = v;
	return 0;
}

static int parse_unicast(struct parser *ps, const char *text, uint32_t *out)
{
	struct in_addr a;
	if (inet_pton(AF_INET, text, &a) != 1)
		return fail(ps, "'%s' is not an IPv4 address", text);
	if (a.s_addr == 0 || a.s_addr == 0xffffffffu || addr_is_multicast(a.s_addr))
		return fail(ps, "%s is not a unicast address", text);
	*out = a.s_addr;
	return 0;
}

static int parse_declared_pe(struct parser *ps, const char *text, int *index)
{
	uint32_t addr;
	if (parse_unicast(ps, text, &addr))
		return -1;
	*index = config_pe_index(ps->c, addr);
	if (*index < 0)
		return fail(ps, "PE %s is not declared (declare it with a 'pe' line first)", text);
	return 0;
}

static int check_once(struct parser *ps, enum singleton which, const char *keyword)
{
	if (ps->singleton_line[which])
		return fail(ps, "'%s' repeated (first at line %d)", keyword,
			    ps->singleton_line[which]);
	ps->singleton_line[which] = ps->line;
	return 0;
}

/* "delay X loss Y jitter Z" in any order, each at most once. */
static int parse_stage(struct parser *ps, char **w, int n, struct stage *s)
{
	static const char *const names[] = { "delay", "loss", "jitter" };
	const double limits[] = { MAX_DELAY_MS, 100, MAX_DELAY_MS };
	double *fields[] = { &s->delay_ms, &s->loss_pct, &s->jitter_ms };
	int seen[3] = { 0, 0, 0 };

	for (int i = 0; i < n; i += 2) {
		int k = 0;
		while (k < 3 && strcmp(w[i], names[k]))
			k++;
		if (k == 3)
			return fail(ps, "unknown stage parameter '%s' (delay, loss, jitter)", w[i]);
		if (seen[k]++)
			return fail(ps, "'%s' given twice", w[i]);
		if (i + 1 >= n)
			return fail(ps, "'%s' needs a value", w[i]);
		if (parse_number(ps, names[k], w[i + 1], 0, limits[k], fields[k]))
			return -1;
	}
	return 0;
}

static int parse_pe(struct parser *ps, char **w, int n)
{
	uint32_t addr;
	if (n != 2)
		return fail(ps, "usage: pe ADDRESS");
	if (parse_unicast(ps, w[1], &addr))
		return -1;
	if (config_pe_index(ps->c, addr) >= 0)
		return fail(ps, "PE %s declared twice", w[1]);
	if (ps->c->n_pes == MAX_PES)
		return fail(ps, "too many PEs (at most %d)", MAX_PES);
	memset(&ps->c->pes[ps->c->n_pes], 0, sizeof(ps->c->pes[0]));
	ps->c->pes[ps->c->n_pes++].addr = addr;
	return 0;
}

static int parse_tunnel(struct parser *ps, char **w, int n)
{
	int pe, *line;
	struct stage *s;
	if (n < 3 || (strcmp(w[2], "up") && strcmp(w[2], "down")))
		return fail(ps, "usage: tunnel PE up|down [delay MS] [loss PERCENT] [jitter MS]");
	if (parse_declared_pe(ps, w[1], &pe))
		return -1;
	int up = !strcmp(w[2], "up");
	line = up ? &ps->up_line[pe] : &ps->down_line[pe];
	s = up ? &ps->c->pes[pe].up : &ps->c->pes[pe].down;
	if (*line)
		return fail(ps, "tunnel %s %s already configured at line %d", w[1], w[2], *line);
	*line = ps->line;
	return parse_stage(ps, w + 3, n - 3, s);
}

/* What the PE puts on the MDT (the multicast it replicates), not its echo
 * replies: a stage drawn once per packet, after up, before replication. */
static int parse_ingress(struct parser *ps, char **w, int n)
{
	int pe;
	if (n < 2)
		return fail(ps, "usage: ingress PE [delay MS] [loss PERCENT] [jitter MS]");
	if (parse_declared_pe(ps, w[1], &pe))
		return -1;
	if (ps->ingress_line[pe])
		return fail(ps, "ingress %s already configured at line %d", w[1],
			    ps->ingress_line[pe]);
	ps->ingress_line[pe] = ps->line;
	ps->c->pes[pe].has_ingress = 1;
	return parse_stage(ps, w + 2, n - 2, &ps->c->pes[pe].ingress);
}

static int parse_pair(struct parser *ps, char **w, int n)
{
	int from, to, *line;
	if (n < 3)
		return fail(ps, "usage: pair FROM-PE TO-PE [delay MS] [loss PERCENT] [jitter MS]");
	if (parse_declared_pe(ps, w[1], &from) || parse_declared_pe(ps, w[2], &to))
		return -1;
	if (from == to)
		return fail(ps, "a pair needs two different PEs");
	line = &ps->pair_line[from * MAX_PES + to];
	if (*line)
		return fail(ps, "pair %s %s already configured at line %d", w[1], w[2], *line);
	*line = ps->line;
	return parse_stage(ps, w + 3, n - 3, &ps->c->pairs[from * MAX_PES + to]);
}

static int parse_setting(struct parser *ps, char **w, int n)
{
	double v;
	struct config *c = ps->c;
	if (n != 2)
		return fail(ps, "'%s' takes one value", w[0]);
	if (!strcmp(w[0], "seed")) {
		char *end;
		if (check_once(ps, SEEN_SEED, w[0]))
			return -1;
		errno = 0;
		unsigned long long seed = strtoull(w[1], &end, 0);
		if (end == w[1] || *end || errno || w[1][0] == '-')
			return fail(ps, "seed: '%s' is not an unsigned 64-bit number", w[1]);
		c->seed = seed;
	} else if (!strcmp(w[0], "monitor")) {
		if (check_once(ps, SEEN_MONITOR, w[0]) || parse_unicast(ps, w[1], &c->monitor))
			return -1;
	} else if (!strcmp(w[0], "igmp-query-interval")) {
		if (check_once(ps, SEEN_INTERVAL, w[0]) ||
		    parse_number(ps, w[0], w[1], 0, MAX_QUERY_INTERVAL, &c->query_interval_s))
			return -1;
	} else if (!strcmp(w[0], "igmp-query-version")) {
		if (check_once(ps, SEEN_VERSION, w[0]) || parse_number(ps, w[0], w[1], 2, 3, &v))
			return -1;
		if (v != 2 && v != 3)
			return fail(ps, "igmp-query-version must be 2 or 3");
		c->query_version = (int)v;
	} else {
		if (check_once(ps, SEEN_TIMEOUT, w[0]) ||
		    parse_number(ps, w[0], w[1], 0.001, MAX_MEMBERSHIP_TIMEOUT, &c->membership_timeout_s))
			return -1;
	}
	return 0;
}

static int split_words(char *line, char **w)
{
	int n = 0;
	char *hash = strchr(line, '#');
	if (hash)
		*hash = '\0';
	for (char *tok = strtok(line, " \t\r\n"); tok; tok = strtok(NULL, " \t\r\n")) {
		if (n == MAX_WORDS)
			return -1;
		w[n++] = tok;
	}
	return n;
}

static int parse_line(struct parser *ps, char *text)
{
	char *w[MAX_WORDS];
	int n = split_words(text, w);
	if (n < 0)
		return fail(ps, "too many words");
	if (n == 0)
		return 0;
	if (!strcmp(w[0], "pe"))
		return parse_pe(ps, w, n);
	if (!strcmp(w[0], "tunnel"))
		return parse_tunnel(ps, w, n);
	if (!strcmp(w[0], "pair"))
		return parse_pair(ps, w, n);
	if (!strcmp(w[0], "ingress"))
		return parse_ingress(ps, w, n);
	if (!strcmp(w[0], "seed") || !strcmp(w[0], "monitor") ||
	    !strcmp(w[0], "igmp-query-interval") || !strcmp(w[0], "igmp-query-version") ||
	    !strcmp(w[0], "igmp-membership-timeout"))
		return parse_setting(ps, w, n);
	return fail(ps, "unknown keyword '%s'", w[0]);
}

static struct config *config_new(const char *path)
{
	struct config *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->path = strdup(path);
	c->pairs = calloc((size_t)MAX_PES * MAX_PES, sizeof(*c->pairs));
	c->query_version = 3;
	c->membership_timeout_s = 260;
	if (!c->path || !c->pairs) {
		config_free(c);
		return NULL;
	}
	return c;
}

static int parse_file(struct parser *ps, FILE *f)
{
	char *text = NULL;
	size_t cap = 0;
	int rc = 0;
	while (rc == 0 && getline(&text, &cap, f) >= 0) {
		ps->line++;
		rc = parse_line(ps, text);
	}
	if (rc == 0 && ferror(f))
		rc = fail(ps, "read error");
	free(text);
	return rc;
}

int config_load(const char *path, struct config **out, char *err, size_t errlen)
{
	struct parser *ps = calloc(1, sizeof(*ps));
	FILE *f = NULL;
	int rc = -1;

	*out = NULL;
	if (!ps) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	*ps = (struct parser){ .path = path, .err = err, .errlen = errlen };
	ps->c = config_new(path);
	ps->pair_line = calloc((size_t)MAX_PES * MAX_PES, sizeof(int));
	if (!ps->c || !ps->pair_line)
		snprintf(err, errlen, "%s: out of memory", path);
	else if (!(f = fopen(path, "r")))
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	else
		rc = parse_file(ps, f);
	if (f)
		fclose(f);
	if (rc == 0)
		*out = ps->c;
	else
		config_free(ps->c);
	free(ps->pair_line);
	free(ps);
	return rc;
}

void config_free(struct config *c)
{
	if (!c)
		return;
	free(c->path);
	free(c->pairs);
	free(c);
}

int config_pe_index(const struct config *c, uint32_t addr)
{
	for (size_t i = 0; i < c->n_pes; i++)
		if (c->pes[i].addr == addr)
			return (int)i;
	return -1;
}

const struct stage *config_pair(const struct config *c, size_t from, size_t to)
{
	return &c->pairs[from * MAX_PES + to];
}
