#include "state_view.h"

#include <stdlib.h>
#include <string.h>

#include "../mib/cgroup.h"
#include "../mib/model.h"
#include "../mib/pe.h"

static int cmp_u32(uint32_t a, uint32_t b)
{
	return a < b ? -1 : a > b;
}

static int flow_key_cmp(uint32_t va, const struct inet_addr *ga, const struct inet_addr *sa,
			uint32_t vb, const struct inet_addr *gb, const struct inet_addr *sb)
{
	int c = cmp_u32(va, vb);
	if (!c)
		c = inet_addr_cmp(ga, gb);
	return c ? c : inet_addr_cmp(sa, sb);
}

/* mvpnCGroupPeTable's index order: VPN, group, source, kind, PE, role. */
static int cgpe_cmp(const void *a_, const void *b_)
{
	const struct sv_cgpe *a = a_, *b = b_;
	int c = flow_key_cmp(a->vpn_index, &a->group, &a->source, b->vpn_index, &b->group,
			     &b->source);
	if (!c)
		c = cmp_u32(a->kind, b->kind);
	if (!c)
		c = inet_addr_cmp(&a->pe, &b->pe);
	return c ? c : cmp_u32(a->role, b->role);
}

/* Downstream rows grouped by the upstream row they name. */
static int by_upstream(const void *a_, const void *b_)
{
	const struct sv_cgpe *a = a_, *b = b_;
	int c = flow_key_cmp(a->vpn_index, &a->group, &a->source, b->vpn_index, &b->group,
			     &b->source);
	if (!c)
		c = cmp_u32(a->kind, b->kind);
	if (!c)
		c = inet_addr_cmp(&a->other, &b->other);
	return c ? c : inet_addr_cmp(&a->pe, &b->pe);
}

static bool same_upstream(const struct sv_cgpe *a, const struct sv_cgpe *b)
{
	return a->vpn_index == b->vpn_index && inet_addr_eq(&a->group, &b->group) &&
	       inet_addr_eq(&a->source, &b->source) && a->kind == b->kind &&
	       inet_addr_eq(&a->other, &b->other);
}

static int flow_cmp(const void *a_, const void *b_)
{
	const struct sv_flow *a = a_, *b = b_;
	return flow_key_cmp(a->vpn_index, &a->group, &a->source, b->vpn_index, &b->group,
			    &b->source);
}

static int pe_cmp(const void *a_, const void *b_)
{
	const struct sv_pe *a = a_, *b = b_;
	int c = cmp_u32(a->row->vpn_index, b->row->vpn_index);
	return c ? c : inet_addr_cmp(&a->row->addr, &b->row->addr);
}

static int vpn_cmp(const void *a_, const void *b_)
{
	const struct sv_vpn *a = a_, *b = b_;
	return cmp_u32(a->row->index, b->row->index);
}

const struct hist_vpn_row *checkpoint_vpn(const struct hist_checkpoint *cp, uint32_t index)
{
	for (size_t i = 0; i < cp->n_vpns; i++)
		if (cp->vpns[i].index == index)
			return &cp->vpns[i];
	return NULL;
}

const struct hist_vpn_row *checkpoint_vpn_named(const struct hist_checkpoint *cp,
						const char *name)
{
	for (size_t i = 0; i < cp->n_vpns; i++)
		if (strcmp(cp->vpns[i].name, name) == 0)
			return &cp->vpns[i];
	return NULL;
}

const struct hist_vpn_row *checkpoint_vpn_arg(const struct hist_checkpoint *cp, const char *arg)
{
	const struct hist_vpn_row *row = checkpoint_vpn_named(cp, arg);
	size_t len = strlen(arg);

	if (!row && len > 0 && len <= 10 && strspn(arg, "0123456789") == len &&
	    strtoull(arg, NULL, 10) <= UINT32_MAX)
		row = checkpoint_vpn(cp, (uint32_t)strtoull(arg, NULL, 10));
	return row;
}

static struct sv_vpn *view_vpn(struct state_view *sv, uint32_t index)
{
	struct sv_vpn key = {.row = &(struct hist_vpn_row){.index = index}};
	return bsearch(&key, sv->vpns, sv->n_vpns, sizeof(key), vpn_cmp);
}

static const struct sv_flow *data_flow(const struct state_view *sv, const struct sv_cgpe *r)
{
	struct sv_flow key = {.vpn_index = r->vpn_index, .group = r->group, .source = r->source};
	const struct sv_flow *f = bsearch(&key, sv->flows, sv->n_flows, sizeof(key), flow_cmp);
	return f && f->mdt_type == MDT_DATA ? f : NULL;
}

static int build_vpns_pes(struct state_view *sv, const struct hist_checkpoint *cp, uint32_t only)
{
	sv->vpns = calloc(cp->n_vpns + 1, sizeof(*sv->vpns));
	sv->pes = calloc(cp->n_pes + 1, sizeof(*sv->pes));
	if (!sv->vpns || !sv->pes)
		return -1;
	for (size_t i = 0; i < cp->n_vpns; i++)
		if (!only || cp->vpns[i].index == only)
			sv->vpns[sv->n_vpns++] = (struct sv_vpn){.row = &cp->vpns[i],
								 .expected = cp->vpns[i].n_expected};
	qsort(sv->vpns, sv->n_vpns, sizeof(*sv->vpns), vpn_cmp);
	for (size_t i = 0; i < cp->n_pes; i++) {
		const struct hist_pe_row *row = &cp->pes[i];
		if (only && row->vpn_index != only)
			continue;
		/* The daemon's own rule, from the two facts a checkpoint keeps. */
		struct pe pe = {.expected = row->expected,
				.alive = row->value.present && row->value.alive};
		sv->pes[sv->n_pes++] = (struct sv_pe){.row = row, .status = (uint8_t)pe_status(&pe, JUDGE_PIM)};
		struct sv_vpn *v = view_vpn(sv, row->vpn_index);
		if (v) {
			v->active += pe.alive;
			v->missing += pe.expected && !pe.alive;
			v->unexpected += !pe.expected && pe.alive;
		}
	}
	qsort(sv->pes, sv->n_pes, sizeof(*sv->pes), pe_cmp);
	return 0;
}

/* The downstream rows, then one upstream row for each run naming the same PE. */
static int build_cgpes(struct state_view *sv, const struct hist_checkpoint *cp, uint32_t only)
{
	size_t n = 0;

	sv->cgpes = calloc(cp->n_cgpes * 2 + 1, sizeof(*sv->cgpes));
	if (!sv->cgpes)
		return -1;
	for (size_t i = 0; i < cp->n_cgpes; i++) {
		const struct hist_cgpe_row *row = &cp->cgpes[i];
		if ((only && row->vpn_index != only) || !row->value.present)
			continue;
		sv->cgpes[n++] = (struct sv_cgpe){
			.vpn_index = row->vpn_index, .group = row->c_group, .source = row->c_source,
			.pe = row->pe, .kind = row->value.cg_kind, .role = CG_DOWNSTREAM,
			.state = row->value.state, .joiners = 1, .other = row->value.upstream,
			.rp = row->value.rp, .holdtime = row->value.holdtime, .other_known = true,
			.rp_known = true, .hold_known = true};
	}
	qsort(sv->cgpes, n, sizeof(*sv->cgpes), by_upstream);
	size_t n_down = n;
	for (size_t i = 0; i < n_down;) {
		const struct sv_cgpe *first = &sv->cgpes[i];
		struct sv_cgpe up = {
			.vpn_index = first->vpn_index, .group = first->group, .source = first->source,
			.pe = first->other, .kind = first->kind, .role = CG_UPSTREAM,
			.state = first->state, .other = first->pe, .rp = first->rp,
			.holdtime = first->holdtime, .rp_known = true, .hold_known = true};
		size_t j = i;
		for (; j < n_down && same_upstream(&sv->cgpes[j], first); j++) {
			up.rp_known &= inet_addr_eq(&sv->cgpes[j].rp, &up.rp);
			up.hold_known &= sv->cgpes[j].holdtime == up.holdtime;
		}
		up.joiners = (uint32_t)(j - i);
		up.other_known = up.joiners == 1;
		sv->cgpes[n++] = up;
		i = j;
	}
	sv->n_cgpes = n;
	qsort(sv->cgpes, n, sizeof(*sv->cgpes), cgpe_cmp);
	return 0;
}

/* Every flow a row refers to, on the default MDT unless the checkpoint puts it
 * on a data MDT, and every flow on a data MDT. */
static int build_flows(struct state_view *sv, const struct hist_checkpoint *cp, uint32_t only)
{
	size_t n = 0;

	sv->flows = calloc(cp->n_flows + sv->n_cgpes + 1, sizeof(*sv->flows));
	if (!sv->flows)
		return -1;
	for (size_t i = 0; i < cp->n_flows; i++) {
		const struct hist_flow_row *row = &cp->flows[i];
		if ((only && row->vpn_index != only) || !row->value.present)
			continue;
		sv->flows[n++] = (struct sv_flow){
			.vpn_index = row->vpn_index, .group = row->c_group, .source = row->c_source,
			.mdt_type = MDT_DATA, .p_group = row->value.p_group,
			.announcer = row->value.announcer};
	}
	qsort(sv->flows, n, sizeof(*sv->flows), flow_cmp);
	sv->n_flows = n;
	size_t n_data = n;
	for (size_t i = 0; i < sv->n_cgpes; i++) {
		const struct sv_cgpe *r = &sv->cgpes[i];
		struct sv_flow key = {.vpn_index = r->vpn_index, .group = r->group,
				      .source = r->source, .mdt_type = MDT_DEFAULT};
		if (bsearch(&key, sv->flows, n_data, sizeof(key), flow_cmp) ||
		    (n > n_data && flow_cmp(&key, &sv->flows[n - 1]) == 0))
			continue; /* rows are sorted: a flow's rows are consecutive */
		struct sv_vpn *v = view_vpn(sv, r->vpn_index);
		if (v)
			key.p_group = v->row->default_mdt;
		sv->flows[n++] = key;
	}
	for (size_t i = 0; i < n_data; i++) {
		struct sv_vpn *v = view_vpn(sv, sv->flows[i].vpn_index);
		if (v)
			v->data_mdts++;
	}
	sv->n_flows = n;
	qsort(sv->flows, n, sizeof(*sv->flows), flow_cmp);
	return 0;
}

int state_view_build(struct state_view *sv, const struct hist_checkpoint *cp, uint32_t vpn_index)
{
	memset(sv, 0, sizeof(*sv));
	if (build_vpns_pes(sv, cp, vpn_index) < 0 || build_cgpes(sv, cp, vpn_index) < 0 ||
	    build_flows(sv, cp, vpn_index) < 0) {
		state_view_free(sv);
		return -1;
	}
	/* C-groups: the flows with rows, data MDT or not (mvpnVpnCGroups); rows
	 * are in index order, so a flow's rows are consecutive. */
	for (size_t i = 0; i < sv->n_cgpes; i++) {
		const struct sv_cgpe *r = &sv->cgpes[i], *p = i ? &sv->cgpes[i - 1] : NULL;
		struct sv_vpn *v = view_vpn(sv, r->vpn_index);
		if (v && (!p || flow_key_cmp(p->vpn_index, &p->group, &p->source, r->vpn_index,
					     &r->group, &r->source) != 0))
			v->cgroups++;
	}
	for (size_t i = 0; i < sv->n_cgpes; i++) {
		struct sv_cgpe *r = &sv->cgpes[i];
		const struct sv_flow *f = data_flow(sv, r);
		const struct sv_vpn *v = view_vpn(sv, r->vpn_index);
		r->p_group = f ? f->p_group : v ? v->row->default_mdt : (struct inet_addr){0};
	}
	for (size_t i = 0; i < sv->n_vpns; i++) {
		struct sv_vpn *v = &sv->vpns[i];
		v->config = v->missing == 0 && v->unexpected == 0 ? CONFIG_MATCH : CONFIG_MISMATCH;
	}
	return 0;
}

void state_view_free(struct state_view *sv)
{
	free(sv->vpns);
	free(sv->pes);
	free(sv->cgpes);
	free(sv->flows);
	memset(sv, 0, sizeof(*sv));
}
