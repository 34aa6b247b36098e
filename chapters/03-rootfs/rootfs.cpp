// rootfs.cpp - chapter 03: chroot vs pivot_root, and the mounts a container needs.
//
// The whole chapter in one sentence: bind the root filesystem onto itself,
// pivot_root into it and detach the old root, so the host's files are not
// hidden but gone from the container's mount table; then mount /dev, /sys
// and friends inside, and fence off the dangerous corners of /proc.
#include "rootfs.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/openat2.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>

#include "error.hpp"
#include "fd.hpp"
#include "trace.hpp"

namespace minidocker {

std::string resolve_rootfs(const std::string& dir) {
    // realpath() resolves a relative path against our current directory and
    // follows the host's symbolic links once, here, where the user meant them.
    char resolved[PATH_MAX];
    if (::realpath(dir.c_str(), resolved) == nullptr) {
        throw UsageError(fmt::format("--rootfs \"{}\": {}", dir, std::generic_category().message(errno)));
    }
    struct stat st {};
    if (::stat(resolved, &st) != 0 || !S_ISDIR(st.st_mode)) {
        throw UsageError(fmt::format("--rootfs \"{}\": not a directory", dir));
    }
    return resolved;
}

//! [ch03-paths]
const std::vector<std::string>& masked_paths() {
    static const std::vector<std::string> paths = {
        "/proc/kcore",        // the host's physical memory, as an ELF core file
        "/proc/keys",         // the kernel keyring, with other users' key names
        "/proc/timer_list",   // every timer of every process on the host
        "/proc/sched_debug",  // the scheduler's view of every host process
    };
    return paths;
}

const std::vector<std::string>& read_only_paths() {
    static const std::vector<std::string> paths = {
        "/proc/sys",            // sysctls: writing them changes the host's kernel
        "/proc/sysrq-trigger",  // "echo b >" reboots the host
        "/proc/irq",            // interrupt routing of the host's CPUs
        "/proc/bus",            // raw PCI and USB device access
    };
    return paths;
}
//! [ch03-paths]

namespace {

// mount(2), narrated for --trace with its flags by name.
void mount_checked(const char* source, const std::string& target, const char* fstype, unsigned long flags,
                   const char* data) {
    check(::mount(source, target.c_str(), fstype, flags, data),
          fmt::format("mount({}, \"{}\", {}, {}, {})", trace::quote(source), target, trace::quote(fstype),
                      trace::mount_flags(flags), trace::quote(data)));
}

//! [ch03-safe-target]
// open() `path` inside the directory `root_fd`, the way openat2(2) can:
// RESOLVE_IN_ROOT makes "/" and ".." stop at root_fd, as if it were "/";
// RESOLVE_NO_SYMLINKS fails with ELOOP on any symbolic link on the way.
int open_in_root(int root_fd, const std::string& path, int flags) {
    struct open_how how {};
    how.flags = static_cast<unsigned long long>(flags | O_CLOEXEC);
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS;
    // EAGAIN: a rename somewhere under root_fd raced with the walk, and
    // the kernel could not prove ".." stayed inside. Walk again.
    int fd;
    int tries = 0;
    do {
        fd = static_cast<int>(::syscall(SYS_openat2, root_fd, path.c_str(), &how, sizeof how));
    } while (fd < 0 && errno == EAGAIN && ++tries < 100);
    return fd;
}

[[noreturn]] void refuse(const std::string& path, const std::string& why) {
    throw UsageError(fmt::format("rootfs: cannot mount on \"{}\": {}", path, why));
}

}  // namespace

// Why bother, when after pivot_root no path leads to the host anyway? Because
// a root filesystem is data from somewhere (an image, a tarball), and a
// planted `/dev -> /etc` would otherwise make us mount a tmpfs over the
// container's own /etc, silently. A mount point must be what it looks like.
// Before the switch (with --chroot, too) a symlink could even point out of
// the rootfs; that is why nothing before the switch uses a path inside it.
void make_mount_target(const std::string& root, const std::string& path, TargetKind kind) {
    Fd root_fd = open_fd(root, O_PATH | O_DIRECTORY);
    size_t slash = path.rfind('/');
    std::string parent = slash == 0 ? "/" : path.substr(0, slash);
    std::string name = path.substr(slash + 1);

    Fd dir{open_in_root(root_fd.get(), parent, O_PATH | O_DIRECTORY)};
    if (!dir) {
        refuse(path, errno == ELOOP ? fmt::format("\"{}\" is or passes a symbolic link", parent)
                                    : fmt::format("\"{}\": {}", parent, std::generic_category().message(errno)));
    }
    // Create the last component if it is missing. Neither mkdirat() nor
    // O_CREAT|O_EXCL follows a symbolic link that is already there.
    int rc = 0;
    if (kind == TargetKind::directory) {
        rc = ::mkdirat(dir.get(), name.c_str(), 0755);
    } else {
        Fd created{::openat(dir.get(), name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)};
        rc = created ? 0 : -1;
    }
    if (rc >= 0) {
        trace::step(fmt::format("{}(\"{}\") = 0", kind == TargetKind::directory ? "mkdir" : "creat", path));
    } else if (errno != EEXIST) {
        throw_errno(fmt::format("{}(\"{}\")", kind == TargetKind::directory ? "mkdir" : "creat", path));
    }

    Fd target{open_in_root(root_fd.get(), path, O_PATH)};
    if (!target) {
        refuse(path, errno == ELOOP ? std::string("it is a symbolic link") : std::generic_category().message(errno));
    }
    struct stat st {};
    if (::fstat(target.get(), &st) != 0) {
        throw_errno(fmt::format("fstat(\"{}\")", path));
    }
    if (kind == TargetKind::directory && !S_ISDIR(st.st_mode)) {
        refuse(path, "it is not a directory");
    }
    if (kind == TargetKind::file && S_ISDIR(st.st_mode)) {
        refuse(path, "it is a directory");
    }
}
//! [ch03-safe-target]

void RootFs::add_run_options(CLI::App& run) {
    run.add_option("--rootfs", rootfs_, "Root filesystem: a directory that becomes the container's \"/\"");
    run.add_flag("--chroot", use_chroot_,
                 "Switch root with chroot(2) instead of pivot_root(2): INSECURE, a root process can escape");
    run.add_flag("--read-only", read_only_, "Mount the container's \"/\" read-only (/dev, /dev/shm stay writable)");
}

void RootFs::prepare(Container& c) {
    if (rootfs_.empty()) {
        return;
    }
    // pivot_root and all our mounts change the mount table: without a mount
    // namespace of its own, they would change the host's.
    if ((c.clone_flags & CLONE_NEWNS) == 0) {
        throw UsageError("--rootfs needs the mnt namespace (add mnt to --ns)");
    }
    c.rootfs = resolve_rootfs(rootfs_);
}

void RootFs::create(Container& c) {
    // Checked here, after every feature's prepare and before clone(), so a
    // later chapter that brings its own root filesystem (04: images) counts
    // as one too.
    if (c.rootfs.empty() && (use_chroot_ || read_only_)) {
        throw UsageError(
            fmt::format("{} needs a root filesystem (--rootfs DIR)", use_chroot_ ? "--chroot" : "--read-only"));
    }
    if (!c.rootfs.empty() && (c.clone_flags & CLONE_NEWNS) == 0) {
        throw UsageError("a root filesystem needs the mnt namespace (add mnt to --ns)");
    }
}

//! [ch03-bind]
void RootFs::setup_before_root(Container& c) {
    if (c.rootfs.empty()) {
        return;
    }
    // pivot_root() wants the new root to be a mount point, and a plain
    // directory is not one. Binding it onto itself makes it one. MS_REC takes
    // along whatever is already mounted below it. Chapter 01 made "/"
    // private, so this mount stays in our namespace.
    // TODO(03.1): bind c.rootfs onto itself, with mount_checked(): source and
    //   target both c.rootfs (use c.rootfs.c_str() as the source), no
    //   filesystem type (nullptr), flags MS_BIND | MS_REC, no data (nullptr).
    //   pivot_root() (TODO 03.2) fails (EINVAL, or EBUSY) unless its new root is a
    //   mount point, and a plain directory is not one; a bind mount of it on
    //   itself is. MS_REC carries along whatever is mounted below it. Read
    //   mount(2), "Creating a bind mount", and pivot_root(2), the list of
    //   requirements under DESCRIPTION ("new_root must be a path to a mount
    //   point"). Chapter 01 made "/" private, so the new mount stays in this
    //   mount namespace: mount_namespaces(7), "SHARED SUBTREES".
    //{ TODO(03.1)
    mount_checked(c.rootfs.c_str(), c.rootfs, nullptr, MS_BIND | MS_REC, nullptr);
    //} TODO(03.1)
}
//! [ch03-bind]

void RootFs::switch_root(Container& c) {
    if (c.rootfs.empty()) {
        return;
    }
    check(::chdir(c.rootfs.c_str()), fmt::format("chdir(\"{}\")", c.rootfs));
    if (use_chroot_) {
        //! [ch03-chroot]
        trace::step("--chroot: the INSECURE way; the host's mounts stay in our mount table");
        // chroot() only changes where "/" starts for path lookups. The host's
        // whole tree is still mounted in our namespace, and a root process
        // that chroot()s again into a subdirectory, without chdir(), can walk
        // ".." up and out (see the probe's chroot-escape).
        check(::chroot("."), "chroot(\".\")");
        //! [ch03-chroot]
    } else {
        //! [ch03-pivot]
        // pivot_root(new_root, put_old) moves the old root to put_old and
        // makes new_root "/". With "." for both, the old root ends up stacked
        // on top of the new one, at our working directory...
        // TODO(03.2): switch the root. We are in the rootfs already (the
        //   chdir above). Call pivot_root(".", "."): glibc has no wrapper, so
        //   ::syscall(SYS_pivot_root, ".", "."), wrapped in check() with the
        //   text "pivot_root(\".\", \".\")" (--trace prints it; a test reads
        //   it). Our "/" is now the rootfs, and the old root, the host's whole
        //   tree, is mounted on top of it, at our working directory. Read
        //   pivot_root(2): the list of requirements under DESCRIPTION, and in
        //   NOTES the paragraph on pivot_root(".", "."). Then delete the
        //   throw below: it stops the container from running its command in
        //   the host's "/" while this TODO is open.
        //{ TODO(03.2)
        //| throw std::runtime_error("TODO(03.2): no pivot_root() yet, so \"/\" is still the host's");
        check(::syscall(SYS_pivot_root, ".", "."), "pivot_root(\".\", \".\")");
        //} TODO(03.2)
        // ...and we detach it. With it go all the host's mounts: from now on
        // no path and no ".." in this namespace leads to a host file.
        // TODO(03.3): detach the old root that pivot_root() stacked on top of
        //   ours: umount2(".", MNT_DETACH), in check() with the text
        //   "umount2(\".\", MNT_DETACH)". "." names the mount on top, the
        //   old root. MNT_DETACH is a lazy unmount: the whole tree leaves our
        //   mount table at once (a plain umount would fail with EBUSY: the
        //   host's mounts below it are busy), and the kernel frees it when
        //   nothing uses it any more. Until then, ".." from "/" climbs onto
        //   the host's root. Read umount2(2), MNT_DETACH, and pivot_root(2),
        //   NOTES, the pivot_root(".", ".") paragraph again: its example is
        //   exactly these two calls.
        //{ TODO(03.3)
        check(::umount2(".", MNT_DETACH), "umount2(\".\", MNT_DETACH)");
        //} TODO(03.3)
        //! [ch03-pivot]
    }
    check(::chdir("/"), "chdir(\"/\")");
    // Chapter 01 mounts /proc right after this moment: make sure the rootfs's
    // top-level mount points are real directories (created if missing).
    for (const char* dir : {"/proc", "/dev", "/sys"}) {
        make_mount_target("/", dir, TargetKind::directory);
    }
}

namespace {

//! [ch03-dev]
// The device nodes every program may expect, as in Docker. Bind-mounting the
// host's nodes is what runtimes do in a user namespace, where mknod() is not
// allowed; here we are root in the host's user namespace, the host's /dev is
// already detached, and mknod() makes the same devices from their numbers.
void setup_dev() {
    // A fresh tmpfs: whatever the rootfs had in /dev (a planted /dev/null ->
    // /etc/passwd, say) is hidden. No MS_NODEV: device nodes must work here.
    make_mount_target("/", "/dev", TargetKind::directory);
    mount_checked("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");

    static const struct {
        const char* name;
        unsigned int major;
        unsigned int minor;
    } devices[] = {
        {"/dev/null", 1, 3},   {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
        {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
    };
    // TODO(03.4): make each of these devices in the fresh /dev. For every d
    //   in devices[]: mknod(2) a character device (S_IFCHR | 0666) named
    //   d.name with the number makedev(d.major, d.minor), then chmod(2) it to
    //   0666, because mknod() applied our umask and everyone may use these.
    //   Wrap both in check(), with the texts
    //   "mknod(\"/dev/null\", S_IFCHR|0666, makedev(1, 3))" and
    //   "chmod(\"/dev/null\", 0666)" (fmt::format, with d's fields). Read
    //   mknod(2) and makedev(3); the numbers come from the kernel's
    //   Documentation/admin-guide/devices.txt. Compare `ls -l /dev/null` on
    //   the host: "1, 3" is major, minor.
    //{ TODO(03.4)
    //| static_cast<void>(devices);  // Delete this line: it only keeps -Werror quiet until you use devices[].
    for (const auto& d : devices) {
        check(::mknod(d.name, S_IFCHR | 0666, makedev(d.major, d.minor)),
              fmt::format("mknod(\"{}\", S_IFCHR|0666, makedev({}, {}))", d.name, d.major, d.minor));
        // mknod() applied our umask; everyone may use these.
        check(::chmod(d.name, 0666), fmt::format("chmod(\"{}\", 0666)", d.name));
    }
    //} TODO(03.4)

    static const struct {
        const char* target;
        const char* link;
    } links[] = {
        {"pts/ptmx", "/dev/ptmx"},          {"/proc/self/fd", "/dev/fd"},       {"/proc/self/fd/0", "/dev/stdin"},
        {"/proc/self/fd/1", "/dev/stdout"}, {"/proc/self/fd/2", "/dev/stderr"},
    };
    for (const auto& l : links) {
        check(::symlink(l.target, l.link), fmt::format("symlink(\"{}\", \"{}\")", l.target, l.link));
    }

    // Our own instance of devpts: the container sees only its own terminals,
    // and /dev/ptmx (-> pts/ptmx) allocates them here.
    make_mount_target("/", "/dev/pts", TargetKind::directory);
    mount_checked("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620");
    make_mount_target("/", "/dev/shm", TargetKind::directory);
    mount_checked("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k");
    // POSIX message queues of our IPC namespace.
    make_mount_target("/", "/dev/mqueue", TargetKind::directory);
    mount_checked("mqueue", "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
}
//! [ch03-dev]

// Makes the mount at `path` read-only, keeping its nosuid/nodev/noexec.
// A remount sets all of a mount's flags at once, so we pass the old ones too.
void remount_read_only(const std::string& path) {
    struct statvfs vfs {};
    if (::statvfs(path.c_str(), &vfs) != 0) {
        throw_errno(fmt::format("statvfs(\"{}\")", path));
    }
    unsigned long keep = vfs.f_flag & (MS_NOSUID | MS_NODEV | MS_NOEXEC);
    mount_checked(nullptr, path, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | keep, nullptr);
}

bool exists(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

//! [ch03-mask]
void protect_proc_and_sys() {
    // A masked file reads as empty: /dev/null is bound over it.
    // TODO(03.5): for every path in masked_paths() that exists() (skip the
    //   others: /proc/sched_debug moved to debugfs in Linux 5.13), bind
    //   /dev/null over it with mount_checked(): source "/dev/null", target
    //   path, no type, flags MS_BIND, no data. A bind mount works on files
    //   too, and reading the file then reads /dev/null: nothing. Read mount(2),
    //   "Creating a bind mount". It needs /dev/null from TODO 03.4.
    //{ TODO(03.5)
    for (const std::string& path : masked_paths()) {
        if (!exists(path)) {
            continue;  // /proc/sched_debug moved to debugfs in Linux 5.13
        }
        mount_checked("/dev/null", path, nullptr, MS_BIND, nullptr);
    }
    //} TODO(03.5)
    // The firmware tables (ACPI, EFI variables) hide behind an empty,
    // read-only tmpfs.
    if (exists("/sys/firmware")) {
        mount_checked("tmpfs", "/sys/firmware", "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
    }
    // A read-only bind of a path onto itself: a new mount of the same files
    // that refuses writes with EROFS, while the rest of /proc stays writable.
    // TODO(03.5): for every path in read_only_paths() that exists(), bind it
    //   onto itself (source path.c_str(), target path, no type, MS_BIND |
    //   MS_REC, no data), which makes it a mount of its own, and then
    //   remount_read_only(path), above: a bind mount gets its own flags only
    //   through a second call, a remount. Read mount(2), "Creating a bind
    //   mount" (the paragraph on MS_RDONLY and bind mounts) and "Remounting
    //   an existing mount".
    //{ TODO(03.5)
    for (const std::string& path : read_only_paths()) {
        if (!exists(path)) {
            continue;
        }
        mount_checked(path.c_str(), path, nullptr, MS_BIND | MS_REC, nullptr);
        remount_read_only(path);
    }
    //} TODO(03.5)
}
//! [ch03-mask]

}  // namespace

void RootFs::setup_after_root(Container& c) {
    if (c.rootfs.empty()) {
        return;
    }
    // Every path below is looked up inside the new root: after pivot_root
    // the host is not reachable by any path, so a mount cannot land on a
    // host file. make_mount_target() also refuses symbolic links, so a mount
    // never lands somewhere inside the rootfs other than where it says.
    setup_dev();
    // /sys shows the host's devices: read-only, so nothing there is changed.
    // (A sysfs mount shows the network devices of our network namespace.)
    make_mount_target("/", "/sys", TargetKind::directory);
    mount_checked("sysfs", "/sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
    protect_proc_and_sys();
    check(::chdir("/"), "chdir(\"/\")");
    // TODO(03.6): with --read-only (read_only_), make "/" read-only: call
    //   remount_read_only("/"). It comes last, so the mounts above could
    //   still be made on "/"; /dev, /dev/shm and /proc are mounts of their
    //   own and stay writable. Read remount_read_only() first: why MS_BIND |
    //   MS_REMOUNT, and not MS_REMOUNT alone? (mount(2), "Remounting an
    //   existing mount" and the MS_BIND paragraph there: without MS_BIND the
    //   flags change the filesystem itself, which the host mounts too.)
    //{ TODO(03.6)
    //| static_cast<void>(remount_read_only);  // Delete this line: it only keeps -Werror quiet until you call it.
    if (read_only_) {
        // Last, so the mounts above could still be made on it. /dev, /dev/shm
        // and /proc are mounts of their own and stay writable.
        remount_read_only("/");
    }
    //} TODO(03.6)
}

}  // namespace minidocker
