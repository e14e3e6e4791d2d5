/*
 * Runs a fuzz harness over saved inputs without libFuzzer, under the
 * ordinary build: make check replays tests/fuzz/regressions/<harness>/ with
 * it, so every input that once broke a parser keeps being tried (and under
 * valgrind or an ASan build, as any unit test).  Arguments are files or
 * directories; none means FUZZ_REGRESSIONS, the harness's own directory,
 * which may not exist yet.  Output is TAP, one line per input; a broken
 * invariant aborts, which tests/run.sh counts as a failure.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#ifndef FUZZ_REGRESSIONS
#define FUZZ_REGRESSIONS "."
#endif

struct inputs {
	char **path;
	size_t n, cap;
};

static void add(struct inputs *in, const char *path)
{
	if (in->n == in->cap) {
		in->cap = in->cap ? 2 * in->cap : 16;
		in->path = realloc(in->path, in->cap * sizeof(*in->path));
		FUZZ_CHECK(in->path != NULL);
	}
	in->path[in->n] = strdup(path);
	FUZZ_CHECK(in->path[in->n] != NULL);
	in->n++;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A directory's regular files (sorted, so the TAP lines are stable); a file itself. */
static void collect(struct inputs *in, const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	size_t first = in->n;

	if (stat(path, &st) != 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		add(in, path);
		return;
	}
	if (!(d = opendir(path)))
		return;
	while ((e = readdir(d))) {
		char full[4096];

		if (e->d_name[0] == '.' || strcmp(e->d_name, "README") == 0)
			continue;
		snprintf(full, sizeof(full), "%s/%s", path, e->d_name);
		if (stat(full, &st) == 0 && S_ISREG(st.st_mode))
			add(in, full);
	}
	closedir(d);
	qsort(in->path + first, in->n - first, sizeof(*in->path), by_name);
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0;

	*len = 0;
	if (!f)
		return NULL;
	for (;;) {
		if (*len == cap) {
			cap = cap ? 2 * cap : 4096;
			buf = realloc(buf, cap);
			FUZZ_CHECK(buf != NULL);
		}
		size_t got = fread(buf + *len, 1, cap - *len, f);
		*len += got;
		if (got == 0)
			break;
	}
	fclose(f);
	return buf;
}

int main(int argc, char **argv)
{
	struct inputs in = {0};
	int failed = 0;

	if (argc < 2)
		collect(&in, FUZZ_REGRESSIONS);
	for (int i = 1; i < argc; i++)
		collect(&in, argv[i]);
	printf("1..%zu\n", in.n);
	for (size_t i = 0; i < in.n; i++) {
		size_t len;
		uint8_t *buf = slurp(in.path[i], &len), *exact;

		if (!buf) {
			printf("not ok %zu - %s: cannot read\n", i + 1, in.path[i]);
			failed = 1;
			free(in.path[i]);
			continue;
		}
		/* An exact-size copy, as libFuzzer gives it: reads past the end show. */
		exact = fuzz_copy(buf, len);
		free(buf);
		fflush(stdout);
		LLVMFuzzerTestOneInput(exact, len);
		free(exact);
		printf("ok %zu - replay %s\n", i + 1, in.path[i]);
		free(in.path[i]);
	}
	free(in.path);
	return failed;
}
