// exec.cpp - chapter 06's idea: entering a container by setns().
//
// The whole chapter in one sentence: a container is a process in namespaces
// and cgroups, so "entering" it is opening its /proc/PID/ns/* files, setns()
// into each, forking, joining its cgroups and calling execve. The steps,
// in the order exec_in_container() (at the bottom) takes them:
//   1. open everything: its namespaces, its root, its cgroup.procs files;
//   2. setns() into each namespace, then into its root;
//   3. fork, since a PID namespace applies to children only; then back;
//   4. the child into its cgroups;
//   5. in the child: stdin or a terminal, working directory, environment,
//      execvp.
// What keeps a container running after `run`, so that there is one to
// enter, is in monitor.cpp.
#include "exec.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "error.hpp"
#include "guard.hpp"
#include "process.hpp"
#include "sys.hpp"
#include "terminal.hpp"
#include "trace.hpp"

namespace minidocker {

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

// What later chapters add to exec (add_exec_extension()).
std::vector<ExecExtension>& extensions() {
    static std::vector<ExecExtension> added;
    return added;
}

// One exec, step by step: what a step opens or makes, the later ones use.
struct ExecSession {
    ExecSession(const ContainerView& view, const ExecRequest& request) : view(view), request(request) {}

    const ContainerView& view;
    const ExecRequest& request;
    pid_t pid = view.state.pid;    // the container's PID 1, as the host sees it
    std::vector<Joinable> joins;   // its namespaces to join, in join_order
    Fd our_pid_ns;                 // to come back to, for our later children
    Fd root;                       // its PID 1's root directory
    std::vector<Fd> cgroup_procs;  // the cgroup.procs file of each of its cgroups
    Fd console[2];                 // -t: the child sends the pty's master over [1]
    Fd null_stdin;                 // without -i: the command's stdin
    pid_t child = -1;              // the command, in the container

    void open_everything();
    void enter();
    [[noreturn]] void run_command(SyncChannel& channel, const SignalForwarder& signals);
    void back_to_our_pid_namespace();
    void join_cgroups();
    int wait_for_command(const SignalForwarder& signals);
};

// Step 1: every path exec needs, opened while it still sees the host's.
void ExecSession::open_everything() {
    //! [ch06-open]
    // Every descriptor first, while /proc is still the host's: after we
    // join the mount namespace, /proc/PID would name another process, or none.
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
    our_pid_ns = open_fd("/proc/self/ns/pid", O_RDONLY);
    // Its root directory: the root of its mount namespace after pivot_root,
    // but not after chapter 03's --chroot. This one is right for both.
    root = open_fd(fmt::format("/proc/{}/root", pid), O_RDONLY | O_DIRECTORY);
    // TODO(06.6): open for writing, into cgroup_procs, the file cgroup.procs
    //   of each of the container's cgroups. view.monitor.cgroup_dirs lists
    //   their directories as the host sees them (the monitor's join(), in
    //   monitor.cpp, wrote them into monitor.json: one per hierarchy with
    //   cgroup v1, one with v2). Open them now, as the namespaces: once TODO 06.5 has
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
    if (request.tty) {
        sys::SocketPair pair = sys::socketpair(SOCK_STREAM, "the pty");
        console[0] = std::move(pair.first);
        console[1] = std::move(pair.second);
    }
    if (!request.interactive) {
        null_stdin = open_fd("/dev/null", O_RDONLY);  // as Docker: no stdin without -i
    }
}

// Step 2: into its namespaces, and its root.
void ExecSession::enter() {
    //! [ch06-setns]
    // TODO(06.5): enter the container. setns(2) into each namespace of
    //   joins, in its order, with the descriptor and the type's flag
    //   (j.type->flag: the kernel checks that the file is a namespace of that
    //   type): sys::setns() (sys.hpp), with the descriptor described as
    //     fd of /proc/<pid>/ns/<j.type->name>
    //   so that its trace reads "setns(fd of /proc/4242/ns/mnt, CLONE_NEWNS)"
    //   (a test reads it). Joining the mount
    //   namespace also sets our root and working directory to its root,
    //   which is the container's "/" after chapter 03's pivot_root, but not
    //   after its --chroot. The container's root is its PID 1's: `root`,
    //   opened above from /proc/<pid>/root. Make it ours: fchdir(2) to it
    //   (sys::fchdir(), described "fd of /proc/<pid>/root"), then chroot(2)
    //   to "." (sys::chroot()). The PID namespace is the exception: setns() moves
    //   our future children (pid_for_children), not us. That is why exec
    //   forks below. Read setns(2), pid_namespaces(7), chroot(2), and the
    //   book, chapter 06, How it works.
    //{ TODO(06.5)
    for (const Joinable& j : joins) {
        sys::setns({j.fd.get(), fmt::format("fd of /proc/{}/ns/{}", pid, j.type->name)}, j.type->flag);
    }
    sys::fchdir({root.get(), fmt::format("fd of /proc/{}/root", pid)});
    sys::chroot(".");
    //} TODO(06.5)
    //! [ch06-setns]
}

// Step 5's environment: the image's, TERM for a terminal, then -e.
std::vector<std::string> command_env(const ContainerView& view, const ExecRequest& request) {
    std::vector<std::string> env = view.config.env;
    if (request.tty && std::none_of(env.begin(), env.end(), [](auto& kv) { return kv.rfind("TERM=", 0) == 0; })) {
        env.push_back("TERM=xterm");
    }
    for (const std::string& kv : request.env) {
        set_env(env, kv);
    }
    return env;
}

// Step 5, in the child, which is in the container's namespaces and root and
// waits for the parent's "go": its stdin or a terminal (-t), its working
// directory and environment, then execvp. Never returns.
void ExecSession::run_command(SyncChannel& channel, const SignalForwarder& signals) {
    ChildFailure failure{0, exit_runtime_failed, ""};
    try {
        channel.use_as_child();
        if (!channel.wait_for_go()) {
            ::_exit(exit_runtime_failed);
        }
        if (request.tty) {
            trace::set_output(static_cast<int>(::fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3)));
            // TODO(06.3): exec -t: the same as run -t does in
            //   Lifecycle::setup_after_root() (monitor.cpp), in this child, which is
            //   in the container's namespaces and root now: a new pty
            //   from the container's /dev/ptmx (open_pty(STDIN_FILENO)),
            //   this child's session and controlling terminal on its slave
            //   end (become_terminal_session()), and its master end sent
            //   to exec, over console[1] (sys::send_fd()). Then delete the
            //   throw.
            //{ TODO(06.3)
            //| throw UsageError("TODO(06.3): no terminal yet (exec -t)");
            Pty pty = open_pty(STDIN_FILENO);  // in the container's own /dev/pts
            become_terminal_session(pty.slave.get());
            sys::send_fd(console[1].get(), {pty.master.get(), "the pty master"});
            //} TODO(06.3)
        } else if (null_stdin) {
            sys::dup2({null_stdin.get(), "/dev/null"}, STDIN_FILENO);
        }
        std::string dir = !request.working_dir.empty()       ? request.working_dir
                          : !view.config.working_dir.empty() ? view.config.working_dir
                                                             : "/";
        // Refuses a directory outside the container (-w /proc/self/fd/N).
        chdir_inside(dir);
        std::vector<std::string> env = command_env(view, request);
        for (const ExecExtension& e : extensions()) {
            if (e.last_step) {
                e.last_step(view, env);
            }
        }
        failure = exec_command(request.command, env, signals);  // returns only when execvp failed
    } catch (const std::system_error& e) {
        failure.error = e.code().value();
        failure.message = e.what();
    } catch (const std::exception& e) {
        failure.message = e.what();
    }
    channel.report(failure);
    ::_exit(failure.exit_code);
}

// Step 3, in the parent, once the child is born.
void ExecSession::back_to_our_pid_namespace() {
    //! [ch06-back]
    trace::step(fmt::format("fork() = {}: a child in the container's PID namespace", child));
    // TODO(06.5): the child is born in the container's PID namespace: go
    //   back to our own for any later child: sys::setns() with our_pid_ns
    //   (opened above, before the first setns), described "fd of
    //   /proc/self/ns/pid", and CLONE_NEWPID. Who
    //   else would we fork? A thread is a child too: the kernel refuses
    //   clone(2) with CLONE_THREAD (std::thread) with EINVAL while our
    //   pid_for_children is not our own PID namespace, and exec -t starts
    //   one, the Relay that copies the terminal. Read clone(2), ERRORS.
    //{ TODO(06.5)
    // Back to our own PID namespace for children: the kernel refuses to
    // start a thread (the -t relay) while it differs from ours.
    sys::setns({our_pid_ns.get(), "fd of /proc/self/ns/pid"}, CLONE_NEWPID);
    //} TODO(06.5)
    //! [ch06-back]
}

// Step 4: the child into the container's cgroups, before its "go".
void ExecSession::join_cgroups() {
    //! [ch06-cgroup]
    // TODO(06.6): put the child into the container's cgroups: write its pid
    //   (`child`, in decimal: the number the host gives it, since we are in
    //   the host's PID namespace) into each of cgroup_procs with sys::write(),
    //   each descriptor described as "<dir>/cgroup.procs" in quotes
    //   (trace::quote()), where dir is the same entry of
    //   view.monitor.cgroup_dirs: the trace reads
    //   write("/sys/fs/cgroup/.../cgroup.procs", "4243"). Here,
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
        std::string file = view.monitor.cgroup_dirs[i] + "/cgroup.procs";
        sys::write({cgroup_procs[i].get(), trace::quote(file)}, std::to_string(child));
    }
    //} TODO(06.6)
    //! [ch06-cgroup]
}

// The command runs: with -t, copy between our terminal and its pty until it
// exits. Returns its exit code.
int ExecSession::wait_for_command(const SignalForwarder& signals) {
    std::optional<AttachedTerminal> attached;
    Fd master;
    if (request.tty) {
        // TODO(06.3): receive into `master` the pty's master end that the
        //   child sent over console[1]: sys::receive_fd() on console[0].
        //{ TODO(06.3)
        master = sys::receive_fd(console[0].get());
        //} TODO(06.3)
        attached.emplace(master.get(), request.interactive);
    }
    int status = signals.wait_for(child);
    if (attached) {
        attached->stop();
    }
    return exit_code_from_status(status);
}

}  // namespace

void add_exec_extension(ExecExtension extension) { extensions().push_back(std::move(extension)); }

int exec_in_container(const ContainerView& view, const ExecRequest& request) {
    for (const ExecExtension& e : extensions()) {
        if (e.prepare) {
            e.prepare(view);
        }
    }
    trace::Owner owner("06 exec");
    ExecSession exec{view, request};
    exec.open_everything();
    exec.enter();

    SignalForwarder signals;
    SyncChannel channel;
    // Our PID namespace is still the host's; our children are born into
    // the container's. That is why exec has to fork.
    exec.child = ::fork();
    if (exec.child < 0) {
        throw_errno("fork()");
    }
    if (exec.child == 0) {
        exec.run_command(channel, signals);
    }
    channel.use_as_parent();
    exec.back_to_our_pid_namespace();
    exec.join_cgroups();
    channel.send_go();
    std::optional<ChildFailure> failure = channel.wait_for_exec();
    if (failure) {
        signals.wait_for(exec.child);
        throw ExecFailed(failure->exit_code, failure->message);
    }
    return exec.wait_for_command(signals);
}

}  // namespace minidocker
