/*
 * mvpnmon's live commands read a running agent over SNMP, with net-snmp's
 * client library and the options snmpwalk users know (-v, -c, -u, -l, -a,
 * -A, -x, -X, ... or snmp.conf): "mvpnmon [SNMP options] [AGENT] COMMAND
 * [VPN]", AGENT defaulting to localhost.  A table is read column by column
 * (GETBULK, or GETNEXT for SNMPv1), each column walked only under the index
 * prefix asked for (a VPN's rows), and the columns joined by index.
 */
#ifndef MVPN_CLIENT_LIVE_H
#define MVPN_CLIENT_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../mib/addr.h"
#include "cli.h"

#define LIVE_MAX_INDEX 64 /* sub-identifiers after a column: two IPv6 addresses and more */
#define LIVE_MAX_COLS 16

/* One cell: a number (INTEGER, Gauge32, Counter64, TimeTicks) or bytes
 * (OCTET STRING, IpAddress). */
struct live_value {
	bool present;
	uint64_t num;
	uint8_t *bytes; /* owned by the row; NUL-terminated for text */
	size_t len;
};

struct live_row {
	uint32_t idx[LIVE_MAX_INDEX]; /* the index after the column (prefix included) */
	size_t idx_len;
	struct live_value v[LIVE_MAX_COLS];
};

struct live_table {
	struct live_row *rows; /* in index order; owned */
	size_t n, cap;
};

struct live;

/* What main.c hands a live command: its operands and the session. */
struct live_cmd {
	struct live *l;
	const char *const *operands;
	int n_operands;
	bool color; /* ANSI colours: on a terminal unless --no-color */
};

/* Splits argv at the command word (argv[cmd]): our long options, SNMP
 * options (given to net-snmp's snmp_parse_args, which reads snmp.conf
 * too), the agent before the command and the operands after it; opens the
 * session and runs fn.  Returns the exit status. */
int live_main(struct cli *c, int argc, char **argv, int cmd,
	      int (*fn)(struct cli *c, struct live_cmd *lc));
/* Whether argv word w, an option, takes the next word as its value
 * (net-snmp's options that do, when not written attached: "-c public"). */
bool live_option_takes_value(const char *w);

/*
 * Reads columns cols[0..n-1] of the table whose entry is mvpnObjects.arc.1,
 * each under the index prefix (plen sub-identifiers; 0: the whole column),
 * into t: a row per index of the first column; a later column fills the
 * rows it shares with it.  Returns 0, or -1 after saying why on c->err.
 */
int live_read(struct cli *c, struct live *l, unsigned arc, const unsigned *cols, size_t n,
	      const uint32_t *prefix, size_t plen, struct live_table *t);
void live_table_free(struct live_table *t);

/* An InetAddressType, length, bytes index at idx[*at], moving *at past it;
 * false if it is not one. */
bool live_index_addr(const struct live_row *r, size_t *at, struct inet_addr *a);
/* A value as an address, given its type's value (InetAddressType). */
void live_value_addr(const struct live_value *type, const struct live_value *addr,
		     struct inet_addr *a);
/* A text value, "" when absent. */
const char *live_text(const struct live_value *v);

/* The agent's time spent answering (wall time waiting on the session), and
 * the varbinds read, since the session opened: --stats reports them beside
 * our own CPU time. */
double live_wait_seconds(const struct live *l);
uint64_t live_varbinds(const struct live *l);

#endif
