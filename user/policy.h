/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Writing a compiled policy into the pinned maps: the inactive slot is
 * cleared and filled completely, then policy_state.active_slot is flipped
 * in one map update (see govgate_abi.h).
 */
#ifndef GG_POLICY_H
#define GG_POLICY_H

#include "compile.h"

struct gg_policy_status {
	__u32 active_slot;
	__u64 generation; /* of the active slot; 0 = no policy yet */
	__u64 latest; /* the newest either slot holds */
	/* exec_digest rows of the active slot; -1 = no exec_digest map */
	long long n_digests;
	long long n_trusted; /* the active slot's trust-list digests (exec_trust) */
	/* egress allowlists of the active slot (0: none; -1: no map) */
	int allow_lists;
	int allow_observe; /* of them, in observe mode */
	long long allow_nodes; /* CIDR nodes of the active slot */
	/* addresses learned from DNS (-1: no map), how many of them have
	 * expired, and the soonest expiry still ahead (CLOCK_BOOTTIME ns, 0:
	 * none) */
	long long learned;
	long long learned_expired;
	__u64 learned_next_ns;
	/* the active slot's generic egress rules, IPv4 and IPv6: the range
	 * array's id (0: none, or no map) and how many ranges it holds */
	struct {
		__u32 map_id;
		long long ranges;
	} egress_ranges[2];
};

/* Loads c into the inactive slot and makes it active as `generation`, which
 * must be newer than both slots'. On error the active policy is untouched. */
int gg_policy_swap(const char *pin_dir, const struct gg_compiled *c, __u64 generation,
		   struct gg_err *err);

/*
 * After a flip the slot before holds the policy before last. In a process
 * that stays (the daemon), it is emptied after the apply answered, a chunk
 * of keys at a time: gg_policy_stale_clear deletes up to max_keys of its
 * keys (1: more to do, 0: done or nothing to do, <0: failed; the next
 * apply empties the slot then). The caller holds the apply lock from the
 * first call to the last (user/apply.c). Only gg_policy_stale_grace_ms
 * after the flip (gg_policy_stale_wait_ms: how long still): a decision
 * still reading the slot when it is marked fails closed, and one that
 * hashes a file can take long (seconds under emulation); the next apply
 * marked it at once, but applies are seldom seconds apart.
 */
#define GG_STALE_GRACE_MS 5000
extern int gg_policy_stale_grace_ms; /* GG_STALE_GRACE_MS; tests lower it */
bool gg_policy_stale_pending(void);
int gg_policy_stale_wait_ms(void);
int gg_policy_stale_clear(size_t max_keys, struct gg_err *err);
/* Forgets the keys this process wrote, and the maps it kept (a forked
 * child that applies). */
void gg_policy_forget(void);
/* A process that stays (the daemon) keeps the maps open between applies
 * while the pinned policy_state is the same map; off: closed. */
void gg_policy_keep_maps(bool on);

/* The generations and the active slot only (st's counts are left as they
 * are): what an apply needs, without walking the maps. */
int gg_policy_generation(const char *pin_dir, struct gg_policy_status *st, struct gg_err *err);
/* The same, and the counts of what the active slot holds (status). */
int gg_policy_read(const char *pin_dir, struct gg_policy_status *st, struct gg_err *err);

/* Sums the per-CPU counters: out[gate][kind]. */
int gg_counters_read(const char *pin_dir, __u64 out[GG_GATE_COUNT][GG_CNT_COUNT],
		     struct gg_err *err);

#endif
