// SPDX-License-Identifier: GPL-2.0
/* The configuration file (user/config.c) and the dry-run policy build
 * (floor + packs, user/apply.c): no kernel needed. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "apply.h"
#include "config.h"

static char *write_tmp(const char *text)
{
	char *path = strdup("/tmp/gg-test-config-XXXXXX");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_defaults_without_file(void **state)
{
	struct gg_config cfg;
	struct gg_err err;
	char *path = write_tmp("{}");

	assert_int_equal(gg_config_load(path, &cfg, &err), 0);
	assert_string_equal(cfg.pin_dir, GG_PIN_DIR_DEFAULT);
	assert_string_equal(cfg.audit_path, "/var/log/govgate/audit.jsonl");
	assert_int_equal(cfg.mode, GG_ACT_DENY);
	assert_int_equal(cfg.scope.mode, GG_SCOPE_GLOBAL);
	assert_int_equal(cfg.retention_days, 7);
	assert_int_equal(cfg.ring_buffer_mib, 4);
	gg_config_free(&cfg);
	unlink(path);
	free(path);
}

static void test_every_key(void **state)
{
	struct gg_config cfg;
	struct gg_err err;
	char *path = write_tmp(
		"{\"pin_dir\": \"/sys/fs/bpf/x\", \"state_dir\": \"/tmp/s\", \"mode\": \"observe\","
		" \"packs\": [\"a@v1\", {\"ref\": \"b@v1\", \"mode\": \"observe\"}],"
		" \"account\": \"acme\", \"pack_dirs\": [\"/p1\", \"/p2\"], \"require_signatures\": true,"
		" \"exempt_cgroups\": [\"/sys/fs/cgroup/mmds\"],"
		" \"audit\": {\"path\": \"/tmp/a.jsonl\", \"checkpoint_every\": 9, \"retention_days\": 3,"
		" \"ring_buffer_mib\": 64}}");

	assert_int_equal(gg_config_load(path, &cfg, &err), 0);
	assert_string_equal(cfg.pin_dir, "/sys/fs/bpf/x");
	assert_int_equal(cfg.mode, GG_ACT_OBSERVE);
	assert_int_equal(cfg.n_packs, 2);
	assert_string_equal(cfg.packs[0].ref, "a@v1");
	assert_int_equal(cfg.packs[0].mode, GG_ACT_DENY);
	assert_int_equal(cfg.packs[1].mode, GG_ACT_OBSERVE);
	assert_string_equal(cfg.account, "acme");
	assert_int_equal(cfg.n_pack_dirs, 2);
	assert_string_equal(cfg.pack_dirs[1], "/p2");
	assert_true(cfg.require_signatures);
	assert_int_equal(cfg.scope.n_exempt, 1);
	assert_string_equal(cfg.audit_path, "/tmp/a.jsonl");
	assert_int_equal(cfg.checkpoint_every, 9);
	assert_int_equal(cfg.retention_days, 3);
	assert_int_equal(cfg.ring_buffer_mib, 64);
	gg_config_free(&cfg);
	unlink(path);
	free(path);
}

/* Each bad config names the file and the setting. */
static void test_errors(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "{\"pin_dirr\": \"/x\"}", "unknown setting \"pin_dirr\"" },
		{ "{\"mode\": \"strict\"}", "\"mode\" must be" },
		{ "{\"scope\": \"everything\"}", "scope \"everything\"" },
		{ "{\"packs\": [{\"ref\": \"a@v1\", \"mode\": \"loud\"}]}", "packs[0]: mode \"loud\"" },
		{ "{\"packs\": [{\"ref\": \"a@v1\", \"extra\": 1}]}", "packs[0] must be" },
		{ "{\"audit\": {\"rotate\": 1}}", "unknown audit setting \"rotate\"" },
		{ "{\"audit\": {\"retention_days\": -1}}", "\"retention_days\" must be" },
		{ "{\"require_signatures\": \"yes\"}", "\"require_signatures\" must be" },
		{ "{\"pin_dir\": \"/x\",}", ":1:" },
		{ "{\"pin_dir\": 1}", "\"pin_dir\" must be a string" },
		{ "{\"exempt_cgroups\": \"/x\"}", "\"exempt_cgroups\" must be an array" },
		{ "{\"pack_dirs\": [\"/a\", 3]}", "pack_dirs[1] must be a string" },
		{ "{\"audit\": []}", "\"audit\" must be an object" },
		{ "{\"audit\": {\"checkpoint_secs\": 4294967296}}", "\"checkpoint_secs\" must be" },
		{ "{\"audit\": {\"ring_buffer_mib\": 48}}", "\"ring_buffer_mib\" must be a power" },
		{ "{\"audit\": {\"ring_buffer_mib\": -4}}", "\"ring_buffer_mib\" must be a power" },
		{ "{\"audit\": {\"ring_buffer_mib\": 2048}}", "\"ring_buffer_mib\" must be a power" },
		{ "{\"audit\": {\"ring_buffer_mib\": \"8\"}}", "\"ring_buffer_mib\" must be a power" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct gg_config cfg;
		struct gg_err err = {};
		char *path = write_tmp(cases[i].text);

		assert_int_not_equal(gg_config_load(path, &cfg, &err), 0);
		if (!strstr(err.msg, cases[i].want) || !strstr(err.msg, path))
			fail_msg("case %zu: \"%s\" lacks \"%s\" or the file name", i, err.msg,
				 cases[i].want);
		gg_config_free(&cfg);
		unlink(path);
		free(path);
	}
}

static void test_floor_is_valid_and_complete(void **state)
{
	struct gg_pack *floor = NULL;
	struct gg_err err;
	bool exec = false, egress = false, module = false;

	assert_int_equal(gg_floor_pack(&floor, &err), 0);
	assert_string_equal(floor->ref, "floor");
	for (size_t i = 0; i < floor->n_rules; i++) {
		exec |= floor->rules[i].gate == GG_GATE_EXEC;
		egress |= floor->rules[i].gate == GG_GATE_EGRESS;
		module |= floor->rules[i].gate == GG_GATE_MODULE && floor->rules[i].module_all;
	}
	assert_true(exec && egress && module);
	gg_pack_free(floor);
}

static struct gg_config source_tree_cfg(void)
{
	struct gg_config cfg;
	struct gg_err err;
	char *path = write_tmp("{\"pack_dirs\": [\"packs\"], \"trust_dir\": \"/nonexistent\"}");

	assert_int_equal(gg_config_load(path, &cfg, &err), 0);
	unlink(path);
	free(path);
	return cfg;
}

static const struct gg_entry *entry_for_name(const struct gg_compiled *c, const char *name)
{
	for (size_t i = 0; i < c->n_exec_names; i++)
		if (!strcmp(c->exec_names[i].name, name))
			return gg_compiled_entry(c, c->exec_names[i].v.entry);
	return NULL;
}

static bool has(char **list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(list[i], s))
			return true;
	return false;
}

/* Floor alone, then floor + a pack: the pack adds controls to the floor's
 * denial of nc, never removes it. */
static void test_build_floor_plus_pack(void **state)
{
	struct gg_config cfg = source_tree_cfg();
	struct gg_pack_ref ref = { .ref = "owasp-llm-top10@v1", .mode = GG_ACT_DENY };
	struct gg_compiled *floor_only = NULL, *both = NULL;
	const struct gg_entry *e;
	struct gg_err err;

	if (gg_policy_build(&cfg, NULL, 0, &floor_only, NULL, NULL, &err))
		fail_msg("floor only: %s", err.msg);
	e = entry_for_name(floor_only, "nc");
	assert_non_null(e);
	assert_int_equal(e->action, GG_ACT_DENY);
	assert_true(has(e->controls, e->n_controls, "FLOOR-EXEC-LOTL"));
	assert_false(has(e->controls, e->n_controls, "LLM06:2025"));
	assert_int_equal(floor_only->module.action, GG_ACT_DENY);

	if (gg_policy_build(&cfg, &ref, 1, &both, NULL, NULL, &err))
		fail_msg("floor + owasp: %s", err.msg);
	e = entry_for_name(both, "nc");
	assert_non_null(e);
	assert_int_equal(e->action, GG_ACT_DENY);
	assert_true(has(e->controls, e->n_controls, "FLOOR-EXEC-LOTL"));
	assert_true(has(e->controls, e->n_controls, "LLM06:2025"));
	assert_true(has(e->frameworks, e->n_frameworks, "owasp-llm"));
	gg_compiled_free(floor_only);
	gg_compiled_free(both);
	gg_config_free(&cfg);
}

/* An observe-mode pack cannot weaken the floor: nc stays denied; a key only
 * the pack names is observed. */
static void test_build_observe_pack_never_weakens_floor(void **state)
{
	struct gg_config cfg = source_tree_cfg();
	struct gg_pack_ref ref = { .ref = "baseline-hardening@v1", .mode = GG_ACT_OBSERVE };
	struct gg_compiled *c = NULL;
	const struct gg_entry *e;
	struct gg_err err;
	bool saw_observe = false;

	if (gg_policy_build(&cfg, &ref, 1, &c, NULL, NULL, &err))
		fail_msg("%s", err.msg);
	e = entry_for_name(c, "nc");
	assert_non_null(e);
	assert_int_equal(e->action, GG_ACT_DENY);
	for (size_t i = 0; i < c->n_egress_progs; i++)
		saw_observe |= !strcmp(c->egress_progs[i].name, "bash");
	assert_true(saw_observe); /* the pack's program rules are in */
	gg_compiled_free(c);
	gg_config_free(&cfg);
}

/* The agent-wide observe mode turns the floor into observe as well. */
static void test_build_agent_observe(void **state)
{
	struct gg_config cfg = source_tree_cfg();
	struct gg_compiled *c = NULL;
	const struct gg_entry *e;
	struct gg_err err;

	cfg.mode = GG_ACT_OBSERVE;
	if (gg_policy_build(&cfg, NULL, 0, &c, NULL, NULL, &err))
		fail_msg("%s", err.msg);
	e = entry_for_name(c, "nc");
	assert_non_null(e);
	assert_int_equal(e->action, GG_ACT_OBSERVE);
	assert_int_equal(c->module.action, GG_ACT_OBSERVE);
	gg_compiled_free(c);
	gg_config_free(&cfg);
}

/* A bad ref fails the whole build with an error naming it. */
static void test_build_unknown_ref(void **state)
{
	struct gg_config cfg = source_tree_cfg();
	struct gg_pack_ref refs[2] = { { "owasp-llm-top10@v1", GG_ACT_DENY },
				       { "no-such-pack@v9", GG_ACT_DENY } };
	struct gg_compiled *c = NULL;
	struct gg_err err = {};

	assert_int_not_equal(gg_policy_build(&cfg, refs, 2, &c, NULL, NULL, &err), 0);
	assert_null(c);
	assert_non_null(strstr(err.msg, "no-such-pack@v9"));
	gg_config_free(&cfg);
}

/* A cgroup's id is its inode number; the path comes back from the id and
 * stops resolving once the cgroup is gone. */
static void test_cgroup_path_by_id(void **state)
{
	char root[4096], dir[4200], got[4200];
	struct gg_err err = {};
	struct stat st;

	assert_int_equal(gg_cgroup2_root(root, sizeof(root), &err), 0);
	assert_int_equal(stat(root, &st), 0);
	snprintf(dir, sizeof(dir), "%s/gg-unit-%d", root, getpid());
	if (mkdir(dir, 0755))
		skip(); /* needs root and a writable cgroup2 */
	assert_int_equal(stat(dir, &st), 0);
	if (gg_cgroup_path(st.st_ino, got, sizeof(got)) == -EPERM) {
		rmdir(dir);
		skip(); /* open_by_handle_at needs CAP_DAC_READ_SEARCH */
	}
	assert_int_equal(gg_cgroup_path(st.st_ino, got, sizeof(got)), 0);
	assert_string_equal(got, dir);
	assert_int_equal(rmdir(dir), 0);
	assert_int_equal(gg_cgroup_path(st.st_ino, got, sizeof(got)), -ENOENT);
	assert_string_equal(got, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_without_file),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_floor_is_valid_and_complete),
		cmocka_unit_test(test_build_floor_plus_pack),
		cmocka_unit_test(test_build_observe_pack_never_weakens_floor),
		cmocka_unit_test(test_build_agent_observe),
		cmocka_unit_test(test_build_unknown_ref),
		cmocka_unit_test(test_cgroup_path_by_id),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
