/* mvpnAlarmTable: the alarms raised and not yet cleared (mib/alarms.h). */
#include "daemon.h"
#include "oids.h"

static struct model *model_of(void *ctx)
{
	return ((struct daemon *)ctx)->model;
}

static const void *alarm_view_seek(void *ctx, const uint32_t *want, size_t wlen, bool after)
{
	return alarm_seek(&model_of(ctx)->alarms.table, want, wlen, after);
}

static void alarm_view_index(const void *row, struct oidx *out)
{
	alarm_oidx(row, out);
}

static bool alarm_view_get(void *ctx, const void *row, unsigned col, struct cell *c)
{
	const struct model *m = model_of(ctx);
	const struct alarm *al = row;

	switch (col) {
	case COL_ALARM_RAISED: cell_timestamp(c, &m->clock, al->raised); break;
	case COL_ALARM_RAISED_DATE: cell_date(c, &m->clock, al->raised); break;
	case COL_ALARM_VPN_INDEX: cell_gauge(c, al->vpn_index); break;
	case COL_ALARM_KIND: cell_int(c, al->kind); break;
	case COL_ALARM_ADDR_TYPE: cell_addr_type(c, &al->addr); break;
	case COL_ALARM_ADDR: cell_addr(c, &al->addr); break;
	/* A PE alarm has no peer: unknown(0) and a zero-length address. */
	case COL_ALARM_PEER_TYPE: cell_addr_type(c, &al->peer); break;
	case COL_ALARM_PEER: cell_addr(c, &al->peer); break;
	case COL_ALARM_VALUE: cell_gauge(c, al->value); break;
	case COL_ALARM_THRESHOLD: cell_gauge(c, al->threshold); break;
	case COL_ALARM_DESCR:
		alarm_describe(al, (char *)c->buf, sizeof(c->buf));
		cell_string(c, (char *)c->buf);
		break;
	default: return false;
	}
	return true;
}

void views_alarm_init(struct daemon *d)
{
	struct table_view *tv = &d->views[VIEW_ALARM];

	view_table(tv, d, "mvpnAlarmTable", ARC_ALARM_TABLE, COL_ALARM_RAISED, COL_ALARM_LAST);
	tv->seek = alarm_view_seek, tv->row_index = alarm_view_index, tv->get = alarm_view_get;
}
