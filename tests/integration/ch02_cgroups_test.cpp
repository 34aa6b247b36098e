// Chapter 02's claims, proven from outside: cgroups limit memory, CPU time and
// processes; the container sees its own cgroup as "/"; nothing is left behind.
// These tests also run against every later chapter's binary. They use the
// host's real cgroups (v1 or v2, whatever the machine has).
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <chrono>
#include <sstream>
#include <thread>

#include "harness.hpp"

using namespace minidocker::test;

namespace {

const std::string kRoot = "/sys/fs/cgroup";

bool unified() {
    struct statfs fs {};
    return ::statfs(kRoot.c_str(), &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
}

// cgroup v1 controllers with an empty cgroup2 tree at unified/ (this host).
bool hybrid() {
    struct statfs fs {};
    return !unified() && ::statfs((kRoot + "/unified").c_str(), &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
}

// The hierarchies a container's cgroups live in, as directories.
std::vector<std::string> hierarchies() {
    if (unified()) {
        return {kRoot};
    }
    std::vector<std::string> all;
    for (const char* h : {"memory", "cpu", "cpuacct", "pids", "cpuset", "unified"}) {
        if (::access((kRoot + "/" + h).c_str(), F_OK) == 0) {
            all.push_back(kRoot + "/" + h);
        }
    }
    return all;
}

// The directory of `pid`'s cgroup for `controller` ("memory"...), host view.
std::string cgroup_dir(pid_t pid, const std::string& controller) {
    for (const std::string& line : lines(read_file("/proc/" + std::to_string(pid) + "/cgroup"))) {
        // "4:memory:/minidocker/<id>" (v1) or "0::/minidocker/<id>" (v2)
        size_t first = line.find(':'), second = line.find(':', first + 1);
        std::string names = line.substr(first + 1, second - first - 1);
        std::string path = line.substr(second + 1);
        if (unified() && names.empty()) {
            return kRoot + path;
        }
        if (("," + names + ",").find("," + controller + ",") != std::string::npos) {
            return kRoot + "/" + controller + path;
        }
    }
    return "";
}

// The container's id, from its memory cgroup's path ".../minidocker/<id>".
std::string container_id(pid_t pid) {
    std::string dir = cgroup_dir(pid, "memory");
    return dir.substr(dir.rfind('/') + 1);
}

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// Nothing of the cgroup path `rel` ("minidocker/<id>") in any hierarchy.
void expect_gone(const std::string& rel) {
    for (const std::string& h : hierarchies()) {
        EXPECT_FALSE(exists(h + "/" + rel)) << h + "/" + rel << " was left behind";
    }
}

// A --cgroup-parent no one else uses, so a test can see all that it made.
std::string private_parent() { return "minidocker-test-" + std::to_string(::getpid()); }

double seconds_now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

TEST(Ch02, OomKillIsReported) {
    MINIDOCKER_REQUIRE_ROOT();
    Result r = runtime({"run", "-m", "64m", "--", probe_path(), "memhog", "200"});
    EXPECT_EQ(r.code, 137) << r.err;
    EXPECT_EQ(lines(r.err).size(), 1u) << r.err;
    EXPECT_NE(r.err.find("out of memory"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("-m 64m"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.rfind(program() + ":", 0), 0u) << r.err;
}

TEST(Ch02, EnoughMemoryIsFine) {
    MINIDOCKER_REQUIRE_ROOT();
    Result r = runtime({"run", "-m", "512m", "--", probe_path(), "memhog", "200"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "ok\n");
    EXPECT_EQ(r.err, "");
}

TEST(Ch02, PidsLimitStopsAForkBomb) {
    MINIDOCKER_REQUIRE_ROOT();
    std::string parent = private_parent();
    // The probe forks until fork() fails (or it has 100), prints how many
    // processes it had, kills its children and exits.
    Result r = runtime({"run", "--pids-limit", "32", "--cgroup-parent", parent, "--", probe_path(), "forkbomb", "100"});
    EXPECT_EQ(r.code, 0) << r.err;
    ASSERT_FALSE(r.out.empty()) << r.err;
    int got = std::stoi(r.out);
    EXPECT_LE(got, 32);
    EXPECT_GE(got, 2);
    // Without the limit, the same probe gets all 100.
    r = runtime({"run", "--cgroup-parent", parent, "--", probe_path(), "forkbomb", "100"});
    EXPECT_EQ(trim(r.out), "100") << r.err;
    expect_gone(parent);
}

TEST(Ch02, CpusLimitsCpuTime) {
    MINIDOCKER_REQUIRE_ROOT();
    Background c = start({"run", "--cpus", "0.5", "--", probe_path(), "spin", "2.5"});
    pid_t pid = c.container_pid("probe");
    ASSERT_GT(pid, 0);
    // Nanoseconds of CPU time the container used so far, from its cgroup.
    std::string counter;
    bool usec = false;
    if (unified()) {
        counter = cgroup_dir(pid, "") + "/cpu.stat";
        usec = true;
    } else {
        counter = cgroup_dir(pid, "cpuacct") + "/cpuacct.usage";
    }
    auto usage = [&] {
        std::string text = read_file(counter);
        if (usec) {
            std::istringstream in(text);
            std::string key;
            double value = 0;
            while (in >> key >> value) {
                if (key == "usage_usec") {
                    return value / 1e6;
                }
            }
            return 0.0;
        }
        return std::stod(text) / 1e9;
    };
    ::usleep(300000);
    double t0 = seconds_now(), u0 = usage();
    ::usleep(2000000);
    double t1 = seconds_now(), u1 = usage();
    double cpus = (u1 - u0) / (t1 - t0);
    // The limit is a ceiling: never more than half a CPU. On a busy machine
    // (the suite runs two tests at once on two cores) it may get less.
    EXPECT_LE(cpus, 0.6) << "measured " << cpus << " CPUs from " << counter;
    EXPECT_GE(cpus, 0.15) << "measured " << cpus << " CPUs from " << counter << ": did it run at all?";
    EXPECT_EQ(c.wait().code, 0);
}

TEST(Ch02, ContainerSeesItsCgroupAsRoot) {
    MINIDOCKER_REQUIRE_ROOT();
    Result r = runtime({"run", "-m", "64m", "--", probe_path(), "cgroup"});
    ASSERT_EQ(r.code, 0) << r.err;
    std::vector<std::string> rows = lines(r.out);
    ASSERT_FALSE(rows.empty());
    for (const std::string& row : rows) {
        EXPECT_EQ(row.substr(row.rfind(':')), ":/") << r.out;
    }
}

TEST(Ch02, CgroupFilesHoldTheLimits) {
    MINIDOCKER_REQUIRE_ROOT();
    Background c = start({"run", "-m", "64m", "--cpus", "0.5", "--cpu-shares", "512", "--pids-limit", "64",
                          "--cpuset-cpus", "0", "--", probe_path(), "sleep", "30"});
    pid_t pid = c.container_pid("probe");
    ASSERT_GT(pid, 0);
    std::string id = container_id(pid);
    ASSERT_EQ(id.size(), 64u) << read_file("/proc/" + std::to_string(pid) + "/cgroup");
    // At the root of the hierarchy, wherever the runtime itself is.
    EXPECT_EQ(cgroup_dir(pid, "memory"), unified() ? kRoot + "/minidocker/" + id : kRoot + "/memory/minidocker/" + id);
    std::string p = std::to_string(pid);
    if (unified()) {
        std::string d = kRoot + "/minidocker/" + id;
        EXPECT_EQ(trim(read_file(d + "/memory.max")), "67108864");
        EXPECT_EQ(trim(read_file(d + "/cpu.max")), "50000 100000");
        EXPECT_EQ(trim(read_file(d + "/cpu.weight")), "20");
        EXPECT_EQ(trim(read_file(d + "/pids.max")), "64");
        EXPECT_EQ(trim(read_file(d + "/cpuset.cpus")), "0");
        EXPECT_NE(read_file(d + "/cgroup.procs").find(p), std::string::npos);
    } else {
        std::string rel = "/minidocker/" + id;
        EXPECT_EQ(trim(read_file(kRoot + "/memory" + rel + "/memory.limit_in_bytes")), "67108864");
        EXPECT_EQ(trim(read_file(kRoot + "/cpu" + rel + "/cpu.cfs_quota_us")), "50000");
        EXPECT_EQ(trim(read_file(kRoot + "/cpu" + rel + "/cpu.cfs_period_us")), "100000");
        EXPECT_EQ(trim(read_file(kRoot + "/cpu" + rel + "/cpu.shares")), "512");
        EXPECT_EQ(trim(read_file(kRoot + "/pids" + rel + "/pids.max")), "64");
        EXPECT_EQ(trim(read_file(kRoot + "/cpuset" + rel + "/cpuset.cpus")), "0");
        for (const std::string& h : hierarchies()) {
            EXPECT_NE(read_file(h + rel + "/cgroup.procs").find(p), std::string::npos) << h;
        }
    }
    // The kernel holds the process to it: it may only run on CPU 0.
    std::string status = read_file("/proc/" + p + "/status");
    EXPECT_NE(status.find("Cpus_allowed_list:\t0\n"), std::string::npos) << status;
    ASSERT_TRUE(wait_for_handler(pid, SIGTERM));
    c.signal(SIGTERM);
    EXPECT_EQ(c.wait().code, 143);
    expect_gone("minidocker/" + id);
}

TEST(Ch02, BadLimitsAreOneLineAndCreateNothing) {
    MINIDOCKER_REQUIRE_ROOT();
    std::string parent = private_parent();
    std::string too_many = std::to_string(std::thread::hardware_concurrency() + 1);
    std::string no_such_cpu = std::to_string(std::thread::hardware_concurrency() + 5);
    struct Case {
        std::vector<std::string> args;
        std::string says;
    } cases[] = {
        {{"-m", "-1"}, "-1"},
        {{"-m", "10XB"}, "10XB"},
        {{"-m", "5m"}, "6MB"},
        {{"--memory-swap", "1g"}, "-m"},
        {{"--cpus", "0"}, "--cpus"},
        {{"--cpus", too_many}, "--cpus"},
        {{"--cpus", "99"}, "--cpus"},
        {{"--pids-limit", "abc"}, "--pids-limit"},
        {{"--cpuset-cpus", no_such_cpu}, "--cpuset-cpus"},
        {{"--cpu-shares", "1"}, "--cpu-shares"},
    };
    for (const Case& c : cases) {
        std::vector<std::string> args = {"run", "--cgroup-parent", parent};
        args.insert(args.end(), c.args.begin(), c.args.end());
        args.insert(args.end(), {"--", "true"});
        SCOPED_TRACE(c.args[0] + " " + c.args[1]);
        Result r = runtime(args);
        EXPECT_EQ(r.code, 125) << r.err;
        EXPECT_EQ(lines(r.err).size(), 1u) << r.err;
        EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
        EXPECT_EQ(r.err.rfind(program() + ":", 0), 0u) << r.err;
        expect_gone(parent);
    }
}

TEST(Ch02, StraysAreKilledAndNothingRemains) {
    MINIDOCKER_REQUIRE_ROOT();
    // Without a PID namespace, a background process outlives the command:
    // cleanup must kill it before it can remove the cgroups.
    std::string parent = private_parent();
    // A number of our own: the same test may run on another binary meanwhile.
    std::string sleep = "sleep 1234." + std::to_string(::getpid());
    Result r = runtime({"run", "--ns", "mnt,uts", "--cgroup-parent", parent, "--", "sh", "-c",
                        sleep + " >/dev/null 2>&1 & echo started"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "started\n");
    expect_gone(parent);
    EXPECT_EQ(run({"pgrep", "-f", sleep}).out, "");
}

TEST(Ch02, TraceShowsTheCgroupFiles) {
    MINIDOCKER_REQUIRE_ROOT();
    Result r = runtime({"--trace", "run", "-m", "64m", "--pids-limit", "64", "--cpus", "0.5", "--", "true"});
    ASSERT_EQ(r.code, 0) << r.err;
    std::string memory_file = unified() ? "memory.max" : "memory.limit_in_bytes";
    bool v2_tree = unified() || hybrid();
    bool v1_trees = !unified();
    // In this order: the cgroups and their limits, then clone (clone3 into
    // the v2 cgroup where there is one), the child moving itself into each v1
    // cgroup, the namespace, exec, removal.
    std::vector<std::string> steps = {"[02 cgroups] mkdir(\"", memory_file + "\", \"67108864\") = ",
                                      "pids.max\", \"64\") = ", v2_tree ? "[01 run] clone3(" : "[01 run] clone("};
    if (v2_tree) {
        steps.push_back("|CLONE_INTO_CGROUP, cgroup=fd of \"/sys/fs/cgroup/");
    }
    if (v1_trees) {
        steps.push_back("[02 cgroups] write(\"/sys/fs/cgroup/memory/");
        steps.push_back("/tasks\", \"0\") = 1");
    }
    for (const char* step :
         {"[02 cgroups] unshare(CLONE_NEWCGROUP) = 0", "] execvp(\"true\"", "[02 cgroups] rmdir(\""}) {
        steps.push_back(step);
    }
    size_t at = 0;
    for (const std::string& step : steps) {
        size_t found = r.err.find(step, at);
        EXPECT_NE(found, std::string::npos) << "missing (or out of order): " << step << "\n" << r.err;
        at = found == std::string::npos ? at : found;
    }
    EXPECT_NE(r.err.find(unified() ? "cpu.max\", \"50000 100000\")" : "cpu.cfs_quota_us\", \"50000\")"),
              std::string::npos)
        << r.err;
    // Nobody writes a pid into cgroup.procs: that takes the kernel-wide lock
    // whose first taker waits for an RCU grace period (kernel 5.7 and later
    // have CLONE_INTO_CGROUP, so no fallback here either).
    EXPECT_EQ(r.err.find("/cgroup.procs\""), std::string::npos) << r.err;
    // clone() itself no longer makes the cgroup namespace: the child does, later.
    size_t clone = r.err.find("] clone");
    ASSERT_NE(clone, std::string::npos);
    EXPECT_EQ(r.err.substr(clone, r.err.find('\n', clone) - clone).find("CLONE_NEWCGROUP"), std::string::npos);
}

TEST(Ch02, CgroupNamespaceOnlyWhenAsked) {
    MINIDOCKER_REQUIRE_ROOT();
    // Without "cgroup" in --ns the container sees the host's view of its
    // cgroup: the full path, .../minidocker/<id>.
    Result r = runtime({"run", "--ns", "uts,pid,mnt", "--", probe_path(), "cgroup"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("/minidocker/"), std::string::npos) << r.out;
}
