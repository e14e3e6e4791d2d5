/*
 * The single-producer, single-consumer ring (queue.h).  head and tail only
 * grow; a slot is index % cap.  The producer publishes a slot with a
 * release store of tail after filling it, the consumer frees one with a
 * release store of head after it is done with it: each side reads the
 * other's counter with acquire, so it sees the slot's contents.
 */
#include <stdlib.h>
#include <string.h>

#include "queue.h"

int hist_queue_init(struct hist_queue *q, uint32_t cap)
{
	memset(q, 0, sizeof(*q));
	if (!cap)
		cap = 1;
	q->slots = calloc(cap, sizeof(*q->slots));
	q->put_ms = calloc(cap, sizeof(*q->put_ms));
	if (!q->slots || !q->put_ms) {
		free(q->slots);
		free((void *)q->put_ms);
		return -1;
	}
	q->cap = cap;
	atomic_init(&q->head, 0);
	atomic_init(&q->tail, 0);
	return 0;
}

static struct hist_record *slot(struct hist_queue *q, uint64_t i)
{
	return &q->slots[i % q->cap];
}

uint64_t hist_queue_free(struct hist_queue *q)
{
	uint64_t n = hist_queue_count(q);

	hist_queue_drop(q, n);
	free(q->slots);
	free((void *)q->put_ms);
	q->slots = NULL;
	q->put_ms = NULL;
	return n;
}

/* The slot the next put fills, NULL when the ring is full; publish() hands
 * it to the consumer once it is written. */
static struct hist_record *claim(struct hist_queue *q, uint64_t *tail)
{
	uint64_t head = atomic_load_explicit(&q->head, memory_order_acquire);

	*tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
	return *tail - head >= q->cap ? NULL : slot(q, *tail);
}

static void publish(struct hist_queue *q, uint64_t tail, uint64_t now_ms)
{
	atomic_store_explicit(&q->put_ms[tail % q->cap], now_ms, memory_order_relaxed);
	atomic_store_explicit(&q->tail, tail + 1, memory_order_release);
}

bool hist_queue_put(struct hist_queue *q, const struct hist_record *r, uint64_t now_ms)
{
	uint64_t tail;
	struct hist_record *s = claim(q, &tail);

	if (!s)
		return false;
	*s = *r;
	publish(q, tail, now_ms);
	return true;
}

bool hist_queue_put_change(struct hist_queue *q, const struct change *c, uint64_t when_ns,
			   uint64_t now_ms)
{
	uint64_t tail;
	struct hist_record *s = claim(q, &tail);

	if (!s)
		return false;
	/* Every field a HIST_CHANGE record has: the union is the change itself,
	 * and readers go by type, so what the slot held before does not matter. */
	s->type = HIST_CHANGE;
	s->when_ns = when_ns;
	s->seq = c->seq;
	s->u.change = *c;
	publish(q, tail, now_ms);
	return true;
}

uint32_t hist_queue_count(struct hist_queue *q)
{
	uint64_t head = atomic_load_explicit(&q->head, memory_order_acquire);
	uint64_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);

	return (uint32_t)(tail - head);
}

size_t hist_queue_front(struct hist_queue *q, const struct hist_record **first, size_t max)
{
	uint64_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
	uint64_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);
	size_t at = (size_t)(head % q->cap), n = tail - head < max ? (size_t)(tail - head) : max;

	*first = &q->slots[at];
	return q->cap - at < n ? q->cap - at : n;
}

void hist_queue_drop(struct hist_queue *q, size_t n)
{
	uint64_t head = atomic_load_explicit(&q->head, memory_order_relaxed);

	for (size_t i = 0; i < n; i++) {
		struct hist_record *r = slot(q, head + i);
		if (r->type == HIST_CHECKPOINT) {
			hist_checkpoint_free(r->u.checkpoint);
			r->u.checkpoint = NULL;
		}
	}
	atomic_store_explicit(&q->head, head + n, memory_order_release);
}

uint64_t hist_queue_oldest_ms(struct hist_queue *q)
{
	uint64_t head = atomic_load_explicit(&q->head, memory_order_acquire);

	return hist_queue_count(q)
		       ? atomic_load_explicit(&q->put_ms[head % q->cap], memory_order_relaxed)
		       : 0;
}
