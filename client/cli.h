/*
 * What every mvpnmon command shares: how it was asked to print, where, and
 * how it reports a problem.  A command is one entry of the table in main.c:
 * its name, a synopsis and a run function that takes its own argv (the
 * options given before the command word come first, so "mvpnmon --json
 * state" and "mvpnmon state --json" are the same).
 */
#ifndef MVPN_CLIENT_CLI_H
#define MVPN_CLIENT_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Exit status: 0 done (an empty answer included); 1 the store or what it
 * holds could not answer (no store, a corrupt one, an unknown VPN, nothing
 * recorded at that time); 2 the command line is wrong. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

struct cli {
	const char *command; /* the command word, for messages */
	bool json, utc;
	FILE *out, *err;
	uint64_t now_ns; /* when mvpnmon started: relative TIMEs count from it */
};

struct cli_command {
	const char *name;
	const char *synopsis; /* after "mvpnmon [options] name " */
	const char *summary;
	int (*run)(struct cli *c, int argc, char **argv); /* argv[0]: the command word */
};

/* "mvpnmon state: ..." on c->err. */
void cli_error(const struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Options every command takes, and those the history commands add; the
 * values are what getopt_long returns for them. */
enum {
	OPT_JSON = 0x100, OPT_UTC, OPT_HELP,
	OPT_DB, OPT_PG, OPT_MONITOR,
	OPT_AT, OPT_SINCE, OPT_UNTIL, OPT_VPN, OPT_PE, OPT_KIND,
};
#define CLI_COMMON_OPTIONS                                                                 \
	{"json", no_argument, NULL, OPT_JSON}, {"utc", no_argument, NULL, OPT_UTC},       \
		{"help", no_argument, NULL, OPT_HELP}
#define CLI_STORE_OPTIONS                                                                  \
	{"db", required_argument, NULL, OPT_DB}, {"pg", required_argument, NULL, OPT_PG},  \
		{"monitor", required_argument, NULL, OPT_MONITOR}

/* Options that may come before the command word, and whether they take an
 * argument (main.c moves them after it). */
extern const struct option cli_leading_options[];

/* Applies a common option; false if opt is not one. */
bool cli_common_option(struct cli *c, int opt);

/*
 * getopt_long over a command's argv, with messages of our own: returns the
 * next option, -1 at the end, or '?' after saying what was wrong.  Only
 * options: a word that is not one is an error too.
 */
int cli_getopt(struct cli *c, int argc, char **argv, const struct option *opts);

#endif
