#!/usr/bin/env bash
# The VM tier: boots each Debian cloud kernel (6.1, 6.12) with no network
# device and runs, on the real BPF LSM path with --scope global:
#   smoke.sh    the kernel's LSM path works at all (a tiny probe program)
#   govgate.sh  govgate end to end
#   nolsm.sh     6.12 booted with an lsm= list without bpf: LSM programs
#                load there but never run; govgate must fall back, and say so
set -euo pipefail
cd "$(dirname "$0")/../.."
make -s -f tests/vm/Makefile.probe
rc=0
GG_VM_OUT=$PWD/build/vm-smoke scripts/vmtest.sh --timeout 300 tests/vm/smoke.sh \
	build/vmprobe/lsm_probe || rc=1
scripts/vmtest.sh --timeout 600 tests/vm/govgate.sh build/govgate build/helpers/gg-proof \
	build/helpers/gg-net build/helpers/gg-exec build/helpers/gg-modload packs || rc=1
# Each run its own log directory (serial logs are named by kernel).
GG_VM_OUT=$PWD/build/vm-nolsm scripts/vmtest.sh --kernel 6.12 --timeout 300 \
	--append "lsm=landlock,lockdown,yama,apparmor" \
	tests/vm/nolsm.sh build/govgate build/helpers/gg-proof build/helpers/gg-net packs || rc=1
exit $rc
