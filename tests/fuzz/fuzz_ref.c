// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the ref resolver (user/ref.c). The first byte picks
 * the mode; the rest is fed as a blob key (NULs included), as one ref, as a
 * key to the strict no-openat2 walk, or as newline-separated refs to
 * gg_ref_resolve_packs, against a small store built once in
 * LLVMFuzzerInitialize. The store's policies/ holds symlinks that escape
 * (relative, absolute, through "..", into /proc), a FIFO and a symlink
 * loop; next to the store lies a "secret" document. Whatever the input:
 *   - nothing the resolver returns may come from outside its namespace
 *     (realpath of the origin stays under store/policies, store/sha256,
 *     the registry or the pack dir), nor contain the secret's marker;
 *   - the reported digest is the digest of the returned bytes;
 *   - no hang (the FIFO) and no crash or leak (ASan/UBSan).
 * File-path refs are skipped: opening any file is what that form is for.
 *
 *   make build/fuzz/fuzz_ref && ./build/fuzz/fuzz_ref -max_total_time=60
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ref.h"
#include "sign.h"

#define SECRET "GG-FUZZ-SECRET-MARKER"

struct fuzz_env {
	char root[64];
	char *store, *registry, *packs, *trust;
	char real[4][PATH_MAX]; /* policies, sha256, registry/acct, packs */
	const char *pack_dirs[1];
	struct gg_ref_ctx ctx;
	int pol_fd; /* O_PATH store/policies, for the no-openat2 walk */
};

/* libFuzzer's entry points take no context: the environment is built once. */
static struct fuzz_env env;

static char *join(const char *a, const char *b)
{
	char *s;

	if (asprintf(&s, "%s/%s", a, b) < 0)
		abort();
	return s;
}

static void put(const char *dir, const char *rel, const char *text)
{
	char *path = join(dir, rel);
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f))
		abort();
	free(path);
}

static void mkdirs(const char *dir, const char *rel)
{
	char *path = join(dir, rel);

	if (mkdir(path, 0755))
		abort();
	free(path);
}

static void link_at(const char *target, const char *dir, const char *rel)
{
	char *path = join(dir, rel);

	if (symlink(target, path))
		abort();
	free(path);
}

static const char *pack_json(const char *name, const char *version)
{
	static char buf[512];

	snprintf(buf, sizeof(buf),
		 "{\"name\":\"%s\",\"version\":\"%s\",\"framework\":{\"id\":\"f\",\"title\":\"F\"},"
		 "\"controls\":[{\"id\":\"C1\",\"title\":\"t\",\"status\":\"enforced\"}],"
		 "\"rules\":[{\"id\":\"r1\",\"gate\":\"cmd.exec\",\"controls\":[\"C1\"],"
		 "\"match\":{\"basenames\":[\"nc\"]}}]}\n",
		 name, version);
	return buf;
}

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void cleanup(void)
{
	nftw(env.root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *pol, *sha, *secret, *acct, sha_name[80], hex[65];
	char *ok = strdup(pack_json("ok", "v1"));
	struct gg_err err = {};

	strcpy(env.root, "/tmp/gg-fuzz-ref.XXXXXX");
	if (!ok || !mkdtemp(env.root))
		abort();
	atexit(cleanup);
	env.store = join(env.root, "store");
	env.registry = join(env.root, "registry");
	env.packs = join(env.root, "packs");
	env.trust = join(env.root, "trust");
	pol = join(env.store, "policies");
	sha = join(env.store, "sha256");
	acct = join(env.registry, "acme");
	secret = join(env.root, "secret.json");
	mkdirs(env.root, "store");
	mkdirs(env.root, "registry");
	mkdirs(env.root, "packs");
	mkdirs(env.root, "trust");
	mkdirs(env.store, "policies");
	mkdirs(env.store, "sha256");
	mkdirs(env.registry, "acme");
	mkdirs(env.packs, "bundles");
	mkdirs(pol, "team");

	/* Outside every namespace: must never be returned. */
	put(env.root, "secret.json",
	    "{\"name\":\"secret\",\"version\":\"v1\",\"description\":\"" SECRET "\"}");
	put(pol, "ok.json", ok);
	put(pol, "team/a.json", pack_json("a", "v1"));
	put(pol, "bundle.json",
	    "{\"bundle\":\"pb\",\"version\":\"v1\",\"members\":[\"blob:ok.json\",\"blob:esc\"]}");
	link_at("ok.json", pol, "in");
	link_at("team", pol, "teamlink");
	link_at("../../secret.json", pol, "esc");
	link_at(secret, pol, "abs");
	link_at("../..", pol, "up");
	link_at("/proc/self/root", pol, "proc");
	link_at("loop", pol, "loop");
	{
		char *fifo = join(pol, "fifo");

		if (mkfifo(fifo, 0644))
			abort();
		free(fifo);
	}
	gg_sha256_hex(ok, strlen(ok), hex);
	put(sha, hex, ok);
	snprintf(sha_name, sizeof(sha_name), "%.16s-not-a-digest", hex);
	put(sha, sha_name, ok);
	put(acct, "p1@v1.json", pack_json("p1", "v1"));
	put(env.packs, "p2.json", pack_json("p2", "v2"));
	put(env.packs, "bundles/b.json",
	    "{\"bundle\":\"b\",\"version\":\"v1\",\"members\":[\"p2@v2\",\"blob:ok.json\",\"c@v1\"]}");
	put(env.packs, "bundles/c.json",
	    "{\"bundle\":\"c\",\"version\":\"v1\",\"members\":[\"p1@v1\",\"b@v1\"]}");

	/* One signed blob, so the signature path runs too. */
	{
		char *key = join(env.root, "k.key"), *pub = join(env.trust, "k.pub");
		char *doc = join(pol, "ok.json"), *sig = join(pol, "ok.json.sig");

		if (gg_key_generate(key, pub, &err) || gg_sig_write(key, ok, strlen(ok), sig, &err)) {
			fprintf(stderr, "fuzz_ref: %s\n", err.msg);
			abort();
		}
		free(key);
		free(pub);
		free(doc);
		free(sig);
	}

	if (!realpath(pol, env.real[0]) || !realpath(sha, env.real[1]) ||
	    !realpath(acct, env.real[2]) || !realpath(env.packs, env.real[3]))
		abort();
	env.pack_dirs[0] = env.packs;
	env.ctx.registry_dir = env.registry;
	env.ctx.account = "acme";
	env.ctx.pack_dirs = env.pack_dirs;
	env.ctx.n_pack_dirs = 1;
	env.ctx.store_dir = env.store;
	env.ctx.trust_dir = env.trust;
	env.pol_fd = open(pol, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (env.pol_fd < 0)
		abort();
	free(pol);
	free(sha);
	free(acct);
	free(secret);
	free(ok);
	return 0;
}

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return !strncmp(path, dir, n) && path[n] == '/';
}

/* The invariant: whatever came back lives inside a namespace. */
static void check_origin(const char *origin, const char *what)
{
	char real[PATH_MAX];

	if (!realpath(origin, real)) {
		fprintf(stderr, "fuzz_ref: %s: returned origin %s does not resolve\n", what, origin);
		abort();
	}
	for (int i = 0; i < 4; i++)
		if (under(real, env.real[i]))
			return;
	fprintf(stderr, "fuzz_ref: %s: origin %s resolves to %s, outside every namespace\n", what,
		origin, real);
	abort();
}

static void check_doc(const struct gg_ref_ctx *ctx, const struct gg_doc *doc, const char *what)
{
	char hex[65];

	if (ctx->require_signatures && !doc->signed_ok) {
		fprintf(stderr, "fuzz_ref: %s: unsigned %s returned though signatures are required\n",
			what, doc->origin);
		abort();
	}
	check_origin(doc->origin, what);
	if (memmem(doc->buf, doc->len, SECRET, strlen(SECRET))) {
		fprintf(stderr, "fuzz_ref: %s: read the secret through %s\n", what, doc->origin);
		abort();
	}
	gg_sha256_hex(doc->buf, doc->len, hex);
	if (strcmp(hex, doc->sha256)) {
		fprintf(stderr, "fuzz_ref: %s: digest %s is not that of the bytes (%s)\n", what,
			doc->sha256, hex);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gg_ref_ctx ctx = env.ctx;
	struct gg_err err = {};
	struct gg_doc doc;
	char *s;

	if (size < 1 || size > 4096)
		return 0;
	/* Bit 2 of the mode byte: only ok.json is signed, the rest must fail. */
	ctx.require_signatures = data[0] & 4;
	s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';

	switch (data[0] & 3) {
	case 0: /* a raw blob key: every byte, NULs included */
		if (!gg_ref_load_blob(&ctx, s, size - 1, &doc, &err)) {
			check_doc(&ctx, &doc, "blob key");
			gg_doc_free(&doc);
		}
		break;
	case 1: /* one ref */
		if (gg_ref_classify(s) == GG_REF_PATH)
			break;
		if (!gg_ref_load(&ctx, s, &doc, &err)) {
			check_doc(&ctx, &doc, s);
			gg_doc_free(&doc);
		}
		break;
	case 2: { /* the strict walk used without openat2: where did the fd land? */
		char link[64], real[PATH_MAX];
		ssize_t n;
		int fd;

		if (gg_blob_key_check(s, size - 1, &err))
			break;
		fd = gg_blob_openat(env.pol_fd, s, true, &err);
		if (fd < 0)
			break;
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, real, sizeof(real) - 1);
		close(fd);
		if (n < 0)
			abort();
		real[n] = '\0';
		if (!under(real, env.real[0])) {
			fprintf(stderr, "fuzz_ref: nofollow walk of \"%s\" opened %s\n", s, real);
			abort();
		}
		break;
	}
	default: { /* up to four refs, newline-separated, bundles expanded */
		const char *refs[4];
		struct gg_pack **packs = NULL;
		size_t n_refs = 0, n = 0;
		char *save = NULL;

		for (char *r = strtok_r(s, "\n", &save); r && n_refs < 4;
		     r = strtok_r(NULL, "\n", &save))
			if (gg_ref_classify(r) != GG_REF_PATH)
				refs[n_refs++] = r;
		if (gg_ref_resolve_packs(&ctx, refs, n_refs, &packs, &n, &err))
			break;
		for (size_t i = 0; i < n; i++) {
			check_origin(packs[i]->origin, packs[i]->ref);
			if (!strcmp(packs[i]->name, "secret"))
				abort();
		}
		gg_packs_free(packs, n);
		break;
	}
	}
	free(s);
	return 0;
}
