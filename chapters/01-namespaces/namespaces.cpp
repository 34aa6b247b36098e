// namespaces.cpp - chapter 01: clone() with namespace flags.
//
// The whole chapter in one sentence: the container's process is an ordinary
// process, started with clone() and a few CLONE_NEW* flags. Everything here
// is what those new namespaces need before the user's command can run.
#include "namespaces.hpp"

#include <fmt/format.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "error.hpp"
#include "fd.hpp"
#include "ns_inspector.hpp"
#include "trace.hpp"

namespace minidocker {

//! [ch01-flags]
unsigned long parse_namespace_list(const std::string& list) {
    // Each name the user may write, and the clone() flag that creates it.
    static const struct {
        const char* name;
        unsigned long flag;
    } known[] = {
        {"uts", CLONE_NEWUTS},
        // TODO(01.1): add one row for each of the other five names a user may
        //   write in --ns: "pid", "mnt", "ipc", "net", "cgroup", each with the
        //   CLONE_NEW* flag that makes clone() create that namespace. The flags
        //   are in clone(2), "The flags mask" (man 2 clone, search for
        //   CLONE_NEW); the types are in namespaces(7). One name is not spelled
        //   like its flag: the mount namespace came first (2002), when nobody
        //   expected others.
        //{ TODO(01.1)
        {"pid", CLONE_NEWPID},
        {"mnt", CLONE_NEWNS},
        {"ipc", CLONE_NEWIPC},
        {"net", CLONE_NEWNET},
        {"cgroup", CLONE_NEWCGROUP},
        //} TODO(01.1)
    };
    unsigned long flags = 0;
    size_t start = 0;
    while (start <= list.size() && !list.empty()) {
        size_t comma = std::min(list.find(',', start), list.size());
        std::string word = list.substr(start, comma - start);
        start = comma + 1;
        unsigned long flag = 0;
        for (const auto& k : known) {
            if (word == k.name) {
                flag = k.flag;
            }
        }
        if (flag == 0) {
            throw UsageError(
                fmt::format("unknown namespace \"{}\" in --ns (choose from uts,pid,mnt,ipc,net,cgroup)", word));
        }
        if ((flags & flag) != 0) {
            throw UsageError(fmt::format("namespace \"{}\" is listed twice in --ns", word));
        }
        flags |= flag;
    }
    if (flags == 0) {
        throw UsageError("--ns needs at least one namespace (uts,pid,mnt,ipc,net,cgroup)");
    }
    return flags;
}
//! [ch01-flags]

void Namespaces::add_run_options(CLI::App& run) {
    run.add_option("--hostname,-h", hostname_, "Hostname inside the container (needs the uts namespace)");
    run.add_option("--ns", ns_list_, "Namespaces to create, comma-separated")->capture_default_str();
}

void Namespaces::add_commands(Runtime& rt) {
    CLI::App* ns = rt.add_command("ns", "Show a process's namespaces, as /proc/PID/ns does", [this] {
        NsReport report = inspect_namespaces(inspect_pid_, inspect_vs_);
        fmt::print("{}", inspect_json_ ? format_ns_json(report) : format_ns_table(report));
        return 0;
    });
    ns->add_option("pid", inspect_pid_, "The process to look at")->required();
    ns->add_option("--vs", inspect_vs_, "Compare with this process (default: the host's PID 1)");
    ns->add_flag("--json", inspect_json_, "Print JSON instead of a table");
}

void Namespaces::prepare(Container& c) {
    c.clone_flags |= parse_namespace_list(ns_list_);
    if (!hostname_.empty()) {
        if ((c.clone_flags & CLONE_NEWUTS) == 0) {
            throw UsageError("--hostname needs the uts namespace (add uts to --ns)");
        }
        if (hostname_.size() > HOST_NAME_MAX) {
            throw UsageError(fmt::format("--hostname is longer than {} characters", HOST_NAME_MAX));
        }
        c.hostname = hostname_;
    }
    if (c.clone_flags & CLONE_NEWUTS) {
        c.env.push_back("HOSTNAME=" + c.hostname);
    }
}

//! [ch01-private]
void Namespaces::setup_before_root(Container& c) {
    if ((c.clone_flags & CLONE_NEWNS) == 0) {
        return;
    }
    // Our new mount namespace starts as a copy of the host's, and on systemd
    // hosts "/" is a shared mount: anything mounted under it would propagate
    // back to the host. Make every mount private first.
    // TODO(01.2): change the propagation type of "/" and of every mount below
    //   it to private, with one mount(2) call: no source, no filesystem type,
    //   no data, and the flags MS_REC | MS_PRIVATE (man 2 mount, "Changing the
    //   propagation type of an existing mount"; man 7 mount_namespaces,
    //   "SHARED SUBTREES"). Wrap it in check() from error.hpp, so a failure
    //   throws, with the call as text: mount(NULL, "/", NULL,
    //   MS_REC|MS_PRIVATE, NULL). --trace prints that text; the tests read it.
    //{ TODO(01.2)
    check(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr),
          "mount(NULL, \"/\", NULL, MS_REC|MS_PRIVATE, NULL)");
    //} TODO(01.2)
}
//! [ch01-private]

namespace {

//! [ch01-lo]
// A new network namespace has only a loopback device, and it is down.
// Bring it up the way `ip link set lo up` does, with SIOCSIFFLAGS.
void bring_loopback_up() {
    Fd sock{::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
    if (!sock) {
        throw_errno("socket(AF_INET, SOCK_DGRAM)");
    }
    struct ifreq req {};
    std::strncpy(req.ifr_name, "lo", IFNAMSIZ - 1);
    // TODO(01.5): read lo's flags into req with ioctl(sock, SIOCGIFFLAGS,
    //   &req), add IFF_UP to req.ifr_flags, and write them back with
    //   ioctl(sock, SIOCSIFFLAGS, &req) (man 7 netdevice). Wrap both ioctl()
    //   calls in check(), e.g. with the text ioctl("lo", SIOCSIFFLAGS, IFF_UP).
    //{ TODO(01.5)
    check(::ioctl(sock.get(), SIOCGIFFLAGS, &req), "ioctl(\"lo\", SIOCGIFFLAGS)");
    req.ifr_flags |= IFF_UP;
    check(::ioctl(sock.get(), SIOCSIFFLAGS, &req), "ioctl(\"lo\", SIOCSIFFLAGS, IFF_UP)");
    //} TODO(01.5)
}
//! [ch01-lo]

}  // namespace

//! [ch01-after-root]
void Namespaces::setup_after_root(Container& c) {
    if (c.clone_flags & CLONE_NEWNS) {
        // /proc shows the PID namespace of whoever mounted it. A fresh mount,
        // made from inside our PID namespace, lists only our processes. It
        // goes into our private mount table: the host's /proc is untouched.
        // TODO(01.3): mount a new proc filesystem on /proc with mount(2):
        //   source "proc", target "/proc", type "proc", flags MS_NOSUID |
        //   MS_NODEV | MS_NOEXEC, no data (man 2 mount, "Creating a new
        //   mount"; man 5 proc, "Mount options"). Wrap it in check(), with
        //   the text mount("proc", "/proc", "proc", <flags>, NULL), where
        //   trace::mount_flags(f) spells the flag word f by name.
        //{ TODO(01.3)
        unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
        check(::mount("proc", "/proc", "proc", flags, nullptr),
              fmt::format("mount(\"proc\", \"/proc\", \"proc\", {}, NULL)", trace::mount_flags(flags)));
        //} TODO(01.3)
    } else {
        trace::step("no mount namespace: /proc is the host's and still lists the host's processes");
    }
    if (c.clone_flags & CLONE_NEWUTS) {
        // TODO(01.4): give the new UTS namespace the name in c.hostname with
        //   sethostname(2) (it takes a pointer and a length, not a C string).
        //   Wrap it in check(), with the text sethostname("<the name>").
        //{ TODO(01.4)
        check(::sethostname(c.hostname.data(), c.hostname.size()), fmt::format("sethostname(\"{}\")", c.hostname));
        //} TODO(01.4)
    }
    if (c.clone_flags & CLONE_NEWNET) {
        bring_loopback_up();
    }
}
//! [ch01-after-root]

}  // namespace minidocker
