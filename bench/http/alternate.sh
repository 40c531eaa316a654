#!/usr/bin/env bash
# A/B of HTTP servers that are already running, for a busy machine: wrk against each
# in turn (the order rotated every repetition, as run.sh does), and besides wrk's
# requests/s the CPU time each side spends per request, which moves far less with the
# machine's load than requests/s do:
#
#   client us/req  wrk's task-clock (perf stat) / requests: what the client's CPU pays
#                  per request, including the kernel's TCP work done in wrk's system
#                  calls and softirqs (on loopback, packets are processed by the CPU
#                  that sends them, so a server that leaves its data queued makes the
#                  client's CPU transmit it). When wrk is the bottleneck (its CPU at
#                  100%), requests/s = 1 / this.
#   server us/req  the server's CPU time (schedstat of the pid, its threads and its
#                  children: all workers) over the run / requests.
#   wrk cpu        wrk's task-clock / the run's length: 1.00 means its core was saturated.
#
#   bench/http/alternate.sh <reps> <seconds> <path> <keepalive|close> name:port:pid ...
#
# Prints one line per server: medians, then every repetition's values. wrk runs with
# one thread and EVS_BENCH_HTTP_CONNECTIONS (50) connections, pinned to CPU 1 unless
# EVS_BENCH_HTTP_CLIENT_CPU says otherwise ("" for no pinning). Nothing is started or
# stopped here; docs/BENCHMARKS.md ("1 MiB") shows how the servers were started.
set -euo pipefail

if [ $# -lt 5 ]; then
    echo "usage: $0 <reps> <seconds> <path> <keepalive|close> name:port:pid ..." >&2
    exit 2
fi
reps=$1 duration=$2 path=$3 mode=$4
shift 4
servers=("$@")
connections=${EVS_BENCH_HTTP_CONNECTIONS:-50}
client_cpu=${EVS_BENCH_HTTP_CLIENT_CPU-1}
for tool in wrk perf; do
    command -v "$tool" >/dev/null || { echo "$0: $tool is missing" >&2; exit 1; }
done
pin=()
[ -n "$client_cpu" ] && pin=(taskset -c "$client_cpu")
headers=()
[ "$mode" = close ] && headers=(-H "Connection: close")
# shellcheck source=bench/common/bench.sh
source "$(dirname "$0")/../common/bench.sh"
tmp=$(mktemp -d /tmp/evs-alternate.XXXXXX)
trap 'rm -rf "$tmp"' EXIT


median() {
    tr ' ' '\n' <<<"$*" | grep . | sort -g |
        awk '{v[NR] = $1} END {print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

declare -A rps=() client=() server=() load=()
n=${#servers[@]}
for ((rep = 0; rep < reps; rep++)); do
    for ((k = 0; k < n; k++)); do
        IFS=: read -r name port pid <<<"${servers[$(((k + rep) % n))]}"
        before=$(bench_cpu_ns "$pid")
        perf stat -e task-clock -x, -o "$tmp/perf" "${pin[@]}" wrk -t1 -c"$connections" \
            -d"${duration}s" "${headers[@]}" "http://127.0.0.1:$port/$path" >"$tmp/wrk" 2>&1
        after=$(bench_cpu_ns "$pid")
        requests=$(awk '/requests in/ {print $1}' "$tmp/wrk")
        ms=$(awk -F, '/task-clock/ {print $1}' "$tmp/perf")
        rps[$name]+=" $(awk '/^Requests\/sec/ {print $2}' "$tmp/wrk")"
        client[$name]+=" $(awk -v m="$ms" -v q="$requests" 'BEGIN {printf "%.1f", m * 1000 / q}')"
        server[$name]+=" $(awk -v a="$before" -v b="$after" -v q="$requests" \
            'BEGIN {printf "%.1f", (b - a) / 1000 / q}')"
        load[$name]+=" $(awk -v m="$ms" -v d="$duration" 'BEGIN {printf "%.2f", m / 1000 / d}')"
    done
done
printf "%-12s %10s %14s %14s %8s\n" server req/s "client us/req" "server us/req" "wrk cpu"
for entry in "${servers[@]}"; do
    name=${entry%%:*}
    printf "%-12s %10s %14s %14s %8s   [%s |%s |%s ]\n" "$name" "$(median ${rps[$name]})" \
        "$(median ${client[$name]})" "$(median ${server[$name]})" "$(median ${load[$name]})" \
        "${rps[$name]}" "${client[$name]}" "${server[$name]}"
done
