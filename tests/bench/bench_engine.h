/*
 * What the bench programs that link the engines share (bench.h is for every
 * bench program, the generators too, and holds no engine types): a silent log,
 * the configuration's defaults as daemon.c applies them, an IPv4 address from
 * a number, and the libpcap-alone counter the replay references use.
 */
#ifndef MVPN_BENCH_ENGINE_H
#define MVPN_BENCH_ENGINE_H

#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdint.h>

#include "../../mib/log.h"
#include "../../mib/model.h"

/* The engines log every change; a benchmark measures them, not syslog. */
static inline void bench_quiet(int priority, const char *fmt, va_list ap)
{
	(void)priority, (void)fmt, (void)ap;
}

/* agent/config.c's defaults, as settings_from_config applies them. */
static inline struct model_settings bench_default_settings(void)
{
	return (struct model_settings){.startup_grace = 105 * MTIME_SEC,
				       .max_pes_per_vpn = 1000,
				       .max_cgroups_per_vpn = 100000,
				       .max_data_mdts_per_vpn = 10000,
				       .notify_rate_limit = 10,
				       .notify_rate_interval = 60,
				       .pe_check_interval = 10 * MTIME_SEC};
}

static inline struct inet_addr bench_v4(uint32_t a)
{
	uint8_t b[4] = {(uint8_t)(a >> 24), (uint8_t)(a >> 16), (uint8_t)(a >> 8), (uint8_t)a};
	struct inet_addr out;

	inet_addr_v4(&out, b);
	return out;
}

/* pcap_dispatch callback: sum[0] frames, sum[1] bytes captured. */
static inline void bench_count_frame(u_char *user, const struct pcap_pkthdr *h,
				     const u_char *bytes)
{
	uint64_t *sum = (uint64_t *)user;

	(void)bytes;
	sum[0]++;
	sum[1] += h->caplen;
}

#endif
