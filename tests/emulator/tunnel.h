/* Run-time state of each tunnel (PE endpoint, remote, group memberships).
 * It lives beside the configuration, in the same order as its PEs, and
 * survives a reload for every PE the new configuration still declares. */
#ifndef EMU_TUNNEL_H
#define EMU_TUNNEL_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct log;

struct membership {
	uint32_t group;
	int64_t expires_ns;  /* CLOCK_MONOTONIC */
	int igmp;            /* version of the last report */
};

struct tunnel {
	uint32_t pe;
	uint32_t remote;     /* 0 until learned (or pinned by 'monitor') */
	struct membership *groups;
	size_t n_groups, cap_groups;
};

struct tunnel_table {
	struct tunnel *t;
	size_t n;
};

/* Rebuilds the table for config c, keeping the state of PEs it still has;
 * memberships of PEs it dropped are logged as left. */
int tunnels_rebuild(struct tunnel_table *tt, const struct config *c, struct log *l);
void tunnels_free(struct tunnel_table *tt);

int tunnel_is_member(const struct tunnel *t, uint32_t group);
/* 1: a new membership; 0: refreshed; -1: out of memory. */
int tunnel_join(struct tunnel *t, uint32_t group, int64_t expires_ns, int igmp);
/* 1: it was a member; 0: it was not. */
int tunnel_leave(struct tunnel *t, uint32_t group);
/* Removes the memberships that expired by now_ns, logging each. */
void tunnel_expire(struct tunnel *t, int64_t now_ns, struct log *l);

#endif
