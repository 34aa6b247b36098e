// guard.cpp - see guard.hpp.
#include "guard.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <limits.h>
#include <linux/mount.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "error.hpp"
#include "fd.hpp"
#include "process.hpp"
#include "sys.hpp"
#include "trace.hpp"

extern char** environ;

namespace minidocker {
namespace {

// Our own command line, as the kernel keeps it: NUL-separated words.
std::vector<std::string> own_argv() {
    std::string text = sys::read_file("/proc/self/cmdline");
    std::vector<std::string> words;
    for (size_t start = 0; start < text.size();) {
        size_t end = text.find('\0', start);
        if (end == std::string::npos) {
            end = text.size();
        }
        words.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return words;
}

}  // namespace

void run_from_read_only_binary() {
    struct statvfs fs {};
    if (::statvfs("/proc/self/exe", &fs) < 0) {
        throw_errno("statvfs(\"/proc/self/exe\")");
    }
    if ((fs.f_flag & ST_RDONLY) != 0) {
        if (std::getenv("MINIDOCKER_READ_ONLY_EXE") != nullptr) {
            // Re-executed: not a variable for the container; and the name
            // ps shows is ours, on kernels that would name us after the fd.
            ::unsetenv("MINIDOCKER_READ_ONLY_EXE");
            std::vector<std::string> args = own_argv();
            std::string name = args.empty() ? "minidocker" : args[0].substr(args[0].rfind('/') + 1);
            ::prctl(PR_SET_NAME, name.c_str());
        }
        return;  // installed on a read-only filesystem, or already re-executed
    }
    if (std::getenv("MINIDOCKER_READ_ONLY_EXE") != nullptr) {
        // We did re-execute, and still run from something writable: do not loop.
        throw UsageError("cannot run from a read-only view of the runtime's binary (open_tree, mount_setattr)");
    }
    //! [guard-read-only]
    // A new mount of just our binary, attached to no namespace: nobody can
    // reach it by a path, and it goes away with the last user.
    Fd tree(
        static_cast<int>(::syscall(SYS_open_tree, AT_FDCWD, "/proc/self/exe", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)));
    if (!tree) {
        throw_errno("open_tree(\"/proc/self/exe\", OPEN_TREE_CLONE|OPEN_TREE_CLOEXEC)");
    }
    // (Narrated as "tree": its number depends on what our caller left open.)
    trace::step("open_tree(\"/proc/self/exe\", OPEN_TREE_CLONE|OPEN_TREE_CLOEXEC) = tree");
    // Read-only: a write through /proc/PID/exe of anything run from it now
    // fails with EROFS, whoever holds the link, even after we exit.
    sys::mount_setattr({tree.get(), "tree"}, AT_EMPTY_PATH, MOUNT_ATTR_RDONLY);
    //! [guard-read-only]
    std::vector<std::string> args = own_argv();
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (std::string& arg : args) {
        argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    ::setenv("MINIDOCKER_READ_ONLY_EXE", "1", 1);
    trace::step(
        "execveat(tree, \"\", AT_EMPTY_PATH): start again from the read-only view of our binary "
        "(CVE-2019-5736)");
    ::syscall(SYS_execveat, tree.get(), "", argv.data(), environ, AT_EMPTY_PATH);
    throw_errno("execveat(tree, \"\", AT_EMPTY_PATH)");
}

//! [guard-chdir]
void chdir_inside(const std::string& dir) {
    sys::chdir(dir);
    // Through a descriptor of a host directory (-w /proc/self/fd/N), chdir()
    // can leave our root behind. The kernel then names the working directory
    // "(unreachable)/...", and glibc's getcwd() fails with ENOENT.
    char cwd[PATH_MAX];
    if (::getcwd(cwd, sizeof cwd) == nullptr) {
        if (errno == ENOENT) {
            throw UsageError(fmt::format("working directory \"{}\" is outside the container", dir));
        }
        throw_errno("getcwd()");
    }
}
//! [guard-chdir]

void be_init(pid_t child) {
    // Every signal waits in the queue for sigwaitinfo() below. (Blocked, they
    // also reach a PID 1 that has no handler: the kernel drops only signals a
    // PID 1 would take the default action for.)
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, nullptr);
    int child_status = -1;
    //! [guard-init]
    for (;;) {
        siginfo_t info{};
        int sig = ::sigwaitinfo(&all, &info);
        if (sig < 0) {
            continue;  // EINTR
        }
        if (sig != SIGCHLD) {
            // For the user's command, as if it were PID 1 itself.
            ::kill(child, sig);
            continue;
        }
        // Reap everything that has ended: our child, and orphans of the
        // container, which the kernel gives to PID 1.
        int status = 0;
        pid_t done;
        while ((done = ::waitpid(-1, &status, WNOHANG)) > 0) {
            if (done == child) {
                child_status = status;
            }
        }
        if (child_status != -1) {
            ::_exit(exit_code_from_status(child_status));
        }
    }
    //! [guard-init]
}

}  // namespace minidocker
