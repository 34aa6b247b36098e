/// \file
/// overlay.hpp - chapter 04's feature (Images): containers start from images.
///
/// An image is a stack of read-only layers, shared by every container made
/// from it. overlayfs shows the stack as one directory tree: reads fall
/// through to the highest layer that has the file; a write copies the file up
/// into the container's own read-write layer first; a deletion leaves a
/// "whiteout" there. Between the two, the runtime puts the *init layer*: the
/// files every container needs its own copy of (/etc/hostname, /etc/hosts,
/// /etc/resolv.conf) and empty mount points, written before the start.
///
/// \code{.unparsed}
///   ch04 run [--name N] [--rm] IMAGE [CMD...]     e.g. run --rm busybox ls /
///   ch04 images | import TAR|DIR NAME[:TAG] | rmi IMAGE | rm NAME | diff NAME
/// \endcode
///
/// $ROOT/containers/\<id\>/ holds init/ upper/ work/ merged/ and the container's
/// config.json and state.json; it stays after exit (see `diff`) until `rm`,
/// or goes at once with `--rm`. The forms of chapters 01-03 still work and use
/// no image: `run -- CMD`, `run --rootfs DIR -- CMD`.
///
/// Moments (see common/runtime.hpp):
/// \code{.unparsed}
///   prepare            resolve the image; make the container's directory;
///                      write the init layer; Container::rootfs = merged/
///   join               state.json: running, with the pid
///   setup_before_root  mount the overlay on merged/ (in the container's own
///                      mount namespace: it goes away with the container)
///   setup_after_root   cd to the image's WorkingDir
///   after_exit         state.json: exited, with the exit code (not --rm)
///   cleanup            with --rm (or when the start failed): remove it all
/// \endcode
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "runtime.hpp"
#include "store.hpp"

namespace minidocker {

/// Writes the init layer into the empty directory `dir`: the container's
/// own /etc/hostname, /etc/hosts, /etc/resolv.conf and /etc/mtab, and an
/// empty directory for each of /proc, /sys and /dev that the image lacks.
/// `image_layers`: the image's layer directories, top first.
void write_init_layer(const std::string& dir, const std::string& hostname, const std::string& host_resolv_conf,
                      const std::vector<std::string>& image_layers);

/// The overlayfs mount options. `lowers` top first; all paths as the kernel
/// will resolve them (here: relative to $ROOT). `volatile_upper`: upper/ is
/// thrown away after (`--rm`), so the kernel need not sync it. Throws when
/// they do not fit in the one page the kernel copies (too many layers).
std::string overlay_options(const std::vector<std::string>& lowers, const std::string& upper, const std::string& work,
                            bool volatile_upper = false);

/// What `docker diff` shows: each path the container added (A), changed (C)
/// or deleted (D), read from its upper layer. `lowers`: init layer and image
/// layers, top first.
struct Change {
    char kind;         ///< 'A', 'C' or 'D'
    std::string path;  ///< "/etc/hosts"
};
std::vector<Change> container_changes(const std::string& upper, const std::vector<std::string>& lowers);

/// Chapter 04's feature: owns images and the containers made from them:
/// `run IMAGE`, `--name`, `--rm`, the container's records in the Store
/// (config.json, state.json) and the `images`, `import`, `rmi`, `rm` and
/// `diff` commands. At prepare (host) it resolves the image, makes the
/// container's folder (Container::dir) and init layer; at join and
/// after_exit it writes state.json; in the child, at setup_before_root, it
/// mounts the overlay; at cleanup, with `--rm`, the folder goes.
class Images : public Feature {
public:
    Images() : Feature("04 overlay") {}

    void add_run_options(CLI::App& run) override;
    void add_commands(Runtime& rt) override;  ///< in image_commands.cpp
    void prepare(Container& c) override;
    void join(Container& c) override;
    void setup_before_root(Container& c) override;
    void setup_after_root(Container& c) override;
    void after_exit(Container& c) override;
    void cleanup(Container& c) noexcept override;

private:
    void describe(const Container& c, const Image& image);  ///< config_
    void make_container_dir(Container& c);
    void stack_layers(const Container& c);  ///< the init layer; options_

    std::string name_;          ///< `--name`
    bool auto_remove_ = false;  ///< `--rm`

    /// The container being started, when it comes from an image.
    std::optional<Store> store_;
    ContainerConfig config_;
    ContainerState state_;  ///< as state.json says it, from join on
    std::string options_;   ///< for mount("overlay", ...)
    bool name_taken_ = false;
    bool started_ = false;
};

}  // namespace minidocker
