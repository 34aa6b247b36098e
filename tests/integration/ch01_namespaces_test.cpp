// Chapter 01's claims, proven from outside: a container is a process in new
// namespaces, and a namespace is a file you can look at.
// These tests also run against every later chapter's binary.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <map>
#include <set>

#include "harness.hpp"

using namespace minidocker::test;

namespace {

const std::vector<std::string> kCreatable = {"uts", "pid", "mnt", "ipc", "net", "cgroup"};

std::string host_hostname() {
    char name[256] = {};
    ::gethostname(name, sizeof name - 1);
    return name;
}

}  // namespace

TEST(Ch01, HostnameIsPrivate) {
    MINIDOCKER_REQUIRE_ROOT();
    std::string before = host_hostname();
    Result r = runtime({"run", "--hostname", "box", "--", "hostname"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "box\n");
    EXPECT_EQ(host_hostname(), before);
    // Docker's short form works too; and up to chapter 03 `run CMD` without
    // "--" (from chapter 04 on, the first word is an image: `run IMAGE CMD`).
    std::vector<std::string> args = {"run", "-h", "box2"};
    if (chapter_of_binary() >= "04") {
        args.push_back("--");
    }
    args.insert(args.end(), {probe_path(), "hostname"});
    r = runtime(args);
    EXPECT_EQ(r.out, "box2\n") << r.err;
}

TEST(Ch01, CommandIsPid1) {
    MINIDOCKER_REQUIRE_ROOT();
    Result r = runtime({"run", "--", "sh", "-c", "echo $$"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "1\n");
}

TEST(Ch01, SeesOnlyItsOwnProcesses) {
    MINIDOCKER_REQUIRE_ROOT();
    // The probe is PID 1 and alone: /proc lists nothing else.
    Result r = runtime({"run", "--", probe_path(), "pids"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "1\n");
}

TEST(Ch01, RequestedNamespacesDiffer) {
    MINIDOCKER_REQUIRE_ROOT();
    for (std::string list : {std::string("uts,pid,mnt,ipc,net,cgroup"), std::string("uts,pid"), std::string("net"),
                             std::string("mnt,ipc,cgroup")}) {
        SCOPED_TRACE("--ns " + list);
        Background c = start({"run", "--ns", list, "--", probe_path(), "sleep", "30"});
        pid_t pid = c.container_pid("probe");
        ASSERT_GT(pid, 0);
        std::string p = std::to_string(pid);
        for (const std::string& type : kCreatable) {
            bool requested = ("," + list + ",").find("," + type + ",") != std::string::npos;
            std::string mine = ns_link(p, type), host = ns_link("self", type);
            ASSERT_FALSE(mine.empty()) << type;
            if (requested) {
                EXPECT_NE(mine, host) << type << " was requested and must be new";
            } else {
                EXPECT_EQ(mine, host) << type << " was not requested and must be the host's";
            }
        }
        // A user namespace is never created by this runtime.
        EXPECT_EQ(ns_link(p, "user"), ns_link("self", "user"));
        ASSERT_TRUE(wait_for_handler(pid, SIGTERM));
        c.signal(SIGTERM);  // forwarded; the probe has a handler: exit 143
        EXPECT_EQ(c.wait().code, 143);
    }
}

TEST(Ch01, InspectorAgreesWithReadlinkAndLsns) {
    MINIDOCKER_REQUIRE_ROOT();
    Background c = start({"run", "--", probe_path(), "sleep", "30"});
    pid_t pid = c.container_pid("probe");
    ASSERT_GT(pid, 0);
    std::string p = std::to_string(pid);
    Result r = runtime({"ns", p, "--vs", std::to_string(::getpid()), "--json"});
    ASSERT_EQ(r.code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["pid"], pid);
    std::map<std::string, unsigned long> inspector;
    for (const auto& n : j["namespaces"]) {
        std::string type = n["type"];
        std::string link = ns_link(p, type);
        if (link.empty()) {
            EXPECT_TRUE(n["link"].is_null()) << type;
            continue;
        }
        EXPECT_EQ(n["link"], link) << type;
        EXPECT_EQ(n["shared"], link == ns_link("self", type)) << type;
        inspector[type] = n["inode"];
    }
    // lsns, from util-linux, reads the same files another way.
    Result l = run({"lsns", "--json", "--output", "NS,TYPE", "--task", p});
    ASSERT_EQ(l.code, 0) << l.err;
    auto lj = nlohmann::json::parse(l.out);
    int compared = 0;
    for (const auto& row : lj["namespaces"]) {
        std::string type = row["type"];
        unsigned long ns =
            row["ns"].is_string() ? std::stoul(row["ns"].get<std::string>()) : row["ns"].get<unsigned long>();
        ASSERT_TRUE(inspector.count(type)) << type;
        EXPECT_EQ(inspector[type], ns) << type;
        ++compared;
    }
    EXPECT_GE(compared, 7);
}

TEST(Ch01, InspectorListsTenTypes) {
    MINIDOCKER_REQUIRE_ROOT();
    Result r = runtime({"ns", std::to_string(::getpid())});
    ASSERT_EQ(r.code, 0) << r.err;
    std::vector<std::string> rows = lines(r.out);
    ASSERT_EQ(rows.size(), 11u) << r.out;  // a header and ten types
    std::set<std::string> types;
    for (size_t i = 1; i < rows.size(); ++i) {
        types.insert(rows[i].substr(0, rows[i].find(' ')));
    }
    EXPECT_EQ(types, (std::set<std::string>{"cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time",
                                            "time_for_children", "user", "uts"}));
    // Compared with itself, everything is shared.
    r = runtime({"ns", std::to_string(::getpid()), "--vs", std::to_string(::getpid())});
    EXPECT_EQ(r.out.find("separate"), std::string::npos) << r.out;
}

TEST(Ch01, NoMountLeaksEvenWhenRootIsShared) {
    MINIDOCKER_REQUIRE_ROOT();
    // On systemd hosts "/" is shared; here it is private. Make it shared in a
    // throw-away mount namespace (so the real host is never touched), run a
    // container from there, and compare that namespace's mount table.
    MountTables t = mount_tables_around(binary() + " --root " + state_root() + " run -- true");
    ASSERT_EQ(t.result.code, 0) << t.result.err;
    ASSERT_NE(t.before.find("shared:"), std::string::npos) << "the test failed to make / shared";
    EXPECT_EQ(t.before, t.after);
}

TEST(Ch01, HostProcUnchanged) {
    MINIDOCKER_REQUIRE_ROOT();
    std::string mounts = read_file("/proc/self/mountinfo");
    Result r = runtime({"run", "--", "sh", "-c", "ls /proc > /dev/null"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(read_file("/proc/self/mountinfo"), mounts);
    // The host's /proc still lists the host's processes, ourselves included.
    EXPECT_EQ(::access(("/proc/" + std::to_string(::getpid())).c_str(), F_OK), 0);
}

TEST(Ch01, LoopbackIsUp) {
    MINIDOCKER_REQUIRE_ROOT();
    Result r = runtime({"run", "--", probe_path(), "lo"});
    EXPECT_EQ(r.out, "up\n") << r.err;
    r = runtime({"run", "--", "ip", "-o", "link"});
    ASSERT_EQ(r.code, 0) << r.err;
    ASSERT_EQ(lines(r.out).size(), 1u) << "a new network namespace has only lo:\n" << r.out;
    EXPECT_NE(r.out.find(": lo:"), std::string::npos) << r.out;
}

TEST(Ch01, ExitCodes) {
    MINIDOCKER_REQUIRE_ROOT();
    EXPECT_EQ(runtime({"run", "--", "true"}).code, 0);
    EXPECT_EQ(runtime({"run", "--", "sh", "-c", "exit 3"}).code, 3);
    EXPECT_EQ(runtime({"run", "--", "no-such-command-xyz"}).code, 127);
    EXPECT_EQ(runtime({"run", "--", "/etc/passwd"}).code, 126);  // exists, not executable
    // Killed by a signal: 128 + N, as Docker reports it.
    Background c = start({"run", "--", probe_path(), "sleep", "30"});
    pid_t pid = c.container_pid("probe");
    ASSERT_GT(pid, 0);
    ::kill(pid, SIGKILL);
    EXPECT_EQ(c.wait().code, 137);
}

TEST(Ch01, SignalsReachTheContainer) {
    MINIDOCKER_REQUIRE_ROOT();
    // A command with a handler gets the signal sent to the runtime.
    Background c = start({"run", "--", "sh", "-c", "trap 'exit 42' TERM; while :; do sleep 0.05; done"});
    pid_t sh = c.container_pid("sh");
    ASSERT_GT(sh, 0);
    ASSERT_TRUE(wait_for_handler(sh, SIGTERM));
    c.signal(SIGTERM);
    EXPECT_EQ(c.wait().code, 42);
    // PID 1 without a handler ignores SIGINT; the third interrupt kills it.
    Background s = start({"run", "--", "sleep", "30"});
    ASSERT_GT(s.container_pid("sleep"), 0);
    for (int i = 0; i < 3; ++i) {
        s.signal(SIGINT);
        ::usleep(100000);
    }
    EXPECT_EQ(s.wait(10).code, 137);
}

TEST(Ch01, BadInputIsOneLine) {
    MINIDOCKER_REQUIRE_ROOT();
    struct Case {
        std::vector<std::string> args;
        int code;
        std::string says;
    } cases[] = {
        {{"run", "--ns", "foo", "--", "true"}, 125, "unknown namespace \"foo\""},
        {{"run", "--ns", "", "--", "true"}, 125, "--ns"},
        {{"run"}, 125, "command is required"},
        {{"run", "--hostname", "x", "--ns", "pid", "--", "true"}, 125, "uts"},
        {{"ns", "999999999"}, 125, "no process with PID 999999999"},
        {{"ns", "abc"}, 125, "pid"},
        {{"run", "--", "no-such-command-xyz"}, 127, "no-such-command-xyz"},
        {{"frobnicate"}, 125, "frobnicate"},
    };
    for (const Case& c : cases) {
        Result r = runtime(c.args);
        SCOPED_TRACE(c.args[0] + (c.args.size() > 1 ? " " + c.args[1] : ""));
        EXPECT_EQ(r.code, c.code) << r.err;
        EXPECT_EQ(lines(r.err).size(), 1u) << r.err;
        EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
        EXPECT_EQ(r.err.rfind(program() + ":", 0), 0u) << "errors start with the program's name: " << r.err;
    }
}

TEST(Ch01, TraceShowsTheSteps) {
    MINIDOCKER_REQUIRE_ROOT();
    Result r = runtime({"--trace", "run", "--hostname", "box", "--", "true"});
    ASSERT_EQ(r.code, 0) << r.err;
    // In this order: clone with the flags by name, the child's set-up, execvp.
    // ("] clone" matches chapter 02's clone3() too.)
    const char* steps[] = {"] clone",
                           "CLONE_NEWPID",
                           "] mount(NULL, \"/\", NULL, MS_REC|MS_PRIVATE, NULL) = 0",
                           "] mount(\"proc\", \"/proc\", \"proc\",",
                           "[01 namespaces] sethostname(\"box\") = 0",
                           "] execvp(\"true\""};
    size_t at = 0;
    for (const char* step : steps) {
        size_t found = r.err.find(step, at);
        EXPECT_NE(found, std::string::npos) << "missing (or out of order): " << step << "\n" << r.err;
        at = found == std::string::npos ? at : found;
    }
    // Without --trace, a run prints nothing of its own.
    EXPECT_EQ(runtime({"run", "--", "true"}).err, "");
}

TEST(Ch01, OnlyStandardFds) {
    MINIDOCKER_REQUIRE_ROOT();
    Result r = runtime({"run", "--", probe_path(), "fds"});
    EXPECT_EQ(r.out, "0 1 2\n") << r.err;
}
