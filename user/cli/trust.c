// SPDX-License-Identifier: GPL-2.0
/* govgate trust snapshot: trusted-executables mode (docs/packs.md). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "trust.h"

static const char snapshot_usage[] =
	"usage: govgate trust snapshot DIR... [--out FILE] [--name NAME] [--version V]\n"
	"  Hash every executable and shared library under DIR... (a golden\n"
	"  image) and write the trust list: a pack whose rule denies every file\n"
	"  not listed (stdout without --out). Sign it with govgate pack sign,\n"
	"  apply it with govgate apply --mode observe first, then enforce.\n"
	"  Default name trust-snapshot, version v1.\n";

static int do_snapshot(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "name", required_argument, NULL, 'n' },
		{ "version", required_argument, NULL, 'V' },
		CLI_OPT_HELP,
		{},
	};
	struct gg_trust_opts t = { .name = "trust-snapshot", .version = "v1" };
	struct cli_opts o = { .cmd = "trust snapshot" };
	const char *out = NULL;
	struct gg_err err = {};
	size_t n_files = 0, len;
	json_t *pack = NULL;
	char *text = NULL;
	int c, rc = 1;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'o')
			out = optarg;
		else if (c == 'n')
			t.name = optarg;
		else if (c == 'V')
			t.version = optarg;
		else
			return cli_common_opt(&o, c, optarg, snapshot_usage);
	}
	if (optind == argc)
		return cli_usage_error(&o, snapshot_usage, "no directory given");
	if (gg_trust_snapshot((const char *const *)argv + optind, argc - optind, &t, &pack,
			      &n_files, &err)) {
		cli_error(&o, "%s", err.msg);
		return 1;
	}
	if (!out) {
		cli_json(pack);
		rc = 0;
		goto cleanup;
	}
	text = json_dumps(pack, JSON_INDENT(2));
	if (!text) {
		cli_error(&o, "out of memory");
		goto cleanup;
	}
	len = strlen(text);
	text[len++] = '\n'; /* over the NUL: the length is explicit */
	if (gg_write_atomic(out, text, len, 0644, &err)) {
		cli_error(&o, "%s", err.msg);
		goto cleanup;
	}
	fprintf(stderr, "wrote %s: %zu digests of %zu files\n", out,
		json_array_size(json_object_get(json_object_get(json_array_get(
			json_object_get(pack, "rules"), 0), "match"), "trusted")),
		n_files);
	rc = 0;
cleanup:
	free(text);
	json_decref(pack);
	return rc;
}

static const struct cmd trust_cmds[] = {
	{ "snapshot", do_snapshot, "the trust list of the executables under DIR..." },
};

static const struct cmd_level trust_level = {
	.name = "govgate trust",
	.head = "usage: govgate trust snapshot DIR... [--out FILE]\n",
	.cmds = trust_cmds,
	.n = sizeof(trust_cmds) / sizeof(trust_cmds[0]),
};

int gg_cmd_trust(int argc, char **argv)
{
	return cmd_select(&trust_level, argc, argv);
}
