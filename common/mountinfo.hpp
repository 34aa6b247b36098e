/// \file
/// mountinfo.hpp - reading /proc/PID/mountinfo, the kernel's mount table.
///
/// Introduced in chapter 01 (`doctor` looks at how the host mounts `/` and
/// the cgroups), used by later chapters to find cgroup hierarchies, and by
/// the integration tests to look at mount tables from outside.
///
/// \code{.cpp}
///   for (const MountEntry& m : parse_mountinfo(sys::read_file("/proc/self/mountinfo"))) {
///       if (m.fstype == "cgroup2") { ... m.point ... }
///   }
/// \endcode
///
/// One line of it (proc(5)), the optional fields ending at the "-":
/// \code{.unparsed}
///   36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
///   id pa dev  root  point options   optional - fstype source super-options
/// \endcode
/// The kernel writes a space, tab, newline or backslash in a path as an
/// octal escape (`/mnt/my\040disk`); the parser decodes them. Plain C++ with
/// no other dependency, so the tests can build it too.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace minidocker {

struct MountEntry {
    int id = 0;                 ///< the mount's id
    int parent = 0;             ///< its parent mount's id
    std::string device;         ///< "98:0"
    std::string root;           ///< the part of its filesystem it shows: "/mnt1" (decoded)
    std::string point;          ///< where it is mounted: "/mnt2" (decoded)
    std::string options;        ///< the mount's options: "rw,noatime"
    std::string optional;       ///< the optional fields: "shared:1 master:2", or ""
    std::string fstype;         ///< "ext3", "cgroup2", "overlay"...
    std::string source;         ///< "/dev/root" (decoded)
    std::string super_options;  ///< the filesystem's options: "rw,errors=continue"
};

/// Every line of a mountinfo text, in order (the last one at a mount point
/// is the one seen there). Lines it cannot read are left out.
std::vector<MountEntry> parse_mountinfo(std::string_view text);

/// `/mnt/my\040disk` -> `/mnt/my disk`: the kernel's octal escapes decoded.
std::string unescape_mountinfo(std::string_view field);

}  // namespace minidocker
