#!/usr/bin/env bash
# Installs what govgate builds and tests with, from Debian's packages.
# Idempotent; run as root (or with sudo).
set -euo pipefail

pkgs=(
	make gcc clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libjansson-dev libssl-dev
	libidn2-dev libunistring-dev
	libcmocka-dev libsystemd-dev pkg-config xxd
	# tests: namespaces and the VM harness
	iproute2 util-linux qemu-system-x86 busybox-static cpio xz-utils zstd python3
	# the guest tier (a Debian 12 systemd guest image) and the benchmarks
	debootstrap e2fsprogs nftables iptables gnuplot-nox
)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "setup: all build and test dependencies are installed"
	exit 0
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
