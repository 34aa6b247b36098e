/// \file
/// trace.hpp - the `--trace` narrator.
///
/// Introduced in chapter 01, used by every chapter. With `--trace`, every step
/// that changes kernel state is printed to stderr, prefixed by the chapter that
/// owns it, with flags by name, strace-style:
///
/// \code{.unparsed}
///   [01 namespaces] sethostname("box") = 0
///   [03 rootfs] pivot_root(".", ".") = 0
///   [03 rootfs] mount("tmpfs", "/dev", ...) = -1 ENOENT (No such file or directory)
/// \endcode
///
/// The Runtime sets the owner before it calls a feature (trace::Owner), so a
/// feature's code never spells its own prefix. Most lines come from check()
/// in error.hpp; trace::step() is for steps that are not one system call.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace minidocker::trace {

void enable(bool on);
bool enabled();
/// Where the lines go: stderr (2) unless told otherwise. Chapter 06's child
/// keeps narrating to the runtime's stderr after its own fd 2 became the
/// container's.
void set_output(int fd);

/// While an Owner is alive, trace lines are prefixed with its tag
/// ("01 namespaces"). Owners nest; the innermost wins.
class Owner {
public:
    explicit Owner(std::string_view tag);
    ~Owner();
    Owner(const Owner&) = delete;
    Owner& operator=(const Owner&) = delete;

private:
    std::string previous_;
};

/// Prints "[owner] text" when tracing is on.
void step(std::string_view text);

/// Prints "[owner] call = rc", or "= -1 ENAME (message)" when rc is -1.
void result(std::string_view call, long rc, int err);

/// One flag word as names joined by '|', unknown bits in hex:
/// clone_flags(CLONE_NEWPID | SIGCHLD) == "CLONE_NEWPID|SIGCHLD".
std::string clone_flags(unsigned long flags);
std::string mount_flags(unsigned long flags);

/// Any other flag word, by the names given: flag_names(MNT_DETACH,
/// {{MNT_FORCE, "MNT_FORCE"}, {MNT_DETACH, "MNT_DETACH"}}) == "MNT_DETACH".
/// Unknown bits in hex; "0" when none is set.
struct FlagName {
    unsigned long bit;
    const char* name;
};
std::string flag_names(unsigned long flags, std::initializer_list<FlagName> names);

/// "ENOENT" for ENOENT.
std::string errno_name(int err);

/// A C string argument as the trace shows it: quoted, or NULL.
std::string quote(const char* s);
std::string quote(const std::string& s);

}  // namespace minidocker::trace
