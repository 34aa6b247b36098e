// Issue 13's path attacks, proven from outside on the host's real state, in
// the last chapter with every feature on (images, volumes, cgroup limits,
// the network namespace). A container's root filesystem, an image's tar, an
// OCI archive and a volume's contents are all data from somewhere: a
// symbolic link, a "..", a device node or a swap made while the runtime
// works must never make it mount on, create, chmod, delete or read a host
// path. Each attack is either refused in one line (exit code 125) or lands
// inside the container (or the store); and each time the host's canaries (a
// directory and files with known content, mode, owner, times and xattrs,
// plus a few files of /etc) are what they were, and the host's mount table
// is unchanged.
//
//   SymlinksAtMountTargetsInAnImage        /data -> /etc, /proc -> /, /etc/hostname -> a host file ...
//   SymlinksInVolumesAtNestedMountTargets  -v vol:/data -v DIR:/data/sub, with sub -> /etc in vol ...
//   HostileLayerTars                       import and load: devices, fifos, setuid, links, whiteouts
//   HostileOciArchives                     load: the outer tar's "..", absolute names, links, devices
//   ImageFilesAreOutOfHostUsersReach       what an image or a container puts in the store
//   RacingSymlinkSwapDuringStarts          renameat2(RENAME_EXCHANGE) on a nested mount target
//   RacingSwapWhileAVolumeIsFilled         ... on the files the runtime copies into a new volume
//   RacingContainerInASharedVolume         a running container swaps a shared volume's entries
//
// Their counts ("path attacks tried", "racing starts", "host changes
// found", ...) go to record_count(). The hostile tars are written here byte
// by byte (ustar), as no tar tool would write them. The host's mount table
// is compared for the mounts these tests could have made (of our
// directories, or of a container's types and places); other programs'
// changes beside them are only noted.
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "mountinfo.hpp"

namespace fs = std::filesystem;
using namespace minidocker::test;

namespace {

// ---- small tools ----

void write_file(const std::string& path, const std::string& content, mode_t mode = 0644) {
    std::ofstream(path, std::ios::binary) << content;
    ::chmod(path.c_str(), mode);
}

std::string store(const std::string& sub) { return state_root() + "/" + sub; }

std::string link_target(const std::string& path) {
    char buf[PATH_MAX];
    ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
    return n < 0 ? "" : std::string(buf, static_cast<size_t>(n));
}

// "../../..(n times)" and a path without its leading "/": a relative
// symbolic link that climbs to "/" from any of our directories, and then
// goes to `absolute`.
std::string climbing(const std::string& absolute, int n = 12) {
    std::string up;
    for (int i = 0; i < n; ++i) {
        up += "../";
    }
    return up + absolute.substr(1);
}

// The common flags of every start: the last chapter with its features on.
std::vector<std::string> run_args(std::vector<std::string> rest) {
    std::vector<std::string> args = {"run", "-m", "64m", "--pids-limit", "64", "--hostname", "box"};
    args.insert(args.end(), rest.begin(), rest.end());
    return args;
}

// The parts, one after the other.
std::string cat(std::initializer_list<std::string_view> parts) {
    std::string out;
    for (std::string_view part : parts) {
        out += part;
    }
    return out;
}

// `s` with every `from` replaced by `to`.
std::string without(std::string s, const std::string& from, const std::string& to) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
        s.replace(at, from.size(), to);
    }
    return s;
}

// ---- the host's state ----

// The host's mount table without mount ids and options: one "root
// mount-point fstype source" per mount.
std::multiset<std::string> host_mounts() {
    std::multiset<std::string> out;
    for (const minidocker::MountEntry& m : minidocker::parse_mountinfo(read_file("/proc/self/mountinfo"))) {
        out.insert(m.root + " " + m.point + " " + m.fstype + " " + m.source);
    }
    return out;
}

// What differs between two mount tables that `relevant` says matters (""
// when nothing); the other differences go to `other`.
std::string mount_changes(const std::multiset<std::string>& before, const std::multiset<std::string>& after,
                          const std::function<bool(const std::string&)>& relevant, std::string& other) {
    std::vector<std::string> added;
    std::vector<std::string> removed;
    std::set_difference(after.begin(), after.end(), before.begin(), before.end(), std::back_inserter(added));
    std::set_difference(before.begin(), before.end(), after.begin(), after.end(), std::back_inserter(removed));
    std::string out;
    for (const std::string& m : added) {
        (relevant(m) ? out : other) += "  new host mount: " + m + "\n";
    }
    for (const std::string& m : removed) {
        (relevant(m) ? out : other) += "  host mount gone: " + m + "\n";
    }
    return out;
}

// One line about a path: type, mode, owner, size, links, mtime and ctime,
// xattr names, and its content (a file) or target (a link). Not atime.
std::string describe(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        return "missing";
    }
    std::ostringstream s;
    s << std::oct << st.st_mode << std::dec << " " << st.st_uid << ":" << st.st_gid << " size " << st.st_size
      << " links " << st.st_nlink << " mtime " << st.st_mtim.tv_sec << "." << st.st_mtim.tv_nsec << " ctime "
      << st.st_ctim.tv_sec << "." << st.st_ctim.tv_nsec;
    char names[4096];
    ssize_t n = ::llistxattr(path.c_str(), names, sizeof names);
    if (n > 0) {
        s << " xattrs " << std::string(names, static_cast<size_t>(n));
    }
    if (S_ISREG(st.st_mode)) {
        s << " content " << read_file(path);
    } else if (S_ISLNK(st.st_mode)) {
        s << " -> " << link_target(path);
    }
    return s.str();
}

// describe() of a path and of everything below it.
std::map<std::string, std::string> snapshot(const std::string& root) {
    std::map<std::string, std::string> out = {{root, describe(root)}};
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
        out[it->path().string()] = describe(it->path().string());
    }
    return out;
}

std::string snapshot_changes(const std::map<std::string, std::string>& before,
                             const std::map<std::string, std::string>& after) {
    std::string out;
    for (const auto& [path, was] : before) {
        auto now = after.find(path);
        if (now == after.end()) {
            out += "  removed: " + path + "\n";
        } else if (now->second != was) {
            out += cat({"  changed: ", path, ": was [", was, "], is [", now->second, "]\n"});
        }
    }
    for (const auto& [path, is] : after) {
        if (before.count(path) == 0) {
            out += cat({"  created: ", path, " [", is, "]\n"});
        }
    }
    return out;
}

// The host's side of the attacks. `canary` is the host directory hostile
// links point at (a secret file, a subdirectory, modes 0600 and 0700): no
// container may change, read or mount on anything in it. `host` holds what
// the tests bind into containers, read-only in spirit: dir/hello, file,
// other, and links to them (link-dir, link-file, dangling). A few files of
// the host's /etc stand for the host's own configuration; the names the
// tests mount under /etc must not appear there. And the mount table.
class HostSide {
public:
    HostSide() {
        write_file(canary() + "/secret", "host secret\n", 0600);
        fs::create_directory(canary() + "/sub");
        ::chmod((canary() + "/sub").c_str(), 0700);
        write_file(canary() + "/sub/inner", "inner secret\n", 0600);
        fs::create_directory(host() + "/dir");
        write_file(dir() + "/hello", "hello from the host\n");
        write_file(file(), "host file\n");
        write_file(host() + "/other", "other file\n");
        fs::create_symlink(dir(), host() + "/link-dir");
        fs::create_symlink(file(), host() + "/link-file");
        fs::create_symlink(host() + "/nothing", host() + "/dangling");
        canary_ = snapshot(canary());
        host_ = snapshot(host());
        for (const char* path : {"/etc/hostname", "/etc/hosts", "/etc/passwd", "/etc/group"}) {
            etc_[path] = describe(path);
        }
        for (const char* path : {"/etc/hello", "/etc/sub", "/etc/x", "/etc/anon", "/etc/f", "/etc/written", "/hello",
                                 "/data", "/sub", "/f", "/a", "/b"}) {
            names_[path] = describe(path);
        }
        mounts_ = host_mounts();
    }

    const std::string& canary() const { return canary_dir_.path(); }
    const std::string& host() const { return host_dir_.path(); }
    // A scratch directory for the test's tars, rootfs copies, volumes...
    const TempDir& work() const { return work_dir_; }
    std::string dir() const { return host() + "/dir"; }
    std::string file() const { return host() + "/file"; }

    // "" when the host is as it was; otherwise, what changed.
    std::string changes() const {
        std::string out = snapshot_changes(canary_, snapshot(canary()));
        out += snapshot_changes(host_, snapshot(host()));
        for (const auto& [path, was] : etc_) {
            if (describe(path) != was) {
                out += "  changed: " + path + "\n";
            }
        }
        // What the tests mount or create in a container's /etc or "/"
        // must not appear on the host.
        for (const auto& [path, was] : names_) {
            if (describe(path) != was) {
                out += cat({"  changed: ", path, ": was [", was, "], is [", describe(path), "]\n"});
            }
        }
        // Every source the tests mount is one of our directories (or in the
        // state root), so a mount that reached the host names one of them;
        // and a container's own mounts have these types. Other changes are
        // other programs' (tests running beside this one): only noted.
        std::string other;
        out += mount_changes(
            mounts_, host_mounts(), [this](const std::string& m) { return relevant_mount(m); }, other);
        if (!other.empty()) {
            std::printf("note: the host's mount table changed, not by these tests:\n%s", other.c_str());
        }
        return out;
    }

private:
    bool relevant_mount(const std::string& mount) const {
        std::istringstream in(mount);
        std::string root;
        std::string point;
        std::string type;
        in >> root >> point >> type;
        // Our directories by their random names: a bind mount's root is
        // its path in its own filesystem.
        for (const std::string& ours : {canary(), host(), work().path(), state_root()}) {
            std::string name = fs::path(ours).filename().string();
            if (!name.empty() && (contains(root, name) || contains(point, name))) {
                return true;
            }
        }
        static const std::set<std::string> container_types = {"overlay", "proc", "sysfs", "devpts", "mqueue"};
        static const std::set<std::string> container_points = {"/", "/etc", "/proc", "/dev", "/sys", "/tmp", "/data"};
        return container_types.count(type) != 0 || container_points.count(point) != 0 || point.rfind("/etc/", 0) == 0;
    }

    TempDir canary_dir_;
    TempDir host_dir_;
    TempDir work_dir_;
    std::map<std::string, std::string> canary_;
    std::map<std::string, std::string> host_;
    std::map<std::string, std::string> etc_;
    std::map<std::string, std::string> names_;
    std::multiset<std::string> mounts_;
};

// The counts of one test, recorded at its end.
struct Tally {
    explicit Tally(std::string what) : tag(" (" + std::move(what) + ")") {}

    std::string tag;  // which attacks, in the recorded counts' names
    long tried = 0;
    long refused = 0;
    long contained = 0;
    long host_changes = 0;

    // Checks the host after an attack; a change is a failure, and counted.
    void check_host(const HostSide& h, const std::string& attack) {
        std::string changes = h.changes();
        if (!changes.empty()) {
            ++host_changes;
            ADD_FAILURE() << attack << ": the host changed:\n" << changes;
        }
    }

    void record() const {
        record_count("path attacks tried" + tag, tried);
        record_count("path attacks refused in one line" + tag, refused);
        record_count("path attacks contained" + tag, contained);
        record_count("host changes found" + tag, host_changes);
    }
};

// Docker's contract for a start or a command that fails: exit code 125 and
// one line "chNN: ...". True when `r` is such a refusal; a failure when it
// failed any other way.
bool refused_in_one_line(const Result& r) {
    if (r.code == 0) {
        return false;
    }
    expect_error_line(r);
    return true;
}

// One line for the test's log: what became of an attack.
void log_outcome(const std::string& attack, const Result& r) {
    std::printf("  %-70s %s\n", attack.c_str(), r.code == 0 ? "ran" : ("refused: " + trim(r.err)).c_str());
}

// ---- tars, written byte by byte ----

// A tar entry as a hostile tool would write it (ustar; nothing is checked).
struct TarEntry {
    TarEntry(std::string path_, char type_, std::string data_ = "", unsigned mode_ = 0644, unsigned dev_major_ = 0,
             unsigned dev_minor_ = 0, std::string link_data_ = "")
        : path(std::move(path_)),
          type(type_),
          data(std::move(data_)),
          mode(mode_),
          dev_major(dev_major_),
          dev_minor(dev_minor_),
          link_data(std::move(link_data_)) {}

    std::string path;
    char type;  // '0' file, '1' hard link, '2' symbolic link, '3' char device, '4' block device, '5' dir, '6' fifo
    std::string data;  // a file's content; a link's target
    unsigned mode;
    unsigned dev_major;
    unsigned dev_minor;
    std::string link_data;  // a hard link's own content (a "hard link with data")
};

void put_octal(std::string& header, size_t at, size_t width, unsigned long long value) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%0*llo", static_cast<int>(width - 1), value);
    header.replace(at, width - 1, buf, width - 1);
}

std::string tar_header(const TarEntry& e, size_t size) {
    std::string header(512, '\0');
    std::string name = e.path;
    std::string prefix;
    if (name.size() > 100) {
        size_t cut = name.rfind('/', 155);
        if (cut == std::string::npos || name.size() - cut - 1 > 100) {
            ADD_FAILURE() << "tar name too long for ustar: " << name;
            return header;
        }
        prefix = name.substr(0, cut);
        name = name.substr(cut + 1);
    }
    header.replace(0, name.size(), name);
    put_octal(header, 100, 8, e.mode);
    put_octal(header, 108, 8, 0);
    put_octal(header, 116, 8, 0);
    put_octal(header, 124, 12, size);
    put_octal(header, 136, 12, 1700000000);
    header[156] = e.type;
    if (e.type == '1' || e.type == '2') {
        if (e.data.size() > 100) {
            ADD_FAILURE() << "link target too long for ustar: " << e.data;
        }
        header.replace(157, std::min<size_t>(e.data.size(), 100), e.data.substr(0, 100));
    }
    header.replace(257, 6, std::string("ustar\0", 6));
    header.replace(263, 2, "00");
    header.replace(265, 4, "root");
    header.replace(297, 4, "root");
    put_octal(header, 329, 8, e.dev_major);
    put_octal(header, 337, 8, e.dev_minor);
    header.replace(345, prefix.size(), prefix);
    header.replace(148, 8, "        ");
    unsigned sum = 0;
    for (char ch : header) {
        sum += static_cast<unsigned char>(ch);
    }
    char chk[8];
    std::snprintf(chk, sizeof chk, "%06o", sum);
    header.replace(148, 6, chk, 6);
    header[154] = '\0';
    header[155] = ' ';
    return header;
}

std::string tar_bytes(const std::vector<TarEntry>& entries) {
    std::string out;
    for (const TarEntry& e : entries) {
        const std::string& body = e.type == '0' ? e.data : e.link_data;
        out += tar_header(e, body.size());
        out += body;
        out.append((512 - body.size() % 512) % 512, '\0');
    }
    out.append(1024, '\0');
    return out;
}

std::string sha256(const std::string& bytes) {
    Result r = run({"sha256sum"}, bytes);
    EXPECT_EQ(r.code, 0) << r.err;
    return r.out.substr(0, 64);
}

// An OCI image layout of one image, `name`, made of `layers` (tars), as
// outer tar entries: oci-layout, index.json, blobs/sha256/...
std::vector<TarEntry> oci_layout(const std::vector<std::string>& layers, const std::string& name) {
    std::vector<TarEntry> blobs;
    nlohmann::json layer_descs = nlohmann::json::array();
    nlohmann::json diff_ids = nlohmann::json::array();
    for (const std::string& layer : layers) {
        std::string digest = sha256(layer);
        layer_descs.push_back({{"mediaType", "application/vnd.oci.image.layer.v1.tar"},
                               {"digest", "sha256:" + digest},
                               {"size", layer.size()}});
        diff_ids.push_back("sha256:" + digest);
        blobs.push_back({"blobs/sha256/" + digest, '0', layer});
    }
    std::string config = nlohmann::json({{"architecture", "amd64"},
                                         {"os", "linux"},
                                         {"config", {{"Cmd", {"sh"}}}},
                                         {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}})
                             .dump();
    std::string config_digest = sha256(config);
    std::string manifest = nlohmann::json({{"schemaVersion", 2},
                                           {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                                           {"config",
                                            {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                                             {"digest", "sha256:" + config_digest},
                                             {"size", config.size()}}},
                                           {"layers", layer_descs}})
                               .dump();
    std::string manifest_digest = sha256(manifest);
    std::string index = nlohmann::json({{"schemaVersion", 2},
                                        {"mediaType", "application/vnd.oci.image.index.v1+json"},
                                        {"manifests",
                                         {{{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                                           {"digest", "sha256:" + manifest_digest},
                                           {"size", manifest.size()},
                                           {"annotations", {{"io.containerd.image.name", name}}}}}}})
                            .dump();
    std::vector<TarEntry> out = {{"oci-layout", '0', R"({"imageLayoutVersion":"1.0.0"})"},
                                 {"index.json", '0', index},
                                 {"blobs/", '5', "", 0755},
                                 {"blobs/sha256/", '5', "", 0755},
                                 {"blobs/sha256/" + config_digest, '0', config},
                                 {"blobs/sha256/" + manifest_digest, '0', manifest}};
    out.insert(out.end(), blobs.begin(), blobs.end());
    return out;
}

// The store's parts a refused import or load must leave as they were.
struct StoreNames {
    std::set<std::string> layers = names_in(store("layers"));
    std::set<std::string> links = names_in(store("l"));
    std::set<std::string> images = names_in(store("images"));
    std::set<std::string> top = names_in(state_root());

    void expect_same() const {
        EXPECT_EQ(names_in(store("layers")), layers);
        EXPECT_EQ(names_in(store("l")), links);
        EXPECT_EQ(names_in(store("images")), images);
        EXPECT_EQ(names_in(state_root()), top);
        EXPECT_EQ(names_in(store("tmp")), std::set<std::string>{});
    }
};

// ---- unprivileged host users ----

// Whether `nobody` (65534), a host user with no rights on the store, passes
// access(path, mode): can reach the path (every directory on the way
// searchable) and has those permissions on it.
bool nobody_can(const std::string& path, int mode) {
    pid_t pid = ::fork();
    if (pid == 0) {
        if (::setgroups(0, nullptr) != 0 || ::setresgid(65534, 65534, 65534) != 0 ||
            ::setresuid(65534, 65534, 65534) != 0) {
            ::_exit(2);
        }
        ::_exit(::access(path.c_str(), mode) == 0 ? 0 : 1);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 2) << "could not become nobody";
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// ---- racing ----

// A thread that swaps two names of a directory with renameat2(2)'s
// RENAME_EXCHANGE as fast as it can, and looks at the host's mount table
// now and then for `watched`.
class Swapper {
public:
    Swapper(const std::string& dir, std::string a, std::string b, std::string watched)
        : dir_fd_(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)),
          a_(std::move(a)),
          b_(std::move(b)),
          watched_(std::move(watched)) {
        EXPECT_GE(dir_fd_, 0) << dir;
        thread_ = std::thread([this] { loop(); });
    }
    ~Swapper() {
        stop();
        ::close(dir_fd_);
    }
    Swapper(const Swapper&) = delete;
    Swapper& operator=(const Swapper&) = delete;

    void stop() {
        stop_ = true;
        if (thread_.joinable()) {
            thread_.join();
        }
    }
    long swaps() const { return swaps_; }
    long failed() const { return failed_; }
    bool saw_watched_mount() const { return saw_watched_; }

private:
    void loop() {
        for (long i = 0; !stop_; ++i) {
            if (::syscall(SYS_renameat2, dir_fd_, a_.c_str(), dir_fd_, b_.c_str(), RENAME_EXCHANGE) == 0) {
                ++swaps_;
            } else {
                ++failed_;
            }
            if (i % 512 == 0 && contains(read_file("/proc/self/mountinfo"), watched_)) {
                saw_watched_ = true;
            }
        }
    }

    int dir_fd_;
    std::string a_;
    std::string b_;
    std::string watched_;
    std::atomic<bool> stop_{false};
    std::atomic<long> swaps_{0};
    std::atomic<long> failed_{0};
    std::atomic<bool> saw_watched_{false};
    std::thread thread_;
};

// The mount point, inside the container, of the mount whose root (in its
// filesystem) ends with `root_suffix`, from the container's mountinfo
// (printed by it); "" when there is none.
std::string mount_point_of(const std::string& mountinfo, const std::string& root_suffix) {
    for (const std::string& line : lines(mountinfo)) {
        std::istringstream in(line);
        std::vector<std::string> f;
        for (std::string w; in >> w;) {
            f.push_back(w);
        }
        if (f.size() > 4 && f[3].size() >= root_suffix.size() &&
            f[3].compare(f[3].size() - root_suffix.size(), root_suffix.size(), root_suffix) == 0) {
            return f[4];
        }
    }
    return "";
}

}  // namespace

// ---------------------------------------------------------------------------

// Claim: symbolic links an image (or a --rootfs directory) plants where
// something is mounted - a volume's target or its parents, /etc/hostname,
// /proc, /sys, /dev and its subdirectories - never point a mount, a mkdir or
// a volume's first fill at the host: either the start is refused in one line
// (exit code 125: a link to the container's "/", a loop, a directory on a
// file) or everything lands inside the container, where the container's own
// view of the link says it is. The host's canary, /etc and mount table are
// unchanged after each one.
TEST(Ch08PathAttacks, SymlinksAtMountTargetsInAnImage) {
    MINIDOCKER_REQUIRE_ROOT();
    import_probe_image("img");
    HostSide h;
    const TempDir& work = h.work();
    const std::string& c = h.canary();
    Tally tally("links in images");

    enum Want { runs, refused, either };
    struct Attack {
        std::string name;
        std::vector<TarEntry> layer;    // planted on top of the probe image
        std::vector<std::string> args;  // run's options, before the image
        std::string command;
        Want want;
        std::string out;  // its output when it runs ("" = not checked)
    };
    const std::string passwd = read_file(rootfs_path() + "/etc/passwd");
    const std::vector<Attack> attacks = {
        {"/data -> /etc, a host dir on /data",
         {{"data", '2', "/etc"}},
         {"-v", h.dir() + ":/data"},
         "cat /etc/hello; readlink /data",
         runs,
         "hello from the host\n/etc\n"},
        {"/data -> /etc, read-only",
         {{"data", '2', "/etc"}},
         {"-v", h.dir() + ":/data:ro"},
         "cat /etc/hello; touch /etc/written 2>/dev/null || echo read-only",
         runs,
         "hello from the host\nread-only\n"},
        {"/data -> /etc, a new named volume on /data (filled from the image)",
         {{"data", '2', "/etc"}},
         {"-v", "etcvol:/data"},
         "cat /etc/passwd",
         runs,
         passwd},
        {"/data -> the canary, a mount below it",
         {{"data", '2', c}},
         {"-v", h.dir() + ":/data/sub/deeper"},
         "cat " + c + "/sub/deeper/hello",
         runs,
         "hello from the host\n"},
        {"/etc/hostname -> a host file", {{"etc/hostname", '2', h.file()}}, {}, "cat /etc/hostname", runs, "box\n"},
        {"/etc/hostname -> a host file, a file bound on it",
         {{"etc/hostname", '2', h.file()}},
         {"-v", h.host() + "/other:/etc/hostname"},
         "cat /etc/hostname",
         runs,
         "other file\n"},
        {"/etc -> the canary",
         {{"etc", '2', c}},
         {"-v", h.dir() + ":/etc/sub"},
         "cat /etc/hostname /etc/sub/hello",
         runs,
         "box\nhello from the host\n"},
        {"/proc -> /, /sys -> /, /dev -> /etc",
         {{"proc", '2', "/"}, {"sys", '2', "/"}, {"dev", '2', "/etc"}},
         {},
         "test -r /proc/self/status && test -d /sys/kernel && test -c /dev/null && echo ok",
         either,
         "ok\n"},
        {"/dev/pts, /dev/shm -> the canary, /dev/mqueue -> /etc",
         {{"dev/pts", '2', c}, {"dev/shm", '2', c}, {"dev/mqueue", '2', "/etc"}},
         {},
         "test -c /dev/pts/ptmx && test -d /dev/shm && echo ok",
         either,
         "ok\n"},
        {"/data -> /", {{"data", '2', "/"}}, {"-v", h.dir() + ":/data"}, "true", refused, ""},
        {"/data -> /etc/../..", {{"data", '2', "/etc/../.."}}, {"-v", h.dir() + ":/data"}, "true", refused, ""},
        {"/data -> /data (a loop)", {{"data", '2', "/data"}}, {"-v", h.dir() + ":/data"}, "true", refused, ""},
        {"/data -> /etc/passwd (a directory on a file)",
         {{"data", '2', "/etc/passwd"}},
         {"-v", h.dir() + ":/data"},
         "true",
         refused,
         ""},
        {"/a -> /b -> /etc",
         {{"a", '2', "/b"}, {"b", '2', "/etc"}},
         {"-v", h.dir() + ":/a/sub"},
         "cat /etc/sub/hello",
         runs,
         "hello from the host\n"},
        {"/data -> /proc/self/root/etc (a magic link, before /proc is mounted)",
         {{"data", '2', "/proc/self/root/etc"}},
         {"-v", h.dir() + ":/data"},
         "cat /etc/hostname",
         either,
         "box\n"},
        {"/data -> /dev/shm (later a mount point itself)",
         {{"data", '2', "/dev/shm"}},
         {"-v", h.dir() + ":/data"},
         "true",
         either,
         ""},
        {"/f -> a missing file in the canary, a file bound on /f",
         {{"f", '2', c + "/f"}},
         {"-v", h.file() + ":/f"},
         "cat /f",
         runs,
         "host file\n"},
        {"/data -> the canary, --net host",
         {{"data", '2', c}},
         {"--net", "host", "-v", h.dir() + ":/data"},
         "cat " + c + "/hello",
         runs,
         "hello from the host\n"},
    };
    int n = 0;
    for (const Attack& a : attacks) {
        SCOPED_TRACE(a.name);
        std::string image = "evil" + std::to_string(++n);
        std::string tar = work.path() + "/" + image + ".tar";
        write_file(tar, tar_bytes(a.layer));
        Result r = runtime({"import", "--base", "img", tar, image});
        ASSERT_EQ(r.code, 0) << r.err;
        std::vector<std::string> args = a.args;
        args.insert(args.begin(), "--rm");
        args.push_back(image);
        for (const char* word : {"sh", "-c"}) {
            args.emplace_back(word);
        }
        args.push_back(a.command);
        r = runtime(run_args(args));
        ++tally.tried;
        log_outcome(a.name, r);
        if (refused_in_one_line(r)) {
            ++tally.refused;
            EXPECT_NE(a.want, runs) << "refused: " << r.err;
        } else {
            ++tally.contained;
            EXPECT_NE(a.want, refused) << "it ran: " << r.out;
            if (!a.out.empty()) {
                EXPECT_EQ(r.out, a.out) << r.err;
            }
        }
        tally.check_host(h, a.name);
    }
    // The named volume was filled from the container's /etc (the link read
    // inside the container), not the host's.
    std::set<std::string> filled = names_in(store("volumes/etcvol/_data"));
    EXPECT_EQ(filled.count("passwd"), 1u);
    EXPECT_EQ(read_file(store("volumes/etcvol/_data/passwd")), passwd);
    for (const std::string& name : filled) {
        EXPECT_TRUE(std::set<std::string>({"group", "passwd", "hostname", "hosts", "resolv.conf", "mtab"}).count(name))
            << "the volume holds " << name << ", which the container's /etc has not";
    }

    // --rootfs: a directory may hold what `import` refuses, a relative link
    // that climbs above the rootfs. Chapter 03 refuses links at /proc, /dev,
    // /sys themselves.
    struct RootfsAttack {
        std::string name;
        std::string path;    // in the rootfs
        std::string target;  // what the link says
        std::vector<std::string> args;
        std::string command;
        Want want;
        std::string out;
    };
    const std::vector<RootfsAttack> rootfs_attacks = {
        {"rootfs /data -> ../../..(canary)",
         "/data",
         climbing(c),
         {"-v", h.dir() + ":/data"},
         "cat /data/hello",
         runs,
         "hello from the host\n"},
        {"rootfs /data -> ../../..(canary), --read-only",
         "/data",
         climbing(c),
         {"--read-only", "-v", h.dir() + ":/data/sub"},
         "cat /data/sub/hello",
         runs,
         "hello from the host\n"},
        {"rootfs /proc -> /", "/proc", "/", {}, "true", refused, ""},
        {"rootfs /sys -> ../../..(/)", "/sys", climbing("/"), {}, "true", refused, ""},
        {"rootfs /dev -> /etc", "/dev", "/etc", {}, "true", refused, ""},
        {"rootfs /dev/pts -> canary", "/dev/pts", c, {}, "test -c /dev/pts/ptmx && echo ok", either, "ok\n"},
        {"rootfs /etc -> ../../..(canary)",
         "/etc",
         climbing(c),
         {"-v", h.dir() + ":/etc/sub"},
         "cat /etc/sub/hello",
         runs,
         "hello from the host\n"},
    };
    for (const RootfsAttack& a : rootfs_attacks) {
        SCOPED_TRACE(a.name);
        std::string rootfs = work.path() + "/rootfs" + std::to_string(++n);
        Result r = run({"cp", "-a", rootfs_path(), rootfs});
        ASSERT_EQ(r.code, 0) << r.err;
        std::error_code ec;
        fs::remove_all(rootfs + a.path, ec);
        fs::create_symlink(a.target, rootfs + a.path);
        std::vector<std::string> args = {"--rootfs", rootfs};
        args.insert(args.end(), a.args.begin(), a.args.end());
        for (const char* word : {"--", "sh", "-c"}) {
            args.emplace_back(word);
        }
        args.push_back(a.command);
        r = runtime(run_args(args));
        ++tally.tried;
        log_outcome(a.name, r);
        if (refused_in_one_line(r)) {
            ++tally.refused;
            EXPECT_NE(a.want, runs) << "refused: " << r.err;
        } else {
            ++tally.contained;
            EXPECT_NE(a.want, refused) << "it ran: " << r.out;
            if (!a.out.empty()) {
                EXPECT_EQ(r.out, a.out) << r.err;
            }
        }
        EXPECT_TRUE(fs::is_symlink(rootfs + a.path)) << "the planted link was replaced";
        tally.check_host(h, a.name);
    }
    tally.record();
}

// Claim: a symbolic link inside a volume (named, or a host directory) where
// a second, nested volume is mounted is followed as the container would
// follow it, inside the container: `-v vol:/data -v DIR:/data/sub` with
// sub -> /etc in vol mounts DIR on the container's /etc; a relative link
// that climbs out stops at the container's "/"; a link to "/" or a loop is
// refused in one line. A host source that is itself a symbolic link is
// followed on the host, where the user named it (as Docker does); a
// dangling one is refused. The host is unchanged after each.
TEST(Ch08PathAttacks, SymlinksInVolumesAtNestedMountTargets) {
    MINIDOCKER_REQUIRE_ROOT();
    import_probe_image("img");
    HostSide h;
    const TempDir& work = h.work();
    const std::string& c = h.canary();
    Tally tally("links in volumes");
    const std::string passwd = read_file(rootfs_path() + "/etc/passwd");

    // A named volume, or a host directory, with these links in it.
    auto named = [&](const std::string& name, const std::map<std::string, std::string>& links) {
        Result r = runtime({"volume", "create", name});
        EXPECT_EQ(r.code, 0) << r.err;
        for (const auto& [path, target] : links) {
            fs::create_symlink(target, store(cat({"volumes/", name, "/_data/", path})));
        }
        return name;
    };
    int dirs = 0;
    auto host_dir = [&](const std::map<std::string, std::string>& links) {
        std::string dir = work.path() + "/vol" + std::to_string(++dirs);
        fs::create_directory(dir);
        for (const auto& [path, target] : links) {
            fs::create_symlink(target, cat({dir, "/", path}));
        }
        return dir;
    };

    enum Want { runs, refused };
    struct Attack {
        std::string name;
        std::vector<std::string> volumes;  // -v values, in order
        std::string command;
        Want want;
        std::string out;
        std::string mentions;  // in the refusal
    };
    const std::vector<Attack> attacks = {
        {"named volume, sub -> /etc",
         {named("n1", {{"sub", "/etc"}}) + ":/data", h.dir() + ":/data/sub"},
         "cat /etc/hello; readlink /data/sub",
         runs,
         "hello from the host\n/etc\n",
         ""},
        {"host dir volume, sub -> /etc",
         {host_dir({{"sub", "/etc"}}) + ":/data", h.dir() + ":/data/sub"},
         "cat /etc/hello; readlink /data/sub",
         runs,
         "hello from the host\n/etc\n",
         ""},
        {"named volume, sub -> ../../..(canary)",
         {named("n2", {{"sub", climbing(c)}}) + ":/data", h.dir() + ":/data/sub"},
         "cat " + c + "/hello",
         runs,
         "hello from the host\n",
         ""},
        {"host dir volume, sub -> the canary, a mount two levels below",
         {host_dir({{"sub", c}}) + ":/data", h.dir() + ":/data/sub/x/y"},
         "cat " + c + "/x/y/hello",
         runs,
         "hello from the host\n",
         ""},
        {"named volume, sub -> /",
         {named("n3", {{"sub", "/"}}) + ":/data", h.dir() + ":/data/sub"},
         "true",
         refused,
         "",
         "/data/sub"},
        {"host dir volume, sub -> ..",
         {host_dir({{"sub", ".."}}) + ":/data", h.dir() + ":/data/sub"},
         "true",
         refused,
         "",
         "/data/sub"},
        {"named volume, sub -> /data/sub (a loop)",
         {named("n4", {{"sub", "/data/sub"}}) + ":/data", h.dir() + ":/data/sub"},
         "true",
         refused,
         "",
         ""},
        {"host dir volume, f -> /etc/passwd, a file bound on /data/f",
         {host_dir({{"f", "/etc/passwd"}}) + ":/data", h.file() + ":/data/f"},
         "cat /etc/passwd",
         runs,
         "host file\n",
         ""},
        {"host dir volume, sub -> /etc, a new named volume on /data/sub (filled)",
         {host_dir({{"sub", "/etc"}}) + ":/data", "n5:/data/sub"},
         "cat /etc/passwd",
         runs,
         passwd,
         ""},
        {"three levels: sub -> /etc in a named volume, sub -> ../../..(canary) in the host dir bound there",
         {named("n6", {{"sub", "/etc"}}) + ":/data", host_dir({{"sub", climbing(c)}}) + ":/data/sub",
          h.dir() + ":/data/sub/sub"},
         "cat " + c + "/hello",
         runs,
         "hello from the host\n",
         ""},
        {"host dir volume, sub -> /etc, an anonymous volume below",
         {host_dir({{"sub", "/etc"}}) + ":/data", "/data/sub/anon"},
         "test -d /etc/anon && echo ok",
         runs,
         "ok\n",
         ""},
        {"a source that is a link to a directory",
         {h.host() + "/link-dir:/data"},
         "cat /data/hello",
         runs,
         "hello from the host\n",
         ""},
        {"a source that is a link to a file",
         {h.host() + "/link-file:/data/f"},
         "cat /data/f",
         runs,
         "host file\n",
         ""},
        {"a source that is a dangling link", {h.host() + "/dangling:/data"}, "true", refused, "", "dangling"},
        {"a source that is a link, in a volume with sub -> /etc",
         {named("n7", {{"sub", "/etc"}}) + ":/data", h.host() + "/link-dir:/data/sub:ro"},
         "cat /etc/hello; touch /etc/written 2>/dev/null || echo read-only",
         runs,
         "hello from the host\nread-only\n",
         ""},
    };
    for (const Attack& a : attacks) {
        SCOPED_TRACE(a.name);
        std::vector<std::string> args = {"--rm"};
        for (const std::string& v : a.volumes) {
            args.emplace_back("-v");
            args.push_back(v);
        }
        for (const char* word : {"img", "sh", "-c"}) {
            args.emplace_back(word);
        }
        args.push_back(a.command);
        Result r = runtime(run_args(args));
        ++tally.tried;
        log_outcome(a.name, r);
        if (refused_in_one_line(r)) {
            ++tally.refused;
            EXPECT_EQ(a.want, refused) << "refused: " << r.err;
            EXPECT_TRUE(contains(r.err, a.mentions)) << r.err;
        } else {
            ++tally.contained;
            EXPECT_EQ(a.want, runs) << "it ran: " << r.out;
            EXPECT_EQ(r.out, a.out) << r.err;
        }
        tally.check_host(h, a.name);
    }
    // The links in the volumes are as they were.
    EXPECT_EQ(link_target(store("volumes/n1/_data/sub")), "/etc");
    EXPECT_EQ(link_target(store("volumes/n2/_data/sub")), climbing(c));
    // n5 was filled from the container's /etc.
    EXPECT_EQ(read_file(store("volumes/n5/_data/passwd")), passwd);
    for (const std::string& name : names_in(store("volumes/n5/_data"))) {
        EXPECT_TRUE(std::set<std::string>({"group", "passwd", "hostname", "hosts", "resolv.conf", "mtab"}).count(name))
            << "the volume holds " << name << ", which the container's /etc has not";
    }
    tally.record();
}

namespace {

// A layer's worth of hostile entries, and what must hold of the host and the
// store after it was imported or loaded (or refused).
struct LayerAttack {
    LayerAttack(std::string name_, std::vector<TarEntry> entries_,
                std::function<void(const std::string& layer)> contained_ = nullptr, bool must_refuse_ = false)
        : name(std::move(name_)),
          entries(std::move(entries_)),
          contained(std::move(contained_)),
          must_refuse(must_refuse_) {}

    std::string name;
    std::vector<TarEntry> entries;
    // When the layer was accepted: checks of its files, in the store's layer
    // directory `layer` (nothing to check when empty).
    std::function<void(const std::string& layer)> contained;
    bool must_refuse;
};

std::vector<LayerAttack> layer_attacks(const HostSide& h) {
    const std::string& c = h.canary();
    const std::string secret = c + "/secret";
    auto is_node = [](const std::string& path, mode_t type, unsigned major, unsigned minor) {
        struct stat st {};
        EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
        EXPECT_EQ(st.st_mode & S_IFMT, type) << path;
        if (type == S_IFCHR || type == S_IFBLK) {
            EXPECT_EQ(st.st_rdev, ::makedev(major, minor)) << path;
        }
    };
    return {
        {"a character device",
         {{"null2", '3', "", 0666, 1, 3}},
         [=](const std::string& layer) { is_node(layer + "/null2", S_IFCHR, 1, 3); }},
        {"a block device",
         {{"blk", '4', "", 0660, 7, 250}},
         [=](const std::string& layer) { is_node(layer + "/blk", S_IFBLK, 7, 250); }},
        {"a fifo",
         {{"fifo", '6', "", 0644}},
         [=](const std::string& layer) { is_node(layer + "/fifo", S_IFIFO, 0, 0); }},
        {"a setuid-root file and a setgid directory",
         {{"suid", '0', "#!/bin/sh\n", 04755}, {"sgid", '5', "", 02775}},
         [=](const std::string& layer) {
             is_node(layer + "/suid", S_IFREG, 0, 0);
             is_node(layer + "/sgid", S_IFDIR, 0, 0);
         }},
        {"a hard link, with data, to a link to a host file",
         {{"l", '2', secret, 0777}, {"h", '1', "l", 0644, 0, 0, "pwned\n"}},
         [=](const std::string& layer) {
             // Either the link's second name (libarchive drops the data
             // rather than write through it), or a file of its own.
             if (!fs::is_symlink(layer + "/h")) {
                 EXPECT_EQ(read_file(layer + "/h"), "pwned\n");
             }
         }},
        {"a file over a link to a host file",
         {{"l", '2', secret, 0777}, {"l", '0', "pwned\n", 0666}},
         [=](const std::string& layer) { EXPECT_EQ(read_file(layer + "/l"), "pwned\n"); }},
        {"a directory over a link to a host directory",
         {{"d", '2', c, 0777}, {"d", '5', "", 0777}},
         [=](const std::string& layer) { is_node(layer + "/d", S_IFDIR, 0, 0); }},
        {"a directory, then a link to a host directory in its place",
         {{"d", '5', "", 0755}, {"d", '2', c, 0777}, {"d/file", '0', "x\n"}},
         nullptr,
         true},
        {"a whiteout through a link to a host directory", {{"w", '2', c, 0777}, {"w/.wh.secret", '0', ""}}, nullptr},
        {"an opaque marker through a link to a host directory",
         {{"w", '2', c, 0777}, {"w/.wh..wh..opq", '0', ""}},
         nullptr},
        {"a fifo through a link to a host directory", {{"w", '2', c, 0777}, {"w/fifo", '6', ""}}, nullptr, true},
        {"a device through a link to a host directory",
         {{"w", '2', c, 0777}, {"w/null", '3', "", 0666, 1, 3}},
         nullptr,
         true},
        {"a hard link to a link to a host directory, then a file through it",
         {{"l", '2', c, 0777}, {"h", '1', "l"}, {"h/file", '0', "x\n"}},
         nullptr,
         true},
        {"whiteouts named \".\" and \"..\"", {{".wh..", '0', ""}, {".wh...", '0', ""}}, nullptr},
        {"a hard link to \".\"", {{"h", '1', "."}}, nullptr},
        {"a hard link to a directory of the layer", {{"d", '5', "", 0755}, {"h", '1', "d"}}, nullptr},
    };
}

// The escapes chapter 04's ImportRefusesEscapingTars proves `import`
// refuses; `load` goes through the same door, and must refuse them too.
std::vector<LayerAttack> escaping_layers(const HostSide& h) {
    const std::string& c = h.canary();
    return {
        {"a \"..\" entry", {{"ok", '0', "fine\n"}, {"../x", '0', "x\n"}}, nullptr, true},
        {"a deep \"..\" entry", {{climbing(c) + "/dotdot", '0', "x\n"}}, nullptr, true},
        {"an absolute entry", {{c + "/abs", '0', "x\n"}}, nullptr, true},
        {"a link to a host directory, then a file through it",
         {{"link", '2', c, 0777}, {"link/file", '0', "x\n"}},
         nullptr,
         true},
        {"a relative link that climbs out, then a file through it",
         {{"evil", '2', climbing(c), 0777}, {"evil/file", '0', "x\n"}},
         nullptr,
         true},
        {"a hard link to an absolute host file", {{"h", '1', c + "/secret"}}, nullptr, true},
        {"a hard link to ../secret", {{"h", '1', "../secret"}}, nullptr, true},
        {"a hard link through a link to a host directory",
         {{"link", '2', c, 0777}, {"h", '1', "link/secret"}},
         nullptr,
         true},
    };
}

}  // namespace

// Claim: a layer tar with device nodes, a fifo, setuid files, hard links to
// links, entries over links, whiteouts and opaque markers through links,
// and odd whiteout names, given to `import` or inside an OCI archive to
// `load`, is either refused in one line (exit code 125) with nothing added
// to the store, or kept inside the store's layer directory (device nodes,
// fifos and setuid files are files of an image, as in Docker; a container's
// root may make them anyway); never is a host file written, chmod-ed,
// linked, deleted or marked opaque. The escapes chapter 04 proves for
// `import` ("..", absolute names, writing through links, hard links out)
// are refused by `load` too.
TEST(Ch08PathAttacks, HostileLayerTars) {
    MINIDOCKER_REQUIRE_ROOT();
    HostSide h;
    const TempDir& work = h.work();
    Tally tally("hostile layer tars");
    Result r = runtime({"images"});  // the store's directories
    ASSERT_EQ(r.code, 0) << r.err;
    // A well-formed layout of a well-formed layer loads: what is refused
    // below is refused for its hostile entry.
    {
        std::string file = work.path() + "/good.tar";
        write_file(file, tar_bytes(oci_layout({tar_bytes({{"hello", '0', "hello\n"}})}, "good:v1")));
        r = runtime({"load", "-i", file});
        ASSERT_EQ(r.code, 0) << r.err;
        EXPECT_EQ(r.out, "Loaded image: good:v1\n");
    }
    int n = 0;
    auto attack = [&](const LayerAttack& a, bool load) {
        SCOPED_TRACE(a.name + (load ? " (load)" : " (import)"));
        std::string image = "evil" + std::to_string(++n);
        std::string layer = tar_bytes(a.entries);
        std::string file = work.path() + "/" + image + ".tar";
        write_file(file, load ? tar_bytes(oci_layout({layer}, image + ":latest")) : layer);
        StoreNames before;
        Result r = load ? runtime({"load", "-i", file}) : runtime({"import", file, image});
        ++tally.tried;
        log_outcome(a.name + (load ? " (load)" : " (import)"), r);
        if (refused_in_one_line(r)) {
            ++tally.refused;
            before.expect_same();
        } else {
            ++tally.contained;
            EXPECT_FALSE(a.must_refuse) << "accepted";
            // The image's one layer (the same content imported and loaded
            // is one layer).
            nlohmann::json json = nlohmann::json::parse(read_file(store("images/" + image + ":latest.json")));
            std::vector<std::string> layers = json.at("layers").get<std::vector<std::string>>();
            ASSERT_EQ(layers.size(), 1u);
            if (a.contained) {
                a.contained(store("layers/" + layers[0]));
            }
            EXPECT_EQ(names_in(store("tmp")), std::set<std::string>{});
        }
        fs::remove(file);
        EXPECT_EQ(names_in(work.path()), std::set<std::string>{"good.tar"});
        tally.check_host(h, a.name);
    };
    for (const LayerAttack& a : layer_attacks(h)) {
        attack(a, false);
        attack(a, true);
    }
    for (const LayerAttack& a : escaping_layers(h)) {
        attack(a, true);
    }
    tally.record();
}

// Claim: `load` refuses, for the whole archive, an outer tar (the image
// layout itself) with an entry that is "..", absolute, a symbolic or hard
// link, a device or a fifo - whatever its name, even one the layout does
// not need: exit code 125, one line naming the entry, nothing added to the
// store (no layer, no image, nothing left in $ROOT/tmp), nothing written
// outside it.
TEST(Ch08PathAttacks, HostileOciArchives) {
    MINIDOCKER_REQUIRE_ROOT();
    HostSide h;
    const TempDir& work = h.work();
    Tally tally("hostile OCI archives");
    const std::string& c = h.canary();
    Result r = runtime({"images"});  // the store's directories
    ASSERT_EQ(r.code, 0) << r.err;
    const std::vector<TarEntry> good = oci_layout({tar_bytes({{"hello", '0', "hello\n"}})}, "outer:v1");
    const std::string blob = good.back().path;  // blobs/sha256/<the layer's digest>
    struct Attack {
        std::string name;
        std::vector<TarEntry> entries;  // before the good layout's
        std::string mentions;
    };
    const std::vector<Attack> attacks = {
        {"a \"..\" entry", {{"../x", '0', "x\n"}}, "../x"},
        {"a \"..\" inside an entry", {{"blobs/sha256/../../../x", '0', "x\n"}}, "blobs/sha256/../../../x"},
        {"a deep \"..\" entry", {{climbing(c) + "/x", '0', "x\n"}}, climbing(c)},
        {"an absolute entry", {{c + "/abs", '0', "x\n"}}, c + "/abs"},
        {"blobs -> a host directory", {{"blobs", '2', c, 0777}}, "blobs"},
        {"index.json -> a host file", {{"index.json", '2', c + "/secret", 0777}}, "index.json"},
        {"a blob -> a host file", {{blob, '2', c + "/secret", 0777}}, blob},
        {"a README -> /", {{"README", '2', "/", 0777}}, "README"},
        {"oci-layout, a hard link to a host file", {{"oci-layout", '1', c + "/secret"}}, "oci-layout"},
        {"a hard link to ../secret", {{"x", '1', "../secret"}}, "x"},
        {"a hard link to a layout file", {{"oci-layout", '0', "{}"}, {"copy", '1', "oci-layout"}}, "copy"},
        {"a blob that is a character device", {{blob, '3', "", 0666, 1, 3}}, blob},
        {"a block device", {{"disk", '4', "", 0660, 7, 250}}, "disk"},
        {"index.json, a fifo", {{"index.json", '6', ""}}, "index.json"},
    };
    for (const Attack& a : attacks) {
        SCOPED_TRACE(a.name);
        std::vector<TarEntry> entries = a.entries;
        entries.insert(entries.end(), good.begin(), good.end());
        std::string file = work.path() + "/evil.tar";
        write_file(file, tar_bytes(entries));
        StoreNames before;
        r = runtime({"load", "-i", file});
        ++tally.tried;
        log_outcome(a.name, r);
        EXPECT_EQ(r.code, 125) << r.out << r.err;
        EXPECT_EQ(lines(r.err).size(), 1u) << r.err;
        EXPECT_TRUE(contains(r.err, a.mentions)) << "should name " << a.mentions << ": " << r.err;
        tally.refused += r.code == 125 ? 1 : 0;
        before.expect_same();
        tally.check_host(h, a.name);
    }
    // And the same layout without them loads.
    std::string file = work.path() + "/good.tar";
    write_file(file, tar_bytes(good));
    r = runtime({"load", "-i", file});
    EXPECT_EQ(r.code, 0) << r.err;
    tally.record();
}

// Claim: what an image brings (a setuid-root program, a device node anyone
// may write) and what a container leaves in a named volume (a setuid-root
// copy of its shell) are out of reach of the host's unprivileged users, as
// Docker keeps them since CVE-2021-41091: the store the runtime makes for
// itself (--root, default /var/lib/minidocker) does not let `nobody` reach
// its layers or volumes. Otherwise any local user runs the image's setuid
// program as root on the host, or opens its device node.
TEST(Ch08PathAttacks, ImageFilesAreOutOfHostUsersReach) {
    MINIDOCKER_REQUIRE_ROOT();
    // A fresh --root the runtime makes itself, under a directory anyone may
    // enter (as /var/lib is).
    TempDir parent;
    ::chmod(parent.path().c_str(), 0755);
    const std::string root = parent.path() + "/store";
    auto own = [&](const std::vector<std::string>& args) {
        std::vector<std::string> argv = {binary(), "--root", root};
        argv.insert(argv.end(), args.begin(), args.end());
        return run(argv);
    };
    TempDir work;
    const std::vector<TarEntry> layer = {
        {"suid", '0', "#!/bin/sh\nid\n", 04755}, {"disk", '4', "", 0666, 7, 250}, {"null2", '3', "", 0666, 1, 3}};
    write_file(work.path() + "/layer.tar", tar_bytes(layer));
    write_file(work.path() + "/oci.tar", tar_bytes(oci_layout({tar_bytes(layer)}, "loaded:latest")));
    Result r = own({"import", work.path() + "/layer.tar", "imported"});
    ASSERT_EQ(r.code, 0) << r.err;
    r = own({"load", "-i", work.path() + "/oci.tar"});
    ASSERT_EQ(r.code, 0) << r.err;
    r = run({"cp", "-a", rootfs_path(), work.path() + "/rootfs"});
    ASSERT_EQ(r.code, 0) << r.err;
    r = own({"import", work.path() + "/rootfs", "img"});
    ASSERT_EQ(r.code, 0) << r.err;
    r = own(
        run_args({"--rm", "-v", "vol:/data", "img", "sh", "-c", "cp /bin/busybox /data/sh && chmod 4755 /data/sh"}));
    ASSERT_EQ(r.code, 0) << r.err;

    long reachable = 0;
    long checked = 0;
    std::vector<std::string> found;
    for (const std::string& layer_dir : names_in(root + "/layers")) {
        std::string dir = cat({root, "/layers/", layer_dir});
        if (!fs::exists(dir + "/suid")) {
            continue;
        }
        for (const auto& [path, mode] : std::vector<std::pair<std::string, int>>{
                 {dir + "/suid", X_OK}, {dir + "/disk", R_OK | W_OK}, {dir + "/null2", R_OK | W_OK}}) {
            ++checked;
            if (nobody_can(path, mode)) {
                ++reachable;
                found.push_back(path);
            }
        }
    }
    std::string volume_shell = root + "/volumes/vol/_data/sh";
    struct stat st {};
    ASSERT_EQ(::stat(volume_shell.c_str(), &st), 0);
    EXPECT_TRUE((st.st_mode & S_ISUID) != 0 && st.st_uid == 0);
    ++checked;
    if (nobody_can(volume_shell, X_OK)) {
        ++reachable;
        found.push_back(volume_shell);
    }
    EXPECT_EQ(checked, 4);  // import and load made one layer of the same content
    std::string listing;
    for (const std::string& path : found) {
        listing += "  " + path + "\n";
    }
    EXPECT_EQ(reachable, 0) << "the host user nobody can execute (setuid root) or open (mode 0666) these files of "
                               "the store "
                            << root << " (mode " << std::oct
                            << static_cast<unsigned>(fs::status(root).permissions() & fs::perms::all) << std::dec
                            << "):\n"
                            << listing;
    record_count("store files checked for host users", checked);
    record_count("store files host users reach", reachable);
}

// Claim: swapping, as fast as a thread can (renameat2 RENAME_EXCHANGE), a
// directory and a symbolic link to a host canary directory at the target of
// a nested volume (-v HOSTVOL:/data -v SRC:/data/x, and mounts below x, a
// file on x/file, a new named volume on x) while containers start never
// lands a mount, a mkdir or a volume's fill on the canary: every start is
// either refused in one line, or the container has SRC mounted where it
// looked at the moment it was resolved - on the directory (wherever the
// swaps moved it: /data/x or /data/x-link) or, through the link read inside
// the container, on the container's own path of the canary's name. The
// link is absolute for half the starts, relative (climbing out) for the
// others. The canary and the host's mount table never change.
TEST(Ch08PathAttacks, RacingSymlinkSwapDuringStarts) {
    MINIDOCKER_REQUIRE_ROOT();
    import_probe_image("img");
    HostSide h;
    const TempDir& work = h.work();
    const std::string& c = h.canary();
    const std::string hostvol = work.path() + "/hostvol";
    const std::string src = work.path() + "/hostsrc";
    const std::string file = work.path() + "/hostfile";
    fs::create_directory(hostvol);
    fs::create_directory(hostvol + "/x");
    fs::create_directory(src);
    write_file(src + "/marker", "marker\n");
    write_file(file, "file marker\n");
    const std::string work_name = fs::path(work.path()).filename().string();

    const int starts = 100;
    long refused = 0;
    long on_dir = 0;
    long on_container_path = 0;
    long swaps = 0;
    long host_changes = 0;
    std::map<std::string, long> refusals;  // message (without ids) -> count
    for (int phase = 0; phase < 2; ++phase) {
        std::string link = phase == 0 ? c : climbing(c);
        std::error_code ec;
        fs::remove(hostvol + "/x-link", ec);
        fs::create_symlink(link, hostvol + "/x-link");
        Swapper swapper(hostvol, "x", "x-link", c);
        for (int i = 0; i < starts / 2; ++i) {
            int variant = i % 4;
            std::string source;
            std::string target;
            std::string root_suffix;
            std::string below;
            if (variant == 0) {
                source = src;
                target = "/data/x";
                root_suffix = work_name + "/hostsrc";
            } else if (variant == 1) {
                source = src;
                target = "/data/x/new";
                root_suffix = work_name + "/hostsrc";
                below = "/new";
            } else if (variant == 2) {
                source = file;
                target = "/data/x/file";
                root_suffix = work_name + "/hostfile";
                below = "/file";
            } else {
                source = "race" + std::to_string(phase) + "-" + std::to_string(i);
                target = "/data/x";
                root_suffix = "/volumes/" + source + "/_data";
            }
            SCOPED_TRACE(cat({"start ", std::to_string(phase * starts / 2 + i), ": -v ", source, ":", target}));
            Result r = runtime(run_args({"--rm", "-v", hostvol + ":/data", "-v", cat({source, ":", target}), "img",
                                         "cat", "/proc/self/mountinfo"}));
            if (refused_in_one_line(r)) {
                ++refused;
                ++refusals[without(without(trim(r.err), work.path(), "WORK"), c, "CANARY")];
            } else {
                std::string at = mount_point_of(r.out, root_suffix);
                if (at == "/data/x" + below || at == "/data/x-link" + below) {
                    ++on_dir;
                } else if (at == c + below) {
                    ++on_container_path;
                } else {
                    ADD_FAILURE() << "the volume is mounted on \"" << at << "\" in the container:\n" << r.out;
                }
            }
            if (variant == 3) {
                // Filled from what /data/x was: the directory (the names
                // the other starts made in it), never the canary.
                std::string data = store("volumes/" + source + "/_data");
                for (const std::string& name : names_in(data)) {
                    EXPECT_TRUE(name == "new" || name == "file") << "the volume was filled with " << name;
                }
                Result rm = runtime({"volume", "rm", source});
                EXPECT_EQ(rm.code, 0) << rm.err;
            }
            std::string changes = h.changes();
            if (!changes.empty()) {
                ++host_changes;
                ADD_FAILURE() << "the host changed:\n" << changes;
            }
        }
        swapper.stop();
        swaps += swapper.swaps();
        EXPECT_GT(swapper.swaps(), 100) << "the swapper hardly ran";
        EXPECT_FALSE(swapper.saw_watched_mount()) << "the host's mount table showed " << c << " during the starts";
        // The directory back at x, for the next phase.
        if (fs::is_symlink(hostvol + "/x")) {
            ASSERT_EQ(::syscall(SYS_renameat2, AT_FDCWD, (hostvol + "/x").c_str(), AT_FDCWD,
                                (hostvol + "/x-link").c_str(), RENAME_EXCHANGE),
                      0);
        }
    }
    std::string why;
    for (const auto& [message, count] : refusals) {
        why += "  " + std::to_string(count) + " x " + message + "\n";
    }
    std::printf("racing starts: %d; refused %ld, on the directory %ld, on the container's own path %ld; %ld swaps\n%s",
                starts, refused, on_dir, on_container_path, swaps, why.c_str());
    EXPECT_EQ(host_changes, 0);
    record_count("racing starts", starts);
    record_count("racing starts refused", refused);
    record_count("racing starts mounted on the directory", on_dir);
    record_count("racing starts mounted on the container's own path", on_container_path);
    record_count("renameat2 swaps", swaps);
    record_count("host changes found (racing starts)", host_changes);
}

// Claim: a new named volume is filled from the image's files without ever
// following a symbolic link swapped in for one of them while the copy runs
// (as another container sharing the volume could do): the runtime never
// changes the mode, owner or times of, nor writes to, a host file or
// directory a link points at. Here a thread swaps (RENAME_EXCHANGE) each
// file and directory of the copy, as soon as it appears in the volume, with
// a link to the host canary's secret file (or its subdirectory).
TEST(Ch08PathAttacks, RacingSwapWhileAVolumeIsFilled) {
    MINIDOCKER_REQUIRE_ROOT();
    import_probe_image("img");
    HostSide h;
    const TempDir& work = h.work();
    const std::string& c = h.canary();
    // /data: files of 4 MiB (mode 0604: the copy takes a while, and a
    // chmod that went to the canary shows), directories (mode 0705).
    std::vector<TarEntry> layer = {{"data", '5', "", 0755}};
    std::vector<std::string> files;
    std::vector<std::string> dirs;
    for (int i = 0; i < 3; ++i) {
        files.push_back("f" + std::to_string(i));
        layer.push_back({"data/" + files.back(), '0', std::string(4 << 20, 'x'), 0604});
        dirs.push_back("d" + std::to_string(i));
        layer.push_back({"data/" + dirs.back(), '5', "", 0705});
        layer.push_back({"data/" + dirs.back() + "/inner", '0', std::string(1 << 20, 'y'), 0604});
    }
    write_file(work.path() + "/fill.tar", tar_bytes(layer));
    Result r = runtime({"import", "--base", "img", work.path() + "/fill.tar", "fill"});
    ASSERT_EQ(r.code, 0) << r.err;

    Tally tally("volume fill race");
    long swapped = 0;
    const int attempts = 8;
    for (int attempt = 0; attempt < attempts; ++attempt) {
        SCOPED_TRACE("attempt " + std::to_string(attempt));
        std::string volume = "fill" + std::to_string(attempt);
        std::string stage = work.path() + "/stage" + std::to_string(attempt);
        fs::create_directory(stage);
        for (const std::string& f : files) {
            fs::create_symlink(c + "/secret", cat({stage, "/", f}));
        }
        for (const std::string& d : dirs) {
            fs::create_symlink(c + "/sub", cat({stage, "/", d}));
        }
        std::atomic<bool> stop{false};
        std::atomic<long> swaps{0};
        std::thread racer([&] {
            int stage_fd = ::open(stage.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
            int data_fd = -1;
            std::set<std::string> done;
            std::vector<std::string> names = files;
            names.insert(names.end(), dirs.begin(), dirs.end());
            std::string data = store("volumes/" + volume + "/_data");
            while (!stop && done.size() < names.size()) {
                if (data_fd < 0) {
                    data_fd = ::open(data.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
                    continue;
                }
                for (const std::string& name : names) {
                    struct stat st {};
                    if (done.count(name) == 0 && ::fstatat(data_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                        !S_ISLNK(st.st_mode) &&
                        ::syscall(SYS_renameat2, stage_fd, name.c_str(), data_fd, name.c_str(), RENAME_EXCHANGE) == 0) {
                        done.insert(name);
                        ++swaps;
                    }
                }
            }
            ::close(stage_fd);
            if (data_fd >= 0) {
                ::close(data_fd);
            }
        });
        r = runtime(run_args({"--rm", "-v", volume + ":/data", "fill", "true"}));
        stop = true;
        racer.join();
        swapped += swaps;
        ++tally.tried;
        if (refused_in_one_line(r)) {
            ++tally.refused;
        } else {
            ++tally.contained;
        }
        std::string changes = h.changes();
        if (!changes.empty()) {
            ++tally.host_changes;
            ADD_FAILURE() << "filling volume " << volume << " with " << swaps
                          << " of its entries swapped for links to the canary changed the host:\n"
                          << changes;
            // Put the canary back for the next attempt.
            ::chmod((c + "/secret").c_str(), 0600);
            ::chmod((c + "/sub").c_str(), 0700);
            break;
        }
        Result rm = runtime({"volume", "rm", volume});
        EXPECT_EQ(rm.code, 0) << rm.err;
    }
    std::printf("volume fills raced: %ld (%ld refused); entries swapped for links: %ld; host changed: %ld\n",
                tally.tried, tally.refused, swapped, tally.host_changes);
    EXPECT_GT(swapped, 0) << "the racer never swapped anything: the test proved nothing";
    record_count("volume fills raced", tally.tried);
    record_count("entries swapped during fills", swapped);
    record_count("host changes found (volume fill race)", tally.host_changes);
}

// Claim: a running container that keeps swapping, in a named volume it
// shares, a directory and a symbolic link to a host path (with busybox mv,
// as any container can) cannot make another container's start mount its
// nested volume on the host path: each start is refused in one line, or
// the volume is mounted inside the starting container (or, when the other
// container moved a directory onto the mount point after the mount, the
// kernel detached the mount and the container runs without it: a lost
// mount, counted, not an escape). The host's canary and mount table never
// change.
TEST(Ch08PathAttacks, RacingContainerInASharedVolume) {
    MINIDOCKER_REQUIRE_ROOT();
    import_probe_image("img");
    HostSide h;
    const std::string& c = h.canary();
    const std::string work_name = fs::path(h.host()).filename().string();
    std::string attacker = run_detached(
        {"--name", "attacker", "-v", "shared:/data", "img", "sh", "-c",
         "mkdir -p /data/x; ln -s " + c +
             " /data/l; while :; do mv -nT /data/x /data/t; mv -nT /data/l /data/x; mv -nT /data/x /data/l; "
             "mv -nT /data/t /data/x; done 2>/dev/null"});
    ASSERT_FALSE(attacker.empty());
    ASSERT_TRUE(wait_until(
        [&] {
            return fs::exists(fs::symlink_status(store("volumes/shared/_data/l"))) ||
                   fs::exists(fs::symlink_status(store("volumes/shared/_data/t")));
        },
        10));
    const int starts = 30;
    long refused = 0;
    long inside = 0;
    long lost = 0;
    long host_changes = 0;
    std::map<std::string, long> where;  // mount point in the container -> starts
    for (int i = 0; i < starts; ++i) {
        std::string target = i % 2 == 0 ? "/data/x" : "/data/x/new";
        SCOPED_TRACE("start " + std::to_string(i) + ": " + target);
        Result r = runtime(run_args(
            {"--rm", "-v", "shared:/data", "-v", h.dir() + ":" + target, "img", "cat", "/proc/self/mountinfo"}));
        if (refused_in_one_line(r)) {
            ++refused;
        } else {
            std::string at = mount_point_of(r.out, work_name + "/dir");
            std::string below = i % 2 == 0 ? "" : "/new";
            // "": the other container replaced the mount point after the
            // mount (mv onto it), and the kernel detached the mount in
            // every namespace: the container ran without it.
            bool ok = at.empty() || at == "/data/x" + below || at == "/data/t" + below || at == "/data/l" + below ||
                      at == c + below;
            EXPECT_TRUE(ok) << "the volume is mounted on \"" << at << "\" in the container:\n" << r.out;
            inside += ok && !at.empty() ? 1 : 0;
            lost += at.empty() ? 1 : 0;
            ++where[without(at, c, "CANARY")];
        }
        std::string changes = h.changes();
        if (!changes.empty()) {
            ++host_changes;
            ADD_FAILURE() << "the host changed:\n" << changes;
        }
    }
    Result r = runtime({"rm", "-f", "attacker"});
    EXPECT_EQ(r.code, 0) << r.err;
    std::printf("starts beside a racing container: %d; refused %ld, mount lost %ld, mounted inside %ld:", starts,
                refused, lost, inside);
    for (const auto& [at, count] : where) {
        std::printf(" %ld on %s;", count, at.c_str());
    }
    std::printf("\n");
    EXPECT_EQ(host_changes, 0);
    record_count("starts beside a racing container", starts);
    record_count("starts beside a racing container refused", refused);
    record_count("starts beside a racing container that lost the mount", lost);
    record_count("host changes found (racing container)", host_changes);
}
