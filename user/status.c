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

/* The last line of the apply journal: the last apply, or the last failed
 * one (govgate apply, the daemon's start and reload all write it). */
static json_t *last_apply(const struct gg_config *cfg)
{
	char path[4096], buf[65536], *line;
	json_t *rec = NULL;
	ssize_t n;
	off_t size;
	FILE *f;

	gg_journal_path(cfg, path, sizeof(path));
	f = fopen(path, "re");
	if (!f)
		return NULL;
	if (fseeko(f, 0, SEEK_END) == 0 && (size = ftello(f)) > 0) {
		off_t from = size > (off_t)sizeof(buf) - 1 ? size - (off_t)sizeof(buf) + 1 : 0;

		fseeko(f, from, SEEK_SET);
		n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n > 0 ? n : 0] = '\0';
		while (n > 0 && buf[n - 1] == '\n')
			buf[--n] = '\0';
		line = strrchr(buf, '\n');
		line = line ? line + 1 : buf;
		rec = json_loads(line, 0, NULL);
	}
	fclose(f);
	return rec;
}

/* "cgroup:/sys/fs/cgroup/x" from a cgroup ref, or its id if it is gone. */
static void cgroup_desc(const struct gg_cgroup_ref *ref, char *buf, size_t len)
{
	char path[4096];

	if (gg_cgroup_path(ref->id, path, sizeof(path)) == 0)
		snprintf(buf, len, "%s", path);
	else
		snprintf(buf, len, "(cgroup id %llu, no longer present)",
			 (unsigned long long)ref->id);
}

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
	json_t *out = NULL, *gates, *packs, *exempt, *last = NULL;
	char desc[4200];
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
		if (gg_gate_limits(g, state[g].mech))
			json_object_set_new(gj, "limits",
					    json_string(gg_gate_limits(g, state[g].mech)));
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
	if (settings.scope_mode == GG_SCOPE_CGROUP) {
		cgroup_desc(&settings.scope, desc, sizeof(desc));
		json_object_set_new(out, "scope_cgroup", json_string(desc));
	}
	exempt = json_array();
	for (__u32 i = 0; i < settings.n_exempt && i < GG_MAX_EXEMPT; i++) {
		cgroup_desc(&settings.exempt[i], desc, sizeof(desc));
		json_array_append_new(exempt, json_string(desc));
	}
	json_object_set_new(out, "exempt_cgroups", exempt);
	last = last_apply(&cfg);
	json_object_set_new(out, "last_apply", last ? json_incref(last) : json_null());
	json_object_set_new(out, "generation", json_integer(pst.generation));
	json_object_set_new(out, "exec_digests", json_integer(pst.n_digests));
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
		if (settings.scope_mode == GG_SCOPE_CGROUP)
			printf("scope:       cgroup %s\n",
			       json_string_value(json_object_get(out, "scope_cgroup")));
		else
			printf("scope:       global\n");
		for (size_t i = 0; i < json_array_size(exempt); i++)
			printf("exempt:      %s\n", json_string_value(json_array_get(exempt, i)));
		printf("generation:  %llu\n", (unsigned long long)pst.generation);
		printf("digests:     %lld in force (cmd.exec content identity)\n", pst.n_digests);
		printf("packs:       platform-floor (always)");
		for (size_t i = 0; i < n_refs; i++)
			printf(", %s [%s]", refs[i].ref,
			       refs[i].mode == GG_ACT_OBSERVE ? "observe" : "enforce");
		if (last) {
			bool ok = !strcmp(json_string_value(json_object_get(last, "event")) ?: "",
					  "policy_applied");

			printf("\nlast apply:  %s %s, by %s", ok ? "ok" : "FAILED",
			       json_string_value(json_object_get(last, "ts")) ?: "(no time)",
			       json_string_value(json_object_get(last, "who")) ?: "?");
			if (ok)
				printf(", generation %lld",
				       json_integer_value(json_object_get(last, "generation")));
			else
				printf(": %s", json_string_value(json_object_get(last, "error")) ?: "");
		}
		printf("\n\n%-14s %-12s %10s %10s %10s %10s\n", "GATE", "MECHANISM", "ALLOWED",
		       "DENIED", "OBSERVED", "DROPPED");
		for (int g = 0; g < GG_GATE_COUNT; g++)
			printf("%-14s %-12s %10llu %10llu %10llu %10llu\n", gg_gate_name(g),
			       gg_mech_name(state[g].mech),
			       (unsigned long long)counters[g][GG_CNT_ALLOWED],
			       (unsigned long long)counters[g][GG_CNT_DENIED],
			       (unsigned long long)counters[g][GG_CNT_OBSERVED],
			       (unsigned long long)counters[g][GG_CNT_DROPPED]);
		for (int g = 0; g < GG_GATE_COUNT; g++)
			if (gg_gate_limits(g, state[g].mech))
				printf("limit: %s: %s\n", gg_gate_name(g),
				       gg_gate_limits(g, state[g].mech));
	}
	code = enforcing ? 0 : 3;
	json_decref(out);
	json_decref(last);
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
