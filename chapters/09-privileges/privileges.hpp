/// \file
/// privileges.hpp - chapter 09's feature: a container's root is not the
/// host's root.
///
/// Namespaces hide, cgroups limit, pivot_root moves the root; none of them
/// takes a privilege away. Up to chapter 08 the container's root holds every
/// capability: it may mount, set the host's clock, rewrite host-wide kernel
/// settings, load modules. This chapter takes away what a container does
/// not need, in Docker's way and with Docker's options:
///
/// \code{.unparsed}
///   ch09 run IMAGE ...                              Docker's 14 capabilities, its seccomp
///                                                   filter, its masks and device rules
///   ch09 run --cap-add NET_ADMIN --cap-drop CHOWN   (names with or without CAP_; ALL)
///   ch09 run --privileged                           every capability, no filter, no masks
///   ch09 run --security-opt seccomp=unconfined|FILE.json   (Docker's profile format)
///   ch09 run --security-opt no-new-privileges       setuid bits give nothing
///   ch09 run -u USER[:GROUP] --group-add G          from the image's /etc/passwd, /etc/group
///   ch09 run --tmpfs /run[:size=1m]                 a tmpfs (next to --read-only)
///   ch09 exec -u USER / --privileged NAME CMD       the same for exec
///   ch09 seccomp default                            the default profile, as Docker's JSON
///   ch09 privileges PID|NAME                        capabilities, seccomp, no_new_privs, id maps
/// \endcode
///
/// Moments (see common/runtime.hpp):
/// \code{.unparsed}
///   begin              check the options; the capability set; the seccomp
///                      filter, compiled once and cached
///   prepare            the container's records (security.json,
///                      inspect.09.json, seccomp.bpf)
///   create             the device rules: a devices cgroup (v1), a BPF
///                      program on its cgroup (v2)
///   enter              (child) into its devices cgroup (v1)
///   setup_before_root  (child) --tmpfs mounts
///   setup_after_root   (child, last of all) Docker's other masks; the user;
///                      then drop: no_new_privs, seccomp, bounding set,
///                      groups and ids, capabilities, in the kernel's order
///   after_exit,
///   cleanup            remove the devices cgroup
/// \endcode
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime.hpp"
#include "users.hpp"

namespace minidocker {

/// How much of root the container keeps: what `run` (and `exec`) apply
/// in the child, and what security.json records for `exec`.
struct PrivilegeSettings {
    uint64_t capabilities = 0;  ///< bounding, permitted, effective (for root)
    bool privileged = false;    ///< --privileged
    bool no_new_privs = false;  ///< --security-opt no-new-privileges
    std::string seccomp;        ///< "default", "unconfined" or the profile file given
    std::string user;           ///< --user, "" for root
    std::vector<std::string> group_add;
};

/// The last steps before execve, in the order the kernel requires, for a
/// process that is still root with every capability: `filter` is the
/// compiled seccomp program ("" for none). Used by `run` and `exec`.
void drop_privileges(const PrivilegeSettings& settings, const ExecUser& user, const std::string& filter);

/// The end of both `run` and `exec`, in the container's root: the user as
/// the image's /etc/passwd and /etc/group name it (HOME set from it, with
/// --user), then drop_privileges().
void become_user(const PrivilegeSettings& settings, const std::string& filter, std::vector<std::string>& env);

/// Chapter 09's feature (see the top of this file).
class Privileges : public Feature {
public:
    Privileges() : Feature("09 privileges") {}

    void add_run_options(CLI::App& run) override;
    void add_commands(Runtime& rt) override;
    void begin(Container& c) override;
    void prepare(Container& c) override;
    void create(Container& c) override;
    void enter(Container& c) override;
    void setup_before_root(Container& c) override;
    void setup_after_root(Container& c) override;
    void after_exit(Container& c) override;
    void cleanup(Container& c) noexcept override;

private:
    void parse_security_opts();
    void write_records(const Container& c) const;
    void remove_devices_cgroup() noexcept;

    std::vector<std::string> cap_add_;
    std::vector<std::string> cap_drop_;
    std::vector<std::string> security_opts_;
    std::vector<std::string> tmpfs_;
    std::string seccomp_file_;  ///< seccomp=FILE: its path
    PrivilegeSettings settings_;
    std::string filter_;                ///< the compiled seccomp program; "" for none
    std::string devices_dir_;           ///< the v1 devices cgroup we made; "" for none
    CLI::Option* read_only_ = nullptr;  ///< chapter 03's --read-only
};

}  // namespace minidocker
