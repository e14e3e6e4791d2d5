#include "names.h"

#include <stdlib.h>

static int name_addr_cmp(const void *key, const void *elem)
{
	return inet_addr_cmp(key, &((const struct pe_name *)elem)->addr);
}

const char *pe_names_find(const struct pe_names *t, const struct inet_addr *a)
{
	const struct pe_name *found =
		t->n ? bsearch(a, t->v, t->n, sizeof(*t->v), name_addr_cmp) : NULL;

	return found ? found->name : NULL;
}

void pe_names_set(struct pe_names *t, struct pe_name *v, size_t n)
{
	free(t->v);
	t->v = v;
	t->n = n;
}

void pe_names_free(struct pe_names *t)
{
	pe_names_set(t, NULL, 0);
}
