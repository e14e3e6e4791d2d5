/* client/timearg: the TIME arguments of mvpnmon and the times it prints.
 * Expected instants are written out in UTC seconds (computed apart from the
 * code under test); local time is Europe/Paris, whose 2026 daylight-saving
 * changes are 29 March 02:00 -> 03:00 and 25 October 03:00 -> 02:00. */
#include "unit.h"

#include <stdlib.h>
#include <time.h>

#include "../../client/timearg.h"

#define S(sec) ((uint64_t)(sec) * NS_PER_SEC)
#define NOW S(1796090400) /* 2026-12-01 02:00:00 UTC */

static char err[256];

static void paris(void)
{
	setenv("TZ", "Europe/Paris", 1);
	tzset();
}

static int parse(const char *text, uint64_t *out)
{
	err[0] = '\0';
	return timearg_parse(text, NOW, out, err, sizeof(err));
}

TEST(local_time_is_tz_in_winter_and_summer)
{
	uint64_t t;

	paris();
	CHECK_EQ_INT(parse("2026-12-01 03:00", &t), 0);
	CHECK_EQ_INT(t, S(1796090400));
	CHECK_EQ_INT(parse("2026-12-01 03:00:15", &t), 0);
	CHECK_EQ_INT(t, S(1796090415));
	CHECK_EQ_INT(parse("2026-12-01T03:00:15.25", &t), 0);
	CHECK_EQ_INT(t, S(1796090415) + 250000000);
	CHECK_EQ_INT(parse("2026-07-01 12:00", &t), 0); /* CEST, +02:00 */
	CHECK_EQ_INT(t, S(1782900000));
	CHECK_EQ_INT(parse("2026-12-01", &t), 0); /* midnight, local */
	CHECK_EQ_INT(t, S(1796090400 - 3 * 3600));
}

TEST(explicit_zones_ignore_tz)
{
	uint64_t t;

	paris();
	CHECK_EQ_INT(parse("2026-12-01T02:00:00Z", &t), 0);
	CHECK_EQ_INT(t, S(1796090400));
	CHECK_EQ_INT(parse("2026-12-01 02:00:00 UTC", &t), 0);
	CHECK_EQ_INT(t, S(1796090400));
	CHECK_EQ_INT(parse("2026-12-01 03:00+01:00", &t), 0);
	CHECK_EQ_INT(t, S(1796090400));
	CHECK_EQ_INT(parse("2026-12-01 03:00 +01:00", &t), 0); /* a space before it */
	CHECK_EQ_INT(t, S(1796090400));
	CHECK_EQ_INT(parse("2026-12-01 04:00+02", &t), 0);
	CHECK_EQ_INT(t, S(1796090400));
	CHECK_EQ_INT(parse("2026-12-01 07:30:00+0530", &t), 0);
	CHECK_EQ_INT(t, S(1796090400));
	CHECK_EQ_INT(parse("2026-11-30T21:00:00-05:00", &t), 0);
	CHECK_EQ_INT(t, S(1796090400));
	CHECK_EQ_INT(parse("@1796090400", &t), 0);
	CHECK_EQ_INT(t, S(1796090400));
	CHECK_EQ_INT(parse("@1796090400.000000001", &t), 0);
	CHECK_EQ_INT(t, S(1796090400) + 1);
}

TEST(spring_gap_is_refused_and_its_edges_are_not)
{
	uint64_t t;

	paris();
	CHECK_EQ_INT(parse("2026-03-29 01:59:59", &t), 0); /* CET */
	CHECK_EQ_INT(t, S(1774745999));
	CHECK_EQ_INT(parse("2026-03-29 03:00", &t), 0); /* CEST, one second later */
	CHECK_EQ_INT(t, S(1774746000));
	CHECK_EQ_INT(parse("2026-03-29 02:30", &t), -1);
	CHECK(strstr(err, "does not exist in local time") != NULL);
	CHECK(strstr(err, "+01:00 to +02:00") != NULL);
	CHECK_EQ_INT(parse("2026-03-29 02:00", &t), -1);
	CHECK_EQ_INT(parse("2026-03-29 02:30+01:00", &t), 0); /* with an offset, it is a time */
	CHECK_EQ_INT(t, S(1774747800));
}

TEST(autumn_repeat_is_refused_unless_an_offset_says_which)
{
	uint64_t t;

	paris();
	CHECK_EQ_INT(parse("2026-10-25 02:30", &t), -1);
	CHECK(strstr(err, "happens twice") != NULL);
	CHECK(strstr(err, "at +02:00, then at +01:00") != NULL);
	CHECK_EQ_INT(parse("2026-10-25 02:00", &t), -1);
	CHECK_EQ_INT(parse("2026-10-25 02:30+02:00", &t), 0);
	CHECK_EQ_INT(t, S(1792888200));
	CHECK_EQ_INT(parse("2026-10-25 02:30+01:00", &t), 0);
	CHECK_EQ_INT(t, S(1792891800));
	CHECK_EQ_INT(parse("2026-10-25 01:59", &t), 0); /* still CEST */
	CHECK_EQ_INT(t, S(1792886340));
	CHECK_EQ_INT(parse("2026-10-25 03:00", &t), 0); /* CET */
	CHECK_EQ_INT(t, S(1792893600));
}

TEST(relative_times_count_back_from_now)
{
	uint64_t t;

	CHECK_EQ_INT(parse("now", &t), 0);
	CHECK_EQ_INT(t, NOW);
	CHECK_EQ_INT(parse("-2h", &t), 0);
	CHECK_EQ_INT(t, NOW - S(7200));
	CHECK_EQ_INT(parse("-30m", &t), 0);
	CHECK_EQ_INT(t, NOW - S(1800));
	CHECK_EQ_INT(parse("-90s", &t), 0);
	CHECK_EQ_INT(t, NOW - S(90));
	CHECK_EQ_INT(parse("-1d", &t), 0);
	CHECK_EQ_INT(t, NOW - S(86400));
	CHECK_EQ_INT(parse("-2w", &t), 0);
	CHECK_EQ_INT(t, NOW - S(14 * 86400));
}

TEST(bad_times_say_why)
{
	const char *bad[] = {"", "yesterday", "-", "-2", "-2x", "-2hh", "-h", "2026-02-29",
			     "2026-13-01", "2026-12-00", "2026-12-01 24:00", "2026-12-01 03:60",
			     "2026-12-01 03:00:60", "2026-12-01 3:00", "2026-12-01 03:00 +25:00",
			     "2026-12-01 03:00:15.1234567891", "2026-12-01 03:00:15.",
			     "1969-12-31 23:00Z", "-99999999999h", "@", "@12x", "2026-12-01x"};
	uint64_t t;

	paris();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], &t) != -1) {
			printf("#   accepted \"%s\"\n", bad[i]);
			CHECK(0);
		}
		CHECK(err[0] != '\0');
		CHECK(strstr(err, bad[i]) != NULL); /* the message names what it refused */
	}
	CHECK_EQ_INT(parse("2028-02-29", &t), 0); /* a leap year */
}

TEST(formats_local_times_with_their_zone)
{
	char buf[TIMEARG_TEXT_MAX];

	paris();
	timearg_format(S(1792888200), false, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "2026-10-25 02:30:00.000 CEST");
	timearg_format(S(1792891800), false, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "2026-10-25 02:30:00.000 CET");
	timearg_format(S(1796090415) + 123999999, false, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "2026-12-01 03:00:15.123 CET");
	timearg_format(S(1796090415) + 123999999, true, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "2026-12-01 02:00:15.123 UTC");
}

TEST(rfc3339_is_utc_with_the_digits_needed)
{
	char buf[64];

	paris();
	timearg_rfc3339(S(1796090415), buf, sizeof(buf));
	CHECK_EQ_STR(buf, "2026-12-01T02:00:15Z");
	timearg_rfc3339(S(1796090415) + 250000000, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "2026-12-01T02:00:15.250Z");
	timearg_rfc3339(S(1796090415) + 250000, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "2026-12-01T02:00:15.000250Z");
	timearg_rfc3339(S(1796090415) + 7, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "2026-12-01T02:00:15.000000007Z");
}

TEST(printed_times_read_back_as_the_same_instant)
{
	char buf[TIMEARG_TEXT_MAX];
	uint64_t t;

	paris();
	/* The RFC 3339 form goes back in as a TIME; the table form does outside the
	 * repeated hour, to the millisecond. */
	timearg_rfc3339(S(1792891800) + 5000, buf, sizeof(buf));
	CHECK_EQ_INT(parse(buf, &t), 0);
	CHECK_EQ_INT(t, S(1792891800) + 5000);
	timearg_format(S(1796090415) + 123000000, false, buf, sizeof(buf));
	*strrchr(buf, ' ') = '\0'; /* the zone's abbreviation is not an offset */
	CHECK_EQ_INT(parse(buf, &t), 0);
	CHECK_EQ_INT(t, S(1796090415) + 123000000);
}

UNIT_MAIN("client_time", T(local_time_is_tz_in_winter_and_summer), T(explicit_zones_ignore_tz),
	  T(spring_gap_is_refused_and_its_edges_are_not),
	  T(autumn_repeat_is_refused_unless_an_offset_says_which),
	  T(relative_times_count_back_from_now), T(bad_times_say_why),
	  T(formats_local_times_with_their_zone), T(rfc3339_is_utc_with_the_digits_needed),
	  T(printed_times_read_back_as_the_same_instant))
