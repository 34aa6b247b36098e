/// \file
/// store.hpp - what chapter 04 keeps under `--root`: layers, images, containers.
///
/// Introduced in chapter 04, used by every later chapter.
///
/// \code{.unparsed}
///   $ROOT/layers/<id>/           one extracted, read-only layer; id = sha256
///                                of its canonical tar (see layer.hpp)
///   $ROOT/l/<short>              short symbolic link -> ../layers/<id>, so
///                                that a 60-layer lowerdir fits in a page
///   $ROOT/images/<name>:<tag>.json   layer ids (bottom first) + config
///   $ROOT/containers/<id>/       config.json state.json init/ upper/ work/ merged/
///   $ROOT/names/<name>           symbolic link -> the container's id
///   $ROOT/tmp/                   half-made layers; same filesystem, so a
///                                finished one is rename()d into place
///   $ROOT/lock                   flock()ed by whoever changes the store
/// \endcode
///
/// \code{.cpp}
///   Store store{rt.root_dir()};
///   Image img = store.image("busybox");        // made on first use
///   Image mine = store.import("rootfs.tar", "mine:v1", "");
/// \endcode
#pragma once

#include <sys/types.h>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "fd.hpp"

namespace minidocker {

/// What a container made from the image runs, unless told otherwise.
struct ImageConfig {
    std::vector<std::string> cmd;  ///< Cmd
    std::vector<std::string> env;  ///< Env, "K=V"
    std::string working_dir;       ///< WorkingDir; "" is "/"
};

/// One line of `history`: how a layer (or, with empty_layer, only the
/// config) came to be. The OCI image config's "history" entries.
struct HistoryEntry {
    std::string created;     ///< RFC 3339
    std::string created_by;  ///< the command that made it
    std::string comment;     ///< import's or commit's -m
    bool empty_layer = false;
};

struct Image {
    std::string name;                 ///< "busybox"
    std::string tag;                  ///< "latest"
    std::string id;                   ///< sha256 of the image JSON without name/tag
    std::string created;              ///< RFC 3339, UTC
    std::string comment;              ///< import/commit message
    std::vector<std::string> layers;  ///< layer ids, bottom (oldest) first
    ImageConfig config;
    unsigned long long size = 0;        ///< bytes of all layers' files
    std::vector<HistoryEntry> history;  ///< oldest first; one per layer, plus empty_layer ones

    std::string ref() const { return name + ":" + tag; }
};
void to_json(nlohmann::json& j, const Image& image);
void from_json(const nlohmann::json& j, Image& image);

/// "busybox" -> {"busybox", "latest"}; throws UsageError on a bad name or tag.
std::pair<std::string, std::string> parse_image_ref(const std::string& ref);

/// A container as it was created: $ROOT/containers/\<id\>/config.json.
struct ContainerConfig {
    std::string id;
    std::string name;
    std::string image;                ///< as the user typed it
    std::string image_id;             ///< what it resolved to
    std::vector<std::string> layers;  ///< the image's layers, bottom first
    std::vector<std::string> command;
    std::vector<std::string> env;
    std::string hostname;
    std::string working_dir;
    std::string created;
    bool auto_remove = false;  ///< `--rm`
};
void to_json(nlohmann::json& j, const ContainerConfig& c);
void from_json(const nlohmann::json& j, ContainerConfig& c);

/// What happened to it since: $ROOT/containers/\<id\>/state.json.
struct ContainerState {
    std::string status = "created";  ///< created, running, exited
    pid_t pid = 0;
    int exit_code = 0;
    bool oom_killed = false;
    std::string started_at;
    std::string finished_at;
};
void to_json(nlohmann::json& j, const ContainerState& s);
void from_json(const nlohmann::json& j, ContainerState& s);

/// "2026-11-27T23:59:01.123456789Z"
std::string now_rfc3339();
/// Whole seconds from an RFC 3339 time until now; -1 if it does not parse.
long seconds_since(const std::string& rfc3339);
/// "Less than a second", "1 second", "3 minutes", "2 days": as Docker says it.
std::string human_duration(long seconds);
/// "2.17MB": Docker counts in powers of 1000.
std::string human_size(unsigned long long bytes);

/// What lives under `--root` (see the top of this file): layers, images, the
/// containers' records (config.json, state.json) and their names, and the
/// lock that whoever changes them holds. Chapter 04 made it; every later
/// chapter reads and adds through it. A plain value: each command makes its
/// own from the root directory, and the files are the truth, not the object.
class Store {
public:
    /// Creates the directories under `root` if needed; keeps its real path.
    explicit Store(const std::string& root);

    const std::string& root() const { return root_; }
    std::string layer_dir(const std::string& layer_id) const { return root_ + "/layers/" + layer_id; }
    std::string container_dir(const std::string& id) const { return root_ + "/containers/" + id; }

    /// Held while reading-then-changing the store (see the top of the file).
    Fd lock() const;

    // ---- layers and images ----
    /// "l/<short>", relative to root(): the short name of a layer for
    /// overlayfs' lowerdir. Made on first use.
    std::string short_link(const std::string& layer_id) const;

    /// Extracts a tar into a new layer; returns its id. When a layer with the
    /// same content exists, the copy is dropped and that id is returned.
    std::string add_layer(const std::string& tar_path) const;

    /// Reference "name[:tag]" or an image id (or a unique prefix of one).
    /// "busybox" is made from the host's static busybox on first use.
    std::optional<Image> find_image(const std::string& ref) const;
    Image image(const std::string& ref) const;  ///< throws UsageError "No such image"
    std::vector<Image> images() const;          ///< sorted by name, tag
    void save_image(Image& image) const;        ///< sets image.id

    /// `import TAR|DIR NAME[:TAG]`, on top of `base`'s layers when not "".
    Image import(const std::string& source, const std::string& ref, const std::string& base,
                 const std::string& comment) const;

    /// `rmi`: untags the image and deletes the layers nothing else uses.
    /// Returns Docker's lines ("Untagged: busybox:latest", "Deleted: <id>").
    std::vector<std::string> remove_image(const std::string& ref) const;

    // ---- containers ----
    std::vector<ContainerConfig> containers() const;
    /// By name, id, or unique id prefix; throws UsageError "No such container".
    std::string container_id(const std::string& name_or_id) const;
    /// Takes the name for the container `id`; throws UsageError when another
    /// container has it (two runtimes racing for a name: one wins).
    void reserve_name(const std::string& name, const std::string& id) const;
    /// What reserve_name() would refuse (an invalid name, or one a container
    /// has), checked before anything is made; the race is reserve_name()'s.
    void check_name(const std::string& name) const;
    void release_name(const std::string& name) const;

    ContainerConfig container_config(const std::string& id) const;
    ContainerState container_state(const std::string& id) const;
    void save_container_config(const ContainerConfig& c) const;
    void save_container_state(const std::string& id, const ContainerState& s) const;
    /// Deletes its directory and its name. Refuses a running container.
    void remove_container(const std::string& id) const;

private:
    Image make_busybox() const;
    std::string temp_dir() const;  ///< a fresh dir under tmp/

    std::string root_;
};

/// True while `s` says running and its process is still alive.
bool is_running(const ContainerState& s);

}  // namespace minidocker
