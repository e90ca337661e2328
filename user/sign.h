/* SPDX-License-Identifier: GPL-2.0 */
/* Ed25519 keys and detached signatures (OpenSSL EVP). */
#ifndef GG_SIGN_H
#define GG_SIGN_H


#include "crypto.h"
#include "common.h"

/* Generates a key pair: private key PEM (PKCS#8, mode 0600) and public key
 * PEM (0644). Refuses (-EEXIST) to replace either file; both or neither. */
int gg_key_generate(const char *priv_path, const char *pub_path, struct gg_err *err);
int gg_key_load_private(const char *path, EVP_PKEY **key, struct gg_err *err);
int gg_key_load_public(const char *path, EVP_PKEY **key, struct gg_err *err);

/* Raw 64-byte Ed25519 signatures (pure Ed25519, no pre-hash). verify
 * returns 0 or -EKEYREJECTED. Keys that are not Ed25519 are refused. */
int gg_sign_buf(EVP_PKEY *key, const void *buf, size_t len, unsigned char sig[64],
		struct gg_err *err);
int gg_verify_buf(EVP_PKEY *key, const void *buf, size_t len, const unsigned char sig[64]);

/* SHA-256 (lower-case hex) of the key's DER SubjectPublicKeyInfo: the
 * "key-sha256" line of a signature file. Same as
 * `openssl pkey -pubin -outform DER | sha256sum`. */
int gg_key_fingerprint(EVP_PKEY *key, char hex[65], struct gg_err *err);

/* Detached signature files for documents: "<file>.sig", three lines
 * (docs/refs-and-signing.md):
 *   govgate-signature-v1
 *   key-sha256: <gg_key_fingerprint of the signing key>
 *   ed25519: <base64 of the 64-byte Ed25519 signature over the file's bytes>
 * sign writes it (atomically, replacing an older one); verify checks it
 * with the *.pub in trust_dir whose fingerprint matches and returns 0 with
 * *signer set (the key file name, caller frees), -ENOENT when there is no
 * signature, -EKEYREJECTED when it does not verify (content changed, or no
 * trusted key has that fingerprint), -EBADMSG when the .sig file is
 * malformed, -ENOKEY when trust_dir cannot be read. */
int gg_sig_write(const char *priv_path, const void *buf, size_t len, const char *sig_path,
		 struct gg_err *err);
int gg_sig_verify(const char *trust_dir, const void *buf, size_t len, const char *sig_path,
		  char **signer, struct gg_err *err);

/* As gg_sig_verify, for a signature file already read into sig/sig_len
 * (sig_name names it in messages). Never returns -ENOENT. */
int gg_sig_verify_mem(const char *trust_dir, const void *buf, size_t len, const char *sig,
		      size_t sig_len, const char *sig_name, char **signer, struct gg_err *err);

#endif
