#!/usr/bin/env bash
# lint.sh [BUILD_DIR] - clang-tidy with the project's small check set
# (.clang-tidy) over the runtime's sources. Needs a configured build dir
# (for compile_commands.json). One clang-tidy per core: each file is
# checked on its own, so they run side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
files=$(git ls-files 'common/*.cpp' 'chapters/*.cpp')
echo "$files" | xargs -P "$(nproc)" -n 4 clang-tidy -p "$build" --quiet 2> /dev/null
echo "lint.sh: clang-tidy is clean on $(echo "$files" | wc -w) files"
