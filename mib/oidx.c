#include "oidx.h"

void oidx_push_addr(struct oidx *x, const struct inet_addr *a)
{
	size_t len = inet_addr_len(a);

	oidx_push(x, a->type);
	oidx_push(x, (uint32_t)len);
	for (size_t i = 0; i < len; i++)
		oidx_push(x, a->bytes[i]);
}

void oidx_push_octets8(struct oidx *x, uint64_t v)
{
	for (int shift = 56; shift >= 0; shift -= 8)
		oidx_push(x, (uint32_t)(v >> shift) & 0xff);
}

int oidx_cmp(const uint32_t *a, size_t alen, const uint32_t *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;

	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	if (alen == blen)
		return 0;
	return alen < blen ? -1 : 1;
}
