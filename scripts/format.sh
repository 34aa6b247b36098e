#!/usr/bin/env bash
# format.sh [--check] - format the C++ sources with .clang-format, or (with
# --check) fail if any file is not formatted.
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files '*.cpp' '*.hpp')
if [ "${1:-}" = "--check" ]; then
  clang-format --dry-run -Werror $files
  echo "format.sh: all $(echo "$files" | wc -w) files are formatted"
else
  clang-format -i $files
fi
