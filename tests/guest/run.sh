#!/usr/bin/env bash
# The guest tier: govgate installed for real (`make install`, the shipped
# unit, the default config) in a Debian 12 guest booting systemd on a Debian
# cloud kernel under qemu, with NO network device (-nic none). Checks, from
# inside the guest (tests/guest/guest-test.sh): govgate.service is ready
# before basic.target and every ordinary service, the workload service
# cannot run a denied binary or reach the metadata address (EPERM),
# `systemctl restart`, `kill -9` and stop/start of the daemon never let one
# denied attempt of a concurrent loop through, `systemctl reload` applies
# the config's packs (and a bad config changes nothing), the journal and the
# audit log hold the denials, `govgate audit verify` passes.
#
#   tests/guest/run.sh [--kernel 6.1|6.12] [--timeout SECS] [--append ARGS]
#                      [--run SCRIPT]
#
# --run boots the same guest with SCRIPT in place of guest-test.sh (it
# prints GGG-INFO/GGG-PASS/GGG-FAIL lines and a final GGG-DONE line).
# Prints "PASS name" / "FAIL name" lines and "guest: N passed, M failed";
# exit status 0 only if the guest reported and nothing failed. The serial
# log is build/guest/serial.log, the image build's build/guest/image.log.
# qemu runs under scripts/qemu-watch.sh (a KVM internal error, a panic or a
# stall ends it at once) with the accelerator of scripts/qemu-accel.sh. Its
# time limit is max(300 s, 60 x B), B the probe's boot time, and grows to
# 60 x the time this guest takes to reach its initramfs; --timeout or
# $GG_GUEST_TIMEOUT fix it instead. A stall is max(180 s, 20 x B) without
# output ($GG_GUEST_STALL): systemd boots quietly.
# Needs root. The first run builds the rootfs with debootstrap (network:
# the Debian mirror only) and caches it in .cache/guest.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2

KERNEL=6.12
TIMEOUT=${GG_GUEST_TIMEOUT:-}
QEMU=${GG_QEMU:-qemu-system-x86_64}
BOOTS=60
APPEND=
RUN=()
while (($#)); do
	case $1 in
	--kernel) KERNEL=${2:?}; shift 2 ;;
	--timeout) TIMEOUT=${2:?}; shift 2 ;;
	--append) APPEND="$APPEND ${2:?}"; shift 2 ;;
	--run) RUN=(--run "${2:?}"); shift 2 ;;
	*) echo "usage: $0 [--kernel 6.1|6.12] [--timeout SECS] [--append ARGS] [--run SCRIPT]" >&2; exit 2 ;;
	esac
done

out=build/guest
mkdir -p "$out"
t0=$(date +%s)
# An operator key (signed requests in locked mode): its public half among
# the guest's trusted keys from the first boot, as an image would ship it.
rm -rf "$out/keys"
mkdir -p "$out/keys"
if ! make -s all >"$out/image.log" 2>&1 ||
	! build/govgate pack keygen --private "$out/keys/op.key" --public "$out/keys/op.pub" >>"$out/image.log" 2>&1 ||
	! scripts/guest-image.sh --kernel "$KERNEL" --out "$out" "${RUN[@]}" \
		--add "$out/keys/op.pub:/etc/govgate/trusted-keys/op.pub" \
		--add "$out/keys/op.key:/root/op.key" >>"$out/image.log" 2>&1; then
	tail -n 20 "$out/image.log"
	echo "FAIL guest-image"
	exit 1
fi
t1=$(date +%s)
echo "# guest image ready in $((t1 - t0))s ($(cat "$out/kernel"))"

verdict=$(scripts/qemu-accel.sh --kernel "$out/vmlinuz" --show) || { echo "FAIL guest-accel-probe"; exit 1; }
accel=()
[[ $(sed -n 's/^accel=//p' <<<"$verdict") == kvm ]] && accel=(-enable-kvm -cpu host)
b=$(sed -n 's/^boot_secs=//p' <<<"$verdict")
b=$(awk -v b="${b:-10}" 'BEGIN { s = int(b); if (s < b) s++; print (s < 1) ? 1 : s }')
limit=${TIMEOUT:-$((BOOTS * b > 300 ? BOOTS * b : 300))}
stall=${GG_GUEST_STALL:-$((20 * b > 180 ? 20 * b : 180))}
grow=()
[[ -n $TIMEOUT ]] || grow=(--booted 'GGG-INFO initramfs' --boots "$BOOTS")
echo "# accelerator: ${accel[*]:-tcg}: $(sed -n 's/^reason=//p' <<<"$verdict")"
echo "# limit ${limit}s (B=${b}s, $BOOTS boots), stall ${stall}s"
log=$out/serial.log
# A kernel that panics before the initramfs starts (an early-boot fault of
# software emulation, seen under TCG) has not touched the disk and ran no
# test: it is booted once more, and says so.
for attempt in 1 2; do
	rm -f "$out/qemu.why"
	# No network device, ever: -nic none. -no-reboot makes the guest's
	# poweroff (or a panic, panic=-1) end qemu.
	scripts/qemu-watch.sh --log "$log" --limit "$limit" --stall "$stall" "${grow[@]}" \
		--reason "$out/qemu.why" -- \
		"$QEMU" "${accel[@]}" -m 1024 -smp 2 \
		-kernel "$out/vmlinuz" -initrd "$out/initrd.gz" -append "$(cat "$out/cmdline") $APPEND" \
		-drive "file=$out/disk.img,format=raw,if=virtio" \
		-nographic -no-reboot -nic none |
		awk '{ sub(/^.*GGG-/, "GGG-") }
			/^GGG-PASS / { sub(/^GGG-/, ""); print; fflush() }
			/^GGG-FAIL / { sub(/^GGG-/, ""); print; fflush() }
			/^GGG-INFO / { sub(/^GGG-INFO/, "#"); print; fflush() }'
	qrc=${PIPESTATUS[0]}
	((attempt == 1)) && ! grep -aq 'GGG-INFO initramfs' "$log" &&
		grep -q 'kernel panic' "$out/qemu.why" 2>/dev/null || break
	cp "$log" "$log.panic-1"
	echo "# the kernel panicked before the initramfs ($log.panic-1): booting once more"
done
t2=$(date +%s)

done_line=$(grep -a -o 'GGG-DONE pass=[0-9]* fail=[0-9]*' "$log" | tail -n1)
seen_pass=$(grep -a -c 'GGG-PASS ' "$log")
seen_fail=$(grep -a -c 'GGG-FAIL ' "$log")
extra_fail=0
if [[ -z $done_line ]]; then
	why="no result from the guest: $(cat "$out/qemu.why" 2>/dev/null || echo "qemu rc=$qrc")"
	echo "FAIL guest-reported ($why, kernel $(cat "$out/kernel"); see $log)"
	extra_fail=1
else
	want_pass=${done_line#*pass=}; want_pass=${want_pass%% *}
	want_fail=${done_line##*fail=}
	if ((want_pass != seen_pass || want_fail != seen_fail)); then
		echo "FAIL guest-serial-complete (guest counted $want_pass/$want_fail, serial shows $seen_pass/$seen_fail)"
		extra_fail=1
	fi
	if ((qrc == 0)); then
		echo "PASS guest-clean-poweroff"
		seen_pass=$((seen_pass + 1))
	else
		echo "FAIL guest-clean-poweroff (qemu rc=$qrc)"
		extra_fail=$((extra_fail + 1))
	fi
fi
if grep -aqE '(BUG:|Oops|general protection|Kernel panic)' "$log"; then
	echo "FAIL guest-kernel-splat ($(grep -aE '(BUG:|Oops|general protection|Kernel panic)' "$log" | head -n1))"
	extra_fail=$((extra_fail + 1))
fi
nfail=$((seen_fail + extra_fail))
echo "# image $((t1 - t0))s, boot+test+poweroff $((t2 - t1))s, total $((t2 - t0))s; qemu $(cat "$out/qemu.why" 2>/dev/null)"
echo "guest: $seen_pass passed, $nfail failed"
((nfail == 0 && seen_pass > 0))
