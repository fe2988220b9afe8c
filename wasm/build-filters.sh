#!/usr/bin/env bash
# Builds MarchProxy's proxy-wasm filters (auth, license, metrics) into <out-dir> (default
# target/classes/wasm), with <name>.wasm.sha256 (sha256sum format) next to each.
# Uses Debian's rustc/cargo and the crates Debian packages under /usr/share/cargo/registry,
# offline: see debian-packages.txt. Called by the Maven build and by envoy-image/Dockerfile.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${1:-$HERE/target/classes/wasm}"
FILTERS=(auth license metrics)

# Debian's toolchain, not a rustup one on PATH: only Debian's has the wasm32-wasi std and
# matches the packaged crates.
export RUSTC="${MARCHPROXY_RUSTC:-/usr/bin/rustc}"
CARGO="${MARCHPROXY_CARGO:-/usr/bin/cargo}"
export CARGO_HOME="${CARGO_HOME:-$HERE/target/cargo-home}"
TARGET_DIR="${CARGO_TARGET_DIR:-$HERE/target/cargo}"

if [[ ! -x "$RUSTC" || ! -x "$CARGO" || ! -d /usr/lib/rustlib/wasm32-wasi ]]; then
  echo "build-filters: Debian's Rust toolchain for wasm32-wasi is missing;" >&2
  echo "  install: apt-get install -y $(tr '\n' ' ' < "$HERE/debian-packages.txt")" >&2
  exit 1
fi

mkdir -p "$OUT" "$CARGO_HOME"
(cd "$HERE/filters" && "$CARGO" build --quiet --release --offline --target wasm32-wasi --target-dir "$TARGET_DIR")

for filter in "${FILTERS[@]}"; do
  cp "$TARGET_DIR/wasm32-wasi/release/marchproxy_${filter}.wasm" "$OUT/${filter}.wasm"
  (cd "$OUT" && sha256sum "${filter}.wasm" > "${filter}.wasm.sha256")
done
