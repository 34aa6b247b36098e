#!/usr/bin/env bash
# build.sh [BUILD_DIR] - configure and build everything (warnings are errors).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
cmake -S . -B "$build" -DMINIDOCKER_WERROR=ON > /dev/null
cmake --build "$build" -j"$(nproc)"
