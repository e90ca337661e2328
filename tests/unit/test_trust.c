// SPDX-License-Identifier: GPL-2.0
/*
 * Trusted-executables mode: trust-list packs parse only alone in their
 * match, compile to a bit per list on each digest (lists intersect), round
 * trip through the stored JSON, are made by `trust snapshot`, and observe
 * mode's untrusted files are listed by the report.
 */
#include <errno.h>
#include <limits.h>
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

#include "audit.h"
#include "compile.h"
#include "compiled_json.h"
#include "event.h"
#include "trust.h"

#define D1 "1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "3333333333333333333333333333333333333333333333333333333333333333"

static const char *trust_doc(char *buf, size_t size, const char *name, const char *match)
{
	snprintf(buf, size,
		 "{\"name\": \"%s\", \"version\": \"v1\", \"framework\": {\"id\": \"t\", "
		 "\"title\": \"T\"}, \"controls\": [{\"id\": \"TC\", \"title\": \"t\", "
		 "\"status\": \"enforced\"}], \"rules\": [{\"id\": \"trusted\", \"gate\": "
		 "\"cmd.exec\", \"controls\": [\"TC\"], \"match\": %s}]}",
		 name, match);
	return buf;
}

static struct gg_pack *parse_ok(const char *name, const char *match)
{
	struct gg_pack *p = NULL;
	struct gg_err err = {};
	char buf[1024];

	trust_doc(buf, sizeof(buf), name, match);
	if (gg_pack_parse(buf, strlen(buf), "t.json", &p, &err))
		fail_msg("must parse: %s\n%s", err.msg, buf);
	return p;
}

static void trust__alone_in_its_match(void **state)
{
	const char *bad[] = {
		"{\"trusted\": [\"" D1 "\"], \"basenames\": [\"nc\"]}",
		"{\"trusted\": [\"" D1 "\"], \"sha256\": [\"" D2 "\"]}",
		"{\"trusted\": [\"" D1 "\", \"" D1 "\"]}",
		"{\"trusted\": [\"ABCD\"]}",
	};
	struct gg_pack *p;
	char buf[1024];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct gg_err err = {};

		p = NULL;
		trust_doc(buf, sizeof(buf), "t", bad[i]);
		assert_int_not_equal(gg_pack_parse(buf, strlen(buf), "t.json", &p, &err), 0);
		assert_null(p);
	}
	p = parse_ok("t", "{\"trusted\": [\"" D1 "\", \"" D2 "\"]}");
	assert_int_equal(p->rules[0].n_trusted, 2);
	gg_pack_free(p);
}

static struct gg_compiled *compile_lists(struct gg_pack **p, size_t n, enum gg_action mode)
{
	struct gg_policy_input in[16];
	struct gg_compiled *c = NULL;
	struct gg_err err = {};

	for (size_t i = 0; i < n; i++)
		in[i] = (struct gg_policy_input){ .pack = p[i], .mode = mode };
	if (gg_compile(in, n, &c, &err))
		fail_msg("compile: %s", err.msg);
	return c;
}

static __u32 lists_of(const struct gg_compiled *c, const char *hex)
{
	__u8 d[GG_SHA256_LEN];

	assert_int_equal(gg_digest_parse(hex, d), 0);
	for (size_t i = 0; i < c->n_exec_trust; i++)
		if (!memcmp(c->exec_trust[i].sha256, d, GG_SHA256_LEN))
			return c->exec_trust[i].lists;
	return 0;
}

/* Two lists: a bit each; a digest on both carries both bits; each list
 * has its own entry with its own controls. */
static void trust__lists_intersect_by_bits(void **state)
{
	struct gg_pack *p[2] = { parse_ok("one", "{\"trusted\": [\"" D1 "\", \"" D2 "\"]}"),
				 parse_ok("two", "{\"trusted\": [\"" D2 "\", \"" D3 "\"]}") };
	struct gg_compiled *c = compile_lists(p, 2, GG_ACT_OBSERVE);
	const struct gg_entry *e0, *e1;

	assert_int_equal(c->n_trust_lists, 2);
	assert_int_equal(c->n_exec_trust, 3);
	assert_int_equal(lists_of(c, D1), 1);
	assert_int_equal(lists_of(c, D2), 3);
	assert_int_equal(lists_of(c, D3), 2);
	e0 = gg_compiled_entry(c, c->trust_lists[0].entry);
	e1 = gg_compiled_entry(c, c->trust_lists[1].entry);
	assert_non_null(e0);
	assert_non_null(e1);
	assert_ptr_not_equal(e0, e1);
	assert_int_equal(c->trust_lists[0].action, GG_ACT_OBSERVE);
	assert_string_equal(e0->rules[0].pack, "one@v1");
	assert_string_equal(e1->rules[0].pack, "two@v1");
	assert_string_equal(e0->controls[0], "TC");
	/* no digest rows: a trust list is no denylist */
	assert_int_equal(c->n_exec_digests, 0);
	gg_compiled_free(c);
	gg_pack_free(p[0]);
	gg_pack_free(p[1]);
}

static void trust__at_most_eight_lists(void **state)
{
	struct gg_pack *p[GG_TRUST_LISTS_MAX + 1];
	struct gg_policy_input in[GG_TRUST_LISTS_MAX + 1];
	struct gg_compiled *c = NULL;
	struct gg_err err = {};

	for (int i = 0; i <= GG_TRUST_LISTS_MAX; i++) {
		char name[16];

		snprintf(name, sizeof(name), "l%d", i);
		p[i] = parse_ok(name, "{\"trusted\": [\"" D1 "\"]}");
		in[i] = (struct gg_policy_input){ .pack = p[i], .mode = GG_ACT_DENY };
	}
	assert_int_equal(gg_compile(in, GG_TRUST_LISTS_MAX, &c, &err), 0);
	assert_int_equal(lists_of(c, D1), 0xff);
	gg_compiled_free(c);
	c = NULL;
	assert_int_equal(gg_compile(in, GG_TRUST_LISTS_MAX + 1, &c, &err), -E2BIG);
	assert_null(c);
	assert_non_null(strstr(err.msg, "more than 8 trust lists"));
	for (int i = 0; i <= GG_TRUST_LISTS_MAX; i++)
		gg_pack_free(p[i]);
}

/* The compiled JSON (compile --json, gg_compiled_from_json) keeps the lists. */
static void trust__json_round_trip(void **state)
{
	struct gg_pack *p[2] = { parse_ok("one", "{\"trusted\": [\"" D1 "\", \"" D2 "\"]}"),
				 parse_ok("two", "{\"trusted\": [\"" D2 "\"]}") };
	struct gg_compiled *c = compile_lists(p, 2, GG_ACT_DENY), *back = NULL;
	json_t *j = gg_compiled_to_json(c), *j2;
	struct gg_err err = {};

	assert_non_null(j);
	assert_int_equal(gg_compiled_from_json(j, &back, &err), 0);
	assert_int_equal(back->n_trust_lists, 2);
	assert_int_equal(back->n_exec_trust, 2);
	assert_memory_equal(back->trust_lists, c->trust_lists, sizeof(c->trust_lists));
	assert_memory_equal(back->exec_trust, c->exec_trust, 2 * sizeof(*c->exec_trust));
	j2 = gg_compiled_to_json(back);
	assert_true(json_equal(j, j2));
	/* a row naming a list that does not exist is refused */
	json_integer_set(json_object_get(json_array_get(json_object_get(json_object_get(j, "exec"),
									"trusted"), 0), "lists"), 4);
	gg_compiled_free(back);
	back = NULL;
	assert_int_not_equal(gg_compiled_from_json(j, &back, &err), 0);
	json_decref(j);
	json_decref(j2);
	gg_compiled_free(c);
	gg_pack_free(p[0]);
	gg_pack_free(p[1]);
}

static void put_mode(const char *path, const char *s, mode_t mode)
{
	fx_put(path, s);
	assert_int_equal(chmod(path, mode), 0);
}

/* Executables (x bit) and ELF files are listed, once per content; data
 * files are not; symlinks to files count; the result is a valid pack. */
static void trust__snapshot(void **state)
{
	char dir[] = "/tmp/gg_trust_XXXXXX", p[PATH_MAX], *text;
	struct gg_trust_opts o = { .name = "img", .version = "v2" };
	const char *dirs[1] = { dir };
	struct gg_pack *pk = NULL;
	struct gg_err err = {};
	json_t *pack = NULL, *list;
	size_t n = 0;
	__u8 d[GG_SHA256_LEN];
	char hex[65];

	assert_non_null(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/tool", dir);
	put_mode(p, "#!/bin/sh\necho tool\n", 0755);
	snprintf(p, sizeof(p), "%s/sub", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/sub/copy", dir);
	put_mode(p, "#!/bin/sh\necho tool\n", 0700);
	snprintf(p, sizeof(p), "%s/sub/libx.so", dir);
	put_mode(p, "\177ELF-not-really", 0644);
	snprintf(p, sizeof(p), "%s/data.txt", dir);
	put_mode(p, "just data\n", 0644);
	snprintf(p, sizeof(p), "%s/link", dir);
	assert_int_equal(symlink("/nonexistent", p), 0);
	assert_int_equal(gg_trust_snapshot(dirs, 1, &o, &pack, &n, &err), 0);
	assert_int_equal(n, 3);
	list = json_object_get(json_object_get(json_array_get(json_object_get(pack, "rules"), 0),
					       "match"),
			       "trusted");
	assert_int_equal(json_array_size(list), 2);
	snprintf(p, sizeof(p), "%s/data.txt", dir);
	assert_int_equal(gg_file_sha256(p, d), 0);
	gg_digest_hex(d, hex);
	for (size_t i = 0; i < 2; i++)
		assert_string_not_equal(json_string_value(json_array_get(list, i)), hex);
	assert_true(strcmp(json_string_value(json_array_get(list, 0)),
			   json_string_value(json_array_get(list, 1))) < 0);
	text = json_dumps(pack, 0);
	assert_int_equal(gg_pack_parse(text, strlen(text), "snap.json", &pk, &err), 0);
	assert_string_equal(pk->name, "img");
	assert_int_equal(pk->rules[0].n_trusted, 2);
	free(text);
	gg_pack_free(pk);
	json_decref(pack);
	/* a directory that is not there is an error, named */
	dirs[0] = "/nonexistent/gg";
	assert_int_not_equal(gg_trust_snapshot(dirs, 1, &o, &pack, &n, &err), 0);
	assert_non_null(strstr(err.msg, "/nonexistent/gg"));
	fx_rm_tree(dir);
}

static json_t *exec_rec(const char *ts, const char *action, const char *path, const char *digest,
			bool untrusted)
{
	json_t *r = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:[s], s:[s], s:s, s:s, s:s}", "ts",
			      ts, "event", "command_denied", "gate", "cmd.exec", "action", action,
			      "mechanism", "lsm", "generation", (json_int_t)1, "controls", "TC",
			      "frameworks", "t", "path", path, "digest", digest, "match", "trust");

	if (untrusted)
		json_object_set_new(r, "untrusted", json_true());
	return r;
}

/* Observe-mode untrusted records, by (path, digest), most seen first;
 * denials and trusted observations are not listed. */
static void trust__report_lists_untrusted_files(void **state)
{
	char dir[] = "/tmp/gg_trust_XXXXXX", log[PATH_MAX], key[PATH_MAX];
	struct gg_audit_opts ao = { .checkpoint_every = 4 };
	struct gg_report_opts ro = { .chain_only = true };
	json_t *recs[5], *rep = NULL, *arr, *row;
	char *files[1] = { log };
	struct gg_err err = {};
	struct gg_audit *a;

	assert_non_null(mkdtemp(dir));
	snprintf(log, sizeof(log), "%s/audit.jsonl", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	ao.path = log;
	ao.key_path = key;
	assert_int_equal(gg_audit_open(&ao, &a, &err), 0);
	recs[0] = exec_rec("2025-01-01T00:00:00Z", "observe", "/tmp/a", D1, true);
	recs[1] = exec_rec("2025-01-01T00:00:01Z", "observe", "/tmp/b", D2, true);
	recs[2] = exec_rec("2025-01-01T00:00:02Z", "observe", "/tmp/b", D2, true);
	recs[3] = exec_rec("2025-01-01T00:00:03Z", "deny", "/tmp/c", D3, true);
	recs[4] = exec_rec("2025-01-01T00:00:04Z", "observe", "/tmp/d", D3, false);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(gg_audit_append(a, recs[i], NULL, &err), 0);
		json_decref(recs[i]);
	}
	gg_audit_close(a);
	assert_int_equal(gg_report_build(files, 1, &ro, &rep, &err), 0);
	arr = json_object_get(rep, "untrusted_files");
	assert_int_equal(json_array_size(arr), 2);
	row = json_array_get(arr, 0);
	assert_string_equal(json_string_value(json_object_get(row, "path")), "/tmp/b");
	assert_string_equal(json_string_value(json_object_get(row, "digest")), D2);
	assert_int_equal(json_integer_value(json_object_get(row, "count")), 2);
	row = json_array_get(arr, 1);
	assert_string_equal(json_string_value(json_object_get(row, "path")), "/tmp/a");
	assert_int_equal(json_integer_value(json_object_get(row, "count")), 1);
	json_decref(rep);
	fx_rm_tree(dir);
}

/* A file on no trust list: the list's controls, "untrusted", and the
 * match of the hook that decided (exec: "trust", a mapping: "mmap"); an
 * unhashed mprotect says why it was denied without a rule. */
static void trust__event_record(void **state)
{
	struct gg_pack *p[1] = { parse_ok("one", "{\"trusted\": [\"" D1 "\"]}") };
	struct gg_compiled *c = compile_lists(p, 1, GG_ACT_DENY);
	struct gg_event e = { .gate = GG_GATE_EXEC, .action = GG_ACT_DENY,
			      .mechanism = GG_MECH_LSM };
	json_t *rec;

	e.entries[GG_EXEC_HIT_TRUST] = c->trust_lists[0].entry;
	e.exec.match = GG_EXEC_BY_TRUST;
	strcpy(e.exec.path, "/tmp/u");
	rec = gg_event_record(&e, c, 0);
	assert_string_equal(json_string_value(json_object_get(rec, "match")), "trust");
	assert_true(json_is_true(json_object_get(rec, "untrusted")));
	assert_string_equal(json_string_value(json_array_get(json_object_get(rec, "controls"), 0)),
			    "TC");
	json_decref(rec);
	e.exec.match = GG_EXEC_BY_MMAP;
	rec = gg_event_record(&e, c, 0);
	assert_string_equal(json_string_value(json_object_get(rec, "match")), "mmap");
	json_decref(rec);
	e.entries[GG_EXEC_HIT_TRUST] = 0;
	e.flags = GG_EVF_UNHASHED;
	rec = gg_event_record(&e, c, 0);
	assert_null(json_object_get(rec, "untrusted"));
	assert_string_equal(json_string_value(json_object_get(rec, "fail_closed")),
			    "unhashed_executable_mapping");
	json_decref(rec);
	gg_compiled_free(c);
	gg_pack_free(p[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(trust__alone_in_its_match),
		cmocka_unit_test(trust__lists_intersect_by_bits),
		cmocka_unit_test(trust__at_most_eight_lists),
		cmocka_unit_test(trust__json_round_trip),
		cmocka_unit_test(trust__snapshot),
		cmocka_unit_test(trust__report_lists_untrusted_files),
		cmocka_unit_test(trust__event_record),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
