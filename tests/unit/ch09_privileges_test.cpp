// Unit tests of chapter 09's logic, no root needed: capabilities by name
// and Docker's rules for --cap-add/--cap-drop, --user resolution, the seccomp
// profile (JSON both ways, errors, the compiled filter and its cache), the
// device rules.
#include <gtest/gtest.h>
#include <linux/capability.h>

#include "capabilities.hpp"
#include "devices.hpp"
#include "seccomp.hpp"
#include "state.hpp"
#include "unit.hpp"
#include "users.hpp"

using namespace minidocker;
using unit::contains;
using unit::usage_error;

TEST(Ch09Capabilities, DockersDefaultSetIsA80425fb) {
    EXPECT_EQ(docker_default_capabilities(), 0xa80425fbULL);
    EXPECT_EQ(capability_names(docker_default_capabilities()).size(), 14U);
    EXPECT_EQ(capability_mask({}, {}, false), 0xa80425fbULL);
}

TEST(Ch09Capabilities, NamesAsDockerUsersWriteThem) {
    EXPECT_EQ(parse_capability("SYS_ADMIN"), CAP_SYS_ADMIN);
    EXPECT_EQ(parse_capability("CAP_SYS_ADMIN"), CAP_SYS_ADMIN);
    EXPECT_EQ(parse_capability("sys_admin"), CAP_SYS_ADMIN);
    EXPECT_EQ(parse_capability("cap_net_raw"), CAP_NET_RAW);
    EXPECT_EQ(capability_name(CAP_CHOWN), "CAP_CHOWN");
    EXPECT_EQ(normalized_capability("net_admin"), "CAP_NET_ADMIN");
    EXPECT_EQ(normalized_capability("all"), "ALL");
    EXPECT_EQ(capability_names(0x3), (std::vector<std::string>{"CAP_CHOWN", "CAP_DAC_OVERRIDE"}));
}

TEST(Ch09Capabilities, AnUnknownNameIsOneLine) {
    std::string what = usage_error([] { parse_capability("bogus"); });
    EXPECT_EQ(what, "unknown capability: \"CAP_BOGUS\"");
    EXPECT_TRUE(contains(usage_error([] { capability_mask({"CHOWN", "NOPE"}, {}, false); }), "CAP_NOPE"));
    EXPECT_TRUE(contains(usage_error([] { capability_mask({}, {"NOPE"}, false); }), "CAP_NOPE"));
}

TEST(Ch09Capabilities, DockersRulesForAddAndDrop) {
    uint64_t sys_admin = 1ULL << CAP_SYS_ADMIN;
    uint64_t chown = 1ULL << CAP_CHOWN;
    EXPECT_EQ(capability_mask({"SYS_ADMIN"}, {}, false), 0xa80425fbULL | sys_admin);
    EXPECT_EQ(capability_mask({}, {"CHOWN"}, false), 0xa80425fbULL & ~chown);
    // --cap-drop ALL: only what --cap-add names.
    EXPECT_EQ(capability_mask({}, {"ALL"}, false), 0U);
    EXPECT_EQ(capability_mask({"SYS_ADMIN"}, {"all"}, false), sys_admin);
    // --cap-add ALL: everything we hold, but what --cap-drop names.
    EXPECT_EQ(capability_mask({"ALL"}, {}, false), held_capabilities());
    EXPECT_EQ(capability_mask({"ALL"}, {"CHOWN"}, false), held_capabilities() & ~chown);
    // --privileged starts from everything we hold.
    EXPECT_EQ(capability_mask({}, {}, true), held_capabilities());
    EXPECT_EQ(capability_mask({}, {"CHOWN"}, true), held_capabilities() & ~chown);
}

namespace {

const char* const kPasswd =
    "root:x:0:0:root:/root:/bin/sh\n"
    "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
    "# a comment\n"
    "bob:x:1000:1000:Bob:/home/bob:/bin/sh\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
const char* const kGroup =
    "root:x:0:\n"
    "wheel:x:10:root,bob\n"
    "audio:x:29:bob\n"
    "bob:x:1000:\n"
    "staff:x:50:\n"
    "nogroup:x:65534:\n";

}  // namespace

TEST(Ch09Users, RootByDefaultWithItsGroups) {
    ExecUser u = resolve_user("", {}, kPasswd, kGroup);
    EXPECT_EQ(u.uid, 0U);
    EXPECT_EQ(u.gid, 0U);
    EXPECT_EQ(u.groups, (std::vector<gid_t>{0, 10}));
    EXPECT_EQ(u.home, "/root");
}

TEST(Ch09Users, ANameFromPasswdWithTheGroupsThatListIt) {
    ExecUser u = resolve_user("bob", {}, kPasswd, kGroup);
    EXPECT_EQ(u.uid, 1000U);
    EXPECT_EQ(u.gid, 1000U);
    EXPECT_EQ(u.groups, (std::vector<gid_t>{1000, 10, 29}));
    EXPECT_EQ(u.home, "/home/bob");
    // The same user by number.
    EXPECT_EQ(resolve_user("1000", {}, kPasswd, kGroup).groups, u.groups);
}

TEST(Ch09Users, AGroupGivenReplacesTheListedOnes) {
    ExecUser u = resolve_user("bob:staff", {}, kPasswd, kGroup);
    EXPECT_EQ(u.gid, 50U);
    EXPECT_EQ(u.groups, (std::vector<gid_t>{50}));
    EXPECT_EQ(resolve_user("bob:4242", {}, kPasswd, kGroup).gid, 4242U);
}

TEST(Ch09Users, ANumberNeedsNoEntry) {
    ExecUser u = resolve_user("4321:99", {}, kPasswd, kGroup);
    EXPECT_EQ(u.uid, 4321U);
    EXPECT_EQ(u.gid, 99U);
    EXPECT_EQ(u.home, "/");
    EXPECT_EQ(resolve_user("4321", {}, kPasswd, kGroup).gid, 0U);  // Docker: gid 0
    EXPECT_EQ(resolve_user("4321", {}, "", "").uid, 4321U);        // an image without /etc/passwd
}

TEST(Ch09Users, GroupAddComesAfter) {
    ExecUser u = resolve_user("nobody", {"audio", "77", "nogroup"}, kPasswd, kGroup);
    EXPECT_EQ(u.groups, (std::vector<gid_t>{65534, 29, 77}));
}

TEST(Ch09Users, UnknownNamesAreDockersLines) {
    EXPECT_EQ(usage_error([] { resolve_user("nosuch", {}, kPasswd, kGroup); }),
              "unable to find user nosuch: no matching entries in passwd file");
    EXPECT_EQ(usage_error([] { resolve_user("bob:nosuch", {}, kPasswd, kGroup); }),
              "unable to find group nosuch: no matching entries in group file");
    EXPECT_EQ(usage_error([] { resolve_user("bob", {"nosuch"}, kPasswd, kGroup); }),
              "unable to find group nosuch: no matching entries in group file");
}

TEST(Ch09Seccomp, TheDefaultProfileIsDockers) {
    nlohmann::json j = profile_json(default_seccomp_profile());
    EXPECT_EQ(j["defaultAction"], "SCMP_ACT_ERRNO");
    EXPECT_EQ(j["defaultErrnoRet"], 1);
    std::string text = j.dump();
    // Always refused: named by no rule.
    for (const char* never : {"\"keyctl\"", "\"add_key\"", "\"request_key\"", "\"kexec_load\"", "\"pivot_root\""}) {
        EXPECT_FALSE(contains(text, never)) << never;
    }
    bool clone3_enosys = false;
    for (const nlohmann::json& rule : j["syscalls"]) {
        if (rule["names"] == nlohmann::json{"clone3"}) {
            clone3_enosys = rule["action"] == "SCMP_ACT_ERRNO" && rule["errnoRet"] == 38;
        }
    }
    EXPECT_TRUE(clone3_enosys);
}

TEST(Ch09Seccomp, PrintedAndReadBackItIsTheSameProfileAndFilter) {
    const SeccompProfile& builtin = default_seccomp_profile();
    SeccompProfile back = parse_seccomp_profile(profile_json(builtin).dump(1, '\t'), "default.json");
    EXPECT_EQ(profile_json(back), profile_json(builtin));
    EXPECT_EQ(compile_seccomp_filter(back, docker_default_capabilities()),
              compile_seccomp_filter(builtin, docker_default_capabilities()));
}

TEST(Ch09Seccomp, TheFilterDependsOnTheCapabilities) {
    const SeccompProfile& p = default_seccomp_profile();
    std::string plain = compile_seccomp_filter(p, docker_default_capabilities());
    std::string admin = compile_seccomp_filter(p, docker_default_capabilities() | (1ULL << CAP_SYS_ADMIN));
    EXPECT_FALSE(plain.empty());
    EXPECT_EQ(plain.size() % 8, 0U);  // struct sock_filter: 8 bytes each
    EXPECT_NE(plain, admin);
}

TEST(Ch09Seccomp, BadProfilesAreOneLine) {
    EXPECT_TRUE(contains(usage_error([] { parse_seccomp_profile("{not json", "p.json"); }),
                         "seccomp profile \"p.json\": decoding seccomp profile failed"));
    EXPECT_EQ(
        usage_error([] {
            parse_seccomp_profile(
                R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["bogus"],"action":"SCMP_ACT_ERRNO"}]})",
                "p.json");
        }),
        "seccomp profile \"p.json\": unknown syscall \"bogus\"");
    EXPECT_EQ(
        usage_error([] {
            parse_seccomp_profile(
                R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_BOGUS"}]})",
                "p.json");
        }),
        "seccomp profile \"p.json\": unknown action \"SCMP_ACT_BOGUS\"");
    EXPECT_TRUE(contains(usage_error([] { parse_seccomp_profile(R"({"defaultAction":"NOPE"})", "p.json"); }),
                         "unknown action \"NOPE\""));
    for (const char* text : {"[]", "42", R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":"mkdir"}]})"}) {
        std::string what = usage_error([&] { parse_seccomp_profile(text, "p.json"); });
        EXPECT_TRUE(contains(what, "seccomp profile \"p.json\"")) << text << ": " << what;
        EXPECT_FALSE(contains(what, "\n")) << what;
    }
}

TEST(Ch09Seccomp, CompiledOnceThenReadFromTheCache) {
    unit::TempDir dir;
    const SeccompProfile& p = default_seccomp_profile();
    std::string first = seccomp_filter(p, docker_default_capabilities(), dir / "cache");
    EXPECT_EQ(first, compile_seccomp_filter(p, docker_default_capabilities()));
    ASSERT_EQ(std::distance(std::filesystem::directory_iterator(dir / "cache"), {}), 1);
    // A second start reads the file: change it, and the change comes back.
    std::string file = std::filesystem::directory_iterator(dir / "cache")->path();
    write_file_atomic(file, "cached");
    EXPECT_EQ(seccomp_filter(p, docker_default_capabilities(), dir / "cache"), "cached");
    // Other capabilities: another key, another file.
    seccomp_filter(p, docker_default_capabilities() | (1ULL << CAP_SYS_ADMIN), dir / "cache");
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir / "cache"), {}), 2);
}

TEST(Ch09Devices, DockersRulesAsCgroupV1WritesThem) {
    std::vector<std::string> lines;
    for (const DeviceRule& r : docker_default_devices()) {
        lines.push_back(v1_rule(r));
    }
    EXPECT_EQ(lines.front(), "c *:* m");
    EXPECT_TRUE(std::find(lines.begin(), lines.end(), "c 1:3 rwm") != lines.end());
    EXPECT_TRUE(std::find(lines.begin(), lines.end(), "c 136:* rwm") != lines.end());
    EXPECT_TRUE(std::find(lines.begin(), lines.end(), "c 1:11 rwm") == lines.end());  // /dev/kmsg: refused
}

TEST(Ch09Devices, TheProgramsJumpsStayInsideIt) {
    std::vector<sys::BpfInsn> p = device_program(docker_default_devices());
    ASSERT_GT(p.size(), 8U);
    EXPECT_EQ(p.back().code, 0x95);     // BPF_JMP | BPF_EXIT
    EXPECT_EQ(p[p.size() - 2].imm, 0);  // ... with r0 = 0: what no rule allows is refused
    for (size_t i = 0; i < p.size(); ++i) {
        if ((p[i].code & 0x07) == 0x05 && p[i].code != 0x95) {  // a conditional jump
            EXPECT_GT(p[i].off, 0) << i;
            EXPECT_LT(i + 1 + static_cast<size_t>(p[i].off), p.size()) << i;
        }
    }
}
