#include "cli.h"

#include <stdarg.h>
#include <string.h>

const struct option cli_leading_options[] = {
	CLI_COMMON_OPTIONS,
	CLI_STORE_OPTIONS,
	{NULL, 0, NULL, 0},
};

void cli_error(const struct cli *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(c->err, "mvpnmon%s%s: ", c->command ? " " : "", c->command ? c->command : "");
	va_start(ap, fmt);
	vfprintf(c->err, fmt, ap);
	va_end(ap);
	fputc('\n', c->err);
}

bool cli_common_option(struct cli *c, int opt)
{
	switch (opt) {
	case OPT_JSON: c->json = true; return true;
	case OPT_UTC: c->utc = true; return true;
	default: return false;
	}
}

int cli_getopt(struct cli *c, int argc, char **argv, const struct option *opts)
{
	int opt;

	opterr = 0;
	/* "+": stop at the first word that is not an option, to refuse it. */
	opt = getopt_long(argc, argv, "+", opts, NULL);
	if (opt == '?' || opt == ':') {
		const char *what = argv[optind - 1];
		bool known = false;
		for (const struct option *o = opts; o->name; o++)
			known |= strncmp(what, "--", 2) == 0 && strcmp(what + 2, o->name) == 0;
		if (known)
			cli_error(c, "%s needs a value", what);
		else
			cli_error(c, "unknown option %s (mvpnmon %s --help)", what, c->command);
		return '?';
	}
	if (opt == -1 && optind < argc) {
		cli_error(c, "unexpected argument \"%s\" (mvpnmon %s --help)", argv[optind],
			  c->command);
		return '?';
	}
	return opt;
}
