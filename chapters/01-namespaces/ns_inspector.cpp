// ns_inspector.cpp - see ns_inspector.hpp.
#include "ns_inspector.hpp"

#include <fmt/format.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "error.hpp"

namespace minidocker {

const std::vector<std::string>& namespace_types() {
    static const std::vector<std::string> types = {
        "cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time", "time_for_children", "user", "uts",
    };
    return types;
}

unsigned long parse_ns_link(const std::string& link) {
    size_t open = link.find(":[");
    if (open == std::string::npos || open == 0 || link.size() < open + 4 || link.back() != ']') {
        throw std::invalid_argument("not a namespace link: \"" + link + "\"");
    }
    std::string digits = link.substr(open + 2, link.size() - open - 3);
    if (digits.find_first_not_of("0123456789") != std::string::npos) {
        throw std::invalid_argument("not a namespace link: \"" + link + "\"");
    }
    return std::stoul(digits);
}

namespace {

// readlink(proc_root/PID/ns/TYPE): "" when this kernel lacks the type
// (or, with quiet, when it fails for any reason; errno says why).
std::string read_ns_link(const std::string& proc_root, pid_t pid, const std::string& type, bool quiet = false) {
    std::string path = fmt::format("{}/{}/ns/{}", proc_root, pid, type);
    char buf[PATH_MAX];
    ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
    if (n < 0) {
        if (errno == ENOENT || quiet) {
            return "";
        }
        throw_errno(fmt::format("readlink(\"{}\")", path));
    }
    return std::string(buf, static_cast<size_t>(n));
}

void require_process(const std::string& proc_root, pid_t pid) {
    if (pid <= 0) {
        throw UsageError(fmt::format("{} is not a process id (it must be a positive number)", pid));
    }
    struct stat st {};
    if (::stat(fmt::format("{}/{}/ns", proc_root, pid).c_str(), &st) != 0) {
        throw UsageError(fmt::format("no process with PID {} (it may have exited)", pid));
    }
}

}  // namespace

//! [ch01-inspect]
NsReport inspect_namespaces(pid_t pid, pid_t vs, const std::string& proc_root) {
    require_process(proc_root, pid);
    NsReport report;
    report.pid = pid;
    report.vs = vs;
    if (vs == 0) {
        // Default: the host's PID 1. Some sandboxes hide its namespaces even
        // from root; then we compare with ourselves, run from the host.
        report.vs = 1;
        if (::access(fmt::format("{}/1/ns", proc_root).c_str(), F_OK) != 0 ||
            (read_ns_link(proc_root, 1, "mnt", true).empty() && errno == EACCES)) {
            report.vs = ::getpid();
            report.vs_note = "PID 1 is not readable here";
        }
    }
    require_process(proc_root, report.vs);
    for (const std::string& type : namespace_types()) {
        NsEntry e;
        e.type = type;
        e.link = read_ns_link(proc_root, pid, type);
        if (!e.link.empty()) {
            e.inode = parse_ns_link(e.link);
            // Same link text = same inode = same namespace.
            e.shared = e.link == read_ns_link(proc_root, report.vs, type);
        }
        report.entries.push_back(e);
    }
    // The process may have exited while we read: then what we read is void.
    require_process(proc_root, pid);
    return report;
}
//! [ch01-inspect]

std::string format_ns_table(const NsReport& report) {
    std::string vs = fmt::format("VS PID {}", report.vs);
    if (!report.vs_note.empty()) {
        vs += fmt::format(" ({}, so: this inspector)", report.vs_note);
    }
    std::string out = fmt::format("{:<18} {:<24} {}\n", fmt::format("PID {}", report.pid), "LINK", vs);
    for (const NsEntry& e : report.entries) {
        if (e.link.empty()) {
            out += fmt::format("{:<18} {:<24} {}\n", e.type, "-", "(not in this kernel)");
        } else {
            out += fmt::format("{:<18} {:<24} {}\n", e.type, e.link, e.shared ? "shared" : "separate");
        }
    }
    return out;
}

std::string format_ns_json(const NsReport& report) {
    nlohmann::ordered_json j;
    j["pid"] = report.pid;
    j["vs"] = report.vs;
    if (!report.vs_note.empty()) {
        j["vs_note"] = report.vs_note;
    }
    j["namespaces"] = nlohmann::ordered_json::array();
    for (const NsEntry& e : report.entries) {
        nlohmann::ordered_json n = {{"type", e.type}, {"link", e.link}, {"inode", e.inode}, {"shared", e.shared}};
        if (e.link.empty()) {
            n["link"] = nullptr;
            n["inode"] = nullptr;
        }
        j["namespaces"].push_back(n);
    }
    return j.dump(2) + "\n";
}

}  // namespace minidocker
