// SPDX-License-Identifier: GPL-2.0
/*
 * net.egress: deny outbound connections and datagrams by destination CIDR,
 * optionally narrowed by port and protocol, and by the connecting program.
 *
 * LSM: socket_connect, and socket_sendmsg because a UDP sendto needs no
 * connect (msg_name is already a kernel copy there). Fallback: the cgroup
 * sock_addr hooks connect4/6 and sendmsg4/6 on the scope's cgroup.
 *
 * An IPv4-mapped IPv6 destination (::ffff:a.b.c.d) is looked up as the
 * IPv4 address it is.
 */
#include "common.bpf.h"

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

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct gg_egress_prog_key);
	__type(value, struct gg_egress_prog_val);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* rules take memory, not capacity */
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} egress_prog SEC(".maps");

GG_ASSERT_PINNED(egress_v4, GG_MAP_EGRESS_V4);
GG_ASSERT_PINNED(egress_v6, GG_MAP_EGRESS_V6);
GG_ASSERT_PINNED(egress_port, GG_MAP_EGRESS_PORT);
GG_ASSERT_PINNED(egress_prog, GG_MAP_EGRESS_PROG);

/* A destination, normalised: IPv4 (including v4-mapped v6) or IPv6. */
struct gg_dest {
	__u8 addr[16];
	__u16 family; /* AF_INET or AF_INET6 after unmapping */
	__u16 port; /* host order */
	__u8 proto;
	__u8 mapped_v4;
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

/* The narrowed verdict for (port, proto) if any, else the node's `any`. */
static __always_inline struct gg_verdict *gg_port_verdict(struct gg_egress_val *val, __u32 slot,
							  const struct gg_dest *d)
{
	struct gg_egress_port_key pk = { .slot = slot, .node = val->port_node };
	struct gg_verdict *v;

	if (!val->port_node)
		return &val->any;
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
	return &val->any;
}

static __always_inline struct gg_verdict *gg_egress_lookup(__u32 slot, __u32 prog,
							   const struct gg_dest *d)
{
	struct gg_egress_val *val;

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
	return gg_port_verdict(val, slot, d);
}

/* The program-specific rule set of the current executable, if any. */
static __always_inline __u32 gg_current_prog(__u32 slot)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct gg_egress_prog_key k = { .slot = slot };
	struct gg_egress_prog_val *pv;

	bpf_probe_read_kernel_str(k.name, sizeof(k.name),
				  BPF_CORE_READ(task, mm, exe_file, f_path.dentry, d_name.name));
	pv = bpf_map_lookup_elem(&egress_prog, &k);
	return pv ? pv->prog : 0;
}

/* Decides one destination; returns the action (deny, observe or none). */
static __always_inline __u32 gg_egress_decide(const struct gg_dest *d, __u32 mech, bool sendmsg)
{
	__u32 action = GG_ACT_NONE, entries[GG_MAX_HITS] = {}, flags, prog;
	__u64 generation;
	__u32 slot = gg_active_slot(&generation);
	struct gg_event *e;

	gg_hit(gg_egress_lookup(slot, 0, d), &action, entries, 0);
	if (!gg_is_loopback(d)) {
		prog = gg_current_prog(slot);
		if (prog)
			gg_hit(gg_egress_lookup(slot, prog, d), &action, entries, 1);
	}
	flags = gg_check_slot(slot, generation, &action, entries);
	e = gg_decide(GG_GATE_EGRESS, action);
	if (!e)
		return action;
	gg_event_fill(e, GG_GATE_EGRESS, action, mech, generation, entries, flags);
	__builtin_memset(&e->net, 0, sizeof(e->net));
	e->net.family = d->family == AF_INET && !d->mapped_v4 ? AF_INET : AF_INET6;
	e->net.dport = d->port;
	e->net.proto = d->proto;
	e->net.mapped_v4 = d->mapped_v4;
	e->net.is_sendmsg = sendmsg;
	__builtin_memcpy(e->net.daddr, d->addr, 16);
	bpf_ringbuf_submit(e, 0);
	return action;
}

/* Reads a kernel sockaddr into a destination; false if not inet. */
static __always_inline bool gg_dest_from_sockaddr(struct gg_dest *d, struct sockaddr *sa,
						  struct socket *sock)
{
	__u16 family = 0;

	__builtin_memset(d, 0, sizeof(*d));
	if (bpf_probe_read_kernel(&family, sizeof(family), &sa->sa_family))
		return false;
	d->proto = BPF_CORE_READ(sock, sk, sk_protocol);
	if (family == AF_INET) {
		struct sockaddr_in sin;

		if (bpf_probe_read_kernel(&sin, sizeof(sin), sa))
			return false;
		d->family = AF_INET;
		__builtin_memcpy(d->addr, &sin.sin_addr.s_addr, 4);
		d->port = bpf_ntohs(sin.sin_port);
		return true;
	}
	if (family == AF_INET6) {
		struct sockaddr_in6 sin6;

		if (bpf_probe_read_kernel(&sin6, sizeof(sin6), sa))
			return false;
		gg_dest_v6(d, (const __u32 *)&sin6.sin6_addr);
		d->port = bpf_ntohs(sin6.sin6_port);
		return true;
	}
	return false;
}

SEC("lsm/socket_connect")
int BPF_PROG(gg_egress_connect, struct socket *sock, struct sockaddr *address, int addrlen,
	     int ret)
{
	struct gg_dest d;

	if (ret != 0)
		return ret;
	if (!gg_task_in_scope() || !gg_dest_from_sockaddr(&d, address, sock))
		return 0;
	return gg_egress_decide(&d, GG_MECH_LSM, false) == GG_ACT_DENY ? -EPERM : 0;
}

SEC("lsm/socket_sendmsg")
int BPF_PROG(gg_egress_sendmsg, struct socket *sock, struct msghdr *msg, int size, int ret)
{
	struct sockaddr *name;
	struct gg_dest d;

	if (ret != 0)
		return ret;
	name = BPF_CORE_READ(msg, msg_name);
	if (!name) /* connected socket: its connect was checked */
		return 0;
	if (!gg_task_in_scope() || !gg_dest_from_sockaddr(&d, name, sock))
		return 0;
	return gg_egress_decide(&d, GG_MECH_LSM, true) == GG_ACT_DENY ? -EPERM : 0;
}

/* Fallback: cgroup sock_addr programs. Return 1 allows, 0 denies (EPERM). */
static __always_inline int gg_sock_addr4(struct bpf_sock_addr *ctx, bool sendmsg)
{
	struct gg_dest d = {};
	__u32 ip4 = ctx->user_ip4;

	d.family = AF_INET;
	__builtin_memcpy(d.addr, &ip4, 4);
	d.port = bpf_ntohs((__u16)ctx->user_port);
	d.proto = ctx->protocol;
	return gg_egress_decide(&d, GG_MECH_FALLBACK, sendmsg) == GG_ACT_DENY ? 0 : 1;
}

static __always_inline int gg_sock_addr6(struct bpf_sock_addr *ctx, bool sendmsg)
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
	return gg_egress_decide(&d, GG_MECH_FALLBACK, sendmsg) == GG_ACT_DENY ? 0 : 1;
}

SEC("cgroup/connect4")
int gg_egress_connect4(struct bpf_sock_addr *ctx)
{
	return gg_task_in_scope() ? gg_sock_addr4(ctx, false) : 1;
}

SEC("cgroup/connect6")
int gg_egress_connect6(struct bpf_sock_addr *ctx)
{
	return gg_task_in_scope() ? gg_sock_addr6(ctx, false) : 1;
}

SEC("cgroup/sendmsg4")
int gg_egress_sendmsg4(struct bpf_sock_addr *ctx)
{
	return gg_task_in_scope() ? gg_sock_addr4(ctx, true) : 1;
}

SEC("cgroup/sendmsg6")
int gg_egress_sendmsg6(struct bpf_sock_addr *ctx)
{
	return gg_task_in_scope() ? gg_sock_addr6(ctx, true) : 1;
}

GG_ASSERT_PINNED(gg_egress_connect, GG_PROG_EGRESS_CONNECT);
GG_ASSERT_PINNED(gg_egress_sendmsg, GG_PROG_EGRESS_SENDMSG);
GG_ASSERT_PINNED(gg_egress_connect4, GG_PROG_EGRESS_CONNECT4);
GG_ASSERT_PINNED(gg_egress_connect6, GG_PROG_EGRESS_CONNECT6);
GG_ASSERT_PINNED(gg_egress_sendmsg4, GG_PROG_EGRESS_SENDMSG4);
GG_ASSERT_PINNED(gg_egress_sendmsg6, GG_PROG_EGRESS_SENDMSG6);
