/* The commands of mvpnmon (main.c's table lists them with their synopses). */
#ifndef MVPN_CLIENT_COMMANDS_H
#define MVPN_CLIENT_COMMANDS_H

#include "cli.h"

/* From the history store (cmd_state.c, cmd_changes.c, cmd_pairs.c, cmd_report.c). */
int cmd_state(struct cli *c, int argc, char **argv);
int cmd_changes(struct cli *c, int argc, char **argv);
int cmd_pairs(struct cli *c, int argc, char **argv);
int cmd_report(struct cli *c, int argc, char **argv);

#endif
