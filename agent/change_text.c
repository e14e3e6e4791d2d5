#include "change_text.h"

#include <stdio.h>
#include <string.h>

#include "../mib/cgroup.h"
#include "../mib/probing.h"

static void pe_text(const struct change_pe_value *pe, char *buf, size_t size)
{
	if (!pe->alive) {
		buf[0] = '\0';
		return;
	}
	if (pe->has_genid)
		snprintf(buf, size, "hold %us genid 0x%08x dr %u", pe->holdtime, pe->genid,
			 pe->dr_priority);
	else
		snprintf(buf, size, "hold %us dr %u", pe->holdtime, pe->dr_priority);
}

static void row_text(const struct change_row_value *r, char *buf, size_t size)
{
	char up[INET_ADDR_STRLEN];

	snprintf(buf, size, "%s via %s hold %us", r->state == CG_PRUNED ? "pruned" : "joined",
		 inet_addr_format(&r->upstream, up), r->holdtime);
}

static void flow_text(const struct change_flow_value *f, char *buf, size_t size)
{
	char group[INET_ADDR_STRLEN], from[INET_ADDR_STRLEN];

	snprintf(buf, size, "data MDT %s from %s", inet_addr_format(&f->p_group, group),
		 inet_addr_format(&f->announcer, from));
}

void change_value_text(const struct change *c, const union change_value *v, char *buf,
		       size_t size)
{
	char src[INET_ADDR_STRLEN], dst[INET_ADDR_STRLEN];

	buf[0] = '\0';
	if (!v->present)
		return;
	switch (c->kind) {
	case CHANGE_PE_UP:
	case CHANGE_PE_DOWN:
	case CHANGE_PE_RESTART:
	case CHANGE_PE_CHANGE:
		pe_text(&v->pe, buf, size);
		break;
	case CHANGE_JOIN:
	case CHANGE_PRUNE:
	case CHANGE_EXPIRY:
		row_text(&v->row, buf, size);
		break;
	case CHANGE_DATA_MDT_UP:
	case CHANGE_DATA_MDT_SWITCH:
	case CHANGE_DATA_MDT_DOWN:
		flow_text(&v->flow, buf, size);
		break;
	case CHANGE_PAIR_STATUS:
		snprintf(buf, size, "%s -> %s %s", inet_addr_format(&c->pe, src),
			 inet_addr_format(&c->peer, dst), pair_status_name(v->status.status));
		break;
	case CHANGE_TUNNEL_STATUS:
		snprintf(buf, size, "tunnel %s", tunnel_status_name(v->status.status));
		break;
	case CHANGE_PE_RECLAIMED:
		snprintf(buf, size, "departed after %llu hellos",
			 (unsigned long long)v->reclaim.hellos);
		break;
	case CHANGE_PE_BGP:
		snprintf(buf, size, "in BGP's MDT SAFI, %u route%s", v->status.status,
			 v->status.status == 1 ? "" : "s");
		break;
	case CHANGE_CONFIG_RELOAD:
		snprintf(buf, size, "%u VPNs (%u added, %u removed, %u changed)", v->config.vpns,
			 v->config.added, v->config.removed, v->config.changed);
		break;
	default:
		break;
	}
}

/* mvpnChangeKind's labels, by value. */
static const char *const kind_names[] = {
	"",	       "peUp",		"peDown",	 "peRestart",	 "peChange",
	"join",	       "prune",		"expiry",	 "dataMdtUp",	 "dataMdtSwitch",
	"dataMdtDown", "pairStatus",	"tunnelStatus",	 "configReload", "peReclaimed",
	"peBgp",
};
#define N_KINDS (sizeof(kind_names) / sizeof(kind_names[0]))

const char *change_kind_name(uint8_t kind)
{
	return kind < N_KINDS ? kind_names[kind] : "";
}

uint8_t change_kind_parse(const char *name)
{
	for (uint8_t k = 1; k < N_KINDS; k++)
		if (strcmp(name, kind_names[k]) == 0)
			return k;
	return 0;
}
