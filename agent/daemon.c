#include "daemon.h"

#include <string.h>

#include "../mib/log.h"

static void settings_from_config(struct model *m, const struct config *c)
{
	m->settings.startup_grace = (mtime_t)c->startup_grace * MTIME_SEC;
	m->settings.change_log_size = c->change_log_size;
	m->settings.notify_rate_limit = c->notify_rate_limit;
	m->settings.notify_rate_interval = c->notify_rate_interval;
}

static bool same_string(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* What a reload cannot change under a running process: say so instead of ignoring it. */
static void warn_restart_only(const struct config *old, const struct config *c)
{
	if (!same_string(old->agentx_socket, c->agentx_socket))
		mvpn_log(LOG_WARNING, "agentx-socket changed: takes effect when mvpnmond restarts");
	if (!same_string(old->capture_interface, c->capture_interface) ||
	    !same_string(old->capture_file, c->capture_file))
		mvpn_log(LOG_WARNING, "capture source changed: takes effect when mvpnmond restarts");
	if (old->agentx_ping_interval != c->agentx_ping_interval)
		mvpn_log(LOG_WARNING,
			 "agentx-ping-interval changed: takes effect when mvpnmond restarts");
}

/* Removes VPNs the new configuration no longer has; returns how many. */
static unsigned remove_dropped_vpns(struct model *m, const struct config *c)
{
	unsigned removed = 0;

	for (size_t i = m->n_vpns; i-- > 0;) {
		uint32_t index = m->vpns[i]->index;
		bool kept = false;
		for (size_t j = 0; j < c->n_vpns && !kept; j++)
			kept = c->vpns[j].index == index;
		if (!kept) {
			mvpn_log(LOG_INFO, "vpn \"%s\" (index %u) removed", m->vpns[i]->name, index);
			vpn_remove(m, index);
			removed++;
		}
	}
	return removed;
}

void daemon_apply_config(struct daemon *d, struct config *c)
{
	struct model *m = d->model;
	unsigned added = 0, removed;

	if (d->config)
		warn_restart_only(d->config, c);
	settings_from_config(m, c);
	removed = remove_dropped_vpns(m, c);
	for (size_t i = 0; i < c->n_vpns; i++) {
		const struct vpn_config *vc = &c->vpns[i];
		bool existed = vpn_find(m, vc->index) != NULL;
		struct vpn *v = vpn_get(m, vc->index);

		if (!v || !vpn_configure(v, vc->name, &vc->default_mdt, vc->expected_pes,
					 vc->n_expected)) {
			mvpn_log(LOG_ERR, "out of memory configuring vpn \"%s\"", vc->name);
			continue;
		}
		added += !existed;
	}
	m->g.config_loads++;
	m->g.config_last_load = mclock_now(&m->clock);
	config_free(d->config);
	d->config = c;
	mvpn_log(LOG_INFO, "configuration %s: %zu VPNs (%u added, %u removed)", d->config_path,
		 c->n_vpns, added, removed);
}

void daemon_reload(struct daemon *d)
{
	struct config *c = config_load(d->config_path);

	if (!c) {
		d->model->g.config_load_failures++;
		mvpn_log(LOG_ERR, "reload of %s failed; keeping the previous configuration",
			 d->config_path);
		return;
	}
	daemon_apply_config(d, c);
}
