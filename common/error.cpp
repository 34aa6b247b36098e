// error.cpp - see error.hpp.
#include "error.hpp"

#include <fcntl.h>

#include <cerrno>

#include "fd.hpp"
#include "trace.hpp"

namespace minidocker {

void throw_errno(const std::string& call) { throw std::system_error(errno, std::generic_category(), call); }

long check(long rc, const std::string& call) {
    int saved = errno;
    trace::result(call, rc, saved);
    if (rc == -1) {
        throw std::system_error(saved, std::generic_category(), call);
    }
    return rc;
}

Fd open_fd(const std::string& path, int flags, mode_t mode) {
    int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
    if (fd < 0) {
        throw_errno("open(\"" + path + "\")");
    }
    return Fd{fd};
}

}  // namespace minidocker
