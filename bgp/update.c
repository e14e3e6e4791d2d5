/*
 * BGP UPDATE (RFC 4271 4.3) and OPEN (RFC 4271 4.2) as BMP carries them: the
 * attributes the collector needs decoded, every other one skipped by its
 * length, every known one checked for its flags and length (RFC 4271 6.3).
 */
#include "bgp.h"

#include "../capture/cursor.h"

enum bgp_error bgp_header_check(const uint8_t *p, size_t len, uint8_t type)
{
	struct cursor c;
	uint8_t marker[16], t;
	uint16_t length;

	cursor_init(&c, p, len);
	if (!cursor_bytes(&c, marker, sizeof(marker)) || !cursor_u16(&c, &length) ||
	    !cursor_u8(&c, &t))
		return BGP_TRUNCATED;
	for (size_t i = 0; i < sizeof(marker); i++)
		if (marker[i] != 0xff)
			return BGP_BAD_MARKER; /* RFC 4271 4.1: all ones */
	if (length < BGP_HEADER_LEN || length != len)
		return BGP_BAD_LENGTH;
	return t == type ? BGP_OK : BGP_BAD_TYPE;
}

/* ---- attributes ---- */

#define ATTR_OPTIONAL 0x80
#define ATTR_TRANSITIVE 0x40
#define ATTR_PARTIAL 0x20
#define ATTR_EXTENDED 0x10

enum attr_type {
	ATTR_ORIGIN = 1, ATTR_AS_PATH = 2, ATTR_NEXT_HOP = 3, ATTR_MED = 4, ATTR_LOCAL_PREF = 5,
	ATTR_ATOMIC_AGGREGATE = 6, ATTR_AGGREGATOR = 7, ATTR_COMMUNITIES = 8,
	ATTR_ORIGINATOR_ID = 9, ATTR_MP_REACH = 14, ATTR_MP_UNREACH = 15, ATTR_EXT_COMMUNITIES = 16,
	ATTR_AS4_PATH = 17, ATTR_AS4_AGGREGATOR = 18, ATTR_PMSI_TUNNEL = 22,
	ATTR_IPV6_EXT_COMMUNITIES = 25, ATTR_LARGE_COMMUNITIES = 32,
};

enum attr_class { WELL_KNOWN, OPT_NON_TRANSITIVE, OPT_TRANSITIVE, UNKNOWN_ATTR };

static enum attr_class class_of(uint8_t type)
{
	switch (type) {
	case ATTR_ORIGIN: case ATTR_AS_PATH: case ATTR_NEXT_HOP: case ATTR_LOCAL_PREF:
	case ATTR_ATOMIC_AGGREGATE:
		return WELL_KNOWN;
	case ATTR_MED: case ATTR_MP_REACH: case ATTR_MP_UNREACH: case ATTR_ORIGINATOR_ID:
		return OPT_NON_TRANSITIVE;
	case ATTR_AGGREGATOR: case ATTR_COMMUNITIES: case ATTR_EXT_COMMUNITIES:
	case ATTR_AS4_PATH: case ATTR_AS4_AGGREGATOR: case ATTR_PMSI_TUNNEL:
	case ATTR_IPV6_EXT_COMMUNITIES: case ATTR_LARGE_COMMUNITIES:
		return OPT_TRANSITIVE;
	default:
		return UNKNOWN_ATTR;
	}
}

/* RFC 4271 6.3: the Optional and Transitive bits must agree with the
 * attribute's category; Partial only on optional transitive ones. An
 * unrecognized attribute without the Optional bit is itself an error. */
static bool flags_ok(uint8_t flags, uint8_t type)
{
	bool opt = flags & ATTR_OPTIONAL, trans = flags & ATTR_TRANSITIVE, part = flags & ATTR_PARTIAL;

	switch (class_of(type)) {
	case WELL_KNOWN: return !opt && trans && !part;
	case OPT_NON_TRANSITIVE: return opt && !trans && !part;
	case OPT_TRANSITIVE: return opt && trans;
	default: return opt;
	}
}

/* AS_PATH / AS4_PATH segments exactly filling the value (RFC 4271 4.3,
 * RFC 6793 3; RFC 7606 7.2): type 1-4 (RFC 5065 adds the confederation
 * ones), a non-zero count, as wide as the session's ASes. */
static enum bgp_error as_path(struct cursor *c, size_t as_len, struct bgp_update_info *info)
{
	uint8_t type, count;
	uint32_t as = 0;
	uint16_t as2;

	while (cursor_left(c) > 0) {
		if (!cursor_u8(c, &type) || !cursor_u8(c, &count))
			return BGP_BAD_ATTR;
		if (type < 1 || type > 4 || count == 0 || !cursor_has(c, (size_t)count * as_len))
			return BGP_BAD_ATTR;
		for (unsigned i = 0; i < count; i++) {
			if (as_len == 4)
				cursor_u32(c, &as);
			else if (cursor_u16(c, &as2))
				as = as2;
		}
		info->path_len += type == 2 ? count : type == 1 ? 1 : 0;
		info->origin_as = as;
	}
	return BGP_OK;
}

/* The fixed lengths of RFC 4271 5.1, RFC 6793 (AGGREGATOR by AS width),
 * RFC 4456 8 (ORIGINATOR_ID), and the multiples of RFC 1997, RFC 4360,
 * RFC 5701 and RFC 8092. */
static bool length_ok(uint8_t type, size_t n, const struct bgp_session_opts *o)
{
	switch (type) {
	case ATTR_ORIGIN: return n == 1;
	case ATTR_NEXT_HOP: case ATTR_MED: case ATTR_LOCAL_PREF: case ATTR_ORIGINATOR_ID:
		return n == 4;
	case ATTR_ATOMIC_AGGREGATE: return n == 0;
	case ATTR_AGGREGATOR: return n == (o->as4 ? 8u : 6u);
	case ATTR_AS4_AGGREGATOR: return n == 8;
	/* RFC 7606 7.8, 7.14, 7.15 and RFC 8092 5: a non-zero multiple. */
	case ATTR_COMMUNITIES: return n > 0 && n % 4 == 0;
	case ATTR_EXT_COMMUNITIES: return n > 0 && n % 8 == 0;
	case ATTR_IPV6_EXT_COMMUNITIES: return n > 0 && n % 20 == 0;
	case ATTR_LARGE_COMMUNITIES: return n > 0 && n % 12 == 0;
	default: return true;
	}
}

struct update_walk {
	const struct bgp_session_opts *o;
	struct cursor reach, unreach; /* values of MP_REACH_NLRI, MP_UNREACH_NLRI */
	bool has_reach, has_unreach;
	unsigned n_attrs;
	struct bgp_update_info *info;
};

/*
 * The first IP-address-specific Route Target of an extended communities
 * attribute: a C-multicast route's C-multicast Import RT names its upstream
 * PE (RFC 6514 11.1.3), an IPv4 one (RFC 4360 3.2: type 0x01, sub-type 0x02)
 * or, for an IPv6 PE (RFC 6515 3), an IPv6 one (RFC 5701 2: 0x00, 0x02).
 * AS-specific targets say nothing of a PE and are passed over.
 */
static void import_rt(struct cursor *v, bool ipv6, struct inet_addr *out)
{
	size_t width = ipv6 ? 20 : 8;
	uint8_t want_type = ipv6 ? 0x00 : 0x01;

	for (; out->type == INET_UNKNOWN && cursor_left(v) >= width; cursor_skip(v, width)) {
		const uint8_t *ec = cursor_here(v);
		if (ec[0] != want_type || ec[1] != 0x02)
			continue;
		if (ipv6)
			inet_addr_v6(out, ec + 2);
		else
			inet_addr_v4(out, ec + 2);
	}
}

static enum bgp_error one_attr(struct update_walk *w, uint8_t flags, uint8_t type, struct cursor *v)
{
	uint8_t origin;

	if (!flags_ok(flags, type))
		return BGP_BAD_FLAGS;
	if (!length_ok(type, cursor_left(v), w->o))
		return BGP_BAD_LENGTH;
	switch (type) {
	case ATTR_ORIGIN:
		if (!cursor_u8(v, &origin)) /* length_ok has said 1; -O2 -D_FORTIFY_SOURCE cannot tell */
			return BGP_BAD_LENGTH;
		return origin <= 2 ? BGP_OK : BGP_BAD_ATTR; /* IGP, EGP, INCOMPLETE */
	case ATTR_AS_PATH:
		return as_path(v, w->o->as4 ? 4 : 2, w->info);
	case ATTR_AS4_PATH: {
		struct bgp_update_info scratch = {0}; /* AS_PATH's figures stand */
		return as_path(v, 4, &scratch);
	}
	case ATTR_MP_REACH:
	case ATTR_MP_UNREACH: {
		bool *has = type == ATTR_MP_REACH ? &w->has_reach : &w->has_unreach;
		if (*has)
			return BGP_BAD_ATTR; /* RFC 7606 3.g: at most one of each */
		*has = true;
		*(type == ATTR_MP_REACH ? &w->reach : &w->unreach) = *v;
		return BGP_OK;
	}
	case ATTR_PMSI_TUNNEL:
		if (w->info->has_pmsi)
			return BGP_OK; /* RFC 7606 3.g: the first one stands */
		w->info->has_pmsi = true;
		w->info->pmsi_raw = cursor_here(v);
		w->info->pmsi_raw_len = cursor_left(v);
		return bgp_pmsi_decode(cursor_here(v), cursor_left(v), &w->info->pmsi);
	case ATTR_ORIGINATOR_ID:
		inet_addr_v4(&w->info->originator, cursor_here(v)); /* length_ok: 4 */
		return BGP_OK;
	case ATTR_EXT_COMMUNITIES:
	case ATTR_IPV6_EXT_COMMUNITIES:
		import_rt(v, type == ATTR_IPV6_EXT_COMMUNITIES, &w->info->import_rt);
		return BGP_OK;
	default:
		return BGP_OK;
	}
}

static enum bgp_error attributes(struct update_walk *w, struct cursor *c)
{
	uint8_t flags, type, l8;
	uint16_t l16;
	struct cursor v;
	enum bgp_error e;

	while (cursor_left(c) > 0) {
		if (!cursor_u8(c, &flags) || !cursor_u8(c, &type))
			return BGP_TRUNCATED;
		if (flags & ATTR_EXTENDED) {
			if (!cursor_u16(c, &l16))
				return BGP_TRUNCATED;
		} else {
			if (!cursor_u8(c, &l8))
				return BGP_TRUNCATED;
			l16 = l8;
		}
		if (!cursor_sub(c, l16, &v))
			return BGP_TRUNCATED;
		if ((e = one_attr(w, flags, type, &v)) != BGP_OK)
			return e;
		w->n_attrs++;
	}
	return BGP_OK;
}

/* IPv4 unicast prefixes (RFC 4271 4.3): length in bits (<= 32), then the
 * bytes that hold it.  Not ours: counted, checked, not kept. */
static enum bgp_error ipv4_prefixes(struct cursor *c, unsigned *count)
{
	uint8_t bits;

	while (cursor_left(c) > 0) {
		if (!cursor_u8(c, &bits))
			return BGP_TRUNCATED;
		if (bits > 32)
			return BGP_BAD_NLRI;
		if (!cursor_skip(c, (bits + 7u) / 8u))
			return BGP_TRUNCATED;
		(*count)++;
	}
	return BGP_OK;
}

/* Every NLRI of family f in c, decoded, each handed to fn (if any). */
static enum bgp_error nlri_list(struct cursor *c, enum bgp_family f, enum bgp_action act,
				bgp_route_fn fn, void *arg, struct bgp_update_info *info)
{
	struct mvpn_route r;
	struct bgp_route_event ev = {.action = act, .family = f, .route = &r, .info = info};
	enum bgp_error e;
	size_t span;

	while (cursor_left(c) > 0) {
		if ((e = bgp_nlri_span(f, cursor_here(c), cursor_left(c), &span)) != BGP_OK)
			return e;
		if ((e = bgp_nlri_decode(f, cursor_here(c), span, &r)) != BGP_OK)
			return e;
		ev.nlri = cursor_here(c);
		ev.nlri_len = span;
		cursor_skip(c, span);
		if (act == BGP_ANNOUNCE)
			info->announced++;
		else
			info->withdrawn++;
		if (fn)
			fn(arg, &ev);
	}
	return BGP_OK;
}

static enum bgp_error afi_safi(struct cursor *c, enum bgp_family *f)
{
	uint16_t afi;
	uint8_t safi;

	if (!cursor_u16(c, &afi) || !cursor_u8(c, &safi))
		return BGP_BAD_ATTR;
	*f = bgp_family_of(afi, safi);
	return BGP_OK;
}

/* RFC 4760 3: AFI, SAFI, next hop length and next hop, reserved, NLRI. */
static enum bgp_error mp_reach(struct cursor c, bgp_route_fn fn, void *arg,
			       struct bgp_update_info *info)
{
	enum bgp_family f;
	enum bgp_error e;
	uint8_t nh_len, reserved, nh[32];

	if ((e = afi_safi(&c, &f)) != BGP_OK)
		return e;
	if (!cursor_u8(&c, &nh_len) || !cursor_has(&c, nh_len))
		return BGP_BAD_ATTR;
	if (nh_len == 4 || nh_len == 16 || nh_len == 32) {
		cursor_bytes(&c, nh, nh_len);
		if (nh_len == 4)
			inet_addr_v4(&info->next_hop, nh);
		else
			inet_addr_v6(&info->next_hop, nh);
	} else {
		cursor_skip(&c, nh_len); /* e.g. RD + address (RFC 4364 4.3.2): kept unread */
	}
	if (!cursor_u8(&c, &reserved))
		return BGP_BAD_ATTR;
	if (f == BGP_FAM_COUNT) {
		info->other_family++;
		return BGP_OK;
	}
	return nlri_list(&c, f, BGP_ANNOUNCE, fn, arg, info);
}

/* RFC 4760 4: AFI, SAFI, withdrawn routes. */
static enum bgp_error mp_unreach(struct cursor c, bgp_route_fn fn, void *arg,
				 struct bgp_update_info *info)
{
	enum bgp_family f;
	enum bgp_error e;

	if ((e = afi_safi(&c, &f)) != BGP_OK)
		return e;
	if (f == BGP_FAM_COUNT) {
		info->other_family++;
		return BGP_OK;
	}
	return nlri_list(&c, f, BGP_WITHDRAW, fn, arg, info);
}

static enum bgp_error update_walk(const uint8_t *p, size_t len, const struct bgp_session_opts *o,
				  bgp_route_fn fn, void *arg, struct bgp_update_info *info)
{
	struct update_walk w = {.o = o, .info = info};
	struct cursor c, withdrawn, attrs;
	uint16_t wlen, alen;
	unsigned v4 = 0;
	enum bgp_error e;

	memset(info, 0, sizeof(*info));
	if ((e = bgp_header_check(p, len, BGP_MSG_UPDATE)) != BGP_OK)
		return e;
	cursor_init(&c, p + BGP_HEADER_LEN, len - BGP_HEADER_LEN);
	if (!cursor_u16(&c, &wlen) || !cursor_sub(&c, wlen, &withdrawn))
		return BGP_BAD_LENGTH; /* RFC 4271 6.3: lengths that do not fit */
	if (!cursor_u16(&c, &alen) || !cursor_sub(&c, alen, &attrs))
		return BGP_BAD_LENGTH;
	if ((e = ipv4_prefixes(&withdrawn, &v4)) != BGP_OK || (e = attributes(&w, &attrs)) != BGP_OK ||
	    (e = ipv4_prefixes(&c, &v4)) != BGP_OK)
		return e;
	info->other_family += v4;
	/* RFC 4724 2: End-of-RIB is an empty UPDATE, or one MP_UNREACH with no routes. */
	info->end_of_rib = (wlen == 0 && alen == 0 && v4 == 0) ||
			   (w.n_attrs == 1 && w.has_unreach && cursor_left(&w.unreach) == 3);
	if (w.has_unreach && (e = mp_unreach(w.unreach, fn, arg, info)) != BGP_OK)
		return e;
	if (w.has_reach && (e = mp_reach(w.reach, fn, arg, info)) != BGP_OK)
		return e;
	return BGP_OK;
}

enum bgp_error bgp_update_parse(const uint8_t *p, size_t len, const struct bgp_session_opts *o,
				bgp_route_fn fn, void *arg, struct bgp_update_info *info)
{
	struct bgp_update_info scratch;
	enum bgp_error e;

	if (!info)
		info = &scratch;
	/* First the whole message, then the routes: a refused one gives none. */
	if ((e = update_walk(p, len, o, NULL, NULL, info)) != BGP_OK || !fn)
		return e;
	return update_walk(p, len, o, fn, arg, info);
}

/* ---- OPEN (RFC 4271 4.2) and its capabilities (RFC 5492) ---- */

#define CAP_MULTIPROTOCOL 1 /* RFC 4760 8 */
#define CAP_AS4 65          /* RFC 6793 3 */
#define CAP_ADD_PATH 69     /* RFC 7911 4 */
#define OPT_CAPABILITIES 2
#define OPT_EXTENDED 255    /* RFC 9072 2 */

static enum bgp_error capability(uint8_t code, struct cursor *v, struct bgp_open *out)
{
	uint16_t afi;
	uint8_t res, safi;
	enum bgp_family f;

	switch (code) {
	case CAP_MULTIPROTOCOL:
		if (cursor_left(v) != 4)
			return BGP_BAD_LENGTH;
		cursor_u16(v, &afi), cursor_u8(v, &res), cursor_u8(v, &safi);
		if ((f = bgp_family_of(afi, safi)) != BGP_FAM_COUNT)
			out->families |= 1u << f;
		return BGP_OK;
	case CAP_AS4:
		if (cursor_left(v) != 4)
			return BGP_BAD_LENGTH;
		cursor_u32(v, &out->as);
		out->as4 = true;
		return BGP_OK;
	case CAP_ADD_PATH:
		out->add_path = true;
		return BGP_OK;
	default:
		return BGP_OK;
	}
}

static enum bgp_error capabilities(struct cursor *v, struct bgp_open *out)
{
	uint8_t code, len;
	struct cursor cv;
	enum bgp_error e;

	while (cursor_left(v) > 0) {
		if (!cursor_u8(v, &code) || !cursor_u8(v, &len) || !cursor_sub(v, len, &cv))
			return BGP_TRUNCATED;
		if ((e = capability(code, &cv, out)) != BGP_OK)
			return e;
	}
	return BGP_OK;
}

/* Optional parameters: type (1), length (1, or 2 in RFC 9072's extended form). */
static enum bgp_error opt_params(struct cursor *c, bool extended, struct bgp_open *out)
{
	uint8_t type, l8;
	uint16_t plen;
	struct cursor v;
	enum bgp_error e;

	while (cursor_left(c) > 0) {
		if (!cursor_u8(c, &type))
			return BGP_TRUNCATED;
		if (extended ? !cursor_u16(c, &plen) : !cursor_u8(c, &l8))
			return BGP_TRUNCATED;
		if (!extended)
			plen = l8;
		if (!cursor_sub(c, plen, &v))
			return BGP_TRUNCATED;
		if (type == OPT_CAPABILITIES && (e = capabilities(&v, out)) != BGP_OK)
			return e;
	}
	return BGP_OK;
}

enum bgp_error bgp_open_parse(const uint8_t *p, size_t len, struct bgp_open *out)
{
	struct cursor c, params;
	uint8_t version, plen8, ext_type;
	uint16_t my_as, plen;
	bool extended = false;
	enum bgp_error e;

	memset(out, 0, sizeof(*out));
	if ((e = bgp_header_check(p, len, BGP_MSG_OPEN)) != BGP_OK)
		return e;
	cursor_init(&c, p + BGP_HEADER_LEN, len - BGP_HEADER_LEN);
	if (!cursor_u8(&c, &version) || !cursor_u16(&c, &my_as) || !cursor_u16(&c, &out->hold_time) ||
	    !cursor_u32(&c, &out->bgp_id) || !cursor_u8(&c, &plen8))
		return BGP_TRUNCATED;
	if (version != 4)
		return BGP_BAD_VERSION;
	plen = plen8;
	if (plen8 == 255 && cursor_left(&c) >= 3 && cursor_here(&c)[0] == OPT_EXTENDED) {
		cursor_u8(&c, &ext_type); /* RFC 9072 2: 255, 255, then a 2-byte length */
		cursor_u16(&c, &plen);
		extended = true;
	}
	if (!cursor_sub(&c, plen, &params) || cursor_left(&c) != 0)
		return BGP_BAD_LENGTH;
	if ((e = opt_params(&params, extended, out)) != BGP_OK)
		return e;
	if (!out->as4)
		out->as = my_as;
	return BGP_OK;
}
