// Unit tests for common/: flag names, errors, exit codes.
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>

#include <csignal>

#include "error.hpp"
#include "process.hpp"
#include "trace.hpp"

using namespace minidocker;

TEST(Trace, CloneFlagsByName) {
    EXPECT_EQ(trace::clone_flags(CLONE_NEWPID | SIGCHLD), "CLONE_NEWPID|SIGCHLD");
    EXPECT_EQ(trace::clone_flags(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWNET), "CLONE_NEWNS|CLONE_NEWUTS|CLONE_NEWNET");
    EXPECT_EQ(trace::clone_flags(0), "0");
    EXPECT_EQ(trace::clone_flags(SIGCHLD), "SIGCHLD");
}

TEST(Trace, MountFlagsByName) {
    EXPECT_EQ(trace::mount_flags(MS_REC | MS_PRIVATE), "MS_REC|MS_PRIVATE");
    EXPECT_EQ(trace::mount_flags(MS_NOSUID | MS_NODEV | MS_NOEXEC), "MS_NOSUID|MS_NODEV|MS_NOEXEC");
    EXPECT_EQ(trace::mount_flags(0), "0");
    // Bits without a name are shown in hex rather than dropped.
    EXPECT_EQ(trace::mount_flags(MS_RDONLY | (1UL << 30)), "MS_RDONLY|0x40000000");
}

TEST(Trace, ErrnoNames) {
    EXPECT_EQ(trace::errno_name(ENOENT), "ENOENT");
    EXPECT_EQ(trace::errno_name(EPERM), "EPERM");
    EXPECT_EQ(trace::quote(nullptr), "NULL");
    EXPECT_EQ(trace::quote("/proc"), "\"/proc\"");
}

TEST(Error, CheckThrowsWithTheCallInTheMessage) {
    errno = ENOENT;
    try {
        check(-1, "open(\"/nope\")");
        FAIL() << "check(-1) must throw";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code().value(), ENOENT);
        EXPECT_NE(std::string(e.what()).find("open(\"/nope\")"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("No such file or directory"), std::string::npos);
    }
    EXPECT_EQ(check(7, "read(3)"), 7);
}

TEST(Process, DockerExitCodes) {
    EXPECT_EQ(exit_code_from_status(3 << 8), 3);  // exited with 3
    EXPECT_EQ(exit_code_from_status(SIGKILL), 137);
    EXPECT_EQ(exit_code_from_status(SIGTERM), 143);
    EXPECT_EQ(exit_code_from_exec_errno(ENOENT), 127);
    EXPECT_EQ(exit_code_from_exec_errno(EACCES), 126);
    EXPECT_EQ(exit_code_from_exec_errno(ENOEXEC), 126);
}

TEST(Fd, MoveOnlyAndCloses) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    Fd a{fds[0]};
    Fd b = std::move(a);
    EXPECT_FALSE(a);
    EXPECT_EQ(b.get(), fds[0]);
    b.reset();
    EXPECT_EQ(::fcntl(fds[0], F_GETFD), -1);  // closed
    ::close(fds[1]);
}
