#include "cover.h"

#include <stdlib.h>

static int addr_order(const void *a, const void *b)
{
	return inet_addr_cmp(a, b);
}

/* Whether a and b have the same first len bits. */
static bool same_prefix(const struct inet_addr *a, const struct inet_addr *b, unsigned len)
{
	unsigned whole = len / 8, rest = len % 8;

	if (memcmp(a->bytes, b->bytes, whole) != 0)
		return false;
	if (!rest)
		return true;
	uint8_t mask = (uint8_t)(0xff00u >> rest);
	return (a->bytes[whole] & mask) == (b->bytes[whole] & mask);
}

/* Distinct len-bit prefixes of the sorted addresses: sorting keeps equal
 * prefixes next to each other. */
static size_t count_prefixes(const struct inet_addr *sorted, size_t n, unsigned len)
{
	size_t count = n ? 1 : 0;

	for (size_t i = 1; i < n; i++)
		count += !same_prefix(&sorted[i - 1], &sorted[i], len);
	return count;
}

static struct addr_prefix prefix_of(const struct inet_addr *a, unsigned len)
{
	struct addr_prefix p = {.net = {.type = a->type}, .len = (uint8_t)len};
	unsigned whole = len / 8, rest = len % 8;

	memcpy(p.net.bytes, a->bytes, whole);
	if (rest)
		p.net.bytes[whole] = a->bytes[whole] & (uint8_t)(0xff00u >> rest);
	return p;
}

size_t addr_cover(struct inet_addr *addrs, size_t n, size_t max, struct addr_prefix *out)
{
	if (!n || !max)
		return 0;
	qsort(addrs, n, sizeof(*addrs), addr_order);
	/* Fewer distinct prefixes the shorter they are: the longest length whose
	 * count fits is found by bisection.  Length 0 (one prefix) always fits. */
	unsigned lo = 0, hi = (unsigned)inet_addr_len(&addrs[0]) * 8;
	while (lo < hi) {
		unsigned mid = (lo + hi + 1) / 2;
		if (count_prefixes(addrs, n, mid) <= max)
			lo = mid;
		else
			hi = mid - 1;
	}
	size_t written = 0;
	for (size_t i = 0; i < n; i++)
		if (i == 0 || !same_prefix(&addrs[i - 1], &addrs[i], lo))
			out[written++] = prefix_of(&addrs[i], lo);
	return written;
}
