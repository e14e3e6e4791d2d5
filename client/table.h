/*
 * Aligned text tables, as the client prints every table (history now, the
 * live SNMP tables later): a header, then one line per row, columns two
 * spaces apart, numbers right-aligned, no trailing blanks.
 *
 * Cells are made safe for a terminal as they are added: UTF-8 is kept and
 * measured in columns (a wide character takes two), while control characters
 * and bytes that are not UTF-8 are shown escaped ("\x1b"), so that a name
 * from the store can never move the cursor or change colours.  An empty cell
 * shows as "-".
 */
#ifndef MVPN_CLIENT_TABLE_H
#define MVPN_CLIENT_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum table_align { TABLE_LEFT, TABLE_RIGHT };

struct table_column {
	const char *title; /* not copied: a string that outlives the table */
	enum table_align align;
};

struct table;

/* NULL when out of memory. */
struct table *table_new(const struct table_column *cols, size_t ncols);
void table_free(struct table *t);

/* The next cell, filling rows left to right. */
void table_cell(struct table *t, const char *text);
void table_cellf(struct table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
size_t table_rows(const struct table *t);

/* Prints header and rows; a row left incomplete is completed with "-".
 * Returns 0, or -1 when out of memory earlier or when out fails. */
int table_print(const struct table *t, FILE *out);

/* What a cell becomes on a terminal (escaped as above), in a new string, and
 * its width in columns; NULL when out of memory. */
char *table_cell_text(const char *text, size_t *width);

#endif
