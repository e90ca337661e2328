#!/bin/sh
# The kernel has CONFIG_BPF_LSM=y but was booted with an lsm= list that
# lacks "bpf" (tests/vm/run.sh appends it): LSM programs still load and
# attach there, and are never called. govgate must see that from the active
# LSM list, fall back (and say why), and still deny. Guest script of
# scripts/vmtest.sh (busybox ash); global scope, no network device.
GG_TEST_PREFIX=GGVM-
. /gg/lib.sh # pass, fail, check, wait_for

log=/tmp/audit.jsonl
mkdir -p /tmp/state
cat >/tmp/govgate.json <<JSON
{ "pack_dirs": ["/gg/packs"], "state_dir": "/tmp/state",
  "audit": { "path": "$log", "key": "/tmp/audit-key.pem" } }
JSON
echo "GGVM-INFO active LSMs: $(cat /sys/kernel/security/lsm)"
check lsm-list-lacks-bpf sh -c '! grep -qw bpf /sys/kernel/security/lsm'

: >/tmp/daemon.err
govgate run --config /tmp/govgate.json --scope global 2>>/tmp/daemon.err &
daemon=$!
started_or_dead() { grep -q "enforcing (generation" /tmp/daemon.err || ! kill -0 $daemon 2>/dev/null; }
wait_for 60 started_or_dead
cat /tmp/daemon.err
check nolsm-start grep -q "enforcing (generation" /tmp/daemon.err
check nolsm-exec-fallback grep -q "cmd.exec: fallback, bpf is not in the active LSM list" /tmp/daemon.err
check nolsm-egress-fallback grep -q "net.egress: fallback, bpf is not in the active LSM list" /tmp/daemon.err
check nolsm-module-unavailable grep -q "kernel.module: UNAVAILABLE, bpf is not in the active LSM list" /tmp/daemon.err
check nolsm-status-says-fallback sh -c 'govgate status --config /tmp/govgate.json | grep -qE "^cmd.exec +fallback "'
check nolsm-audit-says-why grep -q '"cmd.exec_fallback_reason":"bpf is not in the active LSM list' $log
# Locked mode needs BPF LSM: global scope asks for it, the fallback cannot
# give it, and the start-up log and status say so, and what still holds.
check nolsm-not-locked grep -q "locked: no: the guard needs BPF LSM (bpf is not in the active LSM list" /tmp/daemon.err
check nolsm-status-not-locked sh -c 'govgate status --config /tmp/govgate.json | grep -qx "locked: *no"'
check nolsm-status-says-no-guard sh -c 'govgate status --config /tmp/govgate.json | grep -q "^tamper: *no BPF LSM: no guard"'

# The fallback still denies: the killed exec never runs, IMDS is EPERM.
cp /bin/gg-proof /tmp/nc
/tmp/nc /tmp/proof-nc
check nolsm-exec-denied-never-ran test ! -e /tmp/proof-nc
check nolsm-tcp-imds-eperm test "$(gg-net connect 169.254.169.254 80)" = EPERM
check nolsm-udp-imds-eperm test "$(gg-net sendto 169.254.169.254 53)" = EPERM
check nolsm-loopback-allowed test "$(gg-net pair 127.0.0.1 18080)" = ok

# Trust lists need a hash and the mapping hooks (issue 11): the fallback
# cannot enforce them, and the start-up log, status and apply say so.
check nolsm-trust-limit-logged grep -q "trust lists are not enforced" /tmp/daemon.err
check nolsm-trust-limit-status sh -c 'govgate status --config /tmp/govgate.json | grep -q "trust lists are not enforced"'
govgate trust snapshot /bin --out /tmp/trust.json
check nolsm-trust-apply-warns sh -c 'govgate apply --config /tmp/govgate.json --add /tmp/trust.json 2>&1 | grep -q "the trust lists are not enforced"'

kill $daemon
wait $daemon 2>/dev/null
govgate stop --unload >/dev/null 2>&1
[ $fails -eq 0 ]
