/// \file
/// exec.hpp - chapter 06's feature: containers that outlive `run`, and `exec`.
///
/// "Entering" a container is joining its namespaces: open every
/// /proc/PID/ns/* of its PID 1, setns() into each, fork (a PID namespace
/// applies to children only), put the child in the container's cgroups, and
/// execve. Nothing else makes a process "inside". For there to be something to
/// enter, `run -d` leaves the container running: a small monitor process (the
/// runtime, forked, like Docker's shim or podman's conmon) stays its parent,
/// writes its output to a log and its exit into state.json, and removes it
/// with `--rm`.
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

#include <sys/types.h>

#include <nlohmann/json.hpp>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "container_view.hpp"
#include "runtime.hpp"
#include "store.hpp"
#include "terminal.hpp"

namespace minidocker {

/// What `exec` runs, and how.
struct ExecRequest {
    std::vector<std::string> command;
    std::vector<std::string> env;  ///< -e K=V, over the container's
    std::string working_dir;       ///< -w; "" is the image's WorkingDir or "/"
    bool tty = false;              ///< -t
    bool interactive = false;      ///< -i; without it, stdin is /dev/null
};

/// The command could not be started in the container (not found: 127...).
class ExecFailed : public std::runtime_error {
public:
    ExecFailed(int exit_code, const std::string& message) : std::runtime_error(message), exit_code(exit_code) {}
    int exit_code;
};
/// Runs `request` in the running container `view`; returns its exit code.
int exec_in_container(const ContainerView& view, const ExecRequest& request);

class Exec : public Feature {
public:
    Exec() : Feature("06 exec") {}

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

    const Runtime* rt_ = nullptr;
    bool detach_ = false;       ///< -d
    bool interactive_ = false;  ///< -i
    bool tty_ = false;          ///< -t

    std::string dir_;             ///< the container's directory; "" without an image
    Fd console_[2];               ///< -t: the child sends the pty master over [1], we read [0]
    Fd pty_master_;               ///< -t, once the command runs
    Fd child_stdio_[3];           ///< for the container's 0, 1, 2 (-d, or -t)
    Fd stdin_writer_;             ///< -di: held open so the command's stdin stays open
    Fd out_reader_, err_reader_;  ///< -d without -t: the container's output
    Fd log_;                      ///< -d: $dir/log
    Fd notify_;                   ///< -d, the monitor's end: "started" to the waiting command line
    std::optional<RawMode> raw_;  ///< -t, attached
    std::optional<Relay> relay_;
};

}  // namespace minidocker
