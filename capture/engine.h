/*
 * The passive engine: reads the default MDTs (live from an interface, or a
 * capture file whose timestamps then drive the model's clock), lets the kernel's
 * BPF keep everything but GRE to configured MDT groups out of user space,
 * decapsulates, discards customer data unread, and turns C-PIM and MDT Join TLVs
 * into model events.  It never calls net-snmp; the agent drives it from its loop.
 */
#ifndef MVPN_ENGINE_H
#define MVPN_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include <pcap/pcap.h>

#include "../mib/model.h"
#include "joins.h"
#include "parse.h"
#include "reasm.h"

struct mdt_route {
	struct inet_addr group;
	uint32_t vpn_index;
	struct vpn *vpn; /* valid until the next capture_configure, which every change
			  * of the model's VPNs must be followed by */
};

struct capture {
	struct model *model;   /* not owned */
	pcap_t *pcap;
	int dlt;
	bool offline;
	bool finished;         /* offline: the whole file has been read */
	char source[256];      /* interface name or file path */
	char *file_buf;        /* offline: stdio's buffer for the file */
	struct feed *feed;     /* offline, a FIFO or a pipe: read on a thread (feed.h) */
	struct mdt_route *routes; /* the outer destination -> VPN, in the VPNs' order */
	size_t n_routes;
	uint32_t *route_slots;    /* hash of the groups: route position + 1, or 0 */
	size_t route_mask;        /* slots - 1 (a power of two) */
	struct joins joins;    /* live: our IGMP/MLD memberships (joins.h) */
	bool joins_async;      /* changed on the joins' thread: once the capture is open */
	bool joins_fresh;      /* the next configure drops them all first (resumed) */
	unsigned if_index;
	struct reasm reasm;    /* outer fragments of configured MDTs; set up at the first */
	uint64_t parse_errors[PARSE_ERROR_COUNT];
	uint64_t packets_read;
	/* Offline: records dated before resume_after are what the history store
	 * already holds from an earlier run of this replay; they are skipped
	 * (counted in `resumed`), the restored state standing for them. */
	mtime_t resume_after;
	uint64_t resumed;
	uint64_t drops_before;  /* kernel drops counted by handles closed since */
	char error[PCAP_ERRBUF_SIZE + 128];
};

/* Both fill c->error and return -1 on failure. */
int capture_open_file(struct capture *c, struct model *m, const char *path);
int capture_open_live(struct capture *c, struct model *m, const char *ifname);
/* After every configuration change: rebuilds the MDT routes, the BPF filter and
 * (live) the group memberships. */
int capture_configure(struct capture *c);
/* The descriptor to wait on: live, the capture's; a file read through a feed
 * (a FIFO, a pipe), readable when records came; -1 for a regular file. */
int capture_fd(const struct capture *c);
/* A file not finished that capture_read can take from now without waiting:
 * a regular file always, a feed when its thread has read something. */
bool capture_ready(struct capture *c);
/*
 * Reads up to max packets (offline) or what is waiting (live); -1 on error.
 * Offline, 0 is the end of the file (c->finished) or, through a feed, nothing
 * read yet.  A FIFO's or a pipe's records are read on a thread of its own,
 * which starts at the first call (so after any fork), and this never waits
 * for its writer: the caller may hold the model.
 */
int capture_read(struct capture *c, int max);
/*
 * Live, when reading fails (the interface was deleted or went down): closes
 * the handle and marks the capture failed; the routes stay.  capture_resume
 * then tries to open it again (-1 and c->error while it cannot); on success
 * the capture runs again with its filter and memberships, and the model counts
 * a capture restart.
 */
void capture_suspend(struct capture *c);
int capture_resume(struct capture *c);
bool capture_suspended(const struct capture *c);
void capture_close(struct capture *c);
/* Live: copies the capture layer's own drop count into the model. */
void capture_update_stats(struct capture *c);

/* The text of the configured groups' filter (malloc'd; NULL when out of memory).
 * The program installed runs it, then, where it rejects, "any GRE" cut to 96
 * bytes.  Exposed so a benchmark can give the same filter to tcpdump. */
char *capture_filter_text(const struct capture *c);
/* The "any GRE" filter for link type dlt (malloc'd; NULL when out of memory):
 * what a replay installs, and what the live program falls through to. */
char *capture_any_gre_text(int dlt);

/* One frame, as if captured at time ts (nanoseconds); exposed for tests and tools. */
void capture_handle_frame(struct capture *c, const uint8_t *p, size_t len, mtime_t ts);

#endif
