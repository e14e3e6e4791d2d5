/*
 * The NLRI of the MDT SAFI (RFC 6037 5) and of MCAST-VPN (RFC 6514 4, IPv6
 * per RFC 6515), and the PMSI Tunnel attribute (RFC 6514 5).
 */
#include "bgp.h"

#include "../capture/cursor.h"

const char *bgp_error_name(enum bgp_error e)
{
	static const char *const names[BGP_ERROR_COUNT] = {
		"ok",          "truncated",   "bad-version", "bad-length", "bad-type",
		"bad-marker",  "bad-flags",   "bad-attribute", "bad-nlri", "unsupported",
	};
	return (unsigned)e < BGP_ERROR_COUNT ? names[e] : "unknown";
}

enum bgp_family bgp_family_of(uint16_t afi, uint8_t safi)
{
	if (afi == BGP_AFI_IPV4 && safi == BGP_SAFI_MDT)
		return BGP_FAM_MDT; /* RFC 6037 defines the MDT SAFI for IPv4 only */
	if (safi == BGP_SAFI_MCAST_VPN && afi == BGP_AFI_IPV4)
		return BGP_FAM_MVPN4;
	if (safi == BGP_SAFI_MCAST_VPN && afi == BGP_AFI_IPV6)
		return BGP_FAM_MVPN6;
	return BGP_FAM_COUNT;
}

/* RFC 6037 5: length in bits (1 byte) = 128: RD (8), PE address (4), group (4). */
#define MDT_NLRI_BITS 128
#define MDT_NLRI_LEN 17

enum bgp_error bgp_nlri_span(enum bgp_family f, const uint8_t *p, size_t len, size_t *span)
{
	struct cursor c;
	uint8_t a, b;

	cursor_init(&c, p, len);
	if (f == BGP_FAM_MDT) {
		if (!cursor_u8(&c, &a))
			return BGP_TRUNCATED;
		if (a != MDT_NLRI_BITS)
			return BGP_BAD_NLRI;
		*span = MDT_NLRI_LEN;
	} else {
		/* RFC 6514 4: route type (1), length (1, of what follows). */
		if (!cursor_u8(&c, &a) || !cursor_u8(&c, &b))
			return BGP_TRUNCATED;
		*span = 2 + (size_t)b;
	}
	return *span <= len ? BGP_OK : BGP_TRUNCATED;
}

static bool read_rd(struct cursor *c, bgp_rd *rd)
{
	uint32_t hi, lo;

	if (!cursor_u32(c, &hi) || !cursor_u32(c, &lo))
		return false;
	*rd = (uint64_t)hi << 32 | lo;
	return true;
}

static bool read_addr(struct cursor *c, size_t n, struct inet_addr *a)
{
	uint8_t b[16];

	memset(a, 0, sizeof(*a));
	if (n == 0)
		return true;
	if ((n != 4 && n != 16) || !cursor_bytes(c, b, n))
		return false;
	if (n == 4)
		inet_addr_v4(a, b);
	else
		inet_addr_v6(a, b);
	return true;
}

/* An address whose length in bits precedes it (RFC 6514 4.3: 0 is a wildcard
 * (RFC 6625), else it must be the family's: RFC 6515 2). */
static enum bgp_error c_addr(struct cursor *c, enum bgp_family f, struct inet_addr *a)
{
	uint8_t bits;

	if (!cursor_u8(c, &bits))
		return BGP_TRUNCATED;
	if (bits != 0 && bits != (f == BGP_FAM_MVPN6 ? 128 : 32))
		return BGP_BAD_NLRI;
	if (!cursor_has(c, bits / 8u))
		return BGP_TRUNCATED;
	read_addr(c, bits / 8u, a);
	return BGP_OK;
}

/* The originating router's address takes what is left: 4 or 16 bytes (RFC 6515 2). */
static enum bgp_error origin_rest(struct cursor *c, struct inet_addr *a)
{
	size_t n = cursor_left(c);

	if (n != 4 && n != 16)
		return BGP_BAD_NLRI;
	read_addr(c, n, a);
	return BGP_OK;
}

static enum bgp_error source_group(struct cursor *c, enum bgp_family f, struct mvpn_route *r)
{
	enum bgp_error e;

	if ((e = c_addr(c, f, &r->source)) != BGP_OK || (e = c_addr(c, f, &r->group)) != BGP_OK)
		return e;
	return BGP_OK;
}

static enum bgp_error nlri_value(struct cursor *v, enum bgp_family f, struct mvpn_route *r);

/* RFC 6514 4.4: the route key is an MCAST-VPN NLRI (type 1 or 3 here; RFC
 * 7524 adds others: refused), then the originating router. */
static enum bgp_error leaf_key(struct cursor *v, enum bgp_family f, struct mvpn_route *r)
{
	struct mvpn_route key;
	struct cursor kv;
	uint8_t type, klen;
	enum bgp_error e;

	if (!cursor_u8(v, &type) || !cursor_u8(v, &klen))
		return BGP_TRUNCATED;
	if (type != MVPN_INTRA_AS_IPMSI_AD && type != MVPN_SPMSI_AD)
		return BGP_BAD_NLRI;
	if (!cursor_sub(v, klen, &kv))
		return BGP_TRUNCATED;
	memset(&key, 0, sizeof(key));
	key.type = type;
	if ((e = nlri_value(&kv, f, &key)) != BGP_OK)
		return e;
	r->key_type = type;
	r->key_rd = key.rd;
	r->key_source = key.source;
	r->key_group = key.group;
	r->key_origin = key.origin;
	return origin_rest(v, &r->origin);
}

/* The route-type-specific part (RFC 6514 4.1-4.7); v holds exactly it. */
static enum bgp_error nlri_value(struct cursor *v, enum bgp_family f, struct mvpn_route *r)
{
	enum bgp_error e = BGP_OK;

	if (r->type != MVPN_LEAF_AD && !read_rd(v, &r->rd))
		return BGP_TRUNCATED;
	switch (r->type) {
	case MVPN_INTRA_AS_IPMSI_AD:
		return origin_rest(v, &r->origin);
	case MVPN_INTER_AS_IPMSI_AD:
		if (!cursor_u32(v, &r->source_as))
			return BGP_TRUNCATED;
		break;
	case MVPN_SPMSI_AD:
		if ((e = source_group(v, f, r)) != BGP_OK)
			return e;
		return origin_rest(v, &r->origin);
	case MVPN_LEAF_AD:
		return leaf_key(v, f, r);
	case MVPN_SOURCE_ACTIVE_AD:
		e = source_group(v, f, r);
		break;
	case MVPN_SHARED_TREE_JOIN:
	case MVPN_SOURCE_TREE_JOIN:
		if (!cursor_u32(v, &r->source_as))
			return BGP_TRUNCATED;
		e = source_group(v, f, r);
		break;
	default:
		return BGP_BAD_NLRI;
	}
	if (e == BGP_OK && cursor_left(v) != 0)
		return BGP_BAD_NLRI; /* the length promised more than the type holds */
	return e;
}

static enum bgp_error mdt_decode(struct cursor *c, struct mvpn_route *r)
{
	uint8_t bits;

	if (!cursor_u8(c, &bits))
		return BGP_TRUNCATED;
	if (bits != MDT_NLRI_BITS)
		return BGP_BAD_NLRI;
	if (!read_rd(c, &r->rd) || !read_addr(c, 4, &r->origin) || !read_addr(c, 4, &r->group))
		return BGP_TRUNCATED;
	if (!inet_addr_is_multicast(&r->group))
		return BGP_BAD_NLRI; /* RFC 6037 5: the default-MDT group */
	return cursor_left(c) == 0 ? BGP_OK : BGP_BAD_NLRI;
}

enum bgp_error bgp_nlri_decode(enum bgp_family f, const uint8_t *p, size_t len,
			       struct mvpn_route *out)
{
	struct cursor c, v;
	uint8_t vlen;

	memset(out, 0, sizeof(*out));
	out->family = f;
	cursor_init(&c, p, len);
	if (f == BGP_FAM_MDT)
		return mdt_decode(&c, out);
	if (f != BGP_FAM_MVPN4 && f != BGP_FAM_MVPN6)
		return BGP_UNSUPPORTED;
	if (!cursor_u8(&c, &out->type) || !cursor_u8(&c, &vlen))
		return BGP_TRUNCATED;
	if (!cursor_sub(&c, vlen, &v))
		return BGP_TRUNCATED;
	if (cursor_left(&c) != 0)
		return BGP_BAD_LENGTH;
	return nlri_value(&v, f, out);
}

/* ---- the PMSI Tunnel attribute (RFC 6514 5) ---- */

/* Sender address and P-group, both IPv4 or both IPv6 (RFC 6515 3). */
static enum bgp_error pim_tunnel(struct cursor *c, struct pmsi_tunnel *t)
{
	size_t n = cursor_left(c);

	if (n != 8 && n != 32)
		return BGP_BAD_ATTR;
	read_addr(c, n / 2, &t->sender);
	read_addr(c, n / 2, &t->group);
	return inet_addr_is_multicast(&t->group) ? BGP_OK : BGP_BAD_ATTR;
}

/* RFC 4875 19.1: P2MP ID (4), must be zero (2), Tunnel ID (2), Extended
 * Tunnel ID (4, or 16 for IPv6: RFC 6515 3). */
static enum bgp_error rsvp_tunnel(struct cursor *c, struct pmsi_tunnel *t)
{
	uint16_t zero;
	size_t rest;

	if (!cursor_u32(c, &t->p2mp_id) || !cursor_u16(c, &zero) || !cursor_u16(c, &t->tunnel_id))
		return BGP_BAD_ATTR;
	rest = cursor_left(c);
	if (rest != 4 && rest != 16)
		return BGP_BAD_ATTR;
	read_addr(c, rest, &t->sender);
	return BGP_OK;
}

/* RFC 6388 2.2 / 3.2: FEC type (1), address family (2), address length (1),
 * root node address, opaque length (2), opaque value. */
static enum bgp_error mldp_tunnel(struct cursor *c, struct pmsi_tunnel *t)
{
	uint8_t fec, alen;
	uint16_t af, olen;

	if (!cursor_u8(c, &fec) || !cursor_u16(c, &af) || !cursor_u8(c, &alen))
		return BGP_BAD_ATTR;
	if ((af == 1 && alen != 4) || (af == 2 && alen != 16) || (af != 1 && af != 2))
		return BGP_BAD_ATTR;
	if (!cursor_has(c, alen))
		return BGP_BAD_ATTR;
	read_addr(c, alen, &t->sender);
	if (!cursor_u16(c, &olen) || cursor_left(c) != olen)
		return BGP_BAD_ATTR;
	t->opaque = cursor_here(c);
	t->opaque_len = olen;
	return BGP_OK;
}

enum bgp_error bgp_pmsi_decode(const uint8_t *p, size_t len, struct pmsi_tunnel *t)
{
	struct cursor c;
	uint8_t l[3];
	size_t n;

	memset(t, 0, sizeof(*t));
	cursor_init(&c, p, len);
	if (!cursor_u8(&c, &t->flags) || !cursor_u8(&c, &t->type) || !cursor_bytes(&c, l, 3))
		return BGP_BAD_ATTR;
	t->label = (uint32_t)l[0] << 12 | (uint32_t)l[1] << 4 | l[2] >> 4;
	n = cursor_left(&c);
	switch (t->type) {
	case PMSI_NONE:
		return BGP_OK; /* RFC 6514 5: the identifier may be absent or ignored */
	case PMSI_RSVP_P2MP:
		return rsvp_tunnel(&c, t);
	case PMSI_MLDP_P2MP:
	case PMSI_MLDP_MP2MP:
		return mldp_tunnel(&c, t);
	case PMSI_PIM_SSM:
	case PMSI_PIM_SM:
	case PMSI_BIDIR_PIM:
		return pim_tunnel(&c, t);
	case PMSI_INGRESS_REPL:
		if (n != 4 && n != 16)
			return BGP_BAD_ATTR;
		read_addr(&c, n, &t->sender);
		return BGP_OK;
	default:
		return BGP_OK;
	}
}
