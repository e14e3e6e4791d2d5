/*
 * The change history (the patent's second database): every state change writes
 * the previous record here before the current state is updated.  A bounded ring;
 * the oldest entries are overwritten and counted.
 */
#ifndef MVPN_CHANGELOG_H
#define MVPN_CHANGELOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "clock.h"
#include "oidx.h"

/* Values of mvpnChangeKind. */
enum change_kind {
	CHANGE_PE_UP = 1,
	CHANGE_PE_DOWN,
	CHANGE_PE_RESTART,
	CHANGE_PE_CHANGE,
	CHANGE_JOIN,
	CHANGE_PRUNE,
	CHANGE_EXPIRY,
	CHANGE_DATA_MDT_UP,
	CHANGE_DATA_MDT_SWITCH,
	CHANGE_DATA_MDT_DOWN,
	CHANGE_PAIR_STATUS,
	CHANGE_TUNNEL_STATUS,
	CHANGE_CONFIG_RELOAD,
	CHANGE_PE_RECLAIMED, /* a departed PE's row was given up for a new PE */
	CHANGE_PE_BGP,       /* BGP began or ceased to advertise the PE in the VPN's MDT */
};

/*
 * What a change moved from and to, typed by its kind; never text (text is
 * made where it is shown: agent/change_text.c).  `present` 0 is "nothing":
 * the previous value of a creation, the current value of a removal.
 */
struct change_pe_value { /* CHANGE_PE_UP, _DOWN, _RESTART, _CHANGE */
	uint8_t present;
	uint8_t alive;
	uint8_t has_genid;
	uint16_t holdtime; /* seconds */
	uint32_t genid;
	uint32_t dr_priority;
	struct inet_addr caddr; /* the PE's address in the VPN's C-space */
};

struct change_row_value { /* CHANGE_JOIN, _PRUNE, _EXPIRY: a downstream C-group->PE row */
	uint8_t present;
	uint8_t cg_kind;   /* enum cg_kind */
	uint8_t state;     /* enum cg_state */
	uint16_t holdtime; /* seconds */
	struct inet_addr upstream; /* the PE it joins through (mvpnCGroupPeOther) */
	struct inet_addr rp;       /* (*,G) rows */
};

struct change_flow_value { /* CHANGE_DATA_MDT_UP, _SWITCH, _DOWN */
	uint8_t present; /* 1: on the data MDT below */
	struct inet_addr p_group, announcer;
};

/* CHANGE_PAIR_STATUS (enum pair_status), _TUNNEL_STATUS; CHANGE_PE_BGP:
 * present while advertised, status the MDT SAFI routes naming it (at most 255) */
struct change_status_value {
	uint8_t present;
	uint8_t status;
};

struct change_reclaim_value { /* CHANGE_PE_RECLAIMED, previous only */
	uint8_t present;
	uint64_t hellos;
};

struct change_config_value { /* CHANGE_CONFIG_RELOAD, current only */
	uint8_t present;
	uint32_t vpns, added, removed, changed;
};

union change_value {
	uint8_t present; /* the first member of each */
	struct change_pe_value pe;
	struct change_row_value row;
	struct change_flow_value flow;
	struct change_status_value status;
	struct change_reclaim_value reclaim;
	struct change_config_value config;
};

struct change {
	uint64_t seq;   /* from 1, never reused, even across restarts (the history's key) */
	uint32_t index; /* mvpnChangeIndex: wraps from 4294967295 to 1 */
	uint32_t vpn_index; /* 0: none */
	uint8_t kind;
	mtime_t when;
	/* Keys: what the change is about.  A pair's source PE is `pe`, its
	 * destination `peer`; unused keys are all zero (type 0). */
	struct inet_addr pe, peer, c_source, c_group, p_group;
	union change_value previous, current;
};

struct changelog {
	struct change *ring; /* owned; capacity entries */
	uint32_t capacity;
	uint32_t head;  /* position of the oldest entry */
	uint32_t count;
	uint32_t next_index;
	uint64_t last_seq; /* of the newest change; a restart continues from the history's */
	uint64_t dropped;
};

/* Returns false when out of memory (the old ring is kept then). */
bool changelog_resize(struct changelog *log, uint32_t capacity);
void changelog_free(struct changelog *log);
/* A new entry with index and time set and the rest zeroed, for the caller to fill. */
struct change *changelog_append(struct changelog *log, mtime_t when);
/* The same without the zeroing: seq, index and when are set, and the caller
 * writes every other field (the packet path, which fills them all anyway). */
struct change *changelog_claim(struct changelog *log, mtime_t when);
const struct change *changelog_seek(const struct changelog *log, const uint32_t *want, size_t wlen,
				    bool after);
void change_oidx(const struct change *c, struct oidx *out);

#endif
