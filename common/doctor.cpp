// doctor.cpp - see doctor.hpp. One function per check, in chapter order.
#include "doctor.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iterator>
#include <sstream>
#include <system_error>

#include "mountinfo.hpp"
#include "process.hpp"
#include "sys.hpp"

namespace minidocker {

namespace {

std::vector<MountEntry> read_mountinfo(const Machine& m) {
    return parse_mountinfo(sys::read_file(m.root + "/proc/self/mountinfo"));
}

// The mount that `path` lies on: the last-mounted one with the longest
// mount point that is a prefix of it.
const MountEntry* mount_of(const std::vector<MountEntry>& mounts, const std::string& path) {
    const MountEntry* best = nullptr;
    for (const MountEntry& ml : mounts) {
        bool under = path == ml.point || ml.point == "/" ||
                     (path.compare(0, ml.point.size(), ml.point) == 0 && path[ml.point.size()] == '/');
        if (under && (best == nullptr || ml.point.size() >= best->point.size())) {
            best = &ml;
        }
    }
    return best;
}

bool has_option(const std::string& options, const std::string& name) {
    std::istringstream in(options);
    std::string word;
    while (std::getline(in, word, ',')) {
        if (word == name) {
            return true;
        }
    }
    return false;
}

// Chapter 01: namespaces, mounts and cgroups all need CAP_SYS_ADMIN, which
// root has. (A user namespace would give it to anyone; the course does not
// use one.)
Finding check_root(const Machine& m) {
    if (m.euid == 0) {
        return {"root", Verdict::ok, "running as root (euid 0)", ""};
    }
    return {"root", Verdict::fail,
            fmt::format("running as uid {}: clone(CLONE_NEW*), mount() and the cgroup files need root", m.euid),
            "run the programs in a root shell: sudo -s"};
}

// Chapter 01: each namespace kind is a kernel option (CONFIG_UTS_NS...).
Finding check_namespaces(const Machine& m) {
    std::string missing;
    for (const char* kind : {"cgroup", "ipc", "mnt", "net", "pid", "uts"}) {
        struct stat st {};
        if (::lstat(fmt::format("{}/proc/self/ns/{}", m.root, kind).c_str(), &st) != 0) {
            missing += fmt::format(" {}", kind);
        }
    }
    if (missing.empty()) {
        return {"namespaces", Verdict::ok, "cgroup ipc mnt net pid uts: all six kinds are in /proc/self/ns", ""};
    }
    return {"namespaces", Verdict::fail, "missing from /proc/self/ns:" + missing,
            "use a kernel built with CONFIG_NAMESPACES and each CONFIG_*_NS (Debian's kernel is)"};
}

// Chapter 02: which cgroup layout this host has. v2 alone (most machines
// today), v1 alone, or systemd's hybrid: controllers on v1, plus an empty v2
// tree at /sys/fs/cgroup/unified.
Finding check_cgroups(const Machine& m, const std::vector<MountEntry>& mounts) {
    // A controller missing from the root's cgroup.controllers is held by a
    // cgroup v1 hierarchy, or not in the kernel at all: writing it to
    // cgroup.subtree_control would fail too.
    const std::string fix_v2 =
        "unmount its cgroup v1 hierarchy (or boot with cgroup_no_v1=all); chapter 02 then enables it in "
        "cgroup.subtree_control itself";
    const MountEntry* top = mount_of(mounts, "/sys/fs/cgroup");
    if (top != nullptr && top->point == "/sys/fs/cgroup" && top->fstype == "cgroup2") {
        std::string controllers;
        try {
            controllers = sys::read_file(m.root + "/sys/fs/cgroup/cgroup.controllers");
        } catch (const std::exception&) {
        }
        std::istringstream in(controllers);
        std::vector<std::string> have{std::istream_iterator<std::string>(in), std::istream_iterator<std::string>()};
        std::string missing;
        for (const char* c : {"memory", "cpu", "pids"}) {
            if (std::find(have.begin(), have.end(), c) == have.end()) {
                missing += fmt::format(" {}", c);
            }
        }
        if (!missing.empty()) {
            return {"cgroups", Verdict::fail,
                    "cgroup v2 at /sys/fs/cgroup, but cgroup.controllers lacks" + missing +
                        " (they may be held by a cgroup v1 mount)",
                    fix_v2};
        }
        return {"cgroups", Verdict::ok, "cgroup v2 (unified) at /sys/fs/cgroup, with memory, cpu and pids", ""};
    }
    // cgroup v1: one mount per controller (or group of them).
    std::string missing;
    for (const char* c : {"memory", "cpu", "pids"}) {
        bool found = std::any_of(mounts.begin(), mounts.end(), [&](const MountEntry& ml) {
            return ml.fstype == "cgroup" && has_option(ml.super_options, c);
        });
        if (!found) {
            missing += fmt::format(" {}", c);
        }
    }
    bool any_v1 = std::any_of(mounts.begin(), mounts.end(), [](const MountEntry& ml) { return ml.fstype == "cgroup"; });
    if (!any_v1) {
        return {"cgroups", Verdict::fail, "no cgroup filesystem is mounted at /sys/fs/cgroup",
                "mount cgroup v2 there: mount -t cgroup2 none /sys/fs/cgroup"};
    }
    bool hybrid = std::any_of(mounts.begin(), mounts.end(), [](const MountEntry& ml) {
        return ml.fstype == "cgroup2" && ml.point == "/sys/fs/cgroup/unified";
    });
    std::string layout = hybrid ? "hybrid: controllers on cgroup v1, an empty cgroup v2 tree at /sys/fs/cgroup/unified"
                                : "cgroup v1 (legacy)";
    if (!missing.empty()) {
        return {"cgroups", Verdict::fail, layout + "; no v1 hierarchy has" + missing,
                "mount the missing controllers, e.g. mount -t cgroup -o pids none /sys/fs/cgroup/pids"};
    }
    bool freezer = std::any_of(mounts.begin(), mounts.end(), [](const MountEntry& ml) {
        return ml.fstype == "cgroup" && has_option(ml.super_options, "freezer");
    });
    if (!freezer) {
        return {"cgroups", Verdict::warn, layout + "; memory, cpu and pids, but no v1 freezer",
                "commit (chapter 07) cannot pause the container: use commit --pause=false, or mount -t cgroup -o "
                "freezer none /sys/fs/cgroup/freezer"};
    }
    return {"cgroups", Verdict::ok, layout + "; chapter 02 uses the v1 controllers memory, cpu and pids", ""};
}

// Chapter 03: a shared / would carry every mount the container makes back
// to the host. The runtime makes / private (MS_REC|MS_PRIVATE) inside the
// container's mount namespace first, so this is a note, not a problem.
Finding check_propagation(const std::vector<MountEntry>& mounts) {
    const MountEntry* root = mount_of(mounts, "/");
    if (root != nullptr && root->optional.find("shared:") != std::string::npos) {
        return {"propagation", Verdict::ok,
                "/ is shared (systemd's default): every chapter makes it private in the container first, "
                "so no mount reaches the host",
                ""};
    }
    return {"propagation", Verdict::ok,
            "/ is not shared here; on systemd hosts it is, and every chapter makes it private in the container first",
            ""};
}

// Chapter 03: pivot_root(2) fails with EINVAL when the old root is the
// initramfs ("rootfs"), which can never be unmounted.
Finding check_pivot_root(const std::vector<MountEntry>& mounts) {
    const MountEntry* root = mount_of(mounts, "/");
    std::string fstype = root != nullptr ? root->fstype : "unknown";
    if (fstype == "rootfs") {
        return {"pivot_root", Verdict::fail,
                "/ is the initramfs (rootfs): pivot_root(2) cannot move it and fails with EINVAL",
                "boot the machine from a disk (a normal VM install), not from an initramfs alone"};
    }
    return {"pivot_root", Verdict::ok, fmt::format("/ is {}, not the initramfs: pivot_root can move it", fstype), ""};
}

// Chapter 04: the overlay filesystem. The kernel loads the module on the
// first mount, so its absence from /proc/filesystems is only a warning.
Finding check_overlay(const Machine& m) {
    std::string filesystems = sys::read_file(m.root + "/proc/filesystems");
    if (filesystems.find("\toverlay\n") != std::string::npos) {
        return {"overlay", Verdict::ok, "overlayfs is in /proc/filesystems", ""};
    }
    return {"overlay", Verdict::warn, "overlayfs is not in /proc/filesystems (the module is not loaded yet)",
            "modprobe overlay; if that fails, the kernel lacks CONFIG_OVERLAY_FS and chapters 04-08 cannot run"};
}

// Chapter 04: overlayfs refuses an upper directory on overlayfs (and on a few
// others, such as NFS), which is where you are inside a Docker container.
Finding check_state_root(const Machine& m, const std::vector<MountEntry>& mounts) {
    // The nearest part of --root that exists tells which filesystem it is on.
    std::filesystem::path dir = std::filesystem::absolute(m.state_root).lexically_normal();
    std::error_code ec;
    while (m.root.empty() && dir.has_parent_path() && dir != dir.root_path() && !std::filesystem::exists(dir, ec)) {
        dir = dir.parent_path();
    }
    if (m.root.empty()) {
        dir = std::filesystem::weakly_canonical(dir, ec);
    }
    const MountEntry* ml = mount_of(mounts, dir.string());
    std::string fstype = ml != nullptr ? ml->fstype : "unknown";
    if (fstype == "overlay" || fstype == "nfs" || fstype == "nfs4" || fstype == "vfat") {
        return {"state root", Verdict::fail,
                fmt::format("{} is on {}, which overlayfs refuses as its upper layer (EINVAL: overlay on overlay, "
                            "when you are inside a container yourself)",
                            m.state_root, fstype),
                "put the state elsewhere: mkdir -p /mnt/md && mount -t tmpfs tmpfs /mnt/md && export "
                "MINIDOCKER_ROOT=/mnt/md"};
    }
    return {"state root", Verdict::ok,
            fmt::format("{} is on {}, which overlayfs accepts as an upper layer", m.state_root, fstype), ""};
}

// Chapter 04: the busybox image is one static binary. Debian's `busybox`
// package is dynamically linked and cannot run in a root filesystem without
// libc; `busybox-static` replaces it.
Finding check_busybox(const Machine& m) {
    struct stat st {};
    if (::stat(m.busybox.c_str(), &st) != 0) {
        return {"busybox", Verdict::fail, m.busybox + " is missing: the busybox image is made from it",
                "apt-get install busybox-static"};
    }
    // Only a regular file is opened: a FIFO would block the open forever.
    bool is_static = false;
    std::string why;
    if (S_ISREG(st.st_mode)) {
        try {
            is_static = is_static_elf(m.busybox);
        } catch (const std::system_error& e) {
            why = fmt::format(" ({})", e.what());
        }
    } else {
        why = " (it is not a regular file)";
    }
    if (!is_static) {
        return {"busybox", Verdict::fail,
                m.busybox + " is not a static 64-bit program" + why +
                    ": only a statically linked busybox runs in an image that has no libc",
                "apt-get install busybox-static (it replaces the busybox package), or set MINIDOCKER_BUSYBOX"};
    }
    return {"busybox", Verdict::ok, m.busybox + " is statically linked (busybox-static)", ""};
}

}  // namespace

Machine this_machine(const std::string& state_root) {
    const char* env = std::getenv("MINIDOCKER_BUSYBOX");
    return {"", ::geteuid(), state_root, env != nullptr && *env != '\0' ? env : "/bin/busybox"};
}

std::vector<Finding> examine(const Machine& m) {
    std::vector<MountEntry> mounts = read_mountinfo(m);
    return {
        check_root(m),                // 01
        check_namespaces(m),          // 01
        check_cgroups(m, mounts),     // 02
        check_propagation(mounts),    // 03
        check_pivot_root(mounts),     // 03
        check_overlay(m),             // 04
        check_state_root(m, mounts),  // 04
        check_busybox(m),             // 04
    };
}

int report(const std::vector<Finding>& findings, std::FILE* out) {
    int failed = 0;
    int warned = 0;
    for (const Finding& f : findings) {
        const char* word = f.verdict == Verdict::ok ? "ok" : f.verdict == Verdict::warn ? "warn" : "FAIL";
        fmt::print(out, "  {:<5} {:<12} {}\n", word, f.check, f.found);
        if (!f.fix.empty()) {
            fmt::print(out, "  {:<5} {:<12} fix: {}\n", "", "", f.fix);
        }
        failed += f.verdict == Verdict::fail ? 1 : 0;
        warned += f.verdict == Verdict::warn ? 1 : 0;
    }
    if (failed == 0 && warned == 0) {
        fmt::print(out, "all {} checks passed\n", findings.size());
    } else {
        fmt::print(out, "{} of {} checks failed, {} warned\n", failed, findings.size(), warned);
    }
    return failed == 0 ? 0 : 1;
}

}  // namespace minidocker
