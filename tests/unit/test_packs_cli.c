// SPDX-License-Identifier: GPL-2.0
/* govgate packs list|show (user/cli/packs.c): the list resolves each
 * name@version as the resolver does (registry first), lists bundles, and
 * says where each entry came from, its digest and its signature status;
 * show prints every field of a control. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"
#include <jansson.h>

#include "cli.h"
#include "sign.h"

struct fx {
	char *root;
	char path[16][512];
	int next;
	char cfg_path[512];
};

static const char *P(struct fx *f, const char *fmt, ...)
{
	char *p = f->path[f->next++ % 16], rel[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	snprintf(p, sizeof(f->path[0]), "%s/%s", f->root, rel);
	return p;
}

static void put_pack(const char *path, const char *name, const char *version, const char *title)
{
	fx_put_pack(path, name, version, "d", title, "nc");
}

static void sign_with(struct fx *f, const char *key, const char *path)
{
	fx_sign(P(f, "keys/%s.key", key), path);
}

static int setup(void **state)
{
	static const char *const mkd[] = { "packs", "packs/bundles", "registry", "registry/acme",
					   "trust", "keys", "untrusted" };
	struct fx *f = calloc(1, sizeof(*f));
	struct gg_err err = {};
	char cfg[2048];

	if (!f || !(f->root = strdup("/tmp/gg-test-packs.XXXXXX")) || !mkdtemp(f->root))
		return -1;
	for (size_t i = 0; i < sizeof(mkd) / sizeof(mkd[0]); i++)
		if (mkdir(P(f, "%s", mkd[i]), 0755))
			return -1;
	if (gg_key_generate(P(f, "keys/ops.key"), P(f, "trust/ops.pub"), &err) ||
	    gg_key_generate(P(f, "keys/rogue.key"), P(f, "untrusted/rogue.pub"), &err))
		return fprintf(stderr, "setup: %s\n", err.msg), -1;
	snprintf(cfg, sizeof(cfg),
		 "{\"pack_dirs\":[\"%s/packs\"],\"registry_dir\":\"%s/registry\",\"account\":\"acme\","
		 "\"store_dir\":\"%s/store\",\"trust_dir\":\"%s/trust\",\"state_dir\":\"%s/state\"}\n",
		 f->root, f->root, f->root, f->root, f->root);
	snprintf(f->cfg_path, sizeof(f->cfg_path), "%s", P(f, "govgate.json"));
	fx_put(f->cfg_path, cfg);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	fx_rm_tree(f->root);
	free(f->root);
	free(f);
	return 0;
}

/* Runs gg_cmd_packs; returns its stdout (caller frees); its stderr is in
 * err.log. */
static char *run_packs(struct fx *f, int want_rc, int n, ...)
{
	char *argv[16];
	va_list ap;
	int rc, so = dup(STDOUT_FILENO), se = dup(STDERR_FILENO);
	int fo = open(P(f, "out.log"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int fe = open(P(f, "err.log"), O_WRONLY | O_CREAT | O_TRUNC, 0644);

	va_start(ap, n);
	for (int i = 0; i < n; i++)
		argv[i] = va_arg(ap, char *);
	va_end(ap);
	argv[n] = NULL;
	fflush(stdout);
	fflush(stderr);
	dup2(fo, STDOUT_FILENO);
	dup2(fe, STDERR_FILENO);
	rc = gg_cmd_packs(n, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, STDOUT_FILENO);
	dup2(se, STDERR_FILENO);
	close(so);
	close(se);
	close(fo);
	close(fe);
	assert_int_equal(rc, want_rc);
	return fx_slurp(P(f, "out.log"), NULL);
}

static json_t *entry(json_t *arr, const char *ref, int *count)
{
	json_t *v, *found = NULL;
	size_t i;

	*count = 0;
	json_array_foreach(arr, i, v) {
		if (strcmp(json_string_value(json_object_get(v, "ref")) ?: "", ref))
			continue;
		found = v;
		(*count)++;
	}
	if (!found)
		fail_msg("%s is not listed", ref);
	return found;
}

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void test_list_resolves_like_the_resolver(void **state)
{
	struct fx *f = *state;
	char sha[65], *out, *buf;
	json_t *arr, *e;
	json_error_t jerr;
	size_t len;
	int count;

	put_pack(P(f, "packs/p1.json"), "p1", "v1", "shipped p1");
	put_pack(P(f, "registry/acme/p1@v1.json"), "p1", "v1", "registry p1");
	sign_with(f, "ops", P(f, "registry/acme/p1@v1.json"));
	put_pack(P(f, "packs/p2@v2.json"), "p2", "v2", "shipped p2");
	put_pack(P(f, "packs/p3.json"), "p3", "v3", "badly signed p3");
	sign_with(f, "rogue", P(f, "packs/p3.json"));
	put_pack(P(f, "registry/acme/only@v1.json"), "only", "v1", "registry only");
	fx_put(P(f, "packs/bundles/b.json"),
	    "{\"bundle\":\"b\",\"version\":\"v1\",\"members\":[\"p1@v1\",\"p2@v2\"]}\n");

	out = run_packs(f, 0, 5, "packs", "list", "--json", "--config", f->cfg_path);
	arr = json_loads(out, 0, &jerr);
	if (!json_is_array(arr))
		fail_msg("not a JSON array: %s", out);

	/* p1@v1: the registry copy, once, as show/compile would take it. */
	e = entry(arr, "p1@v1", &count);
	assert_int_equal(count, 1);
	assert_string_equal(str(e, "source"), "registry");
	assert_string_equal(str(e, "file"), P(f, "registry/acme/p1@v1.json"));
	buf = fx_slurp(P(f, "registry/acme/p1@v1.json"), &len);
	gg_sha256_hex(buf, len, sha);
	free(buf);
	assert_string_equal(str(e, "sha256"), sha);
	assert_string_equal(str(e, "title"), "registry p1");
	assert_string_equal(str(e, "signature"), "signed");
	assert_string_equal(str(e, "signer"), "ops.pub");
	assert_string_equal(str(e, "shadows"), P(f, "packs/p1.json"));
	assert_string_equal(str(e, "kind"), "pack");

	e = entry(arr, "p2@v2", &count);
	assert_string_equal(str(e, "source"), "shipped");
	assert_string_equal(str(e, "signature"), "unsigned");
	assert_null(json_object_get(e, "error"));

	e = entry(arr, "only@v1", &count);
	assert_string_equal(str(e, "source"), "registry");

	/* A signature that does not verify: listed, marked, not usable. */
	e = entry(arr, "p3@v3", &count);
	assert_string_equal(str(e, "signature"), "invalid");
	assert_non_null(strstr(str(e, "error"), "signature does not verify"));

	e = entry(arr, "b@v1", &count);
	assert_string_equal(str(e, "kind"), "bundle");
	assert_string_equal(str(e, "source"), "shipped");
	assert_int_equal(json_array_size(json_object_get(e, "members")), 2);
	json_decref(arr);
	free(out);

	out = run_packs(f, 0, 4, "packs", "list", "--config", f->cfg_path);
	assert_non_null(strstr(out, "SOURCE"));
	assert_non_null(strstr(out, "signed (ops.pub)"));
	assert_non_null(strstr(out, "members: p1@v1, p2@v2"));
	assert_null(strstr(out, "shadows")); /* stdout: the table alone */
	free(out);
	out = fx_slurp(P(f, "err.log"), NULL);
	assert_non_null(strstr(out, "p1@v1: the registry copy shadows"));
	assert_non_null(strstr(out, "p3@v3: UNUSABLE:"));
	free(out);
}

static void test_show_needs_evidence(void **state)
{
	struct fx *f = *state;
	json_t *doc, *c, *v;
	json_error_t jerr;
	char *out;
	size_t i;
	int seen = 0;

	fx_put(P(f, "packs/adv.json"),
	    "{\"name\":\"adv\",\"version\":\"v1\",\"description\":\"d\","
	    "\"framework\":{\"id\":\"f\",\"title\":\"F\"},"
	    "\"controls\":["
	    "{\"id\":\"C1\",\"title\":\"t1\",\"status\":\"enforced\"},"
	    "{\"id\":\"A1\",\"title\":\"t2\",\"status\":\"advisory\",\"reason\":\"content\","
	    "\"needs\":\"content.scan\"},"
	    "{\"id\":\"A2\",\"title\":\"t3\",\"status\":\"advisory\",\"reason\":\"logs\","
	    "\"evidence\":true}],"
	    "\"rules\":[{\"id\":\"r1\",\"gate\":\"cmd.exec\",\"controls\":[\"C1\"],"
	    "\"match\":{\"basenames\":[\"nc\"]}}]}\n");
	out = run_packs(f, 0, 6, "packs", "show", "adv@v1", "--json", "--config", f->cfg_path);
	doc = json_loads(out, 0, &jerr);
	if (!doc)
		fail_msg("not JSON: %s", out);
	free(out);
	json_array_foreach(json_object_get(doc, "controls"), i, c) {
		const char *id = str(c, "id");

		v = json_object_get(c, "evidence");
		assert_true(json_is_boolean(v));
		if (!strcmp(id, "A1")) {
			assert_string_equal(str(c, "needs"), "content.scan");
			assert_false(json_is_true(v));
			seen++;
		} else if (!strcmp(id, "A2")) {
			assert_null(json_object_get(c, "needs"));
			assert_true(json_is_true(v));
			seen++;
		}
	}
	assert_int_equal(seen, 2);
	json_decref(doc);

	out = run_packs(f, 0, 5, "packs", "show", "adv@v1", "--config", f->cfg_path);
	assert_non_null(strstr(out, "needs: content.scan"));
	assert_non_null(strstr(out, "evidence: "));
	free(out);
}

/* The command table: an unambiguous prefix picks the verb, an unknown one
 * is a usage error; under --json an error is the only stdout document. */
static void test_select_and_json_error(void **state)
{
	struct fx *f = *state;
	char *out, *errs;
	json_t *doc;

	fx_put(P(f, "packs/p@v1.json"),
	    "{\"name\":\"p\",\"version\":\"v1\",\"description\":\"d\","
	    "\"framework\":{\"id\":\"f\",\"title\":\"F\"},"
	    "\"controls\":[{\"id\":\"C1\",\"title\":\"t1\",\"status\":\"enforced\"}],"
	    "\"rules\":[{\"id\":\"r1\",\"gate\":\"cmd.exec\",\"controls\":[\"C1\"],"
	    "\"match\":{\"basenames\":[\"nc\"]}}]}\n");
	out = run_packs(f, 0, 6, "packs", "sh", "p@v1", "--json", "--config", f->cfg_path);
	doc = json_loads(out, 0, NULL);
	if (!doc)
		fail_msg("not JSON: %s", out);
	assert_string_equal(str(doc, "ref"), "p@v1");
	json_decref(doc);
	free(out);

	out = run_packs(f, 2, 3, "packs", "frobnicate", "p@v1");
	assert_string_equal(out, "");
	free(out);
	errs = fx_slurp(P(f, "err.log"), NULL);
	assert_non_null(strstr(errs, "unknown command \"frobnicate\""));
	free(errs);

	out = run_packs(f, 1, 6, "packs", "show", "nope@v9", "--json", "--config", f->cfg_path);
	doc = json_loads(out, 0, NULL);
	if (!doc)
		fail_msg("not JSON: %s", out);
	assert_int_equal(json_object_size(doc), 1);
	assert_non_null(strstr(str(doc, "error"), "nope@v9"));
	json_decref(doc);
	free(out);
	errs = fx_slurp(P(f, "err.log"), NULL);
	assert_string_equal(errs, ""); /* --json: nothing but the document */
	free(errs);

	out = run_packs(f, 1, 5, "packs", "show", "nope@v9", "--config", f->cfg_path);
	assert_string_equal(out, "");
	free(out);
	errs = fx_slurp(P(f, "err.log"), NULL);
	assert_non_null(strstr(errs, "govgate packs show: unknown ref nope@v9"));
	free(errs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_list_resolves_like_the_resolver, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_show_needs_evidence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_select_and_json_error, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
