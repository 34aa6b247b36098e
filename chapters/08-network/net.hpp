/// \file
/// net.hpp - chapter 08's feature: the network modes.
///
/// A container's network is its network namespace: its own interfaces,
/// addresses, routes, ports and loopback. Chapter 01 always made a new one
/// (only `lo`, brought up). Docker's `--net` decides instead:
///
/// \code{.unparsed}
///   ch08 run --net none IMAGE ...            the default: a new network
///                                            namespace with only lo, up
///   ch08 run --net host IMAGE ...            no network namespace of its own:
///                                            the host's interfaces and ports, the
///                                            host's /etc/hosts and hostname
///   ch08 run --net container:NAME IMAGE ...  NAME's network namespace, joined
///                                            with setns() (a Kubernetes pod's trick)
/// \endcode
///
/// (also spelled `--network`, and `--net=host`). `inspect` shows
/// HostConfig.NetworkMode and NetworkSettings.SandboxKey, the network
/// namespace's path.
///
/// Moments (see common/runtime.hpp):
/// \code{.unparsed}
///   begin              read --net; host: the hostname is the host's;
///                      container:NAME: NAME must run, the hostname is NAME's
///   prepare            host, container:NAME: no CLONE_NEWNET; open NAME's
///                      /proc/PID/ns/net; the init layer's /etc/hosts (and
///                      resolv.conf) become the host's or NAME's
///   join               inspect.json: the mode and the namespace's path
///   after_exit         inspect.json: the namespace is gone
///   setup_before_root  (child) container:NAME: setns() into its namespace
/// \endcode
#pragma once

#include <string>

#include "fd.hpp"
#include "runtime.hpp"

namespace minidocker {

/// What `--net` said.
struct NetworkMode {
    enum class Kind { none, host, container };
    Kind kind = Kind::none;
    std::string container;  ///< container:NAME: the name (or id)

    std::string text() const;  ///< "none", "host", "container:web": Docker's NetworkMode
};

/// "none", "host" or "container:NAME". Throws UsageError with one clear
/// line for anything else (Docker's "bridge", its "default", is not here).
NetworkMode parse_network_mode(const std::string& arg);

/// The host's name, as gethostname(2) says it.
std::string host_hostname();

/// Chapter 08's feature: owns `--net`. At begin it sets the hostname the
/// mode implies (and, for container:NAME, finds NAME running); at prepare it
/// takes CLONE_NEWNET out for host and container:NAME and rewrites the init
/// layer's /etc/hosts and resolv.conf; at join and after_exit it writes
/// inspect.json; in the child, at setup_before_root, it joins NAME's network
/// namespace.
class Network : public Feature {
public:
    Network() : Feature("08 network") {}

    void add_run_options(CLI::App& run) override;
    void begin(Container& c) override;
    void prepare(Container& c) override;
    void join(Container& c) override;
    void setup_before_root(Container& c) override;
    void after_exit(Container& c) override;

private:
    void rewrite_init_layer(const std::string& init);

    CLI::Option* net_option_ = nullptr;
    std::string net_arg_;  ///< `--net` as given (none when not given)
    NetworkMode mode_;
    pid_t other_pid_ = 0;                 ///< container:NAME: its PID 1
    unsigned long long other_start_ = 0;  ///< ... when that process started (a pid may be reused)
    std::string other_dir_;               ///< ... its directory in the store
    std::string other_hostname_;          ///< ... its hostname
    Fd other_net_;                        ///< ... and its /proc/PID/ns/net, opened before the clone
    bool wrote_inspect_ = false;          ///< join() wrote inspect.json
};

}  // namespace minidocker
