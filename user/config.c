// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
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
	if (set_str(&c->pin_dir, GG_PIN_DIR_DEFAULT) ||
	    set_str(&c->state_dir, "/var/lib/govgate") ||
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

static const char *const known_keys[] = {
	"pin_dir", "state_dir", "scope", "exempt_cgroups", "mode", "packs", "account",
	"registry_dir", "pack_dirs", "store_dir", "trust_dir", "require_signatures", "audit",
	NULL,
};

static const char *const known_audit_keys[] = {
	"path", "key", "checkpoint_every", "checkpoint_secs", "rotate_bytes", "rotate_secs",
	"retention_days", NULL,
};

static const char *unknown_key(json_t *obj, const char *const *known)
{
	const char *key;
	json_t *val;

	json_object_foreach(obj, key, val) {
		bool found = false;

		for (int i = 0; known[i]; i++)
			found |= !strcmp(key, known[i]);
		if (!found)
			return key;
	}
	return NULL;
}

#define STR_OPT(obj, name, dst)                                                              \
	do {                                                                                 \
		json_t *v_ = json_object_get(obj, name);                                     \
		if (v_ && !json_is_string(v_)) {                                             \
			ret = gg_errf(err, -EINVAL, "%s: \"%s\" must be a string", path, name); \
			goto cleanup;                                                        \
		}                                                                            \
		if (v_ && set_str(dst, json_string_value(v_))) {                             \
			ret = -ENOMEM;                                                       \
			goto cleanup;                                                        \
		}                                                                            \
	} while (0)

#define UINT_OPT(obj, name, dst)                                                              \
	do {                                                                                  \
		json_t *v_ = json_object_get(obj, name);                                      \
		if (v_ && (!json_is_integer(v_) || json_integer_value(v_) < 0)) {             \
			ret = gg_errf(err, -EINVAL, "%s: \"%s\" must be a non-negative integer", \
				      path, name);                                            \
			goto cleanup;                                                         \
		}                                                                             \
		if (v_)                                                                       \
			*(dst) = json_integer_value(v_);                                      \
	} while (0)

int gg_config_load(const char *path, struct gg_config *cfg, struct gg_err *err)
{
	json_error_t jerr;
	json_t *doc = NULL, *v, *audit;
	const char *bad;
	size_t i;
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
	if (!json_is_object(doc)) {
		ret = gg_errf(err, -EINVAL, "%s: top level must be an object", path);
		goto cleanup;
	}
	bad = unknown_key(doc, known_keys);
	if (bad) {
		ret = gg_errf(err, -EINVAL, "%s: unknown setting \"%s\"", path, bad);
		goto cleanup;
	}
	STR_OPT(doc, "pin_dir", &cfg->pin_dir);
	STR_OPT(doc, "state_dir", &cfg->state_dir);
	STR_OPT(doc, "account", &cfg->account);
	STR_OPT(doc, "registry_dir", &cfg->registry_dir);
	STR_OPT(doc, "store_dir", &cfg->store_dir);
	STR_OPT(doc, "trust_dir", &cfg->trust_dir);
	v = json_object_get(doc, "scope");
	if (v) {
		if (!json_is_string(v)) {
			ret = gg_errf(err, -EINVAL, "%s: \"scope\" must be a string", path);
			goto cleanup;
		}
		ret = gg_scope_parse(json_string_value(v), &cfg->scope, err);
		if (ret) {
			char why[sizeof(err->msg)];

			snprintf(why, sizeof(why), "%s", err->msg);
			ret = gg_errf(err, ret, "%s: %s", path, why);
			goto cleanup;
		}
	}
	v = json_object_get(doc, "exempt_cgroups");
	if (v) {
		json_t *e;

		if (!json_is_array(v) || json_array_size(v) > GG_MAX_EXEMPT) {
			ret = gg_errf(err, -EINVAL, "%s: \"exempt_cgroups\" must be an array of at most %d paths",
				      path, GG_MAX_EXEMPT);
			goto cleanup;
		}
		json_array_foreach(v, i, e) {
			if (!json_is_string(e)) {
				ret = gg_errf(err, -EINVAL, "%s: exempt_cgroups[%zu] must be a string", path, i);
				goto cleanup;
			}
			cfg->scope.exempt[cfg->scope.n_exempt++] = strdup(json_string_value(e));
		}
	}
	v = json_object_get(doc, "mode");
	if (v && (!json_is_string(v) || gg_mode_parse(json_string_value(v), &cfg->mode))) {
		ret = gg_errf(err, -EINVAL, "%s: \"mode\" must be \"enforce\" or \"observe\"", path);
		goto cleanup;
	}
	v = json_object_get(doc, "require_signatures");
	if (v) {
		if (!json_is_boolean(v)) {
			ret = gg_errf(err, -EINVAL, "%s: \"require_signatures\" must be true or false", path);
			goto cleanup;
		}
		cfg->require_signatures = json_is_true(v);
	}
	v = json_object_get(doc, "pack_dirs");
	if (v) {
		json_t *e;

		if (!json_is_array(v) || json_array_size(v) > GG_MAX_PACK_DIRS) {
			ret = gg_errf(err, -EINVAL, "%s: \"pack_dirs\" must be an array of at most %d paths",
				      path, GG_MAX_PACK_DIRS);
			goto cleanup;
		}
		for (i = 0; i < cfg->n_pack_dirs; i++)
			free(cfg->pack_dirs[i]);
		cfg->n_pack_dirs = 0;
		json_array_foreach(v, i, e) {
			if (!json_is_string(e)) {
				ret = gg_errf(err, -EINVAL, "%s: pack_dirs[%zu] must be a string", path, i);
				goto cleanup;
			}
			cfg->pack_dirs[cfg->n_pack_dirs++] = strdup(json_string_value(e));
		}
	}
	v = json_object_get(doc, "packs");
	if (v) {
		json_t *e;

		if (!json_is_array(v) || json_array_size(v) > GG_MAX_PACKS) {
			ret = gg_errf(err, -EINVAL, "%s: \"packs\" must be an array of at most %d entries",
				      path, GG_MAX_PACKS);
			goto cleanup;
		}
		json_array_foreach(v, i, e) {
			struct gg_pack_ref *p = &cfg->packs[cfg->n_packs];
			const char *ref = NULL, *mode = "enforce";

			if (json_is_string(e)) {
				ref = json_string_value(e);
			} else if (json_is_object(e) &&
				   json_unpack(e, "{s:s, s?:s !}", "ref", &ref, "mode", &mode) == 0) {
			} else {
				ret = gg_errf(err, -EINVAL,
					      "%s: packs[%zu] must be a ref string or {\"ref\": ..., \"mode\": ...}",
					      path, i);
				goto cleanup;
			}
			if (gg_mode_parse(mode, &p->mode)) {
				ret = gg_errf(err, -EINVAL, "%s: packs[%zu]: mode \"%s\" is not enforce or observe",
					      path, i, mode);
				goto cleanup;
			}
			p->ref = strdup(ref);
			cfg->n_packs++;
		}
	}
	audit = json_object_get(doc, "audit");
	if (audit) {
		if (!json_is_object(audit)) {
			ret = gg_errf(err, -EINVAL, "%s: \"audit\" must be an object", path);
			goto cleanup;
		}
		bad = unknown_key(audit, known_audit_keys);
		if (bad) {
			ret = gg_errf(err, -EINVAL, "%s: unknown audit setting \"%s\"", path, bad);
			goto cleanup;
		}
		STR_OPT(audit, "path", &cfg->audit_path);
		STR_OPT(audit, "key", &cfg->audit_key);
		UINT_OPT(audit, "checkpoint_every", &cfg->checkpoint_every);
		UINT_OPT(audit, "checkpoint_secs", &cfg->checkpoint_secs);
		UINT_OPT(audit, "rotate_bytes", &cfg->rotate_bytes);
		UINT_OPT(audit, "rotate_secs", &cfg->rotate_secs);
		UINT_OPT(audit, "retention_days", &cfg->retention_days);
	}
	ret = 0;
cleanup:
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
