// SPDX-License-Identifier: GPL-2.0
/* govgate status and govgate stop. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "daemon.h"
#include "status.h"

static const char status_usage[] =
	"usage: govgate status [--json] [--pin-dir DIR] [--state-dir DIR] [--config FILE]\n"
	"Prints, per gate, what enforces it (lsm, fallback or unavailable), the scope,\n"
	"the policy generation, the applied packs and the counters.\n"
	"Exit status: 0 enforcing, 3 not enforcing (cmd.exec or net.egress detached\n"
	"or disabled), 1 error.\n";

static void print_last_apply(const json_t *last)
{
	bool ok = !strcmp(gg_json_str(last, "event", ""), "policy_applied");

	printf("\nlast apply:  %s %s, by %s", ok ? "ok" : "FAILED",
	       gg_json_str(last, "ts", "(no time)"), gg_json_str(last, "who", "?"));
	if (ok)
		printf(", generation %lld", gg_json_int(last, "generation"));
	else
		printf(": %s", gg_json_str(last, "error", ""));
}

static void print_gates(const json_t *gates)
{
	const char *name;
	json_t *g;

	printf("\n\n%-14s %-12s %10s %10s %10s %10s\n", "GATE", "MECHANISM", "ALLOWED", "DENIED",
	       "OBSERVED", "DROPPED");
	json_object_foreach((json_t *)gates, name, g) {
		json_t *c = json_object_get(g, "counters");

		printf("%-14s %-12s %10lld %10lld %10lld %10lld\n", name,
		       gg_json_str(g, "mechanism", NULL), gg_json_int(c, "allowed"),
		       gg_json_int(c, "denied"), gg_json_int(c, "observed"),
		       gg_json_int(c, "dropped"));
	}
	json_object_foreach((json_t *)gates, name, g)
		if (json_object_get(g, "limits"))
			printf("limit: %s: %s\n", name, gg_json_str(g, "limits", NULL));
}

/* Records the gates wrote that the daemon never received (events_lost,
 * reason "unreceived"). */
static void print_unreceived(const json_t *st)
{
	const char *name;
	json_t *v;
	bool first = true;

	if (!json_is_true(json_object_get(st, "reconciled")))
		return;
	printf("\nunreceived:  ");
	json_object_foreach(json_object_get(st, "unreceived"), name, v) {
		printf("%s%s %lld", first ? "" : ", ", name, (long long)json_integer_value(v));
		first = false;
	}
	printf(" (records lost, counted against the kernel's counters)");
}

/* This boot's per-boot audit keys: the anchors to collect. */
static void print_audit_keys(const json_t *st)
{
	size_t i;
	json_t *k;

	json_array_foreach(json_object_get(st, "audit_keys"), i, k)
		printf("\naudit key:   ed25519 %s (per-boot, seq %lld)",
		       gg_json_str(k, "public_key", ""), gg_json_int(k, "seq"));
}

/* "allowlists:  1 in force (0 observe), 4 CIDR nodes; learned: 2
 * addresses, next expiry in 30.0 s" */
static void print_allowlist(json_t *a)
{
	long long lists = gg_json_int(a, "lists"), learned = gg_json_int(a, "learned");
	json_t *next = json_object_get(a, "next_expiry_s");

	if (!a || lists < 0)
		return;
	if (!lists)
		printf("allowlists:  none (egress is not default-deny)");
	else
		printf("allowlists:  %lld in force (%lld observe), %lld CIDR nodes", lists,
		       gg_json_int(a, "observe"), gg_json_int(a, "cidr_nodes"));
	if (learned >= 0) {
		printf("; learned: %lld addresses (%lld expired)", learned,
		       gg_json_int(a, "learned_expired"));
		if (json_is_number(next))
			printf(", next expiry in %.1f s", json_number_value(next));
	}
	printf("\n");
}

/* The generic egress rules' arrays: what `bpftool map dump id` takes. */
static void print_ranges(const json_t *r)
{
	printf("ranges:      ");
	for (int i = 0; i < 2; i++) {
		const json_t *f = json_object_get(r, i ? "v6" : "v4");

		printf("%sIPv%d ", i ? ", " : "", i ? 6 : 4);
		if (json_is_object(f) && gg_json_int(f, "ranges") >= 0)
			printf("%lld (map id %lld)", gg_json_int(f, "ranges"), gg_json_int(f, "map_id"));
		else if (json_is_object(f))
			printf("unknown (map id %lld: not readable)", gg_json_int(f, "map_id"));
		else
			printf("none");
	}
	printf(" (egress rules of every process)\n");
}

static void print_status_text(const json_t *st)
{
	long long pid = gg_json_int(st, "daemon_pid");
	size_t i;
	json_t *v;

	printf("enforcing:   %s\n", json_is_true(json_object_get(st, "enforcing")) ? "yes" : "NO");
	printf("daemon:      %s", pid ? "running" : "not running");
	if (pid)
		printf(" (pid %lld)", pid);
	printf("\npin dir:     %s\n", gg_json_str(st, "pin_dir", NULL));
	if (!strcmp(gg_json_str(st, "scope", NULL), "cgroup"))
		printf("scope:       cgroup %s\n", gg_json_str(st, "scope_cgroup", NULL));
	else
		printf("scope:       global\n");
	json_array_foreach(json_object_get(st, "exempt_cgroups"), i, v)
		printf("exempt:      %s\n", json_string_value(v));
	printf("locked:      %s\n", json_is_true(json_object_get(st, "locked")) ? "yes" : "no");
	printf("tamper:      %s\n", gg_json_str(st, "tamper_protections", ""));
	printf("evidence:    %s\n", gg_json_str(st, "evidence_protections", ""));
	printf("signers:     ");
	json_array_foreach(json_object_get(st, "trusted_keys"), i, v)
		printf("%s%s (sha256:%.16s...)", i ? ", " : "", gg_json_str(v, "file", ""),
		       gg_json_str(v, "key_sha256", ""));
	if (!json_array_size(json_object_get(st, "trusted_keys")))
		printf("none in %s", gg_json_str(st, "trust_dir", "?"));
	printf("\nlast counter: %lld (signed requests: %s)\n", gg_json_int(st, "last_counter"),
	       gg_json_str(st, "control_socket", ""));
	printf("generation:  %lld\n", gg_json_int(st, "generation"));
	printf("digests:     %lld in force (cmd.exec content identity)\n", gg_json_int(st, "exec_digests"));
	printf("trusted:     %lld digests on the trust lists in force\n", gg_json_int(st, "exec_trusted"));
	print_ranges(json_object_get(st, "egress_ranges"));
	print_allowlist(json_object_get(st, "egress_allowlist"));
	printf("packs:       platform-floor (always)");
	json_array_foreach(json_object_get(st, "packs"), i, v)
		printf(", %s [%s]", gg_json_str(v, "ref", NULL), gg_json_str(v, "mode", NULL));
	print_unreceived(st);
	print_audit_keys(st);
	if (json_is_object(json_object_get(st, "last_apply")))
		print_last_apply(json_object_get(st, "last_apply"));
	print_gates(json_object_get(st, "gates"));
}

int gg_cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_OPT_JSON, CLI_OPT_PIN_DIR, CLI_OPT_STATE_DIR, CLI_OPT_CONFIG, CLI_OPT_HELP,
		{},
	};
	struct cli_opts o = { .cmd = "status" };
	struct gg_config cfg = {};
	bool enforcing;
	json_t *st;
	int opt, rc;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1)
		if ((rc = cli_common_opt(&o, opt, optarg, status_usage)) != CLI_CONTINUE)
			return rc;
	if (optind != argc)
		return cli_usage_error(&o, status_usage, "unexpected argument \"%s\"", argv[optind]);
	if (cli_config(&o, &cfg))
		return 1;
	st = gg_status_gather(&cfg, &enforcing);
	if (o.json)
		cli_json(st);
	else
		print_status_text(st);
	json_decref(st);
	gg_config_free(&cfg);
	return enforcing ? 0 : 3;
}

static const char stop_usage[] =
	"usage: govgate stop [--unload] [--sign-key KEY [--expires SECS] [--counter N]]\n"
	"                    [--pin-dir DIR] [--config FILE]\n"
	"Stops the daemon (a request over its control socket). Its pinned gates keep\n"
	"enforcing unless --unload is given, which also detaches every gate and\n"
	"removes the pins. In locked mode the request must be signed (--sign-key,\n"
	"see govgate apply --help); `systemctl stop govgate` stops it too.\n";

/* Asks the daemon to stop (and unload), and waits until it is gone: 0,
 * 1 when it has no control socket, -1 failed (said). */
static int stop_by_request(const struct cli_opts *o, const struct gg_config *cfg, bool unload,
			   const struct cli_sign *s)
{
	json_t *reply = NULL;
	int ret;

	ret = cli_request(o, cfg, unload ? "unload" : "stop", json_object(), s, &reply);
	json_decref(reply);
	if (ret || s->save)
		return ret;
	for (int i = 0; i < 200 && gg_daemon_pid(cfg->pin_dir); i++)
		usleep(50000);
	if (gg_daemon_pid(cfg->pin_dir)) {
		cli_error(o, "the daemon accepted the request but did not stop within 10 s");
		return -1;
	}
	if (unload)
		fprintf(stderr, "govgate: gates detached, %s removed\n", cfg->pin_dir);
	return 0;
}

int gg_cmd_stop(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "unload", no_argument, NULL, 'u' },
		CLI_OPT_PIN_DIR, CLI_OPT_CONFIG, CLI_OPT_HELP, CLI_OPT_SIGN,
		{},
	};
	struct cli_opts o = { .cmd = "stop" };
	struct cli_sign sign = {};
	struct gg_config cfg = {};
	bool unload = false;
	struct gg_err err;
	int opt, ret, code = 0;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		int rc = cli_sign_opt(&sign, opt, optarg);

		if (rc == -EINVAL)
			return cli_usage_error(&o, stop_usage, "bad --expires or --counter");
		if (!rc)
			continue;
		if (opt == 'u')
			unload = true;
		else if ((code = cli_common_opt(&o, opt, optarg, stop_usage)) != CLI_CONTINUE)
			return code;
	}
	if (optind != argc)
		return cli_usage_error(&o, stop_usage, "unexpected argument \"%s\"", argv[optind]);
	if (cli_config(&o, &cfg))
		return 1;
	code = gg_daemon_pid(cfg.pin_dir) ? stop_by_request(&o, &cfg, unload, &sign) : 1;
	if (code != 1) {
		gg_config_free(&cfg);
		return code ? 1 : 0;
	}
	code = 0;
	if (unload && gg_refuse_if_locked(cfg.pin_dir, "stop --unload", &err)) {
		cli_error(&o, "%s", err.msg);
		code = 1;
	} else if (gg_daemon_kill(cfg.pin_dir, &err)) {
		cli_error(&o, "%s", err.msg);
		code = 1;
	} else if (unload && (ret = gg_gates_unload(cfg.pin_dir, &err))) {
		cli_error(&o, "%s%s", err.msg, ret == -EPERM ? " (locked mode: start the "
			  "daemon and send it a signed `govgate stop --unload --sign-key KEY`)" : "");
		code = 1;
	} else if (unload) {
		fprintf(stderr, "govgate: gates detached, %s removed\n", cfg.pin_dir);
	}
	gg_config_free(&cfg);
	return code;
}
