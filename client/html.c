#include "html.h"

#include <stdarg.h>
#include <stdint.h>

#include "utf8.h"

void html_text(FILE *out, const char *s)
{
	while (*s) {
		uint32_t cp;
		size_t n = utf8_next(s, &cp);

		if (n == 0 || (cp < 0x20 && cp != '\t' && cp != '\n') || cp == 0x7f) {
			fputs("\xef\xbf\xbd", out); /* U+FFFD */
			s += n ? n : 1;
			continue;
		}
		switch (cp) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&#39;", out); break;
		default: fwrite(s, 1, n, out);
		}
		s += n;
	}
}

void html_textf(FILE *out, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	int len = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	if ((size_t)len >= sizeof(buf)) {
		/* Cut: drop a character the cut split (its lead byte and what follows). */
		size_t end = sizeof(buf) - 1;
		while (end > 0 && ((unsigned char)buf[end - 1] & 0xc0) == 0x80)
			end--;
		if (end > 0 && (unsigned char)buf[end - 1] >= 0xc0)
			end--;
		buf[end] = '\0';
	}
	html_text(out, buf);
}
