// SPDX-License-Identifier: GPL-2.0
/* govgate status and govgate stop. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "apply.h"
#include "cli.h"
#include "policy.h"

static const char *const counter_names[GG_CNT_COUNT] = { "allowed", "denied", "observed",
							  "dropped" };

static const char status_usage[] =
	"usage: govgate status [--json] [--pin-dir DIR] [--state-dir DIR] [--config FILE]\n"
	"Prints, per gate, what enforces it (lsm, fallback or unavailable), the scope,\n"
	"the policy generation, the applied packs and the counters.\n"
	"Exit status: 0 enforcing, 3 not enforcing (cmd.exec or net.egress detached\n"
	"or disabled), 1 error.\n";

int gg_cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *pin_dir = NULL, *state_dir = NULL, *config = NULL;
	struct gg_gate_state state[GG_GATE_COUNT];
	__u64 counters[GG_GATE_COUNT][GG_CNT_COUNT] = {};
	struct gg_policy_status pst = {};
	struct gg_settings settings = {};
	struct gg_pack_ref *refs = NULL;
	struct gg_config cfg = {};
	size_t n_refs = 0;
	bool json = false, enforcing;
	struct gg_err err;
	json_t *out = NULL, *gates, *packs;
	int opt, fd, code = 1;
	__u32 zero = 0;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'j': json = true; break;
		case 'p': pin_dir = optarg; break;
		case 'S': state_dir = optarg; break;
		case 'c': config = optarg; break;
		case 'h': fputs(status_usage, stdout); return 0;
		default: fputs(status_usage, stderr); return 2;
		}
	}
	if (gg_config_load(config, &cfg, &err)) {
		fprintf(stderr, "govgate status: %s\n", err.msg);
		return 1;
	}
	if (pin_dir) {
		free(cfg.pin_dir);
		cfg.pin_dir = strdup(pin_dir);
	}
	if (state_dir) {
		free(cfg.state_dir);
		cfg.state_dir = strdup(state_dir);
	}
	gg_gates_inspect(cfg.pin_dir, state);
	fd = gg_pinned_fd(cfg.pin_dir, "settings", &err);
	if (fd >= 0) {
		bpf_map_lookup_elem(fd, &zero, &settings);
		close(fd);
	}
	gg_policy_read(cfg.pin_dir, &pst, &err);
	gg_counters_read(cfg.pin_dir, counters, &err);
	gg_applied_load(&cfg, &refs, &n_refs, &err);
	enforcing = settings.enabled && state[GG_GATE_EXEC].mech != GG_MECH_NONE &&
		    state[GG_GATE_EGRESS].mech != GG_MECH_NONE;

	out = json_object();
	gates = json_object();
	for (int g = 0; g < GG_GATE_COUNT; g++) {
		json_t *gj = json_object(), *cj = json_object();

		for (int k = 0; k < GG_CNT_COUNT; k++)
			json_object_set_new(cj, counter_names[k], json_integer(counters[g][k]));
		json_object_set_new(gj, "mechanism", json_string(gg_mech_name(state[g].mech)));
		json_object_set_new(gj, "counters", cj);
		json_object_set_new(gates, gg_gate_name(g), gj);
	}
	packs = json_array();
	for (size_t i = 0; i < n_refs; i++)
		json_array_append_new(packs, json_pack("{s:s, s:s}", "ref", refs[i].ref, "mode",
						       refs[i].mode == GG_ACT_OBSERVE ? "observe"
										      : "enforce"));
	json_object_set_new(out, "enforcing", json_boolean(enforcing));
	json_object_set_new(out, "daemon_pid", json_integer(gg_daemon_pid(cfg.pin_dir)));
	json_object_set_new(out, "pin_dir", json_string(cfg.pin_dir));
	json_object_set_new(out, "scope", json_string(settings.scope_mode == GG_SCOPE_CGROUP
							      ? "cgroup"
							      : "global"));
	json_object_set_new(out, "exempt_cgroups", json_integer(settings.n_exempt));
	json_object_set_new(out, "generation", json_integer(pst.generation));
	json_object_set_new(out, "packs", packs);
	json_object_set_new(out, "gates", gates);

	if (json) {
		json_dumpf(out, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		printf("enforcing:   %s\n", enforcing ? "yes" : "NO");
		printf("daemon:      %s", gg_daemon_pid(cfg.pin_dir) ? "running" : "not running");
		if (gg_daemon_pid(cfg.pin_dir))
			printf(" (pid %d)", gg_daemon_pid(cfg.pin_dir));
		printf("\npin dir:     %s\n", cfg.pin_dir);
		printf("scope:       %s\n",
		       settings.scope_mode == GG_SCOPE_CGROUP ? "cgroup" : "global");
		printf("generation:  %llu\n", (unsigned long long)pst.generation);
		printf("packs:       platform-floor (always)");
		for (size_t i = 0; i < n_refs; i++)
			printf(", %s [%s]", refs[i].ref,
			       refs[i].mode == GG_ACT_OBSERVE ? "observe" : "enforce");
		printf("\n\n%-14s %-12s %10s %10s %10s %10s\n", "GATE", "MECHANISM", "ALLOWED",
		       "DENIED", "OBSERVED", "DROPPED");
		for (int g = 0; g < GG_GATE_COUNT; g++)
			printf("%-14s %-12s %10llu %10llu %10llu %10llu\n", gg_gate_name(g),
			       gg_mech_name(state[g].mech),
			       (unsigned long long)counters[g][GG_CNT_ALLOWED],
			       (unsigned long long)counters[g][GG_CNT_DENIED],
			       (unsigned long long)counters[g][GG_CNT_OBSERVED],
			       (unsigned long long)counters[g][GG_CNT_DROPPED]);
	}
	code = enforcing ? 0 : 3;
	json_decref(out);
	gg_pack_refs_free(refs, n_refs);
	gg_config_free(&cfg);
	return code;
}

static const char stop_usage[] =
	"usage: govgate stop [--unload] [--pin-dir DIR] [--config FILE]\n"
	"Stops the daemon (SIGTERM). Its pinned gates keep enforcing unless\n"
	"--unload is given, which also detaches every gate and removes the pins.\n";

int gg_cmd_stop(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "unload", no_argument, NULL, 'u' },
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *pin_dir = NULL, *config = NULL;
	struct gg_config cfg = {};
	bool unload = false;
	struct gg_err err;
	int opt, pid, code = 0;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'u': unload = true; break;
		case 'p': pin_dir = optarg; break;
		case 'c': config = optarg; break;
		case 'h': fputs(stop_usage, stdout); return 0;
		default: fputs(stop_usage, stderr); return 2;
		}
	}
	if (gg_config_load(config, &cfg, &err)) {
		fprintf(stderr, "govgate stop: %s\n", err.msg);
		return 1;
	}
	if (pin_dir) {
		free(cfg.pin_dir);
		cfg.pin_dir = strdup(pin_dir);
	}
	pid = gg_daemon_pid(cfg.pin_dir);
	if (pid > 0) {
		kill(pid, SIGTERM);
		for (int i = 0; i < 100 && gg_daemon_pid(cfg.pin_dir); i++)
			usleep(50000);
		if (gg_daemon_pid(cfg.pin_dir)) {
			fprintf(stderr, "govgate stop: daemon (pid %d) did not stop\n", pid);
			code = 1;
		}
	}
	if (unload && !code) {
		if (gg_gates_unload(cfg.pin_dir, &err)) {
			fprintf(stderr, "govgate stop: %s\n", err.msg);
			code = 1;
		} else {
			fprintf(stderr, "govgate: gates detached, %s removed\n", cfg.pin_dir);
		}
	}
	gg_config_free(&cfg);
	return code;
}
