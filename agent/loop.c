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
#include "agentx.h"
#include "bmp_listen.h"
#include "daemon.h"
#include "history.h"
#include "modellock.h"
#include "notify.h"
#include "process.h"
#include "../mib/log.h"
#include "../mib/passive.h"

/*
 * Every signal that would otherwise end the process or be lost is either
 * acted on here or ignored on purpose, and said so in the log: HUP reloads,
 * TERM and INT stop, USR1 logs a summary of the state, the rest of the
 * asynchronous ones (USR2, ALRM, VTALRM, PROF, IO, PWR) are logged and
 * ignored.  SIGPIPE is ignored: a dead master turns our next AgentX write
 * into it, and the ping notices instead.  SIGQUIT keeps its core dump.
 */
static const int handled_signals[] = {SIGHUP,  SIGTERM, SIGINT, SIGUSR1, SIGUSR2,
				      SIGALRM, SIGVTALRM, SIGPROF, SIGIO, SIGPWR};

int loop_signals_open(struct daemon *d)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(handled_signals) / sizeof(handled_signals[0]); i++)
		sigaddset(&set, handled_signals[i]);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	d->signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return d->signal_fd < 0 ? -1 : 0;
}

/* SIGUSR1: one line an operator can read without SNMP. */
static void log_summary(struct daemon *d)
{
	const struct model *m = d->model;
	const struct global_counters *g = &m->g;

	mvpn_log(LOG_NOTICE,
		 "state: %zu VPNs; packets seen %llu, malformed %llu, on unknown MDTs %llu, kernel "
		 "drops %llu; state changes %llu; notifications sent %llu, lost %llu, waiting "
		 "%u; probes sent %llu, received %llu; longest turn %.1f ms",
		 m->n_vpns, (unsigned long long)g->packets_seen, (unsigned long long)g->malformed,
		 (unsigned long long)g->unknown_mdt, (unsigned long long)g->capture_kernel_drops,
		 (unsigned long long)g->changes, (unsigned long long)g->notifications_sent,
		 (unsigned long long)g->notifications_lost, notify_waiting(m),
		 (unsigned long long)m->probing.tx_total,
		 (unsigned long long)m->probing.rx_result[PROBE_RX_OK],
		 (double)d->longest_turn / 1e6);
}

static void handle_signals(struct daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			process_reopen_log(); /* first: the reload's own lines go to the new file */
			daemon_request_reload(d);
			break;
		case SIGTERM:
		case SIGINT:
			mvpn_log(LOG_INFO, "signal %u: stopping", si.ssi_signo);
			d->stopping = true;
			break;
		case SIGUSR1:
			log_summary(d);
			d->longest_turn = 0; /* the next summary: the longest since this one */
			break;
		default:
			mvpn_log(LOG_NOTICE, "signal %u (%s) from pid %u ignored: HUP reloads, TERM "
				 "stops, USR1 logs the state", si.ssi_signo,
				 strsignal((int)si.ssi_signo), si.ssi_pid);
			break;
		}
	}
}

/*
 * A replay reads in chunks until a loop turn has spent REPLAY_SLICE_NS on it
 * (or, from a FIFO or a pipe, until what has come so far is read: the rest is
 * waited for in select(), as live packets are); then the model is let go, so
 * that a manager's request waits at most one slice (modellock.h).
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
	int n;

	do {
		if ((n = capture_read(c, REPLAY_CHUNK)) < 0) {
			mvpn_log(LOG_ERR, "capture: %s", c->error);
			c->finished = true;
			d->model->capture = CAPTURE_FAILED;
			return;
		}
	} while (!c->finished && n > 0 && monotonic_ns() < until);
	if (c->finished)
		mvpn_log(LOG_INFO, "capture: %s replayed: %llu packets, %llu malformed, %llu on "
			 "unknown MDTs, %llu unsupported, %llu times clamped, %llu already in the "
			 "history; serving the final state",
			 c->source, (unsigned long long)c->packets_read,
			 (unsigned long long)d->model->g.malformed,
			 (unsigned long long)d->model->g.unknown_mdt,
			 (unsigned long long)d->model->g.capture_unsupported,
			 (unsigned long long)d->model->g.capture_times_clamped,
			 (unsigned long long)c->resumed);
}

static bool live_capture(const struct daemon *d)
{
	return d->capture && !d->capture->offline;
}

/* The model's clock runs by itself (not a replay's timestamps): what falls
 * due on it is expired here, live capture or none (the rows that BGP's
 * C-multicast routes held need no capture). */
static bool clock_runs(const struct daemon *d)
{
	return !d->model->clock.offline;
}

static bool replaying(const struct daemon *d)
{
	return d->capture && d->capture->offline && !d->capture->finished;
}

/* Shortens *timeout to reach `next` (model time, `now` now); MTIME_NEVER: no change. */
static void wake_by(mtime_t now, mtime_t next, struct timeval *timeout)
{
	mtime_t wait = next > now ? next - now : 0;
	struct timeval tv = {.tv_sec = (time_t)(wait / MTIME_SEC),
			     .tv_usec = (suseconds_t)(wait % MTIME_SEC / 1000)};

	if (next != MTIME_NEVER && timercmp(&tv, timeout, <))
		*timeout = tv;
}

/* Live, once a second: retry a lost capture, read the kernel's drop counts. */
#define TICK_INTERVAL MTIME_SEC

static void tick(struct daemon *d)
{
	mtime_t now = mclock_monotonic();

	if (now < d->next_tick)
		return;
	d->next_tick = now + TICK_INTERVAL;
	daemon_tick(d);
}

/* One turn; called, and returns, with the model locked. */
static void loop_once(struct daemon *d)
{
	int numfds = 0;
	fd_set readfds;
	struct timeval timeout = {.tv_sec = 1};

	FD_ZERO(&readfds);
	add_fd(d->signal_fd, &readfds, &numfds);
	add_fd(daemon_reload_fd(d), &readfds, &numfds);
	if (d->prober) {
		add_fd(prober_fd(d->prober), &readfds, &numfds);
		add_fd(prober_errqueue_fd(d->prober), &readfds, &numfds);
		mtime_t now = mclock_now(&d->model->clock);
		wake_by(now, prober_run(d->prober, now), &timeout);
	}
	if (d->capture)
		add_fd(capture_fd(d->capture), &readfds, &numfds);
	if (d->bmp)
		bmp_server_fds(d->bmp, &readfds, &numfds);
	wake_by(mclock_monotonic(), d->next_tick, &timeout);
	if (clock_runs(d)) /* the next hold time, join or data MDT that runs out */
		wake_by(mclock_now(&d->model->clock), model_next_deadline(d->model), &timeout);
	if (d->history && !d->model->clock.offline) /* the next checkpoint or pair window */
		wake_by(mclock_now(&d->model->clock), d->model->observer.due_at, &timeout);
	if (replaying(d) && capture_ready(d->capture))
		timeout = (struct timeval){0}; /* poll, do not wait: there is more to read */
	model_unlock();
	daemon_free_retired(d); /* 100,000 VPNs take milliseconds to free */
	int n = select(numfds, &readfds, NULL, NULL, &timeout);
	model_lock();
	int64_t turn_start = monotonic_ns();
	if (n < 0) {
		if (errno != EINTR)
			mvpn_log(LOG_ERR, "select: %s", strerror(errno));
		return;
	}
	if (n > 0) {
		if (FD_ISSET(d->signal_fd, &readfds))
			handle_signals(d);
		int rfd = daemon_reload_fd(d);
		if (rfd >= 0 && FD_ISSET(rfd, &readfds))
			daemon_reload_done(d);
		if (d->prober)
			prober_read(d->prober); /* cheap when nothing is there */
		int cfd = live_capture(d) ? capture_fd(d->capture) : -1;
		if (cfd >= 0 && FD_ISSET(cfd, &readfds) && capture_read(d->capture, -1) < 0)
			daemon_capture_lost(d);
		if (d->bmp)
			bmp_server_run(d->bmp, &readfds);
		if (d->mdt.vpns_changed)
			daemon_vpns_discovered(d);
	}
	if (replaying(d))
		replay_some(d); /* expires as the capture's clock moves */
	if (clock_runs(d))
		passive_expire(d->model, mclock_now(&d->model->clock)); /* what is due: O(1) if none */
	tick(d);
	/* Judge what the engines just learned; the AgentX thread announces it. */
	alarms_run(d->model, mclock_now(&d->model->clock));
	history_turn(d); /* checkpoints and pair windows due; loss notices */
	size_t queued = d->model->alarms.queue.len;
	if (queued > d->notices_seen) /* new ones: once per turn that adds some */
		agentx_wake();
	d->notices_seen = queued;
	int64_t turn = monotonic_ns() - turn_start;
	if (turn > d->longest_turn)
		d->longest_turn = turn;
}

void loop_run(struct daemon *d)
{
	model_lock();
	d->next_tick = mclock_monotonic() + TICK_INTERVAL;
	while (!d->stopping && !agentx_failed())
		loop_once(d);
	model_unlock();
	if (agentx_failed())
		mvpn_log(LOG_ERR, "the AgentX subagent could not start: stopping");
}
