#!/usr/bin/env bash
# test.sh - set up, build, and pass the whole test suite, as root:
#   1. formatting check (clang-format)
#   2. build with warnings as errors, the book with warnings as errors
#   3. the unit tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   4. every other test: integration (as root, never skipped), transcripts,
#      book, exercise honesty checks, and the leak check after them; and
#      meanwhile clang-tidy, niced, on the CPU the tests leave idle
# It prints its wall time at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "test.sh: run me as root: the integration tests start real containers" >&2
  exit 1
fi
scripts/setup.sh
lint_pid=""

echo "== format"
scripts/format.sh --check

echo "== build"
# Without the unit tests: they are built and run under the sanitizers below.
scripts/build.sh build -DMINIDOCKER_UNIT_TESTS=OFF
cmake --build build --target book

echo "== unit tests with ASan + UBSan"
# Unoptimised, with line tables only (-O0 -g1): it compiles in half the
# time of the -O2 -g build, and a report still names file and line.
scripts/build.sh build-asan --target unit_tests -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g1" \
  -DMINIDOCKER_SANITIZE=ON
if ctest --test-dir build-asan -L unit --output-on-failure > build-asan/unit.log 2>&1; then
  grep -E 'tests passed' build-asan/unit.log
else
  cat build-asan/unit.log
  exit 1
fi

echo "== lint: clang-tidy, in the background while the tests run (build/lint.log)"
# Most of the tests wait on containers more than they compute: niced, the
# lint takes the CPU they leave idle and yields it when they want it.
# A session of its own, so that a failing test run can stop all of it.
setsid nice -n 19 scripts/lint.sh build > build/lint.log 2>&1 &
lint_pid=$!

echo "== tests"
# As root nothing may be skipped: the harness fails a test that would skip.
export MINIDOCKER_NO_SKIP=1
rm -rf build/counts  # the suites' counts (issue 13), printed once all have run
print_counts() {
  local rc=$?
  echo "== counts"
  if compgen -G "build/counts/*.txt" > /dev/null; then
    sort build/counts/*.txt
  else
    echo "(no counts were recorded)"
  fi
  if [ -n "$lint_pid" ] && kill -0 "$lint_pid" 2> /dev/null; then
    kill -- "-$lint_pid" 2> /dev/null || true  # the tests failed first: no need to wait for it
  fi
  echo "test.sh: exit $rc after $((SECONDS / 60)) min $((SECONDS % 60)) s"
}
trap print_counts EXIT
# The default set: each chapter's suite on its own chapter and on `minidocker`.
# Left out, each one label away: the whole matrix of suites x later chapters
# (ctest -L matrix) and the per-TODO exercise check (ctest -L exercise-full).
ctest --test-dir build -j2 -LE "matrix|exercise-full" --output-on-failure --timeout 900

echo "== lint"
lint_rc=0
wait "$lint_pid" || lint_rc=$?
cat build/lint.log
if [ "$lint_rc" -ne 0 ]; then
  echo "test.sh: clang-tidy failed (exit $lint_rc): build/lint.log" >&2
  exit 1
fi
