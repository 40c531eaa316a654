#!/usr/bin/env bash
# Starts the evserve built in $1 (default: build) in the foreground on the bundled
# configuration (conf/evserve.conf), with the repository as its prefix. Ctrl-C
# stops it; its error log is logs/error.log.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
mkdir -p logs
"$build/evserve" -p . -t -q
echo "evserve: serving $(pwd)/html on http://127.0.0.1:8080/ (Ctrl-C stops; log: logs/error.log)"
exec "$build/evserve" -p . -g "daemon off;"
