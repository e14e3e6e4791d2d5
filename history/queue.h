/*
 * The history queue: a ring of records between one producer (the engine
 * thread) and one consumer (the writer thread), without a lock.  Putting
 * never blocks and never allocates: the ring is allocated once, and a full
 * ring refuses.  The consumer writes records where they are and only then
 * releases them, so a failed write leaves them where they were.
 */
#ifndef MVPN_HIST_QUEUE_H
#define MVPN_HIST_QUEUE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"

struct hist_queue {
	struct hist_record *slots; /* owned: cap of them */
	_Atomic uint64_t *put_ms;  /* owned: when each slot was put (monotonic ms);
				    * atomic: the stats read it from any thread */
	uint32_t cap;
	_Atomic uint64_t head; /* next to take: the consumer's */
	_Atomic uint64_t tail; /* next to fill: the producer's */
};

int hist_queue_init(struct hist_queue *q, uint32_t cap); /* -1: out of memory */
/* Frees the ring and the checkpoints of the records still in it; returns
 * how many there were. */
uint64_t hist_queue_free(struct hist_queue *q);

/* Producer.  Copies *r into the ring; false when full (r untouched). */
bool hist_queue_put(struct hist_queue *q, const struct hist_record *r, uint64_t now_ms);
/* The same for a change, written straight into its slot as a HIST_CHANGE
 * record stamped when_ns: no record is built to be copied (the engine
 * thread's most frequent put, one per state change). */
bool hist_queue_put_change(struct hist_queue *q, const struct change *c, uint64_t when_ns,
			   uint64_t now_ms);
uint32_t hist_queue_count(struct hist_queue *q);

/* Consumer.  The oldest records as one run in the ring, up to max (fewer
 * where the ring wraps), left queued: the producer never touches them until
 * hist_queue_drop, so the writer writes them in place, without a copy. */
size_t hist_queue_front(struct hist_queue *q, const struct hist_record **first, size_t max);
/* Releases the n oldest (after they were written or given up); their
 * checkpoints are freed. */
void hist_queue_drop(struct hist_queue *q, size_t n);
/* When the oldest record was put; 0 when empty. */
uint64_t hist_queue_oldest_ms(struct hist_queue *q);

#endif
