/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The gates' BPF objects: probe, load, attach and pin (one object per gate;
 * they share maps pinned by name under the pin directory).
 */
#ifndef GG_GATES_H
#define GG_GATES_H

#include "common.h"

struct gg_scope {
	enum gg_scope_mode mode;
	char cgroup[4096]; /* absolute cgroup2 directory (cgroup scope) */
	char *exempt[GG_MAX_EXEMPT]; /* cgroup directories (global scope) */
	unsigned n_exempt;
};

struct gg_gate_state {
	enum gg_mech mech; /* what enforces the gate now */
	bool reused; /* found pinned and attached by an earlier run */
	char why[256]; /* why the LSM path was not used, if it was not */
};

/* Attaches every gate under pin_dir, or adopts what an earlier run of the
 * same build pinned; state[gate] says what enforces each gate. A gate with
 * neither mechanism is left unavailable; that is not an error here.
 *
 * When the pinned objects come from another build, the new gates are
 * attached beside the old ones in a staging directory (both enforce, so the
 * union is at least as strict: no gap) and its path is written to stage
 * (else stage is ""). The caller loads policy and settings there, then calls
 * gg_gates_finish_upgrade, which retires the old links and maps and moves
 * the new pins into pin_dir. */
int gg_gates_attach(const char *pin_dir, const struct gg_scope *scope,
		    struct gg_gate_state state[GG_GATE_COUNT], bool verbose, char *stage,
		    size_t stage_len, struct gg_err *err);
int gg_gates_finish_upgrade(const char *pin_dir, const char *stage, struct gg_err *err);

/* The ring buffer size for gates created from now on (bytes, a power of
 * two, at least a page; 0: built-in 4 MiB). A pinned one keeps its size. */
void gg_gates_set_ring_bytes(__u32 bytes);

/* SHA-256 of this binary's embedded BPF objects. */
void gg_build_id(char id[GG_BUILD_ID_LEN]);
/* The build id recorded in dir's meta map by whoever loaded the gates
 * there, or "" if there is none. */
void gg_pinned_build_id(const char *dir, char id[GG_BUILD_ID_LEN]);
/* Gives the pages of the embedded BPF objects back (once gates are loaded). */
void gg_gates_release_objects(void);

/* What a gate cannot see on a mechanism, in one sentence; NULL if nothing
 * beyond docs/architecture.md's general limits. For status and the log. */
const char *gg_gate_limits(enum gg_gate gate, enum gg_mech mech);

/* What is pinned now, from the link names (for status). */
void gg_gates_inspect(const char *pin_dir, struct gg_gate_state state[GG_GATE_COUNT]);

/* What the daemon itself may reach besides loopback (settings.self_egress):
 * the DNS forwarder's upstream, if it runs. */
struct gg_self_egress {
	struct gg_self_dest dest[GG_SELF_EGRESS_MAX];
	__u32 n;
};

/* Writes scope, exemptions, self (and what it may reach) and enabled into
 * the pinned maps; with locked, locked mode too (bpf/guard.bpf.c): the
 * guarded maps' ids, the pin directory and the daemon's cgroup, then
 * settings.locked; observe: the agent-wide mode (settings.observe). */
int gg_gates_configure(const char *pin_dir, const struct gg_scope *scope, __u32 self_tgid,
		       const struct gg_self_egress *self_egress, bool enabled, bool locked,
		       bool observe, struct gg_err *err);

/* Is the locked-mode guard attached (by this process, or pinned)? state
 * says by what (GG_MECH_LSM, or GG_MECH_NONE and why). */
bool gg_guard_attached(const char *pin_dir, struct gg_gate_state *state);

/* Drops the daemon's own exemption (a clean stop): the links keep
 * enforcing, and nothing is exempt by the daemon's pid any more. */
int gg_gates_release_self(const char *pin_dir, struct gg_err *err);

/* Removes every pin (links detach, maps are freed). */
int gg_gates_unload(const char *pin_dir, struct gg_err *err);

/* The cgroup2 mount point, from /proc/mounts. */
int gg_cgroup2_root(char *buf, size_t len, struct gg_err *err);

/* The cgroup2 directory whose id (inode) is id, for display; -ENOENT if it
 * is gone. */
int gg_cgroup_path(__u64 id, char *buf, size_t len);

/* Opens a pinned object: "<pin_dir>/<name>". */
int gg_pinned_fd(const char *pin_dir, const char *name, struct gg_err *err);
/* The same, read-only (BPF_F_RDONLY): what a reader needs, and all it
 * asks for (locked mode refuses the writes a writable fd could make). */
int gg_pinned_fd_ro(const char *pin_dir, const char *name, struct gg_err *err);

/* Did a locked guard mark this process as the daemon's successor (init
 * started it as `govgate run` in the daemon's unit cgroup)? Looked for in
 * every map named "successor", whatever the pin directory: a successor
 * with no lock at its own pin directory was started with another one. */
bool gg_guard_is_successor(void);

#endif
