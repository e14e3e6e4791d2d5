/*
 * mvpnmon report's page: one self-contained HTML file (inline CSS and SVG,
 * no script, nothing fetched).  Every figure it draws is also in data-*
 * attributes of the element that draws it, in the units the store keeps
 * (ns, ppm, us), so that a reader can check the page against the store:
 *   lane segments  data-pe data-status data-from-ns data-to-ns
 *   matrix cells   data-src data-dst data-windows data-sent data-received
 *                  data-lost data-loss-ppm data-delay-us data-jitter-us
 *   chart points   data-t-ns data-windows data-sent data-lost data-received
 *                  and data-loss-ppm, data-delay-us or data-jitter-us
 * (a value that cannot be computed, nothing sent or nothing received, is
 * absent rather than 0).
 */
#ifndef MVPN_CLIENT_REPORT_HTML_H
#define MVPN_CLIENT_REPORT_HTML_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "report_data.h"

/* Pair charts drawn at most; the worst pairs when there are more. */
#define RP_MAX_SERIES 36

/* One monitor's view of the VPN over the period. */
struct rp_section {
	const char *monitor;
	uint32_t vpn_index;
	char vpn_name[65];
	struct rp_timeline tl;
	struct rp_pairs pairs;
	uint64_t *loads; /* configuration loads in the period (owned) */
	size_t n_loads;
};

struct rp_page {
	const char *vpn; /* as asked */
	uint64_t since_ns, until_ns, made_ns;
	bool utc;
	struct rp_section *sections;
	size_t n;
};

/* 0, or -1 when the output failed. */
int report_html(FILE *out, const struct rp_page *pg);

#endif
