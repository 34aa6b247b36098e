// Unit tests for chapter 07's OCI image layout archives (oci_archive.hpp):
// the image config both ways; what `load` takes from an index (names from
// annotations, media types, a nested image index, the same layer twice);
// what it refuses, and that a refusal leaves the store as it was; and what
// `save` writes, read back with libarchive. The archives are written here,
// with libarchive, into stores in temp dirs. No mount is made and nothing
// here needs root.
#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "error.hpp"
#include "layer.hpp"
#include "oci_archive.hpp"
#include "store.hpp"
#include "unit.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace minidocker;

namespace {

// ---- small helpers ----

using unit::TempDir;

using unit::contains;
using unit::usage_error;

using unit::read_file;

std::set<std::string> names_in(const std::string& dir) {
    std::set<std::string> names;
    std::error_code ec;
    for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
        names.insert(e.path().filename());
    }
    return names;
}

// What a refused load must not change: the store's listings.
std::map<std::string, std::set<std::string>> store_listing(const Store& store) {
    std::map<std::string, std::set<std::string>> listing;
    for (const char* sub : {"layers", "l", "images", "tmp"}) {
        listing[sub] = names_in(store.root() + "/" + sub);
    }
    return listing;
}

// ---- tars, with libarchive, so that any name can be spelled ----

struct TarEntry {
    std::string path;
    char type = 'f';   // 'f' file, 'd' directory, 'l' symbolic link, 'h' hard link, 'p' FIFO
    std::string data;  // a file's content, or a link's target
};

la_ssize_t append_to_string(archive* /*a*/, void* client, const void* buffer, size_t length) {
    static_cast<std::string*>(client)->append(static_cast<const char*>(buffer), length);
    return static_cast<la_ssize_t>(length);
}

// The bytes of a tar of `entries` (gzip-compressed when asked).
std::string tar_bytes(const std::vector<TarEntry>& entries, bool gzip = false) {
    std::string bytes;
    archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    if (gzip) {
        archive_write_add_filter_gzip(a);
    }
    archive_write_open(a, &bytes, nullptr, append_to_string, nullptr);
    for (const TarEntry& t : entries) {
        archive_entry* e = archive_entry_new();
        archive_entry_set_pathname(e, t.path.c_str());
        archive_entry_set_mtime(e, 1700000000, 0);
        archive_entry_set_perm(e, t.type == 'd' ? 0755 : 0644);
        switch (t.type) {
            case 'd':
                archive_entry_set_filetype(e, AE_IFDIR);
                break;
            case 'l':
                archive_entry_set_filetype(e, AE_IFLNK);
                archive_entry_set_symlink(e, t.data.c_str());
                break;
            case 'h':
                archive_entry_set_filetype(e, AE_IFREG);
                archive_entry_set_hardlink(e, t.data.c_str());
                break;
            case 'p':
                archive_entry_set_filetype(e, AE_IFIFO);
                break;
            default:
                archive_entry_set_filetype(e, AE_IFREG);
                archive_entry_set_size(e, static_cast<la_int64_t>(t.data.size()));
        }
        EXPECT_EQ(archive_write_header(a, e), ARCHIVE_OK) << t.path << ": " << archive_error_string(a);
        if (t.type == 'f' && !t.data.empty()) {
            archive_write_data(a, t.data.data(), t.data.size());
        }
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
    return bytes;
}

void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// Every entry of a tar file: name -> content ("" for a directory), and the
// names in order.
struct TarContent {
    std::vector<std::string> names;
    std::map<std::string, std::string> files;
};
TarContent read_tar(const std::string& path) {
    TarContent out;
    archive* a = archive_read_new();
    archive_read_support_format_tar(a);
    archive_read_support_filter_all(a);
    EXPECT_EQ(archive_read_open_filename(a, path.c_str(), 65536), ARCHIVE_OK) << archive_error_string(a);
    archive_entry* e = nullptr;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        std::string name = archive_entry_pathname(e);
        out.names.push_back(name);
        std::string data;
        char buf[65536];
        for (la_ssize_t n; (n = archive_read_data(a, buf, sizeof buf)) > 0;) {
            data.append(buf, static_cast<size_t>(n));
        }
        out.files[name] = data;
    }
    archive_read_free(a);
    return out;
}

// ---- OCI image layouts, blob by blob ----

constexpr const char* manifest_type = "application/vnd.oci.image.manifest.v1+json";
constexpr const char* index_type = "application/vnd.oci.image.index.v1+json";
constexpr const char* config_type = "application/vnd.oci.image.config.v1+json";
constexpr const char* layer_type = "application/vnd.oci.image.layer.v1.tar";

std::string host_architecture() { return oci_image_config(Image{}, {}).at("architecture"); }

class LayoutMaker {
public:
    // Adds a blob; returns its descriptor.
    json blob(const std::string& media_type, const std::string& bytes) {
        std::string hex = sha256_hex(bytes);
        entries_.push_back({"blobs/sha256/" + hex, 'f', bytes});
        return {{"mediaType", media_type}, {"digest", "sha256:" + hex}, {"size", bytes.size()}};
    }

    // Adds an image: each layer's tar, a config, a manifest; returns the
    // manifest's descriptor (for index.json, where annotations go).
    json image(const std::vector<std::string>& layer_tars, json config = json::object(),
               const std::string& media_type = layer_type) {
        json layers = json::array();
        json diff_ids = json::array();
        for (const std::string& tar : layer_tars) {
            layers.push_back(blob(media_type, tar));
            diff_ids.push_back(layers.back()["digest"]);
        }
        config["rootfs"] = {{"type", "layers"}, {"diff_ids", diff_ids}};
        config["os"] = "linux";
        config["architecture"] = host_architecture();
        json manifest = {{"schemaVersion", 2},
                         {"mediaType", manifest_type},
                         {"config", blob(config_type, config.dump())},
                         {"layers", layers}};
        return blob(manifest_type, manifest.dump());
    }

    void add(const TarEntry& entry) { entries_.push_back(entry); }

    // Writes the layout tar, with index.json naming `manifests`.
    std::string write(const std::string& path, const std::vector<json>& manifests) {
        std::vector<TarEntry> all = {
            {"oci-layout", 'f', R"({"imageLayoutVersion":"1.0.0"})"},
            {"index.json", 'f',
             json{{"schemaVersion", 2}, {"mediaType", index_type}, {"manifests", json(manifests)}}.dump()},
            {"blobs/", 'd', ""},
            {"blobs/sha256/", 'd', ""}};
        all.insert(all.end(), entries_.begin(), entries_.end());
        write_bytes(path, tar_bytes(all));
        return path;
    }

private:
    std::vector<TarEntry> entries_;
};

json named(json desc, const json& annotations) {
    desc["annotations"] = annotations;
    return desc;
}

// A one-file layer.
std::string layer_with(const std::string& file, const std::string& content) {
    return tar_bytes({{file, 'f', content}});
}

}  // namespace

// ---- the image config ----

TEST(Ch07OciConfig, OciImageConfigHasTheFieldsToolsRead) {
    Image image;
    image.created = "2026-11-27T23:59:01.123456789Z";
    image.config = {{"sh", "-c", "echo hi"}, {"PATH=/bin", "A=1"}, "/srv"};
    image.history = {{"2026-11-27T23:00:00Z", "import rootfs.tar", "base", false},
                     {"2026-11-27T23:30:00Z", "commit -c 'WORKDIR /srv'", "", true},
                     {"2026-11-27T23:59:01Z", "commit web", "added nginx", false}};
    std::string a(64, 'a');
    std::string b(64, 'b');
    json config = oci_image_config(image, {a, b});
    EXPECT_EQ(config.at("created"), image.created);
    EXPECT_EQ(config.at("os"), "linux");
    EXPECT_FALSE(config.at("architecture").get<std::string>().empty());
    EXPECT_EQ(config.at("config"),
              (json{{"Cmd", {"sh", "-c", "echo hi"}}, {"Env", {"PATH=/bin", "A=1"}}, {"WorkingDir", "/srv"}}));
    EXPECT_EQ(config.at("rootfs"), (json{{"type", "layers"}, {"diff_ids", {"sha256:" + a, "sha256:" + b}}}));
    ASSERT_EQ(config.at("history").size(), 3u);
    EXPECT_EQ(config["history"][0],
              (json{{"created", "2026-11-27T23:00:00Z"}, {"created_by", "import rootfs.tar"}, {"comment", "base"}}));
    // OCI writes empty_layer only when true, and no empty strings.
    EXPECT_EQ(
        config["history"][1],
        (json{{"created", "2026-11-27T23:30:00Z"}, {"created_by", "commit -c 'WORKDIR /srv'"}, {"empty_layer", true}}));
    EXPECT_FALSE(config["history"][2].contains("empty_layer"));
}

TEST(Ch07OciConfig, EmptyFieldsAreLeftOutAndEveryLayerHasHistory) {
    Image image;
    image.created = "2026-11-27T23:59:01Z";
    json config = oci_image_config(image, {std::string(64, 'c'), std::string(64, 'd')});
    EXPECT_EQ(config.at("config"), json::object());
    // Two layers without history: one entry each, so that tools that pair
    // history with layers find one.
    EXPECT_EQ(config.at("history"), (json{{{"created", image.created}}, {{"created", image.created}}}));
    EXPECT_FALSE(oci_image_config(Image{}, {}).contains("created"));
}

TEST(Ch07OciConfig, ImageConfigFromOci) {
    json oci = {{"config",
                 {{"Entrypoint", {"/docker-entrypoint.sh"}},
                  {"Cmd", {"nginx", "-g", "daemon off;"}},
                  {"Env", {"PATH=/usr/bin", "NGINX_VERSION=1.25"}},
                  {"WorkingDir", "/usr/share/nginx"},
                  {"ExposedPorts", {{"80/tcp", json::object()}}}}}};
    ImageConfig c = image_config_from_oci(oci);
    // Entrypoint + Cmd: the one command we keep.
    EXPECT_EQ(c.cmd, (std::vector<std::string>{"/docker-entrypoint.sh", "nginx", "-g", "daemon off;"}));
    EXPECT_EQ(c.env, (std::vector<std::string>{"PATH=/usr/bin", "NGINX_VERSION=1.25"}));
    EXPECT_EQ(c.working_dir, "/usr/share/nginx");
}

TEST(Ch07OciConfig, ImageConfigFromOciWithoutFields) {
    for (const json& oci : {json::object(), json{{"config", nullptr}}, json{{"config", json::object()}},
                            json{{"config", {{"Cmd", nullptr}, {"Entrypoint", nullptr}, {"Env", nullptr}}}}}) {
        SCOPED_TRACE(oci.dump());
        ImageConfig c = image_config_from_oci(oci);
        EXPECT_TRUE(c.cmd.empty());
        EXPECT_TRUE(c.env.empty());
        EXPECT_EQ(c.working_dir, "");
    }
    EXPECT_ANY_THROW(image_config_from_oci(json{{"config", {{"Cmd", "sh"}}}}));
}

TEST(Ch07OciConfig, ConfigSurvivesTheRoundTrip) {
    Image image;
    image.config = {{"/bin/app", "--port", "80"}, {"PATH=/bin"}, "/app"};
    ImageConfig back = image_config_from_oci(oci_image_config(image, {}));
    EXPECT_EQ(back.cmd, image.config.cmd);
    EXPECT_EQ(back.env, image.config.env);
    EXPECT_EQ(back.working_dir, image.config.working_dir);
}

// ---- load: what it takes ----

// Claim: an image's name comes from containerd's annotation, else from
// OCI's ref.name (a whole reference, or a tag of the archive's name), else
// it is the archive's name; Docker's "docker.io/library/" is dropped; a
// name we cannot take is one clear error.
TEST(Ch07OciArchive, NameFromAnnotations) {
    struct Case {
        json annotations;
        std::string ref;  // what it loads as; "" when refused
    };
    const std::vector<Case> cases = {
        {{{"io.containerd.image.name", "web:v1"}, {"org.opencontainers.image.ref.name", "v1"}}, "web:v1"},
        {{{"io.containerd.image.name", "web"}}, "web:latest"},
        {{{"org.opencontainers.image.ref.name", "v2"}}, "stem:v2"},
        {{{"org.opencontainers.image.ref.name", "other:v3"}}, "other:v3"},
        {json::object(), "stem:latest"},
        {{{"io.containerd.image.name", "docker.io/library/busybox:1.36"}}, "busybox:1.36"},
        {{{"io.containerd.image.name", "docker.io/someone/app:1"}}, ""},
        {{{"org.opencontainers.image.ref.name", "Bad:tag"}}, ""},
        {{{"org.opencontainers.image.ref.name", "bad tag"}}, ""},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.annotations.dump());
        TempDir dir;
        Store store(dir / "root");
        LayoutMaker layout;
        std::string tar = layout.write(dir / "a.tar", {named(layout.image({}), c.annotations)});
        if (c.ref.empty()) {
            std::string error = usage_error([&] { load_archive(store, tar, "stem"); });
            EXPECT_TRUE(contains(error, "invalid")) << error;
            EXPECT_TRUE(store.images().empty());
            continue;
        }
        std::vector<Image> images = load_archive(store, tar, "stem");
        ASSERT_EQ(images.size(), 1u);
        EXPECT_EQ(images[0].ref(), c.ref);
        EXPECT_TRUE(store.find_image(c.ref).has_value());
    }
}

// Claim: a loaded image is its layers, in order, as store layers, and its
// config, history and creation time are the archive's.
TEST(Ch07OciArchive, LoadMakesLayersAndImage) {
    TempDir dir;
    Store store(dir / "root");
    LayoutMaker layout;
    json config = {{"created", "2026-01-02T03:04:05Z"},
                   {"config", {{"Cmd", {"cat", "/b"}}, {"Env", {"A=1"}}, {"WorkingDir", "/"}}},
                   {"history",
                    {{{"created", "2026-01-01T00:00:00Z"}, {"created_by", "ADD a"}},
                     {{"created_by", "ENV A=1"}, {"empty_layer", true}},
                     {{"created_by", "ADD b"}, {"comment", "the b layer"}}}}};
    json desc = layout.image({layer_with("a", "A\n"), layer_with("b", "B\n")}, config);
    // Not the archive's business, and ignored: Docker's own files.
    layout.add({"manifest.json", 'f', "[]"});
    layout.add({"repositories", 'f', "{}"});
    std::string tar = layout.write(dir / "two.tar", {named(desc, {{"io.containerd.image.name", "two:1"}})});

    std::vector<Image> images = load_archive(store, tar, "two");
    ASSERT_EQ(images.size(), 1u);
    const Image& image = images[0];
    ASSERT_EQ(image.layers.size(), 2u);
    EXPECT_EQ(read_file(store.layer_dir(image.layers[0]) + "/a"), "A\n");
    EXPECT_EQ(read_file(store.layer_dir(image.layers[1]) + "/b"), "B\n");
    EXPECT_EQ(fs::read_symlink(store.root() + "/l/" + image.layers[1].substr(0, 16)).string(),
              "../layers/" + image.layers[1]);
    EXPECT_EQ(image.config.cmd, (std::vector<std::string>{"cat", "/b"}));
    EXPECT_EQ(image.config.env, (std::vector<std::string>{"A=1"}));
    EXPECT_EQ(image.created, "2026-01-02T03:04:05Z");
    ASSERT_EQ(image.history.size(), 3u);
    EXPECT_EQ(image.history[1].created_by, "ENV A=1");
    EXPECT_TRUE(image.history[1].empty_layer);
    EXPECT_EQ(image.comment, "the b layer");
    EXPECT_EQ(image.size, 4u);
    Image stored = store.image("two:1");
    EXPECT_EQ(stored.id, image.id);
    EXPECT_EQ(stored.layers, image.layers);
    EXPECT_EQ(names_in(store.root() + "/tmp"), std::set<std::string>{});
}

// Claim: the media types of Docker's and OCI's manifests, configs and
// compressed layers are all read.
TEST(Ch07OciArchive, DockerMediaTypesAndCompressedLayers) {
    TempDir dir;
    Store store(dir / "root");
    LayoutMaker layout;
    std::string gz = tar_bytes({{"z", 'f', "zipped\n"}}, true);
    // A Docker v2 manifest, as `docker save` of Docker 25+ writes it.
    std::string config = json{
        {"rootfs", {{"type", "layers"}, {"diff_ids", {"sha256:" + std::string(64, '0')}}}},
        {"config",
         {{"Cmd", {"sh"}}}}}.dump();
    json manifest = {{"schemaVersion", 2},
                     {"mediaType", "application/vnd.docker.distribution.manifest.v2+json"},
                     {"config", layout.blob("application/vnd.docker.container.image.v1+json", config)},
                     {"layers", json::array({layout.blob("application/vnd.docker.image.rootfs.diff.tar.gzip", gz)})}};
    json docker = layout.blob("application/vnd.docker.distribution.manifest.v2+json", manifest.dump());
    json oci_gz = layout.image({gz}, json::object(), "application/vnd.oci.image.layer.v1.tar+gzip");
    std::string tar = layout.write(dir / "mixed.tar", {named(docker, {{"io.containerd.image.name", "docker:1"}}),
                                                       named(oci_gz, {{"io.containerd.image.name", "oci:1"}})});
    std::vector<Image> images = load_archive(store, tar, "mixed");
    ASSERT_EQ(images.size(), 2u);
    EXPECT_EQ(images[0].ref(), "docker:1");
    EXPECT_EQ(images[1].ref(), "oci:1");
    EXPECT_EQ(images[0].layers, images[1].layers);  // the same content: one layer
    EXPECT_EQ(read_file(store.layer_dir(images[0].layers[0]) + "/z"), "zipped\n");
}

// Claim: an index entry that is an image index (several platforms) stands
// for its manifest for this machine, and a platform not ours is skipped.
TEST(Ch07OciArchive, NestedIndexPicksThisPlatform) {
    TempDir dir;
    Store store(dir / "root");
    LayoutMaker layout;
    std::string other_arch = host_architecture() == "s390x" ? "riscv64" : "s390x";
    json theirs = layout.image({}, {{"config", {{"Cmd", {"theirs"}}}}});
    theirs["platform"] = {{"os", "linux"}, {"architecture", other_arch}};
    json ours = layout.image({}, {{"config", {{"Cmd", {"ours"}}}}});
    ours["platform"] = {{"os", "linux"}, {"architecture", host_architecture()}};
    json nested = layout.blob(index_type, json{{"schemaVersion", 2}, {"manifests", {theirs, ours}}}.dump());
    std::string tar = layout.write(dir / "multi.tar", {named(nested, {{"io.containerd.image.name", "multi:1"}})});
    std::vector<Image> images = load_archive(store, tar, "multi");
    ASSERT_EQ(images.size(), 1u);
    EXPECT_EQ(images[0].ref(), "multi:1");
    EXPECT_EQ(images[0].config.cmd, std::vector<std::string>{"ours"});

    LayoutMaker only_theirs;
    json desc = only_theirs.image({});
    desc["platform"] = {{"os", "linux"}, {"architecture", other_arch}};
    tar = only_theirs.write(dir / "theirs.tar", {desc});
    std::string error = usage_error([&] { load_archive(store, tar, "theirs"); });
    EXPECT_TRUE(contains(error, "no image for linux/" + host_architecture())) << error;
}

// Claim: an image with the same layer twice (overlayfs refuses one
// directory twice in lowerdir) keeps only the upper copy, which decides
// every path the layer has; the lower copy's history entry made no layer.
TEST(Ch07OciArchive, SameLayerTwiceKeepsTheUpperOne) {
    TempDir dir;
    Store store(dir / "root");
    LayoutMaker layout;
    std::string a = layer_with("a", "A\n");
    std::string b = layer_with("b", "B\n");
    json config = {
        {"history", {{{"created_by", "ADD a"}}, {{"created_by", "ADD b"}}, {{"created_by", "ADD a again"}}}}};
    std::string tar = layout.write(dir / "twice.tar", {layout.image({a, b, a}, config)});
    std::vector<Image> images = load_archive(store, tar, "twice");
    ASSERT_EQ(images.size(), 1u);
    ASSERT_EQ(images[0].layers.size(), 2u);
    EXPECT_EQ(read_file(store.layer_dir(images[0].layers[0]) + "/b"), "B\n");
    EXPECT_EQ(read_file(store.layer_dir(images[0].layers[1]) + "/a"), "A\n");
    ASSERT_EQ(images[0].history.size(), 3u);
    EXPECT_TRUE(images[0].history[0].empty_layer);
    EXPECT_FALSE(images[0].history[1].empty_layer);
    EXPECT_FALSE(images[0].history[2].empty_layer);
}

// Claim: names as `tar -C layout -cf x.tar .` writes them ("./blobs/...")
// are the same names.
TEST(Ch07OciArchive, DotSlashNames) {
    TempDir dir;
    Store store(dir / "root");
    LayoutMaker blobs;
    json desc = blobs.image({layer_with("f", "F\n")});
    std::string plain = blobs.write(dir / "plain.tar", {named(desc, {{"org.opencontainers.image.ref.name", "t"}})});
    std::vector<TarEntry> dotted = {{"./", 'd', ""}};
    for (const auto& [name, data] : read_tar(plain).files) {
        dotted.push_back({"./" + name, name.back() == '/' ? 'd' : 'f', data});
    }
    write_bytes(dir / "dotted.tar", tar_bytes(dotted));
    std::vector<Image> images = load_archive(store, dir / "dotted.tar", "dotted");
    ASSERT_EQ(images.size(), 1u);
    EXPECT_EQ(images[0].ref(), "dotted:t");
}

// ---- load: what it refuses ----

// Claim: an entry that could write or point outside the layout, or is not a
// file or directory, refuses the whole archive with one line naming it,
// before anything reaches the store.
TEST(Ch07OciArchive, RefusesHostileEntries) {
    struct Case {
        TarEntry entry;
        std::string says;
    };
    const std::vector<Case> cases = {
        {{"../x", 'f', "x"}, "\"../x\" climbs out"},
        {{"blobs/../../x", 'f', "x"}, "climbs out"},
        {{"/etc/x", 'f', "x"}, "\"/etc/x\" is absolute"},
        {{"blobs/sha256/link", 'l', "/etc/passwd"}, "is a symbolic link"},
        {{"index.json", 'l', "../../index.json"}, "is a symbolic link"},
        {{"hard", 'h', "/etc/passwd"}, "is a hard link"},
        {{"fifo", 'p', ""}, "neither a file nor a directory"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.entry.path);
        TempDir dir;
        Store store(dir / "root");
        auto before = store_listing(store);
        LayoutMaker layout;
        json desc = layout.image({layer_with("f", "F\n")});
        layout.add(c.entry);
        std::string tar = layout.write(dir / "bad.tar", {desc});
        std::string error = usage_error([&] { load_archive(store, tar, "bad"); });
        EXPECT_TRUE(contains(error, c.says)) << error;
        EXPECT_TRUE(contains(error, "refusing the whole archive")) << error;
        EXPECT_EQ(error.find('\n'), std::string::npos) << error;
        EXPECT_EQ(store_listing(store), before);
        EXPECT_FALSE(fs::exists(dir / "x"));
    }
}

// Claim: a blob whose content does not have the digest it is named by, a
// blob that is missing, a size that is not the blob's, a truncated archive
// and a tar that is no image layout are each one clear error.
TEST(Ch07OciArchive, RefusesDamagedArchives) {
    TempDir dir;
    Store store(dir / "root");
    auto before = store_listing(store);
    auto expect_refused = [&](const std::string& tar, const std::string& says) {
        std::string error = usage_error([&] { load_archive(store, tar, "bad"); });
        EXPECT_TRUE(contains(error, says)) << "should say " << says << ": " << error;
        EXPECT_TRUE(contains(error, tar)) << error;
        EXPECT_EQ(store_listing(store), before);
    };

    LayoutMaker altered;
    std::string fake = sha256_hex("the real content");
    altered.add({"blobs/sha256/" + fake, 'f', "other content"});
    expect_refused(altered.write(dir / "altered.tar", {}), "blob sha256:" + fake);

    LayoutMaker missing;
    json desc = missing.image({});
    desc["digest"] = "sha256:" + std::string(64, 'e');
    expect_refused(missing.write(dir / "missing.tar", {desc}), "is not in the archive");

    LayoutMaker sized;
    desc = sized.image({});
    desc["size"] = desc["size"].get<int>() + 1;
    expect_refused(sized.write(dir / "sized.tar", {desc}), "its descriptor says");

    LayoutMaker not_ours;
    desc = not_ours.image({});
    desc["digest"] = "sha512:" + std::string(128, 'f');
    expect_refused(not_ours.write(dir / "sha512.tar", {desc}), "only sha256");

    LayoutMaker whole;
    std::string big(200000, 'x');
    for (size_t i = 0; i < big.size(); ++i) {
        big[i] = static_cast<char>('a' + (i * 7919) % 26);  // not all one byte
    }
    std::string tar = whole.write(dir / "whole.tar", {whole.image({layer_with("big", big)})});
    std::string bytes = read_file(tar);
    write_bytes(dir / "truncated.tar", bytes.substr(0, bytes.size() / 2));
    expect_refused(dir / "truncated.tar", "runcated");

    write_bytes(dir / "legacy.tar", tar_bytes({{"manifest.json", 'f', "[]"}, {"repositories", 'f', "{}"}}));
    expect_refused(dir / "legacy.tar", "no index.json");

    write_bytes(dir / "text.tar", "this is not a tar\n");
    expect_refused(dir / "text.tar", dir / "text.tar");

    expect_refused(dir / "nonexistent.tar", "nonexistent.tar");

    LayoutMaker foreign;
    desc = foreign.image({layer_with("f", "F\n")}, json::object(),
                         "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip");
    expect_refused(foreign.write(dir / "foreign.tar", {desc}), "not a layer tar's");

    LayoutMaker artifact;
    json manifest = {{"schemaVersion", 2},
                     {"mediaType", manifest_type},
                     {"config", artifact.blob("application/vnd.cncf.helm.config.v1+json", "{}")},
                     {"layers", json::array()}};
    expect_refused(artifact.write(dir / "helm.tar", {artifact.blob(manifest_type, manifest.dump())}),
                   "not a container image");

    LayoutMaker not_json;
    not_json.add({"index.json", 'f', "{"});
    expect_refused(not_json.write(dir / "json.tar", {}), "index.json");
}

// Claim: a layer that would write outside its directory is refused by
// chapter 04's checks, and what the load had already added to the store (an
// earlier image's new layer) is taken back: the store is as it was.
TEST(Ch07OciArchive, HostileLayerLeavesTheStoreAsItWas) {
    TempDir dir;
    Store store(dir / "root");
    LayoutMaker layout;
    json good = layout.image({layer_with("good", "new content\n")});
    json evil = layout.image({layer_with("fine", "x\n"), tar_bytes({{"../../../escaped", 'f', "x\n"}})});
    std::string tar = layout.write(dir / "evil.tar", {named(good, {{"io.containerd.image.name", "good:1"}}),
                                                      named(evil, {{"io.containerd.image.name", "evil:1"}})});
    auto before = store_listing(store);
    std::string error = usage_error([&] { load_archive(store, tar, "evil"); });
    EXPECT_TRUE(contains(error, "../../../escaped")) << error;
    EXPECT_EQ(store_listing(store), before);
    EXPECT_FALSE(fs::exists(dir / "escaped"));
    EXPECT_FALSE(fs::exists(store.root() + "/escaped"));
}

// ---- save ----

// Claim: `save` writes an OCI image layout: oci-layout, index.json with one
// named manifest per image, and blobs/sha256/ whose names are their
// contents' digests; a layer is its canonical tar; a layer two images
// share is written once; nothing is left in the store's tmp/.
TEST(Ch07OciArchive, SaveWritesAnImageLayout) {
    TempDir dir;
    Store store(dir / "root");
    fs::create_directories(dir / "base/etc");
    std::ofstream(dir / "base/etc/motd") << "hello\n";
    fs::create_directories(dir / "top/srv");
    std::ofstream(dir / "top/srv/app") << "app\n";
    Image base = store.import(dir / "base", "base:1", "", "the base");
    Image app = store.import(dir / "top", "app:2", "base:1", "the app");
    app.config.cmd = {"/srv/app"};
    store.save_image(app);

    save_archive(store, {base, app}, dir / "out.tar");
    TarContent tar = read_tar(dir / "out.tar");
    EXPECT_EQ(json::parse(tar.files.at("oci-layout")), (json{{"imageLayoutVersion", "1.0.0"}}));
    std::set<std::string> names(tar.names.begin(), tar.names.end());
    EXPECT_EQ(names.size(), tar.names.size()) << "a name written twice";
    EXPECT_TRUE(names.count("blobs/") && names.count("blobs/sha256/"));
    for (const auto& [name, data] : tar.files) {
        if (name.rfind("blobs/sha256/", 0) == 0 && name.size() > 13) {
            EXPECT_EQ(name.substr(13), sha256_hex(data)) << name;
        }
    }
    // 2 layers + 2 configs + 2 manifests, and the directories and 2 files.
    EXPECT_EQ(tar.names.size(), 6u + 4u);

    json index = json::parse(tar.files.at("index.json"));
    EXPECT_EQ(index.at("schemaVersion"), 2);
    EXPECT_EQ(index.at("mediaType"), index_type);
    ASSERT_EQ(index.at("manifests").size(), 2u);
    json desc = index["manifests"][1];
    EXPECT_EQ(desc.at("mediaType"), manifest_type);
    EXPECT_EQ(desc.at("annotations"),
              (json{{"io.containerd.image.name", "app:2"}, {"org.opencontainers.image.ref.name", "2"}}));
    std::string manifest_text = tar.files.at("blobs/sha256/" + desc.at("digest").get<std::string>().substr(7));
    EXPECT_EQ(desc.at("size"), manifest_text.size());
    json manifest = json::parse(manifest_text);
    EXPECT_EQ(manifest.at("schemaVersion"), 2);
    EXPECT_EQ(manifest.at("mediaType"), manifest_type);
    EXPECT_EQ(manifest.at("config").at("mediaType"), config_type);
    ASSERT_EQ(manifest.at("layers").size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
        const json& layer = manifest["layers"][i];
        EXPECT_EQ(layer.at("mediaType"), layer_type);
        std::string data = tar.files.at("blobs/sha256/" + layer.at("digest").get<std::string>().substr(7));
        EXPECT_EQ(layer.at("size"), data.size());
        // The canonical tar of our layer: its digest is the layer id.
        EXPECT_EQ(layer.at("digest"), "sha256:" + app.layers[i]);
    }
    json config =
        json::parse(tar.files.at("blobs/sha256/" + manifest["config"]["digest"].get<std::string>().substr(7)));
    EXPECT_EQ(config, oci_image_config(app, app.layers));
    EXPECT_EQ(names_in(store.root() + "/tmp"), std::set<std::string>{});
    EXPECT_EQ(names_in(dir.path()), (std::set<std::string>{"base", "out.tar", "root", "top"}));
    struct stat st {};
    ASSERT_EQ(::stat((dir / "out.tar").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0644u);
}

// Claim: what `save` wrote, `load` reads back into another store as the
// same layers and the same image (so the same image id).
TEST(Ch07OciArchive, SaveThenLoadIsTheSameImage) {
    TempDir dir;
    Store store(dir / "root");
    fs::create_directories(dir / "tree/bin");
    std::ofstream(dir / "tree/bin/tool") << "#!/bin/sh\necho hi\n";
    Image image = store.import(dir / "tree", "tool:1", "", "the tool");
    // As `commit -c 'CMD tool' -m ...` makes it: a history entry with no layer.
    image.config = {{"tool"}, {"PATH=/bin"}, "/bin"};
    image.comment = "runs the tool";
    image.history.push_back({"2026-11-28T00:00:00Z", "commit -c 'CMD tool'", image.comment, true});
    store.save_image(image);
    save_archive(store, {image}, dir / "tool.tar");

    Store other(dir / "other");
    std::vector<Image> loaded = load_archive(other, dir / "tool.tar", "tool");
    ASSERT_EQ(loaded.size(), 1u);
    EXPECT_EQ(loaded[0].ref(), "tool:1");
    EXPECT_EQ(loaded[0].layers, image.layers);
    EXPECT_EQ(json(loaded[0]).dump(2), json(image).dump(2));
    EXPECT_EQ(loaded[0].id, image.id);
    EXPECT_EQ(read_file(other.layer_dir(image.layers[0]) + "/bin/tool"), "#!/bin/sh\necho hi\n");
}

// Claim: a save that fails leaves no file at the path, no temp file beside
// it and nothing in the store's tmp/.
TEST(Ch07OciArchive, FailedSaveLeavesNothing) {
    TempDir dir;
    Store store(dir / "root");
    Image ghost;
    ghost.name = "ghost";
    ghost.tag = "latest";
    ghost.layers = {std::string(64, '0')};  // no such layer
    EXPECT_ANY_THROW(save_archive(store, {ghost}, dir / "ghost.tar"));
    EXPECT_EQ(names_in(dir.path()), std::set<std::string>{"root"});
    EXPECT_EQ(names_in(store.root() + "/tmp"), std::set<std::string>{});

    // An old file at the path stays as it was.
    write_bytes(dir / "ghost.tar", "old\n");
    EXPECT_ANY_THROW(save_archive(store, {ghost}, dir / "ghost.tar"));
    EXPECT_EQ(read_file(dir / "ghost.tar"), "old\n");
    EXPECT_EQ(names_in(dir.path()), (std::set<std::string>{"ghost.tar", "root"}));
}
