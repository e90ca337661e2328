// SPDX-License-Identifier: GPL-2.0
/* govgate run: the daemon. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "daemon.h"

static const char run_usage[] =
	"usage: govgate run [--scope global|cgroup:PATH] [--exempt-cgroup PATH]...\n"
	"                   [--mode enforce|observe] [--audit-log FILE] [--pin-dir DIR]\n"
	"                   [--state-dir DIR] [--config FILE] [--unlocked] [-v]\n"
	"Attaches the gates, loads the platform floor and the configured packs, and\n"
	"drains denials into the audit log until SIGTERM; SIGHUP re-reads the config\n"
	"file and applies its packs. Enforcement stays attached\n"
	"after it exits; `govgate stop --unload` removes it.\n"
	"In global scope the daemon runs locked: the kernel refuses every way to\n"
	"switch govgate off to every task but init, the daemon and govgate's binary\n"
	"in its cgroup (BPF LSM only); --unlocked leaves that off, for development.\n";

struct run_args {
	struct cli_opts o;
	const char *scope, *mode, *audit_log, *exempt[GG_MAX_EXEMPT];
	unsigned n_exempt;
	bool verbose, unlocked;
};

static int run_opt(struct run_args *a, int opt, const char *arg)
{
	switch (opt) {
	case 's': a->scope = arg; break;
	case 'm': a->mode = arg; break;
	case 'a': a->audit_log = arg; break;
	case 'v': a->verbose = true; break;
	case 'u': a->unlocked = true; break;
	case 'x':
		if (a->n_exempt == GG_MAX_EXEMPT)
			return cli_usage_error(&a->o, run_usage, "at most %d --exempt-cgroup",
					       GG_MAX_EXEMPT);
		a->exempt[a->n_exempt++] = arg;
		break;
	default:
		return cli_common_opt(&a->o, opt, arg, run_usage);
	}
	return CLI_CONTINUE;
}

/* CLI_CONTINUE when a is complete, else the exit code. */
static int run_parse(struct run_args *a, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "scope", required_argument, NULL, 's' },
		{ "exempt-cgroup", required_argument, NULL, 'x' },
		{ "mode", required_argument, NULL, 'm' },
		{ "audit-log", required_argument, NULL, 'a' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "unlocked", no_argument, NULL, 'u' },
		CLI_OPT_PIN_DIR, CLI_OPT_STATE_DIR, CLI_OPT_CONFIG, CLI_OPT_HELP,
		{},
	};
	int opt, rc;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "vh", opts, NULL)) != -1)
		if ((rc = run_opt(a, opt, optarg)) != CLI_CONTINUE)
			return rc;
	if (optind != argc)
		return cli_usage_error(&a->o, run_usage, "unexpected argument \"%s\"", argv[optind]);
	return CLI_CONTINUE;
}

/* The command line over the configuration file; the exit code on error. */
static int run_config(const struct run_args *a, struct gg_config *cfg)
{
	struct gg_err err;

	if (cli_config(&a->o, cfg))
		return 1;
	if (a->scope && gg_scope_parse(a->scope, &cfg->scope, &err))
		goto fail;
	for (unsigned i = 0; i < a->n_exempt; i++) {
		if (cfg->scope.n_exempt == GG_MAX_EXEMPT) {
			gg_errf(&err, -E2BIG, "at most %d exempt cgroups", GG_MAX_EXEMPT);
			goto fail;
		}
		cfg->scope.exempt[cfg->scope.n_exempt++] = strdup(a->exempt[i]);
	}
	if (a->mode && gg_mode_parse(a->mode, &cfg->mode)) {
		gg_config_free(cfg);
		return cli_usage_error(&a->o, run_usage, "--mode must be enforce or observe");
	}
	if (a->audit_log) {
		free(cfg->audit_path);
		cfg->audit_path = strdup(a->audit_log);
	}
	return 0;
fail:
	cli_error(&a->o, "%s", err.msg);
	gg_config_free(cfg);
	return 1;
}

int gg_cmd_run(int argc, char **argv)
{
	struct run_args a = { .o.cmd = "run" };
	struct gg_daemon *d = NULL;
	struct gg_config cfg = {};
	struct gg_err err;
	int code, ret;

	code = run_parse(&a, argc, argv);
	if (code != CLI_CONTINUE)
		return code;
	gg_daemon_catch_reload();
	code = run_config(&a, &cfg);
	if (code)
		return code;
	ret = gg_daemon_start(&cfg, &(struct gg_daemon_opts){ a.verbose, a.unlocked }, &d, &err);
	if (!ret)
		ret = gg_daemon_loop(d, &err);
	if (ret)
		cli_error(&a.o, "%s", err.msg);
	if (gg_daemon_stop(d, ret ? err.msg : NULL))
		ret = -EIO;
	gg_daemon_free(d);
	gg_config_free(&cfg);
	return ret ? 1 : 0;
}
