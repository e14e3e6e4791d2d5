#include "clock.h"

#include <time.h>

static mtime_t read_clock(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (mtime_t)ts.tv_sec * MTIME_SEC + (mtime_t)ts.tv_nsec;
}

static void real_start(struct mclock *c)
{
	c->started = read_clock(CLOCK_MONOTONIC);
	c->real_wall_offset = (int64_t)(read_clock(CLOCK_REALTIME) - c->started);
}

void mclock_init_live(struct mclock *c)
{
	*c = (struct mclock){0};
	real_start(c);
	c->origin = c->started;
}

void mclock_init_offline(struct mclock *c)
{
	*c = (struct mclock){.offline = true};
	real_start(c);
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

bool mclock_capture_time(const struct mclock *c, int64_t sec, int64_t nsec, mtime_t *t)
{
	bool early = sec < 0 || (sec == 0 && nsec <= 0);
	bool late = sec >= MCLOCK_CAPTURE_MAX_SEC;

	if (!early && !late && nsec >= 0 && nsec < (int64_t)MTIME_SEC) {
		*t = (mtime_t)sec * MTIME_SEC + (mtime_t)nsec;
		return true;
	}
	if (c->offline_started)
		*t = c->offline_now;
	else
		*t = late ? (mtime_t)MCLOCK_CAPTURE_MAX_SEC * MTIME_SEC - 1 : 1;
	return false;
}

mtime_t mclock_now(const struct mclock *c)
{
	if (c->offline)
		return c->offline_now;
	return read_clock(CLOCK_MONOTONIC);
}

mtime_t mclock_monotonic(void)
{
	return read_clock(CLOCK_MONOTONIC);
}

/* The master's uptime at monotonic time t, in centiseconds (may be negative:
 * before its last re-initialisation). */
static int64_t master_cs_at(const struct mclock *c, mtime_t t)
{
	int64_t delta_ns = t >= c->master_at ? (int64_t)(t - c->master_at)
					     : -(int64_t)(c->master_at - t);

	/* Floor division: an event 1 ns before a tick is still in the previous one. */
	int64_t cs = delta_ns / (int64_t)(MTIME_SEC / 100);
	if (delta_ns % (int64_t)(MTIME_SEC / 100) < 0)
		cs--;
	return (int64_t)c->master_uptime_cs + cs;
}

bool mclock_set_master_uptime(struct mclock *c, mtime_t at, uint32_t uptime_cs,
			      uint32_t tolerance_cs)
{
	if (c->master_known) {
		int64_t diff = master_cs_at(c, at) - (int64_t)uptime_cs;
		if (diff <= (int64_t)tolerance_cs && -diff <= (int64_t)tolerance_cs)
			return false;
	}
	c->master_known = true;
	c->master_at = at;
	c->master_uptime_cs = uptime_cs;
	return true;
}

void mclock_forget_master(struct mclock *c)
{
	c->master_known = false;
}

uint32_t mclock_real_timestamp_cs(const struct mclock *c, mtime_t mono)
{
	if (mono == 0 || !c->master_known)
		return 0;
	int64_t cs = master_cs_at(c, mono);
	/* TimeTicks wrap at 2^32 as sysUpTime does (RFC 2578 7.1.8). */
	return cs < 0 ? 0 : (uint32_t)cs;
}

uint32_t mclock_timestamp_cs(const struct mclock *c, mtime_t t)
{
	return c->offline ? 0 : mclock_real_timestamp_cs(c, t);
}

uint64_t mclock_real_wall_ns(const struct mclock *c, mtime_t mono)
{
	return (uint64_t)((int64_t)mono + c->real_wall_offset);
}

uint64_t mclock_wall_ns(const struct mclock *c, mtime_t t)
{
	if (c->offline)
		return t;
	return mclock_real_wall_ns(c, t); /* live, model time is the real clock */
}
