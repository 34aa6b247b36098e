/// \file
/// process.hpp - starting the container's process and talking to it.
///
/// Introduced in chapter 01, used by every chapter.
///
/// \code{.cpp}
///   SignalForwarder signals;           // block SIGINT, SIGTERM... before clone
///   SyncChannel channel;               // a socketpair between parent and child
///   pid_t pid = clone_process(CLONE_NEWPID | CLONE_NEWUTS);
///   if (pid == 0) { channel.use_as_child(); ...; execvp(...); channel.report(...); _exit(...); }
///   channel.use_as_parent();
///   channel.send_go();                 // the child may run the user's command now
///   if (auto err = channel.wait_for_exec()) { ... the child failed, err->message ... }
///   int status = signals.wait_for(pid);
/// \endcode
///
/// Why a socketpair: the child must not start the user's command before the
/// parent has finished its work (cgroups, chapter 02), and if the child fails
/// before execve the parent must learn why. Both ends are close-on-exec, so a
/// successful execve closes the child's end: the parent reads end-of-file and
/// knows the command is running.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "fd.hpp"

namespace minidocker {

/// Why the child failed before its execve succeeded.
struct ChildFailure {
    int error = 0;        ///< errno of the failing call (0 if none)
    int exit_code = 0;    ///< 125, 126 or 127
    std::string message;  ///< "mount(...): Permission denied"
};

/// The socket pair between the runtime and the child it clones: made before
/// the clone, one end for each side after it (use_as_parent(),
/// use_as_child()). Runtime::run_container() and chapter 06's `exec` use it
/// for the rounds of "go" and "ready", and the child sends a failure over it
/// instead of throwing across the clone. Both ends are close-on-exec: a
/// successful execve closes the child's end, and end-of-file is how the
/// parent learns that the command runs.
class SyncChannel {
public:
    SyncChannel();  ///< socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC)

    /// After clone, each side closes the end it does not use.
    void use_as_parent();
    void use_as_child();

    /// Child: tells the parent it has done what it must do to itself first
    /// (Feature::enter): the parent may look at it now.
    void send_ready();
    /// Parent: waits for the child's ready (nullopt) or its failure report.
    std::optional<ChildFailure> wait_for_ready();

    /// Parent: tells the child to go on (ignores a child that already died).
    void send_go();
    /// Child: waits for the parent's go; false if the parent went away.
    bool wait_for_go();

    /// Child: sends a failure to the parent. Never throws.
    void report(const ChildFailure& failure) noexcept;
    /// Parent: waits until the child either execs (nullopt) or reports.
    std::optional<ChildFailure> wait_for_exec();

    /// The init of `run --init` is neither end: it closes its copies, so the
    /// parent hears only the command's execve (or its report).
    void close() {
        parent_end_.reset();
        child_end_.reset();
    }

private:
    Fd parent_end_;
    Fd child_end_;
};

/// clone(2) with the given namespace flags and SIGCHLD, fork-style (the child
/// gets a copy of our memory and continues from here). Returns 0 in the child.
/// Narrated as `clone(CLONE_NEWNS|...|SIGCHLD) = <pid>`.
pid_t clone_process(unsigned long namespace_flags);

/// The same through clone3(2) with CLONE_INTO_CGROUP: the child is born in
/// the cgroup v2 directory open as `cgroup_fd` (`cgroup_dir` names it in the
/// trace), so nobody has to move it there. Returns -1 when this kernel has no
/// CLONE_INTO_CGROUP (before 5.7): then use clone_process() and move it.
pid_t clone_process_into(unsigned long namespace_flags, int cgroup_fd, const std::string& cgroup_dir);

/// Blocks the signals a user sends to stop a container, so that they queue up
/// for us to forward instead of killing the runtime. Restores the old mask when
/// destroyed; the child calls restore_in_child() before execve.
class SignalForwarder {
public:
    SignalForwarder();
    ~SignalForwarder();
    SignalForwarder(const SignalForwarder&) = delete;
    SignalForwarder& operator=(const SignalForwarder&) = delete;

    void restore_in_child() const;

    /// Waits for `pid` to exit, forwarding SIGINT, SIGTERM, SIGHUP, SIGQUIT,
    /// SIGUSR1 and SIGUSR2 to it. Returns the wait status.
    int wait_for(pid_t pid) const;

private:
    sigset_t forwarded_;
    sigset_t previous_;
};

/// Closes every descriptor from 3 up that is not close-on-exec: those are
/// the caller's (all of ours are close-on-exec), left open by a shell or a
/// `$(...)`. For a process that outlives the command line, like chapter
/// 06's monitor, which would otherwise hold them for the container's life.
void close_inherited_fds();

/// Docker's exit code for a wait status: the code, or 128+N for signal N.
int exit_code_from_status(int status);

/// Docker's exit code for a failed execve: 127 not found, 126 not executable.
int exit_code_from_exec_errno(int err);

/// The last step of `run`, `run --init` (in its child) and `exec`: this
/// process becomes the user's `command`, with exactly `env` as its
/// environment (execvp() searches its PATH), no descriptor but 0, 1 and 2,
/// and the signal dispositions a new program expects. Returns only when
/// execvp() failed, with what the runtime should hear: Docker's message and
/// exit code ("executable file not found in $PATH", 127). `env` must live
/// until then: the environment points into it.
ChildFailure exec_command(const std::vector<std::string>& command, std::vector<std::string>& env,
                          const SignalForwarder& signals);

/// Is `path` a statically linked 64-bit ELF program (no PT_INTERP header, so no
/// dynamic loader)? Only such a program runs in a root filesystem that has no
/// libraries, like the busybox image's.
bool is_static_elf(const std::string& path);

}  // namespace minidocker
