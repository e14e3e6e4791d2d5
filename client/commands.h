/* The commands of mvpnmon (main.c's table lists them with their synopses). */
#ifndef MVPN_CLIENT_COMMANDS_H
#define MVPN_CLIENT_COMMANDS_H

#include "cli.h"

/* From the history store (cmd_state.c, cmd_changes.c, cmd_pairs.c, cmd_report.c). */
int cmd_state(struct cli *c, int argc, char **argv);
int cmd_changes(struct cli *c, int argc, char **argv);
int cmd_pairs(struct cli *c, int argc, char **argv);
int cmd_report(struct cli *c, int argc, char **argv);

/* From a running agent over SNMP (cmd_live.c; live.h). */
struct live_cmd;
int cmd_vpns(struct cli *c, struct live_cmd *lc);
int cmd_pes(struct cli *c, struct live_cmd *lc);
int cmd_groups(struct cli *c, struct live_cmd *lc);
int cmd_pairs_live(struct cli *c, struct live_cmd *lc);
int cmd_tunnels(struct cli *c, struct live_cmd *lc);
int cmd_alarms(struct cli *c, struct live_cmd *lc);
int cmd_bmp(struct cli *c, struct live_cmd *lc);

#endif
