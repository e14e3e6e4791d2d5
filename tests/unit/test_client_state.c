/* client/state_view: the MIB's four tables from a checkpoint, with what the
 * daemon derives (upstream rows, default-MDT flows, counts, PE status) derived
 * the same way.  The expected rows are written out by hand. */
#include "unit.h"

#include <stdlib.h>

#include "../../client/mibenum.h"
#include "../../client/state_view.h"
#include "../../mib/cgroup.h"
#include "../../mib/model.h"
#include "../../mib/pe.h"

static struct inet_addr A(const char *s)
{
	struct inet_addr a = {0};
	if (s)
		inet_addr_parse(&a, s);
	return a;
}

static const char *T_(const struct inet_addr *a)
{
	static char buf[8][INET_ADDR_STRLEN];
	static int i;
	return inet_addr_format(a, buf[i++ % 8]);
}

static struct hist_vpn_row vpns[2];
static struct hist_pe_row pes[4];
static struct hist_cgpe_row cgpes[3];
static struct hist_flow_row flows[2];
static struct hist_checkpoint cp;

static struct hist_pe_row pe_row(uint32_t vpn, const char *addr, int expected, int present,
				 int alive)
{
	return (struct hist_pe_row){.vpn_index = vpn, .addr = A(addr), .expected = (uint8_t)expected,
				    .value = {.present = (uint8_t)present, .alive = (uint8_t)alive,
					      .holdtime = 105, .caddr = A(addr)}};
}

static struct hist_cgpe_row row(const char *src, const char *grp, const char *pe, uint8_t kind,
				const char *up, const char *rp, uint16_t hold)
{
	return (struct hist_cgpe_row){
		.vpn_index = 1, .c_source = A(src), .c_group = A(grp), .pe = A(pe),
		.value = {.present = 1, .cg_kind = kind, .state = CG_JOINED, .holdtime = hold,
			  .upstream = A(up), .rp = A(rp)}};
}

/* VPN red (1): PEs .1 expected and up, .3 expected and never heard, .9 heard
 * then gone, .66 the intruder; two PEs join (S,G) through .2, one (*,G); two
 * flows on data MDTs, one without rows.  VPN blue (2): nothing. */
static void setup(void)
{
	vpns[0] = (struct hist_vpn_row){.index = 1, .name = "red", .default_mdt = A("239.1.1.1"),
					.n_expected = 2};
	vpns[1] = (struct hist_vpn_row){.index = 2, .name = "blue", .default_mdt = A("239.1.1.2")};
	/* Deliberately not in index order: the view sorts. */
	pes[0] = pe_row(1, "198.18.0.66", 0, 1, 1);
	pes[1] = pe_row(1, "198.18.0.3", 1, 0, 0);
	pes[2] = pe_row(1, "198.18.0.1", 1, 1, 1);
	pes[3] = pe_row(1, "198.18.0.9", 0, 1, 0);
	cgpes[0] = row("10.1.1.1", "232.1.1.1", "198.18.0.66", CG_SG, "198.18.0.2", NULL, 180);
	cgpes[1] = row(NULL, "225.1.1.1", "198.18.0.1", CG_STAR_G, "198.18.0.2", "10.9.9.9", 210);
	cgpes[2] = row("10.1.1.1", "232.1.1.1", "198.18.0.1", CG_SG, "198.18.0.2", NULL, 210);
	flows[0] = (struct hist_flow_row){.vpn_index = 1, .c_source = A("10.5.5.5"),
					  .c_group = A("232.5.5.5"),
					  .value = {.present = 1, .p_group = A("239.2.2.5"),
						    .announcer = A("198.18.0.1")}};
	flows[1] = (struct hist_flow_row){.vpn_index = 1, .c_source = A("10.1.1.1"),
					  .c_group = A("232.1.1.1"),
					  .value = {.present = 1, .p_group = A("239.2.2.2"),
						    .announcer = A("198.18.0.2")}};
	cp = (struct hist_checkpoint){.n_vpns = 2, .n_pes = 4, .n_cgpes = 3, .n_flows = 2,
				      .vpns = vpns, .pes = pes, .cgpes = cgpes, .flows = flows};
}

TEST(vpn_rows_count_what_the_agent_counts)
{
	struct state_view sv;

	setup();
	CHECK_EQ_INT(state_view_build(&sv, &cp, 0), 0);
	CHECK_EQ_INT(sv.n_vpns, 2);
	const struct sv_vpn *red = &sv.vpns[0], *blue = &sv.vpns[1];
	CHECK_EQ_STR(red->row->name, "red");
	CHECK_EQ_INT(red->expected, 2);
	CHECK_EQ_INT(red->active, 2);
	CHECK_EQ_INT(red->missing, 1);
	CHECK_EQ_INT(red->unexpected, 1);
	CHECK_EQ_INT(red->cgroups, 2);
	CHECK_EQ_INT(red->data_mdts, 2);
	CHECK_EQ_STR(mib_config_status_name(red->config), "mismatch");
	CHECK_EQ_STR(blue->row->name, "blue");
	CHECK_EQ_INT(blue->active + blue->cgroups + blue->data_mdts, 0);
	CHECK_EQ_STR(mib_config_status_name(blue->config), "match");
	state_view_free(&sv);
}

TEST(pe_rows_in_address_order_with_the_mib_status)
{
	static const char *const want[][2] = {{"198.18.0.1", "active"},
					      {"198.18.0.3", "missing"},
					      {"198.18.0.9", "departed"},
					      {"198.18.0.66", "unexpected"}};
	struct state_view sv;

	setup();
	CHECK_EQ_INT(state_view_build(&sv, &cp, 0), 0);
	CHECK_EQ_INT(sv.n_pes, 4);
	for (size_t i = 0; i < 4; i++) {
		CHECK_EQ_STR(T_(&sv.pes[i].row->addr), want[i][0]);
		CHECK_EQ_STR(mib_pe_status_name(sv.pes[i].status), want[i][1]);
	}
	state_view_free(&sv);
}

TEST(upstream_rows_count_their_joiners)
{
	/* group, source, kind, PE, role, joiners, other ("?" unknown), hold, rp, P-group */
	static const struct {
		const char *group, *source, *kind, *pe, *role;
		unsigned joiners;
		const char *other, *hold, *rp, *pgroup;
	} want[] = {
		{"225.1.1.1", "", "starG", "198.18.0.1", "downstream", 1, "198.18.0.2", "210",
		 "10.9.9.9", "239.1.1.1"},
		{"225.1.1.1", "", "starG", "198.18.0.2", "upstream", 1, "198.18.0.1", "210",
		 "10.9.9.9", "239.1.1.1"},
		{"232.1.1.1", "10.1.1.1", "sg", "198.18.0.1", "downstream", 1, "198.18.0.2", "210",
		 "", "239.2.2.2"},
		{"232.1.1.1", "10.1.1.1", "sg", "198.18.0.2", "upstream", 2, "?", "?", "",
		 "239.2.2.2"},
		{"232.1.1.1", "10.1.1.1", "sg", "198.18.0.66", "downstream", 1, "198.18.0.2", "180",
		 "", "239.2.2.2"},
	};
	struct state_view sv;
	char hold[16];

	setup();
	CHECK_EQ_INT(state_view_build(&sv, &cp, 0), 0);
	CHECK_EQ_INT(sv.n_cgpes, 5);
	for (size_t i = 0; i < 5; i++) {
		const struct sv_cgpe *r = &sv.cgpes[i];
		CHECK_EQ_STR(T_(&r->group), want[i].group);
		CHECK_EQ_STR(T_(&r->source), want[i].source);
		CHECK_EQ_STR(mib_cg_kind_name(r->kind), want[i].kind);
		CHECK_EQ_STR(T_(&r->pe), want[i].pe);
		CHECK_EQ_STR(mib_cg_role_name(r->role), want[i].role);
		CHECK_EQ_STR(mib_cg_state_name(r->state), "joined");
		CHECK_EQ_INT(r->joiners, want[i].joiners);
		CHECK_EQ_STR(r->other_known ? T_(&r->other) : "?", want[i].other);
		snprintf(hold, sizeof(hold), "%u", r->holdtime);
		CHECK_EQ_STR(r->hold_known ? hold : "?", want[i].hold);
		CHECK(r->rp_known);
		CHECK_EQ_STR(T_(&r->rp), want[i].rp);
		CHECK_EQ_STR(T_(&r->p_group), want[i].pgroup);
	}
	state_view_free(&sv);
}

TEST(flows_are_those_with_rows_and_those_on_data_mdts)
{
	static const char *const want[][5] = {
		{"225.1.1.1", "", "default", "239.1.1.1", ""},
		{"232.1.1.1", "10.1.1.1", "data", "239.2.2.2", "198.18.0.2"},
		{"232.5.5.5", "10.5.5.5", "data", "239.2.2.5", "198.18.0.1"},
	};
	struct state_view sv;

	setup();
	CHECK_EQ_INT(state_view_build(&sv, &cp, 0), 0);
	CHECK_EQ_INT(sv.n_flows, 3);
	for (size_t i = 0; i < 3; i++) {
		const struct sv_flow *f = &sv.flows[i];
		CHECK_EQ_STR(T_(&f->group), want[i][0]);
		CHECK_EQ_STR(T_(&f->source), want[i][1]);
		CHECK_EQ_STR(mib_mdt_type_name(f->mdt_type), want[i][2]);
		CHECK_EQ_STR(T_(&f->p_group), want[i][3]);
		CHECK_EQ_STR(T_(&f->announcer), want[i][4]);
	}
	state_view_free(&sv);
}

TEST(one_vpn_shows_only_its_rows)
{
	struct state_view sv;

	setup();
	CHECK_EQ_INT(state_view_build(&sv, &cp, 2), 0);
	CHECK_EQ_INT(sv.n_vpns, 1);
	CHECK_EQ_STR(sv.vpns[0].row->name, "blue");
	CHECK_EQ_INT(sv.n_pes + sv.n_cgpes + sv.n_flows, 0);
	state_view_free(&sv);
	CHECK(checkpoint_vpn_named(&cp, "red") == &vpns[0]);
	CHECK(checkpoint_vpn_named(&cp, "green") == NULL);
	CHECK(checkpoint_vpn(&cp, 2) == &vpns[1]);
}

UNIT_MAIN("client_state", T(vpn_rows_count_what_the_agent_counts),
	  T(pe_rows_in_address_order_with_the_mib_status), T(upstream_rows_count_their_joiners),
	  T(flows_are_those_with_rows_and_those_on_data_mdts), T(one_vpn_shows_only_its_rows))
