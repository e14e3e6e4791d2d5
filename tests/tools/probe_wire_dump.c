/*
 * probe_wire_dump: probe/wire.c seen from outside, for the integration tests
 * to hold against scapy (what the builders write) and tshark (what the
 * reader makes of a capture).
 *
 *	probe_wire_dump build < CASES
 *	probe_wire_dump parse [--port N] FILE.pcap
 *
 * build reads one case a line, "KIND key=value ...", and prints one line
 * each: the packet's bytes in hex, or "0" when the builder refused.
 *
 *	probe local=A remote=A id=N group=G port=N ttl=N vpn=N seq=N ns=N sender=A len=N [stamp=N]
 *	igmp  local=A remote=A id=N kind=v2-report|v2-leave|v3-join|v3-leave|v3-current groups=G[,G...]
 *	echo  local=A remote=A id=N ident=N seq=N len=N
 *
 * Every kind also takes cap=N (the buffer's size; default 65535).  stamp=N
 * restamps the probe after building it (probe_restamp).  Blank lines and
 * lines starting with # are skipped.
 *
 * parse prints one line per frame (numbered from 1, as tshark does):
 *
 *	frame=N kind=probe outer=A src=A dst=A dport=P len=L probe=ok vpn=V seq=S ns=T sender=A
 *	frame=N kind=probe outer=A src=A dst=A dport=P len=L probe=bad-magic|...
 *	frame=N kind=echo-reply outer=A src=A dst=A ident=I seq=S
 *	frame=N kind=igmp-query outer=A src=A dst=A version=V group=G maxresp=MS
 *	frame=N kind=other outer=A src=A dst=A
 *	frame=N error=NAME [kind=K] [outer=A]      refused (kind: if it was known by then)
 *
 * The probe port defaults to 9950, the port the fixtures use.
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../probe/wire.h"

#define DEFAULT_PORT 9950
#define DEFAULT_CAP 65535
#define MAX_GROUPS 64

/* ---- build ---- */

struct kv {
	char *key, *value;
};

struct line {
	struct kv kv[32];
	size_t n;
	const char *bad; /* the first key that was missing or unreadable */
};

static const char *get(struct line *l, const char *key)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->kv[i].key, key) == 0)
			return l->kv[i].value;
	if (!l->bad)
		l->bad = key;
	return NULL;
}

static bool has(const struct line *l, const char *key)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->kv[i].key, key) == 0)
			return true;
	return false;
}

static unsigned long long num(struct line *l, const char *key, unsigned long long max)
{
	const char *v = get(l, key);
	char *end;
	unsigned long long x;

	if (!v)
		return 0;
	errno = 0;
	x = strtoull(v, &end, 0);
	if (errno || *v == '\0' || *end != '\0' || x > max) {
		if (!l->bad)
			l->bad = key;
		return 0;
	}
	return x;
}

static struct inet_addr address(struct line *l, const char *key)
{
	struct inet_addr a = {0};
	const char *v = get(l, key);

	if (v && !inet_addr_parse(&a, v) && !l->bad)
		l->bad = key;
	return a;
}

static size_t build_probe(struct line *l, uint8_t *buf, size_t cap, const struct tunnel_ends *t,
			  uint16_t id)
{
	struct inet_addr group = address(l, "group");
	uint16_t port = (uint16_t)num(l, "port", UINT16_MAX);
	uint8_t ttl = (uint8_t)num(l, "ttl", UINT8_MAX);
	struct probe_header h = {
		.vpn_index = (uint32_t)num(l, "vpn", UINT32_MAX),
		.seq = num(l, "seq", UINT64_MAX),
		.send_ns = num(l, "ns", UINT64_MAX),
		.sender = address(l, "sender"),
	};
	size_t len = (size_t)num(l, "len", SIZE_MAX), n;

	if (l->bad)
		return 0;
	n = probe_build(buf, cap, t, id, &group, port, ttl, &h, len);
	if (n && has(l, "stamp"))
		probe_restamp(buf, n, num(l, "stamp", UINT64_MAX));
	return n;
}

static bool igmp_kind(const char *name, enum igmp_message *kind)
{
	static const struct {
		const char *name;
		enum igmp_message kind;
	} kinds[] = {{"v2-report", IGMP_V2_REPORT}, {"v2-leave", IGMP_V2_LEAVE},
		     {"v3-join", IGMP_V3_JOIN},     {"v3-leave", IGMP_V3_LEAVE},
		     {"v3-current", IGMP_V3_CURRENT}};

	for (size_t i = 0; name && i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strcmp(name, kinds[i].name) == 0) {
			*kind = kinds[i].kind;
			return true;
		}
	}
	return false;
}

static size_t build_igmp(struct line *l, uint8_t *buf, size_t cap, const struct tunnel_ends *t,
			 uint16_t id)
{
	struct inet_addr groups[MAX_GROUPS];
	enum igmp_message kind;
	const char *list = get(l, "groups");
	size_t n = 0;
	char *copy, *save = NULL;

	if (!igmp_kind(get(l, "kind"), &kind) && !l->bad)
		l->bad = "kind";
	if (l->bad || !list)
		return 0;
	copy = strdup(list);
	for (char *g = strtok_r(copy, ",", &save); g; g = strtok_r(NULL, ",", &save)) {
		if (n == MAX_GROUPS || !inet_addr_parse(&groups[n++], g)) {
			l->bad = "groups";
			break;
		}
	}
	free(copy);
	return l->bad ? 0 : igmp_build(buf, cap, t, id, kind, groups, n);
}

static size_t build_echo(struct line *l, uint8_t *buf, size_t cap, const struct tunnel_ends *t,
			 uint16_t id)
{
	uint16_t ident = (uint16_t)num(l, "ident", UINT16_MAX);
	uint16_t seq = (uint16_t)num(l, "seq", UINT16_MAX);
	size_t len = (size_t)num(l, "len", SIZE_MAX);

	return l->bad ? 0 : echo_build(buf, cap, t, id, ident, seq, len);
}

/* Splits "KIND k=v k=v" in place.  Returns the kind, or NULL for a line to skip. */
static char *split(char *text, struct line *l)
{
	char *save = NULL, *kind = strtok_r(text, " \t\r\n", &save);

	memset(l, 0, sizeof(*l));
	if (!kind || kind[0] == '#')
		return NULL;
	for (char *w = strtok_r(NULL, " \t\r\n", &save); w; w = strtok_r(NULL, " \t\r\n", &save)) {
		char *eq = strchr(w, '=');

		if (!eq || l->n == sizeof(l->kv) / sizeof(l->kv[0])) {
			l->bad = w;
			break;
		}
		*eq = '\0';
		l->kv[l->n].key = w;
		l->kv[l->n++].value = eq + 1;
	}
	return kind;
}

static int build_main(void)
{
	static uint8_t buf[DEFAULT_CAP];
	char *text = NULL;
	size_t size = 0;
	unsigned long lineno = 0;

	while (getline(&text, &size, stdin) != -1) {
		struct line l;
		struct tunnel_ends t;
		char *kind;
		uint16_t id;
		size_t cap, n = 0;

		lineno++;
		if (!(kind = split(text, &l)))
			continue;
		t.local = address(&l, "local");
		t.remote = address(&l, "remote");
		id = (uint16_t)num(&l, "id", UINT16_MAX);
		cap = has(&l, "cap") ? (size_t)num(&l, "cap", sizeof(buf)) : sizeof(buf);
		if (strcmp(kind, "probe") == 0)
			n = build_probe(&l, buf, cap, &t, id);
		else if (strcmp(kind, "igmp") == 0)
			n = build_igmp(&l, buf, cap, &t, id);
		else if (strcmp(kind, "echo") == 0)
			n = build_echo(&l, buf, cap, &t, id);
		else
			l.bad = kind;
		if (l.bad) {
			fprintf(stderr, "probe_wire_dump: line %lu: bad or missing \"%s\"\n", lineno, l.bad);
			free(text);
			return 2;
		}
		if (n == 0)
			printf("0");
		for (size_t i = 0; i < n; i++)
			printf("%02x", buf[i]);
		printf("\n");
	}
	free(text);
	return 0;
}

/* ---- parse ---- */

static const char *kind_name(enum tunnel_rx_kind k)
{
	switch (k) {
	case TUNNEL_RX_PROBE:
		return "probe";
	case TUNNEL_RX_ECHO_REPLY:
		return "echo-reply";
	case TUNNEL_RX_IGMP_QUERY:
		return "igmp-query";
	case TUNNEL_RX_OTHER:
		break;
	}
	return "other";
}

static void print_frame(unsigned long frame, const struct tunnel_rx *rx, enum parse_error e,
			enum probe_error pe)
{
	char a[INET_ADDR_STRLEN], b[INET_ADDR_STRLEN], c[INET_ADDR_STRLEN];

	printf("frame=%lu", frame);
	if (e != PARSE_OK) {
		printf(" error=%s", parse_error_name(e));
		if (rx->kind != TUNNEL_RX_OTHER)
			printf(" kind=%s", kind_name(rx->kind));
		if (rx->outer_src.type != INET_UNKNOWN)
			printf(" outer=%s", inet_addr_format(&rx->outer_src, a));
		printf("\n");
		return;
	}
	printf(" kind=%s outer=%s src=%s dst=%s", kind_name(rx->kind),
	       inet_addr_format(&rx->outer_src, a), inet_addr_format(&rx->inner_src, b),
	       inet_addr_format(&rx->inner_dst, c));
	switch (rx->kind) {
	case TUNNEL_RX_PROBE:
		printf(" dport=%u len=%zu probe=%s", rx->udp_dport, rx->probe_len, probe_error_name(pe));
		if (pe == PROBE_OK)
			printf(" vpn=%lu seq=%llu ns=%llu sender=%s", (unsigned long)rx->probe.vpn_index,
			       (unsigned long long)rx->probe.seq, (unsigned long long)rx->probe.send_ns,
			       inet_addr_format(&rx->probe.sender, a));
		break;
	case TUNNEL_RX_ECHO_REPLY:
		printf(" ident=%u seq=%u", rx->echo_ident, rx->echo_seq);
		break;
	case TUNNEL_RX_IGMP_QUERY:
		printf(" version=%u group=%s maxresp=%lu", rx->igmp_version,
		       inet_addr_format(&rx->query_group, a), (unsigned long)rx->max_resp_ms);
		break;
	case TUNNEL_RX_OTHER:
		break;
	}
	printf("\n");
}

static int parse_main(const char *file, uint16_t port)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *hdr;
	const u_char *data;
	unsigned long frame = 0;
	pcap_t *pc;
	int dlt, rc;

	if (!(pc = pcap_open_offline(file, errbuf))) {
		fprintf(stderr, "probe_wire_dump: %s: %s\n", file, errbuf);
		return 1;
	}
	dlt = pcap_datalink(pc);
	while ((rc = pcap_next_ex(pc, &hdr, &data)) == 1) {
		struct tunnel_rx rx;
		enum probe_error pe;
		enum parse_error e = tunnel_rx_parse(dlt, data, hdr->caplen, port, &rx, &pe);

		print_frame(++frame, &rx, e, pe);
	}
	if (rc == PCAP_ERROR)
		fprintf(stderr, "probe_wire_dump: %s: after frame %lu: %s\n", file, frame,
			pcap_geterr(pc));
	pcap_close(pc);
	return rc == PCAP_ERROR ? 1 : 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: probe_wire_dump build < CASES\n"
			"       probe_wire_dump parse [--port N] FILE.pcap\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "build") == 0)
		return build_main();
	if (argc == 3 && strcmp(argv[1], "parse") == 0)
		return parse_main(argv[2], DEFAULT_PORT);
	if (argc == 5 && strcmp(argv[1], "parse") == 0 && strcmp(argv[2], "--port") == 0) {
		char *end;
		unsigned long port = strtoul(argv[3], &end, 10);

		if (*argv[3] == '\0' || *end != '\0' || port > UINT16_MAX)
			return usage();
		return parse_main(argv[4], (uint16_t)port);
	}
	return usage();
}
