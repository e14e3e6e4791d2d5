/* Counters per ordered PE pair and per echoing PE, kept for the whole run
 * (across reloads) and written as the summary at exit. */
#ifndef EMU_STATS_H
#define EMU_STATS_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct log;

struct pair_count {
	uint32_t from, to;
	uint64_t forwarded, dropped_up, dropped_ingress, dropped_pair, dropped_down;
	uint64_t unsent;      /* still waiting in the scheduler at exit */
	uint64_t send_failed; /* sendto() refused it */
};

struct echo_count {
	uint32_t pe;
	uint64_t replied, dropped_up, dropped_down, unsent, send_failed;
};

/* How late the scheduler sent outputs relative to their due times. */
struct lateness {
	uint64_t outputs;
	int64_t sum_ns, max_ns;
};

/* Packets that were refused or not routed, by the event that logged them. */
struct refusals {
	uint64_t bad, other, ttl, nofanout, rx_overflow;
};

struct stats {
	struct lateness late;
	struct refusals refused;
	struct pair_count *pairs;
	size_t n_pairs, cap_pairs;
	uint32_t *pair_slots;  /* open addressing: index + 1 into pairs, 0 = empty */
	size_t n_slots;
	struct echo_count *echo;
	size_t n_echo, cap_echo;
};

void stats_init(struct stats *s);
void stats_note_lateness(struct stats *s, int64_t late_ns);
void stats_free(struct stats *s);
/* The counters of one pair or one PE, created at zero (never NULL: aborts
 * when out of memory). The pointer is valid until the next call. */
struct pair_count *stats_pair(struct stats *s, uint32_t from, uint32_t to);
struct echo_count *stats_echo(struct stats *s, uint32_t pe);
/* The "summary" event: every ordered pair of configured PEs, then any other
 * pair or PE that has counts. */
void stats_log_summary(struct stats *s, const struct config *c, struct log *l);

#endif
