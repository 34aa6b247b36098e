// Unit tests for common/doctor.hpp: each check of `chNN doctor`, run on a
// fake /proc and /sys tree in a temp dir (Machine::root), so that every kind
// of machine (cgroup v2, hybrid, legacy v1, an initramfs root, a Docker
// container's overlay root...) can be tried on this one. No root needed.
#include <elf.h>
#include <gtest/gtest.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "doctor.hpp"
#include "unit.hpp"

namespace fs = std::filesystem;
using namespace minidocker;

namespace {

using unit::contains;
using unit::TempDir;

// The checks, in the order examine() runs them (the chapters that need them).
const std::vector<std::string> kChecks = {"root",       "namespaces", "cgroups",    "propagation",
                                          "pivot_root", "overlay",    "state root", "busybox"};

// Real mountinfo lines (proc(5)): ID PARENT MAJ:MIN ROOT POINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER_OPTIONS.
// The base of every fake machine: / (private: no optional field), /proc, /sys.
const std::string kBase =
    "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard\n"
    "22 27 0:21 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n"
    "23 27 0:22 / /sys rw,nosuid,nodev,noexec,relatime - sysfs sysfs rw\n";

// Debian 12, Fedora, Ubuntu 22.04: one cgroup2 tree at /sys/fs/cgroup.
const std::string kV2 =
    "26 23 0:24 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n";

// systemd's hybrid layout (Ubuntu 20.04; this course's machine): v1
// controllers in a tmpfs, and an empty cgroup2 tree at unified/.
const std::string kHybridTop =
    "31 23 0:28 / /sys/fs/cgroup ro,nosuid,nodev,noexec - tmpfs tmpfs ro,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate\n"
    "33 31 0:30 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,xattr,name=systemd\n";
const std::string kLegacyTop =
    "31 23 0:28 / /sys/fs/cgroup ro,nosuid,nodev,noexec - tmpfs tmpfs ro,mode=755\n"
    "33 31 0:30 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,xattr,name=systemd\n";
const std::string kV1Memory =
    "35 31 0:32 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,memory\n";
const std::string kV1CpuCpuacct =
    "36 31 0:33 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,cpu,cpuacct\n";
const std::string kV1Cpuset =
    "37 31 0:34 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,cpuset\n";
const std::string kV1Pids =
    "38 31 0:35 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,pids\n";
const std::string kV1Freezer =
    "39 31 0:36 / /sys/fs/cgroup/freezer rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,freezer\n";

// /proc/filesystems: "nodev" or nothing, a tab, the name.
const std::string kFilesystemsWithoutOverlay =
    "nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\nnodev\tcgroup\nnodev\tcgroup2\nnodev\tdevpts\n\text3\n\text2\n\text4\n";
const std::string kFilesystems = kFilesystemsWithoutOverlay + "nodev\toverlay\n";

const std::string kAllControllers = "cpuset cpu io memory hugetlb pids rdma misc\n";

// A minimal 64-bit ELF program: a header and its program headers (PT_LOAD,
// then PT_INTERP naming the dynamic loader when `dynamic`). `phnum_claimed`
// lets the header promise more program headers than the file holds.
std::string make_elf(bool dynamic, unsigned char elf_class = ELFCLASS64, int phnum_claimed = -1) {
    Elf64_Ehdr eh{};
    std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = elf_class;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = ET_EXEC;
    eh.e_machine = EM_X86_64;
    eh.e_version = EV_CURRENT;
    eh.e_phoff = sizeof eh;
    eh.e_ehsize = sizeof eh;
    eh.e_phentsize = sizeof(Elf64_Phdr);
    std::vector<Elf64_Phdr> ph(1);
    ph[0].p_type = PT_LOAD;
    const std::string interp = "/lib64/ld-linux-x86-64.so.2";
    if (dynamic) {
        Elf64_Phdr in{};
        in.p_type = PT_INTERP;
        in.p_offset = sizeof eh + 2 * sizeof(Elf64_Phdr);
        in.p_filesz = interp.size() + 1;
        ph.push_back(in);
    }
    eh.e_phnum = static_cast<Elf64_Half>(phnum_claimed >= 0 ? phnum_claimed : static_cast<int>(ph.size()));
    std::string out(reinterpret_cast<const char*>(&eh), sizeof eh);
    out.append(reinterpret_cast<const char*>(ph.data()), ph.size() * sizeof(Elf64_Phdr));
    if (dynamic) {
        out.append(interp.c_str(), interp.size() + 1);
    }
    return out;
}

// A fake machine below a temp dir: by default a healthy cgroup v2 host, with
// a static busybox and the state root on ext4.
class FakeMachine {
public:
    FakeMachine() {
        set_mountinfo(kBase + kV2);
        write("proc/filesystems", kFilesystems);
        for (const char* kind : {"cgroup", "ipc", "mnt", "net", "pid", "uts"}) {
            // As in the real /proc: a symlink to "kind:[inode]", which is not
            // a path (only lstat() sees it).
            fs::create_directories(dir_ / "proc/self/ns");
            fs::create_symlink(std::string(kind) + ":[4026531835]", dir_ / ("proc/self/ns/" + std::string(kind)));
        }
        write("sys/fs/cgroup/cgroup.controllers", kAllControllers);
        write("bin/busybox", make_elf(false));
        machine_.root = dir_.path();
        machine_.euid = 0;
        machine_.state_root = "/var/lib/minidocker";
        machine_.busybox = dir_ / "bin/busybox";
    }

    // Writes a file below the fake root, making its directories.
    void write(const std::string& rel, const std::string& text) {
        std::string path = dir_ / rel;
        fs::create_directories(fs::path(path).parent_path());
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out << text;
        ASSERT_TRUE(out.good()) << path;
    }
    void remove(const std::string& rel) { ASSERT_TRUE(fs::remove(dir_ / rel)) << rel; }
    void set_mountinfo(const std::string& text) { write("proc/self/mountinfo", text); }

    Machine& machine() { return machine_; }
    std::string path(const std::string& rel) const { return dir_ / rel; }

    // The finding of one check (all eight run, as examine() always does).
    Finding check(const std::string& name) const {
        std::vector<Finding> all = examine(machine_);
        for (const Finding& f : all) {
            if (f.check == name) {
                return f;
            }
        }
        ADD_FAILURE() << "no check named " << name;
        return {};
    }

private:
    TempDir dir_;
    Machine machine_;
};

const char* verdict_name(Verdict v) { return v == Verdict::ok ? "ok" : v == Verdict::warn ? "warn" : "FAIL"; }

std::string describe(const Finding& f) {
    return std::string(verdict_name(f.verdict)) + " " + f.check + ": " + f.found + (f.fix.empty() ? "" : " | fix: ") +
           f.fix;
}

// What report() prints, and what it returns.
struct Printed {
    int code = -1;
    std::string text;
};

Printed print(const std::vector<Finding>& findings) {
    char* buf = nullptr;
    size_t size = 0;
    std::FILE* out = ::open_memstream(&buf, &size);
    Printed p;
    p.code = report(findings, out);
    std::fclose(out);
    p.text.assign(buf, size);
    std::free(buf);
    return p;
}

// Is `path` dynamically linked, by a test of its own (not is_static_elf()):
// the dynamic loader's name is in the first page of every such program.
bool names_a_loader(const std::string& path) {
    std::string head = unit::read_file(path).substr(0, 4096);
    return contains(head, "/ld-linux") || contains(head, "/ld-musl") || contains(head, "/ld64.so");
}

// The probe the integration tests use: built with -static (tests/CMakeLists.txt),
// next to this test program in build/bin.
std::string probe_next_to_me() {
    std::error_code ec;
    fs::path me = fs::read_symlink("/proc/self/exe", ec);
    for (const fs::path& p : {me.parent_path() / "probe", me.parent_path().parent_path() / "bin/probe"}) {
        if (fs::is_regular_file(p, ec)) {
            return p.string();
        }
    }
    return "";
}

}  // namespace

TEST(Doctor, HealthyV2MachinePassesEveryCheckInChapterOrder) {
    FakeMachine fake;
    std::vector<Finding> findings = examine(fake.machine());
    ASSERT_EQ(findings.size(), kChecks.size());
    for (size_t i = 0; i < findings.size(); ++i) {
        EXPECT_EQ(findings[i].check, kChecks[i]);
        EXPECT_EQ(findings[i].verdict, Verdict::ok) << describe(findings[i]);
        EXPECT_EQ(findings[i].fix, "") << describe(findings[i]);
        EXPECT_FALSE(findings[i].found.empty()) << findings[i].check;
    }
    EXPECT_TRUE(contains(findings[2].found, "cgroup v2")) << describe(findings[2]);
    EXPECT_TRUE(contains(findings[2].found, "/sys/fs/cgroup")) << describe(findings[2]);
    Printed p = print(findings);
    EXPECT_EQ(p.code, 0);
    EXPECT_TRUE(contains(p.text, "all 8 checks passed\n")) << p.text;
    EXPECT_FALSE(contains(p.text, "fix:")) << p.text;
}

TEST(Doctor, V2WithoutAControllerFailsAndSaysSubtreeControl) {
    FakeMachine fake;
    fake.write("sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory hugetlb rdma misc\n");
    Finding f = fake.check("cgroups");
    EXPECT_EQ(f.verdict, Verdict::fail) << describe(f);
    EXPECT_TRUE(contains(f.found, "pids")) << describe(f);
    EXPECT_FALSE(contains(f.found, "memory")) << describe(f);
    EXPECT_TRUE(contains(f.fix, "cgroup.subtree_control")) << describe(f);

    // Whole words: "cpuset" is not "cpu".
    fake.write("sys/fs/cgroup/cgroup.controllers", "cpuset io memory pids\n");
    f = fake.check("cgroups");
    EXPECT_EQ(f.verdict, Verdict::fail) << describe(f);
    EXPECT_TRUE(contains(f.found, " cpu")) << describe(f);

    // No cgroup.controllers at all: none of the three.
    fake.remove("sys/fs/cgroup/cgroup.controllers");
    f = fake.check("cgroups");
    EXPECT_EQ(f.verdict, Verdict::fail) << describe(f);
    EXPECT_TRUE(contains(f.found, "memory cpu pids")) << describe(f);
    EXPECT_TRUE(contains(f.fix, "cgroup.subtree_control")) << describe(f);
}

TEST(Doctor, HybridIsOkAndSaysHybrid) {
    FakeMachine fake;
    // cgroup.controllers of the empty v2 tree is never read.
    fake.remove("sys/fs/cgroup/cgroup.controllers");
    // As on this course's machine: cpu and cpuacct apart.
    fake.set_mountinfo(kBase + kHybridTop +
                       "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
                       "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n" +
                       kV1Cpuset + kV1Memory + kV1Freezer + kV1Pids);
    Finding f = fake.check("cgroups");
    EXPECT_EQ(f.verdict, Verdict::ok) << describe(f);
    EXPECT_TRUE(contains(f.found, "hybrid")) << describe(f);
    EXPECT_TRUE(contains(f.found, "/sys/fs/cgroup/unified")) << describe(f);
    EXPECT_EQ(f.fix, "");

    // As on Ubuntu 20.04: cpu and cpuacct in one hierarchy, "cpu,cpuacct".
    fake.set_mountinfo(kBase + kHybridTop + kV1Memory + kV1CpuCpuacct + kV1Pids + kV1Freezer);
    f = fake.check("cgroups");
    EXPECT_EQ(f.verdict, Verdict::ok) << describe(f);
    EXPECT_TRUE(contains(f.found, "hybrid")) << describe(f);
}

TEST(Doctor, LegacyV1WithoutFreezerWarns) {
    FakeMachine fake;
    fake.set_mountinfo(kBase + kLegacyTop + kV1Memory + kV1CpuCpuacct + kV1Pids);
    std::vector<Finding> findings = examine(fake.machine());
    const Finding& f = findings[2];
    ASSERT_EQ(f.check, "cgroups");
    EXPECT_EQ(f.verdict, Verdict::warn) << describe(f);
    EXPECT_TRUE(contains(f.found, "cgroup v1 (legacy)")) << describe(f);
    EXPECT_FALSE(contains(f.found, "hybrid")) << describe(f);
    EXPECT_TRUE(contains(f.found, "freezer")) << describe(f);
    EXPECT_TRUE(contains(f.fix, "--pause=false")) << describe(f);
    // A warning alone does not fail the run.
    Printed p = print(findings);
    EXPECT_EQ(p.code, 0) << p.text;
    EXPECT_TRUE(contains(p.text, "0 of 8 checks failed, 1 warned\n")) << p.text;

    // With the freezer, legacy v1 is fine.
    fake.set_mountinfo(kBase + kLegacyTop + kV1Memory + kV1CpuCpuacct + kV1Pids + kV1Freezer);
    Finding with = fake.check("cgroups");
    EXPECT_EQ(with.verdict, Verdict::ok) << describe(with);
    EXPECT_TRUE(contains(with.found, "cgroup v1 (legacy)")) << describe(with);
}

TEST(Doctor, V1WithoutAControllerFails) {
    FakeMachine fake;
    // cpuset is mounted, but no hierarchy has cpu; nor pids.
    fake.set_mountinfo(kBase + kLegacyTop + kV1Memory + kV1Cpuset + kV1Freezer);
    Finding f = fake.check("cgroups");
    EXPECT_EQ(f.verdict, Verdict::fail) << describe(f);
    EXPECT_TRUE(contains(f.found, "cpu pids")) << describe(f);
    EXPECT_FALSE(contains(f.found, "memory")) << describe(f);
    EXPECT_TRUE(contains(f.fix, "mount -t cgroup")) << describe(f);
}

TEST(Doctor, NoCgroupMountFails) {
    FakeMachine fake;
    fake.set_mountinfo(kBase);
    Finding f = fake.check("cgroups");
    EXPECT_EQ(f.verdict, Verdict::fail) << describe(f);
    EXPECT_TRUE(contains(f.found, "no cgroup")) << describe(f);
    EXPECT_TRUE(contains(f.fix, "mount -t cgroup2")) << describe(f);

    // An empty tmpfs where the hierarchies would be is no better.
    fake.set_mountinfo(kBase + "31 23 0:28 / /sys/fs/cgroup rw,nosuid - tmpfs tmpfs rw,mode=755\n");
    f = fake.check("cgroups");
    EXPECT_EQ(f.verdict, Verdict::fail) << describe(f);
    EXPECT_TRUE(contains(f.fix, "mount -t cgroup2")) << describe(f);

    // A cgroup2 somewhere else is not the v2 tree at /sys/fs/cgroup.
    fake.set_mountinfo(kBase + "40 27 0:40 / /mnt/cg rw,relatime - cgroup2 cgroup2 rw\n");
    f = fake.check("cgroups");
    EXPECT_EQ(f.verdict, Verdict::fail) << describe(f);
}

TEST(Doctor, PropagationOfRootIsReportedNeverFailed) {
    FakeMachine fake;
    // systemd's default: / carries the optional field shared:1.
    fake.set_mountinfo("27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard\n" + kV2);
    Finding f = fake.check("propagation");
    EXPECT_EQ(f.verdict, Verdict::ok) << describe(f);
    EXPECT_TRUE(contains(f.found, "/ is shared")) << describe(f);

    // Two optional fields (shared with peers and a slave of a master).
    fake.set_mountinfo("27 1 254:0 / / rw,relatime shared:1 master:3 - ext4 /dev/vda rw\n" + kV2);
    f = fake.check("propagation");
    EXPECT_EQ(f.verdict, Verdict::ok) << describe(f);
    EXPECT_TRUE(contains(f.found, "/ is shared")) << describe(f);
    // ... and the type is still read after them.
    EXPECT_TRUE(contains(fake.check("pivot_root").found, "/ is ext4")) << describe(fake.check("pivot_root"));

    // No optional field: private (or a slave, which is not shared either).
    fake.set_mountinfo(kBase + kV2);
    f = fake.check("propagation");
    EXPECT_EQ(f.verdict, Verdict::ok) << describe(f);
    EXPECT_TRUE(contains(f.found, "/ is not shared")) << describe(f);

    // Only a later mount on / counts: it hides the one below.
    fake.set_mountinfo(kBase + kV2 + "50 27 0:50 / / rw,relatime shared:7 - ext4 /dev/vdb rw\n");
    EXPECT_TRUE(contains(fake.check("propagation").found, "/ is shared")) << describe(fake.check("propagation"));
}

TEST(Doctor, InitramfsRootFailsPivotRootWithEinval) {
    FakeMachine fake;
    fake.set_mountinfo("1 1 0:2 / / rw - rootfs rootfs rw,size=4008112k,nr_inodes=1002028\n" + kV2);
    Finding f = fake.check("pivot_root");
    EXPECT_EQ(f.verdict, Verdict::fail) << describe(f);
    EXPECT_TRUE(contains(f.found, "EINVAL")) << describe(f);
    EXPECT_TRUE(contains(f.found, "rootfs")) << describe(f);
    EXPECT_FALSE(f.fix.empty());

    // A disk root, or an overlay one (a container's), can be moved.
    fake.set_mountinfo(kBase + kV2);
    f = fake.check("pivot_root");
    EXPECT_EQ(f.verdict, Verdict::ok) << describe(f);
    EXPECT_TRUE(contains(f.found, "/ is ext4")) << describe(f);
}

TEST(Doctor, OverlayMissingFromFilesystemsWarns) {
    FakeMachine fake;
    fake.write("proc/filesystems", kFilesystemsWithoutOverlay);
    std::vector<Finding> findings = examine(fake.machine());
    const Finding& f = findings[5];
    ASSERT_EQ(f.check, "overlay");
    EXPECT_EQ(f.verdict, Verdict::warn) << describe(f);
    EXPECT_TRUE(contains(f.fix, "modprobe overlay")) << describe(f);
    EXPECT_EQ(print(findings).code, 0);

    // Loaded: the line "nodev<TAB>overlay", wherever it is.
    fake.write("proc/filesystems", "nodev\toverlay\n" + kFilesystemsWithoutOverlay);
    EXPECT_EQ(fake.check("overlay").verdict, Verdict::ok) << describe(fake.check("overlay"));
}

TEST(Doctor, StateRootOnOverlayFailsAndNamesMinidockerRoot) {
    FakeMachine fake;
    // Inside a Docker container's layer (or below it): the lower mount point
    // is a prefix of the state root.
    const std::string merged = "/var/lib/docker/overlay2/0a1b2c/merged";
    fake.set_mountinfo(kBase + kV2 + "60 27 0:60 / " + merged +
                       " rw,relatime - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/ABC,"
                       "upperdir=/var/lib/docker/overlay2/0a1b2c/diff,workdir=/var/lib/docker/overlay2/0a1b2c/work\n" +
                       "61 60 0:61 / " + merged + "/scratch rw,relatime - tmpfs tmpfs rw\n");
    for (const std::string& root : {merged + "/var/lib/minidocker", merged, merged + "/not/made/yet"}) {
        SCOPED_TRACE(root);
        fake.machine().state_root = root;
        Finding f = fake.check("state root");
        EXPECT_EQ(f.verdict, Verdict::fail) << describe(f);
        EXPECT_TRUE(contains(f.found, root + " is on overlay")) << describe(f);
        EXPECT_TRUE(contains(f.fix, "MINIDOCKER_ROOT")) << describe(f);
    }
    // Not below it: a sibling whose name merely starts the same, the tmpfs
    // mounted inside the overlay (the longest mount point wins), elsewhere.
    for (const auto& [root, fstype] : std::vector<std::pair<std::string, std::string>>{
             {merged + "2/md", "ext4"}, {merged + "/scratch/md", "tmpfs"}, {"/var/lib/minidocker", "ext4"}}) {
        SCOPED_TRACE(root);
        fake.machine().state_root = root;
        Finding f = fake.check("state root");
        EXPECT_EQ(f.verdict, Verdict::ok) << describe(f);
        EXPECT_TRUE(contains(f.found, root + " is on " + fstype)) << describe(f);
    }

    // Inside a container, / itself is overlay: the default state root fails.
    fake.set_mountinfo("600 500 0:60 / / rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w\n" + kV2);
    fake.machine().state_root = "/var/lib/minidocker";
    Finding f = fake.check("state root");
    EXPECT_EQ(f.verdict, Verdict::fail) << describe(f);
    EXPECT_TRUE(contains(f.fix, "MINIDOCKER_ROOT")) << describe(f);

    // NFS is refused as well.
    fake.set_mountinfo(kBase + kV2 + "70 27 0:70 / /home rw,relatime - nfs4 server:/home rw,vers=4.2\n");
    fake.machine().state_root = "/home/me/md";
    EXPECT_EQ(fake.check("state root").verdict, Verdict::fail) << describe(fake.check("state root"));
}

TEST(Doctor, StateRootOfAFakeMachineIsNotLookedUpOnThisOne) {
    FakeMachine fake;
    // A real symlink: a check that resolved the state root on the real
    // filesystem would follow it out of the (fake) overlay mount.
    fs::create_directories(fake.path("elsewhere"));
    fs::create_symlink(fake.path("elsewhere"), fake.path("link"));
    fake.set_mountinfo(kBase + kV2 + "60 27 0:60 / " + fake.path("link") +
                       " rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w\n");
    fake.machine().state_root = fake.path("link/md");
    Finding f = fake.check("state root");
    EXPECT_EQ(f.verdict, Verdict::fail) << describe(f);
    EXPECT_FALSE(fs::exists(fake.path("elsewhere/md")));
}

TEST(Doctor, MountPointsWithEscapesAreDecoded) {
    FakeMachine fake;
    // mountinfo writes a space as \040 and a tab as \011.
    fake.set_mountinfo(kBase + kV2 +
                       "80 27 0:80 / /mnt/my\\040disk rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u,"
                       "workdir=/w\n"
                       "81 27 0:81 / /mnt/tab\\011here rw,relatime - nfs srv:/x rw\n"
                       "82 27 0:82 / /mnt/back\\134slash rw,relatime - vfat /dev/sdb1 rw\n");
    for (const std::string& root :
         {std::string("/mnt/my disk/md"), std::string("/mnt/tab\there/md"), std::string("/mnt/back\\slash/md")}) {
        SCOPED_TRACE(root);
        fake.machine().state_root = root;
        Finding f = fake.check("state root");
        EXPECT_EQ(f.verdict, Verdict::fail) << describe(f);
    }
    // The escaped name is not the decoded one's prefix.
    for (const std::string& root : {std::string("/mnt/my/md"), std::string("/mnt/my\\040disk/md")}) {
        SCOPED_TRACE(root);
        fake.machine().state_root = root;
        Finding f = fake.check("state root");
        EXPECT_EQ(f.verdict, Verdict::ok) << describe(f);
        EXPECT_TRUE(contains(f.found, "is on ext4")) << describe(f);
    }
}

TEST(Doctor, NotRootFailsAndSaysSudo) {
    FakeMachine fake;
    fake.machine().euid = 1000;
    std::vector<Finding> findings = examine(fake.machine());
    const Finding& f = findings[0];
    ASSERT_EQ(f.check, "root");
    EXPECT_EQ(f.verdict, Verdict::fail) << describe(f);
    EXPECT_TRUE(contains(f.found, "uid 1000")) << describe(f);
    EXPECT_TRUE(contains(f.fix, "sudo")) << describe(f);
    // The other checks still run, and pass.
    for (size_t i = 1; i < findings.size(); ++i) {
        EXPECT_EQ(findings[i].verdict, Verdict::ok) << describe(findings[i]);
    }
    Printed p = print(findings);
    EXPECT_EQ(p.code, 1);
    EXPECT_TRUE(contains(p.text, "1 of 8 checks failed, 0 warned\n")) << p.text;
}

TEST(Doctor, MissingNamespaceFails) {
    FakeMachine fake;
    fake.remove("proc/self/ns/cgroup");
    Finding f = fake.check("namespaces");
    EXPECT_EQ(f.verdict, Verdict::fail) << describe(f);
    EXPECT_TRUE(contains(f.found, "cgroup")) << describe(f);
    EXPECT_FALSE(contains(f.found, "uts")) << describe(f);
    EXPECT_TRUE(contains(f.fix, "CONFIG_")) << describe(f);

    fake.remove("proc/self/ns/uts");
    f = fake.check("namespaces");
    EXPECT_TRUE(contains(f.found, "cgroup uts")) << describe(f);

    // Plain empty files do as well as the real symlinks: only lstat() looks.
    fake.write("proc/self/ns/cgroup", "");
    fake.write("proc/self/ns/uts", "");
    EXPECT_EQ(fake.check("namespaces").verdict, Verdict::ok) << describe(fake.check("namespaces"));
}

TEST(Doctor, MissingBusyboxFailsAndSaysBusyboxStatic) {
    FakeMachine fake;
    fake.machine().busybox = fake.path("bin/no-such-busybox");
    Finding f = fake.check("busybox");
    EXPECT_EQ(f.verdict, Verdict::fail) << describe(f);
    EXPECT_TRUE(contains(f.found, "missing")) << describe(f);
    EXPECT_EQ(f.fix, "apt-get install busybox-static");
}

TEST(Doctor, DynamicBusyboxFails) {
    FakeMachine fake;
    std::vector<std::string> dynamic = {"/bin/true"};
    fake.write("bin/dynamic", make_elf(true));  // PT_INTERP as the second program header
    dynamic.push_back(fake.path("bin/dynamic"));
    fake.write("bin/short", make_elf(false, ELFCLASS64, 3));  // promises more headers than it has
    dynamic.push_back(fake.path("bin/short"));
    fake.write("bin/script", "#!/bin/sh\necho hi\n");
    dynamic.push_back(fake.path("bin/script"));
    fake.write("bin/empty", "");
    dynamic.push_back(fake.path("bin/empty"));
    ASSERT_TRUE(names_a_loader("/bin/true")) << "/bin/true should be dynamically linked";
    for (const std::string& path : dynamic) {
        SCOPED_TRACE(path);
        fake.machine().busybox = path;
        Finding f = fake.check("busybox");
        EXPECT_EQ(f.verdict, Verdict::fail) << describe(f);
        EXPECT_TRUE(contains(f.found, path)) << describe(f);
        EXPECT_TRUE(contains(f.fix, "apt-get install busybox-static")) << describe(f);
    }
}

TEST(Doctor, StaticBusyboxIsOk) {
    FakeMachine fake;
    std::vector<std::string> statics = {fake.path("bin/busybox")};  // made by make_elf(false)
    std::string probe = probe_next_to_me();
    if (!probe.empty()) {
        statics.push_back(probe);  // built with -static
    }
    if (fs::exists("/bin/busybox") && !names_a_loader("/bin/busybox")) {
        statics.push_back("/bin/busybox");  // busybox-static
    }
    for (const std::string& path : statics) {
        SCOPED_TRACE(path);
        fake.machine().busybox = path;
        Finding f = fake.check("busybox");
        EXPECT_EQ(f.verdict, Verdict::ok) << describe(f);
        EXPECT_TRUE(contains(f.found, path + " is statically linked")) << describe(f);
        EXPECT_EQ(f.fix, "");
    }
}

// A busybox path that stat() accepts but open() refuses (a socket here; for
// a non-root user, a file it may not read; a FIFO would block the open) is a
// failed check in the table, not an error that hides the table.
TEST(Doctor, UnopenableBusyboxFailsInsteadOfThrowing) {
    FakeMachine fake;
    std::string sock = fake.path("bin/socket");
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    ASSERT_LT(sock.size(), sizeof addr.sun_path);
    std::strncpy(addr.sun_path, sock.c_str(), sizeof addr.sun_path - 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ::close(fd);
    fake.machine().busybox = sock;
    std::vector<Finding> findings;
    EXPECT_NO_THROW(findings = examine(fake.machine()));
    ASSERT_EQ(findings.size(), kChecks.size());
    EXPECT_EQ(findings[7].verdict, Verdict::fail) << describe(findings[7]);
}

TEST(Doctor, ReportPrintsFixLinesAndReturnsOneOnlyWhenSomethingFailed) {
    std::vector<Finding> mixed = {
        {"root", Verdict::ok, "running as root (euid 0)", ""},
        {"overlay", Verdict::warn, "overlayfs is not in /proc/filesystems", "modprobe overlay"},
        {"busybox", Verdict::fail, "/bin/busybox is missing", "apt-get install busybox-static"},
    };
    Printed p = print(mixed);
    EXPECT_EQ(p.code, 1);
    std::vector<std::string> lines;
    std::istringstream in(p.text);
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line);
    }
    ASSERT_EQ(lines.size(), 6u) << p.text;
    // Columns: verdict, check, what was found; a fix under each that has one.
    EXPECT_EQ(lines[0], "  ok    root         running as root (euid 0)");
    EXPECT_EQ(lines[1], "  warn  overlay      overlayfs is not in /proc/filesystems");
    EXPECT_EQ(lines[2], "                     fix: modprobe overlay");
    EXPECT_EQ(lines[3], "  FAIL  busybox      /bin/busybox is missing");
    EXPECT_EQ(lines[4], "                     fix: apt-get install busybox-static");
    EXPECT_EQ(lines[5], "1 of 3 checks failed, 1 warned");

    // Warnings and ok only: 0, with the warning's fix still shown.
    mixed.pop_back();
    p = print(mixed);
    EXPECT_EQ(p.code, 0);
    EXPECT_TRUE(contains(p.text, "fix: modprobe overlay\n")) << p.text;
    EXPECT_TRUE(contains(p.text, "0 of 2 checks failed, 1 warned\n")) << p.text;

    // All ok.
    mixed.pop_back();
    p = print(mixed);
    EXPECT_EQ(p.code, 0);
    EXPECT_EQ(p.text, "  ok    root         running as root (euid 0)\nall 1 checks passed\n");
}
