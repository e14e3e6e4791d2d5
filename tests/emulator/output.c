/* The only way out: every output is scheduled, then sent by output_send_due
 * when its time comes, and logged as it leaves. */
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "emu.h"

enum outcome { SENT, SEND_FAILED, UNSENT };

static void count_outcome(struct emu *e, const struct output_note *n, enum outcome what)
{
	if (n->kind == OUTPUT_FWD) {
		struct pair_count *p = stats_pair(&e->stats, n->from, n->to);
		uint64_t *counter[] = { &p->forwarded, &p->send_failed, &p->unsent };
		(*counter[what])++;
	} else if (n->kind == OUTPUT_ECHO) {
		struct echo_count *c = stats_echo(&e->stats, n->from);
		uint64_t *counter[] = { &c->replied, &c->send_failed, &c->unsent };
		(*counter[what])++;
	}
}

static const char *kind_name(enum output_kind kind)
{
	return kind == OUTPUT_FWD ? "fwd" : kind == OUTPUT_ECHO ? "echo" : "query";
}

/* The fields an output's event carries, whatever the event is called. */
static void log_note_fields(struct log *l, const struct output_note *n)
{
	if (n->kind == OUTPUT_FWD) {
		log_addr(l, "from", n->from);
		log_addr(l, "to", n->to);
		log_addr(l, "group", n->group);
	} else {
		log_addr(l, "pe", n->from);
	}
	if (n->kind == OUTPUT_QUERY) {
		log_u64(l, "version", (uint64_t)n->version);
		return;
	}
	log_us(l, "delay_us", n->delay_ns);
}

static void log_outcome(struct emu *e, const struct output_note *n, enum outcome what,
			int64_t late_ns, int err)
{
	static const char *const ev[] = { NULL, "send-failed", "unsent" };
	log_begin(&e->log, what == SENT ? kind_name(n->kind) : ev[what]);
	if (what != SENT)
		log_str(&e->log, "kind", kind_name(n->kind));
	log_note_fields(&e->log, n);
	if (what == SENT && n->kind != OUTPUT_QUERY)
		log_us(&e->log, "late_us", late_ns);
	if (what == SEND_FAILED)
		log_str(&e->log, "error", strerror(err));
	if (n->kind != OUTPUT_QUERY)
		log_id(&e->log, n->id);
	log_end(&e->log);
}

int output_schedule(struct emu *e, int64_t at_ns, size_t pe, const struct output_note *note,
		    const uint8_t *inner, size_t inner_len)
{
	int64_t due_ns = at_ns + SCHED_FIXED_LATENCY_NS;
	static uint8_t packet[MAX_PACKET];
	const struct tunnel *t = &e->tunnels.t[pe];
	size_t len = gre_encapsulate(packet, sizeof(packet), t->pe, t->remote, e->next_ident++,
				     inner, inner_len);
	int err = len ? 0 : EMSGSIZE;

	if (!err && sched_add(&e->sched, due_ns, t->remote, note, packet, len))
		err = ENOMEM;
	if (err) {
		count_outcome(e, note, SEND_FAILED);
		log_outcome(e, note, SEND_FAILED, 0, err);
		return -1;
	}
	return 0;
}

static void send_output(struct emu *e, const struct output *o, int64_t now_ns)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr.s_addr = o->dst };
	int64_t late_ns = now_ns - o->due_ns;

	if (sendto(e->send_fd, o->bytes, o->len, 0, (struct sockaddr *)&to, sizeof(to)) < 0) {
		int err = errno;
		count_outcome(e, &o->note, SEND_FAILED);
		log_outcome(e, &o->note, SEND_FAILED, late_ns, err);
		return;
	}
	if (o->note.kind != OUTPUT_QUERY)
		stats_note_lateness(&e->stats, late_ns);
	count_outcome(e, &o->note, SENT);
	log_outcome(e, &o->note, SENT, late_ns, 0);
}

/* Outputs due within SCHED_WAKE_EARLY_NS are waited for here, on the clock. */
void output_send_due(struct emu *e)
{
	int64_t next_ns, now_ns;

	while ((next_ns = sched_next_due(&e->sched)) != 0) {
		now_ns = realtime_ns();
		if (next_ns - now_ns > SCHED_WAKE_EARLY_NS)
			break;
		while (now_ns < next_ns)
			now_ns = realtime_ns();
		struct output *o = sched_pop_due(&e->sched, now_ns);
		send_output(e, o, now_ns);
		free(o);
	}
	sched_arm(&e->sched);
}

void output_queries(struct emu *e)
{
	uint8_t query[64];
	int64_t now_ns = realtime_ns();
	unsigned interval = (unsigned)llround(e->conf->query_interval_s);

	for (size_t i = 0; i < e->tunnels.n; i++) {
		const struct tunnel *t = &e->tunnels.t[i];
		if (!t->remote)
			continue;
		size_t len = igmp_build_query(query, sizeof(query), t->pe, e->conf->query_version,
					      interval ? interval : 1, e->next_ident++);
		struct output_note note = { .kind = OUTPUT_QUERY, .from = t->pe,
					    .version = e->conf->query_version };
		output_schedule(e, now_ns, i, &note, query, len);
	}
	output_send_due(e);
}

void output_abandon_pending(struct emu *e)
{
	struct output *o;
	while ((o = sched_pop_due(&e->sched, INT64_MAX))) {
		count_outcome(e, &o->note, UNSENT);
		log_outcome(e, &o->note, UNSENT, 0, 0);
		free(o);
	}
}
