#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <time.h>

#include "log.h"

int log_open(struct log *l, const char *path)
{
	l->f = fopen(path, "w");
	l->need_comma = 0;
	return l->f ? 0 : -1;
}

void log_close(struct log *l)
{
	if (l->f)
		fclose(l->f);
	l->f = NULL;
}

void log_flush(struct log *l)
{
	fflush(l->f);
}

static void separate(struct log *l)
{
	if (l->need_comma)
		fputc(',', l->f);
	l->need_comma = 1;
}

static void put_string(struct log *l, const char *s)
{
	fputc('"', l->f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(l->f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(l->f, "\\u%04x", ch);
		else
			fputc(ch, l->f);
	}
	fputc('"', l->f);
}

void log_begin(struct log *l, const char *ev)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	fprintf(l->f, "{\"t\":%lld.%09ld", (long long)now.tv_sec, now.tv_nsec);
	l->need_comma = 1;
	log_str(l, "ev", ev);
}

void log_end(struct log *l)
{
	fputs("}\n", l->f);
	l->need_comma = 0;
}

void log_key(struct log *l, const char *key)
{
	separate(l);
	put_string(l, key);
	fputc(':', l->f);
	l->need_comma = 0;
}

void log_str(struct log *l, const char *key, const char *value)
{
	log_key(l, key);
	separate(l);
	put_string(l, value);
}

void log_value_addr(struct log *l, uint32_t addr)
{
	char text[INET_ADDRSTRLEN];
	struct in_addr a = { .s_addr = addr };
	separate(l);
	put_string(l, inet_ntop(AF_INET, &a, text, sizeof(text)) ? text : "?");
}

void log_addr(struct log *l, const char *key, uint32_t addr)
{
	log_key(l, key);
	log_value_addr(l, addr);
}

void log_null(struct log *l, const char *key)
{
	log_key(l, key);
	separate(l);
	fputs("null", l->f);
}

void log_u64(struct log *l, const char *key, uint64_t value)
{
	log_key(l, key);
	separate(l);
	fprintf(l->f, "%" PRIu64, value);
}

void log_bool(struct log *l, const char *key, int value)
{
	log_key(l, key);
	separate(l);
	fputs(value ? "true" : "false", l->f);
}

void log_us(struct log *l, const char *key, int64_t ns)
{
	const char *sign = ns < 0 ? "-" : "";
	uint64_t mag = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
	log_key(l, key);
	separate(l);
	fprintf(l->f, "%s%" PRIu64 ".%03" PRIu64, sign, mag / 1000, mag % 1000);
}

void log_id(struct log *l, uint64_t id)
{
	log_key(l, "id");
	separate(l);
	fprintf(l->f, "\"%016" PRIx64 "\"", id);
}

void log_open_object(struct log *l)
{
	separate(l);
	fputc('{', l->f);
	l->need_comma = 0;
}

void log_close_object(struct log *l)
{
	fputc('}', l->f);
	l->need_comma = 1;
}

void log_open_array(struct log *l)
{
	separate(l);
	fputc('[', l->f);
	l->need_comma = 0;
}

void log_close_array(struct log *l)
{
	fputc(']', l->f);
	l->need_comma = 1;
}
