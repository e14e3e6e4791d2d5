#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "sched.h"

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t realtime_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

int64_t monotonic_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

int sched_init(struct scheduler *s)
{
	memset(s, 0, sizeof(*s));
	s->timer_fd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
	return s->timer_fd < 0 ? -1 : 0;
}

void sched_destroy(struct scheduler *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->heap[i]);
	free(s->heap);
	if (s->timer_fd >= 0)
		close(s->timer_fd);
	memset(s, 0, sizeof(*s));
	s->timer_fd = -1;
}

static int earlier(const struct output *a, const struct output *b)
{
	if (a->due_ns != b->due_ns)
		return a->due_ns < b->due_ns;
	return a->order < b->order;
}

static void swap(struct output **heap, size_t i, size_t j)
{
	struct output *t = heap[i];
	heap[i] = heap[j];
	heap[j] = t;
}

static void sift_up(struct scheduler *s, size_t i)
{
	while (i > 0 && earlier(s->heap[i], s->heap[(i - 1) / 2])) {
		swap(s->heap, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void sift_down(struct scheduler *s, size_t i)
{
	for (;;) {
		size_t least = i, left = 2 * i + 1, right = left + 1;
		if (left < s->n && earlier(s->heap[left], s->heap[least]))
			least = left;
		if (right < s->n && earlier(s->heap[right], s->heap[least]))
			least = right;
		if (least == i)
			return;
		swap(s->heap, i, least);
		i = least;
	}
}

int sched_add(struct scheduler *s, int64_t due_ns, uint32_t dst, const struct output_note *note,
	      const uint8_t *bytes, size_t len)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct output **heap = realloc(s->heap, cap * sizeof(*heap));
		if (!heap)
			return -1;
		s->heap = heap;
		s->cap = cap;
	}
	struct output *o = malloc(sizeof(*o) + len);
	if (!o)
		return -1;
	o->due_ns = due_ns;
	o->order = s->next_order++;
	o->dst = dst;
	o->note = *note;
	o->len = len;
	memcpy(o->bytes, bytes, len);
	s->heap[s->n++] = o;
	sift_up(s, s->n - 1);
	return 0;
}

struct output *sched_pop_due(struct scheduler *s, int64_t now_ns)
{
	if (s->n == 0 || s->heap[0]->due_ns > now_ns)
		return NULL;
	struct output *o = s->heap[0];
	s->heap[0] = s->heap[--s->n];
	sift_down(s, 0);
	return o;
}

int64_t sched_next_due(const struct scheduler *s)
{
	return s->n ? s->heap[0]->due_ns : 0;
}

int sched_arm(struct scheduler *s)
{
	int64_t due = sched_next_due(s);
	if (due)
		due -= SCHED_WAKE_EARLY_NS;
	struct itimerspec when;
	if (due == s->armed_ns)
		return 0;
	memset(&when, 0, sizeof(when));
	when.it_value.tv_sec = due / 1000000000;
	when.it_value.tv_nsec = due % 1000000000;
	if (timerfd_settime(s->timer_fd, TFD_TIMER_ABSTIME, &when, NULL) < 0)
		return -1;
	s->armed_ns = due;
	return 0;
}

void sched_timer_ack(struct scheduler *s)
{
	uint64_t expirations;
	if (read(s->timer_fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		return;
	/* The timer is spent: the next sched_arm must set it again. */
	s->armed_ns = 0;
}
