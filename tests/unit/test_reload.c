/* agent/daemon: a configuration applied over a running model, as a reload does. */
#include "unit.h"

#include <stdarg.h>
#include <stdlib.h>

#include "../../agent/config.h"
#include "../../agent/daemon.h"
#include "../../mib/log.h"
#include "../../mib/passive.h"

#define S MTIME_SEC
#define T0 (1767225600ull * S)

static char last_summary[512];

/* Keeps the reload's summary line; the rest is not read here. */
static void keep_summary(int priority, const char *fmt, va_list ap)
{
	char line[512];

	(void)priority;
	vsnprintf(line, sizeof(line), fmt, ap);
	if (strncmp(line, "configuration ", 14) == 0)
		snprintf(last_summary, sizeof(last_summary), "%s", line);
}

static struct inet_addr A(const char *text)
{
	struct inet_addr a;
	if (!inet_addr_parse(&a, text))
		abort();
	return a;
}

static void apply(struct daemon *d, const char *text)
{
	struct config *c = config_load_text("test.conf", text, strlen(text));

	if (!c)
		abort();
	daemon_apply_config(d, c);
}

/* A replay-clock model whose capture runs, so that PE alarms are judged. */
static void start(struct daemon *d, const char *text)
{
	*d = (struct daemon){.config_path = "test.conf", .model = model_new(true), .signal_fd = -1};
	mvpn_log_set_sink(keep_summary);
	d->model->capture = CAPTURE_RUNNING;
	apply(d, text);
}

static void stop(struct daemon *d)
{
	config_free(d->config);
	daemon_free_retired(d);
	bgp_mdt_free(&d->mdt);
	bgp_mvpn_free(&d->mvpn);
	model_free(d->model);
}

/* Time moves to t (seconds after T0), timers run, and the model judges. */
static void at(struct model *m, double t)
{
	mtime_t now = T0 + (mtime_t)(t * 1e9);

	mclock_advance(&m->clock, now);
	passive_expire(m, now);
	alarms_run(m, now);
}

static void hello(struct model *m, uint32_t vpn, double t, const char *pe)
{
	struct hello_event e = {.pe = A(pe), .caddr = A(pe), .has_holdtime = true,
				.holdtime = 105};
	at(m, t);
	passive_hello(m, vpn_find(m, vpn), &e);
	alarms_run(m, mclock_now(&m->clock));
}

static void join(struct model *m, uint32_t vpn, const char *sender, const char *group)
{
	struct jp_event e = {.sender = A(sender), .upstream = A(sender), .holdtime = 210,
			     .group = A(group), .source = A("192.0.2.1"), .kind = CG_SG,
			     .join = true};
	passive_jp_message(m, vpn_find(m, vpn), &e.sender);
	passive_jp_record(m, vpn_find(m, vpn), &e);
}

/* The notices waiting, as "kind:vpn" words. */
static const char *drain(struct model *m)
{
	static char out[512];
	struct notice n;
	size_t len = 0;

	out[0] = '\0';
	while (notice_pop(&m->alarms, &n) && len < sizeof(out) - 16)
		len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%d:%u", len ? " " : "",
					n.kind, n.vpn_index);
	return out;
}

/* Every VPN's count of PEs with an alarm is what its rows say. */
static bool alarm_counts_hold(const struct model *m)
{
	for (size_t i = 0; i < m->n_vpns; i++) {
		const struct vpn *v = m->vpns[i];
		uint32_t n = 0;
		for (size_t k = 0; k < v->pes.n; k++)
			n += v->pes.v[k]->alarm_index != 0;
		if (n != v->n_pe_alarms)
			return false;
	}
	return true;
}

static const char first_file[] =
	"startup-grace = 10\n"
	"vpn \"red\"    { index = 10  default-mdt = \"239.192.0.10\"\n"
	"               expected-pes = { \"198.18.0.1\", \"198.18.0.2\" } }\n"
	"vpn \"green\"  { index = 20  default-mdt = \"239.192.0.20\"\n"
	"               expected-pes = { \"198.18.0.1\" } }\n"
	"vpn \"blue\"   { index = 30  default-mdt = \"239.192.0.30\"\n"
	"               expected-pes = { \"198.18.0.1\" } }\n"
	"vpn \"violet\" { index = 40  default-mdt = \"239.192.0.40\" }\n";

/* green goes, blue gets another default MDT, yellow (5) and orange (25) come,
 * red and violet stay as they were. */
static const char second_file[] =
	"startup-grace = 10\n"
	"vpn \"yellow\" { index = 5   default-mdt = \"239.192.0.5\" }\n"
	"vpn \"red\"    { index = 10  default-mdt = \"239.192.0.10\"\n"
	"               expected-pes = { \"198.18.0.1\", \"198.18.0.2\" } }\n"
	"vpn \"orange\" { index = 25  default-mdt = \"239.192.0.25\" }\n"
	"vpn \"blue\"   { index = 30  default-mdt = \"239.192.0.31\"\n"
	"               expected-pes = { \"198.18.0.1\" } }\n"
	"vpn \"violet\" { index = 40  default-mdt = \"239.192.0.40\" }\n";

/*
 * A reload that adds, removes and changes VPNs around others: a VPN that stays
 * is the same VPN, with everything learned on it (PE rows, C-group rows,
 * counters, its alarm under the same index, no notice); the VPNs keep their
 * configured indexes, in order; what went takes its alarms with it, each
 * cleared once; what came starts empty.
 */
TEST(a_reload_keeps_the_state_of_every_vpn_that_stays)
{
	struct daemon d;

	start(&d, first_file);
	struct model *m = d.model;
	hello(m, 10, 0, "198.18.0.1");
	join(m, 10, "198.18.0.1", "233.252.0.1");
	hello(m, 20, 1, "198.18.0.1");
	hello(m, 30, 2, "198.18.0.1");
	hello(m, 40, 3, "198.18.0.77"); /* unexpected: an alarm on violet */
	at(m, 11);                      /* the grace is over: red's .2 is missing */
	CHECK_EQ_STR(drain(m), "2:40 1:10");
	struct vpn *red = vpn_find(m, 10), *violet = vpn_find(m, 40), *blue = vpn_find(m, 30);
	uint64_t red_changes = red->counters.changes;
	CHECK(red_changes > 0);
	CHECK_EQ_INT(m->alarms.table.n, 2);
	uint32_t red_alarm = red->pes.v[1]->alarm_index, violet_alarm = violet->pes.v[0]->alarm_index;
	CHECK(red_alarm && violet_alarm);
	size_t red_rows = red->cg.n_rows;
	CHECK(red_rows > 0);

	apply(&d, second_file);
	CHECK(alarm_counts_hold(m));
	const uint32_t want[] = {5, 10, 25, 30, 40};
	CHECK_EQ_INT(m->n_vpns, 5);
	for (size_t i = 0; i < 5; i++)
		CHECK_EQ_INT(m->vpns[i]->index, want[i]);
	/* red and violet: the same VPNs, with what was learned on them. */
	CHECK(vpn_find(m, 10) == red && vpn_find(m, 40) == violet);
	CHECK_EQ_INT(red->counters.changes, red_changes);
	CHECK_EQ_INT(red->cg.n_rows, red_rows);
	CHECK(red->pes.n == 2 && red->pes.v[0]->alive && !red->pes.v[1]->alive);
	CHECK_EQ_INT(red->pes.v[1]->alarm_index, red_alarm);
	CHECK(violet->pes.n == 1 && violet->pes.v[0]->alive);
	CHECK_EQ_INT(violet->pes.v[0]->alarm_index, violet_alarm);
	CHECK_EQ_STR(red->name, "red");
	/* blue: kept as a row, its learned state forgotten (another tree). */
	CHECK(vpn_find(m, 30) == blue && blue->pes.n == 1 && !blue->pes.v[0]->alive);
	CHECK(inet_addr_eq(&blue->default_mdt, &(struct inet_addr){.type = INET_IPV4, .bytes = {239, 192, 0, 31}}));
	/* yellow and orange: new and empty. */
	CHECK(vpn_find(m, 5)->pes.n == 0 && vpn_find(m, 5)->counters.packets == 0);
	CHECK_EQ_STR(vpn_find(m, 25)->name, "orange");
	CHECK(!vpn_find(m, 20));
	CHECK_EQ_STR(last_summary, "configuration test.conf: 5 VPNs (2 added, 1 removed, 1 with "
		     "a new default MDT)");
	/* green's state went with it; red's and violet's alarms stay, unannounced. */
	at(m, 12);
	CHECK_EQ_STR(drain(m), "1:30");     /* blue's PE, forgotten, is now missing */
	CHECK_EQ_INT(m->alarms.table.n, 3); /* red's, violet's, blue's */
	CHECK_EQ_INT(red->pes.v[1]->alarm_index, red_alarm);
	CHECK_EQ_INT(violet->pes.v[0]->alarm_index, violet_alarm);

	/* The first file again: green comes back as a new VPN, the others go. */
	apply(&d, first_file);
	CHECK(alarm_counts_hold(m));
	CHECK_EQ_STR(last_summary, "configuration test.conf: 4 VPNs (1 added, 2 removed, 1 with "
		     "a new default MDT)");
	CHECK(vpn_find(m, 10) == red && vpn_find(m, 40) == violet && vpn_find(m, 30) == blue);
	CHECK(vpn_find(m, 20)->pes.n == 1 && !vpn_find(m, 20)->pes.v[0]->alive);
	CHECK(!vpn_find(m, 5) && !vpn_find(m, 25));
	CHECK_EQ_INT(red->pes.v[1]->alarm_index, red_alarm);
	stop(&d);
}

/* red no longer expects .2 (missing, so alarmed), violet moves to another
 * default MDT (its unexpected, alarmed PE is forgotten). */
static const char third_file[] =
	"startup-grace = 10\n"
	"vpn \"red\"    { index = 10  default-mdt = \"239.192.0.10\"\n"
	"               expected-pes = { \"198.18.0.1\" } }\n"
	"vpn \"violet\" { index = 40  default-mdt = \"239.192.0.41\" }\n";

/* A reload that takes away PE rows with an alarm clears each alarm once, and
 * the VPNs count no alarm that is gone: red and violet then match again. */
TEST(a_reload_that_drops_alarmed_rows_clears_their_alarms)
{
	struct daemon d;

	start(&d, first_file);
	struct model *m = d.model;
	hello(m, 10, 0, "198.18.0.1");
	hello(m, 20, 1, "198.18.0.1");
	hello(m, 30, 2, "198.18.0.1");
	hello(m, 40, 3, "198.18.0.77");
	at(m, 11);
	CHECK_EQ_STR(drain(m), "2:40 1:10");
	CHECK(vpn_find(m, 10)->n_pe_alarms == 1 && vpn_find(m, 40)->n_pe_alarms == 1);
	apply(&d, third_file);
	CHECK(alarm_counts_hold(m));
	CHECK(vpn_find(m, 10)->n_pe_alarms == 0 && vpn_find(m, 40)->n_pe_alarms == 0);
	CHECK_EQ_INT(vpn_find(m, 10)->pes.n, 1);
	CHECK_EQ_INT(vpn_find(m, 40)->pes.n, 0);
	at(m, 12);
	/* Each alarm's clear (red's .2, violet's .77), then red's and violet's match. */
	CHECK_EQ_STR(drain(m), "11:10 11:40 3:10 3:40");
	CHECK_EQ_INT(m->alarms.table.n, 0);
	stop(&d);
}

/* A reload of the same file changes nothing at all: no notice, no row. */
TEST(a_reload_of_the_same_file_changes_nothing)
{
	struct daemon d;

	start(&d, first_file);
	struct model *m = d.model;
	hello(m, 10, 0, "198.18.0.1");
	at(m, 11);
	CHECK_EQ_STR(drain(m), "1:10 1:20 1:30");
	struct vpn *before[4];
	for (size_t i = 0; i < 4; i++)
		before[i] = m->vpns[i];
	size_t alarms = m->alarms.table.n;
	apply(&d, first_file);
	CHECK_EQ_STR(last_summary, "configuration test.conf: 4 VPNs (0 added, 0 removed, 0 with "
		     "a new default MDT)");
	for (size_t i = 0; i < 4; i++)
		CHECK(m->vpns[i] == before[i]);
	at(m, 12);
	CHECK_EQ_STR(drain(m), "");
	CHECK_EQ_INT(m->alarms.table.n, alarms);
	stop(&d);
}

UNIT_MAIN("reload", T(a_reload_keeps_the_state_of_every_vpn_that_stays),
	  T(a_reload_that_drops_alarmed_rows_clears_their_alarms),
	  T(a_reload_of_the_same_file_changes_nothing))
