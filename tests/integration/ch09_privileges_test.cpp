// Chapter 09's claims about privileges, proven from outside (the escapes
// themselves are in ch09_escapes_test.cpp). A container's root holds
// Docker's default capabilities (CapEff 00000000a80425fb, the same bounding
// set, nothing inheritable or ambient), runs under a seccomp filter
// (Seccomp: 2) and without no_new_privs unless asked; every option moves
// exactly what it names, in Docker's words:
//
//   DefaultCapabilitiesAreDockers               the five sets, Seccomp 2, NoNewPrivs 0, masks
//   NonRootUserHasNoCapabilitiesButDockersBound --user 1000
//   CapAddSysAdminLetsMountWork                 --cap-add SYS_ADMIN
//   CapDropAllLeavesNone                        --cap-drop ALL
//   CapDropChownClearsBitZero                   --cap-drop CHOWN
//   CapabilityNamesInEverySpelling              NET_ADMIN, CAP_NET_ADMIN, net_admin, cap_net_admin
//   PrivilegedHasEverything                     all capabilities, no filter, mount, /dev/kmsg, no /proc masks
//   SeccompUnconfinedKeepsDockersCapabilities   --security-opt seccomp=unconfined
//   ProfileRefusingMkdirIsHonoured              a Docker JSON profile of the test's own
//   PrintedDefaultProfileBehavesAsTheDefault    `seccomp default` > f.json; seccomp=f.json
//   TraceNarratesThePrivilegeStepsInTheKernelsOrder   with and without no-new-privileges
//   Clone3IsEnosysAndThreadsStillWork           glibc falls back to clone
//   DeviceRulesAreDockers                       default devices work, a host disk does not
//   ExecGetsTheSameRestrictions                 exec, exec --privileged, exec --user 1000
//   UserAndGroupNamesResolvedInTheImage         --user NAME[:GROUP], --group-add, /etc/group
//   TmpfsIsWritableEvenOnAReadOnlyRoot          --tmpfs /run[:size=1m], --read-only
//   InspectShowsThePrivilegeOptions             HostConfig.CapAdd ... Config.User
//   PrivilegesViewShowsSetsByName               `privileges NAME`, `privileges --json NAME`
//   BadPrivilegeOptionsAreRefusedAndLeaveNothing one line, exit 125, nothing on disk or in cgroups
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ch09_probe_output.hpp"
#include "harness.hpp"

namespace fs = std::filesystem;
using namespace minidocker::test;
using namespace minidocker::test::ch09;

namespace {

const std::string kDockerCaps = "00000000a80425fb";  // Docker's default set
const std::string kNoCaps = "0000000000000000";
const std::string kStatus = "grep -e ^Cap -e ^Seccomp: -e ^NoNewPrivs: /proc/self/status";
// Chapter 03's masks that this kernel has files for (it has no /proc/kcore):
// "masks 2" when both are mounted over.
const std::string kMasks = "; echo masks $(grep -c -e ' /proc/keys ' -e ' /proc/timer_list ' /proc/self/mountinfo)";

// Every capability the runtime itself may hand out: its own bounding set,
// here as root (/proc/sys/kernel/cap_last_cap may count more: a host can
// run the whole machine without some, CAP_MAC_OVERRIDE on this one).
std::string all_caps() { return field(read_file("/proc/self/status"), "CapBnd"); }

std::string with_bit(const std::string& caps, int bit, bool on) {
    unsigned long long v = std::stoull(caps, nullptr, 16);
    v = on ? v | (1ULL << bit) : v & ~(1ULL << bit);
    char out[17];
    std::snprintf(out, sizeof out, "%016llx", v);
    return out;
}

// `run --rm OPTIONS... p sh -c SCRIPT`.
Result in_container(const std::vector<std::string>& options, const std::string& script) {
    std::vector<std::string> args = {"run", "--rm"};
    args.insert(args.end(), options.begin(), options.end());
    for (const char* a : {"p", "sh", "-c"}) {
        args.push_back(a);
    }
    args.push_back(script);
    return runtime(args);
}

// Imports a copy of the test rootfs with `files` (path -> content) written
// in, as the image `name`.
void import_with(const std::string& name, const std::map<std::string, std::string>& files) {
    TempDir src;
    std::string dir = src.path() + "/rootfs";
    Result r = run({"cp", "-a", rootfs_path(), dir});
    ASSERT_EQ(r.code, 0) << r.err;
    for (const auto& [path, content] : files) {
        std::ofstream(dir + path) << content;
    }
    r = runtime({"import", dir, name});
    ASSERT_EQ(r.code, 0) << r.err;
}

// A file of the test's own: a seccomp profile.
std::string write_file(const TempDir& dir, const std::string& name, const std::string& content) {
    std::string path = dir.path() + "/" + name;
    std::ofstream(path) << content;
    return path;
}

// The comma-separated groups of `probe ids` ("... groups 1600,1700").
std::set<std::string> groups_of(const std::string& ids) {
    std::set<std::string> out;
    size_t at = ids.find(" groups ");
    std::istringstream in(at == std::string::npos ? "" : trim(ids.substr(at + 8)));
    for (std::string g; std::getline(in, g, ',');) {
        out.insert(g);
    }
    return out;
}

}  // namespace

TEST(Ch09, DefaultCapabilitiesAreDockers) {
    MINIDOCKER_REQUIRE_ROOT();
    ASSERT_NO_FATAL_FAILURE(import_probe_image("p"));
    Result r = in_container({}, kStatus + kMasks);
    ASSERT_EQ(r.code, 0) << shown(r);
    EXPECT_EQ(field(r.out, "CapInh"), kNoCaps) << r.out;
    EXPECT_EQ(field(r.out, "CapPrm"), kDockerCaps) << r.out;
    EXPECT_EQ(field(r.out, "CapEff"), kDockerCaps) << r.out;
    EXPECT_EQ(field(r.out, "CapBnd"), kDockerCaps) << r.out;
    EXPECT_EQ(field(r.out, "CapAmb"), kNoCaps) << r.out;
    EXPECT_EQ(field(r.out, "Seccomp"), "2") << r.out;
    EXPECT_EQ(field(r.out, "NoNewPrivs"), "0") << "the default must not turn no_new_privs on\n" << r.out;
    EXPECT_EQ(step(r, "masks"), "masks 2") << "/proc/keys and /proc/timer_list stay masked\n" << r.out;
}

TEST(Ch09, NonRootUserHasNoCapabilitiesButDockersBound) {
    MINIDOCKER_REQUIRE_ROOT();
    ASSERT_NO_FATAL_FAILURE(import_probe_image("p"));
    Result r = in_container({"--user", "1000"}, kStatus + "; /probe ids");
    ASSERT_EQ(r.code, 0) << shown(r);
    EXPECT_EQ(field(r.out, "CapPrm"), kNoCaps) << r.out;
    EXPECT_EQ(field(r.out, "CapEff"), kNoCaps) << r.out;
    EXPECT_EQ(field(r.out, "CapBnd"), kDockerCaps) << r.out;
    EXPECT_EQ(field(r.out, "CapInh"), kNoCaps) << r.out;
    EXPECT_EQ(field(r.out, "CapAmb"), kNoCaps) << r.out;
    EXPECT_EQ(step(r, "uid").rfind("uid 1000 euid 1000 ", 0), 0u) << r.out;
}

TEST(Ch09, CapAddSysAdminLetsMountWork) {
    MINIDOCKER_REQUIRE_ROOT();
    ASSERT_NO_FATAL_FAILURE(import_probe_image("p"));
    Result r = in_container({"--cap-add", "SYS_ADMIN"}, kStatus + "; mkdir -p /mnt; /probe mount tmpfs none /mnt");
    EXPECT_EQ(field(r.out, "CapEff"), with_bit(kDockerCaps, 21, true)) << shown(r);
    EXPECT_EQ(step(r, "mount"), "mount ok") << shown(r);
}

TEST(Ch09, CapDropAllLeavesNone) {
    MINIDOCKER_REQUIRE_ROOT();
    ASSERT_NO_FATAL_FAILURE(import_probe_image("p"));
    Result r = in_container({"--cap-drop", "ALL"}, kStatus + "; chown 1000 /tmp && echo chown ok");
    EXPECT_EQ(field(r.out, "CapEff"), kNoCaps) << shown(r);
    EXPECT_EQ(field(r.out, "CapBnd"), kNoCaps) << shown(r);
    EXPECT_EQ(step(r, "chown"), "") << shown(r);
}

TEST(Ch09, CapDropChownClearsBitZero) {
    MINIDOCKER_REQUIRE_ROOT();
    ASSERT_NO_FATAL_FAILURE(import_probe_image("p"));
    Result r = in_container({"--cap-drop", "CHOWN"}, kStatus + "; chown 1000 /tmp && echo chown ok");
    EXPECT_EQ(field(r.out, "CapEff"), with_bit(kDockerCaps, 0, false)) << shown(r);
    EXPECT_EQ(field(r.out, "CapBnd"), with_bit(kDockerCaps, 0, false)) << shown(r);
    EXPECT_EQ(step(r, "chown"), "") << shown(r);
}

TEST(Ch09, CapabilityNamesInEverySpelling) {
    MINIDOCKER_REQUIRE_ROOT();
    ASSERT_NO_FATAL_FAILURE(import_probe_image("p"));
    const std::string expected = with_bit(kDockerCaps, 12, true);  // CAP_NET_ADMIN
    for (const char* name : {"NET_ADMIN", "CAP_NET_ADMIN", "net_admin", "cap_net_admin"}) {
        SCOPED_TRACE(name);
        Result r = in_container({"--cap-add", name}, kStatus);
        EXPECT_EQ(field(r.out, "CapEff"), expected) << shown(r);
    }
    for (const char* name : {"chown", "cap_chown", "CAP_CHOWN"}) {
        SCOPED_TRACE(name);
        Result r = in_container({"--cap-drop", name}, kStatus);
        EXPECT_EQ(field(r.out, "CapEff"), with_bit(kDockerCaps, 0, false)) << shown(r);
    }
}

TEST(Ch09, PrivilegedHasEverything) {
    MINIDOCKER_REQUIRE_ROOT();
    ASSERT_NO_FATAL_FAILURE(import_probe_image("p"));
    const std::string script =
        "; mkdir -p /mnt; /probe mount tmpfs none /mnt; mknod /tmp/k c 1 11; /probe read-nonblock /tmp/k";
    Result r = in_container({"--privileged"}, kStatus + script + kMasks);
    EXPECT_EQ(field(r.out, "CapEff"), all_caps()) << shown(r);
    EXPECT_EQ(field(r.out, "CapBnd"), all_caps()) << shown(r);
    EXPECT_EQ(field(r.out, "Seccomp"), "0") << shown(r);
    EXPECT_EQ(step(r, "mount"), "mount ok") << shown(r);
    EXPECT_EQ(step(r, "read").rfind("read ok ", 0), 0u) << "every device is allowed\n" << shown(r);
    EXPECT_EQ(step(r, "masks"), "masks 0") << "no masks\n" << shown(r);
}

TEST(Ch09, SeccompUnconfinedKeepsDockersCapabilities) {
    MINIDOCKER_REQUIRE_ROOT();
    ASSERT_NO_FATAL_FAILURE(import_probe_image("p"));
    // add_key needs no capability: only the filter refuses it.
    Result r = in_container({"--security-opt", "seccomp=unconfined"},
                            kStatus + "; /probe add-key; mkdir -p /mnt; /probe mount tmpfs none /mnt");
    EXPECT_EQ(field(r.out, "Seccomp"), "0") << shown(r);
    EXPECT_EQ(field(r.out, "CapEff"), kDockerCaps) << shown(r);
    EXPECT_EQ(step(r, "add_key"), "add_key ok") << shown(r);
    EXPECT_TRUE(refused(step(r, "mount"))) << "no CAP_SYS_ADMIN, filter or not\n" << shown(r);
}

TEST(Ch09, ProfileRefusingMkdirIsHonoured) {
    MINIDOCKER_REQUIRE_ROOT();
    ASSERT_NO_FATAL_FAILURE(import_probe_image("p"));
    TempDir dir;
    std::string profile = write_file(dir, "no-mkdir.json", R"({
  "defaultAction": "SCMP_ACT_ALLOW",
  "syscalls": [
    {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}
  ]
})");
    Result r = in_container({"--security-opt", "seccomp=" + profile},
                            kStatus + "; mkdir /x || echo mkdir refused; touch /y && echo touch ok");
    EXPECT_EQ(field(r.out, "Seccomp"), "2") << shown(r);
    EXPECT_EQ(step(r, "mkdir"), "mkdir refused") << shown(r);
    EXPECT_TRUE(contains(r.err, "Permission denied")) << "errnoRet 13 is EACCES\n" << shown(r);
    EXPECT_EQ(step(r, "touch"), "touch ok") << shown(r);
}

TEST(Ch09, PrintedDefaultProfileBehavesAsTheDefault) {
    MINIDOCKER_REQUIRE_ROOT();
    ASSERT_NO_FATAL_FAILURE(import_probe_image("p"));
    Result printed = runtime({"seccomp", "default"});
    ASSERT_EQ(printed.code, 0) << shown(printed);
    nlohmann::json profile = nlohmann::json::parse(printed.out, nullptr, false);
    ASSERT_FALSE(profile.is_discarded()) << "not JSON: " << printed.out.substr(0, 200);
    EXPECT_EQ(profile.value("defaultAction", ""), "SCMP_ACT_ERRNO") << "Docker's default is an allow list";
    ASSERT_TRUE(profile.contains("syscalls") && profile["syscalls"].is_array() && !profile["syscalls"].empty());

    TempDir dir;
    std::string file = write_file(dir, "default.json", printed.out);
    const std::string script = kStatus +
                               "; mkdir -p /mnt; /probe mount tmpfs none /mnt; /probe clone3; /probe threads 4; "
                               "/probe add-key; /probe unshare-user; /probe adjtimex; mkdir /x && echo mkdir ok";
    Result builtin = in_container({}, script);
    Result fed_back = in_container({"--security-opt", "seccomp=" + file}, script);
    EXPECT_EQ(fed_back.out, builtin.out) << "built in:\n" << shown(builtin) << "\nfed back:\n" << shown(fed_back);
    EXPECT_EQ(field(fed_back.out, "Seccomp"), "2") << shown(fed_back);
    EXPECT_TRUE(refused(step(fed_back, "mount"))) << shown(fed_back);
    EXPECT_EQ(step(fed_back, "clone3"), "clone3 ENOSYS") << shown(fed_back);
    EXPECT_EQ(step(fed_back, "threads"), "threads ok 4") << shown(fed_back);
    EXPECT_TRUE(refused(step(fed_back, "add_key"))) << shown(fed_back);
    EXPECT_TRUE(refused(step(fed_back, "unshare"))) << shown(fed_back);
    EXPECT_EQ(step(fed_back, "mkdir"), "mkdir ok") << shown(fed_back);
    // The compiled filters the store caches (seccomp/KEY.bpf): the built-in
    // profile and the file fed back compile to the very same program.
    std::set<std::string> programs;
    for (const std::string& name : names_in(state_root() + "/seccomp")) {
        programs.insert(read_file(state_root() + "/seccomp/" + name));
    }
    EXPECT_EQ(programs.size(), 1u) << "the cache holds " << names_in(state_root() + "/seccomp").size() << " files with "
                                   << programs.size() << " different programs";
}

// --trace narrates the steps in the order the kernel requires: without
// no_new_privs the filter goes in while CAP_SYS_ADMIN is still held (first);
// the bounding set is cut while CAP_SETPCAP is held; groups, gid, uid in
// that order; capset last. With no-new-privileges, prctl first and the
// filter last, just before execve.
TEST(Ch09, TraceNarratesThePrivilegeStepsInTheKernelsOrder) {
    MINIDOCKER_REQUIRE_ROOT();
    ASSERT_NO_FATAL_FAILURE(import_probe_image("p"));
    const std::vector<std::string> steps = {"seccomp(SECCOMP_SET_MODE_FILTER",
                                            "prctl(PR_CAPBSET_DROP",
                                            "setgroups(",
                                            "setresgid(1000",
                                            "setresuid(1000",
                                            "capset("};
    Result r = run(with_trace({"run", "--rm", "--user", "1000:1000", "p", "true"}));
    ASSERT_EQ(r.code, 0) << shown(r);
    size_t last = 0;
    for (const std::string& s : steps) {
        size_t at = r.err.find(s);
        EXPECT_TRUE(at != std::string::npos && at >= last) << s << " should come after the step before it\n" << r.err;
        last = at == std::string::npos ? last : at;
    }
    EXPECT_FALSE(contains(r.err, "PR_SET_NO_NEW_PRIVS")) << "the default must not set no_new_privs\n" << r.err;
    for (const std::string& line : lines(r.err)) {
        if (contains(line, "capset(") || contains(line, "seccomp(")) {
            EXPECT_EQ(line.rfind("[09 ", 0), 0u) << "the chapter's prefix: " << line;
        }
    }

    r = run(with_trace({"run", "--rm", "--user", "1000:1000", "--security-opt", "no-new-privileges", "p", "true"}));
    ASSERT_EQ(r.code, 0) << shown(r);
    size_t nnp = r.err.find("prctl(PR_SET_NO_NEW_PRIVS");
    size_t capset = r.err.find("capset(");
    size_t filter = r.err.find("seccomp(SECCOMP_SET_MODE_FILTER");
    EXPECT_NE(nnp, std::string::npos) << r.err;
    EXPECT_TRUE(nnp < capset && capset != std::string::npos && capset < filter && filter != std::string::npos)
        << "no_new_privs first, the filter after capset\n"
        << r.err;
}

TEST(Ch09, Clone3IsEnosysAndThreadsStillWork) {
    MINIDOCKER_REQUIRE_ROOT();
    ASSERT_NO_FATAL_FAILURE(import_probe_image("p"));
    Result r = in_container({}, "/probe clone3; /probe threads 8; sleep 0.1 & wait; echo fork ok");
    EXPECT_EQ(step(r, "clone3"), "clone3 ENOSYS") << "ENOSYS, not EPERM: glibc then falls back to clone\n" << shown(r);
    EXPECT_EQ(step(r, "threads"), "threads ok 8") << shown(r);
    EXPECT_EQ(step(r, "fork"), "fork ok") << shown(r);
}

// Docker's device rules: mknod of any device, read and write only of its
// default devices. The host's own disk (the block device "/" is on) is made
// with mknod and refused; it is only ever opened for reading.
TEST(Ch09, DeviceRulesAreDockers) {
    MINIDOCKER_REQUIRE_ROOT();
    ASSERT_NO_FATAL_FAILURE(import_probe_image("p"));
    Result r = in_container({},
                            "head -c 3 /dev/zero | wc -c | sed 's/^/zero /'; echo x > /dev/null && echo null ok; "
                            "head -c 1 /dev/urandom > /dev/full");
    EXPECT_EQ(step(r, "zero"), "zero 3") << shown(r);
    EXPECT_EQ(step(r, "null"), "null ok") << shown(r);
    EXPECT_TRUE(contains(r.err, "No space left")) << "/dev/full opens, and its writes fail with ENOSPC\n" << shown(r);
    // The rules as the kernel holds them, read from the host: on cgroup v1
    // the container's devices.list is Docker's list, nothing more.
    const std::string v1 = "/sys/fs/cgroup/devices";
    if (::access((v1 + "/devices.list").c_str(), F_OK) != 0) {
        return;  // cgroup v2 only: DeviceProgramAloneRefusesWhatDockerRefuses shows its rules
    }
    std::string id = run_detached({"p", "sleep", "60"});
    ASSERT_FALSE(id.empty());
    std::string list = read_file(v1 + "/minidocker/" + id + "/devices.list");
    runtime({"rm", "-f", id});
    std::vector<std::string> rules = lines(list);
    std::sort(rules.begin(), rules.end());
    std::vector<std::string> docker = {"b *:* m",   "c *:* m",     "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm",
                                       "c 1:9 rwm", "c 136:* rwm", "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm"};
    std::sort(docker.begin(), docker.end());
    EXPECT_EQ(rules, docker) << list;
}

TEST(Ch09, ExecGetsTheSameRestrictions) {
    MINIDOCKER_REQUIRE_ROOT();
    ASSERT_NO_FATAL_FAILURE(import_probe_image("p"));
    ASSERT_FALSE(run_detached({"--name", "e", "p", "sleep", "60"}).empty());
    Result r = runtime({"exec", "e", "sh", "-c", kStatus + "; mkdir -p /mnt; /probe mount tmpfs none /mnt"});
    EXPECT_EQ(field(r.out, "CapEff"), kDockerCaps) << shown(r);
    EXPECT_EQ(field(r.out, "CapBnd"), kDockerCaps) << shown(r);
    EXPECT_EQ(field(r.out, "Seccomp"), "2") << shown(r);
    EXPECT_TRUE(refused(step(r, "mount"))) << shown(r);

    r = runtime({"exec", "--privileged", "e", "sh", "-c", kStatus});
    EXPECT_EQ(field(r.out, "CapEff"), all_caps()) << shown(r);

    r = runtime({"exec", "--user", "1000", "e", "sh", "-c", kStatus + "; /probe ids"});
    EXPECT_EQ(field(r.out, "CapEff"), kNoCaps) << shown(r);
    EXPECT_EQ(step(r, "uid").rfind("uid 1000 euid 1000 ", 0), 0u) << shown(r);
    runtime({"rm", "-f", "e"});
}

TEST(Ch09, UserAndGroupNamesResolvedInTheImage) {
    MINIDOCKER_REQUIRE_ROOT();
    ASSERT_NO_FATAL_FAILURE(import_probe_image("p"));
    ASSERT_NO_FATAL_FAILURE(import_with(
        "u", {{"/etc/passwd",
               "root:x:0:0:root:/root:/bin/sh\nalice:x:1500:1600:Alice:/home/alice:/bin/sh\n"
               "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"},
              {"/etc/group", "root:x:0:\nstaff:x:1600:\nextra:x:1700:bob,alice\naudio:x:29:\nnogroup:x:65534:\n"}}));
    auto ids = [](const std::vector<std::string>& options) {
        std::vector<std::string> args = {"run", "--rm"};
        args.insert(args.end(), options.begin(), options.end());
        for (const char* a : {"u", "sh", "-c", "/probe ids; id"}) {
            args.push_back(a);
        }
        return runtime(args);
    };

    Result r = ids({"--user", "alice"});
    EXPECT_EQ(step(r, "uid").rfind("uid 1500 euid 1500 gid 1600 egid 1600 ", 0), 0u) << shown(r);
    EXPECT_TRUE(groups_of(step(r, "uid")).count("1700")) << "alice is in extra (/etc/group)\n" << shown(r);
    EXPECT_TRUE(contains(r.out, "uid=1500(alice) gid=1600(staff)")) << shown(r);
    EXPECT_TRUE(contains(r.out, "1700(extra)")) << shown(r);

    r = ids({"--user", "alice", "--group-add", "audio", "--group-add", "4242"});
    std::set<std::string> groups = groups_of(step(r, "uid"));
    EXPECT_TRUE(groups.count("1700") && groups.count("29") && groups.count("4242")) << shown(r);
    EXPECT_TRUE(contains(r.out, "29(audio)")) << shown(r);

    r = ids({"--user", "alice:audio"});
    EXPECT_EQ(step(r, "uid").rfind("uid 1500 euid 1500 gid 29 egid 29 ", 0), 0u) << shown(r);

    r = ids({"--user", "1500:1700"});
    EXPECT_EQ(step(r, "uid").rfind("uid 1500 euid 1500 gid 1700 egid 1700 ", 0), 0u) << shown(r);
}

TEST(Ch09, TmpfsIsWritableEvenOnAReadOnlyRoot) {
    MINIDOCKER_REQUIRE_ROOT();
    ASSERT_NO_FATAL_FAILURE(import_probe_image("p"));
    const std::string script =
        "grep ' /run ' /proc/self/mountinfo; touch /run/x && echo run-write ok; touch /x 2>/dev/null && echo "
        "root-write ok";
    Result r = in_container({"--tmpfs", "/run"}, script);
    EXPECT_TRUE(contains(r.out, " - tmpfs ")) << shown(r);
    EXPECT_EQ(step(r, "run-write"), "run-write ok") << shown(r);
    EXPECT_EQ(step(r, "root-write"), "root-write ok") << shown(r);

    r = in_container({"--read-only", "--tmpfs", "/run:size=1m"}, script);
    EXPECT_TRUE(contains(r.out, " - tmpfs ")) << shown(r);
    EXPECT_TRUE(contains(r.out, "size=1024k")) << shown(r);
    EXPECT_EQ(step(r, "run-write"), "run-write ok") << shown(r);
    EXPECT_EQ(step(r, "root-write"), "") << "--read-only\n" << shown(r);
}

namespace {

// ["CAP_NET_ADMIN"] -> ["NET_ADMIN"] (anything else as it is).
nlohmann::json without_cap_prefix(nlohmann::json names) {
    for (nlohmann::json& n : names) {
        if (n.is_string() && n.get<std::string>().rfind("CAP_", 0) == 0) {
            n = n.get<std::string>().substr(4);
        }
    }
    return names;
}

}  // namespace

TEST(Ch09, InspectShowsThePrivilegeOptions) {
    MINIDOCKER_REQUIRE_ROOT();
    ASSERT_NO_FATAL_FAILURE(import_probe_image("p"));
    ASSERT_FALSE(run_detached({"--name", "i", "--cap-add", "NET_ADMIN", "--cap-drop", "CHOWN", "--security-opt",
                               "no-new-privileges", "--read-only", "--user", "1000", "--group-add", "29", "--tmpfs",
                               "/run", "p", "sleep", "60"})
                     .empty());
    Result r = runtime({"run", "--name", "pr", "--privileged", "p", "true"});
    ASSERT_EQ(r.code, 0) << shown(r);

    r = runtime({"inspect", "i", "pr"});
    ASSERT_EQ(r.code, 0) << shown(r);
    nlohmann::json all = nlohmann::json::parse(r.out, nullptr, false);
    ASSERT_TRUE(all.is_array() && all.size() == 2) << r.out;
    const nlohmann::json& host = all[0]["HostConfig"];
    // Docker 20.10 on stores the names as it normalises them (CAP_NET_ADMIN);
    // older versions as given.
    EXPECT_EQ(without_cap_prefix(host.value("CapAdd", nlohmann::json())), nlohmann::json({"NET_ADMIN"}))
        << host.dump(2);
    EXPECT_EQ(without_cap_prefix(host.value("CapDrop", nlohmann::json())), nlohmann::json({"CHOWN"})) << host.dump(2);
    EXPECT_EQ(host.value("Privileged", nlohmann::json()), false) << host.dump(2);
    EXPECT_EQ(host.value("SecurityOpt", nlohmann::json()), nlohmann::json({"no-new-privileges"})) << host.dump(2);
    EXPECT_EQ(host.value("ReadonlyRootfs", nlohmann::json()), true) << host.dump(2);
    EXPECT_EQ(host.value("GroupAdd", nlohmann::json()), nlohmann::json({"29"})) << host.dump(2);
    EXPECT_TRUE(host.contains("Tmpfs") && host["Tmpfs"].contains("/run")) << host.dump(2);
    EXPECT_EQ(all[0]["Config"].value("User", ""), "1000") << all[0]["Config"].dump(2);
    EXPECT_EQ(all[1]["HostConfig"].value("Privileged", nlohmann::json()), true) << all[1]["HostConfig"].dump(2);
    runtime({"rm", "-f", "i", "pr"});
}

// The inspector's privileges view (the issue's "ns PID, or a sibling
// subcommand": ch09 has `privileges PID|NAME`): the sets by name, seccomp,
// no_new_privs and the id maps, read from /proc/PID/status.
TEST(Ch09, PrivilegesViewShowsSetsByName) {
    MINIDOCKER_REQUIRE_ROOT();
    ASSERT_NO_FATAL_FAILURE(import_probe_image("p"));
    ASSERT_FALSE(run_detached({"--name", "n", "p", "sleep", "60"}).empty());
    Result r = runtime({"privileges", "n"});
    ASSERT_EQ(r.code, 0) << shown(r);
    std::string eff;
    for (const std::string& line : lines(r.out)) {
        if (line.rfind("CapEff", 0) == 0) {
            eff = line;
        }
    }
    EXPECT_TRUE(contains(eff, kDockerCaps) && contains(eff, "CAP_CHOWN") && contains(eff, "CAP_NET_BIND_SERVICE"))
        << r.out;
    EXPECT_FALSE(contains(r.out, "SYS_ADMIN")) << "no set of the container holds it\n" << r.out;
    for (const char* part : {"CapInh", "CapPrm", "CapBnd", "CapAmb", "Seccomp", "NoNewPrivs", "uid_map", "gid_map"}) {
        EXPECT_TRUE(contains(r.out, part)) << "should show " << part << "\n" << r.out;
    }

    r = runtime({"privileges", "--json", "n"});
    ASSERT_EQ(r.code, 0) << shown(r);
    nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.out;
    EXPECT_EQ(j["CapEff"].value("Hex", ""), kDockerCaps) << r.out;
    EXPECT_EQ(j["CapEff"]["Names"].size(), 14u) << r.out;
    EXPECT_EQ(j.value("Seccomp", -1), 2) << r.out;
    EXPECT_EQ(j.value("NoNewPrivs", -1), 0) << r.out;
    EXPECT_TRUE(j.contains("uid_map") && j.contains("gid_map")) << r.out;
    runtime({"rm", "-f", "n"});
}

namespace {

// Every path under `root` with its type, mode, size and mtime, sorted (as
// chapter 08's bad-input suite compares the store).
// dir_mtimes false: a directory's mtime is left out (its entries still count).
std::string snapshot(const std::string& root, bool dir_mtimes = true) {
    std::vector<std::string> entries;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
        struct stat st {};
        if (::lstat(it->path().c_str(), &st) == 0) {
            std::ostringstream e;
            e << std::oct << st.st_mode << std::dec << " " << st.st_size << " ";
            if (dir_mtimes || !S_ISDIR(st.st_mode)) {
                e << st.st_mtim.tv_sec << "." << st.st_mtim.tv_nsec;
            }
            e << " " << it->path().string();
            entries.push_back(e.str());
        }
    }
    struct stat st {};
    ::lstat(root.c_str(), &st);
    if (dir_mtimes) {
        entries.push_back(". " + std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec));
    }
    std::sort(entries.begin(), entries.end());
    std::string out;
    for (const std::string& e : entries) {
        out += e + "\n";
    }
    return out;
}

// The directories named `parent` in every cgroup hierarchy (a bad run was
// given --cgroup-parent PARENT: none may appear).
std::vector<std::string> cgroups_named(const std::string& parent) {
    std::vector<std::string> found;
    std::error_code ec;
    if (fs::exists("/sys/fs/cgroup/" + parent, ec)) {
        found.push_back("/sys/fs/cgroup/" + parent);
    }
    for (const std::string& hierarchy : names_in("/sys/fs/cgroup")) {
        if (fs::exists("/sys/fs/cgroup/" + hierarchy + "/" + parent, ec)) {
            found.push_back("/sys/fs/cgroup/" + hierarchy + "/" + parent);
        }
    }
    return found;
}

}  // namespace

TEST(Ch09, BadPrivilegeOptionsAreRefusedAndLeaveNothing) {
    MINIDOCKER_REQUIRE_ROOT();
    ASSERT_NO_FATAL_FAILURE(import_probe_image("p"));
    TempDir dir;
    const std::string not_json = write_file(dir, "not.json", "this is { not JSON\n");
    const std::string bad_syscall = write_file(
        dir, "syscall.json",
        R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["bogus"], "action": "SCMP_ACT_ERRNO"}]})");
    const std::string bad_action = write_file(dir, "action.json", R"({"defaultAction": "SCMP_ACT_BOGUS"})");
    struct Case {
        std::vector<std::string> options;
        std::string phrase;
        // Looked up in the image's own /etc/passwd, in the child: the
        // container's folder is made, then removed. Its entries are as they
        // were, the mtimes of the store's folders are not.
        bool in_the_image = false;
    };
    const std::vector<Case> cases = {
        {{"--cap-add", "CAP_BOGUS"}, "unknown capability: \"CAP_BOGUS\""},
        {{"--cap-drop", "bogus"}, "unknown capability: \"CAP_BOGUS\""},
        {{"--security-opt", "seccomp=" + not_json}, "decoding seccomp profile"},
        {{"--security-opt", "seccomp=" + bad_syscall}, "unknown syscall \"bogus\""},
        {{"--security-opt", "seccomp=" + bad_action}, "unknown action \"SCMP_ACT_BOGUS\""},
        {{"--security-opt", "bogus"}, "invalid --security-opt"},
        {{"--user", "nosuch"}, "unable to find user nosuch: no matching entries in passwd file", true},
        {{"--user", "root:nosuch"}, "unable to find group nosuch: no matching entries in group file", true},
        {{"--group-add", "nosuch"}, "unable to find group nosuch: no matching entries in group file", true},
    };
    // The default filter compiled once (the cache under --root), as any
    // earlier start would have left it.
    ASSERT_EQ(runtime({"run", "--rm", "p", "true"}).code, 0);
    const std::string parent = "md9-bad-" + std::to_string(::getpid());
    for (const Case& c : cases) {
        std::vector<std::string> args = {"run", "--rm", "--cgroup-parent", parent};
        args.insert(args.end(), c.options.begin(), c.options.end());
        for (const char* a : {"p", "true"}) {
            args.push_back(a);
        }
        std::string joined;
        for (const std::string& a : args) {
            joined += " " + a;
        }
        SCOPED_TRACE(joined);
        std::string before = snapshot(state_root(), !c.in_the_image);
        Result r = runtime(args);
        expect_error_line(r, c.phrase);
        EXPECT_EQ(r.out, "");
        EXPECT_EQ(snapshot(state_root(), !c.in_the_image), before) << "the store changed";
        std::vector<std::string> left = cgroups_named(parent);
        EXPECT_TRUE(left.empty()) << "left a cgroup: " << left.front();
        for (const std::string& path : left) {
            run({"rmdir", path});
        }
    }
}

// cgroup v2 has no devices files: there the rules are a BPF program on the
// container's cgroup. This host is hybrid, so both are set; hiding the v1
// devices hierarchy from the runtime (a tmpfs over it, in a mount namespace
// of this test's) leaves the program alone to answer.
TEST(Ch09, DeviceProgramAloneRefusesWhatDockerRefuses) {
    MINIDOCKER_REQUIRE_ROOT();
    ASSERT_NO_FATAL_FAILURE(import_probe_image("p"));
    if (::access("/sys/fs/cgroup/unified/cgroup.procs", F_OK) != 0 &&
        ::access("/sys/fs/cgroup/cgroup.controllers", F_OK) != 0) {
        GTEST_SKIP() << "no cgroup v2 tree to attach the program to";
    }
    std::string script =
        "mknod /tmp/k c 1 11 && echo mknod ok; /probe read-nonblock /tmp/k; "
        "echo x > /dev/null && echo null ok";
    std::string hide =
        "if [ -e /sys/fs/cgroup/devices/devices.allow ]; then "
        "mount -t tmpfs hidden /sys/fs/cgroup/devices || exit 99; fi; exec \"$0\" \"$@\"";
    // CAP_SYSLOG given back (reading the kernel's log needs it when
    // kernel.dmesg_restrict is 1): the program alone must refuse.
    Result r = run({"unshare", "--mount", "--propagation", "private", "sh", "-c", hide, binary(), "--root",
                    state_root(), "--trace", "run", "--rm", "--cap-add", "SYSLOG", "p", "sh", "-c", script});
    EXPECT_EQ(r.code, 0) << shown(r);
    EXPECT_FALSE(contains(r.err, "devices.deny")) << "the v1 devices cgroup was used\n" << shown(r);
    EXPECT_TRUE(contains(r.err, "bpf(BPF_PROG_ATTACH")) << shown(r);
    EXPECT_EQ(step(r, "mknod"), "mknod ok") << shown(r);
    EXPECT_TRUE(refused(step(r, "read"))) << "/dev/kmsg, by the program alone\n" << shown(r);
    EXPECT_EQ(step(r, "null"), "null ok") << shown(r);
    // The same with --privileged (no device rules): the log can be read.
    r = run({"unshare", "--mount", "--propagation", "private", "sh", "-c", hide, binary(), "--root", state_root(),
             "run", "--rm", "--privileged", "p", "sh", "-c", script});
    EXPECT_EQ(step(r, "read").rfind("read ok ", 0), 0u) << "without the program\n" << shown(r);
}
