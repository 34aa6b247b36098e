// Unit tests for common/sys.hpp and common/mountinfo.hpp: the text each
// wrapper builds from its arguments (the same in the trace and in the
// error), read_all(), and the one mountinfo parser. No root needed: the calls
// that need it are made where they fail anyway (a missing path, a closed
// descriptor), and only the text before the ": " is compared.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <linux/close_range.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <csignal>
#include <filesystem>
#include <functional>
#include <string>

#include "mountinfo.hpp"
#include "sys.hpp"
#include "trace.hpp"
#include "unit.hpp"

using namespace minidocker;
using unit::TempDir;

namespace {

// The message `f` throws as a std::system_error, or "" when it throws none.
std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const std::system_error& e) {
        return e.what();
    }
    return "";
}

// The message up to its ": " (the call; the rest is the errno's text,
// which depends on whether we are root).
std::string call_of(const std::function<void()>& f) {
    std::string message = error_of(f);
    return message.substr(0, message.rfind(": "));
}

// While alive, the trace is on and goes into a pipe; text() is what it got.
class TraceCapture {
public:
    TraceCapture() : pipe_(sys::pipe("trace capture")), owner_("00 test") {
        trace::set_output(pipe_.write.get());
        trace::enable(true);
    }
    ~TraceCapture() { stop(); }
    TraceCapture(const TraceCapture&) = delete;
    TraceCapture& operator=(const TraceCapture&) = delete;

    std::string text() {
        stop();
        return sys::read_all({pipe_.read.get(), "the trace pipe"});
    }

private:
    void stop() {
        trace::enable(false);
        trace::set_output(STDERR_FILENO);
        pipe_.write.reset();
    }
    sys::Pipe pipe_;
    trace::Owner owner_;
};

}  // namespace

TEST(Sys, AFailedCallThrowsItsOwnText) {
    EXPECT_EQ(error_of([] { sys::mkdir("/nonexistent/x", 0755); }),
              "mkdir(\"/nonexistent/x\", 0755): No such file or directory");
    EXPECT_EQ(error_of([] {
                  sys::setns({-1, "fd of /proc/123/ns/net"}, CLONE_NEWNET);
              }),
              "setns(fd of /proc/123/ns/net, CLONE_NEWNET): Bad file descriptor");
    EXPECT_EQ(call_of([] {
                  sys::mount_setattr({-1, "tree"}, AT_EMPTY_PATH, MOUNT_ATTR_RDONLY);
              }),
              "mount_setattr(tree, \"\", AT_EMPTY_PATH, MOUNT_ATTR_RDONLY)");
    EXPECT_EQ(error_of([] { sys::dup2({-1, "slave"}, 0); }), "dup2(slave, 0): Bad file descriptor");
    EXPECT_EQ(error_of([] {
                  sys::pidfd_send_signal({-1, "pidfd of 4242"}, SIGTERM);
              }),
              "pidfd_send_signal(pidfd of 4242, SIGTERM): Bad file descriptor");
    EXPECT_EQ(error_of([] { sys::close_range(5, 3, CLOSE_RANGE_CLOEXEC); }),
              "close_range(5, 3, CLOSE_RANGE_CLOEXEC): Invalid argument");
    EXPECT_EQ(error_of([] {
                  sys::fchdir({-1, "fd of /proc/123/root"});
              }),
              "fchdir(fd of /proc/123/root): Bad file descriptor");
    EXPECT_EQ(error_of([] {
                  sys::syncfs({-1, "\"/var/lib/minidocker\""});
              }),
              "syncfs(\"/var/lib/minidocker\"): Bad file descriptor");
}

TEST(Sys, MountsShowTheirFlagsByName) {
    EXPECT_EQ(call_of([] { sys::mount("tmpfs", "/nonexistent/x", "tmpfs", MS_NOSUID | MS_NODEV, "size=1k"); }),
              "mount(\"tmpfs\", \"/nonexistent/x\", \"tmpfs\", MS_NOSUID|MS_NODEV, \"size=1k\")");
    EXPECT_EQ(call_of([] { sys::mount(nullptr, "/nonexistent/x", nullptr, MS_REC | MS_PRIVATE, nullptr); }),
              "mount(NULL, \"/nonexistent/x\", NULL, MS_REC|MS_PRIVATE, NULL)");
    EXPECT_EQ(call_of([] { sys::umount2("/nonexistent/x", MNT_DETACH); }), "umount2(\"/nonexistent/x\", MNT_DETACH)");
    EXPECT_EQ(call_of([] { sys::pivot_root("/nonexistent/a", "/nonexistent/b"); }),
              "pivot_root(\"/nonexistent/a\", \"/nonexistent/b\")");
    EXPECT_EQ(call_of([] { sys::mknod("/nonexistent/null", S_IFCHR | 0666, makedev(1, 3)); }),
              "mknod(\"/nonexistent/null\", S_IFCHR|0666, makedev(1, 3))");
}

TEST(Sys, ACallSiteMayDescribeAPath) {
    // A mount on /proc/self/fd/N of a checked descriptor means a place in
    // the rootfs: the trace says that, not the number.
    EXPECT_EQ(
        call_of([] {
            sys::mount("/srv", {"/nonexistent/fd/7", "\"/data\" (in the rootfs)"}, nullptr, MS_BIND | MS_REC, nullptr);
        }),
        "mount(\"/srv\", \"/data\" (in the rootfs), NULL, MS_BIND|MS_REC, NULL)");
    EXPECT_EQ(error_of([] {
                  sys::mkdir({"/nonexistent/init/etc", "\"init/etc\""}, 0755);
              }),
              "mkdir(\"init/etc\", 0755): No such file or directory");
}

TEST(Sys, SuccessIsNarratedWithTheSameText) {
    TempDir dir;
    TraceCapture trace;
    sys::mkdir(dir / "a", 0700);
    EXPECT_FALSE(sys::mkdir_if_missing(dir / "a", 0700));  // there: no line
    sys::chmod(dir / "a", 0755);
    sys::symlink("a", dir / "link");
    sys::rename(dir / "link", dir / "moved");
    sys::write_file(dir / "pids.max", "64");
    sys::chdir(dir.path());
    EXPECT_THROW(sys::chdir(dir / "missing"), std::system_error);
    EXPECT_EQ(trace.text(), fmt::format("[00 test] mkdir(\"{0}/a\", 0700) = 0\n"
                                        "[00 test] chmod(\"{0}/a\", 0755) = 0\n"
                                        "[00 test] symlink(\"a\", \"{0}/link\") = 0\n"
                                        "[00 test] rename(\"{0}/link\", \"{0}/moved\") = 0\n"
                                        "[00 test] write(\"{0}/pids.max\", \"64\") = 2\n"
                                        "[00 test] chdir(\"{0}\") = 0\n"
                                        "[00 test] chdir(\"{0}/missing\") = -1 ENOENT (No such file or directory)\n",
                                        dir.path()));
    EXPECT_EQ(sys::read_file(dir / "pids.max"), "64");
    struct stat st {};
    ASSERT_EQ(::lstat((dir / "moved").c_str(), &st), 0);
    EXPECT_TRUE(S_ISLNK(st.st_mode));
    ASSERT_EQ(::stat((dir / "a").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0755U);
    ASSERT_EQ(::chdir("/"), 0);
}

TEST(Sys, DescriptorsAreShownByWhatTheyAre) {
    TempDir dir;
    Fd file = open_fd(dir / "f", O_WRONLY | O_CREAT, 0600);
    Fd top = open_fd(dir.path(), O_RDONLY | O_DIRECTORY);
    TraceCapture trace;
    sys::fchmod({file.get(), "\"f\""}, 0644);
    sys::write({file.get(), "\"f\""}, "hello");
    sys::fsync({file.get(), "\"f\""});
    sys::syncfs({top.get(), "the store"});
    sys::mkdirat({top.get(), "rootfs"}, "sub", 0755);
    sys::create_file_at({top.get(), "rootfs"}, "file", 0644);
    EXPECT_EQ(trace.text(),
              "[00 test] fchmod(\"f\", 0644) = 0\n"
              "[00 test] write(\"f\", \"hello\") = 5\n"
              "[00 test] fsync(\"f\") = 0\n"
              "[00 test] syncfs(the store) = 0\n"
              "[00 test] mkdirat(rootfs, \"sub\", 0755) = 0\n"
              "[00 test] openat(rootfs, \"file\", O_WRONLY|O_CREAT|O_EXCL, 0644) = 0\n");
    EXPECT_EQ(sys::read_file(dir / "f"), "hello");
}

// What is there already is no error for the _if_missing calls, a dangling
// symbolic link included (they never follow one); anything else is.
TEST(Sys, IfMissingCallsAnswerFalseForWhatIsThere) {
    TempDir dir;
    ASSERT_EQ(::symlink("/nonexistent/target", (dir / "dangling").c_str()), 0);
    Fd top = open_fd(dir.path(), O_RDONLY | O_DIRECTORY);
    TraceCapture trace;
    EXPECT_TRUE(sys::mkdirat_if_missing({top.get(), "rootfs"}, "sub", 0755));
    EXPECT_FALSE(sys::mkdirat_if_missing({top.get(), "rootfs"}, "sub", 0755));
    EXPECT_FALSE(sys::mkdirat_if_missing({top.get(), "rootfs"}, "dangling", 0755));
    EXPECT_TRUE(sys::create_file_at_if_missing({top.get(), "rootfs"}, "file", 0644));
    EXPECT_FALSE(sys::create_file_at_if_missing({top.get(), "rootfs"}, "file", 0644));
    EXPECT_FALSE(sys::create_file_at_if_missing({top.get(), "rootfs"}, "dangling", 0644));
    EXPECT_THROW(sys::create_file_at_if_missing({top.get(), "rootfs"}, "missing/file", 0644), std::system_error);
    EXPECT_EQ(trace.text(),
              "[00 test] mkdirat(rootfs, \"sub\", 0755) = 0\n"
              "[00 test] openat(rootfs, \"file\", O_WRONLY|O_CREAT|O_EXCL, 0644) = 0\n"
              "[00 test] openat(rootfs, \"missing/file\", O_WRONLY|O_CREAT|O_EXCL, 0644) = -1 ENOENT (No such file or "
              "directory)\n");
    EXPECT_FALSE(std::filesystem::exists("/nonexistent/target"));
}

TEST(Sys, Openat2StaysInTheRootAndNamesItsRules) {
    TempDir dir;
    ASSERT_EQ(::symlink("/", (dir / "up").c_str()), 0);
    Fd root = open_fd(dir.path(), O_PATH | O_DIRECTORY);
    EXPECT_EQ(error_of([&] {
                  sys::openat2({root.get(), "rootfs"}, "/missing", O_PATH, RESOLVE_IN_ROOT);
              }),
              "openat2(rootfs, \"/missing\", RESOLVE_IN_ROOT): No such file or directory");
    // "/" is the directory itself: a link to "/" ends there, not at the host's.
    Fd up = sys::openat2({root.get(), "rootfs"}, "/up", O_PATH | O_DIRECTORY, RESOLVE_IN_ROOT);
    struct stat a {};
    struct stat b {};
    ASSERT_EQ(::fstat(up.get(), &a), 0);
    ASSERT_EQ(::fstat(root.get(), &b), 0);
    EXPECT_EQ(a.st_ino, b.st_ino);
    EXPECT_EQ(::fcntl(up.get(), F_GETFD), FD_CLOEXEC);
    Fd refused = sys::try_openat2(root.get(), "/up", O_PATH, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS);
    EXPECT_FALSE(refused);
    EXPECT_EQ(errno, ELOOP);
}

TEST(Sys, PipesAndSocketPairsAreNarratedByPurpose) {
    TraceCapture trace;
    sys::Pipe out = sys::pipe("stdout");
    sys::SocketPair pair = sys::socketpair(SOCK_SEQPACKET, "the monitor");
    EXPECT_EQ(trace.text(),
              "[00 test] pipe2(stdout) = 0\n"
              "[00 test] socketpair(AF_UNIX, SOCK_SEQPACKET) for the monitor = 0\n");
    for (int fd : {out.read.get(), out.write.get(), pair.first.get(), pair.second.get()}) {
        EXPECT_EQ(::fcntl(fd, F_GETFD), FD_CLOEXEC) << fd;
    }
}

TEST(Sys, ReadAllReadsAPipeToItsEnd) {
    sys::Pipe p = sys::pipe("test");
    std::string big(20000, 'x');  // more than one read() of read_all
    big += "end";
    ASSERT_EQ(::write(p.write.get(), big.data(), big.size()), static_cast<ssize_t>(big.size()));
    p.write.reset();
    EXPECT_EQ(sys::read_all({p.read.get(), "the pipe"}), big);
    EXPECT_EQ(error_of([] { sys::read_all({-1, "the pipe"}); }), "read(the pipe): Bad file descriptor");
    EXPECT_EQ(error_of([] { sys::read_file("/nonexistent/file"); }),
              "open(\"/nonexistent/file\"): No such file or directory");
}

TEST(Sys, DescriptorPassingAndSignals) {
    sys::SocketPair pair = sys::socketpair(SOCK_STREAM, "the test");
    sys::Pipe p = sys::pipe("test");
    sys::send_fd(pair.first.get(), {p.write.get(), "the pipe's end"});
    Fd received = sys::receive_fd(pair.second.get());
    ASSERT_TRUE(received);
    ASSERT_EQ(::write(received.get(), "!", 1), 1);
    char c = 0;
    ASSERT_EQ(::read(p.read.get(), &c, 1), 1);
    EXPECT_EQ(c, '!');

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGWINCH);
    TraceCapture trace;
    Fd signals = sys::signalfd(set);
    EXPECT_EQ(trace.text(), fmt::format("[00 test] signalfd(SIGWINCH) = {}\n", signals.get()));
    EXPECT_FALSE(sys::gethostname().empty());
}

TEST(MountInfo, ParsesEveryFieldAndDecodesEscapes) {
    std::vector<MountEntry> mounts = parse_mountinfo(
        "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 shared:7 - ext3 /dev/root rw,errors=continue\n"
        "41 36 0:40 / /media/my\\040disk\\011tab rw,relatime - vfat /dev/sdb\\0401 rw,fmask=0022\n"
        "not a mountinfo line\n"
        "50 36 0:45 /a\\\\b /srv rw - tmpfs tmpfs rw\n");
    ASSERT_EQ(mounts.size(), 3U);
    EXPECT_EQ(mounts[0].id, 36);
    EXPECT_EQ(mounts[0].parent, 35);
    EXPECT_EQ(mounts[0].device, "98:0");
    EXPECT_EQ(mounts[0].root, "/mnt1");
    EXPECT_EQ(mounts[0].point, "/mnt2");
    EXPECT_EQ(mounts[0].options, "rw,noatime");
    EXPECT_EQ(mounts[0].optional, "master:1 shared:7");
    EXPECT_EQ(mounts[0].fstype, "ext3");
    EXPECT_EQ(mounts[0].source, "/dev/root");
    EXPECT_EQ(mounts[0].super_options, "rw,errors=continue");

    EXPECT_EQ(mounts[1].point, "/media/my disk\ttab");  // \040 is a space, \011 a tab
    EXPECT_EQ(mounts[1].optional, "");
    EXPECT_EQ(mounts[1].fstype, "vfat");
    EXPECT_EQ(mounts[1].source, "/dev/sdb 1");

    EXPECT_EQ(mounts[2].root, "/a\\\\b");  // not an octal escape: kept as it is
    EXPECT_EQ(unescape_mountinfo("a\\134b"), "a\\b");
    EXPECT_EQ(unescape_mountinfo("end\\04"), "end\\04");  // cut short: kept
}

TEST(MountInfo, ReadsThisProcesssTable) {
    std::vector<MountEntry> mounts = parse_mountinfo(sys::read_file("/proc/self/mountinfo"));
    ASSERT_FALSE(mounts.empty());
    bool root = false;
    for (const MountEntry& m : mounts) {
        root = root || m.point == "/";
    }
    EXPECT_TRUE(root);
}
