/*
 * The state model: everything mvpnmond knows, with no net-snmp types.
 * Engines write it through the verbs here; the agent reads it through the
 * seek/index functions, whose order is the SNMP index order (see oidx.h).
 *
 * Ownership: the model owns every vpn; a vpn owns its expected-PE list; the
 * model owns the one heap of every deadline (timers.h), whose timers live in
 * the PEs, rows and flows they time.
 */
#ifndef MVPN_MODEL_H
#define MVPN_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "alarms.h"
#include "cgroup.h"
#include "changelog.h"
#include "clock.h"
#include "names.h"
#include "oidx.h"
#include "pe.h"
#include "probing.h"
#include "timers.h"

#define VPN_NAME_MAX 64

enum passive_status { PASSIVE_DISABLED = 1, PASSIVE_WAITING = 2, PASSIVE_ACTIVE = 3 };
enum probe_status { PROBE_DISABLED = 1, PROBE_STARTING = 2, PROBE_RUNNING = 3, PROBE_FAILED = 4 };
enum config_status { CONFIG_PENDING = 1, CONFIG_MATCH = 2, CONFIG_MISMATCH = 3 };
enum capture_status { CAPTURE_OFF = 1, CAPTURE_RUNNING = 2, CAPTURE_FINISHED = 3, CAPTURE_FAILED = 4 };

struct vpn_counters {
	uint64_t packets;
	uint64_t control;
	uint64_t data_discarded;
	uint64_t malformed;
	uint64_t refreshes;
	uint64_t changes;
	uint64_t limit_drops;
};

struct vpn {
	uint32_t index; /* from the configuration; never renumbered */
	char name[VPN_NAME_MAX + 1];
	struct inet_addr default_mdt;
	struct inet_addr *expected_pes; /* sorted by inet_addr_cmp, owned */
	size_t n_expected;
	struct vpn_counters counters;
	mtime_t last_change; /* 0: never */
	enum passive_status passive;
	enum probe_status probe;
	struct pe_table pes;
	struct cgroup_state cg;
	struct vpn_probe *probing; /* NULL unless probing is configured; owned */
	struct thresholds thresholds; /* for its probed pairs */
	bool configured; /* vpn_configure succeeded: every expected PE has its row */
	bool mismatch_announced; /* a PE alarm was raised since the VPN last matched */
	uint32_t n_pe_alarms;    /* its PEs with a raised alarm */
	/* BGP's MDT SAFI (mib/bgpmdt.h) */
	bool expect_bgp;         /* expected-pes = bgp: the expected PEs are BGP's */
	bool discovered;         /* made from BGP, not from the configuration */
	bool bgp_signalled;      /* an RFC 6514 MVPN: no default MDT, PEs from I-PMSI A-D routes */
	uint32_t n_bgp_pes;      /* its PEs with bgp_advertised */
	mtime_t bgp_since;       /* when vpn_bgp_judged() last became true */
};

struct pe_counts {
	uint32_t expected;
	uint32_t active;     /* alive, whatever else */
	uint32_t missing;    /* these four by pe_status() */
	uint32_t unexpected;
	uint32_t bgp_silent;
	uint32_t not_in_bgp;
	uint32_t bgp;        /* bgp_advertised */
};

struct global_counters {
	uint64_t packets_seen;
	uint64_t control;
	uint64_t data_discarded;
	uint64_t malformed;
	uint64_t unknown_mdt;
	uint64_t refreshes;
	uint64_t changes;
	uint64_t limit_drops;
	uint64_t config_loads;
	uint64_t config_load_failures;
	uint64_t capture_restarts;
	uint64_t capture_kernel_drops;
	uint64_t notifications_sent;
	uint64_t notifications_suppressed;
	uint64_t notifications_lost; /* pushed out of a full queue while the master was away */
	uint64_t pe_rows_reclaimed;  /* departed PEs' rows given up for new PEs */
	mtime_t last_change;
	mtime_t config_last_load;
	/* What the capture could not take as it came: frames it cannot read
	 * (not IP, or an encapsulation it does not decode), outer fragments
	 * (capture/reasm.h), and capture times it had to clamp (clock.h). */
	uint64_t capture_unsupported;
	uint64_t frag_reassembled;      /* datagrams made whole */
	uint64_t frag_timeouts;         /* datagrams abandoned incomplete */
	uint64_t frag_cap_drops;        /* fragments refused: the table was full */
	uint64_t frag_bad;              /* overlapping or contradicting fragments */
	uint64_t frag_duplicates;       /* exact duplicates, dropped */
	uint64_t capture_times_clamped;
};

struct model_settings {
	mtime_t startup_grace; /* expected PEs are not "missing" before this has passed */
	uint32_t max_pes_per_vpn;
	uint32_t max_cgroups_per_vpn; /* C-group->PE rows */
	uint32_t max_data_mdts_per_vpn;
	uint32_t notify_rate_limit;
	uint32_t notify_rate_interval; /* seconds */
	mtime_t pe_check_interval; /* expected vs active PEs are re-judged at least this often */
	mtime_t bgp_settle; /* BGP's word on a PE must hold this long before it is judged */
};

struct alarm;
struct fault;
struct pair;

/*
 * Who learns of the model's events beyond its own tables: the history writer
 * (agent/history.c).  Called on the engine thread, synchronously, as each
 * event happens; each must be cheap and must not call back into the model.
 */
struct model_observer {
	void *ctx;
	void (*change)(void *ctx, const struct model *m, const struct change *c);
	/* raised: the row as entered; cleared: the row as taken out, at `when`. */
	void (*alarm)(void *ctx, const struct model *m, const struct alarm *al, bool raised,
		      mtime_t when);
	/* A located fault of VPN vpn_index announced: located, or cleared with
	 * the figures it had last (mib/locate.c), at `when`. */
	void (*fault)(void *ctx, const struct model *m, uint32_t vpn_index, const struct fault *f,
		      bool located, mtime_t when);
	/* Work of its own at a model time (a checkpoint): called by
	 * model_observer_due() once the clock reaches due_at, which it moves. */
	void (*due)(void *ctx, struct model *m, mtime_t now);
	mtime_t due_at;
};

struct model {
	struct mclock clock;
	struct model_settings settings;
	struct vpn **vpns; /* sorted by index */
	size_t n_vpns;
	size_t cap_vpns;
	struct global_counters g;
	struct changelog changes;
	enum capture_status capture;
	char capture_source[256];
	struct probing probing; /* tunnels and probe accounting */
	struct alarms alarms;   /* active alarms and notices waiting for the agent */
	struct model_observer observer; /* all NULL: nobody */
	struct pe_names pe_names;       /* the configured PE names */
	bool bgp_recounting; /* BGP's routes are being counted again (mib/bgpmdt.h) */

	/* ---- deadlines ---- */
	struct timers timers; /* every PE, row and data-MDT deadline of every VPN */
	struct cgroup_pool cg_pool; /* every VPN's flows and C-group->PE rows */
	struct slab_reserve *reserve; /* cg_pool's chunks, faulted in ahead; NULL: none */
};

struct model *model_new(bool offline);
/* The clock moved to now (each replayed packet, each live turn): the
 * observer's own work, if due.  One comparison when it is not. */
void model_observer_due(struct model *m, mtime_t now);
/* A change just written into m->changes (changelog_append, then filled). */
void model_change_recorded(struct model *m, const struct change *c);
void model_free(struct model *m); /* stops the reserve too */
/* New rows and flows come in memory a thread faulted in ahead of need (slab.h's
 * reserve), so that a growing model's creates do not pay the page faults on
 * the engine thread.  After a fork, as every thread.  False: no thread (the
 * model goes on without one, as before). */
bool model_start_reserve(struct model *m);
/* The soonest model time at which passive_expire() or alarms_run() has work:
 * a timer runs out, PEs are re-judged, pair thresholds are checked.  O(1).
 * The event loop may sleep until then (MTIME_NEVER: nothing is scheduled). */
mtime_t model_next_deadline(const struct model *m);

struct vpn *vpn_find(const struct model *m, uint32_t index);
/* Position in m->vpns of the first VPN whose index is >= index. */
size_t vpn_position(const struct model *m, uint32_t index);
/* Finds or creates; NULL only when out of memory. */
struct vpn *vpn_get(struct model *m, uint32_t index);
void vpn_remove(struct model *m, uint32_t index);
/*
 * A reload's VPNs, in one merge of two sorted lists: makes the model's VPNs
 * exactly those of indexes[0..n), which must be strictly increasing.  A VPN
 * whose index stays keeps its struct vpn (the same pointer), and with it its
 * rows, timers, counters and alarms; a new index gets a VPN as vpn_get makes
 * it; a VPN whose index is not listed is passed to gone (unless NULL), has
 * its located faults announced cleared (vpn_probe_stop) and is
 * freed.  O(n + n_vpns) whatever changes (vpn_get and vpn_remove shift the
 * array: O(n_vpns) each).  False, with nothing changed, when out of memory or
 * when indexes do not increase.
 */
bool model_set_vpns(struct model *m, const uint32_t *indexes, size_t n,
		    void (*gone)(void *arg, const struct vpn *v), void *arg);
/* Replaces the VPN's configured identity (expected in any order); touches
 * nothing when it is the same as before.  Returns false when out of memory. */
bool vpn_configure(struct vpn *v, const char *name, const struct inet_addr *default_mdt,
		   const struct inet_addr *expected, size_t n_expected);
bool vpn_expects(const struct vpn *v, const struct inet_addr *pe);
/* Are the VPN's PEs compared with BGP's MDT SAFI?  When it expects BGP's PEs,
 * or when BGP advertises any PE in its default MDT. */
bool vpn_bgp_judged(const struct vpn *v);
enum pe_judging vpn_pe_judging(const struct vpn *v);
void vpn_pe_counts(const struct model *m, const struct vpn *v, struct pe_counts *out);
enum config_status vpn_config_status(const struct model *m, const struct vpn *v);
/* Forgets everything learned for the VPN (its default MDT changed, say). */
void vpn_forget(struct vpn *v);

/* SNMP view of mvpnVpnTable. */
void vpn_oidx(const struct vpn *v, struct oidx *out);
const struct vpn *vpn_seek(const struct model *m, const uint32_t *want, size_t wlen, bool after);

/*
 * Seek in a per-VPN table, whose index is the VPN index followed by the row's:
 * the first row at or after want across all VPNs in index order.
 */
typedef const void *(*vpn_rows_seek_fn)(const struct vpn *v, const uint32_t *want, size_t wlen,
					bool after);
const void *model_seek_rows(const struct model *m, vpn_rows_seek_fn seek, const uint32_t *want,
			    size_t wlen, bool after);

#endif
