#!/usr/bin/env bash
# Regenerates vmlinux/vmlinux.h from a kernel's BTF (default: the running
# kernel). The BPF objects are CO-RE, so one header serves every kernel they
# run on (tested: the LSM path on Debian's 6.1 and 6.12 cloud kernels, the
# fallback on 6.12 booted without bpf in lsm= and on the CI hosts' 6.18).
#   vmlinux/gen-vmlinux.sh [/sys/kernel/btf/vmlinux | path/to/vmlinux]
set -euo pipefail
src=${1:-/sys/kernel/btf/vmlinux}
bpftool btf dump file "$src" format c >"$(dirname "$0")/vmlinux.h"
