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
	mtime_t origin;       /* start-up live, the first packet offline (the grace) */
	mtime_t offline_now;  /* latest capture timestamp */
	/* Real time, live or replaying: for events that happen now whatever the
	 * model's clock is (the process start, configuration loads). */
	mtime_t started;          /* CLOCK_MONOTONIC ns at start */
	int64_t real_wall_offset; /* wall-clock ns minus monotonic ns */
	/* The AgentX master's sysUpTime (RFC 2741 res.sysUpTime) as last learnt:
	 * master_uptime_cs at master_at (monotonic ns).  TimeStamps are the
	 * master's sysUpTime at the event (RFC 2579), so they need it. */
	bool master_known;
	mtime_t master_at;
	uint32_t master_uptime_cs;
};

/*
 * The capture times a replay may take as they are: after the epoch (model
 * time 0 means "never") and before 2100-01-01T00:00:00Z, so that a time plus
 * any interval the model adds (a hold time, a timeout) stays far inside
 * mtime_t and its signed uses.  A pcapng record whose resolution makes it
 * 2554 (or 1970 exactly) is a broken record, not a time to expire PEs by.
 */
#define MCLOCK_CAPTURE_MAX_SEC 4102444800ll

/*
 * A capture record's timestamp (seconds and nanoseconds, as libpcap gives
 * them) as model time, computed without wrapping.  Returns false for an
 * absurd one (outside the range above, or nanoseconds out of range); *t is
 * then the clamped time: the clock's current time once it has one (the
 * record is taken as arriving now), else the nearer end of the range.
 */
bool mclock_capture_time(const struct mclock *c, int64_t sec, int64_t nsec, mtime_t *t);

void mclock_init_live(struct mclock *c);
void mclock_init_offline(struct mclock *c);
/* Offline: move time forward to a capture timestamp (never backwards). */
void mclock_advance(struct mclock *c, mtime_t capture_ns);
mtime_t mclock_now(const struct mclock *c);
/* What the master said its sysUpTime was (centiseconds) at monotonic time
 * `at`.  Kept while it agrees with the one in force within tolerance_cs, so
 * that a TimeStamp once read never moves by a re-estimate; replaced when the
 * master restarted or the clocks drifted apart.  Returns true if replaced. */
bool mclock_set_master_uptime(struct mclock *c, mtime_t at, uint32_t uptime_cs,
			      uint32_t tolerance_cs);
/* The session to the master closed: until the next one answers, it is unknown. */
void mclock_forget_master(struct mclock *c);
/* RFC 2579 TimeStamp of model time t: the master's sysUpTime at t.  0 for
 * "never" (t == 0), for every time while the master's uptime is unknown, for
 * events before the master's last re-initialisation, and for capture time
 * (a replay's events happened before any master could know of them). */
uint32_t mclock_timestamp_cs(const struct mclock *c, mtime_t t);
/* The same for an event on the real (monotonic) clock, replaying or not. */
uint32_t mclock_real_timestamp_cs(const struct mclock *c, mtime_t mono);
uint64_t mclock_real_wall_ns(const struct mclock *c, mtime_t mono);
/* CLOCK_MONOTONIC in ns, whatever the model's clock is. */
mtime_t mclock_monotonic(void);
/* Wall-clock nanoseconds since the Unix epoch. */
uint64_t mclock_wall_ns(const struct mclock *c, mtime_t t);

#endif
