/* client/html, client/report_data: what mvpnmon report escapes and computes. */
#include "unit.h"

#include <stdlib.h>

#include "../../client/html.h"
#include "../../client/report_data.h"
#include "../../mib/pe.h"

#define SEC 1000000000ULL
#define T0 (1796090400ULL * SEC)

static char *escaped(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	html_text(f, s);
	fclose(f);
	return buf;
}

TEST(markup_quotes_bad_bytes_and_controls_are_escaped)
{
	char *out = escaped("<b>\"r&d\"</b> 'x' caf\xc3\xa9");
	CHECK_EQ_STR(out, "&lt;b&gt;&quot;r&amp;d&quot;&lt;/b&gt; &#39;x&#39; caf\xc3\xa9");
	free(out);
	/* a stray continuation byte, an overlong '<', ESC and DEL: U+FFFD each */
	out = escaped("a\x80" "b\xc0\xbc" "c\x1b" "d\x7f");
	CHECK_EQ_STR(out, "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd" "c\xef\xbf\xbd" "d\xef\xbf\xbd");
	free(out);
	out = escaped("tab\tnewline\n");
	CHECK_EQ_STR(out, "tab\tnewline\n");
	free(out);
}

static struct inet_addr v4(uint8_t last)
{
	struct inet_addr a = {0};
	inet_addr_parse(&a, last == 1 ? "198.18.0.1" : last == 2 ? "198.18.0.2" : "198.18.0.3");
	return a;
}

static struct hist_record pe_change(uint64_t when, uint8_t kind, uint8_t pe, int alive)
{
	struct hist_record r = {.type = HIST_CHANGE, .when_ns = when};
	r.u.change.vpn_index = 1;
	r.u.change.kind = kind;
	r.u.change.pe = v4(pe);
	if (alive >= 0) {
		r.u.change.current.pe.present = 1;
		r.u.change.current.pe.alive = (uint8_t)alive;
	}
	return r;
}

/* The state at T1 (PE 1 expected and up, PE 2 expected and never heard),
 * then PE 2 up, PE 3 (unexpected) up and removed, PE 1 down. */
TEST(timeline_segments_follow_the_state_and_changes)
{
	struct hist_pe_row pes[2] = {
		{.vpn_index = 1, .addr = v4(1), .expected = 1,
		 .value = {.present = 1, .alive = 1}},
		{.vpn_index = 1, .addr = v4(2), .expected = 1},
	};
	struct hist_checkpoint cp = {.n_pes = 2, .pes = pes};
	struct rp_timeline tl;

	CHECK_EQ_INT(rp_timeline_start(&tl, 1, T0, T0 + 100 * SEC, &cp), 0);
	struct hist_record ch[] = {
		pe_change(T0 + 10 * SEC, CHANGE_PE_UP, 2, 1),
		pe_change(T0 + 20 * SEC, CHANGE_PE_UP, 3, 1),
		pe_change(T0 + 30 * SEC, CHANGE_PE_DOWN, 3, -1),
		pe_change(T0 + 40 * SEC, CHANGE_PE_DOWN, 1, 0),
		pe_change(T0 + 40 * SEC, CHANGE_JOIN, 1, 0), /* not a PE change */
	};
	for (size_t i = 0; i < sizeof(ch) / sizeof(ch[0]); i++)
		CHECK_EQ_INT(rp_timeline_change(&tl, &ch[i]), 0);
	CHECK_EQ_INT(rp_timeline_finish(&tl), 0);
	CHECK_EQ_INT(tl.changes, 4);
	CHECK_EQ_INT(tl.n, 3);
	const struct rp_lane *l1 = &tl.lanes[0], *l2 = &tl.lanes[1], *l3 = &tl.lanes[2];
	CHECK_EQ_INT(l1->n, 2);
	CHECK(l1->seg[0].status == PE_ACTIVE && l1->seg[0].from_ns == T0 &&
	      l1->seg[0].to_ns == T0 + 40 * SEC);
	CHECK(l1->seg[1].status == PE_MISSING && l1->seg[1].to_ns == T0 + 100 * SEC);
	CHECK_EQ_INT(l2->n, 2);
	CHECK(l2->seg[0].status == PE_MISSING && l2->seg[0].to_ns == T0 + 10 * SEC);
	CHECK(l2->seg[1].status == PE_ACTIVE);
	CHECK_EQ_INT(l3->n, 1); /* no row before and after: nothing drawn */
	CHECK(l3->seg[0].status == PE_UNEXPECTED && l3->seg[0].from_ns == T0 + 20 * SEC &&
	      l3->seg[0].to_ns == T0 + 30 * SEC);
	rp_timeline_free(&tl);
}

/* A checkpoint after a configuration load makes PE 3 expected. */
TEST(a_rebase_takes_the_expected_flags_again)
{
	struct hist_pe_row after[1] = {
		{.vpn_index = 1, .addr = v4(3), .expected = 1, .value = {.present = 1, .alive = 1}},
	};
	struct hist_checkpoint cp = {.n_pes = 1, .pes = after};
	struct rp_timeline tl;

	CHECK_EQ_INT(rp_timeline_start(&tl, 1, T0, T0 + 100 * SEC, NULL), 0);
	struct hist_record up = pe_change(T0 + 10 * SEC, CHANGE_PE_UP, 3, 1);
	CHECK_EQ_INT(rp_timeline_change(&tl, &up), 0);
	CHECK_EQ_INT(rp_timeline_rebase(&tl, &cp, T0 + 50 * SEC), 0);
	CHECK_EQ_INT(rp_timeline_finish(&tl), 0);
	CHECK_EQ_INT(tl.lanes[0].n, 2);
	CHECK(tl.lanes[0].seg[0].status == PE_UNEXPECTED &&
	      tl.lanes[0].seg[0].to_ns == T0 + 50 * SEC);
	CHECK(tl.lanes[0].seg[1].status == PE_ACTIVE);
	rp_timeline_free(&tl);
}

static struct hist_got window(uint8_t src, uint8_t dst, uint64_t when, uint32_t sent,
			      uint32_t received, uint32_t delay, uint32_t jitter)
{
	struct hist_got g = {.rec = {.type = HIST_PAIR_WINDOW, .when_ns = when}};
	g.rec.u.pair = (struct hist_pair_window){
		.vpn_index = 1, .src = v4(src), .dst = v4(dst), .sent = sent, .received = received,
		.lost = sent - received, .delay_avg_us = delay, .jitter_us = jitter};
	return g;
}

/* Loss: lost over sent; delay and jitter weighted by received; half up. */
TEST(windows_are_summed_into_cells_and_points)
{
	struct hist_got v[] = {
		window(2, 1, T0 + 2 * SEC, 100, 100, 5000, 10),
		window(1, 2, T0 + 2 * SEC, 1000, 999, 10000, 100),
		window(1, 2, T0 + 1 * SEC, 3, 2, 10003, 300),
		window(1, 2, T0 + 3 * SEC, 0, 0, 0, 0), /* nothing sent */
	};
	struct hist_rows rows = {.v = v, .n = 4, .cap = 4};
	struct rp_pairs p;
	uint32_t x;

	CHECK_EQ_INT(rp_pairs_build(&p, &rows, 0), 0);
	CHECK_EQ_INT(p.n_pes, 2);
	CHECK_EQ_INT(p.n_series, 2);
	CHECK_EQ_INT(p.windows, 4);
	const struct rp_agg *c = &p.cells[0 * 2 + 1]; /* 198.18.0.1 -> .2 */
	CHECK_EQ_INT(c->windows, 3);
	CHECK(rp_agg_loss_ppm(c, &x));
	CHECK_EQ_INT(x, 1994); /* 2 of 1003: 1994.02 */
	CHECK(rp_agg_delay_us(c, &x));
	CHECK_EQ_INT(x, 10000); /* (999 * 10000 + 2 * 10003) / 1001 = 10000.006 */
	CHECK(rp_agg_jitter_us(c, &x));
	CHECK_EQ_INT(x, 100); /* (99900 + 600) / 1001 = 100.4 */
	const struct rp_series *s = &p.series[0];
	CHECK_EQ_INT(s->n_points, 3);
	CHECK(s->points[0].last_ns == T0 + 1 * SEC); /* time order */
	CHECK(rp_agg_loss_ppm(&s->points[0], &x));
	CHECK_EQ_INT(x, 333333);
	CHECK(!rp_agg_loss_ppm(&s->points[2], &x)); /* nothing sent: no point */
	CHECK(!rp_agg_delay_us(&s->points[2], &x));
	CHECK(!rp_agg_loss_ppm(&p.cells[0], &x)); /* the diagonal */
	size_t *order;
	CHECK_EQ_INT(rp_pairs_pick(&p, 1, &order), 1);
	CHECK_EQ_INT(order[0], 0); /* the lossy pair */
	free(order);
	rp_pairs_free(&p);
}

/* Half up: 1 of 2,000,000 is 0.5 ppm, shown as 1. */
TEST(ratios_round_half_up)
{
	struct rp_agg a = {.sent = 2000000, .lost = 1, .received = 2, .delay_sum = 3};
	uint32_t x;

	CHECK(rp_agg_loss_ppm(&a, &x));
	CHECK_EQ_INT(x, 1);
	CHECK(rp_agg_delay_us(&a, &x));
	CHECK_EQ_INT(x, 2); /* 1.5 */
	a.lost = 0;
	CHECK(rp_agg_loss_ppm(&a, &x));
	CHECK_EQ_INT(x, 0);
}

/* Over RP_MAX_POINTS windows, a point sums consecutive ones. */
TEST(many_windows_are_bucketed)
{
	size_t n = RP_MAX_POINTS * 2 + 1;
	struct hist_got *v = calloc(n, sizeof(*v));
	struct hist_rows rows = {.v = v, .n = n, .cap = n};
	struct rp_pairs p;

	CHECK(v);
	for (size_t i = 0; i < n; i++)
		v[i] = window(1, 2, T0 + i * SEC, 10, 10, 1000, 0);
	CHECK_EQ_INT(rp_pairs_build(&p, &rows, 0), 0);
	CHECK_EQ_INT(p.series[0].per_point, 3);
	CHECK_EQ_INT(p.series[0].n_points, 161); /* 481 windows, 3 a point */
	CHECK_EQ_INT(p.series[0].points[0].windows, 3);
	CHECK_EQ_INT(p.series[0].points[160].windows, 1);
	rp_pairs_free(&p);
	free(v);
}

int main(void)
{
	static const struct unit_test tests[] = {
		T(markup_quotes_bad_bytes_and_controls_are_escaped),
		T(timeline_segments_follow_the_state_and_changes),
		T(a_rebase_takes_the_expected_flags_again),
		T(windows_are_summed_into_cells_and_points),
		T(ratios_round_half_up),
		T(many_windows_are_bucketed),
	};
	return unit_main("client_report", tests, sizeof(tests) / sizeof(tests[0]));
}
