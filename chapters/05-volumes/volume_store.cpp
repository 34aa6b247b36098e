// volume_store.cpp - see volume_store.hpp.
#include "volume_store.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <filesystem>

#include "error.hpp"
#include "state.hpp"
#include "store.hpp"
#include "sys.hpp"

namespace fs = std::filesystem;

namespace minidocker {

void to_json(nlohmann::json& j, const VolumeInfo& v) {
    j = {{"Name", v.name},         {"Driver", "local"}, {"Mountpoint", v.mountpoint},
         {"CreatedAt", v.created}, {"Scope", "local"},  {"Anonymous", v.anonymous}};
}

bool valid_volume_name(const std::string& name) {
    return !name.empty() && name.size() <= 255 && std::isalnum(static_cast<unsigned char>(name[0])) &&
           std::all_of(name.begin(), name.end(), [](char ch) {
               return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.' || ch == '-';
           });
}

VolumeStore::VolumeStore(const std::string& root) : root_(Store(root).root()) {
    make_dirs(root_ + "/volumes");
    // Root's alone, as the layers: a volume may hold a container's set-uid files.
    if (::chmod((root_ + "/volumes").c_str(), 0700) != 0) {
        throw_errno(fmt::format("chmod(\"{}/volumes\", 0700)", root_));
    }
}

bool VolumeStore::create(const std::string& name, bool anonymous) const {
    if (!valid_volume_name(name)) {
        throw UsageError(fmt::format("invalid volume name \"{}\": use letters, digits, '_', '.', '-'", name));
    }
    std::string dir = root_ + "/volumes/" + name;
    // mkdir() is atomic: of two runtimes creating one volume, one makes it.
    if (!sys::mkdir_if_missing(dir, 0755)) {
        return false;
    }
    sys::mkdir(dir + "/_data", 0755);
    write_json_atomic(dir + "/volume.json", {{"CreatedAt", now_rfc3339()}, {"Anonymous", anonymous}});
    return true;
}

std::optional<VolumeInfo> VolumeStore::find(const std::string& name) const {
    std::string dir = root_ + "/volumes/" + name;
    if (!valid_volume_name(name) || !fs::is_directory(dir)) {
        return std::nullopt;
    }
    VolumeInfo info{name, data_dir(name), "", false};
    if (fs::exists(dir + "/volume.json")) {
        nlohmann::json j = read_json(dir + "/volume.json");
        info.created = j.value("CreatedAt", "");
        info.anonymous = j.value("Anonymous", false);
    }
    return info;
}

std::vector<VolumeInfo> VolumeStore::list() const {
    std::vector<std::string> names;
    for (const fs::directory_entry& e : fs::directory_iterator(root_ + "/volumes")) {
        names.push_back(e.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    std::vector<VolumeInfo> all;
    for (const std::string& name : names) {
        if (std::optional<VolumeInfo> v = find(name)) {
            all.push_back(*v);
        }
    }
    return all;
}

std::vector<std::string> VolumeStore::users(const std::string& name) const {
    std::vector<std::string> ids;
    for (const fs::directory_entry& e : fs::directory_iterator(root_ + "/containers")) {
        std::string file = e.path().string() + "/mounts.json";
        if (!fs::exists(file)) {
            continue;
        }
        for (const nlohmann::json& m : read_json(file)) {
            if (m.value("Type", "") == "volume" && m.value("Name", "") == name) {
                ids.push_back(e.path().filename().string());
                break;  // one id per container, however many of its mounts
            }
        }
    }
    std::sort(ids.begin(), ids.end());  // so `volume rm` names the same one each time
    return ids;
}

void VolumeStore::remove(const std::string& name) const {
    if (!find(name)) {
        throw UsageError(fmt::format("No such volume: {}", name));
    }
    std::vector<std::string> ids = users(name);
    if (!ids.empty()) {
        throw UsageError(
            fmt::format("volume {} is in use by container {}: remove it first (rm)", name, ids[0].substr(0, 12)));
    }
    remove_tree(root_ + "/volumes/" + name);
}

}  // namespace minidocker
