// Issue 13's security claims, proven from outside on the host's real state,
// in the last chapter with every feature on (images, volumes, cgroup limits,
// the network namespace). A container's command must start with nothing of
// the runtime's: no descriptor but stdin, stdout and stderr; no working
// directory outside the container, whatever `-w` or the image's WorkingDir
// says (CVE-2024-21626: /proc/self/fd/N of a host directory); no way to
// write to the runtime's own binary through /proc/PID/exe (CVE-2019-5736: a
// `#!/proc/self/exe` script makes the kernel run the runtime inside the
// container); its cgroup limits from its very first instruction; and no
// mount of any container may reach a host whose "/" is shared.
//
//   ExecStartsTheCommandWithOnlyStdio        exec, -i, -t, -it; run, run -t, run -d with volumes
//   WorkdirThroughProcSelfFdIsRefused        exec -w /proc/{self,thread-self,1}/fd/N; WORKDIR ...
//   ExeCannotBeOverwrittenThroughProcPidExe  a container's PID 1 attacks `exec box /bin/hijack`
//   LimitsHoldBeforeTheFirstInstruction      /proc/self/cgroup read first thing, run -m and exec
//   NoContainerMountReachesASharedHostRoot   everything on, under an rshared "/"
//   DetachedMonitorKeepsNothingOfItsCaller   run -d in $(...) with fd 3 on the pipe; a host dir as fd 7
//
// The attack on the binary only ever aims at temporary copies of the binary
// under test: a runtime without the defence must fail the test, never
// corrupt the build. Their counts ("working directories tried", "hijack
// execs", "writes to the runtime's binary", ...) go to record_count().
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness.hpp"

namespace fs = std::filesystem;
using namespace minidocker::test;

namespace {

// `inspect -f TEMPLATE NAME`, without the final newline.
std::string inspect_format(const std::string& name, const std::string& tmpl) {
    Result r = runtime({"inspect", "-f", tmpl, name});
    EXPECT_EQ(r.code, 0) << "inspect -f " << tmpl << " " << name << ": " << r.err;
    return trim(r.out);
}

pid_t init_pid(const std::string& name) {
    try {
        return static_cast<pid_t>(std::stol(inspect_format(name, "{{.State.Pid}}")));
    } catch (const std::exception&) {
        return -1;
    }
}

// The argv of `bin` (a copy of the binary under test) on this test's store.
std::vector<std::string> argv_of(const std::string& bin, const std::vector<std::string>& args) {
    std::vector<std::string> argv = {bin, "--root", state_root()};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

std::string random_hex(size_t digits) {
    std::random_device rd;
    std::string out;
    while (out.size() < digits) {
        out += "0123456789abcdef"[rd() % 16];
    }
    return out;
}

// "0 1 2\r\n" (through a terminal) -> "0 1 2".
std::string without_cr(const std::string& s) {
    std::string out = s;
    out.erase(std::remove(out.begin(), out.end(), '\r'), out.end());
    return trim(out);
}

std::string sha256_of(const std::string& path) {
    Result r = run({"sha256sum", path}, "", 120);
    EXPECT_EQ(r.code, 0) << r.err;
    return r.out.substr(0, r.out.find(' '));
}

// Imports a copy of the test rootfs, plus `extra` files (path in the image ->
// content, mode 0755), as the image `name`, with `bin`.
void import_image_with(const std::string& bin, const std::string& name,
                       const std::map<std::string, std::string>& extra) {
    TempDir src;
    std::string dir = src.path() + "/rootfs";
    Result r = run({"cp", "-a", rootfs_path(), dir});
    ASSERT_EQ(r.code, 0) << r.err;
    for (const auto& [path, content] : extra) {
        std::ofstream(dir + path) << content;
        fs::permissions(dir + path, fs::perms(0755));
    }
    r = run(argv_of(bin, {"import", dir, name}));
    ASSERT_EQ(r.code, 0) << r.err;
}

// Runs `argv` with a descriptor of the host directory `dir` open as fd `n`,
// and not close-on-exec: what a careless caller (a shell script, a CI job)
// hands to the runtime without knowing. (bash takes fd numbers above 9.)
Result run_holding(const std::string& dir, int n, const std::vector<std::string>& argv) {
    std::vector<std::string> full = {"bash", "-c", "exec " + std::to_string(n) + "<\"$0\" && exec \"$@\"", dir};
    full.insert(full.end(), argv.begin(), argv.end());
    return run(full);
}

// A tmux server of its own (-L: its own socket, so no one else's session is
// touched) running `command` in a 120x30 window: a real terminal for -t.
// The server is killed on destruction, also when the test fails.
class Tmux {
public:
    explicit Tmux(const std::string& command) {
        static int count = 0;
        socket_ = "minidocker-sec-" + std::to_string(::getpid()) + "-" + std::to_string(++count);
        Result r = run({"tmux", "-L", socket_, "-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", "120", "-y",
                        "30", command});
        EXPECT_EQ(r.code, 0) << r.err;
    }
    ~Tmux() { run({"tmux", "-L", socket_, "kill-server"}, "", 10); }
    Tmux(const Tmux&) = delete;
    Tmux& operator=(const Tmux&) = delete;

    std::string screen() { return run({"tmux", "-L", socket_, "capture-pane", "-p", "-t", "t"}, "", 10).out; }

private:
    std::string socket_;
};

// `shell` (its stdin a terminal) run in tmux; its stdout, and $?.
struct InTerminal {
    std::string out;
    std::string exit;
    std::string screen;
};
InTerminal in_terminal(const std::string& shell) {
    TempDir dir;
    std::string out = dir.path() + "/out";
    std::string exit = dir.path() + "/exit";
    Tmux tmux(shell + " > " + out + " 2>&1; echo $? > " + exit + ".new; mv " + exit + ".new " + exit + "; sleep 5");
    wait_until([&] { return fs::exists(exit); }, 20);
    return {read_file(out), trim(read_file(exit)), tmux.screen()};
}

// The line of /proc/PID/cgroup that names the memory cgroup: "N:memory:PATH"
// on a v1 memory hierarchy, else "0::PATH" (v2).
std::string memory_line(const std::string& cgroup_file) {
    std::string v2;
    for (const std::string& line : lines(cgroup_file)) {
        std::string controllers = line.substr(line.find(':') + 1);
        controllers = "," + controllers.substr(0, controllers.find(':')) + ",";
        if (contains(controllers, ",memory,")) {
            return line;
        }
        if (line.rfind("0::", 0) == 0) {
            v2 = line;
        }
    }
    return v2;
}

// probe exe-attack's report: "targets 3" -> {"targets", "3"}, "reopen
// EROFS=2 ok=1" -> {"reopen", "EROFS=2 ok=1"}, one "exe" entry per line.
std::multimap<std::string, std::string> report(const std::string& out) {
    std::multimap<std::string, std::string> r;
    for (const std::string& line : lines(out)) {
        size_t space = line.find(' ');
        r.emplace(line.substr(0, space), space == std::string::npos ? "" : line.substr(space + 1));
    }
    return r;
}

std::string first(const std::multimap<std::string, std::string>& r, const std::string& key) {
    auto it = r.find(key);
    return it == r.end() ? "(none)" : it->second;
}

long count_of(const std::multimap<std::string, std::string>& r, const std::string& key) {
    try {
        return std::stol(first(r, key));
    } catch (const std::exception&) {
        return -1;
    }
}

// "EROFS=2 ok=1" -> {EROFS: 2, ok: 1}.
std::map<std::string, long> outcomes(const std::string& text) {
    std::map<std::string, long> out;
    std::istringstream in(text);
    for (std::string word; in >> word;) {
        size_t eq = word.find('=');
        if (eq != std::string::npos) {
            out[word.substr(0, eq)] += std::atol(word.c_str() + eq + 1);
        }
    }
    return out;
}

}  // namespace

// Claim: whatever starts it, the container's command has exactly the
// descriptors 0, 1 and 2 when its first instruction runs: `exec`, `exec -i`
// (stdin a pipe), `exec -t` and `exec -it` (a terminal, through tmux) into a
// container that has a host directory and a named volume mounted; `run`
// with volumes and a memory limit, attached and with a terminal; and
// `run -d` with volumes, whose output `logs` shows. Also when the caller
// left a descriptor of a host directory open. (Ch01.OnlyStandardFds checks
// the plain `run`.)
TEST(Ch08Security, ExecStartsTheCommandWithOnlyStdio) {
    MINIDOCKER_REQUIRE_ROOT();
    import_probe_image("img");
    TempDir host;
    std::vector<std::string> volumes = {"-v", host.path() + ":/data", "-v", "named:/named"};
    std::vector<std::string> run_d = {"--name", "box"};
    run_d.insert(run_d.end(), volumes.begin(), volumes.end());
    run_d.insert(run_d.end(), {"img", "/probe", "sleep", "1000"});
    ASSERT_FALSE(run_detached(run_d).empty());

    Result r = runtime({"exec", "box", "/probe", "fds"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "0 1 2\n") << "exec: " << r.err;
    r = run(runtime_argv({"exec", "-i", "box", "/probe", "fds"}), "input\n");
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "0 1 2\n") << "exec -i: " << r.err;
    // Descriptors the caller forgot to close stop at the runtime too.
    for (int n : {3, 7, 12}) {
        r = run_holding(host.path(), n, runtime_argv({"exec", "box", "/probe", "fds"}));
        EXPECT_EQ(r.code, 0) << r.err;
        EXPECT_EQ(r.out, "0 1 2\n") << "exec, the caller holding fd " << n << ": " << r.err;
    }

    std::string ch = binary() + " --root " + state_root();
    for (const char* flags : {"-t", "-it"}) {
        InTerminal t = in_terminal(ch + " exec " + std::string(flags) + " box /probe fds");
        EXPECT_EQ(t.exit, "0") << "exec " << flags << ":\n" << t.out << t.screen;
        EXPECT_EQ(without_cr(t.out), "0 1 2") << "exec " << flags << ":\n" << t.screen;
    }

    std::vector<std::string> attached = {"run", "--rm", "-m", "64m"};
    attached.insert(attached.end(), volumes.begin(), volumes.end());
    attached.insert(attached.end(), {"img", "/probe", "fds"});
    r = runtime(attached);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "0 1 2\n") << "run: " << r.err;
    InTerminal t = in_terminal(ch + " run --rm -t -v " + host.path() + ":/data img /probe fds");
    EXPECT_EQ(t.exit, "0") << "run -t:\n" << t.out << t.screen;
    EXPECT_EQ(without_cr(t.out), "0 1 2") << "run -t:\n" << t.screen;

    r = run_holding(host.path(), 9, runtime_argv(attached));
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "0 1 2\n") << "run, the caller holding fd 9: " << r.err;

    // Detached, also with a descriptor the caller forgot.
    for (int n : {0, 5}) {
        std::string name = "d" + std::to_string(n);
        std::vector<std::string> detached = {"run", "-d", "--name", name};
        detached.insert(detached.end(), volumes.begin(), volumes.end());
        detached.insert(detached.end(), {"-v", "/anon", "-m", "64m", "img", "/probe", "fds"});
        r = n == 0 ? runtime(detached) : run_holding(host.path(), n, runtime_argv(detached));
        ASSERT_EQ(r.code, 0) << r.err;
        EXPECT_EQ(runtime({"wait", name}, 30).out, "0\n");
        r = runtime({"logs", name});
        EXPECT_EQ(r.code, 0) << r.err;
        EXPECT_EQ(r.out, "0 1 2\n") << "run -d" << (n == 0 ? "" : ", the caller holding fd " + std::to_string(n))
                                    << ": " << r.err;
    }
}

// Claim (CVE-2024-21626): a working directory named through a descriptor,
// `exec -w /proc/self/fd/N` (and /proc/thread-self/fd/N, /proc/1/fd/N) for
// N = 3..15, is either refused (exit code 125, one line) or inside the
// container: the command's getcwd() is a normal path, and no host file is
// reachable from it by "..", however far up. Each path is tried twice: with
// the runtime's own descriptors only, and with a caller that left a host
// directory open as that very N (a shell's `exec N<dir`), which is what
// /proc/self/fd/N then names while the runtime chdir()s. Markers sit in that
// directory, in the store and in the container's directory. The same for
// images whose WorkingDir is /proc/self/fd/N (made with commit --change),
// run attached and with -d.
TEST(Ch08Security, WorkdirThroughProcSelfFdIsRefused) {
    MINIDOCKER_REQUIRE_ROOT();
    import_probe_image("img");
    std::string id = run_detached({"--name", "box", "img", "/probe", "sleep", "1000"});
    ASSERT_FALSE(id.empty());
    TempDir held;
    std::string marker_name = "host-marker-" + random_hex(16);
    std::string marker = "/" + marker_name;
    std::vector<std::string> marked = {held.path(), state_root(), state_root() + "/containers/" + id};
    std::vector<std::string> cwd_probe = {"/probe", "cwd", marker_name};
    for (const std::string& dir : marked) {
        std::ofstream(dir + marker) << "host\n";
        ASSERT_TRUE(fs::exists(dir + marker)) << dir;
        cwd_probe.push_back(dir.substr(1) + marker);  // relative: ../../.. + it
    }
    ASSERT_EQ(trim(runtime({"exec", "box", "/probe", "cwd", marker_name}).out), "cwd /\nreached nothing")
        << "the probe itself is broken";

    long tried = 0;
    long ran = 0;
    std::vector<std::string> escapes;  // "what: the probe's output"
    // Refused in one line, or run with a working directory inside the container.
    auto expect_inside = [&](const std::string& what, const Result& r) {
        ++tried;
        if (r.code != 0) {
            SCOPED_TRACE(what);
            expect_error_line(r);
            return;
        }
        ++ran;
        std::vector<std::string> out = lines(r.out);
        bool inside =
            !out.empty() && out[0].rfind("cwd /", 0) == 0 && !contains(out[0], "unreachable") &&
            std::vector<std::string>(out.begin() + 1, out.end()) == std::vector<std::string>{"reached nothing"};
        if (!inside) {
            escapes.push_back(what + ":\n" + r.out + r.err);
        }
    };
    auto holding = [](int n) { return ", the caller holding a host directory as fd " + std::to_string(n); };

    for (int n = 3; n <= 15; ++n) {
        for (const char* base : {"/proc/self/fd/", "/proc/thread-self/fd/", "/proc/1/fd/"}) {
            std::string dir = std::string(base) + std::to_string(n);
            std::vector<std::string> args = {"exec", "-w", dir, "box"};
            args.insert(args.end(), cwd_probe.begin(), cwd_probe.end());
            expect_inside("exec -w " + dir, runtime(args));
            expect_inside("exec -w " + dir + holding(n), run_holding(held.path(), n, runtime_argv(args)));
        }
    }

    // An image's WorkingDir.
    for (int n = 3; n <= 15; ++n) {
        std::string dir = "/proc/self/fd/" + std::to_string(n);
        std::string image = "wd" + std::to_string(n);
        Result r = runtime({"commit", "--change", "WORKDIR " + dir, "box", image});
        ASSERT_EQ(r.code, 0) << r.err;
        nlohmann::json config =
            nlohmann::json::parse(read_file(state_root() + "/images/" + image + ":latest.json"), nullptr, false);
        ASSERT_EQ(config.is_object() ? config["config"].value("WorkingDir", "") : "", dir)
            << "commit --change did not set it: " << config;
        std::vector<std::string> args = {"run", "--rm", image};
        args.insert(args.end(), cwd_probe.begin(), cwd_probe.end());
        expect_inside("run, WorkingDir " + dir, runtime(args));
        expect_inside("run, WorkingDir " + dir + holding(n), run_holding(held.path(), n, runtime_argv(args)));

        std::string name = "d" + std::to_string(n);
        std::vector<std::string> detached = {"run", "-d", "--name", name, image};
        detached.insert(detached.end(), cwd_probe.begin(), cwd_probe.end());
        r = run_holding(held.path(), n, runtime_argv(detached));
        if (r.code == 0) {
            EXPECT_EQ(runtime({"wait", name}, 30).out, "0\n");
            Result logs = runtime({"logs", name});
            expect_inside("run -d, WorkingDir " + dir + holding(n), Result{0, logs.out, logs.err});
        } else {
            expect_inside("run -d, WorkingDir " + dir + holding(n), r);
        }
    }
    std::string all;
    for (const std::string& e : escapes) {
        all += e.substr(0, e.find(':')) + "\n";
    }
    EXPECT_TRUE(escapes.empty()) << escapes.size() << " of " << tried
                                 << " commands ran in a working directory outside the container, the first:\n"
                                 << (escapes.empty() ? "" : escapes[0]) << "all:\n"
                                 << all;
    for (const std::string& dir : marked) {
        EXPECT_EQ(read_file(dir + marker), "host\n") << dir;
    }
    record_count("working directories tried", tried);
    record_count("working directories that ran", ran);
}

// Claim (CVE-2019-5736): a container cannot overwrite the runtime's binary.
// Its image has /bin/hijack, a script whose first line is `#!/proc/self/exe`:
// `exec box /bin/hijack` makes the kernel run the runtime's binary again,
// inside the container. Meanwhile the container's PID 1 (`probe
// exe-attack`) holds /proc/PID/exe (O_PATH) of every process that runs a
// binary from outside the container, tries to open it for writing, and,
// after those processes have exited, to reopen the held descriptors for
// writing (/proc/self/fd/N) and append a marker. After ten such execs the
// probe did hold the very file `exec` ran from (the attack really ran), no
// write got through (the binary's sha256 is unchanged), and the probe's last
// reopens came when nothing ran the binary any more (refused for another
// reason than ETXTBSY, which only lasts while the binary runs).
//
// Only copies are attacked: the container runs from one copy of the binary
// under test, `exec` from another (the `run -d` monitor runs its binary as
// long as the container lives, and the kernel refuses writes to a running
// binary, ETXTBSY: one file for both would hide the attack; two are also
// what an upgrade of the runtime while containers run makes).
TEST(Ch08Security, ExeCannotBeOverwrittenThroughProcPidExe) {
    MINIDOCKER_REQUIRE_ROOT();
    std::string original = fs::canonical(binary()).string();
    std::string original_sha = sha256_of(original);
    TempDir copies;
    std::string name = fs::path(binary()).filename();  // the same name: the same program() in messages
    std::string monitor_bin = copies.path() + "/monitor/" + name;
    std::string exec_bin = copies.path() + "/exec/" + name;
    for (const std::string& bin : {monitor_bin, exec_bin}) {
        fs::create_directories(fs::path(bin).parent_path());
        fs::copy_file(original, bin);
        fs::permissions(bin, fs::perms(0755));
    }
    ASSERT_EQ(sha256_of(exec_bin), original_sha);
    struct stat exec_st {};
    ASSERT_EQ(::stat(exec_bin.c_str(), &exec_st), 0);
    std::string exec_file = std::to_string(exec_st.st_dev) + ":" + std::to_string(exec_st.st_ino);

    import_image_with(monitor_bin, "hijack", {{"/bin/hijack", "#!/proc/self/exe\n"}});
    Result r = run(argv_of(monitor_bin, {"run", "-d", "--name", "box", "hijack", "/probe", "exe-attack", "120"}));
    ASSERT_EQ(r.code, 0) << r.err;
    pid_t attacker = init_pid("box");
    ASSERT_GT(attacker, 0);
    ASSERT_TRUE(wait_for_handler(attacker, SIGTERM));  // the attack loop runs

    const int execs = 10;
    std::map<std::string, int> results;  // "exit 125: ch08: unknown command ..." -> how often
    for (int i = 0; i < execs; ++i) {
        r = run(argv_of(exec_bin, {"exec", "box", "/bin/hijack"}), "", 30);
        ++results["exit " + std::to_string(r.code) + ": " + r.err];
    }
    ::usleep(300000);  // reopens every 20 ms: a few now that nothing runs the binary
    r = run(argv_of(monitor_bin, {"stop", "-t", "20", "box"}), "", 60);
    EXPECT_EQ(r.code, 0) << r.err;
    r = run(argv_of(monitor_bin, {"logs", "box"}));
    ASSERT_EQ(r.code, 0) << r.err;
    auto said = report(r.out);
    std::string context = "probe exe-attack said:\n" + r.out + r.err + "exec box /bin/hijack:\n";
    for (const auto& [what, times] : results) {
        context += std::to_string(times) + "x " + what;
    }

    // The attack ran: it held the very file `exec` runs from.
    EXPECT_GE(count_of(said, "held"), 1) << context;
    auto held = said.equal_range("exe");
    EXPECT_TRUE(std::any_of(held.first, held.second, [&](const auto& e) { return e.second == exec_file; }))
        << "never got hold of the runtime's binary (" << exec_file << ")\n"
        << context;
    // Every write failed.
    EXPECT_EQ(count_of(said, "written"), 0) << "the container wrote to the runtime's binary\n" << context;
    EXPECT_EQ(outcomes(first(said, "write")).count("ok"), 0u);
    std::map<std::string, long> last = outcomes(first(said, "last-reopen"));
    EXPECT_FALSE(last.empty()) << "no reopen after the execs had ended\n" << context;
    EXPECT_EQ(last.count("ETXTBSY"), 0u) << "the binary still ran when the probe last tried: the test proves nothing\n"
                                         << context;
    EXPECT_EQ(sha256_of(exec_bin), original_sha) << "the runtime's binary was changed";
    EXPECT_EQ(sha256_of(monitor_bin), original_sha);
    EXPECT_EQ(sha256_of(original), original_sha) << "the binary under test was changed: " << original;
    record_count("hijack execs", execs);
    record_count("runtime binaries held by the attacker", count_of(said, "held"));
    record_count("writes to the runtime's binary", count_of(said, "written"));
    runtime({"rm", "-f", "box"});  // before the copies go
}

// Claim: the cgroup limits hold from the container command's first
// instruction: `probe cgroup-first` reads /proc/self/cgroup before it does
// anything else, and what it read is what the container's PID 1 is in later
// (as `cat /proc/1/cgroup` shows inside, through the container's cgroup
// namespace, if it has one), whose memory cgroup on the host is the
// container's own (its id in the path): as PID 1 of `run -m 64m` (attached
// and -d), and run by `exec`.
TEST(Ch08Security, LimitsHoldBeforeTheFirstInstruction) {
    MINIDOCKER_REQUIRE_ROOT();
    import_probe_image("img");
    // The cgroups of the container `name`'s PID 1, as the container sees them
    // (/proc/PID/cgroup is relative to the reader's cgroup namespace); and
    // its memory cgroup must be the container's own on the host.
    auto cgroups_of_init = [](const std::string& name, pid_t pid) {
        std::string id = inspect_format(name, "{{.Id}}");
        std::string host_line = memory_line(read_file("/proc/" + std::to_string(pid) + "/cgroup"));
        EXPECT_TRUE(!id.empty() && contains(host_line, "/" + id))
            << name << ": PID 1 is not in the container's memory cgroup: " << host_line;
        Result r = runtime({"exec", name, "cat", "/proc/1/cgroup"});
        EXPECT_EQ(r.code, 0) << r.err;
        EXPECT_NE(memory_line(r.out), "") << r.out;
        return r.out;
    };

    // Attached: PID 1's output once it is stopped.
    {
        Background c = start({"run", "-m", "64m", "--name", "a", "img", "/probe", "cgroup-first", "60"});
        pid_t pid = c.container_pid("probe");
        ASSERT_GT(pid, 0);
        std::string later = cgroups_of_init("a", pid);
        ASSERT_TRUE(wait_for_handler(pid, SIGTERM));
        ::kill(pid, SIGTERM);
        Result r = c.wait();
        EXPECT_EQ(r.code, 143) << r.err;
        EXPECT_EQ(r.out, later) << "run -m: PID 1 started in other cgroups than it runs in";
    }

    // Detached: PID 1's output through logs.
    ASSERT_FALSE(run_detached({"-m", "64m", "--name", "lim", "img", "/probe", "cgroup-first", "1000"}).empty());
    pid_t pid = init_pid("lim");
    ASSERT_GT(pid, 0);
    std::string later = cgroups_of_init("lim", pid);
    Result logs;
    wait_until(
        [&] {
            logs = runtime({"logs", "lim"});
            return !logs.out.empty();
        },
        10);
    EXPECT_EQ(logs.out, later) << "run -d -m: PID 1 started in other cgroups than it runs in";
    EXPECT_EQ(inspect_format("lim", "{{.HostConfig.Memory}}"), std::to_string(64 << 20));

    // exec: the init's cgroups, from the start.
    for (int i = 0; i < 3; ++i) {
        Result r = runtime({"exec", "lim", "/probe", "cgroup-first"});
        EXPECT_EQ(r.code, 0) << r.err;
        EXPECT_EQ(r.out, later) << "exec: the command started outside the container's cgroups";
    }
}

// Claim: under a "/" that is rshared (as on systemd hosts), no mount of any
// container reaches the host: with everything on (an image's overlay, a
// host directory, a named and an anonymous volume, a memory limit, --net
// none), an `exec` into the container and a `commit` of it while it runs,
// then a container of the new image, the mount table is, while the
// container runs and after it is removed, what it was before.
TEST(Ch08Security, NoContainerMountReachesASharedHostRoot) {
    MINIDOCKER_REQUIRE_ROOT();
    import_probe_image("img");
    TempDir host;
    TempDir out;
    std::string ch = binary() + " --root " + state_root();
    const std::string& h = host.path();
    std::string script = ch + " run -d --name all -m 64m --net none -v " + h + ":/data -v named:/named -v /anon " +
                         "img /probe sleep 1000 > /dev/null; " + ch + " exec all sh -c 'echo in > /data/exec' ; " + ch +
                         " commit all committed > /dev/null; cat /proc/self/mountinfo > " + out.path() + "/during; " +
                         ch + " run --rm --net none -m 64m -v " + h +
                         ":/data committed sh -c 'echo again > /data/again'; " + ch + " rm -f all > /dev/null";
    MountTables t = mount_tables_around(script);
    ASSERT_EQ(t.result.code, 0) << t.result.err;
    ASSERT_NE(t.before.find("shared:"), std::string::npos) << "the test failed to make / shared";
    EXPECT_EQ(read_file(h + "/exec"), "in\n") << "the exec did not run";
    EXPECT_EQ(read_file(h + "/again"), "again\n") << "the committed image did not run";
    EXPECT_EQ(t.before, read_file(out.path() + "/during"));
    EXPECT_EQ(t.before, t.after);
}

TEST(Ch08Security, DetachedMonitorKeepsNothingOfItsCaller) {
    MINIDOCKER_REQUIRE_ROOT();
    import_probe_image("img");
    TempDir host;
    // `$(...)` waits until every writer of its pipe is gone. With the pipe
    // also open as fd 3, a monitor that kept it would hold it for the
    // container's whole life: the substitution would not return.
    std::string ch = binary() + " --root " + state_root();
    double started = now();
    Result r =
        run({"bash", "-c", "id=$(" + ch + " run -d --name box img /probe sleep 1000 3>&1) && echo \"$id\""}, "", 20);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(is_hex(trim(r.out), 64)) << r.out;
    EXPECT_LT(now() - started, 10) << "run -d inside $(...) waited for the container";
    // A host directory the caller left open is not the monitor's either.
    r = run_holding(host.path(), 7, runtime_argv({"run", "-d", "--name", "box2", "img", "/probe", "sleep", "1000"}));
    ASSERT_EQ(r.code, 0) << r.err;
    std::string monitor = inspect_format("box2", "{{.State.Pid}}");
    pid_t init = std::stoi(monitor);
    std::istringstream stat(read_file("/proc/" + std::to_string(init) + "/stat"));
    std::string skip;
    pid_t parent = 0;
    stat >> skip >> skip >> skip >> parent;  // pid (comm) state ppid: comm has no spaces here
    ASSERT_GT(parent, 0);
    for (const std::string& fd : names_in("/proc/" + std::to_string(parent) + "/fd")) {
        std::error_code ec;
        fs::path target = fs::read_symlink("/proc/" + std::to_string(parent) + "/fd/" + fd, ec);
        EXPECT_NE(target, fs::path(host.path())) << "the monitor holds the caller's fd " << fd;
    }
    EXPECT_EQ(runtime({"rm", "-f", "box", "box2"}).code, 0);
}
