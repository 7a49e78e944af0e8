#!/usr/bin/env bash
# The README's first command: install what is missing, build, then run the main job on the
# embedded default (SQLite catalog + local disk): build the demo warehouse in a temporary home
# and serve it over MCP (streamable HTTP, http://127.0.0.1:8000/mcp) until Ctrl+C. Arguments go
# to `supertable serve` (e.g. --port 8123).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cmake --build build
exec build/supertable serve --demo "$@"
