#!/usr/bin/env bash
# Per-request cost of the WASM filters in the JVM proxy-wasm host, and the .wasm sizes.
# Prints Markdown tables for the "## WASM filters" section of docs/BENCHMARKS.md.
#   bench/wasm/run.sh [iterations per round, default 20000]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
cd "$ROOT"

# Builds the filters and the test helper the benchmark drives (tests are not run).
./mvnw -q -B -pl wasm -am install -DskipTests
CLASSPATH_FILE="$ROOT/wasm/target/bench-classpath.txt"
./mvnw -q -B -pl wasm dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$CLASSPATH_FILE"

"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Xms512m -Xmx512m \
  -cp "$ROOT/wasm/target/test-classes:$ROOT/wasm/target/classes:$(cat "$CLASSPATH_FILE")" \
  "$ROOT/bench/wasm/FilterBench.java" "$@"
