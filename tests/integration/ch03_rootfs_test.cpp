// Chapter 03's claims, proven from outside: with --rootfs the container's "/"
// is that directory and nothing of the host's is reachable (pivot_root), while
// chroot is escapable; /dev, /sys and /proc are set up and fenced; a rootfs
// with planted symbolic links cannot make the runtime touch the host.
// These tests also run against every later chapter's binary.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "harness.hpp"
#include "mountinfo.hpp"

namespace fs = std::filesystem;
using namespace minidocker::test;

namespace {

// A private copy of the test rootfs, for tests that write into it or plant
// things in it (the shared one in build/rootfs stays pristine).
std::string copy_rootfs(const TempDir& dir) {
    std::string copy = dir.path() + "/rootfs";
    Result r = run({"cp", "-a", rootfs_path(), copy});
    EXPECT_EQ(r.code, 0) << r.err;
    return copy;
}

std::string host_mounts() { return read_file("/proc/self/mountinfo"); }

// Mount points (field 5) of a mountinfo text.
std::vector<std::string> mount_points(const std::string& mountinfo) {
    std::vector<std::string> points;
    for (const minidocker::MountEntry& m : minidocker::parse_mountinfo(mountinfo)) {
        points.push_back(m.point);
    }
    return points;
}

bool one_line(const std::string& err) { return lines(err).size() == 1; }

bool empty_dir(const std::string& path) { return fs::is_empty(path); }

}  // namespace

TEST(Ch03, RootIsTheRootfs) {
    MINIDOCKER_REQUIRE_ROOT();
    std::set<std::string> expected;
    for (const auto& entry : fs::directory_iterator(rootfs_path())) {
        std::string name = entry.path().filename();
        if (name[0] != '.') {
            expected.insert(name);
        }
    }
    Result r = runtime({"run", "--rootfs", rootfs_path(), "--", "ls", "-1", "/"});
    ASSERT_EQ(r.code, 0) << r.err;
    std::vector<std::string> got = lines(r.out);
    EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), expected) << r.out;
    // The container's working directory is its "/".
    r = runtime({"run", "--rootfs", rootfs_path(), "--", "pwd"});
    EXPECT_EQ(r.out, "/\n") << r.err;
}

TEST(Ch03, HostMountsAreGone) {
    MINIDOCKER_REQUIRE_ROOT();
    Result r = runtime({"run", "--rootfs", rootfs_path(), "--", "cat", "/proc/self/mountinfo"});
    ASSERT_EQ(r.code, 0) << r.err;
    // Only what this chapter (and 01's /proc) mounted: nothing of the host's.
    const std::set<std::string> ours = {
        "/",
        "/proc",
        "/dev",
        "/dev/pts",
        "/dev/shm",
        "/dev/mqueue",
        "/sys",
        "/sys/firmware",
        "/proc/kcore",
        "/proc/keys",
        "/proc/timer_list",
        "/proc/sched_debug",
        "/proc/sys",
        "/proc/irq",
        "/proc/bus",
        "/proc/sysrq-trigger",
        // From chapter 09 on, Docker's other masks and read-only paths: also
        // the container's own mounts, none of the host's.
        "/proc/acpi",
        "/proc/asound",
        "/proc/latency_stats",
        "/proc/timer_stats",
        "/proc/scsi",
        "/sys/devices/virtual/powercap",
        "/proc/fs",
    };
    std::vector<std::string> points = mount_points(r.out);
    for (const std::string& point : points) {
        EXPECT_TRUE(ours.count(point)) << "a mount the container should not have: " << point << "\n" << r.out;
    }
    EXPECT_LE(points.size(), ours.size()) << r.out;
    // None of the host's own mount points, such as /etc/hosts or /run.
    for (const std::string& point : mount_points(host_mounts())) {
        if (!ours.count(point)) {
            EXPECT_EQ(std::count(points.begin(), points.end(), point), 0) << point;
        }
    }
}

TEST(Ch03, DotDotStaysAtRoot) {
    MINIDOCKER_REQUIRE_ROOT();
    // cd -P and ls /../..: the kernel resolves "..", not the shell's own
    // bookkeeping of the working directory.
    Result r = runtime(
        {"run", "--rootfs", rootfs_path(), "--", "sh", "-c", "cd -P /..; pwd -P; cd -P ../../..; ls -1 /../.."});
    ASSERT_EQ(r.code, 0) << r.err;
    Result root = runtime({"run", "--rootfs", rootfs_path(), "--", "ls", "-1", "/"});
    EXPECT_EQ(r.out, "/\n" + root.out);
}

TEST(Ch03, ChrootEscapesButPivotRootHolds) {
    MINIDOCKER_REQUIRE_ROOT();
    // A file only the host has, with content no rootfs could have.
    TempDir host;
    std::string marker = host.path() + "/marker";
    std::string secret = "host-secret-" + std::to_string(::getpid()) + "-" + fs::path(host.path()).filename().string();
    std::ofstream(marker) << secret << "\n";
    TempDir dir;
    std::string rootfs = copy_rootfs(dir);
    std::string mounts = host_mounts();

    // chroot: the probe chroot()s into a subdirectory, walks ".." out of it
    // and reads the host's file.
    Result r = runtime({"run", "--rootfs", rootfs, "--chroot", "--", "/probe", "chroot-escape", marker});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, secret + "\n") << "the classic escape should work under --chroot\n" << r.err;

    // pivot_root: the same walk ends at the container's own "/".
    r = runtime({"run", "--rootfs", rootfs, "--", "/probe", "chroot-escape", marker});
    EXPECT_NE(r.code, 0);
    EXPECT_EQ(r.out.find(secret), std::string::npos) << "escaped from pivot_root!\n" << r.out;
    EXPECT_EQ(host_mounts(), mounts);
}

TEST(Ch03, NoMountLeaksEvenWhenRootIsShared) {
    MINIDOCKER_REQUIRE_ROOT();
    // As chapter 01's test: make "/" shared in a throw-away mount namespace,
    // run containers with a rootfs from there, compare that namespace's table.
    TempDir dir;
    std::string rootfs = copy_rootfs(dir);
    std::string run_prefix = binary() + " --root " + state_root() + " run --rootfs " + rootfs;
    MountTables t = mount_tables_around(run_prefix + " -- true; " + run_prefix + " --chroot -- true; " + run_prefix +
                                        " --read-only -- true");
    ASSERT_EQ(t.result.code, 0) << t.result.err;
    ASSERT_NE(t.before.find("shared:"), std::string::npos) << "the test failed to make / shared";
    EXPECT_EQ(t.before, t.after);
}

TEST(Ch03, PlantedSymlinksLeaveTheHostUntouched) {
    MINIDOCKER_REQUIRE_ROOT();
    // `outside` stands for any host directory a hostile rootfs points at.
    TempDir host;
    std::string outside = host.path() + "/outside";
    fs::create_directory(outside);
    struct Plant {
        std::string path;    // in the rootfs
        std::string target;  // what the symlink says
    };
    const std::vector<Plant> plants = {
        {"/proc", "/etc"}, {"/proc", "../../../../../../../../.." + outside},
        {"/dev", outside}, {"/dev/null", outside + "/null"},
        {"/sys", "/tmp"},  {"/sys", outside},
    };
    for (const Plant& plant : plants) {
        for (bool chroot : {false, true}) {
            SCOPED_TRACE(plant.path + " -> " + plant.target + (chroot ? " (--chroot)" : ""));
            TempDir dir;
            std::string rootfs = copy_rootfs(dir);
            fs::remove(rootfs + plant.path);
            fs::create_symlink(plant.target, rootfs + plant.path);
            std::string mounts = host_mounts();

            std::vector<std::string> args = {"run", "--rootfs", rootfs};
            if (chroot) {
                args.push_back("--chroot");
            }
            for (const char* arg :
                 {"--", "sh", "-c", "cat /proc/self/mountinfo > /dev/null; ls /dev /sys > /dev/null"}) {
                args.push_back(arg);
            }
            Result r = runtime(args);
            // Either it refuses, in one line, or it succeeds inside the rootfs.
            if (r.code != 0) {
                EXPECT_EQ(r.code, 125) << r.err;
                EXPECT_TRUE(one_line(r.err)) << r.err;
                EXPECT_NE(r.err.find(plant.path.substr(0, 4)), std::string::npos) << r.err;
            }
            EXPECT_EQ(host_mounts(), mounts);
            EXPECT_TRUE(empty_dir(outside)) << "something was created on the host in " << outside;
            EXPECT_TRUE(fs::is_symlink(rootfs + plant.path));
        }
    }
}

TEST(Ch03, ProcIsFenced) {
    MINIDOCKER_REQUIRE_ROOT();
    // Read-only parts of /proc: a write fails with EROFS. (The container has
    // its own UTS namespace, so the hostname write could not hurt the host.)
    Result r = runtime({"run", "--rootfs", rootfs_path(), "--", "sh", "-c", "echo x > /proc/sys/kernel/hostname"});
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.err.find("Read-only file system"), std::string::npos) << r.err;
    if (fs::exists("/proc/sysrq-trigger")) {  // some kernels are built without it
        r = runtime({"run", "--rootfs", rootfs_path(), "--", "sh", "-c", "echo h > /proc/sysrq-trigger"});
        EXPECT_NE(r.code, 0);
        EXPECT_NE(r.err.find("Read-only file system"), std::string::npos) << r.err;
    }
    // Masked files read as empty: /dev/null is bound over them.
    int masked = 0;
    for (const char* path : {"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug"}) {
        if (!fs::exists(path)) {
            continue;
        }
        SCOPED_TRACE(path);
        r = runtime({"run", "--rootfs", rootfs_path(), "--", "sh", "-c", std::string("wc -c < ") + path});
        EXPECT_EQ(r.code, 0) << r.err;
        EXPECT_EQ(trim(r.out), "0");
        ++masked;
    }
    EXPECT_GE(masked, 1);
    // /sys is read-only, and its firmware tables are hidden.
    r = runtime({"run", "--rootfs", rootfs_path(), "--", "sh", "-c", "ls -A /sys/firmware; touch /sys/x"});
    EXPECT_NE(r.code, 0);
    EXPECT_EQ(r.out, "");
    EXPECT_NE(r.err.find("Read-only file system"), std::string::npos) << r.err;
}

TEST(Ch03, ReadOnlyRoot) {
    MINIDOCKER_REQUIRE_ROOT();
    TempDir dir;
    std::string rootfs = copy_rootfs(dir);
    Result r = runtime({"run", "--rootfs", rootfs, "--read-only", "--", "sh", "-c", "touch /x"});
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.err.find("Read-only file system"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(rootfs + "/x"));
    // /dev and /dev/shm are mounts of their own and stay writable.
    r = runtime({"run", "--rootfs", rootfs, "--read-only", "--", "sh", "-c",
                 "touch /dev/shm/x && touch /dev/x && echo ok > /dev/null && echo ok"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "ok\n");
    // Without --read-only the rootfs is writable.
    r = runtime({"run", "--rootfs", rootfs, "--", "touch", "/x"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(fs::exists(rootfs + "/x"));
}

TEST(Ch03, OnlyStdioReachesTheCommand) {
    MINIDOCKER_REQUIRE_ROOT();
    Result r = runtime({"run", "--rootfs", rootfs_path(), "--", "/probe", "fds"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "0 1 2\n");
    // Descriptors the runtime inherits (here 7 and 9, from a shell) stop too.
    std::string script = "exec 7</etc/hostname 9>/dev/null; " + binary() + " --root " + state_root() +
                         " run --rootfs " + rootfs_path() + " -- /probe fds";
    r = run({"sh", "-c", script});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "0 1 2\n");
    r = runtime({"run", "--rootfs", rootfs_path(), "--chroot", "--", "/probe", "fds"});
    EXPECT_EQ(r.out, "0 1 2\n") << r.err;
}

TEST(Ch03, DevicesWork) {
    MINIDOCKER_REQUIRE_ROOT();
    std::string script =
        "echo gone > /dev/null && head -c 7 /dev/zero | wc -c && head -c 16 /dev/urandom | wc -c && "
        "test -c /dev/null && test -c /dev/tty && test -c /dev/full && test -c /dev/random && "
        "test -d /dev/pts && test -c /dev/pts/ptmx && readlink /dev/ptmx && readlink /dev/fd && "
        "test -d /dev/shm && test -d /dev/mqueue && ls /dev/fd/ > /dev/null && echo done";
    Result r = runtime({"run", "--rootfs", rootfs_path(), "--", "sh", "-c", script});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "7\n16\npts/ptmx\n/proc/self/fd\ndone\n");
    r = runtime({"run", "--rootfs", rootfs_path(), "--", "sh", "-c", "echo x > /dev/full"});
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
}

TEST(Ch03, BadInputIsOneClearLine) {
    MINIDOCKER_REQUIRE_ROOT();
    TempDir dir;
    std::string file = dir.path() + "/file";
    std::ofstream(file) << "not a directory\n";
    struct Case {
        std::vector<std::string> args;
        int code;
        std::string says;
    };
    const std::vector<Case> cases = {
        {{"run", "--rootfs", dir.path() + "/missing", "--", "true"}, 125, "No such file or directory"},
        {{"run", "--rootfs", file, "--", "true"}, 125, "not a directory"},
        {{"run", "--rootfs", rootfs_path(), "--", "no-such-command"}, 127, "executable file not found in $PATH"},
        {{"run", "--rootfs", rootfs_path(), "--", "/no/such"}, 127, "No such file or directory"},
        {{"run", "--ns", "uts,pid", "--rootfs", rootfs_path(), "--", "true"}, 125, "mnt"},
        {{"run", "--chroot", "--", "true"}, 125, "--chroot"},
        {{"run", "--read-only", "--", "true"}, 125, "--read-only"},
    };
    std::string mounts = host_mounts();
    for (const Case& c : cases) {
        SCOPED_TRACE(c.args[1] + " " + c.args[2] + " ... " + c.args.back());
        Result r = runtime(c.args);
        EXPECT_EQ(r.code, c.code) << r.err;
        EXPECT_TRUE(one_line(r.err)) << r.err;
        EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
    }
    EXPECT_EQ(host_mounts(), mounts);
    // A relative rootfs is taken from the current directory.
    std::string relative = fs::relative(rootfs_path()).string();
    ASSERT_NE(relative[0], '/');
    Result r = runtime({"run", "--rootfs", relative, "--", "/probe", "fds"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "0 1 2\n");
}

TEST(Ch03, TraceShowsTheSwitchInOrder) {
    MINIDOCKER_REQUIRE_ROOT();
    std::vector<std::string> args = runtime_argv({"run", "--rootfs", rootfs_path(), "--", "true"});
    args.insert(args.begin() + 1, "--trace");
    Result r = run(args);
    ASSERT_EQ(r.code, 0) << r.err;
    std::string rootfs = fs::canonical(rootfs_path()).string();
    const std::vector<std::string> steps = {
        "[03 rootfs] mount(\"" + rootfs + "\", \"" + rootfs + "\", NULL, MS_BIND|MS_REC, NULL) = 0",
        "[03 rootfs] pivot_root(\".\", \".\") = 0",
        "[03 rootfs] umount2(\".\", MNT_DETACH) = 0",
        "[03 rootfs] mount(\"tmpfs\", \"/dev\", \"tmpfs\", MS_NOSUID|MS_STRICTATIME",
        "[03 rootfs] mount(\"devpts\", \"/dev/pts\", \"devpts\", MS_NOSUID|MS_NOEXEC",
        "[03 rootfs] mount(\"sysfs\", \"/sys\", \"sysfs\", MS_RDONLY|MS_NOSUID|MS_NODEV|MS_NOEXEC",
    };
    size_t at = 0;
    for (const std::string& step : steps) {
        size_t found = r.err.find(step, at);
        EXPECT_NE(found, std::string::npos) << "missing or out of order: " << step << "\n" << r.err;
        if (found != std::string::npos) {
            at = found;
        }
    }
    // --chroot says what it is.
    args = runtime_argv({"run", "--rootfs", rootfs_path(), "--chroot", "--", "true"});
    args.insert(args.begin() + 1, "--trace");
    r = run(args);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.err.find("[03 rootfs] chroot(\".\") = 0"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("INSECURE"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("pivot_root"), std::string::npos) << r.err;
}

TEST(Ch03, WithoutRootfsTheHostFilesAreSeen) {
    MINIDOCKER_REQUIRE_ROOT();
    // As in chapters 01 and 02: the host's files, and no /dev of our own.
    std::string mounts = host_mounts();
    Result r = runtime({"run", "--", "cat", "/etc/hostname"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, read_file("/etc/hostname"));
    EXPECT_EQ(host_mounts(), mounts);
}
