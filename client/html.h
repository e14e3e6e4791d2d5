/*
 * Text into an HTML page and its inline SVG (mvpnmon report): every name
 * taken from the store goes through here.  Escaped: & < > " ' (so the same
 * text is safe between tags and inside a quoted attribute); bytes that are not
 * UTF-8 and control characters but tab and newline become U+FFFD, so a name
 * can neither end an element nor smuggle markup in.
 */
#ifndef MVPN_CLIENT_HTML_H
#define MVPN_CLIENT_HTML_H

#include <stdio.h>

void html_text(FILE *out, const char *s);

/* printf, then the result escaped as html_text does.  Longer than 511 bytes
 * is cut (at a character boundary: the tail is dropped, never half of one). */
void html_textf(FILE *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
