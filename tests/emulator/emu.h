/* The emulator's one context, passed explicitly to everything that routes. */
#ifndef EMU_EMU_H
#define EMU_EMU_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "log.h"
#include "rng.h"
#include "sched.h"
#include "stats.h"
#include "tunnel.h"
#include "wire.h"

#define MAX_PACKET 65535

struct emu {
	struct config *conf;
	struct tunnel_table tunnels; /* parallel to conf->pes */
	struct stats stats;
	struct scheduler sched;
	struct log log;
	struct rng rng;
	int gre_fd;                  /* raw IPPROTO_GRE: every GRE packet to a local address */
	int send_fd;                 /* raw IPPROTO_RAW: we write the outer header */
	uint16_t next_ident;         /* IPv4 identification of what we originate */
	int64_t next_query_ns;       /* CLOCK_MONOTONIC; 0 = no queries */
	uint32_t rx_dropped;         /* the socket's overflow counter, as last seen */
	int realtime;                /* running with SCHED_FIFO */
};

/* ingress.c: a GRE packet as the raw socket gave it (outer IPv4 header first). */
void route_gre(struct emu *e, const uint8_t *p, size_t len, int64_t arrival_ns);

/* router.c: what a PE does with a valid inner packet from its tunnel. */
void route_inner(struct emu *e, size_t pe, const struct ipv4_view *outer,
		 const struct ipv4_view *inner, int64_t arrival_ns);
void log_bad(struct emu *e, const char *why, uint32_t src, uint32_t pe);

/* output.c: the only way out.  An output scheduled at at_ns leaves at
 * at_ns + SCHED_FIXED_LATENCY_NS. */
int output_schedule(struct emu *e, int64_t at_ns, size_t pe, const struct output_note *note,
		    const uint8_t *inner, size_t inner_len);
void output_send_due(struct emu *e);
void output_queries(struct emu *e);
/* At exit: logs what still waits as "unsent" and frees it. */
void output_abandon_pending(struct emu *e);

#endif
