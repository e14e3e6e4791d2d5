/*
 * A VPN's PEs: every PE the configuration expects and every PE heard on the
 * default MDT (a C-PIM Hello), sorted by provider address.  Hundreds per VPN at
 * most (and capped), so a sorted array of pointers; rows keep their address.
 * pe_find, on the packet path several times a record (the sender, the
 * upstream neighbor), goes through a hash of the same pointers instead of a
 * binary search.
 */
#ifndef MVPN_PE_H
#define MVPN_PE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "clock.h"
#include "oidx.h"
#include "rbtree.h"
#include "timers.h"

/* Values of mvpnPeStatus.  The last two compare PIM with BGP's MDT SAFI
 * (RFC 6037 5), for a VPN whose PEs BGP speaks of (vpn_bgp_judged). */
enum pe_status {
	PE_ACTIVE = 1,
	PE_MISSING = 2,
	PE_UNEXPECTED = 3,
	PE_DEPARTED = 4,
	PE_BGP_SILENT = 5, /* BGP advertises it in the VPN's default MDT; no current Hello */
	PE_NOT_IN_BGP = 6, /* current Hellos; BGP does not advertise it */
};

#define PE_HOLDTIME_FOREVER 0xffff

struct pe {
	uint32_t vpn_index;
	struct inet_addr addr;  /* provider address: outer source of its MDT packets */
	struct inet_addr caddr; /* its address inside the customer instance (Hello source) */
	bool expected;
	bool alive;             /* heard, and its hold time has not passed */
	uint16_t holdtime;      /* seconds, from the last Hello */
	bool has_genid;
	uint32_t genid;
	uint32_t dr_priority;
	mtime_t first_seen, last_hello, expires; /* 0: never */
	uint64_t restarts, hellos, join_prunes, changes;
	struct timer timer;     /* armed while alive and mortal, for expires */
	TAILQ_ENTRY(pe) gone;   /* on the table's departed list while heard and not alive */
	uint32_t alarm_index;   /* its raised PE alarm; 0: none */
	uint8_t alarm_kind;     /* that alarm's enum alarm_kind */
	/* What BGP says (mib/bgpmdt.h): MDT SAFI routes naming this PE with the
	 * VPN's default MDT, counted over every (router, peer, RD) reporting one. */
	uint32_t bgp_routes;
	bool bgp_advertised;    /* routes, or the last one went less than settle ago */
	mtime_t bgp_changed;    /* when bgp_advertised last changed; 0: never */
	bool bgp_settling;      /* advertised, no route left since bgp_lost */
	mtime_t bgp_lost;
};

TAILQ_HEAD(pe_departed_list, pe);

struct pe_table {
	struct pe **v; /* sorted by addr */
	struct pe **by_caddr; /* the same PEs sorted by (caddr, addr); same n and cap */
	struct pe **by_addr;  /* the same PEs hashed by addr, linear probing; 2 cap slots */
	size_t n, cap;
	struct timers *timers; /* the model's: not owned */
	struct pe_departed_list departed; /* heard, now gone: longest gone first */
};

void pe_table_init(struct pe_table *t, struct timers *timers);
void pe_table_free(struct pe_table *t);
struct pe *pe_find(const struct pe_table *t, const struct inet_addr *addr);
/* The PE whose C-instance address is caddr (most often its provider address too). */
struct pe *pe_find_by_caddr(const struct pe_table *t, const struct inet_addr *caddr);
/* After PEs' caddr were changed in place (vpn_forget): puts the index back in order. */
void pe_reindex_caddr(struct pe_table *t);
/* Sets a PE's C-instance address, keeping the by-caddr index in order. */
void pe_set_caddr(struct pe_table *t, struct pe *pe, const struct inet_addr *caddr);
/* Adds a row for addr (which must not exist); NULL when out of memory. */
struct pe *pe_insert(struct pe_table *t, uint32_t vpn_index, const struct inet_addr *addr);
void pe_delete(struct pe_table *t, struct pe *pe);
/* After pe->alive or pe->expires changed: an alive mortal PE's timer is set
 * to its expires time; a PE that was heard and is gone goes on the departed list
 * (at its tail when it has just departed; a repeated goodbye keeps its place). */
void pe_schedule(struct pe_table *t, struct pe *pe);
/* The departed PE the table can give up first to make room for a new one: the
 * one gone longest that no configuration expects; NULL when there is none. */
struct pe *pe_oldest_departed(const struct pe_table *t);
/* Disarms pe's timer and takes it off the departed list (before its state is wiped). */
void pe_unschedule(struct pe_table *t, struct pe *pe);
/* How a VPN's PEs are judged (vpn_pe_judging). */
enum pe_judging {
	JUDGE_PIM,     /* Hellos on the default MDT against the configured list */
	JUDGE_PIM_BGP, /* ... and against BGP's MDT SAFI (vpn_bgp_judged) */
	JUDGE_BGP,     /* signalled by BGP (RFC 6514): its I-PMSI A-D routes are its PEs */
};
enum pe_status pe_status(const struct pe *pe, enum pe_judging j);

/* Appends the row's index (without the VPN index) to out. */
void pe_oidx(const struct pe *pe, struct oidx *out);
const struct pe *pe_seek(const struct pe_table *t, const uint32_t *want, size_t wlen, bool after);

#endif
