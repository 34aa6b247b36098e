// `chNN doctor`, from outside, on this machine's real state: it passes here,
// fails (exit 1, with a fix) on a state root on overlayfs, a dynamic busybox
// and a user that is not root, and changes nothing.
// These tests also run against every later chapter's binary.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "harness.hpp"
#include "mountinfo.hpp"

namespace fs = std::filesystem;
using namespace minidocker::test;

namespace {

const std::vector<std::string> kChecks = {"root",       "namespaces", "cgroups",    "propagation",
                                          "pivot_root", "overlay",    "state root", "busybox"};

// One row of the table: "  FAIL  state root   /x is on overlay, ..." and
// the "fix: ..." line under it, if any.
struct Row {
    std::string verdict;  // "ok", "warn", "FAIL"
    std::string check;
    std::string found;
    std::string fix;
};

// Parses the table (columns: 2 spaces, verdict in 5, space, check in 12,
// space, text); the summary line after it is left out.
std::vector<Row> rows_of(const std::string& out) {
    std::vector<Row> rows;
    for (const std::string& line : lines(out)) {
        if (line.size() < 22 || line.compare(0, 2, "  ") != 0) {
            continue;
        }
        std::string verdict = trim(line.substr(2, 5));
        std::string check = trim(line.substr(8, 12));
        std::string text = line.substr(21);
        if (verdict.empty() && check.empty() && text.rfind("fix: ", 0) == 0 && !rows.empty()) {
            rows.back().fix = text.substr(5);
        } else {
            rows.push_back({verdict, check, text, ""});
        }
    }
    return rows;
}

Row row_of(const Result& r, const std::string& check) {
    for (const Row& row : rows_of(r.out)) {
        if (row.check == check) {
            return row;
        }
    }
    ADD_FAILURE() << "no \"" << check << "\" row in:\n" << r.out << r.err;
    return {};
}

// The rows that failed, by name.
std::vector<std::string> failed(const Result& r) {
    std::vector<std::string> names;
    for (const Row& row : rows_of(r.out)) {
        if (row.verdict == "FAIL") {
            names.push_back(row.check);
        }
    }
    return names;
}

// The lines of /proc/self/mountinfo. The parser is the doctor's own
// (common/mountinfo.hpp), checked on hand-written lines by its unit tests;
// what is compared here is the doctor's verdict against the table.
using Mount = minidocker::MountEntry;
std::vector<Mount> my_mounts() { return minidocker::parse_mountinfo(read_file("/proc/self/mountinfo")); }

// The last mount on exactly `point` (it hides the ones below), or none.
const Mount* mounted_on(const std::vector<Mount>& mounts, const std::string& point) {
    const Mount* last = nullptr;
    for (const Mount& m : mounts) {
        if (m.point == point) {
            last = &m;
        }
    }
    return last;
}

// What the cgroups row must begin with on this machine: the layout, from
// the mount table.
std::string expected_cgroup_layout() {
    std::vector<Mount> mounts = my_mounts();
    const Mount* top = mounted_on(mounts, "/sys/fs/cgroup");
    if (top != nullptr && top->fstype == "cgroup2") {
        return "cgroup v2 (unified)";
    }
    bool v1 = false;
    for (const Mount& m : mounts) {
        v1 = v1 || m.fstype == "cgroup";
    }
    const Mount* unified = mounted_on(mounts, "/sys/fs/cgroup/unified");
    if (v1 && unified != nullptr && unified->fstype == "cgroup2") {
        return "hybrid:";
    }
    return v1 ? "cgroup v1 (legacy)" : "no cgroup filesystem";
}

// The filesystem type of the mount `path` is on, as findmnt(8) sees it.
std::string findmnt_fstype(const std::string& path) {
    Result r = run({"findmnt", "--noheadings", "--output", "FSTYPE", "--target", path});
    EXPECT_EQ(r.code, 0) << r.err;
    return trim(r.out);
}

// Is anything mounted at or below `dir` in this (the host's) mount table?
bool anything_mounted_below(const std::string& dir) {
    for (const Mount& m : my_mounts()) {
        if (m.point == dir || m.point.rfind(dir + "/", 0) == 0) {
            return true;
        }
    }
    return false;
}

// The runtime's cgroup directories: <hierarchy>/minidocker and all below,
// on every v1 hierarchy and on the v2 tree.
std::vector<std::string> minidocker_cgroups() {
    std::vector<std::string> dirs;
    std::error_code ec;
    std::vector<fs::path> tops = {"/sys/fs/cgroup/minidocker"};
    for (const fs::directory_entry& e : fs::directory_iterator("/sys/fs/cgroup", ec)) {
        tops.push_back(e.path() / "minidocker");
    }
    for (const fs::path& top : tops) {
        if (!fs::is_directory(top, ec)) {
            continue;
        }
        dirs.push_back(top.string());
        for (auto it = fs::recursive_directory_iterator(top, ec); !ec && it != fs::recursive_directory_iterator();
             it.increment(ec)) {
            if (it->is_directory(ec)) {
                dirs.push_back(it->path().string());
            }
        }
    }
    return dirs;
}

// A uid with no rights: nobody.
const std::vector<std::string> kAsNobody = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};

}  // namespace

TEST(Ch01Doctor, PassesOnThisMachine) {
    MINIDOCKER_REQUIRE_ROOT();
    Result r = runtime({"doctor"});
    EXPECT_EQ(r.code, 0) << r.out << r.err;
    EXPECT_EQ(r.err, "");
    std::vector<Row> rows = rows_of(r.out);
    ASSERT_EQ(rows.size(), kChecks.size()) << r.out;
    for (size_t i = 0; i < rows.size(); ++i) {
        EXPECT_EQ(rows[i].check, kChecks[i]) << r.out;
        EXPECT_EQ(rows[i].verdict, "ok") << r.out;
        EXPECT_EQ(rows[i].fix, "") << r.out;
    }
    std::vector<std::string> all = lines(r.out);
    ASSERT_FALSE(all.empty());
    EXPECT_EQ(all.back(), "all 8 checks passed");
    EXPECT_EQ(all.size(), kChecks.size() + 1) << r.out;

    // Each row agrees with what the test finds itself.
    std::string layout = expected_cgroup_layout();
    EXPECT_EQ(rows[2].found.rfind(layout, 0), 0u) << "expected the cgroups row to start with \"" << layout << "\":\n"
                                                  << r.out;
    const Mount* root = mounted_on(my_mounts(), "/");
    ASSERT_NE(root, nullptr);
    bool shared = contains(root->optional, "shared:");
    EXPECT_TRUE(contains(rows[3].found, shared ? "/ is shared" : "/ is not shared")) << r.out;
    EXPECT_TRUE(contains(rows[4].found, "/ is " + root->fstype + ",")) << r.out;
    EXPECT_TRUE(contains(rows[6].found, state_root() + " is on " + findmnt_fstype(state_root()) + ",")) << r.out;
    EXPECT_TRUE(contains(rows[7].found, "/bin/busybox is statically linked")) << r.out;
}

TEST(Ch01Doctor, StateRootOnOverlayFails) {
    MINIDOCKER_REQUIRE_ROOT();
    TempDir tmp;
    const std::string t = tmp.path();
    for (const char* d : {"lower", "upper", "work", "merged", "elsewhere"}) {
        ASSERT_EQ(::mkdir((t + "/" + d).c_str(), 0755), 0) << d;
    }
    ASSERT_EQ(::symlink((t + "/merged").c_str(), (t + "/link").c_str()), 0);
    // The overlay is mounted in a mount namespace of its own (unshare(1),
    // private propagation), where the doctor then runs: it is real, and it
    // vanishes with that namespace even if this test dies midway.
    const std::string mount = "mount -t overlay overlay -o lowerdir=" + t + "/lower,upperdir=" + t +
                              "/upper,workdir=" + t + "/work " + t + "/merged && mkdir -p " + t + "/merged/state";
    auto doctor_in_overlay_ns = [&](const std::vector<std::string>& args) {
        std::string script = mount + " && exec \"$0\"";
        for (const std::string& a : args) {
            script += " '" + a + "'";
        }
        return run({"unshare", "--mount", "--propagation", "private", "sh", "-c", script, binary()});
    };

    // MINIDOCKER_ROOT, then --root: on the mount, the mount point itself, a
    // part not made yet, through a symlink, with a trailing slash.
    std::vector<std::pair<std::string, Result>> runs;
    {
        ScopedEnv env("MINIDOCKER_ROOT", t + "/merged/state");
        runs.emplace_back("MINIDOCKER_ROOT=" + t + "/merged/state", doctor_in_overlay_ns({"doctor"}));
    }
    for (const std::string& root :
         {t + "/merged/state", t + "/merged", t + "/merged/not/made/yet", t + "/link/state", t + "/merged/"}) {
        runs.emplace_back("--root " + root, doctor_in_overlay_ns({"--root", root, "doctor"}));
    }
    for (const auto& [how, r] : runs) {
        SCOPED_TRACE(how);
        EXPECT_EQ(r.code, 1) << r.out << r.err;
        EXPECT_EQ(failed(r), std::vector<std::string>{"state root"}) << r.out << r.err;
        Row row = row_of(r, "state root");
        EXPECT_EQ(row.verdict, "FAIL") << r.out;
        EXPECT_TRUE(contains(row.found, "is on overlay")) << r.out;
        EXPECT_TRUE(contains(row.fix, "MINIDOCKER_ROOT")) << r.out;
        EXPECT_TRUE(contains(r.out, "1 of 8 checks failed")) << r.out;
    }
    // The same namespace, a state root beside the overlay: fine.
    Result beside = doctor_in_overlay_ns({"--root", t + "/elsewhere", "doctor"});
    EXPECT_EQ(row_of(beside, "state root").verdict, "ok") << beside.out << beside.err;
    EXPECT_EQ(beside.code, 0) << beside.out << beside.err;
    // Nothing of it reached this mount namespace, nor was made beside it.
    EXPECT_FALSE(anything_mounted_below(t));
    EXPECT_FALSE(fs::exists(t + "/elsewhere/containers"));
}

TEST(Ch01Doctor, DynamicBusyboxFails) {
    MINIDOCKER_REQUIRE_ROOT();
    for (const std::string& busybox : {std::string("/bin/true"), state_root() + "/no-such-busybox"}) {
        SCOPED_TRACE(busybox);
        ScopedEnv env("MINIDOCKER_BUSYBOX", busybox);
        Result r = runtime({"doctor"});
        EXPECT_EQ(r.code, 1) << r.out << r.err;
        EXPECT_EQ(failed(r), std::vector<std::string>{"busybox"}) << r.out;
        Row row = row_of(r, "busybox");
        EXPECT_EQ(row.verdict, "FAIL");
        EXPECT_EQ(row.found.rfind(busybox + " is ", 0), 0u) << r.out;
        EXPECT_TRUE(contains(row.fix, "apt-get install busybox-static")) << r.out;
        EXPECT_TRUE(contains(r.out, "\n                     fix: apt-get install busybox-static")) << r.out;
    }
}

TEST(Ch01Doctor, NotRootFailsAndSaysSudo) {
    MINIDOCKER_REQUIRE_ROOT();
    // nobody must be able to run the binary: if build/ is closed to it, a
    // copy in a directory it may enter does.
    TempDir copy;
    std::string bin = binary();
    std::vector<std::string> can_run = kAsNobody;
    can_run.insert(can_run.end(), {"test", "-x", bin});
    if (run(can_run).code != 0) {
        ASSERT_EQ(::chmod(copy.path().c_str(), 0755), 0);
        bin = copy.path() + "/" + program();
        fs::copy_file(binary(), bin);
        ASSERT_EQ(::chmod(bin.c_str(), 0755), 0);
    }
    std::vector<std::string> argv = kAsNobody;
    argv.insert(argv.end(), {bin, "doctor"});
    Result r = run(argv);
    EXPECT_EQ(r.code, 1) << r.out << r.err;
    EXPECT_EQ(r.err, "");
    // Only the root check fails: the others work without privileges.
    EXPECT_EQ(failed(r), std::vector<std::string>{"root"}) << r.out;
    EXPECT_EQ(rows_of(r.out).size(), kChecks.size()) << r.out;
    Row row = row_of(r, "root");
    EXPECT_TRUE(contains(row.found, "uid 65534")) << r.out;
    EXPECT_TRUE(contains(row.fix, "sudo -s")) << r.out;
    EXPECT_TRUE(contains(r.out, "1 of 8 checks failed")) << r.out;
}

TEST(Ch01Doctor, ChangesNothing) {
    MINIDOCKER_REQUIRE_ROOT();
    const std::string not_made = state_root() + "/not/made/yet";
    std::set<std::string> state_before = names_in(state_root());
    // Other tests (on this machine, at the same time) may mount or make
    // cgroups while the doctor runs: a doctor that changed something would
    // do so on every try, so one quiet try of three is enough.
    std::string why;
    for (int attempt = 0; attempt < 3; ++attempt) {
        std::string mounts_before = read_file("/proc/self/mountinfo");
        std::vector<std::string> cgroups_before = minidocker_cgroups();
        Result ok = runtime({"doctor"});
        Result fail;
        {
            ScopedEnv env("MINIDOCKER_BUSYBOX", "/bin/true");
            fail = run({binary(), "--root", not_made, "doctor"});
        }
        EXPECT_EQ(ok.code, 0) << ok.out << ok.err;
        EXPECT_EQ(fail.code, 1) << fail.out << fail.err;
        std::string mounts_after = read_file("/proc/self/mountinfo");
        std::vector<std::string> cgroups_after = minidocker_cgroups();
        if (mounts_after == mounts_before && cgroups_after == cgroups_before) {
            why.clear();
            break;
        }
        why = "mountinfo before:\n" + mounts_before + "after:\n" + mounts_after +
              "cgroup dirs before: " + std::to_string(cgroups_before.size()) +
              ", after: " + std::to_string(cgroups_after.size());
    }
    EXPECT_EQ(why, "");
    // Nor did it make a store.
    EXPECT_FALSE(fs::exists(state_root() + "/not"));
    EXPECT_EQ(names_in(state_root()), state_before);
}
