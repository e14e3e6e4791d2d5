#include "process.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "config.h"
#include "daemon.h"
#include "../mib/log.h"

void process_log_init(void)
{
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_APPEND_LOGFILES, 1);
}

/* ---- paths ---- */

/* cwd/path with any leading "./" dropped; NULL (logged) when cwd is unknown. */
static char *absolute(const char *path)
{
	char *cwd = getcwd(NULL, 0), *out = NULL;

	if (!cwd) {
		mvpn_log(LOG_ERR, "%s: cannot make the path absolute: %s", path, strerror(errno));
		return NULL;
	}
	while (path[0] == '.' && path[1] == '/')
		path += 2;
	if (asprintf(&out, "%s%s%s", cwd, strcmp(cwd, "/") ? "/" : "", path) < 0) {
		mvpn_log(LOG_ERR, "out of memory");
		out = NULL;
	}
	free(cwd);
	return out;
}

/* *path made absolute in p's slot when relative; "-" (the standard input) stays. */
static int resolve(struct process *p, enum process_path slot, const char **path)
{
	if (!*path || (*path)[0] == '/' || strcmp(*path, "-") == 0)
		return 0;
	free(p->paths[slot]);
	p->paths[slot] = absolute(*path);
	if (!p->paths[slot])
		return -1;
	*path = p->paths[slot];
	return 0;
}

/* net-snmp takes "unix:PATH", and a string without a domain as a unix socket
 * first; anything else (tcp:host:port) is no path. */
static int resolve_socket(struct process *p, const char **socket)
{
	const char *s = *socket, *path = s;
	bool prefixed = s && strncmp(s, "unix:", 5) == 0;

	if (prefixed)
		path += 5;
	else if (!s || strchr(s, ':'))
		return 0;
	if (resolve(p, PROCESS_SOCKET, &path) < 0)
		return -1;
	if (prefixed && path != s + 5) {
		char *with = NULL;
		if (asprintf(&with, "unix:%s", path) < 0) {
			mvpn_log(LOG_ERR, "out of memory");
			return -1;
		}
		free(p->paths[PROCESS_SOCKET]);
		p->paths[PROCESS_SOCKET] = with;
		path = with;
	}
	*socket = path;
	return 0;
}

/* net-snmp reopens a log file by the name it was given (netsnmp_logging_restart,
 * and ours): give it the absolute one while the relative one still means it. */
static int resolve_log_files(void)
{
	for (netsnmp_log_handler *h = get_logh_head(); h; h = h->next) {
		if (h->type != NETSNMP_LOGHANDLER_FILE || !h->token || h->token[0] == '/')
			continue;
		char *abs = absolute(h->token);
		if (!abs)
			return -1;
		free((char *)h->token); /* net-snmp's strdup; it frees ours the same way */
		h->token = abs;
	}
	return 0;
}

int process_resolve_options(struct process *p, struct daemon *d)
{
	if (resolve(p, PROCESS_CONFIG, &d->config_path) < 0 ||
	    resolve(p, PROCESS_CAPTURE, &d->capture_file_arg) < 0 ||
	    resolve_socket(p, &d->agentx_socket_arg) < 0 ||
	    resolve(p, PROCESS_PIDFILE, &d->pidfile) < 0)
		return -1;
	return resolve_log_files();
}

int process_resolve_config(struct process *p, struct daemon *d, const struct config *c,
			   const char **file)
{
	if (*file == c->capture_file && resolve(p, PROCESS_CAPTURE, file) < 0)
		return -1;
	if (d->agentx_socket_arg || !c->agentx_socket)
		return 0;
	d->agentx_socket_arg = c->agentx_socket;
	return resolve_socket(p, &d->agentx_socket_arg);
}

/* ---- the pidfile ---- */

static bool same_file(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

/* The lock is taken: say by whom, from what the holder wrote in the file. */
static void report_holder(int fd, const char *path)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	long pid = 0;

	if (n > 0) {
		buf[n] = '\0';
		pid = strtol(buf, NULL, 10);
	}
	if (pid > 0)
		mvpn_log(LOG_ERR, "%s: another mvpnmond is running (pid %ld); not starting",
			 path, pid);
	else
		mvpn_log(LOG_ERR, "%s: another mvpnmond holds it and is still starting; not starting",
			 path);
}

/* Opens and locks path; 1 if it was unlinked meanwhile (try again), 0, or -1. */
static int lock_once(struct process *p, const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	struct stat st;

	if (fd < 0) {
		mvpn_log(LOG_ERR, "%s: cannot open the pidfile: %s", path, strerror(errno));
		return -1;
	}
	/* It is written over and removed at exit: never a device or a fifo. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		mvpn_log(LOG_ERR, "%s: the pidfile must be a regular file", path);
		close(fd);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			report_holder(fd, path);
		else
			mvpn_log(LOG_ERR, "%s: cannot lock the pidfile: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	/* An instance on its way out unlinks the file while it holds the lock:
	 * a lock on that file protects nothing, the path's file is the one. */
	if (!same_file(fd, path)) {
		close(fd);
		return 1;
	}
	p->pidfile_fd = fd;
	p->pidfile = path;
	return 0;
}

int process_lock_pidfile(struct process *p, const char *path)
{
	for (int attempt = 0; attempt < 10; attempt++) {
		int rc = lock_once(p, path);
		if (rc <= 0)
			return rc;
	}
	mvpn_log(LOG_ERR, "%s: the pidfile keeps being replaced; not starting", path);
	return -1;
}

/* Written in place (a rename would leave the lock on the old file): the new
 * digits first, then the length, so a reader never finds the file empty. */
int process_write_pidfile(struct process *p)
{
	char buf[32];
	int len;

	if (p->pidfile_fd < 0)
		return 0;
	len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (pwrite(p->pidfile_fd, buf, (size_t)len, 0) != len ||
	    ftruncate(p->pidfile_fd, len) < 0) {
		mvpn_log(LOG_ERR, "%s: cannot write the pidfile: %s", p->pidfile, strerror(errno));
		return -1;
	}
	return 0;
}

void process_end(struct process *p)
{
	if (p->pidfile_fd >= 0) {
		/* Removed from under us and taken by another instance: that one is its. */
		if (same_file(p->pidfile_fd, p->pidfile) && unlink(p->pidfile) < 0)
			mvpn_log(LOG_WARNING, "%s: cannot remove the pidfile: %s", p->pidfile,
				 strerror(errno));
		close(p->pidfile_fd);
		p->pidfile_fd = -1;
	}
	if (p->ready_fd >= 0)
		close(p->ready_fd);
	p->ready_fd = -1;
	for (int i = 0; i < PROCESS_PATHS; i++) {
		free(p->paths[i]);
		p->paths[i] = NULL;
	}
}

/* ---- detaching ---- */

/* The parent: the child's word that it started, or its exit status. */
_Noreturn static void wait_for_child(pid_t child, int ready)
{
	char byte;
	ssize_t n;
	int st;

	do
		n = read(ready, &byte, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1)
		_exit(0);
	while (waitpid(child, &st, 0) < 0)
		if (errno != EINTR)
			_exit(1);
	_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

static int redirect_to_null(int first, int last)
{
	int null = open("/dev/null", O_RDWR);

	if (null < 0)
		return -1;
	for (int fd = first; fd <= last; fd++)
		dup2(null, fd);
	if (null > STDERR_FILENO)
		close(null);
	return 0;
}

int process_detach(struct process *p, bool keep_stdin)
{
	int ready[2];
	pid_t pid;

	if (pipe2(ready, O_CLOEXEC) < 0) {
		mvpn_log(LOG_ERR, "cannot become a daemon: %s", strerror(errno));
		return -1;
	}
	fflush(NULL); /* or the child writes the parent's buffers again */
	pid = fork();
	if (pid < 0) {
		mvpn_log(LOG_ERR, "cannot become a daemon: %s", strerror(errno));
		close(ready[0]);
		close(ready[1]);
		return -1;
	}
	if (pid > 0) {
		close(ready[1]);
		wait_for_child(pid, ready[0]);
	}
	close(ready[0]);
	p->ready_fd = ready[1];
	p->detached = true;
	/* stdout and stderr stay the caller's until we have started, so that what
	 * fails on the way is seen where mvpnmond was started. */
	if (setsid() < 0 || chdir("/") < 0 ||
	    (!keep_stdin && redirect_to_null(STDIN_FILENO, STDIN_FILENO) < 0)) {
		mvpn_log(LOG_ERR, "cannot become a daemon: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void process_started(struct process *p)
{
	if (!p->detached)
		return;
	/* Standard error is about to be /dev/null: logging there is wasted. */
	snmp_disable_stderrlog();
	fflush(NULL);
	if (redirect_to_null(STDOUT_FILENO, STDERR_FILENO) < 0)
		mvpn_log(LOG_WARNING, "/dev/null: %s; keeping the terminal", strerror(errno));
	if (write(p->ready_fd, "", 1) != 1)
		mvpn_log(LOG_WARNING, "cannot tell the starting process we started: %s",
			 strerror(errno));
	close(p->ready_fd);
	p->ready_fd = -1;
}

/* ---- the log file ---- */

/* One -Lf file: skip it while the name still leads to it (a reload without a
 * rotation), and open the new file before the old is let go. */
static int reopen_file_handler(netsnmp_log_handler *h)
{
	FILE *old = h->magic, *f;

	if (same_file(fileno(old), h->token))
		return 0;
	f = fopen(h->token, "ae");
	if (!f) {
		mvpn_log(LOG_ERR, "%s: cannot reopen the log: %s; still writing to the file "
			 "it was", h->token, strerror(errno));
		return -1;
	}
	netsnmp_set_line_buffering(f);
	h->magic = f;
	fclose(old);
	mvpn_log(LOG_INFO, "log %s reopened", h->token);
	return 0;
}

int process_reopen_log(void)
{
	int rc = 0;

	for (netsnmp_log_handler *h = get_logh_head(); h; h = h->next)
		if (h->type == NETSNMP_LOGHANDLER_FILE && h->enabled && h->magic && h->token &&
		    reopen_file_handler(h) < 0)
			rc = -1;
	return rc;
}
