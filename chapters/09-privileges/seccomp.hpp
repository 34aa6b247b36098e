/// \file
/// seccomp.hpp - chapter 09's toolbox: Docker's seccomp profiles, and the
/// filter the kernel runs for them.
///
/// A seccomp filter is a small program the kernel runs at every system call
/// of the process (and of all its children, for good): it answers "allow",
/// "fail with this errno" or "kill". Docker describes one in JSON, a
/// *profile*: a default action, then rules of system call names, each with
/// an action, conditions on arguments, and the capabilities or
/// architectures it is for. libseccomp turns a profile into the program.
///
/// \code{.cpp}
///   SeccompProfile p = parse_seccomp_profile(read_text_file("my.json"), "my.json");
///   std::string bpf = seccomp_filter(p, docker_default_capabilities(), "/var/lib/minidocker");
///   sys::seccomp_set_filter(bpf, "the profile my.json");     // in the child
///   profile_json(default_seccomp_profile()).dump(1, '\t');   // `ch09 seccomp default`
/// \endcode
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace minidocker {

/// A condition on one argument: `args[index] op value` (SCMP_CMP_MASKED_EQ:
/// `(args[index] & value) == value_two`).
struct SeccompArg {
    unsigned index = 0;
    uint64_t value = 0;
    uint64_t value_two = 0;
    std::string op;  ///< "SCMP_CMP_EQ", "SCMP_CMP_NE", "SCMP_CMP_MASKED_EQ"...
};

/// One rule of a profile: these system calls get this action, if the
/// conditions hold, for the containers it includes.
struct SeccompRule {
    std::vector<std::string> names;
    std::string action;                 ///< "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO"...
    std::optional<unsigned> errno_ret;  ///< for SCMP_ACT_ERRNO; none: the profile's default
    std::vector<SeccompArg> args;       ///< all must hold
    std::string comment;
    std::vector<std::string> includes_caps;    ///< only if the container has all of them
    std::vector<std::string> includes_arches;  ///< only on these ("amd64", "arm64"...)
    std::string min_kernel;                    ///< only on this kernel or later ("4.8")
    std::vector<std::string> excludes_caps;    ///< not if the container has any of them
    std::vector<std::string> excludes_arches;
};

/// A whole profile, in Docker's JSON format (fields of the same names).
struct SeccompProfile {
    std::string default_action;                 ///< for every system call no rule names
    std::optional<unsigned> default_errno_ret;  ///< errno of SCMP_ACT_ERRNO when a rule has none
    /// architecture -> the sub-architectures a process of it may also
    /// call the kernel as ("SCMP_ARCH_X86_64" -> x86, x32).
    std::vector<std::pair<std::string, std::vector<std::string>>> arch_map;
    std::vector<SeccompRule> syscalls;
};

/// Docker's default profile (Docker 20.10 and later), built in.
const SeccompProfile& default_seccomp_profile();

/// A profile as Docker's JSON, and back. parse_seccomp_profile() checks
/// every name against libseccomp's tables and throws UsageError with one
/// line: `seccomp profile "my.json": unknown syscall "bogus"`. `origin`
/// names the file in that line.
nlohmann::json profile_json(const SeccompProfile& profile);
SeccompProfile parse_seccomp_profile(const std::string& text, const std::string& origin);

/// The classic BPF program (struct sock_filter[], as bytes) for `profile`
/// and a container with the capabilities `caps`, built by libseccomp for
/// this machine's architecture and kernel. Costs milliseconds: see
/// seccomp_filter().
std::string compile_seccomp_filter(const SeccompProfile& profile, uint64_t caps);

/// compile_seccomp_filter(), compiled once: kept in
/// `cache_dir`/\<hash\>.bpf, a hash of the profile, the capabilities,
/// the kernel's release and the architecture, so that a start reads a file
/// instead of compiling.
std::string seccomp_filter(const SeccompProfile& profile, uint64_t caps, const std::string& cache_dir);

}  // namespace minidocker
