// cgroup_driver.cpp - see cgroup_driver.hpp.
#include "cgroup_driver.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cctype>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include "error.hpp"
#include "fd.hpp"
#include "sys.hpp"
#include "trace.hpp"

namespace minidocker {
namespace {

bool exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

std::string to_string(CgroupMode mode) {
    switch (mode) {
        case CgroupMode::unified:
            return "unified (cgroup v2)";
        case CgroupMode::hybrid:
            return "hybrid (cgroup v1 controllers, empty v2 tree at unified/)";
        case CgroupMode::legacy:
            return "legacy (cgroup v1)";
    }
    return "unknown";
}

//! [ch02-detect]
CgroupMode detect_cgroup_mode(const std::string& root) {
    // The kernel's own answer: what kind of filesystem is mounted there?
    // cgroup2 at the root means one unified tree. (A tmpfs means v1
    // hierarchies are mounted below it, one directory per controller.)
    struct statfs fs {};
    if (::statfs(root.c_str(), &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC) {
        return CgroupMode::unified;
    }
    // Every cgroup v2 directory has cgroup.controllers; v1 ones never do.
    if (exists(root + "/cgroup.controllers")) {
        return CgroupMode::unified;
    }
    bool has_v1 = exists(root + "/memory") || exists(root + "/cpu") || exists(root + "/pids");
    if (has_v1 && exists(root + "/unified/cgroup.controllers")) {
        return CgroupMode::hybrid;
    }
    if (has_v1) {
        return CgroupMode::legacy;
    }
    throw std::runtime_error(fmt::format("no cgroup filesystem at {} (neither cgroup2 nor v1 controllers)", root));
}
//! [ch02-detect]

int64_t parse_memory_size(const std::string& text) {
    auto bad = [&] {
        return UsageError(fmt::format("invalid memory size \"{}\" (use a number and a unit: 64m, 1.5g, 512k)", text));
    };
    // The number: digits, optionally a fraction.
    size_t i = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
        ++i;
    }
    if (i == 0) {
        throw bad();  // also "-1": Docker has no negative sizes
    }
    if (i < text.size() && text[i] == '.') {
        size_t start = ++i;
        while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
            ++i;
        }
        if (i == start) {
            throw bad();
        }
    }
    double number = std::stod(text.substr(0, i));
    // The unit: [bkmgt], then optionally "b" or "ib" after k, m, g, t.
    std::string unit;
    for (; i < text.size(); ++i) {
        unit += static_cast<char>(std::tolower(static_cast<unsigned char>(text[i])));
    }
    double multiplier = 1;
    if (!unit.empty() && unit != "b") {
        const std::string letters = "kmgt";
        size_t power = letters.find(unit[0]);
        std::string rest = unit.substr(1);
        if (power == std::string::npos || !(rest.empty() || rest == "b" || rest == "ib")) {
            throw bad();
        }
        multiplier = std::pow(1024.0, static_cast<double>(power + 1));
    }
    double bytes = number * multiplier;
    if (bytes >= 9.2e18) {
        throw UsageError(fmt::format("memory size \"{}\" is too large", text));
    }
    return static_cast<int64_t>(bytes);
}

uint64_t shares_to_weight(uint64_t shares) {
    if (shares == 0) {
        return 0;  // not set
    }
    return 1 + ((shares - 2) * 9999) / 262142;
}

CpuQuota cpus_to_quota(double cpus) {
    const int64_t period = 100000;  // 100 ms, in microseconds
    return CpuQuota{static_cast<int64_t>(std::llround(cpus * static_cast<double>(period))), period};
}

std::set<int> parse_cpu_list(const std::string& list) {
    auto bad = [&] { return UsageError(fmt::format("invalid CPU list \"{}\" (write it like 0-2,5)", list)); };
    auto number = [&](const std::string& s) {
        if (s.empty() || s.size() > 6 || s.find_first_not_of("0123456789") != std::string::npos) {
            throw bad();
        }
        return std::stoi(s);
    };
    std::set<int> cpus;
    std::string trimmed = list;
    while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.back()))) {
        trimmed.pop_back();  // the kernel ends its files with a newline
    }
    if (trimmed.empty()) {
        throw bad();
    }
    std::stringstream in(trimmed);
    std::string range;
    while (std::getline(in, range, ',')) {
        size_t dash = range.find('-');
        int first = number(range.substr(0, dash));
        int last = dash == std::string::npos ? first : number(range.substr(dash + 1));
        if (last < first) {
            throw bad();
        }
        for (int cpu = first; cpu <= last; ++cpu) {
            cpus.insert(cpu);
        }
    }
    if (trimmed.back() == ',') {
        throw bad();
    }
    return cpus;
}

void check_cpus_available(const std::string& wanted, const std::string& available) {
    std::set<int> have = parse_cpu_list(available);
    for (int cpu : parse_cpu_list(wanted)) {
        if (have.count(cpu) == 0) {
            std::string trimmed = available.substr(0, available.find_last_not_of(" \n") + 1);
            throw UsageError(
                fmt::format("--cpuset-cpus {}: CPU {} is not available (available: {})", wanted, cpu, trimmed));
        }
    }
}

std::optional<std::string> read_cgroup_file(const std::string& path) {
    Fd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (!fd) {
        return std::nullopt;
    }
    try {
        return sys::read_all({fd.get(), trace::quote(path)});
    } catch (const std::system_error&) {
        return std::nullopt;
    }
}

void write_cgroup_file(const std::string& path, const std::string& value) {
    // The kernel takes a cgroup file's value in one write(); an error in the
    // value (say, a memory limit below current usage) comes back here.
    sys::write_file(path, value);
}

uint64_t read_key(const std::string& text, const std::string& key) {
    std::istringstream in(text);
    std::string name;
    uint64_t value = 0;
    while (in >> name >> value) {
        if (name == key) {
            return value;
        }
    }
    return 0;
}

}  // namespace minidocker
