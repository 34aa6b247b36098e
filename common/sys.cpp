// sys.cpp - see sys.hpp. Each wrapper: the text first (so that building it
// cannot disturb errno), then the call, then check(), which narrates it and
// throws on failure.
#include "sys.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <linux/filter.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <stdexcept>

#include "error.hpp"
#include "trace.hpp"

namespace minidocker::sys {
namespace {

// 0755, as a C programmer writes a mode.
std::string octal(mode_t mode) { return fmt::format("{:#o}", mode); }

// S_IFCHR|0666: the file type by name, then the permission bits.
std::string mode_text(mode_t mode) {
    static const trace::FlagName types[] = {
        {S_IFCHR, "S_IFCHR"}, {S_IFBLK, "S_IFBLK"},   {S_IFIFO, "S_IFIFO"},
        {S_IFREG, "S_IFREG"}, {S_IFSOCK, "S_IFSOCK"}, {S_IFDIR, "S_IFDIR"},
    };
    for (const trace::FlagName& t : types) {
        if ((mode & S_IFMT) == t.bit) {
            return fmt::format("{}|{}", t.name, octal(mode & ~S_IFMT));
        }
    }
    return octal(mode);
}

std::string at_flags_text(unsigned int flags) {
    return trace::flag_names(flags, {{AT_EMPTY_PATH, "AT_EMPTY_PATH"},
                                     {AT_RECURSIVE, "AT_RECURSIVE"},
                                     {AT_SYMLINK_NOFOLLOW, "AT_SYMLINK_NOFOLLOW"},
                                     {AT_NO_AUTOMOUNT, "AT_NO_AUTOMOUNT"}});
}

std::string resolve_text(uint64_t resolve) {
    return trace::flag_names(resolve, {{RESOLVE_IN_ROOT, "RESOLVE_IN_ROOT"},
                                       {RESOLVE_BENEATH, "RESOLVE_BENEATH"},
                                       {RESOLVE_NO_SYMLINKS, "RESOLVE_NO_SYMLINKS"},
                                       {RESOLVE_NO_MAGICLINKS, "RESOLVE_NO_MAGICLINKS"},
                                       {RESOLVE_NO_XDEV, "RESOLVE_NO_XDEV"}});
}

std::string signal_name(int sig) {
    const char* abbrev = ::sigabbrev_np(sig);
    return abbrev != nullptr ? fmt::format("SIG{}", abbrev) : fmt::format("{}", sig);
}

// The whole of `text` in one write(2); a short write is an error (EIO):
// a kernel control file takes its value whole or not at all.
long write_once(int fd, const std::string& text) {
    ssize_t n = ::write(fd, text.data(), text.size());
    if (n >= 0 && static_cast<size_t>(n) != text.size()) {
        errno = EIO;
        return -1;
    }
    return n;
}

std::string read_rest(int fd, const std::string& call) {
    std::string content;
    char buf[8192];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            throw_errno(call);
        }
        if (n == 0) {
            return content;
        }
        content.append(buf, static_cast<size_t>(n));
    }
}

}  // namespace

Path::Path(const std::string& path) : path_(path), shown_(trace::quote(path)) {}
Path::Path(const char* path) : path_(path != nullptr ? path : ""), shown_(trace::quote(path)) {}

// ---- mounts --------------------------------------------------------------

void mount(const char* source, const Path& target, const char* fstype, unsigned long flags, const char* data) {
    std::string call = fmt::format("mount({}, {}, {}, {}, {})", trace::quote(source), target.shown(),
                                   trace::quote(fstype), trace::mount_flags(flags), trace::quote(data));
    check(::mount(source, target.c_str(), fstype, flags, data), call);
}

void umount2(const Path& target, int flags) {
    std::string call =
        fmt::format("umount2({}, {})", target.shown(),
                    trace::flag_names(static_cast<unsigned>(flags), {{MNT_FORCE, "MNT_FORCE"},
                                                                     {MNT_DETACH, "MNT_DETACH"},
                                                                     {MNT_EXPIRE, "MNT_EXPIRE"},
                                                                     {UMOUNT_NOFOLLOW, "UMOUNT_NOFOLLOW"}}));
    check(::umount2(target.c_str(), flags), call);
}

void pivot_root(const Path& new_root, const Path& put_old) {
    std::string call = fmt::format("pivot_root({}, {})", new_root.shown(), put_old.shown());
    // glibc has no wrapper for it.
    check(::syscall(SYS_pivot_root, new_root.c_str(), put_old.c_str()), call);
}

void mount_setattr(const DescribedFd& tree, unsigned int at_flags, uint64_t attr_set) {
    std::string call = fmt::format("mount_setattr({}, \"\", {}, {})", tree.shown, at_flags_text(at_flags),
                                   trace::flag_names(attr_set, {{MOUNT_ATTR_RDONLY, "MOUNT_ATTR_RDONLY"},
                                                                {MOUNT_ATTR_NOSUID, "MOUNT_ATTR_NOSUID"},
                                                                {MOUNT_ATTR_NODEV, "MOUNT_ATTR_NODEV"},
                                                                {MOUNT_ATTR_NOEXEC, "MOUNT_ATTR_NOEXEC"}}));
    mount_attr attr{};
    attr.attr_set = attr_set;
    check(::syscall(SYS_mount_setattr, tree.fd, "", at_flags, &attr, sizeof attr), call);
}

// ---- where we are ------------------------------------------------------

void chroot(const Path& path) {
    std::string call = fmt::format("chroot({})", path.shown());
    check(::chroot(path.c_str()), call);
}

void chdir(const Path& path) {
    std::string call = fmt::format("chdir({})", path.shown());
    check(::chdir(path.c_str()), call);
}

void fchdir(const DescribedFd& dir) {
    std::string call = fmt::format("fchdir({})", dir.shown);
    check(::fchdir(dir.fd), call);
}

// ---- namespaces ------------------------------------------------------------

void setns(const DescribedFd& ns, int nstype) {
    std::string call = fmt::format("setns({}, {})", ns.shown, trace::clone_flags(static_cast<unsigned>(nstype)));
    check(::setns(ns.fd, nstype), call);
}

void unshare(int flags) {
    std::string call = fmt::format("unshare({})", trace::clone_flags(static_cast<unsigned>(flags)));
    check(::unshare(flags), call);
}

void sethostname(const std::string& name) {
    std::string call = fmt::format("sethostname({})", trace::quote(name));
    check(::sethostname(name.data(), name.size()), call);
}

std::string gethostname() {
    char name[HOST_NAME_MAX + 1] = {};
    check(::gethostname(name, sizeof name - 1), "gethostname()");
    return name;
}

// ---- files ---------------------------------------------------------------

void mkdir(const Path& path, mode_t mode) {
    std::string call = fmt::format("mkdir({}, {})", path.shown(), octal(mode));
    check(::mkdir(path.c_str(), mode), call);
}

bool mkdir_if_missing(const Path& path, mode_t mode) {
    std::string call = fmt::format("mkdir({}, {})", path.shown(), octal(mode));
    int rc = ::mkdir(path.c_str(), mode);
    if (rc != 0 && errno == EEXIST) {
        return false;
    }
    check(rc, call);
    return true;
}

namespace {

std::string mkdirat_text(const DescribedFd& dir, const std::string& name, mode_t mode) {
    return fmt::format("mkdirat({}, {}, {})", dir.shown, trace::quote(name), octal(mode));
}

std::string create_file_at_text(const DescribedFd& dir, const std::string& name, mode_t mode) {
    return fmt::format("openat({}, {}, O_WRONLY|O_CREAT|O_EXCL, {})", dir.shown, trace::quote(name), octal(mode));
}

int create_file_at_rc(int dir, const std::string& name, mode_t mode) {
    Fd file{::openat(dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)};
    return file ? 0 : -1;
}

}  // namespace

void mkdirat(const DescribedFd& dir, const std::string& name, mode_t mode) {
    check(::mkdirat(dir.fd, name.c_str(), mode), mkdirat_text(dir, name, mode));
}

void create_file_at(const DescribedFd& dir, const std::string& name, mode_t mode) {
    check(create_file_at_rc(dir.fd, name, mode), create_file_at_text(dir, name, mode));
}

bool mkdirat_if_missing(const DescribedFd& dir, const std::string& name, mode_t mode) {
    int rc = ::mkdirat(dir.fd, name.c_str(), mode);
    if (rc != 0 && errno == EEXIST) {
        return false;
    }
    check(rc, mkdirat_text(dir, name, mode));
    return true;
}

bool create_file_at_if_missing(const DescribedFd& dir, const std::string& name, mode_t mode) {
    int rc = create_file_at_rc(dir.fd, name, mode);
    if (rc != 0 && errno == EEXIST) {
        return false;
    }
    check(rc, create_file_at_text(dir, name, mode));
    return true;
}

void mknod(const Path& path, mode_t mode, dev_t dev) {
    std::string call =
        fmt::format("mknod({}, {}, makedev({}, {}))", path.shown(), mode_text(mode), major(dev), minor(dev));
    check(::mknod(path.c_str(), mode, dev), call);
}

void chmod(const Path& path, mode_t mode) {
    std::string call = fmt::format("chmod({}, {})", path.shown(), octal(mode));
    check(::chmod(path.c_str(), mode), call);
}

void fchmod(const DescribedFd& file, mode_t mode) {
    std::string call = fmt::format("fchmod({}, {})", file.shown, octal(mode));
    check(::fchmod(file.fd, mode), call);
}

void symlink(const std::string& target, const Path& link) {
    std::string call = fmt::format("symlink({}, {})", trace::quote(target), link.shown());
    check(::symlink(target.c_str(), link.c_str()), call);
}

void rename(const Path& from, const Path& to) {
    std::string call = fmt::format("rename({}, {})", from.shown(), to.shown());
    check(::rename(from.c_str(), to.c_str()), call);
}

void utimensat(const Path& path, time_t seconds, int at_flags) {
    std::string call =
        fmt::format("utimensat({}, {}, {})", path.shown(), seconds, at_flags_text(static_cast<unsigned>(at_flags)));
    timespec times[2] = {{seconds, 0}, {seconds, 0}};
    check(::utimensat(AT_FDCWD, path.c_str(), times, at_flags), call);
}

void fsync(const DescribedFd& file) {
    std::string call = fmt::format("fsync({})", file.shown);
    check(::fsync(file.fd), call);
}

void syncfs(const DescribedFd& file) {
    std::string call = fmt::format("syncfs({})", file.shown);
    check(::syncfs(file.fd), call);
}

Fd try_openat2(int dir, const std::string& path, int flags, uint64_t resolve) {
    open_how how{};
    how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
    how.resolve = resolve;
    // EAGAIN: a rename somewhere under `dir` raced with the walk, and the
    // kernel could not prove ".." stayed inside. Walk again.
    int fd = -1;
    int tries = 0;
    do {
        fd = static_cast<int>(::syscall(SYS_openat2, dir, path.c_str(), &how, sizeof how));
    } while (fd < 0 && errno == EAGAIN && ++tries < 100);
    return Fd{fd};
}

Fd openat2(const DescribedFd& dir, const std::string& path, int flags, uint64_t resolve) {
    std::string call = fmt::format("openat2({}, {}, {})", dir.shown, trace::quote(path), resolve_text(resolve));
    Fd fd = try_openat2(dir.fd, path, flags, resolve);
    if (!fd) {
        throw_errno(call);
    }
    return fd;
}

void write_file(const Path& path, const std::string& text) {
    std::string call = fmt::format("write({}, {})", path.shown(), trace::quote(text));
    // O_CREAT|O_TRUNC, like the shell's ">": harmless on the kernel's own
    // files, which always exist, and it lets tests use plain files instead.
    Fd fd{::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
    check(fd ? write_once(fd.get(), text) : -1, call);
}

void write(const DescribedFd& file, const std::string& text) {
    std::string call = fmt::format("write({}, {})", file.shown, trace::quote(text));
    check(write_once(file.fd, text), call);
}

std::string read_all(const DescribedFd& file) { return read_rest(file.fd, fmt::format("read({})", file.shown)); }

std::string read_file(const std::string& path) {
    Fd fd = open_fd(path, O_RDONLY);
    return read_rest(fd.get(), fmt::format("read({})", trace::quote(path)));
}

// ---- descriptors and processes ----------------------------------------------

Pipe pipe(const std::string& purpose) {
    std::string call = fmt::format("pipe2({})", purpose);
    int fds[2];
    check(::pipe2(fds, O_CLOEXEC), call);
    return Pipe{Fd{fds[0]}, Fd{fds[1]}};
}

SocketPair socketpair(int type, const std::string& purpose) {
    std::string call =
        fmt::format("socketpair(AF_UNIX, {}) for {}", type == SOCK_STREAM ? "SOCK_STREAM" : "SOCK_SEQPACKET", purpose);
    int fds[2];
    check(::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, fds), call);
    return SocketPair{Fd{fds[0]}, Fd{fds[1]}};
}

void dup2(const DescribedFd& from, int to) {
    std::string call = fmt::format("dup2({}, {})", from.shown, to);
    check(::dup2(from.fd, to), call);
}

void dup2(int from, int to) { dup2(DescribedFd{from, std::to_string(from)}, to); }

void close_range(unsigned int first, unsigned int last, unsigned int flags) {
    std::string call = fmt::format("close_range({}, {}, {})", first, last == ~0U ? "~0U" : std::to_string(last),
                                   trace::flag_names(flags, {{CLOSE_RANGE_CLOEXEC, "CLOSE_RANGE_CLOEXEC"},
                                                             {CLOSE_RANGE_UNSHARE, "CLOSE_RANGE_UNSHARE"}}));
    check(::close_range(first, last, static_cast<int>(flags)), call);
}

pid_t setsid() { return static_cast<pid_t>(check(::setsid(), "setsid()")); }

void pidfd_send_signal(const DescribedFd& pidfd, int sig) {
    std::string call = fmt::format("pidfd_send_signal({}, {})", pidfd.shown, signal_name(sig));
    check(::syscall(SYS_pidfd_send_signal, pidfd.fd, sig, nullptr, 0), call);
}

Fd signalfd(const sigset_t& set) {
    std::string names;
    for (int sig = 1; sig < NSIG; ++sig) {
        if (sigismember(&set, sig) == 1) {
            names += (names.empty() ? "" : "|") + signal_name(sig);
        }
    }
    std::string call = fmt::format("signalfd({})", names);
    return Fd{static_cast<int>(check(::signalfd(-1, &set, SFD_CLOEXEC), call))};
}

// ---- terminals and sockets ----------------------------------------------------

Fd posix_openpt(int flags) {
    std::string mode = (flags & O_ACCMODE) == O_RDWR     ? "O_RDWR"
                       : (flags & O_ACCMODE) == O_WRONLY ? "O_WRONLY"
                                                         : "O_RDONLY";
    std::string call = fmt::format("posix_openpt({}{})", mode, (flags & O_NOCTTY) != 0 ? "|O_NOCTTY" : "");
    return Fd{static_cast<int>(check(::posix_openpt(flags | O_CLOEXEC), call))};
}

void grantpt(const DescribedFd& master) {
    std::string call = fmt::format("grantpt({})", master.shown);
    check(::grantpt(master.fd), call);
}

void unlockpt(const DescribedFd& master) {
    std::string call = fmt::format("unlockpt({})", master.shown);
    check(::unlockpt(master.fd), call);
}

void set_controlling_terminal(const DescribedFd& tty) {
    std::string call = fmt::format("ioctl({}, TIOCSCTTY)", tty.shown);
    check(::ioctl(tty.fd, TIOCSCTTY, 0), call);
}

void send_fd(int socket, const DescribedFd& fd) {
    std::string call = fmt::format("sendmsg(SCM_RIGHTS, {})", fd.shown);
    // One byte of data (a message must carry some), and the descriptor in
    // the control part; the kernel installs a copy of it in the receiver.
    char control[CMSG_SPACE(sizeof(int))] = {};
    char byte = 'F';
    iovec iov{&byte, 1};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cmsg), &fd.fd, sizeof(int));
    check(::sendmsg(socket, &msg, MSG_NOSIGNAL), call);
}

Fd receive_fd(int socket) {
    char control[CMSG_SPACE(sizeof(int))] = {};
    char byte = 0;
    iovec iov{&byte, 1};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    check(::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC), "recvmsg(SCM_RIGHTS)");
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    if (cmsg == nullptr || cmsg->cmsg_type != SCM_RIGHTS) {
        throw std::runtime_error("recvmsg(SCM_RIGHTS): no descriptor came");
    }
    int fd = -1;
    std::memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
    return Fd{fd};
}

// ---- privileges (chapter 09) ---------------------------------------------------

void capbset_drop(int cap, const std::string& name) {
    std::string call = fmt::format("prctl(PR_CAPBSET_DROP, {})", name);
    check(::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), call);
}

void clear_ambient_capabilities() {
    std::string call = "prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)";
    check(::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), call);
}

void capset(uint64_t effective, uint64_t permitted, uint64_t inheritable) {
    std::string call = fmt::format("capset({{effective={:#x}, permitted={:#x}, inheritable={:#x}}})", effective,
                                   permitted, inheritable);
    // Version 3: two 32-bit words per set, low word first.
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2] = {};
    for (int i = 0; i < 2; ++i) {
        data[i].effective = static_cast<uint32_t>(effective >> (32 * i));
        data[i].permitted = static_cast<uint32_t>(permitted >> (32 * i));
        data[i].inheritable = static_cast<uint32_t>(inheritable >> (32 * i));
    }
    check(::syscall(SYS_capset, &header, data), call);
}

void set_no_new_privs() { check(::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS, 1)"); }

void seccomp_set_filter(const std::string& program, const std::string& shown) {
    std::string call =
        fmt::format("seccomp(SECCOMP_SET_MODE_FILTER, 0, {{len={}, {}}})", program.size() / sizeof(sock_filter), shown);
    sock_fprog prog{};
    prog.len = static_cast<unsigned short>(program.size() / sizeof(sock_filter));
    // The kernel copies the program: a pointer into our string is enough.
    prog.filter = reinterpret_cast<sock_filter*>(const_cast<char*>(program.data()));  // NOLINT
    check(::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog), call);
}

void setgroups(const std::vector<gid_t>& groups) {
    std::string call = fmt::format("setgroups({}, [{}])", groups.size(), fmt::join(groups, ", "));
    check(::setgroups(groups.size(), groups.data()), call);
}

void setresgid(gid_t gid) { check(::setresgid(gid, gid, gid), fmt::format("setresgid({0}, {0}, {0})", gid)); }

void setresuid(uid_t uid) { check(::setresuid(uid, uid, uid), fmt::format("setresuid({0}, {0}, {0})", uid)); }

Fd bpf_load_device_program(const std::vector<BpfInsn>& insns) {
    static_assert(sizeof(BpfInsn) == sizeof(bpf_insn));
    std::string call = fmt::format(
        "bpf(BPF_PROG_LOAD, {{type=BPF_PROG_TYPE_CGROUP_DEVICE, insn_cnt={}, license=\"GPL\"}})", insns.size());
    static const char license[] = "GPL";
    bpf_attr attr{};
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insns = reinterpret_cast<uint64_t>(insns.data());  // NOLINT: the kernel's u64 for a pointer
    attr.insn_cnt = static_cast<uint32_t>(insns.size());
    attr.license = reinterpret_cast<uint64_t>(license);  // NOLINT
    long fd = ::syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
    check(fd, call);
    Fd owned{static_cast<int>(fd)};
    // bpf(2) sets close-on-exec itself on the descriptors it returns.
    return owned;
}

void bpf_attach_device_program(const DescribedFd& cgroup, const DescribedFd& program) {
    std::string call = fmt::format("bpf(BPF_PROG_ATTACH, {{target={}, attach_bpf={}, type=BPF_CGROUP_DEVICE}})",
                                   cgroup.shown, program.shown);
    bpf_attr attr{};
    attr.target_fd = static_cast<uint32_t>(cgroup.fd);
    attr.attach_bpf_fd = static_cast<uint32_t>(program.fd);
    attr.attach_type = BPF_CGROUP_DEVICE;
    check(::syscall(SYS_bpf, BPF_PROG_ATTACH, &attr, sizeof attr), call);
}

}  // namespace minidocker::sys
