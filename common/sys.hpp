/// \file
/// sys.hpp - the system calls the chapters make, each one a function that
/// describes itself.
///
/// Introduced in chapter 01, used by every chapter. A wrapper takes typed
/// arguments, builds from them the text a student reads in `--trace` and in
/// an error (flags by name, strings quoted, as strace shows them), makes the
/// call, narrates it through check() (error.hpp), and throws
/// std::system_error with that text when it fails:
///
/// \code{.cpp}
///   sys::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
///   //   [01 namespaces] mount("proc", "/proc", "proc", MS_NOSUID|MS_NODEV|MS_NOEXEC, NULL) = 0
///   sys::mkdir("/nonexistent/x", 0755);
///   //   throws: mkdir("/nonexistent/x", 0755): No such file or directory
/// \endcode
///
/// So the call is written once: what it does and what it says cannot drift
/// apart. Where an argument means more than its raw value (a descriptor
/// opened from /proc/123/ns/net, a /proc/self/fd/N path that stands for a
/// checked place in the rootfs), the call site says what it means, and the
/// trace shows that:
///
/// \code{.cpp}
///   sys::setns({ns.get(), "fd of /proc/123/ns/net"}, CLONE_NEWNET);
///   sys::mount(source, {"/proc/self/fd/7", "\"/data\" (in the rootfs)"}, nullptr, MS_BIND, nullptr);
/// \endcode
///
/// clone(2) and clone3(2) have their wrappers in process.hpp
/// (clone_process(), clone_process_into()): they return twice, and only the
/// parent narrates.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <cstdint>
#include <ctime>
#include <string>
#include <utility>
#include <vector>

#include "fd.hpp"

namespace minidocker::sys {

/// A path argument. Made from a string, the trace shows it quoted; a call
/// site whose path says less than it means gives the words to show:
/// \code{.cpp}
///   sys::mkdir(dir + "/etc", 0755);                      // mkdir("/var/.../init/etc", 0755)
///   sys::mkdir({dir + "/etc", "\"init/etc\""}, 0755);   // mkdir("init/etc", 0755)
/// \endcode
class Path {
public:
    Path(const std::string& path);  // NOLINT(google-explicit-constructor): any string is a path
    Path(const char* path);         // NOLINT(google-explicit-constructor)
    Path(std::string path, std::string shown) : path_(std::move(path)), shown_(std::move(shown)) {}

    const char* c_str() const { return path_.c_str(); }
    const std::string& shown() const { return shown_; }

private:
    std::string path_;
    std::string shown_;
};

/// A descriptor argument and the words the trace shows for it: a number
/// means nothing to a reader (and changes from run to run), so every
/// wrapper that takes a descriptor takes its description too:
/// `{fd.get(), "fd of /proc/123/ns/net"}`, `{tree.get(), "tree"}`,
/// `{fd.get(), trace::quote(path)}` for one opened from a path.
struct DescribedFd {
    int fd;
    std::string shown;
};

// ---- mounts --------------------------------------------------------------

/// mount(2). `source`, `fstype` and `data` may be nullptr (shown as NULL).
void mount(const char* source, const Path& target, const char* fstype, unsigned long flags, const char* data);
/// umount2(2): `umount2(".", MNT_DETACH)`.
void umount2(const Path& target, int flags);
/// pivot_root(2): `pivot_root(".", ".")`.
void pivot_root(const Path& new_root, const Path& put_old);
/// mount_setattr(2) on the mount open as `tree` (path "", so `at_flags`
/// holds AT_EMPTY_PATH), setting the MOUNT_ATTR_* bits of `attr_set`:
/// `mount_setattr(tree, "", AT_EMPTY_PATH, MOUNT_ATTR_RDONLY)`.
void mount_setattr(const DescribedFd& tree, unsigned int at_flags, uint64_t attr_set);

// ---- where we are ------------------------------------------------------

void chroot(const Path& path);
void chdir(const Path& path);
void fchdir(const DescribedFd& dir);

// ---- namespaces ------------------------------------------------------------

/// setns(2): `setns(fd of /proc/123/ns/net, CLONE_NEWNET)`.
void setns(const DescribedFd& ns, int nstype);
/// unshare(2): `unshare(CLONE_NEWCGROUP)`.
void unshare(int flags);
void sethostname(const std::string& name);
std::string gethostname();

// ---- files ---------------------------------------------------------------

/// mkdir(2): `mkdir("/sys/fs/cgroup/pids/minidocker", 0755)`.
void mkdir(const Path& path, mode_t mode);
/// mkdir(2), except that a directory (or anything) already at `path` is no
/// error: then nothing is narrated and it returns false. True: made.
bool mkdir_if_missing(const Path& path, mode_t mode);
/// mkdirat(2): `name` in the directory open as `dir`.
void mkdirat(const DescribedFd& dir, const std::string& name, mode_t mode);
/// A new empty file `name` in the directory open as `dir`, by
/// openat(O_WRONLY|O_CREAT|O_EXCL), which never follows a symbolic link.
void create_file_at(const DescribedFd& dir, const std::string& name, mode_t mode);
/// mkdirat() and create_file_at(), except that anything already named
/// `name` there (a symbolic link too, even a dangling one) is no error:
/// then nothing is narrated and they return false. True: made.
bool mkdirat_if_missing(const DescribedFd& dir, const std::string& name, mode_t mode);
bool create_file_at_if_missing(const DescribedFd& dir, const std::string& name, mode_t mode);
/// mknod(2): `mknod("/dev/null", S_IFCHR|0666, makedev(1, 3))`.
void mknod(const Path& path, mode_t mode, dev_t dev);
void chmod(const Path& path, mode_t mode);
void fchmod(const DescribedFd& file, mode_t mode);
/// symlink(2): a link at `link` whose content is `target`.
void symlink(const std::string& target, const Path& link);
void rename(const Path& from, const Path& to);
/// utimensat(2) relative to the working directory: both the access and
/// the modification time set to `seconds` since the epoch.
void utimensat(const Path& path, time_t seconds, int at_flags);
void fsync(const DescribedFd& file);
/// syncfs(2): every file of the filesystem that `file` is on, to disk.
void syncfs(const DescribedFd& file);

/// openat2(2) (Linux 5.6) of `path` below the directory `dir`, with
/// RESOLVE_* rules for the walk (RESOLVE_IN_ROOT: "/" and ".." stop at
/// `dir`), O_CLOEXEC added, retried when a rename raced with the walk
/// (EAGAIN). Not narrated: opening changes nothing.
/// Throws `openat2(rootfs, "/data", RESOLVE_IN_ROOT)`...
Fd openat2(const DescribedFd& dir, const std::string& path, int flags, uint64_t resolve);
/// The same, for callers to whom a failed walk is an answer (ELOOP: a
/// symbolic link on the way; ENOENT: make it): an empty Fd, errno says why.
Fd try_openat2(int dir, const std::string& path, int flags, uint64_t resolve);

/// `text` into `path` in one write(2), the way `echo -n text > path` does
/// (created if missing, emptied first). For the small control files of the
/// kernel, such as a cgroup's, which take a value in one write and answer
/// a bad one right there: `write("/sys/fs/cgroup/pids/.../pids.max", "64") = 2`.
void write_file(const Path& path, const std::string& text);
/// `text` in one write(2) to a descriptor opened earlier.
void write(const DescribedFd& file, const std::string& text);

/// Everything left to read from `file`. Not narrated. Throws `read(<shown>)`.
std::string read_all(const DescribedFd& file);
/// The whole file. Not narrated. Throws `open("path")` or `read("path")`.
std::string read_file(const std::string& path);

// ---- descriptors and processes ----------------------------------------------

/// pipe2(2), both ends close-on-exec. `purpose` names it in the trace:
/// pipe("stdout") narrates `pipe2(stdout) = 0`.
struct Pipe {
    Fd read;
    Fd write;
};
Pipe pipe(const std::string& purpose);

/// socketpair(2) of AF_UNIX, `type` SOCK_STREAM or SOCK_SEQPACKET, both ends
/// close-on-exec: `socketpair(AF_UNIX, SOCK_STREAM) for the pty = 0`.
struct SocketPair {
    Fd first;
    Fd second;
};
SocketPair socketpair(int type, const std::string& purpose);

/// dup2(2): `dup2(slave, 0)`; the plain-number form shows both numbers.
void dup2(const DescribedFd& from, int to);
void dup2(int from, int to);
/// close_range(2): `close_range(3, ~0U, CLOSE_RANGE_CLOEXEC)`.
void close_range(unsigned int first, unsigned int last, unsigned int flags);
/// setsid(2): narrated with the new session's id, ours: `setsid() = 4242`.
pid_t setsid();
/// pidfd_send_signal(2): `pidfd_send_signal(pidfd of 4242, SIGTERM)`.
void pidfd_send_signal(const DescribedFd& pidfd, int sig);
/// signalfd(2) for the signals in `set` (blocked by the caller), close-on-exec:
/// `signalfd(SIGWINCH)`.
Fd signalfd(const sigset_t& set);

// ---- terminals and sockets ----------------------------------------------------

/// posix_openpt(3), O_CLOEXEC added: a new pseudo-terminal master.
Fd posix_openpt(int flags);
void grantpt(const DescribedFd& master);
void unlockpt(const DescribedFd& master);
/// ioctl(TIOCSCTTY): `tty` becomes our controlling terminal.
void set_controlling_terminal(const DescribedFd& tty);
/// Sends the descriptor `fd` over the Unix socket `socket` (sendmsg with
/// SCM_RIGHTS): `sendmsg(SCM_RIGHTS, the pty master)`.
void send_fd(int socket, const DescribedFd& fd);
/// Receives one (recvmsg with SCM_RIGHTS), close-on-exec.
Fd receive_fd(int socket);

// ---- privileges (chapter 09) ---------------------------------------------------

/// prctl(PR_CAPBSET_DROP): `cap` leaves our bounding set, for good and for
/// every later execve: `prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN)`. `name` is
/// the capability's name, for the trace.
void capbset_drop(int cap, const std::string& name);
/// prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL): no ambient capabilities.
void clear_ambient_capabilities();
/// capset(2), version 3 (64 bits), for ourselves:
/// `capset({effective=0xa80425fb, permitted=0xa80425fb, inheritable=0})`.
void capset(uint64_t effective, uint64_t permitted, uint64_t inheritable);
/// prctl(PR_SET_NO_NEW_PRIVS, 1): no execve will give us privileges again
/// (setuid bits and file capabilities are ignored).
void set_no_new_privs();
/// seccomp(SECCOMP_SET_MODE_FILTER, 0, prog) with the classic BPF program
/// `program` (struct sock_filter[], as bytes). `shown` names it:
/// `seccomp(SECCOMP_SET_MODE_FILTER, 0, {len=612, the default profile})`.
void seccomp_set_filter(const std::string& program, const std::string& shown);
/// setgroups(2): `setgroups(2, [10, 20])`.
void setgroups(const std::vector<gid_t>& groups);
/// setresgid(2) and setresuid(2) with one id for real, effective and saved.
void setresgid(gid_t gid);
void setresuid(uid_t uid);
/// One eBPF instruction (struct bpf_insn of <linux/bpf.h>).
struct BpfInsn {
    uint8_t code;
    uint8_t regs;  ///< dst_reg in the low 4 bits, src_reg in the high 4
    int16_t off;
    int32_t imm;
};
/// bpf(BPF_PROG_LOAD) of a BPF_PROG_TYPE_CGROUP_DEVICE program, license
/// "GPL": `bpf(BPF_PROG_LOAD, {type=BPF_PROG_TYPE_CGROUP_DEVICE, insn_cnt=42, ...})`.
/// Returns the program's descriptor.
Fd bpf_load_device_program(const std::vector<BpfInsn>& insns);
/// bpf(BPF_PROG_ATTACH) of that program to the cgroup v2 directory open as
/// `cgroup`, type BPF_CGROUP_DEVICE.
void bpf_attach_device_program(const DescribedFd& cgroup, const DescribedFd& program);

}  // namespace minidocker::sys
