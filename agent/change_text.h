/*
 * The text of a typed change (mib/changelog.h), made where it is shown:
 * mvpnChangePrevious and mvpnChangeNew, and the client's tables.
 */
#ifndef MVPN_CHANGE_TEXT_H
#define MVPN_CHANGE_TEXT_H

#include <stddef.h>

#include "../mib/changelog.h"

/* One side of a change (c->previous or c->current) as the MIB shows it:
 * "hold 105s genid 0x00000001 dr 1", "joined via 198.18.0.2 hold 210s",
 * "data MDT 239.1.1.1 from 198.18.0.2", "198.18.0.1 -> 198.18.0.2 ok",
 * "tunnel up", "departed after 3 hellos"; "" for nothing (or a PE that is
 * down).  Cut at size as snprintf cuts. */
void change_value_text(const struct change *c, const union change_value *v, char *buf,
		       size_t size);

/* mvpnChangeKind's label: "peUp", "join"...; "" for an unknown kind. */
const char *change_kind_name(uint8_t kind);
/* The kind for a label, or 0. */
uint8_t change_kind_parse(const char *name);

#endif
