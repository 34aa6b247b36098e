/// \file
/// namespaces.hpp - chapter 01's feature: new namespaces for the container.
///
/// A container is "just a process": clone() it with CLONE_NEW* flags and it
/// gets its own hostname (UTS), process numbers (PID), mount table (mnt),
/// System V IPC (IPC), network stack (net) and cgroup view (cgroup).
///
/// \code{.unparsed}
///   ch01 run [--hostname H] [--ns uts,pid,mnt,ipc,net,cgroup] -- CMD [ARGS...]
/// \endcode
///
/// Moments (see common/runtime.hpp):
/// \code{.unparsed}
///   prepare            turn --ns into clone flags
///   setup_before_root  make / rprivate, so our mounts never reach the host
///   setup_after_root   mount a fresh /proc, sethostname, bring `lo` up
/// \endcode
#pragma once

#include <string>

#include "runtime.hpp"

namespace minidocker {

/// "uts,pid" -> CLONE_NEWUTS | CLONE_NEWPID. Throws UsageError for an unknown
/// or repeated name, or an empty list.
unsigned long parse_namespace_list(const std::string& list);

/// Chapter 01's feature: the container's new namespaces. At prepare it turns
/// `--ns` into the CLONE_NEW* flags of the clone and checks `--hostname`; in
/// the child it makes "/" private, mounts a fresh /proc, sets the hostname
/// and brings `lo` up, each only when that namespace is new. It also adds
/// the `ns PID` subcommand (ns_inspector.hpp). Every chapter's program
/// starts with it: making "/" private comes before any other mount.
class Namespaces : public Feature {
public:
    Namespaces() : Feature("01 namespaces") {}

    void add_run_options(CLI::App& run) override;
    void add_commands(Runtime& rt) override;
    void prepare(Container& c) override;
    void setup_before_root(Container& c) override;
    void setup_after_root(Container& c) override;

private:
    std::string hostname_;
    std::string ns_list_ = "uts,pid,mnt,ipc,net,cgroup";
    pid_t inspect_pid_ = 0;
    pid_t inspect_vs_ = 0;  ///< 0: the host's PID 1
    bool inspect_json_ = false;
};

}  // namespace minidocker
