/*
 * The active engine (VMScope, section 3): user-space GRE tunnels from the
 * monitor to the PEs, IGMP membership for each probed VPN's default MDT
 * through every receiver PE's tunnel, sequenced timestamped UDP probes
 * through every sender PE's tunnel, ICMP echoes through each tunnel for the
 * correction.  Sends with a raw IPv4 socket (IP_HDRINCL); receives with
 * libpcap on the probe interface behind a BPF filter that keeps only GRE from
 * the tunnel end points carrying probes, echo replies or IGMP queries.
 *
 * It writes results into the model (mib/probing.h) and never calls net-snmp.
 * Single-threaded: the daemon's loop calls prober_read when prober_fd is
 * readable and prober_run when prober_next_deadline has come.
 */
#ifndef MVPN_PROBE_ENGINE_H
#define MVPN_PROBE_ENGINE_H

#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>

#include "../mib/addr.h"
#include "../mib/clock.h"
#include "../mib/model.h"

/* Values of mvpnProbeTxTimestamping. */
enum tx_stamping { TX_STAMP_NONE = 1, TX_STAMP_KERNEL = 2, TX_STAMP_USER = 3 };

/* What the engine is told to do: the probed VPNs and the global settings. */
struct prober_vpn {
	uint32_t vpn_index;
	struct inet_addr group;  /* the default MDT */
	struct probe_settings s; /* senders/receivers: the caller's arrays, copied */
};

struct prober_plan {
	struct inet_addr local;
	const char *interface;
	struct probe_timing timing;
	mtime_t echo_interval;
	mtime_t report_interval;
	const struct prober_vpn *vpns;
	size_t n_vpns;
	/* Tunnel end point of a PE. */
	struct inet_addr (*remote_of)(const void *arg, const struct inet_addr *pe);
	const void *remote_arg;
};

struct ptunnel;
struct pvpn;

struct prober {
	struct model *m;
	pcap_t *pcap;
	char *filter;              /* the BPF text installed on pcap; owned */
	int raw_fd;     /* sends */
	int sink_fd;    /* a raw GRE socket that drops everything: no ICMP unreachables */
	int dlt;
	char interface[64];
	struct inet_addr local;
	enum tx_stamping stamping;
	bool kernel_stamps_seen;
	uint16_t ip_id, echo_ident;
	uint64_t rng;
	mtime_t echo_interval, report_interval;
	mtime_t next_tick; /* of probing_tick */
	struct ptunnel *tunnels; /* sorted by pe; owned */
	size_t n_tunnels;
	struct pvpn *vpns;       /* sorted by index; owned */
	size_t n_vpns;
	/* Sends awaiting their kernel stamp, by the socket's OPT_ID counter. */
	uint32_t tx_counter;
	struct tx_pending {
		uint32_t id;
		bool used, echo;
		uint32_t vpn_index;
		size_t sender;   /* probes: sender position in the VPN's pes */
		uint64_t seq;    /* probe sequence or echo sequence */
		struct inet_addr pe; /* echoes: the tunnel's PE */
	} pending[1024];
	uint64_t send_errors, frames, tx_stamps;
	char error[PCAP_ERRBUF_SIZE + 128];
};

/* Opens the sockets and the capture; the caller keeps ownership of p.
 * Returns -1 with p->error set. */
int prober_open(struct prober *p, struct model *m, const char *interface,
		const struct inet_addr *local);
/* (Re)plans: starts what is new, stops what is gone (IGMP leaves), keeps the rest. */
int prober_configure(struct prober *p, const struct prober_plan *plan);
void prober_close(struct prober *p); /* leaves every group first */

int prober_fd(const struct prober *p);
/* Reads what came back (and the kernel's send stamps). */
void prober_read(struct prober *p);
/* Sends what is due; returns when the next thing is due (MTIME_NEVER if nothing). */
mtime_t prober_run(struct prober *p, mtime_t now);
int prober_errqueue_fd(const struct prober *p);
void prober_read_stamps(struct prober *p);

#endif
