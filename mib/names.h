/*
 * The names operators give their PEs (`pe "198.18.0.1" { name = "nyc-pe1" }`):
 * what the PE, pair and tunnel tables, the notifications about a PE and the
 * client show beside an address.  A configured name is the PE's identity in
 * the operator's words, as a VPN's name is; an unnamed PE is shown by its
 * address, which the agent formats where it shows it.
 */
#ifndef MVPN_NAMES_H
#define MVPN_NAMES_H

#include <stddef.h>

#include "addr.h"

/* mvpnPeName's size: SnmpAdminString (SIZE (0..64)), counted in octets. */
#define PE_NAME_MAX 64

struct pe_name {
	struct inet_addr addr;
	char name[PE_NAME_MAX + 1];
};

struct pe_names {
	struct pe_name *v; /* sorted by address, one per address; owned */
	size_t n;
};

/* The name configured for a, or NULL.  O(log n). */
const char *pe_names_find(const struct pe_names *t, const struct inet_addr *a);
/* Takes v (n items sorted by address, distinct; NULL when n is 0), freeing
 * the names held before. */
void pe_names_set(struct pe_names *t, struct pe_name *v, size_t n);
void pe_names_free(struct pe_names *t);

#endif
