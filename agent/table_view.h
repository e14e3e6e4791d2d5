/*
 * One generic, read-only net-snmp handler for every table and scalar group.
 * A view says how to seek a row by index (mib/ keeps rows in index order, so
 * GETNEXT is one O(log n) seek, never a scan) and how to read one cell.
 */
#ifndef MVPN_TABLE_VIEW_H
#define MVPN_TABLE_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>

#include "../mib/addr.h"
#include "../mib/clock.h"
#include "../mib/oidx.h"

/* A cell value, ready for snmp_set_var_typed_value. */
struct cell {
	u_char type; /* ASN_INTEGER, ASN_GAUGE, ASN_COUNTER64, ASN_TIMETICKS, ASN_OCTET_STR,
		      * ASN_IPADDRESS */
	long number;
	struct counter64 c64;
	const void *bytes;
	size_t len;
	u_char buf[256]; /* bytes may point here: a date, an address, a change or alarm text */
};

void cell_int(struct cell *c, long v);
void cell_gauge(struct cell *c, uint32_t v); /* Gauge32 and Unsigned32 share a tag */
void cell_counter64(struct cell *c, uint64_t v);
/* A TimeStamp and a DateAndTime of a model time t (capture time in a replay). */
void cell_timestamp(struct cell *c, const struct mclock *clk, mtime_t t);
void cell_date(struct cell *c, const struct mclock *clk, mtime_t t); /* DateAndTime, UTC */
/* The same for an event on the real monotonic clock, replaying or not. */
void cell_timestamp_real(struct cell *c, const struct mclock *clk, mtime_t mono);
void cell_date_real(struct cell *c, const struct mclock *clk, mtime_t mono);
void cell_string(struct cell *c, const char *s);
void cell_addr_type(struct cell *c, const struct inet_addr *a);
void cell_addr(struct cell *c, const struct inet_addr *a);
void cell_truth(struct cell *c, bool v);
void cell_bytes(struct cell *c, const void *p, size_t len); /* OCTET STRING; p outlives c */
void cell_ipaddress(struct cell *c, uint32_t v); /* IpAddress, v in host order */

struct table_view {
	const char *name;
	oid entry[MAX_OID_LEN]; /* the table's entry OID, or a scalar group's OID */
	size_t entry_len;
	unsigned first_col, last_col; /* accessible columns */
	bool scalar; /* rows are the single instance .0 */
	/* First row whose index is >= want (> want if after); NULL at the end. */
	const void *(*seek)(void *ctx, const uint32_t *want, size_t wlen, bool after);
	void (*row_index)(const void *row, struct oidx *out);
	/* Fills *c; false if this row has no value in this column. */
	bool (*get)(void *ctx, const void *row, unsigned col, struct cell *c);
	void *ctx;
};

/* Registers the view (it must outlive the registration). Returns 0 on success. */
int table_view_register(struct table_view *tv);

#endif
