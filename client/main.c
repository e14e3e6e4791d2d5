/*
 * mvpnmon, the client: reads what mvpnmond recorded in its history store
 * (state, changes, pairs, report).  One table of commands; each parses its own
 * options, and the options given before the command word go to it too.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "commands.h"
#include "timearg.h"

static const struct cli_command commands[] = {
	{"state", "[--at TIME] [--vpn NAME|INDEX]",
	 "the VPN, PE, C-group -> PE and C-group -> P-group tables as they were at TIME",
	 cmd_state},
	{"changes", "--since TIME [--until TIME] [--vpn V] [--pe ADDR] [--kind KIND]",
	 "the changes recorded in a time range, one line each", cmd_changes},
	{"pairs", "--vpn V --since TIME [--until TIME]",
	 "each probed pair's loss and delay, window by window", cmd_pairs},
	{"report", "--vpn V --since TIME [--until TIME] > FILE.html",
	 "one HTML page: PE status timeline, pair loss heat map, per-pair charts", cmd_report},
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	fputs("usage: mvpnmon [options] COMMAND [command options]\n\nCommands:\n", f);
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-8s %s\n           %s\n", commands[i].name, commands[i].synopsis,
			commands[i].summary);
	fputs("\nOptions (before or after the command):\n"
	      "  --db FILE        the SQLite history store (default " "/var/lib/mvpnmon/history.db)\n"
	      "  --pg CONNINFO    a PostgreSQL history store (libpq connection string)\n"
	      "  --monitor NAME   only this monitor's history (default: every monitor)\n"
	      "  --json           one JSON document instead of tables\n"
	      "  --utc            times in UTC (default: local time, from TZ)\n"
	      "  --help, --version\n"
	      "Exit status: 0 done, 1 the store could not answer, 2 a wrong command line.\n"
	      "See mvpnmon(1).\n", f);
}

/* Whether argv[i] is a leading option that takes the next word as its value. */
static bool takes_value(const char *arg)
{
	if (strncmp(arg, "--", 2) != 0 || strchr(arg, '='))
		return false;
	for (const struct option *o = cli_leading_options; o->name; o++)
		if (strcmp(arg + 2, o->name) == 0)
			return o->has_arg == required_argument;
	return false;
}

int main(int argc, char **argv)
{
	struct cli c = {.out = stdout, .err = stderr, .now_ns = timearg_now()};
	int cmd;

	tzset();
	/* The command word: the first word that is not an option or its value. */
	for (cmd = 1; cmd < argc && argv[cmd][0] == '-'; cmd++) {
		if (strcmp(argv[cmd], "--help") == 0 || strcmp(argv[cmd], "-h") == 0) {
			usage(stdout);
			return CLI_OK;
		}
		if (strcmp(argv[cmd], "--version") == 0 || strcmp(argv[cmd], "-V") == 0) {
			printf("mvpnmon %s\n", MVPN_VERSION);
			return CLI_OK;
		}
		if (takes_value(argv[cmd]) && cmd + 1 < argc)
			cmd++;
	}
	if (cmd >= argc) {
		usage(stderr);
		return CLI_USAGE;
	}
	const struct cli_command *command = NULL;
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(argv[cmd], commands[i].name) == 0)
			command = &commands[i];
	if (!command) {
		cli_error(&c, "unknown command \"%s\" (mvpnmon --help lists them)", argv[cmd]);
		return CLI_USAGE;
	}
	/* The command's argv: its word, the leading options, then the rest. */
	char **av = malloc((size_t)(argc + 1) * sizeof(*av));
	int ac = 0;
	if (!av)
		return CLI_FAIL;
	av[ac++] = argv[cmd];
	for (int i = 1; i < argc; i++)
		if (i != cmd)
			av[ac++] = argv[i];
	av[ac] = NULL;
	c.command = command->name;
	optind = 0; /* getopt_long starts afresh (GNU: 0 also resets its state) */
	int rc = command->run(&c, ac, av);
	free(av);
	if (fclose(stdout) != 0 && rc == CLI_OK) {
		cli_error(&c, "cannot write the output");
		rc = CLI_FAIL;
	}
	return rc;
}
