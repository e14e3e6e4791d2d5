/*
 * Text-level help for config.c.  libconfuse 3.3 miscounts lines after comments
 * and rejects comments inside lists, so comments are blanked out here first
 * (every newline kept, so line numbers stay true), and checks that span
 * sections find the line to blame here.
 */
#ifndef MVPN_CONFIG_TEXT_H
#define MVPN_CONFIG_TEXT_H

#include <stddef.h>

/* A malloc'd copy of text with #, // and C comments replaced by spaces. */
char *config_text_strip(const char *text, size_t len);
/* 1-based line of the header `kind "title" {`, or 0 if not found. */
int config_text_section_line(const char *stripped, const char *kind, const char *title);
/* Line of `option =` directly inside that section (kind NULL: at top level);
 * the section's line if absent. */
int config_text_option_line(const char *stripped, const char *kind, const char *title,
			    const char *option);

/* Line of `option =` inside the untitled subsection `sub { }` of that section
 * (kind NULL: sub at top level); the subsection's line if the option is absent,
 * the section's if the subsection is. */
int config_text_sub_option_line(const char *stripped, const char *kind, const char *title,
				const char *sub, const char *option);

#endif
