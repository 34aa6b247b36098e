# shellcheck shell=bash
# lib.sh - sourced by check.sh, try.sh, grade.sh and skeleton.sh: where
# exercise NN lives, and how its TODO blocks are marked in the chapter's code.
#
#   . "$repo/exercises/lib.sh"
#   find_exercise 02    # sets exercise_dir, chapter_dir, readme, feature_files
#   todo_markers FILE [NN]               # the TODO markers of FILE, checked
#   marker_problems REFERENCE SUBMISSION # moved or deleted markers, in words
#
# find_exercise needs $repo (the top of the repository) and a function die
# that prints its arguments and exits; the marker functions need neither.
#
# The markers (ARCHITECTURE.md, section Exercises). The chapter's file is the
# one source of its exercise: each solution block of TODO(NN.k) is between
#
#     // TODO(NN.k): the hint, for the student and the reader of the reference
#     //{ TODO(NN.k)
#     //| throw UsageError("TODO(NN.k): ...");   <- the skeleton's line(s)
#     solution();                               <- the reference's line(s)
#     //} TODO(NN.k)
#
# Inside a block a line "//| code" (or "//|" for an empty line) is the
# skeleton's, every other line the reference's; marker lines stand alone,
# spelled exactly so. skeleton.sh makes the skeleton from it: solution lines
# out, "//| " taken off the stub lines, everything else as it is.
# shellcheck disable=SC2034 # the variables it sets are for the caller
find_exercise() {
  local nn=$1 f
  local -a exercise_dirs chapter_dirs
  shopt -s nullglob
  exercise_dirs=("$repo"/exercises/"$nn"-*/)
  chapter_dirs=("$repo"/chapters/"$nn"-*/)
  shopt -u nullglob
  [ ${#exercise_dirs[@]} -eq 1 ] || die "expected one folder exercises/$nn-*, found ${#exercise_dirs[@]}"
  [ ${#chapter_dirs[@]} -eq 1 ] || die "expected one folder chapters/$nn-*, found ${#chapter_dirs[@]}"
  exercise_dir=${exercise_dirs[0]%/}
  chapter_dir=${chapter_dirs[0]%/}
  readme=$exercise_dir/README.md
  skeleton_dir=$exercise_dir/skeleton  # until the tools generate their skeletons
  # The student's files: the chapter's files with a TODO(NN.k) block.
  feature_files=()
  for f in "$chapter_dir"/*.cpp; do
    if grep -qE "^[[:space:]]*//[{] TODO\\($nn\\.[0-9]+\\)" "$f"; then
      feature_files+=("$(basename "$f")")
    fi
  done
}

# todo_markers FILE [NN]: prints FILE's TODO markers in order, one line each,
# fields separated by a tab:
#   LINE  begin|end  NN.k  ANCHOR
# ANCHOR is the nearest line of code (not blank, not a comment) outside every
# block: above a begin marker, below an end marker ("(start of file)",
# "(end of file)"), without its indentation: marker_problems compares them.
# Prints "FILE:LINE: problem" on stderr and returns 1 when a marker is not
# well formed: a begin inside a block, an end without its begin or with
# another number, a block never closed, a "//|" line outside a block, a
# line that starts like a marker but is not spelled as one, or (with NN) a
# number of another chapter.
todo_markers() {
  awk -v file="$1" -v nn="${2:-}" '
    function bad(msg) { bad_at(NR, msg) }
    function bad_at(line, msg) { printf "%s:%d: %s\n", file, line, msg > "/dev/stderr"; status = 1 }
    function trimmed(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }
    function code(s) { s = trimmed(s); return s != "" && substr(s, 1, 2) != "//" && substr(s, 1, 2) != "/*" }
    BEGIN { open = ""; anchor = "(start of file)"; pending = 0 }
    {
      t = $0
      sub(/^[ \t]+/, "", t)
      kind = substr(t, 1, 3)
      if (t ~ /^\/\/[ \t]+[{}|][ \t]*TODO[(]/) bad("almost a marker: \"" trimmed($0) "\" (no blank between \"//\" and the brace)")
      if (kind == "//|") {
        if (t != "//|" && substr(t, 4, 1) != " ") bad("a skeleton line is \"//| code\": a blank after the bar")
        if (open == "") bad("a \"//|\" line outside a TODO block")
        next
      }
      if (kind == "//{" || kind == "//}") {
        if (t !~ /^\/\/[{}] TODO[(][0-9][0-9][.][0-9]+[)][ \t]*$/) {
          bad("a marker is \"" kind " TODO(NN.k)\" alone on its line, not \"" trimmed($0) "\"")
          next
        }
        num = t
        sub(/^\/\/[{}] TODO[(]/, "", num)
        sub(/[)].*$/, "", num)
        if (nn != "" && substr(num, 1, 2) != nn) bad("TODO(" num ") is not a TODO of chapter " nn)
        if (kind == "//{") {
          if (open != "") bad("TODO(" num ") begins inside the block of TODO(" open "), which has no end yet")
          open = num
          start = NR
          printf "%d\tbegin\t%s\t%s\n", NR, num, anchor
        } else {
          if (open == "") bad("TODO(" num ") ends a block that never began")
          else if (open != num) bad("TODO(" num ") ends the block of TODO(" open ")")
          open = ""
          ends[++pending] = NR "\tend\t" num
        }
        next
      }
      if (open == "" && code($0)) {
        anchor = trimmed($0)
        for (i = 1; i <= pending; i++) printf "%s\t%s\n", ends[i], anchor
        pending = 0
      }
    }
    END {
      for (i = 1; i <= pending; i++) printf "%s\t%s\n", ends[i], "(end of file)"
      if (open != "") { bad_at(start, "the block of TODO(" open ") never ends (no \"//} TODO(" open ")\")") }
      exit status
    }' "$1"
}

# marker_problems REFERENCE SUBMISSION: says, one line each, where the TODO
# markers of SUBMISSION (a student's file) are not those of REFERENCE (the
# chapter's file): malformed, deleted, added, or moved (its ANCHOR, the code
# next to it outside the blocks, is not the reference's). Prints nothing and
# returns 0 when they agree; returns 1 otherwise. A student writes inside the
# blocks; code outside them may change too, but the markers must stay where
# they are, for the tools that read a submission block by block.
marker_problems() {
  local ref=$1 sub=$2 name=${3:-$(basename "$2")} status=0
  local ref_list sub_list errors
  ref_list=$(todo_markers "$ref" 2>/dev/null) || true
  if ! sub_list=$(todo_markers "$sub" 2>&1 >/dev/null); then
    errors=$sub_list
    printf '%s\n' "$errors" | sed "s|^$sub:|$name: line |"
    status=1
  fi
  sub_list=$(todo_markers "$sub" 2>/dev/null) || true
  # Compare the two sequences of "begin|end NN.k" (with their anchors).
  awk -F'\t' -v name="$name" '
    FILENAME == ARGV[1] { rk[++rn] = $2 " " $3; ra[rn] = $4; next }
    { sk[++sn] = $2 " " $3; sa[sn] = $4; sl[sn] = $1 }
    function what(k) { split(k, p, " "); return (p[1] == "begin" ? "start" : "end") " marker of TODO(" p[2] ")" }
    END {
      status = 0
      for (i = 1; i <= rn; i++) want[rk[i]]++
      for (i = 1; i <= sn; i++) have[sk[i]]++
      for (k in want) if (have[k] + 0 < want[k]) {
        printf "%s: the %s is gone (%d of %d left): put it back where the skeleton has it\n", name, what(k), have[k] + 0, want[k]
        status = 1
      }
      for (k in have) if (want[k] + 0 < have[k]) {
        printf "%s: one %s too many (%d, the chapter has %d)\n", name, what(k), have[k], want[k] + 0
        status = 1
      }
      if (status) exit 1
      for (i = 1; i <= rn; i++) {
        if (rk[i] != sk[i]) {
          printf "%s: line %d: the markers are out of order: the %s is where the chapter has the %s\n", name, sl[i], what(sk[i]), what(rk[i])
          exit 1
        }
        if (ra[i] != sa[i]) {
          printf "%s: line %d: the %s moved: it is next to \"%s\", the chapter has it next to \"%s\"\n", name, sl[i], what(sk[i]), sa[i], ra[i]
          status = 1
        }
      }
      exit status
    }' <(printf '%s\n' "$ref_list" | sed '/^$/d') <(printf '%s\n' "$sub_list" | sed '/^$/d') || status=1
  return $status
}
