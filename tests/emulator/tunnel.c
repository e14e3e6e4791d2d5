#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "tunnel.h"

static void log_membership(struct log *l, const char *ev, uint32_t pe, const struct membership *m)
{
	log_begin(l, ev);
	log_addr(l, "pe", pe);
	log_addr(l, "group", m->group);
	log_u64(l, "igmp", (uint64_t)m->igmp);
	if (!strcmp(ev, "leave"))
		log_str(l, "why", "pe-removed");
	log_end(l);
}

static void tunnel_clear(struct tunnel *t)
{
	free(t->groups);
	memset(t, 0, sizeof(*t));
}

static struct tunnel *find_old(struct tunnel_table *tt, uint32_t pe)
{
	for (size_t i = 0; i < tt->n; i++)
		if (tt->t[i].pe == pe)
			return &tt->t[i];
	return NULL;
}

int tunnels_rebuild(struct tunnel_table *tt, const struct config *c, struct log *l)
{
	struct tunnel *fresh = calloc(c->n_pes ? c->n_pes : 1, sizeof(*fresh));
	if (!fresh)
		return -1;
	for (size_t i = 0; i < c->n_pes; i++) {
		struct tunnel *old = find_old(tt, c->pes[i].addr);
		if (old) {
			fresh[i] = *old;
			memset(old, 0, sizeof(*old)); /* moved: no longer owned by tt */
		}
		fresh[i].pe = c->pes[i].addr;
		if (c->monitor)
			fresh[i].remote = c->monitor;
	}
	for (size_t i = 0; i < tt->n; i++) {
		for (size_t g = 0; g < tt->t[i].n_groups; g++)
			log_membership(l, "leave", tt->t[i].pe, &tt->t[i].groups[g]);
		tunnel_clear(&tt->t[i]);
	}
	free(tt->t);
	tt->t = fresh;
	tt->n = c->n_pes;
	return 0;
}

void tunnels_free(struct tunnel_table *tt)
{
	for (size_t i = 0; i < tt->n; i++)
		tunnel_clear(&tt->t[i]);
	free(tt->t);
	tt->t = NULL;
	tt->n = 0;
}

static struct membership *find_group(const struct tunnel *t, uint32_t group)
{
	for (size_t i = 0; i < t->n_groups; i++)
		if (t->groups[i].group == group)
			return &t->groups[i];
	return NULL;
}

int tunnel_is_member(const struct tunnel *t, uint32_t group)
{
	return find_group(t, group) != NULL;
}

int tunnel_join(struct tunnel *t, uint32_t group, int64_t expires_ns, int igmp)
{
	struct membership *m = find_group(t, group);
	if (m) {
		m->expires_ns = expires_ns;
		m->igmp = igmp;
		return 0;
	}
	if (t->n_groups == t->cap_groups) {
		size_t cap = t->cap_groups ? t->cap_groups * 2 : 8;
		m = realloc(t->groups, cap * sizeof(*m));
		if (!m)
			return -1;
		t->groups = m;
		t->cap_groups = cap;
	}
	t->groups[t->n_groups++] = (struct membership){ group, expires_ns, igmp };
	return 1;
}

static void remove_at(struct tunnel *t, size_t i)
{
	t->groups[i] = t->groups[--t->n_groups];
}

int tunnel_leave(struct tunnel *t, uint32_t group)
{
	for (size_t i = 0; i < t->n_groups; i++)
		if (t->groups[i].group == group) {
			remove_at(t, i);
			return 1;
		}
	return 0;
}

void tunnel_expire(struct tunnel *t, int64_t now_ns, struct log *l)
{
	size_t i = 0;
	while (i < t->n_groups) {
		if (t->groups[i].expires_ns <= now_ns) {
			log_membership(l, "expire", t->pe, &t->groups[i]);
			remove_at(t, i);
		} else {
			i++;
		}
	}
}
