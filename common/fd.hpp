/// \file
/// fd.hpp - Fd, the move-only owner of one file descriptor.
///
/// Introduced in chapter 01, used by every chapter. Every descriptor the runtime
/// opens is opened O_CLOEXEC and handed to an Fd right away, so it is closed on
/// every path out of a scope and can never leak into the container's command.
///
/// \code{.cpp}
///   Fd dir = open_fd("/proc/self/ns", O_RDONLY | O_DIRECTORY);
///   ::fstat(dir.get(), &st);
/// \endcode
#pragma once

#include <unistd.h>

#include <string>
#include <utility>

namespace minidocker {

/// The move-only owner of one file descriptor: it closes the descriptor when
/// it is destroyed or reset, and hands it on with std::move() or release().
/// Every chapter keeps its descriptors in Fds from the moment they are
/// opened, always close-on-exec (open_fd() adds O_CLOEXEC), so none stays
/// open on an error path or leaks into the container's command. get() only
/// lends the number: the Fd still closes it.
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() { reset(); }

    Fd(Fd&& other) noexcept : fd_(other.release()) {}
    Fd& operator=(Fd&& other) noexcept {
        if (this != &other) {
            reset(other.release());
        }
        return *this;
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;

    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }

    /// Gives up ownership: the caller now closes the descriptor.
    int release() { return std::exchange(fd_, -1); }

    /// Closes the owned descriptor (if any) and takes `fd` instead.
    void reset(int fd = -1) {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

/// open(2) with O_CLOEXEC added; throws std::system_error naming the path.
Fd open_fd(const std::string& path, int flags, mode_t mode = 0);

}  // namespace minidocker
