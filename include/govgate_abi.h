/* SPDX-License-Identifier: GPL-2.0 */
/*
 * govgate kernel/user ABI: every struct and enum that crosses the boundary
 * (map keys and values, the ring-buffer event record). Included by the BPF
 * programs (after vmlinux.h) and by user space (after <linux/types.h>).
 *
 * Fixed-width fields with explicit padding only: the same layout must hold
 * for clang -target bpf and for gcc on x86_64.
 *
 * Atomic policy swap: every rule map key carries a `slot` (0 or 1). The
 * programs read policy_state.active_slot once per decision and look up only
 * that slot; an apply marks the inactive slot GG_GEN_WRITING, writes it
 * completely, stamps its generation, then flips active_slot with one map
 * update. A decision that was slow enough to span two applies (a sleepable
 * exec hook can be preempted) could see its slot rewritten under it, so
 * every decision re-reads its slot's generation after its lookups: if it
 * changed, the decision fails closed (deny, GG_EVF_FAIL_CLOSED). A decision
 * is therefore made by the complete old policy or the complete new one,
 * never a mix; one that overlapped two applies is denied.
 */
#ifndef GOVGATE_ABI_H
#define GOVGATE_ABI_H

#define GG_PATH_MAX 256 /* exec path keys and event paths */
#define GG_NAME_MAX 64 /* basename keys */
#define GG_COMM_MAX 16
#define GG_ARGS_MAX 512 /* argv bytes kept for the record */
#define GG_MAX_EXEMPT 8 /* exempt cgroups in global scope */
#define GG_SLOTS 2
#define GG_MAX_HITS 6 /* rule entries one decision can carry */
#define GG_SHA256_LEN 32
/* policy_state.generation[slot] while an apply rewrites that slot. */
#define GG_GEN_WRITING 0xffffffffffffffffULL

enum gg_gate {
	GG_GATE_EXEC = 0,
	GG_GATE_EGRESS = 1,
	GG_GATE_MODULE = 2,
	GG_GATE_COUNT = 3,
};

/* What a matching rule does. 0 = no rule. */
enum gg_action {
	GG_ACT_NONE = 0,
	GG_ACT_DENY = 1,
	GG_ACT_OBSERVE = 2, /* log "would deny", allow */
};

/* Which kernel mechanism decided (recorded in every event). */
enum gg_mech {
	GG_MECH_NONE = 0,
	GG_MECH_LSM = 1,
	GG_MECH_FALLBACK = 2,
};

/* Per-gate counters: index gate * GG_CNT_COUNT + kind in a PERCPU_ARRAY. */
enum gg_counter {
	GG_CNT_ALLOWED = 0,
	GG_CNT_DENIED = 1,
	GG_CNT_OBSERVED = 2,
	GG_CNT_DROPPED = 3, /* ring buffer full: event lost */
	GG_CNT_COUNT = 4,
};

enum gg_scope_mode {
	GG_SCOPE_GLOBAL = 0, /* everything but self and exempt cgroups */
	GG_SCOPE_CGROUP = 1, /* only tasks under scope_cgroups[0] */
};

/* How the exec gate matched (event detail). */
enum gg_exec_match {
	GG_EXEC_BY_PATH = 1,
	GG_EXEC_BY_INODE = 2,
	GG_EXEC_BY_NAME = 3, /* the executed file's name */
	GG_EXEC_BY_INVOKED_NAME = 4, /* the last component of the path as passed */
	GG_EXEC_BY_DISCONNECTED = 5, /* a file opened by handle: it has no name */
	GG_EXEC_BY_DIGEST = 6, /* the SHA-256 of the file's content */
};

/* Index of each exec lookup in gg_event.entries. */
enum gg_exec_hit {
	GG_EXEC_HIT_PATH = 0,
	GG_EXEC_HIT_INODE = 1,
	GG_EXEC_HIT_NAME = 2,
	GG_EXEC_HIT_INVOKED = 3,
	GG_EXEC_HIT_DIGEST = 4,
};

/* exec_name key of a file whose dentry is disconnected (open_by_handle_at
 * with a cold dentry cache): its name is unknown, so no name rule could
 * match it. No basename can contain '/'. */
#define GG_EXEC_NAME_DISCONNECTED "/"

/* Module gate hook that fired. */
enum gg_module_src {
	GG_MOD_REQUEST = 1, /* kernel_module_request (autoload) */
	GG_MOD_LOAD_DATA = 2, /* init_module */
	GG_MOD_READ_FILE = 3, /* finit_module */
	GG_MOD_KEXEC_LOAD = 4, /* kexec_load (kernel_load_data) */
	GG_MOD_KEXEC_IMAGE = 5, /* kexec_file_load, the kernel image */
	GG_MOD_KEXEC_INITRAMFS = 6, /* kexec_file_load, the initramfs */
};

/* A cgroup v2 directory by id (its inode number) and depth below the root:
 * a task is in the subtree when its ancestor at `level` has this id. */
struct gg_cgroup_ref {
	__u64 id;
	__u32 level;
	__u32 _pad;
};

/* settings map (ARRAY, 1 entry): written at start, read on every decision. */
struct gg_settings {
	__u32 scope_mode; /* enum gg_scope_mode */
	__u32 n_exempt; /* exempt[0..n_exempt) */
	__u32 self_tgid; /* the daemon: never gated (with self_start_ticks) */
	__u32 enabled; /* 0 = stopped: every gate allows */
	/* The daemon's start time, in clock ticks since boot (USER_HZ, field 22
	 * of /proc/PID/stat): a later process that reuses a dead daemon's pid
	 * has another start time, so it is governed. */
	__u64 self_start_ticks;
	struct gg_cgroup_ref scope; /* GG_SCOPE_CGROUP */
	struct gg_cgroup_ref exempt[GG_MAX_EXEMPT]; /* GG_SCOPE_GLOBAL */
};

/* policy_state map (ARRAY, 1 entry). active_slot only ever holds 0 or 1 so a
 * concurrent reader can never see a torn value. */
struct gg_policy_state {
	__u32 active_slot;
	__u32 _pad;
	__u64 generation[GG_SLOTS]; /* generation loaded in each slot */
};

/* The decision a rule map yields. `entry` indexes the compiled policy's
 * entry table (user space resolves it, with the event's generation, to the
 * rules, packs and control ids behind it). */
struct gg_verdict {
	__u32 entry; /* 0 = none */
	__u32 action; /* enum gg_action */
};

/* exec_path: HASH, key = canonical absolute path of the file executed. */
struct gg_exec_path_key {
	__u32 slot;
	char path[GG_PATH_MAX];
};

/* exec_name: HASH, key = the executed file's name (final dentry). */
struct gg_exec_name_key {
	__u32 slot;
	char name[GG_NAME_MAX];
};

/* exec_inode: HASH, key = file identity. dev uses the kernel's encoding
 * (major << 20 | minor), as in inode->i_sb->s_dev. */
struct gg_exec_inode_key {
	__u32 slot;
	__u32 _pad;
	__u64 dev;
	__u64 ino;
};

/* exec_digest: HASH, key = SHA-256 of the executed file's content (LSM
 * path only: bpf_ima_file_hash needs a sleepable program). */
struct gg_exec_digest_key {
	__u32 slot;
	__u8 sha256[GG_SHA256_LEN];
};

/* exec_hash: LRU_HASH, the digest cache. A file changed after it was
 * hashed has a new ctime (every write, truncate or chmod sets it; no
 * caller can set it back), so its old row is never found again. */
struct gg_exec_hash_key {
	__u64 dev;
	__u64 ino;
	__s64 ctime_sec;
	__u32 ctime_nsec;
	__u32 _pad;
};

struct gg_exec_hash_val {
	__u8 sha256[GG_SHA256_LEN];
};

/* egress_v4 / egress_v6: LPM_TRIE. The data part is (slot, prog, addr):
 * prefixlen = 64 + CIDR length. prog = 0 applies to every process; prog = N
 * applies only to processes whose executable's name maps to N in
 * egress_prog. IPv4-mapped IPv6 destinations are looked up in egress_v4. */
struct gg_egress_v4_key {
	__u32 prefixlen;
	__u32 slot; /* big endian in the trie: user space writes htonl(slot) */
	__u32 prog; /* htonl(prog) */
	__u8 addr[4];
};

struct gg_egress_v6_key {
	__u32 prefixlen;
	__u32 slot;
	__u32 prog;
	__u8 addr[16];
};

/* LPM value. `any` denies every port and protocol; `port_node` (0 = none)
 * keys port- or protocol-narrowed verdicts in egress_port. The compiler
 * folds every covering (shorter) prefix into each node, so the longest
 * match alone carries all the rules that apply. */
struct gg_egress_val {
	struct gg_verdict any;
	__u32 port_node;
	__u32 _pad;
};

/* egress_port: HASH. port 0 = any port, proto 0 = any protocol. */
struct gg_egress_port_key {
	__u32 slot;
	__u32 node;
	__u16 port; /* host byte order */
	__u8 proto; /* IPPROTO_TCP / IPPROTO_UDP / 0 */
	__u8 _pad;
};

/* egress_prog: HASH, executable name -> prog id used in egress keys. */
struct gg_egress_prog_key {
	__u32 slot;
	char name[GG_NAME_MAX];
};

/* egress_prog value: the id, and whether its rules skip loopback
 * destinations ("outbound" means leaving the guest). */
struct gg_egress_prog_val {
	__u32 prog;
	__u32 skip_loopback;
};

/* module_policy: ARRAY indexed by slot. kexec: loading a kernel to boot
 * into (kexec_load, kexec_file_load), decided by rules of its own. */
struct gg_module_val {
	struct gg_verdict verdict;
	struct gg_verdict kexec;
};

/* Ring-buffer event. */
struct gg_event_exec {
	char filename[GG_PATH_MAX]; /* as the caller passed it */
	char path[GG_PATH_MAX]; /* canonical path of the file checked (LSM) */
	__u64 dev;
	__u64 ino;
	__u32 match; /* enum gg_exec_match */
	__u32 argc;
	__u32 args_len; /* bytes used in args, NUL separated */
	__u32 digest_known; /* sha256 holds the file's SHA-256 */
	__u8 sha256[GG_SHA256_LEN];
	char args[GG_ARGS_MAX];
};

/* Which egress check decided (gg_event_net.hook). */
enum gg_net_hook {
	GG_NET_CONNECT = 0,
	GG_NET_SENDMSG = 1,
	GG_NET_SOCKET = 2, /* socket creation (floor: raw and packet sockets) */
	GG_NET_PACKET = 3, /* the packet itself, on its way out (cgroup_skb) */
};

struct gg_event_net {
	/* AF_INET / AF_INET6 of the destination; for GG_EVF_BAD_ADDR the
	 * family the address claimed; for GG_NET_SOCKET the socket's. */
	__u16 family;
	__u16 dport; /* host byte order */
	__u8 proto;
	__u8 mapped_v4; /* ::ffff:a.b.c.d, matched as IPv4 */
	__u8 hook; /* enum gg_net_hook */
	__u8 sock_type; /* SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, ...; 0 = unknown */
	__u8 daddr[16]; /* 4 bytes used for IPv4 */
};

struct gg_event_module {
	__u32 source; /* enum gg_module_src */
	__u32 _pad;
	char name[GG_NAME_MAX];
};

/* gg_event.flags */
enum gg_event_flags {
	/* The decision's policy slot was rewritten while it was being made
	 * (see the swap above): denied without a rule. */
	GG_EVF_FAIL_CLOSED = 1 << 0,
	/* net.egress: an inet socket was given a destination of a family the
	 * gate cannot read (not AF_INET, AF_INET6 or AF_UNSPEC): denied
	 * without a rule rather than let through unread. */
	GG_EVF_BAD_ADDR = 1 << 1,
};

struct gg_event {
	__u64 ts_boot_ns; /* bpf_ktime_get_boot_ns() */
	__u64 cgroup_id;
	__u64 generation;
	__u32 gate; /* enum gg_gate */
	__u32 action; /* enum gg_action */
	__u32 mechanism; /* enum gg_mech */
	/* Compiled entry ids that matched (0 = unused): exec by enum
	 * gg_exec_hit; egress generic then program-specific. */
	__u32 entries[GG_MAX_HITS];
	__u32 pid; /* tgid */
	__u32 tid;
	__u32 ppid;
	__u32 uid;
	__u32 flags; /* GG_EVF_* */
	char comm[GG_COMM_MAX];
	char exe[GG_PATH_MAX]; /* executable of the acting task */
	union {
		struct gg_event_exec exec;
		struct gg_event_net net;
		struct gg_event_module module;
	};
};

/* Ring-buffer records are sized per gate: the fields every event carries,
 * then only that gate's member of the union. An egress record is about a
 * quarter of an exec one (no paths, no argv), so a burst of denied
 * connects fits four times as many records in the ring buffer. */
#define GG_EVENT_HDR_SIZE __builtin_offsetof(struct gg_event, exec)
#define GG_EVENT_SIZE(gate)                                                          \
	((gate) == GG_GATE_EXEC	  ? sizeof(struct gg_event) :                         \
	 (gate) == GG_GATE_EGRESS ? GG_EVENT_HDR_SIZE + sizeof(struct gg_event_net) : \
				    GG_EVENT_HDR_SIZE + sizeof(struct gg_event_module))

/* exec_args: LRU_HASH keyed by tid, filled at sys_enter_execve(at) for the
 * record only (user memory: it never decides anything). buf is twice the
 * bytes kept so the verifier can bound each bounded-size string read. */
struct gg_exec_args {
	__u32 argc;
	__u32 len;
	char buf[GG_ARGS_MAX * 2];
};

/* meta map (ARRAY, 1 entry): which build's BPF objects are pinned, so a new
 * binary can tell its programs from an older one's and re-attach. */
#define GG_BUILD_ID_LEN 65 /* SHA-256 hex of the embedded objects + NUL */
struct gg_meta {
	char build_id[GG_BUILD_ID_LEN];
	char _pad[7];
};

/* Pinned object names under the pin directory (default /sys/fs/bpf/govgate). */
#define GG_PIN_DIR_DEFAULT "/sys/fs/bpf/govgate"

#endif /* GOVGATE_ABI_H */
