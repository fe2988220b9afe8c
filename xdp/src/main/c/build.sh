#!/bin/sh
# Compiles the XDP program to BPF bytecode. Called by the Maven build (generate-resources) and by
# bench/xdp/run.sh; extra clang flags (e.g. -DMP_BENCH_ROTATE_SOURCE) go after the output path.
#   build.sh <source.c> <output.o> [clang flags...]
set -eu
src="$1"
out="$2"
shift 2
CLANG="${CLANG:-clang}"
command -v "$CLANG" >/dev/null 2>&1 || {
	echo "xdp build: '$CLANG' not found; install the packages in xdp/debian-packages.txt" >&2
	exit 1
}
# Debian keeps asm/types.h under the multiarch directory, which -target bpf does not search.
multiarch="$(gcc -print-multiarch 2>/dev/null || dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)"
mkdir -p "$(dirname "$out")"
exec "$CLANG" -O2 -g -target bpf -Wall -Werror \
	-I"$(dirname "$src")" -I"/usr/include/$multiarch" \
	"$@" -c "$src" -o "$out"
