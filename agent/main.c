/* mvpnmond: MVPN monitor, an AgentX subagent serving MVPN-MONITOR-MIB. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../capture/engine.h"
#include "agentx.h"
#include "bmp_listen.h"
#include "daemon.h"
#include "history.h"
#include "loop.h"
#include "modellock.h"
#include "privilege.h"
#include "process.h"
#include "../mib/log.h"

#define DEFAULT_CONFIG "/etc/mvpnmon/mvpnmond.conf"
/* How long a stop waits for the AgentX thread to close its session. */
#define AGENTX_STOP_WAIT_MS 3000

static void usage(FILE *out)
{
	fprintf(out,
		"usage: mvpnmond [-fhnV] [-c FILE] [-r CAPTURE | -i IF] [-x SOCKET] [-p PIDFILE]\n"
		"                [-D TOKENS] [-L OPTS]\n"
		"  -c FILE     configuration file (default " DEFAULT_CONFIG ")\n"
		"  -r CAPTURE  replay a pcap/pcapng file (its timestamps are the clock), then\n"
		"              keep serving the final state (overrides capture-file)\n"
		"  -i IF       capture live on interface IF (overrides capture-interface)\n"
		"  -x SOCKET   AgentX socket of the master agent (overrides agentx-socket)\n"
		"  -f          stay in the foreground\n"
		"  -n          check the configuration (errors as file:line on stderr) and exit:\n"
		"              0 if it loads, 78 if not\n"
		"  -p PIDFILE  lock PIDFILE (a second instance exits), write the process id\n"
		"              there, remove it on exit\n"
		"  -D TOKENS   net-snmp debug tokens, e.g. -Dagentx\n"
		"  -L OPTS     logging as snmpd's -L: -Le stderr, -Lf FILE, -Ls FACILITY, ...\n"
		"  -V          print the version and exit\n"
		"  -h          this help\n");
}

/* Returns 0 to run, or an exit status (+1) when the options say to stop. */
static int parse_options(struct daemon *d, int argc, char **argv, int *exit_status)
{
	int opt;
	bool logging_set = false;

	while ((opt = getopt(argc, argv, "c:r:i:x:fnp:D:L:Vh")) != -1) {
		switch (opt) {
		case 'c': d->config_path = optarg; break;
		case 'r': d->capture_file_arg = optarg; break;
		case 'i': d->capture_interface_arg = optarg; break;
		case 'x': d->agentx_socket_arg = optarg; break;
		case 'f': d->foreground = true; break;
		case 'n': d->check_only = true; break;
		case 'p': d->pidfile = optarg; break;
		case 'D':
			debug_register_tokens(optarg);
			snmp_set_do_debugging(1);
			break;
		case 'L':
			if (snmp_log_options(optarg, argc, argv) < 0) {
				usage(stderr);
				*exit_status = 2;
				return 1;
			}
			logging_set = true;
			break;
		case 'V': printf("mvpnmond %s\n", MVPN_VERSION); *exit_status = 0; return 1;
		case 'h': usage(stdout); *exit_status = 0; return 1;
		default: usage(stderr); *exit_status = 2; return 1;
		}
	}
	if (optind != argc || (d->capture_file_arg && d->capture_interface_arg)) {
		usage(stderr);
		*exit_status = 2;
		return 1;
	}
	/* As snmpd: stderr in the foreground, syslog (daemon facility) in the background;
	 * there stderr too until detached, so that a failure to start is seen. */
	if (!logging_set)
		snmp_enable_stderrlog();
	if (!logging_set && !d->foreground && !d->check_only)
		snmp_enable_syslog_ident("mvpnmond", LOG_DAEMON);
	return 0;
}

/* At a stop, the history writer gets this long to write what waits; what
 * it cannot is counted lost (a kill -9 loses the unflushed batch anyway). */
#define HISTORY_STOP_WAIT_MS 5000

static int start_history(struct daemon *d)
{
	char err[256];

	if (history_start(d, err, sizeof(err)) < 0) {
		mvpn_log(LOG_ERR, "history: %s", err);
		return -1;
	}
	/* The load that started us, which the writer did not exist for. */
	history_config_loaded(d, true, (uint32_t)d->model->n_vpns, 0, 0);
	return 0;
}

/* The SQLite store was opened (created) as root: the user must be able to
 * open it again.  SQLite, running as root, gives the WAL and shared-memory
 * files it creates later the database file's owner; those made already are
 * given here too. */
static void give_history(const struct daemon *d)
{
	const char *file = d->config->history.enabled ? d->config->history.file : NULL;
	static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
	char path[4096];

	for (size_t i = 0; file && i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", file, suffixes[i]);
		privilege_give(d->config->user, path);
	}
}

/* The configured user, with what it must reopen given to it first. */
static int become_user(const struct daemon *d, bool keep_net_raw)
{
	give_history(d);
	return privilege_drop(d->config->user, keep_net_raw);
}

int main(int argc, char **argv)
{
	struct daemon d = {.config_path = DEFAULT_CONFIG, .signal_fd = -1};
	struct process proc = PROCESS_INIT;
	int status = 0;

	agentx_log_to_snmp();
	process_log_init();
	if (parse_options(&d, argc, argv, &status))
		return status;
	/* -n opens nothing and names the file as it was given. */
	if (!d.check_only && (process_resolve_options(&proc, &d) < 0 ||
			      (d.pidfile && process_lock_pidfile(&proc, d.pidfile) < 0))) {
		process_end(&proc);
		return 1;
	}
	/* Before the first load: a SIGHUP during it is a reload done after it,
	 * and a SIGTERM stops the daemon once it is up, instead of killing it.
	 * The signalfd and the blocked mask survive the fork of process_detach. */
	if (!d.check_only && loop_signals_open(&d) < 0) {
		mvpn_log(LOG_ERR, "cannot set up signals: %s", strerror(errno));
		process_end(&proc);
		return 1;
	}
	struct config *c = config_load(d.config_path);
	if (!c) {
		process_end(&proc);
		return EXIT_CONFIG;
	}
	/* -n, as snmpd -t or ospfd -C: the same load a start or a reload does. */
	if (d.check_only) {
		printf("%s: configuration OK (%zu VPNs)\n", d.config_path, c->n_vpns);
		config_free(c);
		return 0;
	}
	/* The command line wins over the file; a file and an interface exclude each other. */
	const char *file = d.capture_file_arg, *iface = d.capture_interface_arg;
	if (!file && !iface) {
		file = c->capture_file;
		iface = c->capture_interface;
	}
	if (process_resolve_config(&proc, &d, c, &file) == 0 && !(d.model = model_new(file != NULL)))
		mvpn_log(LOG_ERR, "out of memory");
	if (!d.model) {
		config_free(c);
		process_end(&proc);
		return 1;
	}
	daemon_apply_config(&d, c);
	/* What can fail for the caller to see fails before detaching: the capture is
	 * opened (and a file's header read) here, in the foreground. */
	if ((file || iface) && daemon_open_capture(&d, file, iface) < 0)
		status = 1;
	else if (d.config->bmp.enabled && !d.bmp)
		status = 1; /* the listening socket could not be opened (logged) */
	else if (!d.foreground && process_detach(&proc, file && strcmp(file, "-") == 0) < 0)
		status = 1;
	else if (process_write_pidfile(&proc) < 0)
		status = 1;
	/* After the fork (its writer is a thread), before the parent is told we
	 * are up: a store that cannot be opened fails the start. */
	else if (start_history(&d) < 0)
		status = 1;
	/* Everything privileged is open: the capture, the probe sockets, the log. */
	else if (d.config->user && become_user(&d, file == NULL) < 0)
		status = 1;
	else if (agentx_thread_start(&d) < 0)
		status = 1;
	else {
		if (!model_start_reserve(d.model))
			mvpn_log(LOG_NOTICE, "no thread to fault the model's memory in ahead: "
				 "the engine thread does it");
		process_started(&proc);
		loop_run(&d);
	}
	status = status || agentx_failed();
	daemon_reload_close(&d);
	/* A master that never answers holds the AgentX thread: then it may still
	 * read the model, which is left alone (the process ends anyway). */
	bool agentx_ended = agentx_thread_stop(AGENTX_STOP_WAIT_MS);
	model_lock();
	history_stopping(&d);
	daemon_close_prober(&d);
	daemon_close_capture(&d);
	daemon_close_bmp(&d);
	history_stop(&d, HISTORY_STOP_WAIT_MS); /* the last checkpoint, then what waits */
	model_unlock();
	process_end(&proc);
	if (!agentx_ended) {
		/* The AgentX thread still holds the model and net-snmp's state:
		 * end here, without the exit handlers that would free them. */
		fflush(NULL);
		_exit(status);
	}
	config_free(d.config);
	daemon_free_retired(&d);
	bgp_mdt_free(&d.mdt);
	bgp_mvpn_free(&d.mvpn);
	model_free(d.model);
	close(d.signal_fd);
	return status;
}
