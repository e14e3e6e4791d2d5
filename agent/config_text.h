/*
 * The configuration file's syntax: one lexer that knows its own line numbers,
 * and the tree of options and sections it reads, every item and value with
 * the line it stands on.  config.c gives the tree its meaning.
 *
 *   file    := item*
 *   item    := NAME '=' value | NAME '=' '{' [value {',' value} [',']] '}'
 *            | NAME [value] '{' item* '}'          (a section, titled or not)
 *   value   := a "double" or 'single' quoted string, on one line, with the
 *              escapes \\ \" \' only; or a bare word
 *   comment := # or // to the end of the line, or C's slash-star ... star-slash
 *
 * A file is read whole or refused whole: an unclosed comment, string or
 * section, a control character, invalid UTF-8 or any other escape is an error
 * that names its line.  One pass, no globals, one arena: the tree is freed at
 * once, and parsing may run on any thread.
 */
#ifndef MVPN_CONFIG_TEXT_H
#define MVPN_CONFIG_TEXT_H

#include <stdbool.h>
#include <stddef.h>

struct conf_value {
	const char *text; /* NUL-terminated, escapes resolved */
	size_t len;       /* bytes, without the NUL */
	int line;
	struct conf_value *next;
};

struct conf_item {
	const char *name;
	int line;
	bool section;
	bool list;                 /* an option written name = { ... } */
	const struct conf_value *title;   /* a section's title; NULL if untitled */
	struct conf_value *values; /* an option's value, or its list's in order */
	size_t n_values;
	struct conf_item *items;   /* a section's contents, in order */
	struct conf_item *next;
};

struct conf_tree;

/* Parses len bytes of text (not necessarily NUL-terminated).  On an error,
 * says "name:line: what" through mvpn_log and returns NULL. */
struct conf_tree *conf_parse(const char *name, const char *text, size_t len);
/* The file's top-level items, in order. */
const struct conf_item *conf_items(const struct conf_tree *t);
void conf_free(struct conf_tree *t);

/* Is p[0..len) valid UTF-8 (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF)?  If so, *chars is the number of characters. */
bool conf_utf8_valid(const char *p, size_t len, size_t *chars);

#endif
