// Issue 13's bad input table, proven from outside: every command line in
// tests/bad_input.tsv (the table the book prints in its Troubleshooting
// page) is refused the way ARCHITECTURE.md promises ("Bad input changes
// nothing", in its section "Invariants"). The program exits 125,
// prints nothing on stdout and exactly one line "PROGRAM: ..." on stderr
// that contains the row's phrase, and changes nothing: the state directory
// (which holds the image busybox, a stopped container named `stopped` and a
// volume named `vol1`, so the commands have real state to leave alone) is
// the same before and after, every path with its type, mode, size, mtime
// and, for files, a hash of the contents; no cgroup directory appears under
// the runtime's cgroup parent, and no process of the runtime is left.
// Nothing is ignored in the comparison: a runtime that makes a directory
// and removes it again changes its parent's mtime, and that counts.
// The suite ends by printing its counts. It is chapter 08's suite because
// the table uses every subcommand up to chapter 08's `--net`; it also runs
// against `minidocker`.
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "harness.hpp"

using namespace minidocker::test;
namespace fs = std::filesystem;

namespace {

// One row of tests/bad_input.tsv.
struct Row {
    int line = 0;      // in the file, for messages
    std::string text;  // the arguments as written
    std::vector<std::string> args;
    std::string command;
    std::string phrase;
    std::string why;
};

// The table sits in tests/, next to this file's folder (tests/integration).
std::string table_path() { return (fs::path(__FILE__).parent_path().parent_path() / "bad_input.tsv").string(); }

// The file's quoting rule: words are split at spaces; '...' is one word
// taken as written (possibly empty); no other quotes, no escapes.
std::vector<std::string> split_words(const std::string& text, bool& ok) {
    std::vector<std::string> words;
    std::string word;
    bool in_word = false;
    bool quoted = false;
    ok = true;
    for (char ch : text) {
        if (quoted) {
            if (ch == '\'') {
                quoted = false;
            } else {
                word += ch;
            }
        } else if (ch == '\'') {
            quoted = true;
            in_word = true;
        } else if (ch == ' ') {
            if (in_word) {
                words.push_back(word);
            }
            word.clear();
            in_word = false;
        } else {
            word += ch;
            in_word = true;
        }
    }
    ok = !quoted;
    if (in_word) {
        words.push_back(word);
    }
    return words;
}

std::vector<Row> read_table() {
    std::vector<Row> rows;
    std::ifstream in(table_path());
    EXPECT_TRUE(in.good()) << "cannot read " << table_path();
    int number = 0;
    for (std::string line; std::getline(in, line);) {
        ++number;
        if (line.empty() || line[0] == '#') {
            continue;
        }
        std::vector<std::string> cells;
        std::istringstream fields(line);
        for (std::string cell; std::getline(fields, cell, '\t');) {
            cells.push_back(cell);
        }
        bool ok = false;
        Row row;
        row.line = number;
        row.args = split_words(cells.empty() ? "" : cells[0], ok);
        EXPECT_TRUE(cells.size() == 4 && ok && !cells[2].empty())
            << table_path() << ":" << number << ": expected four tab-separated cells, closed quotes and a phrase";
        if (cells.size() != 4 || !ok) {
            continue;
        }
        row.text = cells[0];
        row.command = cells[1];
        row.phrase = cells[2];
        row.why = cells[3];
        rows.push_back(row);
    }
    return rows;
}

// A hex digest of a file's contents (FNV-1a, 64 bits: enough to see a change).
std::string content_hash(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    unsigned long long h = 1469598103934665603ULL;
    char buf[65536];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
        for (std::streamsize i = 0; i < in.gcount(); ++i) {
            h = (h ^ static_cast<unsigned char>(buf[i])) * 1099511628211ULL;
        }
    }
    char out[17];
    std::snprintf(out, sizeof out, "%016llx", h);
    return out;
}

// Every path under `root` (itself included): "TYPE MODE SIZE MTIME PATH
// [-> TARGET | HASH]", sorted. lstat, so links are listed, not followed.
std::string snapshot(const std::string& root) {
    std::vector<std::string> entries;
    std::function<void(const std::string&, const std::string&)> walk = [&](const std::string& path,
                                                                           const std::string& rel) {
        struct stat st {};
        if (::lstat(path.c_str(), &st) != 0) {
            entries.push_back("? " + rel);
            return;
        }
        char type = S_ISDIR(st.st_mode) ? 'd' : S_ISREG(st.st_mode) ? 'f' : S_ISLNK(st.st_mode) ? 'l' : 'o';
        std::ostringstream e;
        e << type << " " << std::oct << (st.st_mode & 07777) << std::dec << " " << st.st_size << " "
          << st.st_mtim.tv_sec << "." << st.st_mtim.tv_nsec << " " << rel;
        if (type == 'f') {
            e << " " << content_hash(path);
        } else if (type == 'l') {
            std::error_code ec;
            e << " -> " << fs::read_symlink(path, ec).string();
        }
        entries.push_back(e.str());
        if (type == 'd') {
            for (const std::string& name : names_in(path)) {
                walk(path + "/" + name, rel + "/" + name);
            }
        }
    };
    walk(root, ".");
    std::sort(entries.begin(), entries.end());
    std::string out;
    for (const std::string& e : entries) {
        out += e + "\n";
    }
    return out;
}

// The lines of `after` that are not in `before`, and the reverse: what a
// failure message shows.
std::string changes(const std::string& before, const std::string& after) {
    std::vector<std::string> b = lines(before), a = lines(after);
    std::set<std::string> bs(b.begin(), b.end()), as(a.begin(), a.end());
    std::string out;
    for (const std::string& l : b) {
        if (!as.count(l)) {
            out += "  - " + l + "\n";
        }
    }
    for (const std::string& l : a) {
        if (!bs.count(l)) {
            out += "  + " + l + "\n";
        }
    }
    return out;
}

// The runtime's cgroup directories: /sys/fs/cgroup/minidocker (v2) and
// /sys/fs/cgroup/*/minidocker (v1), recursively.
std::set<std::string> cgroup_dirs() {
    std::set<std::string> dirs;
    std::vector<std::string> tops = {"/sys/fs/cgroup/minidocker"};
    for (const std::string& hierarchy : names_in("/sys/fs/cgroup")) {
        tops.push_back("/sys/fs/cgroup/" + hierarchy + "/minidocker");
    }
    for (const std::string& top : tops) {
        std::error_code ec;
        if (!fs::is_directory(top, ec)) {
            continue;
        }
        dirs.insert(top);
        for (auto it = fs::recursive_directory_iterator(top, ec); !ec && it != fs::recursive_directory_iterator();
             it.increment(ec)) {
            if (it->is_directory(ec)) {
                dirs.insert(it->path().string());
            }
        }
    }
    return dirs;
}

// Processes that mention the store in their command line or environment:
// the runtime (or a container monitor) started for this store.
std::vector<std::string> processes_of(const std::string& store) {
    std::vector<std::string> found;
    for (const std::string& pid : names_in("/proc")) {
        if (pid.find_first_not_of("0123456789") != std::string::npos || pid == std::to_string(::getpid())) {
            continue;
        }
        std::string cmdline = read_file("/proc/" + pid + "/cmdline");
        std::string environ = read_file("/proc/" + pid + "/environ");
        if (contains(cmdline, store) || contains(environ, "MINIDOCKER_ROOT=" + store)) {
            std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
            found.push_back(pid + ": " + cmdline);
        }
    }
    return found;
}

// The state every row runs against: busybox, a stopped container named
// `stopped`, a volume named `vol1`.
void make_store() {
    Result r = run({binary(), "run", "--name", "stopped", "busybox", "true"});
    ASSERT_EQ(r.code, 0) << r.err;
    r = run({binary(), "volume", "create", "vol1"});
    ASSERT_EQ(r.code, 0) << r.err;
}

// The store, emptied (rm -f the container first, in case a row started it).
void reset_store(const std::string& store) {
    run({binary(), "rm", "-f", "stopped"});
    for (const std::string& name : names_in(store)) {
        std::error_code ec;
        fs::remove_all(store + "/" + name, ec);
    }
}

// Removes the store even when the test fails midway.
struct StoreGuard {
    std::string path;
    ~StoreGuard() {
        reset_store(path);
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

}  // namespace

// Every row of tests/bad_input.tsv: exit 125, no stdout, one error line
// "PROGRAM: ..." with the row's phrase, and nothing changed on disk, in the
// cgroup tree or in the process table.
TEST(Ch08BadInput, EveryRowIsRefusedCleanlyAndChangesNothing) {
    MINIDOCKER_REQUIRE_ROOT();
    std::vector<Row> rows = read_table();
    ASSERT_GE(rows.size(), 40u) << "the table " << table_path() << " should hold at least 40 command lines";

    TempDir dir;
    const std::string store = dir.path() + "/store";
    ASSERT_TRUE(fs::create_directory(store));
    StoreGuard guard{store};
    ScopedEnv root("MINIDOCKER_ROOT", store);
    ASSERT_NO_FATAL_FAILURE(make_store());

    const std::string program_name = program();
    const std::set<std::string> cgroups_before = cgroup_dirs();
    int refused = 0;
    int changed_disk = 0;
    double started = now();
    for (const Row& row : rows) {
        SCOPED_TRACE("tests/bad_input.tsv:" + std::to_string(row.line) + ": " + program_name + " " + row.text + "  (" +
                     row.why + ")");
        std::string before = snapshot(store);
        // Absolute paths the row names that do not exist (save -o FILE)
        // must not exist afterwards either.
        std::vector<std::string> absent;
        for (const std::string& arg : row.args) {
            std::error_code ec;
            if (arg.rfind('/', 0) == 0 && !fs::exists(fs::symlink_status(arg, ec))) {
                absent.push_back(arg);
            }
        }
        std::vector<std::string> argv = {binary()};
        argv.insert(argv.end(), row.args.begin(), row.args.end());
        Result r = run(argv, "", 30);
        std::string after = snapshot(store);

        bool clean = r.code == 125 && r.out.empty() && lines(r.err).size() == 1 && r.err.back() == '\n' &&
                     r.err.rfind(program_name + ": ", 0) == 0 && contains(r.err, row.phrase);
        EXPECT_EQ(r.code, 125) << "stderr: " << r.err;
        EXPECT_EQ(r.out, "");
        EXPECT_EQ(lines(r.err).size(), 1u) << r.err;
        EXPECT_EQ(r.err.rfind(program_name + ": ", 0), 0u) << r.err;
        EXPECT_TRUE(contains(r.err, row.phrase)) << "should contain \"" << row.phrase << "\": " << r.err;

        bool same = before == after;
        for (const std::string& path : absent) {
            std::error_code ec;
            if (fs::exists(fs::symlink_status(path, ec))) {
                ADD_FAILURE() << "made " << path;
                fs::remove_all(path, ec);
                same = false;
            }
        }
        EXPECT_TRUE(same) << "the store changed:\n" << changes(before, after);
        std::set<std::string> cgroups_after = cgroup_dirs();
        std::vector<std::string> new_cgroups;
        std::set_difference(cgroups_after.begin(), cgroups_after.end(), cgroups_before.begin(), cgroups_before.end(),
                            std::back_inserter(new_cgroups));
        EXPECT_TRUE(new_cgroups.empty()) << "new cgroup directory: " << new_cgroups.front();
        std::vector<std::string> left = processes_of(store);
        EXPECT_TRUE(left.empty()) << "left running: " << left.front();

        refused += clean ? 1 : 0;
        if (!same) {
            ++changed_disk;
            // The next rows need the store as it was: make it again.
            reset_store(store);
            ASSERT_NO_FATAL_FAILURE(make_store());
        }
    }
    // Issue 13 wants the counts at the end of the suite.
    std::printf("bad input: %zu command lines tried, %d refused cleanly, %d changed the disk (%.1f s)\n", rows.size(),
                refused, changed_disk, now() - started);
    record_count("bad command lines tried", static_cast<long>(rows.size()));
    record_count("bad command lines that changed the disk", changed_disk);
    EXPECT_EQ(refused, static_cast<int>(rows.size()));
    EXPECT_EQ(changed_disk, 0);
}
