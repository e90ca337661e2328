// SPDX-License-Identifier: GPL-2.0
/* govgate report: the compliance report from the audit log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "cli.h"

static const char report_usage[] =
	"usage: govgate report [--start ISO8601] [--end ISO8601]\n"
	"                      [--key PUBKEY | --no-signatures] [--anchor SEQ:HEAD]...\n"
	"                      [--config FILE] [--json] [--allow-unverified] [FILE...]\n"
	"  --start, --end      window [start, end); e.g. 2025-01-01 or\n"
	"                      2025-01-01T12:00:00Z (no zone: UTC)\n"
	"  --key PUBKEY        checkpoint public key (default: the configured\n"
	"                      audit key's .pub)\n"
	"  --no-signatures     no key: report on an intact chain alone (marked\n"
	"                      \"verified\": false, \"signatures_checked\": false)\n"
	"  --anchor SEQ:HEAD   a checkpoint published outside the log (see audit verify)\n"
	"  --allow-unverified  report even if verification fails (marked\n"
	"                      \"verified\": false)\n"
	"FILEs default to the configured log and its rotated files.\n"
	"Exit: 0 report printed, 1 verification failed or no key to check the\n"
	"signatures (refused), 2 usage or I/O.\n";

struct report_args {
	struct cli_opts o;
	struct gg_report_opts ro;
	struct gg_audit_anchor *anchors;
	const char *key_path;
	bool allow;
	char **files;
	size_t n_files;
};

static int report_opt(struct report_args *a, int c, const char *arg)
{
	switch (c) {
	case 's':
	case 'e':
		if (gg_time_parse_us(arg, c == 's' ? &a->ro.start_us : &a->ro.end_us))
			return cli_usage_error(&a->o, report_usage, "bad time \"%s\" (ISO 8601, "
					       "e.g. 2025-01-31 or 2025-01-31T10:00:00Z)", arg);
		*(c == 's' ? &a->ro.has_start : &a->ro.has_end) = true;
		return CLI_CONTINUE;
	case 'k':
		a->key_path = arg;
		return CLI_CONTINUE;
	case 'N':
		a->ro.chain_only = true;
		return CLI_CONTINUE;
	case 'a':
		return cli_anchor_arg(&a->o, arg, &a->anchors, &a->ro.n_anchors) ? 2 : CLI_CONTINUE;
	case 'u':
		a->allow = true;
		return CLI_CONTINUE;
	default:
		return cli_common_opt(&a->o, c, arg, report_usage);
	}
}

/* CLI_CONTINUE when a is complete, else the exit code. */
static int report_parse(struct report_args *a, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "start", required_argument, NULL, 's' },
		{ "end", required_argument, NULL, 'e' },
		{ "key", required_argument, NULL, 'k' },
		{ "no-signatures", no_argument, NULL, 'N' },
		{ "anchor", required_argument, NULL, 'a' },
		{ "allow-unverified", no_argument, NULL, 'u' },
		CLI_OPT_JSON, CLI_OPT_CONFIG, CLI_OPT_HELP,
		{},
	};
	int c, rc;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1)
		if ((rc = report_opt(a, c, optarg)) != CLI_CONTINUE)
			return rc;
	if (a->ro.has_start && a->ro.has_end && a->ro.start_us >= a->ro.end_us)
		return cli_usage_error(&a->o, report_usage, "--start must be before --end");
	if (a->key_path && a->ro.chain_only)
		return cli_usage_error(&a->o, report_usage,
				       "--key and --no-signatures exclude each other");
	a->ro.anchors = a->anchors;
	a->files = argv + optind;
	a->n_files = argc - optind;
	return CLI_CONTINUE;
}

/* A report that may not be trusted is refused unless asked for: 0 to
 * print it, else why not (on stderr) and 1. */
static int report_refused(const struct report_args *a, const json_t *rep, const char *def_pub)
{
	if (!json_is_true(json_object_get(rep, "chain_intact")) && !a->allow) {
		const json_t *p = json_object_get(json_object_get(rep, "verification"), "problem");
		const char *file = gg_json_str(p, "file", NULL);
		const char *kind = gg_json_str(p, "kind", NULL);
		const char *detail = gg_json_str(p, "detail", NULL);

		cli_error(&a->o, "refusing: the audit log failed verification: %s:%lld: %s: %s "
			  "(run `govgate audit verify` for details, or --allow-unverified to "
			  "report anyway)", file ?: "?",
			  gg_json_int(p, "line"), kind ?: "?",
			  detail ?: "");
		return 1;
	}
	/* No key is not a pass: only an explicit --no-signatures (or
	 * --allow-unverified) gets an unsigned report. */
	if (!json_is_true(json_object_get(rep, "signatures_checked")) && !a->ro.chain_only &&
	    !a->allow) {
		cli_error(&a->o, "refusing: no public key to check the checkpoint signatures "
			  "(looked for %s); pass --key PUBKEY, --no-signatures for a report on the "
			  "hash chain alone, or --allow-unverified", def_pub ? def_pub : "?");
		return 1;
	}
	return 0;
}

int gg_cmd_report(int argc, char **argv)
{
	struct report_args a = { .o.cmd = "report" };
	struct cli_audit_src src = {};
	json_t *rep = NULL;
	struct gg_err err;
	int ret;

	ret = report_parse(&a, argc, argv);
	if (ret != CLI_CONTINUE)
		goto cleanup;
	ret = 2;
	if (cli_audit_src_open(&a.o, a.key_path, a.ro.chain_only, a.files, a.n_files, &src,
			       &err))
		goto fail;
	a.ro.pub = src.pub;
	if (gg_report_build(src.files, src.n, &a.ro, &rep, &err))
		goto fail;
	ret = report_refused(&a, rep, src.def_pub);
	if (!ret && a.o.json)
		cli_json(rep);
	else if (!ret)
		gg_report_print(stdout, rep);
	fflush(stdout);
	goto cleanup;
fail:
	cli_error(&a.o, "%s", err.msg);
cleanup:
	cli_audit_src_free(&src);
	json_decref(rep);
	free(a.anchors);
	return ret;
}
