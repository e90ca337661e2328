// SPDX-License-Identifier: GPL-2.0
/*
 * Ed25519 keys and detached signature files (docs/refs-and-signing.md).
 *
 * A signature is pure Ed25519 (RFC 8032) over the exact bytes of the file,
 * so it can also be checked with stock tools:
 *   openssl pkeyutl -verify -pubin -inkey k.pub -rawin -in FILE -sigfile RAW
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "sign.h"

#define SIG_MAGIC "govgate-signature-v1"
#define SIG_KEY_PFX "key-sha256: "
#define SIG_ED_PFX "ed25519: "
#define SIG_LEN 64
#define SIG_B64_LEN 88 /* 4 * ceil(64 / 3) */
#define SIG_FILE_MAX 4096
#define KEY_FILE_MAX (64 * 1024)

/* The most recent OpenSSL error as text; clears the queue so the next
 * message does not pick up a stale one. */
static const char *ossl_err(char *buf, size_t n)
{
	unsigned long e = ERR_peek_last_error();

	if (!e)
		snprintf(buf, n, "unknown OpenSSL error");
	else
		ERR_error_string_n(e, buf, n);
	ERR_clear_error();
	return buf;
}

static bool is_ed25519(EVP_PKEY *key)
{
	return key && EVP_PKEY_is_a(key, "ED25519");
}

/*
 * Writes data to a fresh temporary file next to path (mkostemp: O_CREAT |
 * O_EXCL, mode 0600, then fchmod to mode), fsyncs it and renames it into
 * place, so readers never see a half-written key or signature. With
 * noreplace an existing path is left alone (-EEXIST).
 */
/* data into a new temporary file next to path (*tmp, to free), fsynced
 * and closed, with exactly mode (not masked by the umask). */
static int write_tmp(const char *path, const void *data, size_t len, mode_t mode, char **tmp,
		     struct gg_err *err)
{
	const char *p = data;
	int fd, ret = 0;

	if (asprintf(tmp, "%s.tmp.XXXXXX", path) < 0) {
		*tmp = NULL;
		return gg_errf(err, -ENOMEM, "%s: out of memory", path);
	}
	fd = mkostemp(*tmp, O_CLOEXEC);
	if (fd < 0) {
		ret = gg_errf(err, -errno, "%s: cannot create temporary file: %s", path,
			      strerror(errno));
		free(*tmp);
		*tmp = NULL; /* nothing of ours to unlink */
		return ret;
	}
	if (fchmod(fd, mode) < 0) {
		ret = gg_errf(err, -errno, "%s: chmod: %s", *tmp, strerror(errno));
		goto cleanup;
	}
	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			ret = gg_errf(err, -errno, "%s: write: %s", *tmp, strerror(errno));
			goto cleanup;
		}
		p += w;
		len -= w;
	}
	if (fsync(fd) < 0) {
		ret = gg_errf(err, -errno, "%s: fsync: %s", *tmp, strerror(errno));
		goto cleanup;
	}
	ret = close(fd);
	fd = -1;
	if (ret < 0)
		ret = gg_errf(err, -errno, "%s: close: %s", *tmp, strerror(errno));
cleanup:
	if (fd >= 0)
		close(fd);
	return ret;
}

/* tmp becomes path, which must not exist yet. */
static int place_noreplace(const char *tmp, const char *path, struct gg_err *err)
{
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
		return 1;
	/* File systems without RENAME_NOREPLACE: link(2) never replaces either. */
	if ((errno == EINVAL || errno == ENOSYS) && link(tmp, path) == 0)
		return 0;
	return gg_errf(err, -errno, "%s: %s", path,
		       errno == EEXIST ? "already exists (refusing to replace it)" :
					 strerror(errno));
}

static int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
			     bool noreplace, struct gg_err *err)
{
	bool placed = false;
	char *tmp = NULL;
	int ret;

	ret = write_tmp(path, data, len, mode, &tmp, err);
	if (ret)
		goto cleanup;
	if (noreplace) {
		ret = place_noreplace(tmp, path, err);
		placed = ret == 1; /* renamed; after link(2) tmp is still there */
		ret = ret > 0 ? 0 : ret;
	} else if (rename(tmp, path) < 0) {
		ret = gg_errf(err, -errno, "%s: rename: %s", path, strerror(errno));
	} else {
		placed = true;
	}
cleanup:
	if (tmp && !placed)
		unlink(tmp); /* after link(2), or a failure */
	free(tmp);
	return ret;
}

/* Exported as PEM text into a malloc'd buffer. */
static int key_pem(EVP_PKEY *key, bool priv, char **out, size_t *out_len, struct gg_err *err)
{
	char ebuf[256];
	BIO *bio = NULL;
	char *mem;
	long n;
	int ok, ret = 0;

	bio = BIO_new(BIO_s_mem());
	if (!bio)
		return gg_errf(err, -ENOMEM, "key: out of memory");
	ok = priv ? PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) :
		    PEM_write_bio_PUBKEY(bio, key);
	if (!ok) {
		ret = gg_errf(err, -EIO, "key: cannot encode %s key: %s",
			      priv ? "private" : "public", ossl_err(ebuf, sizeof(ebuf)));
		goto cleanup;
	}
	n = BIO_get_mem_data(bio, &mem);
	*out = malloc(n ? n : 1);
	if (!*out) {
		ret = gg_errf(err, -ENOMEM, "key: out of memory");
		goto cleanup;
	}
	memcpy(*out, mem, n);
	*out_len = n;
cleanup:
	BIO_free(bio);
	return ret;
}

int gg_key_generate(const char *priv_path, const char *pub_path, struct gg_err *err)
{
	char ebuf[256];
	EVP_PKEY *key = NULL;
	char *priv_pem = NULL, *pub_pem = NULL;
	size_t priv_len = 0, pub_len = 0;
	int ret;

	key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!key)
		return gg_errf(err, -EIO, "%s: Ed25519 key generation failed: %s", priv_path,
			       ossl_err(ebuf, sizeof(ebuf)));
	ret = key_pem(key, true, &priv_pem, &priv_len, err);
	if (ret)
		goto cleanup;
	ret = key_pem(key, false, &pub_pem, &pub_len, err);
	if (ret)
		goto cleanup;
	ret = write_file_atomic(priv_path, priv_pem, priv_len, 0600, true, err);
	if (ret)
		goto cleanup;
	ret = write_file_atomic(pub_path, pub_pem, pub_len, 0644, true, err);
	if (ret)
		unlink(priv_path); /* both or neither: a lone private key is useless */
cleanup:
	if (priv_pem)
		OPENSSL_cleanse(priv_pem, priv_len);
	free(priv_pem);
	free(pub_pem);
	EVP_PKEY_free(key);
	return ret;
}

static int key_load(const char *path, bool priv, EVP_PKEY **key, struct gg_err *err)
{
	char ebuf[256];
	char *pem = NULL;
	size_t len = 0;
	BIO *bio = NULL;
	EVP_PKEY *k = NULL;
	int ret;

	*key = NULL;
	ret = gg_read_file(path, &pem, &len, err);
	if (ret)
		return ret;
	if (len > KEY_FILE_MAX) {
		ret = gg_errf(err, -EFBIG, "%s: too large for a key file (%zu bytes)", path, len);
		goto cleanup;
	}
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio) {
		ret = gg_errf(err, -ENOMEM, "%s: out of memory", path);
		goto cleanup;
	}
	k = priv ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) :
		   PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	if (!k) {
		ret = gg_errf(err, -EBADMSG, "%s: not a PEM %s key: %s", path,
			      priv ? "private" : "public", ossl_err(ebuf, sizeof(ebuf)));
		goto cleanup;
	}
	if (!is_ed25519(k)) {
		ret = gg_errf(err, -EKEYREJECTED, "%s: not an Ed25519 key (%s)", path,
			      EVP_PKEY_get0_type_name(k) ? EVP_PKEY_get0_type_name(k) : "?");
		goto cleanup;
	}
	*key = k;
	k = NULL;
cleanup:
	EVP_PKEY_free(k);
	BIO_free(bio);
	if (pem)
		OPENSSL_cleanse(pem, len);
	free(pem);
	return ret;
}

int gg_key_load_private(const char *path, EVP_PKEY **key, struct gg_err *err)
{
	return key_load(path, true, key, err);
}

int gg_key_load_public(const char *path, EVP_PKEY **key, struct gg_err *err)
{
	return key_load(path, false, key, err);
}

int gg_key_fingerprint(EVP_PKEY *key, char hex[65], struct gg_err *err)
{
	unsigned char *der = NULL;
	int n;

	n = i2d_PUBKEY(key, &der);
	if (n <= 0)
		return gg_errf(err, -EINVAL, "key: cannot encode public key");
	gg_sha256_hex(der, n, hex);
	OPENSSL_free(der);
	return 0;
}

int gg_sign_buf(EVP_PKEY *key, const void *buf, size_t len, unsigned char sig[64],
		struct gg_err *err)
{
	char ebuf[256];
	EVP_MD_CTX *md = NULL;
	size_t sig_len = SIG_LEN;
	int ret = 0;

	if (!is_ed25519(key))
		return gg_errf(err, -EINVAL, "sign: not an Ed25519 key");
	md = EVP_MD_CTX_new();
	if (!md)
		return gg_errf(err, -ENOMEM, "sign: out of memory");
	/* Ed25519 hashes internally: no digest (NULL md), one-shot only. */
	if (EVP_DigestSignInit(md, NULL, NULL, NULL, key) != 1 ||
	    EVP_DigestSign(md, sig, &sig_len, buf, len) != 1 || sig_len != SIG_LEN)
		ret = gg_errf(err, -EIO, "sign: Ed25519 signing failed: %s",
			      ossl_err(ebuf, sizeof(ebuf)));
	EVP_MD_CTX_free(md);
	return ret;
}

int gg_verify_buf(EVP_PKEY *key, const void *buf, size_t len, const unsigned char sig[64])
{
	EVP_MD_CTX *md;
	int ok;

	if (!is_ed25519(key))
		return -EKEYREJECTED;
	md = EVP_MD_CTX_new();
	if (!md)
		return -ENOMEM;
	ok = EVP_DigestVerifyInit(md, NULL, NULL, NULL, key) == 1 &&
	     EVP_DigestVerify(md, sig, SIG_LEN, buf, len) == 1;
	EVP_MD_CTX_free(md);
	ERR_clear_error(); /* a failed verify leaves an error on the queue */
	return ok ? 0 : -EKEYREJECTED;
}

/* The text of a signature file for buf. */
static int sig_format(EVP_PKEY *key, const void *buf, size_t len, char **text,
		      struct gg_err *err)
{
	unsigned char sig[SIG_LEN];
	unsigned char b64[SIG_B64_LEN + 1];
	char fp[65];
	int ret;

	ret = gg_key_fingerprint(key, fp, err);
	if (ret)
		return ret;
	ret = gg_sign_buf(key, buf, len, sig, err);
	if (ret)
		return ret;
	EVP_EncodeBlock(b64, sig, SIG_LEN);
	if (asprintf(text, SIG_MAGIC "\n" SIG_KEY_PFX "%s\n" SIG_ED_PFX "%s\n", fp, b64) < 0) {
		*text = NULL;
		return gg_errf(err, -ENOMEM, "sign: out of memory");
	}
	return 0;
}

static int sig_write_key(EVP_PKEY *key, const void *buf, size_t len, const char *sig_path,
			 struct gg_err *err)
{
	char *text = NULL;
	int ret;

	ret = sig_format(key, buf, len, &text, err);
	if (ret)
		return ret;
	ret = write_file_atomic(sig_path, text, strlen(text), 0644, false, err);
	free(text);
	return ret;
}

int gg_sig_write(const char *priv_path, const void *buf, size_t len, const char *sig_path,
		 struct gg_err *err)
{
	EVP_PKEY *key = NULL;
	int ret;

	ret = gg_key_load_private(priv_path, &key, err);
	if (ret)
		return ret;
	ret = sig_write_key(key, buf, len, sig_path, err);
	EVP_PKEY_free(key);
	return ret;
}

/* Cuts the next '\n'-terminated line (the last one may lack the '\n'). */
static bool next_line(const char **p, const char *end, const char **line, size_t *n)
{
	const char *nl;

	if (*p >= end)
		return false;
	nl = memchr(*p, '\n', end - *p);
	*line = *p;
	*n = (nl ? nl : end) - *p;
	*p = nl ? nl + 1 : end;
	return true;
}

static bool is_lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* Strict parse: exactly the three lines sig_format writes, nothing else. */
static int sig_parse(const char *text, size_t len, const char *name, char fp[65],
		     unsigned char sig[SIG_LEN], struct gg_err *err)
{
	const size_t kpfx = strlen(SIG_KEY_PFX), epfx = strlen(SIG_ED_PFX);
	const char *p = text, *end = text + len, *line;
	unsigned char raw[SIG_B64_LEN];
	size_t n;

	if (len > SIG_FILE_MAX)
		return gg_errf(err, -EBADMSG, "%s: malformed signature file: too large (%zu bytes)",
			       name, len);
	if (memchr(text, '\0', len))
		return gg_errf(err, -EBADMSG, "%s: malformed signature file: contains a NUL byte",
			       name);
	if (!next_line(&p, end, &line, &n) || n != strlen(SIG_MAGIC) ||
	    memcmp(line, SIG_MAGIC, n))
		return gg_errf(err, -EBADMSG,
			       "%s: malformed signature file: line 1: expected \"" SIG_MAGIC "\"",
			       name);
	if (!next_line(&p, end, &line, &n) || n != kpfx + 64 || memcmp(line, SIG_KEY_PFX, kpfx) ||
	    !is_lower_hex(line + kpfx, 64))
		return gg_errf(err, -EBADMSG,
			       "%s: malformed signature file: line 2: expected \"" SIG_KEY_PFX
			       "<64 lower-case hex digits>\"",
			       name);
	memcpy(fp, line + kpfx, 64);
	fp[64] = '\0';
	/* 64 bytes are 88 base64 characters ending in "=="; DecodeBlock does
	 * not strip padding, so it yields 66 bytes, the last two zero. */
	if (!next_line(&p, end, &line, &n) || n != epfx + SIG_B64_LEN ||
	    memcmp(line, SIG_ED_PFX, epfx) || memcmp(line + n - 2, "==", 2) ||
	    EVP_DecodeBlock(raw, (const unsigned char *)line + epfx, SIG_B64_LEN) != SIG_LEN + 2)
		return gg_errf(err, -EBADMSG,
			       "%s: malformed signature file: line 3: expected \"" SIG_ED_PFX
			       "<base64 of a 64-byte signature>\"",
			       name);
	memcpy(sig, raw, SIG_LEN);
	if (p != end)
		return gg_errf(err, -EBADMSG,
			       "%s: malformed signature file: unexpected data after line 3", name);
	return 0;
}

static int pub_filter(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 4 && !strcmp(d->d_name + n - 4, ".pub");
}

int gg_sig_verify_mem(const char *trust_dir, const void *buf, size_t len, const char *sig,
		      size_t sig_len, const char *sig_name, char **signer, struct gg_err *err)
{
	struct dirent **ents = NULL;
	unsigned char raw[SIG_LEN];
	char want[65], fp[65];
	const char *matched = NULL;
	int n = 0, ret;

	*signer = NULL;
	ret = sig_parse(sig, sig_len, sig_name, want, raw, err);
	if (ret)
		return ret;
	if (!trust_dir)
		return gg_errf(err, -ENOKEY, "%s: no trust directory to verify it with", sig_name);
	n = scandir(trust_dir, &ents, pub_filter, alphasort);
	if (n < 0)
		return gg_errf(err, -ENOKEY, "%s: cannot read trust directory: %s", trust_dir,
			       strerror(errno));
	/* Only keys with the named fingerprint are tried; a copy of the same
	 * key under two names verifies under the first (sorted) one. */
	ret = -EKEYREJECTED;
	for (int i = 0; i < n && ret; i++) {
		EVP_PKEY *key = NULL;
		char *path = NULL;

		if (asprintf(&path, "%s/%s", trust_dir, ents[i]->d_name) < 0) {
			ret = gg_errf(err, -ENOMEM, "%s: out of memory", trust_dir);
			break;
		}
		/* An unreadable or foreign key file only fails its own signers. */
		if (!gg_key_load_public(path, &key, NULL) && !gg_key_fingerprint(key, fp, NULL) &&
		    !strcmp(fp, want)) {
			matched = ents[i]->d_name;
			if (!gg_verify_buf(key, buf, len, raw)) {
				*signer = strdup(ents[i]->d_name);
				ret = *signer ? 0 : gg_errf(err, -ENOMEM, "out of memory");
			}
		}
		EVP_PKEY_free(key);
		free(path);
	}
	if (ret == -EKEYREJECTED) {
		if (matched)
			gg_errf(err, ret, "%s: content changed since it was signed by %s", sig_name,
				matched);
		else
			gg_errf(err, ret, "%s: signed by key sha256:%.16s..., which is not in %s",
				sig_name, want, trust_dir);
	}
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return ret;
}

int gg_sig_verify(const char *trust_dir, const void *buf, size_t len, const char *sig_path,
		  char **signer, struct gg_err *err)
{
	char *sig = NULL;
	size_t sig_len = 0;
	int ret;

	*signer = NULL;
	ret = gg_read_file(sig_path, &sig, &sig_len, err);
	if (ret == -ENOENT)
		return gg_errf(err, -ENOENT, "%s: no signature", sig_path);
	if (ret)
		return ret;
	ret = gg_sig_verify_mem(trust_dir, buf, len, sig, sig_len, sig_path, signer, err);
	free(sig);
	return ret;
}
