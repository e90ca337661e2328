#!/usr/bin/env bash
# Prints the qemu accelerator arguments to use on this machine, one per line:
# "-enable-kvm" and "-cpu host" when KVM really runs a vCPU here, nothing
# (TCG, software emulation) otherwise. A writable /dev/kvm is not enough:
# nested set-ups expose one whose vCPU set-up aborts qemu ("failed to set
# MSR ..."), so the probe starts a paused (-S) machine, which resets its
# vCPUs, and KVM counts only if qemu is still alive after a few seconds.
#   GG_QEMU_ACCEL=kvm|tcg   skip the probe.
#   usage: mapfile -t ACCEL < <(scripts/qemu-accel.sh)
set -uo pipefail

choice=${GG_QEMU_ACCEL:-}
if [[ -z $choice ]]; then
	choice=tcg
	if [[ -w /dev/kvm ]]; then
		# rc in a command substitution whose stderr is /dev/null, so that
		# bash's "Aborted" notice for the probe goes there too.
		rc=$( (timeout 3 qemu-system-x86_64 -enable-kvm -cpu host -S -nodefaults \
			-display none -monitor none -serial none >/dev/null 2>&1; echo $?) 2>/dev/null)
		# 124: still running when the timeout ended it, so the vCPU came up.
		if [[ $rc == 124 ]]; then
			choice=kvm
		else
			echo "qemu-accel: /dev/kvm is present but KVM cannot start a vCPU; using TCG" >&2
		fi
	fi
fi
case $choice in
kvm) printf '%s\n' -enable-kvm -cpu host ;;
tcg) ;;
*) echo "qemu-accel: GG_QEMU_ACCEL wants kvm or tcg, not '$choice'" >&2; exit 2 ;;
esac
