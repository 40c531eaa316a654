#!/usr/bin/env bash
# Starts the evserve built in $1 (default: build) on the bundled configuration.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
exec "$build/evserve" -V
