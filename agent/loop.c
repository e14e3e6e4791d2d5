#include "loop.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/select.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "../capture/engine.h"
#include "../probe/engine.h"
#include "daemon.h"
#include "notify.h"
#include "../mib/log.h"

int loop_signals_open(struct daemon *d)
{
	sigset_t set;

	/* A dead master turns our next AgentX write into SIGPIPE; the ping notices instead. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	d->signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return d->signal_fd < 0 ? -1 : 0;
}

static void handle_signals(struct daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			mvpn_log(LOG_INFO, "SIGHUP: reloading %s", d->config_path);
			daemon_reload(d);
		} else {
			mvpn_log(LOG_INFO, "signal %u: stopping", si.ssi_signo);
			d->stopping = true;
		}
	}
}

/*
 * A replay reads in chunks until a loop turn has spent REPLAY_SLICE_NS on it.
 * Answering one AgentX request takes net-snmp two or three loop turns (its
 * internal callback pipe), so the slice, not a packet count, bounds how long
 * a manager waits while a big capture replays.
 */
#define REPLAY_CHUNK 256
#define REPLAY_SLICE_NS 5000000ll

static int64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static void add_fd(int fd, fd_set *set, int *numfds)
{
	if (fd < 0)
		return;
	FD_SET(fd, set);
	if (fd >= *numfds)
		*numfds = fd + 1;
}

static void replay_some(struct daemon *d)
{
	struct capture *c = d->capture;
	int64_t until = monotonic_ns() + REPLAY_SLICE_NS;

	do {
		if (capture_read(c, REPLAY_CHUNK) < 0) {
			mvpn_log(LOG_ERR, "capture: %s", c->error);
			c->finished = true;
			d->model->capture = CAPTURE_FAILED;
			return;
		}
	} while (!c->finished && monotonic_ns() < until);
	if (c->finished)
		mvpn_log(LOG_INFO, "capture: %s replayed: %llu packets, %llu malformed, %llu on "
			 "unknown MDTs, %llu unsupported, %llu times clamped; serving the final state",
			 c->source, (unsigned long long)c->packets_read,
			 (unsigned long long)d->model->g.malformed,
			 (unsigned long long)d->model->g.unknown_mdt,
			 (unsigned long long)d->model->g.capture_unsupported,
			 (unsigned long long)d->model->g.capture_times_clamped);
}

static bool replaying(const struct daemon *d)
{
	return d->capture && d->capture->offline && !d->capture->finished;
}

/* Wake up when the next probe, echo or report is due. */
static void probe_timeout(struct daemon *d, struct timeval *timeout, int *block)
{
	mtime_t now = mclock_now(&d->model->clock);
	mtime_t next = prober_run(d->prober, now);
	mtime_t wait = next > now ? next - now : 0;
	struct timeval tv = {.tv_sec = (time_t)(wait / MTIME_SEC),
			     .tv_usec = (suseconds_t)(wait % MTIME_SEC / 1000)};

	if (next == MTIME_NEVER)
		return;
	if (*block || timercmp(&tv, timeout, <))
		*timeout = tv;
	*block = 0;
}

static void loop_once(struct daemon *d)
{
	int numfds = 0, block = 0;
	fd_set readfds;
	struct timeval timeout = {.tv_sec = 1};

	FD_ZERO(&readfds);
	snmp_select_info(&numfds, &readfds, &timeout, &block);
	add_fd(d->signal_fd, &readfds, &numfds);
	if (d->prober) {
		add_fd(prober_fd(d->prober), &readfds, &numfds);
		add_fd(prober_errqueue_fd(d->prober), &readfds, &numfds);
		probe_timeout(d, &timeout, &block);
	}
	if (d->capture)
		add_fd(capture_fd(d->capture), &readfds, &numfds);
	if (replaying(d)) {
		/* Poll, do not wait: the file is always ready. */
		block = 0;
		timeout = (struct timeval){0};
	}
	int n = select(numfds, &readfds, NULL, NULL, block ? NULL : &timeout);
	if (n < 0) {
		if (errno != EINTR)
			mvpn_log(LOG_ERR, "select: %s", strerror(errno));
		return;
	}
	if (n > 0) {
		if (FD_ISSET(d->signal_fd, &readfds)) {
			FD_CLR(d->signal_fd, &readfds);
			handle_signals(d);
		}
		if (d->prober)
			prober_read(d->prober); /* cheap when nothing is there */
		int cfd = d->capture ? capture_fd(d->capture) : -1;
		if (cfd >= 0 && FD_ISSET(cfd, &readfds)) {
			FD_CLR(cfd, &readfds);
			if (capture_read(d->capture, -1) < 0)
				daemon_capture_lost(d);
		}
		snmp_read(&readfds);
	} else {
		snmp_timeout();
	}
	if (replaying(d))
		replay_some(d);
	/* Judge what the engines just learned, then announce it. */
	alarms_run(d->model, mclock_now(&d->model->clock));
	notify_drain(d);
	run_alarms(); /* net-snmp's timers */
	netsnmp_check_outstanding_agent_requests();
}

void loop_run(struct daemon *d)
{
	while (!d->stopping)
		loop_once(d);
}
