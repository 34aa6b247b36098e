// Unit tests for chapter 02: Docker's limit words, the host's cgroup layout,
// and the files the driver writes, checked in fake cgroup trees made of plain
// directories and files (no root needed).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "cgroups.hpp"
#include "error.hpp"

namespace fs = std::filesystem;
using namespace minidocker;

namespace {

// A fresh temp dir standing in for /sys/fs/cgroup.
class FakeTree {
public:
    FakeTree() {
        char name[] = "/tmp/ch02-unit-XXXXXX";
        root_ = ::mkdtemp(name);
    }
    ~FakeTree() { fs::remove_all(root_); }
    FakeTree(const FakeTree&) = delete;
    FakeTree& operator=(const FakeTree&) = delete;

    const std::string& root() const { return root_; }
    std::string path(const std::string& rel) const { return root_ + "/" + rel; }
    void dir(const std::string& rel) const { fs::create_directories(path(rel)); }
    void file(const std::string& rel, const std::string& content = "") const {
        fs::create_directories(fs::path(path(rel)).parent_path());
        std::ofstream(path(rel)) << content;
    }
    std::string read(const std::string& rel) const {
        std::ifstream in(path(rel));
        std::stringstream s;
        s << in.rdbuf();
        return s.str();
    }
    bool has(const std::string& rel) const { return fs::exists(path(rel)); }

private:
    std::string root_;
};

const std::string kId = "0123456789abcdef";

}  // namespace

TEST(Ch02Unit, MemorySizes) {
    EXPECT_EQ(parse_memory_size("64m"), 64LL << 20);
    EXPECT_EQ(parse_memory_size("64M"), 64LL << 20);
    EXPECT_EQ(parse_memory_size("64mb"), 64LL << 20);
    EXPECT_EQ(parse_memory_size("64MiB"), 64LL << 20);
    EXPECT_EQ(parse_memory_size("512k"), 512LL << 10);
    EXPECT_EQ(parse_memory_size("1g"), 1LL << 30);
    EXPECT_EQ(parse_memory_size("1.5g"), 3LL << 29);
    EXPECT_EQ(parse_memory_size("2t"), 2LL << 40);
    EXPECT_EQ(parse_memory_size("100"), 100);
    EXPECT_EQ(parse_memory_size("100b"), 100);
    EXPECT_EQ(parse_memory_size("100B"), 100);
}

TEST(Ch02Unit, BadMemorySizesAreUsageErrors) {
    for (const char* bad : {"-1", "10XB", "", "m", "64mm", "1.2.3", "1.", ".5g", "64 m", "1e3", "64kbb", "0x10"}) {
        SCOPED_TRACE(bad);
        EXPECT_THROW(parse_memory_size(bad), UsageError);
    }
    EXPECT_THROW(parse_memory_size("99999999t"), UsageError);  // does not fit in 64 bits
}

TEST(Ch02Unit, SharesToWeight) {
    EXPECT_EQ(shares_to_weight(2), 1u);
    EXPECT_EQ(shares_to_weight(1024), 39u);  // Docker's default share, as runc converts it
    EXPECT_EQ(shares_to_weight(512), 20u);
    EXPECT_EQ(shares_to_weight(262144), 10000u);
}

TEST(Ch02Unit, CpusToQuota) {
    CpuQuota half = cpus_to_quota(0.5);
    EXPECT_EQ(half.quota_us, 50000);
    EXPECT_EQ(half.period_us, 100000);
    EXPECT_EQ(cpus_to_quota(1.5).quota_us, 150000);
    EXPECT_EQ(cpus_to_quota(0.01).quota_us, 1000);  // the kernel's smallest quota
    EXPECT_EQ(cpus_to_quota(2).quota_us, 200000);
}

TEST(Ch02Unit, CpuLists) {
    EXPECT_EQ(parse_cpu_list("0"), (std::set<int>{0}));
    EXPECT_EQ(parse_cpu_list("0-2,5"), (std::set<int>{0, 1, 2, 5}));
    EXPECT_EQ(parse_cpu_list("0-1\n"), (std::set<int>{0, 1}));  // as the kernel writes it
    for (const char* bad : {"", "a", "1-", "-1", "2-1", "0,,1", "0,", "1 2"}) {
        SCOPED_TRACE(bad);
        EXPECT_THROW(parse_cpu_list(bad), UsageError);
    }
    EXPECT_NO_THROW(check_cpus_available("0", "0-1\n"));
    EXPECT_NO_THROW(check_cpus_available("0-1", "0-1"));
    EXPECT_THROW(check_cpus_available("7", "0-1\n"), UsageError);
    EXPECT_THROW(check_cpus_available("1-2", "0-1"), UsageError);
    try {
        check_cpus_available("7", "0-1\n");
    } catch (const UsageError& e) {
        EXPECT_NE(std::string(e.what()).find("available: 0-1"), std::string::npos) << e.what();
    }
}

TEST(Ch02Unit, ReadKey) {
    EXPECT_EQ(read_key("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n", "oom_kill"), 3u);
    EXPECT_EQ(read_key("low 0\nhigh 0\nmax 4\noom 2\noom_kill 1\noom_group_kill 0\n", "oom_kill"), 1u);
    EXPECT_EQ(read_key("", "oom_kill"), 0u);
}

TEST(Ch02Unit, DetectsTheMode) {
    FakeTree v2;
    v2.file("cgroup.controllers", "cpuset cpu io memory pids\n");
    EXPECT_EQ(detect_cgroup_mode(v2.root()), CgroupMode::unified);

    FakeTree hybrid;
    hybrid.dir("memory");
    hybrid.dir("cpu");
    hybrid.file("unified/cgroup.controllers");
    EXPECT_EQ(detect_cgroup_mode(hybrid.root()), CgroupMode::hybrid);

    FakeTree legacy;
    legacy.dir("memory");
    legacy.dir("pids");
    EXPECT_EQ(detect_cgroup_mode(legacy.root()), CgroupMode::legacy);

    FakeTree empty;
    EXPECT_THROW(detect_cgroup_mode(empty.root()), std::runtime_error);
}

TEST(Ch02Unit, V2WritesLimitsAndEnablesControllers) {
    FakeTree t;
    t.file("cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
    t.file("cgroup.subtree_control", "cpu\n");      // cpu is already handed down
    t.file("minidocker/memory.swap.max", "max\n");  // swap accounting is on
    CgroupLimits l;
    l.memory = 64 << 20;
    l.cpu = cpus_to_quota(0.5);
    l.cpu_shares = 512;
    l.pids = 32;
    l.cpuset_cpus = "0";
    ContainerCgroups cg(t.root(), CgroupMode::unified, "minidocker", kId);
    cg.create(l);

    std::string leaf = "minidocker/" + kId;
    ASSERT_EQ(cg.leaves(), std::vector<std::string>{t.path(leaf)});
    EXPECT_EQ(t.read("cgroup.subtree_control"), "+memory +pids +cpuset");
    EXPECT_EQ(t.read("minidocker/cgroup.subtree_control"), "+memory +pids +cpu +cpuset");
    EXPECT_EQ(t.read(leaf + "/memory.max"), "67108864");
    EXPECT_EQ(t.read(leaf + "/memory.swap.max"), "67108864");  // Docker's default: as much swap as memory
    EXPECT_EQ(t.read(leaf + "/cpu.max"), "50000 100000");
    EXPECT_EQ(t.read(leaf + "/cpu.weight"), "20");
    EXPECT_EQ(t.read(leaf + "/pids.max"), "32");
    EXPECT_EQ(t.read(leaf + "/cpuset.cpus"), "0");
    EXPECT_FALSE(t.has(leaf + "/cpu.cfs_quota_us"));  // no v1 names in a v2 tree

    // v2: born in it (clone3 CLONE_INTO_CGROUP), nothing to write; on a
    // kernel without that, the child moves itself: "0" is the writer.
    EXPECT_EQ(cg.v2_leaf(), t.path(leaf));
    cg.enter_self(true);
    EXPECT_FALSE(t.has(leaf + "/cgroup.procs"));
    cg.enter_self(false);
    EXPECT_EQ(t.read(leaf + "/cgroup.procs"), "0");
    EXPECT_EQ(cg.oom_kills(), 0u);
    t.file(leaf + "/memory.events", "low 0\nhigh 0\nmax 9\noom 1\noom_kill 1\noom_group_kill 0\n");
    EXPECT_EQ(cg.oom_kills(), 1u);
    cg.remove();  // a plain directory with files: rmdir fails, and remove() does not throw
}

TEST(Ch02Unit, V2SwapUnlimitedAndNoLimits) {
    FakeTree t;
    t.file("cgroup.controllers", "memory pids\n");
    t.file("parent/memory.swap.max");
    CgroupLimits l;
    l.memory = 64 << 20;
    l.memory_swap = -1;
    ContainerCgroups cg(t.root(), CgroupMode::unified, "parent", kId);
    cg.create(l);
    EXPECT_EQ(t.read("parent/" + kId + "/memory.swap.max"), "max");
    EXPECT_EQ(t.read("cgroup.subtree_control"), "+memory +pids");  // only what the host offers
    EXPECT_FALSE(t.has("parent/" + kId + "/pids.max"));            // no limit asked, none written
}

// This machine's layout: hybrid, cpu and cpuacct mounted separately.
TEST(Ch02Unit, V1WritesEachControllersFiles) {
    FakeTree t;
    for (const char* c : {"memory", "cpu", "cpuacct", "pids", "blkio"}) {
        t.dir(c);
    }
    t.file("memory/memory.memsw.limit_in_bytes", "9223372036854771712\n");
    t.file("cpuset/cpuset.cpus", "0-1\n");
    t.file("cpuset/cpuset.mems", "0\n");
    t.file("unified/cgroup.controllers");
    ASSERT_EQ(detect_cgroup_mode(t.root()), CgroupMode::hybrid);

    CgroupLimits l;
    l.memory = 64 << 20;
    l.memory_swap = 100 << 20;
    l.cpu = cpus_to_quota(0.5);
    l.cpu_shares = 512;
    l.pids = 32;
    ContainerCgroups cg(t.root(), CgroupMode::hybrid, "minidocker", kId);
    cg.create(l);

    std::string p = "/minidocker/" + kId;
    EXPECT_EQ(cg.leaves().size(), 6u);  // memory cpu cpuacct pids cpuset unified; not blkio
    for (const char* h : {"memory", "cpu", "cpuacct", "pids", "cpuset", "unified"}) {
        EXPECT_TRUE(fs::is_directory(t.path(h + p))) << h;
    }
    EXPECT_FALSE(t.has("blkio/minidocker"));
    EXPECT_EQ(t.read("memory" + p + "/memory.limit_in_bytes"), "67108864");
    EXPECT_EQ(t.read("memory" + p + "/memory.memsw.limit_in_bytes"), "104857600");
    EXPECT_EQ(t.read("cpu" + p + "/cpu.cfs_period_us"), "100000");
    EXPECT_EQ(t.read("cpu" + p + "/cpu.cfs_quota_us"), "50000");
    EXPECT_EQ(t.read("cpu" + p + "/cpu.shares"), "512");
    EXPECT_EQ(t.read("pids" + p + "/pids.max"), "32");
    // A new v1 cpuset has no CPUs and no memory nodes until they are copied down.
    EXPECT_EQ(t.read("cpuset/minidocker/cpuset.cpus"), "0-1");
    EXPECT_EQ(t.read("cpuset/minidocker/cpuset.mems"), "0");
    EXPECT_EQ(t.read("cpuset" + p + "/cpuset.cpus"), "0-1");
    EXPECT_EQ(t.read("cpuset" + p + "/cpuset.mems"), "0");
    EXPECT_FALSE(t.has("unified/cgroup.subtree_control"));  // the hybrid v2 tree has no controllers
    EXPECT_FALSE(t.has("memory" + p + "/memory.max"));      // no v2 names in a v1 tree

    // v1: the child moves itself, thread by thread, with "0" in `tasks` (no
    // kernel-wide lock); into the hybrid's v2 tree it was born.
    EXPECT_EQ(cg.v2_leaf(), t.path("unified" + p));
    cg.enter_self(true);
    for (const std::string& leaf : cg.leaves()) {
        std::string rel = leaf.substr(t.root().size() + 1);
        if (leaf == cg.v2_leaf()) {
            EXPECT_FALSE(t.has(rel + "/cgroup.procs")) << leaf;
            EXPECT_FALSE(t.has(rel + "/tasks")) << leaf;
        } else {
            EXPECT_EQ(t.read(rel + "/tasks"), "0") << leaf;
            EXPECT_FALSE(t.has(rel + "/cgroup.procs")) << leaf;
        }
    }
    t.file("memory" + p + "/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
    EXPECT_EQ(cg.oom_kills(), 2u);
    cg.remove();
}

TEST(Ch02Unit, V1WithoutSwapAccountingAndJoinedCpuMount) {
    FakeTree t;
    t.dir("memory");
    t.dir("cpu,cpuacct");
    fs::create_directory_symlink("cpu,cpuacct", t.path("cpu"));
    fs::create_directory_symlink("cpu,cpuacct", t.path("cpuacct"));
    ASSERT_EQ(detect_cgroup_mode(t.root()), CgroupMode::legacy);
    CgroupLimits l;
    l.memory = 64 << 20;
    l.cpu = cpus_to_quota(1);
    ContainerCgroups cg(t.root(), CgroupMode::legacy, "a/b", kId);
    cg.create(l);
    EXPECT_EQ(cg.leaves().size(), 2u);  // memory, and cpu,cpuacct once
    EXPECT_EQ(t.read("memory/a/b/" + kId + "/memory.limit_in_bytes"), "67108864");
    EXPECT_FALSE(t.has("memory/a/b/" + kId + "/memory.memsw.limit_in_bytes"));  // no swap accounting here
    EXPECT_EQ(t.read("cpu,cpuacct/a/b/" + kId + "/cpu.cfs_quota_us"), "100000");
    EXPECT_EQ(cg.v2_leaf(), "");  // pure v1: nothing to be born in; the child moves itself
    cg.enter_self(false);
    EXPECT_EQ(t.read("memory/a/b/" + kId + "/tasks"), "0");
    EXPECT_EQ(t.read("cpu,cpuacct/a/b/" + kId + "/tasks"), "0");
}

// run's options, parsed as the command line gives them, checked by limits().
class Ch02Cli : public ::testing::Test {
protected:
    CgroupLimits parse(std::vector<std::string> args) {
        Runtime rt{"02", "cgroups"};
        Cgroups& cg = rt.add<Cgroups>();
        rt.app().get_subcommand("run")->callback([] {});
        std::vector<const char*> argv = {"ch02", "run"};
        for (const std::string& a : args) {
            argv.push_back(a.c_str());
        }
        argv.push_back("--");
        argv.push_back("true");
        rt.app().parse(static_cast<int>(argv.size()), argv.data());
        return cg.limits(CgroupMode::hybrid);
    }
};

TEST_F(Ch02Cli, OptionsBecomeLimits) {
    CgroupLimits l = parse({"-m", "64m", "--cpus", "0.5", "--pids-limit", "64", "--cpu-shares", "512"});
    EXPECT_EQ(l.memory, 64 << 20);
    EXPECT_FALSE(l.memory_swap);
    ASSERT_TRUE(l.cpu);
    EXPECT_EQ(l.cpu->quota_us, 50000);
    EXPECT_EQ(l.pids, 64);
    EXPECT_EQ(l.cpu_shares, 512u);
    EXPECT_EQ(parse({"--memory", "1g", "--memory-swap", "-1"}).memory_swap, -1);
    EXPECT_EQ(parse({"-m", "64m", "--memory-swap", "128m"}).memory_swap, 128 << 20);
    EXPECT_FALSE(parse({"--pids-limit", "-1"}).pids);  // unlimited
    EXPECT_EQ(parse({"--cpuset-cpus", "0"}).cpuset_cpus, "0");
    CgroupLimits none = parse({});
    EXPECT_FALSE(none.memory || none.cpu || none.pids || none.cpu_shares);
}

TEST_F(Ch02Cli, BadOptionsAreUsageErrors) {
    std::string too_many = std::to_string(std::thread::hardware_concurrency() + 1);
    std::vector<std::vector<std::string>> cases = {
        {"-m", "10XB"},
        {"-m", "5m"},  // below Docker's 6MB minimum
        {"--memory-swap", "1g"},
        {"-m", "64m", "--memory-swap", "32m"},
        {"--cpus", "0"},
        {"--cpus", too_many},
        {"--cpus", "half"},
        {"--cpu-shares", "1"},
        {"--pids-limit", "abc"},
        {"--pids-limit", "-5"},
        {"--cpuset-cpus", "9999"},
        {"--cpuset-cpus", "0-"},
    };
    for (const auto& args : cases) {
        SCOPED_TRACE(args[0] + " " + args[1]);
        EXPECT_THROW(parse(args), UsageError);
    }
}
