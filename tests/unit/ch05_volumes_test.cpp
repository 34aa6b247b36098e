// Unit tests for chapter 05: parsing -v, the mount point made safely inside
// a root filesystem (planted symbolic links included), copy_tree() as a new
// volume is filled from the image, and the volume store. Everything happens
// in temp dirs; no mount is made. The one test that copies owners needs root
// (chown to other users), and skips without it (unless MINIDOCKER_NO_SKIP=1,
// which turns a skip into a failure).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "error.hpp"
#include "fd.hpp"
#include "state.hpp"
#include "unit.hpp"
#include "volume_store.hpp"
#include "volumes.hpp"

namespace fs = std::filesystem;
using namespace minidocker;

namespace {

// ---- small helpers ----

using unit::TempDir;

// A directory standing in for a container's root filesystem, with an
// O_PATH descriptor of it as setup_before_root() has one.
class FakeRoot {
public:
    FakeRoot() : root_(tmp_ / "rootfs") {
        fs::create_directories(root_);
        fd_ = open_fd(root_, O_PATH | O_DIRECTORY);
    }
    const std::string& path() const { return root_; }
    std::string operator/(const std::string& rel) const { return root_ + "/" + rel; }
    int fd() const { return fd_.get(); }
    const TempDir& tmp() const { return tmp_; }

private:
    TempDir tmp_;
    std::string root_;
    Fd fd_;
};

// As tests/integration/harness.hpp: a skip is a failure when
// MINIDOCKER_NO_SKIP=1.
bool never_skip() {
    const char* v = std::getenv("MINIDOCKER_NO_SKIP");
    return v != nullptr && std::string(v) == "1";
}

#define REQUIRE_ROOT_FOR(why)                                                                   \
    do {                                                                                        \
        if (::geteuid() != 0) {                                                                 \
            if (never_skip()) {                                                                 \
                FAIL() << "needs root (" << why << "), and MINIDOCKER_NO_SKIP=1 forbids skips"; \
            }                                                                                   \
            GTEST_SKIP() << "needs root: " << why;                                              \
        }                                                                                       \
    } while (0)

using unit::contains;
using unit::usage_error;

void write_file(const std::string& path, const std::string& content, mode_t mode = 0644) {
    fs::create_directories(fs::path(path).parent_path());
    {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out << content;
    }
    ASSERT_EQ(::chmod(path.c_str(), mode), 0) << path;
}

using unit::read_file;

std::set<std::string> names_in(const std::string& dir) {
    std::set<std::string> names;
    for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
        names.insert(e.path().filename().string());
    }
    return names;
}

struct stat lstat_of(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path << ": " << std::strerror(errno);
    return st;
}

// Whether descriptor `fd` is the file at `path` (same device and inode).
bool is_same_file(int fd, const std::string& path) {
    struct stat a {};
    struct stat b {};
    return ::fstat(fd, &a) == 0 && ::stat(path.c_str(), &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// Access and modification times, without following a symbolic link.
void set_times(const std::string& path, time_t sec, long nsec) {
    timespec times[2] = {{sec - 1000, nsec}, {sec, nsec}};
    ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0) << path;
}

// "2026-11-28T01:02:03.123456789Z" (or "+01:00"): RFC 3339, as Docker writes
// CreatedAt. (No std::regex: g++ 12 warns inside it with the sanitizers.)
bool is_rfc3339(const std::string& s) {
    const std::string shape = "dddd-dd-ddTdd:dd:dd";
    if (s.size() < shape.size() + 1) {
        return false;
    }
    for (size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] == 'd' ? !std::isdigit(static_cast<unsigned char>(s[i])) : s[i] != shape[i]) {
            return false;
        }
    }
    size_t at = shape.size();
    if (s[at] == '.') {
        size_t digits = s.find_first_not_of("0123456789", at + 1);
        if (digits == at + 1 || digits == std::string::npos) {
            return false;
        }
        at = digits;
    }
    std::string zone = s.substr(at);
    return zone == "Z" || (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':');
}

Fd open_dir(const std::string& path) { return open_fd(path, O_RDONLY | O_DIRECTORY); }

// Each -v the runtime must refuse, as the user would type it.
const std::vector<std::string>& bad_volume_args() {
    static const std::vector<std::string> args = {
        "",         "/h:",    ":/c",         "/h:c",    "/h:/c:bogus", "/h:/c:ro:x", "rel/x:/c",
        "./x:/c",   "a/b:/c", "bad name:/c", "/h:/",    "/h://",       "/h:/a/../b", "c",
        "/h:/c:",   "/h::/c", "~/x:/c",      "..:/c",   "/c:ro",       "-x:/c",      "/h:../c",
        "/h:/c/..", ":",      "::",          "/h:/c:RO"};
    return args;
}

}  // namespace

// ---- parse_volume() ----

TEST(Ch05Parse, BindMountOfAnAbsoluteHostPath) {
    VolumeSpec v = parse_volume("/h:/c");
    EXPECT_EQ(v.kind, VolumeSpec::Kind::bind);
    EXPECT_EQ(v.source, "/h");
    EXPECT_EQ(v.target, "/c");
    EXPECT_FALSE(v.read_only);

    v = parse_volume("/h:/c:ro");
    EXPECT_EQ(v.kind, VolumeSpec::Kind::bind);
    EXPECT_EQ(v.source, "/h");
    EXPECT_EQ(v.target, "/c");
    EXPECT_TRUE(v.read_only);

    v = parse_volume("/h:/c:rw");
    EXPECT_EQ(v.kind, VolumeSpec::Kind::bind);
    EXPECT_FALSE(v.read_only);

    // Deeper paths on both sides, kept as typed.
    v = parse_volume("/home/me/data:/var/lib/app:ro");
    EXPECT_EQ(v.source, "/home/me/data");
    EXPECT_EQ(v.target, "/var/lib/app");
    EXPECT_TRUE(v.read_only);
}

TEST(Ch05Parse, NamedVolume) {
    VolumeSpec v = parse_volume("name:/c");
    EXPECT_EQ(v.kind, VolumeSpec::Kind::named);
    EXPECT_EQ(v.source, "name");
    EXPECT_EQ(v.target, "/c");
    EXPECT_FALSE(v.read_only);

    v = parse_volume("my-vol_1.x:/c");
    EXPECT_EQ(v.kind, VolumeSpec::Kind::named);
    EXPECT_EQ(v.source, "my-vol_1.x");
    EXPECT_EQ(v.target, "/c");

    v = parse_volume("data:/var/lib/app:ro");
    EXPECT_EQ(v.kind, VolumeSpec::Kind::named);
    EXPECT_EQ(v.source, "data");
    EXPECT_TRUE(v.read_only);
}

TEST(Ch05Parse, AnonymousVolume) {
    VolumeSpec v = parse_volume("/c");
    EXPECT_EQ(v.kind, VolumeSpec::Kind::anonymous);
    EXPECT_EQ(v.source, "");
    EXPECT_EQ(v.target, "/c");
    EXPECT_FALSE(v.read_only);

    v = parse_volume("/var/lib/app");
    EXPECT_EQ(v.kind, VolumeSpec::Kind::anonymous);
    EXPECT_EQ(v.target, "/var/lib/app");
}

TEST(Ch05Parse, BadInputIsRefusedInOneLineNamingTheArgument) {
    for (const std::string& arg : bad_volume_args()) {
        std::string why = usage_error([&] { parse_volume(arg); });
        EXPECT_NE(why, "") << "accepted: -v \"" << arg << "\"";
        EXPECT_TRUE(contains(why, "\"" + arg + "\"")) << "-v \"" << arg << "\": " << why;
        EXPECT_FALSE(contains(why, "\n")) << why;
    }
}

TEST(Ch05Parse, RefusalsSayWhatIsWrong) {
    auto why = [](const std::string& arg) { return usage_error([&] { parse_volume(arg); }); };
    EXPECT_TRUE(contains(why("/h:c"), "must be absolute")) << why("/h:c");
    EXPECT_TRUE(contains(why("c"), "must be absolute")) << why("c");
    EXPECT_TRUE(contains(why("/h:/c:bogus"), "\"bogus\"")) << why("/h:/c:bogus");
    EXPECT_TRUE(contains(why("rel/x:/c"), "host path \"rel/x\" must be absolute")) << why("rel/x:/c");
    EXPECT_TRUE(contains(why("./x:/c"), "must be absolute")) << why("./x:/c");
    EXPECT_TRUE(contains(why("a/b:/c"), "must be absolute")) << why("a/b:/c");
    EXPECT_TRUE(contains(why("bad name:/c"), "invalid volume name \"bad name\"")) << why("bad name:/c");
    EXPECT_TRUE(contains(why("/h:/"), "\"/\"")) << why("/h:/");
    EXPECT_TRUE(contains(why("/h://"), "\"/\"")) << why("/h://");
    EXPECT_TRUE(contains(why("/h:/a/../b"), "\"..\"")) << why("/h:/a/../b");
}

// ---- open_volume_target() ----

TEST(Ch05Target, MakesMissingDirectoriesAndReturnsAnOPathDescriptor) {
    FakeRoot root;
    Fd fd = open_volume_target(root.fd(), "/a/b/c", true);
    ASSERT_TRUE(fd);
    EXPECT_TRUE(fs::is_directory(fs::symlink_status(root / "a/b/c")));
    EXPECT_TRUE(is_same_file(fd.get(), root / "a/b/c"));
    struct stat st {};
    ASSERT_EQ(::fstat(fd.get(), &st), 0);
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    EXPECT_NE(::fcntl(fd.get(), F_GETFL) & O_PATH, 0) << "not an O_PATH descriptor";
    EXPECT_NE(::fcntl(fd.get(), F_GETFD) & FD_CLOEXEC, 0) << "not close-on-exec";
    // Only what was asked for was made.
    EXPECT_EQ(names_in(root.path()), std::set<std::string>{"a"});
    EXPECT_EQ(names_in(root / "a/b/c"), std::set<std::string>{});
}

TEST(Ch05Target, SlashesAndDotsInTheTargetAreTolerated) {
    FakeRoot root;
    Fd fd = open_volume_target(root.fd(), "//x/./y//z/", true);
    EXPECT_TRUE(is_same_file(fd.get(), root / "x/y/z"));
    EXPECT_EQ(names_in(root.path()), std::set<std::string>{"x"});
}

TEST(Ch05Target, MakesAFileAndItsParents) {
    FakeRoot root;
    Fd fd = open_volume_target(root.fd(), "/d/e/file", false);
    ASSERT_TRUE(fd);
    EXPECT_TRUE(fs::is_directory(fs::symlink_status(root / "d/e")));
    EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(root / "d/e/file")));
    EXPECT_EQ(fs::file_size(root / "d/e/file"), 0u);
    EXPECT_TRUE(is_same_file(fd.get(), root / "d/e/file"));
    EXPECT_NE(::fcntl(fd.get(), F_GETFL) & O_PATH, 0) << "not an O_PATH descriptor";
}

TEST(Ch05Target, ReusesWhatIsAlreadyThere) {
    FakeRoot root;
    write_file(root / "dir/kept", "kept");
    ASSERT_EQ(::chmod((root / "dir").c_str(), 0700), 0);
    ino_t dir_ino = lstat_of(root / "dir").st_ino;
    Fd fd = open_volume_target(root.fd(), "/dir", true);
    EXPECT_TRUE(is_same_file(fd.get(), root / "dir"));
    EXPECT_EQ(lstat_of(root / "dir").st_ino, dir_ino);
    EXPECT_EQ(lstat_of(root / "dir").st_mode & 07777, 0700u) << "mode changed";
    EXPECT_EQ(read_file(root / "dir/kept"), "kept");

    // An existing file is neither replaced nor truncated.
    write_file(root / "etc/hosts", "127.0.0.1 localhost\n", 0640);
    ino_t file_ino = lstat_of(root / "etc/hosts").st_ino;
    fd = open_volume_target(root.fd(), "/etc/hosts", false);
    EXPECT_TRUE(is_same_file(fd.get(), root / "etc/hosts"));
    EXPECT_EQ(lstat_of(root / "etc/hosts").st_ino, file_ino);
    EXPECT_EQ(read_file(root / "etc/hosts"), "127.0.0.1 localhost\n");
    EXPECT_EQ(lstat_of(root / "etc/hosts").st_mode & 07777, 0640u);
}

TEST(Ch05Target, AbsoluteLinkIsFollowedInsideTheRootNeverOnTheHost) {
    FakeRoot root;
    fs::create_directories(root / "etc");
    fs::create_directory_symlink("/etc", root / "test");
    const std::string unique = root.tmp().name() + "-sub";

    // `/test` is the container's /etc.
    Fd fd = open_volume_target(root.fd(), "/test", true);
    EXPECT_TRUE(is_same_file(fd.get(), root / "etc"));
    EXPECT_FALSE(is_same_file(fd.get(), "/etc"));

    // `/test/<unique>/deeper` is made in the container's /etc.
    fd = open_volume_target(root.fd(), "/test/" + unique + "/deeper", true);
    EXPECT_TRUE(fs::is_directory(fs::symlink_status(root / ("etc/" + unique + "/deeper"))));
    EXPECT_TRUE(is_same_file(fd.get(), root / ("etc/" + unique + "/deeper")));

    // A file, too.
    fd = open_volume_target(root.fd(), "/test/" + unique + ".conf", false);
    EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(root / ("etc/" + unique + ".conf"))));

    // The host's /etc got nothing, and the link is still a link.
    EXPECT_FALSE(fs::exists(fs::symlink_status("/etc/" + unique)));
    EXPECT_FALSE(fs::exists(fs::symlink_status("/etc/" + unique + ".conf")));
    EXPECT_TRUE(fs::is_symlink(root / "test"));
    EXPECT_EQ(fs::read_symlink(root / "test"), "/etc");
}

TEST(Ch05Target, LinkUpAndOutEndsAtTheContainersRootAndIsRefused) {
    FakeRoot root;
    fs::create_directory_symlink("../../../..", root / "esc");
    fs::create_directory_symlink("/", root / "slash");
    fs::create_directory_symlink("/../../../../../..", root / "abs-esc");
    std::set<std::string> in_root = names_in(root.path());
    std::set<std::string> in_tmp = names_in(root.tmp().path());

    for (const std::string target : {"/esc", "/slash", "/abs-esc", "/esc/", "/esc/."}) {
        std::string why = usage_error([&] { open_volume_target(root.fd(), target, true); });
        EXPECT_TRUE(contains(why, "leads to the container's \"/\"")) << target << ": " << why;
        EXPECT_TRUE(contains(why, "\"" + target + "\"")) << target << ": " << why;
    }
    EXPECT_EQ(names_in(root.path()), in_root);
    EXPECT_EQ(names_in(root.tmp().path()), in_tmp);
    EXPECT_TRUE(fs::is_symlink(root / "esc"));

    // Through the link, a path below it is the container's own.
    Fd fd = open_volume_target(root.fd(), "/esc/inside", true);
    EXPECT_TRUE(is_same_file(fd.get(), root / "inside"));
    EXPECT_EQ(names_in(root.tmp().path()), in_tmp);
}

// As Docker does (runc resolves the mount point with securejoin): a link to
// a path that does not exist yet in the container is followed inside the
// root, and the missing directories are made there.
TEST(Ch05Target, AbsoluteLinkToAMissingPathIsMadeInsideTheRoot) {
    FakeRoot root;
    fs::create_directories(root / "tmp");
    const std::string unique = root.tmp().name() + "-abs";
    const std::string host_path = "/tmp/" + unique;
    ASSERT_FALSE(fs::exists(fs::symlink_status(host_path)));
    fs::create_symlink(host_path + "/x", root / "abs");

    std::string why;
    try {
        Fd fd = open_volume_target(root.fd(), "/abs", true);
        EXPECT_TRUE(is_same_file(fd.get(), root / ("tmp/" + unique + "/x")));
    } catch (const std::exception& e) {
        why = e.what();
    }
    EXPECT_EQ(why, "") << "refused";  // the host checks below run either way
    EXPECT_TRUE(fs::is_directory(fs::symlink_status(root / ("tmp/" + unique + "/x"))));

    // Never on the host.
    EXPECT_FALSE(fs::exists(fs::symlink_status(host_path)));
    EXPECT_TRUE(fs::is_symlink(root / "abs"));
}

// A dangling link, asked for as a directory and as a file: what is missing
// is made where the link points, inside the root; the host is not touched.
TEST(Ch05Target, DanglingLinkIsMadeWhereItPointsInsideTheRoot) {
    FakeRoot root;
    ASSERT_FALSE(fs::exists(fs::symlink_status("/nowhere")))
        << "the host has a /nowhere: this test cannot tell what it made";
    fs::create_symlink("/nowhere/deeper", root / "dang");

    for (bool directory : {true, false}) {
        SCOPED_TRACE(directory ? "directory" : "file");
        Fd fd = open_volume_target(root.fd(), "/dang", directory);
        EXPECT_TRUE(is_same_file(fd.get(), root / "nowhere/deeper"));
        struct stat st = lstat_of(root / "nowhere/deeper");
        EXPECT_EQ(S_ISDIR(st.st_mode), directory);
        EXPECT_EQ(S_ISREG(st.st_mode), !directory);
        EXPECT_FALSE(fs::exists(fs::symlink_status("/nowhere")));
        EXPECT_TRUE(fs::is_symlink(root / "dang"));
        EXPECT_EQ(fs::read_symlink(root / "dang"), "/nowhere/deeper");
        fs::remove_all(root / "nowhere");
    }
}

TEST(Ch05Target, RelativeDanglingLinksStayInsideTheRoot) {
    FakeRoot root;
    const std::string unique = root.tmp().name() + "-up";
    fs::create_directories(root / "dir");
    fs::create_symlink("../made/here", root / "dir/rel");
    // On the host, from <tmp>/rootfs, this would climb to "/" and beyond.
    fs::create_symlink("../../../../../../" + unique + "/x", root / "up");
    std::set<std::string> in_tmp = names_in(root.tmp().path());

    Fd fd = open_volume_target(root.fd(), "/dir/rel", true);
    EXPECT_TRUE(is_same_file(fd.get(), root / "made/here"));
    fd = open_volume_target(root.fd(), "/up/y", true);
    EXPECT_TRUE(is_same_file(fd.get(), root / (unique + "/x/y")));

    EXPECT_FALSE(fs::exists(fs::symlink_status("/" + unique)));
    EXPECT_EQ(names_in(root.tmp().path()), in_tmp);
    EXPECT_TRUE(fs::is_symlink(root / "dir/rel"));
    EXPECT_TRUE(fs::is_symlink(root / "up"));
}

TEST(Ch05Target, ChainOfDanglingLinks) {
    FakeRoot root;
    fs::create_symlink("/b/c", root / "a");
    fs::create_symlink("/d", root / "b");  // dangling too
    Fd fd = open_volume_target(root.fd(), "/a/e", true);
    EXPECT_TRUE(is_same_file(fd.get(), root / "d/c/e"));
    EXPECT_EQ(names_in(root.path()), (std::set<std::string>{"a", "b", "d"}));
    EXPECT_TRUE(fs::is_symlink(root / "a"));
    EXPECT_TRUE(fs::is_symlink(root / "b"));
}

TEST(Ch05Target, LinkLoopIsAnErrorAndMakesNothing) {
    FakeRoot root;
    fs::create_symlink("/loop", root / "loop");
    fs::create_symlink("/pong", root / "ping");
    fs::create_symlink("/ping/x", root / "pong");
    EXPECT_THROW(open_volume_target(root.fd(), "/loop", true), std::exception);
    EXPECT_THROW(open_volume_target(root.fd(), "/loop/x", true), std::exception);
    EXPECT_THROW(open_volume_target(root.fd(), "/ping", true), std::exception);
    EXPECT_EQ(names_in(root.path()), (std::set<std::string>{"loop", "ping", "pong"}));
}

// The one line the user reads names the path they typed, even when a
// dangling link on the way was followed before the refusal.
TEST(Ch05Target, RefusalNamesThePathAsTyped) {
    FakeRoot root;
    fs::create_symlink("/b/..", root / "dotdot");  // /b is missing: dangling, then "/"
    std::string why = usage_error([&] { open_volume_target(root.fd(), "/dotdot", true); });
    EXPECT_TRUE(contains(why, "leads to the container's \"/\"")) << why;
    EXPECT_TRUE(contains(why, "\"/dotdot\"")) << why;
}

TEST(Ch05Target, KindMustMatchWhatIsThere) {
    FakeRoot root;
    write_file(root / "file", "x");
    fs::create_directories(root / "dir");
    fs::create_symlink("/file", root / "link-to-file");
    fs::create_directory_symlink("/dir", root / "link-to-dir");

    std::string why = usage_error([&] { open_volume_target(root.fd(), "/file", true); });
    EXPECT_TRUE(contains(why, "cannot mount a directory on \"/file\": it is not a directory")) << why;
    why = usage_error([&] { open_volume_target(root.fd(), "/link-to-file", true); });
    EXPECT_TRUE(contains(why, "it is not a directory")) << why;

    why = usage_error([&] { open_volume_target(root.fd(), "/dir", false); });
    EXPECT_TRUE(contains(why, "cannot mount a file on \"/dir\": it is a directory")) << why;
    why = usage_error([&] { open_volume_target(root.fd(), "/link-to-dir", false); });
    EXPECT_TRUE(contains(why, "it is a directory")) << why;

    // Nothing was changed.
    EXPECT_EQ(read_file(root / "file"), "x");
    EXPECT_EQ(names_in(root / "dir"), std::set<std::string>{});
}

TEST(Ch05Target, AFileOnTheWayIsAnError) {
    FakeRoot root;
    write_file(root / "file", "x");
    EXPECT_THROW(open_volume_target(root.fd(), "/file/sub", true), std::exception);
    EXPECT_THROW(open_volume_target(root.fd(), "/file/sub", false), std::exception);
    EXPECT_EQ(names_in(root.path()), std::set<std::string>{"file"});
    EXPECT_EQ(read_file(root / "file"), "x");
}

// ---- copy_tree() ----

TEST(Ch05Copy, FilesAndNestedDirectories) {
    TempDir t;
    std::string big;
    for (int i = 0; i < 200000; ++i) {
        big += static_cast<char>('a' + (i * 7) % 26);
    }
    write_file(t / "from/a.txt", "hello\n");
    write_file(t / "from/empty", "");
    write_file(t / "from/big", big);
    write_file(t / "from/sub/deeper/c.txt", "sea");
    fs::create_directories(t / "from/emptydir");
    fs::create_directories(t / "to");

    copy_tree(open_dir(t / "from").get(), open_dir(t / "to").get());

    EXPECT_EQ(names_in(t / "to"), (std::set<std::string>{"a.txt", "empty", "big", "sub", "emptydir"}));
    EXPECT_EQ(read_file(t / "to/a.txt"), "hello\n");
    EXPECT_EQ(read_file(t / "to/empty"), "");
    EXPECT_EQ(read_file(t / "to/big"), big);
    EXPECT_EQ(read_file(t / "to/sub/deeper/c.txt"), "sea");
    EXPECT_TRUE(fs::is_directory(fs::symlink_status(t / "to/emptydir")));
    EXPECT_TRUE(fs::is_empty(t / "to/emptydir"));
    // The source is as it was.
    EXPECT_EQ(read_file(t / "from/big"), big);
}

TEST(Ch05Copy, SymbolicLinksAreCopiedNotFollowed) {
    TempDir t;
    write_file(t / "from/a.txt", "hello\n");
    fs::create_symlink("a.txt", t / "from/rel");
    fs::create_directory_symlink("/etc", t / "from/etc-link");
    fs::create_symlink("/nowhere/at/all", t / "from/dangling");
    fs::create_directories(t / "to");

    copy_tree(open_dir(t / "from").get(), open_dir(t / "to").get());

    for (const char* name : {"rel", "etc-link", "dangling"}) {
        EXPECT_TRUE(fs::is_symlink(t / (std::string("to/") + name))) << name;
    }
    EXPECT_EQ(fs::read_symlink(t / "to/rel"), "a.txt");
    EXPECT_EQ(fs::read_symlink(t / "to/etc-link"), "/etc");
    EXPECT_EQ(fs::read_symlink(t / "to/dangling"), "/nowhere/at/all");
    EXPECT_EQ(read_file(t / "to/rel"), "hello\n");
}

TEST(Ch05Copy, ModesIncludingSetgidDirectoryAndPrivateFile) {
    TempDir t;
    write_file(t / "from/secret", "s", 0600);
    write_file(t / "from/tool", "#!/bin/sh\n", 0755);
    write_file(t / "from/setuid", "x", 04755);
    write_file(t / "from/shared/inner", "i", 0664);
    write_file(t / "from/locked/f", "f", 0444);
    fs::create_directories(t / "from/sticky");
    fs::create_directories(t / "from/private");
    ASSERT_EQ(::chmod((t / "from/shared").c_str(), 02775), 0);
    ASSERT_EQ(::chmod((t / "from/locked").c_str(), 0555), 0);
    ASSERT_EQ(::chmod((t / "from/sticky").c_str(), 01777), 0);
    ASSERT_EQ(::chmod((t / "from/private").c_str(), 0700), 0);
    fs::create_directories(t / "to");

    copy_tree(open_dir(t / "from").get(), open_dir(t / "to").get());

    EXPECT_EQ(lstat_of(t / "to/secret").st_mode & 07777, 0600u);
    EXPECT_EQ(lstat_of(t / "to/tool").st_mode & 07777, 0755u);
    EXPECT_EQ(lstat_of(t / "to/setuid").st_mode & 07777, 04755u);
    EXPECT_EQ(lstat_of(t / "to/shared").st_mode & 07777, 02775u);
    EXPECT_EQ(lstat_of(t / "to/shared/inner").st_mode & 07777, 0664u);
    EXPECT_EQ(lstat_of(t / "to/locked").st_mode & 07777, 0555u);
    EXPECT_EQ(lstat_of(t / "to/locked/f").st_mode & 07777, 0444u);
    EXPECT_EQ(read_file(t / "to/locked/f"), "f") << "the content of a read-only directory";
    EXPECT_EQ(lstat_of(t / "to/sticky").st_mode & 07777, 01777u);
    EXPECT_EQ(lstat_of(t / "to/private").st_mode & 07777, 0700u);
}

TEST(Ch05Copy, Owners) {
    REQUIRE_ROOT_FOR("chown to other users");
    TempDir t;
    write_file(t / "from/file", "f", 0644);
    write_file(t / "from/setuid", "x", 04755);
    write_file(t / "from/dir/inner", "i");
    fs::create_symlink("file", t / "from/link");
    ASSERT_EQ(::chmod((t / "from/dir").c_str(), 02775), 0);
    for (const char* name : {"file", "setuid", "dir", "dir/inner", "link"}) {
        ASSERT_EQ(::lchown((t / (std::string("from/") + name)).c_str(), 1234, 5678), 0) << name;
    }
    ASSERT_EQ(::chmod((t / "from/setuid").c_str(), 04755), 0);  // chown cleared it
    ASSERT_EQ(::chmod((t / "from/dir").c_str(), 02775), 0);
    fs::create_directories(t / "to");

    copy_tree(open_dir(t / "from").get(), open_dir(t / "to").get());

    for (const char* name : {"file", "setuid", "dir", "dir/inner", "link"}) {
        struct stat st = lstat_of(t / (std::string("to/") + name));
        EXPECT_EQ(st.st_uid, 1234u) << name;
        EXPECT_EQ(st.st_gid, 5678u) << name;
    }
    // The mode is set after the owner: chown does not cost the set-id bits.
    EXPECT_EQ(lstat_of(t / "to/setuid").st_mode & 07777, 04755u);
    EXPECT_EQ(lstat_of(t / "to/dir").st_mode & 07777, 02775u);
    EXPECT_TRUE(S_ISLNK(lstat_of(t / "to/link").st_mode));
}

TEST(Ch05Copy, ModificationAndAccessTimes) {
    TempDir t;
    write_file(t / "from/file", "f");
    write_file(t / "from/dir/inner", "i");
    fs::create_symlink("file", t / "from/link");
    fs::create_directories(t / "from/dir/empty");
    // Deepest first: an entry made or touched in a directory changes its mtime.
    set_times(t / "from/dir/inner", 1600000001, 123456789);
    set_times(t / "from/dir/empty", 1600000002, 5);
    set_times(t / "from/dir", 1600000003, 999999999);
    set_times(t / "from/file", 1600000004, 1);
    set_times(t / "from/link", 1600000005, 500000000);
    fs::create_directories(t / "to");

    copy_tree(open_dir(t / "from").get(), open_dir(t / "to").get());

    struct Want {
        const char* name;
        time_t sec;
        long nsec;
    };
    for (const Want& w :
         {Want{"dir/inner", 1600000001, 123456789}, Want{"dir/empty", 1600000002, 5},
          Want{"dir", 1600000003, 999999999}, Want{"file", 1600000004, 1}, Want{"link", 1600000005, 500000000}}) {
        struct stat st = lstat_of(t / (std::string("to/") + w.name));
        EXPECT_EQ(st.st_mtim.tv_sec, w.sec) << w.name;
        EXPECT_EQ(st.st_mtim.tv_nsec, w.nsec) << w.name;
        // The access time as it was before the copy read the file.
        EXPECT_EQ(st.st_atim.tv_sec, w.sec - 1000) << w.name;
        EXPECT_EQ(st.st_atim.tv_nsec, w.nsec) << w.name;
    }
}

// Observed: copy_tree() does not keep hard links; a pair becomes two
// independent files with the same content (Docker's copy into a new volume
// keeps them; nothing in this chapter relies on that).
TEST(Ch05Copy, HardLinkPairBecomesTwoFilesWithEqualContent) {
    TempDir t;
    write_file(t / "from/one", "shared content\n", 0640);
    fs::create_hard_link(t / "from/one", t / "from/two");
    ASSERT_EQ(lstat_of(t / "from/one").st_nlink, 2u);
    fs::create_directories(t / "to");

    copy_tree(open_dir(t / "from").get(), open_dir(t / "to").get());

    struct stat one = lstat_of(t / "to/one");
    struct stat two = lstat_of(t / "to/two");
    EXPECT_TRUE(S_ISREG(one.st_mode));
    EXPECT_TRUE(S_ISREG(two.st_mode));
    EXPECT_EQ(read_file(t / "to/one"), "shared content\n");
    EXPECT_EQ(read_file(t / "to/two"), "shared content\n");
    EXPECT_NE(one.st_ino, two.st_ino) << "the copy kept the hard link after all: update this test";
    EXPECT_EQ(one.st_nlink, 1u);
    EXPECT_EQ(two.st_nlink, 1u);
    EXPECT_EQ(one.st_mode & 07777, 0640u);
    EXPECT_EQ(two.st_mode & 07777, 0640u);
}

TEST(Ch05Copy, NamedPipeIsMadeNotRead) {
    TempDir t;
    fs::create_directories(t / "from");
    ASSERT_EQ(::mkfifo((t / "from/pipe").c_str(), 0640), 0);
    ASSERT_EQ(::chmod((t / "from/pipe").c_str(), 0640), 0);
    fs::create_directories(t / "to");

    copy_tree(open_dir(t / "from").get(), open_dir(t / "to").get());

    struct stat st = lstat_of(t / "to/pipe");
    EXPECT_TRUE(S_ISFIFO(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0640u);
}

// The caller's descriptor is the caller's: copying from it twice copies
// the same tree twice.
TEST(Ch05Copy, TheSourceDescriptorCanBeUsedAgain) {
    TempDir t;
    write_file(t / "from/a", "a");
    write_file(t / "from/sub/b", "b");
    fs::create_directories(t / "to1");
    fs::create_directories(t / "to2");
    Fd from = open_dir(t / "from");

    copy_tree(from.get(), open_dir(t / "to1").get());
    copy_tree(from.get(), open_dir(t / "to2").get());

    EXPECT_EQ(names_in(t / "to1"), (std::set<std::string>{"a", "sub"}));
    EXPECT_EQ(names_in(t / "to2"), (std::set<std::string>{"a", "sub"}));
    EXPECT_EQ(read_file(t / "to2/sub/b"), "b");
}

// ---- VolumeStore ----

TEST(Ch05Store, CreateOnceThenItExists) {
    TempDir t;
    VolumeStore volumes{t.path()};
    const std::string real = fs::canonical(t.path()).string();
    EXPECT_TRUE(volumes.create("data", false));
    EXPECT_FALSE(volumes.create("data", false));
    EXPECT_FALSE(volumes.create("data", true)) << "an existing volume is not made again";

    EXPECT_EQ(volumes.volume_dir("data"), real + "/volumes/data");
    EXPECT_EQ(volumes.data_dir("data"), real + "/volumes/data/_data");
    EXPECT_TRUE(fs::is_directory(volumes.data_dir("data")));
    EXPECT_TRUE(fs::is_empty(volumes.data_dir("data")));
    EXPECT_EQ(names_in(volumes.volume_dir("data")), (std::set<std::string>{"_data", "volume.json"}));

    // A second store on the same root sees it.
    VolumeStore again{t.path()};
    EXPECT_FALSE(again.create("data", false));
    EXPECT_TRUE(again.find("data").has_value());
}

TEST(Ch05Store, VolumeJsonHasCreatedAtAndAnonymous) {
    TempDir t;
    VolumeStore volumes{t.path()};
    ASSERT_TRUE(volumes.create("named", false));
    ASSERT_TRUE(volumes.create("0123abcd", true));

    nlohmann::json j = read_json(volumes.volume_dir("named") + "/volume.json");
    ASSERT_TRUE(j.contains("CreatedAt")) << j.dump();
    EXPECT_TRUE(is_rfc3339(j["CreatedAt"].get<std::string>())) << j.dump();
    EXPECT_FALSE(is_rfc3339("2026-11-28 01:02:03Z")) << "the checker itself";
    EXPECT_EQ(j["Anonymous"], false) << j.dump();
    j = read_json(volumes.volume_dir("0123abcd") + "/volume.json");
    EXPECT_EQ(j["Anonymous"], true) << j.dump();

    std::optional<VolumeInfo> v = volumes.find("named");
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ(v->name, "named");
    EXPECT_EQ(v->mountpoint, volumes.data_dir("named"));
    EXPECT_TRUE(is_rfc3339(v->created)) << v->created;
    EXPECT_FALSE(v->anonymous);
    v = volumes.find("0123abcd");
    ASSERT_TRUE(v.has_value());
    EXPECT_TRUE(v->anonymous);

    // As `volume inspect` prints it.
    nlohmann::json out = *v;
    EXPECT_EQ(out["Name"], "0123abcd");
    EXPECT_EQ(out["Driver"], "local");
    EXPECT_EQ(out["Mountpoint"], volumes.data_dir("0123abcd"));
    EXPECT_EQ(out["Scope"], "local");
    EXPECT_EQ(out["Anonymous"], true);
    EXPECT_EQ(out["CreatedAt"], v->created);
}

TEST(Ch05Store, FindMissingOrInvalidIsNothing) {
    TempDir t;
    VolumeStore volumes{t.path()};
    EXPECT_FALSE(volumes.find("missing").has_value());
    // Names that would lead elsewhere under (or above) the root.
    EXPECT_FALSE(volumes.find("..").has_value());
    EXPECT_FALSE(volumes.find("../containers").has_value());
    EXPECT_FALSE(volumes.find("").has_value());
    // A file where a volume would be is not a volume.
    write_file(volumes.volume_dir("afile"), "x");
    EXPECT_FALSE(volumes.find("afile").has_value());
}

TEST(Ch05Store, InvalidNamesAreRefusedAndMakeNothing) {
    TempDir t;
    VolumeStore volumes{t.path()};
    for (const std::string& name :
         {std::string(""), std::string("a/b"), std::string("../x"), std::string(".."), std::string("-x"),
          std::string(".hidden"), std::string("_x"), std::string("a b"), std::string("x:y"), std::string(256, 'a')}) {
        std::string why = usage_error([&] { volumes.create(name, false); });
        EXPECT_TRUE(contains(why, "invalid volume name \"" + name + "\"")) << "\"" << name << "\": " << why;
    }
    EXPECT_TRUE(fs::is_empty(fs::canonical(t.path()).string() + "/volumes"));
    EXPECT_FALSE(fs::exists(t / "x"));
}

TEST(Ch05Store, ListIsSortedByName) {
    TempDir t;
    VolumeStore volumes{t.path()};
    EXPECT_EQ(volumes.list().size(), 0u);
    for (const char* name : {"b", "a", "10", "9", "C", "a.b"}) {
        volumes.create(name, false);
    }
    // Not volumes: a stray file, a directory with a name no volume can have.
    write_file(volumes.volume_dir("notes.txt"), "x");
    fs::create_directories(volumes.volume_dir(".trash"));

    std::vector<std::string> names;
    for (const VolumeInfo& v : volumes.list()) {
        names.push_back(v.name);
        EXPECT_EQ(v.mountpoint, volumes.data_dir(v.name));
    }
    EXPECT_EQ(names, (std::vector<std::string>{"10", "9", "C", "a", "a.b", "b"}));
}

TEST(Ch05Store, UsersAreTheContainersWhoseMountsJsonNamesTheVolume) {
    TempDir t;
    VolumeStore volumes{t.path()};
    volumes.create("data", false);
    volumes.create("other", false);
    const std::string containers = fs::canonical(t.path()).string() + "/containers";
    const std::string id1(64, '1');
    const std::string id2(64, '2');
    const std::string id3(64, '3');
    fs::create_directories(containers + "/" + id1);
    fs::create_directories(containers + "/" + id2);
    fs::create_directories(containers + "/" + id3);  // no mounts.json at all
    write_json_atomic(containers + "/" + id1 + "/mounts.json",
                      nlohmann::json::array({{{"Type", "volume"},
                                              {"Name", "data"},
                                              {"Source", volumes.data_dir("data")},
                                              {"Destination", "/data"},
                                              {"RW", true}}}));
    // A bind mount with the same "name" is not a use of the volume.
    write_json_atomic(
        containers + "/" + id2 + "/mounts.json",
        nlohmann::json::array(
            {{{"Type", "bind"}, {"Name", "data"}, {"Source", "/srv/data"}, {"Destination", "/data"}, {"RW", true}},
             {{"Type", "volume"},
              {"Name", "other"},
              {"Source", volumes.data_dir("other")},
              {"Destination", "/other"},
              {"RW", false}}}));

    EXPECT_EQ(volumes.users("data"), std::vector<std::string>{id1});
    EXPECT_EQ(volumes.users("other"), std::vector<std::string>{id2});
    EXPECT_EQ(volumes.users("unused"), std::vector<std::string>{});
}

// `-v data:/a -v data:/b` writes two entries for one container.
TEST(Ch05Store, AContainerUsingAVolumeTwiceIsOneUser) {
    TempDir t;
    VolumeStore volumes{t.path()};
    volumes.create("data", false);
    const std::string dir = fs::canonical(t.path()).string() + "/containers/" + std::string(64, 'a');
    fs::create_directories(dir);
    write_json_atomic(dir + "/mounts.json",
                      nlohmann::json::array({{{"Type", "volume"}, {"Name", "data"}, {"Destination", "/a"}},
                                             {{"Type", "volume"}, {"Name", "data"}, {"Destination", "/b"}}}));
    EXPECT_EQ(volumes.users("data"), std::vector<std::string>{std::string(64, 'a')});
}

TEST(Ch05Store, RemoveIsRefusedWhileUsedThenRemoves) {
    TempDir t;
    VolumeStore volumes{t.path()};
    volumes.create("data", false);
    write_file(volumes.data_dir("data") + "/kept", "precious");
    const std::string id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const std::string dir = fs::canonical(t.path()).string() + "/containers/" + id;
    fs::create_directories(dir);
    write_json_atomic(dir + "/mounts.json",
                      nlohmann::json::array({{{"Type", "volume"}, {"Name", "data"}, {"Destination", "/data"}}}));

    std::string why = usage_error([&] { volumes.remove("data"); });
    EXPECT_TRUE(contains(why, "data")) << why;
    EXPECT_TRUE(contains(why, "in use")) << why;
    EXPECT_TRUE(contains(why, id.substr(0, 12))) << why;
    EXPECT_FALSE(contains(why, id.substr(0, 13))) << "the full id: " << why;
    EXPECT_EQ(read_file(volumes.data_dir("data") + "/kept"), "precious");
    EXPECT_TRUE(volumes.find("data").has_value());

    // The container is gone: the volume can go.
    fs::remove_all(dir);
    volumes.remove("data");
    EXPECT_FALSE(volumes.find("data").has_value());
    EXPECT_FALSE(fs::exists(volumes.volume_dir("data")));

    why = usage_error([&] { volumes.remove("data"); });
    EXPECT_EQ(why, "No such volume: data");
    why = usage_error([&] { volumes.remove("never"); });
    EXPECT_EQ(why, "No such volume: never");
}

TEST(Ch05Store, RemoveNeverLeavesTheVolumesDirectory) {
    TempDir t;
    VolumeStore volumes{t.path()};
    const std::string real = fs::canonical(t.path()).string();
    std::set<std::string> top = names_in(real);
    for (const char* name : {"..", "../containers", "../volumes", ".", "", "/"}) {
        std::string why = usage_error([&] { volumes.remove(name); });
        EXPECT_TRUE(contains(why, "No such volume")) << "\"" << name << "\": " << why;
    }
    EXPECT_EQ(names_in(real), top);
    EXPECT_TRUE(fs::is_directory(real + "/volumes"));
    EXPECT_TRUE(fs::is_directory(real + "/containers"));
}

TEST(Ch05Store, ValidVolumeName) {
    for (const std::string& name :
         {std::string("ab"), std::string("A1"), std::string("0"), std::string("9z"), std::string("my-vol_1.x"),
          std::string("a..b"), std::string("x-"), std::string("x."), std::string("x_"), std::string(255, 'v')}) {
        EXPECT_TRUE(valid_volume_name(name)) << "\"" << name << "\"";
    }
    for (const std::string& name :
         {std::string(""), std::string("."), std::string(".."), std::string("-a"), std::string(".a"), std::string("_a"),
          std::string("a/b"), std::string("/a"), std::string("a b"), std::string("a:b"), std::string("a\n"),
          std::string("a\tb"), std::string("caf\xc3\xa9"), std::string("\xc3\xa9t\xc3\xa9"), std::string("a\0b", 3),
          std::string("a*"), std::string("a$b"), std::string(256, 'v')}) {
        EXPECT_FALSE(valid_volume_name(name)) << "\"" << name << "\"";
    }
}
