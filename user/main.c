// SPDX-License-Identifier: GPL-2.0
/* govgate: the command table. Exit codes are chosen only by commands. */
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "cli.h"
#include "sign.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "run", gg_cmd_run, "attach the gates and drain denials into the audit log" },
	{ "status", gg_cmd_status, "what enforces each gate, the policy and the counters" },
	{ "stop", gg_cmd_stop, "stop the daemon (--unload also detaches the gates)" },
	{ "apply", gg_cmd_apply, "swap in a new policy on a running agent, atomically" },
	{ "compile", gg_cmd_compile, "dry run: the map entries a set of refs compiles to" },
	{ "packs", gg_cmd_packs, "browse the governance packs (list, show REF)" },
	{ "pack", gg_cmd_pack, "for publishers: keygen, sign, verify" },
	{ "audit", gg_cmd_audit, "verify or tail the audit log" },
	{ "report", gg_cmd_report, "the compliance report from the audit log" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: govgate COMMAND [OPTIONS]   (govgate COMMAND --help for each)\n\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nexit status: 0 ok, 1 failure, 2 usage error, 3 not enforcing (status) or\n"
		   "not verified: no key for the signatures (audit verify)\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("govgate %s\n", GG_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "govgate: unknown command \"%s\" (try: govgate --help)\n", argv[1]);
	return 2;
}
