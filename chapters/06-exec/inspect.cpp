// inspect.cpp - chapter 06's `inspect`: Docker's JSON for a container, or
// a Go template filled in with it. See inspect.hpp.
#include "inspect.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <memory>

#include "state.hpp"
#include "template.hpp"

namespace minidocker {

namespace {

// Chapter 05's mounts.json, with the fields Docker adds; and what -v said
// for each (HostConfig.Binds): a host path or a volume's name.
struct Mounts {
    nlohmann::json mounts = nlohmann::json::array();
    nlohmann::json binds = nlohmann::json::array();
};

Mounts read_mounts(const ContainerView& v) {
    Mounts out;
    try {
        out.mounts = read_json(v.dir + "/mounts.json");
    } catch (const std::exception&) {
        // no volumes (or a chapter before 05)
    }
    for (nlohmann::json& m : out.mounts) {
        m["Mode"] = m.value("RW", true) ? "" : "ro";
        m["Propagation"] = "rprivate";
        // An anonymous volume's name is 64 hex digits, and Docker lists it
        // elsewhere.
        std::string type = m.value("Type", "");
        std::string name = m.value("Name", "");
        std::string source = type == "bind" ? m.value("Source", "") : name;
        if (type == "bind" || (type == "volume" && name.size() != 64)) {
            out.binds.push_back(source + ":" + m.value("Destination", "") + (m.value("RW", true) ? "" : ":ro"));
        }
    }
    return out;
}

nlohmann::json state_json(const ContainerView& v) {
    bool monitor_killed =
        v.state.status == "exited" && v.state.exit_code == 255 && !v.monitor_alive && v.state.finished_at.empty();
    return {{"Status", v.running ? "running" : v.state.status},
            {"Running", v.running},
            {"Paused", false},
            {"Restarting", false},
            {"OOMKilled", v.state.oom_killed},
            {"Dead", false},
            {"Pid", v.running ? v.state.pid : 0},
            {"ExitCode", v.state.exit_code},
            {"Error", monitor_killed ? "its monitor was killed: the exit code is lost" : ""},
            {"StartedAt", v.state.started_at},
            {"FinishedAt", v.state.finished_at},
            {"MonitorPid", v.monitor_alive ? v.monitor.monitor_pid : 0}};
}

// The overlay's directories, as chapter 04 stacked them.
nlohmann::json graph_driver_json(const ContainerView& v) {
    std::vector<std::string> lowers = {v.dir + "/init"};
    for (auto layer = v.config.layers.rbegin(); layer != v.config.layers.rend(); ++layer) {
        lowers.push_back(std::filesystem::path(v.dir).parent_path().parent_path() / "layers" / *layer);
    }
    return {{"Name", "overlay"},
            {"Data",
             {{"LowerDir", fmt::format("{}", fmt::join(lowers, ":"))},
              {"UpperDir", v.dir + "/upper"},
              {"WorkDir", v.dir + "/work"},
              // The overlay is mounted in the container's mount namespace
              // only; from the host, its root is /proc/PID/root.
              {"MergedDir", v.running ? fmt::format("/proc/{}/root", v.state.pid) : v.dir + "/merged"}}}};
}

nlohmann::json config_json(const ContainerView& v) {
    const ContainerConfig& c = v.config;
    return {{"Hostname", c.hostname},
            {"Env", c.env},
            {"Cmd", c.command},
            {"Image", c.image},
            {"WorkingDir", c.working_dir},
            {"Tty", v.monitor.tty},
            {"OpenStdin", v.monitor.open_stdin},
            {"AttachStdin", !v.monitor.detached && v.monitor.open_stdin},
            {"AttachStdout", !v.monitor.detached},
            {"AttachStderr", !v.monitor.detached}};
}

}  // namespace

nlohmann::json inspect_json(const ContainerView& v) {
    const ContainerConfig& c = v.config;
    Mounts mounts = read_mounts(v);
    nlohmann::json j = {
        {"Id", c.id},
        {"Created", c.created},
        {"Path", c.command.empty() ? "" : c.command[0]},
        {"Args", c.command.empty() ? std::vector<std::string>{}
                                   : std::vector<std::string>(c.command.begin() + 1, c.command.end())},
        {"State", state_json(v)},
        {"Image", "sha256:" + c.image_id},
        {"ResolvConfPath", v.dir + "/init/etc/resolv.conf"},
        {"HostnamePath", v.dir + "/init/etc/hostname"},
        {"HostsPath", v.dir + "/init/etc/hosts"},
        {"LogPath", v.dir + "/log"},
        {"Name", "/" + c.name},
        {"RestartCount", 0},
        {"Driver", "overlay"},
        {"HostConfig",
         {{"AutoRemove", c.auto_remove},
          {"Binds", mounts.binds},
          {"Memory", v.monitor.memory},
          {"PidsLimit", v.monitor.pids_limit}}},
        {"GraphDriver", graph_driver_json(v)},
        {"Mounts", mounts.mounts},
        {"Config", config_json(v)},
    };
    // Later chapters' fields, each in a file of its own, inspect*.json
    // (08: HostConfig.NetworkMode in inspect.json; 09: HostConfig.CapAdd...
    // in inspect.09.json), merged in name order in the way `docker inspect`
    // shows them: the same objects, more keys.
    std::vector<std::string> extra;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(v.dir, ec)) {
        std::string name = entry.path().filename().string();
        if (name.rfind("inspect", 0) == 0 && name.size() > 5 && name.substr(name.size() - 5) == ".json") {
            extra.push_back(entry.path().string());
        }
    }
    std::sort(extra.begin(), extra.end());
    for (const std::string& file : extra) {
        j.update(read_json(file), /*merge_objects=*/true);  // (a null stays a null)
    }
    return j;
}

void add_inspect_command(Runtime& rt) {
    auto format = std::make_shared<std::string>();
    auto names = std::make_shared<std::vector<std::string>>();
    CLI::App* inspect = rt.add_command("inspect", "Everything about containers, as JSON", [&rt, format, names] {
        Store store{rt.root_dir()};
        nlohmann::json all = nlohmann::json::array();
        std::vector<std::string> lines;
        for (const std::string& name : *names) {
            nlohmann::json j = inspect_json(load_container(store, store.container_id(name)));
            if (format->empty()) {
                all.push_back(j);
            } else {
                lines.push_back(render_template(*format, j));  // all or nothing: errors before any output
            }
        }
        if (format->empty()) {
            fmt::print("{}\n", all.dump(4));
        }
        for (const std::string& line : lines) {
            fmt::print("{}\n", line);
        }
        return 0;
    });
    inspect->add_option("-f,--format", *format, "A Go template, e.g. '{{.State.Pid}}'");
    inspect->add_option("container", *names, "Name or id")->required();
}

}  // namespace minidocker
