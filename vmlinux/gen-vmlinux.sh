#!/usr/bin/env bash
# Regenerates vmlinux/vmlinux.h from a kernel's BTF (default: the running
# kernel). The BPF objects are CO-RE, so one header serves every kernel they
# run on (tested: Debian 6.1 and 6.12 cloud kernels, 6.18).
#   vmlinux/gen-vmlinux.sh [/sys/kernel/btf/vmlinux | path/to/vmlinux]
set -euo pipefail
src=${1:-/sys/kernel/btf/vmlinux}
bpftool btf dump file "$src" format c >"$(dirname "$0")/vmlinux.h"
