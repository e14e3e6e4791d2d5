/*
 * The probe benchmark's plan, shared by the generator (what it writes) and
 * the bench (what it tells the model was sent): VPNs of PEs probing in a full
 * mesh, each sender's probes leaving on a fixed schedule and coming back
 * through every other PE's tunnel 1 ms later.
 */
#ifndef MVPN_BENCH_PROBE_PLAN_H
#define MVPN_BENCH_PROBE_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#define PROBE_PLAN_T0_NS (1767225600ull * 1000000000u)
#define PROBE_PLAN_PORT 5010
#define PROBE_PLAN_SIZE 64         /* UDP payload bytes: the configuration's default */
#define PROBE_PLAN_FLIGHT_NS 1000000u /* 1 ms out and back */

struct probe_plan {
	uint32_t vpns, pes, rate; /* rate: probes a second per sender */
};

static inline bool probe_plan_valid(const struct probe_plan *pp)
{
	return pp->vpns >= 1 && pp->vpns <= 255 && pp->pes >= 2 && pp->pes <= 254 &&
	       pp->rate >= 1 && pp->rate <= 10000;
}

/* PE k of VPN v (both 0-based): 198.19.v.(k+1), inside 198.18.0.0/15. */
static inline uint32_t probe_plan_pe(uint32_t v, uint32_t k)
{
	return 0xc6130000u + (v << 8) + k + 1;
}

/* Senders take turns within each interval: sender k of VPN v, probe seq (from 1). */
static inline uint64_t probe_slot_ns(const struct probe_plan *pp)
{
	return 1000000000ull / pp->rate / ((uint64_t)pp->vpns * pp->pes);
}

static inline uint64_t probe_send_ns(const struct probe_plan *pp, uint32_t v, uint32_t k,
				     uint64_t seq)
{
	uint64_t who = (uint64_t)v * pp->pes + k;
	return PROBE_PLAN_T0_NS + (seq - 1) * (1000000000ull / pp->rate) + who * probe_slot_ns(pp);
}

/* Copies arrive in receiver order, all before the next slot's first copy. */
static inline uint64_t probe_arrival_ns(const struct probe_plan *pp, uint32_t v, uint32_t k,
					uint32_t j, uint64_t seq)
{
	return probe_send_ns(pp, v, k, seq) + PROBE_PLAN_FLIGHT_NS +
	       (j + 1) * probe_slot_ns(pp) / (pp->pes + 1);
}

#endif
