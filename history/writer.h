/*
 * The history writer: a bounded queue the engine thread puts records into,
 * and a thread of its own that writes them to the store in batched
 * transactions, so that a slow, locked, full or absent store never stalls
 * capture, probing or SNMP.  When the queue is full, records are dropped and
 * counted (never blocking the engine); a store that fails is retried every
 * flush interval, keeping what waits.
 */
#ifndef MVPN_HIST_WRITER_H
#define MVPN_HIST_WRITER_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

struct hist_settings {
	struct hist_location loc;
	uint32_t queue_cap;        /* records waiting at most */
	uint32_t flush_interval_ms; /* a batch at least this often */
	uint32_t batch_max;        /* records in one transaction at most */
	uint64_t retain_ns;        /* 0: keep by age forever */
	uint64_t retain_bytes;     /* 0: no size limit */
	uint32_t prune_interval_ms; /* retention runs this often; 0: each minute */
};

/* What the MIB and the log show; read at any time from any thread. */
struct hist_stats {
	uint32_t queued;          /* waiting now */
	uint64_t persisted;       /* records the store committed */
	uint64_t dropped;         /* records lost: a full queue, or shut down unwritten */
	uint64_t write_failures;  /* transactions the store refused */
	uint64_t pruned;          /* rows retention deleted */
	uint64_t lag_ms;          /* age of the oldest record waiting; 0 when none */
	bool store_ok;            /* the last attempt succeeded */
	bool losing;              /* records dropped since the store was last healthy */
	char last_error[256]; /* a backend's message, its store named */
};

struct hist_writer;

/* Opens the store from the calling thread first, then starts the writer
 * thread.  A store that cannot be opened is no failure here: err says why
 * (err[0] is '\0' when it opened), store_ok is false, and the writer tries
 * it again every flush interval, keeping the records up to the queue's cap.
 * NULL only when the writer itself cannot start (memory, a thread). */
struct hist_writer *hist_writer_start(const struct hist_settings *s, char *err, size_t errlen);
/* Engine thread only.  Copies *r (a checkpoint's arrays change owner); false
 * when the queue is full: the record is dropped, counted, and freed. */
bool hist_writer_put(struct hist_writer *w, struct hist_record *r);
/* The same for a state change (a HIST_CHANGE record of c, at when_ns),
 * written straight into the queue without a record built first. */
bool hist_writer_put_change(struct hist_writer *w, const struct change *c, uint64_t when_ns);
void hist_writer_stats(struct hist_writer *w, struct hist_stats *out);
/* Writes what waits (within a bound of time), stops the thread, closes. */
void hist_writer_stop(struct hist_writer *w, uint32_t wait_ms);

#endif
