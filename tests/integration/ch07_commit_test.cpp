// Chapter 07's claims, proven from outside: `commit` turns a container's
// read-write layer into one new layer, exactly (owners, modes, times,
// extended attributes, hard links, device nodes, deletions and replaced
// directories); the new image shares the old image's layer directories;
// the init layer's files and volumes' files never enter it; a running
// container is frozen for the copy and runs on after it; `history` shows
// each layer with its size and message; bad input is one line, exit 125,
// and leaves the store as it was. These tests also run against every later
// chapter's binary.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include "harness.hpp"

namespace fs = std::filesystem;
using namespace minidocker::test;

namespace {

std::string store(const std::string& sub) { return state_root() + "/" + sub; }

// The image's file in the store ("img" is "img:latest").
nlohmann::json image_json(const std::string& ref) {
    std::string file = ref.find(':') == std::string::npos ? ref + ":latest" : ref;
    return nlohmann::json::parse(read_file(store("images/" + file + ".json")));
}

std::vector<std::string> image_layers(const std::string& ref) {
    return image_json(ref).at("layers").get<std::vector<std::string>>();
}

// The directory of the layer a commit made: the image's top one.
// (A failure, not a crash, when the image has no layers: a crash would skip
// the harness's clean-up of the test's containers.)
std::string top_layer_dir(const std::string& ref) {
    std::vector<std::string> layers = image_layers(ref);
    if (layers.empty()) {
        ADD_FAILURE() << ref << " has no layers";
        return store("layers/none");
    }
    return store("layers/" + layers.back());
}

struct stat lstat_of(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
    return st;
}

bool exists(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

pid_t init_pid(const std::string& name) {
    Result r = runtime({"inspect", "-f", "{{.State.Pid}}", name});
    EXPECT_EQ(r.code, 0) << r.err;
    return static_cast<pid_t>(std::atol(r.out.c_str()));
}

// An image "base": the test rootfs plus a file and a directory of two
// files that the tests delete and replace.
void make_base_image() {
    TempDir src;
    std::string dir = src.path() + "/rootfs";
    ASSERT_EQ(run({"cp", "-a", rootfs_path(), dir}).code, 0);
    fs::create_directories(dir + "/srv/old");
    std::ofstream(dir + "/srv/old/a") << "a\n";
    std::ofstream(dir + "/srv/old/b") << "b\n";
    std::ofstream(dir + "/etc/motd") << "welcome\n";
    Result r = runtime({"import", "-m", "the base", dir, "base"});
    ASSERT_EQ(r.code, 0) << r.err;
}

// What the store holds: layers, their short names, images, half-made things.
std::map<std::string, std::set<std::string>> store_listing() {
    std::map<std::string, std::set<std::string>> listing;
    for (const char* sub : {"layers", "l", "images", "tmp"}) {
        listing[sub] = names_in(store(sub));
    }
    return listing;
}

}  // namespace

TEST(Ch07Commit, NewImageHasTheWritesNotTheDeletionsAndTheReplacedDirectory) {
    MINIDOCKER_REQUIRE_ROOT();
    make_base_image();
    ASSERT_FALSE(run_detached({"--name", "c", "base", "sleep", "1000"}).empty());
    Result r = runtime({"exec", "c", "sh", "-c",
                        "echo new > /root/new.txt && rm /etc/motd && rm -rf /srv/old && mkdir /srv/old && "
                        "echo fresh > /srv/old/only"});
    ASSERT_EQ(r.code, 0) << r.err;

    r = runtime({"commit", "-m", "my change", "c", "img:v1"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out.rfind("sha256:", 0), 0u) << r.out;
    EXPECT_TRUE(is_hex(trim(r.out).substr(7), 64)) << r.out;

    r = runtime({"run", "--rm", "img:v1", "sh", "-c",
                 "cat /root/new.txt; test -e /etc/motd && echo motd; ls /srv/old; cat /srv/old/only"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "new\nonly\nfresh\n");

    // The deletion and the replaced directory are overlayfs' marks in the
    // new layer: a character device 0/0, and an opaque directory.
    std::string layer = top_layer_dir("img:v1");
    struct stat st = lstat_of(layer + "/etc/motd");
    EXPECT_TRUE(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
    char value[8] = {};
    EXPECT_EQ(::lgetxattr((layer + "/srv/old").c_str(), "trusted.overlay.opaque", value, sizeof value), 1);
    EXPECT_EQ(value[0], 'y');

    // The committed container was running, and runs on.
    EXPECT_EQ(runtime({"inspect", "-f", "{{.State.Status}}", "c"}).out, "running\n");
    r = runtime({"exec", "c", "cat", "/root/new.txt"}, 10);
    EXPECT_EQ(r.out, "new\n") << r.err;
}

TEST(Ch07Commit, NewImageSharesTheBaseLayersAndAddsOnlyTheChanges) {
    MINIDOCKER_REQUIRE_ROOT();
    make_base_image();
    std::vector<std::string> base = image_layers("base");
    std::map<std::string, ino_t> inodes;
    for (const std::string& layer : base) {
        inodes[layer] = lstat_of(store("layers/" + layer)).st_ino;
    }
    std::set<std::string> layers_before = names_in(store("layers"));

    ASSERT_FALSE(run_detached({"--name", "c", "base", "sleep", "1000"}).empty());
    ASSERT_EQ(runtime({"exec", "c", "dd", "if=/dev/zero", "of=/root/5m", "bs=1M", "count=5"}).code, 0);
    Result du_before = run({"du", "-sb", store("layers")});
    ASSERT_EQ(runtime({"commit", "c", "img"}).code, 0);
    Result du_after = run({"du", "-sb", store("layers")});

    std::vector<std::string> layers = image_layers("img");
    ASSERT_EQ(layers.size(), base.size() + 1);
    EXPECT_TRUE(std::equal(base.begin(), base.end(), layers.begin())) << "the base's layers, bottom first";
    for (const std::string& layer : base) {
        EXPECT_EQ(lstat_of(store("layers/" + layer)).st_ino, inodes[layer]) << "shared, not copied: " << layer;
    }
    std::set<std::string> layers_after = names_in(store("layers"));
    EXPECT_EQ(layers_after.size(), layers_before.size() + 1);

    // Disk use grows by the read-write layer: 5 MiB and a few directories.
    long grew = std::atol(du_after.out.c_str()) - std::atol(du_before.out.c_str());
    EXPECT_GE(grew, 5L << 20);
    EXPECT_LT(grew, (5L << 20) + (256L << 10)) << "grew by " << grew << " bytes";

    // A container of the new image stacks those very directories.
    ASSERT_FALSE(run_detached({"--name", "d", "img", "sleep", "1000"}).empty());
    std::string mountinfo = read_file("/proc/" + std::to_string(init_pid("d")) + "/mountinfo");
    for (const std::string& layer : layers) {
        EXPECT_TRUE(contains(mountinfo, "l/" + layer.substr(0, 16))) << layer << "\n" << mountinfo;
    }
}

TEST(Ch07Commit, InitLayerFilesAndVolumesStayOutOfTheNewLayer) {
    MINIDOCKER_REQUIRE_ROOT();
    TempDir host;
    ASSERT_FALSE(run_detached({"--name", "c", "--hostname", "oldbox", "-v", host.path() + ":/data", "-v", "named:/vol",
                               "busybox", "sleep", "1000"})
                     .empty());
    Result r = runtime({"exec", "c", "sh", "-c",
                        "echo '10.0.0.1 extra' >> /etc/hosts && echo x > /etc/hostname && echo y > /data/f && "
                        "echo z > /vol/g && echo keep > /root/k"});
    ASSERT_EQ(r.code, 0) << r.err;
    r = runtime({"commit", "c", "img"});
    ASSERT_EQ(r.code, 0) << r.err;

    std::string layer = top_layer_dir("img");
    EXPECT_TRUE(exists(layer + "/root/k"));
    for (const char* absent : {"/etc/hosts", "/etc/hostname", "/data/f", "/vol/g"}) {
        EXPECT_FALSE(exists(layer + absent)) << absent;
    }
    EXPECT_EQ(read_file(host.path() + "/f"), "y\n") << "the volume kept its file";

    // A container of the new image is told who it is, by its own init layer.
    r = runtime({"run", "--rm", "--hostname", "newbox", "img", "sh", "-c", "cat /etc/hostname /etc/hosts"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "newbox")) << r.out;
    EXPECT_FALSE(contains(r.out, "oldbox") || contains(r.out, "extra")) << r.out;
}

TEST(Ch07Commit, CopyKeepsOwnersModesTimesXattrsHardLinksAndDevices) {
    MINIDOCKER_REQUIRE_ROOT();
    std::string id = run_detached({"--name", "c", "busybox", "sleep", "1000"});
    ASSERT_FALSE(id.empty());
    Result r = runtime({"exec", "c", "sh", "-c",
                        "cd /root && echo data > f && chown 123:456 f && chmod 4750 f && touch -d @1000000000 f && "
                        "ln f f2 && mknod null c 1 3 && mkfifo pipe && ln -s /etc/passwd link && "
                        "mkdir -p d && chown 7:8 d && touch -d @1100000000 d && rm /bin/vi"});
    ASSERT_EQ(r.code, 0) << r.err;
    // An extended attribute, set from the host on the container's copy.
    std::string upper = store("containers/" + id + "/upper/root/f");
    ASSERT_EQ(::setxattr(upper.c_str(), "user.minidocker", "seven", 5, 0), 0);

    r = runtime({"commit", "c", "img"});
    ASSERT_EQ(r.code, 0) << r.err;
    std::string layer = top_layer_dir("img");

    struct stat f = lstat_of(layer + "/root/f");
    EXPECT_EQ(f.st_uid, 123u);
    EXPECT_EQ(f.st_gid, 456u);
    EXPECT_EQ(f.st_mode & 07777, 04750u) << "set-user-ID kept after the chown";
    EXPECT_EQ(f.st_mtim.tv_sec, 1000000000);
    EXPECT_EQ(f.st_nlink, 2u);
    EXPECT_EQ(lstat_of(layer + "/root/f2").st_ino, f.st_ino) << "a hard link stays one file";
    char value[16] = {};
    EXPECT_EQ(::lgetxattr((layer + "/root/f").c_str(), "user.minidocker", value, sizeof value), 5);
    EXPECT_STREQ(value, "seven");

    struct stat dev = lstat_of(layer + "/root/null");
    EXPECT_TRUE(S_ISCHR(dev.st_mode) && major(dev.st_rdev) == 1 && minor(dev.st_rdev) == 3);
    EXPECT_TRUE(S_ISFIFO(lstat_of(layer + "/root/pipe").st_mode));
    EXPECT_EQ(fs::read_symlink(layer + "/root/link"), "/etc/passwd");
    struct stat d = lstat_of(layer + "/root/d");
    EXPECT_EQ(d.st_uid, 7u);
    EXPECT_EQ(d.st_mtim.tv_sec, 1100000000) << "a directory's time, set after its content was copied";
    struct stat gone = lstat_of(layer + "/bin/vi");
    EXPECT_TRUE(S_ISCHR(gone.st_mode) && gone.st_rdev == makedev(0, 0)) << "the deletion mark";

    // ...and the new image's containers see all of it.
    r = runtime({"run", "--rm", "img", "sh", "-c", "stat -c '%u:%g %a %Y %h' /root/f; cat /root/f2; ls /bin/vi"});
    EXPECT_EQ(r.out, "123:456 4750 1000000000 2\ndata\n") << r.err;
}

TEST(Ch07Commit, RunningContainerIsFrozenForTheCopyAndRunsOn) {
    MINIDOCKER_REQUIRE_ROOT();
    std::string id =
        run_detached({"--name", "c", "busybox", "sh", "-c", "i=0; while true; do i=$((i+1)); echo $i > /tmp/n; done"});
    ASSERT_FALSE(id.empty());
    std::string counter = store("containers/" + id + "/upper/tmp/n");
    ASSERT_TRUE(wait_until([&] { return exists(counter); }, 10));

    Result r = run(with_trace({"commit", "c", "img"}));
    ASSERT_EQ(r.code, 0) << r.err;
    // This machine's controllers are cgroup v1; a v2 host freezes the
    // container's own cgroup.
    EXPECT_TRUE(contains(r.err, "freezer.state\", \"FROZEN\")") || contains(r.err, "cgroup.freeze\", \"1\")")) << r.err;
    EXPECT_TRUE(contains(r.err, "freezer.state\", \"THAWED\")") || contains(r.err, "cgroup.freeze\", \"0\")")) << r.err;
    // In this order: frozen, copied, thawed.
    size_t frozen = std::min(r.err.find("freezer.state: FROZEN"), r.err.find("cgroup.events: frozen 1"));
    size_t copied = r.err.find("] copied ");
    size_t thawed = std::min(r.err.find("\"THAWED\")"), r.err.find("cgroup.freeze\", \"0\")"));
    EXPECT_TRUE(frozen < copied && copied < thawed && thawed != std::string::npos) << r.err;
    EXPECT_TRUE(names_in("/sys/fs/cgroup/freezer/minidocker").count(id) == 0) << "the commit's freezer cgroup is gone";

    // Thawed: the loop goes on.
    std::string before = read_file(counter);
    EXPECT_TRUE(wait_until([&] { return read_file(counter) != before; }, 10)) << "the container stayed frozen";

    // --pause=false: no freezing at all.
    r = run(with_trace({"commit", "--pause=false", "c", "img:nopause"}));
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_FALSE(contains(r.err, "FROZEN") || contains(r.err, "cgroup.freeze")) << r.err;
}

TEST(Ch07Commit, HistoryShowsEachLayerWithSizeAndMessage) {
    MINIDOCKER_REQUIRE_ROOT();
    ASSERT_FALSE(run_detached({"--name", "c", "busybox", "sleep", "1000"}).empty());
    ASSERT_EQ(runtime({"exec", "c", "dd", "if=/dev/zero", "of=/root/2m", "bs=1M", "count=2"}).code, 0);
    Result r = runtime({"commit", "-m", "two megabytes", "-c", "CMD [\"cat\", \"/etc/motd\"]", "-c", "ENV GREETING=hi",
                        "-c", "WORKDIR /root", "c", "img:v2"});
    ASSERT_EQ(r.code, 0) << r.err;
    std::string image_id = trim(r.out).substr(7);

    r = runtime({"history", "img:v2"});
    ASSERT_EQ(r.code, 0) << r.err;
    std::vector<std::string> rows = lines(r.out);
    ASSERT_EQ(rows.size(), 3u) << r.out;  // the header, our layer, busybox's
    EXPECT_TRUE(contains(rows[0], "IMAGE") && contains(rows[0], "CREATED BY") && contains(rows[0], "COMMENT"));
    EXPECT_EQ(rows[1].substr(0, 12), image_id.substr(0, 12)) << r.out;
    EXPECT_TRUE(contains(rows[1], "sleep 1000") && contains(rows[1], "2.1MB") && contains(rows[1], "two megabytes"))
        << rows[1];
    // The layer below is busybox's, and busybox is the image that ends there.
    std::string busybox_id = image_json("busybox:latest").at("id");
    EXPECT_EQ(rows[2].substr(0, 12), busybox_id.substr(0, 12)) << r.out;
    EXPECT_TRUE(contains(rows[2], "busybox")) << rows[2];

    // The changes are the new image's config.
    r = runtime({"run", "--rm", "img:v2", "sh", "-c", "echo $GREETING; pwd"});
    EXPECT_EQ(r.out, "hi\n/root\n") << r.err;
    r = runtime({"run", "--rm", "img:v2"});
    EXPECT_EQ(r.code, 1) << "CMD is cat /etc/motd, which busybox has not: " << r.out << r.err;
}

TEST(Ch07Commit, BadInputIsOneLineAndChangesNothing) {
    MINIDOCKER_REQUIRE_ROOT();
    ASSERT_FALSE(run_detached({"--name", "c", "busybox", "sleep", "1000"}).empty());
    auto before = store_listing();
    expect_error_line(runtime({"commit", "nosuch", "img"}), "No such container");
    expect_error_line(runtime({"commit", "c", "Bad:Name:x"}));
    expect_error_line(runtime({"commit", "-c", "FROM scratch", "c", "img"}), "FROM");
    expect_error_line(runtime({"commit", "-c", "CMD [1, 2]", "c", "img"}), "CMD");
    expect_error_line(runtime({"history", "nosuch"}), "No such image");
    EXPECT_EQ(store_listing(), before);
}

TEST(Ch07Commit, ExitedContainerCommitsAndALargeOneShowsProgressOnATerminal) {
    MINIDOCKER_REQUIRE_ROOT();
    Result r = runtime({"run", "--name", "done", "busybox", "sh", "-c",
                        "mkdir /big && for i in 1 2 3 4 5 6 7 8; do dd if=/dev/zero of=/big/$i bs=1M count=4 "
                        "2>/dev/null; done"});
    ASSERT_EQ(r.code, 0) << r.err;
    // `script` gives the command a terminal, as a user at a shell has.
    std::string command;
    for (const std::string& word : runtime_argv({"commit", "done", "big"})) {
        command += "'" + word + "' ";
    }
    r = run({"script", "-qec", command, "/dev/null"});
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_TRUE(contains(r.out, "copying the read-write layer")) << r.out;
    EXPECT_TRUE(contains(r.out, "(100%)")) << r.out;
    EXPECT_EQ(runtime({"run", "--rm", "big", "sh", "-c", "cat /big/* | wc -c"}).out, "33554432\n");

    // Without a terminal, only the id.
    r = runtime({"commit", "done", "big:quiet"});
    EXPECT_EQ(r.err, "");
    EXPECT_EQ(lines(r.out).size(), 1u) << r.out;
}
