#!/usr/bin/env bash
# Where a filter's time goes in the JVM proxy-wasm host, by wasm function: builds the filters
# with their name section kept (same code as the release build, only not stripped), runs one
# bench/wasm scenario under JFR and prints the share of samples per wasm function (the innermost
# compiled wasm frame of each sample, so host calls and memory accessors count for their caller)
# and per top frame.
#   bench/wasm/profile.sh [iterations per round, default 20000] [scenario text, default "every token new"]
# Needs the module built once (bench/wasm/run.sh or ./mvnw -pl wasm install).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
ITERATIONS="${1:-20000}"
SCENARIO="${2:-every token new}"
OUT="$ROOT/wasm/target/profile"
CLASSPATH_FILE="$ROOT/wasm/target/bench-classpath.txt"
cd "$ROOT"

if [[ ! -f "$CLASSPATH_FILE" || ! -d "$ROOT/wasm/target/test-classes" ]]; then
  ./mvnw -q -B -pl wasm -am install -DskipTests
  ./mvnw -q -B -pl wasm dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$CLASSPATH_FILE"
fi

# Same build as wasm/build-filters.sh, name section kept, in its own target directory.
CARGO_PROFILE_RELEASE_STRIP=none CARGO_TARGET_DIR="$OUT/cargo" \
  "$ROOT/wasm/build-filters.sh" "$OUT/classes/wasm" >/dev/null

# The unstripped modules come first on the class path, so FilterHost loads them.
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Xms512m -Xmx512m \
  "-XX:StartFlightRecording:filename=$OUT/bench.jfr,settings=profile,jdk.ExecutionSample#period=1ms" \
  -cp "$OUT/classes:$ROOT/wasm/target/test-classes:$ROOT/wasm/target/classes:$(cat "$CLASSPATH_FILE")" \
  "$ROOT/bench/wasm/FilterBench.java" "$ITERATIONS" "$SCENARIO" | grep -v '^$'

"$JAVA_HOME/bin/jfr" print --events jdk.ExecutionSample --stack-depth 64 "$OUT/bench.jfr" > "$OUT/samples.txt"
python3 "$ROOT/bench/wasm/profile_report.py" "$OUT/samples.txt" "$OUT/classes/wasm"
