/// \file
/// users.hpp - chapter 09's toolbox: `--user` as Docker reads it, in the
/// image's /etc/passwd and /etc/group.
///
/// \code{.cpp}
///   // in the container, after the root switch:
///   ExecUser u = resolve_user("nobody", {"audio"}, read_or_empty("/etc/passwd"), read_or_empty("/etc/group"));
///   // u.uid == 65534, u.gid == 65534, u.groups == {65534, 29}, u.home == "/nonexistent"
/// \endcode
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace minidocker {

/// Who the container's command runs as.
struct ExecUser {
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;  ///< supplementary groups, for setgroups(2)
    std::string home = "/";     ///< from /etc/passwd; "/" when not there
};

/// Docker's rules for `--user USER[:GROUP]` and `--group-add`: USER is a
/// name from `passwd` or a number (which needs no entry); GROUP likewise
/// from `group`. Without GROUP, the gid is the user's entry's (0 when it has
/// none) and the supplementary groups are that gid and every group that
/// lists the user's name; with GROUP, that group only. `--group-add` groups
/// come after. "" is root. Throws UsageError: `unable to find user bob: no
/// matching entries in passwd file`.
ExecUser resolve_user(const std::string& spec, const std::vector<std::string>& group_add, const std::string& passwd,
                      const std::string& group);

/// The file's content, or "" when it cannot be read (an image without
/// /etc/group).
std::string read_or_empty(const std::string& path);

}  // namespace minidocker
