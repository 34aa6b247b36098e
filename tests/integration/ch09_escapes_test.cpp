// Chapter 09's escapes, proven from outside: what chapter 08's container
// root can do to the host, run harmlessly twice. First on chapter 08's
// program (bin/ch08, next to the binary under test), where it must succeed:
// the escape is real on this machine, not a test that would pass against
// anything. Then on the program under test (ch09, minidocker), where the
// same steps must fail with EPERM, EACCES or EROFS.
//
//   CorePatternWriteWorksOnCh08RefusedHere       remount /proc/sys rw, write core_pattern back
//   MemoryLimitLiftWorksOnCh08RefusedHere        mount the memory cgroup, write -1 into the limit
//   ClockRightWorksOnCh08RefusedHere             adjtimex(ADJ_STATUS) with the status it has
//   KmsgThroughMknodWorksOnCh08RefusedHere       mknod /tmp/k c 1 11, read one kernel log record
//   ReleaseAgentMountWorksOnCh08RefusedHere      CVE-2022-0492: mount -o blkio, open release_agent
//   ShockerWorksOnCh08RefusedHere                open_by_handle_at of a host file outside the volume
//   MountAndRemountWorkOnCh08RefusedHere         mount tmpfs, remount /sys rw
//   UserNamespaceAndKeyringWorkOnCh08RefusedHere unshare(CLONE_NEWUSER), add_key
//   HostNetInterfaceChangeWorksOnCh08RefusedHere ip link set lo up, in a namespace the test made
//   SetuidGainsRootUnlessNoNewPrivileges         (ch09 only) a setuid-root probe under --user 1000
//
// Harmless means: every write puts back the value already there (and an
// empty release_agent gets no byte at all), the memory limit lifted is the
// container's own, the key lives in the probe's process keyring, and the
// network interface changed is the loopback of a namespace the test made
// and deletes. The probe prints "WHAT ok" or "WHAT ERRNO" for each step.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "ch09_probe_output.hpp"
#include "harness.hpp"

namespace fs = std::filesystem;
using namespace minidocker::test;
using namespace minidocker::test::ch09;

namespace {

// A runtime program on a store of its own.
struct Program {
    std::string bin;
    std::string root;

    std::vector<std::string> argv(const std::vector<std::string>& args) const {
        std::vector<std::string> out = {bin, "--root", root};
        out.insert(out.end(), args.begin(), args.end());
        return out;
    }
    Result operator()(const std::vector<std::string>& args, double timeout = 60) const {
        return run(argv(args), "", timeout);
    }
    std::string name() const { return fs::path(bin).filename().string(); }
};

// Imports a copy of the test rootfs (busybox and /probe), plus `extra` files
// (path in the image -> mode, copied from the probe), as the image `name`.
void import_image(const Program& p, const std::string& name, const std::map<std::string, fs::perms>& extra = {}) {
    TempDir src;
    std::string dir = src.path() + "/rootfs";
    Result r = run({"cp", "-a", rootfs_path(), dir});
    ASSERT_EQ(r.code, 0) << r.err;
    for (const auto& [path, mode] : extra) {
        fs::copy_file(probe_path(), dir + path);
        // chmod(2), as permissions() would drop the setuid bit on some libraries.
        ASSERT_EQ(::chmod((dir + path).c_str(), static_cast<mode_t>(mode)), 0);
    }
    r = p({"import", dir, name});
    ASSERT_EQ(r.code, 0) << p.name() << " import: " << r.err;
}

pid_t init_pid(const Program& p, const std::string& name) {
    Result r = p({"inspect", "-f", "{{.State.Pid}}", name});
    EXPECT_EQ(r.code, 0) << r.err;
    return static_cast<pid_t>(std::atol(r.out.c_str()));
}

// The host's directory of the memory cgroup `pid` is in (from /proc/PID/cgroup).
std::string memory_cgroup_of(pid_t pid) {
    for (const std::string& line : lines(read_file("/proc/" + std::to_string(pid) + "/cgroup"))) {
        size_t colon = line.find(':');
        if (colon != std::string::npos && line.compare(colon, 8, ":memory:") == 0) {
            return "/sys/fs/cgroup/memory" + line.substr(colon + 8);
        }
    }
    return "";
}

// A named network namespace of the test's own, deleted even when the test
// fails; the runtime runs in it through nsenter (ip netns exec would also
// remount /sys, hiding the cgroup hierarchies the runtime needs).
class TestNetns {
public:
    explicit TestNetns(const std::string& tag) : name_("md9-" + tag + "-" + std::to_string(::getpid())) {
        run({"ip", "netns", "del", name_});  // a leftover of a killed run
        created_ = run({"ip", "netns", "add", name_}).code == 0;
    }
    ~TestNetns() {
        if (created_) {
            run({"ip", "netns", "del", name_});
        }
    }
    TestNetns(const TestNetns&) = delete;
    TestNetns& operator=(const TestNetns&) = delete;
    bool created() const { return created_; }
    std::vector<std::string> enter() const { return {"nsenter", "--net=/run/netns/" + name_}; }
    // `ip -o link show lo` in the namespace, as the host sees it.
    std::string lo() const { return run({"ip", "netns", "exec", name_, "ip", "-o", "link", "show", "lo"}).out; }
    // True when lo's flags ("<LOOPBACK,UP,LOWER_UP>") hold UP.
    bool lo_up() const {
        std::string s = lo();
        size_t b = s.find('<'), e = s.find('>');
        std::string flags = b != std::string::npos && e > b ? "," + s.substr(b + 1, e - b - 1) + "," : "";
        return contains(flags, ",UP,");
    }

private:
    std::string name_;
    bool created_ = false;
};

// The marker files of the shocker test, and the handle of the one outside.
struct Handle {
    int type = 0;
    std::string hex;
};

Handle handle_of(const std::string& path) {
    std::vector<unsigned char> storage(sizeof(file_handle) + MAX_HANDLE_SZ);
    auto* h = reinterpret_cast<file_handle*>(storage.data());
    h->handle_bytes = MAX_HANDLE_SZ;
    int mount_id = 0;
    Handle out;
    if (::name_to_handle_at(AT_FDCWD, path.c_str(), h, &mount_id, 0) != 0) {
        ADD_FAILURE() << "name_to_handle_at " << path << ": " << std::strerror(errno);
        return out;
    }
    out.type = h->handle_type;
    for (unsigned i = 0; i < h->handle_bytes; ++i) {
        char byte[3];
        std::snprintf(byte, sizeof byte, "%02x", h->f_handle[i]);
        out.hex += byte;
    }
    return out;
}

// Chapter 08's program (bin/ch08, next to the binary under test) on a store
// of its own, and the program under test on the harness's store, both with
// the probe image `p`. Chapter 08's containers are removed on destruction
// (the harness removes those of the program under test).
struct BothPrograms {
    TempDir ch08_store;
    Program ch08;
    Program here;

    void init() {
        ch08 = {(fs::path(binary()).parent_path() / "ch08").string(), ch08_store.path()};
        here = {binary(), state_root()};
        ASSERT_TRUE(fs::exists(ch08.bin)) << "chapter 08's program should sit next to " << binary();
        ASSERT_NO_FATAL_FAILURE(import_image(ch08, "p"));
        ASSERT_NO_FATAL_FAILURE(import_image(here, "p"));
    }
    ~BothPrograms() {
        for (const std::string& id : names_in(ch08_store.path() + "/containers")) {
            ch08({"rm", "-f", id}, 20);
        }
    }
};

}  // namespace

// The first example: remount /proc/sys read-write and write
// kernel.core_pattern (host-wide: "|/path" would run a host program as
// root). The value written is the one already there.
TEST(Ch09, CorePatternWriteWorksOnCh08RefusedHere) {
    MINIDOCKER_REQUIRE_ROOT();
    BothPrograms both;
    ASSERT_NO_FATAL_FAILURE(both.init());
    const Program& ch08 = both.ch08;
    const Program& here = both.here;
    const std::string before = read_file("/proc/sys/kernel/core_pattern");
    const std::string script =
        "mount -o remount,rw /proc/sys && cat /proc/sys/kernel/core_pattern > /proc/sys/kernel/core_pattern && "
        "echo wrote; /probe remount-rw /proc/sys; /probe rewrite /proc/sys/kernel/core_pattern";

    Result r = ch08({"run", "--rm", "p", "sh", "-c", script});
    EXPECT_TRUE(contains(r.out, "wrote\n")) << shown(r);
    EXPECT_EQ(step(r, "remount"), "remount ok") << shown(r);
    EXPECT_EQ(step(r, "rewrite").rfind("rewrite ok ", 0), 0u) << shown(r);

    r = here({"run", "--rm", "p", "sh", "-c", script});
    EXPECT_FALSE(contains(r.out, "wrote")) << shown(r);
    EXPECT_TRUE(refused(step(r, "remount"))) << shown(r);
    EXPECT_TRUE(refused(step(r, "rewrite"))) << shown(r);
    EXPECT_EQ(read_file("/proc/sys/kernel/core_pattern"), before);
}

// A container started with -m 64m mounts the memory hierarchy (its cgroup
// namespace makes its own cgroup the mount's root) and writes -1 into its
// own limits; the host sees the limit gone from the container's cgroup.
TEST(Ch09, MemoryLimitLiftWorksOnCh08RefusedHere) {
    MINIDOCKER_REQUIRE_ROOT();
    BothPrograms both;
    ASSERT_NO_FATAL_FAILURE(both.init());
    const Program& ch08 = both.ch08;
    const Program& here = both.here;
    const std::string script =
        "mkdir -p /mnt; /probe mount cgroup cgroup /mnt memory; /probe write /mnt/memory.memsw.limit_in_bytes -1; "
        "/probe write /mnt/memory.limit_in_bytes -1";
    const std::string limit = std::to_string(64 << 20) + "\n";
    for (const Program* p : {&ch08, &here}) {
        SCOPED_TRACE(p->name());
        Result r = (*p)({"run", "-d", "--name", "m", "-m", "64m", "p", "sleep", "60"});
        ASSERT_EQ(r.code, 0) << shown(r);
        std::string dir = memory_cgroup_of(init_pid(*p, "m"));
        ASSERT_TRUE(contains(dir, "/minidocker/")) << "memory cgroup: " << dir;
        ASSERT_EQ(read_file(dir + "/memory.limit_in_bytes"), limit);

        r = (*p)({"exec", "m", "sh", "-c", script});
        std::string after = read_file(dir + "/memory.limit_in_bytes");
        if (p == &ch08) {
            EXPECT_EQ(step(r, "mount"), "mount ok") << shown(r);
            EXPECT_NE(after, limit) << "ch08's container should have lifted its limit\n" << shown(r);
        } else {
            EXPECT_TRUE(refused(step(r, "mount"))) << shown(r);
            EXPECT_EQ(after, limit) << shown(r);
        }
        (*p)({"rm", "-f", "m"});
    }
}

// Setting the clock needs CAP_SYS_TIME; the probe asks for it by setting the
// NTP status to the value it has (the clock does not move).
TEST(Ch09, ClockRightWorksOnCh08RefusedHere) {
    MINIDOCKER_REQUIRE_ROOT();
    BothPrograms both;
    ASSERT_NO_FATAL_FAILURE(both.init());
    const Program& ch08 = both.ch08;
    const Program& here = both.here;
    Result r = ch08({"run", "--rm", "p", "/probe", "adjtimex"});
    EXPECT_EQ(step(r, "adjtimex"), "adjtimex ok") << shown(r);

    r = here({"run", "--rm", "p", "/probe", "adjtimex"});
    EXPECT_TRUE(refused(step(r, "adjtimex"))) << shown(r);
}

// /dev/kmsg (character device 1:11) is not in the container's /dev, but
// mknod may make it; on ch08 the devices cgroup lets the read through, on
// the program under test mknod works and the open is refused.
TEST(Ch09, KmsgThroughMknodWorksOnCh08RefusedHere) {
    MINIDOCKER_REQUIRE_ROOT();
    BothPrograms both;
    ASSERT_NO_FATAL_FAILURE(both.init());
    const Program& ch08 = both.ch08;
    const Program& here = both.here;
    const std::string script = "mknod /tmp/k c 1 11 && echo mknod ok; /probe read-nonblock /tmp/k";
    Result r = ch08({"run", "--rm", "p", "sh", "-c", script});
    EXPECT_EQ(step(r, "mknod"), "mknod ok") << shown(r);
    EXPECT_EQ(step(r, "read").rfind("read ok ", 0), 0u) << shown(r);

    r = here({"run", "--rm", "p", "sh", "-c", script});
    EXPECT_EQ(step(r, "mknod"), "mknod ok") << "Docker lets mknod of any device through\n" << shown(r);
    EXPECT_TRUE(refused(step(r, "read"))) << shown(r);
    // With kernel.dmesg_restrict=1 reading the log also needs CAP_SYSLOG,
    // which the container has not got either. Given it back, the device
    // rules alone must refuse.
    r = here({"run", "--rm", "--cap-add", "SYSLOG", "p", "sh", "-c", script});
    EXPECT_EQ(step(r, "mknod"), "mknod ok") << shown(r);
    EXPECT_TRUE(refused(step(r, "read"))) << "refused by the device rules alone\n" << shown(r);
}

// CVE-2022-0492: the container sits in the root cgroup of the blkio
// hierarchy, so a cgroup mount of it shows the root's release_agent, a
// program the kernel runs on the host as root. The test only opens it for
// writing and writes back what it holds (nothing, when it is empty); it
// never touches notify_on_release.
TEST(Ch09, ReleaseAgentMountWorksOnCh08RefusedHere) {
    MINIDOCKER_REQUIRE_ROOT();
    BothPrograms both;
    ASSERT_NO_FATAL_FAILURE(both.init());
    const Program& ch08 = both.ch08;
    const Program& here = both.here;
    const std::string agent = "/sys/fs/cgroup/blkio/release_agent";
    const std::string before = read_file(agent);
    const std::string script =
        "mkdir -p /mnt; /probe mount cgroup cgroup /mnt blkio && test -f /mnt/release_agent && echo agent ok; "
        "/probe rewrite /mnt/release_agent";

    Result r = ch08({"run", "--rm", "p", "sh", "-c", script});
    EXPECT_EQ(step(r, "mount"), "mount ok") << shown(r);
    EXPECT_EQ(step(r, "agent"), "agent ok") << "the mount should show the hierarchy's root\n" << shown(r);
    EXPECT_EQ(step(r, "rewrite").rfind("rewrite ok ", 0), 0u) << shown(r);

    r = here({"run", "--rm", "p", "sh", "-c", script});
    EXPECT_TRUE(refused(step(r, "mount"))) << shown(r);
    EXPECT_EQ(step(r, "agent"), "") << shown(r);
    EXPECT_EQ(read_file(agent), before);
}

// "Shocker": a volume is a bind mount of a host directory, and a handle
// names any file of that filesystem; open_by_handle_at through the volume
// reaches a host file outside it (and outside the container's root).
TEST(Ch09, ShockerWorksOnCh08RefusedHere) {
    MINIDOCKER_REQUIRE_ROOT();
    BothPrograms both;
    ASSERT_NO_FATAL_FAILURE(both.init());
    const Program& ch08 = both.ch08;
    const Program& here = both.here;
    TempDir host;
    fs::create_directory(host.path() + "/volume");
    std::ofstream(host.path() + "/volume/inside") << "inside the volume\n";
    const std::string secret = "outside-marker-" + std::to_string(::getpid());
    std::ofstream(host.path() + "/outside") << secret << "\n";
    Handle h = handle_of(host.path() + "/outside");
    ASSERT_FALSE(h.hex.empty());
    const std::vector<std::string> args = {"run",    "--rm",      "-v",    host.path() + "/volume:/data", "p",
                                           "/probe", "by-handle", "/data", std::to_string(h.type),        h.hex};

    Result r = ch08(args);
    EXPECT_EQ(step(r, "open_by_handle_at"), "open_by_handle_at ok") << shown(r);
    EXPECT_TRUE(contains(r.out, secret)) << shown(r);

    r = here(args);
    EXPECT_TRUE(refused(step(r, "open_by_handle_at"))) << shown(r);
    EXPECT_FALSE(contains(r.out, secret)) << shown(r);
}

// mount(2): a new tmpfs, and /sys (read-only in the container) remounted
// read-write.
TEST(Ch09, MountAndRemountWorkOnCh08RefusedHere) {
    MINIDOCKER_REQUIRE_ROOT();
    BothPrograms both;
    ASSERT_NO_FATAL_FAILURE(both.init());
    const Program& ch08 = both.ch08;
    const Program& here = both.here;
    const std::string script = "mkdir -p /mnt; /probe mount tmpfs none /mnt; /probe remount-rw /sys";
    Result r = ch08({"run", "--rm", "p", "sh", "-c", script});
    EXPECT_EQ(step(r, "mount"), "mount ok") << shown(r);
    EXPECT_EQ(step(r, "remount"), "remount ok") << shown(r);

    r = here({"run", "--rm", "p", "sh", "-c", script});
    EXPECT_TRUE(refused(step(r, "mount"))) << shown(r);
    EXPECT_TRUE(refused(step(r, "remount"))) << shown(r);
}

// A user namespace (where the container's root would get a full set of
// capabilities again, over the kernel's user-namespace attack surface) and
// a keyring entry (the kernel keyring is not namespaced).
TEST(Ch09, UserNamespaceAndKeyringWorkOnCh08RefusedHere) {
    MINIDOCKER_REQUIRE_ROOT();
    BothPrograms both;
    ASSERT_NO_FATAL_FAILURE(both.init());
    const Program& ch08 = both.ch08;
    const Program& here = both.here;
    const std::string script = "/probe unshare-user; /probe add-key; unshare -U true && echo unshare-cmd ok";
    Result r = ch08({"run", "--rm", "p", "sh", "-c", script});
    EXPECT_EQ(step(r, "unshare"), "unshare ok") << shown(r);
    EXPECT_EQ(step(r, "add_key"), "add_key ok") << shown(r);
    EXPECT_EQ(step(r, "unshare-cmd"), "unshare-cmd ok") << shown(r);

    r = here({"run", "--rm", "p", "sh", "-c", script});
    EXPECT_TRUE(refused(step(r, "unshare"))) << shown(r);
    EXPECT_TRUE(refused(step(r, "add_key"))) << shown(r);
    EXPECT_EQ(step(r, "unshare-cmd"), "") << shown(r);
}

// --net host: the container shares the network namespace the runtime runs
// in. The runtime runs in a namespace the test made (never the machine's
// own), whose lo is down; a container that may bring it up changes the
// host's network.
TEST(Ch09, HostNetInterfaceChangeWorksOnCh08RefusedHere) {
    MINIDOCKER_REQUIRE_ROOT();
    BothPrograms both;
    ASSERT_NO_FATAL_FAILURE(both.init());
    const Program& ch08 = both.ch08;
    const Program& here = both.here;
    const std::string script = "ip link set lo up && echo link ok";
    for (const Program* p : {&ch08, &here}) {
        SCOPED_TRACE(p->name());
        TestNetns ns(p == &ch08 ? "ch08" : "here");
        ASSERT_TRUE(ns.created());
        ASSERT_FALSE(ns.lo_up()) << ns.lo();
        std::vector<std::string> argv = ns.enter();
        for (const std::string& a : p->argv({"run", "--rm", "--net", "host", "p", "sh", "-c", script})) {
            argv.push_back(a);
        }
        Result r = run(argv);
        if (p == &ch08) {
            EXPECT_EQ(step(r, "link"), "link ok") << shown(r);
            EXPECT_TRUE(ns.lo_up()) << ns.lo();
        } else {
            EXPECT_EQ(step(r, "link"), "") << shown(r);
            EXPECT_TRUE(contains(r.out + r.err, "Operation not permitted")) << shown(r);
            EXPECT_FALSE(ns.lo_up()) << ns.lo();
        }
    }
}

// A setuid-root program run by a non-root user becomes root (with the
// bounding set's capabilities) unless no-new-privileges is set: then execve
// keeps the caller's uid. Chapter 08 has no --user: this half is ch09's.
TEST(Ch09, SetuidGainsRootUnlessNoNewPrivileges) {
    MINIDOCKER_REQUIRE_ROOT();
    const Program here = {binary(), state_root()};
    ASSERT_NO_FATAL_FAILURE(import_image(here, "s", {{"/suid", fs::perms(04755)}}));
    Result r = here({"run", "--rm", "--user", "1000", "s", "/suid", "ids"});
    EXPECT_EQ(r.code, 0) << shown(r);
    EXPECT_EQ(r.out.rfind("uid 1000 euid 0 ", 0), 0u) << shown(r);

    r = here({"run", "--rm", "--user", "1000", "--security-opt", "no-new-privileges", "s", "sh", "-c",
              "/suid ids; grep NoNewPrivs /proc/self/status"});
    EXPECT_EQ(r.code, 0) << shown(r);
    EXPECT_EQ(r.out.rfind("uid 1000 euid 1000 ", 0), 0u) << shown(r);
    EXPECT_TRUE(contains(r.out, "NoNewPrivs:\t1")) << shown(r);
}
