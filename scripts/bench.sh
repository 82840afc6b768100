#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The one benchmark command: builds an optimised configuration (build-bench/, release), runs every
# benchmark and prints their tables. Each benchmark measures ForgeOne against a baseline in the same
# run (interleaved rounds, medians of per-round ratios): on a shared machine only the ratios mean
# anything. Writes bench/results.md (all output, with the machine and date) and bench/results.json
# (the ratios of the benchmarks that report them as JSON). Needs root.
#   scripts/bench.sh [--readme]     --readme: also replace the README's table with this run's
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$src/build-bench
readme=false
[ "${1:-}" = --readme ] && readme=true

if [ "$(id -u)" != 0 ]; then
        echo "bench: needs root (the benchmarks launch real workloads)" >&2
        exit 1
fi
"$src/scripts/install-deps.sh" >/dev/null
if [ ! -f "$build/build.ninja" ]; then
        meson setup "$build" "$src" --buildtype=release --werror >/dev/null
fi
ninja -C "$build" >/dev/null
export FORGEONE_SOURCE_ROOT=$src FORGEONE_BUILD_ROOT=$build

out=$src/bench/results.md
json_parts=$(mktemp -d /tmp/fo-bench-json-XXXXXX)
trap 'rm -rf "$json_parts"' EXIT
{
        echo "Machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(free -g | awk '/Mem:/ {print $2}') GiB,"
        echo "kernel $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME"); $(date -u +%Y-%m-%d); load at start $(cut -d' ' -f1-3 /proc/loadavg)."
        echo
        echo "### Trapped and emulated syscalls (build-bench/bench/bench-notify)"
        echo '```'
        "$build/bench/bench-notify" --iterations 50000 --json "$json_parts/notify.json"
        echo '```'
        echo
        echo "### What each syscall of an emulated open costs beyond the floor (build-bench/bench/bench-syscall-cost; bench/README.md)"
        echo '```'
        "$build/bench/bench-syscall-cost" --iterations 20000
        echo '```'
        echo
        echo "### Decision logging to journald on / off (build-bench/bench/bench-audit)"
        echo '```'
        "$build/bench/bench-audit" --iterations 50000 --json "$json_parts/audit.json"
        echo '```'
        echo
        echo "### Real work under policies/default.json (build-bench/bench/bench-workloads)"
        echo '```'
        "$build/bench/bench-workloads" --rounds 7 --json "$json_parts/workloads.json"
        echo '```'
        echo
        echo "### forgeoned: a trapped call through the daemon, many workloads, RSS (build-bench/bench/bench-daemon)"
        echo '```'
        "$build/bench/bench-daemon" --iterations 50000 --rounds 9 --json "$json_parts/daemon.json"
        echo '```'
        echo
        if [ -x "$build/bench/bench-observer" ]; then
                echo "### The eBPF observer on / off: supervised and unsupervised processes (build-bench/bench/bench-observer)"
                echo '```'
                "$build/bench/bench-observer" --rounds 9 --json "$json_parts/observer.json"
                echo '```'
                echo
        fi
        echo "### Policy evaluation: 10 / 1,000 / 10,000 rules (build-bench/bench/bench-policy-eval)"
        echo '```'
        "$build/bench/bench-policy-eval"
        echo '```'
        echo
        echo "### Image layers: verified safe unpack vs tar -xzf (build-bench/bench/bench-layer-unpack)"
        echo '```'
        "$build/bench/bench-layer-unpack"
        echo '```'
        echo
        echo "### Container start of a cached image vs bwrap (build-bench/bench/bench-container-start)"
        echo '```'
        "$build/bench/bench-container-start"
        echo '```'
        if [ -x "$build/bench/bench-image-verify" ]; then
                echo
                echo "### Image verification vs sha256sum (build-bench/bench/bench-image-verify)"
                echo '```'
                "$build/bench/bench-image-verify"
                echo '```'
        fi
} | tee "$out"

jq -s 'map(if type == "array" then {workloads: .} else . end) | add' "$json_parts"/*.json >"$src/bench/results.json"
echo "bench: wrote $out and $src/bench/results.json"

if $readme; then
        python3 - "$src/README.md" "$out" <<'EOF'
import sys
readme, results = sys.argv[1], sys.argv[2]
text = open(readme).read()
begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
a, b = text.index(begin) + len(begin), text.index(end)
open(readme, "w").write(text[:a] + "\n" + open(results).read() + text[b:])
EOF
        echo "bench: README.md updated"
fi
