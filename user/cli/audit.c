// SPDX-License-Identifier: GPL-2.0
/* govgate audit verify|tail. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "cli.h"

static const char verify_usage[] =
	"usage: govgate audit verify [--key PUBKEY | --no-signatures]\n"
	"                            [--key-ed25519 HEX]... [--anchor SEQ:HEAD]...\n"
	"                            [--config FILE] [--json] [FILE...]\n"
	"  --key PUBKEY       public key of the checkpoints (default: the configured\n"
	"                     audit key's .pub)\n"
	"  --key-ed25519 HEX  a per-boot key's public half as published (journal,\n"
	"                     status --json): trusted too, with the keys it announced\n"
	"  --no-signatures    check the hash chain only (says so in the output)\n"
	"  --anchor SEQ:HEAD  a checkpoint published outside the log: the log must\n"
	"                     hold checkpoint SEQ with that head\n"
	"  --json             one JSON document\n"
	"FILEs are verified as one chain, ordered by their first seq; default: the\n"
	"configured log and its rotated files. Exit: 0 intact (with --no-signatures:\n"
	"the chain), 1 not intact, 2 usage or I/O error, 3 chain intact but no\n"
	"public key to check the signatures.\n";

#define CLI_MAX_KEYS 16

struct verify_args {
	struct cli_opts o;
	const char *key_path;
	EVP_PKEY *keys[CLI_MAX_KEYS]; /* --key-ed25519 */
	size_t n_keys;
	struct gg_audit_verify_opts vo;
	struct gg_audit_anchor *anchors;
	char **files;
	size_t n_files;
};

/* CLI_CONTINUE when a is complete, else the exit code. */
static int verify_parse(struct verify_args *a, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "no-signatures", no_argument, NULL, 'S' },
		{ "anchor", required_argument, NULL, 'a' },
		{ "key-ed25519", required_argument, NULL, 'E' },
		CLI_OPT_JSON, CLI_OPT_CONFIG, CLI_OPT_HELP,
		{},
	};
	int c, rc;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			a->key_path = optarg;
			break;
		case 'S':
			a->vo.chain_only = true;
			break;
		case 'a':
			if (cli_anchor_arg(&a->o, optarg, &a->anchors, &a->vo.n_anchors))
				return 2;
			break;
		case 'E':
			if (a->n_keys == CLI_MAX_KEYS ||
			    !(a->keys[a->n_keys] = gg_ed25519_from_public_hex(optarg)))
				return cli_usage_error(&a->o, verify_usage,
						       "--key-ed25519 %s: not 64 hex digits (at most "
						       "%d keys)", optarg, CLI_MAX_KEYS);
			a->n_keys++;
			break;
		default:
			rc = cli_common_opt(&a->o, c, optarg, verify_usage);
			if (rc != CLI_CONTINUE)
				return rc;
		}
	}
	if ((a->key_path || a->n_keys) && a->vo.chain_only)
		return cli_usage_error(&a->o, verify_usage,
				       "--key and --no-signatures exclude each other");
	a->vo.more_keys = a->keys;
	a->vo.n_more_keys = a->n_keys;
	a->vo.anchors = a->anchors;
	a->files = argv + optind;
	a->n_files = argc - optind;
	return CLI_CONTINUE;
}

/* 0 intact, 3 chain intact but signatures unchecked for want of a key,
 * 1 not intact. */
static int verify_exit_code(const json_t *res)
{
	const char *status = gg_json_str(res, "status", NULL);

	if (json_is_true(json_object_get(res, "intact")))
		return 0;
	return status && !strcmp(status, "unverified-no-key") ? 3 : 1;
}

static int do_verify(int argc, char **argv)
{
	struct verify_args a = { .o.cmd = "audit verify" };
	struct cli_audit_src src = {};
	json_t *res = NULL;
	struct gg_err err;
	int ret;

	ret = verify_parse(&a, argc, argv);
	if (ret != CLI_CONTINUE)
		goto cleanup;
	ret = 2;
	if (cli_audit_src_open(&a.o, a.key_path, a.vo.chain_only, a.files, a.n_files, &src,
			       &err))
		goto fail;
	a.vo.pub = src.pub;
	if (gg_audit_verify_ex(src.files, src.n, &a.vo, NULL, NULL, &res, &err))
		goto fail;
	json_object_set_new(res, "key_file",
			    src.key_path ? json_string(src.key_path) : json_null());
	if (!src.key_path && !a.vo.chain_only && src.def_pub)
		json_object_set_new(res, "key_searched", json_string(src.def_pub));
	if (a.o.json)
		cli_json(res);
	else
		gg_audit_verify_print(stdout, res);
	ret = verify_exit_code(res);
	goto cleanup;
fail:
	cli_error(&a.o, "%s", err.msg);
cleanup:
	cli_audit_src_free(&src);
	json_decref(res);
	free(a.anchors);
	for (size_t k = 0; k < a.n_keys; k++)
		EVP_PKEY_free(a.keys[k]);
	return ret;
}

static const char tail_usage[] =
	"usage: govgate audit tail [-f] [--json] [-n N] [FILE]\n"
	"  -f, --follow   keep printing new records (follows rotation)\n"
	"  -n, --lines N  last N lines (default 10)\n"
	"      --json     the raw records\n"
	"      --config F the configuration that names the log\n"
	"FILE defaults to the configured log (" GG_AUDIT_PATH_DEFAULT ").\n";

static int do_tail(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "lines", required_argument, NULL, 'n' },
		CLI_OPT_JSON, CLI_OPT_CONFIG, CLI_OPT_HELP,
		{},
	};
	struct cli_opts o = { .cmd = "audit tail" };
	char *path = NULL, *pub = NULL, *end;
	bool follow = false, raw;
	struct gg_err err;
	long lines = 10;
	int c, ret;

	optind = 0;
	while ((c = getopt_long(argc, argv, "fn:h", opts, NULL)) != -1) {
		if (c == 'f') {
			follow = true;
		} else if (c == 'n') {
			lines = strtol(optarg, &end, 10);
			if (*end || lines < 0)
				return cli_usage_error(&o, tail_usage, "bad line count \"%s\"",
						       optarg);
		} else if ((ret = cli_common_opt(&o, c, optarg, tail_usage)) != CLI_CONTINUE) {
			return ret;
		}
	}
	if (argc - optind > 1)
		return cli_usage_error(&o, tail_usage, NULL);
	if (optind < argc)
		path = strdup(argv[optind]);
	else
		cli_audit_defaults(&o, &path, &pub);
	if (!path) {
		cli_error(&o, "out of memory");
		return 1;
	}
	/* --json selects the raw lines; errors stay text on stderr. */
	raw = o.json;
	o.json = false;
	ret = gg_audit_tail(path, lines, raw, follow, &err);
	if (ret)
		cli_error(&o, "%s", err.msg);
	free(path);
	free(pub);
	/* A file that cannot be read is an I/O error (2); a follow that ran
	 * out of memory failed (1). */
	return !ret ? 0 : ret == -ENOMEM ? 1 : 2;
}

static const struct cmd audit_cmds[] = {
	{ "verify", do_verify, "check the hash chain, the checkpoints and their signatures" },
	{ "tail", do_tail, "the last records, readable (or raw with --json); -f follows" },
};

int gg_cmd_audit(int argc, char **argv)
{
	static const struct cmd_level level = {
		.name = "govgate audit",
		.head = "usage: govgate audit verify [--key PUBKEY | --no-signatures] "
			"[--anchor SEQ:HEAD]... [--json] [FILE...]\n"
			"       govgate audit tail [-f] [--json] [-n N] [FILE]\n",
		.cmds = audit_cmds,
		.n = sizeof(audit_cmds) / sizeof(audit_cmds[0]),
	};

	return cmd_select(&level, argc, argv);
}
