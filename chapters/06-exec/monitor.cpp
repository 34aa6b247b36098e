// monitor.cpp - chapter 06: containers that outlive `run` (-d), and the
// container's stdin, stdout and stderr (-d, -i, -t). See lifecycle.hpp.
//
// `run -d` forks a monitor first of all: the runtime itself, which goes on
// with the start, stays the container's parent, copies its output into its
// log and writes its end into state.json; the command line prints the id
// once the command runs, and exits. With -t, the container gets a
// pseudo-terminal of its own (terminal.hpp), made inside it.
#include <fcntl.h>
#include <fmt/format.h>
#include <malloc.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <sstream>

#include "error.hpp"
#include "lifecycle.hpp"
#include "process.hpp"
#include "state.hpp"
#include "sys.hpp"
#include "trace.hpp"

namespace minidocker {

void Lifecycle::add_run_options(CLI::App& run) {
    run.add_flag("-d,--detach", detach_, "Run in the background and print the container's id");
    run.add_flag("-i,--interactive", interactive_, "Keep stdin open (with -d: open, but nothing writes to it)");
    run.add_flag("-t,--tty", tty_, "Give the container a terminal of its own");
}

void Lifecycle::prepare(Container& c) {
    if (detach_ && c.dir.empty()) {
        throw UsageError("-d needs an image: run -d [OPTIONS] IMAGE [CMD...]");
    }
    if (!c.dir.empty()) {
        // Who is starting it, from now on (join() adds the rest): `rm -f` of
        // a container whose start is still under way, by a monitor whose
        // command line was killed, stops that start instead of racing it.
        MonitorInfo m;
        m.monitor_pid = ::getpid();
        m.monitor_start = process_start_time(m.monitor_pid).value_or(0);
        m.detached = detach_;
        write_json_atomic(c.dir + "/monitor.json", m, Durable::no);
    }
    if (tty_) {
        sys::SocketPair pair = sys::socketpair(SOCK_STREAM, "the pty");
        console_[0] = std::move(pair.first);
        console_[1] = std::move(pair.second);
    }
    if (!detach_) {
        return;  // attached: the container shares our stdin, stdout, stderr (or the pty)
    }
    if (!tty_) {
        sys::Pipe out = sys::pipe("stdout");
        out_reader_ = std::move(out.read);
        child_stdio_[1] = std::move(out.write);
        sys::Pipe err = sys::pipe("stderr");
        err_reader_ = std::move(err.read);
        child_stdio_[2] = std::move(err.write);
        if (interactive_) {
            sys::Pipe in = sys::pipe("stdin");
            child_stdio_[0] = std::move(in.read);
            stdin_writer_ = std::move(in.write);
        } else {
            child_stdio_[0] = open_fd("/dev/null", O_RDONLY);
        }
    }
    log_ = open_fd(c.dir + "/log", O_WRONLY | O_CREAT | O_APPEND, 0600);
}

namespace {

// The monitor lives as long as its container, but after the start it runs
// only a poll loop and waitpid(): the pages of the program that parsing,
// images and mounts needed are of no more use to it. Give back the
// read-only ones (code and constants: the kernel reads them again from the
// file, should they be needed); writable ones keep their data.
void release_startup_pages() {
    std::istringstream maps(read_text_file("/proc/self/maps"));
    for (std::string line; std::getline(maps, line);) {
        void* start = nullptr;
        void* end = nullptr;
        char perms[5] = {};
        if (std::sscanf(line.c_str(), "%p-%p %4s", &start, &end, perms) == 3 && perms[1] == '-' &&
            line.find('/') != std::string::npos) {
            ::madvise(start, static_cast<char*>(end) - static_cast<char*>(start), MADV_DONTNEED);
        }
    }
    ::malloc_trim(0);
}

}  // namespace

void Lifecycle::begin(Container& c) {
    if (detach_) {
        start_monitor(c);
    }
}

//! [ch06-monitor]
void Lifecycle::start_monitor(Container& c) {
    // Before anything is prepared, so that whatever becomes of this command
    // line (Ctrl-C, a SIGKILL), the start is the monitor's to finish or undo.
    // The command line waits on one end until the monitor says "started".
    sys::SocketPair pair = sys::socketpair(SOCK_SEQPACKET, "the monitor's \"started\"");
    Fd command_line_end = std::move(pair.first);
    Fd monitor_end = std::move(pair.second);
    // TODO(06.1): fork(2) the monitor (on failure, throw_errno("fork() the
    //   monitor")). From here on two processes run this code:
    //   - The parent is the command line: it only waits, then _exits. Close
    //     monitor_end (reset()) and recv(2) one message on command_line_end
    //     (again while it fails with EINTR). "started" (which the monitor
    //     sends from started(), below, once the command runs) is success:
    //     print c.id and a newline on stdout, std::fflush(stdout) (_exit
    //     flushes nothing), and _exit(0). Anything else, 0 bytes when the
    //     monitor exited without a word, is a failed start: the monitor
    //     printed why on the stderr we share. waitpid(2) for it (again on
    //     EINTR) and _exit with its exit code, exit_code_from_status()
    //     (process.hpp): 125, or 127 for a command not found, as Docker.
    //     When a signal killed it, say so first, in one line:
    //       "<c.program>: the monitor of container <c.id's first 12
    //       digits> was killed by SIG<sigabbrev_np(the signal)>"
    //     Leave with _exit(2) only, which runs no destructor, no atexit
    //     handler, no cleanup: a return would go on with a second start next
    //     to the monitor's, and a throw would run the runtime's cleanups in
    //     the process that is not the start's any more.
    //   - The child is the monitor: it returns from here and goes on with
    //     the start (prepare, clone, join...); the container will be its
    //     child, and it waits for it. Close command_line_end, keep
    //     monitor_end in notify_ (std::move) for started(), close what our
    //     caller left open (close_inherited_fds(), process.hpp: a `$(...)`
    //     would otherwise wait for the container's end), and leave the
    //     session of the terminal that ran `run -d`: setsid(2), with
    //     sys::setsid(), so that its hang-up and Ctrl-C are not
    //     for the monitor. Then
    //     trace::step(fmt::format("fork() = {}: the monitor of container {}, in a session of its own", ...))
    //     with ::getpid() and the 12 digits.
    //   Why fork so early, in begin(), before anything is prepared? The
    //   command line may be killed at any moment (a test kills it at random
    //   ones); every start is then still the monitor's to finish or undo.
    //   Read fork(2), _exit(2), setsid(2), credentials(7) ("Sessions"),
    //   unix(7) (SOCK_SEQPACKET: one send, one recv), and the book, chapter
    //   06, How it works. Then delete the two lines below.
    //{ TODO(06.1)
    //| static_cast<void>(c);  // Delete this line: it only keeps -Werror quiet until you use c.
    //| throw UsageError("TODO(06.1): no monitor yet, so run -d would wait for the container's end, as run does");
    pid_t monitor = ::fork();
    if (monitor < 0) {
        throw_errno("fork() the monitor");
    }
    if (monitor != 0) {
        // The command line. What was prepared belongs to the monitor now:
        // leave with _exit, which runs no destructor and no cleanup.
        monitor_end.reset();
        char message[64] = {};
        ssize_t n;
        do {
            n = ::recv(command_line_end.get(), message, sizeof message - 1, 0);
        } while (n < 0 && errno == EINTR);
        std::string said(message, n > 0 ? static_cast<size_t>(n) : 0);
        if (said == "started") {
            fmt::print("{}\n", c.id);
            std::fflush(stdout);
            ::_exit(0);
        }
        // The start failed: the monitor said why on our stderr, and exits
        // with the code (125, or 127 for "executable file not found").
        int status = 0;
        while (::waitpid(monitor, &status, 0) < 0 && errno == EINTR) {
        }
        if (WIFSIGNALED(status)) {
            fmt::print(stderr, "{}: the monitor of container {} was killed by SIG{}\n", c.program, c.id.substr(0, 12),
                       sigabbrev_np(WTERMSIG(status)));
        }
        ::_exit(exit_code_from_status(status));
    }
    // The monitor: a session of its own, so the hang-up and Ctrl-C of the
    // terminal that ran `run -d` are not for it. It goes on with the start:
    // clone, join, wait, clean up; the container is its child.
    command_line_end.reset();
    notify_ = std::move(monitor_end);
    // What our caller left open is its own: a `$(...)` would wait for the
    // container's end if we held its pipe that long.
    close_inherited_fds();
    sys::setsid();
    trace::step(fmt::format("fork() = {}: the monitor of container {}, in a session of its own", ::getpid(),
                            c.id.substr(0, 12)));
    //} TODO(06.1)
}
//! [ch06-monitor]

void Lifecycle::join(Container& c) {
    if (c.dir.empty()) {
        return;
    }
    MonitorInfo m;
    m.monitor_pid = ::getpid();
    m.monitor_start = process_start_time(m.monitor_pid).value_or(0);
    m.init_start = process_start_time(c.pid).value_or(0);
    m.detached = detach_;
    m.tty = tty_;
    m.open_stdin = interactive_;
    m.cgroup_dirs = container_cgroup_dirs(c.pid, c.id);
    m.memory = cgroup_limit(m.cgroup_dirs, {"memory.max", "memory.limit_in_bytes"});
    m.pids_limit = cgroup_limit(m.cgroup_dirs, {"pids.max"});
    write_json_atomic(c.dir + "/monitor.json", m, Durable::no);
}

void Lifecycle::setup_after_root(Container& /*c*/) {
    if (tty_ || child_stdio_[2]) {
        // Our stderr is about to become the container's: --trace goes on
        // on a copy of it (closed by the execve), not into the container's output.
        trace::set_output(static_cast<int>(::fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3)));
    }
    if (tty_) {
        // TODO(06.3): give the container a terminal of its own, made here,
        //   in the child, inside the container: after chapter 03's root
        //   switch and its mount of a new devpts instance on /dev/pts,
        //   /dev/ptmx is the container's, and the pair is numbered in its
        //   /dev/pts (`tty` says /dev/pts/0). terminal.hpp has the calls (its
        //   first lines show the recipe): open_pty(STDIN_FILENO), a new pair
        //   with the window size of our terminal; become_terminal_session()
        //   with its slave end, which makes this process the leader of a new
        //   session whose controlling terminal it is, and its stdin, stdout
        //   and stderr (so busybox sh has job control, and Ctrl-C is SIGINT
        //   for the command in the foreground); and sys::send_fd() of its master
        //   end over console_[1], the socket pair prepare() made: the runtime
        //   outside keeps the master (started(), below). The Pty's own
        //   descriptors may close when it goes out of scope: the copies on
        //   0, 1, 2 and the one sent remain. Read pty(7), setsid(2),
        //   ioctl_tty(2) (TIOCSCTTY), unix(7) (SCM_RIGHTS), and the book,
        //   chapter 06, How it works. Then delete the throw.
        //{ TODO(06.3)
        //| throw UsageError("TODO(06.3): no terminal yet: run -t has no pty to give the container");
        Pty pty = open_pty(STDIN_FILENO);
        become_terminal_session(pty.slave.get());
        sys::send_fd(console_[1].get(), {pty.master.get(), "the pty master"});
        //} TODO(06.3)
        return;
    }
    // TODO(06.2): give the container's command the stdin, stdout and stderr
    //   that prepare() made for -d: child_stdio_[0], [1], [2] (/dev/null,
    //   or with -i the read end of a pipe whose write end the monitor keeps
    //   open; the write ends of the stdout and stderr pipes). An attached
    //   run has none of them, and keeps ours. dup2(2) each one that is set
    //   onto 0, 1 or 2 (sys::dup2(), which traces "dup2(<its fd>, <0, 1 or
    //   2>)"). (The originals are
    //   close-on-exec: only the copies reach the command.) Without this, the
    //   command writes where the monitor does: into the stdout of the
    //   command line that ran `run -d`, which a caller such as $(...) or a
    //   test reads until it closes, that is until the container exits. Read
    //   dup2(2), pipe(7). Then delete the throw below.
    //{ TODO(06.2)
    //| if (detach_) {
    //|     throw UsageError("TODO(06.2): no log yet: the container's output would go where run -d's goes");
    //| }
    for (int fd = 0; fd < 3; ++fd) {
        if (child_stdio_[fd]) {
            sys::dup2(child_stdio_[fd].get(), fd);
        }
    }
    //} TODO(06.2)
}

void Lifecycle::started(Container& /*c*/) {
    // Only the container holds its ends now: when it exits, we read EOF.
    for (Fd& fd : child_stdio_) {
        fd.reset();
    }
    if (tty_) {
        // TODO(06.3): receive into pty_master_ the pty's master end that the
        //   child sent (sys::receive_fd() on console_[0]): the code below copies
        //   between it and our terminal (attached), or into the log (-d).
        //   Then close both ends of the socket pair (reset()): their work is
        //   done. Why only now, in started()? The child sent it before its
        //   execvp(), and a start that failed never comes here.
        //{ TODO(06.3)
        pty_master_ = sys::receive_fd(console_[0].get());
        console_[0].reset();
        console_[1].reset();
        //} TODO(06.3)
    }
    if (detach_) {
        // (If the command line was killed meanwhile, nobody hears it: fine,
        // the container runs on.)
        ::send(notify_.get(), "started", 7, MSG_NOSIGNAL);
        notify_.reset();
        // The terminal that ran `run -d` is not ours any more.
        Fd null = open_fd("/dev/null", O_RDWR);
        for (int fd = 0; fd < 3; ++fd) {
            ::dup2(null.get(), fd);
        }
        // TODO(06.2): copy the container's output into its log, on a thread
        //   of its own while this monitor waits for the container: a Relay
        //   (terminal.hpp) in relay_ (relay_.emplace()). Its sources: with
        //   -t the pty, pty_master_, all of it "stdout"; else the read ends of
        //   the pipes, out_reader_ as "stdout" and err_reader_ as "stderr".
        //   Relay::log(source, log_.get(), stream) writes each chunk as a
        //   JSON line of Docker's json-file driver, with its stream, so that
        //   `logs` can split them again. Then start() it. after_exit() stops
        //   it once the container has exited, after the last bytes: then the
        //   pipes give EOF, since the loop at the top of this function closed
        //   our copies of their write ends. Read pipe(7), and `docker logs
        //   --help`.
        //{ TODO(06.2)
        relay_.emplace();
        if (pty_master_) {
            relay_->log(pty_master_.get(), log_.get(), "stdout");
        } else {
            relay_->log(out_reader_.get(), log_.get(), "stdout");
            relay_->log(err_reader_.get(), log_.get(), "stderr");
        }
        relay_->start();
        //} TODO(06.2)
        release_startup_pages();
    } else if (pty_master_) {
        attached_.emplace(pty_master_.get(), interactive_);
    }
}

void Lifecycle::after_exit(Container& /*c*/) {
    if (relay_) {
        relay_->stop();
    }
    attached_.reset();  // the container's last output shown, our terminal restored
}

void Lifecycle::cleanup(Container& /*c*/) noexcept {
    if (relay_) {
        relay_->stop();
    }
    attached_.reset();  // the container's last output shown, our terminal restored
}

}  // namespace minidocker
