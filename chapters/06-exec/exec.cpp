// exec.cpp - chapter 06: entering a container, and keeping one running.
//
// The whole chapter in one sentence: a container is a process in namespaces
// and cgroups, so "entering" it is opening its /proc/PID/ns/* files, setns()
// into each, forking, joining its cgroups and calling execve; and to have one
// to enter after `run` returns, a forked monitor stays its parent.
#include "exec.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/close_range.h>
#include <malloc.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "error.hpp"
#include "guard.hpp"
#include "process.hpp"
#include "state.hpp"
#include "trace.hpp"

namespace minidocker {

void to_json(nlohmann::json& j, const MonitorInfo& m) {
    j = {{"MonitorPid", m.monitor_pid},
         {"MonitorStart", m.monitor_start},
         {"InitStart", m.init_start},
         {"Detached", m.detached},
         {"Tty", m.tty},
         {"OpenStdin", m.open_stdin},
         {"CgroupDirs", m.cgroup_dirs},
         {"Memory", m.memory},
         {"PidsLimit", m.pids_limit}};
}

void from_json(const nlohmann::json& j, MonitorInfo& m) {
    m.monitor_pid = j.value("MonitorPid", 0);
    m.monitor_start = j.value("MonitorStart", 0ULL);
    m.init_start = j.value("InitStart", 0ULL);
    m.detached = j.value("Detached", false);
    m.tty = j.value("Tty", false);
    m.open_stdin = j.value("OpenStdin", false);
    m.cgroup_dirs = j.value("CgroupDirs", std::vector<std::string>{});
    m.memory = j.value("Memory", 0LL);
    m.pids_limit = j.value("PidsLimit", 0LL);
}

std::optional<unsigned long long> process_start_time(pid_t pid) {
    std::string stat;
    try {
        stat = read_text_file(fmt::format("/proc/{}/stat", pid));
    } catch (const std::system_error&) {
        return std::nullopt;
    }
    // "PID (comm) S ppid ...": comm may hold spaces and parentheses, so
    // count the fields after the last ')'. State is field 3, starttime 22.
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));
    std::string state;
    fields >> state;
    std::string field;
    for (int i = 4; i < 22; ++i) {
        fields >> field;
    }
    unsigned long long start = 0;
    if (!(fields >> start) || state == "Z" || state == "X") {
        return std::nullopt;  // a zombie has exited already
    }
    return start;
}

std::vector<std::string> container_cgroup_dirs(pid_t pid, const std::string& id) {
    // Where each cgroup hierarchy is mounted: mountinfo's fields are "id
    // parent dev root mountpoint options [optional...] - fstype source superoptions".
    struct Hierarchy {
        std::string root, mountpoint, fstype, options;
    };
    std::vector<Hierarchy> hierarchies;
    std::istringstream mountinfo(read_text_file("/proc/self/mountinfo"));
    for (std::string line; std::getline(mountinfo, line);) {
        std::istringstream in(line);
        std::string skip, root, mountpoint, word, fstype, source, options;
        in >> skip >> skip >> skip >> root >> mountpoint;
        while (in >> word && word != "-") {
        }
        in >> fstype >> source >> options;
        if (fstype == "cgroup" || fstype == "cgroup2") {
            hierarchies.push_back({root, mountpoint, fstype, "," + options + ","});
        }
    }
    // /proc/PID/cgroup: "4:memory:/minidocker/<id>" (v1), "0::/minidocker/<id>" (v2).
    std::vector<std::string> dirs;
    std::istringstream cgroups(read_text_file(fmt::format("/proc/{}/cgroup", pid)));
    for (std::string line; std::getline(cgroups, line);) {
        size_t first = line.find(':');
        size_t second = line.find(':', first + 1);
        std::string controllers = line.substr(first + 1, second - first - 1);
        std::string path = line.substr(second + 1);
        if (path.substr(path.rfind('/') + 1) != id) {
            continue;  // not one chapter 02 made for this container
        }
        for (const Hierarchy& h : hierarchies) {
            bool match = controllers.empty() ? h.fstype == "cgroup2" : h.fstype == "cgroup";
            std::istringstream names(controllers);
            for (std::string name; match && std::getline(names, name, ',');) {
                match = h.options.find("," + name + ",") != std::string::npos;
            }
            if (match && path.rfind(h.root == "/" ? "" : h.root, 0) == 0) {
                dirs.push_back(h.mountpoint + path.substr(h.root == "/" ? 0 : h.root.size()));
                break;
            }
        }
    }
    return dirs;
}

long long cgroup_limit(const std::vector<std::string>& dirs, const std::vector<std::string>& files) {
    for (const std::string& dir : dirs) {
        for (const std::string& file : files) {
            // Each hierarchy has only its own controllers' files. Look before
            // reading: in a normal run this would be the first throw, and the
            // first throw of a static program costs milliseconds (the
            // unwinder sorts its tables then).
            std::string path = join_path(dir, file);
            if (::access(path.c_str(), R_OK) != 0) {
                continue;
            }
            try {
                std::string text = read_text_file(path);
                long long value = std::atoll(text.c_str());
                // "max" (v2), or v1's "no limit": a huge page-rounded number.
                return text.rfind("max", 0) == 0 || value >= (1LL << 62) ? 0 : value;
            } catch (const std::system_error&) {
                // not this hierarchy
            }
        }
    }
    return 0;
}

//! [ch06-state]
ContainerView load_container(const Store& store, const std::string& id) {
    ContainerView v;
    v.config = store.container_config(id);
    v.dir = store.container_dir(id);
    try {
        v.monitor = read_json(v.dir + "/monitor.json").get<MonitorInfo>();
    } catch (const std::exception&) {
        // not written yet (or by a chapter before 06)
    }
    // Is the monitor alive? Asked before state.json is read: a monitor that
    // is gone by now wrote all it was going to write before we read it.
    if (v.monitor.monitor_pid > 0) {
        std::optional<unsigned long long> start = process_start_time(v.monitor.monitor_pid);
        v.monitor_alive = start && *start == v.monitor.monitor_start;
    }
    v.state = store.container_state(id);
    if (v.state.status == "running" && v.state.pid > 0) {
        std::optional<unsigned long long> start = process_start_time(v.state.pid);
        v.running = start && (v.monitor.init_start == 0 || *start == v.monitor.init_start);
    }
    if (v.state.status == "running" && !v.running && !v.monitor_alive) {
        // Both gone and nobody wrote down how it ended: Docker says 255.
        v.state.status = "exited";
        v.state.exit_code = 255;
    }
    return v;
}
//! [ch06-state]

// ---------------------------------------------------------------------------
// exec: join the namespaces, fork, join the cgroups, execve.

namespace {

struct NamespaceType {
    const char* name;
    int flag;
};

//! [ch06-order]
// The order nsenter(1) uses. The mount namespace comes last among the ones
// that matter: joining it changes our root and working directory. The PID
// namespace is joined like the others, but applies to our children only.
const NamespaceType join_order[] = {{"cgroup", CLONE_NEWCGROUP}, {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS},
                                    {"net", CLONE_NEWNET},       {"pid", CLONE_NEWPID}, {"mnt", CLONE_NEWNS}};
//! [ch06-order]

struct Joinable {
    const NamespaceType* type;
    Fd fd;
};

bool same_file(int fd, const std::string& path) {
    struct stat a {};
    struct stat b {};
    return ::fstat(fd, &a) == 0 && ::stat(path.c_str(), &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// Docker's rule for -e: K=V sets, a bare K takes our value (if we have one).
void set_env(std::vector<std::string>& env, const std::string& kv) {
    std::string key = kv.substr(0, kv.find('='));
    std::string value = kv;
    if (kv.find('=') == std::string::npos) {
        const char* ours = std::getenv(kv.c_str());
        if (ours == nullptr) {
            return;
        }
        value = kv + "=" + ours;
    }
    auto same = [&](const std::string& have) { return have.rfind(key + "=", 0) == 0; };
    env.erase(std::remove_if(env.begin(), env.end(), same), env.end());
    env.push_back(value);
}

}  // namespace

int exec_in_container(const ContainerView& view, const ExecRequest& request) {
    trace::Owner owner("06 exec");
    pid_t pid = view.state.pid;

    //! [ch06-open]
    // Every descriptor first, while /proc is still the host's: after we
    // join the mount namespace, /proc/PID would name another process, or none.
    std::vector<Joinable> joins;
    // TODO(06.4): open the namespaces of the container's PID 1 that exec is
    //   to join, all of them now, before the first setns(). For each type of
    //   join_order (above: nsenter's order, the mount namespace last),
    //   open_fd() "/proc/<pid>/ns/<type.name>" read-only, and push
    //   {&type, that Fd} onto joins. Skip a namespace that is ours already,
    //   as nsenter(1) does: a container started with `run --ns` (chapter 01)
    //   shares the types it did not ask for, and there is nothing to join.
    //   Two namespace files are the same namespace when they are the same
    //   inode: same_file(fd, "/proc/self/ns/<type.name>"), above. Then say
    //   so, trace::step("<path>: the same namespace as ours, not joined"),
    //   and go on with the next type. Why everything first? Once TODO 06.5
    //   has joined the mount namespace, /proc is the container's: there,
    //   /proc/<pid> is another process, or none. Read namespaces(7), "The
    //   /proc/[pid]/ns/ directory"; setns(2); nsenter(1); and the book,
    //   chapter 06, How it works. Then delete the line below.
    //{ TODO(06.4)
    //| static_cast<void>(same_file);  // Delete this line: it only keeps -Werror quiet until you call it.
    for (const NamespaceType& type : join_order) {
        std::string path = fmt::format("/proc/{}/ns/{}", pid, type.name);
        Fd fd = open_fd(path, O_RDONLY);
        if (same_file(fd.get(), fmt::format("/proc/self/ns/{}", type.name))) {
            trace::step(fmt::format("{}: the same namespace as ours, not joined", path));
            continue;
        }
        joins.push_back({&type, std::move(fd)});
    }
    //} TODO(06.4)
    Fd our_pid_ns = open_fd("/proc/self/ns/pid", O_RDONLY);
    // Its root directory: the root of its mount namespace after pivot_root,
    // but not after chapter 03's --chroot. This one is right for both.
    Fd root = open_fd(fmt::format("/proc/{}/root", pid), O_RDONLY | O_DIRECTORY);
    std::vector<Fd> cgroup_procs;
    // TODO(06.6): open for writing, into cgroup_procs, the file cgroup.procs
    //   of each of the container's cgroups. view.monitor.cgroup_dirs lists
    //   their directories as the host sees them (the monitor's join(), below,
    //   wrote them into monitor.json: one per hierarchy with cgroup v1, one
    //   with v2). Open them now, as the namespaces: once TODO 06.5 has
    //   joined the mount namespace, /sys/fs/cgroup is the container's, if it
    //   has one at all. The writes come after the fork (the second part of
    //   this TODO, further down).
    //{ TODO(06.6)
    for (const std::string& dir : view.monitor.cgroup_dirs) {
        cgroup_procs.push_back(open_fd(dir + "/cgroup.procs", O_WRONLY));
    }
    //} TODO(06.6)
    // Still the same process? (A pid can be reused once its process is gone.)
    if (view.monitor.init_start != 0 && process_start_time(pid) != view.monitor.init_start) {
        throw UsageError(fmt::format("container {} is not running", view.config.name));
    }
    //! [ch06-open]
    Fd console[2];
    if (request.tty) {
        int pair[2];
        check(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), "socketpair(AF_UNIX) for the pty");
        console[0] = Fd(pair[0]);
        console[1] = Fd(pair[1]);
    }
    Fd null_stdin;
    if (!request.interactive) {
        null_stdin = open_fd("/dev/null", O_RDONLY);  // as Docker: no stdin without -i
    }

    //! [ch06-setns]
    // TODO(06.5): enter the container. setns(2) into each namespace of
    //   joins, in its order, with the descriptor and the type's flag
    //   (j.type->flag: the kernel checks that the file is a namespace of that
    //   type), each in check() with the text (a test reads it)
    //     setns(fd of /proc/<pid>/ns/<j.type->name>, <flag as text>)
    //   where the flag as text is trace::clone_flags(static_cast<unsigned>(flag)):
    //   "setns(fd of /proc/4242/ns/mnt, CLONE_NEWNS)". Joining the mount
    //   namespace also sets our root and working directory to its root,
    //   which is the container's "/" after chapter 03's pivot_root, but not
    //   after its --chroot. The container's root is its PID 1's: `root`,
    //   opened above from /proc/<pid>/root. Make it ours: fchdir(2) to it,
    //   text "fchdir(fd of /proc/<pid>/root)", then chroot(2) to ".", text
    //   "chroot(\".\")". The PID namespace is the exception: setns() moves
    //   our future children (pid_for_children), not us. That is why exec
    //   forks below. Read setns(2), pid_namespaces(7), chroot(2), and the
    //   book, chapter 06, How it works.
    //{ TODO(06.5)
    for (const Joinable& j : joins) {
        check(::setns(j.fd.get(), j.type->flag), fmt::format("setns(fd of /proc/{}/ns/{}, {})", pid, j.type->name,
                                                             trace::clone_flags(static_cast<unsigned>(j.type->flag))));
    }
    check(::fchdir(root.get()), fmt::format("fchdir(fd of /proc/{}/root)", pid));
    check(::chroot("."), "chroot(\".\")");
    //} TODO(06.5)
    //! [ch06-setns]

    SignalForwarder signals;
    SyncChannel channel;
    // Our PID namespace is still the host's; our children are born into
    // the container's. That is why exec has to fork.
    pid_t child = ::fork();
    if (child < 0) {
        throw_errno("fork()");
    }
    if (child == 0) {
        ChildFailure failure{0, exit_runtime_failed, ""};
        try {
            channel.use_as_child();
            if (!channel.wait_for_go()) {
                ::_exit(exit_runtime_failed);
            }
            if (request.tty) {
                trace::set_output(static_cast<int>(::fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3)));
                // TODO(06.3): exec -t: the same as run -t does in
                //   Exec::setup_after_root(), below, in this child, which is
                //   in the container's namespaces and root now: a new pty
                //   from the container's /dev/ptmx (open_pty(STDIN_FILENO)),
                //   this child's session and controlling terminal on its slave
                //   end (become_terminal_session()), and its master end sent
                //   to exec, over console[1] (send_fd()). Then delete the
                //   throw.
                //{ TODO(06.3)
                //| throw UsageError("TODO(06.3): no terminal yet (exec -t)");
                Pty pty = open_pty(STDIN_FILENO);  // in the container's own /dev/pts
                become_terminal_session(pty.slave.get());
                send_fd(console[1].get(), pty.master.get());
                //} TODO(06.3)
            } else if (null_stdin) {
                check(::dup2(null_stdin.get(), STDIN_FILENO), "dup2(/dev/null, 0)");
            }
            std::string dir = !request.working_dir.empty()       ? request.working_dir
                              : !view.config.working_dir.empty() ? view.config.working_dir
                                                                 : "/";
            // Refuses a directory outside the container (-w /proc/self/fd/N).
            chdir_inside(dir);
            std::vector<std::string> env = view.config.env;
            if (request.tty &&
                std::none_of(env.begin(), env.end(), [](auto& kv) { return kv.rfind("TERM=", 0) == 0; })) {
                env.push_back("TERM=xterm");
            }
            for (const std::string& kv : request.env) {
                set_env(env, kv);
            }
            ::clearenv();
            for (std::string& kv : env) {
                ::putenv(kv.data());
            }
            std::vector<std::string> args = request.command;
            std::vector<char*> argv;
            argv.reserve(args.size() + 1);
            for (std::string& arg : args) {
                argv.push_back(arg.data());
            }
            argv.push_back(nullptr);
            check(::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC), "close_range(3, ~0U, CLOSE_RANGE_CLOEXEC)");
            trace::step(fmt::format("execvp(\"{}\", ...)", args[0]));
            signals.restore_in_child();
            ::signal(SIGPIPE, SIG_DFL);
            ::execvp(argv[0], argv.data());
            int err = errno;
            failure.error = err;
            failure.exit_code = exit_code_from_exec_errno(err);
            failure.message = err == ENOENT && args[0].find('/') == std::string::npos
                                  ? fmt::format("exec \"{}\": executable file not found in $PATH", args[0])
                                  : fmt::format("exec \"{}\": {}", args[0], std::strerror(err));
        } catch (const std::system_error& e) {
            failure.error = e.code().value();
            failure.message = e.what();
        } catch (const std::exception& e) {
            failure.message = e.what();
        }
        channel.report(failure);
        ::_exit(failure.exit_code);
    }
    //! [ch06-back]
    channel.use_as_parent();
    trace::step(fmt::format("fork() = {}: a child in the container's PID namespace", child));
    // TODO(06.5): the child is born in the container's PID namespace: go
    //   back to our own for any later child. setns(2) with our_pid_ns
    //   (opened above, before the first setns) and CLONE_NEWPID, in check()
    //   with the text "setns(fd of /proc/self/ns/pid, CLONE_NEWPID)". Who
    //   else would we fork? A thread is a child too: the kernel refuses
    //   clone(2) with CLONE_THREAD (std::thread) with EINVAL while our
    //   pid_for_children is not our own PID namespace, and exec -t starts
    //   one, the Relay that copies the terminal. Read clone(2), ERRORS.
    //{ TODO(06.5)
    // Back to our own PID namespace for children: the kernel refuses to
    // start a thread (the -t relay) while it differs from ours.
    check(::setns(our_pid_ns.get(), CLONE_NEWPID), "setns(fd of /proc/self/ns/pid, CLONE_NEWPID)");
    //} TODO(06.5)
    //! [ch06-back]

    //! [ch06-cgroup]
    // TODO(06.6): put the child into the container's cgroups: write its pid
    //   (`child`, in decimal: the number the host gives it, since we are in
    //   the host's PID namespace) into each of cgroup_procs, each write in
    //   check() with the text
    //     write("<dir>/cgroup.procs", "<pid>")
    //   where dir is the same entry of view.monitor.cgroup_dirs. Here,
    //   before send_go(): the child waits for "go" before it runs a single
    //   instruction of the user's command, so the container's limits (-m,
    //   --pids-limit...) hold for that command from the start. (Joining the
    //   cgroup namespace above changed what /proc/self/cgroup shows, not
    //   which cgroups the child is in.) Read cgroups(7), "Creating cgroups
    //   and moving processes", and cgroup_namespaces(7).
    //{ TODO(06.6)
    // Into the container's cgroups before the child runs a single
    // instruction of the user's command: its limits hold from the start.
    for (size_t i = 0; i < cgroup_procs.size(); ++i) {
        std::string text = std::to_string(child);
        check(::write(cgroup_procs[i].get(), text.data(), text.size()),
              fmt::format("write(\"{}/cgroup.procs\", \"{}\")", view.monitor.cgroup_dirs[i], child));
    }
    //} TODO(06.6)
    //! [ch06-cgroup]
    channel.send_go();
    std::optional<ChildFailure> failure = channel.wait_for_exec();
    if (failure) {
        signals.wait_for(child);
        throw ExecFailed(failure->exit_code, failure->message);
    }
    std::optional<RawMode> raw;
    std::optional<Relay> relay;
    Fd master;
    if (request.tty) {
        // TODO(06.3): receive into `master` the pty's master end that the
        //   child sent over console[1]: receive_fd() on console[0].
        //{ TODO(06.3)
        master = receive_fd(console[0].get());
        //} TODO(06.3)
        raw.emplace(STDIN_FILENO);
        relay.emplace();
        if (request.interactive) {
            relay->copy(STDIN_FILENO, master.get(), false);
        }
        relay->copy(master.get(), STDOUT_FILENO, true);
        relay->follow_window_size(STDIN_FILENO, master.get());
        relay->start();
    }
    int status = signals.wait_for(child);
    if (relay) {
        relay->stop();
    }
    return exit_code_from_status(status);
}

// ---------------------------------------------------------------------------
// The feature: run -d, -i, -t.

void Exec::add_run_options(CLI::App& run) {
    run.add_flag("-d,--detach", detach_, "Run in the background and print the container's id");
    run.add_flag("-i,--interactive", interactive_, "Keep stdin open (with -d: open, but nothing writes to it)");
    run.add_flag("-t,--tty", tty_, "Give the container a terminal of its own");
}

void Exec::prepare(Container& c) {
    Store store{rt_->root_dir()};
    if (std::filesystem::exists(store.container_dir(c.id) + "/config.json")) {
        dir_ = store.container_dir(c.id);
    }
    if (detach_ && dir_.empty()) {
        throw UsageError("-d needs an image: run -d [OPTIONS] IMAGE [CMD...]");
    }
    if (!dir_.empty()) {
        // Who is starting it, from now on (join() adds the rest): `rm -f` of
        // a container whose start is still under way, by a monitor whose
        // command line was killed, stops that start instead of racing it.
        MonitorInfo m;
        m.monitor_pid = ::getpid();
        m.monitor_start = process_start_time(m.monitor_pid).value_or(0);
        m.detached = detach_;
        write_json_atomic(dir_ + "/monitor.json", m, Durable::no);
    }
    if (tty_) {
        int pair[2];
        check(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), "socketpair(AF_UNIX) for the pty");
        console_[0] = Fd(pair[0]);
        console_[1] = Fd(pair[1]);
    }
    if (!detach_) {
        return;  // attached: the container shares our stdin, stdout, stderr (or the pty)
    }
    if (!tty_) {
        int out[2];
        int err[2];
        check(::pipe2(out, O_CLOEXEC), "pipe2(stdout)");
        out_reader_ = Fd(out[0]);
        child_stdio_[1] = Fd(out[1]);
        check(::pipe2(err, O_CLOEXEC), "pipe2(stderr)");
        err_reader_ = Fd(err[0]);
        child_stdio_[2] = Fd(err[1]);
        if (interactive_) {
            int in[2];
            check(::pipe2(in, O_CLOEXEC), "pipe2(stdin)");
            child_stdio_[0] = Fd(in[0]);
            stdin_writer_ = Fd(in[1]);
        } else {
            child_stdio_[0] = open_fd("/dev/null", O_RDONLY);
        }
    }
    log_ = open_fd(dir_ + "/log", O_WRONLY | O_CREAT | O_APPEND, 0600);
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

void Exec::begin(Container& c) {
    if (detach_) {
        start_monitor(c);
    }
}

//! [ch06-monitor]
void Exec::start_monitor(Container& c) {
    // Before anything is prepared, so that whatever becomes of this command
    // line (Ctrl-C, a SIGKILL), the start is the monitor's to finish or undo.
    // The command line waits on one end until the monitor says "started".
    int pair[2];
    check(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), "socketpair(AF_UNIX, SOCK_SEQPACKET)");
    Fd command_line_end(pair[0]);
    Fd monitor_end(pair[1]);
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
    //       "<rt_->program()>: the monitor of container <c.id's first 12
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
    //     session of the terminal that ran `run -d`: setsid(2), in check()
    //     with the text "setsid()", so that its hang-up and Ctrl-C are not
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
            fmt::print(stderr, "{}: the monitor of container {} was killed by SIG{}\n", rt_->program(),
                       c.id.substr(0, 12), sigabbrev_np(WTERMSIG(status)));
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
    check(::setsid(), "setsid()");
    trace::step(fmt::format("fork() = {}: the monitor of container {}, in a session of its own", ::getpid(),
                            c.id.substr(0, 12)));
    //} TODO(06.1)
}
//! [ch06-monitor]

void Exec::join(Container& c) {
    if (dir_.empty()) {
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
    write_json_atomic(dir_ + "/monitor.json", m, Durable::no);
}

void Exec::setup_after_root(Container& /*c*/) {
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
        //   for the command in the foreground); and send_fd() of its master
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
        send_fd(console_[1].get(), pty.master.get());
        //} TODO(06.3)
        return;
    }
    // TODO(06.2): give the container's command the stdin, stdout and stderr
    //   that prepare() made for -d: child_stdio_[0], [1], [2] (/dev/null,
    //   or with -i the read end of a pipe whose write end the monitor keeps
    //   open; the write ends of the stdout and stderr pipes). An attached
    //   run has none of them, and keeps ours. dup2(2) each one that is set onto 0, 1 or 2, in check()
    //   with the text "dup2(<its fd>, <0, 1 or 2>)". (The originals are
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
            check(::dup2(child_stdio_[fd].get(), fd), fmt::format("dup2({}, {})", child_stdio_[fd].get(), fd));
        }
    }
    //} TODO(06.2)
}

void Exec::started(Container& /*c*/) {
    // Only the container holds its ends now: when it exits, we read EOF.
    for (Fd& fd : child_stdio_) {
        fd.reset();
    }
    if (tty_) {
        // TODO(06.3): receive into pty_master_ the pty's master end that the
        //   child sent (receive_fd() on console_[0]): the code below copies
        //   between it and our terminal (attached), or into the log (-d).
        //   Then close both ends of the socket pair (reset()): their work is
        //   done. Why only now, in started()? The child sent it before its
        //   execvp(), and a start that failed never comes here.
        //{ TODO(06.3)
        pty_master_ = receive_fd(console_[0].get());
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
        raw_.emplace(STDIN_FILENO);
        relay_.emplace();
        if (interactive_) {
            relay_->copy(STDIN_FILENO, pty_master_.get(), false);
        }
        relay_->copy(pty_master_.get(), STDOUT_FILENO, true);
        relay_->follow_window_size(STDIN_FILENO, pty_master_.get());
        relay_->start();
    }
}

void Exec::after_exit(Container& /*c*/) {
    if (relay_) {
        relay_->stop();
    }
    raw_.reset();
}

void Exec::cleanup(Container& /*c*/) noexcept {
    if (relay_) {
        relay_->stop();
    }
    raw_.reset();
}

}  // namespace minidocker
