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

/* Per-gate counters: index gate * GG_CNT_COUNT + kind in a PERCPU_ARRAY.
 * A denied or observed decision is counted before its record is reserved,
 * and a failed reservation is counted as dropped (gg_decide), so the gates
 * wrote DENIED + OBSERVED - DROPPED records: the daemon reconciles that
 * with the records it received (user/lost.h). */
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
	/* An executable mapping (mmap_file, file_mprotect): code run without
	 * an exec of its own file (the loader given a program, dlopen). */
	GG_EXEC_BY_MMAP = 7,
	/* Not on a trust list in force (trusted-executables mode). */
	GG_EXEC_BY_TRUST = 8,
	/* A process's memory opened for writing (/proc/PID/mem) while trust
	 * lists are in force, or another process attached to (ptrace,
	 * process_vm_writev; filename: its comm, or "traceme"): code put in
	 * place with no exec and no mapping. */
	GG_EXEC_BY_CODE_WRITE = 9,
};

/* Index of each exec lookup in gg_event.entries. */
enum gg_exec_hit {
	GG_EXEC_HIT_PATH = 0,
	GG_EXEC_HIT_INODE = 1,
	GG_EXEC_HIT_NAME = 2,
	GG_EXEC_HIT_INVOKED = 3,
	GG_EXEC_HIT_DIGEST = 4,
	GG_EXEC_HIT_TRUST = 5, /* a trust list the file is not on */
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
#define GG_UNIT_NAME_MAX 64 /* a cgroup's own name (a systemd unit's: 256) */

struct gg_cgroup_ref {
	__u64 id;
	__u32 level;
	__u32 _pad;
};

/* settings map (ARRAY, 1 entry): written at start, read on every decision. */
/* A destination the daemon itself may reach (gg_settings.self_egress):
 * an exact address (family 4: addr[0..3], the rest zero), port, and
 * protocol (0: TCP and UDP). */
struct gg_self_dest {
	__u8 addr[16];
	__u16 port; /* host byte order */
	__u8 proto;
	__u8 family; /* 4 or 6 */
};

#define GG_SELF_EGRESS_MAX 4

struct gg_settings {
	__u32 scope_mode; /* enum gg_scope_mode */
	__u32 n_exempt; /* exempt[0..n_exempt) */
	/* the daemon (with self_start_ticks): governed by every gate as any
	 * task in scope, except that its egress is self_egress, not the
	 * policy's (issue 13: exempt from nothing it does not need) */
	__u32 self_tgid;
	__u32 enabled; /* 0 = stopped: every gate allows */
	/* The daemon's start time, in clock ticks since boot (USER_HZ, field 22
	 * of /proc/PID/stat): a later process that reuses a dead daemon's pid
	 * has another start time, so it is governed. */
	__u64 self_start_ticks;
	struct gg_cgroup_ref scope; /* GG_SCOPE_CGROUP */
	struct gg_cgroup_ref exempt[GG_MAX_EXEMPT]; /* GG_SCOPE_GLOBAL */
	/* Locked mode (bpf/guard.bpf.c): 1 = the kernel refuses every way to
	 * switch govgate off, to every task but init, the daemon and the
	 * tasks of the daemon's cgroup (self_unit, if not the root). */
	__u32 locked;
	/* The agent-wide mode is observe (config "mode"): the guards that
	 * hold unlocked too (GG_GUARD_BORROW, GG_GUARD_TTY_INJECT) record and
	 * allow, as every compiled rule then does. */
	__u32 observe;
	/* The pin directory (dev in the kernel's encoding, as exec_inode). */
	__u64 pin_dir_dev;
	__u64 pin_dir_ino;
	/* The cgroup the daemon runs in, by its place in the tree: its parent
	 * (id 0: none, the daemon runs in the root) and its own name. Not
	 * by id: systemd removes a stopped unit's cgroup and a restart makes
	 * a new one (system.slice/govgate.service), where the successor starts. */
	struct gg_cgroup_ref self_unit_parent;
	char self_unit[GG_UNIT_NAME_MAX];
	/* Where the daemon may connect or send besides loopback: what it needs
	 * (the DNS forwarder's upstream). Anything else is denied to it and
	 * recorded (GG_EVF_DAEMON_EGRESS, FLOOR-TAMPER-DAEMON): a daemon
	 * taken over through what it parses reaches nothing new. */
	__u32 n_self_egress;
	struct gg_self_dest self_egress[GG_SELF_EGRESS_MAX];
	__u32 _pad2;
};

/* policy_state map (ARRAY, 1 entry). active_slot only ever holds 0 or 1 so a
 * concurrent reader can never see a torn value. */
struct gg_policy_state {
	__u32 active_slot;
	/* Bit N: slot N holds exec_digest rows. Cleared with the slot's
	 * GG_GEN_WRITING mark, set with its new generation: without digest
	 * rules, an exec is not hashed. */
	__u32 digest_slots;
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

/*
 * Trusted-executables mode (docs/packs.md): up to GG_TRUST_LISTS_MAX trust
 * lists per slot. exec_trust: HASH, key = struct gg_exec_digest_key, value
 * = __u32 with bit N set when list N of that slot lists the digest.
 * exec_trust_cfg: ARRAY indexed by slot, each list's verdict. A file
 * executed or mapped executable must be on every list (they intersect);
 * for each list it is not on, that list's verdict applies.
 */
#define GG_TRUST_LISTS_MAX 8

struct gg_exec_trust_cfg {
	__u32 n_lists; /* 0: no trust list in force */
	__u32 _pad;
	struct gg_verdict list[GG_TRUST_LISTS_MAX];
};

/* exec_hash: LRU_HASH by file (dev, ino), the digest cache. A row holds
 * the ctime the file had when it was hashed and is used only while the
 * file still has it; it is removed when the file is opened for writing or
 * truncated (lsm/file_open, lsm/path_truncate). The ctime alone is not
 * enough: root can set the clock back to a cached ctime and chmod the
 * rewritten file, and a FUSE server says what the ctime is. */
struct gg_exec_hash_key {
	__u64 dev;
	__u64 ino;
};

struct gg_exec_hash_val {
	__u8 sha256[GG_SHA256_LEN];
	__s64 ctime_sec;
	__u32 ctime_nsec;
	__u32 _pad;
};

/* egress_v4 / egress_v6: LPM_TRIE. The data part is (slot, prog, addr):
 * prefixlen = 64 + CIDR length. prog = N applies only to processes whose
 * executable maps to N (egress_prog by name, egress_prog_inode and
 * egress_prog_digest by identity and content). Rules of every process
 * (prog 0) are not here: egress_range_v4/v6. IPv4-mapped IPv6 destinations
 * are looked up as IPv4. */
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

/*
 * egress_range_v4 / egress_range_v6: ARRAY_OF_MAPS indexed by slot. The
 * slot's generic rules (prog 0: every process) as sorted, disjoint address
 * ranges that cover the whole space, each with the verdict of the longest
 * prefix over it (what the trie's longest match would give; a gap has a
 * zero verdict). Each apply builds one ARRAY per family at its exact size,
 * fills it through mmap, freezes it (after that no syscall writes it and
 * no writable mapping of it can be made, for any task, root included; no
 * program of ours writes it, and in locked mode no other may load) and
 * swaps it in; the replaced one is freed whole. (BPF_F_RDONLY_PROG would
 * forbid the writable mapping that fills it.) A lookup is a binary search:
 * GG_RANGE_STEPS array reads at most, however many prefixes, and inserting
 * a million prefixes costs a memcpy, not a million trie inserts.
 * Element 0 is a header: its start (v4) or lo (v6) holds the number of
 * ranges, in elements 1..count; element 1 starts at address 0.
 */
struct gg_range_v4 {
	__u32 start; /* first address, host byte order */
	__u32 port_node; /* as gg_egress_val.port_node */
	struct gg_verdict any;
};

struct gg_range_v6 {
	__u64 hi, lo; /* first address, host byte order halves */
	__u32 port_node;
	__u32 _pad;
	struct gg_verdict any;
};

#define GG_RANGE_INNER_FLAGS (BPF_F_INNER_MAP | BPF_F_MMAPABLE)
#define GG_RANGE_STEPS 22
#define GG_RANGE_MAX (1U << GG_RANGE_STEPS) /* elements of one inner map */

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

/* egress_prog_inode: HASH, (slot, identity of an executable) -> prog. The
 * files a "programs" name resolves to at apply (in the standard PATH
 * directories, as cmd.exec resolves its denied names): a hard link has the
 * identity, whatever its name. dev in the kernel's encoding. */
struct gg_egress_prog_inode_key {
	__u32 slot;
	__u32 _pad;
	__u64 dev;
	__u64 ino;
};

/* egress_prog_digest: HASH, (slot, SHA-256 of an executable) -> prog: a
 * copy under another name has the content (LSM path only). */
struct gg_egress_prog_digest_key {
	__u32 slot;
	__u8 sha256[GG_SHA256_LEN];
};

/* egress_exe: LRU_HASH, (dev, ino) of a file a governed task executed ->
 * its SHA-256 and the ctime it had, captured at exec
 * (bprm_committed_creds) while the slot has egress_prog_digest rows. The
 * key is struct gg_exec_hash_key, kept and forgotten as exec_hash's. */
struct gg_egress_exe {
	__u8 sha256[GG_SHA256_LEN];
	/* the file's ctime had settled when it was hashed (see exec.bpf.c's
	 * GG_HASH_SETTLE_S): only then is the row trusted without hashing
	 * again, since a file rewritten within the tick of its last change
	 * keeps its ctime */
	__u32 settled;
	__u32 ctime_nsec;
	__s64 ctime_sec;
};

/*
 * Egress allowlists (docs/packs.md, "egress_allowlist"). Each applied
 * allowlist is one bit (list N: 1 << N). A destination is allowed only if
 * every applied list covers it: the bits of the CIDR entries that cover it
 * (egress_allow_v4/v6 and egress_allow_port) ORed with those of the
 * addresses learned from DNS (egress_learned, unexpired), must contain
 * every bit of gg_egress_slot.lists. Loopback and unspecified destinations
 * are never decided by allowlists.
 */
#define GG_ALLOW_LISTS 16

/* egress_state: ARRAY indexed by slot: what the slot's egress rules need. */
struct gg_egress_slot {
	__u32 prog_digests; /* egress_prog_digest has rows: hash at exec */
	__u32 lists; /* bit N: allowlist N is applied; 0: no allowlist */
	/* Which egress_learned key forms the slot's domain entries make
	 * (GG_LEARNED_*): a connect looks up only those. */
	__u32 learned_kinds;
	/* Which program rule maps have rows (GG_PROGS_*): a connect reads
	 * the executable's name and identity only for those. */
	__u32 progs;
	/* What a destination missing from list N is: its entry (the list's
	 * pack and controls) and action (deny, or observe for a pack applied
	 * in observe mode). */
	struct gg_verdict list[GG_ALLOW_LISTS];
	/* Which lists, and in which mode (gg_allow_epoch): another value has
	 * a socket whose connect the lists decided decided again, at its
	 * next packet with data (egress_sk_epoch). 0 with no list. */
	__u32 allow_epoch;
};

/* egress_allow_v4 / egress_allow_v6: LPM_TRIE, (slot, addr): prefixlen =
 * 32 + CIDR length. IPv4-mapped IPv6 entries are IPv4 nodes. */
struct gg_allow_v4_key {
	__u32 prefixlen;
	__u32 slot; /* big endian, as in egress_v4 */
	__u8 addr[4];
};

struct gg_allow_v6_key {
	__u32 prefixlen;
	__u32 slot;
	__u8 addr[16];
};

/* The lists whose unnarrowed entries cover the node (the compiler ORs in
 * those of every covering prefix), and its port rows in egress_allow_port
 * (0 = none), keyed as struct gg_egress_port_key, value __u32 lists: the
 * lists of entries narrowed to that (port, proto), covering rows folded in
 * too. A lookup ORs any, (port, proto), (port, 0) and (0, proto). */
struct gg_allow_val {
	__u32 any;
	__u32 port_node;
};

/*
 * egress_learned: HASH, an address learned from a DNS answer for a name on
 * an allowlist -> the lists whose domain entries matched, until expires
 * (CLOCK_BOOTTIME ns, bpf_ktime_get_boot_ns). Not slot-keyed: whoever
 * writes it (the DNS forwarder, or a test) writes list bits of the active
 * policy. port/proto 0 = every port/protocol; a lookup tries those of
 * (port, proto), (port, 0), (0, proto) and (0, 0) that the slot's domain
 * entries make (gg_egress_slot.learned_kinds). IPv4 addresses (and v4-mapped IPv6
 * ones) have family 4 and their address in addr[0..3], the rest zero.
 */
/* gg_egress_slot.learned_kinds: a domain entry with ports and a protocol
 * is learned as (port, proto), with ports only as (port, 0), with a
 * protocol only as (0, proto), with neither as (0, 0). */
#define GG_LEARNED_PORT_PROTO (1U << 0)
#define GG_LEARNED_PORT (1U << 1)
#define GG_LEARNED_PROTO (1U << 2)
#define GG_LEARNED_ANY (1U << 3)

/* gg_egress_slot.progs: egress_prog (by name) and egress_prog_inode (by
 * identity) have rows for the slot. */
#define GG_PROGS_NAME (1U << 0)
#define GG_PROGS_INODE (1U << 1)

struct gg_learned_key {
	__u8 addr[16];
	__u16 port; /* host byte order */
	__u8 proto;
	__u8 family; /* 4 or 6 */
};

struct gg_learned_val {
	__u64 expires_ns;
	__u32 lists;
	__u32 _pad;
};

/*
 * The DNS forwarder (user/dns.c, docs/architecture.md): governed tasks'
 * port-53 destinations (UDP and TCP) are rewritten to it by the cgroup
 * sock_addr programs, on both paths, while the active slot has an
 * allowlist; replies carry the address the client asked (recvmsg4/6).
 * dns_redirect: ARRAY, 1 entry, written by the daemon at start. port 0:
 * no forwarder (nothing is rewritten). addr6 all zero: IPv6 sockets are
 * not rewritten (their port-53 destinations are decided as any other).
 * A destination that is rewritten is decided as the forwarder's address.
 */
#define GG_DNS_PORT 53

struct gg_dns_redirect {
	__u8 addr4[4]; /* network order */
	__u16 port; /* host order */
	__u16 _pad;
	__u8 addr6[16];
};

/* dns_orig: LRU_HASH, socket cookie -> the destination a rewritten
 * socket asked for, put back as the source of what it receives. */
struct gg_dns_orig {
	__u8 addr[16]; /* IPv4: addr[0..3] */
	__u16 port; /* network order, as in the sockaddr */
	__u16 family; /* 4 or 6 */
	__u32 _pad;
};

/* Socket kinds a net.egress rule can deny at creation ("sockets"): each
 * puts packets out that no destination check can see whole. */
enum gg_sock_kind {
	GG_SOCK_RAW = 0, /* SOCK_RAW on AF_INET / AF_INET6 */
	GG_SOCK_PACKET = 1, /* AF_PACKET, any type: frames written to a device */
	/* any family but unix, netlink, inet and inet6 (and packet's): AF_VSOCK
	 * to the microVM's host, AF_TIPC, AF_RDS, AF_SMC, ... carry bytes out
	 * where no destination check looks */
	GG_SOCK_OTHER = 2,
	GG_SOCK_KINDS = 3,
};

/* egress_socket: ARRAY of struct gg_verdict, index slot * GG_SOCK_KINDS +
 * kind. Read by socket_create, and by socket_sendmsg for sockets made
 * outside the scope. */
#define GG_EGRESS_SOCKET_ENTRIES (GG_SLOTS * GG_SOCK_KINDS)

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
	GG_NET_SETSOCKOPT = 4, /* a routing option on a socket made outside the scope */
	/* the write check (lsm/file_permission) of write, sendfile and splice
	 * onto a socket made outside the scope, on kernels before 6.5 */
	GG_NET_WRITE = 5,
	/* a multicast join or source filter (setsockopt): the IGMP or MLD
	 * reports it makes the kernel send, to 224.0.0.22 or ff02::16 */
	GG_NET_JOIN = 6,
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

/* What locked mode refused (bpf/guard.bpf.c). Recorded as kernel.module
 * events with GG_EVF_TAMPER, each with its floor control (user/event.c). */
enum gg_guard_what {
	GG_GUARD_BPF_CMD = 1, /* arg: the bpf(2) command (FLOOR-TAMPER-BPF) */
	/* a writable shared mapping of a guarded map (arg: map id, name: map
	 * name; FLOOR-TAMPER-BPF); writes by command are GG_GUARD_BPF_CMD */
	GG_GUARD_MAP_MMAP_WRITE = 2,
	GG_GUARD_PIN_UNLINK = 3, /* name: the entry (FLOOR-TAMPER-PINS) */
	GG_GUARD_PIN_RENAME = 4,
	GG_GUARD_PIN_RMDIR = 5,
	GG_GUARD_UMOUNT = 6, /* the pin directory's bpffs */
	GG_GUARD_PTRACE = 7, /* arg: ptrace mode (FLOOR-TAMPER-DAEMON) */
	GG_GUARD_SIGNAL = 8, /* arg: signal number */
	GG_GUARD_CGROUP_WRITE = 9, /* name: the file (FLOOR-TAMPER-CGROUP) */
	GG_GUARD_CLONE_INTO_CGROUP = 10, /* clone3(CLONE_INTO_CGROUP) */
	/* A governed task attaching to one that is not (arg: the ptrace
	 * mode; name: its comm; FLOOR-TAMPER-CGROUP): ptrace, /proc/PID/mem,
	 * process_vm_writev, pidfd_getfd. Refused unlocked too
	 * (GG_EVF_UNLOCKED). */
	GG_GUARD_BORROW = 11,
	/* A governed task's TIOCSTI or TIOCLINUX, or its TIOCMBIS, TIOCMSET or
	 * TIOCSETD on a tty whose session an ungoverned task leads, or in a
	 * cgroup scope a console keymap write (KDSKBSENT...) (arg: the ioctl):
	 * input pushed into a terminal, which its reader runs, a serial line
	 * looped back, or a key rebound to a string (name: the terminal;
	 * FLOOR-TAMPER-CGROUP).
	 * Refused unlocked too. */
	GG_GUARD_TTY_INJECT = 12,
	/* A governed task opening a node that makes an input device (uinput,
	 * uhid, userio, vhci) or, in a cgroup scope, an existing device's
	 * (evdev: its writes reach the console's keyboard, its reads are the
	 * keys typed). name: the node; FLOOR-TAMPER-CGROUP. Refused unlocked
	 * too. */
	GG_GUARD_INPUT_DEVICE = 13,
	/* A governed task following a /proc/PID/ link (fd/N, cwd, root, exe,
	 * ns/, map_files/) of a task that is not governed: reopening its pipe
	 * writes into what it reads (arg: its tgid; name: its comm;
	 * FLOOR-TAMPER-CGROUP). Refused unlocked too. */
	GG_GUARD_PROC_LINK = 14,
	/* A governed task's PIDFD_GET_*_NAMESPACE on the pidfd of a task
	 * that is not governed (arg: the ioctl; name: its comm;
	 * FLOOR-TAMPER-CGROUP). Refused unlocked too. */
	GG_GUARD_PIDFD_NS = 15,
	/* The files that authorise policy changes (FLOOR-TAMPER-POLICY): the
	 * trusted keys' directory and the configuration file, and the state
	 * directory that a restart re-applies (guard_files). */
	GG_GUARD_POLICY_FILE = 20, /* arg: enum gg_guard_file_op, name: entry */
	/* arg: 0 mount(2), 1 move_mount(2), 2 umount(2), 3 fsconfig(2)'s
	 * FSCONFIG_CMD_CREATE (a superblock for a detached mount), 4 its
	 * FSCONFIG_CMD_RECONFIGURE (a remount through fspick) */
	GG_GUARD_MOUNT = 21,
	/* The daemon or its successor (what init starts as `govgate run`)
	 * mapping code from a file that is not govgate's, or anonymous code
	 * (arg: 0 mmap, 1 mprotect; name: the file). */
	GG_GUARD_CODE_MAP = 22,
	/* The disk beneath the guarded files: a block device opened for
	 * writing (arg 0; name: the device file) or a passthrough ioctl
	 * (arg: the ioctl command). */
	GG_GUARD_BLOCK_WRITE = 23,
	/* prctl(PR_SET_MM): PR_SET_MM_EXE_FILE would make any program look
	 * like govgate's binary (arg: the sub-option) */
	GG_GUARD_SET_MM = 24,
	/* A kernel feature that reads or writes kernel memory past the LSM
	 * (security_locked_down: /proc/kcore, kprobe events, /dev/mem, iopl,
	 * PCI BARs, hibernation images, ...; arg: enum lockdown_reason) */
	GG_GUARD_LOCKDOWN = 25,
	/* Network configuration (FLOOR-TAMPER-NET; arg 0: CAP_NET_ADMIN in
	 * the initial user namespace: a tc filter, an nf_tables chain, a
	 * tunnel, a route, a link, MPTCP's path manager; 1: a link made in a
	 * namespace of the task's own, a veth whose peer is pid 1's; 2: an
	 * rtnetlink request of more messages than are read; 3: a tun or tap
	 * device made before, attached to) */
	GG_GUARD_NET_CONFIG = 26,
	/* A configfs item made, written or linked (FLOOR-TAMPER-NET; arg: enum
	 * gg_configfs_op, name: the entry): a netconsole target sends the
	 * kernel's log with no socket, nvmet and iSCSI targets serve disks
	 * with the kernel's own */
	GG_GUARD_CONFIGFS = 27,
	/* The clock set (CAP_SYS_TIME: settimeofday, clock_settime, adjtimex,
	 * an RTC's time; FLOOR-TAMPER-POLICY): a signed request's expiry and
	 * the digest cache's settled ctime are read from it. */
	GG_GUARD_CLOCK = 28,
	/* The evidence (issue 13, attacks 6 and 7): the audit signing key
	 * file opened (name: the file), or renamed or unlinked
	 * (FLOOR-TAMPER-KEY); any fd to the per-boot key map (arg: map id). */
	GG_GUARD_KEY_OPEN = 30,
	GG_GUARD_KEY_MOVE = 31,
	GG_GUARD_KEY_MAP = 32,
};

/* gg_event_guard.arg of GG_GUARD_CONFIGFS: what was tried. */
enum gg_configfs_op {
	GG_CFOP_MKDIR = 0,
	GG_CFOP_WRITE = 1,
	GG_CFOP_SYMLINK = 2,
};

/* gg_event_guard.arg of GG_GUARD_POLICY_FILE: what was tried. */
enum gg_guard_file_op {
	GG_GFOP_WRITE = 1, /* open for writing or with O_TRUNC */
	GG_GFOP_CREATE = 2, /* create, link or symlink in a guarded directory */
	GG_GFOP_UNLINK = 3,
	GG_GFOP_RENAME = 4,
	GG_GFOP_TRUNCATE = 5, /* truncate(2) */
	GG_GFOP_LOCK = 6, /* flock(2) or a fcntl lock on it */
};

/* audit_key map (ARRAY, 1 entry): the per-boot audit signing key, raw
 * Ed25519 private key bytes; seq counts the keys of this boot (0: none
 * yet). Kernel memory: it dies with the boot, never reaches a disk. */
struct gg_audit_key {
	__u32 seq;
	__u32 _pad;
	__u8 seed[32];
};

/* guard_files: HASH, key = a file or directory the guard protects in
 * locked mode (dev in the kernel's encoding, as exec_inode); the value
 * (enum gg_guard_file_kind) says from what. The daemon writes them. */
struct gg_guard_file_key {
	__u64 dev;
	__u64 ino;
};

enum gg_guard_file_kind {
	GG_GFILE_FILE = 1, /* a policy file: no writes (FLOOR-TAMPER-POLICY) */
	GG_GFILE_DIR = 2, /* a policy directory: its entries too */
	GG_GFILE_KEY = 3, /* the audit signing key: no open at all (-KEY) */
	/* govgate's binary: only a process that init started from it (as
	 * `govgate run`, in the daemon's unit cgroup) is the daemon's
	 * successor; no writes, as GG_GFILE_FILE */
	GG_GFILE_EXE = 4,
	/* a library the daemon maps executable (the loader, libc, libsystemd
	 * and what it needs): the daemon and its successor map code from
	 * GG_GFILE_EXE and GG_GFILE_CODE files only; no writes, as GG_GFILE_FILE */
	GG_GFILE_CODE = 5,
	/* a directory on the path to a guarded file or directory: no rename
	 * or removal of it (its entries are free) */
	GG_GFILE_ANCESTOR = 6,
};

/* guard_maps values: what a task but govgate's own may not get. */
enum gg_guard_map_kind {
	/* no writable shared mapping (lsm/mmap_file); writes by command are
	 * refused for every map (the value gates.c writes) */
	GG_GUARD_MAP_NO_WRITE = 1,
	GG_GUARD_MAP_NO_FD = 2, /* any fd at all, read-only included */
};

/*
 * lock_state (ARRAY, 1 entry, bpf/guard.bpf.c), guarded like every other
 * map: what a restarted daemon must honour (user/control.c, user/daemon.c).
 * last_counter: the highest signed request counter accepted (a replay's
 * counter is not above it); locked: a daemon ran locked with this config
 * (config_sha256: of its path and bytes), and no signed unlock was accepted
 * since, so a successor must run locked with the same config.
 */
struct gg_lock_state {
	__u64 last_counter;
	__u32 locked;
	/* GG_LOCK_STATE_VERSION since 2026-12-05, 0 before: which identity
	 * config_sha256 is (user/daemon.c config_identity) */
	__u32 version;
	__u8 config_sha256[32];
};

#define GG_LOCK_STATE_VERSION 2

/* Same size as gg_event_module: a guard record is a kernel.module one. */
struct gg_event_guard {
	__u32 what; /* enum gg_guard_what */
	__u32 arg;
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
	/* net.egress: decided by the socket's kind (a "sockets" rule: raw or
	 * packet), not by a destination; gg_event_net.family and sock_type
	 * say which. */
	GG_EVF_SOCKET_KIND = 1 << 2,
	/* locked mode refused a way to switch govgate off: the record's
	 * union member is `guard` (gate GG_GATE_MODULE, action deny). */
	GG_EVF_TAMPER = 1 << 3,
	/* cmd.exec: a file mapping made executable by mprotect whose content
	 * was never hashed (that hook cannot sleep to hash it) while digest
	 * rules are in force: denied without a rule. */
	GG_EVF_UNHASHED = 1 << 4,
	/* net.egress: the destination is missing from an applied allowlist
	 * (entries[4] and entries[5]: the first and the last list missing). */
	GG_EVF_NOT_ALLOWED = 1 << 5,
	/* net.egress: the daemon itself tried a destination that is not in
	 * settings.self_egress: denied without a rule (FLOOR-TAMPER-DAEMON). */
	GG_EVF_DAEMON_EGRESS = 1 << 6,
	/* GG_EVF_TAMPER: refused while not locked (a guard that holds either
	 * way: GG_GUARD_BORROW); the record says "locked": false. */
	GG_EVF_UNLOCKED = 1 << 7,
};

struct gg_event {
	__u64 ts_boot_ns; /* bpf_ktime_get_boot_ns() */
	__u64 cgroup_id;
	__u64 generation;
	__u32 gate; /* enum gg_gate */
	__u32 action; /* enum gg_action */
	__u32 mechanism; /* enum gg_mech */
	/* Compiled entry ids that matched (0 = unused): exec by enum
	 * gg_exec_hit; egress: 0 generic, 1 the program by name, 2 by
	 * identity, 3 by content, 4 and 5 allowlists the destination is
	 * missing from. */
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
		struct gg_event_guard guard; /* GG_EVF_TAMPER */
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

/* A record's argv, read from user memory (it never decides anything) into
 * a scratch of exec.bpf.c's. buf is twice the bytes kept so the verifier
 * can bound each bounded-size string read. */
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

/*
 * Pinned names under the pin directory (default /sys/fs/bpf/govgate).
 *
 * libbpf pins a map under its C name (LIBBPF_PIN_BY_NAME), and the loader
 * pins each program as GG_PIN_PROG_PREFIX<name> and its link as
 * GG_PIN_LINK_PREFIX<name>, <name> being the BPF function's name. So a
 * name below and the BPF identifier it names are one thing spelled twice:
 * the BPF side asserts each map and program identifier against its macro
 * (GG_ASSERT_PINNED in common.bpf.h), user space opens pins only through
 * the macros, and user/gates.c asserts that its loader table covers every
 * program of every skeleton. Renaming either side alone fails the build.
 */
#define GG_PIN_DIR_DEFAULT "/sys/fs/bpf/govgate"
#define GG_PIN_PROG_PREFIX "prog-"
#define GG_PIN_LINK_PREFIX "link-"
/* Where a new build's gates are attached beside an old build's (bpffs
 * refuses names with a dot). */
#define GG_PIN_UPGRADE_STAGE "upgrade-stage"

/* Maps every gate shares (bpf/common.bpf.h). */
#define GG_MAP_SETTINGS "settings"
#define GG_MAP_POLICY_STATE "policy_state"
#define GG_MAP_META "meta"
#define GG_MAP_COUNTERS "counters"
#define GG_MAP_EVENTS "events"
/* cmd.exec (bpf/exec.bpf.c). exec_args_scratch is not pinned. */
#define GG_MAP_EXEC_PATH "exec_path"
#define GG_MAP_EXEC_NAME "exec_name"
#define GG_MAP_EXEC_INODE "exec_inode"
#define GG_MAP_EXEC_DIGEST "exec_digest"
#define GG_MAP_EXEC_TRUST "exec_trust"
#define GG_MAP_EXEC_TRUST_CFG "exec_trust_cfg"
/* net.egress (bpf/egress.bpf.c). */
#define GG_MAP_EGRESS_V4 "egress_v4"
#define GG_MAP_EGRESS_V6 "egress_v6"
#define GG_MAP_EGRESS_RANGE_V4 "egress_range_v4"
#define GG_MAP_EGRESS_RANGE_V6 "egress_range_v6"
#define GG_MAP_EGRESS_PORT "egress_port"
#define GG_MAP_EGRESS_PROG "egress_prog"
#define GG_MAP_EGRESS_SOCKET "egress_socket"
#define GG_MAP_EGRESS_PROG_INODE "egress_prog_inode"
#define GG_MAP_EGRESS_PROG_DIGEST "egress_prog_digest"
#define GG_MAP_EGRESS_EXE "egress_exe"
#define GG_MAP_EGRESS_MAPPED "egress_mapped"
#define GG_MAP_EGRESS_STATE "egress_state"
#define GG_MAP_EGRESS_ALLOW_V4 "egress_allow_v4"
#define GG_MAP_EGRESS_ALLOW_V6 "egress_allow_v6"
#define GG_MAP_EGRESS_ALLOW_PORT "egress_allow_port"
#define GG_MAP_EGRESS_LEARNED "egress_learned"
#define GG_MAP_DNS_REDIRECT "dns_redirect"
#define GG_MAP_DNS_ORIG "dns_orig"
/* kernel.module (bpf/module.bpf.c). */
#define GG_MAP_MODULE_POLICY "module_policy"
/* locked mode (bpf/guard.bpf.c): ids of the maps no task but govgate's
 * own may open for writing. */
#define GG_MAP_GUARD_MAPS "guard_maps"
#define GG_GUARD_MAPS_MAX 128
/* the files behind policy authority and the audit key; the lock's
 * persistent state */
#define GG_MAP_GUARD_FILES "guard_files"
#define GG_GUARD_FILES_MAX 256
#define GG_MAP_LOCK_STATE "lock_state"
/* pid 1's children before their exec (task storage: the exec count) */
#define GG_MAP_INIT_CHILD "init_child"
/* the daemon's successor: tgid -> the thread group's start time (LRU) */
#define GG_MAP_SUCCESSOR "successor"
/* The per-boot audit key (audit.signing_key "per-boot"): no task but the
 * daemon gets an fd to it in locked mode, not even a read-only one. */
#define GG_MAP_AUDIT_KEY "audit_key"

/* Programs: the loader table in user/gates.c lists each one exactly once. */
#define GG_PROG_EXEC_CHECK "gg_exec_check"
#define GG_PROG_EXEC_CHECK_FALLBACK "gg_exec_check_fallback"
#define GG_PROG_EXEC_MMAP "gg_exec_mmap"
#define GG_PROG_EXEC_CODE_ATTACH "gg_exec_code_attach"
#define GG_PROG_EXEC_CODE_TRACEME "gg_exec_code_traceme"
#define GG_PROG_EXEC_WRITE_OPEN "gg_exec_write_open"
#define GG_PROG_EXEC_HASH_TRUNCATE "gg_exec_hash_truncate"
#define GG_PROG_EXEC_MPROTECT "gg_exec_mprotect"
#define GG_PROG_EGRESS_CONNECT "gg_egress_connect"
#define GG_PROG_EGRESS_SENDMSG "gg_egress_sendmsg"
#define GG_PROG_EGRESS_SOCKET "gg_egress_socket"
#define GG_PROG_EGRESS_OWN_SOCKET "gg_egress_own_socket"
#define GG_PROG_EGRESS_SETSOCKOPT "gg_egress_setsockopt"
#define GG_PROG_EGRESS_PAGE_SEND "gg_egress_page_send"
#define GG_PROG_EGRESS_CONNECT4 "gg_egress_connect4"
#define GG_PROG_EGRESS_CONNECT6 "gg_egress_connect6"
#define GG_PROG_EGRESS_SENDMSG4 "gg_egress_sendmsg4"
#define GG_PROG_EGRESS_SENDMSG6 "gg_egress_sendmsg6"
#define GG_PROG_EGRESS_PACKET_LSM "gg_egress_packet_lsm"
#define GG_PROG_EGRESS_PACKET_FALLBACK "gg_egress_packet_fallback"
#define GG_PROG_EGRESS_EXE "gg_egress_exe"
#define GG_PROG_EGRESS_MAPPED_EXEC "gg_egress_mapped_exec"
#define GG_PROG_EGRESS_TASK_ALLOC "gg_egress_task_alloc"
#define GG_PROG_EGRESS_EXE_OPEN "gg_egress_exe_open"
#define GG_PROG_EGRESS_EXE_TRUNCATE "gg_egress_exe_truncate"
#define GG_PROG_DNS_CONNECT4 "gg_dns_connect4"
#define GG_PROG_DNS_CONNECT6 "gg_dns_connect6"
#define GG_PROG_DNS_SENDMSG4 "gg_dns_sendmsg4"
#define GG_PROG_DNS_SENDMSG6 "gg_dns_sendmsg6"
#define GG_PROG_DNS_RECVMSG4 "gg_dns_recvmsg4"
#define GG_PROG_DNS_RECVMSG6 "gg_dns_recvmsg6"
#define GG_PROG_DNS_RECVMSG4_FALLBACK "gg_dns_recvmsg4_fallback"
#define GG_PROG_DNS_RECVMSG6_FALLBACK "gg_dns_recvmsg6_fallback"
#define GG_PROG_MODULE_REQUEST "gg_module_request"
#define GG_PROG_MODULE_LOAD_DATA "gg_module_load_data"
#define GG_PROG_MODULE_READ_FILE "gg_module_read_file"
#define GG_PROG_GUARD_BPF "gg_guard_bpf"
#define GG_PROG_GUARD_BPF_MAP "gg_guard_bpf_map"
#define GG_PROG_GUARD_MAP_MMAP "gg_guard_map_mmap"
#define GG_PROG_GUARD_UNLINK "gg_guard_unlink"
#define GG_PROG_GUARD_RENAME "gg_guard_rename"
#define GG_PROG_GUARD_RMDIR "gg_guard_rmdir"
#define GG_PROG_GUARD_UMOUNT "gg_guard_umount"
#define GG_PROG_GUARD_PTRACE "gg_guard_ptrace"
#define GG_PROG_GUARD_KILL "gg_guard_kill"
#define GG_PROG_GUARD_FILE_OPEN "gg_guard_file_open"
#define GG_PROG_GUARD_TASK_ALLOC "gg_guard_task_alloc"
#define GG_PROG_GUARD_PROC_LINK "gg_guard_proc_link"
#define GG_PROG_GUARD_PFILE_OPEN "gg_guard_pfile_open"
#define GG_PROG_GUARD_PFILE_CREATE "gg_guard_pfile_create"
#define GG_PROG_GUARD_PFILE_MKDIR "gg_guard_pfile_mkdir"
#define GG_PROG_GUARD_PFILE_MKNOD "gg_guard_pfile_mknod"
#define GG_PROG_GUARD_PFILE_LINK "gg_guard_pfile_link"
#define GG_PROG_GUARD_PFILE_SYMLINK "gg_guard_pfile_symlink"
#define GG_PROG_GUARD_PFILE_UNLINK "gg_guard_pfile_unlink"
#define GG_PROG_GUARD_PFILE_RENAME "gg_guard_pfile_rename"
#define GG_PROG_GUARD_PFILE_TRUNCATE "gg_guard_pfile_truncate"
#define GG_PROG_GUARD_MOUNT "gg_guard_mount"
#define GG_PROG_GUARD_MOVE_MOUNT "gg_guard_move_mount"
#define GG_PROG_GUARD_FS_CREATE "gg_guard_fs_create"
#define GG_PROG_GUARD_FS_RECONFIGURE "gg_guard_fs_reconfigure"
#define GG_PROG_GUARD_FILE_LOCK "gg_guard_file_lock"
#define GG_PROG_GUARD_PFILE_RMDIR "gg_guard_pfile_rmdir"
#define GG_PROG_GUARD_CODE_MMAP "gg_guard_code_mmap"
#define GG_PROG_GUARD_CODE_MPROTECT "gg_guard_code_mprotect"
#define GG_PROG_GUARD_PASSTHROUGH "gg_guard_passthrough"
#define GG_PROG_GUARD_URING_CMD "gg_guard_uring_cmd"
#define GG_PROG_GUARD_PASSTHROUGH_COMPAT "gg_guard_passthrough_compat"
#define GG_PROG_GUARD_PRCTL "gg_guard_prctl"
#define GG_PROG_GUARD_LOCKED_DOWN "gg_guard_locked_down"
#define GG_PROG_GUARD_NET_ADMIN "gg_guard_net_admin"
#define GG_PROG_GUARD_NETLINK_SEND "gg_guard_netlink_send"
#define GG_PROG_GUARD_TUN_OPEN "gg_guard_tun_open"
#define GG_PROG_GUARD_CONFIGFS_MKDIR "gg_guard_configfs_mkdir"
#define GG_PROG_GUARD_CONFIGFS_SYMLINK "gg_guard_configfs_symlink"
#define GG_PROG_GUARD_SUCCESSOR "gg_guard_successor"

/* True when an identifier is spelled as a name string. gcc and clang fold
 * __builtin_strcmp of two literals, so this works in _Static_assert. */
#define GG_NAME_IS(ident, name) (__builtin_strcmp(#ident, name) == 0)

/*
 * Layout checks, evaluated by both compilers (clang -target bpf, gcc on
 * x86_64): a field that moves or a hole that appears on one side only
 * would make every lookup miss or every event misread, silently.
 *
 * Hash keys are compared bytewise, padding included, so each key's size is
 * the sum of its fields: no implicit hole anywhere.
 */
#define GG_ASSERT_SIZE(type, size) \
	_Static_assert(sizeof(struct type) == (size), "struct " #type ": size changed")
#define GG_ASSERT_OFF(type, field, off)                                \
	_Static_assert(__builtin_offsetof(struct type, field) == (off), \
		       "struct " #type ": " #field " moved")

/* No hole between two fields, or behind the last one. */
#define GG_FIELD_END(type, f) \
	(__builtin_offsetof(struct type, f) + sizeof(((struct type *)0)->f))
#define GG_ASSERT_NEXT(type, a, b)                                             \
	_Static_assert(GG_FIELD_END(type, a) == __builtin_offsetof(struct type, b), \
		       "struct " #type ": a hole between " #a " and " #b)
#define GG_ASSERT_LAST(type, f)                                    \
	_Static_assert(GG_FIELD_END(type, f) == sizeof(struct type), \
		       "struct " #type ": a hole behind " #f)

/* Masks index arrays with `& (N - 1)` to satisfy the verifier. */
#define GG_IS_POW2(n) ((n) > 0 && ((n) & ((n) - 1)) == 0)
_Static_assert(GG_IS_POW2(GG_PATH_MAX), "GG_PATH_MAX masks path indices");
_Static_assert(GG_IS_POW2(GG_ARGS_MAX), "GG_ARGS_MAX masks argv offsets");
_Static_assert(GG_PATH_MAX % 4 == 0, "exec.bpf.c zeroes path tails by 4-byte words");
/* Slots are selected with `& 1`. */
_Static_assert(GG_SLOTS == 2, "the slot masks (& 1) assume two slots");
/* entries[]: path, inode, name, invoked name, digest, trust (enum
 * gg_exec_hit): six keep the header 8-byte aligned. */
_Static_assert(GG_MAX_HITS == GG_EXEC_HIT_TRUST + 1, "event entries: one per gg_exec_hit");
_Static_assert(GG_TRUST_LISTS_MAX <= 32, "exec_trust values hold a bit per list");
_Static_assert(GG_CNT_COUNT == 4 && GG_GATE_COUNT == 3, "counters map layout");
/* The reconciliation reads these three kinds by index (gg_written_read). */
_Static_assert(GG_CNT_DENIED == 1 && GG_CNT_OBSERVED == 2 && GG_CNT_DROPPED == 3,
	       "counter kinds the reconciliation reads");
/* guard_maps values: gates.c writes 1 for its write-guarded maps. */
_Static_assert(GG_GUARD_MAP_NO_WRITE == 1, "guard_maps: 1 = no writable mapping");

GG_ASSERT_SIZE(gg_cgroup_ref, 16);
GG_ASSERT_SIZE(gg_settings, 16 + 8 + 16 + 16 * GG_MAX_EXEMPT + 8 + 16 + 16 + GG_UNIT_NAME_MAX + 4 +
				    20 * GG_SELF_EGRESS_MAX + 4);
GG_ASSERT_OFF(gg_settings, self_start_ticks, 16);
GG_ASSERT_OFF(gg_settings, scope, 24);
GG_ASSERT_OFF(gg_settings, exempt, 40);
GG_ASSERT_NEXT(gg_settings, exempt, locked);
GG_ASSERT_NEXT(gg_settings, locked, observe);
GG_ASSERT_NEXT(gg_settings, observe, pin_dir_dev);
GG_ASSERT_NEXT(gg_settings, pin_dir_dev, pin_dir_ino);
GG_ASSERT_NEXT(gg_settings, pin_dir_ino, self_unit_parent);
GG_ASSERT_NEXT(gg_settings, self_unit_parent, self_unit);
GG_ASSERT_NEXT(gg_settings, self_unit, n_self_egress);
GG_ASSERT_NEXT(gg_settings, n_self_egress, self_egress);
GG_ASSERT_NEXT(gg_settings, self_egress, _pad2);
GG_ASSERT_LAST(gg_settings, _pad2);
GG_ASSERT_SIZE(gg_self_dest, 20);
GG_ASSERT_NEXT(gg_self_dest, addr, port);
GG_ASSERT_NEXT(gg_self_dest, port, proto);
GG_ASSERT_NEXT(gg_self_dest, proto, family);
GG_ASSERT_LAST(gg_self_dest, family);
GG_ASSERT_SIZE(gg_policy_state, 8 + 8 * GG_SLOTS);
GG_ASSERT_OFF(gg_policy_state, generation, 8);
_Static_assert(GG_SLOTS <= 32, "digest_slots holds a bit per slot");
GG_ASSERT_SIZE(gg_verdict, 8);
/* Rule keys, field by field. */
GG_ASSERT_SIZE(gg_exec_path_key, 4 + GG_PATH_MAX);
GG_ASSERT_NEXT(gg_exec_path_key, slot, path);
GG_ASSERT_LAST(gg_exec_path_key, path);
/* exec.bpf.c zeroes the path by aligned 4-byte words. */
GG_ASSERT_OFF(gg_exec_path_key, path, 4);
GG_ASSERT_SIZE(gg_exec_name_key, 4 + GG_NAME_MAX);
GG_ASSERT_NEXT(gg_exec_name_key, slot, name);
GG_ASSERT_LAST(gg_exec_name_key, name);
GG_ASSERT_SIZE(gg_exec_digest_key, 4 + GG_SHA256_LEN);
GG_ASSERT_NEXT(gg_exec_digest_key, slot, sha256);
GG_ASSERT_LAST(gg_exec_digest_key, sha256);
GG_ASSERT_SIZE(gg_exec_trust_cfg, 8 + 8 * GG_TRUST_LISTS_MAX);
GG_ASSERT_NEXT(gg_exec_trust_cfg, n_lists, _pad);
GG_ASSERT_NEXT(gg_exec_trust_cfg, _pad, list);
GG_ASSERT_LAST(gg_exec_trust_cfg, list);
GG_ASSERT_SIZE(gg_exec_inode_key, 24);
GG_ASSERT_NEXT(gg_exec_inode_key, slot, _pad);
GG_ASSERT_NEXT(gg_exec_inode_key, _pad, dev);
GG_ASSERT_NEXT(gg_exec_inode_key, dev, ino);
GG_ASSERT_LAST(gg_exec_inode_key, ino);
/* LPM keys: prefixlen first, then the matched data. */
GG_ASSERT_SIZE(gg_egress_v4_key, 16);
GG_ASSERT_OFF(gg_egress_v4_key, prefixlen, 0);
GG_ASSERT_NEXT(gg_egress_v4_key, prefixlen, slot);
GG_ASSERT_NEXT(gg_egress_v4_key, slot, prog);
GG_ASSERT_NEXT(gg_egress_v4_key, prog, addr);
GG_ASSERT_LAST(gg_egress_v4_key, addr);
GG_ASSERT_SIZE(gg_egress_v6_key, 28);
GG_ASSERT_OFF(gg_egress_v6_key, prefixlen, 0);
GG_ASSERT_NEXT(gg_egress_v6_key, prefixlen, slot);
GG_ASSERT_NEXT(gg_egress_v6_key, slot, prog);
GG_ASSERT_NEXT(gg_egress_v6_key, prog, addr);
GG_ASSERT_LAST(gg_egress_v6_key, addr);
GG_ASSERT_SIZE(gg_egress_port_key, 12);
GG_ASSERT_NEXT(gg_egress_port_key, slot, node);
GG_ASSERT_NEXT(gg_egress_port_key, node, port);
GG_ASSERT_NEXT(gg_egress_port_key, port, proto);
GG_ASSERT_NEXT(gg_egress_port_key, proto, _pad);
GG_ASSERT_LAST(gg_egress_port_key, _pad);
GG_ASSERT_SIZE(gg_egress_prog_key, 4 + GG_NAME_MAX);
GG_ASSERT_NEXT(gg_egress_prog_key, slot, name);
GG_ASSERT_LAST(gg_egress_prog_key, name);
GG_ASSERT_SIZE(gg_egress_prog_inode_key, 24);
GG_ASSERT_NEXT(gg_egress_prog_inode_key, slot, _pad);
GG_ASSERT_NEXT(gg_egress_prog_inode_key, _pad, dev);
GG_ASSERT_NEXT(gg_egress_prog_inode_key, dev, ino);
GG_ASSERT_LAST(gg_egress_prog_inode_key, ino);
GG_ASSERT_SIZE(gg_egress_prog_digest_key, 4 + GG_SHA256_LEN);
GG_ASSERT_NEXT(gg_egress_prog_digest_key, slot, sha256);
GG_ASSERT_LAST(gg_egress_prog_digest_key, sha256);
GG_ASSERT_SIZE(gg_exec_hash_key, 16);
GG_ASSERT_SIZE(gg_exec_hash_val, GG_SHA256_LEN + 16);
GG_ASSERT_SIZE(gg_egress_exe, GG_SHA256_LEN + 16);
GG_ASSERT_NEXT(gg_egress_exe, sha256, settled);
GG_ASSERT_SIZE(gg_egress_slot, 20 + 8 * GG_ALLOW_LISTS);
GG_ASSERT_OFF(gg_egress_slot, allow_epoch, 16 + 8 * GG_ALLOW_LISTS);
GG_ASSERT_OFF(gg_egress_slot, learned_kinds, 8);
GG_ASSERT_OFF(gg_egress_slot, progs, 12);
GG_ASSERT_OFF(gg_egress_slot, list, 16);
_Static_assert(GG_ALLOW_LISTS <= 32, "allowlist bits are a __u32");
GG_ASSERT_SIZE(gg_allow_v4_key, 12);
GG_ASSERT_NEXT(gg_allow_v4_key, prefixlen, slot);
GG_ASSERT_NEXT(gg_allow_v4_key, slot, addr);
GG_ASSERT_LAST(gg_allow_v4_key, addr);
GG_ASSERT_SIZE(gg_allow_v6_key, 24);
GG_ASSERT_NEXT(gg_allow_v6_key, prefixlen, slot);
GG_ASSERT_NEXT(gg_allow_v6_key, slot, addr);
GG_ASSERT_LAST(gg_allow_v6_key, addr);
GG_ASSERT_SIZE(gg_allow_val, 8);
GG_ASSERT_SIZE(gg_learned_key, 20);
GG_ASSERT_NEXT(gg_learned_key, addr, port);
GG_ASSERT_NEXT(gg_learned_key, port, proto);
GG_ASSERT_NEXT(gg_learned_key, proto, family);
GG_ASSERT_LAST(gg_learned_key, family);
GG_ASSERT_SIZE(gg_learned_val, 16);
GG_ASSERT_SIZE(gg_dns_redirect, 24);
GG_ASSERT_NEXT(gg_dns_redirect, addr4, port);
GG_ASSERT_NEXT(gg_dns_redirect, port, _pad);
GG_ASSERT_NEXT(gg_dns_redirect, _pad, addr6);
GG_ASSERT_LAST(gg_dns_redirect, addr6);
GG_ASSERT_SIZE(gg_dns_orig, 24);
GG_ASSERT_NEXT(gg_dns_orig, addr, port);
GG_ASSERT_NEXT(gg_dns_orig, port, family);
GG_ASSERT_NEXT(gg_dns_orig, family, _pad);
GG_ASSERT_LAST(gg_dns_orig, _pad);
/* Values and records: sizes, and the offsets user space depends on. */
GG_ASSERT_SIZE(gg_egress_val, 16);
GG_ASSERT_SIZE(gg_range_v4, 16);
GG_ASSERT_NEXT(gg_range_v4, start, port_node);
GG_ASSERT_NEXT(gg_range_v4, port_node, any);
GG_ASSERT_SIZE(gg_range_v6, 32);
GG_ASSERT_NEXT(gg_range_v6, hi, lo);
GG_ASSERT_NEXT(gg_range_v6, lo, port_node);
GG_ASSERT_OFF(gg_range_v6, any, 24);
GG_ASSERT_SIZE(gg_egress_prog_val, 8);
GG_ASSERT_SIZE(gg_module_val, 16);
GG_ASSERT_NEXT(gg_module_val, verdict, kexec);
GG_ASSERT_LAST(gg_module_val, kexec);
GG_ASSERT_SIZE(gg_event_exec, 2 * GG_PATH_MAX + 16 + 16 + GG_SHA256_LEN + GG_ARGS_MAX);
GG_ASSERT_OFF(gg_event_exec, sha256, 2 * GG_PATH_MAX + 32);
GG_ASSERT_OFF(gg_event_exec, args, 2 * GG_PATH_MAX + 32 + GG_SHA256_LEN);
GG_ASSERT_SIZE(gg_event_net, 24);
GG_ASSERT_OFF(gg_event_net, daddr, 8);
GG_ASSERT_SIZE(gg_event_module, 8 + GG_NAME_MAX);
_Static_assert(sizeof(struct gg_event_guard) == sizeof(struct gg_event_module),
	       "a guard record is sized as a kernel.module one (GG_EVENT_SIZE)");
/* The header every record carries (GG_EVENT_HDR_SIZE), then the union. */
GG_ASSERT_OFF(gg_event, entries, 36);
GG_ASSERT_OFF(gg_event, comm, 36 + 4 * GG_MAX_HITS + 20);
GG_ASSERT_OFF(gg_event, exe, 96);
GG_ASSERT_OFF(gg_event, exec, 96 + GG_PATH_MAX);
_Static_assert(GG_EVENT_HDR_SIZE % 8 == 0, "event records start 8-byte aligned");
GG_ASSERT_SIZE(gg_event, 96 + GG_PATH_MAX + sizeof(struct gg_event_exec));
GG_ASSERT_SIZE(gg_exec_args, 8 + 2 * GG_ARGS_MAX);
GG_ASSERT_SIZE(gg_meta, 72);
GG_ASSERT_SIZE(gg_guard_file_key, 16);
GG_ASSERT_SIZE(gg_audit_key, 40);
GG_ASSERT_NEXT(gg_audit_key, _pad, seed);
GG_ASSERT_LAST(gg_audit_key, seed);
GG_ASSERT_NEXT(gg_guard_file_key, dev, ino);
GG_ASSERT_LAST(gg_guard_file_key, ino);
GG_ASSERT_SIZE(gg_lock_state, 48);
GG_ASSERT_NEXT(gg_lock_state, last_counter, locked);
GG_ASSERT_NEXT(gg_lock_state, locked, version);
GG_ASSERT_NEXT(gg_lock_state, version, config_sha256);
GG_ASSERT_LAST(gg_lock_state, config_sha256);

#endif /* GOVGATE_ABI_H */
