/* SPDX-License-Identifier: GPL-2.0 */
/* Pack and bundle documents: parsing and validation (docs/packs.md). */
#ifndef GG_PACK_H
#define GG_PACK_H

#include "common.h"

enum gg_proto {
	GG_PROTO_ANY = 0,
	GG_PROTO_TCP = 6,
	GG_PROTO_UDP = 17,
};

struct gg_cidr {
	int family; /* AF_INET or AF_INET6 */
	__u8 addr[16]; /* network byte order; 4 bytes used for AF_INET */
	int plen;
};

struct gg_control {
	char *id;
	char *title;
	bool enforced;
	char *reason; /* advisory only */
	char *needs; /* "content.scan" | "sandbox.create" | NULL */
	bool evidence;
	char **refs;
	size_t n_refs;
};

struct gg_rule {
	char *id;
	enum gg_gate gate;
	char *description;
	char **controls;
	size_t n_controls;
	/* cmd.exec */
	char **paths;
	size_t n_paths;
	char **basenames;
	size_t n_basenames;
	char **identities; /* paths resolved to (dev, ino) at compile time */
	size_t n_identities;
	bool exec_disconnected; /* files opened by handle, with no name */
	char **sha256s; /* content digests: 64 lower-case hex digits */
	size_t n_sha256s;
	/* A trust list (docs/packs.md): the digests of the only files that
	 * may be executed or mapped executable; every other file is denied.
	 * Exclusive: no other match key beside it. */
	char **trusted;
	size_t n_trusted;
	/* net.egress */
	struct gg_cidr *cidrs;
	size_t n_cidrs;
	__u16 *ports; /* empty = every port */
	size_t n_ports;
	int proto; /* enum gg_proto */
	char **programs;
	size_t n_programs;
	__u32 sockets; /* "sockets": 1 << enum gg_sock_kind per kind denied */
	/* The pack's egress_allowlist as a rule: its id is
	 * GG_ALLOWLIST_RULE_ID, its controls the list's; it denies what the
	 * list does not cover (no cidrs, ports or programs of its own). */
	bool allowlist;
	/* kernel.module */
	bool module_all;
	bool module_kexec; /* a kernel loaded for kexec instead of modules */
	int line; /* where the rule starts in its file */
};

/* The rule id a pack's egress_allowlist has in entries and records. */
#define GG_ALLOWLIST_RULE_ID "egress-allowlist"

/* One egress_allowlist entry: a domain or a CIDR, optionally narrowed. */
struct gg_allow_entry {
	char *domain; /* lower-case A-label form, without "*."; NULL: a CIDR */
	bool wildcard; /* "*.domain": its subdomains, not domain itself */
	struct gg_cidr cidr;
	__u16 *ports; /* empty = every port */
	size_t n_ports;
	int proto; /* enum gg_proto */
};

struct gg_allowlist {
	char *description;
	char **controls;
	size_t n_controls;
	struct gg_allow_entry *entries;
	size_t n_entries;
};

struct gg_pack {
	char *name;
	char *version;
	char *description;
	char *fw_id;
	char *fw_title;
	char *fw_version;
	char *fw_source;
	struct gg_control *controls;
	size_t n_controls;
	struct gg_rule *rules; /* the allowlist's rule last, if there is one */
	size_t n_rules;
	struct gg_allowlist *allowlist; /* NULL: none */
	char *origin; /* file (or ref) it was read from, for messages */
	char *ref; /* the ref it was resolved from, set by the caller */
	char sha256[65]; /* of the document's bytes */
};

struct gg_bundle {
	char *name;
	char *version;
	char *description;
	char **members; /* refs */
	size_t n_members;
	char *origin;
};

/* Parses and validates a pack. Errors name origin, line, column and the
 * offending value: "packs/x.json:12:5: rule "r1": unknown gate "cmd.run"". */
int gg_pack_parse(const char *buf, size_t len, const char *origin, struct gg_pack **out,
		  struct gg_err *err);

/* Parses either document kind: exactly one of *pack / *bundle is set. */
int gg_doc_parse(const char *buf, size_t len, const char *origin, struct gg_pack **pack,
		 struct gg_bundle **bundle, struct gg_err *err);

/* How a policy document is parsed (NULs are admitted by the lexer so that
 * the validator can name the offending value). */
#define GG_DOC_JSON_FLAGS (JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL)

/* gg_doc_parse of buf already parsed: root, when not NULL, is
 * json_loadb(buf, len, GG_DOC_JSON_FLAGS) (borrowed), sha256, when not NULL,
 * the hex digest of buf. The lookup of a name@version ref parses once. */
int gg_doc_parse_tree(const char *buf, size_t len, const char *origin, json_t *root,
		      const char *sha256, struct gg_pack **pack, struct gg_bundle **bundle,
		      struct gg_err *err);

const struct gg_control *gg_pack_control(const struct gg_pack *pack, const char *id);

void gg_pack_free(struct gg_pack *pack);
/* A deep copy of pack (0 or -ENOMEM); *bytes (if bytes) the heap it takes,
 * malloc's headers included. */
int gg_pack_dup(const struct gg_pack *pack, struct gg_pack **out, size_t *bytes);
void gg_bundle_free(struct gg_bundle *bundle);

/* Parses "a.b.c.d/n" or "x::y/n"; host bits must be zero. Returns 0,
 * -EINVAL (not a CIDR), -ERANGE (prefix length out of range) or -EDOM (host
 * bits set). */
int gg_cidr_parse(const char *s, struct gg_cidr *out);

#endif
