// Unit tests for common/state.hpp: atomic files, JSON, mkdir -p, rm -rf and
// the store's lock, in a temp dir (no root needed).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "fd.hpp"
#include "state.hpp"
#include "unit.hpp"

namespace fs = std::filesystem;
using namespace minidocker;

namespace {

using unit::TempDir;

// A known umask for one scope, so that modes can be checked exactly.
class UmaskGuard {
public:
    explicit UmaskGuard(mode_t mask) : old_(::umask(mask)) {}
    ~UmaskGuard() { ::umask(old_); }
    UmaskGuard(const UmaskGuard&) = delete;
    UmaskGuard& operator=(const UmaskGuard&) = delete;

private:
    mode_t old_;
};

using unit::read_file;

std::vector<std::string> names_in(const std::string& dir) {
    std::vector<std::string> names;
    for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
        names.push_back(e.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
}

mode_t mode_of(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST(State, WriteFileAtomicReplacesTheContent) {
    TempDir tmp;
    UmaskGuard umask(022);
    const std::string path = tmp / "state.json";
    write_file_atomic(path, "first\n");
    EXPECT_EQ(read_file(path), "first\n");
    EXPECT_EQ(mode_of(path), 0644u);
    write_file_atomic(path, "second, longer\n");
    EXPECT_EQ(read_file(path), "second, longer\n");
    write_file_atomic(path, "", 0644, Durable::no);
    EXPECT_EQ(read_file(path), "");
    std::string big(1 << 20, 'x');
    write_file_atomic(path, big, 0644, Durable::no);
    EXPECT_EQ(read_file(path), big);
    // Nothing but the file itself is left in the directory.
    EXPECT_EQ(names_in(tmp.path()), std::vector<std::string>{"state.json"});
}

TEST(State, WriteFileAtomicHonoursTheMode) {
    TempDir tmp;
    UmaskGuard umask(022);
    write_file_atomic(tmp / "secret", "s", 0600);
    EXPECT_EQ(mode_of(tmp / "secret"), 0600u);
    write_file_atomic(tmp / "script", "#!/bin/sh\n", 0755);
    EXPECT_EQ(mode_of(tmp / "script"), 0755u);
    // Replacing a file replaces its mode too: it is a new file.
    write_file_atomic(tmp / "script", "#!/bin/sh\n", 0640);
    EXPECT_EQ(mode_of(tmp / "script"), 0640u);
    for (const std::string& name : names_in(tmp.path())) {
        EXPECT_FALSE(contains(name, ".tmp")) << name;
    }
}

TEST(State, WriteFileAtomicFailureLeavesNoTempFile) {
    TempDir tmp;
    // rename() of a file onto a non-empty directory fails.
    fs::create_directories(tmp / "busy/inside");
    try {
        write_file_atomic(tmp / "busy", "x");
        ADD_FAILURE() << "renaming onto a directory must fail";
    } catch (const std::system_error& e) {
        EXPECT_TRUE(contains(e.what(), tmp / "busy")) << e.what();
    }
    EXPECT_EQ(names_in(tmp.path()), std::vector<std::string>{"busy"});
    EXPECT_TRUE(fs::is_directory(tmp / "busy/inside"));
    // A directory that does not exist: nothing is made.
    EXPECT_THROW(write_file_atomic(tmp / "missing/file", "x"), std::system_error);
    EXPECT_FALSE(fs::exists(tmp / "missing"));
}

TEST(State, JsonRoundTrip) {
    TempDir tmp;
    nlohmann::json value = {{"Status", "running"},
                            {"Pid", 4242},
                            {"Layers", {"a", "b"}},
                            {"Nested", {{"x", true}, {"y", nullptr}}},
                            {"Text", "quote \" and newline \n and ü"}};
    write_json_atomic(tmp / "state.json", value);
    EXPECT_EQ(read_json(tmp / "state.json"), value);
    write_json_atomic(tmp / "state.json", nlohmann::json::array(), Durable::no);
    EXPECT_EQ(read_json(tmp / "state.json"), nlohmann::json::array());
    EXPECT_EQ(names_in(tmp.path()), std::vector<std::string>{"state.json"});
}

TEST(State, ReadJsonOnInvalidJsonNamesThePath) {
    TempDir tmp;
    for (const char* text : {"{\"half\": ", "", "not json", "{\"a\": 1} trailing"}) {
        std::ofstream(tmp / "bad.json", std::ios::trunc) << text;
        try {
            read_json(tmp / "bad.json");
            ADD_FAILURE() << "\"" << text << "\" is not valid JSON";
        } catch (const std::system_error& e) {
            ADD_FAILURE() << "a parse error is not a system error: " << e.what();
        } catch (const std::runtime_error& e) {
            EXPECT_TRUE(contains(e.what(), tmp / "bad.json")) << e.what();
        }
    }
}

TEST(State, ReadTextFile) {
    TempDir tmp;
    std::string content = std::string(20000, 'a') + "\nend";  // more than one read()
    std::ofstream(tmp / "file", std::ios::binary) << content;
    EXPECT_EQ(read_text_file(tmp / "file"), content);
    try {
        read_text_file(tmp / "missing");
        ADD_FAILURE() << "a missing file must throw";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code().value(), ENOENT);
        EXPECT_TRUE(contains(e.what(), tmp / "missing")) << e.what();
    }
    // read_json() on a missing file: the same system_error.
    EXPECT_THROW(read_json(tmp / "missing"), std::system_error);
}

TEST(State, JoinPath) {
    EXPECT_EQ(join_path("a", "b"), "a/b");
    EXPECT_EQ(join_path("/x/y", "z.json"), "/x/y/z.json");
    EXPECT_EQ(join_path("", "b"), "b");
    EXPECT_EQ(join_path("a/b", "c/d"), "a/b/c/d");
}

TEST(State, MakeDirs) {
    TempDir tmp;
    make_dirs(tmp / "a/b/c/d");
    EXPECT_TRUE(fs::is_directory(tmp / "a/b/c/d"));
    make_dirs(tmp / "a/b/c/d");  // it exists: fine
    make_dirs(tmp / "a/b/");
    std::ofstream(tmp / "file") << "x";
    try {
        make_dirs(tmp / "file/sub");
        ADD_FAILURE() << "a file is in the way";
    } catch (const std::system_error& e) {
        EXPECT_TRUE(contains(e.what(), tmp / "file/sub")) << e.what();
    }
}

TEST(State, RemoveTree) {
    TempDir tmp;
    remove_tree(tmp / "missing");  // missing is fine
    remove_tree(tmp / "missing/deeper");
    make_dirs(tmp / "t/a/b");
    std::ofstream(tmp / "t/a/b/f") << "x";
    fs::create_symlink(tmp.path(), tmp / "t/a/up");  // not followed
    std::ofstream(tmp / "keep") << "k";
    remove_tree(tmp / "t");
    EXPECT_FALSE(fs::exists(tmp / "t"));
    EXPECT_TRUE(fs::exists(tmp / "keep"));
    std::ofstream(tmp / "single") << "x";
    remove_tree(tmp / "single");
    EXPECT_FALSE(fs::exists(tmp / "single"));
}

TEST(State, LockFileIsExclusiveWhileTheFdLives) {
    TempDir tmp;
    const std::string path = tmp / "lock";
    std::optional<Fd> lock{lock_file(path)};
    ASSERT_TRUE(*lock);
    EXPECT_TRUE(fs::exists(path)) << "created if missing";
    EXPECT_EQ(::fcntl(lock->get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);

    // Another open file description: flock() locks are per description.
    Fd other{::open(path.c_str(), O_RDWR | O_CLOEXEC)};
    ASSERT_TRUE(other);
    errno = 0;
    EXPECT_EQ(::flock(other.get(), LOCK_EX | LOCK_NB), -1);
    EXPECT_EQ(errno, EWOULDBLOCK);
    EXPECT_EQ(::flock(other.get(), LOCK_SH | LOCK_NB), -1);

    lock.reset();  // closes the fd: the lock goes with it
    EXPECT_EQ(::flock(other.get(), LOCK_EX | LOCK_NB), 0) << std::strerror(errno);
    ::flock(other.get(), LOCK_UN);

    // And it can be taken again, by lock_file() too.
    Fd again = lock_file(path);
    EXPECT_EQ(::flock(other.get(), LOCK_EX | LOCK_NB), -1);
}
