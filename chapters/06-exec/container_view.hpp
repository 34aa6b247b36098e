/// \file
/// container_view.hpp - chapter 06: a container that exists, as its records
/// and the kernel say it is.
///
/// The commands that start from a container's name (`exec`, `ps`,
/// `inspect`, `stop`, `rm` ..., chapter 07's `commit`, chapter 08's `--net
/// container:NAME`) know nothing of it but what its folder holds:
///
/// \code{.unparsed}
///   $ROOT/containers/<id>/config.json    how it was created (chapter 04)
///   $ROOT/containers/<id>/state.json     created, running (pid), exited (code)
///   $ROOT/containers/<id>/monitor.json   who waits for it, its cgroups, -d/-i/-t
/// \endcode
///
/// load_container() reads them and checks them against the kernel: a pid
/// plus its start time names one process for good, so "running" means its
/// PID 1 is still the process state.json names. A `run` never reads its own
/// container's records back: it has them in its Container.
#pragma once

#include <sys/types.h>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "store.hpp"

namespace minidocker {

/// $ROOT/containers/\<id\>/monitor.json
struct MonitorInfo {
    pid_t monitor_pid = 0;                 ///< the process that waits for the container
    unsigned long long monitor_start = 0;  ///< its start time, to tell it from a reused pid
    unsigned long long init_start = 0;     ///< the same for the container's PID 1
    bool detached = false;
    bool tty = false;
    bool open_stdin = false;
    std::vector<std::string> cgroup_dirs;  ///< the container's own cgroups, host paths
    long long memory = 0;                  ///< its limits as the kernel has them; 0: none
    long long pids_limit = 0;
};
void to_json(nlohmann::json& j, const MonitorInfo& m);
void from_json(const nlohmann::json& j, MonitorInfo& m);

/// Field 22 of /proc/PID/stat: when the process started, in clock ticks since
/// boot; nullopt when there is no such process. A pid plus its start time
/// names one process for good; a pid alone may be reused.
std::optional<unsigned long long> process_start_time(pid_t pid);

/// The directories of the cgroups that `pid` is in whose name is `id`: the
/// ones chapter 02 made for the container, as host paths.
std::vector<std::string> container_cgroup_dirs(pid_t pid, const std::string& id);

/// The first of `files` found in `dirs`, as a number; 0 for "no limit".
long long cgroup_limit(const std::vector<std::string>& dirs, const std::vector<std::string>& files);

/// Everything known about one container, and whether it still runs.
struct ContainerView {
    ContainerConfig config;
    ContainerState state;
    MonitorInfo monitor;
    std::string dir;
    bool running = false;  ///< its PID 1 is the process that state.json names
    bool monitor_alive = false;
};
ContainerView load_container(const Store& store, const std::string& id);

/// `what` as a pid: a number, or the name or id of a running container
/// (its PID 1). Throws UsageError for anything else.
pid_t resolve_pid(const Store& store, const std::string& what);

}  // namespace minidocker
