/// \file
/// ns_inspector.hpp - chapter 01's inspector: a namespace is a file.
///
/// Every process has one symbolic link per namespace type in /proc/PID/ns.
/// The link's text names the namespace, "net:[4026532008]"; two processes are
/// in the same namespace exactly when their links name the same inode. That is
/// all `lsns` and `docker exec` need to know.
///
/// \code{.unparsed}
///   ch01 ns PID [--vs PID2] [--json]
/// \endcode
///
/// prints, for each of the ten types, the link and whether PID2 (default: PID 1
/// of the host) shares it.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace minidocker {

/// One row of `ch01 ns`: one link of /proc/PID/ns, and whether the other
/// process has the same one.
struct NsEntry {
    std::string type;  ///< "net", "pid_for_children", ...
    std::string link;  ///< "net:[4026532008]", empty if the kernel has no such type
    unsigned long inode = 0;
    bool shared = false;  ///< the other process has the same inode
};

/// What `ch01 ns PID` prints: the ten /proc/PID/ns entries of one process,
/// each compared with another process (the host's PID 1 unless `--vs`).
/// Made by inspect_namespaces(), printed by format_ns_table() or
/// format_ns_json(); chapter 06's `ns NAME` shows a container's the same way.
struct NsReport {
    pid_t pid = 0;
    pid_t vs = 0;
    std::string vs_note;           ///< why vs is not the PID asked for, if it is not
    std::vector<NsEntry> entries;  ///< always the ten types, in ls order
};

/// The ten entries of /proc/PID/ns, in the order `ls` lists them.
const std::vector<std::string>& namespace_types();

/// "net:[4026532008]" -> 4026532008. Throws std::invalid_argument otherwise.
unsigned long parse_ns_link(const std::string& link);

/// Reads proc_root/PID/ns and proc_root/VS/ns. Throws UsageError when either
/// process does not exist. vs 0 means the host's PID 1 (or, where PID 1 is
/// hidden from us, this process). proc_root is a parameter for the unit tests.
NsReport inspect_namespaces(pid_t pid, pid_t vs, const std::string& proc_root = "/proc");

/// The report as a table like `ls -l /proc/PID/ns`, and as JSON.
std::string format_ns_table(const NsReport& report);
std::string format_ns_json(const NsReport& report);

}  // namespace minidocker
