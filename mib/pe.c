#include "pe.h"
#include "seek.h"

#include <stdlib.h>
#include <string.h>

void pe_table_init(struct pe_table *t, struct timers *timers)
{
	memset(t, 0, sizeof(*t));
	TAILQ_INIT(&t->departed);
	t->timers = timers;
}

void pe_table_free(struct pe_table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		timers_remove(t->timers, &t->v[i]->timer);
		free(t->v[i]);
	}
	free(t->v);
	free(t->by_caddr);
	free(t->by_addr);
	pe_table_init(t, t->timers);
}

/* ---- the hash by provider address: 2 cap slots (a power of two), so at most
 * half full; linear probing, deletion by shifting back (no tombstones) ---- */

static size_t addr_slot(const struct pe_table *t, const struct inet_addr *a)
{
	uint64_t h = a->type;
	size_t len = inet_addr_len(a);

	for (size_t i = 0; i < len; i += 4) {
		uint32_t w;
		memcpy(&w, a->bytes + i, sizeof(w));
		h = (h ^ w) * 0x9e3779b97f4a7c15ull;
	}
	return (size_t)(h >> 32) & (2 * t->cap - 1);
}

static void addr_hash_add(struct pe_table *t, struct pe *pe)
{
	size_t mask = 2 * t->cap - 1, i = addr_slot(t, &pe->addr);

	while (t->by_addr[i])
		i = (i + 1) & mask;
	t->by_addr[i] = pe;
}

static void addr_hash_remove(struct pe_table *t, const struct pe *pe)
{
	size_t mask = 2 * t->cap - 1, i = addr_slot(t, &pe->addr);

	while (t->by_addr[i] != pe) {
		if (!t->by_addr[i])
			return;
		i = (i + 1) & mask;
	}
	/* Move back each later entry of the run that may sit at or before the hole. */
	for (size_t j = (i + 1) & mask; t->by_addr[j]; j = (j + 1) & mask) {
		size_t home = addr_slot(t, &t->by_addr[j]->addr);
		if (((j - home) & mask) >= ((j - i) & mask)) {
			t->by_addr[i] = t->by_addr[j];
			i = j;
		}
	}
	t->by_addr[i] = NULL;
}

struct pe_key {
	const struct pe_table *t;
	const struct inet_addr *caddr, *addr; /* caddr: only for by_caddr */
};

static bool pe_at_or_past(const void *ctx, size_t i)
{
	const struct pe_key *k = ctx;

	return inet_addr_cmp(&k->t->v[i]->addr, k->addr) >= 0;
}

static size_t pe_lower_bound(const struct pe_table *t, const struct inet_addr *addr)
{
	struct pe_key k = {.t = t, .addr = addr};

	return seek_first(t->n, &k, pe_at_or_past);
}

struct pe *pe_find(const struct pe_table *t, const struct inet_addr *addr)
{
	if (!t->cap)
		return NULL;
	size_t mask = 2 * t->cap - 1;
	for (size_t i = addr_slot(t, addr);; i = (i + 1) & mask) {
		struct pe *pe = t->by_addr[i];
		if (!pe || inet_addr_eq(&pe->addr, addr))
			return pe;
	}
}

static int caddr_order(const struct pe *a, const struct inet_addr *caddr,
		       const struct inet_addr *addr)
{
	int c = inet_addr_cmp(&a->caddr, caddr);
	return c ? c : inet_addr_cmp(&a->addr, addr);
}

static bool caddr_at_or_past(const void *ctx, size_t i)
{
	const struct pe_key *k = ctx;

	return caddr_order(k->t->by_caddr[i], k->caddr, k->addr) >= 0;
}

/* Position among the first n of by_caddr of the first PE at or after (caddr, addr). */
static size_t caddr_lower_bound(const struct pe_table *t, size_t n, const struct inet_addr *caddr,
				const struct inet_addr *addr)
{
	struct pe_key k = {.t = t, .caddr = caddr, .addr = addr};

	return seek_first(n, &k, caddr_at_or_past);
}

static void caddr_index_remove(struct pe_table *t, struct pe *pe, size_t n)
{
	size_t pos = caddr_lower_bound(t, n, &pe->caddr, &pe->addr);

	if (pos < n && t->by_caddr[pos] == pe)
		memmove(&t->by_caddr[pos], &t->by_caddr[pos + 1], (n - pos - 1) * sizeof(*t->v));
}

/* Inserts pe into by_caddr, which holds n - 1 PEs (pe is the n-th). */
static void caddr_index_add(struct pe_table *t, struct pe *pe, size_t n)
{
	size_t pos = caddr_lower_bound(t, n - 1, &pe->caddr, &pe->addr);

	memmove(&t->by_caddr[pos + 1], &t->by_caddr[pos], (n - 1 - pos) * sizeof(*t->v));
	t->by_caddr[pos] = pe;
}

static int caddr_qsort_cmp(const void *a, const void *b)
{
	const struct pe *x = *(const struct pe *const *)a, *y = *(const struct pe *const *)b;
	return caddr_order(x, &y->caddr, &y->addr);
}

void pe_reindex_caddr(struct pe_table *t)
{
	if (!t->n) /* by_caddr may be NULL: no memcpy or qsort of NULL, even empty */
		return;
	memcpy(t->by_caddr, t->v, t->n * sizeof(*t->v));
	qsort(t->by_caddr, t->n, sizeof(*t->by_caddr), caddr_qsort_cmp);
}

void pe_set_caddr(struct pe_table *t, struct pe *pe, const struct inet_addr *caddr)
{
	if (inet_addr_eq(&pe->caddr, caddr) && pe->caddr.type == caddr->type)
		return;
	caddr_index_remove(t, pe, t->n);
	pe->caddr = *caddr;
	caddr_index_add(t, pe, t->n);
}

struct pe *pe_find_by_caddr(const struct pe_table *t, const struct inet_addr *caddr)
{
	struct pe *pe = pe_find(t, caddr);
	static const struct inet_addr lowest;
	size_t pos;

	if (pe && (pe->caddr.type == INET_UNKNOWN || inet_addr_eq(&pe->caddr, caddr)))
		return pe;
	/* C-addresses differ from provider addresses (an IPv6 C-instance). */
	pos = caddr_lower_bound(t, t->n, caddr, &lowest);
	return pos < t->n && inet_addr_eq(&t->by_caddr[pos]->caddr, caddr) ? t->by_caddr[pos]
									    : NULL;
}

struct pe *pe_insert(struct pe_table *t, uint32_t vpn_index, const struct inet_addr *addr)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 8;
		struct pe **grown = realloc(t->v, cap * sizeof(*grown));
		if (!grown)
			return NULL;
		t->v = grown;
		grown = realloc(t->by_caddr, cap * sizeof(*grown));
		if (!grown)
			return NULL;
		t->by_caddr = grown;
		grown = calloc(2 * cap, sizeof(*grown));
		if (!grown)
			return NULL;
		free(t->by_addr);
		t->by_addr = grown;
		t->cap = cap;
		for (size_t i = 0; i < t->n; i++)
			addr_hash_add(t, t->v[i]);
	}
	struct pe *pe = calloc(1, sizeof(*pe));
	if (!pe || !timers_add(t->timers, &pe->timer, vpn_index, TIMER_PE)) {
		free(pe);
		return NULL;
	}
	pe->vpn_index = vpn_index;
	pe->addr = *addr;
	size_t pos = pe_lower_bound(t, addr);
	memmove(&t->v[pos + 1], &t->v[pos], (t->n - pos) * sizeof(*t->v));
	t->v[pos] = pe;
	t->n++;
	caddr_index_add(t, pe, t->n);
	addr_hash_add(t, pe);
	return pe;
}

/* Is pe on the departed list?  tqe_prev is set exactly while it is. */
static bool departed(const struct pe *pe)
{
	return pe->gone.tqe_prev != NULL;
}

static void unmark_departed(struct pe_table *t, struct pe *pe)
{
	if (departed(pe)) {
		TAILQ_REMOVE(&t->departed, pe, gone);
		pe->gone.tqe_prev = NULL;
	}
}

struct pe *pe_oldest_departed(const struct pe_table *t)
{
	struct pe *pe;

	/* Expected PEs are never given up; there are only as many as configured. */
	TAILQ_FOREACH(pe, &t->departed, gone)
		if (!pe->expected)
			return pe;
	return NULL;
}

void pe_unschedule(struct pe_table *t, struct pe *pe)
{
	timers_cancel(t->timers, &pe->timer);
	unmark_departed(t, pe);
}

void pe_delete(struct pe_table *t, struct pe *pe)
{
	size_t pos = pe_lower_bound(t, &pe->addr);

	if (pos >= t->n || t->v[pos] != pe)
		return;
	unmark_departed(t, pe);
	timers_remove(t->timers, &pe->timer);
	caddr_index_remove(t, pe, t->n);
	addr_hash_remove(t, pe);
	memmove(&t->v[pos], &t->v[pos + 1], (t->n - pos - 1) * sizeof(*t->v));
	t->n--;
	free(pe);
}

void pe_schedule(struct pe_table *t, struct pe *pe)
{
	if (!pe->alive) {
		timers_cancel(t->timers, &pe->timer);
		if (pe->first_seen && !departed(pe))
			TAILQ_INSERT_TAIL(&t->departed, pe, gone);
		return;
	}
	unmark_departed(t, pe);
	if (pe->holdtime == PE_HOLDTIME_FOREVER)
		timers_cancel(t->timers, &pe->timer);
	else
		timers_set(t->timers, &pe->timer, pe->expires);
}

/* BGP's word first: a PE BGP advertises that sends no Hello is the classic
 * broken draft-rosen PE whatever the configuration says, and one in PIM that
 * BGP does not advertise is out of the provisioning the routers carry. */
enum pe_status pe_status(const struct pe *pe, enum pe_judging j)
{
	if (j == JUDGE_BGP) { /* no PIM to compare with: BGP's route is the PE's presence */
		if (pe->bgp_advertised)
			return pe->expected ? PE_ACTIVE : PE_UNEXPECTED;
		return pe->expected ? PE_MISSING : PE_DEPARTED;
	}
	if (pe->alive) {
		if (j == JUDGE_PIM_BGP && !pe->bgp_advertised)
			return PE_NOT_IN_BGP;
		return pe->expected ? PE_ACTIVE : PE_UNEXPECTED;
	}
	if (pe->bgp_advertised)
		return PE_BGP_SILENT;
	return pe->expected ? PE_MISSING : PE_DEPARTED;
}

void pe_oidx(const struct pe *pe, struct oidx *out)
{
	oidx_push_addr(out, &pe->addr);
}

struct pe_oid_key {
	const struct pe_table *t;
	const uint32_t *want;
	size_t wlen;
	bool after;
};

static bool pe_oid_ok(const void *ctx, size_t i)
{
	const struct pe_oid_key *k = ctx;
	struct oidx x;

	oidx_reset(&x);
	pe_oidx(k->t->v[i], &x);
	return oidx_seek_ok(&x, k->want, k->wlen, k->after);
}

const struct pe *pe_seek(const struct pe_table *t, const uint32_t *want, size_t wlen, bool after)
{
	struct pe_oid_key k = {t, want, wlen, after};
	size_t pos = seek_first(t->n, &k, pe_oid_ok);

	return pos < t->n ? t->v[pos] : NULL;
}
