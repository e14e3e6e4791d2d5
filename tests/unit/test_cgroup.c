/* mib/cgroup: a VPN's flows found by (group, source) through the hash, as the tree has them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../mib/cgroup.h"
#include "unit.h"

#define KEYS 3000

static mtime_t no_due(const struct timer *t)
{
	(void)t;
	return 0;
}

/* Key k: IPv4 or IPv6 groups, sources of either family or unknown ((*,G)).
 * An IPv4 address's bytes past the fourth are noise: not part of it. */
static void key(uint32_t k, struct inet_addr *group, struct inet_addr *source, bool noise)
{
	uint8_t b[16];

	memset(b, 0, sizeof(b));
	b[0] = k % 3 ? 232 : 0xff, b[1] = (uint8_t)(k >> 8), b[2] = (uint8_t)k, b[3] = 1;
	if (k % 3) {
		inet_addr_v4(group, b);
		memset(group->bytes + 4, noise ? 0x5a : 0, 12);
	} else {
		inet_addr_v6(group, b);
	}
	memset(source, 0, sizeof(*source));
	if (k % 5 == 0)
		return; /* unknown: (*,G) */
	b[0] = 10, b[3] = (uint8_t)(k % 7);
	if (k % 2) {
		inet_addr_v4(source, b);
		memset(source->bytes + 4, noise ? 0x3c : 0, 12);
	} else {
		inet_addr_v6(source, b);
	}
}

/* Through inserts and releases in random order (the hash grown many times,
 * chains cut in the middle), every flow is found, and only those that exist;
 * the tree stays in index order; freeing the state leaves nothing behind. */
TEST(flows_are_found_by_hash_as_the_tree_holds_them)
{
	static struct flow *have[KEYS];
	struct timers timers;
	struct cgroup_pool pool;
	struct cgroup_state cg;

	timers_init(&timers, no_due);
	cgroup_pool_init(&pool);
	cgroup_init(&cg, &timers, &pool);
	srand(13);
	for (int round = 0; round < 6; round++) {
		for (uint32_t i = 0; i < KEYS; i++) {
			uint32_t k = (uint32_t)rand() % KEYS;
			struct inet_addr g, s;
			key(k, &g, &s, rand() % 2);
			struct flow_pos at;
			struct flow *f = flow_lookup(&cg, &g, &s, &at);
			CHECK(f == have[k]);
			if (f && round % 2) { /* release it */
				flow_release(&cg, f);
				have[k] = NULL;
			} else if (!f) {
				CHECK((have[k] = flow_insert_at(&cg, &at, 1, &g, &s, 0)) != NULL);
				CHECK(flow_find(&cg, &g, &s) == have[k]);
			}
		}
		uint32_t n = 0;
		for (uint32_t k = 0; k < KEYS; k++) {
			struct inet_addr g, s;
			key(k, &g, &s, k % 2);
			CHECK(flow_find(&cg, &g, &s) == have[k]);
			n += have[k] != NULL;
		}
		CHECK_EQ_INT(cg.n_flows, n);
		CHECK(cg.n_buckets >= n);
		const struct flow *prev = NULL;
		for (const struct flow *f = flow_first(&cg); f; f = flow_next(f), n--) {
			if (prev) {
				int c = inet_addr_cmp(&prev->group, &f->group);
				CHECK(c < 0 || (c == 0 && inet_addr_cmp(&prev->source, &f->source) < 0));
			}
			prev = f;
		}
		CHECK_EQ_INT(n, 0);
	}
	cgroup_free(&cg);
	CHECK(cg.n_flows == 0 && cg.buckets == NULL && cg.n_buckets == 0);
	CHECK(flow_find(&cg, &(struct inet_addr){0}, &(struct inet_addr){0}) == NULL);
	cgroup_pool_free(&pool);
	timers_free(&timers);
}

/* The longest chain of the hash. */
static uint32_t longest_chain(const struct cgroup_state *cg)
{
	uint32_t most = 0;

	for (uint32_t b = 0; b < cg->n_buckets; b++) {
		uint32_t n = 0;
		for (const struct flow *f = cg->buckets[b]; f; f = f->hnext)
			n++;
		most = n > most ? n : most;
	}
	return most;
}

/* Flows whose addresses differ in one or two bytes only, wherever those are
 * (an IPv6 group's last two, an IPv4 source's last, a v6 source's first of
 * its second half): spread over the buckets, not piled into a few, which
 * would make every lookup of a flood of them walk them all. */
TEST(flows_differing_in_a_few_bytes_spread_over_the_buckets)
{
	static const int varied[][2] = {{14, 15}, {0, 1}, {7, 8}, {3, 12}};
	struct timers timers;
	struct cgroup_pool pool;

	timers_init(&timers, no_due);
	cgroup_pool_init(&pool);
	for (size_t v = 0; v < sizeof(varied) / sizeof(varied[0]); v++)
		for (int family = 4; family <= 6; family += 2) {
			struct cgroup_state cg;
			cgroup_init(&cg, &timers, &pool);
			for (uint32_t k = 0; k < 4096; k++) {
				uint8_t b[16] = {0xff, 0x3e};
				struct inet_addr g, s;
				int lo = family == 4 ? varied[v][0] % 4 : varied[v][0];
				int hi = family == 4 ? varied[v][1] % 4 : varied[v][1];
				b[lo] ^= (uint8_t)k, b[hi] ^= (uint8_t)(k >> 8);
				if (family == 4)
					inet_addr_v4(&g, b);
				else
					inet_addr_v6(&g, b);
				memset(&s, 0, sizeof(s));
				struct flow_pos at;
				CHECK(flow_lookup(&cg, &g, &s, &at) == NULL);
				CHECK(flow_insert_at(&cg, &at, 1, &g, &s, 0) != NULL);
			}
			CHECK_EQ_INT(cg.n_flows, 4096);
			CHECK(longest_chain(&cg) <= 12);
			cgroup_free(&cg);
		}
	cgroup_pool_free(&pool);
	timers_free(&timers);
}

UNIT_MAIN("cgroup", T(flows_are_found_by_hash_as_the_tree_holds_them),
	  T(flows_differing_in_a_few_bytes_spread_over_the_buckets))
