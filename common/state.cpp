// state.cpp - see state.hpp.
#include "state.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <stdexcept>

#include "error.hpp"
#include "sys.hpp"

namespace minidocker {

void write_file_atomic(const std::string& path, const std::string& content, mode_t mode, Durable durable) {
    // A name no other writer uses: two runtimes may write the same file.
    std::string temp = fmt::format("{}.tmp{}", path, ::getpid());
    {
        Fd fd = open_fd(temp, O_WRONLY | O_CREAT | O_TRUNC, mode);
        size_t done = 0;
        while (done < content.size()) {
            ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
            if (n < 0 && errno != EINTR) {
                throw_errno(fmt::format("write(\"{}\")", temp));
            }
            done += n > 0 ? static_cast<size_t>(n) : 0;
        }
        if (durable == Durable::yes && ::fsync(fd.get()) != 0) {
            throw_errno(fmt::format("fsync(\"{}\")", temp));
        }
    }
    if (::rename(temp.c_str(), path.c_str()) != 0) {
        int err = errno;
        ::unlink(temp.c_str());
        errno = err;
        throw_errno(fmt::format("rename(\"{}\", \"{}\")", temp, path));
    }
}

void write_json_atomic(const std::string& path, const nlohmann::json& value, Durable durable) {
    write_file_atomic(path, value.dump(2) + "\n", 0644, durable);
}

std::string read_text_file(const std::string& path) { return sys::read_file(path); }

nlohmann::json read_json(const std::string& path) {
    std::string text = read_text_file(path);
    try {
        return nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        throw std::runtime_error(fmt::format("{}: not valid JSON: {}", path, e.what()));
    }
}

std::string join_path(std::string_view dir, std::string_view name) {
    std::string path;
    path.reserve(dir.size() + 1 + name.size());
    if (!dir.empty()) {
        path.append(dir).append("/");
    }
    return path.append(name);
}

void make_dirs(const std::string& path) {
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) {
        throw std::system_error(ec, fmt::format("mkdir -p \"{}\"", path));
    }
}

void remove_tree(const std::string& path) {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
    if (ec) {
        throw std::system_error(ec, fmt::format("rm -rf \"{}\"", path));
    }
}

Fd lock_file(const std::string& path) {
    Fd fd = open_fd(path, O_RDWR | O_CREAT, 0600);
    while (::flock(fd.get(), LOCK_EX) != 0) {
        if (errno != EINTR) {
            throw_errno(fmt::format("flock(\"{}\", LOCK_EX)", path));
        }
    }
    return fd;
}

}  // namespace minidocker
