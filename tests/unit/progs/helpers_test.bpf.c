// SPDX-License-Identifier: GPL-2.0
/*
 * The gates' helpers that carry logic, run by BPF_PROG_TEST_RUN from
 * tests/unit/test_bpf_helpers.c. The gate sources are included whole, so
 * the code under test is the code that enforces; their own programs are
 * never loaded (the test turns autoload off) and their maps are not pinned
 * (nothing here may touch a real pin directory).
 *
 * SEC("syscall") programs take their context from user space and hand it
 * back, may call bpf_loop, look maps up and read the calling task: enough
 * for every helper that needs no hook argument, socket, sockaddr or LPM
 * trie (those are refused in sleepable programs: see test_dest).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define LIBBPF_PIN_BY_NAME LIBBPF_PIN_NONE

#include "exec.bpf.c"
#include "egress.bpf.c"
#include "helpers_test.h"

SEC("syscall")
int test_path_key_finish(struct gg_t_path_key *ctx)
{
	struct gg_exec_path_key pk;

	__builtin_memcpy(&pk, &ctx->key, sizeof(pk));
	gg_path_key_finish(&pk, ctx->len, ctx->slot);
	__builtin_memcpy(&ctx->key, &pk, sizeof(pk));
	return 0;
}

SEC("syscall")
int test_invoked_name(struct gg_t_invoked *ctx)
{
	__u32 action = GG_ACT_NONE, entries[GG_MAX_HITS] = {};
	struct gg_exec_path_key pk;
	struct gg_exec_name_key nk;

	pk.slot = 0;
	__builtin_memcpy(pk.path, ctx->path, sizeof(pk.path));
	ctx->hit = gg_exec_lookup_invoked((struct gg_scan *)&pk, ctx->slot, &action, entries, &nk);
	ctx->action = action;
	__builtin_memcpy(ctx->entries, entries, sizeof(entries));
	__builtin_memcpy(ctx->name, nk.name, sizeof(nk.name));
	return 0;
}

SEC("syscall")
int test_port_verdict(struct gg_t_port *ctx)
{
	struct gg_dest d = { .family = AF_INET, .port = ctx->port, .proto = ctx->proto };
	struct gg_egress_val val = ctx->val;
	struct gg_verdict *v = gg_port_verdict(&val.any, val.port_node, ctx->slot, &d);

	ctx->out = *v;
	return 0;
}

/* Sleepable programs (syscall ones are) may not use LPM tries: the trie
 * lookup runs in a raw tracepoint program, with its context in .bss. */
struct gg_t_dest dest_io;

SEC("raw_tp")
int test_dest(void *unused)
{
	struct gg_t_dest *ctx = &dest_io;
	struct gg_dest d = { .port = ctx->port, .proto = ctx->proto };
	struct gg_verdict *v;
	__u32 ip6[4];

	/* As gg_sock_addr4 and gg_sock_addr6 build it. */
	if (ctx->family == AF_INET) {
		ip6[0] = ctx->ip6[0];
		d.family = AF_INET;
		__builtin_memcpy(d.addr, &ip6[0], 4);
	} else {
		ip6[0] = ctx->ip6[0];
		ip6[1] = ctx->ip6[1];
		ip6[2] = ctx->ip6[2];
		ip6[3] = ctx->ip6[3];
		gg_dest_v6(&d, ip6);
	}
	ctx->family = d.family;
	ctx->mapped_v4 = d.mapped_v4;
	ctx->loopback = gg_is_loopback(&d);
	__builtin_memcpy(ctx->addr, d.addr, sizeof(d.addr));
	v = gg_egress_lookup(ctx->slot, ctx->prog, &d);
	ctx->found = v && v->entry;
	if (v)
		ctx->out = *v;
	return 0;
}

SEC("syscall")
int test_decision(struct gg_t_decision *ctx)
{
	__u32 action = GG_ACT_NONE, entries[GG_MAX_HITS] = {}, zero = 0, slot;
	struct gg_policy_state *st;
	struct gg_verdict v;
	__u64 generation;

	slot = gg_active_slot(&generation);
	for (int i = 0; i < GG_T_VERDICTS; i++) {
		v = ctx->v[i];
		gg_hit(&v, &action, entries, ctx->idx[i]);
	}
	/* An apply that rewrote this slot while the decision looked it up. */
	st = bpf_map_lookup_elem(&policy_state, &zero);
	if (ctx->rewrite && st)
		st->generation[slot & 1] = ctx->new_gen;
	ctx->flags = gg_check_slot(slot, generation, &action, entries);
	ctx->generation = generation;
	ctx->slot = slot;
	ctx->action = action;
	__builtin_memcpy(ctx->entries, entries, sizeof(entries));
	return 0;
}

SEC("syscall")
int test_scope(struct gg_t_scope *ctx)
{
	struct gg_settings *s = gg_settings();

	ctx->in_scope = gg_task_in_scope();
	ctx->is_self = s && gg_task_is_self(s);
	return 0;
}

SEC("syscall")
int test_ringbuf_emit(struct gg_t_ringbuf *ctx)
{
	__u8 *r = bpf_ringbuf_reserve(&events, GG_T_RB_LEN, 0);

	if (!r)
		return 1;
	__builtin_memcpy(r, &ctx->seq, 8);
	__builtin_memcpy(r + GG_T_RB_LEN - 8, &ctx->seq, 8);
	if (ctx->discard)
		bpf_ringbuf_discard(r, 0);
	else
		bpf_ringbuf_submit(r, 0);
	return 0;
}
