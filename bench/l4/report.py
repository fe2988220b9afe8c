"""bench/l4's summary: medians over the rounds of every test, their ratios to HAProxy, the rounds.

usage: report.py RESULTS.tsv DURATION "PROXIES"
RESULTS.tsv lines (from run.sh): test, round, proxy, rate, proxy CPU-seconds, steal ms.
Rates: small and conn in requests/s (wrk), bulk in Gb/s (iperf3), p99 in ms (wrk --latency).
"""

import statistics
import sys

NAMES = {"marchproxy": "MarchProxy", "haproxy": "HAProxy", "nginx": "nginx stream"}
TARGETS = {"small": "≥ 1.0×", "conn": "≥ 0.8×", "bulk": "≥ 1.3×", "p99": "≤ 1.5×"}
LABELS = {"small": "small requests", "conn": "new connections", "bulk": "bulk", "p99": "p99 latency (c=8)"}


def main(path, duration, proxies):
    duration = float(duration)
    proxies = proxies.split()
    rounds = {}  # (test, proxy) -> [(round, rate, per_cpu, steal_ms)]
    with open(path) as f:
        for line in f:
            test, rnd, proxy, rate, cpu, steal = line.rstrip("\n").split("\t")
            rate, cpu = float(rate), float(cpu)
            # per proxy CPU-second; p99 is compared as it is
            per_cpu = rate if test == "p99" else (rate * duration / cpu if cpu > 0 else float("nan"))
            rounds.setdefault((test, proxy), []).append((int(rnd), rate, per_cpu, int(steal)))

    def median(test, proxy, i):
        values = [r[i] for r in rounds.get((test, proxy), [])]
        return statistics.median(values) if values else float("nan")

    print()
    print("Medians over the rounds:")
    print()
    print("| proxy | small req/s | req/CPU-s | new conn/s | conn/CPU-s | bulk Gb/s | Gb per CPU-s | p99 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for p in proxies:
        print(
            f"| {NAMES.get(p, p)} | {median('small', p, 1):.0f} | {median('small', p, 2):.0f}"
            f" | {median('conn', p, 1):.0f} | {median('conn', p, 2):.0f}"
            f" | {median('bulk', p, 1):.2f} | {median('bulk', p, 2):.2f} | {median('p99', p, 1):.3f} |"
        )
    if "haproxy" in proxies:
        for p in (p for p in proxies if p != "haproxy"):
            print()
            print(f"{NAMES.get(p, p)} / HAProxy (per proxy CPU-second; p99: ratio of the p99s):")
            for test in ("small", "conn", "bulk", "p99"):
                ratio = median(test, p, 2) / median(test, "haproxy", 2)
                per_round = [mine[2] / theirs[2] for mine, theirs in zip(
                    sorted(rounds.get((test, p), [])), sorted(rounds.get((test, "haproxy"), [])))]
                spread = ", ".join(f"{x:.2f}×" for x in per_round)
                target = f"   target {TARGETS[test]}" if p == "marchproxy" else ""
                print(f"  {LABELS[test]:<18} {ratio:.2f}×   (rounds: {spread}){target}")
    print()
    print("Every round (per proxy CPU-second; p99 in ms; in brackets: steal ms on the proxy CPUs):")
    print()
    print("| test | round | " + " | ".join(NAMES.get(p, p) for p in proxies) + " |")
    print("|---|---:|" + "---:|" * len(proxies))
    for test in ("small", "conn", "bulk", "p99"):
        for rnd in sorted({r[0] for p in proxies for r in rounds.get((test, p), [])}):
            cells = []
            for p in proxies:
                row = next((r for r in rounds.get((test, p), []) if r[0] == rnd), None)
                fmt = "{:.2f}" if test == "bulk" else ("{:.3f}" if test == "p99" else "{:.0f}")
                cells.append(f"{fmt.format(row[2])} [{row[3]}]" if row else "n/a")
            print(f"| {test} | {rnd} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
