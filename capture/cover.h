/*
 * A few prefixes that hold a set of groups: what the live capture's kernel
 * filter tests instead of one comparison per group.  The filter only decides
 * what reaches user space whole, and user space finds each group's VPN (or
 * counts it unknown) exactly, so a cover may hold more than the groups; what
 * it must not do is miss one.  Pure: no I/O, no libpcap.
 */
#ifndef MVPN_COVER_H
#define MVPN_COVER_H

#include <stddef.h>
#include <stdint.h>

#include "../mib/addr.h"

struct addr_prefix {
	struct inet_addr net; /* bits past len are zero */
	uint8_t len;          /* 0..32 (IPv4) or 0..128 (IPv6) */
};

/*
 * Sorts the n addresses (all of one family) in place, then writes to out the
 * fewest distinct prefixes, all of one length, the longest such that there
 * are at most max of them (max >= 1): n or fewer host prefixes when n <= max,
 * otherwise the groups' common blocks.  Returns how many were written.
 * n log n for the sort, then a linear pass per length tried (a binary
 * search over the lengths).
 */
size_t addr_cover(struct inet_addr *addrs, size_t n, size_t max, struct addr_prefix *out);

#endif
