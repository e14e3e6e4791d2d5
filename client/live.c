#include "live.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "../agent/oids.h"

struct live {
	netsnmp_session *ss;
	long version;
	double wait_s;
	uint64_t varbinds;
};

/* ---- the command line ---- */

/* net-snmp's options (snmpcmd(1)) whose value may be the next word. */
static const char SNMP_VALUE_LETTERS[] = "aAcCeEIlLmMnOPrtTuvxXyYZ";

bool live_option_takes_value(const char *w)
{
	return w[0] == '-' && w[1] && w[1] != '-' && !w[2] && strchr(SNMP_VALUE_LETTERS, w[1]);
}

enum { LIVE_JSON, LIVE_UTC, LIVE_STATS, LIVE_NO_COLOR, LIVE_COLOR, LIVE_HELP, LIVE_UNKNOWN };

static int long_option(const char *w)
{
	static const char *const names[] = {"--json", "--utc", "--stats", "--no-color", "--color",
					    "--help"};

	for (int i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++)
		if (strcmp(w, names[i]) == 0)
			return i;
	return LIVE_UNKNOWN;
}

struct split {
	char **snmp_argv; /* "mvpnmon", copies of the SNMP options (owned), the agent */
	int snmp_argc;
	char **owned; /* the copies */
	int n_owned;
	const char **operands;
	int n_operands;
	const char *agent;
	bool stats, color, no_color, help;
};

/*
 * An SNMP option into snmp_argv, as a copy of our own.  A community or pass
 * phrase (-c, -A, -X) is then blanked in the process's argv, so that ps does
 * not show it: what net-snmp's parser does itself, except that its copy of
 * the community outlives the session, never freed.  We parse with
 * NETSNMP_PARSE_ARGS_NOZERO and free our copies once the session is open.
 */
static int keep_secret(struct split *s, char *arg, bool secret)
{
	char *copy = strdup(arg);

	if (!copy)
		return -1;
	s->snmp_argv[s->snmp_argc++] = copy;
	s->owned[s->n_owned++] = copy;
	if (secret)
		memset(arg + (arg[0] == '-' ? 2 : 0), 0, strlen(arg) - (arg[0] == '-' ? 2 : 0));
	return 0;
}

static void free_split(struct split *s)
{
	for (int i = 0; i < s->n_owned; i++)
		free(s->owned[i]);
	free(s->owned);
	free(s->snmp_argv);
	free(s->operands);
}

static int split_args(struct cli *c, int argc, char **argv, int cmd, struct split *s)
{
	s->snmp_argv = calloc((size_t)argc + 2, sizeof(*s->snmp_argv));
	s->owned = calloc((size_t)argc + 1, sizeof(*s->owned));
	s->operands = calloc((size_t)argc + 1, sizeof(*s->operands));
	if (!s->snmp_argv || !s->owned || !s->operands)
		return -1;
	s->snmp_argv[s->snmp_argc++] = "mvpnmon";
	for (int i = 1; i < argc; i++) {
		const char *w = argv[i];
		if (i == cmd)
			continue;
		if (strncmp(w, "--", 2) == 0 && w[2]) {
			switch (long_option(w)) {
			case LIVE_JSON: c->json = true; break;
			case LIVE_UTC: c->utc = true; break;
			case LIVE_STATS: s->stats = true; break;
			case LIVE_NO_COLOR: s->no_color = true; break;
			case LIVE_COLOR: s->color = true; break;
			case LIVE_HELP: s->help = true; break;
			default:
				cli_error(c, "unknown option %s (mvpnmon --help)", w);
				return -1;
			}
		} else if (w[0] == '-' && w[1]) {
			bool secret_next = live_option_takes_value(w) && strchr("cAX", w[1]);
			if (keep_secret(s, argv[i], strchr("cAX", w[1]) && w[2]) < 0)
				return -1;
			if (live_option_takes_value(w) && i + 1 < argc && i + 1 != cmd &&
			    keep_secret(s, argv[++i], secret_next) < 0)
				return -1;
		} else if (i < cmd) {
			if (s->agent) {
				cli_error(c, "two agents given: \"%s\" and \"%s\"", s->agent, w);
				return -1;
			}
			s->agent = w;
		} else {
			s->operands[s->n_operands++] = w;
		}
	}
	/* The agent last, as snmpwalk takes it: localhost when none is given. */
	s->snmp_argv[s->snmp_argc++] = (char *)(s->agent ? s->agent : "localhost");
	return 0;
}

/* Whether p is one of our copies of the arguments. */
static bool owned_by(const struct split *s, const void *p)
{
	for (int i = 0; i < s->n_owned; i++)
		if (p == s->owned[i])
			return true;
	return false;
}

/* net-snmp 5.9's parser duplicates a -c community and never frees it (nor
 * does snmpwalk): once the session is open the copy is ours to free.  Only
 * what is neither our own copy nor snmp.conf's default is its duplicate. */
static void free_parsed_community(const struct split *s, netsnmp_session *session)
{
	void *community = session->community;

	if (community && !owned_by(s, community) &&
	    community != netsnmp_ds_get_string(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_COMMUNITY))
		free(community);
	session->community = NULL;
}

static int open_session(struct cli *c, struct split *s, struct live *l)
{
	netsnmp_session session;

	/* No MIB is needed: every OID is numeric (agent/oids.h), and loading
	 * net-snmp's default MIB list costs time and warnings for nothing. */
	setenv("MIBS", "", 1);
	switch (netsnmp_parse_args(s->snmp_argc, s->snmp_argv, &session, "", NULL,
				   NETSNMP_PARSE_ARGS_NOZERO)) {
	case NETSNMP_PARSE_ARGS_ERROR:
	case NETSNMP_PARSE_ARGS_ERROR_USAGE:
		cli_error(c, "bad SNMP options (as snmpcmd(1): -v, -c, -u, -l, -a, -A, -x, -X, ...)");
		return CLI_USAGE;
	case NETSNMP_PARSE_ARGS_SUCCESS_EXIT:
		return CLI_OK;
	default:
		break;
	}
	l->version = session.version;
	l->ss = snmp_open(&session); /* a copy: session's strings are no longer needed */
	free_parsed_community(s, &session);
	if (!l->ss) {
		char *err = NULL;
		snmp_error(&session, NULL, NULL, &err);
		cli_error(c, "cannot open a session to %s: %s", session.peername ? session.peername : "",
			  err ? err : "?");
		free(err);
		return CLI_FAIL;
	}
	return -1; /* open: go on */
}

int live_main(struct cli *c, int argc, char **argv, int cmd,
	      int (*fn)(struct cli *c, struct live_cmd *lc))
{
	struct split s = {0};
	struct live l = {0};
	int rc;

	if (split_args(c, argc, argv, cmd, &s) < 0) {
		rc = CLI_USAGE;
	} else if (s.help) {
		fprintf(c->out, "usage: mvpnmon [SNMP options] [AGENT] %s%s [--json] [--stats] "
			"[--no-color]\nSee mvpnmon(1).\n", argv[cmd],
			strcmp(argv[cmd], "vpns") && strcmp(argv[cmd], "alarms") &&
					strcmp(argv[cmd], "bmp") ? " VPN" : "");
		rc = CLI_OK;
	} else if ((rc = open_session(c, &s, &l)) < 0) {
		struct timespec t0, t1;
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
		struct live_cmd lc = {.l = &l, .operands = s.operands, .n_operands = s.n_operands,
				      .color = !s.no_color && (s.color || (isatty(fileno(c->out)) &&
								       !getenv("NO_COLOR")))};
		rc = fn(c, &lc);
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
		if (s.stats)
			fprintf(c->err, "mvpnmon %s: %llu varbinds; agent %.3f s (waited for), "
				"mvpnmon %.3f s of CPU\n", c->command, (unsigned long long)l.varbinds,
				l.wait_s, (double)(t1.tv_sec - t0.tv_sec) +
				(double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
		snmp_close(l.ss);
	}
	free_split(&s);
	return rc;
}

/* ---- reading columns ---- */

#define BULK_REPETITIONS 100

static double wall_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void value_set(struct live_value *v, const netsnmp_variable_list *vb)
{
	v->present = true;
	switch (vb->type) {
	case ASN_INTEGER: v->num = (uint64_t)*vb->val.integer; break;
	case ASN_GAUGE: case ASN_COUNTER: case ASN_TIMETICKS:
		v->num = (unsigned long)*vb->val.integer & 0xffffffffu;
		break;
	case ASN_COUNTER64:
		v->num = (uint64_t)vb->val.counter64->high << 32 | vb->val.counter64->low;
		break;
	case ASN_OCTET_STR:
	case ASN_IPADDRESS: /* its 4 octets, in network order */
		v->bytes = malloc(vb->val_len + 1);
		if (v->bytes) {
			memcpy(v->bytes, vb->val.string, vb->val_len);
			v->bytes[vb->val_len] = '\0';
			v->len = vb->val_len;
		}
		break;
	default: v->present = false; break;
	}
}

static int idx_cmp(const uint32_t *a, size_t na, const oid *b, size_t nb)
{
	for (size_t i = 0; i < na && i < nb; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return na < nb ? -1 : na > nb;
}

/* Where a column's row goes: the first column appends; a later one finds
 * the row of the same index, the rows and the column both in index order. */
static struct live_row *row_for(struct live_table *t, size_t *cursor, bool first, const oid *idx,
				size_t n)
{
	if (n > LIVE_MAX_INDEX)
		return NULL;
	if (first) {
		if (t->n == t->cap) {
			size_t cap = t->cap ? 2 * t->cap : 64;
			struct live_row *rows = realloc(t->rows, cap * sizeof(*rows));
			if (!rows)
				return NULL;
			t->rows = rows;
			t->cap = cap;
		}
		struct live_row *r = &t->rows[t->n++];
		memset(r, 0, sizeof(*r));
		for (size_t i = 0; i < n; i++)
			r->idx[i] = (uint32_t)idx[i];
		r->idx_len = n;
		return r;
	}
	while (*cursor < t->n && idx_cmp(t->rows[*cursor].idx, t->rows[*cursor].idx_len, idx, n) < 0)
		(*cursor)++;
	if (*cursor < t->n && idx_cmp(t->rows[*cursor].idx, t->rows[*cursor].idx_len, idx, n) == 0)
		return &t->rows[*cursor];
	return NULL; /* a row that came after the first column was read */
}

static void session_error(struct cli *c, struct live *l, const char *what)
{
	char *err = NULL;

	snmp_sess_error(l->ss, NULL, NULL, &err);
	cli_error(c, "%s: %s", what, err ? err : "?");
	free(err);
}

static const oid objects_oid[] = {MVPN_OID_OBJECTS};
#define OBJECTS_LEN (sizeof(objects_oid) / sizeof(objects_oid[0]))
/* mvpnObjects.arc.1.column: where a row's index begins. */
#define INDEX_AT (OBJECTS_LEN + 3)

/* Stores one answer's varbinds that are under base; false at the column's end. */
static bool take_varbinds(struct live *l, const netsnmp_variable_list *vb, const oid *base,
			  size_t blen, struct live_table *t, size_t col, size_t *cursor,
			  oid *next, size_t *next_len, bool *out_of_memory, bool *bad_order)
{
	for (; vb; vb = vb->next_variable) {
		l->varbinds++;
		if (vb->type == SNMP_ENDOFMIBVIEW || vb->type == SNMP_NOSUCHOBJECT ||
		    vb->type == SNMP_NOSUCHINSTANCE || vb->name_length <= blen ||
		    vb->name_length > MAX_OID_LEN ||
		    snmp_oid_ncompare(vb->name, vb->name_length, base, blen, blen) != 0)
			return false;
		/* An agent that answers a GETNEXT with what was asked, or less,
		 * would keep the walk going for ever (snmpwalk checks this too). */
		if (snmp_oid_compare(vb->name, vb->name_length, next, *next_len) <= 0) {
			*bad_order = true;
			return false;
		}
		struct live_row *r = row_for(t, cursor, col == 0, vb->name + INDEX_AT,
					     vb->name_length - INDEX_AT);
		if (r)
			value_set(&r->v[col], vb);
		else if (col == 0) {
			*out_of_memory = true; /* or an index longer than any of ours */
			return false;
		}
		memcpy(next, vb->name, vb->name_length * sizeof(oid));
		*next_len = vb->name_length;
	}
	return true;
}

/* One column under base (its OID, then the index prefix). */
static int read_column(struct cli *c, struct live *l, const oid *base, size_t blen,
		       struct live_table *t, size_t col)
{
	oid next[MAX_OID_LEN];
	size_t next_len = blen, cursor = 0;
	bool more = true, failed = false, bad_order = false;

	memcpy(next, base, blen * sizeof(oid));
	while (more) {
		netsnmp_pdu *pdu = snmp_pdu_create(l->version == SNMP_VERSION_1 ? SNMP_MSG_GETNEXT
										 : SNMP_MSG_GETBULK);
		netsnmp_pdu *resp = NULL;
		if (l->version != SNMP_VERSION_1) {
			pdu->non_repeaters = 0;
			pdu->max_repetitions = BULK_REPETITIONS;
		}
		snmp_add_null_var(pdu, next, next_len);
		double t0 = wall_now();
		int status = snmp_synch_response(l->ss, pdu, &resp);
		l->wait_s += wall_now() - t0;
		if (status != STAT_SUCCESS) {
			session_error(c, l, "no answer from the agent");
			if (resp)
				snmp_free_pdu(resp);
			return -1;
		}
		if (resp->errstat != SNMP_ERR_NOERROR) {
			/* SNMPv1 ends a walk past the last object with noSuchName. */
			bool end = l->version == SNMP_VERSION_1 && resp->errstat == SNMP_ERR_NOSUCHNAME;
			if (!end)
				cli_error(c, "the agent answered: %s", snmp_errstring((int)resp->errstat));
			snmp_free_pdu(resp);
			return end ? 0 : -1;
		}
		more = resp->variables && take_varbinds(l, resp->variables, base, blen, t, col,
							&cursor, next, &next_len, &failed, &bad_order);
		snmp_free_pdu(resp);
	}
	if (bad_order) {
		cli_error(c, "the agent's answers do not increase (a broken agent)");
		return -1;
	}
	if (failed) {
		cli_error(c, "out of memory, or an index the client does not know");
		return -1;
	}
	return 0;
}

int live_read(struct cli *c, struct live *l, unsigned arc, const unsigned *cols, size_t n,
	      const uint32_t *prefix, size_t plen, struct live_table *t)
{
	oid base[MAX_OID_LEN];
	size_t blen = INDEX_AT + plen;

	if (n > LIVE_MAX_COLS || blen > MAX_OID_LEN)
		return -1;
	memcpy(base, objects_oid, sizeof(objects_oid));
	base[OBJECTS_LEN] = arc;
	base[OBJECTS_LEN + 1] = 1;
	for (size_t i = 0; i < plen; i++)
		base[INDEX_AT + i] = prefix[i];
	for (size_t k = 0; k < n; k++) {
		base[OBJECTS_LEN + 2] = cols[k];
		if (read_column(c, l, base, blen, t, k) < 0)
			return -1;
	}
	return 0;
}

void live_table_free(struct live_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		for (size_t k = 0; k < LIVE_MAX_COLS; k++)
			free(t->rows[i].v[k].bytes);
	free(t->rows);
	memset(t, 0, sizeof(*t));
}

bool live_index_addr(const struct live_row *r, size_t *at, struct inet_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (*at + 2 > r->idx_len)
		return false;
	uint32_t type = r->idx[*at], len = r->idx[*at + 1];
	if (!((type == INET_IPV4 && len == 4) || (type == INET_IPV6 && len == 16) ||
	      (type == INET_UNKNOWN && len == 0)) || *at + 2 + len > r->idx_len)
		return false;
	a->type = (uint8_t)type;
	for (uint32_t i = 0; i < len; i++) {
		if (r->idx[*at + 2 + i] > 255)
			return false;
		a->bytes[i] = (uint8_t)r->idx[*at + 2 + i];
	}
	*at += 2 + len;
	return true;
}

void live_value_addr(const struct live_value *type, const struct live_value *addr,
		     struct inet_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (!type->present || !addr->present)
		return;
	if ((type->num == INET_IPV4 && addr->len == 4) || (type->num == INET_IPV6 && addr->len == 16)) {
		a->type = (uint8_t)type->num;
		memcpy(a->bytes, addr->bytes, addr->len);
	}
}

const char *live_text(const struct live_value *v)
{
	return v->present && v->bytes ? (const char *)v->bytes : "";
}

double live_wait_seconds(const struct live *l)
{
	return l->wait_s;
}

uint64_t live_varbinds(const struct live *l)
{
	return l->varbinds;
}
