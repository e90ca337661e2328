// SPDX-License-Identifier: GPL-2.0
/*
 * Locked mode (issue 13): the kernel itself refuses the ways a root task
 * could switch govgate off. Every program allows everything until the
 * daemon sets settings.locked; then each refuses, with a record, to every
 * task but govgate's own (gg_guard_subject):
 *
 *   lsm/bpf          loading, attaching, detaching, replacing or test-running
 *                    programs and links; writing, deleting from or freezing
 *                    any map (FLOOR-TAMPER-BPF)
 *   lsm/mmap_file    a writable shared mapping of any BPF map (the ring
 *                    buffer's consumer page; an egress range array before
 *                    the daemon froze it: FLOOR-TAMPER-BPF)
 *   lsm/inode_*      unlink, rename, rmdir in (or of) the pin directory
 *   lsm/sb_umount    umount of the pin directory's bpffs (FLOOR-TAMPER-PINS);
 *                    a governed task's umount of anything (FLOOR-TAMPER-POLICY)
 *   lsm/ptrace_access_check  PTRACE_MODE_ATTACH on the daemon: ptrace
 *                    attach, /proc/PID/mem, process_vm_readv/writev and
 *                    pidfd_getfd all check it (FLOOR-TAMPER-DAEMON); and,
 *                    locked or not, a governed task's on a task that is
 *                    not governed (FLOOR-TAMPER-CGROUP)
 *   lsm/inode_follow_link  locked or not, a governed task following a
 *                    /proc/PID/ link (fd/N, cwd, root) of a task that is
 *                    not governed (FLOOR-TAMPER-CGROUP)
 *   lsm/task_kill    any signal but 0 to the daemon (FLOOR-TAMPER-DAEMON)
 *   lsm/file_open    a governed task opening cgroup.procs or cgroup.threads
 *                    for writing (FLOOR-TAMPER-CGROUP)
 *   lsm/task_alloc   a governed task's clone3(CLONE_INTO_CGROUP), the other
 *                    way into a cgroup (FLOOR-TAMPER-CGROUP)
 *   lsm/file_open, lsm/inode_rename, lsm/inode_unlink: the audit signing
 *                    key file, by inode, opened in any mode, renamed or
 *                    unlinked (FLOOR-TAMPER-KEY); lsm/bpf_map: any fd to
 *                    the per-boot key map (the evidence functions below)
 *   lsm/file_open, inode_create/mkdir/mknod/link/symlink/unlink/rename/
 *                    rmdir, path_truncate: writes to the files that
 *                    authorise policy changes or that a restart reads: the
 *                    trusted keys, the configuration, the state directory,
 *                    the pack directories, /run/govgate (the control
 *                    socket), the active audit log, the binary and its
 *                    libraries; rename or removal of their ancestor
 *                    directories (guard_files, FLOOR-TAMPER-POLICY)
 *   lsm/sb_mount, move_mount, sb_kern_mount  a governed task's mounts,
 *                    which could hide those files from a restarted daemon,
 *                    and superblocks for detached mounts (FLOOR-TAMPER-POLICY)
 *   lsm/capable      CAP_NET_ADMIN (FLOOR-TAMPER-NET) and CAP_SYS_TIME: the
 *                    clock that request expiries and the digest cache read
 *                    (FLOOR-TAMPER-POLICY)
 *   lsm/mmap_file, file_mprotect  code mapped by the daemon or its successor
 *                    from a file that is not govgate's binary or one of
 *                    its libraries (FLOOR-TAMPER-DAEMON)
 *   lsm/task_prctl   PR_SET_MM, which can set a task's exe_file
 *                    (FLOOR-TAMPER-DAEMON)
 *   lsm/file_open, file_ioctl(_compat), uring_cmd  a governed task opening
 *                    a block device for writing, or a disk passthrough
 *                    command (FLOOR-TAMPER-POLICY); file_ioctl also a
 *                    governed task's TIOCSTI, locked or not
 *                    (FLOOR-TAMPER-CGROUP), and TIOCMBIS, TIOCMSET and
 *                    TIOCSETD on a tty an ungoverned session reads, in a
 *                    cgroup scope the console's keymap and VT switch,
 *                    and PIDFD_GET_*_NAMESPACE of an ungoverned task; file_open
 *                    a governed task's open of a node that makes an input
 *                    device (uinput, uhid), in a cgroup scope of any input
 *                    device's (evdev); all locked or not
 *
 *   lsm/bprm_committed_creds  marks the daemon's successor (gg_guard_successor)
 *
 * govgate's own: init's side, the daemon, and its successor: what init
 * started in the daemon's unit cgroup as `govgate run` (not any task
 * there: init runs what a unit says, and root writes units).
 *
 * BPF LSM only: without it none of this exists (the daemon says so).
 */
#include "common.bpf.h"

#define ENOENT 2
#define PROT_WRITE 0x2
#define PROT_EXEC 0x4
#define SIGHUP 1
#define S_IFMT 00170000
#define S_IFBLK 0060000
#define S_IFCHR 0020000
#define MAP_SHARED 0x01
#define ANON_INODE_FS_MAGIC 0x09041934
#define BPF_FS_MAGIC 0xcafe4a11
#define CGROUP2_SUPER_MAGIC 0x63677270
#define PTRACE_MODE_ATTACH 0x02
#define PTRACE_MODE_REALCREDS 0x10
#define CLONE_INTO_CGROUP 0x200000000ULL

/* Ids of govgate's maps that only govgate's own tasks may write: written
 * by the daemon when it locks (user/gates.c gg_gates_lock). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GG_GUARD_MAPS_MAX);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} guard_maps SEC(".maps");

GG_ASSERT_PINNED(guard_maps, GG_MAP_GUARD_MAPS);

/* The files the guard protects (enum gg_guard_file_kind): the trusted
 * keys' directory, its keys and the configuration file (user/control.c),
 * the audit signing key (the evidence functions below). Written by the
 * daemon when it locks. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GG_GUARD_FILES_MAX);
	__type(key, struct gg_guard_file_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} guard_files SEC(".maps");

/* The per-boot audit signing key (audit.signing_key "per-boot"): kernel
 * memory that outlives a daemon restart, never a file. guard_maps marks
 * it GG_GUARD_MAP_NO_FD. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gg_audit_key);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} audit_key SEC(".maps");

GG_ASSERT_PINNED(guard_files, GG_MAP_GUARD_FILES);
GG_ASSERT_PINNED(audit_key, GG_MAP_AUDIT_KEY);

/* What a restarted daemon must honour (struct gg_lock_state). Never read
 * here: pinned and guarded so that only the daemon can change it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gg_lock_state);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lock_state SEC(".maps");

GG_ASSERT_PINNED(lock_state, GG_MAP_LOCK_STATE);

/* What guard_files says of inode (enum gg_guard_file_kind), 0: nothing. */
static __always_inline __u32 gg_guarded_inode(struct inode *inode)
{
	struct gg_guard_file_key key = {};
	__u32 *kind;

	if (!inode)
		return 0;
	key.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	key.ino = BPF_CORE_READ(inode, i_ino);
	kind = bpf_map_lookup_elem(&guard_files, &key);
	return kind ? *kind : 0;
}

/* Is task the running daemon (pid and start time, as gg_task_is_self)? */
static __always_inline bool gg_is_daemon(const struct gg_settings *s, struct task_struct *task)
{
	__u64 start;

	if (!s->self_tgid || BPF_CORE_READ(task, tgid) != s->self_tgid)
		return false;
	start = BPF_CORE_READ(task, group_leader, start_boottime);
	return start / GG_NSEC_PER_USER_TICK == s->self_start_ticks;
}

/*
 * init's children: a task pid 1 forked (marked here in gg_guard_task_alloc
 * with its exec count) that has not exec'd since. systemd moves a new
 * unit's process into its cgroup and sets up its sandbox (mounts) from
 * that child, before exec. An orphan reparented to pid 1 was never marked
 * (its exec count could match pid 1's: a usermode helper's lineage).
 */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} init_child SEC(".maps");

GG_ASSERT_PINNED(init_child, GG_MAP_INIT_CHILD);

/* Was task forked by pid 1 and has it exec'd exec_ids times since? */
static __always_inline bool gg_init_child_at(struct task_struct *task, __u64 exec_ids)
{
	__u64 *forked_at = bpf_task_storage_get(&init_child, task, 0, 0);

	return forked_at && *forked_at + exec_ids == BPF_CORE_READ(task, self_exec_id);
}

/*
 * init's side: pid 1 itself, or its child before exec (gg_init_child_at).
 * Only pid 1 is govgate's own in everything (gg_guard_subject); its child
 * runs what units say (StandardOutput=truncate:FILE opened there, PAM and
 * NSS modules), so it is let through only for what a unit's set-up needs:
 * its move into the unit's cgroup, and mounts. The ptrace hook keeps every
 * other task off these tasks.
 */
static __always_inline bool gg_is_init_side(struct task_struct *task)
{
	return BPF_CORE_READ(task, tgid) == 1 || gg_init_child_at(task, 0);
}

static __always_inline bool gg_current_init_child(void)
{
	return gg_init_child_at(bpf_get_current_task_btf(), 0);
}

/* ... and its mounts: only in a mount namespace that is not pid 1's (the
 * unit's sandbox). In pid 1's, code loaded into it (a PAM or NSS module)
 * would umount the pins' bpffs for every task. */
static __always_inline bool gg_init_child_sandbox(void)
{
	struct task_struct *task = bpf_get_current_task_btf();

	return gg_init_child_at(task, 0) &&
	       BPF_CORE_READ(task, nsproxy, mnt_ns) !=
		       BPF_CORE_READ(task, real_parent, nsproxy, mnt_ns);
}

/* kernfs_node's parent is `parent` up to 6.14 and `__parent` since. */
struct kernfs_node___old {
	struct kernfs_node *parent;
} __attribute__((preserve_access_index));

static __always_inline __u64 gg_kn_parent_id(struct kernfs_node *kn)
{
	struct kernfs_node___old *old = (void *)kn;

	if (bpf_core_field_exists(old->parent))
		return BPF_CORE_READ(old, parent, id);
	return BPF_CORE_READ(kn, __parent, id);
}

/* Is task in the daemon's unit cgroup: the same name under the same
 * parent (a restart's new cgroup has a new id). */
static __always_inline bool gg_in_daemon_unit(const struct gg_settings *s,
					      struct task_struct *task)
{
	struct kernfs_node *kn = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn);
	char name[GG_UNIT_NAME_MAX] = {};

	if (!s->self_unit_parent.id || gg_kn_parent_id(kn) != s->self_unit_parent.id)
		return false;
	bpf_probe_read_kernel_str(name, sizeof(name), BPF_CORE_READ(kn, name));
	for (int i = 0; i < GG_UNIT_NAME_MAX; i++) {
		if (name[i] != s->self_unit[i])
			return false;
		if (!name[i])
			break;
	}
	return true;
}

/*
 * The daemon's successor: a process that init itself started in the
 * daemon's unit cgroup as `govgate run` (gg_guard_successor marks it when
 * it execs; any later exec ends it). Not every task of that cgroup: init
 * runs whatever the unit says there, and root writes units (a drop-in's
 * ExecStartPre=, or a unit file that init links on request). Keyed by
 * tgid, with the thread group's start time (as gg_is_daemon): a pid used
 * again is not marked. What it maps as code is checked (gg_guard_code).
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} successor SEC(".maps");

GG_ASSERT_PINNED(successor, GG_MAP_SUCCESSOR);

static __always_inline bool gg_is_successor(struct task_struct *task)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	__u64 *start = bpf_map_lookup_elem(&successor, &tgid);

	return start && *start == BPF_CORE_READ(task, group_leader, start_boottime);
}

/*
 * The settings when locked mode applies to the current task, else NULL.
 * govgate's own: pid 1 (`systemctl stop`, a unit's BPF), the daemon, and
 * its successor (gg_is_successor: a restarted daemon takes over from
 * there). init's children only where gg_current_init_child says so.
 */
static __always_inline struct gg_settings *gg_guard_subject(void)
{
	struct gg_settings *s = gg_settings();

	if (!s || !s->locked)
		return NULL;
	if (BPF_CORE_READ(bpf_get_current_task_btf(), tgid) == 1 || gg_task_is_self(s))
		return NULL;
	if (gg_is_successor(bpf_get_current_task_btf()))
		return NULL;
	return s;
}

/* Records a guard's verdict (a kernel.module event with GG_EVF_TAMPER, and
 * flags). */
static __always_inline void gg_guard_record(__u32 action, __u32 what, __u32 arg, const void *name,
					    __u32 flags)
{
	__u32 entries[GG_MAX_HITS] = {};
	struct gg_event *e = gg_decide(GG_GATE_MODULE, action);

	if (!e)
		return;
	gg_event_fill(e, GG_GATE_MODULE, action, GG_MECH_LSM, 0, entries, GG_EVF_TAMPER | flags);
	e->guard.what = what;
	e->guard.arg = arg;
	e->guard.name[0] = '\0';
	if (name)
		bpf_probe_read_kernel_str(e->guard.name, sizeof(e->guard.name), name);
	bpf_ringbuf_submit(e, 0);
}

/* Records the refusal, with flags. */
static __always_inline int gg_refuse_flags(__u32 what, __u32 arg, const void *name, __u32 flags)
{
	gg_guard_record(GG_ACT_DENY, what, arg, name, flags);
	return -EPERM;
}

static __always_inline int gg_refuse(__u32 what, __u32 arg, const void *name)
{
	return gg_refuse_flags(what, arg, name, 0);
}

/*
 * The guards that hold unlocked too (a governed task borrowing an
 * ungoverned one): refused and recorded like the others, but while
 * unlocked in the agent-wide observe mode recorded only (action observe),
 * as every rule then is. Locked, observe changes nothing.
 */
static __always_inline int gg_refuse_scope(const struct gg_settings *s, __u32 what, __u32 arg,
					   const void *name)
{
	if (s->locked || !s->observe)
		return gg_refuse_flags(what, arg, name, s->locked ? 0 : GG_EVF_UNLOCKED);
	gg_guard_record(GG_ACT_OBSERVE, what, arg, name, GG_EVF_UNLOCKED);
	return 0;
}

/*
 * The signing key file is the daemon's alone, not all of govgate's own:
 * govgate's binary run in the unit's cgroup by a drop-in (`pack sign --key
 * audit-key.pem FILE`) would sign whatever it is given. The daemon opens
 * it after it registered itself (start_policy before start_audit).
 */
static __always_inline bool gg_key_refused(void)
{
	struct gg_settings *s = gg_settings();

	return s && s->locked && !gg_task_is_self(s);
}

/* file_open: the signing key, in any mode (a read is what signs). */
static __always_inline int gg_guard_key_open(struct file *file)
{
	struct gg_settings *s = gg_settings();

	/* every open of every file comes here: unlocked, one array lookup */
	if (!s || !s->locked)
		return 0;
	if (gg_guarded_inode(BPF_CORE_READ(file, f_inode)) != GG_GFILE_KEY || !gg_key_refused())
		return 0;
	return gg_refuse(GG_GUARD_KEY_OPEN, 0, BPF_CORE_READ(file, f_path.dentry, d_name.name));
}

/* rename or unlink of the key: replaced by one the attacker holds, the
 * next start would sign with it. */
static __always_inline int gg_guard_key_move(struct dentry *dentry)
{
	if (!dentry || gg_guarded_inode(BPF_CORE_READ(dentry, d_inode)) != GG_GFILE_KEY ||
	    !gg_key_refused())
		return 0;
	return gg_refuse(GG_GUARD_KEY_MOVE, 0, BPF_CORE_READ(dentry, d_name.name));
}

/* Any fd to a GG_GUARD_MAP_NO_FD map (the per-boot key): -ENOENT, as for
 * a map that is gone, so `bpftool map show` passes over it. */
static __always_inline int gg_guard_map_nofd(struct bpf_map *map)
{
	__u32 id = BPF_CORE_READ(map, id);
	__u32 *kind = bpf_map_lookup_elem(&guard_maps, &id);

	if (!kind || *kind != GG_GUARD_MAP_NO_FD || !gg_guard_subject())
		return 0;
	gg_refuse(GG_GUARD_KEY_MAP, id, map->name);
	return -ENOENT;
}

/*
 * The hook's signature grew an argument in 6.14 (bool kernel), which moves
 * the slot of the earlier BPF LSM programs' verdict: this program does not
 * read it (on 6.1 and 6.12 no other BPF LSM program is on this hook).
 *
 * Map writes are refused by command, for every map: the command is fixed
 * when this hook runs, while the fd in attr names a map only until a
 * sibling thread dup2()s another over it, before the command looks it up.
 * So a writable fd (Debian 12's bpftool asks for one even to show or dump
 * a map) writes nothing. Tasks that are not govgate's cannot load programs
 * either, so no map of theirs needs writing. Read-only commands stay open:
 * bpftool prog, map and link show and map dump use *_GET_FD_BY_ID,
 * OBJ_GET, OBJ_GET_INFO_BY_FD, GET_NEXT_KEY and the lookups.
 */
SEC("lsm/bpf")
int BPF_PROG(gg_guard_bpf, int cmd, union bpf_attr *attr, unsigned int size)
{
	switch (cmd) {
	case BPF_PROG_LOAD:
	case BPF_PROG_ATTACH:
	case BPF_PROG_DETACH:
	case BPF_PROG_TEST_RUN:
	case BPF_LINK_CREATE:
	case BPF_LINK_UPDATE:
	case BPF_LINK_DETACH:
	case BPF_RAW_TRACEPOINT_OPEN:
	case BPF_MAP_UPDATE_ELEM:
	case BPF_MAP_DELETE_ELEM:
	case BPF_MAP_LOOKUP_AND_DELETE_ELEM:
	case BPF_MAP_FREEZE:
	case BPF_MAP_UPDATE_BATCH:
	case BPF_MAP_DELETE_BATCH:
	case BPF_MAP_LOOKUP_AND_DELETE_BATCH:
		break;
	default:
		return 0;
	}
	if (!gg_guard_subject())
		return 0;
	return gg_refuse(GG_GUARD_BPF_CMD, cmd, NULL);
}

/* Called for every new map fd (create, OBJ_GET, GET_FD_BY_ID) with its
 * mode: only the per-boot key's map refuses fds; the writes a writable fd
 * could make are refused by command (gg_guard_bpf) and by mapping
 * (gg_guard_map_mmap). */
SEC("lsm/bpf_map")
int BPF_PROG(gg_guard_bpf_map, struct bpf_map *map, fmode_t fmode, int ret)
{
	if (ret != 0)
		return ret;
	return gg_guard_map_nofd(map);
}

/* A map's fd is an anonymous inode named "bpf-map" (bpf_map_new_fd). */
static __always_inline bool gg_is_map_file(struct file *file)
{
	char name[sizeof("bpf-map")] = {};
	const char want[] = "bpf-map";

	if (BPF_CORE_READ(file, f_inode, i_sb, s_magic) != ANON_INODE_FS_MAGIC)
		return false;
	bpf_probe_read_kernel_str(name, sizeof(name), BPF_CORE_READ(file, f_path.dentry, d_name.name));
	for (int i = 0; i < sizeof(want); i++)
		if (name[i] != want[i])
			return false;
	return true;
}

/*
 * A writable shared mapping of a map writes it without a command: the ring
 * buffer's consumer position moved past unread records skips them; an
 * egress range array mapped by id while the daemon fills it, before the
 * freeze, would change the rules (those arrays are made by each apply and
 * are not in guard_maps). So every map, as for the write commands (no
 * task but govgate's may load a program that would need one). The hook
 * gets the file itself, so no fd race: a read-only mapping cannot be made
 * writable later (bpf_map_mmap drops VM_MAYWRITE).
 */
SEC("lsm/mmap_file")
int BPF_PROG(gg_guard_map_mmap, struct file *file, unsigned long reqprot, unsigned long prot,
	     unsigned long flags, int ret)
{
	struct bpf_map *map;
	__u32 id;

	if (ret != 0)
		return ret;
	/* every mapping of every file comes here: bits first */
	if (!(prot & PROT_WRITE) || !(flags & MAP_SHARED) || !file || !gg_is_map_file(file))
		return 0;
	if (!gg_guard_subject())
		return 0;
	map = BPF_CORE_READ(file, private_data);
	id = BPF_CORE_READ(map, id);
	return gg_refuse(GG_GUARD_MAP_MMAP_WRITE, id, map->name);
}

static __always_inline bool gg_is_pin_dir(const struct gg_settings *s, struct inode *inode)
{
	return inode && BPF_CORE_READ(inode, i_ino) == s->pin_dir_ino &&
	       BPF_CORE_READ(inode, i_sb, s_dev) == s->pin_dir_dev;
}

/* dentry (in dir) is the pin directory, an entry of it, or an entry of a
 * directory in it (the upgrade stage). */
static __always_inline bool gg_pinned_entry(const struct gg_settings *s, struct inode *dir,
					    struct dentry *dentry)
{
	return gg_is_pin_dir(s, dir) || gg_is_pin_dir(s, BPF_CORE_READ(dentry, d_inode)) ||
	       gg_is_pin_dir(s, BPF_CORE_READ(dentry, d_parent, d_parent, d_inode));
}

static __always_inline int gg_guard_entry(__u32 what, struct inode *dir, struct dentry *dentry)
{
	struct gg_settings *s = gg_guard_subject();

	if (!s || !gg_pinned_entry(s, dir, dentry))
		return 0;
	return gg_refuse(what, 0, BPF_CORE_READ(dentry, d_name.name));
}

SEC("lsm/inode_unlink")
int BPF_PROG(gg_guard_unlink, struct inode *dir, struct dentry *dentry, int ret)
{
	if (ret != 0)
		return ret;
	ret = gg_guard_key_move(dentry);
	if (ret)
		return ret;
	return gg_guard_entry(GG_GUARD_PIN_UNLINK, dir, dentry);
}

SEC("lsm/inode_rmdir")
int BPF_PROG(gg_guard_rmdir, struct inode *dir, struct dentry *dentry, int ret)
{
	if (ret != 0)
		return ret;
	return gg_guard_entry(GG_GUARD_PIN_RMDIR, dir, dentry);
}

/* Both ends: renaming over a pin replaces it as surely as unlinking it. */
SEC("lsm/inode_rename")
int BPF_PROG(gg_guard_rename, struct inode *old_dir, struct dentry *old_dentry,
	     struct inode *new_dir, struct dentry *new_dentry, int ret)
{
	if (ret != 0)
		return ret;
	ret = gg_guard_key_move(old_dentry) ?: gg_guard_key_move(new_dentry);
	if (ret)
		return ret;
	ret = gg_guard_entry(GG_GUARD_PIN_RENAME, old_dir, old_dentry);
	if (ret)
		return ret;
	return gg_guard_entry(GG_GUARD_PIN_RENAME, new_dir, new_dentry);
}

SEC("lsm/sb_umount")
int BPF_PROG(gg_guard_umount, struct vfsmount *mnt, int flags, int ret)
{
	struct super_block *sb;
	struct gg_settings *s;

	if (ret != 0)
		return ret;
	s = gg_guard_subject();
	if (!s || gg_init_child_sandbox())
		return 0;
	sb = BPF_CORE_READ(mnt, mnt_sb);
	if (BPF_CORE_READ(sb, s_magic) == BPF_FS_MAGIC && BPF_CORE_READ(sb, s_dev) == s->pin_dir_dev)
		return gg_refuse(GG_GUARD_UMOUNT, 0, NULL);
	/* A mount whose root is a guarded directory or one of their
	 * ancestors (a /var below /var/lib/govgate): its umount would show a
	 * restarted daemon what the mount covered. Others are the workload's. */
	if (!gg_guarded_inode(BPF_CORE_READ(mnt, mnt_root, d_inode)))
		return 0;
	return gg_refuse(GG_GUARD_MOUNT, 2, NULL);
}

/* The settings when the current task is governed and not govgate's own
 * (pid 1, the daemon, its successor), else NULL: whom the guards that
 * hold locked or not refuse. */
static __always_inline struct gg_settings *gg_governed_other(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct gg_settings *s = gg_scope_settings();

	if (!s || BPF_CORE_READ(task, tgid) == 1 || gg_task_is_self(s) || gg_is_successor(task))
		return NULL;
	return s;
}

/*
 * A governed task reaching into one that is not governed (an exempt
 * cgroup's, or one outside a cgroup scope): attached to (ptrace), its
 * memory written (/proc/PID/mem, process_vm_writev) or its files taken
 * (pidfd_getfd), it does what the governed task may not, ungoverned.
 * Refused locked or not (GG_EVF_UNLOCKED says which): a task that is not
 * root may attach to its own user's tasks, and in a cgroup scope the
 * shell that started the workload is one. govgate's own tasks may.
 */
static __always_inline int gg_guard_borrow(struct task_struct *child, unsigned int mode)
{
	struct gg_settings *s = gg_governed_other();

	if (!s || gg_cgroup_governed(s, BPF_CORE_READ(child, cgroups, dfl_cgrp)))
		return 0;
	return gg_refuse_scope(s, GG_GUARD_BORROW, mode, child->comm);
}

SEC("lsm/ptrace_access_check")
int BPF_PROG(gg_guard_ptrace, struct task_struct *child, unsigned int mode, int ret)
{
	struct gg_settings *s;

	if (ret != 0)
		return ret;
	/* Reading /proc/PID/stat, exe or environ (PTRACE_MODE_READ_FSCREDS)
	 * stays open to ps and journald; a read check on the real credentials
	 * is setns(pidfd) into a task's namespaces (or kcmp, get_robust_list),
	 * which a governed task does to none that is not governed. */
	if ((mode & PTRACE_MODE_REALCREDS) && !(mode & PTRACE_MODE_ATTACH))
		return gg_guard_borrow(child, mode);
	if (!(mode & PTRACE_MODE_ATTACH))
		return 0;
	s = gg_guard_subject();
	/* init's side and a daemon's successor are exempt from the guard:
	 * they must not be borrowed */
	if (s && (gg_is_daemon(s, child) || gg_is_init_side(child) || gg_is_successor(child)))
		return gg_refuse(GG_GUARD_PTRACE, mode, child->comm);
	return gg_guard_borrow(child, mode);
}

#define GG_PROC_SUPER_MAGIC 0x9fa0

/* pid's task (the first of its PIDTYPE_PID list, linked by pid_links[0])
 * when its cgroup is not governed, else NULL (or when it is gone). */
static __always_inline struct task_struct *gg_pid_ungoverned(const struct gg_settings *s,
							     struct pid *pid)
{
	struct hlist_node *first = BPF_CORE_READ(pid, tasks[PIDTYPE_PID].first);
	struct task_struct *task;

	if (!first)
		return NULL;
	task = (void *)first - bpf_core_field_offset(struct task_struct, pid_links);
	return gg_cgroup_governed(s, BPF_CORE_READ(task, cgroups, dfl_cgrp)) ? NULL : task;
}

/*
 * The kernel's own check of such a link (proc_fd_access_allowed) comes
 * after this hook: a task without capabilities is refused another user's
 * task's links anyway (EACCES). Those are left to it, unrecorded: pidof
 * and systemctl's chroot test stat every task's exe or root.
 */
static __always_inline bool gg_kernel_refuses_link(struct task_struct *target)
{
	const struct cred *me = BPF_CORE_READ(bpf_get_current_task_btf(), cred);
	__u32 fsuid = BPF_CORE_READ(me, fsuid.val);
	__u64 caps = 0;

	bpf_probe_read_kernel(&caps, sizeof(caps), __builtin_preserve_access_index(&me->cap_effective));
	if (caps)
		return false;
	return BPF_CORE_READ(target, real_cred, uid.val) != fsuid ||
	       BPF_CORE_READ(target, real_cred, euid.val) != fsuid ||
	       BPF_CORE_READ(target, real_cred, suid.val) != fsuid;
}

/*
 * A governed task following a /proc/PID/ link (fd/N, cwd, root, exe, ns/,
 * map_files/) of a task that is not governed: reopening that task's pipe
 * or FIFO through fd/N writes into what it reads (an exempt shell's
 * commands), and cwd and root reach into its mount namespace. These are
 * read-mode checks (PTRACE_MODE_READ), which journald's and ps's readlink
 * of exe share; readlink does not follow a link, so it stays open. Refused
 * locked or not. /proc/self and /proc/mounts carry no task (pid NULL).
 */
SEC("lsm/inode_follow_link")
int BPF_PROG(gg_guard_proc_link, struct dentry *dentry, struct inode *inode, bool rcu, int ret)
{
	struct proc_inode *pi;
	struct task_struct *task;
	struct gg_settings *s;

	if (ret != 0)
		return ret;
	if (BPF_CORE_READ(inode, i_sb, s_magic) != GG_PROC_SUPER_MAGIC)
		return 0;
	s = gg_governed_other();
	if (!s)
		return 0;
	pi = (void *)inode - bpf_core_field_offset(struct proc_inode, vfs_inode);
	task = gg_pid_ungoverned(s, BPF_CORE_READ(pi, pid));
	if (!task || gg_kernel_refuses_link(task))
		return 0;
	return gg_refuse_scope(s, GG_GUARD_PROC_LINK, BPF_CORE_READ(task, tgid), task->comm);
}

/* Only signals a task sends (kill, tgkill, pidfd_send_signal, sigqueue)
 * come here: the kernel's own (SIGSEGV, the OOM killer) do not. */
SEC("lsm/task_kill")
int BPF_PROG(gg_guard_kill, struct task_struct *p, struct kernel_siginfo *info, int sig,
	     const struct cred *cred, int ret)
{
	struct gg_settings *s;

	if (ret != 0)
		return ret;
	if (sig == 0) /* "is it alive?" */
		return 0;
	s = gg_guard_subject();
	if (!s || !(gg_is_daemon(s, p) || gg_is_successor(p)))
		return 0;
	/* ExecReload's `kill -HUP`, from the unit's cgroup: a locked daemon
	 * refuses an unsigned reload itself (and records it) */
	if (sig == SIGHUP && gg_is_daemon(s, p) &&
	    gg_in_daemon_unit(s, bpf_get_current_task_btf()))
		return 0;
	return gg_refuse(GG_GUARD_SIGNAL, sig, p->comm);
}

/* Does the NUL-terminated name in buf equal lit? */
static __always_inline bool gg_name_eq(const char *buf, const char *lit, int len)
{
	for (int i = 0; i < len; i++)
		if (buf[i] != lit[i])
			return false;
	return true;
}

#define SCSI_GENERIC_MAJOR 21

static __always_inline bool gg_disk_node(struct inode *inode)
{
	umode_t fmt = BPF_CORE_READ(inode, i_mode) & S_IFMT;

	return fmt == S_IFBLK ||
	       (fmt == S_IFCHR && (BPF_CORE_READ(inode, i_rdev) >> 20) == SCSI_GENERIC_MAJOR);
}

#define GG_INPUT_MAJOR 13 /* every input handler's nodes: evdev, mousedev, joydev */
#define GG_MISC_MAJOR 10
#define GG_UINPUT_MINOR 223
#define GG_UHID_MINOR 239
#define GG_USERIO_MINOR 240 /* a serio port: the built-in atkbd binds to it */
#define GG_VHCI_MINOR 137 /* a Bluetooth controller, and a HID keyboard on it */

/*
 * Keys typed by a governed task into a console that is not governed: an
 * evdev node's writes go to every handler of its device, the virtual
 * console's keyboard among them, and uinput and uhid make a keyboard of
 * their own (so do userio and vhci); an evdev node's reads are the keys
 * an operator types. A governed task opens none of them, locked or not (as
 * TIOCSTI); an existing device's node only in a cgroup scope
 * (gg_guard_input).
 */
enum gg_input_kind { GG_INPUT_NONE, GG_INPUT_EXISTING, GG_INPUT_MAKER };

static __always_inline enum gg_input_kind gg_input_node(struct inode *inode)
{
	__u32 rdev, major, minor;

	if ((BPF_CORE_READ(inode, i_mode) & S_IFMT) != S_IFCHR)
		return GG_INPUT_NONE;
	rdev = BPF_CORE_READ(inode, i_rdev);
	major = rdev >> 20;
	minor = rdev & 0xfffff;
	if (major == GG_INPUT_MAJOR)
		return GG_INPUT_EXISTING;
	if (major == GG_MISC_MAJOR && (minor == GG_UINPUT_MINOR || minor == GG_UHID_MINOR ||
				       minor == GG_USERIO_MINOR || minor == GG_VHCI_MINOR))
		return GG_INPUT_MAKER;
	return GG_INPUT_NONE;
}

/* An existing device's node is refused only in a cgroup scope: in global
 * scope the system's own services are governed, and systemd-logind opens
 * the power button's node read-write (a hypervisor's ACPI shutdown). */
static __always_inline int gg_guard_input(struct file *file, enum gg_input_kind kind)
{
	struct gg_settings *s = gg_governed_other();

	if (!s || (kind == GG_INPUT_EXISTING && s->scope_mode != GG_SCOPE_CGROUP))
		return 0;
	return gg_refuse_scope(s, GG_GUARD_INPUT_DEVICE, 0,
			       BPF_CORE_READ(file, f_path.dentry, d_name.name));
}

#define GG_CONFIGFS_MAGIC 0x62656570

/*
 * configfs items are kernel features configured by mkdir, write and
 * symlink: a netconsole target sends the kernel's log out of a device with
 * no socket (netpoll), nvmet and iSCSI targets serve disks over the
 * kernel's own. Locked, governed tasks make, write and link none; with the
 * module loaded before govgate (modules-load.d) the module gate saw
 * nothing. Removing an item stays allowed.
 */
static __always_inline bool gg_on_configfs(struct inode *inode)
{
	return BPF_CORE_READ(inode, i_sb, s_magic) == GG_CONFIGFS_MAGIC;
}

static __always_inline int gg_guard_configfs(__u32 op, struct dentry *dentry)
{
	if (!gg_guard_subject() || !gg_task_in_scope())
		return 0;
	return gg_refuse(GG_GUARD_CONFIGFS, op, BPF_CORE_READ(dentry, d_name.name));
}

/*
 * A governed task may not open a cgroup2 membership file for writing: no
 * way out of the scope, into an exempt cgroup or into the daemon's. Tasks
 * of an exempt cgroup are not governed, and may. Nor a block device, nor
 * a configfs attribute (gg_guard_configfs): one program for all, every
 * open comes here.
 */
SEC("lsm/file_open")
int BPF_PROG(gg_guard_file_open, struct file *file, int ret)
{
	enum gg_input_kind input;
	char name[16] = {};

	if (ret != 0)
		return ret;
	ret = gg_guard_key_open(file);
	if (ret)
		return ret;
	input = gg_input_node(BPF_CORE_READ(file, f_inode));
	if (input != GG_INPUT_NONE)
		return gg_guard_input(file, input);
	if (!(BPF_CORE_READ(file, f_mode) & FMODE_WRITE))
		return 0;
	/* the disk beneath the guarded files (gg_guard_passthrough below): a
	 * block device, or SCSI generic (/dev/sgN takes commands by write) */
	if (gg_disk_node(BPF_CORE_READ(file, f_inode))) {
		if (!gg_guard_subject())
			return 0;
		return gg_refuse(GG_GUARD_BLOCK_WRITE, 0,
				 BPF_CORE_READ(file, f_path.dentry, d_name.name));
	}
	if (gg_on_configfs(BPF_CORE_READ(file, f_inode)))
		return gg_guard_configfs(GG_CFOP_WRITE, BPF_CORE_READ(file, f_path.dentry));
	if (BPF_CORE_READ(file, f_inode, i_sb, s_magic) != CGROUP2_SUPER_MAGIC)
		return 0;
	bpf_probe_read_kernel_str(name, sizeof(name), BPF_CORE_READ(file, f_path.dentry, d_name.name));
	if (gg_name_eq(name, "cgroup.procs", sizeof("cgroup.procs")) ||
	    gg_name_eq(name, "cgroup.threads", sizeof("cgroup.threads"))) {
		/* init's child moves itself into its unit's cgroup */
		if (gg_current_init_child())
			return 0;
	} else if (!gg_name_eq(name, "cgroup.kill", sizeof("cgroup.kill")) &&
		   !gg_name_eq(name, "cgroup.freeze", sizeof("cgroup.freeze"))) {
		/* those of a slice above the daemon's would kill or stop it
		 * without a signal (no task_kill) */
		return 0;
	}
	if (!gg_guard_subject() || !gg_task_in_scope())
		return 0;
	return gg_refuse(GG_GUARD_CGROUP_WRITE, 0, name);
}

SEC("lsm/task_alloc")
int BPF_PROG(gg_guard_task_alloc, struct task_struct *task, unsigned long clone_flags, int ret)
{
	if (ret != 0)
		return ret;
	if (BPF_CORE_READ(bpf_get_current_task_btf(), tgid) == 1) {
		__u64 *forked_at = bpf_task_storage_get(&init_child, task, 0,
							 BPF_LOCAL_STORAGE_GET_F_CREATE);

		if (forked_at)
			*forked_at = BPF_CORE_READ(task, self_exec_id);
		return 0;
	}
	if (!(clone_flags & CLONE_INTO_CGROUP))
		return 0;
	if (!gg_guard_subject() || !gg_task_in_scope())
		return 0;
	return gg_refuse(GG_GUARD_CLONE_INTO_CGROUP, 0, NULL);
}

/*
 * The policy authority (issue 13): the files in guard_files stay as the
 * daemon found them when it locked. Separate programs from the pin and
 * cgroup checks above, on the same hooks.
 */
#define O_TRUNC_FLAG 01000

/* dentry (in dir, if known) is a guarded file, or an entry of a guarded
 * directory, for op (enum gg_guard_file_op). */
static __always_inline bool gg_guarded_entry(__u32 op, struct inode *dir, struct dentry *dentry)
{
	if (!dir)
		dir = BPF_CORE_READ(dentry, d_parent, d_inode);
	if (gg_guarded_inode(dir) == GG_GFILE_DIR)
		return true;
	switch (gg_guarded_inode(BPF_CORE_READ(dentry, d_inode))) {
	case GG_GFILE_FILE:
	case GG_GFILE_DIR:
	case GG_GFILE_EXE:
	case GG_GFILE_CODE:
		return true;
	case GG_GFILE_ANCESTOR:
		/* a rename of /var/lib would let a new govgate/ take its place */
		return op == GG_GFOP_RENAME || op == GG_GFOP_UNLINK;
	default: /* the audit key (GG_GFILE_KEY) has its own checks above */
		return false;
	}
}

static __always_inline int gg_guard_pfile(__u32 op, struct inode *dir, struct dentry *dentry)
{
	if (!gg_guard_subject() || !gg_guarded_entry(op, dir, dentry))
		return 0;
	return gg_refuse(GG_GUARD_POLICY_FILE, op, BPF_CORE_READ(dentry, d_name.name));
}

/* O_TRUNC is still in f_flags here (do_dentry_open drops it after). */
SEC("lsm/file_open")
int BPF_PROG(gg_guard_pfile_open, struct file *file, int ret)
{
	if (ret != 0)
		return ret;
	if (!(BPF_CORE_READ(file, f_mode) & FMODE_WRITE) &&
	    !(BPF_CORE_READ(file, f_flags) & O_TRUNC_FLAG))
		return 0;
	return gg_guard_pfile(GG_GFOP_WRITE, NULL, BPF_CORE_READ(file, f_path.dentry));
}

SEC("lsm/inode_create")
int BPF_PROG(gg_guard_pfile_create, struct inode *dir, struct dentry *dentry, umode_t mode,
	     int ret)
{
	if (ret != 0)
		return ret;
	return gg_guard_pfile(GG_GFOP_CREATE, dir, dentry);
}

/* A directory or a node (a FIFO the daemon would block on) made in a
 * guarded directory: a pack directory's missing bundles/, a registry's
 * account, a spare's name. */
SEC("lsm/inode_mkdir")
int BPF_PROG(gg_guard_pfile_mkdir, struct inode *dir, struct dentry *dentry, umode_t mode,
	     int ret)
{
	if (ret != 0)
		return ret;
	return gg_guard_pfile(GG_GFOP_CREATE, dir, dentry);
}

SEC("lsm/inode_mknod")
int BPF_PROG(gg_guard_pfile_mknod, struct inode *dir, struct dentry *dentry, umode_t mode,
	     dev_t dev, int ret)
{
	if (ret != 0)
		return ret;
	return gg_guard_pfile(GG_GFOP_CREATE, dir, dentry);
}

/* A hard link of a guarded file elsewhere would be a way to write it. */
SEC("lsm/inode_link")
int BPF_PROG(gg_guard_pfile_link, struct dentry *old_dentry, struct inode *dir,
	     struct dentry *new_dentry, int ret)
{
	if (ret != 0)
		return ret;
	ret = gg_guard_pfile(GG_GFOP_CREATE, NULL, old_dentry);
	if (ret)
		return ret;
	return gg_guard_pfile(GG_GFOP_CREATE, dir, new_dentry);
}

SEC("lsm/inode_symlink")
int BPF_PROG(gg_guard_pfile_symlink, struct inode *dir, struct dentry *dentry,
	     const char *old_name, int ret)
{
	if (ret != 0)
		return ret;
	return gg_guard_pfile(GG_GFOP_CREATE, dir, dentry);
}

SEC("lsm/inode_unlink")
int BPF_PROG(gg_guard_pfile_unlink, struct inode *dir, struct dentry *dentry, int ret)
{
	if (ret != 0)
		return ret;
	return gg_guard_pfile(GG_GFOP_UNLINK, dir, dentry);
}

SEC("lsm/inode_rename")
int BPF_PROG(gg_guard_pfile_rename, struct inode *old_dir, struct dentry *old_dentry,
	     struct inode *new_dir, struct dentry *new_dentry, int ret)
{
	if (ret != 0)
		return ret;
	ret = gg_guard_pfile(GG_GFOP_RENAME, old_dir, old_dentry);
	if (ret)
		return ret;
	return gg_guard_pfile(GG_GFOP_RENAME, new_dir, new_dentry);
}

SEC("lsm/path_truncate")
int BPF_PROG(gg_guard_pfile_truncate, const struct path *path, int ret)
{
	if (ret != 0)
		return ret;
	return gg_guard_pfile(GG_GFOP_TRUNCATE, NULL, BPF_CORE_READ(path, dentry));
}

/* An empty guarded directory (or an ancestor) removed could be made again,
 * unguarded. */
SEC("lsm/inode_rmdir")
int BPF_PROG(gg_guard_pfile_rmdir, struct inode *dir, struct dentry *dentry, int ret)
{
	if (ret != 0)
		return ret;
	return gg_guard_pfile(GG_GFOP_UNLINK, dir, dentry);
}

/*
 * prctl(PR_SET_MM, PR_SET_MM_EXE_FILE or PR_SET_MM_MAP) sets a task's
 * exe_file, which names the program in records and in the decisions made
 * by it after exec. Checkpoint/restore's tool; no governed task needs it.
 * 0 lets the hook's default (-ENOSYS) stand.
 */
#define PR_SET_MM 35
#define PR_SET_MM_EXE_FILE 13
#define PR_SET_MM_MAP 14

SEC("lsm/task_prctl")
int BPF_PROG(gg_guard_prctl, int option, unsigned long arg2, unsigned long arg3,
	     unsigned long arg4, unsigned long arg5, int ret)
{
	if (ret != 0)
		return ret;
	/* not PR_SET_MM_ARG_START and the like: systemd's child renames
	 * itself with them before every exec */
	if (option != PR_SET_MM || (arg2 != PR_SET_MM_EXE_FILE && arg2 != PR_SET_MM_MAP) ||
	    !gg_guard_subject())
		return 0;
	return gg_refuse(GG_GUARD_SET_MM, arg2, NULL);
}

/*
 * govgate's own tasks run govgate's code only: a file mapped executable by
 * the daemon or a successor (gg_is_successor) must be the binary or a
 * library the daemon mapped when it locked (GG_GFILE_EXE, GG_GFILE_CODE,
 * both write-guarded). An LD_PRELOAD or LD_AUDIT library, /etc/ld.so.preload,
 * an LD_LIBRARY_PATH copy of libc, a replaced loader: refused, before any of
 * their code runs. A successor that cannot load is not govgate, and fails.
 */
static __always_inline int gg_guard_code(struct file *file, __u32 how)
{
	struct gg_settings *s = gg_settings();
	__u32 kind;

	if (!s || !s->locked)
		return 0;
	if (!gg_task_is_self(s) && !gg_is_successor(bpf_get_current_task_btf()))
		return 0;
	/* anonymous code too: govgate makes none (the unit says
	 * MemoryDenyWriteExecute=yes; a drop-in can take that away) */
	kind = file ? gg_guarded_inode(BPF_CORE_READ(file, f_inode)) : 0;
	if (kind == GG_GFILE_EXE || kind == GG_GFILE_CODE)
		return 0;
	return gg_refuse(GG_GUARD_CODE_MAP, how, BPF_CORE_READ(file, f_path.dentry, d_name.name));
}

SEC("lsm/mmap_file")
int BPF_PROG(gg_guard_code_mmap, struct file *file, unsigned long reqprot, unsigned long prot,
	     unsigned long flags, int ret)
{
	if (ret != 0)
		return ret;
	if (!(prot & PROT_EXEC))
		return 0;
	return gg_guard_code(file, 0);
}

SEC("lsm/file_mprotect")
int BPF_PROG(gg_guard_code_mprotect, struct vm_area_struct *vma, unsigned long reqprot,
	     unsigned long prot, int ret)
{
	if (ret != 0)
		return ret;
	if (!(prot & PROT_EXEC))
		return 0;
	return gg_guard_code(BPF_CORE_READ(vma, vm_file), 1);
}

/*
 * Marks the daemon's successor (gg_is_successor) at the end of an exec,
 * the new program's credentials committed and cred_guard_mutex still held
 * (no ptrace attach in between; after it, gg_guard_ptrace refuses one).
 * Any exec ends a mark. One is made only when, locked, init's own child
 * (forked by pid 1, exec'ing for the first time: what systemd does for a
 * unit's command, after moving it into the unit's cgroup) execs govgate's
 * binary (GG_GFILE_EXE) as `govgate run`, untraced, in the daemon's unit
 * cgroup. Not `govgate pack keygen --public <trust dir>/x.pub` from a
 * drop-in, nor a shell that execs govgate later.
 */
#define GG_ARGV0_MAX 256

/* argv[1] is "run": the strings are on the new program's stack from
 * bprm->p (argv first), and that mm is current's now. */
static __always_inline bool gg_argv_is_run(struct linux_binprm *bprm)
{
	unsigned long p = BPF_CORE_READ(bprm, p);
	char arg[GG_ARGV0_MAX];
	long n;

	if (BPF_CORE_READ(bprm, argc) < 2)
		return false;
	n = bpf_probe_read_user_str(arg, sizeof(arg), (const void *)p);
	if (n <= 0 || n >= (long)sizeof(arg)) /* unreadable, or too long to know */
		return false;
	n = bpf_probe_read_user_str(arg, 5, (const void *)(p + n));
	return n == 4 && arg[0] == 'r' && arg[1] == 'u' && arg[2] == 'n';
}

/* The exec that ends an init child (self_exec_id already counts it). */
static __always_inline bool gg_first_exec_by_init(struct task_struct *task)
{
	return gg_init_child_at(task, 1);
}

SEC("lsm/bprm_committed_creds")
int BPF_PROG(gg_guard_successor, struct linux_binprm *bprm)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct gg_settings *s = gg_settings();
	__u32 tgid = BPF_CORE_READ(task, tgid);
	__u64 start;

	bpf_map_delete_elem(&successor, &tgid);
	if (!s || !s->locked || BPF_CORE_READ(task, ptrace) || !gg_first_exec_by_init(task))
		return 0;
	if (gg_guarded_inode(BPF_CORE_READ(bprm, file, f_inode)) != GG_GFILE_EXE ||
	    !gg_in_daemon_unit(s, task) || !gg_argv_is_run(bprm))
		return 0;
	start = BPF_CORE_READ(task, group_leader, start_boottime);
	bpf_map_update_elem(&successor, &tgid, &start, BPF_ANY);
	return 0;
}

/*
 * The disk beneath the guarded files: root writing the block device (or
 * its NVMe or SCSI passthrough) rewrites applied.json, the keys or the
 * binary under the file guards, for the next start to read. A governed
 * task may not open a block device for writing, nor send a passthrough
 * command (SG_IO, NVMe's ioctls: both can write through a read-only fd).
 */
#define SG_IO_CMD 0x2285
#define SCSI_IOCTL_SEND_COMMAND 1

/* SG_IO and the older SCSI_IOCTL_SEND_COMMAND, or NVMe's ioctls ('N',
 * 0x40-0x7f: admin and I/O commands) */
static __always_inline bool gg_passthrough_cmd(unsigned int cmd)
{
	unsigned int nr = cmd & 0xff;

	return cmd == SG_IO_CMD || cmd == SCSI_IOCTL_SEND_COMMAND ||
	       (((cmd >> 8) & 0xff) == 'N' && nr >= 0x40 && nr < 0x80);
}

/* On a device file (block, or a char device: /dev/sg*, /dev/ng*). */
static __always_inline int gg_guard_disk_cmd(struct file *file, unsigned int cmd)
{
	umode_t mode = BPF_CORE_READ(file, f_inode, i_mode) & S_IFMT;

	if (mode != S_IFBLK && mode != S_IFCHR)
		return 0;
	/* exempt cgroups too: root reaches one through init */
	if (!gg_guard_subject())
		return 0;
	return gg_refuse(GG_GUARD_BLOCK_WRITE, cmd, BPF_CORE_READ(file, f_path.dentry, d_name.name));
}

/*
 * TIOCSTI pushes a character into a terminal's input, as if typed: the
 * terminal's reader runs it. In a cgroup scope that is the shell that
 * started the workload; otherwise a login shell, or an exempt task's
 * terminal. Refused to governed tasks, locked or not (Linux 6.2 made it
 * optional, dev.tty.legacy_tiocsti; Debian's 6.1 always has it). So is
 * TIOCLINUX: a virtual console's selection set and pasted into its input
 * (TIOCL_SETSEL, TIOCL_PASTESEL; root may on 6.1 and 6.12).
 *
 * The line itself (gg_guard_tty_line): TIOCMBIS and TIOCMSET (the tty's
 * owner may) set TIOCM_LOOP, which puts a serial port in loopback: what is
 * written to it comes back as its getty's or login shell's input (the mask
 * is behind a pointer: refused whatever the bits). TIOCSETD attaches a
 * line discipline that makes a keyboard (serport) or a network device of
 * the line. Refused when the tty's session is led by a task that is not
 * governed; a governed task's own serial port or pty (pyserial sets
 * DTR/RTS) and a line no session reads keep them.
 */
#define GG_TIOCSTI 0x5412
#define GG_TIOCLINUX 0x541C
#define GG_TIOCMBIS 0x5416
#define GG_TIOCMSET 0x5418
#define GG_TIOCSETD 0x5423

static __always_inline bool gg_tty_line_cmd(unsigned int cmd)
{
	return cmd == GG_TIOCMBIS || cmd == GG_TIOCMSET || cmd == GG_TIOCSETD;
}

/*
 * The console keyboard's tables (linux/kd.h), one set for every virtual
 * console: a key rebound to a string (KDSKBENT, KDSKBSENT), a scancode to
 * another key (KDSETKEYCODE), a dead key's compositions (KDSKBDIACR,
 * KDSKBDIACRUC). The next key the operator presses on any console types
 * what the workload chose into the operator's shell; root, or the console's
 * owner, may. And the foreground console switched (VT_ACTIVATE,
 * VT_SETACTIVATE) to one where the workload draws a login prompt and reads
 * what is typed. Refused to governed tasks in a cgroup scope (as an
 * existing input device's node, gg_guard_input); in global scope the
 * consoles' sessions are governed and the boot's keymap (setupcon,
 * loadkeys) too.
 */
#define GG_KDSKBENT 0x4B47
#define GG_KDSKBSENT 0x4B49
#define GG_KDSKBDIACR 0x4B4B
#define GG_KDSETKEYCODE 0x4B4D
#define GG_KDSKBDIACRUC 0x4BFB
#define GG_VT_ACTIVATE 0x5606
#define GG_VT_SETACTIVATE 0x560F

static __always_inline bool gg_console_cmd(unsigned int cmd)
{
	return cmd == GG_KDSKBENT || cmd == GG_KDSKBSENT || cmd == GG_KDSKBDIACR ||
	       cmd == GG_KDSETKEYCODE || cmd == GG_KDSKBDIACRUC || cmd == GG_VT_ACTIVATE ||
	       cmd == GG_VT_SETACTIVATE;
}

/*
 * PIDFD_GET_*_NAMESPACE (6.11 on; pidfs): a task's namespaces taken through
 * its pidfd, as /proc/PID/ns/ would give them (gg_guard_proc_link): a
 * governed task takes none of a task that is not governed. pidfs keeps the
 * struct pid in the inode's i_private (pidfd_pid).
 */
#define GG_PIDFD_NS_FIRST 0xFF01 /* _IO(PIDFS_IOCTL_MAGIC, 1) */
#define GG_PIDFD_NS_LAST 0xFF0A
#define GG_PID_FS_MAGIC 0x50494446

static __always_inline int gg_guard_pidfd_ns(struct file *file, unsigned int cmd)
{
	struct task_struct *task;
	struct gg_settings *s;

	if (BPF_CORE_READ(file, f_inode, i_sb, s_magic) != GG_PID_FS_MAGIC)
		return 0;
	s = gg_governed_other();
	if (!s)
		return 0;
	task = gg_pid_ungoverned(s, BPF_CORE_READ(file, f_inode, i_private));
	if (!task)
		return 0;
	return gg_refuse_scope(s, GG_GUARD_PIDFD_NS, cmd, task->comm);
}

static __always_inline int gg_guard_tty_inject(struct file *file, unsigned int cmd)
{
	struct gg_settings *s = gg_governed_other();

	if (!s)
		return 0;
	return gg_refuse_scope(s, GG_GUARD_TTY_INJECT, cmd,
			       BPF_CORE_READ(file, f_path.dentry, d_name.name));
}

static __always_inline int gg_guard_console(struct file *file, unsigned int cmd)
{
	struct gg_settings *s = gg_governed_other();

	if (!s || s->scope_mode != GG_SCOPE_CGROUP ||
	    (BPF_CORE_READ(file, f_inode, i_mode) & S_IFMT) != S_IFCHR)
		return 0;
	return gg_refuse_scope(s, GG_GUARD_TTY_INJECT, cmd,
			       BPF_CORE_READ(file, f_path.dentry, d_name.name));
}

/* A tty file's private_data is its tty_file_private (tty_add_file). */
static __always_inline int gg_guard_tty_line(struct file *file, unsigned int cmd)
{
	struct gg_settings *s = gg_governed_other();
	struct tty_file_private *priv;
	struct task_struct *leader;

	if (!s || (BPF_CORE_READ(file, f_inode, i_mode) & S_IFMT) != S_IFCHR)
		return 0;
	priv = BPF_CORE_READ(file, private_data);
	leader = gg_pid_ungoverned(s, BPF_CORE_READ(priv, tty, ctrl.session));
	if (!leader)
		return 0;
	return gg_refuse_scope(s, GG_GUARD_TTY_INJECT, cmd,
			       BPF_CORE_READ(file, f_path.dentry, d_name.name));
}

static __always_inline int gg_guard_ioctl(struct file *file, unsigned int cmd, int ret)
{
	if (ret != 0)
		return ret;
	if (cmd == GG_TIOCSTI || cmd == GG_TIOCLINUX)
		return gg_guard_tty_inject(file, cmd);
	if (gg_tty_line_cmd(cmd))
		return gg_guard_tty_line(file, cmd);
	if (gg_console_cmd(cmd))
		return gg_guard_console(file, cmd);
	if (cmd >= GG_PIDFD_NS_FIRST && cmd <= GG_PIDFD_NS_LAST)
		return gg_guard_pidfd_ns(file, cmd);
	return gg_passthrough_cmd(cmd) ? gg_guard_disk_cmd(file, cmd) : 0;
}

SEC("lsm/file_ioctl")
int BPF_PROG(gg_guard_passthrough, struct file *file, unsigned int cmd, unsigned long arg,
	     int ret)
{
	return gg_guard_ioctl(file, cmd, ret);
}

/* A 32-bit task's ioctl (the hook since 6.8, in Debian's 6.1 since 6.1.75) */
SEC("lsm/file_ioctl_compat")
int BPF_PROG(gg_guard_passthrough_compat, struct file *file, unsigned int cmd, unsigned long arg,
	     int ret)
{
	return gg_guard_ioctl(file, cmd, ret);
}

/* io_uring's passthrough (NVMe's /dev/ngXnY): any command on a device file. */
SEC("lsm/uring_cmd")
int BPF_PROG(gg_guard_uring_cmd, struct io_uring_cmd *ioucmd, int ret)
{
	struct file *file;

	if (ret != 0)
		return ret;
	file = BPF_CORE_READ(ioucmd, file);
	return gg_guard_disk_cmd(file, BPF_CORE_READ(ioucmd, cmd_op));
}

/*
 * Kernel memory beneath every hook here: /proc/kcore and kprobe events read
 * the audit key map and the daemon's memory; /dev/mem, iopl/ioperm, MSRs,
 * PCI BARs (device DMA) and a hibernation image write the maps. The kernel
 * asks its lockdown question (security_locked_down) before each of them:
 * refused while locked to every task but govgate's own, exempt cgroups too
 * (root reaches one through init). (The lockdown LSM's own
 * confidentiality mode would refuse govgate its own kernel reads too.)
 */
SEC("lsm/locked_down")
int BPF_PROG(gg_guard_locked_down, enum lockdown_reason what, int ret)
{
	if (ret != 0)
		return ret;
	/* asked in the task's own context: kcore's open, iopl(), the snapshot
	 * device's open, perf_event_open, a debugfs file's open, ... */
	if (!gg_guard_subject())
		return 0;
	/* xfrm's question only hides IPsec keys in a dump: no record */
	if (what == bpf_core_enum_value(enum lockdown_reason, LOCKDOWN_XFRM_SECRET))
		return -EPERM;
	return gg_refuse(GG_GUARD_LOCKDOWN, what, NULL);
}

#define GG_CAP_NET_ADMIN 12 /* <linux/capability.h> */
#define GG_CAP_OPT_NOAUDIT 2 /* <linux/security.h> */
#define GG_PF_KTHREAD 0x00200000 /* <linux/sched.h> */
#define GG_TS_COMPAT 0x0002 /* <asm/thread_info.h>: a 32-bit system call */
#define GG_NR_SETSOCKOPT 54 /* x86-64 */
#define GG_SOL_SOCKET 1

/* setsockopt(SOL_SOCKET, ...): a knob of the caller's own socket
 * (SO_SNDBUFFORCE, which sd-bus and systemd's stdout streams ask for on
 * every systemctl and unit start, and do without), not the network's
 * configuration: refused without a record. The registers are the task's
 * to fake (io_uring's task_work runs on a syscall's way out, io-wq
 * workers copy them, a tracer sets them), so this only ever spares a
 * record, never grants. A 32-bit call's numbers mean other things. */
static __always_inline bool gg_own_socket_option(struct task_struct *task)
{
	struct pt_regs *regs;

	if (BPF_CORE_READ(task, thread_info.status) & GG_TS_COMPAT)
		return false;
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	return BPF_CORE_READ(regs, orig_ax) == GG_NR_SETSOCKOPT &&
	       BPF_CORE_READ(regs, si) == GG_SOL_SOCKET;
}

/* init's child in a network namespace that is not pid 1's: a unit's
 * PrivateNetwork= sets up its loopback there, before exec. */
static __always_inline bool gg_init_child_own_netns(struct task_struct *task)
{
	return gg_init_child_at(task, 0) &&
	       BPF_CORE_READ(task, nsproxy, net_ns) !=
		       BPF_CORE_READ(task, real_parent, nsproxy, net_ns);
}

/*
 * The clock (CAP_SYS_TIME: settimeofday, clock_settime, adjtimex, an RTC's
 * time): a signed request's expiry is read from it (one held back stays
 * valid on a clock set back), and so is the settling of a file's ctime
 * that the digest cache trusts (a file rewritten with the clock set back
 * keeps its old ctime). Refused while locked to governed tasks; an NTP
 * client runs exempt, as a DHCP client does.
 */
#define GG_CAP_SYS_TIME 25

static __always_inline int gg_guard_clock(unsigned int opts)
{
	struct task_struct *task = bpf_get_current_task_btf();

	if (BPF_CORE_READ(task, flags) & GG_PF_KTHREAD)
		return 0;
	if (!gg_guard_subject() || !gg_task_in_scope())
		return 0;
	if (opts & GG_CAP_OPT_NOAUDIT)
		return -EPERM;
	return gg_refuse(GG_GUARD_CLOCK, 0, NULL);
}

/*
 * Network configuration moves packets past the gates: a tc filter or an
 * nf_tables netdev chain rewrites a packet after the packet check
 * (__dev_queue_xmit runs after ip_finish_output), a tunnel device sends its
 * outer packet with no socket, MPTCP's path manager connects subflows in
 * the kernel. Each asks the same question first, whichever interface
 * carries it (rtnetlink, nfnetlink, genetlink, an ioctl): CAP_NET_ADMIN in
 * the initial user namespace, which owns every network namespace root
 * makes (a namespace of its own is no way around: a veth's peer can be
 * made in pid 1's: gg_guard_netlink_send). Refused while locked to
 * governed tasks; exempt cgroups reach every address already. The noaudit
 * form (a net sysctl's mode) is refused without a record; root still owns
 * those files. The same program decides CAP_SYS_TIME (gg_guard_clock);
 * its pinned name is the first capability's.
 */
SEC("lsm/capable")
int BPF_PROG(gg_guard_net_admin, const struct cred *cred, struct user_namespace *ns, int cap,
	     unsigned int opts, int ret)
{
	struct task_struct *task;

	if (ret != 0)
		return ret;
	/* a time namespace's offsets (its owner's CAP_SYS_TIME) move no
	 * CLOCK_REALTIME */
	if (cap == GG_CAP_SYS_TIME)
		return BPF_CORE_READ(ns, level) ? 0 : gg_guard_clock(opts);
	if (cap != GG_CAP_NET_ADMIN)
		return 0;
	/* a user namespace of its own configures only namespaces it owns */
	if (BPF_CORE_READ(ns, level) != 0)
		return 0;
	task = bpf_get_current_task_btf();
	if (BPF_CORE_READ(task, flags) & GG_PF_KTHREAD)
		return 0;
	if (!gg_guard_subject() || !gg_task_in_scope() || gg_init_child_own_netns(task))
		return 0;
	if ((opts & GG_CAP_OPT_NOAUDIT) || gg_own_socket_option(task))
		return -EPERM;
	return gg_refuse(GG_GUARD_NET_CONFIG, 0, NULL);
}

#define GG_NETLINK_ROUTE 0
#define GG_RTM_NEWLINK 16
#define GG_NLM_F_CREATE 0x400
#define GG_NLMSG_ALIGN(len) (((len) + 3U) & ~3U)
#define GG_NL_MSGS_MAX 16

/*
 * A link made in a network namespace of a user namespace of the task's
 * own: CAP_NET_ADMIN there is the task's, but a veth's (or vxcan's) peer
 * can be put in pid 1's network namespace with no question asked of that
 * one (rtnl_link_get_net), and what is sent into it is forwarded out with
 * no socket. Locked, governed tasks make no link at all (in pid 1's
 * namespace gg_guard_net_admin refuses first). rtnetlink carries out every
 * message of a request (netlink_rcv_skb): each is read, and a request of
 * more than GG_NL_MSGS_MAX is refused.
 */
SEC("lsm/netlink_send")
int BPF_PROG(gg_guard_netlink_send, struct sock *sk, struct sk_buff *skb, int ret)
{
	struct nlmsghdr h;
	unsigned char *data;
	__u32 len, off = 0;

	if (ret != 0)
		return ret;
	if (BPF_CORE_READ(sk, sk_protocol) != GG_NETLINK_ROUTE || !gg_guard_subject() ||
	    !gg_task_in_scope())
		return 0;
	data = BPF_CORE_READ(skb, data);
	len = BPF_CORE_READ(skb, len);
	for (int i = 0; i < GG_NL_MSGS_MAX; i++) {
		if (off + sizeof(h) > len)
			return 0;
		if (bpf_probe_read_kernel(&h, sizeof(h), data + off))
			return -EPERM;
		if (h.nlmsg_type == GG_RTM_NEWLINK && (h.nlmsg_flags & GG_NLM_F_CREATE))
			return gg_refuse(GG_GUARD_NET_CONFIG, 1, NULL);
		if (h.nlmsg_len < sizeof(h) || h.nlmsg_len > len - off)
			return 0; /* where the kernel stops too */
		off += GG_NLMSG_ALIGN(h.nlmsg_len);
	}
	return off < len ? gg_refuse(GG_GUARD_NET_CONFIG, 2, NULL) : 0;
}

/*
 * A tun or tap device made before the lock (a VPN's, a VM's; with an owner,
 * or on 6.1 any without one: tun_not_capable asks no capability then): a
 * packet written to it is received as from a NIC and, where forwarding is
 * on, forwarded out past every socket hook and the packet check. Locked,
 * governed tasks attach to no device that exists (making one asks
 * CAP_NET_ADMIN of the namespace's owner first: gg_guard_net_admin). A
 * queue re-attached (IFF_ATTACH_QUEUE) is one of the device the file was
 * attached to already.
 */
SEC("lsm/tun_dev_open")
int BPF_PROG(gg_guard_tun_open, void *security, int ret)
{
	if (ret != 0)
		return ret;
	if (!gg_guard_subject() || !gg_task_in_scope() ||
	    gg_init_child_own_netns(bpf_get_current_task_btf()))
		return 0;
	return gg_refuse(GG_GUARD_NET_CONFIG, 3, NULL);
}

SEC("lsm/inode_mkdir")
int BPF_PROG(gg_guard_configfs_mkdir, struct inode *dir, struct dentry *dentry, umode_t mode,
	     int ret)
{
	if (ret != 0 || !gg_on_configfs(dir))
		return ret;
	return gg_guard_configfs(GG_CFOP_MKDIR, dentry);
}

SEC("lsm/inode_symlink")
int BPF_PROG(gg_guard_configfs_symlink, struct inode *dir, struct dentry *dentry,
	     const char *old_name, int ret)
{
	if (ret != 0 || !gg_on_configfs(dir))
		return ret;
	return gg_guard_configfs(GG_CFOP_SYMLINK, dentry);
}

/* Mounting over /etc (or any bind mount) could show a restarted daemon
 * other keys: governed tasks do not mount in locked mode. Init's side
 * (a unit's PrivateTmp and the like) and exempt cgroups still do. */
static __always_inline int gg_guard_mounting(__u32 how)
{
	if (!gg_guard_subject() || !gg_task_in_scope() || gg_init_child_sandbox())
		return 0;
	return gg_refuse(GG_GUARD_MOUNT, how, NULL);
}

SEC("lsm/sb_mount")
int BPF_PROG(gg_guard_mount, const char *dev_name, const struct path *path, const char *type,
	     unsigned long flags, void *data, int ret)
{
	if (ret != 0)
		return ret;
	return gg_guard_mounting(0);
}

SEC("lsm/move_mount")
int BPF_PROG(gg_guard_move_mount, const struct path *from_path, const struct path *to_path,
	     int ret)
{
	if (ret != 0)
		return ret;
	return gg_guard_mounting(1);
}

/* The new mount API: fsopen, fsconfig(FSCONFIG_CMD_CREATE) makes the
 * superblock, fsmount a detached mount of it that needs no move_mount to
 * be used (execveat or openat relative to its fd). A file system image of
 * the workload's making holds files whose inode numbers and ctimes it
 * chose (the digest cache's key), so it is refused as mount(2) is. */
SEC("lsm/sb_kern_mount")
int BPF_PROG(gg_guard_fs_create, struct super_block *sb, int ret)
{
	if (ret != 0)
		return ret;
	return gg_guard_mounting(3);
}

/* fspick and fsconfig(FSCONFIG_CMD_RECONFIGURE): a remount that mount(2)
 * would have been refused (read-only under the daemon's state and log). */
SEC("lsm/sb_remount")
int BPF_PROG(gg_guard_fs_reconfigure, struct super_block *sb, void *mnt_opts, int ret)
{
	if (ret != 0)
		return ret;
	return gg_guard_mounting(4);
}

/*
 * A lock taken on a file in a guarded directory (flock, fcntl): the
 * daemon's own lock file in /run/govgate, held by a governed task while
 * init restarts the daemon, would keep every restart from starting (the
 * CLI opens it read-only to find the daemon's pid, and a read-only fd can
 * be locked).
 */
SEC("lsm/file_lock")
int BPF_PROG(gg_guard_file_lock, struct file *file, unsigned int cmd, int ret)
{
	if (ret != 0)
		return ret;
	return gg_guard_pfile(GG_GFOP_LOCK, NULL, BPF_CORE_READ(file, f_path.dentry));
}

GG_ASSERT_PINNED(gg_guard_bpf, GG_PROG_GUARD_BPF);
GG_ASSERT_PINNED(gg_guard_fs_create, GG_PROG_GUARD_FS_CREATE);
GG_ASSERT_PINNED(gg_guard_fs_reconfigure, GG_PROG_GUARD_FS_RECONFIGURE);
GG_ASSERT_PINNED(gg_guard_file_lock, GG_PROG_GUARD_FILE_LOCK);
GG_ASSERT_PINNED(gg_guard_bpf_map, GG_PROG_GUARD_BPF_MAP);
GG_ASSERT_PINNED(gg_guard_map_mmap, GG_PROG_GUARD_MAP_MMAP);
GG_ASSERT_PINNED(gg_guard_unlink, GG_PROG_GUARD_UNLINK);
GG_ASSERT_PINNED(gg_guard_rename, GG_PROG_GUARD_RENAME);
GG_ASSERT_PINNED(gg_guard_rmdir, GG_PROG_GUARD_RMDIR);
GG_ASSERT_PINNED(gg_guard_umount, GG_PROG_GUARD_UMOUNT);
GG_ASSERT_PINNED(gg_guard_ptrace, GG_PROG_GUARD_PTRACE);
GG_ASSERT_PINNED(gg_guard_kill, GG_PROG_GUARD_KILL);
GG_ASSERT_PINNED(gg_guard_file_open, GG_PROG_GUARD_FILE_OPEN);
GG_ASSERT_PINNED(gg_guard_task_alloc, GG_PROG_GUARD_TASK_ALLOC);
GG_ASSERT_PINNED(gg_guard_proc_link, GG_PROG_GUARD_PROC_LINK);
GG_ASSERT_PINNED(gg_guard_pfile_open, GG_PROG_GUARD_PFILE_OPEN);
GG_ASSERT_PINNED(gg_guard_pfile_create, GG_PROG_GUARD_PFILE_CREATE);
GG_ASSERT_PINNED(gg_guard_pfile_mkdir, GG_PROG_GUARD_PFILE_MKDIR);
GG_ASSERT_PINNED(gg_guard_pfile_mknod, GG_PROG_GUARD_PFILE_MKNOD);
GG_ASSERT_PINNED(gg_guard_pfile_link, GG_PROG_GUARD_PFILE_LINK);
GG_ASSERT_PINNED(gg_guard_pfile_symlink, GG_PROG_GUARD_PFILE_SYMLINK);
GG_ASSERT_PINNED(gg_guard_pfile_unlink, GG_PROG_GUARD_PFILE_UNLINK);
GG_ASSERT_PINNED(gg_guard_pfile_rename, GG_PROG_GUARD_PFILE_RENAME);
GG_ASSERT_PINNED(gg_guard_pfile_truncate, GG_PROG_GUARD_PFILE_TRUNCATE);
GG_ASSERT_PINNED(gg_guard_mount, GG_PROG_GUARD_MOUNT);
GG_ASSERT_PINNED(gg_guard_move_mount, GG_PROG_GUARD_MOVE_MOUNT);
GG_ASSERT_PINNED(gg_guard_pfile_rmdir, GG_PROG_GUARD_PFILE_RMDIR);
GG_ASSERT_PINNED(gg_guard_code_mmap, GG_PROG_GUARD_CODE_MMAP);
GG_ASSERT_PINNED(gg_guard_code_mprotect, GG_PROG_GUARD_CODE_MPROTECT);
GG_ASSERT_PINNED(gg_guard_passthrough, GG_PROG_GUARD_PASSTHROUGH);
GG_ASSERT_PINNED(gg_guard_uring_cmd, GG_PROG_GUARD_URING_CMD);
GG_ASSERT_PINNED(gg_guard_passthrough_compat, GG_PROG_GUARD_PASSTHROUGH_COMPAT);
GG_ASSERT_PINNED(gg_guard_prctl, GG_PROG_GUARD_PRCTL);
GG_ASSERT_PINNED(gg_guard_successor, GG_PROG_GUARD_SUCCESSOR);
GG_ASSERT_PINNED(gg_guard_tun_open, GG_PROG_GUARD_TUN_OPEN);
GG_ASSERT_PINNED(gg_guard_configfs_mkdir, GG_PROG_GUARD_CONFIGFS_MKDIR);
GG_ASSERT_PINNED(gg_guard_configfs_symlink, GG_PROG_GUARD_CONFIGFS_SYMLINK);
