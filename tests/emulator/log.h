/* The JSON-lines log: one object a line, "t" first (CLOCK_REALTIME seconds
 * with nanosecond digits), then "ev".  Written through stdio; the event loop
 * flushes it every 100 ms and at exit. */
#ifndef EMU_LOG_H
#define EMU_LOG_H

#include <stdint.h>
#include <stdio.h>

struct log {
	FILE *f;
	int need_comma;
};

int log_open(struct log *l, const char *path);
void log_close(struct log *l);
void log_flush(struct log *l);

/* An event: log_begin, any number of fields, log_end. */
void log_begin(struct log *l, const char *ev);
void log_end(struct log *l);

void log_key(struct log *l, const char *key);
void log_str(struct log *l, const char *key, const char *value);
void log_addr(struct log *l, const char *key, uint32_t addr);
void log_null(struct log *l, const char *key);
void log_u64(struct log *l, const char *key, uint64_t value);
void log_bool(struct log *l, const char *key, int value);
/* Nanoseconds as microseconds with three decimals. */
void log_us(struct log *l, const char *key, int64_t ns);
/* A packet fingerprint: "id":"<16 hex digits>". */
void log_id(struct log *l, uint64_t id);

/* Nested values (after log_key, or as array elements). */
void log_value_addr(struct log *l, uint32_t addr);
void log_open_object(struct log *l);
void log_close_object(struct log *l);
void log_open_array(struct log *l);
void log_close_array(struct log *l);

#endif
