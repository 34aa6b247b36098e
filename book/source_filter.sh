#!/bin/sh
# source_filter.sh FILE - what the book shows of a source file (FILTER_PATTERNS
# and FILTER_SOURCE_PATTERNS in Doxyfile.in): the code a reader studies,
# without the exercise's scaffolding.
#   - "//! [marker]" becomes "// [marker]": a snippet marker, not a
#     documentation comment (\snippet still finds "[marker]").
#   - An exercise's hint, "// TODO(NN.k): ..." with its "//   ..." lines,
#     and the block markers "//{ TODO(NN.k)", "//} TODO(NN.k)" and the
#     skeleton's "//| ..." lines are left out (ARCHITECTURE.md, "Exercise
#     markers"): the chapter's file carries them for its exercise; the book's
#     snippets show the reference code alone.
exec awk '
  /^[[:space:]]*\/\/ TODO\([0-9][0-9]\.[0-9]+\):/ { hint = 1; next }
  hint && /^[[:space:]]*\/\/   / { next }
  { hint = 0 }
  /^[[:space:]]*\/\/[{}] TODO\([0-9][0-9]\.[0-9]+\)/ { next }
  /^[[:space:]]*\/\/\|/ { next }
  {
    if (match($0, /^[[:space:]]*\/\/!/)) {
      rest = substr($0, RLENGTH + 1)
      if (rest ~ /^[[:space:]]*\[/) $0 = substr($0, 1, RLENGTH - 1) rest
    }
    print
  }' "$1"
