#!/usr/bin/env bash
# bench/l4: MarchProxy's L4 proxy, HAProxy and nginx stream side by side in one run — the same
# CPU allowance (taskset), the same backends (nginx HTTP, iperf3) and the same load (wrk, iperf3).
#
#   ./marchproxy bench l4                     # or: bench/l4/run.sh
#   ./marchproxy bench l4 syscalls            # system calls per request (bench/l4/syscalls.sh)
#   DURATION=10 PROXY_CPUS=1 LOAD_CPUS=0 bench/l4/run.sh
#   (also ROUNDS: rounds of every test; WARMUP, WARMUP_CONN: warm-up seconds; SETTLE: unmeasured
#   seconds of each test's load before it; PROXIES: a subset, e.g. "marchproxy haproxy";
#   MARCHPROXY_JVM_EXTRA: more JVM flags)
#
# Each proxy is started and warmed up once; then every test runs ROUNDS times (default 3) for each
# proxy in turn, the order rotated each round, the idle proxies stopped (SIGSTOP) meanwhile.
# Prints the medians over the rounds (raw numbers and per proxy CPU-second), their ratios to
# HAProxy, and every round (bench/l4/report.py). Copy the result into docs/BENCHMARKS.md by hand,
# with the machine and its load at the time.
set -euo pipefail

# ./marchproxy bench l4 syscalls: system calls per request instead (bench/l4/syscalls.sh)
[[ "${1:-}" == syscalls ]] && exec "$(dirname "${BASH_SOURCE[0]}")/syscalls.sh"

# shellcheck source=bench/l4/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PROXIES="${PROXIES:-marchproxy haproxy nginx}"
ROUNDS="${ROUNDS:-3}"
read -r -a PROXY_LIST <<<"$PROXIES"
declare -A PID_OF

# Steal time (ms) of the proxy CPUs so far: what the host took from this VM's CPUs there.
PROXY_CPU_LIST="$(python3 -c 'import sys
out = []
for part in sys.argv[1].split(","):
    a, _, b = part.partition("-")
    out += range(int(a), int(b or a) + 1)
print(" ".join(map(str, out)))' "$PROXY_CPUS")"
steal_ms() {
  awk -v cpus=" $PROXY_CPU_LIST " -v hz="$TICKS" \
    '$1 ~ /^cpu[0-9]+$/ && index(cpus, " " substr($1, 4) " ") { s += $9 } END { printf "%.0f", s * 1000 / hz }' /proc/stat
}

# A test's figure from load's report: requests/s, Gb/s, or the p99 in ms.
figure() {
  case "$1" in
    small | conn) wrk_rps "$2" ;;
    bulk) python3 -c 'import json, sys; print("%.2f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e9))' "$2" ;;
    p99) wrk_p99 "$2" ;;
  esac
}

# Every proxy is started and warmed up once, then stopped (SIGSTOP) whenever another one is
# measured: nothing of an idle proxy (a JVM's timers, a compiler thread) runs on the proxy CPUs
# during another's test, and each kind of test runs for all proxies within a minute or two, so
# the host's drift over a run (this VM's CPUs are shared) falls on all of them alike.
for proxy in "${PROXY_LIST[@]}"; do
  start_proxy "$proxy"
  PID_OF[$proxy]="$PROXY_PID"
  # The same warm-up for every proxy (it matters for the JIT; it costs the others nothing): each
  # kind of traffic measured below, so no test is the first to reach a code path, and the
  # connection path twice (a load generator's exit takes close paths the steady state does not, and
  # the JIT recompiles after them). With one 5 s round of connections and no bulk, JFR showed the
  # JVM still compiling the connection path during the measured connection test, and the relay
  # recompiled at the start and end of the bulk test, on the proxy's one CPU, during the p99 test
  # that follows (docs/BENCHMARKS.md, "Runs in session 4").
  load small "$proxy" "${WARMUP:-20}" >/dev/null
  load conn "$proxy" "${WARMUP_CONN:-10}" >/dev/null
  load bulk "$proxy" 3 >/dev/null
  load conn "$proxy" 5 >/dev/null
  load p99 "$proxy" 5 >/dev/null
  kill -STOP "$PROXY_PID"
done

# One test of one proxy: SETTLE seconds of its own load first, not measured (the steady state of
# each kind of traffic is what is compared: a JVM recompiles its hot code for a few hundred ms
# when the traffic changes kind), then DURATION seconds measured. Appends a line to results.tsv:
# test, round, proxy, rate, proxy CPU-seconds, steal ms on the proxy CPUs.
RESULTS="$WORK/results.tsv"
: >"$RESULTS"
measure() {
  local test="$1" round="$2" proxy="$3" pid="${PID_OF[$3]}" a b s0 s1 out rate
  out="$WORK/$proxy-$test-$round.out"
  kill -CONT "$pid"
  load "$test" "$proxy" "${SETTLE:-3}" >/dev/null
  a="$(cpu_seconds "$pid")" s0="$(steal_ms)"
  load "$test" "$proxy" "$DURATION" >"$out"
  b="$(cpu_seconds "$pid")" s1="$(steal_ms)"
  kill -STOP "$pid"
  rate="$(figure "$test" "$out")"
  [[ -n "$rate" ]] || { echo "bench/l4: $proxy's $test test gave no result; see $out" >&2; exit 1; }
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$test" "$round" "$proxy" "$rate" \
    "$(awk -v a="$a" -v b="$b" 'BEGIN { print b - a }')" "$((s1 - s0))" >>"$RESULTS"
}

# Test by test, round by round; the proxies' order rotates each round so that no proxy always
# runs first.
n="${#PROXY_LIST[@]}"
for test in small conn bulk p99; do
  for ((r = 0; r < ROUNDS; r++)); do
    for ((i = 0; i < n; i++)); do
      measure "$test" "$((r + 1))" "${PROXY_LIST[$(((i + r) % n))]}"
    done
  done
done
for proxy in "${PROXY_LIST[@]}"; do kill -CONT "${PID_OF[$proxy]}"; done

echo
echo "bench/l4 — $(date -u +%Y-%m-%dT%H:%MZ), ${DURATION}s per test, $ROUNDS rounds, proxy CPUs $PROXY_CPUS ($NWORKERS worker(s)), load CPUs $LOAD_CPUS, load average $(cut -d' ' -f1-3 /proc/loadavg)"
python3 "$ROOT/bench/l4/report.py" "$RESULTS" "$DURATION" "$PROXIES"
echo "raw outputs: $WORK"
