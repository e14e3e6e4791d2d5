/*
 * The daemon's side of the history store (issue 13): what the model does goes
 * to the writer thread (history/writer.h) as typed records, with a checkpoint
 * of the whole state every checkpoint-interval of model time (and after each
 * configuration load), one pair window record per probed pair per window,
 * and notifications when records start being lost and when they stop.
 * Engine thread only, except history_stats (any thread).
 */
#ifndef MVPN_AGENT_HISTORY_H
#define MVPN_AGENT_HISTORY_H

#include <stdbool.h>
#include <stddef.h>

#include "../history/writer.h"

struct daemon;

/* Starts the writer if the configuration has a history section; 0, or -1
 * with err (the store cannot be opened: a start-up failure). */
int history_start(struct daemon *d, char *err, size_t errlen);
/* Each engine turn: checkpoints and pair windows that are due, loss notices. */
void history_turn(struct daemon *d);
/* A configuration load, good or refused (then the figures are 0). */
void history_config_loaded(struct daemon *d, bool ok, uint32_t added, uint32_t removed,
			   uint32_t changed);
/* What the MIB's history scalars show; false when history is off. */
bool history_stats(const struct daemon *d, struct hist_stats *out);
/* Writes what waits (at most wait_ms), stops the writer. */
void history_stop(struct daemon *d, uint32_t wait_ms);
/* The daemon is stopping: the located faults its teardown clears (closing
 * the prober) are not over, and are not recorded as cleared: the next start
 * restores them.  Called before the teardown, then history_stop(). */
void history_stopping(struct daemon *d);

#endif
