#include "engine.h"

#include <errno.h>
#include <linux/errqueue.h>
#include <linux/filter.h>
#include <linux/net_tstamp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../mib/log.h"
#include "wire.h"

/* Headers up to the probe header, behind Ethernet and a VLAN tag. */
#define PROBE_SNAPLEN 256
#define PROBE_BUFFER_BYTES (8 << 20)
#define PROBE_READ_TIMEOUT_MS 10
#define PKT_MAX 1600
#define INNER_TTL 64
#define TICK_INTERVAL (MTIME_SEC / 10)
#define UNSOLICITED_REPORTS 2 /* RFC 3376 Robustness Variable */
#define UNSOLICITED_SPACING MTIME_SEC
#define ECHO_PAYLOAD 16

struct ptunnel {
	struct inet_addr pe;
	struct tunnel_ends ends;
	uint16_t echo_seq;
	mtime_t next_echo, next_report, answer_at;
	int reports_left;
	bool v2_querier; /* the PE asked in IGMPv2: answer in v2 */
	struct inet_addr answer_group; /* a group-specific query's group, or unknown for all */
};

struct psender {
	struct inet_addr pe;
	size_t pos; /* in the VPN's vpn_probe pes */
	mtime_t next;
};

struct pvpn {
	uint32_t vpn_index;
	struct inet_addr group;
	uint16_t port;
	uint32_t size;
	uint8_t igmp_version;
	mtime_t interval;
	struct psender *senders; /* owned */
	size_t n_senders;
	struct inet_addr *receivers; /* owned, sorted */
	size_t n_receivers;
};

/* ---- small helpers ---- */

static int64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t rng_next(uint64_t *s) /* splitmix64: query answer jitter only */
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static struct ptunnel *ptunnel_find(struct prober *p, const struct inet_addr *pe)
{
	for (size_t i = 0; i < p->n_tunnels; i++)
		if (inet_addr_eq(&p->tunnels[i].pe, pe))
			return &p->tunnels[i];
	return NULL;
}

static struct ptunnel *ptunnel_by_remote(struct prober *p, const struct inet_addr *remote)
{
	for (size_t i = 0; i < p->n_tunnels; i++)
		if (inet_addr_eq(&p->tunnels[i].ends.remote, remote))
			return &p->tunnels[i];
	return NULL;
}

static bool has_addr(const struct inet_addr *v, size_t n, const struct inet_addr *a)
{
	for (size_t i = 0; i < n; i++)
		if (inet_addr_eq(&v[i], a))
			return true;
	return false;
}

/* ---- sockets ---- */

static int open_send_socket(struct prober *p)
{
	int one = 1;
	unsigned flags = SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE |
			 SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_OPT_TSONLY;

	p->raw_fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_RAW);
	if (p->raw_fd < 0) {
		snprintf(p->error, sizeof(p->error), "raw socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(p->raw_fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one));
	/* Kernel software stamps at the device: the send time closest to the wire. */
	if (setsockopt(p->raw_fd, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof(flags)) == 0) {
		p->stamping = TX_STAMP_KERNEL;
	} else {
		p->stamping = TX_STAMP_USER;
		mvpn_log(LOG_WARNING, "probe: no kernel send timestamps (%s); stamping in user space",
			 strerror(errno));
	}
	return 0;
}

/* Without a GRE handler in this kernel, GRE to us would draw ICMP protocol
 * unreachables back at the PEs; a raw GRE socket that keeps nothing stops it. */
static int open_sink_socket(struct prober *p)
{
	struct sock_filter drop_all = BPF_STMT(BPF_RET | BPF_K, 0);
	struct sock_fprog prog = {.len = 1, .filter = &drop_all};

	p->sink_fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_GRE);
	if (p->sink_fd < 0) {
		snprintf(p->error, sizeof(p->error), "raw GRE socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(p->sink_fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
	return 0;
}

static int open_capture(struct prober *p, const char *interface)
{
	char errbuf[PCAP_ERRBUF_SIZE];

	p->pcap = pcap_create(interface, errbuf);
	if (!p->pcap) {
		snprintf(p->error, sizeof(p->error), "%s: %s", interface, errbuf);
		return -1;
	}
	pcap_set_snaplen(p->pcap, PROBE_SNAPLEN);
	pcap_set_timeout(p->pcap, PROBE_READ_TIMEOUT_MS);
	pcap_set_buffer_size(p->pcap, PROBE_BUFFER_BYTES);
	pcap_set_tstamp_precision(p->pcap, PCAP_TSTAMP_PRECISION_NANO);
	if (pcap_activate(p->pcap) < 0) {
		snprintf(p->error, sizeof(p->error), "%s: %s", interface, pcap_geterr(p->pcap));
		return -1;
	}
	/* Only what comes in: our own probes leaving must not be read as returns. */
	pcap_setdirection(p->pcap, PCAP_D_IN);
	if (pcap_setnonblock(p->pcap, 1, errbuf) < 0) {
		snprintf(p->error, sizeof(p->error), "%s: %s", interface, errbuf);
		return -1;
	}
	p->dlt = pcap_datalink(p->pcap);
	return 0;
}

int prober_open(struct prober *p, struct model *m, const char *interface,
		const struct inet_addr *local)
{
	memset(p, 0, sizeof(*p));
	p->m = m;
	p->raw_fd = p->sink_fd = -1;
	p->local = *local;
	p->echo_ident = (uint16_t)getpid();
	p->rng = (uint64_t)wall_ns();
	snprintf(p->interface, sizeof(p->interface), "%s", interface);
	if (open_send_socket(p) < 0 || open_sink_socket(p) < 0 || open_capture(p, interface) < 0)
		return -1;
	return 0;
}

/* ---- the capture filter ---- */

/* Offset of the inner IPv4 header: outer header length plus 4 bytes of GRE. */
#define INNER "((ip[0]&0xf)*4+4)"
#define INNER_L4 INNER "+(ip[" INNER "]&0xf)*4"

static char *filter_text(const struct prober *p)
{
	size_t size = 1024 + (p->n_tunnels + p->n_vpns) * 64;
	char *f = malloc(size), addr[INET_ADDR_STRLEN];
	size_t used;

	if (!f)
		return NULL;
	used = (size_t)snprintf(f, size, "ip proto 47 and dst host %s and (",
				inet_addr_format(&p->local, addr));
	for (size_t i = 0; i < p->n_tunnels && used < size; i++)
		used += (size_t)snprintf(f + used, size - used, "%ssrc host %s", i ? " or " : "",
					 inet_addr_format(&p->tunnels[i].ends.remote, addr));
	if (!p->n_tunnels && used < size)
		used += (size_t)snprintf(f + used, size - used, "ip[0:1] = 0");
	if (used < size)
		used += (size_t)snprintf(f + used, size - used,
					 ") and ip[(ip[0]&0xf)*4+2:2] = 0x0800 and ((ip[" INNER
					 "+9] = 1 and ip[" INNER_L4 "] = 0) or (ip[" INNER
					 "+9] = 2 and ip[" INNER_L4 "] = 0x11)");
	for (size_t i = 0; i < p->n_vpns && used < size; i++)
		used += (size_t)snprintf(f + used, size - used,
					 " or (ip[" INNER "+9] = 17 and ip[" INNER_L4 "+2:2] = %u)",
					 p->vpns[i].port);
	if (used < size)
		snprintf(f + used, size - used, ")");
	return used < size ? f : (free(f), NULL);
}

/*
 * Only a filter that changed is installed: on Linux, libpcap attaches a
 * reject-everything program before the new one (set_kernel_filter), so
 * every install drops whatever arrives in between; a reload that left the
 * tunnels as they were lost a reply now and then, counted as a lost probe.
 */
static int install_filter(struct prober *p)
{
	struct bpf_program prog;
	char *text = filter_text(p);
	int rc = -1;

	if (!text) {
		snprintf(p->error, sizeof(p->error), "probe filter: out of memory");
		return -1;
	}
	if (p->filter && strcmp(p->filter, text) == 0) {
		free(text);
		return 0;
	}
	if (pcap_compile(p->pcap, &prog, text, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		snprintf(p->error, sizeof(p->error), "probe filter: %s", pcap_geterr(p->pcap));
		free(text);
		return -1;
	}
	if (pcap_setfilter(p->pcap, &prog) < 0) {
		snprintf(p->error, sizeof(p->error), "probe filter: %s", pcap_geterr(p->pcap));
		free(text);
	} else {
		free(p->filter);
		p->filter = text;
		mvpn_log(LOG_INFO, "probe: capture filter installed on %s", p->interface);
		rc = 0;
	}
	pcap_freecode(&prog);
	return rc;
}

/* ---- sending ---- */

static void remember_send(struct prober *p, bool echo, uint32_t vpn_index, size_t sender,
			  uint64_t seq, const struct inet_addr *pe)
{
	uint32_t id = p->tx_counter - 1; /* the datagram send_packet just sent */
	struct tx_pending *t = &p->pending[id % 1024];

	*t = (struct tx_pending){.id = id, .used = true, .echo = echo,
				 .vpn_index = vpn_index, .sender = sender, .seq = seq};
	if (pe)
		t->pe = *pe;
}

/* One packet out through a tunnel; false if the kernel refused it. */
static bool send_packet(struct prober *p, const struct ptunnel *t, const uint8_t *pkt, size_t len)
{
	struct sockaddr_in to = {.sin_family = AF_INET};

	memcpy(&to.sin_addr, t->ends.remote.bytes, 4);
	if (len == 0 || sendto(p->raw_fd, pkt, len, 0, (struct sockaddr *)&to, sizeof(to)) < 0) {
		p->send_errors++;
		return false;
	}
	p->tx_counter++; /* the socket's OPT_ID counter moves once per datagram */
	return true;
}

static void send_igmp(struct prober *p, struct ptunnel *t, enum igmp_message kind,
		      const struct inet_addr *groups, size_t n)
{
	uint8_t pkt[PKT_MAX];
	size_t len = igmp_build(pkt, sizeof(pkt), &t->ends, p->ip_id++, kind, groups, n);

	send_packet(p, t, pkt, len);
}

/* The groups wanted through a tunnel: every probed VPN it receives for. */
static size_t groups_of(const struct prober *p, const struct ptunnel *t, struct inet_addr *out,
			size_t cap, bool *any_v2)
{
	size_t n = 0;

	*any_v2 = false;
	for (size_t i = 0; i < p->n_vpns && n < cap; i++) {
		const struct pvpn *v = &p->vpns[i];
		if (!has_addr(v->receivers, v->n_receivers, &t->pe))
			continue;
		out[n++] = v->group;
		*any_v2 |= v->igmp_version == 2;
	}
	return n;
}

#define GROUPS_PER_REPORT 64

/* Membership reports for every group wanted through t (or only `only`). */
static void report_groups(struct prober *p, struct ptunnel *t, const struct inet_addr *only,
			  bool answer)
{
	struct inet_addr groups[GROUPS_PER_REPORT];
	bool v2;
	size_t n = groups_of(p, t, groups, GROUPS_PER_REPORT, &v2);

	if (only && only->type) {
		if (!has_addr(groups, n, only))
			return;
		groups[0] = *only;
		n = 1;
	}
	if (!n)
		return;
	if (v2 || t->v2_querier) {
		for (size_t i = 0; i < n; i++)
			send_igmp(p, t, IGMP_V2_REPORT, &groups[i], 1);
	} else {
		send_igmp(p, t, answer ? IGMP_V3_CURRENT : IGMP_V3_JOIN, groups, n);
	}
}

static void send_echo(struct prober *p, struct ptunnel *t)
{
	uint8_t pkt[PKT_MAX];
	struct tunnel *mt = tunnel_find(&p->m->probing.tunnels, &t->pe);
	uint16_t seq = ++t->echo_seq;
	size_t len = echo_build(pkt, sizeof(pkt), &t->ends, p->ip_id++, p->echo_ident, seq,
				ECHO_PAYLOAD);
	int64_t before_send = wall_ns(); /* see send_probe */

	if (!mt || !send_packet(p, t, pkt, len))
		return;
	/* The clock after the send, not the tick's: see send_probe. */
	tunnel_echo_sent(mt, seq, mclock_now(&p->m->clock), before_send);
	remember_send(p, true, 0, 0, seq, &t->pe);
}

static void send_probe(struct prober *p, struct pvpn *v, struct psender *s, mtime_t now)
{
	uint8_t pkt[PKT_MAX];
	struct vpn *mv = vpn_find(p->m, v->vpn_index);
	struct ptunnel *t = ptunnel_find(p, &s->pe);
	struct probe_header h = {.vpn_index = v->vpn_index, .sender = s->pe};
	size_t len;

	if (!mv || !mv->probing || !t)
		return;
	/* The sequence is taken first so a failed send still counts as sent and lost:
	 * from the VPN's point of view that probe did not arrive.  The send time
	 * stands until the kernel's stamp comes: read before sendto(), never after,
	 * since a stall after the send would put it later than the reply and make
	 * the delay zero. */
	h.send_ns = (uint64_t)wall_ns();
	h.seq = probing_tx(&p->m->probing, mv->probing, s->pos, now, (int64_t)h.send_ns);
	len = probe_build(pkt, sizeof(pkt), &t->ends, p->ip_id++, &v->group, v->port, INNER_TTL,
			  &h, v->size);
	if (!send_packet(p, t, pkt, len))
		return;
	/* Its loss timeout runs from now: the tick's time is stale if this process
	 * was stalled (loaded, or stopped) since the tick began. */
	probing_tx_sent(mv->probing, s->pos, h.seq, mclock_now(&p->m->clock));
	remember_send(p, false, v->vpn_index, s->pos, h.seq, NULL);
}

/* ---- the kernel's send stamps ---- */

static void apply_stamp(struct prober *p, uint32_t id, int64_t ns)
{
	struct tx_pending *t = &p->pending[id % 1024];

	if (!t->used || t->id != id)
		return;
	t->used = false;
	p->tx_stamps++;
	if (t->echo) {
		struct tunnel *mt = tunnel_find(&p->m->probing.tunnels, &t->pe);
		if (mt)
			tunnel_echo_stamp(mt, (uint16_t)t->seq, ns);
	} else {
		struct vpn *v = vpn_find(p->m, t->vpn_index);
		if (v && v->probing && t->sender < v->probing->n)
			probing_tx_stamp(v->probing, t->sender, t->seq, ns);
	}
}

void prober_read_stamps(struct prober *p)
{
	char control[512];
	uint8_t data[64];

	for (;;) {
		struct iovec iov = {.iov_base = data, .iov_len = sizeof(data)};
		struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
				     .msg_controllen = sizeof(control)};
		int64_t ns = -1;
		uint32_t id = 0;
		bool have_id = false;

		if (recvmsg(p->raw_fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			return;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPING) {
				struct scm_timestamping ts;
				memcpy(&ts, CMSG_DATA(c), sizeof(ts));
				ns = (int64_t)ts.ts[0].tv_sec * 1000000000 + ts.ts[0].tv_nsec;
			} else if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) {
				struct sock_extended_err ee;
				memcpy(&ee, CMSG_DATA(c), sizeof(ee));
				if (ee.ee_origin == SO_EE_ORIGIN_TIMESTAMPING &&
				    ee.ee_info == SCM_TSTAMP_SND) {
					id = ee.ee_data;
					have_id = true;
				}
			}
		}
		if (have_id && ns > 0) {
			p->kernel_stamps_seen = true;
			apply_stamp(p, id, ns);
		}
	}
}

/* ---- reading what comes back ---- */

static void on_query(struct prober *p, struct ptunnel *t, const struct tunnel_rx *rx, mtime_t now)
{
	uint64_t spread = rx->max_resp_ms ? (uint64_t)rx->max_resp_ms * 1000000 : MTIME_SEC;

	t->v2_querier = rx->igmp_version <= 2; /* v1 queriers get v2 reports too */
	t->answer_group = rx->query_group;
	if (inet_addr_len(&t->answer_group) == 4 && !memcmp(t->answer_group.bytes, "\0\0\0\0", 4))
		t->answer_group.type = INET_UNKNOWN; /* a general query */
	/* RFC 3376 5.2: answer at a random time within Max Resp Time. */
	mtime_t at = now + rng_next(&p->rng) % spread;
	if (!t->answer_at || at < t->answer_at)
		t->answer_at = at;
}

static struct pvpn *pvpn_find(struct prober *p, uint32_t index)
{
	for (size_t i = 0; i < p->n_vpns; i++)
		if (p->vpns[i].vpn_index == index)
			return &p->vpns[i];
	return NULL;
}

static void on_probe(struct prober *p, struct ptunnel *t, const struct tunnel_rx *rx,
		     int64_t rx_ns, mtime_t now)
{
	struct pvpn *v = pvpn_find(p, rx->probe.vpn_index);
	struct probing *pr = &p->m->probing;

	/* A probe must come back to its VPN's group and port to count. */
	if (!v || !inet_addr_eq(&rx->inner_dst, &v->group) || rx->udp_dport != v->port) {
		pr->rx_result[PROBE_RX_UNKNOWN_VPN]++;
		return;
	}
	probing_rx(pr, p->m, v->vpn_index, &rx->probe.sender, rx->probe.seq, &t->pe, rx_ns, now);
}

static void on_frame(u_char *arg, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct prober *p = (struct prober *)arg;
	struct probing *pr = &p->m->probing;
	mtime_t now = mclock_now(&p->m->clock);
	int64_t rx_ns = (int64_t)h->ts.tv_sec * 1000000000 + h->ts.tv_usec; /* nano precision */
	struct tunnel_rx rx;
	enum probe_error perr = PROBE_OK;
	struct ptunnel *t;

	p->frames++;
	if (tunnel_rx_parse(p->dlt, bytes, h->caplen, 0, &rx, &perr) != PARSE_OK || perr != PROBE_OK) {
		pr->rx_malformed++;
		return;
	}
	t = ptunnel_by_remote(p, &rx.outer_src);
	if (!t) {
		pr->rx_other++;
		return;
	}
	switch (rx.kind) {
	case TUNNEL_RX_PROBE:
		on_probe(p, t, &rx, rx_ns, now);
		break;
	case TUNNEL_RX_ECHO_REPLY: {
		struct tunnel *mt = tunnel_find(&pr->tunnels, &t->pe);
		if (rx.echo_ident != p->echo_ident || !mt ||
		    !tunnel_echo_reply(mt, rx.echo_seq, rx_ns, now))
			pr->rx_other++;
		break;
	}
	case TUNNEL_RX_IGMP_QUERY:
		on_query(p, t, &rx, now);
		break;
	default:
		pr->rx_other++;
		break;
	}
}

void prober_read(struct prober *p)
{
	if (!p->pcap)
		return;
	/* Send stamps first: the kernel queues a datagram's stamp before the
	 * datagram leaves, so every reply read next finds its send's stamp. */
	prober_read_stamps(p);
	while (pcap_dispatch(p->pcap, 256, on_frame, (u_char *)p) > 0)
		;
}

/* ---- the schedule ---- */

static mtime_t earliest(mtime_t a, mtime_t b)
{
	return a < b ? a : b;
}

static mtime_t run_tunnel(struct prober *p, struct ptunnel *t, mtime_t now)
{
	if (t->next_echo <= now) {
		send_echo(p, t);
		t->next_echo = now + p->echo_interval;
	}
	if (t->answer_at && t->answer_at <= now) {
		report_groups(p, t, &t->answer_group, true);
		t->answer_at = 0;
	}
	if (t->next_report <= now) {
		report_groups(p, t, NULL, false);
		if (t->reports_left > 0)
			t->reports_left--;
		t->next_report = now + (t->reports_left > 0 ? UNSOLICITED_SPACING : p->report_interval);
	}
	mtime_t next = earliest(t->next_echo, t->next_report);
	return t->answer_at ? earliest(next, t->answer_at) : next;
}

/* Catch up after a stall by skipping, not by bursting: a burst would be
 * measured as the network's doing. */
static mtime_t run_vpn(struct prober *p, struct pvpn *v, mtime_t now)
{
	mtime_t next = MTIME_NEVER;

	for (size_t i = 0; i < v->n_senders; i++) {
		struct psender *s = &v->senders[i];
		if (s->next <= now) {
			send_probe(p, v, s, now);
			s->next += v->interval;
			if (s->next <= now)
				s->next = now + v->interval;
		}
		next = earliest(next, s->next);
	}
	return next;
}

mtime_t prober_run(struct prober *p, mtime_t now)
{
	mtime_t next = MTIME_NEVER;

	for (size_t i = 0; i < p->n_tunnels; i++)
		next = earliest(next, run_tunnel(p, &p->tunnels[i], now));
	for (size_t i = 0; i < p->n_vpns; i++)
		next = earliest(next, run_vpn(p, &p->vpns[i], now));
	if (now >= p->next_tick) {
		/* Whatever came back is read before anything is judged lost. */
		prober_read(p);
		probing_tick(&p->m->probing, p->m, now);
		p->next_tick = now + TICK_INTERVAL;
	}
	if (p->stamping == TX_STAMP_KERNEL && !p->kernel_stamps_seen && p->tx_counter > 64) {
		mvpn_log(LOG_WARNING, "probe: the kernel gives no send timestamps on %s; stamping in "
			 "user space", p->interface);
		p->stamping = TX_STAMP_USER;
	}
	return earliest(next, p->next_tick);
}

int prober_fd(const struct prober *p)
{
	return p->pcap ? pcap_get_selectable_fd(p->pcap) : -1;
}

int prober_errqueue_fd(const struct prober *p)
{
	return p->raw_fd;
}

/* ---- (re)configuration ---- */

static void pvpn_free(struct pvpn *v)
{
	free(v->senders);
	free(v->receivers);
}

static void leave_all(struct prober *p, const struct pvpn *v, const struct prober_plan *plan)
{
	for (size_t i = 0; i < v->n_receivers; i++) {
		struct ptunnel *t = ptunnel_find(p, &v->receivers[i]);
		const struct prober_vpn *nv = NULL;
		for (size_t k = 0; plan && k < plan->n_vpns; k++)
			if (plan->vpns[k].vpn_index == v->vpn_index)
				nv = &plan->vpns[k];
		/* Still wanted through that tunnel for the same group: keep it. */
		if (nv && inet_addr_eq(&nv->group, &v->group) &&
		    has_addr(nv->s.receivers, nv->s.n_receivers, &v->receivers[i]))
			continue;
		if (t)
			send_igmp(p, t, v->igmp_version == 2 ? IGMP_V2_LEAVE : IGMP_V3_LEAVE, &v->group,
				  1);
	}
}

static int build_tunnels(struct prober *p, const struct prober_plan *plan, mtime_t now,
			 struct ptunnel **out, size_t *n_out)
{
	size_t cap = 0, n = 0;
	struct ptunnel *v = NULL;

	for (size_t k = 0; k < plan->n_vpns; k++)
		cap += plan->vpns[k].s.n_senders + plan->vpns[k].s.n_receivers;
	v = calloc(cap ? cap : 1, sizeof(*v));
	if (!v)
		return -1;
	for (size_t k = 0; k < plan->n_vpns; k++) {
		const struct probe_settings *s = &plan->vpns[k].s;
		for (size_t r = 0; r < s->n_senders + s->n_receivers; r++) {
			const struct inet_addr *pe =
				r < s->n_senders ? &s->senders[r] : &s->receivers[r - s->n_senders];
			bool dup = false;
			for (size_t i = 0; i < n && !dup; i++)
				dup = inet_addr_eq(&v[i].pe, pe);
			if (dup)
				continue;
			struct ptunnel *old = ptunnel_find(p, pe);
			struct ptunnel *t = &v[n++];
			if (old) {
				*t = *old;
			} else {
				t->pe = *pe;
				t->next_echo = now;
			}
			t->ends.local = plan->local;
			t->ends.remote = plan->remote_of(plan->remote_arg, pe);
		}
	}
	*out = v;
	*n_out = n;
	return 0;
}

static int build_vpn(struct prober *p, const struct prober_vpn *pv, mtime_t now, struct pvpn *out)
{
	struct vpn *mv = vpn_find(p->m, pv->vpn_index);
	struct pvpn *old = pvpn_find(p, pv->vpn_index);

	memset(out, 0, sizeof(*out));
	if (!mv || !vpn_probe_configure(p->m, mv, &pv->s, now))
		return -1;
	out->vpn_index = pv->vpn_index;
	out->group = pv->group;
	out->port = pv->s.port;
	out->size = pv->s.size;
	out->igmp_version = pv->s.igmp_version;
	out->interval = MTIME_SEC / pv->s.rate;
	out->senders = calloc(pv->s.n_senders ? pv->s.n_senders : 1, sizeof(*out->senders));
	out->receivers = calloc(pv->s.n_receivers ? pv->s.n_receivers : 1, sizeof(*out->receivers));
	if (!out->senders || !out->receivers)
		return -1;
	out->n_senders = pv->s.n_senders;
	for (size_t i = 0; i < pv->s.n_senders; i++) {
		struct psender *s = &out->senders[i];
		s->pe = pv->s.senders[i];
		s->pos = (size_t)vpn_probe_pe_index(mv->probing, &s->pe);
		s->next = now + out->interval * i / pv->s.n_senders; /* spread the senders */
		for (size_t k = 0; old && k < old->n_senders; k++)
			if (inet_addr_eq(&old->senders[k].pe, &s->pe) && old->interval == out->interval)
				s->next = old->senders[k].next;
	}
	out->n_receivers = pv->s.n_receivers;
	memcpy(out->receivers, pv->s.receivers, pv->s.n_receivers * sizeof(*out->receivers));
	return 0;
}

/* A receiver new to this VPN's group gets unsolicited reports at once. */
static void start_new_receivers(struct prober *p, const struct pvpn *nv, const struct pvpn *old,
				mtime_t now)
{
	for (size_t i = 0; i < nv->n_receivers; i++) {
		if (old && inet_addr_eq(&old->group, &nv->group) &&
		    has_addr(old->receivers, old->n_receivers, &nv->receivers[i]))
			continue;
		struct ptunnel *t = ptunnel_find(p, &nv->receivers[i]);
		if (t) {
			t->reports_left = UNSOLICITED_REPORTS;
			t->next_report = now;
		}
	}
}

static void sync_model_tunnels(struct prober *p, const struct prober_plan *plan, mtime_t now)
{
	struct probing *pr = &p->m->probing;
	mtime_t window = 60 * MTIME_SEC;

	for (size_t k = 0; k < plan->n_vpns; k++)
		if ((mtime_t)plan->vpns[k].s.window * MTIME_SEC > window)
			window = (mtime_t)plan->vpns[k].s.window * MTIME_SEC;
	probing_tunnels_begin(pr);
	for (size_t i = 0; i < p->n_tunnels; i++) {
		struct ptunnel *t = &p->tunnels[i];
		struct tunnel *mt = probing_tunnel_want(pr, &t->pe, &t->ends.local, &t->ends.remote,
							 window, now);
		if (mt)
			mt->n_vpns = 0;
	}
	for (size_t k = 0; k < plan->n_vpns; k++) {
		const struct probe_settings *s = &plan->vpns[k].s;
		for (size_t i = 0; i < p->n_tunnels; i++)
			if (has_addr(s->senders, s->n_senders, &p->tunnels[i].pe) ||
			    has_addr(s->receivers, s->n_receivers, &p->tunnels[i].pe)) {
				struct tunnel *mt = tunnel_find(&pr->tunnels, &p->tunnels[i].pe);
				if (mt)
					mt->n_vpns++;
			}
	}
	probing_tunnels_end(pr);
}

/* A VPN no longer probed forgets its pairs. */
static void disable_unplanned(struct prober *p, const struct prober_plan *plan, mtime_t now)
{
	for (size_t i = 0; i < p->m->n_vpns; i++) {
		struct vpn *v = p->m->vpns[i];
		bool planned = false;
		for (size_t k = 0; k < plan->n_vpns && !planned; k++)
			planned = plan->vpns[k].vpn_index == v->index;
		if (!planned && v->probing)
			vpn_probe_configure(p->m, v, NULL, now);
	}
}

int prober_configure(struct prober *p, const struct prober_plan *plan)
{
	mtime_t now = mclock_now(&p->m->clock);
	struct ptunnel *tunnels = NULL;
	struct pvpn *vpns = calloc(plan->n_vpns ? plan->n_vpns : 1, sizeof(*vpns));
	size_t n_tunnels = 0;

	p->m->probing.timing = plan->timing;
	p->echo_interval = plan->echo_interval;
	p->report_interval = plan->report_interval;
	if (!vpns || build_tunnels(p, plan, now, &tunnels, &n_tunnels) < 0) {
		free(vpns);
		snprintf(p->error, sizeof(p->error), "out of memory planning the probes");
		return -1;
	}
	for (size_t k = 0; k < plan->n_vpns; k++) {
		if (build_vpn(p, &plan->vpns[k], now, &vpns[k]) < 0) {
			mvpn_log(LOG_ERR, "probe: vpn %u: out of memory; not probed",
				 plan->vpns[k].vpn_index);
			pvpn_free(&vpns[k]);
			memset(&vpns[k], 0, sizeof(vpns[k]));
		}
	}
	/* Leaves go out through the old tunnels before they are replaced. */
	for (size_t i = 0; i < p->n_vpns; i++)
		leave_all(p, &p->vpns[i], plan);
	struct pvpn *old_vpns = p->vpns;
	size_t n_old = p->n_vpns;
	free(p->tunnels);
	p->tunnels = tunnels;
	p->n_tunnels = n_tunnels;
	p->vpns = vpns;
	p->n_vpns = plan->n_vpns;
	for (size_t k = 0; k < p->n_vpns; k++) {
		const struct pvpn *old = NULL;
		for (size_t i = 0; i < n_old; i++)
			if (old_vpns[i].vpn_index == vpns[k].vpn_index)
				old = &old_vpns[i];
		start_new_receivers(p, &vpns[k], old, now);
	}
	for (size_t i = 0; i < n_old; i++)
		pvpn_free(&old_vpns[i]);
	free(old_vpns);
	disable_unplanned(p, plan, now);
	sync_model_tunnels(p, plan, now);
	return install_filter(p);
}

void prober_close(struct prober *p)
{
	for (size_t i = 0; i < p->n_vpns; i++) {
		leave_all(p, &p->vpns[i], NULL);
		pvpn_free(&p->vpns[i]);
	}
	free(p->vpns);
	free(p->tunnels);
	free(p->filter);
	p->filter = NULL;
	if (p->pcap)
		pcap_close(p->pcap);
	if (p->raw_fd >= 0)
		close(p->raw_fd);
	if (p->sink_fd >= 0)
		close(p->sink_fd);
	p->vpns = NULL;
	p->tunnels = NULL;
	p->n_vpns = p->n_tunnels = 0;
	p->pcap = NULL;
	p->raw_fd = p->sink_fd = -1;
}
