// SPDX-License-Identifier: GPL-2.0
/* govgate pack keygen|sign|verify: for pack publishers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "crypto.h"
#include "cli.h"
#include "sign.h"

static const char keygen_usage[] =
	"usage: govgate pack keygen --private FILE --public FILE\n"
	"  Generate an Ed25519 key pair (private key mode 0600). Existing\n"
	"  files are never replaced.\n";
static const char sign_usage[] =
	"usage: govgate pack sign --key PRIVATE FILE...\n"
	"  Write FILE.sig (detached Ed25519 signature) for each FILE.\n";
static const char verify_usage[] =
	"usage: govgate pack verify --trust-dir DIR FILE... [--json]\n"
	"  Check FILE.sig against the keys DIR/*.pub. Exit 0 when every\n"
	"  FILE is signed by a trusted key, 1 otherwise.\n";

static int do_keygen(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "private", required_argument, NULL, 'k' },
		{ "public", required_argument, NULL, 'p' },
		CLI_OPT_HELP,
		{},
	};
	struct cli_opts o = { .cmd = "pack keygen" };
	const char *priv = NULL, *pub = NULL;
	struct gg_err err = {};
	EVP_PKEY *key = NULL;
	char fp[65];
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'k')
			priv = optarg;
		else if (c == 'p')
			pub = optarg;
		else
			return cli_common_opt(&o, c, optarg, keygen_usage);
	}
	if (!priv || !pub || optind != argc)
		return cli_usage_error(&o, keygen_usage, NULL);
	if (gg_key_generate(priv, pub, &err) || gg_key_load_public(pub, &key, &err) ||
	    gg_key_fingerprint(key, fp, &err)) {
		cli_error(&o, "%s", err.msg);
		EVP_PKEY_free(key);
		return 1;
	}
	printf("wrote %s (private, mode 0600) and %s (public)\nkey-sha256: %s\n", priv, pub, fp);
	EVP_PKEY_free(key);
	return 0;
}

static int do_sign(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		CLI_OPT_HELP,
		{},
	};
	struct cli_opts o = { .cmd = "pack sign" };
	const char *key_path = NULL;
	struct gg_err err = {};
	EVP_PKEY *key = NULL;
	int c, rc = 0;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c != 'k')
			return cli_common_opt(&o, c, optarg, sign_usage);
		key_path = optarg;
	}
	if (!key_path || optind == argc)
		return cli_usage_error(&o, sign_usage, NULL);
	/* The key is checked once, before any file is signed. */
	if (gg_key_load_private(key_path, &key, &err)) {
		cli_error(&o, "%s", err.msg);
		return 1;
	}
	EVP_PKEY_free(key);
	for (int i = optind; i < argc; i++) {
		char *buf = NULL, *sig_path = NULL;
		size_t len = 0;

		if (asprintf(&sig_path, "%s.sig", argv[i]) < 0) {
			cli_error(&o, "out of memory");
			return 1;
		}
		if (gg_read_file(argv[i], &buf, &len, &err) ||
		    gg_sig_write(key_path, buf, len, sig_path, &err)) {
			cli_error(&o, "%s", err.msg);
			rc = 1;
		} else {
			printf("signed %s -> %s\n", argv[i], sig_path);
		}
		free(buf);
		free(sig_path);
	}
	return rc;
}

/* One file: "ok", "unsigned" or "bad" (err says why). */
static const char *verify_one(const char *trust_dir, const char *file, char **signer,
			      struct gg_err *err)
{
	char *buf = NULL, *sig_path = NULL;
	size_t len = 0;
	int ret;

	if (asprintf(&sig_path, "%s.sig", file) < 0) {
		sig_path = NULL;
		ret = gg_errf(err, -ENOMEM, "out of memory");
	} else {
		ret = gg_read_file(file, &buf, &len, err);
	}
	if (!ret)
		ret = gg_sig_verify(trust_dir, buf, len, sig_path, signer, err);
	free(buf);
	free(sig_path);
	return !ret ? "ok" : ret == -ENOENT ? "unsigned" : "bad";
}

static int do_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "trust-dir", required_argument, NULL, 't' },
		CLI_OPT_JSON, CLI_OPT_HELP,
		{},
	};
	struct cli_opts o = { .cmd = "pack verify" };
	const char *trust_dir = NULL;
	bool all_ok = true;
	json_t *files;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 't')
			trust_dir = optarg;
		else if ((c = cli_common_opt(&o, c, optarg, verify_usage)) != CLI_CONTINUE)
			return c;
	}
	if (!trust_dir || optind == argc)
		return cli_usage_error(&o, verify_usage, NULL);
	files = json_array();
	for (int i = optind; i < argc; i++) {
		struct gg_err err = {};
		char *signer = NULL;
		const char *status = verify_one(trust_dir, argv[i], &signer, &err);
		bool bad = !strcmp(status, "bad");

		all_ok &= !strcmp(status, "ok");
		json_array_append_new(files, json_pack("{s:s, s:s, s:s*, s:s*}", "file", argv[i],
						       "status", status, "signer", signer,
						       "error", bad ? err.msg : NULL));
		if (!o.json && bad)
			printf("%s: BAD (%s)\n", argv[i], err.msg);
		else if (!o.json && signer)
			printf("%s: %s (signer %s)\n", argv[i], status, signer);
		else if (!o.json)
			printf("%s: %s\n", argv[i], status);
		free(signer);
	}
	if (o.json) {
		json_t *doc = json_pack("{s:b, s:s, s:O}", "ok", all_ok, "trust_dir", trust_dir,
					"files", files);

		cli_json(doc);
		json_decref(doc);
	}
	json_decref(files);
	return all_ok ? 0 : 1;
}

static const struct cmd pack_cmds[] = {
	{ "keygen", do_keygen, "generate an Ed25519 key pair" },
	{ "sign", do_sign, "write FILE.sig for each FILE" },
	{ "verify", do_verify, "check FILE.sig against the trusted keys" },
};

int gg_cmd_pack(int argc, char **argv)
{
	static const struct cmd_level level = {
		.name = "govgate pack",
		.head = "usage: govgate pack keygen --private FILE --public FILE\n"
			"       govgate pack sign --key PRIVATE FILE...\n"
			"       govgate pack verify --trust-dir DIR FILE... [--json]\n",
		.cmds = pack_cmds,
		.n = sizeof(pack_cmds) / sizeof(pack_cmds[0]),
	};

	return cmd_select(&level, argc, argv);
}
