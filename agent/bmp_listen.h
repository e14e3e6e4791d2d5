/*
 * The BMP collector's sockets (RFC 7854 3.2: the router connects to the
 * monitoring station over TCP): one listening socket on the event loop,
 * non-blocking accepts and reads, a buffer per router bounded by the largest
 * message taken (BMP_MAX_MSG), a router whose address is not in the bmp
 * section's allow list refused and counted.  What arrives goes to
 * bgp/collector.c, under the model lock as every engine's input does.
 */
#ifndef MVPN_BMP_LISTEN_H
#define MVPN_BMP_LISTEN_H

#include <stdbool.h>
#include <sys/select.h>

#include "../bgp/collector.h"
#include "config.h"

struct daemon;

struct bmp_conn {
	int fd;
	struct bmp_router *router;
	uint8_t *buf; /* cap bytes, len of them an incomplete message */
	size_t len, cap;
};

struct bmp_server {
	int fd; /* listening */
	struct inet_addr listen;
	unsigned port;
	struct bmp_config cfg; /* allow list borrowed from the configuration in force */
	struct bmp_collector *col; /* owned */
	struct bmp_conn *conns;    /* owned */
	size_t n_conns, cap_conns;
	uint64_t reads, bytes;     /* figures for a benchmark: read() calls, bytes read */
};

/* The configuration's bmp section, applied: opened, reconfigured (caps,
 * allow list: connections from addresses no longer allowed are closed),
 * reopened on another address, or closed.  -1 (logged) if the socket could
 * not be opened; the collector keeps what it had. */
int daemon_apply_bmp(struct daemon *d, const struct config *c);
void daemon_close_bmp(struct daemon *d);

/* The loop: the descriptors to wait on, and what to do with the readable ones. */
void bmp_server_fds(const struct bmp_server *s, fd_set *set, int *numfds);
void bmp_server_run(struct bmp_server *s, const fd_set *readable);

/* For tests and benchmarks: a server on its own, without a daemon. */
struct bmp_server *bmp_server_open(const struct bmp_config *cfg);
void bmp_server_free(struct bmp_server *s);

#endif
