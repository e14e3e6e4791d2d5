#include "timearg.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

uint64_t timearg_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* Exactly n decimal digits. */
static bool digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

/* ".d" to ".ddddddddd": the nanoseconds they make. */
static bool fraction(const char **p, uint64_t *ns)
{
	uint64_t scale = NS_PER_SEC / 10;
	const char *s = *p;

	*ns = 0;
	if (*s != '.')
		return true;
	s++;
	if (!isdigit((unsigned char)*s))
		return false;
	for (; isdigit((unsigned char)*s); s++) {
		if (scale == 0)
			return false; /* finer than a nanosecond */
		*ns += (uint64_t)(*s - '0') * scale;
		scale /= 10;
	}
	*p = s;
	return true;
}

static bool leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
	static const int len[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && leap(y) ? 29 : len[m - 1];
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

struct fields {
	int year, mon, day, hour, min, sec;
	uint64_t ns;
	bool has_zone;
	int offset; /* seconds east of UTC, when has_zone */
};

/* "Z", "UTC", "+HH:MM", "+HHMM", "+HH" (or "-"), optionally after one space. */
static bool zone(const char **p, struct fields *f)
{
	const char *s = *p;
	int h, m = 0;

	if (*s == ' ' && s[1])
		s++;
	if (*s == 'Z' || *s == 'z' || strcmp(s, "UTC") == 0) {
		f->has_zone = true;
		f->offset = 0;
		*p = s + (*s == 'U' ? 3 : 1);
		return true;
	}
	if (*s != '+' && *s != '-')
		return false;
	int sign = *s++ == '-' ? -1 : 1;
	if (!digits(&s, 2, &h))
		return false;
	if (*s == ':')
		s++;
	if (isdigit((unsigned char)*s) && !digits(&s, 2, &m))
		return false;
	if (h > 23 || m > 59)
		return false;
	f->has_zone = true;
	f->offset = sign * (h * 3600 + m * 60);
	*p = s;
	return true;
}

static bool absolute_fields(const char *s, struct fields *f)
{
	memset(f, 0, sizeof(*f));
	if (!digits(&s, 4, &f->year) || *s++ != '-' || !digits(&s, 2, &f->mon) || *s++ != '-' ||
	    !digits(&s, 2, &f->day))
		return false;
	if (*s == ' ' || *s == 'T' || *s == 't') {
		s++;
		if (!digits(&s, 2, &f->hour) || *s++ != ':' || !digits(&s, 2, &f->min))
			return false;
		if (*s == ':') {
			s++;
			if (!digits(&s, 2, &f->sec) || !fraction(&s, &f->ns))
				return false;
		}
	}
	if (*s && !zone(&s, f))
		return false;
	return *s == '\0';
}

static const char *fields_error(const struct fields *f)
{
	if (f->mon < 1 || f->mon > 12)
		return "no such month";
	if (f->day < 1 || f->day > days_in_month(f->year, f->mon))
		return "no such day in that month";
	if (f->hour > 23 || f->min > 59 || f->sec > 59)
		return "no such time of day";
	if (f->year < 1970)
		return "before 1970";
	return NULL;
}

static long local_offset(time_t t)
{
	struct tm tm;

	return localtime_r(&t, &tm) ? tm.tm_gmtoff : 0;
}

static void offset_text(long off, char *buf, size_t size)
{
	long a = off < 0 ? -off : off;

	snprintf(buf, size, "%c%02ld:%02ld", off < 0 ? '-' : '+', a / 3600, a / 60 % 60);
}

/*
 * The instant(s) whose local time reads as the fields `u` (in seconds, read
 * as if UTC): at most one daylight-saving change lies within a day of it, so
 * the offsets in force a day before and a day after are the only candidates.
 */
static int local_to_utc(const char *text, int64_t u, int64_t *out, char *err, size_t errlen)
{
	long cand[3] = {local_offset((time_t)(u - 86400)), local_offset((time_t)u),
			local_offset((time_t)(u + 86400))};
	int64_t found[3];
	long found_off[3];
	int n = 0;

	for (int i = 0; i < 3; i++) {
		int64_t t = u - cand[i];
		bool dup = false;
		for (int j = 0; j < n; j++)
			dup |= found[j] == t;
		if (!dup && local_offset((time_t)t) == cand[i]) {
			found[n] = t;
			found_off[n++] = cand[i];
		}
	}
	if (n == 1) {
		*out = found[0];
		return 0;
	}
	char a[48], b[48];
	if (n == 0) {
		offset_text(cand[0], a, sizeof(a));
		offset_text(cand[2], b, sizeof(b));
		snprintf(err, errlen,
			 "\"%s\" does not exist in local time: the clocks skip it (%s to %s); "
			 "give an offset", text, a, b);
		return -1;
	}
	if (found[0] > found[1]) {
		int64_t t = found[0];
		long o = found_off[0];
		found[0] = found[1], found_off[0] = found_off[1];
		found[1] = t, found_off[1] = o;
	}
	offset_text(found_off[0], a, sizeof(a));
	offset_text(found_off[1], b, sizeof(b));
	snprintf(err, errlen,
		 "\"%s\" happens twice in local time (at %s, then at %s); add the offset you mean",
		 text, a, b);
	return -1;
}

static int absolute(const char *text, uint64_t *out, char *err, size_t errlen)
{
	struct fields f;
	const char *why;
	int64_t t;

	if (!absolute_fields(text, &f)) {
		snprintf(err, errlen,
			 "bad time \"%s\": expected YYYY-MM-DD[ HH:MM[:SS[.frac]]][Z|+HH:MM], "
			 "@SECONDS, now, or -N followed by s, m, h, d or w", text);
		return -1;
	}
	if ((why = fields_error(&f))) {
		snprintf(err, errlen, "bad time \"%s\": %s", text, why);
		return -1;
	}
	int64_t u = days_from_civil(f.year, f.mon, f.day) * 86400 + f.hour * 3600 + f.min * 60 +
		    f.sec;
	if (f.has_zone)
		t = u - f.offset;
	else if (local_to_utc(text, u, &t, err, errlen) < 0)
		return -1;
	if (t < 0) {
		snprintf(err, errlen, "bad time \"%s\": before 1970", text);
		return -1;
	}
	*out = (uint64_t)t * NS_PER_SEC + f.ns;
	return 0;
}

/* "-2h": now less a number of units. */
static int relative(const char *text, uint64_t now_ns, uint64_t *out, char *err, size_t errlen)
{
	static const struct { char unit; uint64_t sec; } units[] = {
		{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 7 * 86400}};
	const char *s = text + 1;
	uint64_t n = 0;

	if (!isdigit((unsigned char)*s))
		goto bad;
	for (; isdigit((unsigned char)*s); s++) {
		n = n * 10 + (uint64_t)(*s - '0');
		if (n > 1000000000ULL)
			goto bad;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (s[0] != units[i].unit || s[1] != '\0')
			continue;
		if (n * units[i].sec > now_ns / NS_PER_SEC)
			goto bad; /* before 1970 */
		*out = now_ns - n * units[i].sec * NS_PER_SEC;
		return 0;
	}
bad:
	snprintf(err, errlen, "bad relative time \"%s\": expected -N followed by s, m, h, d or w "
		 "(e.g. -30m, -2h)", text);
	return -1;
}

/* "@1764558000" or "@1764558000.5": seconds since the epoch, as date(1) takes. */
static int epoch(const char *text, uint64_t *out, char *err, size_t errlen)
{
	const char *s = text + 1;
	uint64_t sec = 0, ns;

	if (!isdigit((unsigned char)*s))
		goto bad;
	for (; isdigit((unsigned char)*s); s++) {
		sec = sec * 10 + (uint64_t)(*s - '0');
		if (sec > 253402300799ULL) /* 9999-12-31 23:59:59 */
			goto bad;
	}
	if (!fraction(&s, &ns) || *s)
		goto bad;
	*out = sec * NS_PER_SEC + ns;
	return 0;
bad:
	snprintf(err, errlen, "bad time \"%s\": expected @SECONDS since 1970", text);
	return -1;
}

int timearg_parse(const char *text, uint64_t now_ns, uint64_t *out, char *err, size_t errlen)
{
	tzset(); /* TZ may have changed since the last call (the tests change it) */
	if (strcmp(text, "now") == 0) {
		*out = now_ns;
		return 0;
	}
	if (text[0] == '-')
		return relative(text, now_ns, out, err, errlen);
	if (text[0] == '@')
		return epoch(text, out, err, errlen);
	return absolute(text, out, err, errlen);
}

void timearg_format(uint64_t ns, bool utc, char *buf, size_t size)
{
	time_t sec = (time_t)(ns / NS_PER_SEC);
	unsigned ms = (unsigned)(ns % NS_PER_SEC / 1000000);
	struct tm tm;
	char day[32];

	if (!(utc ? gmtime_r(&sec, &tm) : localtime_r(&sec, &tm))) {
		snprintf(buf, size, "@%llu", (unsigned long long)(ns / NS_PER_SEC));
		return;
	}
	strftime(day, sizeof(day), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(buf, size, "%s.%03u %s", day, ms, utc ? "UTC" : tm.tm_zone);
}

void timearg_rfc3339(uint64_t ns, char *buf, size_t size)
{
	time_t sec = (time_t)(ns / NS_PER_SEC);
	uint32_t frac = (uint32_t)(ns % NS_PER_SEC);
	struct tm tm;
	char day[32], part[16] = "";

	gmtime_r(&sec, &tm);
	strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
	if (frac % 1000000 == 0 && frac)
		snprintf(part, sizeof(part), ".%03u", frac / 1000000);
	else if (frac % 1000 == 0 && frac)
		snprintf(part, sizeof(part), ".%06u", frac / 1000);
	else if (frac)
		snprintf(part, sizeof(part), ".%09u", frac);
	snprintf(buf, size, "%s%sZ", day, part);
}
