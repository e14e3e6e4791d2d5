/*
 * One JSON document on a stream, written as it is built: the client's
 * --json output.  Commas, nesting and indentation are kept here; strings are
 * escaped here (RFC 8259: quote, backslash and control characters; bytes that
 * are not UTF-8 become U+FFFD, and U+2028/U+2029 are escaped for JavaScript).
 */
#ifndef MVPN_CLIENT_JSON_H
#define MVPN_CLIENT_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../mib/addr.h"

#define JSON_MAX_DEPTH 16

struct json {
	FILE *out;
	int depth;
	bool has_items[JSON_MAX_DEPTH]; /* a comma before the next item */
	bool after_key;
};

void json_init(struct json *j, FILE *out);
void json_object_begin(struct json *j);
void json_object_end(struct json *j);
void json_array_begin(struct json *j);
void json_array_end(struct json *j);
void json_key(struct json *j, const char *key);
void json_string(struct json *j, const char *s);
void json_uint(struct json *j, uint64_t v);
void json_int(struct json *j, int64_t v);
/* A finite number with up to `decimals` digits after the point; null if not finite. */
void json_double(struct json *j, double v, int decimals);
void json_bool(struct json *j, bool v);
void json_null(struct json *j);
/* An address as text ("198.18.0.1", "2001:db8::1"); null when unknown. */
void json_addr(struct json *j, const struct inet_addr *a);
/* A time as two members: "<key>": RFC 3339 UTC text, "<key>_ns": the integer. */
void json_time(struct json *j, const char *key, uint64_t ns);

/* Ends the document with a newline; 0, or -1 if the stream failed. */
/* "since" and "until" (null for UINT64_MAX, no end), each with its _ns twin. */
void json_time_range(struct json *j, uint64_t since_ns, uint64_t until_ns);
int json_finish(struct json *j);

/* Writes s escaped, with its quotes, to out. */
void json_write_string(FILE *out, const char *s);

#endif
