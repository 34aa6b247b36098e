// Issue 13's reliability claims, proven from outside, as a user would meet
// them:
//   - 300 `run --rm` of every kind (a normal exit, an OOM kill, a container
//     killed from outside, a start that fails, the runtime itself killed
//     with SIGKILL at a random moment of the start, after which the user
//     runs `rm -f` on what `ps -a` lists) leave the host and the store as
//     they found them: the same mounts, cgroup directories (below the
//     runtime's minidocker/ parents, and the top-level names of each
//     hierarchy), named network namespaces, no process of the runtime or of
//     the probe, no child of the test, no container, name or volume, the
//     same images and layers;
//   - 50 `run --rm` at once all print what they should and leave nothing;
//   - 20 `exec` at once into one container all print what they should, and
//     the container still runs;
//   - `run -d`, `stop`, `rm` and `commit` killed with SIGKILL anywhere leave
//     state files that all parse, `ps -a` and `inspect` that still work, and
//     containers that `rm -f` removes (none left frozen).
// The random choices (kinds, delays) come from a fixed seed, printed, that
// MINIDOCKER_RELIABILITY_SEED changes. The tests compare host-wide state, so
// CTest runs them alone (tests/CMakeLists.txt); what other programs running
// beside them change anyway (another test's store, another test's
// containers: told apart by their --root and their container ids) is printed,
// not counted; what cannot be told apart counts as this test's. The
// machine's own cgroups (process_api) are never looked at. Whatever a test
// finds left behind it reports, then removes (thaws, kills, unmounts,
// rmdirs), so that a failing runtime does not leave the host dirty. They
// print and record their counts (record_count). Chapter 08's suite: it also
// runs against `minidocker`.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "harness.hpp"
#include "mountinfo.hpp"

namespace fs = std::filesystem;
using namespace minidocker::test;

namespace {

const std::string kImage = "probeimg";
// Seconds the long tests may spend on their cycles before they give up (a
// runtime that hangs): well inside CTest's 300 s for one test.
const double kBudget = 150;

// ---- repeatable randomness ----

// The seed: fixed, so that a failure repeats; MINIDOCKER_RELIABILITY_SEED
// sets another.
unsigned fixed_seed() {
    const char* env = std::getenv("MINIDOCKER_RELIABILITY_SEED");
    unsigned seed = env != nullptr && *env != '\0' ? static_cast<unsigned>(std::strtoul(env, nullptr, 10)) : 13;
    std::printf("seed %u (MINIDOCKER_RELIABILITY_SEED=%u repeats the sequence)\n", seed, seed);
    return seed;
}

// Microseconds in [0, max_ms] milliseconds.
useconds_t random_delay(std::mt19937& random, int max_ms) {
    return static_cast<useconds_t>(std::uniform_int_distribution<int>(0, max_ms * 1000)(random));
}

// ---- processes, from /proc ----

std::string stat_after_comm(pid_t pid) {
    std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    size_t paren = stat.rfind(')');
    return paren == std::string::npos || paren + 2 > stat.size() ? "" : stat.substr(paren + 2);
}

std::vector<std::string> words(const std::string& text) {
    std::istringstream in(text);
    std::vector<std::string> out;
    for (std::string w; in >> w;) {
        out.push_back(w);
    }
    return out;
}

// A process that exists and is not a zombie.
bool alive(pid_t pid) {
    std::string rest = stat_after_comm(pid);
    return pid > 0 && !rest.empty() && rest[0] != 'Z' && rest[0] != 'X';
}

pid_t parent_of(pid_t pid) {
    std::vector<std::string> w = words(stat_after_comm(pid));
    return w.size() > 1 ? static_cast<pid_t>(std::stol(w[1])) : -1;
}

// "PID STARTTIME": one process, even when its PID is used again later.
std::string process_key(pid_t pid) {
    std::vector<std::string> w = words(stat_after_comm(pid));
    return std::to_string(pid) + " " + (w.size() > 19 ? w[19] : "?");
}

// The NUL-separated words of a /proc file (cmdline, environ).
std::vector<std::string> proc_strings(pid_t pid, const std::string& file) {
    std::string raw = read_file("/proc/" + std::to_string(pid) + "/" + file);
    std::vector<std::string> out;
    for (size_t start = 0; start < raw.size();) {
        size_t end = raw.find('\0', start);
        end = end == std::string::npos ? raw.size() : end;
        out.push_back(raw.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

std::string comm_of(pid_t pid) { return trim(read_file("/proc/" + std::to_string(pid) + "/comm")); }

std::string describe(pid_t pid) {
    std::string cmdline;
    for (const std::string& w : proc_strings(pid, "cmdline")) {
        cmdline += (cmdline.empty() ? "" : " ") + w;
    }
    return std::to_string(pid) + " (" + comm_of(pid) + ": " + cmdline + ")";
}

// chNN, minidocker, probe: a path's last name is one of the programs.
bool is_runtime_or_probe_name(const std::string& path) {
    std::string name = fs::path(path).filename().string();
    bool chapter = name.size() == 4 && name.rfind("ch", 0) == 0 && isdigit(static_cast<unsigned char>(name[2])) &&
                   isdigit(static_cast<unsigned char>(name[3]));
    return chapter || name == "minidocker" || name == "probe";
}

// By its name (comm), its argv[0] or its executable: the runtime re-executes
// itself from a file descriptor, so no one of them alone is enough.
bool is_runtime_or_probe(pid_t pid) {
    std::vector<std::string> argv = proc_strings(pid, "cmdline");
    std::error_code ec;
    fs::path exe = fs::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec);
    return is_runtime_or_probe_name(comm_of(pid)) || (!argv.empty() && is_runtime_or_probe_name(argv[0])) ||
           (!ec && is_runtime_or_probe_name(exe.string()));
}

std::vector<pid_t> all_pids() {
    std::vector<pid_t> pids;
    for (const std::string& name : names_in("/proc")) {
        if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos) {
            pids.push_back(static_cast<pid_t>(std::stol(name)));
        }
    }
    return pids;
}

// The children of this test process (of any of its threads): the harness
// reaps every process it starts, so none may be left.
std::vector<pid_t> children_of_test() {
    std::vector<pid_t> out;
    for (const std::string& tid : names_in("/proc/self/task")) {
        std::istringstream in(read_file("/proc/self/task/" + tid + "/children"));
        for (pid_t c = 0; in >> c;) {
            out.push_back(c);
        }
    }
    return out;
}

// ---- the ids of this test's containers ----

// Every directory made in the store's containers/, by inotify: so even the
// ids of containers that `run --rm` removed at once are known. They tell
// this test's cgroups and processes from another test's.
class ContainerIds {
public:
    explicit ContainerIds(std::string dir) : dir_(std::move(dir)) {
        fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        EXPECT_GE(fd_, 0) << "inotify_init1";
        EXPECT_GE(::inotify_add_watch(fd_, dir_.c_str(), IN_CREATE | IN_MOVED_TO), 0) << dir_;
    }
    ~ContainerIds() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    ContainerIds(const ContainerIds&) = delete;
    ContainerIds& operator=(const ContainerIds&) = delete;

    // (Called often enough that the kernel's queue never overflows.)
    const std::set<std::string>& ids() {
        alignas(inotify_event) char buf[65536];
        for (ssize_t n = 0; (n = ::read(fd_, buf, sizeof buf)) > 0;) {
            for (ssize_t at = 0; at < n;) {
                const auto* e = reinterpret_cast<const inotify_event*>(buf + at);
                if ((e->mask & IN_Q_OVERFLOW) != 0) {
                    overflowed_ = true;
                } else if (e->len > 0) {
                    ids_.insert(e->name);
                }
                at += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
            }
        }
        for (const std::string& id : names_in(dir_)) {
            ids_.insert(id);
        }
        return ids_;
    }
    // When events were lost, nothing can be told apart: all counts as ours.
    bool overflowed() const { return overflowed_; }

private:
    std::string dir_;
    int fd_ = -1;
    std::set<std::string> ids_;
    bool overflowed_ = false;
};

// ---- host state ----

// The cgroup directories these tests may look at: each hierarchy (a mount
// under /sys/fs/cgroup) with the names at its top, and everything below a
// minidocker/ parent (v2: /sys/fs/cgroup/minidocker; v1:
// /sys/fs/cgroup/CONTROLLER/minidocker). Nothing below process_api*.
std::set<std::string> cgroup_dirs() {
    std::set<std::string> dirs;
    std::vector<std::string> roots = {"/sys/fs/cgroup"};
    for (const std::string& top : names_in("/sys/fs/cgroup")) {
        std::string path = "/sys/fs/cgroup/" + top;
        std::error_code ec;
        if (!fs::is_directory(path, ec)) {
            continue;
        }
        dirs.insert(path);
        if (top.rfind("process_api", 0) == 0) {
            continue;
        }
        roots.push_back(path);
        for (const std::string& name : names_in(path)) {
            fs::path dir = fs::path(path) / name;
            if (fs::is_directory(dir, ec)) {
                dirs.insert(dir.string());
            }
        }
    }
    for (const std::string& root : roots) {
        std::string parent = root + "/minidocker";
        std::error_code ec;
        for (auto it = fs::recursive_directory_iterator(parent, ec); !ec && it != fs::recursive_directory_iterator();
             it.increment(ec)) {
            if (it->is_directory(ec)) {
                dirs.insert(it->path().string());
            }
        }
    }
    return dirs;
}

// "MOUNT-POINT FSTYPE SOURCE" for each mount of the host, as
// tests/leak_check.sh records them.
std::set<std::string> host_mounts() {
    std::set<std::string> out;
    for (const minidocker::MountEntry& m : minidocker::parse_mountinfo(read_file("/proc/self/mountinfo"))) {
        out.insert(m.point + " " + m.fstype + " " + m.source);
    }
    return out;
}

// Named network namespaces: `ip netns list` and /run/netns.
std::set<std::string> named_netns() {
    std::set<std::string> out = names_in("/run/netns");
    for (const std::string& line : lines(run({"ip", "netns", "list"}, "", 10).out)) {
        std::vector<std::string> w = words(line);
        if (!w.empty()) {
            out.insert(w[0]);
        }
    }
    return out;
}

struct HostState {
    std::set<std::string> mounts;
    std::set<std::string> cgroups;
    std::set<std::string> netns;
    std::map<std::string, pid_t> processes;  // the runtime's and the probe's, by process_key
};

HostState host_state() {
    HostState s;
    s.mounts = host_mounts();
    s.cgroups = cgroup_dirs();
    s.netns = named_netns();
    for (pid_t pid : all_pids()) {
        if (pid != ::getpid() && alive(pid) && is_runtime_or_probe(pid)) {
            s.processes[process_key(pid)] = pid;
        }
    }
    return s;
}

// ---- who made what the host gained ----

// Whether a process names a store other than `root` (with --root or
// MINIDOCKER_ROOT), it or one of its ancestors: another test's runtime,
// monitor or container.
bool of_another_store(pid_t pid, const std::string& root) {
    for (int depth = 0; pid > 1 && depth < 64; ++depth, pid = parent_of(pid)) {
        std::vector<std::string> argv = proc_strings(pid, "cmdline");
        if (std::any_of(argv.begin(), argv.end(), [&](const std::string& a) { return contains(a, root); })) {
            return false;
        }
        if (std::any_of(argv.begin(), argv.end(), [](const std::string& a) { return a.rfind("--root", 0) == 0; })) {
            return true;
        }
        for (const std::string& var : proc_strings(pid, "environ")) {
            if (var.rfind("MINIDOCKER_ROOT=", 0) == 0) {
                return var != "MINIDOCKER_ROOT=" + root;
            }
        }
    }
    return false;
}

// This test's: under its store; of one of its containers (by id); a process
// of its own (a descendant, or one that names its store). Another test's:
// under another test's store (/tmp/minidocker-*); a process that names
// another store; of a container id this test never made that another
// store holds (/tmp/*/containers/ID, /tmp/*/*/containers/ID,
// /var/lib/minidocker/containers/ID) or another store's processes run in.
// When nothing says, this test's: a runtime killed before it made the
// container's directory leaves cgroups that name no store at all.
class Owner {
public:
    Owner(std::string root, ContainerIds& ids) : root_(std::move(root)), ids_(ids) {}

    bool mount_is_ours(const std::string& entry) const {
        std::string point = words(entry).empty() ? "" : words(entry)[0];
        return point.rfind(root_, 0) == 0 || point.rfind("/tmp/minidocker-", 0) != 0;
    }

    bool cgroup_is_ours(const std::string& dir) {
        if (std::optional<bool> by_id = ours_by_ids(dir)) {
            return *by_id;
        }
        // A minidocker/ parent: another test's when all it holds is another
        // test's containers.
        if (fs::path(dir).filename() == "minidocker") {
            bool any = false;
            for (const std::string& name : names_in(dir)) {
                if (is_hex(name, 64)) {
                    any = true;
                    if (id_is_ours(name)) {
                        return true;
                    }
                }
            }
            return !any;
        }
        return true;
    }

    bool process_is_ours(pid_t pid) {
        for (pid_t p = pid; p > 1; p = parent_of(p)) {
            if (p == ::getpid()) {
                return true;
            }
        }
        if (of_another_store(pid, root_)) {
            return false;
        }
        return ours_by_ids(read_file("/proc/" + std::to_string(pid) + "/cgroup")).value_or(true);
    }

private:
    bool id_is_ours(const std::string& id) {
        if (ids_.overflowed() || ids_.ids().count(id) != 0) {
            return true;
        }
        auto known = verdicts_.find(id);
        if (known != verdicts_.end()) {
            return known->second;
        }
        bool elsewhere = fs::exists("/var/lib/minidocker/containers/" + id);
        for (const std::string& top : names_in("/tmp")) {
            std::string dir = "/tmp/" + top;
            elsewhere = elsewhere || fs::exists(fs::path(dir) / "containers" / id);
            std::error_code ec;
            if (!elsewhere && top.rfind("minidocker-", 0) != 0 && fs::is_directory(dir, ec)) {
                for (const std::string& sub : names_in(dir)) {
                    elsewhere = elsewhere || fs::exists(fs::path(dir) / sub / "containers" / id);
                }
            }
        }
        for (const std::string& hierarchy : names_in("/sys/fs/cgroup")) {
            std::istringstream procs(
                read_file(fs::path("/sys/fs/cgroup") / hierarchy / "minidocker" / id / "cgroup.procs"));
            for (pid_t p = 0; !elsewhere && procs >> p;) {
                elsewhere = of_another_store(p, root_);
            }
        }
        verdicts_[id] = !elsewhere;
        return !elsewhere;
    }

    // Whether the 64-digit ids in `text` (a path, /proc/PID/cgroup) are this
    // test's containers'; nullopt when it names none.
    std::optional<bool> ours_by_ids(const std::string& text) {
        std::optional<bool> ours;
        std::string paths = text;
        std::replace(paths.begin(), paths.end(), '\n', '/');
        std::istringstream in(paths);
        for (std::string part; std::getline(in, part, '/');) {
            part = trim(part);
            if (is_hex(part, 64)) {
                ours = ours.value_or(false) || id_is_ours(part);
            }
        }
        return ours;
    }

    std::string root_;
    ContainerIds& ids_;
    std::map<std::string, bool> verdicts_;  // ids this test did not make
};

struct Leaks {
    std::vector<std::string> ours;
    std::vector<std::string> others;  // another test's: printed only
    std::vector<std::string> our_cgroups;
    std::vector<pid_t> our_processes;
    std::vector<std::string> our_mounts;
};

Leaks leaks_since(const HostState& before, Owner& owner) {
    HostState now_state = host_state();
    Leaks l;
    for (const std::string& m : now_state.mounts) {
        if (before.mounts.count(m) == 0) {
            bool ours = owner.mount_is_ours(m);
            (ours ? l.ours : l.others).push_back("mount " + m);
            if (ours) {
                l.our_mounts.push_back(words(m)[0]);
            }
        }
    }
    for (const std::string& dir : now_state.cgroups) {
        if (before.cgroups.count(dir) == 0) {
            bool ours = owner.cgroup_is_ours(dir);
            (ours ? l.ours : l.others).push_back("cgroup " + dir);
            if (ours) {
                l.our_cgroups.push_back(dir);
            }
        }
    }
    for (const std::string& ns : now_state.netns) {
        if (before.netns.count(ns) == 0) {
            l.ours.push_back("network namespace " + ns);
        }
    }
    for (const auto& [key, pid] : now_state.processes) {
        if (before.processes.count(key) == 0) {
            bool ours = owner.process_is_ours(pid);
            (ours ? l.ours : l.others).push_back("process " + describe(pid));
            if (ours) {
                l.our_processes.push_back(pid);
            }
        }
    }
    for (pid_t child : children_of_test()) {
        l.ours.push_back("child of the test " + describe(child));
    }
    return l;
}

// What this test left on the host since `before`; polls up to 10 s, as a
// container's last processes may take a moment to be reaped and its cgroups
// to be removed. Fails the test, naming each; then removes them (kills the
// processes, unmounts, removes the cgroups) so that nothing stays behind.
size_t expect_no_host_leaks(const HostState& before, Owner& owner) {
    Leaks l;
    wait_until(
        [&] {
            l = leaks_since(before, owner);
            return l.ours.empty();
        },
        10);
    if (!l.others.empty()) {
        std::printf("not counted, made by another program running beside this test:\n");
        for (const std::string& o : l.others) {
            std::printf("  %s\n", o.c_str());
        }
    }
    std::string listing;
    for (const std::string& o : l.ours) {
        listing += "  " + o + "\n";
    }
    EXPECT_TRUE(l.ours.empty()) << l.ours.size() << " things left on the host:\n" << listing;
    // Clean up what leaked: thaw what a freezer holds (a frozen process
    // cannot die), kill the processes, unmount, remove the cgroups
    // (deepest first).
    std::sort(l.our_cgroups.begin(), l.our_cgroups.end());
    std::vector<std::string> containers;  // (never a parent: it holds other tests' containers too)
    std::copy_if(l.our_cgroups.begin(), l.our_cgroups.end(), std::back_inserter(containers),
                 [](const std::string& dir) { return is_hex(fs::path(dir).filename().string(), 64); });
    for (const std::string& dir : containers) {
        for (const auto& [file, thawed] : {std::pair{"/freezer.state", "THAWED"}, std::pair{"/cgroup.freeze", "0"}}) {
            if (fs::exists(dir + file)) {
                std::ofstream(dir + file) << thawed;
            }
        }
    }
    for (pid_t pid : l.our_processes) {
        ::kill(pid, SIGKILL);
    }
    for (const std::string& dir : containers) {
        std::istringstream procs(read_file(dir + "/cgroup.procs"));
        for (pid_t pid = 0; procs >> pid;) {
            ::kill(pid, SIGKILL);
        }
    }
    for (auto it = l.our_mounts.rbegin(); it != l.our_mounts.rend(); ++it) {
        ::umount2(it->c_str(), MNT_DETACH);
    }
    for (auto it = l.our_cgroups.rbegin(); it != l.our_cgroups.rend(); ++it) {
        wait_until([&] { return trim(read_file(*it + "/cgroup.procs")).empty(); }, 5);
        ::rmdir(it->c_str());
    }
    return l.ours.size();
}

// ---- the store ----

// The store, path by path: the type; for files the size and a hash of the
// contents; for links the target. Layers by their name only (their files
// are the image's), and the harness's output files of background processes
// (/.bg-out-*) left out.
std::set<std::string> store_listing(const std::string& root) {
    std::set<std::string> out;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
        std::string rel = fs::relative(it->path(), root, ec).string();
        if (rel.rfind(".bg-out-", 0) == 0) {
            continue;
        }
        fs::file_status st = it->symlink_status(ec);
        if (fs::is_symlink(st)) {
            out.insert("l " + rel + " -> " + fs::read_symlink(it->path(), ec).string());
        } else if (fs::is_directory(st)) {
            out.insert("d " + rel);
            if (it.depth() == 1 && rel.rfind("layers/", 0) == 0) {
                it.disable_recursion_pending();
            }
        } else {
            std::string content = read_file(it->path());
            out.insert("f " + rel + " " + std::to_string(content.size()) + " " +
                       std::to_string(std::hash<std::string>{}(content)));
        }
    }
    return out;
}

std::string difference(const std::set<std::string>& before, const std::set<std::string>& after) {
    std::string out;
    for (const std::string& b : before) {
        if (after.count(b) == 0) {
            out += "  - " + b + "\n";
        }
    }
    for (const std::string& a : after) {
        if (before.count(a) == 0) {
            out += "  + " + a + "\n";
        }
    }
    return out;
}

// The things of the store that changed: each difference cut to its first
// two names (containers/ID, names/NAME, volumes/NAME, images/FILE).
std::set<std::string> changed_things(const std::set<std::string>& before, const std::set<std::string>& after) {
    std::set<std::string> things;
    for (const std::string& line : lines(difference(before, after))) {
        std::vector<std::string> w = words(line);  // "+", "d", "containers/ID/upper", ...
        if (w.size() < 3) {
            continue;
        }
        size_t first = w[2].find('/');
        size_t second = first == std::string::npos ? first : w[2].find('/', first + 1);
        things.insert(w[2].substr(0, second));
    }
    return things;
}

// The runtime's own files: every *.json under the store, except in what
// holds a container's or an image's files (a container's upper/, merged/,
// work/; layers/; the scratch tmp/, where a layer is made before it is
// renamed into layers/).
std::vector<std::string> state_files(const std::string& root) {
    std::vector<std::string> out;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
        std::string rel = fs::relative(it->path(), root, ec).string();
        std::string name = it->path().filename().string();
        if (it->is_directory(ec) && !it->is_symlink(ec)) {
            bool container_files = it.depth() == 2 && rel.rfind("containers/", 0) == 0 &&
                                   (name == "upper" || name == "merged" || name == "work");
            if (container_files || rel == "layers" || rel == "tmp") {
                it.disable_recursion_pending();
            }
        } else if (it->is_regular_file(ec) && name.size() > 5 && name.substr(name.size() - 5) == ".json") {
            out.push_back(it->path().string());
        }
    }
    return out;
}

// Of those, the ones that do not parse (with why).
std::vector<std::string> unparsable(const std::vector<std::string>& files) {
    std::vector<std::string> bad;
    for (const std::string& f : files) {
        try {
            nlohmann::json parsed = nlohmann::json::parse(read_file(f));
            EXPECT_FALSE(parsed.is_discarded());
        } catch (const nlohmann::json::exception& e) {
            bad.push_back(f + ": " + e.what());
        }
    }
    return bad;
}

// The freezer cgroups of container `id` that hold it frozen (v1:
// freezer.state FROZEN or FREEZING; v2: cgroup.freeze 1).
std::vector<std::string> frozen_cgroups(const std::string& id) {
    std::vector<std::string> out;
    for (const std::string& hierarchy : names_in("/sys/fs/cgroup")) {
        if (hierarchy.rfind("process_api", 0) == 0) {
            continue;
        }
        std::string dir = fs::path("/sys/fs/cgroup") / hierarchy / "minidocker" / id;
        std::string v1 = trim(read_file(dir + "/freezer.state"));
        if (v1 == "FROZEN" || v1 == "FREEZING" || trim(read_file(dir + "/cgroup.freeze")) == "1") {
            out.push_back(dir);
        }
    }
    return out;
}

void thaw(const std::vector<std::string>& dirs) {
    for (const std::string& dir : dirs) {
        if (fs::exists(dir + "/freezer.state")) {
            std::ofstream(dir + "/freezer.state") << "THAWED";
        } else {
            std::ofstream(dir + "/cgroup.freeze") << "0";
        }
    }
}

// What a user does after a runtime was killed: `ps -a`, then `rm -f` of
// each container it lists. Then the store must hold no container and no
// name. A container that `rm -f` fails to remove, a container directory
// that ps -a does not list, a name left: each is reported once (it stays,
// and would be again after every later cycle), and not tried again.
// A container left frozen (a `commit` killed while it had it frozen) is
// reported, and thawed by the test so that the next attempts mean
// something; `rm -f` is tried on the first one frozen, with a timeout, to
// show what a user meets.
struct Cleanup {
    int removed = 0;             // containers ps -a listed, removed with rm -f
    int frozen = 0;              // containers found frozen
    std::set<std::string> left;  // "containers/ID", "names/NAME": reported
};

void remove_what_ps_lists(Cleanup& c) {
    Result ps = runtime({"ps", "-aq", "--no-trunc"}, 30);
    EXPECT_EQ(ps.code, 0) << ps.err;
    for (const std::string& id : lines(ps.out)) {
        if (c.left.count("containers/" + id) != 0) {
            continue;
        }
        if (std::vector<std::string> frozen = frozen_cgroups(id); !frozen.empty()) {
            ADD_FAILURE() << "container " << id << " is left frozen: " << frozen.front() << " (thawed by the test)";
            if (c.frozen++ == 0) {
                Result rm = runtime({"rm", "-f", id}, 10);
                EXPECT_EQ(rm.code, 0) << "rm -f of the frozen container " << id << ": " << rm.err;
            }
            thaw(frozen);
        }
        Result rm = runtime({"rm", "-f", id}, 20);
        EXPECT_EQ(rm.code, 0) << "rm -f " << id << " (listed by ps -a) fails: " << rm.err;
        if (rm.code == 0) {
            ++c.removed;
        } else {
            c.left.insert("containers/" + id);
        }
    }
    auto new_left = [&] {
        std::set<std::string> found;
        for (const char* dir : {"containers", "names"}) {
            for (const std::string& name : names_in(state_root() + "/" + dir)) {
                if (c.left.count(std::string(dir) + "/" + name) == 0) {
                    found.insert(std::string(dir) + "/" + name);
                }
            }
        }
        return found;
    };
    // (A monitor may still be removing a --rm container: a moment.)
    wait_until([&] { return new_left().empty(); }, 2);
    for (const std::string& thing : new_left()) {
        c.left.insert(thing);
        std::string path = state_root() + "/" + thing;
        std::string what;
        if (thing.rfind("names/", 0) == 0) {
            std::error_code ec;
            what = "the name, still taken, -> " + fs::read_symlink(path, ec).string();
        } else {
            what = "a container directory that ps -a does not list, holding";
            for (const std::string& name : names_in(path)) {
                what += " " + name;
            }
            what += names_in(path).empty() ? " nothing" : "";
        }
        Result rm = runtime({"rm", "-f", fs::path(thing).filename().string()}, 20);
        ADD_FAILURE() << "left in the store: " << thing << ": " << what << "; rm -f " << fs::path(thing).filename()
                      << " exits " << rm.code << ": " << rm.err;
    }
}

std::string join(const std::vector<std::string>& all) {
    std::string out;
    for (const std::string& s : all) {
        out += "  " + s + "\n";
    }
    return out;
}

// ---- the mixed cycles ----

enum class Kind { normal, oom, killed, failed, runtime_killed };

const char* kind_name(Kind k) {
    switch (k) {
        case Kind::normal:
            return "normal exit";
        case Kind::oom:
            return "OOM-killed";
        case Kind::killed:
            return "killed from outside";
        case Kind::failed:
            return "failed start";
        case Kind::runtime_killed:
            return "runtime SIGKILLed during the start";
    }
    return "?";
}

// A command that exits on its own: true, the probe, the shell; one in four
// with an anonymous volume, which --rm removes too.
void normal_cycle(int i, std::mt19937& random) {
    std::string n = std::to_string(i);
    switch (random() % 4) {
        case 0: {
            Result r = runtime({"run", "--rm", kImage, "true"});
            EXPECT_EQ(r.code, 0) << r.err;
            EXPECT_EQ(r.out, "");
            break;
        }
        case 1: {
            Result r = runtime({"run", "--rm", "--hostname", "h" + n, kImage, "/probe", "hostname"});
            EXPECT_EQ(r.code, 0) << r.err;
            EXPECT_EQ(r.out, "h" + n + "\n");
            break;
        }
        case 2: {
            Result r = runtime({"run", "--rm", "--name", "n" + n, "-v", "/data", kImage, "/probe", "pid"});
            EXPECT_EQ(r.code, 0) << r.err;
            EXPECT_EQ(r.out, "1\n");
            break;
        }
        default: {
            Result r = runtime({"run", "--rm", kImage, "sh", "-c", "echo cycle " + n + "; exit 3"});
            EXPECT_EQ(r.code, 3) << r.err;
            EXPECT_EQ(r.out, "cycle " + n + "\n");
            break;
        }
    }
}

// 64 MiB in an 8 MiB (16 with swap) container: the kernel's OOM killer ends
// it, exit 137, and the runtime says so.
void oom_cycle() {
    Result r = runtime({"run", "--rm", "-m", "8m", kImage, "/probe", "memhog", "64"});
    EXPECT_EQ(r.code, 137) << r.out << r.err;
    EXPECT_TRUE(contains(r.err, "out of memory")) << "the OOM kill is not recorded: " << r.err;
    EXPECT_FALSE(contains(r.out, "ok")) << r.out;
}

// The container's PID 1 killed by SIGKILL, from the host or with `kill`.
void killed_cycle(int i, std::mt19937& random) {
    std::string name = "k" + std::to_string(i);
    Background c(runtime_argv({"run", "--rm", "--name", name, kImage, "/probe", "sleep", "30"}));
    pid_t pid = c.container_pid("probe");
    ASSERT_GT(pid, 0);
    if (random() % 2 == 0) {
        ::kill(pid, SIGKILL);
    } else {
        // (Running as soon as the probe runs; retried in case the runtime
        // records it a moment later.)
        Result k;
        EXPECT_TRUE(wait_until(
            [&] {
                k = runtime({"kill", name});
                return k.code == 0;
            },
            5))
            << "kill " << name << ": " << k.err;
    }
    Result r = c.wait(30);
    EXPECT_EQ(r.code, 137) << r.err;
}

// Starts that fail: no such command (127), no such image (125), a file that
// is no program (126), a limit too small (125).
void failed_cycle(int i, std::mt19937& random) {
    std::string n = std::to_string(i);
    switch (random() % 4) {
        case 0: {
            Result r = runtime({"run", "--rm", kImage, "/no/such/command" + n});
            EXPECT_EQ(r.code, 127) << r.err;
            EXPECT_TRUE(contains(r.err, "/no/such/command" + n)) << r.err;
            break;
        }
        case 1:
            expect_error_line(runtime({"run", "--rm", "no-such-image-" + n, "true"}), "no-such-image-" + n);
            break;
        case 2: {
            Result r = runtime({"run", "--rm", "--name", "f" + n, kImage, "/etc/passwd"});
            EXPECT_EQ(r.code, 126) << r.err;
            break;
        }
        default:
            expect_error_line(runtime({"run", "--rm", "-m", "1k", kImage, "true"}), "-m");
            break;
    }
}

// The runtime itself killed with SIGKILL 0 to 20 ms into `run --rm` (in the
// foreground, or -d), then `rm -f` of what `ps -a` lists, as a user would.
void runtime_killed_cycle(int i, std::mt19937& random, Cleanup& cleanup) {
    std::string name = "c" + std::to_string(i);
    std::vector<std::string> args;
    switch (random() % 3) {
        case 0:
            args = {"run", "--rm", "--name", name, kImage, "/probe", "sleep", "30"};
            break;
        case 1:
            args = {"run", "--rm", "--name", name, kImage, "true"};
            break;
        default:
            args = {"run", "--rm", "-d", "--name", name, kImage, "/probe", "sleep", "30"};
            break;
    }
    useconds_t delay = random_delay(random, 20);
    {
        Background cli(runtime_argv(args));
        ::usleep(delay);
        cli.signal(SIGKILL);
        cli.wait(10);
    }
    remove_what_ps_lists(cleanup);
}

// Removes every container of the store, whatever happens to the test: the
// host must not keep them.
struct RemoveContainersAtEnd {
    ~RemoveContainersAtEnd() {
        for (const std::string& id : names_in(state_root() + "/containers")) {
            runtime({"rm", "-f", id}, 30);
        }
    }
};

}  // namespace

// Claim: 300 `run --rm` of five kinds leave the host and the store as they
// found them. Kinds, in a shuffled order (fixed seed): 90 normal exits, 35
// OOM kills, 45 containers killed with SIGKILL (from the host, or `kill`),
// 50 failed starts, 80 runtimes killed with SIGKILL 0-20 ms into the start
// (then `rm -f` of what `ps -a` lists). Before and after: the host's mounts,
// cgroup directories, named network namespaces, runtime and probe
// processes, the test's children; the store, path by path (images and
// layers the same, no container, name or volume left).
TEST(Ch08Reliability, ThreeHundredMixedCyclesLeaveNothingBehind) {
    MINIDOCKER_REQUIRE_ROOT();
    ASSERT_NO_FATAL_FAILURE(import_probe_image(kImage));
    RemoveContainersAtEnd remove_at_end;
    ContainerIds ids(state_root() + "/containers");
    Owner owner(state_root(), ids);
    // One of each part the cycles use, so that the first cycle's new
    // directories (volumes/, ...) are not counted as left behind.
    ASSERT_EQ(runtime({"run", "--rm", "-v", "/data", kImage, "true"}).code, 0);
    const HostState host_before = host_state();
    const std::set<std::string> store_before = store_listing(state_root());

    unsigned seed = fixed_seed();
    SCOPED_TRACE("seed " + std::to_string(seed) + " (MINIDOCKER_RELIABILITY_SEED)");
    std::mt19937 random(seed);
    const std::vector<std::pair<Kind, int>> mix = {
        {Kind::normal, 90}, {Kind::oom, 35}, {Kind::killed, 45}, {Kind::failed, 50}, {Kind::runtime_killed, 80}};
    std::vector<Kind> cycles;
    for (const auto& [kind, count] : mix) {
        cycles.insert(cycles.end(), static_cast<size_t>(count), kind);
    }
    std::shuffle(cycles.begin(), cycles.end(), random);

    double started = now();
    std::map<Kind, int> done;
    Cleanup cleanup;
    for (size_t i = 0; i < cycles.size(); ++i) {
        Kind kind = cycles[i];
        SCOPED_TRACE("cycle " + std::to_string(i) + ": " + kind_name(kind));
        int n = static_cast<int>(i);
        switch (kind) {
            case Kind::normal:
                normal_cycle(n, random);
                break;
            case Kind::oom:
                oom_cycle();
                break;
            case Kind::killed:
                killed_cycle(n, random);
                break;
            case Kind::failed:
                failed_cycle(n, random);
                break;
            case Kind::runtime_killed:
                runtime_killed_cycle(n, random, cleanup);
                break;
        }
        ++done[kind];
        ids.ids();  // (reads the events as they come)
        if (::testing::Test::HasFatalFailure()) {
            break;
        }
        if (now() - started > kBudget) {
            ADD_FAILURE() << "stopped after " << i + 1 << " cycles: over the " << kBudget
                          << " s budget (it takes 10 to 30 s)";
            break;
        }
    }
    double cycles_took = now() - started;

    // Then: nothing in the store but what was there, and nothing on the host.
    remove_what_ps_lists(cleanup);
    std::set<std::string> store_after = store_listing(state_root());
    EXPECT_TRUE(store_after == store_before) << "the store changed:\n" << difference(store_before, store_after);
    size_t store_leaks = changed_things(store_before, store_after).size();
    size_t host_leaks = expect_no_host_leaks(host_before, owner);

    int total = 0;
    std::printf("%zu mixed run --rm cycles in %.1f s (%zu containers):\n", cycles.size(), cycles_took,
                ids.ids().size());
    for (const auto& [kind, count] : mix) {
        std::printf("  %-36s %d\n", kind_name(kind), done[kind]);
        record_count(std::string("mixed cycles: ") + kind_name(kind), done[kind]);
        total += done[kind];
    }
    std::printf("containers removed with rm -f after a killed runtime: %d\n", cleanup.removed);
    std::printf("leaks found: %zu (%zu things in the store, %zu on the host)\n", store_leaks + host_leaks, store_leaks,
                host_leaks);
    record_count("mixed run --rm cycles", total);
    record_count("containers removed with rm -f after a killed runtime", cleanup.removed);
    record_count("leaks found", static_cast<long>(store_leaks + host_leaks));
    EXPECT_EQ(total, 300);
}

// Claim: 50 `run --rm` started at once all exit 0 and each prints its own
// hostname; afterwards no container, name or volume is left in the store,
// and nothing on the host (mounts, cgroups, processes).
TEST(Ch08Reliability, FiftyParallelRunRm) {
    MINIDOCKER_REQUIRE_ROOT();
    ASSERT_NO_FATAL_FAILURE(import_probe_image(kImage));
    RemoveContainersAtEnd remove_at_end;
    ContainerIds ids(state_root() + "/containers");
    Owner owner(state_root(), ids);
    ASSERT_EQ(runtime({"run", "--rm", kImage, "true"}).code, 0);
    const HostState host_before = host_state();
    const std::set<std::string> store_before = store_listing(state_root());

    const int n = 50;
    double started = now();
    std::vector<std::unique_ptr<Background>> runs;
    runs.reserve(n);
    for (int i = 0; i < n; ++i) {
        std::string name = "p" + std::to_string(i);
        runs.push_back(std::make_unique<Background>(
            runtime_argv({"run", "--rm", "--name", name, "--hostname", name, kImage, "/probe", "hostname"})));
    }
    int right = 0;
    for (int i = 0; i < n; ++i) {
        Result r = runs[i]->wait(120);
        EXPECT_EQ(r.code, 0) << "p" << i << ": " << r.err;
        EXPECT_EQ(r.out, "p" + std::to_string(i) + "\n") << "p" << i << ": " << r.err;
        right += r.code == 0 && r.out == "p" + std::to_string(i) + "\n" ? 1 : 0;
    }
    double took = now() - started;
    ids.ids();

    EXPECT_EQ(names_in(state_root() + "/containers"), std::set<std::string>{});
    EXPECT_EQ(names_in(state_root() + "/names"), std::set<std::string>{});
    std::set<std::string> store_after = store_listing(state_root());
    EXPECT_TRUE(store_after == store_before) << "the store changed:\n" << difference(store_before, store_after);
    size_t leaks = expect_no_host_leaks(host_before, owner) + changed_things(store_before, store_after).size();
    std::printf("%d parallel run --rm in %.1f s: %d printed their hostname and exited 0; leaks found: %zu\n", n, took,
                right, leaks);
    record_count("parallel run --rm", n);
    record_count("parallel run --rm that exited 0 with the right output", right);
    record_count("parallel run --rm: leaks found", static_cast<long>(leaks));
}

// Claim: 20 `exec` into one running container started at once all exit 0,
// each printing its own line; the container still runs (same PID 1) after
// them; then `rm -f` removes it and leaves nothing on the host.
TEST(Ch08Reliability, TwentyParallelExecsIntoOneContainer) {
    MINIDOCKER_REQUIRE_ROOT();
    ASSERT_NO_FATAL_FAILURE(import_probe_image(kImage));
    RemoveContainersAtEnd remove_at_end;
    ContainerIds ids(state_root() + "/containers");
    Owner owner(state_root(), ids);
    const HostState host_before = host_state();

    std::string id = run_detached({"--name", "x", kImage, "/probe", "sleep", "60"});
    ASSERT_FALSE(id.empty());
    Result r = runtime({"inspect", "-f", "{{.State.Pid}}", "x"});
    ASSERT_EQ(r.code, 0) << r.err;
    pid_t init = static_cast<pid_t>(std::stol(trim(r.out)));
    ASSERT_TRUE(alive(init));

    const int n = 20;
    double started = now();
    std::vector<std::unique_ptr<Background>> execs;
    execs.reserve(n);
    for (int i = 0; i < n; ++i) {
        execs.push_back(std::make_unique<Background>(
            runtime_argv({"exec", "x", "sh", "-c", "echo exec " + std::to_string(i) + " in $(hostname)"})));
    }
    int right = 0;
    std::string want_host = id.substr(0, 12);
    for (int i = 0; i < n; ++i) {
        Result e = execs[i]->wait(60);
        std::string want = "exec " + std::to_string(i) + " in " + want_host + "\n";
        EXPECT_EQ(e.code, 0) << "exec " << i << ": " << e.err;
        EXPECT_EQ(e.out, want) << "exec " << i << ": " << e.err;
        right += e.code == 0 && e.out == want ? 1 : 0;
    }
    double took = now() - started;

    r = runtime({"inspect", "-f", "{{.State.Running}} {{.State.Pid}}", "x"});
    EXPECT_EQ(trim(r.out), "true " + std::to_string(init)) << r.err;
    EXPECT_TRUE(alive(init) && comm_of(init) == "probe") << "the container's PID 1 is gone";
    r = runtime({"rm", "-f", "x"}, 30);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(names_in(state_root() + "/containers"), std::set<std::string>{});
    size_t leaks = expect_no_host_leaks(host_before, owner);
    std::printf("%d parallel exec into one container in %.1f s: %d right; leaks found: %zu\n", n, took, right, leaks);
    record_count("parallel exec into one container", n);
    record_count("parallel exec that exited 0 with the right output", right);
    record_count("parallel exec: leaks found", static_cast<long>(leaks));
}

// Claim: `run -d`, `stop`, `rm -f` and `commit` killed with SIGKILL at a
// random moment (15 of each, shuffled, fixed seed; within about how long
// each takes here) leave a store that still works: right after each kill
// every state file (each *.json the runtime keeps) parses, `ps -a` exits 0,
// `inspect` of each container it lists exits 0 or says why in one line, no
// container is left frozen, and `rm -f` of each succeeds and leaves no
// container; at the end `images` works and nothing is left on the host.
// What killed commits leave in the store (scratch directories in tmp/,
// layers no image uses) is printed and recorded, not failed.
TEST(Ch08Reliability, StateFilesParseAfterKillNineAnywhere) {
    MINIDOCKER_REQUIRE_ROOT();
    ASSERT_NO_FATAL_FAILURE(import_probe_image(kImage));
    RemoveContainersAtEnd remove_at_end;
    ContainerIds ids(state_root() + "/containers");
    Owner owner(state_root(), ids);
    const HostState host_before = host_state();

    unsigned seed = fixed_seed();
    SCOPED_TRACE("seed " + std::to_string(seed) + " (MINIDOCKER_RELIABILITY_SEED)");
    std::mt19937 random(seed);
    // What is killed, and within how many milliseconds of its start (about
    // how long each takes here).
    struct Victim {
        std::string command;
        int max_ms;
    };
    const std::vector<Victim> victims = {{"run -d", 15}, {"stop", 25}, {"rm -f", 25}, {"commit", 10}};
    std::vector<size_t> order;
    for (size_t v = 0; v < victims.size(); ++v) {
        order.insert(order.end(), 15, v);
    }
    std::shuffle(order.begin(), order.end(), random);

    double started = now();
    int kills = 0;
    int finished_first = 0;
    size_t files_checked = 0;
    std::vector<std::string> bad_files;
    int inspects = 0;
    Cleanup cleanup;
    for (size_t i = 0; i < order.size(); ++i) {
        const Victim& victim = victims[order[i]];
        SCOPED_TRACE("attempt " + std::to_string(i) + ": " + victim.command);
        std::string name = "v" + std::to_string(i);
        std::vector<std::string> args;
        if (victim.command == "run -d") {
            args = {"run", "-d", "--name", name, kImage, "/probe", "sleep", "30"};
        } else {
            // A running container with a change in its read-write layer.
            ASSERT_FALSE(
                run_detached({"--name", name, kImage, "sh", "-c", "echo " + name + " > /file; exec /probe sleep 30"})
                    .empty());
            if (victim.command == "stop") {
                args = {"stop", "-t", "2", name};
            } else if (victim.command == "rm -f") {
                args = {"rm", "-f", name};
            } else {
                args = {"commit", name, "img" + std::to_string(i)};
            }
        }
        useconds_t delay = random_delay(random, victim.max_ms);
        {
            Background cli(runtime_argv(args));
            ::usleep(delay);
            cli.signal(SIGKILL);
            Result r = cli.wait(10);
            finished_first += r.code != 128 + SIGKILL ? 1 : 0;
            ++kills;
        }

        std::vector<std::string> files = state_files(state_root());
        files_checked += files.size();
        for (const std::string& bad : unparsable(files)) {
            ADD_FAILURE() << "state file does not parse after a killed " << victim.command << ": " << bad;
            bad_files.push_back(bad);
        }
        Result ps = runtime({"ps", "-a"}, 30);
        EXPECT_EQ(ps.code, 0) << ps.err;
        ps = runtime({"ps", "-aq", "--no-trunc"}, 30);
        EXPECT_EQ(ps.code, 0) << ps.err;
        for (const std::string& id : lines(ps.out)) {
            Result r = runtime({"inspect", id}, 30);
            ++inspects;
            if (r.code == 0) {
                EXPECT_TRUE(nlohmann::json::accept(r.out)) << "inspect " << id << ": " << r.out;
            } else {
                EXPECT_EQ(lines(r.err).size(), 1u) << "inspect " << id << ": " << r.err;
                EXPECT_EQ(r.err.rfind(program() + ": ", 0), 0u) << "inspect " << id << ": " << r.err;
            }
        }
        remove_what_ps_lists(cleanup);
        ids.ids();
        if (::testing::Test::HasFatalFailure()) {
            break;
        }
        if (now() - started > kBudget) {
            ADD_FAILURE() << "stopped after " << i + 1 << " attempts: over the " << kBudget
                          << " s budget (it takes about 15 s)";
            break;
        }
    }
    double took = now() - started;

    Result images = runtime({"images"}, 30);
    EXPECT_EQ(images.code, 0) << images.err;
    size_t leaks = expect_no_host_leaks(host_before, owner) + cleanup.left.size();
    // Not counted as leaks, but told: what killed commits left in the store
    // (a scratch directory in tmp/, a layer that no image uses).
    std::set<std::string> unused_layers = names_in(state_root() + "/layers");
    for (const std::string& file : names_in(state_root() + "/images")) {
        nlohmann::json image = nlohmann::json::parse(read_file(state_root() + "/images/" + file), nullptr, false);
        if (image.is_object() && image.contains("layers") && image["layers"].is_array()) {
            for (const auto& layer : image["layers"]) {
                unused_layers.erase(layer.is_string() ? layer.get<std::string>() : "");
            }
        }
    }
    size_t scratch = names_in(state_root() + "/tmp").size();
    std::printf(
        "%d SIGKILLs (run -d, stop, rm -f, commit) in %.1f s, %d of which came after the command had finished; "
        "%zu state files read, %zu unparsable; %d inspects; %d containers removed with rm -f, %d found frozen; "
        "leaks found: %zu; left in the store: %zu scratch directories in tmp/, %zu layers no image uses\n",
        kills, took, finished_first, files_checked, bad_files.size(), inspects, cleanup.removed, cleanup.frozen, leaks,
        scratch, unused_layers.size());
    record_count("SIGKILLs of run -d, stop, rm -f, commit", kills);
    record_count("containers left frozen by a SIGKILLed command", cleanup.frozen);
    record_count("scratch directories left in tmp/ by SIGKILLed commands", static_cast<long>(scratch));
    record_count("layers no image uses after SIGKILLed commands", static_cast<long>(unused_layers.size()));
    record_count("state files read after a SIGKILL", static_cast<long>(files_checked));
    record_count("unparsable state files", static_cast<long>(bad_files.size()));
    record_count("SIGKILL: leaks found", static_cast<long>(leaks));
    EXPECT_EQ(bad_files.size(), 0u) << join(bad_files);
}
