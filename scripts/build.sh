#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Configures (once) and builds ForgeOne in ./build with -Werror, then the release
# configuration in ./build-release, also with -Werror: the optimiser at -O3 warns about
# things the default build does not see, and CI (which runs this through test.sh) must
# prove both compile. The tests run from ./build only.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f build/build.ninja ]; then
  meson setup build --werror
fi
ninja -C build
if [ ! -f build-release/build.ninja ]; then
  meson setup build-release --buildtype=release --werror
fi
ninja -C build-release
