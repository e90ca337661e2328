#!/usr/bin/env bash
# Run a guest shell script inside qemu on Debian 12 cloud kernels, because the
# real BPF-LSM path cannot be exercised on the host kernel.
#
#   scripts/vmtest.sh [--kernel 6.1|6.12|all] [--boots N] [--timeout SECS]
#                     [--stall SECS] [--append ARGS]
#                     GUEST_SCRIPT [FILE[:GUEST_PATH]...]
#
# GUEST_SCRIPT  /bin/sh (busybox ash) script run as root by the VM's init.
#               It may print "GGVM-PASS name" / "GGVM-FAIL name" lines; they
#               are counted per kernel.  Its exit status is the test result.
#               tests/lib.sh is at /gg/lib.sh (GG_TEST_PREFIX=GGVM-).
# FILE          copied into the initramfs, by default to /bin/<basename>
#               (directories to /gg/<basename>); FILE:/abs/path picks the
#               destination.  Dynamically linked ELF files get their shared
#               libraries (per ldd) copied too.
# --kernel      kernel series to boot (default: all = 6.1 then 6.12).
# --boots N     how long one VM may run, in boots (default 30): the time
#               limit per VM is
#                   max(60 s, N x B)
#               where B is the boot time scripts/qemu-accel.sh measured with
#               the accelerator in use, in whole seconds rounded up (10 s if
#               it measured none), and it grows
#               to N x T when this VM's own init starts T seconds in, if
#               that is more (a machine busier than at the probe).  Callers
#               set N to about 3x the run's length in boots, measured.
# --timeout     a fixed limit in seconds instead; $GG_VM_TIMEOUT overrides
#               both.
# --stall       end a VM that printed nothing for SECS seconds (default:
#               max(180, 15 x B); $GG_VM_STALL overrides: govgate.sh is
#               silent for up to ~5 B, under TCG).
# --append      extra kernel command line (repeatable); also $GG_VM_APPEND.
# --disk MB     attach an empty ext4 disk of MB MiB (NVMe, built into the
#               cloud kernels), mounted in the guest at /mnt/disk.
#
# qemu runs under scripts/qemu-watch.sh, which also ends a VM at once on
# "KVM internal error" or a kernel panic; such a VM's FAIL line names the
# reason and the kernel.  $GG_QEMU replaces qemu-system-x86_64, and
# $GG_VM_KERNELS ("6.12=DIR ...", DIRs laid out as scripts/vm-kernels.sh
# makes them) the kernels: both for tests/harness.
#
# In the guest: proc, sysfs, devtmpfs, cgroup2 (/sys/fs/cgroup), bpffs
# (/sys/fs/bpf), securityfs (/sys/kernel/security), tracefs, tmpfs /tmp and
# /run are mounted, lo is up, there is NO network device.  The kernel's test
# module is at /lib/test/test.ko (the dummy net driver at /lib/test/dummy.ko,
# the vsock loopback transport's three modules in /lib/test/vsock/, tc's
# clsact, matchall and nat and veth in /lib/test/netcfg/, evdev, hid and
# uhid in /lib/test/input/),
# its `uname -r` in /etc/gg-kernel and its
# series (6.1/6.12) in /etc/gg-kernel-series.
#
# Output: guest script lines are echoed as "[vm 6.1] ..."; the full serial
# log goes to ${GG_VM_OUT:-build/vm}/<kernel>.log.  Summary per kernel:
# "vm 6.1: N passed, M failed", then a total "vmtest: N passed, M failed"
# where a kernel whose script failed/crashed/timed out without printing a
# GGVM-FAIL line counts as one failure.  Exit 0 only if every selected kernel
# booted, ran the script and the script exited 0.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
OUT=${GG_VM_OUT:-$REPO/build/vm}
KERNEL=all
BOOTS=30
TIMEOUT=
STALL=
APPEND=${GG_VM_APPEND:-}
DISK_MB=0
QEMU=${GG_QEMU:-qemu-system-x86_64}

log() { echo "vmtest: $*" >&2; }
die() { log "error: $*"; exit 2; }
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit "${1:-2}"; }

while (($#)); do
	case $1 in
	--kernel) KERNEL=${2:?}; shift 2 ;;
	--kernel=*) KERNEL=${1#*=}; shift ;;
	--timeout) TIMEOUT=${2:?}; shift 2 ;;
	--timeout=*) TIMEOUT=${1#*=}; shift ;;
	--boots) BOOTS=${2:?}; shift 2 ;;
	--stall) STALL=${2:?}; shift 2 ;;
	--append) APPEND="$APPEND ${2:?}"; shift 2 ;;
	--append=*) APPEND="$APPEND ${1#*=}"; shift ;;
	--disk) DISK_MB=${2:?}; shift 2 ;;
	-h | --help) usage 0 ;;
	--) shift; break ;;
	-*) die "unknown option $1" ;;
	*) break ;;
	esac
done
(($# >= 1)) || usage
GUEST_SCRIPT=$1; shift
[[ -f $GUEST_SCRIPT ]] || die "no such guest script: $GUEST_SCRIPT"
TIMEOUT=${GG_VM_TIMEOUT:-$TIMEOUT} STALL=${GG_VM_STALL:-$STALL}
for v in "$BOOTS" "$TIMEOUT" "$STALL"; do
	[[ $v =~ ^[0-9]*$ ]] || die "--boots, --timeout and --stall want whole numbers"
done
case $KERNEL in
all) KERNELS=(6.1 6.12) ;;
6.1 | 6.12) KERNELS=("$KERNEL") ;;
*) die "--kernel wants 6.1, 6.12 or all" ;;
esac

# Host tools, installed non-interactively when missing (fresh machine).
# busybox-static, not busybox: the initramfs has no libc.
ensure_tools() {
	local need=()
	[[ -n ${GG_QEMU:-} ]] || command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
	dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
	command -v cpio >/dev/null || need+=(cpio)
	command -v gzip >/dev/null || need+=(gzip)
	command -v timeout >/dev/null || need+=(coreutils)
	if ((${#need[@]})); then
		log "installing ${need[*]}"
		ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1 || apt-get update -qq >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
	fi
}

# Under TCG a vCPU can run a translated block that still holds the int3
# the kernel put on a BPF LSM hook's call site while re-patching it
# (text_poke_bp, when a trampoline is attached or detached) after the
# kernel has finished and stopped expecting it: "Oops: int3" at
# bpf_lsm_<hook>+0x5, the call site itself. Seen twice in a day of runs
# on 6.12 (task_alloc, file_open), never under KVM; a fault of the
# emulator, not of the programs, which are not running at that address.
tcg_stale_int3() {
	[[ " ${ACCEL[*]} " != *" -enable-kvm "* ]] &&
		grep -q 'Oops: int3' "$1" &&
		grep -qE 'RIP: 0010:bpf_lsm_[a-z0-9_]+\+0x5/' "$1"
}
# Under TCG both vCPUs were once found in a soft lockup (an RCU stall
# beside it) just after `govgate stop --unload` detached every trampoline,
# the same re-patching as above; the guest then sat silent until the time
# limit, 1000 s, with no trace under `quiet`. softlockup_panic=1 ends such
# a run in seconds, panic_print=0x20 replays the whole kernel log (the
# lockup's registers and every CPU's backtrace included) before the end,
# and the guest runs once more under TCG only: a lockup of the programs'
# own making would come back, and then fails as any panic does.
tcg_soft_lockup() {
	[[ " ${ACCEL[*]} " != *" -enable-kvm "* ]] &&
		grep -q 'BUG: soft lockup - CPU#' "$1"
}
ensure_tools
BUSYBOX=$(command -v busybox)
BUSYBOX=$(readlink -f "$BUSYBOX")

mkdir -p "$OUT"
WORK=$(mktemp -d "$OUT/.work.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# ---- kernels ---------------------------------------------------------------
declare -A KDIR=()
if [[ -n ${GG_VM_KERNELS:-} ]]; then
	for kd in $GG_VM_KERNELS; do KDIR[${kd%%=*}]=${kd#*=}; done
else
	while read -r series dir; do KDIR[$series]=$dir; done < <(
		if [[ $KERNEL == all ]]; then "$REPO/scripts/vm-kernels.sh" all; else "$REPO/scripts/vm-kernels.sh" "$KERNEL"; fi)
fi

# ---- common rootfs -----------------------------------------------------------
ROOT=$WORK/root
mkdir -p "$ROOT"/{bin,dev,proc,sys,tmp,run,root,etc,gg,lib/test}
ln -s bin "$ROOT/sbin"
mkdir -p "$ROOT/usr" && ln -s ../bin "$ROOT/usr/bin" && ln -s ../bin "$ROOT/usr/sbin"
cp "$BUSYBOX" "$ROOT/bin/busybox"
# One symlink per applet, made now so the guest needs no `busybox --install`.
for applet in $("$BUSYBOX" --list); do
	[[ $applet == busybox ]] || ln -sf busybox "$ROOT/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$ROOT/etc/passwd"
echo 'root:x:0:' >"$ROOT/etc/group"
install -m 0755 "$GUEST_SCRIPT" "$ROOT/gg/test.sh"
install -m 0644 "$REPO/tests/lib.sh" "$ROOT/gg/lib.sh"

# Copy one FILE[:DEST] argument (plus shared libs of dynamic ELF files).
add_file() {
	local src=${1%%:*} dst lib
	if [[ $1 == *:* ]]; then dst=${1#*:}; elif [[ -d $src ]]; then dst=/gg/$(basename "$src"); else dst=/bin/$(basename "$src"); fi
	[[ -e $src ]] || die "no such file: $src"
	[[ $dst == /* ]] || die "guest path must be absolute: $dst"
	mkdir -p "$ROOT$(dirname "$dst")"
	cp -a -L "$src" "$ROOT$dst"
	# Dynamic ELF? The initramfs has no libc: bring the ldd closure along,
	# and libcrypto where the file opens it at run time (user/crypto.h).
	if [[ -f $src ]] && head -c4 "$src" | grep -q $'^\x7fELF' && ldd "$src" >/dev/null 2>&1; then
		add_libs "$src"
		if grep -aq 'libcrypto\.so\.3' "$src"; then
			# beside the libc it runs with (this machine's architecture)
			lib=$(dirname "$(ldd "$src" | awk '$1 == "libc.so.6" {print $3}')")/libcrypto.so.3
			[[ -e $lib ]] || die "$src opens libcrypto.so.3, which this machine lacks (libssl3)"
			add_lib "$lib"
			add_libs "$lib"
		fi
	fi
}
add_lib() { # library $1, at its own path, once
	[[ -e $ROOT$1 ]] || { mkdir -p "$ROOT$(dirname "$1")" && cp -L "$1" "$ROOT$1"; }
}
add_libs() { # the ldd closure of ELF file $1
	local lib
	for lib in $(ldd "$1" | grep -o '/[^ ]*'); do add_lib "$lib"; done
}
for f in "$@"; do add_file "$f"; done

# PID 1.  Failure is the default: rc stays 1 unless the script really returns,
# and the host also treats a missing GGVM-RESULT line (panic, hang, timeout)
# as failure, like tools/testing/selftests/bpf/vmtest.sh.
cat >"$ROOT/init" <<'EOF'
#!/bin/sh
export PATH=/bin HOME=/root TERM=dumb
rc=1
# Leading newline: SeaBIOS leaves escape codes without a newline on ttyS0.
echo; echo "GGVM-BEGIN kernel=$(uname -r)"
m() { mkdir -p "$3"; mount -t "$1" "$2" "$3" || echo "GGVM-SETUP mount $1 on $3 failed"; }
m proc proc /proc
m sysfs sysfs /sys
m devtmpfs devtmpfs /dev
m devpts devpts /dev/pts
m tmpfs tmpfs /dev/shm
m cgroup2 cgroup2 /sys/fs/cgroup
m bpf bpf /sys/fs/bpf
m securityfs securityfs /sys/kernel/security
m tracefs tracefs /sys/kernel/tracing
m tmpfs tmpfs /tmp
m tmpfs tmpfs /run
ip link set lo up || echo "GGVM-SETUP lo up failed"
[ -b /dev/nvme0n1 ] && { mkdir -p /mnt/disk; mount -t ext4 /dev/nvme0n1 /mnt/disk || echo "GGVM-SETUP disk mount failed"; }
hostname ggvm
export GGVM_KERNEL="$(cat /etc/gg-kernel-series)"
# stdin from /dev/null: a test must never wait on the console. While it
# runs, pid 1 carries out each file put in /run/gg-init.d (one command
# line) in a child it forks, as systemd starts a unit's command (locked
# mode tells that child, exec'ing for the first time, from every other
# task). Polled: no fifo read for a signal to interrupt.
mkdir -p /run/gg-init.d
(cd / && sh /gg/test.sh </dev/null; echo $? >/run/gg-rc) 2>&1 &
test_pid=$!
while [ ! -e /run/gg-rc ]; do
	for f in /run/gg-init.d/r*; do
		[ -f "$f" ] || continue
		read -r l <"$f"
		rm -f "$f"
		(eval "$l") </dev/null 2>&1 &
	done
	sleep 1
done
wait $test_pid
[ -s /run/gg-rc ] && rc=$(cat /run/gg-rc)
# Full dmesg into the serial log (not echoed by the host) for post-mortems.
echo "GGVM-DMESG-BEGIN"; dmesg; echo "GGVM-DMESG-END"
echo "GGVM-RESULT rc=$rc"
poweroff -f
EOF
chmod 0755 "$ROOT/init"

# Echo guest-script lines live: between GGVM-BEGIN and GGVM-DMESG-BEGIN,
# minus printk lines ("[  1.234] ..."), prefixed with the kernel.
live_filter() {
	awk -v tag="[vm $1]" '
		/GGVM-BEGIN/ { on = 1; print tag " " $0; fflush(); next }
		/^GGVM-DMESG-BEGIN/ { on = 0 }
		on && !/^\[ *[0-9]+\.[0-9]+\] / { print tag " " $0; fflush() }'
}

# ---- run ----------------------------------------------------------------------
# The accelerator, probed with a kernel of this run (6.12 when there is one),
# and the boot time B that sizes the limits.
accel_verdict() {
	local pk=${KDIR[6.12]:-${KDIR[${KERNELS[0]}]:-}}
	[[ -s $pk/vmlinuz ]] || die "kernel ${KERNELS[0]} not available"
	"$REPO/scripts/qemu-accel.sh" --kernel "$pk/vmlinuz" --show
}
verdict=$(accel_verdict) || die "scripts/qemu-accel.sh failed"
ACCEL=()
[[ $(sed -n 's/^accel=//p' <<<"$verdict") == kvm ]] && ACCEL=(-enable-kvm -cpu host)
B=$(sed -n 's/^boot_secs=//p' <<<"$verdict")
log "accelerator: ${ACCEL[*]:-tcg (software emulation)}: $(sed -n 's/^reason=//p' <<<"$verdict")"
# Whole seconds, rounded up; 10 when the probe measured nothing.
B=$(awk -v b="${B:-10}" 'BEGIN { s = int(b); if (s < b) s++; print (s < 1) ? 1 : s }')
limit=${TIMEOUT:-$((BOOTS * B > 60 ? BOOTS * B : 60))}
stall=${STALL:-$((15 * B > 180 ? 15 * B : 180))}
# A fixed limit stays fixed; a derived one may grow with this VM's boot.
grow=()
[[ -n $TIMEOUT ]] || grow=(--booted '^GGVM-BEGIN' --boots "$BOOTS")

status=0 tot_pass=0 tot_fail=0 summary=()
for k in "${KERNELS[@]}"; do
	kdir=${KDIR[$k]:-}
	[[ -n $kdir && -s $kdir/vmlinuz ]] || die "kernel $k not available"
	# Kernel-specific bits, then the initramfs (newc, root-owned, gzip).
	cp "$kdir/test.ko" "$ROOT/lib/test/test.ko"
	cp "$kdir/dummy.ko" "$ROOT/lib/test/dummy.ko"
	rm -rf "$ROOT/lib/test/vsock" "$ROOT/lib/test/netcfg" "$ROOT/lib/test/input"
	[[ ! -d $kdir/vsock ]] || cp -r "$kdir/vsock" "$ROOT/lib/test/vsock"
	[[ ! -d $kdir/netcfg ]] || cp -r "$kdir/netcfg" "$ROOT/lib/test/netcfg"
	[[ ! -d $kdir/input ]] || cp -r "$kdir/input" "$ROOT/lib/test/input"
	cp "$kdir/release" "$ROOT/etc/gg-kernel"
	echo "$k" >"$ROOT/etc/gg-kernel-series"
	initrd=$WORK/initramfs-$k.cpio.gz
	(cd "$ROOT" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -1 >"$initrd"

	# oops=panic: an Oops leaves the guest running with a task dead, often
	# holding a lock its siblings then wait on for ever; a panic ends the
	# run at once, and TCG's stale int3 (below) gets its second run. A soft
	# lockup panics too, with the log replayed (tcg_soft_lockup).
	cmdline="console=ttyS0 panic=-1 oops=panic softlockup_panic=1 panic_print=0x20"
	cmdline+=" sysctl.kernel.softlockup_all_cpu_backtrace=1 quiet $(cat "$kdir/cmdline") $APPEND"
	logf=$OUT/$k.log
	log "booting $k ($(cat "$kdir/release")), limit ${limit}s (B=${B}s, $BOOTS boots), stall ${stall}s, cmdline: $cmdline"
	start=$(date +%s.%N)
	# A kernel that panics before its init ran any of the guest script (an
	# early-boot fault of software emulation, seen under TCG on 6.1 and
	# 6.12) is booted once more, and says so: no test ran the first time.
	# So is one whose Oops is TCG's stale int3 (tcg_stale_int3): the whole
	# script runs again, and only the second run counts.
	for attempt in 1 2; do
		disk=()
		if ((DISK_MB > 0)); then
			rm -f "$WORK/disk.img"
			truncate -s "${DISK_MB}M" "$WORK/disk.img"
			mkfs.ext4 -q -F "$WORK/disk.img"
			disk=(-drive "file=$WORK/disk.img,if=none,id=d0,format=raw" -device nvme,drive=d0,serial=gg)
		fi
		rm -f "$WORK/why"
		set +e
		# No network device (-nic none); -no-reboot turns panic=-1 into an exit.
		"$REPO/scripts/qemu-watch.sh" --log "$logf" --limit "$limit" --stall "$stall" \
			"${grow[@]}" --reason "$WORK/why" -- \
			"$QEMU" "${ACCEL[@]}" -m 1024 -smp 2 \
			-kernel "$kdir/vmlinuz" -initrd "$initrd" -append "$cmdline" \
			"${disk[@]}" -nographic -no-reboot -nic none | live_filter "$k"
		qrc=${PIPESTATUS[0]}
		set -e
		((attempt == 1)) && grep -q 'kernel panic' "$WORK/why" 2>/dev/null || break
		cp "$logf" "$logf.panic-$attempt"
		if ! grep -q '^GGVM-BEGIN' "$logf"; then
			log "$k: the kernel panicked before the guest script began ($logf.panic-$attempt): booting once more"
		elif tcg_stale_int3 "$logf"; then
			log "$k: Oops: int3 at a BPF LSM hook's patched call while TCG emulates (a trampoline re-patched under a vCPU running the hook: $logf.panic-$attempt): running the guest once more"
		elif tcg_soft_lockup "$logf"; then
			log "$k: soft lockup while TCG emulates ($(grep -m1 -o 'soft lockup - CPU#[^]]*]' "$logf"); log and backtraces: $logf.panic-$attempt): running the guest once more"
		else
			break
		fi
	done
	secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')

	# Only init's own result line counts: the one after the dmesg dump, so a
	# guest script echoing a fake GGVM-RESULT before crashing cannot pass.
	rc=$(sed -n '/^GGVM-DMESG-END$/,$ s/^GGVM-RESULT rc=\([0-9]*\)$/\1/p' "$logf" | tail -n1)
	pass=$(sed '/^GGVM-DMESG-BEGIN$/,$d' "$logf" | grep -c '^GGVM-PASS ' || true)
	fail=$(sed '/^GGVM-DMESG-BEGIN$/,$d' "$logf" | grep -c '^GGVM-FAIL ' || true)
	if [[ -z $rc ]]; then
		# The watchdog's verdict: "KVM internal error (at 1.2 s)", ...
		last=$(tr -d '\r' <"$logf" | grep -E '^GGVM-(PASS|FAIL) ' | tail -n1 | cut -d' ' -f2 | cut -d: -f1 || true)
		why="no result: $(cat "$WORK/why" 2>/dev/null || echo "qemu rc=$qrc"), kernel $(cat "$kdir/release"), last check ${last:-none}"
		rc=1
		# Where it was: the guest's last lines, printk left out.
		log "$k: the guest's last lines:"
		tr -d '\r' <"$logf" | grep -vE '^\[ *[0-9]+\.[0-9]+\] ' | tail -n 15 | sed 's/^/    /' >&2 || true
	else
		why="script rc=$rc, qemu $(cat "$WORK/why" 2>/dev/null)"
	fi
	if grep -qE '^\[ *[0-9.]+\] (BUG:|Oops|WARNING:|general protection|Kernel panic)' "$logf"; then
		log "$k: kernel splat in $logf:"
		grep -E '^\[ *[0-9.]+\] (BUG:|Oops|WARNING:|general protection|Kernel panic)' "$logf" | head -n5 >&2
	fi
	if ((rc != 0)); then
		status=1
		# A boot that reported no failure of its own still failed: say so
		# as a FAIL line, so every runner counts it.
		((fail > 0)) || { echo "FAIL vm-$k ($why, log $logf)"; fail=$((fail + 1)); }
	fi
	tot_pass=$((tot_pass + pass)) tot_fail=$((tot_fail + fail))
	log "$k: $why, ${secs}s boot+run, log $logf"
	summary+=("vm $k: $pass passed, $fail failed")
done
printf '%s\n' "${summary[@]}"
echo "vmtest: $tot_pass passed, $tot_fail failed"
exit $status
