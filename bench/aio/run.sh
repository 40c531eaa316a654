#!/usr/bin/env bash
# File AIO benchmark (issue #6): evserve against nginx with the same `aio`
# configuration, one worker, serving large files that are not in the page cache.
# For each aio mode (off, on + directio, threads, io_uring) and each server that
# accepts that mode's configuration (`-t`), it measures:
#
#   (a) responsiveness: the latency of a small cached file (probe.py, a fixed rate on
#       one keepalive connection) while heavy clients (wrk + heavy.lua) pull the large
#       files cold, and the heavy clients' MiB/s; the probe alone before, as a floor;
#   (b) cold throughput: MiB/s fetching every large file once (fetch_once.py).
#
#   bench/aio/run.sh <build-dir>     (make bench-aio builds build-bench and calls this)
#
# The large files' pages are dropped with posix_fadvise(DONTNEED) before (a) and (b),
# and page_cache.py checks with mincore that they are gone (the run stops if they
# are not). Results go to bench/results/aio-<time>/ (machine.txt, the raw lines
# runs.txt, skipped.txt, the wrk outputs, report.md and bench-aio.png made by
# bench/aio/report.py); bench/results/latest-aio points at the newest run, and the
# plot is copied to docs/bench-aio.png.
#
# Each (mode, server) pair runs once per repetition, in an order rotated from one
# repetition to the next, so that noise on a shared machine lands on all alike; the
# report takes medians. Each run starts its server afresh in the foreground from a
# generated configuration and stops it by pid; whatever is left when the script ends,
# however it ends, is stopped by the trap.
#
# Environment (defaults: about 8 minutes with the disk of docs/BENCHMARKS.md):
#   EVS_BENCH_AIO_DURATION (10)     seconds the probe runs under load, per run
#   EVS_BENCH_AIO_REPS (3)          repetitions
#   EVS_BENCH_AIO_FILES (32)        large files in the data set
#   EVS_BENCH_AIO_FILE_MIB (64)     size of each large file, MiB
#   EVS_BENCH_AIO_HEAVY (8)         heavy connections (wrk -c), also (b)'s connections
#   EVS_BENCH_AIO_PROBE_RATE (100)  probe requests per second
#   EVS_BENCH_AIO_THREADS (32)      threads of the thread pool (both servers)
#   EVS_BENCH_AIO_MODES ("off on threads io_uring off-copy threads-copy")
#   EVS_BENCH_AIO_SERVERS ("evserve nginx")
#   EVS_BENCH_AIO_DIR (/tmp)        where the data set is written (on the disk to test)
#   EVS_BENCH_AIO_PLOT (1)          copy the plot to docs/bench-aio.png
#   EVS_BENCH_AIO_SMOKE (0)         1: a check of the script in seconds (1 rep, 2 s runs,
#                                   4 files of 4 MiB; the plot stays out of docs/)
set -euo pipefail

# shellcheck source=bench/common/bench.sh
source "$(dirname "$0")/../common/bench.sh"
bench_evserve_build "$0" "$@"
root=$bench_root
here="$root/bench/aio"

smoke=${EVS_BENCH_AIO_SMOKE:-0}
if [ "$smoke" = 1 ]; then
    defaults=(2 1 4 4 2 0)
else
    defaults=(10 3 32 64 8 1)
fi
duration=${EVS_BENCH_AIO_DURATION:-${defaults[0]}}
reps=${EVS_BENCH_AIO_REPS:-${defaults[1]}}
files=${EVS_BENCH_AIO_FILES:-${defaults[2]}}
file_mib=${EVS_BENCH_AIO_FILE_MIB:-${defaults[3]}}
heavy=${EVS_BENCH_AIO_HEAVY:-${defaults[4]}}
copy_plot=${EVS_BENCH_AIO_PLOT:-${defaults[5]}}
probe_rate=${EVS_BENCH_AIO_PROBE_RATE:-100}
threads=${EVS_BENCH_AIO_THREADS:-32}
read -r -a modes <<<"${EVS_BENCH_AIO_MODES:-off on threads io_uring off-copy threads-copy}"
read -r -a wanted <<<"${EVS_BENCH_AIO_SERVERS:-evserve nginx}"
data_parent=${EVS_BENCH_AIO_DIR:-/tmp}
for knob in "$duration" "$reps" "$files" "$file_mib" "$heavy" "$threads"; do
    [[ "$knob" =~ ^[1-9][0-9]*$ ]] || { echo "$0: '$knob' is not a positive whole number" >&2; exit 2; }
done
[ "$files" -le 1000 ] || { echo "$0: at most 1000 files (heavy.lua names them large-000..999)" >&2; exit 2; }

# The equivalent configurations: the same directives, word for word, in both
# servers' http blocks. A server whose `-t` rejects a mode's directives (Debian's
# nginx has no native file AIO, evserve may not have io_uring yet) skips that mode,
# and skipped.txt says why.
declare -A mode_directives=(
    [off]="aio off; sendfile on;"
    [on]="aio on; directio 512k; sendfile on;"
    [threads]="aio threads; sendfile on;"
    [io_uring]="aio io_uring; sendfile off;"
    # io_uring reads into the output buffers and writes from them; these two send the
    # same way (sendfile off), so that its peers share its data path.
    [off-copy]="aio off; sendfile off;"
    [threads-copy]="aio threads; sendfile off;"
)
output_buffers="2 512k"
for mode in "${modes[@]}"; do
    [ -n "${mode_directives[$mode]+x}" ] || { echo "$0: unknown aio mode '$mode'" >&2; exit 2; }
done

bench_python
for tool in wrk taskset setsid timeout dd lsblk "$python"; do
    command -v "$tool" >/dev/null || { echo "$0: $tool is missing (scripts/deps.sh bench)" >&2; exit 1; }
done
declare -A server_binary=([evserve]="$evserve" [nginx]=nginx)
bench_select_servers "$0"
[ ${#servers[@]} -gt 0 ] || { echo "$0: no server to run" >&2; exit 1; }

# The data set must fit, with a GiB to spare.
mkdir -p "$data_parent"
need_mib=$((files * file_mib + 1024))
free_mib=$(df -Pm "$data_parent" | awk 'NR == 2 {print $4}')
if [ "$free_mib" -lt "$need_mib" ]; then
    echo "$0: $data_parent has $free_mib MiB free, the data set needs $need_mib" >&2
    exit 1
fi

# Server on CPU 0, clients on CPU 1, where there are two CPUs: a worker stalled on
# the disk is then what delays the probe, not a client competing for its CPU.
pin_server=()
pin_client=()
if [ "$(nproc)" -ge 2 ]; then
    pin_server=(taskset -c 0)
    pin_client=(taskset -c 1)
fi

# The probe shares its CPU with the heavy clients (and, on a shared machine, with
# everything else): at a higher priority, where that is permitted (root or
# CAP_SYS_NICE), it runs whenever it has something to do, so that its delays are the
# server's. The heavy clients keep the default priority: niced, they would slow down
# with the machine's load rather than with the server.
probe_priority=()
if nice -n -5 true 2>/dev/null && [ "$(nice -n -5 nice)" -lt "$(nice)" ]; then
    probe_priority=(nice -n -5)
fi

out="$root/bench/results/aio-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out/wrk"
ln -sfn "$(basename "$out")" "$root/bench/results/latest-aio"
tmp=$(mktemp -d /tmp/evs-bench-aio.XXXXXX)
data=$(mktemp -d "$data_parent/evs-bench-aio-data.XXXXXX")
# Workers started by root run as nobody and must be able to read the files.
chmod 755 "$tmp" "$data"

server_pid=""
heavy_pid=""
cold_pid=""
command=()

stop_server() {
    local pid=$server_pid
    server_pid=""
    [ -z "$pid" ] || bench_stop_group "$pid"
}

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [ -n "$cold_pid" ]; then
        kill -TERM "$cold_pid" 2>/dev/null || true
        wait "$cold_pid" 2>/dev/null || true
    fi
    if [ -n "$heavy_pid" ]; then
        kill -TERM "$heavy_pid" 2>/dev/null || true
        wait "$heavy_pid" 2>/dev/null || true
    fi
    stop_server
    rm -rf "$tmp" "$data"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The data set: the probe's 4 KiB file and the large files, random bytes.
echo "== writing the data set: $files x $file_mib MiB in $data"
head -c 4096 /dev/urandom >"$data/small"
large=()
for ((k = 0; k < files; k++)); do
    name=$(printf 'large-%03d' "$k")
    head -c "$((file_mib * 1048576))" /dev/urandom >"$data/$name"
    large+=("$data/$name")
done
chmod 644 "$data"/*
file_bytes=$((file_mib * 1048576))
paths=()
for file in "${large[@]}"; do
    paths+=("/$(basename "$file")")
done

# A configuration of the given server for a mode, on a port; prints its file.
write_conf() {
    local name=$1 mode=$2 port=$3 dir="$tmp/$1-$2"
    mkdir -p "$dir/conf" "$dir/logs"
    local conf="$dir/conf/$name.conf"
    {
        [ "$name" = nginx ] && printf 'daemon off;\nmaster_process on;\n'
        cat <<EOF
worker_processes 1;
error_log $dir/logs/error.log warn;
pid $dir/logs/$name.pid;
thread_pool default threads=$threads max_queue=65536;
events {
    worker_connections 1024;
}
http {
    default_type application/octet-stream;
    access_log off;
    tcp_nopush on;
    keepalive_timeout 300s;
    keepalive_requests 1000000;
    output_buffers $output_buffers;
    ${mode_directives[$mode]}
EOF
        [ "$name" = nginx ] && echo "    client_body_temp_path $dir/body;"
        cat <<EOF
    server {
        listen 127.0.0.1:$port;
        server_name localhost;
        location / {
            root $data;
        }
EOF
        # evserve's counters of file reads per AIO mode (submitted, completed, fallen
        # back to a synchronous read), read after each run.
        [ "$name" = evserve ] &&
            echo "        location = /status { stub_status; status_format prometheus; }"
        printf '    }\n}\n'
    } >"$conf"
    echo "$conf"
}

# Sets `command` to the server's command line for a configuration file.
set_command() {
    local name=$1 conf=$2 prefix
    prefix=$(dirname "$(dirname "$conf")")
    case "$name" in
        evserve) command=("$evserve" -p "$prefix" -c "$conf") ;;
        nginx) command=(nginx -p "$prefix/" -c "$conf" -e "$prefix/logs/error.log") ;;
    esac
}

# Which (mode, server) pairs run: those whose configuration `-t` accepts.
: >"$out/skipped.txt"
pairs=()
for mode in "${modes[@]}"; do
    for name in "${servers[@]}"; do
        conf=$(write_conf "$name" "$mode" "$(bench_free_port)")
        set_command "$name" "$conf"
        if "${command[@]}" -t >"$tmp/check.out" 2>&1; then
            pairs+=("$mode:$name")
        else
            why=$(grep -m1 -E 'emerg|error' "$tmp/check.out" || head -1 "$tmp/check.out")
            echo "mode=$mode server=$name reason: $why" >>"$out/skipped.txt"
            echo "   $name does not accept aio mode $mode, skipped: $why"
        fi
    done
done
[ ${#pairs[@]} -gt 0 ] || { echo "$0: no server accepts any mode" >&2; exit 1; }

start_server() {
    local name=$1 mode=$2 port=$3 conf k
    conf=$(write_conf "$name" "$mode" "$port")
    set_command "$name" "$conf"
    [ "$name" = evserve ] && command+=(-g "daemon off;")
    "${pin_server[@]}" setsid "${command[@]}" >"$tmp/server.out" 2>&1 &
    server_pid=$!
    # Up when it answers a request for the small file and its worker exists.
    for ((k = 0; k < 100; k++)); do
        if ! bench_alive "$server_pid"; then
            echo "$0: $name ($mode) exited at start:" >&2
            cat "$tmp/server.out" >&2
            exit 1
        fi
        if "$python" "$root/bench/http/fixed_requests.py" --port "$port" --path /small \
            --size 4096 --count 1 >/dev/null 2>&1 && [ -n "$(pgrep -P "$server_pid")" ]; then
            return 0
        fi
        sleep 0.1
    done
    echo "$0: $name ($mode) did not come up on port $port:" >&2
    cat "$tmp/server.out" >&2
    exit 1
}

# Drops the large files from the page cache and sets `resident` to the percentage
# still in it (page_cache.py fails, and the script with it, above 1%).
resident=""
drop_cache() {
    "$python" "$here/page_cache.py" drop "${large[@]}" >"$tmp/drop.txt"
    resident=$(sed 's/.*resident_percent=//' "$tmp/drop.txt")
}

resident_now() {
    "$python" "$here/page_cache.py" resident "${large[@]}" | sed 's/.*resident_percent=//'
}

# The block device under the data set, and how fast it reads cold.
device_info() {
    local source parent block
    source=$(df -P "$data" | awk 'NR == 2 {print $1}')
    echo "data set: $files x $file_mib MiB in $data_parent, on $source"
    parent=$(lsblk -no PKNAME "$source" 2>/dev/null | head -1 || true)
    block=$(basename "${parent:-$source}")
    if [ -d "/sys/block/$block" ]; then
        echo "device: $(lsblk -dno NAME,SIZE,TYPE,MODEL "/dev/$block" 2>/dev/null | xargs)," \
            "driver $(basename "$(readlink -f "/sys/block/$block/device/driver" 2>/dev/null)" 2>/dev/null)"
        echo "device queue: rotational=$(cat "/sys/block/$block/queue/rotational")" \
            "scheduler=$(cat "/sys/block/$block/queue/scheduler")" \
            "read_ahead_kb=$(cat "/sys/block/$block/queue/read_ahead_kb")"
    else
        echo "device: $source (no /sys/block entry: not a plain block device)"
    fi
    local speed
    drop_cache
    speed=$(dd if="${large[0]}" of=/dev/null bs=1M iflag=direct 2>&1 | tail -1 | awk -F', ' '{print $NF}')
    echo "cold read, dd bs=1M iflag=direct of one large file: $speed"
    drop_cache
    speed=$(dd if="${large[0]}" of=/dev/null bs=1M 2>&1 | tail -1 | awk -F', ' '{print $NF}')
    echo "cold read, dd bs=1M through the page cache of one large file: $speed"
}

{
    bench_machine_lines
    bench_evserve_lines
    echo "nginx: $(nginx -v 2>&1 | sed 's/.*: //') ($(dpkg-query -W -f='${Package} ${Version}' nginx-light 2>/dev/null || echo 'no nginx-light'));" \
        "configure has: $(nginx -V 2>&1 | grep -o -E -- '--with-(threads|file-aio)' | xargs)"
    echo "wrk: $(dpkg-query -W -f='${Version}' wrk 2>/dev/null || echo unknown)"
    echo "servers: ${servers[*]}; modes: ${modes[*]}"
    echo "command: bench/aio/run.sh $1 (EVS_BENCH_AIO_DURATION=$duration EVS_BENCH_AIO_REPS=$reps" \
        "EVS_BENCH_AIO_FILES=$files EVS_BENCH_AIO_FILE_MIB=$file_mib EVS_BENCH_AIO_HEAVY=$heavy" \
        "EVS_BENCH_AIO_PROBE_RATE=$probe_rate EVS_BENCH_AIO_THREADS=$threads" \
        "EVS_BENCH_AIO_SMOKE=$smoke)"
    echo "output_buffers: $output_buffers; probe priority: ${probe_priority[*]:-default}"
    for mode in "${modes[@]}"; do
        echo "mode $mode: ${mode_directives[$mode]}"
    done
    device_info
    echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$out/machine.txt"
cat "$out/machine.txt"

# One run of a (mode, server) pair: (a) the probe alone, (b) cold throughput, (a)
# the probe under load. Appends its lines to runs.txt.
run_pair() {
    local rep=$1 mode=$2 name=$3 port tag line
    tag="rep=$rep mode=$mode server=$name"
    port=$(bench_free_port)
    start_server "$name" "$mode" "$port"
    local probe=("${probe_priority[@]}" "$python" "$here/probe.py" --port "$port"
        --path /small --size 4096 --rate "$probe_rate")
    local idle_seconds=$((duration < 3 ? duration : 3))

    # The floor: the probe with nothing else running (it also caches the small file).
    if line=$(timeout $((idle_seconds + 120)) "${pin_client[@]}" "${probe[@]}" --seconds "$idle_seconds"); then
        echo "$tag phase=idle $line" >>"$out/runs.txt"
    else
        echo "$tag phase=idle failed=probe" >>"$out/runs.txt"
    fi

    # (b) Every large file once, cold.
    drop_cache
    if line=$(timeout $((600 + files * file_mib)) "${pin_client[@]}" "$python" "$here/fetch_once.py" \
        --port "$port" --size "$file_bytes" --connections "$heavy" "${paths[@]}"); then
        echo "$tag phase=cold resident_before=$resident $line" >>"$out/runs.txt"
    else
        echo "$tag phase=cold failed=fetch" >>"$out/runs.txt"
    fi

    # (a) The probe while the heavy clients pull the large files, cold again.
    drop_cache
    local raw="$out/wrk/$mode-$name-$rep.txt"
    timeout $((duration + 180)) "${pin_client[@]}" wrk -t1 -c"$heavy" -d"$((duration + 2))s" \
        --timeout 120s -s "$here/heavy.lua" "http://127.0.0.1:$port" -- "$files" >"$raw" 2>&1 &
    heavy_pid=$!
    # Every large file out of the page cache again each 0.2 s while they are pulled.
    "${pin_client[@]}" "$python" "$here/page_cache.py" keep-cold --interval 0.2 "${large[@]}" &
    cold_pid=$!
    sleep 1
    local probe_line heavy_line after
    probe_line=$(timeout $((duration + 120)) "${pin_client[@]}" "${probe[@]}" --seconds "$duration") ||
        probe_line="failed=probe"
    wait "$heavy_pid" || true
    heavy_pid=""
    kill "$cold_pid" 2>/dev/null || true
    wait "$cold_pid" 2>/dev/null || true
    cold_pid=""
    heavy_line=$(grep -m1 '^heavy_requests=' "$raw" || echo "failed=heavy")
    after=$(resident_now)
    [ "$name" = evserve ] && heavy_line+=" $(file_io_counters "$port")"
    echo "$tag phase=load resident_before=$resident resident_after=$after dataset_bytes=$((files * file_bytes))" \
        "$probe_line $heavy_line" >>"$out/runs.txt"
    stop_server
    echo "   $mode $name: $probe_line; $heavy_line"
}

# evserve's file read counters since it started, summed over the AIO modes, as
# `io_submitted=.. io_completed=.. io_fallback=..`.
file_io_counters() {
    "$python" -c '
import sys, urllib.request
sums = {"submitted": 0, "completed": 0, "fallback": 0}
with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/status", timeout=10) as page:
    for line in page.read().decode().splitlines():
        if line.startswith("evserve_file_io_operations_total{"):
            for result in sums:
                if f"result=\"{result}\"" in line:
                    sums[result] += int(line.split()[-1])
print(" ".join(f"io_{k}={v}" for k, v in sums.items()))
' "$1" 2>/dev/null || echo "io_counters=unavailable"
}

started=$SECONDS
echo "== $reps repetitions x ${#pairs[@]} runs (${pairs[*]}), ${duration} s under load each"
for ((rep = 0; rep < reps; rep++)); do
    for pair in $(bench_rotate "$rep" "${pairs[@]}"); do
        run_pair "$rep" "${pair%%:*}" "${pair#*:}"
    done
    echo "   repetition $((rep + 1))/$reps done ($((SECONDS - started)) s)"
done

bench_finish "$out" "$here/report.py" bench-aio.png "$copy_plot"
