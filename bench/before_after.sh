#!/usr/bin/env bash
# Runs the figures a change must not make worse for two builds in one run, one after the other:
# `bench/before_after.sh BASE_BUILD_DIR [NEW_BUILD_DIR]` (NEW defaults to build/). BASE is a build
# directory of an earlier commit (e.g. `git worktree add ../base <commit>` and build
# supertable, supertable_bench and mcp_http_bench there). For each build, in this order:
#   mcp_http_bench --tool query_sql --sessions 1    small query_sql p50/p99 over HTTP
#   mcp_http_bench --tool health --sessions 16      health throughput at 16 sessions
#   supertable_bench ingest                         the 2M-row CSV, ratio to DuckDB COPY
#   supertable_bench query                          TPC-H-like queries, ratio to plain DuckDB
# The HTTP figures of both builds come from this checkout's mcp_http_bench (--bin picks the
# server binary); the others from each build's own supertable_bench, whose DuckDB baseline runs
# in the same process, so their ratios compare across builds. Extra arguments (e.g. --quick) go
# to every benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:?usage: bench/before_after.sh BASE_BUILD_DIR [NEW_BUILD_DIR] [benchmark flags]}
new=${2:-build}
shift $(( $# >= 2 ? 2 : 1 ))
for b in "$base" "$new"; do
  for f in supertable bench/supertable_bench; do
    [ -x "$b/$f" ] || { echo "before_after: $b/$f is missing; build it first" >&2; exit 2; }
  done
done
[ -x build/bench/mcp_http_bench ] || cmake --build build --target mcp_http_bench
for side in base:"$base" new:"$new"; do
  name=${side%%:*}; dir=${side#*:}
  echo "=== $name ($dir) ==="
  echo "--- query_sql, 1 session" >&2
  build/bench/mcp_http_bench --bin "$dir/supertable" --tool query_sql --sessions 1 "$@" | grep -E "^(tool|query_sql)"
  echo "--- health, 16 sessions" >&2
  build/bench/mcp_http_bench --bin "$dir/supertable" --tool health --sessions 16 "$@" | grep -E "^(tool|health)"
  "$dir/bench/supertable_bench" ingest "$@" | grep -Ei "ratio|rows/s|baseline|ours"
  "$dir/bench/supertable_bench" query "$@" | grep -Ei "median of the ratios|fixed cost|subprocess|Warehouse::Query|tiny"
done
