#!/usr/bin/env bash
# bench/l4: MarchProxy's L4 proxy, HAProxy and nginx stream side by side in one run — the same
# CPU allowance (taskset), the same backends (nginx HTTP, iperf3) and the same load (wrk, iperf3).
#
#   ./marchproxy bench l4                     # or: bench/l4/run.sh
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

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DURATION="${DURATION:-10}"
PROXY_CPUS="${PROXY_CPUS:-1}"
LOAD_CPUS="${LOAD_CPUS:-0}"
WORK="${BENCH_WORK:-$ROOT/bench/l4/.work}"
JAVA="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java"
JAR="$ROOT/l4-proxy-ami/target/l4-proxy.jar"
TICKS="$(getconf CLK_TCK)"

# Ports outside ip_local_port_range, so client ports never collide with them.
BACKEND_HTTP=19080
BACKEND_IPERF=19201
declare -A HTTP_PORT=([marchproxy]=19101 [haproxy]=19111 [nginx]=19121)
declare -A BULK_PORT=([marchproxy]=19102 [haproxy]=19112 [nginx]=19122)

for tool in haproxy nginx wrk iperf3 taskset; do
  command -v "$tool" >/dev/null || { echo "bench/l4: $tool is missing (see bench/l4/debian-packages.txt)" >&2; exit 2; }
done
if [[ ! -f "$JAR" ]]; then
  (cd "$ROOT" && ./mvnw -q -B -DskipTests -pl l4-proxy-ami -am install)
fi

ulimit -n 65536 2>/dev/null || true
rm -rf "$WORK"
mkdir -p "$WORK"
PIDS=()
cleanup() {
  local pid
  # (a proxy may be stopped between its tests: it gets SIGTERM, then SIGCONT to act on it)
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; kill -CONT "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

on_load_cpus() { taskset -c "$LOAD_CPUS" "$@"; }

# ---- backends (on the load CPUs)
cat >"$WORK/backend.conf" <<CONF
worker_processes 1;
daemon off;
pid $WORK/backend.pid;
error_log $WORK/backend-error.log warn;
events { worker_connections 16384; }
http {
  access_log off;
  keepalive_requests 10000000;
  server {
    listen 127.0.0.1:$BACKEND_HTTP reuseport backlog=4096;
    location / { return 200 "hello from the backend\n"; }
  }
}
CONF
# (taskset execs the program, so $! is the program itself and the cleanup reaches it)
taskset -c "$LOAD_CPUS" nginx -c "$WORK/backend.conf" -p "$WORK" &
PIDS+=($!)
taskset -c "$LOAD_CPUS" iperf3 -s -p "$BACKEND_IPERF" >"$WORK/iperf3-server.log" 2>&1 &
PIDS+=($!)

# ---- the three proxies, each on the proxy CPUs, one worker/thread per CPU
NWORKERS="$(taskset -c "$PROXY_CPUS" nproc)"

start_marchproxy() {
  mkdir -p "$WORK/l4"
  "$JAVA" --sun-misc-unsafe-memory-access=allow -cp "$JAR" io.marchproxy.l4.tools.StaticConfig "$WORK/l4/xds-cache.pb" \
    "http=${HTTP_PORT[marchproxy]}:127.0.0.1:$BACKEND_HTTP" "bulk=${BULK_PORT[marchproxy]}:127.0.0.1:$BACKEND_IPERF"
  # No control plane: the proxy serves its disk cache (the API and xDS addresses go nowhere).
  MARCHPROXY_CLUSTER_KEY=bench MARCHPROXY_API_URL=http://127.0.0.1:9 MARCHPROXY_XDS_ADDRESS=127.0.0.1:9 \
    MARCHPROXY_L4_STATE_DIR="$WORK/l4" MARCHPROXY_L4_CACHE_GRACE_MS=0 MARCHPROXY_L4_ADMIN_PORT=19082 \
    MARCHPROXY_L4_ADMIN_BIND=127.0.0.1 MARCHPROXY_L4_WORKERS="$NWORKERS" MARCHPROXY_L4_ACCESS_LOG="${ACCESS_LOG:-off}" \
    taskset -c "$PROXY_CPUS" "$JAVA" --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow \
    -XX:+UseParallelGC -Xms256m -Xmx256m ${MARCHPROXY_JVM_EXTRA:-} -jar "$JAR" >"$WORK/marchproxy.log" 2>&1 &
  PROXY_PID=$!
}

start_haproxy() {
  cat >"$WORK/haproxy.cfg" <<CONF
global
  nbthread $NWORKERS
  maxconn 8000
defaults
  mode tcp
  timeout connect 5s
  timeout client 1h
  timeout server 1h
listen http
  bind 127.0.0.1:${HTTP_PORT[haproxy]}
  server b1 127.0.0.1:$BACKEND_HTTP
listen bulk
  bind 127.0.0.1:${BULK_PORT[haproxy]}
  server b1 127.0.0.1:$BACKEND_IPERF
CONF
  taskset -c "$PROXY_CPUS" haproxy -db -f "$WORK/haproxy.cfg" >"$WORK/haproxy.log" 2>&1 &
  PROXY_PID=$!
}

start_nginx() {
  cat >"$WORK/nginx-stream.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
worker_processes $NWORKERS;
daemon off;
master_process off;
pid $WORK/nginx-stream.pid;
error_log $WORK/nginx-stream-error.log warn;
events { worker_connections 65536; }
stream {
  server { listen 127.0.0.1:${HTTP_PORT[nginx]} reuseport; proxy_pass 127.0.0.1:$BACKEND_HTTP; }
  server { listen 127.0.0.1:${BULK_PORT[nginx]} reuseport; proxy_pass 127.0.0.1:$BACKEND_IPERF; }
}
CONF
  taskset -c "$PROXY_CPUS" nginx -c "$WORK/nginx-stream.conf" -p "$WORK" >"$WORK/nginx.log" 2>&1 &
  PROXY_PID=$!
}

# CPU seconds used so far by a process and its threads (utime + stime).
cpu_seconds() {
  awk -v t="$TICKS" '{ printf "%.3f", ($14 + $15) / t }' "/proc/$1/stat"
}

await_port() {
  local port="$1" i
  for ((i = 0; i < 200; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench/l4: nothing listens on $port; logs in $WORK" >&2
  exit 1
}

# wrk → requests/s (and p99 with --latency)
wrk_rps() { awk '/Requests\/sec/ { print $2 }' "$1"; }
wrk_p99() { awk '$1 == "99%" { v = $2; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 } print v }' "$1"; }

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

# Every proxy is started and warmed up once, then stopped (SIGSTOP) whenever another one is
# measured: nothing of an idle proxy (a JVM's timers, a compiler thread) runs on the proxy CPUs
# during another's test, and each kind of test runs for all proxies within a minute or two, so
# the host's drift over a run (this VM's CPUs are shared) falls on all of them alike.
for proxy in "${PROXY_LIST[@]}"; do
  "start_$proxy"
  PIDS+=("$PROXY_PID")
  PID_OF[$proxy]="$PROXY_PID"
  await_port "${HTTP_PORT[$proxy]}"
  await_port "${BULK_PORT[$proxy]}"
  url="http://127.0.0.1:${HTTP_PORT[$proxy]}/"
  # The same warm-up for every proxy (it matters for the JIT; it costs the others nothing): each
  # kind of traffic measured below, so no test is the first to reach a code path, and the
  # connection path twice (a load generator's exit takes close paths the steady state does not, and
  # the JIT recompiles after them). With one 5 s round of connections and no bulk, JFR showed the
  # JVM still compiling the connection path during the measured connection test, and the relay
  # recompiled at the start and end of the bulk test, on the proxy's one CPU, during the p99 test
  # that follows (docs/BENCHMARKS.md, "Runs in session 4").
  on_load_cpus wrk -t1 -c64 -d"${WARMUP:-20}s" "$url" >/dev/null
  on_load_cpus wrk -t1 -c32 -d"${WARMUP_CONN:-10}s" -H "Connection: close" "$url" >/dev/null
  on_load_cpus iperf3 -c 127.0.0.1 -p "${BULK_PORT[$proxy]}" -t 3 >/dev/null
  on_load_cpus wrk -t1 -c32 -d5s -H "Connection: close" "$url" >/dev/null
  on_load_cpus wrk -t1 -c8 -d5s "$url" >/dev/null
  kill -STOP "$PROXY_PID"
done

# One test of one proxy: SETTLE seconds of its own load first, not measured (the steady state of
# each kind of traffic is what is compared: a JVM recompiles its hot code for a few hundred ms
# when the traffic changes kind), then DURATION seconds measured. Appends a line to results.tsv:
# test, round, proxy, rate, proxy CPU-seconds, steal ms on the proxy CPUs.
RESULTS="$WORK/results.tsv"
: >"$RESULTS"
measure() {
  local test="$1" round="$2" proxy="$3" pid="${PID_OF[$3]}" settle="${SETTLE:-3}" a b s0 s1 out rate
  local url="http://127.0.0.1:${HTTP_PORT[$proxy]}/"
  out="$WORK/$proxy-$test-$round"
  kill -CONT "$pid"
  case "$test" in
    small)
      on_load_cpus wrk -t1 -c64 -d"${settle}s" "$url" >/dev/null
      a="$(cpu_seconds "$pid")" s0="$(steal_ms)"
      on_load_cpus wrk -t1 -c64 -d"${DURATION}s" "$url" >"$out.txt"
      b="$(cpu_seconds "$pid")" s1="$(steal_ms)"
      rate="$(wrk_rps "$out.txt")" ;;
    conn)
      on_load_cpus wrk -t1 -c32 -d"${settle}s" -H "Connection: close" "$url" >/dev/null
      a="$(cpu_seconds "$pid")" s0="$(steal_ms)"
      on_load_cpus wrk -t1 -c32 -d"${DURATION}s" -H "Connection: close" "$url" >"$out.txt"
      b="$(cpu_seconds "$pid")" s1="$(steal_ms)"
      rate="$(wrk_rps "$out.txt")" ;;
    bulk)
      on_load_cpus iperf3 -c 127.0.0.1 -p "${BULK_PORT[$proxy]}" -t "$settle" >/dev/null
      a="$(cpu_seconds "$pid")" s0="$(steal_ms)"
      on_load_cpus iperf3 -c 127.0.0.1 -p "${BULK_PORT[$proxy]}" -t "$DURATION" -J >"$out.json"
      b="$(cpu_seconds "$pid")" s1="$(steal_ms)"
      rate="$(python3 -c 'import json, sys; print("%.2f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e9))' "$out.json")" ;;
    p99)
      on_load_cpus wrk -t1 -c8 -d"${settle}s" "$url" >/dev/null
      a="$(cpu_seconds "$pid")" s0="$(steal_ms)"
      on_load_cpus wrk -t1 -c8 -d"${DURATION}s" --latency "$url" >"$out.txt"
      b="$(cpu_seconds "$pid")" s1="$(steal_ms)"
      rate="$(wrk_p99 "$out.txt")" ;;
  esac
  kill -STOP "$pid"
  [[ -n "$rate" ]] || { echo "bench/l4: $proxy's $test test gave no result; see $out.*" >&2; exit 1; }
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
