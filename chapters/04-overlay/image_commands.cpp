// image_commands.cpp - chapter 04's subcommands, in Docker's words:
//
//   images [-q]                         the image table
//   import [-m MSG] [--base IMAGE] TAR|DIR|- NAME[:TAG]
//   rmi IMAGE...                        untag; delete layers nothing uses
//   rm CONTAINER...                     delete an exited container's directory
//   diff CONTAINER                      A/C/D per path, from its upper layer
//
// Each command that changes the store holds its lock (see store.hpp).
#include <fmt/format.h>

#include <ctime>
#include <memory>

#include "error.hpp"
#include "overlay.hpp"
#include "store.hpp"

namespace minidocker {

namespace {

// "3 minutes ago", as `docker images` says it.
std::string ago(const std::string& rfc3339) {
    long seconds = seconds_since(rfc3339);
    return seconds < 0 ? "?" : human_duration(seconds) + " ago";
}

void add_images_command(Runtime& rt) {
    auto quiet = std::make_shared<bool>(false);
    CLI::App* images = rt.add_command("images", "List images", [&rt, quiet] {
        Store store{rt.root_dir()};
        if (!*quiet) {
            fmt::print("{:<20} {:<10} {:<14} {:<24} {}\n", "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE");
        }
        for (const Image& image : store.images()) {
            if (*quiet) {
                fmt::print("{}\n", image.id.substr(0, 12));
            } else {
                fmt::print("{:<20} {:<10} {:<14} {:<24} {}\n", image.name, image.tag, image.id.substr(0, 12),
                           ago(image.created), human_size(image.size));
            }
        }
        return 0;
    });
    images->add_flag("-q,--quiet", *quiet, "Only the image ids");
}

void add_import_command(Runtime& rt) {
    struct ImportArgs {
        std::string source, ref, base, message;
    };
    auto args = std::make_shared<ImportArgs>();
    CLI::App* import = rt.add_command("import", "Make an image of one layer from a tar (or a directory)", [&rt, args] {
        Store store{rt.root_dir()};
        Fd lock = store.lock();
        Image image = store.import(args->source, args->ref, args->base, args->message);
        fmt::print("sha256:{}\n", image.id);
        return 0;
    });
    import->add_option("source", args->source, "A tar (.gz, .xz, .zst...), a directory, or - for stdin")->required();
    import->add_option("name", args->ref, "NAME[:TAG] of the new image")->required();
    import->add_option("--base", args->base, "Put the new layer on top of this image's layers");
    import->add_option("-m,--message", args->message, "A comment for the image");
}

void add_rmi_command(Runtime& rt) {
    auto refs = std::make_shared<std::vector<std::string>>();
    CLI::App* rmi = rt.add_command("rmi", "Remove images (and the layers no other image uses)", [&rt, refs] {
        Store store{rt.root_dir()};
        Fd lock = store.lock();
        for (const std::string& ref : *refs) {
            for (const std::string& line : store.remove_image(ref)) {
                fmt::print("{}\n", line);
            }
        }
        return 0;
    });
    rmi->add_option("image", *refs, "IMAGE[:TAG] or image id")->required();
}

void add_rm_command(Runtime& rt) {
    auto names = std::make_shared<std::vector<std::string>>();
    CLI::App* rm = rt.add_command("rm", "Remove stopped containers", [&rt, names] {
        Store store{rt.root_dir()};
        Fd lock = store.lock();
        for (const std::string& name : *names) {
            store.remove_container(store.container_id(name));
            fmt::print("{}\n", name);
        }
        return 0;
    });
    rm->add_option("container", *names, "Name or id")->required();
}

void add_diff_command(Runtime& rt) {
    auto name = std::make_shared<std::string>();
    CLI::App* diff = rt.add_command("diff", "What a container changed: A added, C changed, D deleted", [&rt, name] {
        Store store{rt.root_dir()};
        std::string id = store.container_id(*name);
        ContainerConfig config = store.container_config(id);
        std::string dir = store.container_dir(id);
        std::vector<std::string> lowers = {dir + "/init"};
        for (auto layer = config.layers.rbegin(); layer != config.layers.rend(); ++layer) {
            lowers.push_back(store.layer_dir(*layer));
        }
        for (const Change& change : container_changes(dir + "/upper", lowers)) {
            fmt::print("{} {}\n", change.kind, change.path);
        }
        return 0;
    });
    diff->add_option("container", *name, "Name or id")->required();
}

}  // namespace

void Images::add_commands(Runtime& rt) {
    add_images_command(rt);
    add_import_command(rt);
    add_rmi_command(rt);
    add_rm_command(rt);
    add_diff_command(rt);
}

}  // namespace minidocker
