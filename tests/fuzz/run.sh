#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in build-fuzz/ and runs each *_fuzz binary for
# FUZZ_SECONDS (default 30), FUZZ_JOBS (default: the number of cores) at a time,
# against a temporary copy of its seed corpus, tests/fuzz/corpus/<name without _fuzz>/,
# so the checked-in seeds never grow. Exits non-zero if a target does not build or finds
# a crash, a leak, undefined behaviour or a timeout; the reproducer is left in
# build-fuzz/fuzz-artifacts/ and each target's output in build-fuzz/fuzz-logs/.
#
# Installs nothing: `make fuzz` runs scripts/deps.sh fuzz (clang, libclang-rt-14-dev)
# first. FUZZ_ARGS adds libFuzzer options (e.g. FUZZ_ARGS="-jobs=2").
set -euo pipefail

cd "$(dirname "$0")/../.."
build=build-fuzz
seconds=${FUZZ_SECONDS:-30}

CXX=clang++ cmake -S . -B "$build" -G Ninja -DEVS_BUILD_FUZZ=ON -DEVS_BUILD_TESTS=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target fuzz_targets

artifacts="$build/fuzz-artifacts"
mkdir -p "$artifacts"
jobs=${FUZZ_JOBS:-$(nproc)}

# Runs one target; its output goes to $build/fuzz-logs/<name>.log, printed when it ends.
fuzz_one() {
    local bin=$1 name seeds work log rc=0
    name=$(basename "$bin")
    seeds="tests/fuzz/corpus/${name%_fuzz}"
    log="$build/fuzz-logs/$name.log"
    work=$(mktemp -d)
    if [ -d "$seeds" ]; then
        cp -R "$seeds"/. "$work"/
    else
        echo "fuzz: $name has no seed corpus in $seeds" >"$log"
    fi
    # shellcheck disable=SC2086 # FUZZ_ARGS is a list of options
    "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$artifacts/$name-" ${FUZZ_ARGS:-} \
        "$work" >>"$log" 2>&1 || rc=$?
    rm -rf "$work"
    { echo "== fuzz: $name (${seconds}s)"; tail -n 25 "$log"; } >&2
    if [ "$rc" -ne 0 ]; then
        echo "fuzz: $name FAILED; reproducer in $artifacts/, full output in $log" >&2
    fi
    return "$rc"
}

# The targets run $jobs at a time (each is single-threaded), so CI pays for the
# longest batch rather than for the sum.
rm -rf "$build/fuzz-logs"
mkdir -p "$build/fuzz-logs"
status=0
count=0
pids=()
for bin in "$build"/tests/fuzz/*_fuzz; do
    [ -x "$bin" ] || continue
    count=$((count + 1))
    echo "fuzz: $(basename "$bin") for ${seconds}s"
    fuzz_one "$bin" &
    pids+=("$!")
    if [ "${#pids[@]}" -ge "$jobs" ]; then
        wait "${pids[0]}" || status=1
        pids=("${pids[@]:1}")
    fi
done
for pid in "${pids[@]}"; do
    wait "$pid" || status=1
done

if [ "$count" -eq 0 ]; then
    echo "fuzz: no *_fuzz binaries in $build/tests/fuzz" >&2
    exit 1
fi
exit "$status"
