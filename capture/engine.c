#include "engine.h"

#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../mib/log.h"
#include "../mib/passive.h"

/* ---- which VPN a provider group belongs to ---- */

static int route_cmp(const void *a, const void *b)
{
	return inet_addr_cmp(&((const struct mdt_route *)a)->group,
			     &((const struct mdt_route *)b)->group);
}

/* FNV-1a over the type and the address bytes. */
static uint32_t group_hash(const struct inet_addr *g)
{
	uint32_t h = (2166136261u ^ g->type) * 16777619u;

	for (size_t i = 0; i < inet_addr_len(g); i++)
		h = (h ^ g->bytes[i]) * 16777619u;
	return h;
}

/*
 * Every packet asks this.  An open-addressing table at most half full, whose
 * slots hold route positions + 1 (0: empty), finds a group with one hash and
 * nearly always one comparison; the route holds the VPN itself.  With 1,000
 * VPNs a binary search over the routes and another in vpn_find cost a third
 * of a customer packet's handling, mostly in cache misses.
 */
static struct vpn *vpn_for_group(const struct capture *c, const struct inet_addr *group)
{
	if (!c->n_routes)
		return NULL;
	for (size_t i = group_hash(group) & c->route_mask;; i = (i + 1) & c->route_mask) {
		uint32_t slot = c->route_slots[i];
		if (!slot)
			return NULL;
		if (inet_addr_eq(&c->routes[slot - 1].group, group))
			return c->routes[slot - 1].vpn;
	}
}

static int build_route_slots(struct capture *c)
{
	size_t size = 16;

	while (size < 2 * c->n_routes)
		size *= 2;
	uint32_t *slots = calloc(size, sizeof(*slots));
	if (!slots)
		return -1;
	for (size_t r = 0; r < c->n_routes; r++) {
		size_t i = group_hash(&c->routes[r].group) & (size - 1);
		while (slots[i])
			i = (i + 1) & (size - 1);
		slots[i] = (uint32_t)r + 1;
	}
	free(c->route_slots);
	c->route_slots = slots;
	c->route_mask = size - 1;
	return 0;
}

static int build_routes(struct capture *c)
{
	const struct model *m = c->model;
	struct mdt_route *routes = m->n_vpns ? calloc(m->n_vpns, sizeof(*routes)) : NULL;

	if (m->n_vpns && !routes) {
		snprintf(c->error, sizeof(c->error), "out of memory");
		return -1;
	}
	for (size_t i = 0; i < m->n_vpns; i++) {
		routes[i].group = m->vpns[i]->default_mdt;
		routes[i].vpn_index = m->vpns[i]->index;
		routes[i].vpn = m->vpns[i];
	}
	if (m->n_vpns) /* qsort(NULL, 0) is undefined */
		qsort(routes, m->n_vpns, sizeof(*routes), route_cmp);
	free(c->routes);
	c->routes = routes;
	c->n_routes = m->n_vpns;
	if (build_route_slots(c) < 0) {
		c->n_routes = 0; /* no lookup until a configure succeeds */
		snprintf(c->error, sizeof(c->error), "out of memory");
		return -1;
	}
	return 0;
}

/* ---- the BPF filter ---- */

/* "ip proto 47 and (dst host A or ...)": only GRE to our groups reaches user space. */
char *capture_filter_text(const struct capture *c)
{
	size_t size = 256 + c->n_routes * 2 * (INET_ADDR_STRLEN + 16);
	char *v4 = calloc(1, size), *v6 = calloc(1, size), *all = calloc(1, 4 * size);
	char addr[INET_ADDR_STRLEN];

	if (!v4 || !v6 || !all) {
		free(v4), free(v6), free(all);
		return NULL;
	}
	for (size_t i = 0; i < c->n_routes; i++) {
		char *list = c->routes[i].group.type == INET_IPV4 ? v4 : v6;
		size_t used = strlen(list);
		snprintf(list + used, size - used, "%sdst host %s", used ? " or " : "",
			 inet_addr_format(&c->routes[i].group, addr));
	}
	snprintf(all, 4 * size, "(ip proto 47 and (%s)) or (ip6 proto 47 and (%s))",
		 v4[0] ? v4 : "ip[0:1] = 0", v6[0] ? v6 : "ip6[0:1] = 0");
	/* The same again behind an 802.1Q tag: "vlan" shifts what follows it.
	 * Only Ethernet has tags; libpcap refuses "vlan" on other link types. */
	if (pcap_datalink(c->pcap) == DLT_EN10MB) {
		size_t used = strlen(all);
		snprintf(all + used, 4 * size - used, " or (vlan and ((ip proto 47 and (%s)) or "
			 "(ip6 proto 47 and (%s))))", v4[0] ? v4 : "ip[0:1] = 0",
			 v6[0] ? v6 : "ip6[0:1] = 0");
	}
	free(v4);
	free(v6);
	return all;
}

/* stdio's buffer for a capture file. */
#define FILE_BUFFER_BYTES (1 << 20)

/* Live capture: at most this long between a packet's arrival and its handling. */
#define LIVE_TIMEOUT_MS 50
#define LIVE_BUFFER_BYTES (32 << 20)

/* GRE to a provider group no VPN has is counted, and read no further than this. */
#define UNKNOWN_MDT_SNAPLEN 96
#define ANY_GRE "ip proto 47 or ip6 proto 47"
#define ANY_GRE_OR_TAGGED ANY_GRE " or (vlan and (" ANY_GRE "))"

/*
 * One kernel program from two compiled filters: the configured groups' filter
 * runs first and keeps its verdict for matches; where it would reject, it jumps
 * to the any-GRE filter instead, whose matches are cut to UNKNOWN_MDT_SNAPLEN.
 * BPF jumps are relative and forward only, so concatenation keeps them right.
 */
static int join_programs(const struct bpf_program *known, const struct bpf_program *gre,
			 struct bpf_program *out)
{
	u_int n = known->bf_len + gre->bf_len;
	struct bpf_insn *insns = calloc(n, sizeof(*insns));

	if (!insns)
		return -1;
	for (u_int i = 0; i < known->bf_len; i++) {
		struct bpf_insn in = known->bf_insns[i];
		if (BPF_CLASS(in.code) == BPF_RET && BPF_RVAL(in.code) != BPF_K) {
			free(insns);
			return -1; /* "ret A": not what pcap_compile gives for these filters */
		}
		if (BPF_CLASS(in.code) == BPF_RET && in.k == 0)
			in = (struct bpf_insn)BPF_STMT(BPF_JMP | BPF_JA, known->bf_len - i - 1);
		insns[i] = in;
	}
	for (u_int i = 0; i < gre->bf_len; i++) {
		struct bpf_insn in = gre->bf_insns[i];
		if (BPF_CLASS(in.code) == BPF_RET && BPF_RVAL(in.code) == BPF_K && in.k != 0)
			in.k = UNKNOWN_MDT_SNAPLEN;
		insns[known->bf_len + i] = in;
	}
	out->bf_len = n;
	out->bf_insns = insns;
	return 0;
}

static int install_filter(struct capture *c)
{
	struct bpf_program known = {0}, gre = {0}, both = {0};
	char *text = capture_filter_text(c);
	int rc = -1;

	if (!text) {
		snprintf(c->error, sizeof(c->error), "out of memory");
		return -1;
	}
	const char *any_gre = pcap_datalink(c->pcap) == DLT_EN10MB ? ANY_GRE_OR_TAGGED : ANY_GRE;

	if (pcap_compile(c->pcap, &gre, any_gre, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		snprintf(c->error, sizeof(c->error), "capture filter: %s", pcap_geterr(c->pcap));
	} else if (c->offline) {
		/*
		 * Reading a file, libpcap runs the program in user space, in its
		 * interpreter, one comparison per configured group (1.2 us a packet
		 * with 1,000 VPNs); vpn_for_group's binary search does the same job
		 * for a fraction of that.  So a replay filters GRE only, which leaves
		 * every counter as it was: GRE to no configured group is counted as
		 * unknown-MDT before anything past its headers is read.
		 */
		rc = pcap_setfilter(c->pcap, &gre);
		if (rc < 0)
			snprintf(c->error, sizeof(c->error), "capture filter: %s", pcap_geterr(c->pcap));
	} else if (pcap_compile(c->pcap, &known, text, 1, PCAP_NETMASK_UNKNOWN) < 0 ||
		   join_programs(&known, &gre, &both) < 0 || pcap_setfilter(c->pcap, &both) < 0) {
		/* Too many groups for one program: take all GRE; user space sorts it out. */
		mvpn_log(LOG_WARNING, "capture: per-group filter refused (%s); filtering GRE only",
			 pcap_geterr(c->pcap));
		rc = pcap_setfilter(c->pcap, &gre);
		if (rc < 0)
			snprintf(c->error, sizeof(c->error), "capture filter: %s", pcap_geterr(c->pcap));
	} else {
		rc = 0;
	}
	free(both.bf_insns);
	pcap_freecode(&known);
	pcap_freecode(&gre);
	free(text);
	return rc;
}

/* ---- live: join the groups so the provider network delivers them ---- */

/* Closing a socket drops every membership it held. */
static void leave_groups(struct capture *c)
{
	for (size_t i = 0; i < c->n_join_fds; i++)
		close(c->join_fds[i]);
	free(c->join_fds);
	c->join_fds = NULL;
	c->n_join_fds = 0;
}

/*
 * Linux lets one socket hold igmp_max_memberships (20 by default) IPv4
 * groups, so every JOINS_PER_SOCKET groups get a socket of their own.
 */
#define JOINS_PER_SOCKET 20

static int join_socket(struct capture *c, size_t k)
{
	if (k < c->n_join_fds)
		return c->join_fds[k];
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);
	int *grown = fd >= 0 ? realloc(c->join_fds, (k + 1) * sizeof(*grown)) : NULL;
	if (!grown) {
		mvpn_log(LOG_ERR, "capture: cannot open a socket to join groups: %s",
			 fd < 0 ? strerror(errno) : "out of memory");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	c->join_fds = grown;
	c->join_fds[c->n_join_fds++] = fd;
	return fd;
}

static void join_groups(struct capture *c)
{
	leave_groups(c);
	for (size_t i = 0; i < c->n_routes; i++) {
		const struct inet_addr *g = &c->routes[i].group;
		struct group_req req = {.gr_interface = c->if_index};
		char text[INET_ADDR_STRLEN];
		int fd = join_socket(c, i / JOINS_PER_SOCKET);

		if (fd < 0)
			return;
		if (g->type == INET_IPV4) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&req.gr_group;
			sin->sin_family = AF_INET;
			memcpy(&sin->sin_addr, g->bytes, 4);
		} else {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&req.gr_group;
			sin6->sin6_family = AF_INET6;
			memcpy(&sin6->sin6_addr, g->bytes, 16);
		}
		int level = g->type == INET_IPV4 ? IPPROTO_IP : IPPROTO_IPV6;
		if (setsockopt(fd, level, MCAST_JOIN_GROUP, &req, sizeof(req)) < 0)
			mvpn_log(LOG_WARNING, "capture: cannot join %s on %s: %s",
				 inet_addr_format(g, text), c->source, strerror(errno));
	}
}

/* ---- opening ---- */

static void capture_reset(struct capture *c, struct model *m)
{
	memset(c, 0, sizeof(*c));
	c->model = m;
}

int capture_open_file(struct capture *c, struct model *m, const char *path)
{
	char errbuf[PCAP_ERRBUF_SIZE];

	capture_reset(c, m);
	c->offline = true;
	snprintf(c->source, sizeof(c->source), "%s", path);
	/* libpcap reads a file through stdio, record by record: with stdio's
	 * default 4 KiB buffer that is a read(2) every 40 small packets, a tenth
	 * of a replay's time.  A larger buffer makes them rare.  "-" is the
	 * standard input, as pcap_open_offline has it. */
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (f && f != stdin && (c->file_buf = malloc(FILE_BUFFER_BYTES)))
		setvbuf(f, c->file_buf, _IOFBF, FILE_BUFFER_BYTES);
	c->pcap = f ? pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, errbuf)
		    : NULL;
	if (!c->pcap) {
		snprintf(c->error, sizeof(c->error), "%s: %s", path, f ? errbuf : strerror(errno));
		if (f && f != stdin)
			fclose(f);
		free(c->file_buf);
		c->file_buf = NULL;
		return -1;
	}
	c->dlt = pcap_datalink(c->pcap);
	snprintf(m->capture_source, sizeof(m->capture_source), "file:%s", path);
	m->capture = CAPTURE_RUNNING;
	return capture_configure(c);
}

/* Opens the live handle on c->source (at start, and again after the interface
 * came back); on failure c->pcap is NULL and c->error says why. */
static int open_live_handle(struct capture *c)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	const char *ifname = c->source;

	/* The index changes when an interface is deleted and created again. */
	c->if_index = if_nametoindex(ifname);
	c->pcap = pcap_create(ifname, errbuf);
	/*
	 * Not immediate mode: that gives a ring of snaplen-sized slots (about 32 of
	 * them in 2 MB), which a burst of small packets overflows.  TPACKET_V3 packs
	 * packets into blocks handed over when full or after LIVE_TIMEOUT_MS.
	 */
	if (!c->pcap || pcap_set_snaplen(c->pcap, 65535) || pcap_set_promisc(c->pcap, 0) ||
	    pcap_set_timeout(c->pcap, LIVE_TIMEOUT_MS) ||
	    pcap_set_buffer_size(c->pcap, LIVE_BUFFER_BYTES) ||
	    pcap_set_tstamp_precision(c->pcap, PCAP_TSTAMP_PRECISION_NANO) ||
	    pcap_activate(c->pcap) < 0 || pcap_setnonblock(c->pcap, 1, errbuf) < 0) {
		/* Interface names are short (IFNAMSIZ); the bound keeps the message whole. */
		snprintf(c->error, sizeof(c->error), "%.64s: %s", ifname,
			 c->pcap ? pcap_geterr(c->pcap) : errbuf);
		if (c->pcap)
			pcap_close(c->pcap);
		c->pcap = NULL;
		return -1;
	}
	c->dlt = pcap_datalink(c->pcap);
	return 0;
}

int capture_open_live(struct capture *c, struct model *m, const char *ifname)
{
	capture_reset(c, m);
	snprintf(c->source, sizeof(c->source), "%s", ifname);
	if (open_live_handle(c) < 0)
		return -1;
	snprintf(m->capture_source, sizeof(m->capture_source), "interface:%s", ifname);
	m->capture = CAPTURE_RUNNING;
	return capture_configure(c);
}

void capture_suspend(struct capture *c)
{
	if (c->offline || !c->pcap)
		return;
	capture_update_stats(c);
	c->drops_before = c->model->g.capture_kernel_drops; /* the counter never goes back */
	pcap_close(c->pcap);
	c->pcap = NULL;
	c->model->capture = CAPTURE_FAILED;
}

int capture_resume(struct capture *c)
{
	if (c->offline || c->pcap)
		return 0;
	if (open_live_handle(c) < 0)
		return -1;
	/* A new handle needs the filter; the memberships were on the old interface. */
	if (capture_configure(c) < 0) {
		pcap_close(c->pcap);
		c->pcap = NULL;
		return -1;
	}
	c->model->capture = CAPTURE_RUNNING;
	c->model->g.capture_restarts++;
	return 0;
}

bool capture_suspended(const struct capture *c)
{
	return !c->offline && !c->pcap;
}

int capture_configure(struct capture *c)
{
	if (build_routes(c) < 0)
		return -1;
	if (!c->pcap) /* suspended: the filter and the joins come with the new handle */
		return 0;
	if (install_filter(c) < 0)
		return -1;
	if (!c->offline)
		join_groups(c);
	return 0;
}

int capture_fd(const struct capture *c)
{
	return c->offline || !c->pcap ? -1 : pcap_get_selectable_fd(c->pcap);
}

void capture_close(struct capture *c)
{
	if (c->pcap)
		pcap_close(c->pcap);
	leave_groups(c);
	free(c->file_buf); /* after pcap_close, which closed the file using it */
	free(c->routes);
	free(c->route_slots);
	c->file_buf = NULL;
	c->pcap = NULL;
	c->routes = NULL;
	c->route_slots = NULL;
}

/* ---- per packet ---- */

static void count_malformed(struct capture *c, struct vpn *v, enum parse_error e)
{
	c->parse_errors[e]++;
	c->model->g.malformed++;
	if (v)
		v->counters.malformed++;
}

static void count_control(struct capture *c, struct vpn *v)
{
	c->model->g.control++;
	v->counters.control++;
}

static void handle_hello(struct capture *c, struct vpn *v, const struct frame *f)
{
	struct pim_hello h;
	enum parse_error e = pim_hello_parse(f->inner.payload, f->inner.payload_len, &h);

	if (e != PARSE_OK) {
		count_malformed(c, v, e);
		return;
	}
	count_control(c, v);
	passive_hello(c->model, v, &(struct hello_event){
		.pe = f->outer.src, .caddr = f->inner.src, .has_holdtime = h.has_holdtime,
		.holdtime = h.holdtime, .has_genid = h.has_generation_id, .genid = h.generation_id,
		.has_dr_priority = h.has_dr_priority, .dr_priority = h.dr_priority});
}

struct jp_context {
	struct capture *c;
	struct vpn *v;
	const struct frame *f;
	bool counted; /* passive_jp_message called */
};

static void jp_record(void *arg, const struct pim_jp_header *hdr, const struct pim_jp_record *rec)
{
	struct jp_context *ctx = arg;

	if (!ctx->counted) {
		passive_jp_message(ctx->c->model, ctx->v, &ctx->f->outer.src);
		ctx->counted = true;
	}
	passive_jp_record(ctx->c->model, ctx->v, &(struct jp_event){
		.sender = ctx->f->outer.src, .upstream = hdr->upstream, .holdtime = hdr->holdtime,
		.group = rec->group, .source = rec->source, .kind = (uint8_t)rec->kind,
		.join = rec->join});
}

static void handle_join_prune(struct capture *c, struct vpn *v, const struct frame *f)
{
	struct jp_context ctx = {.c = c, .v = v, .f = f};
	enum parse_error e = pim_jp_parse(f->inner.payload, f->inner.payload_len, jp_record, &ctx);

	if (e != PARSE_OK) {
		count_malformed(c, v, e);
		return;
	}
	count_control(c, v);
	if (!ctx.counted)
		passive_jp_message(c->model, v, &f->outer.src);
}

static void handle_pim(struct capture *c, struct vpn *v, const struct frame *f)
{
	enum pim_type type;
	enum parse_error e = pim_parse_header(&f->inner, &type);

	if (e != PARSE_OK) {
		count_malformed(c, v, e);
		return;
	}
	if (type == PIM_HELLO)
		handle_hello(c, v, f);
	else if (type == PIM_JOIN_PRUNE)
		handle_join_prune(c, v, f);
	else
		count_control(c, v); /* Assert and friends: valid control, no state we keep */
}

struct mdt_context {
	struct capture *c;
	struct vpn *v;
	const struct frame *f;
};

static void mdt_tlv(void *arg, const struct mdt_join *tlv)
{
	struct mdt_context *ctx = arg;

	passive_mdt_join(ctx->c->model, ctx->v, &(struct mdt_event){
		.announcer = ctx->f->outer.src, .c_source = tlv->c_source, .c_group = tlv->c_group,
		.p_group = tlv->p_group});
}

static void handle_mdt_join(struct capture *c, struct vpn *v, const struct frame *f)
{
	struct udp_packet udp;
	struct mdt_context ctx = {.c = c, .v = v, .f = f};
	enum parse_error e = udp_parse(&f->inner, &udp);

	if (e == PARSE_OK)
		e = mdt_join_parse(udp.payload, udp.payload_len, mdt_tlv, &ctx);
	if (e != PARSE_OK) {
		count_malformed(c, v, e);
		return;
	}
	count_control(c, v);
}

/* The destination of an outer header ip_parse refused: its fixed fields only. */
static bool peek_outer_group(int dlt, const uint8_t *p, size_t len, struct inet_addr *group)
{
	size_t off;

	if (link_parse(dlt, p, len, &off) != PARSE_OK || off >= len)
		return false;
	const uint8_t *ip = p + off;
	size_t n = len - off;
	if ((ip[0] >> 4) == 4 && n >= 20) {
		inet_addr_v4(group, ip + 16);
		return true;
	}
	if ((ip[0] >> 4) == 6 && n >= 40) {
		inet_addr_v6(group, ip + 24);
		return true;
	}
	return false;
}

static void advance_clock(struct capture *c, mtime_t ts)
{
	struct model *m = c->model;

	if (!c->offline)
		return;
	mclock_advance(&m->clock, ts);
	/* Before the packet is applied, as a live timer would have fired before
	 * it arrived; and the model judges the previous packet's effects (and
	 * the expiries) before this one can undo them. */
	passive_expire(m, mclock_now(&m->clock));
	alarms_run(m, mclock_now(&m->clock));
}

static void handle_frame(struct capture *c, const uint8_t *p, size_t len, mtime_t ts)
{
	struct model *m = c->model;
	struct frame f;

	advance_clock(c, ts);
	m->g.packets_seen++;
	enum parse_error e = frame_parse(c->dlt, p, len, &f);
	if (e == PARSE_OK && f.cls == FRAME_NOT_GRE)
		return;
	/* Whose MDT is it?  A broken outer header still names its group, most often. */
	struct inet_addr group = f.outer.dst;
	if (group.type == INET_UNKNOWN && !peek_outer_group(c->dlt, p, len, &group)) {
		count_malformed(c, NULL, e);
		return;
	}
	struct vpn *v = vpn_for_group(c, &group);
	if (!v) {
		/* Not ours: counted, never parsed further (the kernel cut it short anyway). */
		m->g.unknown_mdt++;
		return;
	}
	if (e != PARSE_OK) {
		v->counters.packets++;
		count_malformed(c, v, e);
		return;
	}
	v->counters.packets++;
	v->passive = PASSIVE_ACTIVE;
	switch (f.cls) {
	case FRAME_PIM: handle_pim(c, v, &f); break;
	case FRAME_MDT_JOIN: handle_mdt_join(c, v, &f); break;
	default:
		/* Customer data: counted and dropped, never read (patent claim 4). */
		v->counters.data_discarded++;
		m->g.data_discarded++;
		break;
	}
}

void capture_handle_frame(struct capture *c, const uint8_t *p, size_t len, mtime_t ts)
{
	handle_frame(c, p, len, ts);
	/* Judged at once, before a later packet can undo what this one did. */
	alarms_run(c->model, mclock_now(&c->model->clock));
}

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct capture *c = (struct capture *)user;

	/* With nanosecond precision requested, tv_usec holds nanoseconds. */
	mtime_t ts = (mtime_t)h->ts.tv_sec * MTIME_SEC + (mtime_t)h->ts.tv_usec;
	c->packets_read++;
	capture_handle_frame(c, bytes, h->caplen, ts);
}

void capture_update_stats(struct capture *c)
{
	struct pcap_stat st;

	if (c->offline || !c->pcap || pcap_stats(c->pcap, &st) < 0)
		return;
	c->model->g.capture_kernel_drops = c->drops_before + st.ps_drop + st.ps_ifdrop;
}

int capture_read(struct capture *c, int max)
{
	if (!c->pcap || c->finished)
		return 0;
	int n = pcap_dispatch(c->pcap, c->offline ? max : -1, on_packet, (u_char *)c);
	if (n == PCAP_ERROR) {
		snprintf(c->error, sizeof(c->error), "%s: %s", c->source, pcap_geterr(c->pcap));
		return -1;
	}
	if (c->offline && n == 0) {
		c->finished = true;
		c->model->capture = CAPTURE_FINISHED;
	}
	return n;
}
