#include "reasm.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "checksum.h"

#define BLOCK 8 /* fragment offsets count 8-byte blocks (RFC 791 3.1, RFC 8200 4.5) */
#define BLOCKS ((IP_DATAGRAM_MAX + 1) / BLOCK)
#define HEADER_MAX 60 /* the longest IPv4 header; IPv6 keeps 40 */
#define BUFFER_STEP 2048u

struct reasm_datagram {
	TAILQ_ENTRY(reasm_datagram) age;
	struct inet_addr src, dst;
	uint32_t id;
	uint8_t proto;
	mtime_t first_at;     /* when its first-arriving fragment came */
	uint8_t header[HEADER_MAX]; /* from the fragment at offset 0 */
	size_t header_len;    /* 0 until that fragment came */
	bool have_last;
	uint32_t total;       /* the fragmentable part's length, once the last came */
	uint32_t high;        /* the furthest byte any fragment reached */
	uint32_t received;    /* bytes held, each once */
	uint8_t *data;
	size_t cap;
	uint8_t held[BLOCKS / 8]; /* one bit per block held */
};

void reasm_init(struct reasm *r, size_t max_datagrams, size_t max_bytes, mtime_t timeout)
{
	memset(r, 0, sizeof(*r));
	TAILQ_INIT(&r->by_age);
	r->max_datagrams = max_datagrams;
	r->max_bytes = max_bytes;
	r->timeout = timeout;
}

static void datagram_drop(struct reasm *r, struct reasm_datagram *d)
{
	TAILQ_REMOVE(&r->by_age, d, age);
	r->n_datagrams--;
	r->bytes -= sizeof(*d) + d->cap;
	free(d->data);
	free(d);
}

void reasm_free(struct reasm *r)
{
	struct reasm_datagram *d;

	while ((d = TAILQ_FIRST(&r->by_age)))
		datagram_drop(r, d);
	free(r->done);
	r->done = NULL;
	r->done_len = 0;
}

/* RFC 8200 4.5: abandoned when not whole "within 60 seconds of the reception
 * of the first-arriving fragment": a fragment at exactly the limit still counts. */
size_t reasm_expire(struct reasm *r, mtime_t now)
{
	struct reasm_datagram *d;
	size_t n = 0;

	while ((d = TAILQ_FIRST(&r->by_age)) && now > d->first_at &&
	       now - d->first_at > r->timeout) {
		datagram_drop(r, d);
		n++;
	}
	return n;
}

static struct reasm_datagram *datagram_find(struct reasm *r, const struct ip_fragment *f)
{
	struct reasm_datagram *d;

	TAILQ_FOREACH(d, &r->by_age, age)
		if (d->id == f->id && d->proto == f->proto && inet_addr_eq(&d->src, &f->src) &&
		    inet_addr_eq(&d->dst, &f->dst))
			return d;
	return NULL;
}

static struct reasm_datagram *datagram_new(struct reasm *r, const struct ip_fragment *f,
					   mtime_t now)
{
	struct reasm_datagram *d;

	if (r->n_datagrams >= r->max_datagrams || r->bytes + sizeof(*d) > r->max_bytes)
		return NULL;
	if (!(d = calloc(1, sizeof(*d))))
		return NULL;
	d->src = f->src;
	d->dst = f->dst;
	d->id = f->id;
	d->proto = f->proto;
	d->first_at = now;
	TAILQ_INSERT_TAIL(&r->by_age, d, age);
	r->n_datagrams++;
	r->bytes += sizeof(*d);
	return d;
}

/* Room for bytes up to end, within the byte bound. */
static bool datagram_reserve(struct reasm *r, struct reasm_datagram *d, size_t end)
{
	size_t want = (end + BUFFER_STEP - 1) / BUFFER_STEP * BUFFER_STEP;
	uint8_t *grown;

	if (end <= d->cap)
		return true;
	if (want > IP_DATAGRAM_MAX)
		want = IP_DATAGRAM_MAX;
	if (r->bytes - d->cap + want > r->max_bytes || !(grown = realloc(d->data, want)))
		return false;
	r->bytes += want - d->cap;
	d->data = grown;
	d->cap = want;
	return true;
}

static bool block_held(const struct reasm_datagram *d, size_t b)
{
	return d->held[b / 8] & (1u << (b % 8));
}

/* How many of the blocks [first, last] are held. */
static size_t blocks_held(const struct reasm_datagram *d, size_t first, size_t last)
{
	size_t n = 0;

	for (size_t b = first; b <= last; b++)
		n += block_held(d, b);
	return n;
}

/* Whether the fragment agrees with the last fragment's length, known or its own. */
static bool end_consistent(const struct reasm_datagram *d, const struct ip_fragment *f)
{
	uint32_t end = f->offset + (uint32_t)f->data_len;

	if (d->have_last && end > d->total)
		return false;
	if (!f->more && ((d->have_last && end != d->total) || d->high > end))
		return false;
	return true;
}

/* Files the fragment's bytes: PENDING, DUPLICATE, BAD or FULL. */
static enum reasm_result datagram_put(struct reasm *r, struct reasm_datagram *d,
				      const struct ip_fragment *f)
{
	uint32_t end = f->offset + (uint32_t)f->data_len;
	size_t first = f->offset / BLOCK, last = (end - 1) / BLOCK;

	if (!end_consistent(d, f))
		return REASM_BAD;
	size_t held = blocks_held(d, first, last);
	if (held == last - first + 1 && end <= d->cap &&
	    memcmp(d->data + f->offset, f->data, f->data_len) == 0)
		return REASM_DUPLICATE;
	if (held)
		return REASM_BAD;
	if (!datagram_reserve(r, d, end))
		return REASM_FULL;
	memcpy(d->data + f->offset, f->data, f->data_len);
	for (size_t b = first; b <= last; b++)
		d->held[b / 8] |= (uint8_t)(1u << (b % 8));
	d->received += (uint32_t)f->data_len;
	if (end > d->high)
		d->high = end;
	if (!f->more) {
		d->have_last = true;
		d->total = end;
	}
	if (f->offset == 0 && f->header_len <= HEADER_MAX) {
		memcpy(d->header, f->header, f->header_len);
		d->header_len = f->header_len;
	}
	return REASM_PENDING;
}

/* The whole datagram in r->done: the first fragment's header made whole again. */
static bool build(struct reasm *r, const uint8_t *header, size_t header_len, const uint8_t *data,
		  size_t total)
{
	size_t len = header_len + total;
	uint8_t *p = malloc(len ? len : 1);

	if (!p)
		return false;
	memcpy(p, header, header_len);
	if (total)
		memcpy(p + header_len, data, total);
	if ((p[0] >> 4) == 4) {
		p[2] = (uint8_t)(len >> 8), p[3] = (uint8_t)len;  /* total length */
		p[6] &= 0x40, p[7] = 0;                           /* keep DF; MF and offset 0 */
		p[10] = p[11] = 0;
		uint16_t sum = in_cksum_finish(in_cksum_add(0, p, header_len));
		p[10] = (uint8_t)(sum >> 8), p[11] = (uint8_t)sum;
	} else {
		p[4] = (uint8_t)(total >> 8), p[5] = (uint8_t)total; /* payload length */
	}
	free(r->done);
	r->done = p;
	r->done_len = len;
	return true;
}

/* IPv6 rebuilt: the fixed header, whose Next Header becomes the fragment's. */
static bool build_from(struct reasm *r, const uint8_t *header, size_t header_len, uint8_t proto,
		       const uint8_t *data, size_t total)
{
	uint8_t h[HEADER_MAX];

	memcpy(h, header, header_len);
	if ((h[0] >> 4) == 6)
		h[6] = proto;
	return build(r, h, header_len, data, total);
}

static bool complete(const struct reasm_datagram *d)
{
	return d->header_len && d->have_last && d->received == d->total;
}

/* A fragment the table can hold at all: a share of at most IP_DATAGRAM_MAX
 * bytes starting on a block, as ip_fragment_parse gives (the block bitmap
 * relies on it; the table does not take its caller's word for it). */
static bool fragment_sane(const struct ip_fragment *f)
{
	return f->data_len > 0 && f->data_len <= IP_DATAGRAM_MAX && f->offset % BLOCK == 0 &&
	       f->offset <= IP_DATAGRAM_MAX - f->data_len && f->header_len <= HEADER_MAX &&
	       f->header_len >= 20;
}

/* The datagram is whole: rebuilt into r->done and dropped from the table. */
static enum reasm_result finish(struct reasm *r, struct reasm_datagram *d)
{
	/* IPv4: header and data must fit one total length (the first fragment's
	 * options may be longer than the header a later fragment checked itself with). */
	bool fits = (d->header[0] >> 4) == 6 || d->header_len + d->total <= IP_DATAGRAM_MAX;
	bool built = fits && build_from(r, d->header, d->header_len, d->proto, d->data, d->total);

	datagram_drop(r, d);
	if (!built)
		return fits ? REASM_FULL : REASM_BAD;
	return REASM_DONE;
}

static enum reasm_result add(struct reasm *r, const struct ip_fragment *f, mtime_t now)
{
	if (!fragment_sane(f))
		return REASM_BAD;

	struct reasm_datagram *d = datagram_find(r, f);
	bool fresh = !d;

	if (f->offset == 0 && !f->more) /* atomic: nothing to wait for */
		return build_from(r, f->header, f->header_len, f->proto, f->data, f->data_len)
			       ? REASM_DONE : REASM_FULL;
	if (fresh && !(d = datagram_new(r, f, now)))
		return REASM_FULL;
	enum reasm_result res = datagram_put(r, d, f);
	/* A bad fragment abandons its datagram; a refused first one leaves none. */
	if (res == REASM_BAD || (fresh && res != REASM_PENDING)) {
		datagram_drop(r, d);
		return res;
	}
	return res == REASM_PENDING && complete(d) ? finish(r, d) : res;
}

enum reasm_result reasm_add(struct reasm *r, const struct ip_fragment *f, mtime_t now,
			    size_t *timeouts, const uint8_t **out, size_t *out_len)
{
	*timeouts = reasm_expire(r, now);
	enum reasm_result res = add(r, f, now);
	if (res == REASM_DONE) {
		*out = r->done;
		*out_len = r->done_len;
	}
	return res;
}
