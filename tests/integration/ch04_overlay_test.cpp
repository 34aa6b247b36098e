// Chapter 04's claims, proven from outside: containers made from one image
// share its read-only layer directories and never change them; each writes
// only into its own upper/ (deletions as whiteouts, which `diff` reports);
// the init layer gives each container its own /etc/hostname and /etc/hosts
// without copying them up; a 60-layer image starts; `import` refuses tars
// that would write outside the store, and the same content is one layer;
// containers, names, images and layers come and go as `rm`, `--rm` and `rmi`
// say; nothing depends on the caller's umask; the overlay never reaches the
// host's mount table; the init layer's placeholders are the mount points;
// the newest layer (and above it the init layer) wins.
// These tests also run against every later chapter's binary.
#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "harness.hpp"
#include "mountinfo.hpp"

namespace fs = std::filesystem;
using namespace minidocker::test;

namespace {

nlohmann::json read_json(const std::string& path) { return nlohmann::json::parse(read_file(path)); }

std::string store(const std::string& sub) { return state_root() + "/" + sub; }

// The layer ids of an image, bottom first, as its JSON file lists them.
std::vector<std::string> image_layers(const std::string& name, const std::string& tag = "latest") {
    nlohmann::json j = read_json(store("images/" + name + ":" + tag + ".json"));
    return j.at("layers").get<std::vector<std::string>>();
}

// The id of the container called `name`: what $ROOT/names/<name> points to.
std::string container_id(const std::string& name) {
    std::error_code ec;
    fs::path target = fs::read_symlink(store("names/" + name), ec);
    return ec ? "" : target.filename().string();
}

// Its directory; a path that does not exist (and a failure) when there is no
// such container, so that no check passes on an empty listing by mistake.
std::string container_dir(const std::string& name) {
    std::string id = container_id(name);
    if (id.empty()) {
        ADD_FAILURE() << "no container named " << name;
        return store("no-such-container-" + name);
    }
    return store("containers/" + id);
}

bool one_line(const std::string& err) { return lines(err).size() == 1; }

bool is_whiteout(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == ::makedev(0, 0);
}

// Everything a layer directory is, one line per entry: path, type and mode,
// owner, size, link count, inode times, xattrs, and the content or the
// symbolic link's target. Two equal snapshots: nothing was changed.
std::map<std::string, std::string> snapshot(const std::string& dir) {
    std::map<std::string, std::string> entries;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
        std::string path = it->path().string();
        struct stat st {};
        if (::lstat(path.c_str(), &st) != 0) {
            entries[path] = "lstat failed";
            continue;
        }
        std::ostringstream line;
        line << std::oct << st.st_mode << std::dec << " " << st.st_uid << ":" << st.st_gid << " size " << st.st_size
             << " nlink " << st.st_nlink << " ino " << st.st_ino << " rdev " << st.st_rdev << " mtime "
             << st.st_mtim.tv_sec << "." << st.st_mtim.tv_nsec << " ctime " << st.st_ctim.tv_sec << "."
             << st.st_ctim.tv_nsec;
        char xattrs[4096] = {};
        ssize_t n = ::llistxattr(path.c_str(), xattrs, sizeof xattrs);
        line << " xattrs " << std::string(xattrs, n > 0 ? static_cast<size_t>(n) : 0);
        if (S_ISLNK(st.st_mode)) {
            line << " -> " << fs::read_symlink(path, ec).string();
        } else if (S_ISREG(st.st_mode)) {
            line << " content " << read_file(path);
        }
        entries[path] = line.str();
    }
    return entries;
}

// What differs between two snapshots, for a readable failure.
std::string snapshot_diff(const std::map<std::string, std::string>& before,
                          const std::map<std::string, std::string>& after) {
    std::string out;
    for (const auto& [path, what] : before) {
        auto it = after.find(path);
        if (it == after.end()) {
            out += "removed: " + path + "\n";
        } else if (it->second != what) {
            out += "changed: " + path + "\n  before: " + what.substr(0, 200) +
                   "\n  after:  " + it->second.substr(0, 200) + "\n";
        }
    }
    for (const auto& [path, what] : after) {
        if (!before.count(path)) {
            out += "added: " + path + "\n";
        }
    }
    return out;
}

// Every file named `name` below `dir`.
std::vector<std::string> find_named(const std::string& dir, const std::string& name) {
    std::vector<std::string> found;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
        if (it->path().filename() == name) {
            found.push_back(it->path());
        }
    }
    return found;
}

// A small directory tree to import as a layer: {path, content}; a path
// ending in '/' is a directory.
void make_tree(const std::string& dir, const std::vector<std::pair<std::string, std::string>>& files) {
    fs::create_directories(dir);
    for (const auto& [path, content] : files) {
        if (path.back() == '/') {
            fs::create_directories(dir + "/" + path);
        } else {
            fs::create_directories(fs::path(dir + "/" + path).parent_path());
            std::ofstream(dir + "/" + path) << content;
        }
    }
}

// The super options of the overlay mounted at the container's "/", from
// /proc/<pid>/mountinfo ("" when there is none).
std::string root_overlay_options(pid_t pid) {
    for (const minidocker::MountEntry& m :
         minidocker::parse_mountinfo(read_file("/proc/" + std::to_string(pid) + "/mountinfo"))) {
        if (m.point == "/" && m.fstype == "overlay") {
            return m.super_options;
        }
    }
    return "";
}

// ---- tars, written with libarchive so that any name can be spelled ----

struct TarEntry {
    std::string path;
    char type;         // 'f' file, 'd' directory, 'l' symbolic link, 'h' hard link
    std::string data;  // a file's content, or a link's target
    int mode = 0644;
};

void write_tar(const std::string& file, const std::vector<TarEntry>& entries, bool gzip = false) {
    archive* a = archive_write_new();
    ASSERT_NE(a, nullptr);
    archive_write_set_format_pax_restricted(a);
    if (gzip) {
        ASSERT_EQ(archive_write_add_filter_gzip(a), ARCHIVE_OK) << archive_error_string(a);
    }
    ASSERT_EQ(archive_write_open_filename(a, file.c_str()), ARCHIVE_OK) << archive_error_string(a);
    for (const TarEntry& t : entries) {
        archive_entry* e = archive_entry_new();
        archive_entry_set_pathname(e, t.path.c_str());
        archive_entry_set_uid(e, 0);
        archive_entry_set_gid(e, 0);
        archive_entry_set_mtime(e, 1700000000, 0);
        archive_entry_set_perm(e, static_cast<mode_t>(t.mode));
        switch (t.type) {
            case 'd':
                archive_entry_set_filetype(e, AE_IFDIR);
                break;
            case 'l':
                archive_entry_set_filetype(e, AE_IFLNK);
                archive_entry_set_symlink(e, t.data.c_str());
                break;
            case 'h':
                archive_entry_set_filetype(e, AE_IFREG);
                archive_entry_set_hardlink(e, t.data.c_str());
                break;
            default:
                archive_entry_set_filetype(e, AE_IFREG);
                archive_entry_set_size(e, static_cast<la_int64_t>(t.data.size()));
        }
        EXPECT_EQ(archive_write_header(a, e), ARCHIVE_OK) << t.path << ": " << archive_error_string(a);
        if (t.type == 'f' && !t.data.empty()) {
            EXPECT_EQ(archive_write_data(a, t.data.data(), t.data.size()), static_cast<la_ssize_t>(t.data.size()));
        }
        archive_entry_free(e);
    }
    EXPECT_EQ(archive_write_close(a), ARCHIVE_OK) << archive_error_string(a);
    archive_write_free(a);
}

// The parts of a text between lines "---".
std::vector<std::string> sections(const std::string& text) {
    std::vector<std::string> parts(1);
    for (const std::string& line : lines(text)) {
        if (line == "---") {
            parts.emplace_back();
        } else {
            parts.back() += line + "\n";
        }
    }
    return parts;
}

// The names an /etc/hosts text gives to addresses.
std::set<std::string> hosts_names(const std::string& hosts) {
    std::set<std::string> names;
    for (const std::string& line : lines(hosts)) {
        std::istringstream in(line.substr(0, line.find('#')));
        std::string address;
        in >> address;
        for (std::string name; in >> name;) {
            names.insert(name);
        }
    }
    return names;
}

// Sets the umask the runtimes this test starts inherit; puts it back.
class ScopedUmask {
public:
    explicit ScopedUmask(mode_t mask) : old_(::umask(mask)) {}
    ~ScopedUmask() { ::umask(old_); }
    ScopedUmask(const ScopedUmask&) = delete;
    ScopedUmask& operator=(const ScopedUmask&) = delete;

private:
    mode_t old_;
};

}  // namespace

// Claim: two containers from one image read the very same layer files. Their
// /bin/busybox has the layer file's inode number (overlayfs reports the
// lower inode of an unmodified file), both overlays name the layer by the
// same short link, and neither container has a copy in its upper/.
TEST(Ch04, ContainersShareTheImageLayers) {
    MINIDOCKER_REQUIRE_ROOT();
    // Both start at once: the first use of `busybox` makes the image, under
    // the store's lock; the two runtimes must agree on one image.
    Background a = start({"run", "--name", "a", "busybox", "sleep", "30"});
    Background b = start({"run", "--name", "b", "busybox", "sleep", "30"});
    pid_t pa = a.container_pid("sleep");
    pid_t pb = b.container_pid("sleep");
    ASSERT_GT(pa, 0);
    ASSERT_GT(pb, 0);
    std::vector<std::string> layers = image_layers("busybox");
    ASSERT_EQ(layers.size(), 1u);
    EXPECT_EQ(names_in(store("layers")), std::set<std::string>{layers[0]});
    std::string layer_file = store("layers/" + layers[0] + "/bin/busybox");

    struct stat in_a {};
    struct stat in_b {};
    struct stat in_layer {};
    ASSERT_EQ(::stat(("/proc/" + std::to_string(pa) + "/root/bin/busybox").c_str(), &in_a), 0);
    ASSERT_EQ(::stat(("/proc/" + std::to_string(pb) + "/root/bin/busybox").c_str(), &in_b), 0);
    ASSERT_EQ(::stat(layer_file.c_str(), &in_layer), 0);
    EXPECT_EQ(in_a.st_ino, in_layer.st_ino);
    EXPECT_EQ(in_b.st_ino, in_layer.st_ino);
    // Two overlay mounts (two devices), one file under both.
    EXPECT_NE(in_a.st_dev, in_b.st_dev);
    EXPECT_NE(in_a.st_dev, in_layer.st_dev);

    // Both overlays stack their own init layer on the same short link.
    std::string short_link = "l/" + layers[0].substr(0, 16);
    EXPECT_EQ(fs::read_symlink(store(short_link)).string(), "../layers/" + layers[0]);
    for (auto [name, pid] : std::vector<std::pair<std::string, pid_t>>{{"a", pa}, {"b", pb}}) {
        SCOPED_TRACE(name);
        std::string id = container_id(name);
        ASSERT_EQ(id.size(), 64u);
        std::string options = root_overlay_options(pid);
        EXPECT_NE(options.find("lowerdir=containers/" + id + "/init:" + short_link), std::string::npos) << options;
        EXPECT_NE(options.find("upperdir=containers/" + id + "/upper"), std::string::npos) << options;
        EXPECT_FALSE(fs::exists(store("containers/" + id + "/upper/bin/busybox")));
    }
    EXPECT_NE(container_id("a"), container_id("b"));
}

// Claim: a container never modifies a layer directory. Every layer is
// checksummed (path, mode, owner, size, times, xattrs, content, link target)
// before and after a container that rewrites, appends to, chmods, chowns,
// renames, hard-links and deletes files, deletes and recreates directories
// and creates new ones: the snapshots are identical.
TEST(Ch04, LayersAreNeverModified) {
    MINIDOCKER_REQUIRE_ROOT();
    TempDir src;
    make_tree(src.path() + "/extra", {{"extra/mode-file", "mode\n"},
                                      {"extra/owned", "owned\n"},
                                      {"extra/touched", "touched\n"},
                                      {"extra/gone", "gone\n"},
                                      {"extra/moved", "moved\n"},
                                      {"extra/linked", "linked\n"},
                                      {"extra/truncated", "some bytes\n"},
                                      {"extra/dir/a", "a\n"},
                                      {"extra/dir/sub/b", "b\n"}});
    Result r = runtime({"import", rootfs_path(), "probeimg"});
    ASSERT_EQ(r.code, 0) << r.err;
    r = runtime({"import", "--base", "probeimg", src.path() + "/extra", "rich"});
    ASSERT_EQ(r.code, 0) << r.err;
    ASSERT_EQ(image_layers("rich").size(), 2u);

    std::map<std::string, std::string> before = snapshot(store("layers"));
    ASSERT_GT(before.size(), 100u);
    std::string script =
        "set -e; echo rewritten > /etc/passwd; echo appended >> /etc/group; chmod 600 /extra/mode-file; "
        "chown 65534:65534 /extra/owned; touch /extra/touched; rm /bin/ls /extra/gone; rm -rf /usr; "
        "rm -rf /extra/dir; mkdir /extra/dir; echo again > /extra/dir/new; mv /extra/moved /extra/moved-to; "
        "ln /extra/linked /extra/hardlink; echo more >> /extra/hardlink; truncate -s 0 /extra/truncated; "
        "chmod 700 /bin/busybox; echo new > /new-file; mkdir -p /new/dir; echo done";
    r = runtime({"run", "--name", "writer", "rich", "sh", "-c", script});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "done\n");
    // It did write: the changes are in its upper layer.
    std::string upper = container_dir("writer") + "/upper";
    EXPECT_TRUE(fs::exists(upper + "/etc/passwd"));
    EXPECT_TRUE(is_whiteout(upper + "/usr"));
    EXPECT_TRUE(is_whiteout(upper + "/extra/gone"));
    // And a second container still sees the image as it was.
    r = runtime({"run", "--rm", "rich", "sh", "-c", "cat /etc/passwd /extra/gone /extra/truncated; ls -d /usr/bin"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, read_file(rootfs_path() + "/etc/passwd") + "gone\nsome bytes\n/usr/bin\n");

    std::map<std::string, std::string> after = snapshot(store("layers"));
    EXPECT_TRUE(before == after) << snapshot_diff(before, after);
}

// Claim: what a container writes lands only in its own upper/, not in any
// layer and not in another container's upper/; a deleted image file is a
// whiteout (character device 0/0) in upper/; `diff` says A, C and D, and
// after `rm -rf dir; mkdir dir` the old entries are reported deleted.
TEST(Ch04, WritesGoToTheContainersUpperLayer) {
    MINIDOCKER_REQUIRE_ROOT();
    std::string marker = "only-in-a-" + std::to_string(::getpid());
    std::string script = "set -e; echo hello > /" + marker +
                         "; rm /etc/passwd; echo appended >> /etc/group; rm -rf /usr; mkdir /usr; "
                         "echo f > /usr/f";
    Result r = runtime({"run", "--name", "a", "busybox", "sh", "-c", script});
    ASSERT_EQ(r.code, 0) << r.err;
    r = runtime({"run", "--name", "b", "busybox", "sh", "-c", "echo b > /only-in-b"});
    ASSERT_EQ(r.code, 0) << r.err;

    std::string upper_a = container_dir("a") + "/upper";
    std::string upper_b = container_dir("b") + "/upper";
    EXPECT_EQ(read_file(upper_a + "/" + marker), "hello\n");
    EXPECT_TRUE(find_named(store("layers"), marker).empty());
    EXPECT_TRUE(find_named(upper_b, marker).empty());
    EXPECT_EQ(find_named(store("containers"), marker).size(), 1u);
    EXPECT_TRUE(fs::exists(upper_b + "/only-in-b"));
    EXPECT_FALSE(fs::exists(upper_a + "/only-in-b"));

    // The deleted file: a whiteout in a's upper; still in the layer.
    EXPECT_TRUE(is_whiteout(upper_a + "/etc/passwd"));
    EXPECT_TRUE(fs::is_regular_file(store("layers/" + image_layers("busybox")[0] + "/etc/passwd")));
    EXPECT_FALSE(fs::exists(upper_b + "/etc/passwd"));

    r = runtime({"diff", "a"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out,
              "C /etc\n"
              "C /etc/group\n"
              "D /etc/passwd\n"
              "A /" +
                  marker +
                  "\n"
                  "C /usr\n"
                  "D /usr/bin\n"
                  "A /usr/f\n");
    r = runtime({"diff", "b"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "A /only-in-b\n");
    // By id, too (a unique prefix, as Docker allows).
    r = runtime({"diff", container_id("b").substr(0, 12)});
    EXPECT_EQ(r.out, "A /only-in-b\n") << r.err;
}

// Claim: only a --rm container's overlay is "volatile" (no sync of upper/
// when it is unmounted): its upper/ is thrown away; a container that stays
// keeps the kernel's sync, for `diff` and `commit` after a crash.
TEST(Ch04, OnlyRmContainersSkipTheSync) {
    MINIDOCKER_REQUIRE_ROOT();
    const std::string show_root = "grep ' / / ' /proc/self/mountinfo";
    Result r = runtime({"run", "--rm", "busybox", "sh", "-c", show_root});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find(" overlay "), std::string::npos) << r.out;
    // ("volatile", or "fsync=volatile" as Linux 6.x shows it)
    EXPECT_NE(r.out.find("volatile"), std::string::npos) << r.out;
    r = runtime({"run", "--name", "stays", "busybox", "sh", "-c", show_root});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find(" overlay "), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("volatile"), std::string::npos) << r.out;
    EXPECT_FALSE(fs::exists(container_dir("stays") + "/work/work/incompat/volatile"));
}

// Claim: the init layer gives each container its own /etc/hostname and
// /etc/hosts (its -h name, or by default the first 12 digits of its id),
// and they are not copied into upper/: after `true`, upper/ is empty. Only
// when the user changes /etc/hosts is it in upper/, and `diff` says so.
TEST(Ch04, InitLayerHoldsTheContainersOwnFiles) {
    MINIDOCKER_REQUIRE_ROOT();
    Result r = runtime({"run", "--name", "named", "-h", "box", "busybox", "sh", "-c",
                        "cat /etc/hostname; echo ---; cat /etc/hosts; echo ---; hostname"});
    ASSERT_EQ(r.code, 0) << r.err;
    std::vector<std::string> parts = sections(r.out);
    ASSERT_EQ(parts.size(), 3u) << r.out;
    EXPECT_EQ(parts[0], "box\n");
    EXPECT_TRUE(hosts_names(parts[1]).count("box")) << parts[1];
    EXPECT_TRUE(hosts_names(parts[1]).count("localhost")) << parts[1];
    EXPECT_EQ(parts[2], "box\n");

    r = runtime({"run", "--name", "default", "busybox", "sh", "-c",
                 "cat /etc/hostname; echo ---; cat /etc/hosts; echo ---; hostname"});
    ASSERT_EQ(r.code, 0) << r.err;
    std::string id = container_id("default");
    ASSERT_EQ(id.size(), 64u);
    std::string host = id.substr(0, 12);
    parts = sections(r.out);
    ASSERT_EQ(parts.size(), 3u) << r.out;
    EXPECT_EQ(parts[0], host + "\n");
    EXPECT_TRUE(hosts_names(parts[1]).count(host)) << parts[1];
    EXPECT_FALSE(hosts_names(parts[1]).count("box")) << parts[1];
    EXPECT_EQ(parts[2], host + "\n");
    // Each container read its own files, from its init layer: nothing was
    // copied up, and the image has no /etc/hostname at all.
    EXPECT_EQ(read_file(container_dir("named") + "/init/etc/hostname"), "box\n");
    EXPECT_EQ(read_file(container_dir("default") + "/init/etc/hostname"), host + "\n");
    EXPECT_EQ(names_in(container_dir("named") + "/upper"), std::set<std::string>{});
    EXPECT_EQ(names_in(container_dir("default") + "/upper"), std::set<std::string>{});
    std::string layer = store("layers/" + image_layers("busybox")[0]);
    EXPECT_FALSE(fs::exists(layer + "/etc/hostname"));
    EXPECT_FALSE(fs::exists(layer + "/etc/hosts"));

    // Nothing the runtime mounts or writes is copied up.
    r = runtime({"run", "--name", "idle", "busybox", "true"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(names_in(container_dir("idle") + "/upper"), std::set<std::string>{});
    r = runtime({"diff", "idle"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "");

    // A change by the user is a copy-up, of that file only.
    r = runtime({"run", "--name", "edited", "-h", "web", "busybox", "sh", "-c", "echo '10.0.0.2\tdb' >> /etc/hosts"});
    ASSERT_EQ(r.code, 0) << r.err;
    std::string dir = container_dir("edited");
    EXPECT_EQ(names_in(dir + "/upper"), std::set<std::string>{"etc"});
    EXPECT_EQ(names_in(dir + "/upper/etc"), std::set<std::string>{"hosts"});
    std::string hosts = read_file(dir + "/upper/etc/hosts");
    EXPECT_NE(hosts.find("\tweb\n"), std::string::npos) << hosts;
    EXPECT_NE(hosts.find("10.0.0.2\tdb\n"), std::string::npos) << hosts;
    // The init layer's own copy is a lower layer: unchanged.
    EXPECT_EQ(read_file(dir + "/init/etc/hosts").find("db"), std::string::npos);
    r = runtime({"diff", "edited"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "C /etc\nC /etc/hosts\n");
}

// Claim: an image of 60 layers (on busybox's) starts and stacks them in
// order; with absolute layer paths its overlay options would not fit in the
// page mount(2) copies, so this proves the short-link handling.
TEST(Ch04, SixtyLayerImageStarts) {
    MINIDOCKER_REQUIRE_ROOT();
    TempDir src;
    std::string base = "busybox";
    for (int i = 1; i <= 60; ++i) {
        std::string dir = src.path() + "/" + std::to_string(i);
        make_tree(dir, {{"layer" + std::to_string(i), std::to_string(i) + "\n"}, {"top", std::to_string(i) + "\n"}});
        std::string name = "stack" + std::to_string(i);
        Result r = runtime({"import", "--base", base, dir, name});
        ASSERT_EQ(r.code, 0) << "layer " << i << ": " << r.err;
        base = name;
    }
    std::vector<std::string> layers = image_layers("stack60");
    ASSERT_EQ(layers.size(), 61u);
    EXPECT_EQ(std::set<std::string>(layers.begin(), layers.end()).size(), 61u);

    Result r = runtime({"run", "--name", "tall", "stack60", "cat", "/layer1", "/layer60", "/top"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "1\n60\n60\n");

    // What the options would have been with absolute paths.
    std::string root = fs::canonical(state_root()).string();
    std::string id = container_id("tall");
    ASSERT_EQ(id.size(), 64u);
    std::string lowerdir = root + "/containers/" + id + "/init";
    for (auto it = layers.rbegin(); it != layers.rend(); ++it) {
        lowerdir += ":" + root + "/layers/" + *it;
    }
    std::string absolute = "lowerdir=" + lowerdir + ",upperdir=" + root + "/containers/" + id +
                           "/upper,workdir=" + root + "/containers/" + id +
                           "/work,redirect_dir=off,metacopy=off,index=off";
    EXPECT_GE(absolute.size(), static_cast<size_t>(::sysconf(_SC_PAGESIZE)))
        << "the test's image is too small to prove anything";
}

// Claim: `import` refuses a tar with "../x", "/abs", a relative symbolic link
// that climbs out of the layer, an entry written through a symbolic link
// (absolute, or relative through another link), or a hard link to outside: exit code 125, one line naming the entry,
// nothing written outside the store, no new layer or image, nothing left in
// $ROOT/tmp.
TEST(Ch04, ImportRefusesEscapingTars) {
    MINIDOCKER_REQUIRE_ROOT();
    TempDir work;
    TempDir outside;
    std::string secret = outside.path() + "/secret";
    std::ofstream(secret) << "host secret\n";
    std::string out_rel = outside.path().substr(1);  // "tmp/minidocker-tmp-XXXXXX"

    // Layers are extracted in $ROOT/tmp/XXXXXX: this many ".." reach "/".
    Result r = runtime({"images"});
    ASSERT_EQ(r.code, 0) << r.err;
    std::string root = fs::canonical(state_root()).string();
    size_t depth = static_cast<size_t>(std::count(root.begin(), root.end(), '/')) + 2;
    std::string up;
    std::string down;
    for (size_t i = 0; i < depth; ++i) {
        up += "../";
        down += "a/";
    }
    // "a/a/a/a/l" -> the layer's root; "esc" -> through it, up to "/" and
    // into `outside`. Read by name, "esc" never climbs above the layer; on
    // disk it does, so the entry written through it must still be refused.
    const std::vector<TarEntry> chain = {
        {down + "l", 'l', up}, {"esc", 'l', down + "l/" + up + out_rel}, {"esc/file", 'f', "x\n"}};

    struct Case {
        std::string name;
        std::vector<TarEntry> entries;
        std::string says;  // the entry the message names
    };
    const std::vector<Case> cases = {
        {"dotdot", {{"ok", 'f', "fine\n"}, {"../x", 'f', "x\n"}}, "../x"},
        {"dotdot-deep", {{up + out_rel + "/dotdot", 'f', "x\n"}}, up + out_rel},
        {"dotdot-inside", {{"a/", 'd', "", 0755}, {"a/../../escaped", 'f', "x\n"}}, "a/../../escaped"},
        {"absolute", {{outside.path() + "/abs", 'f', "x\n"}}, outside.path() + "/abs"},
        {"relative-symlink", {{"evil", 'l', up + out_rel}, {"evil/file", 'f', "x\n"}}, "evil"},
        {"relative-symlink-etc", {{"etc/evil", 'l', "../../../../etc"}}, "etc/evil"},
        {"absolute-symlink-then-file", {{"link", 'l', outside.path()}, {"link/file", 'f', "x\n"}}, "link/file"},
        {"absolute-symlink-dir-then-file",
         {{"d", 'd', "", 0755}, {"d/link", 'l', outside.path()}, {"d/link/sub/file", 'f', "x\n"}},
         "d/link/sub/file"},
        {"hardlink-dotdot", {{"h", 'h', "../secret"}}, "h"},
        {"hardlink-absolute", {{"h", 'h', secret}}, "h"},
        {"hardlink-through-symlink", {{"link", 'l', outside.path()}, {"h", 'h', "link/secret"}}, "h"},
        {"symlink-chain-then-file", chain, "esc/file"},
    };
    std::set<std::string> layers = names_in(store("layers"));
    std::set<std::string> links = names_in(store("l"));
    std::set<std::string> images = names_in(store("images"));
    for (const Case& c : cases) {
        SCOPED_TRACE(c.name);
        for (bool gzip : {false, true}) {
            std::string tar = work.path() + "/" + c.name + (gzip ? ".tar.gz" : ".tar");
            write_tar(tar, c.entries, gzip);
            r = runtime({"import", tar, "evil"});
            EXPECT_EQ(r.code, 125) << r.out << r.err;
            EXPECT_TRUE(one_line(r.err)) << r.err;
            EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
            EXPECT_EQ(names_in(outside.path()), std::set<std::string>{"secret"});
            EXPECT_EQ(read_file(secret), "host secret\n");
            struct stat st {};
            EXPECT_EQ(::stat(secret.c_str(), &st), 0);
            EXPECT_EQ(st.st_nlink, 1u) << "a hard link to a host file was made";
            EXPECT_FALSE(fs::exists(store("x")));
            EXPECT_FALSE(fs::exists(store("tmp/x")));
            EXPECT_EQ(names_in(store("layers")), layers);
            EXPECT_EQ(names_in(store("l")), links);
            EXPECT_EQ(names_in(store("images")), images);
            EXPECT_EQ(names_in(store("tmp")), std::set<std::string>{});
            EXPECT_EQ(names_in(work.path()), std::set<std::string>{fs::path(tar).filename()});
            fs::remove(tar);
        }
    }
}

// Claim: a well-formed tar (gzip-compressed or not, or on standard input)
// imports, with its files, modes, symbolic links (an absolute one is fine: it
// resolves in the container), hard links and OCI whiteouts (made overlayfs
// whiteouts and opaque directories); the same content imported again is the
// same layer.
TEST(Ch04, ImportOfAGoodTarAndDedupe) {
    MINIDOCKER_REQUIRE_ROOT();
    TempDir work;
    const std::vector<TarEntry> entries = {
        {"./", 'd', "", 0755},
        {"hello/", 'd', "", 0755},
        {"hello/world.txt", 'f', "hello, world\n", 0640},
        {"hello/link", 'l', "world.txt", 0777},
        {"hello/hard", 'h', "hello/world.txt", 0640},
        {"abs-link", 'l', "/bin/busybox", 0777},
        {"bin/", 'd', "", 0755},
        {"bin/tool", 'f', "#!/bin/sh\necho tool ran\n", 0755},
        // OCI whiteouts: /etc/group of the layer below is deleted; /usr's
        // entries below are hidden (an "opaque" directory).
        {"etc/", 'd', "", 0755},
        {"etc/.wh.group", 'f', ""},
        {"usr/", 'd', "", 0755},
        {"usr/.wh..wh..opq", 'f', ""},
        {"usr/only", 'f', "only\n"},
    };
    std::string gz = work.path() + "/good.tar.gz";
    std::string plain = work.path() + "/good.tar";
    write_tar(gz, entries, true);
    write_tar(plain, entries, false);

    Result r = runtime({"import", "--base", "busybox", gz, "good:v1"});
    ASSERT_EQ(r.code, 0) << r.err;
    std::vector<std::string> layers = image_layers("good", "v1");
    ASSERT_EQ(layers.size(), 2u);
    EXPECT_EQ(layers[0], image_layers("busybox")[0]);
    nlohmann::json image = read_json(store("images/good:v1.json"));
    EXPECT_EQ(r.out, "sha256:" + image.at("id").get<std::string>() + "\n");

    r = runtime({"run", "--rm", "good:v1", "sh", "-c",
                 "cat /hello/world.txt /hello/link /hello/hard; stat -c '%a %h' /hello/world.txt; "
                 "readlink /abs-link; tool; ls /usr; test -e /etc/group || echo no group"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "hello, world\nhello, world\nhello, world\n640 2\n/bin/busybox\ntool ran\nonly\nno group\n");
    // On disk, the whiteouts are overlayfs' own marks.
    std::string top = store("layers/" + layers[1]);
    EXPECT_TRUE(is_whiteout(top + "/etc/group"));
    EXPECT_FALSE(fs::exists(top + "/etc/.wh.group"));
    char opaque[2] = {};
    EXPECT_EQ(::lgetxattr((top + "/usr").c_str(), "trusted.overlay.opaque", opaque, sizeof opaque), 1);
    EXPECT_EQ(opaque[0], 'y');
    EXPECT_FALSE(fs::exists(top + "/usr/.wh..wh..opq"));
    // A file the image deleted and the container makes again is new to it.
    r = runtime({"run", "--name", "regroup", "good:v1", "sh", "-c", "echo g > /etc/group"});
    EXPECT_EQ(r.code, 0) << r.err;
    r = runtime({"diff", "regroup"});
    EXPECT_EQ(r.out, "C /etc\nA /etc/group\n") << r.err;

    // The same content, as another image, compressed or not: the same layer.
    r = runtime({"import", gz, "same:1"});
    ASSERT_EQ(r.code, 0) << r.err;
    r = runtime({"import", plain, "same:2"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(image_layers("same", "1"), std::vector<std::string>{layers[1]});
    EXPECT_EQ(image_layers("same", "2"), std::vector<std::string>{layers[1]});
    // And from standard input, as `import - NAME`.
    r = run(runtime_argv({"import", "-", "same:3"}), read_file(plain));
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(image_layers("same", "3"), std::vector<std::string>{layers[1]});
    EXPECT_EQ(names_in(store("layers")), (std::set<std::string>{layers[0], layers[1]}));
    EXPECT_EQ(names_in(store("tmp")), std::set<std::string>{});
    r = runtime({"images"});
    EXPECT_EQ(r.code, 0) << r.err;
    for (const char* name : {"busybox", "good", "same"}) {
        EXPECT_NE(r.out.find(name), std::string::npos) << r.out;
    }
}

// Claim: the layer id depends on the content only, also for a tar without
// entries for its directories (as `tar cf x.tar dir/file` makes): the same
// tar imported twice, a second apart and under another umask, is one layer,
// whose unlisted directories are 0755.
TEST(Ch04, SameTarWithoutDirectoryEntriesIsOneLayer) {
    MINIDOCKER_REQUIRE_ROOT();
    TempDir work;
    std::string tar = work.path() + "/implicit.tar";
    write_tar(tar, {{"dir/sub/file", 'f', "content\n"}});
    Result r;
    {
        ScopedUmask mask(022);
        r = runtime({"import", tar, "implicit:1"});
        ASSERT_EQ(r.code, 0) << r.err;
    }
    ::usleep(1100 * 1000);  // layer times are whole seconds
    {
        ScopedUmask mask(077);
        r = runtime({"import", tar, "implicit:2"});
        ASSERT_EQ(r.code, 0) << r.err;
    }
    EXPECT_EQ(image_layers("implicit", "1"), image_layers("implicit", "2"));
    EXPECT_EQ(names_in(store("layers")).size(), 1u);
    for (const std::string& layer : names_in(store("layers"))) {
        for (const char* sub : {"/dir", "/dir/sub"}) {
            struct stat st {};
            ASSERT_EQ(::lstat(store("layers/" + layer + sub).c_str(), &st), 0);
            EXPECT_EQ(st.st_mode & 07777, 0755u) << layer << sub;
        }
    }
}

// Claim: what the runtime makes does not depend on the umask it runs under
// (dockerd sets 022 for this reason): the built-in busybox image and the init
// layer get their fixed modes, so a user other than root can run programs and
// read /etc in the container, and the same busybox is the same layer.
TEST(Ch04, UmaskDoesNotLeakIntoImagesOrInitLayer) {
    MINIDOCKER_REQUIRE_ROOT();
    std::string script =
        "stat -c '%a %n' / /bin /etc /etc/passwd /etc/hostname /etc/hosts /etc/resolv.conf; "
        "su -s /bin/sh nobody -c 'cat /etc/hostname'";
    Result r;
    {
        ScopedUmask mask(077);
        r = runtime({"run", "--rm", "-h", "box", "busybox", "sh", "-c", script});
    }
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out,
              "755 /\n755 /bin\n755 /etc\n644 /etc/passwd\n644 /etc/hostname\n644 /etc/hosts\n644 "
              "/etc/resolv.conf\nbox\n")
        << r.err;
    TempDir other;
    {
        ScopedUmask mask(022);
        r = run({binary(), "--root", other.path(), "run", "--rm", "busybox", "true"});
        ASSERT_EQ(r.code, 0) << r.err;
    }
    nlohmann::json there = read_json(other.path() + "/images/busybox:latest.json");
    EXPECT_EQ(image_layers("busybox"), there.at("layers").get<std::vector<std::string>>());
}

// Claim: containers, names, images and layers live as Docker's commands say:
// without --rm the directory stays, with the state "exited" and the exit
// code; `rm` removes it and its name; --rm leaves nothing; a name is taken
// once; `rmi` is refused while a container uses the image and then deletes
// only the layers no other image uses.
TEST(Ch04, ContainerAndImageLifecycle) {
    MINIDOCKER_REQUIRE_ROOT();
    Result r = runtime({"run", "--name", "three", "busybox", "sh", "-c", "exit 3"});
    EXPECT_EQ(r.code, 3) << r.err;
    std::string id = container_id("three");
    ASSERT_EQ(id.size(), 64u);
    std::string dir = store("containers/" + id);
    for (const char* sub : {"config.json", "state.json", "init", "upper", "work", "merged"}) {
        EXPECT_TRUE(fs::exists(dir + "/" + sub)) << sub;
    }
    nlohmann::json state = read_json(dir + "/state.json");
    EXPECT_EQ(state.value("Status", ""), "exited") << state.dump();
    EXPECT_EQ(state.value("ExitCode", -1), 3) << state.dump();
    nlohmann::json config = read_json(dir + "/config.json");
    EXPECT_EQ(config.value("Id", ""), id);
    EXPECT_EQ(config.value("Name", ""), "three");

    r = runtime({"rm", "three"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_FALSE(fs::exists(dir));
    EXPECT_EQ(names_in(store("names")), std::set<std::string>{});
    EXPECT_EQ(names_in(store("containers")), std::set<std::string>{});
    r = runtime({"rm", "three"});
    EXPECT_EQ(r.code, 125);
    EXPECT_NE(r.err.find("No such container"), std::string::npos) << r.err;

    // --rm: nothing remains, whatever the exit code.
    r = runtime({"run", "--rm", "--name", "gone", "busybox", "sh", "-c", "echo x > /f; exit 5"});
    EXPECT_EQ(r.code, 5) << r.err;
    r = runtime({"run", "--rm", "busybox", "no-such-command"});
    EXPECT_EQ(r.code, 127) << r.err;
    EXPECT_EQ(names_in(store("containers")), std::set<std::string>{});
    EXPECT_EQ(names_in(store("names")), std::set<std::string>{});

    // A name is taken once, while its container exists.
    r = runtime({"run", "--name", "web", "busybox", "true"});
    ASSERT_EQ(r.code, 0) << r.err;
    std::string web = container_id("web");
    r = runtime({"run", "--name", "web", "busybox", "true"});
    EXPECT_EQ(r.code, 125);
    EXPECT_TRUE(one_line(r.err)) << r.err;
    EXPECT_NE(r.err.find("\"web\""), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("in use"), std::string::npos) << r.err;
    EXPECT_EQ(names_in(store("containers")), std::set<std::string>{web});
    EXPECT_EQ(container_id("web"), web);

    // While it runs, state.json says so; it cannot be removed; killed, it
    // is "exited" with 128+9.
    {
        Background live = start({"run", "--name", "live", "busybox", "sleep", "30"});
        pid_t pid = live.container_pid("sleep");
        ASSERT_GT(pid, 0);
        std::string live_dir = container_dir("live");
        state = read_json(live_dir + "/state.json");
        EXPECT_EQ(state.value("Status", ""), "running") << state.dump();
        EXPECT_EQ(state.value("Pid", 0), pid) << state.dump();
        r = runtime({"rm", "live"});
        EXPECT_EQ(r.code, 125);
        EXPECT_NE(r.err.find("running"), std::string::npos) << r.err;
        EXPECT_TRUE(fs::exists(live_dir + "/config.json"));
        ::kill(pid, SIGKILL);
        EXPECT_EQ(live.wait().code, 137);
        state = read_json(live_dir + "/state.json");
        EXPECT_EQ(state.value("Status", ""), "exited") << state.dump();
        EXPECT_EQ(state.value("ExitCode", -1), 137) << state.dump();
    }
    r = runtime({"rm", "live"});
    EXPECT_EQ(r.code, 0) << r.err;
    // --rm, killed: nothing remains either.
    {
        Background doomed = start({"run", "--rm", "--name", "doomed", "busybox", "sleep", "30"});
        pid_t pid = doomed.container_pid("sleep");
        ASSERT_GT(pid, 0);
        EXPECT_EQ(names_in(store("containers")).size(), 2u);
        ::kill(pid, SIGKILL);
        EXPECT_EQ(doomed.wait().code, 137);
    }
    EXPECT_EQ(names_in(store("containers")), std::set<std::string>{web});
    EXPECT_EQ(names_in(store("names")), std::set<std::string>{"web"});

    // rmi: refused while `web` uses busybox; after `rm web`, it goes.
    std::string busybox_layer = image_layers("busybox")[0];
    r = runtime({"rmi", "busybox"});
    EXPECT_EQ(r.code, 125);
    EXPECT_TRUE(one_line(r.err)) << r.err;
    EXPECT_NE(r.err.find("web"), std::string::npos) << r.err;
    EXPECT_TRUE(fs::exists(store("images/busybox:latest.json")));
    EXPECT_TRUE(fs::exists(store("layers/" + busybox_layer)));
    r = runtime({"rm", "web"});
    EXPECT_EQ(r.code, 0) << r.err;
    r = runtime({"rmi", "busybox"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(names_in(store("images")), std::set<std::string>{});
    EXPECT_EQ(names_in(store("layers")), std::set<std::string>{});
    EXPECT_EQ(names_in(store("l")), std::set<std::string>{});

    // Two images sharing a base layer: removing the top one keeps the base.
    TempDir src;
    make_tree(src.path() + "/base", {{"base-file", "base\n"}});
    make_tree(src.path() + "/top", {{"top-file", "top\n"}});
    r = runtime({"import", src.path() + "/base", "base:1"});
    ASSERT_EQ(r.code, 0) << r.err;
    r = runtime({"import", "--base", "base:1", src.path() + "/top", "top:1"});
    ASSERT_EQ(r.code, 0) << r.err;
    std::vector<std::string> top = image_layers("top", "1");
    ASSERT_EQ(top.size(), 2u);
    EXPECT_EQ(top[0], image_layers("base", "1")[0]);
    r = runtime({"rmi", "top:1"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(names_in(store("layers")), std::set<std::string>{top[0]});
    EXPECT_EQ(names_in(store("l")), std::set<std::string>{top[0].substr(0, 16)});
    EXPECT_EQ(read_file(store("layers/" + top[0] + "/base-file")), "base\n");
    EXPECT_EQ(names_in(store("images")), std::set<std::string>{"base:1.json"});
    r = runtime({"rmi", "base:1"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(names_in(store("layers")), std::set<std::string>{});
    r = runtime({"rmi", "base:1"});
    EXPECT_EQ(r.code, 125);
    EXPECT_NE(r.err.find("No such image"), std::string::npos) << r.err;
}

// Claim: without the host's static busybox, the built-in image cannot be
// made, and the runtime says which package provides it (and makes nothing).
TEST(Ch04, MissingBusyboxSaysWhatToInstall) {
    MINIDOCKER_REQUIRE_ROOT();
    {
        ScopedEnv env("MINIDOCKER_BUSYBOX", "/nonexistent");
        Result r = runtime({"run", "busybox", "true"});
        EXPECT_EQ(r.code, 125);
        EXPECT_TRUE(one_line(r.err)) << r.err;
        EXPECT_NE(r.err.find("busybox-static"), std::string::npos) << r.err;
    }
    {
        // A dynamically linked program would not run in the image.
        ScopedEnv env("MINIDOCKER_BUSYBOX", "/bin/ls");
        Result r = runtime({"run", "busybox", "true"});
        EXPECT_EQ(r.code, 125);
        EXPECT_TRUE(one_line(r.err)) << r.err;
        EXPECT_NE(r.err.find("busybox-static"), std::string::npos) << r.err;
    }
    EXPECT_EQ(names_in(store("images")), std::set<std::string>{});
    EXPECT_EQ(names_in(store("layers")), std::set<std::string>{});
    EXPECT_EQ(names_in(store("containers")), std::set<std::string>{});
    EXPECT_EQ(names_in(store("names")), std::set<std::string>{});
    EXPECT_EQ(names_in(store("tmp")), std::set<std::string>{});
}

// Claim: --trace shows the init-layer writes before the clone, and the
// overlay mount, with relative lowerdir entries (init layer, then l/ short
// links) and the options that keep upper/ a plain diff, before pivot_root.
TEST(Ch04, TraceShowsInitLayerAndOverlayMount) {
    MINIDOCKER_REQUIRE_ROOT();
    Result r = run(with_trace({"run", "-h", "box", "busybox", "true"}));
    ASSERT_EQ(r.code, 0) << r.err;
    const std::string tag = "[04 overlay] ";
    std::vector<std::string> mounts;
    for (const std::string& line : lines(r.err)) {
        if (line.rfind(tag + "mount(\"overlay\", ", 0) == 0) {
            mounts.push_back(line);
        }
    }
    ASSERT_EQ(mounts.size(), 1u) << r.err;
    const std::string& mount = mounts[0];
    for (const char* part : {"lowerdir=containers/", "/init:l/", ",upperdir=containers/", ",workdir=containers/",
                             "redirect_dir=off", "metacopy=off", "index=off", ") = 0"}) {
        EXPECT_NE(mount.find(part), std::string::npos) << part << "\n" << mount;
    }
    EXPECT_EQ(mount.find("lowerdir=/"), std::string::npos) << mount;

    // The init layer is written on the host before the clone; the overlay
    // is mounted in the child, before the root switch.
    auto position = [&](const std::string& what) {
        size_t at = r.err.find(what);
        EXPECT_NE(at, std::string::npos) << "missing: " << what << "\n" << r.err;
        return at;
    };
    size_t hostname = position(tag + "init layer: /etc/hostname");
    size_t hosts = position(tag + "init layer: /etc/hosts");
    size_t clone = position("] clone");  // clone( or clone3(
    size_t overlay = position(mount);
    size_t pivot = position("] pivot_root(");
    EXPECT_LT(hostname, clone) << r.err;
    EXPECT_LT(hosts, clone) << r.err;
    EXPECT_LT(clone, overlay) << r.err;
    EXPECT_LT(overlay, pivot) << r.err;
}

// Claim: the overlay lives only in the container's mount namespace: under an
// rshared "/" (as on systemd hosts), image containers leave the mount table
// as it was; and while one runs, the host's table has no mount of the store.
TEST(Ch04, NoMountLeaksEvenWhenRootIsShared) {
    MINIDOCKER_REQUIRE_ROOT();
    std::string ch = binary() + " --root " + state_root();
    MountTables t = mount_tables_around(ch + " run busybox true; " + ch + " run --rm busybox true; " + ch +
                                        " run --name n busybox sh -c 'echo x > /x'; " + ch + " diff n >/dev/null; " +
                                        ch + " rm n >/dev/null");
    ASSERT_EQ(t.result.code, 0) << t.result.err;
    ASSERT_NE(t.before.find("shared:"), std::string::npos) << "the test failed to make / shared";
    EXPECT_EQ(t.before, t.after);

    std::string host = read_file("/proc/self/mountinfo");
    Background c = start({"run", "busybox", "sleep", "30"});
    pid_t pid = c.container_pid("sleep");
    ASSERT_GT(pid, 0);
    EXPECT_NE(root_overlay_options(pid), "");
    // (Other programs may mount things meanwhile: only new overlays count.)
    std::string during = read_file("/proc/self/mountinfo");
    EXPECT_EQ(during.find(state_root()), std::string::npos) << during;
    for (const std::string& line : lines(during)) {
        if (host.find(line) == std::string::npos) {
            EXPECT_EQ(line.find(" - overlay "), std::string::npos) << "an overlay on the host: " << line;
        }
    }
}

// Claim: exit codes follow Docker: 125 when the runtime fails (unknown
// image; a path where an image belongs, with a hint about "--"), 127 when
// the command is not in the image, else the command's own.
TEST(Ch04, ExitCodes) {
    MINIDOCKER_REQUIRE_ROOT();
    Result r = runtime({"run", "no-such-image"});
    EXPECT_EQ(r.code, 125);
    EXPECT_TRUE(one_line(r.err)) << r.err;
    EXPECT_NE(r.err.find("No such image"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("no-such-image"), std::string::npos) << r.err;

    r = runtime({"run", "--name", "missing", "busybox", "no-such-cmd"});
    EXPECT_EQ(r.code, 127) << r.err;
    EXPECT_NE(r.err.find("no-such-cmd"), std::string::npos) << r.err;
    nlohmann::json state = read_json(container_dir("missing") + "/state.json");
    EXPECT_EQ(state.value("Status", ""), "exited") << state.dump();
    EXPECT_EQ(state.value("ExitCode", -1), 127) << state.dump();

    r = runtime({"run", "/bin/sh"});
    EXPECT_EQ(r.code, 125);
    EXPECT_TRUE(one_line(r.err)) << r.err;
    EXPECT_NE(r.err.find("\"--\""), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("-- /bin/sh"), std::string::npos) << r.err;

    r = runtime({"run", "busybox", "sh", "-c", "exit 42"});
    EXPECT_EQ(r.code, 42) << r.err;
    // Neither failure left a container or a name behind.
    EXPECT_EQ(names_in(store("names")).size(), 2u);
    EXPECT_EQ(names_in(store("containers")).size(), 2u);
}

// Claim: the init layer holds the mount points that chapters 01 and 03 mount
// on (/proc, /sys, /dev), so an image that lacks them runs all the same, and
// the runtime's mounts write nothing into the container's own layer: after a
// run, upper/ is empty and `diff` says nothing. An image that has them (the
// busybox one) needs none: its init layer holds only etc/.
TEST(Ch04, InitLayerProvidesMountPoints) {
    MINIDOCKER_REQUIRE_ROOT();
    TempDir src;
    std::string bare = src.path() + "/bare";
    make_tree(bare, {{"bin/", ""}, {"etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"}});
    fs::copy_file(rootfs_path() + "/bin/busybox", bare + "/bin/busybox");
    fs::permissions(bare + "/bin/busybox", fs::perms(0755));
    fs::create_symlink("busybox", bare + "/bin/sh");
    Result r = runtime({"import", bare, "bare"});
    ASSERT_EQ(r.code, 0) << r.err;
    std::vector<std::string> layers = image_layers("bare");
    ASSERT_EQ(layers.size(), 1u);
    std::string layer = store("layers/" + layers[0]);
    EXPECT_EQ(names_in(layer), (std::set<std::string>{"bin", "etc"}));

    // /proc is the container's own (test and [ are ash builtins: the image
    // has no links for busybox's other applets).
    r = runtime({"run", "--name", "bare", "bare", "sh", "-c",
                 "test -d /proc/self && test -d /sys/kernel && test -c /dev/null && echo ok"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "ok\n");
    std::string dir = container_dir("bare");
    for (const char* sub : {"proc", "sys", "dev"}) {
        EXPECT_TRUE(fs::is_directory(dir + "/init/" + sub)) << sub;
    }
    EXPECT_EQ(names_in(dir + "/upper"), std::set<std::string>{});
    r = runtime({"diff", "bare"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(names_in(layer), (std::set<std::string>{"bin", "etc"}));

    r = runtime(
        {"run", "--name", "full", "busybox", "sh", "-c", "test -d /proc/self && test -d /sys/kernel && echo ok"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "ok\n");
    EXPECT_EQ(names_in(container_dir("full") + "/init"), std::set<std::string>{"etc"});
    EXPECT_EQ(names_in(container_dir("full") + "/upper"), std::set<std::string>{});
}

// Claim: the layers stack in order, top first: where two image layers hold
// the same file, the container sees the newer layer's; a file that only the
// older layer has shows through; the init layer lies above every image
// layer, so its /etc/hostname and /etc/hosts hide the image's. Nothing of
// this is copied up, and a container of the older image sees its own files.
TEST(Ch04, TopLayerWins) {
    MINIDOCKER_REQUIRE_ROOT();
    TempDir src;
    make_tree(src.path() + "/old", {{"f", "old\n"},
                                    {"only-old", "old\n"},
                                    {"etc/hostname", "from-the-image\n"},
                                    {"etc/hosts", "10.9.9.9\tfrom-the-image\n"}});
    make_tree(src.path() + "/new", {{"f", "new\n"}, {"only-new", "new\n"}});
    Result r = runtime({"import", "--base", "busybox", src.path() + "/old", "old"});
    ASSERT_EQ(r.code, 0) << r.err;
    r = runtime({"import", "--base", "old", src.path() + "/new", "new"});
    ASSERT_EQ(r.code, 0) << r.err;
    ASSERT_EQ(image_layers("new").size(), 3u);

    std::string script = "cat /f /only-old /only-new /etc/hostname; echo ---; cat /etc/hosts";
    r = runtime({"run", "--name", "stacked", "-h", "box", "new", "sh", "-c", script});
    ASSERT_EQ(r.code, 0) << r.err;
    std::vector<std::string> parts = sections(r.out);
    ASSERT_EQ(parts.size(), 2u) << r.out;
    EXPECT_EQ(parts[0], "new\nold\nnew\nbox\n");
    EXPECT_TRUE(hosts_names(parts[1]).count("box")) << parts[1];
    EXPECT_FALSE(hosts_names(parts[1]).count("from-the-image")) << parts[1];
    EXPECT_EQ(names_in(container_dir("stacked") + "/upper"), std::set<std::string>{});
    r = runtime({"diff", "stacked"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "");

    r = runtime({"run", "--rm", "-h", "box", "old", "cat", "/f", "/etc/hostname"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "old\nbox\n");
    std::string old_layer = store("layers/" + image_layers("old")[1]);
    EXPECT_EQ(read_file(old_layer + "/f"), "old\n");
    EXPECT_EQ(read_file(old_layer + "/etc/hostname"), "from-the-image\n");
}
