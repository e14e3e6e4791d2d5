/*
 * The one binary search of the model.  Every table keeps its rows in order
 * (of address, of SNMP index, of VPN index), and every lookup asks for the
 * first row at or past something: the first i of [0, n) for which holds(ctx,
 * i) is true, where holds is false for a prefix of [0, n) and true for the
 * rest; n when it holds nowhere.  Static inline, so that the compiler sees the
 * predicate and calls none through a pointer on the packet path.
 */
#ifndef MVPN_SEEK_H
#define MVPN_SEEK_H

#include <stdbool.h>
#include <stddef.h>

static inline size_t seek_first(size_t n, const void *ctx, bool (*holds)(const void *ctx, size_t i))
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (holds(ctx, mid))
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

#endif
