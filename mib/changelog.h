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
};

#define CHANGE_TEXT_MAX 96

struct change {
	uint32_t index;
	uint32_t vpn_index; /* 0: none */
	uint8_t kind;
	mtime_t when;
	struct inet_addr pe, c_source, c_group, p_group;
	char previous[CHANGE_TEXT_MAX];
	char current[CHANGE_TEXT_MAX];
};

struct changelog {
	struct change *ring; /* owned; capacity entries */
	uint32_t capacity;
	uint32_t head;  /* position of the oldest entry */
	uint32_t count;
	uint32_t next_index;
	uint64_t dropped;
};

/* Returns false when out of memory (the old ring is kept then). */
bool changelog_resize(struct changelog *log, uint32_t capacity);
void changelog_free(struct changelog *log);
/* A new entry with index and time set and the rest zeroed, for the caller to fill. */
struct change *changelog_append(struct changelog *log, mtime_t when);
const struct change *changelog_seek(const struct changelog *log, const uint32_t *want, size_t wlen,
				    bool after);
void change_oidx(const struct change *c, struct oidx *out);

#endif
