#!/usr/bin/env bash
# exercises/check.sh NN [REFERENCE_BUILD_DIR] [--quick] [--no-reference]
#
# Proves that exercise NN is honest (ARCHITECTURE.md, section Exercises). Run
# it as root, from anywhere, after building the reference
# (REFERENCE_BUILD_DIR, default build/). The skeleton is generated from the
# chapter's file (exercises/skeleton.sh), so it cannot drift from it; what
# can go wrong is the markers, the README's table and the tests:
#
#   1. the TODO markers of the chapter's feature files are well formed
#      (every "//{ TODO(NN.k)" has its "//} TODO(NN.k)", no block inside
#      another, no block empty, every number one of chapter NN's), and the
#      TODOs with a block are exactly the TODOs with a row in
#      exercises/NN-*/README.md's table;
#   2. the skeleton builds, warnings as errors;
#   3. chapter NN's own tests (ctest names ^chNN@chNN\.) do not all pass on the
#      skeleton: otherwise it is not an exercise;
#   4. every TODO(NN.k) has a row in exercises/NN-*/README.md's table
#      "| `TODO(NN.k)` | `chNN@chNN.Suite.Test`, ... |", and each test named
#      there fails on the skeleton;
#   5. each TODO alone: the skeleton with only that TODO's block(s) open
#      (exercises/skeleton.sh --only k: the other blocks keep the
#      reference's lines) fails each test of its row, so no TODO hides
#      behind another one (skipped with --quick);
#   6. the same tests all pass on the reference (and so do the fixtures CTest
#      adds to them, such as the leak check). --no-reference skips this step
#      for a caller that runs those tests on the reference itself: the test
#      command's ctest runs chNN@chNN.* beside exercise.NN.
#
# Exit status: 0 honest, 1 not honest, 2 cannot check (usage, not root, ...).
#
# Builds happen in REFERENCE_BUILD_DIR/exercise-NN (configured with
# -DMINIDOCKER_EXERCISE=NN -DMINIDOCKER_WERROR=ON, which generates the
# skeleton into its skeleton/ folder; left as the skeleton's build at the
# end; step 5's files are in its one-todo/ folder). In REFERENCE_BUILD_DIR itself only chNN and
# chNN_integration are brought up to date, so step 6 tests what the sources
# say. Logs: REFERENCE_BUILD_DIR/exercise-NN/check-logs/.
set -Eeuo pipefail
trap 'echo "check.sh: unexpected failure at line $LINENO: $BASH_COMMAND" >&2; exit 2' ERR

usage() {
  echo "usage: $0 NN [REFERENCE_BUILD_DIR] [--quick] [--no-reference]" >&2
  exit 2
}

# ---------------------------------------------------------------- arguments
quick=false
reference=true
args=()
for arg in "$@"; do
  case $arg in
    --quick) quick=true ;;
    --no-reference) reference=false ;;
    -h | --help) usage ;;
    *) args+=("$arg") ;;
  esac
done
if [ ${#args[@]} -lt 1 ] || [ ${#args[@]} -gt 2 ]; then
  usage
fi
nn=${args[0]}
[[ $nn =~ ^[0-9][0-9]$ ]] || usage

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ref_build=$(realpath -m "${args[1]:-$repo/build}")
ex_build=$ref_build/exercise-$nn
logs=$ex_build/check-logs
chapter=ch$nn
own_tests="^$chapter@$chapter\\."  # chapter NN's suite on chapter NN's binary

die() {
  echo "check.sh: $*" >&2
  exit 2
}

# shellcheck source=exercises/lib.sh
. "$repo/exercises/lib.sh"
find_exercise "$nn"
[ -f "$readme" ] || die "no $readme"

# The chapter's files with a TODO(NN.k) block: the student's files.
skeleton_files=("${feature_files[@]}")
[ ${#skeleton_files[@]} -gt 0 ] || die "no file in $chapter_dir has a \"//{ TODO($nn.k)\" block"

[ "$(id -u)" -eq 0 ] || die "run as root: chapter $nn's integration tests need it (they would fail, not skip)"
[ -f "$ref_build/CMakeCache.txt" ] || die "$ref_build is not a configured build folder (cmake -S $repo -B $ref_build)"
cache_value() { sed -n "s/^$1:[A-Z]*=//p" "$ref_build/CMakeCache.txt"; }
[ -z "$(cache_value MINIDOCKER_EXERCISE)$(cache_value MINIDOCKER_EXERCISE_DIR)" ] ||
  die "$ref_build is an exercise build (MINIDOCKER_EXERCISE or _DIR is set), not the reference"

# Integration tests fail instead of skipping, so nothing passes by skipping.
export MINIDOCKER_NO_SKIP=1
mkdir -p "$logs"

# ---------------------------------------------------------------- results
failures=0
report() {  # report ok|FAIL message
  if [ "$1" = ok ]; then
    printf '  ok    %s\n' "$2"
  else
    printf '  FAIL  %s\n' "$2"
    failures=$((failures + 1))
  fi
}

step() { printf '\n== %s\n' "$*"; }

# build DIR LOGNAME: brings chNN and its integration tests up to date.
build() {
  local log=$logs/$2.log
  if cmake --build "$1" -j2 --target "$chapter" "${chapter}_integration" >"$log" 2>&1; then
    return 0
  fi
  echo "  --- last lines of $log:"
  tail -n 25 "$log" | sed 's/^/  | /'
  return 1
}

# configure EXERCISE_DIR: the exercise build, from the skeleton ("") or a folder.
configure() {
  cmake -S "$repo" -B "$ex_build" -G "$(cache_value CMAKE_GENERATOR)" \
    -DCMAKE_BUILD_TYPE="$(cache_value CMAKE_BUILD_TYPE)" \
    -DMINIDOCKER_EXERCISE="$nn" -DMINIDOCKER_EXERCISE_DIR="$1" -DMINIDOCKER_WERROR=ON \
    >"$logs/configure.log" 2>&1 || {
    tail -n 25 "$logs/configure.log" >&2
    die "configuring $ex_build failed (log: $logs/configure.log)"
  }
}

# run_tests DIR NAME CTEST_ARGS...: runs ctest, two tests at a time as the
# test command does (a skeleton's failing tests mostly wait for a timeout;
# the suites' RUN_SERIAL tests still run alone), and leaves "testname
# status" lines (status: run = passed, fail, notrun) in $logs/NAME.results,
# for every test that ran (fixtures included).
run_tests() {
  local dir=$1 name=$2
  shift 2
  rm -f "$logs/$name.xml"
  # -FA: no leak-check fixture here; the outer suite checks for leaks.
  ctest --test-dir "$dir" -j2 -FA "leaks" --output-junit "$logs/$name.xml" "$@" >"$logs/$name.log" 2>&1 || true
  if [ -f "$logs/$name.xml" ]; then
    grep -o '<testcase name="[^"]*"[^>]*status="[a-z]*"' "$logs/$name.xml" |
      sed 's/^<testcase name="\([^"]*\)".*status="\([a-z]*\)"$/\1 \2/' >"$logs/$name.results"
  else
    : >"$logs/$name.results"
  fi
}

own_results() { grep -E "$own_tests" "$logs/$1.results" || true; }  # own_results NAME
status_of() { awk -v t="$2" '$1 == t { print $2 }' "$logs/$1.results"; }  # status_of NAME TEST

# A regex that matches exactly the given test names.
names_regex() {
  local out="" t
  for t in "$@"; do
    out+="${out:+|}$(printf '%s' "$t" | sed -e 's/\\/\\\\/g' -e 's/[].[^$*+?(){}|]/\\&/g')"
  done
  printf '^(%s)$' "$out"
}

# ---------------------------------------------------------------- the TODOs
step "exercise $nn: ${exercise_dir#"$repo"/}, its skeleton generated from ${chapter_dir#"$repo"/}"

# The README's table: | `TODO(NN.k)` | `test`, `test` |
declare -A row_tests=()
while IFS= read -r line; do
  k=$(printf '%s\n' "$line" | sed -n "s/^|[[:space:]]*\`\{0,1\}TODO($nn\.\([0-9]*\)).*/\1/p")
  [ -n "$k" ] || continue
  row_tests[$k]=$(printf '%s\n' "${line#*)}" | grep -o "\`$chapter@[^\`]*\`" | tr -d '`' | tr '\n' ' ' || true)
done <"$readme"

step "1. the TODO markers are well formed, and each TODO has its row in ${readme#"$repo"/}"
todos=()
marker_errors=0
for name in "${skeleton_files[@]}"; do
  if ! todo_markers "$chapter_dir/$name" "$nn" >"$logs/markers-$name.txt" 2>"$logs/markers-$name.errors"; then
    while IFS= read -r problem; do
      report FAIL "${problem#"$repo"/}"
      marker_errors=$((marker_errors + 1))
    done <"$logs/markers-$name.errors"
  fi
  # A block with no line in it leaves nothing out: a marker pair forgotten.
  while read -r first k; do
    report FAIL "${chapter_dir#"$repo"/}/$name:$first: the block of TODO($k) is empty"
    marker_errors=$((marker_errors + 1))
  done < <(awk -F'\t' '$2 == "begin" { first = $1; k = $3 } $2 == "end" && $1 == first + 1 { print first, k }' \
    "$logs/markers-$name.txt")
done
marker_lists=()
for name in "${skeleton_files[@]}"; do marker_lists+=("$logs/markers-$name.txt"); done
mapfile -t todos < <(awk -F'\t' '{ print $3 }' "${marker_lists[@]}" | sed -n "s/^$nn\.\([0-9]*\)$/\1/p" | sort -n -u)
blocks=$(awk -F'\t' '$2 == "begin"' "${marker_lists[@]}" | wc -l)
echo "  TODOs with a block: ${todos[*]/#/$nn.} ($blocks blocks in ${skeleton_files[*]})"
[ $marker_errors -gt 0 ] || report ok "the markers are well formed"
[ ${#todos[@]} -gt 0 ] || report FAIL "no TODO($nn.k) block in ${skeleton_files[*]}"
table_ok=true
for k in "${todos[@]}"; do
  if [ -z "${row_tests[$k]:-}" ] || [ -z "${row_tests[$k]// /}" ]; then
    report FAIL "TODO($nn.$k) has no row (or no \`$chapter@...\` test names) in the README's table"
    table_ok=false
  fi
done
for k in $(printf '%s\n' "${!row_tests[@]}" | sort -n); do
  case " ${todos[*]} " in
    *" $k "*) ;;
    *) report FAIL "the README's table has a row for TODO($nn.$k), which has no block in the code"; table_ok=false ;;
  esac
done
! $table_ok || report ok "the README's table has one row per TODO, and no other"

# ---------------------------------------------------------------- 1. build
step "2. the skeleton builds (-DMINIDOCKER_EXERCISE=$nn -DMINIDOCKER_WERROR=ON in ${ex_build#"$repo"/})"
configure ""
if ! build "$ex_build" build-skeleton; then
  report FAIL "the skeleton does not build (log: $logs/build-skeleton.log)"
  echo
  echo "exercise $nn: NOT HONEST ($failures problems)"
  exit 1
fi
report ok "$chapter and ${chapter}_integration build from the skeleton"

# ---------------------------------------------------------------- 3. skeleton fails
step "3. the skeleton fails chapter $nn's tests (ctest -L $chapter -R '$own_tests')"
run_tests "$ex_build" skeleton -L "$chapter" -R "$own_tests"
total=$(own_results skeleton | wc -l)
failed=$(own_results skeleton | awk '$2 == "fail"' | wc -l)
if [ "$total" -eq 0 ]; then
  report FAIL "no tests matched '$own_tests' in $ex_build (log: $logs/skeleton.log)"
elif [ "$failed" -eq 0 ]; then
  report FAIL "all $total tests pass on the skeleton: the skeleton is not an exercise"
else
  report ok "$failed of $total tests fail on the skeleton"
fi
known_tests=" $(awk '{ print $1 }' "$logs/skeleton.results" | tr '\n' ' ')"

# ---------------------------------------------------------------- 4. the table
step "4. the tests of each TODO's row fail on the skeleton"
for k in "${todos[@]}"; do
  tests=${row_tests[$k]:-}
  [ -n "${tests// /}" ] || continue  # step 1 said so
  for t in $tests; do
    case $known_tests in
      *" $t "*) ;;
      *) report FAIL "TODO($nn.$k): $t is not one of the tests that ran"; continue ;;
    esac
    s=$(status_of skeleton "$t")
    if [ "$s" = fail ]; then
      report ok "TODO($nn.$k): $t fails on the skeleton"
    else
      report FAIL "TODO($nn.$k): $t does not fail on the skeleton (status: ${s:-missing})"
    fi
  done
done

# ---------------------------------------------------------------- 5. each TODO alone
if $quick; then
  step "5. each TODO alone (skipped: --quick)"
else
  step "5. each TODO alone: the skeleton with only that TODO open fails the TODO's tests"
  variant=$ex_build/one-todo
  mkdir -p "$variant"
  for name in "${skeleton_files[@]}"; do
    [ -f "$variant/$name" ] || cp "$chapter_dir/$name" "$variant/$name"
  done
  configure "$variant"
  for k in "${todos[@]}"; do
    tests=${row_tests[$k]:-}
    [ -n "${tests// /}" ] || continue
    for name in "${skeleton_files[@]}"; do
      "$repo/exercises/skeleton.sh" --only "$k" -o "$variant/$name.new" "$chapter_dir/$name" ||
        die "exercises/skeleton.sh --only $k failed on $chapter_dir/$name"
      # Replace only what changed, so the build redoes only what it must.
      if cmp -s "$variant/$name.new" "$variant/$name"; then
        rm "$variant/$name.new"
      else
        mv "$variant/$name.new" "$variant/$name"
      fi
    done
    if ! build "$ex_build" "build-todo-$k"; then
      report FAIL "TODO($nn.$k) alone: the skeleton with only it open does not build (log: $logs/build-todo-$k.log)"
      continue
    fi
    # shellcheck disable=SC2086  # $tests is a list of names without spaces
    run_tests "$ex_build" "todo-$k" -R "$(names_regex $tests)"
    for t in $tests; do
      s=$(status_of "todo-$k" "$t")
      if [ "$s" = fail ]; then
        report ok "TODO($nn.$k) alone: $t fails"
      else
        report FAIL "TODO($nn.$k) alone: $t does not fail (status: ${s:-missing}; log: $logs/todo-$k.log)"
      fi
    done
  done
  # Leave the exercise build as the skeleton's.
  configure ""
  build "$ex_build" build-skeleton-again || report FAIL "rebuilding the skeleton failed"
fi

# ---------------------------------------------------------------- 6. reference passes
step "6. the reference passes the same tests (in ${ref_build})"
if ! $reference; then
  echo "  (skipped: --no-reference; the caller runs $own_tests on the reference)"
elif ! build "$ref_build" build-reference; then
  report FAIL "the reference does not build (log: $logs/build-reference.log)"
else
  run_tests "$ref_build" reference -L "$chapter" -R "$own_tests"
  ref_total=$(own_results reference | wc -l)
  ref_bad=$(awk '$2 != "run"' "$logs/reference.results" | wc -l)
  if [ "$ref_total" -eq 0 ]; then
    report FAIL "no tests matched '$own_tests' in $ref_build (log: $logs/reference.log)"
  elif [ "$ref_bad" -ne 0 ]; then
    report FAIL "$ref_bad tests do not pass on the reference (log: $logs/reference.log):"
    awk '$2 != "run" { print "          " $1 " (" $2 ")" }' "$logs/reference.results"
  elif [ "$ref_total" -ne "$total" ]; then
    report FAIL "the reference ran $ref_total tests, the skeleton $total: not the same suite"
  else
    report ok "all $ref_total tests pass on the reference"
  fi
fi

# ---------------------------------------------------------------- summary
echo
if [ $failures -eq 0 ]; then
  if $reference; then
    echo "exercise $nn: honest (${#todos[@]} TODOs, $failed of $total tests fail on the skeleton, all pass on the reference)"
  else
    echo "exercise $nn: honest (${#todos[@]} TODOs, $failed of $total tests fail on the skeleton; the reference's run is the caller's)"
  fi
else
  echo "exercise $nn: NOT HONEST ($failures problems; logs in $logs)"
  exit 1
fi
