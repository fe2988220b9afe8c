"""Aggregates `jfr print --events jdk.ExecutionSample` output by wasm function.

Chicory's compiler turns wasm function N into a JVM method `func_N`; the names come from the
modules' name sections (bench/wasm/profile.sh builds them unstripped). A sample is charged to
its innermost `func_N` frame ("self, by wasm function") and to its top frame ("top frames").
Usage: profile_report.py samples.txt wasm-dir
"""

import collections
import os
import re
import sys


def leb(data, at):
    result = shift = 0
    while True:
        byte = data[at]
        at += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, at


def function_names(path):
    data = open(path, "rb").read()
    at = 8
    names = {}
    while at < len(data):
        section, at = data[at], at + 1
        size, at = leb(data, at)
        end = at + size
        if section == 0:
            name_len, p = leb(data, at)
            if data[p : p + name_len] == b"name":
                p += name_len
                while p < end:
                    sub, p = data[p], p + 1
                    sub_size, p = leb(data, p)
                    if sub == 1:
                        count, q = leb(data, p)
                        for _ in range(count):
                            index, q = leb(data, q)
                            length, q = leb(data, q)
                            names[index] = demangle(data[q : q + length].decode("utf-8", "replace"))
                            q += length
                    p += sub_size
        at = end
    return names


def demangle(symbol):
    """Legacy Rust mangling (_ZN<len><part>...E), hash dropped; anything else unchanged."""
    if not symbol.startswith("_ZN"):
        return symbol
    parts, at = [], 3
    while at < len(symbol) and symbol[at].isdigit():
        digits = re.match(r"\d+", symbol[at:]).group(0)
        at += len(digits)
        parts.append(symbol[at : at + int(digits)])
        at += int(digits)
    if parts and re.fullmatch(r"h[0-9a-f]{16}", parts[-1]):
        parts.pop()
    text = "::".join(parts)
    for code, char in (("$LT$", "<"), ("$GT$", ">"), ("$u20$", " "), ("$RF$", "&"), ("$C$", ","), ("..", "::"), ("$u7b$", "{"), ("$u7d$", "}"), ("$BP$", "*")):
        text = text.replace(code, char)
    return text


def main():
    samples_file, wasm_dir = sys.argv[1], sys.argv[2]
    names = {}
    for file in sorted(os.listdir(wasm_dir)):
        if file.endswith(".wasm"):
            names = function_names(os.path.join(wasm_dir, file)) if file == "auth.wasm" else names
    by_function = collections.Counter()
    by_top = collections.Counter()
    total = 0
    frame = re.compile(r"^\s+([\w$.]+)\.([\w$<>]+)\(")
    stack = []

    def finish():
        nonlocal total
        if not stack:
            return
        total += 1
        by_top[stack[0]] += 1
        wasm = next((f for f in stack if ".func_" in f or f.endswith("func")), None)
        if wasm is None:
            by_function["(no wasm frame) " + stack[0]] += 1
        else:
            index = int(wasm.rsplit("func_", 1)[1])
            by_function[f"{index} {names.get(index, '?')}"] += 1

    for line in open(samples_file):
        if line.startswith("jdk.ExecutionSample"):
            finish()
            stack = []
        else:
            m = frame.match(line)
            if m:
                stack.append(m.group(1).rsplit(".", 1)[-1] + "." + m.group(2))
    finish()
    print(f"\n{total} samples\n\nself, by wasm function:")
    for name, count in by_function.most_common(30):
        print(f"{100 * count / total:6.1f}%  {name[:150]}")
    print("\ntop frames:")
    for name, count in by_top.most_common(20):
        print(f"{100 * count / total:6.1f}%  {name}")


if __name__ == "__main__":
    main()
