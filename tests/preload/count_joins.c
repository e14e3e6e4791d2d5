/*
 * LD_PRELOAD witness: every multicast membership call the process makes, one
 * line each, so that a test can tell which groups a reload joined and left.
 *
 *   JOINS_LOG=path  "join 239.1.2.3 0" or "leave ff3e::1 -1": the call, the
 *                   group, and what setsockopt returned
 *   JOINS_DELAY_MS=ms  each membership call takes this much longer, as on a
 *                   device holding 100,000 groups
 *
 * Membership options only (MCAST_JOIN_GROUP, MCAST_LEAVE_GROUP and the older
 * per-family ones); every other setsockopt passes through unlogged.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_NEXT */
#endif
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

typedef int (*setsockopt_fn)(int, int, int, const void *, socklen_t);

/* "join", "leave" or NULL for an option that is not a membership call. */
static const char *membership_op(int level, int name)
{
	if (name == MCAST_JOIN_GROUP && (level == IPPROTO_IP || level == IPPROTO_IPV6))
		return "join";
	if (name == MCAST_LEAVE_GROUP && (level == IPPROTO_IP || level == IPPROTO_IPV6))
		return "leave";
	if ((level == IPPROTO_IP && name == IP_ADD_MEMBERSHIP) ||
	    (level == IPPROTO_IPV6 && name == IPV6_JOIN_GROUP))
		return "join";
	if ((level == IPPROTO_IP && name == IP_DROP_MEMBERSHIP) ||
	    (level == IPPROTO_IPV6 && name == IPV6_LEAVE_GROUP))
		return "leave";
	return NULL;
}

static void group_text(int level, int name, const void *val, socklen_t len, char *out,
		       size_t size)
{
	snprintf(out, size, "?");
	if (name == MCAST_JOIN_GROUP || name == MCAST_LEAVE_GROUP) {
		const struct group_req *r = val;
		if (len < sizeof(*r))
			return;
		if (r->gr_group.ss_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)&r->gr_group)->sin_addr,
				  out, size);
		else if (r->gr_group.ss_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&r->gr_group)->sin6_addr,
				  out, size);
	} else if (level == IPPROTO_IP && len >= sizeof(struct in_addr)) {
		inet_ntop(AF_INET, val, out, size); /* imr_multiaddr comes first */
	} else if (level == IPPROTO_IPV6 && len >= sizeof(struct in6_addr)) {
		inet_ntop(AF_INET6, val, out, size); /* ipv6mr_multiaddr comes first */
	}
}

int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	static setsockopt_fn next;

	if (!next)
		next = (setsockopt_fn)dlsym(RTLD_NEXT, "setsockopt");
	int rc = next(fd, level, name, val, len);
	int saved = errno; /* the caller reads setsockopt's, not fopen's */
	const char *op = membership_op(level, name);
	const char *path = getenv("JOINS_LOG");
	const char *delay = getenv("JOINS_DELAY_MS");
	if (op && delay && *delay) {
		long ms = strtol(delay, NULL, 10);
		struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000L};
		nanosleep(&t, NULL);
	}
	if (op && path && *path) {
		char text[INET6_ADDRSTRLEN + 1];
		group_text(level, name, val, len, text, sizeof(text));
		FILE *f = fopen(path, "a");
		if (f) {
			fprintf(f, "%s %s %d\n", op, text, rc);
			fclose(f);
		}
	}
	errno = saved;
	return rc;
}
