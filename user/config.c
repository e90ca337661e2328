// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "config.h"

static int set_str(char **dst, const char *val)
{
	char *s = strdup(val);

	if (!s)
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

int gg_mode_parse(const char *s, enum gg_action *mode)
{
	if (!strcmp(s, "enforce"))
		*mode = GG_ACT_DENY;
	else if (!strcmp(s, "observe"))
		*mode = GG_ACT_OBSERVE;
	else
		return -EINVAL;
	return 0;
}

int gg_scope_parse(const char *s, struct gg_scope *scope, struct gg_err *err)
{
	char root[2048];
	int ret;

	if (!strcmp(s, "global")) {
		scope->mode = GG_SCOPE_GLOBAL;
		scope->cgroup[0] = '\0';
		return 0;
	}
	if (strncmp(s, "cgroup:", 7) || !s[7])
		return gg_errf(err, -EINVAL,
			       "scope \"%s\": expected \"global\" or \"cgroup:PATH\"", s);
	scope->mode = GG_SCOPE_CGROUP;
	s += 7;
	if (s[0] == '/' && access(s, F_OK) == 0) {
		snprintf(scope->cgroup, sizeof(scope->cgroup), "%s", s);
		return 0;
	}
	ret = gg_cgroup2_root(root, sizeof(root), err);
	if (ret)
		return ret;
	snprintf(scope->cgroup, sizeof(scope->cgroup), "%s/%s", root, s[0] == '/' ? s + 1 : s);
	if (access(scope->cgroup, F_OK))
		return gg_errf(err, -errno, "scope cgroup %s: %s", scope->cgroup, strerror(errno));
	return 0;
}

static int defaults(struct gg_config *c)
{
	memset(c, 0, sizeof(*c));
	c->mode = GG_ACT_DENY;
	c->scope.mode = GG_SCOPE_GLOBAL;
	c->checkpoint_every = 256;
	c->checkpoint_secs = 10;
	c->retention_days = 7;
	c->ring_buffer_mib = 4;
	c->dns_ttl_min = 5;
	c->dns_ttl_max = 3600;
	if (set_str(&c->dns_listen, "127.0.0.1:5300") ||
	    set_str(&c->pin_dir, GG_PIN_DIR_DEFAULT) ||
	    set_str(&c->state_dir, GG_STATE_DIR_DEFAULT) ||
	    set_str(&c->registry_dir, "/var/lib/govgate/registry") ||
	    set_str(&c->store_dir, "/var/lib/govgate/store") ||
	    set_str(&c->trust_dir, "/etc/govgate/trusted-keys") ||
	    set_str(&c->audit_path, "/var/log/govgate/audit.jsonl") ||
	    set_str(&c->audit_key, "/var/lib/govgate/audit-key.pem"))
		return -ENOMEM;
	/* Shipped packs; packs/ of the source tree when run from it. */
	c->pack_dirs[c->n_pack_dirs++] = strdup("/usr/share/govgate/packs");
	if (access("packs/platform-floor.json", F_OK) == 0)
		c->pack_dirs[c->n_pack_dirs++] = realpath("packs", NULL);
	return 0;
}

/*
 * Settings are read from a table: a name, a loader and, for the plain kinds
 * (string, integer, boolean), the field's offset. Loaders run in table
 * order (exempt_cgroups after scope) and return 0 or a negative errno with
 * err set; a key that no row names is an error.
 */
struct setting;
typedef int (*setting_fn)(struct gg_config *cfg, const struct setting *s, json_t *v,
			  const char *path, struct gg_err *err);

struct setting {
	const char *name;
	setting_fn load;
	size_t off; /* of the field in struct gg_config (plain kinds) */
};

#define FIELD_PTR(cfg, s, type) ((type *)((char *)(cfg) + (s)->off))

static int load_str(struct gg_config *cfg, const struct setting *s, json_t *v,
		    const char *path, struct gg_err *err)
{
	if (!json_is_string(v))
		return gg_errf(err, -EINVAL, "%s: \"%s\" must be a string", path, s->name);
	if (set_str(FIELD_PTR(cfg, s, char *), json_string_value(v)))
		return gg_errf(err, -ENOMEM, "%s: out of memory", path);
	return 0;
}

static int load_uint(struct gg_config *cfg, const struct setting *s, json_t *v,
		     const char *path, struct gg_err *err)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > UINT_MAX)
		return gg_errf(err, -EINVAL, "%s: \"%s\" must be a non-negative integer", path,
			       s->name);
	*FIELD_PTR(cfg, s, unsigned) = json_integer_value(v);
	return 0;
}

static int load_ull(struct gg_config *cfg, const struct setting *s, json_t *v,
		    const char *path, struct gg_err *err)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return gg_errf(err, -EINVAL, "%s: \"%s\" must be a non-negative integer", path,
			       s->name);
	*FIELD_PTR(cfg, s, unsigned long long) = json_integer_value(v);
	return 0;
}

static int load_bool(struct gg_config *cfg, const struct setting *s, json_t *v,
		     const char *path, struct gg_err *err)
{
	if (!json_is_boolean(v))
		return gg_errf(err, -EINVAL, "%s: \"%s\" must be true or false", path, s->name);
	*FIELD_PTR(cfg, s, bool) = json_is_true(v);
	return 0;
}

static int load_scope(struct gg_config *cfg, const struct setting *s, json_t *v,
		      const char *path, struct gg_err *err)
{
	char why[sizeof(err->msg)];
	int ret;

	if (!json_is_string(v))
		return gg_errf(err, -EINVAL, "%s: \"scope\" must be a string", path);
	ret = gg_scope_parse(json_string_value(v), &cfg->scope, err);
	if (ret) {
		snprintf(why, sizeof(why), "%s", err->msg);
		gg_errf(err, ret, "%s: %s", path, why);
	}
	return ret;
}

static int load_mode(struct gg_config *cfg, const struct setting *s, json_t *v,
		     const char *path, struct gg_err *err)
{
	if (!json_is_string(v) || gg_mode_parse(json_string_value(v), &cfg->mode))
		return gg_errf(err, -EINVAL, "%s: \"mode\" must be \"enforce\" or \"observe\"",
			       path);
	return 0;
}

/* An array of at most max - *n strings, appended to dst[*n..]. */
static int str_array(json_t *v, const char *name, char **dst, size_t *n, size_t max,
		     const char *path, struct gg_err *err)
{
	size_t i;
	json_t *e;

	if (!json_is_array(v) || json_array_size(v) > max - *n)
		return gg_errf(err, -EINVAL, "%s: \"%s\" must be an array of at most %zu paths",
			       path, name, max);
	json_array_foreach(v, i, e) {
		if (!json_is_string(e))
			return gg_errf(err, -EINVAL, "%s: %s[%zu] must be a string", path, name, i);
		dst[*n] = strdup(json_string_value(e));
		if (!dst[*n])
			return gg_errf(err, -ENOMEM, "%s: out of memory", path);
		(*n)++;
	}
	return 0;
}

static int load_exempt(struct gg_config *cfg, const struct setting *s, json_t *v,
		       const char *path, struct gg_err *err)
{
	size_t n = cfg->scope.n_exempt;
	int ret = str_array(v, s->name, cfg->scope.exempt, &n, GG_MAX_EXEMPT, path, err);

	cfg->scope.n_exempt = n;
	return ret;
}

/* Replaces the built-in directories. */
static int load_pack_dirs(struct gg_config *cfg, const struct setting *s, json_t *v,
			  const char *path, struct gg_err *err)
{
	for (size_t i = 0; json_is_array(v) && i < cfg->n_pack_dirs; i++)
		free(cfg->pack_dirs[i]);
	if (json_is_array(v))
		cfg->n_pack_dirs = 0;
	return str_array(v, s->name, cfg->pack_dirs, &cfg->n_pack_dirs, GG_MAX_PACK_DIRS,
			 path, err);
}

/* "ref" or {"ref": ..., "mode": "enforce" | "observe"}. */
static int load_pack(json_t *e, size_t i, struct gg_pack_ref *p, const char *path,
		     struct gg_err *err)
{
	const char *ref = NULL, *mode = "enforce";

	if (json_is_string(e))
		ref = json_string_value(e);
	else if (!json_is_object(e) ||
		 json_unpack(e, "{s:s, s?:s !}", "ref", &ref, "mode", &mode))
		return gg_errf(err, -EINVAL,
			       "%s: packs[%zu] must be a ref string or {\"ref\": ..., \"mode\": ...}",
			       path, i);
	if (gg_mode_parse(mode, &p->mode))
		return gg_errf(err, -EINVAL, "%s: packs[%zu]: mode \"%s\" is not enforce or observe",
			       path, i, mode);
	p->ref = strdup(ref);
	return p->ref ? 0 : gg_errf(err, -ENOMEM, "%s: out of memory", path);
}

static int load_packs(struct gg_config *cfg, const struct setting *s, json_t *v,
		      const char *path, struct gg_err *err)
{
	size_t i;
	json_t *e;
	int ret;

	if (!json_is_array(v) || json_array_size(v) > GG_MAX_PACKS)
		return gg_errf(err, -EINVAL, "%s: \"packs\" must be an array of at most %d entries",
			       path, GG_MAX_PACKS);
	json_array_foreach(v, i, e) {
		ret = load_pack(e, i, &cfg->packs[cfg->n_packs], path, err);
		if (ret)
			return ret;
		cfg->n_packs++;
	}
	return 0;
}

static int load_audit(struct gg_config *cfg, const struct setting *s, json_t *v,
		      const char *path, struct gg_err *err);
static int load_dns(struct gg_config *cfg, const struct setting *s, json_t *v,
		    const char *path, struct gg_err *err);

/* audit.signing_key: "file" (the key at audit.key) or "per-boot". */
static int load_signing_key(struct gg_config *cfg, const struct setting *s, json_t *v,
			    const char *path, struct gg_err *err)
{
	const char *k = json_string_value(v);

	if (!k || (strcmp(k, "file") && strcmp(k, "per-boot")))
		return gg_errf(err, -EINVAL, "%s: audit %s must be \"file\" or \"per-boot\"",
			       path, s->name);
	cfg->audit_key_per_boot = !strcmp(k, "per-boot");
	return 0;
}

/* The kernel wants a power of two; 1 GiB is far more than a burst needs.
 * 0 is the default, as for every integer audit key. */
static int load_ring(struct gg_config *cfg, const struct setting *s, json_t *v,
		     const char *path, struct gg_err *err)
{
	json_int_t n = json_is_integer(v) ? json_integer_value(v) : -1;

	if (n < 0 || n > 1024 || (n & (n - 1)))
		return gg_errf(err, -EINVAL,
			       "%s: \"ring_buffer_mib\" must be a power of two from 1 to 1024", path);
	cfg->ring_buffer_mib = n ? n : 4;
	return 0;
}

#define FIELD(name, fn, field) { name, fn, offsetof(struct gg_config, field) }

static const struct setting settings[] = {
	FIELD("pin_dir", load_str, pin_dir),
	FIELD("state_dir", load_str, state_dir),
	FIELD("account", load_str, account),
	FIELD("registry_dir", load_str, registry_dir),
	FIELD("store_dir", load_str, store_dir),
	FIELD("trust_dir", load_str, trust_dir),
	{ "scope", load_scope },
	{ "exempt_cgroups", load_exempt },
	{ "mode", load_mode },
	FIELD("require_signatures", load_bool, require_signatures),
	{ "pack_dirs", load_pack_dirs },
	{ "packs", load_packs },
	{ "audit", load_audit },
	{ "dns", load_dns },
	{},
};

static const struct setting audit_settings[] = {
	FIELD("path", load_str, audit_path),
	FIELD("key", load_str, audit_key),
	{ "signing_key", load_signing_key },
	FIELD("checkpoint_every", load_uint, checkpoint_every),
	FIELD("checkpoint_secs", load_uint, checkpoint_secs),
	FIELD("rotate_bytes", load_ull, rotate_bytes),
	FIELD("rotate_secs", load_uint, rotate_secs),
	FIELD("retention_days", load_uint, retention_days),
	{ "ring_buffer_mib", load_ring },
	{},
};

static const struct setting dns_settings[] = {
	FIELD("listen", load_str, dns_listen),
	FIELD("upstream", load_str, dns_upstream),
	FIELD("ttl_min", load_uint, dns_ttl_min),
	FIELD("ttl_max", load_uint, dns_ttl_max),
	{},
};

/* obj's settings by tab; what names the section in errors ("" or "audit "). */
static int load_settings(struct gg_config *cfg, const struct setting *tab, json_t *obj,
			 const char *what, const char *path, struct gg_err *err)
{
	const char *key;
	json_t *v;
	int ret;

	json_object_foreach(obj, key, v) {
		const struct setting *s = tab;

		while (s->name && strcmp(s->name, key))
			s++;
		if (!s->name)
			return gg_errf(err, -EINVAL, "%s: unknown %ssetting \"%s\"", path, what, key);
	}
	for (const struct setting *s = tab; s->name; s++) {
		v = json_object_get(obj, s->name);
		ret = v ? s->load(cfg, s, v, path, err) : 0;
		if (ret)
			return ret;
	}
	return 0;
}

static int load_audit(struct gg_config *cfg, const struct setting *s, json_t *v,
		      const char *path, struct gg_err *err)
{
	if (!json_is_object(v))
		return gg_errf(err, -EINVAL, "%s: \"audit\" must be an object", path);
	return load_settings(cfg, audit_settings, v, "audit ", path, err);
}

static int load_dns(struct gg_config *cfg, const struct setting *s, json_t *v,
		    const char *path, struct gg_err *err)
{
	int ret;

	if (!json_is_object(v))
		return gg_errf(err, -EINVAL, "%s: \"dns\" must be an object", path);
	ret = load_settings(cfg, dns_settings, v, "dns ", path, err);
	if (!ret && cfg->dns_ttl_min > cfg->dns_ttl_max)
		ret = gg_errf(err, -EINVAL, "%s: dns \"ttl_min\" is above \"ttl_max\"", path);
	return ret;
}

int gg_config_load(const char *path, struct gg_config *cfg, struct gg_err *err)
{
	json_error_t jerr;
	json_t *doc;
	int ret;

	ret = defaults(cfg);
	if (ret)
		return gg_errf(err, ret, "out of memory");
	if (!path) {
		if (access(GG_CONFIG_DEFAULT, F_OK))
			return 0;
		path = GG_CONFIG_DEFAULT;
	}
	cfg->path = strdup(path);
	doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc)
		return gg_errf(err, -EINVAL, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
	if (json_is_object(doc))
		ret = load_settings(cfg, settings, doc, "", path, err);
	else
		ret = gg_errf(err, -EINVAL, "%s: top level must be an object", path);
	json_decref(doc);
	return ret;
}

void gg_config_free(struct gg_config *c)
{
	free(c->path);
	free(c->pin_dir);
	free(c->state_dir);
	for (size_t i = 0; i < c->n_packs; i++)
		free(c->packs[i].ref);
	for (unsigned i = 0; i < c->scope.n_exempt; i++)
		free(c->scope.exempt[i]);
	free(c->account);
	free(c->registry_dir);
	for (size_t i = 0; i < c->n_pack_dirs; i++)
		free(c->pack_dirs[i]);
	free(c->store_dir);
	free(c->trust_dir);
	free(c->audit_path);
	free(c->audit_key);
	free(c->dns_listen);
	free(c->dns_upstream);
	memset(c, 0, sizeof(*c));
}

void gg_config_ref_ctx(const struct gg_config *c, struct gg_ref_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->registry_dir = c->registry_dir;
	ctx->account = c->account;
	ctx->pack_dirs = (const char *const *)c->pack_dirs;
	ctx->n_pack_dirs = c->n_pack_dirs;
	ctx->store_dir = c->store_dir;
	ctx->trust_dir = c->trust_dir;
	ctx->require_signatures = c->require_signatures;
}

void gg_config_audit_opts(const struct gg_config *c, struct gg_audit_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->path = c->audit_path;
	o->key_path = c->audit_key;
	o->checkpoint_every = c->checkpoint_every;
	o->checkpoint_secs = c->checkpoint_secs;
	o->rotate_bytes = c->rotate_bytes;
	o->rotate_secs = c->rotate_secs;
	o->retention_days = c->retention_days;
}
