/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libcrypto, opened when first needed (user/crypto.c).
 *
 * Linked in statically, OpenSSL's 350 KB of pointer tables were relocated
 * at every command's start: about 95 copy-on-write page faults, 1.2 ms of
 * a 10 ms `govgate apply` on these machines (docs/performance.md, "Apply,
 * seventh pass"), for commands that never hash or sign. Now a command that
 * needs libcrypto opens Debian's libcrypto.so.3 on its first call; the
 * daemon opens it at start, before anything is attached (a missing library
 * fails the start, not an audit record).
 *
 * Include this instead of <openssl/...>: every OpenSSL function govgate
 * calls is redirected to the opened library's, by the macros below, with
 * OpenSSL's own prototypes. A function missing from the list is not linked
 * (libcrypto is no longer on the link line), so a new call fails the build
 * until it is added to GG_LIBCRYPTO_FUNCS and given its macro.
 */
#ifndef GG_CRYPTO_H
#define GG_CRYPTO_H

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

/* The soname: Debian 12's libssl3. */
#define GG_LIBCRYPTO_SONAME "libcrypto.so.3"

#define GG_LIBCRYPTO_FUNCS(X)                                                                      \
	X(BIO_ctrl) X(BIO_free) X(BIO_new) X(BIO_new_mem_buf) X(BIO_s_mem)                         \
	X(CRYPTO_free) X(OPENSSL_cleanse)                                                          \
	X(ERR_clear_error) X(ERR_error_string_n) X(ERR_peek_last_error)                            \
	X(EVP_DecodeBlock) X(EVP_EncodeBlock)                                                      \
	X(EVP_Digest) X(EVP_DigestFinal_ex) X(EVP_DigestInit_ex) X(EVP_DigestUpdate)               \
	X(EVP_DigestSign) X(EVP_DigestSignInit) X(EVP_DigestVerify) X(EVP_DigestVerifyInit)        \
	X(EVP_MD_CTX_copy_ex) X(EVP_MD_CTX_free) X(EVP_MD_CTX_new) X(EVP_MD_fetch) X(EVP_sha256)   \
	X(EVP_PKEY_CTX_free) X(EVP_PKEY_CTX_new_id) X(EVP_PKEY_keygen) X(EVP_PKEY_keygen_init)     \
	X(EVP_PKEY_Q_keygen) X(EVP_PKEY_free) X(EVP_PKEY_get0_type_name)                           \
	X(EVP_PKEY_get_raw_private_key) X(EVP_PKEY_get_raw_public_key) X(EVP_PKEY_is_a)            \
	X(EVP_PKEY_new_raw_private_key) X(EVP_PKEY_new_raw_public_key) X(EVP_PKEY_up_ref)          \
	X(PEM_read_bio_PrivateKey) X(PEM_read_bio_PUBKEY) X(PEM_write_PUBKEY)                      \
	X(PEM_write_PrivateKey) X(PEM_write_bio_PUBKEY) X(PEM_write_bio_PrivateKey)                \
	X(SHA256) X(i2d_PUBKEY)

struct gg_libcrypto {
#define GG_LIBCRYPTO_MEMBER(name) __typeof__(name) *name;
	GG_LIBCRYPTO_FUNCS(GG_LIBCRYPTO_MEMBER)
#undef GG_LIBCRYPTO_MEMBER
};

/* The opened library's functions; NULL, with why in *why, if it could not
 * be opened (or lacks one of them). */
const struct gg_libcrypto *gg_libcrypto_open(const char **why);
/* The same, for a call: a process that cannot open it says why and exits
 * (as the dynamic linker would have, at its start). */
const struct gg_libcrypto *gg_libcrypto_slow(void);

extern const struct gg_libcrypto *gg_libcrypto_table;

static inline const struct gg_libcrypto *gg_libcrypto(void)
{
	const struct gg_libcrypto *t = __atomic_load_n(&gg_libcrypto_table, __ATOMIC_ACQUIRE);

	return t ? t : gg_libcrypto_slow();
}

#define GG_CRYPTO(name) (gg_libcrypto()->name)
/* Freeing NULL opens nothing: every command's cleanup frees its keys, and
 * a pointer that is not NULL came from the opened library. */
#define GG_CRYPTO_FREE(name, p, ...)                                                               \
	({                                                                                         \
		__typeof__(p) gg_crypto_p_ = (p);                                                  \
		gg_crypto_p_ ? (GG_CRYPTO(name)(gg_crypto_p_, ##__VA_ARGS__), 0) : 0;              \
	})
#define BIO_ctrl(...) GG_CRYPTO(BIO_ctrl)(__VA_ARGS__)
#define BIO_free(p) ({ BIO *gg_bio_ = (p); gg_bio_ ? GG_CRYPTO(BIO_free)(gg_bio_) : 0; })
#define BIO_new(...) GG_CRYPTO(BIO_new)(__VA_ARGS__)
#define BIO_new_mem_buf(...) GG_CRYPTO(BIO_new_mem_buf)(__VA_ARGS__)
#define BIO_s_mem(...) GG_CRYPTO(BIO_s_mem)(__VA_ARGS__)
#define CRYPTO_free(p, file, line) GG_CRYPTO_FREE(CRYPTO_free, p, file, line)
#define OPENSSL_cleanse(...) GG_CRYPTO(OPENSSL_cleanse)(__VA_ARGS__)
#define ERR_clear_error(...) GG_CRYPTO(ERR_clear_error)(__VA_ARGS__)
#define ERR_error_string_n(...) GG_CRYPTO(ERR_error_string_n)(__VA_ARGS__)
#define ERR_peek_last_error(...) GG_CRYPTO(ERR_peek_last_error)(__VA_ARGS__)
#define EVP_DecodeBlock(...) GG_CRYPTO(EVP_DecodeBlock)(__VA_ARGS__)
#define EVP_EncodeBlock(...) GG_CRYPTO(EVP_EncodeBlock)(__VA_ARGS__)
#define EVP_Digest(...) GG_CRYPTO(EVP_Digest)(__VA_ARGS__)
#define EVP_DigestFinal_ex(...) GG_CRYPTO(EVP_DigestFinal_ex)(__VA_ARGS__)
#define EVP_DigestInit_ex(...) GG_CRYPTO(EVP_DigestInit_ex)(__VA_ARGS__)
#define EVP_DigestUpdate(...) GG_CRYPTO(EVP_DigestUpdate)(__VA_ARGS__)
#define EVP_DigestSign(...) GG_CRYPTO(EVP_DigestSign)(__VA_ARGS__)
#define EVP_DigestSignInit(...) GG_CRYPTO(EVP_DigestSignInit)(__VA_ARGS__)
#define EVP_DigestVerify(...) GG_CRYPTO(EVP_DigestVerify)(__VA_ARGS__)
#define EVP_DigestVerifyInit(...) GG_CRYPTO(EVP_DigestVerifyInit)(__VA_ARGS__)
#define EVP_MD_CTX_copy_ex(...) GG_CRYPTO(EVP_MD_CTX_copy_ex)(__VA_ARGS__)
#define EVP_MD_CTX_free(p) GG_CRYPTO_FREE(EVP_MD_CTX_free, p)
#define EVP_MD_CTX_new(...) GG_CRYPTO(EVP_MD_CTX_new)(__VA_ARGS__)
#define EVP_MD_fetch(...) GG_CRYPTO(EVP_MD_fetch)(__VA_ARGS__)
#define EVP_sha256(...) GG_CRYPTO(EVP_sha256)(__VA_ARGS__)
#define EVP_PKEY_CTX_free(p) GG_CRYPTO_FREE(EVP_PKEY_CTX_free, p)
#define EVP_PKEY_CTX_new_id(...) GG_CRYPTO(EVP_PKEY_CTX_new_id)(__VA_ARGS__)
#define EVP_PKEY_keygen(...) GG_CRYPTO(EVP_PKEY_keygen)(__VA_ARGS__)
#define EVP_PKEY_keygen_init(...) GG_CRYPTO(EVP_PKEY_keygen_init)(__VA_ARGS__)
#define EVP_PKEY_Q_keygen(...) GG_CRYPTO(EVP_PKEY_Q_keygen)(__VA_ARGS__)
#define EVP_PKEY_free(p) GG_CRYPTO_FREE(EVP_PKEY_free, p)
#define EVP_PKEY_get0_type_name(...) GG_CRYPTO(EVP_PKEY_get0_type_name)(__VA_ARGS__)
#define EVP_PKEY_get_raw_private_key(...) GG_CRYPTO(EVP_PKEY_get_raw_private_key)(__VA_ARGS__)
#define EVP_PKEY_get_raw_public_key(...) GG_CRYPTO(EVP_PKEY_get_raw_public_key)(__VA_ARGS__)
#define EVP_PKEY_is_a(...) GG_CRYPTO(EVP_PKEY_is_a)(__VA_ARGS__)
#define EVP_PKEY_new_raw_private_key(...) GG_CRYPTO(EVP_PKEY_new_raw_private_key)(__VA_ARGS__)
#define EVP_PKEY_new_raw_public_key(...) GG_CRYPTO(EVP_PKEY_new_raw_public_key)(__VA_ARGS__)
#define EVP_PKEY_up_ref(...) GG_CRYPTO(EVP_PKEY_up_ref)(__VA_ARGS__)
#define PEM_read_bio_PrivateKey(...) GG_CRYPTO(PEM_read_bio_PrivateKey)(__VA_ARGS__)
#define PEM_read_bio_PUBKEY(...) GG_CRYPTO(PEM_read_bio_PUBKEY)(__VA_ARGS__)
#define PEM_write_PUBKEY(...) GG_CRYPTO(PEM_write_PUBKEY)(__VA_ARGS__)
#define PEM_write_PrivateKey(...) GG_CRYPTO(PEM_write_PrivateKey)(__VA_ARGS__)
#define PEM_write_bio_PUBKEY(...) GG_CRYPTO(PEM_write_bio_PUBKEY)(__VA_ARGS__)
#define PEM_write_bio_PrivateKey(...) GG_CRYPTO(PEM_write_bio_PrivateKey)(__VA_ARGS__)
#define SHA256(...) GG_CRYPTO(SHA256)(__VA_ARGS__)
#define i2d_PUBKEY(...) GG_CRYPTO(i2d_PUBKEY)(__VA_ARGS__)

#endif
