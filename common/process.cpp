// process.cpp - see process.hpp.
#include "process.hpp"

#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/close_range.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "error.hpp"
#include "sys.hpp"
#include "trace.hpp"

namespace minidocker {
namespace {

// What crosses the socketpair. SOCK_SEQPACKET keeps it one message.
// Room for a failed mount's whole call: overlay options alone may take a
// page (see chapter 04).
struct Message {
    int error;
    int exit_code;
    char text[8192];
};

// One message from the child: 'r' (1 byte), a report, or end-of-file (0).
ssize_t receive(int fd, Message& m) {
    ssize_t n;
    // ECONNRESET: the child failed in its set-up and exited with our second
    // "go" still unread in its end. The kernel reports that once, before the
    // report the child queued for us: read again to get it.
    do {
        n = ::recv(fd, &m, sizeof m, 0);
    } while (n < 0 && (errno == EINTR || errno == ECONNRESET));
    return n;
}

// What a child that did not get as far as execve tells us.
ChildFailure failure_from(ssize_t n, Message& m) {
    if (n != static_cast<ssize_t>(sizeof m)) {
        return ChildFailure{0, exit_runtime_failed, "the container's process died before it could run the command"};
    }
    m.text[sizeof m.text - 1] = '\0';
    return ChildFailure{m.error, m.exit_code, m.text};
}

}  // namespace

SyncChannel::SyncChannel() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0) {
        throw_errno("socketpair(AF_UNIX, SOCK_SEQPACKET|SOCK_CLOEXEC)");
    }
    parent_end_.reset(fds[0]);
    child_end_.reset(fds[1]);
}

void SyncChannel::use_as_parent() { child_end_.reset(); }
void SyncChannel::use_as_child() { parent_end_.reset(); }

void SyncChannel::send_ready() {
    char ready = 'r';
    ::send(child_end_.get(), &ready, 1, MSG_NOSIGNAL);
}

std::optional<ChildFailure> SyncChannel::wait_for_ready() {
    Message m{};
    ssize_t n = receive(parent_end_.get(), m);
    if (n == 1) {
        return std::nullopt;  // 'r': the only one-byte message a child sends
    }
    return failure_from(n, m);
}

void SyncChannel::send_go() {
    char go = 'g';
    // MSG_NOSIGNAL: a child that already failed must not kill us with SIGPIPE;
    // its report is waiting in the socket and wait_for_exec() will read it.
    ::send(parent_end_.get(), &go, 1, MSG_NOSIGNAL);
}

bool SyncChannel::wait_for_go() {
    char go = 0;
    ssize_t n;
    do {
        n = ::recv(child_end_.get(), &go, 1, 0);
    } while (n < 0 && errno == EINTR);
    return n == 1 && go == 'g';
}

void SyncChannel::report(const ChildFailure& failure) noexcept {
    Message m{};
    m.error = failure.error;
    m.exit_code = failure.exit_code;
    size_t len = std::min(failure.message.size(), sizeof m.text - 1);
    std::memcpy(m.text, failure.message.data(), len);
    ::send(child_end_.get(), &m, sizeof m, MSG_NOSIGNAL);
}

std::optional<ChildFailure> SyncChannel::wait_for_exec() {
    Message m{};
    ssize_t n = receive(parent_end_.get(), m);
    if (n == 0) {
        return std::nullopt;  // end-of-file: execve closed the child's end
    }
    return failure_from(n, m);
}

//! [ch01-clone]
pid_t clone_process(unsigned long namespace_flags) {
    unsigned long flags = namespace_flags | SIGCHLD;
    // Raw clone with no new stack behaves like fork(): the child continues
    // from here on a copy of our memory. glibc's clone() wrapper would need a
    // separate stack and a function; fork() cannot take namespace flags.
    long pid = ::syscall(SYS_clone, flags, nullptr, nullptr, nullptr, 0);
    if (pid == 0) {
        return 0;  // the child narrates nothing about its own birth
    }
    check(pid, fmt::format("clone({})", trace::clone_flags(flags)));
    return static_cast<pid_t>(pid);
}
//! [ch01-clone]

//! [ch02-clone3]
pid_t clone_process_into(unsigned long namespace_flags, int cgroup_fd, const std::string& cgroup_dir) {
    // struct clone_args of <linux/sched.h>, up to its `cgroup` field (kernel
    // 5.7); spelled out here because that header fights glibc's <sched.h>.
    struct {
        uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size,
            cgroup;
    } args{};
    const uint64_t clone_into_cgroup = 0x200000000ULL;
    args.flags = namespace_flags | clone_into_cgroup;
    args.exit_signal = SIGCHLD;
    args.cgroup = static_cast<uint64_t>(cgroup_fd);
    // Like clone() above: no stack of its own, so fork-style.
    long pid = ::syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0) {
        return 0;
    }
    std::string call = fmt::format("clone3({}|CLONE_INTO_CGROUP, cgroup=fd of \"{}\")",
                                   trace::clone_flags(namespace_flags | SIGCHLD), cgroup_dir);
    if (pid < 0 && (errno == ENOSYS || errno == E2BIG)) {
        // No clone3 (before 5.3), or one without the cgroup field (5.3-5.6).
        trace::result(call, -1, errno);
        return -1;
    }
    check(pid, call);
    return static_cast<pid_t>(pid);
}
//! [ch02-clone3]

SignalForwarder::SignalForwarder() {
    sigemptyset(&forwarded_);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCHLD}) {
        sigaddset(&forwarded_, sig);
    }
    sigprocmask(SIG_BLOCK, &forwarded_, &previous_);
}

SignalForwarder::~SignalForwarder() { sigprocmask(SIG_SETMASK, &previous_, nullptr); }

void SignalForwarder::restore_in_child() const { sigprocmask(SIG_SETMASK, &previous_, nullptr); }

int SignalForwarder::wait_for(pid_t pid) const {
    int interrupts = 0;
    for (;;) {
        int status = 0;
        pid_t done = ::waitpid(pid, &status, WNOHANG);
        if (done == pid) {
            trace::step(fmt::format("waitpid({}) = {}, exit code {}", pid, pid, exit_code_from_status(status)));
            return status;
        }
        if (done < 0 && errno != EINTR) {
            throw_errno(fmt::format("waitpid({})", pid));
        }
        siginfo_t info{};
        int sig = ::sigwaitinfo(&forwarded_, &info);
        if (sig < 0 || sig == SIGCHLD) {
            continue;  // some child changed state: look again
        }
        trace::step(fmt::format("kill({}, SIG{}) (forwarded)", pid, sigabbrev_np(sig)));
        ::kill(pid, sig);
        //! [ch01-pid1-signals]
        // PID 1 of a PID namespace ignores every signal it has no handler
        // for, so `sleep` as PID 1 survives Ctrl-C. Like `docker stop` after
        // its grace period, the third interrupt kills it for good.
        if ((sig == SIGINT || sig == SIGTERM) && ++interrupts == 3) {
            trace::step(fmt::format("kill({}, SIGKILL) after 3 ignored interrupts", pid));
            ::kill(pid, SIGKILL);
        }
        //! [ch01-pid1-signals]
    }
}

void close_inherited_fds() {
    std::vector<int> inherited;
    DIR* dir = ::opendir("/proc/self/fd");
    if (dir == nullptr) {
        throw_errno("opendir(\"/proc/self/fd\")");
    }
    while (dirent* e = ::readdir(dir)) {
        int fd = std::atoi(e->d_name);
        int flags = fd > 2 && fd != ::dirfd(dir) ? ::fcntl(fd, F_GETFD) : -1;
        if (flags >= 0 && (flags & FD_CLOEXEC) == 0) {
            inherited.push_back(fd);
        }
    }
    ::closedir(dir);
    for (int fd : inherited) {
        ::close(fd);
    }
}

int exit_code_from_status(int status) {
    if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
    }
    if (WIFSIGNALED(status)) {
        return 128 + WTERMSIG(status);
    }
    return exit_runtime_failed;
}

int exit_code_from_exec_errno(int err) {
    switch (err) {
        case ENOENT:
        case ENOTDIR:
            return exit_not_found;
        default:
            return exit_not_executable;
    }
}

// A static program has no PT_INTERP program header (no dynamic loader):
// it runs in a root filesystem that has no libraries.
bool is_static_elf(const std::string& path) {
    Fd fd = open_fd(path, O_RDONLY);
    Elf64_Ehdr eh{};
    if (::pread(fd.get(), &eh, sizeof eh, 0) != sizeof eh || std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
        eh.e_ident[EI_CLASS] != ELFCLASS64) {
        return false;
    }
    for (unsigned i = 0; i < eh.e_phnum; ++i) {
        Elf64_Phdr ph{};
        off_t at = static_cast<off_t>(eh.e_phoff + i * static_cast<unsigned long>(eh.e_phentsize));
        if (::pread(fd.get(), &ph, sizeof ph, at) != sizeof ph) {
            return false;
        }
        if (ph.p_type == PT_INTERP) {
            return false;
        }
    }
    return true;
}

//! [ch01-exec]
ChildFailure exec_command(const std::vector<std::string>& command, std::vector<std::string>& env,
                          const SignalForwarder& signals) {
    // The container's environment becomes ours, so execvp() searches the
    // container's PATH, and the command inherits exactly this environment.
    ::clearenv();
    for (std::string& kv : env) {
        ::putenv(kv.data());
    }
    std::vector<std::string> args = command;
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (std::string& arg : args) {
        argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    // Descriptors we inherited from our caller (a shell's, a CI's) must
    // not reach the container: mark all but 0, 1, 2 close-on-exec. Ours
    // already are, including the channel, which stays open until execvp.
    sys::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    trace::step(fmt::format("execvp(\"{}\", ...)", args[0]));
    signals.restore_in_child();
    ::signal(SIGPIPE, SIG_DFL);
    ::execvp(argv[0], argv.data());
    //! [ch01-exec]
    // Only reached when execvp failed.
    int err = errno;
    ChildFailure failure{err, exit_code_from_exec_errno(err), ""};
    if (err == ENOENT && args[0].find('/') == std::string::npos) {
        failure.message = fmt::format("exec \"{}\": executable file not found in $PATH", args[0]);
    } else {
        failure.message = fmt::format("exec \"{}\": {}", args[0], std::strerror(err));
    }
    return failure;
}

}  // namespace minidocker
