/*
 * mvpnmond's configuration file (libconfuse).  config_load() parses and checks
 * the whole file into a fresh struct config, or fails with messages that name
 * file:line; the caller swaps it in only on success, so a bad reload changes nothing.
 */
#ifndef MVPN_CONFIG_H
#define MVPN_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "../mib/addr.h"
#include "../mib/model.h"

/* sysexits.h EX_CONFIG: what init systems and the tests expect on a bad file. */
#define EXIT_CONFIG 78

struct vpn_config {
	uint32_t index;
	char name[VPN_NAME_MAX + 1];
	struct inet_addr default_mdt;
	struct inet_addr *expected_pes; /* owned */
	size_t n_expected;
};

struct config {
	char *agentx_socket;     /* NULL: net-snmp's default */
	unsigned agentx_ping_interval; /* seconds; 0 turns reconnection off */
	char *capture_interface; /* NULL unless set */
	char *capture_file;      /* NULL unless set */
	unsigned startup_grace;  /* seconds */
	unsigned change_log_size;
	unsigned max_pes_per_vpn;
	unsigned max_cgroups_per_vpn;
	unsigned max_data_mdts_per_vpn;
	unsigned notify_rate_limit;
	unsigned notify_rate_interval;
	struct vpn_config *vpns; /* sorted by index, owned */
	size_t n_vpns;
};

/* Returns NULL after logging every problem found as "file:line: what". */
struct config *config_load(const char *path);
void config_free(struct config *c);

#endif
