// store.cpp - see store.hpp.
#include "store.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <set>
#include <tuple>

#include "error.hpp"
#include "layer.hpp"
#include "process.hpp"
#include "state.hpp"
#include "sys.hpp"
#include "trace.hpp"

namespace fs = std::filesystem;

namespace minidocker {

// ---- JSON, with Docker's field names where Docker has them ----

void to_json(nlohmann::json& j, const Image& image) {
    j = {{"name", image.name},
         {"tag", image.tag},
         {"id", image.id},
         {"created", image.created},
         {"comment", image.comment},
         {"layers", image.layers},
         {"config", {{"Cmd", image.config.cmd}, {"Env", image.config.env}, {"WorkingDir", image.config.working_dir}}},
         {"size", image.size},
         {"history", nlohmann::json::array()}};
    for (const HistoryEntry& h : image.history) {
        j["history"].push_back({{"created", h.created},
                                {"created_by", h.created_by},
                                {"comment", h.comment},
                                {"empty_layer", h.empty_layer}});
    }
}

void from_json(const nlohmann::json& j, Image& image) {
    j.at("name").get_to(image.name);
    j.at("tag").get_to(image.tag);
    j.at("id").get_to(image.id);
    image.created = j.value("created", "");
    image.comment = j.value("comment", "");
    j.at("layers").get_to(image.layers);
    const nlohmann::json& config = j.at("config");
    image.config.cmd = config.value("Cmd", std::vector<std::string>{});
    image.config.env = config.value("Env", std::vector<std::string>{});
    image.config.working_dir = config.value("WorkingDir", "");
    image.size = j.value("size", 0ULL);
    for (const nlohmann::json& h : j.value("history", nlohmann::json::array())) {
        image.history.push_back(
            {h.value("created", ""), h.value("created_by", ""), h.value("comment", ""), h.value("empty_layer", false)});
    }
}

void to_json(nlohmann::json& j, const ContainerConfig& c) {
    j = {{"Id", c.id},
         {"Name", c.name},
         {"Image", c.image},
         {"ImageId", c.image_id},
         {"Layers", c.layers},
         {"Cmd", c.command},
         {"Env", c.env},
         {"Hostname", c.hostname},
         {"WorkingDir", c.working_dir},
         {"Created", c.created},
         {"AutoRemove", c.auto_remove}};
}

void from_json(const nlohmann::json& j, ContainerConfig& c) {
    j.at("Id").get_to(c.id);
    j.at("Name").get_to(c.name);
    c.image = j.value("Image", "");
    c.image_id = j.value("ImageId", "");
    c.layers = j.value("Layers", std::vector<std::string>{});
    c.command = j.value("Cmd", std::vector<std::string>{});
    c.env = j.value("Env", std::vector<std::string>{});
    c.hostname = j.value("Hostname", "");
    c.working_dir = j.value("WorkingDir", "");
    c.created = j.value("Created", "");
    c.auto_remove = j.value("AutoRemove", false);
}

void to_json(nlohmann::json& j, const ContainerState& s) {
    j = {{"Status", s.status},        {"Pid", s.pid},
         {"ExitCode", s.exit_code},   {"OOMKilled", s.oom_killed},
         {"StartedAt", s.started_at}, {"FinishedAt", s.finished_at}};
}

void from_json(const nlohmann::json& j, ContainerState& s) {
    s.status = j.value("Status", "created");
    s.pid = j.value("Pid", 0);
    s.exit_code = j.value("ExitCode", 0);
    s.oom_killed = j.value("OOMKilled", false);
    s.started_at = j.value("StartedAt", "");
    s.finished_at = j.value("FinishedAt", "");
}

std::string now_rfc3339() {
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    tm utc{};
    ::gmtime_r(&now.tv_sec, &utc);
    char date[32];
    std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &utc);
    return fmt::format("{}.{:09}Z", date, now.tv_nsec);
}

namespace {

bool valid_name_char(char ch, bool first) {
    bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
    return alnum || (!first && (ch == '.' || ch == '_' || ch == '-'));
}

bool is_hex(const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(),
                                     [](char ch) { return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'); });
}

std::string strip_sha256(const std::string& ref) { return ref.rfind("sha256:", 0) == 0 ? ref.substr(7) : ref; }

std::vector<std::string> list_dir(const std::string& dir) {
    std::vector<std::string> names;
    std::error_code ec;
    for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
        names.push_back(e.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
}

const char* default_path = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

}  // namespace

std::pair<std::string, std::string> parse_image_ref(const std::string& ref) {
    size_t colon = ref.rfind(':');
    std::string name = colon == std::string::npos ? ref : ref.substr(0, colon);
    std::string tag = colon == std::string::npos ? "latest" : ref.substr(colon + 1);
    bool name_ok = !name.empty() && name.size() <= 128 && valid_name_char(name[0], true) &&
                   std::all_of(name.begin(), name.end(), [](char ch) { return valid_name_char(ch, false); });
    if (!name_ok) {
        throw UsageError(fmt::format("invalid image name \"{}\": use lowercase letters, digits, '.', '_', '-'", ref));
    }
    bool tag_ok = !tag.empty() && tag.size() <= 128 && std::all_of(tag.begin(), tag.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-';
    });
    if (!tag_ok) {
        throw UsageError(fmt::format("invalid tag in \"{}\": use letters, digits, '.', '_', '-'", ref));
    }
    return {name, tag};
}

Store::Store(const std::string& root) {
    // What the runtime writes (layers, the init layer, upper/) must not
    // depend on the umask of whoever runs it: 077 would make /etc 0700 and
    // the image's files unreadable to a container's non-root users. Docker
    // does the same; the container's command inherits it, as in Docker.
    ::umask(022);
    for (const char* sub : {"layers", "l", "images", "containers", "names", "tmp"}) {
        std::string dir = root + "/" + sub;
        make_dirs(dir);
        // Root's alone: a layer may hold a set-uid program or a device node
        // that only a container should reach, never a user of the host
        // (Docker's CVE-2021-41091). (Looked at first: a Store is opened
        // several times per start, and a chmod is a journaled write.)
        struct stat st {};
        if (::stat(dir.c_str(), &st) == 0 && (st.st_mode & 07777) == 0700) {
            continue;
        }
        if (::chmod(dir.c_str(), 0700) != 0) {
            throw_errno(fmt::format("chmod(\"{}\", 0700)", dir));
        }
    }
    char real[PATH_MAX];
    if (::realpath(root.c_str(), real) == nullptr) {
        throw_errno(fmt::format("realpath(\"{}\")", root));
    }
    root_ = real;
}

Fd Store::lock() const { return lock_file(root_ + "/lock"); }

std::string Store::temp_dir() const {
    std::string pattern = root_ + "/tmp/XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
        throw_errno(fmt::format("mkdtemp(\"{}\")", pattern));
    }
    ::chmod(pattern.c_str(), 0755);  // it becomes a layer's "/": others may enter
    return pattern;
}

// ---- layers ----

std::string Store::short_link(const std::string& layer_id) const {
    std::string name = "l/" + layer_id.substr(0, 16);
    std::string path = root_ + "/" + name;
    std::string target = "../layers/" + layer_id;
    if (::symlink(target.c_str(), path.c_str()) == 0) {
        return name;
    }
    if (errno != EEXIST) {
        throw_errno(fmt::format("symlink(\"{}\", \"{}\")", target, path));
    }
    char existing[PATH_MAX];
    ssize_t n = ::readlink(path.c_str(), existing, sizeof existing - 1);
    if (n < 0 || std::string(existing, static_cast<size_t>(n)) != target) {
        throw std::runtime_error(fmt::format("{} exists and does not point to {}", path, target));
    }
    return name;
}

std::string Store::add_layer(const std::string& tar_path) const {
    std::string temp = temp_dir();
    std::string id;
    try {
        extract_layer(tar_path, temp);
        id = layer_digest(temp);
    } catch (...) {
        remove_tree(temp);
        throw;
    }
    std::string dest = layer_dir(id);
    if (fs::exists(dest)) {
        remove_tree(temp);  // the same content is there already: share it
    } else {
        sys::rename(temp, dest);
    }
    short_link(id);
    return id;
}

// ---- images ----

std::optional<Image> Store::find_image(const std::string& ref) const {
    if (ref.rfind("sha256:", 0) != 0) {
        auto [name, tag] = parse_image_ref(ref);
        std::string file = root_ + "/images/" + name + ":" + tag + ".json";
        if (fs::exists(file)) {
            return read_json(file).get<Image>();
        }
    }
    // Not a name: an image id, or a unique prefix of one, as Docker allows.
    std::string id = strip_sha256(ref);
    std::optional<Image> found;
    if (is_hex(id)) {
        for (const Image& image : images()) {
            if (image.id.rfind(id, 0) == 0) {
                if (found && found->id != image.id) {
                    throw UsageError(fmt::format("image id prefix \"{}\" is ambiguous", ref));
                }
                found = image;
            }
        }
    }
    return found;
}

Image Store::image(const std::string& ref) const {
    if (std::optional<Image> found = find_image(ref)) {
        return *found;
    }
    if (ref == "busybox" || ref == "busybox:latest") {
        return make_busybox();
    }
    parse_image_ref(ref);  // a clearer message for a malformed name
    throw UsageError(fmt::format("No such image: {} (see `images`; `import TAR|DIR NAME` adds one)", ref));
}

std::vector<Image> Store::images() const {
    std::vector<Image> all;
    for (const std::string& file : list_dir(root_ + "/images")) {
        if (file.size() > 5 && file.substr(file.size() - 5) == ".json") {
            all.push_back(read_json(root_ + "/images/" + file).get<Image>());
        }
    }
    // Not the files' order: "app2:latest.json" sorts before "app:latest.json".
    std::sort(all.begin(), all.end(),
              [](const Image& a, const Image& b) { return std::tie(a.name, a.tag) < std::tie(b.name, b.tag); });
    return all;
}

void Store::save_image(Image& image) const {
    nlohmann::json content = image;
    content.erase("name");
    content.erase("tag");
    content.erase("id");
    image.id = sha256_hex(content.dump());
    write_json_atomic(root_ + "/images/" + image.ref() + ".json", image);
}

Image Store::import(const std::string& source, const std::string& ref, const std::string& base,
                    const std::string& comment) const {
    auto [name, tag] = parse_image_ref(ref);
    Image image;
    if (!base.empty()) {
        image = this->image(base);
    } else {
        image.config.env = {default_path};
    }
    std::string layer;
    std::error_code ec;
    if (fs::is_directory(source, ec)) {
        // A directory goes through the same door as a tar: its canonical
        // tar, extracted with every check.
        std::string tar = temp_dir() + ".tar";
        ::rmdir(tar.substr(0, tar.size() - 4).c_str());
        try {
            write_layer_tar(source, tar);
            layer = add_layer(tar);
        } catch (...) {
            ::unlink(tar.c_str());
            throw;
        }
        ::unlink(tar.c_str());
    } else {
        if (source != "-" && !fs::exists(source, ec)) {
            throw UsageError(fmt::format("import: \"{}\": no such file or directory", source));
        }
        layer = add_layer(source);
    }
    if (std::find(image.layers.begin(), image.layers.end(), layer) != image.layers.end()) {
        throw UsageError(fmt::format("import: \"{}\" is already a layer of {}", source, base));
    }
    image.name = name;
    image.tag = tag;
    image.created = now_rfc3339();
    image.comment = comment;
    image.layers.push_back(layer);
    image.history.push_back({image.created, "import " + source, comment, false});
    image.size += tree_size(layer_dir(layer));
    // The layer's files were written without an fsync each; one syncfs()
    // makes them all durable before the image file that names them is.
    Fd root = open_fd(root_, O_RDONLY | O_DIRECTORY);
    sys::syncfs({root.get(), trace::quote(root_)});
    save_image(image);
    return image;
}

std::vector<std::string> Store::remove_image(const std::string& ref) const {
    std::optional<Image> found = find_image(ref);
    if (!found) {
        throw UsageError(fmt::format("No such image: {}", ref));
    }
    const Image& image = *found;
    for (const ContainerConfig& c : containers()) {
        if (c.image_id == image.id) {
            throw UsageError(
                fmt::format("unable to remove image {}: container {} ({}) uses it; remove it first (rm {})",
                            image.ref(), c.name, c.id.substr(0, 12), c.name));
        }
    }
    std::vector<std::string> lines;
    fs::remove(root_ + "/images/" + image.ref() + ".json");
    lines.push_back("Untagged: " + image.ref());

    // A layer stays while any other image or any container still uses it.
    std::set<std::string> in_use;
    bool image_still_tagged = false;
    for (const Image& other : images()) {
        in_use.insert(other.layers.begin(), other.layers.end());
        image_still_tagged = image_still_tagged || other.id == image.id;
    }
    for (const ContainerConfig& c : containers()) {
        in_use.insert(c.layers.begin(), c.layers.end());
    }
    if (!image_still_tagged) {
        lines.push_back("Deleted: sha256:" + image.id);
    }
    for (const std::string& layer : image.layers) {
        if (in_use.count(layer) == 0) {
            ::unlink((root_ + "/l/" + layer.substr(0, 16)).c_str());
            remove_tree(layer_dir(layer));
            lines.push_back("Deleted: sha256:" + layer);
        }
    }
    return lines;
}

//! [ch04-busybox]
// The built-in image: one layer with the host's static busybox as /bin/busybox,
// a symbolic link per applet (/bin/sh -> busybox), and the top-level
// directories a program expects. Every time is the busybox binary's, so the
// same busybox always makes the same layer id.
Image Store::make_busybox() const {
    const char* env = std::getenv("MINIDOCKER_BUSYBOX");
    std::string busybox = env != nullptr && *env != '\0' ? env : "/bin/busybox";
    struct stat st {};
    if (::stat(busybox.c_str(), &st) != 0) {
        throw UsageError(
            fmt::format("the busybox image is made from the host's static busybox, and {} is missing: apt-get install "
                        "busybox-static",
                        busybox));
    }
    if (!is_static_elf(busybox)) {
        throw UsageError(fmt::format(
            "the busybox image needs a static busybox, and {} is not one: apt-get install busybox-static", busybox));
    }
    trace::step(fmt::format("making the busybox image from {}", busybox));
    std::string dir = temp_dir();
    try {
        for (const char* sub : {"bin", "dev", "etc", "home", "proc", "root", "sys", "tmp", "usr/bin", "var"}) {
            make_dirs(dir + "/" + sub);
        }
        ::chmod((dir + "/tmp").c_str(), 01777);
        ::chmod((dir + "/root").c_str(), 0700);
        fs::copy_file(busybox, dir + "/bin/busybox");
        ::chmod((dir + "/bin/busybox").c_str(), 0755);
        std::unique_ptr<FILE, int (*)(FILE*)> list{::popen((busybox + " --list").c_str(), "re"), ::pclose};
        char applet[256];
        while (list && std::fgets(applet, sizeof applet, list.get()) != nullptr) {
            std::string name = applet;
            name.erase(name.find_last_not_of('\n') + 1);
            if (!name.empty() && name != "busybox" && name.find('/') == std::string::npos) {
                fs::create_symlink("busybox", join_path(dir + "/bin", name));
            }
        }
        write_file_atomic(dir + "/etc/passwd",
                          "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
        write_file_atomic(dir + "/etc/group", "root:x:0:\nnogroup:x:65534:\n");
        timespec times[2] = {st.st_mtim, st.st_mtim};
        for (const fs::directory_entry& e : fs::recursive_directory_iterator(dir)) {
            ::utimensat(AT_FDCWD, e.path().c_str(), times, AT_SYMLINK_NOFOLLOW);
        }
        Image image = import(dir, "busybox:latest", "", "made from " + busybox);
        image.config.cmd = {"sh"};
        image.history.back().created_by = busybox + " and a link per applet";
        save_image(image);
        remove_tree(dir);
        return image;
    } catch (...) {
        remove_tree(dir);
        throw;
    }
}
//! [ch04-busybox]

// ---- containers ----

std::vector<ContainerConfig> Store::containers() const {
    std::vector<ContainerConfig> all;
    for (const std::string& id : list_dir(root_ + "/containers")) {
        try {
            all.push_back(container_config(id));  // also a start killed before its config.json
        } catch (const std::exception&) {
            if (fs::exists(container_dir(id))) {
                throw;
            }
            // removed while we listed
        }
    }
    return all;
}

std::string Store::container_id(const std::string& name_or_id) const {
    char target[PATH_MAX];
    std::string link = root_ + "/names/" + name_or_id;
    ssize_t n = name_or_id.find('/') == std::string::npos ? ::readlink(link.c_str(), target, sizeof target - 1) : -1;
    if (n > 0) {
        std::string id(target, static_cast<size_t>(n));
        if (fs::exists(container_dir(id))) {
            return id;
        }
    }
    if (is_hex(name_or_id)) {
        std::vector<std::string> matches;
        for (const std::string& id : list_dir(root_ + "/containers")) {
            if (id.rfind(name_or_id, 0) == 0) {
                matches.push_back(id);
            }
        }
        if (matches.size() == 1) {
            return matches[0];
        }
        if (matches.size() > 1) {
            throw UsageError(fmt::format("container id prefix \"{}\" is ambiguous", name_or_id));
        }
    }
    throw UsageError(fmt::format("No such container: {}", name_or_id));
}

namespace {

void check_name_syntax(const std::string& name) {
    bool ok = !name.empty() && name.size() <= 128 && std::isalnum(static_cast<unsigned char>(name[0])) &&
              std::all_of(name.begin(), name.end(), [](char ch) {
                  return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-';
              });
    if (!ok) {
        throw UsageError(fmt::format("invalid container name \"{}\": use letters, digits, '.', '_', '-'", name));
    }
}

[[noreturn]] void throw_name_in_use(const std::string& name, const std::string& owner) {
    throw UsageError(fmt::format(
        "the container name \"{}\" is already in use by container {}: remove it (rm {}) or pick another name", name,
        owner.substr(0, 12), name));
}

}  // namespace

void Store::check_name(const std::string& name) const {
    check_name_syntax(name);
    char target[PATH_MAX];
    ssize_t n = ::readlink((root_ + "/names/" + name).c_str(), target, sizeof target - 1);
    std::string owner = n > 0 ? std::string(target, static_cast<size_t>(n)) : "";
    if (!owner.empty() && fs::exists(container_dir(owner))) {
        throw_name_in_use(name, owner);
    }
}

void Store::reserve_name(const std::string& name, const std::string& id) const {
    check_name_syntax(name);
    std::string link = root_ + "/names/" + name;
    for (int attempt = 0; attempt < 2; ++attempt) {
        // symlink() either creates the name or fails with EEXIST, atomically:
        // of two runtimes that want one name, exactly one gets it.
        if (::symlink(id.c_str(), link.c_str()) == 0) {
            return;
        }
        if (errno != EEXIST) {
            throw_errno(fmt::format("symlink(\"{}\", \"{}\")", id, link));
        }
        char target[PATH_MAX];
        ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
        std::string owner = n > 0 ? std::string(target, static_cast<size_t>(n)) : "";
        if (!owner.empty() && fs::exists(container_dir(owner))) {
            throw_name_in_use(name, owner);
        }
        ::unlink(link.c_str());  // left behind by a runtime that died: take it
    }
    throw UsageError(fmt::format("could not take the container name \"{}\"", name));
}

void Store::release_name(const std::string& name) const { ::unlink((root_ + "/names/" + name).c_str()); }

ContainerConfig Store::container_config(const std::string& id) const {
    std::string file = container_dir(id) + "/config.json";
    if (fs::exists(file) || !fs::is_directory(container_dir(id))) {
        return read_json(file).get<ContainerConfig>();
    }
    // A start that was killed before it wrote config.json (or one still
    // writing it): its folder, and maybe its name, are all there is. Enough
    // for `ps -a` to list it and `rm -f` to remove it.
    ContainerConfig c;
    c.id = id;
    for (const std::string& name : list_dir(root_ + "/names")) {
        char target[PATH_MAX];
        ssize_t n = ::readlink((root_ + "/names/" + name).c_str(), target, sizeof target - 1);
        if (n > 0 && std::string(target, static_cast<size_t>(n)) == id) {
            c.name = name;
        }
    }
    return c;
}

ContainerState Store::container_state(const std::string& id) const {
    std::string file = container_dir(id) + "/state.json";
    return fs::exists(file) ? read_json(file).get<ContainerState>() : ContainerState{};
}

// No fsync for a container's files: they describe processes, and after a
// power cut no process of the container is left either (see state.hpp).
void Store::save_container_config(const ContainerConfig& c) const {
    write_json_atomic(container_dir(c.id) + "/config.json", c, Durable::no);
}

void Store::save_container_state(const std::string& id, const ContainerState& s) const {
    write_json_atomic(container_dir(id) + "/state.json", s, Durable::no);
}

void Store::remove_container(const std::string& id) const {
    ContainerState state = container_state(id);
    if (is_running(state)) {
        throw UsageError(fmt::format("cannot remove container {}: it is running (pid {}); stop it first",
                                     id.substr(0, 12), state.pid));
    }
    if (fs::is_directory(container_dir(id))) {
        std::string name = container_config(id).name;
        char target[PATH_MAX];
        std::string link = root_ + "/names/" + name;
        ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
        if (n > 0 && std::string(target, static_cast<size_t>(n)) == id) {
            release_name(name);
        }
    }
    remove_tree(container_dir(id));
}

long seconds_since(const std::string& rfc3339) {
    tm t{};
    if (::strptime(rfc3339.c_str(), "%Y-%m-%dT%H:%M:%S", &t) == nullptr) {
        return -1;
    }
    return std::max(0L, static_cast<long>(std::time(nullptr) - ::timegm(&t)));
}

std::string human_duration(long seconds) {
    auto plural = [](long n, const char* unit) { return fmt::format("{} {}{}", n, unit, n == 1 ? "" : "s"); };
    if (seconds < 1) {
        return "Less than a second";
    }
    if (seconds < 60) {
        return plural(seconds, "second");
    }
    if (seconds < 3600) {
        return plural(seconds / 60, "minute");
    }
    if (seconds < 2L * 86400) {
        return plural(seconds / 3600, "hour");
    }
    return plural(seconds / 86400, "day");
}

std::string human_size(unsigned long long bytes) {
    const char* units[] = {"B", "kB", "MB", "GB", "TB"};
    double size = static_cast<double>(bytes);
    int unit = 0;
    while (size >= 1000 && unit < 4) {
        size /= 1000;
        ++unit;
    }
    return fmt::format("{:.3g}{}", size, units[unit]);
}

bool is_running(const ContainerState& s) { return s.status == "running" && s.pid > 0 && ::kill(s.pid, 0) == 0; }

}  // namespace minidocker
