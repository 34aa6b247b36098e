/// \file
/// devices.hpp - chapter 09's toolbox: which devices a container may use,
/// as Docker decides, in the two forms the kernel takes.
///
/// CAP_MKNOD lets the container's root make a device file of any number;
/// the devices controller decides whether it may then read or write it. On
/// cgroup v1 that is the `devices` hierarchy's files (`devices.deny`,
/// `devices.allow`, one rule a line); cgroup v2 has no such files: a BPF
/// program attached to the cgroup answers, for each open of a device,
/// allowed (1) or not (0).
///
/// \code{.cpp}
///   for (const DeviceRule& r : docker_default_devices()) v1_rule(r);   // "c 1:3 rwm"...
///   std::vector<sys::BpfInsn> program = device_program(docker_default_devices());
/// \endcode
#pragma once

#include <string>
#include <vector>

#include "sys.hpp"

namespace minidocker {

/// One allowed kind of access: type 'c' (character), 'b' (block) or 'a'
/// (both); -1 for a major or minor is "any" (`*`); access is some of "rwm"
/// (read, write, mknod).
struct DeviceRule {
    char type = 'a';
    int major = -1;
    int minor = -1;
    std::string access = "rwm";
};

/// Docker's defaults: mknod of any device; read and write of /dev/null,
/// zero, full, random, urandom, tty, console, ptmx and the ptys.
const std::vector<DeviceRule>& docker_default_devices();

/// The rule as cgroup v1's devices.allow takes it: "c 1:3 rwm", "b *:* m".
std::string v1_rule(const DeviceRule& rule);

/// A BPF_PROG_TYPE_CGROUP_DEVICE program that allows exactly `allowed` and
/// refuses everything else, assembled by hand (as crun does: no library on
/// Debian generates these).
std::vector<sys::BpfInsn> device_program(const std::vector<DeviceRule>& allowed);

}  // namespace minidocker
