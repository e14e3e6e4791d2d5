/*
 * What the daemon hands to the history store (the patent's second database):
 * typed records, never text.  The engine thread fills one and gives it to
 * hist_writer_put() (writer.h), which copies it (a state change goes straight
 * into its queue slot: hist_writer_put_change); the writer thread batches them
 * into the store (store.h).  Times are wall-clock nanoseconds since the Unix
 * epoch: live, the time of the event; replaying, the capture's own time
 * (mclock_wall_ns), so that a replay writes the rows a live run would have.
 */
#ifndef MVPN_HIST_RECORD_H
#define MVPN_HIST_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "../mib/addr.h"
#include "../mib/changelog.h"

enum hist_record_type {
	HIST_CHANGE = 1,      /* a state change: a struct change, as mvpnChangeTable shows */
	HIST_ALARM = 2,       /* an alarm raised or cleared */
	HIST_CONFIG = 3,      /* a configuration load, good or refused */
	HIST_PAIR_WINDOW = 4, /* one probed pair's figures over one window */
	HIST_CHECKPOINT = 5,  /* the whole state (owned arrays, see below) */
	HIST_FAULT = 6,       /* a fault located or cleared (mib/faultloc.h) */
};

struct hist_alarm {
	uint32_t index;    /* mvpnAlarmIndex: kept across restarts */
	uint8_t kind;      /* mvpnAlarmKind */
	uint8_t raised;    /* 1 raised, 0 cleared */
	uint32_t vpn_index;
	struct inet_addr addr, peer; /* mvpnAlarmAddr, mvpnAlarmPeer */
	uint32_t value, threshold;
};

/* A located fault (mvpnFaultTable's row) as announced: located with the
 * figures it was published with, cleared with those it had last.  `id` pairs
 * the two records of one fault: never reused across runs (a restart goes on
 * after the ids it restored, and a run that restored nothing starts past
 * every id an earlier run gave; see alarm_index_base()). */
struct hist_fault {
	uint32_t id;
	uint8_t located;            /* 1 located, 0 cleared */
	uint32_t vpn_index;
	uint8_t metric;             /* mvpnFaultMetric: loss(1), delay(2), jitter(3) */
	uint8_t kind;               /* mvpnFaultKind */
	uint8_t flags;              /* bit 0 residual, bit 1 no reference (FAULT_RESIDUAL, ...) */
	struct inet_addr pe, peer;  /* mvpnFaultPe, mvpnFaultPeer: type 0 where none */
	uint32_t loss_ppm, low_ppm, high_ppm, echo_loss_ppm, pairs;
	int64_t shift_us;
	uint64_t since_ns;          /* mvpnFaultSinceDate: when it was first located */
};

struct hist_config {
	uint8_t ok; /* 0: refused, the old configuration stays */
	uint32_t vpns, added, removed, changed;
};

struct hist_pair_window { /* VMScope's per-pair record, once per pair window */
	uint32_t vpn_index;
	struct inet_addr src, dst;
	uint32_t sent, received, lost;
	uint32_t delay_min_us, delay_avg_us, delay_p99_us, jitter_us; /* corrected one-way */
	uint8_t status; /* enum pair_status at the window's end */
};

/* Checkpoint rows: the identity and state columns of the tables, not their
 * counters.  Upstream C-group->PE rows are not stored: they follow from the
 * downstream rows (one per (flow, kind, upstream PE), joiners = their count). */
struct hist_vpn_row {
	uint32_t index;
	char name[65];
	struct inet_addr default_mdt;
	uint32_t n_expected; /* the expected PEs are hist_pe_rows with expected = 1 */
};

struct hist_pe_row {
	uint32_t vpn_index;
	struct inet_addr addr;
	uint8_t expected;
	struct change_pe_value value; /* present 0: expected, never seen */
	uint64_t first_seen_ns;       /* 0: never */
};

struct hist_cgpe_row {
	uint32_t vpn_index;
	struct inet_addr c_source, c_group, pe;
	struct change_row_value value;
};

struct hist_flow_row { /* flows on a data MDT */
	uint32_t vpn_index;
	struct inet_addr c_source, c_group;
	struct change_flow_value value;
};

struct hist_checkpoint {
	uint64_t last_change_seq; /* every change up to it (hist_record.seq) is in this state */
	/* Read back (hist_store_state_at): the time of the newest record in this
	 * state, the checkpoint's own or a change's; not stored in the body. */
	uint64_t when_ns;
	size_t n_vpns, n_pes, n_cgpes, n_flows;
	struct hist_vpn_row *vpns; /* all four arrays owned, one malloc each */
	struct hist_pe_row *pes;
	struct hist_cgpe_row *cgpes;
	struct hist_flow_row *flows;
};

struct hist_record {
	uint8_t type; /* enum hist_record_type */
	uint64_t when_ns;
	/* HIST_CHANGE: the change's place in the monitor's lifetime history, from
	 * 1, never reused across restarts (mvpnChangeIndex is its low 32 bits and
	 * wraps, RFC 2578 Unsigned32); the key of a change in the store. */
	uint64_t seq;
	union {
		struct change change; /* its `when` is model time; when_ns is what is stored */
		struct hist_alarm alarm;
		struct hist_config config;
		struct hist_pair_window pair;
		struct hist_fault fault;
		struct hist_checkpoint *checkpoint; /* owned by the record once put */
	} u;
};

void hist_checkpoint_free(struct hist_checkpoint *cp);

#endif
