/*
 * mvpnmond's configuration file (syntax: config_text.h).  config_load() parses
 * and checks the whole file into a fresh struct config, or fails with a message
 * that names file:line; the caller swaps it in only on success, so a bad reload
 * changes nothing.  Loading takes time linear in the file's size (plus sorting
 * the VPNs), touches no global state and calls nothing of net-snmp: it may run
 * on a thread of its own.  Its one message goes through mvpn_log(), whose sink
 * must then be safe to call from that thread.
 */
#ifndef MVPN_CONFIG_H
#define MVPN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../mib/addr.h"
#include "../mib/model.h"

/* sysexits.h EX_CONFIG: what init systems and the tests expect on a bad file. */
#define EXIT_CONFIG 78

/* A VPN's `probe { ... }` section (VMScope-style active probing). */
struct probe_config {
	bool enabled;
	unsigned rate;         /* probes per second per sender */
	unsigned size;         /* UDP payload bytes */
	unsigned window;       /* seconds */
	unsigned port;
	unsigned igmp_version; /* 2 or 3 */
	struct inet_addr *senders, *receivers; /* sorted, owned; default: expected-pes */
	size_t n_senders, n_receivers;
};

/*
 * A VPN's name is UTF-8 of 1 to VPN_NAME_MAX bytes (mvpnVpnName is an
 * SnmpAdminString (SIZE (1..64)), and SIZE counts octets), with no control
 * character (C0, DEL, C1) and no quote.
 */
struct vpn_config {
	uint32_t index;
	int line; /* where its section opens, for messages */
	char name[VPN_NAME_MAX + 1];
	struct inet_addr default_mdt;
	struct inet_addr *expected_pes; /* owned */
	size_t n_expected;
	bool expect_bgp; /* expected-pes = bgp (then expected_pes is empty) */
	/* rds = { ... }: a VPN signalled by BGP (RFC 6514), known by the Route
	 * Distinguishers of its PEs' routes (each 8 bytes read as one big-endian
	 * number, as bgp/bgp.h's bgp_rd); sorted, owned.  Then no default MDT. */
	uint64_t *rds;
	size_t n_rds;
	struct probe_config probe;
	struct thresholds thresholds; /* its own, over the global defaults; ppm and us */
};

/* A `tunnel "PE" { remote = ... }` section: where the PE's GRE end point is. */
struct tunnel_config {
	struct inet_addr pe, remote;
	int line; /* where its section opens */
};

/* A `pe "ADDR" { name = "..." }` section: what the operator calls the PE.
 * Its name follows the rules of a VPN's (1 to PE_NAME_MAX bytes). */
struct pe_config {
	struct inet_addr addr;
	char name[PE_NAME_MAX + 1];
	int line; /* where its section opens */
};

/* The history store (issue 13): absent unless a history section is given. */
struct history_config {
	bool enabled;
	char *file;     /* SQLite: the database's path; NULL with postgres */
	char *postgres; /* PostgreSQL: a libpq conninfo; NULL with file */
	char *monitor;  /* the name this monitor writes under; default: the host's name */
	unsigned flush_interval_ms;
	unsigned queue;      /* records waiting at most */
	unsigned batch;      /* records in one transaction at most */
	unsigned checkpoint_interval; /* seconds of model time */
	unsigned retain_days;         /* 0: by age, never */
	unsigned retain_mb;           /* 0: no size limit */
};

/* An address prefix of the bmp section's allow list. */
struct addr_prefix {
	struct inet_addr addr; /* host bits zero */
	uint8_t len;           /* bits: 0..32 or 0..128 */
};

/* The BMP collector (RFC 7854): absent unless a bmp section is given. */
struct bmp_config {
	bool enabled;
	int line; /* where the section opens */
	struct inet_addr listen;  /* the address to bind (IPv4 or IPv6) */
	unsigned port;
	struct addr_prefix *allow; /* owned; a router from elsewhere is refused */
	size_t n_allow;
	unsigned max_routes_per_router;
	unsigned max_routers;
	unsigned max_peers_per_router;
	unsigned settle; /* seconds BGP's word on a PE must hold before it is judged */
	bool discover;   /* default MDTs learned from BGP become VPN rows */
	unsigned max_discovered_vpns;
};

/* Is a in one of the bmp section's allow prefixes?  O(prefixes). */
bool config_bmp_allowed(const struct bmp_config *b, const struct inet_addr *a);

struct config {
	char *agentx_socket;     /* NULL: net-snmp's default */
	char *user;              /* run as this user once started; NULL: stay as started */
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
	unsigned pe_check_interval; /* seconds */
	struct vpn_config *vpns; /* sorted by index, owned */
	size_t n_vpns;
	/* Active probing, shared by every probed VPN. */
	char *probe_interface;        /* where the tunnels' packets come back; NULL unless set */
	struct inet_addr probe_local; /* the monitor's tunnel address; unknown unless set */
	unsigned probe_loss_timeout;  /* seconds */
	unsigned probe_unreachable_time; /* seconds */
	unsigned echo_interval_ms;
	unsigned igmp_report_interval; /* seconds: unsolicited refresh when no query comes */
	struct tunnel_config *tunnels; /* sorted by pe, owned */
	size_t n_tunnels;
	struct pe_config *pes; /* sorted by addr, owned */
	size_t n_pes;
	struct history_config history;
	struct bmp_config bmp;
};

/* The tunnel end point of a PE: its tunnel section's remote, else its own
 * address.  O(log tunnels). */
struct inet_addr config_tunnel_remote(const struct config *c, const struct inet_addr *pe);

/* Returns NULL after logging the first problem found as "file:line: what". */
struct config *config_load(const char *path);
/* The same from text in memory (len bytes, NUL-terminated or not); name
 * stands for the file in messages. */
struct config *config_load_text(const char *name, const char *text, size_t len);
void config_free(struct config *c);

#endif
