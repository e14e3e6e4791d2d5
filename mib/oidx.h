/*
 * Row indexes as SNMP sees them, without net-snmp types: a row's index is a
 * sequence of 32-bit sub-identifiers, and every table in mib/ keeps its rows in
 * the lexicographic order of that sequence, so the agent's GETNEXT is a seek.
 */
#ifndef MVPN_OIDX_H
#define MVPN_OIDX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

/* The longest index any table has (mvpnCGroupPeTable, both addresses IPv6). */
#define OIDX_MAX 64

struct oidx {
	uint32_t sub[OIDX_MAX];
	size_t len;
};

static inline void oidx_reset(struct oidx *x) { x->len = 0; }

static inline void oidx_push(struct oidx *x, uint32_t v)
{
	if (x->len < OIDX_MAX)
		x->sub[x->len++] = v;
}

/* InetAddressType, then the InetAddress as a length-prefixed string. */
void oidx_push_addr(struct oidx *x, const struct inet_addr *a);
/* A fixed-size 8-octet string (a route distinguisher), most significant
 * octet first, without a length (RFC 2578 7.7). */
void oidx_push_octets8(struct oidx *x, uint64_t v);

/* Lexicographic, a proper prefix first: the order of OIDs. */
int oidx_cmp(const uint32_t *a, size_t alen, const uint32_t *b, size_t blen);

/*
 * Does a row whose index is `row` satisfy a seek for `want`?  With after=false
 * the row must be >= want (GET then checks equality); with after=true, > want.
 */
static inline bool oidx_seek_ok(const struct oidx *row, const uint32_t *want, size_t wlen,
				bool after)
{
	int c = oidx_cmp(row->sub, row->len, want, wlen);
	return after ? c > 0 : c >= 0;
}

#endif
