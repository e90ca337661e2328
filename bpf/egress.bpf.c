// SPDX-License-Identifier: GPL-2.0
/*
 * net.egress: deny outbound connections and datagrams by destination CIDR,
 * optionally narrowed by port and protocol, and by the connecting program:
 * its executable's name, its identity (dev, ino: a hard link) and, on the
 * LSM path, its content (a copy under another name).
 *
 * LSM: socket_connect, and socket_sendmsg because a UDP sendto needs no
 * connect (msg_name is already a kernel copy there). Fallback: the cgroup
 * sock_addr hooks connect4/6 and sendmsg4/6 on the scope's cgroup.
 *
 * An IPv4-mapped IPv6 destination (::ffff:a.b.c.d) is looked up as the
 * IPv4 address it is.
 *
 * Socket kinds (LSM only): socket_create refuses raw inet and packet
 * sockets where a "sockets" rule says so, and socket_sendmsg refuses a send
 * on one made outside the scope (inherited, or passed in).
 */
#include "common.bpf.h"

#define AF_UNSPEC 0
#define AF_UNIX 1
#define AF_NETLINK 16
#define AF_PACKET 17
#define AF_XDP 44

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4 << 20);
	__type(key, struct gg_egress_v4_key);
	__type(value, struct gg_egress_val);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} egress_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1 << 20);
	__type(key, struct gg_egress_v6_key);
	__type(value, struct gg_egress_val);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} egress_v6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 262144);
	__type(key, struct gg_egress_port_key);
	__type(value, struct gg_verdict);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* rules take memory, not capacity */
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} egress_port SEC(".maps");

/* The generic rules' ranges (include/govgate_abi.h): one frozen array per
 * slot and family, of any size (BPF_F_INNER_MAP), made by each apply.
 * Sizes, not BTF types: user space creates the arrays. */
struct gg_range_v4_array {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct gg_range_v4));
	__uint(map_flags, GG_RANGE_INNER_FLAGS);
};

struct gg_range_v6_array {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct gg_range_v6));
	__uint(map_flags, GG_RANGE_INNER_FLAGS);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, GG_SLOTS);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct gg_range_v4_array);
} egress_range_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, GG_SLOTS);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct gg_range_v6_array);
} egress_range_v6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct gg_egress_prog_key);
	__type(value, struct gg_egress_prog_val);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* rules take memory, not capacity */
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} egress_prog SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GG_EGRESS_SOCKET_ENTRIES);
	__type(key, __u32);
	__type(value, struct gg_verdict);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} egress_socket SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct gg_egress_prog_inode_key);
	__type(value, struct gg_egress_prog_val);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* rules take memory, not capacity */
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} egress_prog_inode SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct gg_egress_prog_digest_key);
	__type(value, struct gg_egress_prog_val);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* rules take memory, not capacity */
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} egress_prog_digest SEC(".maps");

/* The digests of executed files (see gg_egress_exe): pinned, so a new
 * daemon keeps what running processes executed. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct gg_exec_hash_key);
	__type(value, struct gg_egress_exe);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} egress_exe SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GG_SLOTS);
	__type(key, __u32);
	__type(value, struct gg_egress_slot);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} egress_state SEC(".maps");

/* The allow_epoch (egress_state) each socket's packets were last decided
 * under by the allowlists; none: the socket's connect decided them;
 * GG_EPOCH_SELF: the daemon's own (gg_self_egress decided it). Not
 * pinned: after a restart, sockets are decided once more. */
#define GG_EPOCH_SELF 0xffffffffU
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u32);
} egress_sk_epoch SEC(".maps");

/* Allowlists (include/govgate_abi.h, "Egress allowlists"). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1 << 20);
	__type(key, struct gg_allow_v4_key);
	__type(value, struct gg_allow_val);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} egress_allow_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1 << 18);
	__type(key, struct gg_allow_v6_key);
	__type(value, struct gg_allow_val);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} egress_allow_v6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 262144);
	__type(key, struct gg_egress_port_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} egress_allow_port SEC(".maps");

/* Addresses learned from DNS answers: written by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 262144);
	__type(key, struct gg_learned_key);
	__type(value, struct gg_learned_val);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} egress_learned SEC(".maps");

/* The DNS forwarder's address, and what each rewritten socket asked for
 * (include/govgate_abi.h, "The DNS forwarder"). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gg_dns_redirect);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dns_redirect SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct gg_dns_orig);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dns_orig SEC(".maps");

GG_ASSERT_PINNED(dns_redirect, GG_MAP_DNS_REDIRECT);
GG_ASSERT_PINNED(dns_orig, GG_MAP_DNS_ORIG);
GG_ASSERT_PINNED(egress_allow_v4, GG_MAP_EGRESS_ALLOW_V4);
GG_ASSERT_PINNED(egress_allow_v6, GG_MAP_EGRESS_ALLOW_V6);
GG_ASSERT_PINNED(egress_allow_port, GG_MAP_EGRESS_ALLOW_PORT);
GG_ASSERT_PINNED(egress_learned, GG_MAP_EGRESS_LEARNED);
GG_ASSERT_PINNED(egress_v4, GG_MAP_EGRESS_V4);
GG_ASSERT_PINNED(egress_v6, GG_MAP_EGRESS_V6);
GG_ASSERT_PINNED(egress_range_v4, GG_MAP_EGRESS_RANGE_V4);
GG_ASSERT_PINNED(egress_range_v6, GG_MAP_EGRESS_RANGE_V6);
GG_ASSERT_PINNED(egress_port, GG_MAP_EGRESS_PORT);
GG_ASSERT_PINNED(egress_prog, GG_MAP_EGRESS_PROG);
GG_ASSERT_PINNED(egress_socket, GG_MAP_EGRESS_SOCKET);
GG_ASSERT_PINNED(egress_prog_inode, GG_MAP_EGRESS_PROG_INODE);
GG_ASSERT_PINNED(egress_prog_digest, GG_MAP_EGRESS_PROG_DIGEST);
GG_ASSERT_PINNED(egress_exe, GG_MAP_EGRESS_EXE);
GG_ASSERT_PINNED(egress_state, GG_MAP_EGRESS_STATE);

/* A destination, normalised: IPv4 (including v4-mapped v6) or IPv6. */
struct gg_dest {
	__u8 addr[16];
	__u16 family; /* AF_INET or AF_INET6 after unmapping */
	__u16 port; /* host order */
	__u8 proto;
	__u8 mapped_v4;
	__u8 hook; /* enum gg_net_hook, for the record */
	__u8 sock_type; /* for the record */
};

static __always_inline bool gg_is_loopback(const struct gg_dest *d)
{
	if (d->family == AF_INET)
		return d->addr[0] == 127;
	for (int i = 0; i < 15; i++)
		if (d->addr[i])
			return false;
	return d->addr[15] == 1;
}

/* Normalises an IPv6 destination: v4-mapped becomes IPv4. */
static __always_inline void gg_dest_v6(struct gg_dest *d, const __u32 ip6[4])
{
	d->family = AF_INET6;
	__builtin_memcpy(d->addr, ip6, 16);
	if (ip6[0] == 0 && ip6[1] == 0 && ip6[2] == bpf_htonl(0x0000ffff)) {
		d->family = AF_INET;
		d->mapped_v4 = 1;
		__builtin_memcpy(d->addr, &ip6[3], 4);
	}
}

/*
 * A connect to 0.0.0.0 (TCP Fast Open's send too) goes where the socket is
 * bound: ip_route_connect fills the empty destination in from the source,
 * and the second lookup routes there (with IP_TRANSPARENT root binds any
 * address; unbound, the kernel sends to 127.0.0.1). Decide that address.
 */
static __always_inline bool gg_dest_is_any4(const struct gg_dest *d)
{
	__u32 a;

	__builtin_memcpy(&a, d->addr, 4);
	return d->family == AF_INET && !a;
}

static __always_inline void gg_dest_any_to_bound(struct gg_dest *d, __u32 bound)
{
	if (bound)
		__builtin_memcpy(d->addr, &bound, 4);
}

/* The narrowed verdict for (port, proto) if any, else the node's `any`. */
static __always_inline struct gg_verdict *gg_port_verdict(struct gg_verdict *any, __u32 port_node,
							  __u32 slot, const struct gg_dest *d)
{
	struct gg_egress_port_key pk = { .slot = slot, .node = port_node };
	struct gg_verdict *v;

	if (!port_node)
		return any;
	pk.port = d->port;
	pk.proto = d->proto;
	v = bpf_map_lookup_elem(&egress_port, &pk);
	if (v)
		return v;
	pk.proto = 0;
	v = bpf_map_lookup_elem(&egress_port, &pk);
	if (v)
		return v;
	pk.port = 0;
	pk.proto = d->proto;
	v = bpf_map_lookup_elem(&egress_port, &pk);
	if (v)
		return v;
	return any;
}

/* The range holding a (host order), by binary search (element 0 is the
 * header; element 1 starts at 0, so one always holds it). A missing
 * element reads as "beyond a", so a short array cannot read out of it. */
static __always_inline struct gg_range_v4 *gg_range4(void *ranges, __u32 a)
{
	struct gg_range_v4 *r;
	__u32 lo = 1, hi, mid = 0;

	r = bpf_map_lookup_elem(ranges, &mid);
	if (!r)
		return NULL;
	hi = r->start + 1;
	for (int i = 0; i < GG_RANGE_STEPS && hi - lo > 1; i++) {
		mid = lo + (hi - lo) / 2;
		r = bpf_map_lookup_elem(ranges, &mid);
		if (r && r->start <= a)
			lo = mid;
		else
			hi = mid;
	}
	return bpf_map_lookup_elem(ranges, &lo);
}

static __always_inline struct gg_range_v6 *gg_range6(void *ranges, __u64 ahi, __u64 alo)
{
	struct gg_range_v6 *r;
	__u32 lo = 1, hi, mid = 0;

	r = bpf_map_lookup_elem(ranges, &mid);
	if (!r)
		return NULL;
	hi = r->lo + 1;
	for (int i = 0; i < GG_RANGE_STEPS && hi - lo > 1; i++) {
		mid = lo + (hi - lo) / 2;
		r = bpf_map_lookup_elem(ranges, &mid);
		if (r && (r->hi < ahi || (r->hi == ahi && r->lo <= alo)))
			lo = mid;
		else
			hi = mid;
	}
	return bpf_map_lookup_elem(ranges, &lo);
}

/* The generic rules' verdict for d: its range's, narrowed by port. */
static __always_inline struct gg_verdict *gg_egress_generic(__u32 slot, const struct gg_dest *d)
{
	void *ranges;

	if (d->family == AF_INET) {
		struct gg_range_v4 *r;
		__u32 a;

		ranges = bpf_map_lookup_elem(&egress_range_v4, &slot);
		if (!ranges)
			return NULL;
		__builtin_memcpy(&a, d->addr, 4);
		r = gg_range4(ranges, bpf_ntohl(a));
		return r ? gg_port_verdict(&r->any, r->port_node, slot, d) : NULL;
	} else {
		struct gg_range_v6 *r;
		__u64 ahi, alo;

		ranges = bpf_map_lookup_elem(&egress_range_v6, &slot);
		if (!ranges)
			return NULL;
		__builtin_memcpy(&ahi, d->addr, 8);
		__builtin_memcpy(&alo, d->addr + 8, 8);
		r = gg_range6(ranges, bpf_be64_to_cpu(ahi), bpf_be64_to_cpu(alo));
		return r ? gg_port_verdict(&r->any, r->port_node, slot, d) : NULL;
	}
}

/* The verdict of prog's rules for d (prog 0: the generic rules). */
static __always_inline struct gg_verdict *gg_egress_lookup(__u32 slot, __u32 prog,
							   const struct gg_dest *d)
{
	struct gg_egress_val *val;

	if (!prog)
		return gg_egress_generic(slot, d);
	if (d->family == AF_INET) {
		struct gg_egress_v4_key k = {
			.prefixlen = 64 + 32,
			.slot = bpf_htonl(slot),
			.prog = bpf_htonl(prog),
		};

		__builtin_memcpy(k.addr, d->addr, 4);
		val = bpf_map_lookup_elem(&egress_v4, &k);
	} else {
		struct gg_egress_v6_key k = {
			.prefixlen = 64 + 128,
			.slot = bpf_htonl(slot),
			.prog = bpf_htonl(prog),
		};

		__builtin_memcpy(k.addr, d->addr, 16);
		val = bpf_map_lookup_elem(&egress_v6, &k);
	}
	if (!val)
		return NULL;
	return gg_port_verdict(&val->any, val->port_node, slot, d);
}

/* inode ctime: i_ctime_sec/nsec from 6.11, __i_ctime in 6.6-6.10, i_ctime
 * before; the top bits of the nanoseconds carry flags from 6.13 (as in
 * exec.bpf.c, whose digest cache keys the same way). */
struct inode___eg66 {
	struct timespec64 __i_ctime;
} __attribute__((preserve_access_index));

struct inode___eg61 {
	struct timespec64 i_ctime;
} __attribute__((preserve_access_index));

/* A version of an executable: its identity (dev, ino) and ctime. */
struct gg_file_version {
	struct gg_exec_hash_key id;
	__s64 ctime_sec;
	__u32 ctime_nsec;
};

static __always_inline void gg_file_key(struct file *file, struct gg_file_version *k)
{
	struct inode *inode = BPF_CORE_READ(file, f_inode);
	struct inode___eg66 *i66 = (void *)inode;
	struct inode___eg61 *i61 = (void *)inode;

	__builtin_memset(k, 0, sizeof(*k));
	k->id.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	k->id.ino = BPF_CORE_READ(inode, i_ino);
	if (bpf_core_field_exists(inode->i_ctime_sec)) {
		k->ctime_sec = BPF_CORE_READ(inode, i_ctime_sec);
		k->ctime_nsec = BPF_CORE_READ(inode, i_ctime_nsec);
	} else if (bpf_core_field_exists(i66->__i_ctime)) {
		k->ctime_sec = BPF_CORE_READ(i66, __i_ctime.tv_sec);
		k->ctime_nsec = BPF_CORE_READ(i66, __i_ctime.tv_nsec);
	} else {
		k->ctime_sec = BPF_CORE_READ(i61, i_ctime.tv_sec);
		k->ctime_nsec = BPF_CORE_READ(i61, i_ctime.tv_nsec);
	}
	k->ctime_nsec &= 0x3fffffff;
}

/*
 * A program run by the dynamic loader given its path (`ld.so /bin/bash`):
 * the process's exe_file is the loader, whose name, identity and content
 * match no program rule. The first file a process maps executable after
 * its exec, other than its exe_file, is kept per task (copied to its forks
 * and threads) with the exec it belongs to: for a dynamic program its
 * interpreter, which no rule names; for the loader run with a program's
 * path, that program (mapped before any library). A task whose exe_file
 * matches no program rule is decided by it (gg_current_progs). Program
 * rules only deny: a program that maps another's file first takes on more
 * rules, never fewer. LSM path only: the fallback sees no mapping.
 */
/* A file as program rules see it: its version (identity and ctime: the
 * digest row's key) and its name. */
struct gg_prog_subject {
	struct gg_file_version file;
	char name[GG_NAME_MAX];
};

struct gg_egress_mapped {
	__u64 exec_id; /* the task's self_exec_id when mapped */
	struct gg_prog_subject subject;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct gg_egress_mapped);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} egress_mapped SEC(".maps");

GG_ASSERT_PINNED(egress_mapped, GG_MAP_EGRESS_MAPPED);

/* egress_exe's row for the file as it is now (the same ctime), or NULL */
static __always_inline struct gg_egress_exe *gg_exe_row(const struct gg_file_version *k)
{
	struct gg_egress_exe *x = bpf_map_lookup_elem(&egress_exe, &k->id);

	if (x && (x->ctime_sec != k->ctime_sec || x->ctime_nsec != k->ctime_nsec))
		return NULL;
	return x;
}

/* Where the program rules of the current executable come from, by
 * precedence in gg_event.entries (1: name, 2: identity, 3: content). */
struct gg_progs {
	__u32 name, inode, digest;
};

/* Which of the program maps the slot has rows in (gg_file_progs' how). */
#define GG_PQ_NAMES 0x100
#define GG_PQ_INODES 0x200
#define GG_PQ_DIGESTS 0x400

/* The program rule sets of one file: by its name, its identity (dev, ino)
 * and its content (the digest row of its version, if hashed). how: the
 * slot, ORed with GG_PQ_*. A subprogram: called for the executable and,
 * when that matched nothing, for the file mapped after it. */
static __noinline int gg_file_progs(__u32 how, const struct gg_prog_subject *f,
				    struct gg_progs *p)
{
	__u32 slot = how & 0xff;
	/* one key at a time: this frame adds to its callers' stack */
	union {
		struct gg_egress_prog_key name;
		struct gg_egress_prog_inode_key inode;
		struct gg_egress_prog_digest_key digest;
	} k;
	struct gg_egress_prog_val *pv;
	struct gg_egress_exe *x;

	if (how & GG_PQ_NAMES) {
		__builtin_memset(&k, 0, sizeof(k));
		k.name.slot = slot;
		__builtin_memcpy(k.name.name, f->name, sizeof(k.name.name));
		pv = bpf_map_lookup_elem(&egress_prog, &k.name);
		p->name = pv ? pv->prog : 0;
	}
	if (how & GG_PQ_INODES) {
		__builtin_memset(&k, 0, sizeof(k));
		k.inode.slot = slot;
		k.inode.dev = f->file.id.dev;
		k.inode.ino = f->file.id.ino;
		pv = bpf_map_lookup_elem(&egress_prog_inode, &k.inode);
		if (pv && pv->prog != p->name)
			p->inode = pv->prog;
	}
	if (!(how & GG_PQ_DIGESTS))
		return 0;
	x = gg_exe_row(&f->file);
	if (!x)
		return 0;
	__builtin_memset(&k, 0, sizeof(k));
	k.digest.slot = slot;
	__builtin_memcpy(k.digest.sha256, x->sha256, GG_SHA256_LEN);
	pv = bpf_map_lookup_elem(&egress_prog_digest, &k.digest);
	if (pv && pv->prog != p->name && pv->prog != p->inode)
		p->digest = pv->prog;
	return 0;
}

/*
 * The program-specific rule sets of the current executable: by its name,
 * by its identity and by its content. The executable is mm->exe_file, the
 * file the process executed (set at exec and shared by its forks; only
 * prctl(PR_SET_MM_EXE_FILE) changes it, which needs CAP_SYS_RESOURCE and
 * the old image unmapped). Its digest was captured at exec (gg_egress_exe,
 * LSM path only). One that matches none (the dynamic loader run with a
 * program's path) is decided by the first file it mapped executable
 * (egress_mapped, LSM path only).
 */
static __always_inline void gg_current_progs(__u32 slot, const struct gg_egress_slot *st,
					      struct gg_progs *p, const __u32 mech)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct gg_prog_subject f = {};
	struct gg_egress_mapped *m;
	struct inode *inode;
	struct mm_struct *mm;
	struct file *exe;
	__u32 how = slot;

	p->name = p->inode = p->digest = 0;
	/* Only the maps the slot has rows in (no slot state: all of them).
	 * The ctime (the digest's key) only when the slot has content rules
	 * and on the LSM path: the fallback has no hook that hashes at exec
	 * (gg_egress_exe), so its egress_exe is empty. mech is a constant. */
	if (!st || (st->progs & GG_PROGS_NAME))
		how |= GG_PQ_NAMES;
	if (!st || (st->progs & GG_PROGS_INODE))
		how |= GG_PQ_INODES;
	if (mech == GG_MECH_LSM && st && st->prog_digests)
		how |= GG_PQ_DIGESTS;
	if (how == slot)
		return;
	/* Read in place (BTF pointers: the loads are the JIT's own, no helper
	 * call each): this runs on every decided connect. */
	mm = task->mm;
	if (!mm)
		return; /* a kernel thread */
	exe = mm->exe_file;
	if (!exe)
		return;
	if (how & GG_PQ_NAMES)
		bpf_probe_read_kernel_str(f.name, sizeof(f.name), exe->f_path.dentry->d_name.name);
	if (how & GG_PQ_DIGESTS) {
		gg_file_key(exe, &f.file);
	} else {
		inode = exe->f_inode;
		f.file.id.dev = inode->i_sb->s_dev;
		f.file.id.ino = inode->i_ino;
	}
	gg_file_progs(how, &f, p);
	if (mech != GG_MECH_LSM || p->name || p->inode || p->digest)
		return;
	m = bpf_task_storage_get(&egress_mapped, task, 0, 0);
	if (m && m->exec_id == task->self_exec_id)
		gg_file_progs(how, &m->subject, p);
}

/* Loopback, and the unspecified address (an unbound socket's connect to
 * it reaches the local host; a bound one's is decided on its bound
 * address: gg_dest_any_to_bound): never decided by allowlists. */
static __always_inline bool gg_is_local(const struct gg_dest *d)
{
	int n = d->family == AF_INET ? 4 : 16;

	if (gg_is_loopback(d))
		return true;
	for (int i = 0; i < 16; i++)
		if (i < n && d->addr[i])
			return false;
	return true;
}

/*
 * The forwarder a destination is rewritten to, or NULL: a port-53 UDP or
 * TCP socket's destination while the active slot has an allowlist (with
 * none, DNS is left alone: tighten-only). An IPv6 socket (v4-mapped
 * destinations too) goes to the forwarder's IPv6 address, if it has one:
 * the kernel refuses a rewrite of an IPv6 send to a v4-mapped address.
 * Raw and other sockets have no sock_addr hook that could rewrite them:
 * never NULL-checked here, they are decided as any destination.
 */
static __always_inline struct gg_dns_redirect *gg_dns_target(const struct gg_settings *s,
							     const struct gg_dest *d, bool v6sock)
{
	struct gg_dns_redirect *r;
	struct gg_egress_slot *st;
	__u32 zero = 0, slot;
	__u64 generation;

	if (d->port != GG_DNS_PORT)
		return NULL;
	/* the forwarder's own queries go to its upstream (self_egress) */
	if (gg_task_is_self(s))
		return NULL;
	if (!(d->sock_type == SOCK_DGRAM && d->proto == IPPROTO_UDP) &&
	    !(d->sock_type == SOCK_STREAM && d->proto == IPPROTO_TCP))
		return NULL;
	r = bpf_map_lookup_elem(&dns_redirect, &zero);
	if (!r || !r->port)
		return NULL;
	if (v6sock) {
		__u32 w[4];

		__builtin_memcpy(w, r->addr6, 16);
		if (!(w[0] | w[1] | w[2] | w[3]))
			return NULL;
	}
	slot = gg_active_slot(&generation);
	st = bpf_map_lookup_elem(&egress_state, &slot);
	if (!st || !st->lists)
		return NULL;
	return r;
}

/* The lists whose CIDR entries cover d: the longest prefix's node, its
 * `any` and its port rows (the compiler folded covering prefixes in). */
static __always_inline __u32 gg_allow_cidrs(__u32 slot, const struct gg_dest *d)
{
	struct gg_egress_port_key pk = { .slot = slot };
	struct gg_allow_val *val;
	__u32 lists, *bits;

	if (d->family == AF_INET) {
		struct gg_allow_v4_key k = { .prefixlen = 32 + 32, .slot = bpf_htonl(slot) };

		__builtin_memcpy(k.addr, d->addr, 4);
		val = bpf_map_lookup_elem(&egress_allow_v4, &k);
	} else {
		struct gg_allow_v6_key k = { .prefixlen = 32 + 128, .slot = bpf_htonl(slot) };

		__builtin_memcpy(k.addr, d->addr, 16);
		val = bpf_map_lookup_elem(&egress_allow_v6, &k);
	}
	if (!val)
		return 0;
	lists = val->any;
	if (!val->port_node)
		return lists;
	pk.node = val->port_node;
	for (int i = 0; i < 3; i++) {
		/* (port, proto), (port, 0), (0, proto) */
		pk.port = i < 2 ? d->port : 0;
		pk.proto = i == 1 ? 0 : d->proto;
		bits = bpf_map_lookup_elem(&egress_allow_port, &pk);
		if (bits)
			lists |= *bits;
	}
	return lists;
}

/* The lists d was learned for from DNS and that have not expired: only the
 * key forms the slot's domain entries make (kinds, GG_LEARNED_*). */
static __always_inline __u32 gg_allow_learned(const struct gg_dest *d, __u32 kinds)
{
	struct gg_learned_key k = {};
	__u64 now = bpf_ktime_get_boot_ns();
	struct gg_learned_val *v;
	__u32 lists = 0;

	if (d->family == AF_INET) {
		__builtin_memcpy(k.addr, d->addr, 4);
		k.family = 4;
	} else {
		__builtin_memcpy(k.addr, d->addr, 16);
		k.family = 6;
	}
	for (int i = 0; i < 4; i++) {
		/* (port, proto), (port, 0), (0, proto), (0, 0): bits 0-3 */
		if (!(kinds & (1U << i)))
			continue;
		k.port = i < 2 ? d->port : 0;
		k.proto = i & 1 ? 0 : d->proto;
		v = bpf_map_lookup_elem(&egress_learned, &k);
		if (v && v->expires_ns > now)
			lists |= v->lists;
	}
	return lists;
}

/*
 * The allowlists of the slot: a destination missing from an applied list
 * gets that list's verdict (deny, or observe), the first and the last such
 * list in entries[4] and [5]. Returns the flags for the record.
 */
static __always_inline __u32 gg_allow_decide(__u32 slot, struct gg_egress_slot *st,
					     const struct gg_dest *d, __u32 *action,
					     __u32 *entries, bool only_deny)
{
	__u32 missing;
	int hit = 4;

	if (!st || !st->lists || gg_is_local(d))
		return 0;
	missing = st->lists & ~gg_allow_cidrs(slot, d);
	if (missing)
		missing &= ~gg_allow_learned(d, st->learned_kinds);
	if (!missing)
		return 0;
	for (int i = 0; i < GG_ALLOW_LISTS; i++) {
		if (!(missing & (1U << i)))
			continue;
		if (only_deny && st->list[i].action != GG_ACT_DENY)
			continue;
		if (!st->list[i].entry)
			*action = GG_ACT_DENY; /* a list without its verdict: fail closed */
		gg_hit(&st->list[i], action, entries, hit);
		hit = 5;
	}
	return GG_EVF_NOT_ALLOWED;
}

/* Fills the egress part of a record. */
static __always_inline void gg_event_net_fill(struct gg_event *e, const struct gg_dest *d)
{
	__builtin_memset(&e->net, 0, sizeof(e->net));
	e->net.family = d->mapped_v4 ? AF_INET6 : d->family; /* the address as given */
	e->net.dport = d->port;
	e->net.proto = d->proto;
	e->net.mapped_v4 = d->mapped_v4;
	e->net.hook = d->hook;
	e->net.sock_type = d->sock_type;
	__builtin_memcpy(e->net.daddr, d->addr, 16);
}

static __always_inline bool gg_self_dest_is(const struct gg_self_dest *a, const struct gg_dest *d)
{
	int n = d->family == AF_INET ? 4 : 16;

	if (a->family != (d->family == AF_INET ? 4 : 6) || a->port != d->port ||
	    (a->proto && a->proto != d->proto))
		return false;
	for (int i = 0; i < 16; i++)
		if (i < n && a->addr[i] != d->addr[i])
			return false;
	return true;
}

/* The daemon's own destination: loopback and settings.self_egress (what it
 * needs), nothing else, whatever the policy allows others. */
static __always_inline __u32 gg_self_egress(const struct gg_settings *s, const struct gg_dest *d,
					    __u32 mech)
{
	__u32 entries[GG_MAX_HITS] = {};
	struct gg_event *e;
	__u64 generation;

	if (gg_is_local(d))
		return GG_ACT_NONE;
	for (__u32 i = 0; i < GG_SELF_EGRESS_MAX; i++) {
		if (i >= s->n_self_egress)
			break;
		if (gg_self_dest_is(&s->self_egress[i], d))
			return GG_ACT_NONE;
	}
	gg_active_slot(&generation);
	e = gg_decide(GG_GATE_EGRESS, GG_ACT_DENY);
	if (!e)
		return GG_ACT_DENY;
	gg_event_fill(e, GG_GATE_EGRESS, GG_ACT_DENY, mech, generation, entries,
		      GG_EVF_DAEMON_EGRESS);
	gg_event_net_fill(e, d);
	bpf_ringbuf_submit(e, 0);
	return GG_ACT_DENY;
}

/* Decides one destination for a task in scope (s: its settings); returns
 * the action (deny, observe or none). */
static __always_inline __u32 gg_egress_decide(const struct gg_settings *s, const struct gg_dest *d,
					      __u32 mech)
{
	__u32 action = GG_ACT_NONE, entries[GG_MAX_HITS] = {}, flags, allow;
	struct gg_egress_slot *st;
	__u64 generation;
	__u32 slot;
	struct gg_progs p;
	struct gg_event *e;

	if (gg_task_is_self(s))
		return gg_self_egress(s, d, mech);
	/* Loopback: no rule's CIDR covers it (pack.c refuses one that does:
	 * docs/packs.md, rule 8), program rules are "outbound" (skip_loopback;
	 * their cidr-less form is 0.0.0.0/0) and allowlists never decide it. No
	 * lookup, whatever the number of prefixes (the packet check skips it
	 * too). The unspecified address is looked up: a cidr-less program rule
	 * covers it. */
	if (gg_is_loopback(d)) {
		gg_count(GG_GATE_EGRESS, GG_CNT_ALLOWED);
		return GG_ACT_NONE;
	}
	slot = gg_active_slot(&generation);
	st = bpf_map_lookup_elem(&egress_state, &slot);

	gg_hit(gg_egress_lookup(slot, 0, d), &action, entries, 0);
	gg_current_progs(slot, st, &p, mech);
	if (p.name)
		gg_hit(gg_egress_lookup(slot, p.name, d), &action, entries, 1);
	if (p.inode)
		gg_hit(gg_egress_lookup(slot, p.inode, d), &action, entries, 2);
	if (p.digest)
		gg_hit(gg_egress_lookup(slot, p.digest, d), &action, entries, 3);
	allow = gg_allow_decide(slot, st, d, &action, entries, false);
	flags = gg_check_slot(slot, generation, &action, entries) | allow;
	e = gg_decide(GG_GATE_EGRESS, action);
	if (!e)
		return action;
	gg_event_fill(e, GG_GATE_EGRESS, action, mech, generation, entries, flags);
	gg_event_net_fill(e, d);
	bpf_ringbuf_submit(e, 0);
	return action;
}

/* A destination the gate cannot read: denied, recorded, no rule behind it. */
static __always_inline __u32 gg_egress_unreadable(const struct gg_dest *d, __u32 mech)
{
	__u32 entries[GG_MAX_HITS] = {};
	struct gg_event *e;
	__u64 generation;

	gg_active_slot(&generation);
	e = gg_decide(GG_GATE_EGRESS, GG_ACT_DENY);
	if (!e)
		return GG_ACT_DENY;
	gg_event_fill(e, GG_GATE_EGRESS, GG_ACT_DENY, mech, generation, entries, GG_EVF_BAD_ADDR);
	gg_event_net_fill(e, d);
	bpf_ringbuf_submit(e, 0);
	return GG_ACT_DENY;
}

enum gg_sa {
	GG_SA_SKIP, /* nothing the kernel will send to: allow */
	GG_SA_DEST, /* decide d */
	GG_SA_UNREADABLE, /* fail closed */
};

/* A connect, or a stream socket's send (TCP Fast Open connects): the
 * bound address for 0.0.0.0 (a datagram sent to it stays local). */
static __always_inline void gg_dest_sock_bound(struct gg_dest *d, struct socket *sock,
					       bool connect)
{
	if ((connect || d->sock_type == SOCK_STREAM) && gg_dest_is_any4(d))
		gg_dest_any_to_bound(d, BPF_CORE_READ(sock, sk, __sk_common.skc_rcv_saddr));
}

/*
 * Reads a kernel copy of a sockaddr (a sockaddr_storage: reading a
 * sockaddr_in6 from it stays in bounds) given to an inet socket.
 *
 * AF_UNSPEC is what the protocol makes of it: connect() disconnects
 * (inet_dgram_connect, __inet_stream_connect, also for MSG_FASTOPEN), while
 * udp_sendmsg and raw_sendmsg send to it as AF_INET and rawv6_sendmsg as
 * AF_INET6, so a send reads it as the socket's own family. Any other
 * family is one the gate cannot read: fail closed (the inet protocols
 * refuse those with EAFNOSUPPORT anyway, so nothing legitimate is lost).
 */
static __always_inline enum gg_sa gg_dest_from_sockaddr(struct gg_dest *d, struct sockaddr *sa,
							int len, struct socket *sock,
							bool connect)
{
	__u16 family = 0, sk_family = BPF_CORE_READ(sock, sk, __sk_common.skc_family);

	__builtin_memset(d, 0, sizeof(*d));
	if (sk_family != AF_INET && sk_family != AF_INET6)
		return GG_SA_SKIP; /* not an inet socket: not this gate's */
	/* A name of length 0 is no name: every inet send path ignores it
	 * (raw_sendmsg tests msg_namelen) or refuses it (udp: EINVAL). */
	if (len <= 0)
		return GG_SA_SKIP;
	d->hook = connect ? GG_NET_CONNECT : GG_NET_SENDMSG;
	d->proto = BPF_CORE_READ(sock, sk, sk_protocol);
	d->sock_type = BPF_CORE_READ(sock, type);
	if (bpf_probe_read_kernel(&family, sizeof(family), &sa->sa_family))
		return GG_SA_UNREADABLE;
	if (family == AF_UNSPEC) {
		if (connect)
			return GG_SA_SKIP;
		family = sk_family;
	}
	if (family == AF_INET) {
		struct sockaddr_in sin;

		if (bpf_probe_read_kernel(&sin, sizeof(sin), sa))
			return GG_SA_UNREADABLE;
		d->family = AF_INET;
		__builtin_memcpy(d->addr, &sin.sin_addr.s_addr, 4);
		d->port = bpf_ntohs(sin.sin_port);
		gg_dest_sock_bound(d, sock, connect);
		return GG_SA_DEST;
	}
	d->family = family;
	if (family == AF_INET6) {
		struct sockaddr_in6 sin6;

		if (bpf_probe_read_kernel(&sin6, sizeof(sin6), sa))
			return GG_SA_UNREADABLE;
		gg_dest_v6(d, (const __u32 *)&sin6.sin6_addr);
		d->port = bpf_ntohs(sin6.sin6_port);
		gg_dest_sock_bound(d, sock, connect);
		return GG_SA_DEST;
	}
	return GG_SA_UNREADABLE;
}

/*
 * Will the DNS rewrite see this socket? The cgroup sock_addr programs run
 * for the socket's cgroup (set when it was made), and are attached to the
 * scope's cgroup (the root in global scope): a socket made outside a
 * cgroup scope (inherited, or passed in) is never rewritten, so its DNS
 * is decided here like any destination.
 */
static __always_inline bool gg_sock_rewritable(const struct gg_settings *s, struct socket *sock)
{
	if (s->scope_mode != GG_SCOPE_CGROUP)
		return true;
	return gg_cgroup_governed(s, BPF_CORE_READ(sock, sk, sk_cgrp_data.cgroup));
}

/* 0 or -EPERM for a destination given to the LSM hooks. */
static __always_inline int gg_lsm_verdict(const struct gg_settings *s, struct socket *sock,
					  struct sockaddr *sa, int len, bool connect)
{
	struct gg_dest d;

	switch (gg_dest_from_sockaddr(&d, sa, len, sock, connect)) {
	case GG_SA_DEST:
		/* rewritten to the forwarder by gg_dns_connect4/6 or
		 * gg_dns_sendmsg4/6 after this hook: decided there */
		if (gg_dns_target(s, &d,
				  BPF_CORE_READ(sock, sk, __sk_common.skc_family) == AF_INET6) &&
		    gg_sock_rewritable(s, sock))
			return 0;
		return gg_egress_decide(s, &d, GG_MECH_LSM) == GG_ACT_DENY ? -EPERM : 0;
	case GG_SA_UNREADABLE:
		gg_egress_unreadable(&d, GG_MECH_LSM);
		return -EPERM;
	default:
		return 0;
	}
}

/*
 * The socket kind a "sockets" rule names, or -1. Raw inet sockets write
 * their own IP headers (IP_HDRINCL) and ICMP; packet sockets (AF_PACKET,
 * and AF_XDP, which writes frames to a device queue) bypass IP output,
 * where the packet check runs; other families (AF_VSOCK, ...) carry bytes
 * where no destination check reads. A ping socket (SOCK_DGRAM, IPPROTO_ICMP) is
 * not raw: its destination is checked like a datagram's.
 */
static __always_inline int gg_sock_kind(int family, int type)
{
	if (family == AF_PACKET || family == AF_XDP)
		return GG_SOCK_PACKET;
	if (family == AF_INET || family == AF_INET6)
		return type == SOCK_RAW ? GG_SOCK_RAW : -1;
	/* the families the gate reads, or that stay in the guest */
	if (family == AF_UNIX || family == AF_NETLINK)
		return -1;
	return GG_SOCK_OTHER;
}

/* Decides a socket of a denied kind; returns the action. With only_deny
 * (a send), an observe-mode verdict is neither counted nor recorded here:
 * it was recorded once when a socket of the scope was made. */
static __always_inline __u32 gg_socket_decide(__u32 kind, const struct gg_dest *d, bool only_deny)
{
	__u32 action = GG_ACT_NONE, entries[GG_MAX_HITS] = {}, flags, idx;
	__u64 generation;
	__u32 slot = gg_active_slot(&generation);
	struct gg_event *e;

	idx = slot * GG_SOCK_KINDS + (kind < GG_SOCK_KINDS ? kind : 0);
	gg_hit(bpf_map_lookup_elem(&egress_socket, &idx), &action, entries, 0);
	flags = gg_check_slot(slot, generation, &action, entries);
	if (only_deny && action != GG_ACT_DENY)
		return action;
	e = gg_decide(GG_GATE_EGRESS, action);
	if (!e)
		return action;
	gg_event_fill(e, GG_GATE_EGRESS, action, GG_MECH_LSM, generation, entries,
		      flags | GG_EVF_SOCKET_KIND);
	gg_event_net_fill(e, d);
	bpf_ringbuf_submit(e, 0);
	return action;
}

/*
 * kern: a socket the kernel makes for itself in the task's context (the
 * ICMP and TCP control sockets of a new network namespace are SOCK_RAW and
 * made by the task that unshares; sock_create_lite for accept): not the
 * task's own, never denied. type has no SOCK_NONBLOCK / SOCK_CLOEXEC here
 * (__sys_socket_create masks them), and (AF_INET, SOCK_PACKET) has become
 * AF_PACKET already (__sock_create).
 */
SEC("lsm/socket_create")
int BPF_PROG(gg_egress_socket, int family, int type, int protocol, int kern, int ret)
{
	struct gg_dest d = {};
	int kind;

	if (ret != 0)
		return ret;
	kind = gg_sock_kind(family, type);
	if (kern || kind < 0 || !gg_task_in_scope())
		return 0;
	d.family = family;
	d.sock_type = type;
	/* an ethertype for packet sockets; the family's own for others */
	d.proto = kind == GG_SOCK_RAW ? protocol : 0;
	d.hook = GG_NET_SOCKET;
	return gg_socket_decide(kind, &d, false) == GG_ACT_DENY ? -EPERM : 0;
}

/* A send on a raw or packet socket made outside the scope (before the task
 * joined it, or passed in over a unix socket): refused like its creation
 * would have been. Returns -EPERM, or 0 to go on with the destination. */
static __always_inline int gg_socket_send(struct socket *sock)
{
	__u16 family = BPF_CORE_READ(sock, sk, __sk_common.skc_family);
	__u16 type = BPF_CORE_READ(sock, type);
	struct gg_dest d = {};
	int kind = gg_sock_kind(family, type);

	if (kind < 0 || !gg_task_in_scope())
		return 0;
	d.family = family;
	d.sock_type = type;
	d.proto = kind == GG_SOCK_RAW ? BPF_CORE_READ(sock, sk, sk_protocol) : 0;
	d.hook = GG_NET_SENDMSG;
	return gg_socket_decide(kind, &d, true) == GG_ACT_DENY ? -EPERM : 0;
}

/* A connected socket's peer, as a destination; false when it has none. */
static __always_inline bool gg_dest_from_peer(struct gg_dest *d, struct socket *sock,
					      struct sock *sk, __u16 family, __u8 hook)
{
	__u32 ip6[4] = {}, ip4;

	if (family == AF_INET) {
		ip4 = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		if (!ip4)
			return false;
		d->family = AF_INET;
		__builtin_memcpy(d->addr, &ip4, 4);
	} else {
		BPF_CORE_READ_INTO(&ip6, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr32);
		if (!(ip6[0] | ip6[1] | ip6[2] | ip6[3]))
			return false;
		gg_dest_v6(d, ip6);
	}
	d->port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	d->proto = BPF_CORE_READ(sk, sk_protocol);
	d->sock_type = BPF_CORE_READ(sock, type);
	d->hook = hook;
	return true;
}

#define GG_IPPROTO_ICMPV6 58 /* a #define in the uapi, not in vmlinux.h */
#define GG_PF_KTHREAD 0x00200000

/*
 * A socket made outside the scope, in a governed task's hands: an exempt
 * task's passed in over SCM_RIGHTS, one inherited from a task that joined
 * the scope later, or one taken with pidfd_getfd where that is not refused
 * (gg_guard_borrow). Its connect was never a governed task's, and the
 * packet check follows the socket's cgroup. Returns the settings, or NULL
 * (the common case, a socket of the sender's own cgroup, costs two reads).
 * Kernel threads and the kernel's own sockets (NFS's RPC, sent in the
 * caller's context) are not the workload's.
 */
static __always_inline struct gg_settings *gg_foreign_socket(struct socket *sock, struct sock *sk)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct gg_settings *s;
	struct cgroup *cg;
	__u16 family;

	if (!sk)
		return NULL;
	cg = BPF_CORE_READ(sk, sk_cgrp_data.cgroup);
	if (cg == BPF_CORE_READ(task, cgroups, dfl_cgrp))
		return NULL;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if ((family != AF_INET && family != AF_INET6) ||
	    BPF_CORE_READ_BITFIELD_PROBED(sk, sk_kern_sock) ||
	    (BPF_CORE_READ(task, flags) & GG_PF_KTHREAD))
		return NULL;
	s = gg_scope_settings();
	return s && !gg_cgroup_governed(s, cg) ? s : NULL;
}

/* Anything that sends a foreign socket's packets past its peer: IPv4
 * options on either family (a source route's first hop becomes the
 * header's destination), IPv6 transmit options (a routing header),
 * control messages (IP_RETOPTS, IPV6_RTHDR, one per send), a socket that
 * is not a TCP, UDP or ping one (SCTP's other addresses, MPTCP's subflows,
 * raw headers). */
static __always_inline bool gg_send_rerouted(struct socket *sock, struct sock *sk,
					     struct msghdr *msg)
{
	struct inet_sock *inet = (struct inet_sock *)sk;
	__u16 proto = BPF_CORE_READ(sk, sk_protocol), type = BPF_CORE_READ(sock, type);

	if ((type != SOCK_STREAM && type != SOCK_DGRAM) ||
	    (proto != IPPROTO_TCP && proto != IPPROTO_UDP && proto != IPPROTO_ICMP &&
	     proto != GG_IPPROTO_ICMPV6))
		return true;
	if ((msg && BPF_CORE_READ(msg, msg_controllen)) || BPF_CORE_READ(inet, inet_opt))
		return true;
	return BPF_CORE_READ(sk, __sk_common.skc_family) == AF_INET6 &&
	       BPF_CORE_READ(inet, pinet6, opt) != NULL;
}

/* A foreign socket's send or option refused without a destination to
 * decide: recorded as unreadable (fail_closed), on its peer if it has one. */
static __always_inline int gg_foreign_refuse(struct socket *sock, struct sock *sk, __u8 hook)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	struct gg_dest d = {};

	if (!gg_dest_from_peer(&d, sock, sk, family, hook))
		d.family = family;
	d.hook = hook;
	gg_egress_unreadable(&d, GG_MECH_LSM);
	return -EPERM;
}

/*
 * A governed task's send on a foreign socket (gg_foreign_socket) is
 * decided on the socket's peer, as its connect would have been: a stream
 * socket's always (TCP sends to its peer whatever name sendto gives, and
 * an empty name is no name). A datagram socket sends only to its peer:
 * sendmmsg does not ask again for a message whose name repeats the last
 * one's (____sys_sendmsg's used_address), which could carry a source
 * route; udpv6 sends an AF_UNSPEC name to the peer. Anything that could
 * route a send elsewhere fails closed (gg_send_rerouted).
 */
static __always_inline int gg_send_on_foreign(struct socket *sock, struct msghdr *msg, __u8 hook)
{
	struct sock *sk = BPF_CORE_READ(sock, sk);
	struct gg_settings *s = gg_foreign_socket(sock, sk);
	struct gg_dest d = {};

	if (!s)
		return 0;
	if (gg_send_rerouted(sock, sk, msg) ||
	    (BPF_CORE_READ(sock, type) == SOCK_DGRAM && msg && BPF_CORE_READ(msg, msg_name)))
		return gg_foreign_refuse(sock, sk, hook);
	/* a datagram its owner corked (MSG_MORE, UDP_CORK) goes where its
	 * first part was sent, whatever the peer: an unnamed send joins it */
	if (BPF_CORE_READ(sk, sk_protocol) == IPPROTO_UDP &&
	    BPF_CORE_READ((struct udp_sock *)sk, pending))
		return gg_foreign_refuse(sock, sk, hook);
	if (!gg_dest_from_peer(&d, sock, sk, BPF_CORE_READ(sk, __sk_common.skc_family), hook)) {
		/* A datagram socket with no peer sends an unnamed datagram only
		 * where its owner's corked one goes (above; fail closed) */
		if (BPF_CORE_READ(sock, type) == SOCK_DGRAM)
			return gg_foreign_refuse(sock, sk, hook);
		return 0; /* not connected: the name is decided (TCP Fast Open) */
	}
	return gg_egress_decide(s, &d, GG_MECH_LSM) == GG_ACT_DENY ? -EPERM : 0;
}

/*
 * Options that route a foreign socket's later packets past its peer, set
 * by a governed task after a send was decided (a corked TCP send flushed
 * after): IP_OPTIONS, and IPv6's routing, destination and hop-by-hop
 * headers (IPV6_RTHDR needs no privilege).
 */
#define GG_SOL_IP 0
#define GG_SOL_IPV6 41
#define GG_IP_OPTIONS 4

static __always_inline bool gg_route_option(int level, int optname)
{
	if (level == GG_SOL_IP)
		return optname == GG_IP_OPTIONS;
	/* IPV6_2292PKTOPTIONS, IPV6_HOPOPTS, IPV6_RTHDRDSTOPTS, IPV6_RTHDR,
	 * IPV6_DSTOPTS (IPV6_2292RTHDR only asks to receive one) */
	return level == GG_SOL_IPV6 && (optname == 6 || optname == 54 || optname == 55 ||
					optname == 57 || optname == 59);
}

/*
 * IP_TRANSPARENT and IPV6_TRANSPARENT (CAP_NET_RAW): the socket binds to
 * and sends from any address, as a raw socket writes any header: an
 * answer forged as the upstream resolver's to the DNS forwarder, a reply
 * as any peer's to a local service. So does IPV6_FREEBIND, or IP_FREEBIND
 * on an IPv6 socket, with no capability: IPv6's output takes a non-local
 * bound source (ipv6_can_nonlocal_bind), where IPv4's route lookup refuses
 * one without IP_TRANSPARENT (IP_FREEBIND on an IPv4 socket stays). Decided
 * as a raw socket of the task's making (the floor's rule), with the
 * option's hook.
 */
#define GG_IP_FREEBIND 15
#define GG_IP_TRANSPARENT 19
#define GG_IPV6_TRANSPARENT 75
#define GG_IPV6_FREEBIND 78

static __always_inline bool gg_transparent_option(struct socket *sock, int level, int optname)
{
	if (level == GG_SOL_IP && optname == GG_IP_FREEBIND)
		return BPF_CORE_READ(sock, sk, __sk_common.skc_family) == AF_INET6;
	return (level == GG_SOL_IP && optname == GG_IP_TRANSPARENT) ||
	       (level == GG_SOL_IPV6 &&
		(optname == GG_IPV6_TRANSPARENT || optname == GG_IPV6_FREEBIND));
}

static __always_inline int gg_transparent_decide(struct socket *sock)
{
	struct gg_dest d = {};

	if (!gg_task_in_scope())
		return 0;
	d.family = BPF_CORE_READ(sock, sk, __sk_common.skc_family);
	d.sock_type = BPF_CORE_READ(sock, type);
	d.proto = BPF_CORE_READ(sock, sk, sk_protocol);
	d.hook = GG_NET_SETSOCKOPT;
	return gg_socket_decide(GG_SOCK_RAW, &d, false) == GG_ACT_DENY ? -EPERM : 0;
}

/*
 * A multicast join, or a change of a join's sources, makes the kernel send
 * IGMP or MLD reports naming the group and up to 10 sources per group, all
 * chosen by the task, onto the link, from no socket of the task's (IGMP's
 * have none: igmp_send_report, igmpv3_sendpack; MLD's are the netns's own),
 * so no packet check of the scope sees them. Decided as egress to where
 * IGMPv3 and MLDv2 reports go, 224.0.0.22 and ff02::16: refused under an
 * allowlist that does not name it, or by a rule covering it. Leaving needs
 * a join, decided before. SOL_IP's options also apply to an IPv6 socket.
 */
#define GG_IP_ADD_MEMBERSHIP 35
#define GG_IP_UNBLOCK_SOURCE 37
#define GG_IP_BLOCK_SOURCE 38
#define GG_IP_ADD_SOURCE_MEMBERSHIP 39
#define GG_IP_MSFILTER 41
#define GG_MCAST_JOIN_GROUP 42
#define GG_MCAST_BLOCK_SOURCE 43
#define GG_MCAST_UNBLOCK_SOURCE 44
#define GG_MCAST_JOIN_SOURCE_GROUP 46
#define GG_MCAST_MSFILTER 48
#define GG_IPV6_ADD_MEMBERSHIP 20
#define GG_IPV6_JOIN_ANYCAST 27

static __always_inline bool gg_join_option(int level, int optname)
{
	if (level != GG_SOL_IP && level != GG_SOL_IPV6)
		return false;
	switch (optname) {
	case GG_MCAST_JOIN_GROUP:
	case GG_MCAST_BLOCK_SOURCE:
	case GG_MCAST_UNBLOCK_SOURCE:
	case GG_MCAST_JOIN_SOURCE_GROUP:
	case GG_MCAST_MSFILTER:
		return true;
	case GG_IP_ADD_MEMBERSHIP:
	case GG_IP_UNBLOCK_SOURCE:
	case GG_IP_BLOCK_SOURCE:
	case GG_IP_ADD_SOURCE_MEMBERSHIP:
	case GG_IP_MSFILTER:
		return level == GG_SOL_IP;
	case GG_IPV6_ADD_MEMBERSHIP:
	case GG_IPV6_JOIN_ANYCAST: /* MLD for the address's solicited-node group */
		return level == GG_SOL_IPV6;
	}
	return false;
}

static __always_inline int gg_join_decide(struct socket *sock, int level)
{
	struct gg_settings *s = gg_scope_settings();
	struct gg_dest d = {};

	if (!s)
		return 0;
	if (level == GG_SOL_IP) {
		d.family = AF_INET;
		d.addr[0] = 224;
		d.addr[3] = 22;
		d.proto = IPPROTO_IGMP;
	} else {
		d.family = AF_INET6;
		d.addr[0] = 0xff;
		d.addr[1] = 0x02;
		d.addr[15] = 0x16;
		d.proto = GG_IPPROTO_ICMPV6;
	}
	d.sock_type = BPF_CORE_READ(sock, type);
	d.hook = GG_NET_JOIN;
	return gg_egress_decide(s, &d, GG_MECH_LSM) == GG_ACT_DENY ? -EPERM : 0;
}

SEC("lsm/socket_setsockopt")
int BPF_PROG(gg_egress_setsockopt, struct socket *sock, int level, int optname, int ret)
{
	struct sock *sk;

	if (ret != 0)
		return ret;
	if (gg_join_option(level, optname))
		return gg_join_decide(sock, level);
	if (gg_transparent_option(sock, level, optname))
		return gg_transparent_decide(sock);
	if (!gg_route_option(level, optname))
		return 0;
	sk = BPF_CORE_READ(sock, sk);
	if (!gg_foreign_socket(sock, sk))
		return 0;
	return gg_foreign_refuse(sock, sk, GG_NET_SETSOCKOPT);
}

#define GG_MAY_WRITE 0x2 /* a #define in linux/fs.h, not in vmlinux.h */

/*
 * sendfile and splice onto a socket, on kernels before 6.5: the pages go
 * through the protocol's sendpage (kernel_sendpage), which asks no socket
 * hook, so a governed task's pages onto a foreign socket are decided at the
 * write check before it (rw_verify_area), on the peer, as a send is. A
 * write() passes here and then at socket_sendmsg, to the same verdict.
 * Loaded only on such kernels (user/gates.c): every read and write of every
 * task runs it, and returns after the mask test or the file's type.
 */
SEC("lsm/file_permission")
int BPF_PROG(gg_egress_page_send, struct file *file, int mask, int ret)
{
	struct socket *sock;

	if (ret != 0)
		return ret;
	if (!(mask & GG_MAY_WRITE))
		return 0;
	sock = bpf_sock_from_file(file);
	return sock ? gg_send_on_foreign(sock, NULL, GG_NET_WRITE) : 0;
}

SEC("lsm/socket_connect")
int BPF_PROG(gg_egress_connect, struct socket *sock, struct sockaddr *address, int addrlen,
	     int ret)
{
	struct gg_settings *s;

	if (ret != 0)
		return ret;
	s = gg_scope_settings();
	if (!s)
		return 0;
	return gg_lsm_verdict(s, sock, address, addrlen, true);
}

/* Every send on every socket passes here: sendto, sendmsg, sendmmsg (per
 * message), write, io_uring, TCP Fast Open (msg_name is the destination). */
SEC("lsm/socket_sendmsg")
int BPF_PROG(gg_egress_sendmsg, struct socket *sock, struct msghdr *msg, int size, int ret)
{
	struct gg_settings *s;
	struct sockaddr *name;

	if (ret != 0)
		return ret;
	/* before the name: a packet socket sends on its bound device */
	ret = gg_socket_send(sock);
	if (ret)
		return ret;
	ret = gg_send_on_foreign(sock, msg, GG_NET_SENDMSG);
	if (ret)
		return ret;
	name = BPF_CORE_READ(msg, msg_name);
	if (!name) /* connected socket: its connect was checked */
		return 0;
	s = gg_scope_settings();
	if (!s)
		return 0;
	return gg_lsm_verdict(s, sock, name, BPF_CORE_READ(msg, msg_namelen), false);
}

/*
 * The DNS rewrite (both paths): a governed task's port-53 destination
 * becomes the forwarder's, and the address it asked for is kept under
 * the socket's cookie for its replies (Cilium's scheme). Returns true
 * when ctx was rewritten. The forwarder is on loopback, which the gate
 * always allows, so a rewritten destination needs no decision.
 */
static __always_inline bool gg_dns_rewrite4(const struct gg_settings *s, struct bpf_sock_addr *ctx,
					    const struct gg_dest *d)
{
	struct gg_dns_redirect *r = gg_dns_target(s, d, false);
	struct gg_dns_orig o = { .port = (__u16)ctx->user_port, .family = 4 };
	__u64 cookie;
	__u32 ip4;

	if (!r)
		return false;
	cookie = bpf_get_socket_cookie(ctx);
	ip4 = ctx->user_ip4;
	__builtin_memcpy(o.addr, &ip4, 4);
	bpf_map_update_elem(&dns_orig, &cookie, &o, BPF_ANY);
	__builtin_memcpy(&ip4, r->addr4, 4);
	ctx->user_ip4 = ip4;
	ctx->user_port = bpf_htons(r->port);
	return true;
}

static __always_inline bool gg_dns_rewrite6(const struct gg_settings *s, struct bpf_sock_addr *ctx,
					    const struct gg_dest *d)
{
	struct gg_dns_redirect *r = gg_dns_target(s, d, true);
	struct gg_dns_orig o = { .port = (__u16)ctx->user_port, .family = 6 };
	__u32 ip6[4];
	__u64 cookie;

	if (!r)
		return false;
	cookie = bpf_get_socket_cookie(ctx);
	ip6[0] = ctx->user_ip6[0];
	ip6[1] = ctx->user_ip6[1];
	ip6[2] = ctx->user_ip6[2];
	ip6[3] = ctx->user_ip6[3];
	__builtin_memcpy(o.addr, ip6, 16);
	bpf_map_update_elem(&dns_orig, &cookie, &o, BPF_ANY);
	__builtin_memcpy(ip6, r->addr6, 16);
	ctx->user_ip6[0] = ip6[0];
	ctx->user_ip6[1] = ip6[1];
	ctx->user_ip6[2] = ip6[2];
	ctx->user_ip6[3] = ip6[3];
	ctx->user_port = bpf_htons(r->port);
	return true;
}

/* A reply from the forwarder to a rewritten socket: its source becomes
 * the address the socket asked for. */
static __always_inline void gg_dns_restore4(struct bpf_sock_addr *ctx)
{
	struct gg_dns_redirect *r;
	struct gg_dns_orig *o;
	__u32 zero = 0, ip4;
	__u64 cookie;

	r = bpf_map_lookup_elem(&dns_redirect, &zero);
	if (!r || !r->port || ctx->user_port != bpf_htons(r->port))
		return;
	__builtin_memcpy(&ip4, r->addr4, 4);
	if (ctx->user_ip4 != ip4)
		return;
	cookie = bpf_get_socket_cookie(ctx);
	o = bpf_map_lookup_elem(&dns_orig, &cookie);
	if (!o || o->family != 4)
		return;
	__builtin_memcpy(&ip4, o->addr, 4);
	ctx->user_ip4 = ip4;
	ctx->user_port = o->port;
}

static __always_inline void gg_dns_restore6(struct bpf_sock_addr *ctx)
{
	struct gg_dns_redirect *r;
	struct gg_dns_orig *o;
	__u32 zero = 0, ip6[4];
	__u64 cookie;

	r = bpf_map_lookup_elem(&dns_redirect, &zero);
	if (!r || !r->port || ctx->user_port != bpf_htons(r->port))
		return;
	__builtin_memcpy(ip6, r->addr6, 16);
	if (ctx->user_ip6[0] != ip6[0] || ctx->user_ip6[1] != ip6[1] ||
	    ctx->user_ip6[2] != ip6[2] || ctx->user_ip6[3] != ip6[3])
		return;
	cookie = bpf_get_socket_cookie(ctx);
	o = bpf_map_lookup_elem(&dns_orig, &cookie);
	if (!o)
		return;
	__builtin_memcpy(ip6, o->addr, 16);
	if (o->family == 4) { /* a v4-mapped destination */
		ip6[3] = ip6[0];
		ip6[0] = 0;
		ip6[1] = 0;
		ip6[2] = bpf_htonl(0x0000ffff);
	}
	ctx->user_ip6[0] = ip6[0];
	ctx->user_ip6[1] = ip6[1];
	ctx->user_ip6[2] = ip6[2];
	ctx->user_ip6[3] = ip6[3];
	ctx->user_port = o->port;
}

/* Fallback: cgroup sock_addr programs. Return 1 allows, 0 denies (EPERM). */
static __always_inline int gg_sock_addr4(const struct gg_settings *s, struct bpf_sock_addr *ctx,
					 bool sendmsg)
{
	struct gg_dest d = {};
	__u32 ip4 = ctx->user_ip4;

	d.family = AF_INET;
	__builtin_memcpy(d.addr, &ip4, 4);
	d.port = bpf_ntohs((__u16)ctx->user_port);
	d.proto = ctx->protocol;
	d.sock_type = ctx->type;
	d.hook = sendmsg ? GG_NET_SENDMSG : GG_NET_CONNECT;
	if (!sendmsg && gg_dest_is_any4(&d))
		gg_dest_any_to_bound(&d, ctx->sk->src_ip4);
	if (gg_dns_rewrite4(s, ctx, &d))
		return 1; /* to the forwarder, on loopback */
	return gg_egress_decide(s, &d, GG_MECH_FALLBACK) == GG_ACT_DENY ? 0 : 1;
}

static __always_inline int gg_sock_addr6(const struct gg_settings *s, struct bpf_sock_addr *ctx,
					 bool sendmsg)
{
	struct gg_dest d = {};
	__u32 ip6[4];

	ip6[0] = ctx->user_ip6[0];
	ip6[1] = ctx->user_ip6[1];
	ip6[2] = ctx->user_ip6[2];
	ip6[3] = ctx->user_ip6[3];
	gg_dest_v6(&d, ip6);
	d.port = bpf_ntohs((__u16)ctx->user_port);
	d.proto = ctx->protocol;
	d.sock_type = ctx->type;
	d.hook = sendmsg ? GG_NET_SENDMSG : GG_NET_CONNECT;
	if (!sendmsg && gg_dest_is_any4(&d))
		gg_dest_any_to_bound(&d, ctx->sk->src_ip4);
	if (gg_dns_rewrite6(s, ctx, &d))
		return 1;
	return gg_egress_decide(s, &d, GG_MECH_FALLBACK) == GG_ACT_DENY ? 0 : 1;
}

SEC("cgroup/connect4")
int gg_egress_connect4(struct bpf_sock_addr *ctx)
{
	struct gg_settings *s = gg_scope_settings();

	return s ? gg_sock_addr4(s, ctx, false) : 1;
}

SEC("cgroup/connect6")
int gg_egress_connect6(struct bpf_sock_addr *ctx)
{
	struct gg_settings *s = gg_scope_settings();

	return s ? gg_sock_addr6(s, ctx, false) : 1;
}

SEC("cgroup/sendmsg4")
int gg_egress_sendmsg4(struct bpf_sock_addr *ctx)
{
	struct gg_settings *s = gg_scope_settings();

	return s ? gg_sock_addr4(s, ctx, true) : 1;
}

SEC("cgroup/sendmsg6")
int gg_egress_sendmsg6(struct bpf_sock_addr *ctx)
{
	struct gg_settings *s = gg_scope_settings();

	return s ? gg_sock_addr6(s, ctx, true) : 1;
}

/* The DNS rewrite on the LSM path, whose socket hooks decided before
 * (gg_lsm_verdict leaves a port-53 destination that will be rewritten to
 * these). The fallback's connect4/6 and sendmsg4/6 rewrite themselves. */
static __always_inline struct gg_dest gg_sa_dest(struct bpf_sock_addr *ctx, bool v6)
{
	struct gg_dest d = {};

	d.port = bpf_ntohs((__u16)ctx->user_port);
	d.proto = ctx->protocol;
	d.sock_type = ctx->type;
	d.family = v6 ? AF_INET6 : AF_INET;
	return d;
}

SEC("cgroup/connect4")
int gg_dns_connect4(struct bpf_sock_addr *ctx)
{
	struct gg_dest d = gg_sa_dest(ctx, false);
	struct gg_settings *s = gg_scope_settings();

	if (s)
		gg_dns_rewrite4(s, ctx, &d);
	return 1;
}

SEC("cgroup/connect6")
int gg_dns_connect6(struct bpf_sock_addr *ctx)
{
	struct gg_dest d = gg_sa_dest(ctx, true);
	struct gg_settings *s = gg_scope_settings();

	if (s)
		gg_dns_rewrite6(s, ctx, &d);
	return 1;
}

SEC("cgroup/sendmsg4")
int gg_dns_sendmsg4(struct bpf_sock_addr *ctx)
{
	struct gg_dest d = gg_sa_dest(ctx, false);
	struct gg_settings *s = gg_scope_settings();

	if (s)
		gg_dns_rewrite4(s, ctx, &d);
	return 1;
}

SEC("cgroup/sendmsg6")
int gg_dns_sendmsg6(struct bpf_sock_addr *ctx)
{
	struct gg_dest d = gg_sa_dest(ctx, true);
	struct gg_settings *s = gg_scope_settings();

	if (s)
		gg_dns_rewrite6(s, ctx, &d);
	return 1;
}

/* Replies: one program per mechanism (the loader attaches a gate's
 * programs by mechanism), the same code. */
SEC("cgroup/recvmsg4")
int gg_dns_recvmsg4(struct bpf_sock_addr *ctx)
{
	gg_dns_restore4(ctx);
	return 1;
}

SEC("cgroup/recvmsg6")
int gg_dns_recvmsg6(struct bpf_sock_addr *ctx)
{
	gg_dns_restore6(ctx);
	return 1;
}

SEC("cgroup/recvmsg4")
int gg_dns_recvmsg4_fallback(struct bpf_sock_addr *ctx)
{
	gg_dns_restore4(ctx);
	return 1;
}

SEC("cgroup/recvmsg6")
int gg_dns_recvmsg6_fallback(struct bpf_sock_addr *ctx)
{
	gg_dns_restore6(ctx);
	return 1;
}

/*
 * The packet check (both mechanisms): every IPv4/IPv6 packet a socket of
 * the scope puts out, decided on the packet's own destination against the
 * same rules (generic ones: the sending program is not known here). It
 * catches what the socket hooks cannot read: an IP_HDRINCL header that
 * says another address than msg_name, and on the fallback path raw and
 * ping sockets, which have no cgroup sendmsg hook. Loopback destinations
 * are never touched. Only denials act and are recorded: observe-mode
 * rules were recorded by the socket hooks, once per socket, not per packet.
 * Not seen here: AF_PACKET frames (they bypass IP output): the LSM path
 * refuses packet sockets at creation ("sockets" rules), the fallback cannot.
 */
static __always_inline bool gg_skb_in_scope(struct __sk_buff *skb)
{
	struct gg_settings *s = gg_settings();

	if (!s || !s->enabled)
		return false;
	if (s->scope_mode == GG_SCOPE_CGROUP)
		return bpf_skb_ancestor_cgroup_id(skb, s->scope.level) == s->scope.id;
	for (__u32 i = 0; i < GG_MAX_EXEMPT; i++) {
		if (i >= s->n_exempt)
			break;
		if (bpf_skb_ancestor_cgroup_id(skb, s->exempt[i].level) == s->exempt[i].id)
			return false;
	}
	return true;
}

/* The transport ports of a first fragment at offset l4: read in place
 * when the linear data holds them, else copied. */
static __always_inline void gg_port_from_skb(struct __sk_buff *skb, __u32 l4, struct gg_dest *d)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	__u16 port = 0;

	if (l4 > 60)
		return;
	if (data + l4 + 4 <= end)
		port = *(__u16 *)(data + l4 + 2);
	else
		bpf_skb_load_bytes(skb, l4 + 2, &port, sizeof(port));
	d->port = bpf_ntohs(port);
}

/* The packet's destination; false if it is not one the gate reads. The
 * headers are read in place (every packet a socket sends has its network
 * header in the linear data); a copy only where they are not. */
static __always_inline bool gg_dest_from_skb(struct __sk_buff *skb, struct gg_dest *d)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ipv6hdr ip6buf, *ip6 = data;
	struct iphdr ipbuf, *ip = data;
	__u32 l4 = 0;
	__u8 ver = 0;

	if ((void *)(ip + 1) > end) {
		if (bpf_skb_load_bytes(skb, 0, &ipbuf, sizeof(ipbuf)))
			return false;
		ip = &ipbuf;
	}
	ver = ip->version;
	if (ver == 4) {
		d->family = AF_INET;
		__builtin_memcpy(d->addr, &ip->daddr, 4);
		d->proto = ip->protocol;
		if (!(ip->frag_off & bpf_htons(0x1fff))) /* first fragment: ports */
			l4 = ip->ihl * 4;
	} else if (ver == 6) {
		if ((void *)(ip6 + 1) > end) {
			if (bpf_skb_load_bytes(skb, 0, &ip6buf, sizeof(ip6buf)))
				return false;
			ip6 = &ip6buf;
		}
		gg_dest_v6(d, (const __u32 *)&ip6->daddr);
		d->proto = ip6->nexthdr;
		l4 = sizeof(*ip6);
	} else {
		return false;
	}
	if (l4 && (d->proto == IPPROTO_TCP || d->proto == IPPROTO_UDP))
		gg_port_from_skb(skb, l4, d);
	d->hook = GG_NET_PACKET;
	return true;
}

/* The record fields: no helper for the current task exists in cgroup_skb
 * on 6.1, so they come from the task (the sender, in process context). */
static __always_inline void gg_packet_event(struct gg_event *e, struct __sk_buff *skb,
					    __u32 mech, __u64 generation, const __u32 *entries,
					    __u32 flags, const struct gg_dest *d)
{
	struct task_struct *task = bpf_get_current_task_btf();

	e->ts_boot_ns = bpf_ktime_get_boot_ns();
	e->cgroup_id = bpf_skb_cgroup_id(skb);
	e->generation = generation;
	e->gate = GG_GATE_EGRESS;
	e->action = GG_ACT_DENY;
	e->mechanism = mech;
	for (int i = 0; i < GG_MAX_HITS; i++)
		e->entries[i] = entries[i];
	e->pid = BPF_CORE_READ(task, tgid);
	e->tid = BPF_CORE_READ(task, pid);
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->uid = BPF_CORE_READ(task, cred, uid.val);
	e->flags = flags;
	BPF_CORE_READ_STR_INTO(&e->comm, task, comm);
	bpf_probe_read_kernel_str(e->exe, sizeof(e->exe),
				  BPF_CORE_READ(task, mm, exe_file, f_path.dentry, d_name.name));
	gg_event_net_fill(e, d);
}

/* Is the header's destination (ip4, or ip6's four words) the socket's
 * connected peer? An unconnected socket has none. One load each: the
 * verifier refuses arithmetic on a sock pointer. */
static __always_inline bool gg_sk_peer_is(struct bpf_sock *sk, bool v4, __u32 ip4,
					  const __u32 *ip6)
{
	if (v4)
		return ip4 && READ_ONCE(sk->dst_ip4) == ip4;
	return READ_ONCE(sk->dst_ip6[0]) == ip6[0] && READ_ONCE(sk->dst_ip6[1]) == ip6[1] &&
	       READ_ONCE(sk->dst_ip6[2]) == ip6[2] && READ_ONCE(sk->dst_ip6[3]) == ip6[3] &&
	       (ip6[0] | ip6[1] | ip6[2] | ip6[3]);
}

/*
 * Was the packet's destination decided by a socket hook already, on both
 * paths? A connected TCP or UDP socket's packets, sent as it was decided:
 * the allowlists leave them alone, so a flow allowed when it was opened
 * is not cut when a learned address expires. Not "as decided": IPv4
 * options or IPv6 extension headers (IP_OPTIONS' source route, an
 * IPV6_RTHDR routing header: the header names another first hop), or a
 * destination that is not the socket's peer (rewritten on the way by a
 * DNAT rule or an encapsulating route, or an unconnected UDP socket's
 * datagram, which its sendmsg decided once). A listener's SYN-ACKs answer
 * a peer that connected in, as before. Every other socket (raw,
 * ping, SCTP, UDP-Lite) has no fallback hook, or an IP_HDRINCL header
 * that can say another address: its packets are decided here. A packet of
 * no full socket is the kernel's own (a SYN-ACK, a reset): left alone.
 *
 * A global function, verified on its own: inlined, its branches multiplied
 * the allowlist decision's states past 6.1's verifier limit.
 */
__attribute__((noinline)) int gg_skb_socket_decided(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;
	__u32 type, proto, h[10] = {}; /* an IPv6 header: daddr in h[6..9] */
	__u8 *b = (__u8 *)h;

	if (!sk)
		return 0;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return 1;
	/* one load each: the verifier refuses arithmetic on a sock pointer */
	type = READ_ONCE(sk->type);
	proto = READ_ONCE(sk->protocol);
	if (!(type == SOCK_STREAM && (proto == IPPROTO_TCP || proto == 262)) && /* MPTCP */
	    !(type == SOCK_DGRAM && proto == IPPROTO_UDP))
		return 0;
	/* a listener's SYN-ACK (the hook runs a request socket's as its
	 * listener's) answers a peer that connected in: no peer of its own */
	if (type == SOCK_STREAM && READ_ONCE(sk->state) == BPF_TCP_LISTEN)
		return 1;
	if (bpf_skb_load_bytes(skb, 0, h, 20))
		return 0;
	if (b[0] >> 4 == 4) /* no options; daddr is h[4] */
		return (b[0] & 0xf) == 5 && h[4] && gg_sk_peer_is(sk, true, h[4], NULL);
	if (b[0] >> 4 != 6 || bpf_skb_load_bytes(skb, 0, h, 40) ||
	    (b[6] != IPPROTO_TCP && b[6] != IPPROTO_UDP))
		return 0;
	return gg_sk_peer_is(sk, false, 0, &h[6]);
}

/*
 * A loopback destination, read in place (no helper call): most packets a
 * sandbox's local services exchange, never decided here. Only a header in
 * the linear data is read; anything else (and v4-mapped loopback) goes the
 * full way, which lets loopback out too.
 */
static __always_inline bool gg_skb_to_loopback(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ipv6hdr *ip6 = data;
	struct iphdr *ip = data;

	if ((void *)(ip + 1) > end)
		return false;
	if (ip->version == 4)
		return (bpf_ntohl(ip->daddr) >> 24) == 127;
	if (ip->version != 6 || (void *)(ip6 + 1) > end)
		return false;
	return !(ip6->daddr.in6_u.u6_addr32[0] | ip6->daddr.in6_u.u6_addr32[1] |
		 ip6->daddr.in6_u.u6_addr32[2]) &&
	       ip6->daddr.in6_u.u6_addr32[3] == bpf_htonl(1);
}

/*
 * A TCP segment without payload (SYN, ACK, FIN, RST) of a connected TCP
 * socket: its destination was decided by the socket's connect (or it is a
 * peer whose connection was accepted), and it carries no data, so it goes
 * out without a lookup: most of a short connection's packets. A segment
 * with data is decided as before, so a deny rule applied while a
 * connection is open still stops its data. A listener's segments (the
 * SYN-ACKs of its request sockets: the hook runs them as the listener's)
 * go the full way: a SYN-ACK to a denied peer stays dropped, so a governed
 * listener cannot signal to a denied host by completing handshakes. Read
 * in place; anything else (IPv6 extension headers, fragments, a header out
 * of the linear data, a raw socket's TCP) goes the full way too.
 */
static __always_inline bool gg_skb_tcp_no_data(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ipv6hdr *ip6 = data;
	struct iphdr *ip = data;
	struct bpf_sock *sk = skb->sk;
	__u8 *doff;
	__u32 l4;

	if (!sk || (void *)(ip + 1) > end)
		return false;
	if (ip->version == 4) {
		/* not a fragment: neither more fragments nor an offset; no
		 * options (a source route) */
		if (ip->protocol != IPPROTO_TCP || (ip->frag_off & bpf_htons(0x3fff)) ||
		    ip->ihl != 5)
			return false;
		l4 = sizeof(*ip);
	} else if (ip->version == 6) {
		if ((void *)(ip6 + 1) > end || ip6->nexthdr != IPPROTO_TCP)
			return false;
		l4 = sizeof(*ip6);
	} else {
		return false;
	}
	doff = data + l4 + 12;
	if ((void *)(doff + 1) > end || skb->len != l4 + (*doff >> 4) * 4)
		return false;
	sk = bpf_sk_fullsock(sk);
	if (!sk || READ_ONCE(sk->type) != SOCK_STREAM || READ_ONCE(sk->protocol) != IPPROTO_TCP ||
	    READ_ONCE(sk->state) == BPF_TCP_LISTEN)
		return false;
	/* to the peer its connect decided, not rewritten on the way (the
	 * header's bounds again: the verifier forgets them past the merge) */
	if (ip->version == 4)
		return gg_sk_peer_is(sk, true, ip->daddr, NULL);
	if ((void *)(ip6 + 1) > end)
		return false;
	return gg_sk_peer_is(sk, false, 0, ip6->daddr.in6_u.u6_addr32);
}

/*
 * A decided socket's packet (gg_skb_socket_decided) is left to the
 * allowlists its connect saw. Lists applied since (a first one, or one
 * that observed and now enforces: another allow_epoch) decide it again,
 * once, and its epoch is kept while they allow it: a flow opened before an
 * allowlist, or while it observed, does not outlive it; a learned address
 * that expires changes no epoch. An accepted socket's peer was decided by
 * nobody: its first packet with data is (a port-narrowed entry does not
 * cover it: the port is the peer's). A listener's SYN-ACKs are left alone
 * (they carry no data, and answer many peers). Returns the full socket,
 * or NULL when the lists have nothing to say.
 */
static __always_inline struct bpf_sock *gg_allow_stale(struct __sk_buff *skb,
						       const struct gg_egress_slot *st)
{
	struct bpf_sock *sk = skb->sk;
	__u32 *seen;

	if (!st || !st->lists || !sk)
		return NULL;
	sk = bpf_sk_fullsock(sk);
	if (!sk || READ_ONCE(sk->state) == BPF_TCP_LISTEN)
		return NULL;
	seen = bpf_sk_storage_get(&egress_sk_epoch, sk, 0, 0);
	return seen && (*seen == st->allow_epoch || *seen == GG_EPOCH_SELF) ? NULL : sk;
}

/*
 * Are flows decided again when the lists change? On the LSM path, where
 * the daemon stamps its own sockets as it makes them
 * (gg_egress_own_socket). Not on the fallback path: it has no such hook in
 * global scope, and 6.1's verifier refused its packet program with the
 * second decision (over a million instructions); mech is a constant, so
 * the fallback's program has none of it (docs/architecture.md).
 */
static __always_inline bool gg_own_sockets_known(__u32 mech)
{
	return mech == GG_MECH_LSM;
}

/* The daemon's sockets, stamped as made: the packet check leaves them to
 * the socket hooks' gg_self_egress, whatever the allowlists say (its
 * upstream resolver is on none). */
SEC("lsm/socket_post_create")
int BPF_PROG(gg_egress_own_socket, struct socket *sock, int family, int type, int protocol,
	     int kern, int ret)
{
	struct gg_settings *s = gg_settings();
	struct sock *sk = sock->sk;
	__u32 *v;

	if (ret || kern || !sk || !s || !gg_task_is_self(s) ||
	    (family != AF_INET && family != AF_INET6))
		return 0;
	v = bpf_sk_storage_get(&egress_sk_epoch, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (v)
		*v = GG_EPOCH_SELF;
	return 0;
}

/*
 * The network namespace's own IPv6 link control: neighbour discovery
 * (router and neighbour solicitations and advertisements, redirects: ICMPv6
 * 133-137, hop limit 255) and MLD (130-132, 143, hop limit 1, after the
 * hop-by-hop header of its router alert), sent from the namespace's raw
 * ICMPv6 sockets (ndisc_sk, igmp_sk), which belong to the cgroup that
 * made the namespace: the root cgroup for the guest's own. Decided by the
 * lists as any raw socket's packets, they were dropped under an allowlist
 * and IPv6 over a NIC failed at neighbour discovery. Let out on the BPF
 * LSM path only, where a governed task can make no raw socket to forge
 * them (the floor's socket_create) nor join a group under a list
 * (gg_join_decide); the fallback path keeps deciding them (its limits).
 */
__attribute__((noinline)) int gg_skb_link_control(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;
	__u8 h[48] = {}; /* the IPv6 header, and 8 bytes after it */
	__u8 next, type, hops;

	if (!sk)
		return 0;
	sk = bpf_sk_fullsock(sk);
	if (!sk || READ_ONCE(sk->type) != SOCK_RAW ||
	    READ_ONCE(sk->protocol) != GG_IPPROTO_ICMPV6)
		return 0;
	if (bpf_skb_load_bytes(skb, 0, h, sizeof(h)) || h[0] >> 4 != 6)
		return 0;
	next = h[6];
	hops = h[7];
	type = h[40];
	if (next == GG_IPPROTO_ICMPV6)
		return hops == 255 && type >= 133 && type <= 137;
	/* MLD: a hop-by-hop header of 8 bytes (the router alert), then ICMPv6 */
	if (next != 0 || h[40] != GG_IPPROTO_ICMPV6 || h[41] != 0 || hops != 1 ||
	    bpf_skb_load_bytes(skb, 48, &type, 1))
		return 0;
	return type == 130 || type == 131 || type == 132 || type == 143;
}

/* 1 lets the packet out, 0 drops it (the sender sees EPERM). */
static __always_inline int gg_packet_check(struct __sk_buff *skb, __u32 mech)
{
	__u32 action = GG_ACT_NONE, entries[GG_MAX_HITS] = {}, flags, allow = 0, *seen;
	struct gg_egress_slot *st;
	struct bpf_sock *stale = NULL;
	struct gg_dest d = {};
	struct gg_event *e;
	__u64 generation;
	__u32 slot;

	if (gg_skb_to_loopback(skb) || gg_skb_tcp_no_data(skb) || !gg_skb_in_scope(skb) ||
	    (gg_own_sockets_known(mech) && gg_skb_link_control(skb)) ||
	    !gg_dest_from_skb(skb, &d) || gg_is_loopback(&d))
		return 1;
	slot = gg_active_slot(&generation);
	gg_hit(gg_egress_lookup(slot, 0, &d), &action, entries, 0);
	st = bpf_map_lookup_elem(&egress_state, &slot);
	if (!gg_skb_socket_decided(skb) ||
	    (gg_own_sockets_known(mech) && (stale = gg_allow_stale(skb, st))))
		allow = gg_allow_decide(slot, st, &d, &action, entries, true);
	flags = gg_check_slot(slot, generation, &action, entries) | allow;
	if (stale && st && action != GG_ACT_DENY) {
		seen = bpf_sk_storage_get(&egress_sk_epoch, stale, 0, BPF_SK_STORAGE_GET_F_CREATE);
		if (seen)
			*seen = st->allow_epoch;
	}
	if (action != GG_ACT_DENY)
		return 1;
	e = gg_decide(GG_GATE_EGRESS, action);
	if (e) {
		gg_packet_event(e, skb, mech, generation, entries, flags, &d);
		bpf_ringbuf_submit(e, 0);
	}
	return 0;
}

/* One per mechanism, so the record names the path that governs the gate. */
SEC("cgroup_skb/egress")
int gg_egress_packet_lsm(struct __sk_buff *skb)
{
	return gg_packet_check(skb, GG_MECH_LSM);
}

SEC("cgroup_skb/egress")
int gg_egress_packet_fallback(struct __sk_buff *skb)
{
	return gg_packet_check(skb, GG_MECH_FALLBACK);
}

/* bpf_ima_file_hash's result for SHA-256 (enum hash_algo). */
#define GG_HASH_ALGO_SHA256 4

/* A ctime this far in the past has settled (as in exec.bpf.c: ctime comes
 * from a coarse clock; TAI is ahead of it by at most 37 s). */
#define GG_HASH_SETTLE_S 64

/* Was hk's ctime settled, and unchanged while the file was read, and can
 * no one change it unseen (a writer: an exec denies them, but not where
 * fanotify pre-content marks are, on 6.12; a FUSE file system)? */
static __always_inline bool gg_exe_settled(struct file *file, const struct gg_file_version *hk)
{
	struct inode *inode = BPF_CORE_READ(file, f_inode);
	struct gg_file_version now;

	gg_file_key(file, &now);
	if (now.ctime_sec != hk->ctime_sec || now.ctime_nsec != hk->ctime_nsec ||
	    gg_inode_has_writers(inode) || gg_content_unpinned(inode))
		return false;
	return hk->ctime_sec + GG_HASH_SETTLE_S < (__s64)(bpf_ktime_get_tai_ns() / 1000000000ULL);
}

/* The row of a file opened for writing or truncated is forgotten, as the
 * exec gate's digest cache (exec.bpf.c: gg_exec_hash_forget). */
static __always_inline void gg_exe_forget(struct inode *inode)
{
	struct gg_exec_hash_key k;

	if (gg_inode_id(inode, &k))
		bpf_map_delete_elem(&egress_exe, &k);
}

SEC("lsm/file_open")
int BPF_PROG(gg_egress_exe_open, struct file *file, int ret)
{
	if ((BPF_CORE_READ(file, f_mode) & FMODE_WRITE) ||
	    (BPF_CORE_READ(file, f_flags) & GG_O_TRUNC))
		gg_exe_forget(BPF_CORE_READ(file, f_inode));
	return ret;
}

SEC("lsm/path_truncate")
int BPF_PROG(gg_egress_exe_truncate, const struct path *path, int ret)
{
	gg_exe_forget(BPF_CORE_READ(path, dentry, d_inode));
	return ret;
}

/*
 * Captures the content digest of what a governed task executes, once the
 * exec cannot fail any more (bprm->file is the final file: the interpreter
 * of a script), for program rules that name a copy by its content. Only
 * while the active slot has egress_prog_digest rows; a file hashed once
 * its ctime had settled is not hashed again.
 */
/* file's digest into egress_exe (k: its version), unless a settled row
 * has it already: IMA hashes the file once per version. */
static __always_inline void gg_exe_hash(struct file *file, const struct gg_file_version *k)
{
	__u8 buf[64]; /* the largest digest IMA gives (SHA-512) */
	struct gg_egress_exe *x, nx = {};

	x = gg_exe_row(k);
	if (x && x->settled)
		return;
	if (bpf_ima_file_hash(file, buf, sizeof(buf)) != GG_HASH_ALGO_SHA256)
		return;
	__builtin_memcpy(nx.sha256, buf, GG_SHA256_LEN);
	nx.settled = gg_exe_settled(file, k);
	nx.ctime_sec = k->ctime_sec;
	nx.ctime_nsec = k->ctime_nsec;
	bpf_map_update_elem(&egress_exe, &k->id, &nx, BPF_ANY);
}

/* Are program rules by content in force (the active slot has any)? */
static __always_inline bool gg_prog_digests_on(void)
{
	struct gg_egress_slot *st;
	__u64 generation;
	__u32 slot;

	slot = gg_active_slot(&generation);
	st = bpf_map_lookup_elem(&egress_state, &slot);
	return st && st->prog_digests;
}

SEC("lsm.s/bprm_committed_creds")
int BPF_PROG(gg_egress_exe, struct linux_binprm *bprm)
{
	struct gg_file_version hk;

	if (!gg_task_in_scope() || !gg_prog_digests_on())
		return 0;
	gg_file_key(bprm->file, &hk);
	gg_exe_hash(bprm->file, &hk);
	return 0;
}

#define GG_PROT_EXEC 0x4 /* <sys/mman.h> */

/* The first file a governed process maps executable after its exec,
 * other than its exe_file (egress_mapped): what the dynamic loader was
 * given, when the exe_file is the loader. Hashed as an executed file is
 * while program rules by content are in force. */
SEC("lsm.s/mmap_file")
int BPF_PROG(gg_egress_mapped_exec, struct file *file, unsigned long reqprot, unsigned long prot,
	     unsigned long flags, int ret)
{
	struct task_struct *task;
	struct gg_egress_mapped *m;
	struct mm_struct *mm;
	struct file *exe;

	if (ret != 0 || !file || !(prot & GG_PROT_EXEC))
		return ret;
	if (!gg_task_in_scope())
		return 0;
	task = bpf_get_current_task_btf();
	m = bpf_task_storage_get(&egress_mapped, task, 0, 0);
	if (m && m->exec_id == task->self_exec_id)
		return 0; /* the first one is kept */
	mm = task->mm;
	exe = mm ? mm->exe_file : NULL;
	if (!exe || exe->f_inode == file->f_inode)
		return 0;
	m = bpf_task_storage_get(&egress_mapped, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!m)
		return 0;
	m->exec_id = task->self_exec_id;
	gg_file_key(file, &m->subject.file);
	bpf_probe_read_kernel_str(m->subject.name, sizeof(m->subject.name),
				  file->f_path.dentry->d_name.name);
	if (gg_prog_digests_on())
		gg_exe_hash(file, &m->subject.file);
	return 0;
}

/* A fork or a thread runs the image its parent does: it keeps the file
 * mapped after the exec (the subshell of a shell the loader ran). */
SEC("lsm/task_alloc")
int BPF_PROG(gg_egress_task_alloc, struct task_struct *task, unsigned long clone_flags, int ret)
{
	struct gg_egress_mapped *m;

	if (ret != 0)
		return ret;
	m = bpf_task_storage_get(&egress_mapped, bpf_get_current_task_btf(), 0, 0);
	if (m)
		bpf_task_storage_get(&egress_mapped, task, m, BPF_LOCAL_STORAGE_GET_F_CREATE);
	return 0;
}

GG_ASSERT_PINNED(gg_egress_exe, GG_PROG_EGRESS_EXE);
GG_ASSERT_PINNED(gg_egress_mapped_exec, GG_PROG_EGRESS_MAPPED_EXEC);
GG_ASSERT_PINNED(gg_egress_task_alloc, GG_PROG_EGRESS_TASK_ALLOC);
GG_ASSERT_PINNED(gg_egress_exe_open, GG_PROG_EGRESS_EXE_OPEN);
GG_ASSERT_PINNED(gg_egress_exe_truncate, GG_PROG_EGRESS_EXE_TRUNCATE);
GG_ASSERT_PINNED(gg_egress_connect, GG_PROG_EGRESS_CONNECT);
GG_ASSERT_PINNED(gg_egress_sendmsg, GG_PROG_EGRESS_SENDMSG);
GG_ASSERT_PINNED(gg_egress_socket, GG_PROG_EGRESS_SOCKET);
GG_ASSERT_PINNED(gg_egress_own_socket, GG_PROG_EGRESS_OWN_SOCKET);
GG_ASSERT_PINNED(gg_egress_setsockopt, GG_PROG_EGRESS_SETSOCKOPT);
GG_ASSERT_PINNED(gg_egress_page_send, GG_PROG_EGRESS_PAGE_SEND);
GG_ASSERT_PINNED(gg_egress_connect4, GG_PROG_EGRESS_CONNECT4);
GG_ASSERT_PINNED(gg_egress_connect6, GG_PROG_EGRESS_CONNECT6);
GG_ASSERT_PINNED(gg_egress_sendmsg4, GG_PROG_EGRESS_SENDMSG4);
GG_ASSERT_PINNED(gg_egress_sendmsg6, GG_PROG_EGRESS_SENDMSG6);
GG_ASSERT_PINNED(gg_egress_packet_lsm, GG_PROG_EGRESS_PACKET_LSM);
GG_ASSERT_PINNED(gg_egress_packet_fallback, GG_PROG_EGRESS_PACKET_FALLBACK);
GG_ASSERT_PINNED(gg_dns_connect4, GG_PROG_DNS_CONNECT4);
GG_ASSERT_PINNED(gg_dns_connect6, GG_PROG_DNS_CONNECT6);
GG_ASSERT_PINNED(gg_dns_sendmsg4, GG_PROG_DNS_SENDMSG4);
GG_ASSERT_PINNED(gg_dns_sendmsg6, GG_PROG_DNS_SENDMSG6);
GG_ASSERT_PINNED(gg_dns_recvmsg4, GG_PROG_DNS_RECVMSG4);
GG_ASSERT_PINNED(gg_dns_recvmsg6, GG_PROG_DNS_RECVMSG6);
GG_ASSERT_PINNED(gg_dns_recvmsg4_fallback, GG_PROG_DNS_RECVMSG4_FALLBACK);
GG_ASSERT_PINNED(gg_dns_recvmsg6_fallback, GG_PROG_DNS_RECVMSG6_FALLBACK);
