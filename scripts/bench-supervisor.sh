#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Prints the supervisor benchmark table: a trapped getppid under ForgeOne against a bare seccomp-notify
# loop, and emulated openat+close against no filter and strace, all measured in the same run.
#   scripts/bench-supervisor.sh [BUILD_DIR] [--iterations N]
# Needs root and strace. Only the ratios are meaningful on a shared machine.
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
build=${FORGEONE_BUILD_ROOT:-$src/build}
if [ $# -gt 0 ] && [ -d "$1" ]; then
        build=$1
        shift
fi
bin=$build/bench/bench-notify

if [ ! -x "$bin" ]; then
        echo "bench-supervisor: $bin is not built (run: ninja -C $build)" >&2
        exit 1
fi
if [ "$(id -u)" != 0 ]; then
        echo "bench-supervisor: needs root (pidfd_getfd, process_vm_readv of the workload)" >&2
        exit 1
fi
if ! command -v strace >/dev/null 2>&1; then
        echo "bench-supervisor: needs strace for the ptrace baseline (apt-get install strace)" >&2
        exit 1
fi

echo "# ForgeOne supervisor benchmark: kernel $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
FORGEONE_SOURCE_ROOT=$src exec "$bin" --policy "$src/policies/default.json" "$@"
