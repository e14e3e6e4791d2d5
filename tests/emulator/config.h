/* The emulator's configuration file: PEs, their tunnel stages, provider
 * paths between them, and the IGMP querier's timers. */
#ifndef EMU_CONFIG_H
#define EMU_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define MAX_PES 256

/* One stage a packet crosses: delay = delay_ms + uniform(-jitter_ms, +jitter_ms),
 * clamped at 0; lost with probability loss_pct / 100. */
struct stage {
	double delay_ms;
	double loss_pct;
	double jitter_ms;
};

struct pe_conf {
	uint32_t addr;       /* network byte order */
	struct stage up;     /* monitor -> PE */
	struct stage down;   /* PE -> monitor */
	struct stage ingress; /* what the PE puts on the MDT, once, before replication */
	int has_ingress;     /* an 'ingress' line: only then is the stage drawn */
};

struct config {
	char *path;
	uint64_t seed;
	uint32_t monitor;    /* 0: learn each tunnel's remote from its packets */
	double query_interval_s;
	int query_version;
	double membership_timeout_s;
	size_t n_pes;
	struct pe_conf pes[MAX_PES];
	struct stage *pairs; /* n_pes * n_pes, [from * n_pes + to] */
};

/* Parses the whole file; on error returns -1 with "file:line: message" in err. */
int config_load(const char *path, struct config **out, char *err, size_t errlen);
void config_free(struct config *c);
/* Index of the PE with this address, or -1. */
int config_pe_index(const struct config *c, uint32_t addr);
const struct stage *config_pair(const struct config *c, size_t from, size_t to);

#endif
