// SPDX-License-Identifier: GPL-2.0
/* Policy refs: lookup order, the content-addressed store, confined blobs,
 * bundles, and signatures (user/ref.c). */
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

#include "ref.h"
#include "sign.h"

struct fx {
	char *root;
	char path[16][512]; /* rotating scratch for P() */
	int next;
	char p5_sha[65];
	const char *dirs[2];
	struct gg_ref_ctx ctx; /* registry + account, packs/, store, no trust */
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

static void put_pack(const char *path, const char *name, const char *version, const char *desc)
{
	fx_put_pack(path, name, version, desc, "F", "nc");
}

static void sign_file(struct fx *f, const char *key, const char *path)
{
	fx_sign(P(f, "keys/%s.key", key), path);
}

/* members: comma-separated refs. */
static void put_bundle(const char *path, const char *name, const char *members)
{
	char buf[1024], list[768] = "", *m, *save = NULL, *copy = strdup(members);

	for (m = strtok_r(copy, ",", &save); m; m = strtok_r(NULL, ",", &save))
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s\"%s\"",
			 list[0] ? "," : "", m);
	free(copy);
	snprintf(buf, sizeof(buf), "{\"bundle\":\"%s\",\"version\":\"v1\",\"members\":[%s]}\n", name,
		 list);
	fx_put(path, buf);
}

static int setup(void **state)
{
	static const char *const mkd[] = {
		"registry",	"registry/acme", "packs",	  "packs/bundles", "packs2",
		"store",	"store/sha256",	 "store/policies", "store/policies/team",
		"keys",		"trust",	 "untrusted",
	};
	struct fx *f = calloc(1, sizeof(*f));
	struct gg_err err = {};
	char link[512], *buf;
	size_t len;

	if (!f || !(f->root = strdup("/tmp/gg-test-ref.XXXXXX")) || !mkdtemp(f->root))
		return -1;
	for (size_t i = 0; i < sizeof(mkd) / sizeof(mkd[0]); i++)
		if (mkdir(P(f, "%s", mkd[i]), 0755))
			return -1;

	put_pack(P(f, "registry/acme/p1@v1.json"), "p1", "v1", "registry");
	put_pack(P(f, "packs/p1.json"), "p1", "v1", "shipped");
	put_pack(P(f, "packs/p2.json"), "p2", "v2", "shipped");
	put_pack(P(f, "packs/p3@v3.json"), "p3", "v3", "exact");
	put_pack(P(f, "packs/p4@v4.json"), "p4", "v5", "misnamed");
	put_pack(P(f, "packs2/p2.json"), "p2", "v3", "second dir");
	fx_put(P(f, "packs/broken.json"), "{ not json");

	put_bundle(P(f, "packs/bundles/b.json"), "b", "p2@v2,p3@v3");
	put_bundle(P(f, "packs/bundles/b2@v1.json"), "b2", "p3@v3,b@v1,p2@v2");
	put_bundle(P(f, "packs/bundles/c0.json"), "c0", "c0@v1");
	put_bundle(P(f, "packs/bundles/c1.json"), "c1", "p2@v2,c2@v1");
	put_bundle(P(f, "packs/bundles/c2.json"), "c2", "c1@v1");
	put_bundle(P(f, "packs/bundles/bpath.json"), "bpath", "packs/p1.json");
	put_bundle(P(f, "packs/bundles/bunk.json"), "bunk", "p2@v2,zz@v1");
	/* e1 -> e2 -> ... -> e9 -> p2: nine levels of bundles. */
	for (int i = 1; i <= 9; i++) {
		char name[16], member[16];

		snprintf(name, sizeof(name), "e%d", i);
		if (i < 9)
			snprintf(member, sizeof(member), "e%d@v1", i + 1);
		else
			snprintf(member, sizeof(member), "p2@v2");
		put_bundle(P(f, "packs/bundles/%s.json", name), name, member);
	}

	/* Content-addressed store. */
	put_pack(P(f, "p5.json"), "p5", "v5", "by digest");
	buf = fx_slurp(P(f, "p5.json"), &len);
	gg_sha256_hex(buf, len, f->p5_sha);
	fx_put(P(f, "store/sha256/%s", f->p5_sha), buf);
	free(buf);

	/* Blobs: one real, one reached through an inside symlink, escapes. */
	put_pack(P(f, "store/policies/team/a.json"), "p6", "v1", "blob");
	put_pack(P(f, "outside.json"), "secret", "v1", "outside the namespace");
	if (symlink("team/a.json", P(f, "store/policies/link-in")) ||
	    symlink("../../outside.json", P(f, "store/policies/esc")) ||
	    symlink("../..", P(f, "store/policies/updir")) ||
	    symlink("/proc/self/root/etc/passwd", P(f, "store/policies/magic")) ||
	    mkfifo(P(f, "store/policies/fifo"), 0644))
		return -1;
	snprintf(link, sizeof(link), "%s", P(f, "outside.json"));
	if (symlink(link, P(f, "store/policies/abs")))
		return -1;

	/* Keys: "ops" is trusted, "rogue" is not. */
	if (gg_key_generate(P(f, "keys/ops.key"), P(f, "trust/ops.pub"), &err) ||
	    gg_key_generate(P(f, "keys/rogue.key"), P(f, "untrusted/rogue.pub"), &err)) {
		fprintf(stderr, "setup: %s\n", err.msg);
		return -1;
	}

	f->dirs[0] = strdup(P(f, "packs"));
	f->dirs[1] = strdup(P(f, "packs2"));
	f->ctx.registry_dir = strdup(P(f, "registry"));
	f->ctx.account = "acme";
	f->ctx.pack_dirs = f->dirs;
	f->ctx.n_pack_dirs = 2;
	f->ctx.store_dir = strdup(P(f, "store"));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	fx_rm_tree(f->root);
	free((char *)f->dirs[0]);
	free((char *)f->dirs[1]);
	free((char *)f->ctx.registry_dir);
	free((char *)f->ctx.store_dir);
	free(f->root);
	free(f);
	return 0;
}

/* Loads ref; expects success and returns the origin relative to root. */
static const char *load_ok(struct fx *f, const struct gg_ref_ctx *ctx, const char *ref,
			   struct gg_doc *doc)
{
	struct gg_err err = {};

	if (gg_ref_load(ctx, ref, doc, &err))
		fail_msg("%s: %s", ref, err.msg);
	assert_string_equal(doc->ref, ref);
	assert_int_equal(strncmp(doc->origin, f->root, strlen(f->root)), 0);
	return doc->origin + strlen(f->root) + 1;
}

/* Expects ref to fail with code and a message containing want. */
static void load_fails(const struct gg_ref_ctx *ctx, const char *ref, int code, const char *want)
{
	struct gg_err err = {};
	struct gg_doc doc;
	int ret = gg_ref_load(ctx, ref, &doc, &err);

	if (ret != code || !strstr(err.msg, want))
		fail_msg("%s: got %d \"%s\", want %d \"%s\"", ref, ret, err.msg, code, want);
	assert_null(doc.buf);
	assert_null(doc.origin);
}

static void test_classify(void **state)
{
	static const struct {
		const char *ref;
		enum gg_ref_kind kind;
	} cases[] = {
		{ "p1@v1", GG_REF_NAME },
		{ "hipaa-core@2024.1_rc-2", GG_REF_NAME },
		{ "sha256:00", GG_REF_SHA256 },
		{ "blob:team/a.json", GG_REF_BLOB },
		{ "blob:", GG_REF_BLOB },
		{ "./packs/p1.json", GG_REF_PATH },
		{ "p1.json", GG_REF_PATH },
		{ "a/b@v1", GG_REF_PATH },
		{ "P1@v1", GG_REF_INVALID },
		{ "p1@", GG_REF_INVALID },
		{ "@v1", GG_REF_INVALID },
		{ "p1@v 1", GG_REF_INVALID },
		{ "p1", GG_REF_INVALID },
		{ "", GG_REF_INVALID },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (gg_ref_classify(cases[i].ref) != cases[i].kind)
			fail_msg("%s: kind %d, want %d", cases[i].ref, gg_ref_classify(cases[i].ref),
				 cases[i].kind);
	assert_int_equal(gg_ref_classify(NULL), GG_REF_INVALID);
}

static void test_name_registry_shadows_packs(void **state)
{
	struct fx *f = *state;
	struct gg_ref_ctx ctx = f->ctx;
	struct gg_doc doc;
	char sha[65];

	assert_string_equal(load_ok(f, &ctx, "p1@v1", &doc), "registry/acme/p1@v1.json");
	assert_non_null(strstr(doc.buf, "\"registry\""));
	gg_sha256_hex(doc.buf, doc.len, sha);
	assert_string_equal(doc.sha256, sha);
	assert_false(doc.signed_ok);
	assert_null(doc.signer);
	gg_doc_free(&doc);

	/* No account (or no registry): the shipped pack. */
	ctx.account = NULL;
	assert_string_equal(load_ok(f, &ctx, "p1@v1", &doc), "packs/p1.json");
	assert_non_null(strstr(doc.buf, "\"shipped\""));
	gg_doc_free(&doc);

	/* Another account's registry has no p1: falls through as well. */
	ctx.account = "other";
	assert_string_equal(load_ok(f, &ctx, "p1@v1", &doc), "packs/p1.json");
	gg_doc_free(&doc);

	/* The account is a path component: one plain name only. */
	ctx.account = "../registry/acme";
	load_fails(&ctx, "p1@v1", -EINVAL, "invalid account");
	ctx.account = "..";
	load_fails(&ctx, "p1@v1", -EINVAL, "invalid account");
}

static void test_name_pack_dirs(void **state)
{
	struct fx *f = *state;
	struct gg_doc doc;

	/* <dir>/<name>@<version>.json */
	assert_string_equal(load_ok(f, &f->ctx, "p3@v3", &doc), "packs/p3@v3.json");
	gg_doc_free(&doc);
	/* <dir>/<name>.json with the right version, in the second dir. */
	assert_string_equal(load_ok(f, &f->ctx, "p2@v2", &doc), "packs/p2.json");
	gg_doc_free(&doc);
	assert_string_equal(load_ok(f, &f->ctx, "p2@v3", &doc), "packs2/p2.json");
	gg_doc_free(&doc);
	/* Bundles: <dir>/bundles/<name>.json and <name>@<version>.json. */
	assert_string_equal(load_ok(f, &f->ctx, "b@v1", &doc), "packs/bundles/b.json");
	gg_doc_free(&doc);
	assert_string_equal(load_ok(f, &f->ctx, "b2@v1", &doc), "packs/bundles/b2@v1.json");
	gg_doc_free(&doc);
}

static void test_name_version_mismatch(void **state)
{
	struct fx *f = *state;

	/* packs/p2.json is v2, packs2/p2.json is v3: neither is v9. */
	load_fails(&f->ctx, "p2@v9", -ENOENT, "unknown ref p2@v9 (looked in: ");
	load_fails(&f->ctx, "p2@v9", -ENOENT, "packs/p2.json (version v2)");
	load_fails(&f->ctx, "p2@v9", -ENOENT, "packs2/p2.json (version v3)");
	/* A file whose name carries the version must declare that version. */
	load_fails(&f->ctx, "p4@v4", -EINVAL, "p4@v4.json: declares p4@v5, but is stored as p4@v4");
	/* Unparsable <name>.json: noted, and the search goes on. */
	load_fails(&f->ctx, "broken@v1", -ENOENT, "packs/broken.json (no name and version to check)");
}

static void test_name_unknown(void **state)
{
	struct fx *f = *state;
	struct gg_ref_ctx none = { 0 };
	struct gg_err err = {};
	struct gg_doc doc;

	assert_int_equal(gg_ref_load(&f->ctx, "zz@v1", &doc, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "unknown ref zz@v1 (looked in: "));
	assert_non_null(strstr(err.msg, "registry/acme/zz@v1.json, "));
	assert_non_null(strstr(err.msg, "packs/zz@v1.json, "));
	assert_non_null(strstr(err.msg, "packs/zz.json, "));
	assert_non_null(strstr(err.msg, "packs/bundles/zz@v1.json, "));
	assert_non_null(strstr(err.msg, "packs2/bundles/zz.json)"));
	load_fails(&none, "zz@v1", -ENOENT, "unknown ref zz@v1 (looked in: nothing");
	load_fails(&f->ctx, "ZZ", -EINVAL, "unrecognized ref \"ZZ\"");
	load_fails(&f->ctx, "", -EINVAL, "unrecognized ref");
}

static void test_sha256(void **state)
{
	struct fx *f = *state;
	struct gg_ref_ctx nostore = f->ctx;
	char ref[128], upper[128];
	struct gg_doc doc;

	snprintf(ref, sizeof(ref), "sha256:%s", f->p5_sha);
	assert_string_equal(load_ok(f, &f->ctx, ref, &doc), P(f, "store/sha256/%s", f->p5_sha) +
							       strlen(f->root) + 1);
	assert_string_equal(doc.sha256, f->p5_sha);
	gg_doc_free(&doc);

	snprintf(upper, sizeof(upper), "sha256:%s", f->p5_sha);
	for (char *c = upper + 7; *c; c++)
		if (*c >= 'a' && *c <= 'f')
			*c -= 32;
	load_fails(&f->ctx, upper, -EINVAL, "64 lower-case hex digits");
	load_fails(&f->ctx, "sha256:abc", -EINVAL, "64 lower-case hex digits");
	load_fails(&f->ctx, "sha256:../../../../etc/passwd", -EINVAL, "64 lower-case hex digits");
	load_fails(&f->ctx,
		   "sha256:0000000000000000000000000000000000000000000000000000000000000000",
		   -ENOENT, "not in the store");
	nostore.store_dir = NULL;
	load_fails(&nostore, ref, -ENOENT, "no store directory configured");
}

static void test_sha256_tampered(void **state)
{
	struct fx *f = *state;
	char ref[128], want[256], got[65], *buf;
	size_t len;

	/* Same size, one byte changed: still caught, with both digests. */
	buf = fx_slurp(P(f, "store/sha256/%s", f->p5_sha), &len);
	buf[len - 3] = buf[len - 3] == ']' ? ')' : ']';
	fx_put(P(f, "store/sha256/%s", f->p5_sha), buf);
	gg_sha256_hex(buf, len, got);
	snprintf(ref, sizeof(ref), "sha256:%s", f->p5_sha);
	snprintf(want, sizeof(want), "%s: content does not match its name: expected sha256:%s, got sha256:%s",
		 P(f, "store/sha256/%s", f->p5_sha), f->p5_sha, got);
	load_fails(&f->ctx, ref, -EBADMSG, want);
	free(buf);
	/* Put it back for the tests after this one. */
	put_pack(P(f, "store/sha256/%s", f->p5_sha), "p5", "v5", "by digest");
}

static void test_blob_ok(void **state)
{
	struct fx *f = *state;
	struct gg_doc doc;

	assert_string_equal(load_ok(f, &f->ctx, "blob:team/a.json", &doc),
			    "store/policies/team/a.json");
	assert_non_null(strstr(doc.buf, "\"p6\""));
	gg_doc_free(&doc);
	/* A symlink that stays inside the namespace is fine. */
	assert_string_equal(load_ok(f, &f->ctx, "blob:link-in", &doc), "store/policies/link-in");
	assert_non_null(strstr(doc.buf, "\"p6\""));
	gg_doc_free(&doc);
	assert_string_equal(load_ok(f, &f->ctx, "blob:./team//a.json", &doc),
			    "store/policies/./team//a.json");
	gg_doc_free(&doc);
}

static void test_blob_refused(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *ref;
		int code;
		const char *want;
	} cases[] = {
		{ "blob:", -EINVAL, "blob: empty key" },
		{ "blob:../x", -EINVAL, "blob:../x: \"..\" components are refused" },
		{ "blob:..", -EINVAL, "\"..\" components are refused" },
		{ "blob:a/../../x", -EINVAL, "blob:a/../../x: \"..\" components are refused" },
		{ "blob:team/..", -EINVAL, "\"..\" components are refused" },
		{ "blob:/etc/passwd", -EINVAL, "blob:/etc/passwd: absolute keys are refused" },
		{ "blob:esc", -EXDEV, "blob:esc escapes the policies/ namespace" },
		{ "blob:abs", -EXDEV, "blob:abs escapes the policies/ namespace" },
		{ "blob:updir/outside.json", -EXDEV, "escapes the policies/ namespace" },
		{ "blob:magic", -EXDEV, "escapes the policies/ namespace" },
		{ "blob:fifo", -EINVAL, "blob:fifo: not a regular file" },
		{ "blob:team", -EINVAL, "not a regular file" },
		{ "blob:nope.json", -ENOENT, "blob:nope.json: not found in " },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		load_fails(&f->ctx, cases[i].ref, cases[i].code, cases[i].want);
}

static void test_blob_nul(void **state)
{
	struct fx *f = *state;
	static const char key[] = "team/a.json\0../../outside.json";
	struct gg_err err = {};
	struct gg_doc doc;

	assert_int_equal(gg_ref_load_blob(&f->ctx, key, sizeof(key) - 1, &doc, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "key contains a NUL byte (at offset 11)"));
	assert_null(doc.buf);
	assert_int_equal(gg_blob_key_check("a\0b", 3, &err), -EINVAL);
	assert_int_equal(gg_blob_key_check("", 0, &err), -EINVAL);
	assert_int_equal(gg_blob_key_check("a/b", 3, &err), 0);
	assert_int_equal(gg_blob_key_check("a/..b/..c", 9, &err), 0); /* not ".." */
	/* The same key with its true length loads. */
	assert_int_equal(gg_ref_load_blob(&f->ctx, key, strlen(key), &doc, &err), 0);
	gg_doc_free(&doc);
}

/* The strict walk used when the kernel has no openat2. */
static void test_blob_nofollow_fallback(void **state)
{
	struct fx *f = *state;
	struct gg_err err = {};
	int dirfd = open(P(f, "store/policies"), O_PATH | O_DIRECTORY | O_CLOEXEC), fd;

	assert_true(dirfd >= 0);
	fd = gg_blob_openat(dirfd, "team/a.json", true, &err);
	assert_true(fd >= 0);
	close(fd);
	fd = gg_blob_openat(dirfd, "./team//a.json", true, &err);
	assert_true(fd >= 0);
	close(fd);
	/* Every symlink is refused, even one that stays inside. */
	assert_int_equal(gg_blob_openat(dirfd, "link-in", true, &err), -ELOOP);
	assert_non_null(strstr(err.msg, "blob:link-in: symlinks are refused"));
	assert_int_equal(gg_blob_openat(dirfd, "esc", true, &err), -ELOOP);
	assert_int_equal(gg_blob_openat(dirfd, "abs", true, &err), -ELOOP);
	assert_int_equal(gg_blob_openat(dirfd, "updir/outside.json", true, &err), -ELOOP);
	assert_int_equal(gg_blob_openat(dirfd, "nope", true, &err), -ENOENT);
	assert_int_equal(gg_blob_openat(dirfd, "team/a.json/x", true, &err), -ENOENT);
	assert_int_equal(gg_blob_openat(dirfd, ".", true, &err), -EISDIR);
	close(dirfd);
}

static void test_path_ref(void **state)
{
	struct fx *f = *state;
	struct gg_doc doc;
	char ref[600];

	snprintf(ref, sizeof(ref), "%s", P(f, "packs/p1.json"));
	assert_string_equal(load_ok(f, &f->ctx, ref, &doc), "packs/p1.json");
	gg_doc_free(&doc);
	snprintf(ref, sizeof(ref), "%s", P(f, "packs/none.json"));
	load_fails(&f->ctx, ref, -ENOENT, "none.json: no such file");
	/* the daemon's: a FIFO in place of the file the CLI hashed is refused
	 * at once, not waited on (this test would hang in open) */
	snprintf(ref, sizeof(ref), "%s", P(f, "packs/fifo.json"));
	assert_int_equal(mkfifo(ref, 0644), 0);
	gg_ref_paths_regular(true);
	load_fails(&f->ctx, ref, -EINVAL, "fifo.json: not a regular file");
	gg_ref_paths_regular(false);
}

static const char *const *refs(int n, ...)
{
	static const char *v[8];
	va_list ap;

	va_start(ap, n);
	for (int i = 0; i < n; i++)
		v[i] = va_arg(ap, const char *);
	va_end(ap);
	return v;
}

static void resolve_fails(const struct gg_ref_ctx *ctx, const char *ref, int code,
			  const char *want)
{
	struct gg_pack **packs = (void *)1;
	struct gg_err err = {};
	size_t n = 99;
	int ret = gg_ref_resolve_packs(ctx, refs(1, ref), 1, &packs, &n, &err);

	if (ret != code || !strstr(err.msg, want))
		fail_msg("%s: got %d \"%s\", want %d \"%s\"", ref, ret, err.msg, code, want);
	assert_null(packs);
	assert_int_equal(n, 0);
}

static void test_resolve_bundles(void **state)
{
	struct fx *f = *state;
	struct gg_pack **packs = NULL;
	struct gg_err err = {};
	char sha[65], *buf;
	size_t n = 0, len;

	/* b2 = p3, b(p2, p3), p2; then p1 from the registry, and p2 again. */
	if (gg_ref_resolve_packs(&f->ctx, refs(3, "b2@v1", "p1@v1", "p2@v2"), 3, &packs, &n, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(n, 3);
	assert_string_equal(packs[0]->ref, "p3@v3");
	assert_string_equal(packs[1]->ref, "p2@v2");
	assert_string_equal(packs[2]->ref, "p1@v1");
	assert_non_null(strstr(packs[2]->origin, "registry/acme/p1@v1.json"));
	buf = fx_slurp(P(f, "packs/p3@v3.json"), &len);
	gg_sha256_hex(buf, len, sha);
	assert_string_equal(packs[0]->sha256, sha);
	free(buf);
	gg_packs_free(packs, n);

	/* A pack by digest is named by what it declares. */
	snprintf(sha, sizeof(sha), "%s", f->p5_sha);
	{
		char ref[80];

		snprintf(ref, sizeof(ref), "sha256:%s", sha);
		if (gg_ref_resolve_packs(&f->ctx, refs(2, ref, "blob:team/a.json"), 2, &packs, &n,
					 &err))
			fail_msg("%s", err.msg);
		assert_int_equal(n, 2);
		assert_string_equal(packs[0]->ref, "p5@v5");
		assert_string_equal(packs[0]->sha256, f->p5_sha);
		assert_string_equal(packs[1]->ref, "p6@v1");
		gg_packs_free(packs, n);
	}

	/* Eight levels of bundles are fine. */
	if (gg_ref_resolve_packs(&f->ctx, refs(1, "e2@v1"), 1, &packs, &n, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(n, 1);
	assert_string_equal(packs[0]->ref, "p2@v2");
	gg_packs_free(packs, n);
}

/* Several refs are loaded and parsed ahead, concurrently: the results and
 * the first error (in the refs' order) are those of resolving each alone. */
static void test_resolve_prefetched_in_order(void **state)
{
	static const char *const bad[] = { "dup@v1", "c1@v1", "nosuch@v9" };
	struct fx *f = *state;
	size_t min_bytes = gg_prefetch_threads_min_bytes;

	/* on worker threads (these files are small) and on the caller's */
	for (size_t i = 0; i < 2 * sizeof(bad) / sizeof(bad[0]); i++) {
		struct gg_err alone = {}, many = {};
		struct gg_pack **packs = (void *)1;
		size_t n = 99;
		int a, m;

		gg_prefetch_threads_min_bytes = i < 3 ? 0 : SIZE_MAX;
		a = gg_ref_resolve_packs(&f->ctx, refs(1, bad[i % 3]), 1, &packs, &n, &alone);
		assert_int_not_equal(a, 0);
		/* after a good one, before another bad one */
		m = gg_ref_resolve_packs(&f->ctx, refs(3, "p1@v1", bad[i % 3], "c0@v1"), 3, &packs, &n,
					 &many);
		if (m != a || strcmp(alone.msg, many.msg))
			fail_msg("%s: alone %d \"%s\", among others %d \"%s\"", bad[i % 3], a,
				 alone.msg, m, many.msg);
		assert_null(packs);
		assert_int_equal(n, 0);
	}
	gg_prefetch_threads_min_bytes = min_bytes;
}

/* The lookup reads a candidate's declared name@version from the parse the
 * pack parser then reuses, but judges it as a plain parse would: a
 * <name>.json with duplicate keys is chosen (and the parser says what is
 * wrong), one with a \u0000 anywhere has no name to check. */
static void test_resolve_decl_plain(void **state)
{
	struct fx *f = *state;
	struct gg_pack **packs = NULL;
	struct gg_err err = {};
	size_t n = 0;

	fx_put(P(f, "packs/dup.json"), "{\"name\": \"dup\", \"version\": \"v1\", "
	       "\"version\": \"v1\"}");
	resolve_fails(&f->ctx, "dup@v1", -EINVAL, "duplicate object key");
	fx_put(P(f, "packs/nul.json"), "{\"name\": \"nul\", \"version\": \"v1\", "
	       "\"description\": \"a\\u0000b\"}");
	resolve_fails(&f->ctx, "nul@v1", -ENOENT, "packs/nul.json (no name and version to check)");
	/* And a good one resolves from the one parse. */
	assert_int_equal(gg_ref_resolve_packs(&f->ctx, refs(1, "p3@v3"), 1, &packs, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(packs[0]->name, "p3");
	assert_string_equal(packs[0]->ref, "p3@v3");
	gg_packs_free(packs, n);
}

static void test_resolve_errors(void **state)
{
	struct fx *f = *state;
	struct gg_pack **packs = NULL;
	struct gg_err err = {};
	char shipped[600];
	size_t n = 0;

	resolve_fails(&f->ctx, "c0@v1", -ELOOP, "bundle cycle: c0@v1 -> c0@v1");
	resolve_fails(&f->ctx, "c1@v1", -ELOOP, "bundle cycle: c1@v1 -> c2@v1 -> c1@v1");
	resolve_fails(&f->ctx, "e1@v1", -ELOOP,
		      "bundles nested deeper than 8: e1@v1 -> e2@v1 -> e3@v1 -> e4@v1 -> e5@v1 -> "
		      "e6@v1 -> e7@v1 -> e8@v1 -> e9@v1");
	resolve_fails(&f->ctx, "bpath@v1", -EINVAL,
		      "member \"packs/p1.json\": file paths are not allowed in bundles");
	resolve_fails(&f->ctx, "bunk@v1", -ENOENT, "bundle bunk@v1: unknown ref zz@v1 (looked in:");
	resolve_fails(&f->ctx, "p4@v4", -EINVAL, "declares p4@v5");
	resolve_fails(&f->ctx, "broken.json", -ENOENT, "no such file");

	/* The registry's p1@v1 and the shipped file are different bytes. */
	snprintf(shipped, sizeof(shipped), "%s", P(f, "packs/p1.json"));
	assert_int_equal(gg_ref_resolve_packs(&f->ctx, refs(2, "p1@v1", shipped), 2, &packs, &n,
					      &err),
			 -EINVAL);
	assert_non_null(strstr(err.msg, "p1@v1 is two different documents: "));
	assert_null(packs);

	/* A bad pack document: the parser's message comes through. */
	fx_put(P(f, "bad.json"), "{\"name\":\"x\",\"version\":\"v1\"}");
	snprintf(shipped, sizeof(shipped), "%s", P(f, "bad.json"));
	assert_int_not_equal(gg_ref_resolve_packs(&f->ctx, refs(1, shipped), 1, &packs, &n, &err),
			     0);
	assert_non_null(strstr(err.msg, "bad.json"));
}

static void test_signatures_required(void **state)
{
	struct fx *f = *state;
	struct gg_ref_ctx ctx = f->ctx;
	struct gg_pack **packs = NULL;
	struct gg_err err = {};
	char *buf, want[700], trust[512];
	struct gg_doc doc;
	size_t n = 0;

	snprintf(trust, sizeof(trust), "%s", P(f, "trust"));
	ctx.trust_dir = trust; /* P()'s buffers get reused */
	ctx.require_signatures = true;
	ctx.account = NULL;

	/* Signed by a trusted key. */
	sign_file(f, "ops", P(f, "packs/p3@v3.json"));
	load_ok(f, &ctx, "p3@v3", &doc);
	assert_true(doc.signed_ok);
	assert_string_equal(doc.signer, "ops.pub");
	gg_doc_free(&doc);

	/* Unsigned. */
	snprintf(want, sizeof(want), "%s: unsigned, and signatures are required",
		 P(f, "packs/p2.json"));
	load_fails(&ctx, "p2@v2", -ENOKEY, want);

	/* Signed, then changed. */
	put_pack(P(f, "packs/p7.json"), "p7", "v1", "signed then edited");
	sign_file(f, "ops", P(f, "packs/p7.json"));
	load_ok(f, &ctx, "p7@v1", &doc);
	gg_doc_free(&doc);
	buf = fx_slurp(P(f, "packs/p7.json"), NULL);
	memcpy(strstr(buf, "\"nc\""), "\"sh\"", 4);
	fx_put(P(f, "packs/p7.json"), buf);
	free(buf);
	snprintf(want, sizeof(want),
		 "%s: signature does not verify with any trusted key (tampered or wrong key)",
		 P(f, "packs/p7.json"));
	load_fails(&ctx, "p7@v1", -EKEYREJECTED, want);
	load_fails(&ctx, "p7@v1", -EKEYREJECTED,
		   "(tampered or wrong key): content changed since it was signed by ops.pub");

	/* Signed by a key that is not trusted. */
	put_pack(P(f, "packs/p8.json"), "p8", "v1", "rogue");
	sign_file(f, "rogue", P(f, "packs/p8.json"));
	load_fails(&ctx, "p8@v1", -EKEYREJECTED, "signature does not verify with any trusted key");
	load_fails(&ctx, "p8@v1", -EKEYREJECTED, "(tampered or wrong key): signed by key sha256:");

	/* A garbled .sig names itself. */
	put_pack(P(f, "packs/p9.json"), "p9", "v1", "garbled");
	fx_put(P(f, "packs/p9.json.sig"), "govgate-signature-v1\nkey-sha256: zz\n");
	load_fails(&ctx, "p9@v1", -EBADMSG, "p9.json.sig: malformed signature file: line 2");

	/* Blobs and digests: signed through the same confinement. */
	sign_file(f, "ops", P(f, "store/policies/team/a.json"));
	load_ok(f, &ctx, "blob:team/a.json", &doc);
	assert_true(doc.signed_ok);
	gg_doc_free(&doc);
	/* The inside symlink's sidecar is link-in.sig, which does not exist. */
	load_fails(&ctx, "blob:link-in", -ENOKEY, "unsigned, and signatures are required");

	/* A bundle must be signed as well as its members. */
	resolve_fails(&ctx, "b@v1", -ENOKEY, "bundles/b.json: unsigned");
	sign_file(f, "ops", P(f, "packs/bundles/b.json"));
	resolve_fails(&ctx, "b@v1", -ENOKEY, "bundle b@v1: ");
	sign_file(f, "ops", P(f, "packs/p2.json"));
	if (gg_ref_resolve_packs(&ctx, refs(1, "b@v1"), 1, &packs, &n, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(n, 2);
	gg_packs_free(packs, n);

	/* Required, but nothing to check against. */
	ctx.trust_dir = NULL;
	load_fails(&ctx, "p3@v3", -ENOKEY, "no trust directory is configured");
}

static void test_signatures_optional(void **state)
{
	struct fx *f = *state;
	struct gg_ref_ctx ctx = f->ctx;
	struct gg_doc doc;
	char trust[512];

	snprintf(trust, sizeof(trust), "%s", P(f, "trust"));
	ctx.trust_dir = trust; /* P()'s buffers get reused */
	ctx.account = NULL;
	/* Unsigned is fine; a bad signature still is not (p7 was edited). */
	load_ok(f, &ctx, "p1@v1", &doc);
	assert_false(doc.signed_ok);
	gg_doc_free(&doc);
	load_ok(f, &ctx, "p3@v3", &doc);
	assert_true(doc.signed_ok);
	gg_doc_free(&doc);
	load_fails(&ctx, "p7@v1", -EKEYREJECTED, "signature does not verify");
	load_fails(&ctx, "p8@v1", -EKEYREJECTED, "signature does not verify");
	/* Without a trust dir nothing is checked at all. */
	ctx.trust_dir = NULL;
	load_ok(f, &ctx, "p7@v1", &doc);
	assert_false(doc.signed_ok);
	gg_doc_free(&doc);
}

/* A blob's sidecar is read through the same confinement as the blob. */
static void test_blob_sig_escape(void **state)
{
	struct fx *f = *state;
	struct gg_ref_ctx ctx = f->ctx;
	char target[600], trust[512];

	snprintf(trust, sizeof(trust), "%s", P(f, "trust"));
	ctx.trust_dir = trust; /* P()'s buffers get reused */
	put_pack(P(f, "store/policies/s.json"), "s", "v1", "sidecar escape");
	snprintf(target, sizeof(target), "%s", P(f, "outside.json"));
	if (symlink(target, P(f, "store/policies/s.json.sig")))
		fail_msg("symlink");
	load_fails(&ctx, "blob:s.json", -EXDEV, "blob:s.json.sig escapes the policies/ namespace");
}


/* gg_ref_find: the resolver's lookup alone; the signature is checked
 * separately, so a listing can show a bad one. */
static void test_find(void **state)
{
	struct fx *f = *state;
	struct gg_ref_ctx ctx = f->ctx;
	struct gg_err err = {};
	struct gg_doc doc;
	char trust[512], *buf;

	snprintf(trust, sizeof(trust), "%s", P(f, "trust"));
	ctx.trust_dir = trust;
	if (gg_ref_find(&ctx, "p1@v1", &doc, &err))
		fail_msg("%s", err.msg);
	assert_true(doc.registry);
	assert_string_equal(doc.origin, P(f, "registry/acme/p1@v1.json"));
	gg_doc_free(&doc);
	if (gg_ref_find(&ctx, "p2@v2", &doc, &err))
		fail_msg("%s", err.msg);
	assert_false(doc.registry);
	gg_doc_free(&doc);

	put_pack(P(f, "packs/f1.json"), "f1", "v1", "signed then edited");
	sign_file(f, "ops", P(f, "packs/f1.json"));
	buf = fx_slurp(P(f, "packs/f1.json"), NULL);
	memcpy(strstr(buf, "\"nc\""), "\"sh\"", 4);
	fx_put(P(f, "packs/f1.json"), buf);
	free(buf);
	if (gg_ref_find(&ctx, "f1@v1", &doc, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(gg_doc_check_sig(&ctx, &doc, &err), -EKEYREJECTED);
	gg_doc_free(&doc);
	assert_int_equal(gg_ref_find(&ctx, "blob:team/a.json", &doc, &err), -EINVAL);
}

/* Relative file paths become absolute; other refs stay as they are. */
static void test_canonical(void **state)
{
	struct fx *f = *state;
	struct gg_err err = {};
	char cwd[4096], real[4096], want[4200], *out = NULL;

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(gg_ref_canonical("p1@v1", &out, &err), 0);
	assert_string_equal(out, "p1@v1");
	free(out);
	assert_int_equal(gg_ref_canonical("sha256:ab", &out, &err), 0);
	assert_string_equal(out, "sha256:ab");
	free(out);
	assert_int_equal(chdir(f->root), 0);
	assert_non_null(realpath(P(f, "packs/p1.json"), real));
	assert_int_equal(gg_ref_canonical("packs/../packs/p1.json", &out, &err), 0);
	assert_string_equal(out, real);
	free(out);
	/* Not there (yet): joined to the working directory. */
	assert_non_null(realpath(f->root, real));
	snprintf(want, sizeof(want), "%s/nothere.json", real);
	assert_int_equal(gg_ref_canonical("nothere.json", &out, &err), 0);
	assert_string_equal(out, want);
	free(out);
	assert_int_equal(gg_ref_canonical("/dev/fd/63", &out, &err), 0);
	assert_string_equal(out, "/dev/fd/63");
	free(out);
	assert_int_equal(chdir(cwd), 0);
}

/* What gg_store_put writes loads back as sha256:, re-hashed and with the
 * signature that verified it. */
static void test_store_put(void **state)
{
	struct fx *f = *state;
	struct gg_ref_ctx ctx = f->ctx, sctx = {};
	struct gg_pack **packs = NULL;
	struct gg_doc *docs = NULL, doc;
	struct gg_err err = {};
	char trust[512], store[512], ref[80], *buf, *orig;
	size_t n = 0;

	snprintf(trust, sizeof(trust), "%s", P(f, "trust"));
	snprintf(store, sizeof(store), "%s", P(f, "kept"));
	ctx.trust_dir = trust;
	sctx.store_dir = store;
	sctx.trust_dir = trust;
	put_pack(P(f, "packs/k1.json"), "k1", "v1", "kept, signed");
	sign_file(f, "ops", P(f, "packs/k1.json"));
	put_pack(P(f, "packs/k2.json"), "k2", "v1", "kept, unsigned");
	put_bundle(P(f, "packs/bundles/kb.json"), "kb", "k1@v1,k2@v1");
	if (gg_ref_resolve_docs(&ctx, refs(1, "kb@v1"), 1, &packs, &docs, &n, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++) {
		char hex[65];

		gg_sha256_hex(docs[i].buf, docs[i].len, hex);
		assert_string_equal(hex, packs[i]->sha256);
		if (gg_store_put(store, &docs[i], &err) || gg_store_put(store, &docs[i], &err))
			fail_msg("%s", err.msg);
	}
	assert_non_null(docs[0].sig);
	assert_null(docs[1].sig);
	orig = fx_slurp(P(f, "packs/k1.json"), NULL);
	buf = fx_slurp(P(f, "kept/sha256/%s", packs[0]->sha256), NULL);
	assert_string_equal(buf, orig);
	free(buf);
	free(orig);
	assert_int_equal(access(P(f, "kept/sha256/%s.sig", packs[0]->sha256), F_OK), 0);
	assert_int_equal(access(P(f, "kept/sha256/%s.sig", packs[1]->sha256), F_OK), -1);

	sctx.require_signatures = true;
	snprintf(ref, sizeof(ref), "sha256:%s", packs[0]->sha256);
	if (gg_ref_load(&sctx, ref, &doc, &err))
		fail_msg("%s", err.msg);
	assert_true(doc.signed_ok);
	gg_doc_free(&doc);
	snprintf(ref, sizeof(ref), "sha256:%s", packs[1]->sha256);
	assert_int_equal(gg_ref_load(&sctx, ref, &doc, &err), -ENOKEY);

	/* The same bytes stored unsigned: the old signature goes. */
	free(docs[0].sig);
	docs[0].sig = NULL;
	if (gg_store_put(store, &docs[0], &err))
		fail_msg("%s", err.msg);
	assert_int_equal(access(P(f, "kept/sha256/%s.sig", packs[0]->sha256), F_OK), -1);
	gg_docs_free(docs, n);
	gg_packs_free(packs, n);
}

/* The daemon remembers the store copies it checked (gg_store_remember);
 * one changed since, in place and to as many bytes, is written again. */
static void test_store_remembered_copy_checked_again(void **state)
{
	struct fx *f = *state;
	struct gg_ref_ctx ctx = f->ctx;
	struct gg_pack **packs = NULL;
	struct gg_doc *docs = NULL;
	struct gg_err err = {};
	int settle = gg_store_settle_s;
	char store[512], *buf, *bad;
	const char *copy;
	size_t n = 0, len;

	snprintf(store, sizeof(store), "%s", P(f, "kept"));
	put_pack(P(f, "packs/k1.json"), "k1", "v1", "kept");
	if (gg_ref_resolve_docs(&ctx, refs(1, "k1@v1"), 1, &packs, &docs, &n, &err))
		fail_msg("%s", err.msg);
	gg_store_settle_s = -1; /* settled at once; the sleep passes a clock tick */
	gg_store_remember(true);
	copy = P(f, "kept/sha256/%s", packs[0]->sha256);
	for (int i = 0; i < 3; i++) /* written, checked and remembered, found so */
		if (gg_store_put(store, &docs[0], &err))
			fail_msg("%s", err.msg);
	usleep(30000);
	bad = fx_slurp(copy, &len);
	bad[0] = bad[0] == 'x' ? 'y' : 'x';
	fx_put(copy, bad);
	if (gg_store_put(store, &docs[0], &err))
		fail_msg("%s", err.msg);
	buf = fx_slurp(copy, &len);
	assert_int_equal(len, docs[0].len);
	assert_memory_equal(buf, docs[0].buf, len);
	free(buf);
	free(bad);
	gg_store_remember(false);
	gg_store_settle_s = settle;
	gg_docs_free(docs, n);
	gg_packs_free(packs, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_name_registry_shadows_packs),
		cmocka_unit_test(test_name_pack_dirs),
		cmocka_unit_test(test_name_version_mismatch),
		cmocka_unit_test(test_name_unknown),
		cmocka_unit_test(test_sha256),
		cmocka_unit_test(test_sha256_tampered),
		cmocka_unit_test(test_blob_ok),
		cmocka_unit_test(test_blob_refused),
		cmocka_unit_test(test_blob_nul),
		cmocka_unit_test(test_blob_nofollow_fallback),
		cmocka_unit_test(test_path_ref),
		cmocka_unit_test(test_resolve_bundles),
		cmocka_unit_test(test_resolve_prefetched_in_order),
		cmocka_unit_test(test_resolve_errors),
		cmocka_unit_test(test_resolve_decl_plain),
		cmocka_unit_test(test_signatures_required),
		cmocka_unit_test(test_signatures_optional),
		cmocka_unit_test(test_blob_sig_escape),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_canonical),
		cmocka_unit_test(test_store_put),
		cmocka_unit_test(test_store_remembered_copy_checked_again),
	};

	/* worker threads for any size, as an apply of large files has */
	gg_prefetch_threads_min_bytes = 0;
	return cmocka_run_group_tests(tests, setup, teardown);
}
