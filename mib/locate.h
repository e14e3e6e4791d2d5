/*
 * Where a probed VPN's problem is, wired in: the loss tomography of each VPN
 * (mib/tomography.h, fed by probing.c as each probe is decided) and the
 * fault location over it (mib/faultloc.h), run with the pair thresholds
 * just before the pairs are judged (alarms.c), so that a pair alarm raised
 * in the same second already names its cause.
 *
 * Each run: the estimates are remade when the tomography's block has
 * changed (they change only then), the faults are located from the pairs'
 * window figures (those the thresholds judge), the estimates and the
 * tunnels' echoes.  A fault is published (served, announced, named by the
 * alarms) once it has been located for one tomography block (the
 * estimates lag the pairs' figures by up to a block), a path blamed for
 * what remains (FAULT_RESIDUAL) once it has lasted a whole window: when a
 * loss starts, its pairs cross the threshold while the estimate of the PE
 * side at fault, over the same window, is still too uncertain to clear a
 * third of it, and meanwhile those pairs are left to their paths.  A
 * fault published is announced (mvpnFaultLocated), one published and no
 * longer located is announced cleared (mvpnFaultCleared), both rate
 * limited as every notice; and every raised pair alarm is told where its
 * cause lies now (struct alarm_location).
 *
 * Pure model logic: no I/O, no net-snmp, no text kept.
 */
#ifndef MVPN_LOCATE_H
#define MVPN_LOCATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alarms.h"
#include "clock.h"
#include "oidx.h"

struct model;
struct vpn;
struct vpn_probe;
struct pair;
struct fault;

/* A bit of struct fault's flags, beside FAULT_RESIDUAL and
 * FAULT_NO_REFERENCE (faultloc sets flags afresh each run). */
#define FAULT_PUBLISHED 0x80

/* One run for v (a no-op when v is not probed). */
void locate_run(struct model *m, struct vpn *v, mtime_t now);
/* vp's faults are going (its probing is reconfigured with other PEs, or
 * stopped): each is announced cleared. */
void locate_forget(struct model *m, struct vpn *v, struct vpn_probe *vp);
/* The located fault that explains the pair's metric, if any: the monitor's
 * link, else the sender side of its source, the receiver side of its
 * destination, its path.  out->kind 0 when none. */
void locate_pair(const struct vpn_probe *vp, enum metric k, const struct pair *pr,
		 struct alarm_location *out);
/* A published fault blames the monitor's own link. */
bool locate_unreliable(const struct vpn_probe *vp);
/* "sender side of PE 198.18.1.2", "path 198.18.1.1 -> 198.18.1.4", ... */
void location_describe(const struct alarm_location *loc, char *out, size_t len);

/*
 * A fault located and not cleared before a restart (history), put back at
 * start: f as it was announced (id, since, figures; positions ignored).
 * Published at once, without a notice, and held until every pair of its
 * VPN has a full window again; the first location run after that keeps it
 * silently when it finds the same fault (kind, metric, PE, peer: since and
 * id carry on), and announces it cleared when it does not.  A fault whose
 * VPN is not probed any more, whose PE, side or pair is gone, or whose
 * metric is no longer judged is announced cleared at once (vpn_name: the
 * name to give when the VPN is gone).  Also keeps the next fault id past
 * f's.  True when it was put back.
 */
bool locate_restore(struct model *m, uint32_t vpn_index, const char *vpn_name,
		    const struct fault *f);

/* SNMP: mvpnFaultTable's index within a VPN (metric, kind, PE, peer), and
 * the first published fault at or past want. */
void fault_oidx(const struct fault *f, struct oidx *out);
const struct fault *fault_seek(const struct vpn_probe *vp, const uint32_t *want, size_t wlen,
			       bool after);

#endif
