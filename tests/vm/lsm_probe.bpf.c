// SPDX-License-Identifier: GPL-2.0
/*
 * lsm_probe: smallest possible proof that BPF LSM enforcement works in the
 * VM kernel, independent of govgate.  Denies execve() of any file whose
 * basename is exactly "denyme" with -EPERM.
 *
 * Built CO-RE against vmlinux/vmlinux.h (host 6.18 BTF); the field accesses
 * below are relocated by libbpf against the guest kernel's /sys/kernel/btf.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#define EPERM 1

char LICENSE[] SEC("license") = "GPL";

/* Number of denials, readable from userspace via the skeleton's .bss. */
__u64 denied = 0;

SEC("lsm/bprm_check_security")
int BPF_PROG(deny_exec, struct linux_binprm *bprm, int ret)
{
	static const char want[] = "denyme";
	const unsigned char *name;
	char buf[sizeof(want) + 1] = {};
	int i;

	/* Respect a denial already made by an earlier LSM/program. */
	if (ret)
		return ret;

	name = BPF_CORE_READ(bprm, file, f_path.dentry, d_name.name);
	/* Returns length incl. NUL; anything but exactly "denyme\0" differs. */
	if (bpf_probe_read_kernel_str(buf, sizeof(buf), name) != sizeof(want))
		return 0;
	for (i = 0; i < sizeof(want); i++)
		if (buf[i] != want[i])
			return 0;

	__sync_fetch_and_add(&denied, 1);
	return -EPERM;
}
