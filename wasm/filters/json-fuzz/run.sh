#!/usr/bin/env bash
# Runs the differential fuzzer (see Cargo.toml) with Debian's toolchain, offline.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export RUSTC="${MARCHPROXY_RUSTC:-/usr/bin/rustc}"
export CARGO_HOME="${CARGO_HOME:-$HERE/../../target/cargo-home}"
cd "$HERE"
# The filters' .cargo/config.toml builds for wasm32-wasi by default; this runs on the host.
"${MARCHPROXY_CARGO:-/usr/bin/cargo}" run --quiet --release --offline --target "$(rustc -vV | sed -n 's/^host: //p')" \
  --target-dir "$HERE/../../target/json-fuzz" -- "$@"
