#include "json.h"

#include <math.h>
#include <string.h>

#include "timearg.h"
#include "utf8.h"

void json_init(struct json *j, FILE *out)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
}

static void indent(struct json *j)
{
	fputc('\n', j->out);
	for (int i = 0; i < j->depth; i++)
		fputs("  ", j->out);
}

/* Before any value or key: the comma and the line it goes on. */
static void item(struct json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->depth == 0)
		return;
	if (j->has_items[j->depth])
		fputc(',', j->out);
	j->has_items[j->depth] = true;
	indent(j);
}

static void nest_open(struct json *j, char c)
{
	item(j);
	fputc(c, j->out);
	if (j->depth + 1 < JSON_MAX_DEPTH)
		j->depth++;
	j->has_items[j->depth] = false;
}

static void nest_close(struct json *j, char c)
{
	bool had = j->has_items[j->depth];

	if (j->depth > 0)
		j->depth--;
	if (had)
		indent(j);
	fputc(c, j->out);
}

void json_object_begin(struct json *j) { nest_open(j, '{'); }
void json_object_end(struct json *j) { nest_close(j, '}'); }
void json_array_begin(struct json *j) { nest_open(j, '['); }
void json_array_end(struct json *j) { nest_close(j, ']'); }

void json_write_string(FILE *out, const char *s)
{
	fputc('"', out);
	while (*s) {
		uint32_t cp;
		size_t n = utf8_next(s, &cp);

		if (n == 0) {
			fputs("\\ufffd", out);
			s++;
			continue;
		}
		switch (cp) {
		case '"': fputs("\\\"", out); break;
		case '\\': fputs("\\\\", out); break;
		case '\n': fputs("\\n", out); break;
		case '\r': fputs("\\r", out); break;
		case '\t': fputs("\\t", out); break;
		case '\b': fputs("\\b", out); break;
		case '\f': fputs("\\f", out); break;
		default:
			if (cp < 0x20 || cp == 0x7f || cp == 0x2028 || cp == 0x2029)
				fprintf(out, "\\u%04x", (unsigned)cp);
			else
				fwrite(s, 1, n, out);
		}
		s += n;
	}
	fputc('"', out);
}

void json_key(struct json *j, const char *key)
{
	item(j);
	json_write_string(j->out, key);
	fputs(": ", j->out);
	j->after_key = true;
}

void json_string(struct json *j, const char *s)
{
	item(j);
	json_write_string(j->out, s);
}

void json_uint(struct json *j, uint64_t v)
{
	item(j);
	fprintf(j->out, "%llu", (unsigned long long)v);
}

void json_int(struct json *j, int64_t v)
{
	item(j);
	fprintf(j->out, "%lld", (long long)v);
}

void json_double(struct json *j, double v, int decimals)
{
	char buf[64];
	char *end;

	if (!isfinite(v)) {
		json_null(j);
		return;
	}
	snprintf(buf, sizeof(buf), "%.*f", decimals, v);
	/* "1.500" -> "1.5", "2.000" -> "2": the same number, as a reader expects. */
	if (strchr(buf, '.')) {
		end = buf + strlen(buf) - 1;
		while (*end == '0')
			*end-- = '\0';
		if (*end == '.')
			*end = '\0';
	}
	if (strcmp(buf, "-0") == 0)
		strcpy(buf, "0");
	item(j);
	fputs(buf, j->out);
}

void json_bool(struct json *j, bool v)
{
	item(j);
	fputs(v ? "true" : "false", j->out);
}

void json_null(struct json *j)
{
	item(j);
	fputs("null", j->out);
}

void json_addr(struct json *j, const struct inet_addr *a)
{
	char buf[INET_ADDR_STRLEN];

	if (a->type == INET_UNKNOWN)
		json_null(j);
	else
		json_string(j, inet_addr_format(a, buf));
}

void json_time(struct json *j, const char *key, uint64_t ns)
{
	char buf[64], nskey[64];

	timearg_rfc3339(ns, buf, sizeof(buf));
	json_key(j, key);
	json_string(j, buf);
	snprintf(nskey, sizeof(nskey), "%s_ns", key);
	json_key(j, nskey);
	json_uint(j, ns);
}

void json_time_range(struct json *j, uint64_t since_ns, uint64_t until_ns)
{
	json_time(j, "since", since_ns);
	if (until_ns != UINT64_MAX) {
		json_time(j, "until", until_ns);
		return;
	}
	json_key(j, "until"); /* no end */
	json_null(j);
	json_key(j, "until_ns");
	json_null(j);
}

int json_finish(struct json *j)
{
	fputc('\n', j->out);
	return ferror(j->out) || fflush(j->out) ? -1 : 0;
}
