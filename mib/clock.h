/*
 * The model's one clock.  Live it is CLOCK_MONOTONIC; replaying a capture it is
 * the capture's own timestamps, so hold times and expiry behave exactly as they
 * would have live.  All model times are nanoseconds on this clock.
 */
#ifndef MVPN_CLOCK_H
#define MVPN_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

typedef uint64_t mtime_t;

#define MTIME_SEC 1000000000ull
#define MTIME_NEVER UINT64_MAX

struct mclock {
	bool offline;
	bool offline_started; /* a capture timestamp has been seen */
	mtime_t origin;       /* when the agent's uptime is zero */
	mtime_t offline_now;  /* latest capture timestamp */
	int64_t wall_offset;  /* live: wall-clock ns minus monotonic ns */
};

void mclock_init_live(struct mclock *c);
void mclock_init_offline(struct mclock *c);
/* Offline: move time forward to a capture timestamp (never backwards). */
void mclock_advance(struct mclock *c, mtime_t capture_ns);
mtime_t mclock_now(const struct mclock *c);
/* sysUpTime-style centiseconds since origin; 0 for times before it or never set. */
uint32_t mclock_timestamp_cs(const struct mclock *c, mtime_t t);
/* Wall-clock nanoseconds since the Unix epoch. */
uint64_t mclock_wall_ns(const struct mclock *c, mtime_t t);

#endif
