// privileges.cpp - chapter 09's idea: a container's root keeps only what it
// needs. Read it in this order:
//   1. prepare(): the options become a capability set, a seccomp filter and
//      device rules, all checked before anything is made;
//   2. create(): the device rules, in the devices cgroup (v1) or as a BPF
//      program on the container's cgroup (v2);
//   3. setup_after_root(), in the child, last of all the moments: Docker's
//      other masks, the user, and drop_privileges(), the heart of the
//      chapter: the order of its steps is the kernel's.
// The capabilities, one by one, are in capabilities.cpp; the system calls
// the filter refuses, and why, in seccomp.cpp.
#include "privileges.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <sstream>
#include <thread>

#include "capabilities.hpp"
#include "devices.hpp"
#include "error.hpp"
#include "rootfs.hpp"
#include "seccomp.hpp"
#include "state.hpp"
#include "sys.hpp"
#include "trace.hpp"

namespace minidocker {

namespace {

// Where cgroup v1 mounts the devices controller, when the host has one.
constexpr const char* kDevicesHierarchy = "/sys/fs/cgroup/devices";

bool exists(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

bool is_directory(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

//! [ch09-masks]
// Docker hides more of /proc and /sys than chapter 03 does.
const std::vector<std::string>& more_masked_paths() {
    static const std::vector<std::string> paths = {
        "/proc/acpi",                     // power buttons, fans, thermal zones of the host
        "/proc/asound",                   // the host's sound cards
        "/proc/latency_stats",            // what every process on the host waits for
        "/proc/timer_stats",              // (older kernels) every timer of the host
        "/proc/scsi",                     // the host's disks; writing here rescans them
        "/sys/devices/virtual/powercap",  // energy counters: a side channel (Platypus)
    };
    return paths;
}

const std::vector<std::string>& more_read_only_paths() {
    static const std::vector<std::string> paths = {
        "/proc/fs",  // settings of the host's filesystems (nfsd, ext4...)
    };
    return paths;
}

// A directory is masked by an empty read-only tmpfs, a file by /dev/null.
void mask(const std::string& path) {
    if (is_directory(path)) {
        sys::mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
    } else {
        sys::mount("/dev/null", path, nullptr, MS_BIND, nullptr);
    }
}

void protect_more() {
    for (const std::string& path : more_masked_paths()) {
        if (exists(path)) {
            mask(path);
        }
    }
    for (const std::string& path : more_read_only_paths()) {
        if (exists(path)) {
            sys::mount(path.c_str(), path, nullptr, MS_BIND | MS_REC, nullptr);
            sys::mount(nullptr, path, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                       nullptr);
        }
    }
}

// --privileged: what chapter 03 hid and made read-only comes back, and /sys
// becomes writable, as with Docker.
void unprotect() {
    std::vector<std::string> paths = masked_paths();
    paths.insert(paths.end(), read_only_paths().begin(), read_only_paths().end());
    paths.emplace_back("/sys/firmware");
    for (const std::string& path : paths) {
        if (exists(path)) {
            sys::umount2(path, MNT_DETACH);
        }
    }
    sys::mount(nullptr, "/sys", nullptr, MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
}
//! [ch09-masks]

// --tmpfs PATH[:OPTIONS]: the path, and mount(2)'s flags and data.
struct TmpfsSpec {
    std::string path;
    unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
    std::string data = "mode=1777";
};

TmpfsSpec parse_tmpfs(const std::string& arg) {
    TmpfsSpec t;
    t.path = arg.substr(0, arg.find(':'));
    if (t.path.empty() || t.path[0] != '/' || t.path == "/") {
        throw UsageError(fmt::format("invalid --tmpfs \"{}\": the path must be absolute, and not \"/\"", arg));
    }
    if (arg.find(':') == std::string::npos) {
        return t;
    }
    // Docker's words: the mount flags by name, anything else goes to tmpfs.
    std::istringstream options(arg.substr(arg.find(':') + 1));
    for (std::string o; std::getline(options, o, ',');) {
        if (o == "exec") {
            t.flags &= ~static_cast<unsigned long>(MS_NOEXEC);
        } else if (o == "suid") {
            t.flags &= ~static_cast<unsigned long>(MS_NOSUID);
        } else if (o == "dev") {
            t.flags &= ~static_cast<unsigned long>(MS_NODEV);
        } else if (o == "ro") {
            t.flags |= MS_RDONLY;
        } else if (o == "noexec" || o == "nosuid" || o == "nodev" || o == "rw") {
            // the default
        } else if (!o.empty()) {
            t.data += "," + o;
        }
    }
    return t;
}

}  // namespace

void Privileges::add_run_options(CLI::App& run) {
    run.add_option("--cap-add", cap_add_, "Add a Linux capability (SYS_ADMIN, CAP_NET_ADMIN, ALL)")
        ->allow_extra_args(false);
    run.add_option("--cap-drop", cap_drop_, "Drop a Linux capability (CHOWN, ALL)")->allow_extra_args(false);
    run.add_flag("--privileged", settings_.privileged,
                 "Give the container every capability, no seccomp filter, no masks, every device");
    run.add_option("--security-opt", security_opts_, "seccomp=unconfined, seccomp=PROFILE.json, or no-new-privileges")
        ->allow_extra_args(false);
    run.add_option("-u,--user", settings_.user, "Run as USER[:GROUP] (names from the image's /etc/passwd)");
    run.add_option("--group-add", settings_.group_add, "Add a supplementary group")->allow_extra_args(false);
    run.add_option("--tmpfs", tmpfs_, "Mount a tmpfs at PATH[:OPTIONS] (size=64m,mode=1777...)")
        ->allow_extra_args(false);
    read_only_ = run.get_option_no_throw("--read-only");  // chapter 03's, for inspect
}

void Privileges::parse_security_opts() {
    settings_.seccomp = settings_.privileged ? "unconfined" : "default";
    for (const std::string& opt : security_opts_) {
        // Docker accepts "key=value" and the older "key:value".
        size_t sep = opt.find_first_of("=:");
        std::string key = opt.substr(0, sep);
        std::string value = sep == std::string::npos ? "" : opt.substr(sep + 1);
        if (key == "no-new-privileges" && (value.empty() || value == "true" || value == "false")) {
            settings_.no_new_privs = value != "false";
        } else if (key == "seccomp" && !value.empty()) {
            settings_.seccomp = value == "unconfined" ? "unconfined" : "profile";
            seccomp_file_ = value == "unconfined" ? "" : value;
        } else {
            throw UsageError(fmt::format("invalid --security-opt: \"{}\"", opt));
        }
    }
}

//! [ch09-prepare]
void Privileges::begin(Container& c) {
    // Everything is checked first, before chapter 04 makes the container's
    // folder: an unknown capability or a bad profile leaves nothing behind.
    settings_.capabilities = capability_mask(cap_add_, cap_drop_, settings_.privileged);
    parse_security_opts();
    for (const std::string& t : tmpfs_) {
        parse_tmpfs(t);
    }
    // TODO(09.5): make the seccomp filter, here, on the host, before anything
    //   is made. Unless settings_.seccomp is "unconfined" (--privileged, or
    //   --security-opt seccomp=unconfined): take Docker's profile,
    //   default_seccomp_profile() (by its address: seccomp_filter() knows
    //   the built-in one, and names it cheaply), or, when settings_.seccomp
    //   is "profile",
    //   the user's file, parse_seccomp_profile(read_text_file(seccomp_file_),
    //   seccomp_file_), which throws one line for a file that is not JSON or
    //   names an unknown system call (a test feeds it such files); then say
    //   which file in settings_.seccomp = seccomp_file_. Then
    //   filter_ = seccomp_filter(profile, settings_.capabilities,
    //   c.store_root + "/seccomp"). Why the capabilities? Docker's profile
    //   allows mount(2), unshare(2), setns(2)... only to a container that
    //   holds CAP_SYS_ADMIN (--cap-add SYS_ADMIN), so the filter is made for
    //   the set the container ends with. Why here? libseccomp compiles for
    //   milliseconds; seccomp_filter() keeps each program in the store,
    //   keyed by profile, capabilities, kernel and architecture, so a start
    //   reads a file, and the child (TODO 09.3) only hands the kernel the
    //   bytes. Read seccomp.hpp, seccomp(2) (SECCOMP_SET_MODE_FILTER), and
    //   the book, chapter 09, "A filter compiled once".
    //{ TODO(09.5)
    //| static_cast<void>(c);  // Delete this line: it only keeps -Werror quiet until you use c.
    if (settings_.seccomp != "unconfined") {
        const SeccompProfile* profile = &default_seccomp_profile();
        SeccompProfile theirs;
        if (settings_.seccomp == "profile") {
            theirs = parse_seccomp_profile(read_text_file(seccomp_file_), seccomp_file_);
            profile = &theirs;
            settings_.seccomp = seccomp_file_;
        }
        // Compiled on the host, once per profile and capability set: the
        // child only hands the kernel the bytes.
        filter_ = seccomp_filter(*profile, settings_.capabilities, c.store_root + "/seccomp");
    }
    //} TODO(09.5)
}
//! [ch09-prepare]

void Privileges::prepare(Container& c) {
    if (!c.dir.empty()) {
        write_records(c);
    }
}

// What `exec` needs to do the same (security.json, seccomp.bpf), and what
// `inspect` shows, in Docker's names (inspect.09.json). Durable::no, like
// state.json: they serve a running container, which a power cut ends anyway,
// and an fsync costs each start a millisecond or more.
void Privileges::write_records(const Container& c) const {
    nlohmann::json security = {{"Capabilities", settings_.capabilities},
                               {"Privileged", settings_.privileged},
                               {"NoNewPrivileges", settings_.no_new_privs},
                               {"Seccomp", settings_.seccomp},
                               {"User", settings_.user},
                               {"GroupAdd", settings_.group_add}};
    write_json_atomic(c.dir + "/security.json", security, Durable::no);
    if (!filter_.empty()) {
        write_file_atomic(c.dir + "/seccomp.bpf", filter_, 0644, Durable::no);
    }
    std::vector<std::string> security_opt = security_opts_;
    nlohmann::json tmpfs = nlohmann::json::object();
    for (const std::string& t : tmpfs_) {
        tmpfs[t.substr(0, t.find(':'))] = t.find(':') == std::string::npos ? "" : t.substr(t.find(':') + 1);
    }
    auto names_or_null = [](const std::vector<std::string>& words) {
        nlohmann::json list = nullptr;
        for (const std::string& w : words) {
            list.push_back(normalized_capability(w));
        }
        return list;
    };
    nlohmann::json inspect = {
        {"HostConfig",
         {{"CapAdd", names_or_null(cap_add_)},
          {"CapDrop", names_or_null(cap_drop_)},
          {"Privileged", settings_.privileged},
          {"SecurityOpt", security_opt.empty() ? nlohmann::json(nullptr) : nlohmann::json(security_opt)},
          {"ReadonlyRootfs", read_only_ != nullptr && read_only_->count() > 0},
          {"GroupAdd", settings_.group_add.empty() ? nlohmann::json(nullptr) : nlohmann::json(settings_.group_add)},
          {"Tmpfs", tmpfs.empty() ? nlohmann::json(nullptr) : tmpfs}}},
        {"Config", {{"User", settings_.user}}}};
    write_json_atomic(c.dir + "/inspect.09.json", inspect, Durable::no);
}

//! [ch09-devices-cgroup]
void Privileges::create(Container& c) {
    if (settings_.privileged) {
        return;  // every device
    }
    // cgroup v1: a directory of the devices hierarchy; first refuse
    // everything ("a"), then allow Docker's list, one rule per write.
    if (exists(std::string(kDevicesHierarchy) + "/devices.allow")) {
        std::string parent = std::string(kDevicesHierarchy) + "/minidocker";
        devices_dir_ = parent + "/" + c.id;
        // The parent is shared: another container's exit may remove it
        // between our two mkdirs (ENOENT). Then make it again.
        for (int attempt = 1;; ++attempt) {
            sys::mkdir_if_missing(parent, 0755);
            try {
                sys::mkdir(devices_dir_, 0755);
                break;
            } catch (const std::system_error& e) {
                if (e.code().value() != ENOENT || attempt == 3) {
                    throw;
                }
            }
        }
        // TODO(09.4): write the rules into the new devices cgroup, v1's way:
        //   first refuse everything, sys::write_file(devices_dir_ +
        //   "/devices.deny", "a") ("a": every device, every access), then
        //   allow each rule of docker_default_devices() (devices.hpp): one
        //   sys::write_file() of v1_rule(rule) ("c 1:3 rwm") into
        //   devices_dir_ + "/devices.allow" per rule, as the file takes one
        //   rule a write. In this order: a new devices cgroup starts with its
        //   parent's list (here, everything allowed), and "a" into
        //   devices.deny empties it, exceptions included; allowing first
        //   would leave nothing allowed, not even /dev/null. The container
        //   keeps CAP_MKNOD, so its root may make /dev/kmsg (1:11) or the
        //   host's disk: these rules refuse to open them. Read cgroups(7),
        //   the kernel's Documentation/admin-guide/cgroup-v1/devices.rst, and
        //   the book, chapter 09, "Devices".
        //{ TODO(09.4)
        sys::write_file(devices_dir_ + "/devices.deny", "a");
        for (const DeviceRule& rule : docker_default_devices()) {
            sys::write_file(devices_dir_ + "/devices.allow", v1_rule(rule));
        }
        //} TODO(09.4)
    }
    // cgroup v2 (the unified tree, where the child is born): a program the
    // kernel runs at each access to a device. Once attached, the cgroup
    // holds it; our descriptor may close. (A hybrid host has the v1 devices
    // controller, as Docker uses there; the kernel would ask both.)
    if (c.cgroup_fd >= 0 && devices_dir_.empty()) {
        // TODO(09.4): the same rules, v2's way: cgroup v2 has no devices.*
        //   files; the kernel runs a BPF program attached to the cgroup at
        //   each mknod and open of a device, and refuses when it answers 0.
        //   device_program(docker_default_devices()) assembles it
        //   (devices.cpp); load it with sys::bpf_load_device_program(), and
        //   attach it to the container's v2 cgroup, open as c.cgroup_fd:
        //   sys::bpf_attach_device_program({c.cgroup_fd,
        //   trace::quote(c.cgroup_dir)}, {program.get(), "the program"}).
        //   Once attached, the cgroup holds it; the descriptor may close. A
        //   host with both hierarchies (hybrid) gets the v1 rules above, as
        //   with Docker; a test hides the v1 hierarchy to try this one. Read
        //   bpf(2) (BPF_PROG_LOAD, BPF_PROG_ATTACH) and the kernel's
        //   Documentation/admin-guide/cgroup-v2.rst, "Device controller".
        //{ TODO(09.4)
        Fd program = sys::bpf_load_device_program(device_program(docker_default_devices()));
        sys::bpf_attach_device_program({c.cgroup_fd, trace::quote(c.cgroup_dir)}, {program.get(), "the program"});
        //} TODO(09.4)
    }
}
//! [ch09-devices-cgroup]

void Privileges::enter(Container& /*c*/) {
    // As chapter 02 joins its v1 cgroups: "0" (ourselves) into `tasks`.
    if (!devices_dir_.empty()) {
        sys::write_file(devices_dir_ + "/tasks", "0");
    }
}

void Privileges::setup_before_root(Container& c) {
    for (const std::string& arg : tmpfs_) {
        TmpfsSpec t = parse_tmpfs(arg);
        std::string root = c.rootfs.empty() ? "/" : c.rootfs;
        make_mount_target(root, t.path, TargetKind::directory);
        sys::mount("tmpfs", (c.rootfs.empty() ? "" : c.rootfs) + t.path, "tmpfs", t.flags, t.data.c_str());
    }
}

void Privileges::setup_after_root(Container& c) {
    if (settings_.privileged) {
        if (!c.rootfs.empty()) {
            unprotect();
        }
    } else if (!c.rootfs.empty()) {
        protect_more();
    }
    become_user(settings_, filter_, c.env);
}

void become_user(const PrivilegeSettings& settings, const std::string& filter, std::vector<std::string>& env) {
    // The user, as the image names it: its /etc/passwd is ours now.
    ExecUser user =
        resolve_user(settings.user, settings.group_add, read_or_empty("/etc/passwd"), read_or_empty("/etc/group"));
    if (!settings.user.empty()) {
        std::erase_if(env, [](const std::string& kv) { return kv.rfind("HOME=", 0) == 0; });
        env.push_back("HOME=" + user.home);
    }
    drop_privileges(settings, user, filter);
}

//! [ch09-drop]
void drop_privileges(const PrivilegeSettings& settings, const ExecUser& user, const std::string& filter) {
    // 1. no_new_privs, when asked for: no execve gives privileges again.
    // TODO(09.3): with --security-opt no-new-privileges
    //   (settings.no_new_privs), set it: sys::set_no_new_privs(), which
    //   --trace prints as prctl(PR_SET_NO_NEW_PRIVS, 1). Only then: Docker's
    //   default leaves it off (a setuid program of the image still works as
    //   it does on the host), and a test checks that the default never sets
    //   it. Read prctl(2), PR_SET_NO_NEW_PRIVS, and the kernel's
    //   Documentation/userspace-api/no_new_privs.rst.
    //{ TODO(09.3)
    if (settings.no_new_privs) {
        sys::set_no_new_privs();
    }
    //} TODO(09.3)
    // 2. Without no_new_privs only a holder of CAP_SYS_ADMIN may install a
    //    filter: now, while we still are one. (It allows the calls below.)
    // TODO(09.3): without no_new_privs, install the filter now, when there is
    //   one (filter is "" for seccomp=unconfined and --privileged):
    //   sys::seccomp_set_filter(filter, "profile " + settings.seccomp),
    //   traced as seccomp(SECCOMP_SET_MODE_FILTER, ...). The kernel lets a
    //   process install a filter only if it holds CAP_SYS_ADMIN or has
    //   no_new_privs set (seccomp(2), ERRORS, EACCES): otherwise a filter
    //   could make a setuid program fail halfway, as root. We still hold
    //   CAP_SYS_ADMIN here; after step 6 we will not, and without
    //   no_new_privs the filter could no longer go in. The filter outlives
    //   execve and is inherited by every child: nothing takes it away.
    //{ TODO(09.3)
    //| static_cast<void>(filter);  // Delete this line: it only keeps -Werror quiet until you use filter.
    if (!filter.empty() && !settings.no_new_privs) {
        sys::seccomp_set_filter(filter, "profile " + settings.seccomp);
    }
    //} TODO(09.3)
    // 3. The bounding set: what no execve can ever give back.
    // TODO(09.1): cut the bounding set to settings.capabilities: for every
    //   capability number cap from 0 to last_capability() (capabilities.hpp:
    //   the highest this kernel knows) whose bit, 1ULL << cap, is not in
    //   settings.capabilities, sys::capbset_drop(cap, capability_name(cap)),
    //   which --trace prints as prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN). Why
    //   is capset() (TODO 09.2) not enough? Because the container's command
    //   comes from execve(2), and when root runs a program the kernel gives
    //   it every capability of the bounding set, whatever its parent held:
    //   as long as the bounding set is full, the container's first `sh` is
    //   all-powerful again. A dropped capability never comes back, not even
    //   through a setuid-root program. Dropping needs CAP_SETPCAP, which we
    //   hold until step 6. Read capabilities(7): "Capability bounding set",
    //   "Transformation of capabilities during execve()" and "Capabilities
    //   and execution of programs by root"; prctl(2), PR_CAPBSET_DROP; and
    //   the book, chapter 09, "Capabilities: root, in 41 pieces".
    //{ TODO(09.1)
    //| static_cast<void>(settings);  // Delete this line: it only keeps -Werror quiet until you use settings.
    for (int cap = 0; cap <= last_capability(); ++cap) {
        if ((settings.capabilities & (1ULL << cap)) == 0) {
            sys::capbset_drop(cap, capability_name(cap));
        }
    }
    //} TODO(09.1)
    // 4. Ambient capabilities survive execve for any program: none.
    sys::clear_ambient_capabilities();
    // 5. Groups, group id, user id: once the uid is not 0, the kernel
    //    takes our capabilities away, and setgroups would be refused.
    // TODO(09.2): become the user: first the supplementary groups,
    //   sys::setgroups(user.groups), then sys::setresgid(user.gid), then
    //   sys::setresuid(user.uid) (real, effective and saved id at once, so
    //   that no id is left to switch back to). In this order: setgroups(2)
    //   and setresgid(2) need CAP_SETGID, and the moment the uid is not 0
    //   the kernel empties the permitted and effective sets (capabilities(7),
    //   "Effect of user ID changes on capabilities"). Read setgroups(2),
    //   setresuid(2), and the book, chapter 09, "The drop, in the kernel's
    //   order".
    //{ TODO(09.2)
    //| static_cast<void>(user);  // Delete this line: it only keeps -Werror quiet until you use user.
    sys::setgroups(user.groups);
    sys::setresgid(user.gid);
    sys::setresuid(user.uid);
    //} TODO(09.2)
    // 6. What the command starts with; inheritable empty (CVE-2022-24769).
    // TODO(09.2): then the sets the command starts with:
    //   sys::capset(keep, keep, 0), effective and permitted `keep`, which is
    //   settings.capabilities for root (user.uid == 0) and 0 for anyone
    //   else, and inheritable empty, so that no program gains a capability
    //   through its file's inheritable set (CVE-2022-24769, in Docker and
    //   runc). --trace prints capset({effective=0xa80425fb, ...}). Read
    //   capset(2) and capabilities(7), "Thread capability sets".
    //{ TODO(09.2)
    uint64_t keep = user.uid == 0 ? settings.capabilities : 0;
    sys::capset(keep, keep, 0);
    //} TODO(09.2)
    // 7. With no_new_privs, the filter goes last: anyone may install it.
    // TODO(09.3): with no_new_privs, install the filter here instead, last,
    //   just before execve, as runc does: then it only has to allow what the
    //   command does. Step 2's call, under the opposite condition: exactly
    //   one of the two runs (a test reads their order in the trace). Read
    //   seccomp(2) and the book, chapter 09, "Where the filter goes".
    //{ TODO(09.3)
    if (!filter.empty() && settings.no_new_privs) {
        sys::seccomp_set_filter(filter, "profile " + settings.seccomp);
    }
    //} TODO(09.3)
}
//! [ch09-drop]

void Privileges::remove_devices_cgroup() noexcept {
    if (devices_dir_.empty()) {
        return;
    }
    // Its processes may still be dying (a start that failed): kill what is
    // left, and wait until the kernel lets the directory go.
    for (int attempt = 0; attempt < 200; ++attempt) {
        if (::rmdir(devices_dir_.c_str()) == 0 || errno == ENOENT) {
            trace::result(fmt::format("rmdir({})", trace::quote(devices_dir_)), 0, 0);
            // The parent too, when no other container uses it.
            std::string parent = devices_dir_.substr(0, devices_dir_.rfind('/'));
            if (::rmdir(parent.c_str()) == 0) {
                trace::result(fmt::format("rmdir({})", trace::quote(parent)), 0, 0);
            }
            devices_dir_.clear();
            return;
        }
        std::istringstream pids(read_or_empty(devices_dir_ + "/cgroup.procs"));
        for (pid_t pid = 0; pids >> pid;) {
            ::kill(pid, SIGKILL);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

void Privileges::after_exit(Container& /*c*/) { remove_devices_cgroup(); }

void Privileges::cleanup(Container& /*c*/) noexcept { remove_devices_cgroup(); }

}  // namespace minidocker
