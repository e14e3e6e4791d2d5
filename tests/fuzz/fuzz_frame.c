/*
 * One captured frame the whole way the passive engine takes it
 * (capture/engine.c handle_frame): link layer for every link type the engine
 * accepts (the first input byte's low 7 bits pick it, fuzz_dlt; its top bit
 * asks for fuzz_fix_checksums first), frame_parse, then for
 * PIM pim_parse_header and the Hello or Join/Prune parser, for an MDT Join
 * udp_parse and mdt_join_parse.
 *
 * Checked: link_parse's offset against a reference per link type; that
 * frame_parse gives the same answer from DLT_RAW on an exact copy of the
 * network-layer packet (the link layer changes nothing above it); that every
 * layer's payload lies inside the one around it; that the class is what the
 * inner header says; and the upper parsers run on exact copies of their
 * payloads, so none can read what its length excludes.
 */
#include "fixup.h"

#define PROTO_GRE 47
#define PROTO_PIM 103
#define PROTO_UDP 17

static bool ethertype_ip(uint16_t t)
{
	return t == 0x0800 || t == 0x86dd;
}

static bool null_family_ip(uint32_t f)
{
	return f == 2 || f == 10 || f == 24 || f == 28 || f == 30;
}

static uint32_t swap32(uint32_t v)
{
	return (v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24);
}

/* Where the network layer starts, or false if link_parse must refuse it. */
/* 802.1Q / 802.1ad after a link header ending at *off: at most two tags. */
static bool ref_tags(const uint8_t *p, size_t len, size_t *off, uint16_t type)
{
	for (int tags = 0; tags < 2 && (type == 0x8100 || type == 0x88a8); tags++) {
		if (len < *off + 4)
			return false;
		type = be16(p + *off + 2);
		*off += 4;
	}
	return ethertype_ip(type);
}

static bool ref_link(int dlt, const uint8_t *p, size_t len, size_t *off)
{
	*off = 0;
	switch (dlt) {
	case DLT_EN10MB:
		if (len < 14)
			return false;
		*off = 14;
		return ref_tags(p, len, off, be16(p + 12));
	case DLT_LINUX_SLL:
		if (len < 16)
			return false;
		*off = 16;
		return ref_tags(p, len, off, be16(p + 14));
	case DLT_LINUX_SLL2:
		if (len < 20)
			return false;
		*off = 20;
		return ref_tags(p, len, off, be16(p));
	case DLT_NULL:
	case DLT_LOOP:
		*off = 4;
		return len >= 4 && (null_family_ip(be32(p)) ||
				    (dlt == DLT_NULL && null_family_ip(swap32(be32(p)))));
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
		return true;
	default:
		return false;
	}
}

static bool all_pim_routers(const struct inet_addr *a)
{
	static const uint8_t v4[4] = {224, 0, 0, 13};
	static const uint8_t v6[16] = {0xff, 0x02, [15] = 0x0d};

	return addr_bytes_are(a, INET_IPV4, v4) || addr_bytes_are(a, INET_IPV6, v6);
}

static void check_class(const struct frame *f)
{
	const struct ip_packet *in = &f->inner;
	bool mdt = in->proto == PROTO_UDP && all_pim_routers(&in->dst) && in->payload_len >= 4 &&
		   be16(in->payload) == MDT_JOIN_PORT && be16(in->payload + 2) == MDT_JOIN_PORT;

	FUZZ_CHECK(f->cls <= FRAME_CUSTOMER_DATA);
	if (f->cls == FRAME_NOT_GRE) {
		FUZZ_CHECK(f->outer.proto != PROTO_GRE);
		return;
	}
	FUZZ_CHECK(f->outer.proto == PROTO_GRE);
	FUZZ_CHECK(fuzz_within(f->gre.payload, f->gre.payload_len, f->outer.payload,
			       f->outer.payload_len));
	FUZZ_CHECK(fuzz_within(in->payload, in->payload_len, f->gre.payload, f->gre.payload_len));
	FUZZ_CHECK((f->gre.proto == GRE_PROTO_IPV4 && in->src.type == INET_IPV4) ||
		   (f->gre.proto == GRE_PROTO_IPV6 && in->src.type == INET_IPV6));
	FUZZ_CHECK(in->dst.type == in->src.type);
	if (in->proto == PROTO_PIM && all_pim_routers(&in->dst))
		FUZZ_CHECK(f->cls == FRAME_PIM);
	else if (mdt)
		FUZZ_CHECK(f->cls == FRAME_MDT_JOIN);
	else
		FUZZ_CHECK(f->cls == FRAME_CUSTOMER_DATA);
}

static void on_jp_record(void *arg, const struct pim_jp_header *hdr, const struct pim_jp_record *rec)
{
	(*(size_t *)arg)++;
	fuzz_check_jp_record(hdr, rec);
}

static void on_mdt(void *arg, const struct mdt_join *tlv)
{
	(*(size_t *)arg)++;
	FUZZ_CHECK(ref_multicast(&tlv->c_group) && ref_multicast(&tlv->p_group));
	FUZZ_CHECK(tlv->c_source.type == tlv->c_group.type && tlv->p_group.type == INET_IPV4);
}

/* What handle_pim and handle_mdt_join do with the inner packet. */
static void upper_layers(const struct frame *f)
{
	struct ip_packet in = f->inner;
	uint8_t *copy = fuzz_copy(in.payload, in.payload_len);
	size_t n = 0;

	in.payload = copy;
	if (f->cls == FRAME_PIM) {
		enum pim_type type;
		struct pim_hello h;
		enum parse_error e = pim_parse_header(&in, &type);

		FUZZ_CHECK(parse_error_valid(e));
		if (e == PARSE_OK && type == PIM_HELLO)
			FUZZ_CHECK(parse_error_valid(pim_hello_parse(copy, in.payload_len, &h)));
		else if (e == PARSE_OK && type == PIM_JOIN_PRUNE &&
			 pim_jp_parse(copy, in.payload_len, on_jp_record, &n) != PARSE_OK)
			FUZZ_CHECK(n == 0);
	} else if (f->cls == FRAME_MDT_JOIN) {
		struct udp_packet udp;

		if (udp_parse(&in, &udp) == PARSE_OK) {
			uint8_t *tlvs = fuzz_copy(udp.payload, udp.payload_len);

			FUZZ_CHECK(fuzz_within(udp.payload, udp.payload_len, copy, in.payload_len));
			if (mdt_join_parse(tlvs, udp.payload_len, on_mdt, &n) != PARSE_OK)
				FUZZ_CHECK(n == 0);
			free(tlvs);
		}
	}
	free(copy);
}

/* The same packet without its link layer, in a buffer of its own size. */
static void check_raw_agrees(const struct frame *f, enum parse_error e, const uint8_t *ip,
			     size_t len)
{
	uint8_t *copy = fuzz_copy(ip, len);
	struct frame g;
	enum parse_error eg = frame_parse(DLT_RAW, copy, len, &g);

	FUZZ_CHECK(eg == e);
	if (e == PARSE_OK) {
		FUZZ_CHECK(g.cls == f->cls);
		FUZZ_CHECK(g.outer.payload - copy == f->outer.payload - ip);
		FUZZ_CHECK(g.outer.payload_len == f->outer.payload_len);
		if (f->cls != FRAME_NOT_GRE)
			FUZZ_CHECK(g.inner.payload - copy == f->inner.payload - ip &&
				   g.inner.payload_len == f->inner.payload_len);
	}
	free(copy);
}

/* What reassembly relies on (RFC 791 3.1, RFC 8200 4.5): every piece inside
 * the packet, a length that fits the datagram, 8-byte units but for the last. */
static void check_fragment(const struct ip_fragment *fr, const uint8_t *ip, size_t len)
{
	FUZZ_CHECK(fuzz_within(fr->header, fr->header_len, ip, len) && fr->header == ip);
	FUZZ_CHECK(fuzz_within(fr->data, fr->data_len, ip, len));
	FUZZ_CHECK(fr->data >= fr->header + fr->header_len);
	FUZZ_CHECK(fr->offset + fr->data_len <= IP_DATAGRAM_MAX);
	FUZZ_CHECK(!fr->more || (fr->data_len % 8 == 0 && fr->data_len > 0));
	FUZZ_CHECK(fr->offset % 8 == 0);
	FUZZ_CHECK(fr->src.type == fr->dst.type && fr->src.type != INET_UNKNOWN);
}

static void check_frame(int dlt, const uint8_t *p, size_t len)
{
	struct frame f;
	size_t off, want_off;
	enum parse_error el = link_parse(dlt, p, len, &off), e;

	FUZZ_CHECK(parse_error_valid(el));
	FUZZ_CHECK((el == PARSE_OK) == ref_link(dlt, p, len, &want_off));
	e = frame_parse(dlt, p, len, &f);
	FUZZ_CHECK(parse_error_valid(e));
	if (el != PARSE_OK) {
		FUZZ_CHECK(e == el && off == 0);
		return;
	}
	FUZZ_CHECK(off == want_off && off <= len);
	check_raw_agrees(&f, e, p + off, len - off);
	FUZZ_CHECK(!f.outer_fragment || e == PARSE_FRAGMENT);
	if (f.outer_fragment)
		check_fragment(&f.frag, p + off, len - off);
	if (e != PARSE_OK)
		return;
	FUZZ_CHECK(fuzz_within(f.outer.payload, f.outer.payload_len, p + off, len - off));
	check_class(&f);
	upper_layers(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len;
	uint8_t *p;
	int dlt;

	if (size < 1)
		return 0;
	dlt = fuzz_dlt(data[0] & 0x7f);
	len = size - 1;
	p = fuzz_copy(data + 1, len);
	if (data[0] & 0x80)
		fuzz_fix_checksums(dlt, p, len);
	check_frame(dlt, p, len);
	free(p);
	return 0;
}
