#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs every benchmark and prints their tables. Each benchmark measures
# ForgeOne against a baseline in the same run and prints the ratio: on a
# shared machine only the ratios mean anything. Needs root (the supervisor
# and container benchmarks launch real workloads).
#   scripts/bench.sh [BUILD_DIR]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}
[ -x "$build/bench/bench-policy-eval" ] || { echo "bench: build first (scripts/build.sh)" >&2; exit 1; }
export FORGEONE_SOURCE_ROOT=$src

echo "== policy evaluation: 10 / 1,000 / 10,000 rules (target: 10,000/10 <= 1.5)"
"$build/bench/bench-policy-eval"
echo
echo "== supervisor: trapped getppid vs a bare seccomp-notify loop (target <= 1.10); emulated openat vs none and strace"
"$src/scripts/bench-supervisor.sh" "$build"
echo
echo "== image layers: verified safe unpack vs tar -xzf"
"$build/bench/bench-layer-unpack"
echo
echo "== image verification (200 MiB, digests + signature) vs sha256sum over the same blobs (target <= 1.2)"
"$build/bench/bench-image-verify" "$build/src/cli/forgeonectl"
echo
echo "== container start of a cached image vs bwrap (target <= 1.5)"
"$build/bench/bench-container-start"
