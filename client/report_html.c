#include "report_html.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "html.h"
#include "mibenum.h"
#include "timearg.h"

/* Geometry, in CSS pixels. */
#define LABEL_W 160 /* PE addresses left of the lanes and the matrix */
#define PLOT_W 1000
#define LANE_H 18
#define LANE_GAP 6
#define AXIS_H 34
#define CHART_W 400
#define PANEL_H 56
#define PANEL_GAP 22

static const char CSS[] =
	"body{font:14px/1.4 sans-serif;margin:16px 24px;color:#222;background:#fff}"
	"h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 4px;"
	"border-bottom:1px solid #ccc}h3{font-size:15px;margin:18px 0 6px}"
	"svg{display:block;overflow:visible}svg text{font:11px sans-serif;fill:#222}"
	".note{color:#555}.empty{background:#fff3cd;border:1px solid #e0c060;padding:8px 12px}"
	".charts{display:flex;flex-wrap:wrap;gap:12px 24px}"
	"figure{margin:0}figcaption{font-weight:bold;font-size:13px}"
	"table.key td{padding:0 10px 0 0}";

/* Colours a reader without the legend can still tell apart. */
static const char *status_colour(uint8_t status)
{
	static const char *const c[] = {"#ffffff", "#2e7d32", "#c62828", "#f9a825", "#9e9e9e"};
	return status < sizeof(c) / sizeof(c[0]) ? c[status] : "#000000";
}

/* Loss classes of the heat map: upper bounds in ppm, then the colour. */
static const struct {
	uint32_t below;
	const char *colour, *label;
} LOSS_CLASSES[] = {
	{1, "#1a9850", "0 %"},
	{1000, "#91cf60", "under 0.1 %"},
	{10000, "#fee08b", "0.1 - 1 %"},
	{50000, "#fc8d59", "1 - 5 %"},
	{UINT32_MAX, "#d73027", "5 % or more"},
};
#define N_LOSS_CLASSES (sizeof(LOSS_CLASSES) / sizeof(LOSS_CLASSES[0]))
#define NO_DATA_COLOUR "#eeeeee"

static const char *loss_colour(uint32_t ppm)
{
	for (size_t i = 0; i < N_LOSS_CLASSES; i++)
		if (ppm < LOSS_CLASSES[i].below)
			return LOSS_CLASSES[i].colour;
	return LOSS_CLASSES[N_LOSS_CLASSES - 1].colour;
}

static void when(FILE *f, const struct rp_page *pg, uint64_t ns)
{
	char buf[TIMEARG_TEXT_MAX];

	timearg_format(ns, pg->utc, buf, sizeof(buf));
	html_text(f, buf);
}

static void addr(FILE *f, const struct inet_addr *a)
{
	char buf[INET_ADDR_STRLEN];
	html_text(f, inet_addr_format(a, buf));
}

/* x of time t on a plot [x0, x0 + w] spanning the period. */
static double time_x(const struct rp_page *pg, uint64_t t, double x0, double w)
{
	uint64_t span = pg->until_ns > pg->since_ns ? pg->until_ns - pg->since_ns : 1;
	uint64_t off = t < pg->since_ns ? 0 : t - pg->since_ns;

	if (off > span)
		off = span;
	return x0 + w * ((double)off / (double)span);
}

/* Five ticks under a plot, with their times. */
static void time_axis(FILE *f, const struct rp_page *pg, double x0, double w, double y)
{
	fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\"/>\n",
		x0, y, x0 + w, y);
	for (int k = 0; k <= 4; k++) {
		uint64_t t = pg->since_ns + (pg->until_ns - pg->since_ns) / 4 * (uint64_t)k;
		if (k == 4)
			t = pg->until_ns;
		double x = time_x(pg, t, x0, w);
		const char *anchor = k == 0 ? "start" : k == 4 ? "end" : "middle";
		char buf[TIMEARG_TEXT_MAX];
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\"/>"
			   "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">", x, y, x, y + 4, x,
			y + 16, anchor);
		timearg_format(t, pg->utc, buf, sizeof(buf));
		/* the ends in full, the ticks between them without the day */
		html_text(f, k == 0 || k == 4 || strlen(buf) < 11 ? buf : buf + 11);
		fputs("</text>\n", f);
	}
}

/* ---- the PE timeline ---- */

static void segment(FILE *f, const struct rp_page *pg, const struct rp_lane *l,
		    const struct rp_segment *s, double y)
{
	double x1 = time_x(pg, s->from_ns, LABEL_W, PLOT_W), x2 = time_x(pg, s->to_ns, LABEL_W, PLOT_W);
	const char *name = mib_pe_status_name(s->status);

	fprintf(f, "<rect class=\"seg\" data-pe=\"");
	addr(f, &l->pe);
	fprintf(f, "\" data-status=\"%s\" data-from-ns=\"%" PRIu64 "\" data-to-ns=\"%" PRIu64
		   "\" x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%d\" fill=\"%s\"><title>",
		name, s->from_ns, s->to_ns, x1, y, x2 - x1 < 1 ? 1.0 : x2 - x1, LANE_H,
		status_colour(s->status));
	addr(f, &l->pe);
	fprintf(f, ": %s from ", name);
	when(f, pg, s->from_ns);
	fputs(" to ", f);
	when(f, pg, s->to_ns);
	fputs("</title></rect>\n", f);
}

static void status_legend(FILE *f, double y)
{
	double x = LABEL_W;

	for (uint8_t st = 1; st <= 4; st++, x += 130)
		fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"14\" height=\"14\" fill=\"%s\"/>"
			   "<text x=\"%.0f\" y=\"%.0f\">%s</text>\n",
			x, y, status_colour(st), x + 20, y + 11, mib_pe_status_name(st));
	fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"14\" height=\"14\" fill=\"#fff\" "
		   "stroke=\"#bbb\"/><text x=\"%.0f\" y=\"%.0f\">no row</text>\n",
		x, y, x + 20, y + 11);
}

static void timeline(FILE *f, const struct rp_page *pg, const struct rp_section *s)
{
	const struct rp_timeline *tl = &s->tl;
	double h = (double)tl->n * (LANE_H + LANE_GAP) + AXIS_H + 24;

	fputs("<h3>PEs: status over the period</h3>\n", f);
	if (!tl->n) {
		fputs("<p class=\"note\">No PE of this VPN was known in the period.</p>\n", f);
		return;
	}
	fprintf(f, "<svg class=\"timeline\" width=\"%d\" height=\"%.0f\" role=\"img\" "
		   "aria-label=\"PE status timeline\">\n", LABEL_W + PLOT_W + 20, h);
	for (size_t i = 0; i < tl->n; i++) {
		const struct rp_lane *l = &tl->lanes[i];
		double y = (double)i * (LANE_H + LANE_GAP);
		fputs("<g class=\"lane\" data-pe=\"", f);
		addr(f, &l->pe);
		fprintf(f, "\"><text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">", LABEL_W - 8,
			y + LANE_H - 5);
		addr(f, &l->pe);
		fprintf(f, "</text><rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%d\" fill=\"#fff\" "
			   "stroke=\"#ddd\"/>\n", LABEL_W, y, PLOT_W, LANE_H);
		for (size_t k = 0; k < l->n; k++)
			segment(f, pg, l, &l->seg[k], y);
		fputs("</g>\n", f);
	}
	double bottom = (double)tl->n * (LANE_H + LANE_GAP);
	for (size_t i = 0; i < s->n_loads; i++) {
		double x = time_x(pg, s->loads[i], LABEL_W, PLOT_W);
		fprintf(f, "<line class=\"load\" data-t-ns=\"%" PRIu64 "\" x1=\"%.2f\" y1=\"0\" "
			   "x2=\"%.2f\" y2=\"%.1f\" stroke=\"#1565c0\" stroke-dasharray=\"4 3\">"
			   "<title>configuration load at ", s->loads[i], x, x, bottom);
		when(f, pg, s->loads[i]);
		fputs("</title></line>\n", f);
	}
	time_axis(f, pg, LABEL_W, PLOT_W, bottom);
	status_legend(f, bottom + AXIS_H - 8);
	fputs("</svg>\n", f);
}

/* ---- the pair matrix ---- */

static void cell_data(FILE *f, const struct rp_agg *a)
{
	uint32_t v;

	fprintf(f, " data-windows=\"%" PRIu32 "\" data-sent=\"%" PRIu64 "\" data-received=\"%"
		   PRIu64 "\" data-lost=\"%" PRIu64 "\"", a->windows, a->sent, a->received, a->lost);
	if (rp_agg_loss_ppm(a, &v))
		fprintf(f, " data-loss-ppm=\"%" PRIu32 "\"", v);
	if (rp_agg_delay_us(a, &v))
		fprintf(f, " data-delay-us=\"%" PRIu32 "\"", v);
	if (rp_agg_jitter_us(a, &v))
		fprintf(f, " data-jitter-us=\"%" PRIu32 "\"", v);
}

/* "1.25 %, 10.013 ms": what a cell says. */
static void cell_words(FILE *f, const struct rp_agg *a)
{
	uint32_t loss, delay, jitter;

	if (rp_agg_loss_ppm(a, &loss))
		fprintf(f, "loss %.2f %% (%" PRIu64 " of %" PRIu64 ")", loss / 10000.0, a->lost,
			a->sent);
	else
		fputs("nothing sent", f);
	if (rp_agg_delay_us(a, &delay) && rp_agg_jitter_us(a, &jitter))
		fprintf(f, ", delay %.3f ms, jitter %.3f ms", delay / 1000.0, jitter / 1000.0);
	fprintf(f, ", %" PRIu32 " windows", a->windows);
}

static void cell(FILE *f, const struct rp_pairs *p, size_t i, size_t j, double x, double y,
		 double size)
{
	const struct rp_agg *a = &p->cells[i * p->n_pes + j];
	uint32_t loss = 0, delay = 0;
	bool has_loss = rp_agg_loss_ppm(a, &loss), has_delay = rp_agg_delay_us(a, &delay);
	const char *fill = i == j ? "#bdbdbd" : has_loss ? loss_colour(loss) : NO_DATA_COLOUR;

	fputs("<g class=\"cell\" data-src=\"", f);
	addr(f, &p->pes[i]);
	fputs("\" data-dst=\"", f);
	addr(f, &p->pes[j]);
	fputc('"', f);
	if (a->windows)
		cell_data(f, a);
	fprintf(f, "><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" "
		   "stroke=\"#fff\"/><title>", x, y, size, size, fill);
	addr(f, &p->pes[i]);
	fputs(" \xe2\x86\x92 ", f);
	addr(f, &p->pes[j]);
	fputs(": ", f);
	if (a->windows)
		cell_words(f, a);
	else
		fputs(i == j ? "itself" : "no window", f);
	fputs("</title>", f);
	if (size >= 48 && a->windows) {
		double cx = x + size / 2;
		if (has_loss)
			fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.2f %%</text>",
				cx, y + size / 2 - 2, loss / 10000.0);
		if (has_delay)
			fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.2f ms</text>",
				cx, y + size / 2 + 12, delay / 1000.0);
	}
	fputs("</g>\n", f);
}

static void loss_legend(FILE *f, double x, double y)
{
	for (size_t k = 0; k < N_LOSS_CLASSES; k++, y += 20)
		fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"14\" height=\"14\" fill=\"%s\"/>"
			   "<text x=\"%.0f\" y=\"%.0f\">%s</text>\n",
			x, y, LOSS_CLASSES[k].colour, x + 20, y + 11, LOSS_CLASSES[k].label);
	fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"14\" height=\"14\" fill=\"%s\"/>"
		   "<text x=\"%.0f\" y=\"%.0f\">no window</text>\n",
		x, y, NO_DATA_COLOUR, x + 20, y + 11);
}

static void heat_map(FILE *f, const struct rp_pairs *p)
{
	double size = p->n_pes <= 12 ? 64 : 768.0 / (double)p->n_pes;
	double top = 30, side = p->n_pes * size;

	if (size < 10)
		size = 10, side = p->n_pes * size;
	fputs("<h3>Pairs: loss and delay over the period</h3>\n"
	      "<p class=\"note\">Row: the source PE; column: the destination.  Loss is the "
	      "probes lost over those sent in every window of the period; delay the windows' "
	      "corrected one-way averages, weighted by the probes each received.</p>\n", f);
	fprintf(f, "<svg class=\"heatmap\" width=\"%.0f\" height=\"%.0f\" role=\"img\" "
		   "aria-label=\"pair loss heat map\">\n",
		LABEL_W + side + 200, top + (side > 6 * 20 ? side : 6 * 20) + 10);
	for (size_t j = 0; j < p->n_pes; j++) {
		double x = LABEL_W + (double)j * size + size / 2;
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"start\" "
			   "transform=\"rotate(-20 %.1f %.1f)\">", x - 8, top - 8, x - 8, top - 8);
		addr(f, &p->pes[j]);
		fputs("</text>\n", f);
	}
	for (size_t i = 0; i < p->n_pes; i++) {
		double y = top + (double)i * size;
		fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">", LABEL_W - 8,
			y + size / 2 + 4);
		addr(f, &p->pes[i]);
		fputs("</text>\n", f);
		for (size_t j = 0; j < p->n_pes; j++)
			cell(f, p, i, j, LABEL_W + (double)j * size, y, size);
	}
	loss_legend(f, LABEL_W + side + 24, top);
	fputs("</svg>\n", f);
}

/* ---- per pair, window by window ---- */

enum metric { M_LOSS, M_DELAY, M_JITTER };

static bool metric_value(const struct rp_agg *a, enum metric m, uint32_t *v)
{
	switch (m) {
	case M_LOSS: return rp_agg_loss_ppm(a, v);
	case M_DELAY: return rp_agg_delay_us(a, v);
	default: return rp_agg_jitter_us(a, v);
	}
}

/* A round top for an axis: 1, 2 or 5 times a power of ten, at least min. */
static double nice_top(double v, double min)
{
	double step = 1;

	if (v < min)
		v = min;
	while (step * 10 <= v)
		step *= 10;
	while (step > v)
		step /= 10;
	return v <= step ? step : v <= 2 * step ? 2 * step : v <= 5 * step ? 5 * step : 10 * step;
}

static void point(FILE *f, const struct rp_page *pg, const struct rp_agg *a, enum metric m,
		  uint32_t v, double x, double y)
{
	static const char *const attr[] = {"data-loss-ppm", "data-delay-us", "data-jitter-us"};

	fprintf(f, "<circle class=\"pt\" data-t-ns=\"%" PRIu64 "\" data-windows=\"%" PRIu32
		   "\" data-sent=\"%" PRIu64 "\" data-received=\"%" PRIu64 "\" data-lost=\"%" PRIu64
		   "\" %s=\"%" PRIu32 "\" cx=\"%.2f\" cy=\"%.2f\" r=\"2\"><title>",
		a->last_ns, a->windows, a->sent, a->received, a->lost, attr[m], v, x, y);
	when(f, pg, a->last_ns);
	if (m == M_LOSS)
		fprintf(f, ": loss %.2f %%", v / 10000.0);
	else
		fprintf(f, ": %s %.3f ms", m == M_DELAY ? "delay" : "jitter", v / 1000.0);
	fputs("</title></circle>\n", f);
}

static void panel(FILE *f, const struct rp_page *pg, const struct rp_series *s, enum metric m,
		  double y0)
{
	static const char *const name[] = {"loss", "delay", "jitter"};
	static const char *const colour[] = {"#c62828", "#1565c0", "#6a1b9a"};
	/* ppm shown as %, us as ms */
	double unit = m == M_LOSS ? 10000.0 : 1000.0, top = 0;
	const double x0 = 40, w = CHART_W - 50;
	uint32_t v;

	for (size_t k = 0; k < s->n_points; k++)
		if (metric_value(&s->points[k], m, &v) && v / unit > top)
			top = v / unit;
	top = nice_top(top, m == M_LOSS ? 1.0 : 0.1);
	fprintf(f, "<g class=\"panel\" data-metric=\"%s\"><rect x=\"%.0f\" y=\"%.0f\" "
		   "width=\"%.0f\" height=\"%d\" fill=\"#fafafa\" stroke=\"#ccc\"/>"
		   "<text x=\"%.0f\" y=\"%.0f\">%s (%s)</text>"
		   "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%g</text>"
		   "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">0</text>\n<polyline fill=\"none\" "
		   "stroke=\"%s\" stroke-width=\"1.5\" points=\"",
		name[m], x0, y0, w, PANEL_H, x0, y0 - 4, name[m], m == M_LOSS ? "%" : "ms",
		x0 - 4, y0 + 10, top, x0 - 4, y0 + PANEL_H, colour[m]);
	for (size_t k = 0; k < s->n_points; k++)
		if (metric_value(&s->points[k], m, &v))
			fprintf(f, "%.2f,%.2f ", time_x(pg, s->points[k].last_ns, x0, w),
				y0 + PANEL_H - PANEL_H * (v / unit) / top);
	fputs("\"/>\n", f);
	for (size_t k = 0; k < s->n_points; k++)
		if (metric_value(&s->points[k], m, &v))
			point(f, pg, &s->points[k], m, v, time_x(pg, s->points[k].last_ns, x0, w),
			      y0 + PANEL_H - PANEL_H * (v / unit) / top);
	fputs("</g>\n", f);
}

static void chart(FILE *f, const struct rp_page *pg, const struct rp_series *s)
{
	double h = 3 * (PANEL_H + PANEL_GAP) + AXIS_H;

	fputs("<figure class=\"series\" data-src=\"", f);
	addr(f, &s->src);
	fputs("\" data-dst=\"", f);
	addr(f, &s->dst);
	fprintf(f, "\" data-points=\"%zu\" data-windows-per-point=\"%zu\"><figcaption>", s->n_points,
		s->per_point);
	addr(f, &s->src);
	fputs(" \xe2\x86\x92 ", f);
	addr(f, &s->dst);
	fprintf(f, "</figcaption>\n<svg width=\"%d\" height=\"%.0f\" role=\"img\" "
		   "aria-label=\"loss, delay and jitter over time\">\n", CHART_W, h);
	for (int m = M_LOSS; m <= M_JITTER; m++)
		panel(f, pg, s, (enum metric)m, PANEL_GAP - 8 + m * (PANEL_H + PANEL_GAP));
	fprintf(f, "<text x=\"40\" y=\"%.0f\">", h - 6);
	when(f, pg, pg->since_ns);
	fprintf(f, "</text><text x=\"%d\" y=\"%.0f\" text-anchor=\"end\">", CHART_W - 10, h - 6);
	when(f, pg, pg->until_ns);
	fputs("</text>\n", f);
	fputs("</svg></figure>\n", f);
}

static void charts(FILE *f, const struct rp_page *pg, const struct rp_pairs *p)
{
	size_t *order = NULL, n = rp_pairs_pick(p, RP_MAX_SERIES, &order);

	fputs("<h3>Per pair, window by window</h3>\n", f);
	if (n < p->n_series)
		fprintf(f, "<p class=\"note\">The %zu pairs of the highest loss (then delay) of "
			   "%zu; every pair is in the heat map above.</p>\n", n, p->n_series);
	for (size_t k = 0; k < n && p->series[order[k]].per_point > 1; k++) {
		fprintf(f, "<p class=\"note\">More windows than %d a pair: a point sums "
			   "consecutive windows as the heat map does (data-windows says how "
			   "many).</p>\n", RP_MAX_POINTS);
		break;
	}
	fputs("<div class=\"charts\">\n", f);
	for (size_t k = 0; k < n; k++)
		chart(f, pg, &p->series[order[k]]);
	fputs("</div>\n", f);
	free(order);
}

/* ---- the page ---- */

static void section(FILE *f, const struct rp_page *pg, const struct rp_section *s)
{
	bool empty = s->tl.changes == 0 && s->pairs.windows == 0;

	fputs("<section class=\"monitor\" data-monitor=\"", f);
	html_text(f, s->monitor);
	fprintf(f, "\" data-vpn-index=\"%" PRIu32 "\" data-empty=\"%s\" data-pe-changes=\"%zu\" "
		   "data-windows=\"%zu\">\n<h2>Monitor ", s->vpn_index, empty ? "true" : "false",
		s->tl.changes, s->pairs.windows);
	html_text(f, s->monitor);
	fprintf(f, ", VPN index %" PRIu32 "</h2>\n", s->vpn_index);
	if (empty)
		fputs("<p class=\"empty\">Nothing was recorded for this VPN in the period: no PE "
		      "change and no probe window.  The PEs below kept the status they had at "
		      "its start.</p>\n", f);
	timeline(f, pg, s);
	if (s->pairs.windows) {
		heat_map(f, &s->pairs);
		charts(f, pg, &s->pairs);
	} else {
		fputs("<h3>Pairs</h3>\n<p class=\"note\">No probe window in the period.</p>\n", f);
	}
	fputs("</section>\n", f);
}

int report_html(FILE *f, const struct rp_page *pg)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<title>mvpnmon report: VPN ", f);
	html_text(f, pg->vpn);
	fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body data-vpn=\"", CSS);
	html_text(f, pg->vpn);
	fprintf(f, "\" data-since-ns=\"%" PRIu64 "\" data-until-ns=\"%" PRIu64 "\">\n<h1>VPN ",
		pg->since_ns, pg->until_ns);
	html_text(f, pg->sections[0].vpn_name[0] ? pg->sections[0].vpn_name : pg->vpn);
	fputs("</h1>\n<p>From <time>", f);
	when(f, pg, pg->since_ns);
	fputs("</time> to <time>", f);
	when(f, pg, pg->until_ns);
	fputs("</time>.  Made by mvpnmon " MVPN_VERSION " at ", f);
	when(f, pg, pg->made_ns);
	fputs(" from the history store.</p>\n", f);
	for (size_t i = 0; i < pg->n; i++)
		section(f, pg, &pg->sections[i]);
	fputs("</body>\n</html>\n", f);
	return ferror(f) ? -1 : 0;
}
