#include "loop.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/select.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "daemon.h"
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

static void loop_once(struct daemon *d)
{
	int numfds = 0, block = 0;
	fd_set readfds;
	struct timeval timeout = {.tv_sec = 1};

	FD_ZERO(&readfds);
	snmp_select_info(&numfds, &readfds, &timeout, &block);
	FD_SET(d->signal_fd, &readfds);
	if (d->signal_fd >= numfds)
		numfds = d->signal_fd + 1;
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
		snmp_read(&readfds);
	} else {
		snmp_timeout();
	}
	run_alarms();
	netsnmp_check_outstanding_agent_requests();
}

void loop_run(struct daemon *d)
{
	while (!d->stopping)
		loop_once(d);
}
