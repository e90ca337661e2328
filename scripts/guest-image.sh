#!/usr/bin/env bash
# Build a bootable Debian 12 guest with systemd and govgate installed the way
# an operator installs it (`make install`, the unit enabled), for
# tests/guest/run.sh and for trying docs/operators.md by hand.
#
#   scripts/guest-image.sh [--kernel 6.1|6.12] [--out DIR] [--run SCRIPT]
#                          [--add SRC:GUEST_PATH]... [--no-tests]
#
# 1. rootfs: `debootstrap --variant=minbase bookworm` plus systemd, dbus,
#    procps, bpftool and jq, from the Debian mirror this machine's apt
#    sources name, trimmed (no docs, man pages, locales), with a fixed
#    machine-id, no gettys and no apt timers. Cached as
#    .cache/guest/rootfs-<key>.tar.zst ($GG_GUEST_CACHE), where <key> hashes
#    the suite, mirror, package list and ROOTFS_REV below; the downloaded
#    .debs are kept in .cache/guest/debs. Only this step needs the network.
# 2. disk: the cached rootfs + `make install DESTDIR=...` + `systemctl
#    enable govgate` + the test payload of tests/guest/ (unless --no-tests):
#    the helpers, tests/lib.sh (/usr/local/lib/gg-guest/lib.sh),
#    /opt/workload/nc (a harmless binary the floor denies by name), the
#    kernel's test module (nls_ascii), workload.service and
#    gg-guest-test.service, which runs SCRIPT (default
#    tests/guest/guest-test.sh) after multi-user.target with its
#    output on ttyS0 and powers the guest off when it ends. An ext4 image
#    made with mkfs.ext4 -d (no loop devices, no mounts).
# 3. boot: the Debian cloud kernel from scripts/vm-kernels.sh (default
#    6.12) and a busybox initramfs that loads virtio_blk (a module in those
#    kernels), mounts /dev/vda and switch_roots into /sbin/init (systemd).
#
# Writes DIR (default build/guest): vmlinuz, initrd.gz, disk.img, cmdline
# (the kernel command line to boot with), kernel (`uname -r`). Prints DIR.
# Progress goes to stderr. Needs root (debootstrap, chroot, file ownership).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${GG_GUEST_CACHE:-$REPO/.cache/guest}
OUT=$REPO/build/guest
KERNEL=6.12
RUN=$REPO/tests/guest/guest-test.sh
TESTS=1
ADD=()
SUITE=bookworm
PACKAGES=systemd,systemd-sysv,dbus,procps,bpftool,jq
# Bump when the rootfs customisation below changes: it is part of the key.
ROOTFS_REV=1

log() { echo "guest-image: $*" >&2; }
die() { log "error: $*"; exit 1; }
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit "${1:-2}"; }

while (($#)); do
	case $1 in
	--kernel) KERNEL=${2:?}; shift 2 ;;
	--out) OUT=${2:?}; shift 2 ;;
	--run) RUN=${2:?}; shift 2 ;;
	--add) ADD+=("${2:?}"); shift 2 ;;
	--no-tests) TESTS=0; shift ;;
	-h | --help) usage 0 ;;
	*) die "unknown argument $1" ;;
	esac
done
case $KERNEL in 6.1 | 6.12) ;; *) die "--kernel wants 6.1 or 6.12" ;; esac
[[ $(id -u) == 0 ]] || die "needs root"
[[ -f $RUN ]] || die "no such script: $RUN"
RUN=$(readlink -f "$RUN")

ensure_tools() {
	local need=()
	command -v debootstrap >/dev/null || need+=(debootstrap)
	command -v zstd >/dev/null || need+=(zstd)
	command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
	command -v cpio >/dev/null || need+=(cpio)
	dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
	if ((${#need[@]})); then
		log "installing ${need[*]}"
		ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1 || apt-get update -qq >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
	fi
}

# The main Debian mirror of this machine's apt sources (deb822 or one-line).
mirror() {
	local m
	m=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '
		/^Types:/ { deb = / deb( |$)/ } /^URIs:/ { uri = $2 }
		/^Suites:/ && deb { for (i = 2; i <= NF; i++) if ($i == "'$SUITE'") { print uri; exit } }')
	[[ -n $m ]] || m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		awk '$1 == "deb" && $0 ~ / '$SUITE' / { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }')
	echo "${m:-http://deb.debian.org/debian}"
}

WORK=
cleanup() { [[ -z $WORK ]] || rm -rf "$WORK"; }
trap cleanup EXIT

# ---- 1. the cached rootfs ------------------------------------------------------
build_rootfs() { # $1 = tarball to write
	local root=$WORK/debootstrap mirror
	mirror=$(mirror)
	log "debootstrap $SUITE from $mirror (cold cache: several minutes)"
	mkdir -p "$CACHE/debs"
	debootstrap --variant=minbase --include="$PACKAGES" --cache-dir="$CACHE/debs" \
		"$SUITE" "$root" "$mirror" >"$WORK/debootstrap.log" 2>&1 ||
		{ tail -n 30 "$WORK/debootstrap.log" >&2; die "debootstrap failed (log above)"; }

	echo ggguest >"$root/etc/hostname"
	printf '127.0.0.1 localhost\n127.0.1.1 ggguest\n' >"$root/etc/hosts"
	printf '/dev/vda / ext4 rw,errors=remount-ro 0 0\n' >"$root/etc/fstab"
	# Fixed machine-id: not a first boot (no systemd-firstboot prompts).
	echo 5eed6a7e5eed6a7e5eed6a7e5eed6a7e >"$root/etc/machine-id"
	# Nothing reads the console but the test; nothing to fetch offline.
	for u in getty.target serial-getty@ttyS0.service systemd-firstboot.service \
		apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer \
		fstrim.timer e2scrub_reap.service; do
		ln -sf /dev/null "$root/etc/systemd/system/$u"
	done
	rm -rf "$root"/usr/share/{doc,man,info,locale}/* "$root"/var/cache/apt/*.bin \
		"$root"/var/lib/apt/lists/* "$root"/var/log/*.log "$root"/var/cache/debconf/*-old
	tar --numeric-owner --xattrs -C "$root" -I 'zstd -q -T0 -3' -cf "$1.tmp" .
	mv "$1.tmp" "$1"
	rm -rf "$root"
}

# ---- 3. kernel modules for the initramfs ---------------------------------------
# virtio_blk and what it depends on, decompressed, in load order.
modules_for() { # $1 = kernel dir from vm-kernels.sh; prints the module dir
	local kdir=$1 rel pkg ver deb dst tmp
	rel=$(cat "$kdir/release")
	dst=$CACHE/modules/$rel
	if [[ ! -s $dst/order ]]; then
		read -r pkg ver <"$kdir/package"
		deb=$(ls "${GG_VM_CACHE:-$REPO/.cache/vm}/debs/${pkg}_${ver//:/%3a}_"*.deb 2>/dev/null | head -n1)
		[[ -n $deb ]] || die "the .deb of $pkg $ver is not in the vm-kernels cache"
		tmp=$WORK/kmod
		mkdir -p "$tmp" "$dst.tmp"
		dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" --wildcards \
			'./lib/modules/*/kernel/drivers/virtio/*' './lib/modules/*/kernel/drivers/block/virtio_blk.ko*'
		: >"$dst.tmp/order"
		add_mod() {
			local name=$1 f dep
			grep -qx "$name" "$dst.tmp/order" && return 0
			f=$(find "$tmp" -name "$name.ko*" | head -n1)
			[[ -n $f ]] || return 0 # built in
			case $f in
			*.ko) cp "$f" "$dst.tmp/$name.ko" ;;
			*.ko.xz) xz -dc "$f" >"$dst.tmp/$name.ko" ;;
			*.ko.zst) zstd -qdc "$f" >"$dst.tmp/$name.ko" ;;
			esac
			for dep in $(tr '\0' '\n' <"$dst.tmp/$name.ko" | sed -n 's/^depends=//p' | tr ',' ' '); do
				add_mod "$dep"
			done
			echo "$name" >>"$dst.tmp/order"
		}
		add_mod virtio_pci
		add_mod virtio_blk
		rm -rf "$dst" && mv "$dst.tmp" "$dst"
	fi
	echo "$dst"
}

make_initramfs() { # $1 = module dir, $2 = output
	local ir=$WORK/initramfs bb applet
	mkdir -p "$ir"/{bin,dev,proc,sys,newroot,lib/modules}
	bb=$(readlink -f "$(command -v busybox)")
	file -L "$bb" 2>/dev/null | grep -q 'statically linked' ||
		ldd "$bb" 2>&1 | grep -q 'not a dynamic' || die "busybox is not static (install busybox-static)"
	cp "$bb" "$ir/bin/busybox"
	for applet in sh mount umount insmod switch_root sleep echo cat poweroff mkdir; do
		ln -s busybox "$ir/bin/$applet"
	done
	cp "$1"/*.ko "$1/order" "$ir/lib/modules/"
	cat >"$ir/init" <<'EOF'
#!/bin/sh
# govgate guest initramfs: load virtio_blk, mount /dev/vda, hand over to systemd.
export PATH=/bin
mount -t proc proc /proc
# The boot so far, for tests/guest/run.sh's watchdog: it sizes the limit.
read -r up _ </proc/uptime
echo "GGG-INFO initramfs: up $up s"
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /lib/modules/order); do insmod /lib/modules/$m.ko || echo "initramfs: insmod $m failed"; done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
if ! mount -t ext4 -o rw /dev/vda /newroot; then
	echo "GGG-FAIL initramfs-mount-root"
	echo "GGG-DONE pass=0 fail=1"
	poweroff -f
fi
umount /proc /sys /dev
exec switch_root /newroot /sbin/init
EOF
	chmod 0755 "$ir/init"
	(cd "$ir" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -1 >"$2"
}

# ---- main ------------------------------------------------------------------------
ensure_tools
mkdir -p "$CACHE" "$OUT"
WORK=$(mktemp -d "$CACHE/.work.XXXXXX")

key=$(printf '%s\n' "$SUITE" "$(mirror)" "$PACKAGES" "$ROOTFS_REV" | sha256sum | cut -c1-12)
tarball=$CACHE/rootfs-$SUITE-$key.tar.zst
if [[ -s $tarball ]]; then
	log "rootfs: cached $(basename "$tarball")"
else
	build_rootfs "$tarball"
	log "rootfs: $(basename "$tarball") ($(du -h "$tarball" | cut -f1))"
fi

kdir=$("$REPO/scripts/vm-kernels.sh" "$KERNEL" | awk '{print $2}')
[[ -s $kdir/vmlinuz ]] || die "no kernel $KERNEL"

root=$WORK/root
mkdir -p "$root"
tar --numeric-owner --xattrs -C "$root" -I zstd -xf "$tarball"

log "make install DESTDIR=<guest root>"
make -s -C "$REPO" install DESTDIR="$root" PREFIX=/usr >&2
systemctl --root="$root" enable govgate.service >&2 2>/dev/null ||
	ln -sf /usr/lib/systemd/system/govgate.service "$root/etc/systemd/system/sysinit.target.wants/govgate.service"

if ((TESTS)); then
	make -s -C "$REPO" build/helpers/gg-exec build/helpers/gg-net build/helpers/gg-proof \
		build/helpers/gg-modload >&2
	install -m 0755 "$REPO"/build/helpers/{gg-exec,gg-net,gg-proof,gg-modload} "$root/usr/local/bin/"
	install -d "$root/opt/workload" "$root/usr/local/lib/gg-guest"
	# A small module of the booted kernel (nls_ascii) for the module gate.
	install -m 0644 "$kdir/test.ko" "$root/usr/local/lib/gg-guest/test.ko"
	install -m 0755 "$REPO/build/helpers/gg-proof" "$root/opt/workload/nc"
	install -m 0755 "$REPO/build/helpers/gg-proof" "$root/opt/workload/tool"
	install -m 0755 "$REPO/tests/guest/workload.sh" "$root/usr/local/lib/gg-guest/workload.sh"
	install -m 0755 "$RUN" "$root/usr/local/lib/gg-guest/main"
	install -m 0644 "$REPO/tests/lib.sh" "$root/usr/local/lib/gg-guest/lib.sh"
	install -m 0644 "$REPO/tests/guest/workload.service" "$REPO/tests/guest/gg-guest-test.service" \
		"$root/etc/systemd/system/"
	systemctl --root="$root" enable workload.service gg-guest-test.service >&2 2>/dev/null
fi
for a in "${ADD[@]}"; do
	src=${a%%:*} dst=${a#*:}
	[[ -e $src && $dst == /* ]] || die "--add wants SRC:/guest/path ($a)"
	mkdir -p "$root$(dirname "$dst")"
	cp -a "$src" "$root$dst"
done

log "disk image"
rm -f "$OUT/disk.img"
size=$(($(du -sm "$root" | cut -f1) + 512))
mkfs.ext4 -q -F -L ggroot -d "$root" "$OUT/disk.img" "${size}M" >&2

mods=$(modules_for "$kdir")
make_initramfs "$mods" "$OUT/initrd.gz"
cp "$kdir/vmlinuz" "$OUT/vmlinuz"
cp "$kdir/release" "$OUT/kernel"
echo "console=ttyS0 panic=-1 quiet systemd.show_status=0 $(cat "$kdir/cmdline")" >"$OUT/cmdline"
log "ready: $OUT ($(cat "$kdir/release"), disk ${size}M)"
echo "$OUT"
