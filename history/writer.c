/*
 * The writer thread (writer.h).  The engine thread puts records into a
 * lock-free ring (queue.c) and, when a batch's worth waits, wakes this
 * thread through an eventfd; otherwise it wakes every flush interval.  It
 * writes full batches as they fill and what remains once per interval,
 * each batch one transaction.  A batch the store refuses stays queued and
 * is tried again an interval later (a connection that cannot recover is
 * closed and opened again), so a locked, full or absent store costs queue
 * space, then counted drops, never a stalled engine.  Retention runs here
 * too, in bounded steps between flushes.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "../mib/log.h"
#include "queue.h"
#include "writer.h"

#define DEFAULT_QUEUE_CAP 100000
#define DEFAULT_FLUSH_MS 1000
#define DEFAULT_BATCH 10000
#define DEFAULT_PRUNE_MS 60000
#define PRUNE_STEP_ROWS 20000 /* one retention step: a few tens of ms */

struct hist_writer {
	struct hist_settings set; /* loc's strings point at target and monitor */
	char *target, *monitor;   /* owned copies */
	struct hist_queue q;
	struct hist_store *store;  /* the writer thread's once started; NULL: to reopen */
	pthread_t thread;
	int wake_fd;
	_Atomic bool stopping;
	_Atomic uint64_t stop_at_ms; /* the deadline hist_writer_stop gave */
	_Atomic uint64_t dropped;

	pthread_mutex_t mu; /* guards st */
	struct hist_stats st;

	/* the writer thread's alone */
	uint64_t last_flush_ms, retry_at_ms, last_prune_ms, newest_ns;
	uint64_t dropped_mark, persisted_mark; /* for losing */
	bool pruning;
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void wake(struct hist_writer *w)
{
	uint64_t one = 1;
	/* A full eventfd counter still wakes the reader: nothing to handle. */
	if (write(w->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return;
}

/* ---- the engine's side ---- */

bool hist_writer_put(struct hist_writer *w, struct hist_record *r)
{
	if (!hist_queue_put(&w->q, r, now_ms())) {
		atomic_fetch_add_explicit(&w->dropped, 1, memory_order_relaxed);
		if (r->type == HIST_CHECKPOINT) {
			hist_checkpoint_free(r->u.checkpoint);
			r->u.checkpoint = NULL;
		}
		return false;
	}
	if (r->type == HIST_CHECKPOINT)
		r->u.checkpoint = NULL; /* the queue's now */
	if (hist_queue_count(&w->q) == w->set.batch_max)
		wake(w);
	return true;
}

bool hist_writer_put_change(struct hist_writer *w, const struct change *c, uint64_t when_ns)
{
	if (!hist_queue_put_change(&w->q, c, when_ns, now_ms())) {
		atomic_fetch_add_explicit(&w->dropped, 1, memory_order_relaxed);
		return false;
	}
	if (hist_queue_count(&w->q) == w->set.batch_max)
		wake(w);
	return true;
}

void hist_writer_stats(struct hist_writer *w, struct hist_stats *out)
{
	uint64_t oldest = hist_queue_oldest_ms(&w->q), now = now_ms();

	pthread_mutex_lock(&w->mu);
	*out = w->st;
	pthread_mutex_unlock(&w->mu);
	out->queued = hist_queue_count(&w->q);
	out->dropped = atomic_load_explicit(&w->dropped, memory_order_relaxed);
	out->lag_ms = oldest && now > oldest ? now - oldest : 0;
}

/* ---- the writer's side ---- */

/* Records the outcome of an attempt, logging only the transitions. */
static void outcome(struct hist_writer *w, bool ok, const char *err)
{
	pthread_mutex_lock(&w->mu);
	bool was = w->st.store_ok;
	w->st.store_ok = ok;
	if (!ok) {
		w->st.write_failures++;
		snprintf(w->st.last_error, sizeof(w->st.last_error), "%s", err);
	}
	pthread_mutex_unlock(&w->mu);
	if (was && !ok)
		mvpn_log(LOG_WARNING, "%s; records wait in the queue", err);
	else if (!was && ok)
		mvpn_log(LOG_NOTICE, "history: writing again");
}

/* losing: records were dropped, and the store has not taken a write since
 * the last drop.  It ends with the first write after the drops stopped. */
static void note_losing(struct hist_writer *w)
{
	uint64_t dropped = atomic_load_explicit(&w->dropped, memory_order_relaxed);

	pthread_mutex_lock(&w->mu);
	bool was = w->st.losing;
	if (dropped != w->dropped_mark) {
		w->st.losing = true;
		w->persisted_mark = w->st.persisted;
	} else if (w->st.store_ok && w->st.persisted > w->persisted_mark) {
		w->st.losing = false;
	}
	bool now = w->st.losing;
	pthread_mutex_unlock(&w->mu);
	if (!was && now)
		mvpn_log(LOG_WARNING, "history: the queue is full (%u records): records are lost",
			 w->set.queue_cap);
	else if (was && !now)
		mvpn_log(LOG_NOTICE, "history: no longer losing records (%llu lost in all)",
			 (unsigned long long)dropped);
	w->dropped_mark = dropped;
}

static bool reopen(struct hist_writer *w)
{
	char err[sizeof(w->st.last_error)];

	if (w->store)
		return true;
	w->store = hist_store_open(&w->set.loc, err, sizeof(err));
	if (!w->store) {
		outcome(w, false, err);
		return false;
	}
	return true;
}

/* One transaction of up to batch_max of the oldest records. */
static bool write_batch(struct hist_writer *w)
{
	char err[sizeof(w->st.last_error)];
	const struct hist_record *batch;
	size_t n = hist_queue_front(&w->q, &batch, w->set.batch_max);

	if (hist_store_write(w->store, batch, n, err, sizeof(err)) < 0) {
		outcome(w, false, err);
		if (!hist_store_usable(w->store)) {
			hist_store_close(w->store);
			w->store = NULL;
		}
		return false;
	}
	for (size_t i = 0; i < n; i++)
		if (batch[i].when_ns > w->newest_ns)
			w->newest_ns = batch[i].when_ns;
	hist_queue_drop(&w->q, n);
	pthread_mutex_lock(&w->mu);
	w->st.persisted += n;
	pthread_mutex_unlock(&w->mu);
	outcome(w, true, NULL);
	return true;
}

/* Full batches at once; a partial one when the interval is up (or at the
 * end).  After a failure, nothing until the next interval. */
static void flush(struct hist_writer *w, uint64_t now, bool all)
{
	uint32_t n = hist_queue_count(&w->q);
	bool interval = now - w->last_flush_ms >= w->set.flush_interval_ms;

	if (!n || now < w->retry_at_ms || (n < w->set.batch_max && !interval && !all))
		return;
	if (!reopen(w)) {
		w->retry_at_ms = now + w->set.flush_interval_ms;
		return;
	}
	while ((n = hist_queue_count(&w->q)) > 0) {
		if (n < w->set.batch_max && !interval && !all)
			return;
		if (!write_batch(w)) {
			w->retry_at_ms = now + w->set.flush_interval_ms;
			return;
		}
		if (atomic_load(&w->stopping) && now_ms() >= atomic_load(&w->stop_at_ms))
			return;
	}
	w->last_flush_ms = now;
}

/* Age counts from the newest record written, never past the wall clock: a
 * replay's records carry the capture's time, and a fresh replay of an old
 * capture must not be pruned as it is written. */
static void retention(struct hist_writer *w, uint64_t now)
{
	char err[sizeof(w->st.last_error)];

	if ((!w->set.retain_ns && !w->set.retain_bytes) || !w->store ||
	    (!w->pruning && now - w->last_prune_ms < w->set.prune_interval_ms))
		return;
	uint64_t ref = w->newest_ns < wall_ns() ? w->newest_ns : wall_ns();
	uint64_t before = w->set.retain_ns && ref > w->set.retain_ns ? ref - w->set.retain_ns : 0;
	int64_t n = hist_store_prune(w->store, before, w->set.retain_bytes, PRUNE_STEP_ROWS, err,
				     sizeof(err));
	w->pruning = n == PRUNE_STEP_ROWS;
	if (!w->pruning)
		w->last_prune_ms = now;
	pthread_mutex_lock(&w->mu);
	if (n > 0)
		w->st.pruned += (uint64_t)n;
	else if (n < 0)
		snprintf(w->st.last_error, sizeof(w->st.last_error), "%s", err);
	pthread_mutex_unlock(&w->mu);
	if (n < 0)
		mvpn_log(LOG_WARNING, "history: retention: %s", err);
}

static void sleep_until_woken(struct hist_writer *w, uint32_t ms)
{
	struct pollfd p = {.fd = w->wake_fd, .events = POLLIN};
	uint64_t drain;

	if (poll(&p, 1, (int)ms) > 0 && read(w->wake_fd, &drain, sizeof(drain)) < 0)
		return;
}

static void *writer_main(void *arg)
{
	struct hist_writer *w = arg;

	for (;;) {
		bool stopping = atomic_load(&w->stopping);
		uint64_t now = now_ms();
		flush(w, now, stopping);
		note_losing(w);
		if (stopping) {
			uint64_t end = atomic_load(&w->stop_at_ms);
			if (!hist_queue_count(&w->q) || now_ms() >= end)
				break;
			/* the store refused: try again, within the deadline */
			uint64_t left = end - now_ms();
			sleep_until_woken(w, (uint32_t)(left < 50 ? left : 50));
			w->retry_at_ms = 0;
			continue;
		}
		retention(w, now);
		sleep_until_woken(w, w->pruning ? 0 : w->set.flush_interval_ms);
	}
	return NULL;
}

/* ---- start and stop ---- */

static void settle(struct hist_settings *s)
{
	if (!s->queue_cap)
		s->queue_cap = DEFAULT_QUEUE_CAP;
	if (!s->flush_interval_ms)
		s->flush_interval_ms = DEFAULT_FLUSH_MS;
	if (!s->batch_max)
		s->batch_max = DEFAULT_BATCH;
	if (s->batch_max > s->queue_cap)
		s->batch_max = s->queue_cap;
	if (!s->prune_interval_ms)
		s->prune_interval_ms = DEFAULT_PRUNE_MS;
}

static void writer_free(struct hist_writer *w)
{
	if (w->q.slots)
		hist_queue_free(&w->q);
	hist_store_close(w->store);
	if (w->wake_fd >= 0)
		close(w->wake_fd);
	pthread_mutex_destroy(&w->mu);
	free(w->target);
	free(w->monitor);
	free(w);
}

/* The thread takes no signal: the engine thread's signalfd owns them all. */
static int spawn(struct hist_writer *w)
{
	sigset_t all, old;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = pthread_create(&w->thread, NULL, writer_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

struct hist_writer *hist_writer_start(const struct hist_settings *s, char *err, size_t errlen)
{
	struct hist_writer *w = calloc(1, sizeof(*w));

	if (!w) {
		snprintf(err, errlen, "history: out of memory");
		return NULL;
	}
	w->wake_fd = -1;
	pthread_mutex_init(&w->mu, NULL);
	w->set = *s;
	settle(&w->set);
	w->target = s->loc.target ? strdup(s->loc.target) : NULL;
	w->monitor = s->loc.monitor ? strdup(s->loc.monitor) : NULL;
	w->set.loc.target = w->target;
	w->set.loc.monitor = w->monitor;
	w->set.loc.read_only = false;
	if ((s->loc.target && !w->target) || (s->loc.monitor && !w->monitor) ||
	    hist_queue_init(&w->q, w->set.queue_cap) < 0 ||
	    (w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		snprintf(err, errlen, "history: cannot start the writer: %s", strerror(errno));
		writer_free(w);
		return NULL;
	}
	/* Opened here, on the caller's thread, so that the caller can say at once
	 * what is wrong with it; a store that cannot be opened (corrupt,
	 * read-only, locked, down) does not stop the writer, which counts the
	 * failure, keeps the records and tries again every flush interval:
	 * monitoring never waits for its history. */
	err[0] = '\0';
	w->store = hist_store_open(&w->set.loc, err, errlen);
	w->st.store_ok = w->store != NULL;
	if (!w->store) {
		w->st.write_failures++;
		snprintf(w->st.last_error, sizeof(w->st.last_error), "%s", err);
		w->retry_at_ms = now_ms() + w->set.flush_interval_ms;
	}
	w->last_flush_ms = w->last_prune_ms = now_ms();
	w->newest_ns = 0;
	int rc = spawn(w);
	if (rc != 0) {
		snprintf(err, errlen, "history: cannot start the writer thread: %s", strerror(rc));
		writer_free(w);
		return NULL;
	}
	return w;
}

void hist_writer_stop(struct hist_writer *w, uint32_t wait_ms)
{
	if (!w)
		return;
	atomic_store(&w->stop_at_ms, now_ms() + wait_ms);
	atomic_store(&w->stopping, true);
	wake(w);
	pthread_join(w->thread, NULL);
	uint64_t left = hist_queue_free(&w->q);
	if (left)
		mvpn_log(LOG_WARNING, "history: %llu records not written at shutdown",
			 (unsigned long long)left);
	writer_free(w);
}
