#include "clock.h"

#include <time.h>

static mtime_t read_clock(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (mtime_t)ts.tv_sec * MTIME_SEC + (mtime_t)ts.tv_nsec;
}

void mclock_init_live(struct mclock *c)
{
	*c = (struct mclock){0};
	c->origin = read_clock(CLOCK_MONOTONIC);
	c->wall_offset = (int64_t)(read_clock(CLOCK_REALTIME) - c->origin);
}

void mclock_init_offline(struct mclock *c)
{
	*c = (struct mclock){.offline = true};
}

void mclock_advance(struct mclock *c, mtime_t capture_ns)
{
	if (!c->offline_started) {
		c->offline_started = true;
		c->origin = capture_ns;
		c->offline_now = capture_ns;
	}
	/* Captures are not always in order; time never runs backwards for the model. */
	if (capture_ns > c->offline_now)
		c->offline_now = capture_ns;
}

mtime_t mclock_now(const struct mclock *c)
{
	if (c->offline)
		return c->offline_now;
	return read_clock(CLOCK_MONOTONIC);
}

uint32_t mclock_timestamp_cs(const struct mclock *c, mtime_t t)
{
	if (t <= c->origin)
		return 0;
	return (uint32_t)((t - c->origin) / (MTIME_SEC / 100));
}

uint64_t mclock_wall_ns(const struct mclock *c, mtime_t t)
{
	if (c->offline)
		return t;
	return (uint64_t)((int64_t)t + c->wall_offset);
}
