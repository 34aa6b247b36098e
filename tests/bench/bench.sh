#!/usr/bin/env bash
# bench.sh [--quick] [-o RESULTS.md] - minidocker against crun, runc and the
# kernel's floor, side by side in one run, as root:
#
#   tests/bench/bench.sh                 # about 10 minutes; writes tests/bench/results.md
#   tests/bench/bench.sh --quick         # fewer runs, a smaller commit: about 3 minutes
#
# What it measures (hyperfine, each group in one invocation so the machine's
# noise hits every command of a group alike):
#   1. start-to-exit of /bin/true with full isolation (namespaces uts pid mnt
#      ipc net cgroup; memory, pids and cpu limits): minidocker run --rm,
#      crun run, runc run, the floor (unshare of the same namespaces), and
#      the floor of this design (overlay_floor.c: the kernel calls of an
#      overlay root, an init layer, records and cgroups, and nothing else);
#      then the same with the host's network (--net host, no network namespace)
#   1a. chapter 09's privileges: ch09 run --rm against ch08 run --rm
#   2. exec of /bin/true into a running container: minidocker exec, nsenter -a,
#      runc exec
#   3. commit of a read-write layer of 5,000 files (200 MB), against cp -a and
#      tar -c of the same folder
#   4. 100 containers started detached, ps, rm -f: times, the monitors' memory
#
# Peers run on the same files: the OCI bundle's rootfs is a copy of the
# busybox image's one layer, with the same namespaces and limits in its
# config.json. crun 1.8 refuses a hybrid cgroup host (cgroup v1 controllers
# plus a cgroup2 mount at /sys/fs/cgroup/unified), so on such a host the
# start groups run, every command alike, in a private mount namespace in
# which that mount is hidden: all see cgroup v1 alone. The results page says so.
#
# Results: a Markdown table per group (median, spread as min-max, ratio of
# ours to each peer), written to RESULTS.md (default tests/bench/results.md,
# which the book includes) and printed. Everything is made in a temporary
# folder and removed at the end, with the containers and cgroups it made.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
out=$repo/tests/bench/results.md
quick=false
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=true ;;
    -o) out=$(realpath -m "$2"); shift ;;
    *) echo "usage: $0 [--quick] [-o RESULTS.md]" >&2; exit 2 ;;
  esac
  shift
done
if [ "$(id -u)" -ne 0 ]; then
  echo "bench.sh: run me as root: every runtime here makes namespaces and cgroups" >&2
  exit 2
fi

# ------------------------------------------------------------------ setup
"$repo/scripts/setup.sh" > /dev/null
if [ ! -x "$repo/build/bin/minidocker" ]; then
  "$repo/scripts/build.sh" build > /dev/null
fi
cmake --build "$repo/build" --target minidocker ch08 > /dev/null
md=$repo/build/bin/minidocker

work=$(mktemp -d /tmp/minidocker-bench.XXXXXX)
# The store where minidocker's default one is, under /var/lib, not among
# the scratch files. On an ext4 without a journal (this VM's root), the
# kernel will not reuse an inode deleted in the last minute (five, if its
# block is not yet written back), and every new file steps over those, one
# cache lookup each (recently_deleted() in fs/ext4/ialloc.c; perf shows it
# in a start). So where many files were just deleted (an earlier run's
# commit data, a test run), creating one is slow for minutes: we measured
# a mkdir at 400-500 us in /tmp against 20 us in /var/lib, at one moment.
store=$(mktemp -d /var/lib/minidocker-bench.XXXXXX)
export MINIDOCKER_ROOT=$store/root
ids=()
cleanup() {
  set +e
  for id in "${ids[@]}"; do
    runc kill "$id" KILL > /dev/null 2>&1
    runc delete -f "$id" > /dev/null 2>&1
  done
  "$md" ps -aq 2> /dev/null | xargs -r "$md" rm -f > /dev/null 2>&1
  umount "$work/tmpfs" 2> /dev/null
  rm -rf "$work" "$store"
}
trap cleanup EXIT

if $quick; then
  runs_start=15 runs_exec=20 runs_commit=3 files=1000 many=30
else
  runs_start=40 runs_exec=60 runs_commit=8 files=5000 many=100
fi

# One busybox root filesystem for everyone: the image's only layer.
"$md" run --rm busybox true
layer=$(find "$MINIDOCKER_ROOT/layers" -mindepth 1 -maxdepth 1 -type d | head -1)
bundle=$work/bundle
mkdir -p "$bundle"
cp -a "$layer" "$bundle/rootfs"

# The OCI configuration: crun's default, made to match `minidocker run`:
# no terminal, a writable root, the cgroup namespace too, and the limits.
(cd "$bundle" && crun spec)
jq '.process.terminal = false
    | .process.args = ["/bin/true"]
    | .root.readonly = false
    | .linux.namespaces += [{"type": "cgroup"}]
    | .linux.resources = {"memory": {"limit": 67108864},
                          "pids": {"limit": 1024},
                          "cpu": {"quota": 100000, "period": 100000}}' \
  "$bundle/config.json" > "$bundle/config.tmp"
mv "$bundle/config.tmp" "$bundle/config.json"
# The same without a network namespace: --net host.
# (runc wants the root as an absolute path, not a symbolic link.)
mkdir -p "$work/bundle-host"
jq --arg root "$bundle/rootfs" '.root.path = $root | .linux.namespaces |= map(select(.type != "network"))' \
  "$bundle/config.json" > "$work/bundle-host/config.json"

hybrid=false
if [ "$(stat -fc %T /sys/fs/cgroup/unified 2> /dev/null)" = cgroup2fs ]; then
  hybrid=true
fi
# crun 1.8 refuses a hybrid host. Rather than wrap crun alone (a wrapper
# that would count in its time), the start groups run all their commands in
# one private mount namespace in which the cgroup2 mount is hidden: every
# runtime there sees, and uses, cgroup v1 alone.
v1_view=()
if $hybrid; then
  v1_view=(unshare --mount --propagation private sh -c 'umount /sys/fs/cgroup/unified && exec "$@"' sh)
fi
cat > "$work/crun-run" << 'EOF'
#!/bin/sh
# crun-run BUNDLE
cd "$1" && exec crun run "bench-crun-$$"
EOF
cat > "$work/runc-run" << 'EOF'
#!/bin/sh
# runc-run BUNDLE
cd "$1" && exec runc run "bench-runc-$$"
EOF
chmod +x "$work/crun-run" "$work/runc-run"
# The floor of this design: see the top of overlay_floor.c. It speaks
# cgroup v1 only: on a host without, its row is left out.
cc -O2 -o "$work/overlay_floor" "$repo/tests/bench/overlay_floor.c"
mkdir -p "$store/floor"
design_floor=() design_floor_label=()
if "${v1_view[@]}" "$work/overlay_floor" "$layer" "$store/floor" 2> "$work/floor.err"; then
  design_floor=("$work/overlay_floor $layer $store/floor")
  design_floor_label=("floor of this design: \`overlay_floor\` (the same namespaces, an overlay root with an init layer, records, cgroups; no runtime)")
else
  echo "bench.sh: the row of overlay_floor is left out: $(cat "$work/floor.err")" >&2
fi

# ------------------------------------------------------------ measuring
# hyperfine writes JSON; group() turns it into Markdown rows.
export_dir=$work/json
mkdir -p "$export_dir"

# stats JSON INDEX: the median, min, max and count of command INDEX's times.
stats() {
  jq -r --argjson i "$2" '.results[$i].times | sort | [ (if length % 2 == 1 then .[length/2|floor] else (.[length/2-1] + .[length/2]) / 2 end), .[0], .[-1], length ] | @tsv' "$1"
}
ms() { awk -v s="$1" 'BEGIN { printf "%.1f ms", s * 1000 }'; }
sec() { awk -v s="$1" 'BEGIN { printf "%.2f s", s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# group TITLE JSON UNIT LABEL... : a table of every command of one hyperfine
# run; the first command is ours, and each row says ours / that one.
group() {
  local title=$1 json=$2 unit=$3
  shift 3
  local -a labels=("$@")
  read -r ours_median _ < <(stats "$json" 0)
  {
    echo
    echo "### $title"
    echo
    echo "| command | median | min – max | runs | minidocker / this |"
    echo "|---------|--------|-----------|------|-------------------|"
    local i=0
    for label in "${labels[@]}"; do
      read -r median lo hi n < <(stats "$json" "$i")
      echo "| $label | $($unit "$median") | $($unit "$lo") – $($unit "$hi") | $n | $(ratio "$ours_median" "$median") |"
      i=$((i + 1))
    done
  } >> "$work/tables.md"
}

# bench [--v1-view] HYPERFINE_OPTION... -- CMD...: hyperfine, after running
# each command once, so that a command that fails says why (hyperfine alone
# only says "non-zero exit"). --v1-view: all of it in v1_view (see above).
bench() {
  local -a opts=() view=()
  if [ "$1" = --v1-view ]; then
    view=("${v1_view[@]}")
    shift
  fi
  while [ "${1:-}" != "--" ]; do
    opts+=("$1")
    shift
  done
  shift
  local cmd output
  for cmd in "$@"; do
    if ! output=$("${view[@]}" sh -c "$cmd" 2>&1 < /dev/null); then
      echo "bench.sh: this command fails, so it cannot be measured: $cmd" >&2
      echo "$output" | tail -5 >&2
      exit 1
    fi
  done
  "${view[@]}" hyperfine -N --style none "${opts[@]}" "$@" > /dev/null
}

# The same start with the state directory in memory: what the container's
# files on disk (its directories, init layer, state) cost.
mkdir -p "$work/tmpfs"
mount -t tmpfs -o size=256m minidocker-bench "$work/tmpfs"
env MINIDOCKER_ROOT="$work/tmpfs/root" "$md" run --rm busybox true

echo "bench.sh: 1. start-to-exit of /bin/true (${runs_start} runs each)"
limits=(-m 64m --pids-limit 1024 --cpus 1)
bench --v1-view -w 5 -r "$runs_start" --export-json "$export_dir/start.json" -- \
  "$md run --rm ${limits[*]} busybox true" \
  "$work/crun-run $bundle" \
  "$work/runc-run $bundle" \
  "unshare --mount --uts --ipc --pid --net --cgroup --fork true" \
  "${design_floor[@]}" \
  "env MINIDOCKER_ROOT=$work/tmpfs/root $md run --rm ${limits[*]} busybox true"
group "Start to exit of /bin/true, full isolation" "$export_dir/start.json" ms \
  "\`minidocker run --rm -m 64m --pids-limit 1024 --cpus 1 busybox true\`" \
  "\`crun run\` (same namespaces and limits)" \
  "\`runc run\` (same namespaces and limits)" \
  "floor: \`unshare --mount --uts --ipc --pid --net --cgroup --fork true\`" \
  "${design_floor_label[@]}" \
  "the same \`minidocker run --rm\`, with its state on a tmpfs instead of $(findmnt -no FSTYPE -T "$store")"

bench --v1-view -w 5 -r "$runs_start" --export-json "$export_dir/start-host.json" -- \
  "$md run --rm --net host ${limits[*]} busybox true" \
  "$work/crun-run $work/bundle-host" \
  "$work/runc-run $work/bundle-host" \
  "unshare --mount --uts --ipc --pid --cgroup --fork true"
group "Start to exit of /bin/true with the host's network (\`--net host\`)" "$export_dir/start-host.json" ms \
  "\`minidocker run --rm --net host ... busybox true\`" \
  "\`crun run\`, no network namespace" \
  "\`runc run\`, no network namespace" \
  "floor: \`unshare --mount --uts --ipc --pid --cgroup --fork true\`"

echo "bench.sh: 1a. what chapter 09's privileges cost a start (${runs_start} runs each)"
# Capabilities, the seccomp filter (compiled once, then read from the cache),
# the masks and the device rules, against the same start without them.
bench -w 20 -r "$runs_start" --export-json "$export_dir/start-ch09.json" -- \
  "$repo/build/bin/ch09 run --rm busybox true" \
  "$repo/build/bin/ch08 run --rm busybox true" \
  "$repo/build/bin/ch09 run --rm --privileged busybox true"
group "Start to exit of /bin/true: chapter 09 against chapter 08" "$export_dir/start-ch09.json" ms \
  "\`ch09 run --rm busybox true\` (Docker's capabilities, seccomp, masks, devices)" \
  "\`ch08 run --rm busybox true\` (root with every capability)" \
  "\`ch09 run --rm --privileged busybox true\` (no filter, no masks, no device rules)"

echo "bench.sh: 1b. where a start spends its time (${runs_start} traced runs)"
# MINIDOCKER_TRACE_TIME=1 puts the time since tracing began before each
# --trace line. The milestones of each run, then the median of each.
cat > "$work/milestones.awk" << 'EOF'
# The time (first field) of each milestone line of one traced start.
/\[04 overlay\] image / && !a { a = $1 }
/\[08 network\] network:/ && !b { b = $1 }
/\] clone3?\(/ && !c { c = $1; d = $1 }
/tasks", "0"\) =/ { d = $1 }
/\] execvp\(/ { e = $1 }
/\] waitpid\(/ { f = $1 }
{ g = $1 }
END { print a, b, c, d, e, f, g }
EOF
cat > "$work/traced-starts" << 'EOF'
#!/bin/sh
# traced-starts N MINIDOCKER AWK: N traced starts, one line of milestones each
for i in $(seq "$1"); do
  MINIDOCKER_TRACE_TIME=1 "$2" --trace run --rm -m 64m --pids-limit 1024 --cpus 1 busybox true 2>&1 > /dev/null |
    awk -f "$3"
done
EOF
chmod +x "$work/traced-starts"
"${v1_view[@]}" "$work/traced-starts" "$runs_start" "$md" "$work/milestones.awk" > "$work/phases.txt"
median_of() { cut -d' ' -f"$1" "$work/phases.txt" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
{
  echo
  echo "### Where a start spends its time"
  echo
  echo "The same \`run --rm -m 64m --pids-limit 1024 --cpus 1 busybox true\` with \`--trace\`"
  echo "and \`MINIDOCKER_TRACE_TIME=1\`, $runs_start runs, the median of each milestone. The"
  echo "clock starts when tracing does (after the runtime was exec'd and read its"
  echo "command line), and writing the trace costs a little too."
  echo
  echo "| milestone (the trace line) | since start | this step |"
  echo "|----------------------------|-------------|-----------|"
  prev=0
  i=1
  for label in "options checked, image found (\`[04 overlay] image\`)" \
    "folder, init layer, records made (\`[08 network] network:\`)" \
    "cgroups made, child cloned (\`clone3(\`)" \
    "child in its v1 cgroups (last \`tasks\`)" \
    "root made, command started (\`execvp(\`)" \
    "command exited (\`waitpid(\`)" \
    "cgroups and folder removed (last line)"; do
    m=$(median_of "$i")
    echo "| $label | $(ms "$(awk -v x="$m" 'BEGIN { print x / 1000 }')") | $(ms "$(awk -v x="$m" -v p="$prev" 'BEGIN { print (x - p) / 1000 }')") |"
    prev=$m
    i=$((i + 1))
  done
} >> "$work/tables.md"

echo "bench.sh: 2. exec into a running container (${runs_exec} runs each)"
"$md" run -d --name bench-exec "${limits[@]}" busybox sleep 100000 > /dev/null
pid=$("$md" inspect --format '{{.State.Pid}}' bench-exec)
mkdir -p "$work/bundle-sleep"
jq --arg root "$bundle/rootfs" '.root.path = $root | .process.args = ["sleep", "100000"]' \
  "$bundle/config.json" > "$work/bundle-sleep/config.json"
ids+=(bench-runc-exec)
(cd "$work/bundle-sleep" && runc run -d bench-runc-exec < /dev/null > /dev/null 2>&1)
bench -w 5 -r "$runs_exec" --export-json "$export_dir/exec.json" -- \
  "$md exec bench-exec true" \
  "nsenter -a -t $pid true" \
  "runc exec bench-runc-exec true"
group "exec of /bin/true into a running container" "$export_dir/exec.json" ms \
  "\`minidocker exec bench-exec true\`" \
  "\`nsenter -a -t PID true\` (namespaces only: no cgroups, no checks)" \
  "\`runc exec\`"
"$md" rm -f bench-exec > /dev/null

echo "bench.sh: 3. commit of $files files of 40 KiB (${runs_commit} runs each)"
"$md" run -d --name bench-commit busybox sleep 100000 > /dev/null
gen=$work/gen/data
for ((d = 0; d < files / 100; d++)); do
  mkdir -p "$gen/d$d"
  for ((f = 0; f < 100; f++)); do
    head -c 40960 /dev/urandom > "$gen/d$d/f$f"
  done
done
tar -C "$work/gen" -cf - data | "$md" exec -i bench-commit tar -C / -xf -
rm -rf "$work/gen"
upper=$MINIDOCKER_ROOT/containers/$("$md" inspect --format '{{.Id}}' bench-commit)/upper
size=$(du -sm "$upper" | cut -f1)
hyperfine --style none -w 1 -r "$runs_commit" --export-json "$export_dir/commit.json" \
  --prepare "$md rmi bench-image > /dev/null 2>&1; rm -rf $work/copy $work/copy.tar; sync; sleep 2" \
  "$md commit bench-commit bench-image" \
  "cp -a $upper $work/copy" \
  "cp -a $upper $work/copy && sync" \
  "tar -C $upper -cf $work/copy.tar ." > /dev/null
group "commit of a read-write layer of $files files, $size MB" "$export_dir/commit.json" sec \
  "\`minidocker commit\` (pauses, copies, hashes, syncs)" \
  "\`cp -a\` of the same folder" \
  "\`cp -a\` and \`sync\`" \
  "\`tar -c\` of the same folder to a file"
"$md" rm -f bench-commit > /dev/null
"$md" rmi bench-image > /dev/null 2>&1 || true
rm -rf "$work/copy" "$work/copy.tar"

echo "bench.sh: 4. $many containers started detached, ps, rm -f"
first=0 last=0
t0=$(date +%s.%N)
for ((i = 1; i <= many; i++)); do
  s=$(date +%s.%N)
  "$md" run -d --name "bench-many-$i" busybox sleep 100000 > /dev/null
  e=$(date +%s.%N)
  [ "$i" -eq 1 ] && first=$(awk -v a="$s" -v b="$e" 'BEGIN { print b - a }')
  [ "$i" -eq "$many" ] && last=$(awk -v a="$s" -v b="$e" 'BEGIN { print b - a }')
done
t1=$(date +%s.%N)
rss=0
for ((i = 1; i <= many; i++)); do
  mon=$("$md" inspect --format '{{.State.MonitorPid}}' "bench-many-$i")
  kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$mon/status")
  rss=$((rss + kb))
done
s=$(date +%s.%N)
listed=$("$md" ps -q | wc -l)
t2=$(date +%s.%N)
"$md" ps -aq | xargs "$md" rm -f > /dev/null
t3=$(date +%s.%N)
{
  echo
  echo "### $many containers: start detached, list, remove"
  echo
  echo "| step | time |"
  echo "|------|------|"
  echo "| $many × \`run -d busybox sleep\`, one after the other | $(sec "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')") |"
  echo "| the 1st of them / the ${many}th | $(ms "$first") / $(ms "$last") |"
  echo "| \`ps\` with $listed running | $(ms "$(awk -v a="$s" -v b="$t2" 'BEGIN { print b - a }')") |"
  echo "| \`rm -f\` of all $many | $(sec "$(awk -v a="$t2" -v b="$t3" 'BEGIN { print b - a }')") |"
  echo "| memory of one monitor (VmRSS, the average of $many) | $((rss / many)) KiB |"
} >> "$work/tables.md"

# ---------------------------------------------------------------- report
{
  echo "## Results {#bench-results}"
  echo
  echo "Measured by \`tests/bench/bench.sh$($quick && echo " --quick")\` on $(date -u +%Y-%m-%d):"
  echo "$(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r),"
  echo "$(crun --version | head -1), $(runc --version | head -1), $(hyperfine --version)."
  if $hybrid; then
    echo "The host's cgroups are hybrid (v1 controllers, an empty cgroup2 tree at"
    echo "\`/sys/fs/cgroup/unified\`). crun refuses that layout, so the two start groups"
    echo "ran, all their commands alike, in a private mount namespace with that mount"
    echo "hidden: every runtime there used cgroup v1 alone."
  fi
  echo "A ratio below 1 means minidocker took less time."
  cat "$work/tables.md"
} > "$out"
cat "$out"
echo
echo "bench.sh: written to $out"
