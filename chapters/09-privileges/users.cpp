// users.cpp - see users.hpp. /etc/passwd and /etc/group are read as text
// from the container's root (never with getpwnam(3), which would ask the
// host's name services).
#include "users.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <optional>
#include <sstream>

#include "error.hpp"

namespace minidocker {

namespace {

// A line of /etc/passwd or /etc/group, split at ':'.
std::vector<std::string> fields(const std::string& line) {
    std::vector<std::string> out;
    std::istringstream in(line);
    for (std::string f; std::getline(in, f, ':');) {
        out.push_back(f);
    }
    if (!line.empty() && line.back() == ':') {
        out.emplace_back();
    }
    return out;
}

std::optional<unsigned> number(const std::string& s) {
    unsigned n = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) {
        return std::nullopt;
    }
    return n;
}

struct Entry {
    std::string name;
    unsigned id = 0;
    unsigned gid = 0;                  // passwd: the user's group
    std::string home;                  // passwd
    std::vector<std::string> members;  // group
};

// The entries of a passwd (id in field 2) or group file (members in field 3).
std::vector<Entry> entries(const std::string& text, bool is_passwd) {
    std::vector<Entry> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        std::vector<std::string> f = fields(line);
        if (line.empty() || line[0] == '#' || f.size() < (is_passwd ? 7U : 4U) || !number(f[2])) {
            continue;
        }
        Entry e;
        e.name = f[0];
        e.id = *number(f[2]);
        if (is_passwd) {
            e.gid = number(f[3]).value_or(0);
            e.home = f[5];
        } else {
            std::istringstream members(f[3]);
            for (std::string m; std::getline(members, m, ',');) {
                e.members.push_back(m);
            }
        }
        out.push_back(e);
    }
    return out;
}

// A name or a number, looked up in `list`: a name must be there, a number
// need not.
std::optional<Entry> find(const std::vector<Entry>& list, const std::string& word) {
    for (const Entry& e : list) {
        if (e.name == word || (number(word) && e.id == *number(word))) {
            return e;
        }
    }
    return std::nullopt;
}

gid_t group_id(const std::vector<Entry>& groups, const std::string& word) {
    if (std::optional<Entry> g = find(groups, word)) {
        return g->id;
    }
    if (std::optional<unsigned> n = number(word)) {
        return *n;
    }
    throw UsageError(fmt::format("unable to find group {}: no matching entries in group file", word));
}

}  // namespace

std::string read_or_empty(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

//! [ch09-user]
ExecUser resolve_user(const std::string& spec, const std::vector<std::string>& group_add, const std::string& passwd,
                      const std::string& group) {
    std::string user_word = spec.substr(0, spec.find(':'));
    std::string group_word = spec.find(':') == std::string::npos ? "" : spec.substr(spec.find(':') + 1);
    std::vector<Entry> users = entries(passwd, true);
    std::vector<Entry> groups = entries(group, false);

    ExecUser u;
    std::optional<Entry> entry = find(users, user_word.empty() ? "0" : user_word);
    if (entry) {
        u.uid = entry->id;
        u.gid = entry->gid;
        u.home = entry->home.empty() ? "/" : entry->home;
    } else if (std::optional<unsigned> n = number(user_word.empty() ? "0" : user_word)) {
        u.uid = *n;  // a uid the image does not name: Docker allows it, gid 0
    } else {
        throw UsageError(fmt::format("unable to find user {}: no matching entries in passwd file", user_word));
    }
    if (!group_word.empty()) {
        u.gid = group_id(groups, group_word);
        u.groups = {u.gid};
    } else {
        u.groups = {u.gid};
        for (const Entry& g : groups) {
            bool member = entry && std::find(g.members.begin(), g.members.end(), entry->name) != g.members.end();
            if (member && g.id != u.gid) {
                u.groups.push_back(g.id);
            }
        }
    }
    for (const std::string& word : group_add) {
        gid_t gid = group_id(groups, word);
        if (std::find(u.groups.begin(), u.groups.end(), gid) == u.groups.end()) {
            u.groups.push_back(gid);
        }
    }
    return u;
}
//! [ch09-user]

}  // namespace minidocker
