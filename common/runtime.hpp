/// \file
/// runtime.hpp - the skeleton every chapter's program is built on.
///
/// Introduced in chapter 01, used by every chapter. A chapter's main() builds a
/// Runtime, adds one Feature per chapter so far, and hands over argv:
///
/// \code{.cpp}
///   int main(int argc, char** argv) {
///       minidocker::Runtime rt{"01", "namespaces"};
///       rt.add<Namespaces>();   // 01
///       return rt.main(argc, argv);
///   }
/// \endcode
///
/// `run` walks a container start through fixed moments, calling every feature
/// at each moment in the order they were added (cleanup in reverse):
///
/// \code{.unparsed}
///   begin              host, first of all    (chapter 06: fork the monitor)
///   prepare            host, before clone    (check limits, make the container's folder...)
///   create             host, after every prepare (make the cgroups)
///   clone              host                  clone() with Container::clone_flags, or
///                                            clone3() into Container::cgroup_fd
///   enter              child, first of all   (move itself into its v1 cgroups); then "ready"
///   join               host, once it is ready (record its pid; then "go"); silent,
///                      as the child's set-up runs meanwhile
///   setup_before_root  child, before the root switch (bind volumes)
///   switch_root        child                 (pivot_root)
///   setup_after_root   child, after it       (mount /proc, sethostname)
///   exec               child, after "go"     execvp(): the command becomes PID 1
///   started            host                  the command is running (execvp succeeded)
///   wait               host                  reap; Container::exit_code is set
///   after_exit         host                  (was it OOM-killed? its cgroups go)
///   cleanup            host, reverse order   (what a failed start left, the folder with --rm)
/// \endcode
///
/// In the child nothing throws across the clone: the Runtime catches, sends the
/// failure to the parent over the SyncChannel, and _exits.
#pragma once

#include <sys/types.h>
#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace minidocker {

/// What the features know about the container being started. Each feature
/// reads what earlier ones wrote and adds its part: a fact one feature
/// learns, a later one reads here, never again from disk or the kernel.
struct Container {
    std::string id;                         ///< 64 hex digits, random
    std::string program;                    ///< how messages name us: "ch06", or "minidocker"
    std::string store_root;                 ///< `--root`: where images, containers, volumes live
    std::vector<std::string> command;       ///< argv of the user's command
    bool command_after_dashes = false;      ///< it was given as `run [OPTIONS] -- CMD...`
    std::vector<std::string> after_dashes;  ///< (what followed "--" on the command line)
    std::vector<std::string> env;           ///< its environment, "K=V"
    std::string hostname;                   ///< for the UTS namespace
    std::string rootfs;                     ///< the root filesystem (chapter 03 on); empty: the host's
    unsigned long clone_flags = 0;          ///< CLONE_NEW* flags for clone()
    /// CLONE_NEW* of the namespaces it has of its own: clone_flags at the
    /// clone, plus any the child makes after it (chapter 02: cgroup).
    unsigned long namespaces = 0;
    int cgroup_fd = -1;              ///< a cgroup v2 directory the child is born in; -1: none
    std::string cgroup_dir;          ///< (its path, for the trace)
    bool init = false;               ///< --init: the runtime stays PID 1, the command is its child
    std::string dir;                 ///< its records, $ROOT/containers/\<id\> (chapter 04); "": no image
    bool auto_remove = false;        ///< `--rm`: its records go when it exits (chapter 04)
    pid_t pid = -1;                  ///< the container's PID 1, as the host sees it
    int exit_code = -1;              ///< after wait: Docker-style exit code
    bool oom_killed = false;         ///< after exit: the OOM killer killed a process of it
    std::vector<std::string> notes;  ///< after exit: lines the runtime prints to stderr
};

class Runtime;
class SyncChannel;
class SignalForwarder;
struct ChildFailure;

/// One chapter's idea, as the Runtime sees it: options of `run`, subcommands,
/// and actions at the moments of a container start (listed at the top of
/// runtime.hpp), each a virtual function that does nothing unless
/// overridden. A chapter adds one Feature subclass; main() adds one per
/// chapter so far, with Runtime::add(). Features learn about the container
/// being started only from the Container they are handed, and keep no
/// pointer to the Runtime. The tag, "03 rootfs", prefixes the feature's
/// `--trace` lines.
class Feature {
public:
    /// tag: the trace prefix, "01 namespaces".
    explicit Feature(std::string tag) : tag_(std::move(tag)) {}
    virtual ~Feature() = default;
    Feature(const Feature&) = delete;
    Feature& operator=(const Feature&) = delete;

    const std::string& tag() const { return tag_; }

    /// Command line: options of `run`, and whole new subcommands. A
    /// command's action may keep `rt` (to ask root_dir() and program() when it
    /// runs); a feature does not: its moments find all in the Container.
    virtual void add_run_options(CLI::App& /*run*/) {}
    virtual void add_commands(Runtime& /*rt*/) {}

    /// The moments of a container start (see the top of this file).
    virtual void begin(Container& /*c*/) {}
    virtual void prepare(Container& /*c*/) {}
    virtual void create(Container& /*c*/) {}
    /// Child, right after clone, while the parent waits for its "ready".
    virtual void enter(Container& /*c*/) {}
    virtual void join(Container& /*c*/) {}
    virtual void setup_before_root(Container& /*c*/) {}
    virtual void switch_root(Container& /*c*/) {}
    virtual void setup_after_root(Container& /*c*/) {}
    /// Host, once the user's command is running (its execvp succeeded).
    virtual void started(Container& /*c*/) {}
    /// Host, after the container exited; may set notes ("OOM-killed").
    virtual void after_exit(Container& /*c*/) {}
    /// Host, after wait, and also when a later moment failed. Must not throw.
    virtual void cleanup(Container& /*c*/) noexcept {}

private:
    std::string tag_;
};

/// One chapter's program: the command line (CLI11, with `--root`, `--trace`,
/// and the subcommands `run` and `doctor`), the features added so far, and
/// the walk of a container start through the moments (run_container()).
/// Every chapter's main() makes one, adds the features in chapter order, and
/// returns main(argc, argv). Runtime::main() is the one place that catches:
/// any exception becomes one line on stderr, "ch03: ...", and exit code 125.
class Runtime {
public:
    /// chapter: "01"; topic: "namespaces". The program is called "ch01".
    Runtime(std::string chapter, std::string topic);

    template <class F>
    F& add() {
        auto feature = std::make_unique<F>();
        F& ref = *feature;
        features_.push_back(std::move(feature));
        ref.add_run_options(*run_);
        ref.add_commands(*this);
        return ref;
    }

    /// Parses argv and runs the chosen subcommand (CLI11 callbacks); throws
    /// CLI::ParseError and whatever the subcommand throws.
    void parse(int argc, const char* const* argv);

    /// Parses argv, runs the chosen subcommand, returns the exit code.
    /// Prints errors as one line: "ch01: <what went wrong>".
    int main(int argc, char** argv);

    /// A subcommand whose action returns the program's exit code.
    CLI::App* add_command(const std::string& name, const std::string& help, std::function<int()> action);

    CLI::App& app() { return app_; }
    const Container& spec() const { return spec_; }  ///< what `run`'s options say
    const std::string& program() const { return program_; }
    const std::string& root_dir() const { return root_dir_; }

    /// Starts the container described by `c` and waits for it: the moments.
    int run_container(Container& c);

private:
    /// Calls `moment` of every feature, in the order they were added.
    void at(void (Feature::*moment)(Container&), Container& c);
    pid_t clone_child(Container& c, SyncChannel& channel, const SignalForwarder& signals);
    std::optional<ChildFailure> start_child(Container& c, SyncChannel& channel, const SignalForwarder& signals);
    [[noreturn]] void child(Container& c, SyncChannel& channel, const SignalForwarder& signals);
    void cleanup(Container& c) noexcept;

    std::string program_;
    CLI::App app_;
    CLI::App* run_ = nullptr;
    std::string root_dir_;
    bool trace_ = false;
    Container spec_;  ///< what `run`'s options describe
    int exit_code_ = 0;
    std::vector<std::unique_ptr<Feature>> features_;
};

/// 64 random hex digits, the way Docker names containers.
std::string random_id();

}  // namespace minidocker
