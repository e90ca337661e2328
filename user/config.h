/* SPDX-License-Identifier: GPL-2.0 */
/* The configuration file (/etc/govgate/govgate.json) and its defaults. */
#ifndef GG_CONFIG_H
#define GG_CONFIG_H

#include "audit.h"
#include "gates.h"
#include "ref.h"

#define GG_CONFIG_DEFAULT "/etc/govgate/govgate.json"
#define GG_STATE_DIR_DEFAULT "/var/lib/govgate"
#define GG_MAX_PACKS 64
#define GG_MAX_PACK_DIRS 8

struct gg_pack_ref {
	char *ref;
	enum gg_action mode; /* GG_ACT_DENY = enforce, GG_ACT_OBSERVE */
};

struct gg_config {
	char *path; /* the file read, or NULL for built-in defaults */
	char *pin_dir;
	char *state_dir; /* applied set, compiled generations, apply journal */
	struct gg_scope scope;
	enum gg_action mode; /* agent-wide: observe turns every denial into observe */
	struct gg_pack_ref packs[GG_MAX_PACKS];
	size_t n_packs;
	/* refs */
	char *account;
	char *registry_dir;
	char *pack_dirs[GG_MAX_PACK_DIRS];
	size_t n_pack_dirs;
	char *store_dir;
	char *trust_dir;
	bool require_signatures;
	/* audit */
	char *audit_path;
	char *audit_key;
	/* audit.signing_key "per-boot": a key generated at start, kept in
	 * kernel memory for the boot, never on disk ("file": audit_key). */
	bool audit_key_per_boot;
	unsigned checkpoint_every;
	unsigned checkpoint_secs;
	unsigned long long rotate_bytes;
	unsigned rotate_secs;
	unsigned retention_days;
	unsigned ring_buffer_mib; /* the BPF ring buffer (events), a power of two */
	/* dns: the forwarder (user/dns.h). listen "off": none; upstream
	 * NULL: the first nameserver of /etc/resolv.conf, read at start. */
	char *dns_listen;
	char *dns_upstream;
	unsigned dns_ttl_min, dns_ttl_max; /* seconds */
};

/* Loads path (or the default path if it exists, or built-in defaults when
 * path is NULL and the default file is absent). */
int gg_config_load(const char *path, struct gg_config *cfg, struct gg_err *err);
void gg_config_free(struct gg_config *cfg);

/* "global" or "cgroup:/abs/path" (a relative cgroup path is taken under the
 * cgroup2 mount). */
int gg_scope_parse(const char *s, struct gg_scope *scope, struct gg_err *err);
int gg_mode_parse(const char *s, enum gg_action *mode);

void gg_config_ref_ctx(const struct gg_config *cfg, struct gg_ref_ctx *ctx);
void gg_config_audit_opts(const struct gg_config *cfg, struct gg_audit_opts *o);

#endif
