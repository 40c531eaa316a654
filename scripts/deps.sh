#!/usr/bin/env bash
# Installs what evserve needs to build, test and benchmark, from Debian's packages.
# Idempotent: packages already installed are skipped, and apt-get runs only when
# something is missing. Usage: scripts/deps.sh [build|test|bench|fuzz]...
set -euo pipefail

build=(g++ cmake ninja-build make pkg-config libgtest-dev libgmock-dev libpcre2-dev
       liburing-dev)
test=(curl python3 python3-prometheus-client strace)
bench=(libevent-dev libev-dev libuv1-dev libbenchmark-dev strace wrk nginx-light lighttpd h2o
       python3-matplotlib)
fuzz=(clang libclang-rt-14-dev)

want=()
[ $# -eq 0 ] && set -- build test
for group in "$@"; do
    case "$group" in
        build) want+=("${build[@]}") ;;
        test) want+=("${build[@]}" "${test[@]}") ;;
        bench) want+=("${build[@]}" "${bench[@]}") ;;
        fuzz) want+=("${build[@]}" "${fuzz[@]}") ;;
        *) echo "deps.sh: unknown group '$group'" >&2; exit 2 ;;
    esac
done

missing=()
for pkg in "${want[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$pkg")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# nginx, lighttpd and h2o are only ever run by the benchmarks, in the foreground
# from their own configurations. Installed as services they would all start on
# port 80 at once, and a package whose service fails to start can fail its
# installation; a policy-rc.d that forbids starting services during the install
# prevents that (where none exists already).
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# deps.sh: no services started during its install\nexit 101\n' |
        $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
    trap '$sudo rm -f "$policy"' EXIT
fi
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
