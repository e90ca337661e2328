/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The compiler: platform floor + packs -> the map entries of one policy
 * slot. Tighten-only by construction: every rule denies (or observes), the
 * result is the union, and where several rules hit the same key they are
 * merged into one entry that carries all their controls; its action is deny
 * if any contributing pack is in enforce mode.
 */
#ifndef GG_COMPILE_H
#define GG_COMPILE_H

#include "allowlist.h"
#include "pack.h"

struct gg_policy_input {
	const struct gg_pack *pack;
	enum gg_action mode; /* GG_ACT_DENY (enforce) or GG_ACT_OBSERVE */
	bool is_floor; /* the built-in platform floor: its rules are labelled "floor"
			* (the caller passes GG_ACT_DENY unless the agent observes) */
};

struct gg_entry_rule {
	char *pack; /* pack->ref if set, else "name@version"; "floor" for the floor */
	char *rule;
	char *framework; /* pack's framework id */
	enum gg_action mode; /* the pack's mode: GG_ACT_DENY (enforce) or GG_ACT_OBSERVE */
	char **controls; /* this rule's own control ids, sorted, unique */
	size_t n_controls;
};

/* One decision an event can point at (entry ids start at 1). */
struct gg_entry {
	__u32 id;
	enum gg_gate gate;
	enum gg_action action;
	struct gg_entry_rule *rules; /* sorted, unique */
	size_t n_rules;
	/* What the action satisfies (sorted, unique): for deny, the controls
	 * and frameworks of the deny-mode rules only; for observe, of every
	 * rule (all observe). Observe-mode rules riding on a deny entry keep
	 * theirs in rules[].controls (JSON: also observed_controls/frameworks). */
	char **controls;
	size_t n_controls;
	char **frameworks;
	size_t n_frameworks;
	/* Loaded from a record written before rules carried their controls:
	 * the rules' lists are empty and controls is the union over every
	 * rule, whatever its mode (the old meaning). */
	bool rule_controls_unknown;
};

struct gg_c_exec_path {
	char path[GG_PATH_MAX];
	struct gg_verdict v;
};

struct gg_c_exec_name {
	char name[GG_NAME_MAX];
	struct gg_verdict v;
};

struct gg_c_exec_inode {
	__u64 dev; /* kernel encoding: major << 20 | minor */
	__u64 ino;
	char *source; /* the identity path it was resolved from */
	char *from; /* the rule key behind it: "identity", "basename nc", "path /x" */
	struct gg_verdict v;
};

/* A content digest: listed in a pack, or hashed from a resolved file. */
struct gg_c_exec_digest {
	__u8 sha256[GG_SHA256_LEN];
	char *source; /* the file hashed; NULL for a pack's "sha256" */
	char *from; /* "sha256", "basename nc", "path /x" */
	struct gg_verdict v;
};

/* A digest on trust lists: bit N = the policy's trust list N. */
struct gg_c_exec_trust {
	__u8 sha256[GG_SHA256_LEN];
	__u32 lists;
};

/* One LPM node. prog = 0: every process. */
struct gg_c_egress {
	int family; /* AF_INET / AF_INET6 */
	__u32 prog;
	__u8 addr[16];
	int plen;
	struct gg_egress_val val;
};

struct gg_c_egress_port {
	__u32 node;
	__u16 port; /* 0 = any */
	__u8 proto; /* 0 = any */
	struct gg_verdict v;
};

/* A program rule set. prog ids 1..n are the names, in name order; after
 * them, one combined prog per set of names that resolved to one file (sh
 * and dash, say): its name is the names joined by ',' (cut at
 * GG_NAME_MAX), its rules those of every name, and it is reached only
 * through egress_prog_inode and egress_prog_digest. */
struct gg_c_egress_prog {
	char name[GG_NAME_MAX];
	__u32 prog;
	__u32 skip_loopback;
	bool combined;
};

/* A file a "programs" name resolved to at apply: by identity (dev, ino)
 * in egress_prog_inodes, by content (sha256) in egress_prog_digests. */
struct gg_c_egress_prog_file {
	__u64 dev; /* kernel encoding */
	__u64 ino;
	__u8 sha256[GG_SHA256_LEN];
	__u32 prog;
	char *source; /* the file found */
};

/* One applied egress allowlist: list N is bit 1 << N. */
struct gg_c_allow_list {
	char *pack; /* the input's label */
	struct gg_verdict v; /* what a destination missing from it is */
};

/* A domain entry of list `list`: compiled into the user-space pattern set
 * only (the names the DNS forwarder will learn addresses from). */
struct gg_c_allow_domain {
	char *pattern; /* "pypi.org", "*.openai.com" (A-label form) */
	__u32 list;
	__u16 *ports;
	size_t n_ports;
	int proto;
};

struct gg_compiled {
	struct gg_entry *entries; /* entries[i].id == i + 1 */
	size_t n_entries;
	struct gg_c_exec_path *exec_paths;
	size_t n_exec_paths;
	struct gg_c_exec_name *exec_names;
	size_t n_exec_names;
	struct gg_c_exec_inode *exec_inodes;
	size_t n_exec_inodes;
	struct gg_c_exec_digest *exec_digests;
	size_t n_exec_digests;
	/* Trust lists (trusted-executables mode): the digests, sorted, and
	 * the verdict of each list, in input order. */
	struct gg_c_exec_trust *exec_trust;
	size_t n_exec_trust;
	struct gg_verdict trust_lists[GG_TRUST_LISTS_MAX];
	size_t n_trust_lists;
	struct gg_c_egress *egress; /* v4 and v6 nodes */
	size_t n_egress;
	struct gg_c_egress_port *egress_ports;
	size_t n_egress_ports;
	struct gg_c_egress_prog *egress_progs;
	size_t n_egress_progs;
	struct gg_c_egress_prog_file *egress_prog_inodes;
	size_t n_egress_prog_inodes;
	struct gg_c_egress_prog_file *egress_prog_digests;
	size_t n_egress_prog_digests;
	struct gg_verdict module;
	struct gg_verdict kexec; /* kernel.module {"kexec": true} */
	struct gg_verdict sockets[GG_SOCK_KINDS]; /* net.egress "sockets", by kind */
	struct gg_c_allow_list *allow_lists; /* egress allowlists, by bit */
	size_t n_allow_lists;
	struct gg_allow_node *allow_nodes; /* their CIDR entries, folded */
	size_t n_allow_nodes;
	struct gg_allow_port *allow_ports;
	size_t n_allow_ports;
	struct gg_c_allow_domain *allow_domains;
	size_t n_allow_domains;
	char **refs; /* the inputs in order with their mode: "owasp-llm-top10@v1 (observe)" */
	size_t n_refs;
};

/* What made the resolver look at a file. */
enum gg_id_from {
	GG_ID_IDENTITY = 0, /* the rule's "identities" */
	GG_ID_BASENAME = 1, /* a denied basename found in a search directory */
	GG_ID_PATH = 2, /* a denied path that exists here */
	GG_ID_PROGRAM = 3, /* a net.egress "programs" name found in a search directory */
};

/* A file a cmd.exec rule (or a net.egress rule's "programs") names, resolved to its identity (and, when
 * resolving names, its content digest). */
struct gg_identity {
	size_t input, rule; /* the rule: in[input].pack->rules[rule] */
	enum gg_id_from from;
	const char *path; /* the rule's string (not a copy) */
	char *file; /* the file found (owned); NULL: path itself */
	__u64 dev; /* kernel encoding: major << 20 | minor */
	__u64 ino;
	bool has_digest;
	__u8 sha256[GG_SHA256_LEN];
};

/* Name resolution at apply and run: the denied basenames are looked for in
 * dirs, the denied paths where they are, and every file found is hashed,
 * so a rule keeps denying the tool under another name or as a copy. */
struct gg_resolve_opts {
	const char *const *dirs; /* NULL-terminated */
};

/* A file's digest is reused by later resolutions only if its ctime was
 * this many seconds old when it was hashed (64; tests change it). */
extern int gg_digest_settle_s;

/* A name found absent is kept (gg_compile_keep_absent) only if its
 * directory had not changed for this many seconds (2; tests change it);
 * the lookups made, counted for the tests. */
extern int gg_dir_settle_s;
extern unsigned long gg_resolve_lookups;

/* The directories of a standard PATH. */
extern const struct gg_resolve_opts gg_resolve_standard;

/* Resolves every cmd.exec identity of the inputs with stat() (following
 * symlinks), in input, rule, identity order, then (opts given) the denied
 * basenames and paths, with digests (an identity stays an inode only): the
 * compiler's only look at the filesystem. Free *ids with
 * gg_identities_free. */
int gg_identities_resolve(const struct gg_policy_input *in, size_t n,
			  const struct gg_resolve_opts *opts, struct gg_identity **ids,
			  size_t *n_ids, struct gg_err *err);
void gg_identities_free(struct gg_identity *ids, size_t n);

/* Compiles inputs (the floor first, then packs in the order given) with the
 * identities gg_identities_resolve gave for them. A pure function: the same
 * inputs and identities give byte-identical JSON. */
int gg_compile_resolved(const struct gg_policy_input *in, size_t n,
			const struct gg_identity *ids, size_t n_ids, struct gg_compiled **out,
			struct gg_err *err);

/* A process that resolves again and again (the daemon) can keep the names
 * found absent from one resolution to the next, each while its directory
 * is unchanged (user/compile.c); off frees them. */
void gg_compile_keep_absent(bool on);
/* Drops the names kept, leaving the mode as it is: the watch, when a file
 * appears, does not rely on the directories' times (a root task can set
 * the clock). */
void gg_compile_forget_absent(void);

/* gg_identities_resolve, then gg_compile_resolved. */
int gg_compile_opts(const struct gg_policy_input *in, size_t n,
		    const struct gg_resolve_opts *opts, struct gg_compiled **out,
		    struct gg_err *err);

/* gg_compile_opts without name resolution: rule identities only. */
int gg_compile(const struct gg_policy_input *in, size_t n, struct gg_compiled **out,
	       struct gg_err *err);

/* SHA-256 helpers: hex is lower case, 64 digits + NUL. */
void gg_digest_hex(const __u8 sha256[GG_SHA256_LEN], char hex[2 * GG_SHA256_LEN + 1]);
int gg_digest_parse(const char *hex, __u8 sha256[GG_SHA256_LEN]);
int gg_file_sha256(const char *path, __u8 sha256[GG_SHA256_LEN]);

/* The entry an event points at, or NULL. */
const struct gg_entry *gg_compiled_entry(const struct gg_compiled *c, __u32 id);

void gg_compiled_free(struct gg_compiled *c);

#endif
