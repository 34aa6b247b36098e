// ch01_init_test.cpp - PID 1 with and without `run --init`, checked from the
// host: who reaps orphans, which signals a PID 1 gets, and that the init (the
// runtime itself, inside the container) runs from a binary no one can write.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "harness.hpp"

using namespace minidocker::test;

namespace {

std::string proc(pid_t pid, const std::string& file) { return "/proc/" + std::to_string(pid) + "/" + file; }

// The host PIDs of the children of `pid`.
std::vector<pid_t> children_of(pid_t pid) {
    std::istringstream in(read_file(proc(pid, "task/" + std::to_string(pid) + "/children")));
    std::vector<pid_t> out;
    pid_t child = 0;
    while (in >> child) {
        out.push_back(child);
    }
    return out;
}

// The one-letter state of a process ("S", "Z", ...), "" once it is gone.
std::string state_of(pid_t pid) {
    std::string stat = read_file(proc(pid, "stat"));
    size_t paren = stat.rfind(')');
    return paren == std::string::npos || paren + 2 >= stat.size() ? "" : stat.substr(paren + 2, 1);
}

// Under --init the container's PID 1 is the runtime's child that carries the
// runtime's own name; the command is its child.
struct InitAndCommand {
    pid_t init = -1;
    pid_t command = -1;
};

// `first_arg`, when given, must be the command's argv[1] too: an orphan
// with the same name may be a child of the init for a while.
InitAndCommand find_under_init(Background& c, const std::string& command_comm, const std::string& first_arg = "") {
    InitAndCommand found;
    found.init = c.container_pid(std::filesystem::path(binary()).filename());
    if (found.init <= 0) {
        return found;
    }
    wait_until(
        [&] {
            for (pid_t child : children_of(found.init)) {
                std::string cmdline = read_file(proc(child, "cmdline"));
                std::string arg1 = cmdline.substr(cmdline.find('\0') + 1);
                arg1 = arg1.substr(0, arg1.find('\0'));
                if (trim(read_file(proc(child, "comm"))) == command_comm && (first_arg.empty() || arg1 == first_arg)) {
                    found.command = child;
                    return true;
                }
            }
            return false;
        },
        10);
    return found;
}

// The zombies among the children of `pid`.
int zombie_children(pid_t pid) {
    int zombies = 0;
    for (pid_t child : children_of(pid)) {
        zombies += state_of(child) == "Z" ? 1 : 0;
    }
    return zombies;
}

}  // namespace

TEST(Ch01Init, CommandIsPid2AndExitCodesPassThrough) {
    MINIDOCKER_REQUIRE_ROOT();
    Result r = runtime({"run", "--init", "--", probe_path(), "pid"});
    EXPECT_EQ(r.out, "2\n") << r.err;
    EXPECT_EQ(runtime({"run", "--init", "--", "sh", "-c", "exit 3"}).code, 3);
    // A command that cannot start: one line, Docker's 127, as without --init.
    r = runtime({"run", "--init", "--", "no-such-command-xyz"});
    EXPECT_EQ(r.code, 127);
    EXPECT_EQ(lines(r.err).size(), 1U) << r.err;
    // Killed: the init passes on 128+N.
    Background c = start({"run", "--init", "--", probe_path(), "sleep", "30"});
    InitAndCommand p = find_under_init(c, "probe");
    ASSERT_GT(p.command, 0);
    ::kill(p.command, SIGKILL);
    EXPECT_EQ(c.wait().code, 137);
}

TEST(Ch01Init, OrphansAreReapedOnlyUnderInit) {
    MINIDOCKER_REQUIRE_ROOT();
    // The shell leaves an orphan that ends after 0.2 s, then becomes a
    // `sleep`, which never calls wait().
    const std::vector<std::string> cmd = {"sh", "-c", "(sleep 0.2 &); exec sleep 3"};

    // Without --init the orphan's parent is that sleep (PID 1): it stays a zombie.
    std::vector<std::string> plain = {"run", "--"};
    plain.insert(plain.end(), cmd.begin(), cmd.end());
    Background a = start(plain);
    pid_t pid1 = a.container_pid("sleep");
    ASSERT_GT(pid1, 0);
    EXPECT_TRUE(wait_until([&] { return zombie_children(pid1) == 1; }, 5)) << "no zombie under a plain PID 1";
    ::kill(pid1, SIGKILL);
    EXPECT_EQ(a.wait().code, 137);

    // With --init the init reaps it: PID 1's only child is the command.
    std::vector<std::string> with_init = {"run", "--init", "--"};
    with_init.insert(with_init.end(), cmd.begin(), cmd.end());
    Background b = start(with_init);
    InitAndCommand p = find_under_init(b, "sleep", "3");  // not the orphan "sleep 0.2"
    ASSERT_GT(p.command, 0);
    ::usleep(800000);  // the orphan has ended by now
    EXPECT_EQ(zombie_children(p.init), 0);
    EXPECT_EQ(children_of(p.init), std::vector<pid_t>{p.command});
    EXPECT_EQ(b.wait().code, 0);
}

TEST(Ch01Init, SignalsToPid1AreForwardedOnlyUnderInit) {
    MINIDOCKER_REQUIRE_ROOT();
    // Without --init: SIGTERM from the host to a PID 1 with no handler is
    // dropped by the kernel; only SIGKILL ends it.
    Background a = start({"run", "--", "sleep", "30"});
    pid_t pid1 = a.container_pid("sleep");
    ASSERT_GT(pid1, 0);
    ::kill(pid1, SIGTERM);
    ::usleep(500000);
    EXPECT_EQ(state_of(pid1), "S") << "sleep as PID 1 should have ignored SIGTERM";
    ::kill(pid1, SIGKILL);
    EXPECT_EQ(a.wait().code, 137);

    // With --init: the init catches SIGTERM and passes it to the command,
    // which is not PID 1 and so takes the default action.
    Background b = start({"run", "--init", "--", "sleep", "30"});
    InitAndCommand p = find_under_init(b, "sleep");
    ASSERT_GT(p.command, 0);
    ::kill(p.init, SIGTERM);
    EXPECT_EQ(b.wait(10).code, 143);

    // And a signal to the runtime reaches the command the same way.
    Background c = start({"run", "--init", "--", "sleep", "30"});
    p = find_under_init(c, "sleep");
    ASSERT_GT(p.command, 0);
    c.signal(SIGTERM);
    EXPECT_EQ(c.wait(10).code, 143);
}

TEST(Ch01Init, InitRunsFromAReadOnlyViewOfTheRuntime) {
    MINIDOCKER_REQUIRE_ROOT();
    // A copy of the binary that only this test runs: another test running
    // the same file would turn the write's EROFS into ETXTBSY.
    TempDir dir;
    std::string copy = dir.path() + "/" + std::filesystem::path(binary()).filename().string();
    std::filesystem::copy_file(binary(), copy);
    std::filesystem::permissions(copy, std::filesystem::perms::owner_all);
    Background c({copy, "--root", state_root(), "run", "--init", "--", "sleep", "30"});
    InitAndCommand p = find_under_init(c, "sleep");
    ASSERT_GT(p.init, 0);
    // The init is the runtime, inside the container for as long as it runs:
    // its binary, reached through /proc/PID/exe, must not be writable.
    struct statvfs fs {};
    ASSERT_EQ(::statvfs(proc(p.init, "exe").c_str(), &fs), 0);
    EXPECT_NE(fs.f_flag & ST_RDONLY, 0U);
    // The attack's way: hold the link while the binary runs (a write open
    // now fails with ETXTBSY), reopen it for writing once it has ended.
    int held = ::open(proc(p.init, "exe").c_str(), O_PATH | O_CLOEXEC);
    ASSERT_GE(held, 0) << std::strerror(errno);
    ::kill(p.init, SIGKILL);
    EXPECT_EQ(c.wait().code, 137);
    int fd = ::open(("/proc/self/fd/" + std::to_string(held)).c_str(), O_WRONLY | O_CLOEXEC);
    int err = errno;
    EXPECT_LT(fd, 0) << "the runtime's binary was opened for writing";
    EXPECT_EQ(err, EROFS) << std::strerror(err);
    if (fd >= 0) {
        ::close(fd);
    }
    ::close(held);
}
