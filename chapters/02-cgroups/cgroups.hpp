/// \file
/// cgroups.hpp - chapter 02's feature: limits on memory, CPU and processes.
///
/// Namespaces hide; cgroups limit. A cgroup is a directory in a special
/// filesystem: make one, write limits into its files, put a process in it,
/// and that process (and every child it forks) is held to them.
///
/// \code{.unparsed}
///   ch02 run -m 64m --memory-swap 128m --cpus 0.5 --cpu-shares 512
///            --pids-limit 64 --cpuset-cpus 0 [--cgroup-parent P] -- CMD...
/// \endcode
///
/// The files differ between cgroup v1 (one hierarchy per controller) and v2
/// (one unified tree); ContainerCgroups speaks both.
///
/// Moments (see common/runtime.hpp):
/// \code{.unparsed}
///   prepare            check the options; trade CLONE_NEWCGROUP for an
///                      unshare() in the child, once it is in its cgroups
///   create             make the cgroups, write the limits; on cgroup v2 the
///                      child is born in its cgroup (clone3 CLONE_INTO_CGROUP)
///   enter              (child) move itself into its v1 cgroups: "0" to `tasks`
///   setup_before_root  (child) unshare(CLONE_NEWCGROUP): its cgroup is its "/"
///   after_exit         was it killed for lack of memory? exit 137 and a note;
///                      remove the cgroups
///   cleanup            the same, when the start failed
/// \endcode
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cgroup_driver.hpp"
#include "fd.hpp"
#include "runtime.hpp"

namespace minidocker {

/// What `run`'s options ask for, checked and converted to kernel units.
struct CgroupLimits {
    std::optional<int64_t> memory;       ///< bytes
    std::optional<int64_t> memory_swap;  ///< memory + swap, bytes; -1: unlimited
    std::optional<CpuQuota> cpu;         ///< `--cpus`
    std::optional<uint64_t> cpu_shares;  ///< 2..262144
    std::optional<int64_t> pids;         ///< at most this many tasks
    std::string cpuset_cpus;             ///< "0-1"; empty: the parent's
};

/// One container's cgroups: the directory `<parent>/<id>` in every hierarchy
/// it uses. `root` is where cgroup filesystems are mounted (a temp dir in
/// unit tests).
class ContainerCgroups {
public:
    ContainerCgroups(std::string root, CgroupMode mode, std::string parent, std::string id);

    /// Makes the directories and writes the limits. What was made before a
    /// failure is still removed by remove().
    void create(const CgroupLimits& limits);
    /// The leaf in a cgroup v2 hierarchy (the unified tree, or hybrid's
    /// unified/), which a child can be born in; empty on pure cgroup v1.
    std::string v2_leaf() const;
    /// Moves the calling process, single-threaded, into all of them; not into
    /// v2_leaf() if it was born there.
    void enter_self(bool born_in_v2);
    /// How many processes the OOM killer killed in the memory cgroup.
    uint64_t oom_kills() const;
    /// Kills what is left and removes every directory we made. Never throws.
    void remove() noexcept;

    /// The container's directory in each hierarchy, e.g.\ /sys/fs/cgroup/memory/minidocker/\<id\>.
    const std::vector<std::string>& leaves() const { return leaves_; }

private:
    void make_path(const std::string& hierarchy, bool copy_cpuset);
    void write_v1(const CgroupLimits& limits);
    void write_v2(const std::string& leaf, const CgroupLimits& limits);
    std::string memory_dir() const;

    std::string root_;
    CgroupMode mode_;
    std::string parent_;  ///< "minidocker", or `--cgroup-parent` without leading '/'
    std::string id_;
    std::vector<std::string> hierarchies_;  ///< \<root\>/memory, \<root\>/cpu..., or \<root\>
    std::vector<std::string> leaves_;       ///< directories we made, leaves
    std::vector<std::string> parents_;      ///< directories we made above them, deepest first
};

/// Chapter 02's feature: the container's cgroups and the limits `run`'s
/// options ask for. It checks the options at prepare (bad input makes
/// nothing), makes the directories and writes the limits at create
/// (ContainerCgroups), has the child born in them (cgroup v2) or move itself
/// in before it runs anything (v1), reports an OOM kill as exit 137 with a
/// note, and removes the directories after exit. It speaks unified, hybrid
/// and legacy hosts alike (CgroupMode).
class Cgroups : public Feature {
public:
    /// `root`: where the cgroup filesystems are, /sys/fs/cgroup on a real host.
    explicit Cgroups(std::string root = "/sys/fs/cgroup") : Feature("02 cgroups"), root_(std::move(root)) {}

    void add_run_options(CLI::App& run) override;
    void prepare(Container& c) override;
    void create(Container& c) override;
    void enter(Container& c) override;
    void join(Container& c) override;
    void setup_before_root(Container& c) override;
    void after_exit(Container& c) override;
    void cleanup(Container& c) noexcept override;

    /// The options, checked and converted; throws UsageError. Public for tests.
    CgroupLimits limits(CgroupMode mode) const;

private:
    std::string root_;
    std::string memory_;
    std::string memory_swap_;
    std::string cpus_;
    std::string cpu_shares_;
    std::string pids_limit_;
    std::string cpuset_cpus_;
    std::string cgroup_parent_ = "minidocker";
    bool new_cgroup_ns_ = false;  ///< CLONE_NEWCGROUP was asked for (chapter 01's `--ns`)
    std::optional<ContainerCgroups> cgroups_;
    CgroupLimits limits_;  ///< checked in prepare, written in create
    Fd v2_leaf_;           ///< open for clone3's CLONE_INTO_CGROUP
};

}  // namespace minidocker
