#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in build-fuzz/ and runs each *_fuzz binary for
# FUZZ_SECONDS (default 30) against a temporary copy of its seed corpus,
# tests/fuzz/corpus/<name without _fuzz>/, so the checked-in seeds never grow. Exits
# non-zero if a target does not build or finds a crash, a leak, undefined behaviour or
# a timeout; the reproducer is left in build-fuzz/fuzz-artifacts/.
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
status=0
count=0
for bin in "$build"/tests/fuzz/*_fuzz; do
    [ -x "$bin" ] || continue
    count=$((count + 1))
    name=$(basename "$bin")
    seeds="tests/fuzz/corpus/${name%_fuzz}"
    work=$(mktemp -d)
    if [ -d "$seeds" ]; then
        cp -R "$seeds"/. "$work"/
    else
        echo "fuzz: $name has no seed corpus in $seeds" >&2
    fi
    echo "fuzz: $name for ${seconds}s"
    # shellcheck disable=SC2086 # FUZZ_ARGS is a list of options
    if ! "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$artifacts/$name-" ${FUZZ_ARGS:-} "$work"; then
        echo "fuzz: $name FAILED; reproducer in $artifacts/" >&2
        status=1
    fi
    rm -rf "$work"
done

if [ "$count" -eq 0 ]; then
    echo "fuzz: no *_fuzz binaries in $build/tests/fuzz" >&2
    exit 1
fi
exit "$status"
