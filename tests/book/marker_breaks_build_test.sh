#!/usr/bin/env bash
# marker_breaks_build_test.sh - removing a snippet marker from the code fails
# the book's build, with an error that names the snippet.
#
#   tests/book/marker_breaks_build_test.sh [SOURCE_DIR [BUILD_DIR]]   (default: . build)
#
# ctest runs it as book.removed_marker_breaks_build. It needs a configured
# build dir (BUILD_DIR/book/Doxyfile, and the generated inputs the book target
# makes, such as build/book/diagrams), and changes nothing there or in the
# sources: it works on a private copy in a temporary directory.
#
# Proves, with the book's own Doxyfile (WARN_AS_ERROR = YES, only its paths
# moved to the copy):
#   1. the unmodified copy builds: exit 0, so what fails later is the edit;
#   2. for three markers shown by the book (the first, middle and last
#      \snippet reference), deleting both marker lines makes Doxygen exit
#      non-zero with a message naming "[BLOCK]";
#   3. deleting only the closing marker line of the first one fails too.
# Each edit is undone before the next one.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/book/lib.sh
. "$here/lib.sh"
book_init "${1:-$here/../..}" "${2:-${1:-$here/../..}/build}"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
book_copy "$tmp/copy"

start=$SECONDS
if ! book_doxygen "$tmp/copy" "$tmp/log"; then
  book_fail "the unmodified book does not build (fix that first): $(grep -m1 -iE 'error|warning' "$tmp/log" || tail -n 1 "$tmp/log")"
fi
echo "unmodified copy: doxygen exit 0 ($((SECONDS - start)) s)"

# The \snippet references that resolve to a file in the source tree, as
# copy-path<TAB>block, in the order of the pages.
book_refs > "$tmp/refs"
while IFS=$'\t' read -r where file block; do
  path=$(book_resolve "$file" 2> /dev/null) || continue
  case "$path" in "$BOOK_SRC"/*) ;; *) continue ;; esac
  printf '%s\t%s\t%s\n' "$tmp/copy/src/${path#"$BOOK_SRC"/}" "$block" "$where"
done < "$tmp/refs" | awk -F'\t' '!seen[$1 FS $2]++' > "$tmp/targets"
count=$(wc -l < "$tmp/targets")
[ "$count" -ge 1 ] || book_fail "no \\snippet of the book resolves to a source file: nothing to remove"
picks=$(printf '%s\n' 1 $(((count + 1) / 2)) "$count" | sort -nu)

# break FILE BLOCK WHERE HOW: HOW = both (delete both marker lines) or close
# (delete the second); Doxygen must fail and name [BLOCK]; the file is restored.
break_marker() {
  local file=$1 block=$2 where=$3 how=$4 lines=() deleted left status=0
  mapfile -t lines < <(grep -nE "^[[:space:]]*(//!?|#!?)[[:space:]]*\[$block\][[:space:]]*$" "$file" | cut -d: -f1)
  [ ${#lines[@]} -eq 2 ] ||
    book_fail "${file#"$tmp"/copy/src/}: expected 2 marker lines for [$block], found ${#lines[@]} (lines ${lines[*]})"
  cp -p "$file" "$tmp/original"
  case $how in
    both) sed -i -e "${lines[0]}d" -e "${lines[1]}d" "$file" && deleted="both marker lines (${lines[*]})" left=0 ;;
    close) sed -i -e "${lines[1]}d" "$file" && deleted="the closing marker line (${lines[1]})" left=1 ;;
  esac
  if [ "$(book_count_marker "$file" "$block")" -ne "$left" ]; then
    book_fail "could not delete the marker lines of [$block] in ${file#"$tmp"/copy/src/}"
  fi
  book_doxygen "$tmp/copy" "$tmp/log" || status=$?
  cp -p "$tmp/original" "$file"
  if [ "$status" -eq 0 ]; then
    book_fail "deleted $deleted of [$block] in ${file#"$tmp"/copy/src/} (shown at $where), and the book still builds"
  fi
  if ! grep -qF "[$block]" "$tmp/log"; then
    book_fail "deleting [$block] fails the build (exit $status), but no message names the snippet: $(head -n 2 "$tmp/log")"
  fi
  echo "deleted $deleted of [$block] in ${file#"$tmp"/copy/src/}: doxygen exit $status: $(grep -m1 -F "[$block]" "$tmp/log" | sed "s#$tmp/copy/src/##")"
}

for i in $picks; do
  IFS=$'\t' read -r file block where < <(sed -n "${i}p" "$tmp/targets")
  break_marker "$file" "$block" "$where" both
done
IFS=$'\t' read -r file block where < <(head -n 1 "$tmp/targets")
break_marker "$file" "$block" "$where" close
echo "book.removed_marker_breaks_build: the unmodified book builds; removing any of $(echo "$picks" | wc -l) markers (of $count shown) or one closing marker fails it, naming the snippet"
