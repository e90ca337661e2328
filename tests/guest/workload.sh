#!/bin/sh
# The workload of the guest test: runs as a dynamic user in its own service.
# Records when it started and what the kernel said to a denied exec and to a
# connect to the cloud metadata address. Everything else is checked by
# guest-test.sh.
out=${STATE_DIRECTORY:-/var/lib/workload}
{
	echo "uid=$(id -u)"
	echo "started_mono_us=$(awk '{printf "%d", $1 * 1000000}' /proc/uptime)"
	echo "exec=$(/usr/local/bin/gg-exec /opt/workload/nc "$out/proof-exec")"
	echo "connect=$(/usr/local/bin/gg-net connect 169.254.169.254 80)"
	echo "sendto=$(/usr/local/bin/gg-net sendto 169.254.169.254 53)"
	[ -e "$out/proof-exec" ] && echo "proof=ran" || echo "proof=none"
} >"$out/results" 2>&1
exit 0
