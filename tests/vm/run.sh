#!/usr/bin/env bash
# The VM tier: boots each Debian cloud kernel (6.1, 6.12) with no network
# device and runs, on the real BPF LSM path with --scope global:
#   smoke.sh    the kernel's LSM path works at all (a tiny probe program)
#   govgate.sh  govgate end to end
#   nolsm.sh    each kernel booted with an lsm= list without bpf: LSM programs
#                load there but never run; govgate must fall back, and say so
set -euo pipefail
cd "$(dirname "$0")/../.."
make -s -f tests/vm/Makefile.probe
# Time limits in boots of this machine (scripts/vmtest.sh --boots): about
# three times what each run took, measured under TCG on two busy cores
# (smoke 1-3 boots, nolsm 1-4; govgate.sh 50-70 here, over 120 once on
# CI, with the stall watchdog (15 boots of silence) still catching a hang).
rc=0
GG_VM_OUT=$PWD/build/vm-smoke scripts/vmtest.sh --boots 20 tests/vm/smoke.sh \
	build/vmprobe/lsm_probe || rc=1
# A kernel image for kexec_file_load (any bzImage will do: it is loaded,
# never booted), and a disk for exec by file handle (tmpfs keeps every
# dentry, so only a disk file system can have one dropped). bpftool: the
# host's (Debian 12: 7.1), for what operators keep in locked mode; tc and
# ip: iproute2's (busybox's add no filters, no veth), for network
# configuration.
kimg=$(scripts/vm-kernels.sh 6.12 | awk '{print $2}')/vmlinuz
scripts/vmtest.sh --boots 250 --disk 16 tests/vm/govgate.sh build/govgate build/helpers/gg-proof \
	build/helpers/gg-net build/helpers/gg-exec build/helpers/gg-modload \
	build/helpers/gg-kexec build/helpers/gg-fhandle build/helpers/gg-tamper build/helpers/gg-memfd build/helpers/gg-mmap build/helpers/gg-dns \
	build/helpers/gg-nvme32 build/helpers/gg-net-dyn \
	build/helpers/gg-daemon-shim.so:/lib/test/gg-daemon-shim.so \
	"$(command -v bpftool):/bin/bpftool" "$(command -v tc):/lib/test/tc" \
	"$(command -v ip):/lib/test/ip" \
	"$kimg:/lib/test/vmlinuz" packs || rc=1
# Each run its own log directory (serial logs are named by kernel).
GG_VM_OUT=$PWD/build/vm-nolsm scripts/vmtest.sh --kernel all --boots 20 \
	--append "lsm=landlock,lockdown,yama,apparmor" \
	tests/vm/nolsm.sh build/govgate build/helpers/gg-proof build/helpers/gg-net packs || rc=1
exit $rc
