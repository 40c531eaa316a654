#!/usr/bin/env bash
# Serves one document root (files of 13 B, 4 KiB and 1 MiB) with evserve, nginx,
# lighttpd and h2o side by side on 127.0.0.1 and measures, for each server:
#
#   1. requests/s and p50 / p99 latency under wrk, keepalive and `Connection: close`,
#      with 1 worker (server on CPU 0, wrk on CPU 1) and with 2 workers, and the CPU
#      time per request of each side (the server's master and workers from
#      schedstat, wrk's from bash's `times`): where wrk's core is saturated,
#      requests/s measure the client, and the server's CPU per request is what
#      tells the servers apart;
#   2. system calls per request (strace -f -c on the workers while
#      fixed_requests.py sends exactly N requests), 1 worker;
#   3. memory per idle keepalive connection (Pss and RSS of the workers before and
#      with idle_connections.py holding 10,000 connections open), 1 worker.
#
#   bench/http/run.sh <build-dir>     (make bench-http builds build-bench and calls this)
#
# Results go to bench/results/http-<time>/ (machine.txt, the raw lines load.txt,
# syscalls.txt, memory.txt, the wrk and strace outputs, report.md and
# bench-http.png made by bench/http/report.py); bench/results/latest-http points at
# the newest run, and the plot is copied to docs/bench-http.png.
#
# Servers alternate within each repetition, in an order rotated from one
# repetition to the next, so that a burst of noise on a shared machine lands on
# every server alike; the report takes medians over repetitions. Every server is
# started in the foreground from a generated configuration in a temporary
# directory, and stopped by its pid when the script ends, however it ends.
#
# Environment (defaults: about 15 minutes in all):
#   EVS_BENCH_HTTP_DURATION (5)   seconds per wrk run
#   EVS_BENCH_HTTP_REPS (3)       repetitions of the load runs
#   EVS_BENCH_HTTP_CONNECTIONS (50)  wrk connections (-c), one wrk thread (-t1)
#   EVS_BENCH_HTTP_WORKERS ("1 2")   worker counts of the load runs
#   EVS_BENCH_HTTP_SERVERS ("evserve nginx lighttpd h2o")  a subset to compare
#   EVS_BENCH_HTTP_REQUESTS (1000)   requests per system-call count
#   EVS_BENCH_HTTP_IDLE (10000)      idle connections of the memory measurement
#   EVS_BENCH_HTTP_PLOT (1)          copy the plot to docs/bench-http.png
#   EVS_BENCH_HTTP_EVSERVE_LISTEN ("")  extra parameters of evserve's listen line, e.g.
#                                    "notsent_lowat=32k" (recorded in machine.txt)
set -euo pipefail

# shellcheck source=bench/common/bench.sh
source "$(dirname "$0")/../common/bench.sh"
bench_evserve_build "$0" "$@"
root=$bench_root
here="$root/bench/http"

duration=${EVS_BENCH_HTTP_DURATION:-5}
reps=${EVS_BENCH_HTTP_REPS:-3}
connections=${EVS_BENCH_HTTP_CONNECTIONS:-50}
read -r -a worker_counts <<<"${EVS_BENCH_HTTP_WORKERS:-1 2}"
read -r -a wanted <<<"${EVS_BENCH_HTTP_SERVERS:-evserve nginx lighttpd h2o}"
requests=${EVS_BENCH_HTTP_REQUESTS:-1000}
idle=${EVS_BENCH_HTTP_IDLE:-10000}
evserve_listen=${EVS_BENCH_HTTP_EVSERVE_LISTEN:-}
sizes=(13B 4KiB 1MiB)
declare -A size_bytes=([13B]=13 [4KiB]=4096 [1MiB]=1048576)
modes=(keepalive close)

bench_python
for tool in wrk strace taskset "$python" ss; do
    command -v "$tool" >/dev/null || { echo "$0: $tool is missing (scripts/deps.sh bench)" >&2; exit 1; }
done
declare -A server_binary=([evserve]="$evserve" [nginx]=nginx [lighttpd]=lighttpd [h2o]=h2o)
bench_select_servers "$0"

# 10,000 idle connections need as many descriptors in the client and in the
# server; every process started from here inherits the raised limit.
ulimit -n "$(ulimit -Hn)"
nofile=$(ulimit -n)
if [ "$nofile" != unlimited ] && [ "$idle" -gt $((nofile - 512)) ]; then
    echo "$0: open-files limit $nofile: $((nofile - 512)) idle connections instead of $idle" >&2
    idle=$((nofile - 512))
fi
# Connection slots per worker: the idle connections, wrk's, and some to spare.
slots=$((idle + 1024))
[ "$nofile" != unlimited ] && [ "$slots" -gt "$nofile" ] && slots=$nofile

# On a machine with two or more CPUs the 1-worker rows pin the server to CPU 0 and
# the client to CPU 1; with 2 workers nothing is pinned (on 2 CPUs the server and
# the client then share them).
cpus=$(nproc)
pin_server=()
pin_client=()
set_pinning() {
    pin_server=()
    pin_client=()
    if [ "$1" = 1 ] && [ "$cpus" -ge 2 ]; then
        pin_server=(taskset -c 0)
        pin_client=(taskset -c 1)
    fi
}

out="$root/bench/results/http-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out/wrk" "$out/strace"
ln -sfn "$(basename "$out")" "$root/bench/results/latest-http"
tmp=$(mktemp -d /tmp/evs-bench-http.XXXXXX)
# Workers started by root run as nobody and must be able to read the files.
chmod 755 "$tmp"

declare -A server_pid=() server_port=()
background=() # the client or tracer running in the background, until reaped

stop_server() {
    local name=$1 pid=${server_pid[$1]:-}
    [ -n "$pid" ] || return 0
    unset "server_pid[$name]"
    bench_stop_group "$pid"
}

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    for pid in "${background[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for name in "${!server_pid[@]}"; do
        stop_server "$name"
    done
    for pid in "${background[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$tmp"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

version_of() {
    dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "not installed"
}

# The document root, shared by every server.
mkdir -p "$tmp/html"
head -c 12 /dev/zero | tr '\0' 'x' >"$tmp/html/13B"
echo >>"$tmp/html/13B"
head -c 4096 /dev/urandom >"$tmp/html/4KiB"
head -c 1048576 /dev/urandom >"$tmp/html/1MiB"
chmod 755 "$tmp/html"
chmod 644 "$tmp/html"/*

# evserve accepts open_file_cache once it exists (another branch adds it): the
# configuration carries it only when `evserve -t` accepts it, so that evserve and
# nginx run with the same directives wherever evserve can.
evserve_open_file_cache=no
write_evserve_conf() {
    local workers=$1 port=$2 cache=$3 dir="$tmp/evserve"
    mkdir -p "$dir/conf" "$dir/logs"
    cat >"$dir/conf/evserve.conf" <<EOF
worker_processes $workers;
worker_rlimit_nofile $nofile;
error_log logs/error.log warn;
pid logs/evserve.pid;
events {
    worker_connections $slots;
    multi_accept on;
}
http {
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 300s;
    keepalive_requests 1000000;
$([ "$cache" = yes ] && echo "    open_file_cache max=1000 inactive=20s;")
    server {
        listen 127.0.0.1:$port deferred${evserve_listen:+ $evserve_listen};
        server_name localhost;
        location / {
            root $tmp/html;
        }
    }
}
EOF
}

write_nginx_conf() {
    local workers=$1 port=$2 dir="$tmp/nginx"
    mkdir -p "$dir"
    cat >"$dir/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes $workers;
worker_rlimit_nofile $nofile;
error_log $dir/error.log warn;
pid $dir/nginx.pid;
events {
    worker_connections $slots;
    multi_accept on;
}
http {
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 300s;
    keepalive_requests 1000000;
    open_file_cache max=1000 inactive=20s;
    client_body_temp_path $dir/body;
    server {
        listen 127.0.0.1:$port deferred;
        server_name localhost;
        location / {
            root $tmp/html;
        }
    }
}
EOF
}

# The accept strategy is the same everywhere: h2o 2.2 always sets TCP_DEFER_ACCEPT
# (1 s) on its listeners and accepts until EAGAIN, lighttpd accepts in a loop until
# EAGAIN too; so evserve and nginx listen `deferred` with `multi_accept on`, and
# lighttpd gets server.defer-accept = 1. Without it, the three that do not defer wake
# once for the handshake and once more for the request of every new connection
# (see docs/BENCHMARKS.md, "The close path").
#
# lighttpd is one process; server.max-worker forks that many copies of it
# (lighttpd calls it experimental). No mod_accesslog: no access log. Its error log
# is stderr, which lands in $tmp/lighttpd.out (lighttpd opens a log file only
# after dropping to nobody).
write_lighttpd_conf() {
    local workers=$1 port=$2 dir="$tmp/lighttpd"
    mkdir -p "$dir"
    {
        echo "server.document-root = \"$tmp/html\""
        echo "server.bind = \"127.0.0.1\""
        echo "server.port = $port"
        echo "server.event-handler = \"linux-sysepoll\""
        echo "server.network-backend = \"sendfile\""
        echo "server.defer-accept = 1"
        echo "server.max-fds = $nofile"
        echo "server.max-connections = $slots"
        echo "server.max-keep-alive-requests = 65535"
        echo "server.max-keep-alive-idle = 300"
        [ "$workers" -gt 1 ] && echo "server.max-worker = $workers"
        if [ "$(id -u)" = 0 ]; then
            echo "server.username = \"nobody\""
            echo "server.groupname = \"nogroup\""
        fi
    } >"$dir/lighttpd.conf"
}

# h2o in its default worker mode: one process, num-threads event loops. Without
# access-log no access log is written. http1-request-timeout is its keepalive
# idle timeout. No pid-file or error-log: h2o opens them after dropping to nobody;
# errors go to stderr ($tmp/h2o.out).
write_h2o_conf() {
    local workers=$1 port=$2 dir="$tmp/h2o"
    mkdir -p "$dir"
    {
        echo "listen:"
        echo "  host: 127.0.0.1"
        echo "  port: $port"
        echo "num-threads: $workers"
        echo "max-connections: $slots"
        echo "http1-request-timeout: 300"
        [ "$(id -u)" = 0 ] && echo "user: nobody"
        echo "hosts:"
        echo "  default:"
        echo "    paths:"
        echo "      /:"
        echo "        file.dir: $tmp/html"
    } >"$dir/h2o.conf"
}

# The processes that serve requests: for the pre-forking servers, the master's
# children; lighttpd with one worker and h2o (threads) serve in the process itself.
worker_processes() {
    case "$1" in
        evserve | nginx | lighttpd) echo "$2" ;;
        h2o) echo 1 ;;
    esac
}

worker_pids() {
    local name=$1 workers=$2 pid=${server_pid[$1]}
    case "$name" in
        evserve | nginx) pgrep -P "$pid" || true ;;
        lighttpd) if [ "$workers" -gt 1 ]; then pgrep -P "$pid" || true; else echo "$pid"; fi ;;
        h2o) echo "$pid" ;;
    esac
}

start_server() {
    local name=$1 workers=$2 port
    port=$(bench_free_port)
    server_port[$name]=$port
    local command=()
    case "$name" in
        evserve)
            write_evserve_conf "$workers" "$port" "$evserve_open_file_cache"
            command=("$evserve" -p "$tmp/evserve" -c conf/evserve.conf -g "daemon off;")
            ;;
        nginx)
            write_nginx_conf "$workers" "$port"
            command=(nginx -p "$tmp/nginx/" -c "$tmp/nginx/nginx.conf" -e "$tmp/nginx/error.log")
            ;;
        lighttpd)
            write_lighttpd_conf "$workers" "$port"
            command=(lighttpd -D -f "$tmp/lighttpd/lighttpd.conf")
            ;;
        h2o)
            write_h2o_conf "$workers" "$port"
            command=(h2o -c "$tmp/h2o/h2o.conf")
            ;;
    esac
    "${pin_server[@]}" setsid "${command[@]}" >"$tmp/$name.out" 2>&1 &
    server_pid[$name]=$!
    # Up when it answers a request correctly and all its workers exist.
    local k
    for ((k = 0; k < 100; k++)); do
        if ! kill -0 "${server_pid[$name]}" 2>/dev/null; then
            echo "$0: $name exited at start:" >&2
            cat "$tmp/$name.out" >&2
            exit 1
        fi
        if "$python" "$here/fixed_requests.py" --port "$port" --path /13B --size 13 --count 1 \
            >/dev/null 2>&1 && [ "$(worker_pids "$name" "$workers" | wc -l)" -ge "$(worker_processes "$name" "$workers")" ]; then
            return 0
        fi
        sleep 0.1
    done
    echo "$0: $name did not come up on port $port:" >&2
    cat "$tmp/$name.out" >&2
    exit 1
}

start_all() {
    for name in "${servers[@]}"; do
        start_server "$name" "$1"
    done
}

stop_all() {
    for name in "${servers[@]}"; do
        stop_server "$name"
    done
}

# Sum of a field (kB) of /proc/<pid>/smaps_rollup over the given pids.
memory_kb() {
    local field=$1
    shift
    local total=0 value pid
    for pid in "$@"; do
        value=$(awk -v f="$field:" '$1 == f {print $2}' "/proc/$pid/smaps_rollup")
        total=$((total + value))
    done
    echo "$total"
}

# The children's CPU time (user + system, in ns) from the second line of bash's
# `times` ("0m1.230s 0m2.540s").
cpu_of_times() {
    awk 'NR == 2 {
        total = 0
        for (i = 1; i <= 2; i++) {
            split($i, t, "m")
            total += t[1] * 60 + (t[2] + 0)
        }
        printf "%.0f\n", total * 1e9
    }' "$1"
}

# wrk's summary as one line of key=value (latencies in microseconds).
parse_wrk() {
    awk '
        function us(v) {
            if (v ~ /us$/) return v + 0
            if (v ~ /ms$/) return v * 1000
            if (v ~ /m$/) return v * 60e6
            if (v ~ /s$/) return v * 1e6
            return v
        }
        /^ +50%/ { p50 = us($2) }
        /^ +99%/ { p99 = us($2) }
        /requests in/ { total = $1 }
        /Socket errors:/ { gsub(/,/, ""); errors = $4 + $6 + $8 + $10 }
        /Non-2xx or 3xx/ { non2xx = $NF }
        /^Requests\/sec:/ { rps = $2 }
        END {
            printf "rps=%s p50_us=%s p99_us=%s requests=%s socket_errors=%d non2xx=%d\n",
                rps, p50, p99, total, errors, non2xx
        }' "$1"
}

{
    bench_machine_lines
    bench_evserve_lines
    echo "nginx: $(version_of nginx-light) (nginx-light; nginx $(version_of nginx))"
    echo "lighttpd: $(version_of lighttpd)"
    echo "h2o: $(version_of h2o)"
    echo "wrk: $(version_of wrk)"
    echo "servers: ${servers[*]}"
    echo "command: bench/http/run.sh $1 (EVS_BENCH_HTTP_DURATION=$duration EVS_BENCH_HTTP_REPS=$reps" \
        "EVS_BENCH_HTTP_CONNECTIONS=$connections EVS_BENCH_HTTP_WORKERS=\"${worker_counts[*]}\"" \
        "EVS_BENCH_HTTP_REQUESTS=$requests EVS_BENCH_HTTP_IDLE=$idle" \
        "EVS_BENCH_HTTP_EVSERVE_LISTEN=\"$evserve_listen\")"
    echo "open files limit: $nofile; connection slots per worker: $slots"
    echo "evserve listen parameters: deferred${evserve_listen:+ $evserve_listen}"
    echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$out/machine.txt"

# Does this evserve know open_file_cache?
write_evserve_conf 1 "$(bench_free_port)" yes
if "$evserve" -p "$tmp/evserve" -c conf/evserve.conf -t -q >/dev/null 2>&1; then
    evserve_open_file_cache=yes
fi
echo "evserve open_file_cache: $evserve_open_file_cache" >>"$out/machine.txt"
cat "$out/machine.txt"

started=$SECONDS

# 3. Memory per idle connection, on freshly started servers, one at a time.
measure_memory() {
    local name=$1 port=${server_port[$1]} pids ready="$tmp/idle.ready" client
    read -r -a pids <<<"$(worker_pids "$name" 1 | tr '\n' ' ')"
    sleep 1
    local pss_before rss_before pss_with rss_with established
    pss_before=$(memory_kb Pss "${pids[@]}")
    rss_before=$(memory_kb Rss "${pids[@]}")
    rm -f "$ready"
    "${pin_client[@]}" "$python" "$here/idle_connections.py" --port "$port" --path /13B --size 13 \
        --count "$idle" --ready "$ready" --hold 300 2>"$tmp/idle.err" &
    client=$!
    background+=("$client")
    local k
    for ((k = 0; k < 3000; k++)); do
        [ -s "$ready" ] && break
        kill -0 "$client" 2>/dev/null || break
        sleep 0.1
    done
    if [ ! -s "$ready" ]; then
        echo "   $name: the idle connections did not open:" >&2
        cat "$tmp/idle.err" >&2
        kill -TERM "$client" 2>/dev/null || true
        wait "$client" 2>/dev/null || true
        background=()
        return 0
    fi
    sleep 1
    pss_with=$(memory_kb Pss "${pids[@]}")
    rss_with=$(memory_kb Rss "${pids[@]}")
    established=$(ss -Htn state established "( sport = :$port )" | wc -l)
    kill -TERM "$client" 2>/dev/null || true
    wait "$client" 2>/dev/null || true
    background=()
    echo "server=$name workers=1 connections=$idle established=$established" \
        "pss_before_kb=$pss_before pss_with_kb=$pss_with rss_before_kb=$rss_before" \
        "rss_with_kb=$rss_with" >>"$out/memory.txt"
    echo "   $name: Pss $pss_before -> $pss_with kB with $established connections open"
}

# 2. System calls per request: strace attached to the workers while exactly N
# requests run; strace's own cost is irrelevant to a count.
count_syscalls() {
    local name=$1 size=$2 mode=$3 port=${server_port[$1]} pids tracer
    read -r -a pids <<<"$(worker_pids "$name" 1 | tr '\n' ' ')"
    local file="$out/strace/$name-$size-$mode.txt" err="$tmp/strace.err"
    local attach=()
    for pid in "${pids[@]}"; do
        attach+=(-p "$pid")
    done
    strace -f -c -o "$file" "${attach[@]}" 2>"$err" &
    tracer=$!
    background+=("$tracer")
    local k attached
    for ((k = 0; k < 100; k++)); do
        attached=$(grep -c attached "$err" 2>/dev/null || true)
        [ "${attached:-0}" -ge "${#pids[@]}" ] && break
        sleep 0.1
    done
    sleep 0.2
    local result status=0
    result=$("${pin_client[@]}" "$python" "$here/fixed_requests.py" --port "$port" \
        --path "/$size" --size "${size_bytes[$size]}" --count "$requests" --mode "$mode") ||
        status=$?
    sleep 0.2
    kill -INT "$tracer" 2>/dev/null || true
    wait "$tracer" 2>/dev/null || true
    background=()
    if [ "$status" != 0 ]; then
        echo "   $name $size $mode: the requests failed, no count" >&2
        return 0
    fi
    local calls
    calls=$(awk '$NF == "total" {print $4}' "$file")
    echo "server=$name size=$size mode=$mode requests=$requests calls=${calls:-0} $result" \
        >>"$out/syscalls.txt"
}

# 1. Load: wrk against each server in turn.
run_wrk() {
    local rep=$1 workers=$2 size=$3 mode=$4 name=$5 port=${server_port[$5]}
    local raw="$out/wrk/$workers-$size-$mode-$name-$rep.txt"
    local args=(-t1 -c"$connections" -d"${duration}s" --latency)
    [ "$mode" = close ] && args+=(-H "Connection: close")
    local before after
    before=$(bench_cpu_ns "${server_pid[$name]}")
    # The subshell's `times` gives wrk's CPU time (user, system): wrk is its only
    # child that runs (timeout waits for it).
    if ! (
        timeout $((duration + 60)) "${pin_client[@]}" wrk "${args[@]}" \
            "http://127.0.0.1:$port/$size" >"$raw" 2>&1
        rc=$?
        times >"$raw.times"
        exit $rc
    ); then
        echo "   wrk against $name $size $mode failed:" >&2
        cat "$raw" >&2
        return 0
    fi
    after=$(bench_cpu_ns "${server_pid[$name]}")
    echo "rep=$rep workers=$workers server=$name size=$size mode=$mode" \
        "$(parse_wrk "$raw") server_cpu_ns=$((after - before))" \
        "client_cpu_ns=$(cpu_of_times "$raw.times") seconds=$duration" >>"$out/load.txt"
}

for workers in "${worker_counts[@]}"; do
    set_pinning "$workers"
    echo "== $workers worker(s): starting ${servers[*]}"
    start_all "$workers"
    if [ "$workers" = 1 ]; then
        echo "== memory: $idle idle keepalive connections"
        for name in "${servers[@]}"; do
            measure_memory "$name"
        done
        echo "== system calls per request: $requests requests"
        for size in "${sizes[@]}"; do
            for mode in "${modes[@]}"; do
                for name in "${servers[@]}"; do
                    count_syscalls "$name" "$size" "$mode"
                done
            done
        done
        echo "   done ($((SECONDS - started)) s)"
    fi
    echo "== load: $reps repetitions x ${#sizes[@]} sizes x ${#modes[@]} modes x ${#servers[@]}" \
        "servers, ${duration} s each"
    for name in "${servers[@]}"; do # warm up
        "${pin_client[@]}" wrk -t1 -c"$connections" -d1s "http://127.0.0.1:${server_port[$name]}/13B" \
            >/dev/null 2>&1 || true
    done
    for ((rep = 0; rep < reps; rep++)); do
        for size in "${sizes[@]}"; do
            for mode in "${modes[@]}"; do
                for name in $(bench_rotate "$rep" "${servers[@]}"); do
                    run_wrk "$rep" "$workers" "$size" "$mode" "$name"
                done
            done
        done
        echo "   repetition $((rep + 1))/$reps done ($((SECONDS - started)) s)"
    done
    for name in "${servers[@]}"; do
        if [ -s "$tmp/$name.out" ]; then
            cp "$tmp/$name.out" "$out/$name-$workers.out"
        fi
    done
    stop_all
done

bench_finish "$out" "$here/report.py" bench-http.png "${EVS_BENCH_HTTP_PLOT:-1}"
