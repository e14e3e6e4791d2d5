/* The output scheduler: every packet the emulator sends waits here until
 * its due time, CLOCK_REALTIME, a zero delay included, so that all outputs
 * share the same fixed latency.  A min-heap ordered by due time, then by
 * insertion, and an absolute timerfd.
 *
 * Due time = kernel arrival time + applied delay + SCHED_FIXED_LATENCY_NS.
 * The fixed part is there because the time it takes to read and route a
 * packet varies (tens of microseconds, sometimes more): without it a
 * zero-delay output would leave later, relative to its due time, than a
 * delayed one.  The monitor's correction (a one-way delay minus half of each
 * tunnel's round trip) cancels any latency that is the same on every path.
 * The timer wakes the loop SCHED_WAKE_EARLY_NS early and the last stretch is
 * waited by reading the clock, because a timer wakeup is itself late by
 * 50-150 us on these machines. */
#ifndef EMU_SCHED_H
#define EMU_SCHED_H

#include <stddef.h>
#include <stdint.h>

#define SCHED_FIXED_LATENCY_NS 300000
#define SCHED_WAKE_EARLY_NS 200000

enum output_kind { OUTPUT_FWD, OUTPUT_ECHO, OUTPUT_QUERY };

/* What the log says about an output once it has left. */
struct output_note {
	#define SCHED_FIXED_LATENCY_NS 300000
#define SCHED_WAKE_EARLY_NS 200000

enum output_kind kind;
	uint32_t from;       /* fwd: ingress PE; echo, query: the PE */
	uint32_t to;         /* fwd: egress PE */
	uint32_t group;      /* fwd */
	int version;         /* query */
	int64_t delay_ns;    /* applied delay */
	uint64_t id;         /* fingerprint of the inner packet as received */
};

struct output {
	int64_t due_ns;
	uint64_t order;
	uint32_t dst;        /* outer destination */
	struct output_note note;
	size_t len;
	uint8_t bytes[];     /* the whole outer packet */
};

struct scheduler {
	struct output **heap;
	size_t n, cap;
	uint64_t next_order;
	int timer_fd;
	int64_t armed_ns;    /* 0: disarmed */
};

int64_t realtime_ns(void);
int64_t monotonic_ns(void);

int sched_init(struct scheduler *s);
void sched_destroy(struct scheduler *s);
int sched_add(struct scheduler *s, int64_t due_ns, uint32_t dst, const struct output_note *note,
	      const uint8_t *bytes, size_t len);
/* The earliest output if it is due at now_ns, else NULL; the caller frees it. */
struct output *sched_pop_due(struct scheduler *s, int64_t now_ns);
/* Due time of the earliest output, or 0 when none waits. */
int64_t sched_next_due(const struct scheduler *s);
/* Points the timer SCHED_WAKE_EARLY_NS before the earliest due time (or disarms it). */
int sched_arm(struct scheduler *s);
void sched_timer_ack(struct scheduler *s);

#endif
