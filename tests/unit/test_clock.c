/*
 * mib/clock: capture timestamps taken as model time without wrapping, and
 * absurd ones (1970 exactly, 2100 and later, out-of-range nanoseconds)
 * clamped: to the clock's current time once it runs, to the nearer end of the
 * range before.
 */
#include "unit.h"

#include "../../mib/clock.h"

#define T0_SEC 1767225600ll /* 2026-01-01T00:00:00Z */
/* A pcapng record with if_tsresol 0 read as seconds: the year 2554, where
 * seconds times 10^9 no longer fit 64 bits. */
#define Y2554_SEC 18446744073ll

static struct mclock offline(void)
{
	struct mclock c;

	mclock_init_offline(&c);
	return c;
}

TEST(ordinary_capture_times_are_taken_exactly)
{
	struct mclock c = offline();
	mtime_t t = 0;

	CHECK(mclock_capture_time(&c, T0_SEC, 123456789, &t));
	CHECK(t == (mtime_t)T0_SEC * MTIME_SEC + 123456789);
	CHECK(mclock_capture_time(&c, 0, 1, &t)); /* 1 ns after the epoch: a time */
	CHECK(t == 1);
	CHECK(mclock_capture_time(&c, MCLOCK_CAPTURE_MAX_SEC - 1, 999999999, &t));
	CHECK(t == (mtime_t)MCLOCK_CAPTURE_MAX_SEC * MTIME_SEC - 1);
}

/* Model time 0 means "never": a record stamped 1970-01-01T00:00:00 exactly
 * must not make a PE first seen "never". */
TEST(the_epoch_itself_is_clamped_to_one_nanosecond)
{
	struct mclock c = offline();
	mtime_t t = 0;

	CHECK(!mclock_capture_time(&c, 0, 0, &t));
	CHECK(t == 1);
	CHECK(!mclock_capture_time(&c, -1, 0, &t));
	CHECK(t == 1);
}

TEST(the_year_2554_does_not_wrap)
{
	struct mclock c = offline();
	mtime_t t = 0;

	CHECK(!mclock_capture_time(&c, Y2554_SEC, 0, &t));
	CHECK(t == (mtime_t)MCLOCK_CAPTURE_MAX_SEC * MTIME_SEC - 1);
	CHECK(!mclock_capture_time(&c, MCLOCK_CAPTURE_MAX_SEC, 0, &t)); /* the limit itself */
	/* Anything the model adds to a clamped time stays far from wrapping. */
	CHECK(t + 65535 * MTIME_SEC > t);
}

TEST(nanoseconds_out_of_range_are_absurd)
{
	struct mclock c = offline();
	mtime_t t = 0;

	CHECK(!mclock_capture_time(&c, T0_SEC, (int64_t)MTIME_SEC, &t));
	CHECK(!mclock_capture_time(&c, T0_SEC, -1, &t));
}

/* Once the clock runs, an absurd record arrives "now": it neither moves the
 * clock nor, through it, expires anything. */
TEST(once_running_an_absurd_time_is_the_current_time)
{
	struct mclock c = offline();
	mtime_t t = 0, now = (mtime_t)T0_SEC * MTIME_SEC + 5;

	mclock_advance(&c, now);
	CHECK(!mclock_capture_time(&c, Y2554_SEC, 0, &t));
	CHECK(t == now);
	CHECK(!mclock_capture_time(&c, 0, 0, &t));
	CHECK(t == now);
	mclock_advance(&c, t);
	CHECK(mclock_now(&c) == now);
	/* A sane later record moves it on as before. */
	CHECK(mclock_capture_time(&c, T0_SEC + 10, 0, &t));
	mclock_advance(&c, t);
	CHECK(mclock_now(&c) == (mtime_t)(T0_SEC + 10) * MTIME_SEC);
}

int main(void)
{
	static const struct unit_test tests[] = {
		T(ordinary_capture_times_are_taken_exactly),
		T(the_epoch_itself_is_clamped_to_one_nanosecond),
		T(the_year_2554_does_not_wrap),
		T(nanoseconds_out_of_range_are_absurd),
		T(once_running_an_absurd_time_is_the_current_time),
	};
	return unit_main("clock", tests, sizeof(tests) / sizeof(tests[0]));
}
