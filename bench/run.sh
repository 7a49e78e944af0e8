#!/usr/bin/env bash
# Builds supertable_bench and runs every benchmark at full size (a few minutes on 2 cores).
# Extra arguments go to the benchmark, e.g. `bench/run.sh --quick` for a smoke run.
set -euo pipefail
cd "$(dirname "$0")/.."
# setup.sh installs the toolchain and DuckDB and configures build/; only needed the first time.
if [ ! -f build/build.ninja ] || [ ! -f third_party/duckdb-1.4.4/.complete ]; then
  ./scripts/setup.sh
fi
# Only this target (and the supertable CLI, which the query benchmark runs): the tree may be
# shared with other builds, and the bench needs nothing else.
cmake --build build --target supertable_bench
exec build/bench/supertable_bench all "$@"
