/*
 * LD_PRELOAD fault injector: the process stalls right after some of its raw
 * sends, as a loaded host's scheduler stalls it, so that a reply can arrive
 * before the sender has looked at its clock or read its send stamps.
 *
 *   STALL_EVERY=n   stall after every n-th sendto() on a SOCK_RAW socket
 *   STALL_MS=ms     for this long (the send itself has already happened)
 *   STALL_LOG=path  one line appended per stall, so a test can tell it happened
 *
 * Only sendto on raw sockets: mvpnmond's probes and echoes, never its AgentX.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_NEXT */
#endif
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

typedef ssize_t (*sendto_fn)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);

static long env_long(const char *name, long fallback)
{
	const char *s = getenv(name);
	return s && *s ? strtol(s, NULL, 10) : fallback;
}

static int is_raw(int fd)
{
	int type = 0;
	socklen_t len = sizeof(type);
	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_RAW;
}

static void note_stall(long ms)
{
	const char *path = getenv("STALL_LOG");
	FILE *f = path && *path ? fopen(path, "a") : NULL;

	if (f) {
		fprintf(f, "stalled %ld ms after a raw send\n", ms);
		fclose(f);
	}
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to,
	       socklen_t to_len)
{
	static sendto_fn real_sendto;
	static unsigned long raw_sends;

	if (!real_sendto)
		real_sendto = (sendto_fn)dlsym(RTLD_NEXT, "sendto");
	ssize_t n = real_sendto(fd, buf, len, flags, to, to_len);
	long every = env_long("STALL_EVERY", 0);
	if (n >= 0 && every > 0 && is_raw(fd) && ++raw_sends % (unsigned long)every == 0) {
		long ms = env_long("STALL_MS", 100);
		struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000L};
		while (nanosleep(&ts, &ts) != 0)
			;
		note_stall(ms);
	}
	return n;
}
