/* mib/changelog: the ring against a plain list of every change claimed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../mib/changelog.h"
#include "unit.h"

/* Through claims, wraps and resizes (larger and smaller, the head anywhere),
 * the ring holds the newest min(claimed, capacity) changes, oldest first from
 * head, with consecutive indexes and sequence numbers; the rest are counted
 * as dropped. */
TEST(the_ring_keeps_the_newest_in_order)
{
	static const uint32_t caps[] = {1, 2, 3, 7, 16, 5, 64, 1, 9};
	struct changelog log = {0};
	uint64_t claimed = 0;

	for (size_t k = 0; k < sizeof(caps) / sizeof(caps[0]); k++) {
		uint64_t before = log.count;
		CHECK(changelog_resize(&log, caps[k]));
		CHECK_EQ_INT(log.count, before < caps[k] ? before : caps[k]);
		for (uint32_t i = 0; i < 3 * caps[k] + k; i++) {
			struct change *c = (k % 2) ? changelog_append(&log, (mtime_t)claimed)
						   : changelog_claim(&log, (mtime_t)claimed);
			CHECK(c != NULL);
			c->vpn_index = (uint32_t)claimed; /* what the caller writes */
			claimed++;
			CHECK(c->seq == claimed && c->index == claimed && c->when == (mtime_t)claimed - 1);
			CHECK(log.head < log.capacity && log.count <= log.capacity);
			CHECK_EQ_INT(log.count + log.dropped, claimed);
			for (uint32_t j = 0; j < log.count; j++) {
				const struct change *e = &log.ring[(log.head + j) % log.capacity];
				CHECK(e->seq == claimed - log.count + j + 1);
				CHECK(e->vpn_index == e->seq - 1);
			}
		}
	}
	changelog_free(&log);
	struct changelog none = {0};
	CHECK(changelog_claim(&none, 1) == NULL); /* no capacity: nothing logged */
}

UNIT_MAIN("changelog", T(the_ring_keeps_the_newest_in_order))
