#!/usr/bin/env bash
# Runs the event-core benchmarks against libevent, libev, libuv and a bare epoll
# loop, and writes the results under bench/results/<time>/ (raw lines, a markdown
# report) with bench/results/latest pointing at the newest run.
#
#   bench/run.sh <build-dir>          (make bench builds build-bench and calls this)
#
# Implementations alternate within each repetition, in an order rotated from one
# repetition to the next, so that a burst of noise on a shared machine lands on
# every implementation alike; the report takes medians over repetitions.
# Environment: EVS_BENCH_REPS (8), EVS_BENCH_ITERATIONS (10), EVS_BENCH_TIMER_REPS (3),
# EVS_BENCH_TIMERS (10000000), EVS_BENCH_CALLGRIND (1: count user-space instructions
# under valgrind when it is installed), EVS_BENCH_NICE (1: run at nice -10 if allowed).
set -euo pipefail
# shellcheck source=bench/common/bench.sh
source "$(dirname "$0")/common/bench.sh"
bench_python

if [ $# -ne 1 ]; then
    echo "usage: $0 <build-dir>" >&2
    exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$(cd "$1" && pwd)/bench
[ -x "$bin/bench_event_evcore" ] || { echo "$0: no benchmarks in $bin" >&2; exit 1; }

reps=${EVS_BENCH_REPS:-8}
iterations=${EVS_BENCH_ITERATIONS:-10}
timer_reps=${EVS_BENCH_TIMER_REPS:-3}
timers=${EVS_BENCH_TIMERS:-10000000}
callgrind=${EVS_BENCH_CALLGRIND:-1}
impls=(epoll evcore libev libevent libuv)
timer_impls=(evcore libev libevent libuv)
pipe_counts=(100 1000 10000)
active=100
writes=10000

# On a shared machine a benchmark process is preempted now and then, and comes
# back to cold caches; a higher priority (where permitted: root or CAP_SYS_NICE)
# makes that rare. EVS_BENCH_NICE=0 runs at the default priority.
prio=()
if [ "${EVS_BENCH_NICE:-1}" = 1 ] && nice -n -10 true 2>/dev/null &&
    [ "$(nice -n -10 nice)" -lt "$(nice)" ]; then
    prio=(nice -n -10)
fi

out="$root/bench/results/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"
ln -sfn "$(basename "$out")" "$root/bench/results/latest"

version_of() {
    dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo unknown
}

{
    bench_machine_lines
    echo "libevent: $(version_of libevent-dev)"
    echo "libev: $(version_of libev-dev)"
    echo "libuv: $(version_of libuv1-dev)"
    compiler=$(grep -m1 CMAKE_CXX_COMPILER: "$1/CMakeCache.txt" | cut -d= -f2)
    echo "compiler: $compiler $("$compiler" -dumpfullversion 2>/dev/null)"
    echo "build type: $(grep -m1 CMAKE_BUILD_TYPE: "$1/CMakeCache.txt" | cut -d= -f2)"
    echo "source: $(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)"
    echo "open files limit: soft $(ulimit -Sn), hard $(ulimit -Hn)"
    echo "priority: ${prio[*]:-default}"
    echo "command: bench/run.sh $1 (EVS_BENCH_REPS=$reps EVS_BENCH_ITERATIONS=$iterations" \
        "EVS_BENCH_TIMER_REPS=$timer_reps EVS_BENCH_TIMERS=$timers)"
    echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$out/machine.txt"
cat "$out/machine.txt"

started=$SECONDS
# Each process runs the four variants (re-armed / registered once, each without and
# with idle timeouts) on one set of sockets.
run_pipes() {
    local impl=$1 n=$2
    shift 2
    "${prio[@]}" "$bin/bench_event_$impl" --pipes "$n" --active "$active" --writes "$writes" \
        "$@"
}

# 1. Time and CPU time: implementations interleaved, medians over repetitions.
echo "== pipes benchmark: $reps repetitions x ${#pipe_counts[@]} sizes x ${#impls[@]} programs"
for ((rep = 0; rep < reps; rep++)); do
    for n in "${pipe_counts[@]}"; do
        for impl in $(bench_rotate "$rep" "${impls[@]}"); do
            # A run that reports failures still prints its line; report.md flags it.
            run_pipes "$impl" "$n" --iterations "$iterations" |
                sed "s/^/rep=$rep /" >>"$out/pipes.txt" ||
                echo "   bench_event_$impl --pipes $n failed" >&2
        done
    done
    echo "   repetition $((rep + 1))/$reps done ($((SECONDS - started)) s)"
done

# 2. System calls per event: a separate short run with the raw_syscalls:sys_enter
# tracepoint counting (its cost would distort the timing).
echo "== system calls per event (perf raw_syscalls:sys_enter)"
for n in "${pipe_counts[@]}"; do
    for impl in "${impls[@]}"; do
        run_pipes "$impl" "$n" --iterations 3 --count-syscalls >>"$out/syscalls.txt" ||
            echo "   (no system call count for $impl)" >&2
    done
done

# 3. User-space instructions per event under callgrind: deterministic, where the
# tick-sampled user time of getrusage cannot separate close contenders. The
# program dumps one profile per variant (<file>.1 .. .4, in the order of its lines).
if [ "$callgrind" = 1 ] && command -v valgrind >/dev/null; then
    echo "== user-space instructions per event (valgrind --tool=callgrind)"
    mkdir -p "$out/callgrind"
    for n in "${pipe_counts[@]}"; do
        for impl in "${impls[@]}"; do
            file="$out/callgrind/$impl-$n.out"
            valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file="$file" \
                "$bin/bench_event_$impl" --pipes "$n" --active "$active" --writes "$writes" \
                --iterations 1 --callgrind 2>/dev/null >"$file.lines" ||
                echo "   callgrind run of $impl failed" >&2
            k=0
            while read -r line; do
                k=$((k + 1))
                ir=$(awk '/^totals:/ {print $2; exit}' "$file.$k" 2>/dev/null || true)
                echo "$line instructions=$ir" >>"$out/callgrind.txt"
            done <"$file.lines"
        done
    done
    echo "   done ($((SECONDS - started)) s)"
fi

# 4. 10M timers, each library in its own process.
echo "== $timers timers: $timer_reps repetitions x ${#timer_impls[@]}"
for ((rep = 0; rep < timer_reps; rep++)); do
    for impl in $(bench_rotate "$rep" "${timer_impls[@]}"); do
        "${prio[@]}" "$bin/bench_timers_$impl" --timers "$timers" |
            sed "s/^/rep=$rep /" >>"$out/timers.txt" ||
            echo "   bench_timers_$impl failed" >&2
    done
    echo "   repetition $((rep + 1))/$timer_reps done ($((SECONDS - started)) s)"
done

bench_finish "$out" "$root/bench/report.py"
