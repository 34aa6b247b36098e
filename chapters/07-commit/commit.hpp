/// \file
/// commit.hpp - chapter 07's feature: commit, the read-write layer becomes an
/// image layer.
///
/// A container's files are the image's read-only layers, chapter 04's init
/// layer, and the container's own read-write layer (upper/) on top: every
/// file the container wrote, and a mark for every file it deleted. `commit`
/// copies that one directory into a new layer and names an image that is the
/// old image's layers (shared, not copied) plus the new one. The init layer
/// (the container's /etc/hosts, /etc/hostname...) is not part of it, nor are
/// volumes: they were never in upper/.
///
/// \code{.unparsed}
///   ch07 commit [-m MSG] [-c 'CMD ["sh"]'] [--pause=false] NAME IMAGE[:TAG]
///   ch07 history IMAGE
///   ch07 save IMAGE... -o FILE       an OCI image layout tar (oci_archive.hpp)
///   ch07 load -i FILE
/// \endcode
///
/// No moments of `run`: commit works on containers that exist.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "runtime.hpp"
#include "store.hpp"

namespace minidocker {

/// How far a copy got: for the progress line, and the trace.
struct CopyStats {
    unsigned long long entries = 0;   ///< files, directories, links, marks copied
    unsigned long long bytes = 0;     ///< of regular files
    unsigned long long left_out = 0;  ///< init layer files and sockets, not copied
};
using CopyProgress = std::function<void(const CopyStats&)>;

/// Copies the read-write layer `upper` into the empty directory `dest`, as
/// a layer: owners, modes, times, extended attributes (the opaque mark
/// among them), hard links, device nodes and deletion marks (character
/// devices 0/0) as they are. What is a file (not a directory) of the init
/// layer `init` is left out: it says who the old container was.
CopyStats copy_layer(const std::string& upper, const std::string& init, const std::string& dest,
                     const CopyProgress& progress = nullptr);

/// The id copy_layer(upper, init, dest) gives the new layer
/// (layer_digest(dest)), taken from upper/ itself: commit takes it while
/// the copy runs, when nothing writes to upper/.
std::string upper_layer_digest(const std::string& upper, const std::string& init);

/// Docker's `commit --change`, for the instructions an image config has
/// here: `CMD ["sh", "-c", "x"]` or `CMD sh -c x` (run by /bin/sh -c),
/// `ENV K=V` (or `ENV K V`), `WORKDIR /dir`. Throws UsageError otherwise.
void apply_change(ImageConfig& config, const std::string& change);

struct CommitRequest {
    std::string container;             ///< name or id
    std::string ref;                   ///< NAME[:TAG] of the new image
    std::string message;               ///< -m
    std::vector<std::string> changes;  ///< -c
    bool pause = true;                 ///< freeze the container while copying
    bool progress = false;             ///< a progress line on stderr
};

/// Makes the image: freeze, copy upper/ into a new layer, thaw, name it.
Image commit_container(const Store& store, const CommitRequest& request);

/// Chapter 07's feature: owns `commit`, `history`, `save` and `load`. It
/// acts at no moment of `run`: it works on containers and images that
/// exist, through the Store.
class Commit : public Feature {
public:
    Commit() : Feature("07 commit") {}
    void add_commands(Runtime& rt) override;  ///< in commit_commands.cpp
};

}  // namespace minidocker
