/* The BMP collector's sockets (bmp_listen.h). */
#include "bmp_listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../mib/log.h"
#include "daemon.h"

#define BUF_START (64u << 10)
/* Read at most this much from one router per loop turn: the model lock is
 * held meanwhile, and SNMP and the other routers wait for it. */
#define READ_PER_TURN (1u << 20)
#define ACCEPTS_PER_TURN 16

static struct bmp_limits limits_of(const struct bmp_config *c)
{
	return (struct bmp_limits){.max_routes_per_router = c->max_routes_per_router,
				   .max_peers_per_router = c->max_peers_per_router,
				   .max_routers = c->max_routers};
}

static int listen_on(const struct inet_addr *a, unsigned port)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int one = 1, fd;

	memset(&ss, 0, sizeof(ss));
	if (a->type == INET_IPV4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		memcpy(&s4->sin_addr, a->bytes, 4);
		sl = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		memcpy(&s6->sin6_addr, a->bytes, 16);
		sl = sizeof(*s6);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 16) < 0 || fd >= FD_SETSIZE) {
		int e = fd >= FD_SETSIZE ? EMFILE : errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

struct bmp_server *bmp_server_open(const struct bmp_config *cfg)
{
	struct bmp_server *s = calloc(1, sizeof(*s));
	struct bmp_limits lim = limits_of(cfg);

	if (!s)
		return NULL;
	s->cfg = *cfg;
	s->listen = cfg->listen;
	s->port = cfg->port;
	if (!(s->col = bmp_collector_new(&lim)) || (s->fd = listen_on(&cfg->listen, cfg->port)) < 0) {
		int e = errno;
		bmp_collector_free(s->col);
		free(s);
		errno = e;
		return NULL;
	}
	return s;
}

static void conn_close(struct bmp_server *s, size_t i)
{
	struct bmp_conn *c = &s->conns[i];
	char b[INET_ADDR_STRLEN];

	mvpn_log(LOG_INFO, "bmp: router %s disconnected: %zu routes withdrawn",
		 inet_addr_format(&c->router->addr, b), c->router->routes);
	bmp_router_disconnect(s->col, c->router, mclock_monotonic());
	close(c->fd);
	free(c->buf);
	s->conns[i] = s->conns[--s->n_conns];
}

void bmp_server_free(struct bmp_server *s)
{
	if (!s)
		return;
	s->col->on_event = NULL; /* closed by the daemon, not lost: nothing to notify */
	while (s->n_conns)
		conn_close(s, s->n_conns - 1);
	free(s->conns);
	close(s->fd);
	bmp_collector_free(s->col);
	free(s);
}

void bmp_server_fds(const struct bmp_server *s, fd_set *set, int *numfds)
{
	FD_SET(s->fd, set);
	if (s->fd >= *numfds)
		*numfds = s->fd + 1;
	for (size_t i = 0; i < s->n_conns; i++) {
		FD_SET(s->conns[i].fd, set);
		if (s->conns[i].fd >= *numfds)
			*numfds = s->conns[i].fd + 1;
	}
}

/* The peer's address; an IPv4-mapped IPv6 one (a dual-stack socket) as IPv4. */
static void peer_addr(const struct sockaddr_storage *ss, struct inet_addr *a, uint16_t *port)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		inet_addr_v4(a, (const uint8_t *)&s4->sin_addr);
		*port = ntohs(s4->sin_port);
		return;
	}
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
	const uint8_t *b = (const uint8_t *)&s6->sin6_addr;
	if (memcmp(b, mapped, sizeof(mapped)) == 0)
		inet_addr_v4(a, b + 12);
	else
		inet_addr_v6(a, b);
	*port = ntohs(s6->sin6_port);
}

static bool conn_add(struct bmp_server *s, int fd, struct bmp_router *r)
{
	if (s->n_conns == s->cap_conns) {
		size_t cap = s->cap_conns ? s->cap_conns * 2 : 8;
		struct bmp_conn *nc = realloc(s->conns, cap * sizeof(*nc));
		if (!nc)
			return false;
		s->conns = nc, s->cap_conns = cap;
	}
	s->conns[s->n_conns++] = (struct bmp_conn){.fd = fd, .router = r};
	return true;
}

/* Rare events are logged, a flood of refusals only at powers of two. */
static bool worth_logging(uint64_t n)
{
	return (n & (n - 1)) == 0;
}

static void accept_one(struct bmp_server *s, int fd, const struct sockaddr_storage *ss)
{
	struct inet_addr a;
	uint16_t port;
	char b[INET_ADDR_STRLEN];
	int one = 1;

	peer_addr(ss, &a, &port);
	if (!config_bmp_allowed(&s->cfg, &a) || fd >= FD_SETSIZE) {
		uint64_t n = ++s->col->t.refused_not_allowed;
		if (worth_logging(n))
			mvpn_log(LOG_NOTICE, "bmp: refused %s port %u: %s (%llu refused so far)",
				 inet_addr_format(&a, b), port,
				 fd >= FD_SETSIZE ? "too many descriptors" : "not in allow",
				 (unsigned long long)n);
		close(fd);
		return;
	}
	for (size_t i = 0; i < s->n_conns; i++)
		if (inet_addr_eq(&s->conns[i].router->addr, &a)) {
			conn_close(s, i); /* a router reconnecting: its old session is stale */
			break;
		}
	struct bmp_router *r = bmp_router_connect(s->col, &a, port, mclock_monotonic());
	if (!r || !conn_add(s, fd, r)) {
		if (r)
			bmp_router_disconnect(s->col, r, mclock_monotonic());
		mvpn_log(LOG_WARNING, "bmp: refused %s: %zu routers already (max-routers)",
			 inet_addr_format(&a, b), s->col->n_routers);
		close(fd);
		return;
	}
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)); /* a dead router is noticed */
	mvpn_log(LOG_INFO, "bmp: router %s port %u connected", inet_addr_format(&a, b), port);
}

static void accept_some(struct bmp_server *s)
{
	for (int k = 0; k < ACCEPTS_PER_TURN; k++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(s->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				mvpn_log(LOG_ERR, "bmp: accept: %s", strerror(errno));
			return;
		}
		accept_one(s, fd, &ss);
	}
}

/* Room for the message at the head of the buffer (or BUF_START to begin). */
static bool make_room(struct bmp_conn *c)
{
	uint32_t need = BUF_START;
	size_t cap;
	uint8_t *nb;

	if (c->len >= BMP_COMMON_LEN && bmp_frame(c->buf, c->len, &need) != BGP_OK)
		return true; /* the collector refuses it: nothing to grow for */
	if (need < BUF_START)
		need = BUF_START;
	if (c->cap >= need && c->len < c->cap)
		return true;
	cap = need > c->cap ? need : c->cap;
	if (!(nb = realloc(c->buf, cap)))
		return false;
	c->buf = nb, c->cap = cap;
	return true;
}

/* false: the connection is to be closed. */
static bool conn_read(struct bmp_server *s, struct bmp_conn *c)
{
	size_t got = 0;
	bool close_now = false;

	while (got < READ_PER_TURN && !close_now) {
		if (!make_room(c))
			return false;
		ssize_t n = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
		if (n == 0)
			return false; /* RFC 7854 3.3: the session ends with the connection */
		s->reads++, s->bytes += (uint64_t)n;
		got += (size_t)n;
		c->len += (size_t)n;
		size_t used = bmp_router_input(s->col, c->router, c->buf, c->len, mclock_monotonic(),
					       &close_now);
		memmove(c->buf, c->buf + used, c->len - used);
		c->len -= used;
	}
	return !close_now;
}

void bmp_server_run(struct bmp_server *s, const fd_set *readable)
{
	if (FD_ISSET(s->fd, readable))
		accept_some(s);
	for (size_t i = s->n_conns; i-- > 0;)
		if (FD_ISSET(s->conns[i].fd, readable) && !conn_read(s, &s->conns[i]))
			conn_close(s, i);
}

/* ---- the daemon's collector ---- */

static bool same_listen(const struct bmp_server *s, const struct bmp_config *b)
{
	return inet_addr_eq(&s->listen, &b->listen) && s->port == b->port;
}

/* A reload that takes a router out of allow retires it: its session is
 * closed and its row forgotten, unannounced, as a session the daemon ends
 * itself is (else a retired router would read down, and alert, for good). */
static void drop_disallowed(struct bmp_server *s)
{
	struct bmp_collector *col = s->col;
	bmp_event_fn on_event = col->on_event;
	char b[INET_ADDR_STRLEN];

	col->on_event = NULL;
	for (size_t i = s->n_conns; i-- > 0;)
		if (!config_bmp_allowed(&s->cfg, &s->conns[i].router->addr)) {
			mvpn_log(LOG_NOTICE, "bmp: router %s is no longer in allow: closed",
				 inet_addr_format(&s->conns[i].router->addr, b));
			conn_close(s, i);
		}
	for (size_t i = col->n_routers; i-- > 0;)
		if (!config_bmp_allowed(&s->cfg, &col->routers[i]->addr)) {
			mvpn_log(LOG_NOTICE, "bmp: router %s is no longer in allow: row removed",
				 inet_addr_format(&col->routers[i]->addr, b));
			bmp_router_forget(col, col->routers[i], mclock_monotonic());
		}
	col->on_event = on_event;
}

/* Every route change, to each engine that reads routes into the model. */
static void route_changed(void *arg, const struct route_change *ch)
{
	struct daemon *d = arg;

	bgp_mdt_on_change(&d->mdt, ch);
	bgp_mvpn_on_change(&d->mvpn, ch);
}

/* Sessions and peers coming and going: a notification each (agent/notify.c
 * makes the varbinds), and a line in the log for what went down. */
static void bmp_event(void *arg, const struct bmp_event *ev)
{
	static const enum notice_kind kinds[] = {
		[BMP_EV_ROUTER_UP] = NOTICE_BMP_ROUTER_UP, [BMP_EV_ROUTER_DOWN] = NOTICE_BMP_ROUTER_DOWN,
		[BMP_EV_PEER_UP] = NOTICE_BMP_PEER_UP, [BMP_EV_PEER_DOWN] = NOTICE_BMP_PEER_DOWN};
	struct daemon *d = arg;
	struct notice n = {.kind = kinds[ev->kind], .at = mclock_now(&d->model->clock),
			   .addr = ev->router->addr};
	char what[256];

	if (ev->peer) {
		const struct bmp_peer *p = ev->peer;
		n.peer = p->addr;
		n.bmp = (struct notice_bmp){.distinguisher = p->distinguisher, .as = p->as,
					    .bgp_id = p->bgp_id};
		if (ev->kind == BMP_EV_PEER_DOWN && p->has_down)
			n.bmp.reason = p->last_down.reason, n.bmp.code = p->last_down.code,
			n.bmp.subcode = p->last_down.subcode, n.bmp.fsm_event = p->last_down.fsm_event;
	}
	if (ev->kind == BMP_EV_ROUTER_DOWN || ev->kind == BMP_EV_PEER_DOWN) {
		notice_describe(&n, what, sizeof(what)); /* the words the rate limit logs */
		mvpn_log(LOG_NOTICE, "bmp: %s", what);
	}
	notice_post(d->model, &n);
}

int daemon_apply_bmp(struct daemon *d, const struct config *c)
{
	const struct bmp_config *b = &c->bmp;
	char a[INET_ADDR_STRLEN];

	if (!b->enabled) {
		daemon_close_bmp(d);
		return 0;
	}
	if (d->bmp && same_listen(d->bmp, b)) {
		struct bmp_limits lim = limits_of(b);
		d->bmp->cfg = *b;
		bmp_collector_set_limits(d->bmp->col, &lim);
		drop_disallowed(d->bmp);
		return 0;
	}
	struct bmp_server *s = bmp_server_open(b);
	if (!s) {
		mvpn_log(LOG_ERR, "bmp: cannot listen on %s port %u: %s",
			 inet_addr_format(&b->listen, a), b->port, strerror(errno));
		return -1;
	}
	daemon_close_bmp(d);
	d->bmp = s;
	s->col->on_change = route_changed;
	s->col->change_arg = d;
	s->col->on_event = bmp_event;
	s->col->event_arg = d;
	mvpn_log(LOG_INFO, "bmp: listening on %s port %u, %zu allow prefixes",
		 inet_addr_format(&b->listen, a), b->port, b->n_allow);
	return 0;
}

void daemon_close_bmp(struct daemon *d)
{
	bmp_server_free(d->bmp);
	d->bmp = NULL;
}
