#!/usr/bin/env bash
# bench/l4: MarchProxy's L4 proxy, HAProxy and nginx stream side by side in one run — the same
# CPU allowance (taskset), the same backends (nginx HTTP, iperf3) and the same load (wrk, iperf3).
#
#   ./marchproxy bench l4                     # or: bench/l4/run.sh
#   DURATION=10 PROXY_CPUS=1 LOAD_CPUS=0 bench/l4/run.sh
#   (also WARMUP, WARMUP_CONN: warm-up seconds; SETTLE: unmeasured seconds of each test's load
#   before it; PROXIES: a subset, e.g. "marchproxy haproxy"; MARCHPROXY_JVM_EXTRA: more JVM flags)
#
# Prints one table (raw numbers and per proxy CPU-second) and ratios to HAProxy. Copy the result
# into docs/BENCHMARKS.md by hand, with the machine and its load at the time.
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
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
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

declare -A R
PROXIES="${PROXIES:-marchproxy haproxy nginx}"
for proxy in $PROXIES; do
  "start_$proxy"
  PIDS+=("$PROXY_PID")
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

  # Each test is preceded by SETTLE seconds of its own load, not measured: the steady state of
  # each kind of traffic is what is compared. A JVM recompiles its hot code for a few hundred ms
  # when the traffic changes kind (JFR: uncommon traps at the end of the bulk test, then C2
  # compiles on the proxy's one CPU); without this the p99 test measured that transient.
  settle="${SETTLE:-3}"
  on_load_cpus wrk -t1 -c64 -d"${settle}s" "$url" >/dev/null
  a="$(cpu_seconds "$PROXY_PID")"
  on_load_cpus wrk -t1 -c64 -d"${DURATION}s" "$url" >"$WORK/$proxy-small.txt"
  b="$(cpu_seconds "$PROXY_PID")"
  R[$proxy.small_cpu]="$(awk -v a="$a" -v b="$b" 'BEGIN { print b - a }')"
  on_load_cpus wrk -t1 -c32 -d"${settle}s" -H "Connection: close" "$url" >/dev/null
  a="$(cpu_seconds "$PROXY_PID")"
  on_load_cpus wrk -t1 -c32 -d"${DURATION}s" -H "Connection: close" "$url" >"$WORK/$proxy-conn.txt"
  b="$(cpu_seconds "$PROXY_PID")"
  R[$proxy.conn_cpu]="$(awk -v a="$a" -v b="$b" 'BEGIN { print b - a }')"
  on_load_cpus iperf3 -c 127.0.0.1 -p "${BULK_PORT[$proxy]}" -t "$settle" >/dev/null
  a="$(cpu_seconds "$PROXY_PID")"
  on_load_cpus iperf3 -c 127.0.0.1 -p "${BULK_PORT[$proxy]}" -t "$DURATION" -J >"$WORK/$proxy-bulk.json"
  b="$(cpu_seconds "$PROXY_PID")"
  R[$proxy.bulk_cpu]="$(awk -v a="$a" -v b="$b" 'BEGIN { print b - a }')"
  on_load_cpus wrk -t1 -c8 -d"${settle}s" "$url" >/dev/null
  on_load_cpus wrk -t1 -c8 -d"${DURATION}s" --latency "$url" >"$WORK/$proxy-latency.txt"

  R[$proxy.small]="$(wrk_rps "$WORK/$proxy-small.txt")"
  R[$proxy.conn]="$(wrk_rps "$WORK/$proxy-conn.txt")"
  R[$proxy.bulk]="$(python3 -c 'import json, sys; print("%.2f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e9))' "$WORK/$proxy-bulk.json")"
  R[$proxy.p99]="$(wrk_p99 "$WORK/$proxy-latency.txt")"

  kill "$PROXY_PID"
  wait "$PROXY_PID" 2>/dev/null || true
  sleep 1
done

per_cpu() { awk -v v="$1" -v c="$2" -v d="$DURATION" 'BEGIN { if (c <= 0) print "n/a"; else printf "%.0f", v * d / c }'; }
per_cpu_bulk() { awk -v v="$1" -v c="$2" -v d="$DURATION" 'BEGIN { if (c <= 0) print "n/a"; else printf "%.2f", v * d / c }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) print "n/a"; else printf "%.2f×", a / b }'; }

echo
echo "bench/l4 — $(date -u +%Y-%m-%dT%H:%MZ), ${DURATION}s per test, proxy CPUs $PROXY_CPUS ($NWORKERS worker(s)), load CPUs $LOAD_CPUS, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf '| %-10s | %12s | %14s | %10s | %14s | %10s | %14s | %8s |\n' proxy "small req/s" "req/CPU-s" "new conn/s" "conn/CPU-s" "bulk Gb/s" "Gb per CPU-s" "p99 ms"
printf '|%s|\n' "------------|--------------|----------------|------------|----------------|------------|----------------|----------"
for proxy in $PROXIES; do
  printf '| %-10s | %12s | %14s | %10s | %14s | %10s | %14s | %8s |\n' "$proxy" \
    "${R[$proxy.small]}" "$(per_cpu "${R[$proxy.small]}" "${R[$proxy.small_cpu]}")" \
    "${R[$proxy.conn]}" "$(per_cpu "${R[$proxy.conn]}" "${R[$proxy.conn_cpu]}")" \
    "${R[$proxy.bulk]}" "$(per_cpu_bulk "${R[$proxy.bulk]}" "${R[$proxy.bulk_cpu]}")" \
    "${R[$proxy.p99]}"
done
[[ "$PROXIES" == "marchproxy haproxy nginx" ]] || { echo "raw outputs: $WORK"; exit 0; }
echo
echo "MarchProxy / HAProxy, per proxy CPU-second (targets: small ≥ 1.0×, connections ≥ 0.8×, bulk ≥ 1.3×; p99 ≤ 1.5×):"
echo "  small requests  $(ratio "$(per_cpu "${R[marchproxy.small]}" "${R[marchproxy.small_cpu]}")" "$(per_cpu "${R[haproxy.small]}" "${R[haproxy.small_cpu]}")")   (raw $(ratio "${R[marchproxy.small]}" "${R[haproxy.small]}"))"
echo "  new connections $(ratio "$(per_cpu "${R[marchproxy.conn]}" "${R[marchproxy.conn_cpu]}")" "$(per_cpu "${R[haproxy.conn]}" "${R[haproxy.conn_cpu]}")")   (raw $(ratio "${R[marchproxy.conn]}" "${R[haproxy.conn]}"))"
echo "  bulk            $(ratio "$(per_cpu_bulk "${R[marchproxy.bulk]}" "${R[marchproxy.bulk_cpu]}")" "$(per_cpu_bulk "${R[haproxy.bulk]}" "${R[haproxy.bulk_cpu]}")")   (raw $(ratio "${R[marchproxy.bulk]}" "${R[haproxy.bulk]}"))"
echo "  p99 latency     $(ratio "${R[marchproxy.p99]}" "${R[haproxy.p99]}")"
echo "nginx stream / HAProxy: small $(ratio "$(per_cpu "${R[nginx.small]}" "${R[nginx.small_cpu]}")" "$(per_cpu "${R[haproxy.small]}" "${R[haproxy.small_cpu]}")"), connections $(ratio "$(per_cpu "${R[nginx.conn]}" "${R[nginx.conn_cpu]}")" "$(per_cpu "${R[haproxy.conn]}" "${R[haproxy.conn_cpu]}")"), bulk $(ratio "$(per_cpu_bulk "${R[nginx.bulk]}" "${R[nginx.bulk_cpu]}")" "$(per_cpu_bulk "${R[haproxy.bulk]}" "${R[haproxy.bulk_cpu]}")")"
echo "raw outputs: $WORK"
