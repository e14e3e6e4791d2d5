/* What a PE does with an inner packet from its tunnel: IGMP changes its
 * memberships, an echo request to its own address is answered, multicast is
 * replicated to the other member tunnels; delay and loss are drawn per stage. */
#include <math.h>
#include <string.h>

#include "emu.h"

static struct pair_count *pair_counts(struct emu *e, size_t from, size_t to)
{
	return stats_pair(&e->stats, e->conf->pes[from].addr, e->conf->pes[to].addr);
}

static struct echo_count *echo_counts(struct emu *e, size_t pe)
{
	return stats_echo(&e->stats, e->conf->pes[pe].addr);
}

/* One stage draws two numbers, loss then jitter, whatever their values:
 * the stream stays aligned with the packets.  Returns 1 when lost. */
static int stage_cross(struct rng *r, const struct stage *s, int64_t *delay_ns)
{
	double u_loss = rng_unit(r);
	double u_jitter = rng_unit(r);
	double ms = s->delay_ms + s->jitter_ms * (2.0 * u_jitter - 1.0);
	*delay_ns = ms > 0 ? llround(ms * 1e6) : 0;
	return u_loss < s->loss_pct / 100.0;
}

void log_bad(struct emu *e, const char *why, uint32_t src, uint32_t pe)
{
	e->stats.refused.bad++;
	log_begin(&e->log, "bad");
	log_str(&e->log, "why", why);
	if (src)
		log_addr(&e->log, "src", src);
	else
		log_null(&e->log, "src");
	if (pe)
		log_addr(&e->log, "pe", pe);
	log_end(&e->log);
}

static void log_other(struct emu *e, size_t pe, const struct ipv4_view *in, const char *why,
		      uint64_t id)
{
	e->stats.refused.other++;
	log_begin(&e->log, "other");
	log_addr(&e->log, "pe", e->conf->pes[pe].addr);
	log_addr(&e->log, "src", in->src);
	log_addr(&e->log, "dst", in->dst);
	log_u64(&e->log, "proto", in->proto);
	log_str(&e->log, "why", why);
	log_id(&e->log, id);
	log_end(&e->log);
}

/* --- IGMP ------------------------------------------------------------- */

static void log_membership_change(struct emu *e, const char *ev, size_t pe, uint32_t group, int igmp)
{
	log_begin(&e->log, ev);
	log_addr(&e->log, "pe", e->conf->pes[pe].addr);
	log_addr(&e->log, "group", group);
	log_u64(&e->log, "igmp", (uint64_t)igmp);
	log_end(&e->log);
}

static void apply_membership(struct emu *e, size_t pe, uint32_t group, enum igmp_action action,
			     int igmp)
{
	struct tunnel *t = &e->tunnels.t[pe];
	int64_t timeout_ns = llround(e->conf->membership_timeout_s * 1e9);

	if (addr_is_link_local_multicast(group))
		return; /* never routed, so never a membership */
	if (action == IGMP_JOIN) {
		int joined = tunnel_join(t, group, monotonic_ns() + timeout_ns, igmp);
		if (joined < 0)
			log_bad(e, "out-of-memory", t->remote, t->pe);
		else if (joined)
			log_membership_change(e, "join", pe, group, igmp);
	} else if (action == IGMP_LEAVE && tunnel_leave(t, group)) {
		log_membership_change(e, "leave", pe, group, igmp);
	}
}

static void apply_v3_report(struct emu *e, size_t pe, const struct igmp_view *v)
{
	struct igmp_record_iter it;
	struct igmp_record r;
	igmp_records_begin(&it, v);
	while (igmp_records_next(&it, &r) == 1)
		apply_membership(e, pe, r.group, igmp_record_action(&r), 3);
}

static void route_igmp(struct emu *e, size_t pe, const struct ipv4_view *outer,
		       const struct ipv4_view *in, uint64_t id)
{
	struct igmp_view v;
	int err;

	if (ipv4_is_fragment(in)) {
		log_bad(e, "igmp-fragment", outer->src, outer->dst);
		return;
	}
	if ((err = igmp_parse(in->payload, in->payload_len, &v))) {
		log_bad(e, igmp_error_name(err), outer->src, outer->dst);
		return;
	}
	if (v.type == IGMP_V2_REPORT)
		apply_membership(e, pe, v.group, IGMP_JOIN, 2);
	else if (v.type == IGMP_V2_LEAVE)
		apply_membership(e, pe, v.group, IGMP_LEAVE, 2);
	else if (v.type == IGMP_V3_REPORT)
		apply_v3_report(e, pe, &v);
	else
		log_other(e, pe, in, "igmp-type", id);
}

/* --- ICMP echo -------------------------------------------------------- */

static void log_echo_drop(struct emu *e, const char *stage, size_t pe, uint64_t id)
{
	log_begin(&e->log, "drop");
	log_str(&e->log, "stage", stage);
	log_bool(&e->log, "echo", 1);
	log_addr(&e->log, "pe", e->conf->pes[pe].addr);
	log_id(&e->log, id);
	log_end(&e->log);
}

static void answer_echo(struct emu *e, size_t pe, const struct ipv4_view *in,
			const struct echo_view *echo, uint64_t id, int64_t arrival_ns)
{
	const struct pe_conf *pc = &e->conf->pes[pe];
	int64_t up_ns, down_ns;
	uint8_t reply[MAX_PACKET];
	size_t len;

	if (stage_cross(&e->rng, &pc->up, &up_ns)) {
		echo_counts(e, pe)->dropped_up++;
		log_echo_drop(e, "up", pe, id);
		return;
	}
	if (stage_cross(&e->rng, &pc->down, &down_ns)) {
		echo_counts(e, pe)->dropped_down++;
		log_echo_drop(e, "down", pe, id);
		return;
	}
	len = icmp_build_echo_reply(reply, sizeof(reply), in, echo, pc->addr, e->next_ident++);
	struct output_note note = { .kind = OUTPUT_ECHO, .from = pc->addr, .delay_ns = up_ns + down_ns,
				    .id = id };
	output_schedule(e, arrival_ns + up_ns + down_ns, pe, &note, reply, len);
}

static void route_icmp(struct emu *e, size_t pe, const struct ipv4_view *outer,
		       const struct ipv4_view *in, uint64_t id, int64_t arrival_ns)
{
	struct echo_view echo;
	int err;

	if (ipv4_is_fragment(in)) {
		log_bad(e, "icmp-fragment", outer->src, outer->dst);
		return;
	}
	err = icmp_parse_echo_request(in->payload, in->payload_len, &echo);
	if (err == ICMP_NOT_ECHO_REQUEST)
		log_other(e, pe, in, "icmp-type", id);
	else if (err)
		log_bad(e, icmp_error_name(err), outer->src, outer->dst);
	else
		answer_echo(e, pe, in, &echo, id, arrival_ns);
}

/* --- multicast -------------------------------------------------------- */

static size_t collect_fanout(struct emu *e, size_t from, uint32_t group, size_t *to)
{
	size_t n = 0;
	for (size_t j = 0; j < e->tunnels.n; j++)
		if (j != from && e->tunnels.t[j].remote && tunnel_is_member(&e->tunnels.t[j], group))
			to[n++] = j;
	return n;
}

static void log_multicast(struct emu *e, const char *ev, size_t from, const struct ipv4_view *in,
			  uint64_t id)
{
	log_begin(&e->log, ev);
	log_addr(&e->log, "from", e->conf->pes[from].addr);
	log_addr(&e->log, "group", in->dst);
	if (!strcmp(ev, "ttl"))
		log_u64(&e->log, "ttl", in->ttl);
	log_id(&e->log, id);
	log_end(&e->log);
}

/* A packet lost before replication (stage "up" or "ingress") is lost for
 * every receiver it would have reached: one event names them all. */
static void drop_before_replication(struct emu *e, const char *stage, size_t from,
				    uint32_t group, const size_t *to, size_t n_to, uint64_t id)
{
	int up = !strcmp(stage, "up");

	log_begin(&e->log, "drop");
	log_str(&e->log, "stage", stage);
	log_addr(&e->log, "from", e->conf->pes[from].addr);
	log_null(&e->log, "to");
	log_addr(&e->log, "group", group);
	log_key(&e->log, "fanout");
	log_open_array(&e->log);
	for (size_t k = 0; k < n_to; k++) {
		struct pair_count *counts = pair_counts(e, from, to[k]);
		log_value_addr(&e->log, e->conf->pes[to[k]].addr);
		*(up ? &counts->dropped_up : &counts->dropped_ingress) += 1;
	}
	log_close_array(&e->log);
	log_id(&e->log, id);
	log_end(&e->log);
}

static void log_copy_drop(struct emu *e, const char *stage, size_t from, size_t to, uint32_t group,
			  uint64_t id)
{
	log_begin(&e->log, "drop");
	log_str(&e->log, "stage", stage);
	log_addr(&e->log, "from", e->conf->pes[from].addr);
	log_addr(&e->log, "to", e->conf->pes[to].addr);
	log_addr(&e->log, "group", group);
	log_id(&e->log, id);
	log_end(&e->log);
}

static void forward_copy(struct emu *e, size_t from, size_t to, const uint8_t *copy, size_t len,
			 uint32_t group, int64_t shared_ns, uint64_t id, int64_t arrival_ns)
{
	int64_t pair_ns, down_ns;
	struct pair_count *counts = pair_counts(e, from, to);

	if (stage_cross(&e->rng, config_pair(e->conf, from, to), &pair_ns)) {
		counts->dropped_pair++;
		log_copy_drop(e, "pair", from, to, group, id);
		return;
	}
	if (stage_cross(&e->rng, &e->conf->pes[to].down, &down_ns)) {
		counts->dropped_down++;
		log_copy_drop(e, "down", from, to, group, id);
		return;
	}
	int64_t delay_ns = shared_ns + pair_ns + down_ns;
	struct output_note note = { .kind = OUTPUT_FWD, .from = e->conf->pes[from].addr,
				    .to = e->conf->pes[to].addr, .group = group,
				    .delay_ns = delay_ns, .id = id };
	output_schedule(e, arrival_ns + delay_ns, to, &note, copy, len);
}

static void replicate(struct emu *e, size_t from, const struct ipv4_view *in, uint64_t id,
		      int64_t arrival_ns)
{
	size_t to[MAX_PES], n_to;
	int64_t shared_ns; /* up, then ingress: drawn once, the same for every copy */
	uint8_t copy[MAX_PACKET];

	if (in->ttl <= 1) {
		e->stats.refused.ttl++;
		log_multicast(e, "ttl", from, in, id);
		return;
	}
	n_to = collect_fanout(e, from, in->dst, to);
	if (n_to == 0) {
		e->stats.refused.nofanout++;
		log_multicast(e, "nofanout", from, in, id);
		return;
	}
	const struct pe_conf *pc = &e->conf->pes[from];
	if (stage_cross(&e->rng, &pc->up, &shared_ns)) {
		drop_before_replication(e, "up", from, in->dst, to, n_to, id);
		return;
	}
	if (pc->has_ingress) {
		int64_t ingress_ns;
		if (stage_cross(&e->rng, &pc->ingress, &ingress_ns)) {
			drop_before_replication(e, "ingress", from, in->dst, to, n_to, id);
			return;
		}
		shared_ns += ingress_ns;
	}
	memcpy(copy, in->packet, in->packet_len);
	copy[8] = (uint8_t)(in->ttl - 1);
	ipv4_fix_checksum(copy, in->header_len);
	for (size_t k = 0; k < n_to; k++)
		forward_copy(e, from, to[k], copy, in->packet_len, in->dst, shared_ns, id, arrival_ns);
}

void route_inner(struct emu *e, size_t pe, const struct ipv4_view *outer,
		 const struct ipv4_view *in, int64_t arrival_ns)
{
	uint64_t id = fnv1a64(in->packet, in->packet_len);

	if (in->proto == IPPROTO_NUM_IGMP)
		route_igmp(e, pe, outer, in, id);
	else if (in->proto == IPPROTO_NUM_ICMP && in->dst == e->conf->pes[pe].addr)
		route_icmp(e, pe, outer, in, id, arrival_ns);
	else if (addr_is_multicast(in->dst) && !addr_is_link_local_multicast(in->dst))
		replicate(e, pe, in, id, arrival_ns);
	else
		log_other(e, pe, in, "not-routed", id);
}
