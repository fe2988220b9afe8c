#!/usr/bin/env bash
# xDS benchmarks; prints the Markdown tables of the "## xDS" section of docs/BENCHMARKS.md.
#
#   bench/xds/run.sh                 # both parts
#   bench/xds/run.sh fanout          # MarchProxy's SnapshotCache vs java-control-plane's SimpleCache,
#                                    # in one JVM (FanoutBench.java); FANOUT_ARGS passes options
#   bench/xds/run.sh stack           # ./marchproxy up on free ports with an enterprise license minted
#                                    # for the run: REST write → ADS ACK, and heap with many streams
#                                    # (StackBench.java); STACK_ARGS passes options
#
# XDS_BENCH_BUILD=never skips the Maven build and uses the jars already built.
# XDS_BENCH_JFR=<dir> records the stack's JVMs (API, xds-service, Postgres launcher) with JFR.
# e.g. FANOUT_ARGS="--cases 10000x100 --rounds 3" bench/xds/run.sh fanout
#      STACK_ARGS="--writes 30 --parts writes" bench/xds/run.sh stack
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
JAVA="$JAVA_HOME/bin/java"
JVM=(--enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow
  "-Dlogback.configurationFile=$ROOT/bench/xds/logback-bench.xml")
cd "$ROOT"

PARTS=("$@")
((${#PARTS[@]})) || PARTS=(fanout stack)
for part in "${PARTS[@]}"; do
  [[ "$part" == fanout || "$part" == stack ]] || { echo "usage: $0 [fanout] [stack]" >&2; exit 2; }
done

# The services and the cache under test (tests are not run), and the classpath the bench runs with.
# XDS_BENCH_BUILD=never reuses what is already built (e.g. while the tree is mid-edit).
if [[ "${XDS_BENCH_BUILD:-always}" != never ]]; then
  ./mvnw -q -B -ntp -DskipTests -pl functions,xds-service -am install
fi
CLASSPATH_FILE="$ROOT/xds-service/target/bench-classpath.txt"
./mvnw -q -B -ntp -pl xds-service dependency:build-classpath -Dmdep.includeScope=runtime \
  -Dmdep.outputFile="$CLASSPATH_FILE" >/dev/null
CP="$ROOT/xds-service/target/classes:$(cat "$CLASSPATH_FILE")"

echo "# $(date -u +%FT%TZ) on $(nproc) CPUs; load: $(uptime | sed 's/.*load average: //')"

run_fanout() {
  # shellcheck disable=SC2086
  "$JAVA" "${JVM[@]}" -Xms4g -Xmx4g -cp "$CP" "$ROOT/bench/xds/FanoutBench.java" ${FANOUT_ARGS:-}
}

free_port() {
  local port
  while true; do
    port=$((20000 + RANDOM % 12000)) # below ip_local_port_range (32768+): no clash with outgoing connections
    [[ -z "$(ss -Htln "sport = :$port" 2>/dev/null)" ]] && { echo "$port"; return; }
  done
}

UP_PID=""
WORK=""
stop_stack() {
  if [[ -n "$UP_PID" ]] && kill -0 "$UP_PID" 2>/dev/null; then
    kill -TERM "$UP_PID" 2>/dev/null || true # ./marchproxy up stops what it started, Postgres last
    for _ in $(seq 1 900); do
      kill -0 "$UP_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$UP_PID" 2>/dev/null && kill -KILL "$UP_PID" 2>/dev/null
    wait "$UP_PID" 2>/dev/null || true
  fi
  [[ -n "$WORK" ]] && rm -rf "$WORK"
  UP_PID=""
  WORK=""
}

run_stack() {
  WORK="$(mktemp -d /tmp/marchproxy-bench-xds.XXXXXX)"
  trap stop_stack EXIT
  trap 'stop_stack; exit 130' INT TERM
  local lib="$ROOT/functions/target/lib/*"
  "$JAVA" -cp "$lib" io.marchproxy.core.license.LicenseMint keypair "$WORK/license" >/dev/null
  local license
  license="$("$JAVA" -cp "$lib" io.marchproxy.core.license.LicenseMint mint \
    --private-key "$WORK/license/private-key.b64" --customer bench --edition enterprise \
    --max-proxies 5000 --max-clusters 10 --expires "$(date -u -d '+30 days' +%F)")"
  local api xds xds_http pg password
  api="$(free_port)"
  xds="$(free_port)"
  xds_http="$(free_port)"
  pg="$(free_port)"
  password="bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"

  echo "# starting ./marchproxy up (state in $WORK/home)"
  : >"$WORK/up.log"
  local jfr=()
  if [[ -n "${XDS_BENCH_JFR:-}" ]]; then # a flight recording of every JVM of the stack, one file per pid
    mkdir -p "$XDS_BENCH_JFR"
    jfr=("JAVA_TOOL_OPTIONS=-XX:StartFlightRecording=filename=$XDS_BENCH_JFR/%p.jfr,settings=profile")
  fi
  env -u DATASOURCES_DEFAULT_URL "${jfr[@]}" MARCHPROXY_HOME="$WORK/home" MARCHPROXY_BUILD=never MARCHPROXY_ADMIN_PASSWORD="$password" \
    MARCHPROXY_API_PORT="$api" MARCHPROXY_XDS_PORT="$xds" MARCHPROXY_XDS_HTTP_PORT="$xds_http" \
    MARCHPROXY_PG_PORT="$pg" MARCHPROXY_LICENSE_PUBLIC_KEY="$(cat "$WORK/license/public-key.b64")" \
    "$ROOT/marchproxy" up >"$WORK/up.log" 2>&1 &
  UP_PID=$!
  local deadline=$((SECONDS + 300))
  until grep -q 'Press Ctrl-C to stop.' "$WORK/up.log"; do
    if ! kill -0 "$UP_PID" 2>/dev/null || ((SECONDS > deadline)); then
      echo "./marchproxy up did not come up:" >&2
      cat "$WORK/up.log" >&2
      exit 1
    fi
    sleep 0.5
  done
  local xds_pid
  xds_pid="$(ps -o pid=,args= --ppid "$UP_PID" | awk '/xds-service\.jar/ {print $1; exit}')"
  [[ -n "$xds_pid" ]] || { echo "xds-service process not found under $UP_PID" >&2; exit 1; }
  echo "# xds-service pid $xds_pid, JVM flags as ./marchproxy up runs it: $(ps -o args= -p "$xds_pid" | cut -c1-200)"

  # STACK_BENCH_JVM adds options to the bench JVM (e.g. -Xlog:gc:file=...).
  # shellcheck disable=SC2086
  "$JAVA" "${JVM[@]}" -Xmx2g ${STACK_BENCH_JVM:-} -cp "$CP" "$ROOT/bench/xds/StackBench.java" \
    --api "$api" --xds "$xds" --xds-http "$xds_http" --password "$password" \
    --license "$license" --xds-pid "$xds_pid" ${STACK_ARGS:-}
  stop_stack
  trap - EXIT INT TERM
}

for part in "${PARTS[@]}"; do
  case "$part" in
    fanout) run_fanout ;;
    stack) run_stack ;;
  esac
done
echo "# done; load: $(uptime | sed 's/.*load average: //')"
