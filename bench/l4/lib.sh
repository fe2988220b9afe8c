# bench/l4/lib.sh: what run.sh and syscalls.sh share — settings, the backends (started when this
# is sourced), the three proxies' start functions, CPU time, waiting for a port, each test's load,
# wrk's figures.
# Tools a script needs beyond run.sh's: EXTRA_TOOLS="strace curl" before sourcing it.
# shellcheck shell=bash

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

for tool in haproxy nginx wrk iperf3 taskset python3 ${EXTRA_TOOLS:-}; do
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

# One test's load on one proxy for $3 seconds, its report on stdout (wrk's text, iperf3's JSON).
load() {
  local test="$1" proxy="$2" secs="$3" url="http://127.0.0.1:${HTTP_PORT[$2]}/"
  case "$test" in
    small) on_load_cpus wrk -t1 -c64 -d"${secs}s" "$url" ;;
    conn) on_load_cpus wrk -t1 -c32 -d"${secs}s" -H "Connection: close" "$url" ;;
    bulk) on_load_cpus iperf3 -c 127.0.0.1 -p "${BULK_PORT[$proxy]}" -t "$secs" -J ;;
    p99) on_load_cpus wrk -t1 -c8 -d"${secs}s" --latency "$url" ;;
  esac
}

# Starts a proxy and waits until both its ports accept; sets PROXY_PID.
start_proxy() {
  "start_$1"
  PIDS+=("$PROXY_PID")
  await_port "${HTTP_PORT[$1]}"
  await_port "${BULK_PORT[$1]}"
}
