# Sourced by each host-tier script (bash): the repository root as the
# working directory, the binaries under test, tests/lib.sh, and the
# cgroup2 mount ($cg2) the script makes its cgroup in. Needs root.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
gg=${GG_BIN:-$root/build/govgate}
helpers=${GG_HELPERS:-$root/build/helpers}

. tests/lib.sh # pass, fail, check, wait_for

if [ "$(id -u)" -ne 0 ]; then
	echo "FAIL $(basename "$0" .sh)-host-tests-need-root"
	exit 1
fi
cg2=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)
if [ -z "$cg2" ]; then
	echo "FAIL $(basename "$0" .sh)-no-cgroup2-mount"
	exit 1
fi
