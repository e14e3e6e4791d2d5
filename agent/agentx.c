#include "agentx.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "master.h"
#include "notify.h"
#include "../mib/log.h"

/* snmp_log is called from every thread (the engines, a reload's parse, this
 * one); one line at a time. */
static pthread_mutex_t log_guard = PTHREAD_MUTEX_INITIALIZER;

static void snmp_sink(int priority, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	pthread_mutex_lock(&log_guard);
	snmp_log(priority, "%s\n", msg);
	pthread_mutex_unlock(&log_guard);
}

void agentx_log_to_snmp(void)
{
	mvpn_log_set_sink(snmp_sink);
}

/* How long a request to the master (open, register, ping, notify) waits. */
#define AGENTX_ANSWER_SECONDS 5

/* What the thread needs from the configuration, copied: a reload may free it. */
struct agentx_settings {
	char *socket; /* NULL: net-snmp's default */
	long ping_interval;
};

static struct {
	pthread_t thread;
	bool started;
	int wake_fd; /* eventfd: the engines queued notices, or it is time to stop */
	atomic_bool stop;
	atomic_bool failed; /* could not start serving: the daemon stops */
	struct daemon *d;
	struct agentx_settings set;
} ax = {.wake_fd = -1};

static int agentx_init(struct daemon *d, const struct agentx_settings *set)
{
	netsnmp_ds_set_boolean(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_ROLE, 1);
	if (set->socket)
		netsnmp_ds_set_string(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_X_SOCKET,
				      set->socket);
	/* Timers run from our select loop, not from SIGALRM. */
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_ALARM_DONT_USE_SIG, 1);
	/* Our configuration is our own file; keep net-snmp from writing state anywhere. */
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
	if (init_agent("mvpnmond") != 0) {
		snmp_log(LOG_ERR, "cannot initialise the AgentX subagent\n");
		return -1;
	}
	/*
	 * The ping interval is what makes the subagent notice a dead master and
	 * reconnect (re-registering everything).  init_agent() resets it to its
	 * default, so it is set here, after init_agent() and before init_snmp().
	 */
	netsnmp_ds_set_int(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_AGENTX_PING_INTERVAL,
			   (int)set->ping_interval);
	/*
	 * AgentX runs over a stream (RFC 2741 7.1): nothing sent is lost in
	 * transit, so a retransmission only makes the master act twice (after a
	 * 30 s stall one notification reached a trap receiver six times: once
	 * and five retries).  One try, answered within AGENTX_ANSWER_SECONDS.
	 * net-snmp's subagent opens its session with the library's defaults
	 * (SNMP_DEFAULT_RETRIES and _TIMEOUT), not with the agentx ones, so the
	 * library's are set; its only sessions in mvpnmond are the AgentX ones.
	 */
	netsnmp_ds_set_int(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_RETRIES, 0);
	netsnmp_ds_set_int(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_TIMEOUT, AGENTX_ANSWER_SECONDS);
	master_init(d); /* before init_snmp(), which connects */
	if (views_register(d) < 0) {
		snmp_log(LOG_ERR, "cannot register MVPN-MONITOR-MIB\n");
		return -1;
	}
	/* The daemon never reads MIB text; loading it only fills the log with noise. */
	setenv("MIBS", "", 1);
	snmp_log(LOG_INFO, "mvpnmond %s: AgentX subagent on %s\n", MVPN_VERSION,
		 set->socket ? set->socket : "net-snmp's default socket");
	init_snmp("mvpnmond"); /* connects: may wait on the master, on this thread only */
	return 0;
}

static void add_fd(int fd, fd_set *set, int *numfds)
{
	FD_SET(fd, set);
	if (fd >= *numfds)
		*numfds = fd + 1;
}

/* One turn: net-snmp's sessions and timers, then the notices. */
static void agentx_turn(struct daemon *d)
{
	int numfds = 0, block = 0;
	fd_set readfds;
	struct timeval timeout = {.tv_sec = 1};
	uint64_t wakes;

	FD_ZERO(&readfds);
	snmp_select_info(&numfds, &readfds, &timeout, &block);
	add_fd(ax.wake_fd, &readfds, &numfds);
	int n = select(numfds, &readfds, NULL, NULL, block ? NULL : &timeout);
	if (n < 0) {
		if (errno != EINTR)
			mvpn_log(LOG_ERR, "agentx: select: %s", strerror(errno));
		return;
	}
	if (n > 0) {
		if (FD_ISSET(ax.wake_fd, &readfds)) {
			FD_CLR(ax.wake_fd, &readfds);
			if (read(ax.wake_fd, &wakes, sizeof(wakes)) < 0 && errno != EAGAIN)
				mvpn_log(LOG_ERR, "agentx: wake: %s", strerror(errno));
		}
		snmp_read(&readfds);
	} else {
		snmp_timeout();
	}
	run_alarms(); /* net-snmp's timers: its pings, reconnects, ours */
	notify_drain(d);
	netsnmp_check_outstanding_agent_requests();
}

static void *agentx_main(void *arg)
{
	struct daemon *d = arg;

	if (agentx_init(d, &ax.set) == 0) {
		while (!atomic_load(&ax.stop))
			agentx_turn(d);
	} else {
		atomic_store(&ax.failed, true);
	}
	notify_shutdown();
	snmp_shutdown("mvpnmond");
	shutdown_agent();
	return NULL;
}

int agentx_thread_start(struct daemon *d)
{
	const char *socket = d->agentx_socket_arg ? d->agentx_socket_arg : d->config->agentx_socket;

	ax.d = d;
	ax.set.ping_interval = d->config->agentx_ping_interval;
	ax.set.socket = socket ? strdup(socket) : NULL;
	ax.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if ((socket && !ax.set.socket) || ax.wake_fd < 0) {
		mvpn_log(LOG_ERR, "agentx: cannot start: %s", strerror(errno));
		return -1;
	}
	int rc = pthread_create(&ax.thread, NULL, agentx_main, d);
	if (rc != 0) {
		mvpn_log(LOG_ERR, "agentx: cannot start its thread: %s", strerror(rc));
		return -1;
	}
	ax.started = true;
	return 0;
}

bool agentx_failed(void)
{
	return atomic_load(&ax.failed);
}

void agentx_wake(void)
{
	uint64_t one = 1;

	if (ax.wake_fd >= 0 && write(ax.wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		mvpn_log(LOG_ERR, "agentx: wake: %s", strerror(errno));
}

bool agentx_thread_stop(int timeout_ms)
{
	struct timespec until;

	if (!ax.started)
		return true;
	atomic_store(&ax.stop, true);
	agentx_wake();
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	if (pthread_timedjoin_np(ax.thread, NULL, &until) != 0) {
		mvpn_log(LOG_WARNING, "agentx: the master does not answer; leaving without "
			 "closing the AgentX session");
		return false;
	}
	ax.started = false;
	close(ax.wake_fd);
	ax.wake_fd = -1;
	free(ax.set.socket);
	ax.set.socket = NULL;
	return true;
}
