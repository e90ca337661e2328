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
# Needs root. The first run builds the rootfs with debootstrap (network:
# the Debian mirror only) and caches it in .cache/guest.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2

KERNEL=6.12
TIMEOUT=${GG_GUEST_TIMEOUT:-900}
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
if ! make -s all >"$out/image.log" 2>&1 ||
	! scripts/guest-image.sh --kernel "$KERNEL" --out "$out" "${RUN[@]}" >>"$out/image.log" 2>&1; then
	tail -n 20 "$out/image.log"
	echo "FAIL guest-image"
	exit 1
fi
t1=$(date +%s)
echo "# guest image ready in $((t1 - t0))s ($(cat "$out/kernel"))"

mapfile -t accel < <(scripts/qemu-accel.sh)
log=$out/serial.log
# No network device, ever: -nic none. -no-reboot makes the guest's
# poweroff (or a panic, panic=-1) end qemu.
timeout -k 10 "$TIMEOUT" qemu-system-x86_64 "${accel[@]}" -m 1024 -smp 2 \
	-kernel "$out/vmlinuz" -initrd "$out/initrd.gz" -append "$(cat "$out/cmdline") $APPEND" \
	-drive "file=$out/disk.img,format=raw,if=virtio" \
	-nographic -no-reboot -nic none </dev/null 2>&1 |
	stdbuf -oL tr -d '\r' | tee "$log" |
	awk '{ sub(/^.*GGG-/, "GGG-") }
		/^GGG-PASS / { sub(/^GGG-/, ""); print; fflush() }
		/^GGG-FAIL / { sub(/^GGG-/, ""); print; fflush() }
		/^GGG-INFO / { sub(/^GGG-INFO/, "#"); print; fflush() }'
qrc=${PIPESTATUS[0]}
t2=$(date +%s)

done_line=$(grep -a -o 'GGG-DONE pass=[0-9]* fail=[0-9]*' "$log" | tail -n1)
seen_pass=$(grep -a -c 'GGG-PASS ' "$log")
seen_fail=$(grep -a -c 'GGG-FAIL ' "$log")
extra_fail=0
if [[ -z $done_line ]]; then
	why="no result from the guest"
	((qrc == 124)) && why="timed out after ${TIMEOUT}s"
	echo "FAIL guest-reported ($why, qemu rc=$qrc; see $log)"
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
echo "# image $((t1 - t0))s, boot+test+poweroff $((t2 - t1))s, total $((t2 - t0))s"
echo "guest: $seen_pass passed, $nfail failed"
((nfail == 0 && seen_pass > 0))
