#include "mibenum.h"

#define LABEL(table, v) ((v) < sizeof(table) / sizeof(table[0]) ? table[v] : "")

const char *mib_pe_status_name(uint8_t v)
{
	static const char *const names[] = {"", "active", "missing", "unexpected",
					    "departed", "bgpSilent", "notInBgp"};
	return LABEL(names, v);
}

const char *mib_config_status_name(uint8_t v)
{
	static const char *const names[] = {"", "pending", "match", "mismatch"};
	return LABEL(names, v);
}

const char *mib_cg_kind_name(uint8_t v)
{
	static const char *const names[] = {"", "starG", "sg", "sgRpt"};
	return LABEL(names, v);
}

const char *mib_cg_role_name(uint8_t v)
{
	static const char *const names[] = {"", "downstream", "upstream"};
	return LABEL(names, v);
}

const char *mib_cg_state_name(uint8_t v)
{
	static const char *const names[] = {"", "joined", "pruned"};
	return LABEL(names, v);
}

const char *mib_mdt_type_name(uint8_t v)
{
	static const char *const names[] = {"", "default", "data"};
	return LABEL(names, v);
}
