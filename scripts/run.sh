#!/usr/bin/env bash
# run.sh - set up, build, and start an interactive shell in a container made
# by the newest chapter. Once the last one is built: install it as
# /usr/local/bin/minidocker and run `minidocker run -it --rm busybox sh`.
# Before that, the newest chapter's binary: from chapter 03 on, a busybox
# root filesystem (build/rootfs) with memory and process limits; before
# that, the host's files in new namespaces. Extra arguments replace the default command.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
latest=$(ls build/bin | grep -E '^ch[0-9]+$' | sort | tail -n 1)
if [ $# -eq 0 ]; then
  set -- /bin/sh
fi
if [ -x build/bin/minidocker ]; then
  # The last chapter is the runtime: installed as /usr/local/bin/minidocker.
  cmake --install build --prefix /usr/local --strip > /dev/null
  tty=()
  if [ -t 0 ] && [ -t 1 ]; then
    tty=(-it)
  fi
  echo "run.sh: minidocker run ${tty[*]} --rm busybox $*   (exit the shell to leave)" >&2
  exec /usr/local/bin/minidocker run "${tty[@]}" --rm busybox "$@"
fi
options=(--hostname minidocker)
if [ "${latest#ch}" -ge 2 ]; then
  options+=(--memory 256m --pids-limit 256)
fi
if [ "${latest#ch}" -ge 6 ]; then
  # From chapter 06 on: a terminal of its own (-it) when we have one.
  tty=()
  if [ -t 0 ] && [ -t 1 ]; then
    tty=(-it)
  fi
  echo "run.sh: $latest run ${tty[*]} --rm ${options[*]} busybox $*   (exit the shell to leave)" >&2
  exec "build/bin/$latest" run "${tty[@]}" --rm "${options[@]}" busybox "$@"
fi
if [ "${latest#ch}" -ge 4 ]; then
  # From chapter 04 on: the built-in busybox image, removed on exit.
  echo "run.sh: $latest run --rm ${options[*]} busybox $*   (exit the shell to leave)" >&2
  exec "build/bin/$latest" run --rm "${options[@]}" busybox "$@"
fi
if [ "${latest#ch}" -ge 3 ]; then
  options+=(--rootfs build/rootfs)
fi
echo "run.sh: $latest run ${options[*]} -- $*   (exit the shell to leave)" >&2
exec "build/bin/$latest" run "${options[@]}" -- "$@"
