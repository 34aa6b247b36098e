#!/usr/bin/env bash
# browser_test.sh - the built book, opened in a real browser (headless
# Chromium), shows pages with content, its navigation tree, the chapter map
# and the code of the snippets.
#
#   cmake --build build --target book
#   tests/book/browser_test.sh [SOURCE_DIR [BUILD_DIR [PAGE]]]   (default: . build ch05)
#
# ctest runs it as book.browser (scripts/test.sh builds the book first). A
# missing build/book/html fails the test; it is never skipped. It writes the
# screenshots to BUILD_DIR/book/screenshots/ for a human to look at:
#   index.png           the main page (book/index.md), top 1280x2000
#   PAGE.png            the chapter page, top 1280x2000
#   PAGE-snippet.png    the chapter page scrolled to the section of its
#                       first \snippet
#
# Proves:
#   1. each screenshot is not blank: more than MIN_COLOURS distinct colours,
#      a grey-level standard deviation above MIN_STDDEV, and more than
#      MIN_NONWHITE of the pixels darker than 97% grey (a blank or failed
#      page has 1 colour, no deviation, no dark pixels);
#   2. the main page's DOM, after its scripts ran (--dump-dom with a virtual
#      time budget), has the navigation tree filled in by JavaScript with
#      every chapter page (book/chNN-*.md) and a table linking every chapter
#      (the chapter map);
#   3. the chapter page's DOM shows, for each \snippet of its .md, up to 3
#      code lines read now from the source between the snippet's markers
#      (compared as text: tags removed, entities decoded, blanks collapsed).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/book/lib.sh
. "$here/lib.sh"
book_init "${1:-$here/../..}" "${2:-${1:-$here/../..}/build}"
page=${3:-ch05}

MIN_COLOURS=256
MIN_STDDEV=0.05
MIN_NONWHITE=0.05
WIDTH=1280
HEIGHT=2000
CONVERT=/usr/bin/convert # /usr/local/bin/convert is another program
IDENTIFY=/usr/bin/identify

command -v chromium > /dev/null || book_fail "no chromium: scripts/setup.sh installs it"
[ -x "$CONVERT" ] || book_fail "no ImageMagick $CONVERT: scripts/setup.sh installs it"
[ -x "$IDENTIFY" ] || book_fail "no ImageMagick $IDENTIFY: scripts/setup.sh installs it"
[ -f "$BOOK_HTML/index.html" ] ||
  book_fail "no $BOOK_HTML/index.html: build the book first (cmake --build $BOOK_BUILD --target book)"
[ -f "$BOOK_HTML/$page.html" ] || book_fail "no $BOOK_HTML/$page.html: is there a page {#$page} in book/?"
page_md=$(grep -lE "^#[^{]*\{#$page\}" "$BOOK_SRC"/book/*.md | head -n 1) ||
  book_fail "no book/*.md has the page {#$page}"

tmp=$(mktemp -d)
cleanup() {
  local pids
  # Chromium processes still running with one of our profiles, by their ids.
  pids=$(pgrep -f -- "--user-data-dir=$tmp/" || true)
  if [ -n "$pids" ]; then
    # shellcheck disable=SC2086
    kill $pids 2> /dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
shots=$BOOK_OUT/screenshots
rm -rf "$shots"
mkdir -p "$shots"

# chromium ARGS... URL: headless, as root, offline, with a fresh profile; the
# background-networking flags keep it from hanging on this offline machine.
chromium_run() {
  local profile status=0
  profile=$(mktemp -d "$tmp/profile.XXXXXX")
  timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --virtual-time-budget=5000 "$@" 2>> "$tmp/chromium.log" || status=$?
  [ "$status" -ne 124 ] || book_fail "chromium did not finish within 60 s: $*"
  [ "$status" -eq 0 ] || book_fail "chromium failed (exit $status): $* ($(tail -n 1 "$tmp/chromium.log"))"
}

# screenshot URL PNG: render and check the picture is not blank.
screenshot() {
  local url=$1 png=$2 colours stddev nonwhite size file
  chromium_run --hide-scrollbars --window-size="$WIDTH,$HEIGHT" --screenshot="$png" "$url" > /dev/null
  if [ ! -s "$png" ]; then
    file=${url#file://}
    [ -f "${file%%#*}" ] ||
      book_fail "chromium wrote no screenshot of $url: the page is gone (is the book being rebuilt?)"
    book_fail "chromium wrote no screenshot of $url: $(grep -v dbus "$tmp/chromium.log" | tail -n 1)"
  fi
  size=$("$IDENTIFY" -format '%wx%h' "$png")
  colours=$("$IDENTIFY" -format '%k' "$png")
  stddev=$("$CONVERT" "$png" -colorspace Gray -format '%[fx:standard_deviation]' info:)
  case $stddev in *nan*) stddev=0 ;; esac # a one-colour image
  nonwhite=$("$CONVERT" "$png" -colorspace Gray -threshold 97% -negate -format '%[fx:mean]' info:)
  printf '%s: %s %s: %d colours (min %d), grey stddev %.3f (min %s), non-white %.1f%% of pixels (min %.0f%%)\n' \
    "${url#file://"$BOOK_HTML"/}" "${png#"$BOOK_BUILD"/}" "$size" "$colours" "$MIN_COLOURS" "$stddev" "$MIN_STDDEV" \
    "$(awk -v f="$nonwhite" 'BEGIN { print f * 100 }')" "$(awk -v f="$MIN_NONWHITE" 'BEGIN { print f * 100 }')"
  [ "$colours" -gt "$MIN_COLOURS" ] || book_fail "$png looks blank: $colours colours (need more than $MIN_COLOURS)"
  awk -v v="$stddev" -v m="$MIN_STDDEV" 'BEGIN { exit !(v > m) }' ||
    book_fail "$png looks blank: grey stddev $stddev (need more than $MIN_STDDEV)"
  awk -v v="$nonwhite" -v m="$MIN_NONWHITE" 'BEGIN { exit !(v > m) }' ||
    book_fail "$png looks blank: non-white fraction $nonwhite (need more than $MIN_NONWHITE)"
}

# ---------------------------------------------------------------- the main page
screenshot "file://$BOOK_HTML/index.html" "$shots/index.png"
chromium_run --dump-dom "file://$BOOK_HTML/index.html" > "$tmp/index.dom"
[ -s "$tmp/index.dom" ] || book_fail "chromium dumped no DOM for index.html"

chapters=()
for md in "$BOOK_SRC"/book/ch[0-9]*.md; do
  id=$(book_page_of "$md")
  [ -n "$id" ] || book_fail "${md#"$BOOK_SRC"/}: no page id ({#id} on its first heading)"
  chapters+=("$id")
done
[ ${#chapters[@]} -gt 0 ] || book_fail "no chapter pages book/chNN-*.md"

# The navigation tree exists only once navtree.js has run.
tree_items=$(grep -o '<span class="label">' "$tmp/index.dom" | wc -l)
missing=()
for id in "${chapters[@]}"; do
  grep -qF "<span class=\"label\"><a class=\"$id.html\" href=\"$id.html\">" "$tmp/index.dom" || missing+=("$id")
done
[ "$tree_items" -gt 0 ] || book_fail "index.html: the navigation tree is empty in the DOM (did its JavaScript run?)"
[ ${#missing[@]} -eq 0 ] || book_fail "index.html: the navigation tree has no entry for ${missing[*]}"

# The chapter map: a table of the main page that links every chapter page.
perl -0777 -ne 'while (/(<table\b.*?<\/table>)/gis) { (my $t = $1) =~ s/\n/ /g; print "$t\n" }' "$tmp/index.dom" > "$tmp/tables"
map_rows=
while read -r table; do
  ok=yes
  for id in "${chapters[@]}"; do
    case $table in *"href=\"$id.html\""*) ;; *) ok=no ;; esac
  done
  if [ $ok = yes ]; then
    map_rows=$(grep -o '<tr' <<< "$table" | wc -l)
    break
  fi
done < "$tmp/tables"
[ -n "$map_rows" ] ||
  book_fail "index.html: no table in the DOM links all ${#chapters[@]} chapter pages (${chapters[*]}): the chapter map is missing"
echo "index.html DOM: navigation tree of $tree_items entries (all ${#chapters[@]} chapters in it); chapter map table of $map_rows rows linking ${chapters[*]}"

# ---------------------------------------------------------------- a chapter page
screenshot "file://$BOOK_HTML/$page.html" "$shots/$page.png"
chromium_run --dump-dom "file://$BOOK_HTML/$page.html" > "$tmp/page.dom"
[ -s "$tmp/page.dom" ] || book_fail "chromium dumped no DOM for $page.html"
book_html_text "$tmp/page.dom" > "$tmp/page.txt"

book_refs | awk -F'\t' -v md="${page_md#"$BOOK_SRC"/}" 'index($1, md ":") == 1' > "$tmp/refs"
[ -s "$tmp/refs" ] || book_fail "${page_md#"$BOOK_SRC"/} has no \\snippet: pick a chapter page that shows code"
snippets=0
lines=0
example=
while IFS=$'\t' read -r where file block; do
  path=$(book_resolve "$file") || book_fail "$where: \\snippet $file $block does not resolve (see book.snippets_resolve)"
  # (awk keeps the first 3 itself: `head -n 3` would close the pipe early,
  # and under pipefail the SIGPIPE of a writer still busy failed the test
  # now and then, silently.)
  book_snippet_body "$path" "$block" | grep -vE "$BOOK_MARKER_RE" | book_normalize |
    awk '{ t = $0; gsub(/ /, "", t) } length(t) >= 8 && n++ < 3' > "$tmp/expected"
  [ -s "$tmp/expected" ] || book_fail "$where: [$block] of ${path#"$BOOK_SRC"/} has no code line of 8 or more characters"
  while read -r line; do
    grep -qF -- "$line" "$tmp/page.txt" ||
      book_fail "$page.html in the browser does not show this line of [$block] (${path#"$BOOK_SRC"/}): $line"
    lines=$((lines + 1))
    [ -n "$example" ] || example="[$block] $line"
  done < "$tmp/expected"
  snippets=$((snippets + 1))
done < "$tmp/refs"
echo "$page.html DOM: all $snippets snippets of ${page_md#"$BOOK_SRC"/} present ($lines code lines, read from the sources, found in the rendered text); e.g. $example"

# The same page at the section of its first snippet: its heading's {#anchor}.
first_line=$(head -n 1 "$tmp/refs" | cut -f1 | cut -d: -f2)
anchor=$(head -n "$first_line" "$page_md" | sed -nE 's/^#+ .*\{#([A-Za-z0-9_-]+)\}[[:space:]]*$/\1/p' | tail -n 1)
screenshot "file://$BOOK_HTML/$page.html${anchor:+#$anchor}" "$shots/$page-snippet.png"

echo "book.browser: 3 screenshots in ${shots#"$BOOK_BUILD"/}/ are not blank; the main page has its navigation tree and chapter map; $page.html shows its $snippets snippets"
