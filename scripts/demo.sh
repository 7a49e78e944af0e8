#!/usr/bin/env bash
# The README's first command: install what is missing, build, and run the demo on the embedded
# default (SQLite catalog + local disk in a temporary home).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cmake --build build
exec build/supertable demo "$@"
