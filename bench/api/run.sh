#!/usr/bin/env bash
# bench/api: MarchProxy's REST API next to nginx serving the same JSON body (the ceiling), in one
# run, with the same CPU allowance: each server is pinned to CPU 1, wrk to CPU 0.
# Run through the entry script, which selects the JDK and installs wrk and nginx:
#   ./marchproxy bench api            (BENCH_DURATION=15s BENCH_CONNECTIONS=32 to change the load)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/bench/api"
: "${JAVA_HOME:?run through ./marchproxy bench api}"
DURATION="${BENCH_DURATION:-15s}"
CONNECTIONS="${BENCH_CONNECTIONS:-32}"
API_PORT=18310 PG_PORT=18311 NGINX_PORT=18312
WORK="$(mktemp -d /tmp/marchproxy-bench-api.XXXXXX)"
export BENCH_ADMIN_PASSWORD="bench-admin-password"
PIDS=()

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  [[ -f "$WORK/nginx.pid" ]] && kill -QUIT "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

[[ -f "$ROOT/functions/target/functions.jar" ]] || (cd "$ROOT" && ./mvnw -q -B -DskipTests -pl functions -am package)

echo "bench/api: starting the API (embedded Postgres in $WORK) on CPU 1"
MARCHPROXY_HOME="$WORK" MARCHPROXY_API_PORT=$API_PORT MARCHPROXY_PG_PORT=$PG_PORT \
  MARCHPROXY_ADMIN_PASSWORD="$BENCH_ADMIN_PASSWORD" MARCHPROXY_LOG_LEVEL=WARN \
  taskset -c 1 "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow \
  -jar "$ROOT/functions/target/functions.jar" >"$WORK/api.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 240); do
  curl -fs "http://127.0.0.1:$API_PORT/readyz" >/dev/null 2>&1 && break
  kill -0 "${PIDS[0]}" 2>/dev/null || { tail -20 "$WORK/api.log" >&2; exit 1; }
  sleep 0.5
done

API="http://127.0.0.1:$API_PORT"
TOKEN="$(curl -fs "$API/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$BENCH_ADMIN_PASSWORD\"}" | jq -r .accessToken)"
CLUSTER="$(curl -fs "$API/api/v1/clusters" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"name":"bench"}' | jq -r .id)"
echo "bench/api: seeding 50 services"
for i in $(seq 1 50); do
  curl -fs -o /dev/null "$API/api/v1/clusters/$CLUSTER/services" -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' \
    -d "{\"name\":\"svc-$i\",\"protocol\":\"http\",\"endpoints\":[{\"host\":\"10.0.0.$i\",\"port\":8080}]}"
done
LIST="/api/v1/clusters/$CLUSTER/services?limit=50"
SMALL="/api/v1/clusters/$CLUSTER/services?limit=1"
mkdir -p "$WORK/www/api/v1/clusters/$CLUSTER"
curl -fs "$API$LIST" -H "Authorization: Bearer $TOKEN" >"$WORK/www/services.json"
BODY_BYTES="$(wc -c <"$WORK/www/services.json")"

cat >"$WORK/nginx.conf" <<CONF
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $WORK/www;
    location / { default_type application/json; try_files /services.json =404; }
  }
}
CONF
taskset -c 1 nginx -c "$WORK/nginx.conf" -e "$WORK/nginx-error.log"

run() { # name connections url [wrk args…] → "rps p99"
  local name="$1" connections="$2" url="$3"
  shift 3
  local out
  out="$(taskset -c 0 wrk -t1 -c"$connections" -d"$DURATION" --timeout 10s --latency "$@" "$url")"
  echo "$out" >"$WORK/$name.wrk"
  local rps p99
  rps="$(awk '/^Requests\/sec/ {print $2}' <<<"$out")"
  p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
  echo "$rps $p99"
}

echo "bench/api: warming up (the JIT compiles the hot paths in the first seconds)"
taskset -c 0 wrk -t1 -c16 -d20s -H "Authorization: Bearer $TOKEN" "$API$LIST" >/dev/null
taskset -c 0 wrk -t1 -c16 -d5s -H "Authorization: Bearer $TOKEN" "$API$SMALL" >/dev/null
echo "bench/api: measuring ($DURATION each, $CONNECTIONS connections)"
read -r NGINX_RPS NGINX_P99 < <(run nginx "$CONNECTIONS" "http://127.0.0.1:$NGINX_PORT$LIST")
read -r LIST_RPS LIST_P99 < <(run list "$CONNECTIONS" "$API$LIST" -H "Authorization: Bearer $TOKEN")
read -r SMALL_RPS SMALL_P99 < <(run small "$CONNECTIONS" "$API$SMALL" -H "Authorization: Bearer $TOKEN")
# bcrypt is deliberately slow: a few connections, or the queue only measures itself.
read -r LOGIN_RPS LOGIN_P99 < <(run login 2 "$API/api/v1/auth/login" -s "$HERE/login.lua")
export BENCH_TOKEN="$TOKEN" BENCH_CREATE_PATH="/api/v1/clusters/$CLUSTER/services"
read -r CREATE_RPS CREATE_P99 < <(run create 8 "$API$BENCH_CREATE_PATH" -s "$HERE/create.lua")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
cat <<REPORT

| endpoint (body ${BODY_BYTES} B for the list) | requests/s | p99 | vs nginx |
|---|---:|---:|---:|
| nginx, same JSON body (ceiling) | $NGINX_RPS | $NGINX_P99 | 1.00 |
| GET services list, 50 items (cached, JWT auth) | $LIST_RPS | $LIST_P99 | $(ratio "$LIST_RPS" "$NGINX_RPS") |
| GET services list, 1 item (cached, JWT auth) | $SMALL_RPS | $SMALL_P99 | $(ratio "$SMALL_RPS" "$NGINX_RPS") |
| POST login (bcrypt cost 12) | $LOGIN_RPS | $LOGIN_P99 | $(ratio "$LOGIN_RPS" "$NGINX_RPS") |
| POST create service (audit + revision) | $CREATE_RPS | $CREATE_P99 | $(ratio "$CREATE_RPS" "$NGINX_RPS") |
REPORT
