/// \file
/// terminal.hpp - chapter 06: pseudo-terminals, and copying a container's output.
///
/// `run -it` and `exec -it` give the command a terminal of its own: a
/// pseudo-terminal pair. The container gets the "slave" end as its stdin,
/// stdout and stderr and as its controlling terminal (so busybox sh has job
/// control, and Ctrl-C becomes SIGINT for the command in the foreground); the
/// runtime keeps the "master" end and copies bytes between it and the user's
/// terminal, which it puts in raw mode so that every key goes through as is.
///
/// \code{.cpp}
///   in the child, inside the container:       (its own /dev/pts, so `tty` says /dev/pts/0)
///     Pty pty = open_pty(STDIN_FILENO);       // window size copied from ours
///     become_terminal_session(pty.slave.get());
///     sys::send_fd(console, {pty.master.get(), "the pty master"});   execvp(...)
///   in the runtime:
///     Fd master = sys::receive_fd(console);
///     AttachedTerminal attached{master.get(), interactive};  // raw mode, copying
///     ... wait for the command ...  attached.stop();
/// \endcode
///
/// A detached container's monitor uses the same Relay to write what the
/// container prints into its log, one JSON record per line, in the format of
/// Docker's json-file driver: {"log":"hi\n","stream":"stdout","time":"..."}.
#pragma once

#include <termios.h>

#include <string>
#include <thread>
#include <vector>

#include "fd.hpp"

namespace minidocker {

struct Pty {
    Fd master;  ///< ours
    Fd slave;   ///< the container's stdin, stdout, stderr and controlling terminal
};

/// A new pseudo-terminal pair from /dev/ptmx. When `size_from` is a
/// terminal, the new one gets its window size (else 24x80).
Pty open_pty(int size_from = 0);

/// Child side: a new session whose controlling terminal is `slave`, which
/// also becomes stdin, stdout and stderr.
void become_terminal_session(int slave);

/// The user's terminal in raw mode while this lives (nothing when `fd` is not
/// a terminal).
class RawMode {
public:
    explicit RawMode(int fd);
    ~RawMode();
    RawMode(const RawMode&) = delete;
    RawMode& operator=(const RawMode&) = delete;

private:
    int fd_;
    bool active_ = false;
    termios saved_{};
};

/// Copies bytes between descriptors on a thread of its own, while the main
/// thread waits for the container. The descriptors stay owned by the caller.
class Relay {
public:
    Relay();
    ~Relay();
    Relay(const Relay&) = delete;
    Relay& operator=(const Relay&) = delete;

    /// Bytes from `from` to `to`. `drain`: at stop(), first copy what is left.
    void copy(int from, int to, bool drain);
    /// Bytes from `from` as JSON lines appended to `log`, tagged with `stream`.
    void log(int from, int log, const std::string& stream);
    /// On SIGWINCH, copies the window size of `tty` to `pty`.
    void follow_window_size(int tty, int pty);

    void start();
    /// Copies what is still readable from the drained sources, then ends the
    /// thread. Call after the container has exited. Idempotent.
    void stop() noexcept;

private:
    struct Route {
        int from;
        int to;
        std::string stream;  ///< "" for a plain copy
        bool drain;
        bool open = true;
    };
    void loop();
    bool pass(Route& r);  ///< one read and its write(s); false at end of input

    std::vector<Route> routes_;
    Fd stop_event_;
    Fd window_signal_;
    int window_from_ = -1;
    int window_to_ = -1;
    std::thread thread_;
};

/// `run -t` and `exec -t` without -d: the user's terminal (our stdin) in raw
/// mode, the container's output copied from the pty's `master` to our
/// stdout, what the user types copied to it (`interactive`, -i), and the
/// window size followed. `run` and `exec` attach the same way. Until stop()
/// or destruction, which restores the terminal.
class AttachedTerminal {
public:
    AttachedTerminal(int master, bool interactive);
    /// Copies what the container still wrote, then ends the copying.
    void stop() noexcept { relay_.stop(); }

private:
    RawMode raw_;  // declared first: restored last, once the relay has stopped
    Relay relay_;
};

/// The log, read back: each record's text, in order, with its stream.
struct LogRecord {
    std::string stream;  ///< "stdout" or "stderr"
    std::string text;
};
/// Parses complete lines of `data` from `offset` on; advances offset past them.
std::vector<LogRecord> parse_log(const std::string& data, size_t& offset);

}  // namespace minidocker
