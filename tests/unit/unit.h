/*
 * A tiny test harness: each test is a function; CHECK records a failure with
 * its file:line and ends the test.  The binary prints one "ok"/"not ok" line per
 * test (TAP style) for tests/run.sh to count, and exits non-zero on any failure.
 */
#ifndef MVPN_UNIT_H
#define MVPN_UNIT_H

#include <stdio.h>
#include <string.h>

struct unit_test {
	const char *name;
	void (*fn)(int *failed);
};

#define TEST(name) static void name(int *unit_failed_)
#define CHECK(cond)                                                                   \
	do {                                                                          \
		if (!(cond)) {                                                        \
			printf("#   %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
			*unit_failed_ = 1;                                            \
			return;                                                       \
		}                                                                     \
	} while (0)
#define CHECK_EQ_INT(a, b)                                                            \
	do {                                                                          \
		long long a_ = (long long)(a), b_ = (long long)(b);                   \
		if (a_ != b_) {                                                       \
			printf("#   %s:%d: %s == %lld, expected %s == %lld\n", __FILE__,  \
			       __LINE__, #a, a_, #b, b_);                             \
			*unit_failed_ = 1;                                            \
			return;                                                       \
		}                                                                     \
	} while (0)
#define CHECK_EQ_STR(a, b)                                                            \
	do {                                                                          \
		const char *a_ = (a), *b_ = (b);                                      \
		if (strcmp(a_, b_) != 0) {                                            \
			printf("#   %s:%d: %s is \"%s\", expected \"%s\"\n", __FILE__,   \
			       __LINE__, #a, a_, b_);                                 \
			*unit_failed_ = 1;                                            \
			return;                                                       \
		}                                                                     \
	} while (0)

static inline int unit_main(const char *suite, const struct unit_test *tests, size_t n)
{
	int failures = 0;

	printf("1..%zu\n", n);
	for (size_t i = 0; i < n; i++) {
		int failed = 0;
		tests[i].fn(&failed);
		printf("%s %zu - %s.%s\n", failed ? "not ok" : "ok", i + 1, suite, tests[i].name);
		failures += failed;
	}
	return failures ? 1 : 0;
}

#define UNIT_MAIN(suite, ...)                                                        \
	int main(void)                                                                \
	{                                                                             \
		static const struct unit_test tests_[] = {__VA_ARGS__};               \
		return unit_main(suite, tests_, sizeof(tests_) / sizeof(tests_[0]));  \
	}
#define T(fn) {#fn, fn}

#endif
