#!/usr/bin/env bash
# leak_check.sh snapshot|compare DIR
#
# The test suite must leave the machine as it found it. `snapshot` records the
# host's mounts, cgroup directories (on every hierarchy), named network
# namespaces, runtime processes and test state dirs; `compare` records them
# again and fails, showing the difference, if anything was added.
# CTest runs snapshot before the first root test and compare after the last.
set -euo pipefail
mode=$1
dir=$2
mkdir -p "$dir"

record() {
  local out=$1
  {
    echo "# mounts (mount point, type, source)"
    awk '{ for (i = 7; $i != "-"; i++); print $5, $(i+1), $(i+2) }' /proc/self/mountinfo | sort
    echo "# cgroup directories (the machine's own process_api tree left out)"
    # (The machine's own cgroups come and go while find walks: ignore its
    # complaints about directories that vanished.)
    { find /sys/fs/cgroup -mindepth 1 -name 'process_api*' -prune -o -type d -print 2>/dev/null || true; } | sort
    echo "# named network namespaces"
    ip netns list 2>/dev/null | sort || true
    echo "# runtime and probe processes"
    pgrep -a -f '/bin/(ch0[0-9]|probe|minidocker)( |$)' | grep -v leak_check | awk '{ $1 = ""; print }' | sort || true
    echo "# test state directories"
    { find /tmp -maxdepth 1 -name 'minidocker-t*' 2>/dev/null || true; } | sort
  } > "$out"
}

case $mode in
  snapshot)
    record "$dir/before"
    ;;
  compare)
    # Processes that were just killed may take a moment to be reaped.
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      record "$dir/after"
      added=$(comm -13 <(sort -u "$dir/before") <(sort -u "$dir/after"))
      if [ -z "$added" ]; then
        echo "nothing left behind"
        exit 0
      fi
      sleep 0.5
    done
    echo "left behind by the tests:"
    echo "$added"
    exit 1
    ;;
  *)
    echo "usage: $0 snapshot|compare DIR" >&2
    exit 2
    ;;
esac
