// Chapter 05's claims, proven from outside: a host directory (or file) bound
// with -v is the same files inside and out, read-only with :ro (submounts
// too); the bind mount is made in the container's own mount namespace, after
// the overlay and before pivot_root, so the host's mount table never has it;
// named volumes outlive their containers, are shared, start with the image's
// files, and cannot be removed while a container uses them; anonymous ones
// get their own ids; symbolic links in an image cannot point a mount at the
// host; bad -v input is one line, exit code 125, and nothing made.
// These tests also run against every later chapter's binary.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
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

std::string host_mounts() { return read_file("/proc/self/mountinfo"); }

// A mountinfo text's lines, by the runtime's own parser (common/mountinfo.hpp):
// root is the part of its filesystem a mount shows, point where it is mounted.
using minidocker::MountEntry;

std::vector<MountEntry> mount_entries(const std::string& mountinfo) { return minidocker::parse_mountinfo(mountinfo); }

std::vector<std::string> mount_points(const std::string& mountinfo) {
    std::vector<std::string> points;
    for (const MountEntry& e : mount_entries(mountinfo)) {
        points.push_back(e.point);
    }
    return points;
}

// The entry mounted at `point` (the last one, which is what is seen there).
std::optional<MountEntry> mounted_at(const std::string& mountinfo, const std::string& point) {
    std::optional<MountEntry> found;
    for (const MountEntry& e : mount_entries(mountinfo)) {
        if (e.point == point) {
            found = e;
        }
    }
    return found;
}

// A bind mount's root is the host directory's path in its filesystem: a
// tail of the full path ("/" only when the directory is a mount point).
bool is_tail_of(const std::string& root, const std::string& path) {
    return root != "/" && path.size() >= root.size() && path.compare(path.size() - root.size(), root.size(), root) == 0;
}

// Lines of `after` that `before` does not have.
std::vector<std::string> new_lines(const std::string& before, const std::string& after) {
    std::vector<std::string> old = lines(before);
    std::vector<std::string> added;
    for (const std::string& line : lines(after)) {
        if (std::find(old.begin(), old.end(), line) == old.end()) {
            added.push_back(line);
        }
    }
    return added;
}

bool is_hex_id(const std::string& s) {
    return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

void write_file(const std::string& path, const std::string& content) { std::ofstream(path) << content; }

struct stat stat_of(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
    return st;
}

// The layer of the built-in busybox image (made by the first run).
std::string busybox_layer() {
    nlohmann::json j = read_json(store("images/busybox:latest.json"));
    return store("layers/" + j.at("layers").at(0).get<std::string>());
}

}  // namespace

// Claim: `-v HOSTDIR:/test` shows the host directory itself: a file written
// in /test is on the host, with the owner that wrote it; a host file is in
// /test. With :ro, reads work and writes fail with EROFS ("Read-only file
// system"), recursively: a filesystem mounted inside the host directory is
// read-only in the container too (and stays writable on the host). A single
// host file can be bound, onto a file made in the container's upper layer.
TEST(Ch05, BindMountedHostDirectory) {
    MINIDOCKER_REQUIRE_ROOT();
    TempDir host;
    fs::permissions(host.path(), fs::perms(01777));  // for the write as nobody
    write_file(host.path() + "/from-host", "from the host\n");

    Result r = runtime({"run", "--rm", "-v", host.path() + ":/test", "busybox", "sh", "-c",
                        "set -e; cat /test/from-host; echo from the container > /test/from-ctr; "
                        "su -s /bin/sh nobody -c 'echo by nobody > /test/by-nobody'"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "from the host\n");
    EXPECT_EQ(read_file(host.path() + "/from-ctr"), "from the container\n");
    EXPECT_EQ(stat_of(host.path() + "/from-ctr").st_uid, 0u);
    EXPECT_EQ(read_file(host.path() + "/by-nobody"), "by nobody\n");
    EXPECT_EQ(stat_of(host.path() + "/by-nobody").st_uid, 65534u);
    EXPECT_EQ(names_in(host.path()), (std::set<std::string>{"from-host", "from-ctr", "by-nobody"}));

    // :ro - reads work, writes, appends and deletions fail with EROFS.
    {
        SCOPED_TRACE(":ro");
        r = runtime({"run", "--rm", "-v", host.path() + ":/ro:ro", "busybox", "sh", "-c",
                     "cat /ro/from-host; grep ' /ro ' /proc/mounts; echo x > /ro/new; echo x >> /ro/from-host; "
                     "rm /ro/from-ctr; mkdir /ro/dir; echo done"});
        EXPECT_EQ(r.code, 0) << r.err;
        std::vector<std::string> out = lines(r.out);
        EXPECT_EQ(out.size(), 3u) << r.out << r.err;
        out.resize(3);
        EXPECT_EQ(out[0], "from the host");
        EXPECT_TRUE(contains(out[1], " ro,") || contains(out[1], " ro ")) << out[1];
        EXPECT_EQ(out[2], "done");
        EXPECT_EQ(lines(r.err).size(), 4u) << r.err;
        for (const std::string& line : lines(r.err)) {
            EXPECT_TRUE(contains(line, "Read-only file system")) << line;
        }
        EXPECT_EQ(names_in(host.path()), (std::set<std::string>{"from-host", "from-ctr", "by-nobody"}));
        EXPECT_EQ(read_file(host.path() + "/from-host"), "from the host\n");
        // :rw is the default, spelled out.
        r = runtime({"run", "--rm", "-v", host.path() + ":/rw:rw", "busybox", "sh", "-c", "echo rw > /rw/rw"});
        EXPECT_EQ(r.code, 0) << r.err;
        EXPECT_EQ(read_file(host.path() + "/rw"), "rw\n");
    }

    // :ro is recursive. The submount is made in a throw-away mount namespace
    // (the runtime is started from there), so the host never has it.
    {
        SCOPED_TRACE(":ro with a submount");
        TempDir outer;
        std::string dir = outer.path();
        fs::create_directory(dir + "/sub");
        std::string ch = binary() + " --root " + state_root();
        std::string script = "set -e; mount -t tmpfs ch05-test-tmpfs " + dir + "/sub; echo tmpfs > " + dir +
                             "/sub/f; " + ch + " run --rm -v " + dir +
                             ":/test:ro busybox sh -c 'grep \" /test/sub \" /proc/mounts; cat /test/sub/f; "
                             "echo x > /test/sub/new || echo refused'; "
                             "test ! -e " +
                             dir + "/sub/new && echo not-written; echo host > " + dir + "/sub/host && echo host-rw";
        r = run({"unshare", "--mount", "--propagation", "private", "sh", "-c", script});
        EXPECT_EQ(r.code, 0) << r.err;
        std::vector<std::string> out = lines(r.out);
        EXPECT_EQ(out.size(), 5u) << r.out << r.err;
        out.resize(5);
        EXPECT_TRUE(contains(out[0], "/test/sub tmpfs ro")) << out[0];
        EXPECT_EQ(out[1], "tmpfs");
        EXPECT_EQ(out[2], "refused");
        EXPECT_EQ(out[3], "not-written");
        EXPECT_EQ(out[4], "host-rw");
        EXPECT_TRUE(contains(r.err, "Read-only file system")) << r.err;
        EXPECT_FALSE(contains(host_mounts(), "ch05-test-tmpfs"));
        EXPECT_EQ(names_in(dir + "/sub"), std::set<std::string>{});
    }

    // A single host file, on a path the image does not have.
    {
        SCOPED_TRACE("a file");
        TempDir files;
        std::string file = files.path() + "/conf";
        write_file(file, "conf\n");
        r = runtime({"run", "--name", "file", "-v", file + ":/etc/x", "busybox", "sh", "-c",
                     "cat /etc/x; echo more >> /etc/x; test -f /etc/x && echo file"});
        EXPECT_EQ(r.code, 0) << r.err;
        EXPECT_EQ(r.out, "conf\nfile\n");
        EXPECT_EQ(read_file(file), "conf\nmore\n");
        EXPECT_EQ(names_in(files.path()), std::set<std::string>{"conf"});
        // The mount point is an empty file in the container's own layer.
        std::string point = container_dir("file") + "/upper/etc/x";
        EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(point))) << point;
        EXPECT_EQ(fs::file_size(point), 0u);
    }
}

// Claim: the volume's bind mount exists only in the container's mount
// namespace: while the container runs, its /proc/<pid>/mountinfo has the
// volume at /test (and /proc/mounts inside shows it), and the host's has no
// entry for the target nor the source. Under an rshared "/" (as on systemd
// hosts) the mount table is the same during and after such runs as before.
TEST(Ch05, HostMountTableNeverSeesTheVolume) {
    MINIDOCKER_REQUIRE_ROOT();
    TempDir host;
    std::string before = host_mounts();
    {
        Background c = start({"run", "-v", host.path() + ":/test", "-v", "data:/data", "busybox", "sh", "-c",
                              "grep -E ' /(test|data) ' /proc/mounts > /test/inside; exec sleep 30"});
        pid_t pid = c.container_pid("sleep");
        ASSERT_GT(pid, 0);
        std::string during = host_mounts();
        std::string in_container = read_file("/proc/" + std::to_string(pid) + "/mountinfo");

        std::optional<MountEntry> test = mounted_at(in_container, "/test");
        ASSERT_TRUE(test) << in_container;
        EXPECT_TRUE(is_tail_of(test->root, fs::canonical(host.path()).string())) << test->root;
        std::optional<MountEntry> data = mounted_at(in_container, "/data");
        ASSERT_TRUE(data) << in_container;
        EXPECT_TRUE(is_tail_of(data->root, fs::canonical(store("volumes/data/_data")).string())) << data->root;
        std::string inside = read_file(host.path() + "/inside");
        EXPECT_TRUE(contains(inside, " /test ")) << inside;
        EXPECT_TRUE(contains(inside, " /data ")) << inside;

        std::vector<std::string> points = mount_points(during);
        EXPECT_EQ(std::count(points.begin(), points.end(), "/test"), 0) << during;
        EXPECT_EQ(std::count(points.begin(), points.end(), "/data"), 0) << during;
        EXPECT_FALSE(contains(during, host.path())) << during;
        EXPECT_FALSE(contains(during, state_root())) << during;
        // (Other programs may mount things meanwhile: only new lines count.)
        for (const std::string& line : new_lines(before, during)) {
            EXPECT_FALSE(contains(line, "/test") || contains(line, "/data") || contains(line, "minidocker"))
                << "a mount on the host: " << line;
        }
        ::kill(pid, SIGKILL);
        EXPECT_EQ(c.wait().code, 137);
    }
    EXPECT_FALSE(contains(host_mounts(), host.path()));

    // With "/" rshared: a table taken while a container with volumes runs,
    // and one after several such runs, equal the one before.
    TempDir out;
    std::string h = host.path();
    std::string ch = binary() + " --root " + state_root();
    std::string wait_for = "i=0; while [ ! -e " + h + "/up ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done";
    std::string script = ch + " run --rm -v " + h + ":/test -v " + h + ":/ro:ro -v data:/data -v /anon busybox " +
                         "sh -c 'rm -f /test/go; touch /test/up; i=0; while [ ! -e /test/go ] && [ $i -lt 400 ]; " +
                         "do sleep 0.05; i=$((i+1)); done' & " + wait_for + "; cat /proc/self/mountinfo > " +
                         out.path() + "/during; touch " + h + "/go; wait $!; " + ch + " run --name v -v " + h +
                         ":/etc/test -v named:/named busybox true; " + ch + " rm v >/dev/null";
    MountTables t = mount_tables_around(script);
    ASSERT_EQ(t.result.code, 0) << t.result.err;
    ASSERT_NE(t.before.find("shared:"), std::string::npos) << "the test failed to make / shared";
    EXPECT_TRUE(fs::exists(h + "/up")) << "the container never ran";
    EXPECT_EQ(t.before, read_file(out.path() + "/during"));
    EXPECT_EQ(t.before, t.after);
}

// Claim: in the --trace output, every volume's bind mount (and the
// mount_setattr that makes a :ro one read-only) comes in the child, after
// "/" is made private and the overlay is mounted, and before
// pivot_root(".", "."): the moment the host path can still be named and the
// host's mount table cannot see the result.
TEST(Ch05, TraceShowsBindMountsBeforeTheRootSwitch) {
    MINIDOCKER_REQUIRE_ROOT();
    TempDir host;
    Result r = run(with_trace({"run", "--rm", "-v", host.path() + ":/test", "-v", host.path() + ":/ro:ro", "-v",
                               "data:/data", "-v", "/anon", "busybox", "true"}));
    ASSERT_EQ(r.code, 0) << r.err;
    const std::string tag = "[05 volumes] ";
    std::vector<std::string> binds;
    std::vector<std::string> setattrs;
    for (const std::string& line : lines(r.err)) {
        if (line.rfind(tag + "mount(", 0) == 0) {
            binds.push_back(line);
        } else if (line.rfind(tag + "mount_setattr(", 0) == 0) {
            setattrs.push_back(line);
        }
    }
    ASSERT_EQ(binds.size(), 4u) << r.err;
    ASSERT_EQ(setattrs.size(), 1u) << r.err;
    std::string source = fs::canonical(host.path()).string();
    EXPECT_TRUE(contains(binds[0], "\"" + source + "\"") && contains(binds[0], "\"/test\"")) << binds[0];
    EXPECT_TRUE(contains(binds[1], "\"" + source + "\"") && contains(binds[1], "\"/ro\"")) << binds[1];
    EXPECT_TRUE(contains(binds[2], "/volumes/data/_data\"") && contains(binds[2], "\"/data\"")) << binds[2];
    EXPECT_TRUE(contains(binds[3], "/_data\"") && contains(binds[3], "\"/anon\"")) << binds[3];
    for (const std::string& line : binds) {
        EXPECT_TRUE(contains(line, "MS_BIND|MS_REC")) << line;
        EXPECT_TRUE(contains(line, ") = 0")) << line;
    }
    EXPECT_TRUE(contains(setattrs[0], "\"/ro\"")) << setattrs[0];
    EXPECT_TRUE(contains(setattrs[0], "MOUNT_ATTR_RDONLY")) << setattrs[0];
    EXPECT_TRUE(contains(setattrs[0], "AT_RECURSIVE")) << setattrs[0];

    auto position = [&](const std::string& what) {
        size_t at = r.err.find(what);
        EXPECT_NE(at, std::string::npos) << "missing: " << what << "\n" << r.err;
        return at;
    };
    size_t clone = position("] clone");  // clone( or clone3(
    size_t make_private = position("] mount(NULL, \"/\", NULL, MS_REC|MS_PRIVATE");
    size_t overlay = position("[04 overlay] mount(\"overlay\"");
    size_t pivot = position("] pivot_root(\".\", \".\")");
    EXPECT_LT(clone, make_private);
    EXPECT_LT(make_private, overlay);
    for (const std::string& line : binds) {
        size_t at = position(line);
        EXPECT_LT(overlay, at) << line << "\n" << r.err;
        EXPECT_LT(at, pivot) << line << "\n" << r.err;
    }
    size_t ro_bind = position(binds[1]);
    size_t setattr = position(setattrs[0]);
    EXPECT_LT(ro_bind, setattr) << r.err;
    EXPECT_LT(setattr, position(binds[2])) << r.err;
}

// Claim: a named volume is $ROOT/volumes/NAME/_data and outlives its
// containers (`rm`, `--rm`): a later container sees what an earlier one
// wrote, and two running at once share it both ways. A new volume starts
// with the image's files at the target; an existing one is never
// overwritten. Anonymous volumes (`-v /dir`) get distinct 64-hex ids and go
// with `--rm`, stay without. `volume rm` is refused (125, naming the
// container) while a container, running or exited, uses the volume, and works
// after `rm`. `volume create`, `ls`, `inspect` say what Docker's say.
TEST(Ch05, NamedAndAnonymousVolumes) {
    MINIDOCKER_REQUIRE_ROOT();
    // Outlives `rm` and `--rm`.
    Result r = runtime({"run", "--name", "writer", "-v", "data:/data", "busybox", "sh", "-c", "echo one > /data/f"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(read_file(store("volumes/data/_data/f")), "one\n");
    r = runtime({"rm", "writer"});
    ASSERT_EQ(r.code, 0) << r.err;
    r = runtime({"run", "--rm", "-v", "data:/data", "busybox", "sh", "-c", "cat /data/f; echo two >> /data/f"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "one\n");
    r = runtime({"run", "--rm", "-v", "data:/elsewhere:ro", "busybox", "cat", "/elsewhere/f"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "one\ntwo\n");
    EXPECT_EQ(names_in(store("volumes")), std::set<std::string>{"data"});
    EXPECT_EQ(names_in(store("containers")), std::set<std::string>{});

    // Two containers at once.
    {
        SCOPED_TRACE("shared");
        Background a =
            start({"run", "--rm", "-v", "shared:/s", "busybox", "sh", "-c", "echo from a > /s/a; exec sleep 30"});
        pid_t pid = a.container_pid("sleep");
        ASSERT_GT(pid, 0);
        r = runtime({"run", "--rm", "-v", "shared:/s", "busybox", "sh", "-c", "cat /s/a; echo from b > /s/b"});
        EXPECT_EQ(r.code, 0) << r.err;
        EXPECT_EQ(r.out, "from a\n");
        // What b wrote, as the running a sees it (through its own mounts).
        EXPECT_EQ(read_file("/proc/" + std::to_string(pid) + "/root/s/b"), "from b\n");
        EXPECT_EQ(read_file(store("volumes/shared/_data/b")), "from b\n");
        ::kill(pid, SIGKILL);
        EXPECT_EQ(a.wait().code, 137);
    }

    // A new volume is filled from the image; an existing one is not touched.
    {
        SCOPED_TRACE("pre-filled");
        r = runtime({"run", "--rm", "-v", "etcvol:/etc", "busybox", "cat", "/etc/passwd"});
        EXPECT_EQ(r.code, 0) << r.err;
        std::string passwd = read_file(busybox_layer() + "/etc/passwd");
        ASSERT_NE(passwd, "");
        EXPECT_EQ(r.out, passwd);
        EXPECT_EQ(read_file(store("volumes/etcvol/_data/passwd")), passwd);
        EXPECT_EQ(read_file(store("volumes/etcvol/_data/group")), read_file(busybox_layer() + "/etc/group"));
        write_file(store("volumes/etcvol/_data/passwd"), "mine\n");
        fs::remove(store("volumes/etcvol/_data/group"));
        r = runtime({"run", "--rm", "-v", "etcvol:/etc", "busybox", "sh", "-c",
                     "cat /etc/passwd; test -e /etc/group || echo no group"});
        EXPECT_EQ(r.code, 0) << r.err;
        EXPECT_EQ(r.out, "mine\nno group\n");
        EXPECT_EQ(read_file(store("volumes/etcvol/_data/passwd")), "mine\n");
        EXPECT_FALSE(fs::exists(store("volumes/etcvol/_data/group")));
        // The image's layer was only read.
        EXPECT_EQ(read_file(busybox_layer() + "/etc/passwd"), passwd);
    }

    // Anonymous volumes.
    std::set<std::string> named = {"data", "shared", "etcvol"};
    EXPECT_EQ(names_in(store("volumes")), named);
    r = runtime({"run", "--rm", "-v", "/scratch", "busybox", "sh", "-c", "echo x > /scratch/f"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(names_in(store("volumes")), named) << "--rm left its anonymous volume";
    r = runtime({"run", "--name", "anon", "-v", "/scratch", "-v", "/scratch2", "busybox", "sh", "-c",
                 "echo kept > /scratch/f"});
    ASSERT_EQ(r.code, 0) << r.err;
    r = runtime({"run", "--name", "anon2", "-v", "/scratch", "busybox", "true"});
    ASSERT_EQ(r.code, 0) << r.err;
    std::set<std::string> anonymous;
    for (const std::string& name : names_in(store("volumes"))) {
        if (!named.count(name)) {
            EXPECT_TRUE(is_hex_id(name)) << name;
            anonymous.insert(name);
        }
    }
    EXPECT_EQ(anonymous.size(), 3u);
    r = runtime({"volume", "ls", "-q"});
    EXPECT_EQ(r.code, 0) << r.err;
    std::vector<std::string> listed = lines(r.out);
    std::set<std::string> all = named;
    all.insert(anonymous.begin(), anonymous.end());
    EXPECT_EQ(std::set<std::string>(listed.begin(), listed.end()), all) << r.out;
    EXPECT_EQ(listed.size(), all.size()) << r.out;
    size_t with_kept = 0;
    for (const std::string& id : anonymous) {
        with_kept += read_file(store("volumes/" + id + "/_data/f")) == "kept\n";
    }
    EXPECT_EQ(with_kept, 1u);

    // volume rm: refused while a container uses it, running or exited.
    {
        SCOPED_TRACE("volume rm");
        Background user = start({"run", "--name", "user", "-v", "data:/data", "busybox", "sleep", "30"});
        pid_t pid = user.container_pid("sleep");
        ASSERT_GT(pid, 0);
        std::string id = container_id("user");
        ASSERT_TRUE(is_hex_id(id)) << id;
        r = runtime({"volume", "rm", "data"});
        EXPECT_EQ(r.code, 125);
        EXPECT_TRUE(one_line(r.err)) << r.err;
        EXPECT_TRUE(contains(r.err, id.substr(0, 12)) || contains(r.err, "user")) << r.err;
        EXPECT_EQ(read_file(store("volumes/data/_data/f")), "one\ntwo\n");
        ::kill(pid, SIGKILL);
        EXPECT_EQ(user.wait().code, 137);
        r = runtime({"volume", "rm", "data"});
        EXPECT_EQ(r.code, 125) << "removed while an exited container uses it";
        EXPECT_TRUE(one_line(r.err)) << r.err;
        EXPECT_TRUE(contains(r.err, id.substr(0, 12)) || contains(r.err, "user")) << r.err;
        EXPECT_TRUE(fs::is_directory(store("volumes/data/_data")));
        r = runtime({"rm", "user"});
        ASSERT_EQ(r.code, 0) << r.err;
        r = runtime({"volume", "rm", "data"});
        EXPECT_EQ(r.code, 0) << r.err;
        EXPECT_FALSE(fs::exists(store("volumes/data")));
        r = runtime({"volume", "rm", "data"});
        EXPECT_EQ(r.code, 125);
        EXPECT_TRUE(contains(r.err, "No such volume")) << r.err;
        // The anonymous volumes of `anon`: also refused until `rm anon`.
        for (const std::string& v : anonymous) {
            if (read_file(store("volumes/" + v + "/_data/f")) == "kept\n") {
                r = runtime({"volume", "rm", v});
                EXPECT_EQ(r.code, 125);
                EXPECT_TRUE(contains(r.err, container_id("anon").substr(0, 12)) || contains(r.err, "anon")) << r.err;
                EXPECT_EQ(runtime({"rm", "anon"}).code, 0);
                r = runtime({"volume", "rm", v});
                EXPECT_EQ(r.code, 0) << r.err;
                EXPECT_FALSE(fs::exists(store("volumes/" + v)));
            }
        }
    }

    // create, ls, inspect.
    {
        SCOPED_TRACE("volume create/ls/inspect");
        r = runtime({"volume", "create", "made"});
        EXPECT_EQ(r.code, 0) << r.err;
        EXPECT_EQ(r.out, "made\n");
        EXPECT_TRUE(fs::is_directory(store("volumes/made/_data")));
        EXPECT_EQ(names_in(store("volumes/made/_data")), std::set<std::string>{});
        r = runtime({"volume", "create"});
        EXPECT_EQ(r.code, 0) << r.err;
        std::string random = trim(r.out);
        EXPECT_TRUE(is_hex_id(random)) << r.out;
        EXPECT_TRUE(fs::is_directory(store("volumes/" + random + "/_data")));

        r = runtime({"volume", "ls"});
        EXPECT_EQ(r.code, 0) << r.err;
        std::vector<std::string> rows = lines(r.out);
        ASSERT_FALSE(rows.empty());
        EXPECT_TRUE(contains(rows[0], "DRIVER") && contains(rows[0], "VOLUME NAME")) << r.out;
        bool listed_made = false;
        for (const std::string& row : rows) {
            std::istringstream in(row);
            std::string driver, name;
            in >> driver >> name;
            listed_made |= driver == "local" && name == "made";
        }
        EXPECT_TRUE(listed_made) << r.out;

        r = runtime({"volume", "inspect", "made"});
        EXPECT_EQ(r.code, 0) << r.err;
        nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
        ASSERT_TRUE(j.is_array()) << r.out;
        ASSERT_EQ(j.size(), 1u) << r.out;
        EXPECT_EQ(j[0].value("Name", ""), "made");
        EXPECT_EQ(j[0].value("Driver", ""), "local");
        std::string mountpoint = j[0].value("Mountpoint", "");
        EXPECT_TRUE(fs::is_directory(mountpoint)) << mountpoint;
        EXPECT_EQ(fs::canonical(mountpoint), fs::canonical(store("volumes/made/_data")));
        r = runtime({"volume", "inspect", "made", random});
        EXPECT_EQ(r.code, 0) << r.err;
        j = nlohmann::json::parse(r.out, nullptr, false);
        ASSERT_TRUE(j.is_array()) << r.out;
        EXPECT_EQ(j.size(), 2u) << r.out;
        r = runtime({"volume", "inspect", "no-such-volume"});
        EXPECT_EQ(r.code, 125);
        EXPECT_TRUE(one_line(r.err)) << r.err;
        EXPECT_TRUE(contains(r.err, "no-such-volume")) << r.err;

        // A volume made by `create` is what `-v made:` mounts.
        r = runtime({"run", "--rm", "-v", "made:/m", "busybox", "sh", "-c", "echo in made > /m/f"});
        EXPECT_EQ(r.code, 0) << r.err;
        EXPECT_EQ(read_file(store("volumes/made/_data/f")), "in made\n");
    }
}

// Claim: symbolic links in an image are followed as the container would
// follow them, never out of its root: with /test -> /etc, `-v HOST:/test`
// covers the container's own /etc (the host's /etc is untouched, and the
// host's mount table gets no /etc); with /esc -> /../../../../../.. (and, in
// a --rootfs directory, ../../../../../..), `-v HOST:/esc` would cover the
// container's "/": refused, exit 125, one line, nothing changed on the host;
// with /abs -> /tmp/<a host directory>, `-v HOST:/abs/x` makes the mount
// point inside the container's rootfs (its upper layer), and the host
// directory stays empty.
TEST(Ch05, SymlinksInTheImageCannotRedirectAMount) {
    MINIDOCKER_REQUIRE_ROOT();
    TempDir host;
    write_file(host.path() + "/host-file", "host file\n");
    TempDir outside;  // what /abs points at, on the host
    TempDir src;
    std::string image = src.path() + "/image";
    Result r = run({"cp", "-a", rootfs_path(), image});
    ASSERT_EQ(r.code, 0) << r.err;
    fs::create_symlink("/etc", image + "/test");
    fs::create_symlink("/../../../../../..", image + "/esc");
    fs::create_symlink(outside.path(), image + "/abs");
    r = runtime({"import", image, "evil"});
    ASSERT_EQ(r.code, 0) << r.err;

    std::string hostname = read_file("/etc/hostname");
    std::set<std::string> host_etc = names_in("/etc");
    std::set<std::string> host_root = names_in("/");
    std::string mounts = host_mounts();
    auto host_untouched = [&] {
        EXPECT_EQ(read_file("/etc/hostname"), hostname);
        EXPECT_EQ(names_in("/etc"), host_etc);
        EXPECT_EQ(names_in("/"), host_root);
        EXPECT_EQ(names_in(host.path()), std::set<std::string>{"host-file"});
        EXPECT_EQ(names_in(outside.path()), std::set<std::string>{});
        std::vector<std::string> points = mount_points(host_mounts());
        std::vector<std::string> old = mount_points(mounts);
        EXPECT_EQ(std::count(points.begin(), points.end(), "/etc"), std::count(old.begin(), old.end(), "/etc"));
        EXPECT_EQ(std::count(points.begin(), points.end(), "/"), std::count(old.begin(), old.end(), "/"));
        EXPECT_FALSE(contains(host_mounts(), host.path()));
    };

    {
        SCOPED_TRACE("/test -> /etc");
        r = runtime({"run", "--name", "etc", "-v", host.path() + ":/test", "evil", "sh", "-c",
                     "ls /etc; cat /etc/host-file; readlink /test; grep -c ' /etc ' /proc/mounts; "
                     "echo from the container > /test/written"});
        EXPECT_EQ(r.code, 0) << r.err;
        EXPECT_EQ(r.out, "host-file\nhost file\n/etc\n1\n");
        EXPECT_EQ(read_file(host.path() + "/written"), "from the container\n");
        fs::remove(host.path() + "/written");
        EXPECT_FALSE(fs::exists("/etc/written"));
        EXPECT_FALSE(fs::exists("/etc/host-file"));
        // The image's link is as it was.
        std::string upper = container_dir("etc") + "/upper";
        EXPECT_FALSE(fs::exists(fs::symlink_status(upper + "/test"))) << "the link was replaced";
        host_untouched();
    }

    {
        SCOPED_TRACE("/esc -> /../../../../../..");
        r = runtime(
            {"run", "--name", "esc", "-v", host.path() + ":/esc", "evil", "sh", "-c", "echo escaped > /esc/escaped"});
        EXPECT_EQ(r.code, 125) << r.out << r.err;
        EXPECT_TRUE(one_line(r.err)) << r.err;
        EXPECT_TRUE(contains(r.err, "/esc")) << r.err;
        host_untouched();

        // The relative form, which `import` refuses as a layer entry, in a
        // --rootfs directory (chapter 03's form) instead.
        std::string rootfs = src.path() + "/rootfs";
        r = run({"cp", "-a", rootfs_path(), rootfs});
        ASSERT_EQ(r.code, 0) << r.err;
        fs::create_symlink("../../../../../..", rootfs + "/esc");
        std::set<std::string> in_rootfs = names_in(rootfs);
        r = runtime(
            {"run", "--rootfs", rootfs, "-v", host.path() + ":/esc", "--", "sh", "-c", "echo escaped > /esc/escaped"});
        EXPECT_EQ(r.code, 125) << r.out << r.err;
        EXPECT_TRUE(one_line(r.err)) << r.err;
        EXPECT_TRUE(contains(r.err, "/esc")) << r.err;
        EXPECT_EQ(names_in(rootfs), in_rootfs);
        EXPECT_TRUE(fs::is_symlink(rootfs + "/esc"));
        host_untouched();
    }

    {
        SCOPED_TRACE("/abs -> " + outside.path());
        r = runtime({"run", "--name", "abs", "-v", host.path() + ":/abs/x", "evil", "sh", "-c",
                     "readlink /abs; cat /abs/x/host-file; grep -c ' " + outside.path() + "/x ' /proc/mounts"});
        EXPECT_EQ(r.code, 0) << r.err;
        EXPECT_EQ(r.out, outside.path() + "\nhost file\n1\n");
        std::string upper = container_dir("abs") + "/upper";
        EXPECT_TRUE(fs::is_directory(fs::symlink_status(upper + outside.path() + "/x")))
            << "no mount point in the container's upper layer";
        host_untouched();
    }
}

// Claim: bad -v input is refused before anything is made: exit code 125,
// exactly one line on stderr, no volume, no container, no name, no mount.
// Also refused: -v where there is no root filesystem (chapter 01's form).
TEST(Ch05, BadVolumeArgumentsCreateNothing) {
    MINIDOCKER_REQUIRE_ROOT();
    TempDir host;
    // The built-in image is made first, so that it is not counted below.
    Result r = runtime({"run", "--rm", "busybox", "true"});
    ASSERT_EQ(r.code, 0) << r.err;
    std::string missing = host.path() + "/missing";
    struct Case {
        std::vector<std::string> volumes;
        std::string says;  // a part of the message
    };
    const std::vector<Case> cases = {
        {{"/tmp:"}, "/tmp:"},
        {{"data:"}, "data:"},
        {{":/x"}, ":/x"},
        {{"rel/x:/a"}, "rel/x"},
        {{"./x:/a"}, "./x"},
        {{missing + ":/a"}, missing},
        {{"/tmp:relative"}, "relative"},
        {{"/tmp:/b:bogus"}, "bogus"},
        {{"/a:/b:bogus"}, "/a:/b:bogus"},
        {{"/tmp:/b:ro:rw"}, "/tmp:/b:ro:rw"},
        {{"/tmp:/"}, "/tmp:/"},
        {{"/tmp:/a/../.."}, "/tmp:/a/../.."},
        {{"a/b:/c"}, "a/b"},
        {{"na$me:/c"}, "na$me"},
        {{"_data:/c"}, "_data"},
        {{".data:/c"}, ".data"},
        {{"da ta:/c"}, "da ta"},
        // One bad -v among good ones: the good ones are not made either.
        {{"good:/a", "/scratch", "/tmp:relative"}, "relative"},
        {{"/tmp:/ok", "good:/b", "also:bad"}, "also:bad"},
    };
    std::set<std::string> volumes = names_in(store("volumes"));
    for (const Case& c : cases) {
        std::string all;
        std::vector<std::string> args = {"run"};
        for (const std::string& v : c.volumes) {
            args.push_back("-v");
            args.push_back(v);
            all += " -v " + v;
        }
        SCOPED_TRACE(all);
        args.insert(args.end(), {"busybox", "touch", "/made"});
        std::string mounts = host_mounts();
        r = runtime(args);
        EXPECT_EQ(r.code, 125) << r.out << r.err;
        EXPECT_TRUE(one_line(r.err)) << r.err;
        EXPECT_TRUE(contains(r.err, c.says)) << r.err;
        EXPECT_EQ(r.out, "");
        EXPECT_EQ(names_in(store("volumes")), volumes);
        EXPECT_EQ(names_in(store("containers")), std::set<std::string>{});
        EXPECT_EQ(names_in(store("names")), std::set<std::string>{});
        EXPECT_EQ(host_mounts(), mounts);
        EXPECT_FALSE(fs::exists(missing));
    }

    // `volume create` checks the name the same way.
    for (const char* name : {"a/b", "../x", "_x", "na$me"}) {
        SCOPED_TRACE(name);
        r = runtime({"volume", "create", name});
        EXPECT_EQ(r.code, 125) << r.out << r.err;
        EXPECT_TRUE(one_line(r.err)) << r.err;
        EXPECT_EQ(names_in(store("volumes")), volumes);
    }
    EXPECT_FALSE(fs::exists(store("x")));

    // Chapter 01's form: no root filesystem to mount into.
    for (const char* v : {"/tmp:/x", "data:/x", "/x"}) {
        SCOPED_TRACE(v);
        std::string mounts = host_mounts();
        r = runtime({"run", "-v", v, "--", "/bin/true"});
        EXPECT_EQ(r.code, 125) << r.out << r.err;
        EXPECT_TRUE(one_line(r.err)) << r.err;
        EXPECT_EQ(names_in(store("volumes")), volumes);
        EXPECT_EQ(names_in(store("containers")), std::set<std::string>{});
        EXPECT_EQ(host_mounts(), mounts);
    }
}
