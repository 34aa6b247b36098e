// privileges_commands.cpp - chapter 09's commands:
//   exec -u USER[:GROUP] / --privileged   chapter 06's exec, with the container's
//                                         privileges dropped as `run` drops them
//   seccomp default                       the built-in profile, as Docker's JSON
//   privileges PID|NAME [--json]          what a process may do: capability sets
//                                         by name, seccomp, no_new_privs, id maps
#include <fmt/format.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "capabilities.hpp"
#include "container_view.hpp"
#include "exec.hpp"
#include "privileges.hpp"
#include "seccomp.hpp"
#include "state.hpp"
#include "store.hpp"
#include "trace.hpp"

namespace minidocker {

namespace {

struct ExecPrivileges {
    std::string user;  // exec -u
    bool privileged = false;
    PrivilegeSettings settings;  // the container's, read before entering it
    std::string filter;
    bool active = false;  // the container has chapter 09's record
};

// exec: read the container's records on the host (prepare), drop in the
// child (last_step).
void extend_exec(Runtime& rt) {
    CLI::App* exec = rt.app().get_subcommand("exec");
    auto p = std::make_shared<ExecPrivileges>();
    exec->add_option("-u,--user", p->user, "Run as USER[:GROUP] (names from the container's /etc/passwd)");
    exec->add_flag("--privileged", p->privileged, "Give the command every capability and no seccomp filter");
    add_exec_extension({
        .prepare =
            [p](const ContainerView& view) {
                // A container an earlier chapter started has no record:
                // it runs with every privilege, and so does what enters it.
                p->active = ::access((view.dir + "/security.json").c_str(), R_OK) == 0;
                if (!p->active) {
                    return;
                }
                nlohmann::json s = read_json(view.dir + "/security.json");
                p->settings.capabilities = s.value("Capabilities", docker_default_capabilities());
                p->settings.no_new_privs = s.value("NoNewPrivileges", false);
                p->settings.seccomp = s.value("Seccomp", "default");
                p->settings.user = p->user.empty() ? s.value("User", "") : p->user;
                p->settings.group_add = s.value("GroupAdd", std::vector<std::string>{});
                if (p->privileged) {
                    p->settings.capabilities = held_capabilities();
                    p->settings.privileged = true;
                } else if (p->settings.seccomp != "unconfined") {
                    p->filter = read_text_file(view.dir + "/seccomp.bpf");
                }
            },
        .last_step =
            [p](const ContainerView& /*view*/, std::vector<std::string>& env) {
                if (!p->active) {
                    return;
                }
                trace::Owner owner("09 privileges");
                become_user(p->settings, p->filter, env);
            },
    });
}

void add_seccomp_command(Runtime& rt) {
    CLI::App* seccomp = rt.app().add_subcommand("seccomp", "Seccomp profiles");
    seccomp->require_subcommand(1);
    CLI::App* def = seccomp->add_subcommand("default", "Print the default profile, in Docker's JSON format");
    def->callback([] { fmt::print("{}\n", profile_json(default_seccomp_profile()).dump(1, '\t')); });
}

// "CapEff:\t00000000a80425fb" and the like, from /proc/PID/status.
std::map<std::string, std::string> status_fields(pid_t pid) {
    std::map<std::string, std::string> fields;
    std::istringstream in(read_text_file(fmt::format("/proc/{}/status", pid)));
    for (std::string line; std::getline(in, line);) {
        size_t colon = line.find(':');
        if (colon != std::string::npos) {
            std::string value = line.substr(colon + 1);
            value.erase(0, value.find_first_not_of(" \t"));
            fields[line.substr(0, colon)] = value;
        }
    }
    return fields;
}

std::string first_line_of(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

void add_privileges_command(Runtime& rt) {
    struct Options {
        std::string target;
        bool json = false;
    };
    auto opts = std::make_shared<Options>();
    CLI::App* cmd = rt.add_command("privileges", "Show what a process or container may do", [&rt, opts] {
        pid_t pid = resolve_pid(Store{rt.root_dir()}, opts->target);
        std::map<std::string, std::string> f = status_fields(pid);
        nlohmann::json j = {{"Pid", pid}};
        std::string table = fmt::format("PID {}\n", pid);
        for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}) {
            uint64_t mask = std::stoull(f[set], nullptr, 16);
            std::vector<std::string> names = capability_names(mask);
            j[set] = {{"Hex", f[set]}, {"Names", names}};
            std::string shown = mask == all_capabilities() ? "(all)" : fmt::format("{}", fmt::join(names, " "));
            table += fmt::format("{:<11} {}  {}\n", set, f[set], shown);
        }
        static const char* const modes[] = {"disabled", "strict", "filter"};
        int seccomp = std::stoi(f["Seccomp"]);
        j["Seccomp"] = seccomp;
        j["NoNewPrivs"] = std::stoi(f["NoNewPrivs"]);
        table +=
            fmt::format("{:<11} {} ({})\n", "Seccomp", seccomp, seccomp >= 0 && seccomp <= 2 ? modes[seccomp] : "?");
        table += fmt::format("{:<11} {}\n", "NoNewPrivs", f["NoNewPrivs"]);
        for (const char* ids : {"Uid", "Gid", "Groups"}) {
            j[ids] = f[ids];
            table += fmt::format("{:<11} {}\n", ids, f[ids]);
        }
        for (const char* map : {"uid_map", "gid_map"}) {
            std::string line = first_line_of(fmt::format("/proc/{}/{}", pid, map));
            j[map] = line;
            table += fmt::format("{:<11} {}\n", map, line);
        }
        fmt::print("{}", opts->json ? j.dump(2) + "\n" : table);
        return 0;
    });
    cmd->add_option("target", opts->target, "A pid or a container's name or id")->required();
    cmd->add_flag("--json", opts->json, "Print JSON instead of a table");
}

}  // namespace

void Privileges::add_commands(Runtime& rt) {
    extend_exec(rt);
    add_seccomp_command(rt);
    add_privileges_command(rt);
}

}  // namespace minidocker
