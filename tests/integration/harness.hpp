// harness.hpp - what the integration tests use to drive a chapter binary.
//
// Every integration test runs a real chapter program (chosen with
// --binary=PATH on the test's command line, so chapter 01's tests also run
// against ch02, ch03, ...) as a user would, and checks from outside.
//
//   Result r = runtime({"run", "--hostname", "box", "--", "hostname"});
//   EXPECT_EQ(r.out, "box\n");
//
//   Background c = start({"run", "--", probe(), "sleep", "30"});
//   pid_t pid = c.container_pid("probe");   // PID 1 of the container, host view
#pragma once

#include <sys/types.h>

#include <cstdlib>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace minidocker::test {

const std::string& binary();       // the chapter program under test
const std::string& probe_path();   // the static probe program
const std::string& rootfs_path();  // a busybox root filesystem with /probe
std::string chapter_of_binary();   // "01" for .../ch01

// Fails the test (as root, or when MINIDOCKER_NO_SKIP=1) or skips it.
#define MINIDOCKER_REQUIRE_ROOT()                                                                \
    do {                                                                                         \
        if (::geteuid() != 0) {                                                                  \
            if (::minidocker::test::never_skip()) {                                              \
                FAIL() << "integration tests need root, and MINIDOCKER_NO_SKIP=1 forbids skips"; \
            }                                                                                    \
            GTEST_SKIP() << "needs root";                                                        \
        }                                                                                        \
    } while (0)
bool never_skip();

struct Result {
    int code = -1;
    std::string out;
    std::string err;
};

// Runs argv to completion (killed after timeout seconds), capturing output.
Result run(const std::vector<std::string>& argv, const std::string& input = "", double timeout = 60);

// Runs the chapter binary with --root set to this test's own state dir.
Result runtime(const std::vector<std::string>& args, double timeout = 60);
std::vector<std::string> runtime_argv(const std::vector<std::string>& args);
const std::string& state_root();  // this test's --root (removed after the test)

// A process left running in the background; killed and reaped on destruction.
class Background {
public:
    explicit Background(const std::vector<std::string>& argv);
    ~Background();
    Background(const Background&) = delete;
    Background& operator=(const Background&) = delete;

    pid_t pid() const { return pid_; }
    // The runtime's child that runs `comm` (the container's PID 1, host view).
    pid_t container_pid(const std::string& comm, double timeout = 10);
    void signal(int sig);
    Result wait(double timeout = 30);  // exit code and output

private:
    pid_t pid_ = -1;
    std::string out_path_;
    std::string err_path_;
    bool reaped_ = false;
    int code_ = -1;
};
Background start(const std::vector<std::string>& args);  // the runtime, in the background

// Runs the shell `commands` in a throw-away mount namespace whose "/" is made
// rshared, as on systemd hosts (the real host is never touched), and records
// that namespace's mount table before and after them.
struct MountTables {
    Result result;
    std::string before;
    std::string after;
};
MountTables mount_tables_around(const std::string& commands);

// Waits until `pid` has a handler for `sig` (PID 1 ignores signals it does
// not handle, so a test must not signal it before the handler is in place).
bool wait_for_handler(pid_t pid, int sig, double timeout = 10);

// ---- small tools the chapter suites share ----

// The program's name ("ch07"): how its error lines start.
std::string program();
// Argv of the chapter binary with --trace: for run() or start().
std::vector<std::string> with_trace(const std::vector<std::string>& args);
bool contains(const std::string& text, const std::string& part);
// The names in a directory (none when it is missing).
std::set<std::string> names_in(const std::string& dir);
// Seconds on a monotonic clock.
double now();
// Polls `done` until it holds or `timeout` seconds have passed.
bool wait_until(const std::function<bool()>& done, double timeout);
// True when `s` is `size` lower-case hex digits.
bool is_hex(const std::string& s, size_t size);
// Docker's error contract: exit code 125, and one line "chNN: ..." on
// stderr that mentions `mentions` (when not "").
void expect_error_line(const Result& r, const std::string& mentions = "");
// `run -d ARGS...` (chapter 06 on): the new container's id ("", and a
// failed expectation, if it failed).
std::string run_detached(const std::vector<std::string>& args);
// Imports a copy of the test rootfs (busybox, and the probe as /probe) as
// the image `name` (chapter 04 on).
void import_probe_image(const std::string& name);

// Issue 13's counts ("cycles run", "leaks found", ...): appends the line
// "SUITE@BINARY: WHAT = N" to counts/BINARY.txt in the build tree, which
// scripts/test.sh prints after the whole suite has run.
void record_count(const std::string& what, long n);

std::string read_file(const std::string& path);
std::string ns_link(const std::string& pid, const std::string& type);  // readlink /proc/PID/ns/TYPE
std::string trim(const std::string& s);
std::vector<std::string> lines(const std::string& s);

// Sets an environment variable for the runtimes this test starts, and puts
// back what was there when it goes out of scope (even when the test fails).
class ScopedEnv {
public:
    ScopedEnv(const char* name, const std::string& value) : name_(name) {
        if (const char* old = std::getenv(name)) {
            old_ = old;
        }
        ::setenv(name, value.c_str(), 1);
    }
    ~ScopedEnv() {
        if (old_) {
            ::setenv(name_, old_->c_str(), 1);
        } else {
            ::unsetenv(name_);
        }
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
    const char* name_;
    std::optional<std::string> old_;
};

// A fresh empty directory, removed (recursively) on destruction.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

}  // namespace minidocker::test
