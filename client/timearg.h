/*
 * Times on the client's command line and in its output.
 *
 * A TIME is absolute ("2026-12-01 03:00", "2026-12-01 03:00:15.25",
 * "2026-12-01T03:00:00Z", "2026-12-01 04:00+01:00", "@1764558000") or relative
 * to now ("now", "-2h", "-30m", "-90s", "-1d", "-1w").  An absolute time
 * without a zone is local time (TZ): one that a daylight-saving change skips or
 * repeats is refused, naming the offsets that would make it exact.
 * Times are nanoseconds since the Unix epoch, as the history store keeps them.
 */
#ifndef MVPN_CLIENT_TIMEARG_H
#define MVPN_CLIENT_TIMEARG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NS_PER_SEC 1000000000ULL

/* The wall clock now, in ns. */
uint64_t timearg_now(void);

/* Parses a TIME.  Returns 0 with *out set, or -1 with the reason in err. */
int timearg_parse(const char *text, uint64_t now_ns, uint64_t *out, char *err, size_t errlen);

/* For a table: "2026-12-01 03:00:15.123 CET" in local time, or
 * "2026-12-01 02:00:15.123 UTC" with utc.  Milliseconds, cut, not rounded. */
#define TIMEARG_TEXT_MAX 48
void timearg_format(uint64_t ns, bool utc, char *buf, size_t size);

/* For JSON: RFC 3339 in UTC, "2026-12-01T02:00:15Z", with as many groups of
 * three fraction digits as the nanoseconds need ("...15.000250Z"). */
void timearg_rfc3339(uint64_t ns, char *buf, size_t size);

#endif
