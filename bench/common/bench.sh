# Shell functions shared by the benchmark scripts (bench/run.sh, bench/http/run.sh,
# bench/aio/run.sh), sourced by them: the build directory argument, the interpreter,
# which servers are installed, the first lines of machine.txt, free ports, and
# stopping a server started under setsid by its pid. They run in the sourcing
# script's shell (set -euo pipefail) and set the variables they name.

bench_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# bench_evserve_build SCRIPT ARGS...: the one argument is a build directory holding
# an evserve binary; sets `build` and `evserve`, or exits with a usage message.
bench_evserve_build() {
    local script=$1
    shift
    if [ $# -ne 1 ]; then
        echo "usage: $script <build-dir>" >&2
        exit 2
    fi
    build=$(cd "$1" && pwd)
    evserve="$build/evserve"
    [ -x "$evserve" ] || { echo "$script: no evserve in $build" >&2; exit 1; }
}

# Sets `python` to Debian's interpreter, where python3-matplotlib puts matplotlib (a
# python3 found first on PATH, from pyenv or a virtualenv, may lack it).
bench_python() {
    python=/usr/bin/python3
    [ -x "$python" ] || python=python3
}

# bench_select_servers SCRIPT: sets `servers` to the names of `wanted` (an array)
# that `server_binary` (an associative array: name -> command) can run; an unknown
# name exits, a server that is not installed is left out with a message.
bench_select_servers() {
    local script=$1 name
    servers=()
    for name in "${wanted[@]}"; do
        if [ -z "${server_binary[$name]+x}" ]; then
            echo "$script: unknown server '$name'" >&2
            exit 2
        elif command -v "${server_binary[$name]}" >/dev/null; then
            servers+=("$name")
        else
            echo "$script: $name is not installed, left out (scripts/deps.sh bench)" >&2
        fi
    done
}

# The machine lines every machine.txt starts with.
bench_machine_lines() {
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "nproc: $(nproc)"
    echo "kernel: $(uname -r)"
    echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
    # The TCP settings that move the large-file rows (docs/BENCHMARKS.md, "1 MiB").
    echo "sysctl: net.ipv4.tcp_notsent_lowat=$(cat /proc/sys/net/ipv4/tcp_notsent_lowat)" \
        "tcp_wmem=$(tr '\t' ' ' </proc/sys/net/ipv4/tcp_wmem)" \
        "tcp_rmem=$(tr '\t' ' ' </proc/sys/net/ipv4/tcp_rmem)"
}

# The evserve under test: its version, the commit, the build type.
bench_evserve_lines() {
    echo "evserve: $("$evserve" -v 2>&1 | head -1)" \
        "($(git -C "$bench_root" describe --always --dirty 2>/dev/null || echo unknown))"
    echo "evserve build type: $(grep -m1 CMAKE_BUILD_TYPE: "$build/CMakeCache.txt" | cut -d= -f2)"
}

bench_free_port() {
    "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Whether any of the pids is a live process: not gone, and not a zombie (a master
# that exited stays one, and answers kill -0, until the script reaps it).
bench_alive() {
    local pid state
    for pid in "$@"; do
        state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || true
        [ -n "$state" ] && [ "$state" != Z ] && return 0
    done
    return 1
}

# bench_stop_group PID: stops a server that leads its own process group (setsid):
# SIGTERM to it, up to ten seconds for the master and its workers to exit, then
# SIGKILL to whatever is left of the group; reaps it.
bench_stop_group() {
    local pid=$1 k group=()
    kill -TERM "$pid" 2>/dev/null || true
    for ((k = 0; k < 100; k++)); do
        read -r -a group <<<"$(pgrep -g "$pid" | tr '\n' ' ')"
        bench_alive "${group[@]}" || break
        sleep 0.1
    done
    if bench_alive "${group[@]}"; then
        kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

# bench_cpu_ns PID: the CPU time in ns (schedstat) of a process, its threads, and its
# children's threads: a server's master and all its workers.
bench_cpu_ns() {
    local total=0 pid file
    for pid in "$1" $(pgrep -P "$1" || true); do
        for file in /proc/"$pid"/task/*/schedstat; do
            [ -r "$file" ] && total=$((total + $(cut -d' ' -f1 "$file" 2>/dev/null || echo 0)))
        done
    done
    echo "$total"
}

# bench_rotate SHIFT ITEM...: the items, one a line, starting at position SHIFT (mod
# their number): each repetition starts with a different one, so that noise on a
# shared machine lands on all alike.
bench_rotate() {
    local shift=$1 k
    shift
    local list=("$@") n=$#
    for ((k = 0; k < n; k++)); do
        echo "${list[$(((k + shift) % n))]}"
    done
}

# bench_finish OUT REPORT_PY [PLOT_NAME COPY]: the last lines of OUT/machine.txt (load
# average, duration since `started`), OUT/report.md from REPORT_PY, with the plot
# OUT/PLOT_NAME copied into docs/ when COPY is 1; prints the report.
bench_finish() {
    local out=$1 report=$2 plot=${3:-} copy=${4:-0} args=()
    echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/machine.txt"
    echo "duration: $((SECONDS - started)) s" >>"$out/machine.txt"
    [ -n "$plot" ] && args=(--plot "$out/$plot")
    "$python" "$report" "$out" "${args[@]}" >"$out/report.md"
    if [ -n "$plot" ] && [ "$copy" = 1 ] && [ -s "$out/$plot" ]; then
        cp "$out/$plot" "$bench_root/docs/$plot"
    fi
    cat "$out/report.md"
    echo "results: $out"
}
