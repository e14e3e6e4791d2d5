#include "daemon.h"

#include "bmp_listen.h"
#include "history.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../capture/engine.h"
#include "../probe/engine.h"
#include "../mib/bgpmdt.h"
#include "../mib/log.h"
#include "../mib/passive.h"

static void settings_from_config(struct model *m, const struct config *c)
{
	m->settings.startup_grace = (mtime_t)c->startup_grace * MTIME_SEC;
	m->settings.max_pes_per_vpn = c->max_pes_per_vpn;
	m->settings.max_cgroups_per_vpn = c->max_cgroups_per_vpn;
	m->settings.max_data_mdts_per_vpn = c->max_data_mdts_per_vpn;
	if (!changelog_resize(&m->changes, c->change_log_size))
		mvpn_log(LOG_ERR, "out of memory resizing the change log to %u rows; kept %u",
			 c->change_log_size, m->changes.capacity);
	m->settings.notify_rate_limit = c->notify_rate_limit;
	m->settings.notify_rate_interval = c->notify_rate_interval;
	if (!alarms_set_rate_limit(&m->alarms, c->notify_rate_limit,
				   (mtime_t)c->notify_rate_interval * MTIME_SEC))
		m->settings.notify_rate_limit = 0; /* as it now is: unlimited */
	m->settings.pe_check_interval = (mtime_t)c->pe_check_interval * MTIME_SEC;
	m->settings.bgp_settle = (mtime_t)c->bmp.settle * MTIME_SEC;
}

static bool same_string(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool same_history(const struct history_config *a, const struct history_config *b)
{
	return a->enabled == b->enabled && same_string(a->file, b->file) &&
	       same_string(a->postgres, b->postgres) && same_string(a->monitor, b->monitor) &&
	       a->flush_interval_ms == b->flush_interval_ms && a->queue == b->queue &&
	       a->batch == b->batch && a->checkpoint_interval == b->checkpoint_interval &&
	       a->retain_days == b->retain_days && a->retain_mb == b->retain_mb;
}

/* What a reload cannot change under a running process: say so instead of ignoring it. */
static void warn_restart_only(const struct config *old, const struct config *c)
{
	if (!same_string(old->agentx_socket, c->agentx_socket))
		mvpn_log(LOG_WARNING, "agentx-socket changed: takes effect when mvpnmond restarts");
	if (!same_string(old->capture_interface, c->capture_interface) ||
	    !same_string(old->capture_file, c->capture_file))
		mvpn_log(LOG_WARNING, "capture source changed: takes effect when mvpnmond restarts");
	if (!same_string(old->user, c->user))
		mvpn_log(LOG_WARNING, "user changed: takes effect when mvpnmond restarts");
	if (old->agentx_ping_interval != c->agentx_ping_interval)
		mvpn_log(LOG_WARNING,
			 "agentx-ping-interval changed: takes effect when mvpnmond restarts");
	if (!same_history(&old->history, &c->history))
		mvpn_log(LOG_WARNING, "history changed: takes effect when mvpnmond restarts");
}

/*
 * A reload logs its summary, and VPN by VPN only the first few of each kind
 * of change: 1,600 reloads of 300 VPNs once wrote 455 MB of log.
 */
#define RELOAD_DETAIL_LINES 10

struct apply_counts {
	unsigned added, removed, reset;
};

/* model_set_vpns's word on a VPN the new configuration no longer has. */
static void log_removed(void *arg, const struct vpn *v)
{
	struct apply_counts *n = arg;

	if (n->removed++ < RELOAD_DETAIL_LINES)
		mvpn_log(LOG_INFO, "vpn \"%s\" (index %u) removed", v->name, v->index);
}

/*
 * Another default MDT is another tree: what was learned on the old one no
 * longer holds.  One walk of the two lists, both sorted by index.
 */
static void forget_moved_vpns(struct model *m, const struct config *c, struct apply_counts *n)
{
	for (size_t i = 0, k = 0; i < m->n_vpns && k < c->n_vpns;) {
		struct vpn *v = m->vpns[i];
		const struct vpn_config *vc = &c->vpns[k];

		if (v->index != vc->index) {
			i += v->index < vc->index;
			k += vc->index < v->index;
			continue;
		}
		if (!inet_addr_eq(&v->default_mdt, &vc->default_mdt)) {
			if (n->reset++ < RELOAD_DETAIL_LINES)
				mvpn_log(LOG_INFO, "vpn \"%s\" (index %u): default MDT changed, "
					 "learned state reset", vc->name, vc->index);
			vpn_forget(v);
		}
		i++, k++;
	}
}

/*
 * The model's VPNs become the configuration's in one merge (model_set_vpns):
 * those that stay keep their state, and the cost is linear in the number of
 * VPNs, whatever is added or removed.
 */
static bool configured_mdt(const struct config *c, const struct inet_addr *mdt)
{
	for (size_t i = 0; i < c->n_vpns; i++)
		if (inet_addr_eq(&c->vpns[i].default_mdt, mdt))
			return true;
	return false;
}

/* A VPN discovery made stays while discovery is on, no configured VPN takes
 * its index or its default MDT, and BGP advertises a PE of it or a PE of it
 * is active (mvpnVpnOrigin).  O(VPNs x configured VPNs) for the discovered
 * ones only: a thousand at most (max-discovered-vpns). */
static bool keep_discovered(const struct config *c, const struct vpn *v)
{
	struct pe_counts pc;

	if (!v->discovered || !c->bmp.enabled || !c->bmp.discover || configured_mdt(c, &v->default_mdt))
		return false;
	for (size_t i = 0; i < c->n_vpns; i++)
		if (c->vpns[i].index == v->index)
			return false;
	vpn_pe_counts(NULL, v, &pc); /* needs no model */
	return pc.bgp > 0 || pc.active > 0;
}

/* The configured indexes and the kept discovered ones, merged in order. */
static size_t wanted_indexes(const struct model *m, const struct config *c, uint32_t *out)
{
	size_t n = 0, k = 0;

	for (size_t i = 0; i < m->n_vpns; i++) {
		const struct vpn *v = m->vpns[i];
		if (!keep_discovered(c, v))
			continue;
		while (k < c->n_vpns && c->vpns[k].index < v->index)
			out[n++] = c->vpns[k++].index;
		out[n++] = v->index;
	}
	while (k < c->n_vpns)
		out[n++] = c->vpns[k++].index;
	return n;
}

static void set_vpns(struct model *m, const struct config *c, struct apply_counts *n)
{
	size_t before = m->n_vpns, want = 0;
	uint32_t *indexes = malloc((c->n_vpns + m->n_vpns + 1) * sizeof(*indexes));

	if (indexes)
		want = wanted_indexes(m, c, indexes);
	if (!indexes || !model_set_vpns(m, indexes, want, log_removed, n))
		mvpn_log(LOG_ERR, "out of memory applying %zu VPNs: the VPNs stay as they were; "
			 "those of them still configured are reconfigured", c->n_vpns);
	else
		n->added = (unsigned)(want + n->removed - before);
	free(indexes);
}

/* The configured PE names, into the model: a copy, so the model owns what
 * the views read, whatever becomes of the configuration. */
static void set_pe_names(struct model *m, const struct config *c)
{
	struct pe_name *names = c->n_pes ? malloc(c->n_pes * sizeof(*names)) : NULL;

	if (c->n_pes && !names) {
		mvpn_log(LOG_ERR, "out of memory: the %zu PE names stay as they were", c->n_pes);
		return;
	}
	for (size_t i = 0; i < c->n_pes; i++) {
		names[i].addr = c->pes[i].addr;
		memcpy(names[i].name, c->pes[i].name, sizeof(names[i].name));
	}
	pe_names_set(&m->pe_names, names, c->n_pes);
}

static void log_applied(const struct daemon *d, const struct config *c,
			const struct apply_counts *n)
{
	char more[96] = "";

	if (n->removed > RELOAD_DETAIL_LINES || n->reset > RELOAD_DETAIL_LINES)
		snprintf(more, sizeof(more), "; the first %d of each logged above",
			 RELOAD_DETAIL_LINES);
	mvpn_log(LOG_INFO, "configuration %s: %zu VPNs (%u added, %u removed, %u with a new "
		 "default MDT%s)", d->config_path, c->n_vpns, n->added, n->removed, n->reset, more);
}

/* The BGP-signalled VPNs' route distinguishers, for bgp/mvpn.c. */
static void set_rds(struct daemon *d, const struct config *c)
{
	size_t n = 0, k = 0;
	struct mvpn_rd *rds;

	for (size_t i = 0; i < c->n_vpns; i++)
		n += c->vpns[i].n_rds;
	if (!(rds = malloc((n ? n : 1) * sizeof(*rds)))) {
		mvpn_log(LOG_ERR, "out of memory indexing route distinguishers: kept the old ones");
		return;
	}
	for (size_t i = 0; i < c->n_vpns; i++)
		for (size_t j = 0; j < c->vpns[i].n_rds; j++)
			rds[k++] = (struct mvpn_rd){c->vpns[i].rds[j], c->vpns[i].index};
	if (!bgp_mvpn_set_rds(&d->mvpn, rds, n))
		mvpn_log(LOG_ERR, "out of memory indexing route distinguishers: kept the old ones");
	free(rds);
}

/* BGP's routes against the VPNs as they now are: every count again. */
static void apply_bgp(struct daemon *d, const struct config *c)
{
	const struct bmp_collector *col = d->bmp ? d->bmp->col : NULL;

	if (d->mdt.m != d->model) { /* the first load */
		bgp_mdt_init(&d->mdt, d->model);
		bgp_mvpn_init(&d->mvpn, d->model);
	}
	d->mdt.discover = c->bmp.enabled && c->bmp.discover;
	d->mdt.max_discovered = c->bmp.max_discovered_vpns;
	if (!bgp_mdt_reindex(&d->mdt))
		mvpn_log(LOG_ERR, "out of memory indexing default MDTs for BGP: kept the old index");
	set_rds(d, c);
	bgpmdt_recount_begin(d->model);
	bgp_mdt_resync(&d->mdt, col);
	bgp_mvpn_resync(&d->mvpn, col);
	bgpmdt_recount_end(d->model, mclock_now(&d->model->clock));
	/* A VPN discovered now is joined at the end of this loop turn. */
}

void daemon_vpns_discovered(struct daemon *d)
{
	d->mdt.vpns_changed = false;
	if (d->capture && capture_configure(d->capture) < 0)
		mvpn_log(LOG_ERR, "capture: %s", d->capture->error);
}

void daemon_apply_config(struct daemon *d, struct config *c)
{
	struct model *m = d->model;
	struct apply_counts n = {0};

	if (d->config)
		warn_restart_only(d->config, c);
	settings_from_config(m, c);
	set_pe_names(m, c);
	forget_moved_vpns(m, c, &n);
	set_vpns(m, c, &n);
	/* Both sorted by index: one walk pairs them (it skips a VPN the model
	 * could not make, which only running out of memory does). */
	for (size_t i = 0, k = 0; k < c->n_vpns; k++) {
		const struct vpn_config *vc = &c->vpns[k];
		while (i < m->n_vpns && m->vpns[i]->index < vc->index)
			i++;
		struct vpn *v = i < m->n_vpns && m->vpns[i]->index == vc->index ? m->vpns[i] : NULL;
		if (!v || !vpn_configure(v, vc->name, &vc->default_mdt, vc->expected_pes,
					 vc->n_expected)) {
			mvpn_log(LOG_ERR, "out of memory configuring vpn \"%s\"", vc->name);
			continue;
		}
		v->discovered = false;
		v->bgp_signalled = vc->n_rds > 0;
		vpn_set_expect_bgp(m, v, vc->expect_bgp, mclock_now(&m->clock));
		v->thresholds = vc->thresholds;
	}
	if (d->capture && capture_configure(d->capture) < 0)
		mvpn_log(LOG_ERR, "capture: %s", d->capture->error);
	daemon_apply_probes(d, c);
	daemon_apply_bmp(d, c); /* a failure is logged; a start checks d->bmp */
	apply_bgp(d, c);
	alarms_reconfigured(m);
	m->g.config_loads++;
	/* A load happens now, replaying or not: on the real clock. */
	m->g.config_last_load = mclock_monotonic();
	config_free(d->retired);
	d->retired = d->config;
	d->config = c;
	log_applied(d, c, &n);
	history_config_loaded(d, true, n.added, n.removed, n.reset);
}

void daemon_free_retired(struct daemon *d)
{
	config_free(d->retired);
	d->retired = NULL;
}

/* A configuration must be a regular file: a FIFO or a device would hold the
 * parse for as long as its writer likes, and is no file an operator edits. */
static bool regular_file(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		mvpn_log(LOG_ERR, "%s: cannot read configuration: %s", path, strerror(errno));
		return false;
	}
	if (!S_ISREG(st.st_mode)) {
		mvpn_log(LOG_ERR, "%s: cannot read configuration: %s", path,
			 S_ISDIR(st.st_mode) ? strerror(EISDIR) : "not a regular file");
		return false;
	}
	return true;
}

static void *parse_main(void *arg)
{
	struct daemon *d = arg;
	struct config *c = regular_file(d->config_path) ? config_load(d->config_path) : NULL;

	/* One pointer: less than PIPE_BUF, so written whole or not at all. */
	if (write(d->reload.done_fd[1], &c, sizeof(c)) != (ssize_t)sizeof(c)) {
		mvpn_log(LOG_ERR, "reload: cannot hand the parse over: %s", strerror(errno));
		config_free(c);
	}
	return NULL;
}

static void start_parse(struct daemon *d)
{
	struct reloader *r = &d->reload;
	int rc;

	if (!r->have_pipe && pipe2(r->done_fd, O_CLOEXEC) < 0) {
		mvpn_log(LOG_ERR, "reload of %s: %s", d->config_path, strerror(errno));
		d->model->g.config_load_failures++;
		return;
	}
	r->have_pipe = true;
	rc = pthread_create(&r->thread, NULL, parse_main, d);
	if (rc != 0) {
		mvpn_log(LOG_ERR, "reload of %s: cannot start a thread: %s", d->config_path,
			 strerror(rc));
		d->model->g.config_load_failures++;
		return;
	}
	r->running = true;
}

void daemon_request_reload(struct daemon *d)
{
	if (d->reload.running) {
		mvpn_log(LOG_INFO, "SIGHUP: %s is being read; reading it again after that",
			 d->config_path);
		d->reload.again = true;
		return;
	}
	mvpn_log(LOG_INFO, "SIGHUP: reloading %s", d->config_path);
	start_parse(d);
}

int daemon_reload_fd(const struct daemon *d)
{
	return d->reload.running ? d->reload.done_fd[0] : -1;
}

void daemon_reload_done(struct daemon *d)
{
	struct reloader *r = &d->reload;
	struct config *c;

	if (read(r->done_fd[0], &c, sizeof(c)) != (ssize_t)sizeof(c))
		return; /* not yet */
	pthread_join(r->thread, NULL);
	r->running = false;
	if (!c) {
		d->model->g.config_load_failures++;
		mvpn_log(LOG_ERR, "reload of %s failed; keeping the previous configuration",
			 d->config_path);
		history_config_loaded(d, false, 0, 0, 0);
	} else {
		daemon_apply_config(d, c);
	}
	if (r->again) {
		r->again = false;
		mvpn_log(LOG_INFO, "reloading %s again (SIGHUP during the last read)",
			 d->config_path);
		start_parse(d);
	}
}

void daemon_reload_abandon(struct daemon *d)
{
	if (!d->reload.running)
		return;
	mvpn_log(LOG_WARNING, "stopping while %s is being read: that reload is dropped",
		 d->config_path);
	pthread_detach(d->reload.thread);
	d->reload.running = false;
}

void daemon_reload_close(struct daemon *d)
{
	struct reloader *r = &d->reload;

	daemon_reload_abandon(d);
	if (r->have_pipe) {
		/* The write end stays open if a parse was abandoned: it writes there. */
		close(r->done_fd[0]);
		r->have_pipe = false;
	}
}

void daemon_capture_lost(struct daemon *d)
{
	mvpn_log(LOG_ERR, "capture: %s; capture stopped, trying again every second",
		 d->capture->error);
	capture_suspend(d->capture);
}

/* Once a second while the interface is missing: quietly, until it is back. */
static void capture_retry(struct daemon *d)
{
	struct capture *c = d->capture;

	if (capture_resume(c) < 0)
		return;
	mvpn_log(LOG_NOTICE, "capture: %s is back; capturing again (capture restarts: %llu)",
		 c->source, (unsigned long long)d->model->g.capture_restarts);
}

void daemon_tick(struct daemon *d)
{
	if (!d->capture || d->capture->offline)
		return; /* replaying, the capture's timestamps are the clock */
	if (capture_suspended(d->capture))
		capture_retry(d);
	capture_update_stats(d->capture);
}

int daemon_open_capture(struct daemon *d, const char *file, const char *iface)
{
	struct capture *c = calloc(1, sizeof(*c));
	int rc;

	if (!c) {
		mvpn_log(LOG_ERR, "out of memory");
		return -1;
	}
	rc = file ? capture_open_file(c, d->model, file) : capture_open_live(c, d->model, iface);
	if (rc < 0) {
		mvpn_log(LOG_ERR, "capture: %s", c->error);
		capture_close(c);
		free(c);
		d->model->capture = CAPTURE_FAILED;
		return -1;
	}
	d->capture = c;
	for (size_t i = 0; i < d->model->n_vpns; i++)
		d->model->vpns[i]->passive = PASSIVE_WAITING;
	mvpn_log(LOG_INFO, "capture: %s %s", file ? "replaying" : "listening on", c->source);
	return 0;
}

void daemon_close_capture(struct daemon *d)
{
	if (!d->capture)
		return;
	capture_close(d->capture);
	free(d->capture);
	d->capture = NULL;
}

/* ---- active probing ---- */

static struct inet_addr remote_of(const void *arg, const struct inet_addr *pe)
{
	return config_tunnel_remote(arg, pe);
}

static size_t probed_vpns(const struct config *c)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n_vpns; i++)
		n += c->vpns[i].probe.enabled;
	return n;
}

static void mark_probe_status(struct model *m, const struct config *c, enum probe_status st)
{
	for (size_t i = 0; i < c->n_vpns; i++) {
		struct vpn *v = vpn_find(m, c->vpns[i].index);
		if (v && c->vpns[i].probe.enabled)
			v->probe = st;
	}
}

static struct prober_vpn *plan_vpns(const struct config *c, size_t n)
{
	struct prober_vpn *pv = calloc(n ? n : 1, sizeof(*pv));
	size_t k = 0;

	if (!pv)
		return NULL;
	for (size_t i = 0; i < c->n_vpns; i++) {
		const struct vpn_config *vc = &c->vpns[i];
		const struct probe_config *pc = &vc->probe;
		if (!pc->enabled)
			continue;
		pv[k].vpn_index = vc->index;
		pv[k].group = vc->default_mdt;
		pv[k].s = (struct probe_settings){
			.rate = pc->rate, .size = pc->size, .window = pc->window,
			.port = (uint16_t)pc->port, .igmp_version = (uint8_t)pc->igmp_version,
			.senders = pc->senders, .n_senders = pc->n_senders,
			.receivers = pc->receivers, .n_receivers = pc->n_receivers};
		k++;
	}
	return pv;
}

static int open_prober(struct daemon *d, const struct config *c)
{
	struct prober *p = calloc(1, sizeof(*p));

	if (!p)
		return -1;
	if (prober_open(p, d->model, c->probe_interface, &c->probe_local) < 0) {
		mvpn_log(LOG_ERR, "probe: %s", p->error);
		prober_close(p);
		free(p);
		return -1;
	}
	d->prober = p;
	char local[INET_ADDR_STRLEN];
	mvpn_log(LOG_INFO, "probe: tunnels from %s on %s, send times from %s",
		 inet_addr_format(&c->probe_local, local), c->probe_interface,
		 p->stamping == TX_STAMP_KERNEL ? "the kernel" : "user space");
	return 0;
}

void daemon_apply_probes(struct daemon *d, const struct config *c)
{
	size_t n = probed_vpns(c);
	struct prober_vpn *pv;

	if (n && d->model->clock.offline) {
		mvpn_log(LOG_WARNING, "probe: not probing while replaying a capture");
		mark_probe_status(d->model, c, PROBE_DISABLED);
		return;
	}
	if (!n) {
		daemon_close_prober(d);
		return;
	}
	if (d->prober && strcmp(d->prober->interface, c->probe_interface) != 0)
		mvpn_log(LOG_WARNING, "probe-interface changed: takes effect when mvpnmond restarts");
	if (!d->prober && open_prober(d, c) < 0) {
		mark_probe_status(d->model, c, PROBE_FAILED);
		return;
	}
	pv = plan_vpns(c, n);
	struct prober_plan plan = {
		.local = c->probe_local, .interface = c->probe_interface,
		.timing = {.loss_timeout = (mtime_t)c->probe_loss_timeout * MTIME_SEC,
			   .unreachable_time = (mtime_t)c->probe_unreachable_time * MTIME_SEC},
		.echo_interval = (mtime_t)c->echo_interval_ms * (MTIME_SEC / 1000),
		.report_interval = (mtime_t)c->igmp_report_interval * MTIME_SEC,
		.vpns = pv, .n_vpns = pv ? n : 0, .remote_of = remote_of, .remote_arg = c};
	if (!pv || prober_configure(d->prober, &plan) < 0) {
		mvpn_log(LOG_ERR, "probe: %s", pv ? d->prober->error : "out of memory");
		mark_probe_status(d->model, c, PROBE_FAILED);
	}
	free(pv);
}

void daemon_close_prober(struct daemon *d)
{
	if (!d->prober)
		return;
	prober_close(d->prober);
	free(d->prober);
	d->prober = NULL;
	for (size_t i = 0; i < d->model->n_vpns; i++)
		vpn_probe_configure(d->model, d->model->vpns[i], NULL, 0);
	probing_tunnels_begin(&d->model->probing);
	probing_tunnels_end(&d->model->probing);
}
