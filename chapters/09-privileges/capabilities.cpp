// capabilities.cpp - see capabilities.hpp. The table below is the chapter's
// list of every capability: what it lets a container's root do, and why
// Docker keeps it or takes it away.
#include "capabilities.hpp"

#include <linux/capability.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <string>

#include "error.hpp"

namespace minidocker {

namespace {

struct Capability {
    int number;
    const char* name;
    bool kept;  // in Docker's default set
};

//! [ch09-capabilities]
// Kept: what ordinary programs in a container need as root, on the files
// and processes of the container itself. Dropped: whatever reaches the
// host's kernel, its devices, its clock, its other processes.
const Capability kCapabilities[] = {
    {CAP_CHOWN, "CAP_CHOWN", true},                       // chown files: package managers do
    {CAP_DAC_OVERRIDE, "CAP_DAC_OVERRIDE", true},         // root reads and writes any file mode
    {CAP_DAC_READ_SEARCH, "CAP_DAC_READ_SEARCH", false},  // open_by_handle_at: reach files outside
                                                          // the root through a handle ("shocker")
    {CAP_FOWNER, "CAP_FOWNER", true},                     // chmod files one does not own
    {CAP_FSETID, "CAP_FSETID", true},                     // keep setuid bits when writing
    {CAP_KILL, "CAP_KILL", true},        // signal any process it sees: only its own, in its PID namespace
    {CAP_SETGID, "CAP_SETGID", true},    // become another group: su, servers dropping root
    {CAP_SETUID, "CAP_SETUID", true},    // become another user
    {CAP_SETPCAP, "CAP_SETPCAP", true},  // drop capabilities from the bounding set
    {CAP_LINUX_IMMUTABLE, "CAP_LINUX_IMMUTABLE", false},   // chattr +i: files even root cannot change
    {CAP_NET_BIND_SERVICE, "CAP_NET_BIND_SERVICE", true},  // listen on ports below 1024
    {CAP_NET_BROADCAST, "CAP_NET_BROADCAST", false},       // (unused by the kernel)
    {CAP_NET_ADMIN, "CAP_NET_ADMIN", false},               // interfaces, routes, firewall: with --net host, the host's
    {CAP_NET_RAW, "CAP_NET_RAW", true},                    // raw sockets: ping
    {CAP_IPC_LOCK, "CAP_IPC_LOCK", false},                 // lock memory beyond the limit (mlock)
    {CAP_IPC_OWNER, "CAP_IPC_OWNER", false},               // bypass the permissions of System V IPC
    {CAP_SYS_MODULE, "CAP_SYS_MODULE", false},             // load kernel modules: any code into the host's kernel
    {CAP_SYS_RAWIO, "CAP_SYS_RAWIO", false},               // I/O ports, /dev/mem: the machine itself
    {CAP_SYS_CHROOT, "CAP_SYS_CHROOT", true},              // chroot(2): harmless after pivot_root (chapter 03)
    {CAP_SYS_PTRACE, "CAP_SYS_PTRACE", false},             // trace any process it sees, read its memory
    {CAP_SYS_PACCT, "CAP_SYS_PACCT", false},               // process accounting to a file, host-wide
    {CAP_SYS_ADMIN, "CAP_SYS_ADMIN", false},               // "the new root": mount, unshare, setns, sethostname,
                                                           // swapon, quotas, bpf... most escapes start here
    {CAP_SYS_BOOT, "CAP_SYS_BOOT", false},                 // reboot(2), kexec: the host's
    {CAP_SYS_NICE, "CAP_SYS_NICE", false},                 // raise priorities, real-time scheduling: starve the host
    {CAP_SYS_RESOURCE, "CAP_SYS_RESOURCE", false},         // exceed resource limits and quotas
    {CAP_SYS_TIME, "CAP_SYS_TIME", false},                 // set the clock: there is only the host's
    {CAP_SYS_TTY_CONFIG, "CAP_SYS_TTY_CONFIG", false},     // vhangup(2) of terminals
    {CAP_MKNOD, "CAP_MKNOD", true},                        // mknod(2): the devices cgroup decides about use
    {CAP_LEASE, "CAP_LEASE", false},                       // file leases on files one does not own
    {CAP_AUDIT_WRITE, "CAP_AUDIT_WRITE", true},            // write to the audit log: login, sshd
    {CAP_AUDIT_CONTROL, "CAP_AUDIT_CONTROL", false},       // change the host's audit rules
    {CAP_SETFCAP, "CAP_SETFCAP", true},                    // set file capabilities (images carry them)
    {CAP_MAC_OVERRIDE, "CAP_MAC_OVERRIDE", false},         // bypass AppArmor, SELinux, Smack
    {CAP_MAC_ADMIN, "CAP_MAC_ADMIN", false},               // change their policy
    {CAP_SYSLOG, "CAP_SYSLOG", false},                     // the kernel's log, and its addresses
    {CAP_WAKE_ALARM, "CAP_WAKE_ALARM", false},             // wake the host from suspend
    {CAP_BLOCK_SUSPEND, "CAP_BLOCK_SUSPEND", false},       // keep the host from suspending
    {CAP_AUDIT_READ, "CAP_AUDIT_READ", false},             // read the host's audit log
    {CAP_PERFMON, "CAP_PERFMON", false},                   // perf_event_open: watch every CPU
    {CAP_BPF, "CAP_BPF", false},                           // load BPF programs into the kernel
    {CAP_CHECKPOINT_RESTORE, "CAP_CHECKPOINT_RESTORE", false},  // set pids, read other processes' maps
};
//! [ch09-capabilities]

std::string upper(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return std::toupper(ch); });
    return s;
}

bool names_all(const std::vector<std::string>& words) {
    return std::any_of(words.begin(), words.end(), [](const std::string& w) { return upper(w) == "ALL"; });
}

uint64_t mask_of(const std::vector<std::string>& words) {
    uint64_t mask = 0;
    for (const std::string& word : words) {
        if (upper(word) != "ALL") {
            mask |= 1ULL << parse_capability(word);
        }
    }
    return mask;
}

}  // namespace

int last_capability() {
    static const int last = [] {
        std::ifstream in("/proc/sys/kernel/cap_last_cap");
        int n = CAP_LAST_CAP;
        in >> n;
        return n;
    }();
    return last;
}

uint64_t all_capabilities() {
    int last = last_capability();
    return last >= 63 ? ~0ULL : (1ULL << (last + 1)) - 1;
}

uint64_t held_capabilities() {
    std::ifstream in("/proc/self/status");
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("CapPrm:", 0) == 0) {
            return std::stoull(line.substr(7), nullptr, 16);
        }
    }
    return all_capabilities();
}

uint64_t docker_default_capabilities() {
    uint64_t mask = 0;
    for (const Capability& c : kCapabilities) {
        if (c.kept) {
            mask |= 1ULL << c.number;
        }
    }
    return mask;
}

std::string capability_name(int cap) {
    for (const Capability& c : kCapabilities) {
        if (c.number == cap) {
            return c.name;
        }
    }
    return "CAP_" + std::to_string(cap);
}

int parse_capability(const std::string& word) {
    std::string name = upper(word);
    if (name.rfind("CAP_", 0) != 0) {
        name = "CAP_" + name;
    }
    for (const Capability& c : kCapabilities) {
        if (name == c.name && c.number <= last_capability()) {
            return c.number;
        }
    }
    throw UsageError("unknown capability: \"" + name + "\"");
}

std::string normalized_capability(const std::string& word) {
    return upper(word) == "ALL" ? "ALL" : capability_name(parse_capability(word));
}

uint64_t capability_mask(const std::vector<std::string>& add, const std::vector<std::string>& drop, bool privileged) {
    uint64_t added = mask_of(add);  // throws for an unknown name, before anything else
    uint64_t dropped = mask_of(drop);
    uint64_t all = held_capabilities();
    uint64_t base = privileged ? all : docker_default_capabilities();
    if (names_all(drop)) {
        return names_all(add) ? all : added;
    }
    if (names_all(add)) {
        return all & ~dropped;
    }
    return ((base & ~dropped) | added) & all;
}

std::vector<std::string> capability_names(uint64_t mask) {
    std::vector<std::string> names;
    for (int cap = 0; cap < 64; ++cap) {
        if ((mask & (1ULL << cap)) != 0) {
            names.push_back(capability_name(cap));
        }
    }
    return names;
}

}  // namespace minidocker
