#!/bin/sh
# End-to-end test of govgate on the BPF LSM path, global scope, inside the
# VM (guest script of scripts/vmtest.sh; busybox ash). Every check is made
# from the outside by a process that tries the forbidden thing.
GG_TEST_PREFIX=GGVM-
. /gg/lib.sh # pass, fail, check, wait_for
is() { [ "$1" = "$2" ]; }

k=$(cat /etc/gg-kernel-series)
# A file for the digest cache test (issue 11): its ctime must have settled
# (more than 64 s old) before it is first executed, so it is made now.
cp /bin/gg-proof /tmp/rewrite
cp /bin/gg-proof /tmp/trw # the same for a trusted file (trusted-executables mode)
log=/tmp/audit.jsonl
cfg=/tmp/govgate.json
mkdir -p /tmp/state
cat >$cfg <<JSON
{ "pack_dirs": ["/gg/packs"], "state_dir": "/tmp/state",
  "audit": { "path": "$log", "key": "/tmp/audit-key.pem", "checkpoint_every": 16 } }
JSON

# Every run but the last block's is unlocked: these tests kill, restart and
# unload the daemon from this shell (not init), which locked mode refuses.
start() { run_daemon govgate run --config $cfg --unlocked "$@"; }
# The same with a thread preloaded into the daemon that does what
# /tmp/shim/cmd says (tests/helpers/shim): the daemon taken over.
start_shimmed() {
	mkdir -p /tmp/shim
	run_daemon env LD_PRELOAD=/lib/test/gg-daemon-shim.so GG_SHIM_DIR=/tmp/shim \
		govgate run --config $cfg --unlocked "$@"
}
shim() {
	rm -f /tmp/shim/result
	echo "$*" >/tmp/shim/cmd.tmp && mv /tmp/shim/cmd.tmp /tmp/shim/cmd
	wait_for 10 [ -e /tmp/shim/result ] && cat /tmp/shim/result
}
# Locked, the daemon in a cgroup of its own, as govgate.service puts it.
start_locked() {
	run_daemon sh -c 'echo $$ >/sys/fs/cgroup/ggd/cgroup.procs && exec "$@"' _ \
		govgate run --config $cfg "$@"
}
run_daemon() {
	# Truncate first: the child's redirection happens after the fork, and the
	# poll below must not see the previous run's "enforcing" line.
	: >/tmp/daemon.err
	"$@" 2>>/tmp/daemon.err &
	daemon=$!
	# Generous: software emulation on a busy machine is slow to start.
	wait_for 180 started_or_dead
	grep -q "enforcing (generation" /tmp/daemon.err && return 0
	cat /tmp/daemon.err
	return 1
}
started_or_dead() { grep -q "enforcing (generation" /tmp/daemon.err || ! kill -0 $daemon 2>/dev/null; }
# Bounded: a daemon that does not end on SIGTERM is a failure with its
# stacks on the console, not a run that waits for the VM's time limit.
stop() {
	kill $daemon
	if ! wait_for 60 gone $daemon; then
		fail daemon-stops-on-sigterm "pid $daemon: $(cat /proc/$daemon/wchan 2>/dev/null)"
		for t in /proc/$daemon/task/*; do
			echo "# task $t: $(cat $t/stat 2>/dev/null)"
			cat $t/stack 2>/dev/null
		done
		kill -9 $daemon
		wait_for 30 gone $daemon || return 1
	fi
	wait $daemon 2>/dev/null
}
gone() { [ ! -e /proc/$1 ] || [ "$(sed 's/.*) \(.\).*/\1/' /proc/$1/stat 2>/dev/null)" = Z ]; }

# Waits until one audit line contains every pattern.
audit_has() { wait_for 10 audit_line "$@"; }
audit_line() {
	m=$(cat $log)
	for p in "$@"; do m=$(echo "$m" | grep -F -- "$p"); done
	[ -n "$m" ]
}

# The dummy network driver, loaded before any govgate (the floor denies
# module loads): the DNS section's servers listen on a dummy interface.
check baseline-dummy-driver insmod /lib/test/dummy.ko
# AF_VSOCK within the guest (vsock_loopback, CID 1): without govgate a
# byte reaches the listener. The floor's other-families check below.
check baseline-vsock-modules sh -c 'for m in vsock vmw_vsock_virtio_transport_common vsock_loopback; do
	insmod /lib/test/vsock/$m.ko || exit 1; done'
vsock_try() { # vsock_try WHO PORT: "SEND RECV" of gg-net vsock by WHO (a command prefix)
	local l s
	rm -f /tmp/vsock.ready /tmp/vsock.recv
	in_exempt gg-net vsock-listen $2 /tmp/vsock.ready >/tmp/vsock.recv 2>/dev/null &
	l=$!
	wait_for 20 [ -e /tmp/vsock.ready ]
	s=$($1 gg-net vsock 1 $2)
	wait $l
	echo "$s $(cat /tmp/vsock.recv)"
}
in_exempt() { "$@"; } # no govgate yet: nothing to be exempt from
check baseline-vsock-arrives is "$(vsock_try "" 5100)" "ok arrived"
unset -f in_exempt
# tc's clsact, matchall and nat, and veth, loaded before any govgate (as
# Docker or ufw leave nf_tables loaded): a filter that rewrites a packet's
# destination after the packet check. tc_rewrite PORT, in a netns of its
# own: the filter turns 198.51.100.7 into 169.254.169.254, where gg-net's
# receiver is; prints "<setup> <send> <recv>" (setup "refused" when
# configuring the netns failed). Without the filter nothing arrives.
check baseline-netcfg-modules sh -c 'for m in sch_ingress cls_matchall act_nat veth; do
	insmod /lib/test/netcfg/$m.ko || exit 1; done'
# evdev, and uhid: the emulated PS/2 keyboard's event node and /dev/uhid,
# loaded as udev would at boot (the input guard's devices)
check baseline-input-modules sh -c 'for m in evdev hid uhid; do
	insmod /lib/test/input/$m.ko || exit 1; done; ls /dev/input/event* && [ -c /dev/uhid ]'
tc_rewrite() { unshare -n sh -c 'ip link set lo up && ip addr add 169.254.169.254/32 dev lo &&
	ip route add 198.51.100.0/24 dev lo && /lib/test/tc qdisc add dev lo clsact &&
	/lib/test/tc filter add dev lo egress matchall action nat ingress 198.51.100.7/32 169.254.169.254 ||
	{ echo refused; exit 0; }
	echo "ok $(gg-net rewritten 169.254.169.254 $1 198.51.100.7)"' _ "$@" 2>/dev/null; }
# veth_peer NAME: from a user and network namespace of its own (with its
# own CAP_NET_ADMIN), a veth whose peer NAME is made in pid 1's network
# namespace (the kernel asks nothing of that one: what is sent into it is
# forwarded out with no socket); "made" if NAME appeared here (then
# deleted), else "refused"
veth_peer() {
	unshare -Urn /lib/test/ip link add gvp0 type veth peer name "$1" netns 1 2>/dev/null
	if ip link show "$1" >/dev/null 2>&1; then ip link del "$1" 2>/dev/null; echo made; else echo refused; fi
}
check baseline-untouched-none is "$(unshare -n sh -c 'ip link set lo up && ip addr add 169.254.169.254/32 dev lo &&
	ip route add 198.51.100.0/24 dev lo && gg-net rewritten 169.254.169.254 5370 198.51.100.7')" "ok none"
check baseline-tc-rewrite-arrives is "$(tc_rewrite 5371)" "ok ok arrived"
check baseline-veth-peer-made is "$(veth_peer gvb)" made
# A tun device and netconsole, made ready before any govgate (tun.ko,
# configfs.ko and netconsole.ko loaded first, as a VPN's or a
# modules-load.d's would be). The wire: a network namespace whose tap ggw0
# gg-net wire reads, as a NIC's far side (what reaches it left the guest);
# the metadata address is routed onto it and the namespace forwards. Its
# tun device ggt0 has an owner (root): 6.12 lets an owner attach without
# CAP_NET_ADMIN, 6.1 anyone when none is set. Each "ggwire:WORD" seen on the
# wire is a line of /tmp/wire.log.
check baseline-wire-modules sh -c 'for m in tun configfs netconsole; do
	insmod /lib/test/netcfg/$m.ko || exit 1; done && mount -t configfs none /sys/kernel/config'
unshare -n gg-net wire ggw0 /tmp/wire.log /tmp/wire.ready >/dev/null 2>&1 &
wire=$!
wait_for 10 [ -e /tmp/wire.ready ]
check baseline-wire-setup nsenter -t $wire -n sh -c 'ip=/lib/test/ip; $ip link set lo up &&
	$ip addr add 10.201.0.1/24 dev ggw0 && $ip addr add 2001:db8:77:99::1/64 dev ggw0 nodad &&
	$ip link set ggw0 up &&
	$ip route add 169.254.169.254/32 dev ggw0 &&
	$ip neigh add 169.254.169.254 lladdr 02:00:00:00:00:01 dev ggw0 nud permanent &&
	$ip tuntap add mode tun name ggt0 user 0 && $ip addr add 10.199.0.1/24 dev ggt0 &&
	$ip link set ggt0 up && echo 1 >/proc/sys/net/ipv4/ip_forward'
on_wire() { wait_for "${2:-5}" grep -qx "$1" /tmp/wire.log; }
off_wire() { ! on_wire "$@"; }
# tun_inject WORD: a datagram to the metadata address carrying
# ggwire:WORD written into ggt0; prints "<write> arrived|none"
tun_inject() {
	s=$(nsenter -t $wire -n gg-net tun ggt0 10.199.0.2 169.254.169.254 "ggwire:$1")
	on_wire "$1" 3 && echo "$s arrived" || echo "$s none"
}
# netconsole WORD: a netconsole target WORD sending the kernel's log to the
# metadata address, enabled in the wire's namespace, then a kernel message
# ggwire:WORD; prints "<setup> arrived|none" (the target removed after)
netconsole() {
	t=/sys/kernel/config/netconsole/$1 s=refused
	mkdir $t 2>/dev/null && echo ggw0 >$t/dev_name && echo 169.254.169.254 >$t/remote_ip &&
		nsenter -t $wire -n sh -c "echo 1 >$t/enabled" 2>/dev/null && s=ok
	echo "<1>ggwire:$1" >/dev/kmsg
	on_wire "$1" 3 && echo "$s arrived" || echo "$s none"
	[ $s = ok ] && echo 0 >$t/enabled && rmdir $t
}
# join_wire GROUP: a join of GROUP on the wire's tap, by a task of this
# shell's cgroup; prints "<setsockopt> arrived|none" (the wire saw an IGMP
# report naming GROUP). The reports leave from no socket of the task's.
join_wire() {
	s=$(nsenter -t $wire -n gg-net join ggw0 $1)
	on_wire "igmp:$1" 3 && echo "$s arrived" || echo "$s none"
}
check baseline-join-arrives is "$(join_wire 239.1.2.3)" "ok arrived"
# nd_wire ADDR: a datagram to ADDR on the wire's link, whose neighbour
# solicitation (sent by the namespace's own ICMPv6 socket) the wire logs;
# prints "<sendto> arrived|none"
nd_wire() {
	s=$(nsenter -t $wire -n gg-net sendto $1 9)
	on_wire "nd:$1" 3 && echo "$s arrived" || echo "$s none"
}
check baseline-nd-arrives is "$(nd_wire 2001:db8:77:99::2)" "ok arrived"
check baseline-tun-inject-arrives is "$(tun_inject tunbase)" "ok arrived"
check baseline-netconsole-arrives is "$(netconsole ncbase)" "ok arrived"

# ---- baselines without govgate: the tamper tests below can fail. kexec:
# the LSM hooks pass (kexec_load with no segments is an unload; the image
# is loaded, never booted, and unloaded at once). Exec by handle: the file
# is reopened with a dentry named "/", and runs.
kimg=/lib/test/vmlinuz
check baseline-kexec-load-ok is "$(gg-kexec load)" ok
out=$(gg-kexec file $kimg)
echo "kexec_file_load without govgate: $out"
check baseline-kexec-file-past-lsm sh -c "[ -n \"$out\" ] && [ \"$out\" != EPERM ]"
# The loader runs a program it is given, and an executable mapping works.
/lib64/ld-linux-x86-64.so.2 /bin/gg-proof /tmp/p-ld-base
check baseline-loader-runs [ -e /tmp/p-ld-base ]
check baseline-mprotect-ok is "$(gg-mmap mprotect /bin/gg-proof)" ok
disk=/mnt/disk
cp /bin/gg-proof $disk/nc
cp /bin/gg-proof $disk/allowed
gg-fhandle $disk/nc $disk/p-fh-base 2>/tmp/fh.err
cat /tmp/fh.err
check baseline-fhandle-disconnected grep -q "opened by handle as /$" /tmp/fh.err
check baseline-fhandle-runs [ -e $disk/p-fh-base ]

# Every way out (issue 12). A private netns whose lo holds the metadata
# addresses stands in for the remote host: gg-net binds a receiver there
# and prints "<send result> arrived|none". Without govgate each way
# delivers, to the metadata address itself: so the denials below mean
# something. (With the floor, raw and packet sockets are refused whatever
# the destination, so these only have a baseline.)
way() { unshare -n sh -c 'ip link set lo up && ip addr add 169.254.169.254/32 dev lo &&
	ip addr add 169.254.169.253/32 dev lo && ip addr add fd00:ec2::254/128 dev lo &&
	while ip -6 addr show dev lo | grep -q tentative; do sleep 0.1; done &&
	sysctl -qw net.ipv4.ping_group_range="0 0" && gg-net "$@"' _ "$@"; }
check baseline-packet-arrives is "$(way packet 169.254.169.254 5364 lo)" "ok arrived"
check baseline-raw0-arrives is "$(way raw0 169.254.169.254 5353)" "ok arrived"
check baseline-hdrincl-arrives is "$(way hdrincl 169.254.169.254 5361 127.0.0.1)" "ok arrived"
check baseline-xdp-socket is "$(gg-net socket xdp)" ok

check start start --scope global
cat /tmp/daemon.err
check mech-exec-lsm grep -q "cmd.exec: lsm" /tmp/daemon.err
check mech-egress-lsm grep -q "net.egress: lsm" /tmp/daemon.err
check mech-module-lsm grep -q "kernel.module: lsm" /tmp/daemon.err
# socket_create holds on this path: no limit is reported for it
check no-egress-limit-on-lsm sh -c '! grep -q "net.egress: limit" /tmp/daemon.err'
check status-enforcing govgate status --config $cfg
govgate status --config $cfg

# ---- cmd.exec
cp /bin/gg-proof /tmp/nc
cp /bin/gg-proof /tmp/allowed
ln -s /tmp/nc /tmp/symlink
printf '#!/tmp/nc\n' >/tmp/script.sh
chmod +x /tmp/script.sh

check exec-denied-eperm is "$(gg-exec /tmp/nc /tmp/p-direct)" EPERM
check exec-denied-never-ran [ ! -e /tmp/p-direct ]
check exec-symlink-eperm is "$(gg-exec /tmp/symlink /tmp/p-sym)" EPERM
check exec-shebang-interpreter-eperm is "$(gg-exec /tmp/script.sh /tmp/p-script)" EPERM
check exec-shebang-never-ran [ ! -e /tmp/p-script ]
gg-exec /tmp/allowed /tmp/p-allowed >/dev/null
check exec-allowed-runs [ -e /tmp/p-allowed ]
check exec-audited audit_has '"event":"command_denied"' '"action":"deny"' '"mechanism":"lsm"' 'FLOOR-EXEC-LOTL' '"path":"/tmp/nc"'
check exec-argv-recorded audit_has '"event":"command_denied"' '"argv":["/tmp/nc","/tmp/p-direct"]'
# Each way in is explained by the floor's control id.
check exec-symlink-audited audit_has '"event":"command_denied"' 'FLOOR-EXEC-LOTL' '"argv":["/tmp/symlink","/tmp/p-sym"]'
check exec-shebang-audited audit_has '"event":"command_denied"' 'FLOOR-EXEC-LOTL' '"argv":["/tmp/script.sh","/tmp/p-script"]'
# The counters count what happened (per-CPU, summed by status).
counter() { govgate status --config $cfg | awk -v g="$1" -v c="$2" '$1 == g { print $c }'; }
check counter-exec-denied [ "$(counter cmd.exec 4)" -ge 3 ]
check counter-exec-allowed [ "$(counter cmd.exec 3)" -ge 1 ]

# ---- net.egress (the VM has no network device at all)
check tcp-imds-eperm is "$(gg-net connect 169.254.169.254 80)" EPERM
check udp-sendto-imds-eperm is "$(gg-net sendto 169.254.169.254 53)" EPERM
check tcp-v4mapped-imds-eperm is "$(gg-net connect ::ffff:169.254.169.254 80)" EPERM
check udp-v4mapped-imds-eperm is "$(gg-net sendto ::ffff:169.254.169.254 53)" EPERM
check tcp-v6-imds-eperm is "$(gg-net connect fd00:ec2::254 80)" EPERM
check tcp-loopback-allowed is "$(gg-net pair 127.0.0.1 8080)" ok
check tcp6-loopback-allowed is "$(gg-net pair ::1 8081)" ok
check egress-audited audit_has '"event":"egress_blocked"' '"daddr":"169.254.169.254"' 'FLOOR-NET-IMDS' '"syscall":"connect"'
check sendto-audited audit_has '"event":"egress_blocked"' '"syscall":"sendmsg"' '"proto":"udp"' 'FLOOR-NET-IMDS'
check mapped-audited audit_has '"event":"egress_blocked"' '"mapped_v4":true' 'FLOOR-NET-IMDS'
check v6-audited audit_has '"event":"egress_blocked"' '"daddr":"fd00:ec2::254"' 'FLOOR-NET-IMDS'
check counter-egress-denied [ "$(counter net.egress 4)" -ge 5 ]
check counter-egress-allowed [ "$(counter net.egress 3)" -ge 2 ]

# ---- net.egress: every way out (issue 12), with way() from the baselines.
# 169.254.169.253 (no destination rule) proves a way does deliver when
# nothing stops it.
check way-control-arrives is "$(way unspec 169.254.169.253 5353)" "ok arrived"
check way-unspec-denied is "$(way unspec 169.254.169.254 5353)" "EPERM none"
check way-unspec-audited audit_has '"event":"egress_blocked"' '"daddr":"169.254.169.254"' '"dport":5353' '"syscall":"sendmsg"' 'FLOOR-NET-IMDS'
check way-sendmmsg-denied is "$(way sendmmsg 169.254.169.254 5357)" "EPERM none"
check way-fastopen-denied is "$(way fastopen 169.254.169.254 5358)" "EPERM none"
check way-ping-denied is "$(way ping 169.254.169.254)" "EPERM none"
# Ping sockets are not raw: they keep working where no rule denies.
check way-ping-unlisted-works is "$(way ping 169.254.169.253)" "ok arrived"
check way-badfamily-denied is "$(way badfamily 169.254.169.254 5359)" "EPERM none"
check way-badfamily-audited audit_has '"event":"egress_blocked"' '"fail_closed":"unreadable_destination"' '"family":"other"'
check way-disconnect-allowed is "$(gg-net disconnect 127.0.0.1 5360)" ok
# FLOOR-NET-RAW (socket_create): no raw inet or packet socket is made, so
# the raw, IP_HDRINCL and AF_PACKET ways end at socket() with EPERM,
# whatever the destination.
check way-raw0-denied is "$(way raw0 169.254.169.254 5355)" "EPERM none"
check way-raw-denied is "$(way raw 169.254.169.254 5354)" "EPERM none"
check way-raw0-v6-denied is "$(way raw0 fd00:ec2::254 5356)" "EPERM none"
check way-raw-audited audit_has '"event":"egress_blocked"' '"hook":"socket"' '"socket_kind":"raw"' '"family":"ipv4"' '"sock_type":"raw"' '"action":"deny"' 'FLOOR-NET-RAW'
check way-raw6-audited audit_has '"event":"egress_blocked"' '"hook":"socket"' '"socket_kind":"raw"' '"family":"ipv6"' 'FLOOR-NET-RAW'
check way-hdrincl-denied is "$(way hdrincl 169.254.169.254 5362 127.0.0.1)" "EPERM none"
check way-packet-denied is "$(way packet 169.254.169.254 5364 lo)" "EPERM none"
check way-packet-unlisted-denied is "$(way packet 169.254.169.253 5365 lo)" "EPERM none"
check way-packet-audited audit_has '"event":"egress_blocked"' '"hook":"socket"' '"socket_kind":"packet"' '"family":"packet"' '"sock_type":"dgram"' '"mechanism":"lsm"' 'FLOOR-NET-RAW'
check socket-raw-eperm is "$(gg-net socket raw)" EPERM
check socket-raw6-eperm is "$(gg-net socket raw6)" EPERM
check socket-packet-eperm is "$(gg-net socket packet)" EPERM
check socket-xdp-eperm is "$(gg-net socket xdp)" EPERM
check socket-udp-ok is "$(gg-net socket udp)" ok
# IP_TRANSPARENT: a socket that sends from any address (an answer forged
# as the upstream resolver's), decided as a raw socket
check socket-transparent-eperm is "$(gg-net transparent 4)" EPERM
check socket-transparent6-eperm is "$(gg-net transparent 6)" EPERM
# IPv6's output takes a non-local bound source with IPV6_FREEBIND (no
# capability); IPv4's does not, and IP_FREEBIND on IPv4 stays allowed
check socket-freebind6-eperm is "$(gg-net transparent freebind6)" EPERM
check socket-freebind4-ok is "$(gg-net transparent freebind4)" ok
check socket-transparent-audited audit_has '"event":"egress_blocked"' '"hook":"setsockopt"' '"socket_kind":"raw"' '"sock_type":"dgram"' 'FLOOR-NET-RAW'
# The kernel's own raw sockets (a new netns's ICMP and TCP control
# sockets, made in the unsharing task) are not the task's: not denied.
check netns-create-ok unshare -n true

# ---- kernel.module
check finit-and-init-module-eperm gg-modload /lib/test/test.ko
check module-not-loaded sh -c '! grep -q "^nls_ascii " /proc/modules'
check module-audited audit_has '"event":"module_blocked"' 'FLOOR-KMOD' '"source":"finit_module"'
check module-init-audited audit_has '"event":"module_blocked"' 'FLOOR-KMOD' '"source":"init_module"'
# Autoload: mounting an unknown file system type makes the kernel call
# request_module("fs-<type>"), the kernel_module_request hook.
mkdir -p /tmp/mnt
mount -t ggnosuchfs none /tmp/mnt 2>/dev/null
check module-autoload-audited audit_has '"event":"module_blocked"' 'FLOOR-KMOD' '"module":"fs-ggnosuchfs"'

# ---- tamper (issue 13): kexec, exec by handle, the pins
check kexec-load-eperm is "$(gg-kexec load)" EPERM
check kexec-file-eperm is "$(gg-kexec file $kimg)" EPERM
check kexec-load-audited audit_has '"event":"module_blocked"' 'FLOOR-TAMPER-KEXEC' '"source":"kexec_load"'
check kexec-file-audited audit_has '"event":"module_blocked"' 'FLOOR-TAMPER-KEXEC' '"source":"kexec_file_load"'
check fhandle-exec-eperm is "$(gg-fhandle $disk/nc $disk/p-fh 2>/dev/null)" EPERM
check fhandle-exec-never-ran [ ! -e $disk/p-fh ]
check fhandle-audited audit_has '"event":"command_denied"' 'FLOOR-TAMPER-FHANDLE' '"match":"disconnected"'
gg-exec $disk/allowed $disk/p-allowed >/dev/null
check fhandle-ordinary-exec-runs [ -e $disk/p-allowed ]
# The running daemon holds its links: removing the pins detaches nothing.
rm -f /sys/fs/bpf/govgate/link-*
check rm-links-exec-eperm is "$(gg-exec /tmp/nc /tmp/p-rm)" EPERM
check rm-links-egress-eperm is "$(gg-net connect 169.254.169.254 80)" EPERM
check rm-links-module-eperm gg-modload /lib/test/test.ko
# kill -9, then pins half removed (links gone, some programs): a restart
# attaches cleanly over what is left and enforces before it says so.
kill -9 $daemon; wait $daemon 2>/dev/null
rm -f /sys/fs/bpf/govgate/prog-gg_exec_mmap /sys/fs/bpf/govgate/prog-gg_module_request
check restart-over-stale-pins start --scope global
check restart-over-stale-pins-no-eexist sh -c '! grep -q "File exists" /tmp/daemon.err'
check restart-stale-exec-eperm is "$(gg-exec /tmp/nc /tmp/p-stale)" EPERM
check restart-stale-kexec-eperm is "$(gg-kexec load)" EPERM
check restart-stale-module-eperm gg-modload /lib/test/test.ko
# kill -9, then bpffs unmounted (every pin gone) and mounted again.
kill -9 $daemon; wait $daemon 2>/dev/null
umount /sys/fs/bpf
# The pins' last references go by RCU and a workqueue: the links detach
# soon after, not at once (6.12).
ungoverned() {
	i=0
	while [ $i -lt 50 ]; do
		[ "$(gg-kexec load)" = ok ] && return 0
		sleep 0.2
		i=$((i + 1))
	done
	return 1
}
check umount-bpffs-ungoverned ungoverned
mount -t bpf bpf /sys/fs/bpf
check restart-after-umount start --scope global
check restart-umount-exec-eperm is "$(gg-exec /tmp/nc /tmp/p-umount)" EPERM
check restart-umount-egress-eperm is "$(gg-net connect 169.254.169.254 80)" EPERM
check restart-umount-kexec-eperm is "$(gg-kexec file $kimg)" EPERM
check restart-umount-never-ran sh -c '[ ! -e /tmp/p-rm ] && [ ! -e /tmp/p-stale ] && [ ! -e /tmp/p-umount ]'

# ---- packs: each shipped pack applies
for p in /gg/packs/*.json; do
	n=$(basename $p .json)
	[ $n = platform-floor ] && continue
	check "apply-$n" govgate apply --config $cfg "$n@v1"
done
# The shipped bundle: one ref for several packs, all of them live.
check apply-bundle govgate apply --config $cfg ai-agent-default@v1
bundle_packs=$(sed -n 's/.*"\([a-z0-9-]*@v1\)".*/\1/p' /gg/packs/bundles/ai-agent-default.json | sort -u)
check bundle-members-applied sh -c "govgate status --config $cfg | grep -q 'ai-agent-default@v1'"
# The daemon copies apply records into the audit log as it polls: wait.
bundle_members_logged() {
	for m in $bundle_packs; do audit_has '"event":"policy_applied"' "\"$m\"" || return 1; done
}
check bundle-expands-to-members bundle_members_logged
check apply-owasp govgate apply --config $cfg owasp-llm-top10@v1
gg-exec /tmp/nc >/dev/null
check owasp-controls-on-denial audit_has '"event":"command_denied"' '"LLM06:2025"' 'FLOOR-EXEC-LOTL'
check owasp-frameworks-on-denial audit_has '"event":"command_denied"' '"owasp-llm"'

# ---- content identity (issue 11): a denied tool installed in a PATH
# directory is resolved at apply, so it is denied under any name, in any
# place, as a copy, as a memfd and as a #! interpreter. Its content differs
# from gg-proof's (appended bytes), so other gg-proof copies stay allowed.
mkdir -p /usr/local/bin
check digest-setup sh -c "cp /bin/gg-proof /usr/local/bin/nc && printf gg-nc >>/usr/local/bin/nc"
check digest-apply-baseline govgate apply --config $cfg baseline-hardening@v1
govgate compile --json --config $cfg baseline-hardening@v1 >/tmp/compiled.json
check digest-compile-shows-resolved grep -q '"from": "basename nc"' /tmp/compiled.json
check digest-status-in-force [ "$(govgate status --config $cfg | awk '$1 == "digests:" { print $2 }')" -ge 1 ]
ln /usr/local/bin/nc /usr/local/bin/anything
check digest-hardlink-eperm is "$(gg-exec /usr/local/bin/anything /tmp/p-dl)" EPERM
check digest-hardlink-audited audit_has '"event":"command_denied"' 'FLOOR-EXEC-LOTL' '"argv":["/usr/local/bin/anything","/tmp/p-dl"]'
mkdir -p /tmp/t2
mount -t tmpfs gg-t2 /tmp/t2
for d in /tmp /dev/shm /tmp/t2; do
	cp /usr/local/bin/nc $d/x
	check "digest-copy-eperm-$d" is "$(gg-exec $d/x $d/p-x)" EPERM
	check "digest-copy-never-ran-$d" [ ! -e $d/p-x ]
done
check digest-copy-audited audit_has '"event":"command_denied"' '"match":"digest"' 'FLOOR-EXEC-LOTL' '"filename":"/tmp/t2/x"' '"digest":"'
check digest-memfd-eperm is "$(gg-memfd /usr/local/bin/nc /tmp/p-memfd)" EPERM
check digest-memfd-never-ran [ ! -e /tmp/p-memfd ]
check digest-memfd-audited audit_has '"event":"command_denied"' '"match":"digest"' '"argv":["/usr/local/bin/nc","/tmp/p-memfd"]'
printf '#!/tmp/x\n' >/tmp/renamed-interp.sh
chmod +x /tmp/renamed-interp.sh
check digest-shebang-eperm is "$(gg-exec /tmp/renamed-interp.sh /tmp/p-shebang)" EPERM
check digest-shebang-never-ran [ ! -e /tmp/p-shebang ]
# The limit of a denylist: one byte more is other content.
cp /usr/local/bin/nc /tmp/y
printf 'z' >>/tmp/y
gg-exec /tmp/y /tmp/p-y >/dev/null
check digest-appended-byte-runs [ -e /tmp/p-y ]
gg-exec /tmp/allowed /tmp/p-allowed2 >/dev/null
check digest-allowed-runs [ -e /tmp/p-allowed2 ]
# Rewritten in place after it was hashed and cached: hashed again.
while [ $(($(date +%s) - $(stat -c %Z /tmp/rewrite))) -le 70 ]; do sleep 1; done
gg-exec /tmp/rewrite /tmp/p-rw1 >/dev/null
check digest-cache-settled-runs [ -e /tmp/p-rw1 ]
gg-exec /tmp/rewrite /tmp/p-rw2 >/dev/null
check digest-cache-hit-runs [ -e /tmp/p-rw2 ]
cat /usr/local/bin/nc >/tmp/rewrite
check digest-rewrite-in-place-eperm is "$(gg-exec /tmp/rewrite /tmp/p-rw3)" EPERM
umount /tmp/t2

# ---- a denied tool installed after the apply (issue 11): the daemon
# watches the PATH directories and resolves it when it appears.
cp /bin/gg-proof /tmp/socat-src
printf gg-socat >>/tmp/socat-src
cp /tmp/socat-src /tmp/socat-copy
gg-exec /tmp/socat-copy /tmp/p-sc0 >/dev/null
check watch-copy-runs-before [ -e /tmp/p-sc0 ]
cp /tmp/socat-src /bin/socat
check watch-resolved-and-recorded audit_has '"event":"policy_applied"' 'socat appeared'
check watch-copy-eperm is "$(gg-exec /tmp/socat-copy /tmp/p-sc1)" EPERM
check watch-copy-audited audit_has '"match":"digest"' '"filename":"/tmp/socat-copy"' 'BH-01'
rm /bin/socat
# A denied path whose directory a package makes after the apply: the watch
# follows it from its nearest existing ancestor, and once the file appears
# a copy of it under another name is refused by digest.
rm -rf /opt/x
cat >/tmp/opt-pack.json <<JSON
{ "name": "vm-opt", "version": "v1", "framework": { "id": "test", "title": "vm opt" },
  "controls": [ { "id": "O-1", "title": "no late tool", "status": "enforced" } ],
  "rules": [ { "id": "opt-nc", "gate": "cmd.exec", "controls": ["O-1"], "match": { "paths": ["/opt/x/bin/nc"] } } ] }
JSON
g=$(govgate apply --config $cfg --add /tmp/opt-pack.json | sed -n 's/^applied generation \([0-9]*\).*/\1/p')
check watch-opt-apply [ -n "$g" ]
check watch-opt-followed wait_for 10 grep -q "watch: generation $g: " /tmp/daemon.err
cp /bin/gg-proof /tmp/opt-src
printf gg-opt >>/tmp/opt-src
cp /tmp/opt-src /tmp/opt-copy
gg-exec /tmp/opt-copy /tmp/p-opt0 >/dev/null
check watch-opt-copy-runs-before [ -e /tmp/p-opt0 ]
mkdir -p /opt/x/bin
cp /tmp/opt-src /opt/x/bin/nc
check watch-opt-resolved audit_has '"event":"policy_applied"' '/opt/x/bin/nc appeared'
check watch-opt-copy-eperm is "$(gg-exec /tmp/opt-copy /tmp/p-opt1)" EPERM
check watch-opt-copy-never-ran [ ! -e /tmp/p-opt1 ]
check watch-opt-copy-audited audit_has '"match":"digest"' '"filename":"/tmp/opt-copy"' 'O-1'
check watch-opt-pack-dropped govgate apply --config $cfg baseline-hardening@v1
rm -rf /opt/x

# ---- the loader and mapped code (issue 11): a program run without an exec
# of its own file is checked where it is mapped executable.
ldso=/lib64/ld-linux-x86-64.so.2
check mmap-loader-eperm sh -c "! $ldso /usr/local/bin/nc /tmp/p-ld"
check mmap-loader-never-ran [ ! -e /tmp/p-ld ]
check mmap-loader-audited audit_has '"event":"command_denied"' '"match":"mmap"' 'FLOOR-EXEC-LOTL' '"filename":"nc"'
cp /usr/local/bin/nc /tmp/ldcopy
check mmap-loader-copy-eperm sh -c "! $ldso /tmp/ldcopy /tmp/p-ld2"
check mmap-loader-copy-never-ran [ ! -e /tmp/p-ld2 ]
check mmap-loader-copy-audited audit_has '"match":"mmap"' '"filename":"ldcopy"' '"digest":"'
# glibc's loader execs a static program it is given (the exec check then
# denies it): a dynamic one it maps, so only the mapping check stops it.
cp /bin/govgate /tmp/ncat
check mmap-loader-dynamic-eperm sh -c "! $ldso /tmp/ncat --help >/dev/null"
check mmap-loader-dynamic-audited audit_has '"match":"mmap"' '"filename":"ncat"' 'FLOOR-EXEC-LOTL'
check mmap-copy-eperm is "$(gg-mmap mmap /tmp/ldcopy)" EPERM
check mprotect-copy-eperm is "$(gg-mmap mprotect /tmp/ldcopy)" EPERM
$ldso /bin/gg-proof /tmp/p-ldok
check mmap-loader-allowed-runs [ -e /tmp/p-ldok ]
check mmap-allowed-ok is "$(gg-mmap mmap /bin/gg-proof)" ok
check mmap-dynamic-program-runs sh -c "govgate --help >/dev/null"
check mmap-dynamic-program-loader-runs sh -c "$ldso /bin/govgate --help >/dev/null"

# ---- trusted-executables mode (issue 11): a trust list of this image's
# /bin, /lib and /lib64, observe first, then enforced; a second list
# without gg-proof intersects with it.
check trust-snapshot govgate trust snapshot /bin /lib /lib64 --out /tmp/trust.json
# Signed like a pack: apply checks the signature against the trust_dir.
mkdir -p /etc/govgate/trusted-keys
check trust-keygen govgate pack keygen --private /tmp/tk.pem --public /etc/govgate/trusted-keys/tk.pub
check trust-sign govgate pack sign --key /tmp/tk.pem /tmp/trust.json
check trust-signed govgate pack verify --trust-dir /etc/govgate/trusted-keys /tmp/trust.json
cp /bin/gg-proof /tmp/trusted-copy
cp /bin/gg-proof /tmp/untrusted
printf 'z' >>/tmp/untrusted
check trust-observe-apply govgate apply --config $cfg --add --mode observe /tmp/trust.json
gg-exec /tmp/untrusted /tmp/p-tu-obs >/dev/null
check trust-observe-runs [ -e /tmp/p-tu-obs ]
check trust-observe-audited audit_has '"action":"observe"' '"match":"trust"' '"untrusted":true' '"TRUST-EXEC"' '"path":"/tmp/untrusted"'
check trust-observe-mmap-ok is "$(gg-mmap mmap /tmp/untrusted)" ok
# a process's memory opened for writing (its own code rewritten, no exec,
# no mapping): observed here, refused below
check trust-observe-procmem-ok is "$(gg-tamper procmem)" ok
check trust-observe-procmem-audited audit_has '"action":"observe"' '"match":"code_write"' '"filename":"mem"' '"TRUST-EXEC"'
sleep 120 &
tpid=$!
# its exec done: before it, the child is still the shell (comm "sh")
wait_for 10 grep -qx sleep /proc/$tpid/comm
check trust-observe-vmwrite-past is "$(gg-tamper vmwrite $tpid)" EFAULT
check trust-observe-attach-audited audit_has '"action":"observe"' '"match":"code_write"' '"filename":"sleep"'
check trust-observe-mmap-audited audit_has '"action":"observe"' '"match":"mmap"' '"untrusted":true' '"filename":"untrusted"'
check trust-report-lists-untrusted sh -c "govgate report --config $cfg | grep -F /tmp/untrusted | grep -q \"\$(sha256sum /tmp/untrusted | cut -d' ' -f1)\""
check trust-enforce-apply govgate apply --config $cfg --add --mode enforce /tmp/trust.json
# status counts the trust list's digests in force (the snapshot's, once)
ntrust=$(grep -oE '"[0-9a-f]{64}"' /tmp/trust.json | sort -u | wc -l)
check trust-status-counts sh -c "[ $ntrust -gt 0 ] && govgate status --config $cfg | grep -qE '^trusted: +$ntrust digests'"
check trust-enforce-eperm is "$(gg-exec /tmp/untrusted /tmp/p-tu)" EPERM
check trust-enforce-never-ran [ ! -e /tmp/p-tu ]
check trust-enforce-audited audit_has '"action":"deny"' '"match":"trust"' '"TRUST-EXEC"' '"path":"/tmp/untrusted"'
check trust-enforce-mmap-eperm is "$(gg-mmap mmap /tmp/untrusted)" EPERM
check trust-enforce-procmem-eperm is "$(gg-tamper procmem)" EPERM
check trust-enforce-procmem-audited audit_has '"action":"deny"' '"match":"code_write"' '"filename":"mem"'
# another governed process attached to (ptrace, process_vm_writev: code
# written with PTRACE_POKETEXT runs with no exec and no mapping), or a
# child's PTRACE_TRACEME
check trust-enforce-vmwrite-eperm is "$(gg-tamper vmwrite $tpid)" EPERM
check trust-enforce-ptrace-eperm is "$(gg-tamper ptrace $tpid)" EPERM
check trust-enforce-traceme-eperm is "$(gg-tamper traceme)" EPERM
check trust-enforce-attach-audited audit_has '"action":"deny"' '"match":"code_write"' '"filename":"sleep"'
check trust-enforce-traceme-audited audit_has '"action":"deny"' '"match":"code_write"' '"filename":"traceme"'
kill $tpid
check trust-enforce-loader-eperm sh -c "! $ldso /tmp/untrusted /tmp/p-tu-ld"
check trust-enforce-loader-never-ran [ ! -e /tmp/p-tu-ld ]
gg-exec /tmp/trusted-copy /tmp/p-tc >/dev/null
check trust-copy-of-trusted-runs [ -e /tmp/p-tc ]
check trust-dynamic-program-runs sh -c "govgate --help >/dev/null"
# cached only once its ctime is over 64 s old: on a fast run, wait for it
trw_settled() { [ $(($(date +%s) - $(stat -c %Z /tmp/trw))) -gt 70 ]; }
wait_for 80 trw_settled
gg-exec /tmp/trw /tmp/p-trw1 >/dev/null
gg-exec /tmp/trw /tmp/p-trw2 >/dev/null
check trust-settled-runs-twice [ -e /tmp/p-trw1 ] && [ -e /tmp/p-trw2 ]
# Its cached digest is not brought back by a ctime set back: rewritten with
# untrusted bytes, the clock set to its old ctime and the file chmodded
# (root), it is hashed again, not trusted from the cache
cp /tmp/trw /tmp/trw-before
check trust-ctime-forged is "$(gg-tamper ctimeforge /tmp/trw /tmp/untrusted)" ok
check trust-ctime-forged-eperm is "$(gg-exec /tmp/trw /tmp/p-trw-forged)" EPERM
check trust-ctime-forged-never-ran [ ! -e /tmp/p-trw-forged ]
cp /tmp/trw-before /tmp/trw
cat /tmp/untrusted >/tmp/trw
check trust-rewritten-in-place-eperm is "$(gg-exec /tmp/trw /tmp/p-trw3)" EPERM
mkdir -p /tmp/t2dir
for f in /bin/*; do [ "$f" = /bin/gg-proof ] || ln -s "$f" /tmp/t2dir/; done
check trust-snapshot-two govgate trust snapshot /tmp/t2dir /lib /lib64 --name trust-two --out /tmp/trust2.json
check trust-two-apply govgate apply --config $cfg --add --mode enforce /tmp/trust2.json
check trust-intersect-eperm is "$(gg-exec /tmp/trusted-copy /tmp/p-tc2)" EPERM
check trust-intersect-audited audit_has '"action":"deny"' '"match":"trust"' '"path":"/tmp/trusted-copy"'
check trust-lists-removed govgate apply --config $cfg baseline-hardening@v1
gg-exec /tmp/untrusted /tmp/p-tu-after >/dev/null
check trust-removed-untrusted-runs [ -e /tmp/p-tu-after ]
check trust-removed-procmem-ok is "$(gg-tamper procmem)" ok

# identity rules (hardlinks) and per-pack observe mode
cp /bin/gg-proof /tmp/tool
ln /tmp/tool /tmp/hardlink
cp /bin/gg-proof /tmp/watched
cat >/tmp/test-pack.json <<JSON
{ "name": "vm-test", "version": "v1", "framework": { "id": "test", "title": "vm test" },
  "controls": [ { "id": "T-1", "title": "no tool", "status": "enforced" } ],
  "rules": [ { "id": "no-tool", "gate": "cmd.exec", "controls": ["T-1"], "match": { "identities": ["/tmp/tool"] } } ] }
JSON
cat >/tmp/watch-pack.json <<JSON
{ "name": "vm-watch", "version": "v1", "framework": { "id": "test", "title": "vm watch" },
  "controls": [ { "id": "W-1", "title": "watched tool", "status": "enforced" } ],
  "rules": [ { "id": "watch-tool", "gate": "cmd.exec", "controls": ["W-1"], "match": { "paths": ["/tmp/watched"] } } ] }
JSON
check apply-identity-pack govgate apply --config $cfg /tmp/test-pack.json
check exec-hardlink-eperm is "$(gg-exec /tmp/hardlink /tmp/p-hard)" EPERM
check exec-hardlink-never-ran [ ! -e /tmp/p-hard ]
check apply-observe-pack govgate apply --config $cfg --add --mode observe /tmp/watch-pack.json
gg-exec /tmp/watched /tmp/p-watched >/dev/null
check observe-pack-lets-exec-run [ -e /tmp/p-watched ]
check observe-pack-logged audit_has '"event":"command_denied"' '"action":"observe"' '"W-1"'
check hardlink-still-denied is "$(gg-exec /tmp/hardlink)" EPERM
check enforce-takes-it-live govgate apply --config $cfg --add --mode enforce /tmp/watch-pack.json
check watched-now-eperm is "$(gg-exec /tmp/watched)" EPERM
# Through a symlink of another name only the canonical path (bpf_d_path,
# its stale tail zeroed) can match the path rule.
ln -s /tmp/watched /tmp/alias-of-watched
check path-rule-via-symlink-eperm is "$(gg-exec /tmp/alias-of-watched /tmp/p-alias)" EPERM
check path-rule-via-symlink-never-ran [ ! -e /tmp/p-alias ]
check path-rule-audited audit_has '"event":"command_denied"' '"W-1"' '"match":"path"' '"filename":"/tmp/alias-of-watched"'

# An open TCP connection across an apply (the packet check's per-socket
# memory, egress_pass): kept by a policy that still allows it, cut by a
# deny rule applied after it opened.
held_across() { # PORT APPLY-ARGS...: prints gg-net held's "first second"
	go=/tmp/held-$1 port=$1
	shift
	rm -f $go $go.ready
	unshare -n sh -c 'ip link set lo up && ip addr add 10.66.0.1/32 dev lo && exec gg-net "$@"' _ \
		held 10.66.0.1 $port $go >$go.out &
	hpid=$!
	wait_for 30 [ -e $go.ready ]
	govgate apply --config $cfg "$@" >/dev/null
	touch $go
	wait $hpid
	cat $go.out
}
cat >/tmp/held-pack.json <<JSON
{ "name": "vm-held", "version": "v1", "framework": { "id": "test", "title": "vm held" },
  "controls": [ { "id": "H-1", "title": "no 10.66.0.0/16", "status": "enforced" } ],
  "rules": [ { "id": "no-held", "gate": "net.egress", "controls": ["H-1"], "match": { "cidrs": ["10.66.0.0/16"] } } ] }
JSON
check held-connection-kept-across-apply is "$(held_across 5371 --add --mode enforce /tmp/watch-pack.json)" "arrived arrived"
check held-connection-cut-by-later-deny is "$(held_across 5372 --add /tmp/held-pack.json)" "arrived none"
check held-cut-audited audit_has '"event":"egress_blocked"' '"daddr":"10.66.0.1"' '"hook":"packet"' '"H-1"'

# A bad pack changes nothing.
# The top-level key (status --json indents by 2; last_apply nests another).
gen() { govgate status --json --config $cfg | grep '^  "generation"'; }
before=$(gen)
sed 's#"/tmp/tool"#"tmp/tool"#' /tmp/test-pack.json >/tmp/bad-pack.json
govgate apply --config $cfg /tmp/bad-pack.json 2>/tmp/bad.err
check bad-pack-refused [ $? -ne 0 ]
check bad-pack-error-names-place grep -qE 'bad-pack.json:[0-9]+:[0-9]+' /tmp/bad.err
check bad-pack-generation-unchanged is "$before" "$(gen)"
check bad-pack-old-policy-enforces is "$(gg-exec /tmp/hardlink)" EPERM

# Apply while another process loops over denied connects and execs: no
# attempt that both policies deny may ever succeed. A probe that could not
# be run at all (a decision that spanned two applies fails closed, and the
# probe's own exec can be one) made no attempt: only what got through
# counts (gg-net prints an answer other than EPERM: ENETUNREACH here; /tmp/nc
# creates its proof file).
rm -f /tmp/leak /tmp/p-leak
( i=0; while [ $i -lt 400 ]; do
	o=$(gg-net connect 169.254.169.254 80 2>/dev/null)
	[ -z "$o" ] || [ "$o" = EPERM ] || echo "connect $o" >>/tmp/leak
	gg-exec /tmp/nc /tmp/p-leak >/dev/null 2>&1
	[ ! -e /tmp/p-leak ] || { echo exec >>/tmp/leak; rm -f /tmp/p-leak; }
	i=$((i + 1)); done ) &
looper=$!
n=0
while kill -0 $looper 2>/dev/null && [ $n -lt 30 ]; do
	govgate apply --config $cfg owasp-llm-top10@v1 >/dev/null 2>&1
	govgate apply --config $cfg baseline-hardening@v1 mitre-atlas@v1 >/dev/null 2>&1
	n=$((n + 1))
done
wait $looper
echo "applies during the loop: $((n * 2))"
[ -e /tmp/leak ] && { echo "leaked (what, how often):"; sort /tmp/leak | uniq -c; }
check apply-under-load-no-leak [ ! -e /tmp/leak ]
check apply-under-load-ran [ $n -gt 2 ]

# Program rules (baseline-hardening, active now): a shell may not open an
# outbound connection, another program may; loopback stays open to shells.
cp /bin/gg-net /tmp/bash
check shell-egress-eperm is "$(/tmp/bash connect 192.0.2.1 80)" EPERM
check non-shell-egress-not-eperm sh -c '[ "$(gg-net connect 192.0.2.1 80)" != EPERM ]'
check shell-loopback-allowed is "$(/tmp/bash pair 127.0.0.1 8082)" ok
check shell-egress-audited audit_has '"event":"egress_blocked"' '"daddr":"192.0.2.1"' '"BH-02"'
# By identity and content (issue 12): a shell where apply resolves program
# names (its own content: gg-net plus a tag), re-applied so it is resolved;
# a hard link and a copy of it under names no rule lists connect as what
# they are, not as what they are called.
cp /bin/gg-net /usr/local/bin/zsh && printf gg-zsh >>/usr/local/bin/zsh
ln /usr/local/bin/zsh /usr/local/bin/not-a-shell
cp /usr/local/bin/zsh /tmp/copy-of-shell
check shell-resolve-apply govgate apply --config $cfg baseline-hardening@v1 mitre-atlas@v1
check shell-hardlink-egress-eperm is "$(/usr/local/bin/not-a-shell connect 192.0.2.1 81)" EPERM
check shell-copy-egress-eperm is "$(/tmp/copy-of-shell connect 192.0.2.1 82)" EPERM
check shell-copy-audited audit_has '"event":"egress_blocked"' '"dport":82' 'copy-of-shell","' '"BH-02"'
check shell-hardlink-audited audit_has '"event":"egress_blocked"' '"dport":81' 'not-a-shell","' '"BH-02"'
check shell-copy-loopback-allowed is "$(/tmp/copy-of-shell pair 127.0.0.1 8083)" ok
check non-shell-still-connects sh -c '[ "$(gg-net connect 192.0.2.1 83)" != EPERM ]'
# The loader given a shell's path: the process's exe_file is the loader,
# whose name, identity and content match no program rule; it is decided by
# the program the loader mapped, by name or content, and so are its forks
# (a subshell's connect); another program run so still connects. The shell
# here is dynamic (gg-net-dyn): glibc's loader execve()s a static program.
cp /bin/gg-net-dyn /tmp/dyn/bash 2>/dev/null || { mkdir -p /tmp/dyn && cp /bin/gg-net-dyn /tmp/dyn/bash; }
cp /bin/gg-net-dyn /usr/local/bin/ksh && printf gg-ksh >>/usr/local/bin/ksh
cp /usr/local/bin/ksh /tmp/dyn/copy-of-ksh
check shell-loader-resolve-apply govgate apply --config $cfg baseline-hardening@v1 mitre-atlas@v1
check shell-loader-direct-eperm is "$(/tmp/dyn/bash connect 192.0.2.1 88)" EPERM
check shell-loader-egress-eperm is "$($ldso /tmp/dyn/bash connect 192.0.2.1 84)" EPERM
check shell-loader-copy-egress-eperm is "$($ldso /tmp/dyn/copy-of-ksh connect 192.0.2.1 85)" EPERM
check shell-loader-fork-egress-eperm is "$(GG_NET_FORK=1 $ldso /tmp/dyn/bash connect 192.0.2.1 86)" EPERM
check shell-loader-audited audit_has '"event":"egress_blocked"' '"dport":84' '"BH-02"' 'ld-linux-x86-64.so.2","cgroup_id"'
check non-shell-loader-connects sh -c "[ \"\$($ldso /bin/gg-net-dyn connect 192.0.2.1 87)\" != EPERM ]"
rm -f /usr/local/bin/ksh
rm -f /usr/local/bin/zsh /usr/local/bin/not-a-shell /tmp/copy-of-shell

# ---- egress allowlists (issue 12): with one applied, every non-loopback
# destination not on it is denied; two intersect; the floor still wins;
# observe records; a learned address allows until it expires; a deny rule
# wins over a list (baseline-hardening denies 10/8 over TCP, and allow-a
# lists 10.77/16). The probes of one step run in one netns whose lo holds
# the test addresses (documentation ranges: no rule denies them).
allow_probe() {
	unshare -n sh -c 'ip link set lo up &&
		for a in 198.51.100.1 203.0.113.1 198.18.0.1 10.77.0.1 169.254.169.254; do
			ip addr add $a/32 dev lo || exit 1; done &&
		ip addr add 2001:db8:77::1/128 dev lo && ip addr add 2001:db8:78::1/128 dev lo &&
		ip addr add 2001:db8:77::2/128 dev lo &&
		while ip -6 addr show dev lo | grep -q tentative; do sleep 0.1; done &&
		sysctl -qw net.ipv4.ping_group_range="0 0" &&
		for k in net.ipv4.conf.all.accept_source_route net.ipv4.conf.lo.accept_source_route \
			net.ipv6.conf.all.seg6_enabled net.ipv6.conf.lo.seg6_enabled; do
			sysctl -qw $k=1 || exit 1; done &&
		for p in "$@"; do gg-net $p; done' _ "$@" >/tmp/allow-out
}
line() { sed -n "${1}p" /tmp/allow-out; }
allow_pack() { # NAME CONTROL ENTRIES (JSON, comma separated)
	cat >/tmp/$1.json <<JSON
{ "name": "$1", "version": "v1",
  "framework": { "id": "operator", "title": "operator policy" },
  "controls": [ { "id": "$2", "title": "default-deny egress", "status": "enforced" } ],
  "rules": [],
  "egress_allowlist": { "controls": ["$2"], "allow": [ $3 ] } }
JSON
}
allow_pack allow-a OP-A '"198.51.100.0/24", "198.18.0.0/15", "2001:db8:77::/48", "10.77.0.0/16", "*.example.com"'
allow_pack allow-b OP-B '"198.51.100.0/24"'
allow_pack allow-all OP-ALL '"0.0.0.0/0", "::/0"'
# An open flow across an allowlist's arrival is decided again at its next
# packet with data (egress_sk_epoch): opened before any list, or while the
# list observed, to a destination the list lacks, it is cut; to a listed
# one it is kept. held_allow MODE ADDR PORT APPLY-ARGS...: gg-net held's
# "first second", the apply between them.
held_allow() {
	go=/tmp/held-$3
	rm -f $go $go.ready
	unshare -n sh -c 'ip link set lo up && ip addr add $2/32 dev lo && exec gg-net "$@"' _ \
		"$1" "$2" "$3" $go >$go.out 2>/dev/null &
	hp=$!
	wait_for 10 [ -e $go.ready ]
	shift 3
	govgate apply --config $cfg "$@" >/dev/null
	touch $go
	wait $hp
	cat $go.out
}
govgate apply --config $cfg baseline-hardening@v1 >/dev/null
check allow-held-tcp-cut is "$(held_allow held 203.0.113.1 5470 baseline-hardening@v1 /tmp/allow-a.json)" "arrived none"
check allow-held-cut-audited audit_has '"event":"egress_blocked"' '"daddr":"203.0.113.1"' '"dport":5470' '"hook":"packet"' '"not_allowlisted":true'
govgate apply --config $cfg baseline-hardening@v1 >/dev/null
check allow-held-udp-cut is "$(held_allow held-udp 203.0.113.1 5471 baseline-hardening@v1 /tmp/allow-a.json)" "arrived none"
govgate apply --config $cfg baseline-hardening@v1 >/dev/null
check allow-held-listed-kept is "$(held_allow held 198.51.100.1 5472 baseline-hardening@v1 /tmp/allow-a.json)" "arrived arrived"
govgate apply --config $cfg baseline-hardening@v1 >/dev/null
govgate apply --config $cfg --mode observe /tmp/allow-a.json >/dev/null
check allow-held-observed-cut is "$(held_allow held-udp 203.0.113.1 5473 baseline-hardening@v1 /tmp/allow-a.json)" "arrived none"
check allow-apply govgate apply --config $cfg baseline-hardening@v1 /tmp/allow-a.json
# A multicast join is decided as egress to 224.0.0.22 (ff02::16), where
# its IGMP (MLD) reports go, naming the group and sources the task chose:
# refused under a list that does not name it, nothing on the wire.
# The namespace's own neighbour discovery is not decided by the lists
# (before, a send to a listed address on a NIC's link failed at it).
check allow-nd-arrives is "$(nd_wire 2001:db8:77:99::3)" "ok arrived"
check allow-join-refused is "$(join_wire 239.1.2.4)" "EPERM none"
check allow-join6-refused is "$(nsenter -t $wire -n gg-net join ggw0 ff15::1234)" EPERM
check allow-anycast-refused is "$(nsenter -t $wire -n gg-net anycast ggw0 2001:db8:77:99::5)" EPERM
check allow-join-audited audit_has '"event":"egress_blocked"' '"daddr":"224.0.0.22"' '"syscall":"setsockopt"' '"hook":"multicast_join"' '"controls":["OP-A"]' '"not_allowlisted":true'
allow_probe "pair 198.51.100.1 5401" "pair 203.0.113.1 5402" "pair 127.0.0.1 5403" \
	"pair 2001:db8:77::1 5404" "pair 2001:db8:78::1 5405" "unspec 203.0.113.1 5406" "ping 203.0.113.1" \
	"ping 198.51.100.1" "pair 10.77.0.1 5409" \
	"srcroute 198.51.100.1 5450 203.0.113.1" "srcroute 198.51.100.1 5451 198.18.0.1" \
	"srcroute 2001:db8:77::1 5452 2001:db8:78::1" "srcroute 2001:db8:77::1 5453 2001:db8:77::2" \
	"anyaddr 198.51.100.1 5460" "anyaddr 203.0.113.1 5462" "anyaddr-tcp 203.0.113.1 5464"
check allow-cidr-connects is "$(line 1)" ok
check allow-other-eperm is "$(line 2)" EPERM
check allow-loopback is "$(line 3)" ok
check allow-v6-connects is "$(line 4)" ok
check allow-v6-other-eperm is "$(line 5)" EPERM
check allow-udp-other-denied is "$(line 6)" "EPERM none"
check allow-ping-other-denied is "$(line 7)" "EPERM none"
check allow-ping-arrives is "$(line 8)" "ok arrived"
check allow-deny-rule-wins is "$(line 9)" EPERM
check allow-deny-rule-wins-audited audit_has '"event":"egress_blocked"' '"daddr":"10.77.0.1"' '"dport":5409' '"rule":"bh-deny-internal-ranges"'
# A source route (IPv4 LSRR, IPv6 routing header) sends to an allowed
# address through one that is not: the header names the first hop, and the
# packet check decides it (through an allowed hop, the datagram arrives;
# an LSRR datagram is not delivered back to this namespace's lo, so for
# IPv4 the send's result is the proof: EPERM is the packet check's drop)
check allow-lsrr-other-denied is "$(line 10)" "EPERM none"
check allow-lsrr-allowed-sent is "$(line 11 | cut -d' ' -f1)" ok
check allow-srh-other-denied is "$(line 12)" "EPERM none"
check allow-srh-allowed-arrives is "$(line 13)" "ok arrived"
# connect() to 0.0.0.0 goes to the socket's bound address (the route
# lookup fills the destination in from the source; with IP_TRANSPARENT,
# root binds any address, and the packet check saw the socket's own peer):
# decided as that address
check allow-anyaddr-arrives is "$(line 14)" "ok arrived"
check allow-anyaddr-other-denied is "$(line 15)" "EPERM none"
check allow-anyaddr-tcp-other-denied is "$(line 16)" "EPERM none"
check allow-srcroute-audited audit_has '"event":"egress_blocked"' '"hook":"packet"' '"daddr":"2001:db8:78::1"' '"not_allowlisted":true'
check allow-other-audited audit_has '"event":"egress_blocked"' '"daddr":"203.0.113.1"' '"dport":5402' '"rule":"egress-allowlist"' '"controls":["OP-A"]' '"not_allowlisted":true'
check allow-status sh -c "govgate status --config $cfg | grep -qE '^allowlists: +1 in force'"
# A learned address, inserted as the DNS forwarder will: list 0 (bit 1),
# every port, expiring in 4-5 s of CLOCK_BOOTTIME (/proc/uptime).
learned_value() {
	ns=$((($(cut -d. -f1 /proc/uptime) + $1) * 1000000000))
	for i in 0 1 2 3 4 5 6 7; do printf '%02x ' $(((ns >> (8 * i)) & 255)); done
	echo 01 00 00 00 00 00 00 00
}
check allow-learn bpftool map update pinned /sys/fs/bpf/govgate/egress_learned \
	key hex cb 00 71 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 04 \
	value hex $(learned_value 5)
allow_probe "pair 203.0.113.1 5410"
check allow-learned-connects is "$(line 1)" ok
check allow-learned-status sh -c "govgate status --config $cfg | grep -qE 'learned: 1 addresses \(0 expired\), next expiry in'"
# (gg-net exits 1 on EPERM: the probe's status is not the test)
learned_expired() { allow_probe "pair 203.0.113.1 5411"; [ "$(line 1)" = EPERM ]; }
check allow-learned-expires wait_for 20 learned_expired
# Two lists intersect: 198.18/15 is on A only.
check allow-apply-two govgate apply --config $cfg baseline-hardening@v1 /tmp/allow-a.json /tmp/allow-b.json
allow_probe "pair 198.51.100.1 5420" "pair 198.18.0.1 5421"
check allow-two-both-connects is "$(line 1)" ok
check allow-two-one-only-eperm is "$(line 2)" EPERM
check allow-two-audited audit_has '"event":"egress_blocked"' '"daddr":"198.18.0.1"' '"controls":["OP-B"]'
# The floor wins inside 0.0.0.0/0.
check allow-apply-all govgate apply --config $cfg baseline-hardening@v1 /tmp/allow-all.json
allow_probe "pair 203.0.113.1 5430" "pair 169.254.169.254 5431"
check allow-all-connects is "$(line 1)" ok
check allow-all-floor-eperm is "$(line 2)" EPERM
check allow-all-floor-audited audit_has '"event":"egress_blocked"' '"daddr":"169.254.169.254"' '"dport":5431' 'FLOOR-NET-IMDS'
# Observe: allowed, recorded.
check allow-apply-observe govgate apply --config $cfg --mode observe /tmp/allow-a.json
allow_probe "pair 203.0.113.1 5440"
check allow-observe-connects is "$(line 1)" ok
check allow-observe-audited audit_has '"event":"egress_blocked"' '"daddr":"203.0.113.1"' '"dport":5440' '"action":"observe"' '"not_allowlisted":true'
check allow-join-observed is "$(join_wire 239.1.2.5)" "ok arrived"
check allow-join-observe-audited audit_has '"event":"egress_blocked"' '"daddr":"224.0.0.22"' '"hook":"multicast_join"' '"action":"observe"'
check allow-restore govgate apply --config $cfg baseline-hardening@v1 mitre-atlas@v1
check join-without-allowlist-arrives is "$(join_wire 239.1.2.6)" "ok arrived"

# ---- the DNS forwarder (issue 12), LSM path, global scope. The test DNS
# server (gg-dns, the upstream) answers on 10.90.0.53:53, and the zone's
# addresses, on gg-dns0, a dummy interface (the stand-in for a NIC and the
# hosts behind it): the upstream is not loopback, so the daemon reaches it
# through its own egress allowance (settings.self_egress), over UDP and
# TCP. The server runs in an exempt cgroup, as a remote resolver is not
# governed by this guest's policy (governed, its UDP replies to the
# daemon would be sends to an address no allowlist names). Clients ask
# 10.91.0.53, where nothing listens (no route even): their queries reach
# the forwarder only by the rewrite.
mkdir -p /sys/fs/cgroup/dns-upstream
sed 's#"audit":#"dns": { "upstream": "10.90.0.53:53", "ttl_min": 1, "ttl_max": 60 }, "exempt_cgroups": ["/sys/fs/cgroup/dns-upstream"], "audit":#' \
	$cfg >/tmp/dns.json
allow_pack allow-dns OP-DNS '"*.allowed.test"'
zone_addrs="10.90.0.53 10.91.0.1 10.91.0.2 10.91.0.3 10.91.0.5 10.91.0.6 10.91.0.8 10.91.0.9"
ip link add gg-dns0 type dummy && ip link set gg-dns0 up
for a in $zone_addrs; do ip addr add $a/32 dev gg-dns0; done
# (busybox ip has no nodad: duplicate address detection is switched off
# on the interface, and the address waited for in case it is tentative.)
echo 0 >/proc/sys/net/ipv6/conf/gg-dns0/accept_dad
ip addr add fd91::1/128 dev gg-dns0
v6_settled() { ! ip -6 addr show dev gg-dns0 | grep -q tentative; }
wait_for 10 v6_settled
check dns-zone-on-dummy sh -c 'ip addr show dev gg-dns0 | grep -q "inet 10.91.0.1/32"'
sh -c 'echo $$ >/sys/fs/cgroup/dns-upstream/cgroup.procs && exec gg-dns serve 10.90.0.53 53' >/dev/null 2>&1 &
dns_server=$!
stop
check dns-start run_daemon govgate run --config /tmp/dns.json --unlocked
check dns-forwarder-runs grep -q "dns: forwarding to 10.90.0.53:53" /tmp/daemon.err
check dns-apply govgate apply --config /tmp/dns.json /tmp/allow-dns.json
q() { gg-dns query 10.91.0.53 53 "$@"; }
check dns-allowed-resolves is "$(q api.allowed.test A)" 10.91.0.1
check dns-allowed-connects is "$(gg-net pair 10.91.0.1 5501)" ok
check dns-denied-refused is "$(q secret.attacker.test A)" REFUSED
check dns-denied-audited audit_has '"event":"dns_denied"' '"name":"secret.attacker.test"' '"action":"deny"' '"controls":["OP-DNS"]'
check dns-unresolved-eperm is "$(gg-net pair 10.91.0.9 5502)" EPERM
check dns-unresolved-audited audit_has '"event":"egress_blocked"' '"daddr":"10.91.0.9"' '"dport":5502' '"not_allowlisted":true' '"controls":["OP-DNS"]'
check dns-wildcard-not-apex is "$(q allowed.test A)" REFUSED
check dns-cname-target-resolves is "$(q www.allowed.test A)" 10.91.0.2
check dns-cname-target-connects is "$(gg-net pair 10.91.0.2 5503)" ok
check dns-aaaa-resolves is "$(q v6.allowed.test AAAA)" fd91::1
check dns-aaaa-connects is "$(gg-net pair fd91::1 5504)" ok
check dns-tcp-resolves is "$(q api.allowed.test A tcp)" 10.91.0.1
# the upstream's UDP answers for tc*.allowed.test are truncated: the
# forwarder asks it again over TCP (the daemon's own egress:
# settings.self_egress) and learns; a TCP client's query goes over TCP
check dns-truncated-learned-over-tcp is "$(q tc.allowed.test A)/$(gg-net pair 10.91.0.6 5509)" 10.91.0.6/ok
check dns-tcp-upstream-learned is "$(q tc2.allowed.test A tcp)/$(gg-net pair 10.91.0.8 5510)" 10.91.0.8/ok
check dns-v6-resolver is "$(gg-dns query fd91::53 53 api.allowed.test A)" 10.91.0.1
check dns-upstream-direct-refused is "$(gg-dns query 10.90.0.53 53 secret.attacker.test A)" REFUSED
check dns-malformed-servfail is "$(q loop.allowed.test A)" SERVFAIL
check dns-malformed-unlearned is "$(gg-net pair 10.91.0.5 5505)" EPERM
check dns-malformed-alive kill -0 $daemon
check dns-short-resolves is "$(q short.allowed.test A)" 10.91.0.3
dns_expired() { [ "$(gg-net pair 10.91.0.3 5506)" = EPERM ]; }
check dns-short-expires wait_for 30 dns_expired
# egress_learned is pinned: a restart keeps what was learned until it
# expires, no query needed (the lists are the same).
stop
check dns-down-learned-connects is "$(gg-net pair 10.91.0.1 5507)" ok
check dns-restart run_daemon govgate run --config /tmp/dns.json --unlocked
check dns-restart-learned-connects is "$(gg-net pair 10.91.0.1 5508)" ok
check dns-restart-resolves is "$(q api.allowed.test A)" 10.91.0.1
kill $dns_server
ip link del gg-dns0

# ---- the whole agent in observe mode: the same denied exec runs, logged
stop
govgate stop --unload --config $cfg
rm -f /tmp/state/applied.json
check observe-start start --scope global --mode observe
gg-exec /tmp/nc /tmp/p-observe >/dev/null
check observe-exec-runs [ -e /tmp/p-observe ]
check observe-logged audit_has '"event":"command_denied"' '"action":"observe"' 'FLOOR-EXEC-LOTL'
# Egress too: not EPERM (no route in the VM: ENETUNREACH), logged as observe.
out=$(gg-net connect 169.254.169.254 81)
check observe-egress-not-eperm sh -c "[ -n \"$out\" ] && [ \"$out\" != EPERM ]"
check observe-egress-logged audit_has '"event":"egress_blocked"' '"action":"observe"' '"dport":81' 'FLOOR-NET-IMDS'
check counter-exec-observed [ "$(counter cmd.exec 5)" -ge 1 ]
# FLOOR-NET-RAW observed: the packet socket is made, the frame arrives,
# the record says what would have been denied.
check observe-packet-arrives is "$(way packet 169.254.169.254 5367 lo)" "ok arrived"
check observe-packet-logged audit_has '"event":"egress_blocked"' '"action":"observe"' '"hook":"socket"' '"socket_kind":"packet"' 'FLOOR-NET-RAW'
# TIOCSTI observed (the guards that hold unlocked too refuse nothing here)
mkdir -p /tmp/tty-obs
gg-tamper ttyreader /tmp/tty-obs >/dev/null 2>&1 &
wait_for 10 [ -s /tmp/tty-obs/ready ]
check observe-tiocsti-ok is "$(gg-tamper tiocsti "$(cat /tmp/tty-obs/ready)" ggwire:typedobs)" ok
check observe-tiocsti-typed wait_for 5 grep -qx ggwire:typedobs /tmp/tty-obs/got
check observe-tiocsti-logged audit_has '"event":"tamper_blocked"' '"action":"observe"' '"tamper":"tty_inject"' '"locked":false'
touch /tmp/tty-obs/stop
stop
govgate stop --unload --config $cfg

# ---- exempt cgroups (global scope): a platform service may reach MMDS
mkdir -p /sys/fs/cgroup/mmds
check exempt-start start --scope global --exempt-cgroup /sys/fs/cgroup/mmds
in_exempt() { sh -c 'echo $$ >/sys/fs/cgroup/mmds/cgroup.procs && exec "$@"' _ "$@"; }
out=$(in_exempt gg-net connect 169.254.169.254 80)
echo "exempt cgroup connect: $out"
check exempt-cgroup-not-gated sh -c "[ -n \"$out\" ] && [ \"$out\" != EPERM ]"
in_exempt gg-exec /tmp/nc /tmp/p-exempt >/dev/null
check exempt-cgroup-exec-runs [ -e /tmp/p-exempt ]
out=$(gg-net connect 169.254.169.254 80)
echo "root cgroup connect: $out ($(cat /proc/self/cgroup))"
check others-still-gated is "$out" EPERM
# A packet socket made in the exempt cgroup, used after moving into the
# scope: socket_sendmsg refuses the send.
check exempt-packet-socket-ok is "$(in_exempt gg-net socket packet)" ok
out=$(in_exempt env GG_NET_MOVE_TO=/sys/fs/cgroup/cgroup.procs unshare -n sh -c 'ip link set lo up &&
	ip addr add 169.254.169.254/32 dev lo && gg-net packet 169.254.169.254 5368 lo')
check moved-packet-send-denied is "$out" "EPERM none"
check moved-packet-audited audit_has '"event":"egress_blocked"' '"hook":"sendmsg"' '"socket_kind":"packet"' 'FLOOR-NET-RAW'
# FLOOR-NET-FAMILY: no AF_VSOCK socket (the microVM's host is CID 2); the
# exempt cgroup's own listener sees no byte, and its own sender gets through
check vsock-denied is "$(vsock_try "" 5101)" "EPERM none"
check vsock-audited audit_has '"event":"egress_blocked"' '"hook":"socket"' '"socket_kind":"other"' '"family_number":40' 'FLOOR-NET-FAMILY'
check vsock-exempt-arrives is "$(vsock_try in_exempt 5102)" "ok arrived"
# Borrowing a task of an exempt cgroup (ATTACKER.md: what is exempt can be
# borrowed). The sentinel, exempt, in the wire's namespace, holds a UDP
# socket connected to the metadata address and sends what is written into
# its buffer, as code put into it would. Another exempt task pokes it and
# sends on its socket (the ways work); a governed task neither reaches into
# it (ptrace, process_vm_writev, /proc/PID/mem, pidfd_getfd:
# lsm/ptrace_access_check, locked or not) nor sends on its socket passed
# over SCM_RIGHTS (lsm/socket_sendmsg decides the peer of a connected
# socket made outside the scope).
sdir=/tmp/sentinel
mkdir -p $sdir
in_exempt nsenter -t $wire -n gg-net sentinel 169.254.169.254 9 $sdir ggwire:sentfirst >/dev/null 2>&1 &
wait_for 10 [ -s $sdir/ready ]
read -r spid sfd saddr <$sdir/ready
check borrow-sentinel-arrives on_wire sentfirst
check borrow-exempt-poke-ok is "$(in_exempt gg-tamper vmpoke $spid $saddr ggwire:pokeexempt)" ok
check borrow-exempt-poke-arrives on_wire pokeexempt
check borrow-exempt-passed-ok is "$(in_exempt gg-tamper recvfd-send $sdir/fd.sock ggwire:passexempt)" ok
check borrow-exempt-passed-arrives on_wire passexempt
check borrow-ptrace-eperm is "$(gg-tamper ptrace $spid)" EPERM
check borrow-vmpoke-eperm is "$(gg-tamper vmpoke $spid $saddr ggwire:pokegov)" EPERM
check borrow-mem-eacces is "$(gg-tamper mem $spid)" EACCES
check borrow-getfd-eperm is "$(gg-tamper getfd-send $spid $sfd ggwire:getfdgov)" EPERM
check borrow-passed-eperm is "$(gg-tamper recvfd-send $sdir/fd.sock ggwire:passgov)" EPERM
# pages onto it: 6.1's sendfile and splice send through the protocol's
# sendpage, past socket_sendmsg (decided at the write check there)
check borrow-exempt-splice-ok is "$(in_exempt gg-tamper recvfd-pages $sdir/fd.sock ggwire:spliceexempt splice)" ok
check borrow-exempt-splice-arrives on_wire spliceexempt
check borrow-splice-eperm is "$(gg-tamper recvfd-pages $sdir/fd.sock ggwire:splicegov splice)" EPERM
check borrow-sendfile-eperm is "$(gg-tamper recvfd-pages $sdir/fd.sock ggwire:sendfilegov sendfile)" EPERM
sleep 1
check borrow-governed-none sh -c '! grep -qxE "pokegov|getfdgov|passgov|splicegov|sendfilegov" /tmp/wire.log'
check borrow-audited audit_has '"event":"tamper_blocked"' 'FLOOR-TAMPER-CGROUP' '"tamper":"borrow_task"' '"comm":"gg-tamper"'
check borrow-passed-audited audit_has '"event":"egress_blocked"' '"hook":"sendmsg"' '"daddr":"169.254.169.254"' '"dport":9' '"comm":"gg-tamper"'
touch $sdir/stop
# A TCP socket sends to its peer whatever name a send gives: the peer of a
# stream socket made outside the scope is decided on every send. The
# sentinel's receiver is on 169.254.169.254 in a namespace of its own.
tdir=/tmp/sentinel-tcp
mkdir -p $tdir
in_exempt unshare -n sh -c 'ip link set lo up && ip addr add 169.254.169.254/32 dev lo &&
	exec gg-net sentinel-tcp 169.254.169.254 5371 '$tdir' ggwire:tcpfirst' >/dev/null 2>&1 &
wait_for 10 [ -s $tdir/ready ]
got() { wait_for "${2:-5}" grep -qx "ggwire:$1" $tdir/got; }
check borrow-tcp-sentinel-arrives got tcpfirst
check borrow-tcp-exempt-named-ok is "$(in_exempt gg-tamper recvfd-send $tdir/fd.sock ggwire:tcpexempt 127.0.0.1 9)" ok
check borrow-tcp-exempt-named-arrives got tcpexempt
check borrow-tcp-named-eperm is "$(gg-tamper recvfd-send $tdir/fd.sock ggwire:tcpnamed 127.0.0.1 9)" EPERM
check borrow-tcp-plain-eperm is "$(gg-tamper recvfd-send $tdir/fd.sock ggwire:tcpplain)" EPERM
check borrow-tcp-exempt-sendfile-ok is "$(in_exempt gg-tamper recvfd-pages $tdir/fd.sock ggwire:tcpfileexempt sendfile)" ok
check borrow-tcp-exempt-sendfile-arrives got tcpfileexempt
check borrow-tcp-sendfile-eperm is "$(gg-tamper recvfd-pages $tdir/fd.sock ggwire:tcpfile sendfile)" EPERM
check borrow-tcp-splice-eperm is "$(gg-tamper recvfd-pages $tdir/fd.sock ggwire:tcpsplice splice)" EPERM
sleep 1
check borrow-tcp-governed-none sh -c "! grep -qE 'tcpnamed|tcpplain|tcpfile\$|tcpsplice' $tdir/got"
# on 6.1 the write check refused it, where pages pass no socket hook (on
# 6.12 socket_sendmsg did, as for tcpplain above)
case $(uname -r) in
6.1.*) check borrow-pages-audited audit_has '"event":"egress_blocked"' '"hook":"write"' '"daddr":"169.254.169.254"' '"dport":5371' '"comm":"gg-tamper"' ;;
esac
touch $tdir/stop
# A source route set on such a socket makes its first hop the header's
# destination, whatever the peer: fail closed. The sentinel's peer
# (198.51.100.7, on no rule) is routed onto the wire.
nsenter -t $wire -n /lib/test/ip route add 198.51.100.0/24 dev ggw0
nsenter -t $wire -n /lib/test/ip neigh add 198.51.100.7 lladdr 02:00:00:00:00:02 dev ggw0 nud permanent
rdir=/tmp/sentinel-srr
mkdir -p $rdir
in_exempt nsenter -t $wire -n gg-net sentinel 198.51.100.7 9 $rdir ggwire:srrfirst >/dev/null 2>&1 &
wait_for 10 [ -s $rdir/ready ]
check borrow-srr-sentinel-arrives on_wire srrfirst
# a datagram socket made outside the scope sends only to its peer: a name
# (allowed here) could repeat in sendmmsg, which asks no second time;
# before any option is set on the socket (the exempt task's source route)
check borrow-named-udp-eperm is "$(gg-tamper recvfd-send $rdir/fd.sock ggwire:namedgov 198.51.100.7 9)" EPERM
check borrow-named-udp-none off_wire namedgov 2
check borrow-srr-exempt-ok is "$(in_exempt gg-tamper recvfd-lsrr $rdir/fd.sock ggwire:srrexempt 169.254.169.254)" ok
check borrow-srr-exempt-arrives on_wire srrexempt
check borrow-srr-eperm is "$(gg-tamper recvfd-lsrr $rdir/fd.sock ggwire:srrgov 169.254.169.254)" EPERM
check borrow-srr-none off_wire srrgov 2
check borrow-srr-audited audit_has '"event":"egress_blocked"' '"fail_closed":"unreadable_destination"' '"comm":"gg-tamper"'
touch $rdir/stop
# A datagram socket with no peer whose owner corked a datagram to the
# metadata address (MSG_MORE): an unnamed send, or sendfile, joins it. The
# corked part carries no tag: the wire logs a frame's first one.
kdir=/tmp/sentinel-cork
mkdir -p $kdir
in_exempt nsenter -t $wire -n gg-net sentinel-cork 169.254.169.254 9 $kdir "corked " >/dev/null 2>&1 &
wait_for 10 [ -s $kdir/ready ]
check borrow-cork-eperm is "$(gg-tamper recvfd-send $kdir/fd.sock ggwire:corkgov)" EPERM
check borrow-cork-sendfile-eperm is "$(gg-tamper recvfd-pages $kdir/fd.sock ggwire:corkpages sendfile)" EPERM
check borrow-cork-none off_wire corkgov 2
check borrow-cork-pages-none off_wire corkpages 1
check borrow-cork-exempt-ok is "$(in_exempt gg-tamper recvfd-send $kdir/fd.sock ggwire:corkexempt)" ok
check borrow-cork-exempt-arrives on_wire corkexempt
touch $kdir/stop
# the same socket connected to an allowed peer first: the corked datagram
# still goes to the metadata address, whatever the peer
qdir=/tmp/sentinel-corkpeer
mkdir -p $qdir
in_exempt env GG_NET_CORK_PEER=1 nsenter -t $wire -n gg-net sentinel-cork 169.254.169.254 9 $qdir "corked " >/dev/null 2>&1 &
wait_for 10 [ -s $qdir/ready ]
check borrow-corkpeer-eperm is "$(gg-tamper recvfd-send $qdir/fd.sock ggwire:corkpeergov)" EPERM
check borrow-corkpeer-none off_wire corkpeergov 2
check borrow-corkpeer-exempt-ok is "$(in_exempt gg-tamper recvfd-send $qdir/fd.sock ggwire:corkpeerexempt)" ok
check borrow-corkpeer-exempt-arrives on_wire corkpeerexempt
touch $qdir/stop
# TIOCSTI: input pushed into an exempt task's terminal, which its reader
# takes as typed
ydir=/tmp/tty-exempt
mkdir -p $ydir
in_exempt gg-tamper ttyreader $ydir >/dev/null 2>&1 &
wait_for 10 [ -s $ydir/ready ]
tty=$(cat $ydir/ready)
check borrow-tiocsti-exempt-ok is "$(in_exempt gg-tamper tiocsti $tty ggwire:typedexempt)" ok
check borrow-tiocsti-exempt-typed wait_for 5 grep -qx ggwire:typedexempt $ydir/got
check borrow-tiocsti-eperm is "$(gg-tamper tiocsti $tty ggwire:typedgov)" EPERM
sleep 1
check borrow-tiocsti-untyped sh -c "! grep -q typedgov $ydir/got"
check borrow-tiocsti-audited audit_has '"event":"tamper_blocked"' 'FLOOR-TAMPER-CGROUP' '"tamper":"tty_inject"' '"locked":false'
# TIOCLINUX (a console's selection pasted into its input): refused before
# the driver, which answers a pty's with ENOTTY
check borrow-tioclinux-exempt-past is "$(in_exempt gg-tamper tioclinux $tty)" ENOTTY
check borrow-tioclinux-eperm is "$(gg-tamper tioclinux $tty)" EPERM
# a line discipline set (TIOCSETD, here the one it has), and the modem
# lines (TIOCMBIS: TIOCM_LOOP loops a serial console's output back as its
# login's input; a pty's driver answers ENOTTY), on a line whose session
# an exempt task leads; on a pty of its own a governed task keeps both.
# The exempt task's TIOCSETD last: a line discipline set hangs the line
# up, and the session lets go of it.
check borrow-tiocm-eperm is "$(gg-tamper tiocm $tty)" EPERM
check borrow-tiocsetd-eperm is "$(gg-tamper tiocsetd $tty)" EPERM
check borrow-tiocm-own-past is "$(gg-tamper tiocm /dev/ptmx)" ENOTTY
check borrow-tiocsetd-own-ok is "$(gg-tamper tiocsetd /dev/ptmx)" ok
check borrow-tiocm-audited audit_has '"event":"tamper_blocked"' '"tamper":"tty_inject"' '"ioctl":21526'
check borrow-tiocm-exempt-past is "$(in_exempt gg-tamper tiocm $tty)" ENOTTY
check borrow-tiocsetd-exempt-ok is "$(in_exempt gg-tamper tiocsetd $tty)" ok
touch $ydir/stop
# Keys written into an evdev node go to every handler of its device, the
# virtual console's keyboard among them (a login, a root shell on tty1);
# uhid makes a keyboard. A governed task makes no input device, locked or
# not; an existing device's node it opens only in global scope, where the
# system's services are governed too (systemd-logind's power button): the
# cgroup scope's checks are below (input-type-eperm).
edev=$(ls /dev/input/event* | head -n1)
check input-global-evdev-ok is "$(gg-tamper devopen $edev)" ok
# the console keyboard's tables likewise (setupcon loads the keymap at boot)
check keymap-global-ok is "$(gg-tamper kbsent /dev/tty1 ggkb:global)" ok
check input-uhid-exempt-ok is "$(in_exempt gg-tamper devopen /dev/uhid)" ok
check input-uhid-eperm is "$(gg-tamper devopen /dev/uhid)" EPERM
check input-audited audit_has '"event":"tamper_blocked"' 'FLOOR-TAMPER-CGROUP' '"tamper":"input_device"' '"target":"uhid"' '"locked":false' '"comm":"gg-tamper"'
# A pipe an exempt task reads (a shell's commands), reopened through
# /proc/PID/fd/N: a governed task's line must not reach it; another exempt
# task's does, and a governed task's own links (/dev/stdout's) still work
pdir=/tmp/pipe-exempt
mkdir -p $pdir
in_exempt gg-tamper pipereader $pdir >/dev/null 2>&1 &
wait_for 10 [ -s $pdir/ready ]
read -r ppid pfd <$pdir/ready
check proclink-exempt-ok is "$(in_exempt gg-tamper procwrite $ppid $pfd ggwire:pipeexempt)" ok
check proclink-exempt-arrives wait_for 5 grep -qx ggwire:pipeexempt $pdir/got
check proclink-eperm is "$(gg-tamper procwrite $ppid $pfd ggwire:pipegov)" EPERM
check proclink-exempt-cwd-ok in_exempt ls /proc/$ppid/cwd/
check proclink-cwd-eperm is "$(ls /proc/$ppid/cwd/ 2>&1 >/dev/null | grep -c 'Operation not permitted')" 1
check proclink-readlink-ok is "$(readlink /proc/$ppid/fd/$pfd | cut -d: -f1)" pipe
check proclink-own-ok is "$(sh -c 'echo own >/proc/self/fd/1' | cat)" own
sleep 1
check proclink-none sh -c "! grep -q pipegov $pdir/got"
check proclink-audited audit_has '"event":"tamper_blocked"' 'FLOOR-TAMPER-CGROUP' '"tamper":"proc_link"' "\"target_pid\":$ppid" '"locked":false'
# its namespaces through its pidfd: setns (a read check on the real
# credentials) and, from 6.11, PIDFD_GET_*_NAMESPACE
check pidfd-setns-exempt-ok is "$(in_exempt gg-tamper setns-pidfd $ppid)" ok
check pidfd-setns-eperm is "$(gg-tamper setns-pidfd $ppid)" EPERM
check pidfd-setns-audited audit_has '"event":"tamper_blocked"' '"tamper":"borrow_task"' '"ptrace_mode":17' '"target":"gg-tamper"'
case $(uname -r) in
6.1.*) check pidfd-ns-absent is "$(in_exempt gg-tamper pidfd-ns $ppid)" ENOTTY ;;
*)
	check pidfd-ns-exempt-ok is "$(in_exempt gg-tamper pidfd-ns $ppid)" ok
	check pidfd-ns-eperm is "$(gg-tamper pidfd-ns $ppid)" EPERM
	check pidfd-ns-audited audit_has '"event":"tamper_blocked"' '"tamper":"pidfd_namespace"' '"ioctl":65284'
	;;
esac
touch $pdir/stop
stop
govgate stop --unload --config $cfg

# ---- cgroup scope: an existing input device's node (the emulated PS/2
# keyboard's evdev node) is refused to the scope's tasks, for reading (the
# keys an operator types) and writing (keys typed into the console); the
# tasks outside the scope, ungoverned, type and read
mkdir -p /sys/fs/cgroup/ggagent
in_agent() { sh -c 'echo $$ >/sys/fs/cgroup/ggagent/cgroup.procs && exec "$@"' _ "$@"; }
check cgscope-start start --scope cgroup:/sys/fs/cgroup/ggagent
edir=/tmp/evdev
mkdir -p $edir
gg-tamper evread $edev $edir >/dev/null 2>&1 &
wait_for 10 [ -e $edir/ready ]
check input-outside-type-ok is "$(gg-tamper evtype $edev)" ok
check input-outside-typed wait_for 5 grep -qx "key 30" $edir/got
check input-type-eperm is "$(in_agent gg-tamper evtype $edev)" EPERM
check input-read-eperm is "$(in_agent gg-tamper devopen $edev)" EPERM
sleep 1
check input-typed-once is "$(grep -cx 'key 30' $edir/got)" 1
check input-evdev-audited audit_has '"event":"tamper_blocked"' '"tamper":"input_device"' "\"target\":\"${edev##*/}\""
touch $edir/stop
# the console keyboard's tables, one set for every console: a key rebound
# to a string that the operator's next press types into the operator's
# shell (KDSKBSENT; function string 100, which no key sends)
check keymap-outside-ok is "$(gg-tamper kbsent /dev/tty1 ggkb:outside)" ok
check keymap-eperm is "$(in_agent gg-tamper kbsent /dev/tty1 ggkb:agent)" EPERM
check keymap-tty0-eperm is "$(in_agent gg-tamper kbsent /dev/tty0 ggkb:agent0)" EPERM
check keymap-unchanged is "$(gg-tamper kbgsent /dev/tty1)" ggkb:outside
check keymap-audited audit_has '"event":"tamper_blocked"' '"tamper":"tty_inject"' '"ioctl":19273' '"target":"tty1"'
# the foreground console switched to one the workload draws a login on
check vt-outside-ok is "$(gg-tamper vtactivate /dev/tty1 2)" ok
check vt-outside-switched wait_for 5 grep -qx tty2 /sys/class/tty/tty0/active
gg-tamper vtactivate /dev/tty1 1 >/dev/null
wait_for 5 grep -qx tty1 /sys/class/tty/tty0/active
check vt-eperm is "$(in_agent gg-tamper vtactivate /dev/tty1 3)" EPERM
sleep 1
check vt-unswitched grep -qx tty1 /sys/class/tty/tty0/active
check vt-audited audit_has '"event":"tamper_blocked"' '"tamper":"tty_inject"' '"ioctl":22022'
stop
govgate stop --unload --config $cfg

# ---- evidence: a fresh log, known denials, the report counts exactly them
log=/tmp/evidence.jsonl
sed "s#/tmp/audit.jsonl#$log#" $cfg >/tmp/evidence.json
cfg=/tmp/evidence.json
rm -f /tmp/state/applied.json
check evidence-start start --scope global
for i in 1 2 3; do gg-exec /tmp/nc >/dev/null; done
gg-net connect 169.254.169.254 80 >/dev/null
gg-net sendto 169.254.169.254 53 >/dev/null
gg-modload /lib/test/test.ko >/dev/null
# Wait for the daemon to drain all seven denials (software emulation is slow).
denials() { grep -cE '"event":"(command_denied|egress_blocked|module_blocked)"' $log; }
seven_denials() { [ "$(denials)" -ge 7 ]; }
wait_for 20 seven_denials
check evidence-all-recorded is "$(denials)" 7
compact() { tr -d ' \n'; }
rep=$(govgate report --json --config $cfg $log | compact)
echo "$rep" | head -c 600; echo
has() { case "$rep" in *"$1"*) return 0 ;; esac; return 1; }
check report-exec-count has '{"category":"command","gate":"cmd.exec","event":"command_denied","count":3}'
check report-egress-count has '{"category":"network","gate":"net.egress","event":"egress_blocked","count":2}'
check report-module-count has '{"category":"module","gate":"kernel.module","event":"module_blocked","count":2}'
check report-control-count has '{"control":"FLOOR-EXEC-LOTL","count":3}'
check report-verified has '"verified":true'

# Storm: a tight loop of denied connects. Every attempt is either recorded
# or counted as lost: attempted = recorded + lost.
storm_lost() { # events_lost counts for net.egress, optionally matching $1
	grep '"event":"events_lost"' $log | grep '"gate":"net.egress"' | grep -- "${1:-}" |
		sed 's/.*"count":\([0-9]*\).*/\1/' | awk '{s+=$1} END {print s+0}'
}
storm_accounted() { wait_for 120 storm_counted "$@"; } # PORT N: waits until recorded + lost = N
storm_counted() { [ $(($(grep -c "\"dport\":$1" $log) + $(storm_lost))) -ge $2 ]; }
storm=20000
# (Losses counted before it are not the storm's: a restart after kill -9
# above may count the last second's records again, docs/audit.md.)
lost0=$(storm_lost)
denied=$(gg-net storm 169.254.169.254 4444 $storm)
storm_accounted 4444 $((storm + lost0))
recorded=$(grep -c '"dport":4444' $log)
lost=$(($(storm_lost) - lost0))
echo "storm: attempted $storm, denied $denied, recorded $recorded, lost $lost"
check storm-all-denied is "$denied" "$storm"
check storm-accounted is "$((recorded + lost))" "$storm"

# The same storm while no daemon drains (the pinned gates keep enforcing):
# the ring buffer (4 MiB) cannot hold 20,000 events, so events are lost,
# and the next start accounts for exactly those (while: daemon_down).
stop
lost_before=$(storm_lost)
denied=$(gg-net storm 169.254.169.254 4445 $storm)
check storm-down-start start --scope global
storm_accounted 4445 $((storm + lost_before))
recorded=$(grep -c '"dport":4445' $log)
lost_down=$(storm_lost '"while":"daemon_down"')
echo "storm while stopped: attempted $storm, denied $denied, recorded $recorded, lost $lost_down"
check storm-down-all-denied is "$denied" "$storm"
check storm-down-lost-some [ "$lost_down" -gt 0 ]
check storm-down-accounted is "$((recorded + lost_down))" "$storm"
stop
check audit-verify-intact govgate audit verify --key /tmp/audit-key.pem.pub $log
sed -i 's/"comm":"gg-net"/"comm":"gg-nxt"/' $log
check audit-verify-detects-tamper sh -c "! govgate audit verify --key /tmp/audit-key.pem.pub $log >/dev/null 2>&1"
govgate stop --unload --config $cfg

# ---- locked mode (issue 13). Each attack first against an unlocked daemon,
# where it works (so each check below can fail), then locked: refused,
# recorded with its FLOOR-TAMPER-* control, and enforcement holds after.
pin=/sys/fs/bpf/govgate
mkdir -p /sys/fs/cgroup/ggd /sys/fs/cgroup/ggexempt
check unlocked-start start_shimmed --scope global --exempt-cgroup /sys/fs/cgroup/ggexempt
# The daemon is exempt from nothing it does not need (issue 13): taken
# over, it loads no module and reaches only loopback and what it needs
# (settings.self_egress: the DNS forwarder's upstream, over UDP). Without the gates the
# connects fail ENETUNREACH (no NIC) and the module loads.
check daemon-modload-eperm is "$(shim modload /lib/test/test.ko)" EPERM
check daemon-connect-eperm is "$(shim connect 192.0.2.1 443)" EPERM
check daemon-udp-eperm is "$(shim udp 192.0.2.1 53)" EPERM
check daemon-connect6-eperm is "$(shim connect 2001:db8::1 443)" EPERM
check daemon-loopback-ok is "$(shim connect 127.0.0.1 9)" ECONNREFUSED
check daemon-egress-audited audit_has '"event":"egress_blocked"' '"daemon_egress":true' 'FLOOR-TAMPER-DAEMON' '"daddr":"192.0.2.1"' '"dport":443'
check daemon-modload-audited audit_has '"event":"module_blocked"' 'FLOOR-KMOD' '"comm":"govgate"'
check unlocked-log-says-no grep -q "locked: no (--unlocked)" /tmp/daemon.err
check unlocked-status-says-no sh -c "govgate status --config $cfg | grep -qx 'locked: *no'"
check unlocked-mapw-ok is "$(gg-tamper mapw $pin/settings)" ok
check unlocked-switch-off-ok is "$(gg-tamper enabled $pin/settings 0)" ok
gg-exec /tmp/nc /tmp/p-unlocked-off >/dev/null
check unlocked-switched-off-exec-runs [ -e /tmp/p-unlocked-off ]
gg-tamper enabled $pin/settings 1 >/dev/null
check unlocked-switched-on-again is "$(gg-exec /tmp/nc)" EPERM
check unlocked-progload-ok is "$(gg-tamper progload)" ok
# the map writes and the test run that locked mode refuses work unlocked
check unlocked-mapop-update-ok is "$(gg-tamper mapop update $pin/settings)" ok
check unlocked-mapop-batch-ok is "$(gg-tamper mapop batch $pin/settings)" ok
check unlocked-testrun-ok is "$(gg-tamper testrun $pin/prog-gg_egress_packet_lsm)" ok
check unlocked-ptrace-ok is "$(gg-tamper ptrace $daemon)" ok
check unlocked-vmwrite-past-check is "$(gg-tamper vmwrite $daemon)" EFAULT
check unlocked-getfd-ok is "$(gg-tamper getfd $daemon)" ok
check unlocked-signal-ok is "$(gg-tamper kill $daemon 18)" ok
check unlocked-cgmove-ok is "$(gg-tamper cgmove /sys/fs/cgroup/ggexempt)" ok
check unlocked-clone-into-ok is "$(gg-tamper clone-into /sys/fs/cgroup/ggexempt)" ok
# the generic egress rules' array in force is frozen: root writes it
# neither by command nor by mapping, locked or not; a map of one's own
# can be mapped writable while unlocked
check unlocked-range-array-frozen is "$(gg-tamper mapbyid gg_range_v4 rw)" EPERM
check unlocked-mmapnew-ok is "$(gg-tamper mmapnew)" ok
# (rm of the link pins and umount of bpffs work unlocked: see above.)
# 6. the ring buffer's consumer position moved past three denials while
# the daemon is stopped: they leave no record, and the reconciliation with
# the kernel's counters counts exactly those three lost (user/lost.h).
kill -STOP $daemon
for i in 1 2 3; do gg-exec /tmp/nc /tmp/p-skip-$i >/dev/null; done
skip=$(gg-tamper ringskip $pin/events)
kill -CONT $daemon
check unlocked-ringskip-ok sh -c "echo '$skip' | grep -q '^ok [1-9]'"
check unlocked-skip-counted-lost audit_has '"event":"events_lost"' '"gate":"cmd.exec"' '"reason":"unreceived"' '"count":3,'
check unlocked-skip-not-recorded sh -c "! grep -q p-skip- $log"
skip_status() { govgate status --config $cfg | grep -q '^unreceived: .*cmd.exec 3'; }
check unlocked-skip-status wait_for 5 skip_status
# 7. unlocked, root reads the signing key
check unlocked-key-readable sh -c "cat /tmp/audit-key.pem | grep -q 'PRIVATE KEY'"
check unlocked-key-map-by-id-ok is "$(gg-tamper mapbyid audit_key)" ok
# an unpinned map (the digest cache), reached by id, is writable unlocked
check unlocked-unpinned-map-rw-ok is "$(gg-tamper mapbyid exec_hash rw)" ok
check unlocked-evidence-limits-said sh -c "govgate status --config $cfg | grep -q '^evidence: *unlocked: root can read the signing key'"
# The disk beneath the guarded files: root writes it unlocked, through a
# write-only fd or NVMe passthrough on a READ-ONLY fd (the marker lands),
# and the test clears it again. A mount for the umount check below.
check unlocked-disk-present [ -b /dev/nvme0n1 ]
check unlocked-nvmewrite-ok is "$(gg-tamper nvmewrite /dev/nvme0n1)" ok
check unlocked-nvmewrite-landed is "$(gg-tamper blkhas /dev/nvme0n1)" yes
check unlocked-blkclear-ok is "$(gg-tamper blkclear /dev/nvme0n1)" ok
check unlocked-blkwrite-ok is "$(gg-tamper blkwrite /dev/nvme0n1)" ok
check unlocked-blkwrite-landed is "$(gg-tamper blkhas /dev/nvme0n1)" yes
gg-tamper blkclear /dev/nvme0n1 >/dev/null
# the same through io_uring's passthrough (/dev/ng0n1, uring_cmd), and from
# a 32-bit task (its ioctl is compat_sys_ioctl's: file_ioctl_compat)
check unlocked-uringwrite-ok is "$(gg-tamper uringwrite /dev/nvme0n1)" ok
check unlocked-uringwrite-landed is "$(gg-tamper blkhas /dev/nvme0n1)" yes
gg-tamper blkclear /dev/nvme0n1 >/dev/null
check unlocked-nvme32-ok is "$(gg-nvme32 /dev/nvme0n1)" ok
check unlocked-nvme32-landed is "$(gg-tamper blkhas /dev/nvme0n1)" yes
gg-tamper blkclear /dev/nvme0n1 >/dev/null
# kernel memory past the hooks: /proc/kcore (the key map in it), I/O ports
check unlocked-kcore-ok is "$(gg-tamper kcore)" ok
check unlocked-iopl-ok is "$(gg-tamper iopl)" ok
# network configuration: a tc filter past the packet check reaches the
# metadata address the floor denies; a veth's peer put in pid 1's
# namespace from a user namespace; a route (rtnetlink, and busybox's
# SIOCADDRT ioctl)
check unlocked-tc-rewrite-arrives is "$(tc_rewrite 5372)" "ok ok arrived"
check unlocked-veth-peer-made is "$(veth_peer gvu)" made
check unlocked-route-ok ip route add 198.51.100.0/24 dev lo
check unlocked-route-ioctl-ok route add -net 192.0.2.0 netmask 255.255.255.0 dev lo
ip route del 198.51.100.0/24 dev lo
ip route del 192.0.2.0/24 dev lo
# a tun device made before, attached to; a netconsole target made; one
# made ready (ncpre, not enabled) for the locked run
check unlocked-tun-inject-arrives is "$(tun_inject tununl)" "ok arrived"
check unlocked-netconsole-arrives is "$(netconsole ncunl)" "ok arrived"
check unlocked-netconsole-ready sh -c 'mkdir /sys/kernel/config/netconsole/ncpre &&
	echo ggw0 >/sys/kernel/config/netconsole/ncpre/dev_name &&
	echo 169.254.169.254 >/sys/kernel/config/netconsole/ncpre/remote_ip'
# a task's exe_file set to govgate's binary: the kernel's own check (this
# program still mapped) is what stops it unlocked
check unlocked-setexe-ebusy is "$(gg-tamper setexe "$(command -v govgate)")" EBUSY
check unlocked-fsmount-ok is "$(gg-tamper fsmount)" ok
mkdir -p /tmp/gg-mnt && mount -t tmpfs none /tmp/gg-mnt && : >/tmp/gg-mnt/marker
stop
govgate stop --unload --config $cfg

# The locked run signs with a per-boot key (audit.signing_key, issue 13.7)
# in a log of its own; the key file of the runs above stays, guarded, as
# the key that announces it.
cfg=/tmp/locked.json
log=/tmp/locked.jsonl
sed 's#"checkpoint_every": 16#"checkpoint_every": 16, "signing_key": "per-boot"#; s#/tmp/audit.jsonl#/tmp/locked.jsonl#' \
	/tmp/govgate.json >$cfg
# Operator and (untrusted) agent keys; a stand-in for init: a shell in the
# daemon's cgroup (exempt, as govgate.service is) that runs what is
# written to its fifo, for restarts while locked.
mkdir -p /etc/govgate/trusted-keys
govgate pack keygen --private /tmp/op.key --public /etc/govgate/trusted-keys/op.pub
govgate pack keygen --private /tmp/agent.key --public /tmp/agent.pub
mkfifo /tmp/ggd.fifo
sh -c 'echo $$ >/sys/fs/cgroup/ggd/cgroup.procs; while :; do read -r l </tmp/ggd.fifo && sh -c "$l"; done' >/dev/null 2>&1 &
# What init's own child would do: one command line, carried out by pid 1
# in a child it forks (scripts/vmtest.sh polls /run/gg-init.d).
init_n=0
init_run() {
	init_n=$((init_n + 1))
	echo "$*" >/run/gg-init.d/.r$init_n && mv /run/gg-init.d/.r$init_n /run/gg-init.d/r$init_n
}
# A restart as systemd makes one: a child pid 1 forks (init_run) moves itself
# into the daemon's cgroup and execs `govgate run`: the one process the
# guard takes for the daemon's successor. PRE: shell words before the exec.
relaunch() { relaunch_with "" "$@"; }
relaunch_with() {
	local pre=$1
	shift
	: >/tmp/daemon.err
	rm -f /tmp/daemon.pid
	init_run "sh -c 'echo \$PPID' >/tmp/daemon.pid; echo 0 >/sys/fs/cgroup/ggd/cgroup.procs; $pre exec govgate run $* 2>>/tmp/daemon.err"
	wait_for 10 [ -s /tmp/daemon.pid ]
	daemon=$(cat /tmp/daemon.pid)
	wait_for 60 started_or_dead
	grep -q "enforcing (generation" /tmp/daemon.err
}
# The same from the shell that stands in for a drop-in's other command
# (ExecStartPre=/bin/sh ...): its govgate is not the successor.
relaunch_from_unit_shell() {
	: >/tmp/daemon.err
	rm -f /tmp/daemon.pid
	echo "govgate run $* 2>>/tmp/daemon.err & echo \$! >/tmp/daemon.pid" >/tmp/ggd.fifo
	wait_for 10 [ -s /tmp/daemon.pid ]
	daemon=$(cat /tmp/daemon.pid)
	wait_for 60 started_or_dead
	grep -q "enforcing (generation" /tmp/daemon.err
}
check locked-start start_locked --scope global --exempt-cgroup /sys/fs/cgroup/ggexempt
locked_from=$(wc -l <$log)
cat /tmp/daemon.err
check locked-log-says-yes grep -q "locked: yes" /tmp/daemon.err
check locked-status-says-yes sh -c "govgate status --config $cfg | grep -qx 'locked: *yes'"
check locked-status-json sh -c "govgate status --json --config $cfg | grep -q '\"locked\": true'"
check locked-audit-started audit_has '"event":"agent_started"' '"locked":true'
# 1. the settings map cannot be written: a read-write fd opens (Debian
# 12's bpftool asks for one even to read), but no command writes through
# it, whichever map it names (the command is refused, not the fd)
check locked-mapw-ok is "$(gg-tamper mapw $pin/settings)" ok
check locked-events-mapw-ok is "$(gg-tamper mapw $pin/events)" ok
check locked-mapr-ok is "$(gg-tamper mapr $pin/settings)" ok
check locked-switch-off-eperm is "$(gg-tamper enabled $pin/settings 0)" EPERM
check locked-mapop-update-eperm is "$(gg-tamper mapop update $pin/settings)" EPERM
check locked-mapop-batch-eperm is "$(gg-tamper mapop batch $pin/settings)" EPERM
check locked-mapop-freeze-eperm is "$(gg-tamper mapop freeze $pin/settings)" EPERM
check locked-testrun-eperm is "$(gg-tamper testrun $pin/prog-gg_egress_packet_lsm)" EPERM
check locked-map-audited audit_has '"event":"tamper_blocked"' 'FLOOR-TAMPER-BPF' '"tamper":"bpf_command"' '"bpf_cmd":"BPF_MAP_UPDATE_ELEM"'
check locked-batch-audited audit_has '"event":"tamper_blocked"' '"bpf_cmd":"BPF_MAP_UPDATE_BATCH"'
check locked-freeze-audited audit_has '"event":"tamper_blocked"' '"bpf_cmd":"BPF_MAP_FREEZE"'
check locked-testrun-audited audit_has '"event":"tamper_blocked"' '"bpf_cmd":"BPF_PROG_TEST_RUN"'
# 4. no program of its own (a cgroup/connect4 rewriter), no link detach
check locked-progload-eperm is "$(gg-tamper progload)" EPERM
check locked-progload-audited audit_has '"event":"tamper_blocked"' '"bpf_cmd":"BPF_PROG_LOAD"' 'FLOOR-TAMPER-BPF'
check locked-linkdetach-eperm is "$(gg-tamper linkdetach $pin/link-gg_exec_check)" EPERM
# 3. the pins and bpffs
rm -f $pin/link-* 2>/dev/null
check locked-rm-links-refused sh -c "[ -e $pin/link-gg_exec_check ] && [ -e $pin/link-gg_guard_bpf ]"
mv $pin/link-gg_egress_connect $pin/moved 2>/dev/null
check locked-rename-refused [ -e $pin/link-gg_egress_connect ]
mv $pin /sys/fs/bpf/elsewhere 2>/dev/null
check locked-rename-dir-refused [ -d $pin ]
umount /sys/fs/bpf 2>/dev/null
umount -l /sys/fs/bpf 2>/dev/null
check locked-umount-refused [ -e $pin/link-gg_exec_check ]
check locked-pins-audited audit_has '"event":"tamper_blocked"' 'FLOOR-TAMPER-PINS' '"tamper":"pin_unlink"'
check locked-umount-audited audit_has '"event":"tamper_blocked"' 'FLOOR-TAMPER-PINS' '"tamper":"bpffs_umount"'
# 6. the ring buffer's consumer page cannot be mapped writable (the fd
# can be read-write; the mapping is refused), so no record can be skipped
check locked-ringskip-eperm is "$(gg-tamper ringskip $pin/events)" EPERM
check locked-ringskip-audited audit_has '"event":"tamper_blocked"' 'FLOOR-TAMPER-BPF' '"tamper":"map_mmap_write"' '"target":"events"'
# any map: a range array being filled (before its freeze) is not in
# guard_maps, so no writable mapping of a map is made by a governed task
check locked-mmapnew-eperm is "$(gg-tamper mmapnew)" EPERM
check locked-mmapnew-audited audit_has '"event":"tamper_blocked"' 'FLOOR-TAMPER-BPF' '"tamper":"map_mmap_write"' '"target":"gg_tamper_arr"'
check locked-range-array-frozen is "$(gg-tamper mapbyid gg_range_v4 rw)" EPERM
# 7. the signing key: no task but the daemon opens it, by any name, nor
# renames or unlinks it; its public half stays readable
check locked-key-cat-refused sh -c "! cat /tmp/audit-key.pem >/dev/null 2>&1"
check locked-key-audited audit_has '"event":"tamper_blocked"' 'FLOOR-TAMPER-KEY' '"tamper":"audit_key_open"' '"target":"audit-key.pem"'
ln /tmp/audit-key.pem /tmp/key-link 2>/dev/null
check locked-key-link-cat-refused sh -c "! cat /tmp/key-link >/dev/null 2>&1"
mv /tmp/audit-key.pem /tmp/key-moved 2>/dev/null
check locked-key-mv-refused [ -e /tmp/audit-key.pem ]
rm -f /tmp/audit-key.pem 2>/dev/null
check locked-key-rm-refused [ -e /tmp/audit-key.pem ]
check locked-key-move-audited audit_has '"event":"tamper_blocked"' 'FLOOR-TAMPER-KEY' '"tamper":"audit_key_move"'
check locked-key-pub-readable sh -c "cat /tmp/audit-key.pem.pub | grep -q 'PUBLIC KEY'"
# 7. the per-boot key: in no file; its public half published (stderr, the
# journal under systemd; status --json); no fd to its map for any task;
# announced in the log, signed by the key file; the log verifies with the
# published key (or the key file's), not with another
bk=$(sed -n 's/.*audit key (per-boot, seq [0-9]*, new): ed25519 \([0-9a-f]*\) .*/\1/p' /tmp/daemon.err)
check locked-boot-key-published is "${#bk}" 64
check locked-evidence-said grep -q "evidence: records missing for any reason are counted lost" /tmp/daemon.err
check locked-evidence-status sh -c "govgate status --config $cfg | grep -q '^evidence: .*no disk holds it'"
check locked-boot-key-status-json sh -c "govgate status --json --config $cfg | grep -q '\"public_key\": \"$bk\"'"
check locked-boot-key-no-file sh -c "[ -z \"\$(find /tmp /var /etc /root /run -newer $cfg -name '*.pem*' 2>/dev/null)\" ]"
check locked-boot-key-map-no-fd is "$(gg-tamper mapr $pin/audit_key)" ENOENT
check locked-boot-key-map-by-id-refused is "$(gg-tamper mapbyid audit_key)" ENOENT
# every map of every govgate program is guarded, pinned or not: the
# digest cache cannot be poisoned through BPF_MAP_GET_FD_BY_ID
check locked-unpinned-map-rw-eperm is "$(gg-tamper mapbyid exec_hash rw)" EPERM
check locked-unpinned-map-ro-ok is "$(gg-tamper mapbyid exec_hash)" ok
check locked-boot-key-map-audited audit_has '"event":"tamper_blocked"' 'FLOOR-TAMPER-KEY' '"tamper":"audit_key_map"'
check locked-boot-key-announced audit_has '"event":"audit_key"' "\"public_key\":\"$bk\"" '"previous"'
check locked-boot-key-verify govgate audit verify --key-ed25519 $bk $log
check locked-boot-key-verify-by-file-key govgate audit verify --key /tmp/audit-key.pem.pub $log
check locked-boot-key-verify-other-fails sh -c "! govgate audit verify --key-ed25519 $(echo $bk | tr 0-9a-f 1-9a-f0) $log >/dev/null 2>&1"
# 5. the daemon: no ptrace, /proc/PID/mem, process_vm_writev, pidfd_getfd,
# signals (this shell is not init)
check locked-ptrace-eperm is "$(gg-tamper ptrace $daemon)" EPERM
check locked-vmwrite-eperm is "$(gg-tamper vmwrite $daemon)" EPERM
check locked-mem-eacces is "$(gg-tamper mem $daemon)" EACCES
check locked-getfd-eperm is "$(gg-tamper getfd $daemon)" EPERM
check locked-sigstop-eperm is "$(gg-tamper kill $daemon 19)" EPERM
check locked-kill9-eperm is "$(gg-tamper kill $daemon 9)" EPERM
kill -9 $daemon 2>/dev/null
# the daemon recorded the refusal, so it outlived the kill
check locked-signal-audited audit_has '"event":"tamper_blocked"' 'FLOOR-TAMPER-DAEMON' '"tamper":"daemon_signal"' '"signal":9'
check locked-daemon-alive kill -0 $daemon
check locked-ptrace-audited audit_has '"event":"tamper_blocked"' 'FLOOR-TAMPER-DAEMON' '"tamper":"daemon_ptrace"'
# 8. cgroups: not into the exempt cgroup, nor the daemon's; not by clone3
check locked-cgmove-exempt-eperm is "$(gg-tamper cgmove /sys/fs/cgroup/ggexempt)" EPERM
check locked-cgmove-daemon-cg-eperm is "$(gg-tamper cgmove /sys/fs/cgroup/ggd)" EPERM
check locked-clone-into-eperm is "$(gg-tamper clone-into /sys/fs/cgroup/ggexempt)" EPERM
check locked-cgroup-audited audit_has '"event":"tamper_blocked"' 'FLOOR-TAMPER-CGROUP' '"tamper":"cgroup_write"'
check locked-clone-into-audited audit_has '"event":"tamper_blocked"' 'FLOOR-TAMPER-CGROUP' '"tamper":"clone_into_cgroup"'
# nor into a task of the exempt cgroup (init puts the sentinel there)
mkdir -p /tmp/sent-lck
init_run "echo 0 >/sys/fs/cgroup/ggexempt/cgroup.procs && exec nsenter -t $wire -n gg-net sentinel 169.254.169.254 9 /tmp/sent-lck ggwire:sentlck >/dev/null 2>&1"
wait_for 10 [ -s /tmp/sent-lck/ready ]
read -r spid sfd saddr </tmp/sent-lck/ready
check locked-borrow-sentinel-arrives on_wire sentlck
check locked-borrow-vmpoke-eperm is "$(gg-tamper vmpoke $spid $saddr ggwire:pokelck)" EPERM
check locked-borrow-getfd-eperm is "$(gg-tamper getfd-send $spid $sfd ggwire:getfdlck)" EPERM
check locked-borrow-none off_wire pokelck 2
touch /tmp/sent-lck/stop
# After all that: the denied exec, the metadata connect and a module load
# are still refused.
check locked-after-exec-eperm is "$(gg-exec /tmp/nc /tmp/p-locked)" EPERM
check locked-after-exec-never-ran [ ! -e /tmp/p-locked ]
check locked-after-egress-eperm is "$(gg-net connect 169.254.169.254 80)" EPERM
check locked-after-module-eperm gg-modload /lib/test/test.ko
# Operators keep reading with stock bpftool: prog, link and map show and
# map dump (Debian 12's bpftool 7.1 opens maps read-write to read them:
# the fd is granted, the writes are not); bpftool's own update is refused.
check locked-bpftool-prog-show sh -c 'bpftool prog show | grep -q gg_guard_bpf'
check locked-bpftool-link-show sh -c 'bpftool link show | grep -q "prog "'
check locked-bpftool-map-show sh -c "bpftool map show pinned $pin/settings | grep -q 'name settings'"
check locked-bpftool-map-show-all sh -c "bpftool map show | grep -q 'name module_policy'"
check locked-bpftool-map-dump sh -c "bpftool map dump pinned $pin/module_policy | grep -q 'value'"
check locked-bpftool-map-dump-json sh -c "bpftool -j map dump pinned $pin/settings | grep -q '\"key\"'"
vsize=$(bpftool map show pinned $pin/module_policy | sed -n 's/.* value \([0-9]*\)B.*/\1/p')
zeros=$(i=0; while [ $i -lt "${vsize:-0}" ]; do printf '0 '; i=$((i + 1)); done)
check locked-bpftool-map-update-refused sh -c "bpftool map update pinned $pin/module_policy key 0 0 0 0 value $zeros 2>&1 | grep -q 'Operation not permitted'"
check locked-status-works govgate status --config $cfg
# status reads the policy maps read-only: locked, it still shows them
# (what it needs; a writable fd would write nothing)
govgate status --config $cfg >/tmp/status-locked.txt
check locked-status-reads-generation grep -qE '^generation: +[1-9]' /tmp/status-locked.txt
# Reconciled since the locked start (a tick at least has passed): nothing
# was lost, the key guard kept the daemon signing.
check locked-nothing-unreceived sh -c "! tail -n +$locked_from $log | grep -q '\"reason\":\"unreceived\"'"

# ---- signed requests (issue 13): locked, the policy maps are the daemon's
# alone; apply, stop, reload and unlock are requests to it, signed by an
# operator key in the trust directory (/etc/govgate/trusted-keys).
sock=/run/govgate/control.sock
check locked-policy-map-update-eperm is "$(gg-tamper mapop update $pin/module_policy)" EPERM
check locked-exec-map-delete-eperm is "$(gg-tamper mapop delete $pin/exec_name)" EPERM
check locked-policy-state-update-eperm is "$(gg-tamper mapop update $pin/policy_state)" EPERM
check locked-lock-state-update-eperm is "$(gg-tamper mapop update $pin/lock_state)" EPERM
check locked-policy-map-audited audit_has '"event":"tamper_blocked"' '"bpf_cmd":"BPF_MAP_DELETE_ELEM"'
check locked-status-shows-signer sh -c "govgate status --config $cfg | grep -q '^signers: *op.pub'"
# The tool is allowed until the test pack (an identity rule) is applied.
check locked-tool-runs-before sh -c "gg-exec /tmp/tool /tmp/p-tool0 >/dev/null; [ -e /tmp/p-tool0 ]"
govgate apply --config $cfg /tmp/test-pack.json 2>/tmp/apply.err
check locked-unsigned-apply-refused [ $? -ne 0 ]
check locked-unsigned-apply-says-why grep -q "unsigned request" /tmp/apply.err
check locked-unsigned-apply-audited audit_has '"event":"tamper_blocked"' 'FLOOR-TAMPER-POLICY' '"refused":"unsigned"' '"op":"apply"'
check locked-unsigned-apply-no-effect sh -c "gg-exec /tmp/tool /tmp/p-tool1 >/dev/null; [ -e /tmp/p-tool1 ]"
check locked-unsigned-apply-exec-eperm is "$(gg-exec /tmp/nc)" EPERM
govgate apply --config $cfg --sign-key /tmp/agent.key /tmp/test-pack.json 2>/tmp/apply.err
check locked-untrusted-key-refused [ $? -ne 0 ]
check locked-untrusted-key-audited audit_has '"event":"tamper_blocked"' '"refused":"unknown_key"'
check locked-untrusted-key-exec-eperm is "$(gg-exec /tmp/nc)" EPERM
# Signed: saved first, then sent as it is, then replayed.
check locked-signed-apply-saved govgate apply --config $cfg --sign-key /tmp/op.key --save-request /tmp/req.json /tmp/test-pack.json
check locked-signed-apply-ok is "$(gg-tamper send $sock /tmp/req.json)" ok
check locked-signed-apply-takes-effect is "$(gg-exec /tmp/tool /tmp/p-tool2)" EPERM
check locked-signed-apply-audited audit_has '"event":"policy_request"' '"op":"apply"' '"signed":true' '"signer":"op.pub"'
check locked-signed-apply-applied audit_has '"event":"policy_applied"' 'signed by op.pub'
check locked-replay-refused is "$(gg-tamper send $sock /tmp/req.json)" replayed
check locked-replay-audited audit_has '"event":"tamper_blocked"' '"refused":"replayed"'
sed 's/test-pack.json/test-pack.jsoX/' /tmp/req.json >/tmp/req-tampered.json
check locked-tampered-refused is "$(gg-tamper send $sock /tmp/req-tampered.json)" bad_signature
# A flood of junk requests, 60 connections at once: the daemon's loop reads
# them without blocking; each is refused and counted, recorded one by one
# up to 20 a second, the rest (and those answered busy) in one record.
from=$(($(wc -l <$log) + 1))
check locked-flood-answered is "$(gg-tamper flood $sock 60)" ok
flood_total() {
	tail -n +$from $log | awk '/"tamper":"policy_request"/ {
		if (/"refused":"rate_limited"/) { match($0, /"count":[0-9]+/); n += substr($0, RSTART + 8, RLENGTH - 8) }
		else if (/"refused":"malformed"/) n++ } END { print n + 0 }'
}
flood_counted() { [ "$(flood_total)" = 60 ]; }
check locked-flood-all-counted wait_for 10 flood_counted
check locked-flood-rate-limited audit_has '"refused":"rate_limited"' 'FLOOR-TAMPER-POLICY'
govgate apply --config $cfg --sign-key /tmp/op.key --expires 1 --save-request /tmp/req-old.json baseline-hardening@v1 2>/dev/null
sleep 2
check locked-expired-refused is "$(gg-tamper send $sock /tmp/req-old.json)" expired
check locked-after-requests-exec-eperm is "$(gg-exec /tmp/nc)" EPERM
check locked-after-requests-tool-eperm is "$(gg-exec /tmp/tool)" EPERM
check locked-signed-direct-apply govgate apply --config $cfg --sign-key /tmp/op.key --add baseline-hardening@v1
check locked-status-last-counter sh -c "govgate status --json --config $cfg | grep -q '\"last_counter\": [1-9]'"
# The trusted keys, the config and mounts over them
echo x >/etc/govgate/trusted-keys/evil.pub 2>/dev/null
check locked-trust-create-refused [ ! -e /etc/govgate/trusted-keys/evil.pub ]
sum0=$(md5sum </etc/govgate/trusted-keys/op.pub)
cat /tmp/agent.pub >>/etc/govgate/trusted-keys/op.pub 2>/dev/null
cp /tmp/agent.pub /etc/govgate/trusted-keys/op.pub 2>/dev/null
check locked-trust-write-refused is "$(md5sum </etc/govgate/trusted-keys/op.pub)" "$sum0"
rm -f /etc/govgate/trusted-keys/op.pub 2>/dev/null
mv /etc/govgate/trusted-keys /etc/govgate/old-keys 2>/dev/null
check locked-trust-rm-mv-refused [ -e /etc/govgate/trusted-keys/op.pub ]
ln -s /tmp/agent.pub /etc/govgate/trusted-keys/link.pub 2>/dev/null
check locked-trust-symlink-refused [ ! -e /etc/govgate/trusted-keys/link.pub ]
check locked-trust-audited audit_has '"event":"tamper_blocked"' 'FLOOR-TAMPER-POLICY' '"tamper":"policy_file_write"'
# The state directory: applied.json rewritten to the floor alone, then a
# reboot, would have chosen the next boot's policy; nor may the stored
# packs, the journal or the generations' records change.
sum0=$(md5sum </tmp/state/applied.json)
echo '{"format":2,"generation":999999,"refs":[]}' >/tmp/state/applied.json 2>/dev/null
check locked-state-write-refused is "$(md5sum </tmp/state/applied.json)" "$sum0"
echo '{}' >/tmp/state/generations/999999.json 2>/dev/null
check locked-state-create-refused [ ! -e /tmp/state/generations/999999.json ]
stored=$(ls /tmp/state/packs/sha256 | grep -m1 -E '^[0-9a-f]{64}$')
echo x >>/tmp/state/packs/sha256/$stored 2>/dev/null
check locked-state-store-write-refused is "$(sha256sum </tmp/state/packs/sha256/$stored | cut -d' ' -f1)" "${stored:-none stored}"
rm -f /tmp/state/journal.jsonl 2>/dev/null
mv /tmp/state /tmp/state-moved 2>/dev/null
check locked-state-rm-mv-refused [ -e /tmp/state/journal.jsonl ]
check locked-state-audited audit_has '"event":"tamper_blocked"' 'FLOOR-TAMPER-POLICY' '"tamper":"policy_file_write"' 'applied.json'
# The pack directories a name ref is looked up in: a pack of the same
# name and version put there would be what a signed apply by name takes;
# nor a directory (bundles/ of one that has none) or a FIFO made in them
sum0=$(md5sum </gg/packs/baseline-hardening.json)
echo '{}' >>/gg/packs/baseline-hardening.json 2>/dev/null
check locked-packdir-write-refused is "$(md5sum </gg/packs/baseline-hardening.json)" "$sum0"
cp /tmp/test-pack.json /gg/packs/evil@v1.json 2>/dev/null
check locked-packdir-create-refused [ ! -e /gg/packs/evil@v1.json ]
mkdir /gg/packs/bundles/evil 2>/dev/null
check locked-packdir-mkdir-refused [ ! -e /gg/packs/bundles/evil ]
mkfifo /tmp/state/evil.fifo 2>/dev/null
check locked-state-mknod-refused [ ! -e /tmp/state/evil.fifo ]
check locked-packdir-audited audit_has '"event":"tamper_blocked"' '"tamper":"policy_file_write"' '"file_op":"create"' '"target":"evil"'
# The audit log: the records after the last checkpoint, sealed by none
# yet, are not truncated, rewritten in place of the file or removed (with
# the daemon stopped through init, the next one would go on from a forgery)
lines0=$(wc -l <$log)
sh -c ": >$log" 2>/dev/null
sed -i '$d' $log 2>/dev/null
rm -f $log 2>/dev/null
check locked-log-kept [ "$(wc -l <$log)" -ge "$lines0" ]
check locked-log-audited audit_has '"event":"tamper_blocked"' '"tamper":"policy_file_write"' '"file_op":"write"' "\"target\":\"${log##*/}\""
# The control socket's directory: the socket renamed, a relay of the
# workload's listening in its place would see each signed request first,
# answer for the daemon or hold one back
mv $sock /run/govgate/moved.sock 2>/dev/null
check locked-run-mv-refused [ -S $sock ]
check locked-run-create-refused sh -c "! touch /run/govgate/evil.sock 2>/dev/null"
check locked-run-audited audit_has '"event":"tamper_blocked"' '"tamper":"policy_file_write"' '"file_op":"rename"' '"target":"control.sock"'
check locked-run-status-works sh -c "govgate status --config $cfg | grep -qx 'locked: *yes'"
# nor is the daemon's lock file locked by another (a restart would find
# it held); the CLI still opens it to find the daemon
lockf=$(ls /run/govgate/*.lock | head -n1)
check locked-run-flock-eperm is "$(gg-tamper flock $lockf)" EPERM
check locked-run-flock-audited audit_has '"event":"tamper_blocked"' '"file_op":"lock"'
echo '{}' >$cfg 2>/dev/null
check locked-config-write-refused grep -q locked.jsonl $cfg
mount -t tmpfs none /etc/govgate 2>/dev/null
check locked-mount-refused [ -e /etc/govgate/trusted-keys/op.pub ]
check locked-mount-audited audit_has '"event":"tamper_blocked"' '"tamper":"mount"'
# the new mount API: a superblock for a detached mount (fsconfig's
# FSCONFIG_CMD_CREATE), which needs no move_mount to be used
check locked-fsmount-eperm is "$(gg-tamper fsmount)" EPERM
check locked-fsmount-audited audit_has '"event":"tamper_blocked"' '"tamper":"mount"' '"syscall":"fsconfig"'
# The daemon's cgroup runs whatever init is told to run there (a drop-in's
# ExecStartPre=, a unit linked by init itself): only govgate's binary is
# govgate's own there. The stand-in for init's child is the fifo's shell.
unit_run() {
	rm -f /tmp/unit.done
	echo "$* ; echo \$? >/tmp/unit.done" >/tmp/ggd.fifo
	wait_for 30 [ -s /tmp/unit.done ]
}
unit_run "cp /tmp/agent.pub /etc/govgate/trusted-keys/evil.pub 2>/dev/null"
check locked-unit-shell-key-refused [ ! -e /etc/govgate/trusted-keys/evil.pub ]
unit_run "gg-tamper enabled $pin/settings 0 >/tmp/unit.out"
check locked-unit-shell-switch-off-eperm is "$(cat /tmp/unit.out)" EPERM
check locked-unit-shell-enforcing is "$(gg-exec /tmp/nc)" EPERM
unit_run "gg-tamper enabled $pin/settings 1 >/dev/null" # had it worked
check locked-unit-shell-audited audit_has '"event":"tamper_blocked"' '"tamper":"bpf_command"' '"bpf_cmd":"BPF_MAP_UPDATE_ELEM"'
# govgate's own binary there reads no audit key: `pack sign --key` would
# sign anything with it (the daemon alone opens it)
echo forged >/tmp/forged.txt
unit_run "govgate pack sign --key /tmp/audit-key.pem /tmp/forged.txt >/tmp/unit.out 2>&1"
check locked-unit-key-sign-refused [ ! -e /tmp/forged.txt.sig ]
check locked-unit-key-sign-audited audit_has '"tamper":"audit_key_open"' '"comm":"govgate"' '"target":"audit-key.pem"'
unit_run "gg-tamper setexe $(command -v govgate) >/tmp/unit.out"
check locked-unit-setexe-eperm is "$(cat /tmp/unit.out)" EPERM
check locked-unit-setexe-audited audit_has '"event":"tamper_blocked"' 'FLOOR-TAMPER-DAEMON' '"tamper":"set_mm"'
# ... but not the argument area, which systemd's child moves to rename itself
check locked-prctl-argstart-not-refused sh -c '[ "$(gg-tamper setarg)" != EPERM ]'
# init's own child (what systemd forks for a unit) before its exec: it
# opens StandardOutput=truncate:FILE there, so it writes no guarded file
sum0=$(md5sum </etc/govgate/trusted-keys/op.pub)
rm -f /tmp/init.done
init_run "{ cat /tmp/agent.pub; } >>/etc/govgate/trusted-keys/op.pub; echo done >/tmp/init.done"
wait_for 20 [ -s /tmp/init.done ]
check locked-init-child-key-write-refused is "$(md5sum </etc/govgate/trusted-keys/op.pub)" "$sum0"
check locked-init-child-audited audit_has '"event":"tamper_blocked"' '"file_op":"write"' '"target":"op.pub"'
check locked-after-files-exec-eperm is "$(gg-exec /tmp/nc)" EPERM
# A daemon restarted (from the daemon's cgroup, as init would) with
# --unlocked while the lock is pinned stays locked; one with another
# configuration does not start.
govgate stop --config $cfg 2>/tmp/stop.err
check locked-unsigned-stop-refused kill -0 $daemon
check locked-unsigned-stop-audited audit_has '"event":"tamper_blocked"' '"refused":"unsigned"' '"op":"stop"'
check locked-signed-stop govgate stop --config $cfg --sign-key /tmp/op.key
wait $daemon 2>/dev/null # reaped: a zombie still answers kill -0
check locked-signed-stop-gone sh -c "! kill -0 $daemon 2>/dev/null"
check locked-stopped-exec-eperm is "$(gg-exec /tmp/nc)" EPERM
check locked-stopped-update-eperm is "$(gg-tamper mapop update $pin/settings)" EPERM
sed 's/"checkpoint_every": 16/"checkpoint_every": 17/' $cfg >/tmp/other.json
relaunch --config /tmp/other.json
check locked-other-config-refused [ $? -ne 0 ]
check locked-other-config-says-why grep -q "not the configuration they were locked with" /tmp/daemon.err
# nor one whose --state-dir names an applied.json of root's choosing
mkdir -p /tmp/evil-state && echo '{"format":2,"generation":999999,"refs":[]}' >/tmp/evil-state/applied.json
relaunch --config $cfg --scope global --exempt-cgroup /sys/fs/cgroup/ggexempt --state-dir /tmp/evil-state
check locked-other-state-dir-refused [ $? -ne 0 ]
check locked-other-state-dir-says-why grep -q "state directory or DNS upstream differ" /tmp/daemon.err
# govgate's binary started by init there, but not as `govgate run` (a
# drop-in's ExecStartPre=/usr/sbin/govgate pack keygen ...): not the successor
rm -f /tmp/unit.out
init_run "echo 0 >/sys/fs/cgroup/ggd/cgroup.procs; exec govgate pack keygen --private /tmp/k2.pem --public /etc/govgate/trusted-keys/evil2.pub >/tmp/unit.out 2>&1"
wait_for 20 [ -s /tmp/unit.out ]
check locked-init-keygen-refused [ ! -e /etc/govgate/trusted-keys/evil2.pub ]
# nor `govgate run` that a shell there starts: it cannot take over
relaunch_from_unit_shell --config $cfg --scope global --exempt-cgroup /sys/fs/cgroup/ggexempt
check locked-unit-shell-run-refused [ $? -ne 0 ]
check locked-unit-shell-run-enforcing is "$(gg-exec /tmp/tool)" EPERM
check locked-other-state-dir-kept-policy is "$(gg-exec /tmp/tool)" EPERM
check locked-restart-unlocked relaunch --config $cfg --scope global --exempt-cgroup /sys/fs/cgroup/ggexempt --unlocked
check locked-restart-unlocked-refused grep -q "\-\-unlocked refused" /tmp/daemon.err
check locked-restart-still-locked sh -c "govgate status --config $cfg | grep -qx 'locked: *yes'"
check locked-restart-update-eperm is "$(gg-tamper mapop update $pin/settings)" EPERM
check locked-restart-audited audit_has '"event":"tamper_blocked"' '"op":"unlock"' '"via":"command line"'
check locked-restart-exec-eperm is "$(gg-exec /tmp/nc)" EPERM
check locked-restart-kept-policy is "$(gg-exec /tmp/tool)" EPERM
# refused while no daemon ran: the record waited in the ring buffer
check locked-init-keygen-audited audit_has '"event":"tamper_blocked"' '"tamper":"policy_file_write"' '"file_op":"create"' 'evil2.pub'
# govgate's own binary run there with no daemon: it writes no pin itself
check locked-unit-stop govgate stop --config $cfg --sign-key /tmp/op.key
wait $daemon 2>/dev/null
unit_run "govgate stop --unload --config $cfg 2>/tmp/unit.err"
check locked-unit-unload-refused [ -e $pin/link-gg_exec_check ]
check locked-unit-unload-says-why grep -q "the gates are locked and no daemon runs" /tmp/unit.err
unit_run "govgate apply --config $cfg 2>/tmp/unit.err"
check locked-unit-apply-refused is "$(gg-exec /tmp/tool)" EPERM
check locked-unit-apply-says-why grep -q "the gates are locked and no daemon runs" /tmp/unit.err
# ... nor a libcrypto of root's choosing (opened by name, user/crypto.h):
# a copy first on LD_LIBRARY_PATH is another inode than the one the daemon
# locked with, its mapping is refused, and the successor does not start
mkdir -p /tmp/cryptolib
cp "$(ls /lib/*/libcrypto.so.3 /usr/lib/*/libcrypto.so.3 2>/dev/null | head -n 1)" /tmp/cryptolib/
relaunch_with "export LD_LIBRARY_PATH=/tmp/cryptolib;" \
	--config $cfg --scope global --exempt-cgroup /sys/fs/cgroup/ggexempt
check locked-libcrypto-copy-not-started [ $? -ne 0 ]
check locked-libcrypto-copy-says-why grep -q "cannot open libcrypto.so.3: .*failed to map segment" /tmp/daemon.err
check locked-libcrypto-copy-kept-policy is "$(gg-exec /tmp/tool)" EPERM
# ... nor code that is not govgate's: LD_PRELOAD into a restart (as a
# drop-in's Environment= would) is refused before the library runs
rm -rf /tmp/shim && mkdir -p /tmp/shim
check locked-preload-restart relaunch_with "export LD_PRELOAD=/lib/test/gg-daemon-shim.so GG_SHIM_DIR=/tmp/shim;" \
	--config $cfg --scope global --exempt-cgroup /sys/fs/cgroup/ggexempt
check locked-preload-never-ran [ ! -e /tmp/shim/loaded ]
check locked-preload-audited audit_has '"event":"tamper_blocked"' 'FLOOR-TAMPER-DAEMON' '"tamper":"code_map"' '"target":"gg-daemon-shim.so"'
check locked-libcrypto-copy-audited audit_has '"event":"tamper_blocked"' '"tamper":"code_map"' '"target":"libcrypto.so.3"'
check locked-preload-still-locked sh -c "govgate status --config $cfg | grep -qx 'locked: *yes'"
check locked-preload-kept-policy is "$(gg-exec /tmp/tool)" EPERM
# one daemon at a time: a second `govgate run` (the pin directory spelt
# another way, so another lock file) would take the first one's place
first=$daemon
relaunch --config $cfg --scope global --exempt-cgroup /sys/fs/cgroup/ggexempt --pin-dir /sys/fs/bpf/./govgate
check locked-second-daemon-refused [ $? -ne 0 ]
check locked-second-daemon-says-why grep -q "still runs: a second one is refused" /tmp/daemon.err
daemon=$first
check locked-second-daemon-first-serves govgate apply --config $cfg --sign-key /tmp/op.key --add baseline-hardening@v1
# The guarded files' ancestors: /etc/govgate renamed, a new one would hold the keys and
# the config of root's choosing for the next start
mv /etc/govgate /etc/govgate-moved 2>/dev/null
check locked-ancestor-mv-refused [ -e /etc/govgate/trusted-keys/op.pub ]
check locked-ancestor-audited audit_has '"event":"tamper_blocked"' '"file_op":"rename"' '"target":"govgate"'
# an umount shows what the mount covered (a /var beneath /var/lib/govgate):
# refused for a mount whose root is a guarded path's ancestor (/tmp here);
# the workload's own mounts are its own
umount -l /tmp 2>/dev/null
check locked-umount-guarded-refused [ -e /tmp/state/applied.json ]
check locked-umount-guarded-audited audit_has '"event":"tamper_blocked"' '"tamper":"mount"' '"syscall":"umount"'
# nor remounted through the new mount API (fspick, FSCONFIG_CMD_RECONFIGURE:
# read-only under the daemon's state and log)
check locked-fspick-eperm is "$(gg-tamper fspick /tmp/gg-mnt)" EPERM
check locked-fspick-audited audit_has '"event":"tamper_blocked"' '"tamper":"mount"' '"syscall":"fspick"'
check locked-umount-other-ok umount /tmp/gg-mnt
# the daemon's cgroup frozen or killed through a cgroup file (no signal)
echo 1 >/sys/fs/cgroup/ggd/cgroup.freeze 2>/dev/null
check locked-cgroup-freeze-refused grep -qx 'frozen 0' /sys/fs/cgroup/ggd/cgroup.events
echo 0 >/sys/fs/cgroup/ggd/cgroup.freeze 2>/dev/null # had it worked
check locked-cgroup-freeze-audited audit_has '"event":"tamper_blocked"' '"tamper":"cgroup_write"' '"target":"cgroup.freeze"'
# the disk beneath them: no write-open of a block device, no passthrough
check locked-blkwrite-eperm is "$(gg-tamper blkwrite /dev/nvme0n1)" EPERM
check locked-nvmewrite-eperm is "$(gg-tamper nvmewrite /dev/nvme0n1)" EPERM
check locked-uringwrite-eperm is "$(gg-tamper uringwrite /dev/nvme0n1)" EPERM
check locked-nvme32-eperm is "$(gg-nvme32 /dev/nvme0n1)" EPERM
check locked-uring-audited audit_has '"event":"tamper_blocked"' '"tamper":"block_write"' '"target":"ng0n1"'
# exempt cgroups too: a task init moved into one (init's child may move)
init_run "echo 0 >/sys/fs/cgroup/ggexempt/cgroup.procs && gg-tamper blkwrite /dev/nvme0n1 >/tmp/exempt-blk.out; echo done >/tmp/exempt-blk.done"
wait_for 20 [ -s /tmp/exempt-blk.done ]
check locked-exempt-blkwrite-eperm is "$(cat /tmp/exempt-blk.out)" EPERM
check locked-disk-unwritten is "$(gg-tamper blkhas /dev/nvme0n1)" no
check locked-disk-audited audit_has '"event":"tamper_blocked"' '"tamper":"block_write"' '"target":"nvme0n1"'
# kernel memory: the kernel's lockdown questions answered no
check locked-kcore-eperm is "$(gg-tamper kcore)" EPERM
check locked-iopl-eperm is "$(gg-tamper iopl)" EPERM
# exempt cgroups too: a task init moved into one
init_run "echo 0 >/sys/fs/cgroup/ggexempt/cgroup.procs && gg-tamper kcore >/tmp/exempt-kcore.out; echo done >/tmp/exempt-kcore.done"
wait_for 20 [ -s /tmp/exempt-kcore.done ]
check locked-exempt-kcore-eperm is "$(cat /tmp/exempt-kcore.out)" EPERM
check locked-kernel-memory-audited audit_has '"event":"tamper_blocked"' '"tamper":"kernel_memory"' '"lockdown_reason":' 'FLOOR-TAMPER-KERNEL'
# network configuration (CAP_NET_ADMIN in the initial user namespace):
# no tc filter, in a netns of its own (not even its lo up) or in pid 1's,
# no route by netlink or ioctl; exempt cgroups still may
check locked-tc-rewrite-refused is "$(tc_rewrite 5373)" refused
check locked-netns-lo-refused sh -c '! unshare -n ip link set lo up 2>/dev/null'
check locked-tc-refused sh -c '! /lib/test/tc qdisc add dev lo clsact 2>/dev/null'
check locked-tc-none sh -c '! /lib/test/tc qdisc show dev lo | grep -q clsact'
check locked-route-refused sh -c '! ip route add 198.51.100.0/24 dev lo 2>/dev/null'
check locked-route-ioctl-refused sh -c '! route add -net 192.0.2.0 netmask 255.255.255.0 dev lo 2>/dev/null'
check locked-route-none sh -c '! ip route show | grep -qE "^(198.51.100|192.0.2).0/24"'
# a socket's own option (SO_RCVBUFFORCE, as sd-bus sets): refused,
# unrecorded (records are written in order: once a later denial of
# gg-net's is in the log, its refusal would be too)
check locked-sockopt-eperm is "$(gg-net rcvbufforce)" EPERM
gg-net connect 169.254.169.254 5399 >/dev/null
audit_has '"event":"egress_blocked"' '"dport":5399' >/dev/null
check locked-sockopt-unrecorded sh -c "! grep '\"tamper\":\"net_config\"' $log | grep -q '\"comm\":\"gg-net\"'"
# a user namespace of its own configures its own network namespace, but
# makes no link there: a veth's peer would land in pid 1's
check locked-userns-lo-ok unshare -Urn ip link set lo up
check locked-veth-peer-refused is "$(veth_peer gvl)" refused
# a tun device made before the lock: not attached to, nothing on the wire;
# no netconsole target made, none enabled, nothing of the log on the wire
check locked-tun-inject-refused is "$(tun_inject tunlck)" "EPERM none"
check locked-tun-audited audit_has '"tamper":"net_config"' '"device":"tun"' 'FLOOR-TAMPER-NET'
check locked-netconsole-refused is "$(netconsole nclck)" "refused none"
check locked-netconsole-enable-refused sh -c '! nsenter -t '$wire' -n sh -c "echo 1 >/sys/kernel/config/netconsole/ncpre/enabled" 2>/dev/null'
echo "<1>ggwire:ncpre" >/dev/kmsg
check locked-netconsole-pre-none off_wire ncpre 3
check locked-configfs-audited audit_has '"tamper":"configfs"' '"file_op":"mkdir"' '"target":"nclck"' 'FLOOR-TAMPER-NET'
check locked-configfs-write-audited audit_has '"tamper":"configfs"' '"file_op":"write"' '"target":"enabled"'
# a link between items (nvmet's port to subsystem): refused before
# configfs's own answer (netconsole's items take none)
ln -s /sys/kernel/config/netconsole/ncpre /sys/kernel/config/netconsole/nclink 2>/dev/null
check locked-configfs-symlink-audited audit_has '"tamper":"configfs"' '"file_op":"symlink"' '"target":"nclink"'
check locked-netcfg-audited audit_has '"event":"tamper_blocked"' '"tamper":"net_config"' 'FLOOR-TAMPER-NET'
init_run "echo 0 >/sys/fs/cgroup/ggexempt/cgroup.procs && ip route add 198.51.100.0/24 dev lo && ip route del 198.51.100.0/24 dev lo && echo ok >/tmp/exempt-route.out; echo done >/tmp/exempt-route.done"
wait_for 20 [ -s /tmp/exempt-route.done ]
check locked-exempt-route-ok is "$(cat /tmp/exempt-route.out 2>/dev/null)" ok
# the clock, which a held-back request's expiry and the digest cache's
# settled ctime are read from: not set back; an exempt task (an NTP
# client) sets it
check locked-settime-eperm is "$(gg-tamper settime 3600)" EPERM
check locked-settime-audited audit_has '"event":"tamper_blocked"' '"tamper":"clock_set"' 'FLOOR-TAMPER-POLICY'
init_run "echo 0 >/sys/fs/cgroup/ggexempt/cgroup.procs && gg-tamper settime 0 >/tmp/exempt-time.out; echo done >/tmp/exempt-time.done"
wait_for 20 [ -s /tmp/exempt-time.done ]
check locked-exempt-settime-ok is "$(cat /tmp/exempt-time.out)" ok
# A signed unlock, then a signed stop --unload.
check locked-signed-unlock govgate unlock --config $cfg --sign-key /tmp/op.key
check locked-unlocked-status sh -c "govgate status --config $cfg | grep -qx 'locked: *no'"
check locked-unlocked-update-ok is "$(gg-tamper mapop update $pin/settings)" ok
check locked-signed-unload govgate stop --unload --config $cfg --sign-key /tmp/op.key
check locked-unload-pins-gone [ ! -e $pin/link-gg_exec_check ]
check locked-unload-audited grep -q '"enforcement":"detached (a signed unload)"' $log
echo "vm $k: govgate e2e done, $fails failed"
[ $fails -eq 0 ]
