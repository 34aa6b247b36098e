// trace.cpp - see trace.hpp.
#include "trace.hpp"

#include <fmt/format.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <utility>

namespace minidocker::trace {
namespace {

bool on = false;
int output = STDERR_FILENO;
// MINIDOCKER_TRACE_TIME=1: each line starts with the time since enable(),
// to see where a start spends its time (see tests/bench/bench.sh).
bool timed = false;
timespec started{};
std::string owner = "runtime";

std::string join_flags(unsigned long flags, const FlagName* table, size_t n) {
    std::string out;
    for (size_t i = 0; i < n; ++i) {
        if ((flags & table[i].bit) == table[i].bit && table[i].bit != 0) {
            out += out.empty() ? "" : "|";
            out += table[i].name;
            flags &= ~table[i].bit;
        }
    }
    if (flags != 0 || out.empty()) {
        out += out.empty() ? "" : "|";
        out += fmt::format("{:#x}", flags);
    }
    return out;
}

}  // namespace

void enable(bool value) {
    on = value;
    const char* want = std::getenv("MINIDOCKER_TRACE_TIME");
    timed = on && want != nullptr && *want != '\0' && *want != '0';
    ::clock_gettime(CLOCK_MONOTONIC, &started);
}
void set_output(int fd) { output = fd; }
bool enabled() { return on; }

Owner::Owner(std::string_view tag) : previous_(std::exchange(owner, std::string(tag))) {}
Owner::~Owner() { owner = std::move(previous_); }

void step(std::string_view text) {
    if (!on) {
        return;
    }
    // One write(2) per line, so lines of the parent and the child never mix.
    std::string line = fmt::format("[{}] {}\n", owner, text);
    if (timed) {
        timespec now{};
        ::clock_gettime(CLOCK_MONOTONIC, &now);
        double ms = static_cast<double>(now.tv_sec - started.tv_sec) * 1e3 +
                    static_cast<double>(now.tv_nsec - started.tv_nsec) / 1e6;
        line = fmt::format("{:8.3f} ms {}", ms, line);
    }
    [[maybe_unused]] ssize_t n = ::write(output, line.data(), line.size());
}

void result(std::string_view call, long rc, int err) {
    if (rc == -1) {
        step(fmt::format("{} = -1 {} ({})", call, errno_name(err), std::strerror(err)));
    } else {
        step(fmt::format("{} = {}", call, rc));
    }
}

std::string clone_flags(unsigned long flags) {
    static const FlagName table[] = {
        {CLONE_NEWNS, "CLONE_NEWNS"},     {CLONE_NEWUTS, "CLONE_NEWUTS"},   {CLONE_NEWIPC, "CLONE_NEWIPC"},
        {CLONE_NEWPID, "CLONE_NEWPID"},   {CLONE_NEWNET, "CLONE_NEWNET"},   {CLONE_NEWCGROUP, "CLONE_NEWCGROUP"},
        {CLONE_NEWUSER, "CLONE_NEWUSER"}, {CLONE_NEWTIME, "CLONE_NEWTIME"}, {CLONE_PIDFD, "CLONE_PIDFD"},
        {CLONE_VFORK, "CLONE_VFORK"},     {CLONE_VM, "CLONE_VM"},
    };
    // The low byte of clone()'s flags is not a flag: it is the signal the
    // parent gets when the child exits.
    unsigned long exit_signal = flags & CSIGNAL;
    std::string names = join_flags(flags & ~CSIGNAL, table, std::size(table));
    if (names == "0x0") {
        names.clear();
    }
    if (exit_signal != 0) {
        names += names.empty() ? "" : "|";
        names += exit_signal == SIGCHLD ? "SIGCHLD" : fmt::format("{}", exit_signal);
    }
    return names.empty() ? "0" : names;
}

std::string mount_flags(unsigned long flags) {
    static const FlagName table[] = {
        {MS_RDONLY, "MS_RDONLY"},     {MS_NOSUID, "MS_NOSUID"},
        {MS_NODEV, "MS_NODEV"},       {MS_NOEXEC, "MS_NOEXEC"},
        {MS_REMOUNT, "MS_REMOUNT"},   {MS_BIND, "MS_BIND"},
        {MS_MOVE, "MS_MOVE"},         {MS_REC, "MS_REC"},
        {MS_PRIVATE, "MS_PRIVATE"},   {MS_SLAVE, "MS_SLAVE"},
        {MS_SHARED, "MS_SHARED"},     {MS_UNBINDABLE, "MS_UNBINDABLE"},
        {MS_RELATIME, "MS_RELATIME"}, {MS_STRICTATIME, "MS_STRICTATIME"},
        {MS_NOATIME, "MS_NOATIME"},   {MS_NODIRATIME, "MS_NODIRATIME"},
    };
    if (flags == 0) {
        return "0";
    }
    return join_flags(flags, table, std::size(table));
}

std::string flag_names(unsigned long flags, std::initializer_list<FlagName> names) {
    if (flags == 0) {
        return "0";
    }
    return join_flags(flags, names.begin(), names.size());
}

std::string errno_name(int err) {
    const char* name = ::strerrorname_np(err);
    return name != nullptr ? name : fmt::format("errno {}", err);
}

std::string quote(const char* s) { return s == nullptr ? "NULL" : fmt::format("\"{}\"", s); }
std::string quote(const std::string& s) { return fmt::format("\"{}\"", s); }

}  // namespace minidocker::trace
