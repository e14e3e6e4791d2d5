/*
 * The routes one monitored peer advertised, as BMP reported them: a hash set
 * keyed by (family, view, NLRI bytes as sent), each route keeping what its
 * consumers read of the attributes it came with (route_attr()).  Routes are
 * stored encoded (tens of bytes each); bgp_nlri_decode() and
 * bgp_pmsi_decode() read them back.  Open addressing with backward-shift deletion: no tombstones, so a
 * table that churns never degrades.  No I/O, no locks.
 */
#ifndef MVPN_ROUTES_H
#define MVPN_ROUTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bgp.h"

/* Which Adj-RIB the route is from (RFC 7854 4.2 L flag; RFC 8671 O flag):
 * pre- and post-policy views of the same NLRI are different routes here. */
#define ROUTE_POST_POLICY 0x40
#define ROUTE_ADJ_RIB_OUT 0x10
#define ROUTE_VIEW_MASK (ROUTE_POST_POLICY | ROUTE_ADJ_RIB_OUT)
/* Longest NLRI kept (RFC 6514's longest is a Leaf A-D with an IPv6 key: 78). */
#define ROUTE_KEY_MAX 255
/*
 * The attributes kept with a route, each as (code, length, value), the code
 * being the attribute's type code:
 *   ROUTE_ATTR_PMSI        the PMSI Tunnel attribute's value, as carried;
 *   ROUTE_ATTR_IMPORT_RT   a C-multicast or Source Active route's first
 *                          IP-address-specific Route Target: its address (4
 *                          or 16 bytes), the upstream PE (RFC 6514 11.1.3);
 *   ROUTE_ATTR_ORIGINATOR  ORIGINATOR_ID (4 bytes): who first advertised it.
 * At most ROUTE_ATTRS_MAX bytes: a PMSI Tunnel attribute that does not fit
 * is not kept.
 */
#define ROUTE_ATTRS_MAX 255
#define ROUTE_ATTR_ORIGINATOR 9
#define ROUTE_ATTR_IMPORT_RT 16
#define ROUTE_ATTR_PMSI 22

struct route {
	uint8_t family;   /* enum bgp_family */
	uint8_t view;     /* ROUTE_VIEW_MASK bits */
	uint8_t key_len;
	uint8_t attr_len; /* 0: no attribute kept */
	uint8_t data[];   /* key_len bytes of NLRI, then attr_len of kept attributes */
};

static inline const uint8_t *route_key(const struct route *r)
{
	return r->data;
}

/* The kept attributes, attr_len bytes as encoded. */
static inline const uint8_t *route_attrs(const struct route *r)
{
	return r->data + r->key_len;
}

/* The kept attribute's value and *len, or NULL when the route has none. */
const uint8_t *route_attr(const struct route *r, uint8_t code, size_t *len);
/* The attributes of an announcement to keep with a route of this type
 * (enum mvpn_route_type), encoded into out; returns their length. */
size_t route_attrs_encode(const struct bgp_update_info *in, uint8_t route_type,
			  uint8_t out[ROUTE_ATTRS_MAX]);

struct route_table {
	struct route **slot; /* cap slots, a power of two; NULL is empty */
	uint32_t *tag;       /* each slot's route's hash: a probe reads no route it passes */
	size_t cap, n;
	size_t by_family[BGP_FAM_COUNT];
};

enum route_put { ROUTE_ADDED, ROUTE_REPLACED, ROUTE_UNCHANGED, ROUTE_NOMEM };

/* Owner: the table's caller; zeroed is empty. */
void route_table_init(struct route_table *t);
/* Adds the route, or replaces it when its kept attributes changed: then
 * *replaced is the old one, out of the table, the caller's to free (it may
 * still tell listeners what was withdrawn). */
enum route_put route_table_put(struct route_table *t, uint8_t family, uint8_t view,
			       const uint8_t *key, size_t key_len, const uint8_t *attrs,
			       size_t attr_len, const struct route **stored,
			       struct route **replaced);
const struct route *route_table_find(const struct route_table *t, uint8_t family, uint8_t view,
				     const uint8_t *key, size_t key_len);
/* Removes the route; calls fn(arg, route) just before freeing it (fn may be NULL).
 * false if there was no such route. */
typedef void (*route_fn)(void *arg, const struct route *r);
bool route_table_del(struct route_table *t, uint8_t family, uint8_t view, const uint8_t *key,
		     size_t key_len, route_fn fn, void *arg);
/* Every route, in no particular order. */
void route_table_foreach(const struct route_table *t, route_fn fn, void *arg);
/* Frees every route (fn sees each first) and the slots. */
void route_table_clear(struct route_table *t, route_fn fn, void *arg);
/* Bytes the table holds: slots and routes (malloc's own overhead estimated). */
size_t route_table_bytes(const struct route_table *t);

#endif
