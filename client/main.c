/*
 * mvpnmon, the client: reads a running mvpnmond over SNMP (vpns, pes,
 * groups, pairs, tunnels, alarms) and what it recorded in its history store
 * (state, changes, pairs --since, report).  One table of commands; each parses
 * its own options, and the options given before the command word go to it too.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "commands.h"
#include "live.h"
#include "timearg.h"

/* The live commands: [SNMP options] [AGENT] COMMAND [VPN]. */
static const struct {
	const char *name, *synopsis, *summary;
	int (*run)(struct cli *c, struct live_cmd *lc);
} live_commands[] = {
	{"vpns", "", "the VPNs: PEs expected, active, missing, unexpected; engines' status",
	 cmd_vpns},
	{"pes", "VPN", "the VPN's PEs: name, status, hold time, Hellos, last Hello", cmd_pes},
	{"groups", "VPN", "the VPN's C-group -> PE rows, PEs by name", cmd_groups},
	{"pairs", "VPN", "the N x N matrix of loss and delay between the VPN's probed PEs",
	 cmd_pairs_live},
	{"tunnels", "VPN", "the tunnels to the VPN's PEs: echo loss and round trip", cmd_tunnels},
	{"alarms", "", "the alarms raised now", cmd_alarms},
	{"bmp", "", "the BMP collector's routers and the peers each monitors, why a peer went down",
	 cmd_bmp},
};
#define N_LIVE (sizeof(live_commands) / sizeof(live_commands[0]))

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
	fputs("usage: mvpnmon [SNMP options] [AGENT] COMMAND [VPN] [--json]\n"
	      "       mvpnmon [store options] COMMAND [command options]\n\n"
	      "From a running agent (AGENT as snmpwalk takes it; default localhost):\n", f);
	for (size_t i = 0; i < N_LIVE; i++)
		fprintf(f, "  %-8s %s\n           %s\n", live_commands[i].name,
			live_commands[i].synopsis, live_commands[i].summary);
	fputs("  SNMP options as snmpcmd(1): -v 1|2c|3, -c COMMUNITY, -u USER, -l LEVEL,\n"
	      "  -a/-A, -x/-X, -t, -r, ... and snmp.conf; --stats prints the agent's time and\n"
	      "  ours on stderr; --no-color (colours only on a terminal, never with NO_COLOR).\n"
	      "\nFrom the history store:\n", f);
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

static bool is_command(const char *w)
{
	for (size_t i = 0; i < N_LIVE; i++)
		if (strcmp(w, live_commands[i].name) == 0)
			return true;
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(w, commands[i].name) == 0)
			return true;
	return false;
}

/* "pairs" is both: with a history option (a store, a time, --vpn) it reads
 * the store's windows; otherwise the agent's matrix. */
static bool wants_history(int argc, char **argv)
{
	static const char *const history_only[] = {"--since", "--until", "--vpn", "--at", "--db",
						   "--pg", "--monitor"};

	for (int i = 1; i < argc; i++)
		for (size_t k = 0; k < sizeof(history_only) / sizeof(history_only[0]); k++) {
			size_t n = strlen(history_only[k]);
			if (strncmp(argv[i], history_only[k], n) == 0 &&
			    (argv[i][n] == '\0' || argv[i][n] == '='))
				return true;
		}
	return false;
}

static int finish(struct cli *c, int rc)
{
	if (fclose(stdout) != 0 && rc == CLI_OK) {
		cli_error(c, "cannot write the output");
		rc = CLI_FAIL;
	}
	return rc;
}

int main(int argc, char **argv)
{
	struct cli c = {.out = stdout, .err = stderr, .now_ns = timearg_now()};
	int cmd;

	tzset();
	/* The command word: the first word that names a command, past options
	 * and their values (an agent may come before it). */
	const char *first_word = NULL;
	for (cmd = 1; cmd < argc; cmd++) {
		const char *w = argv[cmd];
		if (w[0] != '-') {
			if (is_command(w))
				break;
			if (!first_word)
				first_word = w;
			continue;
		}
		if (strcmp(w, "--help") == 0 || strcmp(w, "-h") == 0) {
			usage(stdout);
			return CLI_OK;
		}
		if (strcmp(w, "--version") == 0) {
			printf("mvpnmon %s\n", MVPN_VERSION);
			return CLI_OK;
		}
		if ((takes_value(w) || live_option_takes_value(w)) && cmd + 1 < argc)
			cmd++;
	}
	if (cmd >= argc) {
		if (first_word)
			cli_error(&c, "unknown command \"%s\" (mvpnmon --help lists them)", first_word);
		else
			usage(stderr);
		return CLI_USAGE;
	}
	c.command = argv[cmd];
	for (size_t i = 0; i < N_LIVE; i++)
		if (strcmp(argv[cmd], live_commands[i].name) == 0 && !wants_history(argc, argv))
			return finish(&c, live_main(&c, argc, argv, cmd, live_commands[i].run));
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
	return finish(&c, rc);
}
