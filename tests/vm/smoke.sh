#!/bin/sh
# VM smoke test (runs as the guest script of scripts/vmtest.sh, busybox ash).
# Proves the BPF-LSM path works in the VM kernel without govgate:
#   - bpf is an active LSM, BTF and bpffs are there, a module loads;
#   - lsm_probe (tests/vm/lsm_probe*.c) attaches lsm/bprm_check_security and
#     execve() of a file named "denyme" fails with EPERM while an identical
#     copy under another name runs; after unpinning, denyme runs again.
# Run:  make -f tests/vm/Makefile.probe &&
#       scripts/vmtest.sh tests/vm/smoke.sh build/vmprobe/lsm_probe
GG_TEST_PREFIX=GGVM-
. /gg/lib.sh # pass, fail, check, wait_for

echo "kernel: $(uname -r) (series $(cat /etc/gg-kernel-series), /etc/gg-kernel=$(cat /etc/gg-kernel))"
echo "lsm: $(cat /sys/kernel/security/lsm)"
echo "cmdline: $(cat /proc/cmdline)"

check kernel-version [ "$(uname -r)" = "$(cat /etc/gg-kernel)" ]
check lsm-has-bpf grep -qw bpf /sys/kernel/security/lsm
check btf-vmlinux [ -s /sys/kernel/btf/vmlinux ]
check bpffs grep -q ' /sys/fs/bpf bpf ' /proc/mounts
check cgroup2 grep -q ' /sys/fs/cgroup cgroup2 ' /proc/mounts
check no-network-device [ "$(ls /sys/class/net)" = "lo" ]

# finit_module path with the real module file (busybox insmod).
if insmod /lib/test/test.ko && grep -q '^nls_ascii ' /proc/modules && rmmod nls_ascii; then
	pass module-load
else
	fail module-load
fi

# ---- real BPF LSM enforcement ------------------------------------------------
P=/sys/fs/bpf/ggprobe
cp /bin/busybox /tmp/denyme
cp /bin/busybox /tmp/other
# Same argv[0] ("echo", so busybox runs its echo applet) for both; only the
# executed file's own name differs, which is what the probe looks at.
mkdir -p /tmp/a /tmp/b
ln -s /tmp/other /tmp/a/echo
ln -s /tmp/denyme /tmp/b/echo

if [ ! -x /bin/lsm_probe ]; then
	fail lsm-probe-attach "/bin/lsm_probe missing (pass build/vmprobe/lsm_probe to vmtest.sh)"
elif ! lsm_probe pin $P; then
	fail lsm-probe-attach
	lsm_probe -v pin $P 2>&1 | tail -n 40 # libbpf debug log for the record
else
	pass lsm-probe-attach

	out=$(/tmp/denyme 2>&1); rc=$?
	echo "exec /tmp/denyme: rc=$rc out='$out'"
	case "$rc:$out" in
	126:*"Operation not permitted"*) pass exec-denyme-eperm ;;
	*) fail exec-denyme-eperm "rc=$rc" ;;
	esac

	out=$(/tmp/b/echo via-symlink 2>&1); rc=$?
	case "$rc:$out" in
	126:*"Operation not permitted"*) pass exec-denyme-via-symlink-eperm ;;
	*) fail exec-denyme-via-symlink-eperm "rc=$rc out=$out" ;;
	esac

	out=$(/tmp/a/echo hello 2>&1); rc=$?
	echo "exec /tmp/other as echo: rc=$rc out='$out'"
	check exec-other-runs [ "$rc:$out" = "0:hello" ]

	n=$(lsm_probe count $P)
	echo "probe denials: $n"
	check probe-counted-denials [ "$n" = 2 ]

	# Unpin = last reference to the link gone = program detached.  That is
	# asynchronous: bpffs drops its reference from an RCU callback, so the
	# link is released a little later (seen on 6.12).  Poll for up to 10 s.
	rm -r $P
	t0=$(date +%s)
	detached() { out=$(/tmp/denyme 2>&1); rc=$?; [ $rc != 126 ]; }
	wait_for 10 detached
	echo "detach took ~$(($(date +%s) - t0)) s"
	echo "after detach, exec /tmp/denyme: rc=$rc out='$out'"
	case "$out" in
	*"Operation not permitted"*) fail exec-denyme-after-detach "rc=$rc" ;;
	*"applet not found"*) pass exec-denyme-after-detach ;; # busybox ran
	*) fail exec-denyme-after-detach "rc=$rc out=$out" ;;
	esac
fi

echo "smoke: $fails failure(s)"
[ "$fails" -eq 0 ]
