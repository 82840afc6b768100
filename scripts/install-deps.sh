#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs every Debian 12 package ForgeOne needs to build, test and benchmark.
# Idempotent: asks apt only for what is missing. Must run as root.
set -euo pipefail

packages=(
  # build
  meson ninja-build pkg-config gcc clang llvm bpftool
  libseccomp-dev libbpf-dev libssl-dev libjson-c-dev libsystemd-dev libtss2-dev libarchive-dev
  check
  # tools the CLI and tests use
  graphviz jq strace bubblewrap runc umoci busybox-static openssl
  swtpm swtpm-tools tpm2-tools dbus systemd systemd-journal-remote
  # forgeoned: its pages' lint, and systemd as PID 1 in a container for its live test
  mandoc systemd-container mmdebstrap zstd util-linux
  # workloads of the compatibility suite (tests/test-compat.sh)
  make git xz-utils python3 python3-venv python3-pip
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root to install them" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
