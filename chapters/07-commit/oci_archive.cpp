// oci_archive.cpp - see oci_archive.hpp. Chapter 07: `save` and `load`.
//
// The tar is libarchive's, the digests OpenSSL's, the JSON nlohmann's. What
// is ours: which blobs an image is made of, and, on the way in, the checks
// that an archive from anywhere can only add layers and images to the store
// (no entry name is ever used as a path, every blob's digest is verified,
// every layer goes through chapter 04's extract_layer).
#include "oci_archive.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <utility>

#include "archive_ptr.hpp"
#include "error.hpp"
#include "fd.hpp"
#include "layer.hpp"
#include "state.hpp"
#include "sys.hpp"
#include "trace.hpp"

namespace minidocker {

namespace {

// ---- the words of the format ----

constexpr const char* oci_index = "application/vnd.oci.image.index.v1+json";
constexpr const char* oci_manifest = "application/vnd.oci.image.manifest.v1+json";
constexpr const char* oci_config = "application/vnd.oci.image.config.v1+json";
constexpr const char* oci_layer_tar = "application/vnd.oci.image.layer.v1.tar";
constexpr const char* docker_manifest_list = "application/vnd.docker.distribution.manifest.list.v2+json";
constexpr const char* docker_manifest = "application/vnd.docker.distribution.manifest.v2+json";
constexpr const char* docker_config = "application/vnd.docker.container.image.v1+json";

constexpr const char* name_annotation = "io.containerd.image.name";          // "web:v1"
constexpr const char* ref_annotation = "org.opencontainers.image.ref.name";  // "v1"

// Manifests, indexes and configs are read into memory: a hostile archive
// must not make us read gigabytes of "JSON". Registries take at most 4 MiB.
constexpr off_t max_json_size = 8 << 20;

bool is_index_type(const std::string& type) { return type == oci_index || type == docker_manifest_list; }
bool is_manifest_type(const std::string& type) { return type == oci_manifest || type == docker_manifest; }
bool is_config_type(const std::string& type) { return type == oci_config || type == docker_config; }

// The layer tars extract_layer() reads: plain, gzip or zstd (it sniffs
// which). Not Windows' "foreign" layers, nor anything that is not a tar.
bool is_layer_type(const std::string& type) {
    return type == oci_layer_tar || type == "application/vnd.oci.image.layer.v1.tar+gzip" ||
           type == "application/vnd.oci.image.layer.v1.tar+zstd" ||
           type == "application/vnd.docker.image.rootfs.diff.tar.gzip";
}

// OCI names architectures as Go does (GOARCH), not as the kernel does.
std::string oci_architecture() {
    utsname host{};
    ::uname(&host);
    static const std::map<std::string, std::string> go_names = {
        {"x86_64", "amd64"}, {"aarch64", "arm64"},   {"armv7l", "arm"},  {"i686", "386"},
        {"i386", "386"},     {"ppc64le", "ppc64le"}, {"s390x", "s390x"}, {"riscv64", "riscv64"}};
    auto found = go_names.find(host.machine);
    return found != go_names.end() ? found->second : std::string(host.machine);
}

bool is_sha256_hex(const std::string& s) {
    return s.size() == 64 && std::all_of(s.begin(), s.end(),
                                         [](char ch) { return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'); });
}

// ---- small tools ----

// A fresh directory under the store's tmp/, removed with all it holds when
// it goes out of scope: after success and after any failure alike.
class ScratchDir {
public:
    explicit ScratchDir(const Store& store) : path_(store.root() + "/tmp/XXXXXX") {
        if (::mkdtemp(path_.data()) == nullptr) {
            throw_errno(fmt::format("mkdtemp(\"{}\")", path_));
        }
    }
    ~ScratchDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

void write_all(int fd, const void* data, size_t size, const std::string& file) {
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
        ssize_t n = ::write(fd, p, size);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            throw_errno(fmt::format("write(\"{}\")", file));
        }
        p += n;
        size -= static_cast<size_t>(n);
    }
}

// ---- save ----

// One blob of the archive: its bytes are in `file` (a layer tar) or in
// `content` (a JSON document).
struct Blob {
    std::string digest;  // "sha256:<64 hex>"
    unsigned long long size = 0;
    std::string file;
    std::string content;
};

Blob json_blob(const nlohmann::json& document) {
    std::string text = document.dump();
    return {"sha256:" + sha256_hex(text), text.size(), "", text};
}

nlohmann::json descriptor(const char* media_type, const Blob& blob) {
    return {{"mediaType", media_type}, {"digest", blob.digest}, {"size", blob.size}};
}

//! [ch07-layer-blob]
// A tar entry's header holds its size, so the data must be known before it
// is written: the layer's canonical tar goes to `file` first, and its digest
// is taken on the way (it is the layer id when the layer came from our own
// tars, but nothing here depends on that).
Blob write_layer_blob(const Store& store, const std::string& layer_id, const std::string& file) {
    Fd fd = open_fd(file, O_WRONLY | O_CREAT | O_EXCL, 0600);
    Sha256 sha;
    unsigned long long size = 0;
    write_layer_tar(store.layer_dir(layer_id), [&](const void* data, size_t n) {
        sha.update(data, n);
        size += n;
        write_all(fd.get(), data, n, file);
    });
    return {"sha256:" + sha.hex(), size, file, ""};
}
//! [ch07-layer-blob]

// Every entry is root's, dated 1970: the same images make the same archive.
Entry new_entry(const std::string& name, mode_t type, mode_t perm) {
    Entry e{archive_entry_new()};
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_filetype(e.get(), type);
    archive_entry_set_perm(e.get(), perm);
    archive_entry_set_uid(e.get(), 0);
    archive_entry_set_gid(e.get(), 0);
    archive_entry_set_mtime(e.get(), 0, 0);
    return e;
}

void write_header(archive* out, archive_entry* entry) {
    if (archive_write_header(out, entry) < ARCHIVE_WARN) {
        throw std::runtime_error(
            fmt::format("save: \"{}\": {}", archive_entry_pathname(entry), archive_error_string(out)));
    }
}

void write_data(archive* out, const void* data, size_t size) {
    if (archive_write_data(out, data, size) < 0) {
        throw std::runtime_error(fmt::format("save: {}", archive_error_string(out)));
    }
}

void add_directory(archive* out, const std::string& name) {
    Entry e = new_entry(name, AE_IFDIR, 0755);
    write_header(out, e.get());
}

void add_file(archive* out, const std::string& name, const Blob& blob) {
    Entry e = new_entry(name, AE_IFREG, 0644);
    archive_entry_set_size(e.get(), static_cast<la_int64_t>(blob.size));
    write_header(out, e.get());
    if (blob.file.empty()) {
        write_data(out, blob.content.data(), blob.content.size());
        return;
    }
    Fd fd = open_fd(blob.file, O_RDONLY);
    char buf[64 * 1024];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            throw_errno(fmt::format("read(\"{}\")", blob.file));
        }
        if (n == 0) {
            return;
        }
        write_data(out, buf, static_cast<size_t>(n));
    }
}

// The whole layout, to the open file `fd`.
void write_layout(int fd, const nlohmann::json& index, const std::vector<Blob>& blobs) {
    WriteArchive out{archive_write_new()};
    archive_write_set_format_pax_restricted(out.get());
    // libarchive pads the last block of a pipe, not of a file: no padding,
    // so the same images are the same bytes wherever they are written.
    archive_write_set_bytes_in_last_block(out.get(), 1);
    if (archive_write_open_fd(out.get(), fd) != ARCHIVE_OK) {
        throw std::runtime_error(fmt::format("save: {}", archive_error_string(out.get())));
    }
    add_file(out.get(), "oci-layout", json_blob({{"imageLayoutVersion", "1.0.0"}}));
    add_file(out.get(), "index.json", json_blob(index));
    add_directory(out.get(), "blobs/");
    add_directory(out.get(), "blobs/sha256/");
    for (const Blob& blob : blobs) {
        add_file(out.get(), "blobs/sha256/" + blob.digest.substr(7), blob);
    }
    if (archive_write_close(out.get()) != ARCHIVE_OK) {
        throw std::runtime_error(fmt::format("save: {}", archive_error_string(out.get())));
    }
}

nlohmann::json oci_history(const HistoryEntry& h) {
    nlohmann::json out = nlohmann::json::object();
    if (!h.created.empty()) {
        out["created"] = h.created;
    }
    if (!h.created_by.empty()) {
        out["created_by"] = h.created_by;
    }
    if (!h.comment.empty()) {
        out["comment"] = h.comment;
    }
    if (h.empty_layer) {
        out["empty_layer"] = true;
    }
    return out;
}

// ---- load ----

// The text of a string field; "" when missing or null. Another type is the
// archive's fault, reported by nlohmann's type_error.
std::string text_of(const nlohmann::json& object, const char* key) {
    if (!object.is_object() || !object.contains(key) || object[key].is_null()) {
        return "";
    }
    return object[key].get<std::string>();
}

std::vector<std::string> strings_of(const nlohmann::json& object, const char* key) {
    if (!object.is_object() || !object.contains(key) || object[key].is_null()) {
        return {};
    }
    return object[key].get<std::vector<std::string>>();
}

[[noreturn]] void refuse(const std::string& what, const std::string& name, const std::string& why) {
    throw UsageError(fmt::format("{}: tar entry \"{}\" {}; refusing the whole archive", what, name, why));
}

// The parts of an entry's name ("./blobs//sha256/ab/" -> blobs, sha256,
// ab). Refuses, for the whole archive, what no image layout has and what
// could point outside of it: absolute names, "..", links, devices, FIFOs.
std::vector<std::string> entry_parts(const std::string& what, archive_entry* entry) {
    const char* raw = archive_entry_pathname(entry);
    std::string name = raw != nullptr ? raw : "";
    if (name.empty()) {
        refuse(what, name, "has no name");
    }
    if (name[0] == '/') {
        refuse(what, name, "is absolute");
    }
    std::vector<std::string> parts;
    size_t start = 0;
    while (start <= name.size()) {
        size_t slash = std::min(name.find('/', start), name.size());
        std::string part = name.substr(start, slash - start);
        if (part == "..") {
            refuse(what, name, "climbs out with \"..\"");
        }
        if (!part.empty() && part != ".") {
            parts.push_back(part);
        }
        start = slash + 1;
    }
    if (archive_entry_hardlink(entry) != nullptr) {
        refuse(what, name, "is a hard link");
    }
    if (archive_entry_filetype(entry) == AE_IFLNK) {
        refuse(what, name, "is a symbolic link");
    }
    if (archive_entry_filetype(entry) != AE_IFREG && archive_entry_filetype(entry) != AE_IFDIR) {
        refuse(what, name, "is neither a file nor a directory");
    }
    return parts;
}

// Where a file of the layout goes in our scratch dir, by a name made of
// checked parts only; "" for files an image layout does not need (Docker's
// manifest.json and repositories, a README...).
std::string layout_file(const std::vector<std::string>& parts) {
    if (parts.size() == 1 && (parts[0] == "oci-layout" || parts[0] == "index.json")) {
        return parts[0];
    }
    if (parts.size() == 3 && parts[0] == "blobs" && parts[1] == "sha256" && is_sha256_hex(parts[2])) {
        return "blobs/sha256/" + parts[2];
    }
    return "";
}

//! [ch07-verify-blob]
// Copies the entry's data to `file`; for a blob, checks on the way that its
// content has the digest its name says.
void copy_entry(archive* in, const std::string& what, const std::string& file, const std::string& want_hex) {
    Fd fd{::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600)};
    if (!fd) {
        throw_errno(fmt::format("open(\"{}\")", file));
    }
    Sha256 sha;
    char buf[64 * 1024];
    for (;;) {
        la_ssize_t n = archive_read_data(in, buf, sizeof buf);
        if (n < 0) {
            throw UsageError(fmt::format("{}: {}", what, archive_error_string(in)));
        }
        if (n == 0) {
            break;
        }
        sha.update(buf, static_cast<size_t>(n));
        write_all(fd.get(), buf, static_cast<size_t>(n), file);
    }
    std::string got = sha.hex();
    if (!want_hex.empty() && got != want_hex) {
        throw UsageError(fmt::format(
            "{}: blob sha256:{} has the content of sha256:{} (damaged or altered); refusing the whole archive", what,
            want_hex, got));
    }
}
//! [ch07-verify-blob]

// The next entry of `in` (nullptr at its end).
archive_entry* next_entry(archive* in, const std::string& what) {
    archive_entry* entry = nullptr;
    int rc = archive_read_next_header(in, &entry);
    if (rc == ARCHIVE_EOF) {
        return nullptr;
    }
    if (rc < ARCHIVE_WARN) {
        throw UsageError(fmt::format("{}: {}", what, archive_error_string(in)));
    }
    return entry;
}

// An archive opened, its first entry read (nullptr: it is empty).
struct OpenArchive {
    ReadArchive in;
    archive_entry* first = nullptr;
};

// Opens `path` ("-": standard input) and reads its first entry, before the
// store is touched: a file that is missing or is not a tar changes nothing.
OpenArchive open_layout(const std::string& path, const std::string& what) {
    OpenArchive a{ReadArchive{archive_read_new()}};
    archive_read_support_format_tar(a.in.get());
    archive_read_support_filter_all(a.in.get());  // .gz, .zst, .xz ...
    if (archive_read_open_filename(a.in.get(), path == "-" ? nullptr : path.c_str(), 65536) != ARCHIVE_OK) {
        throw UsageError(fmt::format("{}: {}", what, archive_error_string(a.in.get())));
    }
    a.first = next_entry(a.in.get(), what);
    return a;
}

// Reads the rest of the outer tar (plain or compressed) into `dir`: the
// layout's own files, each blob checked. Nothing of it is in the store yet.
void unpack_layout(OpenArchive& a, const std::string& what, const std::string& dir) {
    make_dirs(dir + "/blobs/sha256");
    int blobs = 0;
    for (archive_entry* entry = a.first; entry != nullptr; entry = next_entry(a.in.get(), what)) {
        std::vector<std::string> parts = entry_parts(what, entry);
        std::string file = archive_entry_filetype(entry) == AE_IFREG ? layout_file(parts) : "";
        if (file.empty()) {
            continue;  // libarchive skips the data of an entry not read
        }
        bool is_blob = parts[0] == "blobs";
        copy_entry(a.in.get(), what, join_path(dir, file), is_blob ? parts[2] : "");
        blobs += is_blob ? 1 : 0;
    }
    trace::step(fmt::format("read {}: {} blobs, each digest checked", what, blobs));
}

// The layout, unpacked in a scratch dir: its blobs by descriptor.
struct Layout {
    std::string what;  // the archive, as messages name it
    std::string dir;

    // The blob a descriptor names, checked against its size. `role` says
    // what it is for the messages ("layer 2 of web:v1").
    std::string blob_path(const nlohmann::json& desc, const std::string& role) const {
        std::string digest = text_of(desc, "digest");
        if (digest.rfind("sha256:", 0) != 0 || !is_sha256_hex(digest.substr(7))) {
            throw UsageError(
                fmt::format("{}: {} has the digest \"{}\"; only sha256 digests are supported", what, role, digest));
        }
        std::string path = dir + "/blobs/sha256/" + digest.substr(7);
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0) {
            throw UsageError(fmt::format("{}: {} ({}) is not in the archive", what, role, digest));
        }
        if (!desc.contains("size") || desc["size"].get<long long>() != static_cast<long long>(st.st_size)) {
            throw UsageError(fmt::format("{}: {} ({}) is {} bytes, not the {} its descriptor says", what, role, digest,
                                         st.st_size, desc.value("size", nlohmann::json()).dump()));
        }
        return path;
    }

    nlohmann::json read_json(const std::string& path, const std::string& role) const {
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0) {
            throw UsageError(
                fmt::format("{}: no {} (not an OCI image layout; `docker save` before Docker 25?)", what, role));
        }
        if (st.st_size > max_json_size) {
            throw UsageError(fmt::format("{}: {} is {} bytes, too large for JSON", what, role, st.st_size));
        }
        try {
            return nlohmann::json::parse(read_text_file(path));
        } catch (const nlohmann::json::exception& e) {
            throw UsageError(fmt::format("{}: {} is not valid JSON: {}", what, role, e.what()));
        }
    }

    nlohmann::json read_json_blob(const nlohmann::json& desc, const std::string& role) const {
        return read_json(blob_path(desc, role), role);
    }
};

// A descriptor without a platform is for any; ours is linux on this machine.
bool is_for_this_platform(const nlohmann::json& desc) {
    if (!desc.contains("platform")) {
        return true;
    }
    const nlohmann::json& platform = desc["platform"];
    return text_of(platform, "os") == "linux" && text_of(platform, "architecture") == oci_architecture();
}

// The name an index entry gives its image: containerd's annotation (a whole
// reference); else OCI's ref.name: a whole reference when it has ':' or '/',
// a tag of `default_name` otherwise; else default_name:latest.
std::pair<std::string, std::string> image_name(const Layout& layout, const nlohmann::json& desc,
                                               const std::string& default_name) {
    nlohmann::json annotations = desc.value("annotations", nlohmann::json::object());
    std::string ref = text_of(annotations, name_annotation);
    if (ref.empty()) {
        std::string ref_name = text_of(annotations, ref_annotation);
        bool whole = ref_name.find_first_of(":/") != std::string::npos;
        ref = whole ? ref_name : default_name + ":" + (ref_name.empty() ? "latest" : ref_name);
    }
    // Docker's name for an official image, as `docker images` shows it.
    if (ref.rfind("docker.io/library/", 0) == 0) {
        ref = ref.substr(18);
    }
    try {
        return parse_image_ref(ref);
    } catch (const UsageError& e) {
        throw UsageError(fmt::format("{}: index.json names an image \"{}\": {}", layout.what, ref, e.what()));
    }
}

// The manifest an index entry stands for: the entry itself, or, for an
// image index (several platforms), its manifest for this one.
nlohmann::json manifest_of(const Layout& layout, const nlohmann::json& desc) {
    std::string type = text_of(desc, "mediaType");
    if (is_index_type(type)) {
        nlohmann::json nested = layout.read_json_blob(desc, "image index");
        for (const nlohmann::json& inner : nested.at("manifests")) {
            if (is_manifest_type(text_of(inner, "mediaType")) && is_for_this_platform(inner)) {
                return layout.read_json_blob(inner, "manifest");
            }
        }
        throw UsageError(fmt::format("{}: image index {} has no image for linux/{}", layout.what,
                                     text_of(desc, "digest"), oci_architecture()));
    }
    if (!is_manifest_type(type)) {
        throw UsageError(fmt::format("{}: {} has the media type \"{}\", not an image manifest's", layout.what,
                                     text_of(desc, "digest"), type));
    }
    return layout.read_json_blob(desc, "manifest");
}

// An image of the archive, found and checked, before it touches the store:
// all but its layers, and the blobs they will be made from.
struct Found {
    Image image;
    std::vector<std::string> layer_blobs;  // paths, bottom first
};

Found find_image(const Layout& layout, const nlohmann::json& desc, const std::string& default_name) {
    Found found;
    Image& image = found.image;
    std::tie(image.name, image.tag) = image_name(layout, desc, default_name);
    nlohmann::json manifest = manifest_of(layout, desc);
    const nlohmann::json& config_desc = manifest.at("config");
    if (!is_config_type(text_of(config_desc, "mediaType"))) {
        throw UsageError(fmt::format("{}: {} is not a container image (its config is \"{}\")", layout.what, image.ref(),
                                     text_of(config_desc, "mediaType")));
    }
    nlohmann::json config = layout.read_json_blob(config_desc, "the image config of " + image.ref());
    const nlohmann::json& layers = manifest.at("layers");
    for (size_t i = 0; i < layers.size(); ++i) {
        std::string role = fmt::format("layer {} of {}", i + 1, image.ref());
        std::string type = text_of(layers[i], "mediaType");
        if (!is_layer_type(type)) {
            throw UsageError(
                fmt::format("{}: {} has the media type \"{}\", not a layer tar's", layout.what, role, type));
        }
        found.layer_blobs.push_back(layout.blob_path(layers[i], role));
    }
    std::vector<std::string> diff_ids = strings_of(config.value("rootfs", nlohmann::json()), "diff_ids");
    if (diff_ids.size() != layers.size()) {
        throw UsageError(fmt::format("{}: {} has {} layers, and its config lists {}", layout.what, image.ref(),
                                     layers.size(), diff_ids.size()));
    }

    image.created = text_of(config, "created");
    if (image.created.empty()) {
        image.created = now_rfc3339();
    }
    image.config = image_config_from_oci(config);
    for (const nlohmann::json& h : config.value("history", nlohmann::json::array())) {
        image.history.push_back(
            {text_of(h, "created"), text_of(h, "created_by"), text_of(h, "comment"), h.value("empty_layer", false)});
    }
    if (!image.history.empty()) {
        image.comment = image.history.back().comment;
    }
    return found;
}

// Gives the image its layers, now the store's `layer_ids`, bottom first.
void set_layers(const Store& store, Image& image, const std::vector<std::string>& layer_ids) {
    // overlayfs refuses a lowerdir that names one directory twice (ELOOP),
    // and an image may have one layer twice (two steps that made the same
    // files). The upper copy decides every path the layer has, so the lower
    // one changes nothing: it goes, and its history entry made no layer.
    std::vector<bool> kept;
    for (size_t i = 0; i < layer_ids.size(); ++i) {
        kept.push_back(std::find(layer_ids.begin() + static_cast<long>(i) + 1, layer_ids.end(), layer_ids[i]) ==
                       layer_ids.end());
        if (kept.back()) {
            image.layers.push_back(layer_ids[i]);
            image.size += tree_size(store.layer_dir(layer_ids[i]));
        }
    }
    size_t layer = 0;
    for (HistoryEntry& h : image.history) {
        if (!h.empty_layer) {
            h.empty_layer = layer < kept.size() && !kept[layer];
            ++layer;
        }
    }
}

// What a load added to the store, so that a failure can take it back.
struct Added {
    const Store& store;
    std::set<std::string> layers_before;                                     // layer ids
    std::set<std::string> new_layers;                                        // layer ids
    std::vector<std::pair<std::string, std::optional<std::string>>> images;  // file, its old content

    void undo() const noexcept {
        for (auto it = images.rbegin(); it != images.rend(); ++it) {
            try {
                if (it->second) {
                    write_file_atomic(it->first, *it->second);
                } else {
                    ::unlink(it->first.c_str());
                }
            } catch (const std::exception&) {  // best effort: the first error is the one to report
            }
        }
        for (const std::string& id : new_layers) {
            ::unlink((store.root() + "/l/" + id.substr(0, 16)).c_str());
            std::error_code ec;
            std::filesystem::remove_all(store.layer_dir(id), ec);
        }
    }
};

std::set<std::string> layer_ids_in(const Store& store) {
    std::set<std::string> ids;
    for (const auto& e : std::filesystem::directory_iterator(store.root() + "/layers")) {
        ids.insert(e.path().filename().string());
    }
    return ids;
}

}  // namespace

nlohmann::json oci_image_config(const Image& image, const std::vector<std::string>& diff_ids) {
    nlohmann::json config = nlohmann::json::object();
    if (!image.config.cmd.empty()) {
        config["Cmd"] = image.config.cmd;
    }
    if (!image.config.env.empty()) {
        config["Env"] = image.config.env;
    }
    if (!image.config.working_dir.empty()) {
        config["WorkingDir"] = image.config.working_dir;
    }
    nlohmann::json layers = nlohmann::json::array();
    for (const std::string& id : diff_ids) {
        layers.push_back("sha256:" + id);
    }
    nlohmann::json history = nlohmann::json::array();
    size_t described = 0;  // layers that have a history entry
    for (const HistoryEntry& h : image.history) {
        history.push_back(oci_history(h));
        described += h.empty_layer ? 0 : 1;
    }
    // Tools pair the entries that made a layer with the layers, in order: a
    // layer nobody wrote history for still gets an entry.
    for (; described < diff_ids.size(); ++described) {
        history.push_back(oci_history({image.created, "", "", false}));
    }
    nlohmann::json out = {{"architecture", oci_architecture()},
                          {"os", "linux"},
                          {"config", config},
                          {"rootfs", {{"type", "layers"}, {"diff_ids", layers}}},
                          {"history", history}};
    if (!image.created.empty()) {
        out["created"] = image.created;
    }
    return out;
}

ImageConfig image_config_from_oci(const nlohmann::json& config) {
    nlohmann::json c = config.value("config", nlohmann::json::object());
    ImageConfig out;
    // An image's Entrypoint runs with its Cmd as arguments; we keep one
    // command, so it is both, in that order.
    out.cmd = strings_of(c, "Entrypoint");
    for (const std::string& arg : strings_of(c, "Cmd")) {
        out.cmd.push_back(arg);
    }
    out.env = strings_of(c, "Env");
    out.working_dir = text_of(c, "WorkingDir");
    return out;
}

void save_archive(const Store& store, const std::vector<Image>& images, const std::string& path) {
    ScratchDir scratch(store);
    // Layer tars first, under the lock: an `rmi` must not delete a layer
    // while it is being read.
    std::map<std::string, Blob> layer_blobs;  // layer id -> its blob
    {
        Fd lock = store.lock();
        for (const Image& image : images) {
            for (const std::string& id : image.layers) {
                if (layer_blobs.count(id) == 0) {
                    layer_blobs[id] = write_layer_blob(store, id, scratch.path() + "/" + id + ".tar");
                    trace::step(fmt::format("layer {}: its tar is blob {} ({} bytes)", id.substr(0, 12),
                                            layer_blobs[id].digest, layer_blobs[id].size));
                }
            }
        }
    }

    // Then per image a config and a manifest naming the blobs, and an
    // index naming the manifests. Each blob goes into the archive once.
    nlohmann::json index = {{"schemaVersion", 2}, {"mediaType", oci_index}, {"manifests", nlohmann::json::array()}};
    std::vector<Blob> blobs;
    std::set<std::string> digests;
    std::set<std::string> refs;
    auto add_blob = [&](const Blob& blob) {
        if (digests.insert(blob.digest).second) {
            blobs.push_back(blob);
        }
    };
    for (const Image& image : images) {
        if (!refs.insert(image.ref()).second) {
            continue;  // `save web web:latest`
        }
        std::vector<std::string> diff_ids;
        nlohmann::json layers = nlohmann::json::array();
        for (const std::string& id : image.layers) {
            const Blob& blob = layer_blobs[id];
            diff_ids.push_back(blob.digest.substr(7));
            layers.push_back(descriptor(oci_layer_tar, blob));
            add_blob(blob);
        }
        Blob config = json_blob(oci_image_config(image, diff_ids));
        Blob manifest = json_blob({{"schemaVersion", 2},
                                   {"mediaType", oci_manifest},
                                   {"config", descriptor(oci_config, config)},
                                   {"layers", layers}});
        add_blob(config);
        add_blob(manifest);
        nlohmann::json entry = descriptor(oci_manifest, manifest);
        entry["annotations"] = {{name_annotation, image.ref()}, {ref_annotation, image.tag}};
        index["manifests"].push_back(entry);
        trace::step(fmt::format("image {}: config {}, manifest {}", image.ref(), config.digest, manifest.digest));
    }

    if (path == "-") {
        write_layout(STDOUT_FILENO, index, blobs);
        return;
    }
    // Written aside and renamed: `path` is the old file or the whole new
    // one, never half an archive.
    std::string temp = path + ".XXXXXX";
    Fd fd{::mkostemp(temp.data(), O_CLOEXEC)};
    if (!fd) {
        throw_errno(fmt::format("mkostemp(\"{}\")", temp));
    }
    try {
        // mkostemp makes it 0600; it is an ordinary file, as readable as the
        // others the runtime writes (umask 022).
        sys::fchmod({fd.get(), trace::quote(temp)}, 0644);
        trace::step(fmt::format("writing {} blobs to {}", blobs.size(), temp));
        write_layout(fd.get(), index, blobs);
        sys::fsync({fd.get(), trace::quote(temp)});
        sys::rename(temp, path);
    } catch (...) {
        ::unlink(temp.c_str());
        throw;
    }
}

std::vector<Image> load_archive(const Store& store, const std::string& path, const std::string& default_name) {
    std::string what = path == "-" ? "standard input" : path;
    OpenArchive archive = open_layout(path, what);
    ScratchDir scratch(store);
    Layout layout{what, scratch.path()};
    std::vector<Found> found;
    try {
        // 1. The archive's files into the scratch dir, every blob checked;
        //    then which images it holds, every blob they need present.
        unpack_layout(archive, what, scratch.path());
        nlohmann::json index = layout.read_json(scratch.path() + "/index.json", "index.json");
        for (const nlohmann::json& desc : index.at("manifests")) {
            if (is_for_this_platform(desc)) {
                found.push_back(find_image(layout, desc, default_name));
            }
        }
    } catch (const nlohmann::json::exception& e) {
        throw UsageError(fmt::format("{}: not a valid OCI image layout: {}", what, e.what()));
    }
    if (found.empty()) {
        throw UsageError(fmt::format("{}: index.json has no image for linux/{}", what, oci_architecture()));
    }

    // 2. Into the store, under its lock: the layers (each checked entry by
    //    entry by extract_layer), then the images. A failure takes back
    //    what this load added.
    Fd lock = store.lock();
    Added added{store, layer_ids_in(store), {}, {}};
    std::vector<Image> images;
    try {
        for (Found& f : found) {
            std::vector<std::string> ids;
            for (size_t i = 0; i < f.layer_blobs.size(); ++i) {
                std::string id;
                try {
                    id = store.add_layer(f.layer_blobs[i]);
                } catch (const UsageError& e) {  // say which archive and which layer
                    throw UsageError(fmt::format("{}: layer {} of {}: {}", what, i + 1, f.image.ref(), e.what()));
                }
                if (added.layers_before.count(id) == 0) {
                    added.new_layers.insert(id);
                }
                trace::step(fmt::format("layer {} of {} is layer {}", i + 1, f.image.ref(), id.substr(0, 12)));
                ids.push_back(id);
            }
            set_layers(store, f.image, ids);
            images.push_back(f.image);
        }
        // The layers' files were written without an fsync each; one
        // syncfs() makes them durable before the image files that name them.
        Fd root = open_fd(store.root(), O_RDONLY | O_DIRECTORY);
        sys::syncfs({root.get(), trace::quote(store.root())});
        for (Image& image : images) {
            std::string file = store.root() + "/images/" + image.ref() + ".json";
            std::optional<std::string> old;
            if (std::filesystem::exists(file)) {
                old = read_text_file(file);
            }
            added.images.emplace_back(file, old);
            store.save_image(image);
        }
    } catch (...) {
        added.undo();
        throw;
    }
    return images;
}

}  // namespace minidocker
