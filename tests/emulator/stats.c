#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "stats.h"

/* Counters are the ground truth: losing one silently would be worse than stopping. */
static void *must_realloc(void *p, size_t n, size_t size)
{
	void *q = realloc(p, n * size);
	if (!q) {
		fputs("pe-emulator: out of memory for counters\n", stderr);
		abort();
	}
	return q;
}

void stats_init(struct stats *s)
{
	memset(s, 0, sizeof(*s));
}

void stats_free(struct stats *s)
{
	free(s->pairs);
	free(s->pair_slots);
	free(s->echo);
	memset(s, 0, sizeof(*s));
}

void stats_note_lateness(struct stats *s, int64_t late_ns)
{
	s->late.outputs++;
	s->late.sum_ns += late_ns;
	if (late_ns > s->late.max_ns)
		s->late.max_ns = late_ns;
}

static size_t pair_hash(uint32_t from, uint32_t to, size_t n_slots)
{
	uint64_t h = ((uint64_t)from << 32 | to) * 0x9e3779b97f4a7c15ULL;
	return (size_t)(h >> 32) & (n_slots - 1);
}

static void place_pair(uint32_t *slots, size_t n_slots, const struct pair_count *p, uint32_t index)
{
	size_t i = pair_hash(p->from, p->to, n_slots);
	while (slots[i])
		i = (i + 1) & (n_slots - 1);
	slots[i] = index + 1;
}

/* Keeps the table at most half full. */
static void grow_pair_slots(struct stats *s)
{
	size_t n_slots = s->n_slots ? s->n_slots * 2 : 256;
	uint32_t *slots = must_realloc(NULL, n_slots, sizeof(*slots));
	memset(slots, 0, n_slots * sizeof(*slots));
	for (size_t i = 0; i < s->n_pairs; i++)
		place_pair(slots, n_slots, &s->pairs[i], (uint32_t)i);
	free(s->pair_slots);
	s->pair_slots = slots;
	s->n_slots = n_slots;
}

static struct pair_count *find_pair(const struct stats *s, uint32_t from, uint32_t to)
{
	if (!s->n_slots)
		return NULL;
	for (size_t i = pair_hash(from, to, s->n_slots); s->pair_slots[i];
	     i = (i + 1) & (s->n_slots - 1)) {
		struct pair_count *p = &s->pairs[s->pair_slots[i] - 1];
		if (p->from == from && p->to == to)
			return p;
	}
	return NULL;
}

struct pair_count *stats_pair(struct stats *s, uint32_t from, uint32_t to)
{
	struct pair_count *p = find_pair(s, from, to);
	if (p)
		return p;
	if (2 * (s->n_pairs + 1) > s->n_slots)
		grow_pair_slots(s);
	if (s->n_pairs == s->cap_pairs) {
		s->cap_pairs = s->cap_pairs ? s->cap_pairs * 2 : 64;
		s->pairs = must_realloc(s->pairs, s->cap_pairs, sizeof(*s->pairs));
	}
	p = &s->pairs[s->n_pairs];
	memset(p, 0, sizeof(*p));
	p->from = from;
	p->to = to;
	place_pair(s->pair_slots, s->n_slots, p, (uint32_t)s->n_pairs);
	s->n_pairs++;
	return p;
}

struct echo_count *stats_echo(struct stats *s, uint32_t pe)
{
	for (size_t i = 0; i < s->n_echo; i++)
		if (s->echo[i].pe == pe)
			return &s->echo[i];
	if (s->n_echo == s->cap_echo) {
		s->cap_echo = s->cap_echo ? s->cap_echo * 2 : 16;
		s->echo = must_realloc(s->echo, s->cap_echo, sizeof(*s->echo));
	}
	struct echo_count *e = &s->echo[s->n_echo++];
	memset(e, 0, sizeof(*e));
	e->pe = pe;
	return e;
}

static void log_pair(struct log *l, const struct pair_count *p)
{
	log_open_object(l);
	log_addr(l, "from", p->from);
	log_addr(l, "to", p->to);
	log_u64(l, "forwarded", p->forwarded);
	log_u64(l, "dropped_up", p->dropped_up);
	log_u64(l, "dropped_ingress", p->dropped_ingress);
	log_u64(l, "dropped_pair", p->dropped_pair);
	log_u64(l, "dropped_down", p->dropped_down);
	log_u64(l, "unsent", p->unsent);
	log_u64(l, "send_failed", p->send_failed);
	log_close_object(l);
}

static void log_echo(struct log *l, const struct echo_count *e)
{
	log_open_object(l);
	log_addr(l, "pe", e->pe);
	log_u64(l, "replied", e->replied);
	log_u64(l, "dropped_up", e->dropped_up);
	log_u64(l, "dropped_down", e->dropped_down);
	log_u64(l, "unsent", e->unsent);
	log_u64(l, "send_failed", e->send_failed);
	log_close_object(l);
}

static void log_pairs(struct stats *s, const struct config *c, struct log *l)
{
	log_key(l, "pairs");
	log_open_array(l);
	for (size_t i = 0; i < c->n_pes; i++)
		for (size_t j = 0; j < c->n_pes; j++) {
			if (i == j)
				continue;
			const struct pair_count *p = find_pair(s, c->pes[i].addr, c->pes[j].addr);
			struct pair_count fresh = { .from = c->pes[i].addr, .to = c->pes[j].addr };
			log_pair(l, p ? p : &fresh);
		}
	for (size_t k = 0; k < s->n_pairs; k++)
		if (config_pe_index(c, s->pairs[k].from) < 0 || config_pe_index(c, s->pairs[k].to) < 0)
			log_pair(l, &s->pairs[k]);
	log_close_array(l);
}

static void log_echoes(struct stats *s, const struct config *c, struct log *l)
{
	log_key(l, "echo");
	log_open_array(l);
	for (size_t i = 0; i < c->n_pes; i++) {
		struct echo_count fresh = { .pe = c->pes[i].addr };
		const struct echo_count *e = &fresh;
		for (size_t k = 0; k < s->n_echo; k++)
			if (s->echo[k].pe == c->pes[i].addr)
				e = &s->echo[k];
		log_echo(l, e);
	}
	for (size_t k = 0; k < s->n_echo; k++)
		if (config_pe_index(c, s->echo[k].pe) < 0)
			log_echo(l, &s->echo[k]);
	log_close_array(l);
}

void stats_log_summary(struct stats *s, const struct config *c, struct log *l)
{
	log_begin(l, "summary");
	log_pairs(s, c, l);
	log_echoes(s, c, l);
	log_key(l, "refused");
	log_open_object(l);
	log_u64(l, "bad", s->refused.bad);
	log_u64(l, "other", s->refused.other);
	log_u64(l, "ttl", s->refused.ttl);
	log_u64(l, "nofanout", s->refused.nofanout);
	log_u64(l, "rx_overflow", s->refused.rx_overflow);
	log_close_object(l);
	log_key(l, "lateness");
	log_open_object(l);
	log_u64(l, "outputs", s->late.outputs);
	log_us(l, "mean_us", s->late.outputs ? s->late.sum_ns / (int64_t)s->late.outputs : 0);
	log_us(l, "max_us", s->late.max_ns);
	log_close_object(l);
	log_end(l);
}
