#include "table.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

struct table {
	const struct table_column *cols;
	size_t ncols;
	char **cells; /* row-major, escaped */
	size_t *width;
	size_t n, cap;
	bool oom;
};

struct table *table_new(const struct table_column *cols, size_t ncols)
{
	struct table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->cols = cols;
	t->ncols = ncols;
	return t;
}

void table_free(struct table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->width);
	free(t);
}

char *table_cell_text(const char *text, size_t *width)
{
	size_t len = strlen(text);
	/* An escape is 4 bytes for each byte it replaces, at most. */
	char *out = malloc(len * 4 + 2), *o = out;
	size_t w = 0;

	if (!out)
		return NULL;
	if (len == 0) {
		strcpy(out, "-");
		*width = 1;
		return out;
	}
	for (const char *s = text; *s;) {
		uint32_t cp;
		size_t n = utf8_next(s, &cp);
		if (n == 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
			size_t k = n ? n : 1; /* a C1 control is two bytes */
			for (size_t i = 0; i < k; i++)
				o += sprintf(o, "\\x%02x", (unsigned char)s[i]);
			w += 4 * k;
			s += k;
			continue;
		}
		memcpy(o, s, n);
		o += n;
		s += n;
		w += (size_t)utf8_width(cp);
	}
	*o = '\0';
	*width = w;
	return out;
}

static void add(struct table *t, char *cell, size_t width)
{
	if (!cell) {
		t->oom = true;
		return;
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		char **c = realloc(t->cells, cap * sizeof(*c));
		size_t *w = c ? realloc(t->width, cap * sizeof(*w)) : NULL;
		if (c)
			t->cells = c;
		if (!w) {
			free(cell);
			t->oom = true;
			return;
		}
		t->width = w;
		t->cap = cap;
	}
	t->cells[t->n] = cell;
	t->width[t->n++] = width;
}

void table_cell(struct table *t, const char *text)
{
	size_t w = 0;
	char *cell;

	if (t->oom)
		return;
	cell = table_cell_text(text ? text : "", &w);
	add(t, cell, w);
}

void table_cellf(struct table *t, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	table_cell(t, buf);
}

size_t table_rows(const struct table *t)
{
	return t->ncols ? (t->n + t->ncols - 1) / t->ncols : 0;
}

static size_t title_width(const char *title)
{
	size_t w = 0;
	char *s = table_cell_text(title, &w);

	free(s);
	return w;
}

static void pad(FILE *out, size_t n)
{
	while (n--)
		fputc(' ', out);
}

/* One line; cells NULL for the header.  The last column is never padded. */
static void line(const struct table *t, const size_t *colw, size_t row, FILE *out)
{
	for (size_t c = 0; c < t->ncols; c++) {
		size_t i = row * t->ncols + c;
		const char *text = row == SIZE_MAX ? t->cols[c].title : i < t->n ? t->cells[i] : "-";
		size_t w = row == SIZE_MAX ? title_width(text) : i < t->n ? t->width[i] : 1;
		size_t gap = colw[c] - w;
		bool last = c + 1 == t->ncols;

		if (c)
			fputs("  ", out);
		if (t->cols[c].align == TABLE_RIGHT)
			pad(out, gap);
		fputs(text, out);
		if (t->cols[c].align == TABLE_LEFT && !last)
			pad(out, gap);
	}
	fputc('\n', out);
}

int table_print(const struct table *t, FILE *out)
{
	size_t rows = table_rows(t);
	size_t *colw;

	if (t->oom || !(colw = calloc(t->ncols ? t->ncols : 1, sizeof(*colw))))
		return -1;
	for (size_t c = 0; c < t->ncols; c++)
		colw[c] = title_width(t->cols[c].title);
	for (size_t i = 0; i < t->n; i++)
		if (t->width[i] > colw[i % t->ncols])
			colw[i % t->ncols] = t->width[i];
	line(t, colw, SIZE_MAX, out);
	for (size_t r = 0; r < rows; r++)
		line(t, colw, r, out);
	free(colw);
	return ferror(out) ? -1 : 0;
}
