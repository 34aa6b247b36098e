// Chapter 07's claims about `save` and `load`, proven with other tools:
// what `save` writes is an OCI image layout that skopeo reads (with the
// layer digests we wrote) and that umoci unpacks into the very files a
// container of the image sees (deletions included); an image umoci made
// loads and runs; save then load into another store is the same image;
// a damaged or hostile archive is one line, exit 125, and leaves the store
// as it was. These tests also run against every later chapter's binary.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "harness.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace minidocker::test;

namespace {

std::string store(const std::string& sub) { return state_root() + "/" + sub; }

json image_json(const std::string& root, const std::string& ref) {
    return json::parse(read_file(root + "/images/" + ref + ".json"));
}

// What the store holds: layers, their short names, images, half-made things.
std::map<std::string, std::set<std::string>> store_listing() {
    std::map<std::string, std::set<std::string>> listing;
    for (const char* sub : {"layers", "l", "images", "tmp"}) {
        listing[sub] = names_in(store(sub));
    }
    return listing;
}

// The sha256 of a file, as sha256sum says it.
std::string sha256_of(const std::string& path) {
    Result r = run({"sha256sum", path});
    EXPECT_EQ(r.code, 0) << r.err;
    return r.out.substr(0, 64);
}

// An image with deletions, on top of busybox: its tar (made by GNU tar, as
// a user would) deletes /etc/group and /bin/vi (".wh.NAME") and hides all
// of busybox's /usr (".wh..wh..opq"), and adds /hello.txt and /usr/only.
void make_whiteout_image(const std::string& ref) {
    TempDir src;
    std::string dir = src.path() + "/layer";
    for (const char* sub : {"/etc", "/bin", "/usr"}) {
        fs::create_directories(dir + sub);
    }
    std::ofstream(dir + "/etc/.wh.group").flush();
    std::ofstream(dir + "/bin/.wh.vi").flush();
    std::ofstream(dir + "/usr/.wh..wh..opq").flush();
    std::ofstream(dir + "/usr/only") << "only\n";
    std::ofstream(dir + "/hello.txt") << "hello from the top layer\n";
    std::string tar = src.path() + "/wh.tar";
    Result r = run({"tar", "-C", dir, "-cf", tar, "."});
    ASSERT_EQ(r.code, 0) << r.err;
    r = runtime({"import", "--base", "busybox", tar, ref});
    ASSERT_EQ(r.code, 0) << r.err;
}

// The lines of a text between lines "---".
std::vector<std::set<std::string>> sections(const std::string& text) {
    std::vector<std::set<std::string>> parts(1);
    for (const std::string& line : lines(text)) {
        if (line == "---") {
            parts.emplace_back();
        } else {
            parts.back().insert(line);
        }
    }
    return parts;
}

// A file tree as `find` sees it from its root, in four sections: every
// path; "path mode uid:gid"; "md5  path" of each file; "path -> target" of
// each symbolic link. The same commands run in a container (busybox) and
// on the host (GNU), and print the same.
const char* describe_tree =
    "cd \"${1:-/}\" && find . -xdev && echo --- && find . -xdev -exec stat -c '%n %a %u:%g' {} + && echo --- && "
    "find . -xdev -type f -exec md5sum {} + && echo --- && "
    "for l in $(find . -xdev -type l); do echo \"$l -> $(readlink \"$l\")\"; done";

// The path a line of describe_tree's section `section` is about: "path",
// "path mode uid:gid", "md5  path", "path -> target".
std::string path_of(const std::string& line, size_t section) {
    return section == 2 ? line.substr(line.find("  ") + 2) : line.substr(0, line.find(' '));
}

// Leaves out what a container sees that is not the image's: the init
// layer's files, and the modes of the mount points /dev, /proc, /sys (the
// image has them as plain directories) and "/" (the container's own
// read-write layer).
std::vector<std::set<std::string>> image_part(std::vector<std::set<std::string>> sections) {
    const std::set<std::string> init_files = {"./etc/hosts", "./etc/hostname", "./etc/resolv.conf", "./etc/mtab"};
    const std::set<std::string> mount_points = {".", "./dev", "./proc", "./sys"};
    for (size_t i = 0; i < sections.size(); ++i) {
        for (auto it = sections[i].begin(); it != sections[i].end();) {
            std::string path = path_of(*it, i);
            bool runtimes = init_files.count(path) != 0 || (i == 1 && mount_points.count(path) != 0);
            it = runtimes ? sections[i].erase(it) : std::next(it);
        }
    }
    return sections;
}

// Writes an OCI image layout tar with Python's tarfile, which spells any
// name: argv[2] says what is in it (layers as lists of entries, the tag,
// extra entries for the outer tar, a blob to damage). Every digest is
// right unless damage is asked for.
const char* make_layout_py = R"PY(
import hashlib, io, json, sys, tarfile
out, spec = sys.argv[1], json.loads(sys.argv[2])

def add(tar, entry):
    info = tarfile.TarInfo(entry["name"])
    info.mtime = 1700000000
    data = entry.get("data", "").encode()
    kind = entry.get("kind", "file")
    if kind == "dir":
        info.type, info.mode = tarfile.DIRTYPE, 0o755
    elif kind == "symlink":
        info.type, info.linkname = tarfile.SYMTYPE, entry["link"]
    elif kind == "hardlink":
        info.type, info.linkname = tarfile.LNKTYPE, entry["link"]
    else:
        info.size, info.mode = len(data), 0o644
    tar.addfile(info, io.BytesIO(data) if kind == "file" else None)

def tar_of(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for entry in entries:
            add(tar, entry)
    return buf.getvalue()

blobs = {}
def blob(media_type, data):
    digest = hashlib.sha256(data).hexdigest()
    blobs[digest] = data
    return {"mediaType": media_type, "digest": "sha256:" + digest, "size": len(data)}

layers = [blob("application/vnd.oci.image.layer.v1.tar", tar_of(l)) for l in spec.get("layers", [])]
config = blob("application/vnd.oci.image.config.v1+json", json.dumps({
    "architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]},
    "rootfs": {"type": "layers", "diff_ids": [l["digest"] for l in layers]}}).encode())
manifest = blob("application/vnd.oci.image.manifest.v1+json", json.dumps({
    "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": config, "layers": layers}).encode())
manifest["annotations"] = {"org.opencontainers.image.ref.name": spec.get("tag", "latest")}
index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [manifest]}
with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tar:
    add(tar, {"name": "oci-layout", "data": '{"imageLayoutVersion":"1.0.0"}'})
    add(tar, {"name": "index.json", "data": json.dumps(index)})
    for digest, data in blobs.items():
        if spec.get("damage") == "config" and "sha256:" + digest == config["digest"]:
            data = data.replace(b'"sh"', b'"sx"')
        info = tarfile.TarInfo("blobs/sha256/" + digest)
        info.size, info.mode, info.mtime = len(data), 0o644, 1700000000
        tar.addfile(info, io.BytesIO(data))
    for entry in spec.get("extra", []):
        add(tar, entry)
)PY";

void make_layout(const std::string& path, const json& spec) {
    Result r = run({"python3", "-c", make_layout_py, path, spec.dump()});
    ASSERT_EQ(r.code, 0) << r.err;
}

}  // namespace

// Claim: skopeo reads what `save` writes: each image by its tag, with the
// layer digests, config and history we wrote; a layer's blob is our
// canonical tar of it (its digest is the layer id), one blob per layer even
// when two images share it.
TEST(Ch07Oci, SkopeoReadsTheSavedImages) {
    MINIDOCKER_REQUIRE_ROOT();
    make_whiteout_image("wh:v1");
    TempDir work;
    std::string archive = work.path() + "/images.tar";
    Result r = runtime({"save", "-o", archive, "busybox", "wh:v1"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(names_in(work.path()), std::set<std::string>{"images.tar"});  // no temp file left beside it
    EXPECT_EQ(names_in(store("tmp")), std::set<std::string>{});

    auto layers = image_json(state_root(), "wh:v1").at("layers").get<std::vector<std::string>>();
    ASSERT_EQ(layers.size(), 2u);
    EXPECT_EQ(image_json(state_root(), "busybox:latest").at("layers"), json::array({layers[0]}));

    r = run({"skopeo", "inspect", "oci-archive:" + archive + ":v1"});
    ASSERT_EQ(r.code, 0) << r.err;
    json inspect = json::parse(r.out);
    EXPECT_EQ(inspect.at("Layers"), json::array({"sha256:" + layers[0], "sha256:" + layers[1]})) << r.out;
    EXPECT_EQ(inspect.at("Os"), "linux");

    r = run({"skopeo", "inspect", "--config", "oci-archive:" + archive + ":latest"});
    ASSERT_EQ(r.code, 0) << r.err;
    json config = json::parse(r.out);
    // skopeo (Go) re-prints the time and drops trailing zeros of the
    // fraction: "...42.907193910Z" comes back as "...42.90719391Z".
    auto same_time = [](std::string t) {
        size_t dot = t.find('.');
        if (dot != std::string::npos && !t.empty() && t.back() == 'Z') {
            t.pop_back();
            while (t.back() == '0') {
                t.pop_back();
            }
            if (t.back() == '.') {
                t.pop_back();
            }
            t += 'Z';
        }
        return t;
    };
    EXPECT_EQ(same_time(config.at("created").get<std::string>()),
              same_time(image_json(state_root(), "busybox:latest").at("created").get<std::string>()));
    EXPECT_EQ(config.at("config").at("Cmd"), json::array({"sh"}));
    EXPECT_EQ(config.at("rootfs").at("diff_ids"), json::array({"sha256:" + layers[0]}));
    ASSERT_EQ(config.at("history").size(), 1u);
    EXPECT_EQ(config["history"][0].at("comment"), image_json(state_root(), "busybox:latest").at("comment"));

    // The blobs on disk: each named by its content's digest; the layers
    // are there once each.
    TempDir layout;
    r = run({"tar", "-xf", archive, "-C", layout.path()});
    ASSERT_EQ(r.code, 0) << r.err;
    std::set<std::string> blobs = names_in(layout.path() + "/blobs/sha256");
    EXPECT_EQ(blobs.size(), 2u + 2u + 2u);  // 2 layers, 2 configs, 2 manifests
    for (const std::string& blob : blobs) {
        EXPECT_EQ(sha256_of(layout.path() + "/blobs/sha256/" + blob), blob);
    }
    EXPECT_TRUE(blobs.count(layers[0]) && blobs.count(layers[1]));
    EXPECT_EQ(names_in(layout.path()), (std::set<std::string>{"blobs", "index.json", "oci-layout"}));
}

// Claim: umoci unpacks the saved image into the files a container of the
// image sees: the same paths, modes, owners, contents and link targets;
// what the image deleted is in neither (/etc/group, /bin/vi, busybox's
// /usr/bin under the opaque /usr).
TEST(Ch07Oci, UmociUnpacksWhatTheContainerSees) {
    MINIDOCKER_REQUIRE_ROOT();
    make_whiteout_image("wh:v1");
    TempDir work;
    std::string archive = work.path() + "/wh.tar";
    Result r = runtime({"save", "-o", archive, "wh:v1"});
    ASSERT_EQ(r.code, 0) << r.err;
    std::string layout = work.path() + "/layout";
    std::string bundle = work.path() + "/bundle";
    fs::create_directories(layout);
    ASSERT_EQ(run({"tar", "-xf", archive, "-C", layout}).code, 0);
    r = run({"umoci", "unpack", "--image", layout + ":v1", bundle});
    ASSERT_EQ(r.code, 0) << r.err;

    Result host = run({"sh", "-c", describe_tree, "sh", bundle + "/rootfs"});
    ASSERT_EQ(host.code, 0) << host.err;
    Result container = runtime({"run", "--rm", "wh:v1", "sh", "-c", describe_tree});
    ASSERT_EQ(container.code, 0) << container.err;
    std::vector<std::set<std::string>> unpacked = image_part(sections(host.out));
    std::vector<std::set<std::string>> seen = image_part(sections(container.out));
    ASSERT_EQ(unpacked.size(), 4u) << host.out;
    ASSERT_EQ(seen.size(), 4u) << container.out;
    for (size_t i = 0; i < 4; ++i) {
        SCOPED_TRACE("section " + std::to_string(i));
        EXPECT_GT(seen[i].size(), i == 2 ? 2u : 100u);
        EXPECT_EQ(unpacked[i], seen[i]);
    }
    for (const char* gone : {"./etc/group", "./bin/vi", "./usr/bin"}) {
        EXPECT_EQ(seen[0].count(gone), 0u) << gone;
        EXPECT_EQ(unpacked[0].count(gone), 0u) << gone;
    }
    for (const char* there : {"./hello.txt", "./usr/only", "./etc/passwd", "./bin/busybox", "./bin/sh"}) {
        EXPECT_EQ(seen[0].count(there), 1u) << there;
    }
}

// Claim: an image built by umoci (a layout tarred as `tar -C DIR -cf X .`
// writes it, gzip-compressed layers, a tag only) loads, named after the
// archive, and runs with its config; compressed, on standard input, too.
TEST(Ch07Oci, LoadsAnImageUmociMade) {
    MINIDOCKER_REQUIRE_ROOT();
    TempDir work;
    std::string dir = work.path() + "/layout";
    for (const std::vector<std::string>& step : std::vector<std::vector<std::string>>{
             {"umoci", "init", "--layout", dir},
             {"umoci", "new", "--image", dir + ":t"},
             {"umoci", "insert", "--image", dir + ":t", rootfs_path(), "/"},
             {"umoci", "config", "--image", dir + ":t", "--config.cmd", "sh", "--config.cmd", "-c", "--config.cmd",
              "echo from umoci $FOO; pwd", "--config.env", "FOO=bar", "--config.workingdir", "/tmp"}}) {
        Result r = run(step);
        ASSERT_EQ(r.code, 0) << step[1] << ": " << r.err;
    }
    std::string archive = work.path() + "/umoci-img.tar";
    ASSERT_EQ(run({"tar", "-C", dir, "-cf", archive, "."}).code, 0);

    Result r = runtime({"load", "-i", archive});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "Loaded image: umoci-img:t\n");
    EXPECT_EQ(r.err, "");
    r = runtime({"run", "--rm", "umoci-img:t"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "from umoci bar\n/tmp\n")) << r.out;
    json image = image_json(state_root(), "umoci-img:t");
    EXPECT_EQ(image.at("config").at("WorkingDir"), "/tmp");
    EXPECT_EQ(image.at("layers").size(), 1u);

    // From standard input, gzip-compressed: the same layer, the name "loaded".
    r = run({"gzip", "-k", archive});
    ASSERT_EQ(r.code, 0) << r.err;
    r = run(runtime_argv({"load"}), read_file(archive + ".gz"));
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "Loaded image: loaded:t\n");
    EXPECT_EQ(image_json(state_root(), "loaded:t").at("layers"), image.at("layers"));
    EXPECT_EQ(names_in(store("layers")).size(), 1u);
    EXPECT_EQ(names_in(store("tmp")), std::set<std::string>{});
}

// Claim: save, then load into another store, gives the same images: the
// same layer ids, config, history (so the same image ids), and `history`
// says the same; the loaded image runs. The archive does not depend on
// where it is written: `save` to standard output gives the same bytes.
TEST(Ch07Oci, SaveThenLoadIntoAnotherStoreIsTheSame) {
    MINIDOCKER_REQUIRE_ROOT();
    make_whiteout_image("wh:v1");
    TempDir work;
    std::string archive = work.path() + "/both.tar";
    Result r = runtime({"save", "-o", archive, "busybox", "wh:v1"});
    ASSERT_EQ(r.code, 0) << r.err;
    r = runtime({"save", "busybox", "wh:v1"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(r.out == read_file(archive)) << "save to stdout differs from save -o";

    TempDir other;
    auto in_other = [&](const std::vector<std::string>& args) {
        std::vector<std::string> argv = {binary(), "--root", other.path()};
        argv.insert(argv.end(), args.begin(), args.end());
        return run(argv);
    };
    r = in_other({"load", "-i", archive});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "Loaded image: busybox:latest\nLoaded image: wh:v1\n");
    for (const char* ref : {"busybox:latest", "wh:v1"}) {
        SCOPED_TRACE(ref);
        EXPECT_EQ(image_json(other.path(), ref), image_json(state_root(), ref));
    }
    EXPECT_EQ(names_in(other.path() + "/layers"), names_in(store("layers")));
    EXPECT_EQ(names_in(other.path() + "/l"), names_in(store("l")));

    // `history`, but for its CREATED column ("3 seconds ago").
    auto history = [](const Result& h) {
        return std::regex_replace(h.out, std::regex("(Less than a second|[0-9]+ [a-z]+) ago +"), "");
    };
    Result here = runtime({"history", "--no-trunc", "wh:v1"});
    Result there = in_other({"history", "--no-trunc", "wh:v1"});
    ASSERT_EQ(here.code, 0) << here.err;
    ASSERT_EQ(there.code, 0) << there.err;
    EXPECT_EQ(history(there), history(here)) << here.out << there.out;
    EXPECT_EQ(lines(here.out).size(), 3u) << here.out;

    r = in_other({"run", "--rm", "wh:v1", "sh", "-c", "cat /hello.txt; ls /usr; test -e /etc/group || echo no group"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "hello from the top layer\nonly\nno group\n");
    EXPECT_EQ(names_in(other.path() + "/containers"), std::set<std::string>{});
}

// Claim: a truncated archive, an entry "../x", an absolute entry, a
// symbolic link entry, a blob whose content is not its digest's, and a
// layer that would write outside its directory are each refused: exit
// 125, one line that says why, nothing written outside, and the store
// (layers, short links, images, tmp) as it was, even when the load had
// already added a layer. `save` of an unknown image is refused too.
TEST(Ch07Oci, BadArchivesAreRefusedAndChangeNothing) {
    MINIDOCKER_REQUIRE_ROOT();
    TempDir work;
    std::string good = work.path() + "/busybox.tar";
    Result r = runtime({"save", "-o", good, "busybox"});
    ASSERT_EQ(r.code, 0) << r.err;
    std::string bytes = read_file(good);
    std::ofstream(work.path() + "/truncated.tar", std::ios::binary) << bytes.substr(0, bytes.size() / 2);

    const json fine_layer = json::array({{{"name", "fine"}, {"data", "fine\n"}}});
    struct Case {
        std::string name;
        json spec;         // for make_layout; null: the file is there already
        std::string says;  // what the error line mentions
    };
    const std::vector<Case> cases = {
        {"truncated", nullptr, "Truncated tar archive"},
        {"dotdot", {{"extra", {{{"name", "../x"}, {"data", "x\n"}}}}}, "\"../x\" climbs out"},
        {"absolute", {{"extra", {{{"name", work.path() + "/abs"}, {"data", "x\n"}}}}}, "is absolute"},
        {"symlink",
         {{"extra", {{{"name", "blobs/sha256/evil"}, {"kind", "symlink"}, {"link", work.path()}}}}},
         "is a symbolic link"},
        {"hardlink", {{"extra", {{{"name", "hard"}, {"kind", "hardlink"}, {"link", "index.json"}}}}}, "hard link"},
        {"digest", {{"layers", json::array({fine_layer})}, {"damage", "config"}}, "damaged or altered"},
        // A new layer first (which must be taken back), then one that climbs out.
        {"hostile-layer",
         {{"layers", json::array({fine_layer, json::array({{{"name", "../../../../../escaped"}, {"data", "x\n"}}})})}},
         "escaped\": its path climbs out of the layer"},
    };
    auto before = store_listing();
    for (const Case& c : cases) {
        SCOPED_TRACE(c.name);
        std::string archive = work.path() + "/" + c.name + ".tar";
        if (!c.spec.is_null()) {
            make_layout(archive, c.spec);
        }
        r = runtime({"load", "-i", archive});
        expect_error_line(r, c.says);
        EXPECT_TRUE(contains(r.err, archive)) << r.err;
        EXPECT_EQ(r.out, "");
        EXPECT_EQ(store_listing(), before);
        EXPECT_FALSE(fs::exists(work.path() + "/x"));
        EXPECT_FALSE(fs::exists(work.path() + "/abs"));
        EXPECT_FALSE(fs::exists(store("escaped")));
        EXPECT_FALSE(fs::exists("/escaped"));
    }
    // The fine layer alone loads: the refusals above were the bad parts'.
    make_layout(work.path() + "/fine.tar", {{"layers", json::array({fine_layer})}, {"tag", "v1"}});
    r = runtime({"load", "-i", work.path() + "/fine.tar"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "Loaded image: fine:v1\n");

    r = runtime({"save", "-o", work.path() + "/nosuch.tar", "nosuch"});
    expect_error_line(r, "No such image: nosuch");
    EXPECT_FALSE(fs::exists(work.path() + "/nosuch.tar"));
}
