/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Policy refs: name@version, sha256:<hex>, blob:<key>, or a file path.
 * Resolution reads the document, hashes it, checks its signature against
 * the trusted keys, and expands composite bundles into their member packs.
 */
#ifndef GG_REF_H
#define GG_REF_H

#include <sys/types.h>

#include "pack.h"

struct gg_ref_ctx {
	const char *registry_dir; /* <registry_dir>/<account>/<name>@<version>.json */
	const char *account; /* from the config; NULL = none */
	const char *const *pack_dirs; /* shipped packs: <dir>/<name>.json (+ version check) */
	size_t n_pack_dirs;
	const char *store_dir; /* <store>/sha256/<hex>, <store>/policies/<key> */
	const char *trust_dir; /* trusted Ed25519 public keys (*.pub, PEM) */
	bool require_signatures; /* refuse unsigned or badly signed documents */
};

/* A resolved document's bytes and provenance. */
struct gg_doc {
	char *ref; /* as given */
	char *origin; /* the file it came from */
	char *buf;
	size_t len;
	char sha256[65]; /* of buf: computed by the load, never taken from input */
	bool signed_ok; /* a valid signature by a trusted key */
	char *signer; /* key file name of that key */
	char *sig; /* the bytes of that signature file, kept so a stored */
	size_t sig_len; /* copy can be checked the same way later */
	bool registry; /* name@version found in the account's registry */
	/* buf parsed (GG_DOC_JSON_FLAGS) by the name@version lookup, which
	 * reads the declared name from it; NULL if it did not */
	json_t *root;
};

enum gg_ref_kind {
	GG_REF_INVALID = 0,
	GG_REF_NAME, /* name@version: registry, then pack dirs */
	GG_REF_SHA256, /* sha256:<64 lower-case hex>: <store>/sha256/<hex> */
	GG_REF_BLOB, /* blob:<key>: <store>/policies/<key>, confined */
	GG_REF_PATH, /* contains '/' or ends in .json: a file (pack authors) */
};

/* Which form ref has (syntax only; nothing is opened). */
enum gg_ref_kind gg_ref_classify(const char *ref);

/* Resolves one ref to its document (no parsing), hashes it and checks its
 * "<origin>.sig" sidecar (docs/refs-and-signing.md). */
int gg_ref_load(const struct gg_ref_ctx *ctx, const char *ref, struct gg_doc *out,
		struct gg_err *err);
/* The blob: form with an explicit key length, so a key with an embedded
 * NUL byte is seen (and refused) rather than silently cut short. */
int gg_ref_load_blob(const struct gg_ref_ctx *ctx, const char *key, size_t key_len,
		     struct gg_doc *out, struct gg_err *err);
void gg_doc_free(struct gg_doc *doc);
void gg_docs_free(struct gg_doc *docs, size_t n);

/* The name@version lookup of gg_ref_load alone (registry first, then the
 * pack dirs): the document the resolver would take, hashed, its signature
 * not checked yet. For listings that show a bad signature instead of
 * stopping at it. */
int gg_ref_find(const struct gg_ref_ctx *ctx, const char *ref, struct gg_doc *out,
		struct gg_err *err);
/* The signature check gg_ref_load applies: doc's "<origin>.sig" against the
 * trusted keys (sets signed_ok, signer, sig). -ENOKEY: unsigned (or no
 * trust dir) and signatures are required; -EKEYREJECTED: does not verify;
 * -EBADMSG: malformed. */
int gg_doc_check_sig(const struct gg_ref_ctx *ctx, struct gg_doc *doc, struct gg_err *err);

/* A ref as a record that outlives this process should name it: a file path
 * made absolute (realpath; a path that does not resolve, such as a pipe,
 * is joined to the working directory instead), so a daemon started from
 * another directory (systemd: /) means the same file. Other forms are
 * copied unchanged. */
int gg_ref_canonical(const char *ref, char **out, struct gg_err *err);

/* Adds doc's exact bytes to the content-addressed store under store_dir:
 * <store_dir>/sha256/<hex>, and the signature that verified them as
 * <hex>.sig (an older .sig is removed when doc has none), each written
 * atomically and fsynced. Idempotent. Such an object loads back as
 * "sha256:<hex>" with that store_dir: re-hashed, signature checked. */
int gg_store_put(const char *store_dir, const struct gg_doc *doc, struct gg_err *err);

/* A process that stores the same packs again and again (the daemon) can
 * have the copies it checked remembered by version, so that the next put
 * of the same bytes is one lstat (user/ref.c); off forgets them. A copy
 * is remembered once its times are gg_store_settle_s old (2; tests change
 * it). */
void gg_store_remember(bool on);

/* A file-path ref is read as a plain file only (the daemon: a FIFO put in
 * place of the operator's file after the CLI hashed it would block its
 * loop in open); off, a pipe is read too (`apply /dev/stdin`). */
void gg_ref_paths_regular(bool on);
extern int gg_store_settle_s;

/* Syntax check of a blob key: refuses an empty key, NUL bytes, absolute
 * keys and ".." components. Returns 0 or -EINVAL. */
int gg_blob_key_check(const char *key, size_t len, struct gg_err *err);

/* Opens a checked key read-only beneath dirfd (an O_PATH directory):
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS), so symlinks may point
 * anywhere inside but never out. If the kernel has no openat2 (or
 * force_nofollow), walks the key one component at a time with O_NOFOLLOW,
 * refusing every symlink. Returns an fd or a negative errno: -EXDEV / -ELOOP
 * for an escape, -ENOENT when absent. The fd is O_NONBLOCK (so a FIFO
 * cannot stall the open); the caller checks it is a regular file. */
int gg_blob_openat(int dirfd, const char *key, bool force_nofollow, struct gg_err *err);

/* Resolves refs to packs, expanding bundles (nesting depth at most
 * GG_BUNDLE_DEPTH_MAX, cycles refused, file-path members refused). Each
 * pack's ->ref is set to "name@version" and ->sha256 to its digest; a
 * pack reached twice with the same bytes is included once, and two
 * different documents claiming the same name@version are an error. */
#define GG_BUNDLE_DEPTH_MAX 8
int gg_ref_resolve_packs(const struct gg_ref_ctx *ctx, const char *const *refs, size_t n_refs,
			 struct gg_pack ***packs, size_t *n_packs, struct gg_err *err);
/* As gg_ref_resolve_packs, and (*docs)[i] is the document packs[i] was
 * parsed from: its exact bytes and the signature that verified them (free
 * with gg_docs_free). */
int gg_ref_resolve_docs(const struct gg_ref_ctx *ctx, const char *const *refs, size_t n_refs,
			struct gg_pack ***packs, struct gg_doc **docs, size_t *n_packs,
			struct gg_err *err);
void gg_packs_free(struct gg_pack **packs, size_t n);

/*
 * Refs loaded and parsed ahead, concurrently (one thread per CPU, up to
 * 8, when the files are large enough to pay for them): reading, hashing,
 * the signature and the JSON. Resolving each then
 * (gg_ref_resolve_prefetched, in any order, each once) gives exactly what
 * gg_ref_resolve_docs of that one ref gives, errors included. NULL when
 * out of memory: resolve as usual then.
 */
struct gg_ref_prefetch;
struct gg_ref_prefetch *gg_ref_prefetch(const struct gg_ref_ctx *ctx, const char *const *refs,
					size_t n_refs);
int gg_ref_resolve_prefetched(struct gg_ref_prefetch *pf, size_t i, struct gg_pack ***packs,
			      struct gg_doc **docs, size_t *n_packs, struct gg_err *err);
void gg_ref_prefetch_free(struct gg_ref_prefetch *pf);
/* Threads only for at least this many bytes of file refs (tests: 0). */
extern size_t gg_prefetch_threads_min_bytes;

#endif
