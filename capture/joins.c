#include "joins.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../mib/log.h"

struct join_socket {
	int fd;
	unsigned n; /* groups[0..n-1] held */
	struct inet_addr groups[JOINS_PER_SOCKET];
};

/*
 * The engine and the AgentX thread wait in select(), whose fd_set holds only
 * descriptors below FD_SETSIZE.  Membership sockets are never waited on, so
 * past the first LOW_FDS they go above FD_SETSIZE (the soft RLIMIT_NOFILE
 * raised as far as the hard one allows), and below it they never take the
 * last LOW_RESERVE, which a capture handle or an AgentX reconnection needs.
 */
#define LOW_FDS 256
#define LOW_RESERVE 64

/* At most this many failures logged one by one per sync; the rest counted. */
#define LOGGED_FAILURES 5

/* ---- the set of groups, for one sync ---- */

struct wanted {
	struct inet_addr g;
	uint32_t sock; /* held: its socket + 1; 0 when not held */
	bool want;
};

struct group_set {
	struct wanted *items;
	size_t n;
	uint32_t *slots; /* item + 1, or 0 */
	size_t mask;
};

static uint32_t group_hash(const struct inet_addr *g)
{
	uint32_t h = (2166136261u ^ g->type) * 16777619u;

	for (size_t i = 0; i < inet_addr_len(g); i++)
		h = (h ^ g->bytes[i]) * 16777619u;
	return h;
}

static int set_init(struct group_set *s, size_t max)
{
	size_t size = 16;

	while (size < 2 * max)
		size *= 2;
	s->items = malloc((max ? max : 1) * sizeof(*s->items));
	s->slots = calloc(size, sizeof(*s->slots));
	s->n = 0;
	s->mask = size - 1;
	return s->items && s->slots ? 0 : -1;
}

/* The group's item, added (not held, not wanted) if it was not there. */
static struct wanted *set_find_add(struct group_set *s, const struct inet_addr *g)
{
	size_t i = group_hash(g) & s->mask;

	for (; s->slots[i]; i = (i + 1) & s->mask)
		if (inet_addr_eq(&s->items[s->slots[i] - 1].g, g))
			return &s->items[s->slots[i] - 1];
	s->items[s->n] = (struct wanted){.g = *g};
	s->slots[i] = (uint32_t)++s->n;
	return &s->items[s->n - 1];
}

static void set_free(struct group_set *s)
{
	free(s->items);
	free(s->slots);
}

/* ---- the membership calls ---- */

/* MCAST_JOIN_GROUP or MCAST_LEAVE_GROUP: one call for either family. */
static int membership(int fd, unsigned if_index, const struct inet_addr *g, int op)
{
	struct group_req req = {.gr_interface = if_index};

	if (g->type == INET_IPV4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&req.gr_group;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, g->bytes, 4);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&req.gr_group;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, g->bytes, 16);
	}
	int level = g->type == INET_IPV4 ? IPPROTO_IP : IPPROTO_IPV6;
	return setsockopt(fd, level, op, &req, sizeof(req));
}

/* ---- descriptors ---- */

/* Raises the soft RLIMIT_NOFILE to hold want descriptors, up to the hard limit. */
static void raise_nofile(rlim_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
		return;
	rlim_t was = rl.rlim_cur;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || want < rl.rlim_max ? want : rl.rlim_max;
	if (rl.rlim_cur > was && setrlimit(RLIMIT_NOFILE, &rl) == 0)
		mvpn_log(LOG_INFO, "capture: open files limit raised from %llu to %llu "
			 "for the group memberships", (unsigned long long)was,
			 (unsigned long long)rl.rlim_cur);
}

/*
 * A socket for memberships, placed as LOW_FDS and LOW_RESERVE say; -1 and
 * errno when there is none.  total: how many sockets this sync may end with.
 */
static int open_socket(size_t total)
{
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < LOW_FDS)
		return fd;
	raise_nofile((rlim_t)FD_SETSIZE + total + LOW_RESERVE);
	int high = fcntl(fd, F_DUPFD_CLOEXEC, FD_SETSIZE);
	if (high >= 0) {
		close(fd);
		return high;
	}
	if (fd < FD_SETSIZE - LOW_RESERVE)
		return fd;
	close(fd);
	errno = EMFILE;
	return -1;
}

static void close_socket(struct joins *j, size_t k)
{
	close(j->socks[k].fd);
	j->socks[k] = j->socks[--j->n_socks];
}

/* Every membership dropped; on the thread that owns the sockets. */
static void close_all(struct joins *j)
{
	while (j->n_socks)
		close_socket(j, j->n_socks - 1);
	j->stats.held = j->stats.sockets = 0;
}

static void stop_worker(struct joins *j);

void joins_clear(struct joins *j)
{
	stop_worker(j);
	close_all(j);
	free(j->socks);
	j->socks = NULL;
}

/* ---- sync ---- */

struct sync {
	struct joins *j;
	const char *ifname;
	size_t free_from; /* sockets before this one are full */
	size_t to_join;   /* still to join, for sizing the descriptor limit */
	size_t logged;
};

static void log_failure(struct sync *y, const struct inet_addr *g, const char *what, int err)
{
	char text[INET_ADDR_STRLEN];

	if (y->logged++ < LOGGED_FAILURES)
		mvpn_log(LOG_WARNING, "capture: cannot %s %s on %s: %s", what,
			 inet_addr_format(g, text), y->ifname, strerror(err));
}

/* Drops slot i of socket k (the last slot moves into it). */
static void leave_one(struct sync *y, size_t k, unsigned i)
{
	struct join_socket *s = &y->j->socks[k];

	if (membership(s->fd, y->j->if_index, &s->groups[i], MCAST_LEAVE_GROUP) < 0)
		log_failure(y, &s->groups[i], "leave", errno);
	y->j->stats.left++;
	s->groups[i] = s->groups[--s->n];
}

/* A socket with a free slot: the first not full, or a new one; NULL if none. */
static struct join_socket *free_socket(struct sync *y)
{
	struct joins *j = y->j;

	while (y->free_from < j->n_socks && j->socks[y->free_from].n == JOINS_PER_SOCKET)
		y->free_from++;
	if (y->free_from < j->n_socks)
		return &j->socks[y->free_from];
	struct join_socket *grown = realloc(j->socks, (j->n_socks + 1) * sizeof(*grown));
	if (!grown) {
		errno = ENOMEM;
		return NULL;
	}
	j->socks = grown;
	int fd = open_socket(j->n_socks + (y->to_join + JOINS_PER_SOCKET - 1) / JOINS_PER_SOCKET);
	if (fd < 0)
		return NULL;
	grown[j->n_socks] = (struct join_socket){.fd = fd};
	return &grown[j->n_socks++];
}

static bool join_one(struct sync *y, const struct inet_addr *g)
{
	struct join_socket *s = free_socket(y);

	if (!s) {
		log_failure(y, g, "open a socket to join", errno);
		return false;
	}
	if (membership(s->fd, y->j->if_index, g, MCAST_JOIN_GROUP) < 0) {
		log_failure(y, g, "join", errno);
		return false;
	}
	s->groups[s->n++] = *g;
	y->j->stats.joined++;
	return true;
}

/* A worker told to stop leaves its sync unfinished: the sockets are closed next. */
static bool stopping(struct joins *j)
{
	return __atomic_load_n(&j->stop, __ATOMIC_RELAXED);
}

/* Leaves every held group not wanted; returns how many. */
static size_t leave_unwanted(struct sync *y, struct group_set *set)
{
	struct joins *j = y->j;
	size_t left = 0;

	for (size_t k = 0; k < j->n_socks; k++) {
		struct join_socket *s = &j->socks[k];
		for (unsigned i = 0; i < s->n && !stopping(j);) {
			struct wanted *w = set_find_add(set, &s->groups[i]);
			if (w->want) {
				i++;
				continue;
			}
			leave_one(y, k, i);
			left++;
		}
	}
	return left;
}

static void close_empty(struct joins *j)
{
	for (size_t k = 0; k < j->n_socks;)
		if (j->socks[k].n == 0)
			close_socket(j, k);
		else
			k++;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1e3 + (t1.tv_nsec - t0->tv_nsec) / 1e6;
}

void joins_sync(struct joins *j, unsigned if_index, const char *ifname,
		const struct inet_addr *first, size_t n, size_t stride)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct sync y = {.j = j, .ifname = ifname};
	struct group_set set;
	size_t held = 0, joined = 0, failed = 0, wanted = 0, left;

	if (if_index != j->if_index)
		close_all(j); /* not joins_clear: this may be the worker itself */
	j->if_index = if_index;
	for (size_t k = 0; k < j->n_socks; k++)
		held += j->socks[k].n;
	if (set_init(&set, n + held) < 0) {
		set_free(&set);
		mvpn_log(LOG_ERR, "capture: out of memory: memberships on %s unchanged", ifname);
		return;
	}
	for (size_t i = 0; i < n; i++)
		set_find_add(&set, (const struct inet_addr *)((const char *)first + i * stride))
			->want = true;
	wanted = set.n;
	left = leave_unwanted(&y, &set);
	for (size_t k = 0; k < j->n_socks; k++)
		for (unsigned i = 0; i < j->socks[k].n; i++)
			set_find_add(&set, &j->socks[k].groups[i])->sock = (uint32_t)k + 1;
	for (size_t i = 0; i < set.n; i++)
		y.to_join += set.items[i].want && !set.items[i].sock;
	for (size_t i = 0; i < set.n && !stopping(j); i++) {
		if (!set.items[i].want || set.items[i].sock)
			continue;
		if (join_one(&y, &set.items[i].g))
			joined++;
		else
			failed++;
		y.to_join--;
	}
	close_empty(j);
	j->stats.held = 0;
	for (size_t k = 0; k < j->n_socks; k++)
		j->stats.held += j->socks[k].n;
	j->stats.sockets = j->n_socks;
	j->stats.not_joined = failed;
	if (failed)
		mvpn_log(LOG_ERR, "capture: %zu of %zu configured groups not joined on %s "
			 "(%zu groups held in %zu sockets); tried again at the next reload",
			 failed, wanted, ifname, j->stats.held, j->n_socks);
	/* One line a reload; when nothing changed, for debugging only. */
	mvpn_log(joined || left ? LOG_INFO : LOG_DEBUG, "capture: memberships on %s: %zu joined, "
		 "%zu left, %zu held in %zu sockets (%.1f ms)", ifname, joined, left,
		 j->stats.held, j->n_socks, ms_since(&t0));
	set_free(&set);
}

/* ---- the worker ---- */

static void *worker_main(void *arg)
{
	struct joins *j = arg;

	pthread_mutex_lock(&j->mutex);
	for (;;) {
		while (!j->has_request && !j->stop)
			pthread_cond_wait(&j->cond, &j->mutex);
		if (j->stop)
			break;
		struct join_request r = j->request;
		uint64_t upto = j->requested;
		j->request.groups = NULL;
		j->has_request = false;
		pthread_mutex_unlock(&j->mutex);
		if (r.fresh)
			close_all(j);
		joins_sync(j, r.if_index, r.ifname, r.groups, r.n, sizeof(*r.groups));
		free(r.groups);
		pthread_mutex_lock(&j->mutex);
		j->done = upto;
		pthread_cond_broadcast(&j->cond);
	}
	pthread_mutex_unlock(&j->mutex);
	return NULL;
}

static bool start_worker(struct joins *j)
{
	if (j->started)
		return true;
	if (pthread_mutex_init(&j->mutex, NULL) != 0)
		return false;
	if (pthread_cond_init(&j->cond, NULL) != 0) {
		pthread_mutex_destroy(&j->mutex);
		return false;
	}
	j->stop = j->has_request = false;
	j->requested = j->done = 0;
	int rc = pthread_create(&j->thread, NULL, worker_main, j);
	if (rc != 0) {
		mvpn_log(LOG_ERR, "capture: cannot start a thread for the group memberships: %s; "
			 "changing them on the engine thread", strerror(rc));
		pthread_cond_destroy(&j->cond);
		pthread_mutex_destroy(&j->mutex);
		return false;
	}
	j->started = true;
	return true;
}

static void stop_worker(struct joins *j)
{
	if (!j->started)
		return;
	pthread_mutex_lock(&j->mutex);
	__atomic_store_n(&j->stop, true, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&j->cond);
	pthread_mutex_unlock(&j->mutex);
	pthread_join(j->thread, NULL);
	free(j->request.groups);
	j->request.groups = NULL;
	pthread_cond_destroy(&j->cond);
	pthread_mutex_destroy(&j->mutex);
	j->started = false;
}

void joins_request(struct joins *j, unsigned if_index, const char *ifname,
		   const struct inet_addr *first, size_t n, size_t stride, bool fresh)
{
	struct inet_addr *copy = malloc((n ? n : 1) * sizeof(*copy));

	if (!copy || !start_worker(j)) {
		free(copy);
		joins_wait(j); /* the worker, if any, is idle: the sockets are ours */
		if (fresh)
			close_all(j);
		joins_sync(j, if_index, ifname, first, n, stride);
		return;
	}
	for (size_t i = 0; i < n; i++)
		copy[i] = *(const struct inet_addr *)((const char *)first + i * stride);
	pthread_mutex_lock(&j->mutex);
	/* A request replaced before it started keeps its fresh. */
	fresh = fresh || (j->has_request && j->request.fresh);
	free(j->request.groups);
	j->request = (struct join_request){.groups = copy, .n = n, .if_index = if_index,
					   .fresh = fresh};
	snprintf(j->request.ifname, sizeof(j->request.ifname), "%s", ifname);
	j->has_request = true;
	j->requested++;
	pthread_cond_broadcast(&j->cond);
	pthread_mutex_unlock(&j->mutex);
}

void joins_wait(struct joins *j)
{
	if (!j->started)
		return;
	pthread_mutex_lock(&j->mutex);
	while (j->done < j->requested)
		pthread_cond_wait(&j->cond, &j->mutex);
	pthread_mutex_unlock(&j->mutex);
}
