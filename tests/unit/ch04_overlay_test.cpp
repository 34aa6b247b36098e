// Unit tests for chapter 04: tar entry checks, the overlay options, the
// canonical layer tar and its digest, whiteouts, `diff`, image references
// and the store. Everything happens in temp dirs; no mount is made. The
// tests that make overlayfs' whiteouts (a 0/0 character device, the
// trusted.overlay.opaque xattr) need root, and skip without it (unless
// MINIDOCKER_NO_SKIP=1, which turns a skip into a failure).
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "error.hpp"
#include "layer.hpp"
#include "overlay.hpp"
#include "state.hpp"
#include "store.hpp"
#include "unit.hpp"

namespace fs = std::filesystem;
using namespace minidocker;

namespace {

// ---- small helpers ----

using unit::TempDir;

// Sets an environment variable for one scope.
class EnvGuard {
public:
    EnvGuard(const char* name, const char* value) : name_(name) {
        if (const char* old = std::getenv(name)) {
            old_ = old;
        }
        ::setenv(name, value, 1);
    }
    ~EnvGuard() {
        if (old_) {
            ::setenv(name_.c_str(), old_->c_str(), 1);
        } else {
            ::unsetenv(name_.c_str());
        }
    }
    EnvGuard(const EnvGuard&) = delete;
    EnvGuard& operator=(const EnvGuard&) = delete;

private:
    std::string name_;
    std::optional<std::string> old_;
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

// Access and modification time, seconds and nanoseconds, without following
// a symbolic link.
void set_times(const std::string& path, time_t mtime, long mtime_nsec = 0, time_t atime = 0, long atime_nsec = 0) {
    timespec times[2] = {{atime == 0 ? mtime : atime, atime == 0 ? mtime_nsec : atime_nsec}, {mtime, mtime_nsec}};
    ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0) << path;
}

struct stat lstat_of(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
    return st;
}

// A layer with one of each: files, an empty file, subdirectories, a
// symbolic link (relative and absolute), a hard link. Every time fixed,
// directories last (an entry made in a directory changes its mtime).
void make_tree(const std::string& dir) {
    fs::create_directories(dir);
    write_file(dir + "/a.txt", "hello\n", 0644);
    write_file(dir + "/empty", "", 0600);
    write_file(dir + "/sub/b.sh", "#!/bin/sh\necho bee\n", 0755);
    write_file(dir + "/sub/deeper/c.txt", "sea", 0640);
    fs::create_symlink("a.txt", dir + "/link");
    fs::create_symlink("/bin/busybox", dir + "/sub/abs");
    fs::create_hard_link(dir + "/a.txt", dir + "/sub/hard");
    ::chmod((dir + "/sub").c_str(), 0755);
    ::chmod((dir + "/sub/deeper").c_str(), 0700);
    set_times(dir + "/a.txt", 1600000001);
    set_times(dir + "/empty", 1600000002);
    set_times(dir + "/sub/b.sh", 1600000003);
    set_times(dir + "/sub/deeper/c.txt", 1600000004);
    set_times(dir + "/link", 1600000005);
    set_times(dir + "/sub/abs", 1600000006);
    set_times(dir + "/sub/deeper", 1600000007);
    set_times(dir + "/sub", 1600000008);
}

// ---- tar files, written and read with libarchive ----

enum class Kind { file, dir, symlink, hardlink };
struct TarEntry {
    std::string name;
    Kind kind = Kind::file;
    std::string data;  // a file's content, or a link's target
};

void write_tar(const std::string& path, const std::vector<TarEntry>& entries) {
    archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    ASSERT_EQ(archive_write_open_filename(a, path.c_str()), ARCHIVE_OK) << archive_error_string(a);
    for (const TarEntry& t : entries) {
        archive_entry* e = archive_entry_new();
        archive_entry_set_pathname(e, t.name.c_str());
        archive_entry_set_mtime(e, 1600000000, 0);
        switch (t.kind) {
            case Kind::file:
                archive_entry_set_filetype(e, AE_IFREG);
                archive_entry_set_perm(e, 0644);
                archive_entry_set_size(e, static_cast<la_int64_t>(t.data.size()));
                break;
            case Kind::dir:
                archive_entry_set_filetype(e, AE_IFDIR);
                archive_entry_set_perm(e, 0755);
                break;
            case Kind::symlink:
                archive_entry_set_filetype(e, AE_IFLNK);
                archive_entry_set_perm(e, 0777);
                archive_entry_set_symlink(e, t.data.c_str());
                break;
            case Kind::hardlink:
                archive_entry_set_filetype(e, AE_IFREG);
                archive_entry_set_perm(e, 0644);
                archive_entry_set_hardlink(e, t.data.c_str());
                break;
        }
        EXPECT_EQ(archive_write_header(a, e), ARCHIVE_OK) << t.name << ": " << archive_error_string(a);
        if (t.kind == Kind::file && !t.data.empty()) {
            archive_write_data(a, t.data.data(), t.data.size());
        }
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
}

struct TarItem {
    std::string name;
    mode_t type = 0;  // AE_IFREG, AE_IFDIR, ...
    mode_t perm = 0;
    std::string symlink;
    std::string hardlink;
    long long size = 0;
    time_t mtime = 0;
    long mtime_nsec = 0;
    bool has_atime = false;
    bool has_ctime = false;
    std::string uname;
};

std::vector<TarItem> read_tar(const std::string& path) {
    std::vector<TarItem> items;
    archive* a = archive_read_new();
    archive_read_support_format_all(a);
    archive_read_support_filter_all(a);
    if (archive_read_open_filename(a, path.c_str(), 10240) != ARCHIVE_OK) {
        ADD_FAILURE() << path << ": " << archive_error_string(a);
        archive_read_free(a);
        return items;
    }
    archive_entry* e = nullptr;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        TarItem item;
        item.name = archive_entry_pathname(e);
        item.type = archive_entry_filetype(e);
        item.perm = archive_entry_perm(e);
        item.symlink = archive_entry_symlink(e) != nullptr ? archive_entry_symlink(e) : "";
        item.hardlink = archive_entry_hardlink(e) != nullptr ? archive_entry_hardlink(e) : "";
        item.size = archive_entry_size(e);
        item.mtime = archive_entry_mtime(e);
        item.mtime_nsec = archive_entry_mtime_nsec(e);
        item.has_atime = archive_entry_atime_is_set(e) != 0;
        item.has_ctime = archive_entry_ctime_is_set(e) != 0;
        item.uname = archive_entry_uname(e) != nullptr ? archive_entry_uname(e) : "";
        items.push_back(item);
        archive_read_data_skip(a);
    }
    archive_read_free(a);
    return items;
}

const TarItem* find_item(const std::vector<TarItem>& items, const std::string& name) {
    for (const TarItem& item : items) {
        if (item.name == name) {
            return &item;
        }
    }
    return nullptr;
}

// Everything below `dir`, as relative paths, sorted.
std::vector<std::string> list_tree(const std::string& dir) {
    std::vector<std::string> all;
    for (const fs::directory_entry& e : fs::recursive_directory_iterator(dir)) {
        all.push_back(e.path().lexically_relative(dir).string());  // fs::relative() would follow links
    }
    std::sort(all.begin(), all.end());
    return all;
}

void make_whiteout(const std::string& path) {
    fs::create_directories(fs::path(path).parent_path());
    ASSERT_EQ(::mknod(path.c_str(), S_IFCHR | 0000, ::makedev(0, 0)), 0) << path << ": " << std::strerror(errno);
}

void make_opaque(const std::string& dir) {
    fs::create_directories(dir);
    ASSERT_EQ(::setxattr(dir.c_str(), "trusted.overlay.opaque", "y", 1, 0), 0) << dir << ": " << std::strerror(errno);
}

std::string changes_text(const std::vector<Change>& changes) {
    std::string text;
    for (const Change& c : changes) {
        text += std::string(1, c.kind) + " " + c.path + "\n";
    }
    return text;
}

}  // namespace

// ===================================================================
// check_entry(): the first fence against a tar that writes outside
// ===================================================================

TEST(Ch04Layer, CheckEntryAcceptsNamesInsideTheLayer) {
    EXPECT_NO_THROW(check_entry("bin/sh", EntryKind::file, ""));
    EXPECT_NO_THROW(check_entry("./a/b", EntryKind::file, ""));
    EXPECT_NO_THROW(check_entry("a/./b/", EntryKind::file, ""));
    EXPECT_NO_THROW(check_entry("bin/x", EntryKind::hardlink, "bin/busybox"));
    EXPECT_NO_THROW(check_entry("bin/x", EntryKind::hardlink, "./bin/busybox"));
    EXPECT_NO_THROW(check_entry("bin/sh", EntryKind::symlink, "busybox"));
    // An absolute target resolves inside the container's own root.
    EXPECT_NO_THROW(check_entry("bin/sh", EntryKind::symlink, "/bin/busybox"));
    EXPECT_NO_THROW(check_entry("etc/mtab", EntryKind::symlink, "/proc/mounts"));
    // Climbs, but stays inside: a/b/c -> ../../x is /x.
    EXPECT_NO_THROW(check_entry("a/b/c", EntryKind::symlink, "../../x"));
    EXPECT_NO_THROW(check_entry("a/b/c", EntryKind::symlink, "../d/../../x"));
    EXPECT_NO_THROW(check_entry("a/b", EntryKind::symlink, "./c/.."));
    EXPECT_NO_THROW(check_entry("a", EntryKind::symlink, "."));
    // ".." inside a *name* is just a name.
    EXPECT_NO_THROW(check_entry("a/..b/c..", EntryKind::file, ""));
}

TEST(Ch04Layer, CheckEntryRefusesNamesOutsideTheLayer) {
    struct Case {
        std::string path;
        EntryKind kind;
        std::string link;
    };
    const std::vector<Case> cases = {
        {"/abs", EntryKind::file, ""},
        {"../x", EntryKind::file, ""},
        {"a/../../x", EntryKind::file, ""},
        {"./../x", EntryKind::file, ""},
        {"a/..", EntryKind::file, ""},
        {"/etc/passwd", EntryKind::symlink, "x"},
        {"bin/x", EntryKind::hardlink, "../x"},
        {"bin/x", EntryKind::hardlink, "/etc/passwd"},
        {"bin/x", EntryKind::hardlink, "a/../../etc/passwd"},
        {"a", EntryKind::symlink, "../x"},
        {"a/b", EntryKind::symlink, "../../../etc"},
        {"a/b", EntryKind::symlink, "../../x"},
        {"a/b/c", EntryKind::symlink, "../../../x"},
        {"a/b", EntryKind::symlink, "c/../../.."},
        {"a", EntryKind::symlink, ".."},
    };
    for (const Case& c : cases) {
        std::string message = usage_error([&] { check_entry(c.path, c.kind, c.link); });
        EXPECT_NE(message, "") << c.path << " -> " << c.link << " must be refused";
        // The message names the entry, so the user knows which one.
        EXPECT_TRUE(contains(message, "\"" + c.path + "\"")) << message;
    }
}

// ===================================================================
// overlay_options(): one page at most
// ===================================================================

TEST(Ch04Layer, OverlayOptionsForASmallStack) {
    std::string options = overlay_options({"containers/c1/init", "l/0123456789abcdef", "l/fedcba9876543210"},
                                          "containers/c1/upper", "containers/c1/work");
    EXPECT_EQ(options,
              "lowerdir=containers/c1/init:l/0123456789abcdef:l/fedcba9876543210,"
              "upperdir=containers/c1/upper,workdir=containers/c1/work,"
              "redirect_dir=off,metacopy=off,index=off");
    EXPECT_EQ(overlay_options({"lower"}, "up", "wk"),
              "lowerdir=lower,upperdir=up,workdir=wk,redirect_dir=off,metacopy=off,index=off");
    // --rm: upper/ is thrown away, so the kernel need not sync it.
    EXPECT_EQ(overlay_options({"lower"}, "up", "wk", true),
              "lowerdir=lower,upperdir=up,workdir=wk,redirect_dir=off,metacopy=off,index=off,volatile");
}

TEST(Ch04Layer, OverlayOptionsRefuseMoreThanAPage) {
    const long page = ::sysconf(_SC_PAGESIZE);
    std::vector<std::string> lowers;
    for (int i = 0; i < 100; ++i) {
        lowers.push_back(std::string(60, 'a') + std::to_string(1000 + i));  // 64 characters
    }
    const std::string upper = "containers/c1/upper";
    const std::string work = "containers/c1/work";
    size_t bytes = std::string("lowerdir=").size() + 100 * 64 + 99 + std::string(",upperdir=").size() + upper.size() +
                   std::string(",workdir=").size() + work.size() +
                   std::string(",redirect_dir=off,metacopy=off,index=off").size();
    ASSERT_GE(static_cast<long>(bytes), page);
    std::string message = usage_error([&] { overlay_options(lowers, upper, work); });
    ASSERT_NE(message, "") << "100 lowers of 64 characters do not fit in a page";
    EXPECT_TRUE(contains(message, "layers")) << message;
    EXPECT_TRUE(contains(message, std::to_string(bytes))) << message;
    EXPECT_TRUE(contains(message, "99") || contains(message, "100")) << message;

    // The boundary: the kernel copies one page, the last byte of which is the
    // terminating NUL. page - 1 characters fit; page characters do not.
    const size_t fixed = overlay_options({""}, upper, work).size();
    std::string fits(static_cast<size_t>(page) - 1 - fixed, 'x');
    EXPECT_EQ(static_cast<long>(overlay_options({fits}, upper, work).size()), page - 1);
    EXPECT_NE(usage_error([&] { overlay_options({fits + "x"}, upper, work); }), "");
}

// ===================================================================
// write_init_layer(): the container's own files, and the mount points
// the image lacks
// ===================================================================

TEST(Ch04InitLayer, MountPointsOnlyWhereTheImageHasNone) {
    TempDir tmp;
    const std::string top = tmp / "top", bottom = tmp / "bottom", init = tmp / "init";
    fs::create_directories(bottom + "/proc");
    fs::create_directories(bottom + "/sys");
    write_file(top + "/sys", "a file in a newer layer hides the directory below");
    fs::create_directories(init);

    write_init_layer(init, "box", "nameserver 127.0.0.53\nnameserver 192.0.2.1\n", {top, bottom});
    // /proc shows through from the bottom layer; /sys is hidden by a file,
    // /dev is nowhere: both get a mount point.
    EXPECT_EQ(list_tree(init), (std::vector<std::string>{"dev", "etc", "etc/hostname", "etc/hosts", "etc/mtab",
                                                         "etc/resolv.conf", "sys"}));
    EXPECT_EQ(read_file(init + "/etc/hostname"), "box\n");
    EXPECT_TRUE(contains(read_file(init + "/etc/hosts"), "127.0.1.1\tbox\n"));
    EXPECT_EQ(read_file(init + "/etc/resolv.conf"),
              "# the host's /etc/resolv.conf, without loopback name servers\nnameserver 192.0.2.1\n");
    EXPECT_EQ(fs::read_symlink(init + "/etc/mtab"), "/proc/mounts");

    // An image with no layers at all (or none with these): every one.
    const std::string bare = tmp / "bare";
    fs::create_directories(bare);
    write_init_layer(bare, "box", "", {});
    for (const char* dir : {"proc", "sys", "dev", "etc"}) {
        EXPECT_TRUE(fs::is_directory(bare + "/" + dir)) << dir;
    }
}

TEST(Ch04InitLayer, WhiteoutsAndOpaqueRootsHideTheMountPointsBelow) {
    REQUIRE_ROOT_FOR("mknod of a 0/0 character device and trusted.* xattrs");
    TempDir tmp;
    const std::string top = tmp / "top", middle = tmp / "middle", bottom = tmp / "bottom", init = tmp / "init";
    for (const char* dir : {"/proc", "/sys", "/dev"}) {
        fs::create_directories(bottom + dir);
    }
    make_whiteout(top + "/proc");  // the newest layer deleted /proc
    make_opaque(middle);           // and a middle layer replaced the whole tree
    fs::create_directories(middle + "/dev");
    fs::create_directories(init);

    write_init_layer(init, "box", "", {top, middle, bottom});
    // /dev is the middle layer's; /proc is deleted; /sys lies only below
    // the opaque root, which hides it.
    EXPECT_TRUE(fs::is_directory(init + "/proc"));
    EXPECT_TRUE(fs::is_directory(init + "/sys"));
    EXPECT_FALSE(fs::exists(init + "/dev"));
}

// ===================================================================
// the canonical tar and the layer digest
// ===================================================================

TEST(Ch04Layer, Sha256Hex) {
    EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Ch04Layer, CanonicalTarHasSortedEntriesWholeSecondsNoUserNames) {
    TempDir tmp;
    make_tree(tmp / "tree");
    set_times(tmp / "tree/a.txt", 1600000001, 123456789, 1700000000, 5);
    write_layer_tar(tmp / "tree", tmp / "layer.tar");
    std::vector<TarItem> items = read_tar(tmp / "layer.tar");

    std::vector<std::string> names;
    for (const TarItem& item : items) {
        names.push_back(item.name);
    }
    // (A tar names a directory with a trailing slash.)
    EXPECT_EQ(names, (std::vector<std::string>{"a.txt", "empty", "link", "sub/", "sub/abs", "sub/b.sh", "sub/deeper/",
                                               "sub/deeper/c.txt", "sub/hard"}));
    for (const TarItem& item : items) {
        EXPECT_EQ(item.mtime_nsec, 0) << item.name;
        EXPECT_FALSE(item.has_atime) << item.name;
        EXPECT_FALSE(item.has_ctime) << item.name;
        EXPECT_EQ(item.uname, "") << item.name;
    }
    const TarItem* a = find_item(items, "a.txt");
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->type, static_cast<mode_t>(AE_IFREG));
    EXPECT_EQ(a->size, 6);
    EXPECT_EQ(a->mtime, 1600000001);
    EXPECT_EQ(a->perm, 0644u);
    const TarItem* hard = find_item(items, "sub/hard");
    ASSERT_NE(hard, nullptr);
    EXPECT_EQ(hard->hardlink, "a.txt");  // the second name of a file is a hard link to the first
    const TarItem* link = find_item(items, "link");
    ASSERT_NE(link, nullptr);
    EXPECT_EQ(link->type, static_cast<mode_t>(AE_IFLNK));
    EXPECT_EQ(link->symlink, "a.txt");
    const TarItem* abs = find_item(items, "sub/abs");
    ASSERT_NE(abs, nullptr);
    EXPECT_EQ(abs->symlink, "/bin/busybox");
    const TarItem* deeper = find_item(items, "sub/deeper/");
    ASSERT_NE(deeper, nullptr);
    EXPECT_EQ(deeper->type, static_cast<mode_t>(AE_IFDIR));
    EXPECT_EQ(deeper->perm, 0700u);
    const TarItem* script = find_item(items, "sub/b.sh");
    ASSERT_NE(script, nullptr);
    EXPECT_EQ(script->perm, 0755u);

    // The id is the sha256 of exactly those bytes, file or stream alike.
    std::string streamed;
    write_layer_tar(tmp / "tree",
                    [&](const void* data, size_t size) { streamed.append(static_cast<const char*>(data), size); });
    EXPECT_EQ(streamed, read_file(tmp / "layer.tar"));
    EXPECT_EQ(layer_digest(tmp / "tree"), sha256_hex(streamed));
}

TEST(Ch04Layer, DigestIsStable) {
    TempDir tmp;
    make_tree(tmp / "one");
    std::string id = layer_digest(tmp / "one");
    EXPECT_EQ(id.size(), 64u);
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
    EXPECT_EQ(layer_digest(tmp / "one"), id);
    // The same tree made elsewhere (other inodes, other path) is the same layer.
    make_tree(tmp / "elsewhere/two");
    EXPECT_EQ(layer_digest(tmp / "elsewhere/two"), id);
    // The root directory's own mode and time are not part of the layer.
    ::chmod((tmp / "elsewhere/two").c_str(), 0700);
    set_times(tmp / "elsewhere/two", 1234567890);
    EXPECT_EQ(layer_digest(tmp / "elsewhere/two"), id);
}

TEST(Ch04Layer, DigestFollowsContentModeAndWholeSeconds) {
    TempDir tmp;
    make_tree(tmp / "tree");
    const std::string a = tmp / "tree/a.txt";
    const std::string id = layer_digest(tmp / "tree");

    // One byte.
    write_file(a, "hellp\n", 0644);
    set_times(a, 1600000001);
    std::string changed = layer_digest(tmp / "tree");
    EXPECT_NE(changed, id);
    write_file(a, "hello\n", 0644);
    set_times(a, 1600000001);
    EXPECT_EQ(layer_digest(tmp / "tree"), id) << "the same content again";

    // One mode bit.
    ::chmod(a.c_str(), 0645);
    EXPECT_NE(layer_digest(tmp / "tree"), id);
    ::chmod(a.c_str(), 0644);
    EXPECT_EQ(layer_digest(tmp / "tree"), id);

    // One second of mtime, on a file and on a directory.
    set_times(a, 1600000002);
    EXPECT_NE(layer_digest(tmp / "tree"), id);
    set_times(a, 1600000001);
    set_times(tmp / "tree/sub/deeper", 1600000017);
    EXPECT_NE(layer_digest(tmp / "tree"), id);
    set_times(tmp / "tree/sub/deeper", 1600000007);
    EXPECT_EQ(layer_digest(tmp / "tree"), id);

    // A symbolic link's target.
    fs::remove(tmp / "tree/link");
    fs::create_symlink("empty", tmp / "tree/link");
    set_times(tmp / "tree/link", 1600000005);
    set_times(tmp / "tree", 1);  // the root's time: not in the tar
    EXPECT_NE(layer_digest(tmp / "tree"), id);
}

TEST(Ch04Layer, DigestIgnoresSubSecondTimesAndAccessTimes) {
    TempDir tmp;
    make_tree(tmp / "tree");
    const std::string id = layer_digest(tmp / "tree");
    set_times(tmp / "tree/a.txt", 1600000001, 999999999);
    set_times(tmp / "tree/sub", 1600000008, 1);
    set_times(tmp / "tree/link", 1600000005, 500000000);
    EXPECT_EQ(layer_digest(tmp / "tree"), id);
    set_times(tmp / "tree/a.txt", 1600000001, 0, 1700000000, 42);  // atime only
    set_times(tmp / "tree/sub/deeper/c.txt", 1600000004, 0, 1, 0);
    EXPECT_EQ(layer_digest(tmp / "tree"), id);
}

// A name (or link target) that does not fit a ustar header needs a pax
// extended header. The digest must still not depend on where the tree is
// (device and inode numbers, link counts), or the same layer gets two ids.
TEST(Ch04Layer, DigestOfLongNamesDoesNotDependOnInodes) {
    TempDir tmp;
    const std::string name = "usr/lib/" + std::string(150, 'f') + ".so";  // one component > 100 bytes
    const std::string target = std::string(120, 't');
    for (const char* where : {"one", "two"}) {
        std::string dir = tmp / where;
        make_tree(dir);
        write_file(dir + "/" + name, "long", 0644);
        fs::create_hard_link(dir + "/" + name, dir + "/usr/lib/z-second-name");
        fs::create_symlink(target, dir + "/usr/lib/long-link");
        set_times(dir + "/" + name, 1600000020);
        set_times(dir + "/usr/lib/long-link", 1600000020);
        set_times(dir + "/usr/lib", 1600000021);
        set_times(dir + "/usr", 1600000022);
    }
    write_layer_tar(tmp / "one", tmp / "one.tar");
    const std::string tar = read_file(tmp / "one.tar");
    ASSERT_TRUE(contains(tar, " path=")) << "the test needs a pax header";
    EXPECT_FALSE(contains(tar, "SCHILY.")) << "no device, inode or link count in the tar";
    EXPECT_FALSE(contains(tar, "time=")) << "no atime/ctime, no sub-second mtime";
    std::vector<TarItem> items = read_tar(tmp / "one.tar");
    const TarItem* second = find_item(items, "usr/lib/z-second-name");
    ASSERT_NE(second, nullptr);
    EXPECT_EQ(second->hardlink, name);
    EXPECT_EQ(layer_digest(tmp / "one"), layer_digest(tmp / "two"));
    // And the long names survive the round trip.
    fs::create_directories(tmp / "out");
    extract_layer(tmp / "one.tar", tmp / "out");
    EXPECT_EQ(read_file(tmp / "out/" + name), "long");
    EXPECT_EQ(fs::read_symlink(tmp / "out/usr/lib/long-link").string(), target);
    EXPECT_EQ(layer_digest(tmp / "out"), layer_digest(tmp / "one"));
}

TEST(Ch04Layer, ExtractingTheCanonicalTarGivesTheSameLayer) {
    TempDir tmp;
    make_tree(tmp / "tree");
    const std::string id = layer_digest(tmp / "tree");
    write_layer_tar(tmp / "tree", tmp / "layer.tar");
    fs::create_directories(tmp / "out");
    extract_layer(tmp / "layer.tar", tmp / "out");
    EXPECT_EQ(layer_digest(tmp / "out"), id);

    // And what is there is what was in the tree.
    EXPECT_EQ(list_tree(tmp / "out"), list_tree(tmp / "tree"));
    EXPECT_EQ(read_file(tmp / "out/a.txt"), "hello\n");
    EXPECT_EQ(read_file(tmp / "out/sub/deeper/c.txt"), "sea");
    EXPECT_EQ(fs::file_size(tmp / "out/empty"), 0u);
    EXPECT_EQ(fs::read_symlink(tmp / "out/link"), "a.txt");
    EXPECT_EQ(fs::read_symlink(tmp / "out/sub/abs"), "/bin/busybox");
    EXPECT_EQ(lstat_of(tmp / "out/a.txt").st_ino, lstat_of(tmp / "out/sub/hard").st_ino) << "a hard link again";
    EXPECT_EQ(lstat_of(tmp / "out/sub/b.sh").st_mode & 07777, 0755u);
    EXPECT_EQ(lstat_of(tmp / "out/sub/deeper").st_mode & 07777, 0700u);
    EXPECT_EQ(lstat_of(tmp / "out/sub").st_mtim.tv_sec, 1600000008);
    EXPECT_EQ(lstat_of(tmp / "out/link").st_mtim.tv_sec, 1600000005);
    EXPECT_EQ(tree_size(tmp / "out"), tree_size(tmp / "tree"));
}

TEST(Ch04Layer, ExtractRefusesEscapingEntriesAndWritesNothingOutside) {
    TempDir tmp;
    const std::string outside = tmp / "outside";
    fs::create_directories(outside);
    write_file(outside + "/passwd", "root:x:0:0\n", 0644);
    struct Case {
        const char* what;
        std::vector<TarEntry> entries;
    };
    const std::vector<Case> cases = {
        {"../x", {{"ok", Kind::file, "1"}, {"../x", Kind::file, "evil"}}},
        {"/abs", {{"/abs", Kind::file, "evil"}}},
        {"symlink out", {{"up", Kind::symlink, "../../outside"}}},
        {"hard link out", {{"h", Kind::hardlink, "../outside/passwd"}}},
        {"hard link absolute", {{"h", Kind::hardlink, outside + "/passwd"}}},
        // The second fence (libarchive's SECURE flags): no writing through a
        // symbolic link that check_entry() allowed, since it is absolute.
        {"write through a symlink", {{"etc", Kind::symlink, outside}, {"etc/passwd", Kind::file, "evil"}}},
        {"hard link through a symlink", {{"etc", Kind::symlink, outside}, {"h", Kind::hardlink, "etc/passwd"}}},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.what);
        std::string layer = tmp / "layer";
        fs::remove_all(layer);
        fs::create_directories(layer);
        write_tar(tmp / "bad.tar", c.entries);
        EXPECT_THROW(extract_layer(tmp / "bad.tar", layer), UsageError);
        EXPECT_EQ(list_tree(outside), std::vector<std::string>{"passwd"});
        EXPECT_EQ(read_file(outside + "/passwd"), "root:x:0:0\n");
        EXPECT_EQ(lstat_of(outside + "/passwd").st_nlink, 1u) << "no hard link to a file outside";
        EXPECT_FALSE(fs::exists(tmp / "x"));
        EXPECT_FALSE(fs::exists("/abs"));
    }
}

TEST(Ch04Layer, ExtractTakesOciTars) {
    TempDir tmp;
    write_tar(tmp / "oci.tar", {{"./", Kind::dir, ""},
                                {"./bin/", Kind::dir, ""},
                                {"./bin/busybox", Kind::file, "ELF"},
                                {"./bin/sh", Kind::symlink, "busybox"},
                                {"./bin/ls", Kind::hardlink, "./bin/busybox"},
                                {"./etc/hostname", Kind::file, "x\n"}});
    fs::create_directories(tmp / "out");
    extract_layer(tmp / "oci.tar", tmp / "out");
    EXPECT_EQ(list_tree(tmp / "out"),
              (std::vector<std::string>{"bin", "bin/busybox", "bin/ls", "bin/sh", "etc", "etc/hostname"}));
    EXPECT_EQ(lstat_of(tmp / "out/bin/ls").st_ino, lstat_of(tmp / "out/bin/busybox").st_ino);
    EXPECT_EQ(read_file(tmp / "out/etc/hostname"), "x\n");
    // Not a tar at all: a clear UsageError naming the file.
    write_file(tmp / "not.tar", std::string(2000, 'z'));
    std::string message = usage_error([&] { extract_layer(tmp / "not.tar", tmp / "out"); });
    EXPECT_TRUE(contains(message, tmp / "not.tar")) << message;
}

// ===================================================================
// whiteouts: overlayfs' marks on disk, OCI's names in a tar
// ===================================================================

TEST(Ch04Layer, WhiteoutsBecomeOciMarkersAndBack) {
    REQUIRE_ROOT_FOR("mknod of a 0/0 character device and trusted.* xattrs");
    TempDir tmp;
    const std::string tree = tmp / "tree";
    write_file(tree + "/kept", "k");
    make_whiteout(tree + "/gone");
    make_whiteout(tree + "/sub/gone2");
    make_opaque(tree + "/opq");
    write_file(tree + "/opq/new", "n");
    EXPECT_TRUE(is_whiteout(tree + "/gone"));
    EXPECT_FALSE(is_whiteout(tree + "/kept"));
    EXPECT_FALSE(is_whiteout(tree + "/missing"));
    EXPECT_TRUE(is_opaque_dir(tree + "/opq"));
    EXPECT_FALSE(is_opaque_dir(tree + "/sub"));
    EXPECT_FALSE(is_opaque_dir(tree + "/missing"));

    write_layer_tar(tree, tmp / "layer.tar");
    std::vector<TarItem> items = read_tar(tmp / "layer.tar");
    std::vector<std::string> names;
    for (const TarItem& item : items) {
        names.push_back(item.name);
    }
    for (const char* marker : {".wh.gone", "sub/.wh.gone2", "opq/.wh..wh..opq"}) {
        const TarItem* item = find_item(items, marker);
        ASSERT_NE(item, nullptr) << marker << " in: " << ::testing::PrintToString(names);
        EXPECT_EQ(item->type, static_cast<mode_t>(AE_IFREG)) << marker;
        EXPECT_EQ(item->size, 0) << marker;
    }
    EXPECT_EQ(find_item(items, "gone"), nullptr) << "no device in the tar";
    EXPECT_EQ(find_item(items, "sub/gone2"), nullptr);
    for (const TarItem& item : items) {
        EXPECT_NE(item.type, static_cast<mode_t>(AE_IFCHR)) << item.name;
    }

    fs::create_directories(tmp / "out");
    extract_layer(tmp / "layer.tar", tmp / "out");
    EXPECT_TRUE(is_whiteout(tmp / "out/gone"));
    EXPECT_TRUE(is_whiteout(tmp / "out/sub/gone2"));
    struct stat st = lstat_of(tmp / "out/gone");
    EXPECT_TRUE(S_ISCHR(st.st_mode));
    EXPECT_EQ(major(st.st_rdev), 0u);
    EXPECT_EQ(minor(st.st_rdev), 0u);
    EXPECT_TRUE(is_opaque_dir(tmp / "out/opq"));
    EXPECT_FALSE(is_opaque_dir(tmp / "out/sub"));
    EXPECT_FALSE(fs::exists(tmp / "out/.wh.gone"));
    EXPECT_FALSE(fs::exists(tmp / "out/opq/.wh..wh..opq"));
    EXPECT_EQ(read_file(tmp / "out/opq/new"), "n");
}

TEST(Ch04Layer, OciWhiteoutsInAForeignTar) {
    REQUIRE_ROOT_FOR("mknod of a 0/0 character device and trusted.* xattrs");
    TempDir tmp;
    // As OCI tools write them: marker before its directory, "./" names.
    write_tar(tmp / "oci.tar", {{"./etc/.wh.motd", Kind::file, ""},
                                {"./var/log/.wh..wh..opq", Kind::file, ""},
                                {"./var/log/", Kind::dir, ""},
                                {"./var/log/new", Kind::file, "n"}});
    fs::create_directories(tmp / "out");
    extract_layer(tmp / "oci.tar", tmp / "out");
    EXPECT_TRUE(is_whiteout(tmp / "out/etc/motd"));
    EXPECT_TRUE(is_opaque_dir(tmp / "out/var/log"));
    EXPECT_EQ(read_file(tmp / "out/var/log/new"), "n");
    EXPECT_FALSE(fs::exists(tmp / "out/etc/.wh.motd"));
}

// A whiteout or opaque marker below a symbolic link (allowed: its target is
// absolute) must not mark anything outside the layer.
TEST(Ch04Layer, WhiteoutsNeverWriteThroughASymlink) {
    REQUIRE_ROOT_FOR("mknod of a 0/0 character device and trusted.* xattrs");
    TempDir tmp;
    const std::string outside = tmp / "outside";
    write_file(outside + "/passwd", "root:x:0:0\n");
    const std::vector<std::vector<TarEntry>> tars = {
        {{"etc", Kind::symlink, outside}, {"etc/.wh.passwd", Kind::file, ""}},
        {{"etc", Kind::symlink, outside}, {"etc/.wh..wh..opq", Kind::file, ""}},
        {{"etc", Kind::symlink, outside}, {"etc/sub/.wh.x", Kind::file, ""}},
    };
    for (const std::vector<TarEntry>& entries : tars) {
        SCOPED_TRACE(entries[1].name);
        std::string layer = tmp / "layer";
        fs::remove_all(layer);
        fs::create_directories(layer);
        write_tar(tmp / "bad.tar", entries);
        EXPECT_ANY_THROW(extract_layer(tmp / "bad.tar", layer));
        EXPECT_FALSE(is_whiteout(outside + "/passwd"));
        EXPECT_EQ(read_file(outside + "/passwd"), "root:x:0:0\n");
        EXPECT_FALSE(is_opaque_dir(outside));
        EXPECT_EQ(list_tree(outside), std::vector<std::string>{"passwd"});
    }
}

// The canonical tar carries the whiteout's time; extracting it must give
// the layer back with the same id (chapter 07's commit goes this way:
// upper/ -> tar -> extracted layer -> digest).
TEST(Ch04Layer, WhiteoutRoundTripKeepsTheDigest) {
    REQUIRE_ROOT_FOR("mknod of a 0/0 character device and trusted.* xattrs");
    TempDir tmp;
    const std::string tree = tmp / "tree";
    make_tree(tree);
    make_whiteout(tree + "/gone");
    make_opaque(tree + "/opq");
    write_file(tree + "/opq/new", "n");
    set_times(tree + "/gone", 1500000000);
    set_times(tree + "/opq/new", 1500000001);
    set_times(tree + "/opq", 1500000002);
    const std::string id = layer_digest(tree);

    write_layer_tar(tree, tmp / "layer.tar");
    fs::create_directories(tmp / "out");
    extract_layer(tmp / "layer.tar", tmp / "out");
    // A whiteout mark carries no time or owner worth keeping (the canonical
    // tar writes fixed ones), so its time is not compared: only its kind.
    EXPECT_TRUE(is_whiteout(tmp / "out/gone"));
    EXPECT_EQ(lstat_of(tmp / "out/opq").st_mtim.tv_sec, 1500000002) << "the opaque directory's time";
    EXPECT_EQ(layer_digest(tmp / "out"), id);
}

// ===================================================================
// container_changes(): `docker diff` from hand-made layers
// ===================================================================

TEST(Ch04Diff, AddedAndChanged) {
    TempDir tmp;
    const std::string l1 = tmp / "l1", l2 = tmp / "l2", init = tmp / "init", upper = tmp / "upper";
    write_file(l1 + "/etc/passwd", "root");
    write_file(l1 + "/etc/group", "root");
    write_file(l1 + "/bin/sh", "sh");
    write_file(l1 + "/usr/lib/x", "x");
    write_file(l2 + "/etc/motd", "hi");
    write_file(init + "/etc/hostname", "box\n");
    fs::create_directories(init + "/proc");
    fs::create_directories(upper);

    EXPECT_TRUE(container_changes(upper, {init, l2, l1}).empty()) << "an empty upper/ changed nothing";

    write_file(upper + "/etc/passwd", "root\nme");   // copied up
    write_file(upper + "/etc/motd", "bye");          // from the middle layer
    write_file(upper + "/etc/hostname", "other\n");  // from the init layer
    write_file(upper + "/new.txt", "new");
    write_file(upper + "/home/user/notes", "n");
    write_file(upper + "/usr/lib/y", "y");
    fs::create_directories(upper + "/proc");  // a directory that is below too
    std::vector<Change> changes = container_changes(upper, {init, l2, l1});
    EXPECT_EQ(changes_text(changes),
              "C /etc\n"
              "C /etc/hostname\n"
              "C /etc/motd\n"
              "C /etc/passwd\n"
              "A /home\n"
              "A /home/user\n"
              "A /home/user/notes\n"
              "A /new.txt\n"
              "C /proc\n"
              "C /usr\n"
              "C /usr/lib\n"
              "A /usr/lib/y\n");
    EXPECT_TRUE(std::is_sorted(changes.begin(), changes.end(),
                               [](const Change& a, const Change& b) { return a.path < b.path; }));
}

TEST(Ch04Diff, SortedByPath) {
    TempDir tmp;
    const std::string lower = tmp / "lower", upper = tmp / "upper";
    fs::create_directories(lower);
    for (const char* name : {"b", "a-b/x", "a/z", "a.c", "a/b/c", "Z", "a0"}) {
        write_file(upper + "/" + name, "");
    }
    std::vector<Change> changes = container_changes(upper, {lower});
    std::vector<std::string> paths;
    for (const Change& c : changes) {
        paths.push_back(c.path);
        EXPECT_EQ(c.kind, 'A') << c.path;
    }
    std::vector<std::string> sorted = paths;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(paths, sorted);
    EXPECT_EQ(paths.size(), 10u) << ::testing::PrintToString(paths);
}

TEST(Ch04Diff, WhiteoutsAndOpaqueDirectories) {
    REQUIRE_ROOT_FOR("mknod of a 0/0 character device and trusted.* xattrs");
    TempDir tmp;
    const std::string l1 = tmp / "l1", l2 = tmp / "l2", init = tmp / "init", upper = tmp / "upper";
    // Bottom layer.
    write_file(l1 + "/bin/sh", "sh");
    write_file(l1 + "/bin/ls", "ls");
    write_file(l1 + "/var/log/a", "a");
    write_file(l1 + "/var/log/b", "b");
    write_file(l1 + "/opt/x", "x");
    write_file(l1 + "/srv/y/z", "z");
    write_file(l1 + "/lib/old", "old");
    // Middle layer: deletes /opt/x and /srv, adds /var/log/c, replaces /lib.
    make_whiteout(l2 + "/opt/x");
    make_whiteout(l2 + "/srv");
    write_file(l2 + "/var/log/c", "c");
    make_opaque(l2 + "/lib");
    write_file(l2 + "/lib/new", "new");
    write_file(init + "/etc/hostname", "box\n");

    // The container: rm /bin/sh; rm -rf /var/log; mkdir /var/log; echo >
    // /var/log/a; and creates /opt/x, /srv/y/z and /lib/old, which did not
    // exist in its view (deleted or hidden by the middle layer).
    make_whiteout(upper + "/bin/sh");
    make_opaque(upper + "/var/log");
    write_file(upper + "/var/log/a", "again");
    write_file(upper + "/opt/x", "x2");
    write_file(upper + "/srv/y/z", "z2");
    write_file(upper + "/lib/old", "old2");

    std::vector<Change> changes = container_changes(upper, {init, l2, l1});
    EXPECT_EQ(changes_text(changes),
              "C /bin\n"
              "D /bin/sh\n"
              "C /lib\n"
              "A /lib/old\n"
              "C /opt\n"
              "A /opt/x\n"
              "A /srv\n"
              "A /srv/y\n"
              "A /srv/y/z\n"
              "C /var\n"
              "C /var/log\n"
              "C /var/log/a\n"
              "D /var/log/b\n"
              "D /var/log/c\n");
}

TEST(Ch04Diff, OpaqueDirectoryHidesOnlyWhatWasVisible) {
    REQUIRE_ROOT_FOR("mknod of a 0/0 character device and trusted.* xattrs");
    TempDir tmp;
    const std::string l1 = tmp / "l1", l2 = tmp / "l2", upper = tmp / "upper";
    write_file(l1 + "/d/a", "a");
    write_file(l1 + "/d/b", "b");
    write_file(l1 + "/d/sub/c", "c");
    make_whiteout(l2 + "/d/b");  // already deleted below: not deleted again
    write_file(l2 + "/d/a", "a2");
    make_opaque(upper + "/d");
    std::vector<Change> changes = container_changes(upper, {l2, l1});
    EXPECT_EQ(changes_text(changes),
              "C /d\n"
              "D /d/a\n"
              "D /d/sub\n");
}

// A file in a higher layer hides a directory of the same name below it:
// /x/y below a file /x never existed in the container's view.
TEST(Ch04Diff, FileInAHigherLayerHidesADirectoryBelow) {
    REQUIRE_ROOT_FOR("trusted.* xattrs");
    TempDir tmp;
    const std::string l1 = tmp / "l1", l2 = tmp / "l2", upper = tmp / "upper";
    write_file(l1 + "/x/y", "y");
    write_file(l1 + "/x/old", "old");
    write_file(l2 + "/x", "now a file");
    // rm /x; mkdir /x; echo > /x/y (overlayfs makes the new /x opaque).
    make_opaque(upper + "/x");
    write_file(upper + "/x/y", "new");
    std::vector<Change> changes = container_changes(upper, {l2, l1});
    EXPECT_EQ(changes_text(changes),
              "C /x\n"
              "A /x/y\n");
}

// A symbolic link in a layer is a name, never a way out: a layer's "/x ->
// /some/host/dir" must not make the host's directory part of the diff.
TEST(Ch04Diff, SymlinkInALayerIsNotFollowed) {
    REQUIRE_ROOT_FOR("trusted.* xattrs");
    TempDir tmp;
    const std::string l1 = tmp / "l1", l2 = tmp / "l2", upper = tmp / "upper", host = tmp / "host";
    write_file(host + "/secret", "s");
    write_file(host + "/passwd", "p");
    write_file(l1 + "/x/old", "old");
    fs::create_directories(l2);
    fs::create_directory_symlink(host, l2 + "/x");
    // rm /x; mkdir /x; echo > /x/secret
    make_opaque(upper + "/x");
    write_file(upper + "/x/secret", "mine");
    std::vector<Change> changes = container_changes(upper, {l2, l1});
    EXPECT_EQ(changes_text(changes),
              "C /x\n"
              "A /x/secret\n");
}

// ===================================================================
// image references
// ===================================================================

TEST(Ch04Store, ParseImageRef) {
    EXPECT_EQ(parse_image_ref("busybox"), (std::pair<std::string, std::string>{"busybox", "latest"}));
    EXPECT_EQ(parse_image_ref("busybox:1.36"), (std::pair<std::string, std::string>{"busybox", "1.36"}));
    EXPECT_EQ(parse_image_ref("x:v1.2_3"), (std::pair<std::string, std::string>{"x", "v1.2_3"}));
    EXPECT_EQ(parse_image_ref("my-app.v2_x"), (std::pair<std::string, std::string>{"my-app.v2_x", "latest"}));
    EXPECT_EQ(parse_image_ref("x:RC1"), (std::pair<std::string, std::string>{"x", "RC1"}));
    EXPECT_EQ(parse_image_ref(std::string(128, 'n')).first, std::string(128, 'n'));
    for (const std::string& bad :
         {std::string("a/b"), std::string("Busybox"), std::string("x:"), std::string(":v1"), std::string(""),
          std::string("-x"), std::string(".x"), std::string("a b"), std::string("x:a/b"), std::string("x:y:z"),
          std::string("../x"), std::string(129, 'n'), "x:" + std::string(129, 't')}) {
        EXPECT_THROW(parse_image_ref(bad), UsageError) << bad;
    }
}

// ===================================================================
// the store: layers, images, containers under a temp --root
// ===================================================================

namespace {

// A 64-hex container id.
std::string container_id_for(const std::string& seed) { return sha256_hex(seed); }

void make_container(const Store& store, const std::string& id, const std::string& name, const Image* image,
                    const std::string& status = "exited", pid_t pid = 0) {
    make_dirs(store.container_dir(id));
    ContainerConfig c;
    c.id = id;
    c.name = name;
    if (image != nullptr) {
        c.image = image->ref();
        c.image_id = image->id;
        c.layers = image->layers;
    }
    store.save_container_config(c);
    ContainerState s;
    s.status = status;
    s.pid = pid;
    store.save_container_state(id, s);
}

std::vector<std::string> entries_of(const std::string& dir) {
    std::vector<std::string> names;
    for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
        names.push_back(e.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
}

}  // namespace

TEST(Ch04Store, ImportADirectory) {
    TempDir tmp;
    make_tree(tmp / "src");
    Store store(tmp / "root");
    for (const char* sub : {"layers", "l", "images", "containers", "names", "tmp"}) {
        EXPECT_TRUE(fs::is_directory(tmp / "root/" + sub)) << sub;
    }
    Image image = store.import(tmp / "src", "mine:v1", "", "my message");
    EXPECT_EQ(image.name, "mine");
    EXPECT_EQ(image.tag, "v1");
    EXPECT_EQ(image.ref(), "mine:v1");
    EXPECT_EQ(image.comment, "my message");
    EXPECT_EQ(image.id.size(), 64u);
    ASSERT_EQ(image.layers.size(), 1u);
    const std::string layer = image.layers[0];
    EXPECT_EQ(layer, layer_digest(tmp / "src")) << "a layer's id is its content's digest";
    EXPECT_EQ(image.size, tree_size(tmp / "src"));
    EXPECT_FALSE(image.created.empty());
    EXPECT_TRUE(std::any_of(image.config.env.begin(), image.config.env.end(),
                            [](const std::string& kv) { return kv.rfind("PATH=", 0) == 0; }));

    EXPECT_TRUE(fs::is_regular_file(tmp / "root/images/mine:v1.json"));
    EXPECT_TRUE(fs::is_directory(tmp / "root/layers/" + layer));
    EXPECT_EQ(read_file(tmp / "root/layers/" + layer + "/a.txt"), "hello\n");
    EXPECT_EQ(layer_digest(store.layer_dir(layer)), layer);
    const std::string link = tmp / "root/l/" + layer.substr(0, 16);
    ASSERT_TRUE(fs::is_symlink(link));
    EXPECT_EQ(fs::read_symlink(link).string(), "../layers/" + layer);
    EXPECT_EQ(fs::canonical(link), fs::canonical(store.layer_dir(layer)));
    EXPECT_EQ(store.short_link(layer), "l/" + layer.substr(0, 16));
    EXPECT_TRUE(fs::is_empty(tmp / "root/tmp")) << "nothing half-made left";

    // The image as saved is the image as returned.
    Image again = store.image("mine:v1");
    EXPECT_EQ(again.id, image.id);
    EXPECT_EQ(again.layers, image.layers);
    EXPECT_EQ(again.config.env, image.config.env);
    EXPECT_EQ(again.comment, "my message");
}

TEST(Ch04Store, ImportATar) {
    TempDir tmp;
    write_tar(tmp / "rootfs.tar", {{"bin/", Kind::dir, ""}, {"bin/tool", Kind::file, "t"}});
    Store store(tmp / "root");
    Image image = store.import(tmp / "rootfs.tar", "tool", "", "");
    EXPECT_EQ(image.ref(), "tool:latest");
    ASSERT_EQ(image.layers.size(), 1u);
    EXPECT_EQ(read_file(store.layer_dir(image.layers[0]) + "/bin/tool"), "t");
    EXPECT_THROW(store.import(tmp / "missing.tar", "x", "", ""), UsageError);
    EXPECT_THROW(store.import(tmp / "rootfs.tar", "Bad/Name", "", ""), UsageError);
}

TEST(Ch04Store, RefusedImportLeavesNothing) {
    TempDir tmp;
    Store store(tmp / "root");
    write_tar(tmp / "bad.tar", {{"ok", Kind::file, "fine"}, {"../escaped", Kind::file, "evil"}});
    std::string message = usage_error([&] { store.import(tmp / "bad.tar", "bad", "", ""); });
    EXPECT_TRUE(contains(message, "../escaped")) << message;
    EXPECT_TRUE(fs::is_empty(tmp / "root/layers"));
    EXPECT_TRUE(fs::is_empty(tmp / "root/images"));
    EXPECT_TRUE(fs::is_empty(tmp / "root/tmp"));
    EXPECT_TRUE(fs::is_empty(tmp / "root/l"));
    EXPECT_FALSE(fs::exists(tmp / "escaped"));
    EXPECT_FALSE(fs::exists(tmp / "root/escaped"));
}

TEST(Ch04Store, SameContentSharesTheLayer) {
    TempDir tmp;
    make_tree(tmp / "src");
    make_tree(tmp / "copy");  // same content, same times, other inodes
    Store store(tmp / "root");
    Image one = store.import(tmp / "src", "one", "", "");
    Image two = store.import(tmp / "src", "two:x", "", "");
    Image three = store.import(tmp / "copy", "three", "", "");
    EXPECT_EQ(one.layers, two.layers);
    EXPECT_EQ(one.layers, three.layers);
    EXPECT_NE(one.id, two.id);
    EXPECT_EQ(entries_of(tmp / "root/layers"), one.layers);
    EXPECT_EQ(entries_of(tmp / "root/l").size(), 1u);
    EXPECT_TRUE(fs::is_empty(tmp / "root/tmp"));
}

TEST(Ch04Store, ImportOnABase) {
    TempDir tmp;
    make_tree(tmp / "base");
    write_file(tmp / "top/etc/app.conf", "on=1\n");
    set_times(tmp / "top/etc/app.conf", 1600000100);
    set_times(tmp / "top/etc", 1600000101);
    Store store(tmp / "root");
    Image base = store.import(tmp / "base", "base", "", "");
    base.config.cmd = {"sh", "-c", "echo hi"};
    base.config.working_dir = "/srv";
    store.save_image(base);
    Image app = store.import(tmp / "top", "app:v2", "base", "on top");
    ASSERT_EQ(app.layers.size(), 2u);
    EXPECT_EQ(app.layers[0], base.layers[0]) << "the base's layers first, unchanged";
    EXPECT_EQ(app.layers[1], layer_digest(tmp / "top")) << "the new layer last";
    EXPECT_EQ(app.config.cmd, base.config.cmd) << "the base's config is kept";
    EXPECT_EQ(app.config.working_dir, "/srv");
    EXPECT_EQ(app.size, tree_size(tmp / "base") + tree_size(tmp / "top"));
    EXPECT_EQ(store.image("base").layers, base.layers) << "the base is not changed";
    // A layer that is already in the base is refused.
    EXPECT_THROW(store.import(tmp / "base", "again", "base", ""), UsageError);
    // So is a base that does not exist.
    EXPECT_THROW(store.import(tmp / "top", "x", "nope", ""), UsageError);
}

TEST(Ch04Store, ImagesAreSortedByNameAndTag) {
    TempDir tmp;
    make_tree(tmp / "src");
    Store store(tmp / "root");
    EXPECT_TRUE(store.images().empty());
    // Names and tags where one is a prefix of another: "app" < "app2" <
    // "app-x" is not the order of their file names "app2:", "app-x:", "app:".
    for (const char* ref : {"zeta", "app2", "app", "app:v1.0", "app:v1", "app-x", "b.c", "b"}) {
        store.import(tmp / "src", ref, "", "");
    }
    std::vector<std::pair<std::string, std::string>> got;
    for (const Image& image : store.images()) {
        got.emplace_back(image.name, image.tag);
    }
    std::vector<std::pair<std::string, std::string>> want = got;
    std::sort(want.begin(), want.end());
    EXPECT_EQ(got, want);
    EXPECT_EQ(got.size(), 8u);
}

TEST(Ch04Store, FindImage) {
    TempDir tmp;
    make_tree(tmp / "src");
    Store store(tmp / "root");
    Image one = store.import(tmp / "src", "one", "", "");
    Image two = store.import(tmp / "src", "two:v2", "", "");
    ASSERT_NE(one.id.substr(0, 12), two.id.substr(0, 12));

    EXPECT_EQ(store.find_image("one")->id, one.id);
    EXPECT_EQ(store.find_image("one:latest")->id, one.id);
    EXPECT_EQ(store.find_image("two:v2")->id, two.id);
    EXPECT_FALSE(store.find_image("two").has_value()) << "two:latest does not exist";
    EXPECT_EQ(store.find_image(one.id)->ref(), "one:latest");
    EXPECT_EQ(store.find_image(two.id.substr(0, 12))->ref(), "two:v2");
    EXPECT_EQ(store.find_image("sha256:" + one.id)->ref(), "one:latest");
    EXPECT_EQ(store.find_image("sha256:" + two.id.substr(0, 8))->ref(), "two:v2");
    EXPECT_FALSE(store.find_image("nope").has_value());
    char unused = '0';
    while (unused == one.id[0] || unused == two.id[0]) {
        ++unused;
    }
    EXPECT_FALSE(store.find_image("sha256:" + std::string(8, unused)).has_value());
    EXPECT_FALSE(store.find_image(std::string(8, unused)).has_value());

    // The shortest prefix both ids share (if any) is ambiguous.
    size_t common = 0;
    while (common < 64 && one.id[common] == two.id[common]) {
        ++common;
    }
    if (common > 0) {
        EXPECT_THROW(store.find_image(one.id.substr(0, common)), UsageError);
    }

    EXPECT_EQ(store.image("one").id, one.id);
    std::string message = usage_error([&] { store.image("nope"); });
    EXPECT_TRUE(contains(message, "No such image")) << message;
    EXPECT_TRUE(contains(message, "nope")) << message;
    EXPECT_THROW(store.image("Not/Valid"), UsageError);
}

TEST(Ch04Store, RemoveImageDeletesOnlyUnusedLayers) {
    TempDir tmp;
    make_tree(tmp / "base");
    write_file(tmp / "top/top.txt", "top");
    write_file(tmp / "other/other.txt", "other");
    Store store(tmp / "root");
    Image base = store.import(tmp / "base", "base", "", "");
    Image app = store.import(tmp / "top", "app", "base", "");
    Image alias = store.import(tmp / "base", "alias:v1", "", "");
    Image other = store.import(tmp / "other", "other", "", "");
    const std::string base_layer = base.layers[0];
    const std::string top_layer = app.layers[1];
    const std::string other_layer = other.layers[0];

    // app: its top layer goes, the base's stays.
    std::vector<std::string> lines = store.remove_image("app");
    EXPECT_EQ(lines, (std::vector<std::string>{"Untagged: app:latest", "Deleted: sha256:" + app.id,
                                               "Deleted: sha256:" + top_layer}));
    EXPECT_FALSE(fs::exists(tmp / "root/images/app:latest.json"));
    EXPECT_FALSE(fs::exists(store.layer_dir(top_layer)));
    EXPECT_FALSE(fs::is_symlink(tmp / "root/l/" + top_layer.substr(0, 16)));
    EXPECT_TRUE(fs::is_directory(store.layer_dir(base_layer)));

    // base: alias:v1 still uses its layer.
    lines = store.remove_image("base:latest");
    EXPECT_EQ(lines, (std::vector<std::string>{"Untagged: base:latest", "Deleted: sha256:" + base.id}));
    EXPECT_TRUE(fs::is_directory(store.layer_dir(base_layer)));
    EXPECT_TRUE(fs::is_symlink(tmp / "root/l/" + base_layer.substr(0, 16)));

    // By id: the last user of the layer.
    lines = store.remove_image(alias.id.substr(0, 12));
    EXPECT_EQ(lines, (std::vector<std::string>{"Untagged: alias:v1", "Deleted: sha256:" + alias.id,
                                               "Deleted: sha256:" + base_layer}));
    EXPECT_FALSE(fs::exists(store.layer_dir(base_layer)));
    EXPECT_FALSE(fs::is_symlink(tmp / "root/l/" + base_layer.substr(0, 16)));

    EXPECT_EQ(entries_of(tmp / "root/layers"), std::vector<std::string>{other_layer});
    EXPECT_EQ(entries_of(tmp / "root/images"), std::vector<std::string>{"other:latest.json"});
    std::string message = usage_error([&] { store.remove_image("app"); });
    EXPECT_TRUE(contains(message, "No such image")) << message;
}

TEST(Ch04Store, RemoveImageRefusedWhileAContainerUsesIt) {
    TempDir tmp;
    make_tree(tmp / "src");
    Store store(tmp / "root");
    Image image = store.import(tmp / "src", "used", "", "");
    const std::string id = container_id_for("c1");
    make_container(store, id, "web", &image);
    std::string message = usage_error([&] { store.remove_image("used"); });
    EXPECT_TRUE(contains(message, "web")) << message;
    EXPECT_TRUE(fs::exists(tmp / "root/images/used:latest.json"));
    EXPECT_TRUE(fs::is_directory(store.layer_dir(image.layers[0])));
}

TEST(Ch04Store, RemoveImageKeepsLayersAContainerStillUses) {
    TempDir tmp;
    make_tree(tmp / "src");
    Store store(tmp / "root");
    Image old_image = store.import(tmp / "src", "x:old", "", "");
    // A container made from an image that has since been removed and
    // re-made under another id still holds the layers (config.json).
    ContainerConfig c;
    c.id = container_id_for("c2");
    c.name = "keeper";
    c.image_id = std::string(64, '0');
    c.layers = old_image.layers;
    make_dirs(store.container_dir(c.id));
    store.save_container_config(c);
    std::vector<std::string> lines = store.remove_image("x:old");
    EXPECT_EQ(lines, (std::vector<std::string>{"Untagged: x:old", "Deleted: sha256:" + old_image.id}));
    EXPECT_TRUE(fs::is_directory(store.layer_dir(old_image.layers[0])));
}

TEST(Ch04Store, ReserveName) {
    TempDir tmp;
    Store store(tmp / "root");
    const std::string first = container_id_for("first");
    const std::string second = container_id_for("second");
    make_dirs(store.container_dir(first));
    make_dirs(store.container_dir(second));

    store.reserve_name("web", first);
    EXPECT_EQ(fs::read_symlink(tmp / "root/names/web").string(), first);
    std::string message = usage_error([&] { store.reserve_name("web", second); });
    EXPECT_TRUE(contains(message, "\"web\"")) << message;
    EXPECT_TRUE(contains(message, first.substr(0, 12))) << "names the owner: " << message;
    EXPECT_EQ(fs::read_symlink(tmp / "root/names/web").string(), first) << "the owner keeps it";

    // A name left behind by a runtime that died (no such container): taken.
    store.reserve_name("stale", container_id_for("gone"));
    store.reserve_name("stale", second);
    EXPECT_EQ(fs::read_symlink(tmp / "root/names/stale").string(), second);

    store.release_name("web");
    EXPECT_FALSE(fs::is_symlink(tmp / "root/names/web"));
    store.reserve_name("web", second);

    for (const char* bad : {"", "-x", "a/b", "..", ".hidden", "a b"}) {
        EXPECT_THROW(store.reserve_name(bad, first), UsageError) << bad;
    }
    EXPECT_THROW(store.reserve_name(std::string(129, 'n'), first), UsageError);
    EXPECT_FALSE(fs::exists(tmp / "root/a"));
}

TEST(Ch04Store, ContainerId) {
    TempDir tmp;
    Store store(tmp / "root");
    const std::string one = "ab1" + std::string(61, '0');
    const std::string two = "ab2" + std::string(61, '0');
    make_container(store, one, "web", nullptr);
    make_container(store, two, "db", nullptr);
    store.reserve_name("web", one);
    store.reserve_name("db", two);

    EXPECT_EQ(store.container_id("web"), one);
    EXPECT_EQ(store.container_id("db"), two);
    EXPECT_EQ(store.container_id(one), one);
    EXPECT_EQ(store.container_id("ab1"), one);
    EXPECT_EQ(store.container_id("ab2"), two);
    std::string message = usage_error([&] { store.container_id("ab"); });
    EXPECT_TRUE(contains(message, "ambiguous")) << message;
    message = usage_error([&] { store.container_id("nope"); });
    EXPECT_TRUE(contains(message, "No such container")) << message;
    EXPECT_THROW(store.container_id("ab3"), UsageError);
    EXPECT_THROW(store.container_id("../containers"), UsageError);
    EXPECT_THROW(store.container_id(""), UsageError);

    // The configuration and state come back as they were saved.
    ContainerConfig c = store.container_config(one);
    EXPECT_EQ(c.id, one);
    EXPECT_EQ(c.name, "web");
    EXPECT_EQ(store.container_state(one).status, "exited");
    EXPECT_EQ(store.containers().size(), 2u);
}

TEST(Ch04Store, RemoveContainer) {
    TempDir tmp;
    Store store(tmp / "root");
    const std::string id = container_id_for("running");
    make_container(store, id, "live", nullptr, "running", ::getpid());
    store.reserve_name("live", id);
    EXPECT_TRUE(is_running(store.container_state(id)));
    std::string message = usage_error([&] { store.remove_container(id); });
    EXPECT_TRUE(contains(message, "running")) << message;
    EXPECT_TRUE(fs::is_directory(store.container_dir(id)));
    EXPECT_TRUE(fs::is_symlink(tmp / "root/names/live"));

    // "running", but its process is gone (the runtime was killed): removable.
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        ::_exit(0);
    }
    ASSERT_EQ(::waitpid(child, nullptr, 0), child);
    ContainerState dead;
    dead.status = "running";
    dead.pid = child;
    store.save_container_state(id, dead);
    EXPECT_FALSE(is_running(store.container_state(id)));
    store.remove_container(id);
    EXPECT_FALSE(fs::exists(store.container_dir(id)));
    EXPECT_FALSE(fs::is_symlink(tmp / "root/names/live")) << "the name is free again";

    // Exited: removable; a name now held by another container is left alone.
    const std::string exited = container_id_for("exited");
    const std::string other = container_id_for("other");
    make_container(store, exited, "shared", nullptr, "exited");
    make_container(store, other, "shared", nullptr, "exited");
    store.reserve_name("shared", other);
    store.remove_container(exited);
    EXPECT_FALSE(fs::exists(store.container_dir(exited)));
    EXPECT_EQ(fs::read_symlink(tmp / "root/names/shared").string(), other);
}

TEST(Ch04Store, BusyboxNeedsAStaticBusybox) {
    TempDir tmp;
    Store store(tmp / "root");
    {
        EnvGuard env("MINIDOCKER_BUSYBOX", "/bin/true");  // dynamically linked on Debian
        std::string message = usage_error([&] { store.image("busybox"); });
        EXPECT_TRUE(contains(message, "busybox-static")) << message;
        EXPECT_TRUE(contains(message, "/bin/true")) << message;
    }
    {
        EnvGuard env("MINIDOCKER_BUSYBOX", "/nonexistent");
        std::string message = usage_error([&] { store.image("busybox:latest"); });
        EXPECT_TRUE(contains(message, "busybox-static")) << message;
        EXPECT_TRUE(contains(message, "/nonexistent")) << message;
    }
    EXPECT_TRUE(store.images().empty());
    EXPECT_TRUE(fs::is_empty(tmp / "root/tmp"));
    EXPECT_TRUE(fs::is_empty(tmp / "root/layers"));
}

TEST(Ch04Store, BusyboxImageIsMadeOnFirstUse) {
    const char* busybox = "/bin/busybox";
    struct stat st {};
    if (::stat(busybox, &st) != 0) {
        if (never_skip()) {
            FAIL() << "needs busybox-static (/bin/busybox), and MINIDOCKER_NO_SKIP=1 forbids skips";
        }
        GTEST_SKIP() << "needs busybox-static (/bin/busybox)";
    }
    EnvGuard env("MINIDOCKER_BUSYBOX", busybox);
    TempDir one;
    TempDir two;
    Store store(one / "root");
    Image image = store.image("busybox");
    EXPECT_EQ(image.ref(), "busybox:latest");
    EXPECT_EQ(image.config.cmd, std::vector<std::string>{"sh"});
    ASSERT_EQ(image.layers.size(), 1u);
    const std::string layer = store.layer_dir(image.layers[0]);
    EXPECT_TRUE(fs::is_regular_file(layer + "/bin/busybox"));
    EXPECT_EQ(fs::read_symlink(layer + "/bin/sh").string(), "busybox");
    EXPECT_TRUE(fs::is_regular_file(layer + "/etc/passwd"));
    EXPECT_EQ(lstat_of(layer + "/tmp").st_mode & 07777, 01777u);
    EXPECT_EQ(store.image("busybox").id, image.id) << "made once, then found";
    EXPECT_EQ(store.images().size(), 1u);
    EXPECT_TRUE(fs::is_empty(one / "root/tmp"));
    // The same busybox makes the same layer, in any store.
    EXPECT_EQ(Store(two / "root").image("busybox").layers, image.layers);
}
