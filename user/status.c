// SPDX-License-Identifier: GPL-2.0
/* What `govgate status` reports: gathered from the pins, the state
 * directory and the daemon's lock into one JSON document. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "apply.h"
#include "control.h"
#include "daemon.h"
#include "lost.h"
#include "policy.h"
#include "status.h"

static const char *const counter_names[GG_CNT_COUNT] = { "allowed", "denied", "observed",
							  "dropped" };

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

static json_t *gates_json(const struct gg_config *cfg, const struct gg_gate_state *state)
{
	__u64 counters[GG_GATE_COUNT][GG_CNT_COUNT] = {};
	json_t *gates = json_object();
	struct gg_err err;

	gg_counters_read(cfg->pin_dir, counters, &err);
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
	return gates;
}

static json_t *packs_json(const struct gg_config *cfg)
{
	struct gg_pack_ref *refs = NULL;
	json_t *packs = json_array();
	size_t n_refs = 0;
	struct gg_err err;

	gg_applied_load(cfg, &refs, &n_refs, &err);
	for (size_t i = 0; i < n_refs; i++)
		json_array_append_new(packs, json_pack("{s:s, s:s}", "ref", refs[i].ref, "mode",
						       refs[i].mode == GG_ACT_OBSERVE ? "observe"
										      : "enforce"));
	gg_pack_refs_free(refs, n_refs);
	return packs;
}

/* The settings map's scope and exemptions, into out. */
static void scope_json(const struct gg_settings *settings, json_t *out)
{
	json_t *exempt = json_array();
	char desc[4200];

	json_object_set_new(out, "scope", json_string(settings->scope_mode == GG_SCOPE_CGROUP
							      ? "cgroup"
							      : "global"));
	if (settings->scope_mode == GG_SCOPE_CGROUP) {
		cgroup_desc(&settings->scope, desc, sizeof(desc));
		json_object_set_new(out, "scope_cgroup", json_string(desc));
	}
	for (__u32 i = 0; i < settings->n_exempt && i < GG_MAX_EXEMPT; i++) {
		cgroup_desc(&settings->exempt[i], desc, sizeof(desc));
		json_array_append_new(exempt, json_string(desc));
	}
	json_object_set_new(out, "exempt_cgroups", exempt);
}

/* Signed requests (user/control.h): the keys that may sign them, the
 * last counter accepted (the pinned lock_state, else the state file), the
 * socket they go to. */
static void requests_json(const struct gg_config *cfg, json_t *out)
{
	unsigned long long last = gg_counter_load(cfg->state_dir);
	struct gg_lock_state ls = {};
	char path[108];
	__u32 zero = 0;
	int fd;

	fd = gg_pinned_fd_ro(cfg->pin_dir, GG_MAP_LOCK_STATE, NULL);
	if (fd >= 0 && !bpf_map_lookup_elem(fd, &zero, &ls) && ls.last_counter > last)
		last = ls.last_counter;
	if (fd >= 0)
		close(fd);
	gg_control_path(cfg->pin_dir, path, sizeof(path));
	json_object_set_new(out, "trust_dir", json_string(cfg->trust_dir));
	json_object_set_new(out, "trusted_keys", gg_trusted_keys(cfg->trust_dir));
	json_object_set_new(out, "last_counter", json_integer(last));
	json_object_set_new(out, "control_socket", json_string(path));
}

/*
 * Locked mode: on when the settings say so and the guard is pinned (BPF
 * LSM). "tamper_protections" says what holds on this path either way.
 */
static void locked_json(const struct gg_config *cfg, const struct gg_settings *settings,
			json_t *out)
{
	struct gg_gate_state guard;
	bool lsm = gg_guard_attached(cfg->pin_dir, &guard);
	bool locked = settings->locked && lsm;
	const char *holds;

	if (locked)
		holds = "bpf program load/attach, link detach/update, writable fds to every "
			"govgate map (policy changes are signed requests to the daemon), "
			"unlink/rename/umount of the pins, writes to the trusted keys, the "
			"config, the state directory, the binary and its libraries, renames of "
			"their directories, code not govgate's in the daemon, mounts, umounts "
			"and disk writes by governed tasks, ptrace and signals to the daemon, "
			"cgroup moves of governed tasks: refused to all but init, the daemon and "
			"its successor (init's `govgate run` in its cgroup); not protected: "
			"requests through init (systemctl), the disk seen from outside the guest";
	else if (lsm)
		holds = "unlocked: a root task can switch govgate off (settings map, links, pins); "
			"the daemon's held links survive rm of the pins while it runs";
	else
		holds = "no BPF LSM: no guard; the daemon's held links survive rm of the pins "
			"while it runs; nothing else is protected";
	json_object_set_new(out, "locked", json_boolean(locked));
	json_object_set_new(out, "tamper_protections", json_string(holds));
	json_object_set_new(out, "evidence_protections",
			    json_string(gg_evidence_limits(locked, lsm, cfg->audit_key_per_boot)));
	requests_json(cfg, out);
}

/* The audit signing key: "file", or "per-boot" with this boot's public
 * keys as the daemon published them (<state_dir>/audit-keys.json), the
 * anchors to collect from outside the guest (docs/audit.md). */
static void keys_json(const struct gg_config *cfg, json_t *out)
{
	char path[4096], boot[64] = "";
	json_t *doc, *keys = NULL;

	json_object_set_new(out, "audit_signing_key",
			    json_string(cfg->audit_key_per_boot ? "per-boot" : "file"));
	if (!cfg->audit_key_per_boot)
		return;
	gg_boot_id(boot, sizeof(boot));
	snprintf(path, sizeof(path), "%s/audit-keys.json", cfg->state_dir);
	doc = json_load_file(path, 0, NULL);
	if (!strcmp(gg_json_str(doc, "boot_id", ""), boot))
		keys = json_incref(json_object_get(doc, "keys"));
	json_decref(doc);
	json_object_set_new(out, "audit_keys", keys ? keys : json_array());
}

/* What holds for the evidence on this path (docs/architecture.md,
 * threat model); the daemon says the same at start (evidence_limits). */
const char *gg_evidence_limits(bool locked, bool lsm, bool per_boot)
{
	if (locked && per_boot)
		return "records missing for any reason are counted lost against the kernel's "
		       "counters (guarded); the per-boot signing key is in kernel memory, no "
		       "task but the daemon gets an fd to it, no disk holds it";
	if (locked)
		return "records missing for any reason are counted lost against the kernel's "
		       "counters (guarded); the signing key file is opened by the daemon alone, "
		       "but the raw disk holds it";
	if (lsm)
		return "unlocked: root can read the signing key (file or per-boot map), write "
		       "the counters map and move the ring's consumer: losses are counted, but "
		       "the log can be rewritten and re-signed";
	return "no BPF LSM: no guard: root can read the signing key, write the counters "
	       "map and move the ring's consumer: losses are counted, but the log can be "
	       "rewritten and re-signed; a per-boot key lives in the daemon's memory only";
}

/*
 * Evidence the daemon reconciled (lost.h): per gate, the records the gates
 * wrote that it never received, as its last saved state says (each is in
 * an events_lost record of reason "unreceived").
 */
static void evidence_json(const struct gg_config *cfg, json_t *out)
{
	struct gg_dstate st;
	struct gg_err err;
	json_t *unr = json_object();

	gg_dstate_load(cfg->state_dir, &st, &err);
	for (int g = 0; g < GG_GATE_COUNT; g++)
		json_object_set_new(unr, gg_gate_name(g), json_integer(st.unreceived[g]));
	json_object_set_new(out, "unreceived", unr);
	json_object_set_new(out, "reconciled", json_boolean(st.have_accounted));
	keys_json(cfg, out);
}

/* The allowlists in force and the addresses learned for them. */
static json_t *allowlist_json(const struct gg_policy_status *pst)
{
	struct timespec now;
	json_t *next = json_null();

	if (pst->learned_next_ns) {
		clock_gettime(CLOCK_BOOTTIME, &now);
		next = json_real((pst->learned_next_ns - ((__u64)now.tv_sec * 1000000000ULL +
							  now.tv_nsec)) / 1e9);
	}
	return json_pack("{s:i, s:i, s:I, s:I, s:I, s:o}", "lists", pst->allow_lists, "observe",
			 pst->allow_observe, "cidr_nodes", (json_int_t)pst->allow_nodes,
			 "learned", (json_int_t)pst->learned, "learned_expired",
			 (json_int_t)pst->learned_expired, "next_expiry_s", next);
}

/* The generic egress rules' range arrays in force (bpftool map dump id). */
static json_t *ranges_json(const struct gg_policy_status *pst)
{
	json_t *out = json_object();

	for (int i = 0; i < 2; i++)
		json_object_set_new(out, i ? "v6" : "v4",
				    pst->egress_ranges[i].map_id
					    ? json_pack("{s:I, s:I}", "map_id",
							(json_int_t)pst->egress_ranges[i].map_id,
							"ranges",
							(json_int_t)pst->egress_ranges[i].ranges)
					    : json_null());
	return out;
}

json_t *gg_status_gather(const struct gg_config *cfg, bool *enforcing)
{
	struct gg_gate_state state[GG_GATE_COUNT];
	struct gg_policy_status pst = {};
	struct gg_settings settings = {};
	json_t *out = json_object(), *last;
	struct gg_err err;
	__u32 zero = 0;
	int fd;

	fd = gg_pinned_fd_ro(cfg->pin_dir, GG_MAP_SETTINGS, &err);
	if (fd >= 0) {
		bpf_map_lookup_elem(fd, &zero, &settings);
		close(fd);
	}
	gg_policy_read(cfg->pin_dir, &pst, &err);
	gg_gates_inspect(cfg->pin_dir, state);
	*enforcing = settings.enabled && state[GG_GATE_EXEC].mech != GG_MECH_NONE &&
		     state[GG_GATE_EGRESS].mech != GG_MECH_NONE;
	json_object_set_new(out, "enforcing", json_boolean(*enforcing));
	json_object_set_new(out, "daemon_pid", json_integer(gg_daemon_pid(cfg->pin_dir)));
	json_object_set_new(out, "pin_dir", json_string(cfg->pin_dir));
	scope_json(&settings, out);
	locked_json(cfg, &settings, out);
	last = last_apply(cfg);
	json_object_set_new(out, "last_apply", last ? last : json_null());
	json_object_set_new(out, "generation", json_integer(pst.generation));
	json_object_set_new(out, "exec_digests", json_integer(pst.n_digests));
	json_object_set_new(out, "exec_trusted", json_integer(pst.n_trusted));
	json_object_set_new(out, "egress_ranges", ranges_json(&pst));
	json_object_set_new(out, "egress_allowlist", allowlist_json(&pst));
	json_object_set_new(out, "packs", packs_json(cfg));
	json_object_set_new(out, "gates", gates_json(cfg, state));
	evidence_json(cfg, out);
	return out;
}
