// Unit tests for chapter 03: --rootfs resolution, the lists of masked and
// read-only paths, and the symlink-safe mount target helper, checked in a
// temp dir with planted symbolic links (no root needed).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "error.hpp"
#include "rootfs.hpp"

namespace fs = std::filesystem;
using namespace minidocker;

namespace {

// A temp dir standing in for a root filesystem, and one beside it standing
// in for the host outside it.
class FakeRoot {
public:
    FakeRoot() {
        char name[] = "/tmp/ch03-unit-XXXXXX";
        base_ = ::mkdtemp(name);
        fs::create_directories(root() + "/dev");
        fs::create_directories(outside());
    }
    ~FakeRoot() { fs::remove_all(base_); }
    FakeRoot(const FakeRoot&) = delete;
    FakeRoot& operator=(const FakeRoot&) = delete;

    std::string root() const { return base_ + "/rootfs"; }
    std::string outside() const { return base_ + "/outside"; }

private:
    std::string base_;
};

bool contains(const std::vector<std::string>& list, const std::string& item) {
    return std::find(list.begin(), list.end(), item) != list.end();
}

// The UsageError message of make_mount_target(), or "" when it succeeded.
std::string refusal(const std::string& root, const std::string& path, TargetKind kind) {
    try {
        make_mount_target(root, path, kind);
    } catch (const UsageError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(Ch03Unit, MaskedAndReadOnlyPaths) {
    for (const char* path : {"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug"}) {
        EXPECT_TRUE(contains(masked_paths(), path)) << path;
    }
    for (const char* path : {"/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus"}) {
        EXPECT_TRUE(contains(read_only_paths(), path)) << path;
    }
    for (const auto* list : {&masked_paths(), &read_only_paths()}) {
        for (const std::string& path : *list) {
            EXPECT_EQ(path.rfind("/proc/", 0), 0u) << path;
        }
    }
}

TEST(Ch03Unit, ResolveRootfs) {
    FakeRoot fake;
    std::string real = fs::canonical(fake.root()).string();
    EXPECT_EQ(resolve_rootfs(fake.root()), real);
    EXPECT_EQ(resolve_rootfs(fake.root() + "/dev/.."), real);
    // Relative: from the current directory.
    EXPECT_EQ(resolve_rootfs(fs::relative(fake.root()).string()), real);
    // A symlink to the rootfs, given by the user, is followed here on the host.
    fs::create_directory_symlink(fake.root(), fake.outside() + "/link");
    EXPECT_EQ(resolve_rootfs(fake.outside() + "/link"), real);

    EXPECT_THROW(resolve_rootfs(fake.root() + "/missing"), UsageError);
    std::ofstream(fake.root() + "/file") << "x";
    try {
        resolve_rootfs(fake.root() + "/file");
        ADD_FAILURE() << "a file is not a rootfs";
    } catch (const UsageError& e) {
        EXPECT_NE(std::string(e.what()).find("not a directory"), std::string::npos) << e.what();
    }
}

TEST(Ch03Unit, MountTargetsAreCreated) {
    FakeRoot fake;
    make_mount_target(fake.root(), "/proc", TargetKind::directory);
    EXPECT_TRUE(fs::is_directory(fake.root() + "/proc"));
    make_mount_target(fake.root(), "/proc", TargetKind::directory);  // already there: fine
    make_mount_target(fake.root(), "/dev/pts", TargetKind::directory);
    EXPECT_TRUE(fs::is_directory(fake.root() + "/dev/pts"));
    make_mount_target(fake.root(), "/dev/console", TargetKind::file);
    EXPECT_TRUE(fs::is_regular_file(fake.root() + "/dev/console"));
    // Wrong kinds and missing parents are refused.
    EXPECT_NE(refusal(fake.root(), "/dev/console", TargetKind::directory), "");
    EXPECT_NE(refusal(fake.root(), "/proc", TargetKind::file), "");
    EXPECT_THROW(make_mount_target(fake.root(), "/no/such", TargetKind::directory), std::exception);
}

TEST(Ch03Unit, PlantedSymlinksAreRefused) {
    FakeRoot fake;
    const std::string root = fake.root();
    const std::string outside = fake.outside();
    // Absolute, pointing "up and out", dangling, and through a parent.
    fs::create_directory_symlink("/etc", root + "/proc");
    fs::create_directory_symlink("../../../../../../../.." + outside, root + "/sys");
    fs::create_symlink(outside + "/made-by-us", root + "/run");
    fs::create_symlink(outside + "/null", root + "/dev/null");
    fs::create_directory_symlink(outside, root + "/mnt");

    EXPECT_NE(refusal(root, "/proc", TargetKind::directory).find("\"/proc\""), std::string::npos);
    EXPECT_NE(refusal(root, "/sys", TargetKind::directory).find("symbolic link"), std::string::npos);
    EXPECT_NE(refusal(root, "/run", TargetKind::directory), "");
    EXPECT_NE(refusal(root, "/run", TargetKind::file), "");
    EXPECT_NE(refusal(root, "/dev/null", TargetKind::file), "");
    EXPECT_NE(refusal(root, "/mnt/pts", TargetKind::directory).find("\"/mnt\""), std::string::npos);
    EXPECT_NE(refusal(root, "/sys/firmware", TargetKind::directory), "");

    // Nothing was made outside, and the symlinks are still there, untouched.
    EXPECT_TRUE(fs::is_empty(outside));
    EXPECT_TRUE(fs::is_symlink(root + "/proc"));
    EXPECT_TRUE(fs::is_symlink(root + "/run"));
}
