#include "engine.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../mib/log.h"
#include "../mib/passive.h"
#include "cover.h"
#include "feed.h"
#include "joins.h"

/* ---- which VPN a provider group belongs to ---- */

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
	size_t n = 0;
	for (size_t i = 0; i < m->n_vpns; i++) {
		/* A VPN signalled by BGP (RFC 6514) has no default MDT to capture. */
		if (m->vpns[i]->default_mdt.type == INET_UNKNOWN)
			continue;
		routes[n].group = m->vpns[i]->default_mdt;
		routes[n].vpn_index = m->vpns[i]->index;
		routes[n].vpn = m->vpns[i];
		n++;
	}
	/* In the VPNs' order: the hash finds a group, and nothing needs them
	 * sorted by group (sorting 100,000 took a third of a reload's apply). */
	free(c->routes);
	c->routes = routes;
	c->n_routes = n;
	if (build_route_slots(c) < 0) {
		c->n_routes = 0; /* no lookup until a configure succeeds */
		snprintf(c->error, sizeof(c->error), "out of memory");
		return -1;
	}
	return 0;
}

/* ---- the BPF filter ---- */

/*
 * IPv6 whose Next Header is GRE (or a Fragment header before GRE: "ip6 proto"
 * looks that far), or hop-by-hop (0), routing (43) or destination options
 * (60) followed by GRE or by another such header.  "ip6 protochain 47" would
 * walk the whole chain in a loop for every IPv6 packet; this costs a compare
 * or two, and keeps out MLD reports (hop-by-hop, then ICMPv6), which the
 * monitor's own joins make.  IPv4 fragments need nothing: each carries
 * protocol 47 and the destination, only not the GRE header.
 */
#define IP6_EXT(at) "(ip6[" at "] = 0 or ip6[" at "] = 43 or ip6[" at "] = 60)"
#define IP6_GRE "(ip6 proto 47 or (" IP6_EXT("6") " and (ip6[40] = 47 or ip6[40] = 44 or " \
		IP6_EXT("40") ")))"
#define IP6_GRE_BYTES (sizeof(IP6_GRE) - 1)

/* Linux cooked captures whose protocol says 802.1Q/802.1ad: libpcap puts a tag
 * the kernel removed back after the header, and has no "vlan" for them. */
#define SLL_TAGGED "(link[14:2] = 0x8100 or link[14:2] = 0x88a8)"
#define SLL2_TAGGED "(link[0:2] = 0x8100 or link[0:2] = 0x88a8)"

/* What to add to the GRE filter X for the link type: tags (the "vlan" keyword
 * shifts what follows it, so X is repeated inside it, once per tag). */
static void filter_tags(int dlt, const char *x, char *out, size_t size)
{
	size_t used = strlen(out);

	if (dlt == DLT_EN10MB)
		snprintf(out + used, size - used, " or (vlan and (%s or (vlan and (%s))))", x, x);
	else if (dlt == DLT_LINUX_SLL)
		snprintf(out + used, size - used, " or " SLL_TAGGED);
#ifdef DLT_LINUX_SLL2
	else if (dlt == DLT_LINUX_SLL2)
		snprintf(out + used, size - used, " or " SLL2_TAGGED);
#endif
}

/*
 * The kernel tests each GRE datagram against at most this many prefixes per
 * family, whatever the number of groups.  pcap_compile's time grows about as
 * the cube of the terms (bench_filter_compile: 100 hosts 26 ms, 1,000 hosts
 * 15 s, 2,000 hosts 136 s, all on the engine thread at every live reload); 32
 * prefixes compile in a few milliseconds.  A prefix may hold groups no VPN
 * has: those reach user space whole and are counted there as unknown MDTs,
 * as they were when the filter named every group.
 */
#define FILTER_PREFIXES 32

/* " or dst net A/L" for each prefix covering the groups of one family. */
static void cover_text(struct inet_addr *groups, size_t n, char *out, size_t size)
{
	struct addr_prefix prefixes[FILTER_PREFIXES];
	size_t n_prefixes = addr_cover(groups, n, FILTER_PREFIXES, prefixes);
	char addr[INET_ADDR_STRLEN];

	out[0] = '\0';
	for (size_t i = 0; i < n_prefixes; i++) {
		size_t used = strlen(out);
		snprintf(out + used, size - used, "%sdst net %s/%u", i ? " or " : "",
			 inet_addr_format(&prefixes[i].net, addr), prefixes[i].len);
	}
}

/* "ip proto 47 and (dst net P or ...)": GRE to our groups' prefixes, whole. */
char *capture_filter_text(const struct capture *c)
{
	size_t size = 256 + IP6_GRE_BYTES + FILTER_PREFIXES * 2 * (INET_ADDR_STRLEN + 16);
	struct inet_addr *v4_groups = malloc((c->n_routes ? c->n_routes : 1) * sizeof(*v4_groups));
	struct inet_addr *v6_groups = malloc((c->n_routes ? c->n_routes : 1) * sizeof(*v6_groups));
	char *v4 = calloc(1, size), *v6 = calloc(1, size), *x = calloc(1, 2 * size);
	char *all = calloc(1, 8 * size);
	size_t n_v4 = 0, n_v6 = 0;

	if (!v4_groups || !v6_groups || !v4 || !v6 || !x || !all) {
		free(v4_groups), free(v6_groups), free(v4), free(v6), free(x), free(all);
		return NULL;
	}
	for (size_t i = 0; i < c->n_routes; i++) {
		const struct inet_addr *g = &c->routes[i].group;
		if (g->type == INET_IPV4)
			v4_groups[n_v4++] = *g;
		else if (g->type == INET_IPV6)
			v6_groups[n_v6++] = *g;
	}
	cover_text(v4_groups, n_v4, v4, size);
	cover_text(v6_groups, n_v6, v6, size);
	snprintf(x, 2 * size, "(ip proto 47 and (%s)) or (" IP6_GRE " and (%s))",
		 v4[0] ? v4 : "ip[0:1] = 0", v6[0] ? v6 : "ip6[0:1] = 0");
	snprintf(all, 8 * size, "%s", x);
	filter_tags(c->dlt, x, all, 8 * size);
	free(v4_groups);
	free(v6_groups);
	free(v4);
	free(v6);
	free(x);
	return all;
}

/* stdio's buffer for a capture file. */
#define FILE_BUFFER_BYTES (1 << 20)

/* Live capture: at most this long between a packet's arrival and its handling. */
#define LIVE_TIMEOUT_MS 50
#define LIVE_BUFFER_BYTES (32 << 20)

/* GRE to a provider group no VPN has is counted, and read no further than this. */
#define UNKNOWN_MDT_SNAPLEN 96
#define ANY_GRE "ip proto 47 or " IP6_GRE
/* A raw record that is not IP at all passes, to be counted as unsupported. */
#define NOT_IP "not (ip or ip6)"

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

/* Link types with no type field: their records are IP only by the capture's say-so. */
static bool dlt_is_raw(int dlt)
{
	return dlt == DLT_RAW || dlt == DLT_IPV4 || dlt == DLT_IPV6;
}

/* Every GRE datagram or fragment, tagged as the link type may be; for a link
 * type that holds only IP, also what is not IP. */
char *capture_any_gre_text(int dlt)
{
	size_t size = 4 * sizeof(ANY_GRE) + 64;
	char *out = malloc(size);

	if (!out)
		return NULL;
	snprintf(out, size, "%s", ANY_GRE);
	filter_tags(dlt, ANY_GRE, out, size);
	if (dlt_is_raw(dlt)) {
		size_t used = strlen(out);
		snprintf(out + used, size - used, " or " NOT_IP);
	}
	return out;
}

static int install_filter(struct capture *c)
{
	struct bpf_program known = {0}, gre = {0}, both = {0};
	char *text = capture_filter_text(c), *any_gre = capture_any_gre_text(c->dlt);
	int rc = -1;

	if (!text || !any_gre) {
		snprintf(c->error, sizeof(c->error), "out of memory");
		free(text);
		free(any_gre);
		return -1;
	}
	if (pcap_compile(c->pcap, &gre, any_gre, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		snprintf(c->error, sizeof(c->error), "capture filter: %s", pcap_geterr(c->pcap));
	} else if (c->offline) {
		/*
		 * Reading a file, libpcap runs the program in user space, in its
		 * interpreter (with one comparison per group, 1.2 us a packet at
		 * 1,000 VPNs); vpn_for_group's hash does the groups' part exactly
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
	free(any_gre);
	return rc;
}

/* ---- opening ---- */

static void capture_reset(struct capture *c, struct model *m)
{
	memset(c, 0, sizeof(*c));
	c->model = m;
}

/* Records come through a feed (feed.h) from a file whose reads may wait for
 * as long as its writer likes; a regular file (or a block device) is read in
 * place. */
static bool read_through_feed(mode_t mode)
{
	return S_ISFIFO(mode) || S_ISSOCK(mode) || S_ISCHR(mode);
}

/* The stdio stream libpcap reads the file from, fd's (NULL and errno if none). */
static FILE *file_stream(struct capture *c, int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return NULL;
	c->file_buf = malloc(FILE_BUFFER_BYTES);
	if (read_through_feed(st.st_mode)) {
		c->feed = feed_new(fd, c->file_buf, c->file_buf ? FILE_BUFFER_BYTES : 0);
		FILE *f = c->feed ? feed_file(c->feed) : NULL;
		if (!f)
			errno = ENOMEM;
		return f;
	}
	/* libpcap reads a file through stdio, record by record: with stdio's
	 * default 4 KiB buffer that is a read(2) every 40 small packets, a tenth
	 * of a replay's time.  A larger buffer makes them rare. */
	FILE *f = fd == STDIN_FILENO ? stdin : fdopen(fd, "rb");
	if (f && f != stdin && c->file_buf)
		setvbuf(f, c->file_buf, _IOFBF, FILE_BUFFER_BYTES);
	return f;
}

int capture_open_file(struct capture *c, struct model *m, const char *path)
{
	char errbuf[PCAP_ERRBUF_SIZE];

	capture_reset(c, m);
	c->offline = true;
	snprintf(c->source, sizeof(c->source), "%s", path);
	/* "-" is the standard input, as pcap_open_offline has it. */
	int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	FILE *f = fd >= 0 ? file_stream(c, fd) : NULL;
	c->pcap = f ? pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, errbuf)
		    : NULL;
	if (!c->pcap) {
		snprintf(c->error, sizeof(c->error), "%s: %s", path, f ? errbuf : strerror(errno));
		if (f && f != stdin)
			fclose(f); /* and fd with it */
		else if (!f && fd > STDIN_FILENO)
			close(fd);
		feed_free(c->feed);
		free(c->file_buf);
		c->feed = NULL;
		c->file_buf = NULL;
		return -1;
	}
	c->dlt = pcap_datalink(c->pcap);
	snprintf(m->capture_source, sizeof(m->capture_source), "file:%s", path);
	m->capture = CAPTURE_RUNNING;
	/* A file's filter never changes (see install_filter): set once, before a
	 * feed's thread takes the handle. */
	if (build_routes(c) < 0 || install_filter(c) < 0)
		return -1;
	return 0;
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
	if (capture_configure(c) < 0)
		return -1;
	c->joins_async = true;
	return 0;
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
	/* A new handle needs the filter; the memberships were on the old interface
	 * (gone, or down and up again): all joined again. */
	c->joins_fresh = true;
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
	/* Suspended: the filter and the joins come with the new handle.  A file:
	 * its filter was set at open, and may be a feed's thread's to use. */
	if (!c->pcap || c->offline)
		return 0;
	if (install_filter(c) < 0)
		return -1;
	/* Only the groups that changed, and not under the model: at start before
	 * serving anything (and before any fork), then on the joins' thread. */
	const struct inet_addr *first = c->n_routes ? &c->routes[0].group : NULL;
	if (c->joins_async) {
		joins_request(&c->joins, c->if_index, c->source, first, c->n_routes,
			      sizeof(c->routes[0]), c->joins_fresh);
	} else {
		if (c->joins_fresh)
			joins_clear(&c->joins);
		joins_sync(&c->joins, c->if_index, c->source, first, c->n_routes,
			   sizeof(c->routes[0]));
	}
	c->joins_fresh = false;
	return 0;
}

int capture_fd(const struct capture *c)
{
	if (c->feed) /* once finished its descriptor may stay readable */
		return c->finished ? -1 : feed_fd(c->feed);
	return c->offline || !c->pcap ? -1 : pcap_get_selectable_fd(c->pcap);
}

bool capture_ready(struct capture *c)
{
	if (!c->offline || c->finished)
		return false;
	return !c->feed || feed_pending(c->feed);
}

void capture_close(struct capture *c)
{
	feed_stop(c->feed); /* its thread uses the handle */
	if (c->pcap)
		pcap_close(c->pcap);
	feed_free(c->feed); /* after pcap_close, which closed its FILE */
	c->feed = NULL;
	joins_clear(&c->joins);
	free(c->file_buf); /* after pcap_close, which closed the file using it */
	free(c->routes);
	free(c->route_slots);
	reasm_free(&c->reasm);
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
	model_observer_due(m, mclock_now(&m->clock)); /* a checkpoint by capture time */
}

/*
 * A raw-IP record whose outer version is neither 4 nor 6 (an Ethernet frame
 * in a file labelled raw, say) is not malformed IP but not IP at all.  (The
 * probe engine shares frame_parse and keeps its bad-version verdict.)
 */
static enum parse_error raw_not_ip(int dlt, enum parse_error e, const struct frame *f)
{
	if (dlt_is_raw(dlt) && e == PARSE_BAD_VERSION && f->outer.src.type == INET_UNKNOWN)
		return PARSE_UNSUPPORTED;
	return e;
}

/* Frames it cannot read as IP, or whose encapsulation it does not decode (an
 * inner fragment: a customer packet cut before encapsulation), are not
 * malformed: they get a counter of their own, so an operator sees why. */
static void count_unreadable(struct capture *c, struct vpn *v, enum parse_error e)
{
	if (e != PARSE_UNSUPPORTED && e != PARSE_FRAGMENT) {
		count_malformed(c, v, e);
		return;
	}
	c->parse_errors[e]++;
	c->model->g.capture_unsupported++;
}

/* One whole outer datagram of the VPN's MDT, from a frame or reassembled. */
static void handle_datagram(struct capture *c, struct vpn *v, const struct frame *f,
			    enum parse_error e)
{
	struct model *m = c->model;

	v->counters.packets++;
	if (e != PARSE_OK) {
		count_unreadable(c, v, e);
		return;
	}
	v->passive = PASSIVE_ACTIVE;
	switch (f->cls) {
	case FRAME_PIM: handle_pim(c, v, f); break;
	case FRAME_MDT_JOIN: handle_mdt_join(c, v, f); break;
	default:
		/* Customer data: counted and dropped, never read (patent claim 4). */
		v->counters.data_discarded++;
		m->g.data_discarded++;
		break;
	}
}

/* A capture starts zeroed (capture_reset, or a test's memset): its table is set
 * up at the first fragment. */
static struct reasm *fragments(struct capture *c)
{
	if (!c->reasm.max_datagrams)
		reasm_init(&c->reasm, REASM_MAX_DATAGRAMS, REASM_MAX_BYTES, REASM_TIMEOUT);
	return &c->reasm;
}

/* An outer fragment to the VPN's MDT: held until its datagram is whole. */
static void handle_fragment(struct capture *c, struct vpn *v, const struct ip_fragment *frag)
{
	struct global_counters *g = &c->model->g;
	const uint8_t *whole = NULL;
	size_t whole_len = 0, timeouts;
	struct frame f;
	enum reasm_result r = reasm_add(fragments(c), frag, mclock_now(&c->model->clock),
					&timeouts, &whole, &whole_len);

	g->frag_timeouts += timeouts;
	switch (r) {
	case REASM_PENDING: return;
	case REASM_DUPLICATE: g->frag_duplicates++; return;
	case REASM_BAD: g->frag_bad++; return;
	case REASM_FULL: g->frag_cap_drops++; return;
	case REASM_DONE: break;
	}
	g->frag_reassembled++;
	enum parse_error e = frame_parse(DLT_RAW, whole, whole_len, &f);
	if (e == PARSE_OK && f.cls == FRAME_NOT_GRE)
		return;
	handle_datagram(c, v, &f, e);
}

static bool not_gre(enum parse_error e, const struct frame *f)
{
	return (e == PARSE_OK && f->cls == FRAME_NOT_GRE) ||
	       (f->outer_fragment && f->frag.proto != IPPROTO_GRE);
}

static void handle_frame(struct capture *c, const uint8_t *p, size_t len, mtime_t ts)
{
	struct model *m = c->model;
	struct frame f;

	advance_clock(c, ts);
	m->g.packets_seen++;
	if (c->reasm.n_datagrams) /* timed out on the model's clock, as a live timer would */
		m->g.frag_timeouts += reasm_expire(&c->reasm, mclock_now(&m->clock));
	enum parse_error e = raw_not_ip(c->dlt, frame_parse(c->dlt, p, len, &f), &f);
	if (not_gre(e, &f))
		return;
	/* Whose MDT is it?  A broken outer header still names its group, most often. */
	struct inet_addr group = f.outer_fragment ? f.frag.dst : f.outer.dst;
	if (group.type == INET_UNKNOWN && !peek_outer_group(c->dlt, p, len, &group)) {
		count_unreadable(c, NULL, e);
		return;
	}
	struct vpn *v = vpn_for_group(c, &group);
	if (!v) {
		/* Not ours: counted, never parsed further (the kernel cut it short anyway);
		 * fragments included, so no table holds what is not ours. */
		m->g.unknown_mdt++;
		return;
	}
	if (f.outer_fragment)
		handle_fragment(c, v, &f.frag);
	else
		handle_datagram(c, v, &f, e);
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

	mtime_t ts;

	/* With nanosecond precision requested, tv_usec holds nanoseconds.  Only
	 * a replay's clock is the capture's; live, the time is not used. */
	if (!mclock_capture_time(&c->model->clock, (int64_t)h->ts.tv_sec, (int64_t)h->ts.tv_usec,
				 &ts) && c->offline)
		c->model->g.capture_times_clamped++;
	c->packets_read++;
	if (c->offline && ts < c->resume_after) {
		c->resumed++;
		return;
	}
	capture_handle_frame(c, bytes, h->caplen, ts);
}

void capture_update_stats(struct capture *c)
{
	struct pcap_stat st;

	if (c->offline || !c->pcap || pcap_stats(c->pcap, &st) < 0)
		return;
	c->model->g.capture_kernel_drops = c->drops_before + st.ps_drop + st.ps_ifdrop;
}

/* A file read through a feed: what its thread has read, never waiting. */
static int feed_read(struct capture *c, int max)
{
	const char *why;

	if (!feed_started(c->feed) && feed_start(c->feed, c->pcap) < 0) {
		snprintf(c->error, sizeof(c->error), "%s: cannot start a thread to read it",
			 c->source);
		return -1;
	}
	int n = feed_take(c->feed, max < 0 ? INT_MAX : max, on_packet, (u_char *)c);
	if (n > 0)
		return n;
	switch (feed_state(c->feed, &why)) {
	case FEED_READING:
		return 0;
	case FEED_FAILED:
		snprintf(c->error, sizeof(c->error), "%s: %s", c->source, why);
		return -1;
	case FEED_ENDED:
		break;
	}
	c->finished = true;
	c->model->capture = CAPTURE_FINISHED;
	return 0;
}

int capture_read(struct capture *c, int max)
{
	if (!c->pcap || c->finished)
		return 0;
	if (c->feed)
		return feed_read(c, max);
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
