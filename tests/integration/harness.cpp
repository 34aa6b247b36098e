// harness.cpp - see harness.hpp. Also main(): reads --binary= and --probe=.
#include "harness.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace fs = std::filesystem;

namespace minidocker::test {
namespace {

std::string binary_path;
std::string probe;
std::string rootfs;
std::string current_root;

std::vector<char*> c_argv(const std::vector<std::string>& argv) {
    std::vector<char*> out;
    for (const std::string& a : argv) {
        out.push_back(const_cast<char*>(a.c_str()));
    }
    out.push_back(nullptr);
    return out;
}

// Each test gets its own --root, created before and removed after it.
class StateRootListener : public ::testing::EmptyTestEventListener {
    void OnTestStart(const ::testing::TestInfo&) override {
        char tmpl[] = "/tmp/minidocker-test-XXXXXX";
        current_root = ::mkdtemp(tmpl);
    }
    void OnTestEnd(const ::testing::TestInfo&) override {
        remove_containers();
        std::error_code ec;
        fs::remove_all(current_root, ec);
        current_root.clear();
    }

    // From chapter 06 on, containers run detached (with a monitor process):
    // a test that failed midway may leave some running. `rm -f` each one,
    // quietly, giving up on one after 20 s; failures are ignored.
    static void remove_containers() {
        std::error_code ec;
        if (chapter_of_binary() < "06" || !fs::is_directory(current_root + "/containers", ec)) {
            return;
        }
        for (const fs::directory_entry& e : fs::directory_iterator(current_root + "/containers", ec)) {
            std::vector<std::string> argv = {binary_path, "--root", current_root, "rm", "-f", e.path().filename()};
            auto args = c_argv(argv);
            pid_t pid = ::fork();
            if (pid == 0) {
                int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
                ::dup2(null, 0);
                ::dup2(null, 1);
                ::dup2(null, 2);
                ::execv(args[0], args.data());
                ::_exit(127);
            }
            double deadline = now() + 20;
            while (pid > 0 && ::waitpid(pid, nullptr, WNOHANG) == 0) {
                if (now() > deadline) {
                    ::kill(pid, SIGKILL);
                    ::waitpid(pid, nullptr, 0);
                    break;
                }
                ::usleep(10000);
            }
        }
    }
};

}  // namespace

const std::string& binary() { return binary_path; }
const std::string& probe_path() { return probe; }
const std::string& rootfs_path() { return rootfs; }
const std::string& state_root() { return current_root; }

void record_count(const std::string& what, long n) {
    // The build tree is the rootfs's parent (build/rootfs, build/bin/chNN).
    fs::path dir = fs::path(rootfs).parent_path() / "counts";
    fs::create_directories(dir);
    const testing::TestInfo* test = testing::UnitTest::GetInstance()->current_test_info();
    std::string suite = test != nullptr ? test->test_suite_name() : "?";
    std::string name = fs::path(binary_path).filename();
    std::ofstream(dir / (name + ".txt"), std::ios::app) << suite << "@" << name << ": " << what << " = " << n << "\n";
}

std::string chapter_of_binary() {
    std::string name = fs::path(binary_path).filename();
    if (name == "minidocker") {
        return MINIDOCKER_LAST_CHAPTER;  // the last chapter, installed under this name
    }
    return name.size() >= 4 ? name.substr(2, 2) : "";
}

bool never_skip() {
    const char* v = std::getenv("MINIDOCKER_NO_SKIP");
    return v != nullptr && std::string(v) == "1";
}

Result run(const std::vector<std::string>& argv, const std::string& input, double timeout) {
    int in[2], out[2], err[2];
    if (::pipe2(in, O_CLOEXEC) || ::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC)) {
        throw std::runtime_error("pipe2 failed");
    }
    pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(in[0], 0);
        ::dup2(out[1], 1);
        ::dup2(err[1], 2);
        auto args = c_argv(argv);
        ::execvp(args[0], args.data());
        ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    if (!input.empty()) {
        [[maybe_unused]] ssize_t n = ::write(in[1], input.data(), input.size());
    }
    ::close(in[1]);

    Result r;
    pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    std::string* sinks[2] = {&r.out, &r.err};
    int open_pipes = 2;
    double deadline = now() + timeout;
    bool killed = false;
    while (open_pipes > 0) {
        int left_ms = static_cast<int>((deadline - now()) * 1000);
        if (left_ms <= 0 && !killed) {
            ::kill(pid, SIGKILL);
            killed = true;
        }
        if (::poll(fds, 2, std::max(left_ms, 100)) < 0) {
            continue;
        }
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP))) {
                char buf[4096];
                ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
                if (n <= 0) {
                    ::close(fds[i].fd);
                    fds[i].fd = -1;
                    --open_pipes;
                } else {
                    sinks[i]->append(buf, static_cast<size_t>(n));
                }
            }
        }
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (killed) {
        ADD_FAILURE() << "timed out after " << timeout << "s: " << argv[0];
    }
    return r;
}

std::vector<std::string> runtime_argv(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {binary_path, "--root", current_root};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

Result runtime(const std::vector<std::string>& args, double timeout) { return run(runtime_argv(args), "", timeout); }

Background::Background(const std::vector<std::string>& argv) {
    out_path_ = current_root + "/.bg-out-" + std::to_string(::getpid()) + "-" + std::to_string(now());
    err_path_ = out_path_ + ".err";
    pid_ = ::fork();
    if (pid_ == 0) {
        int fd_out = ::open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int fd_err = ::open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int fd_in = ::open("/dev/null", O_RDONLY);
        ::dup2(fd_in, 0);
        ::dup2(fd_out, 1);
        ::dup2(fd_err, 2);
        auto args = c_argv(argv);
        ::execvp(args[0], args.data());
        ::_exit(127);
    }
}

Background::~Background() {
    if (reaped_ || pid_ <= 0) {
        return;
    }
    // Kill the container (its PID 1 ignores most signals), then give the
    // runtime time to notice and clean up (unmount, remove its cgroup) as it
    // would after any container exit. Only a runtime that hangs is killed.
    for (const std::string& line :
         lines(read_file("/proc/" + std::to_string(pid_) + "/task/" + std::to_string(pid_) + "/children"))) {
        std::istringstream in(line);
        for (pid_t c = 0; in >> c;) {
            ::kill(c, SIGKILL);
        }
    }
    double deadline = now() + 10;
    while (::waitpid(pid_, nullptr, WNOHANG) == 0) {
        if (now() > deadline) {
            ADD_FAILURE() << "the runtime " << pid_ << " did not exit 10s after its container was killed";
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
            break;
        }
        ::usleep(5000);
    }
}

pid_t Background::container_pid(const std::string& comm, double timeout) {
    double deadline = now() + timeout;
    std::string children_path = "/proc/" + std::to_string(pid_) + "/task/" + std::to_string(pid_) + "/children";
    while (now() < deadline) {
        std::istringstream children(read_file(children_path));
        pid_t child = 0;
        while (children >> child) {
            if (trim(read_file("/proc/" + std::to_string(child) + "/comm")) == comm) {
                return child;
            }
        }
        ::usleep(10000);
    }
    ADD_FAILURE() << "no child named " << comm << " of " << pid_ << " after " << timeout
                  << "s; stderr: " << read_file(err_path_);
    return -1;
}

void Background::signal(int sig) { ::kill(pid_, sig); }

Result Background::wait(double timeout) {
    double deadline = now() + timeout;
    int status = 0;
    while (!reaped_) {
        pid_t done = ::waitpid(pid_, &status, WNOHANG);
        if (done == pid_) {
            reaped_ = true;
            code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        } else if (now() > deadline) {
            ADD_FAILURE() << "background process " << pid_ << " still running after " << timeout << "s";
            return Result{};
        } else {
            ::usleep(10000);
        }
    }
    return Result{code_, read_file(out_path_), read_file(err_path_)};
}

Background start(const std::vector<std::string>& args) { return Background(runtime_argv(args)); }

MountTables mount_tables_around(const std::string& commands) {
    TempDir dir;
    std::string script = "set -e; mount --make-rshared /; cat /proc/self/mountinfo > " + dir.path() + "/before; " +
                         commands + "; cat /proc/self/mountinfo > " + dir.path() + "/after";
    MountTables t;
    t.result = run({"unshare", "--mount", "--propagation", "unchanged", "sh", "-c", script});
    t.before = read_file(dir.path() + "/before");
    t.after = read_file(dir.path() + "/after");
    return t;
}

bool wait_for_handler(pid_t pid, int sig, double timeout) {
    double deadline = now() + timeout;
    while (now() < deadline) {
        for (const std::string& line : lines(read_file("/proc/" + std::to_string(pid) + "/status"))) {
            if (line.rfind("SigCgt:", 0) == 0 && (std::stoull(trim(line.substr(7)), nullptr, 16) >> (sig - 1)) & 1) {
                return true;
            }
        }
        ::usleep(5000);
    }
    ADD_FAILURE() << "process " << pid << " installed no handler for signal " << sig << " in " << timeout << "s";
    return false;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string ns_link(const std::string& pid, const std::string& type) {
    std::string path = "/proc/" + pid + "/ns/" + type;
    char buf[PATH_MAX];
    ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
    return n < 0 ? "" : std::string(buf, static_cast<size_t>(n));
}

std::string trim(const std::string& s) {
    size_t b = s.find_first_not_of(" \t\n");
    size_t e = s.find_last_not_of(" \t\n");
    return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::vector<std::string> lines(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string line; std::getline(in, line);) {
        out.push_back(line);
    }
    return out;
}

TempDir::TempDir() {
    char tmpl[] = "/tmp/minidocker-tmp-XXXXXX";
    path_ = ::mkdtemp(tmpl);
}

TempDir::~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
}

// ---- small tools the chapter suites share ----

std::string program() { return std::filesystem::path(binary()).filename().string(); }

std::vector<std::string> with_trace(const std::vector<std::string>& args) {
    std::vector<std::string> argv = runtime_argv(args);
    argv.insert(argv.begin() + 1, "--trace");
    return argv;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::set<std::string> names_in(const std::string& dir) {
    std::set<std::string> names;
    std::error_code ec;
    for (const std::filesystem::directory_entry& e : std::filesystem::directory_iterator(dir, ec)) {
        names.insert(e.path().filename());
    }
    return names;
}

double now() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

bool wait_until(const std::function<bool()>& done, double timeout) {
    double deadline = now() + timeout;
    while (!done()) {
        if (now() > deadline) {
            return false;
        }
        ::usleep(20000);
    }
    return true;
}

bool is_hex(const std::string& s, size_t size) {
    return s.size() == size && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

void expect_error_line(const Result& r, const std::string& mentions) {
    EXPECT_EQ(r.code, 125) << "stdout: " << r.out << "\nstderr: " << r.err;
    EXPECT_EQ(lines(r.err).size(), 1u) << r.err;
    EXPECT_EQ(r.err.rfind(program() + ": ", 0), 0u) << r.err;
    if (!mentions.empty()) {
        EXPECT_TRUE(contains(r.err, mentions)) << "should mention " << mentions << ": " << r.err;
    }
}

std::string run_detached(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"run", "-d"};
    argv.insert(argv.end(), args.begin(), args.end());
    Result r = runtime(argv);
    std::string id = trim(r.out);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(is_hex(id, 64) && r.out == id + "\n") << "run -d printed: " << r.out;
    return r.code == 0 ? id : "";
}

void import_probe_image(const std::string& name) {
    TempDir src;
    std::string dir = src.path() + "/rootfs";
    Result r = run({"cp", "-a", rootfs_path(), dir});
    ASSERT_EQ(r.code, 0) << r.err;
    r = runtime({"import", dir, name});
    ASSERT_EQ(r.code, 0) << r.err;
}

}  // namespace minidocker::test

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg.rfind("--binary=", 0) == 0) {
            minidocker::test::binary_path = arg.substr(9);
        } else if (arg.rfind("--probe=", 0) == 0) {
            minidocker::test::probe = arg.substr(8);
        } else if (arg.rfind("--rootfs=", 0) == 0) {
            minidocker::test::rootfs = arg.substr(9);
        }
    }
    // Listing tests (CTest's discovery) needs no binary.
    if ((minidocker::test::binary_path.empty() || minidocker::test::probe.empty()) &&
        !::testing::GTEST_FLAG(list_tests)) {
        std::fprintf(stderr, "usage: %s --binary=PATH/chNN --probe=PATH/probe [--rootfs=DIR] [gtest flags]\n", argv[0]);
        return 2;
    }
    ::testing::UnitTest::GetInstance()->listeners().Append(new minidocker::test::StateRootListener);
    return RUN_ALL_TESTS();
}
