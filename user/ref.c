// SPDX-License-Identifier: GPL-2.0
/*
 * Policy refs (docs/refs-and-signing.md):
 *   name@version     <registry>/<account>/<name>@<version>.json, then per
 *                    pack dir <dir>/<name>@<version>.json, <dir>/<name>.json
 *                    (declared version must match), and the same two under
 *                    <dir>/bundles/
 *   sha256:<hex>     <store>/sha256/<hex>, re-hashed on every load
 *   blob:<key>       <store>/policies/<key>, confined with openat2(2)
 *   anything with a '/' or ending in .json: a file path (pack authors)
 * Every document's "<origin>.sig" sidecar is checked against trust_dir.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <jansson.h>
#include <linux/openat2.h>

#include "doc_cache.h"
#include "ref.h"
#include "sign.h"

#define DOC_MAX (16u << 20) /* policy documents are small; refuse /dev/zero */
#define SIG_MAX 4096

enum gg_ref_kind gg_ref_classify(const char *ref)
{
	const char *at, *p;
	size_t n;

	if (!ref || !*ref)
		return GG_REF_INVALID;
	if (!strncmp(ref, "sha256:", 7))
		return GG_REF_SHA256;
	if (!strncmp(ref, "blob:", 5))
		return GG_REF_BLOB;
	at = strchr(ref, '@');
	if (at && at != ref && at[1]) {
		for (p = ref; p < at; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
				break;
		if (p == at) {
			for (p = at + 1; *p; p++)
				if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
				      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
					break;
			if (!*p)
				return GG_REF_NAME;
		}
	}
	n = strlen(ref);
	if (strchr(ref, '/') || (n > 5 && !strcmp(ref + n - 5, ".json")))
		return GG_REF_PATH;
	return GG_REF_INVALID;
}

void gg_doc_free(struct gg_doc *doc)
{
	if (!doc)
		return;
	free(doc->ref);
	free(doc->origin);
	free(doc->buf);
	free(doc->signer);
	free(doc->sig);
	json_decref(doc->root);
	memset(doc, 0, sizeof(*doc));
}

void gg_docs_free(struct gg_doc *docs, size_t n)
{
	for (size_t i = 0; docs && i < n; i++)
		gg_doc_free(&docs[i]);
	free(docs);
}

/* "a" + "/" + "b" without doubling a trailing slash of a. */
static char *path_join(const char *a, const char *b)
{
	size_t n = strlen(a);
	char *s;

	while (n > 1 && a[n - 1] == '/')
		n--;
	if (asprintf(&s, "%.*s/%s", (int)n, a, b) < 0)
		return NULL;
	return s;
}

static int read_fd(int fd, const char *name, char **buf, size_t *len, size_t max,
		   struct gg_err *err)
{
	size_t cap = 0, n = 0;
	char *data = NULL;
	struct stat st;
	int ret = 0;

	/* a regular file's size is known: one buffer, read into once (growing
	 * a 9 MB pack by doubling copies it and touches twice the pages) */
	if (!fstat(fd, &st) && S_ISREG(st.st_mode) && st.st_size > 0 && (size_t)st.st_size <= max) {
		cap = st.st_size + 2; /* + NUL, + 1 to see the end in one more read */
		data = malloc(cap);
		if (!data)
			return gg_errf(err, -ENOMEM, "%s: out of memory", name);
	}
	for (;;) {
		ssize_t got;

		if (n + 1 >= cap) {
			char *p;

			cap = cap ? cap * 2 : 8192;
			p = realloc(data, cap);
			if (!p) {
				ret = gg_errf(err, -ENOMEM, "%s: out of memory", name);
				goto cleanup;
			}
			data = p;
		}
		got = read(fd, data + n, cap - n - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			ret = gg_errf(err, -errno, "%s: read error: %s", name, strerror(errno));
			goto cleanup;
		}
		if (got == 0)
			break;
		n += got;
		if (n > max) {
			ret = gg_errf(err, -EFBIG, "%s: larger than %zu bytes", name, max);
			goto cleanup;
		}
	}
	data[n] = '\0';
	*buf = data;
	*len = n;
	data = NULL;
cleanup:
	free(data);
	return ret;
}

static bool paths_regular;

void gg_ref_paths_regular(bool on)
{
	paths_regular = on;
}

/* Reads a file. regular_only: the open does not block on a FIFO and only a
 * regular file is accepted (store, registry and pack dirs hold plain files;
 * file-path refs from the command line may be pipes). Missing: -ENOENT with
 * no message, so lookups can move on. */
static int read_path(const char *path, bool regular_only, size_t max, char **buf, size_t *len,
		     struct gg_err *err)
{
	struct stat st;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | (regular_only ? O_NONBLOCK : 0));
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return -ENOENT;
		return gg_errf(err, -errno, "%s: cannot open: %s", path, strerror(errno));
	}
	if (fstat(fd, &st) < 0) {
		ret = gg_errf(err, -errno, "%s: stat: %s", path, strerror(errno));
		goto cleanup;
	}
	if (S_ISDIR(st.st_mode) || (regular_only && !S_ISREG(st.st_mode))) {
		ret = gg_errf(err, -EINVAL, "%s: not a regular file", path);
		goto cleanup;
	}
	ret = read_fd(fd, path, buf, len, max, err);
cleanup:
	close(fd);
	return ret;
}

/* Checks the sidecar signature (sig = its bytes, NULL when there is none).
 * Without a trust dir nothing can be verified: fine unless required. */
static int doc_check_sig(const struct gg_ref_ctx *ctx, struct gg_doc *doc, const char *sig,
			 size_t sig_len, struct gg_err *err)
{
	struct gg_err e = {};
	char *sig_name = NULL;
	int ret;

	if (!ctx->trust_dir) {
		if (ctx->require_signatures)
			return gg_errf(err, -ENOKEY,
				       "%s: signatures are required but no trust directory is configured",
				       doc->origin);
		return 0;
	}
	if (!sig) {
		if (ctx->require_signatures)
			return gg_errf(err, -ENOKEY, "%s: unsigned, and signatures are required",
				       doc->origin);
		return 0;
	}
	if (asprintf(&sig_name, "%s.sig", doc->origin) < 0)
		return gg_errf(err, -ENOMEM, "%s: out of memory", doc->origin);
	/* A signature that is present but wrong is refused even when
	 * signatures are optional: a tampered signed pack must not load. */
	ret = gg_sig_verify_mem(ctx->trust_dir, doc->buf, doc->len, sig, sig_len, sig_name,
				&doc->signer, &e);
	if (!ret) {
		doc->signed_ok = true;
		/* Kept with a stored copy, so it is checked again on reload. */
		doc->sig = malloc(sig_len + 1);
		if (!doc->sig) {
			ret = gg_errf(err, -ENOMEM, "%s: out of memory", doc->origin);
		} else {
			memcpy(doc->sig, sig, sig_len);
			doc->sig[sig_len] = '\0';
			doc->sig_len = sig_len;
		}
	} else if (ret == -EKEYREJECTED) {
		size_t n = strlen(sig_name);
		/* The detail without its "<origin>.sig: " prefix: origin says it. */
		const char *why = strncmp(e.msg, sig_name, n) || strncmp(e.msg + n, ": ", 2) ?
					  e.msg : e.msg + n + 2;

		ret = gg_errf(err, ret,
			      "%s: signature does not verify with any trusted key (tampered or wrong key): %s",
			      doc->origin, why);
	} else {
		ret = gg_errf(err, ret, "%s", e.msg);
	}
	free(sig_name);
	return ret;
}

/* Reads <origin>.sig (if trust could be checked at all) and checks it. */
static int doc_check_sig_path(const struct gg_ref_ctx *ctx, struct gg_doc *doc,
			      struct gg_err *err)
{
	char *sig_path = NULL, *sig = NULL;
	size_t sig_len = 0;
	int ret;

	if (!ctx->trust_dir)
		return doc_check_sig(ctx, doc, NULL, 0, err);
	if (asprintf(&sig_path, "%s.sig", doc->origin) < 0)
		return gg_errf(err, -ENOMEM, "%s: out of memory", doc->origin);
	ret = read_path(sig_path, true, SIG_MAX, &sig, &sig_len, err);
	if (ret && ret != -ENOENT)
		goto cleanup;
	ret = doc_check_sig(ctx, doc, ret ? NULL : sig, sig_len, err);
cleanup:
	free(sig);
	free(sig_path);
	return ret;
}

/* ---- name@version ---- */

/* The name ("name", or "bundle" for a bundle) and "version" root
 * declares; false if it has none (the full parser will say why later). */
static bool root_decl(const json_t *root, char **name, char **version)
{
	const json_t *n, *v;

	*name = *version = NULL;
	if (!json_is_object(root))
		return false;
	n = json_object_get(root, "name");
	if (!json_is_string(n))
		n = json_object_get(root, "bundle");
	v = json_object_get(root, "version");
	if (!json_is_string(n) || !json_is_string(v))
		return false;
	*name = strdup(json_string_value(n));
	*version = strdup(json_string_value(v));
	if (*name && *version)
		return true;
	free(*name);
	free(*version);
	*name = *version = NULL;
	return false;
}

/* The declaration of buf, by the parse gg_doc_parse makes, whose tree
 * is kept in *root for it. The declaration is read as a plain parse reads
 * it (no flags): that parse refuses any \u0000, and admits duplicate keys,
 * so such documents are read that way, and their tree is not kept. */
static bool doc_decl(const char *buf, size_t len, json_t **root, char **name, char **version)
{
	json_t *plain;
	bool ok;

	*root = NULL;
	if (!memmem(buf, len, "\\u0000", 6))
		*root = json_loadb(buf, len, GG_DOC_JSON_FLAGS, NULL);
	if (*root)
		return root_decl(*root, name, version);
	plain = json_loadb(buf, len, 0, NULL);
	ok = root_decl(plain, name, version);
	json_decref(plain);
	return ok;
}

/* The config's account becomes a path component: one plain name only. */
static bool account_ok(const char *a)
{
	if (!*a || !strcmp(a, ".") || !strcmp(a, ".."))
		return false;
	for (; *a; a++)
		if (!((*a >= 'a' && *a <= 'z') || (*a >= 'A' && *a <= 'Z') ||
		      (*a >= '0' && *a <= '9') || *a == '.' || *a == '_' || *a == '-'))
			return false;
	return true;
}

struct lookup {
	const char *name, *version, *ref;
	FILE *tried; /* "a, b (declares version v2), ..." for the error */
	char *tried_buf;
	size_t tried_len;
	bool first;
};

static void tried(struct lookup *l, const char *path, const char *why)
{
	fprintf(l->tried, "%s%s%s%s%s", l->first ? "" : ", ", path, why ? " (" : "",
		why ? why : "", why ? ")" : "");
	l->first = false;
}

/* One candidate file. exact: its file name carries the version, so a
 * different declared name@version is an error; otherwise (<name>.json) it
 * just is not the one asked for. Returns 0 and fills doc when this is it,
 * -ENOENT to keep looking. */
static int try_candidate(struct lookup *l, char *path, bool exact, struct gg_doc *doc,
			 struct gg_err *err)
{
	char *buf = NULL, *name = NULL, *version = NULL, why[192];
	json_t *root = NULL;
	size_t len = 0;
	int ret;

	ret = read_path(path, true, DOC_MAX, &buf, &len, err);
	if (ret == -ENOENT) {
		tried(l, path, NULL);
		goto cleanup;
	}
	if (ret)
		goto cleanup;
	/* Bytes parsed before declare what their pack said (doc_cache.h):
	 * no tree, and compared as a parsed declaration is. */
	gg_sha256_hex(buf, len, doc->sha256);
	if (!gg_doc_cache_decl(doc->sha256, &name, &version) &&
	    !doc_decl(buf, len, &root, &name, &version)) {
		if (!exact) {
			tried(l, path, "no name and version to check");
			ret = -ENOENT;
			goto cleanup;
		}
	} else if (strcmp(name, l->name) || strcmp(version, l->version)) {
		if (exact) {
			ret = gg_errf(err, -EINVAL, "%s: declares %s@%s, but is stored as %s", path,
				      name, version, l->ref);
			goto cleanup;
		}
		if (strcmp(name, l->name))
			snprintf(why, sizeof(why), "declares name %.80s", name);
		else
			snprintf(why, sizeof(why), "version %.80s", version);
		tried(l, path, why);
		ret = -ENOENT;
		goto cleanup;
	}
	doc->origin = path;
	doc->buf = buf;
	doc->len = len;
	doc->root = root;
	path = NULL;
	buf = NULL;
	root = NULL;
cleanup:
	json_decref(root);
	free(path);
	free(buf);
	free(name);
	free(version);
	return ret;
}

/* <dir>/<name>@<version>.json, then <dir>/<name>.json. */
static int try_dir(struct lookup *l, const char *dir, struct gg_doc *doc, struct gg_err *err)
{
	char *file = NULL;
	int ret;

	if (asprintf(&file, "%s@%s.json", l->name, l->version) < 0)
		return gg_errf(err, -ENOMEM, "%s: out of memory", l->ref);
	ret = try_candidate(l, path_join(dir, file), true, doc, err);
	free(file);
	if (ret != -ENOENT)
		return ret;
	if (asprintf(&file, "%s.json", l->name) < 0)
		return gg_errf(err, -ENOMEM, "%s: out of memory", l->ref);
	ret = try_candidate(l, path_join(dir, file), false, doc, err);
	free(file);
	return ret;
}

/* Finds and hashes the document; the signature is checked by the caller. */
static int find_name(const struct gg_ref_ctx *ctx, const char *ref, struct gg_doc *out,
		     struct gg_err *err)
{
	struct lookup l = { .ref = ref, .first = true };
	char *name = NULL, *at;
	int ret = -ENOENT;

	name = strdup(ref);
	if (!name)
		return gg_errf(err, -ENOMEM, "%s: out of memory", ref);
	at = strchr(name, '@');
	*at = '\0';
	l.name = name;
	l.version = at + 1;
	l.tried = open_memstream(&l.tried_buf, &l.tried_len);
	if (!l.tried) {
		free(name);
		return gg_errf(err, -ENOMEM, "%s: out of memory", ref);
	}

	/* The account's registry shadows the packs shipped with govgate. */
	if (ctx->registry_dir && ctx->account) {
		char *dir = NULL, *file = NULL;

		if (!account_ok(ctx->account)) {
			ret = gg_errf(err, -EINVAL, "%s: invalid account \"%s\" (one name of [A-Za-z0-9._-])",
				      ref, ctx->account);
			goto cleanup;
		}
		dir = path_join(ctx->registry_dir, ctx->account);
		if (dir && asprintf(&file, "%s.json", ref) >= 0)
			ret = try_candidate(&l, path_join(dir, file), true, out, err);
		else
			ret = gg_errf(err, -ENOMEM, "%s: out of memory", ref);
		free(dir);
		free(file);
		out->registry = !ret;
	}
	for (size_t i = 0; ret == -ENOENT && i < ctx->n_pack_dirs; i++) {
		char *bundles = path_join(ctx->pack_dirs[i], "bundles");

		ret = try_dir(&l, ctx->pack_dirs[i], out, err);
		if (ret == -ENOENT)
			ret = bundles ? try_dir(&l, bundles, out, err) :
					gg_errf(err, -ENOMEM, "%s: out of memory", ref);
		free(bundles);
	}
	if (ret == -ENOENT) {
		fflush(l.tried);
		ret = gg_errf(err, -ENOENT, "unknown ref %s (looked in: %s)", ref,
			      l.first ? "nothing: no registry account or pack directories configured" :
					l.tried_buf);
	}
cleanup:
	fclose(l.tried);
	free(l.tried_buf);
	free(name);
	/* out->sha256: the accepted candidate's, hashed when it was read */
	return ret;
}

static int load_name(const struct gg_ref_ctx *ctx, const char *ref, struct gg_doc *out,
		     struct gg_err *err)
{
	int ret = find_name(ctx, ref, out, err);

	return ret ? ret : doc_check_sig_path(ctx, out, err);
}

int gg_ref_find(const struct gg_ref_ctx *ctx, const char *ref, struct gg_doc *out,
		struct gg_err *err)
{
	int ret;

	memset(out, 0, sizeof(*out));
	if (gg_ref_classify(ref) != GG_REF_NAME)
		return gg_errf(err, -EINVAL, "\"%s\" is not a name@version ref", ref ? ref : "");
	ret = find_name(ctx, ref, out, err);
	if (!ret && !(out->ref = strdup(ref)))
		ret = gg_errf(err, -ENOMEM, "%s: out of memory", ref);
	if (ret)
		gg_doc_free(out);
	return ret;
}

int gg_doc_check_sig(const struct gg_ref_ctx *ctx, struct gg_doc *doc, struct gg_err *err)
{
	return doc_check_sig_path(ctx, doc, err);
}

/* ---- sha256:<hex> ---- */

static int load_sha256(const struct gg_ref_ctx *ctx, const char *ref, struct gg_doc *out,
		       struct gg_err *err)
{
	const char *hex = ref + 7;
	char *dir = NULL;
	int ret;

	if (strlen(hex) != 64 || strspn(hex, "0123456789abcdef") != 64)
		return gg_errf(err, -EINVAL, "%s: expected sha256: and 64 lower-case hex digits",
			       ref);
	if (!ctx->store_dir)
		return gg_errf(err, -ENOENT, "%s: no store directory configured", ref);
	dir = path_join(ctx->store_dir, "sha256");
	out->origin = dir ? path_join(dir, hex) : NULL;
	free(dir);
	if (!out->origin)
		return gg_errf(err, -ENOMEM, "%s: out of memory", ref);
	ret = read_path(out->origin, true, DOC_MAX, &out->buf, &out->len, err);
	if (ret == -ENOENT)
		return gg_errf(err, -ENOENT, "%s: not in the store (no %s)", ref, out->origin);
	if (ret)
		return ret;
	/* Content addressing is only worth something if it is checked each time. */
	gg_sha256_hex(out->buf, out->len, out->sha256);
	if (strcmp(out->sha256, hex))
		return gg_errf(err, -EBADMSG,
			       "%s: content does not match its name: expected sha256:%s, got sha256:%s (store corrupted or tampered)",
			       out->origin, hex, out->sha256);
	return doc_check_sig_path(ctx, out, err);
}

/* ---- blob:<key> ---- */

int gg_blob_key_check(const char *key, size_t len, struct gg_err *err)
{
	const char *p = key, *end = key + len;

	if (!len)
		return gg_errf(err, -EINVAL, "blob: empty key");
	if (memchr(key, '\0', len))
		return gg_errf(err, -EINVAL, "blob:%s: key contains a NUL byte (at offset %zu)",
			       key, (size_t)((const char *)memchr(key, '\0', len) - key));
	if (len >= PATH_MAX)
		return gg_errf(err, -ENAMETOOLONG, "blob:%.64s...: key longer than %d bytes", key,
			       PATH_MAX - 1);
	if (key[0] == '/')
		return gg_errf(err, -EINVAL,
			       "blob:%s: absolute keys are refused (keys are relative to policies/)",
			       key);
	while (p < end) {
		const char *slash = memchr(p, '/', end - p);
		size_t n = (slash ? slash : end) - p;

		if (n == 2 && p[0] == '.' && p[1] == '.')
			return gg_errf(err, -EINVAL, "blob:%s: \"..\" components are refused", key);
		p += n + 1;
	}
	return 0;
}

/* No openat2: walk the key component by component, refusing every symlink
 * (O_NOFOLLOW on each step). Keys have no ".." (checked), so without
 * symlinks the walk cannot leave dirfd. */
#define BLOB_SYMLINK_REFUSED \
	"blob:%s: symlinks are refused (this kernel has no openat2 to confine them)"

/* One component of blob key under cur: a directory to descend into
 * (O_PATH, not a symlink) or, last, the file to read. An fd, or -errno. */
static int blob_component(int cur, const char *comp, bool last, const char *key,
			  struct gg_err *err)
{
	struct stat st;
	int fd, ret;

	if (last)
		fd = openat(cur, comp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	else
		fd = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ELOOP)
		return gg_errf(err, -ELOOP, BLOB_SYMLINK_REFUSED, key);
	if (fd < 0)
		return gg_errf(err, -errno, "blob:%s: %s", key, strerror(errno));
	if (last)
		return fd;
	/* O_PATH|O_NOFOLLOW opens a symlink itself rather than failing. */
	if (fstat(fd, &st) < 0)
		ret = gg_errf(err, -errno, "blob:%s: stat: %s", key, strerror(errno));
	else if (S_ISLNK(st.st_mode))
		ret = gg_errf(err, -ELOOP, BLOB_SYMLINK_REFUSED, key);
	else if (!S_ISDIR(st.st_mode))
		ret = gg_errf(err, -ENOTDIR, "blob:%s: %s is not a directory", key, comp);
	else
		return fd;
	close(fd);
	return ret;
}

static int blob_open_nofollow(int dirfd, const char *key, struct gg_err *err)
{
	char *copy = NULL, *save = NULL, *comp, *next;
	int cur = dirfd, fd = -1, ret = 0;

	copy = strdup(key);
	if (!copy)
		return gg_errf(err, -ENOMEM, "blob:%s: out of memory", key);
	comp = strtok_r(copy, "/", &save);
	while (comp) {
		next = strtok_r(NULL, "/", &save);
		if (!strcmp(comp, ".")) {
			comp = next;
			continue;
		}
		if (!strcmp(comp, "..")) {
			ret = gg_errf(err, -EXDEV, "blob:%s escapes the policies/ namespace", key);
			goto cleanup;
		}
		fd = blob_component(cur, comp, !next, key, err);
		if (fd < 0) {
			ret = fd;
			fd = -1;
			goto cleanup;
		}
		if (next) {
			if (cur != dirfd)
				close(cur);
			cur = fd;
			fd = -1;
		}
		comp = next;
	}
	if (fd < 0)
		ret = gg_errf(err, -EISDIR, "blob:%s: names a directory", key);
cleanup:
	if (ret && fd >= 0) {
		close(fd);
		fd = -1;
	}
	if (cur != dirfd)
		close(cur);
	free(copy);
	return ret ? ret : fd;
}

int gg_blob_openat(int dirfd, const char *key, bool force_nofollow, struct gg_err *err)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	long fd;

	if (!force_nofollow) {
		fd = syscall(SYS_openat2, dirfd, key, &how, sizeof(how));
		if (fd >= 0)
			return fd;
		if (errno == EXDEV || errno == ELOOP)
			return gg_errf(err, -errno, "blob:%s escapes the policies/ namespace", key);
		if (errno == ENOENT || errno == ENOTDIR)
			return gg_errf(err, -ENOENT, "blob:%s: not found", key);
		/* ENOSYS: pre-5.6 kernel; EPERM: seccomp profiles that predate
		 * openat2 answer that. Either way, use the strict walk. */
		if (errno != ENOSYS && errno != EPERM)
			return gg_errf(err, -errno, "blob:%s: %s", key, strerror(errno));
	}
	fd = blob_open_nofollow(dirfd, key, err);
	if (fd == -ENOENT || fd == -ENOTDIR)
		return gg_errf(err, -ENOENT, "blob:%s: not found", key);
	return fd;
}

/* Reads key beneath dirfd; regular files only. */
static int blob_read(int dirfd, const char *key, size_t max, char **buf, size_t *len,
		     struct gg_err *err)
{
	struct stat st;
	int fd, ret;

	fd = gg_blob_openat(dirfd, key, false, err);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		ret = gg_errf(err, -errno, "blob:%s: stat: %s", key, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		ret = gg_errf(err, -EINVAL, "blob:%s: not a regular file", key);
	else
		ret = read_fd(fd, key, buf, len, max, err);
	close(fd);
	return ret;
}

int gg_ref_load_blob(const struct gg_ref_ctx *ctx, const char *key, size_t key_len,
		     struct gg_doc *out, struct gg_err *err)
{
	char *pol = NULL, *sig_key = NULL, *sig = NULL;
	size_t sig_len = 0;
	int dirfd = -1, ret;

	memset(out, 0, sizeof(*out));
	ret = gg_blob_key_check(key, key_len, err);
	if (ret)
		return ret;
	if (!ctx->store_dir)
		return gg_errf(err, -ENOENT, "blob:%s: no store directory configured", key);
	pol = path_join(ctx->store_dir, "policies");
	if (!pol || asprintf(&out->ref, "blob:%s", key) < 0 ||
	    !(out->origin = path_join(pol, key))) {
		out->ref = NULL;
		ret = gg_errf(err, -ENOMEM, "blob:%s: out of memory", key);
		goto cleanup;
	}
	dirfd = open(pol, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		ret = gg_errf(err, -errno, "blob:%s: cannot open %s: %s", key, pol, strerror(errno));
		goto cleanup;
	}
	ret = blob_read(dirfd, key, DOC_MAX, &out->buf, &out->len, err);
	if (ret == -ENOENT)
		gg_errf(err, ret, "blob:%s: not found in %s", key, pol);
	if (ret)
		goto cleanup;
	gg_sha256_hex(out->buf, out->len, out->sha256);
	if (!ctx->trust_dir) {
		ret = doc_check_sig(ctx, out, NULL, 0, err);
		goto cleanup;
	}
	/* The sidecar goes through the same confinement as the blob. */
	if (asprintf(&sig_key, "%s.sig", key) < 0) {
		sig_key = NULL;
		ret = gg_errf(err, -ENOMEM, "blob:%s: out of memory", key);
		goto cleanup;
	}
	ret = blob_read(dirfd, sig_key, SIG_MAX, &sig, &sig_len, err);
	if (ret && ret != -ENOENT)
		goto cleanup;
	ret = doc_check_sig(ctx, out, ret ? NULL : sig, sig_len, err);
cleanup:
	if (dirfd >= 0)
		close(dirfd);
	free(sig);
	free(sig_key);
	free(pol);
	if (ret)
		gg_doc_free(out);
	return ret;
}

/* ---- any ref ---- */

int gg_ref_load(const struct gg_ref_ctx *ctx, const char *ref, struct gg_doc *out,
		struct gg_err *err)
{
	int ret;

	memset(out, 0, sizeof(*out));
	switch (gg_ref_classify(ref)) {
	case GG_REF_BLOB:
		return gg_ref_load_blob(ctx, ref + 5, strlen(ref + 5), out, err);
	case GG_REF_SHA256:
		ret = load_sha256(ctx, ref, out, err);
		break;
	case GG_REF_NAME:
		ret = load_name(ctx, ref, out, err);
		break;
	case GG_REF_PATH:
		out->origin = strdup(ref);
		if (!out->origin)
			return gg_errf(err, -ENOMEM, "%s: out of memory", ref);
		ret = read_path(ref, paths_regular, DOC_MAX, &out->buf, &out->len, err);
		if (ret == -ENOENT)
			ret = gg_errf(err, ret, "%s: no such file", ref);
		if (!ret) {
			gg_sha256_hex(out->buf, out->len, out->sha256);
			ret = doc_check_sig_path(ctx, out, err);
		}
		break;
	default:
		return gg_errf(err, -EINVAL,
			       "unrecognized ref \"%s\" (expected name@version, sha256:<hex>, blob:<key> or a file path)",
			       ref ? ref : "");
	}
	if (!ret) {
		out->ref = strdup(ref);
		if (!out->ref)
			ret = gg_errf(err, -ENOMEM, "%s: out of memory", ref);
	}
	if (ret)
		gg_doc_free(out);
	return ret;
}

/* ---- records that outlive this process ---- */

int gg_ref_canonical(const char *ref, char **out, struct gg_err *err)
{
	char *abs = NULL, cwd[PATH_MAX];

	*out = NULL;
	if (gg_ref_classify(ref) != GG_REF_PATH) {
		*out = strdup(ref ? ref : "");
		return *out ? 0 : gg_errf(err, -ENOMEM, "out of memory");
	}
	abs = realpath(ref, NULL);
	if (!abs && ref[0] == '/')
		abs = strdup(ref);
	else if (!abs && getcwd(cwd, sizeof(cwd)))
		abs = path_join(cwd, ref);
	else if (!abs)
		return gg_errf(err, -errno, "%s: cannot make it absolute: %s", ref, strerror(errno));
	if (!abs)
		return gg_errf(err, -ENOMEM, "%s: out of memory", ref);
	*out = abs;
	return 0;
}


/*
 * The stored copies this process read back and found whole, by version
 * (gg_store_remember: the daemon, which stores the same packs at every
 * apply): one lstat then says a copy is still the one that was checked.
 * A write() to it changes its mtime and ctime, a rename its inode; both
 * times come from a coarse clock, so a copy is remembered only once they
 * are gg_store_settle_s old (a write in the tick of the check would leave
 * them as they were). A store through a shared mapping whose page is
 * already dirty, or to the block device, changes neither: a remembered
 * copy is read again once GG_STORE_RECHECK_S have passed, so a burst of
 * applies reads it once and a copy changed behind the file system is
 * still put back within the minute.
 */
#define GG_STORE_MEMO_MAX 64
#define GG_STORE_RECHECK_S 60

int gg_store_settle_s = 2;

static bool store_remember;
static struct {
	char *path;
	struct stat st;
	time_t checked;
} store_memo[GG_STORE_MEMO_MAX];
static size_t n_store_memo;

void gg_store_remember(bool on)
{
	store_remember = on;
	for (size_t i = 0; i < n_store_memo; i++) {
		free(store_memo[i].path);
		store_memo[i].path = NULL;
	}
	n_store_memo = 0;
}

/* path is named for the digest of what it holds: a remembered version
 * holds those bytes. */
static bool store_known(const char *path)
{
	struct stat st;

	for (size_t i = 0; i < n_store_memo; i++)
		if (!strcmp(store_memo[i].path, path))
			return time(NULL) - store_memo[i].checked < GG_STORE_RECHECK_S &&
			       !lstat(path, &st) && gg_stat_same_version(&st, &store_memo[i].st);
	return false;
}

/* Remembers path, found whole, as st was before it was read (the clock
 * read before that). */
static void store_note(const char *path, const struct stat *st, time_t before)
{
	char *copy;
	size_t i;

	if (!S_ISREG(st->st_mode) || !gg_stat_settled(st, before, gg_store_settle_s) ||
	    !(copy = strdup(path)))
		return;
	for (i = 0; i < n_store_memo && strcmp(store_memo[i].path, path); i++)
		;
	if (i == GG_STORE_MEMO_MAX)
		gg_store_remember(true); /* full: start over */
	if (i >= n_store_memo)
		i = n_store_memo++;
	free(store_memo[i].path);
	store_memo[i].path = copy;
	store_memo[i].st = *st;
	store_memo[i].checked = before;
}

/* true if path already holds exactly len bytes of buf; named_for: path's
 * name is the digest of buf (a store object), so a version of it checked
 * before needs no reading. */
static bool same_content(const char *path, bool named_for, const void *buf, size_t len)
{
	bool memo = named_for && store_remember;
	time_t now = memo ? time(NULL) : 0;
	struct stat before, after;
	char *cur = NULL;
	size_t n = 0;
	bool same;

	if (memo && store_known(path))
		return true;
	if ((memo && lstat(path, &before)) || read_path(path, true, DOC_MAX, &cur, &n, NULL))
		return false;
	same = n == len && !memcmp(cur, buf, len);
	free(cur);
	/* remembered only if it did not change while it was read */
	if (same && memo && !lstat(path, &after) && gg_stat_same_version(&before, &after))
		store_note(path, &before, now);
	return same;
}

int gg_store_put(const char *store_dir, const struct gg_doc *doc, struct gg_err *err)
{
	char *dir = NULL, *path = NULL, *sig_path = NULL, hex[65];
	int ret;

	/* The name is the digest of what is written: doc's, computed from its
	 * bytes by the load (gg_ref_load; hashing the nine packs again was
	 * 0.13 ms of their apply). A copy is hashed again whenever it is
	 * loaded back (sha256:), so a name that lied would be refused then. */
	if (strlen(doc->sha256) != 64 || strspn(doc->sha256, "0123456789abcdef") != 64)
		return gg_errf(err, -EINVAL, "%s: no digest to store it under", doc->origin);
	snprintf(hex, sizeof(hex), "%s", doc->sha256);
	dir = path_join(store_dir, "sha256");
	path = dir ? path_join(dir, hex) : NULL;
	if (!path || asprintf(&sig_path, "%s.sig", path) < 0) {
		sig_path = NULL;
		ret = gg_errf(err, -ENOMEM, "%s: out of memory", store_dir);
		goto cleanup;
	}
	ret = gg_mkdir_p(dir, 0755, err);
	if (ret)
		goto cleanup;
	if (!same_content(path, true, doc->buf, doc->len)) {
		ret = gg_write_atomic(path, doc->buf, doc->len, 0644, err);
		if (ret)
			goto cleanup;
	}
	if (doc->sig) {
		if (!same_content(sig_path, false, doc->sig, doc->sig_len))
			ret = gg_write_atomic(sig_path, doc->sig, doc->sig_len, 0644, err);
	} else if (unlink(sig_path) && errno != ENOENT) {
		/* A stale signature would be checked on reload instead of none. */
		ret = gg_errf(err, -errno, "%s: %s", sig_path, strerror(errno));
	}
cleanup:
	free(sig_path);
	free(path);
	free(dir);
	return ret;
}

/* ---- packs and bundles ---- */

struct resolve {
	const struct gg_ref_ctx *ctx;
	struct gg_pack **packs;
	struct gg_doc *docs; /* parallel to packs, when the caller wants them */
	bool want_docs;
	size_t n, cap;
	/* The bundles being expanded, outermost first: for cycles and messages. */
	char *chain[GG_BUNDLE_DEPTH_MAX];
	char chain_sha[GG_BUNDLE_DEPTH_MAX][65];
	size_t depth;
};

/* "b1@v1 -> b2@v1" (+ " -> last" when last is set). */
static void chain_fmt(const struct resolve *r, const char *last, char *buf, size_t n)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < r->depth && off < n; i++)
		off += snprintf(buf + off, n - off, "%s%s", i ? " -> " : "", r->chain[i]);
	if (last && off < n)
		snprintf(buf + off, n - off, " -> %s", last);
}

/* Prefixes an error from inside a bundle with how it was reached. */
static int chain_err(const struct resolve *r, int ret, struct gg_err *err)
{
	char msg[sizeof(err->msg)], chain[384];

	if (!err || !r->depth)
		return ret;
	memcpy(msg, err->msg, sizeof(msg));
	chain_fmt(r, NULL, chain, sizeof(chain));
	return gg_errf(err, ret, "bundle %s: %s", chain, msg);
}

/* A name@version ref must get the document it names, whatever file it
 * came from (the lookup checks this lightly; this is the parsed truth). */
static int check_decl(const struct resolve *r, const char *ref, const char *origin,
		      const char *name, const char *version, struct gg_err *err)
{
	size_t n = strlen(name);

	if (gg_ref_classify(ref) != GG_REF_NAME)
		return 0;
	if (!strncmp(ref, name, n) && ref[n] == '@' && !strcmp(ref + n + 1, version))
		return 0;
	return chain_err(r, gg_errf(err, -EINVAL, "%s: declares %s@%s, but was resolved as %s",
				    origin, name, version, ref),
			 err);
}

/* Takes ownership of pack, also on error; and of doc's contents when the
 * pack is added and the caller wants documents. */
static int add_pack(struct resolve *r, struct gg_pack *pack, struct gg_doc *doc,
		    struct gg_err *err)
{
	char *label = NULL;
	int ret = 0;

	if (asprintf(&label, "%s@%s", pack->name, pack->version) < 0) {
		label = NULL;
		ret = gg_errf(err, -ENOMEM, "%s: out of memory", pack->origin);
		goto cleanup;
	}
	for (size_t i = 0; i < r->n; i++) {
		const struct gg_pack *p = r->packs[i];

		if (strcmp(p->ref, label))
			continue;
		/* Reached twice (say, via two bundles): once is enough. */
		if (strcmp(p->sha256, pack->sha256))
			ret = chain_err(r, gg_errf(err, -EINVAL,
						    "%s is two different documents: %s (sha256:%.12s...) and %s (sha256:%.12s...)",
						    label, p->origin, p->sha256, pack->origin,
						    pack->sha256),
					err);
		goto cleanup;
	}
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 8;
		struct gg_pack **v = realloc(r->packs, cap * sizeof(*v));

		if (!v) {
			ret = gg_errf(err, -ENOMEM, "%s: out of memory", pack->origin);
			goto cleanup;
		}
		r->packs = v;
		if (r->want_docs) {
			struct gg_doc *d = realloc(r->docs, cap * sizeof(*d));

			if (!d) {
				ret = gg_errf(err, -ENOMEM, "%s: out of memory", pack->origin);
				goto cleanup;
			}
			r->docs = d;
		}
		r->cap = cap;
	}
	free(pack->ref);
	pack->ref = label;
	if (r->want_docs) {
		r->docs[r->n] = *doc;
		memset(doc, 0, sizeof(*doc));
	}
	r->packs[r->n++] = pack;
	return 0;
cleanup:
	free(label);
	gg_pack_free(pack);
	return ret;
}

static int resolve_one(struct resolve *r, const char *ref, struct gg_err *err);

/* Takes ownership of pack, also on error. */
static int resolve_pack(struct resolve *r, const char *ref, struct gg_pack *pack,
			struct gg_doc *doc, struct gg_err *err)
{
	int ret;

	ret = check_decl(r, ref, doc->origin, pack->name, pack->version, err);
	if (ret) {
		gg_pack_free(pack);
		return ret;
	}
	memcpy(pack->sha256, doc->sha256, sizeof(pack->sha256));
	return add_pack(r, pack, doc, err);
}

/* Pushes bundle `label` (doc's bytes: sha) onto the chain being expanded,
 * unless that makes a cycle or nests too deep. */
static int chain_push(struct resolve *r, char *label, const char *sha, struct gg_err *err)
{
	char chain[384];

	/* Same bytes or same name@version already being expanded: a cycle. */
	for (size_t i = 0; i < r->depth; i++) {
		if (strcmp(r->chain_sha[i], sha) && strcmp(r->chain[i], label))
			continue;
		chain_fmt(r, label, chain, sizeof(chain));
		return gg_errf(err, -ELOOP, "bundle cycle: %s", chain);
	}
	if (r->depth == GG_BUNDLE_DEPTH_MAX) {
		chain_fmt(r, label, chain, sizeof(chain));
		return gg_errf(err, -ELOOP, "bundles nested deeper than %d: %s",
			       GG_BUNDLE_DEPTH_MAX, chain);
	}
	r->chain[r->depth] = label;
	memcpy(r->chain_sha[r->depth], sha, 65);
	r->depth++;
	return 0;
}

static int resolve_members(struct resolve *r, const struct gg_bundle *bundle,
			   const char *origin, struct gg_err *err)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < bundle->n_members; i++) {
		const char *m = bundle->members[i];

		/* A bundle from a registry or store must not point the agent at
		 * arbitrary local files; paths are for authors' command lines. */
		if (gg_ref_classify(m) == GG_REF_PATH)
			return chain_err(r, gg_errf(err, -EINVAL,
						    "%s: member \"%s\": file paths are not allowed in bundles (use name@version, sha256: or blob:)",
						    origin, m),
					 err);
		ret = resolve_one(r, m, err);
	}
	return ret;
}

static int resolve_bundle(struct resolve *r, const char *ref, const struct gg_bundle *bundle,
			  const struct gg_doc *doc, struct gg_err *err)
{
	char *label;
	int ret;

	ret = check_decl(r, ref, doc->origin, bundle->name, bundle->version, err);
	if (ret)
		return ret;
	if (asprintf(&label, "%s@%s", bundle->name, bundle->version) < 0)
		return gg_errf(err, -ENOMEM, "%s: out of memory", doc->origin);
	ret = chain_push(r, label, doc->sha256, err);
	if (!ret) {
		ret = resolve_members(r, bundle, doc->origin, err);
		r->depth--;
		r->chain[r->depth] = NULL;
	}
	free(label);
	return ret;
}

/* One document loaded and parsed (its tree already freed), not yet
 * resolved: what resolve_loaded takes. */
struct loaded {
	struct gg_doc doc;
	struct gg_pack *pack;
	struct gg_bundle *bundle;
	int ret;
	bool later; /* not loaded ahead: resolve_loaded loads it */
	struct gg_err err;
};

static void load_parse(const struct gg_ref_ctx *ctx, const char *ref, struct loaded *l)
{
	l->ret = gg_ref_load(ctx, ref, &l->doc, &l->err);
	if (!l->ret)
		l->ret = gg_doc_parse_tree(l->doc.buf, l->doc.len, l->doc.origin, l->doc.root,
					   l->doc.sha256, &l->pack, &l->bundle, &l->err);
	json_decref(l->doc.root);
	l->doc.root = NULL;
}

static void loaded_free(struct loaded *l)
{
	gg_pack_free(l->pack);
	gg_bundle_free(l->bundle);
	gg_doc_free(&l->doc);
	memset(l, 0, sizeof(*l));
}

static int resolve_loaded(struct resolve *r, const char *ref, struct loaded *l,
			  struct gg_err *err)
{
	int ret;

	if (l->later)
		load_parse(r->ctx, ref, l);
	ret = l->ret;

	if (ret) {
		if (err)
			*err = l->err;
		ret = chain_err(r, ret, err);
	} else if (l->pack) {
		ret = resolve_pack(r, ref, l->pack, &l->doc, err); /* owns pack now */
		l->pack = NULL;
	} else {
		ret = resolve_bundle(r, ref, l->bundle, &l->doc, err);
	}
	loaded_free(l);
	return ret;
}

static int resolve_one(struct resolve *r, const char *ref, struct gg_err *err)
{
	struct loaded l = {};

	load_parse(r->ctx, ref, &l);
	return resolve_loaded(r, ref, &l, err);
}

/*
 * The command line's refs are loaded and parsed ahead, on up to one thread
 * per CPU: for a million prefixes in two documents, parsing is half the
 * apply. What can be done apart is: reading, hashing, the signature and
 * the JSON (jansson and OpenSSL are thread-safe on separate objects). The
 * resolution itself (declarations, duplicates, bundles and their members)
 * then runs in order on the caller's thread, as before, so results and
 * errors are the same; a document after the first failing one was parsed
 * for nothing.
 */
#define PREFETCH_THREADS_MAX 8

/* Below this many bytes of regular files among the refs the caller's
 * thread loads them all: for the nine packs (210 kB) a worker saved
 * nothing measurable, and its malloc arena stayed resident in the daemon
 * (136 kB). Named refs count 0: packs are small. */
size_t gg_prefetch_threads_min_bytes = 1 << 20;

struct gg_ref_prefetch {
	const struct gg_ref_ctx *ctx;
	const char *const *refs;
	struct loaded *l;
	size_t n;
	size_t next; /* claimed with __atomic_fetch_add */
};

/* A file path ref naming a regular file: its size, else -1. */
static off_t path_ref_size(const char *ref)
{
	struct stat st;

	if (gg_ref_classify(ref) != GG_REF_PATH || stat(ref, &st) || !S_ISREG(st.st_mode))
		return -1;
	return st.st_size;
}

/* A file path from the command line may be a pipe, whose writer a load
 * ahead would wait for even after an earlier ref failed: only regular
 * files (and the other kinds of refs) are loaded ahead. */
static bool ahead_ok(const char *ref)
{
	return gg_ref_classify(ref) != GG_REF_PATH || path_ref_size(ref) >= 0;
}

static bool threads_pay(const struct gg_ref_prefetch *p)
{
	size_t bytes = 0;

	for (size_t i = 0; i < p->n && bytes < gg_prefetch_threads_min_bytes; i++) {
		off_t size = path_ref_size(p->refs[i]);

		if (size > 0)
			bytes += size;
	}
	return bytes >= gg_prefetch_threads_min_bytes;
}

static void *prefetch_worker(void *arg)
{
	struct gg_ref_prefetch *p = arg;
	size_t i;

	while ((i = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED)) < p->n)
		if (ahead_ok(p->refs[i]))
			load_parse(p->ctx, p->refs[i], &p->l[i]);
		else
			p->l[i].later = true;
	return NULL;
}

/*
 * A worker leaves no stack resident: it is mapped here and unmapped after
 * the join (glibc would keep a thread's stack, with the pages it touched,
 * for the next thread). The malloc arena it used is trimmed after the
 * apply, off its path (gg_policy_stale_clear).
 */
#define PREFETCH_STACK (8UL << 20)

static bool prefetch_start(pthread_t *tid, void **stack, struct gg_ref_prefetch *p)
{
	pthread_attr_t attr;
	bool ok;

	*stack = mmap(NULL, PREFETCH_STACK, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (*stack == MAP_FAILED)
		return false;
	ok = !pthread_attr_init(&attr) && !pthread_attr_setstack(&attr, *stack, PREFETCH_STACK) &&
	     !pthread_create(tid, &attr, prefetch_worker, p);
	pthread_attr_destroy(&attr);
	if (!ok)
		munmap(*stack, PREFETCH_STACK);
	return ok;
}

static void prefetch_run(struct gg_ref_prefetch *p)
{
	pthread_t tid[PREFETCH_THREADS_MAX];
	void *stack[PREFETCH_THREADS_MAX];
	size_t n_threads = 0, want = p->n;
	long cpus;

	/* asked only when threads pay: glibc reads sysfs for it */
	if (!threads_pay(p))
		want = 1;
	else if ((cpus = sysconf(_SC_NPROCESSORS_ONLN)) > 0 && (size_t)cpus < want)
		want = cpus;
	if (want > PREFETCH_THREADS_MAX)
		want = PREFETCH_THREADS_MAX;
	/* the caller's thread is one of them; one that cannot start is not
	 * needed (the others take its documents) */
	while (n_threads + 1 < want && prefetch_start(&tid[n_threads], &stack[n_threads], p))
		n_threads++;
	prefetch_worker(p);
	for (size_t i = 0; i < n_threads; i++) {
		pthread_join(tid[i], NULL);
		munmap(stack[i], PREFETCH_STACK);
	}
}

struct gg_ref_prefetch *gg_ref_prefetch(const struct gg_ref_ctx *ctx, const char *const *refs,
					size_t n_refs)
{
	struct gg_ref_prefetch *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->l = calloc(n_refs + 1, sizeof(*p->l));
	if (!p->l) {
		free(p);
		return NULL;
	}
	p->ctx = ctx;
	p->refs = refs;
	p->n = n_refs;
	prefetch_run(p);
	return p;
}

void gg_ref_prefetch_free(struct gg_ref_prefetch *pf)
{
	for (size_t i = 0; pf && i < pf->n; i++)
		loaded_free(&pf->l[i]);
	if (pf)
		free(pf->l);
	free(pf);
}
void gg_packs_free(struct gg_pack **packs, size_t n)
{
	for (size_t i = 0; packs && i < n; i++)
		gg_pack_free(packs[i]);
	free(packs);
}

/* The resolution's result, or on error nothing. */
static int resolve_done(struct resolve *r, int ret, struct gg_pack ***packs,
			struct gg_doc **docs, size_t *n_packs)
{
	if (ret) {
		gg_packs_free(r->packs, r->n);
		gg_docs_free(r->docs, r->n);
		return ret;
	}
	*packs = r->packs;
	*n_packs = r->n;
	if (docs)
		*docs = r->docs;
	return 0;
}

static void resolve_begin(struct gg_pack ***packs, struct gg_doc **docs, size_t *n_packs)
{
	*packs = NULL;
	*n_packs = 0;
	if (docs)
		*docs = NULL;
}

int gg_ref_resolve_docs(const struct gg_ref_ctx *ctx, const char *const *refs, size_t n_refs,
			struct gg_pack ***packs, struct gg_doc **docs, size_t *n_packs,
			struct gg_err *err)
{
	struct resolve r = { .ctx = ctx, .want_docs = docs != NULL };
	struct gg_ref_prefetch *pf = NULL;
	int ret = 0;

	resolve_begin(packs, docs, n_packs);
	if (n_refs > 1)
		pf = gg_ref_prefetch(ctx, refs, n_refs);
	for (size_t i = 0; !ret && i < n_refs; i++)
		ret = pf ? resolve_loaded(&r, refs[i], &pf->l[i], err) : resolve_one(&r, refs[i], err);
	gg_ref_prefetch_free(pf);
	return resolve_done(&r, ret, packs, docs, n_packs);
}

int gg_ref_resolve_prefetched(struct gg_ref_prefetch *pf, size_t i, struct gg_pack ***packs,
			      struct gg_doc **docs, size_t *n_packs, struct gg_err *err)
{
	struct resolve r = { .ctx = pf->ctx, .want_docs = docs != NULL };

	resolve_begin(packs, docs, n_packs);
	return resolve_done(&r, resolve_loaded(&r, pf->refs[i], &pf->l[i], err), packs, docs,
			    n_packs);
}

int gg_ref_resolve_packs(const struct gg_ref_ctx *ctx, const char *const *refs, size_t n_refs,
			 struct gg_pack ***packs, size_t *n_packs, struct gg_err *err)
{
	return gg_ref_resolve_docs(ctx, refs, n_refs, packs, NULL, n_packs, err);
}
