/// \file
/// doctor.hpp - `chNN doctor`: is this machine ready for the course?
///
/// Every chapter's program has the subcommand. It looks for the problems
/// students hit most (book page "Troubleshooting"), one check each, and says
/// what to do about each one it finds:
///
/// \code{.unparsed}
///   $ ch08 doctor
///     ok    root          running as root (euid 0)
///     ...
///     FAIL  busybox       /bin/busybox is dynamically linked ...
///           fix: apt-get install busybox-static
/// \endcode
///
/// It only reads files (/proc/self/mountinfo, /proc/filesystems,
/// /proc/self/ns, /sys/fs/cgroup, the busybox binary) and changes nothing.
/// Exit status: 0 when nothing failed (warnings allowed), 1 otherwise.
///
/// The checks read every path below `Machine::root`, "" on a real machine, so
/// the unit tests can point them at a fake /proc and /sys tree.
#pragma once

#include <sys/types.h>

#include <cstdio>
#include <string>
#include <vector>

namespace minidocker {

/// What the checks look at.
struct Machine {
    std::string root;        ///< prefix of every /proc and /sys path read ("" = this machine)
    uid_t euid = 0;          ///< the effective user id the runtime runs as
    std::string state_root;  ///< `--root`: where images and containers live
    std::string busybox;     ///< the busybox the busybox image is made from
};

/// The facts of this machine: root "", geteuid(), and $MINIDOCKER_BUSYBOX or
/// /bin/busybox.
Machine this_machine(const std::string& state_root);

/// How one check came out: ok; warn (the course runs, but something may
/// surprise a student, such as a missing v1 freezer); fail (a chapter cannot
/// run here until it is fixed). Any fail makes `doctor` exit 1.
enum class Verdict { ok, warn, fail };

/// One check's result: "cgroups", ok, "hybrid: ...", "" (fix: what to do).
struct Finding {
    std::string check;
    Verdict verdict = Verdict::ok;
    std::string found;
    std::string fix;
};

/// Runs every check, in the order of the chapters that need them.
std::vector<Finding> examine(const Machine& m);

/// Prints the findings as a table; returns the exit status (1 if any failed).
int report(const std::vector<Finding>& findings, std::FILE* out);

}  // namespace minidocker
