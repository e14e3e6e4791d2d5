#include "config_text.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../mib/log.h"

/* Sections nest two deep in the schema (vpn, then probe or thresholds); the
 * limit keeps a hostile file from recursing without bound. */
#define MAX_DEPTH 8

/* ---- the arena: every item, value and string of one tree ---- */

struct block {
	struct block *next;
	size_t used, size;
	_Alignas(max_align_t) unsigned char data[];
};

struct conf_tree {
	struct block *blocks;
	size_t next_size; /* the next block's size: doubling keeps the count of blocks small */
	struct conf_item *items;
};

static void *arena_alloc(struct conf_tree *t, size_t n)
{
	const size_t align = _Alignof(max_align_t);
	struct block *b = t->blocks;

	n = (n + align - 1) & ~(align - 1);
	if (!b || b->size - b->used < n) {
		size_t size = n > t->next_size ? n : t->next_size;
		b = malloc(sizeof(*b) + size);
		if (!b)
			return NULL;
		b->size = size;
		b->used = 0;
		b->next = t->blocks;
		t->blocks = b;
		if (t->next_size < (8u << 20))
			t->next_size *= 2;
	}
	b->used += n;
	return b->data + b->used - n;
}

void conf_free(struct conf_tree *t)
{
	if (!t)
		return;
	for (struct block *b = t->blocks, *next; b; b = next) {
		next = b->next;
		free(b);
	}
	free(t);
}

const struct conf_item *conf_items(const struct conf_tree *t)
{
	return t->items;
}

/* ---- UTF-8 (RFC 3629 section 4) ---- */

/* Length of the sequence starting at p (at most left bytes), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *p, size_t left)
{
	unsigned c = p[0];
	size_t n = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
		   : c >= 0xf0 && c <= 0xf4 ? 4 : 0;

	if (n == 0 || n > left)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	/* Overlong three- and four-byte forms, surrogates, above U+10FFFF. */
	if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f) ||
	    (c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f))
		return 0;
	return n;
}

bool conf_utf8_valid(const char *p, size_t len, size_t *chars)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t n = 0;

	for (size_t i = 0; i < len; n++) {
		size_t k = utf8_seq(u + i, len - i);
		if (k == 0)
			return false;
		i += k;
	}
	*chars = n;
	return true;
}

/* ---- the lexer ---- */

enum tok { T_EOF, T_WORD, T_LBRACE, T_RBRACE, T_EQ, T_COMMA, T_ERR };

struct parser {
	const char *name; /* the file, in messages */
	const char *p, *end;
	int line;
	struct conf_tree *tree;
	bool failed;
	/* the current token */
	enum tok tok;
	int tok_line;
	struct conf_value *val; /* T_WORD: its text, in the arena */
};

static void fail(struct parser *ps, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The first error is the one reported; parsing stops there. */
static void fail(struct parser *ps, int line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (ps->failed)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mvpn_log(LOG_ERR, "%s:%d: %s", ps->name, line, msg);
	ps->failed = true;
	ps->tok = T_ERR;
}

static bool is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static bool ends_word(const char *p, const char *end)
{
	unsigned char c = (unsigned char)*p;

	if (c == ' ' || is_control(c) || strchr("{}=,\"'#", c))
		return true;
	return c == '/' && p + 1 < end && (p[1] == '/' || p[1] == '*');
}

static struct conf_value *new_value(struct parser *ps, size_t len)
{
	struct conf_value *v = arena_alloc(ps->tree, sizeof(*v) + len + 1);

	if (!v) {
		fail(ps, ps->line, "out of memory");
		return NULL;
	}
	memset(v, 0, sizeof(*v));
	v->text = (char *)(v + 1);
	v->len = len;
	v->line = ps->line;
	return v;
}

static bool utf8_or_fail(struct parser *ps, const struct conf_value *v)
{
	size_t chars;

	if (conf_utf8_valid(v->text, v->len, &chars))
		return true;
	fail(ps, v->line, "\"%.*s\" is not valid UTF-8", (int)v->len, v->text);
	return false;
}

static void lex_word(struct parser *ps)
{
	const char *start = ps->p;

	while (ps->p < ps->end && !ends_word(ps->p, ps->end))
		ps->p++;
	ps->val = new_value(ps, (size_t)(ps->p - start));
	if (!ps->val)
		return;
	memcpy((char *)ps->val->text, start, ps->val->len);
	((char *)ps->val->text)[ps->val->len] = '\0';
	if (utf8_or_fail(ps, ps->val))
		ps->tok = T_WORD;
}

/*
 * A quoted string ends on its own line (a missing quote is named where it is
 * missing, not lines later) and knows three escapes: a string that could hold
 * a newline or a NUL through \n or \x00 would hold it in a VPN's name, too.
 */
static size_t string_length(struct parser *ps, char quote)
{
	size_t n = 0;

	for (const char *q = ps->p + 1;; q++, n++) {
		if (q == ps->end || *q == '\n') {
			fail(ps, ps->line, "string not closed: no %c before the end of the line", quote);
			return 0;
		}
		if (*q == quote)
			return n;
		if (*q == '\\') {
			if (q + 1 == ps->end || !strchr("\\\"'", q[1])) {
				fail(ps, ps->line, "unknown escape \\%c in a string: only \\\\, \\\" and "
				     "\\' are escapes", q + 1 < ps->end && !is_control((unsigned char)q[1])
				     ? q[1] : '?');
				return 0;
			}
			q++;
		} else if (is_control((unsigned char)*q)) {
			fail(ps, ps->line, "control character 0x%02x in a string", (unsigned char)*q);
			return 0;
		}
	}
}

static void lex_string(struct parser *ps)
{
	char quote = *ps->p, *out;
	size_t n = string_length(ps, quote);

	if (ps->failed || !(ps->val = new_value(ps, n)))
		return;
	out = (char *)ps->val->text;
	for (ps->p++; *ps->p != quote; ps->p++) {
		if (*ps->p == '\\')
			ps->p++;
		*out++ = *ps->p;
	}
	*out = '\0';
	ps->p++;
	if (utf8_or_fail(ps, ps->val))
		ps->tok = T_WORD;
}

/* Skips a comment that starts at ps->p; false once it fails. */
static bool skip_comment(struct parser *ps)
{
	if (ps->p[0] != '/' || ps->p[1] != '*') { /* # or //: to the end of the line */
		const char *nl = memchr(ps->p, '\n', (size_t)(ps->end - ps->p));
		ps->p = nl ? nl : ps->end;
		return true;
	}
	/* The end is looked for after the opening pair: slash, star, slash is
	 * still an open comment, as in C. */
	for (const char *q = ps->p + 2; q + 1 < ps->end; q++) {
		if (q[0] == '*' && q[1] == '/') {
			for (const char *c = ps->p; c < q; c++)
				ps->line += *c == '\n';
			ps->p = q + 2;
			return true;
		}
	}
	fail(ps, ps->line, "comment opened here is never closed: no */ before the end of the file");
	return false;
}

static bool comment_starts(const struct parser *ps)
{
	return *ps->p == '#' ||
	       (*ps->p == '/' && ps->p + 1 < ps->end && (ps->p[1] == '/' || ps->p[1] == '*'));
}

static void next_token(struct parser *ps)
{
	static const char symbols[] = "{}=,";
	static const enum tok symbol_toks[] = {T_LBRACE, T_RBRACE, T_EQ, T_COMMA};

	if (ps->failed)
		return;
	while (ps->p < ps->end) {
		unsigned char c = (unsigned char)*ps->p;
		if (c == '\n')
			ps->line++;
		if (c == '\n' || c == ' ' || c == '\t' || c == '\r')
			ps->p++;
		else if (!comment_starts(ps))
			break;
		else if (!skip_comment(ps))
			return;
	}
	ps->tok_line = ps->line;
	ps->tok = T_ERR;
	if (ps->p == ps->end) {
		ps->tok = T_EOF;
	} else if (*ps->p && strchr(symbols, *ps->p)) {
		ps->tok = symbol_toks[strchr(symbols, *ps->p) - symbols];
		ps->p++;
	} else if (*ps->p == '"' || *ps->p == '\'') {
		lex_string(ps);
	} else if (is_control((unsigned char)*ps->p)) {
		fail(ps, ps->line, "control character 0x%02x", (unsigned char)*ps->p);
	} else {
		lex_word(ps);
	}
}

/* ---- the parser ---- */

/* What the current token is, for a message. */
static const char *tok_text(const struct parser *ps)
{
	switch (ps->tok) {
	case T_EOF: return "the end of the file";
	case T_WORD: return ps->val->text;
	case T_LBRACE: return "{";
	case T_RBRACE: return "}";
	case T_EQ: return "=";
	case T_COMMA: return ",";
	default: return "?";
	}
}

/* After `name = {`: values separated by commas, up to the closing brace. */
static void parse_list(struct parser *ps, struct conf_item *it)
{
	struct conf_value **tail = &it->values;
	bool want_value = true;

	it->list = true;
	for (;;) {
		next_token(ps);
		if (ps->tok == T_RBRACE)
			return;
		if (ps->tok == T_WORD && want_value) {
			*tail = ps->val;
			tail = &ps->val->next;
			it->n_values++;
			want_value = false;
		} else if (ps->tok == T_COMMA && !want_value) {
			want_value = true;
		} else if (ps->tok == T_EOF) {
			fail(ps, it->line, "the list of %s is not closed: no } before the end of the file",
			     it->name);
			return;
		} else {
			fail(ps, ps->tok_line, "%s: expected %s in the list, not '%s'", it->name,
			     want_value ? "a value or }" : ", or }", tok_text(ps));
			return;
		}
	}
}

static void parse_option(struct parser *ps, struct conf_item *it)
{
	next_token(ps);
	if (ps->tok == T_LBRACE) {
		parse_list(ps, it);
	} else if (ps->tok == T_WORD) {
		it->values = ps->val;
		it->n_values = 1;
	} else {
		fail(ps, it->line, "expected a value after %s =, not '%s'", it->name, tok_text(ps));
	}
}

static struct conf_item *parse_items(struct parser *ps, const struct conf_item *parent, int depth);

static void parse_section(struct parser *ps, struct conf_item *it, int depth)
{
	it->section = true;
	if (ps->tok == T_WORD) {
		it->title = ps->val;
		next_token(ps);
		if (ps->tok != T_LBRACE) {
			fail(ps, it->line, "expected { after %s \"%s\", not '%s'", it->name,
			     it->title->text, tok_text(ps));
			return;
		}
	}
	if (depth >= MAX_DEPTH) {
		fail(ps, it->line, "sections nested more than %d deep", MAX_DEPTH);
		return;
	}
	it->items = parse_items(ps, it, depth + 1);
}

static void describe_section(const struct conf_item *it, char *buf, size_t size)
{
	if (it->title)
		snprintf(buf, size, "%s \"%s\"", it->name, it->title->text);
	else
		snprintf(buf, size, "%s", it->name);
}

/* The end of a section (its }), or of the file at depth 0. */
static bool at_end(struct parser *ps, const struct conf_item *parent)
{
	char what[128];

	if (ps->tok == T_RBRACE && !parent)
		fail(ps, ps->tok_line, "unexpected closing brace");
	if (ps->tok == T_EOF && parent) {
		describe_section(parent, what, sizeof(what));
		fail(ps, parent->line, "%s is not closed: no } before the end of the file", what);
	}
	return ps->failed || ps->tok == (parent ? T_RBRACE : T_EOF);
}

static struct conf_item *parse_items(struct parser *ps, const struct conf_item *parent, int depth)
{
	struct conf_item *head = NULL, **tail = &head;

	for (next_token(ps); !at_end(ps, parent); next_token(ps)) {
		struct conf_item *it;

		if (ps->tok != T_WORD) {
			fail(ps, ps->tok_line, "expected an option or a section, not '%s'", tok_text(ps));
			break;
		}
		it = arena_alloc(ps->tree, sizeof(*it));
		if (!it) {
			fail(ps, ps->tok_line, "out of memory");
			break;
		}
		memset(it, 0, sizeof(*it));
		it->name = ps->val->text;
		it->line = ps->tok_line;
		next_token(ps);
		if (ps->tok == T_EQ)
			parse_option(ps, it);
		else if (ps->tok == T_LBRACE || ps->tok == T_WORD)
			parse_section(ps, it, depth);
		else
			fail(ps, it->line, "expected = or { after %s, not '%s'", it->name,
			     tok_text(ps));
		*tail = it;
		tail = &it->next;
	}
	return head;
}

struct conf_tree *conf_parse(const char *name, const char *text, size_t len)
{
	struct parser ps = {.name = name, .p = text, .end = text + len, .line = 1};

	ps.tree = calloc(1, sizeof(*ps.tree));
	if (!ps.tree) {
		mvpn_log(LOG_ERR, "%s: out of memory", name);
		return NULL;
	}
	/* About the size of the tree a file of len bytes makes, in few blocks. */
	ps.tree->next_size = len < 4096 ? 4096 : len;
	ps.tree->items = parse_items(&ps, NULL, 0);
	if (ps.failed) {
		conf_free(ps.tree);
		return NULL;
	}
	return ps.tree;
}
