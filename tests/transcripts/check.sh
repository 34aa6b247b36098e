#!/usr/bin/env bash
# check.sh - replay a golden transcript and compare it with what really happens.
#
#   check.sh BIN_DIR TRANSCRIPT            run and compare; exit 0 if all match,
#                                          1 (with a unified diff) if not
#   check.sh --update BIN_DIR TRANSCRIPT   run and rewrite TRANSCRIPT from the
#                                          real output
#
# A transcript is what a terminal would show:
#
#   $ ch01 run --hostname box -- hostname
#   box
#   $ ch01 run -- nosuchcmd; echo "exit $?"
#   ch01: exec "nosuchcmd": executable file not found in $PATH
#   exit 127
#
# A line that starts with "$ " is a command. Each command runs in its own
# `bash -c`, with BIN_DIR first in PATH, stdin from /dev/null, in an empty
# scratch directory, with LC_ALL=C and MINIDOCKER_ROOT in that scratch
# directory. All the commands of one transcript share that directory, so a
# command may leave a file there for the next (chapter 03 copies the test
# rootfs there with `cp -a "$(dirname "$(command -v ch03)")/../rootfs" rootfs`);
# it is removed at the end. The lines after it, up to the next "$ " line, are its expected
# stdout and stderr, together. Blank lines at the end of a block are ignored.
# A command's exit status is not checked: write `; echo "exit $?"` to show it.
#
# Some output depends on the kind of machine, not on the program: chapter 02's
# cgroup files are different on a cgroup v1, hybrid or v2 host. A command line
# that ends in the comment "# host check" describes the machine the transcript
# was recorded on:
#
#   $ stat -fc %T /sys/fs/cgroup /sys/fs/cgroup/unified  # host check
#   tmpfs
#   cgroup2fs
#
# When its output differs here, the rest cannot match on this machine either:
# check.sh says why and skips the transcript (exit 77) instead of failing.
#
# Before comparing, both sides are masked so that numbers which change from
# run to run do not count (see mask() below): process ids in the trace and in
# `ns` tables, namespace inodes ("net:[4026532008]" -> "net:[INODE]"),
# container ids (64 or 12 hex digits), the directory that holds BIN_DIR and
# the test rootfs (BIN_DIR/.., such as "/home/me/minidocker/build", becomes
# "<build>"; so does whatever comes before "/rootfs" in a quoted path, so that
# a transcript recorded in another clone still matches), the pid written to a
# cgroup.procs file and the CPU and memory-node lists written to cpuset files.
# From chapter 04 on also: the scratch directory ("/tmp/tmp.Xb3kQ9aZ1c" becomes
# "<scratch>", so the store in MINIDOCKER_ROOT is "<scratch>/root"), the random
# names of half-made layers in the store's tmp/ ("<scratch>/root/tmp/XXXXXX"),
# the 16-hex short layer links (l/<16 hex>), the age and size columns of
# `images` ("3 seconds ago 1.98MB" becomes "<AGO> <SIZE>": the size is the host
# busybox's) and the size of the init layer's resolv.conf in the trace (it is
# made from the host's). From chapter 05 on also: times in RFC 3339 form
# ("2025-11-28T00:45:56.207443173Z" becomes "<TIME>"), as in `volume inspect`.
# From chapter 06 on also: the host pids that exec, stop, kill and rm print
# ("/proc/4242/ns/net", "fork() = 4242", "setsid() = 4242", "pidfd of 4242",
# "(pid 4242)"), the non-zero "Pid" and "MonitorPid" of `inspect`'s JSON (a
# 0 stays: it means "not running"), and the durations of `ps`
# ("Up 3 seconds", "2 minutes ago" become "Up <DURATION>", "<AGO>").
# The trace lines
# about the shared parent cgroup (mkdir, rmdir and cpuset of ".../minidocker")
# are left out on both sides: whether they appear depends on whether another
# container is running at the same moment. Runs of spaces count as one, so
# column padding does not matter either. The transcript itself keeps the real
# numbers: it is what the book shows.
#
# The commands start containers, so this needs root; without root it prints
# why and exits 77 (ctest's SKIP_RETURN_CODE).
set -euo pipefail

usage() {
    echo "usage: $0 [--update] BIN_DIR TRANSCRIPT" >&2
    exit 2
}

update=false
if [[ ${1:-} == --update ]]; then
    update=true
    shift
fi
[[ $# -eq 2 ]] || usage
bin_dir=$(cd "$1" && pwd)
transcript=$2
[[ -f $transcript ]] || { echo "$0: no such transcript: $transcript" >&2; exit 2; }

if [[ $EUID -ne 0 ]]; then
    echo "$0: skipped $transcript: its commands start containers, which needs root"
    exit 77
fi

# Seconds one command may take before it counts as hung.
command_timeout=60

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# The directory above BIN_DIR holds the test rootfs (BIN_DIR/../rootfs), and
# the runtime prints its real path (--rootfs is resolved with realpath()).
# sed_literal TEXT: TEXT as an extended regular expression matching itself.
sed_literal() {
    printf '%s' "$1" | sed -e 's/[][\/.*^$+?(){}|#]/\\&/g'
}
build_dir_logical=$(sed_literal "$(cd "$bin_dir/.." && pwd -L)")
build_dir_physical=$(sed_literal "$(cd "$bin_dir/.." && pwd -P)")
# The scratch directory holds the store (MINIDOCKER_ROOT), whose path the
# runtime prints from chapter 04 on. The transcript recorded another mktemp
# name ("tmp." and ten letters or digits), hence the second, general pattern.
scratch_physical=$(sed_literal "$(cd "$scratch" && pwd -P)")

# mask: reads text, writes it with the varying parts replaced by fixed words.
mask() {
    sed -E \
        -e "s#${build_dir_physical}([^A-Za-z0-9_.-]|\$)#<build>\\1#g" \
        -e "s#${build_dir_logical}([^A-Za-z0-9_.-]|\$)#<build>\\1#g" \
        -e 's#"/[^"]*/rootfs"#"<build>/rootfs"#g' \
        -e "s#${scratch_physical}([^A-Za-z0-9_.-]|\$)#<scratch>\\1#g" \
        -e 's#/([^/[:space:]"]+/)*tmp\.[A-Za-z0-9]{10}([^A-Za-z0-9_.-]|$)#<scratch>\2#g' \
        -e 's#(/tmp/commit-)[A-Za-z0-9]{6}#\1XXXXXX#g' \
        -e 's#(<scratch>/root/tmp/)[A-Za-z0-9]{6}#\1XXXXXX#g' \
        -e 's/(PID 1 = )[0-9]+/\1<PID>/g' \
        -e 's/(and a link per applet) +[0-9.]+(B|kB|MB|GB)/\1 <SIZE>/' \
        -e 's/(clone3?\([^)]*\) = )[0-9]+/\1<PID>/g' \
        -e 's/waitpid\([0-9]+\) = [0-9]+/waitpid(<PID>) = <PID>/g' \
        -e 's/kill\([0-9]+,/kill(<PID>,/g' \
        -e 's/PID [0-9]{2,}/PID <PID>/g' \
        -e 's/"(pid|vs)": [0-9]+/"\1": <PID>/g' \
        -e 's/([a-z_]+):\[[0-9]+\]/\1:[INODE]/g' \
        -e 's/"inode": [0-9]+/"inode": <INODE>/g' \
        -e '/\] (mkdir|rmdir)\("[^"]*\/minidocker"/d' \
        -e '/\] write\("[^"]*\/minidocker\/cpuset\.(cpus|mems)"/d' \
        -e 's/(cgroup\.procs", ")[0-9]+"\) = [0-9]+/\1<PID>") = <N>/g' \
        -e 's/(cpuset\.(cpus|mems)", ")[0-9,-]*"\) = [0-9]+/\1<LIST>") = <N>/g' \
        -e 's/\b[0-9a-f]{64}\b/<ID>/g' \
        -e 's/\b[0-9a-f]{12}\b/<ID12>/g' \
        -e 's/\b[0-9a-f]{16}\b/<ID16>/g' \
        -e 's/\b(Less than a second|[0-9]+ (second|minute|hour|day)s?) ago +[0-9.]+(B|kB|MB|GB|TB)$/<AGO> <SIZE>/' \
        -e 's/(init layer: \/etc\/resolv\.conf \()[0-9]+ bytes/\1<N> bytes/' \
        -e 's/\bUp (Less than a second|[0-9]+ (second|minute|hour|day)s?)\b/Up <DURATION>/g' \
        -e 's/\b(Less than a second|[0-9]+ (second|minute|hour|day)s?) ago\b/<AGO>/g' \
        -e 's#/proc/[0-9]+/#/proc/<PID>/#g' \
        -e 's/\b(fork|setsid)\(\) = [0-9]+/\1() = <PID>/g' \
        -e 's/pidfd of [0-9]+/pidfd of <PID>/g' \
        -e 's/\(pid [0-9]+\)/(pid <PID>)/g' \
        -e 's/"(Pid|MonitorPid)":( ?)[1-9][0-9]*/"\1":\2<PID>/g' \
        -e 's/\b[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})/<TIME>/g' \
        -e 's/ {2,}/ /g' \
        -e 's/ +$//'
}

# Reads the transcript into two arrays: commands[i] and expected[i].
commands=()
expected=()
line_number=0
while IFS= read -r line || [[ -n $line ]]; do
    line_number=$((line_number + 1))
    if [[ $line == '$ '* ]]; then
        commands+=("${line#'$ '}")
        expected+=("")
    elif [[ ${#commands[@]} -eq 0 ]]; then
        [[ -z $line ]] && continue
        echo "$transcript:$line_number: text before the first \"\$ \" command line" >&2
        exit 2
    else
        last=$((${#commands[@]} - 1))
        expected[last]+="$line"$'\n'
    fi
done <"$transcript"
if [[ ${#commands[@]} -eq 0 ]]; then
    echo "$transcript: no commands (lines starting with \"\$ \")" >&2
    exit 2
fi

# run_command CMD: prints CMD's stdout and stderr as they interleave.
run_command() {
    local rc=0
    mkdir -p "$scratch/work" "$scratch/root"
    (
        cd "$scratch/work"
        PATH="$bin_dir:$PATH" LC_ALL=C MINIDOCKER_ROOT="$scratch/root" \
            timeout --kill-after=5 "$command_timeout" bash -c "$1" </dev/null 2>&1
    ) || rc=$?
    if [[ $rc -eq 124 ]]; then
        echo "check.sh: timed out after ${command_timeout}s"
    fi
    return 0
}

# Strips trailing newlines (as $(...) does for the actual output).
trim() {
    local text=$1
    while [[ $text == *$'\n' ]]; do
        text=${text%$'\n'}
    done
    printf '%s' "$text"
}

want="$scratch/expected"
got="$scratch/actual"
new="$scratch/new"
: >"$want"
: >"$got"
: >"$new"
for i in "${!commands[@]}"; do
    command=${commands[i]}
    output=$(run_command "$command")
    text=$(trim "${expected[i]}")
    printf '$ %s\n' "$command" | tee -a "$want" "$got" >>"$new"
    if [[ -n $output ]]; then
        printf '%s\n' "$output" >>"$new"
        printf '%s\n' "$output" | mask >>"$got"
    fi
    if [[ -n $text ]]; then
        printf '%s\n' "$text" | mask >>"$want"
    fi
    if ! $update && [[ $command == *'# host check' ]] &&
        [[ $(printf '%s\n' "$text" | mask) != $(printf '%s\n' "$output" | mask) ]]; then
        echo "$0: skipped $transcript: it was recorded on another kind of machine."
        echo "There, \`$command\` printed:"
        printf '%s\n' "$text"
        echo "here it prints:"
        printf '%s\n' "$output"
        exit 77
    fi
done

if $update; then
    cp "$new" "$transcript.tmp.$$"
    mv "$transcript.tmp.$$" "$transcript"
    echo "updated $transcript (${#commands[@]} commands)"
    exit 0
fi

if diff -u --label "expected: $transcript (masked)" --label "actual: $bin_dir (masked)" "$want" "$got"; then
    echo "ok: $transcript (${#commands[@]} commands)"
    exit 0
fi
echo "FAILED: $transcript: real output differs (- expected, + actual)." >&2
echo "If the change is intended: $0 --update $bin_dir $transcript" >&2
exit 1
