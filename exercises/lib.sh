# shellcheck shell=bash
# lib.sh - sourced by check.sh, try.sh and grade.sh: where exercise NN lives.
#
#   . "$repo/exercises/lib.sh"
#   find_exercise 02    # sets exercise_dir, chapter_dir, skeleton_dir, readme
#
# Needs $repo (the top of the repository) and a function die that prints its
# arguments and exits.
# shellcheck disable=SC2034 # the variables it sets are for the caller
find_exercise() {
  local nn=$1
  local -a exercise_dirs chapter_dirs
  shopt -s nullglob
  exercise_dirs=("$repo"/exercises/"$nn"-*/)
  chapter_dirs=("$repo"/chapters/"$nn"-*/)
  shopt -u nullglob
  [ ${#exercise_dirs[@]} -eq 1 ] || die "expected one folder exercises/$nn-*, found ${#exercise_dirs[@]}"
  [ ${#chapter_dirs[@]} -eq 1 ] || die "expected one folder chapters/$nn-*, found ${#chapter_dirs[@]}"
  exercise_dir=${exercise_dirs[0]%/}
  chapter_dir=${chapter_dirs[0]%/}
  skeleton_dir=$exercise_dir/skeleton
  readme=$exercise_dir/README.md
}
