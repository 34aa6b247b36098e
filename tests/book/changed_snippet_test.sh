#!/usr/bin/env bash
# changed_snippet_test.sh - the book shows the code as it is: changing a line
# inside a snippet's markers changes the chapter page that shows it.
#
#   tests/book/changed_snippet_test.sh [SOURCE_DIR [BUILD_DIR]]   (default: . build)
#
# ctest runs it as book.changed_snippet_changes_book. It needs a configured
# build dir (BUILD_DIR/book/Doxyfile and the generated inputs the book target
# makes), and changes nothing there or in the sources: it builds a private copy
# of the book in a temporary directory, twice.
#
# Proves, with the book's own Doxyfile (only its paths moved to the copy):
#   1. unmodified, the page that shows a snippet (the middle \snippet reference
#      of the book) has the snippet's first code line, and no trace of a fresh
#      random token "changed-XXXXXXXX" anywhere in the HTML;
#   2. with " // changed-XXXXXXXX" appended to that line in the source, inside
#      the markers, the rebuilt page shows the changed line, token included.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/book/lib.sh
. "$here/lib.sh"
book_init "${1:-$here/../..}" "${2:-${1:-$here/../..}/build}"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
book_copy "$tmp/copy"
html=$(book_copy_html "$tmp/copy")
token=changed-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')

# The snippet: the middle reference that resolves to a source file.
book_refs > "$tmp/refs"
while IFS=$'\t' read -r where file block; do
  path=$(book_resolve "$file" 2> /dev/null) || continue
  case "$path" in "$BOOK_SRC"/*) printf '%s\t%s\t%s\n' "$where" "$path" "$block" ;; esac
done < "$tmp/refs" > "$tmp/targets"
count=$(wc -l < "$tmp/targets")
[ "$count" -ge 1 ] || book_fail "no \\snippet of the book resolves to a source file"
IFS=$'\t' read -r where path block < <(sed -n "$(((count + 1) / 2))p" "$tmp/targets")
page_md=$BOOK_SRC/${where%:*}
page=$(book_page_of "$page_md")
[ -n "$page" ] || book_fail "${where%:*}: no page id ({#id} on its first heading, or \\page)"
file=$tmp/copy/src/${path#"$BOOK_SRC"/}
rel=${path#"$BOOK_SRC"/}

# The first code line between the markers with some substance (8 or more
# non-blank characters, so not a lone brace), and its line number.
open=$(grep -nF "[$block]" "$file" | head -n 1 | cut -d: -f1)
lineno=$(awk -v m="[$block]" -v from="$open" 'NR > from && index($0, m) { exit } NR > from { t = $0; gsub(/[[:space:]]/, "", t); if (length(t) >= 8) { print NR; exit } }' "$file")
[ -n "$lineno" ] || book_fail "$rel: snippet [$block] has no code line between its markers"
original=$(sed -n "${lineno}p" "$file" | book_normalize)
echo "snippet [$block] of $rel, shown at $where (page $page.html); line $lineno: $original"

start=$SECONDS
book_doxygen "$tmp/copy" "$tmp/log" ||
  book_fail "the unmodified book does not build (fix that first): $(grep -m1 -iE 'error|warning' "$tmp/log" || tail -n 1 "$tmp/log")"
[ -f "$html/$page.html" ] || book_fail "the unmodified build made no $page.html (the page of ${where%:*})"
book_html_text "$html/$page.html" > "$tmp/before.txt"
grep -qF -- "$original" "$tmp/before.txt" ||
  book_fail "unmodified: $page.html does not show line $lineno of $rel ($original): the snippet is not on its page?"
if grep -rlF -- "$token" "$html" > /dev/null; then
  book_fail "unmodified: the HTML already contains $token"
fi
echo "unmodified build ($((SECONDS - start)) s): $page.html shows the line, $token appears nowhere"

# Change the line and build again, from an empty output folder as the book
# target does.
sed -i "${lineno}s|\$| // $token|" "$file"
changed=$(sed -n "${lineno}p" "$file" | book_normalize)
[ "$(book_count_marker "$file" "$block")" -eq 2 ] || book_fail "editing $rel moved the markers of [$block]"
rm -rf "$html"
start=$SECONDS
book_doxygen "$tmp/copy" "$tmp/log" ||
  book_fail "the book with the changed line does not build: $(grep -m1 -iE 'error|warning' "$tmp/log" || tail -n 1 "$tmp/log")"
book_html_text "$html/$page.html" > "$tmp/after.txt"
grep -qF -- "$token" "$html/$page.html" ||
  book_fail "changed line $lineno of $rel (inside [$block]) to end in // $token, and $page.html does not show it"
grep -qF -- "$changed" "$tmp/after.txt" ||
  book_fail "$page.html has $token, but not the changed line as a whole: $changed"
echo "changed build ($((SECONDS - start)) s): $page.html shows: $(grep -m1 -F -- "$token" "$tmp/after.txt")"
echo "book.changed_snippet_changes_book: appending // $token to line $lineno of $rel inside [$block] changes $page.html"
