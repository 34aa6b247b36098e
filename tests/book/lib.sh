# shellcheck shell=bash
# lib.sh - shared by the book tests in tests/book/ (sourced, not run).
#
# Everything here reads the configured Doxyfile (BUILD_DIR/book/Doxyfile,
# written by `cmake -S . -B build` from book/Doxyfile.in), so the tests follow
# the book's real INPUT, EXAMPLE_PATH and output settings instead of a copy of
# them.
#
#   book_init SOURCE_DIR BUILD_DIR   set BOOK_SRC, BOOK_BUILD, BOOK_DOXYFILE,
#                                    BOOK_OUT (OUTPUT_DIRECTORY), BOOK_HTML
#   doxy_list KEY                    the values of KEY, one a line
#   book_refs                        every \snippet reference:
#                                    WHERE<TAB>FILE<TAB>BLOCK (WHERE = file:line)
#   book_resolve FILE                the file a \snippet FILE reads
#   book_markers                     every marker line in the example sources:
#                                    PATH<TAB>LINE<TAB>NAME
#   book_copy DIR                    a private copy of the book's inputs in DIR
#                                    with DIR/Doxyfile pointing at it
#   book_doxygen DIR LOG             run Doxygen on that copy
#   book_page_of MD                  the page id of a book page (its {#id})
#
# A marker is a line that holds only a comment leader and a bracketed name:
#   //! [ch05-bind]        (C++, the project's convention)
#   # [name]  #! [name]    (CMake, shell: not used yet, but \snippet reads them)

book_fail() {
  echo "FAIL: $*" >&2
  exit 1
}

book_init() {
  BOOK_SRC=$(cd "$1" && pwd)
  BOOK_BUILD=$(cd "$2" 2> /dev/null && pwd) ||
    book_fail "no build directory $2: run cmake -S $1 -B $2 first"
  BOOK_DOXYFILE=$BOOK_BUILD/book/Doxyfile
  [ -f "$BOOK_DOXYFILE" ] ||
    book_fail "no $BOOK_DOXYFILE: run cmake -S $BOOK_SRC -B $BOOK_BUILD first (it configures book/Doxyfile.in)"
  BOOK_OUT=$(doxy_list OUTPUT_DIRECTORY | head -n 1)
  BOOK_HTML=$BOOK_OUT/$(doxy_list HTML_OUTPUT | head -n 1)
  [ "$BOOK_HTML" != "$BOOK_OUT/" ] || BOOK_HTML=$BOOK_OUT/html
}

# The values of a Doxyfile setting, one a line, quotes removed; follows "\"
# continuation lines and "+=". Paths with blanks are not supported (the book
# has none).
doxy_list() {
  awk -v key="$1" '
    !on && $0 ~ "^[ \t]*" key "[ \t]*[+]?=" { on = 1; sub("^[ \t]*" key "[ \t]*[+]?=", "") }
    on {
      more = ($0 ~ /\\[ \t]*$/)
      sub(/\\[ \t]*$/, "")
      gsub(/"/, "")
      n = split($0, w, /[ \t]+/)
      for (i = 1; i <= n; i++) if (w[i] != "") print w[i]
      if (!more) on = 0
    }' "${2:-$BOOK_DOXYFILE}"
}

# The files Doxygen reads as documentation: INPUT, filtered by FILE_PATTERNS.
book_input_files() {
  local patterns=() p depth=() inputs=()
  while read -r p; do
    patterns+=(-o -name "$p")
  done < <(doxy_list FILE_PATTERNS)
  [ "$(doxy_list RECURSIVE)" = YES ] || depth=(-maxdepth 1)
  mapfile -t inputs < <(doxy_list INPUT)
  for p in "${inputs[@]}"; do
    if [ -d "$p" ]; then
      find "$p" "${depth[@]}" -type f \( -false "${patterns[@]}" \) | sort
    elif [ -f "$p" ]; then
      echo "$p"
    fi
  done
}

# Every \snippet (also @snippet, \snippet{lineno}, \snippet{doc},
# \snippetlineno, \snippetdoc) in the documentation, outside ``` / ~~~ fences
# (where Doxygen does not run commands).
book_refs() {
  local f
  book_input_files | while read -r f; do
    awk -v where="${f#"$BOOK_SRC"/}" '
      /^[ \t]*(```|~~~)/ { fence = !fence; next }
      fence { next }
      {
        line = $0
        while (match(line, /[\\@]snippet(lineno|doc)?(\{[^}]*\})?[ \t]+[^ \t]+[ \t]+[^ \t]+/)) {
          cmd = substr(line, RSTART, RLENGTH)
          line = substr(line, RSTART + RLENGTH)
          sub(/^[\\@]snippet(lineno|doc)?(\{[^}]*\})?[ \t]+/, "", cmd)
          split(cmd, w, /[ \t]+/)
          printf "%s:%d\t%s\t%s\n", where, FNR, w[1], w[2]
        }
      }' "$f"
  done
}

# The file `\snippet FILE` reads, as Doxygen 1.9.4 finds it: the first
# EXAMPLE_PATH directory D with a file D/FILE; failing that, the one file
# anywhere under the EXAMPLE_PATH directories whose path ends in /FILE (tried:
# `\snippet ns_inspector.cpp ...` works, `\snippet main.cpp ...` is
# "ambiguous", with EXAMPLE_RECURSIVE = NO). Prints the path; on a missing
# or ambiguous name prints nothing and a reason on stderr, returns 1. A name
# that two EXAMPLE_PATH directories both have is refused too: Doxygen would
# silently take the first, so the book could show other code than meant.
book_resolve() {
  local ref=$1 dir f found=() dirs=()
  mapfile -t dirs < <(doxy_list EXAMPLE_PATH)
  if [ "${ref#/}" != "$ref" ]; then
    [ -f "$ref" ] && echo "$ref" && return 0
    echo "no such file" >&2
    return 1
  fi
  for dir in "${dirs[@]}"; do
    if [ -f "$dir/$ref" ]; then found+=("$dir/$ref"); fi
  done
  if [ ${#found[@]} -eq 0 ]; then
    for dir in "${dirs[@]}"; do
      [ -d "$dir" ] || continue
      while read -r f; do
        case "/$f" in */"$ref") found+=("$f") ;; esac
      done < <(find "$dir" -type f)
    done
  fi
  case ${#found[@]} in
    0) echo "no file $ref in EXAMPLE_PATH (${dirs[*]})" >&2 && return 1 ;;
    1) echo "${found[0]}" ;;
    *) echo "ambiguous: $ref is ${found[*]}" >&2 && return 1 ;;
  esac
}

# The files that can hold snippets: the EXAMPLE_PATH directories inside the
# source tree, as git knows them (tracked, or new and not ignored; so build
# output and editor droppings do not count). Generated directories under the
# build tree (build/book/generated) hold no markers and are left out.
book_example_sources() {
  local dir
  doxy_list EXAMPLE_PATH | while read -r dir; do
    case "$dir/" in
      "$BOOK_BUILD"/*) continue ;;
      "$BOOK_SRC"/*) ;;
      *) continue ;;
    esac
    [ -d "$dir" ] || continue
    git -C "$BOOK_SRC" ls-files --cached --others --exclude-standard -- "${dir#"$BOOK_SRC"/}" |
      while read -r f; do [ -f "$BOOK_SRC/$f" ] && echo "$BOOK_SRC/$f"; done
  done | sort -u
}

BOOK_MARKER_RE='^[[:space:]]*(//!?|#!?)[[:space:]]*\[[A-Za-z0-9_.:-]+\][[:space:]]*$'

book_markers() {
  book_example_sources | while read -r f; do
    grep -nE "$BOOK_MARKER_RE" "$f" /dev/null | sed -E 's/^([^:]*):([0-9]+):.*\[([^]]*)\].*$/\1\t\2\t\3/' || true
  done
}

# How often "[NAME]" occurs in FILE: Doxygen's \snippet takes the text between
# the first two occurrences, wherever they are, so a well-formed block has
# exactly two.
book_count_marker() {
  grep -oF "[$2]" "$1" | wc -l
}

# The page id of a book page: the {#id} of its first heading, or its \page.
book_page_of() {
  sed -nE '1,/[^[:space:]]/{s/^#[^{]*\{#([A-Za-z0-9_-]+)\}.*$/\1/p; s/^[\\@]page[[:space:]]+([A-Za-z0-9_-]+).*$/\1/p}' "$1" | head -n 1
}

# A private copy of everything the Doxyfile names: each path under the source
# tree is copied to DIR/src, each path under the build tree (generated
# diagrams, tables) to DIR/build, except the output directory itself; then
# DIR/Doxyfile is the configured Doxyfile with those paths rewritten, so
# Doxygen reads only the copy and writes to DIR/build/.../html. Nothing else
# changes: WARN_AS_ERROR, FILTER_PATTERNS, EXAMPLE_PATH order and the rest are
# the book's own.
book_copy() {
  local dir=$1 p rel
  mkdir -p "$dir/src" "$dir/build"
  grep -oE "($BOOK_SRC|$BOOK_BUILD)(/[^[:space:]\"\\\\]*)?" "$BOOK_DOXYFILE" | sort -u | while read -r p; do
    p=${p%/}
    case "$p" in
      "$BOOK_SRC" | "$BOOK_BUILD" | "$BOOK_OUT" | "$BOOK_HTML" | "$BOOK_HTML"/*) continue ;;
    esac
    [ -e "$p" ] || continue
    case "$p/" in
      "$BOOK_BUILD"/*) rel=build/${p#"$BOOK_BUILD"/} ;;
      *) rel=src/${p#"$BOOK_SRC"/} ;;
    esac
    mkdir -p "$dir/$(dirname "$rel")"
    [ -e "$dir/$rel" ] || cp -a "$p" "$dir/$rel"
  done
  # The build tree lies inside the source tree: rewrite it first.
  sed -e "s#$BOOK_BUILD#$dir/build#g" -e "s#$BOOK_SRC#$dir/src#g" "$BOOK_DOXYFILE" > "$dir/Doxyfile"
  if grep -qF "$BOOK_SRC/" "$dir/Doxyfile"; then
    book_fail "the copied Doxyfile still names $BOOK_SRC: $(grep -F "$BOOK_SRC/" "$dir/Doxyfile" | head -n 1)"
  fi
  grep -qE '^WARN_AS_ERROR[[:space:]]*=[[:space:]]*YES' "$dir/Doxyfile" ||
    book_fail "book/Doxyfile.in does not set WARN_AS_ERROR = YES: a broken snippet would not fail the build"
}

# Run Doxygen on a copy made by book_copy, from the copied source tree (the
# book target runs it from the source tree). Output to LOG; returns its status.
book_doxygen() {
  local dir=$1 log=$2 status=0
  (cd "$dir/src" && doxygen "$dir/Doxyfile") > "$log" 2>&1 || status=$?
  return $status
}

# The generated HTML directory of a copy.
book_copy_html() {
  local dir=$1
  echo "${BOOK_HTML/#$BOOK_BUILD/$dir/build}"
}

# The text of an HTML file (or of a DOM dump), one line per block (a code
# line of a fragment is a <div class="line">), tags removed, entities
# decoded, blanks collapsed: what a reader sees, to compare with source lines.
book_html_text() {
  perl -CSD -0777 -ne '
    s{</div>|<br\s*/?>|</p>|</tr>|</li>|</h[1-6]>|</pre>}{\n}gi;
    s{<[^>]*>}{}gs;
    s{&#[xX]([0-9a-fA-F]+);}{chr(hex $1)}ge;
    s{&#([0-9]+);}{chr $1}ge;
    s{&lt;}{<}g; s{&gt;}{>}g; s{&quot;}{"}g; s{&apos;}{\x27}g; s{&nbsp;}{ }g; s{&amp;}{&}g;
    for (split /\n/) { s/\s+/ /g; s/^ //; s/ $//; print "$_\n" if length }
  ' "$1"
}

# A source line as book_html_text shows it: blanks collapsed, trimmed.
book_normalize() {
  sed -E 's/[[:space:]]+/ /g; s/^ //; s/ $//'
}

# The lines strictly between the two markers [NAME] of FILE.
book_snippet_body() {
  awk -v m="[$2]" 'index($0, m) { n++; next } n == 1' "$1"
}
