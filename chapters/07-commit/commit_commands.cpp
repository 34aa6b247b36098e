// commit_commands.cpp - chapter 07's subcommands, in Docker's words:
//
//   commit [-m MSG] [-c CHANGE]... [-p|--pause=false] CONTAINER NAME[:TAG]
//   history [--no-trunc] [-q] IMAGE     one line per layer, newest first
//   save [-o FILE] IMAGE...             an OCI image layout tar
//   load [-i FILE]                      ...and back
#include <fmt/format.h>
#include <unistd.h>

#include <map>
#include <memory>

#include "commit.hpp"
#include "error.hpp"
#include "layer.hpp"
#include "oci_archive.hpp"
#include "store.hpp"
#include "trace.hpp"

namespace minidocker {

namespace {

// "3 minutes ago", as `docker history` says it.
std::string ago(const std::string& rfc3339) {
    long seconds = seconds_since(rfc3339);
    return seconds < 0 ? "?" : human_duration(seconds) + " ago";
}

// "web.tar.gz" -> "web": the name `load` gives an image the archive does not name.
std::string archive_stem(const std::string& path) {
    std::string base = path.substr(path.rfind('/') + 1);
    base = base.substr(0, base.find('.'));
    std::string name;
    for (char ch : base) {
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.';
        name += ok ? ch : (ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch - 'A' + 'a') : '-');
    }
    return name.empty() || path == "-" ? "loaded" : name;
}

struct HistoryRow {
    std::string image;  // id of a local image that ends with this layer, or "<missing>"
    HistoryEntry entry;
    unsigned long long size = 0;
};

// The rows of `history`, newest first: each history entry with the layer it
// made (entries with empty_layer made none).
std::vector<HistoryRow> history_rows(const Store& store, const Image& image) {
    std::map<std::vector<std::string>, std::string> ends_with;  // layers -> an image that is exactly them
    for (const Image& other : store.images()) {
        ends_with.emplace(other.layers, other.id);
    }
    ends_with[image.layers] = image.id;

    std::vector<HistoryRow> rows;
    size_t layer = 0;
    for (const HistoryEntry& entry : image.history) {
        HistoryRow row{"<missing>", entry, 0};
        if (!entry.empty_layer && layer < image.layers.size()) {
            std::vector<std::string> below(image.layers.begin(), image.layers.begin() + static_cast<long>(layer) + 1);
            if (auto found = ends_with.find(below); found != ends_with.end()) {
                row.image = found->second.substr(0, 12);
            }
            row.size = tree_size(store.layer_dir(image.layers[layer]));
            ++layer;
        }
        rows.push_back(row);
    }
    for (; layer < image.layers.size(); ++layer) {  // layers nobody wrote history for
        rows.push_back({"<missing>", {}, tree_size(store.layer_dir(image.layers[layer]))});
    }
    return {rows.rbegin(), rows.rend()};
}

void add_commit_command(Runtime& rt) {
    auto request = std::make_shared<CommitRequest>();
    CLI::App* commit = rt.add_command("commit", "Make an image of a container's changes", [&rt, request] {
        Store store{rt.root_dir()};
        request->progress = ::isatty(STDERR_FILENO) == 1;
        Image image = commit_container(store, *request);
        fmt::print("sha256:{}\n", image.id);
        return 0;
    });
    commit->add_option("container", request->container, "Name or id")->required();
    commit->add_option("image", request->ref, "NAME[:TAG] of the new image")->required();
    commit->add_option("-m,--message", request->message, "Commit message");
    commit->add_option("-c,--change", request->changes, "Change the config: CMD, ENV or WORKDIR, as in a Dockerfile");
    commit->add_flag("-p,--pause", request->pause, "Freeze the container while committing (default true)");
}

void add_history_command(Runtime& rt) {
    struct HistoryArgs {
        std::string ref;
        bool no_trunc = false;
        bool quiet = false;
    };
    auto history_args = std::make_shared<HistoryArgs>();
    CLI::App* history = rt.add_command("history", "Show the layers of an image", [&rt, history_args] {
        Store store{rt.root_dir()};
        Image image = store.image(history_args->ref);
        if (!history_args->quiet) {
            fmt::print("{:<14} {:<24} {:<45} {:<9} {}\n", "IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT");
        }
        for (const HistoryRow& row : history_rows(store, image)) {
            if (history_args->quiet) {
                fmt::print("{}\n", row.image);
                continue;
            }
            std::string by = row.entry.created_by;
            if (!history_args->no_trunc && by.size() > 45) {
                by = by.substr(0, 42) + "...";
            }
            fmt::print("{:<14} {:<24} {:<45} {:<9} {}\n", row.image,
                       row.entry.created.empty() ? "" : ago(row.entry.created), by, human_size(row.size),
                       row.entry.comment);
        }
        return 0;
    });
    history->add_option("image", history_args->ref, "IMAGE[:TAG] or image id")->required();
    history->add_flag("--no-trunc", history_args->no_trunc, "Do not shorten CREATED BY");
    history->add_flag("-q,--quiet", history_args->quiet, "Only the image ids");
}

void add_save_command(Runtime& rt) {
    struct SaveArgs {
        std::vector<std::string> refs;
        std::string output;
    };
    auto save_args = std::make_shared<SaveArgs>();
    CLI::App* save = rt.add_command("save", "Write images to an OCI image layout tar", [&rt, save_args] {
        if (save_args->output.empty() && ::isatty(STDOUT_FILENO) == 1) {
            throw UsageError("save: cowardly refusing to write a tar to a terminal; use -o FILE or redirect");
        }
        Store store{rt.root_dir()};
        std::vector<Image> images;
        for (const std::string& ref : save_args->refs) {
            images.push_back(store.image(ref));
        }
        trace::Owner owner("07 commit");
        save_archive(store, images, save_args->output.empty() ? "-" : save_args->output);
        return 0;
    });
    save->add_option("image", save_args->refs, "IMAGE[:TAG] or image id")->required();
    save->add_option("-o,--output", save_args->output, "Write to this file, not to standard output");
}

void add_load_command(Runtime& rt) {
    auto input = std::make_shared<std::string>();
    CLI::App* load = rt.add_command("load", "Read images from an OCI image layout tar", [&rt, input] {
        if (input->empty() && ::isatty(STDIN_FILENO) == 1) {
            throw UsageError("load: requested load from stdin, but stdin is a terminal; use -i FILE or redirect");
        }
        std::string path = input->empty() ? "-" : *input;
        Store store{rt.root_dir()};
        trace::Owner owner("07 commit");
        for (const Image& image : load_archive(store, path, archive_stem(path))) {
            fmt::print("Loaded image: {}\n", image.ref());
        }
        return 0;
    });
    load->add_option("-i,--input", *input, "Read from this file (plain or compressed), not from standard input");
}

}  // namespace

void Commit::add_commands(Runtime& rt) {
    add_commit_command(rt);
    add_history_command(rt);
    add_save_command(rt);
    add_load_command(rt);
}

}  // namespace minidocker
