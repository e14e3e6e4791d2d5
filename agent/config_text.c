#include "config_text.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Copies a quoted string starting at text[i] (the quote); returns the index after it. */
static size_t copy_quoted(const char *text, size_t len, size_t i, char *out)
{
	char quote = text[i];

	out[i] = text[i];
	for (i++; i < len; i++) {
		out[i] = text[i];
		if (text[i] == '\\' && i + 1 < len) {
			i++;
			out[i] = text[i];
		} else if (text[i] == quote) {
			return i + 1;
		}
	}
	return i;
}

static size_t blank_until(const char *text, size_t len, size_t i, const char *stop, char *out)
{
	size_t stop_len = strlen(stop);

	for (; i < len; i++) {
		/* text need not be NUL-terminated: compare only what is there. */
		if (stop[0] != '\n' && len - i >= stop_len && memcmp(text + i, stop, stop_len) == 0) {
			memset(out + i, ' ', stop_len);
			return i + stop_len;
		}
		if (text[i] == '\n' && stop[0] == '\n')
			return i; /* the newline itself is kept by the caller */
		out[i] = text[i] == '\n' ? '\n' : ' ';
	}
	return i;
}

char *config_text_strip(const char *text, size_t len)
{
	char *out = malloc(len + 1);
	size_t i = 0;

	if (!out)
		return NULL;
	while (i < len) {
		if (text[i] == '"' || text[i] == '\'') {
			i = copy_quoted(text, len, i, out);
		} else if (text[i] == '#' || (text[i] == '/' && i + 1 < len && text[i + 1] == '/')) {
			i = blank_until(text, len, i, "\n", out);
		} else if (text[i] == '/' && i + 1 < len && text[i + 1] == '*') {
			/* The end is looked for after the opening pair: slash, star,
			 * slash is still an open comment. */
			out[i] = out[i + 1] = ' ';
			i = blank_until(text, len, i + 2, "*/", out);
		} else {
			out[i] = text[i];
			i++;
		}
	}
	out[len] = '\0';
	return out;
}

static int line_at(const char *text, const char *pos)
{
	int line = 1;

	for (const char *p = text; p < pos; p++)
		if (*p == '\n')
			line++;
	return line;
}

static bool word_at(const char *text, const char *p, const char *word)
{
	size_t n = strlen(word);

	if (strncmp(p, word, n) != 0)
		return false;
	if (p > text && (isalnum((unsigned char)p[-1]) || p[-1] == '-' || p[-1] == '_'))
		return false;
	return !(isalnum((unsigned char)p[n]) || p[n] == '-' || p[n] == '_');
}

static const char *skip_space(const char *p)
{
	while (isspace((unsigned char)*p))
		p++;
	return p;
}

/* The '{' that opens section `kind "title"`, or NULL. */
static const char *section_open(const char *text, const char *kind, const char *title)
{
	size_t tlen = strlen(title);

	for (const char *p = strstr(text, kind); p; p = strstr(p + 1, kind)) {
		if (!word_at(text, p, kind))
			continue;
		const char *q = skip_space(p + strlen(kind));
		bool quoted = *q == '"' || *q == '\'';
		if (quoted)
			q++;
		if (strncmp(q, title, tlen) != 0)
			continue;
		q += tlen;
		if (quoted)
			q++;
		else if (!isspace((unsigned char)*q) && *q != '{')
			continue;
		q = skip_space(q);
		if (*q == '{')
			return q;
	}
	return NULL;
}

int config_text_section_line(const char *stripped, const char *kind, const char *title)
{
	const char *open = section_open(stripped, kind, title);

	return open ? line_at(stripped, open) : 0;
}

/* Skips a quoted string starting at p; returns its closing quote (or the end). */
static const char *skip_quoted(const char *p)
{
	char quote = *p;

	for (p++; *p && *p != quote; p++)
		if (*p == '\\' && p[1])
			p++;
	return p;
}

/*
 * Walks the section that opens at `open` (at depth 1 inside it; open ==
 * stripped means the whole file).  With sub NULL, finds `option =` at depth 1;
 * otherwise inside the subsection `sub {` at depth 1, at depth 2.  Returns
 * the option's line; else the subsection's; else 0.
 */
static int find_option(const char *stripped, const char *open, int depth, const char *sub,
		       const char *option)
{
	const char *sub_at = NULL;
	bool in_sub = false;

	for (const char *p = open; *p; p++) {
		if (*p == '"' || *p == '\'') {
			p = skip_quoted(p);
			if (!*p)
				break;
		} else if (*p == '{') {
			depth++;
		} else if (*p == '}') {
			if (--depth == 0)
				break;
			if (depth == 1)
				in_sub = false;
		} else if (sub && depth == 1 && word_at(stripped, p, sub) &&
			   *skip_space(p + strlen(sub)) == '{') {
			in_sub = true;
			sub_at = p;
		} else if (depth == (sub ? 2 : 1) && (!sub || in_sub) &&
			   word_at(stripped, p, option) && *skip_space(p + strlen(option)) == '=') {
			return line_at(stripped, p);
		}
	}
	return sub_at ? line_at(stripped, sub_at) : 0;
}

int config_text_option_line(const char *stripped, const char *kind, const char *title,
			    const char *option)
{
	/* kind == NULL: a top-level option, as if the whole file were one section. */
	const char *open = kind ? section_open(stripped, kind, title) : stripped;
	int line;

	if (!open)
		return 0;
	line = find_option(stripped, open, kind ? 0 : 1, NULL, option);
	return line ? line : line_at(stripped, open);
}

int config_text_sub_option_line(const char *stripped, const char *kind, const char *title,
				const char *sub, const char *option)
{
	const char *open = kind ? section_open(stripped, kind, title) : stripped;
	int line;

	if (!open)
		return 0;
	line = find_option(stripped, open, kind ? 0 : 1, sub, option);
	return line ? line : line_at(stripped, open);
}
