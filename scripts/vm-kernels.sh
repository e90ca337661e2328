#!/usr/bin/env bash
# Fetch and unpack the Debian 12 cloud kernels used by scripts/vmtest.sh.
#
#   scripts/vm-kernels.sh [6.1|6.12|all]     (default: all)
#
# For each series it picks the newest linux-image package available from apt
# (by package name, `sort -V`, so the choice is deterministic for a given apt
# state), downloads it with `apt-get download` into $GG_VM_CACHE/debs, unpacks
# it with dpkg-deb -x and keeps only what the VM harness needs in
# $GG_VM_CACHE/<series>/:
#   vmlinuz   the kernel image (qemu -kernel)
#   config    the kernel's build config
#   test.ko   one small, dependency-free module (fs/nls/nls_ascii), plain .ko,
#             for finit_module tests; the guest sees it as /lib/test/test.ko
#   dummy.ko  the dummy network driver (drivers/net/dummy), loaded by the
#             guest before govgate starts: the DNS tests' servers listen on
#             a dummy interface, as a remote host's would on a NIC
#   vsock/    vsock.ko, vmw_vsock_virtio_transport_common.ko and
#             vsock_loopback.ko, loaded in that order by the guest before
#             govgate starts: AF_VSOCK within the guest (CID 1), for the
#             floor's other-families test without a host side
#   netcfg/   sch_ingress.ko, cls_matchall.ko and act_nat.ko (net/sched),
#             veth.ko, tun.ko, configfs.ko and netconsole.ko, loaded by the
#             guest before govgate starts: a tc filter that rewrites a
#             packet's destination after the packet check, a veth whose peer
#             is made in pid 1's namespace from a user namespace, a tun
#             device made before the lock, a netconsole target: the network
#             configuration locked mode refuses
#   input/    evdev.ko, hid.ko and uhid.ko (drivers/input, drivers/hid),
#             loaded by the guest before govgate starts: the emulated PS/2
#             keyboard's evdev node and /dev/uhid, the input devices a
#             governed task may not open
#   release   `uname -r` of that kernel
#   package   "<package> <version>" that was unpacked
#   cmdline   extra kernel cmdline this kernel needs (lsm=...,bpf when bpf is
#             not in its default CONFIG_LSM; empty otherwise)
# The unpacked directory is reused while the chosen package/version is
# unchanged.  Prints one line per kernel on stdout: "<series> <dir>".
# Everything else goes to stderr.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${GG_VM_CACHE:-$REPO/.cache/vm}
# The test module: tiny, no dependencies, no side effects, =m in both kernels.
TEST_MOD=fs/nls/nls_ascii
DUMMY_MOD=drivers/net/dummy
VSOCK_MODS=(vsock vmw_vsock_virtio_transport_common vsock_loopback)
NETCFG_MODS=(sch_ingress cls_matchall act_nat)

UNPACK_TMP=
trap 'rm -rf "${UNPACK_TMP:-}"' EXIT

log() { echo "vm-kernels: $*" >&2; }
die() { log "error: $*"; exit 1; }

# Install the host tools we use if missing (fresh machine).  apt-get update
# only when the package lists are empty, because it is slow.
ensure_tools() {
	local need=()
	command -v dpkg-deb >/dev/null || die "dpkg-deb missing (not a Debian host?)"
	command -v xz >/dev/null || need+=(xz-utils)
	command -v zstd >/dev/null || need+=(zstd)
	if ((${#need[@]})); then
		apt_lists_ready || apt-get update -qq >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
	fi
}

apt_lists_ready() { ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1; }

# Regex of base package names (without -unsigned) per series.
series_regex() {
	case $1 in
	6.1) echo '^linux-image-6\.1\.0-[0-9]+-cloud-amd64$' ;;
	6.12) echo '^linux-image-6\.12\.[0-9]+\+deb12-cloud-amd64$' ;;
	*) die "unknown kernel series '$1' (want 6.1 or 6.12)" ;;
	esac
}

# Candidate version of package $1 ("" if none).  Output captured first: a
# `| grep -q` would SIGPIPE apt-cache and fail the pipe under pipefail.
candidate() {
	local out
	out=$(apt-cache policy "$1" 2>/dev/null) || true
	awk '/^  Candidate:/ && $2 != "(none)" {print $2}' <<<"$out"
}

# Print "<package> <version>" of the newest downloadable kernel of series $1,
# preferring -unsigned (the signed vmlinuz boots just as well under qemu).
pick_package() {
	local re base pkg ver
	re=$(series_regex "$1")
	# Names of both flavours, reduced to the base name, newest first.
	for base in $(apt-cache search --names-only 'linux-image-6\.1.*cloud-amd64' |
		awk '{print $1}' | sed 's/-unsigned$//' | grep -E "$re" | sort -uVr); do
		for pkg in "$base-unsigned" "$base"; do
			ver=$(candidate "$pkg")
			if [[ -n $ver ]]; then
				echo "$pkg $ver"
				return 0
			fi
		done
	done
	return 1
}

# unpack_module PATH_WITHOUT_.ko OUT: the module, decompressed.
unpack_module() {
	local mod
	mod=$(ls "$1".ko* 2>/dev/null | head -n1 || true)
	case $mod in
	*.ko) cp "$mod" "$2" ;;
	*.ko.xz) xz -dc "$mod" >"$2" ;;
	*.ko.zst) zstd -qdc "$mod" >"$2" ;;
	*.ko.gz) gzip -dc "$mod" >"$2" ;;
	*) die "$series: module ${1##*/kernel/} not found" ;;
	esac
}

# Download (cached) and unpack kernel series $1; print "<series> <dir>".
fetch_series() {
	local series=$1 dir="$CACHE/$1" pkg ver deb tmp rel mod lsm
	if ! read -r pkg ver < <(pick_package "$series"); then
		# Offline / empty apt lists: fall back to what is cached.
		[[ -s $dir/package ]] || die "no linux-image package found for $series (apt-get update?)"
		log "$series: apt has no candidate, reusing cached $(cat "$dir/package")"
		echo "$series $dir"
		return 0
	fi
	if [[ -s $dir/package && "$(cat "$dir/package")" == "$pkg $ver" && -s $dir/vmlinuz && -s $dir/test.ko && -s $dir/dummy.ko &&
		-s $dir/vsock/vsock_loopback.ko && -s $dir/netcfg/netconsole.ko && -s $dir/input/uhid.ko ]]; then
		log "$series: cached $pkg $ver"
		echo "$series $dir"
		return 0
	fi

	mkdir -p "$CACHE/debs"
	# apt-get download names the file <pkg>_<ver with ':' -> %3a>_amd64.deb.
	deb=$(ls "$CACHE/debs/${pkg}_${ver//:/%3a}_"*.deb 2>/dev/null | head -n1 || true)
	if [[ -z $deb ]]; then
		log "$series: downloading $pkg $ver"
		# Run from the cache dir: apt-get download writes into the cwd.
		(cd "$CACHE/debs" && apt-get download -q -o APT::Sandbox::User=root "$pkg=$ver" >&2) ||
			die "apt-get download $pkg=$ver failed"
		deb=$(ls "$CACHE/debs/${pkg}_${ver//:/%3a}_"*.deb | head -n1)
	fi

	log "$series: unpacking $(basename "$deb")"
	tmp=$(mktemp -d "$CACHE/.unpack.XXXXXX")
	UNPACK_TMP=$tmp # removed by the EXIT trap even if we die half-way
	dpkg-deb -x "$deb" "$tmp/root"
	rel=$(basename "$(ls -d "$tmp"/root/lib/modules/*/ | head -n1)")
	[[ -n $rel && -f $tmp/root/boot/vmlinuz-$rel ]] || die "$series: unexpected package layout"

	rm -rf "$tmp/out" && mkdir -p "$tmp/out"
	cp "$tmp/root/boot/vmlinuz-$rel" "$tmp/out/vmlinuz"
	cp "$tmp/root/boot/config-$rel" "$tmp/out/config"
	echo "$rel" >"$tmp/out/release"
	unpack_module "$tmp/root/lib/modules/$rel/kernel/$TEST_MOD" "$tmp/out/test.ko"
	unpack_module "$tmp/root/lib/modules/$rel/kernel/$DUMMY_MOD" "$tmp/out/dummy.ko"
	mkdir -p "$tmp/out/vsock"
	for mod in "${VSOCK_MODS[@]}"; do
		unpack_module "$tmp/root/lib/modules/$rel/kernel/net/vmw_vsock/$mod" "$tmp/out/vsock/$mod.ko"
	done
	mkdir -p "$tmp/out/netcfg"
	for mod in "${NETCFG_MODS[@]}"; do
		unpack_module "$tmp/root/lib/modules/$rel/kernel/net/sched/$mod" "$tmp/out/netcfg/$mod.ko"
	done
	for mod in drivers/net/veth drivers/net/tun fs/configfs/configfs drivers/net/netconsole; do
		unpack_module "$tmp/root/lib/modules/$rel/kernel/$mod" "$tmp/out/netcfg/${mod##*/}.ko"
	done
	mkdir -p "$tmp/out/input"
	for mod in drivers/input/evdev drivers/hid/hid drivers/hid/uhid; do
		unpack_module "$tmp/root/lib/modules/$rel/kernel/$mod" "$tmp/out/input/${mod##*/}.ko"
	done

	# BPF LSM must be built in; it must also be in the active LSM list,
	# either by default (CONFIG_LSM) or via lsm= on the command line.
	grep -qx 'CONFIG_BPF_LSM=y' "$tmp/out/config" || die "$series: CONFIG_BPF_LSM is not =y"
	lsm=$(sed -n 's/^CONFIG_LSM="\(.*\)"$/\1/p' "$tmp/out/config")
	if [[ ",$lsm," == *,bpf,* ]]; then
		log "$series: CONFIG_BPF_LSM=y, bpf is in default CONFIG_LSM=\"$lsm\""
		: >"$tmp/out/cmdline"
	else
		log "$series: CONFIG_BPF_LSM=y, bpf NOT in default CONFIG_LSM=\"$lsm\"; adding lsm=$lsm,bpf"
		echo "lsm=${lsm:+$lsm,}bpf" >"$tmp/out/cmdline"
	fi
	echo "$pkg $ver" >"$tmp/out/package"

	# Swap in atomically-ish so a half-unpacked dir is never "cached".
	rm -rf "$dir"
	mv "$tmp/out" "$dir"
	rm -rf "$tmp"
	log "$series: $pkg $ver ($rel) -> $dir"
	echo "$series $dir"
}

main() {
	local want=${1:-all} s
	case $want in
	all) set -- 6.1 6.12 ;;
	6.1 | 6.12) set -- "$want" ;;
	-h | --help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
	*) die "usage: $0 [6.1|6.12|all]" ;;
	esac
	ensure_tools
	apt_lists_ready || apt-get update -qq >&2
	mkdir -p "$CACHE"
	for s in "$@"; do fetch_series "$s"; done
}

main "$@"
