/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Maps and helpers shared by every gate. Each gate is its own BPF object;
 * they share these maps through pinning by name (libbpf reuses a map that
 * is already pinned under the pin directory), so a restarted daemon and
 * every gate see the same policy.
 */
#ifndef GG_COMMON_BPF_H
#define GG_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#include "govgate_abi.h"

#define EPERM 1
#define AF_INET 2
#define AF_INET6 10
#define SIGKILL 9

#define READ_ONCE(x) (*(const volatile typeof(x) *)&(x))
#define FMODE_WRITE 0x2
#define GG_O_TRUNC 01000 /* <fcntl.h> */
#define FUSE_SUPER_MAGIC 0x65735546

/*
 * A file whose content the kernel cannot hold still: a FUSE server answers
 * every read, and every attribute (ctime included), as it likes, and can
 * drop the page cache (FUSE_NOTIFY_INVAL_INODE) between the hash and the
 * pages mapped. Since 6.x an unprivileged user namespace mounts one.
 * virtiofs shares the magic but its server is the VMM, trusted like the
 * disk. Such a file is never cached, nor trusted by a trust list.
 */
static __always_inline bool gg_content_unpinned(struct inode *inode)
{
	struct super_block *sb = BPF_CORE_READ(inode, i_sb);
	char name[8] = {};

	if (BPF_CORE_READ(sb, s_magic) != FUSE_SUPER_MAGIC)
		return false;
	bpf_probe_read_kernel_str(name, sizeof(name), BPF_CORE_READ(sb, s_type, name));
	return name[0] == 'f' && name[1] == 'u' && name[2] == 's' && name[3] == 'e';
}

/* The digest caches' key of an inode (exec_hash, egress_exe), false for
 * no inode. */
static __always_inline bool gg_inode_id(struct inode *inode, struct gg_exec_hash_key *k)
{
	if (!inode)
		return false;
	k->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	k->ino = BPF_CORE_READ(inode, i_ino);
	return true;
}

/* Is the file open for writing anywhere (a writable fd or shared mapping)?
 * Its content can change under a digest taken now. */
static __always_inline bool gg_inode_has_writers(struct inode *inode)
{
	return BPF_CORE_READ(inode, i_writecount.counter) > 0;
}

char LICENSE[] SEC("license") = "GPL";

/* A map or program is pinned under its C name: that name must be the one
 * user space opens (include/govgate_abi.h). Taking the address also fails
 * the build if the identifier is gone. */
#define GG_ASSERT_PINNED(ident, name)                                    \
	_Static_assert(sizeof(&(ident)) && GG_NAME_IS(ident, name), \
		       #ident " is pinned as \"" #ident "\", user space opens " name)

/* The ring buffer's size must be a power of two (and of the page size). */
#define GG_EVENTS_BYTES (4 << 20)
_Static_assert(GG_IS_POW2(GG_EVENTS_BYTES), "ring buffer size must be a power of two");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gg_settings);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} settings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gg_policy_state);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} policy_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gg_meta);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} meta SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GG_GATE_COUNT * GG_CNT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, GG_EVENTS_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} events SEC(".maps");

GG_ASSERT_PINNED(settings, GG_MAP_SETTINGS);
GG_ASSERT_PINNED(policy_state, GG_MAP_POLICY_STATE);
GG_ASSERT_PINNED(meta, GG_MAP_META);
GG_ASSERT_PINNED(counters, GG_MAP_COUNTERS);
GG_ASSERT_PINNED(events, GG_MAP_EVENTS);

static __always_inline void gg_count(__u32 gate, __u32 kind)
{
	__u32 idx = gate * GG_CNT_COUNT + kind;
	__u64 *c = bpf_map_lookup_elem(&counters, &idx);

	/* Per-CPU, but a sleepable exec hook can be preempted mid-update. */
	if (c)
		__sync_fetch_and_add(c, 1);
}

static __always_inline struct gg_settings *gg_settings(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&settings, &zero);
}

static __always_inline bool gg_in_cgroup(const struct gg_cgroup_ref *cg)
{
	return bpf_get_current_ancestor_cgroup_id(cg->level) == cg->id;
}

/* USER_HZ on x86: /proc/PID/stat reports start times in these ticks. */
#define GG_NSEC_PER_USER_TICK (1000000000ULL / 100)

/* Is the current task the running daemon: its pid and its start time, so a
 * process that later gets a dead daemon's pid is not exempt. */
static __always_inline bool gg_task_is_self(const struct gg_settings *s)
{
	struct task_struct *task;
	__u64 start;

	if (!s->self_tgid || (__u32)(bpf_get_current_pid_tgid() >> 32) != s->self_tgid)
		return false;
	task = bpf_get_current_task_btf();
	start = BPF_CORE_READ(task, group_leader, start_boottime);
	return start / GG_NSEC_PER_USER_TICK == s->self_start_ticks;
}

/*
 * Is the current task governed? Returns the settings (looked up once, for
 * the caller's later checks: the daemon, its egress) or NULL when not.
 * Runs before any rule lookup so tasks out of scope pay one array lookup
 * and one helper call. Cgroups are compared by id at the scope's depth
 * (works in every program type govgate uses, sleepable ones included,
 * unlike a CGROUP_ARRAY).
 */
static __always_inline struct gg_settings *gg_scope_settings(void)
{
	struct gg_settings *s = gg_settings();

	if (!s || !s->enabled)
		return NULL;
	/* the daemon is governed too (its egress: gg_self_egress) */
	if (s->scope_mode == GG_SCOPE_CGROUP)
		return gg_in_cgroup(&s->scope) ? s : NULL;
	for (__u32 i = 0; i < GG_MAX_EXEMPT; i++) {
		if (i >= s->n_exempt)
			break;
		if (gg_in_cgroup(&s->exempt[i]))
			return NULL;
	}
	return s;
}

static __always_inline bool gg_task_in_scope(void)
{
	return gg_scope_settings() != NULL;
}

/* The id of cg's ancestor at level (cg's own at its level), 0 when cg is
 * above that level: bpf_get_current_ancestor_cgroup_id for a cgroup that
 * is not the current task's (6.1 and 6.12 both keep ancestors[]). */
static __always_inline __u64 gg_cgroup_ancestor_id(struct cgroup *cg, __u32 level)
{
	struct cgroup *anc = NULL;

	if (!cg || level > (__u32)BPF_CORE_READ(cg, level))
		return 0;
	if (bpf_core_read(&anc, sizeof(anc), &cg->ancestors[level]) || !anc)
		return 0;
	return BPF_CORE_READ(anc, kn, id);
}

/* Are the tasks (or sockets) of cgroup cg governed: gg_scope_settings for
 * a cgroup other than the current task's. */
static __always_inline bool gg_cgroup_governed(const struct gg_settings *s, struct cgroup *cg)
{
	if (s->scope_mode == GG_SCOPE_CGROUP)
		return gg_cgroup_ancestor_id(cg, s->scope.level) == s->scope.id;
	for (__u32 i = 0; i < GG_MAX_EXEMPT; i++) {
		if (i >= s->n_exempt)
			break;
		if (gg_cgroup_ancestor_id(cg, s->exempt[i].level) == s->exempt[i].id)
			return false;
	}
	return true;
}

/* The slot every lookup of this decision uses, and its generation. */
static __always_inline __u32 gg_active_slot(__u64 *generation)
{
	__u32 zero = 0;
	struct gg_policy_state *st = bpf_map_lookup_elem(&policy_state, &zero);
	__u32 slot;

	if (!st) {
		*generation = 0;
		return 0;
	}
	slot = READ_ONCE(st->active_slot) & 1;
	*generation = READ_ONCE(st->generation[slot]);
	return slot;
}

/* Does the slot hold content digest rules (cmd.exec hashes only then)? A
 * swap in between is caught by gg_check_slot. */
static __always_inline bool gg_slot_has_digests(__u32 slot)
{
	__u32 zero = 0;
	struct gg_policy_state *st = bpf_map_lookup_elem(&policy_state, &zero);

	return st && (READ_ONCE(st->digest_slots) >> (slot & 1)) & 1;
}

/*
 * After a decision's lookups: did every one of them see the same complete
 * policy? The writer marks a slot GG_GEN_WRITING before it clears it and
 * stamps the new generation only after filling it, so an unchanged
 * generation that is not GG_GEN_WRITING means the slot was not touched in
 * between. (x86: a load is not reordered with older loads, so this re-read
 * follows the lookups.)
 */
static __always_inline bool gg_slot_unchanged(__u32 slot, __u64 generation)
{
	__u32 zero = 0;
	struct gg_policy_state *st = bpf_map_lookup_elem(&policy_state, &zero);

	return st && generation != GG_GEN_WRITING &&
	       READ_ONCE(st->generation[slot & 1]) == generation;
}

/*
 * Ends every decision: if its slot was rewritten during its lookups (two
 * applies completed within this one decision; a sleepable exec hook can be
 * preempted that long), the lookups may have seen a mix of two policies,
 * so the decision fails closed. Returns the event flags.
 */
static __always_inline __u32 gg_check_slot(__u32 slot, __u64 generation, __u32 *action,
					   __u32 *entries)
{
	if (gg_slot_unchanged(slot, generation))
		return 0;
	*action = GG_ACT_DENY;
	for (int i = 0; i < GG_MAX_HITS; i++)
		entries[i] = 0;
	return GG_EVF_FAIL_CLOSED;
}

/* Folds one matching verdict into the decision: deny beats observe. */
static __always_inline void gg_hit(struct gg_verdict *v, __u32 *action, __u32 *entries, int i)
{
	if (!v || !v->entry)
		return;
	if (i >= 0 && i < GG_MAX_HITS)
		entries[i] = v->entry;
	if (v->action == GG_ACT_DENY || *action == GG_ACT_NONE)
		*action = v->action;
}

/* Fills the fields every event carries. */
static __always_inline void gg_event_fill(struct gg_event *e, __u32 gate, __u32 action,
					  __u32 mech, __u64 generation, const __u32 *entries,
					  __u32 flags)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	e->ts_boot_ns = bpf_ktime_get_boot_ns();
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->generation = generation;
	e->gate = gate;
	e->action = action;
	e->mechanism = mech;
	for (int i = 0; i < GG_MAX_HITS; i++)
		e->entries[i] = entries[i];
	e->pid = pid_tgid >> 32;
	e->tid = (__u32)pid_tgid;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->flags = flags;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_probe_read_kernel_str(e->exe, sizeof(e->exe),
				  BPF_CORE_READ(task, mm, exe_file, f_path.dentry, d_name.name));
}

/* Counts the decision; returns the event to fill, or NULL (allowed, or the
 * ring buffer is full: then the drop is counted, the decision stands). */
static __always_inline struct gg_event *gg_decide(__u32 gate, __u32 action)
{
	struct gg_event *e;

	if (action == GG_ACT_NONE) {
		gg_count(gate, GG_CNT_ALLOWED);
		return NULL;
	}
	gg_count(gate, action == GG_ACT_DENY ? GG_CNT_DENIED : GG_CNT_OBSERVED);
	/* gate is a constant in every caller: the size folds to one. */
	e = bpf_ringbuf_reserve(&events, GG_EVENT_SIZE(gate), 0);
	if (!e)
		gg_count(gate, GG_CNT_DROPPED);
	return e;
}

#endif /* GG_COMMON_BPF_H */
