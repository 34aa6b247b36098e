#!/usr/bin/env bash
# build.sh [BUILD_DIR] [--verbose] [--target NAME] [-DVAR=VALUE ...] -
# configure and build everything, or one target (warnings are errors); -D
# arguments go to cmake.
#
# Shows the build's progress in a few lines and nothing else; everything the
# compiler and the linker said is in BUILD_DIR/build.log. When the build
# fails, it shows the errors and the last lines of that log. --verbose (or
# VERBOSE=1) shows the whole output as it comes.
#
# The static programs' link says "Using 'getaddrinfo' in statically linked
# applications requires ..." for code of libcrypto that minidocker never
# calls (it resolves no host names): a warning of the linker's, not of ours,
# kept in the log.
set -euo pipefail
cd "$(dirname "$0")/.."
build=build
verbose=${VERBOSE:-}
# The unit tests, unless a -D says otherwise: a tree configured without them
# (scripts/test.sh's) gets them back at the next plain build.sh.
defines=(-DMINIDOCKER_WERROR=ON -DMINIDOCKER_UNIT_TESTS=ON)
targets=()
while [ $# -gt 0 ]; do
  case $1 in
    --verbose) verbose=1 ;;
    --target) targets=(--target "$2"); shift ;;
    -D*) defines+=("$1") ;;
    *) build=$1 ;;
  esac
  shift
done
mkdir -p "$build"
log=$build/build.log

if ! cmake -S . -B "$build" "${defines[@]}" >"$log" 2>&1; then
  echo "build.sh: configuring $build failed:" >&2
  tail -n 30 "$log" >&2
  exit 1
fi
if [ -n "$verbose" ]; then
  cmake --build "$build" -j"$(nproc)" "${targets[@]}" 2>&1 | tee -a "$log"
  exit "${PIPESTATUS[0]}"
fi

# "[ 42%] Building ..." -> one line per tenth of the way (or one line that
# updates itself on a terminal).
progress() {
  local tty=false last=-1 pct line
  [ -t 2 ] && tty=true
  while IFS= read -r line; do
    printf '%s\n' "$line" >>"$log"
    [[ $line =~ ^\[\ *([0-9]+)%\] ]] || continue
    pct=${BASH_REMATCH[1]}
    if $tty; then
      printf '\rbuild.sh: building %s ... %3d%%' "$build" "$pct" >&2
    elif [ $((pct / 10)) -gt "$last" ]; then
      last=$((pct / 10))
      echo "build.sh: building $build ... $pct%" >&2
    fi
  done
  if $tty; then
    printf '\n' >&2
  fi
}

start=$SECONDS
if cmake --build "$build" -j"$(nproc)" "${targets[@]}" 2>&1 | progress; then
  echo "build.sh: built $build in $((SECONDS - start)) s (log: $log)" >&2
  exit 0
fi
echo "build.sh: the build of $build failed; the errors (all of it: $log):" >&2
grep -E -A3 'error:|Error [0-9]|undefined reference' "$log" | head -n 60 >&2 || tail -n 40 "$log" >&2
exit 1
