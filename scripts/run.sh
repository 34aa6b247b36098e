#!/usr/bin/env bash
# run.sh - set up, build, and start an interactive shell in a container made
# by the newest chapter. Extra arguments replace the default command.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh > /dev/null
scripts/build.sh > /dev/null
latest=$(ls build/bin | grep -E '^ch[0-9]+$' | sort | tail -n 1)
if [ $# -eq 0 ]; then
  set -- /bin/sh
fi
echo "run.sh: $latest run --hostname minidocker -- $*   (exit the shell to leave)" >&2
exec "build/bin/$latest" run --hostname minidocker -- "$@"
