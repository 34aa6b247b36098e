// Unit tests for chapter 01: --ns parsing, the command line, the inspector.
#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "error.hpp"
#include "namespaces.hpp"
#include "ns_inspector.hpp"

namespace fs = std::filesystem;
using namespace minidocker;

TEST(Ch01Unit, NamespaceListToFlags) {
    EXPECT_EQ(parse_namespace_list("uts"), static_cast<unsigned long>(CLONE_NEWUTS));
    EXPECT_EQ(parse_namespace_list("uts,pid,mnt,ipc,net,cgroup"),
              static_cast<unsigned long>(CLONE_NEWUTS | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWNET |
                                         CLONE_NEWCGROUP));
    EXPECT_EQ(parse_namespace_list("net,mnt"), static_cast<unsigned long>(CLONE_NEWNET | CLONE_NEWNS));
}

TEST(Ch01Unit, BadNamespaceListsAreUsageErrors) {
    EXPECT_THROW(parse_namespace_list("foo"), UsageError);
    EXPECT_THROW(parse_namespace_list(""), UsageError);
    EXPECT_THROW(parse_namespace_list("uts,uts"), UsageError);
    EXPECT_THROW(parse_namespace_list("uts,"), UsageError);
    EXPECT_THROW(parse_namespace_list("user"), UsageError);  // not offered: see the book
    try {
        parse_namespace_list("pdi");
    } catch (const UsageError& e) {
        EXPECT_NE(std::string(e.what()).find("\"pdi\""), std::string::npos);
    }
}

// The `run` command line, parsed without running anything.
class Ch01Cli : public ::testing::Test {
protected:
    Container parse(std::vector<std::string> args) {
        Runtime rt{"01", "namespaces"};
        rt.add<Namespaces>();
        rt.app().get_subcommand("run")->callback([] {});
        std::vector<const char*> argv = {"ch01"};
        for (const std::string& a : args) {
            argv.push_back(a.c_str());
        }
        rt.parse(static_cast<int>(argv.size()), argv.data());
        return rt.spec();
    }
};

TEST_F(Ch01Cli, CommandAfterDoubleDash) {
    EXPECT_EQ(parse({"run", "--", "sh", "-c", "echo $$"}).command, (std::vector<std::string>{"sh", "-c", "echo $$"}));
}

TEST_F(Ch01Cli, OptionsStopAtTheCommandLikeDocker) {
    EXPECT_EQ(parse({"run", "--hostname", "box", "sh", "-c", "x"}).command,
              (std::vector<std::string>{"sh", "-c", "x"}));
    EXPECT_EQ(parse({"run", "ls", "--hostname"}).command, (std::vector<std::string>{"ls", "--hostname"}));
}

TEST_F(Ch01Cli, RemembersWhetherTheCommandFollowedDoubleDash) {
    EXPECT_TRUE(parse({"run", "--hostname", "box", "--", "sh", "-c", "x"}).command_after_dashes);
    EXPECT_FALSE(parse({"run", "--hostname", "box", "sh", "-c", "x"}).command_after_dashes);
    EXPECT_FALSE(parse({"run", "busybox", "--", "sh"}).command_after_dashes);
}

TEST_F(Ch01Cli, MissingCommandIsAnError) { EXPECT_THROW(parse({"run"}), CLI::ParseError); }

// A fake /proc: PID/ns/TYPE symbolic links whose text is what the kernel shows.
class FakeProc : public ::testing::Test {
protected:
    void SetUp() override {
        root_ = fs::temp_directory_path() / ("fakeproc-" + std::to_string(::getpid()));
        fs::remove_all(root_);
    }
    void TearDown() override { fs::remove_all(root_); }
    void link(int pid, const std::string& type, const std::string& target) {
        fs::create_directories(root_ / std::to_string(pid) / "ns");
        fs::create_symlink(target, root_ / std::to_string(pid) / "ns" / type);
    }
    fs::path root_;
};

TEST_F(FakeProc, SharedAndSeparate) {
    for (const std::string& t : namespace_types()) {
        link(1, t, t + ":[100]");
        link(42, t, t + (t == "net" || t == "uts" ? ":[200]" : ":[100]"));
    }
    NsReport r = inspect_namespaces(42, 1, root_);
    ASSERT_EQ(r.entries.size(), 10u);
    for (const NsEntry& e : r.entries) {
        bool separate = e.type == "net" || e.type == "uts";
        EXPECT_EQ(e.shared, !separate) << e.type;
        EXPECT_EQ(e.inode, separate ? 200u : 100u) << e.type;
    }
    std::string table = format_ns_table(r);
    EXPECT_NE(table.find("net                net:[200]                separate"), std::string::npos) << table;
    auto j = nlohmann::json::parse(format_ns_json(r));
    EXPECT_EQ(j["namespaces"].size(), 10u);
    EXPECT_EQ(j["namespaces"][3]["type"], "net");
    EXPECT_EQ(j["namespaces"][3]["shared"], false);
}

TEST_F(FakeProc, TypesTheKernelLacks) {
    link(1, "net", "net:[1]");
    link(7, "net", "net:[1]");
    NsReport r = inspect_namespaces(7, 1, root_);
    for (const NsEntry& e : r.entries) {
        EXPECT_EQ(e.link.empty(), e.type != "net") << e.type;
    }
    EXPECT_NE(format_ns_table(r).find("(not in this kernel)"), std::string::npos);
    EXPECT_TRUE(nlohmann::json::parse(format_ns_json(r))["namespaces"][0]["link"].is_null());
}

TEST_F(FakeProc, MissingProcessIsAUsageError) {
    link(1, "net", "net:[1]");
    EXPECT_THROW(inspect_namespaces(999, 1, root_), UsageError);
    EXPECT_THROW(inspect_namespaces(1, 999, root_), UsageError);
    EXPECT_THROW(inspect_namespaces(-3, 1, root_), UsageError);
}

TEST(Ch01Unit, ParseNsLink) {
    EXPECT_EQ(parse_ns_link("net:[4026531840]"), 4026531840u);
    EXPECT_EQ(parse_ns_link("pid_for_children:[1]"), 1u);
    EXPECT_THROW(parse_ns_link("net:4026531840"), std::invalid_argument);
    EXPECT_THROW(parse_ns_link(":[1]"), std::invalid_argument);
    EXPECT_THROW(parse_ns_link("net:[12a]"), std::invalid_argument);
    EXPECT_THROW(parse_ns_link("net:[]"), std::invalid_argument);
}
