#!/bin/bash
# Runs the recipes of docs/operators.md in the guest and prints each command
# ("$ cmd") with its real output, for pasting into the document:
#   tests/guest/run.sh --run tests/guest/recipes.sh
#   sed -n '/^@@ BEGIN/,/^@@ END/p' build/guest/serial.log
# (Not a test: it always reports GGG-DONE pass=0 fail=0.)
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export SYSTEMD_PAGER='' SYSTEMD_COLORS=0 COLUMNS=200 TERM=dumb
cd /root || exit 1
run() { # through a pipe: no tty, so no colours
	echo "\$ $*"
	bash -c "$*" 2>&1 | cat
	local rc=${PIPESTATUS[0]}
	((rc == 0)) || echo "[exit status $rc]"
}
section() { echo; echo "@@ == $*"; }
log=/var/log/govgate/audit.jsonl
# mark before an action, settle PATTERN after it: waits (up to 10 s) for a
# record written since the mark that contains PATTERN, not a fixed time.
mark() { from=$(($(wc -l <$log) + 1)); }
settle() {
	for _ in $(seq 100); do
		tail -n +"$from" $log | grep -qF -- "$1" && return 0
		sleep 0.1
	done
}

echo "@@ BEGIN"
section "what is running"
run systemctl status govgate --no-pager -l -n 8
run govgate status
run "systemctl show govgate -p ActiveEnterTimestampMonotonic; systemctl show basic.target -p ActiveEnterTimestampMonotonic"

section "what is attached"
run ls /sys/fs/bpf/govgate
run "bpftool link show | grep -A2 -E 'prog [0-9]+ *\$|tracing|perf_event' | head -n 40"
run "bpftool prog show | grep -A3 ' name gg_' | head -n 24"
run cat /sys/kernel/security/lsm

section "which rules are in which map"
run "govgate compile --json | jq -c '.entries[] | {id, gate, action, controls, rules: [.rules[] | .pack + \"/\" + .rule]}'"
run bpftool map dump pinned /sys/fs/bpf/govgate/policy_state
run "bpftool map dump pinned /sys/fs/bpf/govgate/exec_name | head -n 28"
run "govgate status | grep ^ranges"
run bpftool map dump pinned /sys/fs/bpf/govgate/egress_range_v4
run "bpftool map show id \$(govgate status --json | jq .egress_ranges.v4.map_id)"
run "bpftool map dump id \$(govgate status --json | jq .egress_ranges.v4.map_id) | head -n 42"
run "bpftool map dump pinned /sys/fs/bpf/govgate/egress_v4 | head -n 30"
run bpftool map dump pinned /sys/fs/bpf/govgate/module_policy

section "a denial, and the rule behind it"
mark
run "/usr/local/bin/gg-exec /opt/workload/nc; /usr/local/bin/gg-net connect 169.254.169.254 80"
settle '"event":"egress_blocked"'
run govgate audit tail -n 3
run "jq -c 'select(.event == \"command_denied\") | {ts, generation, pack, rule, rules, controls, path, match, comm, uid}' /var/log/govgate/audit.jsonl | tail -n 1"
run "jq -c '.policy.entries[] | select(.gate == \"cmd.exec\")' /var/lib/govgate/generations/\$(jq .generation /var/lib/govgate/applied.json).json"
run "journalctl -u govgate GOVGATE_EVENT=command_denied -o verbose -n 1 | grep -E '^ *(MESSAGE|GOVGATE_|_SYSTEMD_UNIT)'"
run "journalctl -u govgate -o cat GOVGATE_GATE=net.egress -n 2"

section "counters"
run govgate status --json

section "pushing a pack update: observe first"
run govgate packs show owasp-llm-top10@v1
run govgate apply --sign-key /root/op.key owasp-llm-top10@v1 --mode observe
mark
run /usr/local/bin/gg-net connect 10.1.2.3 443
settle '"daddr":"10.1.2.3"'
run "jq -c 'select(.event == \"egress_blocked\" and .daddr == \"10.1.2.3\") | {action, rule, controls, daddr, dport}' /var/log/govgate/audit.jsonl"
run govgate apply --sign-key /root/op.key --add owasp-llm-top10@v1 --mode enforce
mark
run /usr/local/bin/gg-net connect 10.1.2.3 443
settle '"daddr":"10.1.2.3"'
run "jq -c 'select(.event == \"egress_blocked\" and .daddr == \"10.1.2.3\") | {action, generation, rule, controls}' /var/log/govgate/audit.jsonl"
run govgate status

section "a bad pack changes nothing"
run "jq '.rules[0].match.basenames[0] = \"a/b\"' /usr/share/govgate/packs/owasp-mcp.json > /root/bad-pack.json; govgate apply --sign-key /root/op.key /root/bad-pack.json"
run "govgate status | sed -n 5,6p"

section "rolling back"
run cat /var/lib/govgate/applied.json
run ls /var/lib/govgate/generations
run "for g in /var/lib/govgate/generations/*.json; do jq -c '{generation, who, refs}' \$g; done"
mark
run govgate apply --sign-key /root/op.key owasp-llm-top10@v1 --mode observe
run "govgate status | sed -n 5,6p"
settle '"event":"policy_applied"'
run "jq -c 'select(.event | startswith(\"policy_\")) | {seq, event, generation, who, refs}' /var/log/govgate/audit.jsonl | tail -n 4"

section "locked mode: unsigned requests are refused"
mark
run "govgate apply owasp-agentic@v1; echo \$?"
run "govgate status | sed -n 7,10p"
settle '"refused":"unsigned"'
run "jq -c 'select(.event == \"tamper_blocked\") | {tamper, op, refused, controls, comm, uid}' /var/log/govgate/audit.jsonl | tail -n 2"

section "reload from the config file (unlocked for maintenance)"
run govgate unlock --sign-key /root/op.key
run "jq '.packs = [\"owasp-agentic@v1\", {\"ref\": \"owasp-mcp@v1\", \"mode\": \"observe\"}]' /etc/govgate/govgate.json > /run/c.json && cp /run/c.json /etc/govgate/govgate.json"
mark
run systemctl reload govgate
settle '"event":"policy_applied"'
run "journalctl -u govgate -o cat -n 2"
run "govgate status | sed -n 5,6p"

run systemctl restart govgate
run "govgate status | grep ^locked"

section "verifying the audit log"
run govgate audit verify
run "govgate audit verify --json | head -n 20"
run ls -l /var/log/govgate /var/lib/govgate

section "restart behaviour"
run systemctl restart govgate
run "journalctl -u govgate -o cat -n 7"
run systemctl stop govgate
run "govgate status | head -n 3; /usr/local/bin/gg-exec /opt/workload/nc"
run systemctl start govgate
run "systemctl kill -s KILL govgate; for i in \$(seq 100); do [ \$(systemctl show govgate -p NRestarts --value) -ge 1 ] && systemctl is-active -q govgate && break; sleep 0.1; done; systemctl show govgate -p NRestarts -p MainPID -p ActiveState"

section "exit codes"
run "govgate status >/dev/null; echo \$?"
run "govgate frobnicate; echo \$?"
run "govgate apply no-such-pack@v1; echo \$?"
run "govgate audit verify >/dev/null; echo \$?"
run "govgate stop --unload --sign-key /root/op.key; govgate status >/dev/null; echo \$?"
run "for i in \$(seq 40); do r=\$(/usr/local/bin/gg-exec /opt/workload/nc /tmp/ran); [ -e /tmp/ran ] && break; sleep 0.25; done; echo \"after \$i tries: \${r:-ran}\"; ls /tmp/ran"
run "systemctl start govgate; govgate status | head -n 1"
echo "@@ END"
echo "GGG-DONE pass=0 fail=0"
