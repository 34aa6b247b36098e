// Unit tests of chapter 07's logic, no root needed: the layer copy (what
// it keeps, what it leaves out), `commit --change`, and the freezer's file
// protocol on a fake cgroupfs tree (cgroup v2, as on most students'
// machines, and v1).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "commit.hpp"
#include "error.hpp"
#include "freezer.hpp"
#include "layer.hpp"
#include "unit.hpp"

namespace fs = std::filesystem;
using namespace minidocker;

namespace {

using unit::TempDir;

void write(const std::string& path, const std::string& content) {
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path) << content;
}

std::string read(const std::string& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct stat lstat_of(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
    return st;
}

}  // namespace

TEST(Ch07CopyLayer, KeepsContentModesTimesLinksAndXattrs) {
    TempDir upper, init, dest;
    write(upper.path() + "/etc/app.conf", "x=1\n");
    ::chmod((upper.path() + "/etc/app.conf").c_str(), 0640);
    timespec times[2] = {{1000000000, 0}, {1000000000, 0}};
    ::utimensat(AT_FDCWD, (upper.path() + "/etc/app.conf").c_str(), times, 0);
    ::link((upper.path() + "/etc/app.conf").c_str(), (upper.path() + "/etc/again").c_str());
    fs::create_symlink("app.conf", upper.path() + "/etc/link");
    ASSERT_EQ(::mkfifo((upper.path() + "/etc/fifo").c_str(), 0600), 0);
    bool xattrs = ::setxattr((upper.path() + "/etc/app.conf").c_str(), "user.k", "v", 1, 0) == 0;
    timespec dir_times[2] = {{1200000000, 0}, {1200000000, 0}};
    ::utimensat(AT_FDCWD, (upper.path() + "/etc").c_str(), dir_times, 0);

    std::string out = dest.path() + "/layer";
    ASSERT_EQ(::mkdir(out.c_str(), 0700), 0);
    CopyStats stats = copy_layer(upper.path(), init.path(), out);
    EXPECT_EQ(stats.entries, 5u);  // etc, app.conf, again, link, fifo
    EXPECT_EQ(stats.bytes, 4u);
    EXPECT_EQ(stats.left_out, 0u);

    struct stat conf = lstat_of(out + "/etc/app.conf");
    EXPECT_EQ(read(out + "/etc/app.conf"), "x=1\n");
    EXPECT_EQ(conf.st_mode & 07777, 0640u);
    EXPECT_EQ(conf.st_mtim.tv_sec, 1000000000);
    EXPECT_EQ(lstat_of(out + "/etc/again").st_ino, conf.st_ino);
    EXPECT_EQ(fs::read_symlink(out + "/etc/link"), "app.conf");
    EXPECT_TRUE(S_ISFIFO(lstat_of(out + "/etc/fifo").st_mode));
    EXPECT_EQ(lstat_of(out + "/etc").st_mtim.tv_sec, 1200000000);
    if (xattrs) {
        char value[4] = {};
        EXPECT_EQ(::getxattr((out + "/etc/app.conf").c_str(), "user.k", value, sizeof value), 1);
    }
}

TEST(Ch07CopyLayer, LeavesOutTheInitLayersFilesButNotItsDirectories) {
    TempDir upper, init, dest;
    write(init.path() + "/etc/hosts", "127.0.0.1 localhost\n");
    write(init.path() + "/etc/hostname", "box\n");
    write(upper.path() + "/etc/hosts", "changed\n");
    write(upper.path() + "/etc/passwd", "root:x:0:0::/root:/bin/sh\n");
    ASSERT_EQ(::mkfifo((upper.path() + "/etc/hostname").c_str(), 0600), 0);  // any kind of file

    std::string out = dest.path() + "/layer";
    ASSERT_EQ(::mkdir(out.c_str(), 0700), 0);
    int calls = 0;
    CopyStats stats = copy_layer(upper.path(), init.path(), out, [&](const CopyStats&) { ++calls; });
    EXPECT_EQ(stats.left_out, 2u);
    EXPECT_TRUE(fs::exists(out + "/etc/passwd"));
    EXPECT_FALSE(fs::exists(fs::symlink_status(out + "/etc/hosts")));
    EXPECT_FALSE(fs::exists(fs::symlink_status(out + "/etc/hostname")));
    EXPECT_GE(calls, 1) << "progress is told at least at the end";
}

// commit takes the new layer's id from upper/ while it copies: it must be
// the id of what the copy made, with the same things left out.
TEST(Ch07CopyLayer, DigestOfTheSourceIsTheDigestOfTheCopy) {
    TempDir upper, init, dest;
    write(init.path() + "/etc/hosts", "127.0.0.1 localhost\n");
    write(upper.path() + "/etc/hosts", "changed\n");
    write(upper.path() + "/etc/passwd", "root:x:0:0::/root:/bin/sh\n");
    write(upper.path() + "/root/a/b/data", std::string(100000, 'x'));
    ::link((upper.path() + "/etc/passwd").c_str(), (upper.path() + "/root/passwd").c_str());
    fs::create_symlink("../etc/passwd", upper.path() + "/root/link");
    ASSERT_EQ(::mkfifo((upper.path() + "/root/fifo").c_str(), 0600), 0);
    ::chmod((upper.path() + "/root/a").c_str(), 0711);
    timespec dir_times[2] = {{1200000000, 0}, {1200000000, 0}};
    ::utimensat(AT_FDCWD, (upper.path() + "/root/a").c_str(), dir_times, 0);

    std::string out = dest.path() + "/layer";
    ASSERT_EQ(::mkdir(out.c_str(), 0700), 0);
    copy_layer(upper.path(), init.path(), out);
    std::string id = upper_layer_digest(upper.path(), init.path());
    EXPECT_EQ(id, layer_digest(out));
    EXPECT_NE(id, layer_digest(upper.path())) << "/etc/hosts is left out of the one, not the other";
}

TEST(Ch07Change, CmdEnvAndWorkdirAsDockerfileSaysThem) {
    ImageConfig config{{"sh"}, {"PATH=/bin", "A=1"}, ""};
    apply_change(config, R"(CMD ["echo", "hi there"])");
    EXPECT_EQ(config.cmd, (std::vector<std::string>{"echo", "hi there"}));
    apply_change(config, "CMD echo $HOME");
    EXPECT_EQ(config.cmd, (std::vector<std::string>{"/bin/sh", "-c", "echo $HOME"}));
    apply_change(config, "ENV A=2");
    apply_change(config, "env B three words");
    EXPECT_EQ(config.env, (std::vector<std::string>{"PATH=/bin", "A=2", "B=three words"}));
    apply_change(config, "WORKDIR /srv");
    apply_change(config, "WORKDIR app");
    EXPECT_EQ(config.working_dir, "/srv/app");
}

TEST(Ch07Change, RefusesWhatItCannotDo) {
    ImageConfig config;
    EXPECT_THROW(apply_change(config, "FROM scratch"), UsageError);
    EXPECT_THROW(apply_change(config, "CMD"), UsageError);
    EXPECT_THROW(apply_change(config, "CMD [1, 2]"), UsageError);
    EXPECT_THROW(apply_change(config, "CMD [\"unclosed\""), UsageError);
    EXPECT_THROW(apply_change(config, "ENV ONLYKEY"), UsageError);
    EXPECT_THROW(apply_change(config, "EXPOSE 80"), UsageError);
}

// A fake cgroup v2 directory: the kernel would set "frozen 1" in
// cgroup.events; here it says so already.
TEST(Ch07Freezer, V2WritesCgroupFreezeAndWaitsForFrozen) {
    TempDir cgroup;
    write(cgroup.path() + "/cgroup.freeze", "0\n");
    write(cgroup.path() + "/cgroup.events", "populated 1\nfrozen 1\n");
    freeze_v2(cgroup.path());
    EXPECT_EQ(read(cgroup.path() + "/cgroup.freeze"), "1");
    thaw_v2(cgroup.path());
    EXPECT_EQ(read(cgroup.path() + "/cgroup.freeze"), "0");
}

TEST(Ch07Freezer, V1WritesFreezerStateAndWaitsForFrozen) {
    TempDir cgroup;
    write(cgroup.path() + "/freezer.state", "THAWED\n");
    freeze_v1(cgroup.path());  // the fake file says what was written: FROZEN
    EXPECT_EQ(read(cgroup.path() + "/freezer.state"), "FROZEN");
    thaw_v1(cgroup.path());
    EXPECT_EQ(read(cgroup.path() + "/freezer.state"), "THAWED");
}

TEST(Ch07Freezer, ProcessesOfOurOwnPidNamespaceIncludeUs) {
    std::vector<pid_t> all = processes_in_pid_namespace_of(::getpid());
    EXPECT_NE(std::find(all.begin(), all.end(), ::getpid()), all.end());
}
