#include "process.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "../mib/log.h"

void process_log_init(void)
{
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_APPEND_LOGFILES, 1);
}

static bool same_file(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
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
