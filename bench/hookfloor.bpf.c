// SPDX-License-Identifier: GPL-2.0
/*
 * The hooks' floor (bench/connect-pair.sh): the programs govgate's connect
 * path runs on the fallback path, cgroup/connect4 and cgroup_skb/egress,
 * with nothing in them. A connect made under these pays what any program
 * at those hooks costs (the kernel's call into it, once per connect and
 * once per packet), against which govgate's own cost is read.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("cgroup/connect4")
int floor_connect4(struct bpf_sock_addr *ctx)
{
	return 1;
}

SEC("cgroup_skb/egress")
int floor_egress(struct __sk_buff *skb)
{
	return 1;
}
