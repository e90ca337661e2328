#!/bin/bash
# The guest test (run inside the Debian 12 systemd guest by
# gg-guest-test.service, after multi-user.target; output on ttyS0).
# govgate was installed with `make install` and runs as govgate.service with
# the shipped unit and default config: global scope, platform floor.
# Prints "GGG-PASS name" / "GGG-FAIL name: why" and ends with
# "GGG-DONE pass=N fail=M"; tests/guest/run.sh turns them into PASS/FAIL.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin SYSTEMD_PAGER='' SYSTEMD_COLORS=0
GG_TEST_PREFIX=GGG-
. /usr/local/lib/gg-guest/lib.sh # tests/lib.sh: pass, fail, check, wait_for
info() { echo "GGG-INFO $*"; }
show() { systemctl show -P "$2" "$1"; }
audit=/var/log/govgate/audit.jsonl

# One audit line containing every pattern.
audit_has() {
	local m p
	m=$(cat "$audit" 2>/dev/null)
	for p in "$@"; do m=$(grep -F -- "$p" <<<"$m"); done
	[[ -n $m ]]
}
active() { [[ $(systemctl is-active govgate) == active ]]; }
generation() { govgate status --json 2>/dev/null | jq -r .generation; }

info "kernel $(uname -r), systemd $(systemctl --version | head -n1 | awk '{print $2}')"

# ---- the boot ---------------------------------------------------------------
check govgate-active active
info "$(systemctl status govgate --no-pager -n 0 | sed -n 's/^ *//; /Active:/p')"
status_out=$(govgate status 2>&1)
check status-exit-0 govgate status
for g in cmd.exec net.egress kernel.module; do
	check "mechanism-$g-lsm" grep -qE "^$g +lsm " <<<"$status_out"
done
check scope-global grep -qE '^scope: +global' <<<"$status_out"

gg_up=$(show govgate ActiveEnterTimestampMonotonic)
basic=$(show basic.target ActiveEnterTimestampMonotonic)
multi=$(show multi-user.target ActiveEnterTimestampMonotonic)
wl=$(show workload ExecMainStartTimestampMonotonic)
info "monotonic us: govgate ready $gg_up, basic.target $basic, multi-user.target $multi, workload start $wl"
check order-govgate-ready-before-basic-target [ "$gg_up" -gt 0 -a "$gg_up" -lt "$basic" ]
check order-govgate-ready-before-multi-user [ "$gg_up" -lt "$multi" ]
check order-govgate-ready-before-workload [ "$wl" -gt 0 -a "$gg_up" -lt "$wl" ]
# Every service with default dependencies (After=basic.target) started
# after govgate was ready: no workload can start ungoverned.
late=
n=0
while read -r unit; do
	[[ $unit == govgate.service ]] && continue
	after=$(show "$unit" After)
	[[ " $after " == *" basic.target "* ]] || continue
	t=$(show "$unit" InactiveExitTimestampMonotonic)
	[[ $t -gt 0 ]] || continue
	n=$((n + 1))
	[[ $t -gt $gg_up ]] || late="$late $unit($t)"
done < <(systemctl list-units --type=service --all --no-legend --plain | awk '{print $1}')
info "$n started services have After=basic.target"
check order-every-default-service-after-govgate [ -z "$late" -a $n -gt 0 ]
[[ -z $late ]] || info "started before govgate was ready:$late"

# ---- the workload's attempts --------------------------------------------------
res=/var/lib/workload/results
info "workload: $(tr '\n' ' ' <$res 2>/dev/null)"
check workload-exec-eperm grep -qx 'exec=EPERM' $res
check workload-denied-binary-never-ran grep -qx 'proof=none' $res
check workload-imds-connect-eperm grep -qx 'connect=EPERM' $res
check workload-imds-sendto-eperm grep -qx 'sendto=EPERM' $res
wuid=$(sed -n 's/^uid=//p' $res)
check audit-workload-exec-denied wait_for 10 audit_has '"event":"command_denied"' '"path":"/opt/workload/nc"' "\"uid\":$wuid" 'FLOOR-EXEC-LOTL'
check audit-workload-imds-denied wait_for 10 audit_has '"event":"egress_blocked"' '"daddr":"169.254.169.254"' "\"uid\":$wuid" 'FLOOR-NET-IMDS'
check audit-workload-argv-recorded audit_has '"event":"command_denied"' '"argv":["/opt/workload/nc",'
check daemon-attached-everything sh -c "! journalctl -u govgate _PID=$(show govgate MainPID) -o cat | grep -q 'not attached'"
check journal-exec-denial wait_for 10 sh -c 'journalctl -u govgate -o cat GOVGATE_EVENT=command_denied | grep -q "deny command_denied cmd.exec"'
check journal-imds-denial sh -c 'journalctl -u govgate -o cat GOVGATE_EVENT=egress_blocked | grep -q FLOOR-NET-IMDS'
check journal-structured-fields sh -c 'journalctl -u govgate -o verbose GOVGATE_EVENT=command_denied | grep -q "GOVGATE_RULE=floor-deny-lotl-tools"'

# ---- module loading (as root: the workload could not load modules anyway)
kmod=/usr/local/lib/gg-guest/test.ko
check module-finit-and-init-eperm gg-modload $kmod
check module-not-loaded sh -c '! grep -q "^nls_ascii " /proc/modules'
check audit-module-denied wait_for 10 audit_has '"event":"module_blocked"' 'FLOOR-KMOD'

# ---- restart, kill -9, stop: enforcement never lapses -------------------------
# A loop of denied attempts (exec by name, TCP and UDP to the metadata
# address, finit_module and init_module) runs across every phase; any
# answer but EPERM is a leak.
rm -f /run/gg-leak /run/gg-count /run/gg-stop
(
	i=0
	while [[ ! -e /run/gg-stop ]]; do
		[[ $(gg-exec /opt/workload/nc /run/gg-proof) == EPERM ]] || echo "exec $i" >>/run/gg-leak
		[[ $(gg-net connect 169.254.169.254 80) == EPERM ]] || echo "connect $i" >>/run/gg-leak
		[[ $(gg-net sendto 169.254.169.254 53) == EPERM ]] || echo "sendto $i" >>/run/gg-leak
		gg-modload $kmod >/dev/null || echo "module $i" >>/run/gg-leak
		i=$((i + 1))
		echo $i >/run/gg-count
	done
) &
looper=$!
count() { cat /run/gg-count 2>/dev/null || echo 0; }
progressed() { local c=$1; wait_for 20 sh -c "[ \$(cat /run/gg-count 2>/dev/null || echo 0) -gt $((c + 2)) ]"; }
progressed 0

restarts0=$(show govgate NRestarts)
pid0=$(show govgate MainPID)
c=$(count)
check restart-succeeds systemctl restart govgate
systemctl is-active -q govgate ||
	journalctl -u govgate -n 25 -o cat --no-pager | while read -r l; do info "journal: $l"; done
check restart-active-again active
check restart-new-pid [ "$(show govgate MainPID)" != "$pid0" ]
check restart-adopts-pinned-links sh -c "journalctl -u govgate _PID=$(show govgate MainPID) -o cat | grep -q 'adopted from the pinned links'"
check loop-ran-across-restart progressed "$c"

# Locked mode (the installed service, global scope): a root task outside
# the unit cannot kill, trace or unload the daemon; init can, and stock
# bpftool (Debian 12's 7.1, which opens maps read-write even to read them)
# still shows programs, links and maps and dumps maps.
pid1=$(show govgate MainPID)
check locked-status-yes sh -c "govgate status | grep -q '^locked: *yes'"
check locked-kill9-refused sh -c "! kill -9 $pid1"
check locked-unload-refused sh -c "! govgate stop --unload"
check locked-daemon-survives [ "$(show govgate MainPID)" = "$pid1" ]
check locked-pins-remain test -e /sys/fs/bpf/govgate/link-gg_exec_check
check locked-refusals-recorded wait_for 10 audit_has '"event":"tamper_blocked"' 'FLOOR-TAMPER-DAEMON'
check locked-still-enforcing [ "$(gg-exec /opt/workload/nc /run/gg-proof3)" = EPERM ]
# Network configuration is refused to governed tasks while locked, but a
# unit's PrivateNetwork= still gets its loopback up (init's child, before
# exec, in a network namespace of its own): a connect there is refused by
# no listener, not unreachable.
check locked-private-network-lo-up sh -c '[ "$(systemd-run --quiet --wait --pipe -p PrivateNetwork=yes /usr/local/bin/gg-net connect 127.0.0.1 9)" = ECONNREFUSED ]'
# Nothing the boot, systemctl or a unit's start does is network
# configuration (sd-bus and systemd's stdout streams ask for CAP_NET_ADMIN
# for SO_SNDBUFFORCE: a socket's own option, not refused), a tun device
# attached to or a configfs item (systemd mounts configfs, writes none)
grep -E '"tamper":"(net_config|configfs)"' $audit | jq -r '"\(.tamper) \(.comm) \(.exe)"' |
	sort | uniq -c | head -5 | while read -r l; do info "refused: $l"; done
check locked-no-net-config-refusals sh -c "! grep -qE '\"tamper\":\"(net_config|configfs)\"' $audit"
check locked-bpftool-prog-show sh -c "bpftool prog show | grep -q 'name gg_exec_check'"
check locked-bpftool-link-show sh -c "bpftool link show | grep -q 'prog '"
check locked-bpftool-map-show sh -c "bpftool map show | grep -q 'name settings'"
check locked-bpftool-map-show-pinned sh -c "bpftool map show pinned /sys/fs/bpf/govgate/exec_name | grep -q 'name exec_name'"
check locked-bpftool-map-dump sh -c "bpftool map dump pinned /sys/fs/bpf/govgate/module_policy | grep -q 'value'"
check locked-bpftool-map-dump-json sh -c "bpftool -j map dump pinned /sys/fs/bpf/govgate/settings | grep -q '\"value\"'"
# Policy changes are requests to the daemon, signed by an operator key in
# /etc/govgate/trusted-keys (the image ships op.pub; /root/op.key is the
# operator's, here for the test).
key=/root/op.key
check locked-unsigned-apply-refused sh -c "! govgate apply owasp-llm-top10@v1 2>/run/apply.err"
check locked-unsigned-apply-says-why grep -q "unsigned request" /run/apply.err
check locked-unsigned-apply-audited wait_for 10 audit_has '"event":"tamper_blocked"' 'FLOOR-TAMPER-POLICY' '"refused":"unsigned"' '"op":"apply"'
check locked-unsigned-stop-refused sh -c "! govgate stop"
check locked-unsigned-stop-audited wait_for 10 audit_has '"event":"tamper_blocked"' '"refused":"unsigned"' '"op":"stop"'
check locked-unsigned-unload-audited wait_for 10 audit_has '"event":"tamper_blocked"' '"refused":"unsigned"' '"op":"unload"'
check locked-after-unsigned-same-daemon [ "$(show govgate MainPID)" = "$pid1" ]
check locked-after-unsigned-enforcing [ "$(gg-exec /opt/workload/nc /run/gg-proof4)" = EPERM ]
vsize=$(bpftool map show pinned /sys/fs/bpf/govgate/module_policy | sed -n 's/.* value \([0-9]*\)B.*/\1/p')
zeros=$(i=0; while [ $i -lt "${vsize:-0}" ]; do printf '0 '; i=$((i + 1)); done)
check locked-policy-map-write-refused sh -c "bpftool map update pinned /sys/fs/bpf/govgate/module_policy key 0 0 0 0 value $zeros 2>&1 | grep -q 'Operation not permitted'"
check locked-policy-map-write-audited wait_for 10 audit_has '"event":"tamper_blocked"' '"bpf_cmd":"BPF_MAP_UPDATE_ELEM"'
check locked-trusted-keys-write-refused sh -c "! cp /etc/govgate/govgate.json /etc/govgate/trusted-keys/evil.pub 2>/dev/null"
check locked-signed-apply govgate apply --sign-key $key owasp-llm-top10@v1
check locked-signed-apply-listed sh -c 'govgate status | grep -q "owasp-llm-top10@v1 \[enforce\]"'
check locked-signed-apply-audited wait_for 10 audit_has '"event":"policy_applied"' 'signed by op.pub'
check locked-status-signers sh -c "govgate status | grep -q '^signers: *op.pub'"
check locked-signed-apply-back govgate apply --sign-key $key
# A drop-in that adds --unlocked, and a restart: still locked, and said.
mkdir -p /run/systemd/system/govgate.service.d
printf '[Service]\nExecStart=\nExecStart=/usr/sbin/govgate run --unlocked\n' >/run/systemd/system/govgate.service.d/unlocked.conf
systemctl daemon-reload
check dropin-unlocked-restart systemctl restart govgate
check dropin-unlocked-still-locked sh -c "govgate status | grep -q '^locked: *yes'"
check dropin-unlocked-refusal-journaled sh -c "journalctl -u govgate -o cat _PID=$(show govgate MainPID) | grep -q -- '--unlocked refused'"
check dropin-unlocked-audited wait_for 10 audit_has '"event":"tamper_blocked"' '"op":"unlock"' '"via":"command line"'
check dropin-unlocked-enforcing [ "$(gg-exec /opt/workload/nc /run/gg-proof5)" = EPERM ]
# A drop-in that runs something else in govgate's cgroup before the daemon
# (as root can write one; "+": none of the unit's sandbox): that is not
# govgate's own, so it may not add a trusted key.
# Nor govgate's own binary started there as anything but `govgate run`.
printf '[Service]\nExecStartPre=-+/bin/sh -c "touch /run/gg-pre-ran; cp /etc/govgate/govgate.json /etc/govgate/trusted-keys/evil.pub"\nExecStartPre=-+/usr/sbin/govgate pack keygen --private /run/evil2.pem --public /etc/govgate/trusted-keys/evil2.pub\n' \
	>/run/systemd/system/govgate.service.d/pre.conf
systemctl daemon-reload
check dropin-pre-restart systemctl restart govgate
check dropin-pre-ran [ -e /run/gg-pre-ran ]
check dropin-pre-key-refused [ ! -e /etc/govgate/trusted-keys/evil.pub ]
check dropin-pre-govgate-key-refused [ ! -e /etc/govgate/trusted-keys/evil2.pub ]
check dropin-pre-audited wait_for 10 audit_has '"event":"tamper_blocked"' '"tamper":"policy_file_write"' '"target":"evil.pub"'
check dropin-pre-still-locked sh -c "govgate status | grep -q '^locked: *yes'"
# A key of root's, mounted by init over a trusted key in the running
# daemon's namespace (systemctl bind): systemd makes the mount in a task
# that is not init's own child, which locked mode refuses (were it made,
# the daemon pinned its keys when it locked: tests/unit/test_control.c),
# and the unlock it signs is refused.
govgate pack keygen --private /run/evil.key --public /run/evil.pub >/dev/null
check bind-key-mount-refused sh -c "! systemctl bind govgate /run/evil.pub /etc/govgate/trusted-keys/op.pub"
check bind-key-mount-audited wait_for 10 audit_has '"event":"tamper_blocked"' '"tamper":"mount"'
check bind-key-unlock-refused sh -c "! govgate unlock --sign-key /run/evil.key 2>/run/unlock.err"
check bind-key-unlock-says-why grep -q "which is not in" /run/unlock.err
check bind-key-still-locked sh -c "govgate status | grep -q '^locked: *yes'"
# applied.json of root's, mounted by init in a restart's namespace
# (BindReadOnlyPaths=): the restart sees a mount the lock did not, and
# refuses; the pinned gates keep enforcing.
echo '{"format":2,"generation":999999,"refs":[]}' >/run/evil-applied.json
printf '[Service]\nBindReadOnlyPaths=/run/evil-applied.json:/var/lib/govgate/applied.json\n' \
	>/run/systemd/system/govgate.service.d/bind.conf
systemctl daemon-reload
check bind-applied-restart-refused sh -c "! systemctl restart govgate"
check bind-applied-says-why sh -c "journalctl -u govgate -o cat | grep -q 'not the configuration they were locked with'"
check bind-applied-enforcing [ "$(gg-exec /opt/workload/nc /run/gg-proof6)" = EPERM ]
rm -r /run/systemd/system/govgate.service.d
systemctl daemon-reload
systemctl reset-failed govgate
check dropin-removed-restart systemctl restart govgate
pid1=$(show govgate MainPID)
c=$(count)
# init delivers it: what `kill -9` from a root shell could not
systemctl kill -s KILL govgate
check kill9-restarted-by-systemd wait_for 30 sh -c "[ \"\$(systemctl show -P MainPID govgate)\" != $pid1 ] && [ \"\$(systemctl show -P MainPID govgate)\" != 0 ] && [ \"\$(systemctl is-active govgate)\" = active ]"
check kill9-counted-as-restart [ "$(show govgate NRestarts)" -gt "$restarts0" ]
check loop-ran-across-kill9 progressed "$c"

check stop-succeeds systemctl stop govgate
check stopped-daemon-gone [ "$(show govgate MainPID)" = 0 ]
c=$(count)
check loop-ran-while-stopped progressed "$c"
check stopped-still-enforcing [ "$(gg-exec /opt/workload/nc /run/gg-proof2)" = EPERM ]
check stopped-pins-remain test -e /sys/fs/bpf/govgate/link-gg_exec_check
check start-again systemctl start govgate
c=$(count)
check loop-ran-after-start progressed "$c"
touch /run/gg-stop
wait $looper
info "denied-attempt loop: $(count) rounds of 5 attempts across restart, kill -9, stop, start"
check loop-no-leak [ ! -e /run/gg-leak ]
[[ -e /run/gg-leak ]] && info "leaks: $(head -n5 /run/gg-leak | tr '\n' ' ')"
check loop-denied-binary-never-ran [ ! -e /run/gg-proof ]
check loop-module-never-loaded sh -c '! grep -q "^nls_ascii " /proc/modules'

# ---- reload (SIGHUP): the config's packs, atomically ----------------------------
# Locked, the config is guarded and an unsigned reload is refused; a signed
# unlock opens both for maintenance, and a restart locks again.
cfg=/etc/govgate/govgate.json
cp $cfg /run/govgate.json.orig
check locked-config-write-refused sh -c "! cp /run/govgate.json.orig $cfg 2>/dev/null"
systemctl reload govgate
check locked-sighup-reload-refused wait_for 10 audit_has '"event":"tamper_blocked"' '"op":"reload"' '"via":"SIGHUP"'
check locked-signed-reload govgate reload --sign-key $key
check signed-unlock govgate unlock --sign-key $key
check unlocked-status sh -c "govgate status | grep -q '^locked: *no'"
# An agent's tool in its 0700 home, denied by identity (dev+inode): the
# daemon resolves it with stat() through ProtectHome=read-only and
# CAP_DAC_READ_SEARCH.
useradd -m -u 1000 -s /bin/sh agent
chmod 0700 /home/agent
install -o agent -m 0755 /opt/workload/tool /home/agent/tool
cat >/etc/govgate/agent-tools.json <<'JSON'
{ "name": "agent-tools", "version": "v1",
  "framework": { "id": "site", "title": "site policy" },
  "controls": [ { "id": "SITE-1", "title": "no unvetted agent tools", "status": "enforced" } ],
  "rules": [ { "id": "no-agent-tool", "gate": "cmd.exec", "controls": ["SITE-1"],
               "match": { "identities": ["/home/agent/tool"] } } ] }
JSON
as_agent() { setpriv --reuid=1000 --regid=1000 --clear-groups "$@"; }
check agent-tool-runs-before [ -z "$(as_agent gg-exec /home/agent/tool)" ]
g0=$(generation)
jq '.packs = ["owasp-llm-top10@v1", "/etc/govgate/agent-tools.json"]' /run/govgate.json.orig >$cfg
check reload-succeeds systemctl reload govgate
check reload-new-generation wait_for 20 sh -c "[ \"\$(govgate status --json | jq -r .generation)\" -gt $g0 ]"
check reload-pack-listed sh -c 'govgate status | grep -q "owasp-llm-top10@v1 \[enforce\]"'
check reload-still-active active
check reload-journaled wait_for 10 sh -c 'journalctl -u govgate -o cat | grep -q "reloaded /etc/govgate/govgate.json"'
check reload-audit-policy-applied wait_for 10 audit_has '"event":"policy_applied"' '"who":"govgate run (reload of /etc/govgate/govgate.json)"'
check reload-identity-rule-in-0700-home [ "$(as_agent gg-exec /home/agent/tool)" = EPERM ]
check reload-identity-audited wait_for 10 audit_has '"event":"command_denied"' '"SITE-1"' '"uid":1000'
gg-exec /opt/workload/nc >/dev/null
check reload-pack-controls-on-denial wait_for 10 audit_has '"event":"command_denied"' '"LLM06:2025"' 'FLOOR-EXEC-LOTL'
g1=$(generation)
jq '.packs = ["no-such-pack@v9"]' /run/govgate.json.orig >$cfg
systemctl reload govgate
check bad-reload-logged wait_for 20 sh -c 'journalctl -u govgate -o cat | grep -q "reload failed, the running policy stays: unknown ref no-such-pack@v9"'
check bad-reload-generation-unchanged [ "$(generation)" = "$g1" ]
check bad-reload-still-active active
check bad-reload-audited wait_for 10 audit_has '"event":"policy_apply_failed"' 'no-such-pack@v9'
check bad-reload-policy-kept sh -c 'govgate status | grep -q "owasp-llm-top10@v1 \[enforce\]"'
cp /run/govgate.json.orig $cfg
systemctl reload govgate
check reload-back-to-floor wait_for 20 sh -c 'govgate status | grep -qE "^packs: +platform-floor \(always\)$"'
check agent-tool-runs-after [ -z "$(as_agent gg-exec /home/agent/tool)" ]
check relock-restart systemctl restart govgate
check relocked sh -c "govgate status | grep -q '^locked: *yes'"

# ---- the audit log across all of it ----------------------------------------------
check audit-verify govgate audit verify
check audit-agent-restarts-recorded [ "$(grep -c '"event":"agent_started"' $audit)" -ge 4 ]
check journal-readiness-notified sh -c 'journalctl -u govgate -o cat | grep -q "enforcing (generation"'

# ---- hardening, as running ------------------------------------------------------------
pid=$(show govgate MainPID)
info "CapabilityBoundingSet: $(show govgate CapabilityBoundingSet)"
info "CapBnd of pid $pid: $(awk '/^CapBnd/ {print $2}' /proc/$pid/status), NoNewPrivs $(awk '/^NoNewPrivs/ {print $2}' /proc/$pid/status)"
info "systemd-analyze security: $(systemd-analyze security govgate --no-pager 2>/dev/null | tail -n1)"
check hardening-nonewprivs [ "$(awk '/^NoNewPrivs/ {print $2}' /proc/$pid/status)" = 1 ]
check hardening-capbnd-limited [ "$(awk '/^CapBnd/ {print $2}' /proc/$pid/status)" != 000001ffffffffff ]
check hardening-root-readonly nsenter -t "$pid" -m sh -c '! touch /usr/gg-rw-test 2>/dev/null'
# The unit lets the DNS forwarder make its inet sockets (a seccomp refusal
# reads "Address family not supported").
check hardening-dns-forwarder-sockets sh -c '! journalctl -u govgate -o cat | grep -q "dns: listen.*Address family not supported"'

if ((fails)); then # post-mortem on the serial console
	journalctl -b -u govgate -o short-monotonic --no-pager | tail -n 60 | sed 's/^/GGG-LOG /'
	systemctl --failed --no-legend --plain | sed 's/^/GGG-LOG failed unit: /'
fi
echo "GGG-DONE pass=$passes fail=$fails"
[[ $fails == 0 ]]
