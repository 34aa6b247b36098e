/// \file
/// guard.hpp - what stops a container from reaching back out through the
/// runtime itself, and the tiny init of `run --init`.
///
/// Used by every chapter (`run --init`, the working directory of `run`) and
/// by chapter 06's `exec`:
///
/// \code{.cpp}
///   run_from_read_only_binary();   // before anything: may execveat() ourselves
///   ...
///   chdir_inside("/srv");          // in the child, after the root switch
///   ...
///   pid_t child = ::fork();        // with `--init`, in the container's PID 1
///   if (child > 0) be_init(child); // never returns
/// \endcode
///
/// Two attacks this file answers, both found in runc:
///  - CVE-2019-5736. A runtime process that enters a container runs, until its
///    execve, from the host's binary. If the container's command is a script
///    starting `#!/proc/self/exe`, the kernel runs that binary again, inside
///    the container; a process there can hold /proc/PID/exe and, once the
///    binary is no longer running, open it for writing: the next root user of
///    the runtime on the host runs the attacker's code.
///  - CVE-2024-21626. A descriptor of a host directory, open in the runtime
///    when it chdir()s to `-w /proc/self/fd/N`, leaves the command's working
///    directory outside the container's root.
#pragma once

#include <sys/types.h>

#include <string>

namespace minidocker {

/// Makes sure this process runs from a read-only view of its own binary, so
/// that nothing can write to it through /proc/PID/exe. If it does not (the
/// binary is on a writable filesystem), it re-executes itself, same argv and
/// environment, from a detached read-only bind mount of /proc/self/exe
/// (open_tree + mount_setattr + execveat), and never returns. Cheap: no copy
/// of the binary, no change to any mount namespace.
void run_from_read_only_binary();

/// chdir(dir), then refuses (UsageError) a working directory that is not
/// under our root directory, such as `/proc/self/fd/N` of a descriptor to a
/// host directory: getcwd(2) cannot name it from our root.
void chdir_inside(const std::string& dir);

/// `run --init`: the container's PID 1 is the runtime itself, and `child`
/// (already forked) runs the user's command. Forwards every signal it can
/// catch to `child`, reaps every process that is orphaned to it, and exits
/// with the child's exit code (128+N for signal N) when the child ends.
[[noreturn]] void be_init(pid_t child);

}  // namespace minidocker
