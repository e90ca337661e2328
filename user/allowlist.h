/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Egress allowlists (docs/packs.md, "egress_allowlist"): domain names
 * checked and normalised with libidn2, the names a list allows, and the
 * fold of CIDR entries into the nodes of the allow tries.
 */
#ifndef GG_ALLOWLIST_H
#define GG_ALLOWLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include <linux/types.h>

#include "pack.h"

/*
 * Checks a domain entry: an exact name ("pypi.org") or a wildcard ("*.openai.com":
 * its subdomains, not the apex; '*' only as the whole leftmost label).
 * Unicode names are mapped (UTS #46, non-transitional) and converted to
 * their A-label form (IDNA2008); ASCII labels follow the LDH rule; labels
 * are 1..63 bytes and the name at most 253. On success *ascii is the
 * lower-case A-label form without "*." (free it) and NULL is returned;
 * otherwise a description of the problem (static or in buf).
 */
const char *gg_domain_check(const char *in, char **ascii, bool *wildcard, char *buf,
			    size_t sz);

/* Does a (lower-case, A-label) name match a checked entry? A trailing
 * dot on the name is ignored. A name with a backslash (presentation form
 * escapes a dot, a backslash or another byte inside a label: \., \\,
 * \DDD) matches none. */
bool gg_domain_match(const char *domain, bool wildcard, const char *name);

/* One CIDR entry of one list, normalised: IPv4-mapped IPv6 prefixes are
 * IPv4 (the kernel looks mapped destinations up as IPv4). */
struct gg_allow_con {
	__u8 addr[16];
	__u8 v6;
	__u8 plen;
	__u8 proto; /* 0 = any */
	__u8 narrowed; /* ports or protocol given */
	__u16 port; /* 0 = any */
	__u32 lists;
};

/* A node of the allow tries: the lists of every unnarrowed entry that
 * covers it, and (port_node) its port rows. */
struct gg_allow_node {
	int family;
	__u8 addr[16];
	int plen;
	__u32 any;
	__u32 port_node; /* 0 = none */
};

struct gg_allow_port {
	__u32 node;
	__u16 port;
	__u8 proto;
	__u32 lists;
};

/* Normalises a CIDR (family, addr, plen) into con. */
void gg_allow_con_set(struct gg_allow_con *con, int family, const __u8 *addr, int plen);

/*
 * Folds the entries into nodes: one per distinct prefix, each carrying the
 * lists of every prefix that covers it (the longest match alone then
 * decides), its port rows those of the covering prefixes too. Sorts con.
 * Returns 0 or -ENOMEM; free *nodes and *ports.
 */
int gg_allow_fold(struct gg_allow_con *con, size_t n, struct gg_allow_node **nodes,
		  size_t *n_nodes, struct gg_allow_port **ports, size_t *n_ports);

/* A pack's egress_allowlist for `packs show`: its entries normalised. */
json_t *gg_allowlist_json(const struct gg_allowlist *w);

#endif
