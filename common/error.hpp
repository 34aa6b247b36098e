/// \file
/// error.hpp - how the runtime reports failure.
///
/// Introduced in chapter 01, used by every chapter.
///
/// * A failed system call becomes a std::system_error whose message is the call
///   as it was made: `mount("proc", "/proc", "proc", MS_NOSUID, NULL): Device or
///   resource busy`. check() does that, and narrates the call for `--trace` too
///   (see trace.hpp), so the text a student reads in the trace and in an error
///   is the same.
/// * Bad input from the user is a UsageError: one line, exit code 125.
/// * Only main() catches; library code never prints.
#pragma once

#include <stdexcept>
#include <string>
#include <system_error>

namespace minidocker {

/// The user asked for something that cannot be done (bad flag value, missing
/// argument, unknown container). main() prints it as one line and exits 125.
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Throws std::system_error(errno, call).
[[noreturn]] void throw_errno(const std::string& call);

/// For the result of a system call: narrates `call = rc` to the trace and
/// returns rc, or, when rc is -1, narrates the errno and throws
/// std::system_error(errno, call). Example:
/// \code{.cpp}
///   check(::sethostname(h.data(), h.size()), fmt::format("sethostname({:?})", h));
/// \endcode
long check(long rc, const std::string& call);

/// Exit codes, as Docker uses them.
inline constexpr int exit_runtime_failed = 125;  ///< the runtime itself failed
inline constexpr int exit_not_executable = 126;  ///< command found, cannot be run
inline constexpr int exit_not_found = 127;       ///< command not found

}  // namespace minidocker
