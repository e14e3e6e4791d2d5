#include "log.h"

#include <stdio.h>

/* The one process-wide sink, like syslog's own state. */
static mvpn_log_sink log_sink;

void mvpn_log_set_sink(mvpn_log_sink sink)
{
	log_sink = sink;
}

void mvpn_log(int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (log_sink) {
		log_sink(priority, fmt, ap);
	} else {
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}
