#!/usr/bin/env bash
# XDP benchmark: ns/packet of the MarchProxy program (pass, deny drop, rate-limited drop, new
# source) next to a naive per-source fixed-window counter, in one run, through BPF_PROG_TEST_RUN.
# Needs root (or CAP_BPF + CAP_PERFMON) and the packages in xdp/debian-packages.txt.
#   bench/xdp/run.sh            # defaults: 15 rounds of 1,000,000 repetitions per path, on CPU 1
#   REPEAT=2000000 ROUNDS=21 CPU=0 bench/xdp/run.sh
#   VARIANTS='nocache=-DMP_NO_LIST_CACHE;coarse_clock=-DMP_CLOCK_COARSE' bench/xdp/run.sh
#   ONLY='deny list' DENY_ENTRIES=10000 bench/xdp/run.sh
# VARIANTS: extra builds of the program (name=clang flags, ';'-separated) measured on every
# MarchProxy path next to the shipped build, in the same rounds: how a lever is evaluated.
# PREBUILT: names of builds already in bench/xdp/target (marchproxy_xdp-NAME.bpf.o and
# marchproxy_xdp_rotate-NAME.bpf.o, e.g. compiled from an earlier commit) to measure as well.
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
names=()
IFS=';' read -r -a variants <<<"${VARIANTS:-}"
for v in "${variants[@]}"; do
  [[ -n "$v" ]] || continue
  name="${v%%=*}"
  read -r -a flags <<<"${v#*=}"
  "$build" "$src" "$OUT/marchproxy_xdp-$name.bpf.o" "${flags[@]}"
  "$build" "$src" "$OUT/marchproxy_xdp_rotate-$name.bpf.o" -DMP_BENCH_ROTATE_SOURCE "${flags[@]}"
  names+=("$name")
done

IFS=',' read -r -a prebuilt <<<"${PREBUILT:-}"
for name in "${prebuilt[@]}"; do
  [[ -n "$name" ]] && names+=("$name")
done

# One CPU for the whole run (the kernel loop, the JVM and its threads), so every path is measured
# on the same core and caches; higher priority, so a neighbour does not preempt a round.
exec taskset -c "${CPU:-1}" nice -n -15 "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED \
  -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
  -Drepeat="${REPEAT:-1000000}" -Drounds="${ROUNDS:-15}" -Dvariants="$(IFS=,; echo "${names[*]}")" \
  -DdenyEntries="${DENY_ENTRIES:-1000}" ${ONLY:+-Donly="$ONLY"} \
  -cp "$ROOT/xdp/target/classes" "$BENCH/XdpBench.java" "$OUT"
