/*
 * Live capture's multicast memberships: the default MDTs joined on the
 * capture interface, so that the provider network delivers them.  A
 * configuration change touches only the groups that changed: a reload of the
 * same file makes no membership call, and 10 % of 100,000 VPNs changed makes
 * 20,000, not 200,000.  Never calls net-snmp; logs through mvpn_log.
 */
#ifndef MVPN_JOINS_H
#define MVPN_JOINS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../mib/addr.h"

/*
 * Linux lets one socket hold igmp_max_memberships (20 by default) IPv4
 * groups, so every socket holds at most this many groups of either family.
 */
#define JOINS_PER_SOCKET 20

struct join_stats {
	uint64_t joined;      /* memberships added, since start */
	uint64_t left;        /* memberships dropped, since start */
	size_t held;          /* groups held now */
	size_t sockets;       /* sockets holding them */
	size_t not_joined;    /* wanted by the last sync and not held (each logged) */
};

struct join_socket;

/* The latest change asked for and not yet made (joins_request). */
struct join_request {
	struct inet_addr *groups; /* owned */
	size_t n;
	unsigned if_index;
	bool fresh;               /* drop every membership first */
	char ifname[64];
};

struct joins {
	struct join_socket *socks; /* owned; the worker's while it runs */
	size_t n_socks;
	unsigned if_index;         /* where the memberships are */
	struct join_stats stats;
	/* The worker: started by the first joins_request, after any fork. */
	bool started, stop, has_request;
	struct join_request request;
	uint64_t requested, done;  /* requests made, and synced */
	pthread_t thread;
	pthread_mutex_t mutex;
	pthread_cond_t cond;
};

/*
 * Makes the memberships on interface if_index (named ifname, for the log)
 * exactly the n groups at first, first + stride bytes, ... (duplicates
 * allowed; stride lets a caller pass a member of its own array): leaves those held and not
 * wanted, then joins those wanted and not held, into sockets with a free
 * slot, opening one only when every socket is full.  A group that cannot be
 * joined is logged and counted (stats.not_joined) and tried again at the
 * next sync.  If if_index is not the one the memberships were made on, they
 * are all dropped first.
 */
void joins_sync(struct joins *j, unsigned if_index, const char *ifname,
		const struct inet_addr *first, size_t n, size_t stride);
/*
 * The same, done on a thread of its own: each membership call walks the
 * device's whole group list in the kernel (10 % of 10,000 groups changed:
 * 0.1 s), and the caller holds the model.  Copies the groups and returns;
 * a request not yet started is replaced by a newer one.  fresh: drop every
 * membership first (the capture resumed on an interface that went away).
 * Falls back to joins_sync when no thread can be started.
 */
void joins_request(struct joins *j, unsigned if_index, const char *ifname,
		   const struct inet_addr *first, size_t n, size_t stride, bool fresh);
/* Waits until every request made so far is done (tests, benchmarks). */
void joins_wait(struct joins *j);
/* Stops the worker, then closes every socket, which drops every membership. */
void joins_clear(struct joins *j);

#endif
