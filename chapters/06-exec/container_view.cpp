// container_view.cpp - chapter 06: a container's records read back, and
// checked against the kernel. See container_view.hpp.
#include "container_view.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <sstream>

#include "error.hpp"
#include "mountinfo.hpp"
#include "state.hpp"

namespace minidocker {

void to_json(nlohmann::json& j, const MonitorInfo& m) {
    j = {{"MonitorPid", m.monitor_pid},
         {"MonitorStart", m.monitor_start},
         {"InitStart", m.init_start},
         {"Detached", m.detached},
         {"Tty", m.tty},
         {"OpenStdin", m.open_stdin},
         {"CgroupDirs", m.cgroup_dirs},
         {"Memory", m.memory},
         {"PidsLimit", m.pids_limit}};
}

void from_json(const nlohmann::json& j, MonitorInfo& m) {
    m.monitor_pid = j.value("MonitorPid", 0);
    m.monitor_start = j.value("MonitorStart", 0ULL);
    m.init_start = j.value("InitStart", 0ULL);
    m.detached = j.value("Detached", false);
    m.tty = j.value("Tty", false);
    m.open_stdin = j.value("OpenStdin", false);
    m.cgroup_dirs = j.value("CgroupDirs", std::vector<std::string>{});
    m.memory = j.value("Memory", 0LL);
    m.pids_limit = j.value("PidsLimit", 0LL);
}

std::optional<unsigned long long> process_start_time(pid_t pid) {
    std::string stat;
    try {
        stat = read_text_file(fmt::format("/proc/{}/stat", pid));
    } catch (const std::system_error&) {
        return std::nullopt;
    }
    // "PID (comm) S ppid ...": comm may hold spaces and parentheses, so
    // count the fields after the last ')'. State is field 3, starttime 22.
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));
    std::string state;
    fields >> state;
    std::string field;
    for (int i = 4; i < 22; ++i) {
        fields >> field;
    }
    unsigned long long start = 0;
    if (!(fields >> start) || state == "Z" || state == "X") {
        return std::nullopt;  // a zombie has exited already
    }
    return start;
}

std::vector<std::string> container_cgroup_dirs(pid_t pid, const std::string& id) {
    // Where each cgroup hierarchy is mounted, and which part of it it shows.
    std::vector<MountEntry> hierarchies;
    for (MountEntry& m : parse_mountinfo(read_text_file("/proc/self/mountinfo"))) {
        if (m.fstype == "cgroup" || m.fstype == "cgroup2") {
            m.super_options = "," + m.super_options + ",";  // ",rw,memory," finds ",memory,"
            hierarchies.push_back(std::move(m));
        }
    }
    // /proc/PID/cgroup: "4:memory:/minidocker/<id>" (v1), "0::/minidocker/<id>" (v2).
    std::vector<std::string> dirs;
    std::istringstream cgroups(read_text_file(fmt::format("/proc/{}/cgroup", pid)));
    for (std::string line; std::getline(cgroups, line);) {
        size_t first = line.find(':');
        size_t second = line.find(':', first + 1);
        std::string controllers = line.substr(first + 1, second - first - 1);
        std::string path = line.substr(second + 1);
        if (path.substr(path.rfind('/') + 1) != id) {
            continue;  // not one chapter 02 made for this container
        }
        for (const MountEntry& h : hierarchies) {
            bool match = controllers.empty() ? h.fstype == "cgroup2" : h.fstype == "cgroup";
            std::istringstream names(controllers);
            for (std::string name; match && std::getline(names, name, ',');) {
                match = h.super_options.find("," + name + ",") != std::string::npos;
            }
            if (match && path.rfind(h.root == "/" ? "" : h.root, 0) == 0) {
                dirs.push_back(h.point + path.substr(h.root == "/" ? 0 : h.root.size()));
                break;
            }
        }
    }
    return dirs;
}

long long cgroup_limit(const std::vector<std::string>& dirs, const std::vector<std::string>& files) {
    for (const std::string& dir : dirs) {
        for (const std::string& file : files) {
            // Each hierarchy has only its own controllers' files. Look before
            // reading: in a normal run this would be the first throw, and the
            // first throw of a static program costs milliseconds (the
            // unwinder sorts its tables then).
            std::string path = join_path(dir, file);
            if (::access(path.c_str(), R_OK) != 0) {
                continue;
            }
            try {
                std::string text = read_text_file(path);
                long long value = std::atoll(text.c_str());
                // "max" (v2), or v1's "no limit": a huge page-rounded number.
                return text.rfind("max", 0) == 0 || value >= (1LL << 62) ? 0 : value;
            } catch (const std::system_error&) {
                // not this hierarchy
            }
        }
    }
    return 0;
}

//! [ch06-state]
ContainerView load_container(const Store& store, const std::string& id) {
    ContainerView v;
    v.config = store.container_config(id);
    v.dir = store.container_dir(id);
    try {
        v.monitor = read_json(v.dir + "/monitor.json").get<MonitorInfo>();
    } catch (const std::exception&) {
        // not written yet (or by a chapter before 06)
    }
    // Is the monitor alive? Asked before state.json is read: a monitor that
    // is gone by now wrote all it was going to write before we read it.
    if (v.monitor.monitor_pid > 0) {
        std::optional<unsigned long long> start = process_start_time(v.monitor.monitor_pid);
        v.monitor_alive = start && *start == v.monitor.monitor_start;
    }
    v.state = store.container_state(id);
    if (v.state.status == "running" && v.state.pid > 0) {
        std::optional<unsigned long long> start = process_start_time(v.state.pid);
        v.running = start && (v.monitor.init_start == 0 || *start == v.monitor.init_start);
    }
    if (v.state.status == "running" && !v.running && !v.monitor_alive) {
        // Both gone and nobody wrote down how it ended: Docker says 255.
        v.state.status = "exited";
        v.state.exit_code = 255;
    }
    return v;
}
//! [ch06-state]

pid_t resolve_pid(const Store& store, const std::string& what) {
    if (!what.empty() && std::all_of(what.begin(), what.end(), ::isdigit)) {
        return static_cast<pid_t>(std::stol(what));
    }
    std::string id;
    try {
        id = store.container_id(what);
    } catch (const UsageError&) {
        throw UsageError(fmt::format("\"{}\" is neither a pid nor the name or id of a container", what));
    }
    ContainerView v = load_container(store, id);
    if (!v.running) {
        throw UsageError(fmt::format("container {} is not running", what));
    }
    return v.state.pid;
}

}  // namespace minidocker
