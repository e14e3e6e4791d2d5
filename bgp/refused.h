/*
 * The routes an engine did not count because a cap refused them (no room for
 * their PE's or C-group's row): their withdrawal must not take back another
 * route's count.  Kept by the route's address, which is stable while the
 * collector stores it (a replaced route is a new one: refused_replace); the
 * collector always tells a route's going before it frees it.  Refusals are
 * rare: a sorted array.
 */
#ifndef MVPN_REFUSED_H
#define MVPN_REFUSED_H

#include <stdbool.h>
#include <stddef.h>

#include "routes.h"

struct refused_set {
	const struct route **v; /* sorted by address; owned */
	size_t n, cap;
};

/* False: no memory (the route is then forgotten as refused). */
bool refused_add(struct refused_set *s, const struct route *r);
/* Whether r was refused; it is not any more. */
bool refused_take(struct refused_set *s, const struct route *r);
/* old, if refused, is now new. */
void refused_replace(struct refused_set *s, const struct route *old, const struct route *new_route);
void refused_clear(struct refused_set *s);
void refused_free(struct refused_set *s);

#endif
