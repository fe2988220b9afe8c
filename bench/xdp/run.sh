#!/usr/bin/env bash
# XDP benchmark: ns/packet of the MarchProxy program (pass, deny drop, rate-limited drop, new
# source) next to a naive per-source fixed-window counter, in one run, through BPF_PROG_TEST_RUN.
# Needs root (or CAP_BPF + CAP_PERFMON) and the packages in xdp/debian-packages.txt.
#   bench/xdp/run.sh            # defaults: 5 rounds of 2,000,000 repetitions per path
#   REPEAT=5000000 ROUNDS=7 bench/xdp/run.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BENCH="$ROOT/bench/xdp"
OUT="$ROOT/bench/xdp/target"
JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
export JAVA_HOME

mkdir -p "$OUT"
if [[ ! -d "$ROOT/xdp/target/classes/io/marchproxy/xdp" ]]; then
  (cd "$ROOT" && ./mvnw -q -B -pl xdp -am install -DskipTests)
fi
build="$ROOT/xdp/src/main/c/build.sh"
src="$ROOT/xdp/src/main/c/marchproxy_xdp.c"
"$build" "$src" "$OUT/marchproxy_xdp.bpf.o"
"$build" "$src" "$OUT/marchproxy_xdp_rotate.bpf.o" -DMP_BENCH_ROTATE_SOURCE
"$build" "$BENCH/naive_fixed_window.c" "$OUT/naive_fixed_window.bpf.o"
"$build" "$BENCH/naive_fixed_window.c" "$OUT/naive_fixed_window_rotate.bpf.o" -DMP_BENCH_ROTATE_SOURCE
"$build" "$BENCH/return_pass.c" "$OUT/return_pass.bpf.o"

# Higher priority: the host may be shared, and a preempted round only measures the neighbour.
exec nice -n -15 "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED \
  -Drepeat="${REPEAT:-2000000}" -Drounds="${ROUNDS:-5}" \
  -cp "$ROOT/xdp/target/classes" "$BENCH/XdpBench.java" "$OUT"
