// SPDX-License-Identifier: GPL-2.0
/* Ed25519 keys, raw signatures, detached .sig files and `govgate pack`. */
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

#include "crypto.h"
#include "fixture.h"
#include "cli.h"

#include "sign.h"

struct fx {
	char *root; /* separate from path[]: snprintf(path, root) must not alias */
	char path[8][512]; /* rotating scratch for P() */
	int next;
};

static const char *P(struct fx *f, const char *rel)
{
	char *p = f->path[f->next++ % 8];

	snprintf(p, sizeof(f->path[0]), "%s/%s", f->root, rel);
	return p;
}

static void write_str(const char *path, const char *s)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fputs(s, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

static char *read_str(const char *path)
{
	struct gg_err err = {};
	char *buf = NULL;
	size_t len = 0;

	assert_int_equal(gg_read_file(path, &buf, &len, &err), 0);
	return buf;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct gg_err err = {};

	if (!f)
		return -1;
	f->root = strdup("/tmp/gg-test-sign.XXXXXX");
	if (!f->root || !mkdtemp(f->root))
		return -1;
	if (mkdir(P(f, "trust"), 0755) || mkdir(P(f, "other"), 0755))
		return -1;
	/* "a" is trusted, "b" is not. */
	if (gg_key_generate(P(f, "a.key"), P(f, "trust/a.pub"), &err) ||
	    gg_key_generate(P(f, "b.key"), P(f, "other/b.pub"), &err)) {
		fprintf(stderr, "setup: %s\n", err.msg);
		return -1;
	}
	write_str(P(f, "doc.json"), "{\"name\":\"p1\",\"version\":\"v1\"}\n");
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

static void test_keygen_files(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *priv = NULL, *pub = NULL, *none = NULL;
	struct gg_err err = {};
	char fp1[65], fp2[65];
	struct stat st;

	assert_int_equal(stat(P(f, "a.key"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(P(f, "trust/a.pub"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(gg_key_load_private(P(f, "a.key"), &priv, &err), 0);
	assert_int_equal(gg_key_load_public(P(f, "trust/a.pub"), &pub, &err), 0);
	assert_int_equal(gg_key_fingerprint(priv, fp1, &err), 0);
	assert_int_equal(gg_key_fingerprint(pub, fp2, &err), 0);
	assert_string_equal(fp1, fp2);
	assert_int_equal(strlen(fp1), 64);
	/* A public key is not a private key. */
	assert_int_not_equal(gg_key_load_private(P(f, "trust/a.pub"), &none, &err), 0);
	assert_null(none);
	EVP_PKEY_free(priv);
	EVP_PKEY_free(pub);
}

static void test_keygen_refuses_overwrite(void **state)
{
	struct fx *f = *state;
	struct gg_err err = {};
	char *before = read_str(P(f, "a.key")), *after;
	struct stat st;

	assert_int_equal(gg_key_generate(P(f, "a.key"), P(f, "new.pub"), &err), -EEXIST);
	assert_non_null(strstr(err.msg, "already exists"));
	assert_int_not_equal(stat(P(f, "new.pub"), &st), 0);
	after = read_str(P(f, "a.key"));
	assert_string_equal(before, after);
	/* Public key in the way: no lone private key is left behind. */
	assert_int_equal(gg_key_generate(P(f, "new.key"), P(f, "trust/a.pub"), &err), -EEXIST);
	assert_int_not_equal(stat(P(f, "new.key"), &st), 0);
	free(before);
	free(after);
}

static void test_raw_sign_verify(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *a = NULL, *b = NULL;
	struct gg_err err = {};
	unsigned char sig[64];
	char msg[] = "allow nothing";

	assert_int_equal(gg_key_load_private(P(f, "a.key"), &a, &err), 0);
	assert_int_equal(gg_key_load_private(P(f, "b.key"), &b, &err), 0);
	assert_int_equal(gg_sign_buf(a, msg, strlen(msg), sig, &err), 0);
	assert_int_equal(gg_verify_buf(a, msg, strlen(msg), sig), 0);
	assert_int_equal(gg_verify_buf(b, msg, strlen(msg), sig), -EKEYREJECTED);
	msg[0] ^= 1;
	assert_int_equal(gg_verify_buf(a, msg, strlen(msg), sig), -EKEYREJECTED);
	msg[0] ^= 1;
	sig[10] ^= 0x40;
	assert_int_equal(gg_verify_buf(a, msg, strlen(msg), sig), -EKEYREJECTED);
	/* Empty documents sign fine. */
	assert_int_equal(gg_sign_buf(a, "", 0, sig, &err), 0);
	assert_int_equal(gg_verify_buf(a, "", 0, sig), 0);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
}

static void test_non_ed25519_refused(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"), *k = NULL;
	struct gg_err err = {};
	unsigned char sig[64];
	FILE *fp;

	assert_non_null(ec);
	assert_int_equal(gg_sign_buf(ec, "x", 1, sig, &err), -EINVAL);
	fp = fopen(P(f, "ec.key"), "w");
	assert_non_null(fp);
	assert_int_equal(PEM_write_PrivateKey(fp, ec, NULL, NULL, 0, NULL, NULL), 1);
	fclose(fp);
	assert_int_equal(gg_key_load_private(P(f, "ec.key"), &k, &err), -EKEYREJECTED);
	assert_non_null(strstr(err.msg, "not an Ed25519 key"));
	assert_null(k);
	EVP_PKEY_free(ec);
}

static void test_sig_roundtrip(void **state)
{
	struct fx *f = *state;
	struct gg_err err = {};
	char *doc = read_str(P(f, "doc.json")), *sig, *signer = NULL, fp[65], line[128];
	EVP_PKEY *pub = NULL;

	assert_int_equal(gg_sig_write(P(f, "a.key"), doc, strlen(doc), P(f, "doc.json.sig"), &err), 0);
	assert_int_equal(gg_sig_verify(P(f, "trust"), doc, strlen(doc), P(f, "doc.json.sig"),
				       &signer, &err),
			 0);
	assert_string_equal(signer, "a.pub");
	free(signer);

	/* The documented format, line by line. */
	sig = read_str(P(f, "doc.json.sig"));
	assert_int_equal(gg_key_load_public(P(f, "trust/a.pub"), &pub, &err), 0);
	assert_int_equal(gg_key_fingerprint(pub, fp, &err), 0);
	snprintf(line, sizeof(line), "govgate-signature-v1\nkey-sha256: %s\ned25519: ", fp);
	assert_int_equal(strncmp(sig, line, strlen(line)), 0);
	assert_int_equal(strlen(sig), strlen(line) + 88 + 1);
	assert_int_equal(sig[strlen(sig) - 1], '\n');
	EVP_PKEY_free(pub);
	free(sig);
	free(doc);
}

static void test_sig_tampered(void **state)
{
	struct fx *f = *state;
	struct gg_err err = {};
	const char *doc = "{\"name\":\"p1\",\"version\":\"v1\",\"rules\":[]}";
	char *signer = NULL, bad[64];

	assert_int_equal(gg_sig_write(P(f, "a.key"), doc, strlen(doc), P(f, "t.sig"), &err), 0);
	snprintf(bad, sizeof(bad), "%s", doc);
	bad[20] = 'X';
	assert_int_equal(gg_sig_verify(P(f, "trust"), bad, strlen(bad), P(f, "t.sig"), &signer, &err),
			 -EKEYREJECTED);
	assert_null(signer);
	assert_non_null(strstr(err.msg, "t.sig: content changed since it was signed by a.pub"));
	/* One byte more or less is tampering too. */
	assert_int_equal(gg_sig_verify(P(f, "trust"), doc, strlen(doc) - 1, P(f, "t.sig"), &signer,
				       &err),
			 -EKEYREJECTED);
}

static void test_sig_wrong_key(void **state)
{
	struct fx *f = *state;
	struct gg_err err = {};
	const char *doc = "{}";
	char *signer = NULL;

	assert_int_equal(gg_sig_write(P(f, "b.key"), doc, 2, P(f, "w.sig"), &err), 0);
	assert_int_equal(gg_sig_verify(P(f, "trust"), doc, 2, P(f, "w.sig"), &signer, &err),
			 -EKEYREJECTED);
	assert_null(signer);
	assert_non_null(strstr(err.msg, "which is not in"));
	/* ...but it does verify with b's key. */
	assert_int_equal(gg_sig_verify(P(f, "other"), doc, 2, P(f, "w.sig"), &signer, &err), 0);
	assert_string_equal(signer, "b.pub");
	free(signer);
}

static void test_sig_missing_and_no_trust_dir(void **state)
{
	struct fx *f = *state;
	struct gg_err err = {};
	char *signer = NULL;

	assert_int_equal(gg_sig_verify(P(f, "trust"), "{}", 2, P(f, "nope.sig"), &signer, &err),
			 -ENOENT);
	assert_int_equal(gg_sig_write(P(f, "a.key"), "{}", 2, P(f, "n.sig"), &err), 0);
	assert_int_equal(gg_sig_verify(P(f, "no-such-dir"), "{}", 2, P(f, "n.sig"), &signer, &err),
			 -ENOKEY);
	assert_non_null(strstr(err.msg, "cannot read trust directory"));
}

/* A foreign key file in the trust dir neither verifies nor breaks others. */
static void test_sig_trust_dir_junk(void **state)
{
	struct fx *f = *state;
	struct gg_err err = {};
	char *signer = NULL;

	write_str(P(f, "trust/junk.pub"), "not a key\n");
	assert_int_equal(gg_sig_write(P(f, "a.key"), "{}", 2, P(f, "j.sig"), &err), 0);
	assert_int_equal(gg_sig_verify(P(f, "trust"), "{}", 2, P(f, "j.sig"), &signer, &err), 0);
	assert_string_equal(signer, "a.pub");
	free(signer);
	unlink(P(f, "trust/junk.pub"));
}

static void test_sig_malformed(void **state)
{
	struct fx *f = *state;
	struct gg_err err = {};
	char *good, *signer = NULL, *nl1, *nl2, buf[512];
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
		{ "", "line 1" },
		{ "govgate-signature-v2\n", "line 1" },
		{ "govgate-signature-v1\n", "line 2" },
		{ "govgate-signature-v1\r\nkey-sha256: x\n", "line 1" },
		{ "govgate-signature-v1\nkey-sha256: abc\ned25519: AAAA\n", "line 2" },
		{ "govgate-signature-v1\nkey-sha256: "
		  "ABCDEF0000000000000000000000000000000000000000000000000000000000\n",
		  "line 2" },
		{ "govgate-signature-v1\nkey-sha256: "
		  "abcdef0000000000000000000000000000000000000000000000000000000000\n",
		  "line 3" },
		{ "govgate-signature-v1\nkey-sha256: "
		  "abcdef0000000000000000000000000000000000000000000000000000000000\n"
		  "ed25519: AAAA\n",
		  "line 3" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_str(P(f, "m.sig"), cases[i].text);
		assert_int_equal(gg_sig_verify(P(f, "trust"), "{}", 2, P(f, "m.sig"), &signer, &err),
				 -EBADMSG);
		assert_non_null(strstr(err.msg, "malformed signature file"));
		if (!strstr(err.msg, cases[i].want))
			fail_msg("case %zu: %s (want %s)", i, err.msg, cases[i].want);
	}

	/* Start from a good file and break it in small ways. */
	assert_int_equal(gg_sig_write(P(f, "a.key"), "{}", 2, P(f, "g.sig"), &err), 0);
	good = read_str(P(f, "g.sig"));
	nl1 = strchr(good, '\n');
	nl2 = strchr(nl1 + 1, '\n');

	snprintf(buf, sizeof(buf), "%sextra\n", good); /* trailing junk */
	write_str(P(f, "m.sig"), buf);
	assert_int_equal(gg_sig_verify(P(f, "trust"), "{}", 2, P(f, "m.sig"), &signer, &err),
			 -EBADMSG);
	assert_non_null(strstr(err.msg, "after line 3"));

	snprintf(buf, sizeof(buf), "%s", good);
	buf[nl2 - good + 1 + 9 + 5] = '!'; /* bad base64 character */
	write_str(P(f, "m.sig"), buf);
	assert_int_equal(gg_sig_verify(P(f, "trust"), "{}", 2, P(f, "m.sig"), &signer, &err),
			 -EBADMSG);
	assert_non_null(strstr(err.msg, "line 3"));

	snprintf(buf, sizeof(buf), "%s", good);
	buf[strlen(buf) - 2] = 'A'; /* padding gone: not 64 bytes */
	write_str(P(f, "m.sig"), buf);
	assert_int_equal(gg_sig_verify(P(f, "trust"), "{}", 2, P(f, "m.sig"), &signer, &err),
			 -EBADMSG);

	/* Without the final newline it is still the same signature. */
	snprintf(buf, sizeof(buf), "%s", good);
	buf[strlen(buf) - 1] = '\0';
	write_str(P(f, "m.sig"), buf);
	assert_int_equal(gg_sig_verify(P(f, "trust"), "{}", 2, P(f, "m.sig"), &signer, &err), 0);
	free(signer);
	signer = NULL;

	/* Well-formed, but the signature bytes are wrong. */
	snprintf(buf, sizeof(buf), "%s", good);
	buf[nl2 - good + 1 + 9] = buf[nl2 - good + 1 + 9] == 'A' ? 'B' : 'A';
	write_str(P(f, "m.sig"), buf);
	assert_int_equal(gg_sig_verify(P(f, "trust"), "{}", 2, P(f, "m.sig"), &signer, &err),
			 -EKEYREJECTED);

	/* NUL byte inside, via the in-memory entry point. */
	memcpy(buf, good, strlen(good) + 1);
	buf[3] = '\0';
	assert_int_equal(gg_sig_verify_mem(P(f, "trust"), "{}", 2, buf, strlen(good), "mem.sig",
					   &signer, &err),
			 -EBADMSG);
	assert_non_null(strstr(err.msg, "mem.sig: malformed signature file: contains a NUL byte"));
	(void)nl1;
	free(good);
}

static int run_pack(int n, ...)
{
	char *argv[16];
	va_list ap;
	int rc, saved = dup(STDOUT_FILENO), null = open("/dev/null", O_WRONLY);

	va_start(ap, n);
	for (int i = 0; i < n; i++)
		argv[i] = va_arg(ap, char *);
	va_end(ap);
	argv[n] = NULL;
	/* Keep the test log readable: the CLI's stdout goes to /dev/null. */
	fflush(stdout);
	dup2(null, STDOUT_FILENO);
	rc = gg_cmd_pack(n, argv);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	close(null);
	return rc;
}

static void test_cli(void **state)
{
	struct fx *f = *state;
	char priv[512], pub[512], doc[512], doc2[512], trust[512], out[512];
	struct stat st;
	char *json;

	snprintf(priv, sizeof(priv), "%s", P(f, "cli.key"));
	snprintf(trust, sizeof(trust), "%s", P(f, "clitrust"));
	snprintf(pub, sizeof(pub), "%s", P(f, "clitrust/cli.pub"));
	snprintf(doc, sizeof(doc), "%s", P(f, "cli.json"));
	snprintf(doc2, sizeof(doc2), "%s", P(f, "cli2.json"));
	assert_int_equal(mkdir(trust, 0755), 0);
	write_str(doc, "{\"a\":1}\n");
	write_str(doc2, "{\"b\":2}\n");

	assert_int_equal(run_pack(2, "pack", "--help"), 0);
	assert_int_equal(run_pack(3, "pack", "keygen", "--help"), 0);
	assert_int_equal(run_pack(3, "pack", "sign", "--help"), 0);
	assert_int_equal(run_pack(3, "pack", "verify", "--help"), 0);
	assert_int_equal(run_pack(2, "pack", "frobnicate"), 2);
	assert_int_equal(run_pack(3, "pack", "keygen", "--private"), 2);
	assert_int_equal(run_pack(4, "pack", "sign", "--key", priv), 2); /* no FILE */

	assert_int_equal(run_pack(6, "pack", "keygen", "--private", priv, "--public", pub), 0);
	assert_int_equal(stat(priv, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(run_pack(6, "pack", "keygen", "--private", priv, "--public", pub), 1);

	/* doc2 unsigned: verify fails until it is signed too. */
	assert_int_equal(run_pack(5, "pack", "sign", "--key", priv, doc), 0);
	assert_int_equal(run_pack(6, "pack", "verify", "--trust-dir", trust, doc, doc2), 1);
	assert_int_equal(run_pack(5, "pack", "sign", "--key", priv, doc2), 0);
	assert_int_equal(run_pack(6, "pack", "verify", "--trust-dir", trust, doc, doc2), 0);
	write_str(doc2, "{\"b\":3}\n");
	assert_int_equal(run_pack(5, "pack", "verify", "--trust-dir", trust, doc2), 1);
	assert_int_equal(run_pack(5, "pack", "sign", "--key", P(f, "missing.key"), doc), 1);

	/* --json after the files (getopt permutes), captured to a file. */
	snprintf(out, sizeof(out), "%s", P(f, "verify.json"));
	{
		int saved = dup(STDOUT_FILENO), fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		char *argv[] = { "pack", "verify", "--trust-dir", trust, doc, doc2, "--json", NULL };

		fflush(stdout);
		dup2(fd, STDOUT_FILENO);
		assert_int_equal(gg_cmd_pack(7, argv), 1);
		fflush(stdout);
		dup2(saved, STDOUT_FILENO);
		close(saved);
		close(fd);
	}
	json = read_str(out);
	assert_non_null(strstr(json, "\"ok\": false"));
	assert_non_null(strstr(json, "\"status\": \"ok\""));
	assert_non_null(strstr(json, "\"signer\": \"cli.pub\""));
	assert_non_null(strstr(json, "\"status\": \"bad\""));
	free(json);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keygen_files),
		cmocka_unit_test(test_keygen_refuses_overwrite),
		cmocka_unit_test(test_raw_sign_verify),
		cmocka_unit_test(test_non_ed25519_refused),
		cmocka_unit_test(test_sig_roundtrip),
		cmocka_unit_test(test_sig_tampered),
		cmocka_unit_test(test_sig_wrong_key),
		cmocka_unit_test(test_sig_missing_and_no_trust_dir),
		cmocka_unit_test(test_sig_trust_dir_junk),
		cmocka_unit_test(test_sig_malformed),
		cmocka_unit_test(test_cli),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
