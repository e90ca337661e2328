/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Contexts of the helper tests (helpers_test.bpf.c): user space fills the
 * inputs, BPF_PROG_TEST_RUN runs one program on them, the outputs come
 * back in the same buffer. Included after vmlinux.h or <linux/types.h>.
 */
#ifndef GG_HELPERS_TEST_H
#define GG_HELPERS_TEST_H

#include "govgate_abi.h"

/* gg_path_key_finish: a bpf_d_path result made a lookup key. */
struct gg_t_path_key {
	struct gg_exec_path_key key; /* in: path, stale bytes behind; out: key */
	__u32 slot; /* in */
	__s64 len; /* in: what bpf_d_path returned (the NUL included) */
};

/* gg_exec_lookup_invoked: the last component of the path as invoked. */
struct gg_t_invoked {
	char path[GG_PATH_MAX]; /* in */
	__u32 slot; /* in */
	__u32 hit; /* out: exec_name matched */
	__u32 action; /* out */
	__u32 entries[GG_MAX_HITS]; /* out */
	char name[GG_NAME_MAX]; /* out: the key's name */
};

/* gg_port_verdict: the verdict an LPM node yields for (port, proto). */
struct gg_t_port {
	struct gg_egress_val val; /* in: the node */
	__u32 slot; /* in */
	__u16 port; /* in */
	__u8 proto; /* in */
	__u8 _pad;
	struct gg_verdict out; /* out */
};

/* gg_dest_v6 + gg_is_loopback + gg_egress_lookup: a destination as the
 * cgroup programs see it, normalised and looked up. */
struct gg_t_dest {
	__u32 ip6[4]; /* in: network order; ip6[0] only for AF_INET */
	__u16 family; /* in: AF_INET or AF_INET6; out: after unmapping */
	__u16 port; /* in */
	__u8 proto; /* in */
	__u8 mapped_v4; /* out */
	__u8 loopback; /* out */
	__u8 found; /* out: a trie node matched */
	__u32 slot; /* in */
	__u32 prog; /* in */
	__u8 addr[16]; /* out: the normalised address */
	struct gg_verdict out; /* out */
};

/* gg_hit + gg_active_slot + gg_check_slot: one decision's fold, with an
 * apply simulated between its lookups and its end. */
#define GG_T_VERDICTS 4
struct gg_t_decision {
	struct gg_verdict v[GG_T_VERDICTS]; /* in: lookups' results, in order */
	__s32 idx[GG_T_VERDICTS]; /* in: entries[] index each one fills */
	__u32 rewrite; /* in: 1 = set the slot's generation to new_gen midway */
	__u32 _pad;
	__u64 new_gen; /* in */
	__u64 generation; /* out: the generation the decision began with */
	__u32 slot; /* out */
	__u32 action; /* out */
	__u32 flags; /* out */
	__u32 entries[GG_MAX_HITS]; /* out */
};

/* gg_task_in_scope: is the calling task governed under `settings`?
 * gg_task_is_self: is it the daemon (its egress bounded by self_egress)? */
struct gg_t_scope {
	__u32 in_scope; /* out */
	__u32 is_self; /* out */
};

/* The daemon's ring buffer consumer (user/ringbuf.c): one record of
 * GG_T_RB_LEN bytes in events, its first and last 8 bytes seq. */
#define GG_T_RB_LEN 1000
struct gg_t_ringbuf {
	__u64 seq; /* in */
	__u32 discard; /* in: reserved, then discarded */
};

#endif
