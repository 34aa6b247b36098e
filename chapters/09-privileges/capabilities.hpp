/// \file
/// capabilities.hpp - chapter 09's toolbox: the capabilities by name, and
/// the set Docker gives a container.
///
/// Root's power is not one bit but about forty (capabilities(7)): each
/// lets the holder pass one kind of check (CAP_SYS_ADMIN: mount; CAP_SYS_TIME:
/// set the clock...). A container keeps the few an ordinary program needs.
///
/// \code{.cpp}
///   capability_mask({}, {}, false) == docker_default_capabilities()   // 0xa80425fb
///   capability_mask({"SYS_ADMIN"}, {"ALL"}, false) == 1ULL << CAP_SYS_ADMIN
///   parse_capability("net_raw") == CAP_NET_RAW
///   capability_names(0x3) == {"CAP_CHOWN", "CAP_DAC_OVERRIDE"}
/// \endcode
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace minidocker {

/// The highest capability number this kernel knows
/// (/proc/sys/kernel/cap_last_cap; 40 on Linux 5.9 and later).
int last_capability();

/// Every capability this kernel knows, as a mask.
uint64_t all_capabilities();

/// Every capability we hold (our permitted set): what --privileged can
/// give. As a rule all_capabilities(), unless whoever started us dropped
/// some from our bounding set.
uint64_t held_capabilities();

/// Docker's default set: the 14 capabilities of capabilities.cpp's table
/// marked "kept", as a mask: 0xa80425fb.
uint64_t docker_default_capabilities();

/// "CAP_CHOWN" for 0; "CAP_41" for a number the table does not name.
std::string capability_name(int cap);

/// A capability as a Docker user writes it: "SYS_ADMIN", "CAP_SYS_ADMIN",
/// "sys_admin". Throws UsageError `unknown capability: "CAP_BOGUS"`.
int parse_capability(const std::string& word);

/// What --cap-add, --cap-drop and --privileged make of the default set,
/// Docker's rules: --cap-drop ALL keeps only what --cap-add names; --cap-add
/// ALL adds all but what --cap-drop names; otherwise drop, then add.
/// --privileged starts from every capability we hold instead of the default.
/// Throws UsageError for an unknown name.
uint64_t capability_mask(const std::vector<std::string>& add, const std::vector<std::string>& drop, bool privileged);

/// The names in `mask`, lowest first.
std::vector<std::string> capability_names(uint64_t mask);

/// Docker's spelling of a capability the user gave: "CAP_SYS_ADMIN" for
/// "sys_admin", "ALL" for "all". Throws UsageError like parse_capability().
std::string normalized_capability(const std::string& word);

}  // namespace minidocker
