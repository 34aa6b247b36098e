/// \file
/// rootfs.hpp - chapter 03's feature: the container gets its own root filesystem.
///
/// chroot is not a jail; pivot_root in a private mount namespace is. With
/// `--rootfs` the container's "/" becomes a directory of the host: pivot_root
/// swaps it in and the host's whole mount tree is detached, so no path, and
/// no "..", leads back out. `--chroot` does it the old, insecure way, to show
/// the difference: a root process walks out of a chroot in four system calls.
/// Inside the new root we mount what a Linux program expects: /dev with a
/// handful of device nodes, /dev/pts, /dev/shm, /dev/mqueue, a read-only
/// /sys; and we hide or freeze the parts of /proc a container must not touch.
///
/// \code{.unparsed}
///   ch03 run --rootfs DIR [--chroot] [--read-only] -- CMD [ARGS...]
/// \endcode
///
/// Without `--rootfs` nothing here happens: the container sees the host's files,
/// as in chapters 01 and 02.
///
/// Moments (see common/runtime.hpp):
/// \code{.unparsed}
///   prepare            check --rootfs; Container::rootfs = its real path
///   create             refuse --chroot / --read-only without a root filesystem
///   setup_before_root  bind the rootfs onto itself: now it is a mount point
///   switch_root        pivot_root(".", ".") + umount2(".", MNT_DETACH), or chroot
///   setup_after_root   /dev, /dev/pts, /dev/shm, /dev/mqueue, /sys; mask and
///                      freeze parts of /proc; with --read-only, "/" read-only
/// \endcode
#pragma once

#include <string>
#include <vector>

#include "runtime.hpp"

namespace minidocker {

/// `--rootfs` DIR as the kernel will see it: an absolute path with no symbolic
/// links (a relative DIR is taken from the current directory). Throws
/// UsageError when DIR does not exist or is not a directory.
std::string resolve_rootfs(const std::string& dir);

/// Files in /proc that leak facts about the host (its memory, its keys, its
/// timers): they are hidden behind /dev/null.
const std::vector<std::string>& masked_paths();
/// Parts of /proc that change the host's kernel when written (sysctls, the
/// magic SysRq key, interrupt routing): they become read-only.
const std::vector<std::string>& read_only_paths();

/// What make_mount_target() makes, or accepts, at a mount point: a
/// directory (to mount a filesystem or bind a directory on) or a file (to
/// bind a file onto).
enum class TargetKind { directory, file };

/// Makes sure `path` (absolute, as seen from the container) exists inside the
/// directory `root` as a directory or file that we may mount on: creates its
/// last component when it is missing, and refuses, with UsageError, when any
/// component of it is a symbolic link (or it has the wrong type). `root` is
/// "/" in the container after the switch, and a temp dir in the unit tests.
void make_mount_target(const std::string& root, const std::string& path, TargetKind kind);

/// Chapter 03's feature: the container's own root filesystem. For
/// Container::rootfs (`--rootfs DIR`, or from chapter 04 on the image's
/// overlay) it binds the directory on itself, pivot_root()s into it and
/// detaches the host's tree, then mounts /dev, /sys and friends inside and
/// masks the dangerous parts of /proc. `--chroot` does it the insecure way,
/// on purpose, to show the difference. Without a root filesystem it does
/// nothing: the container sees the host's files, as in chapters 01-02.
class RootFs : public Feature {
public:
    RootFs() : Feature("03 rootfs") {}

    void add_run_options(CLI::App& run) override;
    void prepare(Container& c) override;
    void create(Container& c) override;
    void setup_before_root(Container& c) override;
    void switch_root(Container& c) override;
    void setup_after_root(Container& c) override;

private:
    std::string rootfs_;       ///< `--rootfs`, as the user wrote it
    bool use_chroot_ = false;  ///< `--chroot`
    bool read_only_ = false;   ///< `--read-only`
};

}  // namespace minidocker
