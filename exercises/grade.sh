#!/usr/bin/env bash
# exercises/grade.sh NN SUBMISSIONS_DIR [-o OUT_DIR] [-j JOBS] [--timeout SECONDS]
#                    [--build-timeout SECONDS]
#
# The instructor's command (ARCHITECTURE.md, section Exercises): grades every
# submission of exercise NN with chapter NN's own tests (the ctest names
# ^chNN@chNN\.) and prints one table: submission x test, pass/fail, the time
# each submission took, how many lines it changed against the reference, and
# whether its TODO markers are where the skeleton has them. Run it as root,
# in a VM: the submissions are programs that run as root.
#
# A submission, in SUBMISSIONS_DIR, is either
#   - a file: the student's version of the feature file, named anything
#     (alice.cpp is chapter 02's cgroups.cpp: when the exercise has one
#     skeleton file, any *.cpp is that file), or
#   - a folder holding the feature file(s) by their real names
#     (bob/cgroups.cpp); a feature file it lacks is taken from the skeleton
#     (generated from the chapter's file into OUT_DIR/skeleton/).
# Its name is the file's without .cpp, or the folder's. Hidden files are
# ignored.
#
# How: JOBS workers (default 2) grade one submission at a time each. A
# worker is a build folder OUT_DIR/workers/wK, configured once with
# -DMINIDOCKER_EXERCISE=NN -DMINIDOCKER_EXERCISE_DIR=OUT_DIR/workers/wK/src
# -DMINIDOCKER_WERROR=ON (as exercises/try.sh builds, but without -g), where
# the earlier chapters, the probe, the rootfs and chNN_integration are built
# once. For each submission the worker copies its file(s) into src/, deletes
# bin/chNN and rebuilds chNN alone (one object, one link), killed after
# --build-timeout seconds (default 300). It then runs each test the way
# ctest would (the commands of `ctest -N -V`), killed after --timeout seconds
# (default 30); after two timeouts in a row the submission is hung and its
# remaining tests are not run. After each test every process left by that
# worker is killed: its binaries, what carries its token in the environment,
# and their children. Workers are kept, so grading again is faster; delete
# OUT_DIR/workers to reclaim the space.
#
# Output, in OUT_DIR (default ./grade-NN):
#   results.csv    one row per submission, one column per test and per TODO
#                  ("lines_changed" leaves out the skeleton's generated header
#                  and the reference's "//|" lines; "markers" is "ok" or
#                  how many markers moved or went: logs/NAME/markers.txt)
#   results.html   the same table as a page: green passes, red failures
#   logs/NAME/     build.log and one log per test (Suite.Test.log)
# Exit status: 0 graded (whatever the grades), 2 cannot grade (usage, not
# root, the reference does not build in a worker, ...).
set -euo pipefail

usage() {
  echo "usage: $0 NN SUBMISSIONS_DIR [-o OUT_DIR] [-j JOBS] [--timeout SECONDS] [--build-timeout SECONDS]" >&2
  exit 2
}

die() {
  echo "grade.sh: $*" >&2
  exit 2
}

# ---------------------------------------------------------------- arguments
out=""
jobs=2
timeout_s=30
build_timeout_s=300
args=()
while [ $# -gt 0 ]; do
  case $1 in
    -o) [ $# -ge 2 ] || usage; out=$2; shift 2 ;;
    -j) [ $# -ge 2 ] || usage; jobs=$2; shift 2 ;;
    --timeout) [ $# -ge 2 ] || usage; timeout_s=$2; shift 2 ;;
    --build-timeout) [ $# -ge 2 ] || usage; build_timeout_s=$2; shift 2 ;;
    -h | --help) usage ;;
    -*) echo "grade.sh: unknown option $1" >&2; usage ;;
    *) args+=("$1"); shift ;;
  esac
done
[ ${#args[@]} -eq 2 ] || usage
nn=${args[0]}
[[ $nn =~ ^[0-9][0-9]$ ]] || usage
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "-j wants a number of workers, not '$jobs'"
[[ $timeout_s =~ ^[1-9][0-9]*$ ]] || die "--timeout wants whole seconds, not '$timeout_s'"
[[ $build_timeout_s =~ ^[1-9][0-9]*$ ]] || die "--build-timeout wants whole seconds, not '$build_timeout_s'"
[ -d "${args[1]}" ] || die "no folder ${args[1]}"
submissions_dir=$(realpath "${args[1]}")
out=$(realpath -m "${out:-grade-$nn}")
[[ $out != *[[:space:]*?[]* ]] || die "OUT_DIR must not contain blanks or * ? [: $out"

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
chapter=ch$nn

# shellcheck source=exercises/lib.sh
. "$repo/exercises/lib.sh"
find_exercise "$nn"

features=("${feature_files[@]}")  # the chapter's files with TODO blocks
[ ${#features[@]} -gt 0 ] || die "no file in $chapter_dir has a TODO($nn.k) block"

[ "$(id -u)" -eq 0 ] || die "run as root (in a VM): chapter $nn's tests start real containers, as root"
command -v git >/dev/null || die "git is needed (git diff --no-index counts the changed lines)"

# The README's table "| `TODO(NN.k)` | `chNN@chNN.Suite.Test`, ... |" (as
# exercises/check.sh reads it): which tests each TODO makes pass.
todos=()
declare -A row_tests=()
while IFS= read -r line; do
  k=$(printf '%s\n' "$line" | sed -n "s/^|[[:space:]]*\`\{0,1\}TODO($nn\.\([0-9]*\)).*/\1/p")
  [ -n "$k" ] || continue
  todos+=("$k")
  row_tests[$k]=$(printf '%s\n' "${line#*)}" | grep -o "\`$chapter@[^\`]*\`" | tr -d '`' | tr '\n' ' ' || true)
done < <(cat "$readme" 2>/dev/null || true)

# ---------------------------------------------------------------- submissions
# names[i], paths[i]: sorted by name.
names=()
paths=()
declare -A seen=()
for path in "$submissions_dir"/*; do
  [ -e "$path" ] || continue
  base=$(basename "$path")
  if [ -d "$path" ]; then
    name=$base
  elif [ -f "$path" ] && [[ $base == *.cpp ]]; then
    if [ ${#features[@]} -ne 1 ]; then
      echo "grade.sh: skipping $base: exercise $nn has ${#features[@]} files, so a submission must be a folder" >&2
      continue
    fi
    name=${base%.cpp}
  else
    echo "grade.sh: skipping $base: neither a .cpp file nor a folder" >&2
    continue
  fi
  name=${name//[^A-Za-z0-9._-]/_}
  [ -z "${seen[$name]:-}" ] || die "two submissions are named $name: ${seen[$name]} and $base"
  seen[$name]=$base
  names+=("$name")
  paths+=("$path")
done
[ ${#names[@]} -gt 0 ] || die "no submissions (*.cpp files or folders) in $submissions_dir"

# ---------------------------------------------------------------- workers
mkdir -p "$out/logs" "$out/workers"
# The skeleton, for a submission that lacks a file.
skeleton_dir=$out/skeleton
for f in "${features[@]}"; do
  "$repo/exercises/skeleton.sh" -o "$skeleton_dir/$f" "$chapter_dir/$f" || die "could not make the skeleton of $f"
done
rm -rf "$out/results"
mkdir -p "$out/results"
[ "$jobs" -le ${#names[@]} ] || jobs=${#names[@]}

worker_pids=()
tokens=()
for ((k = 1; k <= jobs; k++)); do
  tokens[k]="grade-$$-w$k"
done

# now_ms: sets NOW to the time in milliseconds (no process started).
now_ms() {
  local t=${EPOCHREALTIME//[!0-9]/}
  NOW=$((10#$t / 1000))
}

# sweep W TOKEN MODE [EXCEPT_PID]: kills the processes worker W left: those
# running one of its binaries (bin/, rootfs/), those with TOKEN in their
# environment, and all their children. MODE containers spares the runtime
# (bin/chNN), so that it can clean up after its container; MODE all spares
# nothing but EXCEPT_PID. Prints what it killed, and remembers the --root of
# each killed runtime in W/roots.
sweep() {
  local w=$1 token=$2 mode=$3 except=${4:-} seeds victims p
  seeds=$({
    find /proc -mindepth 2 -maxdepth 2 -name exe -lname "$w/*" -printf '%h\n' 2>/dev/null || true
    grep -lsz -- "^MINIDOCKER_GRADE_TOKEN=$token\$" /proc/[0-9]*/environ 2>/dev/null || true
  } | sed -n 's|^/proc/\([0-9]*\).*|\1|p' | sort -u | tr '\n' ' ')
  [ -n "$seeds" ] || return 0
  victims=$(ps -e -o pid=,ppid= | awk -v seeds="$seeds" -v except="$except" -v me="$$" -v bash="$BASHPID" '
    BEGIN { n = split(seeds, s, " "); for (i = 1; i <= n; i++) mark[s[i]] = 1 }
    { parent[$1] = $2; pid[++m] = $1 }
    END {
      for (changed = 1; changed;) {
        changed = 0
        for (i = 1; i <= m; i++)
          if (!(pid[i] in mark) && (parent[pid[i]] in mark)) { mark[pid[i]] = 1; changed = 1 }
      }
      for (p in mark) if ((p in parent) && p != except && p != me && p != bash) print p
    }')
  for p in $victims; do
    local exe cmdline
    exe=$(readlink "/proc/$p/exe" 2>/dev/null || true)
    cmdline=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-150 || true)
    [ -n "$cmdline" ] || continue  # a zombie, or a process on its way out
    if [ "$mode" = containers ] && { [ "$exe" = "$w/build/bin/$chapter" ] || [ "$exe" = "$w/build/bin/$chapter (deleted)" ]; }; then
      continue
    fi
    tr '\0' '\n' <"/proc/$p/cmdline" 2>/dev/null | sed -n '/^--root$/{n;p;}' >>"$w/roots" || true
    if kill -KILL "$p" 2>/dev/null; then
      echo "grade.sh: killed leftover process $p: $cmdline"
    fi
  done
}

# remove_roots W: unmounts and removes the state roots (--root) of the
# runtimes sweep killed, which the test harness could not remove itself.
remove_roots() {
  local w=$1 root m
  [ -s "$w/roots" ] || return 0
  sort -u "$w/roots" | while read -r root; do
    case $root in /tmp/minidocker-*) ;; *) continue ;; esac
    [ -d "$root" ] || continue
    awk -v r="$root/" 'index($5 "/", r) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do
      umount -l "$m" 2>/dev/null || true
    done
    rm -rf --one-file-system "$root" 2>/dev/null || true
    echo "grade.sh: removed the state root $root"
  done
  : >"$w/roots"
}

cleanup() {
  local k p
  for p in "${worker_pids[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  for p in "${worker_pids[@]}"; do
    wait "$p" 2>/dev/null || true
  done
  for ((k = 1; k <= jobs; k++)); do
    sweep "$out/workers/w$k" "${tokens[k]}" all >/dev/null 2>&1 || true
    remove_roots "$out/workers/w$k" >/dev/null 2>&1 || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The build of everything a submission does not change, before chapter NN's
# feature: the previous chapter's feature library (chapter 01 builds on
# common/), and the suites' harness. chNN_integration/fast builds the test
# program without what add_dependencies() adds (every later chapter): its
# tests run bin/chNN only.
# The previous chapter's program too: chapter 09's suite runs each escape
# on chapter 08's first.
if [ "$nn" = 01 ]; then
  base_target=minidocker_common
else
  base_target="ch$(printf '%02d' $((10#$nn - 1)))_feature ch$(printf '%02d' $((10#$nn - 1)))"
fi

setup_worker() {  # setup_worker K: configures and builds worker K; dies on failure
  local w=$out/workers/w$1 f
  local log=$w/setup.log
  mkdir -p "$w/src"
  for f in "${features[@]}"; do
    cp "$chapter_dir/$f" "$w/src/$f"
  done
  {
    # No -g: the same warnings, a quarter less compile time per submission.
    cmake -S "$repo" -B "$w/build" -G "Unix Makefiles" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -DNDEBUG" -DMINIDOCKER_EXERCISE="$nn" \
      -DMINIDOCKER_EXERCISE_DIR="$w/src" -DMINIDOCKER_WERROR=ON &&
      cmake --build "$w/build" -j2 --target $base_target probe rootfs integration_harness &&
      cmake --build "$w/build" -j2 --target "${chapter}_integration/fast"
  } >"$log" 2>&1 || {
    tail -n 20 "$log" >&2
    die "setting up worker $1 failed (log: $log)"
  }
  # The tests, as ctest would run them: "name<TAB>dir<TAB>program<TAB>arg...".
  { ctest --test-dir "$w/build" -N -V -R "^$chapter@$chapter\\." -FA '.*' 2>/dev/null || true; } | awk '
    /^[0-9]+: Test command: / { n = $1; c = substr($0, index($0, "Test command: ") + 14)
      i = index(c, " \""); if (i == 0) { cmd[n] = c; next }
      line = substr(c, 1, i - 1); rest = substr(c, i + 1)
      while (match(rest, /"[^"]*"/)) { line = line "\t" substr(rest, RSTART + 1, RLENGTH - 2); rest = substr(rest, RSTART + RLENGTH) }
      cmd[n] = line; next }
    /^[0-9]+: Working Directory: / { n = $1; dir[n] = substr($0, index($0, "Directory: ") + 11); next }
    /^ *Test +#[0-9]+: / { n = $2; sub(/^#/, "", n); sub(/:$/, "", n); print $3 "\t" dir[n ":"] "\t" cmd[n ":"] }
  ' >"$w/tests.tsv"
  [ -s "$w/tests.tsv" ] || die "worker $1 has no tests named ^$chapter@$chapter\\. (log: $log)"
  : >"$w/roots"
  rm -f "$w/tick"
  mkfifo "$w/tick"
}

now_ms
started=$NOW
echo "grade.sh: exercise $nn, ${#names[@]} submissions, $jobs workers in $out/workers"
for ((k = 1; k <= jobs; k++)); do
  now_ms
  t0=$NOW
  setup_worker "$k"
  now_ms
  echo "grade.sh: worker $k ready ($(((NOW - t0) / 1000)) s)"
done
mapfile -t tests < <(cut -f1 "$out/workers/w1/tests.tsv")
echo "grade.sh: ${#tests[@]} tests per submission, each killed after $timeout_s s"

# ---------------------------------------------------------------- grading
# countable FILE: FILE as the changed lines count it: without the generated
# header of a skeleton (a student's copy has it, the reference does not) and
# without the reference's "//|" lines (the skeleton's, in comments).
countable() {
  awk 'NR == 1 && /^\/\/ Generated by exercises\/skeleton\.sh/ { skip = 3 }
    skip > 0 { skip--; next }
    /^[ \t]*\/\/[|]/ { next }
    { print }' "$1"
}

# run_test W TOKEN TICK LOG DIR PROGRAM ARGS...: runs one test; sets
# T_STATUS (pass, fail, skipped, timeout) and T_MS.
run_test() {
  local w=$1 token=$2 tick=$3 log=$4 dir=$5
  shift 5
  local start pid rc=0 timed_out=false last_sweep=0 elapsed
  now_ms
  start=$NOW
  # Appending: grade.sh writes to the same log while the test runs.
  : >"$log"
  (cd "$dir" && exec env MINIDOCKER_NO_SKIP=1 "MINIDOCKER_GRADE_TOKEN=$token" "$@") </dev/null >>"$log" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    now_ms
    elapsed=$((NOW - start))
    if [ $elapsed -gt $((timeout_s * 1000)) ]; then
      # Out of time: kill the container first, so that the runtime cleans up
      # after it; then the runtime; last the test program itself.
      if ! $timed_out; then
        timed_out=true
        echo "grade.sh: timed out after $timeout_s s" >>"$log"
      fi
      if [ $((NOW - last_sweep)) -ge 500 ]; then
        last_sweep=$NOW
        if [ $elapsed -gt $((timeout_s * 1000 + 6000)) ]; then
          kill -KILL "$pid" 2>/dev/null || true
        elif [ $elapsed -gt $((timeout_s * 1000 + 2000)) ]; then
          sweep "$w" "$token" all "$pid" >>"$log" 2>&1 || true
        else
          sweep "$w" "$token" containers "$pid" >>"$log" 2>&1 || true
        fi
      fi
    fi
    read -r -t 0.02 -u "$tick" _ || true
  done
  wait "$pid" || rc=$?
  now_ms
  T_MS=$((NOW - start))
  sweep "$w" "$token" all >>"$log" 2>&1 || true
  remove_roots "$w" >>"$log" 2>&1 || true
  if $timed_out; then
    T_STATUS=timeout
  elif [ $rc -ne 0 ]; then
    T_STATUS=fail
  elif grep -q '^\[  SKIPPED \]' "$log"; then
    T_STATUS=skipped
  else
    T_STATUS=pass
  fi
}

# grade W TOKEN TICK INDEX: builds and tests submission INDEX in worker W
# (the folder with src/ and build/); writes results/NAME.meta (key=value)
# and results/NAME.tests ("test status milliseconds" lines).
grade() {
  local w=$1 token=$2 tick=$3 i=$4
  local name=${names[i]} path=${paths[i]} f src lines=0 a r status build_ms test_ms
  local logs=$out/logs/$name meta=$out/results/$name.meta
  local cpps=() passed=0 timeouts_in_row=0 tname test_dir program row fields markers
  rm -rf "$logs"
  mkdir -p "$logs"
  : >"$out/results/$name.tests"
  # Stage: the submission's file(s) into src/, with a new mtime.
  if [ -d "$path" ]; then
    mapfile -t cpps < <(find "$path" -maxdepth 1 -name '*.cpp' -type f)
  fi
  for f in "${features[@]}"; do
    if [ -f "$path" ]; then
      src=$path
    elif [ -f "$path/$f" ]; then
      src=$path/$f
    elif [ ${#features[@]} -eq 1 ] && [ ${#cpps[@]} -eq 1 ]; then
      src=${cpps[0]}
    else
      src=$skeleton_dir/$f
      echo "grade.sh: $name has no $f: the skeleton's is used" >>"$logs/build.log"
    fi
    rm -f "$w/src/$f"
    cp "$src" "$w/src/$f"
    countable "$chapter_dir/$f" >"$w/count-reference"
    countable "$w/src/$f" >"$w/count-submission"
    while read -r a r _; do
      [[ $a =~ ^[0-9]+$ && $r =~ ^[0-9]+$ ]] && lines=$((lines + a + r))
    done < <(git diff --no-index --numstat -- "$w/count-reference" "$w/count-submission" 2>/dev/null || true)
    # The markers: where the skeleton has them, or the student moved one.
    marker_problems "$chapter_dir/$f" "$w/src/$f" "$f" >>"$logs/markers.txt" || true
  done
  markers=ok
  [ ! -s "$logs/markers.txt" ] || markers="$(wc -l <"$logs/markers.txt") problems"
  # Build chNN alone; no binary is left from the previous submission.
  rm -f "$w/build/bin/$chapter"
  now_ms
  local t0=$NOW rc=0
  timeout -k 10 "$build_timeout_s" cmake --build "$w/build" --target "$chapter" >>"$logs/build.log" 2>&1 || rc=$?
  now_ms
  build_ms=$((NOW - t0))
  test_ms=0
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
    status="build timeout"
    echo "grade.sh: the build timed out after $build_timeout_s s" >>"$logs/build.log"
  elif [ $rc -ne 0 ] || [ ! -x "$w/build/bin/$chapter" ]; then
    status="build failed"
  else
    status=pass
    while IFS= read -r row; do
      IFS=$'\t' read -r -a fields <<<"$row"
      tname=${fields[0]}
      test_dir=${fields[1]}
      program=("${fields[@]:2}")
      if [ $timeouts_in_row -ge 2 ]; then
        T_STATUS=notrun
        T_MS=0
        echo "grade.sh: not run: the two tests before it timed out" >"$logs/${tname#*@*.}.log"
      else
        run_test "$w" "$token" "$tick" "$logs/${tname#*@*.}.log" "$test_dir" "${program[@]}"
      fi
      case $T_STATUS in
        pass) passed=$((passed + 1)); timeouts_in_row=0 ;;
        timeout) timeouts_in_row=$((timeouts_in_row + 1)); status=timeout ;;
        notrun) ;;
        *) timeouts_in_row=0; [ "$status" = timeout ] || status=fail ;;
      esac
      test_ms=$((test_ms + T_MS))
      echo "$tname $T_STATUS $T_MS" >>"$out/results/$name.tests"
    done <"$w/tests.tsv"
  fi
  {
    echo "status=$status"
    echo "passed=$passed"
    echo "build_ms=$build_ms"
    echo "test_ms=$test_ms"
    echo "lines=$lines"
    echo "markers=$markers"
  } >"$meta"
}

queue_next=$out/results/.next
echo 0 >"$queue_next"
: >"$out/results/.lock"
worker() {  # worker K: grades submissions until none are left
  local k=$1 i tick
  local w=$out/workers/w$k
  exec {tick}<>"$w/tick"
  while :; do
    {
      flock 9
      i=$(<"$queue_next")
      echo $((i + 1)) >"$queue_next"
    } 9>>"$out/results/.lock"
    [ "$i" -lt ${#names[@]} ] || break
    grade "$w" "${tokens[k]}" "$tick" "$i"
    local status passed build_ms test_ms
    status=$(sed -n 's/^status=//p' "$out/results/${names[i]}.meta")
    passed=$(sed -n 's/^passed=//p' "$out/results/${names[i]}.meta")
    build_ms=$(sed -n 's/^build_ms=//p' "$out/results/${names[i]}.meta")
    test_ms=$(sed -n 's/^test_ms=//p' "$out/results/${names[i]}.meta")
    printf '  [%2d/%d] %-20s %-13s %2d/%d pass  (build %d s, tests %d s, worker %d)\n' "$((i + 1))" "${#names[@]}" \
      "${names[i]}" "$status" "$passed" "${#tests[@]}" "$((build_ms / 1000))" "$((test_ms / 1000))" "$k"
  done
}

# The leak check of the test suite, around the whole grading (a warning only:
# another program on this machine may be the one that made something).
leaks_dir=$out/results/.leaks
"$repo"/tests/leak_check.sh snapshot "$leaks_dir" >/dev/null 2>&1 || true

for ((k = 1; k <= jobs; k++)); do
  worker "$k" &
  worker_pids+=($!)
done
for p in "${worker_pids[@]}"; do
  wait "$p" || true
done
worker_pids=()
now_ms
wall_s=$(((NOW - started) / 1000))

# ---------------------------------------------------------------- the table
meta() { sed -n "s/^$2=//p" "$out/results/$1.meta" 2>/dev/null; }  # meta NAME KEY
test_status() { awk -v t="$2" '$1 == t { print $2 }' "$out/results/$1.tests" 2>/dev/null; }  # NAME TEST
todo_done() {  # todo_done NAME K: "done", "not yet" or "" (not built)
  local t s
  case $(meta "$1" status) in pass | fail | timeout) ;; *) return 0 ;; esac
  for t in ${row_tests[$2]}; do
    s=$(test_status "$1" "$t")
    [ "$s" = pass ] || { echo "not yet"; return 0; }
  done
  echo "done"
}

declare -A short=([pass]=. [fail]=F [timeout]=T [skipped]=S [notrun]=-)
{  # the table, without trailing blanks
  echo
  echo "exercise $nn: ${#names[@]} submissions x ${#tests[@]} tests (. pass  F fail  T timeout  S skipped  - not run)"
  header=""
  for ((j = 1; j <= ${#tests[@]}; j++)); do
    if [ $((j % 5)) -eq 1 ]; then
      header+=$(printf '%-6s' "$j")
    fi
  done
  printf '%-20s %-13s %6s %7s %6s %6s  %s\n' submission result passed "time/s" lines TODOs "$header"
  for name in "${names[@]}"; do
    status=$(meta "$name" status)
    cells=""
    done_count=""
    if [ -n "${status}" ] && [[ $status != build* ]]; then
      j=0
      for t in "${tests[@]}"; do
        s=$(test_status "$name" "$t")
        cells+=${short[${s:-notrun}]:-?}
        j=$((j + 1))
        [ $((j % 5)) -ne 0 ] || cells+=" "
      done
      n=0
      for k in "${todos[@]}"; do
        [ "$(todo_done "$name" "$k")" != "done" ] || n=$((n + 1))
      done
      done_count="$n/${#todos[@]}"
    else
      cells="(see logs/$name/build.log)"
      [ -n "$status" ] || { status="grader error"; cells=""; }
    fi
    total_ms=$(($(meta "$name" build_ms || echo 0) + $(meta "$name" test_ms || echo 0)))
    printf '%-20s %-13s %6s %7d %6s %6s  %s\n' "$name" "$status" "$(meta "$name" passed)/${#tests[@]}" \
      "$((total_ms / 1000))" "$(meta "$name" lines)" "$done_count" "$cells"
  done
  echo
  echo "tests:"
  j=0
  for t in "${tests[@]}"; do
    j=$((j + 1))
    printf '  %2d  %s\n' "$j" "$t"
  done
  if [ ${#todos[@]} -gt 0 ]; then
    echo "TODOs (from ${readme#"$repo"/}): done when all of its tests pass"
    for k in "${todos[@]}"; do
      list=""
      for t in ${row_tests[$k]}; do
        for ((j = 0; j < ${#tests[@]}; j++)); do
          [ "${tests[j]}" != "$t" ] || list+=" $((j + 1))"
        done
      done
      echo "  TODO($nn.$k): tests$list"
    done
  fi
  moved=()
  for name in "${names[@]}"; do
    [ "$(meta "$name" markers)" = ok ] || moved+=("$name")
  done
  if [ ${#moved[@]} -gt 0 ]; then
    echo "TODO markers moved or gone (a tool that reads the submissions block by block would misread these):"
    for name in "${moved[@]}"; do
      sed "s/^/  $name: /" "$out/logs/$name/markers.txt"
    done
  fi
} | sed 's/ *$//'

# ---------------------------------------------------------------- CSV, HTML
csv=$out/results.csv
{
  printf 'submission,result,passed,total,build_s,tests_s,lines_changed,markers,todos_done'
  for k in "${todos[@]}"; do printf ',TODO(%s.%s)' "$nn" "$k"; done
  for t in "${tests[@]}"; do printf ',%s' "$t"; done
  printf '\n'
  for name in "${names[@]}"; do
    status=$(meta "$name" status)
    built=false
    case $status in pass | fail | timeout) built=true ;; esac
    n=0
    for k in "${todos[@]}"; do [ "$(todo_done "$name" "$k")" != "done" ] || n=$((n + 1)); done
    printf '%s,%s,%s,%s,%s,%s,%s,%s,%s' "$name" "${status:-grader error}" "$(meta "$name" passed)" "${#tests[@]}" \
      "$(awk -v m="$(meta "$name" build_ms)" 'BEGIN { printf "%.1f", m / 1000 }')" \
      "$(awk -v m="$(meta "$name" test_ms)" 'BEGIN { printf "%.1f", m / 1000 }')" \
      "$(meta "$name" lines)" "$(meta "$name" markers)" "$($built && echo "$n/${#todos[@]}")"
    for k in "${todos[@]}"; do printf ',%s' "$(todo_done "$name" "$k")"; done
    for t in "${tests[@]}"; do printf ',%s' "$(test_status "$name" "$t")"; done
    printf '\n'
  done
} >"$csv"

html=$out/results.html
{
  cat <<EOF
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Exercise $nn: ${#names[@]} submissions</title>
<style>
body { font-family: sans-serif; margin: 1.5em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #bbb; padding: 0.2em 0.4em; text-align: center; white-space: nowrap; }
th.name { text-align: left; }
th.test { writing-mode: vertical-rl; transform: rotate(180deg); font-weight: normal; font-size: 85%; }
.pass, .done { background: #b6e3b6; }
.fail, .not-yet, .build-failed, .build-timeout { background: #f2b5b5; }
.timeout { background: #f7d08a; }
.skipped, .notrun, .none { background: #e4e4e4; color: #666; }
</style>
</head>
<body>
<h1>Exercise $nn: ${#names[@]} submissions</h1>
<p>Graded by <code>exercises/grade.sh</code> on $(date '+%Y-%m-%d %H:%M') with chapter $nn's own tests
(<code>^$chapter@$chapter\.</code>), each killed after $timeout_s s; $wall_s s in all.
Lines changed: added + removed against <code>${chapter_dir#"$repo"/}/</code>.
A TODO is done when all of its tests (the table in <code>${readme#"$repo"/}</code>) pass.
Logs: <code>$out/logs/</code>.</p>
<table>
<thead>
EOF
  printf '<tr><th class="name">submission</th><th>result</th><th>passed</th><th>time (s)</th><th>lines changed</th><th>markers</th>'
  for k in "${todos[@]}"; do printf '<th class="test">TODO(%s.%s)</th>' "$nn" "$k"; done
  for t in "${tests[@]}"; do printf '<th class="test" title="%s">%s</th>' "$t" "${t#*@*.}"; done
  printf '</tr>\n</thead>\n<tbody>\n'
  for name in "${names[@]}"; do
    status=$(meta "$name" status)
    status=${status:-grader error}
    total_ms=$(($(meta "$name" build_ms || echo 0) + $(meta "$name" test_ms || echo 0)))
    printf '<tr data-submission="%s"><th class="name">%s</th><td class="%s" data-status="%s">%s</td><td>%s/%s</td><td>%s</td><td>%s</td><td>%s</td>' \
      "$name" "$name" "${status// /-}" "$status" "$status" "$(meta "$name" passed)" "${#tests[@]}" \
      "$((total_ms / 1000))" "$(meta "$name" lines)" "$(meta "$name" markers)"
    for k in "${todos[@]}"; do
      d=$(todo_done "$name" "$k")
      printf '<td class="%s" data-status="%s">%s</td>' "$([ -n "$d" ] && echo "${d// /-}" || echo none)" "$d" "${d:-&ndash;}"
    done
    for t in "${tests[@]}"; do
      s=$(test_status "$name" "$t")
      printf '<td class="%s" data-status="%s" title="%s">%s</td>' "${s:-none}" "$s" "$t" "${s:-&ndash;}"
    done
    printf '</tr>\n'
  done
  printf '</tbody>\n</table>\n</body>\n</html>\n'
} >"$html"

echo
echo "grade.sh: $wall_s s in all; results in $csv and $html, logs in $out/logs/"
if ! "$repo"/tests/leak_check.sh compare "$leaks_dir" >"$out/results/.leaks.txt" 2>&1; then
  echo "grade.sh: warning: the machine has more than before grading (a submission, or another program, made it):"
  sed -n '2,21p' "$out/results/.leaks.txt" | sed 's/^/  /'
fi
