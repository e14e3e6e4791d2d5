/* history/state.c: the state at T is the checkpoint plus the changes after
 * it, applied in order, with exactly the rows expected, sorted by VPN and
 * index. */
#include <stdlib.h>
#include <string.h>

#include "../../history/state.h"
#include "unit.h"

static struct inet_addr ip(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	struct inet_addr x;
	inet_addr_v4(&x, (const uint8_t[4]){a, b, c, d});
	return x;
}

#define PE(n) ip(198, 18, 0, n)
#define S(n) ip(10, 0, 0, n)
#define G(n) ip(232, 1, 1, n)
#define PG(n) ip(239, 2, 0, n)
#define T0 1764547200000000000ull /* 2025-12-01 00:00 UTC */

static const struct inet_addr NONE;

/* The checkpoint at seq 10: red (1) and blue (2). */
static struct hist_checkpoint *base(void)
{
	struct hist_checkpoint *cp = calloc(1, sizeof(*cp));

	cp->last_change_seq = 10;
	cp->n_vpns = 2;
	cp->vpns = calloc(2, sizeof(*cp->vpns));
	/* out of order on purpose: the result is sorted */
	cp->vpns[0] = (struct hist_vpn_row){.index = 2, .name = "blue", .default_mdt = PG(2)};
	cp->vpns[1] = (struct hist_vpn_row){.index = 1, .name = "red", .default_mdt = PG(1),
					    .n_expected = 2};
	cp->n_pes = 3;
	cp->pes = calloc(3, sizeof(*cp->pes));
	cp->pes[0] = (struct hist_pe_row){.vpn_index = 2, .addr = PE(5),
					  .value = {.present = 1, .alive = 1, .holdtime = 105},
					  .first_seen_ns = T0 + 5};
	cp->pes[1] = (struct hist_pe_row){.vpn_index = 1, .addr = PE(1), .expected = 1,
					  .value = {.present = 1, .alive = 1, .holdtime = 105},
					  .first_seen_ns = T0 + 1};
	cp->pes[2] = (struct hist_pe_row){.vpn_index = 1, .addr = PE(3), .expected = 1};
	cp->n_cgpes = 1;
	cp->cgpes = calloc(1, sizeof(*cp->cgpes));
	cp->cgpes[0] = (struct hist_cgpe_row){.vpn_index = 1, .c_source = S(1), .c_group = G(1),
					      .pe = PE(1),
					      .value = {.present = 1, .cg_kind = 2, .state = 1,
							.holdtime = 210, .upstream = PE(9)}};
	cp->n_flows = 1;
	cp->flows = calloc(1, sizeof(*cp->flows));
	cp->flows[0] = (struct hist_flow_row){.vpn_index = 1, .c_source = S(1), .c_group = G(1),
					      .value = {.present = 1, .p_group = PG(7),
							.announcer = PE(9)}};
	return cp;
}

static struct hist_record chg(uint64_t seq, uint32_t vpn, uint8_t kind, struct inet_addr pe,
			      struct inet_addr src, struct inet_addr grp)
{
	struct hist_record r = {.type = HIST_CHANGE, .seq = seq, .when_ns = T0 + seq * 1000000000ull};
	r.u.change = (struct change){.index = (uint32_t)seq, .vpn_index = vpn, .kind = kind,
				     .pe = pe, .c_source = src, .c_group = grp};
	return r;
}

static union change_value pe_alive(int alive)
{
	return (union change_value){.pe = {.present = 1, .alive = (uint8_t)alive, .holdtime = 105,
					   .has_genid = 1, .genid = 77}};
}

static union change_value row(uint8_t kind, struct inet_addr up)
{
	return (union change_value){.row = {.present = 1, .cg_kind = kind, .state = 1,
					    .holdtime = 210, .upstream = up}};
}

/* The hand-built sequence after the checkpoint: seq 11 to 23. */
static size_t sequence(struct hist_record *r)
{
	size_t n = 0;

	r[n] = chg(11, 1, CHANGE_PE_UP, PE(3), NONE, NONE); /* the expected PE comes up */
	r[n++].u.change.current = pe_alive(1);
	r[n] = chg(12, 1, CHANGE_PE_UP, PE(2), NONE, NONE); /* an unexpected one */
	r[n++].u.change.current = pe_alive(1);
	r[n] = chg(13, 1, CHANGE_JOIN, PE(2), NONE, G(2)); /* (*,G2) */
	r[n++].u.change.current = row(1, PE(1));
	r[n] = chg(14, 1, CHANGE_JOIN, PE(2), S(1), G(1));
	r[n++].u.change.current = row(2, PE(1));
	r[n] = chg(15, 1, CHANGE_PRUNE, PE(1), S(1), G(1)); /* PE 1 leaves (S1,G1) */
	r[n++].u.change.previous = row(2, PE(9));
	r[n] = chg(16, 1, CHANGE_DATA_MDT_DOWN, PE(9), S(1), G(1));
	r[n++].u.change.previous = (union change_value){.flow = {.present = 1, .p_group = PG(7)}};
	r[n] = chg(17, 2, CHANGE_DATA_MDT_UP, PE(5), S(3), G(3));
	r[n++].u.change.current = (union change_value){.flow = {.present = 1, .p_group = PG(8),
							       .announcer = PE(5)}};
	r[n] = chg(18, 2, CHANGE_PE_DOWN, PE(5), NONE, NONE);
	r[n].u.change.previous = pe_alive(1);
	r[n++].u.change.current = pe_alive(0);
	r[n] = chg(19, 1, CHANGE_PE_UP, PE(4), NONE, NONE); /* up, then its row reclaimed */
	r[n++].u.change.current = pe_alive(1);
	r[n] = chg(20, 1, CHANGE_PE_RECLAIMED, PE(4), NONE, NONE);
	r[n++].u.change.previous = (union change_value){.reclaim = {.present = 1, .hellos = 3}};
	r[n] = chg(21, 0, CHANGE_CONFIG_RELOAD, NONE, NONE, NONE);
	r[n++].u.change.current = (union change_value){.config = {.present = 1, .vpns = 2}};
	r[n] = chg(22, 1, CHANGE_EXPIRY, PE(2), NONE, G(2)); /* (*,G2) expires */
	r[n++].u.change.previous = row(1, PE(1));
	r[n] = chg(23, 1, CHANGE_JOIN, PE(2), S(1), G(1)); /* through another upstream */
	r[n].u.change.previous = row(2, PE(1));
	r[n++].u.change.current = row(2, PE(6));
	return n;
}

static struct hist_checkpoint *run(size_t upto, uint32_t vpn)
{
	struct hist_record recs[32];
	size_t n = sequence(recs);
	struct hist_state *st = hist_state_new(base(), vpn);

	for (size_t i = 0; i < n && recs[i].seq <= upto; i++)
		if (hist_state_apply(st, &recs[i]) < 0)
			return NULL;
	return hist_state_finish(st);
}

TEST(checkpoint_alone_is_the_state_sorted)
{
	struct hist_checkpoint *cp = run(10, 0);

	CHECK(cp);
	CHECK_EQ_INT(cp->last_change_seq, 10);
	CHECK_EQ_INT(cp->n_vpns, 2);
	CHECK_EQ_INT(cp->vpns[0].index, 1);
	CHECK_EQ_STR(cp->vpns[0].name, "red");
	CHECK_EQ_INT(cp->n_pes, 3);
	CHECK(cp->pes[0].vpn_index == 1 && cp->pes[0].addr.bytes[3] == 1);
	CHECK(cp->pes[1].vpn_index == 1 && cp->pes[1].addr.bytes[3] == 3);
	CHECK(cp->pes[2].vpn_index == 2);
	CHECK_EQ_INT(cp->n_cgpes, 1);
	CHECK_EQ_INT(cp->n_flows, 1);
	hist_checkpoint_free(cp);
}

TEST(every_change_applied_exactly)
{
	struct hist_checkpoint *cp = run(23, 0);
	struct inet_addr a;

	CHECK(cp);
	CHECK_EQ_INT(cp->last_change_seq, 23);
	CHECK_EQ_INT(cp->n_vpns, 2);
	/* PEs: (1, .1) as checkpointed; (1, .2) up at 12; (1, .3) expected, up
	 * at 11; (1, .4) reclaimed: gone; (2, .5) down. */
	CHECK_EQ_INT(cp->n_pes, 4);
	a = PE(1);
	CHECK(cp->pes[0].vpn_index == 1 && inet_addr_eq(&cp->pes[0].addr, &a));
	CHECK(cp->pes[0].first_seen_ns == T0 + 1);
	a = PE(2);
	CHECK(cp->pes[1].vpn_index == 1 && inet_addr_eq(&cp->pes[1].addr, &a));
	CHECK_EQ_INT(cp->pes[1].expected, 0);
	CHECK(cp->pes[1].first_seen_ns == T0 + 12000000000ull);
	CHECK_EQ_INT(cp->pes[1].value.alive, 1);
	CHECK_EQ_INT(cp->pes[1].value.genid, 77);
	a = PE(3);
	CHECK(cp->pes[2].vpn_index == 1 && inet_addr_eq(&cp->pes[2].addr, &a));
	CHECK_EQ_INT(cp->pes[2].expected, 1); /* the row's, not the change's */
	CHECK(cp->pes[2].first_seen_ns == T0 + 11000000000ull);
	CHECK_EQ_INT(cp->pes[2].value.present, 1);
	a = PE(5);
	CHECK(cp->pes[3].vpn_index == 2 && inet_addr_eq(&cp->pes[3].addr, &a));
	CHECK_EQ_INT(cp->pes[3].value.alive, 0);
	CHECK(cp->pes[3].first_seen_ns == T0 + 5);
	/* C-group rows: only (S1,G1) SG via PE 2, through PE 6 now. */
	CHECK_EQ_INT(cp->n_cgpes, 1);
	a = PE(2);
	CHECK(inet_addr_eq(&cp->cgpes[0].pe, &a));
	a = PE(6);
	CHECK(inet_addr_eq(&cp->cgpes[0].value.upstream, &a));
	CHECK_EQ_INT(cp->cgpes[0].value.cg_kind, 2);
	/* Flows: red's (S1,G1) left its data MDT; blue's (S3,G3) joined one. */
	CHECK_EQ_INT(cp->n_flows, 1);
	CHECK_EQ_INT(cp->flows[0].vpn_index, 2);
	a = PG(8);
	CHECK(inet_addr_eq(&cp->flows[0].value.p_group, &a));
	hist_checkpoint_free(cp);
}

TEST(state_between_changes)
{
	/* after 14: both (S1,G1) rows, (*,G2), PE 2 and PE 3 up, the flow on PG 7 */
	struct hist_checkpoint *cp = run(14, 0);
	struct inet_addr a;

	CHECK(cp);
	CHECK_EQ_INT(cp->n_pes, 4);
	CHECK_EQ_INT(cp->n_cgpes, 3);
	/* index order: G1 before G2; within (S1,G1) SG, PE 1 before PE 2 */
	a = G(1);
	CHECK(inet_addr_eq(&cp->cgpes[0].c_group, &a));
	a = PE(1);
	CHECK(inet_addr_eq(&cp->cgpes[0].pe, &a));
	a = PE(2);
	CHECK(inet_addr_eq(&cp->cgpes[1].pe, &a));
	a = G(2);
	CHECK(inet_addr_eq(&cp->cgpes[2].c_group, &a));
	CHECK_EQ_INT(cp->cgpes[2].value.cg_kind, 1);
	CHECK_EQ_INT(cp->cgpes[2].c_source.type, INET_UNKNOWN);
	CHECK_EQ_INT(cp->n_flows, 1);
	CHECK_EQ_INT(cp->flows[0].vpn_index, 1);
	hist_checkpoint_free(cp);
}

TEST(one_vpn)
{
	struct hist_checkpoint *cp = run(23, 2);

	CHECK(cp);
	CHECK_EQ_INT(cp->n_vpns, 1);
	CHECK_EQ_STR(cp->vpns[0].name, "blue");
	CHECK_EQ_INT(cp->n_pes, 1);
	CHECK_EQ_INT(cp->pes[0].vpn_index, 2);
	CHECK_EQ_INT(cp->n_cgpes, 0);
	CHECK_EQ_INT(cp->n_flows, 1);
	CHECK_EQ_INT(cp->last_change_seq, 23);
	hist_checkpoint_free(cp);
}

TEST(from_nothing_rows_come_sorted)
{
	struct hist_state *st = hist_state_new(NULL, 0);
	const uint8_t groups[] = {9, 2, 5, 2};
	struct hist_record r;

	CHECK(st);
	for (size_t i = 0; i < sizeof(groups); i++) {
		r = chg(i + 1, 3, CHANGE_JOIN, PE((uint8_t)(10 - i)), S(1), G(groups[i]));
		r.u.change.current = row(2, PE(1));
		CHECK(hist_state_apply(st, &r) == 0);
	}
	struct hist_checkpoint *cp = hist_state_finish(st);
	CHECK(cp);
	CHECK_EQ_INT(cp->n_vpns, 0);
	CHECK_EQ_INT(cp->n_cgpes, 4);
	CHECK_EQ_INT(cp->cgpes[0].c_group.bytes[3], 2);
	CHECK_EQ_INT(cp->cgpes[0].pe.bytes[3], 7); /* G2 via .7 before G2 via .9 */
	CHECK_EQ_INT(cp->cgpes[1].pe.bytes[3], 9);
	CHECK_EQ_INT(cp->cgpes[2].c_group.bytes[3], 5);
	CHECK_EQ_INT(cp->cgpes[3].c_group.bytes[3], 9);
	CHECK_EQ_INT(cp->last_change_seq, 4);
	hist_checkpoint_free(cp);
}

UNIT_MAIN("history_state", T(checkpoint_alone_is_the_state_sorted), T(every_change_applied_exactly),
	  T(state_between_changes), T(one_vpn), T(from_nothing_rows_come_sorted))
