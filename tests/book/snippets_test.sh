#!/usr/bin/env bash
# snippets_test.sh - every snippet marker in the code is used by the book, and
# every \snippet in the book finds its block.
#
#   tests/book/snippets_test.sh [SOURCE_DIR [BUILD_DIR]]    (default: . build)
#
# ctest runs it as book.snippets_resolve. It needs a configured build dir (it
# reads BUILD_DIR/book/Doxyfile for INPUT and EXAMPLE_PATH), not a built book.
#
# Proves:
#   1. every \snippet FILE BLOCK (any form: \snippet{lineno}, \snippetdoc, ...)
#      in the pages and the code's doc comments names one file, found the way
#      Doxygen finds it (first EXAMPLE_PATH directory that has it, else a
#      unique example file ending in /FILE), and "[BLOCK]" occurs in that file
#      exactly twice: Doxygen shows the text between the first two, so a
#      third occurrence would silently cut the snippet short;
#   2. every marker line (`//! [name]`) in the snippet sources (the files
#      under EXAMPLE_PATH that git knows: chapters/, common/, tests/) is half
#      of a pair, and the pair is shown by at least one \snippet of that file;
#   3. the book shows the reference code without its exercise's scaffolding:
#      book/source_filter.sh (the Doxyfile's filter for snippets and source
#      pages) leaves no exercise hint, block marker or skeleton line
#      (ARCHITECTURE.md, "Exercise markers") in any chapter file, and keeps
#      every snippet marker line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/book/lib.sh
. "$here/lib.sh"
book_init "${1:-$here/../..}" "${2:-${1:-$here/../..}/build}"

git -C "$BOOK_SRC" rev-parse --is-inside-work-tree > /dev/null 2>&1 ||
  book_fail "$BOOK_SRC is not a git checkout: the snippet sources are the files git knows"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
errors=0
err() {
  echo "FAIL: $*" >&2
  errors=$((errors + 1))
}

# ---------------------------------------------------------------- references
book_refs > "$tmp/refs"
[ -s "$tmp/refs" ] || book_fail "found no \\snippet in the pages ($(doxy_list INPUT | tr '\n' ' ')): the book shows no code?"
: > "$tmp/used" # resolved-file<TAB>block, for each reference that resolves
while IFS=$'\t' read -r where file block; do
  if ! path=$(book_resolve "$file" 2> "$tmp/why"); then
    err "$where: \\snippet $file $block: $(cat "$tmp/why")"
    continue
  fi
  n=$(book_count_marker "$path" "$block")
  if [ "$n" -ne 2 ]; then
    err "$where: \\snippet $file $block: [$block] occurs $n times in ${path#"$BOOK_SRC"/} (must be 2: open and close)"
    continue
  fi
  printf '%s\t%s\n' "$path" "$block" >> "$tmp/used"
done < "$tmp/refs"
refs=$(wc -l < "$tmp/refs")

# ---------------------------------------------------------------- markers
book_markers > "$tmp/markers"
[ -s "$tmp/markers" ] || book_fail "found no //! [name] marker under $(doxy_list EXAMPLE_PATH | tr '\n' ' ')"
cut -f1,3 "$tmp/markers" | sort -u > "$tmp/pairs"
while IFS=$'\t' read -r path name; do
  n=$(book_count_marker "$path" "$name")
  if [ "$n" -ne 2 ]; then
    lines=$(awk -F'\t' -v p="$path" -v m="$name" '$1 == p && $3 == m { printf " %s", $2 }' "$tmp/markers")
    err "${path#"$BOOK_SRC"/}: [$name] occurs $n times (lines$lines; must be 2: open and close)"
  elif ! grep -qxF "$path"$'\t'"$name" "$tmp/used"; then
    err "${path#"$BOOK_SRC"/}: marker [$name] is not shown by any \\snippet in the book: use it or remove it"
  fi
done < "$tmp/pairs"
markers=$(wc -l < "$tmp/pairs")

# ---------------------------------------------------------------- exercise scaffolding
scaffolding=0
while read -r f; do
  filtered=$("$BOOK_SRC/book/source_filter.sh" "$BOOK_SRC/$f")
  if printf '%s\n' "$filtered" | grep -nE '^[[:space:]]*//([{}|]| TODO\([0-9]{2}\.[0-9]+\))' >"$tmp/left"; then
    err "$f: the book would show exercise scaffolding: $(head -n 1 "$tmp/left")"
  fi
  before=$(grep -cE "$BOOK_MARKER_RE" "$BOOK_SRC/$f" || true)
  after=$(printf '%s\n' "$filtered" | grep -cE '^[[:space:]]*//[[:space:]]*\[[^]]+\][[:space:]]*$' || true)
  if [ "$before" -ne "$after" ]; then
    err "$f: source_filter.sh keeps $after of its $before snippet marker lines"
  fi
  scaffolding=$((scaffolding + $(grep -cE '^[[:space:]]*//[{]' "$BOOK_SRC/$f" || true)))
done < <(git -C "$BOOK_SRC" ls-files --cached --others --exclude-standard -- 'chapters/*.cpp' 'chapters/*.hpp')

if [ "$errors" -ne 0 ]; then
  echo "FAIL: $errors problem(s) with $markers markers and $refs \\snippet references (see above)" >&2
  exit 1
fi
echo "book.snippets_resolve: $markers markers in $(cut -f1 "$tmp/pairs" | sort -u | wc -l) files, $refs \\snippet references in $(cut -d: -f1 "$tmp/refs" | sort -u | wc -l) files, all resolve; every marker is shown; $scaffolding exercise blocks left out of the snippets"
