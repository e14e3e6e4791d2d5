/* From the raw socket to a tunnel: outer IPv4, tunnel lookup, GRE, inner IPv4. */
#include <stdio.h>

#include "emu.h"

static void log_bad_ip(struct emu *e, const char *layer, int err, uint32_t src, uint32_t pe)
{
	char why[64];
	snprintf(why, sizeof(why), "%s-%s", layer, ipv4_error_name(err));
	log_bad(e, why, src, pe);
}

static void learn_remote(struct emu *e, struct tunnel *t, uint32_t src)
{
	if (t->remote == src)
		return;
	t->remote = src;
	log_begin(&e->log, "remote");
	log_addr(&e->log, "pe", t->pe);
	log_addr(&e->log, "remote", src);
	log_end(&e->log);
}

void route_gre(struct emu *e, const uint8_t *p, size_t len, int64_t arrival_ns)
{
	struct ipv4_view outer, inner;
	struct gre_view gre;
	int err, pe;

	if ((err = ipv4_parse(p, len, &outer))) {
		log_bad_ip(e, "outer", err, outer.src, outer.dst);
		return;
	}
	if ((pe = config_pe_index(e->conf, outer.dst)) < 0) {
		log_bad(e, "unknown-pe", outer.src, outer.dst);
		return;
	}
	if (e->conf->monitor && outer.src != e->conf->monitor) {
		log_bad(e, "unexpected-remote", outer.src, outer.dst);
		return;
	}
	if ((err = gre_parse(outer.payload, outer.payload_len, &gre))) {
		log_bad(e, gre_error_name(err), outer.src, outer.dst);
		return;
	}
	if (gre.proto != ETHERTYPE_IPV4) {
		log_bad(e, "gre-protocol", outer.src, outer.dst);
		return;
	}
	learn_remote(e, &e->tunnels.t[pe], outer.src);
	if ((err = ipv4_parse(gre.payload, gre.payload_len, &inner))) {
		log_bad_ip(e, "inner", err, outer.src, outer.dst);
		return;
	}
	route_inner(e, (size_t)pe, &outer, &inner, arrival_ns);
}
