// net.cpp - chapter 08: --net none|host|container:NAME. See net.hpp.
#include "net.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <climits>

#include "container_view.hpp"
#include "error.hpp"
#include "state.hpp"
#include "store.hpp"
#include "sys.hpp"
#include "trace.hpp"

namespace minidocker {

std::string NetworkMode::text() const {
    switch (kind) {
        case Kind::host:
            return "host";
        case Kind::container:
            return "container:" + container;
        case Kind::none:
            break;
    }
    return "none";
}

NetworkMode parse_network_mode(const std::string& arg) {
    NetworkMode mode;
    if (arg == "none") {
        return mode;
    }
    if (arg == "host") {
        mode.kind = NetworkMode::Kind::host;
        return mode;
    }
    if (arg.rfind("container:", 0) == 0) {
        mode.kind = NetworkMode::Kind::container;
        mode.container = arg.substr(std::string("container:").size());
        if (mode.container.empty()) {
            throw UsageError("--net container: needs a container's name: --net container:NAME");
        }
        return mode;
    }
    if (arg == "bridge" || arg == "default") {
        throw UsageError(
            fmt::format("--net {}: minidocker has no bridge network; use none, host or container:NAME", arg));
    }
    throw UsageError(fmt::format("--net {}: unknown network mode; use none, host or container:NAME", arg));
}

namespace {

// The inode of a namespace file, as `ls -iL` and `lsns` show it: the
// namespace's identity.
std::string ns_text(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        return "?";
    }
    return fmt::format("net:[{}]", st.st_ino);
}

// Replaces a file of the init layer. No one reads it yet (the overlay is
// mounted in the child, later), and like all of the init layer it is made
// anew for each container: a plain write does, with no temp file renamed
// over it and no fsync (those cost a millisecond of every --net host start).
void replace_init_file(const std::string& init, const std::string& path, const std::string& content) {
    std::string full = init + path;
    if (::unlink(full.c_str()) != 0) {  // (the "wrote" line below narrates both)
        throw_errno(fmt::format("unlink(\"{}\")", full));
    }
    Fd fd = open_fd(full, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (::write(fd.get(), content.data(), content.size()) != static_cast<ssize_t>(content.size())) {
        throw_errno(fmt::format("write(\"{}\")", full));
    }
    trace::step(fmt::format("wrote {}{} ({} bytes)", init, path, content.size()));
}

}  // namespace

std::string host_hostname() { return sys::gethostname(); }

void Network::add_run_options(CLI::App& run) {
    net_option_ = run.add_option("--net,--network", net_arg_,
                                 "Network: none (the default: its own namespace, only lo), host, container:NAME");
}

void Network::begin(Container& c) {
    mode_ = parse_network_mode(net_option_->count() > 0 ? net_arg_ : "none");
    // Docker's hostname follows the network: the host's name on the host's
    // network, the other container's in its namespace. --hostname (chapter
    // 01, applied later, at prepare) still wins on the host's network; with
    // container:NAME, prepare refuses it, as Docker does.
    if (mode_.kind == NetworkMode::Kind::host) {
        // TODO(08.3): the container's hostname is the host's (host_hostname()).
        //{ TODO(08.3)
        c.hostname = host_hostname();
        //} TODO(08.3)
    } else if (mode_.kind == NetworkMode::Kind::container) {
        Store store{c.store_root};
        std::string id;
        try {
            id = store.container_id(mode_.container);
        } catch (const UsageError& e) {
            throw UsageError(fmt::format("--net container:{}: {}", mode_.container, e.what()));
        }
        ContainerView other = load_container(store, id);
        if (!other.running) {
            throw UsageError(fmt::format("--net container:{}: the container is not running", mode_.container));
        }
        other_pid_ = other.state.pid;
        other_start_ = other.monitor.init_start;
        other_dir_ = other.dir;
        c.hostname = other_hostname_ = other.config.hostname;
    }
}

//! [ch08-prepare]
void Network::prepare(Container& c) {
    if (mode_.kind == NetworkMode::Kind::none) {
        if ((c.clone_flags & CLONE_NEWNET) == 0) {  // chapter 01's --ns without net
            if (net_option_->count() > 0) {
                throw UsageError("--net none needs the net namespace (add net to --ns)");
            }
            mode_.kind = NetworkMode::Kind::host;  // what it is, for inspect
            trace::step("network: --ns leaves out net: no CLONE_NEWNET, the host's network namespace");
            return;
        }
        // Chapter 01's CLONE_NEWNET: a namespace of its own, with a
        // loopback device only.
        trace::step("network: none: a new network namespace (CLONE_NEWNET), only lo");
        return;
    }
    if (mode_.kind == NetworkMode::Kind::container && c.hostname != other_hostname_) {
        throw UsageError(fmt::format("--hostname and --net container:{} conflict: the hostname is {}'s",
                                     mode_.container, mode_.container));
    }
    // Not creating a network namespace is all --net host is: the child
    // stays in ours, which is the host's.
    // TODO(08.1): take CLONE_NEWNET out of c.clone_flags (chapter 01 put
    // it there): for host and container:NAME, the child must not get a
    // network namespace of its own.
    //{ TODO(08.1)
    c.clone_flags &= ~static_cast<unsigned long>(CLONE_NEWNET);
    //} TODO(08.1)
    if (mode_.kind == NetworkMode::Kind::host) {
        trace::step(fmt::format("network: host: no CLONE_NEWNET, the host's network namespace {}",
                                ns_text("/proc/self/ns/net")));
    } else {
        // Opened now, on the host: the child joins it with setns(). An open
        // namespace file keeps the namespace alive, even if NAME exits.
        std::string path = fmt::format("/proc/{}/ns/net", other_pid_);
        // TODO(08.2): open `path` (read-only, close-on-exec) into
        // other_net_ with open_fd(), for the child's setns() below.
        //{ TODO(08.2)
        other_net_ = open_fd(path, O_RDONLY | O_CLOEXEC);
        //} TODO(08.2)
        if (other_start_ != 0 && process_start_time(other_pid_) != other_start_) {
            // That pid is another process's now: NAME exited since begin.
            throw UsageError(fmt::format("--net container:{}: the container is not running", mode_.container));
        }
        trace::step(fmt::format("network: container:{}: no CLONE_NEWNET; open(\"{}\"): {}", mode_.container, path,
                                ns_text(path)));
    }
    //! [ch08-prepare]

    // With an image, the init layer (chapter 04) says who the network is;
    // the forms without an image use the host's files.
    if (!c.dir.empty()) {
        rewrite_init_layer(c.dir + "/init");
    }
}

// The init layer's /etc/hosts and resolv.conf: the host's, or NAME's.
void Network::rewrite_init_layer(const std::string& init) {
    if (mode_.kind == NetworkMode::Kind::host) {
        // The host's names and name servers, as they are: 127.0.0.53 is
        // reachable on the host's network.
        // TODO(08.3): the init layer's /etc/hosts is a copy of the host's
        // (replace_init_file(), read_text_file()).
        //{ TODO(08.3)
        replace_init_file(init, "/etc/hosts", read_text_file("/etc/hosts"));
        //} TODO(08.3)
        try {
            replace_init_file(init, "/etc/resolv.conf", read_text_file("/etc/resolv.conf"));
        } catch (const std::system_error&) {
            // no resolv.conf on the host: chapter 04's empty one stays
        }
    } else {
        replace_init_file(init, "/etc/hosts", read_text_file(other_dir_ + "/init/etc/hosts"));
        replace_init_file(init, "/etc/resolv.conf", read_text_file(other_dir_ + "/init/etc/resolv.conf"));
    }
}

void Network::join(Container& c) {
    other_net_ = Fd{};  // the child has its own copy; the runtime needs none
    if (c.dir.empty()) {
        return;  // no image, no container directory: nothing to inspect
    }
    // Chapter 06's inspect merges this over its JSON.
    nlohmann::json extra = {
        {"HostConfig", {{"NetworkMode", mode_.text()}}},
        {"NetworkSettings", {{"SandboxKey", fmt::format("/proc/{}/ns/net", c.pid)}}},
    };
    // Durable::no: like state.json, it describes a running container, which
    // a power cut ends anyway; an fsync here cost a millisecond per start.
    write_json_atomic(c.dir + "/inspect.json", extra, Durable::no);
    wrote_inspect_ = true;
}

void Network::after_exit(Container& c) {
    // The namespace went with the container's last process (or is
    // another's): its old path would name whatever gets that pid next.
    // With --rm the whole record goes in a moment: nothing to correct (and
    // on ext4 a rename over a file costs a block written and freed).
    if (wrote_inspect_ && !c.auto_remove) {
        write_json_atomic(c.dir + "/inspect.json",
                          {{"HostConfig", {{"NetworkMode", mode_.text()}}}, {"NetworkSettings", {{"SandboxKey", ""}}}},
                          Durable::no);
    }
}

//! [ch08-setns]
void Network::setup_before_root(Container& /*c*/) {
    if (mode_.kind != NetworkMode::Kind::container) {
        return;
    }
    // Join the other container's network namespace: from now on this
    // process sees its interfaces and its 127.0.0.1. The PID, mount and UTS
    // namespaces stay our own.
    // TODO(08.2): setns(2) into other_net_ (it is a network namespace:
    // say so with CLONE_NEWNET), with sys::setns(), the descriptor described
    // as "fd of /proc/<other_pid_>/ns/net" so that the trace and a failure
    // name it.
    //{ TODO(08.2)
    sys::setns({other_net_.get(), fmt::format("fd of /proc/{}/ns/net", other_pid_)}, CLONE_NEWNET);
    //} TODO(08.2)
    other_net_ = Fd{};
}
//! [ch08-setns]

}  // namespace minidocker
