// SPDX-License-Identifier: GPL-2.0
/* Applying a policy (user/apply.c, govgate apply): the durable record is
 * written before the swap and put back if the swap fails; each pack's exact
 * bytes are kept and a restart re-applies those, never a changed source;
 * path refs are recorded absolute; --add/--remove read the set under the
 * lock and refuse a corrupt one. The kernel side is faked. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"

#include "apply.h"
#include "compiled_json.h"
#include "doc_cache.h"
#include "cli.h"
#include "sign.h"

/* ---- the fake kernel ---- */

static struct {
	int reads, swaps;
	int stale_left; /* keys of the stale slot the fake clear has left */
	int stale_calls, stale_left_at_swap;
	bool fail_swap;
	__u64 latest;
	char state_dir[512]; /* where the swapped generation's record must be */
	__u64 record_at_swap; /* the generation its record said, at the swap */
	__u64 applied_at_swap; /* the generation applied.json said, at the swap */
	char names[4096]; /* basenames of the last swapped-in policy, ",a,b," */
} K;

static int fake_read(const char *pin_dir, struct gg_policy_status *st, struct gg_err *err)
{
	K.reads++;
	memset(st, 0, sizeof(*st));
	st->generation = st->latest = K.latest;
	return 0;
}

static int fake_swap(const char *pin_dir, const struct gg_compiled *c, __u64 generation,
		     struct gg_err *err)
{
	char path[1024];
	json_t *rec;

	K.swaps++;
	K.stale_left_at_swap = K.stale_left;
	snprintf(path, sizeof(path), "%s/generations/%llu.json", K.state_dir,
		 (unsigned long long)generation);
	rec = json_load_file(path, 0, NULL);
	K.record_at_swap = rec ? gg_json_int(rec, "generation") : 0;
	json_decref(rec);
	snprintf(path, sizeof(path), "%s/applied.json", K.state_dir);
	rec = json_load_file(path, 0, NULL);
	K.applied_at_swap = rec ? gg_json_int(rec, "generation") : 0;
	json_decref(rec);
	if (K.fail_swap)
		return gg_errf(err, -EIO, "policy_state: fake swap failure");
	K.latest = generation;
	snprintf(K.names, sizeof(K.names), ",");
	for (size_t i = 0; i < c->n_exec_names; i++)
		snprintf(K.names + strlen(K.names), sizeof(K.names) - strlen(K.names), "%s,",
			 c->exec_names[i].name);
	return 0;
}

static bool fake_stale_pending(void)
{
	return K.stale_left > 0;
}

static int fake_stale_wait_ms(void)
{
	return 0;
}

/* One key a call, whatever max_keys. */
static int fake_stale_clear(size_t max_keys, struct gg_err *err)
{
	K.stale_calls++;
	if (max_keys == SIZE_MAX)
		K.stale_left = 0;
	else if (K.stale_left > 0)
		K.stale_left--;
	return K.stale_left > 0;
}

static bool running(const char *name)
{
	char want[128];

	snprintf(want, sizeof(want), ",%s,", name);
	return strstr(K.names, want) != NULL;
}

/* ---- fixture ---- */

/* A pack whose one rule denies exec of basename tool. */
static void put_pack(const char *path, const char *name, const char *version, const char *tool)
{
	fx_put_pack(path, name, version, "d", "F", tool);
}

struct fx {
	char *root;
	char path[16][512];
	int next;
	char cfg_path[512];
	char cwd[PATH_MAX];
	struct gg_config cfg;
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

static void sha_of(const char *path, char hex[65])
{
	size_t len;
	char *buf = fx_slurp(path, &len);

	gg_sha256_hex(buf, len, hex);
	free(buf);
}

static int setup(void **state)
{
	static const char *const mkd[] = { "packs", "packs/bundles", "registry", "registry/acme",
					   "store", "trust", "keys", "sub" };
	struct fx *f = calloc(1, sizeof(*f));
	struct gg_err err = {};
	char cfg[2048];

	if (!f || !(f->root = strdup("/tmp/gg-test-apply.XXXXXX")) || !mkdtemp(f->root) ||
	    !getcwd(f->cwd, sizeof(f->cwd)))
		return -1;
	for (size_t i = 0; i < sizeof(mkd) / sizeof(mkd[0]); i++)
		if (mkdir(P(f, "%s", mkd[i]), 0755))
			return -1;
	put_pack(P(f, "packs/p1.json"), "p1", "v1", "old-one");
	put_pack(P(f, "packs/p2.json"), "p2", "v2", "old-two");
	put_pack(P(f, "packs/p3.json"), "p3", "v3", "old-three");
	fx_put(P(f, "packs/bundles/b.json"),
	    "{\"bundle\":\"b\",\"version\":\"v1\",\"members\":[\"p2@v2\",\"p3@v3\"]}\n");
	put_pack(P(f, "sub/local.json"), "local", "v1", "old-local");
	if (gg_key_generate(P(f, "keys/ops.key"), P(f, "trust/ops.pub"), &err))
		return fprintf(stderr, "setup: %s\n", err.msg), -1;
	snprintf(cfg, sizeof(cfg),
		 "{\"pin_dir\":\"%s/pins\",\"state_dir\":\"%s/state\",\"pack_dirs\":[\"%s/packs\"],"
		 "\"registry_dir\":\"%s/registry\",\"account\":\"acme\",\"store_dir\":\"%s/store\","
		 "\"trust_dir\":\"%s/trust\",\"require_signatures\":false}\n",
		 f->root, f->root, f->root, f->root, f->root, f->root);
	snprintf(f->cfg_path, sizeof(f->cfg_path), "%s", P(f, "govgate.json"));
	fx_put(f->cfg_path, cfg);
	if (gg_config_load(f->cfg_path, &f->cfg, &err))
		return fprintf(stderr, "setup: %s\n", err.msg), -1;
	memset(&K, 0, sizeof(K));
	snprintf(K.state_dir, sizeof(K.state_dir), "%s/state", f->root);
	gg_apply_kernel.read = fake_read;
	gg_apply_kernel.swap = fake_swap;
	gg_apply_kernel.stale_pending = fake_stale_pending;
	gg_apply_kernel.stale_wait_ms = fake_stale_wait_ms;
	gg_apply_kernel.stale_clear = fake_stale_clear;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	/* the daemon's caches, whatever a failed test left on */
	gg_doc_cache_enable(false);
	gg_generation_keep(false);
	gg_apply_sync_now();
	gg_apply_sync_later(false);
	if (chdir(f->cwd))
		return -1;
	fx_rm_tree(f->root);
	gg_config_free(&f->cfg);
	free(f->root);
	free(f);
	return 0;
}

static void apply_ok(struct fx *f, const char *ref, enum gg_action mode)
{
	struct gg_pack_ref r = { (char *)ref, mode };
	struct gg_err err = {};
	__u64 gen = 0;

	if (gg_policy_apply(&f->cfg, &r, 1, "test", &gen, &err))
		fail_msg("apply %s: %s", ref, err.msg);
	assert_int_equal(gen, K.latest);
}

static json_t *applied_json(struct fx *f)
{
	json_error_t jerr;
	json_t *doc = json_load_file(P(f, "state/applied.json"), 0, &jerr);

	if (!doc)
		fail_msg("applied.json: %s", jerr.text);
	return doc;
}

/* ---- tests ---- */

/* applied.json names each ref with its mode and the digest of every pack
 * it resolved to; those bytes are in the state directory. */
static void test_apply_keeps_exact_bytes(void **state)
{
	struct fx *f = *state;
	char sha1[65], sha2[65], sha3[65];
	json_t *doc, *r0, *r1;
	char *stored, *orig;

	sha_of(P(f, "packs/p1.json"), sha1);
	sha_of(P(f, "packs/p2.json"), sha2);
	sha_of(P(f, "packs/p3.json"), sha3);
	{
		struct gg_pack_ref refs[] = { { "p1@v1", GG_ACT_DENY }, { "b@v1", GG_ACT_OBSERVE } };
		struct gg_err err = {};
		__u64 gen = 0;

		if (gg_policy_apply(&f->cfg, refs, 2, "test", &gen, &err))
			fail_msg("%s", err.msg);
		assert_int_equal(gen, 1);
	}
	assert_int_equal(K.swaps, 1);
	doc = applied_json(f);
	assert_int_equal(json_integer_value(json_object_get(doc, "format")), 2);
	assert_int_equal(json_integer_value(json_object_get(doc, "generation")), 1);
	r0 = json_array_get(json_object_get(doc, "refs"), 0);
	r1 = json_array_get(json_object_get(doc, "refs"), 1);
	assert_string_equal(json_string_value(json_object_get(r0, "ref")), "p1@v1");
	assert_string_equal(json_string_value(json_object_get(r0, "mode")), "enforce");
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(r0, "packs"), 0), "sha256")),
			    sha1);
	/* The bundle: what it resolved to, not the bundle itself. */
	assert_string_equal(json_string_value(json_object_get(r1, "ref")), "b@v1");
	assert_string_equal(json_string_value(json_object_get(r1, "mode")), "observe");
	assert_int_equal(json_array_size(json_object_get(r1, "packs")), 2);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(r1, "packs"), 0), "ref")),
			    "p2@v2");
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(r1, "packs"), 1), "sha256")),
			    sha3);
	json_decref(doc);
	orig = fx_slurp(P(f, "packs/p2.json"), NULL);
	stored = fx_slurp(P(f, "state/packs/sha256/%s", sha2), NULL);
	assert_string_equal(stored, orig);
	free(stored);
	free(orig);
	assert_int_equal(access(P(f, "state/packs/sha256/%s", sha1), F_OK), 0);
	assert_int_equal(access(P(f, "state/packs/sha256/%s", sha3), F_OK), 0);
	assert_true(running("old-one") && running("old-two") && running("old-three"));
}

/* After the sources change, a restart runs what was applied, not them. */
static void test_restore_uses_stored_bytes(void **state)
{
	struct fx *f = *state;
	struct gg_pack_ref refs[] = { { "p1@v1", GG_ACT_DENY }, { "b@v1", GG_ACT_DENY } };
	struct gg_err err = {};
	__u64 gen = 0;

	if (gg_policy_apply(&f->cfg, refs, 2, "test", &gen, &err))
		fail_msg("%s", err.msg);
	put_pack(P(f, "packs/p1.json"), "p1", "v1", "new-one");
	put_pack(P(f, "packs/p2.json"), "p2", "v2", "new-two");
	/* A registry copy now shadows p3 as well. */
	put_pack(P(f, "registry/acme/p3@v3.json"), "p3", "v3", "new-three");
	K.latest = 0; /* a reboot: fresh maps */
	memset(K.names, 0, sizeof(K.names));
	if (gg_policy_restore(&f->cfg, "govgate run", &gen, &err))
		fail_msg("restore: %s", err.msg);
	assert_int_equal(gen, 2); /* applied.json remembers generation 1 */
	assert_true(running("old-one") && running("old-two") && running("old-three"));
	assert_false(running("new-one") || running("new-two") || running("new-three"));
	/* A fresh apply of the same refs does see the new sources. */
	if (gg_policy_apply(&f->cfg, refs, 2, "test", &gen, &err))
		fail_msg("%s", err.msg);
	assert_true(running("new-one") && running("new-two") && running("new-three"));
}

static void test_restore_refuses_bad_copy(void **state)
{
	struct fx *f = *state;
	struct gg_err err = {};
	char sha[65], *before;
	__u64 gen = 0;
	int ret;

	apply_ok(f, "p1@v1", GG_ACT_DENY);
	sha_of(P(f, "packs/p1.json"), sha);
	/* Tampered: the digest no longer matches. */
	before = fx_slurp(P(f, "state/packs/sha256/%s", sha), NULL);
	fx_put(P(f, "state/packs/sha256/%s", sha), "{\"name\":\"p1\",\"version\":\"v1\"} ");
	ret = gg_policy_restore(&f->cfg, "govgate run", &gen, &err);
	assert_int_not_equal(ret, 0);
	assert_int_not_equal(ret, -ENOENT); /* the daemon must not fall back */
	assert_non_null(strstr(err.msg, "content does not match its name"));
	assert_non_null(strstr(err.msg, "not resolving p1@v1 again"));
	assert_int_equal(K.swaps, 1);
	/* Missing: no silent re-resolution from packs/ either. */
	assert_int_equal(unlink(P(f, "state/packs/sha256/%s", sha)), 0);
	ret = gg_policy_restore(&f->cfg, "govgate run", &gen, &err);
	assert_int_not_equal(ret, 0);
	assert_int_not_equal(ret, -ENOENT);
	assert_non_null(strstr(err.msg, "not in the store"));
	assert_int_equal(K.swaps, 1);
	/* Back in place: fine again. */
	fx_put(P(f, "state/packs/sha256/%s", sha), before);
	free(before);
	if (gg_policy_restore(&f->cfg, "govgate run", &gen, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(K.swaps, 2);
}

/* Stored copies are checked like sha256: refs: with require_signatures the
 * signature that verified at apply must still verify at restart. */
static void test_restore_checks_signatures(void **state)
{
	struct fx *f = *state;
	struct gg_err err = {};
	char sha[65], sig[600];
	size_t len;
	char *buf = fx_slurp(P(f, "packs/p1.json"), &len);
	__u64 gen = 0;

	snprintf(sig, sizeof(sig), "%s.sig", P(f, "packs/p1.json"));
	if (gg_sig_write(P(f, "keys/ops.key"), buf, len, sig, &err))
		fail_msg("%s", err.msg);
	free(buf);
	f->cfg.require_signatures = true;
	apply_ok(f, "p1@v1", GG_ACT_DENY);
	sha_of(P(f, "packs/p1.json"), sha);
	assert_int_equal(access(P(f, "state/packs/sha256/%s.sig", sha), F_OK), 0);
	if (gg_policy_restore(&f->cfg, "govgate run", &gen, &err))
		fail_msg("%s", err.msg);
	/* The stored signature is gone: unsigned, and signatures are required. */
	assert_int_equal(rename(P(f, "state/packs/sha256/%s.sig", sha), P(f, "saved.sig")), 0);
	assert_int_not_equal(gg_policy_restore(&f->cfg, "govgate run", &gen, &err), 0);
	assert_non_null(strstr(err.msg, "unsigned, and signatures are required"));
	/* Back, but its key is no longer trusted. */
	assert_int_equal(rename(P(f, "saved.sig"), P(f, "state/packs/sha256/%s.sig", sha)), 0);
	assert_int_equal(rename(P(f, "trust/ops.pub"), P(f, "keys/ops.pub")), 0);
	assert_int_not_equal(gg_policy_restore(&f->cfg, "govgate run", &gen, &err), 0);
	assert_non_null(strstr(err.msg, "which is not in"));
	assert_int_equal(K.swaps, 2);
}

/* A relative path ref is recorded absolute, so a daemon started in /
 * (systemd) names the same file. */
static void test_path_ref_made_absolute(void **state)
{
	struct fx *f = *state;
	struct gg_pack_ref *refs = NULL;
	struct gg_err err = {};
	char real[PATH_MAX];
	size_t n = 0;
	__u64 gen = 0;

	assert_int_equal(chdir(P(f, "sub")), 0);
	apply_ok(f, "./local.json", GG_ACT_DENY);
	assert_non_null(realpath(P(f, "sub/local.json"), real));
	if (gg_applied_load(&f->cfg, &refs, &n, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(n, 1);
	assert_string_equal(refs[0].ref, real);
	gg_pack_refs_free(refs, n);
	assert_int_equal(chdir("/"), 0);
	if (gg_policy_restore(&f->cfg, "govgate run", &gen, &err))
		fail_msg("%s", err.msg);
	assert_true(running("old-local"));
}

/* The swap is the last step: a failed one leaves applied.json as it was. */
static void test_failed_swap_puts_back(void **state)
{
	struct fx *f = *state;
	struct gg_pack_ref r = { "p2@v2", GG_ACT_DENY };
	struct gg_err err = {};
	char *before, *after;
	__u64 gen = 0;

	/* No applied set yet: none after the failure either. */
	K.fail_swap = true;
	assert_int_not_equal(gg_policy_apply(&f->cfg, &r, 1, "test", &gen, &err), 0);
	assert_non_null(strstr(err.msg, "fake swap failure"));
	assert_int_equal(access(P(f, "state/applied.json"), F_OK), -1);
	K.fail_swap = false;
	apply_ok(f, "p1@v1", GG_ACT_DENY);
	before = fx_slurp(P(f, "state/applied.json"), NULL);
	K.fail_swap = true;
	assert_int_not_equal(gg_policy_apply(&f->cfg, &r, 1, "test", &gen, &err), 0);
	after = fx_slurp(P(f, "state/applied.json"), NULL);
	assert_string_equal(after, before);
	free(before);
	free(after);
	assert_true(running("old-one"));
}

/* If the durable record cannot be written, nothing is swapped in (the old
 * order swapped first and then reported "unchanged"). */
static void test_no_swap_without_record(void **state)
{
	struct fx *f = *state;
	struct gg_pack_ref r = { "p1@v1", GG_ACT_DENY };
	struct gg_err err = {};
	__u64 gen = 0;

	assert_int_equal(mkdir(P(f, "state"), 0755), 0);
	assert_int_equal(mkdir(P(f, "state/applied.json"), 0755), 0);
	assert_int_not_equal(gg_policy_apply(&f->cfg, &r, 1, "test", &gen, &err), 0);
	assert_int_equal(K.swaps, 0);
}

static ino_t ino_of(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : st.st_ino;
}

/* The generation's record and applied.json are in place, whole, when the
 * swap happens, the daemon's way (made durable after the reply) as the
 * CLI's (at once); the daemon's leave one fd each open until
 * gg_apply_sync, which the next apply also does first, and make no inode:
 * each is written into a spare. A record that replaces a failed swap's,
 * and a first applied.json, are durable at once; a failed swap's
 * applied.json is put back at once. */
static void test_record_in_place_before_swap(void **state)
{
	ino_t spare_ino, applied_ino, applied_spare_ino;
	struct fx *f = *state;
	struct gg_err err = {};
	char record[64], *before, *after;
	int fds;

	apply_ok(f, "p1@v1", GG_ACT_DENY);
	assert_int_equal(K.record_at_swap, K.latest);
	assert_int_equal(K.applied_at_swap, K.latest);
	gg_apply_sync_later(true);
	fds = fx_open_fds();
	apply_ok(f, "p2@v2", GG_ACT_DENY);
	assert_int_equal(K.record_at_swap, K.latest);
	assert_int_equal(K.applied_at_swap, K.latest);
	assert_int_equal(fx_open_fds(), fds + 2);
	assert_int_equal(gg_apply_sync(&err), 0);
	assert_int_equal(fx_open_fds(), fds);
	/* no inode made: the record is the spare made after the last sync,
	 * applied.json its spare, which keeps the old one's inode */
	spare_ino = ino_of(P(f, "state/generations/.spare"));
	applied_ino = ino_of(P(f, "state/applied.json"));
	applied_spare_ino = ino_of(P(f, "state/applied.json.spare"));
	assert_true(spare_ino && applied_ino && applied_spare_ino);
	apply_ok(f, "p3@v3", GG_ACT_DENY);
	assert_int_equal(K.record_at_swap, K.latest);
	assert_int_equal(K.applied_at_swap, K.latest);
	assert_int_equal(fx_open_fds(), fds + 2);
	snprintf(record, sizeof(record), "state/generations/%llu.json", (unsigned long long)K.latest);
	assert_int_equal(ino_of(P(f, "%s", record)), spare_ino);
	assert_int_equal(ino_of(P(f, "state/applied.json")), applied_spare_ino);
	assert_int_equal(ino_of(P(f, "state/applied.json.spare")), applied_ino);
	assert_int_equal(ino_of(P(f, "state/generations/.spare")), 0);
	assert_int_equal(gg_apply_sync(&err), 0);
	assert_int_equal(fx_open_fds(), fds);
	assert_int_not_equal(ino_of(P(f, "state/generations/.spare")), 0);
	assert_int_equal(gg_apply_sync(&err), 0); /* nothing pending */
	/* a failed swap: its applied.json is put back at once, its record
	 * left for the generation's next try, which replaces it at once */
	K.fail_swap = true;
	before = fx_slurp(P(f, "state/applied.json"), NULL);
	{
		struct gg_pack_ref r = { "p2@v2", GG_ACT_DENY };
		__u64 gen = 0;

		assert_int_not_equal(gg_policy_apply(&f->cfg, &r, 1, "test", &gen, &err), 0);
	}
	K.fail_swap = false;
	after = fx_slurp(P(f, "state/applied.json"), NULL);
	assert_string_equal(after, before);
	free(before);
	free(after);
	assert_int_equal(fx_open_fds(), fds + 1);
	apply_ok(f, "p1@v1", GG_ACT_DENY);
	assert_int_equal(K.record_at_swap, K.latest);
	assert_int_equal(fx_open_fds(), fds + 1); /* applied.json's */
	/* a first applied.json (one removed): durable at once */
	assert_int_equal(unlink(P(f, "state/applied.json")), 0);
	apply_ok(f, "p2@v2", GG_ACT_DENY);
	assert_int_equal(K.applied_at_swap, K.latest);
	assert_int_equal(fx_open_fds(), fds + 1); /* the record's */
	gg_apply_sync_later(false);
	apply_ok(f, "p1@v1", GG_ACT_DENY);
	assert_int_equal(K.record_at_swap, K.latest);
	assert_int_equal(K.applied_at_swap, K.latest);
	assert_int_equal(fx_open_fds(), fds);
}

/* A journal record that cannot be written is said on stderr; the apply,
 * done, stands. */
static void test_journal_failure_said(void **state)
{
	struct fx *f = *state;
	struct gg_pack_ref r = { "p1@v1", GG_ACT_DENY };
	struct gg_err err = {};
	int saved, fd, ret;
	__u64 gen = 0;
	char *log;

	assert_int_equal(mkdir(P(f, "state"), 0755), 0);
	assert_int_equal(mkdir(P(f, "state/journal.jsonl"), 0755), 0);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	fd = open(P(f, "stderr.log"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dup2(fd, STDERR_FILENO);
	ret = gg_policy_apply(&f->cfg, &r, 1, "test", &gen, &err);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fd);
	assert_int_equal(ret, 0);
	assert_int_equal(gen, K.latest);
	log = fx_slurp(P(f, "stderr.log"), NULL);
	assert_non_null(strstr(log, "journal.jsonl: Is a directory"));
	free(log);
}

/* applied.json from an older govgate (refs only): resolved once, then kept
 * in format 2. */
static void test_restore_format1(void **state)
{
	struct fx *f = *state;
	struct gg_err err = {};
	char sha[65], *log;
	json_t *doc, *r0;
	int saved, fd;
	__u64 gen = 0;

	assert_int_equal(mkdir(P(f, "state"), 0755), 0);
	fx_put(P(f, "state/applied.json"),
	    "{\"refs\":[{\"ref\":\"p1@v1\",\"mode\":\"observe\"}],\"generation\":4}\n");
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	fd = open(P(f, "stderr.log"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dup2(fd, STDERR_FILENO);
	if (gg_policy_restore(&f->cfg, "govgate run", &gen, &err))
		fail_msg("%s", err.msg);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fd);
	log = fx_slurp(P(f, "stderr.log"), NULL);
	assert_non_null(strstr(log, "saved by an older govgate"));
	free(log);
	assert_int_equal(gen, 5);
	sha_of(P(f, "packs/p1.json"), sha);
	doc = applied_json(f);
	r0 = json_array_get(json_object_get(doc, "refs"), 0);
	assert_int_equal(json_integer_value(json_object_get(doc, "format")), 2);
	assert_string_equal(json_string_value(json_object_get(r0, "mode")), "observe");
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(r0, "packs"), 0), "sha256")),
			    sha);
	json_decref(doc);
}

static void test_no_applied_set(void **state)
{
	struct fx *f = *state;
	struct gg_err err = {};
	__u64 gen = 0;

	assert_int_equal(gg_policy_restore(&f->cfg, "govgate run", &gen, &err), -ENOENT);
	assert_int_equal(K.swaps, 0);
}

/* Appends s to path. */
static void append_to(const char *path, const char *s)
{
	FILE *fp = fopen(path, "a");

	assert_non_null(fp);
	fputs(s, fp);
	fclose(fp);
}

/* gg_applied_recover leaves applied (the path) holding exactly want. */
static void assert_recovered_to(struct fx *f, const char *applied, const char *want)
{
	struct gg_err err = {};
	char *now;

	assert_int_equal(gg_applied_recover(&f->cfg, &err), 0);
	now = fx_slurp(applied, NULL);
	assert_string_equal(now, want);
	free(now);
}

/* After a crash of the machine applied.json can be older than the
 * journal's last policy_applied record (made durable before the reply,
 * applied.json after it), or torn: it is put back from the record. A
 * missing one stays missing; a newer one (its apply not answered) stays;
 * a record without the pinned set (an older govgate's) recovers nothing;
 * a torn last line and a failed apply's record are skipped over. */
static void test_applied_recovered_from_journal(void **state)
{
	struct fx *f = *state;
	const char *applied = P(f, "state/applied.json"), *journal = P(f, "state/journal.jsonl");
	struct gg_err err = {};
	char *gen1, *gen2, *j;

	apply_ok(f, "p1@v1", GG_ACT_DENY);
	gen1 = fx_slurp(applied, NULL);
	apply_ok(f, "b@v1", GG_ACT_OBSERVE); /* a bundle: two pinned packs */
	gen2 = fx_slurp(applied, NULL);
	assert_non_null(strstr(gen2, "\"p3@v3\""));
	/* older: the set of generation 1 */
	fx_put(applied, gen1);
	assert_recovered_to(f, applied, gen2);
	/* torn: empty, or cut short */
	fx_put(applied, "");
	assert_recovered_to(f, applied, gen2);
	j = fx_slurp(journal, NULL);
	fx_put(applied, "{\"format\":2,\"gener");
	append_to(journal, "{\"event\":\"policy_apply_failed\",\"refs\":[],\"error\":\"x\"}\n");
	/* the record more than the first window (64 KiB) from the end */
	for (int i = 0; i < 1500; i++)
		append_to(journal, "{\"event\":\"policy_apply_failed\",\"refs\":[],"
				   "\"error\":\"a failure, one of many, after the last apply\"}\n");
	append_to(journal, "{\"event\":\"policy_applied\",\"generation\":9,\"refs\":["); /* torn */
	assert_recovered_to(f, applied, gen2);
	fx_put(journal, j);
	/* missing: an operator removed it */
	assert_int_equal(unlink(applied), 0);
	assert_int_equal(gg_applied_recover(&f->cfg, &err), 0);
	assert_int_not_equal(access(applied, F_OK), 0);
	/* newer than the record: kept */
	apply_ok(f, "p2@v2", GG_ACT_DENY);
	fx_put(journal, j);
	free(j);
	gen1 = (free(gen1), fx_slurp(applied, NULL));
	assert_recovered_to(f, applied, gen1);
	/* a record without the pinned set: nothing recovered */
	append_to(journal, "{\"event\":\"policy_applied\",\"generation\":99,"
			   "\"refs\":[{\"ref\":\"p1@v1\",\"mode\":\"enforce\"}]}\n");
	fx_put(applied, "oops");
	assert_recovered_to(f, applied, "oops");
	free(gen1);
	free(gen2);
}

/* Generations grow across an applied.json removed with fresh maps: the
 * journal's last record counts too (else a later record could name a
 * generation an older applied.json names, and recovery compare wrong). */
static void test_generation_grows_past_journal(void **state)
{
	struct fx *f = *state;
	pid_t pid;
	int st;

	apply_ok(f, "p1@v1", GG_ACT_DENY);
	apply_ok(f, "p2@v2", GG_ACT_DENY);
	assert_int_equal(K.latest, 2);
	assert_int_equal(unlink(P(f, "state/applied.json")), 0);
	K.latest = 0; /* unloaded: fresh maps */
	apply_ok(f, "p3@v3", GG_ACT_DENY);
	assert_int_equal(K.latest, 3);
	/* a process of its own reads the journal at its first lock */
	assert_int_equal(unlink(P(f, "state/applied.json")), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		K.latest = 0;
		apply_ok(f, "p1@v1", GG_ACT_DENY);
		_exit(K.latest == 4 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* A torn record at the journal's end (a crash, a short write): the next
 * one starts a line of its own, and a record glued to a torn one by an
 * older govgate is still found; an applied.json of the record's
 * generation but another set (torn into another valid set) is put back. */
static void test_journal_torn_tail(void **state)
{
	struct fx *f = *state;
	const char *applied = P(f, "state/applied.json"), *journal = P(f, "state/journal.jsonl");
	char *gen2, *j, *last, *glued, *now;
	json_t *rec;

	apply_ok(f, "p1@v1", GG_ACT_DENY);
	append_to(journal, "{\"event\":\"policy_app"); /* torn, no newline */
	apply_ok(f, "p2@v2", GG_ACT_DENY);
	gen2 = fx_slurp(applied, NULL);
	j = fx_slurp(journal, NULL);
	j[strlen(j) - 1] = '\0';
	rec = json_loads(strrchr(j, '\n') + 1, 0, NULL); /* a line of its own */
	assert_non_null(rec);
	assert_int_equal(gg_json_int(rec, "generation"), 2);
	json_decref(rec);
	free(j);
	fx_put(applied, "");
	assert_recovered_to(f, applied, gen2);
	/* glued: the last record appended to a torn one, on one line */
	j = fx_slurp(journal, NULL);
	j[strlen(j) - 1] = '\0';
	last = strrchr(j, '\n') + 1;
	assert_int_equal(asprintf(&glued, "{\"event\":\"policy_applied\",\"gen%s\n", last), (int)strlen(last) + 31);
	*last = '\0';
	fx_put(journal, j);
	append_to(journal, glued);
	fx_put(applied, "");
	assert_recovered_to(f, applied, gen2);
	/* the record's generation, another set */
	now = strdup(gen2);
	*strstr(now, "p2@v2") = 'q';
	fx_put(applied, now);
	free(now);
	assert_recovered_to(f, applied, gen2);
	free(glued);
	free(j);
	free(gen2);
}

/* The daemon's way, with a journal that cannot be written: no commit
 * point, so applied.json (and the record) are made durable at once. */
static void test_journal_failure_syncs_at_once(void **state)
{
	struct fx *f = *state;
	int fds;

	apply_ok(f, "p1@v1", GG_ACT_DENY);
	assert_int_equal(unlink(P(f, "state/journal.jsonl")), 0);
	assert_int_equal(mkdir(P(f, "state/journal.jsonl"), 0755), 0);
	gg_apply_sync_later(true);
	fds = fx_open_fds();
	apply_ok(f, "p2@v2", GG_ACT_DENY);
	assert_int_equal(fx_open_fds(), fds);
	gg_apply_sync_later(false);
}

/* The daemon's way: what an apply built (the parsed packs, the compiled
 * policy) is freed with the files' sync after the reply, not before it,
 * and all of it: applies taking turns with syncs keep no more. */
static void test_inputs_freed_with_sync(void **state)
{
	struct fx *f = *state;
	struct gg_err err = {};
	size_t base, held, after;

	apply_ok(f, "p1@v1", GG_ACT_DENY);
	apply_ok(f, "p2@v2", GG_ACT_DENY);
	gg_apply_sync_later(true);
	apply_ok(f, "p1@v1", GG_ACT_DENY);
	assert_int_equal(gg_apply_sync(&err), 0);
	base = mallinfo2().uordblks;
	apply_ok(f, "p2@v2", GG_ACT_DENY);
	held = mallinfo2().uordblks;
	assert_int_equal(gg_apply_sync(&err), 0);
	after = mallinfo2().uordblks;
	assert_true(held > after + 1024); /* the compiled policy at least */
	for (int i = 0; i < 4; i++) {
		apply_ok(f, i % 2 ? "p2@v2" : "p1@v1", GG_ACT_DENY);
		assert_int_equal(gg_apply_sync(&err), 0);
	}
	assert_true(mallinfo2().uordblks <= base + 1024);
	gg_apply_sync_later(false);
}

/* The daemon's start: its first apply lock recovers applied.json before
 * the restore reads it, so the set the journal last recorded runs. */
static void test_restore_recovers_applied(void **state)
{
	struct fx *f = *state;
	struct gg_err err = {};
	__u64 gen = 0;
	pid_t pid;
	int st;

	/* the applies in another process (this one has not locked the state
	 * directory yet: its first lock recovers) */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct gg_pack_ref r1 = { "p1@v1", GG_ACT_DENY }, r2 = { "p2@v2", GG_ACT_DENY };
		__u64 g;

		_exit(gg_policy_apply(&f->cfg, &r1, 1, "test", &g, &err) ||
		      gg_policy_apply(&f->cfg, &r2, 1, "test", &g, &err));
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	fx_put(P(f, "state/applied.json"), "");
	assert_int_equal(gg_policy_restore(&f->cfg, "govgate run", &gen, &err), 0);
	assert_true(running("old-two"));
	assert_false(running("old-one"));
	assert_int_equal(gen, 3);
}

static void test_corrupt_applied_set(void **state)
{
	struct fx *f = *state;
	struct gg_applied a;
	struct gg_err err = {};
	char want[600];
	__u64 gen = 0;
	int ret;

	assert_int_equal(mkdir(P(f, "state"), 0755), 0);
	fx_put(P(f, "state/applied.json"), "{\"format\": 2,\n  \"refs\": [ oops ]}\n");
	snprintf(want, sizeof(want), "%s:2:", P(f, "state/applied.json"));
	assert_int_equal(gg_applied_read(&f->cfg, &a, &err), -EINVAL);
	assert_non_null(strstr(err.msg, want));
	ret = gg_policy_restore(&f->cfg, "govgate run", &gen, &err);
	assert_int_not_equal(ret, 0);
	assert_int_not_equal(ret, -ENOENT);
	assert_non_null(strstr(err.msg, want));
	/* A sha256 that is not 64 hex digits never becomes a path. */
	fx_put(P(f, "state/applied.json"),
	    "{\"format\":2,\"generation\":1,\"refs\":[{\"ref\":\"p1@v1\",\"mode\":\"enforce\","
	    "\"packs\":[{\"ref\":\"p1@v1\",\"sha256\":\"../../etc/passwd\"}]}]}\n");
	assert_int_equal(gg_applied_read(&f->cfg, &a, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "refs[0].packs[0] is malformed"));
	assert_int_equal(K.swaps, 0);
}

/* ---- govgate apply ---- */

/* Runs gg_cmd_apply with stdout and stderr captured (caller frees). */
static int run_apply(struct fx *f, char **out, char **errs, int n, ...)
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
	optind = 0;
	rc = gg_cmd_apply(n, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, STDOUT_FILENO);
	dup2(se, STDERR_FILENO);
	close(so);
	close(se);
	close(fo);
	close(fe);
	*out = fx_slurp(P(f, "out.log"), NULL);
	*errs = fx_slurp(P(f, "err.log"), NULL);
	return rc;
}

static void test_cli_add_refuses_corrupt_set(void **state)
{
	struct fx *f = *state;
	char want[600], *out, *errs, *after;

	assert_int_equal(mkdir(P(f, "state"), 0755), 0);
	fx_put(P(f, "state/applied.json"), "{\"format\": 2,\n   oops }\n");
	assert_int_equal(run_apply(f, &out, &errs, 5, "apply", "--add", "p2@v2", "--config",
				   f->cfg_path),
			 1);
	snprintf(want, sizeof(want), "%s:2:", P(f, "state/applied.json"));
	if (!strstr(errs, want))
		fail_msg("stderr lacks \"%s\": %s", want, errs);
	assert_non_null(strstr(errs, "the running policy is unchanged"));
	free(out);
	free(errs);
	assert_int_equal(K.swaps, 0);
	after = fx_slurp(P(f, "state/applied.json"), NULL);
	assert_string_equal(after, "{\"format\": 2,\n   oops }\n");
	free(after);
	/* --remove too. */
	assert_int_equal(run_apply(f, &out, &errs, 5, "apply", "--remove", "p2@v2", "--config",
				   f->cfg_path),
			 1);
	assert_non_null(strstr(errs, want));
	free(out);
	free(errs);
	/* A plain apply replaces the set: the way to repair it. */
	assert_int_equal(run_apply(f, &out, &errs, 4, "apply", "p2@v2", "--config", f->cfg_path),
			 0);
	assert_non_null(strstr(out, "applied generation 1: platform-floor, p2@v2 [enforce]"));
	free(out);
	free(errs);
}

/* --add keeps the other refs on the bytes they were applied with. */
static void test_cli_add_keeps_pinned(void **state)
{
	struct fx *f = *state;
	char *out, *errs;

	assert_int_equal(run_apply(f, &out, &errs, 4, "apply", "b@v1", "--config", f->cfg_path), 0);
	assert_non_null(strstr(out, "b@v1 [enforce] (= p2@v2, p3@v3)"));
	free(out);
	free(errs);
	put_pack(P(f, "packs/p2.json"), "p2", "v2", "new-two");
	assert_int_equal(run_apply(f, &out, &errs, 7, "apply", "--add", "p1@v1", "--mode",
				   "observe", "--config", f->cfg_path),
			 0);
	assert_non_null(strstr(out, "b@v1 [enforce] (= p2@v2, p3@v3), p1@v1 [observe]"));
	free(out);
	free(errs);
	assert_true(running("old-two") && running("old-one"));
	assert_false(running("new-two"));
	/* Named again: resolved again. */
	assert_int_equal(run_apply(f, &out, &errs, 5, "apply", "--add", "b@v1", "--config",
				   f->cfg_path),
			 0);
	free(out);
	free(errs);
	assert_true(running("new-two"));
	assert_int_equal(run_apply(f, &out, &errs, 6, "apply", "--remove", "b@v1", "--json",
				   "--config", f->cfg_path),
			 0);
	assert_non_null(strstr(out, "\"ref\": \"p1@v1\""));
	assert_null(strstr(out, "b@v1"));
	free(out);
	free(errs);
	assert_false(running("new-two"));
}

/* Several refs resolved now with pinned ones between them: the fresh ones
 * are loaded ahead together (gg_ref_prefetch) and each must land on its
 * own entry, while the pinned ones keep the bytes they were applied with. */
static void test_cli_fresh_around_pinned(void **state)
{
	struct fx *f = *state;
	char *out, *errs, local[PATH_MAX];

	assert_non_null(realpath(P(f, "sub/local.json"), local));
	assert_int_equal(run_apply(f, &out, &errs, 4, "apply", "b@v1", "--config", f->cfg_path), 0);
	free(out);
	free(errs);
	put_pack(P(f, "packs/p2.json"), "p2", "v2", "new-two");
	assert_int_equal(run_apply(f, &out, &errs, 6, "apply", "--add", "p1@v1", local, "--config",
				   f->cfg_path),
			 0);
	assert_non_null(strstr(out, "b@v1 [enforce] (= p2@v2, p3@v3), p1@v1 [enforce], "));
	free(out);
	free(errs);
	assert_true(running("old-two") && running("old-one") && running("old-local"));
	/* now b (first) and local (last) again, p1 between them pinned */
	put_pack(P(f, "packs/p1.json"), "p1", "v1", "new-one");
	put_pack(local, "local", "v1", "new-local");
	assert_int_equal(run_apply(f, &out, &errs, 6, "apply", "--add", "b@v1", local, "--config",
				   f->cfg_path),
			 0);
	free(out);
	free(errs);
	assert_true(running("new-two") && running("new-local") && running("old-one"));
	assert_false(running("old-two") || running("old-local") || running("new-one"));
}

/* --add reads the set only once it holds the apply lock: an apply that
 * finishes while it waits is not lost. */
static void test_cli_add_reads_under_lock(void **state)
{
	struct fx *f = *state;
	struct gg_pack_ref *refs = NULL;
	struct gg_err err = {};
	size_t n = 0;
	int lock, status;
	pid_t pid;

	assert_int_equal(mkdir(P(f, "state"), 0755), 0);
	lock = open(P(f, "state/apply.lock"), O_RDWR | O_CREAT, 0600);
	assert_true(lock >= 0 && !flock(lock, LOCK_EX));
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *out, *errs;

		close(lock);
		_exit(run_apply(f, &out, &errs, 5, "apply", "--add", "p2@v2", "--config",
				f->cfg_path));
	}
	usleep(300 * 1000); /* the child is waiting for the lock by now */
	/* What an apply holding the lock would leave (format 1 is enough). */
	fx_put(P(f, "state/applied.json"), "{\"refs\":[{\"ref\":\"p1@v1\"}],\"generation\":1}\n");
	flock(lock, LOCK_UN);
	close(lock);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	if (gg_applied_load(&f->cfg, &refs, &n, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(n, 2);
	assert_string_equal(refs[0].ref, "p1@v1");
	assert_string_equal(refs[1].ref, "p2@v2");
	gg_pack_refs_free(refs, n);
}

/* Can another open file description take the apply lock now? */
static bool lock_free(struct fx *f)
{
	int fd = open(P(f, "state/apply.lock"), O_RDWR | O_CLOEXEC);
	bool free_ = fd >= 0 && !flock(fd, LOCK_EX | LOCK_NB);

	if (fd >= 0)
		close(fd);
	return free_;
}

/* The daemon's loop empties the stale slot a chunk at a time, holding the
 * apply lock throughout; its own next apply finishes the clear first (and
 * does not wait for itself); an apply elsewhere keeps it waiting. */
static void test_idle_clears_under_lock(void **state)
{
	struct fx *f = *state;
	int fd;

	apply_ok(f, "p1@v1", GG_ACT_DENY); /* the lock file exists */
	assert_int_equal(gg_apply_idle(&f->cfg, 200), 200); /* nothing stale */
	assert_int_equal(K.stale_calls, 0);
	K.stale_left = 3;
	assert_int_equal(gg_apply_idle(&f->cfg, 200), 0); /* more to do */
	assert_int_equal(K.stale_left, 2);
	assert_false(lock_free(f));
	apply_ok(f, "p2@v2", GG_ACT_DENY);
	assert_int_equal(K.stale_left_at_swap, 0);
	assert_true(lock_free(f));
	/* held elsewhere: not begun, asked again later */
	K.stale_left = 2;
	K.stale_calls = 0;
	fd = open(P(f, "state/apply.lock"), O_RDWR | O_CLOEXEC);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	assert_int_equal(gg_apply_idle(&f->cfg, 200), 200);
	assert_int_equal(K.stale_calls, 0);
	close(fd);
	assert_int_equal(gg_apply_idle(&f->cfg, 200), 0);
	assert_int_equal(gg_apply_idle(&f->cfg, 200), 200); /* the last one */
	assert_int_equal(K.stale_calls, 2);
	assert_true(lock_free(f));
}

/* The daemon's caches (parsed packs by digest, the generation's record it
 * wrote) never stand for a source that changed: a rewritten pack file, by
 * name and by path, is what the next apply enforces. */
static void test_daemon_caches_follow_sources(void **state)
{
	struct fx *f = *state;
	char local[512];

	gg_doc_cache_enable(true);
	gg_generation_keep(true);
	snprintf(local, sizeof(local), "%s", P(f, "sub/local.json"));
	apply_ok(f, "p1@v1", GG_ACT_DENY);
	assert_true(running("old-one"));
	apply_ok(f, "p1@v1", GG_ACT_DENY); /* the same bytes: from the cache */
	assert_true(running("old-one"));
	put_pack(P(f, "packs/p1.json"), "p1", "v1", "new-one");
	apply_ok(f, "p1@v1", GG_ACT_DENY);
	assert_true(running("new-one") && !running("old-one"));
	apply_ok(f, local, GG_ACT_DENY);
	assert_true(running("old-local"));
	put_pack(local, "local", "v1", "new-local");
	apply_ok(f, local, GG_ACT_DENY);
	assert_true(running("new-local") && !running("old-local"));
	gg_generation_keep(false);
	gg_doc_cache_enable(false);
}

static char *policy_text(const struct gg_compiled *c)
{
	json_t *doc = gg_compiled_to_json(c);
	char *s = doc ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	json_decref(doc);
	assert_non_null(s);
	return s;
}

/* A cached declaration is compared with the ref as a parsed one is: p1@v1
 * is found past a p1.json that declares v2, also once that file's bytes
 * are in the cache. */
static void test_cached_declaration_checked(void **state)
{
	struct fx *f = *state;

	gg_doc_cache_enable(true);
	put_pack(P(f, "packs/p1.json"), "p1", "v2", "two-of-p1");
	put_pack(P(f, "packs/bundles/p1.json"), "p1", "v1", "one-of-p1");
	apply_ok(f, "p1@v2", GG_ACT_DENY);
	assert_true(running("two-of-p1"));
	apply_ok(f, "p1@v1", GG_ACT_DENY);
	assert_true(running("one-of-p1") && !running("two-of-p1"));
	gg_doc_cache_enable(false);
}

/* What the apply keeps for the daemon is the record it wrote, once; with
 * an allowlist (what the DNS forwarder reads from it). */
static void test_kept_generation_is_its_record(void **state)
{
	struct fx *f = *state;
	struct gg_pack_ref refs[] = { { "p1@v1", GG_ACT_DENY }, { "b@v1", GG_ACT_OBSERVE },
				      { (char *)P(f, "sub/allow.json"), GG_ACT_DENY } };
	struct gg_compiled *kept, *loaded = NULL;
	struct gg_err err = {};
	char *a, *b;
	__u64 gen = 0;

	fx_put(refs[2].ref,
	       "{\"name\": \"allow\", \"version\": \"v1\", \"framework\": {\"id\": \"fw\", "
	       "\"title\": \"F\"}, \"controls\": [{\"id\": \"C1\", \"title\": \"t\", "
	       "\"status\": \"enforced\"}], \"rules\": [], \"egress_allowlist\": {\"controls\": "
	       "[\"C1\"], \"allow\": [{\"domain\": \"*.example.org\", \"ports\": [443]}, "
	       "{\"cidr\": \"10.0.0.0/8\"}]}}\n");
	gg_generation_keep(true);
	if (gg_policy_apply(&f->cfg, refs, 3, "test", &gen, &err))
		fail_msg("%s", err.msg);
	assert_null(gg_generation_take(gen + 1));
	kept = gg_generation_take(gen);
	assert_non_null(kept);
	assert_null(gg_generation_take(gen)); /* once */
	if (gg_generation_load(&f->cfg, gen, &loaded, &err))
		fail_msg("%s", err.msg);
	a = policy_text(kept);
	b = policy_text(loaded);
	assert_string_equal(a, b);
	assert_true(kept->n_entries > 0);
	assert_int_equal(kept->n_refs, 5); /* the floor, p1, the bundle's two, allow */
	assert_int_equal(kept->n_allow_lists, 1);
	assert_int_equal(kept->n_allow_domains, 1);
	assert_int_equal(kept->n_exec_names, 0); /* the record only, not the rows */
	free(a);
	free(b);
	gg_compiled_free(kept);
	gg_compiled_free(loaded);
	apply_ok(f, "p1@v1", GG_ACT_DENY);
	assert_null(gg_generation_take(gen)); /* an older one is not kept */
	gg_generation_keep(false);
	/* off: nothing kept */
	apply_ok(f, "p2@v2", GG_ACT_DENY);
	assert_null(gg_generation_take(K.latest));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_apply_keeps_exact_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_daemon_caches_follow_sources, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kept_generation_is_its_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cached_declaration_checked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_clears_under_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restore_uses_stored_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restore_refuses_bad_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restore_checks_signatures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_path_ref_made_absolute, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_swap_puts_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_swap_without_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_in_place_before_swap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_failure_said, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restore_format1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_applied_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_applied_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_applied_recovered_from_journal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restore_recovers_applied, setup, teardown),
		cmocka_unit_test_setup_teardown(test_generation_grows_past_journal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_torn_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_failure_syncs_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inputs_freed_with_sync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cli_add_refuses_corrupt_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cli_add_keeps_pinned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cli_fresh_around_pinned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cli_add_reads_under_lock, setup, teardown),
	};

	/* worker threads for any size, as an apply of large files has */
	gg_prefetch_threads_min_bytes = 0;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
