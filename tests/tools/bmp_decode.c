/*
 * Reads a BMP stream from a file (a capture of what a router sent: e.g. a
 * gobgpd session saved by a listener) through the collector (bgp/) and says
 * what it made of it: one line per message, then the router's counters and
 * routes per family.  Exit 1 if any message was malformed.
 *
 *   build/tools/bmp_decode FILE
 */
#include <stdio.h>
#include <stdlib.h>

#include "../../bgp/collector.h"

static const char *const type_name[BMP_TYPE_COUNT + 1] = {
	"route-monitoring", "statistics", "peer-down", "peer-up", "initiation",
	"termination",      "route-mirroring", "unknown"};

static void on_change(void *arg, const struct route_change *ch)
{
	struct mvpn_route r;
	char p[INET_ADDR_STRLEN];

	(void)arg;
	if (bgp_nlri_decode(ch->route->family, route_key(ch->route), ch->route->key_len, &r) != BGP_OK)
		return;
	printf("  route %s from peer %s: family %u type %u\n",
	       ch->ev == ROUTE_EV_WITHDRAW ? "gone" : "kept", inet_addr_format(&ch->peer->addr, p),
	       ch->route->family, r.type);
}

int main(int argc, char **argv)
{
	static const struct bmp_limits lim = {1000000, 1000, 4};
	struct inet_addr a = {.type = INET_IPV4, .bytes = {127, 0, 0, 1}};
	static uint8_t buf[1 << 24];
	struct bmp_collector *c;
	struct bmp_router *r;
	size_t len, off = 0;
	FILE *f;
	bool close = false;

	if (argc != 2 || !(f = fopen(argv[1], "rb"))) {
		fprintf(stderr, "usage: bmp_decode FILE\n");
		return 2;
	}
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	c = bmp_collector_new(&lim);
	c->on_change = on_change;
	r = bmp_router_connect(c, &a, 0, 1);
	while (off < len && !close) {
		uint32_t mlen;
		if (bmp_frame(buf + off, len - off, &mlen) != BGP_OK || mlen > len - off)
			break;
		uint64_t before = r->c.malformed;
		bmp_router_input(c, r, buf + off, mlen, 1, &close);
		unsigned t = buf[off + 5] < BMP_TYPE_COUNT ? buf[off + 5] : BMP_TYPE_COUNT;
		printf("%-16s %5u bytes%s%s\n", type_name[t], mlen,
		       r->c.malformed > before ? " MALFORMED: " : "",
		       r->c.malformed > before ? bgp_error_name((enum bgp_error)r->last_error) : "");
		off += mlen;
	}
	printf("messages %llu, malformed %llu, peers up %zu, peer ups %llu, routes: mdt %zu, "
	       "mvpn4 %zu, mvpn6 %zu; other families' routes skipped %llu; %zu bytes left over\n",
	       (unsigned long long)r->c.messages, (unsigned long long)r->c.malformed, r->n_peers,
	       (unsigned long long)r->c.peer_ups, r->by_family[BGP_FAM_MDT],
	       r->by_family[BGP_FAM_MVPN4], r->by_family[BGP_FAM_MVPN6],
	       (unsigned long long)r->c.other_family, len - off);
	int bad = r->c.malformed != 0;
	bmp_collector_free(c);
	return bad;
}
