// cgroups.cpp - chapter 02: cgroups limit what a container may use.
//
// The whole chapter in one sentence: a cgroup is a directory; its files are
// the limits; writing a pid into its cgroup.procs puts that process (and all
// it will fork) under them. Everything else here is bookkeeping: which
// directories (cgroup v1 has one hierarchy per controller, v2 one tree),
// which file names (they differ between v1 and v2), and removing it all
// afterwards.
#include "cgroups.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <sstream>
#include <thread>

#include "error.hpp"
#include "fd.hpp"
#include "sys.hpp"
#include "trace.hpp"

namespace minidocker {
namespace {

const std::string kDefaultParent = "minidocker";
// The v1 hierarchies a container joins. cpuacct is there for its usage
// counter (cpuacct.usage); on many hosts cpu and cpuacct are one mount.
const char* const kV1Controllers[] = {"memory", "cpu", "cpuacct", "pids", "cpuset"};
// The v2 controllers a container's parents must hand down to it.
const char* const kV2Controllers[] = {"memory", "pids", "cpu", "cpuset"};

bool exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

// "12" -> 12; throws UsageError naming the option for anything else.
int64_t parse_integer(const std::string& option, const std::string& text) {
    size_t used = 0;
    int64_t value = 0;
    try {
        value = std::stoll(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used == 0 || used != text.size()) {
        throw UsageError(fmt::format("invalid value \"{}\" for {}: not an integer", text, option));
    }
    return value;
}

}  // namespace

void Cgroups::add_run_options(CLI::App& run) {
    run.add_option("-m,--memory", memory_, "Memory limit (64m, 1.5g; at least 6m)");
    run.add_option("--memory-swap", memory_swap_, "Memory plus swap limit (default: twice -m; -1: unlimited swap)");
    run.add_option("--cpus", cpus_, "Number of CPUs (0.5: half of one)");
    run.add_option("--cpu-shares", cpu_shares_, "CPU shares, a relative weight (default 1024)");
    run.add_option("--pids-limit", pids_limit_, "At most this many processes (-1: unlimited)");
    run.add_option("--cpuset-cpus", cpuset_cpus_, "CPUs the container may run on (0-1, 0,1)");
    run.add_option("--cgroup-parent", cgroup_parent_, "Parent cgroup of the container's cgroups")
        ->capture_default_str();
}

//! [ch02-options]
CgroupLimits Cgroups::limits(CgroupMode mode) const {
    CgroupLimits l;
    if (!memory_.empty()) {
        l.memory = parse_memory_size(memory_);
        if (*l.memory < int64_t{6} * 1024 * 1024) {
            // Less than that and the container cannot even start (Docker's rule).
            throw UsageError(fmt::format("-m {}: minimum memory limit allowed is 6MB", memory_));
        }
    }
    if (!memory_swap_.empty()) {
        if (!l.memory) {
            throw UsageError("--memory-swap needs a memory limit too (-m)");
        }
        l.memory_swap = memory_swap_ == "-1" ? -1 : parse_memory_size(memory_swap_);
        if (*l.memory_swap != -1 && *l.memory_swap < *l.memory) {
            throw UsageError(
                fmt::format("--memory-swap {} is memory plus swap: it must be at least -m {}", memory_swap_, memory_));
        }
    }
    if (!cpus_.empty()) {
        double cpus = 0;
        size_t used = 0;
        try {
            cpus = std::stod(cpus_, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        unsigned host_cpus = std::max(1U, std::thread::hardware_concurrency());
        if (used == 0 || used != cpus_.size() || !(cpus >= 0.01 && cpus <= host_cpus)) {
            throw UsageError(fmt::format("--cpus {}: the range is 0.01 to {}, as there are only {} CPUs available",
                                         cpus_, host_cpus, host_cpus));
        }
        l.cpu = cpus_to_quota(cpus);
    }
    if (!cpu_shares_.empty()) {
        int64_t shares = parse_integer("--cpu-shares", cpu_shares_);
        if (shares < 2 || shares > 262144) {
            throw UsageError(fmt::format("--cpu-shares {}: must be between 2 and 262144", cpu_shares_));
        }
        l.cpu_shares = static_cast<uint64_t>(shares);
    }
    if (!pids_limit_.empty()) {
        int64_t pids = parse_integer("--pids-limit", pids_limit_);
        if (pids < -1) {
            throw UsageError(fmt::format("--pids-limit {}: must be positive (or -1: unlimited)", pids_limit_));
        }
        if (pids > 0) {
            l.pids = pids;
        }
    }
    if (!cpuset_cpus_.empty()) {
        // The CPUs our parent cgroup may use; a child cannot have more.
        std::string parent = mode == CgroupMode::unified ? root_ : root_ + "/cpuset";
        std::optional<std::string> available = read_cgroup_file(parent + "/cpuset.cpus.effective");
        if (!available) {
            available = read_cgroup_file(parent + "/cpuset.effective_cpus");  // v1's name
        }
        if (!available || first_line(*available).empty()) {
            available = read_cgroup_file("/sys/devices/system/cpu/online");
        }
        check_cpus_available(cpuset_cpus_, available.value_or("0"));
        l.cpuset_cpus = cpuset_cpus_;
    }
    return l;
}
//! [ch02-options]

//! [ch02-prepare]
void Cgroups::prepare(Container& c) {
    CgroupMode mode = detect_cgroup_mode(root_);
    trace::step(fmt::format("cgroup mode at {}: {}", root_, to_string(mode)));
    CgroupLimits l = limits(mode);  // bad input stops us before anything exists

    std::string parent = cgroup_parent_;
    while (!parent.empty() && parent.front() == '/') {
        parent.erase(0, 1);
    }
    while (!parent.empty() && parent.back() == '/') {
        parent.pop_back();
    }
    if (("/" + parent + "/").find("/../") != std::string::npos || parent.find("//") != std::string::npos) {
        throw UsageError(fmt::format("--cgroup-parent {}: must be a plain path below the cgroup root", cgroup_parent_));
    }

    // A cgroup namespace makes the cgroup its process is in *at creation*
    // its root "/". Created by clone(), it would be rooted where the runtime
    // is (here: memory:/process_api/...), and the container would see that
    // path's tail. So no CLONE_NEWCGROUP for clone(): the child unshares it
    // itself once it is in its own cgroups.
    // TODO(02.4): take the cgroup namespace out of clone(). c.clone_flags
    //   holds the CLONE_NEW* flags chapter 01 chose from --ns. Remember in
    //   new_cgroup_ns_ whether CLONE_NEWCGROUP is among them (join() and
    //   setup_before_root() read it), then clear that one bit in
    //   c.clone_flags, leaving the others as they are. Read
    //   cgroup_namespaces(7): the root of a new cgroup namespace is the cgroup
    //   its creator is in at that moment (man 7 cgroup_namespaces, first
    //   paragraphs, and the example with /sys/fs/cgroup/freezer/sub).
    //{ TODO(02.4)
    new_cgroup_ns_ = (c.clone_flags & CLONE_NEWCGROUP) != 0;
    c.clone_flags &= ~static_cast<unsigned long>(CLONE_NEWCGROUP);
    //} TODO(02.4)

    // The directories are made in create(), after every prepare(): from
    // chapter 04 on, the container's folder exists by then, so a runtime
    // killed while making them leaves nothing `rm -f` cannot find and remove.
    cgroups_.emplace(root_, mode, parent, c.id);
    limits_ = l;
}
//! [ch02-prepare]

//! [ch02-create]
void Cgroups::create(Container& c) {
    cgroups_->create(limits_);
    // Moving a process into a cgroup by writing its pid to cgroup.procs takes
    // a kernel-wide lock whose first taker waits for an RCU grace period:
    // 5 to 16 ms here, longer than all the rest of a start. So nobody moves
    // the child. On cgroup v2 it is born in its cgroup: clone3() with
    // CLONE_INTO_CGROUP takes an open directory.
    std::string v2 = cgroups_->v2_leaf();
    if (!v2.empty()) {
        v2_leaf_ = open_fd(v2, O_RDONLY | O_DIRECTORY);
        c.cgroup_fd = v2_leaf_.get();
        c.cgroup_dir = v2;
    }
}
//! [ch02-create]

//! [ch02-enter]
void Cgroups::enter(Container& c) {
    // In the child, first of all, before our "ready": everything after it,
    // our set-up and then the user's command, runs inside the cgroups.
    // On cgroup v1 we move ourselves: see ContainerCgroups::enter_self().
    cgroups_->enter_self(c.cgroup_fd >= 0);
}
//! [ch02-enter]

void Cgroups::join(Container& c) {
    v2_leaf_.reset();  // the child is born; the directory needs no holder
    if (new_cgroup_ns_) {
        c.namespaces |= CLONE_NEWCGROUP;  // the child makes it meanwhile
    }
}

//! [ch02-cgroupns]
void Cgroups::setup_before_root(Container& c) {
    if (!new_cgroup_ns_) {
        return;
    }
    // We are in our own cgroups now (enter ran before "ready"): a new cgroup
    // namespace made here is rooted at them, and /proc/self/cgroup inside
    // shows "/" on every line.
    // TODO(02.5): make the cgroup namespace now, in this process (the
    //   container's, still before execvp): unshare(2) with CLONE_NEWCGROUP
    //   moves the caller itself into a new cgroup namespace (unlike
    //   CLONE_NEWPID, which only affects children). Call it as
    //   sys::unshare() from common/sys.hpp: --trace prints
    //   unshare(CLONE_NEWCGROUP), and a test reads it. man 2 unshare,
    //   man 7 cgroup_namespaces.
    //{ TODO(02.5)
    sys::unshare(CLONE_NEWCGROUP);
    //} TODO(02.5)
    c.namespaces |= CLONE_NEWCGROUP;
}
//! [ch02-cgroupns]

//! [ch02-oom]
void Cgroups::after_exit(Container& c) {
    if (!cgroups_) {
        return;
    }
    uint64_t kills = cgroups_->oom_kills();
    // The container is over: its cgroups go now, not in cleanup(), which
    // runs after chapter 04's has removed the container's folder. A runtime
    // killed in between would leave cgroups that no record names.
    cgroups_->remove();
    cgroups_.reset();
    if (kills == 0) {
        return;
    }
    c.oom_killed = true;
    std::string limit = memory_.empty() ? "no limit set: the host ran out" : "limit -m " + memory_;
    if (c.exit_code == 128 + SIGKILL) {
        c.notes.push_back(fmt::format("container was killed: out of memory ({})", limit));
    } else {
        c.notes.push_back(fmt::format("out of memory: {} process(es) in the container were killed ({})", kills, limit));
    }
}
//! [ch02-oom]

void Cgroups::cleanup(Container& /*c*/) noexcept {
    if (cgroups_) {
        cgroups_->remove();
        cgroups_.reset();
    }
}

// ---------------------------------------------------------------------------
// ContainerCgroups: the directories and their files.

ContainerCgroups::ContainerCgroups(std::string root, CgroupMode mode, std::string parent, std::string id)
    : root_(std::move(root)), mode_(mode), parent_(std::move(parent)), id_(std::move(id)) {
    if (mode_ == CgroupMode::unified) {
        hierarchies_.push_back(root_);
        return;
    }
    // v1: one directory per controller. Where two controllers share a mount
    // (cpu,cpuacct), the names are symlinks to one hierarchy: join it once.
    std::vector<std::filesystem::path> seen;
    for (const char* controller : kV1Controllers) {
        std::string dir = root_ + "/" + controller;
        std::error_code ec;
        std::filesystem::path real = std::filesystem::canonical(dir, ec);
        if (ec || std::find(seen.begin(), seen.end(), real) != seen.end()) {
            continue;
        }
        seen.push_back(real);
        hierarchies_.push_back(dir);
    }
    if (mode_ == CgroupMode::hybrid) {
        // The empty v2 tree tracks processes too (and has cgroup.kill).
        hierarchies_.push_back(root_ + "/unified");
    }
}

void ContainerCgroups::create(const CgroupLimits& limits) {
    for (const std::string& hierarchy : hierarchies_) {
        // Containers share the parent (minidocker/), and the last one out
        // removes it: another container's cleanup may remove it between our
        // mkdir of it and of our own directory (ENOENT). Then make it again.
        for (int attempt = 1;; ++attempt) {
            try {
                make_path(hierarchy, hierarchy == root_ + "/cpuset");
                break;
            } catch (const std::system_error& e) {
                if (e.code().value() != ENOENT || attempt == 5) {
                    throw;
                }
            }
        }
    }
    if (mode_ == CgroupMode::unified) {
        write_v2(leaves_.front(), limits);
    } else {
        write_v1(limits);
    }
}

// mkdir <hierarchy>/<parent>/<id>, one level at a time.
void ContainerCgroups::make_path(const std::string& hierarchy, bool copy_cpuset) {
    std::vector<std::string> parts;
    std::stringstream in(parent_);
    for (std::string part; std::getline(in, part, '/');) {
        parts.push_back(part);
    }
    parts.push_back(id_);

    std::string dir = hierarchy;
    for (size_t i = 0; i < parts.size(); ++i) {
        bool leaf = i + 1 == parts.size();
        if (mode_ == CgroupMode::unified) {
            // v2 hands a controller to a child only when the parent lists it
            // in cgroup.subtree_control, and the parent's parent must have
            // done the same: enable them from the root down. (In hybrid mode
            // the v2 tree has no controllers: they are all on v1.)
            std::string offered = " " + first_line(read_cgroup_file(root_ + "/cgroup.controllers").value_or("")) + " ";
            std::string enabled =
                " " + first_line(read_cgroup_file(dir + "/cgroup.subtree_control").value_or("")) + " ";
            std::string add;
            for (const char* controller : kV2Controllers) {
                std::string name = std::string(" ") + controller + " ";
                if (offered.find(name) != std::string::npos && enabled.find(name) == std::string::npos) {
                    add += (add.empty() ? "+" : " +") + std::string(controller);
                }
            }
            if (!add.empty()) {
                write_cgroup_file(dir + "/cgroup.subtree_control", add);
            }
        }
        std::string parent_dir = dir;
        dir += "/" + parts[i];
        if (leaf) {
            sys::mkdir(dir, 0755);  // the container's own: it must be new
            leaves_.push_back(dir);
        } else {
            // A parent may be there already: another container's.
            bool made = sys::mkdir_if_missing(dir, 0755);
            if ((made || parent_ == kDefaultParent) &&
                std::find(parents_.begin(), parents_.end(), dir) == parents_.end()) {
                // Ours to remove when empty; the default parent too, whoever made it.
                parents_.insert(parents_.begin(), dir);
            }
        }
        //! [ch02-cpuset]
        if (copy_cpuset) {
            // A new v1 cpuset starts with no CPUs and no memory nodes, and a
            // process cannot join it (ENOSPC) until both are set: copy them
            // from the parent.
            for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
                std::string mine = first_line(read_cgroup_file(dir + "/" + file).value_or(""));
                std::string theirs = first_line(read_cgroup_file(parent_dir + "/" + file).value_or(""));
                if (mine.empty() && !theirs.empty()) {
                    write_cgroup_file(dir + "/" + file, theirs);
                }
            }
        }
        //! [ch02-cpuset]
    }
}

//! [ch02-v1]
// cgroup v1: each controller has its own hierarchy and its own file names.
void ContainerCgroups::write_v1(const CgroupLimits& l) {
    std::string path = parent_.empty() ? id_ : parent_ + "/" + id_;
    std::string memory = root_ + "/memory/" + path;
    std::string cpu = root_ + "/cpu/" + path;
    if (l.memory) {
        // TODO(02.1): the memory limit. On cgroup v1 it is the file
        //   memory.limit_in_bytes in the container's memory cgroup (the
        //   directory in `memory`); write *l.memory, in bytes, as decimal text
        //   (std::to_string), with write_cgroup_file(). Read
        //   Documentation/admin-guide/cgroup-v1/memory.rst, section 2.5 and
        //   "3. User Interface". Write it before memory.memsw.limit_in_bytes
        //   below: memsw (memory plus swap) may never be less than the memory
        //   limit, and an unset limit is the largest number there is, so
        //   until you write yours the memsw write fails with EINVAL.
        //{ TODO(02.1)
        write_cgroup_file(memory + "/memory.limit_in_bytes", std::to_string(*l.memory));
        //} TODO(02.1)
        // memsw is memory *plus* swap, Docker's --memory-swap. Without it,
        // the container could swap out without limit. Docker's default: as
        // much swap as memory.
        int64_t memsw = l.memory_swap.value_or(2 * *l.memory);
        if (exists(root_ + "/memory/memory.memsw.limit_in_bytes")) {
            write_cgroup_file(memory + "/memory.memsw.limit_in_bytes", std::to_string(memsw));
        } else {
            trace::step("no memory.memsw.limit_in_bytes (swap accounting is off): swap is not limited");
        }
    }
    if (l.cpu) {
        // CFS bandwidth: at most quota µs of CPU time in every period µs.
        // TODO(02.2): --cpus as CFS bandwidth. On cgroup v1 that is two files
        //   in the container's cpu cgroup (the directory in `cpu`):
        //   cpu.cfs_period_us gets l.cpu->period_us, then cpu.cfs_quota_us
        //   gets l.cpu->quota_us, both in microseconds as decimal text.
        //   cpus_to_quota() in cgroup_driver.cpp already made the pair:
        //   --cpus 0.5 is 50000 in every 100000. Read
        //   Documentation/scheduler/sched-bwc.rst ("Management") and cgroups(7).
        //{ TODO(02.2)
        write_cgroup_file(cpu + "/cpu.cfs_period_us", std::to_string(l.cpu->period_us));
        write_cgroup_file(cpu + "/cpu.cfs_quota_us", std::to_string(l.cpu->quota_us));
        //} TODO(02.2)
    }
    if (l.cpu_shares) {
        write_cgroup_file(cpu + "/cpu.shares", std::to_string(*l.cpu_shares));
    }
    if (l.pids) {
        // TODO(02.3): at most *l.pids processes (threads count too): the file
        //   pids.max in the container's pids cgroup, root_ + "/pids/" + path.
        //   Once the cgroup holds that many, fork() and clone() in it fail
        //   with EAGAIN. Read Documentation/admin-guide/cgroup-v1/pids.rst.
        //{ TODO(02.3)
        write_cgroup_file(root_ + "/pids/" + path + "/pids.max", std::to_string(*l.pids));
        //} TODO(02.3)
    }
    if (!l.cpuset_cpus.empty()) {
        write_cgroup_file(root_ + "/cpuset/" + path + "/cpuset.cpus", l.cpuset_cpus);
    }
}
//! [ch02-v1]

//! [ch02-v2]
// cgroup v2: one directory, and the file names say what they limit.
void ContainerCgroups::write_v2(const std::string& leaf, const CgroupLimits& l) {
    if (l.memory) {
        // TODO(02.1): the same on cgroup v2: the file memory.max in `leaf`,
        //   *l.memory in bytes. Read Documentation/admin-guide/cgroup-v2.rst,
        //   "Memory Interface Files", memory.max.
        //{ TODO(02.1)
        write_cgroup_file(leaf + "/memory.max", std::to_string(*l.memory));
        //} TODO(02.1)
        // v2 limits swap on its own, not memory plus swap as v1 (and Docker) do.
        int64_t total = l.memory_swap.value_or(2 * *l.memory);
        std::string swap = total == -1 ? "max" : std::to_string(total - *l.memory);
        std::string parent_dir = std::filesystem::path(leaf).parent_path();
        if (exists(leaf + "/memory.swap.max") || exists(parent_dir + "/memory.swap.max")) {
            write_cgroup_file(leaf + "/memory.swap.max", swap);
        } else {
            trace::step("no memory.swap.max (swap accounting is off): swap is not limited");
        }
    }
    if (l.cpu) {
        // TODO(02.2): the same on cgroup v2: one file, cpu.max in `leaf`,
        //   holds both numbers, quota first: "50000 100000". Read
        //   Documentation/admin-guide/cgroup-v2.rst, "CPU Interface Files".
        //{ TODO(02.2)
        write_cgroup_file(leaf + "/cpu.max", fmt::format("{} {}", l.cpu->quota_us, l.cpu->period_us));
        //} TODO(02.2)
    }
    if (l.cpu_shares) {
        write_cgroup_file(leaf + "/cpu.weight", std::to_string(shares_to_weight(*l.cpu_shares)));
    }
    if (l.pids) {
        // TODO(02.3): the same on cgroup v2: pids.max in `leaf`. Read
        //   Documentation/admin-guide/cgroup-v2.rst, "PID Interface Files".
        //{ TODO(02.3)
        write_cgroup_file(leaf + "/pids.max", std::to_string(*l.pids));
        //} TODO(02.3)
    }
    if (!l.cpuset_cpus.empty()) {
        write_cgroup_file(leaf + "/cpuset.cpus", l.cpuset_cpus);
    }
}
//! [ch02-v2]

std::string ContainerCgroups::v2_leaf() const {
    if (mode_ == CgroupMode::unified || (mode_ == CgroupMode::hybrid && !leaves_.empty())) {
        return leaves_.back();  // hybrid: unified/ is the last hierarchy
    }
    return "";
}

//! [ch02-enter-self]
void ContainerCgroups::enter_self(bool born_in_v2) {
    std::string v2 = v2_leaf();
    for (const std::string& leaf : leaves_) {
        if (leaf == v2) {
            if (!born_in_v2) {
                // A kernel without CLONE_INTO_CGROUP: "0" is the writer, and
                // v2 moves whole processes only, so this takes the slow lock.
                write_cgroup_file(leaf + "/cgroup.procs", "0");
            }
            continue;
        }
        // cgroup v1: `tasks` moves one thread, and "0" is the writer itself.
        // For that one case the kernel skips the lock cgroup.procs takes (a
        // thread that moves itself cannot exit or exec meanwhile). We have
        // one thread, so the thread is the whole process.
        write_cgroup_file(leaf + "/tasks", "0");
    }
}
//! [ch02-enter-self]

std::string ContainerCgroups::memory_dir() const {
    std::string path = parent_.empty() ? id_ : parent_ + "/" + id_;
    return mode_ == CgroupMode::unified ? root_ + "/" + path : root_ + "/memory/" + path;
}

uint64_t ContainerCgroups::oom_kills() const {
    // The kernel counts its OOM kills per memory cgroup.
    // TODO(02.6): return that count. It is the line "oom_kill N" of the file
    //   memory.oom_control on cgroup v1 and of memory.events on cgroup v2, in
    //   the container's memory cgroup, memory_dir(). Read the file with
    //   read_cgroup_file() (nullopt when it cannot be read: count that as
    //   none) and pick the number with read_key(), both in cgroup_driver.hpp.
    //   Read cgroup-v1/memory.rst, section 10 "OOM Control", and
    //   cgroup-v2.rst, memory.events. after_exit() turns the count into the
    //   note "container was killed: out of memory".
    //{ TODO(02.6)
    //| return 0;
    std::string file = mode_ == CgroupMode::unified ? "/memory.events" : "/memory.oom_control";
    return read_key(read_cgroup_file(memory_dir() + file).value_or(""), "oom_kill");
    //} TODO(02.6)
}

//! [ch02-cleanup]
void ContainerCgroups::remove() noexcept try {
    using Clock = std::chrono::steady_clock;
    for (const std::string& leaf : leaves_) {
        // A cgroup with processes in it cannot be removed (EBUSY). Normally
        // there are none: when PID 1 of a PID namespace dies, the kernel
        // kills the rest. Without one, strays may remain: kill them, retry.
        auto deadline = Clock::now() + std::chrono::seconds(1);
        int rc = ::rmdir(leaf.c_str());
        int err = errno;
        while (rc == -1 && err == EBUSY && Clock::now() < deadline) {
            if (exists(leaf + "/cgroup.kill")) {
                try {
                    write_cgroup_file(leaf + "/cgroup.kill", "1");  // v2: the kernel kills them all
                } catch (const std::exception&) {
                }
            } else {
                std::istringstream pids(read_cgroup_file(leaf + "/cgroup.procs").value_or(""));
                for (pid_t pid = 0; pids >> pid;) {
                    int killed = ::kill(pid, SIGKILL);
                    int kill_err = errno;
                    trace::result(fmt::format("kill({}, SIGKILL)", pid), killed, kill_err);
                }
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            rc = ::rmdir(leaf.c_str());
            err = errno;
        }
        trace::result(fmt::format("rmdir(\"{}\")", leaf), rc, err);
    }
    // Then the parents, deepest first: gone when empty, kept (EBUSY) while
    // another container still has its cgroup in them.
    for (const std::string& dir : parents_) {
        int rc = ::rmdir(dir.c_str());
        int err = errno;
        trace::result(fmt::format("rmdir(\"{}\")", dir), rc, err);
    }
    leaves_.clear();
    parents_.clear();
} catch (...) {
    // Out of memory while formatting a trace line: nothing more we can do.
}
//! [ch02-cleanup]

}  // namespace minidocker
