/// \file
/// volumes.hpp - chapter 05's feature: host directories and volumes inside.
///
/// A volume is a bind mount: a directory (or file) of the host, shown at a
/// path in the container. The whole trick is *when* it is made: in the
/// container's process, after it has its own mount namespace (so the host's
/// mount table never sees it) and after its root filesystem is mounted, but
/// before pivot_root (so the host path can still be named). After the switch
/// the host's tree is gone, and the volume is the one way in.
///
/// \code{.unparsed}
///   ch05 run -v /home:/test busybox ls /test       a host directory (or file)
///   ch05 run -v /home:/test:ro busybox ...         ... read-only
///   ch05 run -v data:/var/lib/app busybox ...      a named volume, made on first
///                                                  use; filled from the image's files
///                                                  there while it is empty
///   ch05 run -v /scratch busybox ...               an anonymous volume
///   ch05 volume create|ls|inspect|rm
/// \endcode
///
/// Moments (see common/runtime.hpp):
/// \code{.unparsed}
///   prepare            parse every -v (bad input: nothing is created), check the
///                      host paths, make named/anonymous volumes, write mounts.json
///   setup_before_root  fill an empty volume from the image; make the mount point
///                      inside the rootfs (never following a symbolic link out
///                      of it); bind; make it read-only with :ro
///   cleanup            with --rm, remove the container's anonymous volumes
/// \endcode
#pragma once

#include <string>
#include <vector>

#include "fd.hpp"
#include "runtime.hpp"

namespace minidocker {

struct VolumeSpec {
    enum class Kind { bind, named, anonymous };
    Kind kind = Kind::bind;
    std::string source;  ///< bind: the host path; named: the volume's name
    std::string target;  ///< the absolute path in the container
    bool read_only = false;
};

/// "-v" as Docker reads it: HOST:CTR[:ro|rw] (HOST absolute), NAME:CTR[:ro|rw],
/// or CTR alone. Throws UsageError with one clear line for anything else.
VolumeSpec parse_volume(const std::string& arg);

/// Opens `target` (absolute, as the container sees it) inside the root
/// filesystem `root_fd`, making the directories (and, unless `directory`,
/// the final file) that are missing. Symbolic links are followed as the
/// container would follow them: never out of its root (openat2
/// RESOLVE_IN_ROOT). Returns an O_PATH descriptor of the mount point.
Fd open_volume_target(int root_fd, const std::string& target, bool directory);

/// Copies the tree under `from` into `to` (both directory descriptors), with
/// modes, owners, times and symbolic links, as `cp -a` does.
void copy_tree(int from, int to);

/// Chapter 05's feature: owns `-v` and the `volume` commands. At begin and
/// prepare (host) it checks every -v, makes named and anonymous volumes and
/// writes them into the container's mounts.json; at setup_before_root (in
/// the child, before pivot_root) it fills empty volumes from the image and
/// binds each one; at cleanup, with `--rm`, its anonymous volumes go.
class Volumes : public Feature {
public:
    Volumes() : Feature("05 volumes") {}

    void add_run_options(CLI::App& run) override;
    void add_commands(Runtime& rt) override;  ///< in volume_commands.cpp
    void begin(Container& c) override;
    void prepare(Container& c) override;
    void setup_before_root(Container& c) override;
    void cleanup(Container& c) noexcept override;

private:
    struct Mount {
        VolumeSpec spec;
        std::string name;    ///< of the volume, for named and anonymous ones
        std::string source;  ///< the host path that gets bound
        bool directory = true;
        bool fill = false;  ///< an empty volume: copy the image's files into it
    };

    /// setup_before_root's last step, in the child, for each volume.
    void bind_volume(const Fd& root, const Mount& m);

    std::vector<std::string> args_;  ///< each -v
    std::vector<Mount> mounts_;
};

}  // namespace minidocker
