/*
 * What active probing knows (VMScope, section 3): the tunnels to the PEs and,
 * per probed VPN, every ordered pair (source PE, destination PE) with its
 * loss, duplicates, reordering and one-way delay.  Pure accounting: the probe
 * engine (probe/) tells it what was sent and what came back, with the
 * kernel's timestamps; the agent reads it.  No I/O, no net-snmp.
 *
 * Times: `now`/`at` arguments are the model clock (mtime_t); the *_wall_ns
 * arguments are the kernel's CLOCK_REALTIME stamps of the packets (send and
 * receive stamps come from the same clock, so no synchronisation is needed:
 * the monitor both sends and receives).
 *
 * Ownership: the model owns the tunnel table; a vpn owns its vpn_probe, which
 * owns its pairs and streams.
 */
#ifndef MVPN_PROBING_H
#define MVPN_PROBING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "alarms.h"
#include "clock.h"
#include "delaystats.h"
#include "faultloc.h"
#include "oidx.h"
#include "tomography.h"

struct model;
struct vpn;

/* Values of mvpnTunnelStatus and mvpnPairStatus. */
enum tunnel_status { TUNNEL_STARTING = 1, TUNNEL_UP = 2, TUNNEL_UNREACHABLE = 3 };
enum pair_status {
	PAIR_STARTING = 1,
	PAIR_OK = 2,
	PAIR_LOSS_ALARM = 3,
	PAIR_DELAY_ALARM = 4,
	PAIR_JITTER_ALARM = 5,
	PAIR_UNREACHABLE = 6,
};

/* Settings shared by every probed VPN (from the global configuration). */
struct probe_timing {
	mtime_t loss_timeout;     /* a probe or echo not back after this is lost */
	mtime_t unreachable_time; /* nothing back for this long: unreachable */
};

/* Decided outcomes (arrived / lost) over a sliding time window, for loss ratios. */
struct outcome_window {
	mtime_t span;
	struct outcome {
		mtime_t at;
		bool received;
	} *ring;
	size_t cap, head, len;
	uint32_t n_received;
};

/* Parts per million of the window's decided outcomes that were lost. */
uint32_t outcome_loss_ppm(const struct outcome_window *w);

/* ---- tunnels: one per PE probed in any VPN ---- */

#define ECHO_SLOTS 256 /* echoes in flight per tunnel, by 16-bit sequence */

struct tunnel {
	struct inet_addr pe;     /* index: the PE's provider address */
	struct inet_addr local;  /* the monitor */
	struct inet_addr remote; /* the PE's tunnel end point */
	enum tunnel_status status;
	uint32_t n_vpns;
	uint64_t echo_sent, echo_received, changes;
	mtime_t created, last_reply; /* last_reply 0: never */
	struct echo_slot {
		uint16_t seq;
		bool pending;
		mtime_t sent_at;
		int64_t tx_wall_ns;
	} echo[ECHO_SLOTS];
	struct outcome_window outcomes; /* echoes decided within the window */
	struct delay_window rtt;        /* round trips within the window */
	struct delay_total rtt_total;   /* since start */
	bool in_use;                    /* mark for probing_sync_tunnels */
};

struct tunnel_table {
	struct tunnel **v; /* sorted by pe */
	size_t n, cap;
};

/* ---- per-VPN probing: streams (one per sender) and pairs ---- */

struct probe_settings {
	uint32_t rate;       /* probes per second per sender */
	uint32_t size;       /* UDP payload bytes */
	uint32_t window;     /* seconds */
	uint16_t port;
	uint8_t igmp_version;
	const struct inet_addr *senders, *receivers; /* sorted, unique */
	size_t n_senders, n_receivers;
};

/* What the sender side remembers of each probe in flight. */
struct probe_stream {
	uint64_t next_seq;   /* the first probe is 1 */
	uint64_t undecided;  /* oldest sequence whose fate is not yet decided */
	uint64_t sent;
	size_t cap;          /* power of two */
	struct tx_slot {
		uint64_t seq;
		mtime_t sent_at;
		int64_t tx_wall_ns;
	} *ring;
};

/* Figures of a pair as the agent shows them, computed at most once a second. */
struct pair_figures {
	mtime_t computed_at;
	struct delay_summary window, total;
	bool have_correction, have_total_correction;
	int64_t correction_ns, total_correction_ns; /* subtracted from raw delays */
	uint32_t loss_ppm, corr_loss_ppm;
	uint32_t window_sent, window_received;
};

struct pair {
	uint32_t vpn_index;
	struct inet_addr src, dst;
	enum pair_status status;
	uint64_t sent, received, lost, duplicates, reordered, late, changes;
	uint64_t highest_seq; /* highest sequence received */
	mtime_t created, last_rx, last_update;
	uint64_t *rx_bits; /* received flags, aligned with the sender stream's ring */
	struct outcome_window outcomes;
	struct delay_window delays;
	struct delay_total total;
	struct pair_figures fig;
	uint32_t alarm_index[METRICS]; /* raised threshold alarms; 0: armed for rising */
};

enum pe_role { ROLE_SENDER = 1, ROLE_RECEIVER = 2 };

struct vpn_probe {
	uint32_t vpn_index;
	struct probe_settings cfg;      /* senders/receivers point into pes */
	struct inet_addr *pes;          /* union of senders and receivers, sorted; owned */
	uint8_t *roles;                 /* enum pe_role bits, per pe */
	size_t n;
	struct probe_stream *streams;   /* per pe (used for senders) */
	struct pair **pairs;            /* n x n, row = source; NULL where no pair */
	uint64_t sent;
	mtime_t started;
	/* Where the losses are (mib/tomography.h) and which components are at
	 * fault (mib/faultloc.h), judged with the thresholds (mib/locate.c).
	 * tomo NULL: no tomography (out of memory, or no window). */
	struct tomo *tomo;
	uint64_t *rx;                   /* tomo_rx_words(): receptions of the probe deciding */
	const struct tomo_result *estimates; /* the last tomo_estimate(); NULL: none yet */
	uint64_t estimated_block;       /* the tomography block it was made in */
	struct faultloc faults;         /* the last run's located faults */
};

/* Results of probing_rx, counted by the engine. */
enum probe_rx_result {
	PROBE_RX_OK,
	PROBE_RX_DUPLICATE,
	PROBE_RX_LATE,          /* after its loss timeout: already counted lost */
	PROBE_RX_UNKNOWN_VPN,
	PROBE_RX_UNKNOWN_SENDER,
	PROBE_RX_UNKNOWN_RECEIVER,
	PROBE_RX_OUT_OF_WINDOW, /* a sequence never sent, or too old to judge */
};

struct probing {
	struct tunnel_table tunnels;
	struct probe_timing timing;
	int64_t *scratch;  /* for window percentiles, sized by every window made; owned */
	size_t scratch_len;
	uint64_t rx_result[PROBE_RX_OUT_OF_WINDOW + 1];
	uint64_t tx_total, rx_malformed, rx_other;
};

void probing_init(struct probing *p);
void probing_free(struct probing *p);

/* Tunnels: mark all unused, ensure each wanted one, then drop the unmarked.
 * A tunnel that stays keeps its counters. */
void probing_tunnels_begin(struct probing *p);
struct tunnel *probing_tunnel_want(struct probing *p, const struct inet_addr *pe,
				   const struct inet_addr *local, const struct inet_addr *remote,
				   mtime_t window, mtime_t now);
void probing_tunnels_end(struct probing *p);
struct tunnel *tunnel_find(const struct tunnel_table *t, const struct inet_addr *pe);
/* The exact figures of a pair's or tunnel's delay window, through the shared
 * scratch; false (and a zero summary) only if the window outgrew it. */
bool probing_window_summary(const struct probing *p, const struct delay_window *w,
			    struct delay_summary *out);

/* Echoes through a tunnel. */
void tunnel_echo_sent(struct tunnel *t, uint16_t seq, mtime_t now, int64_t tx_wall_ns);
void tunnel_echo_stamp(struct tunnel *t, uint16_t seq, int64_t tx_wall_ns);
/* False when no echo of that sequence is in flight (a stray or late reply). */
bool tunnel_echo_reply(struct tunnel *t, uint16_t seq, int64_t rx_wall_ns, mtime_t now);

/* (Re)configures a VPN's probing; pairs and streams that stay keep their
 * state.  settings->senders/receivers are copied.  Returns false when out of
 * memory (the old state is kept then).  NULL settings: probing off. */
bool vpn_probe_configure(struct model *m, struct vpn *v, const struct probe_settings *settings,
			 mtime_t now);
void vpn_probe_free(struct vpn_probe *vp);
/* v's probing stops (its VPN is going, or its probe section is): its
 * published faults are announced cleared, then it is freed. */
void vpn_probe_stop(struct model *m, struct vpn *v);
/* True when the two layouts have the same PEs, roles and window: the
 * tomography and located faults carry over a reconfiguration. */
bool vpn_probe_same_layout(const struct vpn_probe *a, const struct vpn_probe *b);
/* Position of pe in vp->pes, or -1. */
long vpn_probe_pe_index(const struct vpn_probe *vp, const struct inet_addr *pe);

/* A probe of sender i is about to leave: returns its sequence number. */
uint64_t probing_tx(struct probing *p, struct vpn_probe *vp, size_t sender, mtime_t now,
		    int64_t tx_wall_ns);
/* The probe really left at sent_at (monotonic): its loss timeout counts from
 * then, not from when its sequence was taken, so a stall of the sender between
 * the two is not taken for loss. */
void probing_tx_sent(struct vpn_probe *vp, size_t sender, uint64_t seq, mtime_t sent_at);
/* The kernel's send stamp, when it arrives after the send. */
void probing_tx_stamp(struct vpn_probe *vp, size_t sender, uint64_t seq, int64_t tx_wall_ns);
/* A probe came back through receiver's tunnel. */
enum probe_rx_result probing_rx(struct probing *p, struct model *m, uint32_t vpn_index,
				const struct inet_addr *sender, uint64_t seq,
				const struct inet_addr *receiver, int64_t rx_wall_ns, mtime_t now);

/* Once in a while (at least once a second): decides losses, expires windows,
 * updates statuses (logging changes to the change table). */
void probing_tick(struct probing *p, struct model *m, mtime_t now);

/* Sets the pair's status from its reachability and its raised alarms
 * (unreachable, then loss, delay, jitter), logging a change. */
void pair_update_status(struct probing *p, struct model *m, struct pair *pr, mtime_t now);
/* True once the pair's window has filled: from then on its figures are judged. */
bool pair_window_full(const struct probing *p, const struct pair *pr, mtime_t now);

/* The agent's figures of a pair, recomputed if older than a second. */
const struct pair_figures *pair_figures(struct probing *p, struct pair *pr, mtime_t now);

/* SNMP views. */
void tunnel_oidx(const struct tunnel *t, struct oidx *out);
const struct tunnel *tunnel_seek(const struct tunnel_table *t, const uint32_t *want, size_t wlen,
				 bool after);
void pair_oidx(const struct pair *pr, struct oidx *out); /* without the VPN index */
const struct pair *pair_seek(const struct vpn_probe *vp, const uint32_t *want, size_t wlen,
			     bool after);

/* The MIB's enum labels (mvpnPairStatus, mvpnTunnelStatus); "" for 0. */
const char *pair_status_name(uint8_t status);
const char *tunnel_status_name(uint8_t status);

#endif
