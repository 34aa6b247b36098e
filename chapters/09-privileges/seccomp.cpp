// seccomp.cpp - see seccomp.hpp. Docker's default profile, written out
// as a table with the reason for each refusal; the profile as JSON; and the
// filter libseccomp compiles from it, cached.
#include "seccomp.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "capabilities.hpp"
#include "error.hpp"
#include "state.hpp"
#include "sys.hpp"
#include "trace.hpp"

namespace minidocker {

namespace {

SeccompRule allow(std::vector<std::string> names) {
    SeccompRule rule;
    rule.names = std::move(names);
    rule.action = "SCMP_ACT_ALLOW";
    return rule;
}

template <size_t N>
SeccompRule allow(const char* const (&names)[N]) {
    return allow(std::vector<std::string>(names, names + N));
}

// Allowed only to a container that holds `cap` (--cap-add, --privileged).
SeccompRule allow_with(const std::string& cap, std::vector<std::string> names) {
    SeccompRule rule = allow(std::move(names));
    rule.includes_caps = {cap};
    return rule;
}

SeccompRule allow_on(std::vector<std::string> arches, std::vector<std::string> names) {
    SeccompRule rule = allow(std::move(names));
    rule.includes_arches = std::move(arches);
    return rule;
}

SeccompRule allow_if_arg(const std::string& name, unsigned index, const std::string& op, uint64_t value) {
    SeccompRule rule = allow({name});
    rule.args = {{.index = index, .value = value, .op = op}};
    return rule;
}

// The CLONE_NEW* flags: a new namespace of any kind.
constexpr uint64_t kCloneNamespaceFlags = 0x7E020000;  // NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET

//! [ch09-default-profile]
// Allowed to every container: what ordinary programs do, each group
// about something the container has of its own.
// clang-format off
// Files and directories, and waiting on descriptors. Whose files? Only
// those its mount namespace shows, with the permissions the kernel checks.
const char* const kFileCalls[] = {
    "access", "chdir", "chmod", "chown", "chown32", "close", "close_range", "copy_file_range", "creat", "dup",
    "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2",
    "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "faccessat", "faccessat2", "fadvise64", "fadvise64_64",
    "fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchown", "fchown32", "fchownat", "fcntl",
    "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fremovexattr", "fsetxattr", "fstat", "fstat64",
    "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futimesat", "getcwd", "getdents",
    "getdents64", "getxattr", "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel",
    "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64", "io_setup", "io_submit", "io_uring_enter",
    "io_uring_register", "io_uring_setup", "lchown", "lchown32", "lgetxattr", "link", "linkat", "listxattr",
    "llistxattr", "_llseek", "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64", "memfd_create", "mkdir",
    "mkdirat", "mknod", "mknodat", "name_to_handle_at", "newfstatat", "_newselect", "open", "openat", "openat2",
    "pipe", "pipe2", "poll", "ppoll", "ppoll_time64", "pread64", "preadv", "preadv2", "pselect6", "pselect6_time64",
    "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv", "removexattr",
    "rename", "renameat", "renameat2", "rmdir", "select", "sendfile", "sendfile64", "setxattr", "splice", "stat",
    "stat64", "statfs", "statfs64", "statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "tee",
    "truncate", "truncate64", "umask", "unlink", "unlinkat", "utime", "utimensat", "utimensat_time64", "utimes",
    "vmsplice", "write", "writev"
};
// Its own memory.
const char* const kMemoryCalls[] = {
    "brk", "madvise", "membarrier", "memfd_secret", "mincore", "mlock", "mlock2", "mlockall", "mmap", "mmap2",
    "mprotect", "mremap", "msync", "munlock", "munlockall", "munmap", "pkey_alloc", "pkey_free", "pkey_mprotect",
    "remap_file_pages"
};
// Its own processes, threads, signals, limits and scheduling: its PID
// namespace and its cgroups keep these to itself.
const char* const kProcessCalls[] = {
    "capget", "capset", "execve", "execveat", "exit", "exit_group", "fork", "futex", "futex_time64", "futex_waitv",
    "getcpu", "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getrlimit", "get_robust_list",
    "getrusage", "getsid", "get_thread_area", "gettid", "ioctl", "ioprio_get", "ioprio_set", "kill",
    "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "pause", "pidfd_open",
    "pidfd_send_signal", "prctl", "prlimit64", "process_mrelease", "restart_syscall", "rseq", "rt_sigaction",
    "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
    "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr", "sched_getparam",
    "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler", "sched_rr_get_interval",
    "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler",
    "sched_yield", "seccomp", "setpgid", "setpriority", "setrlimit", "set_robust_list", "setsid", "set_thread_area",
    "set_tid_address", "sigaltstack", "signalfd", "signalfd4", "sigprocmask", "sigreturn", "sysinfo", "tgkill",
    "times", "tkill", "ugetrlimit", "uname", "vfork", "wait4", "waitid", "waitpid"
};
// Who it is: changing ids is checked by the kernel (CAP_SETUID...).
const char* const kIdCalls[] = {
    "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32", "getresgid",
    "getresgid32", "getresuid", "getresuid32", "getuid", "getuid32", "setfsgid", "setfsgid32", "setfsuid",
    "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setregid", "setregid32", "setresgid",
    "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32", "setuid", "setuid32"
};
// Reading clocks and setting its own timers. adjtimex is here to read the
// clock's state; changing it needs CAP_SYS_TIME, which the kernel checks.
const char* const kTimeCalls[] = {
    "adjtimex", "alarm", "clock_adjtime", "clock_adjtime64", "clock_getres", "clock_getres_time64", "clock_gettime",
    "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "getitimer", "gettimeofday", "nanosleep",
    "setitimer", "time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64",
    "timer_settime", "timer_settime64", "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime",
    "timerfd_settime64"
};
// Sockets, in its own network namespace (socket itself is below).
const char* const kSocketCalls[] = {
    "accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt", "listen", "recv", "recvfrom",
    "recvmmsg", "recvmmsg_time64", "recvmsg", "send", "sendmmsg", "sendmsg", "sendto", "setsockopt", "shutdown",
    "socketcall", "socketpair"
};
// System V and POSIX IPC: its IPC namespace keeps these to itself.
const char* const kIpcCalls[] = {
    "ipc", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend",
    "mq_timedsend_time64", "mq_unlink", "msgctl", "msgget", "msgrcv", "msgsnd", "semctl", "semget", "semop",
    "semtimedop", "semtimedop_time64", "shmat", "shmctl", "shmdt", "shmget"
};
// clang-format on

// Named by no rule, so refused to everyone, whatever its capabilities:
// keyctl, add_key, request_key (the kernel's keyrings are not
// namespaced: a container would see the host's keys); kexec_load and
// kexec_file_load (boot another kernel); pivot_root; swapon, swapoff;
// userfaultfd (it makes kernel races easy to win); uselib, ustat,
// sysfs, _sysctl, nfsservctl (old, unused, a risk); and every system
// call newer than the profile.
//
// Docker's default: refuse (EPERM) every system call no rule allows. New
// system calls are refused until someone has thought about them.
SeccompProfile make_default_profile() {
    SeccompProfile p;
    p.default_action = "SCMP_ACT_ERRNO";
    p.default_errno_ret = EPERM;
    // An x86_64 process may also call the kernel as a 32-bit one (int 0x80)
    // or as x32: the filter must cover those tables too.
    p.arch_map = {{"SCMP_ARCH_X86_64", {"SCMP_ARCH_X86", "SCMP_ARCH_X32"}},
                  {"SCMP_ARCH_AARCH64", {"SCMP_ARCH_ARM"}},
                  {"SCMP_ARCH_S390X", {"SCMP_ARCH_S390"}}};
    p.syscalls = {
        allow(kFileCalls),
        allow(kMemoryCalls),
        allow(kProcessCalls),
        allow(kIdCalls),
        allow(kTimeCalls),
        allow(kSocketCalls),
        allow(kIpcCalls),
        // ptrace could skip the filter before Linux 4.8: allowed from there on.
        // (Tracing needs the traced process to be ours: the same container.)
        [] {
            SeccompRule r = allow({"process_vm_readv", "process_vm_writev", "ptrace"});
            r.min_kernel = "4.8";
            return r;
        }(),
        // Any socket but AF_VSOCK (40), which talks to the hypervisor.
        allow_if_arg("socket", 0, "SCMP_CMP_NE", 40),
        // personality(2) only to ask, or for the harmless personalities
        // (PER_LINUX, UNAME26, ADDR_NO_RANDOMIZE): not READ_IMPLIES_EXEC & co.
        allow_if_arg("personality", 0, "SCMP_CMP_EQ", 0x0),
        allow_if_arg("personality", 0, "SCMP_CMP_EQ", 0x8),
        allow_if_arg("personality", 0, "SCMP_CMP_EQ", 0x20000),
        allow_if_arg("personality", 0, "SCMP_CMP_EQ", 0x20008),
        allow_if_arg("personality", 0, "SCMP_CMP_EQ", 0xffffffff),
        // What one architecture's programs need.
        allow_on({"ppc64le"}, {"sync_file_range2", "swapcontext"}),
        allow_on({"arm", "arm64"}, {"arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint",
                                    "cacheflush", "set_tls"}),
        allow_on({"amd64", "x32"}, {"arch_prctl"}),
        allow_on({"amd64", "x32", "x86"}, {"modify_ldt"}),
        allow_on({"s390", "s390x"}, {"s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"}),
        allow_on({"riscv64"}, {"riscv_flush_icache"}),
        // Each of these is what its capability is for: allowed only with it.
        // Open any file of a filesystem by its handle, even outside our root:
        // the "shocker" escape.
        allow_with("CAP_DAC_READ_SEARCH", {"open_by_handle_at"}),
        // Mounts, namespaces, the hostname, BPF, perf, quotas, the kernel log:
        // CAP_SYS_ADMIN's. (clone and clone3 are here for --cap-add SYS_ADMIN:
        // with it, any flags.)
        allow_with("CAP_SYS_ADMIN",
                   {"bpf",       "clone",           "clone3",         "fanotify_init", "fsconfig",      "fsmount",
                    "fsopen",    "fspick",          "lookup_dcookie", "mount",         "mount_setattr", "move_mount",
                    "open_tree", "perf_event_open", "quotactl",       "quotactl_fd",   "setdomainname", "sethostname",
                    "setns",     "syslog",          "umount",         "umount2",       "unshare"}),
        // Without it, clone(2) only without CLONE_NEW* flags: fork and threads,
        // but no new namespace (a new user namespace is the door to many
        // kernel bugs). On s390 the flags are the second argument.
        [] {
            SeccompRule r = allow_if_arg("clone", 0, "SCMP_CMP_MASKED_EQ", kCloneNamespaceFlags);
            r.excludes_caps = {"CAP_SYS_ADMIN"};
            r.excludes_arches = {"s390", "s390x"};
            return r;
        }(),
        [] {
            SeccompRule r = allow_if_arg("clone", 1, "SCMP_CMP_MASKED_EQ", kCloneNamespaceFlags);
            r.comment = "s390 parameter ordering for clone is different";
            r.includes_arches = {"s390", "s390x"};
            r.excludes_caps = {"CAP_SYS_ADMIN"};
            return r;
        }(),
        // clone3 passes its flags in memory, where a filter cannot look. ENOSYS,
        // not EPERM: "no such call" makes glibc fall back to clone, which the
        // rule above can check, so pthread_create still works.
        [] {
            SeccompRule r;
            r.names = {"clone3"};
            r.action = "SCMP_ACT_ERRNO";
            r.errno_ret = ENOSYS;
            r.excludes_caps = {"CAP_SYS_ADMIN"};
            return r;
        }(),
        allow_with("CAP_SYS_BOOT", {"reboot"}),
        allow_with("CAP_SYS_CHROOT", {"chroot"}),
        allow_with("CAP_SYS_MODULE", {"delete_module", "init_module", "finit_module"}),
        allow_with("CAP_SYS_PACCT", {"acct"}),
        allow_with("CAP_SYS_PTRACE",
                   {"kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"}),
        allow_with("CAP_SYS_RAWIO", {"iopl", "ioperm"}),
        allow_with("CAP_SYS_TIME", {"settimeofday", "stime", "clock_settime", "clock_settime64"}),
        allow_with("CAP_SYS_TTY_CONFIG", {"vhangup"}),
        allow_with("CAP_SYS_NICE", {"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"}),
        allow_with("CAP_SYSLOG", {"syslog"}),
        allow_with("CAP_BPF", {"bpf"}),
        allow_with("CAP_PERFMON", {"perf_event_open"}),
    };
    return p;
}
//! [ch09-default-profile]

// ---- JSON ----------------------------------------------------------------

nlohmann::json string_list(const std::vector<std::string>& v) {
    return v.empty() ? nlohmann::json(nullptr) : nlohmann::json(v);
}

nlohmann::json rule_json(const SeccompRule& r) {
    nlohmann::json j = {{"names", r.names}, {"action", r.action}};
    if (r.errno_ret) {
        j["errnoRet"] = *r.errno_ret;
    }
    if (!r.args.empty()) {
        for (const SeccompArg& a : r.args) {
            j["args"].push_back({{"index", a.index}, {"value", a.value}, {"valueTwo", a.value_two}, {"op", a.op}});
        }
    }
    if (!r.comment.empty()) {
        j["comment"] = r.comment;
    }
    nlohmann::json includes = nlohmann::json::object();
    if (!r.includes_caps.empty()) {
        includes["caps"] = r.includes_caps;
    }
    if (!r.includes_arches.empty()) {
        includes["arches"] = r.includes_arches;
    }
    if (!r.min_kernel.empty()) {
        includes["minKernel"] = r.min_kernel;
    }
    if (!includes.empty()) {
        j["includes"] = includes;
    }
    nlohmann::json excludes = nlohmann::json::object();
    if (!r.excludes_caps.empty()) {
        excludes["caps"] = r.excludes_caps;
    }
    if (!r.excludes_arches.empty()) {
        excludes["arches"] = r.excludes_arches;
    }
    if (!excludes.empty()) {
        j["excludes"] = excludes;
    }
    return j;
}

[[noreturn]] void bad_profile(const std::string& origin, const std::string& what) {
    throw UsageError(fmt::format("seccomp profile \"{}\": {}", origin, what));
}

std::vector<std::string> strings(const nlohmann::json& j, const char* key) {
    if (!j.contains(key) || j[key].is_null()) {
        return {};
    }
    return j[key].get<std::vector<std::string>>();
}

// libseccomp's action for a profile's name; nullopt for an unknown name.
std::optional<uint32_t> action_value(const std::string& action, unsigned errno_ret) {
    // SCMP_ACT_ERRNO and SCMP_ACT_TRACE carry a number: the errno, or a
    // message for the tracer.
    const std::pair<const char*, uint32_t> actions[] = {
        {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW},
        {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(errno_ret)},
        {"SCMP_ACT_KILL", SCMP_ACT_KILL_THREAD},
        {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD},
        {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS},
        {"SCMP_ACT_TRAP", SCMP_ACT_TRAP},
        {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(errno_ret)},
        {"SCMP_ACT_LOG", SCMP_ACT_LOG},
    };
    for (const auto& [name, value] : actions) {
        if (action == name) {
            return value;
        }
    }
    return std::nullopt;
}

std::optional<scmp_compare> compare_op(const std::string& op) {
    const std::pair<const char*, scmp_compare> ops[] = {
        {"SCMP_CMP_NE", SCMP_CMP_NE},
        {"SCMP_CMP_LT", SCMP_CMP_LT},
        {"SCMP_CMP_LE", SCMP_CMP_LE},
        {"SCMP_CMP_EQ", SCMP_CMP_EQ},
        {"SCMP_CMP_GE", SCMP_CMP_GE},
        {"SCMP_CMP_GT", SCMP_CMP_GT},
        {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
    };
    for (const auto& [name, value] : ops) {
        if (op == name) {
            return value;
        }
    }
    return std::nullopt;
}

// "SCMP_ARCH_X86_64" -> libseccomp's token, 0 when unknown.
uint32_t arch_token(const std::string& name) {
    if (name.rfind("SCMP_ARCH_", 0) != 0) {
        return 0;
    }
    std::string lower = name.substr(10);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    return seccomp_arch_resolve_name(lower.c_str());
}

SeccompRule parse_rule(const nlohmann::json& j, const std::string& origin) {
    SeccompRule r;
    if (j.contains("name") && j["name"].is_string()) {
        r.names.push_back(j["name"].get<std::string>());  // the old, one-name form
    }
    for (const std::string& n : strings(j, "names")) {
        r.names.push_back(n);
    }
    r.action = j.value("action", "");
    if (j.contains("errnoRet") && !j["errnoRet"].is_null()) {
        r.errno_ret = j["errnoRet"].get<unsigned>();
    }
    if (j.contains("args") && j["args"].is_array()) {
        for (const nlohmann::json& a : j["args"]) {
            r.args.push_back({.index = a.value("index", 0U),
                              .value = a.value("value", uint64_t{0}),
                              .value_two = a.value("valueTwo", uint64_t{0}),
                              .op = a.value("op", "")});
        }
    }
    r.comment = j.value("comment", "");
    if (j.contains("includes") && j["includes"].is_object()) {
        r.includes_caps = strings(j["includes"], "caps");
        r.includes_arches = strings(j["includes"], "arches");
        r.min_kernel = j["includes"].value("minKernel", "");
    }
    if (j.contains("excludes") && j["excludes"].is_object()) {
        r.excludes_caps = strings(j["excludes"], "caps");
        r.excludes_arches = strings(j["excludes"], "arches");
    }
    // Checked now, so that a bad profile stops `run` before anything is made.
    if (!action_value(r.action, 0)) {
        bad_profile(origin, fmt::format("unknown action \"{}\"", r.action));
    }
    for (const std::string& name : r.names) {
        if (seccomp_syscall_resolve_name(name.c_str()) == __NR_SCMP_ERROR) {
            bad_profile(origin, fmt::format("unknown syscall \"{}\"", name));
        }
    }
    for (const SeccompArg& a : r.args) {
        if (!compare_op(a.op)) {
            bad_profile(origin, fmt::format("unknown operator \"{}\"", a.op));
        }
        if (a.index > 5) {
            bad_profile(origin, fmt::format("argument index {} (a system call has 6: 0 to 5)", a.index));
        }
    }
    return r;
}

// ---- the filter --------------------------------------------------------------

// Go's name for this machine, as profiles write it ("amd64").
std::string native_arch() {
    utsname u{};
    ::uname(&u);
    const std::pair<const char*, const char*> names[] = {
        {"x86_64", "amd64"}, {"aarch64", "arm64"}, {"armv7l", "arm"}, {"i686", "x86"}, {"i386", "x86"}};
    for (const auto& [machine, name] : names) {
        if (std::string(u.machine) == machine) {
            return name;
        }
    }
    return u.machine;  // ppc64le, s390x, riscv64: the same word
}

// "6.1.0-13-amd64" -> {6, 1}
std::pair<int, int> kernel_version(const std::string& release) {
    int major = 0;
    int minor = 0;
    std::sscanf(release.c_str(), "%d.%d", &major, &minor);  // NOLINT(cert-err34-c): 0 is fine
    return {major, minor};
}

std::string kernel_release() {
    utsname u{};
    ::uname(&u);
    return u.release;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

// Docker's rules for includes and excludes: every included capability
// held, the architecture listed, the kernel recent enough; no excluded
// capability held, the architecture not excluded.
bool applies(const SeccompRule& r, uint64_t caps) {
    std::string arch = native_arch();
    for (const std::string& cap : r.includes_caps) {
        if ((caps & (1ULL << parse_capability(cap))) == 0) {
            return false;
        }
    }
    if (!r.includes_arches.empty() && !contains(r.includes_arches, arch)) {
        return false;
    }
    if (!r.min_kernel.empty() && kernel_version(kernel_release()) < kernel_version(r.min_kernel)) {
        return false;
    }
    for (const std::string& cap : r.excludes_caps) {
        if ((caps & (1ULL << parse_capability(cap))) != 0) {
            return false;
        }
    }
    return !contains(r.excludes_arches, arch);
}

// 32 hex digits that name `text` in the cache: two 64-bit FNV-1a hashes
// with different starting points. A name, not a signature: whoever may
// write into $ROOT/seccomp may start any container anyway. (sha256 would
// do too, but OpenSSL's first use reads its configuration: milliseconds
// of every start.)
std::string cache_key(const std::string& text) {
    uint64_t a = 0xcbf29ce484222325ULL;
    uint64_t b = 0x84222325cbf29ce4ULL;
    for (unsigned char c : text) {
        a = (a ^ c) * 0x100000001b3ULL;
        b = (b ^ c) * 0x100000001b3ULL;
    }
    return fmt::format("{:016x}{:016x}", a, b);
}

using FilterContext = std::unique_ptr<void, decltype(&seccomp_release)>;

void add_rule(scmp_filter_ctx ctx, uint32_t action, int nr, const std::vector<SeccompArg>& args) {
    std::vector<scmp_arg_cmp> cmps;
    cmps.reserve(args.size());
    for (const SeccompArg& a : args) {
        cmps.push_back({a.index, *compare_op(a.op), a.value, a.value_two});
    }
    // libseccomp can AND conditions on different arguments only; two on
    // the same argument become two rules (either may allow), as in Docker.
    bool same_argument_twice = false;
    for (size_t i = 0; i < cmps.size(); ++i) {
        for (size_t k = i + 1; k < cmps.size(); ++k) {
            same_argument_twice = same_argument_twice || cmps[i].arg == cmps[k].arg;
        }
    }
    int rc = 0;
    if (same_argument_twice) {
        for (const scmp_arg_cmp& c : cmps) {
            rc = rc < 0 ? rc : seccomp_rule_add_array(ctx, action, nr, 1, &c);
        }
    } else {
        rc = seccomp_rule_add_array(ctx, action, nr, static_cast<unsigned>(cmps.size()), cmps.data());
    }
    // -EDOM: a call this architecture has not got ("chown32" on x86_64).
    if (rc < 0 && rc != -EDOM) {
        char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
        std::string shown = name != nullptr ? name : std::to_string(nr);
        ::free(name);  // NOLINT(cppcoreguidelines-no-malloc): libseccomp's
        throw std::system_error(-rc, std::generic_category(), fmt::format("seccomp_rule_add({})", shown));
    }
}

}  // namespace

const SeccompProfile& default_seccomp_profile() {
    static const SeccompProfile profile = make_default_profile();
    return profile;
}

nlohmann::json profile_json(const SeccompProfile& profile) {
    nlohmann::json j = {{"defaultAction", profile.default_action}};
    if (profile.default_errno_ret) {
        j["defaultErrnoRet"] = *profile.default_errno_ret;
    }
    for (const auto& [arch, subs] : profile.arch_map) {
        j["archMap"].push_back({{"architecture", arch}, {"subArchitectures", string_list(subs)}});
    }
    j["syscalls"] = nlohmann::json::array();
    for (const SeccompRule& r : profile.syscalls) {
        j["syscalls"].push_back(rule_json(r));
    }
    return j;
}

SeccompProfile parse_seccomp_profile(const std::string& text, const std::string& origin) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
        bad_profile(origin, fmt::format("decoding seccomp profile failed: not JSON ({})", e.what()));
    }
    SeccompProfile p;
    try {
        if (!j.is_object()) {
            bad_profile(origin, "decoding seccomp profile failed: not a JSON object");
        }
        p.default_action = j.value("defaultAction", "");
        if (j.contains("defaultErrnoRet") && !j["defaultErrnoRet"].is_null()) {
            p.default_errno_ret = j["defaultErrnoRet"].get<unsigned>();
        }
        if (j.contains("archMap") && j["archMap"].is_array()) {
            for (const nlohmann::json& a : j["archMap"]) {
                p.arch_map.emplace_back(a.value("architecture", ""), strings(a, "subArchitectures"));
            }
        }
        if (j.contains("syscalls") && j["syscalls"].is_array()) {
            for (const nlohmann::json& r : j["syscalls"]) {
                p.syscalls.push_back(parse_rule(r, origin));
            }
        }
    } catch (const nlohmann::json::exception& e) {
        bad_profile(origin, fmt::format("decoding seccomp profile failed: {}", e.what()));
    }
    if (!action_value(p.default_action, 0)) {
        bad_profile(origin, fmt::format("unknown action \"{}\"", p.default_action));
    }
    for (const auto& [arch, subs] : p.arch_map) {
        for (const std::string& name : subs) {
            if (arch_token(name) == 0) {
                bad_profile(origin, fmt::format("unknown architecture \"{}\"", name));
            }
        }
        if (arch_token(arch) == 0) {
            bad_profile(origin, fmt::format("unknown architecture \"{}\"", arch));
        }
    }
    return p;
}

//! [ch09-compile]
std::string compile_seccomp_filter(const SeccompProfile& profile, uint64_t caps) {
    unsigned default_errno = profile.default_errno_ret.value_or(EPERM);
    FilterContext ctx{seccomp_init(*action_value(profile.default_action, default_errno)), seccomp_release};
    if (!ctx) {
        throw std::runtime_error("seccomp_init() failed");
    }
    // We set no_new_privs ourselves, or not (--security-opt
    // no-new-privileges): libseccomp must not do it behind our back.
    seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0);
    // A binary tree of the system call numbers, not a list: the kernel
    // runs the filter at every system call, and, when the filter is loaded,
    // once for each number of each architecture (to learn which ones it
    // always allows): a list of 350 comparisons costs every start a
    // millisecond there.
    seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2);
    // The architectures a process of ours may call the kernel as.
    for (const auto& [arch, subs] : profile.arch_map) {
        if (arch_token(arch) != seccomp_arch_native()) {
            continue;
        }
        for (const std::string& sub : subs) {
            int rc = seccomp_arch_add(ctx.get(), arch_token(sub));
            if (rc < 0 && rc != -EEXIST) {
                throw std::system_error(-rc, std::generic_category(), fmt::format("seccomp_arch_add({})", sub));
            }
        }
    }
    uint32_t default_action = *action_value(profile.default_action, default_errno);
    for (const SeccompRule& rule : profile.syscalls) {
        if (!applies(rule, caps)) {
            continue;
        }
        uint32_t action = *action_value(rule.action, rule.errno_ret.value_or(default_errno));
        if (action == default_action) {
            continue;  // libseccomp refuses a rule that changes nothing
        }
        for (const std::string& name : rule.names) {
            add_rule(ctx.get(), action, seccomp_syscall_resolve_name(name.c_str()), rule.args);
        }
    }
    // The program, as the kernel takes it: libseccomp writes it to a file.
    Fd out{::memfd_create("seccomp", MFD_CLOEXEC)};
    if (!out) {
        throw_errno("memfd_create(\"seccomp\")");
    }
    int rc = seccomp_export_bpf(ctx.get(), out.get());
    if (rc < 0) {
        throw std::system_error(-rc, std::generic_category(), "seccomp_export_bpf()");
    }
    ::lseek(out.get(), 0, SEEK_SET);
    return sys::read_all({out.get(), "the compiled filter"});
}
//! [ch09-compile]

std::string seccomp_filter(const SeccompProfile& profile, uint64_t caps, const std::string& cache_dir) {
    // A profile is named by its JSON text; the built-in one, which only a
    // new build of this program can change, by this program's file: one
    // stat(2) instead of writing 1,300 lines of JSON at every start.
    std::string name;
    struct stat self {};
    if (&profile == &default_seccomp_profile() && ::stat("/proc/self/exe", &self) == 0) {
        name = fmt::format("built in {}:{} {} {}.{}", self.st_dev, self.st_ino, self.st_size, self.st_mtim.tv_sec,
                           self.st_mtim.tv_nsec);
    } else {
        name = profile_json(profile).dump();
    }
    std::string key = cache_key(fmt::format("{}\n{:#x}\n{}\n{}\n{}", name, caps, kernel_release(), native_arch(),
                                            SCMP_VER_MAJOR * 100 + SCMP_VER_MINOR));
    std::string path = cache_dir + "/" + key + ".bpf";
    // Look before reading: the first throw of a static program costs
    // milliseconds, and most starts find the file.
    if (::access(path.c_str(), R_OK) == 0) {
        std::string program = read_text_file(path);
        trace::step(fmt::format("seccomp filter: {} instructions, from the cache", program.size() / 8));
        return program;
    }
    std::string program = compile_seccomp_filter(profile, caps);
    make_dirs(cache_dir);
    // Durable::no: a cache; a lost file is compiled again.
    write_file_atomic(path, program, 0644, Durable::no);
    trace::step(fmt::format("seccomp filter: {} instructions, compiled by libseccomp and cached", program.size() / 8));
    return program;
}

}  // namespace minidocker
