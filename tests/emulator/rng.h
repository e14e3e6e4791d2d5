/* The one seeded random source (xoshiro256**, seeded through splitmix64).
 * Every random decision draws from it in a fixed order, so a run is
 * reproducible from the seed and the order of the packets. */
#ifndef EMU_RNG_H
#define EMU_RNG_H

#include <stdint.h>

struct rng {
	uint64_t s[4];
};

void rng_seed(struct rng *r, uint64_t seed);
uint64_t rng_next(struct rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double rng_unit(struct rng *r);

#endif
