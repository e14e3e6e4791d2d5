/*
 * Logging for modules that must not call net-snmp (mib/, capture/, probe/):
 * the agent installs a sink that forwards to snmp_log; until then, stderr.
 */
#ifndef MVPN_LOG_H
#define MVPN_LOG_H

#include <stdarg.h>
#include <syslog.h>

typedef void (*mvpn_log_sink)(int priority, const char *fmt, va_list ap);

void mvpn_log_set_sink(mvpn_log_sink sink);
void mvpn_log(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
