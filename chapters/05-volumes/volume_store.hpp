/// \file
/// volume_store.hpp - named and anonymous volumes under `--root`.
///
/// Introduced in chapter 05, used by every later chapter.
///
/// \code{.unparsed}
///   $ROOT/volumes/<name>/_data         what the container sees at its mount point
///   $ROOT/volumes/<name>/volume.json   CreatedAt, Anonymous
///   $ROOT/containers/<id>/mounts.json  which volumes a container uses (Docker's
///                                      "Mounts"), read by `volume rm`
/// \endcode
///
/// \code{.cpp}
///   VolumeStore volumes{rt.root_dir()};
///   bool fresh = volumes.create("data", false);   // true: made just now
///   volumes.remove("data");                       // refused while in use
/// \endcode
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace minidocker {

struct VolumeInfo {
    std::string name;
    std::string mountpoint;  ///< .../volumes/\<name\>/_data
    std::string created;     ///< RFC 3339
    bool anonymous = false;  ///< made for `-v /ctr`, named by a random id
};
void to_json(nlohmann::json& j, const VolumeInfo& v);

/// Docker's rule: a letter or digit, then letters, digits, '_', '.', '-'.
bool valid_volume_name(const std::string& name);

class VolumeStore {
public:
    explicit VolumeStore(const std::string& root);

    std::string volume_dir(const std::string& name) const { return root_ + "/volumes/" + name; }
    std::string data_dir(const std::string& name) const { return volume_dir(name) + "/_data"; }
    /// Makes the volume if it does not exist; true if it was made now.
    /// Throws UsageError for a bad name.
    bool create(const std::string& name, bool anonymous) const;
    std::optional<VolumeInfo> find(const std::string& name) const;
    std::vector<VolumeInfo> list() const;  ///< sorted by name
    /// Ids of the containers whose mounts.json names the volume.
    std::vector<std::string> users(const std::string& name) const;
    /// Deletes it and its data; refuses (UsageError) while a container uses it.
    void remove(const std::string& name) const;

private:
    std::string root_;
};

}  // namespace minidocker
