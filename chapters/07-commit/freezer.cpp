// freezer.cpp - see freezer.hpp.
#include "freezer.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "cgroup_driver.hpp"
#include "container_view.hpp"
#include "error.hpp"
#include "mountinfo.hpp"
#include "state.hpp"
#include "sys.hpp"
#include "trace.hpp"

namespace minidocker {

namespace {

using namespace std::chrono_literals;

std::string trim_text(const std::string& s) { return s.substr(0, s.find_last_not_of(" \n") + 1); }

// Reads `file` until `done` says yes about it, for at most 5 s. A freeze
// is not instant: each task stops at its next return to user space.
template <class Done>
void wait_for(const std::string& file, Done done, const std::function<void()>& nudge) {
    auto deadline = std::chrono::steady_clock::now() + 5s;
    for (;;) {
        std::optional<std::string> text = read_cgroup_file(file);
        if (text && done(*text)) {
            return;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            throw std::runtime_error(fmt::format("{} still says \"{}\" after 5 s", file, text ? trim_text(*text) : ""));
        }
        if (nudge) {
            nudge();
        }
        std::this_thread::sleep_for(1ms);
    }
}

// Where the v1 freezer hierarchy is mounted ("/sys/fs/cgroup/freezer"), or "".
std::string freezer_mountpoint() {
    for (const MountEntry& m : parse_mountinfo(read_text_file("/proc/self/mountinfo"))) {
        if (m.fstype == "cgroup" && ("," + m.super_options + ",").find(",freezer,") != std::string::npos) {
            return m.point;
        }
    }
    return "";
}

// "7:freezer:/some/path" of /proc/PID/cgroup -> "/some/path".
std::string freezer_path_of(pid_t pid) {
    std::istringstream cgroups(read_text_file(fmt::format("/proc/{}/cgroup", pid)));
    for (std::string line; std::getline(cgroups, line);) {
        size_t first = line.find(':');
        size_t second = line.find(':', first + 1);
        std::string controllers = "," + line.substr(first + 1, second - first - 1) + ",";
        if (controllers.find(",freezer,") != std::string::npos) {
            return line.substr(second + 1);
        }
    }
    return "/";
}

// Moves every process of the container into `dir`'s cgroup.procs, again
// and again until a pass finds none left outside: one that forked while we
// were moving its parent is caught by the next pass; one that forks after
// its parent moved is born inside.
void move_all(pid_t init_pid, const std::string& dir) {
    std::set<pid_t> moved;
    for (;;) {
        bool any = false;
        for (pid_t pid : processes_in_pid_namespace_of(init_pid)) {
            if (moved.insert(pid).second) {
                std::ofstream(dir + "/cgroup.procs") << pid << std::flush;  // gone already: fine
                any = true;
            }
        }
        if (!any) {
            return;
        }
    }
}

}  // namespace

void freeze_v2(const std::string& dir) {
    write_cgroup_file(dir + "/cgroup.freeze", "1");
    wait_for(
        dir + "/cgroup.events", [](const std::string& events) { return read_key(events, "frozen") == 1; }, nullptr);
    trace::step(fmt::format("{}/cgroup.events: frozen 1", dir));
}

void thaw_v2(const std::string& dir) { write_cgroup_file(dir + "/cgroup.freeze", "0"); }

void freeze_v1(const std::string& dir) {
    write_cgroup_file(dir + "/freezer.state", "FROZEN");
    // FREEZING means some task has not stopped yet; writing FROZEN again
    // retries the ones that were busy.
    wait_for(
        dir + "/freezer.state", [](const std::string& state) { return trim_text(state) == "FROZEN"; },
        [&] { std::ofstream(dir + "/freezer.state") << "FROZEN" << std::flush; });
    trace::step(fmt::format("{}/freezer.state: FROZEN", dir));
}

void thaw_v1(const std::string& dir) { write_cgroup_file(dir + "/freezer.state", "THAWED"); }

std::vector<pid_t> processes_in_pid_namespace_of(pid_t pid) {
    struct stat target {};
    if (::stat(fmt::format("/proc/{}/ns/pid", pid).c_str(), &target) != 0) {
        throw_errno(fmt::format("stat(\"/proc/{}/ns/pid\")", pid));
    }
    std::vector<pid_t> found;
    std::unique_ptr<DIR, int (*)(DIR*)> proc{::opendir("/proc"), ::closedir};
    if (!proc) {
        throw_errno("opendir(\"/proc\")");
    }
    while (dirent* de = ::readdir(proc.get())) {
        char* end = nullptr;
        long n = std::strtol(de->d_name, &end, 10);
        struct stat st {};
        if (*end == '\0' && n > 0 && ::stat(fmt::format("/proc/{}/ns/pid", n).c_str(), &st) == 0 &&
            st.st_dev == target.st_dev && st.st_ino == target.st_ino) {
            found.push_back(static_cast<pid_t>(n));
        }
    }
    return found;
}

//! [ch07-freeze]
Freezer::Freezer(pid_t init_pid, const std::string& id) {
    // cgroup v1 (this machine's controllers): a freezer cgroup of its own,
    // for the time of the commit.
    if (std::string mountpoint = freezer_mountpoint(); !mountpoint.empty()) {
        v1_home_ = join_path(mountpoint, freezer_path_of(init_pid));
        v1_dir_ = mountpoint + "/minidocker/" + id;
        // minidocker/ in the freezer hierarchy is ours: the first commit
        // makes it, the last one out removes it, and that may happen
        // between our two mkdir()s: then make it again.
        start_keeper();  // before the mkdir: a commit killed after it leaves nothing
        for (bool made = false; !made;) {
            make_dirs(mountpoint + "/minidocker");
            try {
                sys::mkdir(v1_dir_, 0755);
                made = true;
            } catch (const std::system_error& e) {
                if (e.code().value() != ENOENT) {  // ENOENT: minidocker/ went meanwhile
                    stop_keeper();
                    throw;
                }
            }
        }
        try {
            trace::step(fmt::format("moving the processes of PID 1 = {} into {}", init_pid, v1_dir_));
            move_all(init_pid, v1_dir_);
            freeze_v1(v1_dir_);
        } catch (...) {
            thaw();
            throw;
        }
        return;
    }
    // cgroup v2: chapter 02 made the container a cgroup of its own, and
    // every v2 cgroup but the root can be frozen.
    for (const std::string& dir : container_cgroup_dirs(init_pid, id)) {
        if (::access((dir + "/cgroup.freeze").c_str(), F_OK) == 0) {
            v2_dir_ = dir;
            start_keeper();
            try {
                freeze_v2(v2_dir_);
            } catch (...) {
                thaw();
                throw;
            }
            return;
        }
    }
    throw UsageError("commit: found no cgroup freezer to pause the container with; use --pause=false");
}
//! [ch07-freeze]

Freezer::~Freezer() { thaw(); }

// A commit killed while the container is frozen runs no destructor, and on
// cgroup v1 a frozen process does not even die of SIGKILL: the container
// would stay frozen, and `rm -f` would wait for it forever. So a forked
// keeper waits on a pipe. We write "t" once we have thawed; end-of-file
// without it means we died frozen, and the keeper thaws.
void Freezer::start_keeper() {
    sys::Pipe pipe = sys::pipe("the freezer's keeper");
    pid_t pid = ::fork();
    if (pid < 0) {
        throw_errno("fork() the freezer's keeper");
    }
    if (pid == 0) {
        pipe.write.reset();
        char word = 0;
        ssize_t n;
        do {
            n = ::read(pipe.read.get(), &word, 1);
        } while (n < 0 && errno == EINTR);
        keeper_ = -1;
        if (n == 0 && (!v2_dir_.empty() || ::access(v1_dir_.c_str(), F_OK) == 0)) {
            thaw();  // our commit is gone, and left the container frozen
        }
        ::_exit(0);
    }
    keeper_ = pid;
    keeper_fd_ = pipe.write.release();
}

void Freezer::stop_keeper() noexcept {
    if (keeper_ <= 0) {
        return;
    }
    char word = 't';
    static_cast<void>(::write(keeper_fd_, &word, 1));
    ::close(keeper_fd_);
    while (::waitpid(keeper_, nullptr, 0) < 0 && errno == EINTR) {
    }
    keeper_ = -1;
}

void Freezer::thaw() noexcept {
    struct StopKeeper {
        Freezer& f;
        ~StopKeeper() { f.stop_keeper(); }
    } stop_keeper_after{*this};
    try {
        if (!v2_dir_.empty()) {
            thaw_v2(v2_dir_);
            return;
        }
        thaw_v1(v1_dir_);
        // Back where they were, then the cgroup can go. A process that
        // forked in between is in it too: read until it is empty.
        for (int round = 0; round < 100; ++round) {
            std::istringstream procs(read_cgroup_file(v1_dir_ + "/cgroup.procs").value_or(""));
            bool any = false;
            for (pid_t pid = 0; procs >> pid;) {
                std::ofstream(v1_home_ + "/cgroup.procs") << pid << std::flush;
                any = true;
            }
            if (!any && ::rmdir(v1_dir_.c_str()) == 0) {
                trace::step(fmt::format("rmdir(\"{}\") = 0", v1_dir_));
                break;
            }
            std::this_thread::sleep_for(1ms);
        }
        // The parent too, unless another commit uses it right now (EBUSY).
        ::rmdir(v1_dir_.substr(0, v1_dir_.rfind('/')).c_str());
    } catch (...) {
        // A thaw that failed leaves the container frozen: say so at least.
        fmt::print(stderr, "commit: could not thaw the container; write THAWED to {}/freezer.state\n", v1_dir_);
    }
}

}  // namespace minidocker
