/*
 * The state at a time T, rebuilt: a checkpoint (the state at its time) and
 * the changes after it, applied in seq order.  The result is a checkpoint
 * whose rows are sorted by VPN then by each table's SNMP index, so that
 * output made from it is deterministic.
 *
 * Changes are not applied to the arrays one by one (an insert in a sorted
 * array moves everything after it): each becomes an operation on a key,
 * and finishing sorts the operations and merges them with the checkpoint's
 * rows, O((rows + changes) log changes).
 */
#ifndef MVPN_HIST_STATE_H
#define MVPN_HIST_STATE_H

#include <stdint.h>

#include "record.h"

struct hist_state;

/* Starts from base (NULL: from nothing), whose ownership it takes; keeps
 * only VPN vpn_index's rows (0: every VPN).  NULL when out of memory (base
 * is freed then). */
struct hist_state *hist_state_new(struct hist_checkpoint *base, uint32_t vpn_index);
/* Applies one record (HIST_CHANGE; other types and kinds that move no row
 * are ignored).  Records must come in seq order.  0, or -1 out of memory. */
int hist_state_apply(struct hist_state *st, const struct hist_record *r);
/* The state, sorted; the caller's (hist_checkpoint_free).  Its
 * last_change_seq is the last change applied.  Frees st.  NULL when out of
 * memory. */
struct hist_checkpoint *hist_state_finish(struct hist_state *st);
void hist_state_free(struct hist_state *st);

#endif
