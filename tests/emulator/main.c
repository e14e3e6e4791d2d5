/* pe-emulator: PE routers at the far end of user-space GRE tunnels, for the
 * probe tests and the demo.  Single-threaded: one poll over the GRE socket,
 * the scheduler's timer, a 100 ms housekeeping tick and a signalfd. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include "emu.h"

#define TICK_NS 100000000  /* housekeeping and log flush: every 100 ms */
#define RX_BATCH 64        /* packets read before the scheduler gets a turn */
#define RCVBUF_BYTES (4 << 20)
#define REALTIME_PRIORITY 10

struct options {
	const char *conf_path, *log_path, *pid_path;
};

struct loop {
	int signal_fd, tick_fd;
	int started;         /* everything open, pidfile written */
	int stopping;
};

static void usage(void)
{
	fputs("usage: pe-emulator -c CONF -l LOGFILE [-p PIDFILE]\n", stderr);
	exit(2);
}

static void parse_options(int argc, char **argv, struct options *o)
{
	int ch;
	memset(o, 0, sizeof(*o));
	while ((ch = getopt(argc, argv, "c:l:p:")) != -1) {
		switch (ch) {
		case 'c': o->conf_path = optarg; break;
		case 'l': o->log_path = optarg; break;
		case 'p': o->pid_path = optarg; break;
		default: usage();
		}
	}
	if (!o->conf_path || !o->log_path || optind != argc)
		usage();
}

static int open_gre_socket(void)
{
	int one = 1, size = RCVBUF_BYTES;
	int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_GRE);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int open_send_socket(void)
{
	/* IPPROTO_RAW implies IP_HDRINCL: the outer header is ours. */
	return socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
}

static int open_tick(void)
{
	struct itimerspec every = { .it_interval = { 0, TICK_NS }, .it_value = { 0, TICK_NS } };
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd >= 0 && timerfd_settime(fd, 0, &every, NULL) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int open_signals(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

static int write_pidfile(const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "%ld\n", (long)getpid());
	return fclose(f);
}

/* A busy test machine (2 CPUs, the monitor, scapy, pytest) otherwise wakes
 * us milliseconds late now and then; every wakeup here is short, so a
 * real-time priority costs the others little. */
static int use_realtime_priority(void)
{
	struct sched_param sp = { .sched_priority = REALTIME_PRIORITY };
	return sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &sp) == 0;
}

static void schedule_next_query(struct emu *e)
{
	double interval = e->conf->query_interval_s;
	e->next_query_ns = interval > 0 ? monotonic_ns() + llround(interval * 1e9) : 0;
}

static void log_config_event(struct emu *e, const char *ev)
{
	log_begin(&e->log, ev);
	log_str(&e->log, "conf", e->conf->path);
	log_u64(&e->log, "pes", e->conf->n_pes);
	log_u64(&e->log, "seed", e->conf->seed);
	if (!strcmp(ev, "start")) {
		log_bool(&e->log, "realtime", e->realtime);
		log_us(&e->log, "fixed_latency_us", SCHED_FIXED_LATENCY_NS);
	}
	log_end(&e->log);
	log_flush(&e->log);
}

static void reload(struct emu *e)
{
	char err[512];
	struct config *fresh;

	if (config_load(e->conf->path, &fresh, err, sizeof(err)) == 0 &&
	    tunnels_rebuild(&e->tunnels, fresh, &e->log) < 0) {
		snprintf(err, sizeof(err), "%s: out of memory", e->conf->path);
		config_free(fresh);
		fresh = NULL;
	}
	if (!fresh) {
		log_begin(&e->log, "reload-failed");
		log_str(&e->log, "error", err);
		log_end(&e->log);
		log_flush(&e->log);
		return;
	}
	if (fresh->seed != e->conf->seed)
		rng_seed(&e->rng, fresh->seed); /* same seed: the stream goes on */
	int interval_changed = fresh->query_interval_s != e->conf->query_interval_s;
	config_free(e->conf);
	e->conf = fresh;
	if (interval_changed)
		schedule_next_query(e);
	log_config_event(e, "reload");
}

/* The kernel's arrival time (and any news of packets the socket dropped). */
static int64_t read_control_messages(struct msghdr *msg, struct emu *e)
{
	int64_t arrival_ns = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;
			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			arrival_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
		} else if (c->cmsg_type == SO_RXQ_OVFL) {
			uint32_t dropped;
			memcpy(&dropped, CMSG_DATA(c), sizeof(dropped));
			if (dropped != e->rx_dropped) {
				e->stats.refused.rx_overflow += dropped - e->rx_dropped;
				log_begin(&e->log, "rx-overflow");
				log_u64(&e->log, "dropped", dropped - e->rx_dropped);
				log_end(&e->log);
				e->rx_dropped = dropped;
			}
		}
	}
	return arrival_ns ? arrival_ns : realtime_ns();
}

static void read_gre_packets(struct emu *e)
{
	static uint8_t packet[MAX_PACKET + 1];
	union { char buf[256]; struct cmsghdr align; } control;

	for (int i = 0; i < RX_BATCH; i++) {
		struct sockaddr_in from;
		struct iovec iov = { packet, sizeof(packet) };
		struct msghdr msg = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov,
				      .msg_iovlen = 1, .msg_control = control.buf,
				      .msg_controllen = sizeof(control.buf) };
		ssize_t n = recvmsg(e->gre_fd, &msg, MSG_DONTWAIT);
		if (n < 0)
			return; /* EAGAIN: drained; anything else: poll will tell again */
		int64_t arrival_ns = read_control_messages(&msg, e);
		if (msg.msg_flags & MSG_TRUNC)
			log_bad(e, "too-long", from.sin_addr.s_addr, 0);
		else
			route_gre(e, packet, (size_t)n, arrival_ns);
		output_send_due(e);
	}
}

static void tick(struct emu *e)
{
	int64_t now_ns = monotonic_ns();

	for (size_t i = 0; i < e->tunnels.n; i++)
		tunnel_expire(&e->tunnels.t[i], now_ns, &e->log);
	if (e->next_query_ns && now_ns >= e->next_query_ns) {
		output_queries(e);
		schedule_next_query(e);
	}
	log_flush(&e->log);
}

static void handle_signals(struct emu *e, struct loop *lp)
{
	struct signalfd_siginfo si;
	while (read(lp->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			reload(e);
		else
			lp->stopping = 1;
	}
}

static void run(struct emu *e, struct loop *lp)
{
	enum { GRE, TIMER, TICK, SIGNALS };
	struct pollfd fds[] = {
		[GRE] = { e->gre_fd, POLLIN, 0 },
		[TIMER] = { e->sched.timer_fd, POLLIN, 0 },
		[TICK] = { lp->tick_fd, POLLIN, 0 },
		[SIGNALS] = { lp->signal_fd, POLLIN, 0 },
	};
	while (!lp->stopping) {
		if (poll(fds, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_bad(e, "poll-failed", 0, 0);
			return;
		}
		if (fds[TIMER].revents)
			sched_timer_ack(&e->sched);
		output_send_due(e);
		if (fds[GRE].revents)
			read_gre_packets(e);
		if (fds[TICK].revents) {
			uint64_t expirations;
			if (read(lp->tick_fd, &expirations, sizeof(expirations)) > 0)
				tick(e);
		}
		if (fds[SIGNALS].revents)
			handle_signals(e, lp);
	}
}

static int start(struct emu *e, struct loop *lp, const struct options *o)
{
	char err[512];

	if (config_load(o->conf_path, &e->conf, err, sizeof(err))) {
		fprintf(stderr, "pe-emulator: %s\n", err);
		return -1;
	}
	if (log_open(&e->log, o->log_path)) {
		fprintf(stderr, "pe-emulator: %s: %s\n", o->log_path, strerror(errno));
		return -1;
	}
	if (tunnels_rebuild(&e->tunnels, e->conf, &e->log) || sched_init(&e->sched)) {
		fprintf(stderr, "pe-emulator: %s\n", strerror(errno));
		return -1;
	}
	/* Timers to the nanosecond: the default 50 us slack would be a systematic delay. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	e->realtime = use_realtime_priority();
	e->gre_fd = open_gre_socket();
	e->send_fd = open_send_socket();
	lp->tick_fd = open_tick();
	lp->signal_fd = open_signals();
	if (e->gre_fd < 0 || e->send_fd < 0 || lp->tick_fd < 0 || lp->signal_fd < 0) {
		fprintf(stderr, "pe-emulator: cannot open sockets: %s\n", strerror(errno));
		return -1;
	}
	if (o->pid_path && write_pidfile(o->pid_path)) {
		fprintf(stderr, "pe-emulator: %s: %s\n", o->pid_path, strerror(errno));
		return -1;
	}
	lp->started = 1;
	rng_seed(&e->rng, e->conf->seed);
	schedule_next_query(e);
	log_config_event(e, "start");
	return 0;
}

static void close_if_open(int fd)
{
	if (fd >= 0)
		close(fd);
}

static void finish(struct emu *e, struct loop *lp, const struct options *o)
{
	if (lp->started) {
		output_abandon_pending(e);
		stats_log_summary(&e->stats, e->conf, &e->log);
		if (o->pid_path)
			unlink(o->pid_path);
	}
	log_close(&e->log);
	sched_destroy(&e->sched);
	tunnels_free(&e->tunnels);
	stats_free(&e->stats);
	config_free(e->conf);
	close_if_open(e->gre_fd);
	close_if_open(e->send_fd);
	close_if_open(lp->tick_fd);
	close_if_open(lp->signal_fd);
}

int main(int argc, char **argv)
{
	struct options o;
	struct emu e;
	struct loop lp = { .signal_fd = -1, .tick_fd = -1 };

	parse_options(argc, argv, &o);
	memset(&e, 0, sizeof(e));
	e.gre_fd = e.send_fd = e.sched.timer_fd = -1;
	if (start(&e, &lp, &o)) {
		finish(&e, &lp, &o);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	run(&e, &lp);
	finish(&e, &lp, &o);
	return 0;
}
