/* UTF-8 as the client reads it from the store: validated, never trusted. */
#ifndef MVPN_CLIENT_UTF8_H
#define MVPN_CLIENT_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* The length (1-4) of the well-formed UTF-8 sequence at s, with its code point
 * in *cp; 0 for a byte that does not start one (a stray continuation byte, an
 * overlong form, a surrogate, beyond U+10FFFF, cut short by the end). */
size_t utf8_next(const char *s, uint32_t *cp);

/* The columns a code point takes on a terminal: 0 (combining marks,
 * zero-width), 2 (East Asian wide, emoji), otherwise 1. */
int utf8_width(uint32_t cp);

#endif
