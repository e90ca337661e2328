#!/usr/bin/env bash
# Chooses the qemu accelerator for this machine by booting a guest, and
# measures how long a boot takes, for the VM and guest tiers:
#
#   scripts/qemu-accel.sh [--kernel VMLINUZ] [--show]
#
# Prints the accelerator arguments, one per line: "-enable-kvm" and "-cpu
# host" when KVM runs a guest here, nothing (TCG, software emulation)
# otherwise. --show prints the whole verdict instead, as key=value lines:
#   accel=kvm|tcg        the choice
#   boot_secs=S          qemu start to the guest's init, measured with that
#                        accelerator (empty when no boot succeeded)
#   reason=...           why, in one line
#
# A writable /dev/kvm proves little: a nested set-up can abort qemu ("failed
# to set MSR") or start a vCPU that stops at its first instructions ("KVM
# internal error. Suberror: 1") while qemu stays alive. So KVM counts only if
# a real boot reaches init: the kernel VMLINUZ (default: the cached 6.12
# cloud kernel of scripts/vm-kernels.sh), with an initramfs whose init prints
# a marker and powers off, must print the marker within $GG_QEMU_PROBE_SECS
# (default 10) seconds, under scripts/qemu-watch.sh. Otherwise TCG, and the
# reason goes to stderr. TCG's boot is then measured the same way.
#
# The verdict is cached for the run, per machine: under build/qemu-accel
# ($GG_QEMU_ACCEL_CACHE), keyed by the boot id, the qemu binary, the
# kernel's contents, /dev/kvm, the settings below and $GG_RUN_ID (which
# scripts/run-tests.sh sets: one probe for all its tiers), for an hour at
# most ($GG_QEMU_ACCEL_MAX_AGE seconds): the boot time it holds is that of
# a machine as busy as it was then. GG_QEMU_REPROBE=1 ignores the cache.
#   GG_QEMU=BINARY          qemu to run (default qemu-system-x86_64)
#   GG_QEMU_ACCEL=kvm|tcg   no choice: this accelerator (its boot is still
#                           measured)
#   GG_QEMU_PROBE_SECS=10   how long KVM may take to reach init
#   usage: mapfile -t ACCEL < <(scripts/qemu-accel.sh --kernel "$k/vmlinuz")
set -uo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
QEMU=${GG_QEMU:-qemu-system-x86_64}
FORCED=${GG_QEMU_ACCEL:-}
PROBE_SECS=${GG_QEMU_PROBE_SECS:-10}
# TCG on a busy two-core machine: a boot is ~3-5 s; allow far more.
TCG_SECS=${GG_QEMU_TCG_PROBE_SECS:-90}
CACHE=${GG_QEMU_ACCEL_CACHE:-$REPO/build/qemu-accel}
KVM_DEV=${GG_KVM_DEV:-/dev/kvm} # tests/harness points it elsewhere
MARKER=GG-ACCEL-PROBE-OK
KERNEL='' SHOW=0

log() { echo "qemu-accel: $*" >&2; }
die() { log "error: $*"; exit 2; }

while (($#)); do
	case $1 in
	--kernel) KERNEL=${2:?}; shift 2 ;;
	--show) SHOW=1; shift ;;
	*) die "unknown argument $1 (usage: $0 [--kernel VMLINUZ] [--show])" ;;
	esac
done
case $FORCED in '' | kvm | tcg) ;; *) die "GG_QEMU_ACCEL wants kvm or tcg, not '$FORCED'" ;; esac
[[ $PROBE_SECS =~ ^[0-9]+$ && $TCG_SECS =~ ^[0-9]+$ ]] || die "probe limits want whole seconds"
if [[ -z $KERNEL ]]; then
	KERNEL=$("$REPO/scripts/vm-kernels.sh" 6.12 | awk '{print $2 "/vmlinuz"}') ||
		die "no kernel to probe with (scripts/vm-kernels.sh 6.12 failed)"
fi
[[ -s $KERNEL ]] || die "no such kernel: $KERNEL"
QEMU_PATH=$(command -v "$QEMU") || die "no qemu binary '$QEMU'"
QEMU_PATH=$(readlink -f "$QEMU_PATH")

WORK=
trap '[[ -z $WORK ]] || rm -rf "$WORK"' EXIT

# The probe initramfs: busybox (static: no libc in there) and an init that
# prints the marker and powers off.
make_initramfs() { # $1 = output
	local bb ir=$WORK/ir
	bb=$(command -v busybox) && bb=$(readlink -f "$bb") &&
		! ldd "$bb" >/dev/null 2>&1 || return 1 # static: ldd refuses it
	mkdir -p "$ir/bin" "$ir/proc"
	cp "$bb" "$ir/bin/busybox" && ln -s busybox "$ir/bin/sh"
	printf '#!/bin/sh\n/bin/busybox echo %s\n/bin/busybox poweroff -f\n' "$MARKER" >"$ir/init"
	chmod 0755 "$ir/init"
	(cd "$ir" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -1 >"$1"
}

# Boots the probe with accelerator arguments "$@"; sets boot (seconds to the
# marker, empty on failure) and why (the watchdog's verdict).
boot() { # LIMIT ACCEL_ARGS...
	local limit=$1 rc
	shift
	"$REPO/scripts/qemu-watch.sh" --quiet --limit "$limit" --stall 0 --until "$MARKER" \
		--log "$WORK/serial.log" --reason "$WORK/why" -- \
		"$QEMU_PATH" "$@" -m 1024 -smp 2 -kernel "$KERNEL" -initrd "$WORK/probe.cpio.gz" \
		-append "console=ttyS0 panic=-1 quiet gg_accel_probe" \
		-nographic -no-reboot -nic none 2>/dev/null
	rc=$?
	why=$(cat "$WORK/why" 2>/dev/null)
	boot=
	if ((rc == 0)) && grep -q "$MARKER" "$WORK/serial.log"; then
		boot=$(sed -n 's/.*(at \([0-9.]*\) s)$/\1/p' <<<"$why")
	elif [[ $why == "exited with status"* ]]; then
		# qemu gave up by itself: its last words say why (failed MSR...).
		why="${why%%;*}): $(grep -v '^$' "$WORK/serial.log" | tail -n1 | cut -c1-160)"
	fi
	[[ -n $boot ]]
}

probe() {
	local accel=tcg reason kvm_why
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/gg-accel.XXXXXX")
	if ! make_initramfs "$WORK/probe.cpio.gz"; then
		log "no static busybox to build the probe initramfs (install busybox-static)"
		printf 'accel=%s\nboot_secs=\nreason=%s\n' "${FORCED:-tcg}" \
			"no probe: no static busybox"
		return
	fi
	if [[ $FORCED != tcg ]] && { [[ -w $KVM_DEV ]] || [[ $FORCED == kvm ]]; }; then
		if boot "$PROBE_SECS" -enable-kvm -cpu host; then
			printf 'accel=kvm\nboot_secs=%s\nreason=%s\n' "$boot" \
				"KVM booted $(basename "$KERNEL") to init in $boot s"
			return
		fi
		kvm_why=$why
		if [[ $FORCED == kvm ]]; then
			log "GG_QEMU_ACCEL=kvm, but KVM did not boot the probe: $kvm_why"
			printf 'accel=kvm\nboot_secs=\nreason=%s\n' "forced; KVM probe failed: $kvm_why"
			return
		fi
		reason="KVM did not boot a guest to init ($kvm_why); using TCG"
	elif [[ $FORCED == tcg ]]; then
		reason="GG_QEMU_ACCEL=tcg"
	else
		reason="no writable /dev/kvm; using TCG"
	fi
	if boot "$TCG_SECS"; then
		printf 'accel=%s\nboot_secs=%s\nreason=%s\n' "$accel" "$boot" "$reason"
	else
		log "TCG did not boot the probe either: $why"
		printf 'accel=%s\nboot_secs=\nreason=%s\n' "$accel" "$reason; TCG probe failed: $why"
	fi
}

# ---- the cached verdict -------------------------------------------------------
key=$(
	cat /proc/sys/kernel/random/boot_id
	echo "$QEMU_PATH $(stat -c '%s %Y' "$QEMU_PATH")"
	sha256sum <"$KERNEL"
	echo "$KVM_DEV $(stat -c '%t:%T' "$KVM_DEV" 2>/dev/null)"
	[[ -w $KVM_DEV ]] && echo writable
	echo "$FORCED $PROBE_SECS $TCG_SECS ${GG_RUN_ID:-}"
)
key=$(sha256sum <<<"$key" | cut -c1-16)
verdict=$CACHE/verdict-$key
if [[ ! -s $verdict || ${GG_QEMU_REPROBE:-0} == 1 ||
	$(($(date +%s) - $(stat -c %Y "$verdict"))) -gt ${GG_QEMU_ACCEL_MAX_AGE:-3600} ]]; then
	mkdir -p "$CACHE" || die "cannot create $CACHE"
	find "$CACHE" -name 'verdict-*' -mmin +1440 -delete 2>/dev/null
	probe >"$verdict.tmp.$$" && mv "$verdict.tmp.$$" "$verdict"
	reason=$(sed -n 's/^reason=//p' "$verdict")
	# The one line a fallback owes the user, once per run.
	[[ $(sed -n 's/^accel=//p' "$verdict") == kvm || -z ${reason##GG_QEMU_ACCEL*} ]] ||
		log "$reason"
fi
if ((SHOW)); then
	cat "$verdict"
elif [[ $(sed -n 's/^accel=//p' "$verdict") == kvm ]]; then
	printf '%s\n' -enable-kvm -cpu host
fi
