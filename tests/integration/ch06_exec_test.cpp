// Chapter 06's claims, proven from outside: `run -d` leaves a container
// running under a monitor process; `exec` enters it by joining the very
// namespaces (same /proc/PID/ns inodes) and cgroups of its PID 1, as
// util-linux's nsenter does; stop, kill, wait, rm -f, logs, ps and inspect
// speak Docker's words and record what the kernel did (exit codes, OOM kills);
// names are taken once even by racing runtimes; a killed monitor or a killed
// `run -d` leaves nothing that `rm -f` cannot remove; terminals (-it) work
// through a real terminal emulator (tmux); bad input is one line, exit 125.
// These tests also run against every later chapter's binary.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>

#include "harness.hpp"

namespace fs = std::filesystem;
using namespace minidocker::test;

namespace {

// The namespaces a container gets its own of, and `exec` must join.
const std::vector<std::string> kOwnNamespaces = {"mnt", "uts", "ipc", "pid", "net"};

std::string store(const std::string& sub) { return state_root() + "/" + sub; }

std::set<std::string> line_set(const std::string& text) {
    std::vector<std::string> all = lines(text);
    return std::set<std::string>(all.begin(), all.end());
}

// (Lines compared without their leading and trailing blanks.)
bool has_line(const std::string& text, const std::string& line) {
    std::vector<std::string> all = lines(text);
    return std::any_of(all.begin(), all.end(), [&](const std::string& l) { return trim(l) == trim(line); });
}

// `inspect -f TEMPLATE NAME`, without the final newline.
std::string inspect_format(const std::string& name, const std::string& tmpl) {
    Result r = runtime({"inspect", "-f", tmpl, name});
    EXPECT_EQ(r.code, 0) << "inspect -f " << tmpl << " " << name << ": " << r.err;
    return trim(r.out);
}

long to_number(const std::string& s) {
    try {
        size_t end = 0;
        long v = std::stol(s, &end);
        return end == s.size() ? v : -1;
    } catch (const std::exception&) {
        return -1;
    }
}

pid_t init_pid(const std::string& name) {
    return static_cast<pid_t>(to_number(inspect_format(name, "{{.State.Pid}}")));
}

// ---- processes, from /proc ----

std::string stat_after_comm(pid_t pid) {
    std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    size_t paren = stat.rfind(')');
    return paren == std::string::npos ? "" : stat.substr(paren + 2);
}

// A process that exists and is not a zombie.
bool alive(pid_t pid) {
    if (pid <= 0) {
        return false;
    }
    std::string rest = stat_after_comm(pid);
    return !rest.empty() && rest[0] != 'Z' && rest[0] != 'X';
}

pid_t parent_of(pid_t pid) {
    std::istringstream in(stat_after_comm(pid));
    std::string state;
    pid_t ppid = -1;
    in >> state >> ppid;
    return ppid;
}

bool descends_from(pid_t pid, pid_t ancestor) {
    for (int depth = 0; pid > 1 && depth < 64; ++depth) {
        pid = parent_of(pid);
        if (pid == ancestor) {
            return true;
        }
    }
    return false;
}

std::string comm_of(pid_t pid) { return trim(read_file("/proc/" + std::to_string(pid) + "/comm")); }

// The command line with its arguments joined by spaces.
std::string cmdline_of(pid_t pid) {
    std::string raw = read_file("/proc/" + std::to_string(pid) + "/cmdline");
    std::replace(raw.begin(), raw.end(), '\0', ' ');
    return trim(raw);
}

std::vector<pid_t> processes_where(const std::function<bool(pid_t)>& match) {
    std::vector<pid_t> found;
    std::error_code ec;
    for (const fs::directory_entry& e : fs::directory_iterator("/proc", ec)) {
        std::string name = e.path().filename();
        if (name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        pid_t pid = std::stoi(name);
        if (pid != ::getpid() && alive(pid) && match(pid)) {
            found.push_back(pid);
        }
    }
    return found;
}

// Host PIDs of the live processes in the PID namespace `link` ("pid:[...]").
std::vector<pid_t> processes_in_pid_ns(const std::string& link) {
    return processes_where([&](pid_t p) { return ns_link(std::to_string(p), "pid") == link; });
}

// Live processes whose command line mentions `text` (this test's --root:
// runtimes and monitors of this test; a unique command: its containers).
std::vector<pid_t> processes_mentioning(const std::string& text) {
    return processes_where([&](pid_t p) { return contains(cmdline_of(p), text); });
}

std::string describe(const std::vector<pid_t>& pids) {
    std::string out;
    for (pid_t p : pids) {
        out += std::to_string(p) + " (" + comm_of(p) + ": " + cmdline_of(p) + ")\n";
    }
    return out;
}

// "NSpid:\t4242\t7" -> {4242, 7}: the process's PID in each of its PID
// namespaces, the host's first.
std::vector<long> ns_pids(pid_t pid) {
    for (const std::string& line : lines(read_file("/proc/" + std::to_string(pid) + "/status"))) {
        if (line.rfind("NSpid:", 0) == 0) {
            std::istringstream in(line.substr(6));
            std::vector<long> out;
            for (long v = 0; in >> v;) {
                out.push_back(v);
            }
            return out;
        }
    }
    return {};
}

// Cgroup directories whose name contains `id`, below any "minidocker" parent
// on any hierarchy (v2: /sys/fs/cgroup/minidocker; v1 and hybrid:
// /sys/fs/cgroup/<controller>/minidocker).
std::vector<std::string> cgroup_dirs_with(const std::string& id) {
    std::vector<std::string> parents = {"/sys/fs/cgroup/minidocker"};
    std::error_code ec;
    for (const fs::directory_entry& e : fs::directory_iterator("/sys/fs/cgroup", ec)) {
        parents.push_back(e.path().string() + "/minidocker");
    }
    std::vector<std::string> found;
    for (const std::string& parent : parents) {
        std::error_code walk;
        for (auto it = fs::recursive_directory_iterator(parent, walk);
             !walk && it != fs::recursive_directory_iterator(); it.increment(walk)) {
            if (it->is_directory(walk) && contains(it->path().filename().string(), id)) {
                found.push_back(it->path());
            }
        }
    }
    return found;
}

// After a failure, so that it does not leak into the host: removes the
// cgroups the runtime left (only empty ones can go), children first.
void remove_empty_cgroups(const std::vector<std::string>& dirs) {
    for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
        ::rmdir(it->c_str());
    }
}

std::string host_mounts() { return read_file("/proc/self/mountinfo"); }

// What a removed container must not leave behind: its directory, a cgroup,
// a process in its PID namespace (when known), a mount of the store on the
// host. Polls a few seconds (a monitor may take a moment to go).
void expect_nothing_left_of(const std::string& id, const std::string& pid_ns) {
    SCOPED_TRACE("container " + id);
    auto clean = [&] {
        return !fs::exists(store("containers/" + id)) && cgroup_dirs_with(id).empty() &&
               (pid_ns.empty() || processes_in_pid_ns(pid_ns).empty()) && !contains(host_mounts(), state_root());
    };
    wait_until(clean, 5);
    EXPECT_FALSE(fs::exists(store("containers/" + id))) << "its directory is left";
    std::vector<std::string> cgroups = cgroup_dirs_with(id);
    EXPECT_TRUE(cgroups.empty()) << cgroups.size() << " cgroups left, e.g. " << cgroups.front();
    remove_empty_cgroups(cgroups);
    if (!pid_ns.empty()) {
        std::vector<pid_t> left = processes_in_pid_ns(pid_ns);
        EXPECT_TRUE(left.empty()) << "processes left in " << pid_ns << ":\n" << describe(left);
    }
    EXPECT_FALSE(contains(host_mounts(), state_root())) << host_mounts();
}

// A tmux server of its own (-L: its own socket, so no one else's session is
// touched) running `command` in a 120x30 window: a real terminal for -it.
// The server is killed on destruction, also when the test fails.
class Tmux {
public:
    explicit Tmux(const std::string& command) {
        static int count = 0;
        socket_ = "minidocker-test-" + std::to_string(::getpid()) + "-" + std::to_string(++count);
        Result r = run({"tmux", "-L", socket_, "-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", "120", "-y",
                        "30", command});
        EXPECT_EQ(r.code, 0) << r.err;
    }
    ~Tmux() { run({"tmux", "-L", socket_, "kill-server"}, "", 10); }
    Tmux(const Tmux&) = delete;
    Tmux& operator=(const Tmux&) = delete;

    std::string screen() { return run({"tmux", "-L", socket_, "capture-pane", "-p", "-t", "t"}, "", 10).out; }
    // Types `text` literally, then Enter.
    void type(const std::string& text) {
        run({"tmux", "-L", socket_, "send-keys", "-t", "t", "-l", text}, "", 10);
        key("Enter");
    }
    void key(const std::string& name) { run({"tmux", "-L", socket_, "send-keys", "-t", "t", name}, "", 10); }

    // Waits until the screen has a line for which `match` holds.
    bool wait_for_line(const std::function<bool(const std::string&)>& match, double timeout = 10) {
        return wait_until(
            [&] {
                std::vector<std::string> all = lines(screen());
                return std::any_of(all.begin(), all.end(), match);
            },
            timeout);
    }
    bool wait_for_line(const std::string& exact, double timeout = 10) {
        return wait_for_line([&](const std::string& l) { return trim(l) == exact; }, timeout);
    }
    // The shell waits for input: its last non-empty line is a "... #" prompt.
    bool at_prompt() {
        std::vector<std::string> all = lines(screen());
        for (auto it = all.rbegin(); it != all.rend(); ++it) {
            std::string l = trim(*it);
            if (!l.empty()) {
                return l.back() == '#';
            }
        }
        return false;
    }
    int prompts() {
        int n = 0;
        for (const std::string& l : lines(screen())) {
            n += trim(l).rfind("/ #", 0) == 0;
        }
        return n;
    }

private:
    std::string socket_;
};

// Waits for `file` to hold `content` (what the tmux pane writes at the end).
bool wait_for_file(const std::string& file, const std::string& content, double timeout = 15) {
    return wait_until([&] { return read_file(file) == content; }, timeout);
}

}  // namespace

// Claim: `exec` joins the namespaces and cgroups of the container's PID 1.
// After `run -d`, the State.Pid that inspect reports is a live host process,
// already running the command (run -d returns once it runs), in its own mnt,
// uts, ipc, pid and net namespaces. What `exec` runs reads, from its own
// /proc/self/ns, exactly the inodes of the init's; sees the container's
// processes (PID 1 is `sleep 1000`); has the container's hostname and root;
// and, seen from the host, is in the init's PID namespace (with a PID of its
// own there) and in the init's cgroups.
TEST(Ch06Exec, ExecJoinsTheInitsNamespacesAndCgroups) {
    MINIDOCKER_REQUIRE_ROOT();
    std::string id = run_detached({"--name", "c", "busybox", "sleep", "1000"});
    ASSERT_FALSE(id.empty());
    pid_t pid = init_pid("c");
    ASSERT_GT(pid, 0);
    std::string p = std::to_string(pid);
    EXPECT_TRUE(alive(pid));
    EXPECT_EQ(cmdline_of(pid), "sleep 1000") << "run -d returned before the command ran";
    for (const std::string& type : kOwnNamespaces) {
        EXPECT_NE(ns_link(p, type), "") << type;
        EXPECT_NE(ns_link(p, type), ns_link("self", type)) << type;
    }

    // From inside, through exec: the very same namespaces. (pid is the
    // exec'd process's own PID namespace: the runtime forked after setns.)
    std::vector<std::string> types = {"mnt", "uts", "ipc", "pid", "pid_for_children", "net", "cgroup", "user"};
    std::string script;
    for (const std::string& type : types) {
        script += "readlink /proc/self/ns/" + type + "; ";
    }
    Result r = runtime({"exec", "c", "sh", "-c", script});
    ASSERT_EQ(r.code, 0) << r.err;
    std::vector<std::string> inside = lines(r.out);
    ASSERT_EQ(inside.size(), types.size()) << r.out << r.err;
    for (size_t i = 0; i < types.size(); ++i) {
        std::string of_init = types[i] == "pid_for_children" ? ns_link(p, "pid") : ns_link(p, types[i]);
        EXPECT_EQ(inside[i], of_init) << types[i];
    }

    // ps: PID 1 is the container's command; nothing of the host is seen.
    r = runtime({"exec", "c", "ps"});
    ASSERT_EQ(r.code, 0) << r.err;
    std::vector<std::string> rows = lines(r.out);
    ASSERT_FALSE(rows.empty());
    EXPECT_TRUE(contains(rows[0], "PID")) << r.out;
    // (busybox's columns vary with its build: COMMAND is the last one.)
    size_t command_at = rows[0].find("COMMAND");
    ASSERT_NE(command_at, std::string::npos) << r.out;
    std::map<long, std::string> processes;
    for (size_t i = 1; i < rows.size(); ++i) {
        std::string pid_column = trim(rows[i]).substr(0, trim(rows[i]).find(' '));
        processes[to_number(pid_column)] = rows[i].size() > command_at ? trim(rows[i].substr(command_at)) : "";
    }
    EXPECT_EQ(processes[1], "sleep 1000") << r.out;
    EXPECT_EQ(processes.size(), 2u) << "only PID 1 and ps itself:\n" << r.out;
    EXPECT_TRUE(std::any_of(processes.begin(), processes.end(), [](auto& e) { return e.second == "ps"; })) << r.out;

    // hostname: the container's (by default the first 12 digits of its id).
    std::string hostname = inspect_format("c", "{{.Config.Hostname}}");
    EXPECT_EQ(hostname, id.substr(0, 12));
    r = runtime({"exec", "c", "hostname"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, hostname + "\n");

    // From the host: an exec'd process is in the init's PID namespace (with
    // two PIDs, the second not 1), cgroups, namespaces and root directory.
    Background bg = start({"exec", "c", "sleep", "31"});
    std::vector<pid_t> found;
    wait_until(
        [&] {
            found = processes_where([&](pid_t x) { return cmdline_of(x) == "sleep 31" && descends_from(x, bg.pid()); });
            return !found.empty();
        },
        10);
    ASSERT_EQ(found.size(), 1u) << "the exec'd `sleep 31` does not run (as a descendant of exec)";
    pid_t x = found[0];
    std::string xs = std::to_string(x);
    std::vector<long> nspid = ns_pids(x);
    ASSERT_EQ(nspid.size(), 2u) << "not in a PID namespace of its own: " << read_file("/proc/" + xs + "/status");
    EXPECT_GT(nspid[1], 1);
    for (const char* type : {"mnt", "uts", "ipc", "pid", "net", "cgroup"}) {
        EXPECT_EQ(ns_link(xs, type), ns_link(p, type)) << type;
    }
    std::string cgroups = read_file("/proc/" + xs + "/cgroup");
    EXPECT_EQ(cgroups, read_file("/proc/" + p + "/cgroup"));
    EXPECT_TRUE(contains(cgroups, id)) << "the init is not in the container's cgroups:\n" << cgroups;
    struct stat in_exec {};
    struct stat in_init {};
    ASSERT_EQ(::stat(("/proc/" + xs + "/root/bin/busybox").c_str(), &in_exec), 0);
    ASSERT_EQ(::stat(("/proc/" + p + "/root/bin/busybox").c_str(), &in_init), 0);
    EXPECT_EQ(in_exec.st_dev, in_init.st_dev);
    EXPECT_EQ(in_exec.st_ino, in_init.st_ino);
    // Its exit code is exec's.
    ::kill(x, SIGKILL);
    EXPECT_EQ(bg.wait().code, 137);
    EXPECT_TRUE(alive(pid)) << "the container died with its exec";
}

// Claim: util-linux's nsenter, joining all namespaces of the init, sees what
// our exec sees: the same hostname, namespace inodes, root directory and
// PID 1.
TEST(Ch06Exec, NsenterSeesWhatExecSees) {
    MINIDOCKER_REQUIRE_ROOT();
    std::string id = run_detached({"--name", "n", "-h", "nsbox", "busybox", "sleep", "1000"});
    ASSERT_FALSE(id.empty());
    pid_t pid = init_pid("n");
    ASSERT_GT(pid, 0);
    std::string script =
        "hostname; for t in mnt uts ipc pid net cgroup; do readlink /proc/self/ns/$t; done; echo ---; ls /; "
        "echo ---; cat /proc/1/cmdline | tr '\\000' ' '; echo";
    Result ours = runtime({"exec", "n", "sh", "-c", script});
    ASSERT_EQ(ours.code, 0) << ours.err;
    Result theirs = run({"nsenter", "-t", std::to_string(pid), "-a", "sh", "-c", script});
    ASSERT_EQ(theirs.code, 0) << theirs.err;
    EXPECT_EQ(ours.out, theirs.out);
    EXPECT_EQ(lines(ours.out).at(0), "nsbox") << ours.out;
    EXPECT_TRUE(has_line(ours.out, ns_link(std::to_string(pid), "mnt"))) << ours.out;
    EXPECT_TRUE(has_line(ours.out, "sleep 1000")) << ours.out;

    // The three single commands of the issue, one by one.
    for (const std::vector<std::string>& cmd :
         std::vector<std::vector<std::string>>{{"hostname"}, {"readlink", "/proc/self/ns/mnt"}, {"ls", "/"}}) {
        SCOPED_TRACE(cmd[0]);
        std::vector<std::string> exec_args = {"exec", "n"};
        exec_args.insert(exec_args.end(), cmd.begin(), cmd.end());
        std::vector<std::string> nsenter_args = {"nsenter", "-t", std::to_string(pid), "-a"};
        nsenter_args.insert(nsenter_args.end(), cmd.begin(), cmd.end());
        Result a = runtime(exec_args);
        Result b = run(nsenter_args);
        EXPECT_EQ(a.code, 0) << a.err;
        EXPECT_EQ(b.code, 0) << b.err;
        EXPECT_FALSE(a.out.empty());
        EXPECT_EQ(a.out, b.out);
    }
}

// Claim: `stop -t 1` sends SIGTERM and, when the container does not exit,
// SIGKILL after 1 second (not 10): `sleep` as PID 1 ignores SIGTERM, so it
// stops after about a second with 137. A probe that handles SIGTERM stops at
// once with 143. `kill` sends KILL by default, else the signal named by -s
// (TERM, SIGTERM or 15); `wait` prints each exit code.
TEST(Ch06Exec, StopEscalatesToKillAndKillSendsTheNamedSignal) {
    MINIDOCKER_REQUIRE_ROOT();
    ASSERT_NO_FATAL_FAILURE(import_probe_image("probeimg"));

    std::string id = run_detached({"--name", "ignores", "busybox", "sleep", "1000"});
    ASSERT_FALSE(id.empty());
    pid_t pid = init_pid("ignores");
    ASSERT_GT(pid, 0);
    double t0 = now();
    Result r = runtime({"stop", "-t", "1", "ignores"}, 30);
    double took = now() - t0;
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "ignores\n");
    EXPECT_GE(took, 0.9) << "SIGKILL without waiting for the timeout";
    EXPECT_LT(took, 5.0) << "-t 1 was not honoured";
    EXPECT_FALSE(alive(pid));
    EXPECT_EQ(inspect_format("ignores", "{{.State.ExitCode}}"), "137");
    EXPECT_EQ(inspect_format("ignores", "{{.State.Status}} {{.State.Running}}"), "exited false");

    id = run_detached({"--name", "handles", "probeimg", "/probe", "sleep", "100"});
    ASSERT_FALSE(id.empty());
    pid = init_pid("handles");
    ASSERT_GT(pid, 0);
    ASSERT_TRUE(wait_for_handler(pid, SIGTERM));
    t0 = now();
    r = runtime({"stop", "handles"}, 30);  // the default timeout: 10 s
    took = now() - t0;
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "handles\n");
    EXPECT_LT(took, 5.0) << "stop waited although the container had exited";
    EXPECT_EQ(inspect_format("handles", "{{.State.ExitCode}}"), "143");

    // kill -s in each spelling; then kill's default.
    std::vector<std::string> spellings = {"TERM", "SIGTERM", "15"};
    std::vector<std::string> names;
    for (size_t i = 0; i < spellings.size(); ++i) {
        std::string name = "k" + std::to_string(i);
        ASSERT_FALSE(run_detached({"--name", name, "probeimg", "/probe", "sleep", "100"}).empty());
        pid_t k = init_pid(name);
        ASSERT_GT(k, 0);
        ASSERT_TRUE(wait_for_handler(k, SIGTERM));
        r = runtime({"kill", "-s", spellings[i], name});
        EXPECT_EQ(r.code, 0) << spellings[i] << ": " << r.err;
        EXPECT_EQ(r.out, name + "\n");
        names.push_back(name);
    }
    std::vector<std::string> wait_args = {"wait"};
    wait_args.insert(wait_args.end(), names.begin(), names.end());
    r = runtime(wait_args, 30);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "143\n143\n143\n");

    ASSERT_FALSE(run_detached({"--name", "killed", "busybox", "sleep", "1000"}).empty());
    r = runtime({"kill", "killed"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "killed\n");
    r = runtime({"wait", "killed"}, 30);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "137\n");
}

// Claim: `wait` blocks until each container exits and prints its exit code,
// the one the monitor records (not a guess); for an exited container it
// prints it at once.
TEST(Ch06Exec, WaitPrintsEachExitCodeOnceItEnds) {
    MINIDOCKER_REQUIRE_ROOT();
    ASSERT_FALSE(run_detached({"--name", "five", "busybox", "sh", "-c", "sleep 1; exit 5"}).empty());
    ASSERT_FALSE(run_detached({"--name", "six", "busybox", "sh", "-c", "sleep 2; exit 6"}).empty());
    double t0 = now();
    Result r = runtime({"wait", "five", "six"}, 30);
    double took = now() - t0;
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "5\n6\n");
    EXPECT_GE(took, 1.5) << "wait returned before the containers exited";
    EXPECT_LT(took, 10.0);
    EXPECT_EQ(inspect_format("five", "{{.State.Status}} {{.State.ExitCode}}"), "exited 5");
    EXPECT_EQ(inspect_format("six", "{{.State.Status}} {{.State.ExitCode}}"), "exited 6");
    t0 = now();
    r = runtime({"wait", "six", "five"}, 30);
    EXPECT_LT(now() - t0, 5.0);
    EXPECT_EQ(r.out, "6\n5\n") << r.err;
}

// Claim: a detached container killed by the OOM killer of its memory cgroup
// is recorded as such: OOMKilled true and exit code 137; one that fits is
// not. `{{json .State}}` gives the whole state as JSON.
TEST(Ch06Exec, OomKillIsRecordedInTheState) {
    MINIDOCKER_REQUIRE_ROOT();
    ASSERT_NO_FATAL_FAILURE(import_probe_image("probeimg"));
    // A few times: `wait` must print what the monitor records, whenever it
    // looks (the monitor records the end, then exits).
    for (int i = 0; i < 4; ++i) {
        std::string hog = "hog" + std::to_string(i);
        SCOPED_TRACE(hog);
        ASSERT_FALSE(run_detached({"--name", hog, "-m", "16m", "probeimg", "/probe", "memhog", "200"}).empty());
        Result r = runtime({"wait", hog}, 30);
        EXPECT_EQ(r.code, 0) << r.err;
        EXPECT_EQ(r.out, "137\n");
        EXPECT_EQ(inspect_format(hog, "{{.State.OOMKilled}}"), "true");
        EXPECT_EQ(inspect_format(hog, "{{.State.ExitCode}}"), "137");
        nlohmann::json state = nlohmann::json::parse(inspect_format(hog, "{{json .State}}"), nullptr, false);
        ASSERT_TRUE(state.is_object()) << state;
        EXPECT_EQ(state.value("OOMKilled", false), true) << state;
        EXPECT_EQ(state.value("ExitCode", -1), 137) << state;
        EXPECT_EQ(state.value("Status", ""), "exited") << state;
        EXPECT_EQ(state.value("Running", true), false) << state;
    }

    ASSERT_FALSE(run_detached({"--name", "fits", "-m", "64m", "probeimg", "/probe", "memhog", "8"}).empty());
    Result r = runtime({"wait", "fits"}, 30);
    EXPECT_EQ(r.out, "0\n") << r.err;
    EXPECT_EQ(inspect_format("fits", "{{.State.OOMKilled}} {{.State.ExitCode}}"), "false 0");
    r = runtime({"logs", "fits"});
    EXPECT_EQ(r.out, "ok\n") << r.err;
}

// Claim: 20 `run -d` with distinct names started at once all run (ps -q
// lists 20 ids); two `run -d` racing for one name: exactly one wins, the
// other exits 125 with one line naming the name, and leaves no container.
TEST(Ch06Exec, ParallelRunsAndOneWinnerPerName) {
    MINIDOCKER_REQUIRE_ROOT();
    // The image first: this test is about names, not the image's creation.
    ASSERT_EQ(runtime({"run", "--rm", "busybox", "true"}).code, 0);

    const int n = 20;
    std::vector<std::unique_ptr<Background>> starts;
    for (int i = 0; i < n; ++i) {
        starts.push_back(std::make_unique<Background>(
            runtime_argv({"run", "-d", "--name", "c" + std::to_string(i), "busybox", "sleep", "1000"})));
    }
    std::set<std::string> ids;
    for (int i = 0; i < n; ++i) {
        Result r = starts[i]->wait(60);
        EXPECT_EQ(r.code, 0) << "c" << i << ": " << r.err;
        std::string id = trim(r.out);
        EXPECT_TRUE(is_hex(id, 64)) << "c" << i << ": " << r.out;
        ids.insert(id);
    }
    EXPECT_EQ(ids.size(), static_cast<size_t>(n));
    std::set<std::string> short_ids;
    for (const std::string& id : ids) {
        short_ids.insert(id.substr(0, 12));
    }
    Result r = runtime({"ps", "-q"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(lines(r.out).size(), static_cast<size_t>(n)) << r.out;
    EXPECT_EQ(line_set(r.out), short_ids);
    r = runtime({"ps", "-q", "--no-trunc"});
    EXPECT_EQ(line_set(r.out), ids);
    for (int i = 0; i < n; ++i) {
        std::string name = "c" + std::to_string(i);
        pid_t pid = init_pid(name);
        EXPECT_TRUE(alive(pid) && cmdline_of(pid) == "sleep 1000") << name << " is not running";
    }

    // Races for one name, a few rounds.
    for (int round = 0; round < 5; ++round) {
        std::string name = "same" + std::to_string(round);
        SCOPED_TRACE(name);
        Background a(runtime_argv({"run", "-d", "--name", name, "busybox", "sleep", "1000"}));
        Background b(runtime_argv({"run", "-d", "--name", name, "busybox", "sleep", "1000"}));
        Result ra = a.wait(60);
        Result rb = b.wait(60);
        EXPECT_TRUE((ra.code == 0) != (rb.code == 0)) << "exit codes " << ra.code << " and " << rb.code;
        const Result& winner = ra.code == 0 ? ra : rb;
        const Result& loser = ra.code == 0 ? rb : ra;
        expect_error_line(loser, name);
        EXPECT_EQ(loser.out, "");
        EXPECT_EQ(inspect_format(name, "{{.Id}}"), trim(winner.out));
        ids.insert(trim(winner.out));
    }
    EXPECT_EQ(names_in(store("containers")), ids) << "a loser left a container";
    r = runtime({"ps", "-q", "--no-trunc"});
    EXPECT_EQ(line_set(r.out), ids);

    std::vector<std::string> rm = {"rm", "-f"};
    for (int i = 0; i < n; ++i) {
        rm.push_back("c" + std::to_string(i));
    }
    r = runtime(rm, 60);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(lines(r.out).size(), static_cast<size_t>(n)) << r.out;
    r = runtime({"ps", "-q"});
    EXPECT_EQ(lines(r.out).size(), 5u) << r.out;
}

// Claim: a monitor killed with SIGKILL while its container runs, and a `run
// -d` killed at random moments of its work, leave nothing that `rm -f`
// cannot remove: afterwards `rm -f` of every container `ps -aq` lists
// succeeds, and nothing remains: no container directory, no cgroup with a
// container's id, no process of the test (runtime, monitor or container), no
// mount of the store on the host.
TEST(Ch06Exec, RmForceCleansUpAfterAKilledMonitorOrRun) {
    MINIDOCKER_REQUIRE_ROOT();
    // The monitor: comm "chNN", parent of the init, leader of its own session.
    std::string id = run_detached({"--name", "mon", "busybox", "sleep", "1000"});
    ASSERT_FALSE(id.empty());
    pid_t pid = init_pid("mon");
    ASSERT_GT(pid, 0);
    pid_t monitor = static_cast<pid_t>(to_number(inspect_format("mon", "{{.State.MonitorPid}}")));
    ASSERT_TRUE(alive(monitor)) << monitor;
    EXPECT_EQ(comm_of(monitor), program());
    EXPECT_EQ(parent_of(pid), monitor);
    EXPECT_EQ(::getsid(monitor), monitor);
    std::string pid_ns = ns_link(std::to_string(pid), "pid");
    ::kill(monitor, SIGKILL);
    EXPECT_TRUE(wait_until([&] { return !alive(monitor); }, 5));
    // (Whether the container outlives its monitor is the runtime's choice;
    // what inspect says must agree with the kernel.)
    bool init_alive = alive(pid);
    EXPECT_EQ(inspect_format("mon", "{{.State.Running}}"), init_alive ? "true" : "false");
    Result r = runtime({"rm", "-f", "mon"}, 30);
    EXPECT_EQ(r.code, 0) << r.err;
    expect_nothing_left_of(id, pid_ns);
    EXPECT_FALSE(alive(pid));

    // `run -d` killed after 0 to 50 ms (the seed is printed on failure).
    unsigned seed = static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count());
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 random(seed);
    std::vector<int> delays;
    for (int ms = 0; ms <= 50; ms += 3) {
        delays.push_back(ms);
    }
    for (int i = 0; i < 4; ++i) {
        delays.push_back(static_cast<int>(random() % 51));
    }
    // This test's containers' command, unique (the suite may run in parallel).
    const std::string seconds = std::to_string(100000 + ::getpid());
    const std::string tag = "sleep " + seconds;
    for (size_t i = 0; i < delays.size(); ++i) {
        Background cli(runtime_argv({"run", "-d", "--name", "cli" + std::to_string(i), "busybox", "sleep", seconds}));
        ::usleep(static_cast<useconds_t>(delays[i]) * 1000);
        cli.signal(SIGKILL);
        cli.wait(10);
    }
    // A monitor whose command line was killed may still be finishing the
    // start, or giving it up: give it a moment.
    ::usleep(1000000);
    std::set<std::string> seen = names_in(store("containers"));
    r = runtime({"ps", "-aq", "--no-trunc"});
    EXPECT_EQ(r.code, 0) << r.err;
    std::vector<std::string> listed = lines(r.out);
    // What ps says agrees with the kernel: a container's processes run only
    // if it is listed as running, and each process of the test belongs to one.
    std::vector<pid_t> commands = processes_where([&](pid_t x) { return cmdline_of(x) == tag; });
    std::set<pid_t> accounted;
    for (const std::string& id : listed) {
        std::string status = inspect_format(id, "{{.State.Status}}");
        for (pid_t x : commands) {
            if (contains(read_file("/proc/" + std::to_string(x) + "/cgroup"), id)) {
                accounted.insert(x);
                EXPECT_EQ(status, "running") << id << " is \"" << status << "\" but its process " << x << " runs";
            }
        }
    }
    for (pid_t x : commands) {
        EXPECT_TRUE(accounted.count(x)) << "process " << x << " (" << tag << ") of no listed container:\n"
                                        << read_file("/proc/" + std::to_string(x) + "/cgroup");
    }
    for (const std::string& id : listed) {
        seen.insert(id);
        Result rm = runtime({"rm", "-f", id}, 30);
        EXPECT_EQ(rm.code, 0) << id << ": " << rm.err;
    }
    std::set<std::string> unlisted = names_in(store("containers"));
    EXPECT_EQ(unlisted, std::set<std::string>{}) << "container directories that ps -a does not list";
    for (const std::string& id : unlisted) {
        Result rm = runtime({"rm", "-f", id}, 30);
        EXPECT_EQ(rm.code, 0) << "rm -f of the unlisted " << id << ": " << rm.err;
    }
    EXPECT_EQ(names_in(store("names")), std::set<std::string>{}) << "names left: they cannot be used again";
    auto strays = [&] {
        std::vector<pid_t> left = processes_mentioning(state_root());
        std::vector<pid_t> containers = processes_where([&](pid_t x) { return cmdline_of(x) == tag; });
        left.insert(left.end(), containers.begin(), containers.end());
        return left;
    };
    wait_until([&] { return strays().empty(); }, 5);
    EXPECT_TRUE(strays().empty()) << describe(strays());
    for (const std::string& gone : seen) {
        std::vector<std::string> cgroups = cgroup_dirs_with(gone);
        EXPECT_TRUE(cgroups.empty()) << cgroups.size() << " cgroups left, e.g. " << cgroups.front();
        remove_empty_cgroups(cgroups);
    }
    EXPECT_FALSE(contains(host_mounts(), state_root())) << host_mounts();
}

// Claim: `run -it` gives the shell a terminal of its own, of the size of the
// user's (tmux's 120x30), in raw mode: typed lines are evaluated by the
// container's shell, Ctrl-C interrupts the command in the foreground and
// the shell prompts again, and `exit 3` makes the runtime exit 3.
TEST(Ch06Exec, RunInteractiveTerminalThroughTmux) {
    MINIDOCKER_REQUIRE_ROOT();
    TempDir out;
    std::string exit_file = out.path() + "/exit";
    std::string command = binary() + " --root " + state_root() + " run -it --name tty busybox sh; echo EXIT=$? > " +
                          exit_file + "; sleep 5";
    Tmux tmux(command);
    wait_until([&] { return tmux.at_prompt() || !read_file(exit_file).empty(); }, 20);
    ASSERT_TRUE(tmux.at_prompt()) << "no prompt:\n" << tmux.screen() << read_file(exit_file);

    tmux.type("echo hello-$((1+2))");
    EXPECT_TRUE(tmux.wait_for_line("hello-3")) << tmux.screen();
    tmux.type("stty size");
    EXPECT_TRUE(tmux.wait_for_line("30 120")) << tmux.screen();
    tmux.type("[ -t 0 ] && [ -t 1 ] && echo is-a-terminal");
    EXPECT_TRUE(tmux.wait_for_line("is-a-terminal")) << tmux.screen();
    EXPECT_EQ(inspect_format("tty", "{{.Config.Tty}} {{.State.Running}}"), "true true");

    // Ctrl-C: SIGINT for the foreground `sleep 100`, found from the host in
    // the container's PID namespace; the shell survives and prompts again.
    pid_t init = init_pid("tty");
    ASSERT_GT(init, 0);
    std::string pid_ns = ns_link(std::to_string(init), "pid");
    tmux.type("sleep 100");
    std::vector<pid_t> sleeps;
    ASSERT_TRUE(wait_until(
        [&] {
            sleeps = processes_where(
                [&](pid_t x) { return cmdline_of(x) == "sleep 100" && ns_link(std::to_string(x), "pid") == pid_ns; });
            return sleeps.size() == 1;
        },
        10))
        << tmux.screen();
    int prompts = tmux.prompts();
    tmux.key("C-c");
    EXPECT_TRUE(wait_until([&] { return !alive(sleeps[0]); }, 5)) << "Ctrl-C did not stop sleep:\n" << tmux.screen();
    EXPECT_TRUE(wait_until([&] { return tmux.prompts() > prompts && tmux.at_prompt(); }, 5)) << tmux.screen();
    tmux.type("echo after-$((2+3))");
    EXPECT_TRUE(tmux.wait_for_line("after-5")) << tmux.screen();
    EXPECT_TRUE(alive(init)) << "Ctrl-C killed the shell";

    tmux.type("exit 3");
    EXPECT_TRUE(wait_for_file(exit_file, "EXIT=3\n")) << read_file(exit_file) << "\n" << tmux.screen();
    EXPECT_EQ(inspect_format("tty", "{{.State.ExitCode}}"), "3");
}

// Claim: `exec -it` gives the command a terminal inside the container (`tty`
// prints its path, the size is the user's, the exit code comes back);
// without -t, `exec -i` copies stdin to the command through plain pipes,
// byte for byte; without -i the command's stdin is not the user's.
TEST(Ch06Exec, ExecTerminalAndPipes) {
    MINIDOCKER_REQUIRE_ROOT();
    std::string id = run_detached({"--name", "e", "busybox", "sleep", "1000"});
    ASSERT_FALSE(id.empty());
    Result r = run(runtime_argv({"exec", "-i", "e", "cat"}), "hi\n", 30);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "hi\n");
    // Every byte value, through pipes (a terminal would translate some).
    std::string bytes;
    for (int i = 0; i < 30000; ++i) {
        bytes.push_back(static_cast<char>((i * 7 + i / 256) % 256));
    }
    r = run(runtime_argv({"exec", "-i", "e", "cat"}), bytes, 30);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(r.out == bytes) << "got " << r.out.size() << " bytes, not the 30000 sent";
    r = run(runtime_argv({"exec", "-i", "e", "sh", "-c", "[ -t 0 ] || echo pipe; cat >/dev/null; exit 6"}), "x\n", 30);
    EXPECT_EQ(r.code, 6) << r.err;
    EXPECT_EQ(r.out, "pipe\n");
    // Without -i, stdin is not attached (Docker: the command reads EOF).
    r = run(runtime_argv({"exec", "e", "cat"}), "not for cat\n", 30);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "");

    {
        TempDir out;
        std::string exit_file = out.path() + "/exit";
        Tmux tmux(binary() + " --root " + state_root() + " exec -it e sh; echo EXIT=$? > " + exit_file + "; sleep 5");
        wait_until([&] { return tmux.at_prompt() || !read_file(exit_file).empty(); }, 20);
        ASSERT_TRUE(tmux.at_prompt()) << "no prompt:\n" << tmux.screen() << read_file(exit_file);
        tmux.type("tty");
        EXPECT_TRUE(tmux.wait_for_line([](const std::string& l) {
            return trim(l) == "not a tty" || trim(l).rfind("/dev/", 0) == 0;
        })) << tmux.screen();
        EXPECT_TRUE(tmux.wait_for_line([](const std::string& l) { return trim(l).rfind("/dev/pts/", 0) == 0; }, 1))
            << "tty in exec -it:\n"
            << tmux.screen();
        tmux.type("stty size");
        EXPECT_TRUE(tmux.wait_for_line("30 120")) << tmux.screen();
        tmux.type("hostname");
        EXPECT_TRUE(tmux.wait_for_line(id.substr(0, 12))) << tmux.screen();
        tmux.type("exit 4");
        EXPECT_TRUE(wait_for_file(exit_file, "EXIT=4\n")) << read_file(exit_file) << "\n" << tmux.screen();
    }
    EXPECT_TRUE(alive(init_pid("e"))) << "the container died with its exec";
}

// Claim: exec gives the command the container's environment (the image's
// config, as inspect's Config.Env says) plus -e, nothing of the caller's;
// -w sets its working directory (default "/"); its exit code is exec's: its
// own, 127 when the command is not found, 126 when it is not executable;
// its stdout and stderr stay apart.
TEST(Ch06Exec, ExecEnvWorkdirAndExitCodes) {
    MINIDOCKER_REQUIRE_ROOT();
    ASSERT_FALSE(run_detached({"--name", "x", "busybox", "sleep", "1000"}).empty());
    ScopedEnv leak("CH06_TEST_CALLER_ONLY", "leaked");

    Result r = runtime({"exec", "-e", "FOO=bar", "-e", "HOME=/tmp", "x", "env"});
    ASSERT_EQ(r.code, 0) << r.err;
    std::set<std::string> env = line_set(r.out);
    EXPECT_TRUE(env.count("FOO=bar")) << r.out;
    EXPECT_TRUE(env.count("HOME=/tmp")) << r.out;
    EXPECT_FALSE(env.count("HOME=/root")) << "-e does not override: " << r.out;
    EXPECT_FALSE(contains(r.out, "CH06_TEST_CALLER_ONLY")) << r.out;
    nlohmann::json config_env = nlohmann::json::parse(inspect_format("x", "{{json .Config.Env}}"), nullptr, false);
    ASSERT_TRUE(config_env.is_array()) << config_env;
    EXPECT_FALSE(config_env.empty());
    for (const auto& kv : config_env) {
        std::string entry = kv.get<std::string>();
        if (entry.rfind("TERM=", 0) != 0 && entry.rfind("HOME=", 0) != 0) {
            EXPECT_TRUE(env.count(entry)) << entry << " missing in\n" << r.out;
        }
    }
    EXPECT_TRUE(std::any_of(env.begin(), env.end(), [](const std::string& e) { return e.rfind("PATH=", 0) == 0; }));

    r = runtime({"exec", "x", "pwd"});
    EXPECT_EQ(r.out, "/\n") << r.err;
    r = runtime({"exec", "-w", "/tmp", "x", "pwd"});
    EXPECT_EQ(r.out, "/tmp\n") << r.err;

    r = runtime({"exec", "x", "sh", "-c", "echo o; echo e >&2; exit 7"});
    EXPECT_EQ(r.code, 7);
    EXPECT_EQ(r.out, "o\n");
    EXPECT_EQ(r.err, "e\n");
    r = runtime({"exec", "x", "no-such-command"});
    EXPECT_EQ(r.code, 127) << r.err;
    EXPECT_TRUE(contains(r.err, "no-such-command")) << r.err;
    r = runtime({"exec", "x", "/etc/passwd"});
    EXPECT_EQ(r.code, 126) << r.err;
    EXPECT_TRUE(alive(init_pid("x")));
}

// Claim: `run -d` of a command that cannot start fails like Docker's: 127
// when it is not found, 126 when it is not executable (each with a line
// naming it); `-d` without an image is a usage error; no monitor remains.
TEST(Ch06Exec, RunDetachedReportsCommandsThatCannotStart) {
    MINIDOCKER_REQUIRE_ROOT();
    Result r = runtime({"run", "-d", "--name", "nf", "busybox", "no-such-command"});
    EXPECT_EQ(r.code, 127) << r.out << r.err;
    EXPECT_TRUE(contains(r.err, "no-such-command")) << r.err;
    EXPECT_FALSE(is_hex(trim(r.out), 64) && r.code == 0);
    r = runtime({"run", "-d", "busybox", "/etc/passwd"});
    EXPECT_EQ(r.code, 126) << r.out << r.err;
    EXPECT_TRUE(contains(r.err, "/etc/passwd")) << r.err;
    r = runtime({"run", "-d", "--", "/bin/true"});
    expect_error_line(r);
    r = runtime({"ps", "-q"});
    EXPECT_EQ(r.out, "");
    wait_until([] { return processes_mentioning(state_root()).empty(); }, 5);
    std::vector<pid_t> left = processes_mentioning(state_root());
    EXPECT_TRUE(left.empty()) << describe(left);
}

// Claim: `logs` gives what the container wrote, stdout on stdout and stderr
// on stderr; `logs -f` follows a running container until it exits, and then
// has all its output.
TEST(Ch06Exec, LogsKeepStdoutAndStderrApart) {
    MINIDOCKER_REQUIRE_ROOT();
    ASSERT_FALSE(run_detached({"--name", "l", "busybox", "sh", "-c", "echo out; echo err >&2"}).empty());
    Result r = runtime({"wait", "l"}, 30);
    EXPECT_EQ(r.out, "0\n") << r.err;
    r = runtime({"logs", "l"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "out\n");
    EXPECT_EQ(r.err, "err\n");

    ASSERT_FALSE(
        run_detached({"--name", "lf", "busybox", "sh", "-c", "echo one; sleep 2; echo two >&2; echo three"}).empty());
    double t0 = now();
    r = runtime({"logs", "-f", "lf"}, 30);
    double took = now() - t0;
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "one\nthree\n");
    EXPECT_EQ(r.err, "two\n");
    EXPECT_GE(took, 1.0) << "logs -f did not follow";
    EXPECT_LT(took, 15.0);
    EXPECT_EQ(inspect_format("lf", "{{.State.Status}}"), "exited");
    // Of an exited container, -f returns at once with everything.
    t0 = now();
    r = runtime({"logs", "-f", "lf"}, 30);
    EXPECT_LT(now() - t0, 5.0);
    EXPECT_EQ(r.out, "one\nthree\n");
    EXPECT_EQ(r.err, "two\n");
}

// Claim: with `run -d --rm`, the container is removed when its command
// exits: it leaves `ps -a`, its directory, its name and its cgroups go, and
// its monitor exits.
TEST(Ch06Exec, AutoRemoveAfterDetachedExit) {
    MINIDOCKER_REQUIRE_ROOT();
    std::string id = run_detached({"--rm", "--name", "brief", "busybox", "sh", "-c", "sleep 1"});
    ASSERT_FALSE(id.empty());
    pid_t monitor = static_cast<pid_t>(to_number(inspect_format("brief", "{{.State.MonitorPid}}")));
    EXPECT_EQ(inspect_format("brief", "{{.HostConfig.AutoRemove}}"), "true");
    EXPECT_TRUE(has_line(runtime({"ps", "-aq", "--no-trunc"}).out, id));
    std::string pid_ns = ns_link(std::to_string(init_pid("brief")), "pid");
    bool gone = wait_until([&] { return !has_line(runtime({"ps", "-aq", "--no-trunc"}).out, id); }, 10);
    EXPECT_TRUE(gone) << "still listed by ps -a";
    expect_nothing_left_of(id, pid_ns);
    EXPECT_FALSE(fs::exists(store("names/brief")));
    EXPECT_TRUE(wait_until([&] { return !alive(monitor); }, 5)) << "the monitor stays";
    expect_error_line(runtime({"inspect", "brief"}), "brief");

    // At once, too.
    id = run_detached({"--rm", "busybox", "true"});
    ASSERT_FALSE(id.empty());
    EXPECT_TRUE(wait_until([&] { return !fs::exists(store("containers/" + id)); }, 10));
    expect_nothing_left_of(id, "");
    EXPECT_EQ(runtime({"ps", "-aq"}).out, "");
}

// Claim: bad input is refused with exit code 125 and one line "chNN: ..."
// on stderr: exec into a stopped or unknown container, an unknown signal, a
// malformed template, inspect of an unknown container, rm of a running one
// without -f (it keeps running), and the other commands on unknown names.
TEST(Ch06Exec, BadInputIsOneLineAnd125) {
    MINIDOCKER_REQUIRE_ROOT();
    ASSERT_FALSE(run_detached({"--name", "done", "busybox", "true"}).empty());
    EXPECT_EQ(runtime({"wait", "done"}, 30).out, "0\n");
    ASSERT_FALSE(run_detached({"--name", "up", "busybox", "sleep", "1000"}).empty());
    pid_t pid = init_pid("up");
    ASSERT_GT(pid, 0);

    struct Case {
        std::vector<std::string> args;
        std::string says;
    };
    const std::vector<Case> cases = {
        {{"exec", "done", "true"}, "done"},
        {{"exec", "nosuch", "true"}, "nosuch"},
        {{"kill", "-s", "BOGUS", "up"}, "BOGUS"},
        {{"inspect", "-f", "{{.State.Pid", "up"}, ""},
        {{"inspect", "-f", "{{.State.NoSuchField}}", "up"}, ""},
        {{"inspect", "nosuch"}, "nosuch"},
        {{"rm", "up"}, "up"},
        {{"stop", "nosuch"}, "nosuch"},
        {{"kill", "nosuch"}, "nosuch"},
        {{"wait", "nosuch"}, "nosuch"},
        {{"logs", "nosuch"}, "nosuch"},
        {{"rm", "nosuch"}, "nosuch"},
        {{"ns", "nosuch"}, "nosuch"},
    };
    for (const Case& c : cases) {
        std::string all;
        for (const std::string& a : c.args) {
            all += " " + a;
        }
        SCOPED_TRACE(all);
        expect_error_line(runtime(c.args), c.says);
    }
    EXPECT_TRUE(alive(pid)) << "refused commands hurt the container";
    EXPECT_EQ(inspect_format("up", "{{.State.Running}}"), "true");
    Result r = runtime({"exec", "up", "true"});
    EXPECT_EQ(r.code, 0) << r.err;
}

// Claim: chapter 01's inspector takes container names: `ns c` is the table
// of the container's PID 1 (the links of /proc/PID/ns), and `ns c --vs c2`
// compares two containers: their own namespaces are separate, the user
// namespace (never created) is shared.
TEST(Ch06Exec, NsInspectorTakesContainerNames) {
    MINIDOCKER_REQUIRE_ROOT();
    ASSERT_FALSE(run_detached({"--name", "c", "busybox", "sleep", "1000"}).empty());
    ASSERT_FALSE(run_detached({"--name", "c2", "busybox", "sleep", "1000"}).empty());
    pid_t pa = init_pid("c");
    pid_t pb = init_pid("c2");
    ASSERT_GT(pa, 0);
    ASSERT_GT(pb, 0);
    std::string a = std::to_string(pa);

    // type, link, "shared"/"separate" per row.
    auto table = [](const std::string& out) {
        std::map<std::string, std::pair<std::string, std::string>> rows;
        std::vector<std::string> all = lines(out);
        for (size_t i = 1; i < all.size(); ++i) {
            std::istringstream in(all[i]);
            std::string type, link, shared;
            in >> type >> link >> shared;
            rows[type] = {link, shared};
        }
        return rows;
    };
    Result r = runtime({"ns", "c"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(contains(lines(r.out).at(0), "PID " + a)) << r.out;
    auto rows = table(r.out);
    EXPECT_EQ(rows.size(), 10u) << r.out;
    for (const char* type : {"mnt", "uts", "ipc", "pid", "net", "user", "cgroup"}) {
        EXPECT_EQ(rows[type].first, ns_link(a, type)) << type << "\n" << r.out;
    }

    r = runtime({"ns", "c", "--vs", "c2"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(contains(lines(r.out).at(0), "VS PID " + std::to_string(pb))) << r.out;
    rows = table(r.out);
    for (const std::string& type : kOwnNamespaces) {
        EXPECT_EQ(rows[type].second, "separate") << type << "\n" << r.out;
    }
    EXPECT_EQ(rows["user"].second, "shared") << r.out;

    r = runtime({"ns", "c", "--vs", "c", "--json"});
    ASSERT_EQ(r.code, 0) << r.err;
    nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.out;
    EXPECT_EQ(j.value("pid", 0), pa);
    EXPECT_EQ(j.value("vs", 0), pa);
    for (const auto& n : j["namespaces"]) {
        EXPECT_EQ(n.value("shared", false), true) << n;
    }
    // A PID still works, and a PID against a name.
    r = runtime({"ns", std::to_string(pb), "--vs", "c"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(table(r.out)["net"].second, "separate") << r.out;
}

// Claim: with --trace, exec narrates each setns() with its namespace type:
// mnt, pid, net, uts and ipc are all joined, the mount namespace after the
// PID namespace (paths change once the mount namespace is joined).
TEST(Ch06Exec, TraceNarratesEachSetns) {
    MINIDOCKER_REQUIRE_ROOT();
    ASSERT_FALSE(run_detached({"--name", "t", "busybox", "sleep", "1000"}).empty());
    Result r = run(with_trace({"exec", "t", "true"}));
    ASSERT_EQ(r.code, 0) << r.err;
    std::vector<std::string> all = lines(r.err);
    auto setns_line = [&](const std::string& flag) {
        for (size_t i = 0; i < all.size(); ++i) {
            if (contains(all[i], "setns(") && contains(all[i], flag)) {
                return static_cast<long>(i);
            }
        }
        ADD_FAILURE() << "no setns line with " << flag << " in:\n" << r.err;
        return -1L;
    };
    long mnt = setns_line("CLONE_NEWNS");
    long pid = setns_line("CLONE_NEWPID");
    setns_line("CLONE_NEWNET");
    setns_line("CLONE_NEWUTS");
    setns_line("CLONE_NEWIPC");
    EXPECT_GT(mnt, pid) << r.err;
}

// Claim: inspect prints a JSON array with Docker's field names and values
// that agree with the kernel and the disk: the init's PID, the monitor,
// the name with its "/", the command, the limits, the layers' directories,
// the volumes, the log file. Several names give several entries; an id
// prefix names a container.
TEST(Ch06Exec, InspectShowsDockersFields) {
    MINIDOCKER_REQUIRE_ROOT();
    std::string id = run_detached({"--name", "web", "-m", "64m", "-v", "vol:/data", "busybox", "sleep", "1000"});
    ASSERT_FALSE(id.empty());
    Result r = runtime({"inspect", "web"});
    ASSERT_EQ(r.code, 0) << r.err;
    nlohmann::json all = nlohmann::json::parse(r.out, nullptr, false);
    ASSERT_TRUE(all.is_array()) << r.out;
    ASSERT_EQ(all.size(), 1u);
    const nlohmann::json& j = all[0];
    EXPECT_EQ(j.value("Id", ""), id);
    EXPECT_EQ(j.value("Name", ""), "/web");
    EXPECT_EQ(j.value("Path", ""), "sleep");
    EXPECT_EQ(j.value("Args", nlohmann::json()), nlohmann::json::array({"1000"}));
    EXPECT_FALSE(j.value("Created", "").empty());
    EXPECT_FALSE(j.value("Image", "").empty());
    ASSERT_TRUE(j.contains("State")) << r.out;
    const nlohmann::json& state = j["State"];
    EXPECT_EQ(state.value("Status", ""), "running");
    EXPECT_EQ(state.value("Running", false), true);
    EXPECT_EQ(state.value("Paused", true), false);
    EXPECT_EQ(state.value("OOMKilled", true), false);
    EXPECT_EQ(state.value("Dead", true), false);
    EXPECT_EQ(state.value("ExitCode", -1), 0);
    EXPECT_FALSE(state.value("StartedAt", "").empty());
    pid_t pid = state.value("Pid", 0);
    EXPECT_TRUE(alive(pid) && cmdline_of(pid) == "sleep 1000") << pid;
    pid_t monitor = state.value("MonitorPid", 0);
    EXPECT_TRUE(alive(monitor));
    EXPECT_EQ(parent_of(pid), monitor);

    ASSERT_TRUE(j.contains("Config") && j.contains("HostConfig") && j.contains("GraphDriver")) << r.out;
    EXPECT_EQ(j["Config"].value("Hostname", ""), id.substr(0, 12));
    EXPECT_EQ(j["Config"].value("Image", ""), "busybox");
    EXPECT_EQ(j["Config"].value("Cmd", nlohmann::json()), nlohmann::json::array({"sleep", "1000"}));
    EXPECT_EQ(j["Config"].value("Tty", true), false);
    EXPECT_EQ(j["Config"].value("OpenStdin", true), false);
    EXPECT_TRUE(j["Config"].value("Env", nlohmann::json()).is_array());
    EXPECT_EQ(j["HostConfig"].value("Memory", 0LL), 64LL * 1024 * 1024);
    EXPECT_EQ(j["HostConfig"].value("AutoRemove", true), false);
    nlohmann::json binds = j["HostConfig"].value("Binds", nlohmann::json());
    EXPECT_TRUE(binds.is_array() && std::find(binds.begin(), binds.end(), "vol:/data") != binds.end()) << binds;

    nlohmann::json data = j["GraphDriver"].value("Data", nlohmann::json::object());
    std::string dir = fs::canonical(store("containers/" + id)).string();
    auto same = [](const std::string& a, const std::string& b) {
        std::error_code ec;
        return fs::equivalent(a, b, ec);
    };
    EXPECT_TRUE(same(data.value("UpperDir", ""), dir + "/upper")) << data;
    EXPECT_TRUE(same(data.value("WorkDir", ""), dir + "/work")) << data;
    // MergedDir: where the host sees the container's files. (The overlay is
    // mounted only in the container's mount namespace, so the runtime may
    // name /proc/PID/root rather than Docker's .../merged; either way the
    // path must show the container's root.)
    struct stat via_merged {};
    struct stat via_proc {};
    std::string merged = data.value("MergedDir", "");
    EXPECT_EQ(::stat((merged + "/bin/busybox").c_str(), &via_merged), 0) << "MergedDir " << merged;
    ASSERT_EQ(::stat(("/proc/" + std::to_string(pid) + "/root/bin/busybox").c_str(), &via_proc), 0);
    EXPECT_TRUE(via_merged.st_dev == via_proc.st_dev && via_merged.st_ino == via_proc.st_ino)
        << "MergedDir " << merged << " is not the container's root";
    EXPECT_FALSE(data.value("LowerDir", "").empty()) << data;
    EXPECT_FALSE(j["GraphDriver"].value("Name", "").empty());
    std::string log = j.value("LogPath", "");
    EXPECT_TRUE(fs::is_regular_file(log)) << log;

    nlohmann::json mounts = j.value("Mounts", nlohmann::json());
    ASSERT_TRUE(mounts.is_array() && mounts.size() == 1u) << mounts;
    EXPECT_EQ(mounts[0].value("Destination", ""), "/data");
    EXPECT_TRUE(same(mounts[0].value("Source", ""), store("volumes/vol/_data"))) << mounts;

    // Templates; an id prefix; several containers.
    EXPECT_EQ(inspect_format("web", "{{.Name}} {{.State.Pid}}"), "/web " + std::to_string(pid));
    EXPECT_EQ(inspect_format(id.substr(0, 12), "{{.Id}}"), id);
    nlohmann::json as_json = nlohmann::json::parse(inspect_format("web", "{{json .State}}"), nullptr, false);
    EXPECT_EQ(as_json, state);
    ASSERT_FALSE(run_detached({"--name", "web2", "busybox", "true"}).empty());
    EXPECT_EQ(runtime({"wait", "web2"}, 30).out, "0\n");
    r = runtime({"inspect", "web", "web2"});
    EXPECT_EQ(r.code, 0) << r.err;
    nlohmann::json both = nlohmann::json::parse(r.out, nullptr, false);
    ASSERT_TRUE(both.is_array() && both.size() == 2u) << r.out;
    EXPECT_EQ(both[1].value("Name", ""), "/web2");
    EXPECT_EQ(both[1]["State"].value("Status", ""), "exited");
    EXPECT_EQ(both[1]["State"].value("Running", true), false);
    EXPECT_FALSE(both[1]["State"].value("FinishedAt", "").empty());
}

// Claim: ps lists running containers in Docker's table (ps -a also the
// exited ones, with their exit codes); -q prints 12-digit ids, with
// --no-trunc the whole ids.
TEST(Ch06Exec, PsListsContainersLikeDocker) {
    MINIDOCKER_REQUIRE_ROOT();
    std::string up = run_detached({"--name", "up", "busybox", "sleep", "1000"});
    std::string down = run_detached({"--name", "down", "busybox", "sh", "-c", "exit 3"});
    ASSERT_FALSE(up.empty() || down.empty());
    EXPECT_EQ(runtime({"wait", "down"}, 30).out, "3\n");

    Result r = runtime({"ps"});
    ASSERT_EQ(r.code, 0) << r.err;
    std::vector<std::string> rows = lines(r.out);
    ASSERT_EQ(rows.size(), 2u) << r.out;
    for (const char* column : {"CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "NAMES"}) {
        EXPECT_TRUE(contains(rows[0], column)) << column << "\n" << r.out;
    }
    EXPECT_EQ(rows[1].rfind(up.substr(0, 12) + " ", 0), 0u) << r.out;
    EXPECT_TRUE(contains(rows[1], "busybox")) << r.out;
    EXPECT_TRUE(contains(rows[1], "Up ")) << r.out;
    EXPECT_EQ(trim(rows[1]).substr(trim(rows[1]).size() - 3), " up") << r.out;

    r = runtime({"ps", "-a"});
    rows = lines(r.out);
    ASSERT_EQ(rows.size(), 3u) << r.out;
    auto down_row = std::find_if(rows.begin(), rows.end(),
                                 [&](const std::string& l) { return l.rfind(down.substr(0, 12), 0) == 0; });
    ASSERT_NE(down_row, rows.end()) << r.out;
    EXPECT_TRUE(contains(*down_row, "Exited (3)")) << r.out;
    EXPECT_TRUE(contains(*down_row, "ago")) << r.out;
    EXPECT_EQ(trim(*down_row).substr(trim(*down_row).size() - 5), " down") << r.out;

    EXPECT_EQ(runtime({"ps", "-q"}).out, up.substr(0, 12) + "\n");
    EXPECT_EQ(runtime({"ps", "-q", "--no-trunc"}).out, up + "\n");
    r = runtime({"ps", "-aq"});
    EXPECT_EQ(line_set(r.out), (std::set<std::string>{up.substr(0, 12), down.substr(0, 12)}));
    EXPECT_EQ(lines(r.out).size(), 2u);
    r = runtime({"ps", "-a", "--no-trunc"});
    EXPECT_TRUE(contains(r.out, "\n" + up + " ") && contains(r.out, "\n" + down + " ")) << r.out;
}
