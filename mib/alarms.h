/*
 * Alarms and the notifications that announce them (patent fig. 5; RFC 4834
 * 5.2.10).  Pure model logic, no net-snmp: alarms_run() compares what the
 * engines learned with what the configuration expects, raises and clears
 * rows of the active alarm table (mvpnAlarmTable), and queues a notice for
 * each transition.  The agent pops the notices and sends them as SNMP
 * notifications; the engines never see any of this.
 *
 * Two families:
 *  - PE alarms: an expected PE not active (after the start-up grace), a PE
 *    active that is not expected.  One notice per PE transition; when a VPN
 *    that had raised any comes back to match its configuration, one
 *    VPN-level "match" notice.
 *  - Threshold alarms on probed pairs (loss, corrected delay, jitter), with
 *    RMON alarmTable hysteresis and a startup alarm of "rising": a rising
 *    notice when the value reaches the rising threshold, then nothing until
 *    it has fallen to the falling threshold, which gives one falling notice,
 *    and so on.  A pair is judged only once its window has filled.
 *
 * Rate limit: at most `limit` notices of one kind within any `interval` of
 * the model clock (a sliding window).  What is held back is counted
 * (model.g.notifications_suppressed) and logged; the alarm table always
 * tells the truth, whatever was sent.
 *
 * Ownership: the model owns struct alarms and everything in it.
 */
#ifndef MVPN_ALARMS_H
#define MVPN_ALARMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "clock.h"
#include "oidx.h"

struct model;

/* Values of mvpnAlarmKind. */
enum alarm_kind {
	ALARM_PE_MISSING = 1,
	ALARM_PE_UNEXPECTED = 2,
	ALARM_PAIR_LOSS = 3,
	ALARM_PAIR_DELAY = 4,
	ALARM_PAIR_JITTER = 5,
	ALARM_PE_BGP_SILENT = 6, /* BGP advertises the PE in the MDT; it sends no Hello */
	ALARM_PE_NOT_IN_BGP = 7, /* the PE sends Hellos; BGP does not advertise it */
};

/* Is it a PE's alarm (kept in its struct pe), rather than a pair's? */
bool alarm_kind_is_pe(enum alarm_kind k);

/* Sub-identifiers of the notifications under mvpnNotifications. */
enum notice_kind {
	NOTICE_PE_MISSING = 1,
	NOTICE_PE_UNEXPECTED,
	NOTICE_VPN_MATCH,
	NOTICE_LOSS_RISING,
	NOTICE_LOSS_FALLING,
	NOTICE_DELAY_RISING,
	NOTICE_DELAY_FALLING,
	NOTICE_JITTER_RISING,
	NOTICE_JITTER_FALLING,
	NOTICE_AGENT_START,   /* sent by the agent itself, never queued here */
	NOTICE_ALARM_CLEARED, /* a PE alarm cleared, or any alarm a reload removed */
	NOTICE_HISTORY_LOSING, /* history records are being dropped */
	NOTICE_HISTORY_RESUMED, /* the history store takes every record again */
	NOTICE_FAULT_LOCATED,   /* a component of a probed VPN found at fault (mib/locate.h) */
	NOTICE_FAULT_CLEARED,   /* ... and no longer */
	NOTICE_PE_BGP_SILENT,   /* alarm ALARM_PE_BGP_SILENT raised */
	NOTICE_PE_NOT_IN_BGP,   /* alarm ALARM_PE_NOT_IN_BGP raised */
	NOTICE_BMP_ROUTER_UP,   /* a BMP router's session began (agent/bmp_listen.c) */
	NOTICE_BMP_ROUTER_DOWN, /* ... ended */
	NOTICE_BMP_PEER_UP,     /* a peer a BMP router monitors came up */
	NOTICE_BMP_PEER_DOWN,   /* ... went down */
	NOTICE_KINDS = NOTICE_BMP_PEER_DOWN
};

/* The metrics a pair is judged on, and their units (those of mvpnAlarmValue). */
enum metric { METRIC_LOSS, METRIC_DELAY, METRIC_JITTER, METRICS };

struct threshold {
	uint32_t rising, falling; /* ppm or us; rising 0: the metric is not judged */
};

struct thresholds {
	struct threshold t[METRICS];
};

#define ALARM_DESCR_MAX 255 /* SnmpAdminString's longest */
#define NOTICE_NAME_MAX 64

/* Where a pair alarm's cause lies, once faults are located (mib/locate.h):
 * kind is an enum fault_kind (0: not located); pe and peer as the fault's. */
struct alarm_location {
	uint8_t kind;
	struct inet_addr pe, peer;
};

struct alarm {
	uint32_t index; /* mvpnAlarmIndex: increasing, see alarm_index_base() */
	enum alarm_kind kind;
	uint32_t vpn_index;
	struct inet_addr addr, peer; /* peer: the destination of a pair alarm, else unset */
	uint32_t value, threshold;   /* at the time it was raised; 0 for PE alarms */
	mtime_t raised;
	char vpn_name[NOTICE_NAME_MAX + 1]; /* its VPN's, when raised: the VPN may go first */
	struct alarm_location location;     /* pair alarms: kept up to date by mib/locate.c */
};

/* What a fault notice carries (struct fault of mib/faultloc.h, by value). */
struct notice_fault {
	uint8_t kind, metric, flags; /* enum fault_kind, enum metric, FAULT_* */
	uint32_t loss_ppm, low_ppm, high_ppm, echo_loss_ppm, pairs;
	int64_t shift_us;
	mtime_t since;
};

/* What one notification carries (mvpnNotifyObjects and the VPN's columns). */
/* NOTICE_BMP_*: addr is the router, peer the peer; the rest is the peer's
 * row of mvpnBmpPeerTable as it was (the row may be gone when it is sent). */
struct notice_bmp {
	uint64_t distinguisher;
	uint32_t as, bgp_id;
	uint16_t fsm_event;
	uint8_t reason, code, subcode; /* the Peer Down's (RFC 7854 4.9) */
};

struct notice {
	enum notice_kind kind;
	uint32_t vpn_index;
	char vpn_name[NOTICE_NAME_MAX + 1];
	struct inet_addr addr, peer;
	uint32_t value, threshold; /* thresholds: measured value and the threshold crossed */
	uint32_t expected, active; /* NOTICE_VPN_MATCH: the VPN's PE counts */
	uint64_t dropped;          /* NOTICE_HISTORY_*: history records lost so far */
	mtime_t at;
	/* The alarm raised or cleared (0: none, as for a match); a receiver
	 * matches a clear with its raise by the index (RFC 3877's model). */
	uint32_t alarm_index;
	enum alarm_kind alarm_kind;
	mtime_t raised;
	uint32_t alarm_value, alarm_threshold; /* the alarm's own figures, for its text */
	struct alarm_location location;        /* the alarm's, when it was sent */
	struct notice_fault fault;             /* NOTICE_FAULT_*: addr and peer are its PEs */
	struct notice_bmp bmp;                 /* NOTICE_BMP_* */
};

struct alarm_table {
	struct alarm *v; /* sorted by index (indexes only grow, so appends keep it sorted) */
	size_t n, cap;
	uint32_t next_index;
};

#define NOTICE_QUEUE_CAP 1024

/* Notices waiting for the agent (it drains them every loop turn; they wait
 * longer only while the master agent is away). */
struct notice_queue {
	struct notice ring[NOTICE_QUEUE_CAP];
	size_t head, len;
};

/* Sliding-window limiter: the send times of the last `limit` notices per kind. */
struct rate_limiter {
	uint32_t limit; /* 0: unlimited */
	mtime_t interval;
	mtime_t *sent[NOTICE_KINDS + 1]; /* rings of limit entries; owned */
	size_t head[NOTICE_KINDS + 1], len[NOTICE_KINDS + 1];
	uint64_t suppressed[NOTICE_KINDS + 1];
};

struct alarms {
	struct alarm_table table;
	struct notice_queue queue;
	struct rate_limiter limiter;
	mtime_t next_pe_check;        /* 0: as soon as possible */
	mtime_t next_threshold_check;
	/* PEs that came or went since the last run, judged one by one (a flood of
	 * spoofed PEs must not cost a scan of the VPN per Hello); when more pile
	 * up than DIRTY_PES_MAX, the next run judges every VPN instead. */
	struct dirty_pe {
		struct vpn *vpn;
		struct pe *pe;
	} *dirty;
	size_t n_dirty, cap_dirty;
	bool dirty_overflow;
	uint64_t lost;                /* notices pushed out of a full queue */
	/* The next located fault's id (struct fault's, its history records'
	 * key): from the same base as the alarm indexes, past every id restored. */
	uint32_t next_fault_id;
};

/* The first mvpnAlarmIndex of a process started at wall-clock time wall_ns
 * (and the first id of a located fault, mib/locate.c):
 * ALARM_INDEX_PER_SECOND per second since ALARM_INDEX_EPOCH, so that no
 * index of a run names an alarm of an earlier run that raised fewer alarms
 * than that per second of its life (indexes are not stored across runs). */
#define ALARM_INDEX_EPOCH 1700000000ull /* Unix time: 2023-11-14 22:13:20 UTC */
#define ALARM_INDEX_PER_SECOND 8u
uint32_t alarm_index_base(uint64_t wall_ns);
void alarms_init(struct alarms *a, uint32_t first_index);
void alarms_free(struct alarms *a);
/* Returns false when out of memory (the limiter is then unlimited, and says so). */
bool alarms_set_rate_limit(struct alarms *a, uint32_t limit, mtime_t interval);

/* The active alarm of that index, or NULL. */
struct alarm *alarm_find(struct alarm_table *t, uint32_t index);

/* The pair's value of a metric in the MIB's units (loss ppm, corrected delay
 * us, jitter us), as the thresholds judge it; false if it has none yet. */
struct pair_figures;
bool pair_metric_value(const struct pair_figures *f, enum metric k, uint32_t *out);
/* "loss", "delay", "jitter". */
const char *metric_name(enum metric k);

/* A PE of v came up or went down: it is re-judged on the next run. */
struct vpn;
struct pe;
void alarms_pe_changed(struct model *m, struct vpn *v, struct pe *pe);
/* pe's row is about to be freed: its alarm goes and nothing keeps a pointer to
 * it; v is still judged for its "match" notice. */
void alarms_pe_removed(struct model *m, struct vpn *v, struct pe *pe, const char *why);
/* Something of the PEs falls due at `at` (a settle time ends): the PEs are
 * judged then, not only at the next pe_check_interval. */
void alarms_wake_pe_check(struct model *m, mtime_t at);
/* Re-judges what is due: the VPNs whose PEs changed; every VPN when the check
 * interval has passed (and at the end of the start-up grace); pair thresholds
 * once a second.  Cheap when nothing is due: called after every packet of a
 * replay (so capture time is judged as live time would be) and every loop turn. */
void alarms_run(struct model *m, mtime_t now);
/* After a reconfiguration: drops alarms whose VPN, PE or pair is gone or no
 * longer judged, and has everything re-judged on the next run. */
void alarms_reconfigured(struct model *m);

/* The next notice to send, oldest first; false when there is none.  The
 * agent pops only while it can send: meanwhile notices wait, and when the
 * queue is full the oldest is pushed out (logged, counted in `lost`). */
bool notice_pop(struct alarms *a, struct notice *out);
/* "mvpnPeMissing" and so on. */
const char *notice_name(enum notice_kind kind);
/* mvpnAlarmDescr: "vpn red: expected PE 198.18.0.1 is not active", "vpn red:
 * pair 198.18.0.1 -> 198.18.0.2 loss 20000 ppm reached 10000"; made where it
 * is shown (the table, a notification, the log), never kept. */
void alarm_describe(const struct alarm *al, char *out, size_t len);
/* The same for the alarm a notice is about (alarm_index not 0). */
void notice_alarm_describe(const struct notice *n, char *out, size_t len);
/* Queues a notice that is not about an alarm (rate limited like the rest). */
void notice_post(struct model *m, const struct notice *n);
/* One line for the log: the VPN, the addresses, value and threshold. */
void notice_describe(const struct notice *n, char *out, size_t len);

void alarm_oidx(const struct alarm *al, struct oidx *out);
const struct alarm *alarm_seek(const struct alarm_table *t, const uint32_t *want, size_t wlen,
			       bool after);

/* An alarm raised before a restart, put back with its index (the one its
 * raising notification carried, RFC 3877's key) and tied to its PE or pair,
 * without a notification: it stays raised, and is cleared when its state
 * says so.  Alarms must come in increasing index order.  False when its
 * owner is gone (the next judgement raises what is due, with a new index). */
bool alarms_restore(struct model *m, const struct alarm *al);

#endif
