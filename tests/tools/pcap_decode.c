/*
 * pcap_decode: prints what mvpnmon's parsers make of every PIM message in a
 * capture, one line each, so the integration tests can hold it against
 * tshark's reading of the same file.
 *
 *	pcap_decode [--mdt] FILE
 *
 *	frame=N src=A type=T [holdtime=H] [genid=G] [drpri=P]        Hello
 *	frame=N src=A type=join-prune upstream=U holdtime=H join=G/S:KIND prune=G/S:KIND ...
 *	frame=N src=A type=T error=NAME                              refused by a PIM parser
 *	frame=N layer=ip|gre error=NAME                              refused before PIM was in sight
 *	frame=N mdt csource=S cgroup=G pgroup=P                      with --mdt
 *	frame=N cut caplen=C len=L                                   fewer bytes than sent
 *
 * KIND is starg, sg or sgrpt.  PIM is found bare (IP protocol 103, as in
 * tcpdump's test captures) or inside GRE (frame_parse, as the daemon reads a
 * default MDT).  Two things the daemon never reads are decoded here only so
 * that every PIM message tshark shows is accounted for: GRE carrying Cisco
 * MetaData (0x8909) in front of the IP packet, and PIMv1, which travels in
 * IGMP (type 0x14) and is reported as error=bad-version.  Frames numbered
 * from 1, as in tshark.
 */
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>

#include "../../capture/cursor.h"
#include "../../capture/parse.h"

#define IPPROTO_IGMP_ 2
#define IPPROTO_UDP_ 17
#define IPPROTO_GRE_ 47
#define IPPROTO_PIM_ 103
#define IGMP_PIMV1 0x14
#define GRE_PROTO_CISCO_METADATA 0x8909
#define CISCO_METADATA_LEN 8 /* ethertype(2) version(1) length(1) option(2) SGT(2) */
#define NO_TYPE 0xff

struct decoder {
	int dlt;
	unsigned long frame;
	bool mdt;
};

static const char *addr_text(const struct inet_addr *a, char buf[INET_ADDR_STRLEN])
{
	return inet_addr_format(a, buf);
}

static void print_type(unsigned type)
{
	static const char *const names[] = {"hello", "register", "register-stop", "join-prune",
					    "bootstrap", "assert", "graft", "graft-ack",
					    "candidate-rp-adv"};

	if (type < sizeof(names) / sizeof(names[0]))
		printf(" type=%s", names[type]);
	else
		printf(" type=%u", type);
}

static void print_hello(const struct ip_packet *ip)
{
	struct pim_hello h;
	enum parse_error e = pim_hello_parse(ip->payload, ip->payload_len, &h);

	if (e != PARSE_OK) {
		printf(" error=%s", parse_error_name(e));
		return;
	}
	if (h.has_holdtime)
		printf(" holdtime=%u", h.holdtime);
	if (h.has_generation_id)
		printf(" genid=%lu", (unsigned long)h.generation_id);
	if (h.has_dr_priority)
		printf(" drpri=%lu", (unsigned long)h.dr_priority);
}

static void print_record(void *arg, const struct pim_jp_header *hdr, const struct pim_jp_record *rec)
{
	static const char *const kinds[] = {[PIM_KIND_STAR_G] = "starg", [PIM_KIND_SG] = "sg",
					    [PIM_KIND_SG_RPT] = "sgrpt"};
	char g[INET_ADDR_STRLEN], s[INET_ADDR_STRLEN];

	(void)arg;
	(void)hdr;
	printf(" %s=%s/%s:%s", rec->join ? "join" : "prune", addr_text(&rec->group, g),
	       addr_text(&rec->source, s), kinds[rec->kind]);
}

static void print_join_prune(const struct ip_packet *ip)
{
	struct pim_jp_header hdr;
	char u[INET_ADDR_STRLEN];
	enum parse_error e = pim_jp_parse(ip->payload, ip->payload_len, NULL, NULL);

	if (e == PARSE_OK)
		e = pim_jp_parse_header(ip->payload, ip->payload_len, &hdr);
	if (e != PARSE_OK) {
		printf(" error=%s", parse_error_name(e));
		return;
	}
	printf(" upstream=%s holdtime=%u", addr_text(&hdr.upstream, u), hdr.holdtime);
	pim_jp_parse(ip->payload, ip->payload_len, print_record, NULL);
}

static void decode_pim(const struct decoder *d, const struct ip_packet *ip)
{
	enum pim_type type = (enum pim_type)NO_TYPE;
	char a[INET_ADDR_STRLEN];
	enum parse_error e = pim_parse_header(ip, &type);

	printf("frame=%lu src=%s", d->frame, addr_text(&ip->src, a));
	if (type != (enum pim_type)NO_TYPE)
		print_type(type);
	if (e != PARSE_OK)
		printf(" error=%s", parse_error_name(e));
	else if (type == PIM_HELLO)
		print_hello(ip);
	else if (type == PIM_JOIN_PRUNE)
		print_join_prune(ip);
	printf("\n");
}

/* IGMP type 0x14 is PIMv1: not a version the daemon reads. */
static void decode_igmp(const struct decoder *d, const struct ip_packet *ip)
{
	struct cursor c;
	uint8_t type;
	char a[INET_ADDR_STRLEN];

	cursor_init(&c, ip->payload, ip->payload_len);
	if (!cursor_u8(&c, &type) || type != IGMP_PIMV1)
		return;
	printf("frame=%lu src=%s type=pimv1 error=%s\n", d->frame, addr_text(&ip->src, a),
	       parse_error_name(PARSE_BAD_VERSION));
}

static void print_tlv(void *arg, const struct mdt_join *tlv)
{
	const struct decoder *d = arg;
	char s[INET_ADDR_STRLEN], g[INET_ADDR_STRLEN], p[INET_ADDR_STRLEN];

	printf("frame=%lu mdt csource=%s cgroup=%s pgroup=%s\n", d->frame,
	       addr_text(&tlv->c_source, s), addr_text(&tlv->c_group, g), addr_text(&tlv->p_group, p));
}

static void decode_mdt(const struct decoder *d, const struct ip_packet *ip)
{
	struct udp_packet udp;
	enum parse_error e = udp_parse(ip, &udp);

	if (e == PARSE_OK && (udp.sport != MDT_JOIN_PORT || udp.dport != MDT_JOIN_PORT))
		return;
	if (e == PARSE_OK)
		e = mdt_join_parse(udp.payload, udp.payload_len, print_tlv, (void *)d);
	if (e != PARSE_OK)
		printf("frame=%lu mdt error=%s\n", d->frame, parse_error_name(e));
}

/* Cisco MetaData between GRE and IP (tshark's "CMD"): skipped, bounds-checked. */
static void decode_cisco_metadata(const struct decoder *d, const struct gre_packet *gre)
{
	struct cursor c;
	uint16_t ethertype;
	struct ip_packet inner;
	enum parse_error e;

	cursor_init(&c, gre->payload, gre->payload_len);
	if (!cursor_u16(&c, &ethertype) || !cursor_skip(&c, CISCO_METADATA_LEN - 2)) {
		printf("frame=%lu layer=gre error=%s\n", d->frame, parse_error_name(PARSE_TRUNCATED));
		return;
	}
	if (ethertype != GRE_PROTO_IPV4 && ethertype != GRE_PROTO_IPV6)
		return;
	e = ip_parse(cursor_here(&c), cursor_left(&c), &inner);
	if (e != PARSE_OK)
		printf("frame=%lu layer=ip error=%s\n", d->frame, parse_error_name(e));
	else if (inner.proto == IPPROTO_PIM_)
		decode_pim(d, &inner);
}

static void decode_gre(const struct decoder *d, const uint8_t *p, size_t len)
{
	struct frame f;
	enum parse_error e = frame_parse(d->dlt, p, len, &f);

	if (e == PARSE_UNSUPPORTED && f.gre.proto == GRE_PROTO_CISCO_METADATA) {
		decode_cisco_metadata(d, &f.gre);
		return;
	}
	if (e != PARSE_OK) {
		printf("frame=%lu layer=gre error=%s\n", d->frame, parse_error_name(e));
		return;
	}
	/* The daemon takes only PIM to ALL-PIM-ROUTERS; tshark shows any PIM. */
	if (f.inner.proto == IPPROTO_PIM_)
		decode_pim(d, &f.inner);
	else if (f.cls == FRAME_MDT_JOIN && d->mdt)
		decode_mdt(d, &f.inner);
}

static void decode_frame(const struct decoder *d, const uint8_t *p, size_t len)
{
	struct ip_packet ip;
	size_t off;
	enum parse_error e;

	if (link_parse(d->dlt, p, len, &off) != PARSE_OK)
		return; /* not IP (STP, ARP, CDP ...): nothing of ours */
	e = ip_parse(p + off, len - off, &ip);
	if (e != PARSE_OK) {
		printf("frame=%lu layer=ip error=%s\n", d->frame, parse_error_name(e));
		return;
	}
	switch (ip.proto) {
	case IPPROTO_PIM_:
		decode_pim(d, &ip);
		break;
	case IPPROTO_GRE_:
		decode_gre(d, p, len);
		break;
	case IPPROTO_IGMP_:
		decode_igmp(d, &ip);
		break;
	case IPPROTO_UDP_:
		if (d->mdt)
			decode_mdt(d, &ip);
		break;
	default:
		break;
	}
}

static int usage(void)
{
	fprintf(stderr, "usage: pcap_decode [--mdt] FILE\n");
	return 2;
}

int main(int argc, char **argv)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct decoder d = {0};
	struct pcap_pkthdr *hdr;
	const u_char *data;
	const char *file = NULL;
	pcap_t *pc;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--mdt") == 0)
			d.mdt = true;
		else if (!file && argv[i][0] != '-')
			file = argv[i];
		else
			return usage();
	}
	if (!file)
		return usage();
	if (!(pc = pcap_open_offline(file, errbuf))) {
		fprintf(stderr, "pcap_decode: %s: %s\n", file, errbuf);
		return 1;
	}
	d.dlt = pcap_datalink(pc);
	while ((rc = pcap_next_ex(pc, &hdr, &data)) == 1) {
		d.frame++;
		/* Fewer bytes than were on the wire (snap length, or libpcap's own
		 * limit): say so, since the IP layer will then refuse the frame. */
		if (hdr->caplen < hdr->len)
			printf("frame=%lu cut caplen=%lu len=%lu\n", d.frame,
			       (unsigned long)hdr->caplen, (unsigned long)hdr->len);
		decode_frame(&d, data, hdr->caplen);
	}
	/* A file that ends in the middle of a record is reported, not fatal:
	 * everything before it was decoded. */
	if (rc == PCAP_ERROR)
		fprintf(stderr, "pcap_decode: %s: after frame %lu: %s\n", file, d.frame,
			pcap_geterr(pc));
	pcap_close(pc);
	fflush(stdout);
	return 0;
}
