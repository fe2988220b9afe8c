#!/usr/bin/env bash
# bench/l4/syscalls.sh: system calls per relayed request — MarchProxy's event loop against HAProxy
# and nginx stream, the same setup as bench/l4/run.sh (same proxies, ports, backends, CPUs).
#
#   ./marchproxy bench l4 syscalls           # or: bench/l4/syscalls.sh
#   REQUESTS=200 PROXIES="marchproxy haproxy" bench/l4/syscalls.sh
#
# Per proxy: a warm-up (wrk, as run.sh's, shorter), then strace -c of the proxy's relaying thread(s)
# while (a) REQUESTS requests each on a connection of its own (curl, `Connection: close`) and
# (b) REQUESTS requests on one kept-alive connection (one curl, REQUESTS URLs). Prints the calls per
# request by system call; `strace -c` slows the proxy, so this counts calls, it does not time them.
set -euo pipefail

EXTRA_TOOLS="strace curl"
# shellcheck source=bench/l4/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REQUESTS="${REQUESTS:-200}"
PROXIES="${PROXIES:-marchproxy haproxy nginx}"

# The threads that relay: MarchProxy's event loops (Netty names them multiThreadIoEventLoopGroup-*,
# cut to 15 characters), the others' single process.
relay_threads() {
  local proxy="$1" pid="$2" t
  if [[ "$proxy" != marchproxy ]]; then
    echo "$pid"
    return
  fi
  for t in /proc/"$pid"/task/*; do
    [[ "$(cat "$t/comm")" == multiThreadIoEv ]] && basename "$t"
  done
}

# strace -c of the relay threads around one command; the summary goes to $1.
count() {
  local out="$1" pid="$2" proxy="$3" args=() t tracer
  shift 3
  for t in $(relay_threads "$proxy" "$pid"); do args+=(-p "$t"); done
  strace -c -o "$out" "${args[@]}" 2>/dev/null &
  tracer=$!
  sleep 1 # strace attaches
  "$@"
  sleep 0.5 # the last closes reach the proxy
  kill -INT "$tracer"
  wait "$tracer" 2>/dev/null || true
}

for proxy in $PROXIES; do
  start_proxy "$proxy"
  url="http://127.0.0.1:${HTTP_PORT[$proxy]}/"
  load small "$proxy" "${WARMUP:-10}" >/dev/null
  load conn "$proxy" "${WARMUP_CONN:-5}" >/dev/null
  count "$WORK/$proxy-close.strace" "$PROXY_PID" "$proxy" \
    bash -c 'for ((i = 0; i < $1; i++)); do curl -sf -o /dev/null -H "Connection: close" "$2" || exit 1; done' _ "$REQUESTS" "$url"
  urls=()
  for ((i = 0; i < REQUESTS; i++)); do urls+=("$url"); done
  count "$WORK/$proxy-keepalive.strace" "$PROXY_PID" "$proxy" bash -c 'curl -sf "$@" >/dev/null' _ "${urls[@]}"
  kill "$PROXY_PID"
  wait "$PROXY_PID" 2>/dev/null || true
done

echo
echo "bench/l4 syscalls — $(date -u +%Y-%m-%dT%H:%MZ), $REQUESTS requests of each kind, system calls per request of the proxy's relaying thread(s)"
python3 - "$WORK" "$REQUESTS" $PROXIES <<'PY'
import re, sys
work, n, proxies = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
names = {"marchproxy": "MarchProxy", "haproxy": "HAProxy", "nginx": "nginx stream"}
for kind, label in (("close", "a connection per request (Connection: close)"), ("keepalive", "one kept-alive connection")):
    table, calls = {}, set()
    for p in proxies:
        rows = {}
        for line in open(f"{work}/{p}-{kind}.strace"):
            f = line.split()
            # % time, seconds, usecs/call, calls, [errors], syscall
            if len(f) >= 5 and re.fullmatch(r"[0-9.]+", f[0]) and f[-1] != "total":
                rows[f[-1]] = (int(f[3]), int(f[4]) if len(f) == 6 else 0)
        table[p] = rows
        calls |= set(rows)
    print(f"\n{label}:\n")
    print("| system call | " + " | ".join(names.get(p, p) for p in proxies) + " |")
    print("|---|" + "---:|" * len(proxies))
    order = sorted(calls, key=lambda c: -max(table[p].get(c, (0, 0))[0] for p in proxies))
    for c in order:
        cells = []
        for p in proxies:
            k, e = table[p].get(c, (0, 0))
            cells.append(f"{k / n:.2f}" + (f" ({e / n:.2f} failed)" if e else ""))
        print(f"| {c} | " + " | ".join(cells) + " |")
    print("| **total** | " + " | ".join(f"**{sum(k for k, _ in table[p].values()) / n:.2f}**" for p in proxies) + " |")
PY
echo "raw outputs: $WORK"
