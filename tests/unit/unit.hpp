// unit.hpp - small tools the unit tests share.
//
//   TempDir dir;                                  // removed with all it holds, even when the test fails
//   write_file_atomic(dir / "a.json", "{}");
//   EXPECT_TRUE(contains(usage_error([] { parse_image_ref("A:b:c"); }), "invalid"));
#pragma once

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>

#include "error.hpp"

namespace unit {

class TempDir {
public:
    TempDir() {
        char name[] = "/tmp/minidocker-unit-XXXXXX";
        if (::mkdtemp(name) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        path_ = name;
    }
    ~TempDir() {
        // Read-only directories (copied with their modes) would stop a
        // non-root remove_all(): open them up first.
        namespace fs = std::filesystem;
        std::error_code ec;
        for (auto it = fs::recursive_directory_iterator(path_, ec); !ec && it != fs::recursive_directory_iterator();
             it.increment(ec)) {
            if (it->is_directory(ec) && !it->is_symlink(ec)) {
                ::chmod(it->path().c_str(), 0700);
            }
        }
        fs::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    std::string name() const { return std::filesystem::path(path_).filename().string(); }  // "minidocker-unit-x1Y2z3"
    std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

private:
    std::string path_;
};

// The whole content of a file ("" when it cannot be read).
inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The message of the UsageError `f` throws, or "" when it throws none.
inline std::string usage_error(const std::function<void()>& f) {
    try {
        f();
    } catch (const minidocker::UsageError& e) {
        return e.what();
    }
    return "";
}

}  // namespace unit
