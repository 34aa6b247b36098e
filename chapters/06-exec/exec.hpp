/// \file
/// exec.hpp - chapter 06's idea: entering a container is joining its
/// namespaces, with setns().
///
/// Read exec.cpp first. `exec NAME CMD` opens every /proc/PID/ns/* of the
/// container's PID 1, setns() into each (the mount namespace last), takes its
/// root, forks (a PID namespace applies to children only), puts the child in
/// the container's cgroups, and execve()s: nothing else makes a process
/// "inside". The feature that keeps containers running so that there is one
/// to enter, and the commands around them, are in lifecycle.hpp.
///
/// \code{.cpp}
///   Store store{rt.root_dir()};
///   ContainerView view = load_container(store, store.container_id("web"));
///   int code = exec_in_container(view, {.command = {"ps"}});   // ps, in web
/// \endcode
#pragma once

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "container_view.hpp"

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

/// What a later chapter adds to every exec (chapter 09: it drops
/// privileges as its `run` does). `prepare` runs in exec's own process
/// before it enters the container, where the container's records on the
/// host can still be read; `last_step` in the child, in the container's
/// namespaces, root and cgroups, right before execvp; it may change the
/// command's environment. Either may be empty. Extensions run in the order
/// they were added.
struct ExecExtension {
    std::function<void(const ContainerView& view)> prepare;
    std::function<void(const ContainerView& view, std::vector<std::string>& env)> last_step;
};
void add_exec_extension(ExecExtension extension);

}  // namespace minidocker
