#!/usr/bin/env bash
# Host test of the DNS forwarder (issue 12): the fallback path, cgroup
# scope. The daemon, the test DNS server (gg-dns, the upstream, on
# 127.0.0.2:53) and the clients share one private network namespace with
# only loopback, which also holds the zone's addresses (10.91.0.0/24,
# fd91::/64: not loopback to the gate); nothing can leave the machine.
# Clients ask resolver addresses nobody listens on (10.91.0.53, fd91::53):
# their queries reach the forwarder only by the gates' rewrite.
. "$(dirname "$0")/common.sh" # root, gg, helpers, lib.sh, cg2; needs root
id=gg-dns-$$
cg=$cg2/$id
pin=/sys/fs/bpf/$id
ns=$id
tmp=$(mktemp -d /tmp/$id.XXXXXX)
log=$tmp/audit.jsonl
daemon_pid=
server_pid=
squat=

cleanup() {
	[ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
	[ -n "$squat" ] && kill "$squat" 2>/dev/null && wait "$squat" 2>/dev/null
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
	"$gg" stop --unload --pin-dir "$pin" >/dev/null 2>&1
	if [ -d "$cg" ]; then
		while read -r p; do echo "$p" >"$cg2/cgroup.procs" 2>/dev/null; done <"$cg/cgroup.procs"
		rmdir "$cg" 2>/dev/null
	fi
	ip netns del "$ns" 2>/dev/null
	[ -n "${GG_KEEP_LOG:-}" ] && cp "$log" "$GG_KEEP_LOG" && cp "$tmp/daemon.err" "$GG_KEEP_LOG.err"
	rm -rf "$tmp"
	[ -e "$pin" ] && echo "FAIL dns-cleanup-left-pins $pin"
}
trap cleanup EXIT

mount | grep -q ' /sys/fs/bpf type bpf' || mount -t bpf bpf /sys/fs/bpf
mkdir "$cg" "$tmp/state"
ip netns add "$ns" || { echo "FAIL dns-netns"; exit 1; }
inns() { nsenter --net="/run/netns/$ns" "$@"; }
inns ip link set lo up
for a in 10.91.0.1 10.91.0.2 10.91.0.3 10.91.0.4 10.91.0.5 10.91.0.6 10.91.0.7 10.91.0.8 10.91.0.9 10.91.0.11; do
	inns ip addr add $a/32 dev lo
done
inns ip addr add fd91::1/128 dev lo
cat >"$tmp/config.json" <<JSON
{ "pack_dirs": ["$root/packs"], "state_dir": "$tmp/state", "pin_dir": "$pin",
  "audit": { "path": "$log", "key": "$tmp/audit-key.pem" },
  "dns": { "listen": "127.0.0.1:5300", "upstream": "127.0.0.2:53", "ttl_min": 1, "ttl_max": 60 } }
JSON
cat >"$tmp/allow-dns.json" <<JSON
{ "name": "allow-dns", "version": "v1",
  "framework": { "id": "operator", "title": "operator policy" },
  "controls": [ { "id": "OP-DNS", "title": "default-deny egress", "status": "enforced" } ],
  "rules": [],
  "egress_allowlist": { "controls": ["OP-DNS"], "allow": [ "*.allowed.test" ] } }
JSON
# A domain entry narrowed to a port: its addresses are learned for that
# port and protocol only (the kernel looks up the key forms the slot's
# entries make: egress_state.learned_kinds). The apex is not under the
# wildcard, so only the narrowed entry allows it.
sed -e 's/allow-dns/allow-port/' \
	-e 's/"\*.allowed.test" \]/"*.allowed.test", { "domain": "allowed.test", "ports": [8020], "protocol": "tcp" } ]/' \
	"$tmp/allow-dns.json" >"$tmp/allow-port.json"
sed -e 's/allow-dns/allow-other/' -e 's/"\*.allowed.test"/"*.allowed.test", "10.92.0.0\/16"/' \
	"$tmp/allow-dns.json" >"$tmp/allow-other.json"

# In the test cgroup and the namespace.
in_scope() {
	bash -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' _ "$cg" \
		nsenter --net="/run/netns/$ns" "$@"
}
q() { in_scope "$helpers/gg-dns" query "$@"; } # ADDR PORT NAME TYPE [tcp]
pair() { in_scope "$helpers/gg-net" pair "$@"; }
audit_line() {
	local line pat
	line=$(cat "$log" 2>/dev/null)
	for pat in "$@"; do line=$(grep -F -- "$pat" <<<"$line"); done
	[ -n "$line" ]
}
audit_has() { wait_for 5 audit_line "$@"; }
started_or_dead() {
	grep -q "enforcing (generation" "$tmp/daemon.err" 2>/dev/null || ! kill -0 "$daemon_pid" 2>/dev/null
}
start_daemon() {
	: >"$tmp/daemon.err"
	nsenter --net="/run/netns/$ns" "$gg" run --config "$tmp/config.json" --scope "cgroup:$cg" \
		2>>"$tmp/daemon.err" &
	daemon_pid=$!
	wait_for 30 started_or_dead
	grep -q "enforcing (generation" "$tmp/daemon.err" && return 0
	cat "$tmp/daemon.err"
	return 1
}
stop_daemon() {
	kill "$daemon_pid" 2>/dev/null
	wait "$daemon_pid" 2>/dev/null
	daemon_pid=
}
apply() { "$gg" apply --config "$tmp/config.json" "$@" >/dev/null; }
alive() { kill -0 "$daemon_pid"; }
expired() { [ "$(pair 10.91.0.3 8016)" = EPERM ]; }

nsenter --net="/run/netns/$ns" "$helpers/gg-dns" serve 127.0.0.2 53 >/dev/null 2>&1 &
server_pid=$!
check dns-start start_daemon
check dns-forwarder-runs grep -q "dns: forwarding to 127.0.0.2:53" "$tmp/daemon.err"
# No other process binds the forwarder's UDP address too (with
# SO_REUSEADDR on both, the last one bound would take the queries)
cobind() {
	in_scope python3 -c 'import errno, socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", 5300)); print("bound")
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))'
}
check dns-listener-not-shared test "$(cobind)" = EADDRINUSE
# No allowlist: DNS is left alone (10.91.0.53 has no route here).
check dns-no-allowlist-untouched test "$(q 10.91.0.53 53 api.allowed.test A)" = error
check dns-no-allowlist-direct test "$(q 127.0.0.2 53 secret.attacker.test A)" = 10.91.0.9
check dns-apply apply "$tmp/allow-dns.json"
check dns-allowed-resolves test "$(q 10.91.0.53 53 api.allowed.test A)" = 10.91.0.1
check dns-allowed-connects test "$(pair 10.91.0.1 8001)" = ok
check dns-status-learned sh -c "'$gg' status --pin-dir '$pin' --config '$tmp/config.json' | grep -qE 'learned: [1-9][0-9]* addresses'"
check dns-denied-refused test "$(q 10.91.0.53 53 secret.attacker.test A)" = REFUSED
check dns-denied-audited audit_has '"event":"dns_denied"' '"name":"secret.attacker.test"' '"action":"deny"' '"controls":["OP-DNS"]' '"pack":"allow-dns@v1"'
check dns-unresolved-eperm test "$(pair 10.91.0.9 8002)" = EPERM
check dns-unresolved-audited audit_has '"event":"egress_blocked"' '"daddr":"10.91.0.9"' '"not_allowlisted":true' '"controls":["OP-DNS"]'
check dns-wildcard-not-apex test "$(q 10.91.0.53 53 allowed.test A)" = REFUSED
check dns-apex-unlearned-eperm test "$(pair 10.91.0.4 8003)" = EPERM
check dns-cname-target-resolves test "$(q 10.91.0.53 53 www.allowed.test A)" = 10.91.0.2
check dns-cname-target-connects test "$(pair 10.91.0.2 8004)" = ok
check dns-aaaa-resolves test "$(q 10.91.0.53 53 v6.allowed.test AAAA)" = fd91::1
check dns-aaaa-connects test "$(pair fd91::1 8005)" = ok
check dns-v6-resolver test "$(q fd91::53 53 api.allowed.test A)" = 10.91.0.1
# glibc's resolver (getent): a connected UDP socket to the nameserver
# of a resolv.conf (bind-mounted in a private mount namespace), which
# checks that the answer comes from the address it asked.
echo "nameserver 10.91.0.53" >"$tmp/resolv.conf"
glibc() {
	in_scope unshare -m sh -c 'mount --bind "$1" /etc/resolv.conf && getent ahostsv4 "$2"' _ \
		"$tmp/resolv.conf" "$1" | awk 'NR == 1 { print $1 }'
}
check dns-glibc-resolves test "$(glibc api.allowed.test)" = 10.91.0.1
check dns-glibc-denied test -z "$(glibc secret.attacker.test)"
check dns-tcp-resolves test "$(q 10.91.0.53 53 api.allowed.test A tcp)" = 10.91.0.1
check dns-tcp-denied-refused test "$(q 10.91.0.53 53 secret.attacker.test A tcp)" = REFUSED
# A flood of refused names: still refused, at most 20 records a second, the
# rest counted in an events_lost record (reason rate_limited).
flood_refused() { in_scope "$helpers/gg-dns" bench 10.91.0.53 53 flood.attacker.test 200 >/dev/null; }
flood_records() { grep -cF '"name":"flood.attacker.test"' "$log"; }
flood_refused
check dns-flood-records-limited test "$(flood_records)" -le 40
check dns-flood-counted audit_has '"event":"events_lost"' '"reason":"rate_limited"' '"records":"dns_denied"'
flood_all() { # every query a record or counted
	python3 -c '
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
n = sum(r.get("count", 0) for r in recs if r.get("reason") == "rate_limited")
sys.exit(n + sum(r.get("name") == "flood.attacker.test" for r in recs) != 200)' "$log"
}
check dns-flood-counted-all wait_for 5 flood_all
# Aimed at another resolver, even the upstream itself on loopback: the
# query still goes through govgate.
check dns-other-resolver test "$(q 10.91.0.77 53 api.allowed.test A)" = 10.91.0.1
check dns-upstream-direct-refused test "$(q 127.0.0.2 53 secret.attacker.test A)" = REFUSED
# An apply while a query is upstream (slow.allowed.test: answered 2 s
# late): the answer is delivered, and learned under the lists in force
# when it comes, none of which has the name (before, it was learned with
# the query's list bits, which the new policy read as its own list's)
sed -e 's/allow-dns/allow-narrow/' -e 's/"\*.allowed.test"/"api.allowed.test"/' \
	"$tmp/allow-dns.json" >"$tmp/allow-narrow.json"
q 10.91.0.53 53 slow.allowed.test A >"$tmp/slow.out" &
slow_pid=$!
sleep 0.5
check dns-apply-midquery apply "$tmp/allow-narrow.json"
wait $slow_pid
check dns-midquery-delivered test "$(cat "$tmp/slow.out")" = 10.91.0.11
check dns-midquery-unlearned test "$(pair 10.91.0.11 8029)" = EPERM
check dns-reapply apply "$tmp/allow-dns.json"
# Malformed (a compression loop) and truncated answers teach nothing.
check dns-malformed-servfail test "$(q 10.91.0.53 53 loop.allowed.test A)" = SERVFAIL
check dns-malformed-unlearned test "$(pair 10.91.0.5 8006)" = EPERM
check dns-malformed-alive alive
# The fuzz corpus replayed as the upstream's answers (each to a query for
# api.allowed.test: most are for other names, or malformed): the forwarder
# survives every one, learns nothing from the malformed ones, and answers
# from the real server again after.
kill "$server_pid"; wait "$server_pid" 2>/dev/null
nsenter --net="/run/netns/$ns" "$helpers/gg-dns" replay 127.0.0.2 53 tests/fuzz/corpus/dns/* >/dev/null 2>&1 &
server_pid=$!
for f in tests/fuzz/corpus/dns/*; do q 10.91.0.53 53 api.allowed.test A >/dev/null; done
check dns-replay-alive alive
check dns-replay-loop-unlearned test "$(pair 10.91.0.7 8014)" = EPERM
kill "$server_pid"; wait "$server_pid" 2>/dev/null
nsenter --net="/run/netns/$ns" "$helpers/gg-dns" serve 127.0.0.2 53 >/dev/null 2>&1 &
server_pid=$!
check dns-replay-then-resolves wait_for 5 sh -c "test \"\$(bash -c 'echo \$\$ >\"$cg/cgroup.procs\" && exec nsenter --net=/run/netns/$ns $helpers/gg-dns query 10.91.0.53 53 www.allowed.test A')\" = 10.91.0.2"
check dns-truncated-passed test "$(q 10.91.0.53 53 tc.allowed.test A)" = 10.91.0.6
# The truncated UDP answer teaches nothing, but the forwarder asks the
# upstream again over TCP and learns from that before it delivers it.
check dns-truncated-learned-over-tcp test "$(pair 10.91.0.6 8007)" = ok
# A TCP client: asked over TCP (over UDP this name's answer is always
# truncated, and a TCP client's query is not asked again).
check dns-tcp-upstream-answers test "$(q 10.91.0.53 53 tc2.allowed.test A tcp)" = 10.91.0.8
check dns-tcp-upstream-learned test "$(pair 10.91.0.8 8015)" = ok
# The upstream closes the TCP connection unanswered: SERVFAIL at once (not
# at the query's 4 s deadline), and the forwarder goes on.
closed_servfail() {
	local t0=$SECONDS r
	r=$(q 10.91.0.53 53 drop.allowed.test A tcp)
	[ "$r" = SERVFAIL ] && [ $((SECONDS - t0)) -le 2 ]
}
check dns-tcp-upstream-closed-servfail closed_servfail
# The upstream never answers: SERVFAIL at the query's deadline (4 s), and
# the forwarder goes on. Eight at once: more than any test before had in
# flight, so the last takes the highest pending slot yet used.
mute_all() {
	local i pids=()
	for i in 1 2 3 4 5 6 7 8; do
		q 10.91.0.53 53 mute.allowed.test A >"$tmp/mute.$i" &
		pids+=($!)
	done
	wait "${pids[@]}"
	for i in 1 2 3 4 5 6 7 8; do
		[ "$(cat "$tmp/mute.$i")" = SERVFAIL ] || return 1
	done
}
check dns-upstream-mute-servfail mute_all
check dns-upstream-mute-alive test "$(q 10.91.0.53 53 api.allowed.test A)" = 10.91.0.1
check dns-tcp-upstream-closed-alive test "$(q 10.91.0.53 53 api.allowed.test A tcp)" = 10.91.0.1
# TTL 1 s (ttl_min 1): allowed once resolved, denied after expiry.
check dns-short-resolves test "$(q 10.91.0.53 53 short.allowed.test A)" = 10.91.0.3
check dns-short-connects test "$(pair 10.91.0.3 8008)" = ok
check dns-short-expires wait_for 10 expired
# The denial names where the address came from.
check dns-expired-names-source audit_has '"event":"egress_blocked"' '"daddr":"10.91.0.3"' '"dns_names":["short.allowed.test"],"hook":"connect"'
check dns-short-reresolved test "$(q 10.91.0.53 53 short.allowed.test A)" = 10.91.0.3
check dns-short-connects-again test "$(pair 10.91.0.3 8009)" = ok
# A restart keeps the learned rows (egress_learned is pinned; the lists
# are the same): connects without a new query, while down and after.
stop_daemon
check dns-down-learned-connects test "$(pair 10.91.0.1 8010)" = ok
check dns-restart start_daemon
check dns-restart-learned-connects test "$(pair 10.91.0.1 8011)" = ok
check dns-restart-resolves test "$(q 10.91.0.53 53 api.allowed.test A)" = 10.91.0.1
stop_daemon
# While no forwarder listens, DNS is not rewritten to its port: what binds
# it then (a server of the zone here, a governed task's in an attack) is
# asked nothing, before a start and after one that found the port taken
# (which runs without a forwarder)
nsenter --net="/run/netns/$ns" "$helpers/gg-dns" serve 127.0.0.1 5300 >/dev/null 2>&1 &
squat=$!
sleep 0.5
check dns-down-not-rewritten test "$(q 10.91.0.53 53 api.allowed.test A)" = error
check dns-squatted-start start_daemon
check dns-squatted-no-forwarder grep -q "the DNS forwarder is not running" "$tmp/daemon.err"
check dns-squatted-not-rewritten test "$(q 10.91.0.53 53 api.allowed.test A)" = error
# and keeps no learned row: none could be checked against the lists of a
# later apply
check dns-squatted-learned-cleared test "$(pair 10.91.0.1 8023)" = EPERM
stop_daemon
kill $squat
wait $squat 2>/dev/null
squat=
check dns-unsquatted-start start_daemon
check dns-unsquatted-resolves test "$(q 10.91.0.53 53 api.allowed.test A)" = 10.91.0.1
# Other lists: the rows are cleared, names are learned again.
check dns-apply-other apply "$tmp/allow-other.json"
check dns-other-lists-cleared test "$(pair 10.91.0.1 8012)" = EPERM
check dns-other-lists-relearned test "$(q 10.91.0.53 53 api.allowed.test A)" = 10.91.0.1
check dns-other-lists-connects test "$(pair 10.91.0.1 8013)" = ok
check dns-apply-port apply "$tmp/allow-port.json"
check dns-port-entry-resolves test "$(q 10.91.0.53 53 allowed.test A)" = 10.91.0.4
check dns-port-entry-connects test "$(pair 10.91.0.4 8020)" = ok
check dns-port-entry-other-port-eperm test "$(pair 10.91.0.4 8021)" = EPERM
check dns-port-wildcard-resolves test "$(q 10.91.0.53 53 api.allowed.test A)" = 10.91.0.1
check dns-port-wildcard-any-port test "$(pair 10.91.0.1 8022)" = ok
# Observe: forwarded and recorded.
check dns-apply-observe apply --mode observe "$tmp/allow-dns.json"
check dns-observe-forwarded test "$(q 10.91.0.53 53 secret.attacker.test A)" = 10.91.0.9
check dns-observe-audited audit_has '"event":"dns_denied"' '"name":"secret.attacker.test"' '"action":"observe"'
check dns-observe-connects test "$(pair 10.91.0.9 8015)" = ok
check dns-observe-names-source audit_has '"event":"egress_blocked"' '"daddr":"10.91.0.9"' '"dport":8015' '"action":"observe"' '"dns_names":["secret.attacker.test"]'
stop_daemon
# The report counts refused names as denials of net.egress, crediting the
# list's controls.
"$gg" report --json --config "$tmp/config.json" "$log" >"$tmp/report.json" 2>"$tmp/report.err"
check dns-report-counts python3 -c "import json,sys; r=json.load(open(sys.argv[1])); \
d=[x for x in r['denials_by_gate'] if x['event'] == 'dns_denied']; \
assert d and d[0]['gate'] == 'net.egress' and d[0]['count'] >= 4, r['denials_by_gate']; \
assert any(c['control'] == 'OP-DNS' for c in r['denials_by_control']), r['denials_by_control']" "$tmp/report.json"
echo "# dns host tests: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
