// container_commands.cpp - chapter 06's subcommands, in Docker's words:
//
//   exec [-i] [-t] [-e K=V] [-w DIR] CONTAINER CMD...
//   ps [-a] [-q] [--no-trunc]          running (all) containers
//   inspect [-f TEMPLATE] CONTAINER... Docker's JSON, or the template filled in
//   logs [-f] CONTAINER                what it wrote (and will write, with -f)
//   stop [-t S] CONTAINER...           SIGTERM; SIGKILL after S seconds
//   kill [-s SIG] CONTAINER...         a signal (default KILL)
//   wait CONTAINER...                  until it exits; prints its exit code
//   rm [-f] CONTAINER...               remove (-f: kill it first)
//   ns PID|CONTAINER [--vs PID|CONTAINER] [--json]
//
// Signals go through a pidfd, opened and then checked against the process's
// start time: a pid that was reused by another process is never signalled.
#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <thread>

#include "error.hpp"
#include "exec.hpp"
#include "guard.hpp"
#include "inspect.hpp"
#include "lifecycle.hpp"
#include "mountinfo.hpp"
#include "ns_inspector.hpp"
#include "state.hpp"
#include "sys.hpp"
#include "trace.hpp"

namespace minidocker {

namespace {

using namespace std::chrono_literals;

// "KILL", "SIGKILL", "kill" or "9".
int parse_signal(const std::string& text) {
    if (!text.empty() && std::all_of(text.begin(), text.end(), ::isdigit)) {
        int n = std::atoi(text.c_str());
        if (n >= 1 && n < NSIG) {
            return n;
        }
    }
    std::string name = text;
    std::transform(name.begin(), name.end(), name.begin(), ::toupper);
    if (name.rfind("SIG", 0) == 0) {
        name.erase(0, 3);
    }
    for (int sig = 1; sig < SIGRTMIN; ++sig) {
        const char* abbrev = sigabbrev_np(sig);
        if (abbrev != nullptr && name == abbrev) {
            return sig;
        }
    }
    throw UsageError(fmt::format("invalid signal: {}", text));
}

//! [ch06-pidfd]
// A descriptor for the container's PID 1 that cannot come to mean another
// process; none when it is not running.
Fd open_init(const ContainerView& v) {
    if (!v.running) {
        return Fd();
    }
    int fd = static_cast<int>(::syscall(SYS_pidfd_open, v.state.pid, 0));
    if (fd < 0) {
        return Fd();  // it exited just now
    }
    Fd pidfd(fd);
    if (v.monitor.init_start != 0 && process_start_time(v.state.pid) != v.monitor.init_start) {
        return Fd();
    }
    return pidfd;
}

void send_signal(const Fd& pidfd, pid_t pid, int sig) {
    sys::pidfd_send_signal({pidfd.get(), fmt::format("pidfd of {}", pid)}, sig);
}
//! [ch06-pidfd]

// True once the process is gone (or after `timeout`; negative: no limit).
bool wait_gone(const Fd& pidfd, std::chrono::milliseconds timeout) {
    pollfd p{pidfd.get(), POLLIN, 0};
    int rc;
    do {
        rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
    } while (rc < 0 && errno == EINTR);
    return rc > 0;
}

// After its PID 1 is gone: until the monitor has written down how it
// ended. Returns the final view; nullopt if --rm removed it meanwhile.
std::optional<ContainerView> wait_recorded(const Store& store, const std::string& id) {
    for (;;) {
        if (!std::filesystem::exists(store.container_dir(id) + "/config.json")) {
            return std::nullopt;
        }
        ContainerView v = load_container(store, id);
        if (v.state.status != "running") {
            return v;
        }
        std::this_thread::sleep_for(10ms);
    }
}

std::optional<ContainerView> wait_exit(const Store& store, const std::string& id) {
    ContainerView v = load_container(store, id);
    if (Fd pidfd = open_init(v)) {
        wait_gone(pidfd, -1ms);
    }
    return wait_recorded(store, id);
}

// "Up 3 seconds", "Exited (0) 2 minutes ago", "Created".
std::string status_text(const ContainerView& v) {
    if (v.running) {
        return "Up " + human_duration(seconds_since(v.state.started_at));
    }
    if (v.state.status == "created") {
        return "Created";
    }
    return fmt::format("Exited ({}) {} ago", v.state.exit_code, human_duration(seconds_since(v.state.finished_at)));
}

std::string truncate(const std::string& s, size_t width) {
    return s.size() <= width ? s : s.substr(0, width - 1) + "…";
}

// Chapter 02's default place for a container's cgroups, in every cgroup
// hierarchy mounted here: <mountpoint>/minidocker/<id>, where it exists.
std::vector<std::string> default_cgroup_dirs(const std::string& id) {
    std::vector<std::string> dirs;
    for (const MountEntry& m : parse_mountinfo(read_text_file("/proc/self/mountinfo"))) {
        std::string dir = m.point + "/minidocker/" + id;
        if ((m.fstype == "cgroup" || m.fstype == "cgroup2") && std::filesystem::is_directory(dir)) {
            dirs.push_back(dir);
        }
    }
    return dirs;
}

// The cgroups a container left behind when its monitor was killed: the
// ones it wrote down, and chapter 02's default place for ones it had no
// time to write down.
void remove_cgroups(const ContainerView& v) {
    std::vector<std::string> dirs = v.monitor.cgroup_dirs;
    for (const std::string& dir : default_cgroup_dirs(v.config.id)) {
        if (std::find(dirs.begin(), dirs.end(), dir) == dirs.end()) {
            dirs.push_back(dir);
        }
    }
    for (const std::string& dir : dirs) {
        for (int attempt = 0; attempt < 100; ++attempt) {
            if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) {
                trace::step(fmt::format("rmdir(\"{}\") = 0", dir));
                break;
            }
            if (errno != EBUSY) {
                throw_errno(fmt::format("rmdir(\"{}\")", dir));
            }
            // Strays that outlived PID 1 (no PID namespace): kill them.
            std::istringstream pids(read_text_file(dir + "/cgroup.procs"));
            for (pid_t pid = 0; pids >> pid;) {
                ::kill(pid, SIGKILL);
            }
            std::this_thread::sleep_for(10ms);
        }
        // The shared minidocker/ parent too, if we were the last one out
        // (EBUSY while another container has a cgroup in it).
        std::string parent = dir.substr(0, dir.rfind('/'));
        if (parent.size() >= 11 && parent.compare(parent.size() - 11, 11, "/minidocker") == 0) {
            ::rmdir(parent.c_str());
        }
    }
}

// A frozen process does not die of SIGKILL until it is thawed (cgroup v1),
// and a `commit` killed while the container was frozen (chapter 07) leaves it
// so. Thaw whatever freezer holds the container before killing it.
void thaw(const std::string& id) {
    for (const std::string& dir : default_cgroup_dirs(id)) {
        for (const auto& [file, thawed] : {std::pair{"/freezer.state", "THAWED"}, std::pair{"/cgroup.freeze", "0"}}) {
            std::string path = dir;
            path += file;
            if (std::filesystem::exists(path) && read_text_file(path).rfind(thawed, 0) != 0) {
                sys::write_file(path, thawed);
            }
        }
    }
}

// Is the process `pid` that started at `start` still there (not a zombie)?
bool still_there(pid_t pid, unsigned long long start) { return pid > 0 && process_start_time(pid) == start; }

//! [ch06-rm]
void remove_container(const Store& store, const std::string& id, bool force) {
    ContainerView v = load_container(store, id);
    if (!v.running && v.monitor_alive && v.state.status == "created") {
        // Still starting, by a monitor whose command line was killed (or by
        // another `run` right now). Stop that start first: racing it, we
        // could remove what it has made while it goes on making more.
        if (!force) {
            throw UsageError(fmt::format("cannot remove container {}: it is starting; use rm -f", v.config.name));
        }
        ::kill(v.monitor.monitor_pid, SIGKILL);
        for (int i = 0; i < 500 && still_there(v.monitor.monitor_pid, v.monitor.monitor_start); ++i) {
            std::this_thread::sleep_for(10ms);
        }
        v = load_container(store, id);
    }
    bool killed = false;
    if (v.running) {
        if (!force) {
            throw UsageError(
                fmt::format("cannot remove container {}: it is running (pid {}); stop it first or use rm -f",
                            v.config.name, v.state.pid));
        }
        thaw(id);
        if (Fd pidfd = open_init(v)) {
            send_signal(pidfd, v.state.pid, SIGKILL);
            wait_gone(pidfd, -1ms);
            killed = true;
        }
    }
    // Let a live monitor finish its part (state, cgroups, --rm) first. Ask
    // the process, not monitor.json: with --rm the monitor deletes that file
    // on its way out, while it is still removing the rest of the folder.
    for (int i = 0; i < 1000 && still_there(v.monitor.monitor_pid, v.monitor.monitor_start); ++i) {
        std::this_thread::sleep_for(10ms);
    }
    if (!std::filesystem::exists(store.container_dir(id))) {
        return;  // --rm: the monitor removed it
    }
    remove_cgroups(v);
    Fd lock = store.lock();
    ContainerState state = store.container_state(id);
    if (state.status == "running") {
        // No monitor wrote down the end (it was killed): we do, so that
        // chapter 04's check does not mistake an unreaped zombie for a
        // running container.
        state.status = "exited";
        state.exit_code = killed ? 128 + SIGKILL : 255;
        state.finished_at = now_rfc3339();
        store.save_container_state(id, state);
    }
    if (std::filesystem::exists(store.container_dir(id))) {
        store.remove_container(id);
    }
}
//! [ch06-rm]

void add_exec_command(Runtime& rt) {
    auto request = std::make_shared<ExecRequest>();
    auto name = std::make_shared<std::string>();
    CLI::App* exec = rt.add_command("exec", "Run a command in a running container", [&rt, request, name] {
        // Until its execve the command is this very program, inside the
        // container: run it from a view of our binary nothing can write to.
        {
            trace::Owner owner("06 exec");
            run_from_read_only_binary();
        }
        Store store{rt.root_dir()};
        ContainerView v = load_container(store, store.container_id(*name));
        if (!v.running) {
            throw UsageError(fmt::format("container {} is not running", *name));
        }
        try {
            return exec_in_container(v, *request);
        } catch (const ExecFailed& e) {
            fmt::print(stderr, "{}: {}\n", rt.program(), e.what());
            return e.exit_code;
        }
    });
    exec->positionals_at_end();  // options stop at the container's name
    exec->add_flag("-i,--interactive", request->interactive, "Keep stdin open");
    exec->add_flag("-t,--tty", request->tty, "Give the command a terminal of its own");
    exec->add_option("-e,--env", request->env, "Set an environment variable K=V");
    exec->add_option("-w,--workdir", request->working_dir, "Working directory inside the container");
    exec->add_option("container", *name, "Name or id")->required();
    exec->add_option("command", request->command, "The command and its arguments")->required();
}

struct PsOptions {
    bool all = false, quiet = false, no_trunc = false;
};

void print_ps(const Store& store, const PsOptions& opts) {
    std::vector<ContainerView> views;
    for (const ContainerConfig& c : store.containers()) {
        try {
            views.push_back(load_container(store, c.id));
        } catch (const std::exception&) {
            // removed while we looked
        }
    }
    std::sort(views.begin(), views.end(),
              [](const ContainerView& a, const ContainerView& b) { return a.config.created > b.config.created; });
    if (!opts.quiet) {
        fmt::print("{:<14} {:<15} {:<24} {:<16} {:<28} {}\n", "CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS",
                   "NAMES");
    }
    for (const ContainerView& v : views) {
        if (!v.running && !opts.all) {
            continue;
        }
        std::string id = opts.no_trunc ? v.config.id : v.config.id.substr(0, 12);
        if (opts.quiet) {
            fmt::print("{}\n", id);
            continue;
        }
        std::string command = fmt::format("{}", fmt::join(v.config.command, " "));
        command = "\"" + (opts.no_trunc ? command : truncate(command, 20)) + "\"";
        std::string created = human_duration(seconds_since(v.config.created)) + " ago";
        fmt::print("{:<14} {:<15} {:<24} {:<16} {:<28} {}\n", id, v.config.image, command, created, status_text(v),
                   v.config.name);
    }
}

void add_ps_command(Runtime& rt) {
    auto opts = std::make_shared<PsOptions>();
    CLI::App* ps = rt.add_command("ps", "List containers", [&rt, opts] {
        print_ps(Store{rt.root_dir()}, *opts);
        return 0;
    });
    ps->add_flag("-a,--all", opts->all, "Also the containers that are not running");
    ps->add_flag("-q,--quiet", opts->quiet, "Only the ids");
    ps->add_flag("--no-trunc", opts->no_trunc, "Whole ids and commands");
}

// What the container wrote, from its log; with `follow`, until it exits.
void print_logs(const Store& store, const std::string& id, bool follow) {
    std::string path = store.container_dir(id) + "/log";
    std::string data;
    size_t offset = 0;
    for (;;) {
        // Running now? Ask before reading: what it wrote before it
        // exited is then surely in the file we read next.
        bool running = follow && load_container(store, id).running;
        try {
            data = read_text_file(path);
        } catch (const std::system_error&) {
            // no log: it was not started with -d
        }
        for (const LogRecord& r : parse_log(data, offset)) {
            std::FILE* to = r.stream == "stderr" ? stderr : stdout;
            std::fwrite(r.text.data(), 1, r.text.size(), to);
            std::fflush(to);
        }
        if (!running) {
            return;
        }
        std::this_thread::sleep_for(50ms);
    }
}

void add_logs_command(Runtime& rt) {
    struct LogsOptions {
        bool follow = false;
        std::string name;
    };
    auto opts = std::make_shared<LogsOptions>();
    CLI::App* logs = rt.add_command("logs", "What a container wrote to stdout and stderr", [&rt, opts] {
        Store store{rt.root_dir()};
        print_logs(store, store.container_id(opts->name), opts->follow);
        return 0;
    });
    logs->add_flag("-f,--follow", opts->follow, "Keep printing until the container exits");
    logs->add_option("container", opts->name, "Name or id")->required();
}

void stop_container(const Store& store, const std::string& id, int timeout) {
    ContainerView v = load_container(store, id);
    //! [ch06-stop]
    if (Fd pidfd = open_init(v)) {
        send_signal(pidfd, v.state.pid, SIGTERM);
        // PID 1 ignores signals it has no handler for: then only
        // SIGKILL (which no process can ignore) ends it.
        if (!wait_gone(pidfd, std::chrono::seconds(timeout))) {
            send_signal(pidfd, v.state.pid, SIGKILL);
            wait_gone(pidfd, -1ms);
        }
        wait_recorded(store, id);
    }
    //! [ch06-stop]
}

void add_stop_command(Runtime& rt) {
    struct StopOptions {
        int timeout = 10;
        std::vector<std::string> names;
    };
    auto opts = std::make_shared<StopOptions>();
    CLI::App* stop = rt.add_command("stop", "SIGTERM, then SIGKILL after a grace period", [&rt, opts] {
        Store store{rt.root_dir()};
        trace::Owner owner("06 exec");
        for (const std::string& name : opts->names) {
            stop_container(store, store.container_id(name), opts->timeout);
            fmt::print("{}\n", name);
        }
        return 0;
    });
    stop->add_option("-t,--time", opts->timeout, "Seconds to wait before SIGKILL")->capture_default_str();
    stop->add_option("container", opts->names, "Name or id")->required();
}

void add_kill_command(Runtime& rt) {
    struct KillOptions {
        std::string signal = "KILL";
        std::vector<std::string> names;
    };
    auto opts = std::make_shared<KillOptions>();
    CLI::App* kill = rt.add_command("kill", "Send a signal to a container's PID 1", [&rt, opts] {
        int sig = parse_signal(opts->signal);
        Store store{rt.root_dir()};
        trace::Owner owner("06 exec");
        for (const std::string& name : opts->names) {
            ContainerView v = load_container(store, store.container_id(name));
            Fd pidfd = open_init(v);
            if (!pidfd) {
                throw UsageError(fmt::format("container {} is not running", name));
            }
            send_signal(pidfd, v.state.pid, sig);
            fmt::print("{}\n", name);
        }
        return 0;
    });
    kill->add_option("-s,--signal", opts->signal, "KILL, TERM, SIGHUP, 9...")->capture_default_str();
    kill->add_option("container", opts->names, "Name or id")->required();
}

void add_wait_command(Runtime& rt) {
    auto names = std::make_shared<std::vector<std::string>>();
    CLI::App* wait = rt.add_command("wait", "Wait for containers to exit; print their exit codes", [&rt, names] {
        Store store{rt.root_dir()};
        for (const std::string& name : *names) {
            std::optional<ContainerView> v = wait_exit(store, store.container_id(name));
            if (!v) {
                throw UsageError(
                    fmt::format("container {} was removed (--rm) before its exit code could be read", name));
            }
            fmt::print("{}\n", v->state.exit_code);
            std::fflush(stdout);
        }
        return 0;
    });
    wait->add_option("container", *names, "Name or id")->required();
}

// `rm` of chapter 04 refuses running containers; ours can kill them first
// and cleans up after a monitor that was killed.
void replace_rm_command(Runtime& rt) {
    rt.app().remove_subcommand(rt.app().get_subcommand("rm"));
    struct RmOptions {
        bool force = false;
        std::vector<std::string> names;
    };
    auto opts = std::make_shared<RmOptions>();
    CLI::App* rm = rt.add_command("rm", "Remove containers", [&rt, opts] {
        Store store{rt.root_dir()};
        trace::Owner owner("06 exec");
        for (const std::string& name : opts->names) {
            remove_container(store, store.container_id(name), opts->force);
            fmt::print("{}\n", name);
        }
        return 0;
    });
    rm->add_flag("-f,--force", opts->force, "Kill a running container first");
    rm->add_option("container", opts->names, "Name or id")->required();
}

// Chapter 01's `ns` takes pids; this one takes container names too.
void replace_ns_command(Runtime& rt) {
    rt.app().remove_subcommand(rt.app().get_subcommand("ns"));
    struct NsOptions {
        std::string target, vs;
        bool json = false;
    };
    auto opts = std::make_shared<NsOptions>();
    CLI::App* ns = rt.add_command("ns", "Show a process's or a container's namespaces", [&rt, opts] {
        Store store{rt.root_dir()};
        pid_t pid = resolve_pid(store, opts->target);
        pid_t vs = opts->vs.empty() ? 0 : resolve_pid(store, opts->vs);
        NsReport report = inspect_namespaces(pid, vs);
        fmt::print("{}", opts->json ? format_ns_json(report) : format_ns_table(report));
        return 0;
    });
    ns->add_option("target", opts->target, "A pid or a container's name or id")->required();
    ns->add_option("--vs", opts->vs, "Compare with this pid or container (default: the host's PID 1)");
    ns->add_flag("--json", opts->json, "Print JSON instead of a table");
}

}  // namespace

void Lifecycle::add_commands(Runtime& rt) {
    add_exec_command(rt);
    add_ps_command(rt);
    add_inspect_command(rt);
    add_logs_command(rt);
    add_stop_command(rt);
    add_kill_command(rt);
    add_wait_command(rt);
    replace_rm_command(rt);
    replace_ns_command(rt);
}

}  // namespace minidocker
