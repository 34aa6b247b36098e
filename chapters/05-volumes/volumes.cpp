// volumes.cpp - chapter 05: bind mounts that do not break isolation.
//
// The whole chapter in one sentence: in the container's own mount namespace,
// after the root filesystem is mounted and before pivot_root, bind each host
// directory onto a mount point made safely inside the rootfs; the host never
// sees the mount, and the container sees nothing else of the host.
#include "volumes.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "error.hpp"
#include "state.hpp"
#include "store.hpp"
#include "sys.hpp"
#include "trace.hpp"
#include "volume_store.hpp"

namespace minidocker {

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> parts;
    size_t start = 0;
    for (size_t at = s.find(sep); at != std::string::npos; at = s.find(sep, start)) {
        parts.push_back(s.substr(start, at - start));
        start = at + 1;
    }
    parts.push_back(s.substr(start));
    return parts;
}

[[noreturn]] void bad_volume(const std::string& arg, const std::string& why) {
    throw UsageError(fmt::format("-v \"{}\": {}", arg, why));
}

void check_container_path(const std::string& arg, const std::string& path) {
    if (path.empty() || path[0] != '/') {
        bad_volume(arg, fmt::format("the container path \"{}\" must be absolute", path));
    }
    for (const std::string& part : split(path, '/')) {
        if (part == "..") {
            bad_volume(arg, "the container path must not contain \"..\"");
        }
    }
    if (path.find_first_not_of('/') == std::string::npos) {
        bad_volume(arg, "cannot mount over the container's \"/\"");
    }
}

// TODO(05.2): openat2() that resolves `path` as the container will: "/" and
// ".." stop at root_fd, and so do symbolic links. Which flag does that?
//{ TODO(05.2)
// openat2() with RESOLVE_IN_ROOT: "/" and ".." stop at root_fd, and so do
// absolute symbolic links, exactly as they would inside the container.
//} TODO(05.2)
int open_in_root(int root_fd, const std::string& path, int flags) {
    struct open_how how {};
    how.flags = static_cast<unsigned long long>(flags | O_CLOEXEC);
    // TODO(05.2): say how openat2() resolves `path`: how.resolve, a set of
    //   RESOLVE_* flags. root_fd is the container's root filesystem, still a
    //   directory in the host's tree; `path` is "/etc/x" as the container
    //   sees it. With no flag, an absolute path ignores root_fd and names the
    //   host's /etc/x, and so does a symbolic link in the image
    //   (/test -> /etc), or enough ".." (/esc -> ../../..). Every path here,
    //   and every link met on the way, must resolve as if root_fd were "/",
    //   exactly as it will inside the container after pivot_root. Read
    //   openat2(2): RESOLVE_BENEATH, RESOLVE_NO_SYMLINKS, RESOLVE_IN_ROOT.
    //   Two of them refuse what an image may rightly have (an absolute link,
    //   such as /test -> /etc); one follows it, inside the root. Then delete
    //   the throw below: without the flag, open_volume_target() would make
    //   its directories on the host.
    //{ TODO(05.2)
    //| throw UsageError("TODO(05.2): no RESOLVE_* flag yet, so paths in the rootfs would be resolved on the host");
    how.resolve = RESOLVE_IN_ROOT;
    //} TODO(05.2)
    // EAGAIN: a rename somewhere under root_fd raced with the walk, and
    // the kernel could not prove ".." stayed inside. Walk again.
    int fd;
    int tries = 0;
    do {
        fd = static_cast<int>(::syscall(SYS_openat2, root_fd, path.c_str(), &how, sizeof how));
    } while (fd < 0 && errno == EAGAIN && ++tries < 100);
    return fd;
}

//! [ch05-target]
// Where the walk below ended, `fd`, must be a place to mount on.
void check_mount_point(int root_fd, int fd, const std::string& asked, const std::string& target, bool directory) {
    struct stat st {};
    struct stat root {};
    if (::fstat(fd, &st) != 0 || ::fstat(root_fd, &root) != 0) {
        throw_errno(fmt::format("fstat(\"{}\")", target));
    }
    // A link like /test -> ../../.. ends at the container's root, not above
    // it; still, binding over "/" is not what anyone asked for.
    if (st.st_dev == root.st_dev && st.st_ino == root.st_ino) {
        throw UsageError(fmt::format("-v: \"{}\" leads to the container's \"/\"", asked));
    }
    if (directory != S_ISDIR(st.st_mode)) {
        throw UsageError(fmt::format("-v: cannot mount a {} on \"{}\": it is {}", directory ? "directory" : "file",
                                     asked, S_ISDIR(st.st_mode) ? "a directory" : "not a directory"));
    }
}

// The walk of open_volume_target(). `asked` is the path as the user typed
// it, for messages; `target` is where the walk goes after `links` dangling
// symbolic links were followed.
Fd open_target(int root_fd, const std::string& asked, const std::string& target, bool directory, int links) {
    std::vector<std::string> parts;
    for (const std::string& part : split(target, '/')) {
        if (!part.empty() && part != ".") {
            parts.push_back(part);
        }
    }
    std::string done = "/";
    Fd here;
    for (size_t i = 0; i < parts.size(); ++i) {
        bool last = i + 1 == parts.size();
        std::string path = done;  // "/a/b", one part longer each time
        if (path != "/") {
            path += '/';
        }
        path += parts[i];
        here.reset(open_in_root(root_fd, path, O_PATH));
        if (!here && errno == ENOENT) {
            // Missing: make it in the directory we already resolved. The
            // mount point lands in the container's read-write layer.
            Fd parent{open_in_root(root_fd, done, O_PATH | O_DIRECTORY)};
            if (!parent) {
                throw_errno(fmt::format("openat2(rootfs, \"{}\", RESOLVE_IN_ROOT)", done));
            }
            sys::DescribedFd in{parent.get(), fmt::format("\"{}\" (in the rootfs)", done)};
            bool existed = false;
            // TODO(05.2): make the missing parts[i] in `parent` (described as
            //   `in`), the directory resolved so far: a directory (mode 0755)
            //   when more parts follow or when `directory` (a directory is
            //   bound onto a directory); else, for a file to be bound onto, an
            //   empty file (mode 0644). Use the *at() calls with parent's
            //   descriptor and the bare name parts[i], never a path: a path
            //   would be resolved again, from the host's "/".
            //   sys::mkdirat_if_missing() is mkdirat(2), and
            //   sys::create_file_at_if_missing() is openat(2) with O_WRONLY |
            //   O_CREAT | O_EXCL (O_EXCL: never opens what is already there,
            //   not even through a link). Both return false when something is
            //   named parts[i] already: set `existed` then, and the given code
            //   below follows the dangling symbolic link that must be there.
            //   Read mkdirat(2) and openat(2). In an image's container the new
            //   mount point lands in its read-write layer, upper/.
            //{ TODO(05.2)
            //| static_cast<void>(last);  // Delete this line: it only keeps -Werror quiet until you use last.
            if (!last || directory) {
                existed = !sys::mkdirat_if_missing(in, parts[i], 0755);
            } else {
                existed = !sys::create_file_at_if_missing(in, parts[i], 0644);
            }
            //} TODO(05.2)
            if (existed) {
                // A symbolic link to a path the image lacks (/abs -> /tmp/a):
                // follow it as the container would, from its "/" or from the
                // directory it is in, and make what is missing there.
                char link[PATH_MAX];
                ssize_t n = ::readlinkat(parent.get(), parts[i].c_str(), link, sizeof link - 1);
                if (n <= 0 || links >= 40) {
                    throw UsageError(fmt::format("-v: \"{}\" in the container is a symbolic link to nothing", path));
                }
                std::string rest = link[0] == '/' ? std::string(link, static_cast<size_t>(n))
                                                  : done + "/" + std::string(link, static_cast<size_t>(n));
                for (size_t j = i + 1; j < parts.size(); ++j) {
                    rest += "/" + parts[j];
                }
                return open_target(root_fd, asked, rest, directory, links + 1);
            }
            here.reset(open_in_root(root_fd, path, O_PATH));
        }
        if (!here) {
            throw_errno(fmt::format("openat2(rootfs, \"{}\", RESOLVE_IN_ROOT)", path));
        }
        done = path;
    }
    check_mount_point(root_fd, here.get(), asked, target, directory);
    return here;
}
//! [ch05-target]

}  // namespace

//! [ch05-parse]
VolumeSpec parse_volume(const std::string& arg) {
    std::vector<std::string> parts = split(arg, ':');
    VolumeSpec spec;
    if (parts.size() > 3 || std::any_of(parts.begin(), parts.end(), [](const std::string& p) { return p.empty(); })) {
        bad_volume(arg, "expected HOST:CONTAINER[:ro], NAME:CONTAINER[:ro] or CONTAINER");
    }
    // TODO(05.1): fill `spec` from `parts` (arg split at ':': 1 to 3 parts,
    //   none empty, checked just above), as Docker reads -v:
    //   - 3 parts: the third is the mode. "ro" sets spec.read_only, "rw" is
    //     the default spelled out; refuse anything else, naming it:
    //     bad_volume(arg, "unknown mode ... (ro or rw)").
    //   - 1 part: `-v /data`, an anonymous volume (Kind::anonymous); the part
    //     is the container path, spec.target. prepare() names it.
    //   - 2 or 3 parts: spec.source is parts[0], spec.target parts[1]. The
    //     source decides the kind: one that starts with '/' is a host path
    //     (Kind::bind); one that valid_volume_name() (volume_store.hpp)
    //     accepts is a named volume (Kind::named); anything else is refused
    //     with bad_volume(): with a '/' in it, as a host path that "must be
    //     absolute"; without, as an invalid volume name. Why can a relative
    //     host path not be allowed? (What would `-v data:/x` mean?)
    //   check_container_path() below checks spec.target. Every refusal is
    //   bad_volume(), a UsageError naming arg: one line, exit code 125, and
    //   prepare() parses every -v before it makes anything. Then delete the
    //   bad_volume() call below.
    //{ TODO(05.1)
    //| bad_volume(arg, "TODO(05.1): -v is not parsed yet");
    if (parts.size() == 3) {
        if (parts[2] != "ro" && parts[2] != "rw") {
            bad_volume(arg, fmt::format("unknown mode \"{}\" (ro or rw)", parts[2]));
        }
        spec.read_only = parts[2] == "ro";
    }
    if (parts.size() == 1) {
        // `-v /data`: an anonymous volume, a fresh directory of our own.
        spec.kind = VolumeSpec::Kind::anonymous;
        spec.target = parts[0];
    } else {
        spec.source = parts[0];
        spec.target = parts[1];
        if (spec.source[0] == '/') {
            spec.kind = VolumeSpec::Kind::bind;
        } else if (valid_volume_name(spec.source)) {
            spec.kind = VolumeSpec::Kind::named;
        } else if (spec.source.find('/') != std::string::npos) {
            bad_volume(arg, fmt::format("the host path \"{}\" must be absolute", spec.source));
        } else {
            bad_volume(arg, fmt::format("invalid volume name \"{}\": use letters, digits, '_', '.', '-'", spec.source));
        }
    }
    //} TODO(05.1)
    check_container_path(arg, spec.target);
    return spec;
}
//! [ch05-parse]

Fd open_volume_target(int root_fd, const std::string& target, bool directory) {
    return open_target(root_fd, target, target, directory, 0);
}

// Not narrated call by call: a volume may be filled with thousands of files.
void copy_tree(int from, int to) {
    // Its own open of the directory: a dup() would share the read position
    // with the caller's `from`, and leave it at the end.
    Fd listing{::openat(from, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (!listing) {
        throw_errno("openat(\".\", O_DIRECTORY)");
    }
    std::unique_ptr<DIR, int (*)(DIR*)> dir{::fdopendir(listing.get()), ::closedir};
    if (!dir) {
        throw_errno("fdopendir()");
    }
    listing.release();  // closedir() closes it now
    while (dirent* de = ::readdir(dir.get())) {
        std::string name = de->d_name;
        if (name == "." || name == "..") {
            continue;
        }
        struct stat st {};
        if (::fstatat(from, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
            throw_errno(fmt::format("fstatat(\"{}\")", name));
        }
        if (S_ISDIR(st.st_mode)) {
            if (::mkdirat(to, name.c_str(), 0700) != 0) {
                throw_errno(fmt::format("mkdir(\"{}\")", name));
            }
            Fd src{::openat(from, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
            Fd dst{::openat(to, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
            if (!src || !dst) {
                throw_errno(fmt::format("open(\"{}\", O_DIRECTORY)", name));
            }
            copy_tree(src.get(), dst.get());
        } else if (S_ISREG(st.st_mode)) {
            Fd src{::openat(from, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC)};
            Fd dst{::openat(to, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)};
            if (!src || !dst) {
                throw_errno(fmt::format("copy \"{}\"", name));
            }
            char buf[64 * 1024];
            for (ssize_t n; (n = ::read(src.get(), buf, sizeof buf)) > 0;) {
                if (::write(dst.get(), buf, static_cast<size_t>(n)) != n) {
                    throw_errno(fmt::format("write(\"{}\")", name));
                }
            }
        } else if (S_ISLNK(st.st_mode)) {
            char target[PATH_MAX];
            ssize_t n = ::readlinkat(from, name.c_str(), target, sizeof target - 1);
            if (n < 0) {
                throw_errno(fmt::format("readlink(\"{}\")", name));
            }
            target[n] = '\0';
            if (::symlinkat(target, to, name.c_str()) != 0) {
                throw_errno(fmt::format("symlink(\"{}\")", name));
            }
        } else {
            if (::mknodat(to, name.c_str(), st.st_mode, st.st_rdev) != 0) {
                throw_errno(fmt::format("mknod(\"{}\")", name));
            }
        }
        // Owner, then mode (chown clears set-uid bits), then times. None
        // follows a symbolic link: another container sharing this volume
        // may have swapped `name` for a link to a host file by now.
        ::fchownat(to, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
        if (!S_ISLNK(st.st_mode)) {
            ::fchmodat(to, name.c_str(), st.st_mode & 07777, AT_SYMLINK_NOFOLLOW);
        }
        timespec times[2] = {st.st_atim, st.st_mtim};
        ::utimensat(to, name.c_str(), times, AT_SYMLINK_NOFOLLOW);
    }
}

void Volumes::add_run_options(CLI::App& run) {
    run.add_option("-v,--volume", args_,
                   "Bind mount: HOST:CTR[:ro] (absolute host path), NAME:CTR[:ro] (named volume), or CTR "
                   "(anonymous volume)")
        ->allow_extra_args(false);  // one value per -v, as in `-v A:B IMAGE CMD`
}

// Every -v is parsed before any feature makes anything (chapter 04's
// prepare() makes the container's directory): a bad -v changes nothing.
void Volumes::begin(Container& /*c*/) {
    for (const std::string& arg : args_) {
        parse_volume(arg);
    }
}

//! [ch05-prepare]
void Volumes::prepare(Container& c) {
    if (args_.empty()) {
        return;
    }
    // All of them are checked before anything is made: bad input creates
    // nothing.
    std::vector<Mount> mounts;
    for (const std::string& arg : args_) {
        Mount m;
        m.spec = parse_volume(arg);
        if (m.spec.kind == VolumeSpec::Kind::bind) {
            char real[PATH_MAX];
            struct stat st {};
            if (::realpath(m.spec.source.c_str(), real) == nullptr || ::stat(real, &st) != 0) {
                throw UsageError(fmt::format("-v \"{}\": host path \"{}\": {}", arg, m.spec.source,
                                             std::generic_category().message(errno)));
            }
            m.source = real;  // the host's own links are followed here, on the host
            m.directory = S_ISDIR(st.st_mode);
        }
        mounts.push_back(m);
    }
    if (c.rootfs.empty()) {
        throw UsageError("-v needs a root filesystem to mount into: run [OPTIONS] IMAGE [CMD...], or --rootfs DIR");
    }

    VolumeStore volumes{c.store_root};
    // Until mounts.json names them, `volume rm` must not delete them.
    Fd lock = Store(c.store_root).lock();
    nlohmann::json record = nlohmann::json::array();
    for (Mount& m : mounts) {
        if (m.spec.kind != VolumeSpec::Kind::bind) {
            bool anonymous = m.spec.kind == VolumeSpec::Kind::anonymous;
            m.name = anonymous ? random_id() : m.spec.source;
            volumes.create(m.name, anonymous);
            m.source = volumes.data_dir(m.name);
            // As Docker does: an empty volume is filled from the image.
            m.fill = std::filesystem::is_empty(m.source);
        }
        record.push_back({{"Type", m.spec.kind == VolumeSpec::Kind::bind ? "bind" : "volume"},
                          {"Name", m.name},
                          {"Source", m.source},
                          {"Destination", m.spec.target},
                          {"RW", !m.spec.read_only}});
        mounts_.push_back(m);
    }
    // Chapter 04 keeps a directory per container made from an image: note
    // there which volumes it uses (`volume rm` refuses those).
    if (!c.dir.empty()) {
        write_json_atomic(c.dir + "/mounts.json", record, Durable::no);
    }
}
//! [ch05-prepare]

//! [ch05-bind]
void Volumes::setup_before_root(Container& c) {
    if (mounts_.empty()) {
        return;
    }
    // We are in the container's mount namespace, its rootfs is mounted, and
    // the host's paths can still be named: the one moment a bind mount joins
    // the two worlds without the host's mount table ever seeing it.
    Fd root = open_fd(c.rootfs, O_PATH | O_DIRECTORY);
    for (const Mount& m : mounts_) {
        if (m.fill) {
            // TODO(05.5): Docker's rule: a new volume starts with what the
            //   image has at its target. prepare() set m.fill for a named or
            //   anonymous volume that is empty. Open m.spec.target in the
            //   rootfs with open_in_root() (O_RDONLY | O_DIRECTORY): if that
            //   fails, the image has no directory there and there is nothing
            //   to copy (not an error). Else open the volume's directory,
            //   m.source, with open_fd() (O_RDONLY | O_DIRECTORY), copy the
            //   tree into it with copy_tree() (given, above), and say so:
            //   trace::step(fmt::format("filled volume {} from the image's {}",
            //   m.name, m.spec.target)). Give the volume's directory the image
            //   directory's owner and mode too (fstat, fchown, fchmod), so a
            //   service's data directory stays its own. Why here, and not
            //   after the bind?
            //   (What does the target show once the volume is mounted on it?)
            //{ TODO(05.5)
            // Docker's rule: a new volume starts with what the image has there.
            Fd image_dir{open_in_root(root.get(), m.spec.target, O_RDONLY | O_DIRECTORY)};
            if (image_dir) {
                Fd data = open_fd(m.source, O_RDONLY | O_DIRECTORY);
                copy_tree(image_dir.get(), data.get());
                // And the directory's own owner and mode, so a volume on a
                // service's data directory stays writable by that service.
                struct stat st {};
                if (::fstat(image_dir.get(), &st) == 0) {
                    ::fchown(data.get(), st.st_uid, st.st_gid);
                    ::fchmod(data.get(), st.st_mode & 07777);
                }
                trace::step(fmt::format("filled volume {} from the image's {}", m.name, m.spec.target));
            }
            //} TODO(05.5)
        }
        bind_volume(root, m);
    }
}

void Volumes::bind_volume(const Fd& root, const Mount& m) {
    Fd target = open_volume_target(root.get(), m.spec.target, m.directory);
    // TODO(05.3): bind the volume: mount(2) with source m.source (a host
    //   path: before pivot_root the host's tree can still be named), no
    //   filesystem type, flags MS_BIND | MS_REC (MS_REC takes along what
    //   is mounted below m.source), no data. The target is not a path
    //   but the descriptor `target`, which open_volume_target() checked:
    //   mount on "/proc/self/fd/<its number>", a name for exactly the
    //   file the descriptor holds, so that nothing changed in the rootfs
    //   meanwhile (a link put in the way) can move the mount elsewhere.
    //   sys::mount() takes that path with the words the trace shows for it
    //   (a sys::Path of two strings; --trace prints it and a test reads it):
    //     mount("<m.source>", "<m.spec.target>" (in the rootfs), NULL, MS_BIND|MS_REC, NULL)
    //   Read mount(2), "Creating a bind mount"; proc(5), /proc/pid/fd/.
    //   The host never sees this mount: it is made in the container's
    //   mount namespace, under the "/" that chapter 01 made private.
    //{ TODO(05.3)
    // Mount on the descriptor, not on a path: what we checked is what we
    // mount on, even if the rootfs changes meanwhile.
    sys::Path on{fmt::format("/proc/self/fd/{}", target.get()), fmt::format("\"{}\" (in the rootfs)", m.spec.target)};
    sys::mount(m.source.c_str(), on, nullptr, MS_BIND | MS_REC, nullptr);
    //} TODO(05.3)
    if (m.spec.read_only) {
        // TODO(05.4): make the new mount read-only, and every mount below
        //   it too. `target` still holds the mount point as it was before
        //   the bind, under the new mount: open m.spec.target again with
        //   open_in_root() (O_PATH) to get the new mount, on top. Then
        //   mount_setattr(2) on that descriptor: pathname "" with
        //   AT_EMPTY_PATH, plus AT_RECURSIVE for the mounts below it, and
        //   MOUNT_ATTR_RDONLY to set (glibc has no wrapper; sys::mount_setattr()
        //   is ours). Describe the descriptor as "<m.spec.target>" (in the
        //   rootfs), so that the trace (which a test reads) says
        //     mount_setattr("/ro" (in the rootfs), "", AT_EMPTY_PATH|AT_RECURSIVE, MOUNT_ATTR_RDONLY)
        //   Why not MS_BIND | MS_REMOUNT | MS_RDONLY, as chapter 03's
        //   remount_read_only()? That changes one mount; a host directory
        //   with a filesystem mounted inside would stay writable there.
        //   And why not MS_RDONLY in the bind itself? Read mount(2),
        //   "Creating a bind mount", and mount_setattr(2).
        //{ TODO(05.4)
        // The new mount is now on top of the mount point: open it again.
        // mount_setattr() with AT_RECURSIVE makes the mounts below it
        // read-only too (a classic MS_REMOUNT changes only the top one).
        Fd mounted{open_in_root(root.get(), m.spec.target, O_PATH)};
        sys::mount_setattr({mounted.get(), fmt::format("\"{}\" (in the rootfs)", m.spec.target)},
                           AT_EMPTY_PATH | AT_RECURSIVE, MOUNT_ATTR_RDONLY);
        //} TODO(05.4)
    }
}
//! [ch05-bind]

void Volumes::cleanup(Container& c) noexcept {
    // `run --rm` takes the container's anonymous volumes along, as Docker's
    // does; named ones stay, that is what names are for.
    if (mounts_.empty() || !c.auto_remove) {
        return;
    }
    try {
        VolumeStore volumes{c.store_root};
        for (const Mount& m : mounts_) {
            if (m.spec.kind == VolumeSpec::Kind::anonymous) {
                remove_tree(volumes.volume_dir(m.name));
            }
        }
    } catch (...) {
        // cleanup must not throw; `volume rm` can finish the job
    }
}

}  // namespace minidocker
