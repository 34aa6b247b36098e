/// \file
/// lifecycle.hpp - chapter 06's feature: containers that outlive `run`, and
/// `exec` into them.
///
/// Start reading at exec.cpp: "entering" a container, the chapter's idea,
/// is joining its namespaces with setns() (exec.hpp says what it offers).
/// Open every /proc/PID/ns/* of its PID 1, setns() into each, fork (a PID
/// namespace applies to children only), put the child in the container's
/// cgroups, and execve. Nothing else makes a process "inside". The rest of
/// the chapter makes sure there is something to enter, and gives Docker's
/// words for it, one room each:
///
/// \code{.unparsed}
///   exec.cpp              exec by setns(): the idea
///   monitor.cpp           run -d: a forked monitor (the runtime, like Docker's
///                         shim or podman's conmon) stays the container's parent,
///                         logs its output, records its exit, removes it with --rm;
///                         -i and -t: the container's stdin, stdout, stderr
///   terminal.cpp          pseudo-terminals, and copying bytes to them and to logs
///   container_view.cpp    a container's records read back, checked against the kernel
///   container_commands.cpp  exec, ps, logs, stop, kill, wait, rm, ns NAME
///   inspect.cpp           inspect: Docker's JSON, or a Go template filled in
/// \endcode
///
/// \code{.unparsed}
///   ch06 run -d [-i] [-t] [--name N] IMAGE [CMD...]   prints the id
///   ch06 run -it IMAGE sh                             a terminal of its own
///   ch06 exec [-i] [-t] [-e K=V] [-w DIR] NAME CMD...
///   ch06 ps [-a] [-q] | inspect [-f TEMPLATE] NAME | logs [-f] NAME
///   ch06 stop [-t S] NAME | kill [-s SIG] NAME | wait NAME | rm [-f] NAME
///   ch06 ns PID|NAME [--vs PID|NAME]
/// \endcode
///
/// $ROOT/containers/\<id\>/ gains monitor.json (who the monitor is, the
/// container's cgroups, how it was started) and log (its output).
///
/// Moments (see common/runtime.hpp):
/// \code{.unparsed}
///   begin              -d: fork the monitor, which does all the rest; the
///                      command line waits until the container runs, prints
///                      its id and exits (or exits as the monitor did)
///   prepare            -d: the log and the pipes for the container's output
///   join               monitor.json: our pid, the container's cgroups
///   setup_after_root   (child) stdin/stdout/stderr: a new pty (-t), the log pipes (-d)
///   started            -d: tell the command line; copy output to the log
///                      -t: copy between the pty and our terminal
///   after_exit         stop copying
/// \endcode
#pragma once

#include <optional>

#include "container_view.hpp"
#include "exec.hpp"
#include "fd.hpp"
#include "runtime.hpp"
#include "terminal.hpp"

namespace minidocker {

/// Chapter 06's feature: owns `run -d`, `-i` and `-t`, the monitor, and the
/// commands on containers that exist (`exec`, `ps`, `inspect`, `logs`,
/// `stop`, `kill`, `wait`, `rm`, `ns NAME`). At begin, with -d, it forks
/// the monitor; at prepare and join it writes monitor.json and makes the
/// container's pipes or pty; in the child, at setup_after_root, it gives the
/// command its stdin, stdout and stderr; at started it relays the output
/// (to the log, or to our terminal) until after_exit.
class Lifecycle : public Feature {
public:
    Lifecycle() : Feature("06 exec") {}

    void add_run_options(CLI::App& run) override;
    void add_commands(Runtime& rt) override;  ///< in container_commands.cpp
    void begin(Container& c) override;
    void prepare(Container& c) override;
    void join(Container& c) override;
    void setup_after_root(Container& c) override;
    void started(Container& c) override;
    void after_exit(Container& c) override;
    void cleanup(Container& c) noexcept override;

private:
    void start_monitor(Container& c);

    bool detach_ = false;       ///< -d
    bool interactive_ = false;  ///< -i
    bool tty_ = false;          ///< -t

    Fd console_[2];                             ///< -t: the child sends the pty master over [1], we read [0]
    Fd pty_master_;                             ///< -t, once the command runs
    Fd child_stdio_[3];                         ///< for the container's 0, 1, 2 (-d, or -t)
    Fd stdin_writer_;                           ///< -di: held open so the command's stdin stays open
    Fd out_reader_, err_reader_;                ///< -d without -t: the container's output
    Fd log_;                                    ///< -d: $dir/log
    Fd notify_;                                 ///< -d, the monitor's end: "started" to the waiting command line
    std::optional<Relay> relay_;                ///< -d: the container's output into its log
    std::optional<AttachedTerminal> attached_;  ///< -t without -d: the user's terminal
};

}  // namespace minidocker
