#!/usr/bin/env bash
# tests/exercises/grade_demo_test.sh [REPO]
#
# The ctest test exercise.grade_demo: the instructor's command,
# exercises/grade.sh, over five generated submissions of exercise 01
# (namespaces.cpp: it compiles fast, and its skeleton has five TODOs):
#   reference      chapters/01-namespaces/namespaces.cpp as it is
#   skeleton       generated from it (exercises/skeleton.sh)
#   compile-error  the reference with a line that is not C++, and without
#                  the end marker of TODO(01.5)'s block
#   hang           the reference sleeping an hour at the start of
#                  Namespaces::prepare(), which every `run` goes through
#   partly-done/   a folder: the skeleton with only TODO(01.4)'s block open
#                  (skeleton.sh --only 4, as exercises/check.sh step 5 makes it)
# It prints grade.sh's table and checks it: the reference passes everything;
# the skeleton fails every test of the README's table; the compile error is
# "build failed" and the others are graded all the same, and its missing
# marker is reported (the others' markers are "ok"); the hang is
# "timeout"; partly-done fails the tests of TODO(01.4)'s row, and every TODO
# that shares no test with that row is done; results.csv and results.html
# exist and agree, cell for cell. Run as root (without root: exit 77, a
# skip, or a failure with MINIDOCKER_NO_SKIP=1). Everything happens in a
# temporary folder, removed at the end (kept with GRADE_DEMO_KEEP=1) with
# whatever process still runs from it. About two minutes.
set -euo pipefail

repo=$(realpath "${1:-$(dirname "${BASH_SOURCE[0]}")/../..}")
nn=01
todo=4  # the TODO partly-done leaves undone
chapter_file=$repo/chapters/01-namespaces/namespaces.cpp
readme=$repo/exercises/01-namespaces/README.md

if [ "$(id -u)" -ne 0 ]; then
  if [ "${MINIDOCKER_NO_SKIP:-}" = 1 ]; then
    echo "grade_demo: FAIL: not root (grade.sh runs the chapter's tests as root)"
    exit 1
  fi
  echo "grade_demo: skipped: not root (grade.sh runs the chapter's tests as root)"
  exit 77
fi

tmp=$(mktemp -d /tmp/grade-demo.XXXXXX)
grade_pid=""
cleanup() {
  local p
  if [ -n "$grade_pid" ]; then
    kill "$grade_pid" 2>/dev/null || true
    wait "$grade_pid" 2>/dev/null || true
  fi
  for p in $(find /proc -mindepth 2 -maxdepth 2 -name exe -lname "$tmp/*" -printf '%h\n' 2>/dev/null |
    sed 's|^/proc/||'); do
    kill -KILL "$p" 2>/dev/null || true
  done
  if [ -n "${GRADE_DEMO_KEEP:-}" ]; then
    echo "grade_demo: kept $tmp (GRADE_DEMO_KEEP is set)"
  else
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

failures=0
check() {  # check CONDITION_STATUS MESSAGE: prints ok/FAIL
  if [ "$1" -eq 0 ]; then
    echo "  ok    $2"
  else
    echo "  FAIL  $2"
    failures=$((failures + 1))
  fi
}

# ---------------------------------------------------------------- submissions
subs=$tmp/submissions
mkdir -p "$subs/partly-done"
cp "$chapter_file" "$subs/reference.cpp"
"$repo/exercises/skeleton.sh" -o "$subs/skeleton.cpp" "$chapter_file"
sed -e '/^namespace minidocker {$/a this line is not C++;' -e '/^ *\/\/} TODO(01\.5)$/d' "$chapter_file" >"$subs/compile-error.cpp"
sed '/^void Namespaces::prepare(Container& c) {$/a \    ::sleep(3600);  // the demo'"'"'s hang' "$chapter_file" >"$subs/hang.cpp"
grep -q 'this line is not C++' "$subs/compile-error.cpp" || { echo "grade_demo: no 'namespace minidocker {' line in $chapter_file"; exit 1; }
grep -q 'sleep(3600)' "$subs/hang.cpp" || { echo "grade_demo: no Namespaces::prepare() in $chapter_file"; exit 1; }

# partly-done: the reference but for the block(s) of TODO(01.4), the skeleton's.
"$repo/exercises/skeleton.sh" --only "$todo" -o "$subs/partly-done/namespaces.cpp" "$chapter_file"
grep -q "^ *//{ TODO($nn.$todo)" "$subs/partly-done/namespaces.cpp" || { echo "grade_demo: no TODO($nn.$todo) block in $chapter_file"; exit 1; }

# The README's table: the tests of each TODO.
declare -A row_tests=()
while IFS= read -r line; do
  k=$(printf '%s\n' "$line" | sed -n "s/^|[[:space:]]*\`\{0,1\}TODO($nn\.\([0-9]*\)).*/\1/p")
  [ -n "$k" ] || continue
  row_tests[$k]=$(printf '%s\n' "${line#*)}" | grep -o "\`ch$nn@[^\`]*\`" | tr -d '`' | tr '\n' ' ' || true)
done <"$readme"
[ -n "${row_tests[$todo]:-}" ] || { echo "grade_demo: no row for TODO($nn.$todo) in $readme"; exit 1; }

# ---------------------------------------------------------------- grading
SECONDS=0
echo "grade_demo: exercises/grade.sh $nn $subs -o $tmp/out -j 2 --timeout 20"
"$repo/exercises/grade.sh" "$nn" "$subs" -o "$tmp/out" -j 2 --timeout 20 >"$tmp/stdout" 2>&1 &
grade_pid=$!
rc=0
wait "$grade_pid" || rc=$?
grade_pid=""
cat "$tmp/stdout"
echo
echo "grade_demo: grade.sh took $SECONDS s, exit status $rc"
echo
# The checks: each prints ok or FAIL, and all of them run.
set +e
check $rc "grade.sh exits 0"

csv=$tmp/out/results.csv
html=$tmp/out/results.html
[ -f "$csv" ]
check $? "results.csv exists"
[ -f "$html" ]
check $? "results.html exists"
[ -f "$csv" ] && [ -f "$html" ] || exit 1

# cell NAME COLUMN: the CSV's value (columns by their header's name).
cell() {
  awk -F, -v row="$1" -v col="$2" '
    NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next }
    $1 == row && c { print $c }' "$csv"
}
mapfile -t test_columns < <(head -n1 "$csv" | tr ',' '\n' | grep "^ch$nn@ch$nn\\.")
total=${#test_columns[@]}
[ "$total" -gt 0 ]
check $? "the CSV has a column per test ($total)"

# stdout: the table's row of each submission.
row() { grep -E "^$1 " "$tmp/stdout" || true; }

# reference: everything passes.
[ "$(cell reference result)" = pass ] && [ "$(cell reference passed)" = "$total" ]
check $? "reference: pass, $(cell reference passed)/$total"
[[ $(row reference) == *" pass "* ]]
check $? "reference: the printed row says pass"
[ "$(cell reference lines_changed)" = 0 ]
check $? "reference: 0 lines changed"

# skeleton: every test of the README's table fails.
bad=""
for t in $(printf '%s\n' "${row_tests[@]}" | tr ' ' '\n' | sort -u); do
  [ "$(cell skeleton "$t")" = fail ] || bad+=" $t=$(cell skeleton "$t")"
done
[ -z "$bad" ]
check $? "skeleton: fails every test named in the README's table${bad:+ (not:$bad)}"
[ "$(cell skeleton result)" = fail ] && [ "$(cell skeleton lines_changed)" -gt 0 ]
check $? "skeleton: fail, $(cell skeleton passed)/$total, $(cell skeleton lines_changed) lines changed"

# compile-error: build failed, with a log; the others were graded anyway.
[ "$(cell compile-error result)" = "build failed" ]
check $? "compile-error: build failed"
[[ $(row compile-error) == *"build failed"* ]]
check $? "compile-error: the printed row says build failed"
grep -q 'error:' "$tmp/out/logs/compile-error/build.log"
check $? "compile-error: the compiler's error is in logs/compile-error/build.log"
[ "$(cell compile-error markers)" != ok ] && grep -q "end marker of TODO(01.5) is gone" "$tmp/out/logs/compile-error/markers.txt" &&
  grep -q "compile-error: .*TODO(01.5)" "$tmp/stdout"
check $? "compile-error: its missing end marker of TODO(01.5) is reported (markers: $(cell compile-error markers))"
bad=""
for name in reference skeleton hang partly-done; do
  [ "$(cell "$name" markers)" = ok ] || bad+=" $name=$(cell "$name" markers)"
done
[ -z "$bad" ]
check $? "the other submissions' markers are where the skeleton has them${bad:+ (not:$bad)}"

# hang: timeout, and nothing of it still runs.
[ "$(cell hang result)" = timeout ]
check $? "hang: timeout"
[[ $(row hang) == *" timeout "* ]]
check $? "hang: the printed row says timeout"
left=$(find /proc -mindepth 2 -maxdepth 2 -name exe -lname "$tmp/*" -printf '%h ' 2>/dev/null || true)
[ -z "$left" ]
check $? "no process runs a program of the grading's workers${left:+ (left: $left)}"

# partly-done: the tests of TODO(01.4)'s row fail; every other TODO is done.
bad=""
for t in ${row_tests[$todo]}; do
  [ "$(cell partly-done "$t")" = fail ] || bad+=" $t=$(cell partly-done "$t")"
done
[ -z "$bad" ]
check $? "partly-done: fails the tests of TODO($nn.$todo)'s row:${row_tests[$todo]% }${bad:+ (not:$bad)}"
[ "$(cell partly-done "TODO($nn.$todo)")" = "not yet" ]
check $? "partly-done: TODO($nn.$todo) not yet"
# (A TODO that shares a test with TODO(01.4)'s row is not done either.)
others=""
for k in "${!row_tests[@]}"; do
  shared=false
  for t in ${row_tests[$k]}; do
    [[ " ${row_tests[$todo]}" != *" $t "* ]] || shared=true
  done
  $shared || [ "$(cell partly-done "TODO($nn.$k)")" = "done" ] || others+=" TODO($nn.$k)"
done
[ -z "$others" ]
check $? "partly-done: every TODO that shares no test with TODO($nn.$todo) is done${others:+ (not:$others)}"
extra=$(awk -F, -v keep=" ${row_tests[$todo]}" '
  NR == 1 { for (i = 1; i <= NF; i++) name[i] = $i; next }
  $1 == "partly-done" { for (i = 1; i <= NF; i++) if (name[i] ~ /@/ && $i != "pass" && index(keep, " " name[i] " ") == 0) printf " %s", name[i] }' "$csv")
echo "  info  partly-done fails ${extra:+also:$extra}${extra:-exactly the tests of its row}"

# results.html agrees with results.csv: per submission, the status cells
# (result, TODOs, tests) in order.
for name in reference skeleton compile-error hang partly-done; do
  from_csv=$(awk -F, -v row="$name" '
    NR == 1 { for (i = 1; i <= NF; i++) if ($i == "result" || $i ~ /^TODO\(/ || $i ~ /@/) keep[i] = 1; next }
    $1 == row { for (i = 1; i <= NF; i++) if (i in keep) printf "%s|", $i }' "$csv")
  from_html=$(grep "<tr data-submission=\"$name\">" "$html" | grep -o 'data-status="[^"]*"' |
    sed 's/^data-status="\(.*\)"$/\1/' | tr '\n' '|')
  [ -n "$from_csv" ] && [ "$from_csv" = "$from_html" ]
  check $? "results.html and results.csv agree on $name"
done
grep -q 'class="pass"' "$html" && grep -q 'class="fail"' "$html"
check $? "results.html colours passes and failures"

echo
echo "grade_demo: $failures problems, $SECONDS s"
[ $failures -eq 0 ]
