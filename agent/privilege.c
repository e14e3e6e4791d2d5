#include "privilege.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../mib/log.h"

/* capset(2) without libcap: only CAP_NET_RAW, or nothing, permitted and effective. */
static int set_capabilities(bool keep_net_raw)
{
	struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {{0}};

	if (keep_net_raw)
		data[0].permitted = data[0].effective = 1u << CAP_NET_RAW;
	return (int)syscall(SYS_capset, &header, data);
}

int privilege_give(const char *user, const char *path)
{
	struct passwd *pw;
	struct stat st;

	errno = 0;
	if (!(pw = getpwnam(user)))
		return -1; /* privilege_drop says why */
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISREG(st.st_mode) || (st.st_uid == pw->pw_uid && st.st_gid == pw->pw_gid))
		return 0;
	if (chown(path, pw->pw_uid, pw->pw_gid) < 0) {
		mvpn_log(LOG_WARNING, "cannot give %s to user \"%s\": %s; a reopen after a failure "
			 "will be refused", path, user, strerror(errno));
		return -1;
	}
	return 0;
}

int privilege_drop(const char *user, bool keep_net_raw)
{
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(user);
	if (!pw) {
		mvpn_log(LOG_ERR, "user \"%s\": %s", user, errno ? strerror(errno) : "no such user");
		return -1;
	}
	if (getuid() == pw->pw_uid && geteuid() == pw->pw_uid && !keep_net_raw)
		return 0; /* already that user */
	/* Keep the permitted set across setuid(), to trim it to CAP_NET_RAW after. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 || initgroups(user, pw->pw_gid) < 0 ||
	    setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
		mvpn_log(LOG_ERR, "cannot become user \"%s\": %s", user, strerror(errno));
		return -1;
	}
	if (set_capabilities(keep_net_raw) < 0 || prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		mvpn_log(LOG_ERR, "cannot drop capabilities: %s", strerror(errno));
		return -1;
	}
	if (pw->pw_uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		mvpn_log(LOG_ERR, "user \"%s\": root could be regained; stopping", user);
		return -1;
	}
	mvpn_log(LOG_INFO, "running as user %s (uid %u, gid %u)%s", user, (unsigned)pw->pw_uid,
		 (unsigned)pw->pw_gid, keep_net_raw ? " with CAP_NET_RAW only" : ", no capabilities");
	return 0;
}
