/// \file
/// freezer.hpp - chapter 07: holding every process of a container still.
///
/// A commit copies files the container may be writing. Frozen, its
/// processes do not run at all (they do not even see a signal), so the copy
/// is of one moment; thawed, they go on as if nothing happened.
///
/// \code{.unparsed}
///   cgroup v1 (legacy and hybrid hosts, where the freezer controller is):
///              chapter 02 does not put containers in the freezer, so the
///              freeze makes freezer/minidocker/<id>, moves every process of
///              the container's PID namespace there, writes FROZEN to
///              freezer.state and waits for it to say so; the thaw moves them
///              back and removes the cgroup.
///   cgroup v2 (unified hosts): every cgroup but the root has cgroup.freeze;
///              write 1 to the container's own and wait until cgroup.events
///              says "frozen 1".
/// \endcode
///
/// \code{.cpp}
///   {
///       Freezer frozen{init_pid, id};   // throws when it cannot freeze
///       copy...
///   }                                   // thawed here, even on a throw
/// \endcode
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace minidocker {

/// cgroup v2, on one cgroup directory (unit tests use plain files).
void freeze_v2(const std::string& dir);
void thaw_v2(const std::string& dir);

/// cgroup v1, on one freezer cgroup directory.
void freeze_v1(const std::string& dir);
void thaw_v1(const std::string& dir);

/// The processes (host pids) whose PID namespace is `pid`'s: a container's
/// PID 1 and everything in it, exec'd processes included.
std::vector<pid_t> processes_in_pid_namespace_of(pid_t pid);

class Freezer {
public:
    /// Freezes the container whose PID 1 is `init_pid` and whose id is `id`.
    Freezer(pid_t init_pid, const std::string& id);
    ~Freezer();  ///< thaws
    Freezer(const Freezer&) = delete;
    Freezer& operator=(const Freezer&) = delete;

private:
    void thaw() noexcept;
    void start_keeper();
    void stop_keeper() noexcept;

    std::string v2_dir_;   ///< the container's own v2 cgroup, or ""
    std::string v1_dir_;   ///< the freezer cgroup made for the commit, or ""
    std::string v1_home_;  ///< the freezer cgroup its processes came from
    pid_t keeper_ = -1;    ///< thaws if we die frozen (see start_keeper)
    int keeper_fd_ = -1;   ///< our end of its pipe
};

}  // namespace minidocker
