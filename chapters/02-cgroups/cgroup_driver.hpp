/// \file
/// cgroup_driver.hpp - chapter 02's toolbox: reading Docker's limit words,
/// telling the host's cgroup layout, and reading and writing cgroup files.
///
/// Introduced in chapter 02. Nothing here changes kernel state except
/// write_cgroup_file(), which narrates every write for `--trace`. The feature
/// that uses these is in cgroups.hpp.
///
/// \code{.cpp}
///   parse_memory_size("64m")      == 67108864
///   shares_to_weight(1024)        == 39
///   cpus_to_quota(0.5)            == {50000, 100000}
///   parse_cpu_list("0-2,5")       == {0, 1, 2, 5}
///   detect_cgroup_mode("/sys/fs/cgroup") == CgroupMode::hybrid   (this machine)
/// \endcode
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>

namespace minidocker {

/// How the host mounts cgroups (see ARCHITECTURE.md, "Kernel facts that shape the code"):
/// \code{.unparsed}
///   unified  cgroup v2 only: one tree at the root, all controllers in it
///   hybrid   v1 controllers at <root>/memory, <root>/cpu...; an empty
///            cgroup v2 tree at <root>/unified (systemd's "hybrid")
///   legacy   v1 controllers only
/// \endcode
enum class CgroupMode { unified, hybrid, legacy };

std::string to_string(CgroupMode mode);

/// Looks at `root` (normally /sys/fs/cgroup): statfs() says cgroup2 for a
/// unified host; otherwise the files decide, so a test can fake any layout
/// with plain directories: \<root\>/cgroup.controllers (unified),
/// \<root\>/unified/cgroup.controllers (hybrid), \<root\>/memory/ (legacy).
/// Throws std::runtime_error when there is no cgroup filesystem at all.
CgroupMode detect_cgroup_mode(const std::string& root);

/// Docker's memory sizes: a number (fractions allowed) and an optional unit
/// b, k, m, g or t, any case, optionally followed by "b" or "ib": "64m",
/// "64MB", "1.5g", "512MiB", "100" (bytes). Units are powers of 1024.
/// Throws UsageError for anything else, negative numbers included.
int64_t parse_memory_size(const std::string& text);

/// cgroup v1's cpu.shares (2..262144, default 1024) as cgroup v2's cpu.weight
/// (1..10000, default 100), the formula runc and crun use.
uint64_t shares_to_weight(uint64_t shares);

/// `--cpus` 0.5 as the CFS bandwidth pair: run at most quota_us in every
/// period_us (100 ms, Docker's period).
struct CpuQuota {
    int64_t quota_us = 0;
    int64_t period_us = 0;
};
CpuQuota cpus_to_quota(double cpus);

/// "0-2,5" -> {0, 1, 2, 5}: the kernel's CPU list format, as in cpuset.cpus
/// and /sys/devices/system/cpu/online. Throws UsageError when malformed.
std::set<int> parse_cpu_list(const std::string& list);

/// Throws UsageError unless every CPU of `wanted` is in `available` (both in
/// the list format above).
void check_cpus_available(const std::string& wanted, const std::string& available);

/// The whole content of a small file, or nullopt when it cannot be read.
std::optional<std::string> read_cgroup_file(const std::string& path);

/// Writes `value` to a cgroup file the way `echo value > path` does, and
/// narrates it: write("/sys/fs/cgroup/pids/minidocker/<id>/pids.max", "32").
/// Throws std::system_error on failure.
void write_cgroup_file(const std::string& path, const std::string& value);

/// "oom_kill 3" in memory.oom_control (v1) or memory.events (v2) -> 3.
/// 0 when the key is missing.
uint64_t read_key(const std::string& text, const std::string& key);

}  // namespace minidocker
