#include "table_view.h"

#include <string.h>
#include <time.h>

#include "modellock.h"

void cell_int(struct cell *c, long v)
{
	c->type = ASN_INTEGER;
	c->number = v;
}

void cell_gauge(struct cell *c, uint32_t v)
{
	c->type = ASN_GAUGE;
	c->number = (long)v;
}

void cell_counter64(struct cell *c, uint64_t v)
{
	c->type = ASN_COUNTER64;
	c->c64.high = (u_long)(v >> 32);
	c->c64.low = (u_long)(v & 0xffffffffu);
}

void cell_timestamp(struct cell *c, const struct mclock *clk, mtime_t t)
{
	c->type = ASN_TIMETICKS;
	c->number = (long)mclock_timestamp_cs(clk, t);
}

void cell_timestamp_real(struct cell *c, const struct mclock *clk, mtime_t mono)
{
	c->type = ASN_TIMETICKS;
	c->number = (long)mclock_real_timestamp_cs(clk, mono);
}

/* DateAndTime (RFC 2579) of a wall-clock time; never_set gives the all-zero
 * "never" the MIB documents beside each TimeStamp. */
static void cell_date_wall(struct cell *c, uint64_t wall, bool never_set)
{
	c->type = ASN_OCTET_STR;
	c->bytes = c->buf;
	memset(c->buf, 0, sizeof(c->buf));
	if (never_set) {
		c->len = 8;
		return;
	}
	time_t secs = (time_t)(wall / MTIME_SEC);
	struct tm tm;
	gmtime_r(&secs, &tm);
	unsigned year = (unsigned)tm.tm_year + 1900;
	c->buf[0] = (u_char)(year >> 8);
	c->buf[1] = (u_char)year;
	c->buf[2] = (u_char)(tm.tm_mon + 1);
	c->buf[3] = (u_char)tm.tm_mday;
	c->buf[4] = (u_char)tm.tm_hour;
	c->buf[5] = (u_char)tm.tm_min;
	c->buf[6] = (u_char)tm.tm_sec;
	c->buf[7] = (u_char)((wall % MTIME_SEC) / (MTIME_SEC / 10));
	c->buf[8] = '+'; /* UTC: +0:00 */
	c->len = 11;
}

void cell_date(struct cell *c, const struct mclock *clk, mtime_t t)
{
	cell_date_wall(c, t ? mclock_wall_ns(clk, t) : 0, t == 0);
}

void cell_date_real(struct cell *c, const struct mclock *clk, mtime_t mono)
{
	cell_date_wall(c, mono ? mclock_real_wall_ns(clk, mono) : 0, mono == 0);
}

void cell_string(struct cell *c, const char *s)
{
	c->type = ASN_OCTET_STR;
	c->bytes = s;
	c->len = strlen(s);
}

void cell_addr_type(struct cell *c, const struct inet_addr *a)
{
	cell_int(c, a->type);
}

void cell_addr(struct cell *c, const struct inet_addr *a)
{
	c->type = ASN_OCTET_STR;
	c->bytes = a->bytes;
	c->len = inet_addr_len(a);
}

void cell_ipaddress(struct cell *c, uint32_t v)
{
	c->type = ASN_IPADDRESS;
	for (int i = 0; i < 4; i++)
		c->buf[i] = (u_char)(v >> (24 - 8 * i)); /* network order (RFC 2578 7.1.5) */
	c->bytes = c->buf;
	c->len = 4;
}

void cell_bytes(struct cell *c, const void *p, size_t len)
{
	c->type = ASN_OCTET_STR;
	c->bytes = p;
	c->len = len;
}

void cell_truth(struct cell *c, bool v)
{
	cell_int(c, v ? 1 : 2);
}

/* Scalar groups are tables with one row, the instance .0; the row is the context. */
static const void *scalar_seek(const struct table_view *tv, const uint32_t *want, size_t wlen,
			       bool after)
{
	static const uint32_t zero = 0;
	int c = oidx_cmp(&zero, 1, want, wlen);

	return (after ? c > 0 : c >= 0) ? tv->ctx : NULL;
}

static const void *view_seek(const struct table_view *tv, const uint32_t *want, size_t wlen,
			     bool after)
{
	if (tv->scalar)
		return scalar_seek(tv, want, wlen, after);
	return tv->seek(tv->ctx, want, wlen, after);
}

static void view_row_index(const struct table_view *tv, const void *row, struct oidx *out)
{
	if (tv->scalar) {
		oidx_reset(out);
		oidx_push(out, 0);
		return;
	}
	tv->row_index(row, out);
}

/* Sub-identifiers above 32 bits exist in no valid OID; clamp so order is kept. */
static size_t to_oidx(const oid *name, size_t len, uint32_t *out)
{
	if (len > OIDX_MAX)
		len = OIDX_MAX;
	for (size_t i = 0; i < len; i++)
		out[i] = name[i] > 0xffffffffu ? 0xffffffffu : (uint32_t)name[i];
	return len;
}

static void set_cell(netsnmp_variable_list *vb, const struct cell *c)
{
	switch (c->type) {
	case ASN_COUNTER64:
		snmp_set_var_typed_value(vb, c->type, &c->c64, sizeof(c->c64));
		break;
	case ASN_OCTET_STR:
	case ASN_IPADDRESS:
		snmp_set_var_typed_value(vb, c->type, c->bytes, c->len);
		break;
	default:
		snmp_set_var_typed_value(vb, c->type, &c->number, sizeof(c->number));
		break;
	}
}

static void set_name(netsnmp_variable_list *vb, const struct table_view *tv, unsigned col,
		     const struct oidx *idx)
{
	oid name[MAX_OID_LEN];
	size_t len = tv->entry_len;

	memcpy(name, tv->entry, len * sizeof(oid));
	name[len++] = col;
	for (size_t i = 0; i < idx->len && len < MAX_OID_LEN; i++)
		name[len++] = idx->sub[i];
	snmp_set_var_objid(vb, name, len);
}

static int view_get(const struct table_view *tv, netsnmp_variable_list *vb)
{
	const oid *name = vb->name;
	uint32_t want[OIDX_MAX];
	struct oidx idx;
	struct cell c;

	if (vb->name_length <= tv->entry_len ||
	    snmp_oid_ncompare(name, vb->name_length, tv->entry, tv->entry_len, tv->entry_len) != 0)
		return SNMP_NOSUCHOBJECT;
	unsigned col = (unsigned)name[tv->entry_len];
	if (col < tv->first_col || col > tv->last_col)
		return SNMP_NOSUCHOBJECT;
	size_t rest = vb->name_length - tv->entry_len - 1;
	if (rest > OIDX_MAX)
		return SNMP_NOSUCHINSTANCE;
	size_t wlen = to_oidx(name + tv->entry_len + 1, rest, want);
	const void *row = view_seek(tv, want, wlen, false);
	if (!row)
		return SNMP_NOSUCHINSTANCE;
	view_row_index(tv, row, &idx);
	if (oidx_cmp(idx.sub, idx.len, want, wlen) != 0 || !tv->get(tv->ctx, row, col, &c))
		return SNMP_NOSUCHINSTANCE;
	set_cell(vb, &c);
	return SNMP_ERR_NOERROR;
}

/*
 * Where a GETNEXT starts: column and index to seek from.  Returns false when the
 * name lies past this view (the agent then moves on to the next registration).
 */
static bool getnext_start(const struct table_view *tv, const netsnmp_variable_list *vb,
			  unsigned *col, uint32_t *want, size_t *wlen)
{
	int c = snmp_oid_ncompare(vb->name, vb->name_length, tv->entry, tv->entry_len,
				  tv->entry_len);

	*col = tv->first_col;
	*wlen = 0;
	if (c < 0 || (c == 0 && vb->name_length <= tv->entry_len))
		return true;
	if (c > 0)
		return false;
	oid requested = vb->name[tv->entry_len];
	if (requested < tv->first_col)
		return true;
	if (requested > tv->last_col)
		return false;
	*col = (unsigned)requested;
	*wlen = to_oidx(vb->name + tv->entry_len + 1, vb->name_length - tv->entry_len - 1, want);
	return true;
}

static void view_getnext(const struct table_view *tv, netsnmp_variable_list *vb, bool inclusive)
{
	uint32_t want[OIDX_MAX];
	size_t wlen;
	unsigned col;
	struct oidx idx;
	struct cell c;

	if (!getnext_start(tv, vb, &col, want, &wlen))
		return;
	/* A bare column (no index) asks for its first row, whatever "inclusive" says. */
	bool after = wlen > 0 && !inclusive;
	for (; col <= tv->last_col; col++, wlen = 0, after = false) {
		const void *row = view_seek(tv, want, wlen, after);
		while (row) {
			view_row_index(tv, row, &idx);
			if (tv->get(tv->ctx, row, col, &c)) {
				set_name(vb, tv, col, &idx);
				set_cell(vb, &c);
				return;
			}
			row = view_seek(tv, idx.sub, idx.len, true);
		}
	}
}

static int table_view_handler(netsnmp_mib_handler *handler, netsnmp_handler_registration *reg,
			      netsnmp_agent_request_info *reqinfo, netsnmp_request_info *requests)
{
	const struct table_view *tv = handler->myvoid;

	(void)reg;
	/* The engines write the model on their own thread (agentx.h). */
	model_lock();
	for (netsnmp_request_info *r = requests; r; r = r->next) {
		if (r->processed)
			continue;
		switch (reqinfo->mode) {
		case MODE_GET: {
			int err = view_get(tv, r->requestvb);
			if (err != SNMP_ERR_NOERROR)
				netsnmp_set_request_error(reqinfo, r, err);
			break;
		}
		case MODE_GETNEXT:
			view_getnext(tv, r->requestvb, r->inclusive);
			break;
		default:
			netsnmp_set_request_error(reqinfo, r, SNMP_ERR_NOTWRITABLE);
			break;
		}
	}
	model_unlock();
	return SNMP_ERR_NOERROR;
}

int table_view_register(struct table_view *tv)
{
	/* Register the table (or group) OID: the entry OID minus its last arc for tables. */
	size_t reg_len = tv->scalar ? tv->entry_len : tv->entry_len - 1;
	netsnmp_handler_registration *reg = netsnmp_create_handler_registration(
		tv->name, table_view_handler, tv->entry, reg_len, HANDLER_CAN_RONLY);

	if (!reg)
		return -1;
	reg->handler->myvoid = tv;
	return netsnmp_register_handler(reg) == MIB_REGISTERED_OK ? 0 : -1;
}
