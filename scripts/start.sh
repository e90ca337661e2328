#!/usr/bin/env bash
# `make start`: runs the agent in the foreground with the platform floor.
# SCOPE is "global" inside a guest; the default, a demo cgroup, keeps a
# developer's own machine ungoverned (put a shell in it to try it:
# echo $$ > /sys/fs/cgroup/.../govgate-demo/cgroup.procs).
set -euo pipefail
cd "$(dirname "$0")/.."
scope=${1:-cgroup:govgate-demo}
if [[ $scope == cgroup:* ]]; then
	cg2=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)
	dir=${scope#cgroup:}
	[[ $dir == /* && -d $dir ]] || dir=$cg2/${dir#/}
	mkdir -p "$dir"
	scope=cgroup:$dir
	echo "start: governing cgroup $dir (echo \$\$ > $dir/cgroup.procs to enter it)"
fi
mkdir -p /var/log/govgate /var/lib/govgate
exec build/govgate run --scope "$scope"
