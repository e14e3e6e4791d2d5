/*
 * The labels MVPN-MONITOR-MIB gives its enumerations, as the client shows
 * them (snmpwalk prints the same words).  "" for a value the MIB does not
 * define.  Change kinds are agent/change_text.h's; pair and tunnel status
 * mib/probing.h's.
 */
#ifndef MVPN_CLIENT_MIBENUM_H
#define MVPN_CLIENT_MIBENUM_H

#include <stdint.h>

const char *mib_pe_status_name(uint8_t v);     /* mvpnPeStatus */
const char *mib_config_status_name(uint8_t v); /* mvpnVpnConfigStatus */
const char *mib_cg_kind_name(uint8_t v);       /* mvpnCGroupPeKind */
const char *mib_cg_role_name(uint8_t v);       /* mvpnCGroupPeRole */
const char *mib_cg_state_name(uint8_t v);      /* mvpnCGroupPeState */
const char *mib_mdt_type_name(uint8_t v);      /* mvpnCGroupPGroupMdtType */

#endif
