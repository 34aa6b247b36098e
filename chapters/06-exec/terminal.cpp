// terminal.cpp - see terminal.hpp.
#include "terminal.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "error.hpp"
#include "store.hpp"
#include "sys.hpp"
#include "trace.hpp"

namespace minidocker {

//! [ch06-pty]
Pty open_pty(int size_from) {
    // /dev/ptmx hands out a new master; the slave appears as /dev/pts/N once
    // unlocked. Called in the container, after chapter 03 mounted its own
    // devpts: the terminal is one of the container's, not one of the host's.
    Pty pty;
    pty.master = sys::posix_openpt(O_RDWR | O_NOCTTY);
    sys::grantpt({pty.master.get(), "master"});
    sys::unlockpt({pty.master.get(), "master"});
    char name[64];
    if (int err = ::ptsname_r(pty.master.get(), name, sizeof name); err != 0) {
        errno = err;
        throw_errno("ptsname_r()");
    }
    pty.slave = open_fd(name, O_RDWR | O_NOCTTY);
    trace::step(fmt::format("pseudo-terminal: master fd {}, slave {}", pty.master.get(), name));
    winsize size{};
    if (!::isatty(size_from) || ::ioctl(size_from, TIOCGWINSZ, &size) != 0 || size.ws_row == 0) {
        size = {24, 80, 0, 0};
    }
    ::ioctl(pty.master.get(), TIOCSWINSZ, &size);
    return pty;
}

void become_terminal_session(int slave) {
    // A new session has no controlling terminal; TIOCSCTTY makes the slave
    // ours. Then the line discipline turns Ctrl-C into SIGINT for the
    // foreground process group, and the shell can do job control.
    sys::setsid();
    sys::set_controlling_terminal({slave, "slave"});
    for (int fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO}) {
        sys::dup2({slave, "slave"}, fd);
    }
}
//! [ch06-pty]

RawMode::RawMode(int fd) : fd_(fd) {
    if (::isatty(fd_) && ::tcgetattr(fd_, &saved_) == 0) {
        termios raw = saved_;
        // No echo, no line editing, no signals from keys: the container's
        // terminal does all of that.
        ::cfmakeraw(&raw);
        active_ = ::tcsetattr(fd_, TCSANOW, &raw) == 0;
    }
}

RawMode::~RawMode() {
    if (active_) {
        ::tcsetattr(fd_, TCSANOW, &saved_);
    }
}

Relay::Relay() {
    int fd = ::eventfd(0, EFD_CLOEXEC);
    if (fd < 0) {
        throw_errno("eventfd()");
    }
    stop_event_ = Fd(fd);
}

Relay::~Relay() { stop(); }

void Relay::copy(int from, int to, bool drain) { routes_.push_back({from, to, "", drain}); }

void Relay::log(int from, int log, const std::string& stream) { routes_.push_back({from, log, stream, true}); }

void Relay::follow_window_size(int tty, int pty) {
    if (!::isatty(tty)) {
        return;
    }
    // SIGWINCH, blocked in this thread (and so in the relay's), arrives on
    // a descriptor the relay polls.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGWINCH);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    window_signal_ = sys::signalfd(set);
    window_from_ = tty;
    window_to_ = pty;
}

void Relay::start() {
    thread_ = std::thread([this] { loop(); });
}

void Relay::stop() noexcept {
    if (!thread_.joinable()) {
        return;
    }
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(stop_event_.get(), &one, sizeof one);
    thread_.join();
}

namespace {

bool write_all(int fd, const char* data, size_t size) {
    while (size > 0) {
        ssize_t n = ::write(fd, data, size);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        data += n;
        size -= static_cast<size_t>(n);
    }
    return true;
}

// One JSON record per line, as Docker's json-file log driver writes them.
void write_log_records(int log, const std::string& stream, const char* data, size_t size) {
    std::string out;
    std::string time = now_rfc3339();
    size_t start = 0;
    while (start < size) {
        size_t end = start;
        while (end < size && data[end] != '\n') {
            ++end;
        }
        end = end < size ? end + 1 : end;
        nlohmann::json record = {{"log", std::string(data + start, end - start)}, {"stream", stream}, {"time", time}};
        out += record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
        start = end;
    }
    write_all(log, out.data(), out.size());
}

}  // namespace

bool Relay::pass(Route& r) {
    char buffer[65536];
    ssize_t n = ::read(r.from, buffer, sizeof buffer);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        return errno == EINTR;
    }
    if (n <= 0) {
        // End of input; a pseudo-terminal master says EIO once the last
        // slave descriptor is closed.
        r.open = false;
        return false;
    }
    if (r.stream.empty()) {
        if (!write_all(r.to, buffer, static_cast<size_t>(n))) {
            r.open = false;
        }
    } else {
        write_log_records(r.to, r.stream, buffer, static_cast<size_t>(n));
    }
    return true;
}

void Relay::loop() {
    for (;;) {
        std::vector<pollfd> fds = {{stop_event_.get(), POLLIN, 0}, {window_signal_.get(), POLLIN, 0}};
        std::vector<Route*> polled;
        for (Route& r : routes_) {
            if (r.open) {
                fds.push_back({r.from, POLLIN, 0});
                polled.push_back(&r);
            }
        }
        if (::poll(fds.data(), fds.size(), -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            return;
        }
        if (fds[0].revents != 0) {
            break;
        }
        if (fds[1].revents != 0) {
            signalfd_siginfo info{};
            [[maybe_unused]] ssize_t n = ::read(window_signal_.get(), &info, sizeof info);
            winsize size{};
            if (::ioctl(window_from_, TIOCGWINSZ, &size) == 0) {
                ::ioctl(window_to_, TIOCSWINSZ, &size);  // the kernel tells the container: SIGWINCH
            }
        }
        for (size_t i = 0; i < polled.size(); ++i) {
            if (fds[i + 2].revents != 0) {
                pass(*polled[i]);
            }
        }
    }
    // Stopped: the container has exited. Copy what it wrote and we have
    // not read yet, without waiting for more.
    for (Route& r : routes_) {
        if (!r.drain || !r.open) {
            continue;
        }
        int flags = ::fcntl(r.from, F_GETFL);
        ::fcntl(r.from, F_SETFL, flags | O_NONBLOCK);
        while (r.open && pass(r)) {
        }
        ::fcntl(r.from, F_SETFL, flags);
    }
}

std::vector<LogRecord> parse_log(const std::string& data, size_t& offset) {
    std::vector<LogRecord> records;
    for (size_t end = data.find('\n', offset); end != std::string::npos; end = data.find('\n', offset)) {
        std::string line = data.substr(offset, end - offset);
        offset = end + 1;
        nlohmann::json record = nlohmann::json::parse(line, nullptr, false);
        if (record.is_object()) {
            records.push_back({record.value("stream", "stdout"), record.value("log", "")});
        }
    }
    return records;
}

AttachedTerminal::AttachedTerminal(int master, bool interactive) : raw_(STDIN_FILENO) {
    if (interactive) {
        relay_.copy(STDIN_FILENO, master, false);
    }
    relay_.copy(master, STDOUT_FILENO, true);
    relay_.follow_window_size(STDIN_FILENO, master);
    relay_.start();
}

}  // namespace minidocker
