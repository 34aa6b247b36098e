// runtime.cpp - see runtime.hpp.
#include "runtime.hpp"

#include <fmt/format.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "doctor.hpp"
#include "error.hpp"
#include "guard.hpp"
#include "process.hpp"
#include "sys.hpp"
#include "trace.hpp"

namespace minidocker {

#ifndef MINIDOCKER_VERSION
#define MINIDOCKER_VERSION "0.1.0"
#endif

std::string random_id() {
    unsigned char bytes[32];
    if (::getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) {
        throw_errno("getrandom(32)");
    }
    std::string id;
    for (unsigned char b : bytes) {
        id += fmt::format("{:02x}", b);
    }
    return id;
}

Runtime::Runtime(std::string chapter, std::string topic)
    : program_("ch" + chapter), app_(fmt::format("minidocker chapter {}: {}", chapter, topic), "ch" + chapter) {
    const char* env_root = std::getenv("MINIDOCKER_ROOT");
    root_dir_ = env_root != nullptr && *env_root != '\0' ? env_root : "/var/lib/minidocker";
    app_.add_option("--root", root_dir_, "Where images, containers and volumes live (env MINIDOCKER_ROOT)")
        ->capture_default_str();
    app_.add_flag("--trace", trace_, "Narrate every kernel-level step to stderr");
    app_.set_version_flag("--version", std::string(MINIDOCKER_VERSION) + " (" + program_ + ")");
    app_.require_subcommand(1);

    run_ = add_command("run", "Run a command in a new container", [this] { return run_container(spec_); });
    run_->parse_complete_callback(
        [this] { spec_.command_after_dashes = !spec_.command.empty() && spec_.command == spec_.after_dashes; });
    // Like `docker run`: options stop at the first word of the command, so
    // `run sh -c 'echo hi'` passes -c to sh. `run -- CMD` works too.
    run_->positionals_at_end();
    run_->set_help_flag("--help", "Print this help and exit");  // -h is --hostname, as in Docker
    run_->add_option("command", spec_.command, "The command and its arguments")->required();
    run_->add_flag("--init", spec_.init, "Run an init as PID 1 that forwards signals and reaps zombies");

    // Every chapter can check the machine for what the course needs.
    add_command("doctor", "Check this machine for what the course needs, and say how to fix what is missing",
                [this] { return report(examine(this_machine(root_dir_)), stdout); });
}

CLI::App* Runtime::add_command(const std::string& name, const std::string& help, std::function<int()> action) {
    CLI::App* sub = app_.add_subcommand(name, help);
    sub->callback([this, action = std::move(action)] {
        trace::enable(trace_);
        exit_code_ = action();
    });
    return sub;
}

void Runtime::parse(int argc, const char* const* argv) {
    // `run -- CMD` (host files, chapters 01-03) and, from chapter 04 on,
    // `run IMAGE CMD` differ only in the "--", which the parser drops:
    // note whether the command is exactly what follows a "--".
    std::vector<std::string> args(argv, argv + argc);
    auto dashes = std::find(args.begin(), args.end(), "--");
    if (dashes != args.end()) {
        spec_.after_dashes.assign(dashes + 1, args.end());
    }
    app_.parse(argc, argv);
}

int Runtime::main(int argc, char** argv) {
    // A closed pipe on our stdout or stderr (`ch06 --trace ... | head`) must
    // be an error we can clean up after, not a signal that kills us halfway.
    // The container's command gets the default back before its execve.
    ::signal(SIGPIPE, SIG_IGN);
    // The last chapter is also installed as `minidocker`: called so, it
    // says so in its messages and help.
    if (argc > 0 && std::string_view(argv[0]).substr(std::string_view(argv[0]).rfind('/') + 1) == "minidocker") {
        program_ = "minidocker";
        app_.name(program_);
    }
    try {
        parse(argc, argv);
        return exit_code_;
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) {
            return app_.exit(e);  // --help, --version
        }
        if (app_.get_subcommands().empty() && !app_.remaining().empty()) {
            fmt::print(stderr, "{}: unknown command \"{}\" (see {} --help)\n", program_, app_.remaining()[0], program_);
            return exit_runtime_failed;
        }
        // Name the subcommand in the hint when the error is about one.
        std::string command = program_;
        for (const CLI::App* sub : app_.get_subcommands()) {
            command += " " + sub->get_name();
        }
        fmt::print(stderr, "{}: {} (see {} --help)\n", program_, e.what(), command);
    } catch (const std::system_error& e) {
        // The most common first failure of all: containers need root.
        bool not_root = e.code().value() == EPERM && ::geteuid() != 0;
        fmt::print(stderr, "{}: {}{}\n", program_, e.what(), not_root ? " (run me as root)" : "");
    } catch (const std::exception& e) {
        fmt::print(stderr, "{}: {}\n", program_, e.what());
    }
    return exit_runtime_failed;
}

void Runtime::at(void (Feature::*moment)(Container&), Container& c) {
    for (auto& f : features_) {
        trace::Owner o(f->tag());
        ((*f).*moment)(c);
    }
}

int Runtime::run_container(Container& c) {
    trace::Owner owner("01 run");
    if (c.init) {
        // The init is this program, running inside the container for as
        // long as it does: from a view of our binary nothing can write to.
        run_from_read_only_binary();
    }
    c.id = random_id();
    c.program = program_;
    c.store_root = root_dir_;
    c.hostname = c.id.substr(0, 12);
    c.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"};
    if (const char* term = std::getenv("TERM")) {
        c.env.push_back(std::string("TERM=") + term);
    }

    // Whatever happens from here on, the features that prepared something
    // undo it (in reverse order) before we return or throw.
    struct CleanupOnExit {
        Runtime& rt;
        Container& c;
        ~CleanupOnExit() { rt.cleanup(c); }
    } cleanup_on_exit{*this, c};

    at(&Feature::begin, c);
    at(&Feature::prepare, c);
    at(&Feature::create, c);

    SignalForwarder signals;
    SyncChannel channel;
    c.pid = clone_child(c, channel, signals);
    std::optional<ChildFailure> failure = start_child(c, channel, signals);
    if (!failure) {
        at(&Feature::started, c);
    }
    int status = signals.wait_for(c.pid);
    if (failure) {
        fmt::print(stderr, "{}: {}\n", program_, failure->message);
        c.exit_code = failure->exit_code;
    } else {
        c.exit_code = exit_code_from_status(status);
    }
    at(&Feature::after_exit, c);
    for (const std::string& note : c.notes) {
        fmt::print(stderr, "{}: {}\n", program_, note);
    }
    return c.exit_code;
}

// The clone: into its v2 cgroup when chapter 02 made one (clone3), else
// plainly. The child never returns from here.
pid_t Runtime::clone_child(Container& c, SyncChannel& channel, const SignalForwarder& signals) {
    c.namespaces = c.clone_flags;
    pid_t pid = -1;
    if (c.cgroup_fd >= 0) {
        pid = clone_process_into(c.clone_flags, c.cgroup_fd, c.cgroup_dir);
        if (pid < 0) {
            c.cgroup_fd = -1;  // an old kernel: the child moves itself in (enter)
        }
    }
    if (pid < 0) {
        pid = clone_process(c.clone_flags);
    }
    if (pid == 0) {
        child(c, channel, signals);  // never returns
    }
    channel.use_as_parent();
    return pid;
}

// From the child's birth to its execvp: returns the child's failure, if
// it had one.
std::optional<ChildFailure> Runtime::start_child(Container& c, SyncChannel& channel, const SignalForwarder& signals) {
    // Two rounds of go: the child enters its cgroups (and narrates that) only
    // after we have narrated its birth; then it makes its root and waits
    // again, before execvp, until every join is done.
    channel.send_go();
    std::optional<ChildFailure> failure = channel.wait_for_ready();
    if (failure) {
        return failure;
    }
    try {
        at(&Feature::join, c);
    } catch (...) {
        ::kill(c.pid, SIGKILL);  // the child has run nothing of the user's yet
        signals.wait_for(c.pid);
        throw;
    }
    channel.send_go();
    return channel.wait_for_exec();
}

namespace {

// --init: we stay PID 1 and the user's command is our child. Every signal
// blocked first, so none is lost before be_init() waits. Returns in the
// command's process only.
void fork_command_under_init(SyncChannel& channel) {
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, nullptr);
    pid_t command = ::fork();
    if (command < 0) {
        throw_errno("fork() the command under --init");
    }
    if (command > 0) {
        trace::step(fmt::format("fork() = {}: --init, we stay PID 1, forward signals and reap", command));
        channel.close();
        be_init(command);  // never returns
    }
}

}  // namespace

void Runtime::child(Container& c, SyncChannel& channel, const SignalForwarder& signals) {
    ChildFailure failure{0, exit_runtime_failed, ""};
    try {
        channel.use_as_child();
        if (!channel.wait_for_go()) {
            ::_exit(exit_runtime_failed);  // the parent is gone
        }
        at(&Feature::enter, c);
        channel.send_ready();
        // While the parent runs its joins (silent: they write the container's
        // records), we make our root; we wait for its "go" only before the
        // user's command, so nothing of the user's runs unrecorded.
        at(&Feature::setup_before_root, c);
        at(&Feature::switch_root, c);
        at(&Feature::setup_after_root, c);
        if (!channel.wait_for_go()) {
            ::_exit(exit_runtime_failed);  // the parent is gone
        }
        if (c.init) {
            fork_command_under_init(channel);
        }

        failure = exec_command(c.command, c.env, signals);  // returns only when execvp failed
    } catch (const std::system_error& e) {
        failure.error = e.code().value();
        failure.message = e.what();
    } catch (const std::exception& e) {
        failure.message = e.what();
    }
    channel.report(failure);
    ::_exit(failure.exit_code);
}

void Runtime::cleanup(Container& c) noexcept {
    for (auto it = features_.rbegin(); it != features_.rend(); ++it) {
        trace::Owner o((*it)->tag());
        (*it)->cleanup(c);
    }
}

}  // namespace minidocker
