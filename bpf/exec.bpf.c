// SPDX-License-Identifier: GPL-2.0
/*
 * cmd.exec: deny execution by canonical path, by file identity (dev, ino),
 * by file name and (LSM only) by the SHA-256 of the file's content, or
 * (LSM only) of any file not on the trust lists in force. On the LSM path
 * executable mappings of files (the loader, dlopen) are checked too.
 *
 * LSM: bprm_check_security runs once per binary handler pass, so the
 * interpreter named by a #! line is checked too (fs/exec.c exec_binprm
 * swaps bprm->file to the interpreter and searches again). It is sleepable
 * so bpf_d_path can give the canonical path.
 *
 * Fallback (no BPF LSM): sched_process_exec fires after the new image is
 * committed but before it runs a user instruction; SIGKILL sent there is
 * delivered on the way back to user space. There is no d_path here, so the
 * path rule matches the filename as passed; identity and name rules cover
 * symlinks, hardlinks and relative names.
 */
#include "common.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct gg_exec_path_key);
	__type(value, struct gg_verdict);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* rules take memory, not capacity */
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} exec_path SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct gg_exec_name_key);
	__type(value, struct gg_verdict);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* rules take memory, not capacity */
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} exec_name SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct gg_exec_inode_key);
	__type(value, struct gg_verdict);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* rules take memory, not capacity */
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} exec_inode SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct gg_exec_digest_key);
	__type(value, struct gg_verdict);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* rules take memory, not capacity */
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} exec_digest SEC(".maps");

/* Trust lists (govgate_abi.h): digest -> the lists of the slot that
 * name it; by slot, each list's verdict. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 262144);
	__type(key, struct gg_exec_digest_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} exec_trust SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GG_SLOTS);
	__type(key, __u32);
	__type(value, struct gg_exec_trust_cfg);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} exec_trust_cfg SEC(".maps");

/* The digest cache (not pinned: a new daemon hashes again). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct gg_exec_hash_key);
	__type(value, struct gg_exec_hash_val);
} exec_hash SEC(".maps");

/* Digest scratch, on the deciding program's own stack (in its union of
 * keys, gg_exec_file_keys): the program sleeps while IMA reads the file,
 * and another exec on the same CPU would overwrite a per-CPU buffer; task
 * storage was allocated (and freed, at exit) for every new process, which
 * was most of the cost of an exec's digest check once it was cached. IMA
 * copies at most the size it is given, so a SHA-256 goes straight into
 * dk; another algorithm is refused by its id. */
struct gg_exec_digest_tmp {
	struct gg_exec_hash_key hk;
	__u32 unpinned; /* gg_content_unpinned: no trust list trusts it */
	struct gg_exec_digest_key dk;
	/* the file's ctime when it was looked up: with dk.sha256 before it,
	 * the cache's row (struct gg_exec_hash_val), written from here (no
	 * stack is left for a copy) */
	__s64 ctime_sec;
	__u32 ctime_nsec;
	__u32 _pad;
};
_Static_assert(__builtin_offsetof(struct gg_exec_digest_tmp, ctime_sec) -
		       __builtin_offsetof(struct gg_exec_digest_tmp, dk.sha256) ==
		       __builtin_offsetof(struct gg_exec_hash_val, ctime_sec) &&
	       __builtin_offsetof(struct gg_exec_digest_tmp, ctime_nsec) -
		       __builtin_offsetof(struct gg_exec_digest_tmp, dk.sha256) ==
		       __builtin_offsetof(struct gg_exec_hash_val, ctime_nsec) &&
	       sizeof(struct gg_exec_digest_tmp) -
		       __builtin_offsetof(struct gg_exec_digest_tmp, dk.sha256) ==
		       sizeof(struct gg_exec_hash_val),
	       "dk.sha256 and the ctime that follows it are a gg_exec_hash_val");

/* Scratch for a record's argv copy (too big for the stack), per task: the
 * LSM programs may sleep (a fault in the user read), and another task on
 * the same CPU would overwrite a per-CPU buffer meanwhile. Made only when
 * a record is written. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct gg_exec_args);
} exec_args_tmp SEC(".maps");

/* The same for the fallback's tp_btf program, which never sleeps. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gg_exec_args);
} exec_args_scratch SEC(".maps");

GG_ASSERT_PINNED(exec_path, GG_MAP_EXEC_PATH);
GG_ASSERT_PINNED(exec_name, GG_MAP_EXEC_NAME);
GG_ASSERT_PINNED(exec_inode, GG_MAP_EXEC_INODE);
GG_ASSERT_PINNED(exec_digest, GG_MAP_EXEC_DIGEST);
GG_ASSERT_PINNED(exec_trust, GG_MAP_EXEC_TRUST);
GG_ASSERT_PINNED(exec_trust_cfg, GG_MAP_EXEC_TRUST_CFG);

#define GG_ARGV_MAX 20
#define GG_ARG_CHUNK 256
/* A chunk read at an offset masked below GG_ARGS_MAX stays inside buf. */
_Static_assert(GG_ARG_CHUNK <= GG_ARGS_MAX &&
		       sizeof(((struct gg_exec_args *)0)->buf) >= 2 * GG_ARGS_MAX,
	       "argv chunks must fit behind any masked offset");

/* Reads up to GG_ARGV_MAX strings of a user argv array into a. For the
 * audit log only: user memory can change after it is read, so nothing
 * here ever decides. */
static __always_inline void gg_read_argv(struct gg_exec_args *a, const char *const *argv)
{
	a->argc = 0;
	a->len = 0;
	for (int i = 0; i < GG_ARGV_MAX; i++) {
		const char *arg = NULL;
		__u32 off = a->len;
		long n;

		if (bpf_probe_read_user(&arg, sizeof(arg), &argv[i]) || !arg)
			break;
		if (off >= GG_ARGS_MAX)
			break;
		n = bpf_probe_read_user_str(&a->buf[off & (GG_ARGS_MAX - 1)], GG_ARG_CHUNK, arg);
		if (n <= 0)
			break;
		a->len = off + n;
		a->argc++;
	}
	if (a->len > GG_ARGS_MAX)
		a->len = GG_ARGS_MAX;
}

/* argv into the record. */
static __always_inline void gg_event_args_from(struct gg_event *e, struct gg_exec_args *a)
{
	e->exec.argc = 0;
	e->exec.args_len = 0;
	if (a) {
		__u32 len = a->len;

		if (len > GG_ARGS_MAX)
			len = GG_ARGS_MAX;
		e->exec.argc = a->argc;
		e->exec.args_len = len;
		bpf_probe_read_kernel(e->exec.args, sizeof(e->exec.args), a->buf);
	}
}

/* x86_64 syscall numbers: which argument of the syscall being served is
 * argv. */
#define GG_NR_EXECVE 59
#define GG_NR_EXECVEAT 322

/*
 * LSM path, bprm_check_security: the exec being decided is still the
 * syscall's, and current's mm is still the old one, so argv is the
 * syscall's own argument, read from the old image like the tracepoint
 * read it, but only for a record: no syscall tracepoint (it put every
 * syscall of every task on the slow path) and no map update per exec. A
 * kernel-started exec (no syscall) or a 32-bit one records no argv.
 */
static __always_inline void gg_event_args_syscall(struct gg_event *e)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	const char *const *argv = NULL;
	struct gg_exec_args *a;
	long nr;

	nr = BPF_CORE_READ(regs, orig_ax);
	if (nr == GG_NR_EXECVE)
		argv = (const char *const *)BPF_CORE_READ(regs, si);
	else if (nr == GG_NR_EXECVEAT)
		argv = (const char *const *)BPF_CORE_READ(regs, dx);
	a = argv ? bpf_task_storage_get(&exec_args_tmp, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE) :
		   NULL;
	if (a)
		gg_read_argv(a, argv);
	gg_event_args_from(e, a);
}

/* A mapping's record: the mapping task's own argv, from its stack
 * (mm->start_stack points at argc, argv[] follows). */
static __always_inline void gg_event_args_own(struct gg_event *e)
{
	struct task_struct *task = bpf_get_current_task_btf();
	unsigned long sp = BPF_CORE_READ(task, mm, start_stack);
	struct gg_exec_args *a;

	a = sp ? bpf_task_storage_get(&exec_args_tmp, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE) :
		 NULL;
	if (a)
		gg_read_argv(a, (const char *const *)(sp + sizeof(long)));
	gg_event_args_from(e, a);
}

/*
 * Fallback: the new image's argv, read only for a record. At
 * sched_process_exec the new stack is set up and current's: mm->start_stack
 * points at argc, argv[] follows (create_elf_tables). No syscall
 * tracepoint is needed, which would put every syscall of every task on the
 * slow path, and no map update per exec.
 */
static __always_inline void gg_event_args_stack(struct gg_event *e, struct task_struct *p)
{
	unsigned long sp = BPF_CORE_READ(p, mm, start_stack);
	struct gg_exec_args *a;
	__u32 zero = 0;

	a = sp ? bpf_map_lookup_elem(&exec_args_scratch, &zero) : NULL;
	if (a)
		gg_read_argv(a, (const char *const *)(sp + sizeof(long)));
	gg_event_args_from(e, a);
}

/* The identity of a file: re-read where needed rather than kept on the
 * stack (the LSM exec program's 512 bytes are nearly all used). */
static __always_inline __u64 gg_file_dev(struct file *file)
{
	return BPF_CORE_READ(file, f_inode, i_sb, s_dev);
}

static __always_inline __u64 gg_file_ino(struct file *file)
{
	return BPF_CORE_READ(file, f_inode, i_ino);
}

static __always_inline void gg_exec_event(struct gg_event *e, struct linux_binprm *bprm,
					  __u32 match)
{
	struct file *file = BPF_CORE_READ(bprm, file);

	bpf_probe_read_kernel_str(e->exec.filename, sizeof(e->exec.filename),
				  BPF_CORE_READ(bprm, filename));
	e->exec.dev = gg_file_dev(file);
	e->exec.ino = gg_file_ino(file);
	e->exec.match = match;
	e->exec.digest_known = 0;
	__builtin_memset(e->exec.sha256, 0, sizeof(e->exec.sha256));
}

/* The identity key, the name key and the digest scratch are never live
 * at once: one buffer (the LSM program, its path key and bpf_loop's
 * callback share 512 bytes of stack on 6.1). */
union gg_exec_file_keys {
	struct gg_exec_inode_key ik;
	struct gg_exec_name_key nk;
	struct gg_exec_digest_tmp dt;
};

/*
 * A dentry open_by_handle_at() made when the dentry cache had no alias of
 * the file (d_obtain_alias): it is its own parent and named "/", and
 * bpf_d_path gives "/". Name and path rules cannot see what it is, so it is
 * looked up under GG_EXEC_NAME_DISCONNECTED, which the floor denies
 * (FLOOR-TAMPER-FHANDLE). DCACHE_DISCONNECTED is a #define before 6.15.
 */
static __always_inline bool gg_dentry_disconnected(struct dentry *d)
{
	__u32 bit = 1U << 5;

	if (bpf_core_enum_value_exists(enum dentry_flags, DCACHE_DISCONNECTED))
		bit = bpf_core_enum_value(enum dentry_flags, DCACHE_DISCONNECTED);
	return (BPF_CORE_READ(d, d_flags) & bit) && BPF_CORE_READ(d, d_parent) == d;
}

/* Looks the file up by identity and name; returns the match kind. On
 * return, keys->nk holds the name key. */
static __always_inline __u32 gg_exec_lookup_file(struct file *file, __u32 slot, __u32 *action,
						 __u32 *entries, union gg_exec_file_keys *keys)
{
	struct gg_exec_inode_key *ik = &keys->ik;
	struct gg_exec_name_key *nk = &keys->nk;
	struct gg_verdict *v;
	__u32 match = 0;

	__builtin_memset(ik, 0, sizeof(*ik));
	ik->slot = slot;
	ik->dev = gg_file_dev(file);
	ik->ino = gg_file_ino(file);
	v = bpf_map_lookup_elem(&exec_inode, ik);
	if (v && v->entry) {
		gg_hit(v, action, entries, GG_EXEC_HIT_INODE);
		match = GG_EXEC_BY_INODE;
	}

	__builtin_memset(nk, 0, sizeof(*nk));
	nk->slot = slot;
	if (gg_dentry_disconnected(BPF_CORE_READ(file, f_path.dentry))) {
		__builtin_memcpy(nk->name, GG_EXEC_NAME_DISCONNECTED,
				 sizeof(GG_EXEC_NAME_DISCONNECTED));
		v = bpf_map_lookup_elem(&exec_name, nk);
		if (v && v->entry) {
			gg_hit(v, action, entries, GG_EXEC_HIT_NAME);
			match = GG_EXEC_BY_DISCONNECTED;
		}
		return match;
	}
	bpf_probe_read_kernel_str(nk->name, sizeof(nk->name),
				  BPF_CORE_READ(file, f_path.dentry, d_name.name));
	v = bpf_map_lookup_elem(&exec_name, nk);
	if (v && v->entry) {
		gg_hit(v, action, entries, GG_EXEC_HIT_NAME);
		if (!match)
			match = GG_EXEC_BY_NAME;
	}
	return match;
}

/* Finds the last '/' of a path. Shares the layout of gg_exec_path_key (the
 * slot field holds the index) so the key's stack can be reused. */
struct gg_scan {
	__u32 last;
	char path[GG_PATH_MAX];
};

_Static_assert(sizeof(struct gg_scan) == sizeof(struct gg_exec_path_key) &&
		       __builtin_offsetof(struct gg_scan, last) ==
			       __builtin_offsetof(struct gg_exec_path_key, slot) &&
		       sizeof(((struct gg_scan *)0)->last) ==
			       sizeof(((struct gg_exec_path_key *)0)->slot) &&
		       __builtin_offsetof(struct gg_scan, path) ==
			       __builtin_offsetof(struct gg_exec_path_key, path),
	       "struct gg_scan must overlay struct gg_exec_path_key exactly");

static long gg_scan_step(__u32 i, void *ctx)
{
	struct gg_scan *s = ctx;
	char c = s->path[i & (GG_PATH_MAX - 1)];

	if (!c)
		return 1;
	if (c == '/')
		s->last = i;
	return 0;
}

/* Zeroes path[last..]: bpf_d_path builds the path at the end of the buffer
 * and moves it to the front, leaving stale bytes behind the NUL that would
 * make the hash key miss. By 4-byte words from the word holding `last` (the
 * path is 4-byte aligned in the key; stack accesses must be aligned):
 * about 60 iterations for a typical path instead of 256. */
#define GG_PATH_WORDS (GG_PATH_MAX / 4)
_Static_assert(GG_IS_POW2(GG_PATH_WORDS), "GG_PATH_WORDS masks word indices");
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "gg_zero_tail keeps the low bytes");

static long gg_zero_tail(__u32 i, void *ctx)
{
	struct gg_scan *s = ctx;
	__u32 w = (s->last / 4 + i) & (GG_PATH_WORDS - 1);
	__u32 *word = (__u32 *)s->path + w;
	__u32 keep = s->last > w * 4 ? s->last - w * 4 : 0; /* bytes before `last` */

	if (s->last / 4 + i >= GG_PATH_WORDS)
		return 1;
	/* Little endian: the first bytes are the low ones. */
	*word = keep >= 4 ? *word : *word & ((1U << (keep * 8)) - 1);
	return 0;
}

/* Makes a bpf_d_path result (len bytes, the NUL included) a lookup key:
 * zeroes what lies behind it, then restores the slot the scan overlaid. */
static __always_inline void gg_path_key_finish(struct gg_exec_path_key *pk, long len, __u32 slot)
{
	((struct gg_scan *)pk)->last = len;
	bpf_loop(GG_PATH_WORDS, gg_zero_tail, pk, 0);
	pk->slot = slot;
}

/* The last component of the path as the caller passed it (s->path holds
 * it): a symlink named like a denied tool (modprobe -> kmod) is caught
 * here, the file it resolves to by gg_exec_lookup_file. bpf_loop keeps the
 * verifier from walking 256 iterations. */
static __always_inline bool gg_exec_lookup_invoked(struct gg_scan *s, __u32 slot, __u32 *action,
						   __u32 *entries, struct gg_exec_name_key *nk)
{
	struct gg_verdict *v;

	s->last = (__u32)-1;
	bpf_loop(GG_PATH_MAX, gg_scan_step, s, 0);
	__builtin_memset(nk, 0, sizeof(*nk));
	nk->slot = slot;
	bpf_probe_read_kernel_str(nk->name, sizeof(nk->name),
				  s->path + ((s->last + 1) & (GG_PATH_MAX - 1)));
	v = bpf_map_lookup_elem(&exec_name, nk);
	if (!v || !v->entry)
		return false;
	gg_hit(v, action, entries, GG_EXEC_HIT_INVOKED);
	return true;
}

/* inode ctime: i_ctime_sec/nsec from 6.11, __i_ctime in 6.6-6.10, i_ctime
 * before. The top bits of the nanoseconds carry flags from 6.13. */
struct inode___ctime66 {
	struct timespec64 __i_ctime;
} __attribute__((preserve_access_index));

struct inode___ctime61 {
	struct timespec64 i_ctime;
} __attribute__((preserve_access_index));

static __always_inline void gg_inode_ctime(struct inode *inode, __s64 *sec, __u32 *nsec)
{
	struct inode___ctime66 *i66 = (void *)inode;
	struct inode___ctime61 *i61 = (void *)inode;

	if (bpf_core_field_exists(inode->i_ctime_sec)) {
		*sec = BPF_CORE_READ(inode, i_ctime_sec);
		*nsec = BPF_CORE_READ(inode, i_ctime_nsec);
	} else if (bpf_core_field_exists(i66->__i_ctime)) {
		*sec = BPF_CORE_READ(i66, __i_ctime.tv_sec);
		*nsec = BPF_CORE_READ(i66, __i_ctime.tv_nsec);
	} else {
		*sec = BPF_CORE_READ(i61, i_ctime.tv_sec);
		*nsec = BPF_CORE_READ(i61, i_ctime.tv_nsec);
	}
	*nsec &= 0x3fffffff;
}

/*
 * A file is cached only once its ctime is this far in the past: ctime
 * comes from a coarse clock (a tick), so a file rewritten within the tick
 * it was last changed in would keep its ctime. TAI is ahead of the
 * realtime ctime by at most 37 s (the TAI-UTC offset, or 0 when unset).
 */
#define GG_HASH_SETTLE_S 64

/* A cache row's nanoseconds that no ctime has (gg_inode_ctime masks them
 * to 30 bits): a placeholder, never found. */
#define GG_CTIME_NONE 0xffffffffU

/* bpf_ima_file_hash's result for SHA-256 (enum hash_algo). */
#define GG_HASH_ALGO_SHA256 4

/*
 * The cache forgets a file opened for writing or truncated (by path: no
 * open): its next exec or mapping is hashed again. A ctime check alone
 * would let root set the clock back to a cached ctime and chmod the
 * rewritten file.
 */
static __always_inline void gg_exec_hash_forget(struct inode *inode)
{
	struct gg_exec_hash_key k;

	if (gg_inode_id(inode, &k))
		bpf_map_delete_elem(&exec_hash, &k);
}

/* (a write-open: gg_exec_write_open, with the mapping checks below) */
SEC("lsm/path_truncate")
int BPF_PROG(gg_exec_hash_truncate, const struct path *path, int ret)
{
	gg_exec_hash_forget(BPF_CORE_READ(path, dentry, d_inode));
	return ret;
}

/* Fills d->dk.sha256 with the SHA-256 of the file, from the cache or (a
 * sleepable program: may_hash) from IMA; returns whether it could. */
static __always_inline bool gg_exec_digest(struct file *file, struct gg_exec_digest_tmp *d,
					   const bool may_hash)
{
	struct inode *inode = BPF_CORE_READ(file, f_inode);
	struct gg_exec_hash_val *cached;
	__s64 sec;
	__u32 nsec;
	long algo;

	d->hk.dev = gg_file_dev(file);
	d->hk.ino = gg_file_ino(file);
	gg_inode_ctime(inode, &d->ctime_sec, &d->ctime_nsec);
	/* a writer open now can change what a mapping shows after the check */
	d->unpinned = gg_content_unpinned(inode) || gg_inode_has_writers(inode);
	cached = bpf_map_lookup_elem(&exec_hash, &d->hk);
	if (cached && cached->ctime_sec == d->ctime_sec && cached->ctime_nsec == d->ctime_nsec) {
		__builtin_memcpy(d->dk.sha256, cached->sha256, GG_SHA256_LEN);
		return true;
	}
	if (!may_hash)
		return false;
	/* A placeholder row first, never found (no ctime has these
	 * nanoseconds): a writer that opens while the file is read deletes it
	 * (gg_exec_write_open), and the row below is then not written
	 * (BPF_EXIST). Else a writer that opened, wrote and closed meanwhile
	 * would leave only its ctime, which root can set back. */
	nsec = d->ctime_nsec;
	d->ctime_nsec = GG_CTIME_NONE;
	d->_pad = 0;
	__builtin_memset(d->dk.sha256, 0, GG_SHA256_LEN);
	bpf_map_update_elem(&exec_hash, &d->hk, d->dk.sha256, BPF_ANY);
	d->ctime_nsec = nsec;
	algo = bpf_ima_file_hash(file, d->dk.sha256, sizeof(d->dk.sha256));
	if (algo != GG_HASH_ALGO_SHA256)
		return false; /* IMA hashes with another algorithm: name rules only */
	/* Cached only if the file did not change while it was read, its
	 * ctime has settled, no one can write it unseen (a writable fd or
	 * shared mapping, open before: its file_open came before this row),
	 * and its file system holds its content still. */
	gg_inode_ctime(inode, &sec, &nsec);
	if (sec != d->ctime_sec || nsec != d->ctime_nsec || d->unpinned ||
	    gg_inode_has_writers(inode))
		return true;
	if (sec + GG_HASH_SETTLE_S >= (__s64)(bpf_ktime_get_tai_ns() / 1000000000ULL))
		return true;
	if (bpf_map_update_elem(&exec_hash, &d->hk, d->dk.sha256, BPF_EXIST))
		return true;
	/* a writer still open now whose forget came before the placeholder */
	if (gg_inode_has_writers(inode))
		bpf_map_delete_elem(&exec_hash, &d->hk);
	return true;
}

/* Looks the file's content up in exec_digest, with d as the scratch.
 * Returns d with the digest, or NULL when it is not known (the slot has no
 * digests, so no hash is made; or none could be had). A matching rule
 * fills entries[GG_EXEC_HIT_DIGEST]. */
static __always_inline struct gg_exec_digest_tmp *
gg_exec_lookup_digest(struct file *file, __u32 slot, __u32 *action,
		      __u32 *entries, const bool may_hash, struct gg_exec_digest_tmp *d)
{
	struct gg_verdict *v;

	if (!gg_slot_has_digests(slot))
		return NULL; /* nothing to match: no hash */
	if (!gg_exec_digest(file, d, may_hash))
		return NULL;
	d->dk.slot = slot;
	v = bpf_map_lookup_elem(&exec_digest, &d->dk);
	gg_hit(v, action, entries, GG_EXEC_HIT_DIGEST);
	return d;
}

/* Trusted-executables mode: folds in the verdict of every trust list of
 * the slot that does not name the file's digest (an unknown digest is on
 * none). Returns whether one did not. */
static __always_inline bool gg_exec_lookup_trust(struct gg_exec_digest_tmp *d, __u32 slot,
						 __u32 *action, __u32 *entries)
{
	struct gg_exec_trust_cfg *cfg;
	__u32 have = 0, *lists;
	bool hit = false;

	cfg = bpf_map_lookup_elem(&exec_trust_cfg, &slot);
	if (!cfg || !cfg->n_lists)
		return false;
	/* a file whose content its file system does not hold still is on
	 * no list, whatever its digest was when it was read */
	if (d && !d->unpinned) {
		d->dk.slot = slot;
		lists = bpf_map_lookup_elem(&exec_trust, &d->dk);
		if (lists)
			have = *lists;
	}
	for (__u32 i = 0; i < GG_TRUST_LISTS_MAX; i++) {
		if (i >= cfg->n_lists)
			break;
		if (have & (1U << i))
			continue;
		gg_hit(&cfg->list[i], action, entries, GG_EXEC_HIT_TRUST);
		hit = true;
	}
	return hit;
}

SEC("lsm.s/bprm_check_security")
int BPF_PROG(gg_exec_check, struct linux_binprm *bprm, int ret)
{
	struct gg_exec_path_key pk;
	__u32 action = GG_ACT_NONE, entries[GG_MAX_HITS] = {};
	__u32 slot, match = 0, flags;
	__u64 generation;
	struct gg_exec_digest_tmp *d;
	struct gg_verdict *v;
	struct gg_event *e;

	if (ret != 0)
		return ret; /* never override an earlier LSM's denial */
	if (!gg_task_in_scope())
		return 0;
	slot = gg_active_slot(&generation);

	__builtin_memset(&pk, 0, sizeof(pk));
	pk.slot = slot;
	long len = bpf_d_path((struct path *)&bprm->file->f_path, pk.path, sizeof(pk.path));

	if (len > 0) {
		gg_path_key_finish(&pk, len, slot);
		v = bpf_map_lookup_elem(&exec_path, &pk);
		if (v && v->entry) {
			gg_hit(v, &action, entries, GG_EXEC_HIT_PATH);
			match = GG_EXEC_BY_PATH;
		}
	}
	union gg_exec_file_keys keys;
	__u32 m = gg_exec_lookup_file(bprm->file, slot, &action, entries, &keys);

	if (!match)
		match = m;
	/* pk.path now holds the invoked filename (the event re-reads d_path). */
	bpf_probe_read_kernel_str(pk.path, sizeof(pk.path), BPF_CORE_READ(bprm, filename));
	if (gg_exec_lookup_invoked((struct gg_scan *)&pk, slot, &action, entries, &keys.nk) &&
	    !match)
		match = GG_EXEC_BY_INVOKED_NAME;
	/* the keys are dead from here: their bytes are the digest scratch */
	d = gg_exec_lookup_digest(bprm->file, slot, &action, entries, true,
				  &keys.dt);
	/* exec denies writers the file (i_writecount < 0) unless fanotify's
	 * pre-content marks are on its file system (6.12): then it can be
	 * rewritten while it runs, and no trust list trusts it */
	if (d && BPF_CORE_READ(bprm->file, f_inode, i_writecount.counter) >= 0)
		d->unpinned = 1;
	if (entries[GG_EXEC_HIT_DIGEST] && !match)
		match = GG_EXEC_BY_DIGEST;
	if (gg_exec_lookup_trust(d, slot, &action, entries) && !match)
		match = GG_EXEC_BY_TRUST;
	flags = gg_check_slot(slot, generation, &action, entries);
	e = gg_decide(GG_GATE_EXEC, action);
	if (!e)
		return action == GG_ACT_DENY ? -EPERM : 0;
	gg_event_fill(e, GG_GATE_EXEC, action, GG_MECH_LSM, generation, entries, flags);
	gg_exec_event(e, bprm, match);
	gg_event_args_syscall(e);
	if (d) {
		e->exec.digest_known = 1;
		__builtin_memcpy(e->exec.sha256, d->dk.sha256, GG_SHA256_LEN);
	}
	if (bpf_d_path((struct path *)&bprm->file->f_path, e->exec.path, sizeof(e->exec.path)) < 0)
		e->exec.path[0] = '\0';
	bpf_ringbuf_submit(e, 0);
	return action == GG_ACT_DENY ? -EPERM : 0;
}

/*
 * Executable mappings (LSM path). A program can run without an exec of its
 * own file: the dynamic loader given it (ld.so /usr/bin/nc maps nc), or a
 * dlopen of a copy. Each PROT_EXEC mapping of a file is checked against the
 * exec rules by identity, name and content; path rules are resolved to
 * identities at apply, so no d_path is paid per library. Most mappings are
 * not executable and return at once; an allowed library costs the lookups
 * of one decision, its digest from the cache after its first mapping.
 */
#define GG_PROT_EXEC 0x4 /* <sys/mman.h> */
#define GG_VM_EXEC 0x4 /* <linux/mm.h> */

/* An exec's own mappings of the binary it runs: bprm_check_security
 * decided on that file (exe_file is bprm->file by then). */
static __always_inline bool gg_map_is_exe(struct file *file)
{
	struct task_struct *t = bpf_get_current_task_btf();

	return BPF_CORE_READ(t, mm, exe_file) == file;
}

/* An event with no file: a tracer's attach. */
static __always_inline void gg_map_event_none(struct gg_event *e)
{
	e->exec.filename[0] = '\0';
	e->exec.dev = 0;
	e->exec.ino = 0;
	e->exec.digest_known = 0;
	__builtin_memset(e->exec.sha256, 0, sizeof(e->exec.sha256));
	e->exec.path[0] = '\0';
	gg_event_args_own(e);
}

static __always_inline void gg_map_event(struct gg_event *e, struct file *file)
{
	bpf_probe_read_kernel_str(e->exec.filename, sizeof(e->exec.filename),
				  BPF_CORE_READ(file, f_path.dentry, d_name.name));
	e->exec.dev = gg_file_dev(file);
	e->exec.ino = gg_file_ino(file);
	e->exec.match = GG_EXEC_BY_MMAP;
	e->exec.digest_known = 0;
	__builtin_memset(e->exec.sha256, 0, sizeof(e->exec.sha256));
	e->exec.path[0] = '\0';
	gg_event_args_own(e);
}

/* One mapping's decision: the exec rules on the file, hashed when the
 * program may sleep (mmap_file), from the cache otherwise (file_mprotect,
 * which holds the mmap lock). Returns the hook's answer. */
static __always_inline int gg_map_check(struct file *file, const bool may_hash)
{
	__u32 action = GG_ACT_NONE, entries[GG_MAX_HITS] = {};
	__u32 slot, flags = 0;
	__u64 generation;
	union gg_exec_file_keys keys;
	struct gg_exec_digest_tmp *d;
	struct gg_event *e;

	slot = gg_active_slot(&generation);
	gg_exec_lookup_file(file, slot, &action, entries, &keys);
	d = gg_exec_lookup_digest(file, slot, &action, entries, may_hash, &keys.dt);
	gg_exec_lookup_trust(d, slot, &action, entries);
	/* Made executable by mprotect, never hashed: its content cannot be
	 * matched, so it is denied (a library is mapped executable by mmap). */
	if (!may_hash && gg_slot_has_digests(slot) && !d) {
		action = GG_ACT_DENY;
		flags |= GG_EVF_UNHASHED;
	}
	flags |= gg_check_slot(slot, generation, &action, entries);
	e = gg_decide(GG_GATE_EXEC, action);
	if (!e)
		return action == GG_ACT_DENY ? -EPERM : 0;
	gg_event_fill(e, GG_GATE_EXEC, action, GG_MECH_LSM, generation, entries, flags);
	gg_map_event(e, file);
	if (d) {
		e->exec.digest_known = 1;
		__builtin_memcpy(e->exec.sha256, d->dk.sha256, GG_SHA256_LEN);
	}
	if (may_hash &&
	    bpf_d_path((struct path *)&file->f_path, e->exec.path, sizeof(e->exec.path)) < 0)
		e->exec.path[0] = '\0';
	bpf_ringbuf_submit(e, 0);
	return action == GG_ACT_DENY ? -EPERM : 0;
}

/*
 * Under trust lists, a governed task may not open a process's memory for
 * writing (/proc/PID/mem, its own included: the kernel lets a process
 * write its own read-only text that way, and a published tool loads any
 * ELF into memory with dd alone). Code put there runs with no exec and no
 * mapping for the gate to check. Decided by the lists' verdicts.
 */
#define PROC_SUPER_MAGIC 0x9fa0

/* The trust lists' verdict on code put into a process's memory: file is
 * the memory file opened, or NULL for a tracer's attach (name: the
 * tracee's comm, or "traceme"). Returns the hook's answer. */
static __always_inline int gg_exec_code_write_decide(struct file *file, const char *name)
{
	__u32 action = GG_ACT_NONE, entries[GG_MAX_HITS] = {}, slot, flags;
	struct gg_exec_trust_cfg *cfg;
	__u64 generation;
	struct gg_event *e;

	slot = gg_active_slot(&generation);
	cfg = bpf_map_lookup_elem(&exec_trust_cfg, &slot);
	if (!cfg || !cfg->n_lists)
		return 0;
	for (__u32 i = 0; i < GG_TRUST_LISTS_MAX; i++) {
		if (i >= cfg->n_lists)
			break;
		/* as a rule's hit, not "untrusted": the report lists files */
		gg_hit(&cfg->list[i], &action, entries, GG_EXEC_HIT_PATH);
	}
	flags = gg_check_slot(slot, generation, &action, entries);
	e = gg_decide(GG_GATE_EXEC, action);
	if (!e)
		return action == GG_ACT_DENY ? -EPERM : 0;
	gg_event_fill(e, GG_GATE_EXEC, action, GG_MECH_LSM, generation, entries, flags);
	if (file) {
		gg_map_event(e, file);
	} else {
		gg_map_event_none(e);
		bpf_probe_read_kernel_str(e->exec.filename, sizeof(e->exec.filename), name);
	}
	e->exec.match = GG_EXEC_BY_CODE_WRITE;
	bpf_ringbuf_submit(e, 0);
	return action == GG_ACT_DENY ? -EPERM : 0;
}

static __always_inline int gg_exec_code_write(struct file *file)
{
	char name[5] = {};

	bpf_probe_read_kernel_str(name, sizeof(name),
				  BPF_CORE_READ(file, f_path.dentry, d_name.name));
	if (name[0] != 'm' || name[1] != 'e' || name[2] != 'm' || name[3] || !gg_task_in_scope())
		return 0;
	return gg_exec_code_write_decide(file, NULL);
}

/*
 * Under trust lists, a governed task attaches to no other process
 * (PTRACE_ATTACH and SEIZE, process_vm_readv and writev, pidfd_getfd: the
 * attach mode of the access check) and lets no parent attach to it
 * (PTRACE_TRACEME): a tracer writes code into its tracee's memory
 * (PTRACE_POKETEXT, process_vm_writev) with no exec and no mapping to
 * check. Decided by the lists' verdicts, as /proc/PID/mem. A process's
 * own memory asks no access check (the kernel lets it through first).
 */
#define GG_PTRACE_MODE_ATTACH 0x02

SEC("lsm/ptrace_access_check")
int BPF_PROG(gg_exec_code_attach, struct task_struct *child, unsigned int mode, int ret)
{
	if (ret != 0)
		return ret;
	if (!(mode & GG_PTRACE_MODE_ATTACH) || !gg_task_in_scope())
		return 0;
	return gg_exec_code_write_decide(NULL, child->comm);
}

SEC("lsm/ptrace_traceme")
int BPF_PROG(gg_exec_code_traceme, struct task_struct *parent, int ret)
{
	if (ret != 0)
		return ret;
	if (!gg_task_in_scope())
		return 0;
	return gg_exec_code_write_decide(NULL, "traceme");
}

SEC("lsm/file_open")
int BPF_PROG(gg_exec_write_open, struct file *file, int ret)
{
	bool write = BPF_CORE_READ(file, f_mode) & FMODE_WRITE;
	struct inode *inode;

	/* O_TRUNC without write (O_RDONLY|O_TRUNC): 6.12 truncates through
	 * file_truncate, not path_truncate */
	if (ret != 0 || (!write && !(BPF_CORE_READ(file, f_flags) & GG_O_TRUNC)))
		return ret;
	inode = BPF_CORE_READ(file, f_inode);
	gg_exec_hash_forget(inode);
	if (write && BPF_CORE_READ(inode, i_sb, s_magic) == PROC_SUPER_MAGIC)
		return gg_exec_code_write(file);
	return 0;
}

SEC("lsm.s/mmap_file")
int BPF_PROG(gg_exec_mmap, struct file *file, unsigned long reqprot, unsigned long prot,
	     unsigned long flags, int ret)
{
	if (ret != 0)
		return ret;
	if (!file || !(prot & GG_PROT_EXEC))
		return 0; /* anonymous or not executable: nothing to run */
	if (!gg_task_in_scope() || gg_map_is_exe(file))
		return 0;
	return gg_map_check(file, true);
}

/* A file mapping made executable after it was mapped without PROT_EXEC.
 * Anonymous memory made executable (a JIT) is not a file: not checked. */
SEC("lsm/file_mprotect")
int BPF_PROG(gg_exec_mprotect, struct vm_area_struct *vma, unsigned long reqprot,
	     unsigned long prot, int ret)
{
	struct file *file;

	if (ret != 0)
		return ret;
	if (!(prot & GG_PROT_EXEC) || (BPF_CORE_READ(vma, vm_flags) & GG_VM_EXEC))
		return 0;
	file = BPF_CORE_READ(vma, vm_file);
	if (!file || !gg_task_in_scope() || gg_map_is_exe(file))
		return 0;
	return gg_map_check(file, false);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(gg_exec_check_fallback, struct task_struct *p, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	struct gg_exec_path_key pk;
	union gg_exec_file_keys keys;
	__u32 action = GG_ACT_NONE, entries[GG_MAX_HITS] = {};
	__u32 slot, match = 0, flags;
	__u64 generation;
	struct gg_verdict *v;
	struct gg_event *e;

	if (!gg_task_in_scope())
		return 0;
	slot = gg_active_slot(&generation);

	__builtin_memset(&pk, 0, sizeof(pk));
	pk.slot = slot;
	bpf_probe_read_kernel_str(pk.path, sizeof(pk.path), BPF_CORE_READ(bprm, filename));
	v = bpf_map_lookup_elem(&exec_path, &pk);
	if (v && v->entry) {
		gg_hit(v, &action, entries, GG_EXEC_HIT_PATH);
		match = GG_EXEC_BY_PATH;
	}
	__u32 m = gg_exec_lookup_file(BPF_CORE_READ(bprm, file), slot, &action,
				      entries, &keys);
	if (!match)
		match = m;
	if (gg_exec_lookup_invoked((struct gg_scan *)&pk, slot, &action, entries, &keys.nk) &&
	    !match)
		match = GG_EXEC_BY_INVOKED_NAME;
	flags = gg_check_slot(slot, generation, &action, entries);
	if (action == GG_ACT_DENY)
		bpf_send_signal(SIGKILL); /* before the first user instruction */
	e = gg_decide(GG_GATE_EXEC, action);
	if (!e)
		return 0;
	gg_event_fill(e, GG_GATE_EXEC, action, GG_MECH_FALLBACK, generation, entries, flags);
	gg_exec_event(e, bprm, match);
	gg_event_args_stack(e, p);
	e->exec.path[0] = '\0';
	bpf_ringbuf_submit(e, 0);
	return 0;
}

GG_ASSERT_PINNED(gg_exec_check, GG_PROG_EXEC_CHECK);
GG_ASSERT_PINNED(gg_exec_check_fallback, GG_PROG_EXEC_CHECK_FALLBACK);
GG_ASSERT_PINNED(gg_exec_mmap, GG_PROG_EXEC_MMAP);
GG_ASSERT_PINNED(gg_exec_code_attach, GG_PROG_EXEC_CODE_ATTACH);
GG_ASSERT_PINNED(gg_exec_code_traceme, GG_PROG_EXEC_CODE_TRACEME);
GG_ASSERT_PINNED(gg_exec_mprotect, GG_PROG_EXEC_MPROTECT);
GG_ASSERT_PINNED(gg_exec_write_open, GG_PROG_EXEC_WRITE_OPEN);
GG_ASSERT_PINNED(gg_exec_hash_truncate, GG_PROG_EXEC_HASH_TRUNCATE);
