// SPDX-License-Identifier: GPL-2.0
/* govgate: the top-level command table. */
#include <string.h>

#include "cli.h"

static const struct cmd commands[] = {
	{ "run", gg_cmd_run, "attach the gates and drain denials into the audit log" },
	{ "status", gg_cmd_status, "what enforces each gate, the policy and the counters" },
	{ "stop", gg_cmd_stop, "stop the daemon (--unload also detaches the gates)" },
	{ "apply", gg_cmd_apply, "swap in a new policy on a running agent, atomically" },
	{ "reload", gg_cmd_reload, "ask the daemon to re-apply its configuration's packs" },
	{ "unlock", gg_cmd_unlock, "leave locked mode (a signed request)" },
	{ "compile", gg_cmd_compile, "dry run: the map entries a set of refs compiles to" },
	{ "packs", gg_cmd_packs, "browse the governance packs (list, show REF)" },
	{ "pack", gg_cmd_pack, "for publishers: keygen, sign, verify" },
	{ "audit", gg_cmd_audit, "verify or tail the audit log" },
	{ "report", gg_cmd_report, "the compliance report from the audit log" },
	{ "trust", gg_cmd_trust, "trusted executables: snapshot DIR... (a trust list)" },
};

static const struct cmd_level top = {
	.name = "govgate",
	.head = "usage: govgate COMMAND [OPTIONS]   (govgate COMMAND --help for each)\n",
	.tail = "Commands may be abbreviated to an unambiguous prefix.\n"
		"exit status: 0 ok, 1 failure, 2 usage error, 3 not enforcing (status) or\n"
		"not verified: no key for the signatures (audit verify)\n",
	.cmds = commands,
	.n = sizeof(commands) / sizeof(commands[0]),
};

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "--version")) {
		printf("govgate %s\n", GG_VERSION);
		return 0;
	}
	return cmd_select(&top, argc, argv);
}
