#!/usr/bin/env bash
# check_links.sh PAGE.html... - every local link href="FILE.html#ID" of the
# pages points at a file of the book that has an element with that id.
# Doxygen checks its own \ref links; this checks the HTML the book includes
# verbatim (the trace appendix's table), which Doxygen passes through.
set -euo pipefail
bad=0
checked=0
for page in "$@"; do
  dir=$(dirname "$page")
  while read -r href; do
    file=${href%%#*}
    id=${href#*#}
    checked=$((checked + 1))
    if [ ! -f "$dir/$file" ]; then
      echo "check_links.sh: $page links to $href, and $file does not exist" >&2
      bad=1
    elif [ "$id" != "$href" ] && ! grep -q "id=\"$id\"" "$dir/$file"; then
      echo "check_links.sh: $page links to $href, and $file has no id \"$id\"" >&2
      bad=1
    fi
  done < <(grep -o 'href="[a-z0-9_-]*\.html\(#[A-Za-z0-9_-]*\)\?"' "$page" | sed -e 's/^href="//' -e 's/"$//' | sort -u)
done
[ "$bad" -eq 0 ] && echo "check_links.sh: $checked distinct local links resolve"
exit "$bad"
