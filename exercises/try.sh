#!/usr/bin/env bash
# exercises/try.sh NN [FOLDER] [--build-dir DIR]
#
# The student's command: builds chapter NN from your version of its feature
# file(s) and runs chapter NN's own tests (the ctest names ^chNN@chNN\.),
# then says, for each TODO of the table in exercises/NN-*/README.md, whether
# it is done (all its tests pass) or which of its tests still fail. Run it as
# root, from anywhere:
#
#   sudo exercises/try.sh 02                 # your copy, exercises/02-cgroups/work/
#   sudo exercises/try.sh 02 ~/my-cgroups    # a folder with your cgroups.cpp
#
# Your copy: the repository keeps no skeleton. When the folder (work/ by
# default) has no cgroups.cpp yet, try.sh makes it from the chapter's file
# with exercises/skeleton.sh, owned by the user who ran sudo; it never
# writes over a file that is there. To start again, delete it. It then says
# if a TODO marker (//{ TODO(NN.k) ... //} TODO(NN.k)) of your file moved or
# is gone: the graders read your work block by block.
#
# The build folder (default build-exNN at the top of the repository) is
# configured once with -DMINIDOCKER_EXERCISE=NN -DMINIDOCKER_EXERCISE_DIR=
# FOLDER -DMINIDOCKER_WERROR=ON; then each try rebuilds only chNN (your file
# and a link), and the test program, the probe and the test rootfs when they
# are out of date. On a compile error it shows the compiler's first errors and
# the TODO whose block holds the line (or whose marker is nearest above it).
#
# Exit status: 0 all of chapter NN's tests pass, 1 some fail (or the build
# does), 2 cannot try (usage, not root, a file missing, cmake fails).
# Logs: DIR/try-logs/ (configure.log, build.log, tests.log, results.xml).
set -euo pipefail

usage() {
  echo "usage: $0 NN [FOLDER] [--build-dir DIR]" >&2
  exit 2
}

die() {
  echo "try.sh: $*" >&2
  exit 2
}

# ---------------------------------------------------------------- arguments
build_dir=""
args=()
while [ $# -gt 0 ]; do
  case $1 in
    --build-dir) [ $# -ge 2 ] || usage; build_dir=$2; shift 2 ;;
    -h | --help) usage ;;
    -*) echo "try.sh: unknown option $1" >&2; usage ;;
    *) args+=("$1"); shift ;;
  esac
done
if [ ${#args[@]} -lt 1 ] || [ ${#args[@]} -gt 2 ]; then
  usage
fi
nn=${args[0]}
[[ $nn =~ ^[0-9][0-9]$ ]] || usage

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
chapter=ch$nn
build_dir=$(realpath -m "${build_dir:-$repo/build-ex$nn}")
logs=$build_dir/try-logs

# shellcheck source=exercises/lib.sh
. "$repo/exercises/lib.sh"
find_exercise "$nn"
features=("${feature_files[@]}")
[ ${#features[@]} -gt 0 ] || die "no file in $chapter_dir has a TODO($nn.k) block"

if [ ${#args[@]} -eq 2 ]; then
  [ -d "${args[1]}" ] || die "no folder ${args[1]}"
  folder=$(realpath "${args[1]}")
else
  folder=$work_dir
fi
source_dir=$folder

[ "$(id -u)" -eq 0 ] || die "run me as root (sudo $0 ${args[*]}): chapter $nn's tests start real containers"

# ---------------------------------------------------------------- your copy
for f in "${features[@]}"; do
  [ ! -e "$folder/$f" ] || continue
  mkdir -p "$folder"
  "$repo/exercises/skeleton.sh" -o "$folder/$f" "$chapter_dir/$f" || die "could not make $folder/$f"
  # Yours, not root's: sudo ran us, and you edit it without sudo.
  if [ -n "${SUDO_UID:-}" ] && [ -n "${SUDO_GID:-}" ]; then
    chown "$SUDO_UID:$SUDO_GID" "$folder/$f"
    [ "$folder" != "$work_dir" ] || chown "$SUDO_UID:$SUDO_GID" "$folder"
  fi
  echo "try.sh: made your copy ${folder#"$repo"/}/$f from ${chapter_dir#"$repo"/}/$f (the skeleton): edit that file; this first try runs the skeleton as it is"
done
for f in "${features[@]}"; do
  if ! problems=$(marker_problems "$chapter_dir/$f" "$folder/$f" "$f"); then
    echo "try.sh: warning: your TODO markers are not the skeleton's; keep each //{ ... //} TODO line where it was:"
    printf '%s\n' "$problems" | sed 's/^/  /'
  fi
done

# ---------------------------------------------------------------- configure
mkdir -p "$logs"
cache_value() { sed -n "s/^$1:[A-Z]*=//p" "$build_dir/CMakeCache.txt" 2>/dev/null; }
echo "try.sh: chapter $nn from ${source_dir#"$repo"/}/, in ${build_dir#"$repo"/}"
if [ ! -f "$build_dir/CMakeCache.txt" ] || [ "$(cache_value MINIDOCKER_EXERCISE)" != "$nn" ] ||
  [ "$(cache_value MINIDOCKER_EXERCISE_DIR)" != "$folder" ] || [ "$(cache_value MINIDOCKER_WERROR)" != ON ]; then
  generator=()
  # A new folder gets Makefiles: they can build the test program alone (below).
  [ -f "$build_dir/CMakeCache.txt" ] || generator=(-G "Unix Makefiles")
  echo "try.sh: configuring (-DMINIDOCKER_EXERCISE=$nn -DMINIDOCKER_EXERCISE_DIR=$folder -DMINIDOCKER_WERROR=ON)"
  cmake -S "$repo" -B "$build_dir" "${generator[@]}" -DMINIDOCKER_EXERCISE="$nn" \
    -DMINIDOCKER_EXERCISE_DIR="$folder" -DMINIDOCKER_WERROR=ON >"$logs/configure.log" 2>&1 || {
    tail -n 20 "$logs/configure.log" >&2
    die "configuring $build_dir failed (log: $logs/configure.log)"
  }
fi

# ---------------------------------------------------------------- build
# chNN, and what its tests run: the probe and the busybox rootfs; and the
# suites' harness, a library of its own. The test
# program chNN_integration depends (add_dependencies) on every later chapter,
# which the tests named chNN@chNN do not run: with Makefiles, the target
# chNN_integration/fast builds it without them.
integration=${chapter}_integration
[ "$(cache_value CMAKE_GENERATOR)" != "Unix Makefiles" ] || integration=${chapter}_integration/fast
echo "try.sh: building $chapter (log: $logs/build.log)"
# (and the chapter before it: chapter 09's suite runs each escape on ch08 first)
previous=()
[ "$nn" = 01 ] || previous=("ch$(printf '%02d' $((10#$nn - 1)))")
if ! { cmake --build "$build_dir" -j2 --target "$chapter" "${previous[@]}" probe rootfs integration_harness &&
  cmake --build "$build_dir" -j2 --target "$integration"; } >"$logs/build.log" 2>&1; then
  echo
  echo "try.sh: the build failed. The compiler's first errors:"
  first=$(grep -n -m1 -E '(: (fatal )?error:|undefined reference to)' "$logs/build.log" | cut -d: -f1 || true)
  if [ -z "$first" ]; then
    tail -n 20 "$logs/build.log" | sed 's/^/  | /'
  else
    start=$first
    # GCC says which function first ("file: In member function ..."): keep it.
    if [ "$first" -gt 1 ] && sed -n "$((first - 1))p" "$logs/build.log" | grep -q ': In \|: At '; then
      start=$((first - 1))
    fi
    sed -n "${start},$((first + 15))p" "$logs/build.log" | grep -v -E '^g?make(\[[0-9]+\])?: ' | sed 's/^/  | /'
  fi
  echo
  # Each error's place, and the TODO block it is in (or the TODO marker
  # nearest above it) in that file.
  grep -o -E '^[^ :]+:[0-9]+:[0-9]+: (fatal )?error:' "$logs/build.log" | cut -d: -f1,2 | awk '!seen[$0]++' |
    head -n 5 | while IFS=: read -r file line; do
      todo=""
      # With ccache's base_dir a path in the repository is relative to the
      # folder the compiler ran in: the chapter's in the build folder.
      case $file in
        /*) ;;
        *) file=$(realpath -m "$build_dir/${chapter_dir#"$repo"/}/$file") ;;
      esac
      if [ -f "$file" ]; then
        todo=$(awk -v last="$line" -v re="TODO\\\\($nn\\\\.[0-9]+\\\\)" '
          NR > last { exit }
          !match($0, re) { next }
          { todo = substr($0, RSTART, RLENGTH) }
          /^[ \t]*\/\/[{] TODO/ { inside = 1; found = "the block of " todo " (it begins at line " NR ")"; next }
          /^[ \t]*\/\/[}] TODO/ { inside = 0; found = "the code after the block of " todo " (it ends at line " NR ")"; next }
          !inside { found = "the code of " todo " (its marker is at line " NR ")" }
          END { print found }' "$file")
      fi
      echo "  error at ${file#"$repo"/}:$line${todo:+, in $todo}"
    done
  echo
  echo "try.sh: chapter $nn does not build: fix the first error first (full log: $logs/build.log)"
  exit 1
fi

# ---------------------------------------------------------------- tests
own_tests="^$chapter@$chapter\\."
echo "try.sh: running chapter $nn's tests (ctest -R '$own_tests')"
echo
rm -f "$logs/results.xml"
# As root nothing may be skipped: the harness fails a test that would skip.
# -FA: without the leak check's fixtures (ctest -L $chapter runs them too).
MINIDOCKER_NO_SKIP=1 ctest --test-dir "$build_dir" -R "$own_tests" -FA '.*' --output-junit "$logs/results.xml" 2>&1 |
  tee "$logs/tests.log" | grep -E '^ *[0-9]+/[0-9]+ Test|tests passed|Total Test' || true
[ -f "$logs/results.xml" ] || die "ctest wrote no results (log: $logs/tests.log)"
declare -A status=()
while read -r name s; do
  status[$name]=$s
done < <(grep -o '<testcase name="[^"]*"[^>]*status="[a-z]*"' "$logs/results.xml" |
  sed 's/^<testcase name="\([^"]*\)".*status="\([a-z]*\)"$/\1 \2/')
[ ${#status[@]} -gt 0 ] || die "no tests named $own_tests in $build_dir (log: $logs/tests.log)"

# ---------------------------------------------------------------- the TODOs
short() { printf '%s' "${1#"$chapter@$chapter."}"; }
echo
echo "TODOs (the table in ${readme#"$repo"/}):"
declare -A in_table=()
first_failing=""
while IFS= read -r line; do
  k=$(printf '%s\n' "$line" | sed -n "s/^|[[:space:]]*\`\{0,1\}TODO($nn\.\([0-9]*\)).*/\1/p")
  [ -n "$k" ] || continue
  failing=()
  for t in $(printf '%s\n' "${line#*)}" | grep -o "\`$chapter@[^\`]*\`" | tr -d '`' || true); do
    in_table[$t]=1
    [ "${status[$t]:-missing}" = run ] || failing+=("$(short "$t")")
  done
  [ -n "$first_failing" ] || [ ${#failing[@]} -eq 0 ] || first_failing=${failing[0]}
  if [ ${#failing[@]} -eq 0 ]; then
    printf '  TODO(%s.%s)  done\n' "$nn" "$k"
  else
    printf '  TODO(%s.%s)  not yet: %s\n' "$nn" "$k" "$(printf '%s, ' "${failing[@]}" | sed 's/, $//')"
  fi
done <"$readme"

failed=()
others=()
for t in $(printf '%s\n' "${!status[@]}" | sort); do
  [ "${status[$t]}" = run ] && continue
  failed+=("$t")
  [ -n "${in_table[$t]:-}" ] || others+=("$(short "$t")")
done
if [ ${#others[@]} -gt 0 ]; then
  echo "  also failing, in no row of the table (they test given code, often through the TODOs above):"
  printf '    %s\n' "${others[@]}"
fi

echo
passed=$((${#status[@]} - ${#failed[@]}))
if [ ${#failed[@]} -eq 0 ]; then
  echo "chapter $nn: all $passed tests pass"
  exit 0
fi
echo "chapter $nn: $passed of ${#status[@]} tests pass. To see why one fails:"
echo "  sudo ctest --test-dir ${build_dir#"$PWD"/} -R '${first_failing:-$(short "${failed[0]}")}' --output-on-failure"
exit 1
